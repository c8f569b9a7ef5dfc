"""The course site's own Sphinx extension: API pages, Flux names, links and offline maths.

* ``api/``: one page per public object of ``fluxlite`` and ``fluxlite.widgets`` (their
  ``__all__``), written before Sphinx reads the sources. Each page shows the docstring (its
  ``>>>`` example and its maths) through autodoc and, above it, the Flux name it mirrors, taken
  from the tables of ``docs/ROSETTA.md``. Names that are one object (``fl.σ`` and
  ``fl.sigmoid``) share a page. ``api/index.md`` lists them under the table's headings.
* ``docs/ROSETTA.md``: every code span that starts with a public ``fl.<name>`` becomes a link
  to that name's API page, as the page is read (the file itself stays plain Markdown).
* MathJax is served from the site itself (the ``jupyter-server-mathjax`` package ships it), so
  the maths renders with no network, on a student's laptop as on GitHub Pages.
"""
import importlib
import inspect
import re
import shutil
from pathlib import Path

ROSETTA = "docs/ROSETTA"            # the translation table's document name in the site
_SPAN = re.compile(r"`([^`\n]+)`")
# The first fl.<name> of a code span; fl.layers.vcat (a name inside a module) does not count.
_LEAD = re.compile(r"(?<![\w.])fl\.(\w+)(?![\w.])")


# --------------------------------------------------------------------------- the public names


def public_objects():
    """[(module, [names that are one object])] for fluxlite and fluxlite.widgets, in
    ``__all__`` order; names bound to the same object are grouped, first name first."""
    import fluxlite
    import fluxlite.widgets
    groups = []
    for module in (fluxlite, fluxlite.widgets):
        seen = {}
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen:
                seen[id(obj)].append(name)
            else:
                seen[id(obj)] = [name]
                groups.append((module.__name__, seen[id(obj)]))
    return groups


def page_name(names):
    """The page's file name: the first name written in ASCII (``sigmoid`` before ``σ``)."""
    return next((n for n in names if n.isascii()), names[0])


# --------------------------------------------------------------------------- the Flux names


def rosetta_rows(text):
    """{fluxlite name: [(Flux cell, section heading)]} from the tables of the Rosetta page.

    A row's Flux form goes to each name that leads a code span of its fluxlite cell. When both
    cells hold the same number of code spans, each name gets only its own span.

    >>> rows = rosetta_rows('''### Layers
    ... | Flux (Julia) | fluxlite (Python) | notes |
    ... |---|---|---|
    ... | `RNN(2 => 5)`, `GRU(2 => 5)` | `fl.RNN(2, 5)`, `fl.GRU(2, 5)` | stateful |
    ... | `hardσ`, `hardsigmoid` | `fl.hardsigmoid` | |
    ... ''')
    >>> rows["GRU"], rows["hardsigmoid"]
    ([('`GRU(2 => 5)`', 'Layers')], [('`hardσ`, `hardsigmoid`', 'Layers')])
    """
    found, notes, heading, header = {}, {}, "", None
    for line in text.splitlines():
        if line.startswith("#"):
            heading, header = line.lstrip("#").strip(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set("".join(cells)) <= set("-: ") or len(cells) < 2:
            continue
        theirs = _SPAN.findall(cells[0])
        ours = [m.group(1) for m in map(_LEAD.search, _SPAN.findall(cells[1])) if m]
        for i, name in enumerate(ours):
            if "Flux" not in header[0]:
                flux = None                 # a table of fluxlite's own (its errors)
            elif len(theirs) == len(ours) and not _SPAN.sub("", cells[0]).strip(" ,;"):
                flux = f"`{theirs[i]}`"
            else:
                flux = cells[0]
            entry = (flux, heading)
            if entry not in found.setdefault(name, []):
                found[name].append(entry)
        # A name met only in a row's notes (`fl.Leaf` beside `fl.setup`) is sent to that row.
        for cell in cells[2:]:
            for name in (m.group(1) for m in map(_LEAD.search, _SPAN.findall(cell)) if m):
                notes.setdefault(name, (f"see {cells[0]}" if "Flux" in header[0] else None,
                                        heading))
    for name, entry in notes.items():
        found.setdefault(name, [entry])
    return found


def rosetta_headings(text):
    """The section headings of the Rosetta page, in order."""
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def anchor(heading):
    """The HTML id MyST gives a heading (``myst_heading_anchors``)."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower(), flags=re.U)
    return re.sub(r"\s+", "-", slug.strip())


# --------------------------------------------------------------------------- writing the pages


def _directive(module, name, obj):
    if inspect.ismodule(obj):
        return f"```{{eval-rst}}\n.. automodule:: {obj.__name__}\n   :no-members:\n```\n"
    kind = "autoclass" if inspect.isclass(obj) else "autofunction"
    options = "\n   :members:" if kind == "autoclass" else ""
    return f"```{{eval-rst}}\n.. {kind}:: {module}.{name}{options}\n```\n"


def api_page(module, names, rows):
    """The Markdown of one API page."""
    mod = importlib.import_module(module)
    short = "fl" if module == "fluxlite" else "fluxlite.widgets"
    obj = getattr(mod, names[0])
    main = page_name(names)
    title = ", ".join(f"{short}.{n}" for n in [main] + [n for n in names if n != main])
    out = [f"# {title}\n"]
    if module == "fluxlite":
        flux = []
        for n in names:
            flux += [r for r in rows.get(n, []) if r not in flux]
        if flux:
            forms = "; ".join(dict.fromkeys(f for f, _ in flux if f)) or "no counterpart"
            section = flux[0][1]
            out.append(f"**Flux:** {forms}. In the table: [Flux → fluxlite, {section}]"
                       f"(../{ROSETTA}.md#{anchor(section)}).\n")
        if len(names) > 1:
            out.append("Also written " + ", ".join(f"`fl.{n}`" for n in names if n != main)
                       + ": the same object.\n")
    else:
        out.append("A widget of `fluxlite.widgets` (no Flux counterpart); it needs the "
                   "`widgets` extra.\n")
    out.append(_directive(module, main, obj))
    if inspect.ismodule(obj):
        out.append(_module_members(obj))
    return "\n".join(out)


def _module_members(mod):
    """A module's page lists its names: links to the top-level pages, autodoc for the rest."""
    import fluxlite
    names = getattr(mod, "__all__", [])
    top = {id(getattr(fluxlite, n)): n for n in fluxlite.__all__}
    linked = [f"[`{top[id(getattr(mod, n))]}`]({_file(top[id(getattr(mod, n))])}.md)"
              for n in names if id(getattr(mod, n)) in top]
    own = [n for n in names if id(getattr(mod, n)) not in top]
    out = []
    if linked:
        out.append("Also at the top level, each on its own page: " + ", ".join(linked) + ".\n")
    if own:
        out.append("```{eval-rst}\n" + "\n".join(
            f".. auto{'class' if inspect.isclass(getattr(mod, n)) else 'function'}:: "
            f"{mod.__name__}.{n}" for n in own) + "\n```\n")
    return "\n".join(out)


_PAGES = {}


def _file(name):
    return _PAGES.get(name, f"fluxlite.{name}")


def api_index(groups, rows, headings):
    """api/index.md: the names under the Rosetta's headings, then the widgets."""
    import fluxlite
    sections = {h: [] for h in headings}
    for module, names in groups:
        main = page_name(names)
        if module == "fluxlite":
            heading = next((r[0][1] for r in (rows.get(n) for n in names) if r), "Other names")
        else:
            heading = "Widgets (`fluxlite.widgets`)"
        short = "fl" if module == "fluxlite" else "fluxlite.widgets"
        doc = inspect.getdoc(getattr(importlib.import_module(module), names[0])) or ""
        first = doc.strip().split("\n\n")[0].replace("\n", " ")
        first = first.replace("|", "\\|")
        label = ", ".join(f"`{short}.{n}`" for n in [main] + [n for n in names if n != main])
        sections.setdefault(heading, []).append(
            f"| [{label}]({_PAGES[(module, main)]}.md) | {first} |")
    out = ["# API reference\n",
           f"Every public name of `fluxlite` ({len(fluxlite.__all__)} names, `fluxlite.__all__`) "
           "and of `fluxlite.widgets`, each with its docstring, its example and the Flux name "
           f"it mirrors. The headings follow [Flux → fluxlite](../{ROSETTA}.md).\n"]
    toc = []
    for heading, lines in sections.items():
        if not lines:
            continue
        out += [f"## {heading}\n", "| name | what it is |", "|---|---|", *lines, ""]
    for module, names in groups:
        toc.append(_PAGES[(module, page_name(names))])
    out += ["```{toctree}", ":hidden:", "", *toc, "```", ""]
    return "\n".join(out)


def _write(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_api_pages(app):
    src = Path(app.srcdir)
    text = (src / f"{ROSETTA}.md").read_text(encoding="utf-8")
    rows = rosetta_rows(text)
    groups = public_objects()
    api = src / "api"
    api.mkdir(exist_ok=True)
    for module, names in groups:
        main = page_name(names)
        _PAGES[(module, main)] = f"{module}.{main}"
        if module == "fluxlite":
            for n in names:
                _PAGES[n] = f"{module}.{main}"
    wanted = {"index.md"}
    for module, names in groups:
        file = f"{_PAGES[(module, page_name(names))]}.md"
        wanted.add(file)
        _write(api / file, api_page(module, names, rows))
    _write(api / "index.md", api_index(groups, rows, rosetta_headings(text)))
    for stale in api.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()


# --------------------------------------------------------------------------- Rosetta links


def link_rosetta(app, docname, source):
    """Turn each code span of the Rosetta page that starts with a public ``fl.<name>`` into a
    link to that name's API page (spans inside fenced blocks are left alone)."""
    if docname != ROSETTA:
        return
    text = source[0]
    parts = re.split(r"(^```.*?^```)", text, flags=re.S | re.M)

    def link(match):
        lead = _LEAD.search(match.group(1))
        if not lead or lead.group(1) not in _PAGES:
            return match.group(0)
        return f"[{match.group(0)}](../api/{_PAGES[lead.group(1)]}.md)"

    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"(?<!\[)`([^`\n]+)`", link, parts[i])
    source[0] = "".join(parts)


# --------------------------------------------------------------------------- offline MathJax


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    import jupyter_server_mathjax
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "MathJax.js").exists():
        shutil.copytree(static, target, dirs_exist_ok=True)


def setup(app):
    app.connect("builder-inited", write_api_pages)
    app.connect("source-read", link_rosetta)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
