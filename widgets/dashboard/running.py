"""How `TrainingDashboard` runs its trainer: `train` and `step` in the cell, `start` and `pause`
in the background (a thread, or an asyncio task: see `fluxlite.widgets.runners`), `reset` and
new runs, all or nothing, and the history of runs.

Each tick of the runner trains for one frame's budget (``1/fps`` minus the last frame's cost)
and then draws a frame. At most one dashboard of a kernel trains at a time: starting one pauses
the others, which say why. The runner holds the dashboard weakly, so a dashboard nobody holds
is collected and its thread stops; at interpreter exit every thread is stopped first.
"""
import atexit
import contextlib
import time
import weakref

from ..runners import ThreadRunner
from .data import features_apply
from .output import output_mode
from .settings import fmt, one_blas_thread
from .trainer import check_epochs

# Every open dashboard of this kernel (held weakly): at most one of them trains at a time.
_DASHBOARDS = weakref.WeakSet()


class Running:
    """`train`, `step`, `start`, `pause`, `toggle` and `reset` for a dashboard with a `trainer`,
    a `runner` and a `screen`.

    The dashboard provides ``trainer``, ``runner``, ``fps``, ``screen``, ``panel``, the
    buttons, ``_set_status``, ``_status_level``, ``_render``, ``_report`` and the bookkeeping
    of ``hold`` (``_suspended``, ``_dirty``).

    >>> from fluxlite.widgets.dashboard import TrainingDashboard
    >>> dash = TrainingDashboard(dataset="xor", seed=0)
    >>> dash.start(); dash.running
    True
    >>> dash.pause(); dash.running
    False
    """

    _restart = False               # start again when the runner ends (a change while running)
    _preempted = None              # why another dashboard took over, to say when paused

    def _join(self):
        """Register with the kernel's dashboards, pausing any that trains."""
        for other in list(_DASHBOARDS):  # a re-run cell leaves no old dashboard training
            if other.running:
                other._preempt("a new dashboard was made")
        _DASHBOARDS.add(self)

    def _leave(self):
        _DASHBOARDS.discard(self)

    @property
    def running(self):
        """True while training runs in the background."""
        return self.runner.running

    def train(self, epochs=1):
        """Train `epochs` more epochs synchronously (pausing a background run first); redraw once.

        Stops early if training diverges or is not learning (see `Trainer.not_learning`).
        Returns the current run's history (a list of records).

        >>> from fluxlite.widgets.dashboard import TrainingDashboard
        >>> dash = TrainingDashboard(dataset="xor", seed=0)
        >>> len(dash.train(3)), dash.epoch, dash.status
        (3, 3, 'Trained to epoch 3.')
        """
        check_epochs(epochs)
        self.pause()
        with self._lock:
            if self.run.diverged:
                self._new_run("New run: the last one diverged.")
            self.trainer.train(epochs)
            if not self.trainer.halted:
                self._set_status(f"Trained to epoch {self.epoch}.")
            self._render()
        return list(self.history)

    def step(self):
        """Train one epoch (the step button); returns its record, or None if it diverged."""
        run, before = self.run, self.epoch
        self.train(1)
        return self.history[-1] if self.epoch > (before if self.run is run else 0) else None

    def reset(self, reason=None):
        """Start a fresh run with new weights (from the seed); the old run joins the history.

        A change of settings (`reason`) while training runs keeps it running, on the new run.
        """
        was_running = self.running
        self.pause()
        if reason is None:
            self._new_run(f"New run: weights re-initialised from seed {self.seed.value}.")
            return
        self._new_run(f"Model reset: {reason}, so this is a new run with fresh weights. "
                      + ("Training goes on." if was_running else "Press ▶ to train."), "warn")
        if was_running:
            if self.running:           # a runner that ends after its tick (asyncio)
                self._restart = True
            else:
                self._start(keep_status=True)

    # ------------------------------------------------------------------ runs

    def _new_run(self, message, level="info"):
        """Archive the current run (if it trained) and set up fresh data, weights and state.

        All or nothing: the new run is built completely first and only then replaces the
        current one. If building fails, the controls go back to the current run's settings,
        which goes on unchanged, and the error is raised (the status line shows it).
        """
        with self._lock:
            try:
                self.trainer.new_run(self.panel.settings())
            except Exception as err:
                self._suspended += 1
                try:
                    self.panel.restore(self._run_controls, self._rules)
                finally:
                    self._suspended -= 1
                    self._dirty = None
                raise RuntimeError(f"the new settings could not be built ({type(err).__name__}: "
                                   f"{err}). The controls are back as they were, and run "
                                   f"#{self.run.number} goes on unchanged.") from err
            self._after_new_run(message, level)

    def _after_new_run(self, message, level="info"):
        self._run_controls = self.panel.settings()
        self.start_button.description = "▶"
        self.start_button.remove_class("fl-running")
        fixed = self.trainer.fixed_model()
        self.panel.sync_model(fixed)
        self.panel.sync_data(features_apply(self.data, fixed), self.data.n_in,
                             output_mode(self.data) == "boundary")
        self._update_model_text()
        self._set_status(message, level)
        self._render()

    # ------------------------------------------------------------------ history

    def clear_history(self):
        """Forget the earlier runs (they leave the loss plot); the current run stays."""
        with self._lock:
            self.trainer.clear_history()
            self.screen.loss_view.forget()
            self._set_status("History cleared.")
            self._render()

    def _toggle_run(self, number, change):
        with self._lock:
            for r in self.runs:
                if r.number == number:
                    r.visible = bool(change["new"])
            self.screen.redraw_losses(self.trainer)

    def _tick(self, should_stop):
        """One frame of background training: train for the frame's budget, then draw."""
        trainer = self.trainer
        with self._lock:
            budget = max(0.015, 1.0 / self.fps - self.screen.frame_cost)
            deadline = time.perf_counter() + budget
            while not should_stop() and not trainer.halted:
                trainer.step()
                if time.perf_counter() >= deadline:
                    break
            if should_stop() or trainer.halted:
                return False
            self._render(live=True)
            return True

    def start(self):
        """Start training in the background (the ▶ button); a diverged run is replaced first."""
        self._start()

    def _start(self, keep_status=False):
        if self.running:
            return
        if self.run.diverged:
            self._new_run("New run: the last one diverged.")
            keep_status = False
        self.trainer.stalled = False
        self.start_button.description = "❚❚"
        self.start_button.add_class("fl-running")
        if not keep_status:
            self._set_status(f"Training… ({self.optimizer.value}, learning rate "
                             f"{fmt(self.lr.value)}). Move the sliders while it runs.")
        for other in list(_DASHBOARDS):
            if other is not self and other.running:
                other._preempt("another dashboard started training")
        # The BLAS limit is set and restored in the thread that trains: threadpoolctl's restore
        # from another thread was seen to leave the limit in place.
        blas, entered = one_blas_thread(), []
        ref = weakref.ref(self)      # the thread holds the dashboard only during a tick

        def tick(should_stop):
            if not entered:
                blas.__enter__()
                entered.append(True)
            dash = ref()
            return False if dash is None else dash._tick(should_stop)

        def on_error(err):
            dash = ref()
            if dash is not None:
                dash._report("training", err)

        def on_exit():
            if entered:
                blas.__exit__(None, None, None)   # the BLAS thread limit, as it was before
            dash = ref()
            if dash is not None:
                dash._runner_exit()

        self.runner.start(tick, on_error=on_error, on_exit=on_exit)

    def _preempt(self, why):
        """Pause because another dashboard trains now (at most one trains at a time)."""
        self._preempted = why
        self.pause()
        if not self.running:
            self._preempted = None
            self._set_status(self._preempted_status(why))

    def _preempted_status(self, why):
        return (f"Paused at epoch {self.epoch}: {why}, and one dashboard trains at a time. "
                f"Press ▶ to go on here.")

    def pause(self, timeout=2.0):
        """Stop background training (waits for the thread to end, at most `timeout` s)."""
        self._restart = False
        if self.running:
            self.runner.stop(timeout=timeout)

    def toggle(self):
        """Start if paused, pause if running: what the ▶ / ❚❚ button does."""
        if self.running:
            self.pause()
        else:
            self.start()

    def _runner_exit(self):
        with self._lock:
            self.start_button.description = "▶"
            self.start_button.remove_class("fl-running")
            restart, self._restart = self._restart, False
            if restart and self._status_level != "error":
                self._start(keep_status=True)
                return
            preempted, self._preempted = self._preempted, None
            if preempted:
                self._set_status(self._preempted_status(preempted))
            elif not self.trainer.halted and self._status_level != "error":
                self._set_status(f"Paused at epoch {self.epoch}. Press ▶ to go on.")
            self._render()

    def __del__(self):
        # a dashboard nobody holds any more stops its thread (which only holds it weakly)
        runner = self.__dict__.get("runner")
        if runner is not None:
            runner.stop(timeout=0) if isinstance(runner, ThreadRunner) else runner.stop()

@atexit.register
def _stop_all_training():
    """At interpreter exit, stop every training thread before Python tears itself down.

    Daemon threads would otherwise keep training while the interpreter finalises modules,
    which can end the process with an error instead of exit status 0.
    """
    for dash in list(_DASHBOARDS):
        with contextlib.suppress(Exception):
            dash.pause(timeout=10.0)
