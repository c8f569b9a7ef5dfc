"""Losses: each against its formula written out here independently, against finite
differences, and for the behaviour around it (agg, shapes, eps, stability, dtypes)."""
import math

import numpy as np
import pytest
from gradcheck import numerical_gradient

import fluxlite as fl
from fluxlite import losses as L
from fluxlite.autodiff.tracer import Tracked

RNG = np.random.default_rng(1234)


# --------------------------------------------------------------------------- independent references
# Written with explicit loops over columns/elements where that is clearer, so a shared bug with
# the vectorised implementation is unlikely.

EPS64 = 2.220446049250313e-16


def ref_mae(ŷ, y):
    return sum(abs(a - b) for a, b in zip(ŷ.ravel(), y.ravel())) / ŷ.size


def ref_mse(ŷ, y):
    return sum((a - b) ** 2 for a, b in zip(ŷ.ravel(), y.ravel())) / ŷ.size


def ref_msle(ŷ, y, eps=EPS64):
    return sum((math.log(a + eps) - math.log(b + eps)) ** 2 for a, b in zip(ŷ.ravel(), y.ravel())) / ŷ.size


def ref_huber(ŷ, y, delta=1.0):
    out = []
    for a, b in zip(ŷ.ravel(), y.ravel()):
        e = abs(a - b)
        out.append(0.5 * e * e if e < delta else delta * (e - delta / 2))
    return sum(out) / len(out)


def _columns(a):
    return [a[:, j] for j in range(a.shape[1])]


def ref_crossentropy(ŷ, y, eps=EPS64):
    per_sample = []
    for p, t in zip(_columns(ŷ), _columns(y)):
        per_sample.append(-sum(ti * math.log(pi + eps) for pi, ti in zip(p, t) if ti != 0))
    return sum(per_sample) / len(per_sample)


def ref_logitcrossentropy(s, y):
    per_sample = []
    for col, t in zip(_columns(s), _columns(y)):
        m = max(col)
        lse = m + math.log(sum(math.exp(v - m) for v in col))
        per_sample.append(-sum(ti * (v - lse) for v, ti in zip(col, t)))
    return sum(per_sample) / len(per_sample)


def ref_binarycrossentropy(ŷ, y, eps=EPS64):
    out = []
    for p, t in zip(ŷ.ravel(), y.ravel()):
        v = 0.0
        if t != 0:
            v -= t * math.log(p + eps)
        if 1 - t != 0:
            v -= (1 - t) * math.log(1 - p + eps)
        out.append(v)
    return sum(out) / len(out)


def ref_logitbinarycrossentropy(s, y):
    out = []
    for v, t in zip(s.ravel(), y.ravel()):
        p = 1 / (1 + math.exp(-v))
        out.append(-(t * math.log(p) + (1 - t) * math.log(1 - p)))
    return sum(out) / len(out)


def ref_kldivergence(ŷ, y, eps=EPS64):
    per_sample = []
    for p, t in zip(_columns(ŷ), _columns(y)):
        per_sample.append(sum(ti * (math.log(ti) - math.log(pi + eps)) for pi, ti in zip(p, t) if ti != 0))
    return sum(per_sample) / len(per_sample)


def ref_focal(ŷ, y, gamma=2.0, eps=EPS64):
    per_sample = []
    for p, t in zip(_columns(ŷ), _columns(y)):
        per_sample.append(sum(-ti * (1 - pi - eps) ** gamma * math.log(pi + eps) for pi, ti in zip(p, t)))
    return sum(per_sample) / len(per_sample)


def ref_binary_focal(ŷ, y, gamma=2.0, eps=EPS64):
    out = []
    for p, t in zip(ŷ.ravel(), y.ravel()):
        pt = t * (p + eps) + (1 - t) * (1 - p - eps)
        out.append(-((1 - pt) ** gamma) * math.log(pt))
    return sum(out) / len(out)


# --------------------------------------------------------------------------- inputs

def probs(shape):
    e = np.exp(RNG.standard_normal(shape))
    return e / e.sum(axis=0, keepdims=True)


def onehot(c, n):
    return np.eye(c)[:, RNG.integers(0, c, n)]


def soft_targets(c, n):
    """Targets whose columns do not sum to one: the general case of the pullback."""
    return RNG.uniform(0.05, 1.0, (c, n))


def inputs(kind):
    if kind == "regression":
        return RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    if kind == "positive":
        return RNG.uniform(0.2, 3.0, (3, 4)), RNG.uniform(0.2, 3.0, (3, 4))
    if kind == "huber":  # errors on both sides of δ = 1, none near the kink
        y = RNG.standard_normal((3, 4))
        d = RNG.choice([-2.5, -0.4, 0.3, 1.7], (3, 4)) + RNG.uniform(-0.05, 0.05, (3, 4))
        return y + d, y
    if kind == "probs-onehot":
        return probs((4, 5)), onehot(4, 5)
    if kind == "probs-soft":
        return probs((4, 5)), soft_targets(4, 5)
    if kind == "logits-onehot":
        return RNG.standard_normal((4, 5)) * 3, onehot(4, 5)
    if kind == "logits-soft":
        return RNG.standard_normal((4, 5)) * 3, soft_targets(4, 5)
    if kind == "binary-probs":
        return RNG.uniform(0.05, 0.95, (2, 6)), RNG.uniform(0, 1, (2, 6))
    if kind == "binary-logits":
        return RNG.standard_normal((2, 6)) * 3, RNG.uniform(0, 1, (2, 6))
    if kind == "kl":
        return probs((4, 5)), probs((4, 5))
    raise ValueError(kind)


CASES = [
    ("mae", L.mae, ref_mae, "regression"),
    ("mse", L.mse, ref_mse, "regression"),
    ("msle", L.msle, ref_msle, "positive"),
    ("huber_loss", L.huber_loss, ref_huber, "huber"),
    ("crossentropy", L.crossentropy, ref_crossentropy, "probs-onehot"),
    ("crossentropy-soft", L.crossentropy, ref_crossentropy, "probs-soft"),
    ("logitcrossentropy", L.logitcrossentropy, ref_logitcrossentropy, "logits-onehot"),
    ("logitcrossentropy-soft", L.logitcrossentropy, ref_logitcrossentropy, "logits-soft"),
    ("binarycrossentropy", L.binarycrossentropy, ref_binarycrossentropy, "binary-probs"),
    ("logitbinarycrossentropy", L.logitbinarycrossentropy, ref_logitbinarycrossentropy, "binary-logits"),
    ("kldivergence", L.kldivergence, ref_kldivergence, "kl"),
    ("focal_loss", L.focal_loss, ref_focal, "probs-onehot"),
    ("binary_focal_loss", L.binary_focal_loss, ref_binary_focal, "binary-probs"),
]
IDS = [c[0] for c in CASES]


# --------------------------------------------------------------------------- value and gradient

@pytest.mark.parametrize("name, loss, ref, kind", CASES, ids=IDS)
def test_loss_matches_its_formula(name, loss, ref, kind):
    ŷ, y = inputs(kind)
    assert float(loss(ŷ, y)) == pytest.approx(ref(ŷ, y), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name, loss, ref, kind", CASES, ids=IDS)
def test_loss_gradient_matches_finite_differences(name, loss, ref, kind):
    ŷ, y = inputs(kind)
    (g,) = fl.gradient(lambda a: loss(a, y), ŷ)
    assert g.shape == ŷ.shape
    np.testing.assert_allclose(g, numerical_gradient(lambda a: loss(a, y), [ŷ], 0), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name, loss, ref, kind",
                         [c for c in CASES if c[0] in ("mse", "crossentropy-soft", "logitcrossentropy-soft",
                                                       "binarycrossentropy", "logitbinarycrossentropy",
                                                       "kldivergence")],
                         ids=["mse", "crossentropy", "logitcrossentropy", "binarycrossentropy",
                              "logitbinarycrossentropy", "kldivergence"])
def test_loss_gradient_with_respect_to_the_target_matches_finite_differences(name, loss, ref, kind):
    ŷ, y = inputs(kind)
    (g,) = fl.gradient(lambda t: loss(ŷ, t), y)
    np.testing.assert_allclose(g, numerical_gradient(lambda t: loss(ŷ, t), [y], 0), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name, loss, ref, kind", CASES, ids=IDS)
def test_agg_sum_is_the_mean_times_the_number_of_terms(name, loss, ref, kind):
    ŷ, y = inputs(kind)
    per_sample = name.split("-")[0] in ("crossentropy", "logitcrossentropy", "kldivergence", "focal_loss")
    n = ŷ.shape[1] if per_sample else ŷ.size
    assert float(loss(ŷ, y, agg=np.sum)) == pytest.approx(n * float(loss(ŷ, y)), rel=1e-12)
    assert float(loss(ŷ, y, agg=sum)) == pytest.approx(float(loss(ŷ, y, agg=np.sum)), rel=1e-12)


@pytest.mark.parametrize("name, loss, ref, kind", CASES, ids=IDS)
def test_agg_accepts_any_function_and_differentiates_through_it(name, loss, ref, kind):
    ŷ, y = inputs(kind)
    weighted = lambda l: np.sum(l * np.arange(1, l.size + 1).reshape(l.shape))  # noqa: E731
    (g,) = fl.gradient(lambda a: loss(a, y, agg=weighted), ŷ)
    np.testing.assert_allclose(g, numerical_gradient(lambda a: loss(a, y, agg=weighted), [ŷ], 0),
                               rtol=1e-5, atol=1e-8)


def test_per_sample_losses_keep_the_class_axis_as_in_flux():
    s, y = inputs("logits-onehot")
    rows = L.logitcrossentropy(s, y, agg=lambda l: l)
    assert rows.shape == (1, 5)
    assert L.crossentropy(fl.softmax(s), y, agg=lambda l: l).shape == (1, 5)
    np.testing.assert_allclose(rows, L.crossentropy(fl.softmax(s), y, agg=lambda l: l), rtol=1e-10)


# --------------------------------------------------------------------------- numbers from Flux's docs

def test_values_from_flux_docstrings():
    assert float(L.mae(np.array([1.1, 1.9, 3.1]), np.arange(1.0, 4.0))) == pytest.approx(0.10000000000000009)
    assert float(L.mse(np.array([1.1, 1.9, 3.1]), np.arange(1.0, 4.0))) == pytest.approx(0.010000000000000018)
    assert float(L.msle(np.array([1.1, 2.2, 3.3], np.float32), np.arange(1.0, 4.0, dtype=np.float32))) \
        == pytest.approx(0.009084041, rel=1e-5)
    # crossentropy: softmax(reshape(-7:7, 3, 5)), labels [0, 1, 2, 1, 0]
    ŷ = fl.softmax(np.arange(-7, 8, dtype=np.float32).reshape(5, 3).T)
    y = np.eye(3, dtype=np.float32)[:, [0, 1, 2, 1, 0]]
    assert float(L.crossentropy(ŷ, y)) == pytest.approx(1.6076053, rel=1e-6)
    # logitcrossentropy: reshape(vcat(-9:0, 0:9, 7.5f0), 3, 7), labels "abcabaa"
    s = np.concatenate([np.arange(-9, 1), np.arange(0, 10), [7.5]]).astype(np.float32).reshape(7, 3).T
    y = np.eye(3, dtype=np.float32)[:, [0, 1, 2, 0, 1, 0, 0]]
    assert float(L.logitcrossentropy(s, y)) == pytest.approx(1.5791205, rel=1e-6)
    assert float(L.binarycrossentropy(np.array([0.731059, 0.5, 0.731059]), np.array([1.0, 0, 1]))) \
        == pytest.approx(0.43989, rel=1e-5)
    assert float(L.logitbinarycrossentropy(np.array([2, -1, np.pi]), np.array([1.0, 0, 1]))) \
        == pytest.approx(0.160832, rel=1e-5)
    ŷ = np.array([[0.268941, 0.5, 0.268941], [0.731059, 0.5, 0.731059]])
    assert float(L.binary_focal_loss(ŷ, np.array([[0.0, 1, 0], [1, 0, 1]]))) == pytest.approx(0.0728675615927385)
    ŷ = fl.softmax(np.arange(-7.0, 8.0).reshape(5, 3).T)
    assert float(L.focal_loss(ŷ, np.eye(3)[:, [0, 1, 2, 1, 0]])) == pytest.approx(1.1277571935622628, rel=1e-5)
    p1, p2 = np.eye(2), np.full((2, 2), 0.5)
    assert float(L.kldivergence(p2, p1)) == pytest.approx(math.log(2))
    assert float(L.kldivergence(p2, p2, eps=0)) == pytest.approx(0.0, abs=1e-15)
    assert float(L.kldivergence(p1, p2, eps=0)) == math.inf


# --------------------------------------------------------------------------- eps placement

def test_crossentropy_puts_eps_inside_the_log_and_skips_zero_labels():
    ŷ = np.array([[0.0, 1.0], [1.0, 0.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])  # first sample: the true class got probability 0
    assert float(L.crossentropy(ŷ, y, agg=np.sum)) == pytest.approx(-math.log(EPS64) - math.log(1 + EPS64))
    assert float(L.crossentropy(ŷ, y, agg=np.sum, eps=0.1)) == pytest.approx(-math.log(0.1) - math.log(1.1))


def test_binarycrossentropy_puts_eps_inside_both_logs():
    assert float(L.binarycrossentropy(np.array([1.0]), np.array([0.0]))) == pytest.approx(-math.log(EPS64))
    assert float(L.binarycrossentropy(np.array([0.0]), np.array([1.0]))) == pytest.approx(-math.log(EPS64))
    assert float(L.binarycrossentropy(np.array([0.25]), np.array([1.0]), eps=0.5)) == pytest.approx(-math.log(0.75))


def test_default_eps_follows_the_prediction_precision():
    ŷ32 = np.array([[1.0, 0.0]], np.float32).T
    y = np.array([[0.0, 1.0]], np.float32).T
    assert float(L.crossentropy(ŷ32, y)) == pytest.approx(-math.log(np.finfo(np.float32).eps), rel=1e-6)


def test_greek_and_ascii_keyword_names_are_the_same_argument():
    ŷ, y = inputs("probs-onehot")
    assert float(L.crossentropy(ŷ, y, ϵ=1e-3)) == float(L.crossentropy(ŷ, y, eps=1e-3))
    a, b = inputs("huber")
    assert float(L.huber_loss(a, b, δ=0.5)) == float(L.huber_loss(a, b, delta=0.5))
    assert float(L.focal_loss(ŷ, y, γ=1.0)) == float(L.focal_loss(ŷ, y, gamma=1.0))
    with pytest.raises(TypeError, match="same"):
        L.crossentropy(ŷ, y, eps=1e-3, ϵ=1e-4)


def test_focal_loss_with_gamma_zero_is_crossentropy():
    ŷ, y = inputs("probs-onehot")
    assert float(L.focal_loss(ŷ, y, gamma=0)) == pytest.approx(float(L.crossentropy(ŷ, y)), rel=1e-9)


def test_huber_loss_is_quadratic_inside_delta_and_linear_outside():
    y = np.zeros(4)
    ŷ = np.array([0.5, -0.5, 3.0, -3.0])
    np.testing.assert_allclose(L.huber_loss(ŷ, y, agg=lambda l: l), [0.125, 0.125, 2.5, 2.5])
    (g,) = fl.gradient(lambda a: L.huber_loss(a, y, delta=2.0, agg=np.sum), ŷ)
    np.testing.assert_allclose(g, [0.5, -0.5, 2.0, -2.0])


def test_kldivergence_is_zero_for_equal_distributions_and_positive_otherwise():
    p, q = inputs("kl")
    assert abs(float(L.kldivergence(p, p))) < 1e-12
    assert float(L.kldivergence(q, p)) > 0


# --------------------------------------------------------------------------- stability

def test_logitcrossentropy_is_finite_for_huge_logits():
    s = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    y = np.eye(2)
    assert float(L.logitcrossentropy(s, y)) == 0.0
    assert float(L.logitcrossentropy(s, y[::-1].copy())) == pytest.approx(2000.0)
    (g,) = fl.gradient(lambda a: L.logitcrossentropy(a, y[::-1].copy(), agg=np.sum), s)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [[1.0, -1.0], [-1.0, 1.0]])


def test_logitbinarycrossentropy_is_finite_for_huge_logits():
    s = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(L.logitbinarycrossentropy(s, y, agg=lambda l: l), [0, 0, 1000, 1000])
    (g,) = fl.gradient(lambda a: L.logitbinarycrossentropy(a, y, agg=np.sum), s)
    np.testing.assert_allclose(g, [0.0, 0.0, 1.0, -1.0])


def test_softmax_then_crossentropy_stays_finite_thanks_to_eps():
    s = np.array([[1000.0], [-1000.0]])
    y = np.array([[0.0], [1.0]])
    assert math.isfinite(float(L.crossentropy(fl.softmax(s), y)))


# --------------------------------------------------------------------------- the fused primitive

def test_logitcrossentropy_is_recorded_as_one_operation():
    s, y = inputs("logits-onehot")
    seen = {}

    def f(a):
        out = L.logitcrossentropy(a, y)
        assert type(out) is Tracked
        seen["ops"] = [e[0].name for e in out._tape.entries if e is not None]
        return out

    fl.gradient(f, s)
    assert seen["ops"] == ["logitcrossentropy"]


@pytest.mark.parametrize("agg, scale", [(np.mean, 1 / 5), (np.sum, 1.0)])
def test_logitcrossentropy_pullback_is_softmax_minus_onehot_scaled_by_agg(agg, scale):
    s, y = inputs("logits-onehot")
    (g,) = fl.gradient(lambda a: L.logitcrossentropy(a, y, agg=agg), s)
    e = np.exp(s - s.max(axis=0))
    np.testing.assert_allclose(g, (e / e.sum(axis=0) - y) * scale, rtol=1e-12)


def test_logitcrossentropy_pullback_is_right_when_one_loss_uses_two_logit_arrays():
    a, y = inputs("logits-onehot")
    b = RNG.standard_normal(a.shape)
    f = lambda p, q: L.logitcrossentropy(p, y) + 2 * L.logitcrossentropy(q, y)  # noqa: E731
    ga, gb = fl.gradient(f, a, b)
    np.testing.assert_allclose(ga, numerical_gradient(lambda p: f(p, b), [a], 0), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gb, numerical_gradient(lambda q: f(a, q), [b], 0), rtol=1e-5, atol=1e-8)


def test_logitcrossentropy_second_derivative_matches_finite_differences():
    s, y = inputs("logits-soft")
    v = RNG.standard_normal(s.shape)
    grad_dot_v = lambda a: np.sum(fl.gradient(lambda b: L.logitcrossentropy(b, y), a)[0] * v)  # noqa: E731
    (hv,) = fl.gradient(grad_dot_v, s)
    np.testing.assert_allclose(hv, numerical_gradient(grad_dot_v, [s], 0), rtol=1e-4, atol=1e-7)


def test_logitcrossentropy_along_another_axis_and_with_flux_dims():
    s, y = inputs("logits-soft")
    a = L.logitcrossentropy(s.T, y.T, axis=1)
    assert float(a) == pytest.approx(ref_logitcrossentropy(s, y), rel=1e-12)
    assert float(L.logitcrossentropy(s.T, y.T, dims=2)) == float(a)
    assert float(L.logitcrossentropy(s, y, dims=1)) == float(L.logitcrossentropy(s, y))
    (g,) = fl.gradient(lambda t: L.logitcrossentropy(t, y.T, axis=1), s.T)
    np.testing.assert_allclose(g, numerical_gradient(lambda t: L.logitcrossentropy(t, y.T, axis=1), [s.T], 0),
                               rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="counts axes from 1"):
        L.logitcrossentropy(s, y, dims=0)


def test_losses_keep_float32():
    s = RNG.standard_normal((4, 5)).astype(np.float32)
    y = onehot(4, 5).astype(np.float32)
    for loss in (L.logitcrossentropy, L.mse, L.logitbinarycrossentropy, L.huber_loss):
        val, (g,) = fl.withgradient(lambda a: loss(a, y), s)
        assert g.dtype == np.float32, loss.__name__
        assert np.asarray(loss(s, y)).dtype == np.float32, loss.__name__


def test_losses_accept_boolean_and_integer_targets():
    s, y = inputs("logits-onehot")
    assert float(L.logitcrossentropy(s, y.astype(bool))) == pytest.approx(float(L.logitcrossentropy(s, y)))
    assert float(L.crossentropy(fl.softmax(s), y.astype(int))) == pytest.approx(
        float(L.crossentropy(fl.softmax(s), y)))


def test_a_number_is_accepted_as_the_target():
    ŷ = np.array([0.5, 1.5])
    assert float(L.mse(ŷ, 1.0)) == pytest.approx(0.25)
    assert float(L.binarycrossentropy(np.array([0.5, 0.5]), 1)) == pytest.approx(-math.log(0.5 + EPS64))


# --------------------------------------------------------------------------- shape errors

@pytest.mark.parametrize("name, loss, ref, kind", CASES, ids=IDS)
def test_mismatched_shapes_raise_an_error_naming_both(name, loss, ref, kind):
    ŷ, y = inputs(kind)
    with pytest.raises(ValueError) as err:
        loss(ŷ, y[:, :-1])
    msg = str(err.value)
    assert f"prediction ŷ has shape {ŷ.shape}" in msg
    assert f"target y has shape {y[:, :-1].shape}" in msg
    assert loss.__name__ in msg


def test_a_column_against_a_vector_is_refused_rather_than_broadcast():
    with pytest.raises(ValueError, match=r"silently broadcast them to \(3, 3\).*y.reshape\(\(3, 1\)\)"):
        L.mse(np.ones((3, 1)), np.ones(3))


def test_class_labels_instead_of_onehot_get_a_hint():
    with pytest.raises(ValueError, match="onehotbatch"):
        L.logitcrossentropy(np.ones((10, 32)), np.arange(32))


def test_agg_must_be_a_function():
    with pytest.raises(TypeError, match="agg must be a function"):
        L.mse(np.ones(2), np.ones(2), agg="mean")
