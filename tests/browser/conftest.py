"""Browser tests: real JupyterLab, Notebook 7 and Voilà servers, driven in headless Chromium by
Playwright.

* The browser is Debian's ``/usr/bin/chromium`` (``make test`` installs it); Playwright's own
  browser download is never used. Without the browser or the ``playwright`` package, these tests
  are skipped with a message saying what is missing.
* Each server gets a free port on 127.0.0.1, no token, and temporary config, settings,
  workspace and runtime directories, so nothing from the developer's own Jupyter set-up leaks in.
  It runs in its own process group and is always killed, even when a test fails.
* Autosave is off in JupyterLab and Notebook 7 (their settings directory is private), so a
  notebook run by a test is never written back into the repository.
* Every wait is bounded. Every JavaScript console error and uncaught page error is collected,
  and a test fails if there is any. Screenshots and server logs go to ``test-artifacts/``.
"""
import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]

try:
    from playwright import sync_api
except ImportError:
    sync_api = None

if sync_api is None:
    MISSING = ("the playwright package is missing: pip install playwright (never run "
               "`playwright install`: the tests use Debian's /usr/bin/chromium)")
elif not os.access(CHROMIUM, os.X_OK):
    MISSING = f"{CHROMIUM} is missing: install Debian's chromium (make system-deps, as root)"
else:
    MISSING = None


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url, proc, log, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; its log:\n"
                               f"{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except urllib.error.HTTPError:
            return              # the server answered (a 404 for the probe is fine)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s; server log:\n"
                       f"{log.read_text()[-4000:]}")


def _kill_kernels_of(runtime_dir):
    """Kill kernels still running with a connection file in our runtime dir.

    Kernels run in a session of their own, so killing the server's process group does not
    reach them; the server shuts them down on SIGTERM, and this catches any it did not.
    """
    marker = str(runtime_dir).encode()
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)


@contextlib.contextmanager
def jupyter_server(kind, tmp_path, timeout=90):
    """Start ``jupyter lab``, ``jupyter notebook`` (kind "notebook", Notebook 7) or ``voila
    lessons/dashboard.ipynb``, all serving the repository; yield its base URL; kill it."""
    port = free_port()
    home = tmp_path / f"{kind}-home"
    dirs = {name: home / name for name in ("config", "runtime", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # JupyterLab fetches news and update checks from the internet by default: not here.
    notif = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Running a notebook makes it unsaved; autosave (every 120 s by default) would then write
    # the executed notebook, outputs and widget state included, over the lesson.
    docmanager = dirs["settings"] / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTER_PLATFORM_DIRS="1",
               IPYTHONDIR=str(home / "ipython"), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env.pop("JUPYTER_TOKEN", None)
    root_flag = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    if kind == "lab":
        cmd = [str(BIN / "jupyter-lab"), "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={ROOT}", f"--LabApp.user_settings_dir={dirs['settings']}",
               f"--LabApp.workspaces_dir={dirs['workspaces']}", "--LabApp.news_url=",
               "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
               *root_flag]
        probe = f"http://127.0.0.1:{port}/api/status"
    elif kind == "notebook":
        cmd = [str(BIN / "jupyter-notebook"), "--no-browser", f"--port={port}",
               "--ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT}",
               # The page reads its settings from JupyterLab's server extension: both apps
               # get the private directories.
               *(f"--{app}.{name}_dir={dirs[folder]}" for app in ("JupyterNotebookApp", "LabApp")
                 for name, folder in (("user_settings", "settings"), ("workspaces", "workspaces"))),
               "--JupyterNotebookApp.expose_app_in_browser=True", "--LabApp.news_url=",
               "--LabApp.extension_manager=readonly", *root_flag]
        probe = f"http://127.0.0.1:{port}/api/status"
    else:
        cmd = [str(BIN / "voila"), "lessons/dashboard.ipynb", "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--token=", "--Voila.port_retries=0",
               "--VoilaConfiguration.show_tracebacks=True",
               # Notebook 7 installs a JupyterLab-only extension (the "Open in Notebook"
               # buttons); Voilà loads every installed extension, and this one fails in Voilà
               # with a console error ("The getter for the shared module is not a function"),
               # a known Voilà problem that has nothing to do with the dashboard.
               "--VoilaConfiguration.extension_denylist=@jupyter-notebook/lab-extension",
               # nbgrader's (installed for `make student`) expects JupyterLab's file browser
               "--VoilaConfiguration.extension_denylist=@jupyter/nbgrader"]
        probe = f"http://127.0.0.1:{port}/fluxlite-probe"   # any answer means it is up
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{kind}-server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_http(probe, proc, log, timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        _kill_kernels_of(dirs["runtime"])
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def lab_server(browser, tmp_path):
    with jupyter_server("lab", tmp_path) as url:
        yield url


@pytest.fixture
def voila_server(browser, tmp_path):
    with jupyter_server("voila", tmp_path) as url:
        yield url


class ConsoleErrors(list):
    """Every console error and uncaught exception of a page, as text.

    ``known`` holds (message, place) pairs of errors that a Jupyter front end itself raises
    on every page, whatever the notebook: an error whose text contains the message and whose
    source URL or stack contains the place goes to ``skipped`` instead.
    """

    def attach(self, page):
        self.known, self.skipped = [], []
        page.on("console", lambda m: m.type == "error" and self._add(
            f"console.error: {m.text} ({m.location.get('url', '')})", m.location.get("url", "")))
        page.on("pageerror", lambda e: self._add(f"uncaught: {e}", e.stack or ""))
        return self

    def _add(self, text, where):
        known = any(message in text and place in where for message, place in self.known)
        (self.skipped if known else self).append(text)


@pytest.fixture(scope="session")
def browser():
    if MISSING:
        pytest.skip(MISSING)
    (ARTIFACTS / "external-requests.txt").unlink(missing_ok=True)   # this run's list only
    with sync_api.sync_playwright() as p:
        # Playwright hides scrollbars in headless mode; a student's Chromium or Firefox on
        # Linux or Windows shows them, and they take room: so the tests and screenshots do too.
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                              ignore_default_args=["--hide-scrollbars"])
        try:
            yield b
        finally:
            b.close()


def offline(context):
    """Answer requests that leave 127.0.0.1 with an empty response, and list them.

    This machine has no internet. Voilà's page links Font Awesome from a CDN (the dashboard
    uses no icons); without this, the failed download would be a console error that says
    nothing about our code. Every such URL is kept in ``context.external`` and written to
    ``test-artifacts/external-requests.txt``.
    """
    context.external = []

    def answer(route):
        context.external.append(route.request.url)
        kind = route.request.resource_type
        route.fulfill(status=200, body="",
                      content_type="text/css" if kind == "stylesheet" else "text/plain")

    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), answer)
    return context


@pytest.fixture
def page(browser, request):
    context = offline(browser.new_context(viewport={"width": 1500, "height": 1700}))
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.console_errors = ConsoleErrors().attach(pg)
    yield pg
    with contextlib.suppress(Exception):
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    if context.external:
        with open(ARTIFACTS / "external-requests.txt", "a") as f:
            f.write("".join(f"{request.node.name}: {url}\n" for url in context.external))
    context.close()


@pytest.fixture(scope="session")
def shared_lab_server(browser, tmp_path_factory):
    """One JupyterLab server for every test of a session that asks for it (starting one is slow)."""
    with jupyter_server("lab", tmp_path_factory.mktemp("shared-lab")) as url:
        yield url


@pytest.fixture(scope="session")
def shared_notebook7_server(browser, tmp_path_factory):
    """One Notebook 7 server for the session; use it through ``notebook7_server``."""
    with jupyter_server("notebook", tmp_path_factory.mktemp("shared-notebook7")) as url:
        yield url


@pytest.fixture
def notebook7_server(shared_notebook7_server):
    """The shared Notebook 7 server, with no kernel running when the test starts.

    The server keeps one kernel per notebook path: without this, a test opening a notebook
    that an earlier test opened would get the earlier test's kernel and its state.
    """
    base = shared_notebook7_server
    # The server wants its XSRF cookie back in a header on a DELETE; a page sets the cookie.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/tree", timeout=30).close()
    xsrf = {c.name: c.value for c in jar}["_xsrf"]
    with opener.open(f"{base}/api/sessions", timeout=10) as r:
        sessions = json.load(r)
    for session in sessions:
        try:
            opener.open(urllib.request.Request(f"{base}/api/sessions/{session['id']}",
                                               headers={"X-XSRFToken": xsrf}, method="DELETE"),
                        timeout=30).close()
        except urllib.error.HTTPError as e:
            if e.code != 404:            # 404: it ended on its own meanwhile
                raise
    yield base


# Notebook 7.6 itself raises this on every page load, with or without our settings and
# whatever the notebook holds: its keyboard-shortcuts plugin looks up the schema of the
# document manager's settings in a list that does not hold them. The settings still apply
# (the tests check that autosave is off) and nothing on the page changes.
NOTEBOOK7_OWN_ERRORS = [("Cannot read properties of undefined (reading 'schema')",
                         "/static/notebook/notebook_core.")]

KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session
              && w.sessionContext.session.kernel;
    return k && k.status === 'idle';
}"""

AUTOSAVE = """async () => {
    const plugin = await window.jupyterapp.serviceManager.settings.fetch(
        '@jupyterlab/docmanager-extension:plugin');
    return JSON.parse(plugin.raw || '{}').autosave;
}"""


def _open_and_wait_for_kernel(page, url, app, timeout):
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=timeout)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout)
    name = page.evaluate("window.jupyterapp.name")
    assert name == app, f"{url} opened in {name!r}, not in {app}"
    assert page.evaluate(AUTOSAVE) is False, \
        "autosave is on: the run notebook would be written back into the repository"
    assert page.evaluate("window.jupyterapp.commands.hasCommand('notebook:run-all-cells')")


def open_and_run_in_lab(page, base_url, notebook, timeout=90_000):
    """Open `notebook` (a path under the repository) in JupyterLab, wait for its kernel, run all.

    The file browser is opened in the left sidebar, as a student has it.
    """
    _open_and_wait_for_kernel(page, f"{base_url}/lab/tree/{notebook}", "JupyterLab", timeout)
    page.evaluate("window.jupyterapp.commands.execute('filebrowser:activate')")
    page.wait_for_selector(".jp-FileBrowser", state="visible", timeout=10_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def open_and_run_in_notebook7(page, base_url, notebook, timeout=90_000):
    """Open `notebook` in Notebook 7 (its own page, ``/notebooks/...``), wait for its kernel,
    run all cells through the same command JupyterLab has."""
    page.console_errors.known += NOTEBOOK7_OWN_ERRORS
    _open_and_wait_for_kernel(page, f"{base_url}/notebooks/{notebook}", "Jupyter Notebook",
                              timeout)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


@pytest.fixture(scope="session")
def new_page(browser):
    """A function ``new_page(width, height)``: a fresh offline page of that viewport size.

    The page collects its console errors in ``page.console_errors``; every context is closed
    at the end of the session.
    """
    contexts = []

    def make(width=1440, height=900):
        context = offline(browser.new_context(viewport={"width": width, "height": height}))
        context.set_default_timeout(30_000)
        contexts.append(context)
        pg = context.new_page()
        pg.console_errors = ConsoleErrors().attach(pg)
        return pg

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture(scope="session")
def open_in_lab():
    """`open_and_run_in_lab`, for test modules (they cannot import this conftest by name)."""
    return open_and_run_in_lab


@pytest.fixture(scope="session")
def open_in_notebook7():
    """`open_and_run_in_notebook7`, for test modules."""
    return open_and_run_in_notebook7
