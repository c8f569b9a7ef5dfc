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
"""
import functools
import operator
import weakref

import numpy as np

from .. import functors
from ..autodiff import Param, Params
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
        self.group = None  # the `_Group` whose flat state holds this Leaf's state, if any

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
    """``x -= step`` in place, on the plain-ndarray view of `x` (skips subclass wrapping)."""
    try:
        if type(x) is np.ndarray:
            np.subtract(x, step, out=x)
        else:
            view = np.ndarray.view(x, np.ndarray)
            np.subtract(view, step, out=view)
    except TypeError:
        if x.dtype.kind != "f":
            raise TypeError(_NOT_FLOAT.format(dtype=x.dtype)) from None
        raise


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
    arrays at once (see `_Group`); each Leaf still reads and prints as its own.

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
    _init_states(rule, list(leaves.values()))
    return tree


def _init_states(rule, pairs):
    """Give each ``(Leaf, array)`` its starting state, ``rule.init(array)``.

    For a rule that treats every entry on its own (``rule._elementwise``), the arrays of one
    dtype share a `_Group`: the state is made once for all of them joined end to end, and each
    Leaf's state holds views of its own stretch of it.
    """
    by_dtype = {}
    if rule._elementwise:
        for leaf, x in pairs:
            by_dtype.setdefault(x.dtype, []).append((leaf, x))
    for leaf, x in pairs:
        if len(by_dtype.get(x.dtype, ())) < 2:
            leaf.state = rule.init(x)
    for items in by_dtype.values():
        if len(items) > 1:
            _Group(rule, items)


def update_(opt, model, grads):
    """Change parameters in place by one optimiser step: Flux's ``update!``.

    * ``update_(rule, p, g)``: implicit style, for one array ``p`` and its gradient ``g``;
      ``p -= step`` where the rule turns ``g`` into ``step``. The rule keeps ``p``'s state
      (keyed by the array itself, forgotten when the array is deleted). ``g=None`` does
      nothing. Returns ``p``.
    * ``update_(rule, ps, grads)``: the same for every array of a `Params`, with the
      `Grads` from ``fl.gradient(lambda: loss(x, y), ps)``. Returns None.
    * ``update_(state, model, grads)``: explicit style, with ``state = fl.setup(rule, model)``
      and ``grads = fl.gradient(lambda m: loss(m, x, y), model)[0]``. Changes the model's
      arrays in place and returns ``(state, model)``. None anywhere in ``grads`` means no
      gradient there. If the three trees do not line up, nothing is changed and the error
      names the place, e.g. ``layers[1].weight``.

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
    """
    if isinstance(opt, AbstractRule):
        if isinstance(model, np.ndarray):  # the hot path of the tutorial, kept flat for speed
            x, g = model, grads
            if type(g) is not np.ndarray:
                if g is None:
                    return x
                g = _as_gradient(g, x, None)
            if g.shape != x.shape:
                raise ValueError(_shape_message(x, g, None))
            if opt._stateless:
                step = opt.apply(None, x, g)[1]
            else:
                entry = _state_of(opt, x)
                entry[1], step = opt.apply(entry[1], x, g)
            out = x.view(np.ndarray) if type(x) is Param else (
                x if type(x) is np.ndarray else np.ndarray.view(x, np.ndarray))
            try:
                np.subtract(out, step, out=out)
            except TypeError:
                _subtract(x, step)  # says what is wrong
            return x
        if type(model) is Params:
            if grads is None:
                return None
            for p in model:
                update_(opt, p, grads[p])
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
    if len(set(map(id, map(_ARRAY, todo)))) != len(todo):  # an array met twice (tied weights)
        todo = _merge_shared(todo)
    if todo and todo[0][0].group is not None:
        if todo[0][0].group.update(todo):  # the usual case: one group holds every Leaf
            return opt, model
        todo = _update_groups(todo)
    for leaf, x, g in todo:
        if leaf.frozen:
            continue
        leaf.state, step = leaf.rule.apply(leaf.state, x, g)
        out = x if type(x) is np.ndarray else np.ndarray.view(x, np.ndarray)  # skip Param's wrap
        try:
            np.subtract(out, step, out=out)
        except TypeError:
            _subtract(x, step)  # says what is wrong
    return opt, model


class _Group:
    """Leaves of one state tree with the same rule and dtype, whose states live in one flat state.

    `setup` makes the group's state once, ``rule.init`` of all its arrays joined end to end.
    `update_` can then apply the rule once, to the joined gradients, instead of once per
    array: for Adam on a two-layer model that is 11 NumPy calls a step instead of 44
    (PyTorch's "foreach" optimisers do the same). Only rules that treat every entry on its
    own (``rule._elementwise``) are grouped, so the numbers are the same either way. Reading
    ``leaf.state`` gives views of the Leaf's own stretch of the flat state, shaped like its
    array.

    The group is used when all its Leaves are being updated, none frozen, with the same rule
    and gradients of their arrays' dtype; otherwise they are updated one by one, as without a
    group. Setting a Leaf's state from outside disbands the group: each Leaf keeps (views of)
    its state and is updated one by one from then on.
    """

    __slots__ = ("leaves", "dtype", "shapes", "cuts", "size", "flat", "parts", "views", "targets")

    def __init__(self, rule, items):
        self.leaves = [leaf for leaf, _ in items]
        self.dtype = items[0][1].dtype
        self.shapes = [x.shape for _, x in items]
        self.cuts, end = [], 0  # each array's stretch of the flat state
        for _, x in items:
            self.cuts.append(slice(end, end + x.size))
            end += x.size
        self.size = end
        self.flat = rule.init(np.concatenate([np.ravel(x) for _, x in items]))
        self.parts = None  # the per-Leaf states of `flat`, made when first read
        self.views = {}
        self.targets = [[None, None] for _ in self.leaves]  # [array, its flat plain view]
        for leaf in self.leaves:
            leaf.group, leaf._state = self, None

    def state_of(self, leaf):
        if self.parts is None:
            old, self.views = self.views, {}
            self.parts = self._split(self.flat, old)
        return self.parts[self.leaves.index(leaf)]

    def disband(self):
        """Give every Leaf its part of the flat state to keep, and leave them."""
        for leaf in self.leaves:
            state = leaf.state
            leaf.group, leaf._state = None, state

    def update(self, todo):
        """Update the arrays of `todo`, a list of ``(leaf, array, gradient)``, in one go if it
        holds exactly this group's Leaves, in order, and the group applies. Say whether it did."""
        leaves = self.leaves
        if len(todo) != len(leaves):
            return False
        rule = leaves[0].rule
        if not rule._elementwise:
            return False
        dtype = self.dtype
        for (leaf, x, g), mine, shape in zip(todo, leaves, self.shapes):
            if leaf is not mine or leaf.rule is not rule or leaf.frozen \
                    or x.dtype is not dtype or g.dtype is not dtype or x.shape != shape:
                return False
        dx = np.concatenate([g.ravel() for _, _, g in todo])
        x = np.concatenate([x.ravel() for _, x, _ in todo]) if rule._reads_x else None
        self.flat, step = rule.apply(self.flat, x, dx)
        self.parts = None
        if type(step) is not np.ndarray or step.shape != (self.size,):
            for (_, x, _), part in zip(todo, self._split(step, {})):
                _subtract(x, part)
            return True
        for (_, x, _), cut, target in zip(todo, self.cuts, self.targets):
            if target[0] is not x:  # first use, or the model holds a new array here
                if not x.flags.c_contiguous:
                    _subtract(x, step[cut].reshape(x.shape))
                    continue
                target[:] = x, np.ndarray.view(x, np.ndarray).reshape(-1)  # a view of x
            flat = target[1]
            np.subtract(flat, step[cut], out=flat)
        return True

    def _split(self, s, old):
        """`s` (a flat state or step) cut into a list of one part per Leaf."""
        parts = self._parts(s, old)
        return [s] * len(self.leaves) if parts is None else parts

    def _parts(self, s, old):
        """The per-Leaf parts of `s`, or None when nothing in it is flat (then all share it).

        A flat array becomes views of each Leaf's stretch, shaped like its array, and the views
        are reused while the rule keeps updating the same array in place (`old` holds those
        made last time). A tuple is cut element by element; anything else is shared."""
        if type(s) is tuple:
            cut = [self._parts(v, old) for v in s]
            if all(c is None for c in cut):
                return None
            n = len(self.leaves)
            return list(zip(*[[v] * n if c is None else c for v, c in zip(s, cut)]))
        if type(s) is np.ndarray and s.shape == (self.size,):
            known = old.get(id(s))
            if known is not None and known[0] is s:
                parts = known[1]
            else:
                parts = [s[cut].reshape(shape) for cut, shape in zip(self.cuts, self.shapes)]
            self.views[id(s)] = (s, parts)
            return parts
        return None


def _update_groups(todo):
    """Update what `_Group`s can do in one go; give back the rest of `todo`, for one by one."""
    groups = {}
    for item in todo:
        groups.setdefault(item[0].group, []).append(item)
    rest = groups.pop(None, [])
    for group, items in groups.items():
        if not group.update(items):
            rest.extend(items)
    return rest


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
            if type(s) is Leaf and type(gk) is np.ndarray and isinstance(xk, np.ndarray) \
                    and gk.shape == xk.shape:
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
    _leaves(tree, thaw, "thaw_")
