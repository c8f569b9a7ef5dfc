"""The lessons as an nbgrader course: `nbgrader generate_assignment` makes a student version
with no solution, no hidden test and no output, and `nbgrader autograde` gives the instructor
version full marks and the blank student version none.

Every lesson in lessons/ with nbgrader solution cells takes part, with lessons/lesson_checks,
as the assignment "lessons" of a course in a temporary folder, configured by the repository's
nbgrader_config.py (what `make student` does). The two submissions are autograded one after
the other, each in its own copy of that course. No network is needed."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
ASSIGNMENT = "lessons"
NBGRADER = [sys.executable, "-m", "nbgrader"]
# nbgrader runs the `alembic` command of its environment by name (to check the gradebook's
# schema), so that environment's bin/ goes first on PATH even when no venv is activated.
ENV = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                             os.environ.get("PATH", "")]))


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def graded_lessons():
    found = []
    for path in sorted(LESSONS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(meta(c).get("solution") for c in nb.cells):
            found.append(path)
    return found


GRADED = graded_lessons()
def answers(lesson):
    """What an answer looks like in lesson `lesson` ("01", ...): none of it may reach the student
    version. Each lesson's check tests list them as ANSWERS in tests/test_checks_lessonNN.py
    (kept out of lessons/lesson_checks/, which the students get)."""
    import importlib
    try:
        return importlib.import_module(f"test_checks_lesson{lesson}").ANSWERS
    except (ImportError, AttributeError):
        return None


def nbgrader(*args, cwd=ROOT, **kw):
    return subprocess.run([*NBGRADER, *args, "--log-level=WARN"], cwd=cwd, env=ENV,
                          capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    assert GRADED, "no lesson has nbgrader solution cells"
    root = tmp_path_factory.mktemp("course")
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copytree(LESSONS / "lesson_checks", source / "lesson_checks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in GRADED:
        shutil.copy(path, source / path.name)
    run = nbgrader("generate_assignment", ASSIGNMENT, f"--CourseDirectory.root={root}",
                   timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return root


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """Autograde the instructor version (the lessons themselves) and the blank student version,
    each in its own copy of the course. {student: {notebook: (score, max)}}."""
    from nbgrader.api import Gradebook
    roots = {}
    for student, version in ("instructor", "source"), ("blank", "release"):
        root = tmp_path_factory.mktemp(f"course-{student}")
        shutil.copytree(course, root, dirs_exist_ok=True)
        shutil.copytree(root / version / ASSIGNMENT, root / "submitted" / student / ASSIGNMENT)
        roots[student] = root
    # One after the other: two autogrades at once start their kernels at the same moment, and
    # two kernels can then draw the same free TCP port ("Address already in use"), which leaves
    # one kernel silent and its run failed.
    scores = {}
    for student, root in roots.items():
        run = subprocess.run([*NBGRADER, "autograde", ASSIGNMENT, f"--CourseDirectory.root={root}",
                              "--log-level=WARN"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=600)
        out = run.stdout
        assert run.returncode == 0, out
        with Gradebook(f"sqlite:///{roots[student] / 'gradebook.db'}") as gb:
            scores[student] = {}
            for path in GRADED:
                s = gb.find_submission_notebook(path.stem, ASSIGNMENT, student)
                scores[student][path.stem] = (s.score, s.max_score)
    return scores, roots


def solution_lines(cell_source):
    """The code lines between ### BEGIN SOLUTION and ### END SOLUTION."""
    lines, inside = [], False
    for line in cell_source.splitlines():
        if line.strip() == "### BEGIN SOLUTION":
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_student_version_holds_no_solution_and_no_output(course, path):
    source = nbformat.read(path, as_version=4)
    student = nbformat.read(course / "release" / ASSIGNMENT / path.name, as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    # every line of a solution is gone, unless the lesson has it outside the solutions too
    elsewhere = {line.strip() for c in source.cells if not meta(c).get("solution")
                 for line in c.source.splitlines()}
    student_lines = {line.strip() for line in text.splitlines()}
    solutions = [line for c in source.cells if meta(c).get("solution")
                 for line in solution_lines(c.source)]
    assert solutions
    leaked = [line for line in solutions if line in student_lines and line not in elsewhere]
    assert leaked == []
    lesson = path.name.split("_")[0]
    listed = answers(lesson)
    assert listed, ("list the lesson's answer strings as ANSWERS in "
                    f"tests/test_checks_lesson{lesson}.py")
    for answer in listed:
        assert answer not in text, answer
    # the answer cells hold nbgrader's stub, and no cell keeps an output
    stubs = [c.source for c in student.cells if meta(student.cells[0]) is not None
             and meta(c).get("solution")]
    assert stubs and all(s.endswith("# YOUR CODE HERE\nraise NotImplementedError()") for s in stubs)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    # the check cells are locked, with their points
    checks = [c for c in student.cells if meta(c).get("grade")]
    assert checks and all(meta(c)["locked"] and meta(c)["points"] > 0 for c in checks)


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_source_shows_no_answer_in_its_check_cells_or_outputs(path):
    """A student reading the lesson as stored (outputs and all) sees ✓ lines, not answers."""
    nb = nbformat.read(path, as_version=4)
    checks = [c for c in nb.cells if meta(c).get("grade")]
    for number, cell in enumerate(checks, start=1):
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0].strip()
        # one call with the student's names, nothing the answer could hide in
        assert re.fullmatch(r"check\.\w+\(\w+(, \w+)*\)", visible), visible
        assert all(o.output_type == "stream" for o in cell.outputs)
        assert "".join(o.text for o in cell.outputs) == f"✓ Exercise {number} passed.\n"
        assert meta(cell)["locked"] and meta(cell)["points"] > 0
    for cell in nb.cells:
        if meta(cell).get("solution"):
            assert cell.outputs == [], "a solution cell shows an output"
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


def test_grade_ids_are_unique_across_the_lessons():
    ids = [meta(c)["grade_id"] for path in GRADED
           for c in nbformat.read(path, as_version=4).cells if meta(c)]
    assert len(ids) == len(set(ids))


def test_autograde_full_marks_for_the_instructor_version(graded):
    scores, _ = graded
    for notebook, (score, max_score) in scores["instructor"].items():
        assert max_score > 0 and score == max_score, notebook


def test_autograde_zero_for_the_blank_student_version(graded):
    scores, _ = graded
    for notebook, (score, max_score) in scores["blank"].items():
        assert max_score > 0 and score == 0, notebook


def test_report_on_the_autograded_folder(graded):
    """The checks logged each outcome next to the graded notebooks; the report reads them."""
    scores, roots = graded
    folder = roots["instructor"] / "autograded"
    log = folder / "instructor" / ASSIGNMENT / "exercise_hints.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries and all(e["hint"] == "passed" for e in entries)
    run = subprocess.run([sys.executable, "-m", "lesson_checks", "report", str(folder)],
                         cwd=LESSONS, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if re.match(r"\| \d\d[a-z]?\.\d ", line)]
    assert len(rows) == sum(m for _, m in scores["instructor"].values())
    assert all("| 1 | (none) | 0 | 0 |" in row for row in rows)


def test_make_student_runs_generate_assignment():
    run = subprocess.run(["make", "-n", "student"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert re.search(r"nbgrader generate_assignment lessons --CourseDirectory.root=\S+", run.stdout)
    assert "build/student" in run.stdout
