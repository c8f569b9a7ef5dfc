"""The course site's API pages (docs/site/_ext/fluxlite_site.py), checked without building it.

`make docs` writes one page per public object of ``fluxlite`` and ``fluxlite.widgets``; each
fluxlite page names the Flux form it mirrors, read from docs/ROSETTA.md. These tests hold that
every public name gets a page and every fluxlite name a Flux line, so a new name cannot reach
the site without them. `make test-docs` builds the site and looks at it in a browser.
"""
import doctest
import sys
from pathlib import Path

import pytest

import fluxlite as fl
import fluxlite.widgets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "site" / "_ext"))
import fluxlite_site as site  # noqa: E402

ROSETTA = (ROOT / "docs" / "ROSETTA.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def groups():
    return site.public_objects()


def test_every_public_name_is_on_exactly_one_page(groups):
    for module, public in (("fluxlite", fl.__all__), ("fluxlite.widgets", fluxlite.widgets.__all__)):
        on_pages = [n for m, names in groups if m == module for n in names]
        assert sorted(on_pages) == sorted(public), module


def test_names_of_one_object_share_a_page_named_in_ascii(groups):
    pages = {tuple(names): site.page_name(names) for m, names in groups}
    assert pages[("σ", "sigmoid")] == "sigmoid"
    assert pages[("Adam", "ADAM")] == "Adam"
    assert all(p.isascii() for p in pages.values())


def test_every_fluxlite_name_has_its_flux_form_and_section():
    rows = site.rosetta_rows(ROSETTA)
    headings = site.rosetta_headings(ROSETTA)
    missing = [n for n in fl.__all__ if n not in rows]
    assert not missing, f"no row of docs/ROSETTA.md gives these a Flux form: {missing}"
    for name in fl.__all__:
        assert all(section in headings for _, section in rows[name]), name
    assert rows["Dense"] == [("`Dense(10 => 5, σ)`", "Layers")]
    assert rows["GRU"][0][0] == "`GRU(2 => 5)`"     # its own span of a row of three
    assert rows["Leaf"][0][0].startswith("see ")     # named only in a row's notes


def test_a_page_carries_its_flux_line_and_the_autodoc_directive():
    text = site.api_page("fluxlite", ["Dense"], site.rosetta_rows(ROSETTA))
    assert text.startswith("# fl.Dense\n")
    assert "**Flux:** `Dense(10 => 5, σ)`" in text
    assert "(../docs/ROSETTA.md#layers)" in text
    assert ".. autoclass:: fluxlite.Dense" in text


def test_the_section_anchors_are_mysts():
    assert site.anchor("fluxlite's own errors") == "fluxlites-own-errors"
    assert site.anchor("Normalisation, dropout and modes") == "normalisation-dropout-and-modes"


def test_the_extensions_examples():
    failures, tried = doctest.testmod(site, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried and not failures
