"""Elementwise arithmetic and maths functions: NumPy ufuncs and their pullbacks, and the
functions that select or replace elements (np.where, np.clip, np.select, np.nan_to_num,
np.unique, np.bincount).

Each line pairs a ufunc with one pullback per argument, ``(g, ans, x[, y]) -> grad``,
where ``g`` is the gradient of the output ``ans``. Two-argument ufuncs broadcast,
so their pullbacks end in `unbroadcast`.

The calculus, one rule per line::

    d(x + y) = dx + dy          d(x * y) = y dx + x dy        d(x / y) = dx / y - x dy / y²
    d(x ** y) = y x^(y-1) dx + x^y log(x) dy                  d exp(x) = exp(x) dx
    d log(x) = dx / x           d sqrt(x) = dx / (2 sqrt x)   d tanh(x) = (1 - tanh² x) dx
    d arccosh(x) = dx / sqrt(x² - 1)    d logaddexp2(x, y) = 2^(x - ans) dx + 2^(y - ans) dy
    d sinc(x): see `_sinc_derivative`, which gives every order, at 0 too

Real inputs only (complex ones are refused), so np.conjugate and np.real pass the gradient
through, and np.imag and np.angle are constants. Piecewise-constant functions (sign, floor,
heaviside in x, the integer part of np.modf) carry no gradient; where a function jumps, the
slope given is that of the pieces, as for floor.
"""
import math

import numpy as np

from ..autodiff.broadcasting import unbroadcast as ub
from ..autodiff.tracer import (CONSTANT_FUNCTIONS, CONSTANT_UFUNCS, DECOMPOSED_FUNCTIONS,
                               FUNCTIONS, MULTI_UFUNCS, UFUNCS, primitive, untrace)


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
# np.fmod(x, y) = x - trunc(x / y) y, and the integer quotient is (x - ans) / y
defufunc(np.fmod, lambda g, ans, x, y: ub(g, x),
         lambda g, ans, x, y: ub(-g * np.rint((x - ans) / y), y))
# np.float_power is np.power computed in float64
defufunc(np.float_power,
         lambda g, ans, x, y: ub(g * y * np.float_power(x, np.where((y == 0) & (x == 0), 1, y - 1)), x),
         lambda g, ans, x, y: ub(g * ans * _safe_log(x), y))
defufunc(np.ldexp, lambda g, ans, x, e: ub(np.ldexp(g, e), x), None)  # x 2^e, e an integer
# np.modf(x) = (fractional part, integer part); np.frexp(x) = (mantissa x 2^-e, exponent e)
MODF = primitive(lambda x: np.modf(x)[0], "numpy.modf").defvjp(lambda g, ans, x: g)
FREXP = primitive(lambda x: np.frexp(x)[0], "numpy.frexp").defvjp(
    lambda g, ans, x: np.ldexp(g, -np.frexp(x)[1]))
MULTI_UFUNCS[np.modf] = lambda x: (MODF(x), np.modf(untrace(x))[1])
MULTI_UFUNCS[np.divmod] = lambda x, y: (np.floor_divide(untrace(x), untrace(y)), np.remainder(x, y))
# np.nextafter(x, y) moves x by one step of the float grid: slope 1 in x, none in y
defufunc(np.nextafter, lambda g, ans, x, y: ub(g, x), None)
MULTI_UFUNCS[np.frexp] = lambda x: (FREXP(x), np.frexp(untrace(x))[1])

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
defufunc(np.logaddexp2,
         lambda g, ans, x, y: ub(g * np.exp2(x - ans), x),
         lambda g, ans, x, y: ub(g * np.exp2(y - ans), y))

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
defufunc(np.arccosh, lambda g, ans, x: g / np.sqrt((x - 1) * (x + 1)))
defufunc(np.deg2rad, lambda g, ans, x: g * (np.pi / 180))
defufunc(np.radians, lambda g, ans, x: g * (np.pi / 180))
defufunc(np.rad2deg, lambda g, ans, x: g * (180 / np.pi))
defufunc(np.degrees, lambda g, ans, x: g * (180 / np.pi))


def _sinc_derivative(x, n):
    """The n-th derivative of NumPy's normalised sinc, s(x) = sin(πx) / (πx), s(0) = 1.

    Differentiating x s(x) = sin(πx) / π n times gives x s⁽ⁿ⁾ + n s⁽ⁿ⁻¹⁾ = πⁿ⁻¹ cos⁽ⁿ⁻¹⁾(πx),
    which yields s⁽ⁿ⁾ from s⁽ⁿ⁻¹⁾ away from 0. Near 0 that loses digits, and the Taylor series
    s(x) = Σₖ (-1)ᵏ (πx)²ᵏ / (2k+1)! is used instead, differentiated term by term:
    s⁽ⁿ⁾(x) = Σ_{2k ≥ n} (-1)ᵏ π²ᵏ x²ᵏ⁻ⁿ / ((2k+1) (2k-n)!). So s'(0) = 0, s''(0) = -π²/3.
    """
    # Written with traced operations only: under a gradient of a gradient, x is traced.
    dtype = getattr(x, "dtype", np.dtype(np.float64))
    x = x.astype(np.float64) if hasattr(x, "astype") else np.float64(x)
    if n == 0:
        return np.sinc(x).astype(dtype)
    far = np.abs(untrace(x)) >= 0.5
    xf = np.where(far, x, 1.0)
    px = np.pi * xf
    d = np.sinc(xf)
    waves = (np.cos(px), -np.sin(px), -np.cos(px), np.sin(px))  # cos⁽ᵐ⁾(πx) / πᵐ
    for m in range(1, n + 1):
        d = (np.pi ** (m - 1) * waves[(m - 1) % 4] - m * d) / xf
    xn = np.where(far, 0.0, x)
    near = 0.0
    for k in range((n + 1) // 2, (n + 1) // 2 + 20):
        near = near + ((-1) ** k * np.pi ** (2 * k) / ((2 * k + 1) * math.factorial(2 * k - n))
                       * xn ** (2 * k - n))
    return np.where(far, d, near).astype(dtype)


_SINC_DERIVATIVES = {}


def _sinc_d(n):
    """The primitive computing the n-th derivative of sinc; its pullback uses the next one."""
    prim = _SINC_DERIVATIVES.get(n)
    if prim is None:
        prim = _SINC_DERIVATIVES[n] = primitive(
            lambda x: _sinc_derivative(x, n), f"numpy.sinc (derivative {n})").defvjp(
            lambda g, ans, x: g * _sinc_d(n + 1)(x))
    return prim


SINC = primitive(np.sinc, "numpy.sinc").defvjp(lambda g, ans, x: g * _sinc_d(1)(x))
FUNCTIONS[np.sinc] = lambda x: SINC(x)

# Piecewise functions: the slope of the branch taken (ties share it equally).
defufunc(np.absolute, lambda g, ans, x: g * np.sign(x))
defufunc(np.fabs, lambda g, ans, x: g * np.sign(x))
# copysign(x, s) = |x| · (±1 by the sign bit of s); heaviside(x, h) is h where x == 0, else 0 or 1
defufunc(np.copysign, lambda g, ans, x, s: ub(np.where(np.signbit(s), -g, g) * np.sign(x), x), None)
defufunc(np.heaviside, None, lambda g, ans, x, h: ub(g * (x == 0), h))
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
    np.bitwise_and, np.bitwise_or, np.invert, np.spacing,
})
CONSTANT_FUNCTIONS.add(np.fix)  # rounding towards zero

# Real and complex parts of real arrays: the array itself, and zeros.
defufunc(np.conjugate, lambda g, ans, x: g)
FUNCTIONS[np.real] = lambda val: val
CONSTANT_FUNCTIONS.update({np.imag, np.angle, np.isreal, np.iscomplex, np.isposinf, np.isneginf})
DECOMPOSED_FUNCTIONS.add(np.real_if_close)  # a real array is returned as it is


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


def _select(condlist, choicelist, default=0):
    """np.select as a chain of np.where, last condition first, so the first that holds wins and
    the gradient goes to the choice it picked (or to the default where none holds)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(choicelist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conds = [untrace(c) for c in condlist]
    for i, c in enumerate(conds):
        if np.asarray(c).dtype != bool:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    out = default
    for c, choice in zip(reversed(conds), reversed(choicelist)):
        out = WHERE(c, choice, out)
    return out


FUNCTIONS[np.select] = _select

# np.nan_to_num: finite values pass (slope 1), replaced ones come from nan, posinf or neginf.
NAN_TO_NUM = primitive(lambda x, nan, posinf, neginf: np.nan_to_num(
    x, nan=nan, posinf=posinf, neginf=neginf), "numpy.nan_to_num").defvjp(
    lambda g, ans, x, nan, posinf, neginf: g * np.isfinite(x),
    lambda g, ans, x, nan, posinf, neginf: ub(g * np.isnan(x), nan),
    lambda g, ans, x, nan, posinf, neginf: ub(g * (x == np.inf), posinf),
    lambda g, ans, x, nan, posinf, neginf: ub(g * (x == -np.inf), neginf))


def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    if not copy and not np.all(np.isfinite(untrace(x))):
        from ..autodiff.tracer import _refuse_in_place
        _refuse_in_place(x, "np.nan_to_num(x, copy=False) (replaces values in place)")
    return NAN_TO_NUM(x, nan, posinf, neginf)


FUNCTIONS[np.nan_to_num] = _nan_to_num


def _unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None,
            **kwargs):
    """np.unique: the values are elements of `ar`, taken by indexing (which is traced), so the
    gradient of each reaches the element it was taken from (the first of equal ones)."""
    plain = untrace(ar)
    _, index, inverse, counts = np.unique(plain, return_index=True, return_inverse=True,
                                          return_counts=True, axis=axis, **kwargs)
    values = np.reshape(ar, -1)[index] if axis is None else np.take(ar, index, axis=axis)
    wanted = [values] + [r for r, keep in zip((index, inverse, counts),
                                              (return_index, return_inverse, return_counts)) if keep]
    return tuple(wanted) if len(wanted) > 1 else values


def _bincount(x, weights=None, minlength=0):
    """np.bincount with weights: sums of the weights by bin, a product with a one-hot matrix
    (so each weight's gradient is that of its bin). The counts alone carry no gradient."""
    x = untrace(x)
    if weights is None:
        return np.bincount(x, minlength=minlength)
    n = max(int(minlength), int(np.max(x)) + 1 if np.size(x) else 0)
    onehot = (np.arange(n)[:, None] == np.reshape(x, -1)[None, :]).astype(np.float64)
    return onehot @ np.reshape(weights, -1)


FUNCTIONS[np.unique] = _unique
FUNCTIONS[np.bincount] = _bincount
