"""Running sums and products, sorting, order statistics and array construction, in words.

The gradcheck cases (``cases_shape.py``, ``cases_reductions.py``) compare every one of these
functions with finite differences on random inputs. The tests here state what those cannot:

* cumprod's gradient is exact where the input has zeros, and so are its second derivatives;
* at ties, sorting and the median give the gradient to one of the equal values;
* what is refused (writing into ``out=``, np.put_along_axis, pad and quantile modes without a
  rule), with a message that says what to write instead;
* float32 stays float32, integer results carry no gradient, and a copy stays traced.
"""
import itertools
import warnings

import numpy as np
import pytest

import fluxlite as fl


def _cumprod_grad(x, v):
    """∂/∂x_j of Σ_i v_i Π_{k≤i} x_k, by brute force."""
    return np.array([sum(v[i] * np.prod([x[k] for k in range(i + 1) if k != j])
                         for i in range(j, len(x))) for j in range(len(x))])


def _cumprod_hessian(x, v):
    """∂²/∂x_j∂x_m of Σ_i v_i Π_{k≤i} x_k, by brute force (0 on the diagonal)."""
    n = len(x)
    H = np.zeros((n, n))
    for j, m in itertools.permutations(range(n), 2):
        H[j, m] = sum(v[i] * np.prod([x[k] for k in range(i + 1) if k not in (j, m)])
                      for i in range(max(j, m), n))
    return H


def _hessian(f, x):
    return np.stack([fl.gradient(lambda y: np.sum(fl.gradient(f, y)[0] * e), x)[0]
                     for e in np.eye(len(x))])


# --------------------------------------------------------------------------- running products

ZEROS = [[2.0, 0.0, 3.0, -1.5, 0.0, 5.0], [0.0, 1.5, -2.0], [1.5, -2.0, 0.0], [0.0, 0.0, 0.0],
         [1.0, 2.0, 3.0]]


@pytest.mark.parametrize("x", ZEROS)
def test_cumprod_gradient_is_exact_with_zeros_in_the_input(x):
    x = np.array(x)
    v = np.arange(1.0, len(x) + 1)
    g, = fl.gradient(lambda x: np.sum(np.cumprod(x) * v), x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, _cumprod_grad(x, v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x", ZEROS)
def test_cumprod_second_derivatives_are_exact_with_zeros(x):
    """Past a zero the gradient is 0, but it still moves with the zero: the mixed second
    derivative of a later element and the zero is not 0."""
    x = np.array(x)
    v = np.arange(1.0, len(x) + 1)
    H = _hessian(lambda x: np.sum(np.cumprod(x) * v), x)
    np.testing.assert_allclose(H, _cumprod_hessian(x, v), rtol=1e-12, atol=1e-12)


def test_cumprod_second_derivatives_are_exact_for_tiny_values():
    """Dividing by tiny values would leave rounding errors of the size 1/x² behind."""
    x = np.array([1e-60, 2.0, 3.0, 1e-80])
    v = np.array([1.0, -2.0, 0.5, 3.0])
    H = _hessian(lambda x: np.sum(np.cumprod(x) * v), x)
    np.testing.assert_allclose(H, _cumprod_hessian(x, v), rtol=1e-12, atol=1e-300)


def test_cumprod_along_an_axis_of_a_matrix_with_zeros():
    x = np.array([[1.0, 0.0], [2.0, 3.0], [0.0, 4.0]])
    g, = fl.gradient(lambda x: np.sum(np.cumprod(x, axis=0)), x)
    want = np.stack([_cumprod_grad(x[:, c], np.ones(3)) for c in range(2)], axis=1)
    np.testing.assert_allclose(g, want)


# --------------------------------------------------------------------------- running sums


def test_cumsum_gradient_is_a_running_sum_from_the_far_end():
    g, = fl.gradient(lambda x: np.sum(np.cumsum(x) * np.array([1.0, 10.0, 100.0])), np.zeros(3))
    np.testing.assert_array_equal(g, [111.0, 110.0, 100.0])


def test_cumsum_without_axis_runs_over_the_flattened_array():
    x = np.arange(6.0).reshape(2, 3)
    for f in (np.cumsum, lambda x: x.cumsum()):
        g, = fl.gradient(lambda x: np.sum(f(x)), x)
        np.testing.assert_array_equal(g, [[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]])


def test_ufunc_accumulate_runs_along_axis_0_by_default_and_refuses_a_number():
    x = np.arange(6.0).reshape(2, 3)
    g, = fl.gradient(lambda x: np.sum(np.add.accumulate(x) * np.array([[1.0], [10.0]])), x)
    np.testing.assert_array_equal(g, [[11.0] * 3, [10.0] * 3])
    with pytest.raises(TypeError, match="cannot accumulate on a scalar"):
        fl.gradient(lambda x: np.sum(np.multiply.accumulate(x)), 2.0)


def test_a_running_maximum_sends_each_gradient_to_the_record_holder():
    x = np.array([1.0, 3.0, 2.0, 3.0, np.nan, 5.0])
    out = []
    g, = fl.gradient(lambda x: (out.append(np.maximum.accumulate(x)),
                                np.sum(out[-1][:4] * np.array([1.0, 10.0, 100.0, 1000.0])))[1], x)
    np.testing.assert_array_equal(out[0], np.maximum.accumulate(x))  # NaN from index 4 on
    np.testing.assert_array_equal(g, [1.0, 110.0, 0.0, 1000.0, 0.0, 0.0])  # tie: the later 3


def test_an_integer_dtype_gives_integers_and_no_gradient_as_in_numpy():
    x = np.array([0.5, 0.7, 1.6])
    with pytest.warns(fl.NoGradientWarning):
        g, = fl.gradient(lambda x: np.sum(np.cumsum(x, dtype=int) * 1.0), x)
    assert g is None
    out = []
    g, = fl.gradient(lambda x: (out.append(np.cumsum(x, dtype=np.float32)), np.sum(out[-1]))[1], x)
    assert out[0].dtype == np.float32 and g.dtype == np.float64
    np.testing.assert_array_equal(g, [3.0, 2.0, 1.0])


@pytest.mark.parametrize("call", [
    lambda x: np.cumsum(x, out=np.zeros(3)), lambda x: np.cumprod(x, out=np.zeros(3)),
    lambda x: np.median(x, out=np.zeros(())), lambda x: np.trace(np.diag(x), out=np.zeros(()))],
    ids=["cumsum", "cumprod", "median", "trace"])
def test_writing_into_out_is_refused_naming_the_function(call):
    with pytest.raises(fl.InPlaceError, match=r"numpy\.\w+\(\.\.\., out=\.\.\.\).*Use the result"):
        fl.gradient(lambda x: np.sum(call(x)), np.ones(3))


# --------------------------------------------------------------------------- order statistics


def test_sort_sends_each_gradient_back_to_where_the_value_came_from():
    g, = fl.gradient(lambda x: np.sum(np.sort(x) * np.array([1.0, 10.0, 100.0])),
                     np.array([3.0, 1.0, 2.0]))
    np.testing.assert_array_equal(g, [100.0, 1.0, 10.0])


def test_at_ties_each_equal_value_gets_the_gradient_of_one_sorted_place():
    """A subgradient: [1, 1] sorted is [1, 1], and the two places' gradients go one to each."""
    g, = fl.gradient(lambda x: np.sum(np.sort(x) * np.array([1.0, 10.0, 100.0])),
                     np.array([2.0, 0.0, 2.0]))
    assert g[1] == 1.0 and sorted(g[[0, 2]]) == [10.0, 100.0]


def test_median_and_quantile_split_between_the_two_middle_values():
    x = np.array([3.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(fl.gradient(np.median, x)[0], [0.0, 0.0, 0.5, 0.5])
    g, = fl.gradient(lambda x: np.quantile(x, 0.25), x)  # virtual index 0.75: 1/4 and 3/4
    np.testing.assert_allclose(g, [0.0, 0.25, 0.75, 0.0])
    gq, = fl.gradient(lambda q: np.quantile(x, q), 0.25)  # (sorted[1] - sorted[0]) · (n - 1)
    assert gq == pytest.approx(3.0)


def test_median_of_values_with_a_nan_is_nan_with_gradient_zero_there():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 3.0, 2.0]])
    out = []
    g, = fl.gradient(lambda x: (out.append(np.median(x, axis=1)), out[-1][1])[1], x)
    np.testing.assert_array_equal(out[0], [np.nan, 2.0])
    np.testing.assert_array_equal(g, [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("kw, words", [({"method": "inverted_cdf"}, "method='inverted_cdf'"),
                                       ({"weights": np.ones(3)}, "weights=")])
def test_quantile_methods_without_a_rule_are_refused_with_the_ones_that_work(kw, words):
    with pytest.raises(fl.NoGradientRule) as err:
        fl.gradient(lambda x: np.quantile(x, 0.5, **kw), np.array([1.0, 2.0, 3.0]))
    msg = str(err.value)
    assert words in msg.splitlines()[0]
    assert "'linear'" in msg or "np.argsort" in msg


def test_put_along_axis_is_refused_with_the_way_round():
    idx = np.array([1])
    for f in (lambda x: np.put_along_axis(x, idx, 0.0, axis=0),
              lambda x: np.put_along_axis(np.zeros(3), idx, x[:1], axis=0)):
        with pytest.raises(fl.NoGradientRule, match="numpy.put_along_axis") as err:
            fl.gradient(lambda x: (f(x), np.sum(x))[1], np.ones(3))
        assert "np.where(mask, values, arr)" in str(err.value)


# --------------------------------------------------------------------------- construction


def test_repeat_and_tile_gradients_count_the_copies():
    g, = fl.gradient(lambda x: np.sum(np.repeat(x, [2, 0, 3])), np.ones(3))
    np.testing.assert_array_equal(g, [2.0, 0.0, 3.0])
    g, = fl.gradient(lambda x: np.sum(np.tile(x, (2, 3))), np.ones(2))
    np.testing.assert_array_equal(g, [6.0, 6.0])


def test_pad_corners_hold_the_constants_of_the_later_axis_and_constants_get_gradients():
    x = np.ones((2, 2))
    out = []
    fl.gradient(lambda x: (out.append(np.pad(x, 1, constant_values=((1, 2), (3, 4)))),
                           np.sum(out[-1]))[1], x)
    np.testing.assert_array_equal(out[0], np.pad(x, 1, constant_values=((1, 2), (3, 4))))
    gx, gc = fl.gradient(lambda x, c: np.sum(np.pad(x, 1, constant_values=c)), x, 0.5)
    np.testing.assert_array_equal(gx, np.ones((2, 2)))
    assert gc == 12.0  # the 4 × 4 result has 12 padded cells


def test_pad_reflect_gradient_adds_up_the_reflected_copies():
    g, = fl.gradient(lambda x: np.sum(np.pad(x, 2, mode="reflect")), np.zeros(3))
    np.testing.assert_array_equal(g, [2.0, 3.0, 2.0])  # [2 1 | 0 1 2 | 1 0]


@pytest.mark.parametrize("mode, words", [("maximum", "np.max"), ("median", "np.med"),
                                         (lambda v, w, i, k: None, "callable")])
def test_pad_modes_without_a_rule_are_refused_saying_what_to_do(mode, words):
    with pytest.raises(fl.NoGradientRule) as err:
        fl.gradient(lambda x: np.sum(np.pad(x, 1, mode=mode)), np.ones(3))
    assert "numpy.pad" in str(err.value) and words in str(err.value)


def test_diag_of_a_vector_reads_its_gradient_back_from_the_diagonal():
    G = np.arange(16.0).reshape(4, 4)
    g, = fl.gradient(lambda v: np.sum(np.diag(v, k=1) * G), np.ones(3))
    np.testing.assert_array_equal(g, [1.0, 6.0, 11.0])
    with pytest.raises(ValueError, match="1- or 2-d"):
        fl.gradient(lambda x: np.sum(np.diag(x)), np.ones((2, 2, 2)))


def test_linspace_step_has_a_gradient_and_is_nan_for_one_sample():
    ga, gb = fl.gradient(lambda a, b: np.linspace(a, b, 5, retstep=True)[1], 0.0, 1.0)
    assert (ga, gb) == (-0.25, 0.25)
    out = []
    fl.gradient(lambda a: (out.append(np.linspace(a, 2.0, 1, retstep=True)),
                           np.sum(out[-1][0]))[1], 1.0)
    assert np.isnan(out[0][1]) and out[0][0].tolist() == [1.0]


def test_a_copy_stays_traced_for_second_derivatives():
    x = np.array([1.0, 2.0])
    h = fl.gradient(lambda y: fl.gradient(lambda x: np.sum(np.copy(x) ** 3), y)[0][1], x)[0]
    np.testing.assert_array_equal(h, [0.0, 12.0])


@pytest.mark.parametrize("f", [np.cumsum, np.cumprod, np.sort, np.median,
                               lambda x: np.quantile(x, 0.3), lambda x: np.pad(x, 2, mode="wrap"),
                               lambda x: np.linspace(x[0], x[1], 4), lambda x: np.diag(x),
                               lambda x: np.gradient(x), lambda x: np.repeat(x, 2)],
                         ids=["cumsum", "cumprod", "sort", "median", "quantile", "pad", "linspace",
                              "diag", "gradient", "repeat"])
def test_float32_in_float32_out(f):
    x = np.array([1.5, -0.5, 2.0], dtype=np.float32)
    out = []
    g, = fl.gradient(lambda x: (out.append(f(x)), np.sum(out[-1] * out[-1]))[1], x)
    assert np.asarray(out[0]).dtype == np.asarray(f(x)).dtype == np.float32
    assert g.dtype == np.float32


def test_these_functions_are_plain_numpy_outside_gradient():
    x = fl.param([3.0, 0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(np.cumprod(x), [3.0, 0.0, 0.0])
        np.testing.assert_array_equal(np.pad(x, 1, mode="edge"), [3.0, 3.0, 0.0, 2.0, 2.0])
        assert np.median(x) == 2.0
