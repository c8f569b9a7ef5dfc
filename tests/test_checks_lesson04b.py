"""Lesson 4b's exercise checks (lessons/lesson_checks/lesson04b.py): every hint is reached by the
mistake it names, a right answer passes, and values copied from the lesson fail. The checks call
the student's functions on models and data of their own."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson04b as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["fl.setup(fl.Momentum(0.01, 0.9), model)", "fl.setup(fl.Adam(eta), model)",
           "fl.adjust_(opt_state, eta)"]


def totals(loss, model, xs, ys):
    return float(sum(loss(model, xi, yi) for xi, yi in zip(xs, ys)))


def lesson_problem():
    """The lesson's data, loss and starting model: what a student might copy numbers from."""
    fl.seed(0)
    x, y = fl.datasets.linear_regression(10)
    fl.seed(1)
    model = {"W": fl.rand(2, 5), "b": fl.rand(2)}
    return (lambda m, xi, yi: np.sum((yi - (m["W"] @ xi + m["b"])) ** 2)), model, x, y


# Exercise 1 --------------------------------------------------------------------------------------

def momentum(rule=lambda: fl.Momentum(0.01, 0.9), setup_every_epoch=False, drop_last=False):
    def train_momentum(loss, model, xs, ys, n_epochs):
        opt_state = fl.setup(rule(), model)
        out = []
        for _ in range(n_epochs):
            if setup_every_epoch:
                opt_state = fl.setup(rule(), model)
            for xi, yi in zip(xs, ys):
                g = fl.gradient(lambda m: loss(m, xi, yi), model)[0]
                fl.update_(opt_state, model, g)
            out.append(totals(loss, model, xs, ys))
        return out[:-1] if drop_last else out
    return train_momentum


momentum_right = momentum()


def momentum_with_train(loss, model, xs, ys, n_epochs):
    opt_state = fl.setup(fl.Momentum(0.01, 0.9), model)
    out = []
    for _ in range(n_epochs):
        fl.train_(loss, model, zip(xs, ys), opt_state)
        out.append(totals(loss, model, xs, ys))
    return out


MOMENTUM = [
    ("not_function", [0.5, 0.4], "but it is a list"),
    ("used_train", momentum_with_train, "train_momentum called fl.train_"),
    ("error", lambda loss, model, xs, ys: [], "failed with TypeError"),
    ("not_list", lambda *args: None, "but it returned a NoneType"),
    ("length", momentum(drop_last=True), "returned 7 losses"),
    ("setup_every_epoch", momentum(setup_every_epoch=True), "Call fl.setup once"),
    ("descent", momentum(rule=lambda: fl.Descent(0.01)), "Those are the numbers of Descent"),
    ("constant", lambda *args: [0.9] * 8, "the same losses for two different models"),
    ("wrong", momentum(rule=lambda: fl.Momentum(0.02, 0.9)), "are not those of the Julia code"),
]


@pytest.mark.parametrize("key, answer, text", MOMENTUM, ids=[c[0] for c in MOMENTUM])
def test_explicit_momentum_hint(key, answer, text):
    fails(lambda: check.explicit_momentum(answer), f"04b.1.{key}", text)


# Exercise 2 --------------------------------------------------------------------------------------

def halving(rule=fl.Adam, rate=lambda eta, k: eta / 2 ** k, setup_every_epoch=False,
            drop_last=False):
    """train_halving with the learning rate rate(eta, k) in epoch k (from 0)."""
    def train_halving(loss, model, xs, ys, eta, n_epochs):
        opt_state = fl.setup(rule(rate(eta, 0)), model)
        out = []
        for k in range(n_epochs):
            if k > 0:
                if setup_every_epoch:
                    opt_state = fl.setup(rule(rate(eta, k)), model)
                else:
                    fl.adjust_(opt_state, rate(eta, k))
            fl.train_(loss, model, zip(xs, ys), opt_state)
            out.append(totals(loss, model, xs, ys))
        return out[:-1] if drop_last else out
    return train_halving


def halving_as_in_the_lesson(loss, model, xs, ys, eta, n_epochs):
    """The solution's shape: train, record, then halve the current rate."""
    opt_state = fl.setup(fl.Adam(eta), model)
    losses = []
    for epoch in range(n_epochs):
        fl.train_(loss, model, zip(xs, ys), opt_state)
        losses.append(totals(loss, model, xs, ys))
        eta = eta / 2
        fl.adjust_(opt_state, eta)
    return losses


def halving_by_hand(loss, model, xs, ys, eta, n_epochs):
    """The explicit loop written out, and the rule's eta changed instead of fl.adjust_: the
    Leaves share the rule until something adjusts them, so this is right too."""
    rule = fl.Adam(eta)
    opt_state = fl.setup(rule, model)
    losses = []
    for epoch in range(n_epochs):
        for xi, yi in zip(xs, ys):
            g = fl.gradient(lambda m: loss(m, xi, yi), model)[0]
            fl.update_(opt_state, model, g)
        losses.append(totals(loss, model, xs, ys))
        rule.eta = rule.eta / 2
    return losses


HALVING = [
    ("not_function", [3.0, 1.2, 1.0], "but it is a list"),
    ("error", lambda loss, model, xs, ys, n_epochs: [], "failed with TypeError"),
    ("not_list", lambda *args: 0.9, "but it returned a float"),
    ("length", halving(drop_last=True), "returned 5 losses"),
    ("setup_every_epoch", halving(setup_every_epoch=True),
     "each new state starts Adam's running averages from zero again"),
    ("no_halving", halving(rate=lambda eta, k: eta), "The learning rate never changes"),
    ("halved_once", halving(rate=lambda eta, k: eta if k == 0 else eta / 2),
     "halve the current rate, not the first one"),
    ("halved_early", halving(rate=lambda eta, k: eta / 2 ** (k + 1)),
     "The first epoch already runs at eta/2"),
    ("descent", halving(rule=fl.Descent), "Those are the numbers of Descent"),
    ("constant", lambda *args: [1.0, 0.9, 0.8, 0.8, 0.8, 0.8],
     "the same losses for two different models"),
    ("wrong", halving(rate=lambda eta, k: eta / 3 ** k),
     "are not those of Adam with a halving learning rate"),
]


@pytest.mark.parametrize("key, answer, text", HALVING, ids=[c[0] for c in HALVING])
def test_halving_rate_hint(key, answer, text):
    fails(lambda: check.halving_rate(answer), f"04b.2.{key}", text)


def test_right_answers_pass(capsys):
    check.explicit_momentum(momentum_right)
    check.halving_rate(halving())
    check.halving_rate(halving_as_in_the_lesson)
    check.halving_rate(halving_by_hand)
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n" + "✓ Exercise 2 passed.\n" * 3)


def test_the_lessons_own_numbers_fail():
    loss, model, x, y = lesson_problem()
    copied = momentum_right(loss, model, x, y, 50)
    fails(lambda: check.explicit_momentum(copied), "04b.1.not_function", "but it is a list")
    fails(lambda: check.explicit_momentum(lambda *args: copied), "04b.1.constant",
          "the same losses for two different models")
    loss, model, x, y = lesson_problem()
    copied = halving()(loss, model, x, y, 0.05, 6)
    fails(lambda: check.halving_rate(copied), "04b.2.not_function", "but it is a list")
    fails(lambda: check.halving_rate(lambda *args: copied), "04b.2.constant",
          "the same losses for two different models")


def test_checks_leave_fluxlites_random_stream_alone():
    fl.seed(3)
    want = fl.rand(4)
    fl.seed(3)
    check.explicit_momentum(momentum_right)
    check.halving_rate(halving())
    assert np.array_equal(fl.rand(4), want)


@pytest.mark.parametrize("exercise, table", [(check.EX1, MOMENTUM), (check.EX2, HALVING)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
