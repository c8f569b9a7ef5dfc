"""Self-checks for the lessons' exercises, in nbgrader's format.

In a lesson: ``from lesson_checks import lesson01 as check`` and, in each exercise's autograded
check cell, ``check.translation(g, dg)``. A check prints ``✓ Exercise N passed.`` or raises
``ExerciseNotPassed`` (an AssertionError, so nbgrader gives the cell no points) with a hint tied
to the mistake it recognised, and appends the outcome to ``exercise_hints.jsonl`` in the
notebook's folder (``LESSON_CHECKS_LOG`` names another file; empty means no log).
``check.progress()`` prints the lesson's exercises and which passed. For the teacher,
``python -m lesson_checks report DIR`` tabulates the hints in a folder of collected notebooks and
hint logs (report.py).

How a lesson adopts the checks
------------------------------
1. Write ``lesson_checks/lessonNN.py`` after lesson01.py: for each exercise
   ``EXk = exercise("NN", k, "title", hints={key: text, ...})`` and a function decorated with
   ``@EXk.check`` that returns ``Hint(key, **values)`` for a mistake it recognises, or None.
   Ask for functions where the exercise allows it, and call them on inputs of the check's own
   (``fresh_rng(salt)``), so a constant or a copied value cannot pass; compare with a reference
   *computed* from those inputs, never with a number written down. Use ``call`` for the
   student's code, ``forbid(fl, "update_")`` where a function is not allowed, and
   ``keep_fl_rng()`` around anything that draws from fluxlite's random stream. End the module
   with ``def progress(): _progress("NN")``.
2. In the notebook (edit it with nbformat): one cell ``from lesson_checks import lessonNN as
   check``; per exercise an answer cell with the metadata
   ``{"nbgrader": {"solution": true, "grade": false, "grade_id": "lNN-exK-answer",
   "locked": false, "schema_version": 3, "task": false}}`` whose code sits between
   ``### BEGIN SOLUTION`` and ``### END SOLUTION`` and prints nothing; then a check cell with
   ``{"nbgrader": {"solution": false, "grade": true, "grade_id": "lNN-exK-check",
   "locked": true, "points": 1, "schema_version": 3, "task": false}}`` holding only
   ``check.name(student, names)`` followed by the answer-revealing asserts between
   ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. Give the exercise's names their own
   spelling (not ones the lesson uses elsewhere), and let no later lesson cell depend on them:
   in the student version those cells raise NotImplementedError. No separate solution cell.
3. Last cells: a short "Your exercises" heading and ``check.progress()``.
4. ``tests/test_checks_lessonNN.py`` after test_checks_lesson01.py: one case per hint that feeds
   its mistake and asserts its id and text, a right answer, and the test that every hint key has
   a case, and ``ANSWERS``: strings of the lesson's answers, which tests/test_nbgrader.py looks
   for in the student version. The lesson joins the nbgrader tests by itself once it has
   solution cells.
5. Re-execute the lesson with its solutions (the stored outputs show ✓ lines only) and run
   nbval, ``pytest tests/test_checks_lessonNN.py tests/test_nbgrader.py`` and ``make student``.
"""
from .core import ExerciseNotPassed, Hint, LOG_ENV, LOG_NAME, REGISTRY, STATUS  # noqa: F401
