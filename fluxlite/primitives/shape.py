"""Shape operations and indexing: the numbers move, so the gradient moves back.

None of these change a value, only where it sits. Their pullbacks put each
gradient entry back where its value came from::

    reshape    -> reshape the gradient to the input's shape
    transpose  -> transpose the gradient with the inverse permutation
    x[idx]     -> scatter the gradient into zeros at idx (repeated indices add up)
    concatenate, stack -> cut the gradient into the pieces
    broadcast_to       -> sum the gradient back (see `unbroadcast`)
"""
import numpy as np

from ..autodiff.broadcasting import unbroadcast
from ..autodiff.tracer import DECOMPOSED_FUNCTIONS, FUNCTIONS, primitive


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

COPY = primitive(lambda x: np.array(x, copy=True), "numpy.copy").defvjp(lambda g, ans, x: g)
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
