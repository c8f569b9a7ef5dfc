"""`python -m lesson_checks report DIR`: the teacher's misconception table, from hint logs and
from the check cells of collected notebooks."""
import json
import pathlib
import subprocess
import sys

import nbformat

LESSONS = pathlib.Path(__file__).resolve().parents[1] / "lessons"


def log(folder, *entries):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "exercise_hints.jsonl", "a") as f:
        for lesson, number, hint in entries:
            f.write(json.dumps({"time": "2026-01-01T00:00:00+00:00", "lesson": lesson,
                                "exercise": number, "hint": hint}) + "\n")


def notebook(folder, outputs):
    """A collected lesson 1 whose check cells show `outputs` (stream text or an error)."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("from lesson_checks import lesson01 as check"))
    for out in outputs:
        cell = nbformat.v4.new_code_cell("check.translation(g, dg)")
        if out.startswith("✓"):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=out)]
        else:
            cell.outputs = [nbformat.v4.new_output("error", ename="ExerciseNotPassed",
                                                   evalue=out, traceback=[])]
        nb.cells.append(cell)
    nbformat.write(nb, folder / "01_getting_set_up.ipynb")


def report(folder):
    run = subprocess.run([sys.executable, "-m", "lesson_checks", "report", str(folder)],
                         cwd=LESSONS, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_report_counts_students_and_firings(tmp_path):
    log(tmp_path / "ada" / "lessons", ("01", 1, "01.1.caret"), ("01", 1, "01.1.caret"),
        ("01", 1, "passed"), ("02", 1, "02.1.math_sin"))
    log(tmp_path / "ben" / "lessons", ("01", 1, "01.1.caret"), ("01", 1, "01.1.dg_constant"))
    notebook(tmp_path / "cy" / "lessons", [
        "dg gives the same answer at (1, 2) and at (3, 4): ...\n(hint 01.1.dg_constant)",
        "✓ Exercise 2 passed.\n"])
    (tmp_path / "cy" / "lessons" / "notes.txt").write_text("not a record")
    out = report(tmp_path).splitlines()
    assert out[0] == f"Misconceptions in {tmp_path}: 3 student folder(s)"
    rows = [line for line in out if line.startswith("| 0")] + \
        [line for line in out if line.startswith("|  |")]
    assert ("| 01.1 Translate g and take its gradient | 1 | caret | 2 | 3 | Calling g(…, …) "
            "failed with …. Powers are written x**2 in Python: x^2 means something else (bitwise "
            "XOR). |") in out
    assert ("|  |  | dg_constant | 2 | 2 | dg gives the same answer at (…, …) and at (…, …): "
            "pass x and y on to fl.gradient(g, x, y) instead of fixed numbers. |") in out
    assert "| 01.2 Translate four lines of Flux | 1 | (none) | 0 | 0 | |" in out
    assert any(line.startswith("| 02.1 A slope with fluxlite | 0 | math_sin | 1 | 1 |")
               for line in out)
    assert len(rows) == 4


def test_a_notebook_beside_its_log_is_not_counted_twice(tmp_path):
    folder = tmp_path / "ada" / "lessons"
    log(folder, ("01", 1, "01.1.caret"))
    notebook(folder, ["...\n(hint 01.1.caret)"])
    out = report(tmp_path)
    assert "| caret | 1 | 1 |" in out


def test_empty_folder_says_so(tmp_path):
    assert report(tmp_path).splitlines()[-1] == (
        "No check outcomes found (no exercise_hints.jsonl, no checked notebook).")


def test_a_missing_folder_is_refused(tmp_path):
    run = subprocess.run([sys.executable, "-m", "lesson_checks", "report", str(tmp_path / "no")],
                         cwd=LESSONS, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "is not a folder" in run.stderr
