"""Checks for lesson 4b (the explicit style and optimiser state). Each hint names one mistake;
tests/test_checks_lesson04b.py feeds every one of them in.

Both exercises ask for a function train_…(loss, model, xs, ys, …) that trains the model it is
given in place and returns the total loss after each epoch. The checks call it on small
regression problems of their own, with models and a loss of their own, and compare it with what
fluxlite's explicit style gives on the same problem. So a list copied from the lesson cannot
pass."""
import numpy as np

import fluxlite as fl

from .core import (Hint, RegressionData, as_floats, call, close, describe,
                   exercise, forbid, progress as _progress)
from .core import kind as _kind

LESSON = "04b"


class _Problem(RegressionData):
    """A small linear regression of the check's own: data, and a start for the model.
    ``model()`` gives a fresh copy of the start every time."""

    def model(self):
        return {"W": fl.param(self.W0.copy()), "b": fl.param(self.b0.copy())}

    @staticmethod
    def loss(m, x, y):
        return np.sum((y - (m["W"] @ x + m["b"])) ** 2)

    def total(self, m):
        return float(sum(self.loss(m, xi, yi) for xi, yi in zip(self.xs, self.ys)))

    def curve(self, state_of_epoch, n):
        """Train a fresh model for n epochs, one explicit step per sample; ``state_of_epoch(m,
        epoch, state)`` gives the optimiser state to use in each epoch. The total loss after
        each epoch."""
        m, state, out = self.model(), None, []
        for epoch in range(n):
            state = state_of_epoch(m, epoch, state)
            for xi, yi in zip(self.xs, self.ys):
                g = fl.gradient(lambda mm: self.loss(mm, xi, yi), m)[0]
                fl.update_(state, m, g)
            out.append(self.total(m))
        return out


def _losses(function, problem, *args, forbidden=None):
    """Call the student's function on a fresh model of `problem`: (losses, None), or
    (None, Hint) when it failed or gave something that is not a list of numbers."""
    if forbidden is not None:
        with forbid(fl, forbidden):
            got, error = call(function, problem.loss, problem.model(), list(problem.xs),
                              list(problem.ys), *args)
        if isinstance(error, forbid.Forbidden):
            return None, Hint("used_train")
    else:
        got, error = call(function, problem.loss, problem.model(), list(problem.xs),
                          list(problem.ys), *args)
    if error is not None:
        return None, Hint("error", error=describe(error))
    floats = as_floats(got)
    if floats is None:
        return None, Hint("not_list", kind=_kind(got))
    return floats, None


# Exercise 1 ------------------------------------------------------------------------------------

EX1 = exercise(LESSON, 1, "Translate to the explicit style", hints={
    "not_function": "train_momentum should be a function train_momentum(loss, model, xs, ys, "
                    "n_epochs), but it is {kind}. A list of losses fits one run only; the check "
                    "trains models of its own.",
    "used_train": "train_momentum called fl.train_. Write the loop yourself: fl.gradient for "
                  "each sample, then fl.update_.",
    "error": "train_momentum(loss, model, xs, ys, n_epochs) failed with {error}.",
    "not_list": "train_momentum should return a list of numbers, one total loss per epoch, but "
                "it returned {kind}.",
    "length": "train_momentum(…, n_epochs={n}) returned {got} losses; keep one total loss per "
              "epoch.",
    "setup_every_epoch": "Call fl.setup once, before the loop. A new state every epoch forgets "
                         "the velocity that Momentum has built up.",
    "descent": "Those are the numbers of Descent with the same learning rate: the rule in the "
               "Julia code is Momentum(0.01, 0.9).",
    "constant": "train_momentum gives the same losses for two different models: train the model "
                "it is given on its xs and ys.",
    "wrong": "train_momentum's losses are not those of the Julia code. Set up the optimiser "
             "state from the model once, then for every (xi, yi) take the gradient of "
             "loss(m, xi, yi) with respect to the model and update the model with it; after "
             "each epoch append the sum of loss(model, xi, yi) over the samples.",
})


def _once(rule):
    return lambda m, epoch, state: state if state is not None else fl.setup(rule(), m)


@EX1.check
def explicit_momentum(train_momentum):
    """Exercise 1: train_momentum(loss, model, xs, ys, n_epochs) -> total loss per epoch, with
    fl.Momentum(0.01, 0.9), fl.gradient and fl.update_ (not fl.train_)."""
    if not callable(train_momentum):
        return Hint("not_function", kind=_kind(train_momentum))
    trials = [(_Problem(404), 8), (_Problem(405), 6)]
    answers = []
    for problem, n in trials:
        got, hint = _losses(train_momentum, problem, n, forbidden="train_")
        if hint is not None:
            return hint
        answers.append(got)
    if answers[0] == answers[1]:
        return Hint("constant")
    for (problem, n), got in zip(trials, answers):
        if len(got) != n:
            return Hint("length", n=n, got=len(got))
        if close(got, problem.curve(_once(lambda: fl.Momentum(0.01, 0.9)), n)):
            continue
        every = problem.curve(lambda m, epoch, state: fl.setup(fl.Momentum(0.01, 0.9), m), n)
        if close(got, every):
            return Hint("setup_every_epoch")
        if close(got, problem.curve(_once(lambda: fl.Descent(0.01)), n)):
            return Hint("descent")
        return Hint("wrong")
    return None


# Exercise 2 ------------------------------------------------------------------------------------

EX2 = exercise(LESSON, 2, "Lower the learning rate, keep the memory", hints={
    "not_function": "train_halving should be a function train_halving(loss, model, xs, ys, eta, "
                    "n_epochs), but it is {kind}. A list of losses fits one run only; the check "
                    "trains models of its own.",
    "error": "train_halving(loss, model, xs, ys, eta, n_epochs) failed with {error}.",
    "not_list": "train_halving should return a list of numbers, one total loss per epoch, but "
                "it returned {kind}.",
    "length": "train_halving(…, n_epochs={n}) returned {got} losses; keep one total loss per "
              "epoch.",
    "setup_every_epoch": "Those are the losses of a fresh fl.setup in every epoch: each new state "
                         "starts Adam's running averages from zero again. Set up the state "
                         "once, and change the learning rate of the state you hold with "
                         "fl.adjust_.",
    "no_halving": "The learning rate never changes: those are the losses of Adam(eta) in every "
                  "epoch. After each epoch, give the state half the learning rate it had.",
    "halved_once": "The learning rate is halved once and then stays at eta/2. After k epochs "
                   "it should be eta / 2**k: halve the current rate, not the first one.",
    "halved_early": "The first epoch already runs at eta/2: train first, then halve. Epoch 1 "
                    "uses eta itself.",
    "descent": "Those are the numbers of Descent: the rule here is fl.Adam(eta).",
    "constant": "train_halving gives the same losses for two different models: train the model "
                "it is given on its xs and ys.",
    "wrong": "train_halving's losses are not those of Adam with a halving learning rate. Set up "
             "fl.Adam(eta) for the model once; in each epoch train once on every (xi, yi) in "
             "order, append the sum of loss(model, xi, yi) over the samples, then halve the "
             "learning rate with fl.adjust_.",
})


def _halving(rule, eta, rate_of_epoch, setup_every_epoch=False):
    """A state_of_epoch for _Problem.curve: `rule(eta)` with the learning rate
    rate_of_epoch(epoch) set with fl.adjust_ (a fresh fl.setup per epoch if asked)."""
    def state_of_epoch(m, epoch, state):
        rate = rate_of_epoch(epoch)
        if state is None or setup_every_epoch:
            return fl.setup(rule(rate), m)
        fl.adjust_(state, rate)
        return state
    return state_of_epoch


@EX2.check
def halving_rate(train_halving):
    """Exercise 2: train_halving(loss, model, xs, ys, eta, n_epochs) -> total loss per epoch of
    fl.Adam(eta) set up once, its learning rate halved after every epoch with fl.adjust_."""
    if not callable(train_halving):
        return Hint("not_function", kind=_kind(train_halving))
    trials = [(_Problem(406), 0.05, 6), (_Problem(407), 0.1, 5)]
    answers = []
    for problem, eta, n in trials:
        got, hint = _losses(train_halving, problem, eta, n)
        if hint is not None:
            return hint
        answers.append(got)
    if answers[0] == answers[1]:
        return Hint("constant")
    for (problem, eta, n), got in zip(trials, answers):
        if len(got) != n:
            return Hint("length", n=n, got=len(got))
        halved = lambda k: eta / 2 ** k  # noqa: E731
        if close(got, problem.curve(_halving(fl.Adam, eta, halved), n)):
            continue
        mistakes = [
            ("setup_every_epoch", _halving(fl.Adam, eta, halved, setup_every_epoch=True)),
            ("no_halving", _halving(fl.Adam, eta, lambda k: eta)),
            ("halved_once", _halving(fl.Adam, eta, lambda k: eta if k == 0 else eta / 2)),
            ("halved_early", _halving(fl.Adam, eta, lambda k: eta / 2 ** (k + 1))),
            ("descent", _halving(fl.Descent, eta, halved)),
        ]
        for key, state_of_epoch in mistakes:
            if close(got, problem.curve(state_of_epoch, n)):
                return Hint(key)
        return Hint("wrong")
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
