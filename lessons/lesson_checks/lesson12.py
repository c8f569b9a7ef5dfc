"""Checks for lesson 12 (reading the docs). Each hint names one mistake; tests/test_checks_lesson12.py
feeds every one of them in."""
import inspect

import numpy as np

import fluxlite as fl

from .core import Hint, call, describe, exercise, fresh_rng, progress as _progress

LESSON = "12"

EX1 = exercise(LESSON, 1, "Which keyword mixes the order?", hints={
    "not_string": "The answer is the keyword's name as a string, in quotes, like \"batchsize\"; "
                  "got {kind}.",
    "with_value": "Only the name, please: the part before the =.",
    "case": "Python names are case-sensitive: DataLoader has {right!r}, not {name!r}.",
    "unknown": "DataLoader has no keyword {name!r}. The signature at the top of "
               "help(fl.DataLoader) lists every one.",
    "data": "data is the first argument, the data themselves, not a keyword that changes the order.",
    "rng": "Close: rng chooses the random generator used when the order is mixed, but on its own "
           "it mixes nothing. Which keyword switches the mixing on?",
    "not_switch": "{name} is not an on/off switch: DataLoader refuses {name}=True. Read its entry "
                  "under Parameters in help(fl.DataLoader).",
    "keeps_order": "With {name}=True the observations still come out in their stored order, so "
                   "{name} does something else. Read its entry under Parameters.",
})


@EX1.check
def keyword(name):
    """Exercise 1: the keyword of fl.DataLoader that gives a new order at every epoch."""
    if not isinstance(name, str):
        return Hint("not_string", kind="the value ..." if name is ... else repr(name))
    name = name.strip()
    if "=" in name:
        return Hint("with_value")
    parameters = inspect.signature(fl.DataLoader).parameters
    if name not in parameters:
        close = [p for p in parameters if p.lower() == name.lower()]
        return Hint("case", right=close[0], name=name) if close else Hint("unknown", name=name)
    if name in ("data", "rng"):
        return Hint(name)
    options = {"batchsize": 100, "rng": fresh_rng(1201)}        # leaves fl.rng() alone
    options[name] = True
    try:
        loader = fl.DataLoader(np.arange(100), **options)
    except (TypeError, ValueError):
        return Hint("not_switch", name=name)
    order = np.concatenate([np.atleast_1d(batch) for batch in loader])
    if np.array_equal(order, np.arange(100)):
        return Hint("keeps_order", name=name)
    return None


EX2 = exercise(LESSON, 2, "How many batches?", hints={
    "not_function": "batches should be a function of N and batchsize, but it is {kind}.\n"
                    "A fixed number is right for one data set only.",
    "error": "Calling batches({N}, {b}) failed with {error}.",
    "not_whole": "batches({N}, {b}) gave {got!r}, which is not a whole number: a loader hands out "
                 "whole batches. What happens to the observations left over?",
    "kept_last": "batches({N}, {b}) gave {got}: that is the count when the last, smaller batch is "
                 "kept, the default. Read what partial=False changes.",
    "constant": "batches gives {got} for both ({N1}, {b1}) and ({N2}, {b2}): use N and batchsize.",
    "wrong": "batches({N}, {b}) gave {got!r}. The docstring gives len(loader) as a formula: read "
             "the sentence about len(loader) near its end.",
})


@EX2.check
def batches(function):
    """Exercise 2: batches(N, batchsize), len(loader) with partial=False, from the docstring."""
    if not callable(function):
        return Hint("not_function", kind="the value ..." if function is ... else repr(function))
    rng = fresh_rng(1202)
    cases = [(1797, 32)] + [(int(rng.integers(50, 5000)), int(rng.integers(3, 60))) for _ in range(4)]
    cases = [(N, b) for N, b in cases if N % b]                 # the last batch is a partial one
    got = {}
    for N, b in cases:
        value, error = call(function, N, b)
        if error is not None:
            return Hint("error", N=N, b=b, error=describe(error))
        got[N, b] = value
        want = len(fl.DataLoader(np.zeros(N), batchsize=b, partial=False))
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)):
            return Hint("wrong", N=N, b=b, got=value)
        if value == want:
            continue
        if float(value) != int(value):
            return Hint("not_whole", N=N, b=b, got=value)
        if value == len(fl.DataLoader(np.zeros(N), batchsize=b)):
            return Hint("kept_last", N=N, b=b, got=value)
        (N1, b1), (N2, b2) = cases[:2]
        if got.get((N1, b1)) is not None and value == got[N1, b1] and (N, b) != (N1, b1):
            return Hint("constant", got=value, N1=N1, b1=b1, N2=N, b2=b)
        return Hint("wrong", N=N, b=b, got=value)
    return None


def progress():
    """Print which of this lesson's exercises have passed so far."""
    _progress(LESSON)
