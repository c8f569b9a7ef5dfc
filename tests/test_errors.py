"""Clear errors, never a silently wrong or silently missing gradient.

* a function returning an array instead of a number is refused, and the message names the shape;
* a NumPy function without a gradient rule is refused, naming the function and what to use;
* changing a traced array in place is refused with an explanation;
* whatever goes wrong inside the loss, parameters come out as ordinary `fl.Param` arrays.
"""
import numpy as np
import pytest

import fluxlite as fl

# --------------------------------------------------------------------------- non-scalar results


@pytest.mark.parametrize("shape", [(3,), (2, 3), (1,)])
def test_a_non_scalar_result_is_refused_naming_its_shape(shape):
    with pytest.raises(ValueError) as err:
        fl.gradient(lambda x: x * 2, np.ones(shape))
    msg = str(err.value)
    assert f"shape {shape}" in msg and "np.sum" in msg


def test_a_non_scalar_result_is_refused_in_the_implicit_form_too():
    W = fl.ones(2, 2)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        fl.gradient(lambda: W * 2, fl.params(W))
    assert type(W) is fl.Param


# --------------------------------------------------------------------------- no gradient rule

def _add_at(x):
    buf = np.zeros(3)
    np.add.at(buf, [0, 0, 1], x)  # writes into buf in place
    return np.sum(buf) + np.sum(x)


# Functions that stay without a rule, and the advice each one gets.
NO_RULE = [
    ("np.fft.fft", lambda x: np.sum(np.fft.fft(x).real), "numpy.fft.fft", "C @ x"),
    ("np.fft.rfft", lambda x: np.sum(np.fft.rfft(x).real), "numpy.fft.rfft", "complex"),
    ("np.linalg.eig", lambda x: np.sum(np.linalg.eig(np.outer(x, x) + np.eye(3))[0].real),
     "numpy.linalg.eig", "np.linalg.eigh"),
    ("np.interp", lambda x: np.sum(np.interp(x, [0.0, 1.5, 4.0], [1.0, 0.0, 2.0])),
     "numpy.interp", "np.searchsorted(xp, x)"),
    ("np.convolve", lambda x: np.sum(np.convolve(x, [1.0, -1.0])), "numpy.convolve",
     "@ w[::-1]"),
    ("np.correlate", lambda x: np.sum(np.correlate(x, [1.0, -1.0])), "numpy.correlate", "@ w"),
    ("np.unwrap", lambda x: np.sum(np.unwrap(x)), "numpy.unwrap", "x + (np.unwrap(np.asarray(x))"),
    ("np.histogram", lambda x: np.sum(np.histogram(x, bins=2)[0] * 1.0), "numpy.histogram",
     "sum kernels"),
    ("np.piecewise", lambda x: np.sum(np.piecewise(x, [x < 2, x >= 2], [np.sin, np.cos])),
     "numpy.piecewise", "np.select"),
    ("np.add.at into a plain array", _add_at, "numpy.add.at", "one-hot"),
    ("np.multiply.outer", lambda x: np.sum(np.multiply.outer(x, x)), "numpy.multiply.outer",
     "supported()"),
]


@pytest.mark.parametrize("f, name, advice", [c[1:] for c in NO_RULE], ids=[c[0] for c in NO_RULE])
def test_a_function_without_a_rule_is_named_with_what_to_use_instead(f, name, advice):
    with pytest.raises(fl.NoGradientRule) as err:
        fl.gradient(f, np.array([1.0, 2.0, 3.0]))
    msg = str(err.value)
    assert msg.splitlines()[0] == f"fluxlite has no gradient rule for {name}."
    assert advice in msg


def test_no_gradient_rule_is_a_type_error_and_a_tracing_error():
    assert issubclass(fl.NoGradientRule, TypeError) and issubclass(fl.NoGradientRule, fl.TracingError)


def test_supported_lists_what_can_be_used_instead():
    from fluxlite.primitives import supported
    names = supported()
    for name in ["numpy.sum", "numpy.matmul", "numpy.einsum", "numpy.linalg.norm", "numpy.where"]:
        assert name in names


def test_the_same_functions_work_outside_gradient():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(np.interp(fl.param(x), [0.0, 4.0], [0.0, 8.0]), [6.0, 2.0, 4.0])
    np.testing.assert_allclose(np.fft.fft(fl.param(x)), np.fft.fft(x))


def test_the_advice_for_a_missing_rule_is_code_that_works():
    x, xp, fp = np.array([0.5, 2.0, 3.5]), np.array([0.0, 1.5, 4.0]), np.array([1.0, 0.0, 2.0])

    def interp(x):  # as the np.interp advice writes it
        i = np.clip(np.searchsorted(xp, x) - 1, 0, len(xp) - 2)
        t = (x - xp[i]) / (xp[i + 1] - xp[i])
        return fp[i] * (1 - t) + fp[i + 1] * t
    np.testing.assert_allclose(interp(x), np.interp(x, xp, fp))
    g, = fl.gradient(lambda x: np.sum(interp(x)), x)
    np.testing.assert_allclose(g, [-1 / 1.5, 2 / 2.5, 2 / 2.5])

    w = np.array([1.0, -2.0, 0.5])
    v = np.array([1.0, 4.0, 2.0, 3.0, 5.0])
    windows = lambda v: np.stack([v[i:i + len(w)] for i in range(len(v) - len(w) + 1)])
    np.testing.assert_allclose(windows(v) @ w[::-1], np.convolve(v, w, mode="valid"))
    np.testing.assert_allclose(windows(v) @ w, np.correlate(v, w, mode="valid"))

    N, n = 4, np.arange(4)
    C, S = np.cos(2 * np.pi * np.outer(n, n) / N), np.sin(2 * np.pi * np.outer(n, n) / N)
    np.testing.assert_allclose(C @ v[:4] - 1j * (S @ v[:4]), np.fft.fft(v[:4]), atol=1e-12)


def test_add_at_on_a_traced_array_is_an_in_place_change():
    with pytest.raises(fl.InPlaceError, match="numpy.add.at"):
        fl.gradient(lambda x: (np.add.at(x, [0], 1.0), np.sum(x))[1], np.ones(3))


# --------------------------------------------------------------------------- in-place changes


def _plus_equals(x):
    x += 1
    return np.sum(x)


def _times_equals(x):
    x *= 2
    return np.sum(x)


def _setitem(x):
    x[0] = 1.0
    return np.sum(x)


def _slice_assign(x):
    x[1:] = 0.0
    return np.sum(x)


def _out(x):
    np.add(x, 1, out=x)
    return np.sum(x)


def _fill(x):
    x.fill(0.0)
    return np.sum(x)


def _intermediate(x):
    y = x * 2
    y += 1  # an intermediate result is traced too
    return np.sum(y)


IN_PLACE = {"x += 1": _plus_equals, "x *= 2": _times_equals, "x[0] = 1": _setitem,
            "x[1:] = 0": _slice_assign, "np.add(x, 1, out=x)": _out, "x.fill(0)": _fill,
            "y = x * 2; y += 1": _intermediate}


@pytest.mark.parametrize("f", list(IN_PLACE.values()), ids=list(IN_PLACE))
def test_in_place_changes_of_traced_arrays_are_refused_with_an_explanation(f):
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(fl.InPlaceError) as err:
        fl.gradient(f, x)
    msg = str(err.value)
    assert msg.startswith("In-place change of a traced array inside gradient")
    assert "silently wrong" in msg and "x = x + 1" in msg  # why, and what to write instead
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])  # the argument was not changed


@pytest.mark.parametrize("f", list(IN_PLACE.values()), ids=list(IN_PLACE))
def test_in_place_changes_of_parameters_are_refused_and_leave_them_intact(f):
    W = fl.param([1.0, 2.0, 3.0])
    with pytest.raises(fl.InPlaceError):
        fl.gradient(lambda: f(W), fl.params(W))
    assert type(W) is fl.Param
    np.testing.assert_array_equal(W, [1.0, 2.0, 3.0])


def test_in_place_error_is_a_value_error_and_a_tracing_error():
    assert issubclass(fl.InPlaceError, ValueError) and issubclass(fl.InPlaceError, fl.TracingError)


def test_in_place_changes_of_plain_arrays_are_allowed():
    def f(x):
        buf = np.zeros(3)
        buf += 1.0  # not traced: nothing to protect
        return np.sum(x * buf)
    assert fl.gradient(f, np.ones(3))[0].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("change", [lambda x: x.sort(), lambda x: x.partition(1),
                                    lambda x: x.put([0], [5.0])],
                         ids=["x.sort()", "x.partition(1)", "x.put(...)"])
def test_in_place_array_methods_are_refused(change):
    x = np.array([3.0, 1.0, 2.0])

    def f(x):
        change(x)
        return np.sum(x * np.array([1.0, 2.0, 3.0]))
    with pytest.raises(fl.InPlaceError):
        fl.gradient(f, x)
    np.testing.assert_array_equal(x, [3.0, 1.0, 2.0])


def test_storing_a_traced_number_in_a_plain_array_is_refused():
    def f(x):
        buf = np.zeros(2)
        buf[0] = x[0]
        return np.sum(buf) + x[1]
    with pytest.raises(fl.TracingError, match="np.stack"):
        fl.gradient(f, np.array([1.0, 2.0]))


def test_a_list_of_traced_numbers_made_into_an_array_is_refused():
    with pytest.raises(fl.TracingError):
        fl.gradient(lambda x: np.sum(np.array([x[0], x[1]])) + x[0], np.array([1.0, 2.0]))


def test_the_var_and_std_methods_work_like_the_functions():
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(fl.gradient(lambda x: x.var(), x)[0],
                               fl.gradient(np.var, x)[0])
    np.testing.assert_allclose(fl.gradient(lambda x: x.std(), x)[0],
                               fl.gradient(np.std, x)[0])


# --------------------------------------------------------------------------- restoring parameters


class Boom(Exception):
    pass


def _raise(exc):
    raise exc


@pytest.mark.parametrize("failure", [
    lambda W: _raise(Boom("the loss failed")),
    lambda W: np.sum(np.fft.fft(W).real),
    lambda W: W * 2,  # not a scalar
    lambda W: _plus_equals(W),
], ids=["exception in the loss", "no gradient rule", "non-scalar result", "in-place change"])
def test_parameters_are_restored_after_the_loss_fails(failure):
    W, b = fl.param([[1.0, 2.0]]), fl.zeros(2)
    with pytest.raises(Exception):
        fl.gradient(lambda: failure(W), fl.params(W, b))
    with pytest.raises(Exception):
        fl.gradient(lambda m: failure(m["W"]), {"W": W, "b": b})
    for p in (W, b):
        assert type(p) is fl.Param
    assert type(W * 2) is np.ndarray  # arithmetic gives plain arrays again
    W += 1.0  # and in-place updates work outside gradient
    np.testing.assert_array_equal(W, [[2.0, 3.0]])
    assert fl.within_gradient() is False
    grads = fl.gradient(lambda: np.sum(W * b[0]), fl.params(W, b))  # the next call is unaffected
    np.testing.assert_array_equal(grads[b], [5.0, 0.0])


def test_parameters_are_restored_after_a_failure_inside_a_nested_gradient():
    W = fl.param([1.0, 2.0])

    def outer():
        fl.gradient(lambda x: _raise(Boom("inner")), np.ones(2))

    with pytest.raises(Boom):
        fl.gradient(outer, fl.params(W))
    assert type(W) is fl.Param and fl.within_gradient() is False


# --------------------------------------------------------------------------- misuse


def test_gradient_needs_a_function_first():
    with pytest.raises(TypeError, match="needs a function first"):
        fl.gradient(np.ones(2), lambda x: x)


def test_the_decorator_form_takes_only_the_params():
    W = fl.ones(2)
    with pytest.raises(TypeError, match="decorator form"):
        fl.gradient(fl.params(W), W)
