"""Normalisation and dropout layers (fluxlite/layers/normalise.py), and trainmode_/testmode_.

Train/test behaviour follows Flux: ``active=None`` is automatic (training inside fl.gradient),
True/False force it. Gradients are checked against central finite differences in float64.
"""
import numpy as np
import pytest

import fluxlite as fl
from fluxlite.layers import (AlphaDropout, BatchNorm, Chain, Dense, Dropout, LayerNorm,
                             LayerShapeError, Parallel, f64)
from fluxlite.layers import normalise as N   # testmode_ under its own name would look like a test

from test_layers_basic import check_layer_gradient

RNG = np.random.default_rng(99)


def randn(*shape):
    return RNG.standard_normal(shape)


# --------------------------------------------------------------------------- Dropout

def test_dropout_passes_input_through_outside_gradient():
    x = np.ones((3, 50))
    assert Dropout(0.5)(x) is x


def test_dropout_is_active_inside_gradient_by_default():
    d = Dropout(0.5)
    x = np.ones((4, 500))
    g = fl.gradient(lambda x: np.sum(d(x)), x)[0]
    assert set(np.unique(g)) == {0.0, 2.0}            # the mask, scaled by 1/(1 - p)
    assert 0.4 < (g == 0).mean() < 0.6


def test_dropout_zeroes_with_probability_p_and_scales_the_rest():
    fl.seed(0)
    y = Dropout(0.2, active=True)(np.ones((100, 1000)))
    assert set(np.unique(y)) == {0.0, 1.25}
    assert (y == 0).mean() == pytest.approx(0.2, abs=0.01)
    assert y.mean() == pytest.approx(1.0, abs=0.02)


def test_dropout_uses_fl_rng_unless_given_its_own():
    x = np.ones((5, 5))
    fl.seed(3)
    a = Dropout(0.5, active=True)(x)
    fl.seed(3)
    b = Dropout(0.5, active=True)(x)
    np.testing.assert_array_equal(a, b)
    c = Dropout(0.5, active=True, rng=np.random.default_rng(1))(x)
    d = Dropout(0.5, active=True, rng=np.random.default_rng(1))(x)
    np.testing.assert_array_equal(c, d)


def test_dropout_dims_shares_the_mask_across_other_axes():
    y = Dropout(0.5, dims=2, active=True)(np.ones((3, 4, 64, 2)))  # whole channels of WHCN
    for c in range(64):
        assert len(np.unique(y[:, :, c, :])) == 1
    assert len(np.unique(y)) == 2


def test_dropout_extremes_and_bad_probabilities():
    x = randn(3, 4)
    np.testing.assert_array_equal(Dropout(0.0, active=True)(x), x)
    np.testing.assert_array_equal(Dropout(1.0, active=True)(x), 0 * x)
    with pytest.raises(ValueError, match="0 ≤ p ≤ 1"):
        Dropout(1.5)
    with pytest.raises(ValueError, match="active"):
        Dropout(0.5, active="yes")


def test_dropout_gradient_is_the_mask():
    d = Dropout(0.3, active=True)
    x = randn(4, 6)

    def reset():
        d.rng = np.random.default_rng(11)

    check_layer_gradient(d, x, before=reset)
    reset()
    mask = d(np.ones_like(x))
    reset()
    g = fl.gradient(lambda x: np.sum(d(x)), x)[0]
    np.testing.assert_allclose(g, mask)


def test_alpha_dropout_keeps_mean_and_variance_of_standard_normal_input():
    fl.seed(5)
    x = fl.rng().standard_normal((200, 500))
    y = AlphaDropout(0.3, active=True)(x)
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert (y == AlphaDropout(0.3)(y)).all()            # test mode: unchanged


def test_alpha_dropout_gradient_matches_finite_differences():
    a = AlphaDropout(0.4, active=True)

    def reset():
        a.rng = np.random.default_rng(4)

    check_layer_gradient(a, randn(3, 5), before=reset)


# --------------------------------------------------------------------------- LayerNorm

def test_layernorm_normalises_each_sample_over_its_first_axes():
    ln = f64(LayerNorm(4))
    x = 3 + 5 * randn(4, 6)
    y = ln(x)
    want = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(y, want, rtol=1e-10)
    ln2 = f64(LayerNorm(2, 3))
    x = randn(2, 3, 5)
    y = ln2(x)
    np.testing.assert_allclose(y.mean(axis=(0, 1)), 0, atol=1e-12)


def test_layernorm_scales_shifts_and_activates():
    ln = f64(LayerNorm(3, np.tanh))
    ln.diag.scale[...] = [1.0, 2.0, 3.0]
    ln.diag.bias[...] = [0.0, 1.0, -1.0]
    x = randn(3, 4)
    z = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(ln(x), np.tanh([[1.0], [2.0], [3.0]] * z + [[0.0], [1.0], [-1.0]]),
                               rtol=1e-10)
    assert len(fl.params(LayerNorm(3, affine=False))) == 0


def test_layernorm_gradient_matches_finite_differences():
    ln = f64(LayerNorm(4, fl.σ))
    ln.diag.scale[...] = randn(4)
    ln.diag.bias[...] = randn(4)
    check_layer_gradient(ln, randn(4, 3))
    check_layer_gradient(f64(LayerNorm(2, 3)), randn(2, 3, 2))


def test_layernorm_rejects_wrong_sizes():
    with pytest.raises(LayerShapeError, match=r"LayerNorm\(5\) expects 5 entries"):
        LayerNorm(5)(np.ones((4, 2), np.float32))
    with pytest.raises(TypeError):
        LayerNorm()


# --------------------------------------------------------------------------- BatchNorm

def test_batchnorm_in_training_normalises_each_channel_over_the_batch():
    bn = f64(BatchNorm(3, active=True))
    x = randn(3, 50) * [[1.0], [5.0], [0.1]] + [[0.0], [10.0], [-3.0]]
    y = bn(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-3)
    imgs = randn(4, 5, 3, 2) + np.arange(3)[:, None]      # W×H×C×N: channel axis 2
    z = f64(BatchNorm(3, active=True))(imgs)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 3)), 0, atol=1e-10)


def test_batchnorm_updates_running_statistics_with_momentum_and_unbiased_variance():
    bn = f64(BatchNorm(2, momentum=0.1, active=True))
    x = randn(2, 8)
    bn(x)
    np.testing.assert_allclose(bn.μ, 0.1 * x.mean(axis=1))
    np.testing.assert_allclose(bn.σ2, 0.9 * 1 + 0.1 * x.var(axis=1) * 8 / 7)
    assert not isinstance(bn.μ, fl.Param)


def test_batchnorm_in_test_mode_uses_the_running_statistics():
    bn = f64(BatchNorm(2, eps=1e-3))
    bn.μ[...] = [1.0, -1.0]
    bn.σ2[...] = [4.0, 0.25]
    bn.γ[...] = [2.0, 1.0]
    bn.β[...] = [0.5, 0.0]
    x = randn(2, 5)
    want = [[2.0], [1.0]] * (x - [[1.0], [-1.0]]) / np.sqrt(np.array([[4.0], [0.25]]) + 1e-3) + [[0.5], [0.0]]
    np.testing.assert_allclose(bn(x), want)           # automatic mode outside gradient: test
    np.testing.assert_allclose(bn.μ, [1.0, -1.0])     # and no update


def test_batchnorm_trains_inside_gradient_automatically():
    bn = BatchNorm(2)
    x = randn(2, 10).astype(np.float32)
    fl.gradient(lambda m: np.sum(m(x) ** 2), bn)
    np.testing.assert_allclose(bn.μ, 0.1 * x.mean(axis=1), rtol=1e-5)


def test_batchnorm_without_tracked_stats_always_uses_the_batch():
    bn = f64(BatchNorm(2, track_stats=False, affine=False))
    assert bn.μ is None and len(fl.params(bn)) == 0
    y = bn(randn(2, 20) + 7)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-10)


def test_batchnorm_gradient_matches_finite_differences_in_training():
    bn = f64(BatchNorm(3, fl.relu, active=True))
    bn.γ[...] = randn(3)
    bn.β[...] = randn(3)
    check_layer_gradient(bn, randn(3, 6))
    check_layer_gradient(f64(BatchNorm(2, active=True)), randn(2, 2, 2, 3))


def test_batchnorm_gradient_in_test_mode_treats_statistics_as_constants():
    bn = f64(BatchNorm(2, np.tanh, active=False))
    bn.μ[...] = randn(2)
    check_layer_gradient(bn, randn(2, 4))


def test_batchnorm_rejects_wrong_channels_and_single_vectors():
    with pytest.raises(LayerShapeError, match=r"BatchNorm\(3\) expects 3 channels along axis -2"):
        BatchNorm(3)(np.ones((4, 5, 2, 1), np.float32))
    with pytest.raises(LayerShapeError, match="normalises over a batch"):
        BatchNorm(3)(np.ones(3, np.float32))


# --------------------------------------------------------------------------- modes

def test_testmode_and_trainmode_walk_nested_models():
    d1, d2, bn = Dropout(0.5), Dropout(0.1), BatchNorm(3)
    m = Chain(Dense(3, 3), Chain(d1, bn), Parallel(np.add, d2, Dense(3, 3)))
    assert N.testmode_(m) is m
    assert (d1.active, d2.active, bn.active) == (False, False, False)
    N.trainmode_(m)
    assert (d1.active, d2.active, bn.active) == (True, True, True)
    N.testmode_(m, False)
    assert d1.active is True
    N.trainmode_(m, "auto")
    assert (d1.active, d2.active, bn.active) == (None, None, None)
    N.testmode_(m, None)
    assert d1.active is None
    with pytest.raises(ValueError, match="mode"):
        N.testmode_(m, "yes")


def test_testmode_turns_dropout_off_inside_gradient():
    d = N.testmode_(Dropout(0.9))
    x = np.ones(20)
    g = fl.gradient(lambda x: np.sum(d(x)), x)[0]
    np.testing.assert_array_equal(g, np.ones(20))


def test_trainmode_turns_dropout_on_outside_gradient():
    d = N.trainmode_(Dropout(0.5))
    assert (d(np.ones(200)) == 0).any()


def test_explicit_and_implicit_gradients_agree_for_a_model_with_every_layer_kind():
    m = f64(Chain(Dense(3, 4, fl.relu), LayerNorm(4), BatchNorm(4, active=True),
                  Dropout(0.25, active=True, rng=np.random.default_rng(0)), Dense(4, 2)))
    x = randn(3, 5)

    def loss(model):
        model[3].rng = np.random.default_rng(0)
        return np.sum(model(x) ** 2)

    g = fl.gradient(loss, m)[0]["layers"]
    grads = fl.gradient(lambda: loss(m), fl.params(m))
    np.testing.assert_allclose(g[0]["weight"], grads[m[0].weight])
    np.testing.assert_allclose(g[1]["diag"]["scale"], grads[m[1].diag.scale])
    np.testing.assert_allclose(g[2]["γ"], grads[m[2].γ])
    np.testing.assert_allclose(g[4]["bias"], grads[m[4].bias])
    assert len(fl.params(m)) == 8          # BatchNorm's running statistics are not parameters
