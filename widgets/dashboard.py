"""`TrainingDashboard`: train a small network and watch it learn, in the spirit of TensorFlow Playground.

A student picks a data set, the hidden layers, the activation, the optimiser and its learning
rate, presses ▶ and watches the train and test losses fall, the decision boundary (or the
fitted curve) take shape, and the gradient of every layer grow or vanish. While it trains:

* the learning rate and the optimiser's other hyperparameters apply from the next step on;
* a structural change (layers, activation, data, optimiser, batch size, seed) starts a new
  run with fresh weights and says so in the status line; the old run stays on the loss plot
  as a faded line, with its settings in the legend (``clear history`` removes them);
* a loss that becomes NaN or ∞, or explodes, pauses training with a plain message;
* ``show code`` (and `TrainingDashboard.code`) gives fluxlite code that reproduces the run:
  the same data, weights, optimiser, hyperparameter changes and losses.

Training runs in the background (a thread, or an asyncio task: see `widgets.runners`), so the
notebook stays responsive. For notebooks, tests and lessons there is a synchronous
`TrainingDashboard.train`.

>>> dash = TrainingDashboard(dataset="moons", hidden=(6,), activation="relu", lr=0.05, seed=3)
>>> history = dash.train(5)
>>> [r["epoch"] for r in history]
[1, 2, 3, 4, 5]
>>> sorted(history[0])
['epoch', 'lr', 'test_accuracy', 'test_loss', 'train_accuracy', 'train_loss']
>>> history[-1]["train_loss"] < dash.initial["train_loss"]
True
"""
import atexit
import contextlib
import copy
import dataclasses
import html
import inspect
import logging
import math
import re
import threading
import time
import weakref

import ipywidgets as W
import numpy as np
import traitlets
from matplotlib.colors import to_rgb
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

import fluxlite as fl
from fluxlite.functors import leaves
from fluxlite.layers import Chain, Dense
from fluxlite.losses import logitcrossentropy, mse

from ._lesson import placeholder_bundle
from .liveplot import LivePlot
from .runners import ThreadRunner, make_runner

__all__ = ["TrainingDashboard", "Dataset", "HiddenLayers", "LearningRate", "Run",
           "gradient_verdict"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- choices

# key -> (menu label, task, default noise (None: the data has no noise setting), points)
DATASETS = {
    "circles": ("circles", "classification", 0.05, 200),
    "moons": ("moons", "classification", 0.1, 200),
    "xor": ("xor", "classification", 0.1, 200),
    "spiral": ("spiral", "classification", 0.05, 300),
    "gaussian": ("gaussian (3 classes)", "classification", 0.3, 200),
    "regression1d": ("1-D regression (sine)", "regression", 0.1, 100),
    "linear": ("linear regression (tutorial)", "regression", None, 100),
}

# Data sets that come with their lesson's model: the hidden-layer and activation controls are
# greyed out, and the model is one Dense layer from the inputs to the outputs (a linear model).
LINEAR_MODEL = {"linear": "the tutorial's linear model, Dense(5 => 2)"}

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

# Flux's orange and blue (as in TensorFlow Playground), then more classes.
CLASS_COLORS = ("#f59322", "#0877bd", "#3a9a4a", "#8e5bb5", "#c2484d", "#6b6b6b")
TRAIN_COLOR, TEST_COLOR = "#0877bd", "#f59322"
RUN_COLORS = ("#7f7f7f", "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
              "#d62728")

# A run that is not learning: judged over the last STALL_WINDOW epochs (see `_not_learning`).
STALL_WINDOW = 20
STALLED = ("Training paused at epoch {epoch}: the network is not learning. {why} The learning "
           "rate {lr} is probably too large — try a smaller one (say {smaller}); ▶ goes on "
           "with this run, Reset starts a fresh one.")

DIVERGED = ("Training diverged at epoch {epoch} (step {step}): the loss {what}. The learning "
            "rate {lr} is probably too large for this network — try a smaller one (say {smaller}) "
            "and press ▶ for a fresh run.")


# --------------------------------------------------------------------------- data

@dataclasses.dataclass
class Dataset:
    """A train/test split for `TrainingDashboard`, in Flux's layout (observations last).

    ``x_train`` is ``features × N`` (any shape whose last axis is the observations, e.g. images
    ``W × H × C × N``). For ``task="classification"``, ``y_train`` holds integer labels
    ``0 … classes-1`` (shape ``(N,)``), or is already one-hot (``classes × N``); for
    ``"regression"`` it is the ``outputs × N`` targets. `code` is optional Python that
    rebuilds ``Xtrain, Ytrain, Xtest, Ytest`` for `TrainingDashboard.code`.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(4, 30)).astype(np.float32)
    >>> data = Dataset(X[:, :20], np.arange(20) % 3, X[:, 20:], np.arange(10) % 3)
    >>> data.n_in, data.n_out, data.targets()[0].shape
    (4, 3, (3, 20))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    classes: int = None
    name: str = "data"
    code: str = None

    def __post_init__(self):
        if self.task not in ("classification", "regression"):
            raise ValueError(f"Dataset: task must be 'classification' or 'regression', "
                             f"got {self.task!r}.")
        for which in ("train", "test"):
            x, y = getattr(self, f"x_{which}"), getattr(self, f"y_{which}")
            if np.shape(x)[-1] != np.shape(y)[-1]:
                raise ValueError(
                    f"Dataset: x_{which} has {np.shape(x)[-1]} observations (last axis, shape "
                    f"{np.shape(x)}) but y_{which} has {np.shape(y)[-1]} (shape {np.shape(y)}). "
                    f"Observations go along the last axis, as in Flux.")
        if self.task == "classification" and self.classes is None:
            y = np.asarray(self.y_train)
            self.classes = int(y.shape[0]) if y.ndim == 2 else int(
                max(np.max(self.y_train), np.max(self.y_test))) + 1

    @property
    def n_in(self):
        """Features per observation (the first axis of a ``features × N`` input)."""
        return int(np.shape(self.x_train)[0])

    @property
    def n_out(self):
        """Outputs the model must produce: the number of classes, or of regression targets."""
        if self.task == "classification":
            return self.classes
        return int(np.shape(self.y_train)[0]) if np.ndim(self.y_train) > 1 else 1

    def targets(self):
        """``(Ytrain, Ytest)``: one-hot ``classes × N`` for classification, else the targets."""
        if self.task == "regression":
            return np.asarray(self.y_train), np.asarray(self.y_test)
        out = []
        for y in (self.y_train, self.y_test):
            y = np.asarray(y)
            out.append(y if y.ndim == 2 else fl.onehotbatch(y, range(self.classes)))
        return tuple(out)


def builtin_data(key, noise, split, seed, n=None):
    """One of the dashboard's data sets as a `Dataset`, with the code that makes it.

    The points come shuffled from the generators, so the first ``round(split · n)`` train and
    the rest test.

    >>> data = builtin_data("xor", 0.1, 0.5, 0)
    >>> data.x_train.shape, data.x_test.shape, data.classes
    ((2, 100), (2, 100), 2)
    >>> print(data.code.splitlines()[0])
    X, labels = fl.datasets.xor(200, noise=0.1, rng=0)
    """
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {key!r}; choose one of {', '.join(DATASETS)}.")
    label, task, default_noise, default_n = DATASETS[key]
    n = default_n if n is None else int(n)
    ntrain = min(max(int(round(split * n)), 1), n - 1)
    if key == "linear":
        x, y = fl.datasets.linear_regression(n, rng=seed)
        X, Y = np.stack(x, axis=-1).astype(np.float32), np.stack(y, axis=-1).astype(np.float32)
        code = (f"x, y = fl.datasets.linear_regression({n}, rng={seed})   # the tutorial's data\n"
                f"X = np.stack(x, axis=-1).astype(np.float32)   # 5 × {n}: features × samples\n"
                f"Y = np.stack(y, axis=-1).astype(np.float32)   # 2 × {n}\n")
    elif task == "regression":
        X, Y = getattr(fl.datasets, key)(n, noise=noise, rng=seed)
        code = f"X, Y = fl.datasets.{key}({n}, noise={noise!r}, rng={seed})\n"
    else:
        X, labels = getattr(fl.datasets, key)(n, noise=noise, rng=seed)
        code = f"X, labels = fl.datasets.{key}({n}, noise={noise!r}, rng={seed})\n"
    code += f"Xtrain, Xtest = X[:, :{ntrain}], X[:, {ntrain}:]\n"
    if task == "regression":
        code += f"Ytrain, Ytest = Y[:, :{ntrain}], Y[:, {ntrain}:]\n"
        return Dataset(X[:, :ntrain], Y[:, :ntrain], X[:, ntrain:], Y[:, ntrain:],
                       task=task, name=label, code=code)
    classes = int(labels.max()) + 1
    code += (f"Ytrain = fl.onehotbatch(labels[:{ntrain}], range({classes}))\n"
             f"Ytest = fl.onehotbatch(labels[{ntrain}:], range({classes}))\n")
    return Dataset(X[:, :ntrain], labels[:ntrain], X[:, ntrain:], labels[ntrain:],
                   task=task, classes=classes, name=label, code=code)


# --------------------------------------------------------------------------- small widgets

class HiddenLayers(W.VBox):
    """How many hidden layers (0–6) and how wide each is (1–32): one slider per layer.

    ``value`` is the tuple of widths, e.g. ``(8, 8)`` for two layers of 8; setting it moves the
    sliders, and moving a slider changes it (observe ``"value"`` to hear about it once).

    >>> h = HiddenLayers((4, 4))
    >>> h.value = (8, 2, 3)
    >>> h.count.value, [s.value for s in h.widths[:3]], h.value
    (3, [8, 2, 3], (8, 2, 3))
    """

    value = traitlets.Tuple()

    def __init__(self, widths=(4, 4), max_layers=6, max_width=32, **kwargs):
        self._syncing = False
        self.count = W.IntSlider(value=0, min=0, max=max_layers, description="",
                                 continuous_update=False, layout=W.Layout(width="250px"))
        self.count.add_class("fl-depth")
        self.widths = [W.IntSlider(value=4, min=1, max=max_width, description=f"layer {i + 1}",
                                   continuous_update=False,
                                   layout=W.Layout(width="250px", height="26px"),
                                   style={"description_width": "50px"})
                       for i in range(max_layers)]
        for s in self.widths:
            s.add_class("fl-width")
        self._rows = W.VBox(self.widths)
        super().__init__([_labelled("hidden layers", self.count),
                          _labelled("neurons per layer", self._rows)], **kwargs)
        for w in [self.count] + self.widths:
            w.observe(self._from_sliders, "value")
        self.value = tuple(widths)

    def _from_sliders(self, change=None):
        if self._syncing:
            return
        n = self.count.value
        for i, s in enumerate(self.widths):
            s.layout.display = "" if i < n else "none"
        self.value = tuple(s.value for s in self.widths[:n])

    @traitlets.validate("value")
    def _check(self, proposal):
        widths = tuple(int(w) for w in proposal["value"])
        if len(widths) > len(self.widths):
            raise traitlets.TraitError(f"at most {len(self.widths)} hidden layers, got {len(widths)}")
        top = self.widths[0].max
        if any(not 1 <= w <= top for w in widths):
            raise traitlets.TraitError(f"each hidden layer needs 1 to {top} neurons, got {widths}")
        return widths

    @traitlets.observe("value")
    def _to_sliders(self, change):
        self._syncing = True
        try:
            self.count.value = len(change["new"])
            for s, w in zip(self.widths, change["new"]):
                s.value = w
            for i, s in enumerate(self.widths):
                s.layout.display = "" if i < len(change["new"]) else "none"
        finally:
            self._syncing = False


# TensorFlow Playground's learning rates: one click of the slider is one of these.
LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


class _Unchecked(traitlets.TraitType):
    """A trait that takes any value (None too) to its owner's ``@validate``, which decides."""

    def validate(self, obj, value):
        return value


class LearningRate(W.HBox):
    """The learning rate: a slider over the usual values 0.00001 … 10 and the exact value.

    The slider moves in TensorFlow Playground's steps (`LEARNING_RATES`). ``value`` may also be
    set from code to any number from `min` to `max`; the slider then sits on the nearest step
    and the readout shows the exact value. A value that is not a finite number in range is
    refused: ``value`` keeps its old value, and ``refused(message)`` is called if set (the
    dashboard puts the message in its status line); otherwise a ``TraitError`` is raised.

    >>> lr = LearningRate(0.03)
    >>> lr.slider.value, lr.readout.value
    (0.03, '0.03')
    >>> lr.slider.value = 0.3          # a click on the slider
    >>> lr.value
    0.3
    >>> lr.value = 0.002               # from code: any rate in range
    >>> lr.slider.value, lr.readout.value
    (0.003, '0.002')
    >>> lr.refused = print
    >>> lr.value = float("nan")
    Refused learning rate nan: it must be a number from 1e-05 to 10. It stays 0.002.
    >>> lr.value
    0.002
    """

    value = _Unchecked(0.03)         # any value reaches _check, which refuses or keeps it
    disabled = traitlets.Bool(False)
    min, max = LEARNING_RATES[0], LEARNING_RATES[-1]

    def __init__(self, value=0.03, **kwargs):
        self.refused = None
        self._syncing = False
        self.slider = W.SelectionSlider(options=[(_fmt(v), v) for v in LEARNING_RATES],
                                        value=0.03, readout=False, continuous_update=False,
                                        layout=W.Layout(width="190px"))
        self.readout = W.Label(layout=W.Layout(width="56px"))
        self.readout.add_class("fl-lr-readout")
        super().__init__([self.slider, self.readout], **kwargs)
        self.slider.observe(self._from_slider, "value")
        self.value = value
        self._to_slider({"new": self.value})

    @traitlets.validate("value")
    def _check(self, proposal):
        v = proposal["value"]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) \
                or not math.isfinite(v) or not self.min <= v <= self.max:
            message = (f"Refused learning rate {v!r}: it must be a number from {_fmt(self.min)} "
                       f"to {_fmt(self.max)}. It stays {_fmt(self.value)}.")
            if self.refused is None:
                raise traitlets.TraitError(message)
            self.refused(message)
            return self.value
        return float(v)

    @traitlets.observe("value")
    def _to_slider(self, change):
        v = change["new"]
        self.readout.value = _fmt(v)
        self._syncing = True
        try:
            self.slider.value = min(LEARNING_RATES, key=lambda s: abs(math.log(s / v)))
        finally:
            self._syncing = False

    @traitlets.observe("disabled")
    def _disable(self, change):
        self.slider.disabled = change["new"]

    def _from_slider(self, change):
        if not self._syncing:
            self.value = change["new"]


def _labelled(text, widget, cls=None):
    """A small upper-case caption above a control (TensorFlow Playground's look)."""
    box = W.VBox([W.HTML(f"<div class='fl-label'>{html.escape(text)}</div>"), widget])
    box.add_class("fl-field")
    if cls:
        box.add_class(cls)
    return box


# --------------------------------------------------------------------------- runs

@dataclasses.dataclass
class Run:
    """One training run: its settings, its per-epoch history and its hyperparameter changes.

    ``changes`` lists ``(step, target, name, value)``: before step `step` (counting from 1),
    ``target`` (``"optimizer"`` or ``"modifier"``) got ``name = value``.
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


# --------------------------------------------------------------------------- the dashboard

_CSS = """
<style>
.fl-dash { font-family: "Helvetica Neue", Helvetica, Arial, "DejaVu Sans", sans-serif; color: #333;
  background: #fff; border: 1px solid #dcdcdc; border-radius: 8px; overflow: hidden; }
.fl-dash .fl-title { font-size: 15px; font-weight: 600; color: #183d4e; padding: 8px 16px 0 16px; }
.fl-dash .fl-title span { font-weight: 400; color: #888; font-size: 12px; margin-left: 8px; }
.fl-dash .fl-header { background: #f3f5f7; border-bottom: 1px solid #e2e5e8;
  padding: 10px 16px 6px 16px; }
.fl-dash .fl-header-row { align-items: flex-end; }
.fl-dash .fl-label { font-size: 10.5px; text-transform: uppercase; letter-spacing: .06em;
  color: #7a8088; margin: 0 0 3px 2px; line-height: 14px; white-space: nowrap; }
.fl-dash .fl-field { margin-right: 14px; }
.fl-dash .fl-col { padding: 10px 14px; border-right: 1px solid #eceef0; }
.fl-dash .fl-col:last-child { border-right: none; }
.fl-dash .fl-colhead { font-size: 12px; font-weight: 700; letter-spacing: .08em; color: #183d4e;
  text-transform: uppercase; margin-bottom: 6px; }
.fl-dash button.fl-start { width: 48px; height: 48px; border-radius: 50%; background: #183d4e;
  color: #fff; font-size: 19px; padding: 0; border: none; box-shadow: 0 1px 3px rgba(0,0,0,.3); }
.fl-dash button.fl-start.fl-running { background: #c0392b; }
.fl-dash button.fl-small { height: 30px; border-radius: 15px; background: #fff; color: #183d4e;
  border: 1px solid #b8c2cc; font-size: 12.5px; padding: 0 12px; margin-left: 6px; }
.fl-dash .fl-epoch { font-size: 26px; font-weight: 300; color: #222; line-height: 30px;
  font-variant-numeric: tabular-nums; }
.fl-dash .fl-epoch small { font-size: 11px; color: #7a8088; text-transform: uppercase;
  letter-spacing: .06em; display: block; line-height: 13px; }
.fl-dash .fl-losses { font-size: 13px; line-height: 20px; font-variant-numeric: tabular-nums; }
.fl-dash .fl-losses b { font-weight: 600; }
.fl-dash .fl-status { margin-top: 8px; padding: 4px 10px; border: 1px solid #e2e5e8;
  border-radius: 4px; font-size: 13px; background: #fafbfc; min-height: 20px; }
.fl-dash .fl-status .fl-status-text { flex: 1 1 auto; min-width: 0; }
.fl-dash .fl-status .widget-html-content { white-space: normal; line-height: 18px; }
.fl-dash .fl-col { min-width: 0; }
.fl-dash .fl-status .fl-info { color: #44525e; }
.fl-dash .fl-status .fl-warn { color: #9a5b00; font-weight: 600; }
.fl-dash .fl-status .fl-error { color: #b3261e; font-weight: 600; }
.fl-dash .fl-model pre, .fl-dash .fl-code pre { font-size: 11px; line-height: 14px; margin: 4px 0;
  background: #f6f8fa; border: 1px solid #e6e8eb; border-radius: 4px; padding: 6px 8px;
  white-space: pre; overflow-x: auto;
  font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace; }
.fl-dash .fl-code pre { font-size: 12px; line-height: 16px; max-height: 420px; }
.fl-dash .fl-note { font-size: 11.5px; color: #7a8088; }
.fl-dash .fl-runs { font-size: 11.5px; line-height: 16px; margin: 0 0 6px 6px; }
.fl-dash .fl-footer { padding: 6px 16px 10px 16px; }
.fl-dash .widget-slider .widget-readout { font-size: 12px; }
.fl-dash .widget-dropdown select { font-size: 12.5px; }
.fl-dash .fl-width .widget-label { font-size: 11.5px; color: #555; }
</style>
"""


class TrainingDashboard:
    """Train a network live and watch it learn; see the module docstring for the tour.

    ``TrainingDashboard(*, dataset="circles", hidden=(4, 4), activation="tanh", lr=0.03,
    optimizer="Adam", modifier="none", batchsize=10, noise=None, split=0.5, seed=0, n=None,
    data=None, model=None, loss=None, runner="thread", fps=12, title=...)``

    **Your own data and model** (used by the digits lesson):

    * ``data=``: a `Dataset`, or a function ``data(noise=..., split=..., seed=...)`` returning
      one; the dataset menu is then hidden (and noise/split too for a fixed `Dataset`).
    * ``model=``: a builder called as ``model(n_in=..., n_out=..., hidden=..., activation=...)``
      (it may accept only some of these, e.g. ``def build(n_in, n_out): ...``); it must return
      logits for classification. The hidden-layer and activation controls are shown only if the
      builder takes ``hidden`` / ``activation``. The builder runs right after ``fl.seed(seed)``.
    * ``loss=``: ``loss(ŷ, y)``, prediction first as in Flux. Default: ``logitcrossentropy``
      for classification (the targets are one-hot), ``mse`` for regression.

    **Controls** (ipywidgets, public attributes, each with ``.value``): `lr`, `optimizer`,
    `modifier`, `hyper` (dict of the optimiser's other hyperparameters), `hidden`
    (`HiddenLayers`), `activation`, `batchsize`, `dataset`, `noise`, `split`, `seed`, and the
    buttons `start_button` (▶ / ❚❚), `step_button` (one epoch), `reset_button`,
    `clear_button` (clear history) and `code_button` (show code).

    **Programmatic API**: `start`, `pause`, `step`, `reset`, `train`, `clear_history`, `code`,
    `layer_gradients`, `close`;
    `history` (records of the current run), `runs` (every run kept, the current one last),
    `status`, `epoch`, `steps`, `model`, `rule`, `data`, `errors` (callback errors, also shown
    in the status line), `running`.

    >>> dash = TrainingDashboard(dataset="regression1d", hidden=(8,), seed=0)
    >>> dash.data.task, dash.model[0].weight.shape
    ('regression', (8, 1))
    >>> dash.lr.value = 0.01
    >>> _ = dash.train(2)
    >>> dash.history[-1]["epoch"], dash.history[-1]["lr"]
    (2, 0.01)
    """

    def __init__(self, *, dataset="circles", hidden=(4, 4), activation="tanh", lr=0.03,
                 optimizer="Adam", modifier="none", batchsize=10, noise=None, split=0.5, seed=0,
                 n=None, data=None, model=None, loss=None, runner="thread", fps=12,
                 title="Training dashboard", max_runs=6, explode=1e3):
        self._lock = threading.RLock()
        self._pending_lock = threading.Lock()
        self._pending = []             # hyperparameter changes waiting for the next step
        self._suspended = 0            # > 0 while several controls change together
        self._dirty = None             # the reason for a reset put off while suspended
        self.errors = []               # (where, exception) of every callback error
        self.runs = []
        self.run = None
        self.fps = fps
        self.max_runs = max_runs
        self.explode = explode
        self.runner = make_runner(runner)
        self._user_data = data
        self._builder = model
        self._user_loss = loss
        self._n = n
        self._status = ""
        self.title = title
        self._frame_cost = 0.04
        self._loss_key = None
        self.frames = 0                # frames drawn (each redraws the views that changed)
        self._rendered_structure = None
        self._stalled = False          # set when training pauses because it is not learning
        self._reverting = False        # set while a refused value is put back in its box
        self._restart = False          # start again when the runner ends (a change while running)
        self._preempted = None         # the status to show when another dashboard took over
        for other in list(_DASHBOARDS):  # a re-run cell leaves no old dashboard training
            if other.running:
                other._preempt("a new dashboard was made")
        _DASHBOARDS.add(self)

        builder_params = _parameters(model) if model is not None else None
        self._uses_hidden = model is None or _accepts(builder_params, "hidden")
        self._uses_activation = model is None or _accepts(builder_params, "activation")

        self._build_controls(dataset, hidden, activation, lr, optimizer, modifier, batchsize,
                             noise, split, seed)
        self._build_views()
        self._build_layout()
        self._new_run("Ready: press ▶ to train, or change the settings first.")

    # ------------------------------------------------------------------ controls

    def _build_controls(self, dataset, hidden, activation, lr, optimizer, modifier, batchsize,
                        noise, split, seed):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}.")
        if modifier not in MODIFIERS:
            raise ValueError(f"modifier must be one of {', '.join(MODIFIERS)}, got {modifier!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}.")
        if self._user_data is None and dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r} "
                             f"(or pass your own data=Dataset(...)).")
        if not isinstance(lr, (int, float)) or not 1e-5 <= lr <= 10:
            raise ValueError(f"lr must lie between 1e-5 and 10 (the slider's range), got {lr!r}.")
        default_noise = DATASETS.get(dataset, (None, None, 0.1))[2]
        self.lr = LearningRate(lr)
        self.lr.refused = self._guard("learning rate", "_refuse")
        self.lr.add_class("fl-lr")
        self.optimizer = W.Dropdown(options=OPTIMIZERS, value=optimizer,
                                    layout=W.Layout(width="135px"))
        self.modifier = W.Dropdown(options=MODIFIERS, value=modifier,
                                   layout=W.Layout(width="130px"))
        self.activation = W.Dropdown(options=list(ACTIVATIONS), value=activation,
                                     layout=W.Layout(width="125px"))
        self.batchsize = W.IntSlider(value=batchsize, min=1, max=64, continuous_update=False,
                                     layout=W.Layout(width="195px"))
        self.hidden = HiddenLayers(hidden)
        self.dataset = W.Dropdown(options=[(v[0], k) for k, v in DATASETS.items()],
                                  value=dataset if dataset in DATASETS else "circles",
                                  layout=W.Layout(width="190px"))
        self.noise = W.FloatSlider(value=default_noise if noise is None else noise, min=0.0,
                                   max=0.5, step=0.01, continuous_update=False,
                                   layout=W.Layout(width="195px"))
        self.split = W.FloatSlider(value=split, min=0.1, max=0.9, step=0.05,
                                   readout_format=".0%", continuous_update=False,
                                   layout=W.Layout(width="195px"))
        self.noise.disabled = DATASETS.get(dataset, (0, 0, 0))[2] is None
        self.seed = W.BoundedIntText(value=seed, min=0, max=2**31 - 1,
                                     layout=W.Layout(width="90px"))
        self.hyper = {}
        self._hyper_box = W.VBox()

        self.start_button = W.Button(description="▶", tooltip="Start / pause training")
        self.step_button = W.Button(description="Step", tooltip="Train one epoch",
                                    layout=W.Layout(width="72px"))
        self.reset_button = W.Button(description="Reset", tooltip="Start a fresh run",
                                     layout=W.Layout(width="72px"))
        self.clear_button = W.Button(description="Clear history",
                                     tooltip="Remove the earlier runs from the loss plot")
        self.code_button = W.Button(description="Show code",
                                    tooltip="fluxlite code that reproduces this run")
        self.start_button.add_class("fl-start")
        for b, cls in ((self.step_button, "fl-step"), (self.reset_button, "fl-reset"),
                       (self.clear_button, "fl-clear"), (self.code_button, "fl-showcode")):
            b.add_class("fl-small")
            b.add_class(cls)

        for button, where, action in ((self.start_button, "start/pause", "toggle"),
                                      (self.step_button, "step", "step"),
                                      (self.reset_button, "reset", "reset"),
                                      (self.clear_button, "clear history", "clear_history"),
                                      (self.code_button, "show code", "_toggle_code")):
            button.on_click(self._guard(where, "_click", action))

        self.lr.observe(self._guard("learning rate", "_on_lr"), "value")
        watch = {self.optimizer: "the optimiser", self.modifier: "the gradient modifier",
                 self.activation: "the activation", self.batchsize: "the batch size",
                 self.hidden: "the hidden layers", self.noise: "the noise", self.split: "the train/test split",
                 self.seed: "the seed"}
        for widget, what in watch.items():
            widget.observe(self._guard(what, "_on_structural", what), "value")
        self.dataset.observe(self._guard("the data set", "_on_dataset"), "value")
        self._make_hyper_widgets()

    def _make_hyper_widgets(self):
        """One small input per hyperparameter of the optimiser and modifier (η is the slider)."""
        for w in self.hyper.values():
            w.close()
        self.hyper = {}
        rows = []
        for target, name in (("optimizer", self.optimizer.value), ("modifier", self.modifier.value)):
            if name == "none":
                continue
            rule = getattr(fl, name)()
            for field in type(rule)._fields:
                if field == "eta":
                    continue
                value = getattr(rule, field)
                key = field if target == "optimizer" else f"{name}.{field}"
                if isinstance(value, bool):
                    w = W.Checkbox(value=value, description=key, indent=False,
                                   layout=W.Layout(width="200px"))
                elif isinstance(value, tuple):
                    w = W.Text(value=", ".join(repr(v) for v in value), description=key,
                               continuous_update=False,
                               layout=W.Layout(width="200px"), style={"description_width": "70px"})
                else:
                    w = W.FloatText(value=value, description=key, layout=W.Layout(width="200px"),
                                    style={"description_width": "70px"})
                w.add_class("fl-hyper")
                w.observe(self._guard(key, "_on_hyper", target, field, w), "value")
                self.hyper[key] = w
                rows.append(w)
        self._hyper_box.children = rows
        no_eta = "eta" not in getattr(fl, self.optimizer.value)._fields
        self.lr.disabled = no_eta
        self.lr.slider.tooltip = (f"{self.optimizer.value} has no learning rate" if no_eta else None)

    def _hyper_value(self, target, field, widget):
        if isinstance(widget, W.Text):
            try:
                return tuple(float(v) for v in widget.value.replace("(", "").replace(")", "").split(","))
            except ValueError:
                raise ValueError(f"{field} needs numbers separated by a comma, e.g. 0.9, 0.999; "
                                 f"got {widget.value!r}.") from None
        return widget.value

    def _on_hyper(self, target, field, widget, change):
        if self._reverting:
            return
        key = field if target == "optimizer" else f"{self.modifier.value}.{field}"
        try:
            value = self._hyper_value(target, field, widget)
            _check_hyperparameter(field, value)
            setattr(self._rules[target]._copy(), field, value)   # the rule's own checks
        except (ValueError, TypeError) as err:
            self._reverting = True
            try:
                widget.value = change["old"]
            finally:
                self._reverting = False
            self._refuse(f"Refused {key} = {change['new']!r}: {err} It stays "
                         f"{change['old']!r}; the run goes on unchanged.")
            return
        self._queue_change(target, field, value)

    def _click(self, action, button):
        getattr(self, action)()

    def _refuse(self, message):
        """A value the controls will not take: say why in the status line; nothing changes."""
        self._set_status(message, "warn")

    def _on_lr(self, change):
        if "eta" in getattr(fl, self.optimizer.value)._fields:
            self._queue_change("optimizer", "eta", float(change["new"]))

    def _queue_change(self, target, name, value):
        """Hyperparameters change between two steps, so the change lands at an exact step."""
        # validate now, on a copy, so a bad value is reported here and never reaches training
        probe = self._rules[target]._copy()
        setattr(probe, name, value)
        with self._pending_lock:
            self._pending.append((target, name, value))
        if not self.running:
            with self._lock:
                self._apply_pending()
                if self.run.steps == 0:
                    self.run.settings["hyper"] = _hyperparameters(self._rules["optimizer"])
                    self.run.settings["modifier_hyper"] = _hyperparameters(self._rules.get("modifier"))
                self._draw_texts()
        what = "learning rate" if name == "eta" else name
        self.status = (f"{what} = {_fmt(value)} from step {self.run.steps + 1} on "
                       f"(the run goes on).") if self.run.steps else self.status

    def _apply_pending(self):
        with self._pending_lock:
            todo, self._pending = self._pending, []
        for target, name, value in todo:
            setattr(self._rules[target], name, value)
            if self.run.steps > 0:
                self.run.changes.append((self.run.steps + 1, target, name, value))

    def _on_structural(self, what, change):
        if what == "the optimiser" or what == "the gradient modifier":
            self._make_hyper_widgets()
        if self._suspended:
            self._dirty = what
            return
        self.reset(reason=f"{what} changed")

    def _on_dataset(self, change):
        """A new data set brings its own default noise; both change in one reset."""
        noise = DATASETS[change["new"]][2]
        self.noise.disabled = noise is None
        with self.hold():
            if noise is not None:
                self.noise.value = noise
            self._dirty = "the data set"

    @contextlib.contextmanager
    def hold(self):
        """Change several structural controls with one reset at the end.

        >>> dash = TrainingDashboard(seed=0)
        >>> with dash.hold():
        ...     dash.hidden.value = (8, 8, 8)
        ...     dash.activation.value = "relu"
        >>> len(dash.model), dash.model[0].σ is fl.relu, dash.status.startswith("Model reset")
        (4, True, True)
        """
        self._suspended += 1
        try:
            yield self
        finally:
            self._suspended -= 1
            if not self._suspended and self._dirty:
                what, self._dirty = self._dirty, None
                self.reset(reason=f"{what} changed")

    # ------------------------------------------------------------------ error handling

    def _guard(self, where, method, *bound):
        """A widget callback calling ``self.<method>(*bound, *args)``; an exception goes to the
        status line and to `errors`.

        It holds the dashboard weakly, so the widgets (which ipywidgets keeps until they are
        closed) do not keep a dashboard nobody uses alive, nor its training thread.
        """
        ref = weakref.ref(self)

        def callback(*args):
            dash = ref()
            if dash is None:
                return None
            try:
                return getattr(dash, method)(*bound, *args)
            except Exception as err:  # noqa: BLE001 - shown, logged and kept, not swallowed
                dash._report(where, err)
        callback.__name__ = method
        return callback

    def _report(self, where, err):
        self.errors.append((where, err))
        log.error("TrainingDashboard: error in %s", where, exc_info=err)
        self._set_status(f"Error in {where}: {type(err).__name__}: {err}", "error")

    # ------------------------------------------------------------------ the model and data

    def _make_data(self):
        if self._user_data is None:
            return builtin_data(self.dataset.value, self.noise.value, self.split.value,
                                self.seed.value, self._n)
        if isinstance(self._user_data, Dataset):
            return self._user_data
        data = self._user_data(noise=self.noise.value, split=self.split.value,
                               seed=self.seed.value)
        if not isinstance(data, Dataset):
            raise TypeError(f"data=... must return a widgets.Dataset, got {type(data).__name__}.")
        return data

    def _linear_model(self):
        """True when the data set comes with a linear model (see `LINEAR_MODEL`)."""
        return self._user_data is None and self._builder is None and \
            self.dataset.value in LINEAR_MODEL

    def _sync_model_controls(self):
        fixed = self._linear_model()
        for w in [self.hidden.count, *self.hidden.widths, self.activation]:
            w.disabled = fixed
        self.hidden.count.tooltip = LINEAR_MODEL.get(self.dataset.value) if fixed else None

    def _make_model(self, data):
        act = ACTIVATIONS[self.activation.value][0]
        hidden = self.hidden.value
        fl.seed(self.seed.value)
        if self._linear_model():
            return Dense(data.n_in, data.n_out)
        if self._builder is not None:
            kw = {"n_in": data.n_in, "n_out": data.n_out,
                  "hidden": hidden, "activation": act or fl.layers.identity}
            params = _parameters(self._builder)
            if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
                kw = {k: v for k, v in kw.items() if k in params}
            return self._builder(**kw)
        sizes = (data.n_in,) + tuple(hidden)
        layers = [Dense(a, b, act) if act is not None else Dense(a, b)
                  for a, b in zip(sizes[:-1], sizes[1:])]
        layers.append(Dense(sizes[-1], data.n_out))
        return Chain(*layers)

    def _make_rules(self):
        hyper = {}
        for key, w in self.hyper.items():
            if "." not in key:
                hyper[key] = self._hyper_value("optimizer", key, w)
        cls = getattr(fl, self.optimizer.value)
        if "eta" in cls._fields:
            hyper = {"eta": float(self.lr.value), **hyper}
        rules = {"optimizer": cls(**hyper)}
        if self.modifier.value != "none":
            mod = {key.split(".", 1)[1]: self._hyper_value("modifier", key, w)
                   for key, w in self.hyper.items() if "." in key}
            rules["modifier"] = getattr(fl, self.modifier.value)(**mod)
        return rules

    def _loss_for(self, task):
        if self._user_loss is not None:
            return self._user_loss
        return logitcrossentropy if task == "classification" else mse

    def _loss(self, yhat, y):
        return self._loss_for(self.data.task)(yhat, y)

    def _settings(self, data, rules):
        linear = self._linear_model()
        return {"dataset": data.name, "hidden": () if linear else tuple(self.hidden.value),
                "activation": "identity" if linear else self.activation.value,
                "linear": linear, "loss": getattr(self._loss_for(data.task), "__name__", "loss"),
                "optimizer": self.optimizer.value,
                "modifier": self.modifier.value, "batchsize": self.batchsize.value,
                "noise": self.noise.value, "split": self.split.value, "seed": self.seed.value,
                "hyper": _hyperparameters(rules["optimizer"]),
                "modifier_hyper": _hyperparameters(rules.get("modifier"))}

    def _controls(self):
        """The structural controls' values, to put back if a change cannot be built."""
        return {"dataset": self.dataset.value, "noise": self.noise.value,
                "split": self.split.value, "seed": self.seed.value, "hidden": self.hidden.value,
                "activation": self.activation.value, "optimizer": self.optimizer.value,
                "modifier": self.modifier.value, "batchsize": self.batchsize.value}

    def _restore_controls(self, controls):
        """Put the controls back as they were for the current run, without another reset."""
        self._suspended += 1
        try:
            for name in ("dataset", "noise", "split", "seed", "activation", "optimizer",
                         "modifier", "batchsize", "hidden"):
                getattr(self, name).value = controls[name]
            self._reverting = True
            for key, w in self.hyper.items():        # the boxes show the rules in force
                target, field = ("modifier", key.split(".", 1)[1]) if "." in key else \
                    ("optimizer", key)
                value = getattr(self._rules[target], field)
                w.value = ", ".join(repr(v) for v in value) if isinstance(value, tuple) else value
        finally:
            self._reverting = False
            self._suspended -= 1
            self._dirty = None

    def _build(self):
        """Everything a run needs, built from the controls without touching the current run."""
        b = {"data": self._make_data()}
        b["_model"] = self._make_model(b["data"])
        b["_rules"] = rules = self._make_rules()
        b["rule"] = (fl.OptimiserChain(rules["modifier"], rules["optimizer"])
                     if "modifier" in rules else rules["optimizer"])
        b["opt_state"] = fl.setup(b["rule"], b["_model"])
        b["_Ytrain"], b["_Ytest"] = b["data"].targets()
        bs = min(self.batchsize.value, b["data"].x_train.shape[-1])
        b["loader"] = fl.DataLoader((b["data"].x_train, b["_Ytrain"]), batchsize=bs,
                                    shuffle=True, rng=self.seed.value)
        initial = self._evaluate(b["_model"], b["data"], b["_Ytrain"], b["_Ytest"],
                                 self._loss_for(b["data"].task))
        return b, self._settings(b["data"], rules), initial

    def _new_run(self, message, level="info"):
        """Archive the current run (if it trained) and set up fresh data, weights and state.

        All or nothing: the new run is built completely first and only then replaces the
        current one. If building fails, the controls go back to the current run's settings,
        which goes on unchanged, and the error is raised (the status line shows it).
        """
        with self._lock:
            try:
                built, settings, initial = self._build()
            except Exception as err:
                if self.run is None:
                    raise
                self._restore_controls(self._run_controls)
                raise RuntimeError(f"the new settings could not be built ({type(err).__name__}: "
                                   f"{err}). The controls are back as they were, and run "
                                   f"#{self.run.number} goes on unchanged.") from err
            if self.run is not None and self.run.steps == 0 and self.runs and self.runs[-1] is self.run:
                self.runs.pop()        # an untrained run leaves nothing to compare
            for name, value in built.items():
                setattr(self, name, value)
            self._run_controls = self._controls()
            self._batches, self._in_epoch = None, 0
            self._last_grads, self._last_loss = None, None
            self._stalled = False
            with self._pending_lock:
                self._pending = []
            number = (self.runs[-1].number + 1) if self.runs else 1
            self.run = Run(number, settings, initial)
            self.runs.append(self.run)
            del self.runs[:-self.max_runs - 1]
            self._bound = self.explode * max(1.0, self.run.initial["train_loss"])
            self.start_button.description = "▶"
            self.start_button.remove_class("fl-running")
            self._sync_model_controls()
            self._update_model_text()
            self._set_status(message, level)
            self._render()

    def _evaluate(self, model=None, data=None, Ytrain=None, Ytest=None, loss=None):
        model = self._model if model is None else model
        if data is None:
            data, Ytrain, Ytest, loss = self.data, self._Ytrain, self._Ytest, self._loss
        out = {}
        for which, X, Y in (("train", data.x_train, Ytrain), ("test", data.x_test, Ytest)):
            yhat = np.asarray(model(X))
            out[f"{which}_loss"] = float(loss(yhat, Y))
            if data.task == "classification":
                out[f"{which}_accuracy"] = float(np.mean(np.argmax(yhat, 0) == np.argmax(Y, 0)))
        return out

    # ------------------------------------------------------------------ training

    @property
    def model(self):
        """The current run's model.

        While training runs in the background, reading it gives a copy taken between two
        steps under the dashboard's lock: ordinary arrays, never the parameters a gradient is
        being taken through at that moment (they are switched to tracked arrays meanwhile).
        """
        if self.running and not self._lock._is_owned():
            with self._lock:
                return copy.deepcopy(self._model)
        return self._model

    @property
    def history(self):
        """The current run's per-epoch records: ``epoch``, ``train_loss``, ``test_loss``,
        ``lr`` (the learning rate in force at the end of the epoch; None for AdaDelta) and,
        for classification, ``train_accuracy`` and ``test_accuracy``."""
        return self.run.history

    @property
    def initial(self):
        """The current run's losses (and accuracies) before training: its epoch 0."""
        return self.run.initial

    @property
    def epoch(self):
        """Epochs completed in the current run."""
        return len(self.run.history)

    @property
    def steps(self):
        """Optimiser steps (mini-batches) taken in the current run."""
        return self.run.steps

    @property
    def running(self):
        """True while training runs in the background."""
        return self.runner.running

    def _step_once(self):
        """One mini-batch: gradient, divergence check, update; closes the epoch when due."""
        if self._pending:
            self._apply_pending()
        if self._batches is None:
            self._batches, self._in_epoch = iter(self.loader), 0
        x, y = next(self._batches)
        value, grads = fl.withgradient(lambda m: self._loss(m(x), y), self._model)
        if not math.isfinite(value) or value > self._bound:
            self._diverge(value)
            return
        fl.update_(self.opt_state, self._model, grads[0])
        self._last_grads, self._last_loss = grads[0], float(value)
        self.run.steps += 1
        self._in_epoch += 1
        if self._in_epoch == len(self.loader):
            self._batches = None
            record = {"epoch": self.epoch + 1, **self._evaluate(),
                      "lr": getattr(self._rules["optimizer"], "eta", None)}
            self.run.history.append(record)
            if not (math.isfinite(record["train_loss"]) and record["train_loss"] <= self._bound):
                self._diverge(record["train_loss"])
            else:
                why = self._not_learning()
                if why:
                    self._stall(why)

    def _not_learning(self):
        """Why the run is not learning (a sentence), or None if it is, or it is too early to say.

        The rule looks at the last `STALL_WINDOW` (20) epochs since the run started or last
        paused for this reason, and finds the run not learning when either

        * the train loss was above its starting value (epoch 0) in at least 3/4 of them, or
        * (classification) the train accuracy stayed at chance level in all of them (at most
          2 points above always answering the most common class) while the loss went up in
          at least a quarter of them: it thrashes rather than slowly falls, as it does with a
          learning rate that is merely small.
        """
        run, w = self.run, STALL_WINDOW
        window = run.history[-w:]
        if len(window) < w or window[0]["epoch"] <= run.stalled_at:
            return None
        start = run.initial["train_loss"]
        losses = [r["train_loss"] for r in window]
        if sum(v > start for v in losses) >= 0.75 * w:
            return (f"Over the last {w} epochs the train loss stayed above its starting value "
                    f"{_fmt(start)} (now {_fmt(losses[-1])}).")
        if self.data.task == "classification" and "train_accuracy" in window[0]:
            chance = float(np.max(np.mean(self._Ytrain, axis=1)))
            rises = sum(b > a for a, b in zip([window[0]["train_loss"]] + losses, losses))
            if all(r["train_accuracy"] <= chance + 0.02 for r in window) and rises >= w / 4:
                return (f"Over the last {w} epochs the loss jumped up and down (now "
                        f"{_fmt(losses[-1])}) and the train accuracy stayed at chance level "
                        f"({chance:.0%}, what always answering one class gets).")
        return None

    def _halted(self):
        """Whether training must stop now: the run diverged, or has just paused as not learning."""
        return self.run.diverged or self._stalled

    def _stall(self, why):
        self._stalled = True
        self.run.stalled_at = self.epoch
        lr = getattr(self._rules["optimizer"], "eta", None)
        self._set_status(STALLED.format(epoch=self.epoch, why=why,
                                        lr=_fmt(lr) if lr is not None else "",
                                        smaller=_fmt(lr / 10) if lr is not None else "a smaller one"),
                         "warn")

    def _diverge(self, value):
        self.run.diverged = True
        if math.isnan(value):
            what = "became NaN (not a number)"
        elif math.isinf(value):
            what = "became infinite"
        else:
            what = f"exploded to {value:.3g}"
        lr = getattr(self._rules["optimizer"], "eta", None)
        msg = DIVERGED.format(epoch=self.epoch + 1, step=self.run.steps + 1, what=what,
                              lr=_fmt(lr) if lr is not None else "",
                              smaller=_fmt(lr / 10) if lr is not None else "a smaller one")
        self._set_status(msg, "warn")

    def train(self, epochs=1):
        """Train `epochs` more epochs synchronously (pausing a background run first); redraw once.

        Stops early if training diverges or is not learning (see `_not_learning`). Returns the current run's history (a list of records).

        >>> dash = TrainingDashboard(dataset="xor", seed=0)
        >>> len(dash.train(3)), dash.epoch, dash.status
        (3, 3, 'Trained to epoch 3.')
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"train(epochs): epochs must be a whole number ≥ 0, got {epochs!r}.")
        self.pause()
        with self._lock, _one_blas_thread():
            self._stalled = False
            if self.run.diverged:
                self._new_run("New run: the last one diverged.")
            target = self.epoch + epochs
            while self.epoch < target and not self.run.diverged:
                self._step_once()
                if self._halted():
                    break
            if not self._halted():
                self._set_status(f"Trained to epoch {self.epoch}.")
            self._render()
        return list(self.history)

    def step(self):
        """Train one epoch (the step button); returns its record, or None if it diverged."""
        run, before = self.run, self.epoch
        self.train(1)
        return self.history[-1] if self.epoch > (before if self.run is run else 0) else None

    def _tick(self, should_stop):
        """One frame of background training: train for the frame's budget, then draw."""
        with self._lock:
            budget = max(0.015, 1.0 / self.fps - self._frame_cost)
            deadline = time.perf_counter() + budget
            while not should_stop() and not self._halted():
                self._step_once()
                if time.perf_counter() >= deadline:
                    break
            if should_stop() or self._halted():
                return False
            self._render(live=True)
            return True

    def start(self):
        """Start training in the background (the ▶ button); a diverged run is replaced first."""
        self._start()

    def _start(self, keep_status=False):
        if self.running:
            return
        if self.run.diverged:
            self._new_run("New run: the last one diverged.")
            keep_status = False
        self._stalled = False
        self.start_button.description = "❚❚"
        self.start_button.add_class("fl-running")
        if not keep_status:
            self._set_status(f"Training… ({self.optimizer.value}, learning rate "
                             f"{_fmt(self.lr.value)}). Move the sliders while it runs.")
        for other in list(_DASHBOARDS):
            if other is not self and other.running:
                other._preempt("another dashboard started training")
        # The BLAS limit is set and restored in the thread that trains: threadpoolctl's restore
        # from another thread was seen to leave the limit in place.
        blas, entered = _one_blas_thread(), []
        ref = weakref.ref(self)      # the thread holds the dashboard only during a tick

        def tick(should_stop):
            if not entered:
                blas.__enter__()
                entered.append(True)
            dash = ref()
            return False if dash is None else dash._tick(should_stop)

        def on_error(err):
            dash = ref()
            if dash is not None:
                dash._runner_error(err)

        def on_exit():
            if entered:
                blas.__exit__(None, None, None)   # the BLAS thread limit, as it was before
            dash = ref()
            if dash is not None:
                dash._runner_exit()

        self.runner.start(tick, on_error=on_error, on_exit=on_exit)

    def _preempt(self, why):
        """Pause because another dashboard trains now (at most one trains at a time)."""
        self._preempted = why
        self.pause()
        if not self.running:
            self._preempted = None
            self._set_status(self._preempted_status(why))

    def _preempted_status(self, why):
        return (f"Paused at epoch {self.epoch}: {why}, and one dashboard trains at a time. "
                f"Press ▶ to go on here.")

    def pause(self, timeout=2.0):
        """Stop background training (waits for the thread to end, at most `timeout` s)."""
        self._restart = False
        if self.running:
            self.runner.stop(timeout=timeout)

    def toggle(self):
        """Start if paused, pause if running: what the ▶ / ❚❚ button does."""
        if self.running:
            self.pause()
        else:
            self.start()

    def _runner_exit(self):
        with self._lock:
            self.start_button.description = "▶"
            self.start_button.remove_class("fl-running")
            restart, self._restart = self._restart, False
            if restart and self._status_level != "error":
                self._start(keep_status=True)
                return
            preempted, self._preempted = self._preempted, None
            if preempted:
                self._set_status(self._preempted_status(preempted))
            elif not self._halted() and self._status_level != "error":
                self._set_status(f"Paused at epoch {self.epoch}. Press ▶ to go on.")
            self._render()

    def _runner_error(self, err):
        self._report("training", err)

    def reset(self, reason=None):
        """Start a fresh run with new weights (from the seed); the old run joins the history.

        A change of settings (`reason`) while training runs keeps it running, on the new run.
        """
        was_running = self.running
        self.pause()
        if reason is None:
            self._new_run(f"New run: weights re-initialised from seed {self.seed.value}.")
            return
        self._new_run(f"Model reset: {reason}, so this is a new run with fresh weights. "
                      + ("Training goes on." if was_running else "Press ▶ to train."), "warn")
        if was_running:
            if self.running:           # a runner that ends after its tick (asyncio)
                self._restart = True
            else:
                self._start(keep_status=True)

    def clear_history(self):
        """Forget the earlier runs (they leave the loss plot); the current run stays."""
        with self._lock:
            self.runs = [self.run]
            self._runs_drawn = None
            self._set_status("History cleared.")
            self._render()

    # ------------------------------------------------------------------ status and text

    @property
    def status(self):
        """The status line's text: what just happened, or what went wrong."""
        return self._status

    @status.setter
    def status(self, text):
        self._set_status(text)

    def _set_status(self, text, level="info"):
        self._status, self._status_level = text, level
        self.status_label.value = (f"<span class='fl-{level}'>{html.escape(text)}</span>")

    def _update_model_text(self):
        # Flux's printing, with its column padding squeezed to fit the column
        text = "\n".join(re.sub(r"(?<=\S) {2,}", "  ", line) for line in repr(self._model).splitlines())
        self.model_label.value = f"<pre>{html.escape(text)}</pre>"

    def _draw_texts(self):
        r = self.history[-1] if self.history else self.run.initial
        self.epoch_label.value = (f"<small>epoch</small>{self.epoch:,}".replace(",", "\u2009"))
        lines = [f"<span style='color:{TRAIN_COLOR}'>■</span> train loss <b>{_fmt(r['train_loss'], 4)}</b>",
                 f"<span style='color:{TEST_COLOR}'>■</span> test loss <b>{_fmt(r['test_loss'], 4)}</b>"]
        if "train_accuracy" in r:
            lines[0] += f" · accuracy <b>{r['train_accuracy']:.0%}</b>"
            lines[1] += f" · accuracy <b>{r['test_accuracy']:.0%}</b>"
        lr = getattr(self._rules["optimizer"], "eta", None)
        lines.append(f"<span class='fl-note'>step {self.steps:,} · learning rate "
                     f"{_fmt(lr) if lr is not None else '—'}</span>")
        self.loss_label.value = "<br>".join(lines)

    # ------------------------------------------------------------------ views

    def _build_views(self):
        self.epoch_label = W.HTML()
        self.epoch_label.add_class("fl-epoch")
        self.loss_label = W.HTML()
        self.loss_label.add_class("fl-losses")
        self.status_label = W.HTML()
        self.status_label.add_class("fl-status-text")
        self.model_label = W.HTML()
        self.model_label.add_class("fl-model")
        self.runs_label = W.HTML()
        self.runs_box = W.VBox([self.runs_label])   # the note, then one row per earlier run
        self.runs_box.add_class("fl-runs")
        self.run_toggles = {}                       # run number -> its visibility Checkbox
        self.code_view = W.HTML(layout=W.Layout(display="none"))
        self.code_view.add_class("fl-code")

        self.loss_plot = LivePlot(4.6, 2.35)
        self.loss_plot.widget.add_class("fl-loss-plot")
        self.output_plot = LivePlot(3.6, 3.3, format="jpeg")
        self.output_plot.widget.add_class("fl-output-plot")
        self.grad_plot = LivePlot(3.1, 2.1)
        self.grad_plot.widget.add_class("fl-grad-plot")
        for p in (self.loss_plot, self.output_plot, self.grad_plot):
            p.fig.set_facecolor("white")
        self._loss_ax = self.loss_plot.fig.add_subplot()
        self._loss_ax.set_yscale("log")
        self._runs_drawn = None
        self._list_key = None

    def _build_layout(self):
        # The dashboard fits the notebook's cell area (up to 1080 px): the Output column and
        # its pictures shrink; the status line sits in the header, right under the buttons.
        row = W.HBox([
            W.HBox([self.start_button, self.step_button, self.reset_button],
                   layout=W.Layout(align_items="center", margin="0 18px 0 0")),
            W.Box([self.epoch_label], layout=W.Layout(width="110px", margin="0 14px 0 0")),
            _labelled("learning rate", self.lr),
            _labelled("optimizer", self.optimizer),
            _labelled("activation", self.activation) if self._uses_activation else W.HTML(),
        ], layout=W.Layout(flex_flow="row wrap"))
        row.add_class("fl-header-row")
        status = W.Box([self.status_label])
        status.add_class("fl-status")
        head = W.VBox([row, status])
        head.add_class("fl-header")
        data_controls = []
        if self._user_data is None:
            data_controls.append(_labelled("which data set?", self.dataset))
        if not isinstance(self._user_data, Dataset):
            data_controls += [_labelled("noise", self.noise),
                              _labelled("training data", self.split)]
        data_controls.append(_labelled("batch size", self.batchsize))
        data_controls.append(_labelled("seed", self.seed))
        data_controls.append(W.HTML(
            "<div class='fl-note' style='margin-top:6px;line-height:15px'>The seed fixes the "
            "data, the initial weights and the shuffling, so a run can be repeated exactly.</div>"))
        data_col = W.VBox([W.HTML("<div class='fl-colhead'>Data</div>")] + data_controls,
                          layout=W.Layout(flex="0 0 230px", width="230px"))
        model_parts = [W.HTML("<div class='fl-colhead'>Model</div>")]
        if self._uses_hidden:
            model_parts.append(self.hidden)
        model_parts += [self.model_label,
                        _labelled("gradient modifier", self.modifier),
                        self._hyper_box,
                        _labelled("gradient norm per layer (last step)", self.grad_plot.widget)]
        model_col = W.VBox(model_parts, layout=W.Layout(flex="0 0 350px", width="350px"))
        # the decision boundary first, as high on the page as it can be
        output_col = W.VBox([W.HTML("<div class='fl-colhead'>Output</div>"),
                             self.output_plot.widget, self.loss_label, self.loss_plot.widget,
                             self.runs_box],
                            layout=W.Layout(flex="1 1 490px", min_width="240px"))
        for p in (self.output_plot, self.loss_plot, self.grad_plot):
            p.widget.layout.max_width = "100%"
            p.widget.layout.height = "auto"
        for c in (data_col, model_col, output_col):
            c.add_class("fl-col")
        body = W.HBox([data_col, model_col, output_col])
        footer = W.VBox([W.HBox([self.code_button, self.clear_button]), self.code_view])
        footer.add_class("fl-footer")
        title = W.HTML(f"<div class='fl-title'>{html.escape(self.title)}"
                       f"<span>fluxlite · train a network, watch it learn</span></div>")
        self.widget = W.VBox([W.HTML(_CSS), title, head, body, footer],
                             layout=W.Layout(width="100%", max_width="1080px"))
        self.widget.add_class("fl-dash")

    def _toggle_code(self):
        if self.code_view.layout.display == "none":
            self.code_view.value = f"<pre>{html.escape(self.code())}</pre>"
            self.code_view.layout.display = ""
            self.code_button.description = "Hide code"
        else:
            self.code_view.layout.display = "none"
            self.code_button.description = "Show code"

    def _render(self, live=False):
        """Draw every view from the current state: one frame.

        The loss plot is only redrawn when its curves changed (an epoch ended, a run was added
        or removed); the model's output changes at every step. While training runs (`live`),
        the gradient-norm bars are redrawn every other frame, which keeps the frame rate at
        10 per second or more; any other render draws everything.
        """
        with self._lock:
            start = time.perf_counter()
            self._draw_texts()
            key = (self.run.number, self.epoch, tuple(r.number for r in self.runs),
                   self.run.diverged)
            if key != self._loss_key:
                self._draw_losses()
                self.loss_plot.render()
                self._loss_key = key
            self._draw_output()
            self.output_plot.render()
            if not live or self.frames % 2 == 0:
                self._draw_grads()
                self.grad_plot.render()
            self.frames += 1
            self._frame_cost = time.perf_counter() - start

    # -- loss curves

    def _curve(self, run, key):
        xs = [0] + [r["epoch"] for r in run.history]
        ys = [run.initial[key]] + [r[key] for r in run.history]
        return np.asarray(xs, float), np.clip(np.asarray(ys, float), 1e-12, None)

    def _draw_losses(self):
        plot = self.loss_plot
        ax = plot.fig.axes[0]
        past = self._comparable_runs()
        key = (tuple((r.number, r.visible) for r in past), self.run.number)
        if self._runs_drawn != key:
            ax.cla()
            plot.invalidate(forget=True)
            ax.set_yscale("log")
            _style(ax)
            for r in (r for r in past if r.visible):
                color = RUN_COLORS[r.number % len(RUN_COLORS)]
                x, y = self._curve(r, "train_loss")
                ax.plot(x, y, color=color, alpha=0.5, lw=1.2, label=r.label)
                x, y = self._curve(r, "test_loss")
                ax.plot(x, y, color=color, alpha=0.4, lw=1.0, ls=(0, (3, 2)))
            self._train_line = plot.animate(*ax.plot([], [], color=TRAIN_COLOR, lw=2,
                                                     label="train (this run)"))
            self._test_line = plot.animate(*ax.plot([], [], color=TEST_COLOR, lw=2, label="test"))
            self._diverged_text = plot.animate(ax.text(
                0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                color="#b3261e", fontsize=11, weight="bold"))
            ax.set_xlabel("epoch", fontsize=8, labelpad=1)
            ax.set_ylabel("loss", fontsize=8, labelpad=1)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True, steps=[1, 2, 2.5, 5, 10]))
            list_key = (tuple(r.number for r in past), len(self.runs))
            if list_key != self._list_key:     # not for a mere visibility toggle
                self._draw_runs_list(past)
                self._list_key = list_key
            plot.fig.subplots_adjust(left=0.12, right=0.98, top=0.97, bottom=0.17)
            self._loss_limits = None
            self._runs_drawn = key
        x, y = self._curve(self.run, "train_loss")
        self._train_line.set_data(x, y)
        xt, yt = self._curve(self.run, "test_loss")
        self._test_line.set_data(xt, yt)
        self._diverged_text.set_text("diverged ✕  try a smaller learning rate"
                                     if self.run.diverged else "")
        shown = [r for r in past if r.visible]
        ys = np.concatenate([y, yt] + [self._curve(r, k)[1] for r in shown
                                       for k in ("train_loss", "test_loss")])
        ys = ys[np.isfinite(ys)]
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (0.1, 1.0)
        # Sticky limits (quarter decades; epochs in steps 10, 15, 20, 30, 40, 60, 80, 100, ...)
        # so that the axes, the costly part of a frame, are redrawn only rarely.
        ylo = 10.0 ** (math.floor(4 * math.log10(lo)) / 4)
        yhi = 10.0 ** (math.ceil(4 * math.log10(hi) + 1e-9) / 4)
        if yhi / ylo < 10 ** 0.5:
            yhi = ylo * 10 ** 0.5
        xmax = _nice_ceiling(max([self.epoch] + [len(r.history) for r in shown]))
        limits = (xmax, ylo, yhi)
        if limits != self._loss_limits:
            ax.set_xlim(0, xmax)
            ax.set_ylim(ylo, yhi)
            # plain numbers (0.1, 0.2, 0.5, 1 …) rather than 10⁻¹ and 2×10⁻¹ on the log axis
            decades = math.log10(yhi / ylo)
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if decades > 3 else
                                                  (1.0, 2.0, 5.0) if decades > 1.2 else
                                                  (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            self._loss_limits = limits
            plot.invalidate()

    def _comparable_runs(self):
        """The earlier runs drawn with the current one: same data set and same loss only, so
        one axis never mixes, say, a cross-entropy on circles with a mean squared error."""
        s = self.run.settings
        return [r for r in self.runs if r is not self.run
                and r.settings["dataset"] == s["dataset"] and r.settings["loss"] == s["loss"]]

    def _draw_runs_list(self, past):
        """The earlier runs under the loss plot, newest first, each with a checkbox that shows
        or hides its curves (sharper than a legend inside the plot)."""
        others = len(self.runs) - 1 - len(past)
        hidden_note = (f" {others} run{'s' if others > 1 else ''} on other data "
                       f"{'are' if others > 1 else 'is'} kept but not drawn here."
                       if others else "")
        if not past:
            self.runs_label.value = ("<span class='fl-note'>Earlier runs stay here as faded lines: "
                                     "change a setting or press Reset to compare."
                                     f"{hidden_note}</span>")
        else:
            self.runs_label.value = ("<div class='fl-note'>earlier runs on this data (solid: train, "
                                     f"dashed: test; untick to hide).{hidden_note}</div>")
        for box in self.run_toggles.values():
            box.close()
        self.run_toggles, rows = {}, []
        for r in reversed(past):
            color = RUN_COLORS[r.number % len(RUN_COLORS)]
            last = r.history[-1] if r.history else r.initial
            end = "diverged" if r.diverged else (f"train {_fmt(last['train_loss'])} · test "
                                                 f"{_fmt(last['test_loss'])}")
            box = W.Checkbox(value=r.visible, indent=False, description="",
                             layout=W.Layout(width="18px", margin="0 4px 0 0"))
            box.add_class("fl-run-toggle")
            box.observe(self._guard("showing a run", "_toggle_run", r.number), "value")
            self.run_toggles[r.number] = box
            text = W.HTML(f"<span style='color:{color}'>━</span> {html.escape(r.label)} "
                          f"<span class='fl-note'>— {len(r.history)} epochs, {end}</span>")
            rows.append(W.HBox([box, text], layout=W.Layout(align_items="center")))
        for row in self.runs_box.children[1:]:
            row.children[1].close()
            row.close()
        self.runs_box.children = [self.runs_label] + rows

    def _toggle_run(self, number, change):
        with self._lock:
            for r in self.runs:
                if r.number == number:
                    r.visible = bool(change["new"])
            self._draw_losses()
            self.loss_plot.render()

    # -- decision boundary, fitted curve, predictions or accuracy

    def _output_mode(self):
        d = self.data
        if d.task == "classification":
            return "boundary" if np.ndim(d.x_train) == 2 and d.n_in == 2 else "accuracy"
        return "curve" if d.n_in == 1 and d.n_out == 1 and np.ndim(d.x_train) == 2 else "scatter"

    def _draw_output(self):
        structure = (id(self.data), self._output_mode())
        if self._rendered_structure != structure:
            self._setup_output()
            self._rendered_structure = structure
        mode = structure[1]
        if mode == "boundary":
            logits = np.asarray(self._model(self._grid), dtype=np.float64)
            p = np.exp(logits - logits.max(0))
            p /= p.sum(0)
            k = p.shape[0]
            mix = p.T @ self._class_rgb[:k]
            conf = (p.max(0) - 1.0 / k) / (1.0 - 1.0 / k)
            conf = np.nan_to_num(conf)[:, None] * 0.8
            rgb = np.nan_to_num(1.0 - conf * (1.0 - mix), nan=1.0).clip(0, 1)
            n = self._grid_n
            self._image.set_data(rgb.reshape(n, n, 3))
        elif mode == "curve":
            yhat = np.asarray(self._model(self._xs[None, :]), float)[0]
            self._fit_line.set_ydata(self._pin([yhat])[0])
        elif mode == "scatter":
            preds = self._pin([np.asarray(self._model(X), float) for _, X, _ in self._pred_sets])
            for (coll, X, Y), yhat in zip(self._pred_sets, preds):
                coll.set_offsets(np.column_stack([np.ravel(Y), np.ravel(yhat)]))
        else:
            xs = [0] + [r["epoch"] for r in self.history]
            for line, which in self._acc_lines:
                line.set_data(xs, [self.run.initial[f"{which}_accuracy"]]
                              + [r[f"{which}_accuracy"] for r in self.history])
            xmax = _nice_ceiling(self.epoch)
            if self._acc_ax.get_xlim()[1] != xmax:
                self._acc_ax.set_xlim(0, xmax)
                self.output_plot.invalidate()

    def _pin(self, predictions):
        """Predictions clipped to the plot's y range, so a fit is drawn even after it diverged.

        Points beyond the range sit on its edge, and a note gives the largest value (or says
        the predictions are NaN); the axes stay put, which keeps frames cheap.
        """
        lo, hi = self._out_ylim
        out, worst, nan = [], 0.0, False
        for p in predictions:
            p = np.asarray(p, float)
            nan = nan or bool(np.isnan(p).any())
            off = np.abs(p[np.isfinite(p) & ((p < lo) | (p > hi))])
            if off.size or np.isinf(p).any():
                worst = max(worst, float(off.max()) if off.size else math.inf)
            out.append(np.clip(np.nan_to_num(p, nan=lo, posinf=hi, neginf=lo), lo, hi))
        note = ("the predictions are NaN (drawn at the bottom edge)" if nan else
                f"predictions off the chart (up to {_fmt(worst)}): drawn on its edge" if worst else "")
        self._off_text.set_text(note)
        return out

    def _setup_output(self):
        plot = self.output_plot
        fig = plot.fig
        fig.clf()
        plot.invalidate(forget=True)
        ax = fig.add_subplot()
        _style(ax)
        d, mode = self.data, self._output_mode()
        if mode == "boundary":
            X = np.concatenate([d.x_train, d.x_test], axis=1)
            lo, hi = X.min(1), X.max(1)
            pad = 0.12 * (hi - lo).max()
            center, half = (lo + hi) / 2, (hi - lo).max() / 2 + pad
            n = self._grid_n = 72
            g = np.linspace(-half, half, n)
            gx, gy = np.meshgrid(center[0] + g, center[1] + g)
            self._grid = np.stack([gx.ravel(), gy.ravel()]).astype(np.float32)
            extent = (center[0] - half, center[0] + half, center[1] - half, center[1] + half)
            self._class_rgb = np.array([to_rgb(c) for c in CLASS_COLORS])
            self._image = plot.animate(ax.imshow(np.ones((n, n, 3)), origin="lower",
                                                 extent=extent, interpolation="bilinear",
                                                 aspect="auto"))
            cols = np.array(CLASS_COLORS)
            ytr, yte = np.argmax(self._Ytrain, 0), np.argmax(self._Ytest, 0)
            plot.animate(ax.scatter(d.x_train[0], d.x_train[1], c=cols[ytr % len(cols)], s=18,
                                    edgecolors="white", linewidths=0.8),
                         ax.scatter(d.x_test[0], d.x_test[1], c=cols[yte % len(cols)], s=14,
                                    marker="D", edgecolors="#222", linewidths=0.6))
            ax.set_xlim(extent[:2])
            ax.set_ylim(extent[2:])
            ax.set_title("decision boundary    ● train   ◆ test", fontsize=8.5, color="#333")
        elif mode == "curve":
            X = np.concatenate([d.x_train, d.x_test], axis=1)[0]
            pad = 0.1 * (X.max() - X.min())
            self._xs = np.linspace(X.min() - pad, X.max() + pad, 200).astype(np.float32)
            ax.scatter(d.x_train[0], np.ravel(d.y_train), s=16, color=TRAIN_COLOR,
                       edgecolors="white", linewidths=0.5, label="train")
            ax.scatter(d.x_test[0], np.ravel(d.y_test), s=14, color=TEST_COLOR, marker="D",
                       edgecolors="white", linewidths=0.5, label="test")
            self._fit_line = plot.animate(*ax.plot(self._xs, np.zeros_like(self._xs),
                                                   color="#222", lw=2, label="model"))
            Y = np.concatenate([np.ravel(d.y_train), np.ravel(d.y_test)])
            span = Y.max() - Y.min()
            ax.set_xlim(self._xs[0], self._xs[-1])
            self._out_ylim = (Y.min() - 0.3 * span, Y.max() + 0.3 * span)
            ax.set_ylim(*self._out_ylim)
            ax.set_title("the model's curve and the data", fontsize=8.5, color="#333")
            ax.legend(fontsize=7, loc="lower right", frameon=False)
        elif mode == "scatter":
            Y = np.concatenate([np.ravel(d.y_train), np.ravel(d.y_test)])
            lo, hi = Y.min(), Y.max()
            pad = 0.25 * (hi - lo)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#aaa", lw=1, ls="--",
                    label="perfect fit")
            self._pred_sets = []
            for X, Yt, color, marker, label in ((d.x_train, self._Ytrain, TRAIN_COLOR, "o", "train"),
                                                (d.x_test, self._Ytest, TEST_COLOR, "D", "test")):
                coll = plot.animate(ax.scatter(np.ravel(Yt), np.ravel(Yt), s=14, color=color,
                                               marker=marker, edgecolors="white",
                                               linewidths=0.5, label=label))
                self._pred_sets.append((coll, X, Yt))
            ax.set_xlim(lo - pad, hi + pad)
            self._out_ylim = (lo - pad, hi + pad)
            ax.set_ylim(*self._out_ylim)
            ax.set_xlabel("target", fontsize=8)
            ax.set_ylabel("prediction", fontsize=8)
            ax.set_title("predictions against targets", fontsize=8.5, color="#333")
            ax.legend(fontsize=7, loc="upper left", frameon=False)
        else:
            self._acc_ax = ax
            self._acc_lines = [
                (plot.animate(*ax.plot([], [], color=TRAIN_COLOR, lw=2, label="train")), "train"),
                (plot.animate(*ax.plot([], [], color=TEST_COLOR, lw=2, label="test")), "test")]
            ax.set_ylim(0, 1.02)
            ax.set_xlim(0, 10)
            ax.set_xlabel("epoch", fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True, steps=[1, 2, 2.5, 5, 10]))
            ax.set_ylabel("accuracy", fontsize=8)
            ax.set_title(f"accuracy · {d.name}", fontsize=8.5, color="#333")
            ax.legend(fontsize=7, loc="lower right", frameon=False)
        if mode in ("curve", "scatter"):
            self._off_text = plot.animate(ax.text(0.5, 0.03, "", transform=ax.transAxes,
                                                  ha="center", fontsize=7.5, color="#b3261e"))
        fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.1)

    # -- gradient norms

    def _layer_norms(self):
        """``[(label, norm)]``: the gradient norm of each layer (or top-level part) of the model."""
        g = self._last_grads
        model = self._model
        if isinstance(model, Chain) and isinstance(g, dict) and "layers" in g:
            parts = list(zip(model, g["layers"])) if not isinstance(g["layers"], dict) else \
                [(model[k], v) for k, v in g["layers"].items()]
        elif isinstance(g, dict):
            parts = [(getattr(model, k, k), v) for k, v in g.items()]
        else:
            parts = [(model, g)]
        out = []
        for i, (layer, gi) in enumerate(parts):
            arrays = leaves(gi)
            if not arrays:
                continue
            norm = math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))
            out.append((_layer_name(layer, i), norm))
        return out

    def layer_gradients(self):
        """``[(layer, norm, verdict)]`` for the last step: each layer's gradient norm and
        ``"ok"``, ``"vanishing"`` or ``"exploding"`` as judged by `gradient_verdict` against that
        step's loss (empty before the first step). The gradient-norm bars show the same.

        >>> dash = TrainingDashboard(dataset="xor", hidden=(3,), seed=0)
        >>> dash.layer_gradients()
        []
        >>> _ = dash.train(1)
        >>> [(name, verdict) for name, _, verdict in dash.layer_gradients()]
        [('1: Dense 2→3', 'ok'), ('2: Dense 3→2', 'ok')]
        """
        with self._lock:
            if self._last_grads is None:
                return []
            return [(name, n, gradient_verdict(n, self._last_loss))
                    for name, n in self._layer_norms()]

    def _norm_names(self):
        if self._last_grads is not None:
            return [name for name, _ in self._layer_norms()]
        if isinstance(self._model, Chain):
            return [_layer_name(layer, i) for i, layer in enumerate(self._model)
                    if leaves(layer, trainable=True)]
        return []

    def _draw_grads(self):
        plot = self.grad_plot
        fig = plot.fig
        names = self._norm_names()
        if getattr(self, "_grad_names", None) != names or not fig.axes:
            fig.clf()
            plot.invalidate(forget=True)
            ax = fig.add_subplot()
            _style(ax)
            ax.grid(True, axis="x", which="major", color="#e6e6e6", lw=0.6)
            ys = np.arange(len(names))[::-1]
            ax.set_xscale("log")
            ax.set_xlim(1e-6, 1e2)
            self._bars = list(ax.barh(ys, np.full(len(names), 1e-6), left=1e-6,
                                      color=TRAIN_COLOR, height=0.62))
            plot.animate(*self._bars)
            ax.set_yticks(ys)
            ax.set_yticklabels(names, fontsize=7)
            ax.set_ylim(-0.6, len(names) - 0.4)
            ax.tick_params(axis="x", labelsize=7)
            ax.tick_params(axis="y", length=0)
            self._grad_texts = [plot.animate(ax.text(0, y, "", va="center", fontsize=6.5,
                                                     color="#333")) for y in ys]
            self._grad_limits = None
            self._grad_names = names
            fig.subplots_adjust(left=0.3, right=0.97, top=0.96, bottom=0.13)
        if not fig.axes:
            return
        ax = fig.axes[0]
        layers = self.layer_gradients()
        norms = [n for _, n, _ in layers]
        finite = [n for n in norms if math.isfinite(n) and n > 0]
        lo = 10.0 ** min([-6] + [math.floor(math.log10(n)) - 1 for n in finite])
        hi = 10.0 ** max([2] + [math.ceil(math.log10(n)) + 1 for n in finite])
        if (lo, hi) != self._grad_limits:
            ax.set_xlim(lo, hi)
            self._grad_limits = (lo, hi)
            plot.invalidate()
        for i, (bar, text) in enumerate(zip(self._bars, self._grad_texts)):
            if i >= len(norms):
                bar.set_width(0)
                text.set_text("")
                continue
            n = norms[i]
            shown = n if math.isfinite(n) and n > lo else lo
            bar.set_x(lo)
            bar.set_width(shown - lo)
            verdict = layers[i][2]
            bar.set_color(TRAIN_COLOR if verdict == "ok" else "#c0392b")
            inside = math.log10(shown) > math.log10(hi) - 1.6    # no room right of the bar
            text.set_position((shown / 1.3 if inside else shown * 1.4, text.get_position()[1]))
            text.set_horizontalalignment("right" if inside else "left")
            text.set_color("white" if inside else "#333")
            text.set_text(f"{n:.1e}" + ("" if verdict == "ok" else f"  {verdict}"))

    # ------------------------------------------------------------------ code

    def code(self):
        """fluxlite code that reproduces this run: data, model, optimiser, loop and losses.

        Running it prints the per-epoch losses, equal to `history`'s. Hyperparameter changes
        made during the run are replayed at the same steps. Only complete epochs are covered.

        >>> dash = TrainingDashboard(dataset="xor", hidden=(3,), seed=0)
        >>> code = dash.code()
        >>> "fl.datasets.xor(200, noise=0.1, rng=0)" in code, "Chain(Dense(2, 3, fl.tanh), Dense(3, 2))" in code
        (True, True)
        """
        with self._lock:
            run, data = self.run, self.data
            s = run.settings
            lines = ["import numpy as np", "import fluxlite as fl"]
            imports = []
            if self._builder is None:
                imports.append("from fluxlite.layers import Chain, Dense")
            loss_name = None
            if self._user_loss is None:
                loss_name = "logitcrossentropy" if data.task == "classification" else "mse"
                imports.append(f"from fluxlite.losses import {loss_name}")
            lines += imports + [""]
            lines.append(f"# Data: {data.name}" + (
                f", {data.x_train.shape[-1]} training and {data.x_test.shape[-1]} test points."
            ))
            lines.append((data.code or "# Xtrain, Ytrain, Xtest, Ytest = ...   (your own data: "
                          "the dashboard was given arrays, so rebuild them here)\n").rstrip("\n"))
            lines += ["", "# Model: seeding fluxlite's generator gives the dashboard's initial weights.",
                      f"fl.seed({s['seed']})"]
            act_name = ACTIVATIONS[s["activation"]][1]
            if s.get("linear"):
                lines.append(f"model = Dense({data.n_in}, {data.n_out})   # the tutorial's "
                             f"linear model: ŷ = W x + b")
            elif self._builder is None:
                sizes = (data.n_in,) + tuple(s["hidden"])
                layers = [f"Dense({a}, {b}, {act_name})" if act_name else f"Dense({a}, {b})"
                          for a, b in zip(sizes[:-1], sizes[1:])]
                layers.append(f"Dense({sizes[-1]}, {data.n_out})")
                lines.append(f"model = Chain({', '.join(layers)})")
            else:
                name = getattr(self._builder, "__name__", "build")
                try:
                    lines.append(inspect.getsource(self._builder).rstrip())
                except (OSError, TypeError):
                    lines.append(f"# {name}: your model builder (its source is not available)")
                params = _parameters(self._builder)
                kw = {"n_in": data.n_in, "n_out": data.n_out, "hidden": tuple(s["hidden"]),
                      "activation": act_name or "fl.layers.identity"}
                if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
                    kw = {k: v for k, v in kw.items() if k in params}
                args = ", ".join(f"{k}={v if k == 'activation' else repr(v)}" for k, v in kw.items())
                lines.append(f"model = {name}({args})")
            lines += ["", "def loss(model, x, y):"]
            if loss_name:
                lines.append(f"    return {loss_name}(model(x), y)")
            else:
                lname = getattr(self._user_loss, "__name__", "my_loss")
                lines.append(f"    return {lname}(model(x), y)   # your loss, prediction first")
            lines += ["", _rule_code("optimizer", s["optimizer"], s["hyper"])]
            if s["modifier"] != "none":
                lines.append(_rule_code("modifier", s["modifier"], s["modifier_hyper"]))
                lines.append("opt_state = fl.setup(fl.OptimiserChain(modifier, optimizer), model)")
            else:
                lines.append("opt_state = fl.setup(optimizer, model)")
            bs = min(s["batchsize"], data.x_train.shape[-1])
            lines.append(f"loader = fl.DataLoader((Xtrain, Ytrain), batchsize={bs}, shuffle=True, "
                         f"rng={s['seed']})")
            epochs = len(run.history)
            steps_done = epochs * len(self.loader)
            changes = [c for c in run.changes if c[0] <= steps_done]
            if changes:
                lines += ["", "# Your changes during the run: before step k, set rule.name = value."]
                by_step = {}
                for step, target, name, value in changes:   # the last value at a step wins
                    by_step.setdefault(step, {})[(target, name)] = value
                entries = ",\n    ".join(
                    f"{k}: [{', '.join(f'({t}, {n!r}, {v!r})' for (t, n), v in todo.items())}]"
                    for k, todo in by_step.items())
                lines.append("changes = {\n    " + entries + ",\n}")
            lines += ["", "losses = []   # (train loss, test loss) after each epoch"]
            if changes:
                lines.append("step = 0")
            lines.append(f"for epoch in range(1, {epochs + 1}):")
            lines.append("    for x, y in loader:")
            if changes:
                lines += ["        step += 1",
                          "        for rule, name, value in changes.get(step, []):",
                          "            setattr(rule, name, value)"]
            lines += ["        loss_value, grads = fl.withgradient(lambda m: loss(m, x, y), model)",
                      "        fl.update_(opt_state, model, grads[0])",
                      "    train_loss = float(loss(model, Xtrain, Ytrain))",
                      "    test_loss = float(loss(model, Xtest, Ytest))",
                      "    losses.append((train_loss, test_loss))",
                      f"    if epoch % {max(1, epochs // 10)} == 0 or epoch == {epochs}:",
                      "        print(f\"epoch {epoch:4d}   train loss {train_loss + 0.0:.4g}   "
                      "test loss {test_loss + 0.0:.4g}\")"]
            if run.steps > steps_done:
                lines.append(f"# (The dashboard was {run.steps - steps_done} steps into epoch "
                             f"{epochs + 1}; this code runs the {epochs} complete epochs.)")
            return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ display

    def _repr_mimebundle_(self, **kwargs):
        return placeholder_bundle(self.widget, "training dashboard")

    def __repr__(self):
        s = self.run.settings
        return (f"TrainingDashboard({s['dataset']}, [{','.join(map(str, s['hidden']))}] "
                f"{s['activation']}, {s['optimizer']}, epoch {self.epoch})")

    def close(self):
        """Stop training (waiting for the thread to end) and close every widget."""
        self.pause(timeout=10.0)
        _DASHBOARDS.discard(self)
        for w in self.hyper.values():
            w.close()
        _close_tree(self.widget)

    def __del__(self):
        # a dashboard nobody holds any more stops its thread (which only holds it weakly)
        runner = self.__dict__.get("runner")
        if runner is not None:
            runner.stop(timeout=0) if isinstance(runner, ThreadRunner) else runner.stop()


# --------------------------------------------------------------------------- helpers

# Every open dashboard of this kernel (held weakly): at most one of them trains at a time.
_DASHBOARDS = weakref.WeakSet()


@atexit.register
def _stop_all_training():
    """At interpreter exit, stop every training thread before Python tears itself down.

    Daemon threads would otherwise keep training while the interpreter finalises modules,
    which can end the process with an error instead of exit status 0.
    """
    for dash in list(_DASHBOARDS):
        with contextlib.suppress(Exception):
            dash.pause(timeout=10.0)


def _close_tree(widget):
    """Close a widget and, for a box, every widget inside it."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


@contextlib.contextmanager
def _one_blas_thread():
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


# A layer's gradient norm against the loss of the same step (see `gradient_verdict`).
VANISHING, EXPLODING = 1e-3, 1e3


def gradient_verdict(norm, loss):
    """``"vanishing"``, ``"exploding"`` or ``"ok"``: a layer's gradient norm judged against the loss.

    Gradients shrink with the loss, so a size alone says little: near a perfect fit every layer's
    gradient is tiny and rightly so. The rule compares the norm with the loss ``L`` of the same
    step: vanishing below ``VANISHING · L`` (1/1000 of the loss), exploding above
    ``EXPLODING · L`` (1000 times the loss) or when not finite.

    >>> gradient_verdict(2e-8, 1e-7), gradient_verdict(3e-5, 0.69), gradient_verdict(5e3, 2.0)
    ('ok', 'vanishing', 'exploding')
    >>> gradient_verdict(float("nan"), 0.5)
    'exploding'
    """
    if not math.isfinite(norm):
        return "exploding"
    scale = abs(loss) if loss is not None and math.isfinite(loss) and loss != 0 else 1e-12
    if norm < VANISHING * scale:
        return "vanishing"
    if norm > EXPLODING * scale:
        return "exploding"
    return "ok"


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


def _parameters(f):
    try:
        return dict(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return {}


def _accepts(params, name):
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _hyperparameters(rule):
    if rule is None:
        return {}
    return {f: getattr(rule, f) for f in type(rule)._fields}


def _rule_code(var, name, hyper):
    """``optimizer = fl.Adam(0.03, beta=(0.8, 0.999))``: η first, other values if not default."""
    default = getattr(fl, name)()
    args = []
    if "eta" in hyper:
        args.append(repr(hyper["eta"]))
    for k, v in hyper.items():
        if k != "eta" and getattr(default, k) != v:
            args.append(f"{k}={v!r}")
    return f"{var} = fl.{name}({', '.join(args)})"


def _nice_ceiling(n):
    """The smallest of 10, 15, 20, 30, 40, 60, 80, 100, 150, ... that is at least `n`.

    >>> [_nice_ceiling(n) for n in (0, 10, 11, 90, 1234)]
    [10, 10, 15, 100, 1500]
    """
    scale = 1
    while True:
        for step in (10, 15, 20, 30, 40, 60, 80):
            if step * scale >= n:
                return step * scale
        scale *= 10


def _layer_name(layer, i):
    if isinstance(layer, Dense):
        out, n_in = layer.weight.shape
        return f"{i + 1}: Dense {n_in}→{out}"
    return f"{i + 1}: {type(layer).__name__}"


def _fmt(x, digits=3):
    """A number as the dashboard shows it: `digits` significant digits, never "-0".

    Zero prints as ``0`` whatever its sign, and so does a negative value within 1e-12 of it
    (a loss that is zero up to rounding); None prints as a dash.

    >>> [_fmt(v) for v in (0.012345, -0.0, -1e-17, 0.0, 1e-7, -0.25, None, float("nan"))]
    ['0.0123', '0', '0', '0', '1e-07', '-0.25', '—', 'nan']
    """
    if x is None:
        return "—"
    if isinstance(x, tuple):
        return "(" + ", ".join(_fmt(v, digits) for v in x) + ")"
    if isinstance(x, bool):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if -1e-12 <= x <= 0.0:
        return "0"
    text = f"{x:.{digits}g}"
    return "0" if float(text) == 0 else text


def _style(ax):
    """Light axes: no top/right spines, a faint grid, small ticks."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#bbb")
    ax.tick_params(which="both", labelsize=7, colors="#555", length=2)
    ax.grid(True, color="#eee", lw=0.6)
    ax.set_axisbelow(True)

