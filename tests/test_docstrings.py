"""Every public name carries a docstring with a runnable ``>>>`` example, and the README's run.

The tutorial's one complaint about Flux was missing docstrings, so this is a test, not a wish:

* every name in ``fluxlite.__all__`` (and every public name of a submodule listed there) that is
  a function, a class or another callable must have its own docstring with a ``>>>`` example;
* that example must be one ``pytest --doctest-modules`` actually collects, so it really runs in
  ``make test`` (doctest only looks at functions and classes defined in a module, plus a
  module's ``__test__`` dict: a callable *instance* such as a primitive is invisible to it
  unless it is listed in ``__test__``);
* the same holds for ``fluxlite.widgets`` (the folder widgets/; its ``__all__`` if it has one,
  else its public names);
* the ``>>>`` examples in README.md pass.

A package that does not exist yet in this checkout is skipped, saying so. A package that exists
but fails to import is an error, never a skip.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- the checker


def example_problem(obj) -> str | None:
    """Say what is wrong with ``obj``'s documentation, or return None when it has an example."""
    doc = getattr(obj, "__doc__", None)
    doc = doc if isinstance(doc, str) else None
    if not (inspect.isclass(obj) or inspect.isroutine(obj)) and doc is not None:
        if doc == getattr(type(obj), "__doc__", None):
            return (
                f"has only the docstring of its type {type(obj).__name__}; "
                "give this object a docstring of its own"
            )
    if doc is None or not doc.strip():
        return "has no docstring"
    if not doctest.DocTestParser().get_examples(doc):
        return "has a docstring but no `>>>` example"
    return None


def collected_docstrings(package: types.ModuleType) -> set[str]:
    """Docstrings with examples that doctest collects from every module of ``package``.

    This mirrors what ``pytest --doctest-modules`` does: import each module under the package
    and let doctest's finder pick the examples that belong to it.
    """
    modules = [package]
    path = getattr(package, "__path__", None)
    if path is not None:
        for info in pkgutil.walk_packages(path, package.__name__ + "."):
            modules.append(importlib.import_module(info.name))
    found = set()
    finder = doctest.DocTestFinder(exclude_empty=True)
    for module in modules:
        for test in finder.find(module, module.__name__):
            if test.examples and test.docstring:
                found.add(test.docstring)
    return found


def public_objects(module: types.ModuleType, *, require_all: bool, _seen=None):
    """Yield ``(qualified name, object or problem string)`` for the public names of ``module``.

    Names come from ``__all__``; without one (allowed only when ``require_all`` is false) they
    are the names not starting with ``_`` that are defined inside the package. A submodule that
    is itself public is walked the same way.
    """
    _seen = set() if _seen is None else _seen
    if module.__name__ in _seen:
        return
    _seen.add(module.__name__)
    if getattr(module, "__file__", None) is None:
        wanted = " that defines __all__" if require_all else ""
        yield module.__name__, f"is a namespace package: add an __init__.py{wanted}"
        return
    names = getattr(module, "__all__", None)
    if names is None:
        if require_all:
            yield module.__name__, "defines no __all__: list its public names there"
            return
        root = module.__name__.split(".")[0]
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (
                isinstance(v, types.ModuleType)
                and v.__name__.startswith(root + ".")
                or (getattr(v, "__module__", None) or "").split(".")[0] == root
            )
        ]
    for name in names:
        qualified = f"{module.__name__}.{name}"
        if not hasattr(module, name):
            yield qualified, "is listed in __all__ but does not exist"
            continue
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            yield from public_objects(obj, require_all=False, _seen=_seen)
        elif inspect.isclass(obj) or callable(obj):
            yield qualified, obj
        # Plain data (numbers, strings, tuples) cannot carry a docstring of its own.


def offenders(package: types.ModuleType, collected: set[str], *, require_all: bool) -> list[str]:
    """One line per public name of ``package`` that lacks a runnable ``>>>`` example."""
    lines = []
    for name, obj in public_objects(package, require_all=require_all):
        if isinstance(obj, str):
            lines.append(f"{name} {obj}")
            continue
        problem = example_problem(obj)
        if problem is None and obj.__doc__ not in collected:
            home = getattr(obj, "__module__", None) or "?"
            problem = (
                f"has a `>>>` example that pytest --doctest-modules never runs (defined in "
                f"{home}); define it in a module of {package.__name__}, or list its docstring "
                "in that module's __test__ dict"
            )
        if problem is not None:
            lines.append(f"{name} {problem}")
    return sorted(set(lines))


def import_or_skip(name: str) -> types.ModuleType:
    """Import package ``name``; skip only when the package itself does not exist."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:  # the package exists but something it imports is missing
            raise
        pytest.skip(f"{name}/ does not exist in this checkout yet, so there is nothing to check")


# --------------------------------------------------------------------------- the real checks


@pytest.mark.parametrize("package_name, require_all",
                         [("fluxlite", True), ("fluxlite.widgets", False)])
def test_every_public_name_has_a_runnable_docstring_example(package_name, require_all):
    package = import_or_skip(package_name)
    bad = offenders(package, collected_docstrings(package), require_all=require_all)
    assert not bad, (
        f"{len(bad)} public name(s) of {package_name} lack a runnable `>>>` example:\n  "
        + "\n  ".join(bad)
    )


def test_readme_examples_pass():
    import_or_skip("fluxlite")
    text = (REPO / "README.md").read_text(encoding="utf-8")
    # Keep only the lines inside ```pycon / ```python blocks and blank out the rest (fences
    # included), so a closing fence is never read as expected output and line numbers match.
    kept, inside = [], False
    for line in text.splitlines():
        fence = line.strip().startswith("```")
        if fence:
            inside = not inside and line.strip()[3:].strip() in ("pycon", "python")
        kept.append(line if inside and not fence else "")
    source = "\n".join(kept) + "\n"
    test = doctest.DocTestParser().get_doctest(source, {}, "README.md", str(REPO / "README.md"), 0)
    assert test.examples, "README.md should show fluxlite at work with `>>>` examples"
    report: list[str] = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.REPORT_ONLY_FIRST_FAILURE,
        verbose=False,
    )
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "README.md examples failed:\n" + "".join(report)


# --------------------------------------------------------------------------- the checker can fail


def test_checker_reports_a_function_without_a_docstring():
    def undocumented(x):
        return x

    assert example_problem(undocumented) == "has no docstring"


def test_checker_reports_a_docstring_without_an_example():
    def prose_only(x):
        """Return x unchanged."""
        return x

    assert example_problem(prose_only) == "has a docstring but no `>>>` example"


def test_checker_accepts_a_docstring_with_an_example():
    def documented(x):
        """Return x unchanged.

        >>> documented(3)
        3
        """
        return x

    assert example_problem(documented) is None


def test_checker_reports_a_callable_instance_that_only_has_its_class_docstring():
    class Op:
        """A callable operation.

        >>> Op()(1)
        1
        """

        def __call__(self, x):
            return x

    assert "docstring of its type Op" in example_problem(Op())


def _fake_package(monkeypatch):
    """A two-module package with good, bad, missing and uncollected public names."""

    def good(x):
        """Good.

        >>> good(1)
        1
        """
        return x

    def bad(x):
        return x

    def not_run(x):
        """Documented, but doctest never collects it here.

        >>> not_run(1)
        1
        """
        return x

    def worse(x):
        """No example here."""
        return x

    pkg = types.ModuleType("fakepkg")
    pkg.__file__ = "fakepkg/__init__.py"
    sub = types.ModuleType("fakepkg.sub")
    sub.__file__ = "fakepkg/sub.py"
    for f in (good, bad, not_run):
        f.__module__ = "fakepkg"
        setattr(pkg, f.__name__, f)
    worse.__module__ = "fakepkg.sub"
    sub.worse = worse
    sub.__all__ = ["worse"]
    pkg.sub = sub
    pkg.__all__ = ["good", "bad", "not_run", "sub", "gone"]
    monkeypatch.setitem(sys.modules, "fakepkg", pkg)
    monkeypatch.setitem(sys.modules, "fakepkg.sub", sub)
    return pkg, {good.__doc__}


def test_walker_names_every_offender_and_spares_documented_names(monkeypatch):
    pkg, collected = _fake_package(monkeypatch)
    report = "\n".join(offenders(pkg, collected, require_all=True))
    assert "fakepkg.bad has no docstring" in report
    assert "fakepkg.sub.worse has a docstring but no `>>>` example" in report
    assert "fakepkg.gone is listed in __all__ but does not exist" in report
    assert "fakepkg.not_run has a `>>>` example that pytest --doctest-modules never runs" in report
    assert "fakepkg.good " not in report


def test_walker_requires_all_when_asked(monkeypatch):
    pkg, collected = _fake_package(monkeypatch)
    del pkg.__all__
    assert offenders(pkg, collected, require_all=True) == [
        "fakepkg defines no __all__: list its public names there"
    ]
    fallback = "\n".join(offenders(pkg, collected, require_all=False))
    assert "fakepkg.bad has no docstring" in fallback
    assert "fakepkg.sub.worse" in fallback


def test_collected_docstrings_sees_module_functions_and_dunder_test(monkeypatch):
    mod = types.ModuleType("fakemod")

    def shown(x):
        """Shown.

        >>> 1 + 1
        2
        """

    class Instance:
        def __call__(self):
            pass

    inst = Instance()
    inst.__doc__ = ">>> 2 + 2\n4\n"
    shown.__module__ = "fakemod"
    mod.shown, mod.inst = shown, inst
    monkeypatch.setitem(sys.modules, "fakemod", mod)
    assert shown.__doc__ in collected_docstrings(mod)
    assert inst.__doc__ not in collected_docstrings(mod)
    mod.__test__ = {"inst": inst.__doc__}
    assert inst.__doc__ in collected_docstrings(mod)
