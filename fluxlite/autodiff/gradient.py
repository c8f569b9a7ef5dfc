"""`gradient`, `withgradient`, `params` and `Grads`: Flux's gradient contract on NumPy.

Two styles, as in Flux:

* explicit: ``fl.gradient(f, x, y)`` differentiates `f` with respect to its
  arguments and returns one gradient per argument;
* implicit: ``fl.gradient(lambda: loss(x, y), fl.params(W, b))`` differentiates
  with respect to arrays the function uses without taking them as arguments,
  and returns a `Grads` you index with the arrays themselves: ``grads[W]``.
"""
import numbers
import threading
from collections import namedtuple

import numpy as np

from .. import functors
from ..functors import _KINDS
from .arrays import Param
from .tracer import Tape, Tracked, backward, live, tape_of, untrace

__all__ = ["gradient", "withgradient", "params", "Params", "Grads", "WithGradient",
           "within_gradient"]

_THREAD = threading.local()


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


def params(*xs):
    """Collect the trainable arrays in `xs` (arrays, models, lists) into `Params`.

    Like ``Flux.params``: pass the arrays themselves, or a model, whose
    trainable arrays are found by walking it. Plain ``np.ndarray`` arguments are
    refused with a message saying how to make them trainable.

    >>> import fluxlite as fl
    >>> W, b = fl.rand(2, 5), fl.rand(2)
    >>> fl.params(W, b)
    Params([2×5 float64, 2 float64])
    """
    ps = Params()
    for x in xs:
        if isinstance(x, Params):
            for p in x:
                ps.push(p)
        elif isinstance(x, np.ndarray):
            if not isinstance(x, (Param, Tracked)):
                raise TypeError(_PLAIN_ARRAY.format(shape=x.shape))
            ps.push(x)
        elif isinstance(x, (int, float)):
            raise TypeError(f"params() got the number {x!r}; numbers cannot be updated in place. "
                            f"Use a trainable array instead: fl.param([{x!r}]).")
        else:
            for leaf in functors.leaves(x, trainable=True):
                if isinstance(leaf, (Param, Tracked)):
                    ps.push(leaf)
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
    indexing and broadcasting are traced.

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


def _differentiate(f, args, with_value):
    if not callable(f):
        raise TypeError(f"gradient needs a function first, got {type(f).__name__}. "
                        "Write fl.gradient(f, x) or fl.gradient(lambda: loss(x, y), ps).")
    implicit = len(args) == 1 and type(args[0]) is Params
    tape = Tape()
    entries = tape.entries
    swapped = []  # plain parameters switched to the traced class, switched back at the end
    lifted = []   # (array, class, slots) for anything else traced in place
    recording = _recording()
    recording.append(tape)
    try:
        if implicit:
            leaves = []
            for p in args[0]:
                if type(p) is Param:  # the common case, inlined: trace p in place
                    p.__class__ = Tracked
                    p._tape, p._i, p._val = tape, len(entries), np.ndarray.view(p, np.ndarray)
                    entries.append(None)
                    swapped.append(p)
                    leaves.append(p._i)
                else:
                    leaves.append(_lift(p, tape, lifted))
            out = f()
        else:
            traced = [_track(a, tape, lifted) for a in args]
            out = f(*traced)
        val = out
        if type(out) is tuple:
            out = out[0]
        tape.active = False
        _check_scalar(out)
        if tape_of(out) is tape:
            grads = backward(tape, out._i, np.array(1.0, out.dtype))
        else:
            grads = [None] * len(entries)
        seen = set()
        if implicit:
            result = Grads(args[0], [_finish(grads[i], p, seen) for i, p in zip(leaves, args[0])])
        else:
            result = tuple(_collect(t, a, grads, seen, tape) for t, a in zip(traced, args))
        return WithGradient(_value(val, tape), result) if with_value else result
    finally:
        recording.remove(tape)
        tape.active = False
        entries.clear()
        for p in swapped:
            p.__class__ = Param
            p._tape = p._val = None  # no reference cycle left behind
        for a, cls, (t, i, v) in reversed(lifted):
            a._tape, a._i, a._val = t, i, v
            a.__class__ = cls


def _check_scalar(out):
    shape = getattr(out, "shape", ())
    if shape:
        raise ValueError(
            f"gradient needs a function that returns a single number (a scalar loss), "
            f"but it returned an array of shape {shape}.\n"
            f"Reduce it to one number, for example with np.sum(...) or np.mean(...), "
            f"or a loss such as fl.mse(ŷ, y).")


def _value(v, tape):
    if isinstance(v, tuple):
        return tuple(_value(x, tape) for x in v)
    v = _strip(v, tape)
    if isinstance(v, np.ndarray) and type(v) is not Tracked and v.ndim == 0:
        return float(v) if v.dtype.kind == "f" else v[()]
    return v


def _strip(v, tape):
    """Remove this tape's layer from a traced value (lower tapes' layers stay)."""
    while tape_of(v) is tape:
        v = v._val
    if tape_of(v) is not None and not v._tape.active:
        return untrace(v)
    return v


def _lift(p, tape, lifted):
    """Trace array `p` in place (its identity is kept) for the length of the call."""
    if live(p):
        lifted.append((p, Tracked, (p._tape, p._i, p._val)))
        inner = np.ndarray.view(p, Tracked)  # the same array, one tracing level down
        inner._tape, inner._i, inner._val = p._tape, p._i, p._val
        val = inner
    else:
        lifted.append((p, p.__class__, (None, None, None)))
        val = np.ndarray.view(p, np.ndarray)
        p.__class__ = Tracked
    p._tape, p._i, p._val = tape, tape.leaf(), val
    return p._i


def _track(x, tape, lifted, top=True):
    """A traced stand-in for argument `x`: a number, an array or a container of them.

    Parameters are traced in place (a model keeps its own arrays); other float arrays and
    numbers get traced copies, rebuilding their containers. Inside containers, integers and
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
        else:
            val = x if live(x) else untrace(x)  # live: traced by an outer gradient (nesting)
    elif isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            val = x
        elif top:
            val = x.astype(np.float64)
        else:
            return x
    elif t is float or isinstance(x, np.floating) or top and isinstance(x, numbers.Real) \
            and t is not bool:
        val = np.asarray(x, dtype=np.float64)
    else:
        return x  # functions, strings, integers inside containers: not variables
    tr = np.ndarray.view(val, Tracked)
    tr._tape, tr._i, tr._val = tape, tape.leaf(), val
    return tr


def _finish(g, like, seen):
    """Leaf gradient `g` as the user receives it: shaped like `like`, in its dtype, and an
    array of its own (`seen` holds the ids already handed out, so no two results share memory)."""
    if g is None:
        return None
    if type(g) is np.ndarray and g.base is None and type(like) is not int and type(like) is not float \
            and g.shape == like.shape and g.dtype == like.dtype and id(g) not in seen:
        seen.add(id(g))
        return g  # the common case: a fresh array of the right shape and precision
    shape = getattr(like, "shape", ())
    if type(g) is Tracked:
        if live(g):  # nested: keep it traced for the outer tape
            return g if g.shape == shape else g * np.ones(shape)
        g = untrace(g)
    g = np.asarray(g)
    if g.shape != shape:
        g = np.broadcast_to(g, shape)
    dtype = getattr(like, "dtype", g.dtype)
    if dtype.kind not in "fc":  # an integer argument still has a real-valued gradient
        dtype = g.dtype
    if g.base is not None or g.dtype != dtype or id(g) in seen:
        g = g.astype(dtype)  # a copy, in the parameter's own precision
    seen.add(id(g))
    return g


def _collect(traced, original, grads, seen, tape):
    """Mirror the structure of `original`, putting each leaf's gradient in its place.

    An object's gradient is a dict of its attributes (None for those without one), as
    Flux's is a NamedTuple; a part with no gradient anywhere is None.
    """
    if tape_of(traced) is tape:
        if ("leaf", traced._i) in seen:
            return None  # a tied array: its whole gradient went to the place it was first met
        seen.add(("leaf", traced._i))
        g = _finish(grads[traced._i], original, seen)
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
