"""Data sets for fluxlite: the shipped 8×8 digits, toy problems, and an MNIST (IDX) reader.

Everything follows Flux's layout, observations last: ``X`` is ``features × N``
(or ``W × H × C × N`` for images) and labels are a vector of length ``N``.

- `digits`: the 1,797 handwritten 8×8 digits that ship with fluxlite.
- `circles`, `moons`, `xor`, `spiral`, `gaussian`: 2-D classification problems.
- `regression1d`, `linear_regression`: a noisy sine, and the tutorial's linear data.
- `load_idx`, `mnist`, `fashion_mnist`: MNIST-format files, from a folder of yours or from
  fluxlite's cache, downloaded (and checked) on request with ``download=True``.

>>> import fluxlite as fl
>>> X, y = fl.datasets.moons(10, rng=0)
>>> X.shape, y.shape
((2, 10), (10,))
"""
from fluxlite.datasets.idx import fashion_mnist, load_idx, mnist
from fluxlite.datasets.regression import linear_regression, regression1d
from fluxlite.datasets.shipped import digits
from fluxlite.datasets.toy import circles, gaussian, moons, spiral, xor

__all__ = [
    "digits",
    "circles",
    "moons",
    "xor",
    "spiral",
    "gaussian",
    "regression1d",
    "linear_regression",
    "load_idx",
    "mnist",
    "fashion_mnist",
]
