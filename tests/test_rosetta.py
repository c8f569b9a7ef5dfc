"""docs/ROSETTA.md, the Flux → fluxlite table, stays true as the package changes.

* every public name (``fluxlite.__all__``) appears on the page as ``fl.<name>``, so a new name
  cannot be added without saying what Flux calls it;
* every ``fl.`` name written on the page, inside a code span, exists (``fl.nnlib.conv`` is looked
  up attribute by attribute), so a renamed or removed name cannot linger there;
* in a table whose fluxlite column is headed "with its defaults", every keyword written in a
  call such as ``fl.Adam(eta=0.001, ...)`` is a parameter of that function, with that default.

The last three tests feed the checks a page with mistakes planted in it.
"""
import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import fluxlite as fl

PAGE = Path(__file__).resolve().parents[1] / "docs" / "ROSETTA.md"
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+)`")
_NAME = re.compile(r"(?<![\w.])fl\.(\w+(?:\.\w+)*)")


def written_names(text):
    """The dotted names after ``fl.`` in the code spans of `text`, in order, each once.

    >>> written_names("use `fl.Dense(2, 3)` or `fl.nnlib.conv`; not fl.ignored outside code")
    ['Dense', 'nnlib.conv']
    >>> written_names("```python\\nfl.seed(0)\\n```\\nthen `fl.rand(2)`")   # code blocks too
    ['seed', 'rand']
    """
    fences = _FENCE.findall(text)
    names = []
    for span in fences + _SPAN.findall(_FENCE.sub("", text)):
        for name in _NAME.findall(span):
            if name not in names:
                names.append(name)
    return names


def resolve(dotted):
    """The object `fl.<dotted>` names, or None when there is none.

    >>> resolve("nnlib.conv") is fl.nnlib.conv, resolve("Densse")
    (True, None)
    """
    obj = fl
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    return obj


def missing_names(text):
    """Names of ``fluxlite.__all__`` that `text` never writes as ``fl.<name>``."""
    written = {n.split(".")[0] for n in written_names(text)}
    return [n for n in fl.__all__ if n not in written]


def unknown_names(text):
    """``fl.`` names written in `text` that fluxlite does not have."""
    return [f"fl.{n}" for n in written_names(text) if resolve(n) is None]


def _tables(text):
    """Each markdown table of `text` as (header cells, rows of cells)."""
    tables, header, rows = [], None, []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif header is not None:
            tables.append((header, rows))
            header, rows = None, []
    return tables


def _value(node):
    """A keyword's value as written: a literal, or ``np.<name>``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "np":
        return getattr(np, node.attr)
    return ast.literal_eval(node)


def wrong_defaults(text):
    """One line per keyword, in the "with its defaults" tables of `text`, that is not the default."""
    problems = []
    for header, rows in _tables(text):
        if len(header) < 2 or "defaults" not in header[1]:
            continue
        for row in rows:
            for span in _SPAN.findall(row[1]):
                if not span.startswith("fl.") or "(" not in span:
                    continue
                call = ast.parse(span, mode="eval").body
                func = resolve(ast.unparse(call.func)[len("fl."):])
                if func is None:
                    problems.append(f"{span}: no such function")
                    continue
                params = inspect.signature(func).parameters
                for kw in call.keywords:
                    if kw.arg not in params:
                        problems.append(f"{span}: {kw.arg}= is no parameter of it")
                    elif _value(kw.value) != params[kw.arg].default:
                        problems.append(f"{span}: {kw.arg}= defaults to "
                                        f"{params[kw.arg].default!r}, not {_value(kw.value)!r}")
    return problems


# --------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def page():
    return PAGE.read_text(encoding="utf-8")


def test_every_public_name_is_in_the_table(page):
    missing = missing_names(page)
    assert not missing, (f"docs/ROSETTA.md does not mention these public names; add a row "
                         f"with the Flux name for each: {', '.join('fl.' + n for n in missing)}")


def test_every_fluxlite_name_in_the_table_exists(page):
    assert not unknown_names(page), (
        f"docs/ROSETTA.md names these, but fluxlite has no such thing: {unknown_names(page)}")


def test_the_defaults_written_in_the_table_are_fluxlites(page):
    assert not wrong_defaults(page), "\n".join(wrong_defaults(page))


def test_the_defaults_tables_check_something(page):
    checked = [header for header, _ in _tables(page) if "defaults" in header[1]]
    assert len(checked) >= 2  # the optimisation rules and the losses


# --------------------------------------------------------------------------- the checks can fail

PLANTED = """
| Flux | fluxlite (Python), with its defaults | notes |
|---|---|---|
| `Adam(η = 0.001)` | `fl.Adam(eta=0.01, beta=(0.9, 0.999))` | |
| `mse` | `fl.mse(ŷ, y, agg=np.sum, ag=np.mean)` | |
| `Dense` | | `fl.Densse(2, 3)` and `fl.nnlib.convv` |
"""


def test_a_page_without_a_public_name_is_refused():
    missing = missing_names(PLANTED)
    assert "Dense" in missing and "gradient" in missing and "Adam" not in missing


def test_a_name_fluxlite_does_not_have_is_refused():
    assert unknown_names(PLANTED) == ["fl.Densse", "fl.nnlib.convv"]


def test_a_wrong_default_and_an_unknown_keyword_are_refused():
    assert wrong_defaults(PLANTED) == [
        "fl.Adam(eta=0.01, beta=(0.9, 0.999)): eta= defaults to 0.001, not 0.01",
        f"fl.mse(ŷ, y, agg=np.sum, ag=np.mean): agg= defaults to {np.mean!r}, not {np.sum!r}",
        "fl.mse(ŷ, y, agg=np.sum, ag=np.mean): ag= is no parameter of it",
    ]
