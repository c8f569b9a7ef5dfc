"""Reductions: sum, mean, max, min, prod, var and std, with ``axis`` and ``keepdims``; running
sums and products; sorting and order statistics.

A reduction collapses axes, so its pullback must spread the output's gradient
back over them. `_expand` puts the collapsed axes back (length 1) and
broadcasting does the spreading::

    d sum(x)  = sum(dx)                      every element gets g
    d mean(x) = sum(dx) / n                  every element gets g / n
    d max(x)  = dx at the maximum            the winner gets g (ties share it)
    d prod(x) = sum(prod(x) / x_i dx_i)      each element gets g times the product of the others
    d std(x)  = sum((x_i - mean) dx_i) / ((n - ddof) std(x))      (0 where std(x) = 0)

A running sum or product keeps every partial result::

    d cumsum(x)_i = sum_{k<=i} dx_k          element k gets the sum of g from k to the end
    d cumprod(x)_i = sum_{j<=i} (prod_{k<=i, k!=j} x_k) dx_j
    d maximum.accumulate(x)_i = dx_k       k: the element holding the record at i

Sorting, np.partition, np.median and np.quantile pick elements: the order is found on the
numbers, and each picked value's gradient goes back to the element it came from (indexing).

The statistics built on these are written with the traced operations above (no rules of their
own, except np.nanstd, which needs std's care at 0)::

    np.average(a, weights=w) = Σ a w / Σ w     d/da_i = w_i / Σw,  d/dw_i = (a_i - avg) / Σw
    np.ptp(x) = max(x) - min(x)
    np.cov: (X - avg)(w (X - avg))ᵀ / fact,  np.corrcoef: C_ij / sqrt(C_ii C_jj)
    np.nansum, nanmean, nanmax, ...: NaNs replaced (np.where) by 0, 1 or ∓inf: gradient 0 there
    np.trapezoid(y, x) = Σ (x_{i+1} - x_i)(y_i + y_{i+1}) / 2
    np.polyval(p, x) by Horner's scheme; np.ediff1d(x) = x[1:] - x[:-1], with ends joined on
"""
import warnings

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..autodiff.tracer import (ACCUMULATORS, DECOMPOSED_FUNCTIONS, FUNCTIONS, REDUCERS,
                               NoGradientRule, Tracked, primitive, untrace)
from .shape import _cast, _plain, _refuse_out, _take_along_axis


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
        _refuse_out(name, out)
        if type(axis) is list:
            axis = tuple(axis)
        if dtype is not None:  # a float dtype converts first; an integer one gives no gradient
            if not np.issubdtype(dtype, np.floating):
                return getattr(np, name)(untrace(a), axis=axis, dtype=dtype, keepdims=keepdims)
            a = _cast(a, np.dtype(dtype))
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


def _spread_options(name, ddof, where, correction):
    """np.var / np.std's `correction=` (another name for ddof); `where=` is refused."""
    if where is not np._NoValue and where is not True:
        raise TypeError(f"fluxlite traces numpy.{name} without `where=`; select the values "
                        f"first (x[mask]) instead.")
    if correction is not np._NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        return correction
    return ddof


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=np._NoValue,
         mean=np._NoValue, correction=np._NoValue):
    ddof = _spread_options("var", ddof, where, correction)
    if isinstance(axis, list):
        axis = tuple(axis)
    d = a - (np.mean(a, axis=axis, keepdims=True) if mean is np._NoValue else mean)
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


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=np._NoValue,
         mean=np._NoValue, correction=np._NoValue):
    ddof = _spread_options("std", ddof, where, correction)
    if mean is not np._NoValue:
        raise NoGradientRule("fluxlite has no gradient rule for numpy.std with mean=.\n"
                             "Write np.sqrt(np.var(x, mean=m)) instead (its slope is infinite "
                             "where every value equals the mean).")
    if isinstance(axis, list):
        axis = tuple(axis)
    return STD(a, axis=axis, ddof=ddof, keepdims=keepdims)


FUNCTIONS[np.var] = _var
FUNCTIONS[np.std] = _std


# ------------------------------------------------------------------ running sums and products
def _reverse_cumsum(g, axis):
    """``sum(g[i:])`` for every i along `axis`: a running sum from the far end."""
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _cumprod_vjp(g, ans, x, axis):
    """y_i = x_0 ··· x_i, so ∂L/∂x_j = Σ_{i≥j} g_i Π_{k≤i, k≠j} x_k = P_j S_j with
    P_j = Π_{k<j} x_k and S_j = Σ_{i≥j} g_i Π_{j<k≤i} x_k.

    Without a zero in the running products, Π_{k≤i, k≠j} x_k = y_i / x_j, so the gradient is a
    running sum from the far end, ``reverse_cumsum(g y) / x``. A zero (or products that
    underflow to 0) would make that 0/0: then S_j is computed directly, as a running product of
    the n × n matrix that holds x_k where k > j and 1 elsewhere (O(n²) memory along the axis).
    That division-free form is also the one differentiated for second derivatives (when x is
    traced by an outer gradient call): the derivative of y / x has terms in 1/x² that cancel,
    and for tiny x their rounding errors would swamp the result."""
    if type(x) is not Tracked and np.all(ans != 0):
        return _reverse_cumsum(g * ans, axis) / x
    xm, gm, ym = (np.moveaxis(v, axis, -1) for v in (x, g, ans))
    n = np.shape(xm)[-1]
    k = np.arange(n)
    after = k[:, None] < k           # after[j, k]: k comes after j
    runs = np.cumprod(np.where(after, xm[..., None, :], 1.0), axis=-1)   # [j, i] = Π_{j<k≤i} x_k
    S = np.sum(np.where(~(k[:, None] > k), runs, 0.0) * gm[..., None, :], axis=-1)
    P = np.concatenate([np.ones(np.shape(ym)[:-1] + (1,), dtype=ym.dtype), ym[..., :-1]], axis=-1)
    return np.moveaxis(P * S, -1, axis)


CUMSUM = primitive(lambda x, axis: np.cumsum(x, axis=axis), "numpy.cumsum").defvjp(
    lambda g, ans, x, axis: _reverse_cumsum(g, axis))
CUMPROD = primitive(lambda x, axis: np.cumprod(x, axis=axis), "numpy.cumprod").defvjp(_cumprod_vjp)


def _accumulation(prim, name, plain):
    """np.cumsum / np.cumprod with NumPy's arguments: axis=None runs over the flattened array,
    a float dtype= converts first, an integer one gives integers (no gradient)."""
    def accumulate(a, axis=None, dtype=None, out=None):
        _refuse_out(name, out)
        if dtype is not None and not np.issubdtype(dtype, np.floating):
            return plain(untrace(a), axis=axis, dtype=dtype)
        if dtype is not None:
            a = _cast(a, np.dtype(dtype))
        if axis is None or np.ndim(a) == 0:
            a, axis = np.reshape(a, -1), (0 if axis is None else axis)
        return prim(a, axis=normalize_axis_index(axis, np.ndim(a)))
    accumulate.__name__ = name
    return accumulate


def _ufunc_accumulation(accumulate):
    """``np.add.accumulate`` and ``np.multiply.accumulate``: NumPy's default axis here is 0."""
    def ufunc_accumulate(array, axis=0, dtype=None, out=None):
        if np.ndim(array) == 0:
            raise TypeError("cannot accumulate on a scalar")
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        return accumulate(array, axis=axis, dtype=dtype, out=out)
    return ufunc_accumulate


def _cumulative(accumulate, name, initial):
    """NumPy 2's np.cumulative_sum / np.cumulative_prod: axis is needed beyond 1-D, and
    include_initial puts the empty sum (0) or product (1) first."""
    def cumulative(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        if np.ndim(x) == 0:
            raise ValueError(f"{name} does not support scalar inputs")  # as NumPy's message
        if axis is None:
            if np.ndim(x) > 1:
                raise ValueError("For arrays which have more than one dimension ``axis`` "
                                 "argument is required.")
            axis = 0
        y = accumulate(x, axis=axis, dtype=dtype, out=out)
        if include_initial:
            shape = list(np.shape(y))
            shape[normalize_axis_index(axis, len(shape))] = 1
            y = np.concatenate([np.full(shape, initial, dtype=np.result_type(y)), y], axis=axis)
        return y
    return cumulative


def _running_extreme(ufunc):
    """``np.maximum.accumulate`` / ``np.minimum.accumulate``: the running maximum (minimum) at
    each place is the element that set the record so far, so its gradient goes to that element
    (picked with take_along_axis). At a tie it goes to the latest element that reached the
    record: a subgradient, as for np.max. A NaN keeps the record, as in NumPy."""
    def accumulate(array, axis=0, dtype=None, out=None):
        _refuse_out(f"{ufunc.__name__}.accumulate", out)
        if np.ndim(array) == 0:
            raise TypeError("cannot accumulate on a scalar")
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        if dtype is not None and not np.issubdtype(dtype, np.floating):
            return ufunc.accumulate(untrace(array), axis=axis, dtype=dtype)
        if dtype is not None:
            array = _cast(array, np.dtype(dtype))
        axis = normalize_axis_index(axis, np.ndim(array))
        x = np.moveaxis(untrace(array), axis, -1)
        record = (x == ufunc.accumulate(x, axis=-1)) | np.isnan(x)
        setter = np.maximum.accumulate(np.where(record, np.arange(np.shape(x)[-1]), 0), axis=-1)
        return _take_along_axis(array, np.moveaxis(setter, -1, axis), axis)
    return accumulate


FUNCTIONS[np.cumsum] = _accumulation(CUMSUM, "cumsum", np.cumsum)
FUNCTIONS[np.cumprod] = _accumulation(CUMPROD, "cumprod", np.cumprod)
ACCUMULATORS[np.add] = _ufunc_accumulation(FUNCTIONS[np.cumsum])
ACCUMULATORS[np.multiply] = _ufunc_accumulation(FUNCTIONS[np.cumprod])
ACCUMULATORS[np.maximum] = _running_extreme(np.maximum)
ACCUMULATORS[np.minimum] = _running_extreme(np.minimum)
FUNCTIONS[np.cumulative_sum] = _cumulative(FUNCTIONS[np.cumsum], "cumulative_sum", 0)
FUNCTIONS[np.cumulative_prod] = _cumulative(FUNCTIONS[np.cumprod], "cumulative_prod", 1)


# --------------------------------------------------------------------------- order statistics
def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """np.sort as ``take_along_axis(a, argsort(a))``: the order is found on the numbers, and
    each sorted value's gradient goes back to where that value came from. Equal values are
    sorted in some order and each gets the gradient of its own place: one valid choice among
    the equally good ones (a subgradient), as for np.max."""
    if axis is None:
        a, axis = np.reshape(a, -1), -1
    order_ = np.argsort(untrace(a), axis=axis, kind=kind, order=order, stable=stable)
    return _take_along_axis(a, order_, axis)


def _partition(a, kth, axis=-1, kind="introselect", order=None):
    """np.partition as ``take_along_axis(a, argpartition(a, kth))``: like `_sort`, the gradient
    goes back to where each value came from (ties: one of them, a subgradient)."""
    if axis is None:
        a, axis = np.reshape(a, -1), -1
    order_ = np.argpartition(untrace(a), untrace(kth), axis=axis, kind=kind, order=order)
    return _take_along_axis(a, order_, axis)


FUNCTIONS[np.sort] = _sort
FUNCTIONS[np.partition] = _partition


def _lanes(a, axis):
    """`a` with the axes in `axis` merged into one last axis; and the shape the result has
    with keepdims."""
    shape = np.shape(a)
    axes = tuple(range(len(shape))) if axis is None else normalize_axis_tuple(axis, len(shape))
    rest = [d for d in range(len(shape)) if d not in axes]
    kept = tuple(1 if d in axes else n for d, n in enumerate(shape))
    lanes = np.reshape(np.transpose(a, rest + list(axes)), tuple(shape[d] for d in rest) + (-1,))
    return lanes, kept


def _nan_lanes(part, result):
    """NaN wherever a lane held a NaN (sorted last), as NumPy's median and quantile give."""
    nan = np.isnan(untrace(part)[..., -1])
    return np.where(nan, np.nan, result) if np.any(nan) else result


def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """np.median: the middle value of each lane (the mean of the two middle ones for an even
    count), found with np.partition, so the gradient goes to the one or two middle elements.
    At ties it goes to one of the equal values (a subgradient)."""
    _refuse_out("median", out)
    lanes, kept = _lanes(a, axis)
    n = np.shape(lanes)[-1]
    if n == 0:
        result = np.mean(lanes, axis=-1)  # NaN, with NumPy's warning
    else:
        middle = [n // 2 - 1, n // 2] if n % 2 == 0 else [n // 2]
        part = np.partition(lanes, middle + [n - 1], axis=-1)
        result = _nan_lanes(part, np.mean(part[..., middle[0]:n // 2 + 1], axis=-1))
    return np.reshape(result, kept) if keepdims else result


# Virtual index of the quantile q among n sorted values, for the methods that interpolate
# (Hyndman & Fan 1996, 'Sample quantiles in statistical packages'; NumPy's table).
def _hf(alpha, beta):
    return lambda n, q: n * q + (alpha + q * (1 - alpha - beta)) - 1


_QUANTILE_METHODS = {
    "linear": lambda n, q: (n - 1) * q,
    "interpolated_inverted_cdf": _hf(0, 1),
    "hazen": _hf(0.5, 0.5),
    "weibull": _hf(0, 0),
    "median_unbiased": _hf(1 / 3.0, 1 / 3.0),
    "normal_unbiased": _hf(3 / 8.0, 3 / 8.0),
    "lower": lambda n, q: np.floor((n - 1) * untrace(q)),
    "higher": lambda n, q: np.ceil((n - 1) * untrace(q)),
    "nearest": lambda n, q: np.around((n - 1) * untrace(q)),
    "midpoint": lambda n, q: 0.5 * (np.floor((n - 1) * untrace(q)) + np.ceil((n - 1) * untrace(q))),
}


def _quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=False, *, weights=None, _name="quantile"):
    """np.quantile: with the sorted values s of a lane and the virtual index v of q (for
    'linear', v = (n - 1) q), the result is s[⌊v⌋] + (v - ⌊v⌋)(s[⌊v⌋ + 1] - s[⌊v⌋]), written as
    NumPy's _lerp writes it. The gradient goes to the two neighbouring sorted elements, weighted
    1 - γ and γ, and to q (traced q) as the slope s[⌊v⌋ + 1] - s[⌊v⌋] times dv/dq. At ties it
    goes to one of the equal values (a subgradient)."""
    _refuse_out(_name, out)
    if weights is not None:
        raise NoGradientRule(f"fluxlite has no gradient rule for numpy.{_name} with weights=.\n"
                             f"Sort with np.argsort and accumulate the weights with np.cumsum.")
    if method not in _QUANTILE_METHODS:
        if method in ("inverted_cdf", "averaged_inverted_cdf", "closest_observation"):
            raise NoGradientRule(
                f"fluxlite has no gradient rule for numpy.{_name} with method={method!r}.\n"
                f"Use one of {', '.join(map(repr, _QUANTILE_METHODS))}.")
        raise ValueError(f"{method!r} is not a valid method. Use one of: "
                         f"{list(_QUANTILE_METHODS) + ['inverted_cdf', 'averaged_inverted_cdf']}")
    weak = type(q) in (int, float)  # a Python number keeps a's precision, as in NumPy
    qv = np.asarray(untrace(q))
    if not (np.all(0 <= qv) and np.all(qv <= 1)):
        raise ValueError("Quantiles must be in the range [0, 1]" if _name == "quantile"
                         else "Percentiles must be in the range [0, 100]")
    lanes, kept = _lanes(a, axis)
    n = np.shape(lanes)[-1]
    v = _QUANTILE_METHODS[method](n, q if weak or type(q) is Tracked else qv)
    vv = np.asarray(untrace(v))
    top = vv >= n - 1
    lo = np.where(top, n - 1, np.clip(np.floor(vv), 0, n - 1)).astype(np.intp)
    hi = np.where(top, n - 1, np.clip(np.floor(vv) + 1, 0, n - 1)).astype(np.intp)
    part = np.partition(lanes, np.unique(np.concatenate([[0, n - 1], lo.ravel(), hi.ravel()])),
                        axis=-1)
    s = np.moveaxis(part, -1, 0)
    below, above = s[lo], s[hi]
    if method in ("lower", "higher", "nearest"):
        result = below
    else:
        gamma = np.where(vv % 1 == 0, 0.0, 0.5) if method == "midpoint" else v - np.floor(vv)
        if weak:
            gamma = float(gamma)
        elif np.ndim(vv):
            gamma = np.reshape(gamma, np.shape(vv) + (1,) * (np.ndim(s) - 1))
        diff = above - below
        result = np.where(gamma >= 0.5, above - diff * (1 - gamma), below + diff * gamma)
    result = _nan_lanes(part, result)
    return np.reshape(result, np.shape(vv) + kept) if keepdims else result


def _percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """np.percentile: np.quantile of q / 100."""
    q = q / 100 if type(q) in (int, float) else np.true_divide(q, 100)
    return _quantile(a, q, axis, out, overwrite_input, method, keepdims,
                     weights=weights, _name="percentile")


FUNCTIONS[np.median] = _median
FUNCTIONS[np.quantile] = _quantile
FUNCTIONS[np.percentile] = _percentile


# ------------------------------------------------------------------ weighted means and spreads
def _average(a, axis=None, weights=None, returned=False, *, keepdims=np._NoValue):
    """np.average: sum(a w) / sum(w) over `axis`, with NumPy's checks and result types. The
    weights may be traced too: d avg / d w_i = (a_i - avg) / sum(w)."""
    a = _plain(a)
    if axis is not None:
        axis = normalize_axis_tuple(axis, a.ndim, argname="axis")
    kd = {} if keepdims is np._NoValue else {"keepdims": keepdims}
    if weights is None:
        avg = np.mean(a, axis=axis, **kd)
        scl = np.result_type(avg).type(a.size / max(np.size(avg), 1))
    else:
        w = _plain(weights)
        if a.shape != w.shape:
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if w.shape != tuple(a.shape[ax] for ax in axis):
                raise ValueError("Shape of weights must be consistent with shape of a along "
                                 "specified axis.")
            w = np.reshape(np.transpose(w, np.argsort(axis)),
                           tuple(s if ax in axis else 1 for ax, s in enumerate(a.shape)))
        dtype = np.result_type(a.dtype, w.dtype, *(["f8"] if a.dtype.kind in "biu" else []))
        a, w = _cast(a, dtype), _cast(w, dtype)
        scl = np.sum(w, axis=axis, **kd)
        if np.any(untrace(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(a * w, axis=axis, **kd) / scl
    if not returned:
        return avg
    if np.shape(scl) != np.shape(avg):
        scl = np.copy(np.broadcast_to(scl, np.shape(avg)))
    return avg, scl


def _ptp(a, axis=None, out=None, keepdims=np._NoValue):
    """np.ptp, the range max - min: the gradient goes to the largest element (+) and the
    smallest (-), shared between tied ones as np.max and np.min share it."""
    _refuse_out("ptp", out)
    keepdims = False if keepdims is np._NoValue else keepdims
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def _cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
         dtype=None):
    """np.cov, written as NumPy writes it: C = (X - avg)(w (X - avg))ᵀ / fact, with avg the
    (weighted) mean of each variable. Data and aweights may be traced; fweights are counts of
    repeated observations, whole numbers, so they carry no gradient and must not be traced."""
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    if type(fweights) is Tracked:
        raise NoGradientRule(
            "fluxlite has no gradient rule for numpy.cov with traced fweights=: they count "
            "repeated observations, and counts change only in whole steps.\nPass them as plain "
            "numbers (np.asarray(f)), or use aweights= for weights that should get a gradient.")
    m = _plain(m)
    if m.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None:
        y = _plain(y)
        if y.ndim > 2:
            raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(m.dtype, *([] if y is None else [y.dtype]), np.float64)
    X = _cast(np.reshape(m, (1, -1)) if m.ndim < 2 else m, np.dtype(dtype))
    if not rowvar and m.ndim != 1:
        X = X.T
    if X.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        y = _cast(np.reshape(y, (1, -1)) if y.ndim < 2 else y, np.dtype(dtype))
        if not rowvar and y.shape[0] != 1:
            y = y.T
        X = np.concatenate((X, y), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    w = None
    if fweights is not None:
        fweights = np.asarray(fweights, dtype=float)
        if not np.all(fweights == np.around(fweights)):
            raise TypeError("fweights must be integer")
        if fweights.ndim > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if fweights.shape[0] != X.shape[1]:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if np.any(fweights < 0):
            raise ValueError("fweights cannot be negative")
        w = fweights
    if aweights is not None:
        aweights = _cast(aweights, np.dtype(float))
        if aweights.ndim > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if aweights.shape[0] != X.shape[1]:
            raise RuntimeError("incompatible numbers of samples and aweights")
        if np.any(untrace(aweights) < 0):
            raise ValueError("aweights cannot be negative")
        w = aweights if w is None else w * aweights
    avg, w_sum = np.average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = X.shape[1] - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * np.sum(w * aweights) / w_sum
    if untrace(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    X = X - avg[:, None]
    c = np.dot(X, (X if w is None else X * w).T) * np.true_divide(1, fact)
    return np.squeeze(c)


def _corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """np.corrcoef, R_ij = C_ij / sqrt(C_ii C_jj), clipped to [-1, 1] as NumPy clips it. The
    clip only corrects rounding in the value, so the gradient is the formula's, unclipped:
    where R is ±1 (the diagonal; two variables exactly linearly related) |R| is at its largest
    and the formula's slope is 0 there, while its curvature, which second derivatives need,
    is kept (a clip's gradient would cut both)."""
    c = np.cov(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:
        return c / c  # one variable: 1 (NaN for a variable that does not vary)
    s = np.sqrt(np.diagonal(c))
    r = c / s[:, None] / s[None, :]
    rv = untrace(r)
    if np.any(np.abs(rv) > 1):
        r = r + (np.clip(rv, -1, 1) - rv)  # a constant: exactly ±1 where R rounded past it
    return r


FUNCTIONS[np.average] = _average
FUNCTIONS[np.ptp] = _ptp
FUNCTIONS[np.cov] = _cov
FUNCTIONS[np.corrcoef] = _corrcoef


# ------------------------------------------------------------------ reductions that skip NaNs
# Each replaces the NaNs by the value that leaves the reduction unchanged (0 for a sum, 1 for
# a product, -inf for a maximum) with np.where, whose gradient is 0 where it chose the
# replacement: NaN entries get gradient 0. A slice with nothing but NaNs gives NaN, with
# NumPy's warning, and gradient 0.
def _nan_setup(name, a, dtype, out, initial=np._NoValue, where=np._NoValue):
    """`a` cast to `dtype` (when given) and the mask of its NaNs; refuses what is not traced."""
    _refuse_out(name, out)
    if initial is not np._NoValue or where is not np._NoValue and where is not True:
        raise TypeError(f"fluxlite traces numpy.{name} without `initial=` or `where=`; "
                        f"mask with np.where(mask, x, np.nan) before reducing instead.")
    a = _plain(a)
    if dtype is not None:
        a = _cast(a, np.dtype(dtype))
    return a, np.isnan(untrace(a))


def _keep(keepdims):
    return False if keepdims is np._NoValue else keepdims


def _nan_reduction(fn, fill):
    """np.nansum / np.nanprod: each NaN becomes the empty sum (0) or product (1) first."""
    name = "nan" + fn.__name__

    def reduce(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
               where=np._NoValue):
        if dtype is not None and not np.issubdtype(dtype, np.inexact):
            return getattr(np, name)(untrace(a), axis=axis, dtype=dtype, keepdims=keepdims)
        a, nan = _nan_setup(name, a, dtype, out, initial, where)
        return fn(np.where(nan, fill, a), axis=axis, keepdims=_keep(keepdims))
    reduce.__name__ = name
    return reduce


_nansum, _nanprod = _nan_reduction(np.sum, 0), _nan_reduction(np.prod, 1)


def _nanextreme(fn, fill):
    name = "nan" + fn.__name__[:3]

    def extreme(a, axis=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
                where=np._NoValue):
        a, nan = _nan_setup(name, a, None, out, initial, where)
        keepdims = _keep(keepdims)
        result = fn(np.where(nan, fill, a), axis=axis, keepdims=keepdims)
        empty = np.all(nan, axis=axis, keepdims=keepdims)
        if np.any(empty):
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
            result = np.where(empty, np.nan, result)
        return result
    extreme.__name__ = name
    return extreme


def _nanmean(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, *, where=np._NoValue):
    if dtype is not None and not np.issubdtype(dtype, np.inexact):
        raise TypeError("If a is inexact, then dtype must be inexact")
    a, nan = _nan_setup("nanmean", a, dtype, out, where=where)
    keepdims = _keep(keepdims)
    count = np.sum(~nan, axis=axis, keepdims=keepdims)
    total = np.sum(np.where(nan, 0, a), axis=axis, keepdims=keepdims)
    result = total / np.maximum(count, 1).astype(a.dtype)
    if np.any(count == 0):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)
        result = np.where(count == 0, np.nan, result)
    return result


def _nan_ddof(dtype, ddof, correction):
    """NumPy's checks for nanvar and nanstd: an inexact dtype, and ddof or its newer name."""
    if dtype is not None and not np.issubdtype(dtype, np.inexact):
        raise TypeError("If a is inexact, then dtype must be inexact")
    if correction is not np._NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        return correction
    return ddof


def _nan_deviations(x, nan, axis, mean=np._NoValue):
    """The values' distances from their mean over the entries that are not NaN (0 at NaNs),
    and how many such entries each slice has (kept as a length-1 axis)."""
    count = np.sum(~nan, axis=axis, keepdims=True)
    zeroed = np.where(nan, 0, x)
    if mean is np._NoValue:
        mean = np.sum(zeroed, axis=axis, keepdims=True) / np.maximum(count, 1).astype(x.dtype)
    return np.where(nan, 0, zeroed - mean), count


def _nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=np._NoValue, *,
            where=np._NoValue, mean=np._NoValue, correction=np._NoValue):
    """np.nanvar: Σ (x - mean)² / (count - ddof) over the values that are not NaN (`mean=`,
    if given, is used as the mean and may be traced). Where count - ddof ≤ 0 the result is
    NaN, with NumPy's warning, and its gradient 0."""
    ddof = _nan_ddof(dtype, ddof, correction)
    a, nan = _nan_setup("nanvar", a, dtype, out, where=where)
    keepdims = _keep(keepdims)
    d, _ = _nan_deviations(a, nan, axis, mean)
    dof = np.sum(~nan, axis=axis, keepdims=keepdims) - ddof
    bad = dof <= 0
    result = np.sum(d * d, axis=axis, keepdims=keepdims) / np.where(bad, 1, dof).astype(a.dtype)
    if np.any(bad):
        warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=3)
        result = np.where(bad, np.nan, result)
    return result


def _nanstd_vjp(g, ans, x, axis=None, ddof=0, keepdims=False):
    """As for np.std, over the values that are not NaN: d std = (x - mean) / ((count - ddof)
    std) dx, 0 at the NaNs, and 0 where std is 0 (see `_std_vjp`) or NaN (no values, or too
    few for ddof)."""
    d, count = _nan_deviations(x, np.isnan(untrace(x)), axis)
    s = _expand(ans, x, axis, keepdims)
    flat = np.isnan(untrace(s)) | (untrace(s) == 0)
    scale = np.where(flat, 1, (count - ddof).astype(x.dtype) * np.where(flat, 1, s))
    return np.where(flat, 0, _expand(g, x, axis, keepdims) * d / scale)


NANSTD = primitive(lambda x, axis=None, ddof=0, keepdims=False:
                   np.nanstd(x, axis=axis, ddof=ddof, keepdims=keepdims),
                   "numpy.nanstd").defvjp(_nanstd_vjp)


def _nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=np._NoValue, *,
            where=np._NoValue, mean=np._NoValue, correction=np._NoValue):
    ddof = _nan_ddof(dtype, ddof, correction)
    if mean is not np._NoValue:
        raise NoGradientRule("fluxlite has no gradient rule for numpy.nanstd with mean=.\n"
                             "Write np.sqrt(np.nanvar(x, mean=m)) instead (its slope is "
                             "infinite where every value equals the mean).")
    a, _ = _nan_setup("nanstd", a, dtype, out, where=where)
    if isinstance(axis, list):
        axis = tuple(axis)
    return NANSTD(a, axis=axis, ddof=ddof, keepdims=_keep(keepdims))


def _nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=np._NoValue, *, weights=None, _name="nanquantile"):
    """np.nanquantile: np.quantile of the values that are not NaN, lane by lane. Each lane is
    sorted (NaNs last) and q's virtual index is found among its own count of numbers; the
    gradient goes to the one or two sorted values picked (and to a traced q, as in
    np.quantile). All-NaN lanes give NaN, with NumPy's warning."""
    _refuse_out(_name, out)
    keepdims = _keep(keepdims)
    if weights is not None:
        raise NoGradientRule(f"fluxlite has no gradient rule for numpy.{_name} with weights=.\n"
                             f"Sort with np.argsort and accumulate the weights with np.cumsum.")
    if method not in _QUANTILE_METHODS:
        return _quantile(a, 0.5, method=method, _name=_name)  # the same refusals as np.quantile
    weak = type(q) in (int, float)
    qv = np.asarray(untrace(q))
    if not (np.all(0 <= qv) and np.all(qv <= 1)):
        raise ValueError("Quantiles must be in the range [0, 1]" if _name == "nanquantile"
                         else "Percentiles must be in the range [0, 100]")
    a = _plain(a)
    if a.size == 0:
        return np.nanmean(a, axis, keepdims=keepdims)
    lanes, kept = _lanes(a, axis)
    batch = np.shape(lanes)[:-1]
    s = np.sort(lanes, axis=-1)  # NaNs last
    k = np.sum(~np.isnan(untrace(lanes)), axis=-1)  # the numbers in each lane
    qb = q if weak else np.reshape(q if type(q) is Tracked else qv, qv.shape + (1,) * len(batch))
    v = _QUANTILE_METHODS[method](k, qb)
    vv = np.asarray(untrace(v))
    top = vv >= k - 1
    lo = np.maximum(np.where(top, k - 1, np.floor(vv)), 0).astype(np.intp)
    hi = np.maximum(np.where(top, k - 1, np.minimum(np.floor(vv) + 1, k - 1)), 0).astype(np.intp)
    grid = np.indices(batch, sparse=True) if batch else ()
    empty = k == 0  # all NaN: 0 stands in for the NaNs picked, so no NaN reaches q's gradient
    below = np.where(empty, 0, s[tuple(grid) + (lo,)])
    above = np.where(empty, 0, s[tuple(grid) + (hi,)])
    if method in ("lower", "higher", "nearest"):
        result = below
    else:
        gamma = np.where(vv % 1 == 0, 0.0, 0.5) if method == "midpoint" else v - np.floor(vv)
        rtype = np.result_type(a.dtype, q if weak else qv.dtype)
        gamma = _cast(gamma, rtype)
        diff = above - below
        result = np.where(gamma >= 0.5, above - diff * (1 - gamma), below + diff * gamma)
    if np.any(empty):
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
        result = np.where(empty, np.nan, result)
    return np.reshape(result, qv.shape + kept) if keepdims else result


def _nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=np._NoValue, *, weights=None):
    """np.nanpercentile: np.nanquantile of q / 100."""
    q = q / 100 if type(q) in (int, float) else np.true_divide(q, 100)
    return _nanquantile(a, q, axis, out, overwrite_input, method, keepdims, weights=weights,
                        _name="nanpercentile")


def _nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=np._NoValue):
    """np.nanmedian: the middle of the values that are not NaN in each lane (the mean of the
    two middle ones for an even count); the gradient goes to those one or two elements."""
    _refuse_out("nanmedian", out)
    keepdims = _keep(keepdims)
    a = _plain(a)
    if a.size == 0:
        return np.nanmean(a, axis, keepdims=keepdims)
    lanes, kept = _lanes(a, axis)
    batch = np.shape(lanes)[:-1]
    s = np.sort(lanes, axis=-1)
    k = np.sum(~np.isnan(untrace(lanes)), axis=-1)
    grid = np.indices(batch, sparse=True) if batch else ()
    lo, hi = np.maximum((k - 1) // 2, 0), np.maximum(k // 2, 0)
    result = np.where(lo == hi, s[tuple(grid) + (lo,)],
                      (s[tuple(grid) + (lo,)] + s[tuple(grid) + (hi,)]) / 2)
    empty = k == 0
    if np.any(empty):
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
        result = np.where(empty, np.nan, result)
    return np.reshape(result, kept) if keepdims else result


FUNCTIONS[np.nansum] = _nansum
FUNCTIONS[np.nanprod] = _nanprod
FUNCTIONS[np.nanmax] = _nanextreme(np.max, -np.inf)
FUNCTIONS[np.nanmin] = _nanextreme(np.min, np.inf)
FUNCTIONS[np.nanmean] = _nanmean
FUNCTIONS[np.nanvar] = _nanvar
FUNCTIONS[np.nanstd] = _nanstd
FUNCTIONS[np.nanmedian] = _nanmedian
FUNCTIONS[np.nanquantile] = _nanquantile
FUNCTIONS[np.nanpercentile] = _nanpercentile


# ------------------------------------------------------------------ integrals, polynomials, steps
def _polyval(p, x):
    """np.polyval by Horner's scheme, as NumPy computes it: y = (…(p_0 x + p_1) x + …) x + p_n.
    Both the coefficients and x may be traced."""
    if isinstance(x, np.poly1d):
        raise NoGradientRule("fluxlite has no gradient rule for numpy.polyval of a np.poly1d.\n"
                             "Evaluate at an array of numbers instead.")
    p = _plain(p)
    x = _plain(x)
    y = np.zeros_like(untrace(x))
    for i in range(len(p)):
        y = y * x + p[i]
    return y


def _ediff1d(ary, to_end=None, to_begin=None):
    """np.ediff1d: the differences of the flattened array, with `to_begin` and `to_end` (which
    may be traced too) joined on, all in the array's dtype."""
    ary = np.reshape(_plain(ary), -1)
    parts = [ary[1:] - ary[:-1]]
    for name, extra in (("to_begin", to_begin), ("to_end", to_end)):
        if extra is None:
            continue
        extra = _plain(extra)
        if not np.can_cast(untrace(extra), ary.dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under the "
                            f"`same_kind` rule.")
        extra = _cast(np.reshape(extra, -1), ary.dtype)
        parts.insert(0 if name == "to_begin" else len(parts), extra)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


FUNCTIONS[np.polyval] = _polyval
FUNCTIONS[np.ediff1d] = _ediff1d
# np.trapezoid is written with np.diff, slicing and sums, all traced (y, x and dx may be traced).
DECOMPOSED_FUNCTIONS.add(np.trapezoid)
