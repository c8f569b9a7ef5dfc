"""Optimisation rules: one small class per rule, as in Optimisers.jl's ``src/rules.jl``.

A rule holds only its hyperparameters (``eta``, ``beta``, ...). Everything a rule
remembers between steps (momentum, running averages) is its *state*, made by
``rule.init(x)`` for one parameter array ``x``. One method does the work:

    new_state, step = rule.apply(state, x, dx)

turns the gradient ``dx`` into the ``step`` that is then subtracted from the
parameter: ``x -= step``. This is Optimisers.jl's ``apply!`` design. It keeps a
rule a pure description, so one rule can train many arrays, each with its own
state, and you can change a hyperparameter in the middle of training
(``opt.eta = 0.01``): the next step uses the new value.

Conventions in the formulas below: ``g`` is the gradient ``dx``, ``t`` counts the
steps taken (1 on the first step), products and powers are elementwise, and
``βᵗ`` is ``β`` to the power ``t`` (the bias correction of Adam and its family).

The rules never change ``dx`` in place (it is your gradient, or the step of the
rule before in an `OptimiserChain`); they update their own state arrays in place.
Hyperparameters are stored as Python floats and printed the way Julia prints
them, so ``Adam()`` shows as ``Adam(0.001, (0.9, 0.999), 1.0e-8)`` just as in Flux.
"""
import math
import numbers
from decimal import Decimal

import numpy as np

__all__ = ["AbstractRule", "Descent", "Momentum", "Nesterov", "RMSProp", "Adam", "ADAM",
           "AdaMax", "AdaGrad", "AdaDelta", "AMSGrad", "NAdam", "AdamW", "OAdam", "AdaBelief",
           "WeightDecay", "ClipValue", "ClipGrad", "ClipNorm", "OptimiserChain"]


# --------------------------------------------------------------------------- Julia-style printing

def _julia_float(x, compact=False):
    """A float as Julia's ``show`` writes it: ``0.001``, ``1.0e-8``, ``10.0``, ``1.0e6``.

    Julia writes the shortest digits that read back to the same number (as Python's
    ``repr`` does) and switches to ``d.ddde±n`` form outside 1e-4 <= |x| < 1e6.
    ``compact`` keeps at most 6 significant digits, as inside a Julia ``Leaf``.
    """
    x = float(x)
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    text = f"{abs(x):.6g}" if compact else repr(abs(x))
    _, digits, exp = Decimal(text).normalize().as_tuple()
    digits = "".join(map(str, digits))
    point = exp + len(digits)  # the position of the decimal point relative to the digits
    if -4 < point <= 6:
        if point <= 0:
            body = "0." + "0" * -point + digits
        elif point >= len(digits):
            body = digits + "0" * (point - len(digits)) + ".0"
        else:
            body = digits[:point] + "." + digits[point:]
    else:
        body = digits[0] + "." + (digits[1:] or "0") + "e" + str(point - 1)
    return sign + body


_JULIA_ELTYPE = {"float64": "Float64", "float32": "Float32", "float16": "Float16",
                 "int64": "Int64", "int32": "Int32", "bool": "Bool", "complex128": "ComplexF64",
                 "complex64": "ComplexF32"}


def _julia_array(a):
    """An array as Julia shows it inside a compact context: ``Float32[0.0, 0.0]``, or a summary."""
    eltype = _JULIA_ELTYPE.get(a.dtype.name, a.dtype.name)
    if a.ndim == 0:
        return f"fill({_julia(a[()], True)})"
    if a.size > 10 or a.ndim > 2:
        dims = "×".join(map(str, a.shape))
        if a.ndim == 1:
            return f"{a.shape[0]}-element Vector{{{eltype}}}"
        if a.ndim == 2:
            return f"{dims} Matrix{{{eltype}}}"
        return f"{dims} Array{{{eltype}, {a.ndim}}}"
    prefix = "" if eltype in ("Float64", "Int64") else eltype
    if a.ndim == 1:
        body = ", ".join(_julia(v, True) for v in a)
    else:
        body = "; ".join(" ".join(_julia(v, True) for v in row) for row in a)
        if a.shape[1] == 1:
            body += ";;"
    return f"{prefix}[{body}]"


def _julia(v, compact=False):
    """Any hyperparameter or state value, written as Julia would show it."""
    if v is None:
        return "nothing"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return _julia_float(v, compact)
    if isinstance(v, np.ndarray):
        return _julia_array(v)
    if isinstance(v, tuple):
        inner = ", ".join(_julia(x, compact) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, AbstractRule):
        return v._show(compact)
    if isinstance(v, str):
        return '"' + v + '"'
    return repr(v)


# --------------------------------------------------------------------------- checking hyperparameters

def _number(rule, name, v, nonnegative=False, what="a number"):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{rule}: {name} must be {what}, but got {v!r} "
                        f"({type(v).__name__}). Write it as a plain number, e.g. {name}=0.01.")
    v = float(v)
    if nonnegative and not v >= 0:  # `not >=` also catches NaN
        raise ValueError(f"{rule}: {name} must be {what} >= 0, but got {v!r}. "
                         f"{'The learning rate cannot be negative.' if name == 'eta' else ''}"
                         .rstrip())
    return v


def _pair(rule, name, v):
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        raise TypeError(f"{rule}: {name} must be a pair of decay rates like (0.9, 0.999), but got "
                        f"{v!r}. Pass it as one tuple: {rule}(0.001, (0.9, 0.999)).")
    return (_number(rule, f"{name}[0]", v[0]), _number(rule, f"{name}[1]", v[1]))


def _flag(rule, name, v):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{rule}: {name} must be True or False, but got {v!r}.")
    return bool(v)


def _rules(rule, name, v):
    v = tuple(v)
    for i, o in enumerate(v):
        if not isinstance(o, AbstractRule):
            hint = (" (a class: add brackets to make a rule, e.g. fl.Adam())"
                    if isinstance(o, type) and issubclass(o, AbstractRule) else "")
            raise TypeError(f"OptimiserChain: argument {i + 1} must be an optimisation rule such "
                            f"as fl.Descent(0.1), but got {o!r}{hint}.")
    return v


_CHECKS = {
    "eta": lambda r, n, v: _number(r, n, v, True, "a learning rate"),
    "rho": _number,
    "beta": _pair,
    "epsilon": lambda r, n, v: _number(r, n, v, True),
    "lambda_": _number,
    "delta": lambda r, n, v: _number(r, n, v, True, "a threshold"),
    "omega": lambda r, n, v: _number(r, n, v, True, "a threshold"),
    "p": _number,
    "throw": _flag,
    "centred": _flag,
    "couple": _flag,
    "opts": _rules,
}

_HINTS = {"lr": "eta", "learning_rate": "eta", "eps": "epsilon", "betas": "beta", "momentum": "rho",
          "weight_decay": "lambda_", "decay": "lambda_", "gamma": "lambda_", "wd": "lambda_",
          "thresh": "delta", "clip": "delta", "lambda": "lambda_", "centered": "centred"}


class _Store(dict):
    """The per-array state of implicit-style updates: ``id(array) -> [weakref, state]``."""

    __slots__ = ("__weakref__",)


# --------------------------------------------------------------------------- the rules

class AbstractRule:
    """The base class of optimisation rules (Optimisers.jl's ``AbstractRule``).

    A rule lists its hyperparameters in ``_fields`` (that order is how it prints),
    makes per-array state in ``init(x)``, and turns a gradient into a step in
    ``apply(state, x, dx) -> (new_state, step)``. `update_` then does ``x -= step``.
    Setting a hyperparameter checks it, so a typo such as ``opt.lr = 0.1`` is an error.

    A rule of your own needs only those pieces:

    >>> import numpy as np
    >>> from fluxlite.optimise import AbstractRule, update_
    >>> class SignDescent(AbstractRule):
    ...     '''x -= eta * sign(g)'''
    ...     _fields = ("eta",)
    ...     def __init__(self, eta=0.01):
    ...         self.eta = eta
    ...     def apply(self, state, x, dx):
    ...         return state, self.eta * np.sign(dx)
    >>> rule = SignDescent(0.5)
    >>> rule
    SignDescent(0.5)
    >>> x = np.array([1.0, 2.0])
    >>> _ = update_(rule, x, np.array([3.0, -0.1]))
    >>> x
    array([0.5, 2.5])
    """

    _fields = ()
    _stateless = False  # True when init gives None and apply ignores the state: no lookup needed
    # True when apply treats every entry of x on its own, so that it can run once on many
    # arrays joined end to end (see `setup`); `_reads_x`: apply uses the values of x.
    _elementwise = False
    _reads_x = True

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        object.__setattr__(self, "_implicit", _Store())
        return self

    def __setattr__(self, name, value):
        fields = type(self)._fields
        if name in fields:
            check = _CHECKS.get(name)
            if check is not None:
                value = check(type(self).__name__, name, value)
        elif fields and not name.startswith("_"):
            better = _HINTS.get(name)
            hint = (f" Flux calls it {better!r}: write opt.{better} = ..."
                    if better in fields else "")
            raise AttributeError(f"{type(self).__name__} has no hyperparameter {name!r}.{hint} "
                                 f"Its hyperparameters are: {', '.join(fields)}.")
        object.__setattr__(self, name, value)

    def init(self, x):
        """The state this rule keeps for parameter array `x` (None for a rule without state).

        >>> import numpy as np
        >>> from fluxlite.optimise import Momentum
        >>> Momentum().init(np.ones(2))
        array([0., 0.])
        """
        return None

    def apply(self, state, x, dx):
        """Turn gradient `dx` of parameter `x` into ``(new_state, step)``; the caller does ``x -= step``.

        >>> import numpy as np
        >>> from fluxlite.optimise import Descent
        >>> Descent(0.1).apply(None, np.ones(2), np.array([1.0, 2.0]))
        (None, array([0.1, 0.2]))
        """
        raise NotImplementedError(f"{type(self).__name__} must define apply(state, x, dx)")

    def _show(self, compact=False):
        return f"{type(self).__name__}({', '.join(_julia(getattr(self, f), compact) for f in self._fields)})"

    def __repr__(self):
        return self._show()

    def _copy(self):
        """A new rule with the same hyperparameters and no implicit-style state."""
        new = type(self).__new__(type(self))
        for f in self._fields:
            value = getattr(self, f)
            if f == "opts":
                value = tuple(o._copy() for o in value)
            object.__setattr__(new, f, value)
        return new


def _zeros(x):
    return np.zeros(x.shape, x.dtype)


def _filled(x, value):
    return np.full(x.shape, value, x.dtype)


def _array(t):
    """Temporary `t` as an array that can be written into: for a 0-d parameter, NumPy's
    arithmetic gives scalars, which ``out=`` refuses."""
    return t if type(t) is np.ndarray else np.array(t)


class Descent(AbstractRule):
    """Plain gradient descent: ``step = η g``, so ``x -= η g``.

    ``Descent(eta=0.1)``, Flux's default learning rate. The rule keeps no state.

    >>> import numpy as np
    >>> from fluxlite.optimise import Descent
    >>> opt = Descent(0.05)
    >>> opt
    Descent(0.05)
    >>> opt.apply(None, np.zeros(2), np.array([1.0, -2.0]))
    (None, array([ 0.05, -0.1 ]))
    """

    _fields = ("eta",)
    _elementwise = True
    _reads_x = False
    _stateless = True

    def __init__(self, eta=0.1):
        self.eta = eta

    def apply(self, state, x, dx):
        return state, dx * self.eta


class Momentum(AbstractRule):
    """Gradient descent with momentum ``ρ``: a velocity ``v`` (starting at 0) that gathers the steps.

    ``v ← ρ v + η g``, ``step = v``.  ``Momentum(eta=0.01, rho=0.9)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import Momentum
    >>> rule, x, g = Momentum(0.1, 0.5), np.zeros(2), np.array([1.0, -1.0])
    >>> state = rule.init(x)
    >>> state, step = rule.apply(state, x, g); step
    array([ 0.1, -0.1])
    >>> state, step = rule.apply(state, x, g); step   # 0.5 * 0.1 + 0.1
    array([ 0.15, -0.15])
    """

    _fields = ("eta", "rho")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.01, rho=0.9):
        self.eta, self.rho = eta, rho

    def init(self, x):
        return _zeros(x)

    def apply(self, state, x, dx):
        v = state
        np.multiply(v, self.rho, out=v)
        v += self.eta * dx
        return v, v


class Nesterov(AbstractRule):
    """Gradient descent with Nesterov momentum ``ρ``, written with a velocity ``v`` starting at 0.

    ``step = (1 + ρ) η g − ρ² v`` (with the old ``v``), then ``v ← ρ v − η g``.
    ``Nesterov(eta=0.001, rho=0.9)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import Nesterov
    >>> rule, x = Nesterov(0.1, 0.5), np.zeros(1)
    >>> state = rule.init(x)
    >>> state, step = rule.apply(state, x, np.array([1.0])); step   # 1.5 * 0.1 * 1
    array([0.15])
    >>> state
    array([-0.1])
    """

    _fields = ("eta", "rho")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, rho=0.9):
        self.eta, self.rho = eta, rho

    def init(self, x):
        return _zeros(x)

    def apply(self, state, x, dx):
        eta, rho = self.eta, self.rho
        v = state
        step = dx * ((1 + rho) * eta)
        step -= (rho * rho) * v
        np.multiply(v, rho, out=v)
        v -= eta * dx
        return v, step


class RMSProp(AbstractRule):
    """RMSProp: divide the step by a running root-mean-square of the gradient.

    ``q ← ρ q + (1 − ρ) g²``, ``step = η g / (√q + ε)``, with ``q`` starting at 0.
    Centred RMSProp (``centred=True``) also tracks the mean ``m ← ρ m + (1 − ρ) g`` and uses
    ``√(q − m²)``, an estimate of the variance, instead of ``√q``.
    ``RMSProp(eta=0.001, rho=0.9, epsilon=1e-8, centred=False)``; ``centered=`` is accepted too.

    >>> import numpy as np
    >>> from fluxlite.optimise import RMSProp
    >>> RMSProp()
    RMSProp(0.001, 0.9, 1.0e-8; centred = false)
    >>> rule, x = RMSProp(0.01, 0.75, 0.0), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([2.0]))
    >>> step   # q = 0.25 * 4 = 1, so the step is 0.01 * 2 / 1
    array([0.02])
    """

    _fields = ("eta", "rho", "epsilon", "centred")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, rho=0.9, epsilon=1e-8, *, centred=False, centered=False):
        self.eta, self.rho, self.epsilon = eta, rho, epsilon
        self.centred = _flag("RMSProp", "centred", centred) or _flag("RMSProp", "centered", centered)

    def _show(self, compact=False):
        nums = ", ".join(_julia(getattr(self, f), compact) for f in ("eta", "rho", "epsilon"))
        return f"RMSProp({nums}; centred = {_julia(self.centred)})"

    def init(self, x):
        return (_zeros(x), _zeros(x) if self.centred else None)

    def apply(self, state, x, dx):
        rho = self.rho
        quad, lin = state
        np.multiply(quad, rho, out=quad)
        quad += (1 - rho) * (dx * dx)
        if lin is not None:
            np.multiply(lin, rho, out=lin)
            lin += (1 - rho) * dx
            den = np.sqrt(quad - lin * lin)
        else:
            den = np.sqrt(quad)
        den += self.epsilon
        step = dx * self.eta
        step /= den
        return (quad, lin), step


class Adam(AbstractRule):
    """Adam: momentum on the gradient and on its square, with bias correction.

    ``m ← β₁ m + (1 − β₁) g``, ``v ← β₂ v + (1 − β₂) g²`` (both starting at 0), then

        step = η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

    so ε sits *outside* the square root, after the bias correction, as in Flux.
    ``Adam(eta=0.001, beta=(0.9, 0.999), epsilon=1e-8)``; ``ADAM`` is the same class
    (the older Flux name that the tutorial uses).

    >>> import numpy as np
    >>> from fluxlite.optimise import Adam
    >>> Adam()
    Adam(0.001, (0.9, 0.999), 1.0e-8)
    >>> rule, x = Adam(0.1), np.zeros(2)
    >>> state, step = rule.apply(rule.init(x), x, np.array([3.0, -0.5]))
    >>> np.round(step, 6)   # the first Adam step is η · sign(g), whatever the size of g
    array([ 0.1, -0.1])
    """

    _fields = ("eta", "beta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, beta=(0.9, 0.999), epsilon=1e-8):
        self.eta, self.beta, self.epsilon = eta, beta, epsilon

    def init(self, x):
        return (_zeros(x), _zeros(x), self.beta)

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        mt, vt, (b1t, b2t) = state
        # The same step, written to need one temporary and 11 array operations (this is the
        # hot loop of most training runs). With r = √(1 − β₂ᵗ), √(v / (1 − β₂ᵗ)) = √v / r, so
        #     η · (m / (1 − β₁ᵗ)) / (√v / r + ε)  =  (η r / (1 − β₁ᵗ)) · m / (√v + ε r).
        # Scalars are made in the state's precision: a Python float costs NumPy a slower
        # type resolution on every call, and float32 state stays float32.
        f = mt.dtype.type
        r = math.sqrt(1 - b2t)
        tmp = _array(np.multiply(dx, f(1 - b1)))    # (1 − β₁) g
        np.multiply(mt, f(b1), out=mt)
        np.add(mt, tmp, out=mt)                     # m ← β₁ m + (1 − β₁) g
        np.multiply(dx, dx, out=tmp)
        np.multiply(tmp, f(1 - b2), out=tmp)
        np.multiply(vt, f(b2), out=vt)
        np.add(vt, tmp, out=vt)                     # v ← β₂ v + (1 − β₂) g²
        np.sqrt(vt, out=tmp)
        np.add(tmp, f(self.epsilon * r), out=tmp)
        np.divide(mt, tmp, out=tmp)
        np.multiply(tmp, f(self.eta * r / (1 - b1t)), out=tmp)
        return (mt, vt, (b1t * b1, b2t * b2)), tmp


ADAM = Adam


class AdaMax(AbstractRule):
    """AdaMax: Adam with the ∞-norm in place of the root-mean-square.

    ``m ← β₁ m + (1 − β₁) g``, ``u ← max(β₂ u, |g|)`` (both starting at 0),
    ``step = (η / (1 − β₁ᵗ)) · m / (u + ε)``.
    ``AdaMax(eta=0.001, beta=(0.9, 0.999), epsilon=1e-8)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import AdaMax
    >>> rule, x = AdaMax(0.1, (0.5, 0.5), 0.0), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([-4.0]))
    >>> step   # m = -2, u = 4: (0.1 / 0.5) * (-2 / 4)
    array([-0.1])
    """

    _fields = ("eta", "beta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, beta=(0.9, 0.999), epsilon=1e-8):
        self.eta, self.beta, self.epsilon = eta, beta, epsilon

    def init(self, x):
        return (_zeros(x), _zeros(x), self.beta)

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        mt, ut, (b1t, b2t) = state
        np.multiply(mt, b1, out=mt)
        mt += (1 - b1) * dx
        np.multiply(ut, b2, out=ut)
        np.maximum(ut, np.abs(dx), out=ut)
        step = _array(ut + self.epsilon)
        np.divide(mt, step, out=step)
        step *= self.eta / (1 - b1t)
        return (mt, ut, (b1t * b1, b2t * b2)), step


class OAdam(AbstractRule):
    """Optimistic Adam, for adversarial training: twice this Adam step minus the previous one.

    With ``m``, ``v`` as in `Adam` and ``a = η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)``:
    ``step = 2 a − a_prev`` (``a_prev`` starts at 0).
    ``OAdam(eta=0.001, beta=(0.5, 0.9), epsilon=1e-8)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import OAdam
    >>> OAdam()
    OAdam(0.001, (0.5, 0.9), 1.0e-8)
    >>> rule, x = OAdam(0.1), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([2.0]))
    >>> np.round(step, 6)   # 2 * 0.1 - 0
    array([0.2])
    """

    _fields = ("eta", "beta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, beta=(0.5, 0.9), epsilon=1e-8):
        self.eta, self.beta, self.epsilon = eta, beta, epsilon

    def init(self, x):
        return (_zeros(x), _zeros(x), self.beta, _zeros(x))

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        mt, vt, (b1t, b2t), term = state
        np.multiply(mt, b1, out=mt)
        mt += (1 - b1) * dx
        np.multiply(vt, b2, out=vt)
        vt += (1 - b2) * (dx * dx)
        step = term * -1.0                      # −a_prev
        np.divide(vt, 1 - b2t, out=term)
        np.sqrt(term, out=term)
        term += self.epsilon
        np.divide(mt, term, out=term)
        term *= self.eta / (1 - b1t)            # a, kept for the next step
        step += 2 * term
        return (mt, vt, (b1t * b1, b2t * b2), term), step


class AdaGrad(AbstractRule):
    """AdaGrad: each entry's step shrinks with the sum of its squared gradients so far.

    ``s ← s + g²`` with ``s`` starting at ε (as Flux does), ``step = η g / (√s + ε)``.
    ``AdaGrad(eta=0.1, epsilon=1e-8)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import AdaGrad
    >>> rule, x = AdaGrad(0.1), np.zeros(1)
    >>> rule.init(x)
    array([1.e-08])
    >>> state, step = rule.apply(rule.init(x), x, np.array([3.0]))
    >>> np.round(step, 6)   # 0.1 * 3 / 3
    array([0.1])
    """

    _fields = ("eta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.1, epsilon=1e-8):
        self.eta, self.epsilon = eta, epsilon

    def init(self, x):
        return _filled(x, self.epsilon)

    def apply(self, state, x, dx):
        acc = state
        acc += dx * dx
        den = np.sqrt(acc)
        den += self.epsilon
        step = dx * self.eta
        step /= den
        return acc, step


class AdaDelta(AbstractRule):
    """AdaDelta: AdaGrad with running averages, and no learning rate at all.

    ``s ← ρ s + (1 − ρ) g²``, ``step = g √(Δ + ε) / √(s + ε)``, then
    ``Δ ← ρ Δ + (1 − ρ) step²`` (``s`` and ``Δ`` start at 0; ε stays inside both roots).
    ``AdaDelta(rho=0.9, epsilon=1e-8)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import AdaDelta
    >>> AdaDelta()
    AdaDelta(0.9, 1.0e-8)
    >>> rule, x = AdaDelta(0.0, 1.0), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([3.0]))
    >>> step   # s = 9: 3 * √1 / √10
    array([0.9486833])
    """

    _fields = ("rho", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, rho=0.9, epsilon=1e-8):
        self.rho, self.epsilon = rho, epsilon

    def init(self, x):
        return (_zeros(x), _zeros(x))

    def apply(self, state, x, dx):
        rho, eps = self.rho, self.epsilon
        acc, dacc = state
        np.multiply(acc, rho, out=acc)
        acc += (1 - rho) * (dx * dx)
        step = _array(dacc + eps)
        np.sqrt(step, out=step)
        step *= dx
        step /= np.sqrt(acc + eps)
        np.multiply(dacc, rho, out=dacc)
        dacc += (1 - rho) * (step * step)
        return (acc, dacc), step


class AMSGrad(AbstractRule):
    """AMSGrad: Adam that divides by the largest ``v`` seen so far, without bias correction.

    ``m ← β₁ m + (1 − β₁) g``, ``v ← β₂ v + (1 − β₂) g²``, ``v̂ ← max(v̂, v)``,
    ``step = η m / (√v̂ + ε)``; ``m``, ``v`` and ``v̂`` all start at ε, as in Flux.
    ``AMSGrad(eta=0.001, beta=(0.9, 0.999), epsilon=1e-8)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import AMSGrad
    >>> rule, x = AMSGrad(0.1, (0.5, 0.75), 0.0), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([2.0]))
    >>> np.round(step, 6)   # m ≈ 1, v̂ ≈ 1: 0.1 * 1 / 1
    array([0.1])
    """

    _fields = ("eta", "beta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, beta=(0.9, 0.999), epsilon=1e-8):
        self.eta, self.beta, self.epsilon = eta, beta, epsilon

    def init(self, x):
        return (_filled(x, self.epsilon), _filled(x, self.epsilon), _filled(x, self.epsilon))

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        mt, vt, vhat = state
        np.multiply(mt, b1, out=mt)
        mt += (1 - b1) * dx
        np.multiply(vt, b2, out=vt)
        vt += (1 - b2) * (dx * dx)
        np.maximum(vhat, vt, out=vhat)
        den = np.sqrt(vhat)
        den += self.epsilon
        step = mt * self.eta
        step /= den
        return (mt, vt, vhat), step


class NAdam(AbstractRule):
    """NAdam: Adam with Nesterov momentum (it looks one step ahead along ``m``).

    With ``m``, ``v`` as in `Adam`:

        step = η · (β₁ m / (1 − β₁ β₁ᵗ) + (1 − β₁) g / (1 − β₁ᵗ)) / (√(β₂ v / (1 − β₂ᵗ)) + ε)

    ``NAdam(eta=0.001, beta=(0.9, 0.999), epsilon=1e-8)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import NAdam
    >>> rule, x = NAdam(0.1, (0.5, 0.5), 0.0), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([2.0]))
    >>> step   # m = 1, v = 2: 0.1 * (0.5/0.75 + 1/0.5) / √(1/0.5)
    array([0.18856181])
    """

    _fields = ("eta", "beta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, beta=(0.9, 0.999), epsilon=1e-8):
        self.eta, self.beta, self.epsilon = eta, beta, epsilon

    def init(self, x):
        return (_zeros(x), _zeros(x), self.beta)

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        mt, vt, (b1t, b2t) = state
        np.multiply(mt, b1, out=mt)
        mt += (1 - b1) * dx
        np.multiply(vt, b2, out=vt)
        vt += (1 - b2) * (dx * dx)
        den = _array(vt * (b2 / (1 - b2t)))
        np.sqrt(den, out=den)
        den += self.epsilon
        step = mt * (b1 / (1 - b1 * b1t))
        step += dx * ((1 - b1) / (1 - b1t))
        step /= den
        step *= self.eta
        return (mt, vt, (b1t * b1, b2t * b2)), step


class AdamW(AbstractRule):
    """AdamW: Adam with weight decay ``λ`` kept apart from the gradient statistics.

    With ``a`` the `Adam` step for learning rate 1 (``a = (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)``):
    ``step = η (a + λ x)`` when ``couple=True`` (the default, as in PyTorch and Flux today),
    or ``step = η a + λ x`` when ``couple=False`` (the original paper).
    ``AdamW(eta=0.001, beta=(0.9, 0.999), lambda_=0.0, epsilon=1e-8, couple=True)``;
    the weight decay is ``lambda_`` because ``lambda`` is a Python keyword.

    >>> import numpy as np
    >>> from fluxlite.optimise import AdamW
    >>> AdamW()
    AdamW(0.001, (0.9, 0.999), 0.0, 1.0e-8, true)
    >>> rule, x = AdamW(0.1, lambda_=0.5), np.array([2.0])
    >>> state, step = rule.apply(rule.init(x), x, np.array([-3.0]))
    >>> np.round(step, 6)   # 0.1 * (-1 + 0.5 * 2)
    array([0.])
    """

    _fields = ("eta", "beta", "lambda_", "epsilon", "couple")
    _elementwise = True

    def __init__(self, eta=0.001, beta=(0.9, 0.999), lambda_=0.0, epsilon=1e-8, *, couple=True):
        self.eta, self.beta, self.lambda_, self.epsilon, self.couple = \
            eta, beta, lambda_, epsilon, couple

    def init(self, x):
        return (_zeros(x), _zeros(x), self.beta)

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        eta, lam = self.eta, self.lambda_
        mt, vt, (b1t, b2t) = state
        np.multiply(mt, b1, out=mt)
        mt += (1 - b1) * dx
        np.multiply(vt, b2, out=vt)
        vt += (1 - b2) * (dx * dx)
        den = _array(vt / (1 - b2t))
        np.sqrt(den, out=den)
        den += self.epsilon
        step = mt / (1 - b1t)
        step /= den
        if self.couple:
            step += lam * x
            step *= eta
        else:
            step *= eta
            step += lam * x
        return (mt, vt, (b1t * b1, b2t * b2)), step


class AdaBelief(AbstractRule):
    """AdaBelief: Adam that divides by the spread of ``g`` around its running mean ``m``.

    ``m ← β₁ m + (1 − β₁) g``, ``s ← β₂ s + (1 − β₂)(g − m)² + ε`` (both starting at 0),
    ``step = η · (m / (1 − β₁ᵗ)) / (√(s / (1 − β₂ᵗ)) + ε)``.
    ``AdaBelief(eta=0.001, beta=(0.9, 0.999), epsilon=1e-16)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import AdaBelief
    >>> AdaBelief()
    AdaBelief(0.001, (0.9, 0.999), 1.0e-16)
    >>> rule, x = AdaBelief(0.1, (0.5, 0.5), 0.0), np.zeros(1)
    >>> state, step = rule.apply(rule.init(x), x, np.array([2.0]))
    >>> step   # m = 1, s = 0.5: 0.1 * (1/0.5) / √(0.5/0.5)
    array([0.2])
    """

    _fields = ("eta", "beta", "epsilon")
    _elementwise = True
    _reads_x = False

    def __init__(self, eta=0.001, beta=(0.9, 0.999), epsilon=1e-16):
        self.eta, self.beta, self.epsilon = eta, beta, epsilon

    def init(self, x):
        return (_zeros(x), _zeros(x), self.beta)

    def apply(self, state, x, dx):
        b1, b2 = self.beta
        eps = self.epsilon
        mt, st, (b1t, b2t) = state
        np.multiply(mt, b1, out=mt)
        mt += (1 - b1) * dx
        dev = dx - mt
        dev *= dev
        np.multiply(st, b2, out=st)
        st += (1 - b2) * dev
        st += eps
        den = _array(st / (1 - b2t))
        np.sqrt(den, out=den)
        den += eps
        step = mt * (self.eta / (1 - b1t))
        step /= den
        return (mt, st, (b1t * b1, b2t * b2)), step


class WeightDecay(AbstractRule):
    """L2 regularisation: add ``λ x`` to the gradient, ``step = g + λ x``.

    Use it before another rule in an `OptimiserChain`: ``OptimiserChain(WeightDecay(1e-4), Adam())``
    is the same as adding ``λ/2 · sum(x²)`` to the loss. ``WeightDecay(lambda_=5e-4)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import WeightDecay
    >>> WeightDecay()
    WeightDecay(0.0005)
    >>> WeightDecay(0.5).apply(None, np.array([2.0]), np.array([1.0]))
    (None, array([2.]))
    """

    _fields = ("lambda_",)
    _elementwise = True
    _stateless = True

    def __init__(self, lambda_=5e-4):
        self.lambda_ = lambda_

    def apply(self, state, x, dx):
        step = x * self.lambda_
        step += dx
        return state, step


class ClipValue(AbstractRule):
    """Clip every gradient entry into ``[−δ, δ]``: ``step = clamp(g, −δ, δ)``.

    Flux's ``ClipValue``, which Optimisers.jl calls ``ClipGrad`` (`ClipGrad` prints with
    that name). Put it first in an `OptimiserChain`. ``ClipValue(delta=10.0)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import ClipValue
    >>> ClipValue(1.0).apply(None, np.zeros(3), np.array([0.3, -5.0, 7.0]))
    (None, array([ 0.3, -1. ,  1. ]))
    """

    _fields = ("delta",)
    _elementwise = True
    _reads_x = False
    _stateless = True

    def __init__(self, delta=10.0):
        self.delta = delta

    def apply(self, state, x, dx):
        return state, np.clip(dx, -self.delta, self.delta)


class ClipGrad(ClipValue):
    """Optimisers.jl's name for `ClipValue`: ``step = clamp(g, −δ, δ)``. ``ClipGrad(delta=10.0)``.

    >>> from fluxlite.optimise import ClipGrad, ClipValue
    >>> ClipGrad(), isinstance(ClipGrad(), ClipValue)
    (ClipGrad(10.0), True)
    """


class ClipNorm(AbstractRule):
    """Scale the gradient down when its ``p``-norm is above ``ω``: ``step = g · min(1, ω / ‖g‖ₚ)``.

    The norm is taken over the whole array (``p = 2``: the Euclidean norm; ``1``, ``inf``,
    ``0`` and other ``p`` as in ``np.linalg.norm`` of the flattened array). An infinite or NaN
    norm raises an error unless ``throw=False``. ``ClipNorm(omega=10.0, p=2.0, throw=True)``.

    >>> import numpy as np
    >>> from fluxlite.optimise import ClipNorm
    >>> ClipNorm()
    ClipNorm(10.0, 2.0, true)
    >>> ClipNorm(1.0).apply(None, np.zeros(2), np.array([3.0, 4.0]))   # ‖g‖ = 5
    (None, array([0.6, 0.8]))
    """

    _fields = ("omega", "p", "throw")
    _stateless = True

    def __init__(self, omega=10.0, p=2.0, *, throw=True):
        self.omega, self.p, self.throw = omega, p, throw

    def apply(self, state, x, dx):
        p = self.p
        flat = np.ravel(dx)
        nrm = float(np.sqrt(np.dot(flat, flat))) if p == 2 else float(np.linalg.norm(flat, p))
        if not math.isfinite(nrm):
            if self.throw:
                raise ValueError(
                    f"ClipNorm: the gradient has {_julia(p)}-norm {_julia(nrm)}, for an array of "
                    f"shape {np.shape(x)}. Something upstream produced inf or NaN (a learning rate "
                    f"too large, log of 0, ...); use ClipNorm(..., throw=False) to skip this check.")
            return state, dx
        if nrm <= self.omega:
            return state, dx
        return state, dx * (self.omega / nrm)


class OptimiserChain(AbstractRule):
    """Apply several rules in turn: each one transforms the step the previous one made.

    ``OptimiserChain(ClipValue(1.0), Descent(0.1))`` clips the gradient, then scales it;
    ``OptimiserChain(WeightDecay(1e-4), Adam())`` adds L2 regularisation to Adam. The state
    is the tuple of the rules' states. With no rules the step is the gradient itself.
    The rules are in ``chain.opts``, so ``chain.opts[1].eta = 0.01`` changes one of them.

    >>> import numpy as np
    >>> from fluxlite.optimise import OptimiserChain, ClipGrad, Descent
    >>> chain = OptimiserChain(ClipGrad(1.0), Descent(0.1))
    >>> chain
    OptimiserChain(ClipGrad(1.0), Descent(0.1))
    >>> x = np.zeros(3)
    >>> state, step = chain.apply(chain.init(x), x, np.array([0.3, 1.0, 7.0]))
    >>> step   # clipped before it is scaled
    array([0.03, 0.1 , 0.1 ])
    """

    _fields = ("opts",)

    def __init__(self, *opts):
        if len(opts) == 1 and isinstance(opts[0], (list, tuple)):
            opts = tuple(opts[0])
        self.opts = opts

    @property
    def _elementwise(self):
        return all(o._elementwise for o in self.opts)

    @property
    def _reads_x(self):
        return any(o._reads_x for o in self.opts)

    def _show(self, compact=False):
        return f"OptimiserChain({', '.join(o._show(compact) for o in self.opts)})"

    def init(self, x):
        return tuple(o.init(x) for o in self.opts)

    def apply(self, state, x, dx):
        new = []
        for o, s in zip(self.opts, state):
            s, dx = o.apply(s, x, dx)
            new.append(s)
        return tuple(new), dx
