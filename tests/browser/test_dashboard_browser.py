"""The training dashboard in a real browser: lessons/dashboard.ipynb in JupyterLab, Notebook 7
and Voilà.

Each of the three runs the notebook, presses ▶, moves the learning-rate slider while training
runs, presses ❚❚, and checks that the epoch counter advanced, that the kernel took the new
learning rate without starting a new run, and that the loss plot's picture changed. In
JupyterLab (file browser open) and Notebook 7, a 1440×900 window must show every control the
notebook's text names in bold or italics without clipping it on the right. Any JavaScript
console error fails a test. Screenshots go to test-artifacts/.
"""
import json
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

NOTEBOOK = "lessons/dashboard.ipynb"
STDERR = "[data-mime-type='application/vnd.jupyter.stderr']"    # tracebacks show as this


def field(caption):
    """The dashboard's control under the small caption `caption`."""
    return f".fl-field:has(.fl-label:text-is('{caption}'))"


# Each term the notebook's text sets in bold or italics, and the part of the dashboard it means.
NAMED_IN_BOLD_OR_ITALICS = {
    "▶": ".fl-start", "❚❚": ".fl-start",
    "loss curves": ".fl-loss-plot",
    "decision boundary": ".fl-output-plot",
    "gradient norm per layer": ".fl-grad-plot",
    "learning rate": ".fl-lr",
    "optimizer": field("optimizer"),
    "hidden layers": ".fl-depth",
    "activation": field("activation"),
    "spiral": field("which data set?"),
    "features": field("features"),
    "regularization": field("regularization"), "L1": field("regularization"),
    "L2": field("regularization"),
    "regularization rate": field("regularization rate"),
    "Show test data": ".fl-show-test",
    "Discretize output": ".fl-discretize",
    "Show code": ".fl-showcode",
}
# What the text names without emphasis: the status line's message, the list of runs under
# the loss plot, the neurons of each layer.
NAMED_IN_PLAIN = {"the status line": ".fl-status", "the list of runs": ".fl-runs",
                  "neurons per layer": ".fl-width"}


def epoch_of(page):
    text = page.locator(".fl-dash .fl-epoch").text_content()
    digits = re.sub(r"\D", "", text)
    assert digits, f"no epoch number in {text!r}"
    return int(digits)


def status_of(page):
    status = page.locator(".fl-dash .fl-status")
    return status.text_content().strip() if status.count() else "(no dashboard on the page)"


def wait_for_the_notebook(page, timeout=120.0):
    """Wait until the notebook's cells have run: the dashboard shows, and the notebook's
    ``dash.train(30)`` has trained it to epoch 30. Fail at once if a cell shows a traceback."""
    def done():
        failed = [text for text in page.locator(STDERR).all_text_contents()
                  if "Traceback" in text]
        assert not failed, "a cell of the notebook failed:\n" + failed[0][-3000:]
        return page.locator(".fl-dash .fl-epoch").count() > 0 and epoch_of(page) >= 30
    wait_for(page, done, "the dashboard after the notebook's dash.train(30)", timeout)


def wait_for(page, predicate, what, timeout=30.0):
    """Poll `predicate()` (which reads the page) until true; fail after `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; status line: "
                         f"{status_of(page)!r}")


def shoot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.locator(".fl-dash").screenshot(path=str(path))
    return path


def drag_learning_rate_left(page):
    """Drag the learning-rate slider's handle a third of its track to the left with the mouse.

    (A student could also press ← on the focused handle; in Notebook 7 the notebook keeps the
    arrow keys from every ipywidgets slider, so the mouse is what works everywhere.)
    """
    slider = page.locator(".fl-dash .fl-lr")
    slider.scroll_into_view_if_needed()
    track = slider.locator(".noUi-target").bounding_box()
    handle = slider.locator(".noUi-handle").bounding_box()
    assert track and handle, "the learning-rate slider is not visible"
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - track["width"] / 3, y, steps=8)
    page.mouse.up()


def exercise_dashboard(page, name):
    """Start, move the learning rate, pause; check the counter, the status and the plot."""
    wait_for_the_notebook(page)
    page.locator(".fl-dash").scroll_into_view_if_needed()
    shoot(page, f"{name}-1-loaded")
    epoch0 = epoch_of(page)
    plot0 = page.locator(".fl-loss-plot").screenshot()

    page.locator(".fl-start").click()
    wait_for(page, lambda: epoch_of(page) > epoch0 + 2, "training to advance the epochs")
    assert "Training" in status_of(page)

    drag_learning_rate_left(page)
    wait_for(page, lambda: "the run goes on" in status_of(page),
             "the kernel to take the new learning rate")
    lr_text = re.search(r"learning rate = ([0-9.e+-]+)", status_of(page)).group(1)
    assert float(lr_text) < 0.03, f"the slider went left, so the rate fell below 0.03: {lr_text}"
    epoch1 = epoch_of(page)
    wait_for(page, lambda: epoch_of(page) > epoch1 + 2, "training to go on after the change")
    shoot(page, f"{name}-2-training")

    page.locator(".fl-start").click()
    wait_for(page, lambda: status_of(page).startswith("Paused at epoch"), "the pause")
    epoch2 = epoch_of(page)
    assert epoch2 > epoch1 > epoch0
    page.wait_for_timeout(600)
    assert epoch_of(page) == epoch2, "the counter must stand still after ❚❚"
    assert page.locator(".fl-loss-plot").screenshot() != plot0, "the loss plot did not change"
    assert "#1" not in page.locator(".fl-runs").text_content(), \
        "changing the learning rate must not start a new run"

    page.locator(".fl-showcode").click()
    page.wait_for_selector(".fl-code pre", timeout=10_000)
    assert "fl.setup(optimizer, model)" in page.locator(".fl-code pre").text_content()
    shoot(page, f"{name}-3-paused-with-code")
    assert page.console_errors == [], "JavaScript console errors:\n" + "\n".join(page.console_errors)


def test_dashboard_in_jupyterlab(page, lab_server, open_in_lab):
    open_in_lab(page, lab_server, NOTEBOOK)
    exercise_dashboard(page, "jupyterlab")


def test_dashboard_in_notebook7(page, notebook7_server, open_in_notebook7):
    open_in_notebook7(page, notebook7_server, NOTEBOOK)
    exercise_dashboard(page, "notebook7")


def test_dashboard_in_voila(page, voila_server):
    page.goto(voila_server, timeout=120_000)
    exercise_dashboard(page, "voila")


def box(page, selector):
    b = page.locator(selector).first.bounding_box()
    assert b is not None, f"{selector} is not visible"
    return b


def test_every_term_in_bold_or_italics_is_a_part_the_laptop_tests_check():
    """The laptop tests look for each control the notebook's text names; a term newly set in
    bold or italics needs its place in NAMED_IN_BOLD_OR_ITALICS, or it would go unchecked."""
    nb = json.loads((ROOT / NOTEBOOK).read_text())
    text = "".join("".join(cell["source"]) for cell in nb["cells"]
                   if cell["cell_type"] == "markdown")
    named = set(re.findall(r"\*\*(.+?)\*\*", text))
    named |= set(re.findall(r"(?<!\*)\*([^*\s][^*]*?)\*(?!\*)", re.sub(r"\*\*.+?\*\*", "", text)))
    assert named, "the notebook's text sets nothing in bold or italics"
    known = set(NAMED_IN_BOLD_OR_ITALICS)
    assert named == known, (f"named in the text but unknown here: {sorted(named - known)}; "
                            f"known here but no longer named: {sorted(known - named)}")


OVERFLOW = """(dash) => {
    const out = dash.closest('.jp-OutputArea-output');
    const scroller = dash.closest('.jp-WindowedPanel-outer') || dash.closest('.jp-Notebook');
    const inside = [...dash.querySelectorAll('*')].filter(e => {
        const x = getComputedStyle(e).overflowX;
        return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1;
    }).map(e => {
        const label = e.querySelector('.fl-label');
        const name = label ? `the box with "${label.textContent}"`
            : [...e.classList].filter(c => c.startsWith('fl-')).join(' ') || e.tagName;
        return `${name} (${e.scrollWidth} > ${e.clientWidth} px)`;
    });
    return {sizes: {output: [out.scrollWidth, out.clientWidth],
                    notebook: [scroller.scrollWidth, scroller.clientWidth]}, inside};
}"""


def check_fits_a_laptop(page, name, width=1440):
    """Every part the notebook's text names is inside the notebook panel and the window's
    width; nothing scrolls sideways (the notebook, the cell's output, or any box inside the
    dashboard, which would show a scrollbar of its own); the status line sits beside ▶; the
    decision boundary starts within one screen of the dashboard's top."""
    wait_for_the_notebook(page)
    page.locator(".fl-dash").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    panel = page.locator(".jp-NotebookPanel", has=page.locator(".fl-dash")).first.bounding_box()
    dash = box(page, ".fl-dash")
    parts = {**NAMED_IN_BOLD_OR_ITALICS, **NAMED_IN_PLAIN}
    boxes = {what: box(page, f".fl-dash {selector}") for what, selector in parts.items()}
    shot = ARTIFACTS / f"dashboard-{name}-{width}x{page.viewport_size['height']}"
    page.screenshot(path=f"{shot}.png")
    report = "; ".join(f"{k}: x={b['x']:.0f} y={b['y'] - dash['y']:.0f} (from the dashboard's "
                       f"top) w={b['width']:.0f} h={b['height']:.0f}" for k, b in boxes.items())
    report += f"; panel x={panel['x']:.0f}..{panel['x'] + panel['width']:.0f}"
    print(report)
    right = min(panel["x"] + panel["width"], width)
    for what, b in boxes.items():
        assert b["x"] >= panel["x"] - 1, f"{what} starts left of the notebook panel: {report}"
        assert b["x"] + b["width"] <= right + 1, f"{what} is clipped on the right: {report}"
    sideways = page.locator(".fl-dash").evaluate(OVERFLOW)
    for where, (scroll, client) in sideways["sizes"].items():
        assert scroll <= client + 1, f"the {where} scrolls sideways: {scroll} > {client} px"
    assert sideways["inside"] == [], ("inside the dashboard these scroll sideways, each with a "
                                      "scrollbar of its own: " + "; ".join(sideways["inside"]))
    start, status = boxes["▶"], boxes["the status line"]
    gap = max(status["y"] - (start["y"] + start["height"]),
              start["y"] - (status["y"] + status["height"]), 0)
    assert gap <= 120, f"the status line is {gap:.0f} px from the ▶ button: {report}"
    top = boxes["decision boundary"]["y"] - dash["y"]
    assert top <= 900, f"the decision boundary starts {top:.0f} px below the dashboard's top"
    page.locator(".fl-dash .fl-showcode").evaluate("e => e.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(300)
    page.screenshot(path=f"{shot}-scrolled.png")        # the dashboard's lower half
    assert page.console_errors == [], \
        "JavaScript console errors:\n" + "\n".join(page.console_errors)


# Two laptop screens: 1440×900, and 1366×768, the smallest common one.
LAPTOPS = [(1440, 900), (1366, 768)]


@pytest.mark.parametrize("width, height", LAPTOPS, ids=lambda v: str(v))
def test_dashboard_fits_a_laptop_in_jupyterlab(new_page, lab_server, open_in_lab, width, height):
    """With JupyterLab's file browser open."""
    page = new_page(width, height)
    try:
        open_in_lab(page, lab_server, NOTEBOOK)
        check_fits_a_laptop(page, "jupyterlab", width=width)
    finally:
        page.context.close()


@pytest.mark.parametrize("width, height", LAPTOPS, ids=lambda v: str(v))
def test_dashboard_fits_a_laptop_in_notebook7(new_page, notebook7_server, open_in_notebook7,
                                              width, height):
    """Notebook 7 centres the notebook in a column narrower than the window."""
    page = new_page(width, height)
    try:
        open_in_notebook7(page, notebook7_server, NOTEBOOK)
        check_fits_a_laptop(page, "notebook7", width=width)
    finally:
        page.context.close()
