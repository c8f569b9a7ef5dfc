"""The latent-space explorer of lesson 10 (widgets/latent.py).

The decoder here is written out by hand (a fixed linear map), so the expected pixels are
computed independently of the widget: σ(W z), reshaped row by row. ipywidgets only *logs* an
exception raised in a slider callback, so every test fails if one was logged.
"""
from pathlib import Path

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import fluxlite as fl  # noqa: E402
from widgetdriver import frontend_set, shown as _shown  # noqa: E402
from fluxlite.widgets.latent import LatentExplorer  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_logged_callback_errors")  # tests/conftest.py

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "lesson-widgets"


def _linear_decoder(seed=0):
    W = np.random.default_rng(seed).normal(size=(64, 2))
    return W, (lambda z: W @ z)


def _expected(W, z):
    return (1 / (1 + np.exp(-(W @ np.asarray(z, float))))).reshape(8, 8)


def test_sliders_moved_from_the_browser_redraw_the_decoded_digit():
    W, decoder = _linear_decoder()
    ex = LatentExplorer(decoder)
    np.testing.assert_allclose(ex.image_array, _expected(W, [0, 0]), atol=1e-6)
    png_before = ex.image.value
    frontend_set(ex.sliders[0], value=1.5)
    frontend_set(ex.sliders[1], value=-2.0)
    assert ex.z.tolist() == [1.5, -2.0]
    np.testing.assert_allclose(ex.image_array, _expected(W, [1.5, -2.0]), atol=1e-5)
    assert ex.image.value != png_before and ex.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.error is None
    assert "+1.50" in ex.status.value and "-2.00" in ex.status.value


def test_set_moves_every_slider_with_one_redraw_and_the_marker_follows():
    W, decoder = _linear_decoder(1)
    points = np.random.default_rng(2).normal(size=(2, 50))
    ex = LatentExplorer(decoder, points=points, labels=np.arange(50) % 10)
    frames = ex.plot.frames
    ex.set(-1.0, 0.5)
    assert ex.plot.frames == frames + 1
    assert [float(v[0]) for v in ex.marker.get_data()] == [-1.0, 0.5]
    np.testing.assert_allclose(ex.image_array, _expected(W, [-1.0, 0.5]), atol=1e-5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ex.save_png(ARTIFACTS / "latent_explorer.png")


def test_a_fluxlite_chain_decoder_works_and_a_broken_one_is_reported_not_raised():
    fl.seed(0)
    dec = fl.Chain(fl.Dense(2, 16, fl.relu), fl.Dense(16, 64))
    ex = LatentExplorer(dec)
    frontend_set(ex.sliders[1], value=1.0)
    expected = fl.σ(dec(np.array([[0.0], [1.0]], np.float32))).reshape(8, 8)
    np.testing.assert_allclose(ex.image_array, expected, atol=1e-6)

    calls = {"n": 0}

    def flaky(z):
        calls["n"] += 1
        if calls["n"] > 1:
            raise ValueError("boom")
        return np.zeros((64, 1))
    ex2 = LatentExplorer(flaky)
    frontend_set(ex2.sliders[0], value=0.3)
    assert ex2.error is not None and "decoder failed" in ex2.status.value and "boom" in ex2.status.value


def test_a_decoder_of_the_wrong_size_is_named_in_the_message():
    ex = LatentExplorer(lambda z: np.zeros((10, 1)))
    assert ex.error is not None
    assert "10 numbers" in str(ex.error) and "(8, 8)" in str(ex.error)


def test_the_lessons_two_sliders_and_picture_are_laid_out():
    """Lesson 10: "Move the two sliders to pick z = (z₁, z₂)"; the scatter and the digit."""
    W, decoder = _linear_decoder()
    points = np.random.default_rng(1).normal(size=(2, 50))
    ex = LatentExplorer(decoder, points=points, labels=np.arange(50) % 10, limit=3.0)
    shown = _shown(ex.widget)
    assert len(ex.sliders) == 2 and all(s in shown for s in ex.sliders)
    assert [s.description for s in ex.sliders] == ["z₁", "z₂"]
    assert ex.image in shown and ex.status in shown


def test_plain_text_says_run_this_cell():
    _, decoder = _linear_decoder()
    ex = LatentExplorer(decoder)
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == "Run this cell to start the latent-space explorer."
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id
