"""Checks for lesson 8 (a CNN on the digits). Each hint names one mistake;
tests/test_checks_lesson08.py feeds every one of them in.

Exercise 1 asks for the feature count as a function of the image size and compares it, for sizes
of the check's own, with what fluxlite's layers actually produce. Exercise 2 calls the student's
layout conversion on batches of its own, with more than one channel and images that are not
square, so every axis can be told apart."""
import numpy as np

import fluxlite as fl

from .core import Hint, call, describe, exercise, fresh_rng, keep_fl_rng, progress as _progress
from .core import kind as _kind

LESSON = "08"


def _out(size, pad=0, second=True):
    """The shape of what reaches flatten in the exercise's variant for size × size images, as
    fluxlite's layers compute it (pad=1, or without the second Conv, for two mistakes)."""
    with keep_fl_rng():
        layers = [fl.Conv((3, 3), (1, 8 if second else 16), fl.relu, pad=pad), fl.MaxPool((2, 2))]
        if second:
            layers.append(fl.Conv((3, 3), (8, 16), fl.relu, pad=pad))
        return fl.Chain(*layers)(np.zeros((size, size, 1, 1), dtype=np.float32)).shape


def _same(a, b):
    try:
        return bool(np.shape(a) == np.shape(b) and np.all(np.asarray(a) == np.asarray(b)))
    except (TypeError, ValueError):
        return False


def _count(size, **kw):
    return int(np.prod(_out(size, **kw)))


EX1 = exercise(LESSON, 1, "Shapes by hand", hints={
    "not_function": "features_into_dense should be a function of the image size, "
                    "features_into_dense(size), but it is {kind}.\nA number worked out for "
                    "8 × 8 images is right for that size only; the check tries others.",
    "error": "features_into_dense({size}) failed with {error}.",
    "constant": "features_into_dense gives the same number for {a} × {a} and {b} × {b} images: "
                "compute it from the size it is given.",
    "not_number": "features_into_dense({size}) returns {got!r}; it should return one whole "
                  "number, the features per image.",
    "no_rounding": "Right for even sizes, but for {size} × {size} images you get {got}: "
                   "MaxPool((2, 2)) halves an odd side rounding *down* (7 pixels become 3, not "
                   "3.5 or 4). Python's // rounds down.",
    "channels": "The sizes are right, but the count is not: it should be width × height × the "
                "channels of the *last* Conv's output.",
    "padded": "Without pad, each 3 × 3 Conv makes the image smaller: it loses one pixel on every "
              "side.",
    "second_conv": "You followed the side through the first Conv and the pool, but the second "
                   "Conv, without pad, loses a pixel on each side again.",
    "wrong": "features_into_dense({size}) is {got}, not the number of features that reach Dense "
             "for {size} × {size} images. Follow one side: the size, then the Conv, then the "
             "pool, then the Conv; then multiply by the channels.",
})


@EX1.check
def features(features_into_dense):
    """Exercise 1: features_into_dense(size), the features after flatten for size × size images."""
    if not callable(features_into_dense):
        return Hint("not_function", kind=_kind(features_into_dense))
    rng = fresh_rng(801)
    sizes = [int(s) for s in rng.choice([10, 12, 14, 16, 20, 28], 2, replace=False)]
    sizes += [int(rng.choice([9, 11, 13, 17])), 8]          # an odd size: the pool rounds down
    answers = []
    for size in sizes:
        got, error = call(features_into_dense, size)
        if error is not None:
            return Hint("error", size=size, error=describe(error))
        answers.append(got)
    if _same(answers[0], answers[1]):
        return Hint("constant", a=sizes[0], b=sizes[1])
    for size, got in zip(sizes, answers):
        try:
            value = float(got)
        except (TypeError, ValueError):
            return Hint("not_number", size=size, got=got)
        if size % 2 and value != _count(size):            # the even sizes before it passed
            return Hint("no_rounding", size=size, got=got)
        if value != int(value):
            return Hint("not_number", size=size, got=got)
        if value == _count(size):
            continue
        w, h, c, _ = _out(size)
        if value in (w * h * 8, w * h):
            return Hint("channels")
        if value == _count(size, pad=1):
            return Hint("padded")
        if value == _count(size, second=False):
            return Hint("second_conv")
        return Hint("wrong", size=size, got=got)
    return None


def _whcn(b):
    """The same images in W × H × C × N, entry by entry: out[w, h, c, n] = b[n, c, h, w]."""
    n_, c_, h_, w_ = b.shape
    out = np.empty((w_, h_, c_, n_), dtype=b.dtype)
    for n, c, h, w in np.ndindex(b.shape):
        out[w, h, c, n] = b[n, c, h, w]
    return out


def _nchw_batches(salt):
    """Batches in PyTorch's N × C × H × W layout: every axis of its own length (so a mix-up shows
    in the shape) and, last, a square one (so only the values can show it)."""
    rng = fresh_rng(salt)
    return [rng.random((5, 3, 7, 6)).astype(np.float32),
            rng.random((5, 3, 7, 6)).astype(np.float32),
            rng.random((4, 2, 5, 9)).astype(np.float32),
            rng.random((3, 1, 6, 6)).astype(np.float32)]


EX2 = exercise(LESSON, 2, "From PyTorch's layout to Flux's", hints={
    "not_function": "to_whcn should be a function of a batch, to_whcn(b), but it is {kind}.",
    "error": "to_whcn(b) failed for a batch of shape {shape} with {error}.",
    "none": "to_whcn returns None: end it with a `return`.",
    "constant": "to_whcn gives the same array for two different batches: convert the batch it "
                "is given.",
    "swapped_wh": "Every image comes out transposed: you swapped W and H. In Flux's layout the "
                  "width comes first and the height second; in PyTorch's, the height comes "
                  "before the width.",
    "reshape": "The shape is right, but the pixels are not in place: reshape keeps the numbers "
               "in their order and only relabels the axes. Move the axes instead.",
    "shape": "For a batch of shape {given} (N × C × H × W) to_whcn returns shape {got}; W × H × "
             "C × N is {want}.",
    "wrong": "The shape is right, but the pixels are not in place: the entry at [n, c, h, w] of "
             "the batch must land at [w, h, c, n].",
})


@EX2.check
def layout(to_whcn):
    """Exercise 2: to_whcn(b) turns an N × C × H × W batch into W × H × C × N."""
    if not callable(to_whcn):
        return Hint("not_function", kind=_kind(to_whcn))
    batches = _nchw_batches(802)
    answers = []
    for b in batches:
        got, error = call(to_whcn, b.copy())
        if error is not None:
            return Hint("error", shape=b.shape, error=describe(error))
        if got is None:
            return Hint("none")
        answers.append(np.asarray(got))
    if answers[0].shape == answers[1].shape and np.array_equal(answers[0], answers[1]):
        return Hint("constant")
    for b, got in zip(batches, answers):
        want = _whcn(b)
        if got.shape == want.shape and np.array_equal(got, want):
            continue
        if got.shape == want.transpose(1, 0, 2, 3).shape and \
                np.array_equal(got, want.transpose(1, 0, 2, 3)):
            return Hint("swapped_wh")
        if got.shape == want.shape:
            if np.array_equal(got, b.reshape(want.shape)):
                return Hint("reshape")
            return Hint("wrong")
        return Hint("shape", given=b.shape, got=got.shape, want=want.shape)
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
