"""Checks for lesson 10 (variational autoencoders). Each hint names one mistake;
tests/test_checks_lesson10.py feeds every one of them in.

The checks call the student's functions on arrays and models of their own, so a number or a
picture copied from the notebook cannot pass."""
import warnings

import numpy as np

import fluxlite as fl

from .core import (Hint, call, close, describe, exercise, fresh_rng, keep_fl_rng,
                   progress as _progress)
from .core import kind as _kind

LESSON = "10"


def _reference_kl(mu, logvar, prior_mean, prior_var):
    """KL(N(μ, σ²) || N(m, s²)) by numerical integration, coordinate by coordinate: the average
    of log q(z) − log p(z) under q, on a fine grid, summed over the latent axis and averaged over
    the batch. No closed form, so it is an independent reference."""
    mu, sigma = np.asarray(mu, float), np.exp(np.asarray(logvar, float) / 2)
    m = np.broadcast_to(np.asarray(prior_mean, float), mu.shape)
    s2 = np.broadcast_to(np.asarray(prior_var, float), mu.shape)
    t = np.linspace(-12, 12, 4001)                    # in units of σ around μ
    z = mu[..., None] + sigma[..., None] * t
    log_q = -0.5 * t ** 2 - np.log(sigma[..., None] * np.sqrt(2 * np.pi))
    log_p = -0.5 * (z - m[..., None]) ** 2 / s2[..., None] - 0.5 * np.log(2 * np.pi * s2[..., None])
    f = np.exp(log_q) * (log_q - log_p)
    dz = sigma * (t[1] - t[0])                        # the trapezoid rule, by hand (NumPy 1.26)
    per_coordinate = dz * (f.sum(axis=-1) - (f[..., 0] + f[..., -1]) / 2)
    return per_coordinate.sum(axis=0).mean()


def _numerical_gradient(f, a, h=1e-5):
    """Central differences, entry by entry."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[i] = h
        grad[i] = (f(a + step) - f(a - step)) / (2 * h)
    return grad


def _problems(salt):
    """Batches of clouds (latent × N) with priors of the check's own: one mean and one variance
    per latent coordinate (a latent × 1 column), and once as plain numbers."""
    rng = fresh_rng(salt)
    out = []
    for latent, n in [(2, 5), (3, 7), (4, 3)]:
        mu, logvar = rng.normal(size=(latent, n)), rng.normal(size=(latent, n))
        prior_mean = rng.normal(size=(latent, 1))
        prior_var = rng.uniform(0.3, 3.0, size=(latent, 1))
        out.append((mu, logvar, prior_mean, prior_var))
    mu, logvar = rng.normal(size=(2, 6)), rng.normal(size=(2, 6))
    out.append((mu, logvar, float(rng.normal()), float(rng.uniform(0.3, 3.0))))
    return out


EX1 = exercise(LESSON, 1, "The KL term against another prior", hints={
    "not_function": "kl_to_prior should be a function kl_to_prior(mu, logvar, prior_mean, "
                    "prior_var), but it is {kind}.",
    "error": "kl_to_prior(mu, logvar, prior_mean, prior_var) failed with {error}.",
    "none": "kl_to_prior returns None: end it with `return ...`.",
    "not_scalar": "kl_to_prior should return one number, but for a {shape_in} batch it returns "
                  "shape {shape}: sum over the latent axis and average over the batch.",
    "self_nonzero": "When every cloud is the prior itself (μ = prior_mean, σ² = prior_var) the "
                    "KL must be 0; yours gives {value:.4g}.",
    "sign": "The sign is flipped: a KL divergence is never negative.",
    "standard_prior": "That is the KL to N(0, I), as in section 3: it ignores prior_mean and "
                      "prior_var. Here log p(z) is the log-density of N(prior_mean, prior_var).",
    "log_sigma": "You read logvar as log σ. It is log σ², so σ² = exp(logvar) and the log of "
                 "the variance is logvar itself.",
    "prior_std": "You used prior_var as a standard deviation. It is the prior's variance s² "
                 "already: do not square it.",
    "batch_sum": "That is the sum over the batch; divide by the number of digits (the last axis).",
    "mean_all": "You averaged over every entry; sum over the latent axis and average over the "
                "batch only.",
    "fixed_size": "kl_to_prior is right for 2 × 5 arrays only: take the batch size from the "
                  "arrays (mu.shape[-1]), not a number written down.",
    "no_gradient": "The value is right, but fl.gradient cannot follow it: use NumPy operations "
                   "on the arrays themselves.\n{why}",
    "wrong": "kl_to_prior is not the KL divergence from N(μ, σ²) to N(prior_mean, prior_var). "
             "Start from its definition, the average of log q(z) − log p(z) for z drawn from "
             "q, and work out that average term by term.",
})


@EX1.check
def kl_against_prior(kl_to_prior):
    """Exercise 1: kl_to_prior(mu, logvar, prior_mean, prior_var), the batch-averaged KL from
    each cloud to a prior N(m, s²) that is not the standard normal, traceable."""
    if not callable(kl_to_prior):
        return Hint("not_function", kind=_kind(kl_to_prior))
    for mu, logvar, m, s2 in _problems(1001):
        got, error = call(kl_to_prior, *(np.copy(a) if isinstance(a, np.ndarray) else a
                                         for a in (mu, logvar, m, s2)))   # copies: theirs to change
        if error is not None:
            return Hint("error", error=describe(error))
        if got is None:
            return Hint("none")
        if np.ndim(got) != 0:
            return Hint("not_scalar", shape_in=" × ".join(map(str, mu.shape)), shape=np.shape(got))
        want = _reference_kl(mu, logvar, m, s2)
        n, latent = mu.shape[1], mu.shape[0]
        if close(got, want):
            continue
        if close(got, -want):
            return Hint("sign")
        if close(got, _reference_kl(mu, logvar, 0.0, 1.0)):
            return Hint("standard_prior")
        if close(got, _reference_kl(mu, 2 * logvar, m, s2)):
            return Hint("log_sigma")
        if close(got, _reference_kl(mu, logvar, m, np.square(s2))):
            return Hint("prior_std")
        if close(got, want * n):
            return Hint("batch_sum")
        if close(got, want / latent):
            return Hint("mean_all")
        if mu.shape != (2, 5) and close(got, want * n / 5):
            return Hint("fixed_size")
        same = np.broadcast_to(np.asarray(m, float), mu.shape).copy()
        itself, error = call(kl_to_prior, same, np.log(np.broadcast_to(s2, mu.shape)), m, s2)
        if error is None and itself is not None and np.ndim(itself) == 0 and \
                not close(itself, 0, atol=1e-9):
            return Hint("self_nonzero", value=float(np.asarray(itself, dtype=float)))
        return Hint("wrong")
    mu, logvar, m, s2 = _problems(1002)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grads, error = call(fl.gradient, lambda a, b: kl_to_prior(a, b, m, s2), mu, logvar)
    if error is not None:
        return Hint("no_gradient", why="fl.gradient says " + describe(error))
    want = [_numerical_gradient(lambda a: _reference_kl(a, logvar, m, s2), mu),
            _numerical_gradient(lambda a: _reference_kl(mu, a, m, s2), logvar)]
    if any(g is None or not close(g, w, rtol=1e-4, atol=1e-6) for g, w in zip(grads, want)):
        return Hint("no_gradient", why="Its gradient in mu and logvar is None or wrong: "
                                       "np.asarray, np.array and float copy the numbers "
                                       "without their trace.")
    return None


EX2 = exercise(LESSON, 2, "Decode the average of a class", hints={
    "not_function": "decode_centres should be a function decode_centres(decoder, mu, labels), "
                    "but it is {kind}.",
    "error": "decode_centres(decoder, mu, labels) failed with {error}.",
    "none": "decode_centres returns None: end it with `return ...`.",
    "many_calls": "decode_centres called the decoder {calls} times: stack the 10 means as the "
                  "columns of one 2 × 10 array and decode them in one call.",
    "transposed": "decode_centres returns shape {shape}: pixels × classes is 64 × 10, one "
                  "class per column (features first).",
    "shape": "decode_centres returns shape {shape}; it should be 64 × 10, one decoded centre per "
             "class, in the order 0 to 9.",
    "logits": "Some values are outside [0, 1]: the decoder returns logits, apply fl.σ to them.",
    "lesson_data": "decode_centres ignores its arguments and gives the same pictures for another "
                   "decoder and other codes: use the decoder, mu and labels it is given.",
    "median": "Close, but these are the decoded *medians* of each class; the exercise asks for "
              "the mean μ of each class (np.mean or .mean(axis=1)).",
    "wrong": "These are not the decoded class means: for each d from 0 to 9 take the mean of the "
             "columns of mu where labels == d, then decode the 2 × 10 array of means.",
})


def _fresh_problem(salt):
    rng = fresh_rng(salt)
    with keep_fl_rng():
        fl.seed(int(rng.integers(1 << 30)))
        decoder = fl.Chain(fl.Dense(2, 16, fl.relu), fl.Dense(16, 64))
    n = 60
    labels = np.concatenate([np.arange(10), rng.integers(0, 10, n - 10)])
    rng.shuffle(labels)
    mu = (rng.normal(size=(2, n)) + labels / 3).astype(np.float32)
    return decoder, mu, labels


def _want(decoder, mu, labels, centre=np.mean):
    centres = np.stack([centre(mu[:, labels == d], axis=1) for d in range(10)], axis=1)
    return fl.σ(decoder(centres.astype(np.float32)))


@EX2.check
def class_centres(decode_centres, vae, mu, labels):
    """Exercise 2: decode_centres(decoder, mu, labels), the decoded class means, 64 × 10, for the
    VAE's decoder on the given codes and for a decoder and codes of the check's own."""
    decoder = vae["decoder"]
    if not callable(decode_centres):
        return Hint("not_function", kind=_kind(decode_centres))
    problems = [(decoder, mu, labels), _fresh_problem(1003)]
    answers = []
    for dec, m, lab in problems:
        calls = []

        def counted(z, dec=dec):
            calls.append(1)
            return dec(z)
        got, error = call(decode_centres, counted, np.array(m), np.array(lab))
        if error is not None:
            return Hint("error", error=describe(error))
        if got is None:
            return Hint("none")
        if len(calls) > 1:
            return Hint("many_calls", calls=len(calls))
        if np.shape(got) == (10, 64):
            return Hint("transposed", shape=np.shape(got))
        if np.shape(got) != (64, 10):
            return Hint("shape", shape=np.shape(got))
        values = np.asarray(got, dtype=float)
        if values.min() < 0 or values.max() > 1:
            return Hint("logits")
        answers.append(values)
    if close(answers[0], answers[1]):
        return Hint("lesson_data")
    for (dec, m, lab), got in zip(problems, answers):
        if close(got, _want(dec, m, lab), atol=1e-5):
            continue
        if close(got, _want(dec, m, lab, np.median), atol=1e-5):
            return Hint("median")
        return Hint("wrong")
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
