"""The dashboard's headless core: `Trainer` and `training_code`, driven without any widget.

The core (widgets/dashboard/data.py, settings.py, gradients.py, trainer.py, codegen.py) must
run in a plain script: it imports neither ipywidgets nor matplotlib, which a subprocess checks.
"""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.layers import Chain, Dense

ROOT = Path(__file__).resolve().parents[1]

HEADLESS_IMPORT = """
import sys
from fluxlite.widgets.dashboard import Trainer, training_code
from fluxlite.widgets.dashboard.trainer import DEFAULTS
t = Trainer(dict(DEFAULTS, dataset="xor", hidden=(3,)))
t.train(2)
code = training_code(t)
print("ipywidgets" in sys.modules, "matplotlib" in sys.modules, t.epoch, "fl.setup" in code)
"""


def test_the_core_imports_neither_ipywidgets_nor_matplotlib():
    out = subprocess.run([sys.executable, "-c", HEADLESS_IMPORT], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "2", "True"]


from fluxlite.widgets.dashboard.codegen import training_code  # noqa: E402
from fluxlite.widgets.dashboard.settings import check_choices  # noqa: E402
from fluxlite.widgets.dashboard.trainer import DEFAULTS, Trainer  # noqa: E402
from test_dashboard import _run_code as run_code  # noqa: E402  (runs exported code in a fresh process)


def settings(**kw):
    return dict(DEFAULTS, **kw)


def test_a_trainer_trains_epoch_by_epoch_and_its_loss_falls():
    t = Trainer(settings(dataset="moons", hidden=(6,), lr=0.05))
    history = t.train(5)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert t.steps == 5 * len(t.loader) and t.epoch == 5
    assert history[-1]["train_loss"] < t.initial["train_loss"]
    assert all(r["lr"] == 0.05 for r in history)


def test_a_learning_rate_change_lands_at_the_next_step_and_is_recorded():
    t = Trainer(settings(dataset="xor"))
    t.train(2)
    t.change("optimizer", "eta", 0.1)
    assert t.rule.eta == 0.03, "queued, not applied before the next step"
    t.train(1)
    assert t.rule.eta == 0.1 and t.settings["lr"] == 0.1
    assert t.run.changes == [(2 * len(t.loader) + 1, "optimizer", "eta", 0.1)]
    assert [r["lr"] for r in t.history] == [0.03, 0.03, 0.1]


def test_a_change_before_the_first_step_becomes_part_of_the_run_settings():
    t = Trainer(settings(optimizer="Momentum"))
    t.change("optimizer", "rho", 0.5)
    t.train(1)
    assert t.run.changes == [] and t.run.settings["hyper"]["rho"] == 0.5
    assert "fl.Momentum(0.03, rho=0.5)" in training_code(t)


@pytest.mark.parametrize("name, value, message", [
    ("epsilon", float("nan"), "epsilon must be a finite number, got nan."),
    ("beta", (0.9, 1.5), "beta holds decay rates from 0 up to (not including) 1, got (0.9, 1.5)."),
])
def test_a_bad_hyperparameter_is_refused_at_once_and_never_queued(name, value, message):
    t = Trainer(settings())
    t.train(1)
    with pytest.raises(ValueError) as err:
        t.change("optimizer", name, value)
    assert str(err.value) == message
    t.train(1)
    assert t.run.changes == [] and t.epoch == 2


def test_unknown_choices_are_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"^activation must be one of relu, tanh, .*got 'tahn'\.$"):
        check_choices(settings(activation="tahn"))
    with pytest.raises(ValueError, match=r"^lr must lie between 1e-5 and 10 .*got nan\.$"):
        Trainer(settings(lr=float("nan")))


def test_a_new_run_that_cannot_be_built_leaves_the_current_run_alone():
    def build(n_in, n_out, hidden):
        if 7 in hidden:
            raise ValueError("no layer of 7, please")
        return Chain(Dense(n_in, hidden[0], fl.relu), Dense(hidden[0], n_out))

    t = Trainer(settings(hidden=(4,)), model=build)
    t.train(2)
    run, weights = t.run, t.model[0].weight.copy()
    with pytest.raises(ValueError, match="no layer of 7"):
        t.new_run(settings(hidden=(7,)))
    assert t.run is run and np.array_equal(t.model[0].weight, weights)
    t.train(1)
    assert t.run is run and t.epoch == 3
    t.new_run(settings(hidden=(5,)))
    assert t.run is not run and t.runs == [run, t.run] and t.model[0].weight.shape == (5, 2)


def test_divergence_stops_training_and_says_what_to_do():
    seen = []
    t = Trainer(settings(dataset="regression1d", optimizer="Descent", lr=10.0))
    t.on_status = lambda text, level: seen.append((text, level))
    t.train(20)
    assert t.run.diverged and t.halted and t.epoch < 20
    assert t.message.startswith("Training diverged at epoch ") and "smaller one (say 1)" in t.message
    assert seen == [(t.message, "warn")]
    t.change("optimizer", "eta", 0.01)
    t.train(1)
    assert not t.run.diverged and t.epoch == 1 and t.runs[0].diverged, "a fresh run"


def test_a_run_that_does_not_learn_pauses_naming_the_learning_rate():
    t = Trainer(settings(lr=10))
    history = t.train(100)
    assert len(history) < 100 and t.stalled
    assert t.message.startswith(f"Training paused at epoch {t.epoch}: the network is not learning.")
    assert "learning rate 10 is probably too large" in t.message


def test_layer_gradients_name_each_dense_layer_after_a_step():
    t = Trainer(settings(dataset="xor", hidden=(3,)))
    assert t.layer_gradients() == [] and t.norm_names() == ["1: Dense 2→3", "2: Dense 3→2"]
    t.train(1)
    layers = t.layer_gradients()
    assert [name for name, _, _ in layers] == ["1: Dense 2→3", "2: Dense 3→2"]
    assert all(math.isfinite(n) and n > 0 and v == "ok" for _, n, v in layers)


def test_training_code_reproduces_a_headless_run_with_a_mid_run_change():
    t = Trainer(settings(dataset="circles", hidden=(5,), modifier="ClipNorm", batchsize=7,
                         seed=4))
    t.train(2)
    t.change("optimizer", "eta", 0.01)
    t.change("modifier", "omega", 0.5)
    t.train(2)
    expected = [(r["train_loss"], r["test_loss"]) for r in t.history]
    np.testing.assert_allclose(run_code(training_code(t)), expected, rtol=1e-5, atol=0)
