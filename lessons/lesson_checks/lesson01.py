"""Checks for lesson 1 (getting set up). Each hint names one mistake; tests/test_checks_lesson01.py
feeds every one of them in."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng, keep_fl_rng, progress as _progress
from .core import kind as _kind

LESSON = "01"


def _g(x, y):                                    # the exercise's g(x, y) = x^2 * y + 4y
    return x**2 * y + 4 * y


EX1 = exercise(LESSON, 1, "Translate g and take its gradient", hints={
    "g_not_function": "g should be a Python function of x and y (def g(x, y): ... or "
                      "lambda x, y: ...), but it is {kind}.",
    "caret": "Calling g({x:g}, {y:g}) failed with {error}.\n"
             "Powers are written x**2 in Python: x^2 means something else (bitwise XOR).",
    "g_error": "Calling g({x:g}, {y:g}) failed with {error}.\n"
               "g takes two numbers, x and y, and returns one number.",
    "g_swapped": "g computes the right formula with x and y swapped: the first argument is x.",
    "g_times_two": "g({x:g}, {y:g}) gives {got:g} instead of {want:g}: x**2 is x squared; "
                   "x*2 is twice x.",
    "g_wrong": "g({x:g}, {y:g}) gives {got:g}, but x^2 * y + 4y is {want:g} there.\n"
               "Check that every product has its * sign and that 4y is 4*y.",
    "dg_not_function": "dg should be a function of x and y that returns fl.gradient(g, x, y), "
                       "but it is {kind}.\nA fixed answer is right at one point only; dg must "
                       "work at every point.",
    "dg_error": "Calling dg({x:g}, {y:g}) failed with {error}.\n"
                "dg(x, y) should hand g and both numbers to fluxlite: fl.gradient(g, x, y).",
    "dg_constant": "dg gives the same answer at ({x1:g}, {y1:g}) and at ({x2:g}, {y2:g}): "
                   "pass x and y on to fl.gradient(g, x, y) instead of fixed numbers.",
    "dg_not_pair": "dg({x:g}, {y:g}) returned {got!r}. fl.gradient(g, x, y) returns a tuple "
                   "with one entry per argument of g: return the whole tuple.",
    "dg_swapped": "dg returns the two entries in the wrong order: the first is the slope in x, "
                  "the second the slope in y.",
    "dg_wrong": "dg({x:g}, {y:g}) returned {got!r}, which is not the gradient of g there. "
                "Does dg call fl.gradient(g, x, y)?",
})


@EX1.check
def translation(g, dg):
    """Exercise 1: g(x, y) = x^2 * y + 4y in Python, and dg(x, y), its gradient with fluxlite."""
    rng = fresh_rng(101)
    points = [tuple(float(v) for v in rng.uniform(-3, 3, 2).round(2) + 0.05) for _ in range(3)]
    if not callable(g):
        return Hint("g_not_function", kind=_kind(g))
    for x, y in points:
        got, error = call(g, x, y)
        if error is not None:
            key = "caret" if isinstance(error, TypeError) and "^" in str(error) else "g_error"
            return Hint(key, x=x, y=y, error=describe(error))
        want = _g(x, y)
        if close(got, want):
            continue
        if close(got, _g(y, x)):
            return Hint("g_swapped")
        if close(got, x * 2 * y + 4 * y):
            return Hint("g_times_two", x=x, y=y, got=float(got), want=want)
        try:
            got = float(got)
        except (TypeError, ValueError):
            pass
        return Hint("g_wrong", x=x, y=y, got=got, want=want)
    if not callable(dg):
        return Hint("dg_not_function", kind=_kind(dg))
    answers = []
    for x, y in points:
        got, error = call(dg, x, y)
        if error is not None:
            return Hint("dg_error", x=x, y=y, error=describe(error))
        answers.append(got)
    (x1, y1), (x2, y2) = points[:2]
    if close(answers[0], answers[1]):
        return Hint("dg_constant", x1=x1, y1=y1, x2=x2, y2=y2)
    for (x, y), got in zip(points, answers):
        want = fl.gradient(_g, x, y)
        if not isinstance(got, tuple) or len(got) != 2:
            return Hint("dg_not_pair", x=x, y=y, got=got)
        if close(got, want):
            continue
        if close(got, want[::-1]):
            return Hint("dg_swapped")
        return Hint("dg_wrong", x=x, y=y, got=got)
    return None


EX2 = exercise(LESSON, 2, "Translate four lines of Flux", hints={
    "layer_not_dense": "layer should be a fluxlite Dense layer, fl.Dense(inputs, outputs, "
                       "activation), but it is {kind}.",
    "layer_transposed": "layer.weight has shape {shape}: that layer maps 2 inputs to 3 outputs. "
                        "Dense(3 => 2) becomes fl.Dense(3, 2) (rule 2: in, then out).",
    "layer_size": "layer.weight has shape {shape}; Dense(3 => 2) has a 2×3 weight.",
    "activation": "The layer's activation is {name}; the Julia code asks for relu, the third "
                  "argument: fl.Dense(3, 2, fl.relu).",
    "seed": "The layer is the right kind, but its weights are not the ones seed 1 gives. "
            "Call fl.seed(1) right before you create the layer.",
    "x_wrong": "x should be the NumPy array with entries 2.0, 1.0, -1.0 (np.array([...])).",
    "forward_not_function": "forward should be a function of a layer and an input, but it is "
                            "{kind}.",
    "forward_star": "forward(layer, x) failed with {error}.\nJulia's * between a matrix and a "
                    "vector is the matrix product, which Python writes @ (layer.weight @ x).",
    "forward_error": "forward(layer, x) failed with {error}.",
    "forward_no_relu": "forward computes layer.weight @ x + layer.bias but leaves out fl.relu.",
    "forward_no_bias": "forward leaves out the bias: relu.(W * x .+ b) adds layer.bias.",
    "forward_wrong": "forward(layer, x) returned {got}, which is not relu.(W * x .+ b) for that "
                     "layer and x.",
})


def _reference_layer():
    with keep_fl_rng():                           # check the seed without disturbing yours
        fl.seed(1)
        return fl.Dense(3, 2, fl.relu)


@EX2.check
def dense(layer, x, forward):
    """Exercise 2: Random.seed!(1); Dense(3 => 2, relu); x; relu.(W * x .+ b) as a function."""
    if not isinstance(layer, fl.Dense):
        return Hint("layer_not_dense", kind=_kind(layer))
    shape = tuple(layer.weight.shape)
    if shape == (3, 2):
        return Hint("layer_transposed", shape=shape)
    if shape != (2, 3):
        return Hint("layer_size", shape=shape)
    if layer.σ is not fl.relu:
        return Hint("activation", name=getattr(layer.σ, "__name__", repr(layer.σ)))
    reference = _reference_layer()
    if not close(layer.weight, reference.weight) or not close(layer.bias, reference.bias):
        return Hint("seed")
    if not close(x, [2.0, 1.0, -1.0]):
        return Hint("x_wrong")
    if not callable(forward):
        return Hint("forward_not_function", kind=_kind(forward))
    rng = fresh_rng(102)
    with keep_fl_rng():
        trial = fl.Dense(3, 2, fl.relu)
    trial.weight[...] = rng.normal(size=(2, 3))   # a layer and input of the check's own
    trial.bias[...] = rng.normal(size=2) + 1.0
    x_trial = rng.normal(size=3)
    got, error = call(forward, trial, x_trial)
    if error is not None:
        star = isinstance(error, ValueError) and "broadcast" in str(error)
        return Hint("forward_star" if star else "forward_error", error=describe(error))
    affine = trial.weight @ x_trial + trial.bias
    if close(got, np.maximum(affine, 0)):
        return None
    if close(got, affine):
        return Hint("forward_no_relu")
    if close(got, np.maximum(trial.weight @ x_trial, 0)):
        return Hint("forward_no_bias")
    return Hint("forward_wrong", got=np.round(np.asarray(got, dtype=float), 3)
                if np.size(got) < 10 else f"an array of shape {np.shape(got)}")


EX3 = exercise(LESSON, 3, "A batch, the Flux way", hints={
    "batch_first": "X has shape {shape}: that is PyTorch's batch-first layout. In Flux and "
                   "fluxlite each sample is a column: features × batch.",
    "X_shape": "X has shape {shape}; it should hold 4 samples of 3 features, batch last.",
    "out_batch_first": "out_shape {got} puts the batch first. The layer keeps Flux's layout: "
                       "outputs × batch.",
    "out_unchanged": "out_shape {got} is the shape of X itself. Dense(3 => 2) turns the 3 "
                     "features of each sample into 2 outputs.",
    "out_wrong": "out_shape is {got}. The layer maps 3 features to 2 and keeps the 4 samples; "
                 "check with fl.Dense(3, 2)(X).shape.",
})


@EX3.check
def batch(X, out_shape):
    """Exercise 3: 4 samples of 3 features, batch last, and the shape of Dense(3 => 2)(X)."""
    shape = tuple(np.shape(X))
    if shape == (4, 3):
        return Hint("batch_first", shape=shape)
    if shape != (3, 4):
        return Hint("X_shape", shape=shape)
    with keep_fl_rng():
        want = fl.Dense(3, 2)(fl.ones(*shape)).shape    # computed, not written down
    try:
        got = tuple(int(n) for n in out_shape)
    except TypeError:
        got = out_shape
    if got == want:
        return None
    if got == want[::-1]:
        return Hint("out_batch_first", got=got)
    if got == shape:
        return Hint("out_unchanged", got=got)
    return Hint("out_wrong", got=got)


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
