"""Checks for lesson 5a (building models). Each hint names one mistake;
tests/test_checks_lesson05a.py feeds every one of them in.

The checks call the student's functions on sizes of their own and compare with what fluxlite's
own layers count, build or compute for those sizes."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng, keep_fl_rng
from .core import progress as _progress
from .core import kind as _kind

LESSON = "05a"


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


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
