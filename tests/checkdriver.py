"""Feeding mistakes to the lessons' exercise checks (lessons/lesson_checks/).

Each tests/test_checks_lessonNN.py uses `fails` for every hint, and the ``hint_log`` fixture
(tests/conftest.py) so that no test writes its hints into lessons/.
"""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lessons"))
from lesson_checks import ExerciseNotPassed  # noqa: E402


def fails(run, hint_id, text):
    """Run `run()`, which must fail its check with the hint `hint_id` whose text contains
    `text`; return the whole message the student sees."""
    with pytest.raises(ExerciseNotPassed) as info:
        run()
    assert info.value.hint_id == hint_id
    assert text in str(info.value)
    return str(info.value)
