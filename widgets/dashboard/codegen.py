"""`training_code`: the fluxlite program that reproduces a `Trainer`'s current run (headless).

The program rebuilds the data and the model from the seed, sets up the same optimiser, replays
the hyperparameter changes made during the run at the same steps, and prints the losses after
each epoch, equal to the run's `history`.
"""
import inspect
import textwrap

import fluxlite as fl

from .data import FEATURES, features_code
from .settings import ACTIVATIONS, builder_arguments


def rule_code(var, name, hyper):
    """``optimizer = fl.Adam(0.03, beta=(0.8, 0.999))``: η first, other values if not default.

    >>> rule_code("optimizer", "Momentum", {"eta": 0.05, "rho": 0.8})
    'optimizer = fl.Momentum(0.05, rho=0.8)'
    """
    default = getattr(fl, name)()
    args = []
    if "eta" in hyper:
        args.append(repr(hyper["eta"]))
    for k, v in hyper.items():
        if k != "eta" and getattr(default, k) != v:
            args.append(f"{k}={v!r}")
    return f"{var} = fl.{name}({', '.join(args)})"


def _features_lines(trainer):
    keys = trainer.features
    if trainer.feature_function is None:
        return []
    names = ", ".join(FEATURES[k][0] for k in keys)
    return ["", f"# Input features: the network sees {names}, computed from the rows of X "
                f"(X[0] is x₁, X[1] is x₂).",
            "def features(X):", f"    return {features_code(keys)}", "",
            "Xtrain, Xtest = features(Xtrain), features(Xtest)"]


def _model_lines(trainer, s, data):
    act_name = ACTIVATIONS[s["activation"]][1]
    n_in = int(trainer.xtrain.shape[0])
    if s.get("linear"):
        return [f"model = Dense({n_in}, {data.n_out})   # the tutorial's linear model: "
                f"ŷ = W x + b"]
    if trainer.builder is None:
        sizes = (n_in,) + tuple(s["hidden"])
        layers = [f"Dense({a}, {b}, {act_name})" if act_name else f"Dense({a}, {b})"
                  for a, b in zip(sizes[:-1], sizes[1:])]
        layers.append(f"Dense({sizes[-1]}, {data.n_out})")
        return [f"model = Chain({', '.join(layers)})"]
    name = getattr(trainer.builder, "__name__", "build")
    try:
        lines = [textwrap.dedent(inspect.getsource(trainer.builder)).rstrip()]
    except (OSError, TypeError):
        lines = [f"# {name}: your model builder (its source is not available)"]
    kw = builder_arguments(trainer.builder, n_in=n_in, n_out=data.n_out,
                           hidden=tuple(s["hidden"]),
                           activation=act_name or "fl.layers.identity")
    args = ", ".join(f"{k}={v if k == 'activation' else repr(v)}" for k, v in kw.items())
    return lines + [f"model = {name}({args})"]


def _loss_lines(trainer, data):
    """``def loss(model, x, y)``; with regularization, the data's loss and the penalty too."""
    if trainer.user_loss is None:
        name = "logitcrossentropy" if data.task == "classification" else "mse"
        body = f"    return {name}(model(x), y)"
    else:
        name = getattr(trainer.user_loss, "__name__", "my_loss")
        body = f"    return {name}(model(x), y)   # your loss, prediction first"
    penalty = trainer.rules.get("penalty")
    if penalty is None:
        return ["", "def loss(model, x, y):", body]
    s = trainer.run.settings
    what = {"L1": "the sum of |w|", "L2": "the sum of w²"}[penalty.kind]
    return ["", "def data_loss(model, x, y):   # what the losses below report", body, "",
            f"λ = {s['reg_rate']!r}   # the regularization rate",
            "", f"def penalty(model):   # {penalty.kind}: {what} over every layer's weights w "
                "(not the biases)",
            f"    return {penalty.code(trainer.model)}",
            "", "def loss(model, x, y):   # what training minimises",
            "    return data_loss(model, x, y) + λ * penalty(model)"]


def _changes_lines(changes):
    lines = []
    rates = {step: v for step, target, _, v in changes if target == "penalty"}
    changes = [c for c in changes if c[1] != "penalty"]
    if rates:
        lines += ["", "# Your regularization-rate changes: before step k, λ = value.",
                  "rates = {" + ", ".join(f"{k}: {v!r}" for k, v in rates.items()) + "}"]
    if not changes:
        return lines
    lines += ["", "# Your changes during the run: before step k, set rule.name = value."]
    by_step = {}
    for step, target, name, value in changes:   # the last value at a step wins
        by_step.setdefault(step, {})[(target, name)] = value
    entries = ",\n    ".join(
        f"{k}: [{', '.join(f'({t}, {n!r}, {v!r})' for (t, n), v in todo.items())}]"
        for k, todo in by_step.items())
    return lines + ["changes = {\n    " + entries + ",\n}"]


def training_code(trainer):
    """fluxlite code that reproduces `trainer`'s current run: data, model, optimiser, loop, losses.

    Running it prints the per-epoch losses, equal to the run's history. Hyperparameter changes
    made during the run are replayed at the same steps. Only complete epochs are covered.

    >>> from fluxlite.widgets.dashboard.trainer import DEFAULTS, Trainer
    >>> t = Trainer(dict(DEFAULTS, dataset="xor", hidden=(3,)))
    >>> code = training_code(t)
    >>> "fl.datasets.xor(200, noise=0.05, rng=0)" in code, "Dense(2, 3, fl.tanh)" in code
    (True, True)
    """
    with trainer.lock:
        run, data = trainer.run, trainer.data
        s = run.settings
        lines = ["import numpy as np", "import fluxlite as fl"]
        if trainer.builder is None:
            lines.append("from fluxlite.layers import Chain, Dense")
        if trainer.user_loss is None:
            name = "logitcrossentropy" if data.task == "classification" else "mse"
            lines.append(f"from fluxlite.losses import {name}")
        lines += ["", f"# Data: {data.name}, {data.x_train.shape[-1]} training and "
                      f"{data.x_test.shape[-1]} test points."]
        lines.append((data.code or "# Xtrain, Ytrain, Xtest, Ytest = ...   (your own data: "
                      "the dashboard was given arrays, so rebuild them here)\n").rstrip("\n"))
        lines += _features_lines(trainer)
        lines += ["", "# Model: seeding fluxlite's generator gives the dashboard's initial weights.",
                  f"fl.seed({s['seed']})"]
        lines += _model_lines(trainer, s, data)
        lines += _loss_lines(trainer, data)
        lines += ["", rule_code("optimizer", s["optimizer"], s["hyper"])]
        if s["modifier"] != "none":
            lines.append(rule_code("modifier", s["modifier"], s["modifier_hyper"]))
            lines.append("opt_state = fl.setup(fl.OptimiserChain(modifier, optimizer), model)")
        else:
            lines.append("opt_state = fl.setup(optimizer, model)")
        bs = min(s["batchsize"], data.x_train.shape[-1])
        lines.append(f"loader = fl.DataLoader((Xtrain, Ytrain), batchsize={bs}, shuffle=True, "
                     f"rng={s['seed']})")
        evaluate = "loss" if "penalty" not in trainer.rules else "data_loss"
        epochs = len(run.history)
        steps_done = epochs * len(trainer.loader)
        changes = [c for c in run.changes if c[0] <= steps_done]
        if changes:
            lines += _changes_lines(changes)
        lines += ["", "losses = []   # (train loss, test loss) after each epoch"]
        rule_changes = any(c[1] != "penalty" for c in changes)
        rate_changes = any(c[1] == "penalty" for c in changes)
        if changes:
            lines.append("step = 0")
        lines.append(f"for epoch in range(1, {epochs + 1}):")
        lines.append("    for x, y in loader:")
        if changes:
            lines.append("        step += 1")
        if rule_changes:
            lines += ["        for rule, name, value in changes.get(step, []):",
                      "            setattr(rule, name, value)"]
        if rate_changes:
            lines += ["        λ = rates.get(step, λ)"]
        lines += ["        loss_value, grads = fl.withgradient(lambda m: loss(m, x, y), model)",
                  "        fl.update_(opt_state, model, grads[0])",
                  f"    train_loss = float({evaluate}(model, Xtrain, Ytrain))",
                  f"    test_loss = float({evaluate}(model, Xtest, Ytest))",
                  "    losses.append((train_loss, test_loss))",
                  f"    if epoch % {max(1, epochs // 10)} == 0 or epoch == {epochs}:",
                  "        print(f\"epoch {epoch:4d}   train loss {train_loss + 0.0:.4g}   "
                  "test loss {test_loss + 0.0:.4g}\")"]
        if run.steps > steps_done:
            lines.append(f"# (The dashboard was {run.steps - steps_done} steps into epoch "
                         f"{epochs + 1}; this code runs the {epochs} complete epochs.)")
        return "\n".join(lines) + "\n"
