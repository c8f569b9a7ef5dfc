"""Lesson 5b's exercise checks (lessons/lesson_checks/lesson05b.py): every hint is reached by the
mistake it names, right answers pass, copied values fail, and no check moves fluxlite's random
stream."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson05b as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["(14, 14, 8, 16)", "// stride + 1", "x / (1 - p)", "random(np.shape(x)) >= p"]


def conv_output_shape(x_shape, kernel, channels, stride, pad):
    w, h, _, n = x_shape
    return ((w + 2 * pad - kernel[0]) // stride + 1, (h + 2 * pad - kernel[1]) // stride + 1,
            channels[1], n)


def my_dropout(x, p, training):
    if not training:
        return x
    keep = fl.rng().random(np.shape(x)) >= p
    return np.where(keep, x / (1 - p), 0.0)


def test_right_answers_pass(capsys):
    fl.seed(3)
    state = fl.rng().bit_generator.state
    check.conv_shape(conv_output_shape)
    check.dropout_by_hand(my_dropout)
    assert capsys.readouterr().out == "✓ Exercise 1 passed.\n✓ Exercise 2 passed.\n"
    assert fl.rng().bit_generator.state == state     # the checks put fl's stream back


def test_other_right_answers_pass(capsys):
    """A mask from NumPy's own generator, a copy-and-zero, and x returned as a new array at
    test time are all right too."""
    rng = np.random.default_rng()

    def other(x, p, training):
        y = np.array(x, dtype=float)
        if training:
            y[rng.random(y.shape) < p] = 0.0
            y /= 1 - p
        return y
    check.dropout_by_hand(other)
    assert capsys.readouterr().out == "✓ Exercise 2 passed.\n"


def test_the_lessons_examples():
    batch = np.zeros((32, 32, 3, 16), np.float32)
    assert conv_output_shape(batch.shape, (5, 5), (3, 8), 2, 0) == \
        fl.Conv((5, 5), (3, 8), stride=2)(batch).shape
    x = np.linspace(1, 2, 50)
    assert np.array_equal(my_dropout(x, 0.3, False), fl.testmode_(fl.Dropout(0.3))(x))


def shape_with(spatial, last=lambda x_shape, channels: (channels[1], x_shape[3])):
    def f(x_shape, kernel, channels, stride, pad):
        return tuple(spatial(x_shape[i], kernel[i], stride, pad) for i in range(2)) + \
            last(x_shape, channels)
    return f


RIGHT = lambda size, k, s, p: (size + 2 * p - k) // s + 1  # noqa: E731

CONV = [
    ("not_function", (14, 14, 8, 16), "A tuple is right for one layer only"),
    ("error", lambda x_shape, kernel: x_shape, "failed with TypeError"),
    ("constant", lambda *args: (14, 14, 8, 16), "conv_output_shape gives the same shape"),
    ("length", shape_with(RIGHT, lambda x_shape, channels: (channels[1],)),
     "give four numbers: width, height, channels, batch"),
    ("batch_first", lambda x, k, c, s, p: (x[3], c[1], RIGHT(x[1], k[1], s, p),
                                           RIGHT(x[0], k[0], s, p)),
     "Flux puts the batch last"),
    ("channels", shape_with(RIGHT, lambda x_shape, channels: (channels[0], x_shape[3])),
     "counts the layer's output channels"),
    ("swapped", lambda x, k, c, s, p: (RIGHT(x[1], k[1], s, p), RIGHT(x[0], k[0], s, p),
                                       c[1], x[3]),
     "Width and height are swapped"),
    ("not_whole", shape_with(lambda size, k, s, p: (size + 2 * p - k) / s + 1),
     "sizes are whole numbers"),
    ("no_plus_one", shape_with(lambda size, k, s, p: (size + 2 * p - k) // s),
     "One short along width and height"),
    ("pad_once", shape_with(lambda size, k, s, p: (size + p - k) // s + 1),
     "The padding is added on both sides"),
    ("wrong", shape_with(lambda size, k, s, p: (size - k) // s + 1),
     "not the shape fl.Conv gives"),
]


@pytest.mark.parametrize("key, f, text", CONV, ids=[c[0] for c in CONV])
def test_conv_shape_hint(key, f, text):
    fails(lambda: check.conv_shape(f), f"05b.1.{key}", text)


def dropout_with(mask=lambda x, p: fl.rng().random(np.shape(x)) >= p,
                 scale=lambda p: 1 / (1 - p), test=lambda x, p: x):
    """my_dropout with one piece replaced by a mistake."""
    def f(x, p, training):
        if not training:
            return test(x, p)
        return np.where(mask(x, p), x * scale(p), 0.0)
    return f


def in_place(x, p, training):
    if training:
        x[fl.rng().random(x.shape) < p] = 0.0
        x /= 1 - p
    return x


def with_layer(x, p, training):
    layer = fl.trainmode_(fl.Dropout(p)) if training else fl.testmode_(fl.Dropout(p))
    return layer(x)


def seeded_inside(x, p, training):
    if not training:
        return x
    keep = np.random.default_rng(0).random(np.shape(x)) >= p
    return np.where(keep, x / (1 - p), 0.0)


DROPOUT = [
    ("not_function", fl.Dropout(0.5), "my_dropout(x, p, training), but it is a Dropout"),
    ("used_layer", with_layer, "not with fl.Dropout itself"),
    ("error", lambda x, p: x, "failed with TypeError"),
    ("shape", lambda x, p, training: x.ravel(), "dropout keeps the shape"),
    ("test_dropped", dropout_with(test=lambda x, p: my_dropout(x, p, True)),
     "Dropout drops only while training"),
    ("test_scaled", dropout_with(scale=lambda p: 1.0, test=lambda x, p: x * (1 - p)),
     "That is how dropout was first described"),
    ("test_wrong", dropout_with(test=lambda x, p: x / (1 - p)),
     "my_dropout(x, 0.31, False) should return x unchanged"),
    ("modified_input", in_place, "changed the array x it was given"),
    ("nothing_dropped", lambda x, p, training: x, "With training=True nothing was zeroed"),
    ("keep_prob", dropout_with(mask=lambda x, p: fl.rng().random(np.shape(x)) < p),
     "p is the probability of dropping an entry, not of keeping it"),
    ("rate", dropout_with(mask=lambda x, p: fl.rng().integers(0, 2, np.shape(x)) == 1),
     "Drop each entry with probability p"),
    ("not_scaled", dropout_with(scale=lambda p: 1.0), "The entries that survive are unchanged"),
    ("scale_p", dropout_with(scale=lambda p: 1 / p), "The survivors are divided by p"),
    ("wrong_scale", dropout_with(scale=lambda p: 1 - p),
     "are not x times the factor that keeps the average unchanged"),
    ("same_mask", seeded_inside, "Two calls zeroed exactly the same entries"),
]


@pytest.mark.parametrize("key, f, text", DROPOUT, ids=[c[0] for c in DROPOUT])
def test_dropout_by_hand_hint(key, f, text):
    fails(lambda: check.dropout_by_hand(f), f"05b.2.{key}", text)


def test_a_copied_output_fails():
    """An output copied from the lesson (one array) cannot pass: the check's x is its own."""
    fl.seed(0)
    copied = fl.trainmode_(fl.Dropout(0.5))(np.ones((3, 8)))
    fails(lambda: check.dropout_by_hand(lambda x, p, training: copied), "05b.2.shape",
          "dropout keeps the shape")


@pytest.mark.parametrize("exercise, table", [(check.EX1, CONV), (check.EX2, DROPOUT)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
