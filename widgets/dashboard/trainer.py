"""`Trainer`: the dashboard's training, headless (no ipywidgets, no matplotlib).

It holds the data, the model, the optimiser rules and the list of runs, takes one mini-batch
step at a time, evaluates each epoch, pauses a run that diverges or is not learning (saying why
in `Trainer.message`), and measures each layer's gradient norm. `TrainingDashboard` draws it and
drives it from its controls; a script or a test can drive it alone.

Settings are a plain dict (see `Trainer`). A structural setting (data, model, optimiser, batch
size, seed) needs a new run: `Trainer.new_run`, all or nothing. A hyperparameter (the learning
rate, the optimiser's other fields) changes mid-run with `Trainer.change`, from the next step
on; the run records the step, so `training_code` can replay it.
"""
import copy
import math
import threading

import numpy as np

import fluxlite as fl
from fluxlite.layers import Chain, Dense
from fluxlite.losses import logitcrossentropy, mse

from .data import (LINEAR_MODEL, Dataset, builtin_data, chosen_features, feature_function,
                   features_apply, identity_features)
from .gradients import gradient_verdict, layer_norms, norm_names
from .pauses import diverge_message, not_learning, stall_message, weight_size
from .settings import (ACTIVATIONS, DEFAULTS, Penalty, Run, _check_hyperparameter,
                       builder_arguments, check_choices, check_features, check_rate,
                       hyperparameters, one_blas_thread)

class Trainer:
    """Headless training for `TrainingDashboard`: data, model, rules, steps, runs.

    ``Trainer(settings, *, data=None, model=None, loss=None, n=None, max_runs=6,
    explode=1e3)``. `settings` is a dict with ``dataset``, ``noise``, ``split``, ``seed``,
    ``hidden``, ``activation``, ``optimizer``, ``modifier``, ``batchsize``, ``lr``, ``hyper``
    (the optimiser's other hyperparameters) and ``modifier_hyper`` (`DEFAULTS` has them all).
    `data`, `model` and `loss` are the dashboard's own-data arguments.

    >>> t = Trainer(dict(DEFAULTS, dataset="xor", hidden=(3,)))
    >>> [r["epoch"] for r in t.train(2)], t.steps == 2 * len(t.loader)
    ([1, 2], True)
    >>> t.change("optimizer", "eta", 0.1)
    >>> _ = t.train(1)
    >>> t.run.changes == [(2 * len(t.loader) + 1, "optimizer", "eta", 0.1)]
    True
    """

    def __init__(self, settings, *, data=None, model=None, loss=None, n=None, max_runs=6,
                 explode=1e3):
        check_choices(settings, data)
        self.lock = threading.RLock()
        self._pending_lock = threading.Lock()
        self._pending = []             # hyperparameter changes waiting for the next step
        self.user_data, self.builder, self.user_loss, self.n = data, model, loss, n
        self.max_runs, self.explode = max_runs, explode
        self.runs, self.run = [], None
        self.on_status = None          # called as on_status(text, level) by a pause
        self.message = ""
        self.stalled = False           # set when training pauses because it is not learning
        self.new_run(settings)

    # ------------------------------------------------------------------ building a run

    def fixed_model(self, settings=None):
        """True when the data set comes with its own linear model (see `LINEAR_MODEL`)."""
        settings = self.settings if settings is None else settings
        return self.user_data is None and self.builder is None and \
            settings["dataset"] in LINEAR_MODEL

    def _make_data(self, s):
        if self.user_data is None:
            return builtin_data(s["dataset"], s["noise"], s["split"], s["seed"], self.n)
        if isinstance(self.user_data, Dataset):
            return self.user_data
        data = self.user_data(noise=s["noise"], split=s["split"], seed=s["seed"])
        if not isinstance(data, Dataset):
            raise TypeError(f"data=... must return a fluxlite.widgets.Dataset, got {type(data).__name__}.")
        return data

    def _features(self, data, s):
        """``(keys, function)``: the input features in force and what computes them (None when
        the network sees the raw inputs). ``keys`` is None where features do not apply."""
        if features_apply(data, self.fixed_model(s)) is not None:
            return None, None
        keys = chosen_features(check_features(s["features"]), data)
        if not keys:
            raise ValueError(f"none of the chosen input features fits this data set, which has "
                             f"only x₁: choose x₁, x₁² or sin x₁.")
        return keys, None if identity_features(keys, data) else feature_function(keys)

    def featurize(self, X):
        """The model's inputs for raw points `X`: the chosen features of them, or `X` itself."""
        return X if self.feature_function is None else self.feature_function(X)

    def _make_model(self, data, n_in, s):
        act = ACTIVATIONS[s["activation"]][0]
        fl.seed(s["seed"])
        if self.fixed_model(s):
            return Dense(n_in, data.n_out)
        if self.builder is not None:
            kw = builder_arguments(self.builder, n_in=n_in, n_out=data.n_out,
                                   hidden=tuple(s["hidden"]),
                                   activation=act or fl.layers.identity)
            return self.builder(**kw)
        sizes = (n_in,) + tuple(s["hidden"])
        layers = [Dense(a, b, act) if act is not None else Dense(a, b)
                  for a, b in zip(sizes[:-1], sizes[1:])]
        layers.append(Dense(sizes[-1], data.n_out))
        return Chain(*layers)

    @staticmethod
    def _make_rules(s, model):
        cls = getattr(fl, s["optimizer"])
        hyper = dict(s["hyper"])
        if "eta" in cls._fields:
            hyper = {"eta": float(s["lr"]), **hyper}
        rules = {"optimizer": cls(**hyper)}
        if s["modifier"] != "none":
            rules["modifier"] = getattr(fl, s["modifier"])(**s["modifier_hyper"])
        if s["regularization"] != "none":
            rules["penalty"] = Penalty(s["regularization"], s["reg_rate"])
            rules["penalty"].layers(model)        # a model it cannot go over is refused now
        return rules

    def loss_for(self, task):
        """The loss ``loss(ŷ, y)`` used for `task`: yours, or logitcrossentropy / mse."""
        if self.user_loss is not None:
            return self.user_loss
        return logitcrossentropy if task == "classification" else mse

    def _run_settings(self, data, rules, s, features):
        linear = self.fixed_model(s)
        penalty = rules.get("penalty")
        return {"dataset": data.name, "hidden": () if linear else tuple(s["hidden"]),
                "activation": "identity" if linear else s["activation"],
                "linear": linear, "loss": getattr(self.loss_for(data.task), "__name__", "loss"),
                "optimizer": s["optimizer"], "modifier": s["modifier"],
                "batchsize": s["batchsize"], "noise": s["noise"], "split": s["split"],
                "seed": s["seed"], "hyper": hyperparameters(rules["optimizer"]),
                "modifier_hyper": hyperparameters(rules.get("modifier")),
                "features": features, "regularization": s["regularization"],
                "reg_rate": penalty.rate if penalty else s["reg_rate"]}

    def _build(self, s):
        """Everything a run needs, built from `s` without touching the current run."""
        s = dict(DEFAULTS, **s)
        b = {"data": self._make_data(s)}
        data = b["data"]
        b["features"], b["feature_function"] = self._features(data, s)
        f = b["feature_function"] or (lambda X: X)
        b["xtrain"], b["xtest"] = f(data.x_train), f(data.x_test)
        b["model"] = self._make_model(data, int(np.shape(b["xtrain"])[0]), s)
        b["rules"] = rules = self._make_rules(s, b["model"])
        b["rule"] = (fl.OptimiserChain(rules["modifier"], rules["optimizer"])
                     if "modifier" in rules else rules["optimizer"])
        b["opt_state"] = fl.setup(b["rule"], b["model"])
        b["Ytrain"], b["Ytest"] = data.targets()
        b["loss"] = self.loss_for(data.task)
        bs = min(s["batchsize"], data.x_train.shape[-1])
        b["loader"] = fl.DataLoader((b["xtrain"], b["Ytrain"]), batchsize=bs, shuffle=True,
                                    rng=s["seed"])
        initial = self._evaluate(b["model"], b["xtrain"], b["xtest"], b["Ytrain"], b["Ytest"],
                                 b["loss"], data.task)
        return b, self._run_settings(data, rules, s, b["features"]), initial

    def new_run(self, settings):
        """Start a fresh run from `settings`: new data, weights (from the seed) and state.

        All or nothing: the run is built completely before it replaces the current one, so
        if building raises, the current run goes on unchanged. The current run joins `runs`
        (unless it took no step); the last `max_runs` earlier runs are kept.
        """
        with self.lock:
            built, run_settings, initial = self._build(settings)
            settings = dict(DEFAULTS, **settings)
            if self.run is not None and self.run.steps == 0 and self.runs \
                    and self.runs[-1] is self.run:
                self.runs.pop()        # an untrained run leaves nothing to compare
            for name, value in built.items():
                setattr(self, name, value)
            self.settings = copy.deepcopy(settings)
            self._batches, self._in_epoch = None, 0
            self.last_grads, self.last_loss = None, None
            self.stalled = False
            with self._pending_lock:
                self._pending = []
            number = (self.runs[-1].number + 1) if self.runs else 1
            self.run = Run(number, run_settings, initial)
            self.runs.append(self.run)
            del self.runs[:-self.max_runs - 1]
            self._bound = self.explode * max(1.0, self.run.initial["train_loss"])
            if "penalty" in self.rules:
                self._weights_at_start = weight_size(self.model)
            return self.run

    def clear_history(self):
        """Forget the earlier runs; the current run stays."""
        with self.lock:
            self.runs = [self.run]

    # ------------------------------------------------------------------ hyperparameter changes

    def change(self, target, name, value):
        """Set ``name = value`` on the rule `target` from the next step on: ``"optimizer"``,
        ``"modifier"`` or ``"penalty"`` (the regularization, whose one field is ``rate``). The
        value is checked now, on a copy of the rule, so a bad one raises here and never reaches
        training. Without regularization, a new rate is kept for the next run."""
        if target == "penalty":
            value = check_rate(value)
            if "penalty" not in self.rules:
                self.settings["reg_rate"] = value
                return
        _check_hyperparameter(name, value)
        probe = self.rules[target]._copy()
        setattr(probe, name, value)
        with self._pending_lock:
            self._pending.append((target, name, value))

    def apply_pending(self):
        """Apply the queued changes. Before the first step they become part of the run's
        settings; after it, the run records the step they land at."""
        with self._pending_lock:
            todo, self._pending = self._pending, []
        for target, name, value in todo:
            setattr(self.rules[target], name, value)
            if target == "optimizer" and name == "eta":
                self.settings["lr"] = value
            elif target == "penalty":
                self.settings["reg_rate"] = value
            else:
                self.settings["hyper" if target == "optimizer" else "modifier_hyper"][name] = value
            if self.run.steps > 0:
                self.run.changes.append((self.run.steps + 1, target, name, value))
        if todo and self.run.steps == 0:
            self.run.settings["hyper"] = hyperparameters(self.rules["optimizer"])
            self.run.settings["modifier_hyper"] = hyperparameters(self.rules.get("modifier"))
            self.run.settings["reg_rate"] = self.settings["reg_rate"]

    # ------------------------------------------------------------------ training

    @property
    def history(self):
        """The current run's per-epoch records."""
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
    def halted(self):
        """Whether training must stop now: the run diverged, or has just paused as not learning."""
        return self.run.diverged or self.stalled

    @property
    def lr(self):
        """The learning rate in force (None for a rule without one, such as AdaDelta)."""
        return getattr(self.rules["optimizer"], "eta", None)

    def objective(self, model, x, y):
        """The loss a step minimises: the data loss of ``model(x)`` against `y`, plus the
        regularization rate times the penalty on the weights when there is one."""
        penalty = self.rules.get("penalty")
        if penalty is None:
            return self.loss(model(x), y)
        return self.loss(model(x), y) + penalty.rate * penalty(model)

    def step(self):
        """One mini-batch: gradient, divergence check, update; closes the epoch when due."""
        if self._pending:
            self.apply_pending()
        if self._batches is None:
            self._batches, self._in_epoch = iter(self.loader), 0
        x, y = next(self._batches)
        value, grads = fl.withgradient(lambda m: self.objective(m, x, y), self.model)
        if not math.isfinite(value) or value > self._bound:
            self._diverge(value)
            return
        fl.update_(self.opt_state, self.model, grads[0])
        self.last_grads, self.last_loss = grads[0], float(value)
        self.run.steps += 1
        self._in_epoch += 1
        if self._in_epoch == len(self.loader):
            self._batches = None
            record = {"epoch": self.epoch + 1, **self.evaluate(), "lr": self.lr}
            self.run.history.append(record)
            if not (math.isfinite(record["train_loss"]) and record["train_loss"] <= self._bound):
                self._diverge(record["train_loss"])
            else:
                why = self.not_learning()
                if why:
                    self._stall(why)

    def train(self, epochs=1):
        """Train `epochs` more epochs; stop early when the run diverges or is not learning.

        A diverged run is replaced by a fresh one (from the settings in force) first.
        Returns the current run's history.
        """
        check_epochs(epochs)
        with self.lock, one_blas_thread():
            self.stalled = False
            if self.run.diverged:
                self.apply_pending()       # a change made after the divergence counts
                self.new_run(self.settings)
            target = self.epoch + epochs
            while self.epoch < target and not self.halted:
                self.step()
        return list(self.history)

    @staticmethod
    def _evaluate(model, xtrain, xtest, Ytrain, Ytest, loss, task):
        out = {}
        for which, X, Y in (("train", xtrain, Ytrain), ("test", xtest, Ytest)):
            yhat = np.asarray(model(X))
            out[f"{which}_loss"] = float(loss(yhat, Y))
            if task == "classification":
                out[f"{which}_accuracy"] = float(np.mean(np.argmax(yhat, 0) == np.argmax(Y, 0)))
        return out

    def evaluate(self):
        """The current model's train and test losses (and accuracies, for classification):
        the data's loss, without the regularization penalty."""
        return self._evaluate(self.model, self.xtrain, self.xtest, self.Ytrain, self.Ytest,
                              self.loss, self.data.task)

    def not_learning(self):
        """Why the run is not learning (a sentence), or None: see `pauses.not_learning`."""
        return not_learning(self.run, self.data.task, self.Ytrain)

    def _say(self, text, level="warn"):
        self.message = text
        if self.on_status is not None:
            self.on_status(text, level)

    def _stall(self, why):
        self.stalled = True
        self.run.stalled_at = self.epoch
        penalty = self.rules.get("penalty")
        weights = (self._weights_at_start, weight_size(self.model)) if penalty else None
        self._say(stall_message(self.epoch, why, self.lr, penalty, weights))

    def _diverge(self, value):
        self.run.diverged = True
        self._say(diverge_message(self.epoch + 1, self.run.steps + 1, value, self.lr))

    # ------------------------------------------------------------------ gradient norms

    def layer_norms(self):
        """``[(label, norm)]``: the last step's gradient norm of each layer (or top-level part)."""
        return [] if self.last_grads is None else layer_norms(self.model, self.last_grads)

    def layer_gradients(self):
        """``[(layer, norm, verdict)]`` for the last step, judged by `gradient_verdict`."""
        with self.lock:
            return [(name, n, gradient_verdict(n, self.last_loss))
                    for name, n in self.layer_norms()]

    def norm_names(self):
        """The names of the layers that get a gradient-norm bar."""
        if self.last_grads is not None:
            return [name for name, _ in self.layer_norms()]
        return norm_names(self.model)


def check_epochs(epochs):
    """Refuse a number of epochs that is not a whole number ≥ 0."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"train(epochs): epochs must be a whole number ≥ 0, got {epochs!r}.")
