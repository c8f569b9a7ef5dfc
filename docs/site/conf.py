"""Sphinx configuration of the course site; `make docs` builds it into build/site/.

The Makefile first copies the pages into build/site-src/ in the repository's own layout
(lessons/*.ipynb, docs/*.md, README.md, CONTRIBUTING.md, plus this folder at the top), so the
relative links between those files work on the site as they do on GitHub. Notebooks are shown
with the outputs stored in them: nothing is executed here.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "fluxlite"
author = "the fluxlite authors"
copyright = "the fluxlite authors"

extensions = [
    "myst_nb",                  # Markdown pages and notebooks (with their stored outputs)
    "sphinx.ext.autodoc",       # the API pages, from the docstrings
    "sphinx.ext.mathjax",
    "fluxlite_site",            # writes api/, links the Rosetta, serves MathJax locally
]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "lessons/lesson_checks"]

# Notebooks: never run, shown as committed. The widget views in them need a live kernel, so
# no widget JavaScript is loaded, and a widget shows the text stored beside it instead (the
# lessons store a line that says to run the cell).
nb_execution_mode = "off"
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# A lesson may go from its title straight to a ### heading, and a stored traceback holds text
# (the message's `code`) that Pygments' traceback lexer stops at; both render fine.
suppress_warnings = ["myst.header", "misc.highlighting_failure"]

# Docstrings are reStructuredText with `name` for names: look them up, say nothing if absent.
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_inherit_docstrings = False
add_module_names = True
python_use_unqualified_type_names = True

html_theme = "sphinx_book_theme"
html_title = "fluxlite: Flux in NumPy"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_css_files = ["fluxlite.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
    "navbar_persistent": [],        # the sidebar has the search box; no second one on top
}
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_copy_source = False

# MathJax 2 from the jupyter-server-mathjax package, copied into _static/mathjax by
# fluxlite_site: no page of the site loads anything from another host.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
myst_update_mathjax = False
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True, "ignoreClass": "document", "processClass": "math"},
    # The package ships the STIX web fonts only (not MathJax's TeX fonts). MathJax's stand-in
    # font for missing glyphs points at about:blank, which Chromium reports as an error on
    # every page; a local() source asks for nothing.
    "HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web",
                 "webFont": "STIX-Web", "imageFont": None,
                 "styles": {"@font-face": {"font-family": "MathJax_Blank",
                                           "src": "local('MathJax_Blank')"}}},
}
