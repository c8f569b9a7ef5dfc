"""The training dashboard in a real browser: JupyterLab and Voilà serving lessons/dashboard.ipynb.

Each test runs the notebook, presses ▶, moves the learning-rate slider while training runs,
presses ❚❚, and checks that the epoch counter advanced, that the kernel took the new learning
rate without starting a new run, and that the loss plot's picture changed. Any JavaScript
console error fails the test. Screenshots go to test-artifacts/.
"""
import re
import time
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

NOTEBOOK = "lessons/dashboard.ipynb"


def epoch_of(page):
    text = page.locator(".fl-dash .fl-epoch").text_content()
    digits = re.sub(r"\D", "", text)
    assert digits, f"no epoch number in {text!r}"
    return int(digits)


def status_of(page):
    return page.locator(".fl-dash .fl-status").text_content().strip()


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


def exercise_dashboard(page, name):
    """Start, move the learning rate, pause; check the counter, the status and the plot."""
    wait_for(page, lambda: epoch_of(page) >= 30, "the notebook's dash.train(30)", timeout=90)
    page.locator(".fl-dash").scroll_into_view_if_needed()
    shoot(page, f"{name}-1-loaded")
    epoch0 = epoch_of(page)
    plot0 = page.locator(".fl-loss-plot").screenshot()

    page.locator(".fl-start").click()
    wait_for(page, lambda: epoch_of(page) > epoch0 + 2, "training to advance the epochs")
    assert "Training" in status_of(page)

    handle = page.locator(".fl-lr .noUi-handle")
    handle.focus()
    for _ in range(12):               # noUiSlider moves one step per key press
        handle.press("ArrowLeft")
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


def test_dashboard_in_jupyterlab(page, lab_server):
    page.goto(f"{lab_server}/lab/tree/{NOTEBOOK}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=60_000)
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                      && w.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""", timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".fl-dash .fl-epoch", timeout=90_000)
    exercise_dashboard(page, "jupyterlab")


def test_dashboard_in_voila(page, voila_server):
    page.goto(voila_server, timeout=120_000)
    page.wait_for_selector(".fl-dash .fl-epoch", timeout=120_000)
    exercise_dashboard(page, "voila")


def box(page, selector):
    b = page.locator(selector).first.bounding_box()
    assert b is not None, f"{selector} is not visible"
    return b


def test_dashboard_fits_a_laptop_in_jupyterlab(new_page, lab_server, open_in_lab):
    """1440×900 with the file browser open: nothing is clipped on the right, the status line
    sits beside the ▶ button, and the decision boundary starts high on the dashboard."""
    page = new_page(1440, 900)
    try:
        open_in_lab(page, lab_server, NOTEBOOK)
        page.wait_for_selector(".fl-dash .fl-epoch", timeout=90_000)
        wait_for(page, lambda: epoch_of(page) >= 30, "the notebook's dash.train(30)", timeout=90)
        page.locator(".fl-dash").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        panel = page.locator(".jp-NotebookPanel", has=page.locator(".fl-dash")).first.bounding_box()
        dash = box(page, ".fl-dash")
        boxes = {"▶": box(page, ".fl-dash .fl-start"), "status": box(page, ".fl-dash .fl-status"),
                 "learning rate": box(page, ".fl-dash .fl-lr"),
                 "decision boundary": box(page, ".fl-dash .fl-output-plot")}
        shoot(page, "jupyterlab-laptop-1440x900")
        report = "; ".join(f"{k}: x={b['x']:.0f} y={b['y'] - dash['y']:.0f} (from the dashboard's "
                           f"top) w={b['width']:.0f} h={b['height']:.0f}" for k, b in boxes.items())
        report += f"; panel x={panel['x']:.0f}..{panel['x'] + panel['width']:.0f}"
        print(report)
        right = min(panel["x"] + panel["width"], 1440)
        for name, b in boxes.items():
            assert b["x"] >= panel["x"] - 1, f"{name} starts left of the notebook panel: {report}"
            assert b["x"] + b["width"] <= right + 1, f"{name} is clipped on the right: {report}"
        start, status = boxes["▶"], boxes["status"]
        gap = max(status["y"] - (start["y"] + start["height"]), start["y"] - (status["y"] + status["height"]), 0)
        assert gap <= 120, f"the status line is {gap:.0f} px from the ▶ button: {report}"
        top = boxes["decision boundary"]["y"] - dash["y"]
        assert top <= 900, f"the decision boundary starts {top:.0f} px below the dashboard's top"
        assert page.console_errors == [], \
            "JavaScript console errors:\n" + "\n".join(page.console_errors)
    finally:
        page.context.close()       # else JupyterLab's autosave may write the run notebook back
