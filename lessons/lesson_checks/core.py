"""The machinery every lesson's checks share: hints, checks, the hint log and the progress summary.

A lesson's module (``lesson01.py`` and so on) declares its exercises with :func:`exercise`. Each
exercise has a number, a title and a table of hints, one per mistake the check can recognise::

    EX1 = exercise("01", 1, "Translate a function", hints={
        "caret": "Calling g failed with {error}. Powers are written x**2 in Python; x^2 is XOR.",
    })

    @EX1.check
    def translation(g):
        ...
        return Hint("caret", error=...)   # a mistake: its hint is shown and recorded
        ...
        return None                       # passed

Calling the decorated function (``translation(g)`` in the notebook's test cell) runs the check,
records the outcome in the hint log and then either prints ``✓ Exercise 1 passed.`` or raises
:class:`ExerciseNotPassed`, an ``AssertionError`` carrying the hint's text and its id, so that
nbgrader's autograder gives the cell no points.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
from dataclasses import dataclass, field

#: The hint log: one JSON object a line, in the folder the notebook runs in (its own folder).
LOG_NAME = "exercise_hints.jsonl"
#: Set this environment variable to another file name to log there, or to "" to log nothing.
LOG_ENV = "LESSON_CHECKS_LOG"


class ExerciseNotPassed(AssertionError):
    """A check found a mistake. The message is the hint; ``hint_id`` names it for the teacher."""

    def __init__(self, hint_id: str, text: str, number: int | None = None):
        super().__init__(f"{text}\n(hint {hint_id})")
        self.hint_id = hint_id
        self.text = text
        self.number = number

    def _render_traceback_(self):
        """What IPython shows for it: the hint, without the check's own source lines."""
        head = f"✗ Exercise {self.number} has not passed yet." if self.number else \
            "✗ Not passed yet."
        return [head, *str(self).splitlines()]


@dataclass
class Hint:
    """What a check returns for a mistake: the key of a hint in the exercise's table, and the
    values its text needs."""
    key: str
    values: dict = field(default_factory=dict)

    def __init__(self, key: str, **values):
        self.key = key
        self.values = values


class Exercise:
    def __init__(self, lesson: str, number: int, title: str, hints: dict[str, str]):
        self.lesson, self.number, self.title = lesson, number, title
        self.hints = dict(hints)

    @property
    def id(self) -> str:
        return f"{self.lesson}.{self.number}"

    def hint_id(self, key: str) -> str:
        return f"{self.id}.{key}"

    def check(self, function):
        """Turn ``function`` (returning a Hint or None) into the check a notebook calls."""
        exercise = self

        def run(*args, **kwargs):
            __tracebackhide__ = True            # IPython and pytest leave this frame out
            outcome = function(*args, **kwargs)
            if outcome is None:
                _record(exercise, "passed")
                # one write, so the kernel sends the line as one piece of output
                sys.stdout.write(f"✓ Exercise {exercise.number} passed.\n")
                return
            text = exercise.hints[outcome.key].format(**outcome.values)
            _record(exercise, outcome.key)
            raise ExerciseNotPassed(exercise.hint_id(outcome.key), text, exercise.number)

        run.__name__ = function.__name__
        run.__qualname__ = function.__qualname__
        run.__doc__ = function.__doc__
        run.exercise = exercise
        REGISTRY.setdefault(exercise.lesson, {})[exercise.number] = exercise
        return run


def exercise(lesson: str, number: int, title: str, hints: dict[str, str]) -> Exercise:
    return Exercise(lesson, number, title, hints)


#: Every exercise of every lesson module imported so far: {lesson: {number: Exercise}}.
REGISTRY: dict[str, dict[int, Exercise]] = {}
#: The latest outcome of each exercise in this kernel: {(lesson, number): "passed" or hint key}.
STATUS: dict[tuple[str, int], str] = {}


def log_path() -> str | None:
    name = os.environ.get(LOG_ENV, LOG_NAME)
    return name or None


def _record(exercise: Exercise, outcome: str) -> None:
    STATUS[(exercise.lesson, exercise.number)] = outcome
    path = log_path()
    if path is None:
        return
    entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "lesson": exercise.lesson, "exercise": exercise.number,
             "hint": "passed" if outcome == "passed" else exercise.hint_id(outcome)}
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
    except OSError:                              # a read-only folder must not break a lesson
        pass


def progress(lesson: str) -> None:
    """Print which of the lesson's exercises have passed in this kernel."""
    exercises = REGISTRY.get(lesson, {})
    done = sum(STATUS.get((lesson, n)) == "passed" for n in exercises)
    lines = [f"Lesson {lesson.lstrip('0')} exercises: {done} of {len(exercises)} passed"]
    for n, ex in sorted(exercises.items()):
        status = STATUS.get((lesson, n))
        if status is None:
            mark, note = "·", "not checked yet: run its check cell"
        elif status == "passed":
            mark, note = "✓", "passed"
        else:
            mark, note = "✗", "not passed yet: see the hint under its check cell"
        lines.append(f"  {mark} Exercise {n}, {ex.title}: {note}")
    sys.stdout.write("\n".join(lines) + "\n")


# Helpers the lessons' checks share.

def fresh_rng(salt: int = 0):
    """A generator of its own, so checks never disturb fl.seed's stream and vary their inputs."""
    import numpy as np
    return np.random.default_rng([20240817, salt])


def call(function, *args):
    """(result, None) or (None, exception): a student's function may raise anything."""
    try:
        return function(*args), None
    except Exception as error:                   # noqa: BLE001 (we report it as a hint)
        return None, error


def kind(value) -> str:
    """How a hint names what the student gave instead: "a float", or "the value ..." for the
    placeholder an exercise cell starts with."""
    return "the value ..." if value is ... else f"a {type(value).__name__}"


def describe(error: BaseException) -> str:
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


class forbid:
    """Within ``with forbid(module, "name"):`` calling module.name raises Forbidden."""

    class Forbidden(Exception):
        pass

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __enter__(self):
        self.saved = getattr(self.module, self.name)

        def refuse(*args, **kwargs):
            raise forbid.Forbidden(self.name)
        setattr(self.module, self.name, refuse)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.saved)
        return False


def as_floats(value) -> list[float] | None:
    """A student's sequence of numbers (list, tuple, array) as a list of floats; None when it is
    something else, a string included."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


class RegressionData:
    """A small linear regression of a check's own, drawn from ``fresh_rng(salt)``: ``n`` samples
    ``xs`` of 5 features, targets ``ys`` of 2 from a hidden (W, b) plus noise, and a start
    ``W0``, ``b0`` for the model that is not the hidden one. The lessons on training subclass it
    with the style of model they need."""

    def __init__(self, salt: int, n: int = 6):
        rng = fresh_rng(salt)
        W, b = rng.random((2, 5)), rng.random(2)
        self.xs = [rng.random(5) for _ in range(n)]
        self.ys = [W @ xi + b + rng.random(2) for xi in self.xs]
        self.W0, self.b0 = rng.random((2, 5)), rng.random(2)


def close(a, b, **kw) -> bool:
    """np.allclose that says False (instead of raising) for shapes that do not match."""
    import numpy as np
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, **kw))


class keep_fl_rng:
    """Within ``with keep_fl_rng():`` fluxlite's random stream may be used; it is put back after,
    so a check never changes the numbers the student's next fl.rand draws."""

    def __enter__(self):
        import fluxlite as fl
        self.state = fl.rng().bit_generator.state
        return self

    def __exit__(self, *exc):
        import fluxlite as fl
        fl.rng().bit_generator.state = self.state
        return False
