"""Lesson 7's exercise checks (lessons/lesson_checks/lesson07.py): every hint is reached by the
mistake it names, right answers pass, values copied from the lesson's confusion matrix fail, and
the checks leave fluxlite's random stream as they found it."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson07 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["np.diag(C) / C.sum(axis=0)", "np.argmin(answer_precision(C))",
           "fl.Dense(64, 16, fl.relu)"]


def precision(C):
    return np.diag(C) / C.sum(axis=0)


def least(C):
    return int(np.argmin(precision(C)))


def DIGITS():
    """The lesson's split: (Xtrain, ytrain, Xtest, ytest)."""
    X, y = fl.datasets.digits()
    perm = np.random.default_rng(0).permutation(X.shape[1])
    test, train = perm[:360], perm[360:]
    return X[:, train], y[train], X[:, test], y[test]


@pytest.fixture(scope="module")
def digits():
    return DIGITS()


def test_right_answers_pass(digits, capsys):
    state = fl.rng().bit_generator.state
    check.precision(precision, least)
    check.precision(lambda C: np.array([C[d, d] / C[:, d].sum() for d in range(10)]),
                    lambda C: np.argmin(np.diag(C) / C.sum(axis=0)))
    check.small_network(lambda: fl.Chain(fl.Dense(64, 16, fl.relu), fl.Dense(16, 10)), *digits)
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 1 passed.\n"
                                       "✓ Exercise 2 passed.\n")
    assert fl.rng().bit_generator.state == state


LESSON_C = np.diag(np.arange(30, 40)) + 1          # a matrix standing in for the lesson's C

PRECISION = [
    ("not_function", lambda: (precision(LESSON_C), least),
     "answer_precision should be a function of a confusion matrix C, but it is a ndarray"),
    ("error", lambda: (lambda C: np.diag(C) / C.total(), least),
     "answer_precision(C) failed with AttributeError"),
    ("shape", lambda: (lambda C: np.diag(C)[None] / C.sum(axis=0), least),
     "answer_precision(C) returns shape (1, 10)"),
    ("constant", lambda: (lambda C: precision(LESSON_C), least),
     "answer_precision gives the same answer for two different matrices"),
    ("rows", lambda: (lambda C: np.diag(C) / C.sum(axis=1), least),
     "you divided by the row totals"),
    ("wrong", lambda: (lambda C: np.diag(C) / C.sum(), least),
     "is not the fraction of the answers \"d\" that were right"),
    ("not_digit", lambda: (precision, lambda C: precision(C).min()),
     "it should return one digit, an int from 0 to 9"),
    ("most_trusted", lambda: (precision, lambda C: int(np.argmax(precision(C)))),
     "gives the answer with the *highest* precision"),
    ("digit_wrong", lambda: (precision, lambda C: int(np.argmin(np.diag(C) / C.sum(axis=1)))),
     "is not the digit whose answer has the lowest precision"),
]


@pytest.mark.parametrize("key, make, text", PRECISION, ids=[c[0] for c in PRECISION])
def test_precision_hint(key, make, text):
    fails(lambda: check.precision(*make()), f"07.1.{key}", text)


def test_no_activation_is_named():
    fails(lambda: check.small_network(lambda: fl.Chain(fl.Dense(64, 16), fl.Dense(16, 10)),
                                      *DIGITS()),
          "07.2.activation", "The hidden layer's activation is none (identity)")


def test_least_trusted_digit_not_callable():
    fails(lambda: check.precision(precision, 1),
          "07.1.not_function", "least_trusted_digit should be a function")


SHARED = fl.Chain(fl.Dense(64, 16, fl.relu), fl.Dense(16, 10))


def failing():
    return fl.Chain(fl.Dense(64, 16, fl.relu), fl.Dense(16, 10))(np.zeros((3, 32)))


def nothing():
    fl.Chain(fl.Dense(64, 16, fl.relu), fl.Dense(16, 10))


SMALL = [
    ("not_function", lambda: SHARED,
     "small_mlp should be a function that returns a new model, small_mlp(), but it is a Chain"),
    ("error", failing, "small_mlp() failed with"),
    ("none", nothing, "small_mlp() returns None"),
    ("not_chain", lambda: fl.Dense(64, 10), "small_mlp() returns a Dense"),
    ("same_model", lambda: SHARED, "returns the same model object every time"),
    ("hidden", lambda: fl.Chain(fl.Dense(64, 10), fl.Dense(10, 10, fl.relu), fl.Dense(10, 10)),
     "Use exactly one hidden Dense layer before the output layer (found 2)"),
    ("activation", lambda: fl.Chain(fl.Dense(64, 16, fl.tanh), fl.Dense(16, 10)),
     "The hidden layer's activation is fl.tanh; the exercise asks for relu"),
    ("too_many", lambda: fl.Chain(fl.Dense(64, 20, fl.relu), fl.Dense(20, 10)),
     "1510 parameters is too many"),
    ("shapes", lambda: fl.Chain(fl.Dense(8, 16, fl.relu), fl.Dense(16, 10)),
     "calling it on a 64 × 32 batch failed"),
    ("outputs", lambda: fl.Chain(fl.Dense(64, 16, fl.relu), fl.Dense(16, 9)),
     "The model returns shape (9, 32) for a 64 × 32 batch"),
    ("low_accuracy", lambda: fl.Chain(fl.Dense(64, 2, fl.relu), fl.Dense(2, 10)),
     "below the 95 % asked for"),
]


@pytest.mark.parametrize("key, make, text", SMALL, ids=[c[0] for c in SMALL])
def test_small_network_hint(digits, key, make, text):
    state = fl.rng().bit_generator.state
    small = make() if key == "not_function" else make
    fails(lambda: check.small_network(small, *digits), f"07.2.{key}", text)
    assert fl.rng().bit_generator.state == state


@pytest.mark.parametrize("exercise, table", [(check.EX1, PRECISION), (check.EX2, SMALL)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
