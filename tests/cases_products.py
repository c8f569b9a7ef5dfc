"""Gradcheck cases for the products: @, dot, outer, inner, einsum, tensordot (see `casefactory`): one `case(...)` line per operation."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import call, case
from strategies import arrays, broadcast_shapes, shapes


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
                "...ij,...jk->...ik", "...i,...i", "i...->...", "...,...->..."]


@st.composite
def einsum_args(draw, spec, broadcast_ellipsis=False):
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
