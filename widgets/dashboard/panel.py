"""`ControlPanel`: every control of the dashboard, what settings they show, and putting them back.

The panel builds the widgets and wires each to a callback the dashboard gives it (through
``guard(where, method, *bound)``, see `TrainingDashboard._guard`); it reads the settings for a
new run (`ControlPanel.settings`) and puts the controls back when a change cannot be built.
"""
import ipywidgets as W

import fluxlite as fl

from .controls import (FeatureToggles, HiddenLayers, LearningRate, RegularizationRate, box_value,
                       hyper_boxes, show_in_box)
from .data import DATASETS, DEFAULT_FEATURES, LINEAR_MODEL
from .settings import ACTIVATIONS, MODIFIERS, OPTIMIZERS, REGULARIZATIONS

# Structural controls: a change makes a new run. name -> what the status line calls it
STRUCTURAL = {"optimizer": "the optimiser", "modifier": "the gradient modifier",
              "activation": "the activation", "batchsize": "the batch size",
              "hidden": "the hidden layers", "noise": "the noise",
              "split": "the train/test split", "seed": "the seed",
              "features": "the input features", "regularization": "the regularization"}

# The controls a dashboard shows as its own attributes (``dash.lr``, ``dash.start_button``...).
CONTROLS = ("lr", "optimizer", "modifier", "activation", "batchsize", "hidden", "dataset",
            "noise", "split", "seed", "start_button", "step_button", "reset_button",
            "clear_button", "code_button", "features", "regularization", "reg_rate",
            "show_test", "discretize")


class ControlPanel:
    """The dashboard's controls, built from its initial settings and wired through `guard`.

    >>> from fluxlite.widgets.dashboard.settings import DEFAULTS
    >>> calls = []
    >>> def guard(where, method, *bound):
    ...     return lambda *args: calls.append((where, method))
    >>> panel = ControlPanel(dict(DEFAULTS, optimizer="Momentum"), guard)
    >>> panel.optimizer.value = "Descent"
    >>> calls[-1], sorted(panel.settings())[:3]
    (('the optimiser', '_on_structural'), ['activation', 'batchsize', 'dataset'])
    """

    def __init__(self, s, guard):
        self.guard = guard
        self.reverting = False         # set while a refused value is put back in its box
        self.lr = LearningRate(s["lr"])
        self.lr.refused = guard("learning rate", "_refuse")
        self.lr.add_class("fl-lr")
        self.optimizer = W.Dropdown(options=OPTIMIZERS, value=s["optimizer"],
                                    layout=W.Layout(width="135px"))
        self.modifier = W.Dropdown(options=MODIFIERS, value=s["modifier"],
                                   layout=W.Layout(width="130px"))
        self.activation = W.Dropdown(options=list(ACTIVATIONS), value=s["activation"],
                                     layout=W.Layout(width="125px"))
        self.batchsize = W.IntSlider(value=s["batchsize"], min=1, max=64,
                                     continuous_update=False, layout=W.Layout(width="195px"))
        self.hidden = HiddenLayers(s["hidden"])
        self.dataset = W.Dropdown(options=[(v[0], k) for k, v in DATASETS.items()],
                                  value=s["dataset"] if s["dataset"] in DATASETS else "circles",
                                  layout=W.Layout(width="190px"))
        self.noise = W.FloatSlider(value=s["noise"], min=0.0, max=0.5, step=0.01,
                                   continuous_update=False, layout=W.Layout(width="195px"))
        self.split = W.FloatSlider(value=s["split"], min=0.1, max=0.9, step=0.05,
                                   readout_format=".0%", continuous_update=False,
                                   layout=W.Layout(width="195px"))
        self.noise.disabled = DATASETS.get(s["dataset"], (0, 0, 0))[2] is None
        self.seed = W.BoundedIntText(value=s["seed"], min=0, max=2**31 - 1,
                                     layout=W.Layout(width="90px"))
        self.features = FeatureToggles(s.get("features", DEFAULT_FEATURES))
        self.features.refused = guard("the input features", "_refuse")
        self.regularization = W.Dropdown(options=REGULARIZATIONS,
                                         value=s.get("regularization", "none"),
                                         layout=W.Layout(width="90px"))
        self.reg_rate = RegularizationRate(s.get("reg_rate", 0.0))
        self.reg_rate.refused = guard("the regularization rate", "_refuse")
        self.reg_rate.add_class("fl-reg-rate")
        self.reg_rate.slider.layout.width = "150px"
        self.show_test = W.Checkbox(value=True, description="Show test data", indent=False,
                                    layout=W.Layout(width="auto"))
        self.discretize = W.Checkbox(value=False, description="Discretize output",
                                     indent=False, layout=W.Layout(width="auto"))
        for box, cls in ((self.show_test, "fl-show-test"), (self.discretize, "fl-discretize")):
            box.add_class(cls)
            box.observe(guard("the output view", "_on_view"), "value")
        self.hyper = {}
        self.hyper_box = W.VBox()
        self._buttons(guard)
        self.lr.observe(guard("learning rate", "_on_lr"), "value")
        self.reg_rate.observe(guard("the regularization rate", "_on_reg_rate"), "value")
        for name, what in STRUCTURAL.items():
            getattr(self, name).observe(guard(what, "_on_structural", what), "value")
        self.dataset.observe(guard("the data set", "_on_dataset"), "value")
        self.make_hyper_boxes()

    def _buttons(self, guard):
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
        for button, cls, where, action in (
                (self.start_button, None, "start/pause", "toggle"),
                (self.step_button, "fl-step", "step", "step"),
                (self.reset_button, "fl-reset", "reset", "reset"),
                (self.clear_button, "fl-clear", "clear history", "clear_history"),
                (self.code_button, "fl-showcode", "show code", "_toggle_code")):
            if cls:
                button.add_class("fl-small")
                button.add_class(cls)
            button.on_click(guard(where, "_click", action))

    def make_hyper_boxes(self):
        """One small input per hyperparameter of the optimiser and modifier (η is the slider)."""
        for w in self.hyper.values():
            w.close()
        self.hyper = hyper_boxes(self.optimizer.value, self.modifier.value)
        for key, w in self.hyper.items():
            target, field = ("modifier", key.split(".", 1)[1]) if "." in key else ("optimizer", key)
            w.observe(self.guard(key, "_on_hyper", target, field, w), "value")
        self.hyper_box.children = list(self.hyper.values())
        no_eta = "eta" not in getattr(fl, self.optimizer.value)._fields
        self.lr.disabled = no_eta
        self.lr.slider.tooltip = (f"{self.optimizer.value} has no learning rate" if no_eta else None)

    def settings(self):
        """The settings the controls show, for `Trainer.new_run`."""
        return {"dataset": self.dataset.value, "noise": self.noise.value,
                "split": self.split.value, "seed": self.seed.value,
                "hidden": tuple(self.hidden.value), "activation": self.activation.value,
                "optimizer": self.optimizer.value, "modifier": self.modifier.value,
                "batchsize": self.batchsize.value, "lr": float(self.lr.value),
                "hyper": {k: box_value(k, w) for k, w in self.hyper.items() if "." not in k},
                "modifier_hyper": {k.split(".", 1)[1]: box_value(k, w)
                                   for k, w in self.hyper.items() if "." in k},
                "features": self.features.value, "regularization": self.regularization.value,
                "reg_rate": float(self.reg_rate.value)}

    def restore(self, settings, rules):
        """Put the structural controls back to `settings` and the boxes to the `rules` in force.

        The caller holds off the resets these changes would cause (`TrainingDashboard.hold`).
        """
        for name in ("dataset", "noise", "split", "seed", "activation", "optimizer",
                     "modifier", "batchsize", "hidden", "features", "regularization"):
            getattr(self, name).value = settings[name]
        self.reverting = True
        try:
            for key, w in self.hyper.items():
                target, field = ("modifier", key.split(".", 1)[1]) if "." in key else \
                    ("optimizer", key)
                show_in_box(w, getattr(rules[target], field))
        finally:
            self.reverting = False

    def sync_model(self, fixed):
        """Grey out the layer and activation controls when the data set fixes the model."""
        for w in [self.hidden.count, *self.hidden.widths, self.activation]:
            w.disabled = fixed
        self.hidden.count.tooltip = LINEAR_MODEL.get(self.dataset.value) if fixed else None

    def sync_data(self, reason, inputs, boundary):
        """Grey out the features the data cannot use (`reason`: why none apply), and
        "Discretize output" unless the output is a decision boundary."""
        self.features.limit(reason, inputs)
        self.discretize.disabled = not boundary
        self.discretize.tooltip = (None if boundary else
                                   "only a decision boundary can be discretized")

    def close(self):
        """Close the hyperparameter boxes (the rest closes with the dashboard's box)."""
        for w in self.hyper.values():
            w.close()
