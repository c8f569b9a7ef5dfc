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
ANSWERS = ["np.log(prior_var) - logvar",
           "(np.exp(logvar) + (mu - prior_mean) ** 2) / prior_var",
           "mu[:, labels == d].mean(axis=1)"]


def kl_general(mu, logvar, m, s2):
    """KL(N(μ, σ²) || N(m, s²)) in closed form, summed over the latent axis, averaged over the batch."""
    per = 0.5 * (np.log(s2) - logvar + (np.exp(logvar) + (mu - m) ** 2) / s2 - 1)
    return np.sum(per) / mu.shape[-1]


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
    check.kl_against_prior(kl_general)
    check.kl_against_prior(lambda m, l, pm, pv: np.mean(np.sum(
        0.5 * (np.log(pv) - l + (np.exp(l) + (m - pm) ** 2) / pv - 1), axis=0)))
    check.class_centres(centres_of, vae, mu, labels)
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 1 passed.\n"
                                       "✓ Exercise 2 passed.\n")
    assert fl.rng().bit_generator.state == state      # the checks leave fl's stream alone


def test_a_number_from_the_lesson_fails():
    """A constant, say the KL the lesson printed, cannot pass: the check's priors are its own."""
    fails(lambda: check.kl_against_prior(lambda mu, logvar, m, s2: 0.6233), "10.1.self_nonzero",
          "yours gives 0.6233")


def test_the_standard_prior_is_a_special_case():
    """With prior N(0, 1) the answer is the lesson's kl_term; the check's reference agrees."""
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    standard = -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar)) / 4
    assert np.isclose(check._reference_kl(mu, logvar, 0.0, 1.0), standard)
    assert np.isclose(check._reference_kl(mu, logvar, 0.5, 2.0), kl_general(mu, logvar, 0.5, 2.0))


def as_float(mu, logvar, m, s2):
    return float(kl_general(mu, logvar, m, s2))


def as_plain_arrays(mu, logvar, m, s2):
    return kl_general(np.asarray(mu, dtype=float), np.asarray(logvar, dtype=float), m, s2)


def shifted_in_place(mu, logvar, m, s2):
    mu -= m                          # right value, but changes the caller's array
    return kl_general(mu, logvar, 0.0, s2)


def per_coordinate(mu, logvar, m, s2):
    return 0.5 * (np.log(s2) - logvar + (np.exp(logvar) + (mu - m) ** 2) / s2 - 1)


KL = [
    ("not_function", 0.774, "kl_to_prior should be a function kl_to_prior(mu, logvar, prior_mean, "
                            "prior_var), but it is a float"),
    ("error", lambda mu, logvar: mu, "failed with TypeError"),
    ("none", lambda mu, logvar, m, s2: None, "kl_to_prior returns None"),
    ("not_scalar", lambda mu, logvar, m, s2: np.sum(per_coordinate(mu, logvar, m, s2), axis=0),
     "for a 2 × 5 batch it returns shape (5,)"),
    # the "− 1" forgotten: not 0 when the cloud is the prior itself
    ("self_nonzero", lambda mu, logvar, m, s2: kl_general(mu, logvar, m, s2) + mu.shape[0] / 2,
     "When every cloud is the prior itself"),
    ("sign", lambda mu, logvar, m, s2: -kl_general(mu, logvar, m, s2), "The sign is flipped"),
    # the lesson's kl_term copied: the prior's mean and variance ignored
    ("standard_prior", lambda mu, logvar, m, s2: -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar))
     / mu.shape[-1], "That is the KL to N(0, I)"),
    # logvar read as log σ: σ² = exp(2 logvar), log σ² = 2 logvar
    ("log_sigma", lambda mu, logvar, m, s2: kl_general(mu, 2 * logvar, m, s2),
     "You read logvar as log σ"),
    # prior_var read as a standard deviation and squared
    ("prior_std", lambda mu, logvar, m, s2: kl_general(mu, logvar, m, np.square(s2)),
     "You used prior_var as a standard deviation"),
    ("batch_sum", lambda mu, logvar, m, s2: np.sum(per_coordinate(mu, logvar, m, s2)),
     "That is the sum over the batch"),
    ("mean_all", lambda mu, logvar, m, s2: np.mean(per_coordinate(mu, logvar, m, s2)),
     "You averaged over every entry"),
    ("fixed_size", lambda mu, logvar, m, s2: np.sum(per_coordinate(mu, logvar, m, s2)) / 5,
     "kl_to_prior is right for 2 × 5 arrays only"),
    ("no_gradient", as_float, "fl.gradient says TracingError: float("),
    ("no_gradient", as_plain_arrays, "Its gradient in mu and logvar is None or wrong"),
    ("no_gradient", shifted_in_place, "fl.gradient says InPlaceError"),
    # (μ − m)² not divided by the prior's variance
    ("wrong", lambda mu, logvar, m, s2: np.sum(0.5 * (np.log(s2) - logvar + np.exp(logvar) / s2
                                                      + (mu - m) ** 2 - 1)) / mu.shape[-1],
     "is not the KL divergence from N(μ, σ²) to N(prior_mean, prior_var)"),
]


@pytest.mark.parametrize("key, f, text", KL, ids=[c[0] for c in KL])
def test_kl_hint(key, f, text):
    fails(lambda: check.kl_against_prior(f), f"10.1.{key}", text)


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
