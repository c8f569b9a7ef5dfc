"""A fixed workload whose numbers must not depend on the fast paths.

`tests/test_reference_mode.py` runs this script twice, in fresh interpreters, once as usual
and once with ``FLUXLITE_REFERENCE=1``, and compares what it saves. Each entry is a training
run or a gradient that exercises a fast path: the implicit and explicit training loops
(operators, one-pass apply, the model-walk plan, grouped optimiser state), layers with fused
primitives (Dense, Conv, pooling), recurrent layers, losses and nested gradients.

    python tests/modes_workload.py OUT.npz
"""
import sys

import numpy as np

import fluxlite as fl


def _flat(prefix, tree, out):
    """Every array in a (nested) gradient or model state, under a dotted name."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            _flat(f"{prefix}.{k}", v, out)
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            _flat(f"{prefix}.{i}", v, out)
    elif isinstance(tree, np.ndarray) or isinstance(tree, float):
        out[prefix] = np.array(tree)


def tutorial_linear_regression(out):
    """The tutorial's loop, implicit style: gradient + update_ per sample, and train_."""
    fl.seed(0)
    x = [fl.rng().random(5) for _ in range(10)]
    y = [fl.rng().random(2) for _ in range(10)]
    W, b = fl.rand(2, 5), fl.rand(2)
    loss = lambda x, y: np.sum((y - (W @ x + b)) ** 2)  # noqa: E731
    opt = fl.Descent(0.05)
    ps = fl.params(W, b)
    for xi, yi in zip(x * 5, y * 5):
        grads = fl.gradient(lambda: loss(xi, yi), ps)
        fl.update_(opt, ps, grads)
    fl.train_(loss, ps, zip(x, y), fl.Momentum(0.01))
    out["linreg.W"], out["linreg.b"] = np.array(W), np.array(b)


def mlp_adam(out):
    """A Chain of Dense layers trained with Adam from a state tree: grouped state in fast mode."""
    fl.seed(1)
    model = fl.Chain(fl.Dense(6, 16, fl.relu), fl.Dense(16, 8, np.tanh), fl.Dense(8, 3))
    X = fl.rng().standard_normal((6, 32)).astype(np.float32)
    labels = fl.onehotbatch(fl.rng().integers(0, 3, 32), range(3))
    state = fl.setup(fl.OptimiserChain(fl.ClipNorm(5.0), fl.Adam(0.01)), model)
    loss = lambda m, x, y: fl.logitcrossentropy(m(x), y)  # noqa: E731
    for _ in range(15):
        g = fl.gradient(loss, model, X, labels)[0]
        fl.update_(state, model, g)
    fl.train_(loss, model, [(X, labels)] * 5, state)
    _flat("mlp.model", fl.state(model), out)
    _flat("mlp.grad", fl.gradient(loss, model, X, labels)[0], out)


def conv_net(out):
    """Conv, pooling and flatten, with their fused primitives."""
    fl.seed(2)
    model = fl.Chain(fl.Conv((3, 3), (1, 4), fl.relu), fl.MaxPool((2, 2)),
                     fl.Conv((3, 3), (4, 6), fl.relu, pad=1), fl.MeanPool((2, 2)),
                     fl.flatten, fl.Dense(24, 2))
    X = fl.rng().standard_normal((10, 10, 1, 5)).astype(np.float32)
    val, (g,) = fl.withgradient(lambda m: np.sum(m(X) ** 2), model)
    out["conv.loss"] = np.array(val)
    _flat("conv.grad", g, out)


def recurrent(out):
    """An LSTM over a short sequence, then a Dense layer."""
    fl.seed(3)
    lstm, head = fl.LSTM(3, 5), fl.Dense(5, 1)
    xs = [fl.rng().standard_normal((3, 4)).astype(np.float32) for _ in range(6)]

    def loss(lstm, head):
        fl.reset_(lstm)
        y = None
        for x in xs:
            y = lstm(x)
        return fl.mse(head(y), np.ones((1, 4), np.float32))
    _flat("lstm.grad", fl.gradient(loss, lstm, head), out)


def nested_and_plain_numpy(out):
    """Second derivatives, and plain NumPy losses with reductions and indexing."""
    x = np.linspace(-1.0, 2.0, 7)
    f = lambda x: np.sum(np.tanh(x) ** 3 + np.exp(-x ** 2) * np.sin(3 * x))  # noqa: E731
    out["nested.hvp"] = fl.gradient(lambda x: np.sum(fl.gradient(f, x)[0] * np.cos(x)), x)[0]
    M = np.arange(12.0).reshape(3, 4) / 7
    g = fl.gradient(lambda M: np.std(M, axis=0).sum() + np.max(M[1:, ::2]) + np.linalg.norm(M @ M.T),
                    M)[0]
    out["numpy.grad"] = g


def main(path):
    out = {}
    for run in (tutorial_linear_regression, mlp_adam, conv_net, recurrent, nested_and_plain_numpy):
        run(out)
    out["mode.reference"] = np.array(fl.autodiff.REFERENCE)
    np.savez(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])
