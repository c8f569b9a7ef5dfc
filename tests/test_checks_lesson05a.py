"""Lesson 5a's exercise checks (lessons/lesson_checks/lesson05a.py): every hint is reached by the
mistake it names, right answers pass, copied values fail, and no check moves fluxlite's random
stream."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson05a as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["a * b + b", "== 139", "return fl.Dense(W, b)"]


def n_parameters(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def dense_linear(n_in, n_out):
    W = fl.randn(n_out, n_in)
    b = fl.randn(n_out)
    return fl.Dense(W, b)


def test_right_answers_pass(capsys):
    fl.seed(3)
    state = fl.rng().bit_generator.state
    check.parameter_count(n_parameters)
    check.dense_from_arrays(dense_linear)
    assert capsys.readouterr().out == "✓ Exercise 1 passed.\n✓ Exercise 2 passed.\n"
    assert fl.rng().bit_generator.state == state     # the checks put fl's stream back


def test_the_lessons_examples():
    assert n_parameters((4, 8, 8, 3)) == 139
    tutorial = fl.Chain(fl.Dense(10, 5, fl.σ), fl.Dense(5, 2), fl.softmax)   # the tutorial's Chain
    assert n_parameters((10, 5, 2)) == sum(p.size for p in fl.params(tutorial))


COUNT = [
    ("not_function", 139, "A number is right for one model only"),
    ("error", lambda: 139, "n_parameters((7, 9, 3)) failed with TypeError"),
    ("constant", lambda sizes: 139, "n_parameters gives the same count for two different"),
    ("weights_only", lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])),
     "Almost: you counted the weights."),
    ("bias_in", lambda s: sum(a * b + a for a, b in zip(s[:-1], s[1:])),
     "The biases belong to the outputs"),
    ("wrong", lambda s: sum(a * b + b for a, b in zip(s[:-2], s[1:-1])),
     "n_parameters((7, 9, 3)) is 72, not the number fl.params finds"),
]


@pytest.mark.parametrize("key, f, text", COUNT, ids=[c[0] for c in COUNT])
def test_parameter_count_hint(key, f, text):
    fails(lambda: check.parameter_count(f), f"05a.1.{key}", text)


def same_weights():
    fl.seed(0)
    W, b = fl.randn(7, 3), fl.randn(7)

    def make(n_in, n_out):
        if (n_in, n_out) == (3, 7):
            return fl.Dense(W, b)
        return dense_linear(n_in, n_out)
    return make


DENSE = [
    ("not_function", dense_linear(5, 3), "dense_linear(n_in, n_out), but it is a Dense"),
    ("error", lambda n_in: fl.Dense(fl.randn(3, n_in), fl.randn(3)),
     "dense_linear(4, 2) failed with TypeError"),
    ("none", lambda n_in, n_out: None, "dense_linear returns None"),
    ("not_dense", lambda n_in, n_out: (lambda x: fl.randn(n_out, n_in) @ x + fl.randn(n_out)),
     "dense_linear returned a function"),
    ("shape", lambda n_in, n_out: fl.Dense(fl.randn(n_in, n_out), fl.randn(n_in)),
     "The weight of dense_linear(4, 2) has shape (4, 2)"),
    ("no_bias", lambda n_in, n_out: fl.Dense(fl.randn(n_out, n_in), np.zeros(n_out)),
     "The layer needs a random bias too"),
    ("not_random", lambda n_in, n_out: fl.Dense(np.ones((n_out, n_in)), fl.randn(n_out)),
     "The weight is not random"),
    ("same_weights", same_weights(), "Two calls of dense_linear return the same weights"),
    ("activation", lambda n_in, n_out: fl.Dense(fl.randn(n_out, n_in), fl.randn(n_out), fl.σ),
     "give fl.Dense no activation"),
]


@pytest.mark.parametrize("key, f, text", DENSE, ids=[c[0] for c in DENSE])
def test_dense_from_arrays_hint(key, f, text):
    fails(lambda: check.dense_from_arrays(f), f"05a.2.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, COUNT), (check.EX2, DENSE)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
