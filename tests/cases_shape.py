"""Gradcheck cases for the shape family (see `casefactory`): one `case(...)` line per operation."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import call, case, one, pair  # noqa: F401
from strategies import arrays, axes, one_axis, scalars, separated, shapes  # noqa: F401


def _joined(pieces):
    """Several results as one array to project: each piece flattened and weighted differently."""
    return np.concatenate([np.ravel(p) * (i + 1) for i, p in enumerate(pieces)])


# --------------------------------------------------------------------------- along an axis


@st.composite
def take_along_args(draw):
    x = draw(arrays(min_dims=1))
    if draw(st.booleans()):  # axis=None: 1-D indices into the flattened array
        idx = draw(hnp.arrays(np.intp, draw(st.integers(1, 5)), elements=st.integers(
            -x.size, x.size - 1)))
        return (x,), {"indices": idx, "axis": None}
    axis = draw(one_axis(x.ndim))
    shape = [draw(st.sampled_from([1, n])) for n in x.shape]  # broadcast against x
    shape[axis] = draw(st.integers(1, 4))
    n = x.shape[axis]
    idx = draw(hnp.arrays(np.intp, tuple(shape), elements=st.integers(-n, n - 1)))
    return (x,), {"indices": idx, "axis": axis}


case("np.take_along_axis (repeats accumulate; axis None, negative)",
     lambda x, indices, axis: np.take_along_axis(x, indices, axis=axis), take_along_args(),
     covers=[np.take_along_axis])

# --------------------------------------------------------------------------- repeating and padding


@st.composite
def repeat_args(draw, method=False):
    x = draw(arrays())
    axis = None if x.ndim == 0 else draw(st.one_of(st.none(), one_axis(x.ndim)))
    n = x.size if axis is None else x.shape[axis]
    repeats = draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=n,
                                                          max_size=n)))
    if method and axis is None:
        return (x,), {"repeats": repeats}
    return (x,), {"repeats": repeats, "axis": axis}


case("np.repeat (int or per-element repeats; axis None, int)",
     lambda x, repeats, **kw: np.repeat(x, repeats, **kw), repeat_args(), covers=[np.repeat])
case("x.repeat(repeats, axis)", lambda x, repeats, **kw: x.repeat(repeats, **kw),
     repeat_args(method=True), covers=[np.repeat])


@st.composite
def tile_args(draw):
    x = draw(arrays())
    reps = draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 2), min_size=1,
                                                      max_size=4).map(tuple)))
    return (x,), {"reps": reps}


case("np.tile (int or tuple reps, longer or shorter than ndim)",
     lambda x, reps: np.tile(x, reps), tile_args(), covers=[np.tile])


def _width(draw, nd, hi=3):
    """A pad_width in one of NumPy's forms: n, (n,), (before, after), ((before, after),),
    or one pair per axis."""
    w = st.integers(0, hi)
    form = draw(st.sampled_from(["n", "(n,)", "pair", "((pair))"] + (["per axis"] if nd else [])))
    if form == "n":
        return draw(w)
    if form == "(n,)":
        return (draw(w),)
    if form == "pair":
        return (draw(w), draw(w))
    if form == "((pair))":
        return ((draw(w), draw(w)),)
    return tuple((draw(w), draw(w)) for _ in range(nd))


@st.composite
def pad_args(draw, mode, **options):
    x = draw(arrays(**({"min_dims": 1} if mode not in ("constant", "empty") else {})))
    kw = {"pad_width": _width(draw, x.ndim, hi=5 if mode in ("reflect", "symmetric", "wrap")
                              else 3), "mode": mode}
    for name, values in options.items():
        if draw(st.booleans()):
            kw[name] = draw(values(x.ndim) if callable(values) else values)
    return (x,), kw


def _constants(nd):
    v = st.floats(-2.0, 2.0)
    return st.one_of(v, st.tuples(v), st.tuples(v, v),
                     st.tuples(*[st.tuples(v, v)] * nd) if nd else st.just(1.5))


def _stat_lengths(nd):
    s = st.integers(1, 3)
    return st.one_of(st.none(), s, st.tuples(s, s),
                     st.tuples(*[st.tuples(s, s)] * nd) if nd else st.just(2))


PAD_MODES = {
    "constant": {"constant_values": _constants},
    "edge": {},
    "wrap": {},
    "reflect": {"reflect_type": st.sampled_from(["even", "odd"])},
    "symmetric": {"reflect_type": st.sampled_from(["even", "odd"])},
    "linear_ramp": {"end_values": _constants},
    "mean": {"stat_length": _stat_lengths},
}
for _mode, _options in PAD_MODES.items():
    case(f"np.pad(mode={_mode!r}; pad widths in every form)",
         lambda x, pad_width, **kw: np.pad(x, pad_width, **kw), pad_args(_mode, **_options),
         covers=[np.pad])
case("np.pad(x, width, constant_values=c) with traced c",
     lambda x, c, pad_width: np.pad(x, pad_width, constant_values=c),
     arrays(min_dims=1).flatmap(lambda x: call(st.just(x), scalars(),
                                               pad_width=st.integers(1, 2))), covers=[np.pad])

# --------------------------------------------------------------------------- diagonals


@st.composite
def diag_args(draw, min_dims=1, max_dims=2):
    x = draw(arrays(min_dims=min_dims, max_dims=max_dims))
    return (x,), {"k": draw(st.integers(-3, 3))}


case("np.diag (vector -> matrix, matrix -> diagonal; offset k)", lambda x, k: np.diag(x, k),
     diag_args(), covers=[np.diag])
case("np.diagflat (offset k)", lambda x, k: np.diagflat(x, k), diag_args(0, 3),
     covers=[np.diagflat])


@st.composite
def diagonal_args(draw):
    x = draw(arrays(min_dims=2, max_dims=4))
    a1, a2 = draw(st.permutations(range(x.ndim)))[:2]
    neg = draw(st.booleans())
    return (x,), {"offset": draw(st.integers(-3, 3)), "axis1": a1 - x.ndim if neg else a1,
                  "axis2": a2}


case("np.diagonal (offset, axis1, axis2; any ndim)",
     lambda x, **kw: np.diagonal(x, **kw), diagonal_args(), covers=[np.diagonal])
case("x.diagonal(offset, axis1, axis2)", lambda x, **kw: x.diagonal(**kw), diagonal_args(),
     covers=[np.diagonal])
case("np.trace (offset, axis1, axis2; any ndim)", lambda x, **kw: np.trace(x, **kw),
     diagonal_args(), covers=[np.trace])
case("x.trace(offset, axis1, axis2)", lambda x, **kw: x.trace(**kw), diagonal_args(),
     covers=[np.trace])
case("np.tril (k; stacked matrices, vectors)", lambda x, k: np.tril(x, k),
     diag_args(1, 3), covers=[np.tril])
case("np.triu (k; stacked matrices, vectors)", lambda x, k: np.triu(x, k),
     diag_args(1, 3), covers=[np.triu])

# --------------------------------------------------------------------------- rearranging


@st.composite
def rot90_args(draw):
    x = draw(arrays(min_dims=2))
    a1, a2 = draw(st.permutations(range(x.ndim)))[:2]
    return (x,), {"k": draw(st.integers(-5, 5)), "axes": (a1, a2 - x.ndim)}


case("np.rot90 (k, axes)", lambda x, **kw: np.rot90(x, **kw), rot90_args(), covers=[np.rot90])


@st.composite
def rollaxis_args(draw):
    x = draw(arrays(min_dims=1))
    return (x,), {"axis": draw(one_axis(x.ndim)), "start": draw(st.integers(-x.ndim, x.ndim))}


case("np.rollaxis (axis, start)", lambda x, **kw: np.rollaxis(x, **kw), rollaxis_args(),
     covers=[np.rollaxis])


@st.composite
def split_args(draw, axis, min_dims):
    x = draw(arrays(min_dims=min_dims, max_side=4))
    n = x.shape[axis if x.ndim > 1 else 0]  # np.hsplit cuts a vector along its only axis
    if draw(st.booleans()):
        where = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    else:
        where = sorted(draw(st.lists(st.integers(0, n), max_size=2)))
    return (x,), {"where": where}


case("np.hsplit (sections or indices)", lambda x, where: _joined(np.hsplit(x, where)),
     split_args(1, 1), covers=[np.hsplit])
case("np.vsplit (sections or indices)", lambda x, where: _joined(np.vsplit(x, where)),
     split_args(0, 2), covers=[np.vsplit])
case("np.dsplit (sections or indices)", lambda x, where: _joined(np.dsplit(x, where)),
     split_args(2, 3), covers=[np.dsplit])


@st.composite
def dstack_args(draw):
    s = draw(shapes(max_dims=3))
    return tuple(draw(arrays(s)) for _ in range(draw(st.integers(1, 3)))), {}


case("np.dstack", lambda *xs: np.dstack(xs), dstack_args(), covers=[np.dstack])
case("np.resize (shorter, longer)", lambda x, shape: np.resize(x, shape),
     call(arrays(min_dims=1), shape=st.one_of(st.integers(1, 7), shapes(min_dims=1, max_dims=2))),
     covers=[np.resize])


@st.composite
def trim_args(draw):
    """Zeros at both ends (made by a mask, so they stay zero when finite differences move x)."""
    x = draw(arrays(shape=(draw(st.integers(1, 7)),), avoid=(0.0,)))
    mask = draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([0.0, 1.0])))
    return (x,), {"mask": mask, "trim": draw(st.sampled_from(["fb", "f", "b"]))}


case("np.trim_zeros (front, back)", lambda x, mask, trim: np.trim_zeros(x * mask, trim),
     trim_args(), covers=[np.trim_zeros])

# --------------------------------------------------------------------------- building


@st.composite
def block_args(draw):
    r1, r2, c1, c2 = (draw(st.integers(1, 2)) for _ in range(4))
    shapes_ = [(r1, c1), (r1, c2), (r2, c1), (r2, c2)]
    return tuple(draw(arrays(s)) for s in shapes_), {}


case("np.block (2 × 2 blocks of matrices)", lambda a, b, c, d: np.block([[a, b], [c, d]]),
     block_args(), covers=[np.block])
case("np.block (vectors and a number in one list)", lambda x, y: np.block([x, 1.5, y]),
     call(arrays(min_dims=1, max_dims=1), arrays(min_dims=1, max_dims=1)), covers=[np.block])


@st.composite
def meshgrid_args(draw):
    xs = tuple(draw(arrays(min_dims=1, max_dims=1)) for _ in range(draw(st.integers(1, 3))))
    return xs, {"indexing": draw(st.sampled_from(["xy", "ij"])), "sparse": draw(st.booleans()),
                "copy": draw(st.booleans())}


def _meshgrid_product(*xs, **kw):
    """The grids multiplied together (so that second derivatives do not vanish)."""
    out = 1.0
    for i, g in enumerate(np.meshgrid(*xs, **kw)):
        out = out * (g + i)
    return out


case("np.meshgrid (indexing, sparse, copy)", _meshgrid_product, meshgrid_args(),
     covers=[np.meshgrid])


@st.composite
def broadcast_arrays_args(draw):
    s = draw(st.integers(2, 3).flatmap(lambda k: hnp.mutually_broadcastable_shapes(
        num_shapes=k, max_dims=3, max_side=3))).input_shapes
    return tuple(draw(arrays(x)) for x in s), {}


case("np.broadcast_arrays", lambda *xs: _joined(np.broadcast_arrays(*xs)) ** 2,
     broadcast_arrays_args(), covers=[np.broadcast_arrays])


@st.composite
def insert_args(draw):
    x = draw(arrays(min_dims=1))
    axis = draw(st.one_of(st.none(), one_axis(x.ndim)))
    n = x.size if axis is None else x.shape[axis]
    obj = draw(st.one_of(st.integers(-n, n), st.lists(st.integers(-n, n), min_size=1,
                                                     max_size=3)))
    count = 1 if isinstance(obj, int) else len(obj)
    other = () if axis is None else x.shape[:axis % x.ndim] + x.shape[axis % x.ndim + 1:]
    vshape = draw(st.sampled_from([(), (count,) if axis is None else (1,) * len(other)]))
    return (x, draw(arrays(vshape))), {"obj": obj, "axis": axis}


case("np.insert (index or indices; values traced; axis None, int)",
     lambda x, values, obj, axis: np.insert(x, obj, values, axis=axis), insert_args(),
     covers=[np.insert])


@st.composite
def delete_args(draw):
    x = draw(arrays(min_dims=1))
    axis = draw(st.one_of(st.none(), one_axis(x.ndim)))
    n = x.size if axis is None else x.shape[axis]
    obj = draw(st.one_of(st.integers(-n, n - 1), st.lists(st.integers(-n, n - 1), max_size=3),
                         st.just(slice(None, None, 2))))
    return (x,), {"obj": obj, "axis": axis}


case("np.delete (index, indices or slice; axis None, int)",
     lambda x, obj, axis: np.delete(x, obj, axis=axis), delete_args(), covers=[np.delete])

# --------------------------------------------------------------------------- evenly spaced numbers


@st.composite
def linspace_args(draw, positive=False):
    s1, s2 = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2)).input_shapes
    lo, hi = (0.5, 2.0) if positive else (-2.0, 2.0)
    start, stop = draw(arrays(s1, lo, hi)), draw(arrays(s2, lo, hi))
    if positive and draw(st.booleans()):
        start, stop = -start, -stop
    nd = len(np.broadcast_shapes(s1, s2)) + 1
    return (start, stop), {"num": draw(st.integers(0, 4)), "endpoint": draw(st.booleans()),
                           "axis": draw(st.integers(-nd, nd - 1))}


case("np.linspace (traced start, stop; num 0, 1, n; endpoint; axis)",
     lambda a, b, **kw: np.linspace(a, b, **kw), linspace_args(), covers=[np.linspace])
case("np.linspace(..., retstep=True): the step too",
     lambda a, b, **kw: np.linspace(a, b, retstep=True, **kw)[1], linspace_args().filter(
         lambda a: a[1]["num"] - a[1]["endpoint"] > 0), covers=[np.linspace])
case("np.logspace (traced start, stop)", lambda a, b, **kw: np.logspace(a, b, base=2.0, **kw),
     linspace_args(), covers=[np.logspace])
case("np.logspace with a traced base", lambda a, b, base: np.logspace(a, b, 3, base=base),
     call(arrays(shape=(2,)), arrays(shape=()), arrays(shape=(2,), lo=0.5, hi=2.0)),
     covers=[np.logspace])
case("np.geomspace (positive or negative ends)", lambda a, b, **kw: np.geomspace(a, b, **kw),
     linspace_args(positive=True), covers=[np.geomspace])

# --------------------------------------------------------------------------- finite differences


@st.composite
def gradient_args(draw):
    edge_order = draw(st.sampled_from([1, 2]))
    x = draw(arrays(shape=draw(shapes(min_dims=1, min_side=edge_order + 1, max_side=4))))
    axis = draw(st.one_of(st.none(), one_axis(x.ndim), st.permutations(range(x.ndim)).map(
        lambda p: tuple(p[:2]))))
    along = tuple(range(x.ndim)) if axis is None else (axis if isinstance(axis, tuple)
                                                      else (axis,))
    form = draw(st.sampled_from(["none", "number", "each"]))
    spacing = ()
    if form == "number":
        spacing = (draw(st.floats(0.5, 2.0)),)
    elif form == "each":
        spacing = tuple(draw(st.one_of(st.floats(0.5, 2.0), st.lists(
            st.floats(0.3, 1.0), min_size=x.shape[a], max_size=x.shape[a]).map(
            lambda d: np.cumsum(d)))) for a in along)
    return (x,), {"spacing": spacing, "axis": axis, "edge_order": edge_order}


def _gradient(x, spacing, **kw):
    g = np.gradient(x, *spacing, **kw)
    return _joined(g) if isinstance(g, tuple) else g


case("np.gradient (spacing: none, number, numbers or coordinates; axis; edge_order)",
     _gradient, gradient_args(), covers=[np.gradient])
@st.composite
def traced_coordinates(draw):
    n = draw(st.integers(3, 5))
    steps = draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n))
    return (draw(arrays(shape=(n,))), np.cumsum(steps)), {}


case("np.gradient with traced coordinates", lambda x, c: np.gradient(x, c, edge_order=2),
     traced_coordinates(), covers=[np.gradient])
