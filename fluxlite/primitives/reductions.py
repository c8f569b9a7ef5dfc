"""Reductions: sum, mean, max, min, prod, var and std, with ``axis`` and ``keepdims``.

A reduction collapses axes, so its pullback must spread the output's gradient
back over them. `_expand` puts the collapsed axes back (length 1) and
broadcasting does the spreading::

    d sum(x)  = sum(dx)                      every element gets g
    d mean(x) = sum(dx) / n                  every element gets g / n
    d max(x)  = dx at the maximum            the winner gets g (ties share it)
    d prod(x) = sum(prod(x) / x_i dx_i)      each element gets g times the product of the others
    d std(x)  = sum((x_i - mean) dx_i) / ((n - ddof) std(x))      (0 where std(x) = 0)
"""
import numpy as np

from ..autodiff.tracer import FUNCTIONS, REDUCERS, primitive


def _axes(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim for a in axis)
    return (axis % ndim,)


def _expand(g, x, axis, keepdims):
    """Reshape reduced gradient `g` so it broadcasts against `x`."""
    if keepdims or axis is None or x.ndim == 0:
        return g  # nothing to insert: g already broadcasts (a scalar, or keepdims shape)
    shape = list(x.shape)
    for a in _axes(len(shape), axis):
        shape[a] = 1
    return np.reshape(g, shape)


def _count(x, axis):
    if axis is None:
        return x.size
    return int(np.prod([x.shape[a] for a in _axes(x.ndim, axis)]))


def _spread(g, x, axis, keepdims):
    """`g` repeated over the reduced axes: a fresh array shaped like `x`."""
    return _fill(_expand(g, x, axis, keepdims), x)


def _winners(ans, x, axis, keepdims):
    """Share of the gradient each element gets from max/min: 1/k for k tied winners."""
    hit = x == _expand(ans, x, axis, keepdims)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _prod_others(x, ans, axis, keepdims):
    """For each element, the product of the other elements along `axis` (zeros handled)."""
    full = _expand(ans, x, axis, keepdims)
    if np.all(x != 0):
        return full / x
    # With zeros present, recompute: product of the others = product with that entry set to 1.
    zero = x == 0
    nonzero_prod = np.prod(np.where(zero, 1.0, x), axis=axis, keepdims=True)
    nzeros = np.sum(zero, axis=axis, keepdims=True)
    return np.where(nzeros == 0, full / np.where(zero, 1.0, x),
                    np.where((nzeros == 1) & zero, nonzero_prod, 0.0))


def _fill(g, x):
    """`g` (a scalar) repeated into an array shaped like `x`."""
    if type(g) is np.ndarray:  # first order: fill directly (a nested g takes the traced route)
        out = np.empty(x.shape, dtype=x.dtype)
        out[...] = g
        return out
    return g * np.ones(x.shape, dtype=x.dtype)


SUM = primitive(lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
                "numpy.sum").defvjp(lambda g, ans, x, axis=None, keepdims=False:
                                    _spread(g, x, axis, keepdims))
MEAN = primitive(lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims)
                 / _count(x, axis),
                 "numpy.mean").defvjp(lambda g, ans, x, axis=None, keepdims=False:
                                      _spread(g, x, axis, keepdims) / _count(x, axis))
MAX = primitive(lambda x, axis=None, keepdims=False: np.maximum.reduce(x, axis=axis, keepdims=keepdims),
                "numpy.max").defvjp(lambda g, ans, x, axis=None, keepdims=False:
                                    _expand(g, x, axis, keepdims) * _winners(ans, x, axis, keepdims))
MIN = primitive(lambda x, axis=None, keepdims=False: np.minimum.reduce(x, axis=axis, keepdims=keepdims),
                "numpy.min").defvjp(lambda g, ans, x, axis=None, keepdims=False:
                                    _expand(g, x, axis, keepdims) * _winners(ans, x, axis, keepdims))
PROD = primitive(lambda x, axis=None, keepdims=False: np.multiply.reduce(x, axis=axis, keepdims=keepdims),
                 "numpy.prod").defvjp(lambda g, ans, x, axis=None, keepdims=False:
                                      _expand(g, x, axis, keepdims) * _prod_others(x, ans, axis, keepdims))


def _reducer(prim, name):
    def reduce(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue,
               where=np._NoValue, **unused):
        if initial is not np._NoValue or where is not np._NoValue and where is not True:
            raise TypeError(f"fluxlite traces numpy.{name} without `initial=` or `where=`; "
                            f"mask with np.where(mask, x, 0) before reducing instead.")
        if type(axis) is list:
            axis = tuple(axis)
        return prim(a, axis=axis, keepdims=keepdims)
    reduce.__name__ = name
    return reduce


def _ufunc_reducer(reduce):
    """``np.add.reduce`` and friends: as ``np.sum``, but NumPy's default axis here is 0, not None
    (and a 0-d array, which NumPy lets through with axis 0, is reduced over no axes)."""
    def ufunc_reduce(a, axis=0, **kwargs):
        if axis == 0 and np.ndim(a) == 0:
            axis = None
        return reduce(a, axis=axis, **kwargs)
    return ufunc_reduce


for _fn, _prim, _ufunc in [(np.sum, SUM, np.add), (np.mean, MEAN, None), (np.max, MAX, np.maximum),
                           (np.amax, MAX, None), (np.min, MIN, np.minimum), (np.amin, MIN, None),
                           (np.prod, PROD, np.multiply)]:
    FUNCTIONS[_fn] = _reducer(_prim, _fn.__name__)
    if _ufunc is not None:
        REDUCERS[_ufunc] = _ufunc_reducer(FUNCTIONS[_fn])


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **unused):
    if isinstance(axis, list):
        axis = tuple(axis)
    d = a - np.mean(a, axis=axis, keepdims=True)
    n = _count(a, axis)
    return np.sum(d * d, axis=axis, keepdims=keepdims) / (n - ddof)


def _std_vjp(g, ans, x, axis=None, ddof=0, keepdims=False):
    """d std(x) = (x - mean(x)) / ((n - ddof) std(x)) dx. Where std is 0 (one value, or all
    equal) the slope is taken as 0: the function is flat there, or has a corner whose
    one-sided slopes cancel, as |x| has at 0. (Writing std as sqrt(var) would give 0 · ∞ =
    NaN there, since sqrt has an infinite slope at 0.)"""
    s = _expand(ans, x, axis, keepdims)
    d = x - np.mean(x, axis=axis, keepdims=True)
    return _expand(g, x, axis, keepdims) * d / ((_count(x, axis) - ddof) * np.where(s == 0, 1.0, s))


STD = primitive(lambda x, axis=None, ddof=0, keepdims=False:
                np.std(x, axis=axis, ddof=ddof, keepdims=keepdims), "numpy.std").defvjp(_std_vjp)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **unused):
    if isinstance(axis, list):
        axis = tuple(axis)
    return STD(a, axis=axis, ddof=ddof, keepdims=keepdims)


FUNCTIONS[np.var] = _var
FUNCTIONS[np.std] = _std
