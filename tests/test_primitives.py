"""Every traceable NumPy operation and every activation, checked against NumPy and finite differences.

The test factory
----------------
Each ``case(...)`` line below registers one operation, in the spirit of tinygrad's
``helper_test_op`` and MyGrad's per-op decorators: a name, the function to differentiate,
a hypothesis strategy for its arguments, and the registry entries it exercises (``covers``).
`test_case_matches_numpy_and_finite_differences` then draws arguments for every case and

* compares the value computed inside `gradient` with NumPy's,
* compares the gradient of every argument with central finite differences in float64
  (shape, dtype and Python-float-for-numbers included), and
* checks second derivatives (a nested `gradient`) with random projections, and
  `test_case_holds_at_third_order` third derivatives on one example per case.

`test_every_registered_operation_has_a_case` enumerates the registry (``UFUNCS``,
``FUNCTIONS``, ``DECOMPOSED_FUNCTIONS``, ``REDUCERS``, ``ACCUMULATORS``, ``MULTI_UFUNCS``) and the
activations, and fails when one has no case, so a primitive cannot be added without a test.
`test_cases_exercise_what_they_declare_and_every_pullback_runs` runs each case with spies on
the dispatch and on every `Primitive`'s forward and pullbacks, so a case cannot claim to
cover what it does not reach, and every pullback in the package is compared with finite
differences at least once.

The cases for each family of primitives sit in ``cases_*.py`` (elementwise, linalg, products,
reductions, shape) and here; the factory itself is `casefactory`. The example-based tests at
the end state the individual behaviours in words.
"""
import importlib
import math
import pkgutil

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fluxlite as fl
from fluxlite import activations
from fluxlite.autodiff import tracer
from fluxlite.primitives import shape as shape_ops
import cases_elementwise, cases_linalg, cases_products, cases_reductions, cases_shape  # noqa: F401  (they register their cases)
from casefactory import CASES, call, case, grid, one, pair
from gradcheck import check_gradient, check_grads
from strategies import (arrays, axes, broadcast_shapes, layout, one_axis,
                        scalars, separated, shapes, with_layout)

# Examples per case (each also checked to second order): a few in the quick profiles, many more
# with HYPOTHESIS_PROFILE=thorough (see conftest.py).
EXAMPLES = max(6, settings.default.max_examples // 8)


# --------------------------------------------------------------------------- arithmetic ufuncs

case("np.add", np.add, pair())
case("np.subtract", np.subtract, pair())
case("np.multiply", np.multiply, pair())
case("np.divide", np.divide, pair(avoid2=(0.0,), gap=0.3))
case("np.power", np.power, pair(0.3, 2.5, lo2=-2.0, hi2=2.5))
case("np.negative", np.negative, one())
case("np.positive", np.positive, one())
case("np.square", np.square, one())
case("np.reciprocal", np.reciprocal, one(avoid=(0.0,), gap=0.3))
case("np.exp", np.exp, one(-3.0, 3.0))
case("np.expm1", np.expm1, one(-3.0, 3.0))
case("np.exp2", np.exp2, one(-3.0, 3.0))
case("np.log", np.log, one(0.2, 4.0))
case("np.log1p", np.log1p, one(-0.7, 3.0))
case("np.log2", np.log2, one(0.2, 4.0))
case("np.log10", np.log10, one(0.2, 4.0))
case("np.sqrt", np.sqrt, one(0.2, 4.0))
case("np.cbrt", np.cbrt, one(avoid=(0.0,), gap=0.3))
case("np.logaddexp", np.logaddexp, pair(-3.0, 3.0))
case("np.sin", np.sin, one(-3.0, 3.0))
case("np.cos", np.cos, one(-3.0, 3.0))
case("np.tan", np.tan, one(-1.2, 1.2))
case("np.arcsin", np.arcsin, one(-0.85, 0.85))
case("np.arccos", np.arccos, one(-0.85, 0.85))
case("np.arctan", np.arctan, one(-3.0, 3.0))
case("np.arctan2 (x > 0)", np.arctan2, pair(lo2=0.3, hi2=2.0))
case("np.arctan2 (x < 0, y off the cut)", np.arctan2, pair(avoid=(0.0,), gap=0.3, lo2=-2.0, hi2=-0.3))
case("np.hypot", np.hypot, pair(avoid=(0.0,), gap=0.3))
case("np.sinh", np.sinh, one(-3.0, 3.0))
case("np.cosh", np.cosh, one(-3.0, 3.0))
case("np.tanh", np.tanh, one(-3.0, 3.0))
case("np.arcsinh", np.arcsinh, one(-3.0, 3.0))
case("np.arctanh", np.arctanh, one(-0.85, 0.85))
case("np.absolute", np.absolute, one(avoid=(0.0,)))
case("np.maximum", np.maximum, grid())
case("np.minimum", np.minimum, grid())
case("np.fmax", np.fmax, grid())
case("np.fmin", np.fmin, grid())


@st.composite
def nan_pair(draw):
    """Like `grid`, with some NaNs on either side (fmax/fmin skip them)."""
    (x, y), _ = draw(grid())
    x, y = np.array(x), np.array(y)
    for a in (x, y):
        a[draw(hnp.arrays(np.bool_, a.shape))] = np.nan
    return (x, y), {}


def _nan_to_0(r):
    return np.where(np.isnan(r), 0.0, r)


case("np.fmax with NaNs", lambda x, y: _nan_to_0(np.fmax(x, y)), nan_pair(), covers=[np.fmax])
case("np.fmin with NaNs", lambda x, y: _nan_to_0(np.fmin(x, y)), nan_pair(), covers=[np.fmin])

# --------------------------------------------------------------------------- operators
# All arithmetic and reflected operators, with a scalar on either side, and plain arrays on the
# left of traced ones (NumPy hands those to the traced operand).

case("x + y", lambda x, y: x + y, pair(), covers=[np.add])
case("x - y", lambda x, y: x - y, pair(), covers=[np.subtract])
case("x * y", lambda x, y: x * y, pair(), covers=[np.multiply])
case("x / y", lambda x, y: x / y, pair(avoid2=(0.0,), gap=0.3), covers=[np.divide])
case("x ** y", lambda x, y: x ** y, pair(0.3, 2.5, lo2=-2.0, hi2=2.5), covers=[np.power])
case("-x", lambda x: -x, one(), covers=[np.negative])
case("+x", lambda x: +x, one(), covers=[np.positive])
case("abs(x)", lambda x: abs(x), one(avoid=(0.0,)), covers=[np.absolute])
case("x + 2.5", lambda x: x + 2.5, one(), covers=[np.add])
case("2.5 + x", lambda x: 2.5 + x, one(), covers=[np.add])
case("x - 2.5", lambda x: x - 2.5, one(), covers=[np.subtract])
case("2.5 - x", lambda x: 2.5 - x, one(), covers=[np.subtract])
case("x * 2.5", lambda x: x * 2.5, one(), covers=[np.multiply])
case("2.5 * x", lambda x: 2.5 * x, one(), covers=[np.multiply])
case("x / 2.5", lambda x: x / 2.5, one(), covers=[np.divide])
case("2.5 / x", lambda x: 2.5 / x, one(avoid=(0.0,), gap=0.3), covers=[np.divide])
case("x ** 2", lambda x: x ** 2, one(), covers=[np.power])
case("x ** 3", lambda x: x ** 3, one(), covers=[np.power])
case("x ** 2.5", lambda x: x ** 2.5, one(0.2, 3.0), covers=[np.power])
case("x ** 0.5", lambda x: x ** 0.5, one(0.2, 3.0), covers=[np.power])
case("x ** -1", lambda x: x ** -1, one(avoid=(0.0,), gap=0.3), covers=[np.power])
case("x ** 1", lambda x: x ** 1, one(), covers=[np.power])
case("x ** 0", lambda x: x ** 0, one(), covers=[np.power])
case("2.5 ** x", lambda x: 2.5 ** x, one(), covers=[np.power])
case("x % 2.5", lambda x: x % 2.5, one(-4.0, 4.0, avoid=(-2.5, 0.0, 2.5)), covers=[np.remainder])
case("7.5 % y", lambda y: 7.5 % y, one(2.6, 3.6), covers=[np.remainder])
case("np.remainder", np.remainder, pair(-1.9, 1.9, avoid=(0.0,), gap=1.1, lo2=1.0, hi2=1.05, avoid2=()))
case("number * array: gradient is a float", lambda a, x: a * x,
     call(scalars(), arrays()), covers=[np.multiply])
case("number ** number", lambda a, b: a ** b, call(scalars(0.3, 2.0), scalars()), covers=[np.power])
case("plain array - x", lambda x, c: c - x, call(arrays(shape=(2, 3)), c=arrays(shape=(3,))),
     covers=[np.subtract])
case("plain array / x", lambda x, c: c / x,
     call(arrays(shape=(3,), avoid=(0.0,), gap=0.3), c=arrays(shape=(2, 3))), covers=[np.divide])
case("plain array ** x", lambda x, c: c ** x, call(arrays(shape=(3,)), c=arrays(shape=(3,), lo=0.3)),
     covers=[np.power])

# --------------------------------------------------------------------------- reductions


@st.composite
def reduce_args(draw, values=arrays, keepdims=True, allow_empty_axes=True, **value_kw):
    x = draw(values(**value_kw))
    kw = {"axis": draw(axes(x.ndim, allow_empty=allow_empty_axes))}
    if keepdims:
        kw["keepdims"] = draw(st.booleans())
    return (x,), kw


NONZERO = dict(lo=-1.5, hi=1.5, avoid=(0.0,), gap=0.5)  # prod: no zeros, moderate size
case("np.sum", np.sum, reduce_args())
case("np.mean", np.mean, reduce_args())
case("np.prod", np.prod, reduce_args(**NONZERO))
case("np.max", np.max, reduce_args(separated))
case("np.amax", np.amax, reduce_args(separated))
case("np.min", np.min, reduce_args(separated))
case("np.amin", np.amin, reduce_args(separated))
case("x.sum(axis, keepdims)", lambda x, **kw: x.sum(**kw), reduce_args(), covers=[np.sum])
case("x.mean(axis, keepdims)", lambda x, **kw: x.mean(**kw), reduce_args(), covers=[np.mean])
case("x.prod(axis, keepdims)", lambda x, **kw: x.prod(**kw), reduce_args(**NONZERO), covers=[np.prod])
case("x.max(axis, keepdims)", lambda x, **kw: x.max(**kw), reduce_args(separated), covers=[np.max])
case("x.min(axis, keepdims)", lambda x, **kw: x.min(**kw), reduce_args(separated), covers=[np.min])


@st.composite
def var_args(draw, min_count=1):
    (x,), kw = draw(reduce_args(separated, allow_empty_axes=False, min_dims=1))
    axis = kw["axis"]
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    assume(count >= min_count)
    if count > 1:
        kw["ddof"] = draw(st.sampled_from([0, 1]))
    return (x,), kw


case("np.var", np.var, var_args())
case("np.std", np.std, var_args())  # one element included: std is 0 there, and so its slope


@st.composite
def ufunc_reduce_args(draw, values=arrays, **value_kw):
    x = draw(values(min_dims=1, **value_kw))
    kw = draw(st.one_of(st.just({}), st.fixed_dictionaries(
        {"axis": axes(x.ndim, allow_empty=False), "keepdims": st.booleans()})))
    return (x,), kw


for _u, _vals, _vkw in [(np.add, arrays, {}), (np.multiply, arrays, NONZERO),
                        (np.maximum, separated, {}), (np.minimum, separated, {})]:
    case(f"np.{_u.__name__}.reduce (axis default 0, or given)",
         lambda x, _u=_u, **kw: _u.reduce(x, **kw), ufunc_reduce_args(_vals, **_vkw),
         covers=[("reduce", _u)])

# --------------------------------------------------------------------------- shapes


@st.composite
def reshape_args(draw):
    x = draw(arrays())
    s = x.shape
    new = draw(st.sampled_from([(x.size,), (-1,), tuple(reversed(s)), (1,) + s, s + (1,),
                                (x.size, 1), (1, -1)]))
    return (x,), {"shape": new, "order": draw(st.sampled_from(["C", "F"]))}


case("np.reshape", lambda x, shape, order: np.reshape(x, shape, order=order), reshape_args(),
     covers=[np.reshape])
case("x.reshape(shape)", lambda x, shape, order: x.reshape(shape, order=order), reshape_args(),
     covers=[np.reshape])
case("x.reshape(*shape)", lambda x, shape, order: x.reshape(*shape),
     reshape_args().filter(lambda a: a[1]["shape"] != ()), covers=[np.reshape])
case("np.ravel", lambda x, order: np.ravel(x, order=order),
     call(arrays(), order=st.sampled_from(["C", "F"])), covers=[np.ravel])
case("x.ravel()", lambda x: x.ravel(), one(), covers=[np.reshape])
case("x.flatten()", lambda x: x.flatten(), one(), covers=[np.reshape])


@st.composite
def permutation_args(draw, allow_none=True):
    x = draw(arrays())
    perm = draw(st.permutations(range(x.ndim)))
    neg = draw(st.lists(st.booleans(), min_size=x.ndim, max_size=x.ndim))
    perm = tuple(p - x.ndim if n else p for p, n in zip(perm, neg))
    if allow_none and draw(st.booleans()):
        perm = None
    return (x,), {"axes": perm}


case("np.transpose", lambda x, axes: np.transpose(x, axes), permutation_args(), covers=[np.transpose])
case("x.transpose(*axes)", lambda x, axes: x.transpose(*axes), permutation_args(False),
     covers=[np.transpose])
case("x.T", lambda x: x.T, one(), covers=[np.transpose])
case("x.mT", lambda x: x.mT, one(min_dims=2), covers=[np.swapaxes])
case("np.swapaxes", lambda x, a, b: np.swapaxes(x, a, b), arrays(min_dims=1).flatmap(
    lambda x: call(st.just(x), a=one_axis(x.ndim), b=one_axis(x.ndim))), covers=[np.swapaxes])
case("x.swapaxes", lambda x, a, b: x.swapaxes(a, b), arrays(min_dims=2).flatmap(
    lambda x: call(st.just(x), a=one_axis(x.ndim), b=one_axis(x.ndim))), covers=[np.swapaxes])


@st.composite
def moveaxis_args(draw):
    x = draw(arrays(min_dims=1))
    k = draw(st.integers(1, x.ndim))
    src = draw(st.permutations(range(x.ndim)))[:k]
    dst = draw(st.permutations(range(-x.ndim, 0)))[:k]
    if k == 1 and draw(st.booleans()):
        return (x,), {"source": src[0], "destination": dst[0]}
    return (x,), {"source": tuple(src), "destination": tuple(dst)}


case("np.moveaxis", lambda x, **kw: np.moveaxis(x, **kw), moveaxis_args(), covers=[np.moveaxis])


@st.composite
def squeeze_args(draw):
    x = draw(arrays(shape=draw(shapes(max_dims=4, max_side=2))))
    ones_ = [i for i, n in enumerate(x.shape) if n == 1]
    axis = draw(st.one_of(st.none(), st.lists(st.sampled_from(ones_), unique=True).map(tuple)
                          if ones_ else st.none()))
    if axis is not None and len(axis) == 1 and draw(st.booleans()):
        axis = axis[0] - x.ndim  # a single negative int
    return (x,), {"axis": axis}


case("np.squeeze", lambda x, axis: np.squeeze(x, axis=axis), squeeze_args(), covers=[np.squeeze])
case("x.squeeze()", lambda x: x.squeeze(), one(shape=(1, 3, 1)), covers=[np.squeeze])


@st.composite
def expand_dims_args(draw):
    x = draw(arrays())
    k = draw(st.integers(1, 2))
    new = x.ndim + k
    axis = tuple(draw(st.permutations(range(new)))[:k])
    axis = tuple(a - new if draw(st.booleans()) else a for a in axis)
    return (x,), {"axis": axis[0] if k == 1 else axis}


case("np.expand_dims", lambda x, axis: np.expand_dims(x, axis), expand_dims_args(),
     covers=[np.expand_dims])


@st.composite
def broadcast_to_args(draw):
    x = draw(arrays())
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    target = lead + tuple(draw(st.integers(1, 3)) if n == 1 else n for n in x.shape)
    return (x,), {"shape": target}


case("np.broadcast_to", lambda x, shape: np.broadcast_to(x, shape) * 1.0, broadcast_to_args(),
     covers=[np.broadcast_to])
case("np.copy", np.copy, one())
case("x.copy()", lambda x: x.copy(), one(), covers=[np.copy])
case("x.astype(float64)", lambda x: x.astype(np.float64), one(), covers=[])


@st.composite
def concat_args(draw, same_shape=False):
    base = draw(shapes(min_dims=1))
    axis = draw(one_axis(len(base)))
    n = draw(st.integers(1, 3))
    xs = []
    for _ in range(n):
        s = list(base)
        if not same_shape:
            s[axis] = draw(st.integers(1, 3))
        xs.append(draw(arrays(tuple(s))))
    return tuple(xs), {"axis": axis}


case("np.concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), concat_args(),
     covers=[np.concatenate])
case("np.concatenate(axis=None)", lambda *xs: np.concatenate(xs, axis=None),
     st.lists(arrays(), min_size=1, max_size=3).map(lambda xs: (tuple(xs), {})),
     covers=[np.concatenate])


@st.composite
def stack_args(draw):
    s = draw(shapes())
    xs = tuple(draw(arrays(s)) for _ in range(draw(st.integers(1, 3))))
    return xs, {"axis": draw(st.integers(-len(s) - 1, len(s)))}


case("np.stack", lambda *xs, axis: np.stack(xs, axis=axis), stack_args(), covers=[np.stack])
case("np.hstack", lambda *xs: np.hstack(xs), concat_args(same_shape=True).map(lambda a: (a[0], {})),
     covers=[np.hstack])
case("np.vstack", lambda *xs: np.vstack(xs), concat_args(same_shape=True).map(lambda a: (a[0], {})),
     covers=[np.vstack])
case("np.column_stack (matrices)", lambda *xs: np.column_stack(xs),
     st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
         lambda t: st.lists(arrays((t[0], t[1])), min_size=1, max_size=3)).map(
         lambda xs: (tuple(xs), {})), covers=[np.column_stack])
case("np.column_stack (vectors)", lambda *xs: np.column_stack(xs),
     st.integers(1, 3).flatmap(lambda n: st.lists(arrays((n,)), min_size=1, max_size=3)).map(
         lambda xs: (tuple(xs), {})), covers=[np.column_stack])
case("np.column_stack (numbers, vectors and matrices)", lambda *xs: np.column_stack(xs),
     st.tuples(arrays(shape=()), arrays(shape=(1,)), arrays(shape=(1, 2))).map(lambda xs: (xs, {})),
     covers=[np.column_stack])
case("np.atleast_1d", np.atleast_1d, one(max_dims=2))
case("np.atleast_2d", np.atleast_2d, one(max_dims=3))
case("np.atleast_3d", np.atleast_3d, one(max_dims=3))
case("np.append", lambda x, y: np.append(x, y), call(arrays(), arrays()), covers=[np.append])
case("np.append(axis=...)", lambda x, y, axis: np.append(x, y, axis=axis),
     concat_args().filter(lambda a: len(a[0]) == 2), covers=[np.append])


@st.composite
def split_args(draw, fn):
    x = draw(arrays(min_dims=1))
    axis = draw(one_axis(x.ndim))
    n = x.shape[axis]
    if fn is np.split:
        where = sorted(draw(st.lists(st.integers(0, n), max_size=2)))
    else:
        where = draw(st.integers(1, n + 1))
    return (x,), {"where": where, "axis": axis}


def _weighted_pieces(split):
    def f(x, where, axis):
        pieces = split(x, where, axis=axis)
        return np.concatenate([p * (i + 1) for i, p in enumerate(pieces)], axis=axis)
    return f


case("np.split (indices)", _weighted_pieces(np.split), split_args(np.split), covers=[np.split])
case("np.array_split (sections)", _weighted_pieces(np.array_split), split_args(np.array_split),
     covers=[np.array_split])


@st.composite
def flip_args(draw):
    x = draw(arrays())
    return (x,), {"axis": draw(axes(x.ndim, allow_empty=False))}


case("np.flip", lambda x, axis: np.flip(x, axis=axis), flip_args(), covers=[np.flip])
case("np.fliplr", np.fliplr, one(min_dims=2))
case("np.flipud", np.flipud, one(min_dims=1))


@st.composite
def diff_args(draw):
    x = draw(arrays(min_dims=1))
    axis = draw(one_axis(x.ndim))
    return (x,), {"n": draw(st.integers(1, 2)), "axis": axis}


case("np.diff", lambda x, n, axis: np.diff(x, n=n, axis=axis), diff_args(), covers=[np.diff])


@st.composite
def roll_args(draw):
    x = draw(arrays(min_dims=1))
    if draw(st.booleans()):
        return (x,), {"shift": draw(st.integers(-4, 4)), "axis": None}
    ax = draw(axes(x.ndim, allow_none=False, allow_empty=False))
    shift = (draw(st.integers(-4, 4)) if isinstance(ax, int)
             else tuple(draw(st.integers(-4, 4)) for _ in ax))
    return (x,), {"shift": shift, "axis": ax}


case("np.roll", lambda x, shift, axis: np.roll(x, shift, axis=axis), roll_args(), covers=[np.roll])

# --------------------------------------------------------------------------- indexing


@st.composite
def basic_index_args(draw):
    x = draw(arrays())
    return (x,), {"idx": draw(hnp.basic_indices(x.shape, allow_newaxis=True))}


@st.composite
def fancy_index_args(draw):
    x = draw(arrays(min_dims=1))
    idx = draw(hnp.integer_array_indices(x.shape, result_shape=shapes(min_dims=1, max_dims=2,
                                                                          max_side=4)))
    return (x,), {"idx": idx}


@st.composite
def mask_args(draw):
    x = draw(arrays(min_dims=1))
    return (x,), {"idx": draw(hnp.arrays(np.bool_, x.shape))}


@st.composite
def mixed_index_args(draw):
    x = draw(arrays(min_dims=2))
    kind = draw(st.sampled_from(["list", "mask+slice", "ints+slice", "slice+ints"]))
    n0, n1 = x.shape[0], x.shape[1]
    if kind == "list":  # a Python list of (repeated, negative) ints
        idx = draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=5))
    elif kind == "mask+slice":
        idx = (draw(hnp.arrays(np.bool_, (n0,))), slice(None, None, -1))
    elif kind == "ints+slice":
        idx = (np.array(draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=4))),
               slice(1, None))
    else:
        idx = (Ellipsis, np.array(draw(st.lists(st.integers(0, x.shape[-1] - 1), min_size=1,
                                                max_size=4))))
    return (x,), {"idx": idx}


case("x[basic index]", lambda x, idx: x[idx], basic_index_args(), covers=["getitem"])
case("x[integer arrays] (repeats accumulate)", lambda x, idx: x[idx], fancy_index_args(),
     covers=["getitem"])
case("x[boolean mask]", lambda x, idx: x[idx], mask_args(), covers=["getitem"])


@st.composite
def take_args(draw):
    x = draw(arrays(min_dims=1))
    axis = draw(st.none() | st.integers(0, x.ndim - 1))
    n = x.size if axis is None else x.shape[axis]
    idx = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))
    return (x,), {"idx": idx, "axis": axis}


case("np.take (repeats accumulate)", lambda x, idx, axis: np.take(x, idx, axis=axis), take_args(),
     covers=[np.take])
case("x[integer arrays] ** 2 (nested: the scatter's own pullback)", lambda x, idx: x[idx] ** 2,
     fancy_index_args(), covers=["getitem"])
case("x[basic index] ** 2 (nested: the scatter's own pullback)", lambda x, idx: x[idx] ** 2,
     basic_index_args(), covers=["getitem"])
case("x[list / mask, slice / ..., ints]", lambda x, idx: x[idx], mixed_index_args(),
     covers=["getitem"])

# --------------------------------------------------------------------------- selection


@st.composite
def where_args(draw, scalar_y=False):
    sc, sx, sy = draw(broadcast_shapes(num_shapes=3))
    cond = draw(hnp.arrays(np.bool_, sc))
    if scalar_y:
        return (draw(arrays(sx)), draw(scalars())), {"cond": cond}
    return (draw(arrays(sx)), draw(arrays(sy))), {"cond": cond}


case("np.where(cond, x, y)", lambda x, y, cond: np.where(cond, x, y), where_args(), covers=[np.where])
case("np.where(cond, x, number)", lambda x, y, cond: np.where(cond, x, y), where_args(True),
     covers=[np.where])
case("np.clip(x, lo, hi)", lambda x: np.clip(x, -0.5, 0.7), one(avoid=(-0.5, 0.7)), covers=[np.clip])
case("np.clip(x, None, hi)", lambda x: np.clip(x, None, 0.7), one(avoid=(0.7,)), covers=[np.clip])
case("np.clip(x, min=lo)", lambda x: np.clip(x, min=-0.5), one(avoid=(-0.5,)), covers=[np.clip])
case("x.clip(lo, hi)", lambda x: x.clip(-0.5, 0.7), one(avoid=(-0.5, 0.7)), covers=[np.clip])


@st.composite
def clip_bounds_args(draw):
    sa, sl, sh = draw(broadcast_shapes(num_shapes=3))
    a = draw(hnp.arrays(np.float64, sa, elements=st.sampled_from([-2.0, -0.2, 0.2, 2.0])))
    a = a + draw(arrays(sa, -0.1, 0.1, noncontiguous=False))
    return (with_layout(a, draw(layout)), draw(arrays(sl, -1.3, -0.7)), draw(arrays(sh, 0.7, 1.3))), {}


case("np.clip(x, lo_array, hi_array): bounds get gradients", np.clip, clip_bounds_args(),
     covers=[np.clip])

# --------------------------------------------------------------------------- activations
# References are NNlib's definitions, written naively (safe on these ranges).


def _nn_sigmoid(x):
    return 1 / (1 + np.exp(-x))


SELU_L, SELU_A = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
NNLIB = {
    "σ": (fl.σ, _nn_sigmoid, one(-6.0, 6.0)),
    "relu": (fl.relu, lambda x: np.where(x > 0, x, 0.0), one(avoid=(0.0,))),
    "leakyrelu": (fl.leakyrelu, lambda x: np.where(x > 0, x, 0.01 * x), one(avoid=(0.0,))),
    "elu": (fl.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), one(avoid=(0.0,))),
    "celu": (fl.celu, lambda x: np.where(x >= 0, x, np.exp(x) - 1), one(avoid=(0.0,))),
    "selu": (fl.selu, lambda x: SELU_L * np.where(x > 0, x, SELU_A * (np.exp(x) - 1)),
             one(avoid=(0.0,))),
    "gelu": (fl.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
             one(-4.0, 4.0)),
    "swish": (fl.swish, lambda x: x * _nn_sigmoid(x), one(-5.0, 5.0)),
    "softplus": (fl.softplus, lambda x: np.log(1 + np.exp(x)), one(-5.0, 5.0)),
    "logσ": (fl.logσ, lambda x: np.log(_nn_sigmoid(x)), one(-5.0, 5.0)),
    "tanh": (fl.tanh, np.tanh, one(-3.0, 3.0)),
    "relu6": (fl.relu6, lambda x: np.minimum(np.maximum(x, 0.0), 6.0), one(-2.0, 8.0, avoid=(0.0, 6.0))),
    "hardtanh": (fl.hardtanh, lambda x: np.maximum(-1.0, np.minimum(1.0, x)),
                 one(-3.0, 3.0, avoid=(-1.0, 1.0))),
    "hardσ": (fl.hardsigmoid, lambda x: np.maximum(0.0, np.minimum(1.0, (x + 3) / 6)),
              one(-5.0, 5.0, avoid=(-3.0, 3.0))),
    "softsign": (fl.softsign, lambda x: x / (1 + np.abs(x)), one(avoid=(0.0,))),
}
for _name, (_fn, _ref, _args) in NNLIB.items():
    case(f"fl.{_name}", _fn, _args, ref=_ref)
case("fl.leakyrelu(x, 0.2)", lambda x: fl.leakyrelu(x, 0.2), one(avoid=(0.0,)),
     ref=lambda x: np.where(x > 0, x, 0.2 * x), covers=[fl.leakyrelu])
case("fl.elu(x, 0.5)", lambda x: fl.elu(x, 0.5), one(avoid=(0.0,)),
     ref=lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), covers=[fl.elu])
case("fl.celu(x, 2.0)", lambda x: fl.celu(x, 2.0), one(avoid=(0.0,)),
     ref=lambda x: np.where(x >= 0, x, 2.0 * (np.exp(x / 2.0) - 1)), covers=[fl.celu])


def _nn_softmax(x, axis=0):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


@st.composite
def softmax_args(draw):
    x = draw(arrays(min_dims=1, lo=-4.0, hi=4.0))
    if draw(st.booleans()):
        return (x,), {}  # Flux's default: along axis 0, the feature axis
    return (x,), {"axis": draw(one_axis(x.ndim))}


case("fl.softmax", lambda x, **kw: fl.softmax(x, **kw), softmax_args(), ref=_nn_softmax,
     covers=[fl.softmax])
case("fl.logsoftmax", lambda x, **kw: fl.logsoftmax(x, **kw), softmax_args(),
     ref=lambda x, **kw: np.log(_nn_softmax(x, **kw)), covers=[fl.logsoftmax])


# --------------------------------------------------------------------------- the factory's tests


def _params(cases):
    out = []
    for c in cases:
        marks = [pytest.mark.xfail(strict=True, reason=c.bug)] if c.bug else []
        if c.rare_bug:
            marks.append(pytest.mark.xfail(strict=False, reason=c.rare_bug))
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


@pytest.mark.parametrize("c", _params(CASES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_case_matches_numpy_and_finite_differences(c, data):
    args, kwargs = data.draw(c.args, label="arguments")
    check_gradient(c.fn, *args, kwargs=kwargs, ref=c.ref)
    if c.order >= 2:
        check_grads(c.fn, *args, kwargs=kwargs, order=c.order)


def _key_name(key):
    if isinstance(key, tuple):
        return f"numpy.{key[1].__name__}.{key[0]}"
    if isinstance(key, str):
        return key
    mod = getattr(key, "__module__", None) or "numpy"
    return f"{mod}.{getattr(key, '__name__', key)}"


def registry_keys():
    """Everything fluxlite claims to differentiate: registry entries and public activations."""
    keys = set(tracer.UFUNCS) | set(tracer.FUNCTIONS) | set(tracer.DECOMPOSED_FUNCTIONS)
    keys |= {("reduce", u) for u in tracer.REDUCERS}
    keys |= {("accumulate", u) for u in tracer.ACCUMULATORS}
    keys |= set(tracer.MULTI_UFUNCS)
    keys |= {getattr(activations, name) for name in activations.__all__}
    return keys


def test_every_registered_operation_has_a_case():
    declared = {k for c in CASES for k in c.covers}
    missing = sorted(_key_name(k) for k in registry_keys() - declared)
    assert not missing, (
        "these registered operations have no gradcheck case in tests/test_primitives.py; "
        "add one `case(...)` line for each: " + ", ".join(missing))


def test_the_registry_check_notices_a_new_primitive(monkeypatch):
    def running_total(x):
        return np.add.accumulate(x)

    new = fl.autodiff.primitive(running_total, "running_total").defvjp(lambda g, ans, x: g)
    monkeypatch.setitem(tracer.FUNCTIONS, running_total, new)
    with pytest.raises(AssertionError, match="running_total"):
        test_every_registered_operation_has_a_case()


def _all_primitives():
    """Every Primitive object fluxlite defines, and the variadic ones (concatenate, einsum...)."""
    modules = [tracer, activations] + [importlib.import_module(f"fluxlite.primitives.{m.name}")
                                       for m in pkgutil.iter_modules(fl.primitives.__path__)]
    prims, variadics = {}, {}
    for p in tracer.UFUNCS.values():
        prims[id(p)] = p
    for m in modules:
        for name, v in vars(m).items():
            if isinstance(v, tracer.Primitive):
                prims[id(v)] = v
            elif isinstance(v, shape_ops._Variadic):
                variadics[id(v)] = v
    return list(prims.values()), list(variadics.values())


def _run_once(c, order=2):
    """One derandomized example of case `c`, checked to second order (no shrinking)."""
    @settings(max_examples=1, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        args, kwargs = data.draw(c.args)
        check_gradient(c.fn, *args, kwargs=kwargs, ref=c.ref)
        check_grads(c.fn, *args, kwargs=kwargs, order=max(c.order, order))
    run()


@pytest.mark.parametrize("c", _params(CASES))
def test_case_holds_at_third_order(c):
    """Nested gradients go deeper than the second order the hypothesis test checks: a pullback
    whose forward pass writes into a plain array (``out[idx] = g``) would silently drop an outer
    tape only from the third order on. One example per case, to third order."""
    _run_once(c, order=3)


def test_cases_exercise_what_they_declare_and_every_pullback_runs(monkeypatch):
    hits = set()

    def spy(fn, tag):
        def spied(*a, **k):
            hits.add(tag)
            return fn(*a, **k)
        return spied

    prims, variadics = _all_primitives()
    for p in prims:
        monkeypatch.setattr(p, "fwd", spy(p.fwd, ("fwd", id(p))))
        monkeypatch.setattr(p, "vjps", tuple(
            None if v is None else spy(v, ("vjp", id(p), k)) for k, v in enumerate(p.vjps)))
    for v in variadics:
        monkeypatch.setattr(v, "prims", {})
        monkeypatch.setattr(v, "fwd", spy(v.fwd, ("fwd", id(v))))
        monkeypatch.setattr(v, "vjp_for", lambda k, _v=v, _orig=v.vjp_for: spy(
            _orig(k), ("vjp", id(_v), "any")))
    ufunc_hook, function_hook = tracer.Tracked.__array_ufunc__, tracer.Tracked.__array_function__

    def on_ufunc(self, ufunc, method, *inputs, **kwargs):
        hits.add((method, ufunc))
        return ufunc_hook(self, ufunc, method, *inputs, **kwargs)

    def on_function(self, func, types, args, kwargs):
        hits.add(func)
        return function_hook(self, func, types, args, kwargs)

    monkeypatch.setattr(tracer.Tracked, "__array_ufunc__", on_ufunc)
    monkeypatch.setattr(tracer.Tracked, "__array_function__", on_function)

    def reached(key):
        if key in tracer.UFUNCS:
            return ("fwd", id(tracer.UFUNCS[key])) in hits
        if key in tracer.MULTI_UFUNCS:
            return ("__call__", key) in hits
        if key == "getitem":
            return ("fwd", id(tracer.FUNCTIONS["getitem"])) in hits
        if isinstance(key, tuple) or key in tracer.FUNCTIONS or key in tracer.DECOMPOSED_FUNCTIONS:
            return key in hits
        return True  # an activation function: the case calls it directly

    unreached = []
    for c in CASES:
        hits_before = set(hits)
        hits.clear()

        try:
            _run_once(c)
        except Exception:
            if not (c.bug or c.rare_bug):
                raise
        unreached += [f"{c.name}: {_key_name(k)}" for k in c.covers if not reached(k)]
        hits |= hits_before
    assert not unreached, "cases that do not reach what they declare: " + "; ".join(unreached)
    names = {id(p): p.name for p in prims} | {id(v): v.name for v in variadics}
    never = []
    for p in prims:
        if ("fwd", id(p)) not in hits:
            never.append(f"{p.name} (forward)")
        never += [f"{p.name} (pullback for argument {k})" for k, v in enumerate(p.vjps)
                  if v is not None and ("vjp", id(p), k) not in hits]
    for v in variadics:
        never += [f"{names[id(v)]} ({what})" for what, tag in
                  [("forward", ("fwd", id(v))), ("pullbacks", ("vjp", id(v), "any"))]
                  if tag not in hits]
    assert not never, "never compared with finite differences: " + ", ".join(sorted(never))


# --------------------------------------------------------------------------- in words


def test_broadcast_gradients_are_summed_back_to_each_input_shape():
    x, y = np.ones((3, 1)), np.arange(4.0)
    gx, gy = fl.gradient(lambda x, y: np.sum(x * y), x, y)
    assert gx.shape == (3, 1) and gy.shape == (4,)
    np.testing.assert_array_equal(gx, np.full((3, 1), y.sum()))  # each x[i] met every y[j]
    np.testing.assert_array_equal(gy, np.full(4, 3.0))           # each y[j] met three x[i]


def test_a_bias_column_collects_the_gradient_of_every_sample():
    W, b, X = fl.ones(2, 5), fl.zeros(2, 1), np.ones((5, 10))
    grads = fl.gradient(lambda: np.sum(W @ X + b), fl.params(W, b))
    np.testing.assert_array_equal(grads[b], [[10.0], [10.0]])
    np.testing.assert_array_equal(grads[W], np.full((2, 5), 10.0))


def test_batched_matmul_gradients_are_reduced_over_broadcast_batch_axes():
    a, b = np.ones((2, 1, 3, 4)), np.ones((5, 4, 2))
    ga, gb = fl.gradient(lambda a, b: np.sum(a @ b), a, b)
    assert ga.shape == a.shape and gb.shape == b.shape
    np.testing.assert_array_equal(ga, np.full(a.shape, 5 * 2.0))   # 5 batches, 2 columns
    np.testing.assert_array_equal(gb, np.full(b.shape, 2 * 3.0))   # 2 batches, 3 rows


def test_repeated_fancy_indices_accumulate():
    g, = fl.gradient(lambda x: np.sum(x[[0, 0, 2, 0]]), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])


def test_a_boolean_mask_passes_gradient_only_to_the_selected_elements():
    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    g, = fl.gradient(lambda x: np.sum(x[x > 0] * 10), x)
    np.testing.assert_array_equal(g, [[10.0, 0.0], [0.0, 10.0]])


def test_slices_scatter_the_gradient_back_into_zeros():
    g, = fl.gradient(lambda x: np.sum(x[1:, ::2]), np.ones((3, 4)))
    np.testing.assert_array_equal(g, [[0, 0, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]])


def test_reductions_take_tuple_and_negative_axes_and_keepdims():
    x = np.arange(24.0).reshape(2, 3, 4)
    m = np.max(x, axis=(0, -1), keepdims=True)
    val, (g,) = fl.withgradient(lambda x: np.sum(np.max(x, axis=(0, -1), keepdims=True) * [[[1.0], [2.0], [3.0]]]), x)
    assert val == float(np.sum(m * [[[1.0], [2.0], [3.0]]]))
    want = np.zeros_like(x)
    want[1, :, 3] = [1.0, 2.0, 3.0]  # the winners: last element of the second block, per row
    np.testing.assert_array_equal(g, want)


def test_max_and_min_split_the_gradient_between_tied_winners():
    g, = fl.gradient(lambda x: np.max(x), np.array([1.0, 3.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5])
    g, = fl.gradient(lambda x: np.min(x), np.array([1.0, 1.0, 3.0]))
    np.testing.assert_array_equal(g, [0.5, 0.5, 0.0])


def test_prod_gradient_is_right_with_zeros():
    g, = fl.gradient(np.prod, np.array([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 6.0, 0.0])
    g, = fl.gradient(np.prod, np.array([2.0, 0.0, 0.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_norm_and_abs_at_zero_give_zero_not_nan():
    g, = fl.gradient(np.linalg.norm, np.zeros(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    g, = fl.gradient(lambda x: np.sum(np.abs(x)), np.zeros(2))
    np.testing.assert_array_equal(g, np.zeros(2))


def test_comparisons_argmax_and_integer_casts_work_and_carry_no_gradient():
    x = np.array([0.5, -1.0, 2.0])
    seen = {}

    def f(x):
        seen["mask"], seen["argmax"], seen["ints"] = x > 0, np.argmax(x), x.astype(int)
        seen["floor"] = x // 1
        return np.sum(x * (x > 0)) + x[np.argmax(x)]

    g, = fl.gradient(f, x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 2.0])
    assert type(seen["mask"]) is np.ndarray and seen["mask"].dtype == bool
    assert int(seen["argmax"]) == 2
    assert type(seen["ints"]) is np.ndarray and seen["ints"].dtype.kind == "i"
    np.testing.assert_array_equal(seen["floor"], [0.0, -1.0, 2.0])
    # a result built only from comparisons, indices and integer casts has no gradient at all,
    # and gradient says so rather than training on silently
    for f in [lambda x: float(np.argmax(x)), lambda x: np.sum(x.astype(int)) * 1.0,
              lambda x: np.sum(x > 0) + 0.0]:
        with pytest.warns(fl.NoGradientWarning, match="does not depend on anything"):
            assert fl.gradient(f, x) == (None,)


def test_float_casts_keep_the_gradient_in_the_arguments_precision():
    x = np.array([1.0, 2.0])
    g, = fl.gradient(lambda x: np.sum(x.astype(np.float32) * 3), x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [3.0, 3.0])
    g32, = fl.gradient(lambda x: np.sum(x * 3), x.astype(np.float32))
    assert g32.dtype == np.float32


@pytest.mark.parametrize("method", [
    lambda x: x.sum(), lambda x: x.mean(axis=0), lambda x: x.T @ np.arange(2.0),
    lambda x: x.reshape(3, 2), lambda x: x.reshape((6,)), lambda x: x[..., 1], lambda x: x[1],
    lambda x: x[:, [2, 2, 0]], lambda x: x.max(axis=-1), lambda x: x.prod(),
], ids=["x.sum()", "x.mean(axis=0)", "x.T", "x.reshape(3, 2)", "x.reshape((6,))", "x[..., 1]",
        "x[1]", "x[:, [2, 2, 0]]", "x.max(axis=-1)", "x.prod()"])
def test_array_methods_are_traced(method):
    check_gradient(method, np.array([[0.5, 1.5, -1.0], [2.0, -0.7, 1.2]]))


# --------------------------------------------------------------------------- bugs found


def test_gradient_of_x_to_the_power_0_at_0_is_0_not_nan():
    g, = fl.gradient(lambda x: np.sum(x ** 0), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0])


def test_higher_derivatives_of_integer_powers_at_0_are_finite():
    d2 = fl.gradient(lambda x: fl.gradient(lambda y: y ** 1, x)[0], 0.0)
    assert d2 == (0.0,) or d2 == (None,)
    d3 = fl.gradient(lambda x: fl.gradient(lambda y: fl.gradient(lambda z: z ** 2, y)[0], x)[0], 0.0)
    assert d3 == (0.0,) or d3 == (None,)
    assert fl.gradient(lambda x: fl.gradient(lambda y: y ** 3, x)[0], 0.0) == (0.0,)


def test_nested_gradient_through_sigmoid_is_right_at_0():
    # d²/dx² x·σ(x) = 2σ'(x) + x·σ''(x), which is 1/2 at 0
    d2 = fl.gradient(lambda x: fl.gradient(lambda y: y * fl.σ(y), x)[0], 0.0)
    assert d2 == (pytest.approx(0.5),)
    d2 = fl.gradient(lambda x: fl.gradient(lambda y: fl.swish(y), x)[0], 0.0)
    assert d2 == (pytest.approx(0.5),)


def test_ufunc_reduce_uses_numpys_default_axis_0():
    x = np.arange(6.0).reshape(2, 3)
    val, (g,) = fl.withgradient(lambda x: np.sum(np.add.reduce(x) * [1.0, 2.0, 3.0]), x)
    assert val == float(np.sum(np.add.reduce(x) * [1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    val, (g,) = fl.withgradient(lambda x: np.sum(np.maximum.reduce(x)), x)
    assert val == 12.0
    np.testing.assert_array_equal(g, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert fl.gradient(lambda x: np.maximum.reduce(x), np.array(2.0)) == (np.array(1.0),)


def test_roll_passes_the_gradient_back_to_where_each_value_came_from():
    g, = fl.gradient(lambda x: np.sum(np.roll(x, 1) * [1.0, 2.0, 3.0]), np.zeros(3))
    np.testing.assert_array_equal(g, [2.0, 3.0, 1.0])
    w = np.arange(6.0).reshape(2, 3)
    g, = fl.gradient(lambda x: np.sum(np.roll(x, (1, -1), axis=(0, 1)) * w), np.zeros((2, 3)))
    np.testing.assert_array_equal(g, np.roll(w, (-1, 1), axis=(0, 1)))


def test_vector_norms_of_every_order_have_gradients():
    x = np.array([3.0, -4.0])
    assert fl.gradient(lambda x: np.linalg.norm(x, ord=1), x)[0].tolist() == [1.0, -1.0]
    assert fl.gradient(lambda x: np.linalg.norm(x, ord=np.inf), x)[0].tolist() == [0.0, -1.0]
    g, = fl.gradient(lambda x: np.linalg.norm(x, ord=3), x)
    np.testing.assert_allclose(g, np.sign(x) * np.abs(x) ** 2 / np.sum(np.abs(x) ** 3) ** (2 / 3))
    with pytest.warns(fl.NoGradientWarning):  # ord=0 counts the non-zeros: a constant
        assert fl.withgradient(lambda x: np.linalg.norm(x, ord=0), x) == (2.0, (None,))


def test_matrix_norms_of_every_order_have_gradients():
    M = np.array([[1.0, -2.0], [3.0, 4.0]])
    g, = fl.gradient(lambda M: np.linalg.norm(M, ord=1), M)  # the largest column sum: column 1
    np.testing.assert_array_equal(g, [[0.0, -1.0], [0.0, 1.0]])
    g, = fl.gradient(lambda M: np.linalg.norm(M, ord=np.inf), M)  # the largest row sum: row 1
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 1.0]])
    U, s, Vt = np.linalg.svd(M)  # the orders over singular values: ∂σ_k/∂M = u_k v_kᵀ
    for ord, want in [(2, np.outer(U[:, 0], Vt[0])), (-2, np.outer(U[:, -1], Vt[-1])),
                      ("nuc", U @ Vt)]:
        g, = fl.gradient(lambda M: np.linalg.norm(M, ord=ord), M)
        np.testing.assert_allclose(g, want, atol=1e-12)
    with pytest.raises(ValueError, match="for vectors"):
        fl.gradient(lambda x: np.linalg.norm(x, ord="fro"), np.ones(2))


def test_tensordot_and_inner_of_arrays_have_gradients():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    ga, gb = fl.gradient(lambda a, b: np.sum(np.tensordot(a, b, axes=1)), a, b)
    np.testing.assert_array_equal(ga, np.tile(b.sum(axis=1), (2, 1)))
    np.testing.assert_array_equal(gb, np.tile(a.sum(axis=0)[:, None], (1, 4)))
    ga, = fl.gradient(lambda a: np.sum(np.inner(a, b.T)), a)
    np.testing.assert_array_equal(ga, np.tile(b.sum(axis=1), (2, 1)))


def test_einsum_sums_broadcast_batch_axes_back():
    a, b = np.ones((2, 1, 3, 4)), np.ones((5, 4, 6))
    ga, gb = fl.gradient(lambda a, b: np.sum(np.einsum("...ij,...jk->...ik", a, b)), a, b)
    assert ga.shape == a.shape and gb.shape == b.shape
    np.testing.assert_array_equal(ga, np.full(a.shape, 5 * 6.0))
    np.testing.assert_array_equal(gb, np.full(b.shape, 2 * 3.0))


def test_fmax_and_fmin_ignore_nan_like_numpy():
    x, y = np.array([1.0, np.nan, 3.0]), np.array([np.nan, 2.0, 1.0])
    val, (gx, gy) = fl.withgradient(lambda x, y: np.sum(np.fmax(x, y)), x, y)
    assert val == float(np.sum(np.fmax(x, y))) == 6.0
    np.testing.assert_array_equal(gx, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 1.0, 0.0])
    val, (gx, gy) = fl.withgradient(lambda x, y: np.sum(np.fmin(x, y)), x, y)
    assert val == float(np.sum(np.fmin(x, y))) == 4.0
    np.testing.assert_array_equal(gx, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 1.0, 1.0])


def test_the_remainder_operator_is_traced():
    g, = fl.gradient(lambda x: np.sum(x % 2.5), np.array([1.0, 3.0, -1.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])
    gy, = fl.gradient(lambda y: np.sum(np.array([7.0, -7.0]) % y), 2.5)
    assert gy == pytest.approx(-(np.floor(7 / 2.5) + np.floor(-7 / 2.5)))


# --------------------------------------------------------------------------- activations, in words

E = math.e
KNOWN_VALUES = [
    (fl.σ, 0.0, 0.5), (fl.σ, 1.0, 1 / (1 + 1 / E)), (fl.sigmoid, -1.0, 1 / (1 + E)),
    (fl.relu, -1.0, 0.0), (fl.relu, 2.0, 2.0), (fl.leakyrelu, -1.0, -0.01), (fl.leakyrelu, 3.0, 3.0),
    (fl.elu, -1.0, 1 / E - 1), (fl.elu, 2.0, 2.0), (fl.celu, -1.0, 1 / E - 1),
    (fl.selu, 1.0, SELU_L), (fl.selu, -1.0, SELU_L * SELU_A * (1 / E - 1)),
    (fl.gelu, 1.0, 0.8411919906082768), (fl.gelu, -1.0, -0.15880800939172324), (fl.gelu, 0.0, 0.0),
    (fl.swish, 1.0, 1 / (1 + 1 / E)), (fl.softplus, 0.0, math.log(2)), (fl.softplus, 1.0, math.log(1 + E)),
    (fl.logσ, 0.0, -math.log(2)), (fl.logsigmoid, 1.0, -math.log(1 + 1 / E)), (fl.tanh, 0.5, math.tanh(0.5)),
    (fl.relu6, 7.0, 6.0), (fl.relu6, 3.0, 3.0), (fl.hardtanh, -2.0, -1.0), (fl.hardtanh, 0.5, 0.5),
    (fl.hardsigmoid, 0.0, 0.5), (fl.hardsigmoid, 4.0, 1.0), (fl.softsign, 1.0, 0.5),
]


@pytest.mark.parametrize("f, x, want", KNOWN_VALUES,
                         ids=[f"{f.__name__}({x})" for f, x, _ in KNOWN_VALUES])
def test_activation_values_at_known_points(f, x, want):
    assert float(f(np.array([x]))[0]) == pytest.approx(want, rel=1e-12, abs=1e-15)


# (function, value at -1000, value at +1000, slope at -1000, slope at +1000)
AT_1000 = [
    (fl.σ, 0.0, 1.0, 0.0, 0.0), (fl.relu, 0.0, 1000.0, 0.0, 1.0),
    (fl.leakyrelu, -10.0, 1000.0, 0.01, 1.0), (fl.elu, -1.0, 1000.0, 0.0, 1.0),
    (fl.celu, -1.0, 1000.0, 0.0, 1.0), (fl.selu, -SELU_L * SELU_A, SELU_L * 1000, 0.0, SELU_L),
    (fl.gelu, 0.0, 1000.0, 0.0, 1.0), (fl.swish, 0.0, 1000.0, 0.0, 1.0),
    (fl.softplus, 0.0, 1000.0, 0.0, 1.0), (fl.logσ, -1000.0, 0.0, 1.0, 0.0),
    (fl.tanh, -1.0, 1.0, 0.0, 0.0), (fl.relu6, 0.0, 6.0, 0.0, 0.0), (fl.hardtanh, -1.0, 1.0, 0.0, 0.0),
    (fl.hardsigmoid, 0.0, 1.0, 0.0, 0.0), (fl.softsign, -1000 / 1001, 1000 / 1001, 1 / 1001 ** 2, 1 / 1001 ** 2),
]


@pytest.mark.parametrize("f, lo, hi, dlo, dhi", AT_1000, ids=[a[0].__name__ for a in AT_1000])
def test_activations_are_stable_at_plus_and_minus_1000(f, lo, hi, dlo, dhi):
    x = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = f(x)
        g, = fl.gradient(lambda x: np.sum(f(x)), x)
    np.testing.assert_allclose(y, [lo, hi], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(g, [dlo, dhi], rtol=1e-12, atol=1e-300)


def test_softmax_and_logsoftmax_are_stable_at_plus_and_minus_1000():
    x = np.array([[1000.0, 0.0], [0.0, 0.0], [-1000.0, 1000.0]])
    w = np.arange(6.0).reshape(3, 2)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = fl.softmax(x)
        lp = fl.logsoftmax(x)
        gp, = fl.gradient(lambda x: np.sum(fl.softmax(x) * w), x)
        glp, = fl.gradient(lambda x: np.sum(fl.logsoftmax(x) * w), x)
    np.testing.assert_allclose(p, [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], atol=1e-300)
    np.testing.assert_allclose(lp, [[0.0, -1000.0], [-1000.0, -1000.0], [-2000.0, 0.0]])
    assert np.all(np.isfinite(gp)) and np.all(np.isfinite(glp))
    np.testing.assert_allclose(glp.sum(axis=0), 0.0, atol=1e-12)  # log-probabilities shift together


def test_softmax_and_logsoftmax_work_along_axis_0_by_default():
    x = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 0.0]])
    p = fl.softmax(x)
    np.testing.assert_allclose(p.sum(axis=0), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(p, np.exp(x) / np.exp(x).sum(axis=0))
    np.testing.assert_array_equal(p, fl.softmax(x, axis=0))
    assert not np.allclose(p, fl.softmax(x, axis=1))
    np.testing.assert_allclose(fl.logsoftmax(x), np.log(p))
    np.testing.assert_allclose(fl.softmax(np.array([1.0, 2.0, 3.0])),
                               [0.09003057317038046, 0.24472847105479767, 0.6652409557748219])


@pytest.mark.parametrize("f", [fl.σ, fl.relu, fl.leakyrelu, fl.elu, fl.celu, fl.selu, fl.gelu, fl.swish,
                               fl.softplus, fl.logσ, fl.tanh, fl.relu6, fl.hardtanh, fl.hardsigmoid,
                               fl.softsign, fl.softmax, fl.logsoftmax], ids=lambda f: f.__name__)
def test_activations_keep_float32_in_value_and_gradient(f):
    x = np.array([[-1.5, 0.5], [2.0, -0.25]], dtype=np.float32)
    assert f(x).dtype == np.float32
    g, = fl.gradient(lambda x: np.sum(f(x) * np.float32(2)), x)
    assert g.dtype == np.float32


ELEMENTWISE = [fl.σ, fl.relu, fl.leakyrelu, fl.elu, fl.celu, fl.selu, fl.gelu, fl.swish, fl.softplus,
               fl.logσ, fl.tanh, fl.relu6, fl.hardtanh, fl.hardsigmoid, fl.softsign]


@pytest.mark.parametrize("f", ELEMENTWISE, ids=lambda f: f.__name__)
def test_activations_of_a_number_give_a_numpy_scalar_like_np_tanh(f):
    for x, dtype in [(0.5, np.float64), (-0.5, np.float64), (np.float32(0.5), np.float32)]:
        y = f(x)
        assert type(y) is dtype, f"{f.__name__}({x!r}) gave {y!r}"
    assert fl.gradient(lambda x: f(x) * 2, 0.5)[0] == pytest.approx(2 * float(
        fl.gradient(lambda x: np.sum(f(x)), np.array([0.5]))[0][0]))


def test_sigmoid_and_logsigmoid_have_their_greek_aliases():
    assert fl.sigmoid is fl.σ and fl.logsigmoid is fl.logσ


def test_std_of_a_single_value_or_equal_values_has_slope_zero_not_nan():
    # std is identically 0 for one value; written as sqrt(var) its slope would be 0 · ∞ = NaN
    for x in [np.array([3.0]), np.array([[2.0, 2.0, 2.0]])]:
        g, = fl.gradient(lambda x: np.std(x), x)
        np.testing.assert_array_equal(g, np.zeros_like(x))
    g, = fl.gradient(lambda x: np.sum(np.std(x, axis=1)), np.array([[1.0], [5.0]]))
    np.testing.assert_array_equal(g, [[0.0], [0.0]])
    g, = fl.gradient(lambda x: np.std(x, ddof=1), np.array([1.0, 3.0]))
    np.testing.assert_allclose(g, [-0.5 ** 0.5, 0.5 ** 0.5])


def test_inner_with_a_number_is_a_product_as_in_numpy():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(fl.gradient(lambda s, A: np.sum(np.inner(s, A)), 1.5, A)[1],
                                  np.full((2, 2), 1.5))
    assert fl.gradient(lambda s: np.sum(np.inner(A, s)), 1.5) == (10.0,)
