"""Self-checks for the lessons' exercises, in nbgrader's format.

In a lesson: ``from lesson_checks import lesson01 as check`` and, in each exercise's autograded
test cell, ``check.translation(g, dg)``. A check prints ``✓ Exercise N passed.`` or raises
``ExerciseNotPassed`` (an AssertionError) with a hint tied to the mistake it recognised, and
appends the outcome to ``exercise_hints.jsonl`` in the notebook's folder. ``check.progress()``
prints the lesson's exercises and which passed. For the teacher,
``python -m lesson_checks report DIR`` tabulates the hints in a folder of collected notebooks and
hint logs (see report.py).
"""
from .core import ExerciseNotPassed, Hint, LOG_ENV, LOG_NAME, REGISTRY, STATUS  # noqa: F401
