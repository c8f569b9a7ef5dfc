"""`TrainingDashboard`: train a small network and watch it learn, in the spirit of TensorFlow Playground.

A student picks a data set and the input features the network sees, the hidden layers, the
activation, the optimiser and its learning rate, L1 or L2 regularization and its rate, presses
▶ and watches the train and test losses fall, the decision boundary (or the
fitted curve) take shape, and the gradient of every layer grow or vanish. While it trains:

* the learning rate, the regularization rate and the optimiser's other hyperparameters apply
  from the next step on;
* a structural change (features, layers, activation, data, optimiser, regularization, batch
  size, seed) starts a new
  run with fresh weights and says so in the status line; the old run stays on the loss plot
  as a faded line, with its settings in the legend (``clear history`` removes them);
* a loss that becomes NaN or ∞, or explodes, pauses training with a plain message;
* ``show code`` (and `TrainingDashboard.code`) gives fluxlite code that reproduces the run:
  the same data, weights, optimiser, hyperparameter changes and losses.

Training runs in the background (a thread, or an asyncio task: see `fluxlite.widgets.runners`),
so the notebook stays responsive. For notebooks, tests and lessons there is a synchronous
`TrainingDashboard.train`.

The package, from the headless core outwards:

* `data`: `Dataset` and the built-in data sets; `settings`: the choices, the settings dict, `Run`;
* `trainer`: `Trainer`, the training itself, without widgets or plots (test it in a script);
* `gradients`: each layer's gradient norm and `gradient_verdict`;
* `codegen`: `training_code`, the program that reproduces a run;
* `controls` and `panel`: the widgets that change the settings;
* `views`, `output` and `screen`: the plots and labels that draw a trainer;
* `layout`: the CSS and the arrangement; `running`: training in the cell and in the background;
* `app`: `TrainingDashboard`, which glues them together.

>>> dash = TrainingDashboard(dataset="moons", hidden=(6,), activation="relu", lr=0.05, seed=3)
>>> history = dash.train(5)
>>> [r["epoch"] for r in history]
[1, 2, 3, 4, 5]
>>> sorted(history[0])
['epoch', 'lr', 'test_accuracy', 'test_loss', 'train_accuracy', 'train_loss']
>>> history[-1]["train_loss"] < dash.initial["train_loss"]
True
"""
from .codegen import training_code
from .data import DATASETS, FEATURES, LINEAR_MODEL, Dataset, builtin_data
from .gradients import EXPLODING, VANISHING, gradient_verdict
from .settings import (ACTIVATIONS, MODIFIERS, OPTIMIZERS, REG_RATES, REGULARIZATIONS, Penalty, Run,
                       fmt as _fmt)
from .trainer import Trainer

# The headless core above needs neither ipywidgets nor matplotlib; the names below do, so they
# are imported on first use: a script (or a grader) can use `Trainer` with neither installed.
_WIDGETS = {"TrainingDashboard": "app", "LEARNING_RATES": "controls",
            "FeatureToggles": "controls", "HiddenLayers": "controls",
            "LearningRate": "controls", "RegularizationRate": "controls"}


def __getattr__(name):
    if name in _WIDGETS:
        import importlib
        value = getattr(importlib.import_module(f".{_WIDGETS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrainingDashboard", "Dataset", "HiddenLayers", "LearningRate", "RegularizationRate",
           "FeatureToggles", "Penalty", "Run", "Trainer", "gradient_verdict", "training_code"]
