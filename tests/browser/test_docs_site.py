"""The course site (`make docs`, in build/site/) in headless Chromium, served from 127.0.0.1.

`make test-docs` builds the site first, with warnings as errors, and then runs these:

* every lesson page shows all the plots stored in its notebook, each loaded (naturalWidth > 0),
  and renders its maths with the site's own MathJax;
* the API page of ``Dense`` shows its ``>>>`` example and the Flux name it mirrors, linked to the
  Flux → fluxlite page, whose ``fl.Dense`` links back to it;
* the search page finds ``Dense`` and links its API page.

No page may ask for anything from another host or log a JavaScript error. Screenshots go to
test-artifacts/docs-site/.
"""
import contextlib
import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"
SHOTS = ROOT / "test-artifacts" / "docs-site"
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """The built site's base URL, from a small HTTP server on a free port of 127.0.0.1."""
    if not (SITE / "index.html").exists():
        pytest.fail(f"{SITE.relative_to(ROOT)}/index.html is missing: run `make docs` first "
                    "(`make test-docs` does)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page(new_page):
    """One offline page at 1440 × 900 for the whole module (conftest's `new_page`), without the
    full-page screenshot that conftest's `page` takes after each test: lesson pages are long."""
    pg = new_page(1440, 900)
    yield pg
    pg.close()


def open_page(page, url, shot=None):
    """Go to `url` with this page's lists of errors and outside requests emptied first."""
    page.console_errors.clear()
    page.context.external.clear()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{shot}.png"))


def self_contained(page):
    assert page.context.external == [], (
        f"the page asked another host for: {page.context.external}")
    assert page.console_errors == [], "\n".join(page.console_errors)


def stored_pictures(notebook):
    """How many image outputs the notebook holds, and whether its text has maths."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    images = sum(any(k.startswith("image/") for k in out.get("data", {}))
                 for cell in nb["cells"] for out in cell.get("outputs", []))
    maths = any("$" in "".join(cell["source"]) for cell in nb["cells"]
                if cell["cell_type"] == "markdown")
    return images, maths


def test_the_lessons_are_found():
    assert LESSONS, "no lessons/*.ipynb"


@pytest.mark.parametrize("notebook", LESSONS, ids=[n.stem for n in LESSONS])
def test_a_lesson_page_shows_its_plots_and_maths(page, site, notebook):
    images, maths = stored_pictures(notebook)
    open_page(page, f"{site}/lessons/{notebook.stem}.html")
    assert page.locator("div.cell").count() > 0, "the page shows no notebook cells"
    shown = page.locator("div.cell_output img")
    assert shown.count() == images, (
        f"{notebook.name} stores {images} pictures; the page shows {shown.count()}")
    for i in range(images):
        img = shown.nth(i)
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=img.element_handle(), timeout=10_000)
        width = img.evaluate("img => img.naturalWidth")
        assert width > 0, f"picture {i + 1} of {notebook.name} did not load: {img.get_attribute('src')}"
    if maths and page.locator(".math").count():
        page.wait_for_function(
            "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && "
            "!MathJax.Hub.queue.running && document.querySelector('.MathJax, .MathJax_Display')",
            timeout=20_000)
        assert page.locator(".MathJax_Error, merror").count() == 0, "MathJax could not render"
    if images:
        shown.first.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"lesson-{notebook.stem}.png"))
    self_contained(page)


def test_the_dense_page_shows_its_example_and_its_flux_name(page, site):
    open_page(page, f"{site}/api/fluxlite.Dense.html", shot="api-Dense")
    body = page.locator("article")
    assert "fl.Dense" in body.locator("h1").inner_text()
    example = body.locator("pre", has_text=">>> d = fl.layers.Dense(5, 2)")
    assert example.count() == 1 and example.is_visible(), "the >>> example is not on the page"
    assert "Dense(5 => 2)       # 12 parameters" in example.inner_text()
    flux = body.locator("p", has_text="Flux:")
    assert "Dense(10 => 5, σ)" in flux.inner_text()
    link = flux.locator("a", has_text="Flux → fluxlite")
    assert (link.get_attribute("href") or "").startswith("../docs/ROSETTA.html#layers")
    self_contained(page)


def test_the_translation_table_links_each_name_to_its_api_page(page, site):
    open_page(page, f"{site}/docs/ROSETTA.html", shot="rosetta")
    dense = page.locator("table a", has_text="fl.Dense(10, 5, fl.σ)")
    assert dense.count() == 1
    assert dense.get_attribute("href").endswith("api/fluxlite.Dense.html")
    self_contained(page)


def test_the_search_finds_dense(page, site):
    open_page(page, f"{site}/search.html?q=Dense")
    hit = page.locator("#search-results a[href*='api/fluxlite.Dense.html']")
    hit.first.wait_for(timeout=20_000)
    with contextlib.suppress(Exception):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "search-Dense.png"))
    self_contained(page)
