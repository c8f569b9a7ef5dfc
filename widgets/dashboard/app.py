"""`TrainingDashboard`: the controls, the views and a background runner around a `Trainer`.

The `Trainer` (headless) trains; the views of `.views`, `.output` and `.diagram` draw it; the
`ControlPanel` changes it; `training_code` writes its code. This module glues them together and trains in the background with a runner from
`fluxlite.widgets.runners`.
"""
import contextlib
import copy
import functools
import logging
import weakref

import fluxlite as fl

from .._lesson import guard, placeholder_bundle
from ..runners import make_runner
from .running import Running
from .codegen import training_code
from .controls import box_value
from .data import DATASETS, DEFAULT_FEATURES
from .layout import build_layout, close_tree
from .output import output_mode
from .panel import CONTROLS, ControlPanel
from .screen import VIEWS, Screen
from .settings import accepts, check_choices, fmt
from .trainer import Trainer

log = logging.getLogger(__name__)



def _callbacks(dash):
    """``make(where, method, *bound)``: a widget callback calling ``dash.<method>(*bound, *args)``
    through `guard`, so that an exception goes to the status line and to ``dash.errors``.

    The callbacks hold the dashboard weakly, so the widgets (which ipywidgets keeps until they
    are closed) do not keep a dashboard nobody uses alive, nor its training thread; and no
    reference cycle keeps it either, so it goes as soon as its last user lets go.
    """
    ref = weakref.ref(dash)

    def make(where, method, *bound):
        def call(*args):
            d = ref()
            return None if d is None else getattr(d, method)(*bound, *args)

        def report(err):
            d = ref()
            if d is not None:
                d._report(where, err)
        call.__name__ = method
        return guard(call, report)
    return make


def _from(owner, name, doc):
    """A read-only attribute that is ``self.<owner>.<name>``."""
    return property(lambda self: getattr(getattr(self, owner), name), doc=doc)


class TrainingDashboard(Running):
    """Train a network live and watch it learn; see the module docstring for the tour.

    ``TrainingDashboard(*, dataset="circles", hidden=(4, 4), activation="tanh", lr=0.03,
    optimizer="Adam", modifier="none", batchsize=10, noise=None, split=0.5, seed=0, n=None,
    data=None, model=None, loss=None, runner="thread", fps=12, title=..., features=("x1", "x2"),
    regularization="none", reg_rate=0.0)``

    **Like TensorFlow Playground**: `features` are the inputs the network sees, computed from
    the points' x₁ and x₂ (keys of `FEATURES`: ``x1``, ``x2``, ``x1sq``, ``x2sq``, ``x1x2``,
    ``sinx1``, ``sinx2``); they apply to the built-in data sets with one or two inputs.
    `regularization` (``"L1"`` or ``"L2"``) adds `reg_rate` times the sum of ``|w|`` (or of
    ``w²``) over the weights, not the biases, to the loss that training minimises; the losses
    shown stay the data's own. "Show test data" and "Discretize output" change the picture only.

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
    (`HiddenLayers`), `activation`, `batchsize`, `dataset`, `noise`, `split`, `seed`,
    `features` (`FeatureToggles`), `regularization`, `reg_rate` (`RegularizationRate`),
    the view options `show_test` and `discretize`, and the
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
                 title="Training dashboard", max_runs=6, explode=1e3,
                 features=DEFAULT_FEATURES, regularization="none", reg_rate=0.0):
        self._guard = _callbacks(self)
        self._suspended = 0            # > 0 while several controls change together
        self._dirty = None             # the reason for a reset put off while suspended
        self.errors = []               # (where, exception) of every callback error
        self.fps, self.title = fps, title
        self.runner = make_runner(runner)
        self._status, self._status_level = "", "info"
        self._join()
        self._uses_hidden = model is None or accepts(model, "hidden")
        self._uses_activation = model is None or accepts(model, "activation")
        if noise is None:
            noise = DATASETS.get(dataset, (None, None, 0.1))[2]
        settings = {"dataset": dataset, "noise": noise, "split": split, "seed": seed,
                    "hidden": hidden, "activation": activation, "optimizer": optimizer,
                    "modifier": modifier, "batchsize": batchsize, "lr": lr,
                    "features": features, "regularization": regularization,
                    "reg_rate": reg_rate}
        check_choices(settings, data)
        self.panel = ControlPanel(settings, self._guard)
        for name in CONTROLS:
            setattr(self, name, getattr(self.panel, name))
        self.screen = Screen(toggle=functools.partial(self._guard, "showing a run", "_toggle_run"))
        for name in VIEWS:
            setattr(self, name, getattr(self.screen, name))
        self.trainer = Trainer(self.panel.settings(), data=data, model=model, loss=loss, n=n,
                               max_runs=max_runs, explode=explode)
        self.trainer.on_status = self._guard("training", "_set_status")
        self.widget = build_layout(self)
        self._after_new_run("Ready: press ▶ to train, or change the settings first.")

    # ------------------------------------------------------------------ what the trainer holds

    data = _from("trainer", "data", "The current run's `Dataset`.")
    rule = _from("trainer", "rule",
                 "The optimiser rule in force (an OptimiserChain with a modifier).")
    loader = _from("trainer", "loader", "The current run's `fl.DataLoader`.")
    run = _from("trainer", "run", "The current `Run`.")
    max_runs = _from("trainer", "max_runs", "How many earlier runs are kept.")
    runs = _from("trainer", "runs", "Every run kept, the current one last.")
    history = _from("trainer", "history", "The current run's per-epoch records: ``epoch``, "
                    "``train_loss``, ``test_loss``, ``lr`` (the learning rate in force at the "
                    "end of the epoch; None for AdaDelta) and, for classification, "
                    "``train_accuracy`` and ``test_accuracy``.")
    initial = _from("trainer", "initial", "The current run's losses before training: epoch 0.")
    epoch = _from("trainer", "epoch", "Epochs completed in the current run.")
    steps = _from("trainer", "steps", "Optimiser steps (mini-batches) taken in the current run.")
    hyper = _from("panel", "hyper", "The optimiser's and the modifier's hyperparameter boxes.")
    _model = _from("trainer", "model", "The current model itself (even while it trains).")
    _rules = _from("trainer", "rules", "The optimiser (and modifier) rules by role.")
    _lock = _from("trainer", "lock", "The trainer's lock: held by a step, a frame, a change.")
    frames = _from("screen", "frames", "Frames drawn (each redraws the views that changed).")
    run_toggles = property(lambda self: self.screen.loss_view.toggles,
                           doc="run number -> the checkbox that shows or hides that run.")
    runs_label = property(lambda self: self.screen.loss_view.label,
                          doc="The note above the list of earlier runs.")
    runs_box = property(lambda self: self.screen.loss_view.box,
                        doc="The list of earlier runs under the loss plot.")
    _grad_texts = property(lambda self: self.screen.grad_view.texts)
    _pred_sets = property(lambda self: self.screen.output_view.pred_sets)
    _off_text = property(lambda self: self.screen.output_view.off_text)

    @property
    def _loss(self):
        return self.trainer.loss

    @_loss.setter
    def _loss(self, loss):
        self.trainer.loss = loss

    def _output_mode(self):
        return output_mode(self.data)

    def _step_once(self):
        self.trainer.step()

    @property
    def model(self):
        """The current run's model.

        While training runs in the background, reading it gives a copy taken between two
        steps under the dashboard's lock: ordinary arrays, never the parameters a gradient is
        being taken through at that moment (they are switched to tracked arrays meanwhile).
        """
        if self.running and not self._lock._is_owned():
            with self._lock:
                return copy.deepcopy(self.trainer.model)
        return self.trainer.model

    # ------------------------------------------------------------------ control callbacks

    def _on_hyper(self, target, field, widget, change):
        if self.panel.reverting:
            return
        key = field if target == "optimizer" else f"{self.modifier.value}.{field}"
        try:
            self._queue_change(target, field, box_value(field, widget))
        except (ValueError, TypeError) as err:
            self.panel.reverting = True
            try:
                widget.value = change["old"]
            finally:
                self.panel.reverting = False
            self._refuse(f"Refused {key} = {change['new']!r}: {err} It stays "
                         f"{change['old']!r}; the run goes on unchanged.")

    def _click(self, action, button):
        getattr(self, action)()

    def _refuse(self, message):
        """A value the controls will not take: say why in the status line; nothing changes."""
        self._set_status(message, "warn")

    def _on_reg_rate(self, change):
        self._queue_change("penalty", "rate", float(change["new"]))

    def _on_view(self, change):
        """Show or hide the test points, draw the boundary in hard or soft colours."""
        self.screen.output_view.options(show_test=self.show_test.value,
                                        discrete=self.discretize.value)
        if not self.running:
            self._render()

    def _on_lr(self, change):
        if "eta" in getattr(fl, self.optimizer.value)._fields:
            self._queue_change("optimizer", "eta", float(change["new"]))

    def _queue_change(self, target, name, value):
        """Hyperparameters change between two steps, so the change lands at an exact step."""
        self.trainer.change(target, name, value)     # checked now: a bad value raises here
        if not self.running:
            with self._lock:
                self.trainer.apply_pending()
                self._draw_texts()
        what = {"eta": "learning rate", "rate": "regularization rate"}.get(name, name)
        if target == "penalty" and "penalty" not in self._rules:
            self.status = (f"regularization rate = {fmt(value)}: it applies once the "
                           f"regularization is L1 or L2.")
        elif self.run.steps:
            self.status = (f"{what} = {fmt(value)} from step {self.run.steps + 1} on "
                           f"(the run goes on).")

    def _on_structural(self, what, change):
        if what in ("the optimiser", "the gradient modifier"):
            self.panel.make_hyper_boxes()
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

    def _report(self, where, err):
        self.errors.append((where, err))
        log.error("TrainingDashboard: error in %s", where, exc_info=err)
        self._set_status(f"Error in {where}: {type(err).__name__}: {err}", "error")

    # ------------------------------------------------------------------ status, views, code

    @property
    def status(self):
        """The status line's text: what just happened, or what went wrong."""
        return self._status

    @status.setter
    def status(self, text):
        self._set_status(text)

    def _set_status(self, text, level="info"):
        self._status, self._status_level = text, level
        self.screen.set_status(text, level)

    def _update_model_text(self):
        self.screen.show_model(self.trainer.model)

    def _draw_texts(self):
        self.screen.draw_texts(self.trainer)

    def _render(self, live=False):
        """Draw every view from the current state: one frame (see `Screen.render`)."""
        self.screen.render(self.trainer, live)

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
        return self.trainer.layer_gradients()

    def code(self):
        """fluxlite code that reproduces this run: data, model, optimiser, loop and losses.

        Running it prints the per-epoch losses, equal to `history`'s. Hyperparameter changes
        made during the run are replayed at the same steps. Only complete epochs are covered.

        >>> dash = TrainingDashboard(dataset="xor", hidden=(3,), seed=0)
        >>> code = dash.code()
        >>> "fl.datasets.xor(200, noise=0.1, rng=0)" in code, "Chain(Dense(2, 3, fl.tanh), Dense(3, 2))" in code
        (True, True)
        """
        return training_code(self.trainer)

    def _toggle_code(self):
        if self.code_view.layout.display == "none":
            self.screen.show_code(self.code())
            self.code_button.description = "Hide code"
        else:
            self.screen.show_code(None)
            self.code_button.description = "Show code"

    def _repr_mimebundle_(self, **kwargs):
        return placeholder_bundle(self.widget, "training dashboard")

    def __repr__(self):
        s = self.run.settings
        return (f"TrainingDashboard({s['dataset']}, [{','.join(map(str, s['hidden']))}] "
                f"{s['activation']}, {s['optimizer']}, epoch {self.epoch})")

    def close(self):
        """Stop training (waiting for the thread to end) and close every widget."""
        self.pause(timeout=10.0)
        self._leave()
        self.panel.close()
        close_tree(self.widget)


