"""Layers mirroring Flux's ``src/layers``, one family per module.

* `init`: weight initialisers (``glorot_uniform``, ``kaiming_normal``, ``zeros32``...);
* `checks`: shape errors that name the layer, the expected size and the size received;
* `show`: Flux's REPL printing with parameter counts;
* `basic`: Dense, Chain, SkipConnection, Parallel, Maxout, Bilinear, Embedding, Scale, f32/f64;
* `normalise`: BatchNorm, Dropout, AlphaDropout, LayerNorm, ``trainmode_``/``testmode_``;
* `conv`: Conv, CrossCor, ConvTranspose, SamePad, pooling layers and flatten.
"""
from .basic import (Bilinear, Chain, Dense, Embedding, Maxout, Parallel, Scale, SkipConnection,
                    affine, f32, f64, identity, trainable, vcat)
from .checks import LayerShapeError
from .conv import (Conv, ConvTranspose, CrossCor, GlobalMaxPool, GlobalMeanPool, MaxPool, MeanPool,
                   SamePad, flatten)
from .init import (glorot_normal, glorot_uniform, identity_init, kaiming_normal, kaiming_uniform,
                   nfan, ones32, orthogonal, rand32, randn32, sparse_init, truncated_normal,
                   zeros32)
from .normalise import AlphaDropout, BatchNorm, Dropout, LayerNorm, testmode_, trainmode_
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, Recur, RNNCell, reset_
from .show import Layer

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Recur", "reset_",
    # basic
    "Dense", "Chain", "SkipConnection", "Parallel", "Maxout", "Bilinear", "Embedding", "Scale",
    "identity", "vcat", "affine", "f32", "f64", "trainable",
    # conv
    "Conv", "CrossCor", "ConvTranspose", "SamePad", "MaxPool", "MeanPool", "GlobalMaxPool",
    "GlobalMeanPool", "flatten",
    # normalise
    "BatchNorm", "Dropout", "AlphaDropout", "LayerNorm", "trainmode_", "testmode_",
    # initialisers
    "glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal", "truncated_normal",
    "orthogonal", "sparse_init", "identity_init", "zeros32", "ones32", "rand32", "randn32", "nfan",
    # helpers
    "LayerShapeError", "Layer",
]
