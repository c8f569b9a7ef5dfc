"""Gradcheck cases for the np.linalg functions (see `casefactory`): one `case(...)` line per operation."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import case, one
from strategies import arrays, layout, one_axis, separated, shapes, with_layout


@st.composite
def norm_args(draw, ords=(None,)):
    x = draw(arrays(min_dims=1, avoid=(0.0,), gap=0.2))
    kw = {}
    o = draw(st.sampled_from(ords))
    if o is not None:
        kw["ord"] = o
    if draw(st.booleans()) and x.ndim >= 1:
        kw["axis"] = draw(one_axis(x.ndim))
        kw["keepdims"] = draw(st.booleans())
    elif o is None and x.ndim >= 2 and draw(st.booleans()):
        kw["axis"] = tuple(draw(st.permutations(range(-x.ndim, 0)))[:2])
        kw["keepdims"] = draw(st.booleans())
    return (x,), kw


case("np.linalg.norm (2-norm, Frobenius; axis, keepdims)",
     lambda x, **kw: np.linalg.norm(x, **kw), norm_args(), covers=[np.linalg.norm])
case("np.linalg.norm(x, 'fro') of a matrix", lambda x: np.linalg.norm(x, "fro"),
     one(shape=(2, 3), avoid=(0.0,)), covers=[np.linalg.norm])


@st.composite
def vector_norm_args(draw):
    x = draw(separated(min_dims=1, max_dims=1, lo=0.2, hi=2.0))
    signs = draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([-1.0, 1.0])))
    return (x * signs,), {"ord": draw(st.sampled_from([1, 3, 0.5, np.inf, -np.inf, -1]))}


case("np.linalg.norm(vector, ord=1, 3, 0.5, ±inf, -1)", lambda x, ord: np.linalg.norm(x, ord=ord),
     vector_norm_args(), covers=[np.linalg.norm])


@st.composite
def matrix_norm_args(draw):
    """Entries ±2^k (scaled) with distinct k: no two row or column sums of |x| can tie."""
    shape = draw(shapes(min_dims=2, max_dims=3).filter(lambda s: np.prod(s) <= 12))
    n = int(np.prod(shape))
    k = np.array(draw(st.permutations(range(n))), dtype=float)
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    x = with_layout((signs * 2.0 ** (k - n + 3)).reshape(shape), draw(layout))
    kw = {"ord": draw(st.sampled_from([1, -1, np.inf, -np.inf, "fro", None]))}
    if x.ndim == 3 or draw(st.booleans()):
        kw["axis"] = tuple(draw(st.permutations(range(-x.ndim, 0)))[:2])
        kw["keepdims"] = draw(st.booleans())
    elif draw(st.booleans()):
        kw["keepdims"] = True
    return (x,), kw


case("np.linalg.norm(matrix, ord=±1, ±inf, 'fro'; axis pairs, keepdims)",
     lambda x, **kw: np.linalg.norm(x, **kw), matrix_norm_args(), covers=[np.linalg.norm])
