"""`gradient`, `withgradient`, `params` and `Grads`: Flux's gradient contract on NumPy.

Two styles, as in Flux:

* explicit: ``fl.gradient(f, x, y)`` differentiates `f` with respect to its
  arguments and returns one gradient per argument;
* implicit: ``fl.gradient(lambda: loss(x, y), fl.params(W, b))`` differentiates
  with respect to arrays the function uses without taking them as arguments,
  and returns a `Grads` you index with the arrays themselves: ``grads[W]``.

One call, in the reference path below (`_differentiate`):

1. open a `Tape` and trace the inputs: a plain float array gets a traced stand-in that
   shares its memory, a number a traced 0-d array, while parameters (`Param` arrays, whether
   passed, inside a model or in a `Params`) are switched to the traced class *in place*, so
   the function sees the very arrays it reads; that is how the implicit style can work;
2. call the function, which records every NumPy operation on the tape;
3. run `backward` from its result, and gather each input's gradient into the shape of
   the input (`_collect`), or into a `Grads`;
4. whatever happened, switch every parameter back to a plain `Param` (`_close`).

Steps 1 and 4 run inside ``with atomic`` (a Ctrl-C waits until they are done, see
`fluxlite.autodiff.interrupts`) and under a lock, so neither an interrupt nor another
thread can see a model half-switched. The tape belongs to this thread: elsewhere the
model's arrays behave as plain arrays. If another thread's gradient call is using an
array at that moment, the explicit style traces a snapshot of its numbers, while the
implicit style, whose function reads the array itself, is refused with a clear error.
"""
import numbers
import threading
import warnings
from collections import namedtuple

import numpy as np

from .. import functors
from ..functors import _KINDS
from .arrays import Param
from .interrupts import atomic
from .errors import _COMPLEX, _DISCONNECTED, NoGradientWarning, TracingError
from .tracer import Tape, Tracked, backward, live, tape_of, untrace

__all__ = ["gradient", "withgradient", "params", "Params", "Grads", "WithGradient",
           "within_gradient"]

_THREAD = threading.local()
_SWITCH = threading.Lock()  # held while parameters are switched to the traced class and back


def _recording():
    """The tapes of this thread's running gradient calls, innermost last."""
    try:
        return _THREAD.tapes
    except AttributeError:
        _THREAD.tapes = []
        return _THREAD.tapes


def within_gradient():
    """True while a `gradient` call is running: how Dropout and BatchNorm know they are training.

    >>> import fluxlite as fl
    >>> fl.within_gradient()
    False
    >>> fl.gradient(lambda x: x * fl.within_gradient(), 1.0)
    (1.0,)
    """
    return bool(_recording())


# --------------------------------------------------------------------------- Params and Grads

class Params:
    """An ordered set of trainable arrays, compared by identity: Flux's ``Params``.

    Build it with `params`. It iterates over the arrays in the order given.

    >>> import fluxlite as fl
    >>> W, b = fl.rand(2, 5), fl.rand(2)
    >>> ps = fl.params(W, b)
    >>> len(ps), W in ps
    (2, True)
    """

    __slots__ = ("_list", "_ids")

    def __init__(self, arrays=()):
        self._list = []
        self._ids = {}  # id(array) -> position
        for a in arrays:
            self.push(a)

    def push(self, a):
        """Add array `a` unless it is already in the set."""
        if id(a) not in self._ids:
            self._ids[id(a)] = len(self._list)
            self._list.append(a)

    def __iter__(self):
        return iter(self._list)

    def __len__(self):
        return len(self._list)

    def __getitem__(self, i):
        return self._list[i]

    def __contains__(self, a):
        return id(a) in self._ids

    def __repr__(self):
        shapes = ", ".join(_shape_str(p) for p in self._list)
        return f"Params([{shapes}])"


def _shape_str(a):
    return "×".join(map(str, a.shape)) + f" {a.dtype}" if a.ndim else f"scalar {a.dtype}"


_PLAIN_ARRAY = (
    "params() got a plain NumPy array of shape {shape}, which fluxlite cannot train.\n"
    "Trainable arrays are made with fl.rand, fl.randn, fl.zeros or fl.ones, or by wrapping an "
    "existing array: W = fl.param(W). Then pass W to params() again.")

_ONLY_PLAIN = (
    "params() found {n} array{s} in the {what} it was given, but none of them is trainable: "
    "they are plain NumPy arrays ({shapes}), which fluxlite cannot train in place, so the "
    "Params would be empty and training would change nothing.\n"
    "Make them trainable where you create them, e.g. {{\"W\": fl.param(np.ones((2, 2)))}} or "
    "fl.randn(2, 2), or use a layer such as fl.Dense, whose arrays are trainable.")


def _trainable(p):
    """`p`, a Param, checked to be real (fluxlite differentiates real-valued code only)."""
    if p.dtype.kind == "c":
        raise TypeError(_COMPLEX.format(what=f"a parameter of shape {p.shape}", dtype=p.dtype))
    return p


def params(*xs):
    """Collect the trainable arrays in `xs` (arrays, models, lists) into `Params`.

    Like ``Flux.params``: pass the arrays themselves, or a model, whose
    trainable arrays are found by walking it. Plain ``np.ndarray`` arrays cannot be
    trained in place, so they are refused with a message saying how to make them
    trainable.

    >>> import fluxlite as fl
    >>> W, b = fl.rand(2, 5), fl.rand(2)
    >>> fl.params(W, b)
    Params([2×5 float64, 2 float64])
    >>> fl.params({"W": W, "act": fl.relu})
    Params([2×5 float64])
    """
    ps = Params()
    for x in xs:
        if isinstance(x, Params):
            for p in x:
                ps.push(p)  # checked when that Params was made
        elif isinstance(x, np.ndarray):
            if not isinstance(x, Param):
                raise TypeError(_PLAIN_ARRAY.format(shape=x.shape))
            ps.push(_trainable(x))
        elif isinstance(x, (int, float)):
            raise TypeError(f"params() got the number {x!r}; numbers cannot be updated in place. "
                            f"Use a trainable array instead: fl.param([{x!r}]).")
        else:
            found, plain = 0, []
            for leaf in functors.leaves(x, trainable=True):
                if isinstance(leaf, Param):
                    ps.push(_trainable(leaf))
                    found += 1
                elif leaf.dtype.kind == "f":
                    plain.append(leaf)
            if plain and not found:
                raise TypeError(_ONLY_PLAIN.format(
                    n=len(plain), s="" if len(plain) == 1 else "s", what=type(x).__name__,
                    shapes=", ".join(f"shape {a.shape}" for a in plain[:3])
                    + (", ..." if len(plain) > 3 else "")))
    return ps


class Grads:
    """Gradients with respect to `Params`, indexed by the arrays: ``grads[W]``.

    An array that did not affect the result has gradient None.

    >>> import numpy as np, fluxlite as fl
    >>> W, b = fl.ones(2, 3), fl.zeros(2)
    >>> grads = fl.gradient(lambda: np.sum(W @ np.ones(3)), fl.params(W, b))
    >>> grads[W]
    array([[1., 1., 1.],
           [1., 1., 1.]])
    >>> grads[b] is None
    True
    """

    __slots__ = ("params", "_list")

    def __init__(self, ps, grads):
        self.params = ps
        self._list = grads  # in the order of ps

    def __getitem__(self, p):
        try:
            return self._list[self.params._ids[id(p)]]
        except (KeyError, IndexError):
            raise KeyError("this array is not one of the parameters given to gradient; "
                           "add it to fl.params(...) to get its gradient") from None

    def __contains__(self, p):
        return id(p) in self.params._ids and self.params._ids[id(p)] < len(self._list)

    def __iter__(self):
        return iter(self.params)

    def __len__(self):
        return len(self.params)

    def keys(self):
        return list(self.params)

    def values(self):
        return list(self._list)

    def items(self):
        return list(zip(self.params, self._list))

    def __repr__(self):
        return f"Grads(...) for {len(self)} parameters"


WithGradient = namedtuple("WithGradient", ["val", "grad"])
WithGradient.__doc__ = """The value of a function together with its gradient, from `withgradient`.

>>> import fluxlite as fl
>>> fl.withgradient(lambda x: x ** 2, 3.0)
WithGradient(val=9.0, grad=(6.0,))
"""


# --------------------------------------------------------------------------- gradient

def gradient(f, *args):
    """The gradient of scalar function `f`, one entry per argument, like Flux's ``gradient``.

    * Explicit: ``gradient(f, x, y)`` returns a tuple. A number gives a Python
      float, an array gives an array of its shape, and a container (dict,
      list, tuple, model) gives a container of the same shape. An argument
      that does not affect the result gives None.
    * Implicit: ``gradient(lambda: loss(...), params(W, b))`` returns `Grads`.
    * Decorator, for Flux's do-block: ``@gradient(ps)`` over a zero-argument
      function replaces it with its `Grads`.

    Inside `f`, write plain NumPy: operators, ``np.sum``, ``np.exp``, ``@``,
    indexing and broadcasting are traced. If the result turns out not to depend on
    anything being differentiated (``np.asarray(x)`` inside `f` returns an untraced
    copy, for example), every gradient is None and a `NoGradientWarning` says why.

    >>> import fluxlite as fl
    >>> fl.gradient(lambda x, y: 3*x**2 + 2*x + y, 2, 2)
    (14.0, 1.0)
    >>> import numpy as np
    >>> W, b = fl.rand(2, 5), fl.rand(2)
    >>> @fl.gradient(fl.params(W, b))
    ... def grads():
    ...     return np.sum(W @ np.ones(5) + b)
    >>> grads[b]
    array([1., 1.])
    """
    if isinstance(f, Params):
        if args:
            raise TypeError("gradient(ps) is the decorator form and takes nothing else; "
                            "use gradient(f, ps) to differentiate f")
        return lambda fn: gradient(fn, f)
    return _differentiate(f, args, False)


def withgradient(f, *args):
    """Both the value of `f` and its gradient: ``val, grad = withgradient(f, x)``.

    If `f` returns a tuple, its first element is differentiated and the whole
    tuple is returned as the value (as in Flux).

    >>> import numpy as np, fluxlite as fl
    >>> val, grad = fl.withgradient(lambda x: np.sum(x ** 2), np.array([1.0, 2.0]))
    >>> val, grad
    (5.0, (array([2., 4.]),))
    """
    return _differentiate(f, args, True)


# Where `fluxlite.autodiff.fast` plugs in (with FLUXLITE_REFERENCE=1 it does not):
# * `_FAST`: a routine that takes the training loop's usual calls (one Params, or one model)
#   on a quicker path; it returns None for any call it leaves to the reference path below;
# * `_guard`: what holds Ctrl-C back while arrays switch class (the fast paths do without,
#   see `fast._in_place` for why that is safe);
# * `_backward`: the backward pass (the fast one calls each argument's pullback directly).
_FAST = None
_guard = atomic
_backward = backward


def _differentiate(f, args, with_value, warn=True):
    """`gradient` (or, with `with_value`, `withgradient`) of `f` at `args`.

    `warn=False` leaves out the `NoGradientWarning` for a result that depends on nothing
    differentiated (`train_` gives its own, more specific one)."""
    if not callable(f):
        raise TypeError(f"gradient needs a function first, got {type(f).__name__}. "
                        "Write fl.gradient(f, x) or fl.gradient(lambda: loss(x, y), ps).")
    if _FAST is not None:
        done = _FAST(f, args, with_value, warn)
        if done is not None:
            return done
    implicit = len(args) == 1 and isinstance(args[0], Params)
    tape = Tape()
    lifted = []  # (array, its class, its tracing slots) for every array traced in place
    recording = _recording()
    try:
        with _guard, _SWITCH:  # 1. trace the inputs
            _push(recording, tape)
            if implicit:
                for p in args[0]:
                    _lift(p, tape, lifted)
                traced = ()
            else:
                traced = [_track(a, tape, lifted) for a in args]
        val = f(*traced)  # 2. run the function, recording
        grads = _backward_from(val, tape)  # 3. backward, then gather the gradients
        if grads is None and warn:
            _warn_disconnected(tape, val)
        seen = set()  # ids of gradient arrays handed out, so that no two results share memory
        if implicit:
            result = Grads(args[0], [None if grads is None else _finish(grads[p._i], p, seen)
                                     for p in args[0]])
        else:
            result = tuple(_collect(t, a, grads, seen, tape) for t, a in zip(traced, args))
        return WithGradient(_value(val, tape), result) if with_value else result
    finally:  # 4. every array back to its own class
        try:
            with _guard:  # Ctrl-C waits until this is done...
                _close(tape, recording, lifted)
        except KeyboardInterrupt:  # ...unless it came just before the guard took hold
            _close(tape, recording, lifted)  # (it can safely run twice)
            raise


def _push(recording, tape):
    """Start recording on `tape` in this thread (noting it in the call it is nested in)."""
    if recording:
        recording[-1].nested = True
    recording.append(tape)


def _close(tape, recording, lifted, swapped=()):
    """End a gradient call: free the tape and switch every array traced in place back.

    `swapped` lists Params switched without `_lift`'s record (the fast path does that).
    Running it twice does no harm, so a caller stopped part-way by Ctrl-C runs it again."""
    with _SWITCH:
        for p in swapped:
            p.__class__ = Param
            p._tape = p._val = None  # no reference cycle left behind
        for a, cls, (t, i, v) in reversed(lifted):
            a.__class__ = cls
            a._tape, a._i, a._val = t, i, v  # (None, None, None) for a Param, as above
        if tape in recording:
            recording.remove(tape)
        tape.close()


def _backward_from(out, tape):
    """Stop recording on `tape` and run `backward` from `out`, the function's result (or its
    first element, for a tuple). Returns one gradient (or None) per tape entry, or None when
    the result does not depend on anything this tape traced."""
    tape.stop()
    if type(out) is tuple:
        out = out[0]
    _check_result(out)
    if tape_of(out) is not tape:
        return None
    return _backward(tape, out._i, np.ones((), out.dtype))  # d(out)/d(out) = 1


def _check_result(out):
    """Refuse a result that is not a single real number, saying what to return instead."""
    if out is None:
        raise TypeError("gradient: the function returned None, so there is nothing to "
                        "differentiate. Did it forget to `return` the loss? A lambda returns "
                        "its expression; a def needs `return ...`.")
    if isinstance(out, (bool, np.bool_)):
        raise TypeError(f"gradient: the function returned {out!r}, a yes/no value; comparisons "
                        f"carry no gradient. Return the number you want to make smaller, "
                        f"for example np.sum((ŷ - y) ** 2).")
    if isinstance(out, np.ndarray):
        if out.shape:
            raise ValueError(
                f"gradient needs a function that returns a single number (a scalar loss), "
                f"but it returned an array of shape {out.shape}.\n"
                f"Reduce it to one number, for example with np.sum(...) or np.mean(...), "
                f"or a loss such as fl.mse(ŷ, y).")
        kind = out.dtype.kind
    elif isinstance(out, numbers.Number):
        kind = "c" if isinstance(out, numbers.Complex) and not isinstance(out, numbers.Real) else "f"
    else:
        kind = None
    if kind == "c":
        raise TypeError(_COMPLEX.format(what="the function's result", dtype=type(out).__name__))
    if kind not in ("f", "i", "u"):
        what = type(out).__name__
        hint = (" To differentiate a sum of traced values kept in a list, combine them first: "
                "np.sum(np.stack(values))." if isinstance(out, (list, tuple)) else "")
        raise TypeError(f"gradient needs a function that returns a single number (a scalar "
                        f"loss), but it returned a {what}.{hint} To return more than the loss, "
                        f"use fl.withgradient with a tuple whose first element is the loss.")


def _warn_disconnected(tape, val):
    """Warn that the result is cut off from the traced inputs (unless nothing was traced, or
    the result is traced by an outer gradient: a nested call on a constant is fine)."""
    out = val[0] if type(val) is tuple else val
    # A gradient of a gradient may rightly be constant (the second derivative of a linear
    # function is zero), so calls that ran gradient inside are left alone.
    if any(e is None for e in tape.entries) and not live(out) and not tape.nested:
        warnings.warn(_DISCONNECTED, NoGradientWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    """The `stacklevel` that points a warning at the first caller outside fluxlite."""
    import sys
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("fluxlite."):
        frame, level = frame.f_back, level + 1
    return level


# --------------------------------------------------------------------------- tracing inputs

_OTHER_THREAD = (
    "gradient: this model (an array of shape {shape}) is being differentiated right now by "
    "another gradient call, in another thread (a dashboard training in the background, "
    "perhaps). One array cannot be traced by two calls at once in the implicit style. Wait "
    "until that training stops (pause the dashboard), differentiate a copy "
    "(copy.deepcopy(model)), or use the explicit style, gradient(lambda m: loss(m), model), "
    "which works on a snapshot of arrays that are in use.")


def _in_use(x):
    """True when traced array `x` belongs to a gradient call that has not ended, and that is
    not recording in this thread: another thread's (or, after its recording stopped, an
    outer call's)."""
    t = tape_of(x)
    return t is not None and t.owner is not None


def _lift(p, tape, lifted):
    """Trace parameter `p` in place for the length of the call: its class becomes `Tracked`,
    so the function, which holds `p` itself, records every use of it. Its identity is kept."""
    _trainable(p)
    if type(p) is Tracked:
        if live(p):  # traced by an outer gradient in this thread: add a layer on top
            below = np.ndarray.view(p, Tracked)
            below._tape, below._i, below._val = p._tape, p._i, p._val
        elif _in_use(p):
            raise TracingError(_OTHER_THREAD.format(shape=p.shape))
        else:  # left traced by a call that has ended: it is a plain Param, and will be again
            below = np.ndarray.view(p, np.ndarray)
        lifted.append((p, Tracked, (p._tape, p._i, p._val)) if live(p) else
                      (p, Param, (None, None, None)))
    else:
        lifted.append((p, p.__class__, (None, None, None)))
        below = np.ndarray.view(p, np.ndarray)
    # The slots first, then the class: another thread that sees the traced class also sees
    # which tape it belongs to.
    p._tape, p._i, p._val = tape, tape.leaf(), below
    p.__class__ = Tracked


def _track(x, tape, lifted, top=True):
    """A traced stand-in for argument `x`: a number, an array or a container of them.

    Parameters are traced in place (a model keeps its own arrays); other float arrays get
    traced stand-ins sharing their memory, and numbers traced 0-d arrays, in rebuilt
    containers. Inside containers, integers and
    integer arrays are settings, not variables, and are left alone (as Zygote does). Like
    Zygote, every float array gets a gradient, trainable or not: ``_trainable`` only tells
    `params` and the optimisers what to update.
    """
    t = type(x)
    if t is Param:
        _lift(x, tape, lifted)
        return x
    kind = _KINDS.get(t) or functors.kind(x)
    if kind is not functors.LEAF:  # a container: trace what is inside
        new, changed = [], False
        for k, c in functors.children(x):
            n = _track(c, tape, lifted, False)
            changed = changed or n is not c
            new.append((k, n))
        return functors.rebuild(x, new) if changed else x
    if t is Tracked:
        if tape_of(x) is tape:
            if not top:
                return x  # met earlier inside a model (tied weights): one array, traced once
            val = x._val  # the same array passed as two arguments: each gets its own gradient
        elif live(x):
            val = x  # traced by an outer gradient in this thread (nesting)
        elif _in_use(x):  # traced by another thread's gradient call: a snapshot of its numbers
            val = np.array(untrace(x))
        else:
            val = untrace(x)
    elif isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise TypeError(_COMPLEX.format(what=f"an argument of shape {x.shape}", dtype=x.dtype))
        if x.dtype.kind == "f":
            val = x
        elif top:
            val = x.astype(np.float64)
        else:
            return x
    elif isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real):
        raise TypeError(_COMPLEX.format(what=f"the argument {x!r}", dtype=type(x).__name__))
    elif t is float or isinstance(x, np.floating) or top and isinstance(x, numbers.Real) \
            and t is not bool:
        val = np.asarray(x, dtype=np.float64)
    else:
        return x  # functions, strings, integers inside containers: not variables
    tr = np.ndarray.view(val, Tracked)
    tr._tape, tr._i, tr._val = tape, tape.leaf(), val
    return tr


# --------------------------------------------------------------------------- gathering gradients

def _finish(g, like, seen):
    """Input gradient `g` as the user receives it: shaped like `like`, in its dtype, and an
    array of its own (`seen` holds the ids already handed out, so no two results share memory)."""
    if g is None:
        return None
    shape = getattr(like, "shape", ())
    if type(g) is Tracked:
        if live(g):  # nested: keep it traced for the outer tape
            return g if g.shape == shape else g * np.ones(shape)
        g = untrace(g)
    g = np.asarray(g)
    if g.shape != shape:
        g = np.broadcast_to(g, shape)
    dtype = getattr(like, "dtype", g.dtype)
    if dtype.kind != "f":  # an integer argument still has a real-valued gradient
        dtype = g.dtype
    if g.base is not None or g.dtype != dtype or id(g) in seen or not g.flags.writeable:
        g = g.astype(dtype)  # a copy, in the input's own precision
    seen.add(id(g))
    return g


def _collect(traced, original, grads, seen, tape):
    """Mirror the structure of `original`, putting each input's gradient in its place.

    An object's gradient is a dict of its attributes (None for those without one), as
    Flux's is a NamedTuple; a part with no gradient anywhere is None.
    """
    if tape_of(traced) is tape:
        if ("leaf", traced._i) in seen:
            return None  # a tied array: its whole gradient went to the place it was first met
        seen.add(("leaf", traced._i))
        g = None if grads is None else _finish(grads[traced._i], original, seen)
        if isinstance(original, np.ndarray) or g is None or type(g) is Tracked:
            return g
        return float(g)  # a number in, a number out
    kind = _KINDS.get(type(original)) or functors.kind(original)
    if kind is functors.LEAF:
        return None
    if traced is original:  # nothing inside was copied: one walk serves both
        sub = [(k, _collect(c, c, grads, seen, tape)) for k, c in functors.children(original)]
    else:
        sub = [(k, _collect(tc, c, grads, seen, tape)) for (k, c), (_, tc)
               in zip(functors.children(original), functors.children(traced))]
    if all(v is None for _, v in sub):
        return None
    if kind is functors.OBJ:
        return dict(sub)
    return functors.rebuild(original, sub)


def _value(v, tape):
    """The function's value as the user receives it: this tape's layer removed, and a 0-d
    float array as a Python float."""
    if isinstance(v, tuple):
        return tuple(_value(x, tape) for x in v)
    while tape_of(v) is tape:
        v = v._val
    if type(v) is Tracked and not live(v):
        v = untrace(v)
    if isinstance(v, np.ndarray) and type(v) is not Tracked and v.ndim == 0:
        return float(v) if v.dtype.kind == "f" else v[()]
    return v
