"""``python -m lesson_checks report DIR``: a misconception table for the teacher.

DIR is a folder of collected work, for example nbgrader's ``submitted/`` (one folder per
student) or ``autograded/``. Every ``exercise_hints.jsonl`` below DIR (each check's outcome, in
order, as the student ran it) and every ``*.ipynb`` (the hint or ✓ its check cells show now)
counts. A student is the folder that holds the file, relative to DIR, so work collected per
student is counted per student. The table lists, for each exercise, how many students passed
it, and for each hint how many students met it and how often it fired in all.
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict

from .core import LOG_NAME

HINT_RE = re.compile(r"\(hint (\d+[a-z]?)\.(\d+)\.(\w+)\)")
PASS_RE = re.compile(r"✓ Exercise (\d+) passed\.")
LESSON_RE = re.compile(r"lesson_checks import lesson(\d+[a-z]?)\b")


def _lesson_modules():
    """Import every lesson's check module, so hint texts and titles are known."""
    import importlib
    import pkgutil
    from . import __path__ as package_path
    for info in pkgutil.iter_modules(package_path):
        if re.fullmatch(r"lesson\d+[a-z]?", info.name):
            importlib.import_module(f"{__package__}.{info.name}")


def _notebook_events(path):
    """(lesson, exercise, hint or 'passed') for each check cell's current output."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    source = lambda c: "".join(c.get("source", ""))            # noqa: E731
    lessons = {m.group(1) for c in cells for m in LESSON_RE.finditer(source(c))}
    lesson = lessons.pop() if len(lessons) == 1 else None
    for cell in cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) if out.get("output_type") == "stream" else \
                str(out.get("evalue", ""))
            for m in HINT_RE.finditer(text):
                yield m.group(1), int(m.group(2)), f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
            if lesson is not None:
                for m in PASS_RE.finditer(text):
                    yield lesson, int(m.group(1)), "passed"


def _log_events(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                e = json.loads(line)
                yield str(e["lesson"]), int(e["exercise"]), str(e["hint"])
            except (ValueError, KeyError, TypeError):
                continue                          # a torn or foreign line: skip it


def collect(folder):
    """{(lesson, exercise): {"passed": set(students), hint_id: [set(students), count]}}."""
    table = defaultdict(lambda: {"passed": set(), "hints": defaultdict(lambda: [set(), 0])})
    students = set()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        student = os.path.relpath(root, folder)
        logged = LOG_NAME in files
        for name in sorted(files):
            path = os.path.join(root, name)
            if name == LOG_NAME:
                events, from_log = _log_events(path), True
            elif name.endswith(".ipynb"):
                events, from_log = _notebook_events(path), False
            else:
                continue
            for lesson, number, hint in events:
                students.add(student)
                entry = table[(lesson, number)]
                if hint == "passed":
                    entry["passed"].add(student)
                    continue
                seen, count = entry["hints"][hint]
                seen.add(student)
                # A folder with a log counts firings from the log; the notebook only shows
                # the latest outcome, which the log already holds.
                entry["hints"][hint] = [seen, count + (1 if from_log or not logged else 0)]
    return table, students


def report(folder) -> str:
    from .core import REGISTRY
    _lesson_modules()
    table, students = collect(folder)
    lines = [f"Misconceptions in {folder}: {len(students)} student folder(s)", ""]
    if not table:
        return "\n".join(lines + ["No check outcomes found (no exercise_hints.jsonl, no checked "
                                  "notebook)."])
    lines += ["| exercise | passed | hint | students | times | hint text |",
              "|---|---|---|---|---|---|"]
    for (lesson, number) in sorted(table):
        entry = table[(lesson, number)]
        ex = REGISTRY.get(lesson, {}).get(number)
        name = f"{lesson}.{number} {ex.title}" if ex else f"{lesson}.{number}"
        passed = len(entry["passed"])
        hints = sorted(entry["hints"].items(), key=lambda kv: (-len(kv[1][0]), -kv[1][1], kv[0]))
        if not hints:
            lines.append(f"| {name} | {passed} | (none) | 0 | 0 | |")
        for k, (hint_id, (seen, count)) in enumerate(hints):
            key = hint_id.rsplit(".", 1)[1]
            text = ex.hints.get(key, "") if ex else ""
            text = " ".join(text.split("\n")).replace("|", "\\|")
            text = re.sub(r"\{[^}]*\}", "…", text)
            lines.append(f"| {name if k == 0 else ''} | {passed if k == 0 else ''} | {key} | "
                         f"{len(seen)} | {count} | {text} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m lesson_checks")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="tabulate the hints found in a folder of collected work")
    rep.add_argument("folder")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.folder):
        parser.error(f"{args.folder} is not a folder")
    print(report(args.folder))
    return 0
