"""Checks for lesson 5b (a tour of the layers). Each hint names one mistake;
tests/test_checks_lesson05b.py feeds every one of them in.

The checks call the student's functions on inputs of their own and compare with what
fluxlite's own layers give for those inputs."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, forbid, fresh_rng, keep_fl_rng
from .core import progress as _progress
from .core import kind as _kind

LESSON = "05b"


def _conv_trials(salt):
    """Inputs where every mistake gives another shape: W ≠ H, kw ≠ kh, pad > 0, and sizes
    that a stride does not divide."""
    rng = fresh_rng(salt)
    trials = []
    while len(trials) < 3:
        w, h = (int(n) for n in rng.integers(9, 40, size=2))
        kw, kh = (int(n) for n in rng.integers(1, 4, size=2) * 2 + 1)
        c_in, c_out, n = (int(n) for n in rng.integers(1, 9, size=3))
        stride, pad = int(rng.integers(2, 4)), int(rng.integers(1, 3))
        if w == h or kw == kh or len({c_in, c_out, n}) < 3 or (w + 2 * pad - kw) % stride == 0:
            continue
        trials.append(((w, h, c_in, n), (kw, kh), (c_in, c_out), stride, pad))
    return trials


def _conv_shape(x_shape, kernel, channels, stride, pad):
    with keep_fl_rng():
        layer = fl.Conv(kernel, channels, stride=stride, pad=pad)
    return layer(np.zeros(x_shape, np.float32)).shape


EX1 = exercise(LESSON, 1, "Predict a shape", hints={
    "not_function": "conv_output_shape should be a function conv_output_shape(x_shape, kernel, "
                    "channels, stride, pad), but it is {kind}. A tuple is right for one layer "
                    "only; the check tries others.",
    "error": "conv_output_shape{args} failed with {error}.",
    "constant": "conv_output_shape gives the same shape for two different layers: compute it "
                "from the arguments it is given.",
    "length": "conv_output_shape{args} returns {got}; give four numbers: width, height, "
              "channels, batch.",
    "batch_first": "Flux puts the batch last: W × H × C × N.",
    "channels": "The channel axis (third number) counts the layer's output channels.",
    "swapped": "Width and height are swapped: the first kernel size goes with the width (axis "
               "0), the second with the height.",
    "not_whole": "conv_output_shape{args} returns {got}: sizes are whole numbers. ÷ rounds "
                 "down, which is // in Python.",
    "no_plus_one": "One short along width and height: a kernel that fits exactly once still "
                   "gives one output, so add 1.",
    "pad_once": "The padding is added on both sides of the image, so it counts twice.",
    "wrong": "conv_output_shape{args} is {got}, not the shape fl.Conv gives. Width and height: "
             "(size + 2·pad − k) ÷ stride + 1, where ÷ rounds down.",
})


@EX1.check
def conv_shape(conv_output_shape):
    """Exercise 1: conv_output_shape(x_shape, kernel, channels, stride, pad)."""
    if not callable(conv_output_shape):
        return Hint("not_function", kind=_kind(conv_output_shape))
    trials = _conv_trials(503)
    answers = []
    for args in trials:
        got, error = call(conv_output_shape, *args)
        if error is not None:
            return Hint("error", args=args, error=describe(error))
        answers.append(got)
    try:
        if tuple(answers[0]) == tuple(answers[1]):
            return Hint("constant")
    except TypeError:
        pass
    for args, got in zip(trials, answers):
        want = _conv_shape(*args)
        try:
            got = tuple(got)
        except TypeError:
            return Hint("length", args=args, got=got)
        if len(got) != 4:
            return Hint("length", args=args, got=got)
        try:
            if got == want and all(int(g) == g for g in got):
                continue
        except (TypeError, ValueError, OverflowError):
            pass
        (w, h, c_in, n), (kw, kh), (_, c_out), stride, pad = args
        if got[0] == n and got[-1] != n:
            return Hint("batch_first")
        if got[2] != c_out:
            return Hint("channels")
        if tuple(got[:2]) == want[1::-1]:
            return Hint("swapped")
        try:
            whole = all(float(g) == int(g) for g in got)
        except (TypeError, ValueError, OverflowError):
            whole = True
        if not whole and close(np.floor(np.asarray(got[:2], dtype=float)), want[:2]):
            return Hint("not_whole", args=args, got=got)
        if close(got[:2], [want[0] - 1, want[1] - 1]):
            return Hint("no_plus_one")
        # padding once is like padding twice an image `pad` smaller
        if close(got[:2], _conv_shape((w - pad, h - pad, c_in, n), *args[1:])[:2]):
            return Hint("pad_once")
        return Hint("wrong", args=args, got=got)
    return None


def _dropout_trials(salt):
    """Two rates well away from 1/2 (so dropping and keeping differ), and arrays of several
    shapes with no zero in them (so a zero in the output is a dropped entry)."""
    rng = fresh_rng(salt)
    rates = (float(rng.uniform(0.15, 0.35)), float(rng.uniform(0.65, 0.85)))
    shapes = ((int(rng.integers(30, 60)), int(rng.integers(150, 250))),
              tuple(int(n) for n in rng.integers(6, 12, size=3)) + (int(rng.integers(12, 20)),))
    return [(rng.uniform(0.5, 2.0, size=shape), round(p, 2)) for shape, p in zip(shapes, rates)]


def _dropout_reference(x, p):
    """What fl.Dropout(p) gives at test time, and the factor its survivors get while training."""
    with keep_fl_rng():
        test = fl.testmode_(fl.Dropout(p))(x)
        survivors = fl.trainmode_(fl.Dropout(p))(np.ones(1000))
    return test, float(survivors.max())


def _call_without_layer(my_dropout, x, p, training):
    with forbid(fl, "Dropout"):
        return call(my_dropout, x, p, training)


EX2 = exercise(LESSON, 2, "Dropout by hand", hints={
    "not_function": "my_dropout should be a function my_dropout(x, p, training), but it is "
                    "{kind}.",
    "used_layer": "Write my_dropout with a random mask and NumPy, not with fl.Dropout itself.",
    "error": "my_dropout(x, {p}, {training}) failed with {error}.",
    "shape": "my_dropout(x, {p}, {training}) returns shape {got} for an x of shape {want}: "
             "dropout keeps the shape and only zeroes some entries.",
    "test_dropped": "With training=False some entries came back as zero. Dropout drops only "
                    "while training; at test time it does nothing.",
    "test_scaled": "With training=False you scaled x down by the fraction that is kept. That is "
                   "how dropout was first described, but Flux does the scaling while training "
                   "instead, so that at test time Dropout returns x unchanged.",
    "test_wrong": "With training=False, my_dropout(x, {p}, False) should return x unchanged, "
                  "but it changed the values.",
    "modified_input": "my_dropout changed the array x it was given. Leave x alone and return a "
                      "new array.",
    "nothing_dropped": "With training=True nothing was zeroed: while training, each entry is "
                       "dropped at random.",
    "keep_prob": "With p = {p}, {frac:.0%} of the entries were zeroed: p is the probability "
                 "of dropping an entry, not of keeping it.",
    "rate": "With p = {p}, {frac:.0%} of the entries were zeroed. Drop each entry with "
            "probability p, independently of the others.",
    "not_scaled": "The entries that survive are unchanged, so the output is smaller than x on "
                  "average. Scale the survivors up so that the average stays the same.",
    "scale_p": "The survivors are divided by p, the fraction that is dropped; divide by the "
               "fraction that is kept.",
    "wrong_scale": "The survivors of my_dropout(x, {p}, True) are not x times the factor that "
                   "keeps the average unchanged.",
    "same_mask": "Two calls zeroed exactly the same entries: draw a new random mask on every "
                 "call (from fl.rng(), not from a generator seeded inside the function).",
})


@EX2.check
def dropout_by_hand(my_dropout):
    """Exercise 2: my_dropout(x, p, training), what Dropout(p) does in each mode."""
    if not callable(my_dropout) or isinstance(my_dropout, fl.Dropout):
        return Hint("not_function", kind=_kind(my_dropout))
    with keep_fl_rng():                # the calls draw from fl's stream; it is put back after
        for x, p in _dropout_trials(505):
            hint = _dropout_trial(my_dropout, x, p)
            if hint is not None:
                return hint
    return None


def _outcome(my_dropout, x, p, training):
    """(output, None) or (None, Hint) for one call on a copy of x."""
    given = x.copy()
    got, error = _call_without_layer(my_dropout, given, p, training)
    if isinstance(error, forbid.Forbidden):
        return None, Hint("used_layer")
    if error is not None:
        return None, Hint("error", p=p, training=training, error=describe(error))
    if not np.array_equal(given, x):
        return None, Hint("modified_input")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        got = np.asarray(None)
    if got.shape != x.shape:
        return None, Hint("shape", p=p, training=training, got=got.shape, want=x.shape)
    return got, None


def _dropout_trial(my_dropout, x, p):
    test, factor = _dropout_reference(x, p)
    kept = 1 / factor                  # the fraction Dropout keeps, read off fl.Dropout

    got, hint = _outcome(my_dropout, x, p, False)
    if hint is not None:
        return hint
    if not close(got, test):
        if np.any(got == 0):
            return Hint("test_dropped")
        if close(got, test * kept):
            return Hint("test_scaled")
        return Hint("test_wrong", p=p)

    masks = []
    for _ in range(2):
        got, hint = _outcome(my_dropout, x, p, True)
        if hint is not None:
            return hint
        dropped = got == 0
        frac = float(dropped.mean())
        if frac == 0:
            return Hint("nothing_dropped")
        if abs(frac - p) > 0.05:
            if abs(frac - kept) <= 0.05:
                return Hint("keep_prob", p=p, frac=frac)
            return Hint("rate", p=p, frac=frac)
        ratio = got[~dropped] / x[~dropped]
        if not close(ratio, np.full(ratio.shape, factor)):
            if close(ratio, np.ones(ratio.shape)):
                return Hint("not_scaled")
            if close(ratio, np.full(ratio.shape, 1 / p)):
                return Hint("scale_p")
            return Hint("wrong_scale", p=p)
        masks.append(dropped)
    if np.array_equal(masks[0], masks[1]):
        return Hint("same_mask")
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
