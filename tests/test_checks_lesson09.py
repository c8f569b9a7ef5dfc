"""Lesson 9's exercise checks (lessons/lesson_checks/lesson09.py): every hint is reached by the
mistake it names, right answers pass, and copied values fail."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson09 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["return fl.σ(decoder(encoder(x)))", "fl.σ(decoder((1 - t) * a + t * b))"]


class Lesson:
    """The lesson's test digits and an encoder and decoder of its shapes."""

    def __init__(self):
        fl.seed(0)
        X, y = fl.datasets.digits()
        self.Xtest, ytest = X[:, 1500:], y[1500:]
        self.first_of_each = [int(np.flatnonzero(ytest == d)[k]) for k in (0, 1) for d in range(10)]
        self.encoder = fl.Chain(fl.Dense(64, 32, fl.relu), fl.Dense(32, 2))
        self.decoder = fl.Chain(fl.Dense(2, 32, fl.relu), fl.Dense(32, 64))

    def rebuild(self, x):
        return fl.σ(self.decoder(self.encoder(x)))

    def walk(self, xa, xb, steps, t=None):
        t = np.linspace(0, 1, steps) if t is None else t
        a, b = self.encoder(xa), self.encoder(xb)
        return fl.σ(self.decoder((1 - t) * a + t * b))

    def args(self):
        return self.encoder, self.decoder, self.Xtest, self.first_of_each


@pytest.fixture(scope="module")
def L():
    return Lesson()


def test_right_answers_pass(L, capsys):
    state = fl.rng().bit_generator.state
    check.rebuild_digits(L.rebuild, L.encoder, L.decoder)
    check.rebuild_digits(lambda x: fl.σ(fl.Chain(L.encoder, L.decoder)(x)), L.encoder, L.decoder)
    check.latent_walk(L.walk, *L.args())
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 1 passed.\n"
                                       "✓ Exercise 2 passed.\n")
    assert fl.rng().bit_generator.state == state


def copied_rebuild(L):
    pictures = L.rebuild(L.Xtest[:, :7])
    return lambda x: pictures[:, :x.shape[1]]


REBUILD = [
    ("not_function", lambda L: L.rebuild(L.Xtest[:, :5]), "rebuild(x), but it is a ndarray"),
    ("error", lambda L: (lambda x: L.decoder(x)), "rebuild(x) failed for a 64 × 5 batch with"),
    ("none", lambda L: (lambda x: None), "rebuild returns None"),
    ("codes", lambda L: (lambda x: L.encoder(x)), "rebuild returns the 2-number codes"),
    ("shape", lambda L: (lambda x: L.rebuild(x).T), "For a 64 × 5 batch rebuild should give 64 × 5"),
    ("logits", lambda L: (lambda x: L.decoder(L.encoder(x))), "apply fl.σ to them"),
    ("sigma_on_codes", lambda L: (lambda x: fl.σ(L.decoder(fl.σ(L.encoder(x))))),
     "σ belongs at the end only"),
    ("constant", copied_rebuild, "rebuild gives the same pictures for two different batches"),
    ("wrong", lambda L: (lambda x: fl.σ(x)), "These are not the decoder's pictures"),
]


@pytest.mark.parametrize("key, make, text", REBUILD, ids=[c[0] for c in REBUILD])
def test_rebuild_hint(L, key, make, text):
    fails(lambda: check.rebuild_digits(make(L), L.encoder, L.decoder), f"09.1.{key}", text)


def copied_walk(L):
    i, j = L.first_of_each[0], L.first_of_each[1]
    pictures = L.walk(L.Xtest[:, i:i + 1], L.Xtest[:, j:j + 1], 8)
    return lambda xa, xb, steps: pictures[:, np.linspace(0, 7, steps).astype(int)]


WALK = [
    ("not_function", lambda L: None, "walk_between(xa, xb, steps), but it is a NoneType"),
    ("error", lambda L: (lambda xa, xb: xa), "walk_between(xa, xb, 8) failed with TypeError"),
    ("none", lambda L: (lambda xa, xb, steps: None), "walk_between returns None"),
    ("transposed", lambda L: (lambda xa, xb, steps: L.walk(xa, xb, steps).T),
     "returns shape (8, 64): pixels × steps is 64 × 8"),
    ("steps_ignored", lambda L: (lambda xa, xb, steps: L.walk(xa, xb, 8)),
     "walk_between(xa, xb, 5) returns 8 columns"),
    ("shape", lambda L: (lambda xa, xb, steps: L.walk(xa, xb, steps).ravel()),
     "returns shape (512,); it should be 64 × 8"),
    ("logits", lambda L: (lambda xa, xb, steps: L.decoder(
        L.encoder(xa) + np.linspace(0, 1, steps) * (L.encoder(xb) - L.encoder(xa)))),
     "apply fl.σ to them"),
    ("pixels", lambda L: (lambda xa, xb, steps: (1 - np.linspace(0, 1, steps)) * xa
                          + np.linspace(0, 1, steps) * xb),
     "This walk blends the two *pictures*"),
    ("same_walk", copied_walk, "the same walk for two different pairs of digits"),
    ("ends", lambda L: (lambda xa, xb, steps: L.walk(xa, xb, steps, np.linspace(0, 1, steps + 1)[:-1])),
     "The first and last columns should be the decoded xa and the decoded xb"),
    ("uneven", lambda L: (lambda xa, xb, steps: L.walk(xa, xb, steps, np.linspace(0, 1, steps) ** 2)),
     "space t evenly from 0 to 1"),
]


@pytest.mark.parametrize("key, make, text", WALK, ids=[c[0] for c in WALK])
def test_latent_walk_hint(L, key, make, text):
    fails(lambda: check.latent_walk(make(L), *L.args()), f"09.2.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, REBUILD), (check.EX2, WALK)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
