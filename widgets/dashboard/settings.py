"""What a run is made of: the choices a student has, the settings dict, and `Run`.

Headless (no ipywidgets, no matplotlib), like `widgets.dashboard.trainer.Trainer`, which builds
runs from these settings.
"""
import contextlib
import dataclasses
import inspect
import math

import fluxlite as fl

from .data import DATASETS

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

DEFAULTS = {"dataset": "circles", "noise": 0.05, "split": 0.5, "seed": 0, "hidden": (4, 4),
            "activation": "tanh", "optimizer": "Adam", "modifier": "none", "batchsize": 10,
            "lr": 0.03, "hyper": {}, "modifier_hyper": {}}



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
        return f"#{self.number} {s['optimizer']}{mod}{lr} · {arch} · bs {s['batchsize']}"


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
    lr = settings["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 1e-5 <= lr <= 10:
        raise ValueError(f"lr must lie between 1e-5 and 10 (the slider's range), got {lr!r}.")



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

