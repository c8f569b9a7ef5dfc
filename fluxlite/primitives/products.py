"""Products: ``@``/matmul, dot, outer, inner, vdot, einsum and tensordot.

For a matrix product ``C = A @ B`` the pullbacks are the two products every
backprop derivation ends with::

    dA = dC @ B.T        dB = A.T @ dC

Vectors are the same rule with a length-1 axis added and removed again, and
batched products (3-D and more) broadcast their leading axes, so the pullback
ends with `unbroadcast`. `einsum` generalises all of it: the gradient for one
operand is another einsum, of the output gradient with the other operands.
"""
import numpy as np

from ..autodiff.broadcasting import unbroadcast as ub
from ..autodiff.tracer import FUNCTIONS, UFUNCS, NoGradientRule, primitive
from .shape import _Variadic


def _matmul_vjp_a(g, ans, a, b):
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return g[..., None] * b
    if a.ndim == 1:
        return ub((b @ g[..., None])[..., 0], a)
    return ub(g @ np.swapaxes(b, -1, -2), a)


def _matmul_vjp_b(g, ans, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return ub(a[:, None] * g[..., None, :], b)
    if b.ndim == 1:
        return ub((np.swapaxes(a, -1, -2) @ g[..., None])[..., 0], b)
    return ub(np.swapaxes(a, -1, -2) @ g, b)


MATMUL = primitive(np.matmul, "numpy.matmul").defvjp(_matmul_vjp_a, _matmul_vjp_b)
UFUNCS[np.matmul] = MATMUL


def _dot(a, b, out=None):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return MATMUL(a, b)
    raise NoGradientRule("fluxlite traces numpy.dot for vectors and matrices only.\n"
                         "For stacks of matrices use `a @ b` (np.matmul) or np.einsum.")


def _outer(a, b, out=None):
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


# einsum: subscripts are parsed into explicit form, e.g. "ij,jk->ik".
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
    else:
        counts = {c: "".join(ins).count(c) for c in set("".join(ins))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    for s in ins:
        if len(set(s)) != len(s):
            raise NoGradientRule(f"fluxlite has no gradient rule for numpy.einsum with a repeated index "
                                 f"inside one operand ({s!r}, a diagonal or trace).\n"
                                 f"Multiply by np.eye(n) and sum instead.")
    return tuple(ins), out


def _einsum_vjp(k):
    def vjp(g, ans, *arrays, spec):
        ins, out = spec
        others = [(s, a) for i, (s, a) in enumerate(zip(ins, arrays)) if i != k]
        have = set(out).union(*[set(s) for s, _ in others]) if others else set(out)
        lonely = "".join(c for c in ins[k] if c not in have)
        ops = [g] + [a for _, a in others]
        subs = [out] + [s for s, _ in others]
        if lonely:  # letters summed away only in operand k: broadcast back with ones
            shape = np.shape(arrays[k])
            ops.append(np.ones([shape[ins[k].index(c)] for c in lonely]))
            subs.append(lonely)
        # axes that broadcasting stretched (length 1 in operand k only) are summed back
        return ub(np.einsum(",".join(subs) + "->" + ins[k], *ops), arrays[k])
    return vjp


EINSUM = _Variadic(lambda *arrays, spec: np.einsum(",".join(spec[0]) + "->" + spec[1], *arrays),
                   _einsum_vjp, "numpy.einsum")


def _einsum(*operands, out=None, optimize=False, **kwargs):
    if not isinstance(operands[0], str):
        raise NoGradientRule("fluxlite traces numpy.einsum in its string form, "
                             "e.g. np.einsum('ij,jk->ik', A, B).")
    arrays = operands[1:]
    spec = _parse_einsum(operands[0], [np.ndim(a) for a in arrays])
    return EINSUM(*arrays, spec=spec)


FUNCTIONS[np.einsum] = _einsum


def _tensordot(a, b, axes=2):
    """np.tensordot as an einsum: the summed axes of a and b share letters.
    (NumPy's own version calls np.asarray, which would drop the tape.)"""
    na, nb = np.ndim(a), np.ndim(b)
    if np.ndim(axes) == 0:
        axes = (list(range(na - int(axes), na)), list(range(int(axes))))
    sum_a, sum_b = ([int(i) % n for i in np.atleast_1d(ax)] for ax, n in zip(axes, (na, nb)))
    if len(sum_a) != len(sum_b):
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
