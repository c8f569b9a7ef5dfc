"""What a student reads in the lessons' stored outputs: a cell that fails on purpose shows the
student's own cell and the error message, and no frame of fluxlite's insides; no other cell
stored an error.

nbval compares a lesson's outputs with a fresh run but skips tracebacks, so this reads them."""
import json
import pathlib
import re

import pytest

LESSONS = sorted((pathlib.Path(__file__).resolve().parents[1] / "lessons").glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")
OWN_FRAME = re.compile(r"^File .*(fluxlite|widgets)[/\\]", re.M)


def failing_cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(nb["cells"]):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        tagged = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        yield number, tagged, errors


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_cells_that_fail_on_purpose_show_the_students_cell_and_the_message(path):
    for number, tagged, errors in failing_cells(path):
        where = f"{path.name}, cell {number}"
        if not tagged:
            assert not errors, f"{where} stored an error but is not tagged raises-exception"
            continue
        assert len(errors) == 1, f"{where} is tagged raises-exception but stored no error"
        error = errors[0]
        shown = "\n".join(ANSI.sub("", line) for line in error["traceback"])
        assert re.search(r"^Cell In\[\d+\], line \d+", shown, re.M), \
            f"{where}: the traceback does not show the student's cell:\n{shown}"
        assert not OWN_FRAME.search(shown), \
            f"{where}: the traceback shows fluxlite's own frames:\n{shown}"
        assert f"{error['ename']}: " in shown, f"{where}: the message is missing:\n{shown}"


def test_the_check_can_fail():
    """A traceback through fluxlite's files, as stored before they were hidden, is caught."""
    shown = "Cell In[12], line 2\nFile fluxlite/layers/basic.py:324, in Chain.__call__(self, x)"
    assert OWN_FRAME.search(shown)
    assert not OWN_FRAME.search("Cell In[12], line 2\nLayerShapeError: Dense(3 => 2) expects")


def test_the_start_page_links_every_lesson_and_no_missing_one():
    start = json.loads((LESSONS[0].parent / "00_start_here.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in start["cells"] if c["cell_type"] == "markdown")
    linked = set(re.findall(r"\]\(([\w.-]+\.ipynb)\)", text))
    present = {p.name for p in LESSONS} - {"00_start_here.ipynb"}
    assert present - linked == set(), "lessons the start page does not link"
    assert linked - present == set(), "the start page links notebooks that do not exist"
