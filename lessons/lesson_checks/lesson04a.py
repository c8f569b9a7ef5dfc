"""Checks for lesson 4a (`train_`, callbacks, `stop`). Each hint names one mistake;
tests/test_checks_lesson04a.py feeds every one of them in.

Both exercises ask for a function that gets everything it works on as arguments (the loss, the
parameters, the data, the rule). The checks call it on small regression problems of their own,
with their own loss functions, and compare it with fluxlite's answer on the same problem. So a
list or a number copied from the lesson cannot pass."""
import numpy as np

import fluxlite as fl

from .core import (Hint, RegressionData, as_floats, call, close, describe,
                   exercise, progress as _progress)
from .core import kind as _kind

LESSON = "04a"


class _Problem(RegressionData):
    """A small linear regression of the check's own: data, a start (W, b) and its losses.
    ``start()`` gives fresh copies of the start every time."""

    def start(self):
        """Implicit style: fresh arrays W, b, a loss(x, y) and total_loss() that read them."""
        W, b = fl.param(self.W0.copy()), fl.param(self.b0.copy())

        def loss(x, y):
            return np.sum((y - (W @ x + b)) ** 2)

        def total_loss():
            return float(sum(loss(xi, yi) for xi, yi in zip(self.xs, self.ys)))
        return W, b, loss, total_loss


# Exercise 1 ------------------------------------------------------------------------------------

EX1 = exercise(LESSON, 1, "A loop that stops learning", hints={
    "not_function": "train_epochs should be a function train_epochs(loss, ps, xs, ys, optimizer, "
                    "n_epochs), but it is {kind}. A list of losses fits one run only; the check "
                    "trains on problems of its own.",
    "error": "train_epochs(loss, ps, xs, ys, optimizer, n_epochs) failed with {error}.",
    "not_list": "train_epochs should return a list of numbers, one total loss per epoch, but it "
                "returned {kind}.",
    "length": "train_epochs(…, n_epochs={n}) returned {got} losses; keep one total loss per "
              "epoch.",
    "stuck": "The loss stops changing after the first epoch: the data is used up after one pass. "
             "A zip is an iterator, so make a fresh zip(xs, ys) inside the loop, or build a list "
             "once: list(zip(xs, ys)).",
    "constant": "train_epochs gives the same losses for two different problems: train on the "
                "xs, ys and ps it is given, and compute each total loss with its loss.",
    "wrong": "train_epochs's losses are not what {n} epochs of fl.train_(loss, ps, …, optimizer) "
             "give. In each epoch, train once on every (xi, yi) in order, then append the sum of "
             "loss(xi, yi) over all the samples.",
})


def _epochs_reference(problem, rule, n):
    W, b, loss, total = problem.start()
    data, out = list(zip(problem.xs, problem.ys)), []
    for _ in range(n):
        fl.train_(loss, fl.params(W, b), data, rule)
        out.append(total())
    return out


@EX1.check
def epochs_loop(train_epochs):
    """Exercise 1: train_epochs(loss, ps, xs, ys, optimizer, n_epochs) -> total loss per epoch."""
    if not callable(train_epochs):
        return Hint("not_function", kind=_kind(train_epochs))
    trials = [(_Problem(401), 0.05, 7), (_Problem(402), 0.02, 5)]
    answers = []
    for problem, eta, n in trials:
        W, b, loss, _ = problem.start()
        got, error = call(train_epochs, loss, fl.params(W, b), list(problem.xs),
                          list(problem.ys), fl.Descent(eta), n)
        if error is not None:
            return Hint("error", error=describe(error))
        floats = as_floats(got)
        if floats is None:
            return Hint("not_list", kind=_kind(got))
        answers.append(floats)
    if answers[0] == answers[1]:
        return Hint("constant")
    for (problem, eta, n), got in zip(trials, answers):
        if len(got) != n:
            return Hint("length", n=n, got=len(got))
        want = _epochs_reference(problem, fl.Descent(eta), n)
        if close(got, want):
            continue
        if n > 1 and close(got[1:], [got[0]] * (n - 1)) and close(got[0], want[0]):
            return Hint("stuck")
        return Hint("wrong", n=n)
    return None


# Exercise 2 ------------------------------------------------------------------------------------

EX2 = exercise(LESSON, 2, "Count the updates to a target", hints={
    "not_function": "updates_to_reach should be a function updates_to_reach(loss, ps, data, "
                    "rule, total_loss, target), but it is {kind}. A count fits one run only; "
                    "the check tries rules and problems of its own.",
    "error": "updates_to_reach(loss, ps, data, rule, total_loss, target) failed with {error}.",
    "not_int": "updates_to_reach should return a whole number of updates, but it returned "
               "{kind}.",
    "no_stop": "updates_to_reach returned {got}, the length of data: training ran to the end. "
               "Call fl.stop() in the callback as soon as total_loss() < target.",
    "rule_ignored": "With {rule} the count is the one another rule gives: pass the rule you "
                    "are given to fl.train_.",
    "off_by_one": "Off by one ({got}). The callback runs once after each update: count every "
                  "call, the one that stops included, and nothing else.",
    "constant": "updates_to_reach gives the same count for two runs that need different counts: "
                "count the updates of the run it makes.",
    "wrong": "updates_to_reach's count with {rule} is not the number of updates fl.train_ makes "
             "before total_loss() drops below target. Count in a callback and stop with "
             "fl.stop().",
})


def _count_reference(problem, rule, data_len_epochs, target):
    W, b, loss, total = problem.start()
    data = list(zip(problem.xs, problem.ys)) * data_len_epochs
    count = 0

    def cb():
        nonlocal count
        count += 1
        if total() < target:
            fl.stop()
    fl.train_(loss, fl.params(W, b), data, rule, cb=cb)
    return count


def _count_trials():
    problem = _Problem(403)
    _, _, _, total = problem.start()
    target = 0.08 * total()
    return problem, target, 60, [("Descent(0.05)", lambda: fl.Descent(0.05)),
                                 ("ADAM(0.05)", lambda: fl.ADAM(0.05)),
                                 ("Descent(0.02)", lambda: fl.Descent(0.02))]


@EX2.check
def update_count(updates_to_reach):
    """Exercise 2: updates_to_reach(loss, ps, data, rule, total_loss, target) -> the number of
    updates fl.train_ makes until total_loss() < target (stopping with fl.stop())."""
    if not callable(updates_to_reach):
        return Hint("not_function", kind=_kind(updates_to_reach))
    problem, target, repeats, rules = _count_trials()
    answers = []
    for name, make in rules:
        W, b, loss, total = problem.start()
        data = list(zip(problem.xs, problem.ys)) * repeats
        got, error = call(updates_to_reach, loss, fl.params(W, b), data, make(), total, target)
        if error is not None:
            return Hint("error", error=describe(error))
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            return Hint("not_int", kind=_kind(got))
        answers.append(int(got))
    wants = [_count_reference(problem, make(), repeats, target) for _, make in rules]
    for (name, _), got, want in zip(rules, answers, wants):
        if got == want:
            continue
        if got == len(problem.xs) * repeats:
            return Hint("no_stop", got=got)
        if abs(got - want) == 1:
            return Hint("off_by_one", got=got)
        if got in wants:
            return Hint("rule_ignored", rule=name)
        if len(set(answers)) == 1:
            return Hint("constant")
        return Hint("wrong", rule=name)
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
