"""Lesson 2's exercise checks (lessons/lesson_checks/lesson02.py): every hint is reached by the
mistake it names (math.sin and math.exp included: fluxlite refuses them with a TracingError,
and the check turns that into its hint), a right answer passes, and copied values fail."""
import math
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson02 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["x * np.sin(x)", "fl.gradient(h, x)", "A.sum(axis=0)", "12.0, 15.0, 18.0, 21.0",
           "d(d(bell))", "2 / np.e"]


def h(x):
    return x * np.sin(x)


def dh(x):
    return fl.gradient(h, x)[0]


def math_h(x):
    return x * math.sin(x)


def d(f):
    return lambda x: fl.gradient(f, x)[0]


def bell(x):
    return np.exp(-x**2)


A = np.arange(12.0).reshape(3, 4)


def test_right_answers_pass(capsys):
    check.slope(h, dh)
    check.broadcast(A, (4,), lambda A: A.sum(axis=0))
    check.broadcast(A, [4], lambda A: np.sum(A, axis=0))
    check.curvature(lambda x: d(d(bell))(x))
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 2 passed.\n"
                                       "✓ Exercise 2 passed.\n✓ Exercise 3 passed.\n")


SLOPE = [
    ("h_not_function", 0.25, dh, "h should be a Python function of x"),
    ("h_error", lambda x, y: x, dh, "Calling h("),
    ("h_wrong", lambda x: x * np.cos(x), dh, "but x sin x is"),
    ("dh_not_function", h, -np.pi, "A number is the slope at one point only"),
    ("math_sin", math_h, lambda x: fl.gradient(math_h, x)[0],
     "Use NumPy's np.sin, which fluxlite can follow."),
    ("dh_error", h, lambda x: fl.gradient(h, x, x)[0],
     "dh(x) should hand h and x to fluxlite, fl.gradient(h, x), and return entry [0]."),
    ("dh_tuple", h, lambda x: fl.gradient(h, x), "[0] takes the slope out of it"),
    ("dh_value", h, h, "dh(x) returns h(x) itself"),
    ("dh_constant", h, lambda x: fl.gradient(h, np.pi)[0], "pass x on to fl.gradient(h, x)"),
    ("dh_wrong", h, lambda x: fl.gradient(np.sin, x)[0], "which is not the slope of x sin x"),
]


@pytest.mark.parametrize("key, h_, dh_, text", SLOPE, ids=[c[0] for c in SLOPE])
def test_slope_hint(key, h_, dh_, text):
    fails(lambda: check.slope(h_, dh_), f"02.1.{key}", text)


def test_math_sin_is_what_fluxlite_refuses():
    """The hint exists because fluxlite raises before any slope can come out."""
    with pytest.raises(fl.TracingError):
        fl.gradient(math_h, 1.0)


BROADCAST = [
    ("shape_of_A", (3, 4), lambda A: A.sum(axis=0), "the shape of A"),
    ("shape_rows", (3,), lambda A: A.sum(axis=0), "c has shape (4,)"),
    ("shape_wrong", (12,), lambda A: A.sum(axis=0), "here c, of shape (4,)"),
    ("grad_not_function", (4,), np.array([12.0, 15.0, 18.0, 21.0]),
     "Numbers for one A are right for that A only"),
    ("grad_error", (4,), lambda A: A.sum(axis=2), "grad_by_hand(A) failed with AxisError"),
    ("grad_used_fl", (4,), lambda A: fl.gradient(lambda c: np.sum(A * c), np.ones(A.shape[1]))[0],
     "grad_by_hand called fl.gradient"),
    ("grad_axis1", (4,), lambda A: A.sum(axis=1), "grad_by_hand sums along axis 1"),
    ("grad_no_sum", (4,), lambda A: A, "returns an array of A's shape"),
    ("grad_total", (4,), lambda A: A.sum(), "the sum of every entry of A"),
    ("grad_wrong", (4,), lambda A: A.mean(axis=0), "Each c[j] multiplies the whole column"),
]


@pytest.mark.parametrize("key, shape_guess, grad, text", BROADCAST, ids=[c[0] for c in BROADCAST])
def test_broadcast_hint(key, shape_guess, grad, text):
    fails(lambda: check.broadcast(A, shape_guess, grad), f"02.2.{key}", text)


def test_broadcast_leaves_fl_gradient_in_place():
    with pytest.raises(ExerciseNotPassed):
        check.broadcast(A, (4,), lambda A: fl.gradient(lambda c: np.sum(A * c), np.ones(4))[0])
    assert fl.gradient(lambda c: np.sum(c), np.ones(2))[0].tolist() == [1.0, 1.0]


def math_bell(x):
    return math.exp(-x**2)


CURVATURE = [
    ("not_function", 2 / np.e, "A number is the curvature at one point only"),
    ("math_exp", lambda x: d(d(math_bell))(x), "Use NumPy's np.exp, which fluxlite can follow."),
    ("error", lambda x: d(d(bell))(x, 1.0), "bell_curvature("),
    ("tuple", lambda x: fl.gradient(d(bell), x), "the d of section 5 takes [0] for you"),
    ("bell_itself", bell, "returns exp(−x²) itself"),
    ("first_derivative", d(bell), "returns the first derivative"),
    ("third_derivative", d(d(d(bell))), "one d too many"),
    ("constant", lambda x: d(d(bell))(1.0), "pass x on instead of a fixed number"),
    ("wrong", d(d(lambda x: np.exp(-x**2 / 2))), "which is not the second derivative"),
]


@pytest.mark.parametrize("key, f, text", CURVATURE, ids=[c[0] for c in CURVATURE])
def test_curvature_hint(key, f, text):
    fails(lambda: check.curvature(f), f"02.3.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, SLOPE), (check.EX2, BROADCAST),
                                             (check.EX3, CURVATURE)], ids=["ex1", "ex2", "ex3"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
