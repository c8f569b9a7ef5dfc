"""How fluxlite installs: one top-level package, with the folder widgets/ as ``fluxlite.widgets``.

pyproject.toml maps the folder widgets/ to the package ``fluxlite.widgets`` (see the comment
there), so nothing called ``widgets`` lands in site-packages beside other projects. Checked here:

* the wheel holds every module of fluxlite/ and widgets/, all under fluxlite/, none at the top;
* installed from that wheel in a fresh environment and run from elsewhere, ``import fluxlite``
  leaves ipywidgets and matplotlib alone, ``from fluxlite.widgets import ...`` works and
  ``import widgets`` fails;
* the editable install of this checkout (``make venv``) imports ``fluxlite.widgets`` from this
  folder widgets/, from the repository root too, where ./fluxlite comes first on ``sys.path``;
* within one test run each file of widgets/ is one module (its doctests included): two copies
  would mean two registries of running dashboards;
* the lessons import the widgets as ``fluxlite.widgets``.

The wheel is built with the setuptools already installed (``--no-build-isolation``), so no
network is needed.
"""
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WIDGETS = REPO / "widgets"

# Run in a child Python: what `import fluxlite` loads, where fluxlite.widgets comes from, and
# whether a top-level `widgets` exists.
PROBE = """
import sys
import fluxlite
print("after import fluxlite:", sorted(m for m in ("ipywidgets", "matplotlib") if m in sys.modules))
from fluxlite.widgets import GradientExplorer, TrainingDashboard
import fluxlite.widgets
print("fluxlite.widgets:", fluxlite.widgets.__file__)
print("TrainingDashboard:", TrainingDashboard.__module__)
try:
    import widgets
except ModuleNotFoundError as err:
    print("import widgets:", err)
else:
    print("import widgets: found", widgets.__file__)
"""


def probe(python, cwd):
    """Run PROBE with `python` in `cwd`; return its output lines as a dict."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([str(python), "-c", PROBE], cwd=cwd, env=dict(env, MPLBACKEND="Agg"),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return dict(line.split(": ", 1) for line in out.stdout.splitlines())


def modules_in(folder, package):
    """The wheel paths the .py files under `folder` must have inside the wheel."""
    return {f"{package}/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*.py")
            if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the files the build reads (a build in place would leave
    build/ behind, and files left in build/ by an earlier build end up in the wheel)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md", "setup.py", "setup.cfg", "MANIFEST.in"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    for name in ("fluxlite", "widgets"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--no-cache-dir", "-q", "-w", str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    (built,) = (tmp / "dist").glob("fluxlite-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_puts_every_widget_module_under_fluxlite_and_none_at_the_top(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"fluxlite"}, sorted(tops)
    assert not [n for n in names if n.startswith("widgets/")]
    missing = (modules_in(WIDGETS, "fluxlite/widgets") | modules_in(REPO / "fluxlite", "fluxlite")
               ) - set(names)
    assert not missing, (
        f"the wheel lacks {sorted(missing)}: list the folder's package in pyproject.toml's "
        "[tool.setuptools] packages")
    (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["fluxlite"]
    # The shipped data sets still come along (package data of fluxlite).
    shipped = {p.name for p in (REPO / "fluxlite" / "datasets").glob("*.npz")}
    assert shipped and {n.rsplit("/", 1)[-1] for n in names if n.endswith(".npz")} == shipped


@pytest.mark.slow
def test_the_installed_wheel_imports_fluxlite_widgets_and_no_top_level_widgets(wheel, tmp_path):
    # A fresh environment with only the wheel installed; the dependencies (NumPy, ipywidgets,
    # matplotlib, threadpoolctl) are borrowed from this one by a path entry. A path entry does not
    # run the .pth files of its folder, so this checkout's editable install stays out.
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True,
                   timeout=300)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True, check=True,
                               timeout=60).stdout.strip())
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                          "--no-deps", "--no-index", "--no-cache-dir", str(wheel)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    seen = probe(python, outside)
    assert seen["after import fluxlite"] == "[]"
    assert seen["fluxlite.widgets"] == str(site / "fluxlite" / "widgets" / "__init__.py")
    assert seen["TrainingDashboard"].startswith("fluxlite.widgets.dashboard")
    assert seen["import widgets"] == "No module named 'widgets'"


@pytest.mark.parametrize("where", ["repository root", "another folder"])
def test_the_editable_install_imports_fluxlite_widgets_from_the_widgets_folder(where, tmp_path):
    seen = probe(sys.executable, REPO if where == "repository root" else tmp_path)
    assert seen["after import fluxlite"] == "[]"
    assert seen["fluxlite.widgets"] == str(WIDGETS / "__init__.py"), (
        "fluxlite.widgets does not come from this checkout's widgets/: run `make venv`")
    if where == "another folder":  # at the root, the folder widgets/ itself is importable
        assert seen["import widgets"] == "No module named 'widgets'"


def test_importing_the_top_level_widgets_in_a_test_run_fails_and_names_the_fix():
    for name in ("widgets", "widgets.race"):
        with pytest.raises(ModuleNotFoundError) as err:
            importlib.import_module(name)
        assert str(err.value) == (
            "No module named 'widgets': the folder widgets/ installs as the package "
            "fluxlite.widgets; write `from fluxlite.widgets import ...`")


def test_every_file_of_widgets_is_loaded_once_under_its_installed_name():
    # By now pytest has imported every module whose doctests it collected (widgets/ included
    # when the run names it): each file must appear in sys.modules once, as fluxlite.widgets.*.
    import fluxlite.widgets
    import fluxlite.widgets.race  # noqa: F401  (at least one submodule, when run alone)
    by_file = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(WIDGETS):
            by_file.setdefault(Path(file).resolve(), []).append(name)
    assert by_file
    twice = {str(f.relative_to(REPO)): names for f, names in by_file.items() if len(names) > 1}
    assert not twice, f"loaded under two names: {twice}"
    assert all(names[0].startswith("fluxlite.widgets") for names in by_file.values()), by_file
    assert not [n for n in sys.modules if n == "widgets" or n.startswith("widgets.")]


def test_doctests_of_widgets_are_collected_under_the_installed_names():
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", "widgets/race.py", "widgets/__init__.py"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert "widgets/race.py::fluxlite.widgets.race.make_rules" in ids, ids
    assert "widgets/__init__.py::fluxlite.widgets" in ids, ids
    assert all(i.split("::")[1].startswith("fluxlite.widgets") for i in ids), ids


# `from widgets... import` or `import widgets...` in code, in a notebook's JSON (after "\n") or
# in a string of code a test writes out.
TOP_LEVEL_IMPORT = re.compile(r"(?:^|\\n|[;\"'`(]|\s)(from\s+widgets(?:\.\w+)*\s+import\b"
                              r"|import\s+widgets(?:\.\w+)*\b)", re.M)
NOT_SOURCE = {".git", ".venv", "build", "dist", "test-artifacts", ".ipynb_checkpoints",
              "__pycache__", "node_modules", ".hypothesis", ".pytest_cache", ".benchmarks"}


def test_no_file_imports_a_top_level_widgets_package():
    # The import guard of conftest.py only sees this test process; a notebook, a script in
    # bench/ or the code a browser test types into a kernel can only be read.
    found = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in NOT_SOURCE and not d.endswith(".egg-info")]
        for name in files:
            path = Path(root) / name
            if path.suffix not in (".py", ".ipynb", ".md", ".txt", ".cfg", ".toml") and \
                    name not in ("Makefile", "postBuild"):
                continue
            rel = path.relative_to(REPO).as_posix()
            if rel in ("conftest.py", "tests/test_packaging.py"):  # they say it on purpose
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{rel}: {m.group(1)}" for m in TOP_LEVEL_IMPORT.finditer(text)]
    assert not found, "import these from fluxlite.widgets instead:\n" + "\n".join(found)


def lesson_imports():
    """``(notebook, line)`` for every line of a lesson's code that imports the widgets."""
    found = []
    for path in sorted((REPO / "lessons").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                found += [(path.name, m.group(0).strip()) for m in re.finditer(
                    r"^\s*(from|import)\s+(fluxlite\.)?widgets\b.*$", source, re.M)]
    return found


def test_the_lessons_import_the_widgets_as_fluxlite_widgets():
    found = lesson_imports()
    assert found, "no lesson imports a widget: is this the lessons folder?"
    wrong = [f"{nb}: {line}" for nb, line in found if not line.split()[1].startswith("fluxlite.")]
    assert not wrong, "write `from fluxlite.widgets import ...` in:\n" + "\n".join(wrong)


def test_the_lessons_get_the_same_classes_as_fluxlite_widgets():
    import fluxlite.widgets
    import fluxlite.widgets.dashboard
    assert fluxlite.widgets.TrainingDashboard is fluxlite.widgets.dashboard.TrainingDashboard
    checked = 0
    for nb, line in lesson_imports():
        if not line.startswith("from fluxlite.widgets"):
            continue  # reported by the test above
        scope = {}
        exec(line, scope)
        module = importlib.import_module(line.split()[1])
        for name, obj in scope.items():
            if name != "__builtins__":
                assert obj is getattr(fluxlite.widgets, name, getattr(module, name)), (nb, name)
                assert Path(sys.modules[obj.__module__].__file__).resolve().is_relative_to(
                    WIDGETS), (nb, name)
                checked += 1
    assert checked
