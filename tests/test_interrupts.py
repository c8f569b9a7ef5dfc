"""Ctrl-C at any moment of training leaves the model and its optimiser state at one whole step.

Students stop training with Ctrl-C all the time. These tests fire a KeyboardInterrupt at random
moments of real training runs, in both of Flux's styles, with `train_` and with the loop a
student writes by hand (`fl.gradient` then `fl.update_`), and then check that:

1. every parameter equals what an uninterrupted run has after the same number of steps k
   (no array is a step ahead of the others);
2. one more step from there, on the data item of step k + 1, gives exactly the uninterrupted
   run's parameters after step k + 1, so the optimiser state (Adam's moments and step count)
   was at step k too;
3. every parameter is an ordinary `fl.Param` again, none left in the traced class.

The interrupt comes from a second thread, through ``_thread.interrupt_main()`` (what Jupyter's
stop button amounts to) or, in every tenth trial, a real SIGINT sent with ``os.kill``. Its
delay is drawn from a seeded generator, uniformly over the measured duration of a run, so
that it lands anywhere in the training work: in the gradient, in `update_`, or in the loop
between them. Each test prints where its interrupts landed (``pytest -rP`` shows it).

The harness is shown to be able to fail: `test_the_harness_finds_arrays_at_different_steps`
and `test_the_harness_finds_optimiser_state_a_step_ahead` run the same trials with two
deliberately non-atomic updaters written here, and require it to find their inconsistencies.
"""
import _thread
import collections
import gc
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.optimise import (AbstractRule, Adam, ClipNorm, Descent, Momentum, OptimiserChain,
                               setup, update_)
from fluxlite.optimise.train import train_

STEPS = 30                # steps in one training run (a few milliseconds)
TRIALS = 120              # interrupts that land in the training, per rule and style: half in
                          # train_, half in the hand-written loop
REAL_SIGNAL_EVERY = 10    # every tenth trial sends a real SIGINT to the process
LIBRARY = os.path.dirname(os.path.abspath(fl.__file__))

RULES = {
    "Descent": Descent(0.1),
    "Momentum": Momentum(0.05, 0.9),
    "Adam": Adam(0.01),
    "ClipNorm+Adam": OptimiserChain(ClipNorm(0.5), Adam(0.01)),
}


# --------------------------------------------------------------------------- the training runs

def _problem():
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(np.float32) * 0.3 for s in ((48, 16), (48,), (8, 48), (8,))]
    data = [(rng.standard_normal((16, 4)).astype(np.float32),
             rng.standard_normal((8, 4)).astype(np.float32)) for _ in range(STEPS + 1)]
    return start, data


START, DATA = _problem()


def loss(m, x, y):
    return fl.mse(m(x), y)


class Run:
    """A fresh model (always the same starting weights) and optimiser, and a way to train it.

    `style` is "implicit" (a rule and `fl.params`) or "explicit" (a state tree from `setup`);
    `how` is "train_" or "loop", the loop a student writes, which calls ``update(opt, ps,
    grads)`` (implicit) or ``update(state, model, g)`` (explicit), with ``update =
    make_update()``: `fl.update_` unless a test says otherwise."""

    def __init__(self, rule, style, how, make_update=lambda: update_):
        W1, b1, W2, b2 = (a.copy() for a in START)
        self.model = fl.Chain(fl.Dense(W1, b1, fl.tanh), fl.Dense(W2, b2))
        self.arrays = list(fl.params(self.model))
        self.ps = fl.params(self.model)
        self.style, self.how, self.update = style, how, make_update()
        self.opt = rule._copy() if style == "implicit" else setup(rule._copy(), self.model)

    def train(self, items):
        model, opt = self.model, self.opt
        if self.style == "implicit":
            if self.how == "train_":
                train_(lambda x, y: loss(model, x, y), self.ps, items, opt)
            else:
                for x, y in items:
                    grads = fl.gradient(lambda: loss(model, x, y), self.ps)
                    self.update(opt, self.ps, grads)
        elif self.how == "train_":
            train_(loss, model, items, opt)
        else:
            for x, y in items:
                g = fl.gradient(lambda m: loss(m, x, y), model)[0]
                self.update(opt, model, g)

    def weights(self):
        """Plain copies of the parameters (whatever their class)."""
        return [np.ndarray.view(p, np.ndarray).copy() for p in self.arrays]


def trajectory(scenario):
    """The parameters of an uninterrupted run after 0, 1, ..., STEPS + 1 steps."""
    run = Run(*scenario)
    out = [run.weights()]
    for item in DATA:
        run.train([item])
        out.append(run.weights())
    return out


def duration(scenario, repeats=3):
    """The time a run of STEPS steps takes here, median of a few."""
    times = []
    for _ in range(repeats):
        run = Run(*scenario)
        t = time.perf_counter()
        run.train(DATA[:STEPS])
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


# --------------------------------------------------------------------------- firing and checking

def real_sigint():
    os.kill(os.getpid(), signal.SIGINT)


def interrupted(work, delay, fire):
    """Run `work()` while a second thread calls `fire()` after `delay` seconds.

    Returns where the KeyboardInterrupt landed: "gradient", "update_" or "loop" (in the
    training loop itself, between the two), "after" (the run had ended: the interrupt was
    caught here), or "lost" (Python raised it inside a callback it runs on its own, such as a
    garbage-collector hook, where an exception is printed and dropped). The shooting thread
    has always finished, and its interrupt has always arrived, before this returns.

    While an interrupt may still come, this thread touches no lock: a KeyboardInterrupt that
    lands just after a lock was taken (inside ``threading.Timer.cancel``, say, or
    ``Event.set``) leaves that lock held for ever, and the next ``join`` waits for ever. So the
    shooter is not cancelled: it always fires, and this thread waits for it by polling plain
    flags with ``time.sleep``, which an interrupt can cut short without harm."""
    shot = {"go": False, "fired": False, "done": False}
    lost = []
    previous = sys.unraisablehook

    def shoot():
        while not shot["go"]:  # until start() has returned: it waits on a lock of its own
            time.sleep(0)
        time.sleep(delay)
        fire()
        shot["fired"] = True  # set after fire() returns: the signal is pending from here on
        shot["done"] = True

    def unraisable(info):
        if issubclass(info.exc_type, KeyboardInterrupt):
            lost.append(info)
        else:
            previous(info)

    shooter = threading.Thread(target=shoot, daemon=True)
    where = None
    sys.unraisablehook = unraisable
    try:
        shooter.start()
        shot["go"] = True
        try:
            work()
        except KeyboardInterrupt as err:
            where = landing(err.__traceback__)
        deadline = None
        while where is None and not lost:  # wait for the interrupt, which arrives here
            try:
                if shot["fired"]:
                    deadline = deadline or time.monotonic() + 5
                    assert time.monotonic() < deadline, "the interrupt fired but never arrived"
                time.sleep(1e-4)
            except KeyboardInterrupt:
                where = "after"
        while not shot["done"]:  # (only its last line is left)
            time.sleep(1e-4)
        shooter.join()  # safe now: nothing more can interrupt this thread
        return where or "lost"
    finally:
        sys.unraisablehook = previous


def landing(tb):
    """Where a traceback says the interrupt stopped the training: in the library function
    that the training loop (this file's, or train_'s) was calling."""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.startswith(LIBRARY) and code.co_name != "train_":
            if code.co_name == "update_":
                return "update_"
            if code.co_name in ("gradient", "withgradient", "_differentiate"):
                return "gradient"
            return "loop"  # a helper of the loop, e.g. train_'s check for a missing gradient
        tb = tb.tb_next
    return "loop"


def check(run, reference):
    """What is wrong with `run` after an interrupt, or None if nothing is."""
    traced = [type(p).__name__ for p in run.arrays if type(p) is not fl.Param]
    if traced:
        return f"parameters left as {traced}, not fl.Param"
    now = run.weights()
    at = [k for k, ref in enumerate(reference[:STEPS + 1])
          if all(np.array_equal(a, r) for a, r in zip(now, ref))]
    if len(at) != 1:
        steps = [[k for k, ref in enumerate(reference) if np.array_equal(a, ref[i])]
                 for i, a in enumerate(now)]
        return f"parameters at different steps: per array, the steps they match {steps}"
    k = at[0]
    run.train(DATA[k:k + 1])  # one more step, on the item the uninterrupted run used next
    after = run.weights()
    if not all(np.array_equal(a, r) for a, r in zip(after, reference[k + 1])):
        return f"parameters at step {k}, but the next step differs: the optimiser state moved"
    return None


def trials(scenarios, n, seed):
    """Interrupt runs of each scenario at seeded random moments until `n` interrupts have
    landed in the training (at most 25n runs). Return the problems found and the tally of where
    the interrupts landed.

    The delays are drawn uniformly from [0, span], where span starts as the measured duration
    of a run. On a busy machine the shooting thread can be scheduled milliseconds late, and
    its interrupt lands after the run; span then shrinks a little after each such trial and
    grows back after each hit, so that the interrupts keep landing inside the training."""
    rng = np.random.default_rng(seed)
    problems, tally = [], collections.Counter()
    for scenario in scenarios:
        reference = trajectory(scenario)
        longest = span = duration(scenario)
        landed = 0
        for i in range(25 * n):
            if landed == n:
                break
            run = Run(*scenario)
            fire = real_sigint if i % REAL_SIGNAL_EVERY == 0 else _thread.interrupt_main
            where = interrupted(lambda: run.train(DATA[:STEPS]), rng.uniform(0, span), fire)
            tally[where] += 1
            hit = where in ("gradient", "update_", "loop")
            landed += hit
            span = min(longest, span * 1.05) if hit else span * 0.8
            problem = check(run, reference)
            if problem:
                problems.append(f"{scenario[1:3]} trial {i} (landed in {where}): {problem}")
    return problems, tally


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Python's own Ctrl-C handler, whatever this process started with. A process started in
    the background by a shell without job control (as CI runners and ``make ... &`` do)
    inherits SIGINT ignored, and then neither a real SIGINT nor ``interrupt_main`` would
    raise anything."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def fine_timer():
    """Let the shooting thread take the GIL within microseconds rather than 5 ms, so that the
    interrupts spread over the run instead of bunching at the interpreter's switch points.
    The cyclic garbage collector is paused meanwhile: hooks that other tools register on it
    (hypothesis has one) would otherwise catch some interrupts and drop them ("lost")."""
    before = sys.getswitchinterval()
    collecting = gc.isenabled()
    sys.setswitchinterval(2e-5)
    gc.disable()
    yield
    sys.setswitchinterval(before)
    if collecting:
        gc.enable()


def summary(name, tally):
    during = tally["gradient"] + tally["update_"] + tally["loop"]
    return (f"{name}: {sum(tally.values())} trials; during the run {during} (in the gradient "
            f"{tally['gradient']}, in update_ {tally['update_']}, in the loop between them "
            f"{tally['loop']}); after the run {tally['after']}; "
            f"lost in Python's own callbacks {tally['lost']}")


# --------------------------------------------------------------------------- the proof

@pytest.mark.parametrize("style", ["implicit", "explicit"])
@pytest.mark.parametrize("rule", list(RULES))
def test_ctrl_c_never_leaves_a_model_half_updated(rule, style, fine_timer):
    scenarios = [(RULES[rule], style, how) for how in ("train_", "loop")]
    problems, tally = trials(scenarios, TRIALS // 2, seed=sum(map(ord, rule + style)))
    print(summary(f"{rule}, {style}", tally))
    assert not problems, (f"{len(problems)} inconsistent of {sum(tally.values())}:\n"
                          + "\n".join(problems[:10]))
    assert tally["gradient"] + tally["update_"] + tally["loop"] == TRIALS  # all landed in training
    assert tally["update_"] > 0  # some inside update_ itself


# --------------------------------------------------------------------------- the harness can fail

PAUSE = 2e-4  # seconds: a window between two changes that the interrupts can land in


def one_array_at_a_time(opt, ps, grads):
    """Not atomic: each array in its own update_ call, with a pause between them."""
    for p in ps:
        update_(opt, p, grads[p])
        time.sleep(PAUSE)


class StateFirst:
    """Not atomic: every array's optimiser state moves, then, after a pause, every array."""

    def __init__(self):
        self.states = {}

    def __call__(self, opt, ps, grads):
        steps = []
        for p in ps:
            state = self.states.get(id(p))
            if state is None:
                state = opt.init(p)
            self.states[id(p)], step = opt.apply(state, p, grads[p])
            steps.append(step)
        time.sleep(PAUSE)
        for p, step in zip(ps, steps):
            np.subtract(p.view(np.ndarray), step, out=p.view(np.ndarray))


def test_the_harness_finds_arrays_at_different_steps(fine_timer):
    scenario = (Momentum(0.05, 0.9), "implicit", "loop", lambda: one_array_at_a_time)
    problems, tally = trials([scenario], 40, seed=1)
    print(summary("one array at a time", tally), f"; inconsistent: {len(problems)}")
    assert sum("different steps" in p for p in problems) >= 10


def test_the_harness_finds_optimiser_state_a_step_ahead(fine_timer):
    problems, tally = trials([(Adam(0.01), "implicit", "loop", StateFirst)], 40, seed=2)
    print(summary("state first", tally), f"; inconsistent: {len(problems)}")
    assert sum("optimiser state moved" in p for p in problems) >= 10


# --------------------------------------------------------------------------- Ctrl-C inside update_

class PressesCtrlC(AbstractRule):
    """A rule that behaves like `inner` but presses Ctrl-C on its first `apply`, so that the
    interrupt arrives in the middle of an update, for certain."""

    _fields = ("inner",)

    def __init__(self, inner):
        self.inner = inner
        self._pressed = False

    @property
    def _elementwise(self):
        return self.inner._elementwise

    @property
    def _reads_x(self):
        return self.inner._reads_x

    def init(self, x):
        return self.inner.init(x)

    def apply(self, state, x, dx):
        state, step = self.inner.apply(state, x, dx)  # the state has moved, x not yet
        if not self._pressed:
            self._pressed = True
            _thread.interrupt_main()
            time.sleep(1e-3)  # the interrupt is due now, in the middle of the step
        return state, step


def forms():
    """update_'s three forms, each as (what to call, the arrays it changes, what they must be)."""
    W, b = fl.param(np.ones((2, 3))), fl.param(np.ones(2))
    gW, gb = np.full((2, 3), 2.0), np.full(2, 3.0)
    want = [np.ones((2, 3)) - 0.2, np.ones(2) - 0.3]
    one = PressesCtrlC(Adam(0.1))
    ps = fl.params(W, b)
    model = {"W": fl.param(W), "b": fl.param(b)}
    state = setup(PressesCtrlC(Descent(0.1)), model)
    many = PressesCtrlC(Momentum(0.1, 0.9))
    adam = [np.ones((2, 3)) - 0.1]  # Adam's first step is η · sign(g)
    return {
        "one array, Adam": (lambda: update_(one, W, gW), [W], adam),
        "Params, Momentum": (lambda: update_(many, ps, fl.Grads(ps, [gW, gb])), [W, b], want),
        "model, Descent": (lambda: update_(state, model, {"W": gW, "b": gb}),
                           [model["W"], model["b"]], want),
    }


@pytest.mark.parametrize("form", list(forms()))
def test_ctrl_c_inside_update_waits_until_the_step_is_whole(form):
    call, arrays, want = forms()[form]
    with pytest.raises(KeyboardInterrupt):
        call()
    for a, w in zip(arrays, want):
        np.testing.assert_allclose(a, w, rtol=1e-6)
