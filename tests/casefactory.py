"""The gradcheck test factory: one `case(...)` line registers one traceable operation.

`test_primitives.py` runs every registered case (value against NumPy, gradient against
central finite differences, second order through a nested `gradient`) and checks that every
operation in fluxlite's registry has a case. Cases live in ``test_primitives.py`` and in the
family files ``cases_*.py`` beside it (one per primitives module), which it imports.

>>> n = len(CASES)
>>> case("np.tanh, once more", np.tanh, one())
>>> len(CASES) == n + 1 and CASES.pop().covers == (np.tanh,)
True
"""
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from strategies import arrays, broadcast_shapes, grid_pair

__all__ = ["Case", "CASES", "case", "call", "one", "pair", "grid"]


@dataclass
class Case:
    name: str
    fn: object          # fn(*args, **kwargs) -> array; every positional argument is differentiated
    args: object        # strategy of (args, kwargs); kwargs are fixed, not differentiated
    covers: tuple       # registry keys this case exercises
    ref: object = None  # reference for the value (default: fn on plain float64 copies)
    order: int = 2
    bug: str = None     # a known bug: xfail(strict=True) until it is fixed
    rare_bug: str = None  # a bug hypothesis finds only at special values: xfail(strict=False)


CASES = []


def case(name, fn, args, covers=None, **options):
    """Register one operation: one line per op."""
    CASES.append(Case(name, fn, args, tuple((fn,) if covers is None else covers), **options))


def call(*positional, **keywords):
    """A strategy of ``(args, kwargs)``: one strategy per argument and per keyword."""
    return st.tuples(st.tuples(*positional), st.fixed_dictionaries(keywords))


def one(lo=-2.0, hi=2.0, avoid=(), gap=0.1, **kw):
    """One array argument."""
    return call(arrays(lo=lo, hi=hi, avoid=avoid, gap=gap, **kw))


@st.composite
def pair(draw, lo=-2.0, hi=2.0, avoid=(), lo2=None, hi2=None, avoid2=None, gap=0.1):
    """Two array arguments of broadcastable shapes (the gradients must be unbroadcast)."""
    sx, sy = draw(broadcast_shapes())
    x = draw(arrays(sx, lo, hi, avoid, gap))
    y = draw(arrays(sy, lo if lo2 is None else lo2, hi if hi2 is None else hi2,
                    avoid if avoid2 is None else avoid2, gap))
    return (x, y), {}


def grid():
    """Two broadcastable arrays that never tie (for maximum, minimum)."""
    return grid_pair().map(lambda xy: (xy, {}))
