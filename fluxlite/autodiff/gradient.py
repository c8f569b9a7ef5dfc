"""`gradient`, `withgradient`, `params` and `Grads`: Flux's gradient contract on NumPy.

Two styles, as in Flux:

* explicit: ``fl.gradient(f, x, y)`` differentiates `f` with respect to its
  arguments and returns one gradient per argument;
* implicit: ``fl.gradient(lambda: loss(x, y), fl.params(W, b))`` differentiates
  with respect to arrays the function uses without taking them as arguments,
  and returns a `Grads` you index with the arrays themselves: ``grads[W]``.
"""
import numbers
import operator
import threading
import weakref
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


def _differentiate(f, args, with_value, warn=True):
    if not callable(f):
        raise TypeError(f"gradient needs a function first, got {type(f).__name__}. "
                        "Write fl.gradient(f, x) or fl.gradient(lambda: loss(x, y), ps).")
    if len(args) == 1:
        if type(args[0]) is Params:  # gradient(f, params(...)): the tutorial's style
            return _in_place(f, (), args[0]._list, with_value, Grads, args[0])
        plan = _plan_for(args[0])
        if plan is not None:  # gradient(f, model), with the model's walk known: modern Flux
            return _in_place(f, args, plan.params, with_value, _model_gradient, plan)
    tape = Tape()
    entries = tape.entries
    swapped = []  # Params switched to the traced class, switched back at the end
    lifted = []  # (array, class, slots) for other arrays traced in place, restored at the end
    recording = _recording()
    recording.append(tape)
    try:
        traced, plans = [], []
        for a in args:
            plan = _plan_for(a)
            if plan is None:
                traced.append(_track(a, tape, lifted))
                plans.append(None)
                continue
            plans.append((plan, len(entries)))  # its k-th Param is entry first + k
            for p in plan.params:
                v = p.view(np.ndarray)
                p.__class__ = Tracked
                p._tape, p._i, p._val = tape, len(entries), v
                entries.append(None)
                swapped.append(p)
            traced.append(a)
        val = f(*traced)
        grads = _backward_from(val, tape)
        seen = set(_SEED_IDS)  # ids of arrays a user must not receive as they are
        result = []
        for t, a, planned in zip(traced, args, plans):
            if planned is None:
                result.append(_collect(t, a, grads, seen, tape))
                continue
            plan, first = planned
            if len(args) > 1:  # mark its Params as `_collect` marks leaves, for ties across arguments
                seen.update(("leaf", first + k) for k in range(len(plan.params)))
            result.append(None if plan.template is None else
                          _fill(plan.template, _finish_all(grads, first, plan.params, seen)))
        result = tuple(result)
        return WithGradient(_value(val, tape), result) if with_value else result
    finally:
        _close(tape, recording, swapped, lifted)


def _in_place(f, args, params, with_value, build, how):
    """``f(*args)`` and its gradient, for the training loop's usual calls: one `Params`, or one
    model whose walk (`_Plan`) is known. Both trace a list of parameters in place.

    A `Param` (the usual case) is switched to the traced class and back; anything else goes
    through `_lift`. Parameter k is entry k of the tape. ``build(how, gradients)`` turns the
    list of their gradients into the result: ``Grads(params, ...)``, or `_model_gradient`.
    """
    tape = Tape()
    entries = tape.entries
    swapped = []  # Params switched to the traced class, switched back at the end
    lifted = []
    try:
        recording = _THREAD.tapes
    except AttributeError:
        recording = _recording()
    recording.append(tape)
    try:
        for p in params:
            if type(p) is Param:
                v = p.view(np.ndarray)
                p.__class__ = Tracked
                p._tape, p._i, p._val = tape, len(entries), v
                entries.append(None)
                swapped.append(p)
            else:
                _lift(p, tape, lifted)
        val = f(*args)
        grads = _backward_from(val, tape, len(params))
        result = build(how, _finish_all(grads, 0, params, set(_SEED_IDS)))
        return WithGradient(_value(val, tape), result) if with_value else result
    finally:
        _close(tape, recording, swapped, lifted)


def _model_gradient(plan, gs):
    """``gradient(f, model)``'s result: a 1-tuple with the model's gradient."""
    return (None if plan.template is None else _fill(plan.template, gs),)


def _backward_from(out, tape, inputs=0):
    """Stop recording on `tape` and run the backward pass from `out`, the function's result
    (or its first element, for a tuple). Returns one gradient (or None) per tape entry.
    `inputs`: the number of entries at the start of the tape that are the function's inputs."""
    tape.active = False
    if type(out) is tuple:
        out = out[0]
    if type(out) is Tracked and getattr(out, "_tape", None) is tape and not out.shape:
        seed = _SEEDS.get(out.dtype)
        if seed is None:
            seed = _new_seed(out.dtype)
        return backward(tape, out._i, seed, inputs)
    _check_scalar(out)
    return [None] * len(tape.entries)  # the result does not depend on anything traced


# The gradient of the result with respect to itself, 1, made once per dtype and read-only.
# Pullbacks never change their input gradient in place; a seed that reaches a leaf unchanged
# (``gradient(lambda x: x + 0, ...)``) is copied by `_finish`, because its id starts in `seen`.
_SEEDS = {}
_SEED_IDS = set()


def _new_seed(dtype):
    seed = np.array(1.0, dtype)
    seed.flags.writeable = False
    _SEEDS[dtype] = seed
    _SEED_IDS.add(id(seed))
    return seed


def _close(tape, recording, swapped, lifted):
    """End a gradient call: free the tape and return every traced array to its own class."""
    if recording and recording[-1] is tape:
        recording.pop()
    else:
        recording.remove(tape)
    tape.active = False
    tape.entries.clear()
    for p in swapped:
        p.__class__ = Param
        p._tape = p._val = None  # no reference cycle left behind
    for a, cls, (t, i, v) in reversed(lifted):
        a._tape, a._i, a._val = t, i, v
        a.__class__ = cls


# ---------------------------------------------------------------- models: the walk, done once
#
# Differentiating with respect to a model means walking it twice per call: `_track` to trace
# its arrays and `_collect` to shape the gradient like it. A training loop does this every
# step on a model whose structure never changes, so for a model object the walk is done once
# and kept as a `_Plan`. Each call checks, by identity, that every container still holds the
# same children, and walks again if not.

class _Plan:
    """One model's walk: its containers (to check), its Params (to trace) and the gradient's form.

    ``nodes`` holds ``(container, kind, keys, children)`` for every container; ``params`` the
    distinct Params in the order `_track` meets them; ``template`` the gradient's structure, with
    an int k where Param k's gradient goes and None where no gradient can arrive.
    """

    __slots__ = ("ref", "nodes", "params", "template", "__weakref__")


_PLANS = {}  # id(model) -> its _Plan (None: walk it every time), dropped when the model dies


class _Unplannable(Exception):
    """The model holds something `_track` copies (a plain float array or a float)."""


class _Traced(Exception):
    """The model's arrays are traced already (a nested gradient): walk it this time only."""


def _plan_for(x):
    """The walk of model `x`, if it is an object that can have one and it still applies."""
    if (_KINDS.get(type(x)) or functors.kind(x)) is not functors.OBJ:
        return None  # a dict, list or tuple argument: walked each time (they are cheap)
    key = id(x)
    plan = _PLANS.get(key, False)
    if plan is None:
        return None  # this model is always walked
    if plan is not False and plan.ref() is x and _unchanged(plan):
        for p in plan.params:
            if type(p) is not Param:
                return None  # traced by an outer gradient: walk it this time
        return plan
    try:
        plan = _Plan()
        plan.nodes, plan.params = [], []
        plan.template = _walk(x, plan, {})
        plan.ref = weakref.ref(x, lambda _, plans=_PLANS: plans.pop(key, None))
    except _Traced:
        return None
    except (_Unplannable, TypeError):  # TypeError: an object that cannot be weakly referenced
        plan = None
        try:
            weakref.finalize(x, _PLANS.pop, key, None)
        except TypeError:
            return None
    _PLANS[key] = plan
    return plan


def _walk(y, plan, index):
    """Record container `y` (and what is under it) in `plan`; return its gradient template."""
    t = type(y)
    if t is Param:
        k = index.get(id(y))
        if k is not None:
            return None  # met before (tied weights): the gradient goes to the first place
        k = index[id(y)] = len(plan.params)
        plan.params.append(y)
        return k
    kind = _KINDS.get(t) or functors.kind(y)
    if kind is functors.LEAF:
        if t is Tracked:
            raise _Traced
        if isinstance(y, np.ndarray):
            if y.dtype.kind in "fc":
                raise _Unplannable  # a plain float array: `_track` traces a copy
            return None  # an integer array: a setting
        if t is float or isinstance(y, np.floating):
            raise _Unplannable
        return None  # functions, strings, integers: not variables
    kids = functors.children(y)
    keys = tuple(k for k, _ in kids)
    children = tuple(c for _, c in kids)
    if not isinstance(y, tuple):  # a tuple (or namedtuple) cannot change: no check
        plan.nodes.append((y.__dict__ if kind is functors.OBJ else y, children, keys))
    sub = tuple(_walk(c, plan, index) for c in children)
    if all(s is None for s in sub):
        return None
    # An object's gradient is a dict, built from the keys alone: not holding the object itself
    # lets the model be freed (the plan must not keep it alive).
    return kind, None if kind is functors.OBJ else y, keys, sub


def _unchanged(plan):
    """True when every mutable container of the planned model still holds the same children,
    by identity (the plan keeps the old ones alive, so no new object can reuse their ids)."""
    is_ = operator.is_
    for d, kids, keys in plan.nodes:
        if len(d) != len(kids):
            return False
        if isinstance(d, list):
            if not all(map(is_, d, kids)):
                return False
        elif not all(map(is_, d.values(), kids)) or tuple(d) != keys:
            return False
    return True


def _fill(template, gs):
    """The gradient of a planned model: `template` with ``gs[k]``, Param k's gradient, in place
    of each k (a part that receives no gradient at all is None)."""
    kind, x, keys, sub = template
    vals = [t if t is None else gs[t] if type(t) is int else _fill(t, gs) for t in sub]
    for v in vals:
        if v is not None:
            break
    else:
        return None
    if kind is functors.OBJ or type(x) is dict:
        return dict(zip(keys, vals))
    if type(x) is tuple:
        return tuple(vals)
    if type(x) is list:
        return vals
    return functors.rebuild(x, list(zip(keys, vals)))


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


def _finish_all(grads, first, params, seen):
    """`_finish` for the gradients of `params`, which are the tape entries from `first` on."""
    out = []
    for p, g in zip(params, grads[first:first + len(params)] if first else grads):
        if type(g) is np.ndarray and g.base is None and g.dtype is p.dtype \
                and g.shape == p.shape and id(g) not in seen:
            seen.add(id(g))  # `_finish`'s common case, inlined: a fresh array of p's form
            out.append(g)
        else:
            out.append(_finish(g, p, seen))
    return out


def _finish(g, like, seen):
    """Leaf gradient `g` as the user receives it: shaped like `like`, in its dtype, and an
    array of its own (`seen` holds the ids already handed out, so no two results share memory)."""
    if g is None:
        return None
    if type(g) is np.ndarray and g.base is None and type(like) is not int and type(like) is not float \
            and (g.dtype is like.dtype or g.dtype == like.dtype) and g.shape == like.shape \
            and id(g) not in seen:
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
