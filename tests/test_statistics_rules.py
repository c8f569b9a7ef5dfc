"""The statistics functions used in losses, in words: weighted averages, ranges, covariances
and correlations, the reductions that skip NaNs, integrals by the trapezoid rule, polynomials
and differences. The gradcheck cases for each are in ``cases_reductions.py``; these tests
state the behaviours at the edges: ties, NaNs, empty slices, refusals and their messages."""
import warnings

import numpy as np
import pytest

import fluxlite as fl
from gradcheck import hvp, numerical_hvp


def grad(f, *args):
    return fl.gradient(f, *args)


# --------------------------------------------------------------------------- np.average

def test_average_with_traced_weights_differentiates_both():
    a, w = np.array([1.0, 2.0, 6.0]), np.array([1.0, 1.0, 2.0])
    val, (ga, gw) = fl.withgradient(lambda a, w: np.average(a, weights=w), a, w)
    assert val == np.average(a, weights=w) == 3.75
    np.testing.assert_allclose(ga, w / w.sum())                  # d avg / d a_i = w_i / Σw
    np.testing.assert_allclose(gw, (a - 3.75) / w.sum())         # d avg / d w_i = (a_i - avg) / Σw


def test_average_returned_gives_the_sum_of_weights_with_its_gradient():
    a, w = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    avg, total = np.average(a, axis=1, weights=w, returned=True)
    g, = grad(lambda w: np.sum(np.average(a, axis=1, weights=w, returned=True)[1]), w)
    np.testing.assert_array_equal(total, [6.0, 6.0])
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])            # two rows, each Σw
    v, (g,) = fl.withgradient(lambda a: np.sum(np.stack(np.average(a, axis=0, returned=True))), a)
    assert v == float(np.sum(np.stack(np.average(a, axis=0, returned=True))))
    np.testing.assert_allclose(g, np.full((2, 3), 0.5))


def test_average_keeps_numpys_errors():
    a = np.ones((2, 3))
    with pytest.raises(TypeError, match="Axis must be specified"):
        grad(lambda a: np.average(a, weights=np.ones(3)), a)
    with pytest.raises(ValueError, match="Shape of weights must be consistent"):
        grad(lambda a: np.sum(np.average(a, axis=0, weights=np.ones(3))), a)
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        grad(lambda w: np.average(np.ones(2), weights=w), np.array([1.0, -1.0]))


def test_average_keeps_float32():
    a = np.array([1.0, 2.0], dtype=np.float32)
    g, = grad(lambda a: np.average(a, weights=np.array([1.0, 3.0], dtype=np.float32)), a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [0.25, 0.75])


# --------------------------------------------------------------------------- np.ptp

def test_ptp_sends_the_gradient_to_the_largest_and_smallest_shared_between_ties():
    g, = grad(np.ptp, np.array([1.0, 3.0, 3.0, 0.0]))
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5, -1.0])
    g, = grad(lambda x: np.sum(np.ptp(x, axis=0, keepdims=True)), np.array([[1.0, 5.0], [2.0, 4.0]]))
    np.testing.assert_array_equal(g, [[-1.0, 1.0], [1.0, -1.0]])


def test_ptp_refuses_out():
    with pytest.raises(fl.autodiff.InPlaceError, match="np.ptp"):
        grad(lambda x: np.ptp(x, out=np.zeros(())), np.ones(2))


# --------------------------------------------------------------------------- np.cov, np.corrcoef

def test_cov_of_a_vector_is_its_variance_with_ddof_1():
    x = np.array([1.0, 4.0, 2.0, 7.0])
    val, (g,) = fl.withgradient(np.cov, x)
    assert val == pytest.approx(np.var(x, ddof=1))
    np.testing.assert_allclose(g, 2 * (x - x.mean()) / 3)


def test_cov_has_gradients_for_y_and_aweights():
    x, y = np.array([1.0, 4.0, 2.0]), np.array([0.5, -1.0, 3.0])
    aw = np.array([1.0, 2.0, 0.5])
    val, grads = fl.withgradient(lambda x, y, aw: np.sum(np.cov(x, y, aweights=aw)), x, y, aw)
    assert val == pytest.approx(np.sum(np.cov(x, y, aweights=aw)))
    assert all(g.shape == (3,) for g in grads)


def test_cov_refuses_traced_fweights_and_says_what_to_do():
    with pytest.raises(fl.NoGradientRule, match="fweights") as e:
        grad(lambda f: np.sum(np.cov(np.array([1.0, 2.0, 4.0]), fweights=f)), np.ones(3))
    assert "aweights" in str(e.value) and "np.asarray" in str(e.value)


def test_cov_warns_about_too_few_observations_as_numpy_does():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        val, _ = fl.withgradient(lambda x: np.cov(x, ddof=2), np.array([1.0, 2.0]))
        assert np.isinf(val) and np.isinf(np.cov(np.array([1.0, 2.0]), ddof=2))
    assert any("Degrees of freedom <= 0" in str(w.message) for w in seen)


def test_corrcoef_is_clipped_and_its_gradient_is_0_where_it_reaches_1():
    x = np.array([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0], [3.0, -1.0, 0.5]])  # rows 0 and 1: exact
    r = np.corrcoef(x)
    np.testing.assert_array_equal(r, np.corrcoef(x))
    assert np.all(np.abs(r) <= 1)
    for i, j in [(0, 0), (1, 1), (0, 1)]:  # |R| is at its largest: every slope is 0
        g, = grad(lambda x: np.corrcoef(x)[i, j], x)
        np.testing.assert_allclose(g, 0.0, atol=1e-12)
    g, = grad(lambda x: np.corrcoef(x)[0, 2], x)
    assert np.max(np.abs(g)) > 0.01


def test_corrcoef_of_one_variable_is_1_with_slope_0():
    val, (g,) = fl.withgradient(np.corrcoef, np.array([1.0, 3.0, 2.0]))
    assert val == 1.0
    np.testing.assert_allclose(g, 0.0, atol=1e-15)


# --------------------------------------------------------------------------- NaN-skipping reductions

X = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])


@pytest.mark.parametrize("f", [np.nansum, np.nanmean, np.nanmax, np.nanmin, np.nanprod, np.nanvar,
                               np.nanstd, np.nanmedian,
                               lambda x, **kw: np.nanquantile(x, 0.3, **kw),
                               lambda x, **kw: np.nanpercentile(x, 30, **kw)],
                         ids=["nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd",
                              "nanmedian", "nanquantile", "nanpercentile"])
def test_nan_reductions_give_gradient_0_at_nans_and_nan_for_all_nan_slices(f):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        want = f(X, axis=1)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        def loss(x):
            r = f(x, axis=1)
            return np.sum(np.where(np.isnan(r), 0.0, r)), r
        (_, val), (g,) = fl.withgradient(loss, X)
    np.testing.assert_array_equal(np.isnan(val), np.isnan(want))
    np.testing.assert_allclose(val[0], want[0])
    np.testing.assert_array_equal(g[:, 1], 0.0)       # NaN entries
    np.testing.assert_array_equal(g[1], 0.0)          # the all-NaN slice
    assert not np.any(np.isnan(g))
    # NumPy's warnings about the empty slice, and only those (none from the backward pass)
    assert {str(w.message) for w in ours} == {str(w.message) for w in seen}


def test_nan_reductions_agree_with_the_plain_ones_on_the_values_that_are_not_nan():
    x = np.array([2.0, np.nan, -1.0, 4.0])
    y = x[~np.isnan(x)]
    for nanf, f in [(np.nansum, np.sum), (np.nanmean, np.mean), (np.nanmax, np.max),
                    (np.nanmin, np.min), (np.nanprod, np.prod), (np.nanvar, np.var),
                    (np.nanstd, np.std), (np.nanmedian, np.median)]:
        g, = grad(nanf, x)
        gy, = grad(f, y)
        np.testing.assert_allclose(g[~np.isnan(x)], gy, err_msg=nanf.__name__)
        assert g[1] == 0.0


def test_nanstd_of_equal_values_has_slope_0_not_nan():
    g, = grad(np.nanstd, np.array([2.0, np.nan, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):  # one value, ddof=1: NaN
        val, (g,) = fl.withgradient(lambda x: np.nanstd(x, ddof=1), np.array([np.nan, 5.0]))
    assert np.isnan(val) and np.array_equal(g, [0.0, 0.0])


def test_nanvar_has_second_derivatives():
    x, v = np.array([1.0, np.nan, 4.0, 2.0]), np.array([0.3, 1.0, -0.5, 0.2])
    f = lambda x: np.nanvar(x, ddof=1) ** 2
    np.testing.assert_allclose(hvp(f, x, v), numerical_hvp(f, x, v), rtol=1e-6, atol=1e-8)
    f = lambda x: np.nanstd(x) ** 3
    np.testing.assert_allclose(hvp(f, x, v), numerical_hvp(f, x, v), rtol=1e-6, atol=1e-8)


def test_nanvar_and_nanstd_take_correction_as_numpy_does():
    x = np.array([1.0, np.nan, 4.0, 2.0])
    assert grad(lambda x: np.nanvar(x, correction=1), x)[0].tolist() == \
        grad(lambda x: np.nanvar(x, ddof=1), x)[0].tolist()
    with pytest.raises(ValueError, match="ddof and correction"):
        grad(lambda x: np.nanstd(x, ddof=1, correction=1), x)
    with pytest.raises(fl.NoGradientRule, match="np.sqrt\\(np.nanvar"):
        grad(lambda x: np.nanstd(x, mean=2.0), x)


def test_nan_reductions_refuse_where_initial_and_out_with_the_way_out():
    x = np.array([1.0, np.nan])
    with pytest.raises(TypeError, match="np.where"):
        grad(lambda x: np.nansum(x, where=np.array([True, False])), x)
    with pytest.raises(TypeError, match="initial="):
        grad(lambda x: np.nanmax(x, initial=0.0), x)
    with pytest.raises(fl.autodiff.InPlaceError, match="np.nanmean"):
        grad(lambda x: np.nanmean(x, out=np.zeros(())), x)
    with pytest.raises(fl.NoGradientRule, match="weights="):
        grad(lambda x: np.nanquantile(x, 0.5, weights=np.ones(2), method="inverted_cdf"), x)


def test_nanquantile_uses_each_lanes_own_count():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [np.nan, 10.0, 30.0, np.nan]])
    val, (g,) = fl.withgradient(lambda x: np.sum(np.nanquantile(x, 0.25, axis=1)), x)
    np.testing.assert_allclose(val, np.sum(np.nanquantile(x, 0.25, axis=1)))
    np.testing.assert_allclose(g, [[0.25, 0.75, 0.0, 0.0], [0.0, 0.75, 0.25, 0.0]])
    gq, = grad(lambda q: np.sum(np.nanquantile(x, q, axis=1)), 0.25)  # slopes 3 and 20
    assert gq == pytest.approx(3.0 + 20.0)


def test_nan_reductions_keep_float32():
    x = np.array([1.0, np.nan, 3.0], dtype=np.float32)
    for f in [np.nansum, np.nanmean, np.nanmax, np.nanvar, np.nanstd, np.nanmedian]:
        g, = grad(f, x)
        assert g.dtype == np.float32, f.__name__


# --------------------------------------------------------------------------- np.trapezoid

def test_trapezoid_differentiates_the_samples_and_the_points():
    y, x = np.array([1.0, 3.0, 2.0]), np.array([0.0, 1.0, 3.0])
    val, (gy, gx) = fl.withgradient(lambda y, x: np.trapezoid(y, x), y, x)
    assert val == np.trapezoid(y, x) == 7.0
    np.testing.assert_allclose(gy, [0.5, 1.5, 1.0])     # half of each neighbouring interval
    np.testing.assert_allclose(gx, [-2.0, -0.5, 2.5])   # -(y0+y1)/2, ((y0+y1)-(y1+y2))/2, ...
    assert grad(lambda d: np.trapezoid(y, dx=d), 0.5) == (4.5,)  # (1 + 3) / 2 + (3 + 2) / 2


def test_numpy_2_has_no_trapz():
    assert not hasattr(np, "trapz")  # removed in NumPy 2.4: np.trapezoid is its name


# --------------------------------------------------------------------------- np.polyval, np.ediff1d

def test_polyval_differentiates_coefficients_and_points():
    p, x = np.array([2.0, -1.0, 3.0]), np.array([0.5, 2.0])
    val, (gp, gx) = fl.withgradient(lambda p, x: np.sum(np.polyval(p, x)), p, x)
    assert val == np.sum(np.polyval(p, x))
    np.testing.assert_allclose(gp, [np.sum(x ** 2), np.sum(x), 2.0])
    np.testing.assert_allclose(gx, np.polyval(np.polyder(p), x))
    assert grad(lambda p: np.polyval(p, 3.0), np.ones(2))[0].tolist() == [3.0, 1.0]


def test_polyval_refuses_a_poly1d_point():
    with pytest.raises(fl.NoGradientRule, match="poly1d"):
        grad(lambda p: np.polyval(p, np.poly1d([1.0, 0.0])), np.ones(2))


def test_ediff1d_passes_gradients_to_the_array_and_to_the_ends():
    x = np.array([[1.0, 4.0], [2.0, 8.0]])
    val, (gx, gb) = fl.withgradient(
        lambda x, b: np.ediff1d(x, to_begin=b, to_end=[0.0, 1.0]) @ np.arange(1.0, 7.0), x, 5.0)
    assert val == float(np.ediff1d(x, to_begin=5.0, to_end=[0.0, 1.0]) @ np.arange(1.0, 7.0))
    np.testing.assert_array_equal(gx, [[-2.0, -1.0], [-1.0, 4.0]])
    assert gb == 1.0
    with pytest.raises(TypeError, match="to_end"):
        grad(lambda x: np.sum(np.ediff1d(x, to_end=np.array([1j]))), np.ones(3))


def test_var_takes_a_traced_mean_and_correction_std_refuses_mean():
    x, m = np.array([1.0, 2.0, 6.0]), np.array(2.0)
    val, (gx, gm) = fl.withgradient(lambda x, m: np.var(x, mean=m, correction=1), x, m)
    assert val == np.var(x, mean=m, correction=1) == 8.5   # (1 + 0 + 16) / 2
    np.testing.assert_allclose(gx, (x - 2.0))            # 2 (x - m) / (n - 1)
    assert gm == -np.sum(x - 2.0)
    with pytest.raises(fl.NoGradientRule, match="np.sqrt\\(np.var"):
        grad(lambda x: np.std(x, mean=2.0), x)
    with pytest.raises(TypeError, match="where="):
        grad(lambda x: np.var(x, where=x > 1), x)


@pytest.mark.parametrize("reduce", [np.sum, np.mean, np.prod, np.max, np.min, np.add.reduce])
def test_reductions_refuse_out_inside_gradient_instead_of_leaving_it_unwritten(reduce):
    with pytest.raises(fl.InPlaceError, match="out="):
        fl.gradient(lambda x: reduce(x, axis=0, out=np.zeros(())), np.arange(1.0, 4.0))


def test_a_float_dtype_converts_before_reducing_and_an_integer_one_carries_no_gradient():
    x = np.array([1.25, 2.5, 3.75])
    val, (g,) = fl.withgradient(lambda x: np.sum(x, dtype=np.float32) * 1.0, x)
    assert val == np.sum(x, dtype=np.float32) and g.dtype == np.float64
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])
    total = {}

    def f(x):
        total["int"] = np.sum(x, dtype=int)
        return np.sum(x * total["int"])

    g, = fl.gradient(f, x)
    assert total["int"] == 6 and type(total["int"]) is not fl.autodiff.Tracked
    np.testing.assert_array_equal(g, [6.0, 6.0, 6.0])
