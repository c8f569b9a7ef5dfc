"""The NumPy operations `gradient` can trace, one module per family.

* `arithmetic`: ufuncs (``+ - * / **``, exp, log, tanh, maximum, ...), np.sinc, np.where,
  np.clip, np.select, np.nan_to_num, np.unique, np.bincount with weights
* `reductions`: sum, mean, max, min, prod, var, std, median, quantile, average, ptp, cov,
  corrcoef and the nan- versions; cumsum, cumprod; sort, partition; trapezoid, polyval
* `shape`: reshape, transpose, concatenate, stack, indexing, repeat, tile, pad, diag, trace,
  tril/triu, rot90, splits, linspace, np.gradient
* `products`: ``@``, dot, outer, inner, einsum, tensordot, cross, kron, vecdot
* `linalg`: np.linalg: norm (every order), inv, solve, det, slogdet, pinv, svd, eigh, cholesky, qr

Importing this package fills the registry in `fluxlite.autodiff.tracer`, and says here which
functions carry no gradient (`CONSTANT_FUNCTIONS`), which parameters are sequences of arrays
(`SEQUENCE_ARGUMENTS`) and what to write instead of a function without a rule (`HINTS`).
"""
import numpy as np

from ..autodiff.switch import REFERENCE
from ..autodiff.tracer import (ACCUMULATORS, CONSTANT_FUNCTIONS, CONSTANT_UFUNCS,
                               DECOMPOSED_FUNCTIONS, FUNCTIONS, HINTS, MULTI_UFUNCS, REDUCERS,
                               SEQUENCE_ARGUMENTS, UFUNCS, _qualname)
from . import arithmetic, linalg, products, reductions, shape  # noqa: F401  (registration)

if not REFERENCE:  # the fast paths need the registry filled; see fluxlite.autodiff.fast
    from ..autodiff import fast
    fast.install()

__all__ = ["supported", "UFUNCS", "FUNCTIONS"]

# Functions whose results carry no gradient: indices, shapes, tests, fresh arrays.
CONSTANT_FUNCTIONS.update({
    np.argmax, np.argmin, np.argsort, np.argpartition, np.argwhere, np.nonzero, np.flatnonzero,
    np.count_nonzero, np.shape, np.ndim, np.size, np.all, np.any, np.isclose, np.allclose,
    np.array_equal, np.array_equiv, np.zeros_like, np.ones_like, np.empty_like, np.full_like,
    np.round, np.around, np.searchsorted, np.digitize, np.isin, np.lexsort, np.result_type,
    np.may_share_memory, np.shares_memory, np.iscomplexobj, np.isrealobj, np.isscalar,
})

# Parameters that are sequences of arrays, so that a list given there stays a list of arrays
# (the lists inside it are made into arrays); None: the rule takes its lists as they are.
SEQUENCE_ARGUMENTS.update({
    np.hstack: ((0, "tup"),), np.vstack: ((0, "tup"),), np.dstack: ((0, "tup"),),
    np.column_stack: ((0, "tup"),), np.linalg.multi_dot: ((0, "arrays"),),
    np.select: ((0, "condlist"), (1, "choicelist")), np.block: None,
})

_FFT = ("Fourier transforms have no gradient rule: their results are complex, and fluxlite "
        "differentiates real-valued code only. Write the transform as real matrix products: with "
        "n = np.arange(N) and C = np.cos(2 * np.pi * np.outer(n, n) / N), "
        "S = np.sin(2 * np.pi * np.outer(n, n) / N), the real and imaginary parts of "
        "np.fft.fft(x) are C @ x and -(S @ x).")

HINTS.update({
    "numpy.asarray": "np.asarray/np.array drop the tape; keep working with the traced array.",
    "numpy.interp": "np.interp has no rule yet. Linear interpolation can be written with indexing, "
                    "which fluxlite traces: i = np.clip(np.searchsorted(xp, x) - 1, 0, len(xp) - 2); "
                    "t = (x - xp[i]) / (xp[i + 1] - xp[i]); y = fp[i] * (1 - t) + fp[i + 1] * t.",
    "numpy.convolve": "np.convolve has no rule yet. A 'valid' convolution is a product with a "
                      "matrix of windows, which fluxlite traces: "
                      "np.stack([x[i:i + len(w)] for i in range(len(x) - len(w) + 1)]) @ w[::-1] "
                      "(for images and batches, use the fl.Conv layer).",
    "numpy.correlate": "np.correlate has no rule yet. A 'valid' correlation is a product with a "
                       "matrix of windows, which fluxlite traces: "
                       "np.stack([x[i:i + len(w)] for i in range(len(x) - len(w) + 1)]) @ w.",
    "numpy.unwrap": "np.unwrap has no rule yet. Its result is x plus a multiple of 2π that changes "
                    "only in jumps: x + (np.unwrap(np.asarray(x)) - np.asarray(x)) has the same "
                    "values and passes the gradient of x.",
    "numpy.histogram": "np.histogram has no rule: its counts change only in jumps, and its bin "
                       "edges move with the data. For counts as constants, call it on "
                       "np.asarray(x); for a smooth, differentiable density, sum kernels: "
                       "np.mean(np.exp(-(centres[:, None] - x) ** 2 / (2 * h * h)), axis=1).",
    "numpy.add.at": "np.add.at changes its first argument in place, which gradient cannot follow. "
                    "To add values at (possibly repeated) indices, multiply by a one-hot matrix: "
                    "(np.arange(n)[:, None] == idx) @ values.",
    "numpy.piecewise": "np.piecewise has no rule yet: write it with np.select or np.where, which "
                       "fluxlite traces: np.select([x < 0, x >= 0], [f(x), g(x)]).",
})
HINTS.update({f"numpy.fft.{name}": _FFT for name in (
    "fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn",
    "irfftn", "hfft", "ihfft")})


def supported():
    """The names of the NumPy operations `gradient` can differentiate, sorted.

    >>> names = supported()
    >>> "numpy.exp" in names and "numpy.einsum" in names and "numpy.add.accumulate" in names
    True
    """
    names = {p.name for p in UFUNCS.values()}
    names |= {f"numpy.{u.__name__}" for u in MULTI_UFUNCS}
    names |= {_qualname(f) for f in FUNCTIONS if not isinstance(f, str)}
    names |= {_qualname(f) for f in DECOMPOSED_FUNCTIONS}
    names |= {f"numpy.{u.__name__}.{how}" for how, table in [("reduce", REDUCERS),
                                                              ("accumulate", ACCUMULATORS)]
              for u in table}
    names |= {"indexing x[...]"}
    return sorted(names)
