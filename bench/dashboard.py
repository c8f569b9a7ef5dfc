"""How fast does the training dashboard draw and train while it runs in the background?

For a few set-ups, the dashboard trains for a fixed time with its thread runner (and once with
the asyncio runner), and this prints:

* frames/s: frames per second, each redrawing the plots that changed (the target is at least 10);
* steps/s: optimiser steps (mini-batches) per second while drawing, next to the steps/s of the
  same training with no drawing at all (``dash.train``), so the cost of the live view shows;
* the mean drawing cost of one frame and of each plot's render, and how many plot renders
  redrew their axes in full (the rest only blit the changing lines, image and bars over a
  cached background). The loss plot is rendered only in frames where an epoch ended; the
  gradient bars and the network diagram take turns, one each frame (the digits and the 1-D
  regression have no diagram: it draws two inputs).

No browser is attached: widget values are set, but no bytes go over a websocket. It is a
measurement, not a test; nothing fails. Run it with ``.venv/bin/python bench/dashboard.py``
(``make bench`` runs every bench script). ``--seconds`` sets the time per set-up.
"""
import argparse
import asyncio
import os
import platform
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import fluxlite as fl  # noqa: E402
from fluxlite.layers import Chain, Dense  # noqa: E402
from fluxlite.widgets import Dataset, TrainingDashboard  # noqa: E402


def digits_dashboard(**kw):
    X, y = fl.datasets.digits()
    data = Dataset(X[:, :1200], y[:1200], X[:, 1200:], y[1200:], name="digits")

    def build(n_in, n_out):
        return Chain(Dense(n_in, 32, fl.relu), Dense(32, n_out))

    return TrainingDashboard(data=data, model=build, batchsize=32, lr=0.003, **kw)


SETUPS = {
    "circles [4,4] tanh, bs 10": lambda **kw: TrainingDashboard(dataset="circles", **kw),
    "spiral [16,16,16] relu, bs 10": lambda **kw: TrainingDashboard(
        dataset="spiral", hidden=(16, 16, 16), activation="relu", lr=0.01, **kw),
    "1-D regression [16] tanh, bs 10": lambda **kw: TrainingDashboard(
        dataset="regression1d", hidden=(16,), **kw),
    "digits 64-32-10 relu, bs 32": digits_dashboard,
}


def plot_costs(dash):
    plots = (dash.loss_plot, dash.output_plot, dash.grad_plot, dash.network_plot)
    return [(p.frames, p.total_seconds, p.full_draws) for p in plots]


def measure(dash, seconds, run):
    """Train in the background for `seconds`; return frames/s, steps/s and per-plot costs."""
    before = plot_costs(dash)
    steps0, epochs0, frames0 = dash.steps, dash.epoch, dash.frames
    t0 = time.perf_counter()
    run(seconds)
    elapsed = time.perf_counter() - t0
    after = plot_costs(dash)
    frames = dash.frames - frames0
    per_plot = [(a[1] - b[1]) / max(a[0] - b[0], 1) * 1e3 for a, b in zip(after, before)]
    frame_ms = sum(a[1] - b[1] for a, b in zip(after, before)) / max(frames, 1) * 1e3
    full = sum(a[2] - b[2] for a, b in zip(after, before))
    renders = sum(a[0] - b[0] for a, b in zip(after, before))
    return {"fps": frames / elapsed, "steps/s": (dash.steps - steps0) / elapsed,
            "epochs": dash.epoch - epochs0, "frame ms": frame_ms, "plots ms": per_plot,
            "full": (full, renders), "diverged": dash.run.diverged}


def thread_run(dash):
    def run(seconds):
        dash.start()
        time.sleep(seconds)
        dash.pause()
    return run


def asyncio_run(dash):
    def run(seconds):
        async def main():
            dash.start()
            await asyncio.sleep(seconds)
            dash.pause()
            await dash.runner.task
        asyncio.run(main())
    return run


def plain_steps_per_second(make, seconds):
    """Steps/s of the same training with no drawing: the dashboard's headless `Trainer` alone
    (`dash.train` would redraw after every call)."""
    dash = make(seed=0)
    trainer = dash.trainer
    per_epoch = len(dash.loader)
    t0 = time.perf_counter()
    epochs = 0
    while time.perf_counter() - t0 < seconds and not dash.run.diverged:
        trainer.train(1)
        epochs += 1
    elapsed = time.perf_counter() - t0
    dash.close()
    return epochs * per_epoch / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="training time per set-up")
    args = parser.parse_args()
    print(f"# bench/dashboard.py: Python {platform.python_version()}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{args.seconds:g} s per set-up")
    print(f"{'set-up':34} {'runner':8} {'frames/s':>8} {'steps/s':>8} {'no-draw':>8} "
          f"{'draw ms':>8}  {'loss/output/grad/net ms':>24} {'full redraws':>13}")
    for name, make in SETUPS.items():
        plain = plain_steps_per_second(make, min(args.seconds, 2.0))
        runners = [("thread", thread_run)]
        if name.startswith("circles"):
            runners.append(("asyncio", asyncio_run))
        for runner_name, runner in runners:
            dash = make(seed=0, runner=runner_name)
            dash.train(1)   # warm up: first full draws, caches
            r = measure(dash, args.seconds, runner(dash))
            plots = "/".join(f"{ms:.0f}" for ms in r["plots ms"])
            print(f"{name:34} {runner_name:8} {r['fps']:8.1f} {r['steps/s']:8.0f} {plain:8.0f} "
                  f"{r['frame ms']:8.1f}  {plots:>24} {r['full'][0]:>6} of {r['full'][1]:<5}"
                  + ("  (diverged)" if r["diverged"] else ""))
            assert not dash.errors, dash.errors
            dash.close()


if __name__ == "__main__":
    main()
