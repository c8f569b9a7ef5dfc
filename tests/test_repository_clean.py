"""The tracked files read well on anyone's machine: no machine paths, tracker numbers or team talk.

fluxlite is read by people who were not there when it was written, on machines that are not
ours. Three kinds of text mean nothing to them, so this test refuses them in every file that
``git ls-files`` lists (code, comments, tests, docs, and the stored outputs of the notebooks):

**Absolute paths of one machine.** A path under a user's home folder (on Linux, macOS or
Windows), under the root user's home, in the workspace folders these files were written in, or
a concrete temporary file or folder. System paths that are the same everywhere are documented on
purpose and allowed: Debian's chromium, the null device, the kernel's cpuinfo. A path only counts
where a path can start (after a space, a quote, a bracket, ``=``, ``:`` or ``file://``), so the
path part of a URL is not one. Write paths relative to the repository, or ``~`` for the home
directory. `RULES` spells out each pattern.

**Numbers on our own tracker.** The words issue, bug, PR or ticket followed by a number, and a
hash sign with digits after a word that points at a tracker (see, fixes, closes and the like).
Other projects' issues are fine to cite: name them so that a reader can find them, as
``owner/repo#123`` or by URL (a line with an ``http(s)://`` link is taken as a citation). A bare
hash sign with digits elsewhere is no tracker reference and is allowed: hex colours, and the
tape entries lesson 6 prints.

**Words about who did what, and when.** Notes addressed to the people who wrote the code rather
than to its readers: the word "session" after this, that, previous, last, next, earlier or later;
a person called "lead"; other "helpers"; notes and machines said to belong to a team or to be
shared; and paths out of the repository into team material. Ordinary programming words stay
allowed: a Jupyter or pytest session, a helper function. Where a text does mean the running Python process, say so
("this kernel session", "since the kernel started").

Base64 payloads in notebooks (``"image/png": ...`` lines) and binary files are not read. This
file is scanned too: its examples are assembled from pieces (`S`, `W`) so that it holds none of
the texts it refuses. The tests at the end plant each kind of text in a copy of the repository
and check that it is found, and that the allowed forms are not.
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
S = "/"  # a path separator: the examples and patterns below are built with it


def W(*words):
    """Words joined by spaces: the refused phrases, assembled where this file needs them."""
    return " ".join(words)


# Where a path can start: not in the middle of a word, a URL or another path.
_START = r"(?:(?<![\w.~/\\-])|(?<=file://))"

RULES = [
    ("machine path", re.compile(
        _START + "(?:" + "|".join([S + r"work(?:/|\b)", S + "check" + S, S + r"root(?:/|\b)",
                                   S + r"home/[\w.-]+", S + r"Users/[\w.-]+", S + r"tmp/[\w.-]",
                                   S + "var" + S + "folders" + S, S + "private" + S + "var" + S])
        + ")"
        r"|\b[A-Za-z]:[\\/]+(?:Users|Documents and Settings)\b")),
    ("tracker number", re.compile(
        r"(?i)\b(?:issues?|tickets?|bugs?|pull requests?|tracker(?: items?)?)\s*(?:no\.?\s*)?#?\d+\b"
        r"|\bPRs?\s*#?\d+\b"
        r"|(?i:\b(?:see|fixes|fixed|fix|closes|closed|close|resolves|resolved|refs?|addresses|per)"
        r"\s+#\d+\b)")),
    ("who did what", re.compile(
        r"(?i)\b(?:this|that|the previous|previous|last|next|earlier|later|an earlier|a later)"
        r"\s+session\b(?!\s*(?:fixture|scope))"
        r"|\bsession\s+#?\d+\b"
        r"|\b(?:the|tell the|ask the|our)\s+lead\b(?!-|\s+(?:to|in|of|time)\b)"
        r"|\b(?:another|other|fellow)\s+helpers?\b(?!\s+(?:functions?|methods?|modules?|class))"
        r"|\bthe\s+team's\b|\bour\s+team\b|\bshared\s+notes\b"
        r"|\.\./shared/")),
]

# A line with a link cites something outside: tracker words there name another project's issue.
_LINK = re.compile(r"https?://")
# Lines of a notebook that hold base64 images: not text, and random letters could match.
_PAYLOAD = re.compile(r'^\s*"(?:image/|application/pdf)')
# What starts a line that continues a sentence: indentation, comment and quote marks.
_CONTINUATION = re.compile(r'^[\s#"*>]*')


def problems_in_text(text):
    """``(line number, rule, matched text)`` for each problem in `text`.

    >>> found = problems_in_text(f"ok\\nsee {S}home{S}alice/data.npz and {W('issue', '3')}\\n")
    >>> [(n, rule) for n, rule, _ in found]
    [(2, 'machine path'), (2, 'tracker number')]
    >>> problems_in_text('"#0072B2", /usr/bin/chromium, numpy/numpy#123, https://x.org/home/y/')
    []
    >>> found = problems_in_text("measured on the\\n# " + "team's machine")  # over two lines
    >>> [(n, rule) for n, rule, _ in found]
    [(1, 'who did what')]
    """
    lines = [("" if _PAYLOAD.match(line) else line) for line in text.splitlines()]
    found = []
    for n, line in enumerate(lines, 1):
        # A phrase may run on into the next line ("on the" / "team's machine"): read the line
        # with the start of the next one, and report what starts on this line.
        after = _CONTINUATION.sub("", lines[n]) if n < len(lines) else ""
        joined = f"{line} {after}"
        for name, rule in RULES:
            if name == "tracker number" and _LINK.search(joined):
                continue
            for m in rule.finditer(joined):
                if m.start() < len(line):
                    found.append((n, name, m.group(0)))
    return found


def tracked_files(root):
    """The files git tracks under `root`, relative to it (None when `root` is no git checkout)."""
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                              timeout=60, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [p for p in done.stdout.decode().split("\0") if p]


def read_text(path):
    """The text of `path`, or None for a binary file (a NUL byte, or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def scan(root):
    """One ``file:line: rule: text`` string per problem in the tracked files under `root`."""
    files = tracked_files(root)
    if files is None:
        pytest.skip(f"{root} is not a git checkout, so there is no list of tracked files")
    report = []
    for rel in files:
        path = Path(root) / rel
        if not path.is_file():  # (a file deleted but not yet committed)
            continue
        text = read_text(path)
        if text is None:
            continue
        report += [f"{rel}:{n}: {name}: {what!r}" for n, name, what in problems_in_text(text)]
    return report


# --------------------------------------------------------------------------- the repository

def test_tracked_files_hold_no_machine_paths_tracker_numbers_or_team_talk():
    report = scan(ROOT)
    assert not report, (
        f"{len(report)} line(s) of the tracked files would mean nothing to a reader elsewhere "
        f"(see this test's docstring for the rules and what to write instead):\n"
        + "\n".join(report))


# --------------------------------------------------------------------------- the test can fail

PLANTED = {
    "machine path": [f"data = np.load('{S}home{S}alice/mnist.npz')",
                     f"cd {S}work{S}main && make test",
                     f"see file://{S}root{S}notes.txt",
                     f"written to {S}tmp{S}tmpab12cd/out.png",
                     "C:" + "\\" + "Users" + "\\" + "bob" + "\\" + "fluxlite",
                     f"{S}Users{S}carol/src/fluxlite"],
    "tracker number": [W("as asked in issue", "3"), W("fixed by PR", "#7"), W("see", "#12 for why"),
                       W("Bug", "4: the loss went NaN")],
    "who did what": [W("done in this", "session"), W("tell the", "lead when it passes"),
                     W("another", "helper is editing the lessons"),
                     W("the", "team's", "shared", "notes"), f"read ..{S}shared{S}seed/ first"],
}

ALLOWED = [
    "the browser is Debian's /usr/bin/chromium; output goes to /dev/null",
    "grep -qw avx2 /proc/cpuinfo",
    'colours = ("#0072B2", "#D55E00")',
    "#3  numpy.add       (#2, #1)  →  shape (2,)",
    "reported upstream as numpy/numpy#12345",
    "see https://github.com/FluxML/Flux.jl/issues/1234 " + W("(issue", "1234 there)"),
    f"https://example.org{S}home{S}alice/ is a URL, not a path",
    "a pytest fixture with scope='session'; a Jupyter session of its own",
    W("the exercises that passed in this kernel", "session"),
    "a helper function of the loop; the helpers below",
    "fluxlite/layers/checks.py:114, in check_size",
    W("lead to a NaN; the", "lead-in of the lesson"),
]


@pytest.fixture(scope="module")
def copy_of_repository(tmp_path_factory):
    """The tracked files, copied into a fresh git checkout."""
    files = tracked_files(ROOT)
    if files is None:
        pytest.skip(f"{ROOT} is not a git checkout")
    dest = tmp_path_factory.mktemp("repository")
    for rel in files:
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, dest / rel)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


def test_every_planted_line_is_found_with_its_file_line_and_rule(copy_of_repository):
    before = set(scan(copy_of_repository))
    planted = [(name, line) for name, lines in PLANTED.items() for line in lines]
    text = "# planted\n" + "\n".join(line for _, line in planted) + "\n"
    (copy_of_repository / "docs").mkdir(exist_ok=True)
    (copy_of_repository / "docs" / "PLANTED.md").write_text(text)
    subprocess.run(["git", "add", "docs/PLANTED.md"], cwd=copy_of_repository, check=True)
    new = sorted(set(scan(copy_of_repository)) - before)
    found = {(int(r.split(":")[1]), r.split(": ")[1]) for r in new}
    assert all(r.startswith("docs/PLANTED.md:") for r in new), new
    missed = [(name, line) for k, (name, line) in enumerate(planted, 2)
              if (k, name) not in found]
    assert not missed, f"planted lines the scan did not report: {missed}"
    with pytest.raises(AssertionError,
                       match=re.escape(f"docs/PLANTED.md:2: machine path: '{S}home{S}alice'")):
        report = scan(copy_of_repository)
        assert not report, "\n".join(report)


def test_a_stored_notebook_output_is_read_but_its_images_are_not(copy_of_repository):
    nb = copy_of_repository / "lessons" / "planted.ipynb"
    nb.write_text('{\n "cells": [\n  {\n   "outputs": [\n    {\n     "data": {\n'
                  f'      "image/png": "iVBORw0KGgo+{S}work{S}AAAA+{S}root{S}AA",\n'
                  f'      "text/plain": ["FileNotFoundError: {S}home{S}dave/lessons/x.npz"]\n'
                  '     }\n    }\n   ]\n  }\n ]\n}\n')
    subprocess.run(["git", "add", "lessons/planted.ipynb"], cwd=copy_of_repository, check=True)
    mine = [r for r in scan(copy_of_repository) if r.startswith("lessons/planted.ipynb")]
    assert mine == [f"lessons/planted.ipynb:8: machine path: '{S}home{S}dave'"]


@pytest.mark.parametrize("line", ALLOWED)
def test_documented_system_paths_colours_citations_and_ordinary_words_pass(line):
    assert problems_in_text(line) == []


def test_binary_files_are_skipped_and_untracked_files_are_not_read(copy_of_repository):
    (copy_of_repository / "weights.npz").write_bytes(f"PK\x03\x04\0\0{S}home{S}erin/".encode())
    (copy_of_repository / "notes.txt").write_text(f"cd {S}work{S}main\n")  # never added to git
    subprocess.run(["git", "add", "weights.npz"], cwd=copy_of_repository, check=True)
    assert not [r for r in scan(copy_of_repository)
                if r.startswith(("weights.npz", "notes.txt"))]
