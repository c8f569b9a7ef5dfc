"""Checks for lesson 6 (under the hood). Each hint names one mistake;
tests/test_checks_lesson06.py feeds every one of them in.

The checks run the student's code on numbers of their own and compare with fl.gradient or with
finite differences, never with a number written down."""
import math

import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng
from .core import progress as _progress
from .core import kind as _kind

LESSON = "06"


EX1 = exercise(LESSON, 1, "Teach Value a new operation", hints={
    "not_function": "value_exp should be a function value_exp(v) of one Value, but it is {kind}.",
    "error": "value_exp(v) failed with {error}.",
    "not_value": "value_exp returned {kind}; it must return a Value, so that backward can go "
                 "through it.",
    "data": "value_exp(v).data is {got:.4f} for v.data = {v:.4f}: the data should be e to the "
            "power v.data (math.exp).",
    "no_parents": "The data is right, but no gradient reached the input: record the pair "
                  "(v, local derivative) as the new Value's parents.",
    "local_input": "The local derivative you recorded is the input v.data. For exp it is the "
                   "result itself.",
    "local_one": "The local derivative you recorded is 1, as for +. For exp it is the result "
                 "itself.",
    "wrong": "The gradient through value_exp is {got:.4f} where fl.gradient gives {want:.4f}: "
             "check the local derivative you record.",
})


@EX1.check
def exp_operation(value_exp, Value):
    """Exercise 1: value_exp(v), a Value holding exp(v.data) whose parent pair passes gradients
    on. Checked inside exp(x·x) at numbers of the check's own."""
    if not callable(value_exp):
        return Hint("not_function", kind=_kind(value_exp))
    rng = fresh_rng(601)
    for x0 in rng.uniform(-1.2, 1.2, size=3):
        x = Value(x0)
        inner = x * x
        y, error = call(value_exp, inner)
        if error is not None:
            return Hint("error", error=describe(error))
        if not isinstance(y, Value):
            return Hint("not_value", kind="None" if y is None else _kind(y))
        if not math.isclose(y.data, float(np.exp(inner.data)), rel_tol=1e-9):
            return Hint("data", got=y.data, v=inner.data)
        y.backward()
        want = fl.gradient(lambda t: np.exp(t * t), float(x0))[0]
        if math.isclose(x.grad, want, rel_tol=1e-9):
            continue
        if x.grad == 0:
            return Hint("no_parents")
        chain = 2 * x0                            # what reaches exp's input from x·x
        if math.isclose(x.grad, chain * inner.data, rel_tol=1e-9):
            return Hint("local_input")
        if math.isclose(x.grad, chain, rel_tol=1e-9):
            return Hint("local_one")
        return Hint("wrong", got=x.grad, want=want)
    return None


def _finite_difference(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


EX2 = exercise(LESSON, 2, "A primitive with two arguments", hints={
    "not_primitive": "scaled_square should be made with primitive(forward, name) and given two "
                     "pullbacks with .defvjp(...), but it is {kind}.",
    "forward": "scaled_square(x, s) does not compute s · x², elementwise: check the forward "
               "function you gave primitive(...).",
    "error": "fl.gradient through scaled_square failed with {error}",
    "missing": "One of the gradients is None: give defvjp two pullbacks, one for x and one "
               "for s, in that order.",
    "shape_s": "The gradient for s has shape {got}, but s has shape {want}: s was broadcast "
               "over the rows, so its pullback must sum back to s's shape (unbroadcast).",
    "no_g": "A pullback ignores g, the gradient arriving from above: the chain rule multiplies "
            "the local derivative by g.",
    "x_wrong": "The gradient for x disagrees with finite differences: differentiate s · x² "
               "with respect to x.",
    "s_wrong": "The gradient for s disagrees with finite differences: differentiate s · x² "
               "with respect to s, then sum back to s's shape.",
})


@EX2.check
def two_argument_primitive(scaled_square):
    """Exercise 2: scaled_square(x, s) = s·x² with a pullback for x and one for s, s broadcast
    along the rows of x."""
    from fluxlite.autodiff import Primitive
    if not isinstance(scaled_square, Primitive):
        return Hint("not_primitive", kind=_kind(scaled_square))
    rng = fresh_rng(602)
    rows, cols = 3, 5
    x, s = rng.normal(size=(rows, cols)), rng.normal(size=cols)
    out, error = call(scaled_square, x, s)
    if error is not None or not close(out, s * x ** 2):
        return Hint("forward")
    f = lambda x, s: np.sum(np.sin(scaled_square(x, s)))   # noqa: E731 (any scalar function)
    grads, error = call(fl.gradient, f, x, s)
    if error is not None:
        if "shape" in str(error):
            return Hint("shape_s", got="not " + str(s.shape), want=s.shape)
        return Hint("error", error=describe(error))
    gx, gs = grads
    if gx is None or gs is None:
        return Hint("missing")
    if np.shape(gs) != s.shape:
        return Hint("shape_s", got=np.shape(gs), want=s.shape)
    fx = _finite_difference(lambda x_: f(x_, s), x)
    fs = _finite_difference(lambda s_: f(x, s_), s)
    plain = lambda x, s: np.sum(scaled_square(x, s))         # noqa: E731 (here g is all ones)
    if not close(gx, fx, atol=1e-5):
        if close(gx, _finite_difference(lambda x_: plain(x_, s), x), atol=1e-5):
            return Hint("no_g")
        return Hint("x_wrong")
    if not close(gs, fs, atol=1e-5):
        if close(gs, _finite_difference(lambda s_: plain(x, s_), s), atol=1e-5):
            return Hint("no_g")
        return Hint("s_wrong")
    return None


EX3 = exercise(LESSON, 3, "The third derivative", hints={
    "not_function": "third_derivative should be a function third_derivative(f, x), but it is "
                    "{kind}.",
    "error": "third_derivative(f, {x:g}) failed with {error}.",
    "not_number": "third_derivative(f, x) returned {kind}; return the number f‴(x) (call the "
                  "function you built at x).",
    "constant": "third_derivative gives the same number for different functions: compute it "
                "from the f and x it is given.",
    "level_0": "That is f(x) itself: differentiate three times.",
    "level_1": "That is the first derivative: two more levels of fl.gradient.",
    "level_2": "That is the second derivative: one more level of fl.gradient.",
    "level_4": "That is the fourth derivative: one level too many.",
    "wrong": "third_derivative(f, {x:g}) is {got} for f(t) = exp({k:g}·t), not f‴({x:g}). Nest "
             "fl.gradient three times (the derivative helper does one level).",
})


@EX3.check
def third(third_derivative):
    """Exercise 3: third_derivative(f, x), f‴(x) by nested fl.gradient. Checked on
    f(t) = exp(k·t), whose n-th derivative is kⁿ·f, so the level shows."""
    if not callable(third_derivative):
        return Hint("not_function", kind=_kind(third_derivative))
    rng = fresh_rng(603)
    trials = [(float(k), float(x)) for k, x in zip(rng.uniform(1.3, 2.5, 3),
                                                   rng.uniform(-1, 1, 3))]
    answers = []
    for k, x in trials:
        got, error = call(third_derivative, lambda t, k=k: np.exp(k * t), x)
        if error is not None:
            return Hint("error", x=x, error=describe(error))
        try:
            got = float(np.asarray(got))
        except (TypeError, ValueError):
            return Hint("not_number", kind=_kind(got))
        answers.append(got)
    if answers[0] == answers[1] == answers[2]:
        return Hint("constant")
    for (k, x), got in zip(trials, answers):
        ratio = got / math.exp(k * x)
        levels = [n for n in range(6) if math.isclose(ratio, k ** n, rel_tol=1e-6)]
        if levels == [3]:
            continue
        if levels and levels[0] in (0, 1, 2, 4):
            return Hint(f"level_{levels[0]}")
        return Hint("wrong", x=x, k=k, got=got)
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
