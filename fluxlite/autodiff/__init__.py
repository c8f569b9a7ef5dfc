"""Reverse-mode automatic differentiation of plain NumPy code.

The reference path, in reading order:

* `arrays`: trainable arrays (`Param`) and the random generator;
* `tracer`: the tape, traced arrays and NumPy's two hooks, primitives and their pullbacks,
  `apply` (the one door every traced operation goes through) and `backward`;
* `broadcasting`: `unbroadcast`, the gradient of broadcasting;
* `gradient`: Flux's user-facing contract (`gradient`, `withgradient`, `params`, `Grads`):
  trace the inputs, run the function, run `backward`, gather the gradients;
* `errors`: the errors and warnings, with the messages students read;
* `interrupts`: `atomic`, which holds Ctrl-C back while a model is being changed.

The NumPy operations themselves are registered in `fluxlite.primitives`. The speed tricks
live apart, in `fast` (and `fluxlite.optimise.grouped`); `switch` says whether they are in
use: set ``FLUXLITE_REFERENCE=1`` before ``import fluxlite`` and none is.

>>> import fluxlite as fl
>>> fl.autodiff.REFERENCE in (True, False)
True
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
