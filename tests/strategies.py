"""Hypothesis strategies for gradient tests: shapes, values, axes, indices and memory layouts.

Everything here draws small float64 arrays, since finite differences cost two evaluations
per element. Values can be kept inside a domain (``lo``, ``hi``) and away from the points
where a function has a kink or a pole (``avoid``), because there a finite difference
straddles two branches and means nothing.

Arrays are often *not* C-contiguous: `layout` hands out the same numbers as a transposed
view, a strided slice of a bigger array, or a view with negative strides. Bugs that only
appear for such inputs are real (minitorch permutes strides for the same reason).

>>> from hypothesis import given
>>> @given(arrays(shape=(2, 3)))
... def test(x):
...     assert x.shape == (2, 3) and x.dtype == np.float64
>>> test()
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["shapes", "floats", "layout", "with_layout", "arrays", "separated", "broadcast_shapes",
           "axes", "one_axis", "scalars", "grid_pair", "LAYOUTS"]

LAYOUTS = ("C", "transposed", "strided", "reversed")


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=3):
    """Array shapes, small enough for element-by-element finite differences.

    >>> from hypothesis import find
    >>> find(shapes(min_dims=2), lambda s: True)
    (1, 1)
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def _push(v, avoid, gap, lo, hi):
    for k in avoid:
        if abs(v - k) < gap:
            v = k + gap if (v >= k and k + gap <= hi) or k - gap < lo else k - gap
    return v


def floats(lo=-2.0, hi=2.0, avoid=(), gap=0.1):
    """Finite float64 numbers in ``[lo, hi]``, at least `gap` away from each point in `avoid`.

    >>> from hypothesis import find
    >>> abs(find(floats(avoid=(0.0,)), lambda v: True)) >= 0.1
    True
    """
    base = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if avoid:
        return base.map(lambda v: _push(v, avoid, gap, lo, hi))
    return base


def with_layout(a, how):
    """The numbers of `a` presented with memory layout `how` (one of `LAYOUTS`).

    ``"C"``: a contiguous copy; ``"transposed"``: a view through a transposed buffer;
    ``"strided"``: every other element of a bigger buffer; ``"reversed"``: negative strides.

    >>> a = np.arange(6.0).reshape(2, 3)
    >>> [bool(np.array_equal(with_layout(a, h), a)) for h in LAYOUTS]
    [True, True, True, True]
    >>> with_layout(a, "strided").flags.c_contiguous
    False
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0 or how == "C":
        return np.array(a, copy=True)
    if how == "transposed":
        return np.ascontiguousarray(a.T).T
    if how == "strided":
        big = np.zeros(tuple(2 * n for n in a.shape))
        every_other = (slice(None, None, 2),) * a.ndim
        big[every_other] = a
        return big[every_other]
    if how == "reversed":
        back = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[back])[back]
    raise ValueError(how)


layout = st.sampled_from(LAYOUTS)


@st.composite
def arrays(draw, shape=None, lo=-2.0, hi=2.0, avoid=(), gap=0.1, min_dims=0, max_dims=3,
           max_side=3, noncontiguous=True):
    """A float64 array (of `shape`, or a drawn one) with values from `floats`, in any layout.

    >>> from hypothesis import find
    >>> bool(find(arrays(min_dims=1, lo=0.5, hi=1.0), lambda a: True).min() >= 0.5)
    True
    """
    if shape is None:
        shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    values = draw(hnp.arrays(np.float64, shape, elements=floats(lo, hi, avoid, gap)))
    return with_layout(values, draw(layout)) if noncontiguous else values


@st.composite
def separated(draw, shape=None, lo=-2.0, hi=2.0, min_dims=0, max_dims=3, max_side=3,
              noncontiguous=True):
    """An array of distinct values at least ``(hi - lo) / (2 · size)`` apart, in random order.

    For max, min, sort-like and kinked functions: no ties, so the gradient is well defined.

    >>> from hypothesis import find
    >>> a = find(separated(shape=(4,)), lambda a: True)
    >>> len(set(a.tolist()))
    4
    """
    if shape is None:
        shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    n = int(np.prod(shape))
    order = draw(st.permutations(range(n)))
    jitter = draw(floats(-0.25, 0.25))
    values = lo + (hi - lo) * (np.array(order, dtype=float) + 0.5 + jitter) / max(n, 1)
    values = np.clip(values, lo, hi).reshape(shape)
    return with_layout(values, draw(layout)) if noncontiguous else values


def broadcast_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3):
    """Tuples of `num_shapes` shapes that broadcast together (some with length-1 axes).

    >>> from hypothesis import find
    >>> len(find(broadcast_shapes(), lambda s: True))
    2
    """
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda b: b.input_shapes)


def one_axis(ndim):
    """One valid axis for `ndim` dimensions, negative ones included.

    >>> from hypothesis import find
    >>> find(one_axis(3), lambda a: a < 0)
    -1
    """
    return st.integers(-ndim, ndim - 1)


def axes(ndim, allow_none=True, allow_tuple=True, allow_empty=True):
    """An ``axis=`` argument: None, an int (maybe negative) or a tuple of distinct axes.

    >>> from hypothesis import find
    >>> a = find(axes(3), lambda a: isinstance(a, tuple) and len(a) == 2 and min(a) < 0)
    >>> len({ax % 3 for ax in a})
    2
    """
    options = []
    if allow_none or (ndim == 0 and not allow_empty):
        options.append(st.none())
    if ndim:
        options.append(one_axis(ndim))
    if allow_tuple and (ndim or allow_empty):
        options.append(hnp.valid_tuple_axes(ndim, min_size=0 if allow_empty else 1))
    return st.one_of(*options)


def scalars(lo=-2.0, hi=2.0, avoid=(), gap=0.1):
    """Python floats (not NumPy scalars), for `gradient`'s number-in, float-out contract.

    >>> from hypothesis import find
    >>> type(find(scalars(), lambda v: True))
    <class 'float'>
    """
    return floats(lo, hi, avoid, gap).map(float)


@st.composite
def grid_pair(draw, shapes_pair=None):
    """Two broadcastable arrays whose elements differ by at least 0.1 everywhere.

    The first lies on integers + 1/2 and the second on integers (each ± 0.2), so pairs
    never tie: the right input for maximum, minimum and comparisons.

    >>> from hypothesis import find
    >>> x, y = find(grid_pair(), lambda p: True)
    >>> bool(np.all(np.abs(x - y) >= 0.1))
    True
    """
    sx, sy = draw(shapes_pair if shapes_pair is not None else broadcast_shapes())

    def grid(shape, offset):
        ints = draw(hnp.arrays(np.int64, shape, elements=st.integers(-2, 2)))
        jit = draw(hnp.arrays(np.float64, shape, elements=floats(-0.2, 0.2)))
        return with_layout(ints + offset + jit, draw(layout))
    return grid(sx, 0.5), grid(sy, 0.0)
