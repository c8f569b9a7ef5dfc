"""The lesson widgets in a real browser: JupyterLab at 1440 × 900 with the file browser open.

One notebook builds each lesson widget the way its lesson does (the same constructor calls; the
VAE lesson's trained decoder is replaced by a small fixed one, since training takes minutes).
For every widget, each control the lesson's text tells the student to use must be on screen:
visible, inside the window and inside the notebook's visible area, with nothing sticking out to
the right. Then the controls are moved as a student moves them (a mouse drag on a slider, a menu
item, a click, typing and Enter) and each move must change the picture. Any JavaScript console
error fails. Screenshots go to test-artifacts/lesson-widgets-browser/.
"""
import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "lesson-widgets-browser"
NOTEBOOK = "test-artifacts/lesson-widgets-browser.ipynb"     # under the repository: Lab's root
WIDTH, HEIGHT = 1440, 900

CELLS = [
    # lesson 01 (lessons 02 and 06 show the same widget on another function)
    "from fluxlite.widgets.explorer import GradientExplorer\n\n"
    "explorer = GradientExplorer(\"tutorial\", x=2.0)\nexplorer",
    # lesson 03
    "from fluxlite.widgets.linreg_fit import LinearRegressionFit\n\n"
    "fit = LinearRegressionFit(lr=0.05, optimizer=\"Descent\", epochs=200)\nfit",
    # lesson 04b
    "from fluxlite.widgets.race import OptimizerRace\n\n"
    "race = OptimizerRace(\"rosenbrock\", lr=0.01, steps=200)\nrace",
    # lesson 05a
    "from fluxlite.widgets.builder import LayerBuilder\n\nbuilder = LayerBuilder()\nbuilder",
    # lesson 10, with a fixed decoder and made-up encoded points
    "import numpy as np\nfrom fluxlite.widgets.latent import LatentExplorer\n\n"
    "rng = np.random.default_rng(0)\n"
    "W = 3 * rng.normal(size=(64, 2)).astype(np.float32)\n"
    "mu_test, ytest = rng.normal(size=(2, 300)), rng.integers(0, 10, 300)\n"
    "latent = LatentExplorer(lambda z: W @ z, points=mu_test, labels=ytest, limit=3.0)\nlatent",
]

# The controls each lesson's text names: CSS class -> what the lesson calls it.
CONTROLS = {
    "gradient-explorer": {
        "fl-x": "the x slider (“Drag x”)",
        "fl-y": "the second slider, y",
        "fl-function": "the menu of functions",
        "fl-expression": "the box to type your own function",
        "fl-readout": "the line under the picture with the fl.gradient call",
    },
    "linear-regression-fit": {
        "fl-optimizer": "Descent / ADAM",
        "fl-lr": "the learning rate",
        "fl-seed": "the data seed",
        "fl-epochs": "the epochs",
    },
    "optimizer-race": {
        "fl-surface": "the surface menu (Rosenbrock, saddle)",
        "fl-lr": "η",
        "fl-momentum": "the momentum ρ",
        "fl-steps": "the steps",
        "fl-start-x": "start x",
        "fl-start-y": "start y",
    },
    "layer-builder": {
        "fl-inputs": "inputs",
        "fl-layers": "the number of Dense layers (“add a layer”)",
        "fl-width": "each layer's width",
        "fl-activation": "each layer's activation menu",
        "fl-softmax": "end with softmax",
        "fl-chain": "the Chain as Flux prints it",
    },
    "latent-space-explorer": {
        "fl-z": "the two sliders z₁, z₂",
    },
}


def write_notebook(path, sources):
    """Write a notebook of code cells with `sources` (unexecuted, Python 3 kernel) at `path`."""
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{k}",
                     "metadata": {}, "outputs": [], "source": src}
                    for k, src in enumerate(sources)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                      "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))


def box_of(page, name):
    return page.locator(f".fl-{name}")


def wait_idle(page, timeout=120):
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""", timeout=timeout * 1000)


@pytest.fixture(scope="module")
def lab(new_page, shared_lab_server, open_in_lab):
    """JupyterLab at 1440 × 900, file browser open, the widget notebook run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    write_notebook(ROOT / NOTEBOOK, CELLS)
    page = new_page(WIDTH, HEIGHT)
    open_in_lab(page, shared_lab_server, NOTEBOOK)
    for name in CONTROLS:
        box_of(page, name).wait_for(state="attached", timeout=120_000)
    time.sleep(0.5)
    wait_idle(page)
    yield page
    page.close()
    (ROOT / NOTEBOOK).unlink(missing_ok=True)


GEOMETRY = """(el) => {
    const r = el.getBoundingClientRect();
    const scroller = el.closest('.jp-WindowedPanel-outer') || el.closest('.jp-Notebook');
    const s = scroller.getBoundingClientRect();
    const out = el.closest('.jp-OutputArea-output');
    const style = getComputedStyle(el);
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
            width: r.width, height: r.height,
            visible: r.width > 0 && r.height > 0 && style.visibility !== 'hidden',
            area: {left: s.left, top: s.top, right: s.right, bottom: s.bottom},
            scroller: {scroll: scroller.scrollWidth, client: scroller.clientWidth},
            output: out && {scroll: out.scrollWidth, client: out.clientWidth,
                            right: out.getBoundingClientRect().right}};
}"""


def check_on_screen(page, element, what):
    """`element` is visible, inside the window and inside the notebook's visible area."""
    g = element.evaluate(GEOMETRY)
    assert g["visible"], f"{what} is not visible: {g}"
    assert 0 <= g["left"] and g["right"] <= WIDTH and 0 <= g["top"] and g["bottom"] <= HEIGHT, \
        f"{what} is (partly) outside the {WIDTH}×{HEIGHT} window: {g}"
    a = g["area"]
    assert (a["left"] - 1 <= g["left"] and g["right"] <= a["right"] + 1
            and a["top"] - 1 <= g["top"] and g["bottom"] <= a["bottom"] + 1), \
        f"{what} is (partly) outside the notebook's visible area: {g}"
    return g


def scroll_to_top_of(page, name):
    box_of(page, name).evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)


@pytest.mark.parametrize("name", list(CONTROLS))
def test_lesson_widget_fits_the_window(lab, name):
    page = lab
    assert page.locator(".jp-FileBrowser").is_visible(), "the file browser must be open"
    scroll_to_top_of(page, name)
    box = box_of(page, name)
    g = box.evaluate(GEOMETRY)
    assert g["output"]["scroll"] <= g["output"]["client"] + 1, \
        f"the {name} is wider than the notebook's output area: {g}"
    assert g["right"] <= g["output"]["right"] + 1, f"the {name} sticks out to the right: {g}"
    assert g["scroller"]["scroll"] <= g["scroller"]["client"] + 1, \
        f"the notebook scrolls sideways with the {name} in it: {g}"
    for css, what in CONTROLS[name].items():
        shown = [c for c in box.locator(f".{css}").all() if c.is_visible()]
        assert shown, f"the {name} does not show {what} (.{css})"
        for control in shown:
            check_on_screen(page, control, f"{what} (.{css})")
    check_on_screen(page, box.locator(".fl-picture"), "the picture")
    shown, natural = box.locator(".fl-picture").evaluate(
        "img => [img.getBoundingClientRect().width, img.naturalWidth]")
    assert shown <= natural + 1, \
        f"the {name}'s picture is stretched from {natural} to {shown} pixels wide (blurred)"
    page.screenshot(path=str(ARTIFACTS / f"{name}-window.png"))
    assert page.console_errors == [], "\n".join(page.console_errors)


def test_in_a_smaller_window_the_widgets_wrap_and_shrink_instead_of_overflowing(lab):
    """At 1100 × 800 the rows of controls wrap and the pictures scale down: nothing sticks out."""
    page = lab
    page.set_viewport_size({"width": 1100, "height": 800})
    try:
        page.wait_for_timeout(500)
        for name in CONTROLS:
            scroll_to_top_of(page, name)
            g = box_of(page, name).evaluate(GEOMETRY)
            assert g["output"]["scroll"] <= g["output"]["client"] + 1, (name, g)
            assert g["right"] <= min(g["output"]["right"], 1100) + 1, (name, g)
            assert g["scroller"]["scroll"] <= g["scroller"]["client"] + 1, (name, g)
            for css in CONTROLS[name]:
                for control in box_of(page, name).locator(f".{css}").all():
                    if control.is_visible():
                        r = control.bounding_box()
                        assert r["x"] + r["width"] <= g["output"]["right"] + 1, (name, css, r)
            page.screenshot(path=str(ARTIFACTS / f"{name}-smaller-window.png"))
    finally:
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        page.wait_for_timeout(300)


# ------------------------------------------------------------------ moving the controls

def picture(page, name):
    return box_of(page, name).locator(".fl-picture").screenshot()


def changes_picture(page, name, move, what, timeout=20.0):
    """Do `move()`; wait until the picture differs from before; fail after `timeout` s."""
    before = picture(page, name)
    move()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        page.wait_for_timeout(150)
        if picture(page, name) != before:
            status = box_of(page, name).locator(".fl-status").text_content()
            assert "went wrong" not in status, f"{what}: {status}"
            return
    raise AssertionError(f"{what} did not change the picture of the {name} within {timeout} s")


def drag(page, slider, dx):
    """Drag `slider`'s handle sideways by `dx` pixels with the mouse, as a student does."""
    assert slider.count() == 1 and slider.is_visible(), f"no slider to drag: {slider}"
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    b = handle.bounding_box()
    x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()


def pick(box, css, label):
    box.locator(f".{css} select").select_option(label=label)


MOVES = {
    "gradient-explorer": [
        ("dragging x", lambda p, b: drag(p, b.locator(".fl-x"), -60)),
        ("dragging y", lambda p, b: drag(p, b.locator(".fl-y"), 50)),
        ("picking sin(x) in the menu", lambda p, b: pick(b, "fl-function", "sin(x)")),
        ("typing np.exp(-x**2) and Enter", lambda p, b: (
            b.locator(".fl-expression input").fill("np.exp(-x**2)"),
            b.locator(".fl-expression input").press("Enter"))),
    ],
    "linear-regression-fit": [
        ("clicking ADAM", lambda p, b: b.locator(".fl-optimizer button",
                                                 has_text="ADAM").click()),
        ("dragging the learning rate", lambda p, b: drag(p, b.locator(".fl-lr"), 60)),
        ("dragging the data seed", lambda p, b: drag(p, b.locator(".fl-seed"), 40)),
    ],
    "optimizer-race": [
        ("dragging η", lambda p, b: drag(p, b.locator(".fl-lr"), 40)),
        ("dragging the momentum", lambda p, b: drag(p, b.locator(".fl-momentum"), -150)),
        ("picking the saddle", lambda p, b: pick(b, "fl-surface", "Saddle between two valleys")),
        ("dragging start y", lambda p, b: drag(p, b.locator(".fl-start-y"), 30)),
    ],
    "layer-builder": [
        ("dragging Dense layers", lambda p, b: drag(p, b.locator(".fl-layers"), 40)),
        ("dragging the first width", lambda p, b: drag(p, b.locator(".fl-width").first, 80)),
        ("picking relu for the first layer", lambda p, b: b.locator(
            ".fl-activation select").first.select_option(label="relu")),
        ("clicking end with softmax", lambda p, b: b.locator(".fl-softmax input").click()),
    ],
    "latent-space-explorer": [
        ("dragging z₁", lambda p, b: drag(p, b.locator(".fl-z").nth(0), 60)),
        ("dragging z₂", lambda p, b: drag(p, b.locator(".fl-z").nth(1), -60)),
    ],
}


@pytest.mark.parametrize("name", list(MOVES))
def test_moving_each_control_changes_the_picture(lab, name):
    page = lab
    scroll_to_top_of(page, name)
    box = box_of(page, name)
    for k, (what, move) in enumerate(MOVES[name]):
        changes_picture(page, name, lambda: move(page, box), what)
        wait_idle(page)
        box.screenshot(path=str(ARTIFACTS / f"{name}-{k + 1}-after-{what.split()[0]}.png"))
    if name == "gradient-explorer":
        readout = box.locator(".fl-readout").text_content()
        assert "fl.gradient(f, " in readout, readout
    assert page.console_errors == [], "\n".join(page.console_errors)


# ------------------------------------------------------------------ before the cells have run

def test_a_saved_notebook_says_run_this_cell_before_it_runs(new_page, shared_lab_server,
                                                            open_in_lab):
    """A notebook saved with the widgets' outputs but without widget state, opened afresh.

    JupyterLab finds no live widget for the saved view and shows the plain text instead: it
    must ask the student to run the cell, not print ``VBox(children=(Image(value=b'...``.
    """
    from fluxlite.widgets import (GradientExplorer, LatentExplorer, LayerBuilder,
                                  LinearRegressionFit, OptimizerRace)
    import numpy as np

    made = [GradientExplorer("tutorial", x=2.0), LinearRegressionFit(epochs=2),
            OptimizerRace(steps=2), LayerBuilder(), LatentExplorer(lambda z: np.zeros((64, 1)))]
    cells = [{"cell_type": "code", "execution_count": k + 1, "id": f"saved{k}", "metadata": {},
              "source": f"w{k}", "outputs": [{"output_type": "execute_result", "metadata": {},
                                              "execution_count": k + 1,
                                              "data": w._repr_mimebundle_()}]}
             for k, w in enumerate(made)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3",
                                                      "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    name = "test-artifacts/lesson-widgets-saved.ipynb"
    (ROOT / name).write_text(json.dumps(nb, indent=1))
    try:
        page = new_page(WIDTH, HEIGHT)
        page.goto(f"{shared_lab_server}/lab/tree/{name}")
        outputs = page.locator(".jp-OutputArea-output")
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-OutputArea-output').length >= n",
            arg=len(made), timeout=60_000)
        page.wait_for_timeout(1500)            # the widget manager gives up on the saved views
        texts = [outputs.nth(k).text_content().strip() for k in range(len(made))]
        page.screenshot(path=str(ARTIFACTS / "saved-notebook-before-running.png"))
        page.close()
        assert texts == [f"Run this cell to start the {w.name}." for w in made], texts
    finally:
        (ROOT / name).unlink(missing_ok=True)
