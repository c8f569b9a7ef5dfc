"""The training loop and its helpers: `train_`, `stop`, `skip`, `throttle` and `epochs`.

`train_` runs one pass over the data, in either of Flux's two styles:

* implicit (Flux ≤ 0.13, the tutorial's)::

      fl.train_(loss, fl.params(W, b), zip(x, y), fl.Descent(0.05), cb=callback)

  ``loss(x, y)`` reads the parameters as globals, and the rule updates every array
  of the `Params`;
* explicit (modern Flux)::

      state = fl.setup(fl.Adam(0.01), model)
      fl.train_(loss, model, data, state)

  ``loss(model, x, y)`` takes the model first, and the state tree from ``fl.setup``
  updates the model in place.

The second argument chooses the style: a `Params` means implicit, anything else is a
model. In both styles a data item that is a tuple is splatted into the loss
(``loss(*d)``, as Julia's ``loss(d...)``), and anything else is passed whole.
A loss that is NaN or infinite stops training with an error naming the step. Ctrl-C never
stops it in the middle of an update: the parameters are left as the last whole step made
them. A step whose gradient is None for every parameter (the loss lost track of them)
changes nothing, and `train_` warns about it.

`train_` is only a loop. Written out, the explicit style is::

    for d in data:
        val, (g,) = fl.withgradient(lambda m: loss(m, *d), model)
        fl.update_(state, model, g)

and you can always write that loop yourself when you need more control.
"""
import numbers
import operator
import sys
import time
import warnings

import numpy as np

from ..autodiff import NoGradientWarning, Params
from ..autodiff.gradient import _differentiate
from .update import _NO_GRADIENT_CAUSES, _has_gradient

__all__ = ["train_", "stop", "skip", "StopException", "SkipException", "throttle", "epochs"]


# --------------------------------------------------------------------------- stop and skip

class StopException(Exception):
    """Raised by `stop` to end `train_`; `train_` catches it and returns normally.

    >>> from fluxlite.optimise.train import StopException, stop
    >>> try:
    ...     stop()
    ... except StopException:
    ...     print("caught")
    caught
    """


class SkipException(Exception):
    """Raised by `skip` to drop the current step of `train_`; `train_` catches it and goes on.

    >>> from fluxlite.optimise.train import SkipException, skip
    >>> try:
    ...     skip()
    ... except SkipException:
    ...     print("caught")
    caught
    """


def stop():
    """End `train_` early: call it from a callback (or from the loss), as ``Flux.stop()``.

    The step that is running finishes no further: `train_` catches the exception
    and returns. Parameters keep the values of the last completed update.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.optimise import Descent
    >>> from fluxlite.optimise.train import train_, stop
    >>> w = fl.param([0.0])
    >>> loss = lambda x: np.sum((w - x) ** 2)
    >>> steps = []
    >>> def cb():
    ...     steps.append(1)
    ...     if len(steps) == 3:
    ...         stop()
    >>> train_(loss, fl.params(w), [1.0] * 10, Descent(0.1), cb=cb)
    >>> len(steps)                # 3 of the 10 data items were used
    3
    """
    raise StopException()


def skip():
    """Drop the current step of `train_` and move on to the next data item, as ``Flux.skip()``.

    Called from the **loss** (or anything it calls), it skips the update for this
    data item: nothing is changed. Called from a **callback**, which runs after
    the update (as in Flux), it skips the callbacks after it for this step.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.optimise import Descent
    >>> from fluxlite.optimise.train import train_, skip
    >>> w = fl.param([0.0])
    >>> def loss(x):
    ...     if x > 100:               # an outlier: leave it out
    ...         skip()
    ...     return np.sum((w - x) ** 2)
    >>> train_(loss, fl.params(w), [1.0, 1000.0, 1.0], Descent(0.25))
    >>> w                             # two steps halfway towards 1: 0.5, then 0.75
    Param([0.75])
    """
    raise SkipException()


# --------------------------------------------------------------------------- train_

def _callbacks(cb):
    if cb is None:
        return ()
    cbs = tuple(cb) if isinstance(cb, (list, tuple)) else (cb,)
    for f in cbs:
        if not callable(f):
            raise TypeError(f"train_: cb must be a function (or a list of functions) called with "
                            f"no arguments after each step, but got {f!r}.")
    return cbs


def _scalar(val):
    """The number `train_` checks: the loss itself, or the first entry if the loss returned a tuple."""
    if isinstance(val, tuple):
        val = val[0]
    try:
        return float(val)
    except (TypeError, ValueError):
        return None


_NOT_FINITE = (
    "train_: the loss is {val} at step {step} (data item {step}, counting from 1), so training "
    "stopped without updating on it; {kept}.\n"
    "What to do: lower the learning rate (try 10 times smaller), check the data for NaN or "
    "infinite values (np.isfinite(x).all()), and compute classification losses from raw scores "
    "(logitcrossentropy) rather than log(softmax(...)) by hand.")


def _no_gradient(step):
    return (f"train_: at step {step} (data item {step}, counting from 1) the gradient is None for "
            f"every parameter, so train_ skipped that update and changed nothing. "
            f"{_NO_GRADIENT_CAUSES} (train_ says this once per call; later steps without a "
            f"gradient are skipped as well.)")


def _splat(d):
    return d if type(d) is tuple else (d,)


def _note_call(err, what):
    """Say how train_ called the loss when the call itself failed (Python 3.11+ notes)."""
    if hasattr(err, "add_note"):
        err.add_note(what)


def _shapes(args):
    return ", ".join(f"array{tuple(np.shape(a))}" if isinstance(a, np.ndarray) else type(a).__name__
                     for a in args)


def train_(loss, model, data, opt, *, cb=None):
    """One pass of training over `data`: Flux's ``train!``, in both of its styles.

    **Implicit** (``model`` is a `Params`, ``opt`` a rule such as ``fl.Descent(0.05)``):
    for each item ``d`` of `data`, take the gradient of ``loss(*d)`` (or ``loss(d)`` if
    ``d`` is not a tuple) with respect to the arrays in the `Params`, and apply
    ``fl.update_(opt, ps, grads)``.

    **Explicit** (``model`` is the model, ``opt`` the state tree from ``fl.setup(rule, model)``):
    take the gradient of ``loss(model, *d)`` with respect to the model and apply
    ``fl.update_(state, model, grads)``. A bare rule also works, as in Flux, but its state
    (Adam's moments...) is thrown away when `train_` returns, so you are warned; pass
    ``fl.setup(rule, model)`` to keep it across epochs.

    After each step every callback in `cb` (a function or a list of functions, called with
    no arguments) runs. `stop` ends training; `skip` drops the current step. A NaN or
    infinite loss raises ``ValueError`` naming the step, before that step's update. Like
    Flux, `train_` returns None; to record losses, append them in a callback or write the
    loop yourself.

    **Ctrl-C** (or Jupyter's stop button) stops `train_` with ``KeyboardInterrupt``, but
    never in the middle of an update: every parameter and the optimiser state are left
    together after the last whole step, so you can call `train_` again and go on.

    **No gradient.** If at some step the gradient is None for every parameter, there is
    nothing to update: `train_` skips that update and warns with `NoGradientWarning`, once
    per call, naming the step. This usually means the loss lost track of the parameters
    (``np.asarray(W)`` inside it, or a loss that reads other arrays than ``model`` or the
    `Params`). A loss that uses only some of the parameters is fine: the others get a
    None gradient and are left alone, without a warning.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.optimise import Descent, Adam, setup
    >>> from fluxlite.optimise.train import train_
    >>> _ = fl.seed(0)
    >>> x = [fl.rng().random(5) for _ in range(10)]              # the tutorial's data
    >>> W0, b0 = fl.rng().random((2, 5)), fl.rng().random(2)
    >>> y = [W0 @ xi + b0 for xi in x]
    >>> W, b = fl.rand(2, 5), fl.rand(2)
    >>> loss = lambda x, y: np.sum((y - (W @ x + b)) ** 2)       # implicit: W, b are globals
    >>> before = sum(loss(xi, yi) for xi, yi in zip(x, y))
    >>> for epoch in range(200):
    ...     train_(loss, fl.params(W, b), zip(x, y), Descent(0.05))
    >>> bool(sum(loss(xi, yi) for xi, yi in zip(x, y)) < 0.01 * before)
    True
    >>> model = {"W": fl.rand(2, 5), "b": fl.rand(2)}            # explicit: the model is passed
    >>> mloss = lambda m, x, y: np.sum((y - (m["W"] @ x + m["b"])) ** 2)
    >>> state = setup(Adam(0.05), model)
    >>> for epoch in range(200):
    ...     train_(mloss, model, zip(x, y), state)
    >>> bool(sum(mloss(model, xi, yi) for xi, yi in zip(x, y)) < 0.01 * before)
    True
    """
    from . import AbstractRule, update_

    if not callable(loss):
        if callable(model) and not isinstance(model, Params):
            raise TypeError("train_ takes the loss function first: train_(loss, model, data, state) "
                            "or train_(loss, fl.params(...), data, opt).")
        raise TypeError(f"train_ needs a loss function first, but got {type(loss).__name__}.")
    cbs = _callbacks(cb)
    implicit = isinstance(model, Params)
    if implicit:
        if not isinstance(opt, AbstractRule):
            raise TypeError(
                f"train_ with fl.params(...) is the implicit style and needs a rule such as "
                f"fl.Descent(0.05) as its 4th argument, but got {type(opt).__name__}. "
                f"(A state tree from fl.setup goes with the model itself: "
                f"train_(loss, model, data, state), where loss(model, x, y) takes the model first.)")
        state = opt
    elif isinstance(opt, AbstractRule):
        state = _rule_to_state(model, opt)
    else:
        state = opt

    last_ok = 0
    warned = False
    for step, d in enumerate(data, 1):
        args = _splat(d)
        try:
            try:  # fl.withgradient, without its own NoGradientWarning (train_ gives one below)
                if implicit:
                    val, grads = _differentiate(lambda: loss(*args), (model,), True, warn=False)
                else:
                    val, (grads,) = _differentiate(lambda m: loss(m, *args), (model,), True,
                                                   warn=False)
            except TypeError as err:
                if step == 1:
                    call = f"loss({_shapes(args)})" if implicit else f"loss(model, {_shapes(args)})"
                    _note_call(err, f"train_ called {call} for the first data item "
                                    f"(a tuple item is splatted into the loss, anything else is "
                                    f"passed as one argument).")
                raise
            v = _scalar(val)
            if v is not None and not np.isfinite(v):
                kept = (f"the parameters keep their values after step {last_ok}" if last_ok else
                        "this call of train_ changed nothing")
                raise ValueError(_NOT_FINITE.format(val=v, step=step, kept=kept))
            if _has_gradient(grads):
                update_(state, model, grads)  # one step that Ctrl-C cannot split
            elif not warned:
                warned = True
                warnings.warn(_no_gradient(step), NoGradientWarning, stacklevel=2)
            last_ok = step
            for f in cbs:
                f()
        except SkipException:
            continue
        except StopException:
            break
    return None


def _rule_to_state(model, rule):
    """Flux's train!(loss, model, data, rule): set up a state tree that lives for this call only."""
    from . import Leaf, setup

    state = setup(rule, model)

    def stateful(t):
        if type(t) is Leaf:
            return t.state is not None
        if isinstance(t, dict):
            return any(stateful(v) for v in t.values())
        if isinstance(t, (list, tuple)):
            return any(stateful(v) for v in t)
        return False

    if stateful(state):
        name = type(rule).__name__
        warnings.warn(f"train_ was given the rule {rule!r} rather than a state tree: {name} keeps "
                      f"state (momenta, averages) that is thrown away when train_ returns, so each "
                      f"call starts afresh. Make the state once and pass it instead:\n"
                      f"    state = fl.setup({name}(...), model)\n"
                      f"    fl.train_(loss, model, data, state)", stacklevel=3)
    return state


# --------------------------------------------------------------------------- throttle

class Throttled:
    """A function limited to one call per `timeout` seconds, made by `throttle`.

    Calling it returns the result of the most recent call that actually ran
    (None before the first). ``flush()`` runs a pending trailing call now.

    >>> from fluxlite.optimise.train import throttle
    >>> clock = iter([0.0, 0.5, 2.0]).__next__          # a fake clock, in seconds
    >>> show = throttle(lambda i: print("step", i) or i, 1.0, clock=clock)
    >>> show(1); show(2); show(3)
    step 1
    1
    1
    step 3
    3
    """

    def __init__(self, f, timeout, leading, trailing, clock):
        self.f, self.timeout, self.leading, self.trailing = f, timeout, leading, trailing
        self._clock = clock
        self._until = None     # end of the cool-down window; None when not cooling down
        self._later = None     # (args, kwargs) of the call to make when the window closes
        self.result = None

    def _now(self):
        return self._clock() if self._clock is not None else time.monotonic()

    def _catch_up(self, now):
        """Play the window closings that happened since the last call, as Flux's timer would."""
        while self._until is not None and now >= self._until:
            if self._later is not None:
                args, kwargs = self._later
                self._later = None
                self.result = self.f(*args, **kwargs)
                self._until += self.timeout   # a trailing call opens a new window
            else:
                self._until = None

    def __call__(self, *args, **kwargs):
        now = self._now()
        self._catch_up(now)
        if self._until is None:
            if self.leading:
                self.result = self.f(*args, **kwargs)
            else:
                self._later = (args, kwargs)
            self._until = now + self.timeout
        elif self.trailing:
            self._later = (args, kwargs)
        return self.result

    def flush(self):
        """Run the pending trailing call now, if there is one; return the latest result.

        >>> from fluxlite.optimise.train import throttle
        >>> clock = iter([0.0, 0.1]).__next__
        >>> f = throttle(print, 10.0, trailing=True, clock=clock)
        >>> f("first"); f("last")
        first
        >>> f.flush()
        last
        """
        if self._later is not None:
            args, kwargs = self._later
            self._later = None
            self.result = self.f(*args, **kwargs)
        return self.result

    def __repr__(self):
        name = getattr(self.f, "__name__", type(self.f).__name__)
        return f"throttle({name}, {self.timeout!r}, leading={self.leading}, trailing={self.trailing})"


def throttle(f, timeout, leading=True, trailing=False, *, clock=None):
    """Limit `f` to at most one call per `timeout` seconds: Flux's ``throttle``.

    The first call runs `f` at once (the *leading* edge) and opens a window of `timeout`
    seconds in which further calls are dropped. Typical use is a training callback
    that would otherwise print on every step::

        fl.train_(loss, ps, data, opt, cb=fl.throttle(lambda: print(total_loss()), 10))

    * ``leading=False``: the first call of a window is not run at once but when the
      window closes.
    * ``trailing=True``: the last call made inside a window is remembered and run when
      the window closes, so the final state is always reported.

    Calls return the result of the latest call that ran. Flux runs the trailing call
    from a background timer; fluxlite has no background thread (a callback running
    while the loop updates the parameters would see half-updated arrays), so a pending
    call runs at the first call after its window has closed, or when you call
    ``.flush()``, e.g. after the last epoch. `clock` (default ``time.monotonic``) is
    any function returning seconds; pass a fake one to test or to simulate.

    >>> from fluxlite.optimise.train import throttle
    >>> t = [0.0]
    >>> log = throttle(print, 10, clock=lambda: t[0])
    >>> for second in range(25):
    ...     t[0] = float(second)
    ...     _ = log("at", second)
    at 0
    at 10
    at 20
    """
    if not callable(f):
        raise TypeError(f"throttle needs a function first, but got {type(f).__name__}.")
    if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool) or not timeout >= 0:
        raise ValueError(f"throttle: timeout must be a number of seconds ≥ 0, got {timeout!r}.")
    return Throttled(f, float(timeout), bool(leading), bool(trailing), clock)


# --------------------------------------------------------------------------- epochs

def epochs(n, desc="Epoch", progress="auto", file=None):
    """Epoch numbers 1, 2, ..., n with a progress bar: fluxlite's stand-in for Flux's ``@epochs``.

    ``for epoch in fl.epochs(100): ...`` runs the body 100 times. Epochs count from 1,
    as Julia's ``@epochs 100 ...`` does (it logged ``Epoch 1`` first).

    `progress` chooses the display:

    * ``"auto"`` (default): a tqdm progress bar (``tqdm.auto``: a widget in Jupyter when
      ipywidgets is installed, text in a terminal) if tqdm is installed, else ``"text"``;
    * ``"bar"``: tqdm's bar, and an error saying how to install tqdm if it is missing;
    * ``"text"``: one line per epoch, ``Epoch 3/100``, printed when the epoch starts;
    * ``None`` or ``False``: nothing.

    `desc` is the label; `file` is where to write (tqdm's default, stderr, for bars;
    stdout for text). fluxlite itself needs only NumPy: tqdm is imported only here.

    >>> from fluxlite.optimise.train import epochs
    >>> for epoch in epochs(3, progress="text"):
    ...     pass
    Epoch 1/3
    Epoch 2/3
    Epoch 3/3
    >>> list(epochs(2, progress=None))
    [1, 2]
    """
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"epochs needs a whole number of epochs, got {n!r}.") from None
    if n < 0:
        raise ValueError(f"epochs needs a number of epochs ≥ 0, got {n}.")
    if progress is True:
        progress = "auto"
    if progress not in ("auto", "bar", "text", None, False):
        raise ValueError(f"epochs: progress must be 'auto', 'bar', 'text' or None, got {progress!r}.")
    if progress in ("auto", "bar"):
        bar = _tqdm_class(required=progress == "bar")
        if bar is not None:
            return _bar_epochs(bar, n, desc, file)
        progress = "text"
    if progress == "text":
        return _text_epochs(n, desc, file)
    return iter(range(1, n + 1))


def _tqdm_class(required):
    """tqdm's auto-selected bar class, or None when tqdm is not installed (and not required)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if required:
            raise ImportError("epochs(progress='bar') needs tqdm, which is not installed. "
                              "Install it with `pip install tqdm`, or use progress='text'.") from None
        return None
    return tqdm


def _bar_epochs(tqdm, n, desc, file):
    kwargs = dict(total=n, desc=desc, unit="epoch", file=file)
    try:
        bar = tqdm(range(1, n + 1), **kwargs)
    except ImportError:
        # tqdm.auto chose the notebook widget, but ipywidgets is missing: use tqdm's text bar.
        from tqdm.std import tqdm as text_tqdm
        bar = text_tqdm(range(1, n + 1), **kwargs)
    with bar:
        yield from bar


def _text_epochs(n, desc, file):
    for i in range(1, n + 1):
        print(f"{desc} {i}/{n}", file=file if file is not None else sys.stdout, flush=True)
        yield i
