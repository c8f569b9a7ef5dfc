"""The products in words: what np.dot, einsum, cross, kron and the gufuncs do, and what they refuse.

The gradients themselves are checked against finite differences by the cases in
``cases_products.py``; these tests state the behaviours one by one:

* np.dot beyond 2-D follows NumPy's rule (last axis of a against the second-to-last of b),
  not matmul's broadcasting, and shapes that do not fit raise NumPy's own error;
* einsum's interleaved form and repeated letters (diagonals, traces) work, to second order;
* ``out=`` is refused inside gradient, with what to write instead, and works outside it;
* np.cross warns about 2-vectors as NumPy does, and refuses what NumPy refuses;
* the NumPy 2 gufuncs (vecdot, matvec, vecmat) and matmul's ``axes=`` are traced.
"""
import warnings

import numpy as np
import pytest

import fluxlite as fl
from gradcheck import hvp, numerical_hvp

rng = np.random.default_rng(0)


def R(*shape):
    return rng.standard_normal(shape)


# --------------------------------------------------------------------------- np.dot

def test_dot_beyond_2d_contracts_the_last_axis_with_the_second_to_last_not_like_matmul():
    a, b = R(2, 3, 4), R(5, 4, 6)
    val, (ga, gb) = fl.withgradient(lambda a, b: np.sum(np.dot(a, b)), a, b)
    assert np.dot(a, b).shape == (2, 3, 5, 6)  # matmul would refuse: batch axes 2 and 5
    assert np.isclose(val, np.sum(np.dot(a, b)))
    # d/da sum_{ijkm} a[i,j,:] . b[k,:,m] = sum over k, m of b[k, :, m]
    np.testing.assert_allclose(ga, np.broadcast_to(b.sum(axis=(0, 2)), a.shape))
    np.testing.assert_allclose(gb, np.broadcast_to(a.sum(axis=(0, 1))[None, :, None], b.shape))


@pytest.mark.parametrize("sa, sb", [((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((3, 4), (2, 4, 5)),
                                    ((2, 3, 4), (4, 5))])
def test_dot_and_the_dot_method_give_numpys_values_and_shapes(sa, sb):
    a, b = R(*sa), R(*sb)
    for f in (np.dot, lambda x, y: x.dot(y)):
        out = []
        fl.gradient(lambda x: (out.append(np.array(f(x, b))), np.sum(f(x, b)))[1], a)
        np.testing.assert_allclose(out[0], np.dot(a, b))


@pytest.mark.parametrize("sa, sb", [((2, 3), (4,)), ((2, 3, 5), (4, 2, 3)), ((5,), (2, 3, 4))])
def test_dot_of_shapes_that_do_not_fit_raises_numpys_own_error(sa, sb):
    with pytest.raises(ValueError) as want:
        np.dot(np.ones(sa), np.ones(sb))
    with pytest.raises(ValueError) as got:
        fl.gradient(lambda a: np.sum(np.dot(a, np.ones(sb))), np.ones(sa))
    assert str(got.value) == str(want.value) and "not aligned" in str(got.value)


def test_matmul_with_a_number_raises_numpys_own_error():
    with pytest.raises(ValueError) as want:
        np.matmul(np.ones(()), np.ones(3))
    with pytest.raises(ValueError) as got:
        fl.gradient(lambda x: np.sum(x @ np.ones(3)), np.ones(()))
    assert str(got.value) == str(want.value)
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        fl.gradient(lambda x: np.sum(np.matmul(x, 2.0)), np.ones(3))


def test_tensordot_refuses_axes_of_different_lengths_as_numpy_does():
    with pytest.raises(ValueError, match="shape-mismatch for sum"):
        np.tensordot(np.ones((2, 1)), np.ones(3), axes=([1], [0]))
    with pytest.raises(ValueError, match="shape-mismatch for sum"):
        fl.gradient(lambda a: np.sum(np.tensordot(a, np.ones(3), axes=([1], [0]))),
                    np.ones((2, 1)))


# --------------------------------------------------------------------------- out=

@pytest.mark.parametrize("name, call", [
    ("numpy.dot", lambda x, buf: np.dot(x, x, out=buf)),
    ("numpy.outer", lambda x, buf: np.outer(x, x, out=buf)),
    ("numpy.einsum", lambda x, buf: np.einsum("i,j->ij", x, x, out=buf)),
])
def test_out_is_refused_inside_gradient_with_what_to_write_instead(name, call):
    buf = np.zeros((2, 2)) if name != "numpy.dot" else np.zeros(())
    with pytest.raises(fl.InPlaceError) as err:
        fl.gradient(lambda x: np.sum(call(x, buf)), np.ones(2))
    msg = str(err.value)
    assert msg.startswith(f"{name}(..., out=...) inside gradient")
    assert "no gradient" in msg and "without out=" in msg


def test_out_still_works_on_arrays_that_are_not_being_traced():
    buf = np.zeros((2, 2))

    def f(x):
        np.einsum("i,j->ij", np.ones(2), np.arange(2.0), out=buf)  # constants: plain NumPy
        return np.sum(x * buf)
    assert np.allclose(fl.gradient(f, np.ones((2, 2)))[0], [[0.0, 1.0], [0.0, 1.0]])


# --------------------------------------------------------------------------- einsum

def test_einsum_interleaved_form_is_the_string_form():
    a, b = R(2, 3), R(3, 4)
    for f in (lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]),
              lambda a, b: np.einsum(a, [0, 1], b, [1, 2]),
              lambda a, b: np.einsum(a, [0, 1], b, [1, Ellipsis], [0, Ellipsis])):
        got = fl.gradient(lambda a, b: np.sum(f(a, b) ** 2), a, b)
        want = fl.gradient(lambda a, b: np.sum((a @ b) ** 2), a, b)
        np.testing.assert_allclose(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1])


def test_einsum_interleaved_form_refuses_labels_numpy_refuses():
    with pytest.raises(ValueError, match="between 0 and 52"):
        fl.gradient(lambda a: np.einsum(a, [0, 60]), np.ones((2, 2)))


def test_einsum_trace_and_diagonal_send_the_gradient_to_the_diagonal():
    A = R(3, 3)
    np.testing.assert_allclose(fl.gradient(lambda A: np.einsum("ii", A), A)[0], np.eye(3))
    np.testing.assert_allclose(fl.gradient(lambda A: np.einsum("ii->", A), A)[0], np.eye(3))
    v = R(3)
    np.testing.assert_allclose(fl.gradient(lambda A: np.sum(np.einsum("ii->i", A) * v), A)[0],
                               np.diag(v))


def test_einsum_with_a_repeated_letter_has_second_derivatives():
    v = R(2, 2)

    def f(A):  # sum_i A_ii^2 A_ij: the Hessian mixes the diagonal with the rest
        return np.sum(np.einsum("ii,ij->ij", A * A, A))
    A = R(2, 2)
    np.testing.assert_allclose(hvp(f, A, v), numerical_hvp(f, A, v), rtol=1e-5, atol=1e-7)


def test_einsum_optimize_is_accepted_and_gives_the_same_gradient():
    a, b, c = R(2, 3), R(3, 4), R(4, 2)
    plain = fl.gradient(lambda a: np.einsum("ab,bc,cd->", a, b, c), a)[0]
    for opt in (True, "greedy", "optimal"):
        np.testing.assert_allclose(
            fl.gradient(lambda a: np.einsum("ab,bc,cd->", a, b, c, optimize=opt), a)[0], plain)


def test_einsum_keeps_float32():
    A = R(3, 3).astype(np.float32)
    assert fl.gradient(lambda A: np.einsum("ii", A), A)[0].dtype == np.float32


# --------------------------------------------------------------------------- cross, kron

def test_cross_gradient_is_a_cross_product():
    a, b, g = R(3), R(3), R(3)
    ga, gb = fl.gradient(lambda a, b: np.sum(np.cross(a, b) * g), a, b)
    np.testing.assert_allclose(ga, np.cross(b, g))
    np.testing.assert_allclose(gb, np.cross(g, a))


def test_cross_of_2_vectors_warns_as_numpy_does_and_gives_numpys_values():
    a, b = R(4, 2), R(4, 2)
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors are deprecated"):
        out = []
        fl.gradient(lambda a: (out.append(np.array(np.cross(a, b))), np.sum(np.cross(a, b)))[1], a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        np.testing.assert_allclose(out[0], np.cross(a, b))


@pytest.mark.parametrize("sa, kw, match", [
    ((4,), {}, "dimension must be 2 or 3"),
    ((), {}, "zero dimension"),
    ((3,), {"axisa": 2}, "axisa"),
])
def test_cross_refuses_what_numpy_refuses(sa, kw, match):
    with pytest.raises(ValueError, match=match):
        fl.gradient(lambda a: np.sum(np.cross(a, np.ones(3), **kw)), np.ones(sa))


@pytest.mark.parametrize("sa, sb", [((2, 3), (4,)), ((2,), (3, 1, 2)), ((), (2, 2)), ((2, 2), ())])
def test_kron_gives_numpys_shape_for_any_numbers_of_axes(sa, sb):
    a, b = R(*sa), R(*sb)
    out = []
    ga, gb = fl.gradient(lambda a, b: (out.append(np.array(np.kron(a, b))),
                                       np.sum(np.kron(a, b)))[1], a, b)
    np.testing.assert_allclose(out[0], np.kron(a, b))
    np.testing.assert_allclose(ga, np.full(np.shape(a), np.sum(b)))


# --------------------------------------------------------------------------- gufuncs

@pytest.mark.skipif(not hasattr(np, "matvec"), reason="np.matvec needs NumPy 2.2")
def test_numpy_2_vector_gufuncs_are_traced():
    from fluxlite.primitives import supported
    assert {"numpy.vecdot", "numpy.matvec", "numpy.vecmat", "numpy.cross", "numpy.kron"} <= set(
        supported())
    A, x = R(3, 2), R(2)
    np.testing.assert_allclose(fl.gradient(lambda x: np.sum(np.matvec(A, x)), x)[0], A.sum(0))
    np.testing.assert_allclose(fl.gradient(lambda x: np.sum(np.vecmat(x, A.T)), x)[0], A.sum(0))
    np.testing.assert_allclose(fl.gradient(lambda x: np.vecdot(x, x), x)[0], 2 * x)


def test_matmul_axes_keyword_moves_the_gradient_with_it():
    a, b = R(4, 2, 3), R(4, 5)
    axes = [(-1, 0), (0, 1), (0, -1)]  # a's matrices are a[:, k, :].T
    ga = fl.gradient(lambda a: np.sum(np.matmul(a, b, axes=axes) ** 2), a)[0]
    want = fl.gradient(lambda a: np.sum((np.swapaxes(a, 0, 2) @ b) ** 2), a)[0]
    np.testing.assert_allclose(ga, want)


# --------------------------------------------------------------------------- constants, dtypes

@pytest.mark.parametrize("f", [
    lambda x, c: x @ c, lambda x, c: c[:2] @ x, lambda x, c: np.dot(x, c), lambda x, c: np.inner(x, c),
    lambda x, c: np.cross(x, c), lambda x, c: np.kron(x, c), lambda x, c: np.einsum("ij,j", x, c),
    lambda x, c: np.tensordot(x, c, axes=1), lambda x, c: np.vecdot(x, c),
], ids=["@", "vector @", "dot", "inner", "cross", "kron", "einsum", "tensordot", "vecdot"])
def test_a_constant_given_as_a_list_works_like_an_array(f):
    x, c = R(2, 3), [1.0, -2.0, 0.5]
    got = fl.gradient(lambda x: np.sum(f(x, c) ** 2), x)[0]
    want = fl.gradient(lambda x: np.sum(f(x, np.array(c)) ** 2), x)[0]
    np.testing.assert_allclose(got, want)


def test_einsum_dtype_sets_the_result_and_the_gradient_keeps_the_argument_dtype():
    x = R(2, 3).astype(np.float32)
    val, (g,) = fl.withgradient(lambda x: np.sum(np.einsum("ij->i", x, dtype=np.float64)), x)
    assert np.asarray(val).dtype == np.float64 and g.dtype == np.float32
    with pytest.raises(TypeError, match="according to the rule 'safe'"):  # as NumPy refuses
        fl.gradient(lambda x: np.sum(np.einsum("ij->i", x, dtype=np.float32)), R(2, 3))
