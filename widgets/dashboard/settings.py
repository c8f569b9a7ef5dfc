"""What a run is made of: the choices a student has, the settings dict, and `Run`.

Headless (no ipywidgets, no matplotlib), like `fluxlite.widgets.dashboard.trainer.Trainer`,
which builds runs from these settings.
"""
import contextlib
import dataclasses
import inspect
import math

import numpy as np

import fluxlite as fl
from fluxlite.layers import Chain, Dense

from .data import DATASETS, DEFAULT_FEATURES, FEATURES

# name -> (function, how the code writes it); identity means "no activation" in Dense
ACTIVATIONS = {
    "relu": (fl.relu, "fl.relu"),
    "tanh": (fl.tanh, "fl.tanh"),
    "σ": (fl.σ, "fl.σ"),
    "leakyrelu": (fl.leakyrelu, "fl.leakyrelu"),
    "elu": (fl.elu, "fl.elu"),
    "gelu": (fl.gelu, "fl.gelu"),
    "swish": (fl.swish, "fl.swish"),
    "softplus": (fl.softplus, "fl.softplus"),
    "identity": (None, None),
}

# The rules a student can pick; every one has a learning rate `eta` except AdaDelta.
OPTIMIZERS = ("Descent", "Momentum", "Nesterov", "RMSProp", "Adam", "AdaMax", "AdaGrad",
              "AdaDelta", "AMSGrad", "NAdam", "AdamW", "OAdam", "AdaBelief")
# Rules that change the gradient before the optimiser sees it: OptimiserChain(modifier, rule).
MODIFIERS = ("none", "WeightDecay", "ClipValue", "ClipNorm")

# TensorFlow Playground's regularization: a penalty on the weights added to the loss, and its rate.
REGULARIZATIONS = ("none", "L1", "L2")
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

DEFAULTS = {"dataset": "circles", "noise": 0.05, "split": 0.5, "seed": 0, "hidden": (4, 4),
            "activation": "tanh", "optimizer": "Adam", "modifier": "none", "batchsize": 10,
            "lr": 0.03, "hyper": {}, "modifier_hyper": {}, "features": DEFAULT_FEATURES,
            "regularization": "none", "reg_rate": 0.0}


def check_rate(rate):
    """Refuse a regularization rate that is not a number from 0 to 10 (NaN, negative, text).

    >>> check_rate(-0.1)
    Traceback (most recent call last):
    ...
    ValueError: the regularization rate must be a number from 0 to 10, got -0.1.
    """
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.number)) \
            or not math.isfinite(rate) or not REG_RATES[0] <= rate <= REG_RATES[-1]:
        raise ValueError(f"the regularization rate must be a number from 0 to 10, got {rate!r}.")
    return float(rate)


class Penalty:
    """Playground's regularization: ``rate`` times the L1 or L2 norm of the weights, not the biases.

    ``Penalty(kind, rate)`` with `kind` ``"L1"`` (the sum of ``|w|``) or ``"L2"`` (the sum of
    ``w²``) over the ``weight`` of each layer of a ``Dense`` or a ``Chain``. `code` writes the
    sum as the exported program does, and calling the penalty evaluates that same text, so the
    two agree to the last bit. The rate may change between steps, like a rule's learning rate.

    >>> import fluxlite as fl
    >>> m = fl.Chain(fl.Dense(2, 3), fl.Dense(3, 1))
    >>> p = Penalty("L2", 0.01)
    >>> p.code(m)
    'sum(np.sum(layer.weight ** 2) for layer in model)'
    >>> float(p(m)) == float(np.sum(m[0].weight ** 2) + np.sum(m[1].weight ** 2))
    True
    >>> p.rate = float("nan")
    Traceback (most recent call last):
    ...
    ValueError: the regularization rate must be a number from 0 to 10, got nan.
    """

    _fields = ("rate",)
    TERMS = {"L1": "np.sum(np.abs(layer.weight))", "L2": "np.sum(layer.weight ** 2)"}

    def __init__(self, kind="L2", rate=0.0):
        if kind not in self.TERMS:
            raise ValueError(f"regularization must be one of {', '.join(REGULARIZATIONS)}, "
                             f"got {kind!r}.")
        self.kind, self.rate, self._compiled = kind, rate, {}

    @property
    def rate(self):
        """λ: how much the penalty weighs against the data's loss (0 to 10)."""
        return self._rate

    @rate.setter
    def rate(self, value):
        self._rate = check_rate(value)

    def _copy(self):
        return Penalty(self.kind, self.rate)

    @staticmethod
    def layers(model):
        """How the code goes over the model's layers: ``model``, ``[model]`` or with a filter."""
        if isinstance(model, Dense):
            return "[model]"
        if not isinstance(model, Chain):
            raise TypeError(f"regularization needs a Dense layer or a Chain of layers, "
                            f"this model is a {type(model).__name__}.")
        if all(hasattr(layer, "weight") for layer in model):
            return "model"
        return "model if hasattr(layer, 'weight')"

    def code(self, model):
        """The penalty's sum over `model`'s weights, as Python text (without the rate)."""
        return f"sum({self.TERMS[self.kind]} for layer in {self.layers(model)})"

    def __call__(self, model):
        """The sum over `model`'s weights (without the rate), traced like any NumPy code."""
        text = self.code(model)
        if text not in self._compiled:
            self._compiled[text] = eval("lambda model: " + text, {"np": np})  # our fixed text
        return self._compiled[text](model)



@dataclasses.dataclass
class Run:
    """One training run: its settings, its per-epoch history and its hyperparameter changes.

    ``changes`` lists ``(step, target, name, value)``: before step `step` (counting from 1),
    ``target`` (``"optimizer"`` or ``"modifier"``) got ``name = value``.

    >>> run = Run(1, {"hyper": {"eta": 0.03}, "modifier": "none", "hidden": (4,),
    ...               "activation": "tanh", "optimizer": "Adam", "batchsize": 10}, {})
    >>> run.changes.append((11, "optimizer", "eta", 0.1))
    >>> run.label
    '#1 Adam η 0.03→0.1 · [4] tanh · bs 10'
    """

    number: int
    settings: dict
    initial: dict
    history: list = dataclasses.field(default_factory=list)
    changes: list = dataclasses.field(default_factory=list)
    diverged: bool = False
    steps: int = 0
    stalled_at: int = 0        # the epoch at which the run last paused as not learning
    visible: bool = True       # drawn on the loss plot (its checkbox in the list of runs)

    @property
    def label(self):
        """A short legend entry: optimiser, learning rate(s), layers, activation, batch size."""
        s = self.settings
        lrs = [s["hyper"].get("eta")] + [v for _, t, k, v in self.changes
                                         if t == "optimizer" and k == "eta"]
        lr = "" if lrs[0] is None else " η " + "→".join(f"{v:.2g}" for v in lrs[:3]) + (
            "…" if len(lrs) > 3 else "")
        mod = "" if s["modifier"] == "none" else f"+{s['modifier']}"
        layers = ",".join(map(str, s["hidden"])) or "no hidden"
        arch = "linear model" if s.get("linear") else f"[{layers}] {s['activation']}"
        feats = s.get("features")
        if feats and tuple(feats) != DEFAULT_FEATURES[:len(feats)]:
            arch = ",".join(FEATURES[k][0] for k in feats) + " → " + arch
        rates = [s.get("reg_rate")] + [v for _, t, _, v in self.changes if t == "penalty"]
        reg = "" if s.get("regularization", "none") == "none" else \
            f" · {s['regularization']} " + "→".join(f"{v:.2g}" for v in rates[:3]) + (
                "…" if len(rates) > 3 else "")
        return f"#{self.number} {s['optimizer']}{mod}{lr} · {arch}{reg} · bs {s['batchsize']}"


def check_choices(settings, user_data=None):
    """Refuse a settings dict naming an unknown optimiser, modifier, activation or data set.

    >>> check_choices({"optimizer": "Adamm", "modifier": "none", "activation": "tanh",
    ...                "dataset": "xor", "lr": 0.1})
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be one of Descent, Momentum, ..., AdaBelief, got 'Adamm'.
    """
    for key, allowed in (("optimizer", OPTIMIZERS), ("modifier", MODIFIERS),
                         ("activation", ACTIVATIONS)):
        if settings[key] not in allowed:
            raise ValueError(f"{key} must be one of {', '.join(allowed)}, got {settings[key]!r}.")
    if user_data is None and settings["dataset"] not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got "
                         f"{settings['dataset']!r} (or pass your own data=Dataset(...)).")
    if settings.get("regularization", "none") not in REGULARIZATIONS:
        raise ValueError(f"regularization must be one of {', '.join(REGULARIZATIONS)}, got "
                         f"{settings['regularization']!r}.")
    check_rate(settings.get("reg_rate", 0.0))
    check_features(settings.get("features", DEFAULT_FEATURES))
    lr = settings["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 1e-5 <= lr <= 10:
        raise ValueError(f"lr must lie between 1e-5 and 10 (the slider's range), got {lr!r}.")



def check_features(keys):
    """Refuse input features that are not a non-empty collection of `FEATURES` keys.

    >>> check_features(("x1", "cos x1"))
    Traceback (most recent call last):
    ...
    ValueError: unknown input feature 'cos x1'; the features are x1, x2, x1sq, x2sq, x1x2, ...
    """
    if isinstance(keys, str) or not isinstance(keys, (tuple, list, set, frozenset)):
        raise ValueError(f"the input features are a tuple of names such as ('x1', 'x2'), "
                         f"got {keys!r}.")
    for k in keys:
        if k not in FEATURES:
            raise ValueError(f"unknown input feature {k!r}; the features are "
                             f"{', '.join(FEATURES)}.")
    if not keys:
        raise ValueError("choose at least one input feature: the network needs an input.")
    return tuple(k for k in FEATURES if k in keys)


def _check_hyperparameter(field, value):
    """Refuse what a rule might accept but cannot train with: ∞, NaN, β outside [0, 1).

    >>> _check_hyperparameter("epsilon", float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: epsilon must be a finite number, got inf.
    >>> _check_hyperparameter("beta", (0.9, 1.5))
    Traceback (most recent call last):
    ...
    ValueError: beta holds decay rates from 0 up to (not including) 1, got (0.9, 1.5).
    """
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isfinite(v):
            raise ValueError(f"{field} must be a finite number, got {value!r}.")
    if field == "beta" and not all(0 <= v < 1 for v in values):
        raise ValueError(f"{field} holds decay rates from 0 up to (not including) 1, got {value!r}.")


def builder_arguments(builder, **kw):
    """The keyword arguments among `kw` that a model builder accepts (all if it takes ``**``)."""
    params = _parameters(builder)
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return kw
    return {k: v for k, v in kw.items() if k in params}


def _parameters(f):
    try:
        return dict(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return {}


def accepts(builder, name):
    """Whether a model builder takes the keyword `name` (or any keyword)."""
    params = _parameters(builder)
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def hyperparameters(rule):
    """A rule's hyperparameters as a dict (empty for no rule)."""
    if rule is None:
        return {}
    return {f: getattr(rule, f) for f in type(rule)._fields}



@contextlib.contextmanager
def one_blas_thread():
    """Run BLAS single-threaded while the dashboard trains (process-wide, undone afterwards).

    The dashboard's matrices are tiny. A multithreaded OpenBLAS spends more time waking and
    spinning its threads than multiplying, and on a busy 2-core machine (or a Binder pod) it
    competes with the training thread and the kernel: a 16 × 16 by 16 × 5184 product was seen
    to take 33 ms instead of 0.2 ms. Needs threadpoolctl; without it nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    limits = threadpool_limits(limits=1, user_api="blas")
    try:
        yield
    finally:
        limits.restore_original_limits()


def fmt(x, digits=3):
    """A number as the dashboard shows it: `digits` significant digits, never "-0".

    Zero prints as ``0`` whatever its sign, and so does a negative value within 1e-12 of it
    (a loss that is zero up to rounding); None prints as a dash.

    >>> [fmt(v) for v in (0.012345, -0.0, -1e-17, 0.0, 1e-7, -0.25, None, float("nan"))]
    ['0.0123', '0', '0', '0', '1e-07', '-0.25', '—', 'nan']
    """
    if x is None:
        return "—"
    if isinstance(x, tuple):
        return "(" + ", ".join(fmt(v, digits) for v in x) + ")"
    if isinstance(x, bool):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if -1e-12 <= x <= 0.0:
        return "0"
    text = f"{x:.{digits}g}"
    return "0" if float(text) == 0 else text

