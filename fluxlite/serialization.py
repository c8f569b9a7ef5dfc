"""Saving, loading and flattening models: `state`, `loadmodel_`, `save` and `destructure`.

A model is a tree (see `fluxlite.functors`): layers hold arrays and other layers.
These functions walk that tree, and name places in it the way you would reach them
in Python: ``layers[0].weight`` is ``model.layers[0].weight``.

* `state(model)`: the model's arrays and settings as plain nested dicts, lists and
  tuples, like ``Flux.state``: a snapshot you can keep, compare or load back.
* `loadmodel_(model, source)`: copy arrays into an existing model, in place, from a
  state, another model of the same shape, or an ``.npz`` file. Like
  ``Flux.loadmodel!``, every name and shape is checked first, and on a mismatch
  nothing is copied and the error names the place and both shapes.
* `save(path, model)`: write every array of the model to an ``.npz`` file, one entry
  per array, keyed by its place (``layers[0].weight``). Only plain numeric arrays
  are written and files are read with ``allow_pickle=False``: loading a file can never
  run code, unlike pickle (or BSON/JLD2 files holding Julia code). Settings such as the
  activation function are not saved; they come from the model you build before loading.
* `destructure(model)`: all trainable numbers in one flat vector, plus a function that
  rebuilds the model from such a vector (Optimisers.jl's ``destructure``).
"""
import os
import tempfile
import zipfile
import zlib

import numpy as np

from . import functors
from .autodiff import Param, Params
from .autodiff.tracer import Tracked, untrace

__all__ = ["state", "loadmodel_", "save", "destructure", "Restructure"]

# Leaves that `state` keeps as they are (Flux keeps arrays, numbers, nothing, strings, symbols).
_PLAIN = (bool, int, float, complex, str, bytes, type(None), np.generic)


# --------------------------------------------------------------------------- walking with names

def _kids(x):
    """The ``(key, child)`` pairs of `x`, or None for a leaf. A `Params` counts as a list."""
    if isinstance(x, Params):
        return list(enumerate(x))
    return functors.children(x)


def _join(path, key, parent):
    """The name of child `key` of `parent` at `path`: ``layers[0].weight``.

    Positions in lists and tuples are ``[i]``; attribute names and string keys that are
    Python names are ``.name`` (so a model and its `state` give the same names); other
    dict keys are ``[repr(key)]``.
    """
    if isinstance(parent, (list, tuple, Params)):
        return f"{path}[{key}]"
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _show(path):
    return path if path else "(the model itself)"


def _arrays(x, path="", active=None):
    """Every array in `x` with its name, depth first (an array reached twice is listed twice)."""
    active = set() if active is None else active
    if isinstance(x, np.ndarray):
        yield path, x
        return
    kids = _kids(x)
    if kids is None or id(x) in active:
        return
    active.add(id(x))
    try:
        for k, c in kids:
            yield from _arrays(c, _join(path, k, x), active)
    finally:
        active.discard(id(x))


def _has_arrays(x):
    return next(_arrays(x), None) is not None


def _kind(v):
    if type(v) is tuple and not v:
        return "no array there (a setting, such as a function, that state() does not keep)"
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape}"
    if isinstance(v, dict):
        return "a dict"
    if isinstance(v, (list, tuple)):
        return f"a {type(v).__name__} of length {len(v)}"
    if v is None:
        return "None"
    return f"a {type(v).__name__}"


# --------------------------------------------------------------------------- state

def state(model):
    """The model's arrays and settings as plain nested containers: Flux's ``Flux.state``.

    Layers (objects) become dicts of their attributes; dicts, lists and tuples stay
    what they are. Arrays are copied as plain ``np.ndarray``, trainable or not (a
    BatchNorm's running mean is state too). Numbers, strings, booleans and None are
    kept; anything else, such as an activation function, becomes ``()`` as in Flux.

    fluxlite copies the arrays (Flux shares them), so a state is a snapshot: training
    the model afterwards does not change it, and ``loadmodel_(model, s)`` restores it.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.serialization import state
    >>> class Affine:
    ...     _trainable = ("weight", "bias")
    ...     def __init__(self, n_in, n_out):
    ...         self.weight, self.bias, self.σ = fl.ones(n_out, n_in), fl.zeros(n_out), np.tanh
    >>> model = {"layers": [Affine(1, 2), Affine(2, 1)]}
    >>> state(model)
    {'layers': [{'weight': array([[1.],
           [1.]]), 'bias': array([0., 0.]), 'σ': ()}, {'weight': array([[1., 1.]]), 'bias': array([0.]), 'σ': ()}]}
    """
    return _state(model, set())


def _state(x, active):
    if isinstance(x, np.ndarray):
        return np.array(untrace(x))  # a plain copy (np.array drops the Param class)
    if isinstance(x, _PLAIN):
        return x
    kids = _kids(x)
    if kids is None:
        return ()
    if id(x) in active:
        raise ValueError(f"state: the model contains itself (a {type(x).__name__} inside its own "
                         f"attributes), so it cannot be written out as a tree.")
    active.add(id(x))
    try:
        new = [(k, _state(c, active)) for k, c in kids]
    finally:
        active.discard(id(x))
    if isinstance(x, (list, Params)):
        return [v for _, v in new]
    if isinstance(x, tuple):
        return tuple(v for _, v in new)
    return dict(new)


# --------------------------------------------------------------------------- loadmodel_

class _Plan:
    """What loadmodel_ will copy, and what does not fit; filled before anything is copied."""

    def __init__(self):
        self.copies = []      # (destination array, source array or 0 to zero it, path)
        self.seen = {}        # id(destination array) -> index in copies (tied arrays)
        self.problems = []

    def copy(self, dst, src, path):
        k = id(dst)
        if k in self.seen:  # the same array again (tied weights): the sources must agree
            first = self.copies[self.seen[k]][1]
            if not np.array_equal(np.asarray(first), np.asarray(src)):
                self.problems.append(f"{_show(path)}: this array is shared with "
                                     f"{self.copies[self.seen[k]][2]} in the model, but the source "
                                     f"has different values in the two places")
            return
        self.seen[k] = len(self.copies)
        self.copies.append((dst, src, path))


def _check_array(dst, src, path, plan, source):
    if dst.shape != src.shape:
        plan.problems.append(f"{_show(path)}: the model has shape {dst.shape}, {source} has "
                             f"shape {src.shape}")
    elif not np.can_cast(src.dtype, dst.dtype, casting="same_kind"):
        plan.problems.append(f"{_show(path)}: the model holds {dst.dtype} numbers, {source} holds "
                             f"{src.dtype}, which cannot be converted without losing their meaning")
    else:
        plan.copy(dst, src, path)


def _walk(dst, src, path, plan, active):
    if isinstance(dst, np.ndarray):
        if isinstance(src, np.ndarray):
            _check_array(dst, src, path, plan, "the source")
        elif src is False or (isinstance(src, np.bool_) and not src):
            plan.copy(dst, 0, path)  # Flux: `false` (no bias) loads as zeros
        else:
            plan.problems.append(f"{_show(path)}: the model has an array of shape {dst.shape}, "
                                 f"the source has {_kind(src)}")
        return
    if isinstance(src, np.ndarray):
        if dst is False and not np.any(src):
            return  # an all-zero array into an absent parameter (bias=False) is fine, as in Flux
        plan.problems.append(f"{_show(path)}: the source has an array of shape {src.shape}, the "
                             f"model has {_kind(dst)}")
        return
    dkids = _kids(dst)
    if dkids is None:
        return  # a setting (function, number, string): not copied, as in Flux
    skids = _kids(src)
    if skids is None:
        if _has_arrays(dst):
            plan.problems.append(f"{_show(path)}: the model has {_kind(dst)} holding arrays, the "
                                 f"source has {_kind(src)}")
        return
    if id(dst) in active:
        return
    active.add(id(dst))
    try:
        smap = dict(skids)
        dkeys = set()
        for k, d in dkids:
            dkeys.add(k)
            sub = _join(path, k, dst)
            if k in smap:
                _walk(d, smap[k], sub, plan, active)
            elif _has_arrays(d):
                plan.problems.append(f"{sub}: missing from the source")
        for k, s in skids:
            if k not in dkeys and _has_arrays(s):
                plan.problems.append(f"{_join(path, k, dst)}: in the source but not in the model")
    finally:
        active.discard(id(dst))


def _apply(plan):
    for dst, src, _ in plan.copies:
        view = np.ndarray.view(dst, np.ndarray)
        if isinstance(src, int):
            view[...] = src
        else:
            np.copyto(view, src, casting="same_kind")


def _refuse(header, problems, hint):
    shown = problems[:20]
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return ValueError(header + "\n  " + "\n  ".join(shown) + more + "\n" + hint)


_HINT = ("Nothing was copied. Build the same architecture as the one the arrays came from "
         "(same layers, same sizes, in the same order), then load again.")


def loadmodel_(model, source):
    """Copy the arrays of `source` into `model` in place: Flux's ``Flux.loadmodel!``.

    `source` is a state from `state`, another model of the same structure, or the path
    of an ``.npz`` file written by `save`. Arrays are matched by their place in the
    model (``layers[0].weight``) and copied into the model's own arrays, so anything
    holding them (an optimiser state, ``fl.params(model)``) sees the new values.
    Settings such as activation functions are not copied and need not match.
    Zeros load into a missing parameter and ``False`` loads as zeros, as in Flux.

    Everything is checked before anything is copied: a place missing on either side,
    a different shape or an incompatible dtype raises ``ValueError`` naming each
    mismatch, and the model is left as it was. Returns the model.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.serialization import state, loadmodel_
    >>> model = {"W": fl.ones(2, 3), "b": fl.zeros(2)}
    >>> snapshot = state(model)
    >>> model["W"] -= 1.0                       # training changes the weights...
    >>> _ = loadmodel_(model, snapshot)         # ...and the snapshot brings them back
    >>> model["W"]
    Param([[1., 1., 1.],
           [1., 1., 1.]])
    >>> try:
    ...     loadmodel_(model, {"W": np.ones((3, 3)), "b": np.zeros(2)})
    ... except ValueError as e:
    ...     print(str(e).splitlines()[1])
      W: the model has shape (2, 3), the source has shape (3, 3)
    """
    if isinstance(source, (str, bytes, os.PathLike)):
        return _load_file(model, source)
    plan = _Plan()
    _walk(model, source, "", plan, set())
    if plan.problems:
        raise _refuse("loadmodel_: the source does not fit the model:", plan.problems, _HINT)
    _apply(plan)
    return model


# --------------------------------------------------------------------------- files

def save(path, model):
    """Write every array of `model` to the ``.npz`` file `path`, keyed by its place.

    The file is a plain NumPy archive: ``np.load(path)`` shows entries such as
    ``layers[0].weight``. Only numeric (and boolean) arrays are written, never
    pickled objects, and the file is written to a temporary name and then renamed, so
    an interrupted save never leaves a half-written file under `path`. Settings such as
    activation functions are not saved: load into a model built the same way with
    ``loadmodel_(model, path)``. The name is used exactly as given (no ``.npz`` is added).

    >>> import os, tempfile, numpy as np, fluxlite as fl
    >>> from fluxlite.serialization import save, loadmodel_
    >>> model = {"layers": [{"weight": fl.ones(2, 3), "σ": np.tanh}]}
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(path, model)
    >>> sorted(np.load(path).files)
    ['layers[0].weight']
    >>> fresh = {"layers": [{"weight": fl.zeros(2, 3), "σ": np.tanh}]}
    >>> loadmodel_(fresh, path)["layers"][0]["weight"].sum()
    np.float64(6.0)
    """
    entries = []
    keys = set()
    for key, a in _arrays(model):
        a = np.asarray(untrace(a))
        if a.dtype.kind not in "biufc":
            raise TypeError(f"save: {_show(key)} is an array of {a.dtype}; only numeric arrays are "
                            f"saved (a file of plain numbers can be loaded without running code).")
        if key in keys:
            continue
        keys.add(key)
        entries.append((key, a))
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fluxlite-save-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
            for key, a in entries:
                with z.open(key + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(a), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


_CORRUPT = ("loadmodel_: cannot read {path!r} as a model file: {why}.\n"
            "The file is damaged or truncated (was saving interrupted, or the download cut "
            "short?), or it is not an .npz file written by fl.save. Save the model again with "
            "fl.save(path, model).")


def _read(path):
    """All entries of the .npz file at `path` as plain arrays; never unpickles anything."""
    path = os.fsdecode(os.fspath(path))
    if not os.path.exists(path):
        hint = (f" (there is a file {path + '.npz'!r}: did you mean that?)"
                if os.path.exists(path + ".npz") else "")
        raise FileNotFoundError(f"loadmodel_: there is no file {path!r}{hint}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(_CORRUPT.format(path=path, why="it is not a zip archive (an .npz file is one)"))
    try:
        with np.load(path, allow_pickle=False) as z:
            others = [n for n in z.zip.namelist() if not n.endswith(".npy")]
            if others:
                raise ValueError(_CORRUPT.format(
                    path=path, why=f"it holds entries that are not arrays ({others[0]!r})"))
            return {k: z[k] for k in z.files}
    except ValueError as err:
        if str(err).startswith("loadmodel_:"):
            raise
        if "allow_pickle" in str(err):
            why = "it holds pickled Python objects, which fluxlite never loads (they can run code)"
        else:
            why = str(err)
        raise ValueError(_CORRUPT.format(path=path, why=why)) from err
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError) as err:
        raise ValueError(_CORRUPT.format(path=path, why=f"{type(err).__name__}: {err}")) from err


def _load_file(model, path):
    stored = _read(path)
    plan = _Plan()
    expected = set()
    for key, a in _arrays(model):
        expected.add(key)
        if key not in stored:
            plan.problems.append(f"{_show(key)}: missing from the file (the model has shape {a.shape})")
        else:
            _check_array(a, stored[key], key, plan, "the file")
    for key in stored:
        if key not in expected:
            plan.problems.append(f"{_show(key)}: in the file (shape {stored[key].shape}) but not in "
                                 f"the model")
    if plan.problems:
        raise _refuse(f"loadmodel_: the file {os.fsdecode(os.fspath(path))!r} does not fit this "
                      f"model:", plan.problems, _HINT)
    _apply(plan)
    return model


# --------------------------------------------------------------------------- destructure

def _trainable_arrays(x, out, seen, active):
    """The trainable floating-point arrays of `x`, depth first, each array once."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fc" and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
        return
    kids = _kids(x) if isinstance(x, Params) else functors.trainable_children(x)
    if kids is None or id(x) in active:
        return
    active.add(id(x))
    try:
        for _, c in kids:
            _trainable_arrays(c, out, seen, active)
    finally:
        active.discard(id(x))


class Restructure:
    """Rebuilds a model from a flat vector; the second result of `destructure`.

    ``re(v)`` returns a copy of the model whose trainable arrays are filled, in order,
    from vector `v` (its length must be ``len(re)``); everything else (functions,
    settings, non-trainable arrays) is shared with the original. ``re(x, v)`` is
    ``re(v)(x)``. Inside `fluxlite.gradient` the rebuilt arrays stay traced, so
    gradients flow from the model's output back to `v`.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.serialization import destructure
    >>> v, re = destructure({"W": fl.ones(2, 2), "b": fl.zeros(2)})
    >>> re
    Restructure(dict, ..., 6)
    >>> re(np.arange(6.0))["W"]
    Param([[0., 1.],
           [2., 3.]])
    """

    def __init__(self, model, arrays):
        self.model = model
        self._arrays = arrays                # keeps the originals alive, so their ids stay theirs
        self._where = {}
        offset = 0
        for a in arrays:
            self._where[id(a)] = (offset, a)
            offset += a.size
        self.length = offset

    def __len__(self):
        return self.length

    def __repr__(self):
        return f"Restructure({type(self.model).__name__}, ..., {self.length})"

    def __call__(self, *args):
        if len(args) == 2:
            x, flat = args
            return self(flat)(x)
        if len(args) != 1:
            raise TypeError("re takes the flat vector, re(v), or an input and the vector, re(x, v).")
        flat = args[0]
        if isinstance(flat, (list, tuple)):
            flat = np.asarray(flat, dtype=float)
        if np.ndim(flat) != 1 or np.shape(flat)[0] != self.length:
            raise ValueError(f"Restructure expected a vector of length {self.length} (the number of "
                             f"trainable numbers in the model), but got shape {np.shape(flat)}.")
        made = {}
        return self._rebuild(self.model, flat, made, set())

    def _piece(self, a, flat, made):
        k = id(a)
        if k not in made:
            offset, _ = self._where[k]
            piece = np.reshape(flat[offset:offset + a.size], a.shape)
            if type(piece) is Tracked:
                if piece.dtype != a.dtype:
                    piece = piece.astype(a.dtype)  # traced: gradients flow back to the vector
            else:
                piece = np.array(piece, dtype=a.dtype)  # a fresh copy in the original precision
                if isinstance(a, (Param, Tracked)):
                    piece = piece.view(Param)
            made[k] = piece
        return made[k]

    def _rebuild(self, x, flat, made, active):
        if isinstance(x, np.ndarray):
            if id(x) in self._where:
                return self._piece(x, flat, made)
            return x
        if isinstance(x, Params):
            return Params([self._rebuild(p, flat, made, active) for p in x])
        kids = functors.trainable_children(x)
        if kids is None or id(x) in active:
            return x
        active.add(id(x))
        try:
            new = [(k, self._rebuild(c, flat, made, active)) for k, c in kids]
        finally:
            active.discard(id(x))
        if all(n is c for (_, n), (_, c) in zip(new, kids)):
            return x
        return functors.rebuild(x, new)  # an object becomes a shallow copy with new trainable arrays


def destructure(model):
    """All trainable numbers of `model` in one flat vector, and a function to rebuild it.

    ``v, re = destructure(model)``: `v` holds every trainable floating-point array,
    flattened in NumPy's row-major order, one after the other (depth first, each array
    once even if the model uses it twice); ``re(v2)`` builds a copy of the model with
    arrays taken from `v2` (see `Restructure`). This is Optimisers.jl's
    ``destructure``: handy for treating a model as a point in parameter space, e.g.
    for plotting a loss landscape, or for optimisers that work on one vector. The vector
    has the common dtype of the arrays; `re` converts back to each array's own dtype.

    >>> import numpy as np, fluxlite as fl
    >>> from fluxlite.serialization import destructure
    >>> model = {"W": fl.param([[1.0, 2.0], [3.0, 4.0]]), "b": fl.param([5.0, 6.0]), "σ": np.tanh}
    >>> v, re = destructure(model)
    >>> v
    array([1., 2., 3., 4., 5., 6.])
    >>> m2 = re(2 * v)
    >>> m2["b"], m2["σ"] is np.tanh
    (Param([10., 12.]), True)
    >>> f = lambda v: np.sum(re(v)["W"] @ np.ones(2))          # differentiable through re
    >>> fl.gradient(f, v)[0]
    array([1., 1., 1., 1., 0., 0.])
    """
    arrays = []
    _trainable_arrays(model, arrays, set(), set())
    if not arrays:
        flat = np.zeros(0)
    else:
        flat = np.concatenate([np.reshape(a, -1) for a in arrays])
        if type(flat) is not Tracked:
            flat = np.ndarray.view(np.array(flat), np.ndarray)
    return flat, Restructure(model, arrays)
