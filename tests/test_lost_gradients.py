"""No gradient is ever lost silently.

What students write that cuts a value off the tape, and what they are told:

* calls fluxlite can catch (``x.item()``, ``x.tolist()``, ``float(x)``, a result that is not
  a number, ``fl.params`` of plain arrays) raise an error naming the call and the fix;
* where NumPy offers no hook (``np.asarray``, ``np.array``, copying into a plain buffer), the
  gradient call notices that its result depends on nothing it traced, and warns once with
  the likely causes;
* a function that genuinely ignores one argument still gives None for it, without a word,
  as in Flux; so does a gradient of a gradient that is constant.
"""
import math
import sys
import warnings

import numpy as np
import pytest

import fluxlite as fl

X = np.array([1.0, 2.0])


# --------------------------------------------------------------------------- what NumPy gives no hook for

DROPPED = {
    "np.asarray(x)": lambda x: np.sum(np.asarray(x) * 2),
    "np.array(x)": lambda x: np.sum(np.array(x) * 2),
    "np.asarray(x, dtype=float32)": lambda x: np.sum(np.asarray(x, dtype=np.float32)),
    "np.array(x, dtype=float64)": lambda x: np.sum(np.array(x, dtype=np.float64) ** 2),
    "out[:] = x * 2": lambda x: _buffer(x),
}


def _buffer(x):
    out = np.zeros(2)
    out[:] = x * 2
    return np.sum(out)


@pytest.mark.parametrize("f", list(DROPPED.values()), ids=list(DROPPED))
def test_a_result_cut_off_from_the_inputs_warns_with_the_likely_causes(f):
    with pytest.warns(fl.NoGradientWarning) as caught:
        assert fl.gradient(f, X) == (None,)
    msg = str(caught[0].message)
    assert "does not depend on anything being differentiated" in msg
    for cause in ["np.asarray(x) or np.array(x)", "out[:] = ...", "np.stack", "fl.params(...)"]:
        assert cause in msg
    assert caught[0].filename == __file__  # it points at the student's own line


@pytest.mark.parametrize("f", list(DROPPED.values()), ids=list(DROPPED))
def test_the_warning_comes_in_the_implicit_style_and_for_models_too(f):
    W = fl.param(X)
    with pytest.warns(fl.NoGradientWarning):
        grads = fl.gradient(lambda: f(W), fl.params(W))
    assert grads[W] is None
    model = fl.Dense(2, 1)
    with pytest.warns(fl.NoGradientWarning):
        assert fl.gradient(lambda m: f(m.weight[0]), model) == (None,)
    with pytest.warns(fl.NoGradientWarning):
        assert fl.withgradient(lambda m: f(m.weight[0]), model).grad == (None,)
    assert type(W) is fl.Param and type(model.weight) is fl.Param


def test_the_warning_is_shown_once_for_a_loop_not_once_per_step():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's usual rule: once per place in the code
        for _ in range(5):
            fl.gradient(DROPPED["np.asarray(x)"], X)
    assert len([w for w in caught if w.category is fl.NoGradientWarning]) == 1


def test_ignoring_one_argument_gives_none_for_it_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx, gy = fl.gradient(lambda x, y: np.sum(x ** 2), X, np.ones(3))
        W, b = fl.param(X), fl.zeros(2)
        grads = fl.gradient(lambda: np.sum(W * 3), fl.params(W, b))
    np.testing.assert_array_equal(gx, 2 * X)
    assert gy is None and grads[b] is None


def test_a_constant_gradient_of_a_gradient_gives_none_without_a_warning():
    # the second derivative of a linear function is zero: Flux gives `nothing`, so do we
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d2 = fl.gradient(lambda x: fl.gradient(lambda t: 3 * t, x)[0], 2.0)
    assert d2 == (None,)


def test_a_function_of_nothing_differentiable_gives_none_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fl.gradient(lambda k: 2.0 * len(k), "abc") == (None,)
        assert fl.gradient(lambda: 1.0) == ()


# --------------------------------------------------------------------------- calls fluxlite can catch

@pytest.mark.skipif(sys.version_info < (3, 11), reason="quotes the code: Python 3.11 positions")
@pytest.mark.parametrize("expr, f", [
    ("x[0].item()", lambda x: x[0].item() * 2 + np.sum(x)),
    ("x.tolist()", lambda x: sum(x.tolist()) + np.sum(x)),
    ("float(x[0])", lambda x: float(x[0]) + np.sum(x)),
    ("math.sin(x[0])", lambda x: math.sin(x[0]) + np.sum(x)),
], ids=["item", "tolist", "float", "math.sin"])
def test_turning_a_traced_array_into_python_numbers_is_refused_naming_the_call(expr, f):
    with pytest.raises(fl.TracingError) as err:
        fl.gradient(f, X)
    msg = str(err.value)
    line = f.__code__.co_firstlineno
    # the student's own code, and where it is
    assert msg.startswith(f"{expr} turns a traced array into Python numbers "
                          f"(line {line} of test_lost_gradients.py)")
    assert "np.sin(x)" in msg and "print(x)" in msg and "withgradient" in msg


@pytest.mark.skipif(sys.version_info < (3, 11), reason="quotes the code: Python 3.11 positions")
def test_the_math_module_is_refused_with_the_numpy_function_to_use():
    with pytest.raises(fl.TracingError) as err:
        fl.gradient(lambda x: math.exp(x[0]) + np.sum(x), X)
    assert "here np.exp(x[0])" in str(err.value)


def test_item_and_tolist_work_outside_gradient_and_on_values_that_are_not_traced():
    W = fl.param(X)
    assert W[0].item() == 1.0 and W.tolist() == [1.0, 2.0]
    seen = []
    fl.gradient(lambda x: (seen.append(np.sum(X).item()), np.sum(x))[1], X)  # X is a constant here
    assert seen == [3.0]


@pytest.mark.parametrize("result, words", [
    (lambda x: None, ["returned None", "forget to `return`"]),
    (lambda x: [np.sum(x), np.sum(x)], ["returned a list", "np.sum(np.stack(values))"]),
    (lambda x: "loss", ["returned a str"]),
    (lambda x: {"loss": np.sum(x)}, ["returned a dict", "withgradient"]),
    (lambda x: np.sum(x) > 0, ["yes/no value", "comparisons carry no gradient"]),
    (lambda x: True, ["yes/no value"]),
], ids=["None", "list", "str", "dict", "comparison", "True"])
def test_a_result_that_is_not_a_number_is_refused_saying_what_to_return(result, words):
    with pytest.raises(TypeError) as err:
        fl.gradient(result, X)
    for w in words:
        assert w in str(err.value)
    W = fl.param(X)
    with pytest.raises(TypeError):
        fl.gradient(lambda: result(W), fl.params(W))
    assert type(W) is fl.Param


def test_a_forgotten_return_in_a_def_is_named():
    def loss(x):
        np.sum(x ** 2)  # no return

    with pytest.raises(TypeError, match="forget to `return`"):
        fl.gradient(loss, X)


@pytest.mark.parametrize("tree, what", [
    ({"W": np.ones((2, 2))}, "dict"),
    ([np.ones(3), np.zeros(2)], "list"),
    ({"layer": {"W": np.ones((2, 2)), "b": np.zeros(2)}}, "dict"),
])
def test_params_of_plain_arrays_is_refused_instead_of_coming_back_empty(tree, what):
    with pytest.raises(TypeError) as err:
        fl.params(tree)
    msg = str(err.value)
    assert f"in the {what} it was given" in msg and "fl.param(" in msg and "empty" in msg


def test_params_of_a_container_keeps_its_trainable_arrays_and_skips_settings():
    W = fl.ones(2, 2)
    ps = fl.params({"W": W, "mask": np.array([True, False]), "act": np.tanh, "n": 3})
    assert list(ps) == [W]
    assert len(fl.params({})) == 0 and len(fl.params()) == 0


# --------------------------------------------------------------------------- real numbers only

def test_complex_arguments_are_refused_with_what_to_do():
    with pytest.raises(TypeError, match=r"real-valued code only.*complex128.*z\.real, z\.imag"):
        fl.gradient(lambda z: np.sum(np.abs(z)), np.array([1 + 2j, 3.0]))
    with pytest.raises(TypeError, match="real-valued code only"):
        fl.gradient(lambda z: z * 2, 1 + 2j)
    with pytest.raises(TypeError, match="real-valued code only"):
        fl.gradient(lambda m: np.sum(m["z"].real), {"z": np.array([1j])})


def test_a_complex_result_inside_the_loss_is_refused_naming_the_operation():
    with pytest.raises(fl.TracingError, match=r"the result of numpy\.multiply is complex"):
        fl.gradient(lambda x: np.sum(np.abs(x * 1j)), X)
    with pytest.raises(fl.TracingError, match="numpy.add"):
        fl.gradient(lambda x: np.sum(np.abs(x + np.array([1j, 0]))), X)


def test_a_complex_parameter_is_refused_and_left_as_it_was():
    with pytest.raises(TypeError, match="real numbers only.*fl.param\\(z.real\\)"):
        fl.param(np.array([1j, 2.0]))
    Z = np.array([1j, 2.0]).view(fl.Param)  # made by hand, past fl.param
    W = fl.param(X)
    with pytest.raises(TypeError, match="a parameter of shape"):
        fl.params(W, Z)
    model = {"W": W, "Z": Z}
    with pytest.raises(TypeError, match="a parameter of shape"):
        fl.gradient(lambda m: np.sum(np.abs(m["Z"])) + np.sum(m["W"]), model)
    layer = fl.Dense(2, 2)
    layer.bias = Z
    with pytest.raises(TypeError, match="a parameter of shape"):
        fl.gradient(lambda m: np.sum(m(np.ones(2, np.float32)).real), layer)
    assert type(Z) is fl.Param and type(W) is fl.Param and type(layer.weight) is fl.Param
    assert Z.dtype.kind == "c"
