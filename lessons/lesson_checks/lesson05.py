"""Checks for lesson 5 (building models). Each hint names one mistake;
tests/test_checks_lesson05.py feeds every one of them in.

The checks call the student's functions on sizes of their own and compare with what fluxlite's
own layers count, build or compute for those sizes."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng, keep_fl_rng
from .core import progress as _progress
from .core import kind as _kind

LESSON = "05"


def _chain(sizes):
    with keep_fl_rng():
        return fl.Chain(*[fl.Dense(a, b) for a, b in zip(sizes[:-1], sizes[1:])])


def _size_lists(salt):
    rng = fresh_rng(salt)
    return [tuple(int(n) for n in rng.integers(2, 13, size=length)) for length in (3, 4, 5)]


EX1 = exercise(LESSON, 1, "Count the parameters", hints={
    "not_function": "n_parameters should be a function of the layer sizes, n_parameters(sizes), "
                    "but it is {kind}. A number is right for one model only; the check tries "
                    "others.",
    "error": "n_parameters({sizes}) failed with {error}.",
    "constant": "n_parameters gives the same count for two different models: compute it from "
                "the sizes it is given.",
    "weights_only": "Almost: you counted the weights. Each Dense(in => out) also has `out` "
                    "biases.",
    "bias_in": "The biases belong to the outputs: a Dense(in => out) layer has one bias per "
               "output, not per input.",
    "wrong": "n_parameters({sizes}) is {got}, not the number fl.params finds in a Chain of Dense "
             "layers of those sizes. Each Dense(in => out) holds an out × in weight and out "
             "biases; add them up over the layers.",
})


@EX1.check
def parameter_count(n_parameters):
    """Exercise 1: n_parameters(sizes), the parameter count of
    Chain(Dense(s0 => s1), Dense(s1 => s2), ...)."""
    if not callable(n_parameters):
        return Hint("not_function", kind=_kind(n_parameters))
    trials = _size_lists(501)
    answers = []
    for sizes in trials:
        got, error = call(n_parameters, sizes)
        if error is not None:
            return Hint("error", sizes=sizes, error=describe(error))
        answers.append(got)
    if answers[0] == answers[1] == answers[2]:
        return Hint("constant")
    for sizes, got in zip(trials, answers):
        layers = list(_chain(sizes))
        want = sum(p.size for p in fl.params(fl.Chain(*layers)))
        try:
            if int(got) == got and int(got) == want:
                continue
        except (TypeError, ValueError, OverflowError):
            pass
        weights = sum(layer.weight.size for layer in layers)
        if got == weights:
            return Hint("weights_only")
        if got == weights + sum(layer.weight.shape[1] for layer in layers):
            return Hint("bias_in")
        return Hint("wrong", sizes=sizes, got=got)
    return None


EX2 = exercise(LESSON, 2, "From closure to Dense", hints={
    "not_function": "dense_linear should be a function dense_linear(n_in, n_out), but it is "
                    "{kind}.",
    "error": "dense_linear({n_in}, {n_out}) failed with {error}.",
    "none": "dense_linear returns None: end it with a `return` of the layer it builds.",
    "not_dense": "dense_linear returned a {kind}; return an fl.Dense built from W and b.",
    "shape": "The weight of dense_linear({n_in}, {n_out}) has shape {got}; a layer from {n_in} "
             "inputs to {n_out} outputs needs one row per output, out × in. Check the order of "
             "the arguments to fl.randn.",
    "no_bias": "The layer needs a random bias too: make b with fl.randn and pass it as the "
               "second argument of fl.Dense.",
    "not_random": "The weight is not random: draw W with fl.randn, as linear does.",
    "same_weights": "Two calls of dense_linear return the same weights: draw a new W and b each "
                    "time the function is called.",
    "activation": "The layer should compute W x + b and nothing more: give fl.Dense no "
                  "activation.",
})


@EX2.check
def dense_from_arrays(dense_linear):
    """Exercise 2: dense_linear(n_in, n_out), a Dense layer around fresh fl.randn arrays."""
    if not callable(dense_linear) or isinstance(dense_linear, (fl.Dense, fl.Chain)):
        return Hint("not_function", kind=_kind(dense_linear))
    with keep_fl_rng():                # the calls draw from fl's stream; it is put back after
        return _dense_from_arrays(dense_linear, fresh_rng(502))


def _dense_from_arrays(dense_linear, rng):
    weights = []
    for n_in, n_out in ((4, 2), (6, 3), (3, 7), (3, 7)):
        layer, error = call(dense_linear, n_in, n_out)
        if error is not None:
            return Hint("error", n_in=n_in, n_out=n_out, error=describe(error))
        if layer is None:
            return Hint("none")
        if not isinstance(layer, fl.Dense):
            return Hint("not_dense", kind=type(layer).__name__)
        W, b = np.asarray(layer.weight), layer.bias
        if W.shape != (n_out, n_in):
            return Hint("shape", n_in=n_in, n_out=n_out, got=W.shape)
        if len(fl.params(layer)) != 2 or b is None or b is False or not np.any(np.asarray(b)):
            return Hint("no_bias")
        if np.all(W == W.flat[0]):
            return Hint("not_random")
        x = rng.normal(size=n_in)
        if not close(layer(x), W @ x + np.asarray(b)):
            return Hint("activation")
        weights.append(W.copy())
    if np.array_equal(weights[-1], weights[-2]):
        return Hint("same_weights")
    return None


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


EX3 = exercise(LESSON, 3, "Predict a shape", hints={
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


@EX3.check
def conv_shape(conv_output_shape):
    """Exercise 3: conv_output_shape(x_shape, kernel, channels, stride, pad)."""
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


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
