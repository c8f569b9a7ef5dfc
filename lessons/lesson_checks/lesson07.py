"""Checks for lesson 7 (an MLP on the digits). Each hint names one mistake;
tests/test_checks_lesson07.py feeds every one of them in.

Exercise 1 calls the student's functions on confusion matrices of its own, so numbers copied
from the lesson's matrix cannot pass. Exercise 2 builds the student's network and trains it the
way the lesson trains its MLP, on the data the notebook passes in."""
import numpy as np

import fluxlite as fl
from fluxlite.layers.show import Layer

from .core import (Hint, call, close, describe, exercise, fresh_rng, keep_fl_rng,
                   progress as _progress)
from .core import kind as _kind

LESSON = "07"


def _confusions(salt, n=3):
    """(C, true, said): test labels and a model's answers, and their confusion matrix. Most
    answers are right; one answer (a different one each time) is given wrongly more often."""
    rng = fresh_rng(salt)
    out = []
    for _ in range(n):
        true = rng.integers(0, 10, size=400)
        said = true.copy()
        slips = rng.random(400) < 0.08
        said[slips] = rng.integers(0, 10, size=int(slips.sum()))
        worst = rng.integers(10)
        said[(rng.random(400) < 0.05) & (true != worst)] = worst
        said[:10] = true[:10] = np.arange(10)       # every digit is said at least once
        C = np.zeros((10, 10), dtype=int)
        np.add.at(C, (true, said), 1)
        out.append((C, true, said))
    return out


def _precision(true, said):
    """Of the images given answer d, the fraction that were d: counted from the labels."""
    return np.array([np.mean(true[said == d] == d) for d in range(10)])


def _recall(true, said):
    return np.array([np.mean(said[true == d] == d) for d in range(10)])


EX1 = exercise(LESSON, 1, "Which answer can you trust least?", hints={
    "not_function": "{name} should be a function of a confusion matrix C, but it is {kind}.\n"
                    "Numbers worked out for the lesson's C are right for that matrix only; the "
                    "check tries others.",
    "error": "{name}(C) failed with {error}.",
    "shape": "answer_precision(C) returns shape {got}: it should hold one number per digit, "
             "shape {want}.",
    "constant": "answer_precision gives the same answer for two different matrices: compute it "
                "from the C it is given.",
    "rows": "Close: you divided by the row totals (how many images of each digit there are). "
            "Precision divides by the column totals: how often the model gave that answer.",
    "wrong": "answer_precision(C)[d] is not the fraction of the answers \"d\" that were right. "
             "Look down column d: its diagonal entry counts the right ones, its total all of "
             "them.",
    "not_digit": "least_trusted_digit(C) returns {got!r}; it should return one digit, an int "
                 "from 0 to 9.",
    "most_trusted": "least_trusted_digit(C) gives the answer with the *highest* precision. The "
                    "least trusted one has the lowest.",
    "digit_wrong": "least_trusted_digit(C) is not the digit whose answer has the lowest "
                   "precision. Take the position of the smallest entry of answer_precision(C).",
})


@EX1.check
def precision(answer_precision, least_trusted_digit):
    """Exercise 1: answer_precision(C), the precision of each answer, and least_trusted_digit(C)."""
    for name, f in (("answer_precision", answer_precision),
                    ("least_trusted_digit", least_trusted_digit)):
        if not callable(f):
            return Hint("not_function", name=name, kind=_kind(f))
    matrices = _confusions(701)
    answers = []
    for C, _, _ in matrices:
        got, error = call(answer_precision, C.copy())
        if error is not None:
            return Hint("error", name="answer_precision", error=describe(error))
        answers.append(got)
    if close(answers[0], answers[1]):
        return Hint("constant")
    for (C, true, said), got in zip(matrices, answers):
        want = _precision(true, said)
        if np.shape(got) != want.shape:
            return Hint("shape", got=np.shape(got), want=want.shape)
        if close(got, want):
            continue
        if close(got, _recall(true, said)):
            return Hint("rows")
        return Hint("wrong")
    for C, true, said in matrices:
        got, error = call(least_trusted_digit, C.copy())
        if error is not None:
            return Hint("error", name="least_trusted_digit", error=describe(error))
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)) \
                or not 0 <= got <= 9:
            return Hint("not_digit", got=got)
        p = _precision(true, said)
        if p[got] == p.min():
            continue
        if p[got] == p.max():
            return Hint("most_trusted")
        return Hint("digit_wrong")
    return None


PARAMETER_LIMIT = 1500
TARGET = 0.95

EX2 = exercise(LESSON, 2, "A smaller network", hints={
    "not_function": "small_mlp should be a function that returns a new model, small_mlp(), but "
                    "it is {kind}.",
    "error": "small_mlp() failed with {error}.",
    "none": "small_mlp() returns None: end it with `return fl.Chain(...)`.",
    "not_chain": "small_mlp() returns {kind}; it should return a fl.Chain of Dense layers.",
    "same_model": "small_mlp() returns the same model object every time it is called. Build a "
                  "new Chain inside the function, so every call starts from fresh weights.",
    "hidden": "Use exactly one hidden Dense layer before the output layer (found {found}).",
    "activation": "The hidden layer's activation is {act}; the exercise asks for relu.",
    "too_many": "{n} parameters is too many: the limit is fewer than 1,500. A Dense(a, b) layer "
                "has a·b weights and b biases; make the hidden layer narrower.",
    "shapes": "The model cannot read a batch of digits: calling it on a 64 × 32 batch failed "
              "with {error}.",
    "outputs": "The model returns shape {got} for a 64 × 32 batch; it should give one score per "
               "digit for each image, shape {want}.",
    "low_accuracy": "Trained like the lesson's MLP, it reads {acc:.1%} of the test digits, below "
                    "the 95 % asked for. Try a somewhat wider hidden layer (still within the "
                    "limit).",
})


def _loss(m, x, y):
    return fl.logitcrossentropy(m(x), y)


def _train(build, Xtrain, ytrain, epochs=20):
    """The lesson's training: fl.seed(0), Adam(0.002), batches of 32, shuffled."""
    fl.seed(0)
    m = build()
    state = fl.setup(fl.Adam(0.002), m)
    batches = fl.DataLoader((Xtrain, fl.onehotbatch(ytrain, range(10))), batchsize=32,
                            shuffle=True)
    for _ in range(epochs):
        for x, y_batch in batches:
            fl.update_(state, m, fl.gradient(lambda m: _loss(m, x, y_batch), m)[0])
    return m


@EX2.check
def small_network(small_mlp, Xtrain, ytrain, Xtest, ytest):
    """Exercise 2: small_mlp() returns a Chain with one hidden relu layer and fewer than 1,500
    parameters that reaches 95 % test accuracy when trained like the lesson's MLP."""
    if not callable(small_mlp) or isinstance(small_mlp, Layer):    # a model is callable too
        return Hint("not_function", kind=_kind(small_mlp))
    with keep_fl_rng():
        m, error = call(small_mlp)
        m2, error2 = call(small_mlp)
    if error is not None or error2 is not None:
        return Hint("error", error=describe(error or error2))
    if m is None:
        return Hint("none")
    if not isinstance(m, fl.Chain):
        return Hint("not_chain", kind=_kind(m))
    if m2 is m:
        return Hint("same_model")
    layers = list(m)
    hidden = [layer for layer in layers[:-1] if isinstance(layer, fl.Dense)]
    if len(hidden) != 1 or not isinstance(layers[-1], fl.Dense):
        return Hint("hidden", found=len(hidden))
    act = getattr(hidden[0], "σ", None)
    if act is not fl.relu:
        name = getattr(act, "__name__", repr(act))
        return Hint("activation", act="none (identity)" if name == "identity" else f"fl.{name}")
    n = sum(p.size for p in fl.params(m))
    if n >= PARAMETER_LIMIT:
        return Hint("too_many", n=n)
    x = fresh_rng(702).random((64, 32)).astype(np.float32)
    out, error = call(m, x)
    if error is not None:
        return Hint("shapes", error=describe(error))
    if np.shape(out) != (10, 32):
        return Hint("outputs", got=np.shape(out), want=(10, 32))
    with keep_fl_rng():
        trained = _train(small_mlp, Xtrain, ytrain)
    acc = float(np.mean(fl.onecold(trained(Xtest), range(10)) == np.asarray(ytest)))
    if acc < TARGET:
        return Hint("low_accuracy", acc=acc)
    return None


def progress():
    """The lesson's exercises and which of them passed since the kernel started."""
    _progress(LESSON)
