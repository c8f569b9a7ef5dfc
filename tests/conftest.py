"""Shared pytest set-up for the whole test suite.

Hypothesis profiles
-------------------
``ci``        deterministic: the same examples on every run (``derandomize=True``), no example
              database, and a budget that keeps ``make test`` quick on a 2-core machine.
              Chosen automatically when the ``CI`` environment variable is set (CI sets ``CI=true``).
``dev``       the default elsewhere: random examples, so local runs keep exploring.
``thorough``  many more examples, for an occasional deep run:
              ``HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests``.

``HYPOTHESIS_PROFILE`` overrides the automatic choice. No profile has a deadline: timing on a
shared 2-core machine varies too much for per-example deadlines to mean anything.
"""

import os

# Tests never open windows: draw with matplotlib's Agg backend unless told otherwise.
os.environ.setdefault("MPLBACKEND", "Agg")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


try:
    from hypothesis import settings
except ImportError:  # hypothesis comes with the `test` extra; tests that use it say so themselves
    settings = None

if settings is not None:
    settings.register_profile(
        "ci", derandomize=True, database=None, max_examples=50, deadline=None, print_blob=True
    )
    settings.register_profile("dev", max_examples=50, deadline=None)
    settings.register_profile("thorough", max_examples=1000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if _in_ci() else "dev"))


try:
    import pytest
except ImportError:  # pragma: no cover - pytest runs this file
    pytest = None

if pytest is not None:
    @pytest.fixture
    def no_logged_callback_errors(caplog):
        """Fail the test if a widget callback raised: ipywidgets only logs such exceptions.
        A widget test module uses it with ``pytestmark = pytest.mark.usefixtures(...)``."""
        import logging
        from widgetdriver import callback_errors
        caplog.set_level(logging.DEBUG)
        yield
        bad = callback_errors(caplog.records)
        assert not bad, "a widget callback logged an exception: " + "; ".join(
            r.getMessage() for r in bad)

    @pytest.fixture
    def hint_log(tmp_path, monkeypatch):
        """The exercise checks log their hints to a file of this test's own, never into
        lessons/; the fixture's value is that file's path."""
        path = tmp_path / "exercise_hints.jsonl"
        monkeypatch.setenv("LESSON_CHECKS_LOG", str(path))
        return path
