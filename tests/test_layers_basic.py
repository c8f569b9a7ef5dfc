"""Basic layers (fluxlite/layers/basic.py), initialisers (init.py) and shape errors (checks.py).

Every layer's gradient, with respect to its parameters and its input, is compared with central
finite differences in float64 (the model converted with `f64`), through a fixed random
projection of the output so that every output element takes part.
"""
import math
import operator

import numpy as np
import pytest

import fluxlite as fl
import fluxlite.layers as fll
from fluxlite.layers import (Bilinear, Chain, Dense, Embedding, LayerShapeError, Maxout, Parallel,
                             Scale, SkipConnection, f32, f64)
from fluxlite.layers import init as flinit

RNG = np.random.default_rng(1234)


# --------------------------------------------------------------------------- gradient checking

def _central(L, a, h=1e-6):
    """∂L/∂a by central differences, changing `a` in place and restoring it."""
    g = np.zeros(a.shape)
    flat = a.reshape(-1)  # parameters are contiguous, so this is a view
    assert np.shares_memory(flat, a)
    for i in range(flat.size):
        old = flat[i]
        step = h * max(1.0, abs(old))
        flat[i] = old + step
        up = L()
        flat[i] = old - step
        down = L()
        flat[i] = old
        g.reshape(-1)[i] = (up - down) / (2 * step)
    return g


def check_layer_gradient(model, *xs, wrt_input=True, before=None, rtol=1e-5, atol=1e-7):
    """Compare fl.gradient for every parameter of `model` (and its inputs) with finite differences.

    `before` is called before every evaluation (to reset a random generator, say).
    """
    before = before or (lambda: None)
    before()
    out = model(*xs)
    v = np.random.default_rng(0).standard_normal(np.shape(out))

    def loss():
        before()
        return float(np.sum(model(*xs) * v))

    ps = fl.params(model)
    assert len(ps) > 0 or wrt_input
    before()
    grads = fl.gradient(lambda: np.sum(model(*xs) * v), ps)
    for p in ps:
        assert p.dtype == np.float64, "check gradients on a float64 model (use f64)"
        num = _central(loss, p)
        got = grads[p]
        assert got is not None, f"no gradient for a parameter of shape {p.shape}"
        np.testing.assert_allclose(got, num, rtol=rtol, atol=atol,
                                   err_msg=f"parameter of shape {p.shape}")
    if wrt_input:
        xs = [np.array(x, dtype=np.float64) for x in xs]

        def f(*a):
            before()
            return np.sum(model(*a) * v)

        before()
        gx = fl.gradient(f, *xs)
        for k, x in enumerate(xs):
            num = _central(lambda: float(f(*xs)), x)
            np.testing.assert_allclose(gx[k], num, rtol=rtol, atol=atol,
                                       err_msg=f"input {k} of shape {x.shape}")


def randn(*shape):
    return RNG.standard_normal(shape)


# --------------------------------------------------------------------------- initialisers

def test_nfan_counts_dense_and_conv_shapes_like_flux():
    assert flinit.nfan() == (1, 1)
    assert flinit.nfan(7) == (1, 7)
    assert flinit.nfan(20, 10) == (10, 20)           # Dense(10 => 20) weight is 20 × 10
    assert flinit.nfan(3, 3, 2, 10) == (18, 90)       # Conv((3, 3), 2 => 10) kernel
    assert flinit.nfan((5, 4, 3)) == (20, 15)


@pytest.mark.parametrize("init", [fll.glorot_uniform, fll.glorot_normal, fll.kaiming_uniform,
                                  fll.kaiming_normal, fll.truncated_normal, fll.orthogonal,
                                  fll.rand32, fll.randn32, fll.zeros32, fll.ones32])
def test_initialisers_return_float32_params_of_the_requested_shape(init):
    w = init(6, 4)
    assert isinstance(w, fl.Param) and w.dtype == np.float32 and w.shape == (6, 4)
    assert init((6, 4)).shape == (6, 4)


def test_glorot_uniform_has_flux_bound_and_variance():
    fl.seed(0)
    w = fll.glorot_uniform(300, 200)
    bound = math.sqrt(6 / 500)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.02)  # uniform on [-a, a]: a²/3
    assert fll.glorot_uniform(300, 200, gain=2.0).max() <= 2 * bound


def test_glorot_normal_std_is_sqrt_two_over_fan_sum():
    fl.seed(1)
    w = fll.glorot_normal(3, 3, 40, 60)             # conv kernel: fans 360 and 540
    assert w.std() == pytest.approx(math.sqrt(2 / 900), rel=0.02)


def test_kaiming_uniform_and_normal_use_fan_in_and_gain():
    fl.seed(2)
    u = fll.kaiming_uniform(400, 100)
    assert np.abs(u).max() <= math.sqrt(2) * math.sqrt(3 / 100)
    assert u.var() == pytest.approx(2 / 100, rel=0.03)    # gain² / fan_in
    n = fll.kaiming_normal(400, 100, gain=1.0)
    assert n.std() == pytest.approx(1 / math.sqrt(100), rel=0.02)


def test_truncated_normal_stays_inside_its_bounds():
    w = fll.truncated_normal(200, 200, mean=1.0, std=2.0, lo=-1.0, hi=2.5)
    assert w.min() >= -1.0 and w.max() <= 2.5
    with pytest.raises(ValueError):
        fll.truncated_normal(3, lo=1.0, hi=0.0)


def test_orthogonal_gives_orthonormal_rows_or_columns():
    w = fll.orthogonal(4, 9, gain=3.0)
    np.testing.assert_allclose(w @ w.T, 9 * np.eye(4), atol=1e-4)
    w = fll.orthogonal(9, 4)
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError):
        fll.orthogonal(5)


def test_initialisers_follow_fl_seed_and_accept_their_own_rng():
    fl.seed(7)
    a = fll.glorot_uniform(3, 4)
    fl.seed(7)
    b = fll.glorot_uniform(3, 4)
    np.testing.assert_array_equal(a, b)
    c = fll.kaiming_normal(3, 4, rng=np.random.default_rng(5))
    d = fll.kaiming_normal(np.random.default_rng(5))(3, 4)   # Flux's init(rng) form
    np.testing.assert_array_equal(c, d)


def test_identity_and_sparse_initialisers():
    np.testing.assert_array_equal(fll.identity_init(2, 3), np.eye(2, 3))
    k = fll.identity_init(3, 3, 2, 2)
    assert k[1, 1, 0, 0] == 1 and k[1, 1, 1, 1] == 1 and k.sum() == 2
    s = fll.sparse_init(10, 4, sparsity=0.3)
    assert ((s == 0).sum(axis=0) >= 3).all()


def test_initialisers_reject_non_integer_sizes():
    with pytest.raises(TypeError, match="non-negative integers"):
        fll.glorot_uniform(2.5, 3)


# --------------------------------------------------------------------------- shape errors

def test_dense_rejects_wrong_feature_count():
    d = Dense(10, 5)
    with pytest.raises(LayerShapeError) as e:
        d(np.ones(7, np.float32))
    msg = str(e.value)
    assert "Dense(10 => 5)" in msg and "expects 10 features" in msg
    assert "(7,)" in msg and "7 features" in msg and "Hint:" in msg
    assert isinstance(e.value, ValueError)


def test_dense_error_for_batch_first_data_suggests_transposing():
    with pytest.raises(LayerShapeError, match=r"pass x\.T"):
        Dense(10, 5, fl.relu)(np.ones((32, 10), np.float32))


def test_shape_error_names_the_layer_inside_a_chain():
    m = Chain(Dense(4, 3), Dense(2, 1))
    with pytest.raises(LayerShapeError, match=r"Dense\(2 => 1\) expects 2 features"):
        m(np.ones((4, 5), np.float32))


def test_check_size_handles_negative_axes_and_missing_axes():
    from fluxlite.layers.checks import check_ndim, check_size
    with pytest.raises(LayerShapeError, match="channel axis"):
        check_size("Conv((3, 3), 3 => 8)", np.ones((5, 5, 2, 1)), 3, axis=-2, what="channels")
    with pytest.raises(LayerShapeError, match="no such axis"):
        check_size("X(2)", np.float64(1.0), 2)
    with pytest.raises(LayerShapeError, match="3 or 4 dimensions"):
        check_ndim("Conv", np.ones((2, 2)), (3, 4))
    check_size("X(2)", np.ones((2, 9)), 2)   # no error


# --------------------------------------------------------------------------- Dense

def test_dense_weight_is_out_by_in_float32_with_zero_bias():
    d = Dense(10, 5)
    assert d.weight.shape == (5, 10) and d.weight.dtype == np.float32
    assert isinstance(d.weight, fl.Param) and isinstance(d.bias, fl.Param)
    np.testing.assert_array_equal(d.bias, np.zeros(5))
    assert d.σ is fll.identity


def test_dense_maps_batches_vectors_and_extra_batch_axes():
    d = Dense(4, 3, fl.relu)
    assert d(np.ones((4, 7), np.float32)).shape == (3, 7)
    assert d(np.ones(4, np.float32)).shape == (3,)
    x = randn(4, 2, 5).astype(np.float32)
    y = d(x)
    assert y.shape == (3, 2, 5)
    np.testing.assert_allclose(y[:, 1, 3], d(x[:, 1, 3]), rtol=1e-6)


def test_dense_tuple_form_is_the_same_as_two_sizes():
    fl.seed(3)
    a = Dense((3, 2), np.tanh)
    fl.seed(3)
    b = Dense(3, 2, np.tanh)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert a.σ is b.σ


@pytest.mark.parametrize("σ, ref", [
    (fll.identity, lambda z: z),
    (fl.relu, lambda z: np.maximum(z, 0)),
    (fl.σ, lambda z: 1 / (1 + np.exp(-z))),
    (np.tanh, np.tanh),
    (fl.tanh, np.tanh),
    (fl.softplus, lambda z: np.log1p(np.exp(z))),       # not fused: applied after the primitive
    (lambda z: z ** 3, lambda z: z ** 3),
])
def test_dense_computes_activation_of_weight_times_input_plus_bias(σ, ref):
    d = f64(Dense(4, 3, σ, bias=fl.randn(3)))
    x = randn(4, 6)
    np.testing.assert_allclose(d(x), ref(np.asarray(d.weight) @ x + np.asarray(d.bias)[:, None]),
                               rtol=1e-12)


@pytest.mark.parametrize("σ", [fll.identity, fl.relu, fl.σ, np.tanh, fl.softplus, fl.elu])
def test_dense_gradient_matches_finite_differences(σ):
    d = f64(Dense(4, 3, σ, bias=fl.randn(3)))
    check_layer_gradient(d, randn(4, 5))


def test_dense_gradient_for_a_vector_input_and_without_bias():
    check_layer_gradient(f64(Dense(4, 3, np.tanh)), randn(4))
    d = f64(Dense(4, 3, fl.relu, bias=False))
    assert len(fl.params(d)) == 1
    check_layer_gradient(d, randn(4, 2))


def test_dense_gradient_with_extra_batch_axes():
    check_layer_gradient(f64(Dense(3, 2, fl.σ)), randn(3, 2, 2))


def test_dense_explicit_gradient_mirrors_the_layer():
    d = Dense(3, 2)
    x = np.ones((3, 4), np.float32)
    g = fl.gradient(lambda m: np.sum(m(x)), d)[0]
    np.testing.assert_allclose(g["weight"], np.full((2, 3), 4.0))
    np.testing.assert_allclose(g["bias"], np.full(2, 4.0))
    assert g["weight"].dtype == np.float32


def test_dense_second_derivative_through_the_fused_primitive():
    # d/dx of <∂L/∂x, u> (a nested gradient) against finite differences of the first gradient.
    d = f64(Dense(3, 2, np.tanh, bias=fl.randn(2)))
    v, u = randn(2, 4), randn(3, 4)

    def first(x):
        return fl.gradient(lambda y: np.sum(d(y) * v), x)[0]

    x = randn(3, 4)
    got = fl.gradient(lambda y: np.sum(first(y) * u), x)[0]
    num = _central(lambda: float(np.sum(first(x) * u)), x)
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-7)


def test_dense_converts_float64_and_integer_input_to_its_own_dtype():
    d = Dense(3, 2)
    assert d(np.ones((3, 4))).dtype == np.float32
    assert d(np.ones(3, dtype=int)).dtype == np.float32
    assert f64(d)(np.ones((3, 4), np.float32)).dtype == np.float64


def test_dense_accepts_a_given_weight_and_bias():
    W = np.arange(6.0).reshape(2, 3)
    d = Dense(W, np.array([1.0, -1.0]), fl.relu)
    assert isinstance(d.weight, fl.Param) and d.weight.dtype == np.float64
    np.testing.assert_allclose(d(np.ones(3)), np.maximum(W @ np.ones(3) + [1, -1], 0))
    with pytest.raises(ValueError, match="bias must have shape"):
        Dense(W, np.ones(3))


def test_dense_uses_the_init_keyword():
    d = Dense(3, 2, init=fll.ones32)
    np.testing.assert_array_equal(d.weight, np.ones((2, 3)))
    with pytest.raises(TypeError, match="sizes"):
        Dense(3)
    with pytest.raises(TypeError, match="activation"):
        Dense(3, 2, 5)


def test_affine_alone_matches_numpy():
    W, b, x = randn(3, 2), randn(3), randn(2, 5)
    np.testing.assert_allclose(fll.affine(W, b, x), W @ x + b[:, None])
    np.testing.assert_allclose(fll.affine(W, None, x, fl.relu), np.maximum(W @ x, 0))


# --------------------------------------------------------------------------- Chain

def test_chain_calls_layers_in_order():
    m = Chain(lambda x: x ** 2, lambda x: x + 1)
    assert m(5) == 26
    m = Chain(Dense(10, 5, np.tanh), Dense(5, 2), fl.softmax)
    x = RNG.random((10, 8)).astype(np.float32)
    np.testing.assert_allclose(m(x), m[2](m[1](m[0](x))))
    np.testing.assert_allclose(m(x).sum(axis=0), 1, rtol=1e-6)


def test_chain_indexing_slicing_and_length():
    a, b, c = Dense(2, 3), Dense(3, 4), fl.relu
    m = Chain(a, b, c)
    assert len(m) == 3 and m[0] is a and m[-1] is c and list(m) == [a, b, c]
    head = m[:-1]
    assert isinstance(head, Chain) and head.layers == (a, b)
    assert m[[0, 2]].layers == (a, c)
    x = np.ones(2, np.float32)
    np.testing.assert_allclose(m[:2](x), b(a(x)))


def test_named_chain_reads_layers_by_attribute_key_and_position():
    enc, dec = Dense(4, 3, np.tanh), Dense(3, 2)
    m = Chain(enc=enc, dec=dec)
    assert m.enc is enc and m["dec"] is dec and m[0] is enc
    assert list(m.keys()) == ["enc", "dec"]
    x = np.ones((4, 2), np.float32)
    np.testing.assert_allclose(m(x), dec(enc(x)))
    assert m[1:].layers == {"dec": dec}
    with pytest.raises(KeyError, match="no layer named 'mid'"):
        m["mid"]
    with pytest.raises(AttributeError):
        m.mid


def test_chain_refuses_non_callables_and_reserved_names():
    with pytest.raises(TypeError, match="cannot be called"):
        Chain(Dense(2, 2), 5)
    with pytest.raises(ValueError, match="named 'layers'"):
        Chain(layers=fl.relu)
    with pytest.raises(TypeError, match="not both"):
        Chain(fl.relu, b=fl.relu)


def test_chain_gradient_matches_finite_differences():
    m = f64(Chain(Dense(4, 5, fl.relu), Dense(5, 3, np.tanh), Dense(3, 2), fl.softmax))
    check_layer_gradient(m, randn(4, 3))


def test_chain_explicit_gradient_has_the_chain_structure():
    m = Chain(Dense(2, 3, fl.relu), fl.softmax)
    g = fl.gradient(lambda m: np.sum(m(np.ones((2, 1), np.float32)) ** 2), m)[0]
    assert set(g) == {"layers"}
    assert g["layers"][0]["weight"].shape == (3, 2)
    assert g["layers"][1] is None


# --------------------------------------------------------------------------- other containers

def test_skip_connection_adds_the_input_and_differentiates():
    sc = SkipConnection(Dense(3, 3, np.tanh), np.add)
    x = np.ones((3, 2), np.float32)
    np.testing.assert_allclose(sc(x), sc.layers(x) + x)
    check_layer_gradient(f64(SkipConnection(Dense(3, 3, np.tanh), operator.add)), randn(3, 2))
    cat = SkipConnection(Dense(3, 2), fll.vcat)
    assert cat(x).shape == (5, 2)


def test_parallel_sends_one_input_to_every_layer():
    m = Parallel(fll.vcat, Dense(3, 4), Dense(3, 2))
    x = np.ones((3, 5), np.float32)
    np.testing.assert_allclose(m(x), np.concatenate([m[0](x), m[1](x)]))


def test_parallel_sends_the_kth_input_to_the_kth_layer():
    m = Parallel(np.add, a=Dense(10, 2, np.tanh), b=Dense(5, 2))
    x, y = np.ones(10, np.float32), np.ones(5, np.float32)
    np.testing.assert_allclose(m(x, y), m.a(x) + m["b"](y))
    np.testing.assert_allclose(m((x, y)), m(x, y))
    with pytest.raises(TypeError, match="one input or 2 inputs"):
        m(x, y, y)
    with pytest.raises(ValueError, match="connection"):
        Parallel(np.add, connection=fl.relu)


def test_parallel_gradient_matches_finite_differences():
    m = f64(Parallel(np.add, Dense(3, 2, fl.σ), Dense(4, 2)))
    check_layer_gradient(m, randn(3, 2), randn(4, 2))


def test_maxout_takes_the_elementwise_maximum():
    m = Maxout(lambda x: x ** 2, lambda x: 3 * x)
    np.testing.assert_array_equal(m(np.array([-2.0, -1.0, 0.0, 1.0, 2.0])), [4, 1, 0, 3, 6])
    m = Maxout(lambda: Dense(3, 4), 3)
    assert len(m.layers) == 3 and m.layers[0] is not m.layers[1]
    check_layer_gradient(f64(m), randn(3, 5))


def test_bilinear_matches_its_formula_and_gradient():
    B = f64(Bilinear((3, 2), 4, np.tanh, bias=fl.randn(4)))
    x, y = randn(3, 5), randn(2, 5)
    W, b = np.asarray(B.weight), np.asarray(B.bias)
    want = np.tanh(np.array([[x[:, s] @ W[o] @ y[:, s] for s in range(5)] for o in range(4)])
                   + b[:, None])
    np.testing.assert_allclose(B(x, y), want, rtol=1e-12)
    np.testing.assert_allclose(B((x, y)), want, rtol=1e-12)
    assert B.weight.shape == (4, 3, 2)
    check_layer_gradient(B, x, y)


def test_bilinear_with_one_input_uses_it_twice():
    B = Bilinear(3, 2)
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(B(x), B(x, x))
    assert B(np.ones(3, np.float32)).shape == (2,)
    with pytest.raises(LayerShapeError, match="same batch size"):
        B(np.ones((3, 4)), np.ones((3, 5)))


def test_embedding_looks_up_columns_by_zero_based_index():
    emb = Embedding(26, 4, init=fll.identity_init)   # 4 × 26: column i is e_i for i < 4
    np.testing.assert_array_equal(emb(2), [0, 0, 1, 0])
    assert emb(np.array([3, 1, 20, 14])).shape == (4, 4)
    assert emb(np.zeros((10, 1, 12), dtype=int)).shape == (4, 10, 1, 12)
    onehot = fl.onehotbatch([3, 1, 20], range(26))
    np.testing.assert_array_equal(emb(onehot), emb(np.array([3, 1, 20])))


def test_embedding_gradient_accumulates_for_repeated_indices():
    emb = f64(Embedding(5, 3))
    idx = np.array([1, 1, 4, 1])
    v = randn(3, 4)
    g = fl.gradient(lambda m: np.sum(m(idx) * v), emb)[0]["weight"]
    want = np.zeros((3, 5))
    want[:, 1] = v[:, 0] + v[:, 1] + v[:, 3]
    want[:, 4] = v[:, 2]
    np.testing.assert_allclose(g, want)
    check_layer_gradient(emb, np.eye(5)[:, [0, 3]], wrt_input=False)


def test_embedding_rejects_indices_outside_its_vocabulary():
    emb = Embedding(5, 2)
    with pytest.raises(LayerShapeError, match="0-based"):
        emb(5)
    with pytest.raises(LayerShapeError, match="indices from 0 to 7"):
        emb(np.array([0, 7]))


def test_scale_multiplies_and_shifts_along_the_first_axes():
    s = f64(Scale(3, np.tanh))
    s.scale[...] = [1.0, 2.0, 3.0]
    s.bias[...] = [0.5, 0.0, -0.5]
    x = randn(3, 4)
    np.testing.assert_allclose(s(x), np.tanh(np.array([[1.0], [2.0], [3.0]]) * x
                                             + np.array([[0.5], [0.0], [-0.5]])))
    check_layer_gradient(s, x)
    check_layer_gradient(f64(Scale(2, 3)), randn(2, 3, 2))


# --------------------------------------------------------------------------- model utilities

def test_f64_and_f32_convert_every_array_and_keep_params_trainable():
    m = Chain(Dense(2, 3), Dense(3, 1))
    m64 = f64(m)
    assert all(p.dtype == np.float64 and isinstance(p, fl.Param) for p in fl.params(m64))
    assert len(fl.params(m64)) == 4
    assert m[0].weight.dtype == np.float32            # the original is untouched
    assert all(p.dtype == np.float32 for p in fl.params(f32(m64)))
    np.testing.assert_allclose(m64[0].weight, m[0].weight)


def test_f64_keeps_shared_arrays_shared():
    d = Dense(3, 3)
    m64 = f64(Chain(d, d))
    assert m64[0].weight is m64[1].weight


def test_trainable_lists_the_trainable_children():
    assert set(fll.trainable(Dense(2, 3))) == {"weight", "bias"}
    assert set(fll.trainable(Chain(fl.relu))) == {"layers"}
