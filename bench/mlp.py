"""Benchmark: an MLP on the 8×8 digits, fluxlite against hand-written NumPy (and PyTorch).

The model is 64 → 128 relu → 10, trained with logitcrossentropy and Adam(0.001)
on batches of 32 images. Each implementation runs the same training step on the
same batches from the same initial weights, in this one process:

* fluxlite, in Flux's explicit style, exactly as a student writes it::

      g = fl.gradient(lambda m: loss(m, x, y), model)[0]
      fl.update_(state, model, g)

* hand-written NumPy: the forward pass, the gradient worked out by hand and
  Adam, written the way a competent NumPy user would (float32, vectorised,
  in-place updates of the optimiser state, nothing contorted);
* PyTorch CPU with one thread, if torch is importable (an optional extra:
  ``pip install torch==2.13.0``): ``zero_grad``, forward, ``cross_entropy``,
  ``backward``, ``Adam.step``.

Before timing, the three are run for a few steps side by side and must agree
(losses and weights); then the time per step is measured. Targets:
fluxlite <= 1.5x the NumPy step, and <= 0.5x the PyTorch step.

    python bench/mlp.py [--steps 2000] [--repeats 9] [--no-torch] [--no-reference]

How the times are taken: CPU time of this process (``time.process_time``), so
time spent waiting for other programs on a shared machine is not counted; the
implementations take turns (interleaved, in a rotating order) so that all see
the same machine; each figure is the best of several repeats. BLAS runs on one
thread (OPENBLAS_NUM_THREADS=1 and friends, set before NumPy is imported, and
threadpoolctl when it is installed), as does PyTorch (``torch.set_num_threads(1)``).
The load average is printed before and after. Then the race runs again in a fresh
process with FLUXLITE_REFERENCE=1 (fluxlite's reference path, no fast paths), and
the ratios measured there are printed beside these (see `reference_run`).
"""
import os

if __name__ == "__main__":  # (scripts that import this module pin their own threads, or none)
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")  # before NumPy (and its BLAS) is loaded

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fluxlite as fl  # noqa: E402

# --------------------------------------------------------------------------- the harness
# (cnn.py imports these too)


def bench_args(argv, doc, steps, repeats, torch=True, options=None):
    """The command line the benchmarks take: --steps, --repeats, --no-torch and --no-reference,
    and any that `options(parser)` adds.

    --reference-child is not for people: it marks the run that `reference_run` starts."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if options is not None:
        options(parser)
    parser.add_argument("--steps", type=int, default=steps, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=repeats, help="timed runs per implementation")
    if torch:
        parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the second run in reference mode (FLUXLITE_REFERENCE=1)")
    parser.add_argument("--reference-child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ------------------------------------------------------------------ reference mode
# Every benchmark is timed twice: here, with whatever fast paths fluxlite installs, and in a
# fresh process started with FLUXLITE_REFERENCE=1, where fluxlite uses only its reference path.
# That second process runs the same script (with --reference-child): it checks agreement and
# times fluxlite *and its baselines* again, so each ratio compares times taken in one process.

CHILD_MARK = "reference-child result: "


def reference_run(script, argv):
    """Run `script` with `argv` again in a fresh process with FLUXLITE_REFERENCE=1.

    Returns what that process reported with `child_result`: ``{"reference": whether
    fluxlite.autodiff.REFERENCE was on there, "best": {name: seconds per step}, ...}``."""
    env = dict(os.environ, FLUXLITE_REFERENCE="1")
    proc = subprocess.run([sys.executable, os.path.abspath(script), *argv, "--reference-child"], env=env,
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(CHILD_MARK)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the reference-mode run of {os.path.basename(script)} failed "
                         f"(exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(lines[-1][len(CHILD_MARK):])


def child_result(best, **extra):
    """In the reference-mode process: print the best times (and `extra`) for the parent."""
    print(CHILD_MARK + json.dumps({"reference": getattr(fl.autodiff, "REFERENCE", None),
                                   "best": best, **extra}))


def reference_note(reference):
    """How the reference-mode figures were taken, and whether the switch was really on."""
    on = reference.get("reference")
    state = {True: "on", False: "OFF: the switch did not take", None: "absent in this fluxlite"}
    return (f"reference mode: FLUXLITE_REFERENCE=1 in a fresh process (fluxlite.autodiff."
            f"REFERENCE {state.get(on, on)}),\n    which checked agreement and timed fluxlite "
            f"and its baselines again")


def single_thread():
    """Hold BLAS (and PyTorch, if present) to one thread; return a line saying how."""
    how = [f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"]
    blas = ""
    try:
        import threadpoolctl
    except ImportError:
        how.append("threadpoolctl not installed")
    else:
        single_thread.limits = threadpoolctl.threadpool_limits(1)  # kept for the whole run
        info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        if info:
            i = info[0]
            blas = (f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}), "
                    f"{i.get('num_threads')} thread{'s' if i.get('num_threads') != 1 else ''}")
        how.append("threadpoolctl limit 1")
    if os.environ.get("OPENBLAS_CORETYPE"):
        how.append(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} (forces an older kernel)")
    return f"BLAS: {blas or 'unknown'}; " + ", ".join(how)


def load_average():
    """The 1, 5 and 15 minute load averages, as text (the machine is shared)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def optional_torch():
    """PyTorch on one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def race(runners, steps, repeats):
    """Best CPU time per step (seconds) of each runner, taking turns in a rotating order.

    `runners` maps a name to a function ``run(n)`` that performs n training steps.
    """
    best = {name: float("inf") for name in runners}
    names = list(runners)
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            t = time.process_time()
            runners[name](steps)
            best[name] = min(best[name], (time.process_time() - t) / steps)
    return best


def report(title, best, targets, steps, repeats, threads, load_before, reference=None):
    """Print one table: the per-step times, the ratios and whether each target is met.

    `reference` is what `reference_run` returned (None: not run). Its times and ratios go in
    a second column; each of its ratios compares two times taken in that one process."""
    print(title)
    print(f"  {threads}")
    print(f"  load average before: {load_before}; after: {load_average()}")
    ref = reference["best"] if reference else {}
    print(f"  best of {repeats} interleaved repeats of {steps} steps, CPU time per step:")
    if ref:
        print(f"    {'':32s} {'fast mode':>11s} {'reference †':>13s}")
    for name, t in best.items():
        also = f" {ref[name] * 1e6:10.1f} µs" if name in ref else ""
        print(f"    {name:32s} {t * 1e6:8.1f} µs{also}")
    for a, b, limit in targets:
        pair = f"{a} / {b}"
        if b not in best:
            print(f"    {pair:32s} not measured ({b} is not installed or was left out)")
            continue
        ratio = best[a] / best[b]
        also = f" {ref[a] / ref[b]:12.2f}x" if a in ref and b in ref else ""
        if limit is None:
            verdict = "no target"
        else:
            verdict = f"target <= {limit}x{' (fast mode)' if ref else ''}: "
            verdict += "met" if ratio <= limit else "MISSED"
        print(f"    {pair:32s} {ratio:10.2f}x{also}   {verdict}")
    if ref:
        print(f"  † {reference_note(reference)}")


def glorot(rng, shape, fan_in=None, fan_out=None):
    """Flux's glorot_uniform in float32, from a NumPy generator (the same numbers for everyone).

    For a matrix (out × in) the fans are its two sizes; give them for other shapes."""
    fan_in, fan_out = fan_in or shape[1], fan_out or shape[0]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def batches(X, labels, size, count, rng):
    """`count` batches of `size` samples (features × N, labels), each its own contiguous array."""
    order = rng.permutation(X.shape[-1])[:size * count].reshape(count, size)
    return [(np.ascontiguousarray(X[..., idx]), labels[idx]) for idx in order]


# --------------------------------------------------------------------------- the three MLPs

LR = 1e-3
BETA = (0.9, 0.999)
EPS = 1e-8


def fluxlite_mlp(W1, b1, W2, b2):
    """The model, loss and step as a student writes them in fluxlite (explicit style)."""
    model = fl.Chain(fl.Dense(W1.copy(), b1.copy(), fl.relu), fl.Dense(W2.copy(), b2.copy()))
    step, loss = fluxlite_trainer(model)

    def params():
        return [model[0].weight, model[0].bias, model[1].weight, model[1].bias]

    return step, loss, params, model


def fluxlite_trainer(model):
    """The explicit-style training step a student writes (Adam, logitcrossentropy), and the loss."""
    state = fl.setup(fl.Adam(LR, BETA, EPS), model)

    def loss(m, x, y):
        return fl.logitcrossentropy(m(x), y)

    def step(x, y):
        g = fl.gradient(lambda m: loss(m, x, y), model)[0]
        fl.update_(state, model, g)

    return step, lambda x, y: float(loss(model, x, y))


class NumpyMLP:
    """The same network with its gradient worked out by hand, and Adam, in plain NumPy."""

    def __init__(self, W1, b1, W2, b2):
        self.params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def loss(self, x, y):
        W1, b1, W2, b2 = self.params
        s = W2 @ np.maximum(W1 @ x + b1[:, None], 0) + b2[:, None]
        s = s - s.max(axis=0, keepdims=True)
        return float(-(y * (s - np.log(np.exp(s).sum(axis=0, keepdims=True)))).sum() / x.shape[1])

    def step(self, x, y):
        W1, b1, W2, b2 = self.params
        n = x.shape[1]
        z1 = W1 @ x + b1[:, None]                   # forward
        h = np.maximum(z1, 0)
        s = W2 @ h + b2[:, None]
        e = np.exp(s - s.max(axis=0, keepdims=True))
        ds = (e / e.sum(axis=0, keepdims=True) - y) / n   # d loss / d logits = (softmax - y) / n
        dh = W2.T @ ds                               # backward
        dz1 = dh * (z1 > 0)
        grads = (dz1 @ x.T, dz1.sum(axis=1), ds @ h.T, ds.sum(axis=1))
        self.t += 1
        adam_step(self.params, grads, self.m, self.v, self.t)


def adam_step(params, grads, ms, vs, t):
    """Hand-written Adam step t on lists of arrays, in place (ε outside the root, as in Flux)."""
    b1t, b2t = 1 - BETA[0] ** t, 1 - BETA[1] ** t
    for p, g, m, v in zip(params, grads, ms, vs):
        m *= BETA[0]
        m += (1 - BETA[0]) * g
        v *= BETA[1]
        v += (1 - BETA[1]) * (g * g)
        p -= LR * (m / b1t) / (np.sqrt(v / b2t) + EPS)


def torch_trainer(torch, model, weights):
    """Load ``(layer, weight, bias)`` NumPy arrays into a PyTorch model and give its training
    step (Adam with the same settings, cross-entropy on class indices) and its loss."""
    with torch.no_grad():
        for layer, W, b in weights:
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETA, eps=EPS)
    cross_entropy = torch.nn.functional.cross_entropy

    def step(x, y):
        opt.zero_grad()
        cross_entropy(model(x), y).backward()
        opt.step()

    def loss(x, y):
        with torch.no_grad():
            return float(cross_entropy(model(x), y))

    return step, loss


def torch_mlp(torch, W1, b1, W2, b2):
    """The same network in PyTorch (batch first: x is N × 64, labels are class indices)."""
    nn = torch.nn
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    step, loss = torch_trainer(torch, model, ((model[0], W1, b1), (model[2], W2, b2)))

    def params():
        return [p.detach().numpy() for p in (model[0].weight, model[0].bias, model[2].weight,
                                              model[2].bias)]

    return step, loss, params


def core_overhead(model, repeats):
    """What a gradient call costs apart from the arithmetic (CPU seconds, best of `repeats`).

    * the fixed cost of a call on this model, ``fl.gradient(lambda m: 1.0, model)``, which
      only walks the model in and out;
    * the cost of one traced operation beyond the NumPy work it does: a chain of 20 traced
      multiplications of a 2×2 array, minus the same 20 multiplications and 20 pullback
      multiplications in plain NumPy, divided by 20.
    """
    small = {"W": fl.param(np.ones((2, 2), np.float32))}

    def traced(k):
        def f(m):
            z = m["W"]
            for _ in range(k):
                z = z * 1.5
            return np.sum(z)
        return lambda: fl.gradient(f, small)

    def plain(k):
        w = np.ones((2, 2), np.float32)

        def f():
            z = w
            for _ in range(k):
                z = z * 1.5
            g = np.ones_like(z)
            for _ in range(k):
                g = g * 1.5
            return np.add.reduce(z, axis=None)
        return f

    def repeat(f):
        def run(n):
            for _ in range(n):
                f()
        return run

    with warnings.catch_warnings():  # a constant function has no gradient, and may say so
        warnings.simplefilter("ignore", getattr(fl, "NoGradientWarning", UserWarning))
        best = race({"fixed": repeat(lambda: fl.gradient(lambda m: 1.0, model)),
                     "traced 0": repeat(traced(0)), "traced 20": repeat(traced(20)),
                     "plain 0": repeat(plain(0)), "plain 20": repeat(plain(20))}, 500, repeats)
    per_op = ((best["traced 20"] - best["traced 0"]) - (best["plain 20"] - best["plain 0"])) / 20
    return best["fixed"], per_op


def untraced_mlp(W1, b1, W2, b2):
    """A diagnostic: fluxlite's own fused kernels and Adam, called directly with no tape.

    The same forward functions, pullbacks and optimiser rule that `fl.gradient` and
    `fl.update_` run, in the same order; what fluxlite's step costs beyond this is tracing,
    walking the model and the gradient, and the layers' argument checks."""
    from fluxlite import losses as L
    from fluxlite.layers import basic as B

    ps = W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    rule = fl.Adam(LR, BETA, EPS)
    # One flat Adam state for all four arrays, as fl.setup makes it (fluxlite/optimise/grouped.py).
    ends = np.cumsum([p.size for p in ps]).tolist()
    cuts = list(zip([0] + ends[:-1], ends))
    state = [rule.init(np.concatenate([p.ravel() for p in ps]))]
    one = np.array(1.0, np.float32)

    def step(x, y):
        h = B._dense_fwd(W1, b1, x, act="relu")
        s = B._dense_fwd(W2, b2, h)
        loss = L._lce_fwd(s, y, 0, True)
        ds = L._lce_dŷ(one, loss, s, y, 0, True)
        dW2, db2, dh = B._dense_pullback(ds, s, (0, 1, 2), W2, b2, h)
        grads = B._dense_pullback(dh, h, (0, 1), W1, b1, x, "relu") + [dW2, db2]
        state[0], step_ = rule.apply(state[0], None, np.concatenate([g.ravel() for g in grads]))
        for p, (a, b) in zip(ps, cuts):
            np.subtract(p, step_[a:b].reshape(p.shape), out=p)

    return step


def check_agree(name, losses, reference, params, ref_params, rtol, atol):
    losses, reference = np.array(losses), np.array(reference)
    if not np.allclose(losses, reference, rtol=rtol, atol=atol):
        raise SystemExit(f"{name} disagrees with hand-written NumPy: losses {losses[:4]}... vs "
                         f"{reference[:4]}...")
    for i, (p, q) in enumerate(zip(params, ref_params)):
        if not np.allclose(p, q, rtol=rtol, atol=atol):
            raise SystemExit(f"{name} disagrees with hand-written NumPy on parameter {i}: "
                             f"largest difference {np.max(np.abs(p - q)):.3g}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = bench_args(argv, __doc__, steps=2000, repeats=9)

    threads = single_thread()
    torch = None if args.no_torch else optional_torch()
    load_before = load_average()

    X, labels = fl.datasets.digits()                 # X: 64 × 1797 float32, labels 0..9
    rng = np.random.default_rng(0)
    data = [(x, fl.onehotbatch(lab, range(10)), lab) for x, lab in batches(X, labels, 32, 56, rng)]
    W1, b1 = glorot(rng, (128, 64)), np.zeros(128, np.float32)
    W2, b2 = glorot(rng, (10, 128)), np.zeros(10, np.float32)

    fl_step, fl_loss, fl_params, _ = fluxlite_mlp(W1, b1, W2, b2)
    ref = NumpyMLP(W1, b1, W2, b2)
    impls = {"fluxlite": (lambda x, y, lab: fl_step(x, y), lambda x, y, lab: fl_loss(x, y),
                          fl_params),
             "hand-written NumPy": (lambda x, y, lab: ref.step(x, y),
                                    lambda x, y, lab: ref.loss(x, y), lambda: ref.params)}
    if torch is not None:
        tdata = {id(x): (torch.from_numpy(np.ascontiguousarray(x.T)), torch.from_numpy(lab))
                 for x, _, lab in data}
        t_step, t_loss, t_params = torch_mlp(torch, W1, b1, W2, b2)
        impls["PyTorch"] = (lambda x, y, lab: t_step(*tdata[id(x)]),
                            lambda x, y, lab: t_loss(*tdata[id(x)]), t_params)

    # 1. They must compute the same thing: 25 steps each, the loss on a fixed batch after each.
    x0, y0, lab0 = data[0]
    trajectories = {}
    for name, (step, loss, _) in impls.items():
        trajectories[name] = []
        for x, y, lab in data[1:26]:
            step(x, y, lab)
            trajectories[name].append(loss(x0, y0, lab0))
    for name in impls:
        if name != "hand-written NumPy":
            check_agree(name, trajectories[name], trajectories["hand-written NumPy"],
                        impls[name][2](), ref.params, rtol=1e-3, atol=2e-4)

    # 2. Time them, taking turns.
    def runner(step):
        def run(n):
            for i in range(n):
                x, y, lab = data[i % len(data)]
                step(x, y, lab)
        return run

    runners = {name: runner(step) for name, (step, _, _) in impls.items()}
    if args.reference_child:  # the diagnostics below are left to the parent
        return child_result(race(runners, args.steps, args.repeats))
    no_tape = untraced_mlp(W1, b1, W2, b2)
    runners["fluxlite, no tape *"] = runner(lambda x, y, lab: no_tape(x, y))
    best = race(runners, args.steps, args.repeats)
    reference = None if args.no_reference else reference_run(__file__, argv)
    versions = f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch else "")
    report(f"MLP 64 → 128 relu → 10 on the digits, logitcrossentropy + Adam, batch 32 ({versions})",
           best, [("fluxlite", "hand-written NumPy", 1.5), ("fluxlite", "PyTorch", 0.5)],
           args.steps, args.repeats, threads, load_before, reference)
    first, last = trajectories["fluxlite"][0], trajectories["fluxlite"][-1]
    print(f"  (the implementations agreed on 25 training steps: losses {first:.4f} → {last:.4f} "
          f"on a fixed batch)")

    fixed, per_op = core_overhead(fluxlite_mlp(W1, b1, W2, b2)[3], args.repeats)
    print("  * diagnostic: fluxlite's fused kernels and Adam called directly, with no tape. The")
    gap = best["fluxlite"] - best["fluxlite, no tape *"]
    print(f"    difference, {gap * 1e6:.1f} µs a step, is tracing, walking the model and gradient")
    print("    trees, and the layers' argument checks.")
    print(f"  core costs: fl.gradient(lambda m: 1.0, model) {fixed * 1e6:.1f} µs a call;")
    print(f"    one traced operation {per_op * 1e6:.1f} µs beyond its NumPy work")

if __name__ == "__main__":
    main()
