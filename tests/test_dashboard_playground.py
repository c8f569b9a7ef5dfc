"""The dashboard's TensorFlow-Playground features: input features, L1/L2 regularization with a
rate, and the view options "Show test data" and "Discretize output".

The central check: `code()` reproduces the run. For a matrix of configurations (feature subsets,
both regularizations at several rates, mid-run changes, other optimisers, modifiers and models)
the exported programs run in one fresh Python process, each in a namespace of its own, and
their per-epoch losses are compared with the dashboard's history.
"""
import json
import logging
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import fluxlite as fl  # noqa: E402
from fluxlite.widgets import Dataset, TrainingDashboard  # noqa: E402
from fluxlite.widgets.dashboard import FEATURES  # noqa: E402
from fluxlite.widgets.dashboard.codegen import training_code  # noqa: E402
from fluxlite.widgets.dashboard.trainer import DEFAULTS, Trainer  # noqa: E402


@pytest.fixture(autouse=True)
def no_callback_errors(caplog):
    """Fail a test during which a widget callback logged an exception (it would go unseen)."""
    with caplog.at_level(logging.WARNING):
        yield
    logged = [r for r in caplog.records if r.exc_info or r.name.startswith("fluxlite.widgets")]
    assert not logged, [r.getMessage() for r in logged]


RUNNER = """
import json, sys
programs = json.load(sys.stdin)
out = []
for code in programs:
    space = {"__name__": "exported"}
    exec(compile(code, "<exported>", "exec"), space)
    out.append(space["losses"])
print("LOSSES=" + json.dumps(out))
"""


def wait_until(predicate, timeout=30.0):
    """Poll `predicate` until it is true; fail after `timeout` seconds."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout} s")


def run_programs(codes):
    """Run each exported program in its own namespace of one fresh process; their losses."""
    out = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(codes),
                         capture_output=True, text=True, timeout=600, cwd="/")
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOSSES=")][-1]
    return [[tuple(p) for p in losses] for losses in json.loads(line[len("LOSSES="):])]


def build(n_in, n_out, hidden):
    """A model builder of the kind the digits lesson passes (fl.* names only: the code has
    no other import for it)."""
    return fl.Chain(fl.Dense(n_in, hidden[0], fl.relu), fl.Dense(hidden[0], n_out))


def own_data():
    X = np.random.default_rng(5).normal(size=(3, 60)).astype(np.float32)
    y = (X[0] * X[1] > 0).astype(int)
    code = ("rng = np.random.default_rng(5)\n"
            "X = rng.normal(size=(3, 60)).astype(np.float32)\n"
            "labels = (X[0] * X[1] > 0).astype(int)\n"
            "Xtrain, Xtest = X[:, :40], X[:, 40:]\n"
            "Ytrain = fl.onehotbatch(labels[:40], range(2))\n"
            "Ytest = fl.onehotbatch(labels[40:], range(2))\n")
    return Dataset(X[:, :40], y[:40], X[:, 40:], y[40:], name="own", code=code)


SUBSETS_2D = [(k,) for k in FEATURES] + [
    ("x1", "x2"), ("x1sq", "x2sq"), ("x1", "x2", "x1x2"), ("sinx1", "sinx2"),
    ("x1", "x2", "x1sq", "x2sq"), ("x1x2", "sinx1", "x2sq"), tuple(FEATURES)]
SUBSETS_1D = [("x1",), ("x1sq",), ("sinx1",), ("x1", "sinx1"), ("x1", "x1sq", "sinx1"),
              ("x1", "x2", "sinx1", "x1x2")]      # x₂'s features are dropped: one input
REGS = [("none", 0.0), ("L1", 0.001), ("L1", 0.03), ("L2", 0.003), ("L2", 0.1), ("L2", 0.0),
        ("L1", 1.0)]


def configurations():
    """(name, settings, keyword arguments, actions) for the matrix; an action is an epoch count
    or a (target, name, value) change made between epochs."""
    out = []
    datasets = ["circles", "xor", "spiral", "moons", "gaussian"]
    for i, feats in enumerate(SUBSETS_2D):         # every subset with none, L1 and L2
        for j, (reg, rate) in enumerate([REGS[0], REGS[1 + i % 3], REGS[3 + i % 4]]):
            out.append((f"{datasets[i % 5]} {feats} {reg} {rate}",
                        dict(dataset=datasets[(i + j) % 5], features=feats, regularization=reg,
                             reg_rate=rate, hidden=(3,), seed=i), {}, [2]))
    for i, feats in enumerate(SUBSETS_1D):
        for reg, rate in (REGS[0], REGS[2 + i % 5]):
            out.append((f"regression1d {feats} {reg} {rate}",
                        dict(dataset="regression1d", features=feats, regularization=reg,
                             reg_rate=rate, hidden=(5,), seed=i), {}, [2]))
    for reg in ("L1", "L2"):
        for rate in (0.001, 0.01, 0.3, 3.0):
            out.append((f"circles x1² x2² {reg} {rate} relu",
                        dict(dataset="circles", features=("x1sq", "x2sq"), regularization=reg,
                             reg_rate=rate, activation="relu", hidden=(4, 4), seed=2), {}, [2]))
    mids = [
        ("rate mid-run", dict(regularization="L2", reg_rate=0.01),
         [1, ("penalty", "rate", 0.1), 1, ("penalty", "rate", 0.003), 1]),
        ("rate and lr at one step", dict(regularization="L1", reg_rate=0.001, features=("x1", "x2", "x1x2")),
         [1, ("penalty", "rate", 0.03), ("optimizer", "eta", 0.1), 2]),
        ("rate before the first step", dict(regularization="L1", reg_rate=0.003),
         [("penalty", "rate", 0.3), 2]),
        ("rate while none, then none", dict(regularization="none"),
         [1, ("penalty", "rate", 0.3), 1]),
        ("to rate 0 mid-run", dict(regularization="L2", reg_rate=0.3),
         [1, ("penalty", "rate", 0.0), 1]),
        ("WeightDecay + L2", dict(modifier="WeightDecay", regularization="L2", reg_rate=0.01,
                                  features=("x1sq", "x2sq", "x1x2")),
         [1, ("modifier", "lambda_", 0.001), 1]),
        ("ClipNorm + L1 + rho", dict(optimizer="Momentum", modifier="ClipNorm",
                                     regularization="L1", reg_rate=0.01, features=("sinx1", "sinx2")),
         [1, ("optimizer", "rho", 0.5), ("penalty", "rate", 0.001), 1]),
        ("AdaDelta + L2", dict(optimizer="AdaDelta", regularization="L2", reg_rate=0.03,
                               features=tuple(FEATURES)), [2]),
        ("Descent, no hidden layer, L1", dict(optimizer="Descent", hidden=(), lr=0.1,
                                              regularization="L1", reg_rate=0.01,
                                              features=("x1", "x2", "x1sq", "x2sq")), [2]),
        ("σ, batch 1, L2", dict(activation="σ", batchsize=1, regularization="L2",
                                reg_rate=0.001, features=("x1x2",)), [1]),
        ("identity, batch 64, L1", dict(activation="identity", batchsize=64,
                                        regularization="L1", reg_rate=0.1), [3]),
        ("linear data, L1", dict(dataset="linear", optimizer="Descent", lr=0.05,
                                 regularization="L1", reg_rate=0.01, features=("x1sq",)),
         [1, ("penalty", "rate", 0.1), 1]),
        ("linear data, L2", dict(dataset="linear", optimizer="Descent", lr=0.05,
                                 regularization="L2", reg_rate=0.1), [2]),
    ]
    for name, s, actions in mids:
        out.append((name, dict(dict(seed=3, hidden=(4,)), **s), {}, actions))
    out.append(("builder + features + L2", dict(dataset="moons", features=("x1", "x2", "x1x2"),
                                                 regularization="L2", reg_rate=0.01, hidden=(5,)),
                {"model": build}, [2]))
    out.append(("own data + L1", dict(regularization="L1", reg_rate=0.01, hidden=(3,),
                                      features=("x1sq",)), {"data": own_data()}, [2]))
    return out


CONFIGS = configurations()


def test_code_reproduces_every_configuration_of_features_and_regularization():
    trainers, codes = [], []
    for name, s, kw, actions in CONFIGS:
        t = Trainer(dict(DEFAULTS, **s), **kw)
        for a in actions:
            if isinstance(a, int):
                t.train(a)
            else:
                t.change(*a)
        assert t.epoch == sum(a for a in actions if isinstance(a, int)), name
        trainers.append(t)
        codes.append(training_code(t))
    results = run_programs(codes)
    exact = 0
    for (name, s, kw, actions), t, code, losses in zip(CONFIGS, trainers, codes, results):
        expected = [(r["train_loss"], r["test_loss"]) for r in t.history]
        # float32 sums may round the last bit differently across processes (see
        # test_dashboard.py), so the comparison allows float32 precision
        np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=0, err_msg=name)
        exact += losses == expected
    print(f"{exact} of {len(CONFIGS)} configurations reproduced bit for bit")
    covered = {(k, s["regularization"]) for _, s, _, _ in CONFIGS
               if s.get("reg_rate", 0) > 0 or s["regularization"] == "none"
               for k in s.get("features", ())}
    assert covered >= {(k, reg) for k in FEATURES for reg in ("none", "L1", "L2")}


def test_the_matrix_tells_regularizations_and_features_apart():
    """The comparison above could fail: other rates, kinds or features give other losses."""
    s = dict(DEFAULTS, dataset="circles", features=("x1sq", "x2sq"), regularization="L1",
             reg_rate=0.3, hidden=(3,))
    base = Trainer(s)
    base.train(2)
    expected = [(r["train_loss"], r["test_loss"]) for r in base.history]
    code = training_code(base)
    variants = [code.replace("λ = 0.3", "λ = 0.1"),
                code.replace("np.sum(np.abs(layer.weight))", "np.sum(layer.weight ** 2)"),
                code.replace("np.stack([X[0] ** 2, X[1] ** 2])", "np.stack([X[0] ** 2, X[1]])")]
    assert all(v != code for v in variants)
    for losses in run_programs(variants):
        assert not np.allclose(losses, expected, rtol=1e-5, atol=0)


# --------------------------------------------------------------------------- the controls

@pytest.fixture
def dash():
    d = TrainingDashboard(dataset="circles", hidden=(4,), seed=0)
    yield d
    d.pause()
    assert d.errors == [], d.errors
    d.close()


def test_the_default_features_change_nothing(dash):
    assert dash.features.value == ("x1", "x2") and dash.run.settings["features"] == ("x1", "x2")
    code = dash.code()
    assert "def features" not in code and "penalty" not in code and "λ" not in code
    assert dash.model[0].weight.shape == (4, 2)


def test_a_feature_button_is_a_structural_change_with_a_wider_first_layer(dash):
    dash.train(2)
    old = dash.run
    dash.features.buttons["x1sq"].value = True
    dash.features.buttons["sinx2"].value = True
    assert dash.features.value == ("x1", "x2", "x1sq", "sinx2")
    assert dash.run is not old and dash.runs[-2] is old and dash.epoch == 0
    assert dash.status.startswith("Model reset: the input features changed")
    assert dash.model[0].weight.shape == (4, 4)
    assert "def features(X):\n    return np.stack([X[0], X[1], X[0] ** 2, np.sin(X[1])])" \
        in dash.code()
    assert "x₁,x₂,x₁²,sin x₂ → [4] tanh" in dash.run.label


def test_a_feature_change_while_training_goes_on_with_a_new_run(dash):
    dash.start()
    wait_until(lambda: dash.epoch >= 1)
    old = dash.run
    dash.features.value = ("x1x2",)
    assert dash.running and dash.run is not old and "Training goes on" in dash.status
    dash.pause()
    assert dash.run.settings["features"] == ("x1x2",) and dash.model[0].weight.shape == (4, 1)


@pytest.mark.parametrize("value, message", [
    ((), "Refused input features (): choose at least one input feature: the network needs an "
         "input. They stay x₁, x₂."),
    (("x1", "x3"), "Refused input features ('x1', 'x3'): unknown input feature 'x3'; the "
                   "features are x1, x2, x1sq, x2sq, x1x2, sinx1, sinx2. They stay x₁, x₂."),
    ("x1", "Refused input features 'x1': the input features are a tuple of names such as "
           "('x1', 'x2'), got 'x1'. They stay x₁, x₂."),
    (None, "Refused input features None: the input features are a tuple of names such as "
           "('x1', 'x2'), got None. They stay x₁, x₂."),
])
def test_invalid_features_are_refused_and_nothing_changes(dash, value, message):
    dash.train(1)
    run, steps = dash.run, dash.steps
    dash.features.value = value
    assert dash.status == message
    assert dash.features.value == ("x1", "x2") and dash.run is run and dash.steps == steps
    assert [b.value for b in dash.features.buttons.values()] == [True, True] + [False] * 5


def test_unpressing_the_last_feature_springs_back(dash):
    dash.features.value = ("x2",)
    run = dash.run
    dash.features.buttons["x2"].value = False
    assert dash.status.startswith("Refused input features (): choose at least one")
    assert dash.features.buttons["x2"].value and dash.run is run


def test_features_are_greyed_out_with_the_reason_where_they_do_not_apply(dash):
    dash.dataset.value = "linear"
    assert all(b.disabled for b in dash.features.buttons.values())
    assert "linear regression keeps its 5 inputs as they are" in dash.features.note.value
    assert dash.run.settings["features"] is None and dash.model.weight.shape == (2, 5)
    dash.dataset.value = "regression1d"
    off = [k for k, b in dash.features.buttons.items() if b.disabled]
    assert off == ["x2", "x2sq", "x1x2", "sinx2"] and "one input, x₁" in dash.features.note.value
    assert dash.run.settings["features"] == ("x1",) and dash.model[0].weight.shape == (4, 1)
    dash.dataset.value = "moons"
    assert not any(b.disabled for b in dash.features.buttons.values())
    assert dash.features.note.value == ""
    X = np.random.default_rng(0).normal(size=(2, 30)).astype(np.float32)
    own = TrainingDashboard(data=Dataset(X[:, :20], np.arange(20) % 2, X[:, 20:],
                                         np.arange(10) % 2), features=("x1", "x1x2"))
    assert all(b.disabled for b in own.features.buttons.values())
    assert "your own data goes to the model as it is" in own.features.note.value
    assert own.model[0].weight.shape[1] == 2 and "def features" not in own.code()
    own.close()


def test_only_x2_features_on_one_input_data_cannot_be_built_and_the_run_stays(caplog):
    d = TrainingDashboard(dataset="regression1d", features=("x1", "x2"), seed=0)
    run = d.run
    with pytest.raises(RuntimeError, match="none of the chosen input features fits this data"):
        with d.hold():
            d.features.value = ("x2", "x2sq")
    assert d.run is run and d.features.value == ("x1", "x2")
    caplog.clear()
    d.close()


def test_regularization_is_structural_and_its_rate_applies_mid_run(dash):
    dash.train(2)
    old = dash.run
    dash.regularization.value = "L1"
    assert dash.run is not old and dash.status.startswith("Model reset: the regularization changed")
    dash.reg_rate.value = 0.01                    # before the first step: the run's own rate
    assert dash.run.settings["reg_rate"] == 0.01 and dash.run.changes == []
    dash.train(2)
    dash.reg_rate.slider.value = 0.1              # a click on the slider, mid-run
    assert dash.status == f"regularization rate = 0.1 from step {dash.steps + 1} on (the run goes on)."
    dash.train(1)
    assert dash.run.changes == [(2 * len(dash.loader) + 1, "penalty", "rate", 0.1)]
    assert "L1 0.01→0.1" in dash.run.label
    code = dash.code()
    assert "λ = 0.01" in code and "rates = {" in code and "np.sum(np.abs(layer.weight))" in code


def test_a_rate_without_regularization_waits_for_the_next_run(dash):
    dash.train(1)
    run = dash.run
    dash.reg_rate.value = 0.3
    assert dash.status == ("regularization rate = 0.3: it applies once the regularization is "
                           "L1 or L2.")
    assert dash.run is run and dash.run.changes == []
    dash.regularization.value = "L2"
    assert dash.run.settings["reg_rate"] == 0.3 and dash.rule is not None


def test_a_rate_change_lands_while_a_thread_trains():
    d = TrainingDashboard(dataset="xor", hidden=(4,), regularization="L2", reg_rate=0.001,
                          seed=1)
    d.start()
    wait_until(lambda: d.epoch >= 2)
    run, steps = d.run, d.steps
    d.reg_rate.value = 0.03
    wait_until(lambda: d.steps > steps + 2 * len(d.loader))
    d.pause()
    assert d.run is run
    ((step, target, name, value),) = d.run.changes
    assert (target, name, value) == ("penalty", "rate", 0.03) and step > steps
    losses = run_programs([d.code()])[0]
    np.testing.assert_allclose(losses, [(r["train_loss"], r["test_loss"]) for r in d.history],
                               rtol=1e-5, atol=0)
    assert d.errors == []
    d.close()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.1, -1, 11, "0.1", None, True,
                                   [0.1]])
def test_an_invalid_regularization_rate_is_refused_and_nothing_changes(value):
    d = TrainingDashboard(dataset="xor", hidden=(3,), regularization="L1", reg_rate=0.01)
    d.train(1)
    run, steps, rate = d.run, d.steps, d._rules["penalty"].rate
    d.reg_rate.value = value
    assert d.status == (f"Refused regularization rate {value!r}: it must be a number from 0 to "
                        f"10. It stays 0.01.")
    assert d.reg_rate.value == 0.01 and d.reg_rate.readout.value == "0.01"
    assert d.run is run and d.steps == steps and rate == 0.01 and d.run.changes == []
    d.train(1)
    assert d.run.changes == [] and d.errors == []
    d.close()


def test_the_headless_rate_change_refuses_the_same_values():
    t = Trainer(dict(DEFAULTS, regularization="L2", reg_rate=0.1))
    for bad in (float("nan"), -1.0, 11.0, "0.1"):
        with pytest.raises(ValueError) as err:
            t.change("penalty", "rate", bad)
        assert str(err.value) == (f"the regularization rate must be a number from 0 to 10, "
                                  f"got {bad!r}.")


@pytest.mark.parametrize("kw, message", [
    ({"regularization": "L3"}, "regularization must be one of none, L1, L2, got 'L3'."),
    ({"reg_rate": -0.5}, "the regularization rate must be a number from 0 to 10, got -0.5."),
    ({"reg_rate": float("nan")}, "the regularization rate must be a number from 0 to 10, got nan."),
    ({"features": ()}, "choose at least one input feature: the network needs an input."),
    ({"features": ("x1", "cos")}, "unknown input feature 'cos'; the features are x1, x2, x1sq, "
                                  "x2sq, x1x2, sinx1, sinx2."),
])
def test_the_constructor_refuses_bad_playground_settings(kw, message):
    with pytest.raises(ValueError) as err:
        TrainingDashboard(**kw)
    assert str(err.value) == message


def test_the_regularization_menu_refuses_an_unknown_kind(dash):
    run = dash.run
    with pytest.raises(Exception):
        dash.regularization.value = "L3"
    assert dash.regularization.value == "none" and dash.run is run


def test_the_penalty_is_added_to_the_training_loss_but_not_to_the_reported_losses():
    t = Trainer(dict(DEFAULTS, dataset="xor", regularization="L2", reg_rate=1.0, hidden=(3,)))
    x, y = t.xtrain, t.Ytrain
    data_loss = float(t.loss(t.model(x), y))
    weights = sum(float(np.sum(np.asarray(layer.weight, np.float64) ** 2)) for layer in t.model)
    assert float(t.objective(t.model, x, y)) == pytest.approx(data_loss + weights, rel=1e-5)
    assert t.initial["train_loss"] == pytest.approx(data_loss, rel=1e-6)


def test_a_strong_l1_penalty_shrinks_the_weights():
    def weight_sum(rate):
        t = Trainer(dict(DEFAULTS, dataset="moons", regularization="L1", reg_rate=rate,
                         hidden=(6,), seed=0))
        t.train(10)
        return sum(float(np.abs(layer.weight).sum()) for layer in t.model)
    assert weight_sum(0.1) < 0.5 * weight_sum(0.0)


# --------------------------------------------------------------------------- the view options

def test_show_test_data_hides_the_test_points_and_changes_no_training(dash):
    dash.train(2)
    before = (dash.run, dash.steps, dash.code(), dash.output_plot.widget.value)
    test_points = dash.screen.output_view._test_artists[0]
    assert test_points.get_visible()
    title = dash.output_plot.fig.axes[0].get_title()
    dash.show_test.value = False
    assert not test_points.get_visible()
    assert (title, dash.output_plot.fig.axes[0].get_title()) == (
        "decision boundary    ● train   ◆ test", "decision boundary    ● train")
    assert dash.output_plot.widget.value != before[3], "the picture was redrawn"
    assert (dash.run, dash.steps, dash.code()) == before[:3]
    dash.show_test.value = True
    assert test_points.get_visible()


def test_discretize_draws_the_boundary_in_hard_class_colours(dash):
    dash.train(3)
    soft = dash.screen.output_view._image.get_array().reshape(-1, 3).copy()
    dash.discretize.value = True
    hard = dash.screen.output_view._image.get_array().reshape(-1, 3)
    assert len(np.unique(np.round(hard, 6), axis=0)) == 2, "one colour per class"
    assert len(np.unique(np.round(soft, 6), axis=0)) > 100
    assert dash.steps == 3 * len(dash.loader) and "discret" not in dash.code().lower()


def test_discretize_is_off_where_there_is_no_decision_boundary(dash):
    assert not dash.discretize.disabled
    dash.dataset.value = "regression1d"
    assert dash.discretize.disabled and "decision boundary" in dash.discretize.tooltip
    dash.show_test.value = False                  # the fitted curve's test points hide too
    assert not dash.screen.output_view._test_artists[0].get_visible()


def test_a_regularization_that_flattens_the_weights_is_named_when_training_pauses():
    t = Trainer(dict(DEFAULTS, dataset="circles", hidden=(8, 8), regularization="L2",
                     reg_rate=0.1))
    t.train(60)
    assert t.stalled and t.epoch == 20
    assert t.message.startswith("Training paused at epoch 20: the network is not learning.")
    assert "The L2 regularization pulled the weights towards zero (their sum of |w| fell from " \
        in t.message
    assert "its rate 0.1 is too strong for this network — try a smaller one (say 0.01)" \
        in t.message and "learning rate" not in t.message


def test_a_too_large_learning_rate_is_still_blamed_with_a_mild_regularization():
    t = Trainer(dict(DEFAULTS, lr=10, regularization="L2", reg_rate=0.001))
    t.train(100)
    assert t.stalled and "The learning rate 10 is probably too large" in t.message
    assert "regularization" not in t.message


# --------------------------------------------------------------------------- the network diagram

def test_the_network_diagram_follows_the_model_and_the_features(dash):
    view = dash.screen.network_view
    assert view.diagram is not None and view.diagram.names == ("x₁", "x₂")
    assert view.diagram.output == "margin" and dash.network_plot.widget.layout.display == ""
    before = dash.network_plot.widget.value
    dash.train(3)
    assert dash.network_plot.widget.value != before, "the weights moved, so did the picture"
    assert [v.shape[0] for v in view.diagram.values] == [2, 4, 1]
    dash.features.value = ("x1", "x2", "x1x2", "sinx1")
    assert view.diagram.names == ("x₁", "x₂", "x₁x₂", "sin x₁")
    X = view.diagram.points
    np.testing.assert_array_equal(view.diagram.inputs[2], X[0] * X[1])
    dash.hidden.value = (3, 2)
    dash.train(1)
    assert [v.shape[0] for v in view.diagram.values] == [4, 3, 2, 1]


def test_no_diagram_where_there_is_no_input_plane_and_a_note_says_why(dash):
    dash.dataset.value = "linear"
    assert dash.screen.network_view.diagram is None
    assert dash.network_plot.widget.layout.display == "none"
    assert dash.screen.network_view.note.value == (
        "No network diagram: it draws the plane of two inputs x₁ and x₂, and this data has "
        "5 inputs.")
    dash.dataset.value = "gaussian"                 # three classes: one output node each
    assert dash.screen.network_view.diagram.output == "units"
    assert dash.network_plot.widget.layout.display == ""


def test_the_network_diagram_is_redrawn_while_a_thread_trains(dash):
    frames = dash.network_plot.frames
    dash.start()
    wait_until(lambda: dash.network_plot.frames >= frames + 3)
    dash.pause()
    assert dash.grad_plot.frames >= 3, "the gradient bars still get their turn"
