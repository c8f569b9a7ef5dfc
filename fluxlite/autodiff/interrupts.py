"""Ctrl-C at a safe moment: `atomic`, a block that a KeyboardInterrupt cannot cut in half.

Students stop training with Ctrl-C (in Jupyter: the ■ button, which sends the same signal).
Python turns the signal into a ``KeyboardInterrupt`` between any two steps of Python code, so
an optimiser step that updates five arrays one after another can be stopped after two of
them, and a `gradient` call can be stopped while it is switching the model's arrays back to
plain arrays. The model is then left half-updated or half-traced.

Everything that changes a model or its optimiser state in several steps runs inside
``with atomic:``. While the block runs, a Ctrl-C is held back; when the block ends, the held
``KeyboardInterrupt`` is raised, so training stops at a consistent point, a moment later.

How: the outermost block puts a small handler (`_hold`) in place of Python's own SIGINT
handler, which only notes the signal, and puts Python's handler back when it ends. Outside
these short blocks, Ctrl-C behaves exactly as usual.

Only the main thread receives signals, so in other threads (a dashboard training in the
background) the block does nothing.

>>> import _thread
>>> from fluxlite.autodiff.interrupts import atomic
>>> done = []
>>> try:
...     with atomic:
...         _thread.interrupt_main()   # as if Ctrl-C were pressed now
...         done.append("first half")
...         done.append("second half")
... except KeyboardInterrupt:
...     print("interrupted after", done)
interrupted after ['first half', 'second half']
"""
import signal as _signal_module
import threading

try:  # the C functions behind the `signal` module: about 50 times quicker to call
    from _signal import getsignal as _getsignal, signal as _setsignal
except ImportError:  # pragma: no cover - other Pythons
    _getsignal, _setsignal = _signal_module.getsignal, _signal_module.signal

__all__ = ["atomic"]

_SIGINT = _signal_module.SIGINT
_MAIN = threading.main_thread().ident
_get_ident = threading.get_ident


class _Atomic:
    """The type of `atomic`: a reusable, re-entrant ``with`` block that holds back Ctrl-C.

    >>> from fluxlite.autodiff.interrupts import atomic
    >>> with atomic:
    ...     with atomic:          # blocks nest; Ctrl-C waits for the outermost one
    ...         atomic.depth
    2
    """

    __slots__ = ("depth", "saved", "pending")

    def __init__(self):
        self.depth = 0        # how many `with atomic:` blocks the main thread is inside
        self.saved = None     # the SIGINT handler to put back when the outermost block ends
        self.pending = False  # a Ctrl-C arrived inside the block

    def __enter__(self):
        if _get_ident() == _MAIN:
            if not self.depth:
                self.pending = False
                handler = _getsignal(_SIGINT)
                # Only a Python handler turns Ctrl-C into an exception; with SIG_IGN or
                # SIG_DFL there is nothing to hold back.
                if callable(handler) and handler is not _hold:
                    self.saved = handler
                    _setsignal(_SIGINT, _hold)
            self.depth += 1
        return self

    def __exit__(self, *exc):
        if _get_ident() == _MAIN:
            self.depth -= 1
            if not self.depth:
                handler = self.saved
                if handler is not None:
                    self.saved = None
                    _setsignal(_SIGINT, handler)
                if self.pending:  # read after the handler is back: no signal slips between
                    self.pending = False
                    (handler or _signal_module.default_int_handler)(_SIGINT, None)
        return False


def _hold(signum, frame):
    """The SIGINT handler while a block runs: note the signal; the block's end acts on it."""
    atomic.pending = True


atomic = _Atomic()
