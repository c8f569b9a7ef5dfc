"""Convolution and pooling: fluxlite.nnlib kernels and the layers in fluxlite.layers.conv.

Values are checked against direct loops written here (not sharing code with the
kernels), gradients against central finite differences in float64, and the layers'
settings, output sizes and printing against the examples in Flux's and NNlib's docs.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fluxlite as fl
from gradcheck import check_grads, numerical_gradient_in_place
from fluxlite import nnlib
from fluxlite.layers.basic import Chain, Dense, f64
from fluxlite.layers.checks import LayerShapeError
from fluxlite.layers.conv import (Conv, ConvTranspose, CrossCor, GlobalMaxPool, GlobalMeanPool,
                                  MaxPool, MeanPool, SamePad, flatten)

RNG = np.random.default_rng(20261128)


# --------------------------------------------------------------------------- independent references


def expand_pad(pad, n):
    """(lo_1, hi_1, ..., lo_n, hi_n) from an int, n ints or 2n ints."""
    if isinstance(pad, int):
        return [pad] * (2 * n)
    pad = list(pad)
    return [p for p in pad for _ in (0, 1)] if len(pad) == n else pad


def loop_conv(x, w, stride=1, pad=0, dilation=1, flip=True, groups=1):
    """y[o..., co, n] = Σ_taps Σ_c x[o·s + tap·d - lo, c, n] · w[tap or flipped tap, c, co]."""
    n = w.ndim - 2
    s = [stride] * n if isinstance(stride, int) else list(stride)
    d = [dilation] * n if isinstance(dilation, int) else list(dilation)
    p = expand_pad(pad, n)
    k = w.shape[:n]
    cin_g, cout = w.shape[n], w.shape[n + 1]
    cout_g = cout // groups
    out = [(x.shape[i] + p[2 * i] + p[2 * i + 1] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(n)]
    y = np.zeros(out + [cout, x.shape[-1]])
    for o in itertools.product(*[range(m) for m in out]):
        for co in range(cout):
            grp = co // cout_g
            total = np.zeros(x.shape[-1])
            for tap in itertools.product(*[range(m) for m in k]):
                pos = [o[i] * s[i] + tap[i] * d[i] - p[2 * i] for i in range(n)]
                if any(q < 0 or q >= x.shape[i] for i, q in enumerate(pos)):
                    continue  # a padded zero
                wtap = tuple(k[i] - 1 - tap[i] for i in range(n)) if flip else tap
                for c in range(cin_g):
                    total += x[tuple(pos) + (grp * cin_g + c,)] * w[wtap + (c, co)]
            y[tuple(o) + (co,)] = total
    return y


def loop_pool(x, k, stride=None, pad=0, op="max"):
    n = len(k)
    s = list(k) if stride is None else ([stride] * n if isinstance(stride, int) else list(stride))
    p = expand_pad(pad, n)
    out = [(x.shape[i] + p[2 * i] + p[2 * i + 1] - k[i]) // s[i] + 1 for i in range(n)]
    y = np.zeros(out + list(x.shape[n:]))
    for o in itertools.product(*[range(m) for m in out]):
        for c in range(x.shape[n]):
            for b in range(x.shape[n + 1]):
                vals = []
                for tap in itertools.product(*[range(m) for m in k]):
                    pos = [o[i] * s[i] + tap[i] - p[2 * i] for i in range(n)]
                    inside = all(0 <= q < x.shape[i] for i, q in enumerate(pos))
                    vals.append(x[tuple(pos) + (c, b)] if inside else None)
                if op == "max":
                    y[tuple(o) + (c, b)] = max(v for v in vals if v is not None)
                else:  # NNlib: padding counts as zero, the divisor is always prod(k)
                    y[tuple(o) + (c, b)] = sum(v for v in vals if v is not None) / np.prod(k)
    return y


def assert_grad_close(got, want, what, tol=1e-6):
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    assert err < tol, f"{what}: gradient differs from finite differences by {err:.2e}"


# Convolution settings covering 1-D, 2-D and 3-D; strides, dilations, every padding form; groups.
CONV_CASES = [
    # (x shape, w shape, keywords)
    ((9, 2, 3), (3, 2, 4), dict()),
    ((10, 3, 2), (3, 3, 2), dict(stride=2, pad=1, dilation=2)),
    ((7, 6, 3, 2), (3, 2, 3, 4), dict()),
    ((7, 6, 3, 2), (3, 3, 3, 2), dict(stride=(2, 1), pad=(1, 0), dilation=(1, 2))),
    ((6, 7, 2, 2), (2, 3, 2, 3), dict(pad=(2, 0, 1, 3), stride=2)),
    ((6, 6, 4, 2), (3, 3, 2, 6), dict(groups=2, pad=1)),
    ((5, 4, 3, 2, 2), (2, 2, 2, 2, 3), dict(pad=(1, 0, 1), stride=(1, 2, 1))),
]


def _kw(case):
    return dict(stride=case.get("stride", 1), pad=case.get("pad", 0),
                dilation=case.get("dilation", 1), groups=case.get("groups", 1))


# --------------------------------------------------------------------------- nnlib: values


@pytest.mark.parametrize("xs, ws, kw", CONV_CASES)
def test_conv_flips_the_kernel_and_crosscor_does_not_matching_a_direct_loop(xs, ws, kw):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    for flipped in (False, True):
        y = nnlib.conv(x, w, flipped=flipped, **kw)
        want = loop_conv(x, w, flip=not flipped, **_kw(kw))
        assert y.shape == want.shape
        np.testing.assert_allclose(y, want, atol=1e-12)


def test_conv_and_crosscor_differ_for_an_asymmetric_kernel():
    x = np.arange(16.0).reshape(4, 4, 1, 1)
    w = np.zeros((3, 3, 1, 1))
    w[0, 0] = 1.0  # crosscor reads tap (0, 0): x[i, j]; conv reads the flipped tap: x[i + 2, j + 2]
    np.testing.assert_array_equal(nnlib.conv(x, w, flipped=True)[..., 0, 0], x[:2, :2, 0, 0])
    np.testing.assert_array_equal(nnlib.conv(x, w)[..., 0, 0], x[2:, 2:, 0, 0])


@pytest.mark.parametrize("size, k, kw, want", [
    ((28, 28), (5, 5), {}, (24, 24)),
    ((28, 28), (5, 5), dict(stride=2, pad=1), (13, 13)),
    ((100, 100), (5, 5), dict(stride=2, dilation=4), (42, 42)),
    ((100,), (5,), dict(stride=3, pad=2), (34,)),
    ((10, 10), (3, 3), dict(pad=(1, 0, 2, 2)), (9, 12)),
])
def test_conv_output_size_follows_nnlibs_formula(size, k, kw, want):
    assert nnlib.conv_output_size(size, k, **kw) == want
    x = np.zeros(size + (1, 1))
    assert nnlib.conv(x, np.zeros(k + (1, 1)), **kw).shape == want + (1, 1)


def test_conv_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="larger than spatial axis 0"):
        nnlib.conv(np.zeros((2, 2, 1, 1)), np.zeros((3, 3, 1, 1)))


def test_conv_rejects_mismatched_channels_naming_the_axis():
    with pytest.raises(ValueError, match=r"3 channels on axis 2 \(the C of W × H × C × N\)"):
        nnlib.conv(np.zeros((5, 5, 3, 1)), np.zeros((3, 3, 1, 2)))


@pytest.mark.parametrize("xs, k, stride, pad", [
    ((8, 8, 3, 2), (2, 2), None, 0),
    ((7, 9, 2, 2), (3, 2), (2, 3), (1, 0, 1, 1)),
    ((9, 2, 2), (3,), 2, 1),
    ((7, 7, 1, 2), (2, 2), None, 0),            # 7 is not a multiple of 2: the last row is dropped
    ((5, 5, 4, 2, 2), (2, 2, 2), None, 0),
    ((6, 6, 2, 1), (3, 3), 1, (1, 1)),          # overlapping windows
])
def test_pooling_matches_a_direct_loop(xs, k, stride, pad):
    x = RNG.standard_normal(xs)
    np.testing.assert_allclose(nnlib.maxpool(x, k, pad=pad, stride=stride),
                               loop_pool(x, k, stride, pad, "max"))
    np.testing.assert_allclose(nnlib.meanpool(x, k, pad=pad, stride=stride),
                               loop_pool(x, k, stride, pad, "mean"), atol=1e-12)


def test_maxpool_ignores_padding_even_when_every_value_is_negative():
    x = -np.ones((3, 3, 1, 1))
    y = nnlib.maxpool(x, (2, 2), pad=1, stride=2)
    np.testing.assert_array_equal(y, -np.ones((2, 2, 1, 1)))


def test_meanpool_counts_padding_as_zero_like_nnlib():
    x = np.ones((2, 2, 1, 1))
    y = nnlib.meanpool(x, (2, 2), pad=1)   # each window holds one 1 and three padded zeros
    np.testing.assert_array_equal(y, np.full((2, 2, 1, 1), 0.25))


# --------------------------------------------------------------------------- nnlib: gradients


@pytest.mark.parametrize("xs, ws, kw", CONV_CASES)
@pytest.mark.parametrize("flipped", [False, True])
def test_conv_gradients_match_finite_differences(xs, ws, kw, flipped):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    dy = RNG.standard_normal(nnlib.conv(x, w, **kw).shape)

    def L():
        return np.sum(nnlib.conv(x, w, flipped=flipped, **kw) * dy)

    gx, gw = fl.gradient(lambda x, w: np.sum(nnlib.conv(x, w, flipped=flipped, **kw) * dy), x, w)
    assert_grad_close(gx, numerical_gradient_in_place(L, x), "∂/∂x")
    assert_grad_close(gw, numerical_gradient_in_place(L, w), "∂/∂w")
    # the public pullbacks, NNlib's ∇conv_data and ∇conv_filter, give the same numbers
    np.testing.assert_allclose(nnlib.grad_conv_data(dy, w, x.shape, flipped=flipped, **kw), gx)
    np.testing.assert_allclose(nnlib.grad_conv_filter(x, dy, w.shape, flipped=flipped, **kw), gw)


@pytest.mark.parametrize("σ", [None, fl.relu, np.tanh, fl.σ, fl.softplus])
def test_conv_bias_act_gradients_match_finite_differences(σ):
    x, w, b = RNG.standard_normal((6, 5, 2, 3)), RNG.standard_normal((3, 3, 2, 4)), RNG.standard_normal(4)
    dy = RNG.standard_normal((6, 5, 4, 3))
    f = (lambda z: z) if σ is None else σ

    def L():
        return np.sum(nnlib.conv_bias_act(x, w, b, σ, pad=1) * dy)

    np.testing.assert_allclose(nnlib.conv_bias_act(x, w, b, σ, pad=1),
                               f(loop_conv(x, w, pad=1) + b[:, None]), atol=1e-12)
    gx, gw, gb = fl.gradient(lambda x, w, b: np.sum(nnlib.conv_bias_act(x, w, b, σ, pad=1) * dy),
                             x, w, b)
    assert_grad_close(gx, numerical_gradient_in_place(L, x), "∂/∂x")
    assert_grad_close(gw, numerical_gradient_in_place(L, w), "∂/∂w")
    assert_grad_close(gb, numerical_gradient_in_place(L, b), "∂/∂b")


def test_grad_conv_data_is_the_adjoint_of_conv():
    # <conv(x, w), y> == <x, grad_conv_data(y, w)> for every x and y: the transposed convolution
    x, w = RNG.standard_normal((9, 8, 3, 2)), RNG.standard_normal((3, 2, 3, 5))
    kw = dict(stride=(2, 3), pad=(1, 2, 0, 1), dilation=(2, 1))
    y = RNG.standard_normal(nnlib.conv(x, w, **kw).shape)
    lhs = np.sum(nnlib.conv(x, w, **kw) * y)
    rhs = np.sum(x * nnlib.grad_conv_data(y, w, x.shape, **kw))
    assert np.isclose(lhs, rhs)


def test_grad_conv_data_without_xshape_gives_the_smallest_input():
    dy, w = np.zeros((4, 4, 5, 2)), np.zeros((3, 3, 2, 5))
    assert nnlib.grad_conv_data(dy, w, stride=2, pad=1).shape == (7, 7, 2, 2)   # (4-1)·2 + 3 - 2


@pytest.mark.parametrize("xs, k, stride, pad", [
    ((8, 6, 3, 2), (2, 2), None, 0),
    ((7, 9, 2, 2), (3, 2), (2, 3), (1, 0, 1, 1)),
    ((9, 2, 2), (3,), 2, 1),
    ((7, 7, 1, 2), (2, 2), None, 0),
    ((4, 4, 2, 2, 1), (2, 2, 2), None, 0),
    ((6, 6, 2, 1), (3, 3), 1, 1),
])
@pytest.mark.parametrize("op", ["max", "mean"])
def test_pooling_gradients_match_finite_differences(xs, k, stride, pad, op):
    x = RNG.permutation(np.prod(xs)).reshape(xs) / 7.0   # distinct values: no ties, no kinks
    f = nnlib.maxpool if op == "max" else nnlib.meanpool
    dy = RNG.standard_normal(f(x, k, pad=pad, stride=stride).shape)

    def L():
        return np.sum(f(x, k, pad=pad, stride=stride) * dy)

    g = fl.gradient(lambda x: np.sum(f(x, k, pad=pad, stride=stride) * dy), x)[0]
    assert_grad_close(g, numerical_gradient_in_place(L, x, step=1e-4), f"{op}pool ∂/∂x")
    if op == "max":
        y = nnlib.maxpool(x, k, pad=pad, stride=stride)
        np.testing.assert_array_equal(nnlib.grad_maxpool(dy, y, x, k, pad=pad, stride=stride), g)
    else:
        np.testing.assert_allclose(nnlib.grad_meanpool(dy, x, k, pad=pad, stride=stride), g)


def test_maxpool_sends_a_tied_windows_gradient_to_the_first_maximum_scanning_w_fastest():
    # A 2×2 window whose maximum 5 sits at (w=1, h=0) and (w=0, h=1). NNlib scans w fastest,
    # visiting (0,0), (1,0), (0,1), (1,1), so (1, 0) gets the whole gradient.
    x = np.zeros((2, 2, 1, 1))
    x[1, 0] = x[0, 1] = 5.0
    g = fl.gradient(lambda x: np.sum(nnlib.maxpool(x, (2, 2)) * 3.0), x)[0]
    want = np.zeros((2, 2, 1, 1))
    want[1, 0] = 3.0
    np.testing.assert_array_equal(g, want)
    # the same rule in the general (overlapping-window) path
    g2 = fl.gradient(lambda x: np.sum(nnlib.maxpool(x, (2, 2), stride=1, pad=(0, 1, 0, 0)) * 3.0),
                     x)[0]
    assert g2[1, 0, 0, 0] == 6.0 and g2[0, 1, 0, 0] == 0.0   # windows at w=0 and w=1 both pick (1, 0)


def test_maxpool_of_an_all_zero_window_routes_the_gradient_once():
    # after relu many windows are all zeros: exactly one position may receive the gradient
    x = np.zeros((4, 4, 2, 3))
    g = fl.gradient(lambda x: np.sum(nnlib.maxpool(x, (2, 2))), x)[0]
    assert g.sum() == 2 * 2 * 2 * 3
    np.testing.assert_array_equal(g[0::2, 0::2], 1.0)


def test_conv_second_derivatives_match_finite_differences_of_the_gradient():
    # a gradient penalty: differentiate |∂L/∂x|² with respect to x and w (nested gradients)
    x, w = RNG.standard_normal((5, 5, 2, 2)), RNG.standard_normal((3, 3, 2, 3))
    kw = dict(stride=(1, 2), pad=(0, 1), dilation=1)
    dy = RNG.standard_normal(nnlib.conv(x, w, **kw).shape)

    def penalty(x, w):
        gx = fl.gradient(lambda x: np.sum(np.tanh(nnlib.conv(x, w, **kw)) * dy), x)[0]
        return np.sum(gx ** 2)

    hx, hw = fl.gradient(penalty, x, w)
    assert_grad_close(hx, numerical_gradient_in_place(lambda: penalty(x, w), x), "∂penalty/∂x")
    assert_grad_close(hw, numerical_gradient_in_place(lambda: penalty(x, w), w), "∂penalty/∂w")


def test_pooling_second_derivatives_match_finite_differences():
    x = RNG.permutation(72).reshape(6, 6, 2, 1) / 10.0
    dy = RNG.standard_normal((3, 3, 2, 1))
    for f in (nnlib.maxpool, nnlib.meanpool):
        def h(x):
            g = fl.gradient(lambda x: np.sum(np.sin(f(x ** 3, (2, 2))) * dy), x)[0]
            return np.sum(g ** 2)
        # h(x) involves x**3 and sin, so finite differences are accurate to about 1e-6 here
        assert_grad_close(fl.gradient(h, x)[0], numerical_gradient_in_place(lambda: h(x), x, step=1.5e-6), f.__name__,
                          tol=1e-5)


def test_the_mnist_benchmark_block_passes_the_gradient_check_to_second_order():
    # bench/cnn_mnist.py's layers: 3×3 convolutions without padding (stride 1), relu, and 2×2
    # max-pooling, twice: 13 → 11 → 5 (the last row and column are cut off) → 3 → 1 (cut again).
    x = RNG.standard_normal((13, 13, 1, 2))
    w1, b1 = RNG.standard_normal((3, 3, 1, 3)), RNG.standard_normal(3)
    w2, b2 = RNG.standard_normal((3, 3, 3, 2)), RNG.standard_normal(2)

    def block(x, w1, b1, w2, b2):
        h = nnlib.maxpool(nnlib.conv_bias_act(x, w1, b1, fl.relu), (2, 2))
        return nnlib.maxpool(nnlib.conv_bias_act(h, w2, b2, fl.relu), (2, 2))

    assert block(x, w1, b1, w2, b2).shape == (1, 1, 2, 2)
    check_grads(block, x, w1, b1, w2, b2, order=2)


@st.composite
def conv_settings(draw):
    """Any 1-, 2- or 3-D geometry: kernel, stride, dilation, asymmetric padding, groups, sizes."""
    n = draw(st.integers(1, 3))
    k = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    s = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    d = tuple(draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)))
    p = tuple(draw(st.lists(st.integers(0, 2), min_size=2 * n, max_size=2 * n)))
    g = draw(st.sampled_from([1, 2]))
    size = tuple(max(draw(st.integers(1, 6)), (k[i] - 1) * d[i] + 1 - p[2 * i] - p[2 * i + 1])
                 for i in range(n))
    cin, cout = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    return size + (cin, draw(st.integers(1, 2))), k + (cin // g, cout), dict(
        stride=s, pad=p, dilation=d, groups=g), draw(st.booleans()), draw(st.integers(0, 2 ** 31))


@given(conv_settings())
def test_conv_matches_the_loop_and_its_directional_derivatives_for_any_geometry(case):
    xs, ws, kw, flipped, seed = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    y = nnlib.conv(x, w, flipped=flipped, **kw)
    np.testing.assert_allclose(y, loop_conv(x, w, flip=not flipped, **kw), atol=1e-12)
    dy = rng.standard_normal(y.shape)

    def f(x, w):
        return np.sum(nnlib.conv(x, w, flipped=flipped, **kw) * dy)

    gx, gw = fl.gradient(f, x, w)
    u, v = rng.standard_normal(xs), rng.standard_normal(ws)   # directions (autograd's check)
    h = 1e-6
    assert np.isclose(np.sum(gx * u), (f(x + h * u, w) - f(x - h * u, w)) / (2 * h), rtol=1e-6, atol=1e-7)
    assert np.isclose(np.sum(gw * v), (f(x, w + h * v) - f(x, w - h * v)) / (2 * h), rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- layers: construction, shapes, printing


@pytest.mark.parametrize("make, text", [
    (lambda: Conv((3, 3), (1, 16), fl.relu, pad=1), "Conv((3, 3), 1 => 16, relu, pad=1)"),
    (lambda: Conv((5, 5), (3, 7), fl.relu, bias=False), "Conv((5, 5), 3 => 7, relu, bias=false)"),
    (lambda: Conv((2, 2), (3, 7), pad=SamePad()), "Conv((2, 2), 3 => 7, pad=(1, 0, 1, 0))"),
    (lambda: Conv((5, 5), (3, 7), stride=2, pad=SamePad()), "Conv((5, 5), 3 => 7, pad=2, stride=2)"),
    (lambda: Conv((3,), (4, 5), fl.σ), "Conv((3,), 4 => 5, σ)"),
    (lambda: Conv((3, 3), (4, 8), groups=2, dilation=(1, 2)),
     "Conv((3, 3), 4 => 8, dilation=(1, 2), groups=2)"),
    (lambda: Conv((1, 1), (3, 7), pad=(20, 10, 0, 0)), "Conv((1, 1), 3 => 7, pad=(20, 10, 0, 0))"),
    (lambda: CrossCor((5, 5), (3, 6), fl.relu, bias=False), "CrossCor((5, 5), 3 => 6, relu, bias=false)"),
    (lambda: ConvTranspose((5, 5), (3, 7), fl.relu), "ConvTranspose((5, 5), 3 => 7, relu)"),
    (lambda: MaxPool((2, 2)), "MaxPool((2, 2))"),
    (lambda: MaxPool((5,), pad=2, stride=3), "MaxPool((5,), pad=2, stride=3)"),
    (lambda: MeanPool((5, 5), pad=SamePad()), "MeanPool((5, 5), pad=2)"),
    (lambda: GlobalMaxPool(), "GlobalMaxPool()"),
    (lambda: GlobalMeanPool(), "GlobalMeanPool()"),
])
def test_layers_print_their_flux_one_line_form(make, text):
    assert make()._show() == text
    assert repr(make()).split("  #")[0].rstrip() == text


def test_conv_prints_its_parameter_count_as_flux_does():
    assert repr(Conv((2, 2), (3, 7), pad=SamePad())) == "Conv((2, 2), 3 => 7, pad=(1, 0, 1, 0))  # 91 parameters"
    assert repr(Conv((5, 5), (3, 7), fl.relu, bias=False)).endswith("# 525 parameters")
    assert repr(MaxPool((2, 2))) == "MaxPool((2, 2))"
    m = Chain(Conv((3, 3), (1, 16), fl.relu, pad=1), MaxPool((2, 2)), flatten, Dense(256, 10))
    lines = repr(m).splitlines()
    assert lines[1] == "  Conv((3, 3), 1 => 16, relu, pad=1),   # 160 parameters"   # comment at column 40
    assert lines[2] == "  MaxPool((2, 2)),"
    assert lines[3] == "  flatten,"


def test_conv_weight_and_bias_have_fluxs_shapes_and_float32():
    c = Conv((3, 2), (4, 6), groups=2)
    assert c.weight.shape == (3, 2, 2, 6) and c.bias.shape == (6,)
    assert c.weight.dtype == np.float32 and c.bias.dtype == np.float32
    assert isinstance(c.weight, fl.Param) and not c.bias.any()
    t = ConvTranspose((3, 3), (2, 5))
    assert t.weight.shape == (3, 3, 5, 2) and t.bias.shape == (5,)
    assert c.stride == (1, 1) and c.pad == (0, 0, 0, 0) and c.dilation == (1, 1) and c.groups == 2


def test_conv_init_receives_kernel_and_channel_sizes():
    seen = []

    def init(*dims):
        seen.append(dims)
        return np.ones(dims, np.float32)

    Conv((3, 5), (4, 6), init=init, groups=2)
    assert seen == [(3, 5, 2, 6)]


def test_conv_from_weight_and_bias_arrays():
    w, b = np.ones((3, 4, 5)), np.arange(5)
    c = Conv(w, b, fl.σ)
    assert c.bias.dtype == np.float64 and isinstance(c.bias, fl.Param)   # the weight's precision
    assert repr(c) == "Conv((3,), 4 => 5, σ)  # 65 parameters"
    assert c.weight.dtype == np.float64
    assert c(np.zeros((100, 4, 2))).shape == (98, 5, 2)
    np.testing.assert_allclose(c(np.zeros((3, 4, 1)))[0, :, 0], fl.σ(b))


@pytest.mark.parametrize("layer, xs, want", [
    (Conv((5, 5), (3, 7)), (20, 20, 3, 2), (16, 16, 7, 2)),
    (Conv((5, 5), (3, 7), stride=2), (20, 20, 3, 2), (8, 8, 7, 2)),
    (Conv((5, 5), (3, 7), stride=2, pad=SamePad()), (20, 20, 3, 2), (10, 10, 7, 2)),
    (Conv((3, 3), (3, 7), pad=SamePad(), dilation=2), (20, 20, 3, 2), (20, 20, 7, 2)),
    (Conv((2, 2), (3, 7), pad=SamePad()), (9, 9, 3, 2), (9, 9, 7, 2)),
    (Conv((1, 1), (3, 7), pad=(20, 10, 0, 0)), (10, 10, 3, 2), (40, 10, 7, 2)),
    (Conv((3,), (4, 5)), (100, 4, 6), (98, 5, 6)),
    (Conv((3, 3, 3), (2, 4), pad=1), (5, 6, 7, 2, 3), (5, 6, 7, 4, 3)),
    (CrossCor((5, 5), (3, 7), stride=3, pad=(2, 0)), (20, 20, 3, 2), (7, 6, 7, 2)),
    (ConvTranspose((5, 5), (3, 7)), (10, 10, 3, 2), (14, 14, 7, 2)),
    (ConvTranspose((5, 5), (3, 7), stride=2), (10, 10, 3, 2), (23, 23, 7, 2)),
    (ConvTranspose((5, 5), (3, 7), stride=3, pad=SamePad()), (10, 10, 3, 2), (30, 30, 7, 2)),
    (MaxPool((2, 2)), (9, 8, 3, 2), (4, 4, 3, 2)),
    (MaxPool((5,), pad=2, stride=3), (100, 7, 5), (34, 7, 5)),
    (MeanPool((5, 5), pad=SamePad()), (20, 20, 7, 2), (4, 4, 7, 2)),
    (GlobalMaxPool(), (8, 9, 3, 2), (1, 1, 3, 2)),
    (GlobalMaxPool(), (3, 5, 7), (1, 5, 7)),
    (GlobalMeanPool(), (4, 4, 4, 3, 2), (1, 1, 1, 3, 2)),
])
def test_layer_output_shapes(layer, xs, want):
    assert layer(np.zeros(xs, np.float32)).shape == want


def test_conv_layer_computes_activation_of_flipped_convolution_plus_bias():
    x = RNG.standard_normal((6, 5, 2, 3))
    c = Conv(RNG.standard_normal((3, 2, 2, 4)), RNG.standard_normal(4), np.tanh, stride=(1, 2), pad=1)
    want = np.tanh(loop_conv(x, np.asarray(c.weight), stride=(1, 2), pad=1) + np.asarray(c.bias)[:, None])
    np.testing.assert_allclose(c(x), want, atol=1e-12)
    cc = CrossCor(np.asarray(c.weight), np.asarray(c.bias), np.tanh, stride=(1, 2), pad=1)
    want = np.tanh(loop_conv(x, np.asarray(c.weight), stride=(1, 2), pad=1, flip=False)
                   + np.asarray(c.bias)[:, None])
    np.testing.assert_allclose(cc(x), want, atol=1e-12)


def test_conv_transpose_undoes_conv_shapes_and_is_the_data_gradient():
    ct = ConvTranspose(RNG.standard_normal((3, 3, 2, 4)), False, stride=2, pad=1)
    x = RNG.standard_normal((5, 5, 4, 2))
    y = ct(x)
    assert y.shape == (9, 9, 2, 2)
    c = Conv(np.asarray(ct.weight), False, stride=2, pad=1)      # maps 2 channels back to 4
    assert c(y).shape == x.shape
    np.testing.assert_allclose(y, nnlib.grad_conv_data(x, np.asarray(ct.weight), y.shape, stride=2, pad=1))


def test_float32_layer_converts_float64_input_like_flux():
    c = Conv((3, 3), (1, 2))
    assert c(np.ones((5, 5, 1, 1))).dtype == np.float32
    assert c(np.ones((5, 5, 1, 1), dtype=int)).dtype == np.float32
    assert f64(c)(np.ones((5, 5, 1, 1), np.float32)).dtype == np.float64


def test_flatten_keeps_the_batch_axis_last():
    x = RNG.standard_normal((4, 3, 2, 5))
    y = flatten(x)
    assert y.shape == (24, 5)
    np.testing.assert_array_equal(y[:, 3], x[..., 3].ravel())
    g = fl.gradient(lambda x: np.sum(flatten(x) * np.arange(120.0).reshape(24, 5)), x)[0]
    np.testing.assert_array_equal(g, np.arange(120.0).reshape(24, 5).reshape(4, 3, 2, 5))


# --------------------------------------------------------------------------- layers: gradients


def check_layer_gradients(layer, x):
    """Gradient with respect to every parameter and the input, against finite differences."""
    layer = f64(layer)
    x = np.array(x, dtype=np.float64)
    dy = RNG.standard_normal(layer(x).shape)

    def L():
        return np.sum(layer(x) * dy)

    gm, gx = fl.gradient(lambda m, x: np.sum(m(x) * dy), layer, x)
    assert_grad_close(gx, numerical_gradient_in_place(L, x), f"{layer._show()} ∂/∂x")
    for name in type(layer)._trainable if hasattr(type(layer), "_trainable") else ():
        p = getattr(layer, name)
        if p is False:
            continue
        assert_grad_close(gm[name], numerical_gradient_in_place(L, p), f"{layer._show()} ∂/∂{name}")


@pytest.mark.parametrize("make, xs", [
    (lambda: Conv((3, 3), (2, 3), np.tanh, pad=1), (5, 6, 2, 2)),
    (lambda: Conv((3, 2), (2, 4), fl.σ, stride=2, dilation=(1, 2), pad=(1, 0, 2, 1)), (7, 6, 2, 2)),
    (lambda: Conv((3, 3), (2, 4), pad=SamePad(), stride=2), (6, 5, 2, 2)),
    (lambda: Conv((2, 2), (4, 4), fl.softplus, groups=2, bias=False), (4, 4, 4, 2)),
    (lambda: Conv((3,), (3, 2), np.tanh, pad=SamePad(), dilation=2), (8, 3, 2)),
    (lambda: Conv((2, 2, 2), (2, 2), pad=1), (3, 3, 3, 2, 1)),
    (lambda: CrossCor((3, 2), (2, 3), np.tanh, stride=(2, 1), pad=1), (6, 5, 2, 2)),
    (lambda: ConvTranspose((3, 3), (3, 2), np.tanh, stride=2, pad=1), (3, 4, 3, 2)),
    (lambda: ConvTranspose((2,), (2, 4), groups=2, pad=SamePad(), stride=2), (5, 2, 2)),
])
def test_conv_layers_pass_the_gradient_check_in_float64(make, xs):
    fl.seed(0)
    check_layer_gradients(make(), RNG.standard_normal(xs))


@pytest.mark.parametrize("layer, xs", [
    (MaxPool((2, 2)), (6, 4, 2, 2)),
    (MaxPool((3,), pad=1, stride=2), (7, 2, 2)),
    (MeanPool((2, 3), pad=SamePad()), (5, 6, 2, 1)),
    (MeanPool((2, 2, 2)), (4, 4, 2, 1, 2)),
    (GlobalMaxPool(), (3, 4, 2, 2)),
    (GlobalMeanPool(), (3, 4, 2, 2)),
])
def test_pooling_layers_pass_the_gradient_check_in_float64(layer, xs):
    x = RNG.permutation(np.prod(xs)).reshape(xs) / 3.0
    check_layer_gradients(layer, x)


def test_relu_conv_gradient_through_a_small_cnn_matches_finite_differences():
    fl.seed(1)
    m = f64(Chain(Conv((3, 3), (1, 4), fl.relu, pad=1), MaxPool((2, 2)),
                  Conv((3, 3), (4, 6), fl.relu, pad=1), MaxPool((2, 2)), flatten, Dense(24, 3)))
    x = RNG.standard_normal((8, 8, 1, 2))
    y = RNG.standard_normal((3, 2))

    def L():
        return np.sum((m(x) - y) ** 2)

    g = fl.gradient(lambda m: np.sum((m(x) - y) ** 2), m)[0]
    for i in (0, 2):
        assert_grad_close(g["layers"][i]["weight"], numerical_gradient_in_place(L, m[i].weight), f"layer {i} weight")
        assert_grad_close(g["layers"][i]["bias"], numerical_gradient_in_place(L, m[i].bias), f"layer {i} bias")


def test_settings_stay_plain_ints_inside_gradient_and_the_layer_is_not_copied():
    c = Conv((3, 3), (2, 4), fl.relu, pad=1, stride=2, groups=2)
    seen = []
    fl.gradient(lambda m: (seen.append((m, m.stride, m.groups)), np.sum(m(np.ones((5, 5, 2, 1)))))[1], c)
    m, stride, groups = seen[0]
    assert m is c and stride == (2, 2) and type(groups) is int
    assert fl.state(c)["pad"] == (1, 1, 1, 1) and fl.state(MaxPool((2, 2)))["k"] == (2, 2)


def test_conv_gradient_is_a_dict_per_layer_and_none_for_settings():
    c = Conv((3, 3), (1, 2), fl.relu)
    g = fl.gradient(lambda c: np.sum(c(np.ones((4, 4, 1, 1), np.float32))), c)[0]
    assert g["weight"].shape == (3, 3, 1, 2) and g["bias"].shape == (2,)
    assert g["weight"].dtype == np.float32


# --------------------------------------------------------------------------- layers: errors


def test_conv_shape_error_names_the_layer_the_channels_and_the_axis():
    layer = Conv((3, 3), (1, 16))
    with pytest.raises(LayerShapeError) as err:
        layer(np.zeros((28, 28, 3, 4), np.float32))
    text = str(err.value)
    assert text.startswith("Conv((3, 3), 1 => 16) expects 1 channel on axis 2 (the C of W × H × C × N)")
    assert "(28, 28, 3, 4)" in text and "has 3 there" in text and "Hint:" in text


def test_conv_shape_error_recognises_pytorch_layout():
    with pytest.raises(LayerShapeError, match=r"PyTorch's N × C × H × W.*np.transpose\(x, \(3, 2, 1, 0\)\)"):
        Conv((3, 3), (3, 8))(np.zeros((4, 3, 28, 28), np.float32))


@pytest.mark.parametrize("xs, hint", [
    ((28, 28), r"x.reshape\(28, 28, 1, 1\)"),
    ((28, 28, 1), r"x\[\.\.\., None\]"),
])
def test_conv_shape_error_for_missing_axes_says_how_to_add_them(xs, hint):
    with pytest.raises(LayerShapeError, match=hint) as err:
        Conv((3, 3), (1, 4))(np.zeros(xs, np.float32))
    assert "expects a W × H × C × N input with 4 dimensions" in str(err.value)


def test_pool_shape_error_names_the_layer():
    with pytest.raises(LayerShapeError, match=r"^MaxPool\(\(2, 2\)\) expects a W × H × C × N input"):
        MaxPool((2, 2))(np.zeros((8, 8)))


@pytest.mark.parametrize("make, match", [
    (lambda: Conv(3, (1, 16)), r"kernel size as a tuple.*\(3, 3\) for images, \(3,\) for sequences"),
    (lambda: Conv((3, 3), 16), r"channels as a pair \(in, out\)"),
    (lambda: Conv((3, 3), (3, 16), groups=2), "groups=2 must divide"),
    (lambda: Conv((3, 3), (1, 16), stride=(1, 2, 3)), "stride=.* has 3 entries"),
    (lambda: Conv((3, 3), (1, 16), pad=(1, 2, 3)), "pad=.* has 3 entries"),
    (lambda: Conv((3, 3), (1, 16), pad=SamePad), r"pad=SamePad\(\)"),
    (lambda: MaxPool(2), r"tuple.*\(2, 2\) for images"),
])
def test_bad_layer_settings_are_refused_with_advice(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("layer, words", [
    (lambda: fl.Conv((3, 3), (1, 2)), "has 2 spatial axes,"),
    (lambda: fl.Conv((3,), (1, 2)), "has 1 spatial axis,"),
    (lambda: fl.MaxPool((2, 2)), "pools 2 spatial axes;"),
    (lambda: fl.MaxPool((2,)), "pools 1 spatial axis;"),
])
def test_a_wrong_number_of_dimensions_names_the_spatial_axes_in_plain_english(layer, words):
    with pytest.raises(ValueError, match=words):
        layer()(np.zeros((8, 8, 1, 1, 1), np.float32))
