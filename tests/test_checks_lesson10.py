"""Lesson 10's exercise checks (lessons/lesson_checks/lesson10.py): every hint is reached by the
mistake it names, right answers pass, and copied values fail."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson10 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["np.sum(0.5 * (np.exp(logvar) + mu ** 2 - 1 - logvar), axis=0)",
           "mu[:, labels == d].mean(axis=1)"]


def kl(mu, logvar):
    return -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar)) / mu.shape[-1]


def centres_of(decoder, mu, labels, centre=np.mean):
    means = np.stack([centre(mu[:, labels == d], axis=1) for d in range(10)], axis=1)
    return fl.σ(decoder(means.astype(np.float32)))


@pytest.fixture(scope="module")
def lesson():
    """A small VAE decoder and test codes shaped like the lesson's."""
    fl.seed(0)
    vae = {"decoder": fl.Chain(fl.Dense(2, 64, fl.relu), fl.Dense(64, 64))}
    rng = np.random.default_rng(5)
    labels = np.concatenate([np.arange(10), rng.integers(0, 10, 90)])
    mu = rng.normal(size=(2, 100)).astype(np.float32) + labels / 4
    return vae, mu, labels


def test_right_answers_pass(lesson, capsys):
    vae, mu, labels = lesson
    state = fl.rng().bit_generator.state
    check.kl_divergence(kl)
    check.kl_divergence(lambda m, l: np.mean(np.sum(0.5 * (np.exp(l) + m ** 2 - 1 - l), axis=0)))
    check.class_centres(centres_of, vae, mu, labels)
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 1 passed.\n"
                                       "✓ Exercise 2 passed.\n")
    assert fl.rng().bit_generator.state == state      # the checks leave fl's stream alone


def as_float(mu, logvar):
    return float(kl(mu, logvar))


def as_plain_arrays(mu, logvar):
    return kl(np.asarray(mu, dtype=float), np.asarray(logvar, dtype=float))


KL = [
    ("not_function", 0.774, "my_kl should be a function my_kl(mu, logvar), but it is a float"),
    ("error", lambda mu: mu, "my_kl(mu, logvar) failed with TypeError"),
    ("none", lambda mu, logvar: None, "my_kl returns None"),
    ("not_scalar", lambda mu, logvar: np.sum(1 + logvar - mu ** 2 - np.exp(logvar), axis=0),
     "for a 2 × 5 batch it returns shape (5,)"),
    ("prior_nonzero", lambda mu, logvar: -0.5 * np.sum(logvar - mu ** 2 - np.exp(logvar)),
     "At μ = 0, log σ² = 0 (the prior itself) the KL must be 0"),
    ("sign", lambda mu, logvar: -kl(mu, logvar), "The sign is flipped"),
    ("batch_sum", lambda mu, logvar: kl(mu, logvar) * mu.shape[-1], "That is the sum over the batch"),
    ("mean_all", lambda mu, logvar: -0.5 * np.mean(1 + logvar - mu ** 2 - np.exp(logvar)),
     "You averaged over every entry"),
    ("fixed_size", lambda mu, logvar: kl(mu, logvar) * mu.shape[-1] / 5,
     "my_kl is right for 2 × 5 arrays only"),
    ("no_gradient", as_float, "fl.gradient says TracingError: float("),
    ("no_gradient", as_plain_arrays, "Its gradient in mu and logvar is None or wrong"),
    ("wrong", lambda mu, logvar: -0.5 * np.sum(1 + logvar - np.abs(mu) - np.exp(logvar)) / mu.shape[-1],
     "my_kl is not the KL divergence"),
]


@pytest.mark.parametrize("key, f, text", KL, ids=[c[0] for c in KL])
def test_kl_hint(key, f, text):
    fails(lambda: check.kl_divergence(f), f"10.1.{key}", text)


def copied(lesson):
    vae, mu, labels = lesson
    pictures = centres_of(vae["decoder"], mu, labels)
    return lambda decoder, mu, labels: pictures


def one_at_a_time(decoder, mu, labels):
    return np.concatenate([fl.σ(decoder(mu[:, labels == d].mean(axis=1, keepdims=True)))
                           for d in range(10)], axis=1)


CENTRES = [
    ("not_function", lambda L: np.zeros((64, 10)), "but it is a ndarray"),
    ("error", lambda L: (lambda decoder, mu: mu), "decode_centres(decoder, mu, labels) failed with TypeError"),
    ("none", lambda L: (lambda decoder, mu, labels: None), "decode_centres returns None"),
    ("many_calls", lambda L: one_at_a_time, "called the decoder 10 times"),
    ("transposed", lambda L: (lambda d, m, l: centres_of(d, m, l).T), "returns shape (10, 64)"),
    ("shape", lambda L: (lambda d, m, l: centres_of(d, m, l)[:, :9]), "returns shape (64, 9)"),
    ("logits", lambda L: (lambda d, m, l: d(np.stack([m[:, l == k].mean(axis=1)
                                                       for k in range(10)], axis=1))),
     "the decoder returns logits"),
    ("lesson_data", copied, "ignores its arguments"),
    ("median", lambda L: (lambda d, m, l: centres_of(d, m, l, np.median)), "decoded *medians*"),
    ("wrong", lambda L: (lambda d, m, l: centres_of(d, m, l)[:, ::-1]),
     "These are not the decoded class means"),
]


@pytest.mark.parametrize("key, make, text", CENTRES, ids=[c[0] for c in CENTRES])
def test_class_centres_hint(lesson, key, make, text):
    vae, mu, labels = lesson
    fails(lambda: check.class_centres(make(lesson), vae, mu, labels), f"10.2.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, KL), (check.EX2, CENTRES)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
