"""Lesson 8's exercise checks (lessons/lesson_checks/lesson08.py): every hint is reached by the
mistake it names, right answers pass, a number worked out for 8 × 8 images and a copied batch
fail, and the checks leave fluxlite's random stream as they found it."""
import pathlib
import sys

import numpy as np
import pytest

import fluxlite as fl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402
from lesson_checks import lesson08 as check  # noqa: E402
from checkdriver import fails  # noqa: E402

pytestmark = pytest.mark.usefixtures("hint_log")  # tests/conftest.py


# What the answers look like: none of it may reach the students' version (tests/test_nbgrader.py).
ANSWERS = ["(size - 2) // 2 - 2", "side * side * 16", "np.transpose(b, (3, 2, 1, 0))"]


def features(size):
    side = (size - 2) // 2 - 2
    return side * side * 16


def by_layers(size):
    """Counting with the layers themselves is also right."""
    convs = fl.Chain(fl.Conv((3, 3), (1, 8), fl.relu), fl.MaxPool((2, 2)),
                     fl.Conv((3, 3), (8, 16), fl.relu), fl.flatten)
    return convs(np.zeros((size, size, 1, 1), dtype=np.float32)).shape[0]


def test_right_answers_pass(capsys):
    check.features(by_layers)                    # (builds layers: draws from fl's stream)
    state = fl.rng().bit_generator.state
    check.features(features)
    check.features(lambda size: float(features(size)))
    check.layout(lambda b: np.transpose(b, (3, 2, 1, 0)))
    check.layout(lambda b: b.T)
    check.layout(lambda b: np.einsum("nchw->whcn", b))
    assert capsys.readouterr().out == "✓ Exercise 1 passed.\n" * 3 + "✓ Exercise 2 passed.\n" * 3
    assert fl.rng().bit_generator.state == state


FEATURES = [
    ("not_function", 16, "A number worked out for 8 × 8 images is right for that size only"),
    ("error", lambda size, channels: features(size), "failed with TypeError"),
    ("constant", lambda size: 16, "gives the same number for"),
    ("not_number", lambda size: ((size - 2) // 2 - 2, (size - 2) // 2 - 2, 16),
     "it should return one whole number"),
    ("no_rounding", lambda size: ((size - 2) / 2 - 2) ** 2 * 16, "Right for even sizes"),
    ("channels", lambda size: ((size - 2) // 2 - 2) ** 2 * 8,
     "the channels of the *last* Conv's output"),
    ("padded", lambda size: (size // 2) ** 2 * 16, "Without pad, each 3 × 3 Conv"),
    ("second_conv", lambda size: ((size - 2) // 2) ** 2 * 16,
     "the second Conv, without pad, loses a pixel"),
    ("wrong", lambda size: ((size - 2) // 2 - 2) * 16, "not the number of features that reach"),
]


@pytest.mark.parametrize("key, f, text", FEATURES, ids=[c[0] for c in FEATURES])
def test_features_hint(key, f, text):
    fails(lambda: check.features(f), f"08.1.{key}", text)


def test_rounding_up_is_named():
    fails(lambda: check.features(lambda size: (-(-(size - 2) // 2) - 2) ** 2 * 16),
          "08.1.no_rounding", "halves an odd side rounding *down*")


def test_channels_left_out_is_named():
    fails(lambda: check.features(lambda size: ((size - 2) // 2 - 2) ** 2),
          "08.1.channels", "width × height × the channels")


X, _ = fl.datasets.digits(images=True)
COPIED = np.ascontiguousarray(X[..., :10])


def in_the_order_written(b):
    n, c, h, w = b.shape
    return b.reshape(w, h, c, n)


LAYOUT = [
    ("not_function", COPIED, "to_whcn(b), but it is a ndarray"),
    ("error", lambda b: b.transpose(3, 2, 1), "failed for a batch of shape (5, 3, 7, 6)"),
    ("none", lambda b: None, "to_whcn returns None"),
    ("constant", lambda b: COPIED, "to_whcn gives the same array for two different batches"),
    ("swapped_wh", lambda b: b.transpose(2, 3, 1, 0), "you swapped W and H"),
    ("reshape", in_the_order_written, "reshape keeps the numbers in their order"),
    ("shape", lambda b: b, "For a batch of shape (5, 3, 7, 6) (N × C × H × W) to_whcn returns "
                           "shape (5, 3, 7, 6); W × H × C × N is (6, 7, 3, 5)"),
    ("wrong", lambda b: b.transpose(3, 2, 1, 0)[::-1], "the entry at [n, c, h, w] of the batch "
                                                       "must land at [w, h, c, n]"),
]


@pytest.mark.parametrize("key, f, text", LAYOUT, ids=[c[0] for c in LAYOUT])
def test_layout_hint(key, f, text):
    fails(lambda: check.layout(f), f"08.2.{key}", text)


def test_swapped_axes_on_square_images_are_caught():
    """On the square batch only the values tell W and H apart."""
    def swap_if_square(b):
        return b.transpose(2, 3, 1, 0) if b.shape[2] == b.shape[3] else b.transpose(3, 2, 1, 0)
    fails(lambda: check.layout(swap_if_square), "08.2.swapped_wh", "you swapped W and H")


@pytest.mark.parametrize("exercise, table", [(check.EX1, FEATURES), (check.EX2, LAYOUT)],
                         ids=["ex1", "ex2"])
def test_every_hint_is_fed_its_mistake(exercise, table):
    assert {case[0] for case in table} == set(exercise.hints)
