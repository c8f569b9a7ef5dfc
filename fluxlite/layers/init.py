"""Weight initialisers with Flux's names, formulas and defaults.

Every initialiser takes the array's dimensions, ``init(*dims, rng=None, ...)``,
and returns a float32 `fl.Param` (trainable NumPy array) of that shape. The
random ones draw from ``rng``, which defaults to ``fl.rng()`` (reseeded by
``fl.seed``). Layers take an initialiser as ``init=``:
``Dense(10, 5, init=fl.kaiming_normal)``.

API for layer authors (``from fluxlite.layers.init import ...``):

* ``glorot_uniform``, ``glorot_normal``, ``kaiming_uniform``, ``kaiming_normal``,
  ``truncated_normal``, ``orthogonal``, ``sparse_init``, ``identity_init``;
* ``zeros32``, ``ones32``, ``rand32``, ``randn32``;
* ``nfan(*dims) -> (fan_in, fan_out)``: Flux's fan counts for a weight shape;
* ``as_param(a)``: a float32 `Param` copy of any array (used for biases).

Passing only a generator, ``glorot_uniform(np.random.default_rng(1))``, returns
an initialiser bound to that generator, as Flux's ``glorot_uniform(rng)`` does.

Fan-in and fan-out (Flux's ``nfan``), for a weight of shape ``dims``:

* ``()``: (1, 1); a vector ``(n,)``: (1, n);
* a Dense weight ``(out, in)``: (in, out);
* a convolution kernel ``(k1, ..., kd, cin, cout)``: (k·cin, k·cout), k = k1···kd.
"""
import functools
import math

import numpy as np

from ..autodiff.arrays import Param, rng as _global_rng

__all__ = ["glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal",
           "truncated_normal", "orthogonal", "sparse_init", "identity_init",
           "zeros32", "ones32", "rand32", "randn32", "nfan", "as_param", "as_weight", "create_bias"]


def nfan(*dims):
    """``(fan_in, fan_out)`` of a weight with shape `dims`, as Flux's ``nfan``.

    fan_in is how many inputs feed one output; fan_out how many outputs one input feeds.

    >>> nfan(20, 10)            # Dense(10 => 20) weight is 20 × 10
    (10, 20)
    >>> nfan(3, 3, 2, 10)       # Conv((3, 3), 2 => 10) kernel
    (18, 90)
    >>> nfan(5), nfan()
    ((1, 5), (1, 1))
    """
    dims = _dims(dims)
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return 1, dims[0]
    if len(dims) == 2:
        return dims[1], dims[0]
    k = int(np.prod(dims[:-2]))
    return k * dims[-2], k * dims[-1]


def as_param(a):
    """A float32 trainable copy of array `a` (a fresh `Param`).

    >>> as_param([1, 2]).dtype
    dtype('float32')
    """
    return np.array(a, dtype=np.float32, copy=True).view(Param)


def as_weight(a):
    """Keep a `Param` as it is; make anything else a trainable copy (float dtypes kept,
    anything else float32). How layers take weights a user passes in.

    >>> import numpy as np
    >>> as_weight(np.array([1.0, 2.0])).dtype, as_weight([1, 2]).dtype
    (dtype('float64'), dtype('float32'))
    """
    if isinstance(a, Param):
        return a
    a = np.asarray(a)
    return np.array(a, dtype=a.dtype if a.dtype.kind == "f" else np.float32, copy=True).view(Param)


def create_bias(weight, bias, n, who):
    """Flux's ``create_bias``: True gives zeros, False (or None) no bias, and an array is copied;
    all in the weight's precision. `who` names the layer in the error for a wrong shape.

    >>> import numpy as np
    >>> create_bias(np.ones((2, 3), np.float32), True, 2, "Dense(3 => 2)")
    Param([0., 0.], dtype=float32)
    """
    if bias is True:
        return np.zeros(n, dtype=weight.dtype).view(Param)
    if bias is False or bias is None:
        return False
    b = np.array(bias, dtype=weight.dtype, copy=True).view(Param)
    if b.shape != (n,):
        raise ValueError(f"{who}: the bias must have shape ({n},), one entry per output, "
                         f"but has shape {b.shape}.")
    return b


def _dims(dims):
    """Accept ``f(3, 4)`` and ``f((3, 4))`` alike; check every size is a non-negative int."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise TypeError(f"array sizes must be non-negative integers, got {dims!r}. "
                            f"Call an initialiser with the sizes: glorot_uniform(5, 10).")
        out.append(int(d))
    return tuple(out)


def _bindable(fn):
    """Let ``fn(generator)`` return ``fn`` bound to that generator (Flux's ``init(rng)``)."""
    @functools.wraps(fn)
    def wrapper(*dims, **kwargs):
        if len(dims) >= 1 and isinstance(dims[0], np.random.Generator):
            gen, dims = dims[0], dims[1:]
            if not dims:
                return functools.partial(wrapper, rng=gen, **kwargs)
            kwargs["rng"] = gen
        return fn(*dims, **kwargs)
    return wrapper


def _gen(rng):
    return _global_rng() if rng is None else rng


@_bindable
def glorot_uniform(*dims, rng=None, gain=1.0):
    """Uniform on [-x, x] with x = gain·√(6 / (fan_in + fan_out)): Xavier/Glorot (2010).

    Flux's default for Dense and Conv weights. Drawn as (u - 0.5)·gain·√(24 / (fan_in + fan_out))
    with u uniform on [0, 1), exactly Flux's formula.

    >>> import numpy as np, fluxlite as fl
    >>> _ = fl.seed(0)
    >>> W = glorot_uniform(5, 10)
    >>> W.shape, W.dtype, bool(np.abs(W).max() <= np.sqrt(6 / 15))
    ((5, 10), dtype('float32'), True)
    """
    dims = _dims(dims)
    scale = np.float32(gain * math.sqrt(24.0 / sum(nfan(*dims))))
    u = _gen(rng).random(dims, dtype=np.float32)
    return ((u - np.float32(0.5)) * scale).view(Param)


@_bindable
def glorot_normal(*dims, rng=None, gain=1.0):
    """Normal with mean 0 and std gain·√(2 / (fan_in + fan_out)): Xavier/Glorot (2010).

    >>> import numpy as np, fluxlite as fl
    >>> _ = fl.seed(0)
    >>> W = glorot_normal(200, 300)
    >>> round(float(W.std()), 3), round(float(np.sqrt(2 / 500)), 3)
    (0.063, 0.063)
    """
    dims = _dims(dims)
    std = np.float32(gain * math.sqrt(2.0 / sum(nfan(*dims))))
    return (_gen(rng).standard_normal(dims, dtype=np.float32) * std).view(Param)


@_bindable
def kaiming_uniform(*dims, rng=None, gain=math.sqrt(2)):
    """Uniform on [-x, x] with x = gain·√(3 / fan_in): He et al. (2015); gain √2 suits relu.

    >>> import numpy as np, fluxlite as fl
    >>> _ = fl.seed(0)
    >>> W = kaiming_uniform(3, 2)
    >>> W.dtype, bool(np.abs(W).max() <= np.sqrt(2) * np.sqrt(3 / 2))
    (dtype('float32'), True)
    """
    dims = _dims(dims)
    bound = np.float32(math.sqrt(3.0) * gain / math.sqrt(nfan(*dims)[0]))
    u = _gen(rng).random(dims, dtype=np.float32)
    return ((u - np.float32(0.5)) * (2 * bound)).view(Param)


@_bindable
def kaiming_normal(*dims, rng=None, gain=math.sqrt(2)):
    """Normal with mean 0 and std gain / √fan_in: He et al. (2015); gain √2 suits relu.

    >>> import numpy as np, fluxlite as fl
    >>> _ = fl.seed(0)
    >>> W = kaiming_normal(400, 50)
    >>> round(float(W.std()), 2), round(float(np.sqrt(2 / 50)), 2)
    (0.2, 0.2)
    """
    dims = _dims(dims)
    std = np.float32(gain / math.sqrt(nfan(*dims)[0]))
    return (_gen(rng).standard_normal(dims, dtype=np.float32) * std).view(Param)


@_bindable
def truncated_normal(*dims, rng=None, mean=0.0, std=1.0, lo=-2.0, hi=2.0):
    """Normal(mean, std) restricted to [lo, hi] (Flux's defaults: 0, 1, -2, 2).

    Flux inverts the normal CDF; fluxlite redraws values that fall outside
    [lo, hi] (rejection sampling), which gives the same distribution.

    >>> import fluxlite as fl
    >>> _ = fl.seed(0)
    >>> W = truncated_normal(100, 100)
    >>> bool((W >= -2).all() and (W <= 2).all()), W.dtype
    (True, dtype('float32'))
    """
    dims = _dims(dims)
    if not lo < hi:
        raise ValueError(f"truncated_normal needs lo < hi, got lo={lo}, hi={hi}")
    gen = _gen(rng)
    n = int(np.prod(dims))
    out = np.empty(n, dtype=np.float64)
    filled = 0
    while filled < n:
        draw = mean + std * gen.standard_normal(max(2 * (n - filled), 16))
        keep = draw[(draw >= lo) & (draw <= hi)][: n - filled]
        out[filled:filled + keep.size] = keep
        filled += keep.size
    return out.reshape(dims).astype(np.float32).view(Param)


@_bindable
def orthogonal(*dims, rng=None, gain=1.0):
    """A (semi-)orthogonal matrix times `gain` (Saxe et al. 2014), as Flux's ``orthogonal``.

    For more than two dims, a prod(dims[:-1]) × dims[-1] matrix is made and reshaped.
    Rows are orthonormal when there are fewer rows than columns, columns otherwise.

    >>> import numpy as np
    >>> W = orthogonal(5, 7)
    >>> bool(np.allclose(W @ W.T, np.eye(5), atol=1e-5))
    True
    >>> W3 = orthogonal(3, 3, 2, 4).reshape(-1, 4)
    >>> bool(np.allclose(W3.T @ W3, np.eye(4), atol=1e-5))
    True
    """
    dims = _dims(dims)
    if len(dims) < 2:
        raise ValueError(f"orthogonal needs at least 2 dimensions, got {dims}")
    rows, cols = int(np.prod(dims[:-1])), dims[-1]
    gen = _gen(rng)
    mat = gen.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(mat)
    q = q * np.sign(np.diag(r))  # makes the decomposition unique (uniform over orthogonal matrices)
    if rows < cols:
        q = q.T
    return (gain * q).reshape(dims).astype(np.float32).view(Param)


@_bindable
def sparse_init(*dims, rng=None, sparsity, std=0.01):
    """A matrix whose every column has a fraction `sparsity` of zeros; the rest Normal(0, std).

    Martens (2010); only 2-D shapes, as in Flux.

    >>> import numpy as np
    >>> W = sparse_init(10, 3, sparsity=0.5)
    >>> (W == 0).sum(axis=0).tolist()
    [5, 5, 5]
    """
    dims = _dims(dims)
    if len(dims) != 2:
        raise ValueError(f"sparse_init makes matrices only, got dims {dims}")
    gen = _gen(rng)
    rows, cols = dims
    nzero = math.ceil(min(1.0, sparsity) * rows)
    w = gen.standard_normal(dims).astype(np.float32) * np.float32(std)
    w[:nzero, :] = 0
    for j in range(cols):
        w[:, j] = w[gen.permutation(rows), j]
    return w.view(Param)


def identity_init(*dims, rng=None, gain=1.0, shift=0):
    """An array that makes a layer an identity map (Flux's ``identity_init``).

    A vector: zeros (for a bias). A matrix: the identity (padded with zeros when not square).
    More dims (a convolution kernel): a 1 at the centre tap of channel i → i.
    `shift` rolls the result, like ``circshift``.

    >>> identity_init(2, 3)
    Param([[1., 0., 0.],
           [0., 1., 0.]], dtype=float32)
    """
    dims = _dims(dims)
    if len(dims) == 1:
        return zeros32(*dims)
    w = np.zeros(dims, dtype=np.float32)
    if len(dims) == 2:
        n = min(dims)
        w[np.arange(n), np.arange(n)] = gain
    else:
        centre = tuple((d - 1) // 2 for d in dims[:-2])
        for i in range(min(dims[-2], dims[-1])):
            w[centre + (i, i)] = gain
    if shift:
        w = np.roll(w, shift, axis=tuple(range(len(np.atleast_1d(shift)))))
    return w.view(Param)


def zeros32(*dims):
    """A float32 trainable array of zeros (Flux's ``zeros32``; the default bias).

    >>> zeros32(3)
    Param([0., 0., 0.], dtype=float32)
    """
    return np.zeros(_dims(dims), dtype=np.float32).view(Param)


def ones32(*dims):
    """A float32 trainable array of ones (Flux's ``ones32``).

    >>> ones32(2, 2)
    Param([[1., 1.],
           [1., 1.]], dtype=float32)
    """
    return np.ones(_dims(dims), dtype=np.float32).view(Param)


def rand32(*dims, rng=None):
    """A float32 trainable array, uniform on [0, 1) (Flux's ``rand32``).

    >>> W = rand32(2, 3)
    >>> W.shape, W.dtype
    ((2, 3), dtype('float32'))
    """
    return _gen(rng).random(_dims(dims), dtype=np.float32).view(Param)


def randn32(*dims, rng=None):
    """A float32 trainable array of standard normal numbers (Flux's ``randn32``).

    >>> randn32(4).dtype
    dtype('float32')
    """
    return _gen(rng).standard_normal(_dims(dims), dtype=np.float32).view(Param)
