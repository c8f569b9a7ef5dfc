"""Gradcheck cases for reductions and accumulations (see `casefactory`): one `case(...)` line per
operation."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import call, case, one  # noqa: F401
from strategies import arrays, axes, layout, one_axis, separated, shapes, with_layout

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
