"""Checks for lesson 11 (recurrent networks). Each hint names one mistake;
tests/test_checks_lesson11.py feeds every one of them in."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng, keep_fl_rng, progress as _progress
from .core import kind as _kind

LESSON = "11"


def _logits(m, x):
    """The model's logits after the last step of x (features × batch × time), from a reset."""
    fl.reset_(m)
    for t in range(x.shape[-1]):
        out = m(x[:, :, t])
    return np.asarray(out, dtype=float)[0]


EX1 = exercise(LESSON, 1, "A prediction that does not depend on the past", hints={
    "not_function": "predict_first_bit should be a function of a model and a batch, "
                    "def predict_first_bit(m, x): ..., but it is {kind}.",
    "error": "predict_first_bit(m, x) failed with {error}.",
    "none": "predict_first_bit returns None: end it with return and the answers.",
    "shape": "For {n} sequences the answer should be one number per sequence, shape ({n},); "
             "got shape {shape}.",
    "logits": "predict_first_bit returns the model's scores, not 0/1 answers: the answer is 1 "
              "where the logit after the last step is above 0, and 0 elsewhere.",
    "no_reset": "Right after a reset it gives the model's answers, but not after the model has "
                "read other data: reset the model's state before the first step.",
    "labels": "predict_first_bit gives the first bits of x themselves, not the model's answers: "
              "let m read every step and answer from its output.",
    "wrong": "predict_first_bit does not give the model's answers: run m over all the steps of "
             "x, one step x[:, :, t] at a time, and answer from the output after the last one.",
})


def _untrained_model():
    with keep_fl_rng():                          # leaves fl's random stream as it was
        fl.seed(1101)
        return fl.Chain(fl.LSTM(1, 8), fl.Dense(8, 1))


@EX1.check
def prediction(predict_first_bit, model):
    """Exercise 1: the model's 0/1 answers for a batch, whatever state the model was left in."""
    if not callable(predict_first_bit):
        return Hint("not_function", kind=_kind(predict_first_bit))
    rng = fresh_rng(1101)
    n, T = 16, int(rng.integers(8, 16))
    x = rng.integers(0, 2, size=(1, n, T)).astype(np.float32)
    x[0, :2, 0] = (0.0, 1.0)                     # both labels occur
    flipped = x.copy()
    flipped[0, :, 0] = 1 - x[0, :, 0]            # the same sequences with the other first bit
    try:
        for m in (model, _untrained_model()):
            want = (_logits(m, x) > 0).astype(float)
            _logits(m, flipped)                  # leave the state of other sequences behind
            got, error = call(predict_first_bit, m, x)
            if error is not None:
                return Hint("error", error=describe(error))
            if got is None:
                return Hint("none")
            shape = np.shape(got)
            if shape != (n,):
                return Hint("shape", n=n, shape=shape)
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                return Hint("wrong")
            if np.array_equal(got, want):
                continue
            if not np.isin(got, (0.0, 1.0)).all() and (
                    np.array_equal(got > 0, want > 0) or np.array_equal(got > 0.5, want > 0)):
                return Hint("logits")
            fl.reset_(m)
            again, error = call(predict_first_bit, m, x)
            if error is None and close(again, want):
                return Hint("no_reset")
            if np.array_equal(got, x[0, :, 0]):
                return Hint("labels")
            return Hint("wrong")
    finally:
        fl.reset_(model)
    return None


EX2 = exercise(LESSON, 2, "How far back can the RNN see?", hints={
    "not_curve": "curve_short should be the list of test accuracies that train_first_bit "
                 "returns second, but it is {kind}.",
    "pair": "curve_short holds the model as well: train_first_bit returns two things, the model "
            "and the curve. Store the second one (model, curve = ...).",
    "length": "curve_short has {got} entries; {steps} steps measured every 25 steps give {want}. "
              "Did you pass steps={steps}?",
    "other_T": "That is the curve for sequences of {T} bits: pass T={want_T}.",
    "lstm": "That curve is an LSTM's: the question is about the plain RNN, fl.RNN.",
    "wrong_curve": "That is not the curve of train_first_bit(fl.RNN, T={T}, steps={steps}): "
                   "store the second value it returns, as it is.",
    "acc_missing": "acc_short should be one number, the curve's last entry, but it is {kind}.",
    "percent": "acc_short = {got} is a percentage; the curve holds fractions between 0 and 1, "
               "and acc_short is one of its entries, as it is.",
    "acc_not_last": "curve_short is right, but acc_short = {got} is not its last entry.",
})

_T, _STEPS = 10, 200


def _curve(train_first_bit, layer, T):
    with keep_fl_rng():                          # train_first_bit seeds fl's stream
        return np.asarray(train_first_bit(layer, T=T, steps=_STEPS)[1], dtype=float)


@EX2.check
def short_rnn(curve_short, acc_short, train_first_bit):
    """Exercise 2: the seeded run train_first_bit(fl.RNN, T=10, steps=200), trained again here
    and compared entry by entry with curve_short; acc_short is its last entry."""
    if isinstance(curve_short, (tuple, list)) and len(curve_short) == 2 and \
            isinstance(curve_short[0], fl.Chain):
        return Hint("pair")
    try:
        curve = np.asarray(curve_short, dtype=float).ravel()
    except (TypeError, ValueError):
        curve = None
    if curve_short is None or curve_short is ... or curve is None or curve.size < 2:
        return Hint("not_curve", kind=_kind(curve_short))
    want = _curve(train_first_bit, fl.RNN, _T)
    if curve.shape != want.shape:
        return Hint("length", got=curve.size, steps=_STEPS, want=want.size)
    if not close(curve, want):
        for T in (20, 5):
            if close(curve, _curve(train_first_bit, fl.RNN, T)):
                return Hint("other_T", T=T, want_T=_T)
        if close(curve, _curve(train_first_bit, fl.LSTM, _T)):
            return Hint("lstm")
        return Hint("wrong_curve", T=_T, steps=_STEPS)
    try:
        answer = float(acc_short)
    except (TypeError, ValueError):
        return Hint("acc_missing", kind=_kind(acc_short))
    if np.isclose(answer, want[-1]):
        return None
    if np.isclose(answer, 100 * want[-1]):
        return Hint("percent", got=acc_short)
    return Hint("acc_not_last", got=acc_short)


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
