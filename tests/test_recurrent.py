"""Recurrent layers (Flux 0.14's Recur design): cell equations, state between calls, reset_,
sequences, gradients through time against finite differences, printing and shape errors."""
import numpy as np
import pytest

import fluxlite as fl
from gradcheck import numerical_gradient_in_place
from fluxlite.autodiff.tracer import Tracked
from fluxlite.layers.basic import Chain, Dense, f64
from fluxlite.layers.checks import LayerShapeError
from fluxlite.layers.recurrent import (GRU, LSTM, RNN, GRUCell, LSTMCell, Recur, RNNCell, reset_)

RNG = np.random.default_rng(14)


# --------------------------------------------------------------------------- independent references


def sig(z):
    return 1 / (1 + np.exp(-z))


def ref_rnn(Wi, Wh, b, h, x, act=np.tanh):
    return act(Wi @ x + Wh @ h + b[:, None])


def ref_lstm(Wi, Wh, b, h, c, x):
    o = h.shape[0]
    g = Wi @ x + Wh @ h + b[:, None]
    i, f, cc, out = g[:o], g[o:2 * o], g[2 * o:3 * o], g[3 * o:]   # Flux's gate order
    c_new = sig(f) * c + sig(i) * np.tanh(cc)
    return sig(out) * np.tanh(c_new), c_new


def ref_gru(Wi, Wh, b, h, x):
    o = h.shape[0]
    gx, gh = Wi @ x, Wh @ h
    r = sig(gx[:o] + gh[:o] + b[:o, None])
    z = sig(gx[o:2 * o] + gh[o:2 * o] + b[o:2 * o, None])
    cand = np.tanh(gx[2 * o:] + r * gh[2 * o:] + b[2 * o:, None])
    return (1 - z) * cand + z * h


def randomise(cell):
    """Random float64 weights (and a non-zero initial state) so every term matters."""
    cell = f64(cell)
    for name in ("Wi", "Wh", "b"):
        getattr(cell, name)[...] = RNG.standard_normal(getattr(cell, name).shape) * 0.7
    s0 = cell.state0 if isinstance(cell.state0, tuple) else (cell.state0,)
    for s in s0:
        s[...] = RNG.standard_normal(s.shape) * 0.5
    return cell


def assert_grad_close(got, want, what):
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    assert err < 1e-6, f"{what}: gradient differs from finite differences by {err:.2e}"


# --------------------------------------------------------------------------- cells


def test_rnn_cell_matches_its_formula_and_keeps_vectors_vectors():
    cell = randomise(RNNCell(3, 4))
    h0, x = cell.state0, RNG.standard_normal((3, 5))
    h, y = cell(h0, x)
    want = ref_rnn(cell.Wi, cell.Wh, cell.b, h0, x)
    np.testing.assert_allclose(h, want)
    np.testing.assert_allclose(y, want)
    h, y = cell(h0, x[:, 0])
    assert h.shape == (4, 1) and y.shape == (4,)
    np.testing.assert_allclose(y, want[:, 0])


def test_rnn_cell_takes_another_activation():
    cell = randomise(RNNCell(2, 3, fl.relu))
    x = RNG.standard_normal((2, 4))
    np.testing.assert_allclose(cell(cell.state0, x)[1],
                               ref_rnn(cell.Wi, cell.Wh, cell.b, cell.state0, x, lambda z: np.maximum(z, 0)))
    assert cell._show() == "RNNCell(2 => 3, relu)"


def test_lstm_cell_uses_fluxs_gate_order():
    cell = randomise(LSTMCell(3, 4))
    (h0, c0), x = cell.state0, RNG.standard_normal((3, 2))
    (h, c), y = cell((h0, c0), x)
    want_h, want_c = ref_lstm(cell.Wi, cell.Wh, cell.b, h0, c0, x)
    np.testing.assert_allclose(h, want_h)
    np.testing.assert_allclose(c, want_c)
    np.testing.assert_allclose(y, want_h)


def test_gru_cell_matches_version_1_of_the_paper_as_in_flux():
    cell = randomise(GRUCell(3, 4))
    x = RNG.standard_normal((3, 6))
    h, y = cell(cell.state0, x)
    np.testing.assert_allclose(h, ref_gru(cell.Wi, cell.Wh, cell.b, cell.state0, x))


def test_initial_parameters_have_fluxs_shapes_and_the_lstm_forget_bias_is_one():
    r, l, g = RNNCell(3, 5), LSTMCell(3, 5), GRUCell(3, 5)
    assert (r.Wi.shape, r.Wh.shape, r.b.shape, r.state0.shape) == ((5, 3), (5, 5), (5,), (5, 1))
    assert (l.Wi.shape, l.Wh.shape, l.b.shape) == ((20, 3), (20, 5), (20,))
    assert [s.shape for s in l.state0] == [(5, 1), (5, 1)]
    assert (g.Wi.shape, g.Wh.shape, g.b.shape, g.state0.shape) == ((15, 3), (15, 5), (15,), (5, 1))
    np.testing.assert_array_equal(l.b, np.repeat([0.0, 1.0, 0.0, 0.0], 5))
    assert not g.b.any() and not r.b.any()
    for p in (r.Wi, l.Wh, g.b, l.state0[1]):
        assert isinstance(p, fl.Param) and p.dtype == np.float32


def test_cells_accept_flux_pairs_as_tuples_and_an_init():
    calls = []

    def init(*dims):
        calls.append(dims)
        return np.ones(dims, np.float32)

    cell = RNNCell((2, 3), init=init)
    assert calls == [(3, 2), (3, 3)] and cell.Wi.shape == (3, 2)
    assert LSTM((2, 3)).cell.Wi.shape == (12, 2)


# --------------------------------------------------------------------------- state


@pytest.mark.parametrize("make", [lambda: RNN(3, 4), lambda: LSTM(3, 4), lambda: GRU(3, 4)])
def test_recur_keeps_the_state_between_calls_and_reset_restores_state0(make):
    m = f64(make())
    cell = m.cell
    x1, x2 = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    y1 = m(x1)
    s1, y_first = cell(cell.state0, x1)
    np.testing.assert_allclose(y1, y_first)
    y2 = m(x2)
    _, y_second = cell(s1, x2)
    np.testing.assert_allclose(y2, y_second)                   # the second call saw the first's state
    assert not np.allclose(y2, cell(cell.state0, x2)[1])
    reset_(m)
    assert m.state is cell.state0
    np.testing.assert_allclose(m(x1), y1)                       # as good as new


def test_reset_walks_any_model_that_contains_recurrent_layers():
    inner = RNN(2, 2)
    model = {"encoder": Chain(RNN(2, 3), Dense(3, 2)), "more": [LSTM(2, 2), (inner,)]}
    x = np.ones(2, np.float32)
    model["encoder"](x)
    model["more"][0](x)
    inner(x)
    reset_(model)
    assert model["encoder"][0].state is model["encoder"][0].cell.state0
    assert model["more"][0].state is model["more"][0].cell.state0
    assert inner.state is inner.cell.state0


def test_recur_with_a_plain_function_cell_and_an_explicit_state():
    def accum(h, x):
        return h + x, x

    r = Recur(accum, 0)
    assert [r(2), r(3)] == [2, 3] and r.state == 5
    reset_(r)
    assert r.state == 0
    with pytest.raises(TypeError, match="give one: Recur"):
        Recur(accum)


def test_a_3d_array_runs_the_sequence_along_the_last_axis():
    m = f64(LSTM(3, 4))
    xs = RNG.standard_normal((3, 2, 5))                          # features × batch × time
    ys = m(xs)
    assert ys.shape == (4, 2, 5)
    final = m.state
    reset_(m)
    steps = [m(xs[:, :, t]) for t in range(5)]
    np.testing.assert_allclose(ys, np.stack(steps, axis=-1))
    np.testing.assert_allclose(final[0], m.state[0])


def test_a_list_of_steps_gives_a_list_of_outputs():
    m = f64(GRU(3, 2))
    xs = [RNG.standard_normal(3) for _ in range(4)]
    ys = m(xs)
    reset_(m)
    assert isinstance(ys, list) and len(ys) == 4
    for x, y in zip(xs, ys):
        np.testing.assert_allclose(m(x), y)


def test_a_list_of_numbers_is_one_input_vector_not_a_sequence():
    m = f64(RNN(2, 3))
    y = m([0.5, -1.0])
    reset_(m)
    np.testing.assert_allclose(y, m(np.array([0.5, -1.0])))
    assert y.shape == (3,)


def test_the_state_broadcasts_from_one_column_to_a_batch_and_refuses_a_different_batch():
    m = RNN(3, 4)
    assert m(np.ones(3, np.float32)).shape == (4,)              # state is 4 × 1
    assert m(np.ones((3, 10), np.float32)).shape == (4, 10)     # 4 × 1 broadcasts to the batch
    with pytest.raises(LayerShapeError, match=r"batch of 10.*batch of 3.*\n.*fl\.reset_"):
        m(np.ones((3, 3), np.float32))
    reset_(m)
    assert m(np.ones((3, 3), np.float32)).shape == (4, 3)


def test_float64_input_to_a_float32_layer_gives_float32_like_flux():
    m = RNN(2, 3)
    assert m(np.ones((2, 4))).dtype == np.float32
    assert m(np.ones((2, 4), dtype=int)).dtype == np.float32


# --------------------------------------------------------------------------- gradients through time


def sequence_loss(m, xs, targets, reset=True):
    if reset:
        reset_(m)
    return sum(np.sum((m(x) - t) ** 2) for x, t in zip(xs, targets))


@pytest.mark.parametrize("make", [lambda: RNN(3, 4), lambda: LSTM(3, 4), lambda: GRU(3, 4),
                                  lambda: RNN(3, 4, fl.σ)])
def test_gradients_through_time_match_finite_differences(make):
    m = Recur(randomise(make().cell))
    xs = [RNG.standard_normal((3, 2)) for _ in range(4)]
    targets = [RNG.standard_normal((4, 2)) for _ in range(4)]

    def L():
        return sequence_loss(m, xs, targets)

    g = fl.gradient(lambda m: sequence_loss(m, xs, targets), m)[0]["cell"]
    cell = m.cell
    for name in ("Wi", "Wh", "b"):
        assert_grad_close(g[name], numerical_gradient_in_place(L, getattr(cell, name)), f"{cell._show()} {name}")
    # the initial state is trainable in Flux 0.14, and the gradient reaches it through every step
    s0 = cell.state0 if isinstance(cell.state0, tuple) else (cell.state0,)
    gs0 = g["state0"] if isinstance(cell.state0, tuple) else (g["state0"],)
    for s, gs in zip(s0, gs0):
        assert_grad_close(gs, numerical_gradient_in_place(L, s), f"{cell._show()} state0")


def test_gradient_with_respect_to_a_whole_input_sequence():
    m = Recur(randomise(LSTMCell(2, 3)))
    xs = RNG.standard_normal((2, 2, 5))
    w = RNG.standard_normal((3, 2, 5))

    def f(xs):
        reset_(m)
        return np.sum(m(xs) * w)

    g = fl.gradient(f, xs)[0]
    assert_grad_close(g, numerical_gradient_in_place(lambda: f(xs), xs), "∂/∂xs")


def test_implicit_params_include_state0_and_get_gradients_through_time():
    m = RNN(2, 3)
    ps = fl.params(m)
    assert len(ps) == 4 and any(p is m.cell.state0 for p in ps)
    xs = [np.ones((2, 1), np.float32)] * 3
    grads = fl.gradient(lambda: sequence_loss(m, xs, [np.zeros((3, 1), np.float32)] * 3), ps)
    assert grads[m.cell.state0].shape == (3, 1) and np.any(grads[m.cell.state0] != 0)


def test_the_state_advances_during_gradient_and_is_a_plain_array_afterwards():
    m = RNN(2, 3)
    x = np.ones((2, 1), np.float32)
    fl.gradient(lambda m: np.sum(m(x)), m)
    s = m.state
    assert type(s) is np.ndarray and s is not m.cell.state0    # one step was taken, as in Flux
    _, want = m.cell(m.cell.state0, x)
    np.testing.assert_allclose(s[:, 0], want[:, 0], rtol=1e-6)
    # without a reset, the next gradient starts from that state (a constant, no gradient to state0)
    g = fl.gradient(lambda m: np.sum(m(x)), m)[0]["cell"]
    assert g["state0"] is None


def test_a_small_rnn_learns_to_sum_its_inputs():
    fl.seed(3)
    m = f64(Chain(RNN(1, 8), Dense(8, 1)))
    rng = np.random.default_rng(0)
    seqs = rng.uniform(-1, 1, (1, 16, 5))

    def loss(m):
        reset_(m)
        total = np.zeros((1, 16))
        out = 0.0
        for t in range(5):
            total = total + seqs[:, :, t]
            out = out + np.mean((m(seqs[:, :, t]) - total) ** 2)
        return out

    first = loss(m)
    for _ in range(150):
        g = fl.gradient(loss, m)[0]
        for layer, gl in zip((m[0].cell, m[1]), (g["layers"][0]["cell"], g["layers"][1])):
            for name, gp in gl.items():
                if isinstance(gp, np.ndarray):
                    getattr(layer, name)[...] -= 0.05 * gp
    assert loss(m) < 0.25 * first


# --------------------------------------------------------------------------- printing and errors


def test_recurrent_layers_print_as_flux_0_14():
    assert repr(RNN(3, 5)).splitlines() == [
        "Recur(",
        "  RNNCell(3 => 5, tanh),                # 50 parameters",   # Flux 0.14's layout
        ")                   # Total: 4 arrays, 50 parameters, 200 bytes.",
    ]
    assert repr(RNNCell(2, 5)) == "RNNCell(2 => 5, tanh)  # 45 parameters"
    assert repr(LSTMCell(3, 5)).startswith("LSTMCell(3 => 5)") and "# 190 parameters" in repr(LSTM(3, 5))
    assert repr(GRUCell(3, 5)).startswith("GRUCell(3 => 5)") and "# 140 parameters" in repr(GRU(3, 5))
    assert RNN(2, 5)._show() == "Recur(RNNCell(2 => 5, tanh))"
    lines = repr(Chain(RNN(2, 3), Dense(3, 1))).splitlines()
    assert lines[:4] == ["Chain(", "  Recur(", "    RNNCell(2 => 3, tanh),              # 21 parameters",
                         "  ),"]


def test_wrong_feature_count_names_the_cell_and_the_expected_features():
    with pytest.raises(LayerShapeError) as err:
        RNN(3, 5)(np.ones((7, 2), np.float32))
    assert str(err.value).startswith("RNNCell(3 => 5, tanh) expects 3 features along axis 0")
    assert "(7, 2)" in str(err.value)
    with pytest.raises(LayerShapeError, match=r"features, batch, then time"):
        LSTM(3, 5)(np.ones((4, 2, 6), np.float32))


@pytest.mark.parametrize("make, match", [
    (lambda: RNN(3), "input and output sizes"),
    (lambda: RNN(3.0, 5), "positive integer sizes"),
    (lambda: LSTM(3, 5, np.tanh), "only the sizes"),
    (lambda: RNN(3, 5, "tanh"), "must be a function"),
])
def test_bad_constructor_arguments_are_refused(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_recur_state_is_not_a_traced_input_or_saved_setting():
    # the state lives outside the model tree: gradient returns no entry for it and does not copy m
    m = RNN(2, 3)
    m(np.ones(2, np.float32))
    seen = []
    fl.gradient(lambda mm: (seen.append(mm), np.sum(mm(np.ones(2, np.float32))))[1], m)
    assert seen[0] is m
    assert not isinstance(m.state, Tracked)


@pytest.mark.parametrize("make", [lambda: fl.RNNCell(3, 5), lambda: fl.GRUCell(3, 5),
                                  lambda: fl.LSTMCell(3, 5)])
def test_a_cell_takes_a_vector_state_as_flux_does(make):
    """A vector state with a vector input gives a vector state, with the numbers and the
    gradient of the one-column state (it used to broadcast into an out × out square)."""
    cell = make()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3).astype(np.float32)
    lstm = isinstance(cell, fl.LSTMCell)
    vec = [rng.standard_normal(5).astype(np.float32) for _ in range(2 if lstm else 1)]
    as_state = (lambda v: tuple(v)) if lstm else (lambda v: v[0])
    col = [v.reshape(5, 1) for v in vec]
    s_vec, y_vec = cell(as_state(vec), x)
    s_col, y_col = cell(as_state(col), x)
    for a, b in zip(s_vec if lstm else [s_vec], s_col if lstm else [s_col]):
        assert a.shape == (5,)
        np.testing.assert_allclose(a, b.ravel(), rtol=1e-6)
    np.testing.assert_allclose(y_vec, y_col, rtol=1e-6)
    g_vec = fl.gradient(lambda m: np.sum(m(as_state(vec), x)[1] ** 2), cell)[0]
    g_col = fl.gradient(lambda m: np.sum(m(as_state(col), x)[1] ** 2), cell)[0]
    for name in ("Wi", "Wh", "b"):
        np.testing.assert_allclose(g_vec[name], g_col[name], rtol=1e-5)
    # a vector state with a batch of inputs: the state broadcasts over the batch, as in Flux
    s_batch, y_batch = cell(as_state(vec), np.stack([x, x], axis=1))
    assert y_batch.shape == (5, 2)
    np.testing.assert_allclose(y_batch[:, 0], y_vec, rtol=1e-6)


def test_a_cell_refuses_a_state_of_the_wrong_size_and_says_what_to_give():
    cell = fl.RNNCell(3, 5)
    with pytest.raises(fl.LayerShapeError) as err:
        cell(np.zeros(4, np.float32), np.ones(3, np.float32))
    assert str(err.value) == (
        "RNNCell(3 => 5, tanh) needs a state of 5 rows (a vector, or 5 × N for a batch), but got "
        "a state of shape (4,).\nHint: Start from the cell's own state0, or from np.zeros(out) / "
        "np.zeros((out, N)).")
