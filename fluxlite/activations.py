"""Activation functions, with NNlib's definitions and numerically stable forms.

They work elementwise on arrays (no broadcasting dot needed: ``σ(x)``, not
``σ.(x)``), inside and outside `gradient`. Each is one primitive: a stable
NumPy forward and a pullback using the saved output where it can.
`softmax` and `logsoftmax` work along axis 0, Flux's feature axis.
"""
import math

import numpy as np

from .autodiff.tracer import primitive

__all__ = ["σ", "sigmoid", "relu", "leakyrelu", "elu", "gelu", "swish", "softplus", "logσ",
           "logsigmoid", "tanh", "softmax", "logsoftmax", "celu", "selu", "relu6", "hardtanh",
           "hardsigmoid", "softsign"]


def _scalar(out):
    """np.where turns a number into a 0-d array; NumPy's ufuncs (np.tanh) give a NumPy scalar.
    Do as the ufuncs, so fl.σ(0.5) prints like np.tanh(0.5)."""
    return out[()] if type(out) is np.ndarray and out.ndim == 0 else out


def _sigmoid(x):
    # t = exp(-|x|), with |x| written as the branch taken below: np.abs has slope 0 at x = 0,
    # which nested gradients (that differentiate this forward) would see as σ'(0) = 0.
    t = np.exp(np.where(x >= 0, -x, x))
    return _scalar(np.where(x >= 0, 1 / (1 + t), t / (1 + t)))


_SIGMOID = primitive(_sigmoid, "σ").defvjp(lambda g, ans, x: g * ans * (1 - ans))


def σ(x):
    """The logistic sigmoid, σ(x) = 1 / (1 + exp(-x)), computed without overflow.

    Its derivative is σ(x)(1 - σ(x)). ``fl.sigmoid`` is the same function.

    >>> import numpy as np, fluxlite as fl
    >>> fl.σ(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    return _SIGMOID(x)


sigmoid = σ

_RELU = primitive(lambda x: np.maximum(x, 0.0), "relu").defvjp(lambda g, ans, x: g * (x > 0))


def relu(x):
    """Rectified linear unit, relu(x) = max(0, x); slope 1 for x > 0, else 0.

    >>> import numpy as np, fluxlite as fl
    >>> fl.relu(np.array([-2.0, 3.0]))
    array([0., 3.])
    """
    return _RELU(x)


_LEAKY = primitive(lambda x, a: _scalar(np.where(x > 0, x, a * x)), "leakyrelu").defvjp(
    lambda g, ans, x, a: g * np.where(x > 0, 1.0, a))


def leakyrelu(x, a=0.01):
    """Leaky relu: x for x > 0, else a·x (a = 0.01, as in NNlib).

    >>> import numpy as np, fluxlite as fl
    >>> fl.leakyrelu(np.array([-10.0, 2.0]))
    array([-0.1,  2. ])
    """
    return _LEAKY(x, a)


_ELU = primitive(lambda x, alpha: _scalar(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))),
                 "elu").defvjp(lambda g, ans, x, alpha: g * np.where(x > 0, 1.0, ans + alpha))


def elu(x, alpha=1.0):
    """Exponential linear unit: x for x > 0, else α(exp(x) - 1).

    >>> import numpy as np, fluxlite as fl
    >>> fl.elu(np.array([-1.0, 1.0])).round(4)
    array([-0.6321,  1.    ])
    """
    return _ELU(x, alpha)


_CELU = primitive(lambda x, alpha: _scalar(np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0.0) / alpha))),
                  "celu").defvjp(lambda g, ans, x, alpha: g * np.where(x > 0, 1.0, ans / alpha + 1))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: x for x ≥ 0, else α(exp(x/α) - 1).

    >>> import numpy as np, fluxlite as fl
    >>> fl.celu(np.array([-10.0, 1.0])).round(5)
    array([-0.99995,  1.     ])
    """
    return _CELU(x, alpha)


_SELU_L = 1.0507009873554804934193349852946
_SELU_A = 1.6732632423543772848170429916717
_SELU = primitive(lambda x: _SELU_L * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0.0))),
                  "selu").defvjp(lambda g, ans, x: g * np.where(x > 0, _SELU_L, ans + _SELU_A * _SELU_L))


def selu(x):
    """Scaled ELU: λ·x for x > 0, else λα(exp(x) - 1), with λ ≈ 1.0507 and α ≈ 1.6733.

    >>> import numpy as np, fluxlite as fl
    >>> fl.selu(np.array([-10.0])).round(4)
    array([-1.758])
    """
    return _SELU(x)


_GELU_L = math.sqrt(2 / math.pi)
_GELU_A = 0.044715


def _gelu_slope(x):
    t = np.tanh(_GELU_L * (x + _GELU_A * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_L * (1 + 3 * _GELU_A * x * x)


_GELU = primitive(lambda x: 0.5 * x * (1 + np.tanh(_GELU_L * (x + _GELU_A * x ** 3))),
                  "gelu").defvjp(lambda g, ans, x: g * _gelu_slope(x))


def gelu(x):
    """Gaussian error linear unit, in the tanh form NNlib uses by default:
    gelu(x) = x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))).

    >>> import numpy as np, fluxlite as fl
    >>> fl.gelu(np.array([-1.0, 0.0, 1.0])).round(4)
    array([-0.1588,  0.    ,  0.8412])
    """
    return _GELU(x)


def swish(x):
    """Swish, x·σ(x): a smooth relu that dips slightly below zero.

    >>> import numpy as np, fluxlite as fl
    >>> fl.swish(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7311])
    """
    return x * σ(x)


_SOFTPLUS = primitive(lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0), "softplus").defvjp(
    lambda g, ans, x: g * σ(x))


def softplus(x):
    """softplus(x) = log(1 + exp(x)), computed as ``log1p(exp(-|x|)) + max(x, 0)``; slope σ(x).

    >>> import numpy as np, fluxlite as fl
    >>> fl.softplus(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.6931471805599453, 1000.0]
    """
    return _SOFTPLUS(x)


def logσ(x):
    """log(σ(x)) without underflow: -softplus(-x). ``fl.logsigmoid`` is the same.

    >>> import numpy as np, fluxlite as fl
    >>> fl.logσ(np.array([-1000.0, 0.0])).tolist()
    [-1000.0, -0.6931471805599453]
    """
    return -softplus(-x)


logsigmoid = logσ


def tanh(x):
    """Hyperbolic tangent, the same as ``np.tanh`` (NNlib's ``tanh_fast``); slope 1 - tanh².

    >>> import numpy as np, fluxlite as fl
    >>> fl.tanh(np.array([0.0, 100.0]))
    array([0., 1.])
    """
    return np.tanh(x)


_RELU6 = primitive(lambda x: np.clip(x, 0.0, 6.0), "relu6").defvjp(
    lambda g, ans, x: g * ((x > 0) & (x < 6)))


def relu6(x):
    """relu capped at 6: min(max(0, x), 6).

    >>> import numpy as np, fluxlite as fl
    >>> fl.relu6(np.array([-1.0, 3.0, 9.0]))
    array([0., 3., 6.])
    """
    return _RELU6(x)


_HARDTANH = primitive(lambda x: np.clip(x, -1.0, 1.0), "hardtanh").defvjp(
    lambda g, ans, x: g * ((x > -1) & (x < 1)))


def hardtanh(x):
    """Piecewise-linear tanh: x clamped to [-1, 1].

    >>> import numpy as np, fluxlite as fl
    >>> fl.hardtanh(np.array([-3.0, 0.5, 3.0]))
    array([-1. ,  0.5,  1. ])
    """
    return _HARDTANH(x)


_HARDSIG = primitive(lambda x: np.clip((x + 3) / 6, 0.0, 1.0), "hardσ").defvjp(
    lambda g, ans, x: g * ((x > -3) & (x < 3)) / 6)


def hardsigmoid(x):
    """Piecewise-linear sigmoid, NNlib's hardσ: max(0, min(1, (x + 3)/6)).

    >>> import numpy as np, fluxlite as fl
    >>> fl.hardsigmoid(np.array([-4.0, 0.0, 4.0]))
    array([0. , 0.5, 1. ])
    """
    return _HARDSIG(x)


def softsign(x):
    """softsign(x) = ``x / (1 + |x|)``.

    >>> import numpy as np, fluxlite as fl
    >>> fl.softsign(np.array([1.0, 100.0])).round(6)
    array([0.5     , 0.990099])
    """
    return x / (1 + np.abs(x))


_SOFTMAX = primitive(lambda x, axis: _softmax(x, axis), "softmax").defvjp(
    lambda g, ans, x, axis: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)))


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax(x, axis=0):
    """softmax(x) = exp(x) / sum(exp(x)) along `axis` (0: each column, as Flux's ``dims=1``).

    Subtracting the maximum first keeps exp from overflowing.

    >>> import numpy as np, fluxlite as fl
    >>> p = fl.softmax(np.array([[1.0, 1000.0], [1.0, 0.0]]))
    >>> p
    array([[0.5, 1. ],
           [0.5, 0. ]])
    >>> p.sum(axis=0)
    array([1., 1.])
    """
    return _SOFTMAX(x, axis)


def _logsoftmax(x, axis):
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


_LOGSOFTMAX = primitive(_logsoftmax, "logsoftmax").defvjp(
    lambda g, ans, x, axis: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True))


def logsoftmax(x, axis=0):
    """log(softmax(x)) along `axis`, computed stably as x - max - log(sum(exp(x - max))).

    >>> import numpy as np, fluxlite as fl
    >>> fl.logsoftmax(np.array([0.0, 0.0])).round(4)
    array([-0.6931, -0.6931])
    """
    return _LOGSOFTMAX(x, axis)
