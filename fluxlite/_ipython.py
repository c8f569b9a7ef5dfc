"""Short tracebacks in Jupyter and IPython: an error raised in fluxlite shows the student's code.

A student who passes a wrong shape to a layer should see the line of their cell that did it and
the message that says what to do, not eight frames of fluxlite's insides. When fluxlite is
imported in IPython (a Jupyter kernel, the ``ipython`` shell), :func:`install` asks the shell to
hand fluxlite every exception raised by a cell. An error whose traceback passes through fluxlite's
own files (this package, including ``fluxlite.widgets``) is shown without those frames, with one
line saying they were hidden, and so are the errors it was raised from or while handling; every
other error is shown exactly as IPython shows it.

``%xmode Verbose`` brings the hidden frames back (for anyone debugging fluxlite itself), and
``%xmode Context`` hides them again. ``%debug`` and ``sys.last_traceback`` keep the full
traceback. Nothing changes outside IPython: scripts and pytest see ordinary tracebacks.
"""
import os
import sys
import types

#: The line shown where fluxlite's frames were left out.
HIDDEN_NOTE = "[frames inside fluxlite are hidden: %xmode Verbose shows them]\n"


def _package_folders():
    """The folders whose files count as fluxlite's own: the package, and the widgets' folder
    (installed as ``fluxlite.widgets`` but kept in its own folder in a source checkout)."""
    import importlib.util
    folders = [os.path.dirname(os.path.abspath(__file__))]
    try:
        spec = importlib.util.find_spec("fluxlite.widgets")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        folders += [os.path.abspath(p) for p in spec.submodule_search_locations]
    return tuple(os.path.join(f, "") for f in folders)


def _is_own(tb, folders):
    return os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(folders)


def without_own_frames(tb, folders=None):
    """The traceback ``tb`` with fluxlite's own frames left out, and how many were left out.

    The other frames keep their order, code and line numbers. When no frame of ``tb`` is
    fluxlite's, ``tb`` itself comes back, with 0.

    >>> import numpy as np, fluxlite as fl
    >>> try:
    ...     fl.Dense(3, 2)(np.ones((4, 1), np.float32))        # 4 features where 3 are expected
    ... except ValueError as e:
    ...     short, hidden = without_own_frames(e.__traceback__)
    >>> hidden > 0, short.tb_next is None                       # only this line is left
    (True, True)
    """
    folders = _package_folders() if folders is None else folders
    entries, hidden = [], 0
    start = tb
    while tb is not None:
        if _is_own(tb, folders):
            hidden += 1
        else:
            entries.append(tb)
        tb = tb.tb_next
    if not hidden:
        return start, 0
    short = None
    for entry in reversed(entries):
        short = types.TracebackType(short, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return short, hidden


def _chain(value):
    """``value`` and the exceptions it was raised from or while handling, each once."""
    chain = []
    while value is not None and not any(value is seen for seen in chain):
        chain.append(value)
        value = value.__cause__ or (None if value.__suppress_context__ else value.__context__)
    return chain


def _show(shell, etype, value, tb, tb_offset=None):
    """IPython's custom-exception handler: the error as IPython would show it, less fluxlite's
    frames, in the error and in any error it was raised from (see the module docstring)."""
    if issubclass(etype, SyntaxError):               # a cell that does not parse
        shell.showsyntaxerror()
        return None
    chain = _chain(value)
    trimmed = [without_own_frames(tb)] + [without_own_frames(e.__traceback__) for e in chain[1:]]
    short = trimmed[0][0]
    verbose = getattr(shell.InteractiveTB, "mode", "") == "Verbose"
    if not sum(hidden for _, hidden in trimmed) or verbose or short is None or \
            short.tb_next is None:
        # nothing of fluxlite's, frames wanted, or nothing of the student's left to show
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
        return None
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb   # %debug: everything
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    earlier = [(e, e.__traceback__) for e in chain[1:]]
    try:
        for (e, _), (shorter, _) in zip(earlier, trimmed[1:]):   # IPython reads these from e
            if shorter is not None:
                e.__traceback__ = shorter
        stb = shell.InteractiveTB.structured_traceback(etype, value, short, tb_offset=tb_offset)
    finally:
        for e, full in earlier:
            e.__traceback__ = full
    if len(stb) > 1:                                  # Minimal mode has the message only
        stb.insert(len(stb) - 1, "    " + HIDDEN_NOTE)
    shell._showtraceback(etype, value, stb)
    return None


def install(shell=None):
    """Show errors raised inside fluxlite without fluxlite's frames in ``shell`` (by default the
    running IPython, if any). Returns True when installed. It leaves a shell alone that already
    has a custom exception handler, and running it twice changes nothing.

    >>> install()            # in a plain Python session there is no shell to change
    False

    tests/test_short_tracebacks.py shows what a cell's error looks like with it.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None:
            return False
    if getattr(shell, "_fluxlite_short_tracebacks", False):
        return True
    if tuple(getattr(shell, "custom_exceptions", ())) != ():
        return False                                  # somebody else's handler: keep it
    shell.set_custom_exc((Exception,), _show)
    shell._fluxlite_short_tracebacks = True
    return True
