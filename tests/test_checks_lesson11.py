"""Lesson 11's exercise checks (lessons/lesson_checks/lesson11.py): every hint is reached by the
mistake it names, a right answer passes, and constants or copied values fail."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson11 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["np.asarray(out[0]) > 0", "_, curve_short = train_first_bit",
           "acc_short = curve_short[-1]"]


# The lesson's own task and training loop (section 2 and 3 of lessons/11_recurrent.ipynb).
def first_bit_batch(n, rng, T=20):
    x = rng.integers(0, 2, size=(1, n, T)).astype(np.float32)
    return x, x[0, :, 0]


def last_output(m, x):
    fl.reset_(m)
    for t in range(x.shape[-1]):
        out = m(x[:, :, t])
    return out[0]


def loss(m, x, y):
    return fl.logitbinarycrossentropy(last_output(m, x), y)


def accuracy(m, x, y):
    return float(np.mean((last_output(m, x) > 0) == (y > 0.5)))


def train_first_bit(layer, T=20, steps=500, seed=0):
    fl.seed(seed)
    model = fl.Chain(layer(1, 8), fl.Dense(8, 1))
    opt_state = fl.setup(fl.Adam(0.01), model)
    data_rng = np.random.default_rng(seed + 1)
    xt, yt = first_bit_batch(500, np.random.default_rng(99), T)
    curve = []
    for step in range(1, steps + 1):
        x, y = first_bit_batch(32, data_rng, T)
        g = fl.gradient(lambda m: loss(m, x, y), model)[0]
        fl.update_(opt_state, model, g)
        if step % 25 == 0:
            curve.append(accuracy(model, xt, yt))
    return model, curve


@pytest.fixture(scope="module")
def lstm():
    """An LSTM that has learnt to remember the first bit."""
    model, curve = train_first_bit(fl.LSTM, T=10, steps=200)
    assert curve[-1] == 1.0
    return model


def predict(m, x):
    fl.reset_(m)
    for t in range(x.shape[-1]):
        out = m(x[:, :, t])
    return (np.asarray(out[0]) > 0).astype(float)


def no_reset(m, x):
    for t in range(x.shape[-1]):
        out = m(x[:, :, t])
    return (np.asarray(out[0]) > 0).astype(float)


def test_prediction_right_answer_passes(lstm, capsys):
    check.prediction(predict, lstm)
    check.prediction(lambda m, x: last_output(m, x) > 0, lstm)          # booleans will do
    assert capsys.readouterr().out == "✓ Exercise 1 passed.\n" * 2


def test_prediction_leaves_the_random_stream_and_a_reset_model(lstm):
    fl.seed(3)
    expected = fl.rand(4)
    fl.seed(3)
    check.prediction(predict, lstm)
    assert np.array_equal(fl.rand(4), expected)
    left = [np.array(s) for s in lstm[0].state]
    fl.reset_(lstm)
    assert all(np.array_equal(a, np.array(s)) for a, s in zip(left, lstm[0].state))


PREDICTION = [
    ("not_function", np.array([1.0, 0.0, 0.0, 1.0]), "but it is a ndarray"),
    ("error", lambda m: m, "predict_first_bit(m, x) failed with TypeError"),
    ("none", lambda m, x: None, "end it with return"),
    ("shape", lambda m, x: (np.asarray(last_output(m, x)) > 0)[None].astype(float),
     "shape (16,); got shape (1, 16)"),
    ("logits", lambda m, x: np.asarray(last_output(m, x)), "not 0/1 answers"),
    ("logits", lambda m, x: fl.sigmoid(np.asarray(last_output(m, x))), "not 0/1 answers"),
    ("no_reset", no_reset, "reset the model's state before the first step"),
    ("labels", lambda m, x: x[0, :, 0], "the first bits of x themselves"),
    ("wrong", lambda m, x: np.ones(x.shape[1]), "run m over all the steps of x"),
    ("wrong", lambda m, x: 1 - predict(m, x), "run m over all the steps of x"),
]


@pytest.mark.parametrize("key, f, text", PREDICTION,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(PREDICTION)])
def test_prediction_hint(lstm, key, f, text):
    fails(lambda: check.prediction(f, lstm), f"11.1.{key}", text)


def test_prediction_with_a_global_T_fails_on_the_checks_shorter_sequences(lstm):
    def global_T(m, x, T=20):
        fl.reset_(m)
        for t in range(T):
            out = m(x[:, :, t])
        return (np.asarray(out[0]) > 0).astype(float)
    fails(lambda: check.prediction(global_T, lstm), "11.1.error", "IndexError")


@pytest.fixture(scope="module")
def short_curve():
    return train_first_bit(fl.RNN, T=10, steps=200)[1]


def test_short_rnn_right_answer_passes(short_curve, capsys):
    check.short_rnn(short_curve, short_curve[-1], train_first_bit)
    check.short_rnn(np.array(short_curve), float(short_curve[-1]), train_first_bit)
    assert capsys.readouterr().out == "✓ Exercise 2 passed.\n" * 2


def test_short_rnn_leaves_the_random_stream_alone(short_curve):
    fl.seed(3)
    expected = fl.rand(4)
    fl.seed(3)
    check.short_rnn(short_curve, short_curve[-1], train_first_bit)
    assert np.array_equal(fl.rand(4), expected)


def test_short_rnn_refuses_a_copied_curve_that_was_changed(short_curve):
    copied = [round(a, 1) for a in short_curve]          # copied from a rounded printout
    fails(lambda: check.short_rnn(copied, copied[-1], train_first_bit), "11.2.wrong_curve",
          "train_first_bit(fl.RNN, T=10, steps=200)")


SHORT = [
    ("not_curve", lambda c: (None, c[-1]), "but it is a NoneType"),
    ("not_curve", lambda c: (c[-1], c[-1]), "but it is a float"),
    ("pair", lambda c: (train_first_bit(fl.RNN, T=10, steps=200), c[-1]),
     "Store the second one"),
    ("length", lambda c: (train_first_bit(fl.RNN, T=10, steps=100)[1], c[-1]),
     "Did you pass steps=200?"),
    ("other_T", lambda c: (train_first_bit(fl.RNN, steps=200)[1], c[-1]),
     "the curve for sequences of 20 bits: pass T=10."),
    ("other_T", lambda c: (train_first_bit(fl.RNN, T=5, steps=200)[1], c[-1]),
     "the curve for sequences of 5 bits: pass T=10."),
    ("lstm", lambda c: (train_first_bit(fl.LSTM, T=10, steps=200)[1], c[-1]),
     "That curve is an LSTM's"),
    ("wrong_curve", lambda c: (train_first_bit(fl.RNN, T=10, steps=200, seed=1)[1], c[-1]),
     "store the second value it returns"),
    ("acc_missing", lambda c: (c, None), "but it is a NoneType"),
    ("acc_missing", lambda c: (c, c), "but it is a list"),
    ("percent", lambda c: (c, 100 * c[-1]), "is a percentage"),
    ("acc_not_last", lambda c: (c, c[0]), "is not its last entry"),
]


@pytest.mark.parametrize("key, make, text", SHORT, ids=[f"{c[0]}-{i}" for i, c in enumerate(SHORT)])
def test_short_rnn_hint(short_curve, key, make, text):
    curve, acc = make(list(short_curve))
    fails(lambda: check.short_rnn(curve, acc, train_first_bit), f"11.2.{key}", text)


def test_every_hint_is_fed_its_mistake():
    assert {case[0] for case in PREDICTION} == set(check.EX1.hints)
    assert {case[0] for case in SHORT} == set(check.EX2.hints)


def test_log_and_progress(lstm, short_curve, hint_log, capsys):
    check.prediction(predict, lstm)
    with pytest.raises(ExerciseNotPassed):
        check.short_rnn(short_curve, short_curve[0], train_first_bit)
    lines = hint_log.read_text().splitlines()
    assert '"hint": "passed"' in lines[-2] and '"exercise": 1' in lines[-2]
    assert '"hint": "11.2.acc_not_last"' in lines[-1] and '"lesson": "11"' in lines[-1]
    capsys.readouterr()
    check.progress()
    assert capsys.readouterr().out == (
        "Lesson 11 exercises: 1 of 2 passed\n"
        "  ✓ Exercise 1, A prediction that does not depend on the past: passed\n"
        "  ✗ Exercise 2, How far back can the RNN see?: not passed yet: see the hint under its "
        "check cell\n")
