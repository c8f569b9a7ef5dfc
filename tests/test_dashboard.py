"""widgets.TrainingDashboard, driven programmatically: set values, click buttons, check the model
and the history. Background runs use the real thread (and asyncio) runners.

ipywidgets' ``Button.click()`` only *logs* an exception raised by a click handler, and the
dashboard reports its own callback errors to the status line and to its logger. The autouse
fixture `callback_errors` turns any such log record into a test failure, so an error in a
callback can never pass silently; a test that provokes one on purpose takes it with ``take()``.
"""
import asyncio
import json
import logging
import math
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import fluxlite as fl  # noqa: E402
from fluxlite.layers import Chain, Dense  # noqa: E402
from fluxlite.widgets import AsyncioRunner, Dataset, LivePlot, ThreadRunner, TrainingDashboard  # noqa: E402
from fluxlite.widgets.dashboard import DATASETS, MODIFIERS, OPTIMIZERS  # noqa: E402


class _Collector(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        if record.exc_info or "Exception in callback" in record.getMessage() \
                or record.name.startswith("fluxlite.widgets"):
            self.records.append(record)

    def take(self):
        """Hand over the records so far (the test expected them) and start afresh."""
        out, self.records = self.records, []
        return out


@pytest.fixture(autouse=True)
def callback_errors():
    """Fail the test if a widget callback logged an exception (ipywidgets or the dashboard)."""
    collector = _Collector()
    loggers = [logging.getLogger(name) for name in ("traitlets", "fluxlite.widgets", "ipywidgets")]
    for lg in loggers:
        lg.addHandler(collector)
    yield collector
    for lg in loggers:
        lg.removeHandler(collector)
    if collector.records:
        messages = "\n".join(f"{r.name}: {r.getMessage()} ({r.exc_info and r.exc_info[1]!r})"
                             for r in collector.records)
        pytest.fail(f"a widget callback raised (only logged, so it would go unnoticed):\n{messages}")


def runs_text(d):
    """The list of earlier runs under the loss plot, as HTML."""
    return d.runs_label.value + "".join(row.children[1].value for row in d.runs_box.children[1:])


def wait_until(predicate, timeout=20.0, interval=0.01):
    """Poll `predicate` until it is true; fail after `timeout` seconds."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def dash():
    d = TrainingDashboard(dataset="circles", hidden=(4, 4), activation="tanh", lr=0.03, seed=0)
    yield d
    d.pause()
    assert d.errors == [], f"callback errors: {d.errors}"
    d.close()


# --------------------------------------------------------------------------- controls

def test_controls_are_public_widgets_with_their_ranges(dash):
    assert (dash.lr.min, dash.lr.max) == (1e-5, 10)
    rules = {name for name in fl.__all__ if isinstance(getattr(fl, name), type)
             and issubclass(getattr(fl, name), fl.optimise.AbstractRule)}
    offered = set(OPTIMIZERS) | set(MODIFIERS) | {"OptimiserChain"}
    aliases = {"ADAM", "ClipGrad"}  # other names of Adam and ClipValue
    assert rules - aliases <= offered, f"rules missing from the dashboard: {rules - aliases - offered}"
    assert (dash.hidden.count.min, dash.hidden.count.max) == (0, 6)
    assert all((w.min, w.max) == (1, 32) for w in dash.hidden.widths)
    assert set(dict(dash.dataset.options).values()) == {
        "circles", "moons", "xor", "spiral", "gaussian", "regression1d", "linear"}
    for name in ("activation", "batchsize", "noise", "split", "seed", "start_button",
                 "step_button", "reset_button", "clear_button", "code_button", "features",
                 "regularization", "reg_rate", "show_test", "discretize"):
        assert hasattr(getattr(dash, name), "observe"), name
    # TensorFlow Playground's choices
    assert tuple(dash.regularization.options) == ("none", "L1", "L2")
    assert [v for _, v in dash.reg_rate.slider.options] == [
        0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]
    assert [b.description for b in dash.features.buttons.values()] == [
        "x₁", "x₂", "x₁²", "x₂²", "x₁x₂", "sin x₁", "sin x₂"]


def test_hidden_layers_value_moves_the_sliders_and_back(dash):
    dash.hidden.value = (8, 3, 5)
    assert dash.hidden.count.value == 3
    assert [s.value for s in dash.hidden.widths[:3]] == [8, 3, 5]
    assert [s.layout.display for s in dash.hidden.widths] == ["", "", "", "none", "none", "none"]
    dash.hidden.widths[1].value = 7
    assert dash.hidden.value == (8, 7, 5)
    assert [layer.weight.shape for layer in dash.model] == [(8, 2), (7, 8), (5, 7), (2, 5)]


def test_every_optimizer_and_modifier_trains_an_epoch(dash):
    for optimizer in OPTIMIZERS:
        dash.optimizer.value = optimizer
        assert type(dash.rule).__name__ == optimizer
        record = dash.step()
        assert record is not None and record["epoch"] == 1, optimizer
        assert math.isfinite(record["train_loss"]) and math.isfinite(record["test_loss"]), optimizer
        assert dash.lr.disabled == (optimizer == "AdaDelta")
    dash.optimizer.value = "Adam"
    for modifier in MODIFIERS[1:]:
        dash.modifier.value = modifier
        assert type(dash.rule).__name__ == "OptimiserChain"
        assert [type(r).__name__ for r in dash.rule.opts] == [modifier, "Adam"]
        assert dash.step()["epoch"] == 1, modifier
    assert dash.run.number == len(OPTIMIZERS) + len(MODIFIERS) - 1
    # the history keeps the last max_runs runs before the current one
    assert [r.number for r in dash.runs] == list(range(dash.run.number - dash.max_runs,
                                                       dash.run.number + 1))


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_dataset_trains_and_draws_its_view(dataset):
    d = TrainingDashboard(dataset=dataset, hidden=(5,), seed=1)
    before = d.output_plot.widget.value
    history = d.train(3)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert d.data.task == DATASETS[dataset][1]
    assert ("train_accuracy" in history[0]) == (d.data.task == "classification")
    assert d.output_plot.widget.value != before, "the decision boundary / fit did not move"
    assert d.errors == []


# --------------------------------------------------------------------------- training

def test_train_returns_one_record_per_epoch_and_redraws_once(dash):
    frames = dash.loss_plot.frames
    history = dash.train(4)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert set(history[0]) >= {"epoch", "train_loss", "test_loss", "lr"}
    assert all(r["lr"] == pytest.approx(0.03) for r in history)
    assert dash.loss_plot.frames == frames + 1
    assert history[-1]["train_loss"] < dash.initial["train_loss"]
    assert dash.steps == 4 * len(dash.loader)
    assert dash.epoch_label.value.endswith("4")


def test_learning_rate_change_between_train_calls_keeps_the_run(dash):
    dash.train(3)
    run = dash.run
    dash.lr.value = 0.001
    assert dash.rule.eta == 0.001, "the new learning rate is in force for the next step"
    assert "from step" in dash.status and "the run goes on" in dash.status
    dash.train(2)
    assert dash.run is run and len(dash.runs) == 1
    assert [r["lr"] for r in dash.history] == [pytest.approx(0.03)] * 3 + [0.001] * 2
    assert run.changes == [(3 * len(dash.loader) + 1, "optimizer", "eta", 0.001)]


def test_learning_rate_change_lands_mid_run_while_a_thread_trains(dash):
    dash.start()
    assert dash.running
    wait_until(lambda: dash.epoch >= 3)
    run, steps_then = dash.run, dash.steps
    dash.lr.value = 0.002
    epoch_of_change = dash.epoch
    wait_until(lambda: dash.epoch >= epoch_of_change + 3)
    dash.pause()
    assert not dash.running
    assert dash.run is run and len(dash.runs) == 1, "a learning-rate change must not reset"
    assert dash.rule.eta == 0.002
    (step, target, name, value), = run.changes
    assert (target, name, value) == ("optimizer", "eta", 0.002)
    assert step > steps_then, "the change lands at a step after the slider moved"
    lrs = [r["lr"] for r in dash.history]
    assert lrs[0] == pytest.approx(0.03) and lrs[-1] == 0.002
    assert dash.status.startswith("Paused at epoch")


def test_optimizer_hyperparameter_applies_mid_run(dash):
    dash.optimizer.value = "Momentum"
    dash.train(2)
    dash.hyper["rho"].value = 0.5
    assert dash.rule.rho == 0.5
    dash.train(1)
    assert dash.run.changes == [(2 * len(dash.loader) + 1, "optimizer", "rho", 0.5)]
    assert len(dash.runs) == 1  # the Adam run of the fixture was untrained, so not kept


def test_bad_hyperparameter_is_refused_and_never_reaches_training(dash):
    dash.train(1)
    dash.hyper["epsilon"].value = -1.0      # Adam's ε must not be negative
    assert dash.status.startswith("Refused epsilon = -1.0") and "It stays 1e-08" in dash.status
    assert dash.rule.epsilon == 1e-8 and dash.hyper["epsilon"].value == 1e-8
    dash.train(1)
    assert dash.run.changes == [] and dash.epoch == 2


def _snapshot(d):
    rule = d._rules["optimizer"]
    return (d.run, d.epoch, d.steps, list(d.run.changes), d.lr.value,
            {k: getattr(rule, k) for k in type(rule)._fields},
            {k: w.value for k, w in d.hyper.items()})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 0, -0.1, 1e-6,
                                   11, 100, "0.1", None, True, [0.1]])
def test_an_invalid_learning_rate_is_refused_and_nothing_changes(dash, value):
    dash.train(1)
    before = _snapshot(dash)
    dash.lr.value = value
    assert dash.status.startswith("Refused learning rate") and "It stays 0.03" in dash.status
    assert _snapshot(dash) == before and dash.rule.eta == 0.03
    assert dash.lr.readout.value == "0.03" and dash.lr.slider.value == 0.03
    dash.train(1)
    assert dash.history[-1]["lr"] == 0.03 and dash.run.changes == []


@pytest.mark.parametrize("key, value", [
    ("epsilon", float("nan")), ("epsilon", float("inf")), ("epsilon", -1.0),
    ("beta", "0.9, 1.5"), ("beta", "x"), ("beta", "nan, 0.9"), ("beta", "0.9"),
])
def test_an_invalid_hyperparameter_is_refused_and_its_box_restored(dash, key, value):
    dash.train(1)
    before = _snapshot(dash)
    dash.hyper[key].value = value
    assert dash.status.startswith(f"Refused {key} = ") and "goes on unchanged" in dash.status
    assert _snapshot(dash) == before
    dash.start()
    wait_until(lambda: dash.epoch >= 3)
    dash.pause()
    assert dash.run.changes == [] and dash.errors == []


def test_a_wrong_type_in_a_number_box_is_refused_by_the_box(dash):
    before = _snapshot(dash)
    with pytest.raises(Exception):
        dash.hyper["epsilon"].value = "tiny"
    assert _snapshot(dash) == before


def test_learning_rate_moves_in_playground_steps_and_takes_any_rate_from_code(dash):
    assert list(dash.lr.slider.options) == [
        ("1e-05", 1e-5), ("0.0001", 1e-4), ("0.001", 1e-3), ("0.003", 3e-3), ("0.01", 0.01),
        ("0.03", 0.03), ("0.1", 0.1), ("0.3", 0.3), ("1", 1.0), ("3", 3.0), ("10", 10.0)]
    dash.lr.slider.value = 0.3                     # one click right of 0.1
    assert dash.lr.value == 0.3 and dash.rule.eta == 0.3
    for value in (1e-5, 0.002, 0.05, 7, 10):
        dash.lr.value = value
        assert dash.rule.eta == value and dash.lr.readout.value == f"{value:g}"
    dash.lr.value = 0.002
    assert dash.lr.slider.value == 0.003, "the slider sits on the nearest step"


@pytest.mark.parametrize("control, value", [
    ("hidden", (6,)), ("activation", "relu"), ("optimizer", "RMSProp"), ("batchsize", 4),
    ("dataset", "moons"), ("noise", 0.2), ("split", 0.7), ("seed", 5), ("modifier", "ClipNorm"),
])
def test_structural_change_resets_the_model_and_says_so(dash, control, value):
    dash.train(2)
    old_run, old_weights = dash.run, dash.model[0].weight.copy()
    if control == "hidden":
        dash.hidden.value = value
    else:
        getattr(dash, control).value = value
    assert dash.run is not old_run and dash.runs[-2] is old_run
    assert dash.history == [] and dash.steps == 0
    assert dash.status.startswith("Model reset:") and "new run" in dash.status
    changed = dash.model[0].weight.shape != old_weights.shape or not np.array_equal(
        dash.model[0].weight, old_weights)
    assert changed or control in ("batchsize", "optimizer", "modifier", "noise", "split"), \
        "the model was rebuilt"


def test_run_history_keeps_earlier_runs_until_cleared(dash):
    dash.train(2)
    dash.lr.value = 0.3
    dash.train(1)
    dash.optimizer.value = "Descent"
    dash.train(2)
    first = dash.runs[0]
    assert [len(r.history) for r in dash.runs] == [3, 2]
    assert first.label.startswith("#1 Adam η 0.03→0.3")
    assert "#1 Adam" in runs_text(dash)
    dash.clear_button.click()
    assert dash.runs == [dash.run] and "earlier runs" not in runs_text(dash)


def test_buttons_drive_training(dash):
    dash.step_button.click()
    assert dash.epoch == 1
    dash.start_button.click()
    assert dash.running and dash.start_button.description == "❚❚"
    wait_until(lambda: dash.epoch >= 4)
    dash.start_button.click()
    assert not dash.running and dash.start_button.description == "▶"
    assert dash.epoch >= 4
    run = dash.run
    dash.reset_button.click()
    assert dash.run is not run and dash.epoch == 0 and "seed 0" in dash.status
    dash.code_button.click()
    assert "fl.setup" in dash.code_view.value and dash.code_view.layout.display == ""
    dash.code_button.click()
    assert dash.code_view.layout.display == "none"


def test_loss_plot_image_changes_while_a_thread_trains(dash):
    before = dash.loss_plot.widget.value
    frames = dash.loss_plot.frames
    dash.start()
    wait_until(lambda: dash.loss_plot.frames >= frames + 3)
    dash.pause()
    assert dash.loss_plot.widget.value != before
    assert dash.grad_plot.widget.value and dash.output_plot.widget.value


def test_a_thread_run_stops_within_0_2_s_of_pause(dash):
    dash.start()
    wait_until(lambda: dash.epoch >= 2)
    asked = time.perf_counter()
    dash.pause()
    assert dash.runner.stopped_at - asked < 0.2
    steps = dash.steps
    time.sleep(0.2)
    assert dash.steps == steps, "no step may run after pause() has returned"


def test_asyncio_runner_trains_without_a_thread():
    async def main():
        d = TrainingDashboard(dataset="xor", hidden=(4,), runner="asyncio", seed=2)
        d.start()
        assert isinstance(d.runner, AsyncioRunner) and d.running
        while d.epoch < 3:
            await asyncio.sleep(0.01)   # the loop stays free between frames
        d.pause()
        await d.runner.task
        return d

    d = asyncio.run(main())
    assert not d.running and d.epoch >= 3 and d.errors == []
    assert d.status.startswith("Paused at epoch")


def test_runner_errors_end_the_run_and_reach_the_status_line(dash, callback_errors):
    def broken(m, *args):
        raise FloatingPointError("boom")
    dash._loss = lambda yhat, y: broken(None)
    dash.start()
    wait_until(lambda: not dash.running)
    assert dash.status == "Error in training: FloatingPointError: boom"
    assert callback_errors.take()
    dash.errors.clear()


def test_a_failing_click_handler_is_shown_not_swallowed(dash, callback_errors):
    def fail():
        raise RuntimeError("kaput")
    dash.step = fail
    dash.step_button.click()
    assert dash.status == "Error in step: RuntimeError: kaput"
    assert [w for w, _ in dash.errors] == ["step"]
    assert callback_errors.take()
    dash.errors.clear()


def test_callback_errors_fixture_catches_what_ipywidgets_only_logs(callback_errors):
    import ipywidgets
    b = ipywidgets.Button()
    b.on_click(lambda _: 1 / 0)
    b.click()                        # ipywidgets logs the ZeroDivisionError and returns
    assert callback_errors.take(), "the fixture must see the logged exception"


# --------------------------------------------------------------------------- divergence

def test_divergence_pauses_with_a_plain_message_and_keeps_the_curve():
    d = TrainingDashboard(dataset="linear", hidden=(), optimizer="Descent", lr=0.01, seed=0)
    d.train(3)
    d.lr.value = 10.0
    history = d.train(50)
    assert d.run.diverged
    assert len(history) >= 3, "the epochs before the divergence stay"
    assert d.epoch < 53
    assert "diverged" in d.status and "smaller" in d.status and "learning rate" in d.status
    assert not d.running
    d.lr.value = 0.01
    assert d.step()["epoch"] == 1  # a new run replaces the diverged one
    assert len(d.runs) == 2 and d.runs[0].diverged and d.epoch == 1


def test_divergence_in_a_thread_pauses_by_itself():
    d = TrainingDashboard(dataset="regression1d", optimizer="Descent", lr=10.0, seed=0)
    d.start()
    wait_until(lambda: not d.running)
    assert d.run.diverged and "diverged" in d.status
    assert d.start_button.description == "▶"
    assert d.errors == []


# --------------------------------------------------------------------------- show the code

def _run_code(code):
    script = code + "\nimport json\nprint('LOSSES=' + json.dumps(losses))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOSSES=")][-1]
    return [tuple(p) for p in json.loads(line[len("LOSSES="):])]


@pytest.mark.parametrize("setup", ["circles+lr+clipnorm", "regression1d+momentum", "linear"])
def test_code_reproduces_the_losses_in_a_fresh_process(setup):
    if setup == "circles+lr+clipnorm":
        d = TrainingDashboard(dataset="circles", hidden=(5, 3), activation="relu",
                              modifier="ClipNorm", lr=0.05, batchsize=7, seed=4)
        d.train(3)
        d.lr.value = 0.01                # mid-run changes are replayed at the same step
        d.hyper["ClipNorm.omega"].value = 0.5
        d.train(2)
        d.lr.value = 0.2
        d.train(1)
    elif setup == "regression1d+momentum":
        d = TrainingDashboard(dataset="regression1d", hidden=(8,), optimizer="Momentum",
                              lr=0.05, noise=0.2, split=0.6, seed=7)
        d.hyper["rho"].value = 0.8       # before the first step: part of the constructor
        d.train(4)
    else:
        d = TrainingDashboard(dataset="linear", hidden=(), optimizer="Descent", lr=0.05, seed=1)
        d.train(5)
    code = d.code()
    losses = _run_code(code)
    expected = [(r["train_loss"], r["test_loss"]) for r in d.history]
    assert len(losses) == len(expected)
    # Equal to float32 precision: NumPy's and BLAS's float32 sums may round the last bit
    # differently depending on where in memory an array starts, so bit-for-bit equality
    # across processes is not guaranteed (and was seen to differ by 1 ulp once).
    np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=0)
    # ... and that tolerance tells runs apart: another seed gives other losses
    other = _run_code(code.replace(f"fl.seed({d.seed.value})", f"fl.seed({d.seed.value + 1})"))
    assert not np.allclose(other, expected, rtol=1e-5, atol=0)
    if setup == "circles+lr+clipnorm":
        assert "changes = {" in code and "omega" in code
    if setup == "regression1d+momentum":
        assert "fl.Momentum(0.05, rho=0.8)" in code


def test_code_covers_complete_epochs_when_paused_mid_epoch(dash):
    dash.train(1)
    dash._step_once()                    # one step into epoch 2
    code = dash.code()
    assert "range(1, 2)" in code and "1 steps into epoch 2" in code


# --------------------------------------------------------------------------- your own model and data

def test_a_user_model_builder_and_dataset_work_for_the_digits():
    X, y = fl.datasets.digits()
    data = Dataset(X[:, :300], y[:300], X[:, 300:400], y[300:400], name="digits")

    def build(n_in, n_out):
        return Chain(Dense(n_in, 16, fl.relu), Dense(16, n_out))

    d = TrainingDashboard(data=data, model=build, optimizer="Adam", lr=0.01, batchsize=32, seed=0)
    assert d.data.classes == 10 and d.model[1].weight.shape == (10, 16)
    assert d.hidden not in d.widget.children[3].children[1].children, "no layer controls"
    history = d.train(3)
    assert history[-1]["test_accuracy"] > history[0]["test_accuracy"] - 0.2
    assert history[-1]["train_loss"] < d.initial["train_loss"]
    assert d._output_mode() == "accuracy"
    code = d.code()
    assert "def build(n_in, n_out):" in code and "model = build(n_in=64, n_out=10)" in code
    assert d.errors == []


def test_a_builder_that_takes_hidden_and_activation_gets_the_controls():
    seen = {}

    def build(n_in, n_out, hidden, activation):
        seen.update(hidden=hidden, activation=activation)
        sizes = (n_in,) + tuple(hidden)
        return Chain(*[Dense(a, b, activation) for a, b in zip(sizes, sizes[1:])],
                     Dense(sizes[-1], n_out))

    d = TrainingDashboard(dataset="moons", model=build, hidden=(3,), activation="relu")
    d.hidden.value = (4, 2)
    assert seen == {"hidden": (4, 2), "activation": fl.relu}
    assert len(d.train(1)) == 1


# --------------------------------------------------------------------------- runners and plots

def test_thread_runner_reports_tick_errors_and_calls_on_exit():
    errors, exits = [], []

    def tick(should_stop):
        raise ValueError("bad tick")

    r = ThreadRunner()
    r.start(tick, on_error=errors.append, on_exit=lambda: exits.append(1))
    assert r.join(timeout=2)
    assert [str(e) for e in errors] == ["bad tick"] and exits == [1]


def test_asyncio_runner_needs_a_running_loop():
    with pytest.raises(RuntimeError, match="running asyncio event loop"):
        AsyncioRunner().start(lambda s: False)


def test_liveplot_redraws_only_the_animated_artists_between_invalidations():
    plot = LivePlot(2, 1)
    ax = plot.fig.add_subplot()
    line = plot.animate(*ax.plot([0, 1], [0, 1]))
    for k in range(5):
        line.set_ydata([0, k])
        plot.render()
    assert plot.frames == 5 and plot.full_draws == 1
    plot.invalidate()
    plot.render()
    assert plot.full_draws == 2


# --------------------------------------------------------------------------- not learning

def test_default_settings_at_learning_rate_10_pause_in_the_runner_naming_the_rate():
    d = TrainingDashboard()                 # the lesson's default: circles, Adam
    d.lr.value = 10
    d.start()
    wait_until(lambda: not d.running, timeout=60)
    assert not d.run.diverged, "the loss thrashes but stays finite: not a divergence"
    assert d.status.startswith(f"Training paused at epoch {d.epoch}")
    assert "not learning" in d.status and "learning rate 10 " in d.status
    assert d.epoch == d.run.stalled_at and d.epoch <= 40
    assert d.start_button.description == "▶" and d.errors == []
    d.close()


@pytest.mark.parametrize("lr", [3.0, 1.0])
def test_too_large_learning_rates_pause_train_too(lr):
    d = TrainingDashboard(lr=lr)
    history = d.train(200)
    assert len(history) < 200 and "not learning" in d.status and f"rate {lr:g} " in d.status


@pytest.mark.parametrize("lr", [0.3, 0.03, 1e-5])
def test_a_run_that_learns_or_crawls_is_never_paused(lr):
    d = TrainingDashboard(lr=lr)
    assert len(d.train(150)) == 150 and d.status == "Trained to epoch 150."


def test_play_after_a_not_learning_pause_goes_on_with_the_run():
    d = TrainingDashboard(lr=10)
    d.train(100)
    run, epoch = d.run, d.epoch
    d.lr.value = 0.01
    d.train(5)
    assert d.run is run and d.epoch == epoch + 5


# --------------------------------------------------------------------------- gradient flags

def test_a_converged_run_flags_no_layer_as_vanishing():
    d = TrainingDashboard(dataset="circles", noise=0.0, lr=0.1, hidden=(8, 8), seed=0)
    d.train(400)
    assert d.history[-1]["train_loss"] < 1e-3
    layers = d.layer_gradients()
    assert len(layers) == 3 and all(n < 1e-3 for _, n, _ in layers), "tiny gradients..."
    assert [v for _, _, v in layers] == ["ok"] * 3, "...but tiny relative to a tiny loss"
    d._render()
    assert "vanishing" not in [t.get_text().split()[-1] for t in d._grad_texts]


def test_deep_sigmoid_layers_still_flag_their_first_gradients_as_vanishing():
    d = TrainingDashboard(hidden=(6,) * 6, activation="σ", seed=0)
    d.train(5)
    verdicts = [v for _, _, v in d.layer_gradients()]
    assert verdicts[0] == "vanishing" and verdicts[-1] == "ok"
    texts = [t.get_text() for t in d._grad_texts]
    assert texts[0].endswith("vanishing") and not texts[-1].endswith("vanishing")


def test_gradient_verdict_is_relative_to_the_loss():
    from fluxlite.widgets.dashboard import gradient_verdict
    assert gradient_verdict(1e-8, 1e-7) == "ok"
    assert gradient_verdict(1e-8, 1.0) == "vanishing"
    assert gradient_verdict(5.0, 1e-4) == "exploding"
    assert gradient_verdict(float("inf"), 1.0) == "exploding"


# --------------------------------------------------------------------------- number display

@pytest.mark.parametrize("offset", [-0.0, -1e-15, -1e-13])
def test_a_loss_of_zero_up_to_rounding_is_never_shown_as_minus_zero(offset):
    X = np.random.default_rng(0).normal(size=(2, 40)).astype(np.float32)
    data = Dataset(X[:, :30], X[:1, :30], X[:, 30:], X[:1, 30:], task="regression")

    def zero_loss(yhat, y):
        return fl.mse(yhat, y) * 0.0 + offset      # zero, or a rounding error below it
    d = TrainingDashboard(data=data, loss=zero_loss, hidden=(3,), seed=0)
    d.train(2)
    d.lr.value = 0.01
    d.train(1)
    shown = d.loss_label.value + runs_text(d)
    assert "<b>0</b>" in d.loss_label.value
    assert "-0" not in shown and "e-1" not in shown


def test_format_never_gives_minus_zero():
    from fluxlite.widgets.dashboard import _fmt
    assert [_fmt(v, 4) for v in (-0.0, -1e-16, -4e-13, 0.0)] == ["0"] * 4
    assert _fmt(-0.5) == "-0.5" and _fmt(2.5e-7) == "2.5e-07"


# --------------------------------------------------------------------------- the tutorial's linear model

def test_linear_regression_data_trains_the_tutorials_dense_5_to_2():
    d = TrainingDashboard(dataset="linear")            # default hidden=(4, 4), tanh
    assert isinstance(d.model, Dense) and d.model.weight.shape == (2, 5)
    assert d.model.σ is fl.layers.identity or d.model.σ is None or "tanh" not in repr(d.model)
    assert d.hidden.count.disabled and d.activation.disabled
    assert "model = Dense(5, 2)" in d.code() and "linear model" in d.run.label
    d.dataset.value = "moons"
    assert isinstance(d.model, Chain) and len(d.model) == 3 and not d.hidden.count.disabled
    d.dataset.value = "linear"
    assert isinstance(d.model, Dense)


def test_the_linear_fit_is_still_drawn_after_divergence():
    d = TrainingDashboard(dataset="linear", optimizer="Descent", lr=0.01, seed=0)
    d.train(2)
    d.lr.value = 10.0
    d.train(50)
    assert d.run.diverged
    lo, hi = d.output_plot.fig.axes[0].get_ylim()
    for coll, _, _ in d._pred_sets:
        ys = coll.get_offsets()[:, 1]
        assert np.all(np.isfinite(ys)) and np.all((lo <= ys) & (ys <= hi))
    assert "off the chart" in d._off_text.get_text()
    assert d.output_plot.widget.value


def test_code_reproduces_the_linear_model_with_default_hidden_layers():
    d = TrainingDashboard(dataset="linear", optimizer="Descent", lr=0.05, seed=2)
    d.train(3)
    np.testing.assert_allclose(_run_code(d.code()),
                               [(r["train_loss"], r["test_loss"]) for r in d.history], rtol=1e-5)


# --------------------------------------------------------------------------- all-or-nothing changes

def _assert_consistent_and_reproduced(d):
    """The run in force matches the menus, and code() reproduces its losses in a fresh process."""
    assert type(d._rules["optimizer"]).__name__ == d.optimizer.value == d.run.settings["optimizer"]
    assert d.run.settings["modifier"] == d.modifier.value
    assert d.run.settings["batchsize"] == d.batchsize.value
    assert d.model(d.data.x_train).shape[-1] == d.data.x_train.shape[-1]
    expected = [(r["train_loss"], r["test_loss"]) for r in d.history]
    np.testing.assert_allclose(_run_code(d.code()), expected, rtol=1e-5, atol=0)


def test_a_change_that_cannot_be_built_leaves_the_run_and_the_controls_as_they_were(
        callback_errors):
    def build(n_in, n_out, hidden, activation):
        if 7 in hidden:
            raise ValueError("no layer of 7, please")
        sizes = (n_in,) + tuple(hidden)
        return Chain(*[Dense(a, b, activation) for a, b in zip(sizes, sizes[1:])],
                     Dense(sizes[-1], n_out))

    d = TrainingDashboard(dataset="moons", model=build, hidden=(4,), optimizer="Adam", seed=1)
    d.train(2)
    run, weights = d.run, d.model[0].weight.copy()
    with pytest.raises(RuntimeError, match="could not be built"):
        with d.hold():                           # three changes, the last one impossible
            d.optimizer.value = "Descent"
            d.dataset.value = "circles"
            d.hidden.value = (7,)
    assert d.run is run and np.array_equal(d.model[0].weight, weights)
    assert (d.optimizer.value, d.dataset.value, d.hidden.value) == ("Adam", "moons", (4,))
    d.hidden.widths[0].value = 7                 # the same from a slider: reported, undone
    assert "could not be built" in d.status and d.hidden.value == (4,) and d.run is run
    assert callback_errors.take()
    d.errors.clear()
    d.train(2)
    assert d.run is run and d.epoch == 4
    d.optimizer.value = "Descent"                # a change that can be built still works
    d.train(2)
    assert type(d.rule).__name__ == "Descent" and d.run is not run


def test_code_reproduces_the_run_after_any_sequence_of_changes():
    d = TrainingDashboard(seed=3)
    d.train(1)
    d.optimizer.value = "Descent"
    d.hidden.value = (5, 3)
    d.dataset.value = "linear"
    d.train(2)
    _assert_consistent_and_reproduced(d)
    with d.hold():
        d.dataset.value = "moons"
        d.modifier.value = "ClipNorm"
        d.optimizer.value = "Momentum"
    d.hyper["rho"].value = 0.5
    d.batchsize.value = 16
    d.train(2)
    d.lr.value = 0.3
    d.train(1)
    _assert_consistent_and_reproduced(d)
    d.activation.value = "relu"
    d.seed.value = 9
    d.optimizer.value = "AdaDelta"
    d.train(2)
    _assert_consistent_and_reproduced(d)


# --------------------------------------------------------------------------- changes while training

@pytest.mark.parametrize("control, value", [("optimizer", "Descent"), ("hidden", (6,)),
                                            ("modifier", "ClipNorm")])
def test_a_structural_change_while_training_keeps_training_on_the_new_run(dash, control, value):
    dash.start()
    wait_until(lambda: dash.epoch >= 3)
    old = dash.run
    if control == "hidden":
        dash.hidden.value = value
    else:
        getattr(dash, control).value = value
    assert dash.run is not old and dash.running
    assert "Training goes on" in dash.status
    wait_until(lambda: dash.epoch >= 3)
    assert dash.running and dash.start_button.description == "❚❚"
    dash.pause()
    assert dash.run.settings[control] == value and dash.status.startswith("Paused")
    if control == "optimizer":
        assert type(dash.rule).__name__ == "Descent"


def test_an_optimizer_change_keeps_an_asyncio_run_training():
    async def main():
        d = TrainingDashboard(dataset="xor", hidden=(4,), runner="asyncio", seed=2)
        d.start()
        while d.epoch < 2:
            await asyncio.sleep(0.01)
        first = d.run
        d.optimizer.value = "Momentum"
        while d.run is first or d.epoch < 2:
            await asyncio.sleep(0.01)
        assert d.running and type(d.rule).__name__ == "Momentum"
        d.pause()
        await d.runner.task
        return d

    d = asyncio.run(main())
    assert not d.running and d.errors == []


# --------------------------------------------------------------------------- threads

def test_one_dashboard_trains_at_a_time_and_the_other_says_so():
    a = TrainingDashboard(seed=0)
    b = TrainingDashboard(dataset="xor", seed=1)
    a.start()
    wait_until(lambda: a.epoch >= 1)
    b.start()
    assert b.running and not a.running
    assert a.status.startswith("Paused at epoch") and "another dashboard" in a.status
    epoch = a.epoch
    wait_until(lambda: b.epoch >= 2)
    assert a.epoch == epoch and a.start_button.description == "▶"
    a.start()
    assert a.running and not b.running and "another dashboard" in b.status
    for d in (a, b):
        d.close()
        assert d.errors == []


def test_making_a_new_dashboard_pauses_the_one_that_trains():
    old = TrainingDashboard(seed=0)
    old.start()
    wait_until(lambda: old.epoch >= 1)
    thread = old.runner._thread
    new = TrainingDashboard(seed=0)            # what re-running the cell does
    assert not old.running and not thread.is_alive()
    assert "a new dashboard was made" in old.status
    new.close()
    old.close()


def test_close_stops_the_thread():
    d = TrainingDashboard(seed=0)
    d.start()
    wait_until(lambda: d.epoch >= 1)
    thread = d.runner._thread
    d.close()
    assert not thread.is_alive() and not d.running


def test_a_dashboard_nobody_holds_is_collected_and_its_thread_stops():
    import gc
    import weakref
    d = TrainingDashboard(seed=0)
    d.start()
    wait_until(lambda: d.epoch >= 1)
    thread, ref = d.runner._thread, weakref.ref(d)
    del d
    for _ in range(50):
        gc.collect()
        if ref() is None:
            break
        time.sleep(0.02)
    assert ref() is None, "the widgets' callbacks or the thread keep the dashboard alive"
    thread.join(timeout=5)
    assert not thread.is_alive()


EXIT_WHILE_TRAINING = """
import sys, time
sys.path.insert(0, {root!r})
from fluxlite.widgets import TrainingDashboard
d = TrainingDashboard(hidden=(8, 8), seed=0)
d.start()
while d.epoch < 2:
    time.sleep(0.005)
time.sleep({delay})
print("EXITING", d.running, flush=True)
"""


def test_interpreter_exit_while_training_is_clean_every_time():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    procs = [subprocess.Popen([sys.executable, "-c",
                               EXIT_WHILE_TRAINING.format(root=root, delay=0.013 * k)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(10)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "EXITING True" in out and "Traceback" not in err and "Fatal" not in err, err


def test_the_blas_thread_limit_is_restored_when_training_stops(dash):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]

    before = blas_threads()
    dash.start()
    wait_until(lambda: dash.epoch >= 1)
    dash.pause()
    assert blas_threads() == before
    dash.start()
    dash.optimizer.value = "Descent"             # a restart on the new run
    wait_until(lambda: dash.epoch >= 1)
    dash.close()
    assert blas_threads() == before


def test_reading_the_model_while_it_trains_gives_ordinary_arrays(dash):
    from fluxlite.functors import leaves
    dash.start()
    wait_until(lambda: dash.epoch >= 1)
    X = dash.data.x_train
    for _ in range(200):
        model = dash.model
        for a in leaves(model):
            assert type(a).__name__ != "Tracked"
            assert isinstance(a, np.ndarray)
        assert np.all(np.isfinite(np.asarray(model(X))))
    dash.pause()
    assert dash.model is dash._model, "paused: the model itself"


# --------------------------------------------------------------------------- run history

def test_each_earlier_run_has_a_toggle_that_hides_its_curves(dash):
    dash.train(2)
    dash.optimizer.value = "Descent"
    dash.train(2)
    dash.optimizer.value = "Momentum"
    dash.train(1)
    assert sorted(dash.run_toggles) == [1, 2]
    ax = dash.loss_plot.fig.axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert any(lb.startswith("#1 ") for lb in labels) and any(lb.startswith("#2 ") for lb in labels)
    dash.run_toggles[1].value = False
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert not any(lb.startswith("#1 ") for lb in labels) and any(lb.startswith("#2 ") for lb in labels)
    assert not dash.runs[0].visible
    dash.train(1)                                  # stays hidden as training goes on
    assert not any(ln.get_label().startswith("#1 ") for ln in ax.get_lines())
    dash.run_toggles[1].value = True
    assert any(ln.get_label().startswith("#1 ") for ln in ax.get_lines())


def test_runs_on_other_data_are_kept_but_never_share_the_axis(dash):
    dash.train(2)                                  # circles, cross-entropy
    dash.dataset.value = "regression1d"            # another data set and loss (mse)
    dash.train(2)
    ax = dash.loss_plot.fig.axes[0]
    assert not any(ln.get_label().startswith("#1 ") for ln in ax.get_lines())
    assert dash.run_toggles == {} and "1 run on other data" in runs_text(dash)
    dash.dataset.value = "circles"                 # back: the circles run is drawn again
    dash.train(1)
    assert sorted(dash.run_toggles) == [1]
    assert any(ln.get_label().startswith("#1 ") for ln in ax.get_lines())
    assert not any(ln.get_label().startswith("#2 ") for ln in ax.get_lines())


def test_the_history_keeps_a_handful_of_runs(dash):
    for k in range(10):
        dash.seed.value = k + 1
        dash.train(1)
    assert dash.max_runs == 6 and len(dash.runs) == 7 and len(dash.run_toggles) == 6


def test_a_notebook_without_the_live_widget_says_to_run_the_cell():
    dash = TrainingDashboard(dataset="xor", hidden=(4,), seed=1)
    bundle = dash._repr_mimebundle_()
    assert bundle["text/plain"] == "Run this cell to start the training dashboard."
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == dash.widget.model_id
    assert repr(dash).startswith("TrainingDashboard(xor")  # print(dash) still describes the run
    dash.close()
