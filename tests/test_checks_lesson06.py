"""Lesson 6's exercise checks (lessons/lesson_checks/lesson06.py): every hint is reached by the
mistake it names, right answers pass, and copied values fail."""
import math
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.autodiff import primitive, unbroadcast

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson06 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["Value(e, ((v, e),)", "unbroadcast(g * x**2, s)", "g * 2 * s * x",
           "derivative(derivative(derivative(f)))", "-0.955336"]


class Value:
    """The lesson's Value engine: +, *, and backward in topological order."""

    def __init__(self, data, parents=(), op="", name=""):
        self.data, self.grad, self.parents, self.op = float(data), 0.0, parents, op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, ((self, 1.0), (other, 1.0)), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, ((self, other.data), (other, self.data)), "*")

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for parent, _ in v.parents:
                    visit(parent)
                order.append(v)
        visit(self)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            for parent, local in v.parents:
                parent.grad += local * v.grad


def value_exp(v):
    e = math.exp(v.data)
    return Value(e, ((v, e),), "exp")


def make_scaled_square(vjp_x=lambda g, ans, x, s: unbroadcast(g * 2 * s * x, x),
                       vjp_s=lambda g, ans, x, s: unbroadcast(g * x**2, s),
                       forward=lambda x, s: s * x**2):
    prim = primitive(forward, name="scaled_square")
    prim.defvjp(vjp_x, vjp_s)
    return prim


def derivative(f):
    return lambda x: fl.gradient(lambda t: np.sum(f(t)), x)[0]


def third_derivative(f, x):
    return derivative(derivative(derivative(f)))(x)


def test_right_answers_pass(capsys):
    check.exp_operation(value_exp, Value)
    check.two_argument_primitive(make_scaled_square())
    check.third(third_derivative)
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 2 passed.\n"
                                       "✓ Exercise 3 passed.\n")


def test_the_lessons_example():
    assert math.isclose(third_derivative(np.sin, 0.3), -math.cos(0.3), rel_tol=1e-9)


def raises(v):
    raise ValueError("not yet")


EXP = [
    ("not_function", Value(1.0), "value_exp(v) of one Value, but it is a Value"),
    ("error", raises, "value_exp(v) failed with ValueError: not yet"),
    ("not_value", lambda v: math.exp(v.data), "value_exp returned a float"),
    ("data", lambda v: Value(v.data, ((v, 1.0),)), "the data should be e to the power"),
    ("no_parents", lambda v: Value(math.exp(v.data)), "no gradient reached the input"),
    ("local_input", lambda v: Value(math.exp(v.data), ((v, v.data),)),
     "The local derivative you recorded is the input v.data"),
    ("local_one", lambda v: Value(math.exp(v.data), ((v, 1.0),)),
     "The local derivative you recorded is 1"),
    ("wrong", lambda v: Value(math.exp(v.data), ((v, 2 * math.exp(v.data)),)),
     "check the local derivative you record"),
]


@pytest.mark.parametrize("key, f, text", EXP, ids=[c[0] for c in EXP])
def test_exp_operation_hint(key, f, text):
    fails(lambda: check.exp_operation(f, Value), f"06.1.{key}", text)


PRIM = [
    ("not_primitive", lambda: (lambda x, s: s * x**2), "but it is a function"),
    ("forward", lambda: make_scaled_square(forward=lambda x, s: s * x),
     "does not compute s · x²"),
    ("error", lambda: make_scaled_square(vjp_s=lambda g, ans, x, s: g.foo),
     "fl.gradient through scaled_square failed with AttributeError"),
    ("missing", lambda: primitive(lambda x, s: s * x**2, name="scaled_square").defvjp(
        lambda g, ans, x, s: g * 2 * s * x), "One of the gradients is None"),
    ("shape_s", lambda: make_scaled_square(vjp_s=lambda g, ans, x, s: g * x**2),
     "so its pullback must sum back to s's shape"),
    ("no_g", lambda: make_scaled_square(vjp_x=lambda g, ans, x, s: 2 * s * x),
     "A pullback ignores g"),
    ("x_wrong", lambda: make_scaled_square(vjp_x=lambda g, ans, x, s: g * s * x),
     "The gradient for x disagrees"),
    ("s_wrong", lambda: make_scaled_square(vjp_s=lambda g, ans, x, s: unbroadcast(g * x, s)),
     "The gradient for s disagrees"),
]


@pytest.mark.parametrize("key, make, text", PRIM, ids=[c[0] for c in PRIM])
def test_two_argument_primitive_hint(key, make, text):
    fails(lambda: check.two_argument_primitive(make()), f"06.2.{key}", text)


def nested(n):
    def f(g, x):
        for _ in range(n):
            g = derivative(g)
        return g(x)
    return f


THIRD = [
    ("not_function", -0.955336, "third_derivative(f, x), but it is a float"),
    ("error", lambda f: f, "failed with TypeError"),
    ("not_number", lambda f, x: derivative(derivative(derivative(f))),
     "third_derivative(f, x) returned a function"),
    ("constant", lambda f, x: -math.cos(0.3), "the same number for different functions"),
    ("level_0", nested(0), "That is f(x) itself"),
    ("level_1", nested(1), "That is the first derivative"),
    ("level_2", nested(2), "That is the second derivative"),
    ("level_4", nested(4), "That is the fourth derivative"),
    ("wrong", lambda f, x: 2 * nested(3)(f, x), "not f‴("),
]


@pytest.mark.parametrize("key, f, text", THIRD, ids=[c[0] for c in THIRD])
def test_third_hint(key, f, text):
    fails(lambda: check.third(f), f"06.3.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, EXP), (check.EX2, PRIM),
                                             (check.EX3, THIRD)], ids=["ex1", "ex2", "ex3"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
