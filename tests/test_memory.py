"""Memory stays flat: the tape is freed after every gradient call.

* 10^5 calls of a tiny function do not grow the process's resident memory;
* tracemalloc sees no allocation from fluxlite surviving a batch of calls of every form
  (explicit, implicit, decorator, structural, nested, withgradient);
* a gradient call leaves no reference cycles behind: ``gc.collect()`` finds nothing after a
  batch of calls made with the collector switched off, and traced temporaries die as soon as
  the call returns (a weak reference to one is dead without any collection).
"""
import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

import fluxlite as fl

CALLS = 10 ** 5


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _every_form():
    """One call of each form of gradient, on tiny inputs."""
    W, b = fl.param([[1.0, 2.0]]), fl.zeros(1)
    x = np.array([0.5, -1.0])
    model = {"W": W, "b": b, "act": np.tanh}
    ps = fl.params(W, b)

    def calls():
        fl.gradient(lambda x: np.sum(x * x), x)
        fl.gradient(lambda x, y: 3 * x ** 2 + 2 * x + y, 2, 2)
        fl.gradient(lambda: np.sum(W @ x + b), ps)

        @fl.gradient(ps)
        def grads():
            return np.sum(np.tanh(W @ x) * b)

        fl.gradient(lambda m: np.sum(m["act"](m["W"] @ x + m["b"])), model)
        fl.withgradient(lambda x: (np.sum(x[[0, 0]] ** 2), "aux"), x)
        fl.gradient(lambda x: fl.gradient(lambda y: y ** 3, x)[0], 2.0)
        fl.gradient(lambda x: np.sum(fl.softmax(x) * np.arange(2.0)), x)
    return calls


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc/self/statm")
def test_a_hundred_thousand_gradient_calls_do_not_grow_memory():
    f = lambda x: x * x  # noqa: E731
    for _ in range(2000):  # warm-up: caches, allocator arenas
        fl.gradient(f, 2.0)
    gc.collect()
    before = _rss_bytes()
    for _ in range(CALLS):
        fl.gradient(f, 2.0)
    gc.collect()
    grown = _rss_bytes() - before
    # one leaked tape entry per call would be tens of megabytes; allow allocator noise only
    assert grown < 2 * 2 ** 20, f"resident memory grew by {grown / 2 ** 20:.1f} MiB over {CALLS} calls"


def test_no_allocation_from_fluxlite_survives_a_batch_of_calls():
    calls = _every_form()
    for _ in range(50):
        calls()
    gc.collect()
    tracemalloc.start(1)
    try:
        start = tracemalloc.take_snapshot()
        for _ in range(300):
            calls()
        gc.collect()
        end = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    mine = [tracemalloc.Filter(True, "*fluxlite*")]
    diff = end.filter_traces(mine).compare_to(start.filter_traces(mine), "lineno")
    grown = sum(d.size_diff for d in diff)
    top = "\n".join(str(d) for d in diff[:5])
    assert grown < 16 * 1024, f"{grown} bytes allocated by fluxlite survived 300 rounds:\n{top}"


def test_gradient_calls_leave_no_reference_cycles():
    calls = _every_form()
    calls()
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            calls()
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0, f"{found} objects were only freed by the cycle collector"


def test_traced_temporaries_die_when_the_call_returns():
    refs = []

    def f(x):
        y = x * 2
        z = np.tanh(y)[1:]
        refs.extend([weakref.ref(x), weakref.ref(y), weakref.ref(z)])
        return np.sum(z)

    gc.disable()
    try:
        g, = fl.gradient(f, np.ones(3))
        assert [r() for r in refs] == [None, None, None]
    finally:
        gc.enable()
    slope = 2 * (1 - np.tanh(2.0) ** 2)
    np.testing.assert_allclose(g, [0.0, slope, slope])


def test_a_parameter_holds_no_tape_after_gradient():
    W = fl.ones(2)
    refs = []

    def loss():
        y = W * 3
        refs.append(weakref.ref(y))
        return np.sum(y)

    gc.disable()
    try:
        fl.gradient(loss, fl.params(W))
        fl.gradient(lambda W: loss(), W)
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()
    assert type(W) is fl.Param
