"""Running a training loop without blocking the Jupyter kernel.

A widget callback that loops until training ends blocks the kernel: the clicks and slider moves
it should react to queue up until the loop is over. So the dashboard hands its work to a
*runner*, which calls a short function, ``tick(should_stop)``, again and again in the
background. Each tick trains for a fraction of a second, draws one frame and returns ``True``
to be called again (``False`` when training is over).

* `ThreadRunner` calls ``tick`` in a daemon thread. The thread only sets widget traits (an
  image's bytes, a label's text), which works in JupyterLab, Notebook 7, Voilà and on Binder.
* `AsyncioRunner` calls ``tick`` from a task on the kernel's asyncio event loop, awaiting
  between ticks so the kernel handles widget messages in between. It is the only route in
  Pyodide-based JupyterLite, which has no threads.

Both have the same small interface, so the dashboard can swap one for the other:
``start(tick, on_error=None, on_exit=None)``, ``stop(timeout=...)``, ``running`` and
``stopped_at``. An exception raised by ``tick`` ends the run and is passed to ``on_error``
(never swallowed). ``on_exit()`` runs once when the run ends, however it ends.

>>> import time
>>> from fluxlite.widgets import ThreadRunner
>>> calls = []
>>> def tick(should_stop):
...     calls.append(1)
...     return len(calls) < 3          # ask to be called three times
>>> runner = ThreadRunner()
>>> runner.start(tick)
>>> runner.join(timeout=2.0)
True
>>> len(calls), runner.running
(3, False)
"""
import asyncio
import threading
import time

__all__ = ["ThreadRunner", "AsyncioRunner", "make_runner"]


class _Runner:
    """What both runners share: the stop flag, the bookkeeping, and calling the hooks."""

    name = "runner"

    def __init__(self):
        self._stop = threading.Event()
        self._active = False
        self.stopped_at = None   # time.perf_counter() when the last run ended
        self.ticks = 0           # ticks completed in the current (or last) run

    @property
    def running(self):
        """True from `start` until the run has ended."""
        return self._active

    def should_stop(self):
        """True once `stop` has been asked for: a tick checks it between training steps."""
        return self._stop.is_set()

    def _check_idle(self):
        if self._active:
            raise RuntimeError(f"this {type(self).__name__} is already running; call stop() "
                               f"before starting it again.")

    def _one(self, tick, on_error):
        """Run one tick; return whether to go on. Errors go to `on_error` and end the run."""
        try:
            again = tick(self.should_stop)
        except Exception as err:  # noqa: BLE001 - reported through on_error, never dropped
            if on_error is None:
                raise
            on_error(err)
            return False
        self.ticks += 1
        return bool(again) and not self._stop.is_set()

    def _finish(self, on_exit, on_error):
        self.stopped_at = time.perf_counter()
        self._active = False
        if on_exit is not None:
            try:
                on_exit()
            except Exception as err:  # noqa: BLE001
                if on_error is None:
                    raise
                on_error(err)

    def __repr__(self):
        return f"{type(self).__name__}(running={self.running})"


class ThreadRunner(_Runner):
    """Call ``tick(should_stop)`` repeatedly in a daemon thread until it returns False or `stop`.

    `stop` sets a flag that the tick sees between two training steps, then waits for the thread
    to end (at most `timeout` seconds) and returns whether it did. Never print, ``display`` or
    use pyplot from a tick: set widget traits only.

    >>> import time
    >>> from fluxlite.widgets import ThreadRunner
    >>> runner = ThreadRunner()
    >>> runner.start(lambda should_stop: time.sleep(0.01) or True)   # runs until stopped
    >>> runner.running
    True
    >>> runner.stop(timeout=1.0), runner.running
    (True, False)
    """

    name = "thread"

    def __init__(self):
        super().__init__()
        self._thread = None

    def start(self, tick, on_error=None, on_exit=None):
        """Start calling `tick` in a new daemon thread; returns at once."""
        self._check_idle()
        self._stop.clear()
        self._active = True
        self.ticks = 0

        def loop():
            try:
                while self._one(tick, on_error):
                    # a breath between ticks: a lock the tick held is free for a waiting
                    # thread (the kernel's), which would otherwise rarely win it back
                    time.sleep(0.001)
            finally:
                self._finish(on_exit, on_error)

        self._thread = threading.Thread(target=loop, name="fluxlite-training", daemon=True)
        self._thread.start()

    def join(self, timeout=None):
        """Wait until the thread has ended by itself; True if it has (False on timeout)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return not self._active

    def stop(self, timeout=2.0):
        """Ask the thread to stop and wait for it (at most `timeout` s); True once it has ended.

        Called from the training thread itself (a tick that decides to pause), it only sets
        the flag: a thread cannot wait for itself.
        """
        self._stop.set()
        if self._thread is threading.current_thread():
            return False
        return self.join(timeout)


class AsyncioRunner(_Runner):
    """Call ``tick(should_stop)`` from an asyncio task, yielding to the event loop between ticks.

    Start it from code running inside the kernel (a cell or a widget callback): the task goes
    on the kernel's running event loop (`loop`, or the running one). A tick runs to its end
    before anything else happens, so keep ticks short (the dashboard's are one frame, ≈ 0.1 s).
    `stop` only sets the flag, since waiting would block the loop the task needs; the task ends
    after the tick in progress. `task` is the running ``asyncio.Task``.

    >>> import asyncio
    >>> from fluxlite.widgets import AsyncioRunner
    >>> async def main():
    ...     runner = AsyncioRunner()
    ...     runner.start(lambda should_stop: runner.ticks < 4)
    ...     await runner.task
    ...     return runner.ticks
    >>> asyncio.run(main())
    5
    """

    name = "asyncio"

    def __init__(self, loop=None, pause=0.0):
        super().__init__()
        self.loop = loop
        self.pause = pause   # seconds slept between ticks (0 just lets other work run)
        self.task = None

    def start(self, tick, on_error=None, on_exit=None):
        """Schedule the task on the event loop; returns at once."""
        self._check_idle()
        loop = self.loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        if loop is None:
            raise RuntimeError(
                "AsyncioRunner needs a running asyncio event loop, as in a Jupyter kernel. "
                "Outside Jupyter, use ThreadRunner (runner='thread'), or start it from "
                "inside a coroutine run by asyncio.run(...).")
        self._stop.clear()
        self._active = True
        self.ticks = 0

        async def loop_():
            try:
                while self._one(tick, on_error):
                    await asyncio.sleep(self.pause)
            finally:
                self._finish(on_exit, on_error)

        self.task = loop.create_task(loop_())

    def stop(self, timeout=None):
        """Ask the task to end after the tick in progress; True if it has already ended.

        `timeout` is accepted for symmetry with `ThreadRunner.stop` and ignored.
        """
        self._stop.set()
        return not self._active


def make_runner(runner):
    """A runner from its name (``"thread"`` or ``"asyncio"``), or `runner` itself if it is one.

    >>> from fluxlite.widgets import make_runner
    >>> make_runner("thread")
    ThreadRunner(running=False)
    """
    if isinstance(runner, _Runner):
        return runner
    if runner == "thread":
        return ThreadRunner()
    if runner == "asyncio":
        return AsyncioRunner()
    raise ValueError(f"runner must be 'thread', 'asyncio' or a runner object, got {runner!r}. "
                     f"Use 'thread' in JupyterLab, Notebook and Voilà; 'asyncio' in JupyterLite.")
