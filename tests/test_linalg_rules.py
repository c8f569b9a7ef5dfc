"""np.linalg gradients, in words: closed forms, special points, warnings and refusals.

The gradchecks at random matrices are in ``cases_linalg.py``; here each behaviour is stated
once at a matrix chosen to show it.
"""
import warnings

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.autodiff.tracer import Tracked
from gradcheck import check_gradient, check_grads, hvp, numerical_hvp

A = np.array([[4.0, 1.0, 0.5], [0.3, 3.0, -1.0], [0.2, -0.4, 2.0]])   # invertible, not symmetric
S = np.array([[3.0, 1.0, 0.2], [1.0, 2.0, 0.5], [0.2, 0.5, 1.0]])     # symmetric, distinct eigenvalues
W = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.7]])                    # 3 x 2, distinct singular values


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------- closed forms

def test_inverse_determinant_and_log_determinant_have_their_textbook_gradients():
    inv = np.linalg.inv(A)
    g, = fl.gradient(lambda A: np.linalg.det(A), A)
    np.testing.assert_allclose(g, np.linalg.det(A) * inv.T)                # Cookbook (49)
    g, = fl.gradient(lambda A: np.linalg.slogdet(A).logabsdet, A)
    np.testing.assert_allclose(g, inv.T)                                  # Cookbook (57)
    g, = fl.gradient(lambda A: np.sum(np.linalg.inv(A)), A)
    np.testing.assert_allclose(g, -inv.T @ np.ones((3, 3)) @ inv.T)        # Cookbook (61)


def test_solve_gives_gradients_for_both_arguments_and_sums_broadcast_batch_axes():
    a = np.stack([A, A.T + np.eye(3)])           # (2, 3, 3)
    b = np.array([1.0, -2.0, 0.5])               # a vector (b.ndim == 1), used by both systems
    ga, gb = fl.gradient(lambda a, b: np.sum(np.linalg.solve(a, b)), a, b)
    assert ga.shape == (2, 3, 3) and gb.shape == (3,)
    want = sum(np.linalg.solve(m.T, np.ones(3)) for m in a)
    np.testing.assert_allclose(gb, want)
    check_gradient(np.linalg.solve, a, b)
    check_gradient(np.linalg.solve, a, np.ones((4, 1, 3, 2)))    # matrices, broadcast batch axes


def test_the_nuclear_and_spectral_norms_have_gradients_u_v_transposed():
    u, s, vh = np.linalg.svd(W, full_matrices=False)
    g, = fl.gradient(lambda W: np.linalg.norm(W, "nuc"), W)
    np.testing.assert_allclose(g, u @ vh)
    g, = fl.gradient(lambda W: np.linalg.norm(W, 2), W)
    np.testing.assert_allclose(g, np.outer(u[:, 0], vh[0]))
    g, = fl.gradient(lambda W: np.linalg.norm(W, -2), W)
    np.testing.assert_allclose(g, np.outer(u[:, 1], vh[1]))
    x = np.stack([W.T, 2 * W.T], axis=1)         # (2, 2, 3): matrices over axes 0 and 2
    g, = fl.gradient(lambda x: np.sum(np.linalg.norm(x, "nuc", axis=(2, 0), keepdims=True)), x)
    np.testing.assert_allclose(g[:, 0, :], (u @ vh).T)
    np.testing.assert_allclose(g[:, 1, :], (u @ vh).T)


def test_the_hessian_of_log_det_is_minus_a_inverse_v_a_inverse():
    v = np.arange(9.0).reshape(3, 3) / 10
    inv = np.linalg.inv(A)
    got = hvp(lambda A: np.linalg.slogdet(A)[1], A, v)
    np.testing.assert_allclose(got, -(inv @ v @ inv).T, atol=1e-12)


def test_raw_eigenvectors_and_singular_vectors_match_finite_differences_at_generic_matrices():
    # NumPy's choice of signs does not change within a finite-difference step at these matrices
    # (no entry is 0: LAPACK's Householder steps switch sign conventions at exact zeros), so the
    # raw vectors, not only sign-free products of them, can be checked, to second order.
    for f, x in [(lambda a: np.linalg.eigh(a).eigenvectors, S),
                 (lambda a: np.linalg.eigh(a, "U").eigenvectors, S),
                 (lambda a: np.linalg.svd(a, full_matrices=False).U, W),
                 (lambda a: np.linalg.svd(a, full_matrices=False).Vh, W),
                 (lambda a: np.linalg.svd(a, full_matrices=False).Vh, W.T),
                 (lambda a: np.linalg.svd(a).U, A),
                 (lambda a: np.linalg.qr(a).Q, W),
                 (lambda a: np.linalg.qr(a).R, W.T)]:
        check_gradient(f, x)
        check_grads(f, x, order=2)


def test_eigh_and_svd_agree_on_the_eigenvectors_of_a_positive_definite_matrix():
    # For a symmetric positive definite matrix the singular vectors are the eigenvectors (in the
    # opposite order), so two different formulas must give the same gradient. The input is
    # symmetrised first, since eigh reads one triangle and svd the whole matrix.
    pd = S + 2 * np.eye(3)
    weights = np.arange(27.0).reshape(3, 3, 3) - 13
    sym = lambda a: (a + a.T) / 2
    projectors = lambda v: np.einsum("ik,jk->kij", v, v)
    by_eigh = lambda a: np.sum(projectors(np.linalg.eigh(sym(a)).eigenvectors[:, ::-1]) * weights)
    by_svd = lambda a: np.sum(projectors(np.linalg.svd(sym(a)).U) * weights)
    np.testing.assert_allclose(by_eigh(pd), by_svd(pd))
    np.testing.assert_allclose(fl.gradient(by_eigh, pd)[0], fl.gradient(by_svd, pd)[0], atol=1e-12)
    v = np.ones((3, 3))
    np.testing.assert_allclose(hvp(by_eigh, pd, v), hvp(by_svd, pd, v), atol=1e-10)


# --------------------------------------------------------------------------- one triangle

@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle_so_the_other_gets_no_gradient(uplo):
    x = S + (np.triu(np.ones((3, 3)), 1) if uplo == "L" else np.tril(np.ones((3, 3)), -1))
    unread = np.triu(np.ones((3, 3), bool), 1) if uplo == "L" else np.tril(np.ones((3, 3), bool), -1)
    for f in [lambda a: np.linalg.eigvalsh(a, uplo)[2],
              lambda a: np.sum(np.linalg.eigh(a, uplo).eigenvalues ** 2),
              lambda a: np.sum(np.linalg.eigh(a, UPLO=uplo).eigenvectors[:, 1] ** 3)]:
        g, = fl.gradient(f, x)
        assert np.all(g[unread] == 0)
        check_gradient(f, x)          # finite differences on every entry of the non-symmetric x
        check_grads(f, x, order=2)


def test_cholesky_reads_the_lower_triangle_or_with_upper_true_the_upper_one():
    pd = S + 2 * np.eye(3)
    g, = fl.gradient(lambda a: np.sum(np.linalg.cholesky(a)), pd)
    assert np.all(np.triu(g, 1) == 0)
    g, = fl.gradient(lambda a: np.sum(np.linalg.cholesky(a, upper=True)), pd)
    assert np.all(np.tril(g, -1) == 0)
    check_gradient(lambda a: np.linalg.cholesky(a, upper=True), pd + np.tril(np.ones((3, 3)), -1))


# --------------------------------------------------------------------------- singular matrices

def test_det_of_a_singular_matrix_has_the_adjugate_as_gradient_not_nan():
    g, = fl.gradient(np.linalg.det, np.array([[1.0, 2.0], [2.0, 4.0]]))
    np.testing.assert_allclose(g, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    g, = fl.gradient(np.linalg.det, np.zeros((3, 3)))
    np.testing.assert_array_equal(g, np.zeros((3, 3)))
    g, = fl.gradient(np.linalg.det, np.diag([2.0, 3.0, 0.0]))
    np.testing.assert_allclose(g, np.diag([0.0, 0.0, 6.0]), atol=1e-12)


@pytest.mark.parametrize("x", [np.zeros((2, 2)), np.zeros((3, 3)), np.ones((3, 3)),
                               np.diag([1.0, 0.0, 0.0]), np.array([[1.0, 2.0], [2.0, 4.0]])])
def test_second_derivatives_of_det_are_right_at_singular_matrices(x, no_warnings):
    v = np.arange(x.size, dtype=float).reshape(x.shape) - 2
    np.testing.assert_allclose(hvp(np.linalg.det, x, v), numerical_hvp(np.linalg.det, x, v),
                               atol=1e-6)
    check_grads(np.linalg.det, x, order=3)


def test_slogdet_of_a_singular_matrix_says_it_has_no_gradient():
    with pytest.raises(np.linalg.LinAlgError, match="singular.*no gradient"):
        fl.gradient(lambda a: np.linalg.slogdet(a).logabsdet, np.ones((2, 2)))


def test_slogdet_keeps_numpys_result_type_and_its_sign_carries_no_gradient():
    def f(a):
        res = np.linalg.slogdet(a)
        assert type(res) is type(np.linalg.slogdet(np.eye(2)))
        assert type(res.logabsdet) is Tracked and type(res.sign) is not Tracked
        return res.sign * res.logabsdet
    g, = fl.gradient(f, -A)
    np.testing.assert_allclose(g, -np.linalg.inv(-A).T)


def test_pinv_of_a_rank_deficient_matrix_warns_and_is_right_when_the_rank_is_kept():
    b = np.array([[1.0, 0.5], [0.2, -1.0], [0.3, 0.4]])     # B @ B.T: 3 x 3 of rank 2
    with pytest.warns(RuntimeWarning, match="rank 2, less than min"):
        check_gradient(lambda b: np.linalg.pinv(b @ b.T), b)
    check_gradient(np.linalg.pinv, W)                          # full rank: no warning


def test_qr_of_a_wide_matrix_with_dependent_leading_columns_is_refused():
    with pytest.raises(np.linalg.LinAlgError, match="first m columns"):
        fl.gradient(lambda a: np.sum(np.linalg.qr(a).Q), np.array([[0.0, 1.0]]))


# --------------------------------------------------------------------------- repeated values

def test_eigenvalues_have_gradients_at_repeated_eigenvalues_without_warning(no_warnings):
    for f in [lambda a: np.linalg.eigvalsh(a)[0], lambda a: np.linalg.eigh(a).eigenvalues[0]]:
        g, = fl.gradient(f, np.eye(3))
        np.testing.assert_allclose(np.trace(g), 1.0)   # any unit vector is an eigenvector: trace 1
    g, = fl.gradient(lambda a: np.sum(np.linalg.eigh(a)[0]), np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)   # d trace(A) = I
    g, = fl.gradient(lambda a: np.sum(np.linalg.svd(a, compute_uv=False)), np.eye(2))
    np.testing.assert_allclose(g, np.eye(2), atol=1e-12)


def test_eigenvectors_at_repeated_eigenvalues_warn_and_say_what_to_use():
    expm = lambda a: (lambda w, v: v @ np.diag(np.exp(w)) @ v.T)(*np.linalg.eigh(a))
    with pytest.warns(RuntimeWarning, match="equal.*eigenvalues.*eigvalsh"):
        fl.gradient(lambda a: np.sum(expm(a) * np.arange(9.0).reshape(3, 3)), np.eye(3))
    with pytest.warns(RuntimeWarning, match="eigvalsh"):
        fl.gradient(lambda a: np.linalg.eigh(a).eigenvectors[0, 0], np.diag([1.0, 1.0 + 1e-12]))


def test_the_warning_says_which_values_are_tied_and_in_which_matrix_of_a_stack():
    stack = np.stack([np.diag([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 2.0])])
    with pytest.warns(RuntimeWarning, match=r"eigenvalues 1 and 2 of the matrix at \(1,\) are 2 and 2"):
        fl.gradient(lambda a: np.sum(np.linalg.eigh(a).eigenvectors ** 3), stack)


def test_singular_vectors_at_repeated_or_zero_singular_values_warn():
    with pytest.warns(RuntimeWarning, match="singular values 0 and 1 are 1 and 1"):
        fl.gradient(lambda a: np.linalg.svd(a).U[0, 1], np.eye(2))
    with pytest.warns(RuntimeWarning, match="zero one .singular value 1 is 0."):
        fl.gradient(lambda a: np.linalg.svd(a, full_matrices=False).U[2, 1],
                    np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))


def test_second_derivatives_of_eigenvalues_at_repeated_eigenvalues_warn():
    with pytest.warns(RuntimeWarning, match="eigenvalues"):
        hvp(lambda a: np.linalg.eigvalsh(a)[1], np.eye(2), np.ones((2, 2)))


# --------------------------------------------------------------------------- refusals

def test_svd_with_full_matrices_of_a_non_square_matrix_is_refused_and_says_what_to_pass():
    with pytest.raises(fl.NoGradientRule, match="full_matrices=False"):
        fl.gradient(lambda a: np.sum(np.linalg.svd(a)[0]), W)
    check_gradient(lambda a: np.linalg.svd(a).S, A)                  # square: fine
    check_gradient(lambda a: np.linalg.svd(a, compute_uv=False), W)  # no vectors: fine


@pytest.mark.parametrize("f", [lambda a: np.linalg.svd(a, hermitian=True).S,
                               lambda a: np.linalg.pinv(a, hermitian=True)])
def test_hermitian_true_is_refused(f):
    with pytest.raises(fl.NoGradientRule, match="hermitian=False"):
        fl.gradient(lambda a: np.sum(f(a)), S)


@pytest.mark.parametrize("f, instead", [(np.linalg.eig, "eigh"), (np.linalg.eigvals, "eigvalsh")])
def test_eig_is_refused_pointing_to_eigh(f, instead):
    with pytest.raises(fl.NoGradientRule, match=rf"numpy.linalg.{f.__name__}\.(.|\n)*{instead}"):
        fl.gradient(lambda a: np.sum(np.abs(f(a)[0])), S)


@pytest.mark.parametrize("mode", ["complete", "raw"])
def test_qr_modes_without_a_gradient_are_refused(mode):
    with pytest.raises(fl.NoGradientRule, match="mode='reduced'"):
        fl.gradient(lambda a: np.sum(np.linalg.qr(a, mode=mode)[0]), W)


# --------------------------------------------------------------------------- result types, dtypes

def test_decompositions_return_numpys_result_types_holding_traced_arrays():
    seen = {}

    def f(a):
        for name, res in [("eigh", np.linalg.eigh(a)), ("svd", np.linalg.svd(a)),
                          ("qr", np.linalg.qr(a))]:
            seen[name] = type(res), [type(r) for r in res]
        return np.sum(a)
    fl.gradient(f, S)
    for name, plain in [("eigh", np.linalg.eigh(S)), ("svd", np.linalg.svd(S)),
                        ("qr", np.linalg.qr(S))]:
        assert seen[name][0] is type(plain) and set(seen[name][1]) == {Tracked}


@pytest.mark.parametrize("f", [np.linalg.inv, np.linalg.det, np.linalg.cholesky, np.linalg.eigvalsh,
                               lambda a: np.linalg.eigh(a)[1], lambda a: np.linalg.svd(a)[2],
                               lambda a: np.linalg.qr(a)[0], np.linalg.pinv,
                               lambda a: np.linalg.slogdet(a)[1]])
def test_float32_in_float32_gradient_out(f):
    x = (S + np.eye(3)).astype(np.float32)
    g, = fl.gradient(lambda a: np.sum(f(a)), x)
    assert g.dtype == np.float32


def test_lstsq_is_pinv_times_b_and_returns_numpys_tuple():
    b = np.array([1.0, 2.0, -1.0])
    def f(a, b):
        x, res, rank, s = np.linalg.lstsq(a, b)
        assert rank == 2 and res.shape == (1,) and s.shape == (2,)
        return np.sum(x) + res[0]
    check_gradient(f, W, b)
    x, res, rank, s = np.linalg.lstsq(W, b)
    assert np.isclose(fl.withgradient(f, W, b)[0], np.sum(x) + res[0])


def test_matrix_power_0_and_matrix_rank_carry_no_gradient():
    with pytest.warns(fl.NoGradientWarning):
        assert fl.gradient(lambda a: np.sum(np.linalg.matrix_power(a, 0)), A) == (None,)
    g, = fl.gradient(lambda a: np.linalg.matrix_rank(a) * np.sum(a), A)
    np.testing.assert_array_equal(g, 3 * np.ones((3, 3)))
