"""Lesson 12's exercise checks (lessons/lesson_checks/lesson12.py): every hint is reached by the
mistake it names, a right answer passes, and constants fail."""
import math
import pathlib
import sys

import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson12 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ['"shuffle"', "N // b"]


def test_keyword_right_answer_passes_and_leaves_the_random_stream_alone(capsys):
    state = fl.rng().bit_generator.state
    check.keyword("shuffle")
    check.keyword(" shuffle ")
    assert capsys.readouterr().out == "✓ Exercise 1 passed.\n" * 2
    assert fl.rng().bit_generator.state == state


KEYWORD = [
    ("not_string", ..., "got the value ..."),
    ("not_string", True, "as a string, in quotes"),
    ("with_value", "shuffle=True", "Only the name, please"),
    ("case", "Shuffle", "DataLoader has 'shuffle', not 'Shuffle'"),
    ("unknown", "shuffled", "DataLoader has no keyword 'shuffled'"),
    ("data", "data", "data is the first argument"),
    ("rng", "rng", "on its own it mixes nothing"),
    ("not_switch", "batchsize", "batchsize is not an on/off switch"),
    ("keeps_order", "partial", "With partial=True the observations still come out in their stored order"),
]


@pytest.mark.parametrize("key, answer, text", KEYWORD, ids=[f"{c[0]}-{c[1]!r}" for c in KEYWORD])
def test_keyword_hint(key, answer, text):
    fails(lambda: check.keyword(answer), f"12.1.{key}", text)


def test_batches_right_answer_passes(capsys):
    check.batches(lambda N, b: N // b)
    check.batches(lambda N, b: math.floor(N / b))
    check.batches(lambda N, b: float(N // b))
    assert capsys.readouterr().out == "✓ Exercise 2 passed.\n" * 3


BATCHES = [
    ("not_function", 56, "A fixed number is right for one data set only"),
    ("not_function", ..., "it is the value ..."),
    ("error", lambda N: N // 32, "Calling batches(1797, 32) failed with TypeError"),
    ("not_whole", lambda N, b: N / b, "which is not a whole number"),
    ("kept_last", lambda N, b: math.ceil(N / b), "the last, smaller batch is kept"),
    ("kept_last", lambda N, b: N // b + 1, "the last, smaller batch is kept"),
    ("constant", lambda N, b: 56, "gives 56 for both (1797, 32)"),
    ("wrong", lambda N, b: N // b - 1, "batches(1797, 32) gave 55"),
    ("wrong", lambda N, b: "56", "gave '56'"),
]


@pytest.mark.parametrize("key, answer, text", BATCHES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BATCHES)])
def test_batches_hint(key, answer, text):
    fails(lambda: check.batches(answer), f"12.2.{key}", text)


def test_every_hint_has_a_case():
    assert {k for k, *_ in KEYWORD} == set(check.EX1.hints)
    assert {k for k, *_ in BATCHES} == set(check.EX2.hints)


def test_hints_are_logged(hint_log):
    with pytest.raises(ExerciseNotPassed):
        check.keyword("partial")
    check.keyword("shuffle")
    lines = hint_log.read_text().splitlines()
    assert '"hint": "12.1.keeps_order"' in lines[0] and '"hint": "passed"' in lines[1]
