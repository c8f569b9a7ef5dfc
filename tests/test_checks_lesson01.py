"""Lesson 1's exercise checks (lessons/lesson_checks/lesson01.py): every hint is reached by the
mistake it names, a right answer passes, and constants or copied values fail."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson01 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["x**2 * y + 4*y", "fl.gradient(g, x, y)", "fl.Dense(3, 2, fl.relu)", "1.7344",
           "12.0, 13.0", "fl.ones(3, 4)"]


def g(x, y):
    return x**2 * y + 4 * y


def dg(x, y):
    return fl.gradient(g, x, y)


def test_translation_right_answer_passes(capsys):
    check.translation(g, dg)
    assert capsys.readouterr().out == "✓ Exercise 1 passed.\n"
    check.translation(lambda x, y: y * (x * x + 4), lambda x, y: fl.gradient(g, x, y))


TRANSLATION = [
    ("g_not_function", 26.0, dg, "g should be a Python function of x and y"),
    ("caret", lambda x, y: x ^ 2 * y + 4 * y, dg,
     "Powers are written x**2 in Python: x^2 means something else"),
    ("g_error", lambda x: x**2, dg, "g takes two numbers, x and y, and returns one number."),
    ("g_swapped", lambda x, y: y**2 * x + 4 * x, dg,
     "g computes the right formula with x and y swapped"),
    ("g_times_two", lambda x, y: x * 2 * y + 4 * y, dg, "x**2 is x squared; x*2 is twice x."),
    ("g_wrong", lambda x, y: x**2 * y + 4, dg, "Check that every product has its * sign"),
    # the constant of the issue: right at (3, 2) only, so it is refused as a non-function
    ("dg_not_function", g, (12.0, 13.0), "A fixed answer is right at one point only"),
    ("dg_error", g, lambda x, y: fl.gradient(g, x),
     "dg(x, y) should hand g and both numbers to fluxlite: fl.gradient(g, x, y)."),
    ("dg_constant", g, lambda x, y: fl.gradient(g, 3, 2),
     "pass x and y on to fl.gradient(g, x, y) instead of fixed numbers"),
    ("dg_not_pair", g, lambda x, y: fl.gradient(g, x, y)[0], "return the whole tuple"),
    ("dg_swapped", g, lambda x, y: fl.gradient(g, x, y)[::-1],
     "dg returns the two entries in the wrong order"),
    ("dg_wrong", g, lambda x, y: (2 * x * y, x**2), "which is not the gradient of g there"),
]


@pytest.mark.parametrize("key, g_, dg_, text", TRANSLATION, ids=[c[0] for c in TRANSLATION])
def test_translation_hint(key, g_, dg_, text):
    fails(lambda: check.translation(g_, dg_), f"01.1.{key}", text)


def test_translation_refuses_the_copied_gradient():
    # the tuple printed by fl.gradient(g, 3, 2), copied into dg
    fails(lambda: check.translation(g, fl.gradient(g, 3, 2)), "01.1.dg_not_function",
          "but it is a tuple")


def seeded_layer(seed=1, n_in=3, n_out=2, σ=fl.relu):
    fl.seed(seed)
    return fl.Dense(n_in, n_out, σ)


def forward(layer, x):
    return fl.relu(layer.weight @ x + layer.bias)


X_IN = np.array([2.0, 1.0, -1.0])


def test_dense_right_answer_passes(capsys):
    check.dense(seeded_layer(), X_IN, forward)
    assert capsys.readouterr().out == "✓ Exercise 2 passed.\n"
    check.dense(seeded_layer(), X_IN, lambda layer, x: layer(x))


def test_dense_check_leaves_the_random_stream_alone():
    layer = seeded_layer()
    expected = fl.rand(4)
    layer = seeded_layer()
    check.dense(layer, X_IN, forward)
    assert np.array_equal(fl.rand(4), expected)


DENSE = [
    ("layer_not_dense", lambda: ("Dense(3 => 2, relu)", X_IN, forward),
     "layer should be a fluxlite Dense layer"),
    ("layer_transposed", lambda: (seeded_layer(1, 2, 3), X_IN, forward),
     "Dense(3 => 2) becomes fl.Dense(3, 2)"),
    ("layer_size", lambda: (seeded_layer(1, 3, 4), X_IN, forward),
     "Dense(3 => 2) has a 2×3 weight"),
    ("activation", lambda: (seeded_layer(1, σ=fl.identity), X_IN, forward),
     "the Julia code asks for relu"),
    ("seed", lambda: (seeded_layer(2), X_IN, forward), "Call fl.seed(1) right before"),
    ("x_wrong", lambda: (seeded_layer(), np.array([2.0, 1.0, 1.0]), forward),
     "x should be the NumPy array with entries 2.0, 1.0, -1.0"),
    ("forward_not_function", lambda: (seeded_layer(), X_IN, np.array([0.0, 1.7344])),
     "forward should be a function of a layer and an input"),
    ("forward_star", lambda: (seeded_layer(), X_IN,
                              lambda l, x: fl.relu(l.weight * x + l.bias)),
     "Julia's * between a matrix and a vector is the matrix product, which Python writes @"),
    ("forward_error", lambda: (seeded_layer(), X_IN, lambda l, x: fl.relu(l.W @ x + l.b)),
     "forward(layer, x) failed with AttributeError"),
    ("forward_no_relu", lambda: (seeded_layer(), X_IN, lambda l, x: l.weight @ x + l.bias),
     "leaves out fl.relu"),
    ("forward_no_bias", lambda: (seeded_layer(), X_IN, lambda l, x: fl.relu(l.weight @ x)),
     "forward leaves out the bias"),
    ("forward_wrong", lambda: (seeded_layer(), X_IN,
                               lambda l, x: fl.relu(l.weight @ x - l.bias)),
     "which is not relu.(W * x .+ b) for that layer and x"),
]


@pytest.mark.parametrize("key, make, text", DENSE, ids=[c[0] for c in DENSE])
def test_dense_hint(key, make, text):
    args = make()
    fails(lambda: check.dense(*args), f"01.2.{key}", text)


def test_batch_right_answer_passes(capsys):
    check.batch(fl.ones(3, 4), (2, 4))
    check.batch(np.ones((3, 4)), [2, 4])
    assert capsys.readouterr().out == "✓ Exercise 3 passed.\n" * 2


BATCH = [
    ("batch_first", np.ones((4, 3)), (2, 4), "that is PyTorch's batch-first layout"),
    ("X_shape", np.ones(3), (2, 4), "it should hold 4 samples of 3 features, batch last"),
    ("out_batch_first", np.ones((3, 4)), (4, 2), "puts the batch first"),
    ("out_unchanged", np.ones((3, 4)), (3, 4), "is the shape of X itself"),
    ("out_wrong", np.ones((3, 4)), (2, 3), "keeps the 4 samples"),
]


@pytest.mark.parametrize("key, X, out_shape, text", BATCH, ids=[c[0] for c in BATCH])
def test_batch_hint(key, X, out_shape, text):
    fails(lambda: check.batch(X, out_shape), f"01.3.{key}", text)


@pytest.mark.parametrize("exercise, table", [(check.EX1, TRANSLATION), (check.EX2, DENSE),
                                             (check.EX3, BATCH)], ids=["ex1", "ex2", "ex3"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)


def test_log_and_progress(hint_log, capsys):
    check.translation(g, dg)
    with pytest.raises(ExerciseNotPassed):
        check.batch(np.ones((4, 3)), (2, 4))
    lines = hint_log.read_text().splitlines()
    assert '"hint": "passed"' in lines[-2] and '"exercise": 1' in lines[-2]
    assert '"hint": "01.3.batch_first"' in lines[-1] and '"lesson": "01"' in lines[-1]
    capsys.readouterr()
    from lesson_checks import core
    core.STATUS.pop(("01", 2), None)
    check.progress()
    assert capsys.readouterr().out == (
        "Lesson 1 exercises: 1 of 3 passed\n"
        "  ✓ Exercise 1, Translate g and take its gradient: passed\n"
        "  · Exercise 2, Translate four lines of Flux: not checked yet: run its check cell\n"
        "  ✗ Exercise 3, A batch, the Flux way: not passed yet: see the hint under its check cell\n")


def test_no_log_when_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON_CHECKS_LOG", "")
    monkeypatch.chdir(tmp_path)
    check.translation(g, dg)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_check_shows_the_hint_not_the_checks_code():
    """IPython renders ExerciseNotPassed with _render_traceback_: the hint, no source lines."""
    with pytest.raises(ExerciseNotPassed) as info:
        check.batch(np.ones((4, 3)), (2, 4))
    shown = info.value._render_traceback_()
    assert shown[0] == "✗ Exercise 3 has not passed yet."
    assert shown[1].startswith("X has shape (4, 3): that is PyTorch's batch-first layout.")
    assert shown[-1] == "(hint 01.3.batch_first)"
