"""Checks for lesson 3 (linear regression). Each hint names one mistake;
tests/test_checks_lesson03.py feeds every one of them in.

The checks receive the notebook's own ``predict`` and parameters and compare the student's
function with fluxlite's answer on samples and settings of their own."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, close, describe, exercise, forbid, fresh_rng, progress as _progress
from .core import kind as _kind

LESSON = "03"


def _samples(salt, n=3):
    rng = fresh_rng(salt)
    return [(rng.random(5), rng.random(2) * 3) for _ in range(n)]


def _grad_b(predict, b, xi, yi):
    """∂/∂b of the lesson's per-sample loss, from fluxlite."""
    return fl.gradient(lambda: np.sum((yi - predict(xi)) ** 2), fl.params(b))[b]


EX1 = exercise(LESSON, 1, "The bias gradient by hand", hints={
    "not_function": "bias_grad should be a function of one sample (xi, yi), but it is {kind}.\n"
                    "Numbers for x[0], y[0] are right for that sample only; the check tries others.",
    "used_fl": "bias_grad called fl.gradient. Work the derivative out by hand and write it with "
               "NumPy; predict(xi) is allowed.",
    "error": "bias_grad(xi, yi) failed with {error}.",
    "shape": "bias_grad returns shape {got}; a gradient has the shape of what it is taken with "
             "respect to, here b's shape {want}.",
    "sign": "Right size, wrong sign. Raising b_k raises ŷ_k, which makes (y_k − ŷ_k) smaller: "
            "the chain rule brings in a factor −1.",
    "half": "Almost: the square contributes a factor 2 (the derivative of u² is 2u).",
    "residual_only": "bias_grad returns y − ŷ. Differentiate (y_k − ŷ_k)² with the chain rule: "
                     "2(y_k − ŷ_k) times ∂(y_k − ŷ_k)/∂b_k.",
    "constant": "bias_grad gives the same answer for two different samples: compute it from the "
                "xi and yi it is given (predict(xi), yi).",
    "wrong": "bias_grad is not ∂ℓ/∂b. Use the chain rule on (y_k − ŷ_k)²: only the k-th term "
             "depends on b_k, and ∂ŷ_k/∂b_k = 1.",
})


@EX1.check
def bias_gradient(bias_grad, predict, b):
    """Exercise 1: (xi, yi) -> ∂ℓ/∂b for ℓ = Σ (yi − predict(xi))², without fl.gradient."""
    if not callable(bias_grad):
        return Hint("not_function", kind=_kind(bias_grad))
    answers = []
    for xi, yi in _samples(301):
        with forbid(fl, "gradient"):
            got, error = call(bias_grad, xi, yi)
        if isinstance(error, forbid.Forbidden):
            return Hint("used_fl")
        if error is not None:
            return Hint("error", error=describe(error))
        answers.append(got)
    if close(answers[0], answers[1]):
        return Hint("constant")
    for (xi, yi), got in zip(_samples(301), answers):
        want = _grad_b(predict, b, xi, yi)
        if np.shape(got) != np.shape(want):
            return Hint("shape", got=np.shape(got), want=np.shape(want))
        if close(got, want):
            continue
        if close(got, -want):
            return Hint("sign")
        if close(got, want / 2):                  # ŷ − y: the factor 2 left out
            return Hint("half")
        if close(got, -want / 2):                 # y − ŷ: neither the 2 nor the −1
            return Hint("residual_only")
        return Hint("wrong")
    return None


EX2 = exercise(LESSON, 2, "Predict the next step", hints={
    "not_function": "next_b should be a function of a sample and a learning rate, "
                    "next_b(xi, yi, eta), but it is {kind}.",
    "used_update": "next_b called fl.update_. Apply Descent's rule p − η·g yourself.",
    "error": "next_b(xi, yi, eta) failed with {error}.",
    "changed_b": "next_b changed b itself (b -= … or fl.update_ changes the array in place). "
                 "Return a new array: b - eta * g.",
    "stale_gradient": "next_b takes the same step for two different samples: it uses an old "
                      "gradient. Take a fresh one, for the sample it is given, at the current "
                      "W and b.",
    "eta_ignored": "next_b ignores its learning rate: with eta = {eta:g} it steps as if eta were "
                   "0.05.",
    "plus": "Descent steps *against* the gradient: p − η·g, not p + η·g.",
    "no_eta": "The step is scaled by the learning rate: p − η·g.",
    "wrong": "next_b(xi, yi, {eta:g}) is not the value Descent({eta:g}) gives b. Take "
             "g = fl.gradient(lambda: loss(xi, yi), fl.params(W, b))[b], then p − η·g.",
})


@EX2.check
def descent_step(next_b, predict, b):
    """Exercise 2: next_b(xi, yi, eta), the value of b after one Descent(eta) step."""
    if not callable(next_b):
        return Hint("not_function", kind=_kind(next_b))
    trials = [(xi, yi, eta) for (xi, yi), eta in zip(_samples(302), (0.05, 0.02, 0.1))]
    answers = []
    for xi, yi, eta in trials:
        before = np.array(b)
        with forbid(fl, "update_"):
            got, error = call(next_b, xi, yi, eta)
        changed = not np.array_equal(before, b)
        b[...] = before                           # put b back for the rest of the lesson
        if isinstance(error, forbid.Forbidden):
            return Hint("used_update")
        if changed:
            return Hint("changed_b")
        if error is not None:
            return Hint("error", error=describe(error))
        answers.append(got)
    try:                                          # the step per unit of eta, sample by sample
        steps = [(np.asarray(b) - np.asarray(got, dtype=float)) / eta
                 for (_, _, eta), got in zip(trials, answers)]
    except (TypeError, ValueError):
        steps = [None, None]
    if steps[0] is not None and close(steps[0], steps[1]) and not close(steps[0], 0):
        return Hint("stale_gradient")
    for (xi, yi, eta), got in zip(trials, answers):
        g = _grad_b(predict, b, xi, yi)
        want = np.array(b)
        fl.update_(fl.Descent(eta), want, g)
        if close(got, want):
            continue
        if close(got, b - 0.05 * g):
            return Hint("eta_ignored", eta=eta)
        if close(got, b + eta * g):
            return Hint("plus")
        if close(got, b - g):
            return Hint("no_eta")
        return Hint("wrong", eta=eta)
    return None


EX3 = exercise(LESSON, 3, "ADAM's first step", hints={
    "not_function": "adam_first_step should be a function adam_first_step(p, g, eta), but it "
                    "is {kind}.",
    "used_update": "adam_first_step called fl.update_. Work out ADAM's rule at t = 1 and write "
                   "it with NumPy.",
    "error": "adam_first_step(p, g, eta) failed with {error}.",
    "changed_p": "adam_first_step changed p in place. Return a new array instead.",
    "descent": "That is Descent's step, p − η·g. At t = 1, m/(1−β₁) = g and v/(1−β₂) = g². "
               "What is g / √(g²)?",
    "plus": "Right size, wrong direction: the step is subtracted.",
    "no_eta": "Each entry moves by 1: the step is scaled by the learning rate η.",
    "eta_ignored": "adam_first_step ignores eta: with eta = {eta:g} it steps as if eta were "
                   "0.05.",
    "wrong": "adam_first_step(p, g, {eta:g}) is not where fl.ADAM({eta:g}) moves p in its first "
             "step. At t = 1, m = (1−β₁) g and v = (1−β₂) g², so the bias corrections give "
             "back g and g². Put those into the rule.",
})


@EX3.check
def adam_step(adam_first_step):
    """Exercise 3: adam_first_step(p, g, eta), p after one fl.ADAM(eta) step from zero state."""
    if not callable(adam_first_step):
        return Hint("not_function", kind=_kind(adam_first_step))
    rng = fresh_rng(303)
    for eta in (0.05, 0.01, 0.2):
        # gradients of very different sizes, none so small that ADAM's ε shows
        p = rng.normal(size=3)
        g = rng.choice([-1, 1], 3) * rng.uniform(0.5, 2, 3) * np.array([0.1, 1.0, 30.0])
        p_given = p.copy()
        with forbid(fl, "update_"):
            got, error = call(adam_first_step, p_given, g, eta)
        if isinstance(error, forbid.Forbidden):
            return Hint("used_update")
        if not np.array_equal(p_given, p):
            return Hint("changed_p")
        if error is not None:
            return Hint("error", error=describe(error))
        want = p.copy()
        fl.update_(fl.ADAM(eta), want, g)
        if close(got, want, rtol=0, atol=1e-6):
            continue
        if close(got, p - eta * g):
            return Hint("descent")
        if close(got, p + eta * np.sign(g), atol=1e-6):
            return Hint("plus")
        if close(got, p - np.sign(g), atol=1e-6):
            return Hint("no_eta")
        if close(got, p - 0.05 * np.sign(g), atol=1e-6):
            return Hint("eta_ignored", eta=eta)
        return Hint("wrong", eta=eta)
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
