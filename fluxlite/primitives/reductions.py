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
"""
import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..autodiff.tracer import (ACCUMULATORS, FUNCTIONS, REDUCERS, NoGradientRule, Tracked,
                               primitive, untrace)
from .shape import _cast, _refuse_out, _take_along_axis


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
