"""Layers mirroring Flux's ``src/layers``: initialisers, shape checks, printing, and the layers.

* `init`: weight initialisers (``glorot_uniform``...);
* `checks`: shape errors that name the layer;
* `show`: Flux's REPL printing;
* `basic`: ``identity`` (Dense, Chain... to come).
"""
from .basic import identity
from .checks import LayerShapeError
from .init import (glorot_normal, glorot_uniform, identity_init, kaiming_normal, kaiming_uniform,
                   nfan, ones32, orthogonal, rand32, randn32, sparse_init, truncated_normal,
                   zeros32)

__all__ = ["identity", "LayerShapeError", "glorot_uniform", "glorot_normal", "kaiming_uniform",
           "kaiming_normal", "truncated_normal", "orthogonal", "sparse_init", "identity_init",
           "zeros32", "ones32", "rand32", "randn32", "nfan"]
