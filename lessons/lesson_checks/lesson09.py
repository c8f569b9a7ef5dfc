"""Checks for lesson 9 (autoencoders). Each hint names one mistake;
tests/test_checks_lesson09.py feeds every one of them in.

The checks receive the notebook's own encoder, decoder and test digits, and call the student's
functions on batches and pairs of digits of their own, so a picture copied from the notebook
cannot pass."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng, progress as _progress
from .core import kind as _kind

LESSON = "09"


def _pixels(value):
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


EX1 = exercise(LESSON, 1, "Rebuild digits by hand", hints={
    "not_function": "rebuild should be a function of a 64 × N batch, rebuild(x), but it is "
                    "{kind}.",
    "error": "rebuild(x) failed for a 64 × {n} batch with {error}.",
    "none": "rebuild returns None: end it with `return ...`.",
    "codes": "rebuild returns the 2-number codes (shape {shape}): decode them as well.",
    "shape": "For a 64 × {n} batch rebuild should give 64 × {n}, but it gives {shape}.",
    "logits": "Some values are outside [0, 1]: the decoder returns logits, apply fl.σ to them.",
    "sigma_on_codes": "σ belongs at the end only: the codes go into the decoder as the encoder "
                      "gives them, and σ turns the decoder's logits into pixels.",
    "constant": "rebuild gives the same pictures for two different batches: rebuild the x it is "
                "given.",
    "wrong": "These are not the decoder's pictures of the encoder's codes: encode x, decode the "
             "codes, then apply fl.σ.",
})


@EX1.check
def rebuild_digits(rebuild, encoder, decoder):
    """Exercise 1: rebuild(x) = the pixels the decoder draws from the encoder's codes of x."""
    if not callable(rebuild):
        return Hint("not_function", kind=_kind(rebuild))
    rng = fresh_rng(901)
    batches = [rng.random((64, n)).astype(np.float32) for n in (5, 7, 7)]
    answers = []
    for x in batches:
        n = x.shape[1]
        got, error = call(rebuild, x.copy())
        if error is not None:
            return Hint("error", n=n, error=describe(error))
        if got is None:
            return Hint("none")
        values = _pixels(got)
        shape = np.shape(got)
        if shape == (2, n):
            return Hint("codes", shape=shape)
        if values is None or shape != (64, n):
            return Hint("shape", n=n, shape=shape)
        if values.min() < 0 or values.max() > 1:
            return Hint("logits")
        answers.append(values)
    if close(answers[1], answers[2]):
        return Hint("constant")
    for x, got in zip(batches, answers):
        if close(got, fl.σ(decoder(encoder(x))), atol=1e-6):
            continue
        if close(got, fl.σ(decoder(fl.σ(encoder(x)))), atol=1e-6):
            return Hint("sigma_on_codes")
        return Hint("wrong")
    return None


EX2 = exercise(LESSON, 2, "Walk from one digit to another", hints={
    "not_function": "walk_between should be a function walk_between(xa, xb, steps), but it is "
                    "{kind}.",
    "error": "walk_between(xa, xb, {steps}) failed with {error}.",
    "none": "walk_between returns None: end it with `return ...`.",
    "transposed": "walk_between(xa, xb, {steps}) returns shape {shape}: pixels × steps is "
                  "64 × {steps}, one step per column (keep the codes as 2 × {steps}).",
    "steps_ignored": "walk_between(xa, xb, {steps}) returns {got} columns: make `steps` codes, "
                     "np.linspace(0, 1, steps).",
    "shape": "walk_between(xa, xb, {steps}) returns shape {shape}; it should be 64 × {steps}.",
    "logits": "Some values are outside [0, 1]: the decoder returns logits, apply fl.σ to them.",
    "pixels": "This walk blends the two *pictures*, pixel by pixel. The exercise walks between "
              "their *codes*: encode xa and xb, blend the codes, and decode every step.",
    "same_walk": "walk_between gives the same walk for two different pairs of digits: start "
                 "from the xa and xb it is given.",
    "ends": "The first and last columns should be the decoded xa and the decoded xb (t = 0 and "
            "t = 1).",
    "uneven": "The ends are right but the steps in between are not: space t evenly from 0 to 1 "
              "and blend the codes as (1 − t)·a + t·b.",
})


def _walk(encoder, decoder, xa, xb, steps, space="codes"):
    t = np.linspace(0, 1, steps)
    if space == "pixels":
        return (1 - t) * xa + t * xb
    a, b = encoder(xa), encoder(xb)
    return fl.σ(decoder((1 - t) * a + t * b))


@EX2.check
def latent_walk(walk_between, encoder, decoder, Xtest, first_of_each):
    """Exercise 2: walk_between(xa, xb, steps), 64 × steps pixels decoded from evenly spaced
    codes between the codes of xa and xb (64 × 1 columns), ends included."""
    if not callable(walk_between):
        return Hint("not_function", kind=_kind(walk_between))
    rng = fresh_rng(902)
    i, j = first_of_each[0], first_of_each[1]
    k, l = rng.choice(np.setdiff1d(np.arange(Xtest.shape[1]), [i, j]), 2, replace=False)
    trials = [(Xtest[:, i:i + 1], Xtest[:, j:j + 1], 8),
              (Xtest[:, k:k + 1], Xtest[:, l:l + 1], 8),
              (Xtest[:, l:l + 1], Xtest[:, i:i + 1], 5)]
    answers = []
    for xa, xb, steps in trials:
        got, error = call(walk_between, xa.copy(), xb.copy(), steps)
        if error is not None:
            return Hint("error", steps=steps, error=describe(error))
        if got is None:
            return Hint("none")
        shape = np.shape(got)
        values = _pixels(got)
        if shape == (steps, 64):
            return Hint("transposed", steps=steps, shape=shape)
        if len(shape) == 2 and shape[0] == 64 and shape[1] != steps:
            return Hint("steps_ignored", steps=steps, got=shape[1])
        if values is None or shape != (64, steps):
            return Hint("shape", steps=steps, shape=shape)
        if values.min() < 0 or values.max() > 1:
            return Hint("logits")
        answers.append(values)
    for (xa, xb, steps), got in zip(trials, answers):
        if close(got, _walk(encoder, decoder, xa, xb, steps, "pixels"), atol=1e-5):
            return Hint("pixels")
    if close(answers[0], answers[1]):
        return Hint("same_walk")
    for (xa, xb, steps), got in zip(trials, answers):
        want = _walk(encoder, decoder, xa, xb, steps)
        if close(got, want, atol=1e-5):
            continue
        if not close(got[:, [0, -1]], want[:, [0, -1]], atol=1e-5):
            return Hint("ends")
        return Hint("uneven")
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
