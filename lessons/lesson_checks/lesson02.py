"""Checks for lesson 2 (gradients and autodiff). Each hint names one mistake;
tests/test_checks_lesson02.py feeds every one of them in."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, fresh_rng, progress as _progress
from .core import kind as _kind

LESSON = "02"


def _traced_math(error):
    """fluxlite's refusal of math.sin / math.exp on a traced number (a TracingError)."""
    return isinstance(error, fl.TracingError)


MATH_HINT = ("{name} failed with fluxlite's TracingError: a function of the math module "
             "(math.{fn}) turned a traced number into a plain float.\n"
             "Use NumPy's np.{fn}, which fluxlite can follow.")

EX1 = exercise(LESSON, 1, "A slope with fluxlite", hints={
    "h_not_function": "h should be a Python function of x, but it is {kind}.",
    "h_error": "Calling h({x:.3g}) failed with {error}.",
    "h_wrong": "h({x:.3g}) gives {got}, but x sin x is {want:.4g} there.",
    "dh_not_function": "dh should be a function that returns the slope of h at x, but it is "
                       "{kind}.\nA number is the slope at one point only; dh must work at every x.",
    "math_sin": MATH_HINT,
    "dh_error": "Calling dh({x:.3g}) failed with {error}.\n"
                "dh(x) should hand h and x to fluxlite, fl.gradient(h, x), and return entry [0].",
    "dh_tuple": "dh({x:.3g}) returned a tuple, {got!r}. fl.gradient returns one entry per "
                "argument; [0] takes the slope out of it.",
    "dh_value": "dh(x) returns h(x) itself, the height of the curve, not its slope. Ask "
                "fl.gradient(h, x) for the slope.",
    "dh_constant": "dh gives the same slope at x = {x1:.3g} and at x = {x2:.3g}: pass x on to "
                   "fl.gradient(h, x) instead of a fixed number.",
    "dh_wrong": "dh({x:.3g}) returned {got}, which is not the slope of x sin x there. Does dh "
                "call fl.gradient(h, x)?",
})


@EX1.check
def slope(h, dh):
    """Exercise 1: h(x) = x sin x, and dh(x), its slope from fl.gradient."""
    xs = [float(v) for v in fresh_rng(201).uniform(-4, 4, 3).round(3)]
    if not callable(h):
        return Hint("h_not_function", kind=_kind(h))
    for x in xs:
        got, error = call(h, x)
        if error is not None:
            return Hint("h_error", x=x, error=describe(error))
        if not close(got, x * np.sin(x)):
            return Hint("h_wrong", x=x, got=got, want=x * np.sin(x))
    if not callable(dh):
        return Hint("dh_not_function", kind=_kind(dh))
    answers = []
    for x in xs:
        got, error = call(dh, x)
        if error is not None:
            if _traced_math(error):
                return Hint("math_sin", name=f"dh({x:.3g})", fn="sin")
            return Hint("dh_error", x=x, error=describe(error))
        if isinstance(got, tuple):
            return Hint("dh_tuple", x=x, got=got)
        answers.append(got)
    if close(answers[0], answers[1]):
        return Hint("dh_constant", x1=xs[0], x2=xs[1])
    for x, got in zip(xs, answers):
        if close(got, np.sin(x) + x * np.cos(x)):
            continue
        if close(got, x * np.sin(x)):
            return Hint("dh_value")
        return Hint("dh_wrong", x=x, got=got)
    return None


EX2 = exercise(LESSON, 2, "Predict a broadcast gradient", hints={
    "shape_of_A": "shape_guess is {got}, the shape of A. A gradient has the shape of what you "
                  "differentiate with respect to: here c.",
    "shape_rows": "shape_guess is {got}. c has shape {c_shape}, and its gradient has the same "
                  "shape.",
    "shape_wrong": "shape_guess is {got!r}. A gradient has the shape of what you differentiate "
                   "with respect to: here c, of shape {c_shape}.",
    "grad_not_function": "grad_by_hand should be a function of A, but it is {kind}.\n"
                         "Numbers for one A are right for that A only; the check tries others.",
    "grad_error": "grad_by_hand(A) failed with {error} for an A of shape {shape}.",
    "grad_used_fl": "grad_by_hand called fl.gradient; compute it with a NumPy sum over A "
                    "instead (the point is to predict what fl.gradient does).",
    "grad_axis1": "grad_by_hand sums along axis 1. c lines up with A's last axis, so it is "
                  "stretched along axis 0, the rows: sum over axis 0.",
    "grad_no_sum": "grad_by_hand returns an array of A's shape. Sum away the axis along which c "
                   "was stretched.",
    "grad_total": "grad_by_hand returns one number, the sum of every entry of A. Each c[j] "
                  "only meets column j of A: sum over the rows only.",
    "grad_wrong": "grad_by_hand(A) returned {got} for an A of shape {shape}. Each c[j] "
                  "multiplies the whole column A[:, j]; what is the derivative of "
                  "A[0, j]·c[j] + A[1, j]·c[j] + … with respect to c[j]?",
})


@EX2.check
def broadcast(A, shape_guess, grad_by_hand):
    """Exercise 2: the gradient of loss(c) = np.sum(A * c) for c of shape (A.shape[1],)."""
    from .core import forbid
    c = np.ones(np.shape(A)[-1])
    want_shape = np.shape(fl.gradient(lambda c: np.sum(A * c), c)[0])
    try:
        got_shape = tuple(int(n) for n in shape_guess)
    except TypeError:
        got_shape = shape_guess
    if got_shape != want_shape:
        if got_shape == np.shape(A):
            return Hint("shape_of_A", got=got_shape)
        if got_shape == np.shape(A)[:1]:
            return Hint("shape_rows", got=got_shape, c_shape=want_shape)
        return Hint("shape_wrong", got=got_shape, c_shape=want_shape)
    if not callable(grad_by_hand):
        return Hint("grad_not_function", kind=_kind(grad_by_hand))
    rng = fresh_rng(202)
    for shape in [np.shape(A), (5, 3), (2, 6)]:
        A_trial = rng.integers(-5, 6, size=shape).astype(float)
        with forbid(fl, "gradient"):
            got, error = call(grad_by_hand, A_trial)
        if isinstance(error, forbid.Forbidden):
            return Hint("grad_used_fl")
        if error is not None:
            return Hint("grad_error", error=describe(error), shape=shape)
        want = fl.gradient(lambda c: np.sum(A_trial * c), np.ones(shape[1]))[0]
        if close(got, want):
            continue
        if close(got, A_trial.sum(axis=1)):
            return Hint("grad_axis1")
        if np.shape(got) == shape:
            return Hint("grad_no_sum")
        if close(got, A_trial.sum()):
            return Hint("grad_total")
        return Hint("grad_wrong", got=got, shape=shape)
    return None


EX3 = exercise(LESSON, 3, "Curvature of a bell", hints={
    "not_function": "bell_curvature should be a function of x, but it is {kind}.\n"
                    "A number is the curvature at one point only; the check tries several.",
    "math_exp": MATH_HINT,
    "error": "bell_curvature({x:.3g}) failed with {error}.",
    "tuple": "bell_curvature({x:.3g}) returned a tuple, {got!r}. fl.gradient returns one entry "
             "per argument; the d of section 5 takes [0] for you.",
    "bell_itself": "bell_curvature(x) returns exp(−x²) itself. Differentiate it twice: "
                   "d(d(bell)).",
    "first_derivative": "bell_curvature(x) returns the first derivative, −2x·exp(−x²). "
                        "Differentiate once more: d(d(bell)).",
    "third_derivative": "bell_curvature(x) returns the third derivative: one d too many.",
    "constant": "bell_curvature gives the same value at x = {x1:.3g} and at x = {x2:.3g}: pass "
                "x on instead of a fixed number.",
    "wrong": "bell_curvature({x:.3g}) returned {got}, which is not the second derivative of "
             "exp(−x²) there. Check bell(x) = np.exp(-x**2).",
})


@EX3.check
def curvature(bell_curvature):
    """Exercise 3: x -> the second derivative of exp(-x²) at x, with the d of section 5."""
    if not callable(bell_curvature):
        return Hint("not_function", kind=_kind(bell_curvature))
    xs = [float(v) for v in fresh_rng(203).uniform(-2, 2, 3).round(3)]
    answers = []
    for x in xs:
        got, error = call(bell_curvature, x)
        if error is not None:
            if _traced_math(error):
                return Hint("math_exp", name=f"bell_curvature({x:.3g})", fn="exp")
            return Hint("error", x=x, error=describe(error))
        if isinstance(got, tuple):
            return Hint("tuple", x=x, got=got)
        answers.append(got)
    if close(answers[0], answers[1]):
        return Hint("constant", x1=xs[0], x2=xs[1])
    for x, got in zip(xs, answers):
        e = np.exp(-x**2)
        if close(got, (4 * x**2 - 2) * e):
            continue
        if close(got, e):
            return Hint("bell_itself")
        if close(got, -2 * x * e):
            return Hint("first_derivative")
        if close(got, (12 * x - 8 * x**3) * e):
            return Hint("third_derivative")
        return Hint("wrong", x=x, got=got)
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
