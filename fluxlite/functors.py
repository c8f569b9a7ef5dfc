"""Walking nested structures of arrays: the Python counterpart of Functors.jl.

Flux treats a model as a tree. A ``Chain`` holds layers, a ``Dense`` holds
``weight`` and ``bias``, and the leaves are arrays. Gradients, optimiser state,
saving and loading all walk that tree in the same order. This module is the
one place that knows how to do it, so every part of fluxlite agrees on what a
model's children are.

* dicts, lists and tuples are containers;
* an object with a ``__dict__`` (a layer, or any user class) is a container of
  its attributes, unless it is a function, a class or a module;
* NumPy arrays are leaves, and so is anything else (numbers, strings,
  functions).

A class may list the attributes that hold trainable arrays by defining
``_trainable = ("weight", "bias")``; `trainable_children` honours it.
"""
import functools
import types

import numpy as np

__all__ = ["children", "trainable_children", "fmap", "leaves", "isleaf", "kind"]

_OPAQUE = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
           types.ModuleType, type, np.ufunc, functools.partial)


def isleaf(x):
    """True when `x` has no children: arrays, numbers, strings, functions.

    >>> import numpy as np
    >>> isleaf(np.ones(3)), isleaf([np.ones(3)]), isleaf(3.0)
    (True, False, True)
    """
    return children(x) is None


LEAF, DICT, SEQ, OBJ = "leaf", "dict", "seq", "obj"
_KINDS = {}  # type -> one of the four kinds above, worked out once per type


def kind(x):
    """How `x` is walked: ``"leaf"``, ``"dict"``, ``"seq"`` (list or tuple) or ``"obj"`` (attributes).

    >>> import numpy as np
    >>> kind(np.ones(2)), kind({}), kind((1, 2)), kind(len)
    ('leaf', 'dict', 'seq', 'leaf')
    """
    t = type(x)
    k = _KINDS.get(t)
    if k is None:
        if issubclass(t, np.ndarray) or issubclass(t, _OPAQUE) or issubclass(t, (str, bytes)):
            k = LEAF
        elif issubclass(t, dict):
            k = DICT
        elif issubclass(t, (list, tuple)):
            k = SEQ
        elif getattr(t, "__dictoffset__", 0):  # instances carry a __dict__: a layer or a user class
            k = OBJ
        else:
            k = LEAF
        _KINDS[t] = k
    return k


def children(x):
    """The ``(key, child)`` pairs of a container, or None for a leaf.

    Keys are dict keys, list and tuple positions, or attribute names.

    >>> import numpy as np
    >>> children({"W": np.ones(2), "b": 0.0})
    [('W', array([1., 1.])), ('b', 0.0)]
    >>> children(np.ones(2)) is None
    True
    """
    k = _KINDS.get(type(x)) or kind(x)
    if k is LEAF:
        return None
    if k is DICT:
        return list(x.items())
    if k is SEQ:
        return list(enumerate(x))
    return list(x.__dict__.items())


def trainable_children(x):
    """Like `children`, but an object's ``_trainable`` names pick the keys.

    >>> class Affine:
    ...     _trainable = ("W",)
    ...     def __init__(self):
    ...         self.W, self.name = [1.0], "affine"
    >>> trainable_children(Affine())
    [('W', [1.0])]
    """
    kids = children(x)
    names = getattr(type(x), "_trainable", None)
    if kids is None or names is None or isinstance(x, (dict, list, tuple)):
        return kids
    return [(k, v) for k, v in kids if k in names]


def leaves(x, trainable=False):
    """Every array leaf of `x`, depth first, each object once.

    >>> import numpy as np
    >>> [a.shape for a in leaves({"a": np.ones(2), "b": [np.zeros((1, 3)), "text"]})]
    [(2,), (1, 3)]
    """
    out, seen = [], set()
    walk = trainable_children if trainable else children

    def visit(y):
        if id(y) in seen:
            return
        kids = walk(y)
        if kids is None:
            if isinstance(y, np.ndarray):
                seen.add(id(y))
                out.append(y)
            return
        seen.add(id(y))
        for _, c in kids:
            visit(c)

    visit(x)
    return out


def fmap(f, x, *ys):
    """Rebuild `x` with `f` applied to each array leaf (and matching leaves of `ys`).

    Containers are rebuilt with the same type: dicts, lists and tuples directly,
    objects as a shallow copy with new attribute values. Non-array leaves are
    kept as they are. Extra trees `ys` must have the same shape as `x`; a missing
    entry (None) is passed to `f` as None.

    >>> import numpy as np
    >>> fmap(lambda a: a * 2, {"W": np.ones(2), "act": "relu"})
    {'W': array([2., 2.]), 'act': 'relu'}
    """
    kids = children(x)
    if kids is None:
        return f(x, *ys) if isinstance(x, np.ndarray) else x
    new = []
    for k, c in kids:
        sub = [_child(y, k) for y in ys]
        new.append((k, fmap(f, c, *sub)))
    return rebuild(x, new)


def _child(y, k):
    if y is None:
        return None
    if isinstance(y, (dict, list, tuple)):
        try:
            return y[k]
        except (KeyError, IndexError):
            return None
    return getattr(y, k, None)


def rebuild(x, pairs):
    """A copy of container `x` whose children are the given ``(key, value)`` pairs.

    >>> rebuild((1, 2), [(0, "a"), (1, "b")])
    ('a', 'b')
    """
    if isinstance(x, dict):
        return type(x)(pairs) if type(x) is not dict else dict(pairs)
    if isinstance(x, tuple):
        vals = [v for _, v in pairs]
        return type(x)(*vals) if hasattr(x, "_fields") else type(x)(vals)
    if isinstance(x, list):
        return type(x)(v for _, v in pairs)
    y = object.__new__(type(x))
    y.__dict__.update(x.__dict__)
    y.__dict__.update(pairs)
    return y
