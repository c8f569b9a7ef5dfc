"""pytest set-up for every test, doctests in fluxlite/ and widgets/ included.

Some tests press Ctrl-C on purpose (`fluxlite.autodiff.interrupts`, tests/test_interrupts.py).
Python turns SIGINT into KeyboardInterrupt only when it was not ignored at start-up, and some
CI runners and background shells start their jobs with SIGINT ignored. The tests run with
Python's own handler, as in a terminal or a Jupyter kernel, whatever the runner inherited.

The folder widgets/ installs as the package ``fluxlite.widgets`` (see pyproject.toml). pytest
names a module it imports for its doctests after its folders, so widgets/race.py would become
a second module ``widgets.race`` beside ``fluxlite.widgets.race``: two copies of every class and
two registries of running dashboards. Here the doctests of widgets/ import each module under its
installed name instead, and any import of a top-level ``widgets`` fails and says what to write.
"""
import importlib
import signal
import sys
import threading
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, signal.default_int_handler)

WIDGETS_FOLDER = Path(__file__).resolve().parent / "widgets"
WIDGETS_PACKAGE = "fluxlite.widgets"


class _NoTopLevelWidgets:
    """Refuse ``import widgets`` (which the current directory would allow) and name the fix."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "widgets":
            raise ModuleNotFoundError(
                f"No module named 'widgets': the folder widgets/ installs as the package "
                f"{WIDGETS_PACKAGE}; write `from {WIDGETS_PACKAGE} import ...`", name=name)
        return None


if _NoTopLevelWidgets not in sys.meta_path:
    sys.meta_path.insert(0, _NoTopLevelWidgets)


def installed_name(path):
    """The name a .py file under widgets/ imports as: widgets/race.py is fluxlite.widgets.race."""
    parts = Path(path).resolve().relative_to(WIDGETS_FOLDER).with_suffix("").parts
    return ".".join((WIDGETS_PACKAGE, *parts[:len(parts) - (parts[-1] == "__init__")]))


def _import_installed(collector):
    """The module at ``collector.path`` (under widgets/), imported under its installed name."""
    name = installed_name(collector.path)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is None or not (name == err.name or name.startswith(err.name + ".")):
            raise  # something the module imports is missing
        module = None
    found = getattr(module, "__file__", None)
    if found is None or Path(found).resolve() != collector.path.resolve():
        raise ImportError(
            f"{name} should come from {collector.path}, but "
            + (f"comes from {found}" if found else "cannot be imported")
            + ": install this checkout in editable mode (`make venv`) to test it")
    return module


class _InstalledModule(pytest.Module):
    _getobj = _import_installed


class _InstalledDoctestModule(DoctestModule):
    _getobj = _import_installed


_INSTALLED = {pytest.Module: _InstalledModule, DoctestModule: _InstalledDoctestModule}


def pytest_collect_directory(path, parent):
    """widgets/ and its subfolders are plain folders here, not the package ``widgets``.

    (pytest would import widgets/__init__.py as ``widgets`` to look for set-up functions.)
    """
    if path.resolve().is_relative_to(WIDGETS_FOLDER):
        return pytest.Dir.from_parent(parent, path=path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collectors = yield
    if not file_path.resolve().is_relative_to(WIDGETS_FOLDER):
        return collectors
    return [_INSTALLED[type(c)].from_parent(parent, path=file_path) if type(c) in _INSTALLED
            else c for c in collectors]
