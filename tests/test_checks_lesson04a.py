"""Lesson 4a's exercise checks (lessons/lesson_checks/lesson04a.py): every hint is reached by the
mistake it names, a right answer passes, and values copied from the lesson fail. The checks call
the student's functions on problems of their own."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson04a as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["data = list(zip(xs, ys))", "if total_loss() < target:"]


def totals(loss, xs, ys):
    return float(sum(loss(xi, yi) for xi, yi in zip(xs, ys)))


# Exercise 1 --------------------------------------------------------------------------------------

def epochs_right(loss, ps, xs, ys, optimizer, n_epochs):
    data = list(zip(xs, ys))
    out = []
    for _ in range(n_epochs):
        fl.train_(loss, ps, data, optimizer)
        out.append(totals(loss, xs, ys))
    return out


def epochs_fresh_zip(loss, ps, xs, ys, optimizer, n_epochs):
    out = []
    for _ in range(n_epochs):
        fl.train_(loss, ps, zip(xs, ys), optimizer)
        out.append(totals(loss, xs, ys))
    return out


def epochs_stuck(loss, ps, xs, ys, optimizer, n_epochs):
    data = zip(xs, ys)                                  # the lesson's broken cell
    out = []
    for _ in range(n_epochs):
        fl.train_(loss, ps, data, optimizer)
        out.append(totals(loss, xs, ys))
    return out


def epochs_one_short(loss, ps, xs, ys, optimizer, n_epochs):
    return epochs_right(loss, ps, xs, ys, optimizer, n_epochs)[:-1]


def epochs_own_rule(loss, ps, xs, ys, optimizer, n_epochs):
    return epochs_right(loss, ps, xs, ys, fl.Descent(0.05), n_epochs)


def lesson_losses():
    """losses_descent as the lesson makes it: the value a student might copy."""
    fl.seed(0)
    x, y = fl.datasets.linear_regression(10)
    fl.seed(1)
    W, b = fl.rand(2, 5), fl.rand(2)
    loss = lambda xi, yi: np.sum((yi - (W @ xi + b)) ** 2)  # noqa: E731
    return epochs_right(loss, fl.params(W, b), x, y, fl.Descent(0.05), 20)


def test_right_answers_pass(capsys):
    check.epochs_loop(epochs_right)
    check.epochs_loop(epochs_fresh_zip)
    check.update_count(count_right)
    assert capsys.readouterr().out == ("✓ Exercise 1 passed.\n✓ Exercise 1 passed.\n"
                                       "✓ Exercise 2 passed.\n")


def test_the_lessons_own_numbers_fail():
    copied = lesson_losses()
    fails(lambda: check.epochs_loop(copied), "04a.1.not_function", "but it is a list")
    fails(lambda: check.epochs_loop(lambda *args: copied), "04a.1.constant",
          "the same losses for two different problems")
    fails(lambda: check.update_count(lambda *args: 129), "04a.2.constant", "the same count")


EPOCHS = [
    ("not_function", [3.3815, 2.1], "but it is a list"),
    ("error", lambda loss, ps, xs, ys, optimizer: [], "failed with TypeError"),
    ("not_list", lambda *args: 0.97, "but it returned a float"),
    ("length", epochs_one_short, "returned 6 losses"),
    ("stuck", epochs_stuck, "the data is used up after one pass"),
    ("constant", lambda *args: [1.0, 0.5], "the same losses for two different problems"),
    ("wrong", epochs_own_rule, "are not what 5 epochs of fl.train_"),
]


@pytest.mark.parametrize("key, answer, text", EPOCHS, ids=[c[0] for c in EPOCHS])
def test_epochs_loop_hint(key, answer, text):
    fails(lambda: check.epochs_loop(answer), f"04a.1.{key}", text)


# Exercise 2 --------------------------------------------------------------------------------------

def counter(rule_of=lambda rule: rule, stop=True, extra=0):
    def updates_to_reach(loss, ps, data, rule, total_loss, target):
        count = 0

        def cb():
            nonlocal count
            count += 1
            if stop and total_loss() < target:
                fl.stop()
        fl.train_(loss, ps, data, rule_of(rule), cb=cb)
        return count + extra
    return updates_to_reach


count_right = counter()


def count_before_stop(loss, ps, data, rule, total_loss, target):
    count = 0

    def cb():
        nonlocal count
        if total_loss() < target:
            fl.stop()
        count += 1                                      # the stopping call is not counted
    fl.train_(loss, ps, data, rule, cb=cb)
    return count


def count_two_rules(loss, ps, data, rule, total_loss, target):
    """Descent's count for every Descent rule: a learning rate left out."""
    own = fl.Descent(0.05) if isinstance(rule, fl.Descent) else rule
    return counter()(loss, ps, data, own, total_loss, target)


COUNT = [
    ("not_function", 129, "but it is a int"),
    ("error", lambda loss, ps, data, rule: 0, "failed with TypeError"),
    ("not_int", lambda *args: 19.0, "but it returned a float"),
    ("no_stop", counter(stop=False), "the length of data"),
    ("rule_ignored", counter(rule_of=lambda rule: fl.ADAM(0.05)), "With Descent(0.05)"),
    ("off_by_one", count_before_stop, "Off by one"),
    ("constant", lambda *args: 5, "the same count for two runs"),
    ("wrong", counter(extra=5), "is not the number of updates"),
]


def test_rule_ignored_names_the_rule_that_was_dropped():
    fails(lambda: check.update_count(count_two_rules), "04a.2.rule_ignored", "With Descent(0.02)")


@pytest.mark.parametrize("key, answer, text", COUNT, ids=[c[0] for c in COUNT])
def test_update_count_hint(key, answer, text):
    fails(lambda: check.update_count(answer), f"04a.2.{key}", text)


def test_checks_leave_fluxlites_random_stream_alone():
    fl.seed(3)
    want = fl.rand(4)
    fl.seed(3)
    check.epochs_loop(epochs_right)
    check.update_count(count_right)
    assert np.array_equal(fl.rand(4), want)


@pytest.mark.parametrize("exercise, table", [(check.EX1, EPOCHS), (check.EX2, COUNT)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
