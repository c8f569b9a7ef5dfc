"""Threads see plain arrays: a dashboard can train in the background while the notebook works.

A gradient call switches the model's parameters to the traced class in place, and that is
visible from every thread. So:

* a thread that is not recording (the notebook, while the dashboard trains) must see plain
  arrays and correct values from a forward pass or any NumPy call, and must be stopped, with
  a clear error, from changing an array in place while another thread differentiates it;
* two threads differentiating one model both get correct gradients (the explicit style
  works on a snapshot of arrays another thread is tracing), or one gets a clear error (the
  implicit style, whose loss reads the arrays themselves);
* whatever happens, no parameter is left traced.

The deterministic tests hold one thread inside its loss with an Event, so the moment is
certain; the stress tests then let the threads run freely, switching often.
"""
import sys
import threading

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.autodiff.tracer import Tracked


def _model():
    fl.seed(3)
    return fl.Chain(fl.Dense(4, 8, fl.relu), fl.Dense(8, 1))


X = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
Y = np.random.default_rng(1).standard_normal((1, 16)).astype(np.float32)


def _loss(m):
    return fl.mse(m(X), Y)


def _params(model):
    return list(fl.params(model))


def _assert_all_plain(model):
    for p in _params(model):
        assert type(p) is fl.Param


class _Held:
    """Run ``fl.gradient`` in a thread whose loss waits inside, with the model traced."""

    def __init__(self, call):
        self.inside, self.go = threading.Event(), threading.Event()
        self.result, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)

    def wait_here(self):
        self.inside.set()
        assert self.go.wait(10), "the test never released the thread"

    def _run(self, call):
        try:
            self.result = call(self)
        except Exception as e:  # reported to the test
            self.error = e

    def __enter__(self):
        self.thread.start()
        assert self.inside.wait(10), "the thread never reached its loss"
        return self

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        return False


def _explicit(model):
    def call(held):
        def loss(m):
            out = _loss(m)
            held.wait_here()
            return out
        return fl.gradient(loss, model)[0]
    return call


def _implicit(model):
    ps = fl.params(model)

    def call(held):
        def loss():
            out = _loss(model)
            held.wait_here()
            return out
        return fl.gradient(loss, ps)
    return call


# --------------------------------------------------------------------------- deterministic

@pytest.mark.parametrize("style", [_explicit, _implicit], ids=["explicit", "implicit"])
def test_a_forward_pass_from_another_thread_sees_plain_arrays_and_right_values(style):
    model = _model()
    want = model(X)
    W = model[0].weight
    with _Held(style(model)) as held:
        assert type(W) is Tracked  # the other thread is tracing it right now
        out = model(X)
        assert type(out) is np.ndarray and np.array_equal(out, want)
        assert fl.within_gradient() is False
        for result in [W * 2, np.sum(W), np.sort(np.ravel(W)), np.tanh(W), W @ X, W.T,
                       W[0], np.fft.fft(W[0]), W.copy()]:
            assert type(result) in (np.ndarray, np.float32, np.complex64), type(result)
        assert float(np.sum(W)) == float(np.sum(np.array(W)))  # float() is fine here
        assert W.tolist() == np.array(W).tolist()
    assert held.error is None
    _assert_all_plain(model)


@pytest.mark.parametrize("change", [
    lambda W: W.__iadd__(1.0), lambda W: W.__setitem__(0, 0.0), lambda W: W.fill(0.0),
    lambda W: np.multiply(W, 2, out=W)], ids=["W += 1", "W[0] = 0", "W.fill(0)", "out=W"])
def test_changing_an_array_in_place_while_another_thread_differentiates_it_is_refused(change):
    model = _model()
    W = model[0].weight
    before = np.array(W)
    with _Held(_explicit(model)) as held:
        with pytest.raises(fl.InPlaceError, match="another thread"):
            change(W)
        np.testing.assert_array_equal(W, before)
    assert held.error is None
    change(W)  # afterwards it is an ordinary array again
    assert not np.array_equal(W, before)


@pytest.mark.parametrize("style", ["implicit", "implicit Params", "explicit"])
def test_an_optimiser_step_on_a_model_another_thread_differentiates_is_refused(style):
    model = _model()
    before = [np.array(p) for p in _params(model)]
    ps = fl.params(model)
    grads = fl.gradient(lambda: _loss(model), ps)
    state = fl.setup(fl.Adam(0.1), model)
    opt = fl.Adam(0.1)
    step = {"implicit": lambda: fl.update_(opt, model[0].weight, grads[model[0].weight]),
            "implicit Params": lambda: fl.update_(opt, ps, grads),
            "explicit": lambda: fl.update_(state, model, fl.gradient(_loss, model)[0])}[style]
    with _Held(_explicit(model)):
        with pytest.raises(fl.InPlaceError, match="another thread"):
            step()
    for p, b in zip(_params(model), before):  # nothing changed, state included: the next step
        np.testing.assert_array_equal(p, b)   # from here is the first
    step()
    assert any(not np.array_equal(p, b) for p, b in zip(_params(model), before))


def test_an_optimiser_step_inside_the_loss_is_refused():
    W = fl.param([1.0, 2.0])
    with pytest.raises(fl.InPlaceError, match="In-place change of a traced array"):
        fl.gradient(lambda: np.sum(fl.update_(fl.Descent(0.1), W, np.ones(2))), fl.params(W))
    np.testing.assert_array_equal(W, [1.0, 2.0])


def test_two_threads_differentiating_one_model_explicitly_both_get_the_right_gradient():
    model = _model()
    want = fl.gradient(_loss, model)[0]
    with _Held(_explicit(model)) as held:
        mine = fl.gradient(_loss, model)[0]  # the arrays are traced by the other thread now
        _assert_all_plain_except_held(model)
    assert held.error is None
    for got in (mine, held.result):
        np.testing.assert_allclose(got["layers"][0]["weight"], want["layers"][0]["weight"])
        np.testing.assert_allclose(got["layers"][1]["bias"], want["layers"][1]["bias"])
    _assert_all_plain(model)


def _assert_all_plain_except_held(model):
    assert all(type(p) is Tracked for p in _params(model))  # still the other thread's


def test_two_threads_differentiating_one_model_implicitly_one_gets_a_clear_error():
    model = _model()
    ps = fl.params(model)
    want = fl.gradient(lambda: _loss(model), ps)
    with _Held(_implicit(model)) as held:
        with pytest.raises(fl.TracingError, match="another thread.*pause the dashboard"):
            fl.gradient(lambda: _loss(model), ps)
        _assert_all_plain_except_held(model)
    assert held.error is None
    for p in ps:
        np.testing.assert_allclose(held.result[p], want[p])
    _assert_all_plain(model)
    fl.gradient(lambda: _loss(model), ps)  # and the next call works


def test_a_thread_that_is_recording_still_records_only_its_own_tape():
    model = _model()
    with _Held(_explicit(model)):
        g, = fl.gradient(lambda x: np.sum(model(x)), X)  # traces x, reads the held model
    assert type(g) is np.ndarray and g.shape == X.shape and np.all(np.isfinite(g))


# --------------------------------------------------------------------------- stress

@pytest.fixture
def switch_often():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def _in_thread(n, step, errors, counts):
    def run():
        for _ in range(n):
            try:
                step()
                counts["ok"] += 1
            except fl.TracingError as e:
                assert "another thread" in str(e)
                counts["refused"] += 1
            except Exception as e:  # anything else is a failure
                errors.append(e)
                return
    return threading.Thread(target=run, daemon=True)


@pytest.mark.parametrize("style", ["explicit", "implicit"])
def test_forward_passes_stay_plain_while_a_thread_differentiates_freely(style, switch_often):
    model = _model()
    want = model(X)
    ps = fl.params(model)
    step = ((lambda: fl.gradient(_loss, model)) if style == "explicit"
            else (lambda: fl.gradient(lambda: _loss(model), ps)))
    errors, counts = [], {"ok": 0, "refused": 0}
    t = _in_thread(300, step, errors, counts)
    traced_seen, bad = 0, []
    t.start()
    while t.is_alive():
        traced_seen += type(model[0].weight) is Tracked
        out = model(X)
        if type(out) is not np.ndarray or not np.array_equal(out, want):
            bad.append((type(out), np.max(np.abs(np.asarray(out) - want))))
    t.join()
    assert not errors, errors
    assert not bad
    assert traced_seen > 0, "the threads never overlapped: the test proved nothing"
    assert counts["ok"] == 300
    _assert_all_plain(model)


def test_two_threads_training_on_gradients_of_one_model_never_leave_it_traced(switch_often):
    model = _model()
    ps = fl.params(model)
    want = fl.gradient(lambda: _loss(model), ps)
    errors, counts = [], {"ok": 0, "refused": 0}

    def check(grads):
        for p in ps:
            np.testing.assert_allclose(grads[p], want[p], rtol=1e-6)

    implicit = _in_thread(200, lambda: check(fl.gradient(lambda: _loss(model), ps)), errors, counts)
    explicit = _in_thread(200, lambda: fl.gradient(_loss, model), errors, counts)
    implicit.start(), explicit.start()
    implicit.join(), explicit.join()
    assert not errors, errors
    assert counts["ok"] + counts["refused"] == 400 and counts["ok"] >= 200
    _assert_all_plain(model)
