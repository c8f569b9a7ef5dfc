"""Optimisation rules and both update styles (fluxlite.optimise).

Each rule is checked against a reference written out here from the published update formula,
independently of fluxlite's in-place implementation: a few steps on random arrays with fresh
random gradients each step, comparing the whole trajectory.
"""
import gc
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.autodiff import REFERENCE
from fluxlite.optimise import (ADAM, AbstractRule, AdaBelief, AdaDelta, AdaGrad, AdaMax, Adam,
                               AdamW, AMSGrad, ClipGrad, ClipNorm, ClipValue, Descent, Leaf,
                               Momentum, NAdam, Nesterov, OAdam, OptimiserChain, RMSProp,
                               WeightDecay, adjust_, freeze_, setup, thaw_, update_)
from fluxlite.optimise.rules import _julia_float

STEPS = 6
SHAPE = (3, 4)


def problem(seed=0, shape=SHAPE, dtype=np.float64):
    """A starting array and a list of gradients, one per step."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) * 3 for _ in range(STEPS)]
    return x0, grads


# --------------------------------------------------------------------------- reference formulas
# Each takes the start x0 and the gradient list and returns the list of x after every step.
# They use whole-array expressions and step counters t = 1, 2, ..., the way the papers write them.

def ref_descent(x0, gs, eta):
    x, out = x0.copy(), []
    for g in gs:
        x = x - eta * g
        out.append(x)
    return out


def ref_momentum(x0, gs, eta, rho):
    x, v, out = x0.copy(), np.zeros_like(x0), []
    for g in gs:
        v = rho * v + eta * g
        x = x - v
        out.append(x)
    return out


def ref_nesterov(x0, gs, eta, rho):
    # Sutskever et al.'s form with velocity u (u_new = ρ u − η g), applied as
    # x ← x − ρ u_old + (1 + ρ) u_new ("look ahead along the new velocity").
    x, u, out = x0.copy(), np.zeros_like(x0), []
    for g in gs:
        u_new = rho * u - eta * g
        x = x - rho * u + (1 + rho) * u_new
        u = u_new
        out.append(x)
    return out


def ref_rmsprop(x0, gs, eta, rho, eps, centred=False):
    x, s, m, out = x0.copy(), np.zeros_like(x0), np.zeros_like(x0), []
    for g in gs:
        s = rho * s + (1 - rho) * g ** 2
        m = rho * m + (1 - rho) * g
        scale = np.sqrt(s - m ** 2) if centred else np.sqrt(s)
        x = x - eta * g / (scale + eps)
        out.append(x)
    return out


def ref_adam(x0, gs, eta, beta, eps):
    (b1, b2), x = beta, x0.copy()
    m, v, out = np.zeros_like(x0), np.zeros_like(x0), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        x = x - eta * mhat / (np.sqrt(vhat) + eps)
        out.append(x)
    return out


def ref_adamax(x0, gs, eta, beta, eps):
    (b1, b2), x = beta, x0.copy()
    m, u, out = np.zeros_like(x0), np.zeros_like(x0), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        x = x - eta / (1 - b1 ** t) * m / (u + eps)
        out.append(x)
    return out


def ref_oadam(x0, gs, eta, beta, eps):
    (b1, b2), x = beta, x0.copy()
    m, v, prev, out = np.zeros_like(x0), np.zeros_like(x0), np.zeros_like(x0), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        a = eta * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        x = x - (2 * a - prev)
        prev = a
        out.append(x)
    return out


def ref_adagrad(x0, gs, eta, eps):
    x, s, out = x0.copy(), np.full_like(x0, eps), []  # the accumulator starts at ε, as in Flux
    for g in gs:
        s = s + g ** 2
        x = x - eta * g / (np.sqrt(s) + eps)
        out.append(x)
    return out


def ref_adadelta(x0, gs, rho, eps):
    x, s, d, out = x0.copy(), np.zeros_like(x0), np.zeros_like(x0), []
    for g in gs:
        s = rho * s + (1 - rho) * g ** 2
        dx = g * np.sqrt(d + eps) / np.sqrt(s + eps)
        d = rho * d + (1 - rho) * dx ** 2
        x = x - dx
        out.append(x)
    return out


def ref_amsgrad(x0, gs, eta, beta, eps):
    (b1, b2), x = beta, x0.copy()
    m, v, vmax = (np.full_like(x0, eps) for _ in range(3))  # all three start at ε, as in Flux
    out = []
    for g in gs:
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        x = x - eta * m / (np.sqrt(vmax) + eps)
        out.append(x)
    return out


def ref_nadam(x0, gs, eta, beta, eps):
    (b1, b2), x = beta, x0.copy()
    m, v, out = np.zeros_like(x0), np.zeros_like(x0), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        look_ahead = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        x = x - eta * look_ahead / (np.sqrt(b2 * v / (1 - b2 ** t)) + eps)
        out.append(x)
    return out


def ref_adamw(x0, gs, eta, beta, lam, eps, couple):
    (b1, b2), x = beta, x0.copy()
    m, v, out = np.zeros_like(x0), np.zeros_like(x0), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        adam = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        x = x - eta * (adam + lam * x) if couple else x - eta * adam - lam * x
        out.append(x)
    return out


def ref_adabelief(x0, gs, eta, beta, eps):
    (b1, b2), x = beta, x0.copy()
    m, s, out = np.zeros_like(x0), np.zeros_like(x0), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        x = x - eta * (m / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + eps)
        out.append(x)
    return out


def ref_decay_then_descent(x0, gs, lam, eta):
    x, out = x0.copy(), []
    for g in gs:
        x = x - eta * (g + lam * x)
        out.append(x)
    return out


def ref_clip_then_momentum(x0, gs, delta, eta, rho):
    x, v, out = x0.copy(), np.zeros_like(x0), []
    for g in gs:
        v = rho * v + eta * np.minimum(np.maximum(g, -delta), delta)
        x = x - v
        out.append(x)
    return out


def ref_clipnorm(x0, gs, omega):
    x, out = x0.copy(), []
    for g in gs:
        norm = math.sqrt(sum(float(e) ** 2 for e in g.ravel()))
        x = x - (g * (omega / norm) if norm > omega else g)
        out.append(x)
    return out


CASES = [
    # (id, rule, reference), with non-default hyperparameters so that they are really used
    ("Descent", Descent(0.07), lambda x, g: ref_descent(x, g, 0.07)),
    ("Momentum", Momentum(0.03, 0.8), lambda x, g: ref_momentum(x, g, 0.03, 0.8)),
    ("Nesterov", Nesterov(0.02, 0.7), lambda x, g: ref_nesterov(x, g, 0.02, 0.7)),
    ("RMSProp", RMSProp(0.01, 0.8, 1e-6), lambda x, g: ref_rmsprop(x, g, 0.01, 0.8, 1e-6)),
    ("RMSProp centred", RMSProp(0.01, 0.8, 1e-6, centred=True),
     lambda x, g: ref_rmsprop(x, g, 0.01, 0.8, 1e-6, centred=True)),
    ("Adam", Adam(0.02, (0.8, 0.95), 1e-6), lambda x, g: ref_adam(x, g, 0.02, (0.8, 0.95), 1e-6)),
    ("Adam defaults", Adam(), lambda x, g: ref_adam(x, g, 0.001, (0.9, 0.999), 1e-8)),
    ("AdaMax", AdaMax(0.02, (0.8, 0.95), 1e-6),
     lambda x, g: ref_adamax(x, g, 0.02, (0.8, 0.95), 1e-6)),
    ("OAdam", OAdam(0.02, (0.6, 0.95), 1e-6),
     lambda x, g: ref_oadam(x, g, 0.02, (0.6, 0.95), 1e-6)),
    ("AdaGrad", AdaGrad(0.05, 1e-3), lambda x, g: ref_adagrad(x, g, 0.05, 1e-3)),
    ("AdaDelta", AdaDelta(0.8, 1e-4), lambda x, g: ref_adadelta(x, g, 0.8, 1e-4)),
    ("AMSGrad", AMSGrad(0.02, (0.8, 0.95), 1e-3),
     lambda x, g: ref_amsgrad(x, g, 0.02, (0.8, 0.95), 1e-3)),
    ("NAdam", NAdam(0.02, (0.8, 0.95), 1e-6),
     lambda x, g: ref_nadam(x, g, 0.02, (0.8, 0.95), 1e-6)),
    ("AdamW coupled", AdamW(0.02, (0.8, 0.95), 0.3, 1e-6),
     lambda x, g: ref_adamw(x, g, 0.02, (0.8, 0.95), 0.3, 1e-6, True)),
    ("AdamW decoupled", AdamW(0.02, (0.8, 0.95), 0.3, 1e-6, couple=False),
     lambda x, g: ref_adamw(x, g, 0.02, (0.8, 0.95), 0.3, 1e-6, False)),
    ("AdaBelief", AdaBelief(0.02, (0.8, 0.95), 1e-6),
     lambda x, g: ref_adabelief(x, g, 0.02, (0.8, 0.95), 1e-6)),
    ("WeightDecay+Descent", OptimiserChain(WeightDecay(0.2), Descent(0.05)),
     lambda x, g: ref_decay_then_descent(x, g, 0.2, 0.05)),
    ("ClipValue+Momentum", OptimiserChain(ClipValue(1.5), Momentum(0.05, 0.6)),
     lambda x, g: ref_clip_then_momentum(x, g, 1.5, 0.05, 0.6)),
    ("ClipGrad alone", ClipGrad(0.5), lambda x, g: ref_clip_then_momentum(x, g, 0.5, 1.0, 0.0)),
    ("ClipNorm", ClipNorm(4.0), lambda x, g: ref_clipnorm(x, g, 4.0)),
    ("empty chain", OptimiserChain(), lambda x, g: ref_descent(x, g, 1.0)),
]


@pytest.mark.parametrize("name, rule, reference", CASES, ids=[c[0] for c in CASES])
def test_rule_follows_its_formula_step_by_step(name, rule, reference):
    x0, grads = problem(seed=len(name))
    x = fl.param(x0)
    for step, (g, want) in enumerate(zip(grads, reference(x0, grads)), start=1):
        update_(rule, x, g)
        np.testing.assert_allclose(x, want, rtol=1e-11, atol=1e-13,
                                   err_msg=f"{name}: step {step} differs from the formula")


@pytest.mark.parametrize("name, rule, reference", CASES, ids=[c[0] for c in CASES])
def test_rule_leaves_the_gradient_untouched(name, rule, reference):
    x0, grads = problem(seed=1)
    kept = [g.copy() for g in grads]
    x = x0.copy()
    for g in grads:
        update_(rule, x, g)
    for g, k in zip(grads, kept):
        np.testing.assert_array_equal(g, k)


def test_clipnorm_only_scales_gradients_above_the_threshold():
    x = np.zeros(2)
    update_(ClipNorm(10.0), x, np.array([3.0, 4.0]))  # norm 5 < 10: unchanged
    np.testing.assert_allclose(x, [-3.0, -4.0])
    y = np.zeros(2)
    update_(ClipNorm(1.0, 1.0), y, np.array([3.0, -1.0]))  # 1-norm 4, scaled by 1/4
    np.testing.assert_allclose(y, [-0.75, 0.25])
    z = np.zeros(2)
    update_(ClipNorm(2.0, np.inf), z, np.array([3.0, -1.0]))  # max-norm 3, scaled by 2/3
    np.testing.assert_allclose(z, [-2.0, 2 / 3])


def test_clipnorm_refuses_a_nan_gradient_unless_told_not_to():
    with pytest.raises(ValueError, match="norm NaN.*throw=False"):
        update_(ClipNorm(), np.zeros(2), np.array([1.0, np.nan]))
    x = np.zeros(2)
    update_(ClipNorm(throw=False), x, np.array([1.0, np.inf]))
    assert x[0] == -1.0 and x[1] == -np.inf


# --------------------------------------------------------------------------- defaults and printing

FLUX_DEFAULTS = [  # from Optimisers.jl src/rules.jl (Descent as in Flux: 0.1)
    (Descent, {"eta": 0.1}),
    (Momentum, {"eta": 0.01, "rho": 0.9}),
    (Nesterov, {"eta": 0.001, "rho": 0.9}),
    (RMSProp, {"eta": 0.001, "rho": 0.9, "epsilon": 1e-8, "centred": False}),
    (Adam, {"eta": 0.001, "beta": (0.9, 0.999), "epsilon": 1e-8}),
    (AdaMax, {"eta": 0.001, "beta": (0.9, 0.999), "epsilon": 1e-8}),
    (OAdam, {"eta": 0.001, "beta": (0.5, 0.9), "epsilon": 1e-8}),
    (AdaGrad, {"eta": 0.1, "epsilon": 1e-8}),
    (AdaDelta, {"rho": 0.9, "epsilon": 1e-8}),
    (AMSGrad, {"eta": 0.001, "beta": (0.9, 0.999), "epsilon": 1e-8}),
    (NAdam, {"eta": 0.001, "beta": (0.9, 0.999), "epsilon": 1e-8}),
    (AdamW, {"eta": 0.001, "beta": (0.9, 0.999), "lambda_": 0.0, "epsilon": 1e-8, "couple": True}),
    (AdaBelief, {"eta": 0.001, "beta": (0.9, 0.999), "epsilon": 1e-16}),
    (WeightDecay, {"lambda_": 5e-4}),
    (ClipValue, {"delta": 10.0}),
    (ClipNorm, {"omega": 10.0, "p": 2.0, "throw": True}),
]


@pytest.mark.parametrize("cls, defaults", FLUX_DEFAULTS, ids=[c.__name__ for c, _ in FLUX_DEFAULTS])
def test_defaults_are_flux_defaults(cls, defaults):
    rule = cls()
    assert {k: getattr(rule, k) for k in defaults} == defaults
    assert rule._fields == tuple(defaults)  # the fields, in Flux's order


FLUX_PRINTING = [
    (Descent(), "Descent(0.1)"),
    (Descent(0.05), "Descent(0.05)"),
    (Momentum(), "Momentum(0.01, 0.9)"),
    (Nesterov(), "Nesterov(0.001, 0.9)"),
    (RMSProp(), "RMSProp(0.001, 0.9, 1.0e-8; centred = false)"),
    (RMSProp(centered=True), "RMSProp(0.001, 0.9, 1.0e-8; centred = true)"),
    (Adam(), "Adam(0.001, (0.9, 0.999), 1.0e-8)"),
    (ADAM(0.05), "Adam(0.05, (0.9, 0.999), 1.0e-8)"),
    (AdaMax(), "AdaMax(0.001, (0.9, 0.999), 1.0e-8)"),
    (OAdam(), "OAdam(0.001, (0.5, 0.9), 1.0e-8)"),
    (AdaGrad(), "AdaGrad(0.1, 1.0e-8)"),
    (AdaDelta(), "AdaDelta(0.9, 1.0e-8)"),
    (AMSGrad(), "AMSGrad(0.001, (0.9, 0.999), 1.0e-8)"),
    (NAdam(), "NAdam(0.001, (0.9, 0.999), 1.0e-8)"),
    (AdamW(), "AdamW(0.001, (0.9, 0.999), 0.0, 1.0e-8, true)"),
    (AdaBelief(), "AdaBelief(0.001, (0.9, 0.999), 1.0e-16)"),
    (WeightDecay(), "WeightDecay(0.0005)"),
    (ClipValue(), "ClipValue(10.0)"),
    (ClipGrad(1), "ClipGrad(1.0)"),
    (ClipNorm(), "ClipNorm(10.0, 2.0, true)"),
    (OptimiserChain(ClipGrad(1.0), Descent(0.1)), "OptimiserChain(ClipGrad(1.0), Descent(0.1))"),
]


@pytest.mark.parametrize("rule, text", FLUX_PRINTING, ids=[t for _, t in FLUX_PRINTING])
def test_rules_print_as_flux_prints_them(rule, text):
    assert repr(rule) == text


@pytest.mark.parametrize("value, julia", [
    (0.1, "0.1"), (0.001, "0.001"), (1e-8, "1.0e-8"), (1e-16, "1.0e-16"), (5e-4, "0.0005"),
    (1e-4, "0.0001"), (1e-5, "1.0e-5"), (10.0, "10.0"), (123456.0, "123456.0"), (1e6, "1.0e6"),
    (1234567.0, "1.234567e6"), (-2.5, "-2.5"), (0.0, "0.0"), (float("inf"), "Inf"),
    (float("nan"), "NaN"), (0.999, "0.999"), (3e-7, "3.0e-7"),
])
def test_floats_print_as_julia_prints_them(value, julia):
    assert _julia_float(value) == julia


def test_leaf_prints_like_optimisers_jl():
    # The string below is the one in Optimisers.jl's documentation of adjust!.
    state = setup(OptimiserChain(ClipGrad(), Adam()), (np.zeros(2, np.float32),))
    assert repr(state) == ("(Leaf(OptimiserChain(ClipGrad(10.0), Adam(0.001, (0.9, 0.999), 1.0e-8)),"
                           " (nothing, (Float32[0.0, 0.0], Float32[0.0, 0.0], (0.9, 0.999)))),)")
    # Inside a Leaf, numbers are compact (6 significant digits), as in Julia.
    assert repr(setup(Momentum(1 / 30), np.zeros(2))) == "Leaf(Momentum(0.0333333, 0.9), [0.0, 0.0])"
    big = setup(Adam(), np.zeros((30, 20), np.float32))
    assert "30×20 Matrix{Float32}" in repr(big)


def test_adagrad_and_amsgrad_accumulators_start_at_epsilon():
    x = np.zeros(3)
    np.testing.assert_array_equal(AdaGrad(0.1, 1e-3).init(x), [1e-3] * 3)
    for part in AMSGrad(epsilon=1e-3).init(x):
        np.testing.assert_array_equal(part, [1e-3] * 3)


def test_adam_puts_epsilon_outside_the_root_after_bias_correction():
    # With g = 1e-6 on step 1, m̂ = g and v̂ = g²: the step is η g / (g + ε).
    # ε inside the root would give η g / √(g² + ε), about 100 times smaller here.
    x = np.zeros(1)
    g = np.array([1e-6])
    update_(Adam(0.1, (0.9, 0.999), 1e-8), x, g)
    assert x[0] == pytest.approx(-0.1 * 1e-6 / (1e-6 + 1e-8), rel=1e-9)


def test_adam_alias_is_the_same_rule():
    assert ADAM is Adam
    assert isinstance(ClipGrad(), ClipValue)


def test_adam_keeps_float32_parameters_and_state_in_float32_and_follows_the_formula():
    x0, grads = problem(seed=7, dtype=np.float32)
    x = fl.param(x0)
    rule = Adam(0.02, (0.8, 0.95), 1e-6)
    for g, want in zip(grads, ref_adam(x0.astype(np.float64), [g.astype(np.float64) for g in grads],
                                       0.02, (0.8, 0.95), 1e-6)):
        update_(rule, x, g)
        assert x.dtype == np.float32
        np.testing.assert_allclose(x, want, rtol=2e-5, atol=2e-6)
    state = rule._implicit[id(x)][1]
    assert state[0].dtype == state[1].dtype == np.float32
    step = rule.apply(rule.init(x), x, grads[0])[1]
    assert step.dtype == np.float32


# --------------------------------------------------------------------------- implicit style

def test_implicit_update_changes_the_array_in_place_and_keeps_it_a_param():
    W = fl.rand(2, 5)
    before, ident = W.copy(), id(W)
    g = np.ones((2, 5))
    out = update_(Descent(0.05), W, g)
    assert out is W and id(W) == ident and type(W) is fl.Param
    np.testing.assert_allclose(W, before - 0.05)


def test_state_is_kept_per_parameter():
    opt = Momentum(0.1, 0.9)
    a, b = np.zeros(2), np.zeros(2)
    ga, gb = np.array([1.0, 0.0]), np.array([0.0, -2.0])
    for _ in range(3):
        update_(opt, a, ga)
        update_(opt, b, gb)
    alone_a, alone_b = np.zeros(2), np.zeros(2)
    oa, ob = Momentum(0.1, 0.9), Momentum(0.1, 0.9)
    for _ in range(3):
        update_(oa, alone_a, ga)
        update_(ob, alone_b, gb)
    np.testing.assert_array_equal(a, alone_a)
    np.testing.assert_array_equal(b, alone_b)
    assert len(opt._implicit) == 2


def test_none_gradient_is_skipped_and_state_untouched():
    opt = Adam(0.1)
    W = np.ones(2)
    update_(opt, W, np.array([1.0, 1.0]))
    (ref, (m, v, bt)), = opt._implicit.values()
    m0, W0 = m.copy(), W.copy()
    with pytest.warns(fl.NoGradientWarning):
        assert update_(opt, W, None) is W
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(opt._implicit[id(W)][1][0], m0)
    assert opt._implicit[id(W)][1][2] == bt  # the step count did not advance


def test_implicit_state_is_forgotten_when_the_parameter_dies():
    opt = Adam()
    W = fl.rand(3, 3)
    update_(opt, W, np.ones((3, 3)))
    assert len(opt._implicit) == 1
    del W
    gc.collect()
    assert len(opt._implicit) == 0


def test_a_reused_id_gets_fresh_state():
    opt = Momentum(0.1, 0.9)
    W = np.zeros(2)
    # Pretend an earlier, now dead array had W's id and left velocity behind.
    dead = np.zeros(2)
    import weakref
    ref = weakref.ref(dead)
    del dead
    gc.collect()
    assert ref() is None
    opt._implicit[id(W)] = [ref, np.array([100.0, 100.0])]
    update_(opt, W, np.array([1.0, 1.0]))
    np.testing.assert_allclose(W, [-0.1, -0.1])  # fresh zero velocity, not the stale one


def test_params_and_grads_pair_updates_every_parameter():
    fl.seed(3)
    W, b, unused = fl.rand(2, 5), fl.rand(2), fl.rand(3)
    x, y = np.random.default_rng(0).random(5), np.random.default_rng(1).random(2)
    ps = fl.params(W, b, unused)
    grads = fl.gradient(lambda: np.sum((W @ x + b - y) ** 2), ps)
    assert grads[unused] is None
    W2, b2, u2 = W.copy(), b.copy(), unused.copy()
    opt, twin = Adam(0.1), Adam(0.1)
    update_(opt, ps, grads)
    update_(twin, W2, grads[W])
    update_(twin, b2, grads[b])
    np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(b, b2)
    np.testing.assert_array_equal(unused, u2)


def test_float32_parameters_stay_float32():
    W = fl.rand(2, 2, dtype=np.float32)
    opt = Adam(0.01)
    update_(opt, W, np.ones((2, 2), np.float32))
    assert W.dtype == np.float32
    m, v, _ = opt._implicit[id(W)][1]
    assert m.dtype == v.dtype == np.float32


def test_mid_run_learning_rate_change_takes_effect_on_the_next_step():
    opt = Descent(0.1)
    W = np.zeros(1)
    update_(opt, W, np.ones(1))
    opt.eta = 0.01
    update_(opt, W, np.ones(1))
    assert W[0] == pytest.approx(-0.11)
    adam = Adam(0.1)
    V = np.zeros(1)
    update_(adam, V, np.ones(1))
    adam.eta = 0.0
    before = V.copy()
    update_(adam, V, np.ones(1))
    np.testing.assert_array_equal(V, before)
    adjust_(adam, 0.5)  # the function form does the same for a rule
    assert adam.eta == 0.5


# --------------------------------------------------------------------------- explicit style

class Affine:
    """A Dense-like layer for these tests: tanh(W x .+ b)."""
    _trainable = ("weight", "bias")

    def __init__(self, n_in, n_out):
        self.weight = fl.randn(n_out, n_in)
        self.bias = fl.zeros(n_out)
        self.act = np.tanh

    def __call__(self, x):
        return self.act(self.weight @ x + self.bias[:, None])


class Stack:
    def __init__(self, *layers):
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def loss(m, x, y):
    return np.sum((m(x) - y) ** 2)


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((3, 8)), rng.random((2, 8))


def test_setup_mirrors_the_model_with_leaves_at_trainable_arrays():
    fl.seed(0)
    model = Stack(Affine(3, 4), Affine(4, 2))
    rule = Adam(0.01)
    state = setup(rule, model)
    assert set(state) == {"layers"} and len(state["layers"]) == 2
    for layer_state, layer in zip(state["layers"], model.layers):
        assert set(layer_state) == {"weight", "bias"}  # act is not trainable
        leaf = layer_state["weight"]
        assert isinstance(leaf, Leaf) and leaf.rule is rule and not leaf.frozen
        assert leaf.state[0].shape == layer.weight.shape
        assert type(leaf.state[0]) is np.ndarray  # state is plain NumPy, not a Param


def test_setup_skips_integer_arrays_and_non_arrays():
    state = setup(Descent(), {"w": np.zeros(2), "idx": np.arange(3), "n": 3, "f": np.tanh})
    assert isinstance(state["w"], Leaf)
    assert state["idx"] is None and state["n"] is None and state["f"] is None


@pytest.mark.parametrize("make_rule", [lambda: Descent(0.05), lambda: Momentum(0.05, 0.9),
                                       lambda: Adam(0.02), lambda: AdaBelief(0.02),
                                       lambda: OptimiserChain(ClipValue(0.5), NAdam(0.02))])
def test_implicit_and_explicit_styles_give_identical_trajectories(make_rule):
    fl.seed(1)
    model = Stack(Affine(3, 4), Affine(4, 2))
    twin = Stack(Affine(3, 4), Affine(4, 2))
    for a, b in zip(model.layers, twin.layers):
        b.weight[...] = a.weight
        b.bias[...] = a.bias
    x, y = data()
    state, opt = setup(make_rule(), model), make_rule()
    ps = fl.params(*(p for l in twin.layers for p in (l.weight, l.bias)))
    for _ in range(5):
        g = fl.gradient(lambda m: loss(m, x, y), model)[0]
        state, returned = update_(state, model, g)
        assert returned is model
        grads = fl.gradient(lambda: loss(twin, x, y), ps)
        for p in ps:
            update_(opt, p, grads[p])
    for a, b in zip(model.layers, twin.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)


def test_explicit_training_lowers_the_loss():
    fl.seed(2)
    model = Stack(Affine(3, 4), Affine(4, 2))
    x, y = data(1)
    state = setup(Adam(0.05), model)
    start = loss(model, x, y)
    for _ in range(50):
        state, model = update_(state, model, fl.gradient(lambda m: loss(m, x, y), model)[0])
    assert loss(model, x, y) < 0.5 * start


def test_explicit_update_skips_none_subtrees():
    fl.seed(3)
    model = Stack(Affine(2, 2), Affine(2, 2))
    before = [l.weight.copy() for l in model.layers]
    state = setup(Descent(0.1), model)
    g = {"layers": [None, {"weight": np.ones((2, 2)), "bias": None, "act": None}]}
    update_(state, model, g)
    np.testing.assert_array_equal(model.layers[0].weight, before[0])
    np.testing.assert_allclose(model.layers[1].weight, before[1] - 0.1)
    with pytest.warns(fl.NoGradientWarning):
        assert update_(state, model, None) == (state, model)


def test_changing_the_shared_rule_changes_every_leaf_mid_run():
    model = {"a": np.zeros(1), "b": np.zeros(1)}
    rule = Descent(0.1)
    state = setup(rule, model)
    g = {"a": np.ones(1), "b": np.ones(1)}
    update_(state, model, g)
    rule.eta = 1.0  # what the dashboard does
    update_(state, model, g)
    np.testing.assert_allclose([model["a"][0], model["b"][0]], [-1.1, -1.1])


def test_adjust_changes_only_the_part_of_the_tree_it_is_given():
    fl.seed(4)
    model = Stack(Affine(2, 2), Affine(2, 2))
    rule = Momentum(0.1, 0.9)
    state = setup(rule, model)
    g = fl.gradient(lambda m: np.sum(m(np.ones((2, 1)))), model)[0]
    update_(state, model, g)
    velocity = state["layers"][0]["weight"].state.copy()
    adjust_(state["layers"][1], 0.5)
    assert state["layers"][1]["weight"].rule.eta == 0.5
    assert state["layers"][1]["weight"].rule is state["layers"][1]["bias"].rule
    assert state["layers"][0]["weight"].rule is rule and rule.eta == 0.1
    np.testing.assert_array_equal(state["layers"][0]["weight"].state, velocity)  # state kept
    adjust_(state, rho=0.5)
    assert {leaf.rule.rho for l in state["layers"] for leaf in l.values()} == {0.5}
    assert rule.rho == 0.9  # the rule given to setup is left alone


def test_adjust_reaches_inside_chains_and_refuses_unknown_names():
    state = setup(OptimiserChain(ClipGrad(), Adam()), [np.zeros(2)])
    adjust_(state, 0.01, delta=3.0)
    chain = state[0].rule
    assert chain.opts[0].delta == 3.0 and chain.opts[1].eta == 0.01
    with pytest.raises(AttributeError, match="rho"):
        adjust_(state, rho=0.5)
    with pytest.raises(AttributeError, match="eta"):
        adjust_(setup(AdaDelta(), np.zeros(1)), 0.1)  # AdaDelta has no learning rate
    with pytest.raises(TypeError, match="something to change"):
        adjust_(state)


def test_freeze_and_thaw():
    model = {"a": np.zeros(1), "b": [np.zeros(1)]}
    state = setup(Descent(1.0), model)
    g = {"a": np.ones(1), "b": [np.ones(1)]}
    freeze_(state["b"])
    update_(state, model, g)
    assert model["a"][0] == -1.0 and model["b"][0][0] == 0.0
    assert "frozen = true" in repr(state["b"][0])
    thaw_(state)
    update_(state, model, g)
    assert model["a"][0] == -2.0 and model["b"][0][0] == -1.0


def test_freeze_refuses_the_model_itself():
    with pytest.raises(TypeError, match="state tree from fl.setup"):
        freeze_({"W": np.zeros(2)})


def test_tied_array_gets_one_step_with_the_summed_gradient():
    W = fl.ones(2)
    model = {"a": W, "b": W}
    state = setup(Descent(0.1), model)
    assert state["a"] is state["b"]
    g = fl.gradient(lambda m: np.sum(m["a"]) + 2 * np.sum(m["b"]), model)[0]
    update_(state, model, g)
    np.testing.assert_allclose(W, [1 - 0.1 * 3] * 2)  # d/dW = 1 + 2, applied once


# --------------------------------------------------------------------------- grouped state
# setup gives the arrays of an element-by-element rule one flat state (fluxlite.optimise.grouped),
# so update_ applies the rule once for all of them. These tests compare that with updating
# every array on its own (the implicit style), and check each way out of the grouped path.
# With FLUXLITE_REFERENCE=1 nothing is grouped, and the same comparisons hold for the
# reference path: run the suite both ways.

MIXED = {"W": ((3, 4), np.float64), "b": ((4,), np.float64), "s": ((), np.float64),
         "V": ((2, 3), np.float32), "c": ((2,), np.float32)}


def mixed_model(seed=0):
    rng = np.random.default_rng(seed)
    model = {k: rng.standard_normal(shape).astype(dtype) for k, (shape, dtype) in MIXED.items()}
    model["V"] = np.ascontiguousarray(model["V"].T).T  # a parameter that is not contiguous
    return model


def mixed_grads(seed):
    rng = np.random.default_rng(100 + seed)
    return {k: rng.standard_normal(shape).astype(dtype) for k, (shape, dtype) in MIXED.items()}


def one_at_a_time(rule, model, steps, grads=mixed_grads, skip=lambda step, k: False):
    """The same training with every array updated on its own (implicit style, a fresh rule)."""
    rule = rule._copy()
    model = {k: v.copy() for k, v in model.items()}
    for step in range(steps):
        for k, g in grads(step).items():
            if not skip(step, k):
                update_(rule, model[k], g)
    return model


def grouped(state, k):
    """True when Leaf `k`'s state is a view into the flat state it shares with others."""
    return state[k].group is not None


@pytest.mark.parametrize("name, rule, reference", CASES, ids=[c[0] for c in CASES])
def test_grouped_update_gives_the_same_numbers_as_one_array_at_a_time(name, rule, reference):
    model = mixed_model()
    want = one_at_a_time(rule, model, 6)
    state = setup(rule._copy(), model)
    assert grouped(state, "W") == grouped(state, "c") == (name != "ClipNorm" and not REFERENCE)
    for step in range(6):
        update_(state, model, mixed_grads(step))
    for k in MIXED:
        assert model[k].dtype == want[k].dtype
        np.testing.assert_array_equal(model[k], want[k], err_msg=f"{name}: array {k}")


def test_grouped_state_prints_and_reads_like_one_leaf_per_array():
    model = mixed_model()
    state = setup(Adam(), model)
    assert grouped(state, "W") == grouped(state, "b") == (not REFERENCE)
    if not REFERENCE:
        assert state["W"].group is state["b"].group is not state["V"].group  # one per dtype
    m, v, betas = state["s"].state
    assert m.shape == v.shape == () and betas == (0.9, 0.999)
    assert repr(state["c"]) == ("Leaf(Adam(0.001, (0.9, 0.999), 1.0e-8), "
                                "(Float32[0.0, 0.0], Float32[0.0, 0.0], (0.9, 0.999)))")
    update_(state, model, mixed_grads(0))
    assert grouped(state, "W") == grouped(state, "c") == (not REFERENCE)  # the group survives
    assert state["W"].state[2] == pytest.approx((0.81, 0.998001))
    assert state["W"].state[0].shape == (3, 4)


def test_grouped_update_falls_back_one_by_one_and_stays_right():
    # A frozen Leaf, a missing gradient, a partly adjusted rule and a replaced state each take
    # the one-by-one path; the numbers must be those of updating every array on its own.
    rule = Adam(0.05)
    model = mixed_model(1)
    state = setup(rule, model)

    def grads(step):
        g = mixed_grads(step)
        if step == 2:
            g["b"] = None
        return g

    def skip(step, k):
        return (step == 1 and k == "W") or (step == 2 and k == "b")

    want = one_at_a_time(rule, model, 5, grads, skip)
    for step in range(5):
        if step == 1:
            freeze_(state["W"])
        update_(state, model, grads(step))
        if step == 1:
            thaw_(state["W"])
    for k in MIXED:
        np.testing.assert_array_equal(model[k], want[k], err_msg=f"array {k}")

    model, ref_model = mixed_model(2), mixed_model(2)
    state = setup(Momentum(0.1, 0.5), model)
    update_(state, model, mixed_grads(0))
    adjust_(state["W"], 0.3)  # W alone gets a new rule: the group cannot apply one rule
    # The reference: one Leaf per array, made by hand, so no group.
    ref = {k: Leaf(Momentum(0.1, 0.5), Momentum().init(v)) for k, v in ref_model.items()}

    def ref_update(step):
        for k, g in mixed_grads(step).items():
            ref[k].state, s = ref[k].rule.apply(ref[k].state, ref_model[k], g)
            ref_model[k] -= s

    ref_update(0)
    ref["W"].rule = Momentum(0.3, 0.5)
    for step in range(1, 4):
        if step == 2:  # a fresh state for b, put there by hand, disbands the group
            state["b"].state = np.zeros(4)
            ref["b"].state = np.zeros(4)
            assert not grouped(state, "W")
            adjust_(state, 0.3)
            for leaf in ref.values():
                leaf.rule = Momentum(0.3, 0.5)
        update_(state, model, mixed_grads(step))
        ref_update(step)
    for k in MIXED:
        np.testing.assert_array_equal(model[k], ref_model[k], err_msg=f"array {k}")


SWITCH_SCRIPT = """
import json, numpy as np, fluxlite as fl
rng = np.random.default_rng(0)
model = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4),
         "V": rng.standard_normal((2, 2)).astype(np.float32), "c": np.zeros(2, np.float32)}
state = fl.setup(fl.Adam(0.05), model)
grouped = [state[k].group is not None for k in model]
for step in range(4):
    r = np.random.default_rng(10 + step)
    fl.update_(state, model, {k: r.standard_normal(v.shape).astype(v.dtype) for k, v in model.items()})
print(json.dumps({"grouped": grouped, "model": {k: v.tobytes().hex() for k, v in model.items()}}))
"""


def run_switched(value):
    """SWITCH_SCRIPT's output in a fresh process with FLUXLITE_REFERENCE set to `value` (or unset)."""
    import json
    env = {k: v for k, v in os.environ.items() if k != "FLUXLITE_REFERENCE"}
    if value is not None:
        env["FLUXLITE_REFERENCE"] = value
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", SWITCH_SCRIPT], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_reference_switch_turns_grouping_off_and_the_numbers_stay_the_same():
    fast, reference = run_switched(None), run_switched("1")
    assert fast["grouped"] == [True] * 4
    assert reference["grouped"] == [False] * 4
    assert fast["model"] == reference["model"]  # bit for bit


def test_a_copied_state_tree_trains_like_the_original():
    import copy
    model = mixed_model(3)
    state = setup(AdaBelief(0.02), model)
    update_(state, model, mixed_grads(0))
    twin_model, twin_state = copy.deepcopy(model), copy.deepcopy(state)
    assert twin_state["W"].group is None  # a copy keeps its own state, without a group
    np.testing.assert_array_equal(twin_state["W"].state[1], state["W"].state[1])
    for step in range(1, 4):
        update_(state, model, mixed_grads(step))
        update_(twin_state, twin_model, mixed_grads(step))
    for k in MIXED:
        np.testing.assert_array_equal(model[k], twin_model[k])


# --------------------------------------------------------------------------- no gradient at all

def silent_gradient(f, *args):
    """fl.gradient(f, *args) without its own warnings (these tests are about update_'s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fl.gradient(f, *args)


def no_gradient_cases():
    """(name, rule or state, parameter(s), all-None gradient, the arrays it must leave alone)."""
    W, b = fl.rand(2, 3), fl.rand(2)
    ps = fl.params(W, b)
    dropped = silent_gradient(lambda: np.sum(np.asarray(W)) + np.sum(np.array(b)), ps)
    model = {"W": fl.rand(2, 3), "b": fl.rand(2), "act": np.tanh}
    tree = silent_gradient(lambda m: np.sum(np.asarray(m["W"])), model)[0]
    return [
        ("one array, g=None", Adam(0.1), W, None, [W]),
        ("Params, every gradient None", Adam(0.1), ps, dropped, [W, b]),
        ("Params, grads None", Adam(0.1), ps, None, [W, b]),
        ("model, gradient None", setup(Adam(0.1), model), model, tree, [model["W"], model["b"]]),
        ("model, tree of Nones", setup(Adam(0.1), model), model,
         {"W": None, "b": None, "act": None}, [model["W"], model["b"]]),
    ]


@pytest.mark.parametrize("case", range(5), ids=[c[0] for c in no_gradient_cases()])
def test_update_warns_once_and_changes_nothing_when_every_gradient_is_none(case):
    name, opt, x, g, arrays = no_gradient_cases()[case]
    before = [a.copy() for a in arrays]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        update_(opt, x, g)
    assert [w.category for w in caught] == [fl.NoGradientWarning], name
    warning = caught[0]
    assert warning.filename == __file__  # it points at the line that called update_
    text = str(warning.message)
    assert "changed nothing" in text and "np.asarray" in text and "buffer" in text
    for a, a0 in zip(arrays, before):
        np.testing.assert_array_equal(a, a0)
    if isinstance(opt, AbstractRule):
        assert len(opt._implicit) == 0  # no optimiser state was made either
    else:
        assert all(np.all(part == 0) for leaf in (opt["W"], opt["b"]) for part in leaf.state[:2])


def test_update_is_silent_about_parameters_the_loss_does_not_use():
    fl.seed(6)
    W, b, unused = fl.rand(2, 3), fl.rand(2), fl.rand(4)
    model = {"W": fl.rand(2, 3), "b": fl.rand(2), "unused": fl.rand(4)}
    x = np.ones(3)
    grads = fl.gradient(lambda: np.sum(W @ x + b), fl.params(W, b, unused))
    g = fl.gradient(lambda m: np.sum(m["W"] @ x + m["b"]), model)[0]
    assert grads[unused] is None and g["unused"] is None
    kept, kept_model = unused.copy(), model["unused"].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        update_(Adam(0.1), fl.params(W, b, unused), grads)
        update_(setup(Adam(0.1), model), model, g)
    np.testing.assert_array_equal(unused, kept)
    np.testing.assert_array_equal(model["unused"], kept_model)


def test_params_update_checks_every_gradient_before_changing_anything():
    W, b = fl.rand(2, 3), fl.rand(2)
    ps = fl.params(W, b)
    grads = fl.Grads(ps, [np.ones((2, 3)), np.ones(3)])  # b's gradient has the wrong shape
    W0 = W.copy()
    opt = Adam(0.1)
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        update_(opt, ps, grads)
    np.testing.assert_array_equal(W, W0)  # W, listed first, was not changed either
    assert len(opt._implicit) == 0


# --------------------------------------------------------------------------- errors

def test_structure_mismatch_names_the_path():
    fl.seed(5)
    model = Stack(Affine(3, 4), Affine(4, 2))
    state = setup(Adam(), model)
    g = fl.gradient(lambda m: loss(m, *data()), model)[0]
    g["layers"][1]["weight"] = np.ones((4, 2))
    before = model.layers[0].weight.copy()
    with pytest.raises(ValueError, match=r"layers\[1\]\.weight has shape \(4, 2\).*\(2, 4\)"):
        update_(state, model, g)
    np.testing.assert_array_equal(model.layers[0].weight, before)  # nothing was changed
    g["layers"] = g["layers"][:1]
    with pytest.raises(TypeError, match=r"at layers .*list or tuple of 2"):
        update_(state, model, g)
    with pytest.raises(TypeError, match=r"at layers\[0\].*Affine.*dict of attribute"):
        update_(state, model, {"layers": [np.ones(3), None]})
    with pytest.raises(KeyError, match="'wieght'"):
        update_(state, model, {"layers": [{"wieght": np.ones((4, 3))}, None]})


def test_model_changed_after_setup_is_reported():
    model = Stack(Affine(2, 2))
    state = setup(Descent(), model)
    model.layers.append(Affine(2, 2))
    g = {"layers": [None, None]}
    with pytest.raises(ValueError, match="changed after fl.setup"):
        update_(state, model, g)


def test_implicit_shape_mismatch_is_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match=r"shape \(5,\).*shape \(2, 5\)"):
        update_(Descent(), fl.rand(2, 5), np.ones(5))


def test_helpful_errors_for_common_mistakes():
    W = fl.rand(2)
    with pytest.raises(TypeError, match=r"fl\.Adam\(\) with brackets"):
        update_(Adam, W, np.ones(2))
    with pytest.raises(TypeError, match="fl.setup"):
        update_(Adam(), {"W": W}, {"W": np.ones(2)})
    with pytest.raises(TypeError, match=r"\[0\]"):
        model = {"W": W}
        update_(setup(Adam(), model), model, fl.gradient(lambda m: np.sum(m["W"]), model))
    with pytest.raises(TypeError, match="rule first, then the model"):
        setup({"W": W}, Adam())
    with pytest.raises(TypeError, match=r"fl\.setup\(fl\.Adam\(\), model\)"):
        setup(Adam, {"W": W})
    with pytest.raises(TypeError, match="floating-point"):
        update_(Momentum(), np.arange(3), np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        update_(Descent(), np.arange(3), np.ones(3))


def test_hyperparameters_are_checked_when_set():
    opt = Adam()
    with pytest.raises(AttributeError, match="'eta'"):
        opt.lr = 0.1  # PyTorch's name: Flux says eta
    with pytest.raises(TypeError, match=r"pair .*\(0\.9, 0\.999\)"):
        Adam(0.001, 0.9, 0.999)
    with pytest.raises(ValueError, match="cannot be negative"):
        Descent(-0.1)
    with pytest.raises(TypeError, match="number"):
        opt.eta = "0.01"
    with pytest.raises(TypeError, match="brackets"):
        OptimiserChain(ClipGrad, Adam())
    opt.eta = np.float32(0.5)
    assert type(opt.eta) is float and repr(opt) == "Adam(0.5, (0.9, 0.999), 1.0e-8)"
