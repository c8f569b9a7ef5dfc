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
several repeats, so other programs on the machine disturb them less. Then the
same comparison runs again in a fresh process with FLUXLITE_REFERENCE=1
(fluxlite's reference path), and its figures are printed beside these
(``--no-reference`` skips it).
"""
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fluxlite as fl  # noqa: E402
from mlp import bench_args, child_result, reference_note, reference_run  # noqa: E402


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
    """Wall time of ``import fluxlite`` plus a first gradient, in a fresh interpreter
    (with this process's environment, so in reference mode when this process is)."""
    code = ("import time; t = time.perf_counter(); import fluxlite as fl; "
            "fl.gradient(lambda x, y: 3*x**2 + 2*x + y, 2, 2); print(time.perf_counter() - t)")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 cwd=root, check=True).stdout) for _ in range(5)]
    return min(runs)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = bench_args(argv, __doc__, steps=3000, repeats=7, torch=False)

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
    per = 1 / args.steps
    best = {"fluxlite": t_fl * per, "hand-written NumPy": t_np * per}
    first = first_gradient_seconds()
    if args.reference_child:
        return child_result(best, first_gradient=first)
    reference = None if args.no_reference else reference_run(__file__, argv)
    ref = reference["best"] if reference else {}

    def row(label, fast, slow, unit, fmt, note=""):   # slow: the reference-mode figure
        also = f"{slow:{fmt}}{unit}" if reference else ""
        print(f"  {label:34s} {fast:{fmt}}{unit} {also:>14s}{note}")

    print(f"linear regression, {args.steps} steps of gradient + update_ (best of {args.repeats})")
    if reference:
        print(f"  {'':34s} {'fast mode':>11s} {'reference †':>14s}")
    for name in ("hand-written NumPy", "fluxlite"):
        row(name, best[name] * 1e6, ref.get(name, 0) * 1e6, " µs", "8.1f")
    ratio = t_fl / t_np
    row("fluxlite / hand-written NumPy", ratio,
        ref["fluxlite"] / ref["hand-written NumPy"] if reference else 0, "x", "10.2f",
        f"   target <= 4x{' (fast mode)' if reference else ''}: {'met' if ratio <= 4 else 'MISSED'}")
    row("first gradient (fresh process)", first, reference["first_gradient"] if reference else 0,
        " s", "9.3f", f"   target < 0.3 s: {'met' if first < 0.3 else 'MISSED'}")
    if reference:
        print(f"  † {reference_note(reference)}")


if __name__ == "__main__":
    main()
