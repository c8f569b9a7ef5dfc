"""The lesson widgets: gradient explorer, linear-regression fit, optimizer race, layer builder.

Each widget is driven the way a notebook drives it: by setting control values, and also by
the message a browser sends when a student moves a slider (`frontend_set`). Numbers are checked
against calculations written out here by hand (analytic derivatives, the rules' formulas, the
tutorial's loop with hand-written gradients), never against the widget's own code.

ipywidgets only *logs* an exception raised in a callback, so the autouse fixture fails any test
during which a widget callback logged one. The pictures go to test-artifacts/lesson-widgets/.
"""
import logging
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import fluxlite as fl  # noqa: E402
from widgetdriver import callback_errors as _callback_errors, frontend_set, shown as _shown  # noqa: E402
from fluxlite.widgets._lesson import LessonInputError  # noqa: E402
from fluxlite.widgets.builder import LayerBuilder  # noqa: E402
from fluxlite.widgets.explorer import GradientExplorer  # noqa: E402
from fluxlite.widgets.linreg_fit import LinearRegressionFit  # noqa: E402
from fluxlite.widgets.race import SURFACES, OptimizerRace  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_logged_callback_errors")  # tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "lesson-widgets"


# ------------------------------------------------------------------------------------ helpers


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def save(widget, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = widget.save_png(ARTIFACTS / name)
    w, h = png_size(Path(path).read_bytes())
    assert w >= 600 and h >= 300
    return path


def test_callback_error_detector_catches_what_ipywidgets_logs(caplog):
    """The autouse fixture can fail: a raising Button handler is only logged, and is detected."""
    button = ipywidgets.Button()
    button.on_click(lambda _: 1 / 0)
    caplog.set_level(logging.DEBUG)
    button.click()
    slider = ipywidgets.FloatSlider()
    slider.observe(lambda change: 1 / 0, names="value")
    frontend_set(slider, value=0.5)
    found = _callback_errors(caplog.records)
    assert len(found) == 2
    caplog.clear()   # these two were on purpose


# ------------------------------------------------------------------------------------ explorer

DERIVATIVES = {
    "cubic": (lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2),
    "sin": (math.sin, math.cos),
    "tanh": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
}


@pytest.mark.parametrize("key", sorted(DERIVATIVES))
def test_explorer_slope_equals_the_analytic_derivative(key):
    f, df = DERIVATIVES[key]
    ex = GradientExplorer(key)
    for x in (-2.3, -0.5, 0.0, 0.7, 1.9):
        ex.x = x
        assert ex.error is None
        assert ex.value == pytest.approx(f(x), abs=1e-12)
        assert ex.slope == pytest.approx(df(x), rel=1e-12, abs=1e-12)


def test_explorer_tutorial_function_gives_the_tutorials_gradient_for_any_fixed_y():
    ex = GradientExplorer("tutorial", x=2.0)
    assert ex.gradient_result == (14.0, 1.0)          # the tutorial's df(2, 2)
    assert ex.y_slider.layout.display != "none"       # y is shown only for this function
    ex.y = -1.5
    ex.x = -0.8
    assert ex.value == pytest.approx(3 * 0.64 - 1.6 - 1.5)
    assert ex.gradient_result == pytest.approx((6 * -0.8 + 2, 1.0))
    assert "fl.gradient(f, -0.8, -1.5)" in ex.readout.value
    ex.function.value = "sin"
    assert ex.y_slider.layout.display == "none"


def test_explorer_draws_the_tangent_through_the_point_with_the_derivative_as_slope():
    ex = GradientExplorer("cubic", x=-1.2)
    (u0, u1), (t0, t1) = ex.tangent_line.get_data()
    expected = 3 * 1.44 - 2
    assert (t1 - t0) / (u1 - u0) == pytest.approx(expected)
    f_at = (-1.2) ** 3 + 2.4
    assert t0 + expected * (-1.2 - u0) == pytest.approx(f_at)          # it passes (x, f(x))
    assert np.allclose(np.ravel(ex.point.get_data()), [-1.2, f_at])
    assert ex.tangent(0.0) == pytest.approx(f_at + expected * 1.2)
    curve_x, curve_y = ex.curve_line.get_data()
    assert np.allclose(curve_y, curve_x**3 - 2 * curve_x)


def test_explorer_takes_a_user_lambda_and_a_typed_expression():
    ex = GradientExplorer(f=lambda x: np.exp(-x**2))
    assert ex.function.value == "custom"
    ex.x = 0.6
    assert ex.slope == pytest.approx(-1.2 * math.exp(-0.36))
    ex.expression.value = "x**2 * np.sin(x)"      # what pressing Enter in the text box does
    ex.x = 1.3
    assert ex.slope == pytest.approx(2.6 * math.sin(1.3) + 1.69 * math.cos(1.3))
    assert "x**2 * np.sin(x)" in ex._title_left.get_text()


def test_explorer_follows_the_slider_moved_in_the_browser():
    ex = GradientExplorer("sin", x=0.0)
    before = ex.image.value
    frontend_set(ex.x_slider, value=1.0)
    assert ex.x == 1.0
    assert ex.slope == pytest.approx(math.cos(1.0))
    assert ex.image.value != before
    assert f"{math.cos(1.0):.4g}" in ex.readout.value
    frontend_set(ex.function, index=list(ex.function.options).index(
        next(o for o in ex.function.options if o[1] == "cubic")))
    assert ex.function.value == "cubic" and ex.slope == pytest.approx(1.0)


@pytest.mark.parametrize("make, words", [
    (lambda ex: ex.use(lambda x: 1 / 0), "ZeroDivisionError"),
    (lambda ex: setattr(ex.expression, "value", "x**"), "cannot read"),
    (lambda ex: setattr(ex.expression, "value", "y + 1"), "name 'y' is not defined"),
    (lambda ex: ex.use(lambda x: math.sin(x)), "np.sin"),
    (lambda ex: ex.use(lambda x: np.array([x, 2 * x])), "one number"),
    (lambda ex: ex.use(lambda x: np.log(x - 5)), "no finite number"),
])
def test_explorer_shows_a_clear_message_when_the_user_function_is_bad(make, words):
    ex = GradientExplorer("cubic", x=1.0)
    make(ex)
    assert isinstance(ex.error, LessonInputError)
    assert words in ex.error.args[0] and "⚠" in ex.status.value
    assert ex.slope is None and ex.tangent(0.0) is None
    assert ex.tangent_line.get_data()[0] == [] or len(ex.tangent_line.get_data()[0]) == 0
    ex.x = 0.5                                     # moving on does not crash either
    ex.function.value = "sin"                      # a good function clears the message
    assert ex.error is None and ex.status.value == ""
    assert ex.slope == pytest.approx(math.cos(0.5))


def test_explorer_reports_points_where_the_function_is_undefined_and_recovers():
    ex = GradientExplorer()
    ex.expression.value = "np.log(x)"
    ex.x = -1.0
    assert isinstance(ex.error, LessonInputError) and "not defined there" in str(ex.error)
    ex.x = 2.0
    assert ex.error is None and ex.slope == pytest.approx(0.5)


# ------------------------------------------------------------------------------------ linear regression

def tutorial_by_hand(seed, n, lr, epochs, rule):
    """The tutorial's loop with hand-written gradients and optimizer formulas (plain NumPy).

    loss = Σ (y − W x − b)², so ∂/∂W = −2 r xᵀ and ∂/∂b = −2 r with r = y − W x − b.
    """
    rng = np.random.default_rng(seed)
    x, y = fl.datasets.linear_regression(n, rng=rng)
    W, b = rng.random((2, 5)), rng.random(2)
    params = [W, b]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    b1, b2, eps = 0.9, 0.999, 1e-8
    losses = []
    for _ in range(epochs):
        for i in range(n):
            r = y[i] - (W @ x[i] + b)
            grads = [-2 * np.outer(r, x[i]), -2 * r]
            t += 1
            for k, (p, g) in enumerate(zip(params, grads)):
                if rule == "Descent":
                    p -= lr * g
                else:
                    m[k] = b1 * m[k] + (1 - b1) * g
                    v[k] = b2 * v[k] + (1 - b2) * g**2
                    p -= lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
        losses.append(sum(float(np.sum((yi - W @ xi - b) ** 2)) for xi, yi in zip(x, y)))
    return losses


@pytest.mark.parametrize("rule, lr", [("Descent", 0.05), ("ADAM", 0.05), ("ADAM", 0.003)])
def test_fit_losses_equal_the_tutorial_loop_with_hand_written_gradients(rule, lr):
    fit = LinearRegressionFit(lr=lr, optimizer=rule, epochs=30, seed=3)
    assert fit.error is None
    expected = tutorial_by_hand(3, 10, lr, 30, rule)
    assert fit.losses == pytest.approx(expected, rel=1e-9)
    assert fit.run() == pytest.approx(expected, rel=1e-9)


def test_fit_final_loss_decreases_and_adam_differs_from_descent():
    fit = LinearRegressionFit(lr=0.05, optimizer="Descent", epochs=60)
    descent = list(fit.losses)
    assert descent[-1] < 0.5 * descent[0]
    fit.optimizer.value = "ADAM"
    adam = list(fit.losses)
    assert adam[-1] < 0.5 * adam[0]
    assert not np.allclose(adam, descent)
    assert isinstance(fit.optimizer_rule, fl.Adam) and fit.optimizer_rule.eta == 0.05
    assert fit.previous[0] == "Descent(0.05), 60 epochs" and fit.previous[1] == descent
    assert "previous: Descent(0.05)" in fit._previous_line.get_label()


def test_fit_controls_moved_in_the_browser_retrain_at_once():
    fit = LinearRegressionFit(epochs=10)
    before = fit.image.value
    frontend_set(fit.epochs, value=25)
    assert len(fit.losses) == 25
    frontend_set(fit.lr, value=0.01)
    assert fit.optimizer_rule.eta == 0.01
    frontend_set(fit.optimizer, index=1)
    assert fit.optimizer.value == "ADAM" and isinstance(fit.optimizer_rule, fl.Adam)
    assert fit.image.value != before
    assert fit.predictions.shape == (2, 10)
    assert np.allclose(fit.predictions, np.stack([fit.W @ xi + fit.b for xi in fit.x], -1))


def test_fit_code_reproduces_the_losses_in_a_fresh_namespace():
    fit = LinearRegressionFit(lr=0.02, optimizer="ADAM", epochs=12, seed=5)
    scope = {}
    exec(fit.code(), scope)
    assert scope["losses"] == fit.losses
    assert "fl.ADAM(0.02)" in fit.code()


def test_fit_divergence_is_a_message_not_a_crash():
    fit = LinearRegressionFit(lr=1.0, optimizer="Descent", epochs=100)
    assert fit.error is None and fit.diverged
    assert len(fit.losses) < 100
    assert "smaller learning rate" in fit.status.value
    assert "diverged" in fit._suptitle.get_text()
    fit.lr.value = 0.05
    assert not fit.diverged and "smaller" not in fit.status.value


# ------------------------------------------------------------------------------------ optimizer race

def rosenbrock_gradient(x, y):
    """∇ of (1 − x)² + 5 (y − x²)²."""
    return np.array([-2 * (1 - x) - 20 * x * (y - x**2), 10 * (y - x**2)])


def test_race_first_step_of_each_rule_is_the_rules_formula():
    race = OptimizerRace("rosenbrock", lr=0.004, momentum=0.8, steps=5, start=(-1.2, 1.4))
    p0 = np.array([-1.2, 1.4])
    g = rosenbrock_gradient(*p0)
    eta, rho = 0.004, 0.8
    expected = {
        "Descent": p0 - eta * g,
        "Momentum": p0 - eta * g,                       # v = 0·ρ + η g
        "Nesterov": p0 - (1 + rho) * eta * g,           # (1 + ρ) η g − ρ²·0
        "RMSProp": p0 - eta * g / (np.sqrt(0.1 * g**2) + 1e-8),
        "Adam": p0 - eta * g / (np.abs(g) + 1e-8),      # bias-corrected m/√v = g/|g|
    }
    for name, point in expected.items():
        path = race.trajectories[name]
        assert np.allclose(path[0], p0), name
        assert np.allclose(path[1], point, rtol=1e-10, atol=1e-12), name


def test_race_second_step_uses_the_momentum_slider():
    race = OptimizerRace("rosenbrock", lr=0.004, momentum=0.5, steps=2, start=(-1.2, 1.4))
    eta = 0.004
    frontend_set(race.momentum, value=0.7)
    rho = 0.7
    p0 = np.array([-1.2, 1.4])
    g0 = rosenbrock_gradient(*p0)
    m1 = p0 - eta * g0
    v1 = eta * g0
    m2 = m1 - (rho * v1 + eta * rosenbrock_gradient(*m1))
    assert np.allclose(race.trajectories["Momentum"][2], m2, rtol=1e-10)
    n1 = p0 - (1 + rho) * eta * g0
    nv1 = -eta * g0                                      # Flux's Nesterov velocity
    n2 = n1 - ((1 + rho) * eta * rosenbrock_gradient(*n1) - rho**2 * nv1)
    assert np.allclose(race.trajectories["Nesterov"][2], n2, rtol=1e-10)


def test_race_sliders_recompute_the_trajectories_at_once():
    race = OptimizerRace("bowl", lr=0.01, momentum=0.9, steps=40)
    old = {k: v.copy() for k, v in race.trajectories.items()}
    picture = race.image.value
    frontend_set(race.momentum, value=0.5)
    for name in ("Momentum", "Nesterov"):
        assert not np.allclose(race.trajectories[name], old[name])
        assert race.rules[name].rho == 0.5
    for name in ("Descent", "RMSProp", "Adam"):            # ρ is not theirs
        assert np.allclose(race.trajectories[name], old[name])
    frontend_set(race.lr, value=0.02)
    assert all(rule.eta == 0.02 for rule in race.rules.values())
    assert not np.allclose(race.trajectories["Descent"], old["Descent"])
    frontend_set(race.steps, value=7)
    assert {len(p) for p in race.trajectories.values()} == {8}
    assert race.image.value != picture
    lines = race.lines["Adam"].get_data()
    assert np.allclose(np.column_stack(lines), race.trajectories["Adam"])


def test_race_paths_start_together_and_go_downhill():
    race = OptimizerRace("bowl", lr=0.01, steps=100)
    f = SURFACES["bowl"].f
    start = race.start
    for name, path in race.trajectories.items():
        assert tuple(path[0]) == start
        assert race.final_loss[name] == pytest.approx(f(*path[-1]))
        assert race.final_loss[name] < f(*start)
    descent = [f(*p) for p in race.trajectories["Descent"]]
    assert all(b <= a for a, b in zip(descent, descent[1:]))  # small steps: monotone


def test_race_new_surface_moves_the_start_and_redraws():
    race = OptimizerRace("rosenbrock", steps=10)
    frontend_set(race.surface, index=2)
    assert race.surface.value == "saddle"
    assert race.start == SURFACES["saddle"].start
    assert "Saddle" in race._title.get_text()
    race.start = (1.0, -0.5)
    assert all(tuple(p[0]) == (1.0, -0.5) for p in race.trajectories.values())


def test_race_divergence_is_marked_in_the_legend_and_status():
    race = OptimizerRace("rosenbrock", lr=0.1, steps=100)
    assert race.error is None
    assert {"Descent", "Momentum", "Nesterov"} <= race.diverged
    assert "Adam" not in race.diverged
    assert "diverged at step" in race.lines["Descent"].get_label()
    assert "Lower the learning rate" in race.status.value


def test_race_shows_an_internal_error_instead_of_losing_it(monkeypatch):
    race = OptimizerRace(steps=3)
    import fluxlite.widgets.race as race_module

    def broken(*args):
        raise RuntimeError("no gradient today")

    monkeypatch.setattr(race_module, "descend", broken)
    frontend_set(race.lr, value=0.02)
    assert isinstance(race.error, RuntimeError)
    assert "Something went wrong" in race.status.value and "no gradient today" in race.status.value


# ------------------------------------------------------------------------------------ layer builder

def test_builder_starts_from_the_tutorial_chain_printed_as_flux_prints_it():
    b = LayerBuilder()
    assert b.text == (
        "Chain(\n"
        "  Dense(10 => 5, σ),                    # 55 parameters\n"
        "  Dense(5 => 2),                        # 12 parameters\n"
        "  softmax,\n"
        ")                   # Total: 4 arrays, 67 parameters, 268 bytes.")
    assert b.text in b.printed.value.replace("&gt;", ">")
    assert b.parameter_count == 10 * 5 + 5 + 5 * 2 + 2


@pytest.mark.parametrize("inputs, widths", [(3, [1]), (2, [8, 8, 1]), (32, [32, 32, 32, 32, 32, 10])])
def test_builder_parameter_count_is_the_sum_of_weight_and_bias_sizes(inputs, widths):
    b = LayerBuilder()
    model = b.set(inputs=inputs, widths=widths, activations=["relu"] * len(widths))
    sizes = [inputs] + widths
    expected = sum(i * o + o for i, o in zip(sizes, sizes[1:]))
    assert b.parameter_count == expected
    dense = [layer for layer in model if hasattr(layer, "weight")]
    assert [d.weight.shape for d in dense] == [(o, i) for i, o in zip(sizes, sizes[1:])]
    assert sum(d.weight.size + d.bias.size for d in dense) == expected
    if len(widths) > 1:
        assert f"{expected:_d} parameters" in b.text.splitlines()[-1]


def test_builder_rebuilds_when_controls_move_in_the_browser():
    b = LayerBuilder()
    frontend_set(b.layers, value=3)
    assert len(b.model) == 4 and b.model[-1] is fl.softmax        # 3 Dense + softmax
    assert [r.layout.display for r in b._rows[:4]] == ["", "", "", "none"]
    frontend_set(b.widths[2], value=7)
    frontend_set(b.activations[2], index=list(b.activations[2].options).index("tanh"))
    assert "Dense(2 => 7, tanh)" in b.text
    frontend_set(b.softmax, value=False)
    assert "softmax" not in b.text
    out = b.model(np.ones((10, 4), np.float32))
    assert out.shape == (7, 4)


def test_builder_with_softmax_outputs_columns_that_sum_to_one():
    b = LayerBuilder(inputs=4, widths=(6, 3), activations=("relu", "identity"))
    out = b.model(np.random.default_rng(0).random((4, 9)).astype(np.float32))
    assert out.shape == (3, 9) and np.allclose(out.sum(axis=0), 1, atol=1e-6)


def test_builder_with_zero_layers_shows_a_message_instead_of_crashing():
    b = LayerBuilder()
    frontend_set(b.layers, value=0)
    assert b.model is None and b.parameter_count is None
    assert isinstance(b.error, LessonInputError)
    assert "at least one Dense layer" in b.status.value
    assert "No Dense layers" in " ".join(t.get_text() for t in b.ax.texts)
    assert b.code().startswith("#")
    frontend_set(b.layers, value=1)
    assert b.error is None and "Dense(10 => 5, σ)" in b.text


def test_builder_code_builds_the_same_chain():
    b = LayerBuilder()
    b.set(inputs=6, widths=[4, 4, 2], activations=["tanh", "leakyrelu", "identity"],
          softmax=True)
    scope = {}
    exec(b.code(), scope)
    assert repr(scope["model"]) == b.text


# ------------------------------------------------------------------------------------ all widgets

def _all_widgets():
    return {
        "explorer": GradientExplorer("cubic", x=1.5),
        "fit": LinearRegressionFit(),
        "race": OptimizerRace(),
        "builder": LayerBuilder(),
    }


def test_every_widget_shows_its_controls_picture_and_status():
    for name, w in _all_widgets().items():
        box = w.widget
        assert isinstance(box, ipywidgets.Box), name
        assert w.image in _descendants(box) and w.status in _descendants(box), name
        bundle = w._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle, name
        assert w.error is None, name


def _descendants(box):
    out = [box]
    for child in getattr(box, "children", ()):
        out += _descendants(child)
    return out


def test_render_each_widget_to_a_png_artifact():
    explorer = GradientExplorer("tutorial", x=-1.2)
    save(explorer, "explorer_tutorial.png")
    explorer.function.value = "cubic"
    explorer.x = 1.5
    save(explorer, "explorer_cubic.png")
    explorer.use(lambda x: 1 / 0)
    save(explorer, "explorer_bad_function.png")

    fit = LinearRegressionFit(lr=0.05, optimizer="Descent", epochs=100)
    fit.optimizer.value = "ADAM"
    save(fit, "linreg_fit_adam_vs_descent.png")
    fit.optimizer.value = "Descent"
    fit.lr.value = 1.0
    save(fit, "linreg_fit_diverged.png")

    race = OptimizerRace("rosenbrock")
    save(race, "race_rosenbrock.png")
    race.surface.value = "saddle"
    save(race, "race_saddle.png")
    race.surface.value = "bowl"
    save(race, "race_bowl.png")

    builder = LayerBuilder()
    save(builder, "builder_tutorial_chain.png")
    builder.set(inputs=20, widths=[16, 32, 8, 1], activations=["relu", "tanh", "gelu", "σ"],
                softmax=False)
    save(builder, "builder_deep.png")
    builder.layers.value = 0
    save(builder, "builder_zero_layers.png")


def test_widgets_never_import_pyplot():
    code = ("import sys; from fluxlite.widgets.explorer import GradientExplorer; "
            "from fluxlite.widgets.linreg_fit import LinearRegressionFit; "
            "from fluxlite.widgets.race import OptimizerRace; "
            "from fluxlite.widgets.builder import LayerBuilder; "
            "GradientExplorer(); LinearRegressionFit(epochs=2); OptimizerRace(steps=2); "
            "LayerBuilder(); print('matplotlib.pyplot' in sys.modules)")
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------ on screen
# Each lesson's text tells the student to use certain controls; they must be in the widget's
# layout (its `children` tree) and not hidden. Setting them from Python works even when they are
# not laid out, so the tests above cannot see a missing control.


# (how the lesson builds the widget, the controls its text names, the name in words)
LESSON_WIDGETS = {
    "lesson 01 explorer": (lambda: GradientExplorer("tutorial", x=2.0),
                           ["x_slider", "y_slider", "function", "expression", "readout"],
                           "gradient explorer"),
    "lesson 02 explorer": (lambda: GradientExplorer("cubic", x=1.0),
                           ["x_slider", "function", "expression", "readout"],
                           "gradient explorer"),
    "lesson 06 explorer": (lambda: _used(GradientExplorer(x=1.0)),
                           ["x_slider", "expression", "readout"], "gradient explorer"),
    "lesson 03 fit": (lambda: LinearRegressionFit(lr=0.05, optimizer="Descent", epochs=20),
                      ["optimizer", "lr", "seed", "epochs"], "linear-regression fit"),
    "lesson 04b race": (lambda: OptimizerRace("rosenbrock", lr=0.01, steps=20),
                       ["surface", "lr", "momentum", "steps", "start_x", "start_y"],
                       "optimizer race"),
    "lesson 05a builder": (LayerBuilder, ["inputs", "layers", "softmax", "printed"],
                          "layer builder"),
}


def _used(explorer):
    explorer.use(lambda x: np.log(np.cosh(x)), "logcosh(x)")
    return explorer


@pytest.mark.parametrize("lesson", list(LESSON_WIDGETS))
def test_the_controls_the_lesson_names_are_laid_out_and_shown(lesson):
    make, names, _ = LESSON_WIDGETS[lesson]
    w = make()
    shown = _shown(w.widget)
    for name in names:
        assert getattr(w, name) in shown, f"{lesson}: `{name}` is not on screen"
    assert w.image in shown and w.status in shown
    assert w.error is None, w.error


def test_the_builder_shows_one_width_and_one_activation_per_layer():
    b = LayerBuilder()
    shown = _shown(b.widget)
    for k in range(6):
        on = k < b.layers.value
        assert (b.widths[k] in shown) == on and (b.activations[k] in shown) == on, k
    b.layers.value = 4      # "add a layer": its slider and menu appear
    shown = _shown(b.widget)
    assert all(b.widths[k] in shown and b.activations[k] in shown for k in range(4))


def test_the_explorer_shows_y_only_for_the_tutorials_f():
    ex = GradientExplorer("tutorial", x=2.0)
    assert ex.y_slider in _shown(ex.widget)
    ex.function.value = "sin"
    assert ex.y_slider not in _shown(ex.widget)


@pytest.mark.parametrize("lesson", list(LESSON_WIDGETS))
def test_plain_text_says_run_this_cell(lesson):
    make, _, words = LESSON_WIDGETS[lesson]
    w = make()
    bundle = w._repr_mimebundle_()
    assert bundle["text/plain"] == f"Run this cell to start the {words}."
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == w.widget.model_id and view["version_major"] == 2


@pytest.mark.parametrize("lesson", list(LESSON_WIDGETS))
def test_the_picture_is_shown_pixel_for_pixel_and_shrinks_to_fit(lesson):
    w = LESSON_WIDGETS[lesson][0]()
    width, _ = png_size(w.image.value)
    assert w.image.layout.width == f"{width}px" and w.image.layout.max_width == "100%"
    assert w.image.layout.height == "auto"
