"""Lesson 11's gradient-through-time explorer in a real browser: JupyterLab at 1440 × 900.

The widget is built as the lesson builds it. The three controls the lesson's text names (T, the
scale of Wh, σ) and the picture must be on screen, inside the window and the notebook's visible
area, with nothing sticking out to the right. Then each control is moved as a student moves it
(a mouse drag on a slider, a click on a button) and each move must change the picture and the
status line's numbers. Any JavaScript console error fails. Screenshots go to
test-artifacts/lesson-widgets-browser/.
"""
import time

import pytest

from test_lesson_widgets_browser import (  # noqa: E402  (the shared page helpers)
    ARTIFACTS, GEOMETRY, HEIGHT, ROOT, WIDTH, box_of, changes_picture, check_on_screen, drag,
    scroll_to_top_of, wait_idle, write_notebook)

NAME = "gradient-through-time-explorer"
NOTEBOOK = "test-artifacts/through-time-browser.ipynb"
CELL = ("from fluxlite.widgets import GradientThroughTime\n\n"
        "through_time = GradientThroughTime(T=20, scale=1.0, activation=\"tanh\")\n"
        "through_time")
CONTROLS = {"fl-T": "the T (steps) slider", "fl-scale": "the scale of Wh slider",
            "fl-activation": "the σ buttons (tanh, identity)"}


@pytest.fixture(scope="module")
def lab(new_page, shared_lab_server, open_in_lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    write_notebook(ROOT / NOTEBOOK, [CELL])
    page = new_page(WIDTH, HEIGHT)
    # ?reset: a fresh workspace, so Lab does not reopen notebooks that earlier tests deleted
    open_in_lab(page, shared_lab_server, NOTEBOOK + "?reset")
    box_of(page, NAME).wait_for(state="attached", timeout=120_000)
    time.sleep(0.5)
    wait_idle(page)
    yield page
    page.close()
    (ROOT / NOTEBOOK).unlink(missing_ok=True)


def test_the_controls_and_picture_are_on_screen(lab):
    page = lab
    scroll_to_top_of(page, NAME)
    box = box_of(page, NAME)
    g = box.evaluate(GEOMETRY)
    assert g["output"]["scroll"] <= g["output"]["client"] + 1, f"wider than the output area: {g}"
    assert g["right"] <= g["output"]["right"] + 1, f"sticks out to the right: {g}"
    for css, what in CONTROLS.items():
        shown = [c for c in box.locator(f".{css}").all() if c.is_visible()]
        assert shown, f"the explorer does not show {what} (.{css})"
        for control in shown:
            check_on_screen(page, control, what)
    check_on_screen(page, box.locator(".fl-picture"), "the picture")
    assert "T = 20, scale of Wh = 1.00, σ = tanh" in box.locator(".fl-status").text_content()
    page.screenshot(path=str(ARTIFACTS / f"{NAME}-window.png"))
    assert page.console_errors == [], "\n".join(page.console_errors)


def test_moving_each_control_changes_the_picture_and_the_numbers(lab):
    page = lab
    scroll_to_top_of(page, NAME)
    box = box_of(page, NAME)
    moves = [
        ("dragging T", lambda: drag(page, box.locator(".fl-T"), 120), "T = 20,"),
        ("dragging the scale", lambda: drag(page, box.locator(".fl-scale"), -120),
         "scale of Wh = 1.00"),
        ("clicking identity", lambda: box.locator(".fl-activation button",
                                                  has_text="identity").click(), "σ = tanh"),
    ]
    for k, (what, move, gone) in enumerate(moves):
        changes_picture(page, NAME, move, what)
        wait_idle(page)
        status = box.locator(".fl-status").text_content()
        assert gone not in status, f"{what} left the status line at {status!r}"
        box.screenshot(path=str(ARTIFACTS / f"{NAME}-{k + 1}-after-{what.split()[0]}.png"))
    assert page.console_errors == [], "\n".join(page.console_errors)
