"""Gradcheck cases for the np.linalg functions (see `casefactory`): one `case(...)` line per operation.

Matrices are built so that the function is smooth where they are drawn, since a finite
difference across a kink or a jump means nothing: invertible ones as ``M + (n + ½) I`` with
entries of M in [-1, 1] (each row's diagonal then outweighs the rest), positive definite ones as
``M Mᵀ + n I``, and matrices for eigh, svd, pinv and qr from random orthogonal factors and
well-separated values (``Q diag(w) Qᵀ``, ``U diag(s) Vᵀ``), so no two eigenvalues or singular
values come close. Sizes are 1 to 3, with up to two batch axes, in any memory layout.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from casefactory import call, case, one
from strategies import arrays, layout, one_axis, separated, shapes, with_layout


@st.composite
def norm_args(draw, ords=(None,)):
    x = draw(arrays(min_dims=1, avoid=(0.0,), gap=0.2))
    kw = {}
    o = draw(st.sampled_from(ords))
    if o is not None:
        kw["ord"] = o
    if draw(st.booleans()) and x.ndim >= 1:
        kw["axis"] = draw(one_axis(x.ndim))
        kw["keepdims"] = draw(st.booleans())
    elif o is None and x.ndim >= 2 and draw(st.booleans()):
        kw["axis"] = tuple(draw(st.permutations(range(-x.ndim, 0)))[:2])
        kw["keepdims"] = draw(st.booleans())
    return (x,), kw


case("np.linalg.norm (2-norm, Frobenius; axis, keepdims)",
     lambda x, **kw: np.linalg.norm(x, **kw), norm_args(), covers=[np.linalg.norm])
case("np.linalg.norm(x, 'fro') of a matrix", lambda x: np.linalg.norm(x, "fro"),
     one(shape=(2, 3), avoid=(0.0,)), covers=[np.linalg.norm])


@st.composite
def vector_norm_args(draw):
    x = draw(separated(min_dims=1, max_dims=1, lo=0.2, hi=2.0))
    signs = draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([-1.0, 1.0])))
    return (x * signs,), {"ord": draw(st.sampled_from([1, 3, 0.5, np.inf, -np.inf, -1]))}


case("np.linalg.norm(vector, ord=1, 3, 0.5, ±inf, -1)", lambda x, ord: np.linalg.norm(x, ord=ord),
     vector_norm_args(), covers=[np.linalg.norm])


@st.composite
def matrix_norm_args(draw):
    """Entries ±2^k (scaled) with distinct k: no two row or column sums of |x| can tie."""
    shape = draw(shapes(min_dims=2, max_dims=3).filter(lambda s: np.prod(s) <= 12))
    n = int(np.prod(shape))
    k = np.array(draw(st.permutations(range(n))), dtype=float)
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    x = with_layout((signs * 2.0 ** (k - n + 3)).reshape(shape), draw(layout))
    kw = {"ord": draw(st.sampled_from([1, -1, np.inf, -np.inf, "fro", None]))}
    if x.ndim == 3 or draw(st.booleans()):
        kw["axis"] = tuple(draw(st.permutations(range(-x.ndim, 0)))[:2])
        kw["keepdims"] = draw(st.booleans())
    elif draw(st.booleans()):
        kw["keepdims"] = True
    return (x,), kw


case("np.linalg.norm(matrix, ord=±1, ±inf, 'fro'; axis pairs, keepdims)",
     lambda x, **kw: np.linalg.norm(x, **kw), matrix_norm_args(), covers=[np.linalg.norm])


# --------------------------------------------------------------------------- matrix builders

def batches(max_dims=2):
    """Leading batch axes: none, or up to `max_dims` axes of length 1 or 2."""
    return st.lists(st.integers(1, 2), max_size=max_dims).map(tuple)


def sizes(lo=1, hi=3):
    return st.integers(lo, hi)


@st.composite
def invertible(draw, n=None, batch=None):
    """``M + (n + ½) I``: every row's diagonal outweighs its other entries, so the matrix is
    invertible with a bounded condition number; rows are sometimes negated (negative dets)."""
    n = draw(sizes()) if n is None else n
    batch = draw(batches()) if batch is None else batch
    m = draw(arrays(batch + (n, n), -1.0, 1.0, noncontiguous=False)) + (n + 0.5) * np.eye(n)
    signs = draw(hnp.arrays(np.float64, batch + (n, 1), elements=st.sampled_from([-1.0, 1.0])))
    return with_layout(m * signs, draw(layout))


@st.composite
def positive_definite(draw, n=None, batch=None):
    """``M Mᵀ + n I``."""
    n = draw(sizes()) if n is None else n
    batch = draw(batches()) if batch is None else batch
    m = draw(arrays(batch + (n, n), -1.0, 1.0, noncontiguous=False))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


@st.composite
def orthogonal(draw, n, batch):
    """Q of the QR decomposition of a random matrix (orthogonal whatever the matrix)."""
    return np.linalg.qr(draw(arrays(batch + (n, n), noncontiguous=False)))[0]


@st.composite
def symmetric(draw, n=None, batch=None, triangle=None):
    """``Q diag(w) Qᵀ`` with eigenvalues w at least 4 / (2 · their number) apart. With
    `triangle` 'L' ('U'), random numbers are put in the other, unread, triangle."""
    n = draw(sizes()) if n is None else n
    batch = draw(batches()) if batch is None else batch
    q = draw(orthogonal(n, batch))
    w = draw(separated(shape=batch + (n,), noncontiguous=False))
    a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    if triangle is not None:
        noise = draw(arrays(batch + (n, n), noncontiguous=False))
        a = a + (np.triu(noise, 1) if triangle == "L" else np.tril(noise, -1))
    return with_layout(a, draw(layout))


@st.composite
def with_singular_values(draw, m=None, n=None, batch=None, lo=0.3, hi=2.5):
    """``U diag(s) Vᵀ`` (m x n) with singular values s in [lo, hi], well apart."""
    m = draw(sizes()) if m is None else m
    n = draw(sizes()) if n is None else n
    batch = draw(batches()) if batch is None else batch
    k = min(m, n)
    u, v = draw(orthogonal(m, batch)), draw(orthogonal(n, batch))
    s = draw(separated(shape=batch + (k,), lo=lo, hi=hi, noncontiguous=False))
    a = (u[..., :, :k] * s[..., None, :]) @ np.swapaxes(v[..., :, :k], -1, -2)
    return with_layout(a, draw(layout))


@st.composite
def of_rank(draw, r_below=1):
    """A square matrix of rank n - r_below or less: B @ C with B n x r, C r x n (r may be 0: the
    zero matrix)."""
    n = draw(sizes())
    batch = draw(batches(1))
    r = draw(st.integers(0, max(0, n - r_below)))
    b = draw(arrays(batch + (n, r), avoid=(0.0,), noncontiguous=False))  # no underflow in det
    c = draw(arrays(batch + (r, n), avoid=(0.0,), noncontiguous=False))
    return with_layout(b @ c, draw(layout))


def sign_free(*vectors):
    """For each k, the outer products of column k of the given matrices with each other.

    Eigenvectors and singular vectors are unique only up to sign (u_k and v_k of the SVD flip
    together), and LAPACK's choice of sign can jump under a tiny change of the matrix, so a
    finite difference of the raw vectors would compare two different choices. These products
    do not depend on the signs and still determine the vectors, so the gradcheck is meaningful
    (the raw vectors are checked at fixed matrices in test_linalg_rules.py)."""
    return np.concatenate([np.einsum("...ik,...jk->...kij", a, b).reshape(a.shape[:-2] + (-1,))
                           for i, a in enumerate(vectors) for b in vectors[i:]], axis=-1)


# --------------------------------------------------------------------------- inv, solve, det

case("np.linalg.inv (stacks)", np.linalg.inv, call(invertible()))


@st.composite
def solve_args(draw, vector):
    n = draw(sizes())
    ba, bb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2)).input_shapes
    a = draw(invertible(n, ba))
    b = draw(arrays((n,) if vector else bb + (n, draw(sizes()))))
    return (a, b), {}


case("np.linalg.solve(a, b) (b a stack of matrices, batch axes broadcast)", np.linalg.solve,
     solve_args(vector=False))
case("np.linalg.solve(a, b) (b a vector: b.ndim == 1)", np.linalg.solve, solve_args(vector=True))
case("np.linalg.det (any matrix: singular ones too, zeros first)", np.linalg.det,
     call(st.tuples(sizes(), batches()).flatmap(lambda t: arrays(t[1] + (t[0], t[0])))))
case("np.linalg.det (singular matrices: rank below n)", np.linalg.det, call(of_rank()))
case("np.linalg.slogdet(a).logabsdet (sign ±)", lambda a: np.linalg.slogdet(a).logabsdet,
     call(invertible()), covers=[np.linalg.slogdet])
case("np.linalg.slogdet(a)[1] * sign", lambda a: np.linalg.slogdet(a)[1] * np.linalg.slogdet(a)[0],
     call(invertible()), covers=[np.linalg.slogdet])
case("np.linalg.pinv (full rank: tall, wide, square; stacks)", np.linalg.pinv,
     call(with_singular_values()))
case("np.linalg.pinv(a, rcond=...), pinv(a, rtol=...)", lambda a, **kw: np.linalg.pinv(a, **kw),
     st.one_of(call(with_singular_values(), rcond=st.just(1e-10)),
               call(with_singular_values(), rtol=st.sampled_from([None, 1e-10]))),
     covers=[np.linalg.pinv])

# --------------------------------------------------------------------------- decompositions

@st.composite
def noisy_positive_definite(draw, triangle):
    """A positive definite matrix with random numbers in the triangle that cholesky does not
    read (the strict upper one for `triangle` 'L')."""
    a = draw(positive_definite())
    noise = draw(arrays(a.shape, noncontiguous=False))
    a = a + (np.triu(noise, 1) if triangle == "L" else np.tril(noise, -1))
    return with_layout(a, draw(layout))


case("np.linalg.cholesky (lower; the upper triangle is not read)", np.linalg.cholesky,
     call(noisy_positive_definite("L")))
case("np.linalg.cholesky(a, upper=True) (the lower triangle is not read)",
     lambda a: np.linalg.cholesky(a, upper=True), call(noisy_positive_definite("U")),
     covers=[np.linalg.cholesky])
for _uplo in ("L", "U"):
    case(f"np.linalg.eigvalsh(a, UPLO={_uplo!r}) (the other triangle holds noise)",
         lambda a, UPLO: np.linalg.eigvalsh(a, UPLO), call(symmetric(triangle=_uplo),
                                                           UPLO=st.just(_uplo)),
         covers=[np.linalg.eigvalsh])
    case(f"np.linalg.eigh(a, UPLO={_uplo!r}).eigenvalues", lambda a, UPLO: np.linalg.eigh(a, UPLO)[0],
         call(symmetric(triangle=_uplo), UPLO=st.just(_uplo)), covers=[np.linalg.eigh])
    case(f"np.linalg.eigh(a, UPLO={_uplo!r}) eigenvectors, sign-free (v_k v_kᵀ)",
         lambda a, UPLO: sign_free(np.linalg.eigh(a, UPLO).eigenvectors),
         call(symmetric(triangle=_uplo), UPLO=st.just(_uplo)), covers=[np.linalg.eigh])
case("np.linalg.eigh: eigenvalues and eigenvectors together (noise in the upper triangle)",
     lambda a: (lambda w, v: np.concatenate([w, sign_free(v * w[..., None, :])], axis=-1))(
         *np.linalg.eigh(a)), call(symmetric(triangle="L")), covers=[np.linalg.eigh])
case("np.linalg.svd(a, compute_uv=False) (tall, wide, square; stacks)",
     lambda a: np.linalg.svd(a, compute_uv=False), call(with_singular_values()),
     covers=[np.linalg.svd])
case("np.linalg.svdvals", np.linalg.svdvals, call(with_singular_values()))
case("np.linalg.svd(a, full_matrices=False): U, S, Vh, sign-free (u_k u_kᵀ, u_k v_kᵀ, v_k v_kᵀ)",
     lambda a: (lambda u, s, vh: np.concatenate([s, sign_free(u, np.swapaxes(vh, -1, -2))], axis=-1))(
         *np.linalg.svd(a, full_matrices=False)), call(with_singular_values()),
     covers=[np.linalg.svd])
case("np.linalg.svd(square a) (full_matrices=True is fine when square): U S Vh, sign-free",
     lambda a: (lambda u, s, vh: sign_free(u * s[..., None, :], np.swapaxes(vh, -1, -2)))(
         *np.linalg.svd(a)), sizes().flatmap(lambda n: call(with_singular_values(n, n))),
     covers=[np.linalg.svd])
case("np.linalg.svd: only U used (the other factors get zero gradients)",
     lambda a: sign_free(np.linalg.svd(a, full_matrices=False)[0]), call(with_singular_values()),
     covers=[np.linalg.svd])
case("np.linalg.svd: only Vh used", lambda a: sign_free(np.linalg.svd(a, full_matrices=False)[2].mT),
     call(with_singular_values()), covers=[np.linalg.svd])


@st.composite
def singular_norm_args(draw):
    """A stack of matrices with separated singular values, its two matrix axes moved to random
    places, and the matching axis=(r, c)."""
    a = draw(with_singular_values(batch=draw(batches(1))))
    nd = a.ndim
    r, c = draw(st.permutations(range(nd)))[:2]
    x = np.moveaxis(a, (-2, -1), (r, c))
    kw = {"ord": draw(st.sampled_from(["nuc", 2, -2]))}
    if nd > 2 or draw(st.booleans()):
        kw["axis"] = (r - nd if draw(st.booleans()) else r, c)
    if draw(st.booleans()):
        kw["keepdims"] = True
    if nd == 2 and "axis" not in kw:  # axis=None means (0, 1)
        x = a
    return (with_layout(x, draw(layout)),), kw


case("np.linalg.norm(matrix, ord='nuc', 2, -2; axis pairs, keepdims)",
     lambda x, **kw: np.linalg.norm(x, **kw), singular_norm_args(), covers=[np.linalg.norm])
@st.composite
def qr_input(draw):
    """Full column rank, and for a wide matrix [X Y] (m < n) an invertible X: QR is smooth there."""
    m, n = draw(sizes()), draw(sizes())
    batch = draw(batches())
    if m >= n:
        return draw(with_singular_values(m, n, batch))
    x = draw(with_singular_values(m, m, batch))
    return with_layout(np.concatenate([x, draw(arrays(batch + (m, n - m)))], axis=-1), draw(layout))


case("np.linalg.qr (reduced: tall, square, wide; stacks), sign-free (q_k q_kᵀ, q_k r_k, r_k r_kᵀ)",
     lambda a: (lambda q, r: sign_free(q, np.swapaxes(r, -1, -2)))(*np.linalg.qr(a)),
     call(qr_input()), covers=[np.linalg.qr])
case("np.linalg.qr(a, mode='r'), sign-free (r_k r_kᵀ)",
     lambda a: sign_free(np.swapaxes(np.linalg.qr(a, mode="r"), -1, -2)),
     call(qr_input()), covers=[np.linalg.qr])

# --------------------------------------------------------------------------- built from those


@st.composite
def lstsq_args(draw):
    n = draw(sizes())
    m = draw(sizes(n, 4))
    a = draw(with_singular_values(m, n, ()))
    b = draw(arrays((m,) if draw(st.booleans()) else (m, draw(sizes()))))
    return (a, b), {}


case("np.linalg.lstsq: solution and residuals", lambda a, b: np.concatenate(
    [np.ravel(np.linalg.lstsq(a, b)[0]), np.linalg.lstsq(a, b)[1], np.linalg.lstsq(a, b)[3]]),
    lstsq_args(), covers=[np.linalg.lstsq])
case("np.linalg.cond (p=None, 2, -2, 'fro', 'nuc')", lambda a, p: np.linalg.cond(a, p),
     call(with_singular_values(lo=0.5, hi=2.0).filter(lambda a: a.shape[-1] == a.shape[-2]),
          p=st.sampled_from([None, 2, -2, "fro", "nuc"])), covers=[np.linalg.cond])


@st.composite
def tensor_args(draw, solve):
    left = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    right = draw(st.permutations(left))
    a = draw(invertible(int(np.prod(left)), ())).reshape(left + tuple(right))
    if solve:
        return (a, draw(arrays(left))), {}
    return (a,), {"ind": len(left)}


case("np.linalg.tensorinv", lambda a, ind: np.linalg.tensorinv(a, ind=ind), tensor_args(False),
     covers=[np.linalg.tensorinv])
case("np.linalg.tensorsolve", np.linalg.tensorsolve, tensor_args(True))
case("np.linalg.tensorsolve(axes=...)", lambda a, b: np.linalg.tensorsolve(
    np.moveaxis(a, -1, 0), b, axes=(0,)), tensor_args(True).filter(lambda t: t[0][1].ndim == 1),
    covers=[np.linalg.tensorsolve])


@st.composite
def offset_args(draw):
    x = draw(arrays(min_dims=2))
    m, n = x.shape[-2:]
    return (x,), {"offset": draw(st.integers(-m, n))}


case("np.linalg.diagonal(x, offset=...)", lambda x, offset: np.linalg.diagonal(x, offset=offset),
     offset_args(), covers=[np.linalg.diagonal])
case("np.linalg.trace(x, offset=...)", lambda x, offset: np.linalg.trace(x, offset=offset),
     offset_args(), covers=[np.linalg.trace])
case("np.linalg.matrix_transpose", np.linalg.matrix_transpose, one(min_dims=2))
case("np.linalg.vecdot", lambda x, y: np.linalg.vecdot(x, y),
     st.tuples(shapes(max_dims=2), sizes()).flatmap(
         lambda t: call(arrays(t[0] + (t[1],)), arrays((t[1],)))), covers=[np.linalg.vecdot])
case("np.linalg.vecdot(axis=0)", lambda x, y: np.linalg.vecdot(x, y, axis=0),
     shapes(min_dims=1, max_dims=2).flatmap(lambda s: call(arrays(s), arrays(s))),
     covers=[np.linalg.vecdot])
case("np.linalg.cross (3-vectors along any axis, broadcast)",
     lambda x, y, axis: np.linalg.cross(x, y, axis=axis),
     st.tuples(shapes(max_dims=1), st.booleans()).flatmap(
         lambda t: call(arrays(t[0] + (3,)), arrays((3,)), axis=st.just(-1)) if t[1] else
         call(arrays((3,) + t[0]), arrays((3,) + t[0]), axis=st.just(0))), covers=[np.linalg.cross])
case("np.linalg.outer", np.linalg.outer,
     call(arrays(min_dims=1, max_dims=1), arrays(min_dims=1, max_dims=1)))
case("np.linalg.matmul", np.linalg.matmul, hnp.mutually_broadcastable_shapes(
    signature=np.matmul.signature, max_dims=2, max_side=3).flatmap(
    lambda s: call(arrays(s.input_shapes[0]), arrays(s.input_shapes[1]))))
case("np.linalg.tensordot", lambda x, y: np.linalg.tensordot(x, y, axes=1),
     st.tuples(shapes(min_dims=1, max_dims=2), shapes(max_dims=1), sizes()).flatmap(
         lambda t: call(arrays(t[0] + (t[2],)), arrays((t[2],) + t[1]))),
     covers=[np.linalg.tensordot])
@st.composite
def chain_args(draw):
    """2 to 4 arrays whose product is defined; the first and the last may be vectors."""
    k = draw(st.integers(2, 4))
    n = draw(st.lists(sizes(), min_size=k + 1, max_size=k + 1))
    shapes_ = [(n[i], n[i + 1]) for i in range(k)]
    if draw(st.booleans()):
        shapes_[0] = shapes_[0][1:]
    if draw(st.booleans()):
        shapes_[-1] = shapes_[-1][:1]
    return tuple(draw(arrays(s)) for s in shapes_), {}


case("np.linalg.multi_dot (vectors or matrices at the ends)",
     lambda *xs: np.linalg.multi_dot(list(xs)), chain_args(), covers=[np.linalg.multi_dot])
case("np.linalg.matrix_power (n from -2 to 4; n=0 is a constant)",
     lambda a, n: np.linalg.matrix_power(a, n),
     call(invertible(), n=st.sampled_from([-2, -1, 1, 2, 3, 4])), covers=[np.linalg.matrix_power])
case("np.linalg.matrix_norm (ord 'fro', 'nuc', 2, keepdims)",
     lambda x, **kw: np.linalg.matrix_norm(x, **kw),
     call(with_singular_values(), ord=st.sampled_from(["fro", "nuc", 2, -2]),
          keepdims=st.booleans()), covers=[np.linalg.matrix_norm])
case("np.linalg.vector_norm (axis, keepdims, ord)",
     lambda x, **kw: np.linalg.vector_norm(x, **kw),
     arrays(min_dims=1, avoid=(0.0,), gap=0.2).flatmap(lambda x: call(
         st.just(x), axis=st.one_of(st.none(), one_axis(x.ndim),
                                    st.permutations(range(x.ndim)).map(lambda p: tuple(p[:2]))),
         keepdims=st.booleans(), ord=st.sampled_from([2, 1, 3]))), covers=[np.linalg.vector_norm])
