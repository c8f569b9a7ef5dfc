"""Convolution and pooling layers, as in Flux's ``src/layers/conv.jl``.

Images are ``W × H × C × N`` arrays (width, height, channels, batch): Flux's
WHCN order, with the batch last. A batch of 50 RGB images of 100×100 pixels is
a ``100 × 100 × 3 × 50`` array. PyTorch uses ``N × C × H × W``;
``np.transpose(x, (3, 2, 1, 0))`` turns one into the other. 1-D data
(sequences) is ``W × C × N`` and 3-D data (volumes) ``W × H × D × C × N``: the
number of spatial axes comes from the kernel size, ``(3,)``, ``(3, 3)`` or
``(3, 3, 3)``.

The layers hold their settings and parameters and call the kernels in
`fluxlite.nnlib` (Flux calls NNlib's). Those are primitives with hand-written
pullbacks: im2col and one matrix product per convolution.

Printing follows Flux: ``Conv((3, 3), 1 => 16, relu, pad=1)``, with options
shown only when they differ from the defaults.
"""
import math

import numpy as np

from .. import nnlib
from ..autodiff.arrays import Param
from .basic import identity
from .checks import match_dtype, shape_error
from .init import as_weight, create_bias, glorot_uniform
from .show import Layer, act_suffix

__all__ = ["Conv", "CrossCor", "ConvTranspose", "SamePad", "MaxPool", "MeanPool", "GlobalMaxPool",
           "GlobalMeanPool", "flatten"]


class SamePad:
    """Padding chosen so that the output has the input's size (when the stride is 1).

    Pass it as ``pad=SamePad()`` to `Conv`, `CrossCor`, `ConvTranspose`,
    `MaxPool` or `MeanPool`. The total padding on an axis is ``d·(k - 1)``
    (kernel size k, dilation d); when that is odd the extra pixel goes before
    (Flux's rule). With stride s > 1, a convolution's output size is
    ``ceil(size / s)``.

    >>> import numpy as np
    >>> layer = Conv((2, 2), (3, 7), pad=SamePad())
    >>> layer
    Conv((2, 2), 3 => 7, pad=(1, 0, 1, 0))  # 91 parameters
    >>> layer(np.random.rand(100, 100, 3, 5)).shape
    (100, 100, 7, 5)
    """

    def __repr__(self):
        return "SamePad()"

    def __eq__(self, other):
        return isinstance(other, SamePad)

    def __hash__(self):
        return hash(SamePad)


def _same_padding(k, dilation):
    pads = []
    for ki, di in zip(k, dilation):
        total = (ki - 1) * di
        pads += [-(-total // 2), total // 2]   # ceil before, floor after
    return tuple(pads)


def _calc_padding(pad, k, dilation):
    """Flux's ``calc_padding``: an int becomes 2N ints, a tuple is kept, SamePad is computed."""
    n = len(k)
    if isinstance(pad, SamePad):
        return _same_padding(k, dilation)
    if isinstance(pad, type) and issubclass(pad, SamePad):
        raise TypeError("write pad=SamePad() (an instance, with the parentheses)")
    nnlib._pads(pad, n)  # validates
    if isinstance(pad, (int, np.integer)):
        return (int(pad),) * (2 * n)
    return tuple(int(p) for p in pad)


def _maybetuple(t):
    """Flux's ``_maybetuple_string``: one number if every entry is the same, else the tuple."""
    return str(t[0]) if all(v == t[0] for v in t) else str(tuple(t))


def _kernel(k, who):
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        raise TypeError(f"{who} needs the kernel size as a tuple, one int per spatial axis: "
                        f"({k}, {k}) for images, ({k},) for sequences, ({k}, {k}, {k}) for volumes.")
    try:
        k = tuple(int(a) for a in k)
    except TypeError:
        raise TypeError(f"{who} needs the kernel size as a tuple of ints, such as (3, 3); "
                        f"got {k!r}") from None
    if not k or any(a < 1 for a in k):
        raise ValueError(f"{who}: kernel size must be a non-empty tuple of positive ints, got {k}")
    return k


def _channels(ch, who):
    if (isinstance(ch, (tuple, list)) and len(ch) == 2
            and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in ch)):
        if min(ch) < 1:
            raise ValueError(f"{who}: channel counts must be positive, got {tuple(ch)}")
        return int(ch[0]), int(ch[1])
    raise TypeError(f"{who} needs the channels as a pair (in, out), as Flux's in => out: "
                    f"{who}((3, 3), (1, 16)); got {ch!r}")


def _image_words(n):
    return nnlib._layout(n)


def _check_input(layer, x, n, cin, axis_name="channel"):
    """Check that `x` is (spatial × n) × C × N with `cin` channels; raise a LayerShapeError."""
    shape = np.shape(x)
    layout = _image_words(n)
    if len(shape) != n + 2:
        if len(shape) == n + 1 and shape[-1] == cin:
            hint = (f"This looks like one sample without the batch axis. Add it at the end: "
                    f"x[..., None] has shape {shape + (1,)}.")
        elif len(shape) == n:
            hint = (f"Add the channel and batch axes at the end: for one single-channel sample, "
                    f"x.reshape({', '.join(map(str, shape + (1, 1)))}).")
        else:
            hint = (f"A kernel of size {_kernel_str(layer)} has {n} spatial "
                    f"{'axis' if n == 1 else 'axes'}, so the input must be {layout} ({n + 2} axes), "
                    f"batch last.")
        raise shape_error(layer, f"expects a {layout} input with {n + 2} dimensions, but got an "
                                 f"input of shape {shape} ({len(shape)} dimensions).", hint)
    got = shape[n]
    if got != cin:
        word = "channel" if cin == 1 else "channels"
        if shape[1] == cin and n == 2:
            hint = (f"This looks like PyTorch's N × C × H × W layout. Flux puts the batch last "
                    f"(W × H × C × N): use np.transpose(x, (3, 2, 1, 0)).")
        else:
            hint = (f"Either give the layer {got} input channels, or feed it data with {cin} "
                    f"{word} on axis {n}.")
        raise shape_error(layer, f"expects {cin} {word} on axis {n} (the C of {layout}), but got "
                                 f"an input of shape {shape}, which has {got} there.", hint)


def _kernel_str(layer):
    w = getattr(layer, "weight", None)
    return str(tuple(w.shape[:-2])) if w is not None else str(getattr(layer, "k", "?"))


class _ConvBase(Layer):
    # Settings are plain attributes, as in Flux's structs: `stride`, `dilation` (N ints), `pad`
    # (2N ints, or N as given) and `groups`. Integers are settings to `gradient`, not variables.
    _trainable = ("weight", "bias")
    _flipped = False
    _name = "Conv"

    def _setup(self, weight, bias, σ, stride, pad, dilation, groups, nbias):
        who = self._name
        n = weight.ndim - 2
        if n < 1:
            raise ValueError(f"{who}: the weight needs at least 3 dimensions "
                             f"(kernel..., channels in, channels out), got shape {weight.shape}")
        if not callable(σ):
            raise TypeError(f"{who}'s activation must be a function such as fl.relu, got {σ!r}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{who}: groups must be a positive int, got {groups!r}")
        self.σ = σ
        self.weight = weight
        self.bias = create_bias(weight, bias, nbias, who)
        self.stride = nnlib._ntuple(stride, n, "stride")
        self.dilation = nnlib._ntuple(dilation, n, "dilation")
        self.pad = _calc_padding(pad, weight.shape[:n], self.dilation)
        self.groups = int(groups)

    def _options(self):
        s = act_suffix(self.σ)
        if any(self.pad):
            s += f", pad={_maybetuple(self.pad)}"
        if any(v != 1 for v in self.stride):
            s += f", stride={_maybetuple(self.stride)}"
        if any(v != 1 for v in self.dilation):
            s += f", dilation={_maybetuple(self.dilation)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is False:
            s += ", bias=false"
        return s

    def _add_bias_act(self, y):
        if self.bias is not False:
            n = self.weight.ndim - 2
            y = y + np.reshape(self.bias, (1,) * n + (-1, 1))
        return y if self.σ is identity else self.σ(y)


def _conv_init(self, args, σ, stride, pad, dilation, groups, bias, init, weight_shape):
    """Shared constructor: ``(k, (cin, cout), σ)`` or ``(weight, bias, σ)``."""
    who = self._name
    if args and isinstance(args[0], np.ndarray):
        weight = as_weight(args[0])
        rest = list(args[1:])
        if rest:
            bias = rest.pop(0)
        if rest:
            σ = rest.pop(0)
        if rest:
            raise TypeError(f"{who}(weight, bias, σ) takes at most three positional arguments")
        return weight, bias, σ
    if len(args) < 2:
        raise TypeError(f"{who} needs a kernel size and channels, as in {who}((3, 3), (1, 16)), "
                        f"or a weight array, as in {who}(weight, bias, σ)")
    if len(args) > 3:
        raise TypeError(f"{who}(k, (in, out), σ) takes at most three positional arguments; "
                        f"stride, pad, dilation, groups, bias and init are keywords")
    k = _kernel(args[0], who)
    cin, cout = _channels(args[1], who)
    if len(args) == 3:
        σ = args[2]
    if isinstance(groups, (int, np.integer)) and groups >= 1 and (cin % groups or cout % groups):
        raise ValueError(f"{who}: groups={groups} must divide both the input channels ({cin}) "
                         f"and the output channels ({cout})")
    shape = weight_shape(k, cin, cout, groups)
    weight = init(*shape)
    weight = as_weight(weight)
    if weight.shape != shape:
        raise ValueError(f"{who}: init returned shape {weight.shape}, expected {shape}")
    return weight, bias, σ


class Conv(_ConvBase):
    """A convolutional layer: ``Conv(k, (in, out), σ=identity; stride, pad, dilation, groups, bias, init)``.

    Flux's ``Conv((3, 3), 1 => 16, relu; pad=1)`` is ``Conv((3, 3), (1, 16), fl.relu, pad=1)``.

    * `k`: kernel size, one int per spatial axis: ``(3,)`` for sequences
      (``W × C × N``), ``(3, 3)`` for images (``W × H × C × N``), ``(3, 3, 3)``
      for volumes.
    * `stride`, `dilation`: an int or one int per spatial axis.
    * `pad`: an int, one int per axis (both sides), ``(lo, hi)`` for each axis
      in turn (``(lo_W, hi_W, lo_H, hi_H)``), or ``SamePad()``.
    * `groups`: split the channels into this many independent groups
      (``groups=in`` is a depthwise convolution).
    * `bias`: True (zeros), False (none), or an array of length `out`.
    * `init`: makes the weight, ``init(*k, in ÷ groups, out)``; default
      ``glorot_uniform``.

    ``Conv(weight, bias=True, σ=identity, ...)`` builds the layer around a
    weight array of shape ``(k..., in ÷ groups, out)``.

    The output is ``σ.(conv(x, weight) .+ bias)``, where `conv` flips the kernel
    (a true convolution), as Flux does; `CrossCor` does not flip. Output
    size per spatial axis: ``(size + lo + hi - dilation·(k - 1) - 1) ÷ stride + 1``.
    Float64 or integer input to a float32 layer is converted to float32.

    >>> import numpy as np, fluxlite as fl
    >>> layer = Conv((5, 5), (3, 7), fl.relu, bias=False)
    >>> layer
    Conv((5, 5), 3 => 7, relu, bias=false)  # 525 parameters
    >>> xs = np.random.rand(100, 100, 3, 5).astype(np.float32)   # 5 RGB images
    >>> layer(xs).shape
    (96, 96, 7, 5)
    >>> Conv((5, 5), (3, 7), stride=2, pad=SamePad())(xs).shape
    (50, 50, 7, 5)
    >>> Conv((1, 1), (3, 7), pad=(20, 10, 0, 0))(xs).shape
    (130, 100, 7, 5)
    >>> Conv((5, 5), (3, 7), stride=2, dilation=4)(xs).shape
    (42, 42, 7, 5)
    >>> Conv((3,), (4, 5), fl.σ)(np.random.rand(100, 4, 64)).shape     # 1-D: W × C × N
    (98, 5, 64)
    """

    _name = "Conv"

    def __init__(self, *args, stride=1, pad=0, dilation=1, groups=1, bias=True,
                 init=glorot_uniform, σ=identity):
        weight, bias, σ = _conv_init(self, args, σ, stride, pad, dilation, groups, bias, init,
                                     lambda k, cin, cout, g: k + (cin // g, cout))
        self._setup(weight, bias, σ, stride, pad, dilation, groups, weight.shape[-1])
        if weight.shape[-1] % self.groups:
            raise ValueError(f"Conv: groups={self.groups} must divide the {weight.shape[-1]} output "
                             f"channels")

    def __call__(self, x):
        w = self.weight
        n = w.ndim - 2
        _check_input(self, x, n, w.shape[-2] * self.groups)
        x = match_dtype(w, x)
        b = None if self.bias is False else self.bias
        σ = None if self.σ is identity else self.σ
        return nnlib.conv_bias_act(x, w, b, σ, stride=self.stride, pad=self.pad,
                                   dilation=self.dilation, flipped=self._flipped, groups=self.groups)

    def _show(self):
        w = self.weight
        k = tuple(w.shape[:-2])
        return (f"{self._name}({k}, {w.shape[-2] * self.groups} => {w.shape[-1]}"
                f"{self._options()})")


class CrossCor(Conv):
    """Cross-correlation layer: `Conv` without flipping the kernel (PyTorch's "convolution").

    ``CrossCor(k, (in, out), σ=identity; stride=1, pad=0, dilation=1, bias=True, init=glorot_uniform)``,
    or ``CrossCor(weight, bias, σ)``. Everything else is as in `Conv`::

        y[i, j, o, n] = σ(b[o] + Σ_{a, b, c} x[i·s + a·d - lo, j·s + b·d - lo, c, n] · w[a, b, c, o])

    A `CrossCor` with weight ``w`` computes what a `Conv` with the flipped
    weight ``w[::-1, ::-1]`` computes.

    >>> import numpy as np, fluxlite as fl
    >>> layer = CrossCor((5, 5), (3, 6), fl.relu, bias=False)
    >>> layer
    CrossCor((5, 5), 3 => 6, relu, bias=false)  # 450 parameters
    >>> xs = np.random.rand(100, 100, 3, 2).astype(np.float32)
    >>> layer(xs).shape
    (96, 96, 6, 2)
    >>> CrossCor((5, 5), (3, 7), stride=3, pad=(2, 0))(xs).shape
    (34, 32, 7, 2)
    >>> c = Conv(layer.weight[::-1, ::-1], False, fl.relu)
    >>> bool(np.allclose(c(xs), layer(xs), atol=1e-5))
    True
    """

    _flipped = True
    _name = "CrossCor"

    def __init__(self, *args, stride=1, pad=0, dilation=1, bias=True, init=glorot_uniform,
                 σ=identity):
        super().__init__(*args, stride=stride, pad=pad, dilation=dilation, bias=bias, init=init,
                         σ=σ)


class ConvTranspose(_ConvBase):
    """Transposed convolution (sometimes called deconvolution): it upsamples, undoing `Conv`'s shapes.

    ``ConvTranspose(k, (in, out), σ=identity; stride=1, pad=0, dilation=1, groups=1, bias=True, init)``
    or ``ConvTranspose(weight, bias, σ)``. Its weight has shape
    ``(k..., out ÷ groups, in)``: that of the `Conv` mapping ``out`` channels
    back to ``in``, whose data gradient (`fluxlite.nnlib.grad_conv_data`) this
    layer computes. Output size per spatial axis::

        (size - 1)·stride + dilation·(k - 1) + 1 - lo - hi

    With ``pad=SamePad()`` the output is ``stride`` times the input size.

    >>> import numpy as np, fluxlite as fl
    >>> layer = ConvTranspose((5, 5), (3, 7), fl.relu)
    >>> layer
    ConvTranspose((5, 5), 3 => 7, relu)  # 532 parameters
    >>> xs = np.random.rand(100, 100, 3, 2).astype(np.float32)
    >>> layer(xs).shape
    (104, 104, 7, 2)
    >>> ConvTranspose((5, 5), (3, 7), stride=2)(xs).shape
    (203, 203, 7, 2)
    >>> ConvTranspose((5, 5), (3, 7), stride=3, pad=SamePad())(xs).shape
    (300, 300, 7, 2)
    """

    _name = "ConvTranspose"

    def __init__(self, *args, stride=1, pad=0, dilation=1, groups=1, bias=True,
                 init=glorot_uniform, σ=identity):
        weight, bias, σ = _conv_init(self, args, σ, stride, pad, dilation, groups, bias, init,
                                     lambda k, cin, cout, g: k + (cout // g, cin))
        n = weight.ndim - 2
        if isinstance(pad, SamePad):  # Flux: SamePad of a kernel shrunk by the stride
            s = nnlib._ntuple(stride, n, "stride")
            k_eff = tuple(max(ki - si + 1, 1) for ki, si in zip(weight.shape[:n], s))
            pad = _same_padding(k_eff, nnlib._ntuple(dilation, n, "dilation"))
        self._setup(weight, bias, σ, stride, pad, dilation, groups,
                    weight.shape[-2] * (groups if isinstance(groups, int) else 1))
        if weight.shape[-1] % self.groups:
            raise ValueError(f"ConvTranspose: groups={self.groups} must divide the "
                             f"{weight.shape[-1]} input channels")

    def __call__(self, x):
        w = self.weight
        n = w.ndim - 2
        _check_input(self, x, n, w.shape[-1])
        x = match_dtype(w, x)
        y = nnlib.grad_conv_data(x, w, None, stride=self.stride, pad=self.pad,
                                 dilation=self.dilation, groups=self.groups)
        return self._add_bias_act(y)

    def _show(self):
        w = self.weight
        k = tuple(w.shape[:-2])
        return (f"ConvTranspose({k}, {w.shape[-1]} => {w.shape[-2] * self.groups}"
                f"{self._options()})")


# --------------------------------------------------------------------------- pooling


class _Pool(Layer):
    _kernel_fn = None
    _name = "MaxPool"

    def __init__(self, k, pad=0, stride=None):
        self.k = _kernel(k, self._name)
        n = len(self.k)
        self.pad = _calc_padding(pad, self.k, (1,) * n)
        self.stride = self.k if stride is None else nnlib._ntuple(stride, n, "stride")

    def __call__(self, x):
        n = len(self.k)
        if np.ndim(x) != n + 2:
            shape = np.shape(x)
            raise shape_error(self, f"expects a {_image_words(n)} input with {n + 2} dimensions, "
                                    f"but got an input of shape {shape} ({len(shape)} dimensions).",
                              f"A window of size {self.k} pools {n} spatial "
                              f"{'axis' if n == 1 else 'axes'}; the last two axes are channels and "
                              f"batch.")
        return type(self)._kernel_fn(x, self.k, pad=self.pad, stride=self.stride)

    def _show(self):
        s = f"{self._name}({self.k}"
        if any(self.pad):
            s += f", pad={_maybetuple(self.pad)}"
        if self.stride != self.k:
            s += f", stride={_maybetuple(self.stride)}"
        return s + ")"


class MaxPool(_Pool):
    """Max pooling: the largest value of each window of size `k`, per channel and sample.

    ``MaxPool(k; pad=0, stride=k)``: `k` is a tuple, one int per spatial axis;
    by default the windows do not overlap (stride = window). `pad` takes the
    same forms as `Conv`'s, ``SamePad()`` included; padded positions never
    win. The gradient of each window goes to its maximum; on a tie, to the
    first one, scanning the window with the W axis fastest (as NNlib does).

    >>> import numpy as np
    >>> m = MaxPool((2, 2))
    >>> m
    MaxPool((2, 2))
    >>> x = np.arange(16.0).reshape(4, 4, 1, 1)
    >>> m(x)[:, :, 0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    >>> MaxPool((5,), pad=2, stride=3)
    MaxPool((5,), pad=2, stride=3)
    >>> MaxPool((5,), pad=2, stride=3)(np.random.rand(100, 7, 50)).shape
    (34, 7, 50)
    """

    _kernel_fn = staticmethod(nnlib.maxpool)
    _name = "MaxPool"


class MeanPool(_Pool):
    """Mean pooling: the average of each window of size `k`, per channel and sample.

    ``MeanPool(k; pad=0, stride=k)``, with the same arguments as `MaxPool`. As
    in NNlib, each window's sum is divided by ``prod(k)`` even where the window
    covers padding (padding counts as zeros).

    >>> import numpy as np
    >>> m = MeanPool((2, 2))
    >>> m(np.arange(16.0).reshape(4, 4, 1, 1))[:, :, 0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    >>> MeanPool((5, 5), pad=SamePad())
    MeanPool((5, 5), pad=2)
    """

    _kernel_fn = staticmethod(nnlib.meanpool)
    _name = "MeanPool"


class GlobalMaxPool(Layer):
    """The largest value of each whole channel: ``W × H × C × N`` becomes ``1 × 1 × C × N``.

    Works for any number of spatial axes (all but the last two are pooled).

    >>> import numpy as np
    >>> GlobalMaxPool()(np.random.rand(100, 100, 3, 5)).shape
    (1, 1, 3, 5)
    >>> GlobalMaxPool()(np.random.rand(3, 5, 7)).shape      # keeps 2 dimensions
    (1, 5, 7)
    """

    def __call__(self, x):
        if np.ndim(x) < 3:
            raise shape_error(self, f"expects spatial axes, then channels and batch (at least 3 "
                                    f"dimensions), but got an input of shape {np.shape(x)}.")
        return nnlib.maxpool(x, np.shape(x)[:-2])

    def _show(self):
        return "GlobalMaxPool()"


class GlobalMeanPool(Layer):
    """The mean of each whole channel: ``W × H × C × N`` becomes ``1 × 1 × C × N``.

    >>> import numpy as np
    >>> x = np.arange(8.0).reshape(2, 2, 2, 1)
    >>> GlobalMeanPool()(x)[0, 0, :, 0]          # channel 0 holds 0, 2, 4, 6; channel 1 holds 1, 3, 5, 7
    array([3., 4.])
    """

    def __call__(self, x):
        if np.ndim(x) < 3:
            raise shape_error(self, f"expects spatial axes, then channels and batch (at least 3 "
                                    f"dimensions), but got an input of shape {np.shape(x)}.")
        return nnlib.meanpool(x, np.shape(x)[:-2])

    def _show(self):
        return "GlobalMeanPool()"


def flatten(x):
    """Reshape to a matrix with the batch (the last axis) kept: ``(prod(others), N)``.

    Flux's ``Flux.flatten`` (MLUtils' ``flatten``), used between convolutional
    and `Dense` layers: a ``W × H × C × N`` batch becomes ``(W·H·C) × N``.
    Sample ``n`` becomes column ``n``: ``flatten(x)[:, n] == x[..., n].ravel()``
    (NumPy's row-major order; Julia reads the same numbers column-major, so the
    features come in a different but fixed order).

    >>> import numpy as np
    >>> flatten(np.zeros((4, 4, 16, 32))).shape
    (256, 32)
    """
    shape = np.shape(x)
    if len(shape) == 0:
        raise ValueError("flatten needs an array with at least one axis (the batch axis is the last)")
    return np.reshape(x, (math.prod(shape[:-1]), shape[-1]))
