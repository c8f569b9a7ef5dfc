"""Gradcheck cases for reductions and accumulations (see `casefactory`): one `case(...)` line per
operation."""
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import call, case, one  # noqa: F401
from strategies import arrays, axes, layout, one_axis, scalars, separated, shapes, with_layout

# ------------------------------------------------------------------ running sums and products


@st.composite
def accumulate_args(draw, values=arrays, method=False, **value_kw):
    """An array and an ``axis=``: None (flattened), or an axis of the array, negative ones too."""
    x = draw(values(**value_kw))
    if x.ndim == 0:
        return (x,), {"axis": draw(st.sampled_from([None, 0, -1]))}
    axis = draw(st.one_of(st.none(), one_axis(x.ndim)))
    if method and axis is None:
        return (x,), {}
    return (x,), {"axis": axis}


@st.composite
def with_zeros(draw, min_dims=0, max_dims=3, max_side=4):
    """Values in [-2, 2] with some entries exactly 0 (often several along one axis)."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-2.0, 2.0, allow_subnormal=False)))
    zero = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
    return with_layout(np.where(zero, 0.0, x), draw(layout))


case("np.cumsum (axis None, int, negative)", lambda x, **kw: np.cumsum(x, **kw),
     accumulate_args(), covers=[np.cumsum])
case("np.cumsum(x, dtype=float64)", lambda x, axis: np.cumsum(x, axis=axis, dtype=np.float64),
     accumulate_args(), covers=[np.cumsum])
case("x.cumsum(axis)", lambda x, **kw: x.cumsum(**kw), accumulate_args(method=True),
     covers=[np.cumsum])
case("np.cumprod (axis None, int, negative)", lambda x, **kw: np.cumprod(x, **kw),
     accumulate_args(), covers=[np.cumprod])
case("np.cumprod with zeros in the input", lambda x, **kw: np.cumprod(x, **kw),
     accumulate_args(with_zeros), covers=[np.cumprod])
case("x.cumprod(axis)", lambda x, **kw: x.cumprod(**kw), accumulate_args(method=True),
     covers=[np.cumprod])


@st.composite
def ufunc_accumulate_args(draw, values=arrays):
    x = draw(values(min_dims=1))
    if draw(st.booleans()):
        return (x,), {}  # NumPy's default: axis 0
    return (x,), {"axis": draw(one_axis(x.ndim))}


case("np.add.accumulate (axis default 0, or given)", lambda x, **kw: np.add.accumulate(x, **kw),
     ufunc_accumulate_args(), covers=[("accumulate", np.add)])
case("np.multiply.accumulate (axis default 0, or given)",
     lambda x, **kw: np.multiply.accumulate(x, **kw), ufunc_accumulate_args(),
     covers=[("accumulate", np.multiply)])
case("np.multiply.accumulate with zeros", lambda x, **kw: np.multiply.accumulate(x, **kw),
     ufunc_accumulate_args(with_zeros), covers=[("accumulate", np.multiply)])


for _u in (np.maximum, np.minimum):
    case(f"np.{_u.__name__}.accumulate (running {_u.__name__[:3]}; axis default 0, or given)",
         lambda x, _u=_u, **kw: _u.accumulate(x, **kw), ufunc_accumulate_args(separated),
         covers=[("accumulate", _u)])


@st.composite
def cumulative_args(draw, values=arrays):
    x = draw(values(min_dims=1))
    kw = {"include_initial": draw(st.booleans())}
    if x.ndim > 1 or draw(st.booleans()):
        kw["axis"] = draw(one_axis(x.ndim))
    return (x,), kw


case("np.cumulative_sum (include_initial)", lambda x, **kw: np.cumulative_sum(x, **kw),
     cumulative_args(), covers=[np.cumulative_sum])
case("np.cumulative_prod (include_initial)", lambda x, **kw: np.cumulative_prod(x, **kw),
     cumulative_args(), covers=[np.cumulative_prod])
case("np.cumulative_prod with zeros", lambda x, **kw: np.cumulative_prod(x, **kw),
     cumulative_args(with_zeros), covers=[np.cumulative_prod])

# --------------------------------------------------------------------------- order statistics
# Distinct values: at a tie sorting has a kink, where finite differences mean nothing.


@st.composite
def sort_args(draw):
    x = draw(separated(min_dims=1))
    kw = {"axis": draw(st.one_of(st.none(), one_axis(x.ndim)))}
    if draw(st.booleans()):
        kw["kind"] = draw(st.sampled_from(["quicksort", "mergesort", "heapsort", "stable"]))
    return (x,), kw


case("np.sort (axis None, int, negative; kind)", lambda x, **kw: np.sort(x, **kw), sort_args(),
     covers=[np.sort])
case("np.sort of a vector, default axis", np.sort, call(separated(min_dims=1, max_dims=1,
                                                                  max_side=6)))


@st.composite
def partition_args(draw):
    x = draw(separated(min_dims=1))
    axis = draw(st.one_of(st.none(), one_axis(x.ndim)))
    n = x.size if axis is None else x.shape[axis]
    kth = draw(st.one_of(st.integers(-n, n - 1),
                         st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
    return (x,), {"kth": kth, "axis": axis}


case("np.partition (kth int or list; axis None, int)", lambda x, kth, axis:
     np.partition(x, kth, axis=axis), partition_args(), covers=[np.partition])


@st.composite
def median_args(draw):
    x = draw(separated(min_dims=1))
    kw = {"axis": draw(axes(x.ndim, allow_empty=False))}
    if draw(st.booleans()):
        kw["keepdims"] = draw(st.booleans())
    return (x,), kw


case("np.median (axis None, int, tuple; keepdims)", lambda x, **kw: np.median(x, **kw),
     median_args(), covers=[np.median])
case("np.median of a number", np.median, call(arrays(shape=())))

METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "hazen", "weibull",
           "median_unbiased", "normal_unbiased", "interpolated_inverted_cdf"]


@st.composite
def quantile_args(draw, scale=1.0):
    (x,), kw = draw(median_args())
    q = draw(st.one_of(st.floats(0.0, 1.0),
                       hnp.arrays(np.float64, draw(shapes(min_dims=1, max_dims=2)),
                                  elements=st.floats(0.0, 1.0))))
    kw["q"] = q * scale
    kw["method"] = draw(st.sampled_from(METHODS))
    return (x,), kw


case("np.quantile (q number or array; methods; axis, keepdims)",
     lambda x, q, **kw: np.quantile(x, q, **kw), quantile_args(), covers=[np.quantile])
case("np.percentile (q number or array; methods; axis, keepdims)",
     lambda x, q, **kw: np.percentile(x, q, **kw), quantile_args(100.0), covers=[np.percentile])


@st.composite
def traced_q_args(draw, scale=1.0):
    """q as an argument too, away from the points where the two neighbours change."""
    n = draw(st.integers(2, 6))
    x = draw(separated(shape=(n,)))
    k = draw(hnp.arrays(np.int64, draw(shapes(max_dims=1)), elements=st.integers(0, n - 2)))
    q = (k + draw(hnp.arrays(np.float64, k.shape, elements=st.floats(0.1, 0.9)))) / (n - 1)
    return (x, q * scale), {}


case("np.quantile(x, q) with traced q (linear)", lambda x, q: np.quantile(x, q),
     traced_q_args(), covers=[np.quantile])
case("np.percentile(x, q) with traced q (linear)", lambda x, q: np.percentile(x, q),
     traced_q_args(100.0), covers=[np.percentile])

# ------------------------------------------------------------------ weighted means and spreads


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in np.atleast_1d(axis)]))


@st.composite
def average_args(draw, weighted=True):
    """An array, an ``axis=`` (None, int, tuple) and, when weighted, positive weights shaped
    like the array or like the axes averaged over (as NumPy allows with an axis)."""
    x = draw(arrays())
    kw = {"axis": draw(axes(x.ndim, allow_empty=False))}
    if draw(st.booleans()):
        kw["keepdims"] = draw(st.booleans())
    if not weighted:
        return (x,), kw
    shape = x.shape
    axis = kw["axis"]
    if axis is not None and draw(st.booleans()):
        shape = tuple(x.shape[a] for a in np.atleast_1d(axis))
    return (x, draw(arrays(shape, lo=0.3, hi=2.0))), kw


case("np.average without weights (axis None, int, tuple; keepdims)",
     lambda x, **kw: np.average(x, **kw), average_args(False), covers=[np.average])
case("np.average with traced weights (same shape, or the averaged axes' shape)",
     lambda x, w, **kw: np.average(x, weights=w, **kw), average_args(), covers=[np.average])
case("np.average(returned=True): the average and the sum of the weights",
     lambda x, w, **kw: np.stack(np.average(x, weights=w, returned=True, **kw)), average_args(),
     covers=[np.average])
case("np.average(returned=True) without weights",
     lambda x, **kw: np.stack(np.average(x, returned=True, **kw)), average_args(False),
     covers=[np.average])


@st.composite
def ptp_args(draw):
    x = draw(separated())
    kw = {"axis": draw(axes(x.ndim, allow_empty=False))}
    if draw(st.booleans()):
        kw["keepdims"] = draw(st.booleans())
    return (x,), kw


case("np.ptp (axis None, int, tuple; keepdims)", lambda x, **kw: np.ptp(x, **kw), ptp_args(),
     covers=[np.ptp])


@st.composite
def cov_args(draw, corr=False):
    """Data as a vector or a variables × observations matrix (or its transpose, rowvar=False),
    an optional second data set y, and for np.cov bias/ddof and weights (traced aweights,
    plain whole-number fweights). Distinct values: np.corrcoef divides by each spread.
    ``roles`` names what each argument after the data is ("y" or "aweights")."""
    n = draw(st.integers(2, 4))
    rowvar = draw(st.booleans())
    one_var = draw(st.booleans())
    shape = (n,) if one_var else ((draw(st.integers(1, 3)), n) if rowvar
                                   else (n, draw(st.integers(1, 3))))
    args, roles = [draw(separated(shape=shape))], []
    kw = {"rowvar": rowvar}
    if draw(st.booleans()):
        args.append(draw(separated(shape=shape)))
        roles.append("y")
    if corr:
        return tuple(args), kw
    weighted = draw(st.booleans())
    if weighted:
        args.append(draw(arrays((n,), lo=0.5, hi=2.0)))
        roles.append("aweights")
        if draw(st.booleans()):
            kw["fweights"] = np.array(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    option = draw(st.sampled_from(["default", "bias", "ddof"]))
    if option == "bias":
        kw["bias"] = True
    elif option == "ddof":
        kw["ddof"] = draw(st.integers(0, 1 if weighted else n - 1))
    kw["roles"] = tuple(roles)
    return tuple(args), kw


def _cov(m, *rest, roles, **kw):
    """np.cov(m, y=..., aweights=...), with the arguments after m named by `roles`."""
    return np.cov(m, **dict(zip(roles, rest)), **kw)


case("np.cov (vector or matrix, rowvar, y, bias/ddof, traced aweights, fweights)", _cov,
     cov_args(), covers=[np.cov])
case("np.corrcoef (vector or matrix, rowvar, y)", lambda *a, **kw: np.corrcoef(*a, **kw),
     cov_args(corr=True), covers=[np.corrcoef, np.cov])

# ------------------------------------------------------------------ reductions that skip NaNs
# The value at an all-NaN slice is NaN; a projection of NaN is NaN, so NaN results are made 0
# (np.where has gradient 0 there), as for np.fmax with NaNs.


def _quiet_nan_to_0(f):
    """f with NaN results made 0, and NumPy's warnings about all-NaN slices silenced."""
    def g(*args, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = f(*args, **kw)
            return np.where(np.isnan(r), 0.0, r)
    return g


@st.composite
def with_nans(draw, values=arrays, min_dims=0, **value_kw):
    """Values with NaNs at random places (whole slices of NaN too, now and then)."""
    x = np.array(draw(values(min_dims=min_dims, **value_kw)))
    x[draw(hnp.arrays(np.bool_, x.shape))] = np.nan
    return with_layout(x, draw(layout))


@st.composite
def nan_reduce_args(draw, values=arrays, ddof=False, **value_kw):
    x = draw(with_nans(values, **value_kw))
    kw = {"axis": draw(axes(x.ndim, allow_empty=False))}
    if draw(st.booleans()):
        kw["keepdims"] = draw(st.booleans())
    if ddof:
        kw["ddof"] = draw(st.sampled_from([0, 1]))
    return (x,), kw


NONZERO = dict(lo=-1.5, hi=1.5, avoid=(0.0,), gap=0.5)
for _fn, _args in [(np.nansum, nan_reduce_args()), (np.nanmean, nan_reduce_args()),
                   (np.nanprod, nan_reduce_args(**NONZERO)),
                   (np.nanmax, nan_reduce_args(separated)), (np.nanmin, nan_reduce_args(separated)),
                   (np.nanvar, nan_reduce_args(ddof=True)),
                   (np.nanstd, nan_reduce_args(separated, ddof=True)),
                   (np.nanmedian, nan_reduce_args(separated, min_dims=1))]:
    case(f"np.{_fn.__name__} with NaNs (axis None, int, tuple; keepdims)",
         _quiet_nan_to_0(lambda x, _fn=_fn, **kw: _fn(x, **kw)), _args, covers=[_fn])
@st.composite
def nanvar_mean_args(draw):
    """x with NaNs, an axis, and a traced mean= (near the mean of the values that are not NaN)."""
    x = draw(with_nans(min_dims=1))
    axis = draw(axes(x.ndim, allow_empty=False))
    total = np.sum(np.where(np.isnan(x), 0.0, x), axis=axis, keepdims=True)
    count = np.sum(~np.isnan(x), axis=axis, keepdims=True)
    mean = total / np.maximum(count, 1) + draw(arrays(np.shape(total), lo=-0.3, hi=0.3))
    return (x, mean), {"axis": axis}


case("np.nanvar(x, mean=traced mean)", _quiet_nan_to_0(
    lambda x, m, axis: np.nanvar(x, axis=axis, mean=m)), nanvar_mean_args(), covers=[np.nanvar])


@st.composite
def nan_quantile_args(draw, scale=1.0):
    """As for np.quantile. (With a 2-D q and several axes, NumPy 2.4's nanquantile puts the
    result's axes out of order, unlike np.quantile; fluxlite follows np.quantile's order, so
    that combination is not drawn.)"""
    (x,), kw = draw(nan_reduce_args(separated, min_dims=1))
    several = isinstance(kw["axis"], tuple) and len(kw["axis"]) > 1
    q = draw(st.one_of(st.floats(0.0, 1.0),
                       hnp.arrays(np.float64, draw(shapes(min_dims=1, max_dims=1 if several else 2)),
                                  elements=st.floats(0.0, 1.0))))
    kw["q"] = q * scale
    kw["method"] = draw(st.sampled_from(METHODS))
    return (x,), kw


case("np.nanquantile with NaNs (q number or array; methods; axis, keepdims)",
     _quiet_nan_to_0(lambda x, q, **kw: np.nanquantile(x, q, **kw)), nan_quantile_args(),
     covers=[np.nanquantile])
case("np.nanpercentile with NaNs (q number or array; methods; axis, keepdims)",
     _quiet_nan_to_0(lambda x, q, **kw: np.nanpercentile(x, q, **kw)),
     nan_quantile_args(100.0), covers=[np.nanpercentile])


@st.composite
def nan_traced_q_args(draw, scale=1.0):
    """A matrix whose rows hold the same number of NaNs (so q's index is the same in each),
    and q as an argument too, away from the points where the two neighbours change."""
    rows, n = draw(st.integers(1, 3)), draw(st.integers(2, 5))
    nans = draw(st.integers(0, 2))
    x = np.array(draw(separated(shape=(rows, n + nans), noncontiguous=False)))
    for r in range(rows):
        x[r, draw(st.permutations(range(n + nans)))[:nans]] = np.nan
    k = draw(hnp.arrays(np.int64, draw(shapes(max_dims=1)), elements=st.integers(0, n - 2)))
    q = (k + draw(hnp.arrays(np.float64, k.shape, elements=st.floats(0.1, 0.9)))) / (n - 1)
    return (with_layout(x, draw(layout)), q * scale), {"axis": -1}


case("np.nanquantile(x, q) with traced q (linear)",
     lambda x, q, axis: np.nanquantile(x, q, axis=axis), nan_traced_q_args(),
     covers=[np.nanquantile])
case("np.nanpercentile(x, q) with traced q (linear)",
     lambda x, q, axis: np.nanpercentile(x, q, axis=axis), nan_traced_q_args(100.0),
     covers=[np.nanpercentile])

# ------------------------------------------------------------------ integrals, polynomials, steps


@st.composite
def trapezoid_args(draw):
    """y, an axis, and sample points x: none, a vector along the axis, or one per element;
    or a spacing dx (a traced number)."""
    y = draw(arrays(min_dims=1))
    axis = draw(one_axis(y.ndim))
    kind = draw(st.sampled_from(["none", "vector", "full", "dx"]))
    if kind == "none":
        return (y,), {"axis": axis}
    if kind == "dx":
        return (y, draw(scalars(0.1, 2.0))), {"axis": axis, "dx": True}
    shape = (y.shape[axis],) if kind == "vector" else y.shape
    return (y, draw(arrays(shape))), {"axis": axis}


def _trapezoid(y, x=None, axis=-1, dx=False):
    if dx:
        return np.trapezoid(y, dx=x, axis=axis)
    return np.trapezoid(y, x, axis=axis)


case("np.trapezoid (x none, vector or full; traced dx; axis)", _trapezoid, trapezoid_args(),
     covers=[np.trapezoid])


@st.composite
def polyval_args(draw):
    p = draw(arrays(shape=(draw(st.integers(1, 4)),)))
    return (p, draw(arrays())), {}


case("np.polyval(p, x): coefficients and points traced", np.polyval, polyval_args())
case("np.polyval(p, number)", np.polyval, call(arrays(shape=(3,)), scalars()),
     covers=[np.polyval])


@st.composite
def ediff1d_args(draw):
    x = draw(arrays())
    args, kw = [x], {}
    for name in ("to_begin", "to_end"):
        choice = draw(st.sampled_from(["none", "number", "array", "traced"]))
        if choice == "number":
            kw[name] = draw(scalars())
        elif choice == "array":
            kw[name] = draw(arrays(max_dims=2))
        elif choice == "traced":
            args.append(draw(arrays(max_dims=2)))
            kw[name] = len(args) - 1
    return tuple(args), kw


def _ediff1d(*args, **kw):
    kw = {k: (args[v] if type(v) is int else v) for k, v in kw.items()}
    return np.ediff1d(args[0], **kw)


case("np.ediff1d (to_begin, to_end: none, numbers, arrays, traced arrays)", _ediff1d,
     ediff1d_args(), covers=[np.ediff1d])


@st.composite
def var_mean_args(draw):
    """x, an axis, a traced mean= near x's mean, and ddof (or its other name, correction)."""
    x = draw(arrays(min_dims=1))
    axis = draw(axes(x.ndim, allow_empty=False))
    mean = np.mean(x, axis=axis, keepdims=True)
    mean = mean + draw(arrays(mean.shape, lo=-0.3, hi=0.3))
    name = draw(st.sampled_from(["ddof", "correction"]))
    return (x, mean), {"axis": axis, name: 0}


case("np.var(x, mean=traced mean; correction=)", lambda x, m, **kw: np.var(x, mean=m, **kw),
     var_mean_args(), covers=[np.var])
