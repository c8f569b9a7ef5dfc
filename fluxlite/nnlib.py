"""Convolution and pooling kernels, as functions: the NumPy counterpart of NNlib.jl.

Flux's layers (``Conv``, ``MaxPool``...) are thin wrappers around these
functions, and so are fluxlite's (see ``fluxlite/layers/conv.py``). Arrays are
laid out as in Flux, spatial axes first, then channels, then the batch:

* input ``x``: ``(W, H, C_in, N)`` for images, ``(W, C_in, N)`` in 1-D,
  ``(W, H, D, C_in, N)`` in 3-D;
* kernel ``w``: ``(k_W, k_H, C_in ÷ groups, C_out)``;
* output ``y``: ``(W_out, H_out, C_out, N)``.

Geometry (NNlib's ``output_size``), for each spatial axis, with padding
``lo`` before and ``hi`` after, stride ``s`` and dilation ``d``::

    out = (size + lo + hi - d·(k - 1) - 1) ÷ s + 1        (÷ rounds down)

Convolution or cross-correlation
--------------------------------
With the kernel flipped (``flipped=False``, NNlib's default and what
``Conv`` uses) this is a true convolution; ``flipped=True`` (``CrossCor``)
does not flip, which is what PyTorch calls "convolution"::

    crosscor:  y[i, j, o, n] = Σ_{a, b, c} x[i·s + a·d - lo, j·s + b·d - lo, c, n] · w[a, b, c, o]
    conv:      the same with w[k_W-1-a, k_H-1-b, c, o] in place of w[a, b, c, o]

How it is computed: im2col and one matrix product
-------------------------------------------------
``im2col`` copies every input patch that the kernel visits into one column of
a matrix ``cols`` of shape ``(k_W·k_H·C_in, W_out·H_out·N)``. The whole
convolution is then one matrix product, ``w_matrix @ cols``, done by BLAS. Its
pullbacks are matrix products too (``∂cols = w_matrixᵀ @ ∂y`` and
``∂w_matrix = ∂y @ colsᵀ``), and the pullback of ``im2col`` is ``col2im``, which
adds each column back to the pixels it came from. The pieces are primitives
that are each other's pullbacks, so all of this is differentiable, even twice.
`conv_bias_act` folds the bias and a relu, tanh or σ activation into the
matrix product's primitive, so a ``Conv`` layer records two tape entries.
Outputs are computed channel-major and returned as views in Flux's axis
order, so ``y.flags.c_contiguous`` is usually False; NumPy does not mind.

Pooling
-------
`maxpool` and `meanpool` take each window's maximum or mean. When the windows
tile the input (the default stride, no padding) each window position is one
strided view of the input, and no copies are made. The max-pool pullback
routes a window's gradient to its maximum, the first one on a tie.

Names
-----
NNlib's ``∇conv_data`` and ``∇conv_filter`` (``∇`` is not allowed in a Python
name) are `grad_conv_data` and `grad_conv_filter` here; likewise
`grad_maxpool` and `grad_meanpool` for ``∇maxpool`` and ``∇meanpool``.
"""
import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .activations import relu as _relu, tanh as _tanh, σ as _sigmoid
from .autodiff.tracer import Tracked, primitive

__all__ = ["conv", "conv_bias_act", "grad_conv_data", "grad_conv_filter", "maxpool", "meanpool",
           "grad_maxpool", "grad_meanpool", "conv_output_size", "im2col", "col2im"]


# --------------------------------------------------------------------------- primitives


def _kernel_primitive(fwd, name):
    """A primitive whose forward is plain NumPy (in-place updates, strided views).

    Inside nested gradients a forward can receive arrays traced by an outer
    `gradient`; plain NumPy would drop that tracing. Then the primitive records
    itself on the outer tape instead, which is correct because every pullback
    here is itself written with primitives.
    """
    def run(*args, **kwargs):
        for a in args:
            if type(a) is Tracked:
                return prim(*args, **kwargs)
        return fwd(*args, **kwargs)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = fwd.__doc__
    prim = primitive(run, name)
    return prim


# --------------------------------------------------------------------------- geometry


def _ntuple(v, n, name):
    """`v` as a tuple of `n` positive ints (an int is repeated)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v),) * n
    else:
        try:
            v = tuple(int(a) for a in v)
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(v) != n:
        raise ValueError(f"{name}={v} has {len(v)} entries, but the kernel has {n} spatial "
                         f"dimension{'s' if n != 1 else ''}: give one int, or a tuple of {n} ints.")
    if any(a < 1 for a in v):
        raise ValueError(f"{name} must be positive, got {v}")
    return v


def _pads(pad, n):
    """Padding as ``(lo_1, hi_1, lo_2, hi_2, ...)``, as NNlib stores it.

    An int pads every side equally; a tuple of `n` pads both sides of each
    spatial axis; a tuple of `2n` gives (lo, hi) for each axis in turn.
    """
    if isinstance(pad, (int, np.integer)) and not isinstance(pad, bool):
        pad = (int(pad),) * (2 * n)
    else:
        try:
            pad = tuple(int(p) for p in pad)
        except TypeError:
            raise TypeError(f"pad must be an int, a tuple of {n} or {2 * n} ints, or SamePad(); "
                            f"got {pad!r}") from None
        if len(pad) == n:
            pad = tuple(p for p in pad for _ in range(2))
        elif len(pad) != 2 * n:
            raise ValueError(f"pad={pad} has {len(pad)} entries; for {n} spatial dimension"
                             f"{'s' if n != 1 else ''} give one int, {n} ints (same on both sides) "
                             f"or {2 * n} ints (lo, hi for each axis).")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad must not be negative, got {pad}")
    return pad


def conv_output_size(size, k, stride=1, pad=0, dilation=1):
    """Output spatial size of a convolution or pooling window: NNlib's ``output_size``.

    ``out = (size + lo + hi - dilation·(k - 1) - 1) ÷ stride + 1`` for each axis.

    >>> conv_output_size((28, 28), (5, 5))
    (24, 24)
    >>> conv_output_size((28, 28), (5, 5), stride=2, pad=1)
    (13, 13)
    >>> conv_output_size((100,), (5,), stride=3, pad=2)
    (34,)
    """
    size = tuple(size)
    n = len(size)
    k = _ntuple(k, n, "kernel size")
    s, d, p = _ntuple(stride, n, "stride"), _ntuple(dilation, n, "dilation"), _pads(pad, n)
    return _out_size(size, k, s, p, d)


def _out_size(size, k, s, p, d):
    out = []
    for i in range(len(k)):
        span = (k[i] - 1) * d[i] + 1
        room = size[i] + p[2 * i] + p[2 * i + 1]
        if room < span:
            raise ValueError(
                f"the kernel (size {k[i]}, dilation {d[i]}, so it spans {span}) is larger than "
                f"spatial axis {i} of the input ({size[i]}, padded to {room}). Use a smaller "
                f"kernel, more padding, or a bigger input.")
        out.append((room - span) // s[i] + 1)
    return tuple(out)


def _geometry(xshape, k, stride, pad, dilation):
    """(stride, pad, dilation, out): normalised settings and the output's spatial size."""
    try:
        return _geometry_cached(tuple(xshape), tuple(k), stride, pad, dilation)
    except TypeError:  # an unhashable setting (a list): same result, no cache
        return _geometry_cached.__wrapped__(tuple(xshape), tuple(k), stride, pad, dilation)


@functools.lru_cache(maxsize=256)
def _geometry_cached(xshape, k, stride, pad, dilation):
    n = len(k)
    if len(xshape) != n + 2:
        raise ValueError(
            f"a kernel with {n} spatial dimension{'s' if n != 1 else ''} needs an input with {n + 2} "
            f"dimensions ({_layout(n)}), but the input has shape {tuple(xshape)}.")
    s, d, p = _ntuple(stride, n, "stride"), _ntuple(dilation, n, "dilation"), _pads(pad, n)
    return s, p, d, _out_size(xshape[:n], k, s, p, d)


def _layout(n):
    return {1: "W × C × N", 2: "W × H × C × N", 3: "W × H × D × C × N"}.get(n, "spatial... × C × N")


def _padded(x, pad, n, value=0):
    """`x` with its first `n` axes padded by `pad` (lo, hi pairs) of `value`, in x's memory order."""
    if not any(pad):
        return x
    shape = tuple(x.shape[i] + pad[2 * i] + pad[2 * i + 1] for i in range(n)) + x.shape[n:]
    out = np.full_like(x, value, shape=shape) if value else np.zeros_like(x, shape=shape)
    out[tuple(slice(pad[2 * i], pad[2 * i] + x.shape[i]) for i in range(n))] = x
    return out


@functools.lru_cache(maxsize=None)
def _move_to_front(axis, ndim):
    """The permutation that moves `axis` to the front (np.moveaxis(a, axis, 0))."""
    return (axis,) + tuple(i for i in range(ndim) if i != axis)


@functools.lru_cache(maxsize=None)
def _move_first_to(axis, ndim):
    """The permutation that moves the first axis to `axis` (np.moveaxis(a, 0, axis))."""
    return tuple(range(1, axis + 1)) + (0,) + tuple(range(axis + 1, ndim))


def _cropped(xp, pad, size):
    if not any(pad):
        return xp
    return xp[tuple(slice(pad[2 * i], pad[2 * i] + size[i]) for i in range(len(size)))]


def _windows(xp, k, s, d, out):
    """A strided view of shape ``(*out, C, N, *k)``: window ``(i, j)``, tap ``(a, b)``. No copy."""
    n = len(k)
    st = xp.strides
    shape = tuple(out) + xp.shape[n:] + tuple(k)
    strides = (tuple(st[i] * s[i] for i in range(n)) + st[n:]
               + tuple(st[i] * d[i] for i in range(n)))
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def _tap_slices(tap, s, d, out):
    """The slices of the padded input that kernel tap `tap` touches, one per output pixel."""
    return tuple(slice(tap[i] * d[i], tap[i] * d[i] + s[i] * (out[i] - 1) + 1, s[i])
                 for i in range(len(tap)))


# --------------------------------------------------------------------------- im2col / col2im
#
# Memory order: convolution outputs are computed channel-major (C, spatial..., N) and
# returned as views with Flux's axis order (spatial..., C, N). Buffers made here follow
# the memory order of their input, so the copies in im2col and col2im stay cheap.


def _im2col(x, ksize, stride, pad, dilation, groups):
    n = len(ksize)
    s, p, d, out = _geometry(x.shape, ksize, stride, pad, dilation)
    c, nb = x.shape[n], x.shape[n + 1]
    cg = c // groups
    win = _windows(_padded(x, p, n), ksize, s, d, out)              # (*out, C, N, *k)
    win = win.reshape(out + (groups, cg, nb) + tuple(ksize))         # split C into groups
    order = (n,) + tuple(range(n + 3, 2 * n + 3)) + (n + 1,) + tuple(range(n)) + (n + 2,)
    return win.transpose(order).reshape(groups, math.prod(ksize) * cg, math.prod(out) * nb)


def _col2im(cols, xshape, ksize, stride, pad, dilation, groups):
    n = len(ksize)
    s, p, d, out = _geometry(xshape, ksize, stride, pad, dilation)
    c, nb = xshape[n], xshape[n + 1]
    cg = c // groups
    t = cols.reshape((groups,) + tuple(ksize) + (cg,) + out + (nb,))
    padded = tuple(xshape[i] + p[2 * i] + p[2 * i + 1] for i in range(n))
    dx = np.zeros((groups, cg) + padded + (nb,), dtype=cols.dtype)
    every = (slice(None), slice(None))
    for tap in np.ndindex(*ksize):
        dx[every + _tap_slices(tap, s, d, out)] += t[(slice(None),) + tap]
    dx = np.transpose(dx.reshape((c,) + padded + (nb,)), _move_first_to(n, n + 2))
    return _cropped(dx, p, xshape[:n])


IM2COL = _kernel_primitive(_im2col, "im2col")
COL2IM = _kernel_primitive(_col2im, "col2im")
IM2COL.defvjp(lambda g, ans, x, **kw: COL2IM(g, np.shape(x), **kw))
COL2IM.defvjp(lambda g, ans, cols, xshape, **kw: IM2COL(g, **kw))


def im2col(x, ksize, stride=1, pad=0, dilation=1, groups=1):
    """Every patch the kernel visits, as the columns of a matrix.

    Returns ``cols`` of shape ``(groups, K, M)`` with ``K = prod(ksize)·C/groups``
    (kernel taps, then channels) and ``M = prod(out)·N`` (output pixels, then
    batch). Its pullback is `col2im`, and `col2im`'s is `im2col`.

    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(3, 3, 1, 1)        # W × H × C × N
    >>> cols = im2col(x, (2, 2))
    >>> cols.shape                                     # 4 taps × 4 output pixels
    (1, 4, 4)
    >>> cols[0, :, 0].tolist()                         # the patch at output pixel (0, 0)
    [0.0, 1.0, 3.0, 4.0]
    """
    ksize = tuple(ksize)
    return IM2COL(x, ksize=ksize, stride=stride, pad=pad, dilation=dilation, groups=groups)


def col2im(cols, xshape, ksize, stride=1, pad=0, dilation=1, groups=1):
    """Add each column of `cols` back onto the input pixels it was copied from (im2col's adjoint).

    >>> import numpy as np
    >>> x = np.ones((3, 3, 1, 1))
    >>> col2im(im2col(x, (2, 2)), x.shape, (2, 2))[:, :, 0, 0]   # how many patches cover each pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    ksize = tuple(ksize)
    return COL2IM(cols, tuple(xshape), ksize=ksize, stride=stride, pad=pad, dilation=dilation,
                  groups=groups)


# --------------------------------------------------------------------------- the matrix products
# The kernel w (*k, cg, Cout) as one matrix per group: (G, Cout/G, K), K = prod(k)·cg with
# the taps before the channels, matching the rows of im2col's columns.


def _wmat(w, flipped, groups):
    n = w.ndim - 2
    if not flipped:
        w = w[(slice(None, None, -1),) * n]
    kg, cout = math.prod(w.shape[:-1]), w.shape[-1]
    return np.transpose(np.reshape(w, (kg, groups, cout // groups)), (1, 2, 0))


def _unwmat(gm, ksize, flipped):
    """The inverse of `_wmat`: a (G, Cout/G, K) matrix back to a kernel (*k, cg, Cout)."""
    groups, coutg, kg = gm.shape
    n = len(ksize)
    gw = np.reshape(np.transpose(gm, (2, 0, 1)),
                    tuple(ksize) + (kg // math.prod(ksize), groups * coutg))
    if not flipped:
        gw = gw[(slice(None, None, -1),) * n]
    return gw


def _to_rows(y, groups):
    """(*out, Cout, N) -> (G, Cout/G, M): channels first, then output pixels and batch."""
    n = y.ndim - 2
    return np.reshape(np.transpose(y, _move_to_front(n, n + 2)), (groups, y.shape[n] // groups, -1))


def _from_rows(ym, grid):
    """(G, Cout/G, M) -> (*out, Cout, N), where grid = (*out, N); a view, channel-major."""
    groups, coutg, _ = ym.shape
    return np.transpose(np.reshape(ym, (groups * coutg,) + tuple(grid)),
                        _move_first_to(len(grid) - 1, len(grid) + 1))


def _relu_(y):
    return np.maximum(y, 0, out=y)


def _tanh_(y):
    return np.tanh(y, out=y)


def _sigmoid_(y):
    e = np.exp(-np.abs(y))
    np.divide(np.where(y >= 0, 1, e), 1 + e, out=y)
    return y


# name -> (forward applied in place to z, slope dσ/dz written with the output y = σ(z))
_ACTS = {
    "relu": (_relu_, lambda y: y > 0),
    "tanh": (_tanh_, lambda y: 1 - y * y),
    "σ": (_sigmoid_, lambda y: y * (1 - y)),
}


_FUSED = {id(_relu): "relu", id(_tanh): "tanh", id(np.tanh): "tanh", id(_sigmoid): "σ"}


def _act_name(σ):
    """The name under which `σ` is fused into the convolution, None for identity, or False."""
    if σ is None:
        return None
    return _FUSED.get(id(σ), False)


def _gemm(cols, w, b, grid, flipped, groups, act=None):
    wm = _wmat(w, flipped, groups)
    if groups == 1:
        y = (wm[0] @ cols[0])[None]
    else:
        y = np.matmul(wm, cols)
    if b is not None:
        y += np.reshape(b, y.shape[:2] + (1,))
    if act:
        _ACTS[act][0](y)
    return _from_rows(y, grid)


def _gemm_t(dy, w, flipped, groups):
    wmt = np.swapaxes(_wmat(w, flipped, groups), 1, 2)
    rows = _to_rows(dy, groups)
    if groups == 1:
        return (wmt[0] @ rows[0])[None]
    return np.matmul(wmt, rows)


def _filter_grad(cols, dy, ksize, flipped, groups):
    # gm = rows @ colsᵀ, computed as (cols @ rowsᵀ)ᵀ: the same numbers, but OpenBLAS runs this
    # long, thin product (M is pixels × batch) about a third faster that way round.
    rows = _to_rows(dy, groups)
    if groups == 1:
        gm = (cols[0] @ rows[0].T).T[None]
    else:
        gm = np.swapaxes(np.matmul(cols, np.swapaxes(rows, 1, 2)), 1, 2)
    return _unwmat(gm, ksize, flipped)


def _gemm_pullback(g, ans, wanted, cols, w, b, grid, flipped, groups, act=None):
    """The gradients of GEMM's columns, filter and bias (those in `wanted`) from the gradient
    g of y = act(z): all need dz = g · act'(z), the gradient reaching z, computed once."""
    dz = g * _ACTS[act][1](ans) if act else g
    out = []
    for k in wanted:
        if k == 0:
            out.append(GEMM_T(dz, w, flipped=flipped, groups=groups))
        elif k == 1:
            out.append(FILTER_GRAD(cols, dz, ksize=np.shape(w)[:-2], flipped=flipped,
                                   groups=groups))
        else:
            out.append(_channel_sum(dz))
    return out


def _channel_sum(dz):
    """Σ of dz over everything but its channel axis (the bias gradient)."""
    n = np.ndim(dz) - 2
    if type(dz) is np.ndarray:  # plain arrays: methods and the ufunc, without NumPy's wrappers
        return np.add.reduce(dz.transpose(_move_to_front(n, n + 2)).reshape(dz.shape[n], -1),
                             axis=1)
    rows = np.reshape(np.transpose(dz, _move_to_front(n, n + 2)), (np.shape(dz)[n], -1))
    return np.sum(rows, axis=1)


def _grid(dy):
    return np.shape(dy)[:-2] + np.shape(dy)[-1:]


# conv(x, w) = GEMM(IM2COL(x), w); GEMM, GEMM_T and FILTER_GRAD are each other's pullbacks.
GEMM = _kernel_primitive(_gemm, "conv_gemm")
GEMM_T = _kernel_primitive(_gemm_t, "conv_gemm_t")
FILTER_GRAD = _kernel_primitive(_filter_grad, "conv_filter_grad")
GEMM.defpullback(_gemm_pullback)
GEMM_T.defvjp(
    lambda g, ans, dy, w, flipped, groups: GEMM(g, w, None, grid=_grid(dy), flipped=flipped,
                                                groups=groups),
    lambda g, ans, dy, w, flipped, groups: FILTER_GRAD(g, dy, ksize=np.shape(w)[:-2],
                                                       flipped=flipped, groups=groups))
FILTER_GRAD.defvjp(
    lambda g, ans, cols, dy, ksize, flipped, groups: GEMM_T(dy, g, flipped=flipped, groups=groups),
    lambda g, ans, cols, dy, ksize, flipped, groups: GEMM(cols, g, None, grid=_grid(dy),
                                                          flipped=flipped, groups=groups))


def _check_conv(xshape, wshape, groups, what="x"):
    n = len(wshape) - 2
    if n < 1:
        raise ValueError(f"the kernel w must have at least 3 dimensions (spatial..., C_in, C_out), "
                         f"got shape {tuple(wshape)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if wshape[-1] % groups:
        raise ValueError(f"groups={groups} must divide the {wshape[-1]} output channels of w")
    if len(xshape) != n + 2:
        raise ValueError(f"a kernel of shape {tuple(wshape)} has {n} spatial dimension"
                         f"{'s' if n != 1 else ''}, so {what} needs {n + 2} dimensions "
                         f"({_layout(n)}), but it has shape {tuple(xshape)}.")
    if xshape[n] != wshape[n] * groups:
        raise ValueError(f"{what} has {xshape[n]} channels on axis {n} (the C of "
                         f"{_layout(n)}), but the kernel of shape {tuple(wshape)} with "
                         f"groups={groups} expects {wshape[n] * groups}.")


def conv(x, w, stride=1, pad=0, dilation=1, flipped=False, groups=1):
    """Convolve `x` (``W × H × C_in × N``) with kernel `w` (``k_W × k_H × C_in/groups × C_out``).

    NNlib's ``conv``: the kernel is flipped (a true convolution) unless
    ``flipped=True``, which gives cross-correlation. 1-D and 3-D work the same
    way with one or three spatial axes. `stride`, `dilation` are ints or
    tuples; `pad` is an int, a tuple of one int per spatial axis, or ``(lo, hi)``
    for each axis. ``groups`` splits the channels into independent groups.

    Differentiable in `x` and `w`, to any order: it is ``im2col`` followed by
    one matrix product, primitives whose pullbacks are each other.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(4, 4, 1, 1)
    >>> w = np.zeros((3, 3, 1, 1)); w[0, 0] = 1.0             # picks the first tap...
    >>> conv(x, w, flipped=True)[:, :, 0, 0]                   # ...so cross-correlation copies x[:2, :2]
    array([[0., 1.],
           [4., 5.]])
    >>> conv(x, w)[:, :, 0, 0]                                 # conv flips it: the last tap
    array([[10., 11.],
           [14., 15.]])
    >>> conv(np.ones((28, 28, 3, 16)), np.ones((5, 5, 3, 8)), stride=2, pad=1).shape
    (13, 13, 8, 16)
    """
    return conv_bias_act(x, w, None, None, stride=stride, pad=pad, dilation=dilation,
                         flipped=flipped, groups=groups)


def conv_bias_act(x, w, b=None, σ=None, stride=1, pad=0, dilation=1, flipped=False, groups=1):
    """``σ(conv(x, w) + b)`` with `b` added per output channel: NNlib's ``conv_bias_act``.

    `b` is a vector with one entry per output channel (None: no bias), `σ` a
    function (None: identity). For identity, relu, tanh and σ the bias and
    the activation are part of the convolution's primitive (its pullback gets
    σ'(z) from the output: 1, y > 0, 1 - y², y(1 - y)), so a `Conv` layer is
    two tape entries; any other σ is applied afterwards.

    >>> import numpy as np, fluxlite as fl
    >>> x, w, b = np.random.rand(5, 5, 2, 3), np.random.rand(3, 3, 2, 4), np.random.rand(4)
    >>> y = conv_bias_act(x, w, b, fl.relu)
    >>> bool(np.allclose(y, fl.relu(conv(x, w) + b[:, None])))
    True
    """
    xshape, wshape = np.shape(x), np.shape(w)
    _check_conv(xshape, wshape, groups)
    if b is not None and np.shape(b) != (wshape[-1],):
        raise ValueError(f"the bias must have shape ({wshape[-1]},), one entry per output "
                         f"channel, but has shape {np.shape(b)}")
    ksize = tuple(wshape[:-2])
    cols = IM2COL(x, ksize=ksize, stride=stride, pad=pad, dilation=dilation, groups=groups)
    grid = _geometry(xshape, ksize, stride, pad, dilation)[3] + (xshape[-1],)
    act = _act_name(σ)
    y = GEMM(cols, w, b, grid=grid, flipped=bool(flipped), groups=groups, act=act or None)
    return σ(y) if act is False else y


def grad_conv_data(dy, w, xshape=None, stride=1, pad=0, dilation=1, flipped=False, groups=1):
    """The gradient of ``sum(conv(x, w) * dy)`` with respect to `x` (NNlib's ``∇conv_data``).

    This is the transposed convolution, and it is what ``ConvTranspose`` runs.
    `xshape` is the shape of `x`. Several input sizes give the same output size
    when the stride is above 1; leave `xshape` out to get the smallest, which is
    ``(out - 1)·stride + dilation·(k - 1) + 1 - lo - hi`` on each axis.

    >>> import numpy as np, fluxlite as fl
    >>> x, w = np.random.rand(5, 5, 2, 3), np.random.rand(3, 3, 2, 4)
    >>> dy = np.random.rand(3, 3, 4, 3)
    >>> g = fl.gradient(lambda x: np.sum(conv(x, w) * dy), x)[0]
    >>> bool(np.allclose(grad_conv_data(dy, w, x.shape), g))
    True
    """
    dshape, wshape = np.shape(dy), np.shape(w)
    n = len(wshape) - 2
    ksize = tuple(wshape[:-2])
    if len(dshape) != n + 2 or dshape[n] != wshape[-1]:
        raise ValueError(f"dy of shape {tuple(dshape)} does not fit the kernel of shape "
                         f"{tuple(wshape)}: it needs {n + 2} dimensions with {wshape[-1]} channels "
                         f"on axis {n}.")
    if xshape is None:
        s, d, p = _ntuple(stride, n, "stride"), _ntuple(dilation, n, "dilation"), _pads(pad, n)
        xshape = tuple((dshape[i] - 1) * s[i] + (ksize[i] - 1) * d[i] + 1 - p[2 * i] - p[2 * i + 1]
                       for i in range(n)) + (wshape[n] * groups, dshape[-1])
    xshape = tuple(xshape)
    _check_conv(xshape, wshape, groups, what="xshape")
    out = _geometry(xshape, ksize, stride, pad, dilation)[3]
    if tuple(dshape[:n]) != out or dshape[-1] != xshape[-1]:
        raise ValueError(f"dy has shape {tuple(dshape)}, but conv of an input of shape {xshape} "
                         f"gives {out + (wshape[-1], xshape[-1])}")
    cols = GEMM_T(dy, w, flipped=bool(flipped), groups=groups)
    return COL2IM(cols, xshape, ksize=ksize, stride=stride, pad=pad, dilation=dilation,
                  groups=groups)


def grad_conv_filter(x, dy, wshape, stride=1, pad=0, dilation=1, flipped=False, groups=1):
    """The gradient of ``sum(conv(x, w) * dy)`` with respect to `w` (NNlib's ``∇conv_filter``).

    `wshape` is the kernel's shape, ``(k..., C_in/groups, C_out)``.

    >>> import numpy as np, fluxlite as fl
    >>> x, w = np.random.rand(6, 6, 2, 3), np.random.rand(3, 3, 2, 4)
    >>> dy = np.random.rand(2, 2, 4, 3)
    >>> g = fl.gradient(lambda w: np.sum(conv(x, w, stride=2) * dy), w)[0]
    >>> bool(np.allclose(grad_conv_filter(x, dy, w.shape, stride=2), g))
    True
    """
    wshape = tuple(wshape)
    _check_conv(np.shape(x), wshape, groups)
    ksize = wshape[:-2]
    out = _geometry(np.shape(x), ksize, stride, pad, dilation)[3]
    want = out + (wshape[-1], np.shape(x)[-1])
    if tuple(np.shape(dy)) != want:
        raise ValueError(f"dy has shape {tuple(np.shape(dy))}, but conv of x gives {want}")
    cols = IM2COL(x, ksize=ksize, stride=stride, pad=pad, dilation=dilation, groups=groups)
    return FILTER_GRAD(cols, dy, ksize=ksize, flipped=bool(flipped), groups=groups)


# --------------------------------------------------------------------------- pooling
#
# When the windows tile the input (stride = window, no padding), a window's taps are plain
# strided views of the input, one per tap; otherwise `_windows` gives a (*out, C, N, *k) view.


def _pool_geometry(xshape, k, stride, pad):
    return _geometry(xshape, k, stride, pad, 1)


def _is_tiling(k, s, p):
    return s == k and not any(p)


def _tiles(x, k, out):
    """(*S, C, N) -> (out_1, k_1, out_2, k_2, ..., C, N), a view (the remainder is cut off)."""
    n = len(k)
    if any(out[i] * k[i] != x.shape[i] for i in range(n)):
        x = x[tuple(slice(0, out[i] * k[i]) for i in range(n))]
    return x.reshape(tuple(a for i in range(n) for a in (out[i], k[i])) + x.shape[n:])


def _taps(k):
    """Window taps in NNlib's scanning order: the first (W) axis fastest."""
    return [rev[::-1] for rev in np.ndindex(*k[::-1])]


def _tile_index(tap):
    return sum(((slice(None), a) for a in tap), ())


def _first_hits(t, y, k):
    """For each tap (NNlib order): its tile index and where it is the window's first maximum."""
    free = None
    taps = _taps(k)
    for i, tap in enumerate(taps):
        idx = _tile_index(tap)
        hit = t[idx] == y
        if free is not None:
            hit &= free
            if i + 1 < len(taps):
                free ^= hit
        elif len(taps) > 1:
            free = ~hit
        yield idx, hit


def _argmax_hot(x, k, s, p, out):
    """General windows: a (*out, C, N, *k) mask of each window's first maximum (NNlib order)."""
    n = len(k)
    win = _windows(_padded(x, p, n, -np.inf), k, s, (1,) * n, out)
    rev = tuple(range(n + 2)) + tuple(range(2 * n + 1, n + 1, -1))   # taps (k_n, ..., k_1)
    flat = win.transpose(rev).reshape(win.shape[:n + 2] + (-1,))
    first = np.argmax(flat, axis=-1)
    hot = (first[..., None] == np.arange(flat.shape[-1])).reshape(
        tuple(win.shape[i] for i in rev))
    return hot.transpose(rev)


def _spread(taps, xshape, like, k, s, p, out):
    """Add `taps` (*out, C, N, *k), one value per window tap, onto an array shaped like x."""
    n = len(k)
    padded = tuple(xshape[i] + p[2 * i] + p[2 * i + 1] for i in range(n)) + tuple(xshape[n:])
    dx = np.zeros_like(like, shape=padded, dtype=taps.dtype)
    for tap in np.ndindex(*k):
        dx[_tap_slices(tap, s, (1,) * n, out)] += taps[(Ellipsis,) + tap]
    return _cropped(dx, p, xshape[:n])


def _maxpool(x, k, stride, pad):
    n = len(k)
    s, p, _, out = _pool_geometry(x.shape, k, stride, pad)
    if _is_tiling(k, s, p):
        t = _tiles(x, k, out)
        views = [t[_tile_index(tap)] for tap in _taps(k)]
        if len(views) == 1:
            return views[0].copy()
        m = np.maximum(views[0], views[1])
        for v in views[2:]:
            np.maximum(m, v, out=m)
        return m
    win = _windows(_padded(x, p, n, -np.inf), k, s, (1,) * n, out)
    return np.max(win, axis=tuple(range(n + 2, 2 * n + 2)))


def _maxpool_grad(dy, y, x, k, stride, pad):
    n = len(k)
    s, p, _, out = _pool_geometry(x.shape, k, stride, pad)
    if _is_tiling(k, s, p):
        # Each element of x lies in at most one window, and the loop below writes every
        # element of every window, so only a remainder that no window covers needs zeros.
        covered = all(out[i] * k[i] == x.shape[i] for i in range(n))
        dx = (np.empty_like if covered else np.zeros_like)(x, dtype=np.result_type(dy, x))
        dt = _tiles(dx, k, out)
        for idx, hit in _first_hits(_tiles(x, k, out), y, k):
            np.multiply(dy, hit, out=dt[idx])
        return dx
    hot = _argmax_hot(x, k, s, p, out)
    return _spread(np.where(hot, dy[(Ellipsis,) + (None,) * n], 0), x.shape, x, k, s, p, out)


def _maxpool_gather(gx, y, x, k, stride, pad):
    """The adjoint of `_maxpool_grad` in `dy`: read gx at each window's routed maximum."""
    n = len(k)
    s, p, _, out = _pool_geometry(x.shape, k, stride, pad)
    if _is_tiling(k, s, p):
        gt = _tiles(gx, k, out)
        acc = np.zeros_like(y, dtype=np.result_type(gx, y))
        for idx, hit in _first_hits(_tiles(x, k, out), y, k):
            acc += gt[idx] * hit
        return acc
    hot = _argmax_hot(x, k, s, p, out)
    win = _windows(_padded(gx, p, n), k, s, (1,) * n, out)
    return np.sum(np.where(hot, win, 0), axis=tuple(range(n + 2, 2 * n + 2)))


def _meanpool(x, k, stride, pad):
    n = len(k)
    s, p, _, out = _pool_geometry(x.shape, k, stride, pad)
    if _is_tiling(k, s, p):
        t = _tiles(x, k, out)
        views = [t[_tile_index(tap)] for tap in _taps(k)]
        acc = views[0].copy() if len(views) == 1 else views[0] + views[1]
        for v in views[2:]:
            acc += v
    else:
        win = _windows(_padded(x, p, n), k, s, (1,) * n, out)
        acc = np.sum(win, axis=tuple(range(n + 2, 2 * n + 2)))
    if acc.dtype.kind == "f":
        acc /= math.prod(k)
        return acc
    return acc / math.prod(k)


def _meanpool_grad(dy, xshape, k, stride, pad):
    n = len(k)
    s, p, _, out = _pool_geometry(xshape, k, stride, pad)
    share = dy / math.prod(k)
    if _is_tiling(k, s, p):
        dx = np.zeros_like(dy, shape=xshape)
        dt = _tiles(dx, k, out)
        for tap in _taps(k):
            dt[_tile_index(tap)] = share
        return dx
    taps = np.broadcast_to(share[(Ellipsis,) + (None,) * n], share.shape + tuple(k))
    return _spread(taps, xshape, dy, k, s, p, out)


MAXPOOL = _kernel_primitive(_maxpool, "maxpool")
MAXPOOL_GRAD = _kernel_primitive(_maxpool_grad, "maxpool_grad")
MAXPOOL_GATHER = _kernel_primitive(_maxpool_gather, "maxpool_gather")
MEANPOOL = _kernel_primitive(_meanpool, "meanpool")
MEANPOOL_GRAD = _kernel_primitive(_meanpool_grad, "meanpool_grad")
MAXPOOL.defvjp(lambda g, ans, x, k, stride, pad: MAXPOOL_GRAD(g, ans, x, k=k, stride=stride,
                                                              pad=pad))
# The routing is piecewise constant in x, so only the routed values carry a gradient.
MAXPOOL_GRAD.defvjp(lambda g, ans, dy, y, x, k, stride, pad: MAXPOOL_GATHER(
    g, y, x, k=k, stride=stride, pad=pad))
MAXPOOL_GATHER.defvjp(lambda g, ans, gx, y, x, k, stride, pad: MAXPOOL_GRAD(
    g, y, x, k=k, stride=stride, pad=pad))
MEANPOOL.defvjp(lambda g, ans, x, k, stride, pad: MEANPOOL_GRAD(
    g, np.shape(x), k=k, stride=stride, pad=pad))
MEANPOOL_GRAD.defvjp(lambda g, ans, dy, xshape, k, stride, pad: MEANPOOL(
    g, k=k, stride=stride, pad=pad))


def _pool_args(x, k, stride, pad, name):
    if isinstance(k, (int, np.integer)):
        raise TypeError(f"{name} needs the window as a tuple, one int per spatial axis: "
                        f"({k}, {k}) for images, ({k},) for sequences.")
    k = tuple(int(a) for a in k)
    n = len(k)
    if np.ndim(x) != n + 2:
        raise ValueError(f"{name} with a window of {n} dimension{'s' if n != 1 else ''} {k} "
                         f"needs an input with {n + 2} dimensions ({_layout(n)}), but got shape "
                         f"{np.shape(x)}.")
    stride = k if stride is None else _ntuple(stride, n, "stride")
    return k, stride, _pads(pad, n)


def _check_dy(dy, x, k, stride, pad, name):
    want = _pool_geometry(np.shape(x), k, stride, pad)[3] + tuple(np.shape(x)[len(k):])
    if tuple(np.shape(dy)) != want:
        raise ValueError(f"{name}: dy has shape {tuple(np.shape(dy))}, but pooling x of shape "
                         f"{np.shape(x)} gives {want}")


def maxpool(x, k, pad=0, stride=None):
    """The largest value in each window of size `k` (a tuple), per channel: NNlib's ``maxpool``.

    The stride defaults to the window size, so windows do not overlap. Padding
    is never the maximum (padded positions are ignored, as in NNlib). The
    pullback sends each window's gradient to the position of its maximum; when
    several positions tie, only the first gets it, scanning the window with its
    first (W) axis fastest, as NNlib does.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(4, 4, 1, 1)
    >>> maxpool(x, (2, 2))[:, :, 0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    k, stride, pad = _pool_args(x, k, stride, pad, "maxpool")
    return MAXPOOL(x, k=k, stride=stride, pad=pad)


def meanpool(x, k, pad=0, stride=None):
    """The mean of each window of size `k` (a tuple), per channel: NNlib's ``meanpool``.

    As in NNlib, the sum is always divided by ``prod(k)``, so padded zeros count.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(4, 4, 1, 1)
    >>> meanpool(x, (2, 2))[:, :, 0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    k, stride, pad = _pool_args(x, k, stride, pad, "meanpool")
    return MEANPOOL(x, k=k, stride=stride, pad=pad)


def grad_maxpool(dy, y, x, k, pad=0, stride=None):
    """The gradient of ``sum(maxpool(x, k) * dy)`` with respect to `x` (NNlib's ``∇maxpool``).

    `y` is ``maxpool(x, k)``. Each window's `dy` goes to the first position of
    its maximum (first with the W axis scanned fastest).

    >>> import numpy as np
    >>> x = np.array([1.0, 3.0, 3.0, 2.0]).reshape(4, 1, 1)       # W × C × N
    >>> y = maxpool(x, (2,))
    >>> grad_maxpool(np.ones((2, 1, 1)), y, x, (2,))[:, 0, 0]      # the tie 3, 3: the first wins
    array([0., 1., 1., 0.])
    """
    k, stride, pad = _pool_args(x, k, stride, pad, "grad_maxpool")
    _check_dy(dy, x, k, stride, pad, "grad_maxpool")
    return MAXPOOL_GRAD(dy, y, x, k=k, stride=stride, pad=pad)


def grad_meanpool(dy, x, k, pad=0, stride=None):
    """The gradient of ``sum(meanpool(x, k) * dy)`` with respect to `x` (NNlib's ``∇meanpool``).

    Each window spreads its `dy` evenly, ``dy / prod(k)`` to every position.

    >>> import numpy as np
    >>> grad_meanpool(np.ones((2, 1, 1)), np.zeros((4, 1, 1)), (2,))[:, 0, 0]
    array([0.5, 0.5, 0.5, 0.5])
    """
    k, stride, pad = _pool_args(x, k, stride, pad, "grad_meanpool")
    _check_dy(dy, x, k, stride, pad, "grad_meanpool")
    return MEANPOOL_GRAD(dy, np.shape(x), k=k, stride=stride, pad=pad)


# Speed tricks that change none of the numbers above live in their own module; importing it
# puts them in force, unless FLUXLITE_REFERENCE=1 asked for the reference path.
from . import nnlib_fast  # noqa: E402,F401
