"""Gradcheck cases for the products: @, dot, outer, inner, einsum, tensordot, cross, kron, and
the gufuncs vecdot, matvec, vecmat (see `casefactory`): one `case(...)` line per operation."""
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import call, case
from strategies import arrays, broadcast_shapes, one_axis, shapes


MATMUL_KINDS = {
    "vector @ vector": lambda n, k, m, b1, b2: ((k,), (k,)),
    "matrix @ vector": lambda n, k, m, b1, b2: ((n, k), (k,)),
    "vector @ matrix": lambda n, k, m, b1, b2: ((k,), (k, m)),
    "matrix @ matrix": lambda n, k, m, b1, b2: ((n, k), (k, m)),
    "batch @ batch, broadcast batch axes": lambda n, k, m, b1, b2: (b1 + (n, k), b2 + (k, m)),
    "batch @ vector": lambda n, k, m, b1, b2: (b1 + (n, k), (k,)),
    "vector @ batch": lambda n, k, m, b1, b2: ((k,), b2 + (k, m)),
    "batch @ matrix": lambda n, k, m, b1, b2: (b1 + (n, k), (k, m)),
}


@st.composite
def matmul_args(draw, kind):
    n, k, m = draw(st.tuples(*[st.integers(1, 3)] * 3))
    b1, b2 = draw(broadcast_shapes(min_dims=1, max_dims=2))
    sa, sb = MATMUL_KINDS[kind](n, k, m, b1, b2)
    return (draw(arrays(sa)), draw(arrays(sb))), {}


for _kind in MATMUL_KINDS:
    case(f"a @ b ({_kind})", lambda a, b: a @ b, matmul_args(_kind), covers=[np.matmul])
case("np.matmul (any gufunc shapes)", np.matmul, hnp.mutually_broadcastable_shapes(
    signature=np.matmul.signature, max_dims=2, max_side=3).flatmap(
    lambda s: call(arrays(s.input_shapes[0]), arrays(s.input_shapes[1]))))
case("plain matrix @ x", lambda x, c: c @ x, call(arrays(shape=(3, 2)), c=arrays(shape=(2, 3))),
     covers=[np.matmul])
case("x.dot(y)", lambda x, y: x.dot(y), matmul_args("matrix @ vector"), covers=[np.dot])
for _kind in ("vector @ vector", "matrix @ vector", "vector @ matrix", "matrix @ matrix"):
    case(f"np.dot ({_kind})", np.dot, matmul_args(_kind))
case("np.dot (number, array)", np.dot, call(arrays(shape=()), arrays()))
case("np.outer", np.outer, call(arrays(), arrays()))
case("np.vdot", np.vdot, shapes(min_dims=1).flatmap(lambda s: call(arrays(s), arrays(s))))
case("np.inner (vectors)", np.inner, matmul_args("vector @ vector"))
case("np.inner (number, array)", np.inner, call(arrays(shape=()), arrays()))
case("np.inner (array, number)", np.inner, call(arrays(), arrays(shape=())))
case("np.inner (arrays, last axes)", np.inner,
     st.tuples(shapes(min_dims=1, max_dims=2), shapes(max_dims=1), st.integers(1, 3)).flatmap(
         lambda t: call(arrays(t[0] + (t[2],)), arrays(t[1] + (t[2],)))))

EINSUM_SPECS = ["ij,jk->ik", "ij,jk", "i,i->", "i,i", "i,j->ij", "ij->ji", "ij->", "ij->j", "ji",
                "bij,bjk->bik", "ij,ij->ij", "ijk,kj->i", "ab,bc,cd->ad", "a,ab,b->", "ij,k",
                "...ij,...jk->...ik", "...i,...i", "i...->...", "...,...->...",
                # a letter repeated inside one operand: diagonals and traces
                "ii->i", "ii", "ii->", "lli", "iij,jk->ik", "ii,i->i", "ii,ii->i", "iii->i",
                "ij,jj->i", "ijk,lji,lli->lki", "...ii->...i", "i...i", "ii...,i->...i"]


@st.composite
def einsum_args(draw, spec, broadcast_ellipsis=False):
    """Operands for an einsum spec: one length per letter, so a letter repeated inside an
    operand ('ii') gets a square block, and ``...`` gets broadcastable batch axes."""
    ins = spec.split("->")[0].split(",")
    sizes = {c: draw(st.integers(1, 3)) for c in sorted(set("".join(ins)) - set("."))}
    n_ell = sum("..." in s for s in ins)
    if broadcast_ellipsis:  # batch axes (2, 1) against (3,): they must be summed back
        ells = [(2, 1), (3,)][:n_ell]
    else:
        ells = list(draw(broadcast_shapes(num_shapes=n_ell, max_dims=2))) if n_ell else []
    shapes_ = []
    for s in ins:
        if "..." in s:
            head, tail = s.split("...")
            shapes_.append(tuple(sizes[c] for c in head) + ells.pop(0) + tuple(sizes[c] for c in tail))
        else:
            shapes_.append(tuple(sizes[c] for c in s))
    return tuple(draw(arrays(sh)) for sh in shapes_), {}


for _spec in EINSUM_SPECS:
    case(f"np.einsum('{_spec}')", lambda *ops, _s=_spec: np.einsum(_s, *ops), einsum_args(_spec),
         covers=[np.einsum])
case("np.einsum('...ij,...jk->...ik'), batch axes broadcast", lambda a, b: np.einsum(
    "...ij,...jk->...ik", a, b), einsum_args("...ij,...jk->...ik", broadcast_ellipsis=True),
     covers=[np.einsum])


@st.composite
def tensordot_args(draw):
    k1, k2 = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    a_extra = draw(shapes(max_dims=1))
    b_extra = draw(shapes(max_dims=1))
    form = draw(st.sampled_from(["int", "pairs"]))
    a = draw(arrays(a_extra + (k1, k2)))
    if form == "int":
        return (a, draw(arrays((k1, k2) + b_extra))), {"axes": 2}
    return (a, draw(arrays((k2,) + b_extra + (k1,)))), {"axes": ([-2, -1], [-1, 0])}


case("np.tensordot", lambda a, b, axes: np.tensordot(a, b, axes=axes), tensordot_args(),
     covers=[np.tensordot])
case("np.einsum('ii,i->i'), the diagonal broadcast from (1, 1)", lambda a, b: np.einsum(
    "ii,i->i", a, b), call(arrays(shape=(1, 1)), arrays(shape=(3,))), covers=[np.einsum])
case("np.einsum('ij,jk->ik', optimize=True)", lambda a, b: np.einsum("ij,jk->ik", a, b, optimize=True),
     einsum_args("ij,jk->ik"), covers=[np.einsum])
case("np.einsum('ab,bc,cd->ad', optimize='greedy')", lambda *ops: np.einsum(
    "ab,bc,cd->ad", *ops, optimize="greedy"), einsum_args("ab,bc,cd->ad"), covers=[np.einsum])

# The interleaved (sublist) form: operands and lists of axis labels, the output list optional.
SUBLIST_FORMS = {
    "a, [0, 1], b, [1, 2], [0, 2]": ("ij,jk", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2])),
    "a, [0, 1], b, [1, 2]": ("ij,jk", lambda a, b: np.einsum(a, [0, 1], b, [1, 2])),
    "a, [0, 1], [1, 0]": ("ij", lambda a: np.einsum(a, [0, 1], [1, 0])),
    "a, [0, 0], [0]": ("ii", lambda a: np.einsum(a, [0, 0], [0])),
    "a, [30, 2]": ("ij", lambda a: np.einsum(a, [30, 2])),
    "a, [..., 0, 1], b, [..., 1, 2], [..., 0, 2]": ("...ij,...jk", lambda a, b: np.einsum(
        a, [Ellipsis, 0, 1], b, [Ellipsis, 1, 2], [Ellipsis, 0, 2])),
    "a, [0, ...], b, [...]": ("i...,...", lambda a, b: np.einsum(a, [0, Ellipsis], b, [Ellipsis])),
}
for _form, (_spec, _fn) in SUBLIST_FORMS.items():
    case(f"np.einsum({_form})", _fn, einsum_args(_spec), covers=[np.einsum])


# np.dot beyond 2-D: the last axis of a against the second-to-last of b (or b's only axis).
@st.composite
def dot_args(draw):
    k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["N-D, vector", "vector, N-D", "N-D, N-D"]))
    a_lead = draw(shapes(min_dims=2 if kind == "N-D, vector" else 1, max_dims=2))
    b_lead = draw(shapes(min_dims=1 if kind == "vector, N-D" or len(a_lead) < 2 else 0,
                         max_dims=2))
    sa = (k,) if kind == "vector, N-D" else a_lead + (k,)
    sb = (k,) if kind == "N-D, vector" else b_lead + (k, m)
    return (draw(arrays(sa)), draw(arrays(sb))), {}


case("np.dot (N-D arrays)", np.dot, dot_args())
case("x.dot(y) (N-D arrays)", lambda x, y: x.dot(y), dot_args(), covers=[np.dot])


# np.cross: vectors of length 3 or 2 on any axis, broadcast over the others.
def _cross(a, b, **kw):
    with warnings.catch_warnings():  # NumPy 2 deprecates 2-vectors; they still work
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.cross(a, b, **kw)


@st.composite
def cross_args(draw, lengths=(3,)):
    na, nb = draw(st.sampled_from(lengths)), draw(st.sampled_from(lengths))
    ba, bb = draw(broadcast_shapes(max_dims=2))
    ia, ib = draw(st.integers(0, len(ba))), draw(st.integers(0, len(bb)))
    sa, sb = ba[:ia] + (na,) + ba[ia:], bb[:ib] + (nb,) + bb[ib:]
    kw = {"axisa": ia - len(sa) if draw(st.booleans()) else ia, "axisb": ib}
    if 3 in (na, nb):
        ndim = max(len(ba), len(bb)) + 1
        kw["axisc"] = draw(one_axis(ndim))
    return (draw(arrays(sa)), draw(arrays(sb))), kw


case("np.cross (3-vectors; axisa, axisb, axisc, broadcasting)", _cross, cross_args(),
     covers=[np.cross])
case("np.cross (2- and 3-vectors mixed)", _cross, cross_args(lengths=(2, 3)), covers=[np.cross])


@st.composite
def cross_axis_args(draw):
    """axis= sets axisa, axisb and axisc at once."""
    n, axis = draw(st.integers(1, 3)), draw(st.sampled_from([0, 1, -1, -2]))
    shape = (3, n) if axis in (0, -2) else (n, 3)
    return (draw(arrays(shape)), draw(arrays(shape))), {"axis": axis}


case("np.cross (axis=)", _cross, cross_axis_args(), covers=[np.cross])
case("a × b for plain vectors", lambda a, b: np.cross(a, b),
     call(arrays(shape=(3,)), arrays(shape=(3,))), covers=[np.cross])


# np.kron: any shapes, including different numbers of axes.
case("np.kron", np.kron, st.tuples(shapes(max_dims=3), shapes(max_dims=3)).filter(
    lambda t: np.prod(t[0]) * np.prod(t[1]) <= 36).flatmap(
    lambda t: call(arrays(t[0]), arrays(t[1]))))


# The gufuncs of NumPy 2.2 and later: vecdot, matvec, vecmat.
def _gufunc_args(ufunc):
    return hnp.mutually_broadcastable_shapes(signature=ufunc.signature, max_dims=2, max_side=3).flatmap(
        lambda s: call(arrays(s.input_shapes[0]), arrays(s.input_shapes[1])))


if hasattr(np, "matvec"):
    for _u in (np.vecdot, np.matvec, np.vecmat):
        case(f"np.{_u.__name__} (broadcast batch axes)", _u, _gufunc_args(_u))


@st.composite
def vecdot_axis_args(draw):
    """vecdot along another axis (axis=, or axes=), keepdims too."""
    n = draw(st.integers(1, 3))
    ba, bb = draw(broadcast_shapes(max_dims=2))
    ia, ib = draw(st.integers(0, len(ba))), draw(st.integers(0, len(bb)))
    sa, sb = ba[:ia] + (n,) + ba[ia:], bb[:ib] + (n,) + bb[ib:]
    kw = {"axes": [(ia,), (ib,)]}
    if draw(st.booleans()):
        kw["keepdims"] = True
        kw["axes"].append((draw(one_axis(max(len(ba), len(bb)) + 1)),))
    elif ia - len(sa) == ib - len(sb) and draw(st.booleans()):
        kw = {"axis": ia - len(sa)}
    return (draw(arrays(sa)), draw(arrays(sb))), kw


if hasattr(np, "vecdot"):
    case("np.vecdot (axis=, axes=, keepdims=)", lambda a, b, **kw: np.vecdot(a, b, **kw),
         vecdot_axis_args(), covers=[np.vecdot])
case("np.matmul (axes=)", lambda a, b, axes: np.matmul(a, b, axes=axes), st.tuples(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).flatmap(lambda t: call(
        arrays(shape=(t[1], 2, t[0])), arrays(shape=(t[1], t[2])),
        axes=st.just([(-1, 0), (0, 1), (0, -1)]))), covers=[np.matmul])
