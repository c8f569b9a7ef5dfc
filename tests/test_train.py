"""train_ (both styles), stop/skip, callbacks, the non-finite check, throttle and epochs."""
import sys
import time
import warnings

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.layers import Chain, Dense
from fluxlite.losses import mse
from fluxlite.optimise import Adam, Descent, Momentum, setup, update_
from fluxlite.optimise.train import (SkipException, StopException, epochs, skip, stop, throttle,
                                     train_)


# --------------------------------------------------------------------------- the tutorial's problem

def generate_data(n, seed=0):
    """The tutorial's generate_data: y = W0 x + b0 + noise, with x in R^5 and y in R^2."""
    rng = np.random.default_rng(seed)
    W0, b0 = rng.random((2, 5)), rng.random(2)
    x = [rng.random(5) for _ in range(n)]
    y = [W0 @ xi + b0 + rng.random(2) for xi in x]
    return x, y


def implicit_problem(seed=0):
    x, y = generate_data(10, seed)
    fl.seed(seed)
    W, b = fl.rand(2, 5), fl.rand(2)

    def loss(xi, yi):
        return np.sum((yi - (W @ xi + b)) ** 2)

    def total():
        return sum(float(loss(xi, yi)) for xi, yi in zip(x, y))

    return x, y, W, b, loss, total


def mloss(m, xi, yi):
    return np.sum((yi - (m["W"] @ xi + m["b"])) ** 2)


def explicit_problem(seed=0):
    x, y = generate_data(10, seed)
    fl.seed(seed)
    model = {"W": fl.rand(2, 5), "b": fl.rand(2), "note": "linear"}
    return x, y, model


# --------------------------------------------------------------------------- implicit style

def test_implicit_train_decreases_the_tutorial_loss():
    x, y, W, b, loss, total = implicit_problem()
    losses = [total()]
    opt = Descent(0.05)
    for _ in range(100):
        train_(loss, fl.params(W, b), zip(x, y), opt)
        losses.append(total())
    assert losses[-1] < 0.2 * losses[0]
    assert all(b_ <= a + 1e-12 for a, b_ in zip(losses[10:], losses[11:]))  # settles monotonically


def test_implicit_train_is_the_tutorial_inner_loop():
    x, y, W, b, loss, _ = implicit_problem()
    W2, b2 = fl.param(W), fl.param(b)

    def loss2(xi, yi):
        return np.sum((yi - (W2 @ xi + b2)) ** 2)

    opt, opt2 = Momentum(0.01), Momentum(0.01)
    for _ in range(3):
        train_(loss, fl.params(W, b), zip(x, y), opt)
        for xi, yi in zip(x, y):                       # the tutorial's loop, written out
            grads = fl.gradient(lambda: loss2(xi, yi), fl.params(W2, b2))
            for p in (W2, b2):
                update_(opt2, p, grads[p])
    np.testing.assert_allclose(W, W2, rtol=1e-14)
    np.testing.assert_allclose(b, b2, rtol=1e-14)


def test_train_returns_none_like_flux():
    x, y, W, b, loss, _ = implicit_problem()
    assert train_(loss, fl.params(W, b), zip(x, y), Descent(0.01)) is None


def test_a_tuple_item_is_splatted_and_anything_else_is_passed_whole():
    w = fl.param([1.0])
    calls = []

    def loss(*args):
        calls.append(args)
        return np.sum(w * 0.0)

    pair = (np.ones(2), np.zeros(2))
    arr = np.arange(3.0)
    lst = [np.ones(1), np.ones(1)]
    train_(loss, fl.params(w), [pair, arr, lst, 7.0], Descent(0.1))
    assert [len(c) for c in calls] == [2, 1, 1, 1]
    assert calls[0][0] is pair[0] and calls[0][1] is pair[1]
    assert calls[1][0] is arr and calls[2][0] is lst and calls[3][0] == 7.0


def test_callbacks_run_after_each_update_in_order():
    x, y, W, b, loss, _ = implicit_problem()
    seen = []
    cb1 = lambda: seen.append(("first", W.copy()))  # noqa: E731
    cb2 = lambda: seen.append(("second", W.copy()))  # noqa: E731
    W_before = W.copy()
    train_(loss, fl.params(W, b), zip(x[:3], y[:3]), Descent(0.05), cb=[cb1, cb2])
    assert [s[0] for s in seen] == ["first", "second"] * 3
    assert not np.array_equal(seen[0][1], W_before)  # the first callback already sees step 1
    np.testing.assert_array_equal(seen[-1][1], W)


def test_a_single_callback_function_is_accepted():
    x, y, W, b, loss, _ = implicit_problem()
    count = []
    train_(loss, fl.params(W, b), zip(x, y), Descent(0.05), cb=lambda: count.append(1))
    assert len(count) == 10


def test_stop_in_a_callback_ends_training_after_that_step():
    x, y, W, b, loss, _ = implicit_problem()
    W2, b2 = fl.param(W), fl.param(b)
    steps = []

    def cb():
        steps.append(1)
        if len(steps) == 4:
            stop()

    train_(loss, fl.params(W, b), zip(x, y), Descent(0.05), cb=cb)
    assert len(steps) == 4
    loss2 = lambda xi, yi: np.sum((yi - (W2 @ xi + b2)) ** 2)  # noqa: E731
    train_(loss2, fl.params(W2, b2), list(zip(x, y))[:4], Descent(0.05))
    np.testing.assert_allclose(W, W2, rtol=1e-14)


def test_stop_inside_the_loss_ends_training_before_that_update():
    w = fl.param([0.0])
    seen = []

    def loss(xi):
        seen.append(xi)
        if xi == 3:
            stop()
        return np.sum((w - xi) ** 2)

    train_(loss, fl.params(w), [1.0, 2.0, 3.0, 4.0], Descent(0.5))
    assert seen == [1.0, 2.0, 3.0]
    assert float(w[0]) == pytest.approx(2.0)  # 0 -> 1 -> 2: steps 1 and 2 only


def test_skip_inside_the_loss_drops_only_that_update():
    w = fl.param([0.0])

    def loss(xi):
        if xi > 100:
            skip()
        return np.sum((w - xi) ** 2)

    train_(loss, fl.params(w), [1.0, 1000.0, 3.0], Descent(0.5))
    assert float(w[0]) == pytest.approx(3.0)  # 0 -> 1, outlier skipped, 1 -> 3


def test_skip_in_a_callback_skips_the_later_callbacks_of_that_step():
    w = fl.param([0.0])
    log = []

    def first():
        log.append("first")
        if len(log) == 1:
            skip()

    train_(lambda xi: np.sum((w - xi) ** 2), fl.params(w), [1.0, 1.0], Descent(0.25),
           cb=[first, lambda: log.append("second")])
    assert log == ["first", "first", "second"]
    assert float(w[0]) == pytest.approx(0.75)  # both updates happened: 0 -> 0.5 -> 0.75


def test_stop_and_skip_raise_their_exceptions():
    with pytest.raises(StopException):
        stop()
    with pytest.raises(SkipException):
        skip()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_implicit_non_finite_loss_raises_naming_the_step_before_updating(bad):
    w = fl.param([0.0])
    w_after_two = []

    def loss(xi):
        return np.sum((w - xi) ** 2) * (bad if xi == 3 else 1.0)

    with pytest.raises(ValueError) as err:
        train_(loss, fl.params(w), [1.0, 2.0, 3.0, 4.0], Descent(0.5),
               cb=lambda: w_after_two.append(float(w[0])))
    msg = str(err.value)
    assert "step 3" in msg and str(float(bad)) in msg
    assert "learning rate" in msg and "values after step 2" in msg
    assert float(w[0]) == pytest.approx(w_after_two[-1])  # step 3 did not change w
    assert len(w_after_two) == 2


# --------------------------------------------------------------------------- explicit style

def test_explicit_train_decreases_the_tutorial_loss():
    x, y, model = explicit_problem()
    total = lambda: sum(float(mloss(model, xi, yi)) for xi, yi in zip(x, y))  # noqa: E731
    before = total()
    W_id = id(model["W"])
    state = setup(Adam(0.02), model)
    for _ in range(100):
        train_(mloss, model, zip(x, y), state)
    assert total() < 0.2 * before
    assert id(model["W"]) == W_id and model["note"] == "linear"  # changed in place


def test_explicit_train_is_the_gradient_and_update_loop():
    x, y, model = explicit_problem()
    model2 = {"W": fl.param(model["W"]), "b": fl.param(model["b"]), "note": "linear"}
    state, state2 = setup(Adam(0.01), model), setup(Adam(0.01), model2)
    for _ in range(2):
        train_(mloss, model, zip(x, y), state)
        for xi, yi in zip(x, y):
            g = fl.gradient(lambda m: mloss(m, xi, yi), model2)[0]
            update_(state2, model2, g)
    np.testing.assert_allclose(model["W"], model2["W"], rtol=1e-14)
    np.testing.assert_allclose(model["b"], model2["b"], rtol=1e-14)


def test_explicit_train_works_with_layers():
    x, y = generate_data(32, seed=3)
    X, Y = np.stack(x, axis=1).astype(np.float32), np.stack(y, axis=1).astype(np.float32)
    fl.seed(3)
    model = Chain(Dense(5, 8, fl.relu), Dense(8, 2))
    loss = lambda m, a, b: mse(m(a), b)  # noqa: E731
    before = float(loss(model, X, Y))
    state = setup(Adam(0.01), model)
    batches = [(X[:, i:i + 8], Y[:, i:i + 8]) for i in range(0, 32, 8)]
    for _ in range(100):
        train_(loss, model, batches, state)
    assert float(loss(model, X, Y)) < 0.1 * before
    assert model.layers[0].weight.dtype == np.float32


def test_explicit_non_finite_loss_raises_naming_the_step_and_the_value():
    x, y, model = explicit_problem()
    W_before = model["W"].copy()
    data = list(zip(x, y))
    data[0] = (x[0] * np.nan, y[0])
    with pytest.raises(ValueError, match=r"(?s)loss is nan at step 1 .*lower the learning rate.*check the data"):
        train_(mloss, model, data, setup(Descent(0.01), model))
    np.testing.assert_array_equal(model["W"], W_before)


def test_explicit_stop_skip_and_callbacks_work_too():
    w = {"w": fl.param([0.0])}
    log = []

    def loss(m, xi):
        if xi > 100:
            skip()
        return np.sum((m["w"] - xi) ** 2)

    def cb():
        log.append(float(w["w"][0]))
        if len(log) == 2:
            stop()

    train_(loss, w, [1.0, 1000.0, 3.0, 5.0], setup(Descent(0.5), w), cb=cb)
    assert log == pytest.approx([1.0, 3.0])


def test_a_stateful_rule_instead_of_a_state_tree_works_but_warns():
    x, y, model = explicit_problem()
    with pytest.warns(UserWarning, match=r"fl.setup\(Adam"):
        train_(mloss, model, zip(x, y), Adam(0.01))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_(mloss, model, zip(x, y), Descent(0.01))  # no state to lose: no warning


def test_implicit_style_refuses_a_state_tree():
    x, y, W, b, loss, _ = implicit_problem()
    with pytest.raises(TypeError, match="implicit style"):
        train_(loss, fl.params(W, b), zip(x, y), setup(Descent(), {"W": W}))


def test_callbacks_must_be_functions():
    x, y, W, b, loss, _ = implicit_problem()
    with pytest.raises(TypeError, match="cb must be a function"):
        train_(loss, fl.params(W, b), zip(x, y), Descent(), cb=[print, "not a function"])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_a_loss_with_the_wrong_arguments_is_told_how_it_was_called():
    x, y, W, b, loss, _ = implicit_problem()
    with pytest.raises(TypeError) as err:
        train_(lambda xi: np.sum(W @ xi), fl.params(W, b), zip(x, y), Descent())
    assert "train_ called loss(array(5,), array(2,))" in "\n".join(err.value.__notes__)


# --------------------------------------------------------------------------- no gradient at all

def no_gradient_warnings(caught):
    return [w for w in caught if issubclass(w.category, fl.NoGradientWarning)]


@pytest.mark.parametrize("style", ["implicit", "explicit"])
def test_train_warns_once_per_call_when_the_loss_drops_the_trace(style):
    x, y, model = explicit_problem()
    before = {k: model[k].copy() for k in ("W", "b")}
    W, b = model["W"], model["b"]

    def loss(xi, yi):  # np.asarray and np.array give plain copies: the gradient loses W and b
        return np.sum((yi - (np.asarray(W) @ xi + np.array(b))) ** 2)

    def model_loss(m, xi, yi):
        return np.sum((yi - (np.asarray(m["W"]) @ xi + np.array(m["b"]))) ** 2)

    if style == "implicit":
        opt = Adam(0.1)
        args = (loss, fl.params(W, b), zip(x, y), opt)
    else:
        opt = setup(Adam(0.1), model)
        args = (model_loss, model, zip(x, y), opt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_(*args)                                    # 10 steps, none with a gradient
    found = no_gradient_warnings(caught)
    assert len(found) == 1  # once for the call: not once per step, nor also from fl.gradient
    assert found[0].filename == __file__  # it points at the line that called train_
    text = str(found[0].message)
    assert "at step 1 " in text and "np.asarray" in text and "once per call" in text
    for k in before:
        np.testing.assert_array_equal(model[k], before[k])
    if style == "implicit":
        assert len(opt._implicit) == 0  # no optimiser state made for a step never taken
    else:
        assert opt["W"].state[2] == (0.9, 0.999)  # Adam's step count did not move


def test_train_names_the_first_step_without_a_gradient_and_trains_on_the_others():
    w = fl.param([0.0])
    seen = []

    def loss(xi):
        if xi < 0:  # a data item on which the loss loses track of w
            return np.sum((np.asarray(w) - xi) ** 2)
        return np.sum((w - xi) ** 2)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_(loss, fl.params(w), [1.0, 1.0, -5.0, 1.0, -5.0], Descent(0.25),
               cb=lambda: seen.append(float(w[0])))
    found = no_gradient_warnings(caught)
    assert len(found) == 1 and "at step 3 " in str(found[0].message)
    assert seen == pytest.approx([0.5, 0.75, 0.75, 0.875, 0.875])  # steps 3 and 5 change nothing
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        train_(loss, fl.params(w), [-5.0], Descent(0.25))
    assert len(no_gradient_warnings(again)) == 1  # a new call warns again


@pytest.mark.parametrize("style", ["implicit", "explicit"])
def test_train_is_silent_when_the_loss_ignores_only_some_parameters(style):
    x, y, model = explicit_problem()
    b0 = model["b"].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        if style == "implicit":
            W, b = model["W"], model["b"]
            train_(lambda xi, yi: np.sum((yi - W @ xi) ** 2), fl.params(W, b), zip(x, y),
                   Adam(0.1))
        else:
            train_(lambda m, xi, yi: np.sum((yi - m["W"] @ xi) ** 2), model, zip(x, y),
                   setup(Adam(0.1), model))
    np.testing.assert_array_equal(model["b"], b0)  # b has no gradient: left alone


# --------------------------------------------------------------------------- throttle

class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def run(throttled, clock, times):
    """Call `throttled(t)` at each time; return the list of times at which f actually ran."""
    for t in times:
        clock.t = t
        throttled(t)


def test_throttle_runs_the_leading_call_and_drops_calls_inside_the_window():
    clock, ran = FakeClock(), []
    f = throttle(ran.append, 10, clock=clock)
    run(f, clock, [0, 1, 5, 9.99, 10, 11, 25])
    assert ran == [0, 10, 25]


def test_throttle_trailing_runs_the_last_call_of_the_window_when_it_closes():
    clock, ran = FakeClock(), []
    f = throttle(ran.append, 10, trailing=True, clock=clock)
    run(f, clock, [0, 3, 7])
    assert ran == [0]                 # 7 is pending until the window [0, 10) closes
    run(f, clock, [12])               # at 10 the pending 7 ran and opened [10, 20); 12 now waits
    assert ran == [0, 7]
    run(f, clock, [25])               # at 20 the pending 12 ran and opened [20, 30); 25 waits
    assert ran == [0, 7, 12]
    run(f, clock, [26])               # replaces 25 as the last call of the window
    f.flush()                         # run it now rather than at the next call
    assert ran == [0, 7, 12, 26]
    run(f, clock, [41])               # [20, 30) had nothing left pending: 41 leads
    assert ran == [0, 7, 12, 26, 41]


def test_throttle_without_leading_runs_the_first_call_at_the_end_of_its_window():
    clock, ran = FakeClock(), []
    f = throttle(ran.append, 10, leading=False, clock=clock)
    run(f, clock, [0, 4])
    assert ran == []
    run(f, clock, [10.5, 11])  # 0 runs when its window closes; 10.5 is inside the next window
    assert ran == [0]
    run(f, clock, [30])
    assert ran == [0]        # 30 opens a fresh window and waits for its end
    f.flush()
    assert ran == [0, 30]


def test_throttle_returns_the_latest_result_and_passes_arguments():
    clock = FakeClock()
    f = throttle(lambda a, b=0: a + b, 1.0, clock=clock)
    assert f(1, b=2) == 3
    clock.t = 0.5
    assert f(10) == 3
    clock.t = 2.0
    assert f(10, b=5) == 15


def test_throttle_uses_time_monotonic_by_default(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    ran = []
    f = throttle(lambda: ran.append(now[0]), 5)
    for t in (100.0, 101.0, 106.0):
        now[0] = t
        f()
    assert ran == [100.0, 106.0]


def test_throttle_checks_its_arguments():
    with pytest.raises(TypeError, match="function"):
        throttle(3, 1)
    with pytest.raises(ValueError, match="seconds"):
        throttle(print, -1)


def test_throttled_callback_in_train():
    x, y, W, b, loss, _ = implicit_problem()
    clock, ran = FakeClock(), []
    cb = throttle(lambda: ran.append(clock.t), 2.5, clock=clock)

    def tick():
        clock.t += 1.0

    train_(loss, fl.params(W, b), zip(x, y), Descent(0.01), cb=[tick, cb])
    assert ran == [1.0, 4.0, 7.0, 10.0]


# --------------------------------------------------------------------------- epochs

def hide_tqdm(monkeypatch):
    for name in ("tqdm", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, name, None)  # `import tqdm.auto` now raises ImportError


def test_epochs_count_from_one():
    assert list(epochs(3, progress=None)) == [1, 2, 3]
    assert list(epochs(0, progress=None)) == []


def test_epochs_prints_one_line_per_epoch_without_tqdm(monkeypatch, capsys):
    hide_tqdm(monkeypatch)
    got = []
    for e in epochs(3):
        got.append(e)
        print("body", e)
    out = capsys.readouterr().out
    assert got == [1, 2, 3]
    assert out.splitlines() == ["Epoch 1/3", "body 1", "Epoch 2/3", "body 2", "Epoch 3/3", "body 3"]


def test_epochs_shows_a_tqdm_bar_when_tqdm_is_installed(capsys):
    pytest.importorskip("tqdm")
    got = list(epochs(4, desc="Training"))
    err = capsys.readouterr().err
    assert got == [1, 2, 3, 4]
    assert "Training" in err and "4/4" in err and "epoch" in err


def test_epochs_bar_without_tqdm_says_how_to_install_it(monkeypatch):
    hide_tqdm(monkeypatch)
    with pytest.raises(ImportError, match="pip install tqdm"):
        epochs(2, progress="bar")


def test_epochs_can_stop_early_and_close_the_bar(capsys):
    pytest.importorskip("tqdm")
    for e in epochs(10, desc="Early"):
        if e == 2:
            break
    err = capsys.readouterr().err
    assert "2/10" in err or "1/10" in err


def test_epochs_checks_its_arguments():
    with pytest.raises(TypeError):
        epochs(2.5)
    with pytest.raises(ValueError):
        epochs(-1)
    with pytest.raises(ValueError, match="progress"):
        epochs(2, progress="fancy")


def test_epochs_with_train_runs_the_tutorial(monkeypatch, capsys):
    hide_tqdm(monkeypatch)
    x, y, W, b, loss, total = implicit_problem()
    losses = []
    for _ in epochs(20, progress="text"):
        train_(loss, fl.params(W, b), zip(x, y), Descent(0.05))
        losses.append(total())
    assert losses[-1] < losses[0]
    assert capsys.readouterr().out.count("Epoch") == 20
