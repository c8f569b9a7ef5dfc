"""Feeding data to a model: `DataLoader`, `onehot`, `onehotbatch` and `onecold`.

These mirror Flux (which takes them from MLUtils.jl and OneHotArrays.jl) and
keep Flux's axis order: **observations run along the last axis**. A data
matrix is ``features × N``, an image batch is ``W × H × C × N``, a label
vector is ``(N,)`` and a one-hot matrix is ``labels × N``. PyTorch and
scikit-learn put the batch first (``N × features``); transpose with ``X.T``
when you bring data over from them.

One-hot arrays are float32 by default, the dtype of fluxlite's layers (as in
Flux), so they never promote a model's float32 output to float64; pass
``dtype=np.float64`` to get float64.

This module is plain NumPy: nothing here is differentiated.
"""
import math
import numbers
import warnings

import numpy as np

__all__ = ["DataLoader", "onehot", "onehotbatch", "onecold"]


# --------------------------------------------------------------------------
# Random generators


def _default_rng():
    """fluxlite's package generator ``fl.rng()``, looked up at call time so that
    ``fl.seed(n)`` takes effect (imported lazily: fluxlite imports this module)."""
    try:
        from fluxlite import rng
    except ImportError:
        from fluxlite.autodiff import rng
    return rng()


def _as_rng(rng, who):
    """Turn the ``rng`` argument of a fluxlite data function into a Generator.

    ``None`` means fluxlite's own generator ``fl.rng()``, an int is a seed for a
    fresh generator, and a ``np.random.Generator`` is used as it is.
    """
    if rng is None:
        return _default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{who}: rng must be None (fluxlite's generator fl.rng(), which fl.seed(n) resets), "
        f"an int seed, or a np.random.Generator such as np.random.default_rng(0); "
        f"got {type(rng).__name__}."
    )


def _float_dtype(dtype, who):
    """`dtype` as a NumPy floating-point dtype, or a ValueError naming the function."""
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"{who}: dtype must be a floating-point type such as np.float32 or np.float64, got {dt}.")
    return dt


# --------------------------------------------------------------------------
# Observations: the last axis of an array, the items of a list


def _leaves(data, path):
    """Yield ``(path, leaf)`` for every array or list inside tuples and dicts."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, f"{path}[{k!r}]")
    elif isinstance(data, tuple):
        for i, v in enumerate(data):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, data


def _map_data(f, data):
    """Apply `f` to every leaf (an array or a list) inside tuples, named tuples and dicts."""
    if isinstance(data, dict):
        return {k: _map_data(f, v) for k, v in data.items()}
    if isinstance(data, tuple):
        items = [_map_data(f, v) for v in data]
        return type(data)(*items) if hasattr(data, "_fields") else tuple(items)
    return f(data)


def _as_leaf(x):
    """Lists stay lists (sequences of observations); anything else becomes an array."""
    return x if isinstance(x, (list, np.ndarray)) else np.asarray(x)


def _numobs(data):
    """The number of observations in `data`, checking that all leaves agree."""
    sizes = []
    for path, leaf in _leaves(data, "data"):
        if isinstance(leaf, list):
            sizes.append((path, len(leaf), f"a list of {len(leaf)}", None))
            continue
        if leaf.ndim == 0:
            raise ValueError(
                f"DataLoader: {path} is a single value ({leaf!r}), which has no observation axis. "
                f"Pass arrays whose last axis runs over the observations, e.g. shape (features, N) or (N,)."
            )
        sizes.append((path, leaf.shape[-1], f"shape {leaf.shape}", leaf.shape))
    if not sizes:
        raise ValueError("DataLoader: data is an empty tuple or dict; give it at least one array.")
    counts = {n for _, n, _, _ in sizes}
    if len(counts) > 1:
        parts = [f"{p} ({what}) has {n}" for p, n, what, _ in sizes]
        listing = ", ".join(parts[:-1]) + " and " + parts[-1]
        message = (
            "DataLoader: all arrays must have the same number of observations along their "
            f"LAST axis, but {listing}."
        )
        transposed = [p for p, n, _, shape in sizes
                      if shape is not None and len(shape) >= 2 and shape[0] in counts and shape[0] != n]
        if transposed:
            message += (
                f" {', '.join(transposed)} looks like N × features (the PyTorch/scikit-learn layout); "
                f"fluxlite follows Flux and puts observations last, so pass its transpose (X.T)."
            )
        raise ValueError(message)
    return sizes[0][1]


def _obs(leaf, idx):
    """Observations `idx` (an int, or an array of ints) of one array or list.

    An int drops the observation axis; an index array keeps it. Both copy,
    as MLUtils' ``getobs`` does, so changing a batch never changes the data.
    """
    if isinstance(leaf, list):
        return leaf[idx] if isinstance(idx, int) else [leaf[i] for i in idx]
    if isinstance(idx, int):
        obs = leaf[(slice(None),) * (leaf.ndim - 1) + (idx,)]   # a vector gives a NumPy scalar
        return obs.copy() if isinstance(obs, np.ndarray) else obs
    return leaf[..., idx]


def _describe(data):
    """A short description of `data` for the DataLoader's repr."""
    if isinstance(data, np.ndarray):
        return str(data.shape)
    if isinstance(data, list):
        return f"list of {len(data)}"
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in data.items()) + "}"
    if isinstance(data, tuple):
        inner = ", ".join(_describe(v) for v in data)
        return f"({inner},)" if len(data) == 1 else f"({inner})"
    return type(data).__name__


class DataLoader:
    """Iterate over `data` in mini-batches of `batchsize` observations, as Flux's ``DataLoader``.

    ``DataLoader(data, batchsize=1, shuffle=False, partial=True, rng=None)``

    `data` is an array, a tuple (or named tuple) of arrays, or a dict of arrays.
    Observations run along the **last axis** of every array, as in Flux: a
    ``(64, 1797)`` matrix holds 1797 observations of 64 features and a ``(1797,)``
    vector holds 1797 labels. All arrays must hold the same number of
    observations. A Python list counts as a sequence of observations (like a
    Julia ``Vector``), so the tutorial's ``x = [rand(5) for _ in ...]`` works too.

    Each iteration yields a batch with the same structure as `data`: an array,
    a tuple, a named tuple, a dict or a list. With ``batchsize=b`` an array of
    shape ``(..., N)`` gives batches of shape ``(..., b)``, and the last batch
    is smaller when ``b`` does not divide ``N``.

    Parameters
    ----------
    batchsize : int
        Observations per batch. A negative value (``-1``) yields one
        observation at a time with the observation axis dropped, as MLUtils
        does. A batchsize larger than the data is reduced to the number of
        observations, with a warning (as in MLUtils).
    shuffle : bool
        Visit the observations in a new random order at **every** iteration
        (every epoch), so ``for epoch in range(10): for x, y in loader: ...``
        sees ten different orders.
    partial : bool
        With ``partial=False`` the last batch is dropped when it would hold fewer
        than `batchsize` observations.
    rng : None, int or np.random.Generator
        The generator used to shuffle. ``None`` uses fluxlite's generator
        ``fl.rng()`` (reset with ``fl.seed(n)``), read afresh at each epoch;
        an int seeds a generator of the loader's own.

    ``len(loader)`` is the number of batches per epoch:
    ``ceil(N / batchsize)``, or ``floor(N / batchsize)`` with ``partial=False``.
    Batches are copies, so changing one never changes `data`. The original
    data stays available as ``loader.data``.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X = np.arange(20.0).reshape(2, 10)        # 2 features × 10 observations
    >>> y = np.arange(10)                         # 10 labels
    >>> loader = fl.DataLoader((X, y), batchsize=4)
    >>> loader
    DataLoader(tuple of 2 arrays ((2, 10), (10,)), batchsize=4)
    >>> len(loader)
    3
    >>> [xb.shape for xb, yb in loader]
    [(2, 4), (2, 4), (2, 2)]
    >>> len(fl.DataLoader((X, y), batchsize=4, partial=False))
    2
    >>> shuffled = fl.DataLoader((X, y), batchsize=5, shuffle=True, rng=0)
    >>> sorted(int(i) for _, yb in shuffled for i in yb)   # every observation once per epoch
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """

    def __init__(self, data, batchsize=1, shuffle=False, partial=True, rng=None):
        if isinstance(batchsize, bool) or not isinstance(batchsize, numbers.Integral) or batchsize == 0:
            raise ValueError(
                f"DataLoader: batchsize must be a positive int (or -1 for one observation at a time), "
                f"got {batchsize!r}."
            )
        self.data = data
        self.batchsize = int(batchsize)
        self.shuffle = bool(shuffle)
        self.partial = bool(partial)
        self.rng = None if rng is None else _as_rng(rng, "DataLoader")
        self._data = _map_data(_as_leaf, data)
        self._nobs = _numobs(self._data)
        self._size = self.batchsize
        if self.batchsize > self._nobs:
            warnings.warn(
                f"DataLoader: the data has only {self._nobs} observations, fewer than "
                f"batchsize={self.batchsize}; using batches of {self._nobs}.",
                stacklevel=2,
            )
            self._size = self._nobs

    def __len__(self):
        n = self._nobs
        if self.batchsize < 0:
            return n
        return math.ceil(n / self._size) if self.partial else n // self._size

    def __iter__(self):
        n = self._nobs
        if self.shuffle:
            order = (self.rng if self.rng is not None else _default_rng()).permutation(n)
        else:
            order = np.arange(n)
        if self.batchsize < 0:
            for i in order:
                yield _map_data(lambda leaf: _obs(leaf, int(i)), self._data)
            return
        size = self._size
        stop = n if self.partial else n - n % size
        for start in range(0, stop, size):
            idx = order[start:start + size]
            yield _map_data(lambda leaf: _obs(leaf, idx), self._data)

    def __repr__(self):
        data = self._data
        if isinstance(data, np.ndarray):
            what = f"array {data.shape}"
        elif isinstance(data, list):
            what = f"list of {len(data)}"
        else:
            kind = "dict" if isinstance(data, dict) else type(data).__name__
            leaves = list(data.values()) if isinstance(data, dict) else list(data)
            noun = "arrays" if all(isinstance(v, np.ndarray) for v in leaves) else "items"
            what = f"{kind} of {len(leaves)} {noun} {_describe(data)}"
        options = [what]
        if self.batchsize != 1:
            options.append(f"batchsize={self.batchsize}")
        if self.shuffle:
            options.append("shuffle=True")
        if not self.partial:
            options.append("partial=False")
        if self.rng is not None:
            options.append(f"rng=Generator({type(self.rng.bit_generator).__name__})")
        return f"DataLoader({', '.join(options)})"


# --------------------------------------------------------------------------
# One-hot encoding


def _label_list(labels, who):
    """`labels` as a list, refusing things that are not an ordered collection."""
    if isinstance(labels, str):
        return list(labels)
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1:
            raise ValueError(f"{who}: labels must be one-dimensional, got an array of shape {labels.shape}.")
        return labels.tolist()
    if isinstance(labels, numbers.Number):
        raise TypeError(
            f"{who}: labels must be a sequence of the possible labels, got the number {labels!r}. "
            f"Did you mean range({labels!r})?"
        )
    if isinstance(labels, (set, frozenset)):
        raise TypeError(f"{who}: labels must be ordered (a list, tuple, range or string), not a set.")
    out = list(labels)
    if not out:
        raise ValueError(f"{who}: labels is empty; give the possible labels, e.g. range(10).")
    return out


def _show_labels(labels):
    if len(labels) <= 12:
        return repr(labels)
    return "[" + ", ".join(repr(v) for v in labels[:5]) + ", ..., " + ", ".join(repr(v) for v in labels[-3:]) + \
        f"] ({len(labels)} labels)"


def _label_index(labels, who):
    """Map each label to the position of its first occurrence (Flux uses ``findfirst``)."""
    index = {}
    try:
        for i, label in enumerate(labels):
            index.setdefault(label, i)
    except TypeError:
        raise TypeError(f"{who}: labels must be hashable values such as ints or strings.") from None
    return index


def _scalar(x):
    """A 0-d array becomes its Python value, so that it can be looked up in a dict."""
    return x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x


_NO_DEFAULT = "pass default=<a label> to send unknown values to that label"


def _unknown(who, x, labels, where=""):
    return ValueError(
        f"{who}: {x!r}{where} is not one of the labels {_show_labels(labels)}; "
        f"{_NO_DEFAULT}, or fix the labels."
    )


def onehot(x, labels, default=None, dtype=np.float32):
    """The one-hot vector of `x` among `labels`, as Flux's ``onehot``.

    The result is a vector ``e`` of length ``len(labels)`` and type `dtype` with
    ``e[i] = 1`` where ``labels[i] == x`` (the first such ``i``) and 0
    elsewhere. A value that is not among `labels` raises an error, unless
    `default` is given, in which case it is encoded as `default`.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> fl.onehot("b", ["a", "b", "c"])
    array([0., 1., 0.], dtype=float32)
    >>> fl.onehot(7, range(3), default=0, dtype=np.float64)
    array([1., 0., 0.])
    """
    dtype = _float_dtype(dtype, "onehot")
    labels = _label_list(labels, "onehot")
    index = _label_index(labels, "onehot")
    i = index.get(_scalar(x))
    if i is None:
        if default is None:
            raise _unknown("onehot", x, labels)
        i = index.get(_scalar(default))
        if i is None:
            raise ValueError(f"onehot: the default {default!r} is not one of the labels {_show_labels(labels)}.")
    out = np.zeros(len(labels), dtype=dtype)
    out[i] = 1
    return out


def onehotbatch(xs, labels, default=None, dtype=np.float32):
    """One-hot encode every value in `xs`: an array of shape ``labels × N``, as Flux's ``onehotbatch``.

    Column ``k`` is ``onehot(xs[k], labels)``: ``Y[i, k] = 1`` when
    ``xs[k] == labels[i]``, else 0. Flux keeps the labels on the first axis and
    the observations on the last, so ``Y`` lines up with a model's
    ``classes × N`` output. If `xs` is an array of shape ``s``, the result has
    shape ``(len(labels), *s)``. A string is encoded character by character.

    A value missing from `labels` raises an error naming it, unless `default`
    (itself one of the labels) is given; then such values are encoded as `default`.
    The result has type `dtype`: float32 unless you ask for another float type.

    >>> import fluxlite as fl
    >>> fl.onehotbatch([2, 0, 1, 2], range(3))
    array([[0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [1., 0., 0., 1.]], dtype=float32)
    >>> fl.onehotbatch("abz", "abc", default="c").shape
    (3, 3)
    """
    dtype = _float_dtype(dtype, "onehotbatch")
    labels = _label_list(labels, "onehotbatch")
    index = _label_index(labels, "onehotbatch")
    if isinstance(xs, str):
        shape, values = (len(xs),), list(xs)
    elif isinstance(xs, np.ndarray):
        shape, values = xs.shape, xs.ravel().tolist()
    else:
        values = [_scalar(v) for v in xs]
        shape = (len(values),)
    fallback = None
    if default is not None:
        fallback = index.get(_scalar(default))
        if fallback is None:
            raise ValueError(
                f"onehotbatch: the default {default!r} is not one of the labels {_show_labels(labels)}."
            )
    rows = np.empty(len(values), dtype=np.intp)
    for k, v in enumerate(values):
        i = index.get(v, fallback)
        if i is None:
            raise _unknown("onehotbatch", v, labels, where=f" (at position {k} of xs)")
        rows[k] = i
    out = np.zeros((len(labels), len(values)), dtype=dtype)
    out[rows, np.arange(len(values))] = 1
    return out.reshape((len(labels),) + tuple(shape))


def _label_array(labels):
    """`labels` as an array to index with; mixed types stay Python objects."""
    if len({type(v) for v in labels}) > 1:
        out = np.empty(len(labels), dtype=object)
        out[:] = labels
        return out
    return np.asarray(labels)


def onecold(y, labels=None):
    """The label with the largest score, as Flux's ``onecold``: the inverse of `onehotbatch`.

    Along the first axis (the labels axis): ``onecold(y)[k] = labels[argmax_i y[i, k]]``.
    For a vector `y` the result is one label; for a ``labels × N`` matrix it
    is an array of N labels, one per column (per observation); in general the
    result has shape ``y.shape[1:]``. Ties go to the first maximum.

    Without `labels` the result is the index ``argmax_i y[i]``, counted from
    **0** (``range(len(y))``), whereas Flux's default labels are Julia's
    1-based ``1:n``. With `labels`, their number must match ``y.shape[0]``.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> fl.onecold(np.array([0.1, 0.7, 0.2]))
    1
    >>> fl.onecold(np.array([0.1, 0.7, 0.2]), ["cat", "dog", "bird"])
    'dog'
    >>> Y = fl.onehotbatch([3, 1, 2], range(1, 4))
    >>> fl.onecold(Y, range(1, 4))                 # round trip
    array([3, 1, 2])
    """
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("onecold: y is a single number; give a vector of scores or a labels × N matrix.")
    if y.shape[0] == 0:
        raise ValueError(f"onecold: y has shape {y.shape}, with no labels along its first axis.")
    idx = np.argmax(y, axis=0)
    if labels is None:
        return int(idx) if y.ndim == 1 else idx.astype(np.int64)
    labels = _label_list(labels, "onecold")
    if len(labels) != y.shape[0]:
        raise ValueError(
            f"onecold: y has {y.shape[0]} scores along its first axis (shape {y.shape}) "
            f"but {len(labels)} labels were given; they must match."
        )
    if y.ndim == 1:
        return labels[int(idx)]
    return _label_array(labels)[idx]
