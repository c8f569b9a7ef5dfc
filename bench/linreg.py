"""Benchmark: the tutorial's per-sample linear-regression loop, fluxlite against hand-written NumPy.

Both versions run the same loop in the same process: 10 samples, one gradient
and one parameter update per sample, 3,000 steps in all. The hand-written
version computes the gradient of the squared error by hand, which is what
fluxlite's `gradient` has to compete with. The script prints both per-step
times and their ratio (target: fluxlite <= 4x), then the time to the first
gradient in a fresh process (``import fluxlite`` plus one `gradient` call;
target < 0.3 s).

    python bench/linreg.py [--steps 3000] [--repeats 7]

Times are CPU times of this process (``time.process_time``), the best of
several repeats, so other programs on the machine disturb them less.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fluxlite as fl  # noqa: E402


def fluxlite_loop(x, y, steps):
    """The tutorial's loop, translated line for line (ROSETTA.md)."""
    fl.seed(0)
    W, b = fl.rand(2, 5), fl.rand(2)

    def predict(x):
        return W @ x + b

    def loss(x, y):
        ypred = predict(x)
        return np.sum((y - ypred) ** 2)

    optimizer = fl.Descent(0.05)
    ps = fl.params(W, b)
    n = len(x)
    for step in range(steps):
        i = step % n
        grads = fl.gradient(lambda: loss(x[i], y[i]), ps)
        for p in (W, b):
            fl.update_(optimizer, p, grads[p])
    return W, b


def numpy_loop(x, y, steps):
    """The same loop with the gradient of the squared error worked out by hand."""
    rng = np.random.default_rng(0)
    W, b = rng.random((2, 5)), rng.random(2)
    lr = 0.05

    def predict(x):
        return W @ x + b

    def loss_gradient(x, y):
        r = predict(x) - y          # d/dŷ sum((y - ŷ)²) = 2(ŷ - y)
        return 2 * np.outer(r, x), 2 * r

    n = len(x)
    for step in range(steps):
        i = step % n
        gW, gb = loss_gradient(x[i], y[i])
        W -= lr * gW
        b -= lr * gb
    return W, b


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def first_gradient_seconds():
    """Wall time of ``import fluxlite`` plus a first gradient, in a fresh interpreter."""
    code = ("import time; t = time.perf_counter(); import fluxlite as fl; "
            "fl.gradient(lambda x, y: 3*x**2 + 2*x + y, 2, 2); print(time.perf_counter() - t)")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 cwd=root, check=True).stdout) for _ in range(5)]
    return min(runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    data = np.random.default_rng(1)
    W0, b0 = data.random((2, 5)), data.random(2)
    x = [data.random(5) for _ in range(10)]
    y = [W0 @ xi + b0 + data.random(2) for xi in x]

    # Both loops must agree before their speed means anything.
    Wf, bf = fluxlite_loop(x, y, 200)
    Wn, bn = numpy_loop(x, y, 200)
    sf = sum(float(np.sum((yi - (Wf @ xi + bf)) ** 2)) for xi, yi in zip(x, y))
    sn = sum(float(np.sum((yi - (Wn @ xi + bn)) ** 2)) for xi, yi in zip(x, y))
    assert abs(sf - sn) < 1e-3 * max(1.0, sn), (sf, sn)

    t_fl = t_np = float("inf")
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        t_fl = min(t_fl, best_time(lambda: fluxlite_loop(x, y, args.steps), 1))
        t_np = min(t_np, best_time(lambda: numpy_loop(x, y, args.steps), 1))
    per = 1e6 / args.steps
    print(f"linear regression, {args.steps} steps of gradient + update_ (best of {args.repeats})")
    print(f"  hand-written NumPy : {t_np * per:7.1f} µs/step")
    print(f"  fluxlite           : {t_fl * per:7.1f} µs/step")
    print(f"  ratio              : {t_fl / t_np:7.2f}x   (target <= 4x)")
    print(f"time to first gradient (import + gradient, fresh process): "
          f"{first_gradient_seconds():.3f} s   (target < 0.3 s)")


if __name__ == "__main__":
    main()
