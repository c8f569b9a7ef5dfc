"""A speed trick for the explicit style: one flat optimiser state for many arrays.

The reference path (`fluxlite.optimise.update`) gives every trainable array its own `Leaf`
with its own state, and `update_` applies the rule to one array after another. For Adam on a
two-layer model that is 11 NumPy calls per array, 44 a step, each on a small array, and the
time goes into calling NumPy rather than into arithmetic.

Here, `setup` joins the arrays of one dtype end to end and makes the rule's state once, for
the joined array (`init_states`). `update_` then joins the gradients the same way and applies
the rule once (`update`): 11 NumPy calls a step, whatever the number of arrays. PyTorch's
"foreach" optimisers do the same.

**Why the numbers are identical.** Only rules that treat every entry on its own are grouped
(``rule._elementwise``: Descent, Momentum, Adam and most others; not ClipNorm, whose step
depends on the norm of the whole array). For such a rule, entry i of the step depends only on
entry i of the state, the gradient and the parameter, so applying it to the joined arrays
computes, entry by entry, exactly the floating-point operations that applying it to each
array would. The tests compare both ways for every rule, in both modes of the switch.

Each `Leaf` still reads and prints as its own: ``leaf.state`` gives views of its stretch of
the flat state, shaped like its array. When the group cannot apply (a Leaf frozen or given
another rule by ``adjust_``, a gradient missing or of another dtype) its Leaves are updated
one by one through those views, exactly as on the reference path. Setting a Leaf's state
from outside disbands the group.

With ``FLUXLITE_REFERENCE=1`` this module is not used at all (see `fluxlite.autodiff.switch`).

>>> import numpy as np
>>> from fluxlite.optimise import Adam, setup, update_
>>> model = {"W": np.ones((2, 2)), "b": np.zeros(2)}
>>> state = setup(Adam(0.1), model)
>>> grouped = state["W"].group is not None        # False with FLUXLITE_REFERENCE=1
>>> grouped == (state["b"].group is state["W"].group is not None)
True
>>> state, model = update_(state, model, {"W": np.ones((2, 2)), "b": np.ones(2)})
>>> model["b"]                                    # the same numbers either way
array([-0.1, -0.1])
"""
import numpy as np

from ..autodiff.interrupts import atomic

__all__ = ["Group", "init_states", "update"]


def init_states(rule, pairs):
    """Give each ``(Leaf, array)`` of `pairs` its starting state, with a `Group` per dtype.

    The arrays of one dtype share a `Group` when there are two or more of them and ``rule``
    treats every entry on its own; any other array gets ``rule.init(array)`` of its own.

    >>> import numpy as np
    >>> from fluxlite.optimise import Leaf, Momentum
    >>> rule = Momentum()
    >>> a, b = Leaf(rule, None), Leaf(rule, None)
    >>> init_states(rule, [(a, np.ones(2)), (b, np.ones(3))])
    >>> a.group is b.group, a.state.shape, b.state.shape
    (True, (2,), (3,))
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
            Group(rule, items)


def update(todo):
    """Apply the groups to `todo`, a list of ``(leaf, array, gradient)``; return what is left.

    The usual case, one group holding every Leaf of `todo`, is tried first; otherwise each
    group takes its own items if it can. The items returned are for the caller to update one
    by one. The caller holds Ctrl-C back around this and the one-by-one updates (``atomic``).

    >>> import numpy as np
    >>> from fluxlite.optimise import Descent, Leaf
    >>> update([(Leaf(Descent(), None), np.ones(1), np.ones(1))])   # no group: all left over
    [(Leaf(Descent(0.1), nothing), array([1.]), array([1.]))]
    """
    group = todo[0][0].group
    if group is None:
        return todo
    if group.update(todo):
        return ()
    groups = {}
    for item in todo:
        groups.setdefault(item[0].group, []).append(item)
    rest = groups.pop(None, [])
    for group, items in groups.items():
        if not group.update(items):
            rest.extend(items)
    return rest


def _minus(x, step):
    """``x -= step`` in place on `x`'s plain-ndarray view (the group checked x is a float array)."""
    view = np.ndarray.view(x, np.ndarray)
    np.subtract(view, step, out=view)


class Group:
    """Leaves of one state tree with the same rule and dtype, whose states live in one flat state.

    Made by `init_states`: the group's state is ``rule.init`` of all its arrays joined end to
    end, and each Leaf's ``state`` reads views of its own stretch of it, shaped like its array.
    `update` applies the rule once to the joined gradients when it is given exactly its
    Leaves, in order, none frozen, with the same rule and gradients of their arrays' dtype.

    >>> import numpy as np
    >>> from fluxlite.optimise import Descent, Leaf
    >>> rule = Descent(0.5)
    >>> leaves, arrays = [Leaf(rule, None), Leaf(rule, None)], [np.ones(2), np.ones((1, 2))]
    >>> group = Group(rule, list(zip(leaves, arrays)))
    >>> group.update([(l, x, np.ones_like(x)) for l, x in zip(leaves, arrays)])
    True
    >>> arrays
    [array([0.5, 0.5]), array([[0.5, 0.5]])]
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
        """`leaf`'s state: views of its stretch of the flat state, shaped like its array."""
        if self.parts is None:
            old, self.views = self.views, {}
            self.parts = self._split(self.flat, old)
        return self.parts[self.leaves.index(leaf)]

    def disband(self):
        """Give every Leaf its part of the flat state to keep, and leave them."""
        with atomic:  # all of them or none: a half-disbanded group would update stale views
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
                _minus(x, part)
            return True
        for (_, x, _), cut, target in zip(todo, self.cuts, self.targets):
            if target[0] is not x:  # first use, or the model holds a new array here
                if not x.flags.c_contiguous:
                    _minus(x, step[cut].reshape(x.shape))
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
