"""np.linalg: norms, inverses, solves, determinants and the matrix decompositions.

Every rule works on stacks of matrices (leading batch axes, ``...ij``) as NumPy does, and
every pullback is written with traced NumPy operations, so gradients of gradients work.
Below, ``Ā`` is the gradient of the loss with respect to ``A`` (what the pullback returns),
``G`` the gradient arriving for the result, and ``ᵀ`` swaps the last two axes.

Norms are written with traced operations where they can be (a p-norm is sums and powers, a
max-norm a max), so their gradients come from those rules. The 2-norm has its own primitive:
its pullback ``g x / ‖x‖`` is 0 at x = 0 (the subgradient), where sqrt(sum(x²)) would give
0 · ∞ = NaN. The matrix norms ord='nuc', 2 and -2 are the sum, largest and smallest of the
singular values.

Inverse, solve, determinants (The Matrix Cookbook, sections 2.1 and 2.2):

* ``X = inv(A)``: ``Ā = -Xᵀ G Xᵀ``.
* ``X = solve(A, B)``: ``B̄ = solve(Aᵀ, G)`` and ``Ā = -B̄ Xᵀ`` (a vector b when ``b.ndim == 1``,
  as in NumPy 2; batch axes that broadcasting added are summed back).
* ``det(A)``: ``Ā = g · adj(A)ᵀ`` (the cofactors), which is ``g · det(A) · A⁻ᵀ`` for an
  invertible A. The adjugate exists at singular matrices too, and there it is computed without
  A⁻¹ (handled, not refused): from the SVD ``A = U S Vᵀ`` as
  ``adj(A)ᵀ = det(U) det(Vᵀ) · U diag(∏_{j≠i} s_j) Vᵀ``, or, when a gradient of the gradient is
  being taken, as the signed determinants of the minors (a polynomial in A, whose own
  derivative is right there). So the gradient at a singular matrix is the right number, not NaN.
* ``slogdet(A)``: the sign carries no gradient; ``logabsdet`` has ``Ā = g · A⁻ᵀ``. At a singular
  matrix log|det| is -inf and has no gradient: the backward pass raises LinAlgError.
* ``pinv(A)`` (Golub & Pereyra 1973, "The differentiation of pseudo-inverses and nonlinear
  least squares problems whose variables separate"):
  ``dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I - AA⁺) + (I - A⁺A) dAᵀ A⁺ᵀA⁺``, so
  ``Ā = -A⁺ᵀ G A⁺ᵀ + (I - AA⁺) Gᵀ A⁺A⁺ᵀ + A⁺ᵀA⁺ Gᵀ (I - A⁺A)``. This holds where the rank does
  not change nearby. pinv jumps where a small change raises the rank (a matrix of lower rank
  than min(m, n), unless it is built to keep its rank, like B @ B.T); there fluxlite warns and
  gives the derivative for the rank NumPy sees.

The decompositions return NumPy's own result types (EighResult, SVDResult, QRResult) holding
traced arrays. fluxlite's primitives return one array each, so each decomposition is one
primitive whose result packs its factors into one array (eigh: the eigenvalues as a row on top
of the eigenvectors), unpacked by traced indexing; the pullback gets the gradients of all the
factors the same way, zeros for a factor the loss does not use. The decomposition is computed
once, and the pullback's formula sees factors that belong together (the same signs).

* ``w, V = eigh(A)`` (Giles 2008, "An extended collection of matrix derivative results for
  forward and reverse mode algorithmic differentiation"): the gradient for the symmetric matrix
  is ``Ḡ = V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ`` with ``F_ij = 1 / (w_j - w_i)`` off the diagonal.
  eigh reads only one triangle of A (UPLO='L': the lower one) and mirrors it, so an entry A_ij
  of that triangle off the diagonal stands for two entries of the symmetric matrix: its
  gradient is ``Ḡ_ij + Ḡ_ji``; a diagonal entry gets ``Ḡ_ii`` and the unread triangle 0.
  That is the true gradient for any input, symmetric or not. Equal eigenvalues make F infinite:
  the eigenvectors are not unique there (any rotation inside the tied eigenspace will do), and
  nearly equal ones make them change very fast, so a gradient through them is undefined or
  inaccurate. fluxlite then warns (RuntimeWarning) whenever the loss uses the eigenvectors, and
  leaves out the terms between exactly equal eigenvalues. The eigenvalues' own gradient
  ``V diag(w̄) Vᵀ`` is always fine, and `eigvalsh` uses only that.
* ``U, s, Vh = svd(A, full_matrices=False)`` (Townsend 2016, "Differentiating the singular value
  decomposition", the real case), with k = min(m, n), ``V = Vhᵀ`` and
  ``F_ij = 1 / (s_j² - s_i²)`` off the diagonal::

      Ā = U [(F ∘ (UᵀŪ - ŪᵀU)) S + diag(s̄) + S (F ∘ (VᵀV̄ - V̄ᵀV))] Vᵀ
          + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ)

  The last two terms vanish for square matrices. Equal singular values (and, for a non-square
  matrix, a zero one, through S⁻¹) leave the vectors undetermined: as for eigh, fluxlite warns
  when the loss uses them and leaves out the terms of exactly equal (or zero) values. With
  ``full_matrices=True`` a non-square matrix gets extra columns of U (or rows of Vh) that the
  matrix does not determine, so that is refused. ``compute_uv=False`` (and `svdvals`) only needs
  ``Ā = U diag(s̄) Vᵀ``.
* ``L = cholesky(A)`` (Murray 2016, "Differentiation of the Cholesky decomposition"):
  ``Ḡ = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹``, where Φ keeps the lower triangle and halves the diagonal; NumPy
  reads only the lower triangle of A (the upper one with ``upper=True``), folded as for eigh.
* ``Q, R = qr(A)`` for m ≥ n (Walter & Lehmann 2018, "Algorithmic differentiation of linear
  algebra functions with application in optimum experimental design"):
  ``M = R R̄ᵀ - Q̄ᵀ Q``, ``Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ``, where copyltu(M) mirrors the lower
  triangle of M onto the upper one. A wide matrix ``A = [X Y]`` is split: ``R = [R₁ R₂]`` with
  ``X = Q R₁`` square and ``R₂ = Qᵀ Y``.

Built from those: lstsq (``pinv(a) @ b``), cond, tensorinv, tensorsolve, trace, diagonal,
matrix_transpose, vecdot and cross. NumPy's own matrix_power, multi_dot, matrix_norm,
vector_norm, svdvals, outer, matmul and tensordot call functions that have rules, so they are
traced as they are. np.linalg.eig and eigvals (complex in general) are refused: for a
symmetric matrix use eigh / eigvalsh.

>>> import numpy as np, fluxlite as fl
>>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> fl.gradient(lambda A: np.linalg.det(A), A)[0]    # the cofactors
array([[ 3., -1.],
       [-1.,  2.]])
>>> g, = fl.gradient(lambda A: np.linalg.eigvalsh(A)[-1], np.array([[2.0, 1.0], [1.0, 2.0]]))
>>> g.round(6)    # the largest eigenvalue's; eigvalsh reads only the lower triangle of A
array([[0.5, 0. ],
       [1. , 0.5]])
"""
import warnings

import numpy as np

from ..autodiff.broadcasting import unbroadcast as ub
from ..autodiff.tracer import (CONSTANT_FUNCTIONS, DECOMPOSED_FUNCTIONS, FUNCTIONS, HINTS,
                               NoGradientRule, Tracked, primitive, untrace)

_EighResult = type(np.linalg.eigh(np.eye(1)))
_SVDResult = type(np.linalg.svd(np.eye(1)))
_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
_QRResult = type(np.linalg.qr(np.eye(1)))


# --------------------------------------------------------------------------- helpers

def _T(x):
    """The transpose of every matrix in a stack."""
    return np.swapaxes(x, -1, -2)


def _diag(v):
    """A stack of diagonal matrices with the vectors `v` (last axis) on their diagonals."""
    return v[..., None, :] * np.eye(np.shape(v)[-1], dtype=bool)


def _eps(x):
    return np.finfo(np.result_type(untrace(x), 1.0)).eps


def _fold(g, lower):
    """The gradient for a function that reads only one triangle of its input and mirrors it.

    `g` is the gradient for the symmetric matrix the function sees (only its symmetric part
    counts): an entry of the read triangle off the diagonal stands for two entries of that
    matrix and gets ``g_ij + g_ji``; the diagonal gets ``g_ii``; the unread triangle 0.
    """
    n = np.shape(g)[-1]
    strict = np.tri(n, k=-1, dtype=bool)
    if not lower:
        strict = strict.T
    return np.where(strict, g + _T(g), np.where(np.eye(n, dtype=bool), g, 0.0))


def _inverse_gaps(d):
    """``1 / d`` elementwise, and 0 where d is exactly 0 (the diagonal of a difference
    matrix, and exactly tied values)."""
    zero = untrace(d) == 0
    return np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, d))


def _warn_if(undetermined, values, noun, message, *used):
    """Warn when the loss uses vectors (`used`: their gradients, not all 0) that the matrix
    does not determine, or hardly: `undetermined` marks pairs (i, j) of tied `values` (see
    `_ties`), a pair (i, i) a zero one. The message names the first such pair."""
    if not (np.any(undetermined) and any(np.any(untrace(u) != 0) for u in used)):
        return
    *batch, i, j = (int(k) for k in np.argwhere(undetermined)[0])
    v = untrace(values)[tuple(batch)]
    where = f" of the matrix at {tuple(batch)}" if batch else ""
    which = (f"{noun}s {i} and {j}{where} are {v[i]:.6g} and {v[j]:.6g}" if i != j else
             f"{noun} {i}{where} is {v[i]:.6g}")
    warnings.warn(message.format(which=which), RuntimeWarning, stacklevel=3)


def _ties(values, scale):
    """Pairs (i, j), i ≠ j, of values closer than sqrt(eps) relative to `scale`."""
    v = untrace(values)
    n = v.shape[-1]
    gap = np.abs(v[..., None, :] - v[..., :, None])
    tol = np.sqrt(_eps(v)) * np.maximum(untrace(scale), np.finfo(v.dtype).tiny)
    return (gap <= tol[..., None, None]) & ~np.eye(n, dtype=bool)


# --------------------------------------------------------------------------- norms

def _norm_vjp(g, ans, x, axis=None, keepdims=False):
    from .reductions import _expand
    n = _expand(ans, x, axis, keepdims)
    return _expand(g, x, axis, keepdims) * x / np.where(n == 0, 1.0, n)


NORM = primitive(lambda x, axis=None, keepdims=False: np.linalg.norm(x, axis=axis, keepdims=keepdims),
                 "numpy.linalg.norm").defvjp(_norm_vjp)


def _norm(x, ord=None, axis=None, keepdims=False):
    nd = np.ndim(x)
    if axis is None and (ord is None or ord == "fro" and nd == 2 or ord == 2 and nd == 1):
        if nd > 1:  # the 2-norm of all the numbers
            flat = NORM(np.reshape(x, -1))
            return np.reshape(flat, (1,) * nd) if keepdims else flat
        return NORM(x, keepdims=keepdims)
    if axis is None:
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = tuple(int(a) % nd for a in np.atleast_1d(axis))
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2 and axes[0] != axes[1]:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"np.linalg.norm: axis={axis!r} must be one axis or two different axes")


def _vector_norm(x, ord, axis, keepdims):
    """Vector norms along one axis, written with traced operations:
    ‖x‖_p = (Σ|x_i|^p)^(1/p); ‖x‖_∞ = max|x_i|; ‖x‖_-∞ = min|x_i|; ‖x‖_0 counts non-zeros."""
    if ord is None or ord == 2:
        return NORM(x, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:  # a count: no gradient
        return np.sum(np.asarray(x) != 0, axis=axis, keepdims=keepdims).astype(np.result_type(x, 1.0))
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    """Matrix norms over two axes (rows r, columns c): 'fro' as the 2-norm of all entries,
    ord=1 the largest column sum of |x|, ord=inf the largest row sum (-1, -inf: smallest);
    'nuc' the sum of the singular values, 2 the largest and -2 the smallest."""
    r, c = axes
    if ord is None or ord == "fro":
        return NORM(x, axis=axes, keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        pick = np.max if ord > 0 else np.min
        summed, across = (r, c) if ord in (1, -1) else (c, r)
        out = pick(np.sum(np.abs(x), axis=summed, keepdims=True), axis=across, keepdims=True)
        return out if keepdims else np.squeeze(out, axis=axes)
    if ord in ("nuc", 2, -2):
        s = SVDVALS(np.moveaxis(x, (r, c), (-2, -1)))
        out = {"nuc": np.sum, 2: np.max, -2: np.min}[ord](s, axis=-1)
        return np.expand_dims(out, tuple(sorted(axes))) if keepdims else out
    raise ValueError(f"Invalid norm order {ord!r} for matrices")


FUNCTIONS[np.linalg.norm] = _norm


# --------------------------------------------------------------------------- inv, solve, det

INV = primitive(np.linalg.inv, "numpy.linalg.inv").defvjp(
    lambda g, ans, a: -(_T(ans) @ g @ _T(ans)))


def _solve_vjp_b(g, ans, a, b):
    if np.ndim(b) == 1:  # b a vector (NumPy 2: only when b.ndim == 1)
        return ub(np.linalg.solve(_T(a), g[..., None])[..., 0], b)
    return ub(np.linalg.solve(_T(a), g), b)


def _solve_vjp_a(g, ans, a, b):
    if np.ndim(b) == 1:
        gb = np.linalg.solve(_T(a), g[..., None])[..., 0]
        return ub(-(gb[..., :, None] * ans[..., None, :]), a)
    return ub(-(np.linalg.solve(_T(a), g) @ _T(ans)), a)


SOLVE = primitive(np.linalg.solve, "numpy.linalg.solve").defvjp(_solve_vjp_a, _solve_vjp_b)


def _cofactors(a, det):
    """The cofactor matrix adj(A)ᵀ of every matrix in the stack: ``det(A) A⁻ᵀ`` when all of
    them are safely invertible. Otherwise from the SVD (a first derivative only needs the
    numbers), or, when a gradient of this gradient is being taken, as the signed determinants
    of the minors (a polynomial in A, so its own derivative is right at singular matrices too)."""
    plain = untrace(a)
    n = plain.shape[-1]
    if n == 1:
        return np.ones(plain.shape, plain.dtype)
    s = np.linalg.svd(plain, compute_uv=False)
    small = np.maximum(np.sqrt(_eps(plain)) * s[..., 0], np.sqrt(np.finfo(plain.dtype).tiny))
    if np.all(s[..., -1] > small) and np.all(untrace(det) != 0):  # (1/s)² can neither overflow
        return det[..., None, None] * _T(np.linalg.inv(a))
    if type(a) is Tracked:
        keep = np.array([[k for k in range(n) if k != i] for i in range(n)])
        minors = a[..., keep[:, None, :, None], keep[None, :, None, :]]  # (..., n, n, n-1, n-1)
        signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
        return signs.astype(plain.dtype) * np.linalg.det(minors)
    u, s, vh = np.linalg.svd(plain)
    sign = np.linalg.det(u) * np.linalg.det(vh)  # ±1
    others = np.prod(np.where(np.eye(n, dtype=bool), 1.0, s[..., None, :]), axis=-1)  # ∏_{j≠i} s_j
    return sign[..., None, None] * ((u * others[..., None, :]) @ vh)


DET = primitive(np.linalg.det, "numpy.linalg.det").defvjp(
    lambda g, ans, a: g[..., None, None] * _cofactors(a, ans))


def _logabsdet_vjp(g, ans, a):
    if np.any(np.isneginf(untrace(ans))):
        raise np.linalg.LinAlgError(
            "np.linalg.slogdet: the matrix is singular, so log|det| is -inf and has no gradient "
            "there.\nKeep the matrix away from singular ones (add a small multiple of np.eye(n), "
            "or build it as B @ B.T + c * np.eye(n)), or use np.linalg.det, whose gradient exists "
            "everywhere.")
    return g[..., None, None] * _T(np.linalg.inv(a))


LOGABSDET = primitive(lambda a: np.linalg.slogdet(a)[1],
                      "numpy.linalg.slogdet").defvjp(_logabsdet_vjp)


def _slogdet(a):
    return _SlogdetResult(np.linalg.slogdet(untrace(a))[0], LOGABSDET(a))


def _pinv_vjp(g, ans, a, **kw):
    p, gt = ans, _T(g)
    pt = _T(p)
    m, n = np.shape(a)[-2:]
    rank = np.round(np.trace(untrace(p) @ untrace(a), axis1=-2, axis2=-1))
    if np.any(rank < min(m, n)):
        warnings.warn(
            f"np.linalg.pinv: the matrix has rank {int(np.min(rank))}, less than min(m, n) = "
            f"{min(m, n)}. pinv jumps where a small change raises the rank, so it has no "
            f"gradient there unless the matrix is built to keep its rank (like B @ B.T); the "
            f"gradient given is the one for a rank that stays the same.", RuntimeWarning,
            stacklevel=2)
    return (-(pt @ g @ pt) + (gt - a @ (p @ gt)) @ (p @ pt) + (pt @ p) @ (gt - (gt @ p) @ a))


PINV = primitive(lambda a, **kw: np.linalg.pinv(a, **kw), "numpy.linalg.pinv").defvjp(_pinv_vjp)


def _pinv(a, rcond=None, hermitian=False, **kw):
    if hermitian:
        raise NoGradientRule("fluxlite differentiates numpy.linalg.pinv with hermitian=False only "
                             "(hermitian=True reads only the lower triangle).\nLeave out "
                             "hermitian=True: the result is the same for a symmetric matrix.")
    if rcond is not None:
        kw["rcond"] = rcond
    return PINV(a, **kw)


FUNCTIONS[np.linalg.inv] = INV
FUNCTIONS[np.linalg.solve] = SOLVE
FUNCTIONS[np.linalg.det] = DET
FUNCTIONS[np.linalg.slogdet] = _slogdet
FUNCTIONS[np.linalg.pinv] = _pinv


# --------------------------------------------------------------------------- cholesky

def _cholesky_vjp(g, ans, a, upper=False):
    L, gl = (_T(ans), _T(g)) if upper else (ans, g)
    n = np.shape(a)[-1]
    phi = (np.tri(n) - 0.5 * np.eye(n)).astype(untrace(L).dtype)  # lower triangle, diagonal halved
    left = np.linalg.solve(_T(L), (_T(L) @ gl) * phi)  # L⁻ᵀ Φ(Lᵀ L̄)
    return _fold(_T(np.linalg.solve(_T(L), _T(left))), lower=not upper)


CHOLESKY = primitive(lambda a, upper=False: np.linalg.cholesky(a, upper=upper) if upper
                     else np.linalg.cholesky(a), "numpy.linalg.cholesky").defvjp(_cholesky_vjp)


def _cholesky(a, /, *, upper=False):
    return CHOLESKY(a, upper=True) if upper else CHOLESKY(a)


FUNCTIONS[np.linalg.cholesky] = _cholesky


# --------------------------------------------------------------------------- eigh, eigvalsh

def _eigh_fwd(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)  # the eigenvalues as row 0


def _eigh_vjp(g, ans, a, UPLO="L"):
    w, v, gw, gv = ans[..., 0, :], ans[..., 1:, :], g[..., 0, :], g[..., 1:, :]
    _warn_if(_ties(w, np.max(np.abs(untrace(w)), axis=-1)), w, "eigenvalue", _EIGH_TIES, gv)
    inner = _diag(gw) + _inverse_gaps(w[..., None, :] - w[..., :, None]) * (_T(v) @ gv)
    return _fold(v @ inner @ _T(v), lower=UPLO.upper() == "L")


_EIGH_TIES = (
    "np.linalg.eigh: the matrix has equal (or nearly equal) eigenvalues ({which}), and the loss "
    "uses the eigenvectors. Eigenvectors of equal eigenvalues are not unique (any rotation "
    "inside their eigenspace will do) and those of nearly equal ones change very fast, so the "
    "gradient through them is undefined or inaccurate. fluxlite leaves out the terms between "
    "exactly equal eigenvalues, which can be wrong even when the loss itself is smooth there (a "
    "matrix function V @ np.diag(f(w)) @ V.T at A = np.eye(n), say). The gradient of the "
    "eigenvalues themselves is fine: if the loss needs only those, use np.linalg.eigvalsh.")

EIGH = primitive(_eigh_fwd, "numpy.linalg.eigh").defvjp(_eigh_vjp)


def _eigh(a, UPLO="L"):
    packed = EIGH(a, UPLO=UPLO)
    return _EighResult(packed[..., 0, :], packed[..., 1:, :])


def _eigvalsh_vjp(g, ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO).eigenvectors
    return _fold((v * g[..., None, :]) @ _T(v), lower=UPLO.upper() == "L")


EIGVALSH = primitive(lambda a, UPLO="L": np.linalg.eigvalsh(a, UPLO),
                     "numpy.linalg.eigvalsh").defvjp(_eigvalsh_vjp)


def _eigvalsh(a, UPLO="L"):
    return EIGVALSH(a, UPLO=UPLO)


FUNCTIONS[np.linalg.eigh] = _eigh
FUNCTIONS[np.linalg.eigvalsh] = _eigvalsh


# --------------------------------------------------------------------------- svd

def _svd_fwd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], _T(vh)], axis=-2)  # rows: U, then s, then V


def _svd_vjp(g, ans, a):
    m, n = np.shape(a)[-2:]
    u, s, v = ans[..., :m, :], ans[..., m, :], ans[..., m + 1:, :]
    gu, gs, gv = g[..., :m, :], g[..., m, :], g[..., m + 1:, :]
    smax = np.max(untrace(s), axis=-1)
    undetermined = _ties(s, smax)
    if m != n:  # the S⁻¹ terms: a zero singular value leaves its vector undetermined
        zero = untrace(s) <= np.sqrt(_eps(s)) * smax[..., None]
        undetermined = undetermined | (zero[..., None, :] & np.eye(min(m, n), dtype=bool))
    _warn_if(undetermined, s, "singular value", _SVD_TIES, gu, gv)
    uu, vv = _T(u) @ gu, _T(v) @ gv
    f = _inverse_gaps(s[..., None, :] ** 2 - s[..., :, None] ** 2)
    inner = f * ((uu - _T(uu)) * s[..., None, :] + s[..., :, None] * (vv - _T(vv))) + _diag(gs)
    grad = u @ inner @ _T(v)
    if m > n:  # the part of Ū outside the span of U
        grad = grad + ((gu - u @ uu) * _inverse_gaps(s)[..., None, :]) @ _T(v)
    elif m < n:
        grad = grad + (u * _inverse_gaps(s)[..., None, :]) @ _T(gv - v @ vv)
    return grad


_SVD_TIES = (
    "np.linalg.svd: the matrix has equal (or nearly equal) singular values, or is not square and "
    "has a zero one ({which}), and the loss uses the singular vectors. Those vectors are then not "
    "unique (or change very fast), so the gradient through them is undefined or inaccurate. "
    "fluxlite leaves out the terms between exactly equal singular values (and for exactly zero "
    "ones), which can be wrong even when the loss itself is smooth there. The gradient of the "
    "singular values themselves is fine: if the loss needs only those, use "
    "np.linalg.svd(a, compute_uv=False).")

SVD = primitive(_svd_fwd, "numpy.linalg.svd").defvjp(_svd_vjp)


def _svdvals_vjp(g, ans, a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return (u * g[..., None, :]) @ vh


SVDVALS = primitive(lambda a: np.linalg.svd(a, compute_uv=False),
                    "numpy.linalg.svd(compute_uv=False)").defvjp(_svdvals_vjp)


def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if hermitian:
        raise NoGradientRule("fluxlite differentiates numpy.linalg.svd with hermitian=False only "
                             "(hermitian=True reads only the lower triangle).\nLeave out "
                             "hermitian=True: for a symmetric matrix the singular values are "
                             "the same.")
    if not compute_uv:
        return SVDVALS(a)
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise NoGradientRule(
            f"fluxlite has no gradient for numpy.linalg.svd with full_matrices=True (the default) "
            f"on a {m}x{n} matrix: the extra {'columns of U' if m > n else 'rows of Vh'} are not "
            f"determined by the matrix, so they have no gradient.\nPass full_matrices=False: "
            f"U, S, Vh = np.linalg.svd(a, full_matrices=False).")
    packed = SVD(a)
    return _SVDResult(packed[..., :m, :], packed[..., m, :], _T(packed[..., m + 1:, :]))


FUNCTIONS[np.linalg.svd] = _svd


# --------------------------------------------------------------------------- qr

def _qr_fwd(a):
    q, r = np.linalg.qr(a)
    return np.concatenate([q, _T(r)], axis=-2)  # rows: Q, then Rᵀ


def _copyltu(x):
    """The symmetric matrix with the lower triangle of x."""
    n = np.shape(x)[-1]
    return np.where(np.tri(n, dtype=bool), x, _T(x))


def _qr_square_vjp(q, r, gq, gr):
    """Ā for A = QR with R square (Walter & Lehmann 2018)."""
    m = r @ _T(gr) - _T(gq) @ q
    b = gq + q @ _copyltu(m)
    try:
        return _T(np.linalg.solve(r, _T(b)))  # b R⁻ᵀ
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(
            "np.linalg.qr: R has a 0 on its diagonal: the columns of the matrix (for a wide m x n "
            "matrix, its first m columns) are linearly dependent. There Q is not unique, so QR "
            "has no gradient.") from None


def _qr_vjp(g, ans, a):
    m, n = np.shape(a)[-2:]
    q, r = ans[..., :m, :], _T(ans[..., m:, :])
    gq, gr = g[..., :m, :], _T(g[..., m:, :])
    if m >= n:
        return _qr_square_vjp(q, r, gq, gr)
    y, gr2 = a[..., :, m:], gr[..., :, m:]  # A = [X Y], R = [R1 R2], R2 = Qᵀ Y
    gx = _qr_square_vjp(q, r[..., :, :m], gq + y @ _T(gr2), gr[..., :, :m])
    return np.concatenate([gx, q @ gr2], axis=-1)


QR = primitive(_qr_fwd, "numpy.linalg.qr").defvjp(_qr_vjp)


def _qr(a, mode="reduced"):
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete", "r") or mode == "complete" and m > n:
        raise NoGradientRule(
            f"fluxlite has no gradient for numpy.linalg.qr with mode={mode!r}"
            + (f" on a {m}x{n} matrix (the extra columns of Q are not determined by the matrix)"
               if mode == "complete" else "")
            + ".\nUse mode='reduced' (the default): Q, R = np.linalg.qr(a), or mode='r' for R "
              "alone.")
    packed = QR(a)
    r = _T(packed[..., m:, :])
    return r if mode == "r" else _QRResult(packed[..., :m, :], r)


FUNCTIONS[np.linalg.qr] = _qr


# --------------------------------------------------------------------------- built from those

def _lstsq(a, b, rcond=None):
    """``pinv(a) @ b``: the minimum-norm least-squares solution; the rank and the shape of the
    residuals come from NumPy's own lstsq."""
    _, resid, rank, _ = np.linalg.lstsq(untrace(a), untrace(b), rcond)
    m, n = np.shape(a)
    if rcond is None:
        rcond = _eps(a) * max(m, n)
    x = _pinv(a, rcond=rcond) @ b
    if np.size(resid):
        r = b - a @ x
        resid = np.reshape(np.sum(r * r, axis=0), (-1,))
    return x, resid, rank, np.linalg.svd(a, compute_uv=False)


def _cond(x, p=None):
    if p is None or p in (2, -2):
        s = np.linalg.svd(x, compute_uv=False)
        return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    return (np.linalg.norm(x, p, axis=(-2, -1)) *
            np.linalg.norm(np.linalg.inv(x), p, axis=(-2, -1)))


def _tensorinv(a, ind=2):
    shape = np.shape(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    size = int(np.prod(shape[ind:]))
    return np.reshape(np.linalg.inv(np.reshape(a, (size, -1))), shape[ind:] + shape[:ind])


def _tensorsolve(a, b, axes=None):
    nd = np.ndim(a)
    if axes is not None:
        order = [k for k in range(nd) if k not in [x % nd for x in axes]]
        a = np.transpose(a, order + [x % nd for x in axes])
    shape = np.shape(a)[np.ndim(b):]
    size = int(np.prod(shape))
    if np.size(a) != size ** 2:
        raise np.linalg.LinAlgError("Input arrays must satisfy the requirement "
                                    "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])")
    return np.reshape(np.linalg.solve(np.reshape(a, (size, size)), np.reshape(b, -1)), shape)


def _diagonal(x, /, *, offset=0):
    m, n = np.shape(x)[-2:]
    k = max(0, min(m, n - offset) if offset >= 0 else min(m + offset, n))
    i = np.arange(k) + max(0, -offset)
    return x[..., i, i + offset]


def _trace(x, /, *, offset=0, dtype=None):
    out = np.sum(_diagonal(x, offset=offset), axis=-1)
    return out if dtype is None else out.astype(dtype)


def _matrix_transpose(x, /):
    if np.ndim(x) < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {np.ndim(x)}")
    return _T(x)


def _vecdot(x1, x2, /, *, axis=-1):
    return np.sum(x1 * x2, axis=axis)


def _cross(x1, x2, /, *, axis=-1):
    if np.shape(x1)[axis] != 3 or np.shape(x2)[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they "
                         f"are {np.shape(x1)[axis]} and {np.shape(x2)[axis]} dimensional instead.")
    a, b = np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1)
    a0, a1, a2, b0, b1, b2 = a[..., 0], a[..., 1], a[..., 2], b[..., 0], b[..., 1], b[..., 2]
    c = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return np.moveaxis(c, -1, axis)


def _eig_hint(name, instead):
    return (f"The eigenvalues and eigenvectors of a general matrix are complex in general, and "
            f"fluxlite differentiates real arrays only.\nFor a symmetric matrix use {instead} (real "
            f"results, with gradients); make a matrix symmetric with (A + A.T) / 2.")


FUNCTIONS[np.linalg.lstsq] = _lstsq
FUNCTIONS[np.linalg.cond] = _cond
FUNCTIONS[np.linalg.tensorinv] = _tensorinv
FUNCTIONS[np.linalg.tensorsolve] = _tensorsolve
FUNCTIONS[np.linalg.diagonal] = _diagonal
FUNCTIONS[np.linalg.trace] = _trace
FUNCTIONS[np.linalg.matrix_transpose] = _matrix_transpose
FUNCTIONS[np.linalg.vecdot] = _vecdot
FUNCTIONS[np.linalg.cross] = _cross
HINTS["numpy.linalg.eig"] = _eig_hint("eig", "np.linalg.eigh")
HINTS["numpy.linalg.eigvals"] = _eig_hint("eigvals", "np.linalg.eigvalsh")
# NumPy writes these with functions that have rules: traced as they are.
DECOMPOSED_FUNCTIONS.update({np.linalg.matrix_power, np.linalg.multi_dot, np.linalg.matrix_norm,
                             np.linalg.vector_norm, np.linalg.svdvals, np.linalg.outer,
                             np.linalg.matmul, np.linalg.tensordot})
CONSTANT_FUNCTIONS.add(np.linalg.matrix_rank)  # an integer
