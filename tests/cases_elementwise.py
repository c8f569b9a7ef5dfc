"""Gradcheck cases for the elementwise family (see `casefactory`): one `case(...)` line per operation.

Values are kept away from the points where a function jumps or has a kink (``avoid``), since
a finite difference across a jump means nothing; the special points that do have a gradient
(sinc at 0, nan_to_num's replaced values, heaviside's value at 0) get cases of their own.
"""
import numpy as np  # noqa: F401
from hypothesis import strategies as st  # noqa: F401
from hypothesis.extra import numpy as hnp

from casefactory import call, case, one, pair  # noqa: F401
from strategies import (arrays, axes, broadcast_shapes, one_axis, scalars, separated,  # noqa: F401
                        shapes)

# --------------------------------------------------------------------------- maths functions

case("np.fabs", np.fabs, one(avoid=(0.0,)))
case("np.arccosh", np.arccosh, one(1.2, 3.0))
case("np.logaddexp2", np.logaddexp2, pair(-3.0, 3.0))
case("np.deg2rad", np.deg2rad, one(-200.0, 200.0))
case("np.radians", np.radians, one(-200.0, 200.0))
case("np.rad2deg", np.rad2deg, one(-3.0, 3.0))
case("np.degrees", np.degrees, one(-3.0, 3.0))
case("np.sinc", np.sinc, one(-2.5, 2.5))
case("np.sinc near 0", np.sinc, one(-0.6, 0.6))


@st.composite
def with_zeros(draw, lo=-2.0, hi=2.0):
    """An array of at least one element, some of them exactly 0."""
    x = np.array(draw(arrays(min_dims=1, lo=lo, hi=hi)))
    x[draw(hnp.arrays(np.bool_, x.shape))] = 0.0
    x.flat[0] = 0.0
    return (x,), {}


case("np.sinc at exactly 0 (limits 1, 0, -π²/3)", np.sinc, with_zeros(), order=3)
case("np.fmod (quotient 2)", np.fmod, pair(2.2, 2.8, lo2=1.0, hi2=1.05))
case("np.fmod (quotient -2)", np.fmod, pair(-2.8, -2.2, lo2=1.0, hi2=1.05))
case("np.fmod (quotient 0, negative divisor)", np.fmod, pair(-1.0, 1.0, lo2=-2.5, hi2=-1.5))
case("np.float_power", np.float_power, pair(0.3, 2.5, lo2=-2.0, hi2=2.5))
case("np.ldexp", lambda x, e=0: np.ldexp(x, e), call(arrays(), e=st.integers(-3, 3)),
     covers=[np.ldexp])
case("np.ldexp, integer array of exponents", lambda x, e=0: np.ldexp(x, e),
     call(arrays(shape=(2, 3)), e=hnp.arrays(np.int64, (3,), elements=st.integers(-2, 2))),
     covers=[np.ldexp])
case("np.modf", lambda x: np.modf(x)[0] * 2 + np.modf(x)[1],
     one(-2.9, 2.9, avoid=(-2.0, -1.0, 0.0, 1.0, 2.0)), covers=[np.modf])
case("np.frexp (x > 0)", lambda x: np.frexp(x)[0] + np.frexp(x)[1],
     one(0.3, 3.0, avoid=(0.5, 1.0, 2.0)), covers=[np.frexp])
case("np.frexp (x < 0)", lambda x: np.frexp(x)[0] + np.frexp(x)[1],
     one(-3.0, -0.3, avoid=(-2.0, -1.0, -0.5)), covers=[np.frexp])

case("np.divmod", lambda x, y: np.divmod(x, y)[1] * 2 + np.divmod(x, y)[0],
     pair(2.2, 2.8, lo2=1.0, hi2=1.05), covers=[np.divmod])
case("divmod(x, y)", lambda x, y: divmod(x, y)[1], pair(-2.8, -2.2, lo2=1.0, hi2=1.05),
     covers=[np.divmod])
case("np.nextafter", np.nextafter, pair())

# --------------------------------------------------------------------------- piecewise functions

case("np.copysign", np.copysign, pair(avoid=(0.0,), gap=0.2))
case("np.heaviside", np.heaviside, pair(avoid=(0.0,), gap=0.2))
case("np.heaviside at x = 0 (the value there is h)", lambda h, x=None: np.heaviside(x, h),
     call(arrays(shape=(4,)), x=st.just(np.array([0.0, 1.5, -1.5, 0.0]))), covers=[np.heaviside])

# --------------------------------------------------------------------------- real and complex parts

case("np.conjugate", np.conjugate, one())
case("np.conj", np.conj, one(), covers=[np.conjugate])
case("x.conj()", lambda x: x.conj(), one(), covers=[np.conjugate])
case("np.real", np.real, one())
case("x.real", lambda x: x.real * 2, one(), covers=[np.real])
case("np.real_if_close", np.real_if_close, one())

# --------------------------------------------------------------------------- replacing values


@st.composite
def with_specials(draw):
    """x, nan, posinf, neginf for np.nan_to_num, and a fixed pattern of NaN and infinities that
    is added to x inside (so finite differences see the values nan_to_num puts there)."""
    x = draw(arrays(shape=(5,)))
    special = np.array([0.0, np.nan, np.inf, -np.inf, np.nan])
    return (x, draw(scalars()), draw(scalars()), draw(scalars())), {"special": special}


case("np.nan_to_num(x + specials, nan=, posinf=, neginf=)",
     lambda x, nan, posinf, neginf, special=0.0: np.nan_to_num(
         x + special, nan=nan, posinf=posinf, neginf=neginf), with_specials(),
     covers=[np.nan_to_num])
case("np.nan_to_num with NaNs, default values",
     lambda x, special=0.0: np.nan_to_num(x + special),
     call(arrays(shape=(3,)), special=st.just(np.array([np.nan, 0.0, np.nan]))),
     covers=[np.nan_to_num])


@st.composite
def select_args(draw):
    """x, y and the default for np.select, broadcastable together."""
    sx, sy, sd = draw(broadcast_shapes(num_shapes=3))
    x = draw(arrays(sx, avoid=(-0.5, 0.5), gap=0.1))
    return (x, draw(arrays(sy)), draw(arrays(sd))), {}


case("np.select([x > 0.5, x < -0.5], [2x, y], default)",
     lambda x, y, d: np.select([x > 0.5, x < -0.5], [2 * x, y], d), select_args(),
     covers=[np.select])
case("np.select, overlapping conditions: the first wins",
     lambda x, y: np.select([x > 0.5, x > -0.5], [x ** 2, y]), pair(avoid=(-0.5, 0.5)),
     covers=[np.select])

# --------------------------------------------------------------------------- values taken from x

case("np.unique", np.unique, call(separated()))
case("np.unique(x, return_counts=True)[0]", lambda x: np.unique(x, return_counts=True)[0],
     call(separated(shape=(2, 3))), covers=[np.unique])
case("np.unique(x, axis=0)", lambda x: np.unique(x, axis=0), call(separated(shape=(3, 2))),
     covers=[np.unique])
case("np.bincount(i, weights=w)", lambda w, i=None: np.bincount(i, weights=w, minlength=5),
     call(arrays(shape=(4,)), i=st.just(np.array([0, 2, 0, 3]))), covers=[np.bincount])
