"""Loss functions, with Flux's names, argument order, defaults and formulas.

Every loss takes the prediction first and the target second, ``loss(ŷ, y)``,
as in Flux (``Flux.Losses``), and reduces the elementwise losses with the
``agg=`` keyword:

* ``agg=np.mean`` (the default): the mean over every element (or every sample);
* ``agg=np.sum``: the total (Python's builtin ``sum`` is read as ``np.sum``);
* any function of one array, e.g. ``agg=lambda l: np.mean(w * l)`` for weights.

Class probabilities run along **axis 0** (Flux's ``dims=1``): a batch of
predictions is ``classes × N``. ``axis=`` changes that; Flux's ``dims=``
is accepted too, counted from 1 as in Julia (``dims=1`` is ``axis=0``).

ŷ and y must have the same shape (a number for y is fine). NumPy would
silently broadcast a ``(3, 1)`` prediction against a ``(3,)`` target into a
``(3, 3)`` table of nonsense, so a mismatch is an error naming both shapes.

The small constant ``eps`` (Flux's ``ϵ``, accepted as ``ϵ=`` too) defaults to
the machine epsilon of ŷ's precision: about 1.2e-7 for float32, 2.2e-16 for
float64. It keeps ``log`` away from zero exactly where Flux puts it.

`logitcrossentropy` is one fused primitive with a hand-written pullback
(softmax(ŷ)·Σy - y), because it sits on the hot path of every classifier.
"""
import builtins

import numpy as np

from .activations import logσ
from .autodiff.broadcasting import unbroadcast
from .autodiff.tracer import Tracked, primitive

__all__ = ["mae", "mse", "msle", "huber_loss", "crossentropy", "logitcrossentropy",
           "binarycrossentropy", "logitbinarycrossentropy", "kldivergence", "focal_loss",
           "binary_focal_loss", "xlogy", "xlogx"]


# --------------------------------------------------------------------------- helpers


def _as_array(x):
    """Lists and tuples become arrays; arrays (traced or not) and numbers pass through."""
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def _shape(a):
    """``np.shape(a)``, read straight off arrays (np.shape on a traced array costs a dispatch)."""
    s = getattr(a, "shape", None)
    return s if type(s) is tuple else np.shape(a)


def _check_sizes(ŷ, y, who):
    """ŷ and y must have exactly the same shape, unless one of them is a single number."""
    sŷ, sy = _shape(ŷ), _shape(y)
    if sŷ == sy or sŷ == () or sy == ():
        return
    try:
        bshape = np.broadcast_shapes(sŷ, sy)
        silent = (f" (NumPy would silently broadcast them to {bshape} and compare every "
                  f"prediction with every target)")
    except ValueError:
        silent = ""
    hint = ""
    if int(np.prod(sŷ)) == int(np.prod(sy)):
        hint = f" Both hold {int(np.prod(sy))} numbers, so reshape one: y.reshape({sŷ})."
    elif len(sy) == 1 and len(sŷ) == 2 and sŷ[1] == sy[0]:
        hint = (" y looks like a vector of class labels: turn it into a one-hot matrix "
                "(classes × N) first, e.g. onehotbatch(y, range(classes)).")
    raise ValueError(
        f"{who}(ŷ, y): the prediction ŷ has shape {sŷ} but the target y has shape {sy}; "
        f"a loss compares them element by element, so the shapes must be equal{silent}.{hint}")


def _agg(agg, who):
    if agg is builtins.sum:
        return np.sum  # Flux's `agg=sum`, typed literally
    if not callable(agg):
        raise TypeError(f"{who}: agg must be a function that reduces an array, such as np.mean "
                        f"(the default), np.sum or lambda l: np.mean(w * l); got {agg!r}.")
    return agg


def _axis(axis, dims, who):
    """The class axis: `axis` counts from 0 (NumPy); Flux's `dims` counts from 1 (Julia)."""
    if dims is None:
        return axis
    if axis != 0:
        raise TypeError(f"{who}: give either axis= (NumPy, from 0) or dims= (Flux, from 1), "
                        f"not both.")
    ds = dims if isinstance(dims, (tuple, list)) else (dims,)
    if any(int(d) < 1 for d in ds):
        raise ValueError(f"{who}: dims={dims!r} counts axes from 1 as in Julia (dims=1 is the "
                         f"first axis). With NumPy counting, write axis=0 instead.")
    return tuple(int(d) - 1 for d in ds) if isinstance(dims, (tuple, list)) else int(dims) - 1


def _eps(ŷ, eps, ϵ, who):
    """Flux's ``epseltype(ŷ)``: the machine epsilon of ŷ's floating-point type."""
    if eps is not None and ϵ is not None and eps != ϵ:
        raise TypeError(f"{who}: eps= and ϵ= are two names for the same constant; give one.")
    e = eps if eps is not None else ϵ
    if e is not None:
        return float(e)
    dtype = getattr(ŷ, "dtype", None)
    if dtype is None or not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    return np.finfo(dtype).eps


def _xlogy_fwd(x, y):
    with np.errstate(divide="ignore"):  # x log 0 = -inf for x > 0 is the right answer
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def _xlogy_dy(g, ans, x, y):
    return np.where(x == 0, 0.0, g * x / np.where(x == 0, 1.0, y))


def _xlogy_dx(g, ans, x, y):
    return np.where(y > 0, g * np.log(np.where(y > 0, y, 1.0)), 0.0)


_XLOGY = primitive(_xlogy_fwd, "xlogy").defvjp(
    lambda g, ans, x, y: unbroadcast(_xlogy_dx(g, ans, x, y), x),
    lambda g, ans, x, y: unbroadcast(_xlogy_dy(g, ans, x, y), y))


def xlogy(x, y):
    """x·log(y), defined as 0 wherever x = 0 (even where y = 0), as in Flux.

    This is what makes cross-entropy with one-hot labels finite: classes
    with label 0 contribute nothing, whatever the predicted probability.
    Derivatives: ∂/∂x = log(y), ∂/∂y = x / y (both 0 where x = 0).

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import xlogy
    >>> xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e]))
    array([0., 2.])
    """
    return _XLOGY(_as_array(x), _as_array(y))


def xlogx(x):
    """x·log(x), defined as 0 at x = 0 (its limit from above), as in Flux.

    >>> import numpy as np
    >>> from fluxlite.losses import xlogx
    >>> xlogx(np.array([0.0, 1.0, np.e]))
    array([0.        , 0.        , 2.71828183])
    """
    x = _as_array(x)
    return _XLOGY(x, x)


# --------------------------------------------------------------------------- regression


def mae(ŷ, y, *, agg=np.mean):
    """Mean absolute error: ``agg(|ŷ - y|)``.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import mae
    >>> float(mae(np.array([1.1, 1.9, 3.1]), np.array([1.0, 2.0, 3.0])))
    0.10000000000000009
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "mae")
    return _agg(agg, "mae")(np.abs(ŷ - y))


def mse(ŷ, y, *, agg=np.mean):
    """Mean squared error: agg((ŷ - y)²).

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import mse
    >>> float(mse(np.array([1.1, 1.9, 3.1]), np.array([1.0, 2.0, 3.0])))
    0.010000000000000018
    >>> float(mse(np.array([1.1, 1.9, 3.1]), np.array([1.0, 2.0, 3.0]), agg=np.sum))
    0.030000000000000054
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "mse")
    d = ŷ - y
    return _agg(agg, "mse")(d * d)


def msle(ŷ, y, *, agg=np.mean, eps=None, ϵ=None):
    """Mean squared logarithmic error: agg((log((ŷ + ϵ) / (y + ϵ)))²).

    It compares ratios, not differences, so under-estimates cost more than
    over-estimates of the same size. ``ϵ`` (default: machine epsilon of ŷ)
    keeps the logarithm finite at zero.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import msle
    >>> round(float(msle(np.array([1.1, 2.2, 3.3]), np.array([1.0, 2.0, 3.0]))), 6)
    0.009084
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "msle")
    e = _eps(ŷ, eps, ϵ, "msle")
    r = np.log((ŷ + e) / (y + e))
    return _agg(agg, "msle")(r * r)


def huber_loss(ŷ, y, *, agg=np.mean, delta=1.0, δ=None):
    """Huber loss: quadratic for small errors, linear for large ones.

    With ``e = |ŷ - y|``::

        loss = ½ e²            if e < δ
               δ (e - ½ δ)     otherwise

    then reduced with `agg`. δ (``delta=``, or ``δ=`` as in Flux) defaults to 1.
    The slope is ŷ - y inside the band and ±δ outside, so one outlier cannot
    dominate the gradient as it does with `mse`.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import huber_loss
    >>> float(huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0])))
    1.3125
    """
    if δ is not None:
        if delta != 1.0 and delta != δ:
            raise TypeError("huber_loss: delta= and δ= are two names for the same width; give one.")
        delta = δ
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "huber_loss")
    delta = float(delta)
    e = np.abs(ŷ - y)
    inside = (e < delta).astype(e.dtype)  # a comparison: no gradient flows through the branch choice
    return _agg(agg, "huber_loss")(0.5 * (e * e) * inside + delta * (e - 0.5 * delta) * (1 - inside))


# --------------------------------------------------------------------------- classification


def crossentropy(ŷ, y, *, axis=0, agg=np.mean, eps=None, ϵ=None, dims=None):
    """Cross-entropy between predicted probabilities ŷ and target distributions y.

    agg(-Σ_axis y · log(ŷ + ϵ)), where y·log(·) is `xlogy` (zero where y is zero)
    and the sum runs over the class axis (axis 0: ``classes × N``), keeping that
    axis, so the default `agg` averages the per-sample losses. ŷ is expected
    to be probabilities, e.g. the output of `softmax`; prefer `logitcrossentropy`
    on the raw scores, which is more stable and faster.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import crossentropy
    >>> from fluxlite.data import onehotbatch
    >>> ŷ = fl.softmax(np.reshape(np.arange(-7.0, 8.0), (5, 3)).T)   # 3 classes × 5 samples
    >>> y = onehotbatch([0, 1, 2, 1, 0], range(3))
    >>> round(float(crossentropy(ŷ, y)), 5)
    1.60761
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "crossentropy")
    axis = _axis(axis, dims, "crossentropy")
    e = _eps(ŷ, eps, ϵ, "crossentropy")
    return _agg(agg, "crossentropy")(-np.sum(_XLOGY(y, ŷ + e), axis=axis, keepdims=True))


def _logsoftmax_np(x, axis):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _count(x, axis):
    """How many per-sample losses there are: every element except along the class axis."""
    if type(axis) is int:
        return x.size // x.shape[axis]
    axes = axis if isinstance(axis, tuple) else (axis,)
    n = x.size
    for a in axes:
        n //= x.shape[a]
    return n


# The fused loss. Forward: with z = ŷ - max(ŷ) and S = Σ exp(z) along the class axis,
# logsoftmax(ŷ) = z - log S, so loss = -Σ y (z - log S) (divided by n for the mean).
# Pullback: softmax(ŷ)·Σy - y = exp(z)/S · Σy - y, scaled by g (and 1/n).
# The forward keeps exp(z) and S of the last logits array it saw, as one tuple
# (replaced atomically); the backward pass receives that very array object and reuses
# them instead of computing exp again. Methods (x.max, x.sum) rather than np.max/np.sum
# skip NumPy's dispatch layer; both are traced when this runs inside a nested gradient.
_LAST = [(None, None, None, None)]  # [(logits array, axis, exp(z), S)]


def _plain(a):
    """True for NumPy arrays and scalars that no tape is tracing (safe to update in place)."""
    return type(a) is not Tracked


def _lce_fwd(ŷ, y, axis, mean):
    if type(ŷ) is np.ndarray and type(y) is np.ndarray:
        # The hot path (plain arrays): ufuncs called directly, one temporary updated in place,
        # and Σ y·z as one dot product.
        z = np.subtract(ŷ, np.maximum.reduce(ŷ, axis=axis, keepdims=True))
        e = np.exp(z)
        S = np.add.reduce(e, axis=axis, keepdims=True)
        _LAST[0] = (ŷ, axis, e, S)
        np.subtract(z, np.log(S), out=z)
        total = -(np.vdot(y, z) if y.shape == z.shape else np.add.reduce(y * z, axis=None))
        return total / _count(ŷ, axis) if mean else total
    z = ŷ - ŷ.max(axis=axis, keepdims=True)
    e = np.exp(z)
    S = e.sum(axis=axis, keepdims=True)
    _LAST[0] = (ŷ, axis, e, S)
    if _plain(z):
        z -= np.log(S)
    else:
        z = z - np.log(S)
    total = -(y * z).sum()
    return total / _count(ŷ, axis) if mean else total


def _lce_softmax(ŷ, axis):
    seen, seen_axis, e, S = _LAST[0]
    if seen is ŷ and seen_axis == axis:
        _LAST[0] = (None, None, None, None)  # used once: let the arrays go
        return e / S
    z = ŷ - ŷ.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _lce_dŷ(g, ans, ŷ, y, axis, mean):
    # softmax(ŷ)·Σy - y, which is softmax(ŷ) - y when each column of y sums to one.
    p = _lce_softmax(ŷ, axis)
    scale = g / _count(ŷ, axis) if mean else g
    if type(p) is np.ndarray and type(y) is np.ndarray and y.dtype == p.dtype \
            and (type(scale) is p.dtype.type or _plain(scale) and p.dtype == np.result_type(p, scale)):
        np.multiply(p, np.add.reduce(y, axis=axis, keepdims=True), out=p)
        np.subtract(p, y, out=p)
        np.multiply(p, scale, out=p)
        return p
    ysum = y.sum(axis=axis, keepdims=True)
    return (p * ysum - y) * scale


def _lce_dy(g, ans, ŷ, y, axis, mean):
    return -_logsoftmax_np(ŷ, axis) * (g / _count(ŷ, axis) if mean else g)


_LOGITCE = primitive(_lce_fwd, "logitcrossentropy").defvjp(_lce_dŷ, _lce_dy)


# Per-sample losses (1 × N), for any other `agg`.
def _lce_rows_fwd(ŷ, y, axis):
    return -np.sum(y * _logsoftmax_np(ŷ, axis), axis=axis, keepdims=True)


_LOGITCE_ROWS = primitive(_lce_rows_fwd, "logitcrossentropy_rows").defvjp(
    lambda g, ans, ŷ, y, axis: (np.exp(_logsoftmax_np(ŷ, axis)) * np.sum(y, axis=axis, keepdims=True)
                                - y) * g,
    lambda g, ans, ŷ, y, axis: -_logsoftmax_np(ŷ, axis) * g)


def logitcrossentropy(ŷ, y, *, axis=0, agg=np.mean, dims=None):
    """Cross-entropy computed from raw scores (logits): ``crossentropy(softmax(ŷ), y)``, stably.

    agg(-Σ_axis y · logsoftmax(ŷ)), the class axis being axis 0 (``classes × N``).
    It is one fused operation: the forward pass uses a stable logsoftmax
    (subtracting the column maximum), so logits of ±1000 give finite losses,
    and the pullback is the closed form

        ∂loss/∂ŷ = (softmax(ŷ) · Σ_axis y - y) / n     (n samples, agg=np.mean)

    which is softmax(ŷ) - y for one-hot or probability targets. ``agg=np.sum``
    drops the 1/n; any other `agg` receives the 1 × N per-sample losses.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import crossentropy, logitcrossentropy
    >>> from fluxlite.data import onehotbatch
    >>> ŷ = np.array([[2.0, -1.0], [0.5, 3.0], [-1.0, 0.0]])   # 3 classes × 2 samples
    >>> y = onehotbatch([0, 1], range(3))
    >>> round(float(logitcrossentropy(ŷ, y)), 6)
    0.153598
    >>> abs(float(logitcrossentropy(ŷ, y)) - float(crossentropy(fl.softmax(ŷ), y))) < 1e-12
    True
    >>> fl.gradient(lambda s: logitcrossentropy(s, y, agg=np.sum), ŷ)[0].round(3)
    array([[-0.214,  0.017],
           [ 0.175, -0.064],
           [ 0.039,  0.047]])
    """
    if (agg is np.mean and axis == 0 and dims is None and type(y) is np.ndarray
            and getattr(ŷ, "shape", None) == y.shape):
        return _LOGITCE(ŷ, y, 0, True)  # the usual call (axis 0, mean), checks passed
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "logitcrossentropy")
    axis = _axis(axis, dims, "logitcrossentropy")
    if _shape(y) == ():
        y = np.broadcast_to(y, _shape(ŷ))
    agg = _agg(agg, "logitcrossentropy")
    if agg is np.mean or agg is np.sum:
        return _LOGITCE(ŷ, y, axis=axis, mean=agg is np.mean)
    return agg(_LOGITCE_ROWS(ŷ, y, axis=axis))


def binarycrossentropy(ŷ, y, *, agg=np.mean, eps=None, ϵ=None):
    """Binary cross-entropy for predicted probabilities ŷ ∈ (0, 1) and targets y ∈ [0, 1].

    agg(-y · log(ŷ + ϵ) - (1 - y) · log(1 - ŷ + ϵ)), with Flux's placement of ϵ
    (inside both logarithms) and `xlogy`, so y = 0 or y = 1 drops a term
    exactly. Prefer `logitbinarycrossentropy` on raw scores.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import binarycrossentropy
    >>> ŷ = np.array([0.7310585786, 0.5, 0.7310585786])
    >>> round(float(binarycrossentropy(ŷ, np.array([1.0, 0.0, 1.0]))), 5)
    0.43989
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "binarycrossentropy")
    e = _eps(ŷ, eps, ϵ, "binarycrossentropy")
    return _agg(agg, "binarycrossentropy")(-_XLOGY(y, ŷ + e) - _XLOGY(1 - y, 1 - ŷ + e))


def logitbinarycrossentropy(ŷ, y, *, agg=np.mean):
    """Binary cross-entropy from raw scores: ``binarycrossentropy(σ(ŷ), y)``, stably.

    agg((1 - y) · ŷ - logσ(ŷ)), where logσ(ŷ) = -softplus(-ŷ) never overflows,
    so scores of ±1000 give finite losses. Its slope is σ(ŷ) - y.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import logitbinarycrossentropy
    >>> ŷ, y = np.array([2.0, -1.0, np.pi]), np.array([1.0, 0.0, 1.0])
    >>> round(float(logitbinarycrossentropy(ŷ, y)), 6)
    0.160832
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "logitbinarycrossentropy")
    return _agg(agg, "logitbinarycrossentropy")((1 - y) * ŷ - logσ(ŷ))


def kldivergence(ŷ, y, *, axis=0, agg=np.mean, eps=None, ϵ=None, dims=None):
    """Kullback-Leibler divergence of the target distribution y from the prediction ŷ.

    KL = agg(Σ_axis y · log y) + crossentropy(ŷ, y): the entropy of y plus the
    cross-entropy, each aggregated with `agg`, as in Flux. It is never
    negative, and zero only when ŷ = y.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import kldivergence
    >>> p1, p2 = np.eye(2), np.full((2, 2), 0.5)
    >>> bool(np.isclose(kldivergence(p2, p1), np.log(2)))
    True
    >>> bool(np.isclose(kldivergence(p2, p1, agg=np.sum), 2 * np.log(2)))
    True
    """
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "kldivergence")
    axis = _axis(axis, dims, "kldivergence")
    e = _eps(ŷ, eps, ϵ, "kldivergence")
    agg = _agg(agg, "kldivergence")
    entropy = agg(np.sum(xlogx(y), axis=axis, keepdims=True))
    return entropy + crossentropy(ŷ, y, axis=axis, agg=agg, eps=e)


def focal_loss(ŷ, y, *, axis=0, agg=np.mean, gamma=2.0, γ=None, eps=None, ϵ=None, dims=None):
    """Focal loss (Lin et al. 2017) for predicted probabilities ŷ (``classes × N``) and one-hot y.

    agg(Σ_axis -y · (1 - ŷϵ)^γ · log(ŷϵ)) with ŷϵ = ŷ + ϵ: cross-entropy in which
    each term is weighted by (1 - ŷϵ)^γ, so confident, correct predictions count
    for little and training focuses on the hard examples. γ = 0 gives
    `crossentropy`. ``gamma=`` (or ``γ=``) defaults to 2, as in Flux.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import crossentropy, focal_loss
    >>> ŷ = fl.softmax(np.array([[2.0, 0.0], [0.0, 2.0]]))
    >>> y = np.eye(2)
    >>> round(float(focal_loss(ŷ, y)), 6)
    0.001804
    >>> bool(np.isclose(focal_loss(ŷ, y, γ=0), crossentropy(ŷ, y)))
    True
    """
    if γ is not None:
        gamma = γ
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "focal_loss")
    axis = _axis(axis, dims, "focal_loss")
    e = _eps(ŷ, eps, ϵ, "focal_loss")
    ŷϵ = ŷ + e
    terms = -y * (1 - ŷϵ) ** float(gamma) * np.log(ŷϵ)
    return _agg(agg, "focal_loss")(np.sum(terms, axis=axis, keepdims=True))


def binary_focal_loss(ŷ, y, *, agg=np.mean, gamma=2.0, γ=None, eps=None, ϵ=None):
    """Binary focal loss: agg(-(1 - pₜ)^γ · log(pₜ)), with pₜ = y·ŷϵ + (1 - y)(1 - ŷϵ), ŷϵ = ŷ + ϵ.

    pₜ is the probability given to the true outcome; γ = 0 gives
    `binarycrossentropy` (up to where ϵ sits). ``gamma=`` (or ``γ=``) defaults to 2.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.losses import binary_focal_loss
    >>> ŷ, y = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 1.0])
    >>> round(float(binary_focal_loss(ŷ, y)), 6)
    0.03057
    """
    if γ is not None:
        gamma = γ
    ŷ, y = _as_array(ŷ), _as_array(y)
    _check_sizes(ŷ, y, "binary_focal_loss")
    e = _eps(ŷ, eps, ϵ, "binary_focal_loss")
    ŷϵ = ŷ + e
    pt = y * ŷϵ + (1 - y) * (1 - ŷϵ)
    return _agg(agg, "binary_focal_loss")(-((1 - pt) ** float(gamma)) * np.log(pt))
