"""Lists of traced values, integer casts and indices, in words.

NumPy turns a Python list into an array in two ways, and fluxlite can follow only one:

* when a NumPy function receives the list *and* a traced array elsewhere in its arguments
  (``np.append(x, [y, z])``, ``np.stack([1.0, x])``, ``np.concatenate([x, [y, 0.0]])``), NumPy
  hands the call to fluxlite, which joins the list with ``np.stack`` and traces it;
* otherwise NumPy copies the numbers out of the list itself. For traced *numbers* (0-d arrays) it
  asks each one for ``float(x)``, and fluxlite refuses with a message that quotes the student's
  code and the same code with ``np.stack``. For traced *arrays* it copies their memory and asks
  nothing: no error is possible, and this file documents what the student sees then.

Integers made from traced arrays (``np.int64(W)``, ``W.astype(int)``, ``W.argmax(axis=0)``)
carry no gradient and are plain NumPy indices; the indexed array still gets its gradient.
"""
import math
import sys
import warnings

import numpy as np
import pytest

import fluxlite as fl
from gradcheck import check_gradient

X = np.array([1.0, 2.0, 3.0])

# Python records which part of a line each instruction runs since 3.11: the precise messages
# quote it. Before, every case gets the message that covers them all.
quotes_code = pytest.mark.skipif(sys.version_info < (3, 11), reason="needs Python 3.11 positions")


def _refusal(f, *args):
    """The message of the TracingError that `gradient(f, *args)` raises."""
    with pytest.raises(fl.TracingError) as err:
        fl.gradient(f, *args)
    return str(err.value)


def _line(f):
    return f"(line {f.__code__.co_firstlineno} of test_lists_and_casts.py)"


# --------------------------------------------------------------------------- lists NumPy hands to fluxlite

def test_appending_a_list_of_traced_numbers_to_a_traced_array_works():
    f = lambda x, y, z: np.append(x, [y, z * 2])
    check_gradient(f, X, 2.0, 3.0)
    gx, gy, gz = fl.gradient(lambda x, y, z: np.sum(f(x, y, z) ** 2), X, 2.0, 3.0)
    np.testing.assert_array_equal(gx, 2 * X)
    assert (gy, gz) == (4.0, 24.0)


def test_appending_a_traced_array_to_a_plain_list_works():
    check_gradient(lambda x: np.append([1.0, 2.0], x), X)
    check_gradient(lambda x: np.append([[1.0, 2.0, 3.0]], x[None, :], axis=0), X)


def test_stacking_numbers_and_traced_numbers_together_works():
    check_gradient(lambda x, y: np.stack([1.0, x, 2 * y, x * y]), 2.0, 3.0)
    check_gradient(lambda x: np.stack([x[0], 5.0, x[2] ** 2]), X)


def test_lists_inside_the_pieces_given_to_concatenate_and_hstack_work():
    check_gradient(lambda x: np.concatenate([x, [x[0] * 2, 1.0]]), X)
    check_gradient(lambda x: np.hstack([x, [x[1], 0.5]]), X)
    check_gradient(lambda x: np.vstack([x, [x[2], x[1], 1.0]]), X)


def test_a_list_given_to_a_function_with_a_traced_argument_is_joined():
    check_gradient(lambda x: np.where(x > 1.5, [x[0], x[1], x[2] ** 2], x), X)
    check_gradient(lambda x, y: np.select([x > 1.5, x < 1.5], [[y, 2 * y, 3 * y], x], -x), X, 2.0)
    check_gradient(lambda x: np.clip(x, [x[0], 0.0, 0.0], 2.5), X)



@pytest.mark.parametrize("f", [
    lambda x: x + [x, 2 * x], lambda x: [x, x ** 2] - x, lambda x: x * [x[::-1], x],
    lambda x: np.add(x, [x, x]), lambda x: x ** [x[0], 2.0, x[2]],
], ids=["x + [x, 2x]", "[x, x²] - x", "x * [x[::-1], x]", "np.add(x, [x, x])", "x ** [x0, 2, x2]"])
def test_an_operator_with_a_list_holding_traced_arrays_traces_the_list(f):
    check_gradient(f, X)  # the fast path's operators join the list too, as the reference does

# --------------------------------------------------------------------------- lists NumPy copies itself

@quotes_code
@pytest.mark.parametrize("f, expr, fix", [
    (lambda x: np.mean([x, x + 2]), "np.mean([x, x + 2])", "np.mean(np.stack([x, x + 2]))"),
    (lambda x: np.sum([x, 2 * x]), "np.sum([x, 2 * x])", "np.sum(np.stack([x, 2 * x]))"),
    (lambda x: np.std((x, x + 2)), "np.std((x, x + 2))", "np.std(np.stack((x, x + 2)))"),
    (lambda x: np.max(np.array([x, x])), "np.array([x, x])", "np.stack([x, x])"),
    (lambda x: np.sum(np.array([[x, 2 * x], [x ** 2, x]])), "np.array([[x, 2 * x], [x ** 2, x]])",
     "np.stack([np.stack([x, 2 * x]), np.stack([x ** 2, x])])"),
    (lambda x: np.sum(np.asarray([x, 1.0], dtype=np.float32)), "np.asarray([x, 1.0], dtype=np.float32)",
     "np.stack([x, 1.0]).astype(np.float32)"),
    (lambda x: np.sum(np.append(np.ones(2), [x, x])), "np.append(np.ones(2), [x, x])",
     "np.append(np.ones(2), np.stack([x, x]))"),
], ids=["np.mean", "np.sum", "np.std of a tuple", "np.array", "nested np.array", "np.asarray dtype",
        "np.append to a plain array"])
def test_a_list_of_traced_numbers_is_refused_quoting_the_code_and_its_fix(f, expr, fix):
    msg = _refusal(f, 1.0)
    first, *rest = msg.splitlines()
    assert first.startswith(f"{expr} makes a NumPy array out of a list that holds traced values "
                            f"{_line(f)}")
    assert "silently stop depending on them" in msg
    assert rest[-1] == f"    {fix}"


def test_the_fix_the_message_gives_works():
    assert fl.gradient(lambda x: np.mean(np.stack([x, x + 2])), 0.0) == (1.0,)
    assert fl.gradient(lambda x: np.std(np.stack((x, x + 2))), 0.0) == (0.0,)
    assert fl.gradient(lambda x: np.max(np.stack([x, x])), 1.0) == (1.0,)  # a tie shares it
    g, = fl.gradient(lambda x: np.sum(np.stack([np.stack([x, 2 * x]), np.stack([x ** 2, x])])), 3.0)
    assert g == 1 + 2 + 6 + 1


@quotes_code
def test_a_list_kept_in_a_variable_is_named_too():
    def loss(x):
        values = [x, 2 * x]
        return np.mean(values)
    msg = _refusal(loss, 1.0)
    assert msg.startswith("np.mean(values) makes a NumPy array out of a list")
    assert msg.endswith("    np.mean(np.stack(values))")


@quotes_code
def test_an_operator_between_a_plain_array_and_a_list_of_traced_numbers_is_refused():
    msg = _refusal(lambda x: np.sum(np.ones(2) * [x, 2 * x]), 1.0)
    assert msg.startswith("np.ones(2) * [x, 2 * x] makes a NumPy array out of a list")
    assert msg.endswith("    np.ones(2) * np.stack([x, 2 * x])")


@quotes_code
def test_a_list_of_numbers_beside_the_traced_one_is_left_alone_in_the_fix():
    f = lambda x: np.sum(np.where(np.array([True, False]), [x, 2 * x], 0.0))
    msg = _refusal(f, 1.0)
    assert msg.endswith("    np.where(np.array([True, False]), np.stack([x, 2 * x]), 0.0)")


# --------------------------------------------------------------------------- traced arrays inside a list

def test_traced_arrays_inside_a_list_are_copied_without_a_trace_a_limitation():
    """np.array([x, x]) with x an array copies x's memory in C and calls nothing fluxlite could
    answer (no float(x), no __array__, no __array_function__): the copy is a plain array.

    What the student sees: if the whole result is cut off, the NoGradientWarning (which names
    np.stack); if only part of it is, a gradient that silently misses that part. np.stack is
    the fix, and gives the full gradient."""
    with pytest.warns(fl.NoGradientWarning, match="np.stack"):
        assert fl.gradient(lambda x: np.sum(np.array([x, x])), X) == (None,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        partial, = fl.gradient(lambda x: np.sum(np.array([x, x])) + np.sum(x), X)
    np.testing.assert_array_equal(partial, np.ones(3))  # the np.array part is missing: 3 is right
    full, = fl.gradient(lambda x: np.sum(np.stack([x, x])) + np.sum(x), X)
    np.testing.assert_array_equal(full, 3 * np.ones(3))


# --------------------------------------------------------------------------- numbers out of traced arrays

def _store(x):
    buf = np.zeros(2)
    buf[0] = x
    return np.sum(buf) + x


@quotes_code
@pytest.mark.parametrize("f, start, advice", [
    (lambda x: float(x) * 2, "float(x) turns a traced array into Python numbers", "print(x)"),
    (lambda x: int(x) * x, "int(x) turns a traced array into Python numbers", "print(x)"),
    (lambda x: math.sin(x), "math.sin(x) turns a traced array into Python numbers",
     "here np.sin(x)"),
    (lambda x: math.fsum([x, x]), "math.fsum([x, x]) turns a traced array into Python numbers",
     "np.sin(x)"),
    (lambda x: ("%.2f" % x, x)[1], '"%.2f" % x turns a traced array into Python numbers',
     'f"{x:.3f}"'),
    (_store, "buf[0] = x stores a traced value into a plain NumPy array", "np.stack([a, b, c])"),
], ids=["float", "int", "math.sin", "math.fsum", "% formatting", "buf[0] = x"])
def test_each_way_of_turning_a_traced_number_into_a_python_number_gets_its_own_fix(f, start, advice):
    msg = _refusal(f, 2.0)
    assert msg.startswith(start) and advice in msg
    assert "line" in msg.splitlines()[0] and "test_lists_and_casts.py" in msg.splitlines()[0]


def test_formatting_with_an_f_string_works():
    seen = []
    fl.gradient(lambda x: (seen.append(f"{x:.2f}"), x * 2)[1], 2.0)
    assert seen == ["2.00"]


def test_code_without_source_gets_the_message_covering_every_case():
    namespace = {"np": np}
    exec("def f(x):\n    return np.mean([x, x + 2])\n", namespace)  # no file to read it from
    msg = _refusal(namespace["f"], 1.0)
    assert msg.startswith("float(x) was called on a traced array inside gradient")
    for fix in ["np.mean(np.stack([x, y]))", "np.sin(x)", "np.where(mask, new, old)", "print(x)"]:
        assert fix in msg


# --------------------------------------------------------------------------- integers and indices

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, 0.0], [-0.7, 2.2, 1.0]])


# np.int64(W) makes its result of W's class in C, without asking fluxlite: that one is not of
# class np.ndarray, but it is an ordinary integer constant everywhere.
@pytest.mark.parametrize("index, plain", [
    (lambda W: np.int64(W[:, -1]), False),
    (lambda W: W[:, -1].astype(int), True),
    (lambda W: np.round(W[:, -1]).astype(np.intp), True),
    (lambda W: np.argmax(W, axis=0), True),
    (lambda W: W.argmax(axis=0), True),
    (lambda W: W[:, 0].argsort(), True),
    (lambda W: (W[:, 0] > 0).nonzero(), True),
    (lambda W: W[:, 0] > 0, True),
], ids=["np.int64(W)", "W.astype(int)", "np.round(W).astype(np.intp)", "np.argmax", "W.argmax",
        "W.argsort", "(W > 0).nonzero()", "W > 0"])
def test_indices_computed_from_traced_data_index_and_carry_no_gradient(index, plain):
    x = np.array([10.0, 20.0, 30.0])
    seen = []

    def loss(x, W):
        i = index(W)
        seen.append(i)
        return np.sum(x[i] ** 2) + np.sum(W[i] * 3)

    gx, gW = fl.gradient(loss, x, W)
    i = index(W)  # the same index, on plain arrays
    want_x, want_W = np.zeros(3), np.zeros_like(W)
    np.add.at(want_x, i, 2 * x[i])
    np.add.at(want_W, i, 3.0)
    np.testing.assert_array_equal(gx, want_x)
    np.testing.assert_array_equal(gW, want_W)
    for part in seen[0] if isinstance(seen[0], tuple) else (seen[0],):
        assert part.dtype.kind in "biu" and (type(part) is np.ndarray or not plain)


def test_integer_views_of_traced_arrays_work_anywhere_as_constants():
    def loss(W):
        k = np.int64(W)  # NumPy makes this view itself, without asking fluxlite
        return np.sum(W * k) + np.sum(k)
    g, = fl.gradient(loss, W)
    np.testing.assert_array_equal(g, W.astype(np.int64))


def test_a_floating_point_index_is_refused_saying_how_to_make_an_integer_one():
    with pytest.raises(IndexError, match=r"x\[idx.astype\(int\)\]"):
        fl.gradient(lambda x, W: np.sum(x[W[:, 0] * 0 + 1]), X, W)


def test_a_float_conversion_of_a_traced_array_is_refused_when_used_naming_astype():
    with pytest.raises(fl.TracingError, match=r"np.float32\(x\).*x.astype\(np.float32\)"):
        fl.gradient(lambda x: np.sum(np.float32(x) * 2), X)


@pytest.mark.parametrize("method", [
    lambda W: W.argmin(axis=1), lambda W: W.argpartition(1, axis=0), lambda W: W.any(axis=0),
    lambda W: W.all(), lambda W: W.round(1), lambda W: np.logical_or.reduce(W > 0, axis=1),
], ids=["argmin", "argpartition", "any", "all", "round(1)", "logical_or.reduce"])
def test_array_methods_that_give_indices_tests_or_rounding_give_plain_arrays(method):
    seen = []
    fl.gradient(lambda W: (seen.append(method(W)), np.sum(W))[1], W)
    np.testing.assert_array_equal(seen[0], method(W))
    assert type(seen[0]) in (np.ndarray, np.bool_, np.int64)


# --------------------------------------------------------------------------- special points and parts

def test_sinc_at_zero_has_its_limits_as_value_slope_and_curvature():
    assert fl.gradient(np.sinc, 0.0) == (0.0,)
    d2, = fl.gradient(lambda x: fl.gradient(np.sinc, x)[0], 0.0)
    assert d2 == pytest.approx(-np.pi ** 2 / 3, rel=1e-12)
    g, = fl.gradient(lambda x: np.sum(np.sinc(x)), np.array([0.0, 1e-9, 0.5, -2.0]))
    assert not np.any(np.isnan(g)) and g[0] == 0.0


def test_the_imaginary_part_and_the_angle_of_real_arrays_are_constants():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fl.NoGradientWarning)
        assert fl.gradient(lambda x: np.sum(np.imag(x)), X) == (None,)
        assert fl.gradient(lambda x: np.sum(x.imag), X) == (None,)
        assert fl.gradient(lambda x: np.sum(np.angle(x - 2)), X) == (None,)
    g, = fl.gradient(lambda x: np.sum(x.real * x.conj() + np.imag(x)), X)
    np.testing.assert_array_equal(g, 2 * X)


def test_nan_to_num_in_place_is_refused_and_the_copy_passes_finite_gradients():
    y = np.array([0.0, np.nan, np.inf])
    with pytest.raises(fl.InPlaceError, match="copy=False"):
        fl.gradient(lambda x: np.sum(np.nan_to_num(x + y, copy=False)), X)
    g, = fl.gradient(lambda x: np.sum(np.nan_to_num(x + y, posinf=5.0)), X)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])


def test_select_checks_its_arguments_as_numpy_does():
    with pytest.raises(ValueError, match="same length"):
        fl.gradient(lambda x: np.sum(np.select([x > 0], [x, x])), X)
    with pytest.raises(TypeError, match="boolean"):
        fl.gradient(lambda x: np.sum(np.select([np.ones(3)], [x])), X)
