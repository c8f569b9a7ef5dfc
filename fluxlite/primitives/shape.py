"""Shape operations and indexing: the numbers move, so the gradient moves back.

None of these change a value, only where it sits (or they copy it, or mix a few with fixed
weights). Their pullbacks put each gradient entry back where its value came from::

    reshape    -> reshape the gradient to the input's shape
    transpose  -> transpose the gradient with the inverse permutation
    x[idx]     -> scatter the gradient into zeros at idx (repeated indices add up)
    concatenate, stack -> cut the gradient into the pieces
    broadcast_to       -> sum the gradient back (see `unbroadcast`)

The other functions here are written with those, so they need no pullback of their own:
repeat, take_along_axis, diagonal, insert, delete and the copying modes of pad are indexing
(the gradients of all copies of an element add up in it), tile is a broadcast, diag is
np.where with a mask, and linspace and gradient are arithmetic on slices joined with
concatenate. Where NumPy's own code is already made of such operations (tril, rot90, the
splits, ...) it is registered as it is, in DECOMPOSED_FUNCTIONS.
"""
import operator

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..autodiff.broadcasting import unbroadcast
from ..autodiff.tracer import (CONSTANT_FUNCTIONS, DECOMPOSED_FUNCTIONS, FUNCTIONS, HINTS,
                               InPlaceError, NoGradientRule, Tracked, _any_live, primitive,
                               untrace)


def _register(fn, adapter):
    FUNCTIONS[fn] = adapter
    return adapter


RESHAPE = primitive(lambda x, shape, order="C": np.reshape(x, shape, order=order),
                    "numpy.reshape").defvjp(
    lambda g, ans, x, shape, order="C": np.reshape(g, np.shape(x), order=order))
_register(np.reshape, lambda a, shape=None, order="C", **kw:
          RESHAPE(a, shape=kw.get("newshape", shape), order=order))
_register(np.ravel, lambda a, order="C": RESHAPE(a, shape=-1, order=order))


def _inverse(axes):
    return tuple(np.argsort(axes))


TRANSPOSE = primitive(lambda x, axes=None: np.transpose(x, axes), "numpy.transpose").defvjp(
    lambda g, ans, x, axes=None: np.transpose(g, None if axes is None else _inverse(axes)))
_register(np.transpose, lambda a, axes=None: TRANSPOSE(
    a, axes=None if axes is None else tuple(ax % np.ndim(a) for ax in axes)))
_register(np.swapaxes, lambda a, axis1, axis2: TRANSPOSE(a, axes=_swapped(np.ndim(a), axis1, axis2)))
_register(np.moveaxis, lambda a, source, destination: TRANSPOSE(
    a, axes=_moved(np.ndim(a), source, destination)))


def _swapped(n, a, b):
    axes = list(range(n))
    axes[a % n], axes[b % n] = axes[b % n], axes[a % n]
    return tuple(axes)


def _moved(n, source, destination):
    src = [s % n for s in np.atleast_1d(source)]
    dst = [d % n for d in np.atleast_1d(destination)]
    order = [a for a in range(n) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return tuple(order)


def _squeeze(a, axis=None):
    shape = np.shape(a)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        drop = {ax % len(shape) for ax in np.atleast_1d(axis)}
        new = tuple(n for i, n in enumerate(shape) if i not in drop)
    return RESHAPE(a, shape=new)


def _expand_dims(a, axis):
    shape = list(np.shape(a))
    axes = sorted(ax % (len(shape) + len(np.atleast_1d(axis))) for ax in np.atleast_1d(axis))
    for ax in axes:
        shape.insert(ax, 1)
    return RESHAPE(a, shape=tuple(shape))


_register(np.squeeze, _squeeze)
_register(np.expand_dims, _expand_dims)

BROADCAST_TO = primitive(lambda x, shape: np.broadcast_to(x, shape), "numpy.broadcast_to").defvjp(
    lambda g, ans, x, shape: unbroadcast(g, x))
_register(np.broadcast_to, lambda array, shape, subok=False: BROADCAST_TO(array, shape=shape))

# np.copy, not np.array(x, copy=True): a value traced by an outer gradient call must stay traced.
COPY = primitive(lambda x: np.copy(x), "numpy.copy").defvjp(lambda g, ans, x: g)
_register(np.copy, lambda a, order="K", subok=False: COPY(a))


def _pieces(g, sizes, axis):
    """Cut `g` along `axis` into consecutive pieces of the given sizes."""
    out, start = [], 0
    for n in sizes:
        idx = [slice(None)] * np.ndim(g)
        idx[axis] = slice(start, start + n)
        out.append(g[tuple(idx)])
        start += n
    return out


def _concat_fwd(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


def _concat_vjp(k):
    def vjp(g, ans, *arrays, axis=0):
        sizes = [np.shape(a)[axis] for a in arrays]
        return _pieces(g, sizes, axis % np.ndim(ans))[k]
    return vjp


class _Variadic:
    """A primitive over any number of arrays: pullbacks are made for as many as needed."""

    def __init__(self, fwd, vjp_for, name):
        self.prims = {}
        self.fwd, self.vjp_for, self.name = fwd, vjp_for, name

    def __call__(self, *arrays, **kw):
        p = self.prims.get(len(arrays))
        if p is None:
            p = primitive(self.fwd, self.name).defvjp(*[self.vjp_for(k) for k in range(len(arrays))])
            self.prims[len(arrays)] = p
        return p(*arrays, **kw)


CONCATENATE = _Variadic(_concat_fwd, _concat_vjp, "numpy.concatenate")


def _concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = tuple(arrays)
    if axis is None:
        return CONCATENATE(*[RESHAPE(a, shape=-1) for a in arrays], axis=0)
    return CONCATENATE(*arrays, axis=axis)


def _stack_vjp(k):
    def vjp(g, ans, *arrays, axis=0):
        return _select(g, k, axis % np.ndim(ans))
    return vjp


def _select(g, k, axis):
    idx = [slice(None)] * np.ndim(g)
    idx[axis] = k
    return g[tuple(idx)]


STACK = _Variadic(lambda *arrays, axis=0: np.stack(arrays, axis=axis), _stack_vjp, "numpy.stack")
_register(np.concatenate, _concatenate)
_register(np.stack, lambda arrays, axis=0, out=None, dtype=None, casting="same_kind":
          STACK(*tuple(arrays), axis=axis))

# NumPy builds these from operations traced above (indexing, reshape, concatenate).
DECOMPOSED_FUNCTIONS.update({np.hstack, np.vstack, np.atleast_1d, np.atleast_2d,
                             np.atleast_3d, np.flip, np.fliplr, np.flipud, np.split, np.array_split,
                             np.diff, np.append})


def _column_stack(tup):
    """Vectors (and numbers) become columns, matrices stay, then all are joined along axis 1.
    (NumPy's own version makes the columns with np.array(..., ndmin=2), which drops the tape.)"""
    return np.concatenate([np.reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup], axis=1)


_register(np.column_stack, _column_stack)


def _roll(a, shift, axis=None):
    """np.roll as indexing: output position i along an axis reads input position (i - shift) mod n,
    so the gradient goes back to where each value came from. (NumPy's own np.roll writes into
    np.empty_like, which would drop the tape.)"""
    if axis is None:
        return np.reshape(_roll(np.reshape(a, -1), shift, 0), np.shape(a))
    ndim = np.ndim(a)
    for s, ax in zip(*[np.ravel(v) for v in np.broadcast_arrays(shift, axis)]):
        ax = int(ax) % ndim
        n = np.shape(a)[ax]
        if n:
            a = a[(slice(None),) * ax + ((np.arange(n) - int(s)) % n,)]
    return a


_register(np.roll, _roll)


# Indexing: basic (ints, slices), fancy (integer arrays) and boolean masks.
def _is_basic(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def _scatter_fwd(g, idx, shape):
    if type(g) is Tracked:  # g is traced by an outer tape (a third derivative): record it there too
        return SCATTER(g, idx=idx, shape=shape)
    out = np.zeros(shape, dtype=getattr(g, "dtype", np.float64))  # keep float32 gradients float32
    if _is_basic(idx) or getattr(idx, "dtype", None) == bool:
        out[idx] = g
    else:
        np.add.at(out, idx, g)  # repeated indices accumulate
    return out


SCATTER = primitive(_scatter_fwd, "scatter").defvjp(lambda gg, ans, g, idx, shape: gg[idx])


GETITEM = primitive(lambda x, idx: np.ndarray.__getitem__(x, idx) if type(x) is np.ndarray
                    else x[idx], "getitem").defvjp(
    lambda g, ans, x, idx: SCATTER(g, idx=idx, shape=np.shape(x)))
FUNCTIONS["getitem"] = GETITEM


def _take(a, indices, axis=None, out=None, mode="raise"):
    """np.take as indexing, so it is traced like x[...]."""
    if axis is None:
        return RESHAPE(a, shape=-1)[indices]
    idx = [slice(None)] * np.ndim(a)
    idx[axis] = indices
    return a[tuple(idx)]


FUNCTIONS[np.take] = _take


# --------------------------------------------------------------------------- helpers for the rest
def _refuse_out(name, out):
    """A traced call asked to write into ``out=``: refused, as ``x += y`` is."""
    if out is not None:
        raise InPlaceError(
            f"numpy.{name}(..., out=...) writes its result into an existing array, which gradient "
            f"cannot record. Use the result instead: y = np.{name}(...).")


def _plain(x):
    """`x` as a plain array when it is traced nowhere; traced values are kept."""
    return x if type(x) is Tracked else np.asarray(x)


def _cast(x, dtype):
    """`x` in `dtype`: traced arrays through their traced astype, anything else by NumPy."""
    if type(x) is Tracked:
        return x if x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def _gather(a, positions):
    """``ravel(a)[positions]``: every output element is the input element whose flat position
    it names. The gradient of each input element is the sum of the gradients of its copies."""
    return np.reshape(a, -1)[positions]


def _positions(a):
    """The flat position of every element of `a`, in `a`'s shape."""
    return np.arange(np.size(a)).reshape(np.shape(a))


# --------------------------------------------------------------------------- along an axis
def _along_axis(shape, indices, axis):
    """The fancy index that picks ``indices`` along `axis` and keeps every other axis."""
    idx = []
    for d, n in enumerate(shape):
        if d == axis:
            idx.append(indices)
        else:
            s = [1] * len(shape)
            s[d] = n
            idx.append(np.arange(n).reshape(s))
    return tuple(idx)


def _take_along_axis(arr, indices, axis=-1):
    """np.take_along_axis as fancy indexing, so the gradient goes back to each picked element
    (added up where an element is picked twice). (NumPy's own version reads ``arr.flat`` for
    axis=None, which drops the tape.)"""
    indices = untrace(indices)
    if axis is None:
        if np.ndim(indices) != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        return np.reshape(arr, -1)[indices]
    axis = normalize_axis_index(axis, np.ndim(arr))
    if np.ndim(indices) != np.ndim(arr):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    return arr[_along_axis(np.shape(arr), indices, axis)]


FUNCTIONS[np.take_along_axis] = _take_along_axis
# np.put_along_axis writes into its first argument: refused (no rule) when a traced array is in it.
HINTS["numpy.put_along_axis"] = (
    "np.put_along_axis writes into an existing array, which gradient cannot record (and traced "
    "values copied into a plain array lose their gradient). Build the result as a new array: a "
    "boolean mask of the positions (mask = np.zeros(arr.shape, bool); "
    "np.put_along_axis(mask, indices, True, axis)), then np.where(mask, values, arr) with the "
    "values broadcast to arr's shape.")
CONSTANT_FUNCTIONS.update({np.argpartition, np.tril_indices_from, np.triu_indices_from,
                           np.diag_indices_from})


# --------------------------------------------------------------------------- repeating and padding
def _repeat(a, repeats, axis=None):
    """np.repeat as indexing with ``np.repeat(np.arange(n), repeats)``: each copy reads its
    element, and each element collects the gradients of all its copies."""
    if axis is None:
        a, axis = np.reshape(a, -1), 0
    axis = normalize_axis_index(axis, np.ndim(a))
    idx = np.repeat(np.arange(np.shape(a)[axis]), untrace(repeats))
    return a[(slice(None),) * axis + (idx,)]


def _tile(A, reps):
    """np.tile as a broadcast: shape (s1, s2) with reps (r1, r2) is seen as (1, s1, 1, s2),
    broadcast to (r1, s1, r2, s2) and reshaped to (r1 s1, r2 s2). The gradient sums the copies
    (the pullback of broadcast_to)."""
    reps = tuple(reps) if np.iterable(reps) else (reps,)
    shape = np.shape(A)
    nd = max(len(reps), len(shape))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    split = np.reshape(A, tuple(x for s in shape for x in (1, s)))
    spread = np.broadcast_to(split, tuple(x for r, s in zip(reps, shape) for x in (r, s)))
    return np.reshape(spread, tuple(r * s for r, s in zip(reps, shape)))


def _pairs(x, ndim, as_index=False):
    """A pad_width-like argument (a number, a pair, or one pair per axis) as `ndim` pairs."""
    x = np.asarray(untrace(x))
    if as_index:
        x = np.round(x).astype(np.intp)
        if np.any(x < 0):
            raise ValueError("index can't contain negative values")
    return np.broadcast_to(x, (ndim, 2)).tolist()


_PAD_GATHER = ("edge", "wrap", "reflect", "symmetric")   # each new value is a copy of one input
_PAD_LINEAR = ("reflect", "symmetric", "linear_ramp", "mean")  # reflect_type='odd', ramps, means


def _pad(array, pad_width, mode="constant", **kwargs):
    """np.pad for the modes whose new values are copies, constants or fixed linear combinations
    of the input: 'constant' (and 'empty', padded with zeros), 'edge', 'wrap', 'reflect',
    'symmetric' (either reflect_type), 'linear_ramp' and 'mean'. (NumPy's own version writes
    into np.empty, which would drop the tape.)

    * 'constant' joins blocks of the constants on both sides, axis after axis, so the corners
      hold the constants of the later axis as in NumPy; traced constant_values get gradients.
    * 'edge', 'wrap', 'reflect', 'symmetric' copy elements: NumPy pads the array of flat
      positions, and the result reads the input at those positions.
    * reflect_type='odd', 'linear_ramp' and 'mean' combine elements linearly, one axis at a
      time: NumPy pads an identity matrix to get each axis's matrix P, and the result is
      ``P @ x`` along that axis (plus the padded zeros, for the ramp's end values).
    'maximum', 'minimum', 'median' and callables have no rule."""
    nd = np.ndim(array)
    widths = _pairs(pad_width, nd, as_index=True)
    if mode in ("constant", "empty"):
        unknown = set(kwargs) - ({"constant_values"} if mode == "constant" else set())
        if unknown:
            raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unknown}")
        return _pad_constant(array, widths, kwargs.get("constant_values", 0))
    if mode in _PAD_GATHER and kwargs.get("reflect_type", "even") == "even":
        return _gather(array, np.pad(_positions(array), widths, mode=mode, **kwargs))
    if mode in _PAD_LINEAR and not _any_live(kwargs):
        return _pad_linear(array, widths, mode, kwargs)
    what = "callable modes" if callable(mode) else f"mode={mode!r}"
    if mode in ("maximum", "minimum", "median"):
        hint = (f"Compute the statistic with np.{'max' if mode == 'maximum' else mode[:3]}"
                f"(x, axis=..., keepdims=True) and join the pieces with np.concatenate.")
    else:
        hint = ("Pad with mode 'constant', 'edge', 'wrap', 'reflect', 'symmetric', "
                "'linear_ramp' or 'mean' (with plain numbers for their options), or join "
                "the pieces with np.concatenate.")
    raise NoGradientRule(f"fluxlite has no gradient rule for numpy.pad with {what}.\n{hint}")


def _pad_constant(a, widths, constant_values):
    values = constant_values if type(constant_values) is Tracked else np.asarray(constant_values)
    values = np.broadcast_to(values, (len(widths), 2))
    dtype = np.result_type(a)
    for axis, pair in enumerate(widths):
        pieces = []
        for side, n in enumerate(pair):
            if n:
                shape = np.shape(a)[:axis] + (n,) + np.shape(a)[axis + 1:]
                pieces.append(np.broadcast_to(_cast(values[axis, side], dtype), shape))
        if pieces:
            pieces.insert(1 if pair[0] else 0, a)
            a = np.concatenate(pieces, axis=axis)
    return a if type(a) is Tracked else np.array(a, dtype=dtype)


def _pad_linear(a, widths, mode, kwargs):
    dtype, shape = np.result_type(a), np.shape(a)
    for axis, (before, after) in enumerate(widths):
        if before or after:
            axis_kw = {k: (_pairs(v, len(shape))[axis], (1, 1))
                       if k in ("stat_length", "end_values") and v is not None else v
                       for k, v in kwargs.items()}
            if mode == "linear_ramp":
                axis_kw["end_values"] = 0
            P = np.pad(np.eye(shape[axis], dtype=dtype), ((before, after), (0, 0)), mode=mode,
                       **axis_kw)
            a = np.moveaxis(np.tensordot(P, a, axes=([1], [axis])), 0, axis)
    if mode == "linear_ramp":  # the end values: what padding zeros gives
        a = a + np.pad(np.zeros(shape, dtype), widths, mode=mode, **kwargs)
    return a


FUNCTIONS[np.repeat] = _repeat
FUNCTIONS[np.tile] = _tile
FUNCTIONS[np.pad] = _pad


# --------------------------------------------------------------------------- diagonals
def _diagonal(a, offset=0, axis1=0, axis2=1):
    """np.diagonal as indexing: the two axes move to the end and ``[..., i, i + offset]``
    picks the diagonal (a new array; NumPy's is a read-only view)."""
    nd = np.ndim(a)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = normalize_axis_index(axis1, nd), normalize_axis_index(axis2, nd)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    n1, n2 = np.shape(a)[ax1], np.shape(a)[ax2]
    offset = int(offset)
    i = np.arange(max(0, min(n1 + min(offset, 0), n2 - max(offset, 0))))
    a = np.transpose(a, [d for d in range(nd) if d not in (ax1, ax2)] + [ax1, ax2])
    return a[..., i - min(offset, 0), i + max(offset, 0)]


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """np.trace: the sum of np.diagonal along its last axis."""
    _refuse_out("trace", out)
    if dtype is not None and not np.issubdtype(dtype, np.floating):
        return np.trace(untrace(a), offset, axis1, axis2, dtype=dtype)
    d = np.sum(_diagonal(a, offset, axis1, axis2), axis=-1)
    return d if dtype is None else _cast(d, np.dtype(dtype))


def _diag(v, k=0):
    """np.diag: of a matrix, its k-th diagonal; of a vector, a matrix with the vector on its
    k-th diagonal, made as np.where(mask, row, 0) with the vector shifted into a row of length
    n + |k| (so each entry's gradient is read back from its place on the diagonal)."""
    s = np.shape(v)
    if len(s) == 2:
        return _diagonal(v, k)
    if len(s) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    k = int(k)
    zeros = np.zeros(abs(k), dtype=np.result_type(v))
    row = np.concatenate([zeros, v] if k >= 0 else [v, zeros])
    return np.where(np.eye(len(row), k=k, dtype=bool), row, 0)


FUNCTIONS[np.diagonal] = _diagonal
FUNCTIONS[np.trace] = _trace
FUNCTIONS[np.diag] = _diag
FUNCTIONS[np.diagflat] = lambda v, k=0: _diag(np.reshape(v, -1), k)


# --------------------------------------------------------------------------- evenly spaced numbers
def _linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
              device=None):
    """np.linspace with traced start and stop: ``start + arange(num) * step`` with
    ``step = (stop - start) / (num - 1)`` (or ``/ num`` without the endpoint), computed as
    NumPy does, and the last value replaced by `stop` itself. The step is traced too."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if dtype is not None and np.issubdtype(dtype, np.integer):  # floored: no gradient
        return np.linspace(untrace(start), untrace(stop), num, endpoint, retstep, dtype, axis)
    div = (num - 1) if endpoint else num
    dt = np.result_type(untrace(start), untrace(stop), 1.0)
    start, stop = _cast(start, dt), _cast(stop, dt)
    delta = stop - start
    y = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * np.ndim(delta))
    if div > 0:
        step = delta / div
        y = y / div * delta if np.any(untrace(step) == 0) else y * step
    else:
        step, y = np.nan, y * delta
    y = y + start
    if endpoint and num > 1:
        y = np.concatenate([y[:-1], np.broadcast_to(stop, np.shape(y)[1:])[None]])
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    if dtype is not None:
        y = _cast(y, np.dtype(dtype))
    return (y, step) if retstep else y


def _logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """np.logspace: ``base ** np.linspace(start, stop)``; base may be traced too."""
    if np.ndim(base):
        nd = np.broadcast(untrace(start), untrace(stop), untrace(base)).ndim
        start, stop, base = (np.reshape(x, (1,) * (nd - np.ndim(x)) + np.shape(x))
                             for x in (start, stop, base))
        base = np.expand_dims(base, axis=axis)
    y = np.power(base, np.linspace(start, stop, num=num, endpoint=endpoint, axis=axis))
    return y if dtype is None else _cast(y, np.dtype(dtype))


def _geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """np.geomspace for real numbers: ``sign · 10 ** linspace(log10 |start|, log10 |stop|)``
    with the ends set to `start` and `stop` exactly, as NumPy does."""
    if np.any(untrace(start) == 0) or np.any(untrace(stop) == 0):
        raise ValueError('Geometric sequence cannot include zero')
    dt = np.result_type(untrace(start), untrace(stop), float(num), np.zeros((), dtype))
    if dt.kind == "c":
        raise NoGradientRule("fluxlite has no gradient rule for numpy.geomspace of complex "
                             "numbers.\nfluxlite differentiates real-valued code only.")
    start, stop = _cast(start, dt), _cast(stop, dt)
    sign = np.sign(untrace(start))
    start, stop = start / sign, stop / sign
    y = _logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint, dtype=dt)
    if num > 0:
        ends = [np.broadcast_to(start, np.shape(y)[1:])[None], y[1:]]
        if num > 1 and endpoint:
            ends[1:] = [y[1:-1], np.broadcast_to(stop, np.shape(y)[1:])[None]]
        y = np.concatenate(ends)
    y = y * sign
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    return y if dtype is None else _cast(y, np.dtype(dtype))


FUNCTIONS[np.linspace] = _linspace
FUNCTIONS[np.logspace] = _logspace
FUNCTIONS[np.geomspace] = _geomspace


# --------------------------------------------------------------------------- finite differences
def _gradient(f, *varargs, axis=None, edge_order=1):
    """np.gradient written with traced slices, as NumPy computes it: central differences
    ``(f[i+1] - f[i-1]) / 2h`` inside (or their uneven-spacing form, Fornberg 1988), one-sided
    differences of order `edge_order` at the two ends, joined with np.concatenate. Spacings
    (numbers or coordinate arrays) may be traced too."""
    N = np.ndim(f)
    axes = tuple(range(N)) if axis is None else normalize_axis_tuple(axis, N)
    if not varargs:
        dx = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        dx = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        dx = [_spacing(d, np.shape(f)[ax]) for d, ax in zip(varargs, axes)]
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = np.result_type(f) if np.issubdtype(np.result_type(f), np.inexact) else np.float64
    if otype != np.result_type(f):
        f = _cast(f, otype)
    out = [_cast(_gradient_along(f, ax, h, edge_order), otype) for ax, h in zip(axes, dx)]
    return out[0] if len(axes) == 1 else tuple(out)


def _spacing(d, n):
    """One spacing argument: a number stays, coordinates become their differences (a single
    number when they are evenly spaced, as in NumPy, unless they are traced: the even-spacing
    formula reads only the first difference, so it would lose the gradient of the others)."""
    if np.ndim(d) == 0:
        return d
    if np.ndim(d) != 1:
        raise ValueError("distances must be either scalars or 1d")
    if len(d) != n:
        raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    d = _plain(d)
    if np.issubdtype(d.dtype, np.integer):
        d = d.astype(np.float64)
    diffx = np.diff(d)
    even = type(d) is not Tracked and np.all(diffx == diffx[0])
    return diffx[0] if even else diffx


def _gradient_along(f, axis, h, edge_order):
    n = np.shape(f)[axis]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least (edge_order + 1) elements are required.")

    def at(s):
        return f[(slice(None),) * axis + (s,)]

    def along(c):  # coefficients of uneven spacing, shaped to broadcast along `axis`
        return np.reshape(c, (-1,) + (1,) * (np.ndim(f) - axis - 1))

    uniform = np.ndim(h) == 0
    if uniform:
        inside = (at(slice(2, None)) - at(slice(None, -2))) / (2. * h)
    else:
        dx1, dx2 = h[0:-1], h[1:]
        a = along(-(dx2) / (dx1 * (dx1 + dx2)))
        b = along((dx2 - dx1) / (dx1 * dx2))
        c = along(dx1 / (dx2 * (dx1 + dx2)))
        inside = a * at(slice(None, -2)) + b * at(slice(1, -1)) + c * at(slice(2, None))
    if edge_order == 1:
        first = (at(slice(1, 2)) - at(slice(0, 1))) / (h if uniform else h[0])
        last = (at(slice(-1, None)) - at(slice(-2, -1))) / (h if uniform else h[-1])
    else:
        if uniform:
            a, b, c = -1.5 / h, 2. / h, -0.5 / h
        else:
            dx1, dx2 = h[0], h[1]
            a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = - dx1 / (dx2 * (dx1 + dx2))
        first = a * at(slice(0, 1)) + b * at(slice(1, 2)) + c * at(slice(2, 3))
        if uniform:
            a, b, c = 0.5 / h, -2. / h, 1.5 / h
        else:
            dx1, dx2 = h[-2], h[-1]
            a = (dx2) / (dx1 * (dx1 + dx2))
            b = - (dx2 + dx1) / (dx1 * dx2)
            c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * at(slice(-3, -2)) + b * at(slice(-2, -1)) + c * at(slice(-1, None))
    return np.concatenate([first, inside, last], axis=axis)


FUNCTIONS[np.gradient] = _gradient


# --------------------------------------------------------------------------- building and cutting
def _block(arrays):
    """np.block as nested np.concatenate: the innermost lists join along the last axis, the
    next ones along the axis before it, and so on. (NumPy's own version may copy into
    np.empty, which would drop the tape.)"""
    depth = _block_depth(arrays, "arrays")
    leaves = []
    _block_leaves(arrays, leaves)
    nd = max([depth] + [np.ndim(x) for x in leaves])

    def build(x, level):
        if isinstance(x, list):
            return np.concatenate([build(v, level + 1) for v in x], axis=level - depth)
        return np.reshape(x, (1,) * (nd - np.ndim(x)) + np.shape(x))
    return build(arrays, 0)


def _block_depth(x, where):
    if type(x) is tuple:
        raise TypeError(f"{where} is a tuple. Only lists can be used to arrange blocks, and "
                        f"np.block does not allow implicit conversion from tuple to ndarray.")
    if not isinstance(x, list):
        return 0
    if not x:
        raise ValueError(f"List at {where} cannot be empty")
    depths = [_block_depth(v, f"{where}[{i}]") for i, v in enumerate(x)]
    if len(set(depths)) > 1:
        raise ValueError(f"List depths are mismatched: the lists inside {where} are not all "
                         f"nested equally deep.")
    return depths[0] + 1


def _block_leaves(x, out):
    if isinstance(x, list):
        for v in x:
            _block_leaves(v, out)
    else:
        out.append(x)


def _broadcast_arrays(*args, subok=False):
    """np.broadcast_arrays as one np.broadcast_to each (NumPy's own version drops the tape)."""
    shape = np.broadcast_shapes(*[np.shape(a) for a in args])
    return tuple(a if np.shape(a) == shape else np.broadcast_to(a, shape) for a in args)


def _meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """np.meshgrid with traced reshapes and broadcasts. (NumPy's own version changes the
    ``.shape`` of an array in place, which a traced array cannot follow.)"""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    s0 = (1,) * len(xi)
    out = [np.reshape(x, s0[:i] + (-1,) + s0[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and len(xi) > 1:
        out[0] = np.reshape(out[0], (1, -1) + s0[2:])
        out[1] = np.reshape(out[1], (-1, 1) + s0[2:])
    if not sparse:
        out = _broadcast_arrays(*out)
    return tuple(np.copy(x) for x in out) if copy else tuple(out)


def _insert(arr, obj, values, axis=None):
    """np.insert as a gather: NumPy inserts into an array of flat positions (the values get
    negative codes), and the result reads each element from `arr` or from `values`."""
    if not np.issubdtype(np.result_type(arr), np.floating):  # NumPy casts values to arr's type
        return np.insert(untrace(arr), untrace(obj), untrace(values), axis)
    vals = _cast(values, np.result_type(arr))
    codes = np.insert(_positions(arr), untrace(obj), -1 - _positions(vals), axis=axis)
    source = np.concatenate([np.reshape(arr, -1), np.reshape(vals, -1)])
    return source[np.where(codes >= 0, codes, np.size(arr) - 1 - codes)]


def _delete(arr, obj, axis=None):
    """np.delete as a gather: NumPy deletes from an array of flat positions, and the result
    reads the elements that remain."""
    return _gather(arr, np.delete(_positions(arr), untrace(obj), axis=axis))


FUNCTIONS[np.block] = _block
FUNCTIONS[np.broadcast_arrays] = _broadcast_arrays
FUNCTIONS[np.meshgrid] = _meshgrid
FUNCTIONS[np.insert] = _insert
FUNCTIONS[np.delete] = _delete
# NumPy writes these with operations traced above (where, flip, transpose, split, concatenate,
# ravel, slicing).
DECOMPOSED_FUNCTIONS.update({np.tril, np.triu, np.rot90, np.rollaxis, np.hsplit, np.vsplit,
                             np.dsplit, np.dstack, np.resize, np.trim_zeros})
