"""The gradient-through-time explorer of lesson 11 (widgets/through_time.py).

The widget asks fluxlite for ``∂L/∂h_t``; here the same numbers are worked out by hand, with
backpropagation through time written in NumPy (``g_(t−1) = Whᵀ (σ′(a_t) ⊙ g_t)``), and against
the closed form ``scale^(T−t)`` where one holds (identity activation, orthogonal ``Wh``).
Controls are moved the way a browser moves them (`frontend_set`). ipywidgets only *logs* an
exception raised in a callback, so every test fails if one was logged.
"""
from pathlib import Path

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

from widgetdriver import frontend_set, shown as _shown  # noqa: E402
from fluxlite.widgets._lesson import LessonInputError  # noqa: E402
from fluxlite.widgets.through_time import GradientThroughTime  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_logged_callback_errors")  # tests/conftest.py

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "lesson-widgets"


def by_hand(w, T, scale, activation):
    """‖∂L/∂h_t‖, t = 1 … T, for L = u · h_T: the forward pass, then the chain rule backwards."""
    Wi, Wh, u = w.Wi.astype(float), scale * w.Q.astype(float), w.u.astype(float)
    x = w.bits[0, 0, :T].astype(float)
    h, pre = np.zeros(w.hidden), []
    for t in range(T):
        a = Wi[:, 0] * x[t] + Wh @ h
        pre.append(a)
        h = np.tanh(a) if activation == "tanh" else a
    g, norms = u.copy(), [0.0] * T
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(g)
        slope = 1 - np.tanh(pre[t]) ** 2 if activation == "tanh" else np.ones(w.hidden)
        g = Wh.T @ (slope * g)
    return np.array(norms)


@pytest.mark.parametrize("T, scale, activation", [
    (20, 1.0, "tanh"), (7, 0.3, "tanh"), (40, 1.6, "tanh"), (30, 0.8, "identity")])
def test_gradient_norms_equal_backpropagation_through_time_by_hand(T, scale, activation):
    w = GradientThroughTime(T=T, scale=scale, activation=activation)
    assert w.error is None
    np.testing.assert_allclose(w.grad_norms, by_hand(w, T, scale, activation), rtol=2e-4)


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.5])
def test_without_tanh_an_orthogonal_wh_scales_the_gradient_by_scale_per_step(scale):
    w = GradientThroughTime(T=25, scale=scale, activation="identity")
    np.testing.assert_allclose(w.grad_norms, scale ** np.arange(24, -1, -1.0), rtol=1e-4)
    assert w.regime == {0.5: "vanishing", 1.0: "stable", 1.5: "exploding"}[scale]


def test_moving_each_control_in_the_browser_recomputes_and_redraws():
    w = GradientThroughTime(T=20, scale=1.0, activation="tanh")
    png, norms = w.image.value, w.grad_norms.copy()
    frontend_set(w.scale, value=0.5)
    assert w.scale.value == 0.5 and w.grad_norms[0] < norms[0] / 1e3
    assert w.image.value != png
    png = w.image.value
    frontend_set(w.T, value=60)
    assert len(w.grad_norms) == 60 and w.norm_line.get_xdata()[-1] == 60
    assert w.image.value != png
    png = w.image.value
    frontend_set(w.activation, index=1)                     # identity
    assert w.activation.value == "identity"
    np.testing.assert_allclose(w.grad_norms[0], 0.5 ** 59, rtol=1e-3)
    assert w.image.value != png and w.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert w.error is None
    assert "σ = identity" in w.status.value and "T = 60" in w.status.value


def test_the_status_line_and_regime_follow_the_picture():
    w = GradientThroughTime(T=50, scale=0.9, activation="tanh")
    assert w.regime == "vanishing" and "(vanishing)" in w.status.value
    w.set(scale=1.5, activation="identity")
    assert w.regime == "exploding" and "(exploding)" in w.status.value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    w.save_png(ARTIFACTS / "gradient_through_time.png")


def test_gradient_norms_for_other_settings_leave_the_controls_and_picture_alone():
    w = GradientThroughTime(T=20, scale=1.0, activation="tanh")
    frames, png = w.plot.frames, w.image.value
    norms = w.gradient_norms(T=12, scale=0.7, activation="tanh")
    np.testing.assert_allclose(norms, by_hand(w, 12, 0.7, "tanh"), rtol=2e-4)
    assert (w.T.value, w.scale.value, w.plot.frames, w.image.value) == (20, 1.0, frames, png)
    with pytest.raises(LessonInputError, match="whole number from 2 to 100, got 101"):
        w.gradient_norms(T=101)


def test_a_gradient_too_small_for_float32_is_called_so_and_clipping_is_said():
    w = GradientThroughTime(T=20, scale=1.0)
    assert "drawn on the edge" not in w._note.get_text()
    w.set(T=100, scale=0.1, activation="identity")          # 0.1 ** 99 underflows float32
    assert w.grad_norms[0] == 0 and w.regime == "vanishing"
    assert "is 0 (too small for float32) times the one at step 100" in w.status.value
    assert "drawn on the edge" in w._note.get_text()


def test_set_changes_several_controls_with_one_redraw():
    w = GradientThroughTime()
    frames = w.plot.frames
    w.set(T=30, scale=0.7, activation="identity")
    assert w.plot.frames == frames + 1
    assert (w.T.value, w.scale.value, w.activation.value) == (30, 0.7, "identity")


@pytest.mark.parametrize("kwargs, message", [
    ({"T": 1}, "T is the sequence length: a whole number from 2 to 100, got 1."),
    ({"T": 500}, "T is the sequence length: a whole number from 2 to 100, got 500."),
    ({"scale": 3}, "scale is the size of Wh: a number from 0.1 to 2, got 3."),
    ({"activation": "relu"}, "activation must be one of tanh, identity, got 'relu'."),
])
def test_bad_arguments_say_what_is_allowed(kwargs, message):
    with pytest.raises(LessonInputError) as err:
        GradientThroughTime(**kwargs)
    assert str(err.value) == message


def test_set_with_an_unknown_activation_says_so_and_keeps_the_picture():
    w = GradientThroughTime()
    before = w.grad_norms.copy()
    with pytest.raises(LessonInputError, match="activation must be one of tanh, identity, got 'sigmoid'"):
        w.set(activation="sigmoid")
    np.testing.assert_array_equal(w.grad_norms, before)


def test_the_three_controls_picture_and_status_are_shown():
    w = GradientThroughTime()
    shown = _shown(w.widget)
    for control in (w.T, w.scale, w.activation, w.image, w.status):
        assert control in shown
    assert w.T.description == "T (steps)" and w.scale.description == "scale of Wh"
    assert "fl-scale" in w.scale._dom_classes and "fl-T" in w.T._dom_classes
    assert "fl-gradient-through-time-explorer" in w.widget._dom_classes


def test_plain_text_says_run_this_cell():
    w = GradientThroughTime()
    bundle = w._repr_mimebundle_()
    assert bundle["text/plain"] == "Run this cell to start the gradient-through-time explorer."
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.widget.model_id
