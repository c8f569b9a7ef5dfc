"""Elementwise arithmetic and maths functions: NumPy ufuncs and their pullbacks.

Each line pairs a ufunc with one pullback per argument, ``(g, ans, x[, y]) -> grad``,
where ``g`` is the gradient of the output ``ans``. Two-argument ufuncs broadcast,
so their pullbacks end in `unbroadcast`.

The calculus, one rule per line::

    d(x + y) = dx + dy          d(x * y) = y dx + x dy        d(x / y) = dx / y - x dy / y²
    d(x ** y) = y x^(y-1) dx + x^y log(x) dy                  d exp(x) = exp(x) dx
    d log(x) = dx / x           d sqrt(x) = dx / (2 sqrt x)   d tanh(x) = (1 - tanh² x) dx
"""
import numpy as np

from ..autodiff.broadcasting import unbroadcast as ub
from ..autodiff.tracer import CONSTANT_UFUNCS, FUNCTIONS, UFUNCS, primitive


def defufunc(ufunc, *vjps):
    """Register `ufunc` as a primitive with the given pullbacks."""
    UFUNCS[ufunc] = primitive(ufunc, name=f"numpy.{ufunc.__name__}").defvjp(*vjps)


def _safe_log(x):
    return np.log(np.where(x > 0, x, 1.0))


def _tie_split(x, y):
    """1 where x wins, 0 where y wins, 1/2 on a tie (the average of the one-sided slopes)."""
    return (x > y) + 0.5 * (x == y)


# Arithmetic and reflected operators (x + y, 2 * x, -x, x ** 2, ...).
defufunc(np.add,
         lambda g, ans, x, y: g if g.shape == x.shape else ub(g, x),
         lambda g, ans, x, y: g if g.shape == y.shape else ub(g, y))
defufunc(np.subtract,
         lambda g, ans, x, y: g if g.shape == x.shape else ub(g, x),
         lambda g, ans, x, y: -g if g.shape == y.shape else ub(-g, y))
defufunc(np.multiply, lambda g, ans, x, y: ub(g * y, x), lambda g, ans, x, y: ub(g * x, y))
defufunc(np.divide, lambda g, ans, x, y: ub(g / y, x), lambda g, ans, x, y: ub(-g * ans / y, y))
defufunc(np.negative, lambda g, ans, x: -g)
defufunc(np.positive, lambda g, ans, x: g)
def _power_vjp_x(g, ans, x, y):
    """y x^(y-1). Where y = 0 and x = 0 the exponent 1 is used instead: the slope is 0 either
    way, and 0 * 0^-1 would be nan (here and in every nested derivative)."""
    if type(y) is int or type(y) is float:
        if y == 2:  # the common square: 2 g x
            d = g * x
            if type(d) is np.ndarray:
                d += d  # a fresh array (first order): double it in place
            else:
                d = d + d
            return d if d.shape == x.shape else ub(d, x)
        return ub(g * y * x ** (y - 1 if y != 0 else 1), x)
    return ub(g * y * x ** np.where((y == 0) & (x == 0), 1, y - 1), x)


def _power(x, y, **kwargs):
    """np.power, computed as ``x ** y`` when it can be: NumPy then squares ``x ** 2`` directly,
    which is faster (and what plain NumPy code gets)."""
    return np.power(x, y, **kwargs) if kwargs else x ** y


UFUNCS[np.power] = primitive(_power, "numpy.power").defvjp(
    _power_vjp_x,
    lambda g, ans, x, y: ub(g * ans * _safe_log(x), y))
# x % y = x - floor(x / y) y: slope 1 in x, -floor(x / y) in y (away from the jumps)
defufunc(np.remainder, lambda g, ans, x, y: ub(g, x),
         lambda g, ans, x, y: ub(-g * np.floor_divide(x, y), y))
defufunc(np.square, lambda g, ans, x: g * 2 * x)
defufunc(np.reciprocal, lambda g, ans, x: -g * ans * ans)

# Exponentials and logarithms.
defufunc(np.exp, lambda g, ans, x: g * ans)
defufunc(np.expm1, lambda g, ans, x: g * (ans + 1))
defufunc(np.exp2, lambda g, ans, x: g * ans * np.log(2.0))
defufunc(np.log, lambda g, ans, x: g / x)
defufunc(np.log1p, lambda g, ans, x: g / (1 + x))
defufunc(np.log2, lambda g, ans, x: g / (x * np.log(2.0)))
defufunc(np.log10, lambda g, ans, x: g / (x * np.log(10.0)))
defufunc(np.sqrt, lambda g, ans, x: g / (2 * ans))
defufunc(np.cbrt, lambda g, ans, x: g / (3 * ans * ans))
defufunc(np.logaddexp,
         lambda g, ans, x, y: ub(g * np.exp(x - ans), x),
         lambda g, ans, x, y: ub(g * np.exp(y - ans), y))

# Trigonometric and hyperbolic functions.
defufunc(np.sin, lambda g, ans, x: g * np.cos(x))
defufunc(np.cos, lambda g, ans, x: -g * np.sin(x))
defufunc(np.tan, lambda g, ans, x: g * (1 + ans * ans))
defufunc(np.arcsin, lambda g, ans, x: g / np.sqrt(1 - x * x))
defufunc(np.arccos, lambda g, ans, x: -g / np.sqrt(1 - x * x))
defufunc(np.arctan, lambda g, ans, x: g / (1 + x * x))
defufunc(np.arctan2,
         lambda g, ans, y, x: ub(g * x / (x * x + y * y), y),
         lambda g, ans, y, x: ub(-g * y / (x * x + y * y), x))
defufunc(np.hypot, lambda g, ans, x, y: ub(g * x / ans, x), lambda g, ans, x, y: ub(g * y / ans, y))
defufunc(np.sinh, lambda g, ans, x: g * np.cosh(x))
defufunc(np.cosh, lambda g, ans, x: g * np.sinh(x))
defufunc(np.tanh, lambda g, ans, x: g * (1 - ans * ans))
defufunc(np.arcsinh, lambda g, ans, x: g / np.sqrt(x * x + 1))
defufunc(np.arctanh, lambda g, ans, x: g / (1 - x * x))

# Piecewise functions: the slope of the branch taken (ties share it equally).
defufunc(np.absolute, lambda g, ans, x: g * np.sign(x))
defufunc(np.maximum,
         lambda g, ans, x, y: ub(g * _tie_split(x, y), x),
         lambda g, ans, x, y: ub(g * _tie_split(y, x), y))
defufunc(np.minimum,
         lambda g, ans, x, y: ub(g * _tie_split(y, x), x),
         lambda g, ans, x, y: ub(g * _tie_split(x, y), y))


def _nan_split(x, y):
    """fmax/fmin also pick x where only y is NaN (and neither where both are)."""
    return np.isnan(y) & ~np.isnan(x)


# fmax and fmin ignore a NaN on one side, so where one side is NaN the other gets the gradient.
defufunc(np.fmax,
         lambda g, ans, x, y: ub(g * (_tie_split(x, y) + _nan_split(x, y)), x),
         lambda g, ans, x, y: ub(g * (_tie_split(y, x) + _nan_split(y, x)), y))
defufunc(np.fmin,
         lambda g, ans, x, y: ub(g * (_tie_split(y, x) + _nan_split(x, y)), x),
         lambda g, ans, x, y: ub(g * (_tie_split(x, y) + _nan_split(y, x)), y))

# Results that carry no gradient: comparisons, logic, rounding, tests.
CONSTANT_UFUNCS.update({
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isfinite, np.isinf, np.isnan, np.signbit, np.sign,
    np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
    np.bitwise_and, np.bitwise_or, np.invert,
})


# Selection: np.where and np.clip pass the gradient to whichever input was chosen.
def _where_fwd(cond, x, y):
    return np.where(cond, x, y)


WHERE = primitive(_where_fwd, "numpy.where").defvjp(
    None,
    lambda g, ans, cond, x, y: ub(np.where(cond, g, 0.0), x),
    lambda g, ans, cond, x, y: ub(np.where(cond, 0.0, g), y))


def _where(condition, x=None, y=None):
    from ..autodiff.tracer import untrace
    if x is None and y is None:
        return np.nonzero(untrace(condition))
    return WHERE(untrace(condition), x, y)


def _inside(a, lo, hi):
    keep = np.ones(np.shape(a), dtype=bool)
    if lo is not None:
        keep = keep & (a >= lo)
    if hi is not None:
        keep = keep & (a <= hi)
    return keep


CLIP = primitive(lambda a, lo, hi: np.clip(a, lo, hi), "numpy.clip").defvjp(
    lambda g, ans, a, lo, hi: ub(g * _inside(a, lo, hi), a),
    lambda g, ans, a, lo, hi: ub(g * (a < lo), lo),
    lambda g, ans, a, lo, hi: ub(g * (a > hi), hi))


def _clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue,
          max=np._NoValue, **kwargs):
    lo = a_min if a_min is not np._NoValue else (None if min is np._NoValue else min)
    hi = a_max if a_max is not np._NoValue else (None if max is np._NoValue else max)
    return CLIP(a, lo, hi)


FUNCTIONS[np.where] = _where
FUNCTIONS[np.clip] = _clip
