"""Lesson 3's exercise checks (lessons/lesson_checks/lesson03.py): every hint is reached by the
mistake it names, a right answer passes, copied values fail, and no check changes b."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson03 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["-2 * (yi - predict(xi))", "b - eta * g", "np.abs(g) + 1e-8"]


class Lesson:
    """The lesson's data, implicit parameters, predict and loss."""

    def __init__(self):
        fl.seed(1)
        self.x, self.y = fl.datasets.linear_regression(10, rng=0)
        self.W, self.b = fl.rand(2, 5), fl.rand(2)

    def predict(self, x):
        return self.W @ x + self.b

    def loss(self, x, y):
        return np.sum((y - self.predict(x)) ** 2)

    def grad_b(self, xi, yi):
        return fl.gradient(lambda: self.loss(xi, yi), fl.params(self.W, self.b))[self.b]


@pytest.fixture
def L():
    return Lesson()


def test_right_answers_pass(L, capsys):
    b_before = np.array(L.b)
    check.bias_gradient(lambda xi, yi: -2 * (yi - L.predict(xi)), L.predict, L.b)
    check.descent_step(lambda xi, yi, eta: L.b - eta * L.grad_b(xi, yi), L.predict, L.b)
    check.adam_step(lambda p, g, eta: p - eta * g / (np.abs(g) + 1e-8))
    check.adam_step(lambda p, g, eta: p - eta * np.sign(g))
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 2 passed.\n"
                                       "✓ Exercise 3 passed.\n✓ Exercise 3 passed.\n")
    assert np.array_equal(L.b, b_before)


BIAS = [
    ("not_function", lambda L: np.array([-1.3125, 0.7521]),
     "Numbers for x[0], y[0] are right for that sample only"),
    ("used_fl", lambda L: L.grad_b, "bias_grad called fl.gradient"),
    ("error", lambda L: (lambda xi: -2 * xi), "bias_grad(xi, yi) failed with TypeError"),
    ("shape", lambda L: (lambda xi, yi: -2 * np.sum(yi - L.predict(xi))),
     "bias_grad returns shape ()"),
    ("sign", lambda L: (lambda xi, yi: 2 * (yi - L.predict(xi))), "Right size, wrong sign."),
    ("half", lambda L: (lambda xi, yi: L.predict(xi) - yi),
     "the square contributes a factor 2"),
    ("residual_only", lambda L: (lambda xi, yi: yi - L.predict(xi)), "bias_grad returns y − ŷ."),
    ("constant", lambda L: (lambda xi, yi: -2 * (L.y[0] - L.predict(L.x[0]))),
     "bias_grad gives the same answer for two different samples"),
    ("wrong", lambda L: (lambda xi, yi: -2 * (yi - L.W @ xi)), "bias_grad is not ∂ℓ/∂b."),
]


@pytest.mark.parametrize("key, make, text", BIAS, ids=[c[0] for c in BIAS])
def test_bias_gradient_hint(L, key, make, text):
    fails(lambda: check.bias_gradient(make(L), L.predict, L.b), f"03.1.{key}", text)


def stale(L):
    g0 = L.grad_b(L.x[0], L.y[0])
    return lambda xi, yi, eta: L.b - eta * g0


def in_place(L):
    def next_b(xi, yi, eta):
        L.b[...] -= eta * L.grad_b(xi, yi)
        return L.b
    return next_b


def with_update(L):
    def next_b(xi, yi, eta):
        new = np.array(L.b)
        fl.update_(fl.Descent(eta), new, L.grad_b(xi, yi))
        return new
    return next_b


DESCENT = [
    ("not_function", lambda L: np.array(L.b), "next_b(xi, yi, eta), but it is a ndarray"),
    ("used_update", with_update, "next_b called fl.update_"),
    ("error", lambda L: (lambda xi, yi: L.b), "next_b(xi, yi, eta) failed with TypeError"),
    ("changed_b", in_place, "next_b changed b itself"),
    ("stale_gradient", stale, "it uses an old gradient"),
    ("eta_ignored", lambda L: (lambda xi, yi, eta: L.b - 0.05 * L.grad_b(xi, yi)),
     "next_b ignores its learning rate"),
    ("plus", lambda L: (lambda xi, yi, eta: L.b + eta * L.grad_b(xi, yi)),
     "Descent steps *against* the gradient"),
    ("no_eta", lambda L: (lambda xi, yi, eta: L.b - L.grad_b(xi, yi)),
     "The step is scaled by the learning rate"),
    ("wrong", lambda L: (lambda xi, yi, eta: L.b - 2 * eta * L.grad_b(xi, yi)),
     "is not the value Descent("),
]


@pytest.mark.parametrize("key, make, text", DESCENT, ids=[c[0] for c in DESCENT])
def test_descent_step_hint(L, key, make, text):
    b_before = np.array(L.b)
    fails(lambda: check.descent_step(make(L), L.predict, L.b), f"03.2.{key}", text)
    assert np.array_equal(L.b, b_before)           # the check puts b back


def adam_with_update(p, g, eta):
    q = np.array(p)
    fl.update_(fl.ADAM(eta), q, g)
    return q


def adam_in_place(p, g, eta):
    p -= eta * np.sign(g)
    return p


ADAM = [
    ("not_function", np.array([0.1, 0.2]), "adam_first_step(p, g, eta), but it is a ndarray"),
    ("used_update", adam_with_update, "adam_first_step called fl.update_"),
    ("error", lambda p, g: p - g, "adam_first_step(p, g, eta) failed with TypeError"),
    ("changed_p", adam_in_place, "adam_first_step changed p in place"),
    ("descent", lambda p, g, eta: p - eta * g, "That is Descent's step"),
    ("plus", lambda p, g, eta: p + eta * np.sign(g), "Right size, wrong direction"),
    ("no_eta", lambda p, g, eta: p - np.sign(g), "Each entry moves by 1"),
    ("eta_ignored", lambda p, g, eta: p - 0.05 * np.sign(g), "adam_first_step ignores eta"),
    ("wrong", lambda p, g, eta: p - eta * g / np.sqrt(np.abs(g)),
     "is not where fl.ADAM("),
]


@pytest.mark.parametrize("key, f, text", ADAM, ids=[c[0] for c in ADAM])
def test_adam_step_hint(key, f, text):
    fails(lambda: check.adam_step(f), f"03.3.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, BIAS), (check.EX2, DESCENT),
                                             (check.EX3, ADAM)], ids=["ex1", "ex2", "ex3"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
