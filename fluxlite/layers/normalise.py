"""Normalisation and regularisation layers, as in Flux's ``src/layers/normalise.jl``.

BatchNorm and the dropout layers behave differently while training and while
testing. Each has an ``active`` attribute, as in Flux:

* ``active=None`` (the default) means *automatic*: training behaviour inside
  `fl.gradient` (``fl.within_gradient()`` is true), test behaviour outside it;
* ``active=True`` forces training behaviour, ``active=False`` test behaviour.

`trainmode_` and `testmode_` set ``active`` on every such layer inside a model.
A layer takes part by defining ``_set_active(self, active)``.
"""
import numbers

import numpy as np

from ..autodiff.arrays import rng as _global_rng
from ..autodiff.gradient import within_gradient
from ..autodiff.tracer import untrace
from .basic import Scale, identity
from .checks import check_size, shape_error
from .init import ones32, zeros32
from .show import Layer, act_suffix

__all__ = ["BatchNorm", "Dropout", "AlphaDropout", "LayerNorm", "trainmode_", "testmode_"]


def _is_active(layer):
    return within_gradient() if layer.active is None else layer.active


def _check_active(active, who):
    if active not in (None, True, False):
        raise ValueError(f"{who}: active must be None (automatic), True or False, got {active!r}")
    return active


def _number(v):
    """A plain Python number. (An explicit gradient with respect to a model traces the numbers
    inside it as well, so a layer's settings may arrive as 0-dimensional traced arrays.)"""
    return float(untrace(v))


def _active_str(layer):
    return "" if layer.active is None else f", active={layer.active}"


class Dropout(Layer):
    """Randomly zero each entry with probability `p` while training, scaling the rest by 1/(1 - p).

    ``Dropout(p, dims=None, active=None, rng=None)``. The scaling keeps the
    expected value of every entry unchanged, so nothing needs rescaling at
    test time, when the layer passes its input through untouched. ``dims``
    (an axis or a tuple of axes, 0-based) draws one random decision per index
    along those axes only: ``dims=2`` on W×H×C×N images zeros whole channels
    (Flux's ``dims=3``). Random numbers come from ``rng``, by default ``fl.rng()``.

    >>> import numpy as np, fluxlite as fl
    >>> d = fl.layers.Dropout(0.5)
    >>> d
    Dropout(0.5)
    >>> x = np.ones((4, 1000))
    >>> bool((d(x) == x).all())                # outside gradient: test behaviour
    True
    >>> y = fl.layers.Dropout(0.5, active=True)(x)
    >>> sorted(np.unique(y).tolist()), bool(abs(y.mean() - 1) < 0.1)
    ([0.0, 2.0], True)
    """

    def __init__(self, p, dims=None, active=None, rng=None):
        if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"Dropout needs a probability 0 ≤ p ≤ 1 of zeroing each entry, got {p!r}")
        self.p = p
        self.dims = dims
        self.active = _check_active(active, "Dropout")
        self.rng = rng

    def _set_active(self, active):
        self.active = active

    def _mask_shape(self, shape):
        if self.dims is None:
            return shape
        dims = (self.dims,) if np.ndim(self.dims) == 0 else tuple(self.dims)
        keep = {int(d) % len(shape) for d in dims}
        return tuple(n if i in keep else 1 for i, n in enumerate(shape))

    def __call__(self, x):
        p = _number(self.p)
        if not _is_active(self) or p == 0:
            return x
        dtype = getattr(x, "dtype", np.dtype(np.float64))
        if dtype.kind != "f":
            dtype = np.dtype(np.float64)
        if p == 1:
            return x * np.zeros((), dtype)
        gen = self.rng if self.rng is not None else _global_rng()
        keep = gen.random(self._mask_shape(np.shape(x))) > p
        mask = keep.astype(dtype) * dtype.type(1 / (1 - p))
        return x * mask

    def _show(self):
        dims = "" if self.dims is None else f", dims={self.dims}"
        return f"Dropout({self.p}{dims}{_active_str(self)})"


class AlphaDropout(Layer):
    """Dropout for selu networks: keeps mean 0 and variance 1 of its input (Klambauer et al. 2017).

    While training, each entry is replaced with probability `p` by α′ = -λα ≈ -1.7581
    (selu's lowest value), then the result is mapped by ``A·x + B`` with
    A = ((1 - p)(1 + p α′²))^(-1/2) and B = -A α′ p, so that zero-mean,
    unit-variance inputs stay so. At test time it passes its input through.

    >>> import numpy as np, fluxlite as fl
    >>> _ = fl.seed(0)
    >>> x = fl.rng().standard_normal((100, 1000))
    >>> y = fl.layers.AlphaDropout(0.2, active=True)(x)
    >>> bool(abs(y.mean()) < 0.02), bool(abs(y.std() - 1) < 0.02)
    (True, True)
    """

    _ALPHA = -1.7580993408473766  # selu(-Inf) = -λα

    def __init__(self, p, active=None, rng=None):
        if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"AlphaDropout needs a probability 0 ≤ p ≤ 1, got {p!r}")
        self.p = p
        self.active = _check_active(active, "AlphaDropout")
        self.rng = rng

    def _set_active(self, active):
        self.active = active

    def __call__(self, x):
        p, a = _number(self.p), self._ALPHA
        if not _is_active(self) or p == 0:
            return x
        if p == 1:
            return x * 0
        A = 1 / np.sqrt((1 - p) * (1 + p * a * a))
        B = -A * a * p
        gen = self.rng if self.rng is not None else _global_rng()
        keep = gen.random(np.shape(x)) > p
        return A * np.where(keep, x, a) + B

    def _show(self):
        return f"AlphaDropout({self.p}{_active_str(self)})"


class LayerNorm(Layer):
    """Normalise each sample over its first axes, then scale and shift: Ba et al. (2016).

    ``LayerNorm(size..., λ=identity, affine=True, eps=1e-5)``. For input x whose
    first axes have the given ``size``, each sample (each index along the
    remaining axes) is normalised over those first axes::

        y = λ(scale · (x - μ) / √(σ² + ϵ) + bias)

    with μ and σ² the mean and (biased) variance over the normalised axes.
    ``scale`` and ``bias`` (ones and zeros of shape ``size``) live in a `Scale`
    layer, ``diag``, as in Flux; ``affine=False`` leaves them out.

    >>> import numpy as np, fluxlite as fl
    >>> ln = fl.layers.LayerNorm(5)
    >>> ln
    LayerNorm(5)        # 10 parameters
    >>> x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    >>> y = ln(x)                # each column: mean 0, standard deviation 1 (up to ϵ)
    >>> bool(np.abs(y.mean(axis=0)).max() < 1e-6), np.allclose(y.std(axis=0), 1, atol=1e-3)
    (True, True)
    """

    _trainable = ("diag",)

    def __init__(self, *size, affine=True, eps=1e-5, ϵ=None):
        size = list(size)
        λ = identity
        if size and callable(size[-1]):
            λ = size.pop()
        if len(size) == 1 and isinstance(size[0], tuple):
            size = list(size[0])
        if not size or not all(isinstance(n, numbers.Integral) and n > 0 for n in size):
            raise TypeError("LayerNorm needs the sizes of the axes to normalise, e.g. LayerNorm(5) "
                            "or LayerNorm(5, 5, 3)")
        self.λ = λ
        self.size = tuple(int(n) for n in size)
        self.affine = bool(affine)
        self.diag = Scale(*self.size) if affine else None
        self.ϵ = eps if ϵ is None else ϵ

    def __call__(self, x):
        size = tuple(int(n) for n in self.size)
        for ax, n in enumerate(size):
            check_size(self, x, n, axis=ax, what="entries",
                       hint=f"LayerNorm{size} normalises the first {len(size)} axes of its "
                            f"input, which must have sizes {size}.")
        axes = tuple(range(len(size)))
        μ = np.mean(x, axis=axes, keepdims=True)
        d = x - μ
        σ2 = np.mean(d * d, axis=axes, keepdims=True)
        y = d / np.sqrt(σ2 + self.ϵ)
        if self.diag is not None:
            y = self.diag(y)
        return y if self.λ is identity else self.λ(y)

    def _show(self):
        return (f"LayerNorm({', '.join(str(int(n)) for n in self.size)}{act_suffix(self.λ)}"
                + ("" if self.affine else ", affine=false") + ")")


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015): normalise each channel over the batch.

    ``BatchNorm(channels, λ=identity, initβ=zeros32, initγ=ones32, affine=True,
    track_stats=True, active=None, eps=1e-5, momentum=0.1)``.

    The channel axis is the second-to-last axis (features of a features × N
    batch, C of W×H×C×N images). While training, each channel is normalised
    with the mean μ and biased variance σ² of the batch (over every axis but
    the channel axis), then scaled and shifted::

        y = λ(γ · (x - μ) / √(σ² + ϵ) + β)

    and running estimates are updated, with m the number of values averaged::

        μ_run ← (1 - momentum) μ_run + momentum μ
        σ2_run ← (1 - momentum) σ2_run + momentum · m / (m - 1) · σ²

    At test time the running estimates ``μ`` and ``σ2`` are used instead (Flux
    calls the latter ``σ²``, which is not a Python name). ``β`` and ``γ`` are
    trained; ``μ`` and ``σ2`` are not. ``affine=False`` drops β and γ;
    ``track_stats=False`` keeps no running estimates and always uses batch statistics.

    >>> import numpy as np, fluxlite as fl
    >>> bn = fl.layers.BatchNorm(3)
    >>> bn
    BatchNorm(3)        # 6 parameters, plus 6 non-trainable
    >>> x = 5 + 2 * np.random.rand(3, 100).astype(np.float32)
    >>> y = fl.layers.trainmode_(bn)(x)
    >>> bool(np.allclose(y.mean(axis=1), 0, atol=1e-5)), bn.μ.round(1)
    (True, array([0.6, 0.6, 0.6], dtype=float32))
    """

    _trainable = ("β", "γ")

    def __init__(self, channels, λ=identity, initβ=zeros32, initγ=ones32, affine=True,
                 track_stats=True, active=None, eps=1e-5, momentum=0.1, ϵ=None):
        if not isinstance(channels, numbers.Integral) or channels <= 0:
            raise TypeError(f"BatchNorm needs the number of channels, e.g. BatchNorm(16), "
                            f"got {channels!r}")
        self.λ = λ
        self.β = initβ(channels) if affine else None
        self.γ = initγ(channels) if affine else None
        self.μ = np.zeros(channels, np.float32) if track_stats else None
        self.σ2 = np.ones(channels, np.float32) if track_stats else None
        self.ϵ = eps if ϵ is None else ϵ
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_stats = bool(track_stats)
        self.active = _check_active(active, "BatchNorm")
        self.chs = int(channels)

    def _set_active(self, active):
        self.active = active

    def __call__(self, x):
        if np.ndim(x) < 2:
            raise shape_error(self, f"normalises over a batch, but got an input of shape "
                                    f"{np.shape(x)}.",
                              f"Give it a {int(self.chs)} × N array (or W×H×{int(self.chs)}×N images); "
                              f"a single sample x becomes a batch of one with x[..., None].")
        check_size(self, x, int(self.chs), axis=-2, what="channels",
                   hint="BatchNorm's channels are on the second-to-last axis: features of a "
                        "features × N batch, C of W×H×C×N images.")
        nd = np.ndim(x)
        axes = tuple(i for i in range(nd) if i != nd - 2)
        shape = tuple(int(self.chs) if i == nd - 2 else 1 for i in range(nd))
        if not _is_active(self) and self.track_stats:
            μ = np.reshape(self.μ, shape)
            σ2 = np.reshape(self.σ2, shape)
        else:
            μ = np.mean(x, axis=axes, keepdims=True)
            σ2 = np.mean((x - μ) ** 2, axis=axes, keepdims=True)
            if self.track_stats:
                self._track(np.shape(x), axes, untrace(μ), untrace(σ2))
        y = (x - μ) / np.sqrt(σ2 + self.ϵ)
        if self.affine:
            y = np.reshape(self.γ, shape) * y + np.reshape(self.β, shape)
        return y if self.λ is identity else self.λ(y)

    def _track(self, xshape, axes, μ, σ2):
        """Update the running statistics (no gradient flows through them)."""
        m = int(np.prod([xshape[a] for a in axes]))
        mtm = _number(self.momentum)
        corr = m / (m - 1) if m > 1 else 1.0
        # Written into the arrays' memory: inside an explicit gradient the layer may be a traced
        # copy whose μ and σ2 are traced views of the same memory, as Flux mutates its own fields.
        run_μ, run_σ2 = untrace(self.μ), untrace(self.σ2)
        run_μ[...] = (1 - mtm) * run_μ + mtm * np.ravel(μ)
        run_σ2[...] = (1 - mtm) * run_σ2 + mtm * corr * np.ravel(σ2)

    def _show(self):
        return (f"BatchNorm({int(self.chs)}{act_suffix(self.λ)}"
                + ("" if self.affine else ", affine=false") + _active_str(self) + ")")


def _tidy_mode(mode, who):
    if mode is None or mode == "auto":
        return None
    if mode is True or mode is False:
        return mode
    raise ValueError(f"{who}: mode must be True, False, None or 'auto', got {mode!r}")


def _set_mode(m, active):
    seen = set()
    from .. import functors

    def visit(x):
        if id(x) in seen:
            return
        seen.add(id(x))
        hook = getattr(x, "_set_active", None)
        if callable(hook) and not isinstance(x, type):
            hook(active)
        kids = functors.children(x)
        for _, c in kids or ():
            visit(c)

    visit(m)
    return m


def testmode_(m, mode=True):
    """Put every Dropout/BatchNorm inside `m` in test mode (Flux's ``testmode!``); returns `m`.

    ``mode=True``: test behaviour always; ``False``: training behaviour always;
    ``None`` or ``"auto"``: automatic again (training only inside `fl.gradient`).

    >>> import fluxlite as fl
    >>> m = fl.layers.Chain(fl.layers.Dense(2, 2), fl.layers.Dropout(0.5))
    >>> testmode_(m)[1].active
    False
    """
    return _set_mode(m, None if _tidy_mode(mode, "testmode_") is None else not mode)


def trainmode_(m, mode=True):
    """Put every Dropout/BatchNorm inside `m` in training mode (Flux's ``trainmode!``); returns `m`.

    ``mode=True``: training behaviour always, even outside `fl.gradient`;
    ``False``: test behaviour; ``None`` or ``"auto"``: automatic again.

    >>> import fluxlite as fl
    >>> trainmode_(fl.layers.Dropout(0.5)).active
    True
    """
    return _set_mode(m, _tidy_mode(mode, "trainmode_"))
