"""The NumPy operations `gradient` can trace, one module per family.

* `arithmetic`: ufuncs (``+ - * / **``, exp, log, tanh, maximum, ...), np.where, np.clip
* `reductions`: sum, mean, max, min, prod, var, std
* `shape`: reshape, transpose, swapaxes, concatenate, stack, indexing
* `products`: ``@``, dot, outer, inner, einsum, tensordot
* `linalg`: np.linalg (norm)

Importing this package fills the registry in `fluxlite.autodiff.tracer`.
"""
import numpy as np

from ..autodiff.switch import REFERENCE
from ..autodiff.tracer import (CONSTANT_FUNCTIONS, CONSTANT_UFUNCS, DECOMPOSED_FUNCTIONS, FUNCTIONS,
                               HINTS, UFUNCS)
from . import arithmetic, linalg, products, reductions, shape  # noqa: F401  (registration)

if not REFERENCE:  # the fast paths need the registry filled; see fluxlite.autodiff.fast
    from ..autodiff import fast
    fast.install()

__all__ = ["supported", "UFUNCS", "FUNCTIONS"]

# Functions whose results carry no gradient: indices, shapes, tests, fresh arrays.
CONSTANT_FUNCTIONS.update({
    np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero, np.count_nonzero,
    np.shape, np.ndim, np.size, np.all, np.any, np.isclose, np.allclose, np.array_equal,
    np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.round, np.around,
    np.unique, np.searchsorted, np.bincount, np.result_type, np.may_share_memory,
    np.shares_memory, np.iscomplexobj, np.isrealobj, np.isscalar,
})

HINTS.update({
    "numpy.sort": "Sorting has no rule yet. For the largest or smallest value use np.max / np.min; "
                  "to reorder, index with the order computed on the values: x[np.argsort(x)].",
    "numpy.cumsum": "np.cumsum has no rule yet. A running sum can be written as a matrix product "
                    "with a triangular matrix: np.tril(np.ones((n, n))) @ x.",
    "numpy.add.accumulate": "x.cumsum() (numpy.add.accumulate) has no rule yet. A running sum can be "
                            "written as a matrix product with a triangular matrix: "
                            "np.tril(np.ones((n, n))) @ x.",
    "numpy.multiply.accumulate": "x.cumprod() (numpy.multiply.accumulate) has no rule yet. For positive "
                                 "x a running product is np.exp(np.tril(np.ones((n, n))) @ np.log(x)).",
    "numpy.linalg.inv": "Matrix inverse has no rule yet; most losses only need products and sums.",
    "numpy.asarray": "np.asarray/np.array drop the tape; keep working with the traced array.",
})


def supported():
    """The names of the NumPy operations `gradient` can differentiate, sorted.

    >>> names = supported()
    >>> "numpy.exp" in names and "numpy.einsum" in names
    True
    """
    names = {p.name for p in UFUNCS.values()}
    names |= {f"numpy.{getattr(f, '__name__', f)}" for f in FUNCTIONS if not isinstance(f, str)}
    names |= {f"numpy.{f.__name__}" for f in DECOMPOSED_FUNCTIONS}
    names |= {"indexing x[...]"}
    return sorted(n.replace("numpy.norm", "numpy.linalg.norm") for n in names)
