"""Products: ``@``/matmul, dot, outer, inner, vdot, einsum, tensordot, cross, kron, and
the vector gufuncs vecdot, matvec, vecmat.

For a matrix product ``C = A @ B`` the pullbacks are the two products every
backprop derivation ends with::

    dA = dC @ B.T        dB = A.T @ dC

Vectors are the same rule with a length-1 axis added and removed again, and
batched products (3-D and more) broadcast their leading axes, so the pullback
ends with `unbroadcast`. `einsum` generalises all of it: the gradient for one
operand is another einsum, of the output gradient with the other operands.
An index repeated inside one operand (``'ii->i'``, a diagonal; ``'ii'``, a trace)
reads only the diagonal, so the gradient goes back onto the diagonal: the
repeated letter is renamed and tied to the first by an identity matrix,
``dA_ij = g_i δ_ij``.

The cross product is bilinear, and the scalar triple product is cyclic,
``g · (a × b) = a · (b × g) = b · (g × a)``, so its pullbacks are cross products again::

    da = b × g        db = g × a

>>> import numpy as np, fluxlite as fl
>>> fl.gradient(lambda A: np.einsum("ii", A), np.ones((2, 2)))[0]   # d trace(A) / dA = I
array([[1., 0.],
       [0., 1.]])
>>> fl.gradient(lambda a: np.cross(a, [0.0, 0.0, 1.0])[0], np.ones(3))[0]
array([0., 1., 0.])
"""
import warnings

import numpy as np

from ..autodiff.broadcasting import unbroadcast as ub
from ..autodiff.errors import InPlaceError
from ..autodiff.tracer import FUNCTIONS, UFUNCS, Tracked, _refuse_in_place, live, primitive
from .shape import _Variadic


# --------------------------------------------------------------------------- out=

def _into_out(func, args, kwargs, out):
    """NumPy's ``out=``: refused when a traced array takes part, since the result would be
    written into an array the tape does not know; otherwise plain NumPy."""
    name = f"numpy.{func.__name__}"
    for a in tuple(args) + (out,):
        if type(a) is Tracked and live(a):
            raise InPlaceError(
                f"{name}(..., out=...) inside gradient: writing the result into an existing array "
                f"takes it off the record, so it would carry no gradient.\nWrite the result to a "
                f"new array instead: `c = {name}(...)` without out=.")
    if type(out) is Tracked:
        _refuse_in_place(out, f"{name}(..., out=...)")  # in use by another thread's gradient call
    plain = [np.ndarray.view(a, np.ndarray) if type(a) is Tracked else a for a in args]
    func(*plain, out=np.ndarray.view(out, np.ndarray) if type(out) is Tracked else out, **kwargs)
    return out


# --------------------------------------------------------------------------- gufunc keywords

def _gufunc_layout(kw, in_cores):
    """Where the core axes of each input and of the output are, from a gufunc's ``axes=``,
    ``axis=`` and ``keepdims=`` keywords; None when they are the trailing axes (the default).
    Returns ``(input axes, output axes, keepdims)``."""
    keep = bool(kw.get("keepdims", False))
    trailing = [tuple(range(-n, 0)) for n in in_cores]
    if kw.get("axis") is not None:
        ins = [(kw["axis"],)] * len(in_cores)
        out = None
    elif kw.get("axes") is not None:
        given = [tuple(np.atleast_1d(a).tolist()) for a in kw["axes"]]
        ins, out = given[:len(in_cores)], (given[len(in_cores)] if len(given) > len(in_cores)
                                            else None)
    elif keep:
        ins, out = trailing, None
    else:
        return None
    if out is None:
        out = ins[0] if keep else ()
    return ins, out, keep


def _on_trailing_axes(core_vjp, k, g, args, kw, in_cores):
    """Pullback `core_vjp` (written for core axes at the end) for a gufunc called with
    ``axes=``, ``axis=`` or ``keepdims=``: move the core axes to the end, pull back, move
    them home again."""
    layout = _gufunc_layout(kw, in_cores)
    if layout is None:
        return core_vjp(g, None, *args)
    ins, out, keep = layout
    std = [np.moveaxis(a, ax, tuple(range(-len(ax), 0))) if ax else a for a, ax in zip(args, ins)]
    if out:
        g = np.moveaxis(g, out, tuple(range(-len(out), 0)))
        if keep:  # the kept length-1 axes: the core pullback expects them gone
            g = np.reshape(g, np.shape(g)[:-len(out)])
    grad = core_vjp(g, None, *std)
    return np.moveaxis(grad, tuple(range(-len(ins[k]), 0)), ins[k]) if ins[k] else grad


def _gufunc_vjp(core_vjp, k, cores):
    """The pullback for argument `k` of a gufunc: `core_vjp` when its core axes are the
    trailing ones, through `_on_trailing_axes` when keywords place them elsewhere."""
    def vjp(g, ans, *args, **kw):
        if kw.get("axes") is None and kw.get("axis") is None and not kw.get("keepdims"):
            return core_vjp(g, ans, *args)
        return _on_trailing_axes(core_vjp, k, g, args, kw, cores(*args))
    return vjp


# --------------------------------------------------------------------------- matmul

def _matmul_vjp_a(g, ans, a, b, **kw):
    if kw:  # axes=, or dtype= and the like: the core axes are moved to the end first
        return _gufunc_vjp(_matmul_vjp_a, 0, _matmul_cores)(g, ans, a, b, **kw)
    try:
        an, bn = a.ndim, b.ndim
    except AttributeError:  # a constant given as a list
        return _matmul_vjp_a(g, ans, np.asarray(a), np.asarray(b))
    if bn == 1:
        if an == 1:
            return g * b
        return g[..., None] * b
    if an == 1:
        return ub((b @ g[..., None])[..., 0], a)
    return ub(g @ np.swapaxes(b, -1, -2), a)


def _matmul_vjp_b(g, ans, a, b, **kw):
    if kw:
        return _gufunc_vjp(_matmul_vjp_b, 1, _matmul_cores)(g, ans, a, b, **kw)
    try:
        an, bn = a.ndim, b.ndim
    except AttributeError:
        return _matmul_vjp_b(g, ans, np.asarray(a), np.asarray(b))
    if an == 1:
        if bn == 1:
            return g * a
        return ub(a[:, None] * g[..., None, :], b)
    if bn == 1:
        return ub((np.swapaxes(a, -1, -2) @ g[..., None])[..., 0], b)
    return ub(np.swapaxes(a, -1, -2) @ g, b)


def _matmul_cores(a, b):
    return [min(np.ndim(a), 2), min(np.ndim(b), 2)]


MATMUL = primitive(np.matmul, "numpy.matmul").defvjp(_matmul_vjp_a, _matmul_vjp_b)
UFUNCS[np.matmul] = MATMUL


# vecdot (n),(n)->(), matvec (m,n),(n)->(m), vecmat (n),(n,m)->(m): NumPy 2.2's gufuncs.
# Real arrays only (fluxlite refuses complex ones), so vecdot's conjugation does nothing.
def _vecdot_vjp(k):
    return lambda g, ans, a, b: ub(g[..., None] * (b if k == 0 else a), (a, b)[k])


def _matvec_vjp_A(g, ans, A, v):
    return ub(g[..., :, None] * v[..., None, :], A)


def _matvec_vjp_v(g, ans, A, v):
    return ub(np.vecmat(g, A), v)


def _vecmat_vjp_x(g, ans, x, A):
    return ub(np.matvec(A, g), x)


def _vecmat_vjp_A(g, ans, x, A):
    return ub(x[..., :, None] * g[..., None, :], A)


if hasattr(np, "vecdot"):
    UFUNCS[np.vecdot] = primitive(np.vecdot, "numpy.vecdot").defvjp(
        *[_gufunc_vjp(_vecdot_vjp(k), k, lambda a, b: [1, 1]) for k in (0, 1)])
if hasattr(np, "matvec"):
    UFUNCS[np.matvec] = primitive(np.matvec, "numpy.matvec").defvjp(
        _gufunc_vjp(_matvec_vjp_A, 0, lambda A, v: [2, 1]),
        _gufunc_vjp(_matvec_vjp_v, 1, lambda A, v: [2, 1]))
    UFUNCS[np.vecmat] = primitive(np.vecmat, "numpy.vecmat").defvjp(
        _gufunc_vjp(_vecmat_vjp_x, 0, lambda x, A: [1, 2]),
        _gufunc_vjp(_vecmat_vjp_A, 1, lambda x, A: [1, 2]))


# --------------------------------------------------------------------------- dot, outer, inner, vdot

def _not_aligned(a, b):
    """NumPy's own error for np.dot of shapes that do not fit (checked on stand-ins)."""
    np.dot(*[np.broadcast_to(0.0, np.shape(x)) for x in (a, b)])


def _dot(a, b, out=None):
    """np.dot: a product with a number; matmul for vectors and matrices; beyond 2-D,
    ``dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])``, a tensordot of the last
    axis of a with the second-to-last of b (no broadcasting, unlike matmul)."""
    if out is not None:
        return _into_out(np.dot, (a, b), {}, out)
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    axis_b = max(nb - 2, 0)
    if np.shape(a)[-1] != np.shape(b)[axis_b]:
        _not_aligned(a, b)
    if na <= 2 and nb <= 2:
        return MATMUL(a, b)
    return _tensordot(a, b, axes=([na - 1], [axis_b]))


def _outer(a, b, out=None):
    if out is not None:
        return _into_out(np.outer, (a, b), {}, out)
    return np.multiply(np.reshape(a, (-1, 1)), np.reshape(b, (1, -1)))


def _inner(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:  # NumPy's inner with a number is a product
        return np.multiply(a, b)
    if np.ndim(a) <= 1 and np.ndim(b) <= 1:
        return _dot(a, b)
    return np.tensordot(a, b, axes=(-1, -1))


FUNCTIONS[np.dot] = _dot
FUNCTIONS[np.outer] = _outer
FUNCTIONS[np.vdot] = lambda a, b: _dot(np.ravel(a), np.ravel(b))
FUNCTIONS[np.inner] = _inner


# --------------------------------------------------------------------------- einsum
# Subscripts are parsed into explicit form, e.g. "ij,jk->ik".
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(subscripts, ndims):
    subscripts = subscripts.replace(" ", "")
    lhs, arrow, rhs = subscripts.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ValueError(f"einsum: {len(ins)} operand subscripts for {len(ndims)} arrays")
    used = set(subscripts) - set(".,->")
    spare = [c for c in _LETTERS if c not in used]
    n_ell = max([nd - (len(s) - 3) for s, nd in zip(ins, ndims) if "..." in s], default=0)
    ell = "".join(spare[:n_ell])
    ins = [s.replace("...", ell[n_ell - (nd - (len(s) - 3)):]) if "..." in s else s
           for s, nd in zip(ins, ndims)]
    if arrow:
        out = rhs.replace("...", ell)
    else:  # NumPy's implicit output: the letters used once, in alphabetical order
        counts = {c: "".join(ins).count(c) for c in set("".join(ins))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return tuple(ins), out


def _sublist(labels):
    """One sublist of einsum's interleaved form as letters: 0-25 are A-Z, 26-51 a-z, as in NumPy."""
    letters = ""
    for x in labels:
        if x is Ellipsis:
            letters += "..."
        elif isinstance(x, (int, np.integer)) and 0 <= x < 52:
            letters += chr(ord("A") + x) if x < 26 else chr(ord("a") + x - 26)
        else:
            raise ValueError(f"einsum: subscript {x!r} is not within the valid range, "
                             f"it must be between 0 and 52")
    return letters


def _from_sublists(operands):
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as ``('AB,BC->AC', [a, b])``."""
    n = len(operands) // 2
    subscripts = ",".join(_sublist(s) for s in operands[1:2 * n:2])
    if len(operands) % 2:  # an output sublist at the end
        subscripts += "->" + _sublist(operands[-1])
    return subscripts, operands[0:2 * n:2]


def _letter_sizes(ins, arrays):
    """The length of each letter: the largest among the operands (length-1 axes broadcast)."""
    sizes = {}
    for s, a in zip(ins, arrays):
        for c, n in zip(s, np.shape(a)):
            sizes[c] = max(sizes.get(c, 1), n)
    return sizes


def _einsum_vjp(k):
    def vjp(g, ans, *arrays, spec, **kw):
        ins, out = spec
        others = [(s, a) for i, (s, a) in enumerate(zip(ins, arrays)) if i != k]
        ops = [g] + [a for _, a in others]
        subs = [out] + [s for s, _ in others]
        dtype = getattr(g, "dtype", np.float64)
        used = set(out).union(*ins)
        fresh = iter(c for c in _LETTERS if c not in used)
        target, seen, sizes = "", set(), None
        for c in ins[k]:
            if c in seen:  # a repeated letter reads the diagonal: the gradient goes back onto it
                sizes = sizes or _letter_sizes(ins, arrays)
                f = next(fresh)
                ops.append(np.eye(sizes[c], dtype=dtype))
                subs.append(c + f)
                target += f
            else:
                seen.add(c)
                target += c
        have = set().union(*subs)
        shape = np.shape(arrays[k])
        lonely = "".join(c for c in dict.fromkeys(target) if c not in have)
        if lonely:  # letters summed away only in operand k: broadcast back with ones
            ops.append(np.ones([shape[target.index(c)] for c in lonely], dtype=dtype))
            subs.append(lonely)
        grad = np.einsum(",".join(subs) + "->" + target, *ops, optimize=kw.get("optimize", False))
        # axes that broadcasting stretched (length 1 in operand k only) are summed back
        grad = ub(grad, arrays[k])
        if kw.get("dtype") is not None and np.result_type(grad) != np.result_type(arrays[k]):
            grad = grad.astype(np.result_type(arrays[k]))
        return grad
    return vjp


def _einsum_fwd(*arrays, spec, **kw):
    return np.einsum(",".join(spec[0]) + "->" + spec[1], *arrays, **kw)


EINSUM = _Variadic(_einsum_fwd, _einsum_vjp, "numpy.einsum")


def _einsum(*operands, out=None, optimize=False, **kwargs):
    """np.einsum in its string form (``'ij,jk->ik'``) or its interleaved form
    (``a, [0, 1], b, [1, 2], [0, 2]``), with ``...``, repeated letters and ``optimize=``
    (given to NumPy); ``dtype=``, ``order=`` and ``casting=`` go to NumPy's forward pass."""
    if out is not None:
        return _into_out(np.einsum, operands, dict(optimize=optimize, **kwargs), out)
    if isinstance(operands[0], str):
        subscripts, arrays = operands[0], operands[1:]
    else:
        subscripts, arrays = _from_sublists(operands)
    spec = _parse_einsum(subscripts, [np.ndim(a) for a in arrays])
    if optimize is not False:
        kwargs["optimize"] = optimize
    return EINSUM(*arrays, spec=spec, **kwargs)


FUNCTIONS[np.einsum] = _einsum


def _tensordot(a, b, axes=2):
    """np.tensordot as an einsum: the summed axes of a and b share letters.
    (NumPy's own version calls np.asarray, which would drop the tape.)"""
    na, nb = np.ndim(a), np.ndim(b)
    if np.ndim(axes) == 0:
        axes = (list(range(na - int(axes), na)), list(range(int(axes))))
    sum_a, sum_b = ([int(i) % n if n else int(i) for i in np.atleast_1d(ax)]
                    for ax, n in zip(axes, (na, nb)))
    if len(sum_a) != len(sum_b) or any(np.shape(a)[i] != np.shape(b)[j]
                                       for i, j in zip(sum_a, sum_b)):
        raise ValueError("shape-mismatch for sum")
    sa = _LETTERS[:na]
    sb = [_LETTERS[na + j] for j in range(nb)]
    for i, j in zip(sum_a, sum_b):
        sb[j] = sa[i]
    sb = "".join(sb)
    out = "".join(c for i, c in enumerate(sa) if i not in sum_a) + "".join(
        c for j, c in enumerate(sb) if j not in sum_b)
    return EINSUM(a, b, spec=((sa, sb), out))


FUNCTIONS[np.tensordot] = _tensordot


# --------------------------------------------------------------------------- cross, kron

def _cross_fwd(a, b):
    return np.cross(a, b)


CROSS = primitive(_cross_fwd, "numpy.cross").defvjp(
    lambda g, ans, a, b: ub(np.cross(b, g), a),
    lambda g, ans, a, b: ub(np.cross(g, a), b))


def _as_3d(v):
    """Vectors of length 2 get a third component 0 (that is what np.cross assumes)."""
    if np.shape(v)[-1] == 3:
        return v
    return np.concatenate([v, np.zeros(np.shape(v)[:-1] + (1,), np.result_type(v))], axis=-1)


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """np.cross: vectors of length 3 (or 2, padded with a zero third component) along
    `axisa` / `axisb`, broadcast over the other axes, the result's vectors along `axisc`;
    `axis` sets all three. 2-vectors alone give the third component only, as in NumPy."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if np.ndim(a) < 1 or np.ndim(b) < 1:
        raise ValueError("At least one array has zero dimension")
    a = np.moveaxis(a, _axis(axisa, np.ndim(a), "axisa"), -1)
    b = np.moveaxis(b, _axis(axisb, np.ndim(b), "axisb"), -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=3)
    c = CROSS(_as_3d(a), _as_3d(b))
    if na == 2 and nb == 2:
        return c[..., 2]
    return np.moveaxis(c, -1, _axis(axisc, np.ndim(c), "axisc"))


def _axis(ax, ndim, name):
    if not -ndim <= ax < ndim:
        raise np.exceptions.AxisError(ax, ndim, name)
    return ax % ndim


FUNCTIONS[np.cross] = _cross


def _kron(a, b):
    """np.kron with traced reshapes and a product: with both shapes padded to the same
    length, ``a`` of shape (m, n) becomes (m, 1, n, 1) and ``b`` of shape (p, q) becomes
    (1, p, 1, q); their product, reshaped to (m p, n q), is the Kronecker product."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    nd = max(na, nb)
    sa = (1,) * (nd - na) + np.shape(a)
    sb = (1,) * (nd - nb) + np.shape(b)
    spread_a = np.reshape(a, tuple(n for m in sa for n in (m, 1)))
    spread_b = np.reshape(b, tuple(n for m in sb for n in (1, m)))
    return np.reshape(spread_a * spread_b, tuple(m * n for m, n in zip(sa, sb)))


FUNCTIONS[np.kron] = _kron
