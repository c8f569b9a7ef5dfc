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
  The file is written next to its final place and renamed over it, so an interrupted
  save never leaves half a file.
* `load(path)`: read such a file back as a state (nested dicts and lists of arrays), like
  JLD2's ``load``; ``loadmodel_(model, load(path))`` then fills a model with it.
* `destructure(model)`: all trainable numbers in one flat vector, plus a function that
  rebuilds the model from such a vector (Optimisers.jl's ``destructure``).
"""
import ast
import errno
import os
import re
import secrets
import stat
import zipfile
import zlib

import numpy as np

from . import functors
from .autodiff import Param, Params
from .autodiff.tracer import Tracked, untrace

__all__ = ["state", "loadmodel_", "save", "load", "destructure", "Restructure"]

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

    `source` is a state from `state` or `load`, another model of the same structure, or
    the path of an ``.npz`` file written by `save`. Arrays are matched by their place in the
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

def _fspath(path):
    path = os.fspath(path)
    return os.fsdecode(path) if isinstance(path, bytes) else path


def _filekind(st):
    """What a non-regular file is, in words, from its `os.stat` result."""
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _save_target(path):
    """Where `save` writes for `path`, checked: ``(target, mode, where)``.

    `target` is the file to replace: `path` itself, or for a symbolic link the file it
    points to, so the link keeps working. `mode` is the permission bits the new file gets:
    those of the file it replaces, or None for a new file (the umask decides, as for any
    new file). `where` names the file in messages, always by the user's own path.
    """
    target = os.path.realpath(path) if os.path.islink(path) else path
    where = repr(path) if target == path else f"{path!r} (a link to {target!r})"
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as err:
        if err.errno == errno.ELOOP or os.path.islink(target):
            raise OSError(f"save: {path!r} is a symbolic link that leads, through other links, "
                          f"back to itself, so there is no file to write. Remove the link, or save "
                          f"under another name.") from None
        raise type(err)(f"save: cannot write {where}: {err.strerror}.") from None
    folder = os.path.dirname(os.path.abspath(target))
    if st is None:
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"save: cannot write {where}: the folder {folder!r} does not "
                                    f"exist. Create it first, with os.makedirs(folder, "
                                    f"exist_ok=True), or save somewhere else.")
        mode = None
    elif stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"save: {where} is a folder, not a file. Give a file name inside "
                                f"it, e.g. fl.save(os.path.join({path!r}, 'model.npz'), model).")
    elif not stat.S_ISREG(st.st_mode):
        raise OSError(f"save: {where} is {_filekind(st)}, not a regular file. fl.save writes only "
                      f"regular files (it replaces one, or creates a new one), so it leaves this "
                      f"alone. Give the name of a file instead.")
    elif not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(f"save: {where} is read-only, so fl.save does not replace it. Save "
                              f"under another name, or, if you mean to overwrite it, make it "
                              f"writable first (os.chmod(path, 0o644)).")
    else:
        mode = stat.S_IMODE(st.st_mode)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"save: cannot write {where}: you may not create files in the folder "
                              f"{folder!r}. fl.save writes a new file next to {os.path.basename(target)!r} "
                              f"and then renames it into place, so that an interrupted save never "
                              f"leaves a half-written file. Save in a folder you can write to.")
    return target, mode, where


def _new_file(folder, mode):
    """A new, empty, hidden file in `folder`: ``(file descriptor, name)``.

    It is created with permissions 0o666 less the umask, like any new file (NumPy's
    ``np.savez`` gives 0o644 under the usual umask 0o022), or given `mode` if not None.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        name = os.path.join(folder, f".fluxlite-save-{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(name, flags, 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.chmod(name, mode)
            except BaseException:
                os.close(fd)
                os.remove(name)
                raise
        return fd, name


def save(path, model):
    """Write every array of `model` to the ``.npz`` file `path`, keyed by its place.

    The file is a plain NumPy archive: ``np.load(path)`` shows entries such as
    ``layers[0].weight``. Only numeric (and boolean) arrays are written, never
    pickled objects. Settings such as activation functions are not saved: load into a
    model built the same way with ``loadmodel_(model, path)``, or read the arrays back
    with `load`. The name is used exactly as given (no ``.npz`` is added).

    Saving is safe to interrupt: the arrays go to a new file in the same folder, which is
    then renamed over `path` in one step, so `path` holds either the old file or the new
    one, never half of one. Because of that:

    * a symbolic link is followed: the file it points to is replaced, in that file's
      folder, and the link stays a link;
    * an existing file keeps its permissions; a new one gets the usual ones (0o666 less
      the umask: 0o644 under the common umask 0o022, as ``np.savez`` gives);
    * a read-only file is not replaced (``PermissionError``), a folder is refused
      (``IsADirectoryError``), and so is anything else that is not a regular file, such
      as a device or a named pipe (``OSError``). Every message names `path`.

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
    >>> os.chmod(path, 0o444)                 # a read-only checkpoint is left alone
    >>> try:
    ...     save(path, model)
    ... except PermissionError as e:
    ...     print(str(e).split(",")[0])
    save: '...model.npz' is read-only
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
    path = _fspath(path)
    target, mode, where = _save_target(path)
    tmp = None
    try:
        fd, tmp = _new_file(os.path.dirname(os.path.abspath(target)), mode)
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
                for key, a in entries:
                    with z.open(key + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.ascontiguousarray(a), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as err:
        # The temporary file is ours, not the user's: name their path instead.
        new = type(err)(f"save: could not write {where}: {err.strerror or err}. Nothing was "
                        f"changed at {path!r}.")
        new.errno = err.errno
        raise new from None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.remove(tmp)


_CORRUPT = ("{who}: cannot read {path!r} as a model file: {why}.\n"
            "The file is damaged or truncated (was saving interrupted, or the download cut "
            "short?), or it is not an .npz file written by fl.save. Save the model again with "
            "fl.save(path, model).")


def _read(path, who="loadmodel_"):
    """All entries of the .npz file at `path` as plain arrays; never unpickles anything.

    A missing file, a folder, a device and a file you may not read are each reported as
    what they are; only a readable regular file that is not a good archive is "damaged".
    """
    path = _fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        hint = (f" (there is a file {path + '.npz'!r}: did you mean that?)"
                if os.path.exists(path + ".npz") else "")
        raise FileNotFoundError(f"{who}: there is no file {path!r}{hint}.") from None
    except PermissionError:
        raise PermissionError(f"{who}: you may not open the folder that holds {path!r} "
                              f"(permission denied); the file is not necessarily damaged. Ask the "
                              f"folder's owner for access, or copy the file somewhere you can "
                              f"read.") from None
    except OSError as err:
        raise type(err)(f"{who}: cannot open {path!r}: {err.strerror}.") from None
    if stat.S_ISDIR(st.st_mode):
        try:
            inside = sorted(n for n in os.listdir(path) if n.endswith(".npz"))
        except OSError:
            inside = []
        hint = (f" It holds {', '.join(repr(n) for n in inside[:3])}"
                f"{', ...' if len(inside) > 3 else ''}: give the path of one of them, e.g. "
                f"{os.path.join(path, inside[0])!r}." if inside else
                " Give the path of the .npz file that fl.save wrote.")
        raise IsADirectoryError(f"{who}: {path!r} is a folder, not a model file.{hint}")
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{who}: {path!r} is {_filekind(st)}, not a model file. Give the path of "
                      f"the .npz file that fl.save wrote.")
    try:
        f = open(path, "rb")
    except PermissionError:
        raise PermissionError(f"{who}: you are not allowed to read {path!r} (permission denied); "
                              f"that says nothing about whether the file is damaged. Make it "
                              f"readable (chmod u+r on Linux and macOS) or ask its owner.") from None
    with f:
        if not zipfile.is_zipfile(f):
            raise ValueError(_CORRUPT.format(who=who, path=path,
                                             why="it is not a zip archive (an .npz file is one)"))
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as z:
                others = [n for n in z.zip.namelist() if not n.endswith(".npy")]
                if others:
                    raise ValueError(_CORRUPT.format(
                        who=who, path=path,
                        why=f"it holds entries that are not arrays ({others[0]!r})"))
                return {k: z[k] for k in z.files}
        except ValueError as err:
            if str(err).startswith(f"{who}:"):
                raise
            if "allow_pickle" in str(err):
                why = "it holds pickled Python objects, which fluxlite never loads (they can run code)"
            else:
                why = str(err)
            raise ValueError(_CORRUPT.format(who=who, path=path, why=why)) from err
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError) as err:
            raise ValueError(_CORRUPT.format(who=who, path=path,
                                             why=f"{type(err).__name__}: {err}")) from err


_NAME = re.compile(r"[^\W\d]\w*")


def _steps(key):
    """The steps of a place's name: ``"layers[0].weight"`` -> ``["layers", 0, "weight"]``.

    Returns None for a name that `save` would not write.
    """
    steps, i = [], 0
    while i < len(key):
        if key[i] == "[":
            end = key.find("]", i)
            while end != -1:  # a quoted dict key may itself hold "]"
                try:
                    steps.append(ast.literal_eval(key[i + 1:end]))
                    break
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    end = key.find("]", end + 1)
            if end == -1:
                return None
            i = end + 1
            continue
        if key[i] == "." and steps:
            i += 1
        m = _NAME.match(key, i)
        if m is None:
            return None
        steps.append(m.group())
        i = m.end()
    return steps


def _tree(node):
    """Nested dicts from `_unflatten` as Flux-like state: integer positions become lists."""
    if not isinstance(node, dict):
        return node
    if node and all(type(k) is int and k >= 0 for k in node):
        out = [()] * (max(node) + 1)  # a layer with no arrays (MaxPool, flatten) leaves ()
        for k, v in node.items():
            out[k] = _tree(v)
        return out
    return {k: _tree(v) for k, v in node.items()}


def _unflatten(stored, path, who):
    if "" in stored:  # the model was a single array
        if len(stored) == 1:
            return stored[""]
    root = {}
    for key, a in stored.items():
        steps = _steps(key)
        if not steps:
            raise ValueError(_CORRUPT.format(
                who=who, path=path, why=f"its entry {key!r} is not the name of a place in a model "
                                        f"(such as 'layers[0].weight')"))
        node = root
        for i, s in enumerate(steps):
            last = i == len(steps) - 1
            held = node.get(s)
            if (last and s in node) or (not last and held is not None and not isinstance(held, dict)):
                raise ValueError(_CORRUPT.format(
                    who=who, path=path, why=f"its entry {key!r} clashes with another entry (one "
                                            f"place cannot be both an array and a container)"))
            if last:
                node[s] = a
            else:
                node = node.setdefault(s, {})
    return _tree(root)


def load(path):
    """Read a file written by `save` back as a state: nested dicts and lists of arrays.

    This is the pair of JLD2's ``load`` and Flux's ``loadmodel!``: in Julia you write
    ``model_state = JLD2.load("model.jld2", "model_state")`` and then
    ``Flux.loadmodel!(model, model_state)``; here ``fl.loadmodel_(model, fl.load(path))``.
    The state has the shape of ``fl.state(model)``: attributes and dict keys become dict
    keys, positions (``layers[0]``) become list entries, and a layer without arrays (a
    ``MaxPool``, ``flatten``) shows as ``()`` in its list. Settings, such as activation
    functions, are not in the file; they come from the model you build before loading.

    A missing file raises ``FileNotFoundError``, a folder ``IsADirectoryError``, a file you
    may not read ``PermissionError``, and a file that is not an archive of plain arrays
    (damaged, truncated, or holding pickled objects) ``ValueError``. Nothing is unpickled.

    >>> import os, tempfile, numpy as np, fluxlite as fl
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.npz")
    >>> fl.seed(0)
    >>> model = fl.Chain(fl.Dense(2, 3, fl.relu), fl.Dense(3, 1))
    >>> fl.save(path, model)
    >>> s = fl.load(path)
    >>> sorted(s), len(s["layers"]), sorted(s["layers"][0]), s["layers"][0]["weight"].shape
    (['layers'], 2, ['bias', 'weight'], (3, 2))
    >>> fresh = fl.Chain(fl.Dense(2, 3, fl.relu), fl.Dense(3, 1))
    >>> fl.loadmodel_(fresh, fl.load(path)) is fresh
    True
    >>> bool(np.all(fresh.layers[0].weight == model.layers[0].weight))
    True
    """
    path = _fspath(path)
    return _unflatten(_read(path, "load"), path, "load")


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
