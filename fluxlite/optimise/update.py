"""Using rules to change parameters: `update_`, `setup`, `Leaf`, `adjust_`, `freeze_`, `thaw_`.

Two styles, as in Flux:

* **implicit** (the tutorial's): ``fl.update_(opt, p, g)`` changes array ``p`` in place by
  ``p -= step``. The rule ``opt`` keeps each array's state (momentum, averages) itself,
  keyed by the array's identity, so one optimiser can train ``W`` and ``b`` side by side.
  ``fl.update_(opt, ps, grads)`` does it for every array of a `Params`.
* **explicit** (modern Flux): ``state = fl.setup(rule, model)`` builds a *state tree* that
  mirrors the model, with a `Leaf` (rule + state) for each trainable array; then
  ``fl.update_(state, model, grads)`` walks the model, the state tree and the gradient
  from ``fl.gradient(lambda m: loss(m, x, y), model)[0]`` together and changes the model's
  arrays in place.

Both call the rule's ``apply(state, x, dx) -> (state, step)`` and subtract the step, so they
produce the same numbers.

This module is the reference path: one `Leaf`, one array at a time. For speed, `setup` and
`update_` hand the explicit style's element-by-element rules to `fluxlite.optimise.grouped`,
which updates many arrays with one call of the rule and gives the same numbers; with
``FLUXLITE_REFERENCE=1`` (see `fluxlite.autodiff.switch`) that is never done.

Every call of `update_` is one step that Ctrl-C cannot cut in half: its changes to the
arrays and to the optimiser state run inside ``with atomic:``
(`fluxlite.autodiff.interrupts`), which holds a KeyboardInterrupt back until they are all
done.
"""
import functools
import operator
import warnings
import weakref

import numpy as np

from .. import functors
from ..autodiff import NoGradientWarning, Param, Params
from ..autodiff.interrupts import atomic
from ..autodiff.switch import REFERENCE
from ..autodiff.tracer import Tracked, _refuse_in_place
from . import grouped
from .rules import AbstractRule, _julia

__all__ = ["Leaf", "setup", "update_", "adjust_", "freeze_", "thaw_"]


class Leaf:
    """The optimiser state of one array in a state tree: its rule, its state, and a frozen flag.

    `setup` puts one `Leaf` wherever the model has a trainable array. It prints as
    Optimisers.jl's ``Leaf`` does, with small state arrays written out and larger ones summarised.

    >>> import numpy as np
    >>> from fluxlite.optimise import setup, Momentum
    >>> setup(Momentum(), {"W": np.ones(3), "act": np.tanh})
    {'W': Leaf(Momentum(0.01, 0.9), [0.0, 0.0, 0.0]), 'act': None}
    """

    __slots__ = ("rule", "_state", "frozen", "group")

    def __init__(self, rule, state, frozen=False):
        self.rule, self._state, self.frozen = rule, state, frozen
        self.group = None  # the `grouped.Group` whose flat state holds this Leaf's state, if any

    @property
    def state(self):
        """The rule's state for this array (momentum, running averages, step counts)."""
        return self._state if self.group is None else self.group.state_of(self)

    @state.setter
    def state(self, value):
        if self.group is not None:
            self.group.disband()  # a state set from outside: each Leaf goes its own way
        self._state = value

    def __reduce__(self):  # copies (copy.deepcopy, pickle) hold their own state, not a group
        return Leaf, (self.rule, self.state, self.frozen)

    def __repr__(self):
        frozen = ", frozen = true" if self.frozen else ""
        return f"Leaf({self.rule._show(True)}, {_julia(self.state, True)}{frozen})"


# --------------------------------------------------------------------------- implicit style

def _forget(store_ref, key, ref):
    """Weakref callback: the array died, so drop its state (unless a newer entry took the id)."""
    store = store_ref()
    if store is not None:
        entry = store.get(key)
        if entry is not None and entry[0] is ref:
            del store[key]


def _state_of(opt, x):
    """The implicit-style state of array `x` under rule `opt`, created on first use."""
    store = opt._implicit
    key = id(x)
    entry = store.get(key)
    if entry is None or entry[0]() is not x:  # new array (or an id reused by a new array)
        if x.dtype.kind != "f":
            raise TypeError(_NOT_FLOAT.format(dtype=x.dtype))
        ref = weakref.ref(x, functools.partial(_forget, weakref.ref(store), key))
        entry = store[key] = [ref, opt.init(x)]
    return entry


_NOT_FLOAT = ("update_ can only change arrays of floating-point numbers, but got an array of "
              "{dtype}. Make the parameter a float array, e.g. W = fl.param(W) or W.astype(float).")


def _subtract(x, step):
    """``x -= step`` in place, on the plain-ndarray view of `x` (skips Param's wrapping).

    It is one NumPy call, so Ctrl-C cannot leave `x` half-changed."""
    out = x.view(np.ndarray) if type(x) is Param else (
        x if type(x) is np.ndarray else np.ndarray.view(x, np.ndarray))
    try:
        np.subtract(out, step, out=out)
    except TypeError:
        if x.dtype.kind != "f":
            raise TypeError(_NOT_FLOAT.format(dtype=x.dtype)) from None
        raise


def _refuse_traced(arrays):
    """Refuse to change arrays that a gradient call is using right now: inside the loss (this
    thread) or in another thread (a dashboard training in the background). Checked before
    anything is changed."""
    for x in arrays:
        if type(x) is Tracked:
            _refuse_in_place(x, "update_(...)")


def _step(opt, x, g):
    """One implicit-style step of rule `opt` on array `x` with gradient `g`: the rule's state
    for `x` (made on first use) and `x` itself change. Callers hold Ctrl-C back around it."""
    if opt._stateless:
        step = opt.apply(None, x, g)[1]
    else:
        entry = _state_of(opt, x)
        entry[1], step = opt.apply(entry[1], x, g)
    _subtract(x, step)


def _pairs(ps, grads):
    """The ``(array, gradient)`` pairs of `Params` `ps` that have a gradient, all checked
    before anything is changed."""
    todo = []
    if grads is None:
        return todo
    for x in ps:
        g = grads[x]
        if g is None:
            continue
        if type(g) is not np.ndarray:
            g = _as_gradient(g, x, None)
        if g.shape != x.shape:
            raise ValueError(_shape_message(x, g, None))
        if x.dtype.kind != "f":
            raise TypeError(_NOT_FLOAT.format(dtype=x.dtype))
        todo.append((x, g))
    return todo


def _as_gradient(g, x, path):
    if isinstance(g, np.ndarray):
        return g
    if isinstance(g, (int, float, np.number)) and not isinstance(g, bool) and x.ndim == 0:
        return np.asarray(g, dtype=x.dtype)
    where = f" at {path}" if path is not None else ""
    raise TypeError(f"update_: the gradient{where} should be an array of shape {x.shape} "
                    f"(like the parameter), but got {_kind(g)}.")


def _shape_message(x, g, path):
    where = f" at {path}" if path else ""
    return (f"update_: the gradient{where} has shape {g.shape}, but the parameter has shape "
            f"{x.shape}. They must match exactly (no broadcasting); check that the gradient "
            f"belongs to this parameter.")


def _kind(v):
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape}"
    if isinstance(v, dict):
        return f"a dict with keys {list(v)[:6]}"
    if isinstance(v, (list, tuple)):
        return f"a {type(v).__name__} of length {len(v)}"
    if v is None:
        return "None"
    return f"a {type(v).__name__}"


# --------------------------------------------------------------------------- explicit style

def setup(rule, model):
    """The state tree for training `model` with `rule`: Flux's ``Flux.setup(rule, model)``.

    The tree mirrors the model the way `fluxlite.gradient` mirrors it: an object (a layer)
    becomes a ``dict`` of its trainable attributes (``_trainable``), dicts, lists and tuples
    stay dicts, lists and tuples, each floating-point array becomes a `Leaf` holding ``rule``
    and ``rule.init(array)``, and anything else (functions, numbers, integer arrays) becomes
    None. An array that appears twice in the model gets one `Leaf`, used once per update.
    Every `Leaf` shares the same ``rule`` object, so ``rule.eta = 0.01`` changes them all.
    For rules such as Adam that treat every entry on its own, the Leaves of one dtype keep
    their states as views of one flat state, so `update_` can apply the rule to all the
    arrays at once (`fluxlite.optimise.grouped`; not with ``FLUXLITE_REFERENCE=1``); each
    Leaf still reads and prints as its own.

    >>> import numpy as np
    >>> from fluxlite.optimise import setup, Adam
    >>> model = {"W": np.zeros((1, 2), np.float32), "b": np.zeros(1), "act": np.tanh}
    >>> setup(Adam(), model)
    {'W': Leaf(Adam(0.001, (0.9, 0.999), 1.0e-8), (Float32[0.0 0.0], Float32[0.0 0.0], (0.9, 0.999))), 'b': Leaf(Adam(0.001, (0.9, 0.999), 1.0e-8), ([0.0], [0.0], (0.9, 0.999))), 'act': None}
    """
    if not isinstance(rule, AbstractRule):
        if isinstance(rule, type) and issubclass(rule, AbstractRule):
            raise TypeError(f"setup needs a rule, not the class {rule.__name__}: "
                            f"write fl.setup(fl.{rule.__name__}(), model).")
        if isinstance(model, AbstractRule):
            raise TypeError("setup takes the rule first, then the model: "
                            "state = fl.setup(rule, model).")
        raise TypeError(f"setup needs an optimisation rule such as fl.Adam(0.01) first, but got "
                        f"{_kind(rule)}. Write state = fl.setup(fl.Adam(0.01), model).")
    leaves = {}   # id(array) -> (its Leaf, the array), so a shared array gets one Leaf
    active = set()  # ids of the containers being built (guards against cycles)

    def build(x):
        if isinstance(x, np.ndarray):
            if x.dtype.kind != "f":
                return None
            found = leaves.get(id(x))
            if found is None:
                found = leaves[id(x)] = (Leaf(rule, None), x)
            return found[0]
        kids = functors.trainable_children(x)
        if kids is None or id(x) in active:
            return None
        active.add(id(x))
        try:
            built = [(k, build(c)) for k, c in kids]
        finally:
            active.discard(id(x))
        if isinstance(x, list):
            return [v for _, v in built]
        if isinstance(x, tuple):
            return tuple(v for _, v in built)
        return dict(built)

    tree = build(model)
    pairs = list(leaves.values())
    if not REFERENCE:
        grouped.init_states(rule, pairs)  # the speed trick: one flat state per dtype
    else:
        for leaf, x in pairs:
            leaf.state = rule.init(x)
    return tree


def update_(opt, model, grads):
    """Change parameters in place by one optimiser step: Flux's ``update!``.

    * ``update_(rule, p, g)``: implicit style, for one array ``p`` and its gradient ``g``;
      ``p -= step`` where the rule turns ``g`` into ``step``. The rule keeps ``p``'s state
      (keyed by the array itself, forgotten when the array is deleted). Returns ``p``.
    * ``update_(rule, ps, grads)``: the same for every array of a `Params`, with the
      `Grads` from ``fl.gradient(lambda: loss(x, y), ps)``. Returns None.
    * ``update_(state, model, grads)``: explicit style, with ``state = fl.setup(rule, model)``
      and ``grads = fl.gradient(lambda m: loss(m, x, y), model)[0]``. Changes the model's
      arrays in place and returns ``(state, model)``. If the three trees do not line up,
      nothing is changed and the error names the place, e.g. ``layers[1].weight``.

    **Ctrl-C.** Each call is one whole step. If you press Ctrl-C (or Jupyter's stop button)
    while `update_` runs, it first finishes changing every array and the optimiser state,
    then stops with ``KeyboardInterrupt``: the model is never left half-updated, and you can
    go on training from there. A loop of your own, ``for p in ps: update_(opt, p, grads[p])``,
    is several calls, so Ctrl-C can stop it between two arrays (``W`` updated, ``b`` not).
    Write ``update_(opt, ps, grads)`` instead: it updates them all as one step that Ctrl-C
    cannot split.

    **None gradients.** A gradient of None means the loss does not depend on that array.
    With a `Params` or a model, arrays whose gradient is None are left as they are (normal
    when the loss uses only some parameters). If *every* gradient is None (``g=None``, a
    `Grads` that is None for every array, a gradient tree with no array in it), there is
    no step to take: `update_` changes nothing and warns with `NoGradientWarning`. That
    usually means the loss lost track of the parameters, for instance through
    ``np.asarray(W)``; the warning lists what to check.

    >>> import numpy as np
    >>> from fluxlite.optimise import Descent, setup, update_
    >>> W = np.array([1.0, 2.0])
    >>> _ = update_(Descent(0.1), W, np.array([1.0, 1.0]))   # implicit
    >>> W
    array([0.9, 1.9])
    >>> model = {"W": np.array([1.0, 2.0]), "act": np.tanh}
    >>> state = setup(Descent(0.1), model)
    >>> state, model = update_(state, model, {"W": np.array([1.0, 1.0]), "act": None})
    >>> model["W"]
    array([0.9, 1.9])
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = update_(Descent(0.1), W, None)                  # no gradient at all
    >>> W, caught[0].category.__name__                          # W is unchanged
    (array([0.9, 1.9]), 'NoGradientWarning')
    """
    if isinstance(opt, AbstractRule):
        if isinstance(model, np.ndarray):  # the hot path of the tutorial, kept flat for speed
            x, g = model, grads
            if type(g) is not np.ndarray:
                if g is None:
                    warnings.warn(_NO_GRADIENT_ARRAY, NoGradientWarning, stacklevel=2)
                    return x
                g = _as_gradient(g, x, None)
            if g.shape != x.shape:
                raise ValueError(_shape_message(x, g, None))
            if type(x) is not Param and type(x) is not np.ndarray:
                _refuse_traced((x,))
            if opt._stateless:  # no state: the only change is x -= step, a single NumPy call
                _subtract(x, opt.apply(None, x, g)[1])
            else:
                with atomic:  # the rule's state and x change together, or not at all
                    _step(opt, x, g)
            return x
        if type(model) is Params:
            todo = _pairs(model, grads)
            if not todo:
                warnings.warn(_NO_GRADIENT_PARAMS, NoGradientWarning, stacklevel=2)
                return None
            _refuse_traced(x for x, _ in todo)
            with atomic:  # every array and its state, or none: Ctrl-C waits for the whole step
                for x, g in todo:
                    _step(opt, x, g)
            return None
        raise TypeError(
            f"update_({type(opt).__name__}(...), x, g) is the implicit style and needs x to be an "
            f"array (or fl.params(...)), but got {_kind(model)}. To train a whole model, make a "
            f"state tree first:\n    state = fl.setup(rule, model)\n"
            f"    fl.update_(state, model, grads)")
    if isinstance(opt, type) and issubclass(opt, AbstractRule):
        raise TypeError(f"update_ needs a rule, not the class {opt.__name__}: "
                        f"write fl.{opt.__name__}() with brackets.")
    if not _is_state_tree(opt):
        if _is_state_tree(model) and model is not None:
            raise TypeError("update_ takes the optimiser state first: "
                            "fl.update_(state, model, grads).")
        raise TypeError(f"update_ needs a rule (implicit style) or the state tree from fl.setup "
                        f"(explicit style) first, but got {_kind(opt)}.")
    if (type(grads) is tuple and len(grads) == 1 and type(model) is not tuple
            and not isinstance(model, np.ndarray)):
        raise TypeError("update_ got a 1-tuple of gradients: fl.gradient returns one gradient per "
                        "argument, so take the model's with [0]:\n"
                        "    grads = fl.gradient(lambda m: loss(m, x, y), model)[0]")
    todo = []
    if opt is not None and grads is not None:
        _collect(opt, model, grads, None, todo)
    if not todo:
        if not _has_gradient(grads):
            warnings.warn(_NO_GRADIENT_TREE, NoGradientWarning, stacklevel=2)
        return opt, model
    if len(set(map(id, map(_ARRAY, todo)))) != len(todo):  # an array met twice (tied weights)
        todo = _merge_shared(todo)
    with atomic:  # every array and its state, or none: Ctrl-C waits for the whole step
        if not REFERENCE:
            todo = grouped.update(todo)  # the speed trick; it leaves the rest for one by one
        for leaf, x, g in todo:
            if not leaf.frozen:
                leaf.state, step = leaf.rule.apply(leaf.state, x, g)
                _subtract(x, step)
    return opt, model


def _has_gradient(g):
    """Whether gradient `g` (a `Grads`, or a tree of dicts, lists and tuples) holds anything
    but None: an array, or a number for a 0-d parameter.

    >>> import numpy as np
    >>> _has_gradient({"W": None, "layers": [None, (None,)]}), _has_gradient([None, np.ones(1)])
    (False, True)
    """
    if g is None:
        return False
    if isinstance(g, np.ndarray):
        return True
    if isinstance(g, dict):
        return any(_has_gradient(v) for v in g.values())
    if isinstance(g, (list, tuple)):
        return any(_has_gradient(v) for v in g)
    values = getattr(g, "values", None)  # a Grads
    if callable(values):
        return any(v is not None for v in values())
    return True


_NO_GRADIENT_CAUSES = (
    "This usually means the loss does not use these parameters, or the record of them was "
    "lost on the way (the trace was dropped):\n"
    "  * np.asarray(W) or np.array(W) inside the loss makes a plain copy that fl.gradient "
    "cannot follow: compute with W itself;\n"
    "  * copying values into a plain buffer (buf[:] = W @ x) does the same: build new arrays "
    "with NumPy operations instead;\n"
    "  * the loss reads other arrays than the ones being trained: a global model instead of "
    "the loss's argument m, or arrays that are not in fl.params(...).\n"
    "Check with fl.gradient(...) that the gradient is not None before training.")

_NO_GRADIENT_ARRAY = (
    "update_(opt, p, None) changed nothing: the gradient of this array is None. "
    + _NO_GRADIENT_CAUSES + " If the loss is meant to ignore this array, update all the "
    "parameters at once with fl.update_(opt, ps, grads), which leaves arrays with a None "
    "gradient alone without a warning.")

_NO_GRADIENT_PARAMS = (
    "update_(opt, ps, grads) changed nothing: the gradient of every parameter is None. "
    + _NO_GRADIENT_CAUSES)

_NO_GRADIENT_TREE = (
    "update_(state, model, grads) changed nothing: the gradient holds no array at all (it is "
    "None for every parameter of the model). " + _NO_GRADIENT_CAUSES)


_ARRAY = operator.itemgetter(1)  # the array of a ``(leaf, array, gradient)``


def _is_state_tree(t):
    return t is None or type(t) in (Leaf, dict, list, tuple)


def _path(path):
    """Format a lazy path ``(parent, key, container)`` as ``layers[1].weight`` ("" at the top)."""
    if path is None:
        return ""
    parent, key, obj = path
    head = _path(parent)
    if isinstance(obj, (list, tuple)):
        return f"{head}[{key}]"
    if isinstance(obj, dict):
        return f"{head}[{key!r}]"
    return f"{head}.{key}" if head else str(key)


def _where(path):
    text = _path(path)
    return f"at {text}" if text else "at the top level"


_CHANGED = "The model changed after fl.setup; make a new state with fl.setup(rule, model)."


def _collect(st, x, g, path, out):
    """Walk state tree, model and gradient together; list the ``(leaf, array, gradient)`` to update.

    `path` is built lazily as nested tuples and only formatted for an error message."""
    if type(st) is Leaf:
        if not isinstance(x, np.ndarray):
            raise ValueError(f"update_: the state tree has a Leaf {_where(path)}, but the model has "
                             f"{_kind(x)} there. {_CHANGED}")
        if type(g) is not np.ndarray:
            g = _as_gradient(g, x, _path(path) or "the top level")
        if g.shape != x.shape:
            raise ValueError(_shape_message(x, g, _path(path)))
        _refuse_traced((x,))
        out.append((st, x, g))
        return
    if type(st) is dict:
        fields = x if isinstance(x, dict) else getattr(x, "__dict__", None)
        if fields is None:
            raise ValueError(f"update_: the state tree has a dict {_where(path)}, but the model has "
                             f"{_kind(x)} there. {_CHANGED}")
        if not isinstance(g, dict):
            raise TypeError(f"update_: {_where(path)} the model has {_describe(x)}, so its gradient "
                            f"should be a dict of {'entries' if fields is x else 'attribute'} -> "
                            f"gradient (as fl.gradient returns), but got {_kind(g)}.")
        for k in (() if fields.keys() >= g.keys() else g):  # the check in C; the loop on error
            if k not in fields:
                raise KeyError(f"update_: the gradient {_where(path)} has an entry {k!r}, but the "
                               f"model has no such {'key' if fields is x else 'attribute'} there "
                               f"({_describe(x)}).")
        for k, s in st.items():
            if s is None:
                continue
            gk = g.get(k)
            if gk is None:
                continue
            if k not in fields:
                raise ValueError(f"update_: the state tree has an entry {k!r} {_where(path)}, but "
                                 f"the model ({_describe(x)}) has none. {_CHANGED}")
            xk = fields[k]
            if type(s) is Leaf and type(gk) is np.ndarray \
                    and (type(xk) is Param or type(xk) is np.ndarray) and gk.shape == xk.shape:
                out.append((s, xk, gk))  # the usual Leaf, checked here without a call
            else:
                _collect(s, xk, gk, (path, k, x), out)
        return
    # a list or tuple of states
    if not isinstance(x, (list, tuple)) or len(x) != len(st):
        raise ValueError(f"update_: the state tree has a {type(st).__name__} of {len(st)} entries "
                         f"{_where(path)}, but the model has {_kind(x)} there. {_CHANGED}")
    if not isinstance(g, (list, tuple)) or len(g) != len(st):
        raise TypeError(f"update_: {_where(path)} the model has a {type(x).__name__} of {len(x)} "
                        f"entries, so its gradient should be a list or tuple of {len(x)} "
                        f"gradients (or None), but got {_kind(g)}.")
    for i, s in enumerate(st):
        if s is not None:
            gi = g[i]
            if gi is not None:
                _collect(s, x[i], gi, (path, i, x), out)


def _describe(x):
    if isinstance(x, dict):
        return f"a dict with keys {list(x)[:6]}"
    return f"a {type(x).__name__}"


def _merge_shared(todo):
    """An array that appears in several places of the model (tied weights) gets one step,
    with the gradients of all its places added up, as Optimisers.jl does."""
    merged = {}
    for leaf, x, g in todo:
        k = id(x)
        if k in merged:
            leaf0, _, g0 = merged[k]
            merged[k] = (leaf0, x, g0 + g)
        else:
            merged[k] = (leaf, x, g)
    return list(merged.values())


# --------------------------------------------------------------------------- adjusting and freezing

def adjust_(tree, eta=None, **hyperparameters):
    """Change hyperparameters in the middle of training, keeping the optimiser state: ``adjust!``.

    ``adjust_(tree, 0.01)`` sets the learning rate ``eta`` of every rule in `tree` (a state tree
    from `setup`, or a part of one); keywords change other hyperparameters, e.g.
    ``adjust_(tree, beta=(0.8, 0.99))``. As in Optimisers.jl the `Leaf` objects get new rule
    objects (the rule you passed to `setup` is left alone), so adjusting ``state["layers"][0]``
    changes only that layer. Rules without a given hyperparameter (``AdaDelta`` has no
    ``eta``) are skipped; it is an error if no rule in `tree` has it.

    Given a rule instead of a tree, ``adjust_(opt, 0.01)`` changes that rule in place
    (the same as ``opt.eta = 0.01``), which is what implicit-style training wants.

    >>> import numpy as np
    >>> from fluxlite.optimise import setup, adjust_, Adam
    >>> state = setup(Adam(), {"W": np.zeros(2)})
    >>> adjust_(state, 0.1)
    >>> state["W"].rule
    Adam(0.1, (0.9, 0.999), 1.0e-8)
    >>> adjust_(state, beta=(0.8, 0.99))
    >>> state["W"].rule
    Adam(0.1, (0.8, 0.99), 1.0e-8)
    """
    changes = dict(hyperparameters)
    if eta is not None:
        changes["eta"] = eta
    if not changes:
        raise TypeError("adjust_ needs something to change: a learning rate, adjust_(tree, 0.01), "
                        "or keywords such as adjust_(tree, beta=(0.9, 0.99)).")
    found = set()
    if isinstance(tree, AbstractRule):
        _set(tree, changes, found)
    else:
        memo = {}

        def visit(leaf):
            new = memo.get(id(leaf.rule))
            if new is None:
                new = leaf.rule._copy()
                _set(new, changes, found)
                memo[id(leaf.rule)] = new
            leaf.rule = new

        with atomic:  # every Leaf gets the change, or none does
            _leaves(tree, visit, "adjust_")
        if not memo:
            raise ValueError("adjust_ found no Leaf in this state tree: nothing to adjust.")
    missing = set(changes) - found
    if missing:
        raise AttributeError(f"adjust_: no rule in this tree has the hyperparameter"
                             f"{'s' if len(missing) > 1 else ''} {', '.join(sorted(missing))}.")


def _set(rule, changes, found):
    """Set the hyperparameters a rule (or the rules in a chain) has; note which were found."""
    if type(rule)._fields == ("opts",):
        for o in rule.opts:
            _set(o, changes, found)
        return
    for name, value in changes.items():
        if name in type(rule)._fields:
            setattr(rule, name, value)
            found.add(name)


def _leaves(tree, f, caller):
    """Call `f` on every Leaf of a state tree; refuse a model passed by mistake."""
    if tree is None:
        return
    if type(tree) is Leaf:
        f(tree)
    elif type(tree) is dict:
        for v in tree.values():
            _leaves(v, f, caller)
    elif type(tree) in (list, tuple):
        for v in tree:
            _leaves(v, f, caller)
    else:
        raise TypeError(f"{caller} acts on the state tree from fl.setup, not on the model or its "
                        f"arrays; got {_kind(tree)}. Write state = fl.setup(rule, model), then "
                        f"{caller}(state).")


def freeze_(tree):
    """Stop `update_` from changing the arrays under `tree` (part of a state tree): ``freeze!``.

    Their optimiser state is kept, and `thaw_` undoes it. To freeze the first layer of a
    ``Chain``, freeze its part of the state tree: ``freeze_(state["layers"][0])``.

    >>> import numpy as np
    >>> from fluxlite.optimise import setup, update_, freeze_, thaw_, Descent
    >>> model = {"a": np.ones(1), "b": np.ones(1)}
    >>> state = setup(Descent(0.5), model)
    >>> freeze_(state["a"])
    >>> state, model = update_(state, model, {"a": np.ones(1), "b": np.ones(1)})
    >>> model
    {'a': array([1.]), 'b': array([0.5])}
    >>> state["a"]
    Leaf(Descent(0.5), nothing, frozen = true)
    """
    def freeze(leaf):
        leaf.frozen = True
    with atomic:
        _leaves(tree, freeze, "freeze_")


def thaw_(tree):
    """Undo `freeze_`: every `Leaf` under `tree` is updated again (``thaw!``).

    >>> import numpy as np
    >>> from fluxlite.optimise import setup, freeze_, thaw_, Descent
    >>> state = setup(Descent(), [np.ones(2)])
    >>> freeze_(state); thaw_(state)
    >>> state
    [Leaf(Descent(0.1), nothing)]
    """
    def thaw(leaf):
        leaf.frozen = False
    with atomic:
        _leaves(tree, thaw, "thaw_")
