"""Benchmark: a small CNN on the 8×8 digits, fluxlite against hand-written NumPy (and PyTorch).

The model, in Flux's notation (images are W × H × C × N, 8 × 8 × 1 × 32 per batch)::

    Chain(Conv((3, 3), 1 => 16, relu; pad=1), MaxPool((2, 2)),     # 8×8×16 → 4×4×16
          Conv((3, 3), 16 => 32, relu; pad=1), MaxPool((2, 2)),    # 4×4×32 → 2×2×32
          flatten, Dense(128 => 10))

trained with logitcrossentropy and Adam(0.001) on batches of 32. As in bench/mlp.py,
each implementation runs the same step on the same batches from the same initial
weights, in this one process, after a check that they agree:

* fluxlite, explicit style: ``g = fl.gradient(lambda m: loss(m, x, y), model)[0]``,
  ``fl.update_(state, model, g)``;
* hand-written NumPy, channels first (C × N × H × W inside): each 3×3 convolution is
  im2col (nine slice copies into one matrix) and one matrix product; its gradient is
  two matrix products and col2im (nine slice additions); max-pooling is a reshape and
  a max, its gradient a mask of each window's first maximum;
* PyTorch CPU with one thread (N × C × H × W), if torch is importable.

Flux's ``Conv`` flips the kernel (a true convolution) while PyTorch's ``Conv2d`` and the
NumPy version here cross-correlate, so they get the flipped kernel; ``flatten`` orders
the features differently too, so the dense weight's columns are permuted to match.
Target: fluxlite <= 1.0x the PyTorch step. The NumPy figure is for information.

    python bench/cnn.py [--steps 300] [--repeats 7] [--no-torch] [--no-reference]

Times are CPU times of this process, best of interleaved repeats, one BLAS thread
(see bench/mlp.py, whose harness this script shares). The same race is then run again
in a fresh process with FLUXLITE_REFERENCE=1 (fluxlite's reference path), and its
ratios are printed beside these. bench/cnn_mnist.py runs the same network, without
padding, on 28×28 images.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy (and its BLAS) is loaded

import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp import (adam_step, batches, bench_args, child_result, fl, fluxlite_trainer, glorot,  # noqa: E402
                 load_average, optional_torch, race, reference_run, report, single_thread,
                 torch_trainer)

C1, C2 = 16, 32


@dataclass(frozen=True)
class Net:
    """The network's geometry: square `size`×`size`×1 images, both 3×3 convolutions padded
    by `pad`, each followed by relu and a 2×2 max-pool (an odd edge row is dropped, as in
    Flux and PyTorch), then a dense layer to 10 classes."""
    size: int
    pad: int

    @property
    def sides(self):
        """Side lengths: after conv 1, pool 1, conv 2, pool 2."""
        a1 = self.size + 2 * self.pad - 2
        a2 = a1 // 2 + 2 * self.pad - 2
        return a1, a1 // 2, a2, a2 // 2

    @property
    def features(self):
        return self.sides[3] ** 2 * C2


DIGITS = Net(size=8, pad=1)


# ------------------------------------------------------------------ weights in three layouts

def initial_weights(rng, net):
    """Cross-correlation kernels (C_out × C_in × 3 × 3, PyTorch's layout), biases, dense weight."""
    w1 = glorot(rng, (C1, 1, 3, 3), fan_in=9 * 1, fan_out=9 * C1)
    w2 = glorot(rng, (C2, C1, 3, 3), fan_in=9 * C1, fan_out=9 * C2)
    W3 = glorot(rng, (10, net.features))
    return [w1, np.zeros(C1, np.float32), w2, np.zeros(C2, np.float32), W3,
            np.zeros(10, np.float32)]


def flux_kernel(w):
    """A cross-correlation kernel (C_out, C_in, kH, kW) as Flux's Conv weight (kW, kH, C_in, C_out).
    """
    return np.ascontiguousarray(w.transpose(3, 2, 1, 0)[::-1, ::-1])


def flux_dense(W3, net):
    """Permute the dense weight's columns from (c, h, w) feature order to fluxlite's (w, h, c)."""
    p = net.sides[3]
    perm = [(c * p + h) * p + w for w in range(p) for h in range(p) for c in range(C2)]
    return np.ascontiguousarray(W3[:, perm])


# --------------------------------------------------------------------------- fluxlite

def fluxlite_cnn(net, w1, b1, w2, b2, W3, b3):
    model = fl.Chain(fl.Conv(flux_kernel(w1), b1.copy(), fl.relu, pad=net.pad), fl.MaxPool((2, 2)),
                     fl.Conv(flux_kernel(w2), b2.copy(), fl.relu, pad=net.pad), fl.MaxPool((2, 2)),
                     fl.flatten, fl.Dense(flux_dense(W3, net), b3.copy()))
    step, loss = fluxlite_trainer(model)

    def kernels():
        """The two conv kernels, back in cross-correlation layout, for the agreement check."""
        return [np.ascontiguousarray(model[i].weight[::-1, ::-1].transpose(3, 2, 1, 0))
                for i in (0, 2)]

    return step, loss, kernels


# --------------------------------------------------------------------------- hand-written NumPy

def im2col(x, pad):
    """x: C × N × H × W → (C·9) × (N·H'·W'): every 3×3 patch (padded by `pad`) as a column."""
    C, N, H, W = x.shape
    xp = np.zeros((C, N, H + 2 * pad, W + 2 * pad), x.dtype)
    xp[:, :, pad:pad + H, pad:pad + W] = x
    Ho, Wo = H + 2 * pad - 2, W + 2 * pad - 2
    cols = np.empty((C, 3, 3, N, Ho, Wo), x.dtype)
    for i in range(3):
        for j in range(3):
            cols[:, i, j] = xp[:, :, i:i + Ho, j:j + Wo]
    return cols.reshape(C * 9, N * Ho * Wo)


def col2im(dcols, shape, pad):
    """The adjoint of im2col: add each column back onto the pixels it was copied from."""
    C, N, H, W = shape
    Ho, Wo = H + 2 * pad - 2, W + 2 * pad - 2
    d = dcols.reshape(C, 3, 3, N, Ho, Wo)
    dxp = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dcols.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + Ho, j:j + Wo] += d[:, i, j]
    return dxp[:, :, pad:pad + H, pad:pad + W]


TAPS = [(0, 0), (0, 1), (1, 0), (1, 1)]   # the pixels of a 2×2 window, W (the last axis) fastest


def pool(a):
    """2×2 max-pooling of C × N × H × W (an odd last row or column is dropped); also returns
    the 6-d view of the windows."""
    C, N, H, W = a.shape
    a6 = a[:, :, :H // 2 * 2, :W // 2 * 2].reshape(C, N, H // 2, 2, W // 2, 2)
    p = np.maximum(a6[:, :, :, 0, :, 0], a6[:, :, :, 0, :, 1])
    np.maximum(p, a6[:, :, :, 1, :, 0], out=p)
    np.maximum(p, a6[:, :, :, 1, :, 1], out=p)
    return p, a6


def unpool(dp, a6, p, shape):
    """Gradient of pool: each window's gradient goes to its first maximum, scanning W fastest,
    as NNlib and PyTorch do (blank background gives many ties once the biases are positive)."""
    d = np.zeros(shape, dp.dtype)
    C, N, h, _, w, _ = a6.shape
    d6 = d[:, :, :2 * h, :2 * w].reshape(a6.shape)   # a view: d is contiguous
    free = np.ones(p.shape, bool)
    for i, j in TAPS:
        hit = a6[:, :, :, i, :, j] == p
        hit &= free
        free &= ~hit
        d6[:, :, :, i, :, j] = dp * hit
    return d


class NumpyCNN:
    def __init__(self, net, w1, b1, w2, b2, W3, b3):
        self.net = net
        self.params = [a.copy() for a in (w1, b1, w2, b2, W3, b3)]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def forward(self, x):
        w1, b1, w2, b2, W3, b3 = self.params
        pad, (s1, _, s2, p) = self.net.pad, self.net.sides
        N = x.shape[1]
        cols1 = im2col(x, pad)
        a1 = np.maximum(w1.reshape(C1, -1) @ cols1 + b1[:, None], 0).reshape(C1, N, s1, s1)
        p1, a1_6 = pool(a1)
        cols2 = im2col(p1, pad)
        a2 = np.maximum(w2.reshape(C2, -1) @ cols2 + b2[:, None], 0).reshape(C2, N, s2, s2)
        p2, a2_6 = pool(a2)
        f = p2.transpose(0, 2, 3, 1).reshape(p * p * C2, N)      # features (c, h, w) × N
        s = W3 @ f + b3[:, None]
        return s, (cols1, a1, a1_6, p1, cols2, a2, a2_6, p2, f)

    def loss(self, x, y):
        s, _ = self.forward(x)
        s = s - s.max(axis=0, keepdims=True)
        return float(-(y * (s - np.log(np.exp(s).sum(axis=0, keepdims=True)))).sum() / x.shape[1])

    def step(self, x, y):
        w1, b1, w2, b2, W3, b3 = self.params
        pad, p = self.net.pad, self.net.sides[3]
        N = x.shape[1]
        s, (cols1, a1, a1_6, p1, cols2, a2, a2_6, p2, f) = self.forward(x)
        e = np.exp(s - s.max(axis=0, keepdims=True))
        ds = (e / e.sum(axis=0, keepdims=True) - y) / N     # (softmax - y) / N
        dW3, db3 = ds @ f.T, ds.sum(axis=1)
        dp2 = (W3.T @ ds).reshape(C2, p, p, N).transpose(0, 3, 1, 2)
        dz2 = (unpool(dp2, a2_6, p2, a2.shape) * (a2 > 0)).reshape(C2, -1)
        dw2, db2 = (dz2 @ cols2.T).reshape(w2.shape), dz2.sum(axis=1)
        dp1 = col2im(w2.reshape(C2, -1).T @ dz2, p1.shape, pad)
        dz1 = (unpool(dp1, a1_6, p1, a1.shape) * (a1 > 0)).reshape(C1, -1)
        dw1, db1 = (dz1 @ cols1.T).reshape(w1.shape), dz1.sum(axis=1)
        self.t += 1
        adam_step(self.params, (dw1, db1, dw2, db2, dW3, db3), self.m, self.v, self.t)


# --------------------------------------------------------------------------- PyTorch

def torch_cnn(torch, net, w1, b1, w2, b2, W3, b3):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, C1, 3, padding=net.pad), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(C1, C2, 3, padding=net.pad), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(net.features, 10))
    step, loss = torch_trainer(torch, model,
                               ((model[0], w1, b1), (model[3], w2, b2), (model[7], W3, b3)))
    return step, loss, lambda: [model[0].weight.detach().numpy(), model[3].weight.detach().numpy()]


# --------------------------------------------------------------------------- the race

def run(argv, script, doc, net, load, batch, steps, repeats, title, limit, options=None):
    """Check that the implementations agree on `net`, then time them (and again in reference
    mode, unless told not to) and report fluxlite / PyTorch against `limit`.

    ``load(args)`` gives ``(images, labels, what)``: images W × H × 1 × count (float32),
    the classes 0–9 and a few words on the data for the title. `script` and `doc` are the
    calling script's file and docstring, `steps` and `repeats` its defaults, `options` adds
    its own command-line options (see `bench_args`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = bench_args(argv, doc, steps=steps, repeats=repeats, options=options)
    images, labels, what = load(args)

    threads = single_thread()
    torch = None if args.no_torch else optional_torch()
    load_before = load_average()

    rng = np.random.default_rng(0)
    data = []
    for x, lab in batches(images, labels, batch, min(56, images.shape[-1] // batch), rng):
        data.append({"flux": x, "y": fl.onehotbatch(lab, range(10)), "labels": lab,
                     "numpy": np.ascontiguousarray(x.transpose(2, 3, 1, 0))})   # C × N × H × W
        if torch is not None:
            data[-1]["torch"] = (torch.from_numpy(np.ascontiguousarray(x.transpose(3, 2, 1, 0))),
                                 torch.from_numpy(lab))
    weights = initial_weights(rng, net)

    fl_step, fl_loss, fl_kernels = fluxlite_cnn(net, *weights)
    ref = NumpyCNN(net, *weights)
    impls = {"fluxlite": (lambda d: fl_step(d["flux"], d["y"]),
                          lambda d: fl_loss(d["flux"], d["y"]), fl_kernels),
             "hand-written NumPy": (lambda d: ref.step(d["numpy"], d["y"]),
                                    lambda d: ref.loss(d["numpy"], d["y"]),
                                    lambda: [ref.params[0], ref.params[2]])}
    if torch is not None:
        t_step, t_loss, t_kernels = torch_cnn(torch, net, *weights)
        impls["PyTorch"] = (lambda d: t_step(*d["torch"]), lambda d: t_loss(*d["torch"]),
                            t_kernels)

    # 1. They must compute the same thing: 15 steps each, the loss on a fixed batch after each.
    trajectories = {}
    for name, (step, loss, _) in impls.items():
        trajectories[name] = []
        for d in data[1:16]:
            step(d)
            trajectories[name].append(loss(data[0]))
    reference = np.array(trajectories["hand-written NumPy"])
    for name, (_, _, kernels) in impls.items():
        if not np.allclose(trajectories[name], reference, rtol=1e-3, atol=2e-4):
            raise SystemExit(f"{name} disagrees with hand-written NumPy: losses "
                             f"{trajectories[name][:4]}... vs {list(reference[:4])}...")
        for k, (a, b) in enumerate(zip(kernels(), [ref.params[0], ref.params[2]])):
            if not np.allclose(a, b, rtol=1e-3, atol=2e-4):
                raise SystemExit(f"{name} disagrees with hand-written NumPy on conv kernel {k + 1}:"
                                 f" largest difference {np.max(np.abs(a - b)):.3g}")

    # 2. Time them, taking turns.
    def runner(step):
        def run(n):
            for i in range(n):
                step(data[i % len(data)])
        return run

    best = race({name: runner(step) for name, (step, _, _) in impls.items()},
                args.steps, args.repeats)
    if args.reference_child:
        return child_result(best)
    reference = None if args.no_reference else reference_run(script, argv)
    versions = f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch else "")
    report(f"{title}, on {what} ({versions})", best,
           [("fluxlite", "PyTorch", limit), ("fluxlite", "hand-written NumPy", None)],
           args.steps, args.repeats, threads, load_before, reference)
    first, last = trajectories["fluxlite"][0], trajectories["fluxlite"][-1]
    print(f"  (the implementations agreed on 15 training steps: losses {first:.4f} → {last:.4f} "
          f"on a fixed batch)")


def main(argv=None):
    run(argv, __file__, __doc__, DIGITS,
        lambda args: fl.datasets.digits(images=True) + ("the digits",),   # 8 × 8 × 1 × 1797
        batch=32, steps=300, repeats=7, limit=1.0,
        title=f"CNN conv3×3(1→{C1}) relu, maxpool, conv3×3({C1}→{C2}) relu, maxpool, "
              f"dense({DIGITS.features}→10), logitcrossentropy + Adam, batch 32")


if __name__ == "__main__":
    main()
