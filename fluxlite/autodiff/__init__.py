"""Reverse-mode automatic differentiation of plain NumPy code.

* `arrays`: trainable arrays (`Param`) and the random generator;
* `tracer`: the tape, traced arrays, primitives and `apply`;
* `broadcasting`: `unbroadcast`, the gradient of broadcasting;
* `gradient`: Flux's user-facing contract (`gradient`, `withgradient`, `params`, `Grads`).

The NumPy operations themselves are registered in `fluxlite.primitives`.
"""
from .arrays import Param, ones, param, rand, randn, rng, seed, zeros
from .broadcasting import unbroadcast
from .gradient import Grads, Params, WithGradient, gradient, params, withgradient, within_gradient
from .switch import REFERENCE
from .tracer import (InPlaceError, NoGradientRule, NoGradientWarning, Primitive, Tape, Tracked,
                     TracingError, apply, primitive, untrace)

__all__ = ["Param", "param", "rand", "randn", "zeros", "ones", "seed", "rng", "unbroadcast",
           "gradient", "withgradient", "within_gradient", "params", "Params", "Grads", "WithGradient",
           "Primitive", "primitive", "apply", "untrace", "Tape", "Tracked", "TracingError",
           "NoGradientRule", "InPlaceError", "NoGradientWarning", "REFERENCE"]
