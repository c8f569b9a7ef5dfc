"""Each layer's gradient norm after a step, and whether it vanishes or explodes (headless)."""
import math

import numpy as np

from fluxlite.functors import leaves
from fluxlite.layers import Chain, Dense

# A layer's gradient norm against the loss of the same step (see `gradient_verdict`).
VANISHING, EXPLODING = 1e-3, 1e3


def gradient_verdict(norm, loss):
    """``"vanishing"``, ``"exploding"`` or ``"ok"``: a layer's gradient norm judged against the loss.

    Gradients shrink with the loss, so a size alone says little: near a perfect fit every layer's
    gradient is tiny and rightly so. The rule compares the norm with the loss ``L`` of the same
    step: vanishing below ``VANISHING · L`` (1/1000 of the loss), exploding above
    ``EXPLODING · L`` (1000 times the loss) or when not finite.

    >>> gradient_verdict(2e-8, 1e-7), gradient_verdict(3e-5, 0.69), gradient_verdict(5e3, 2.0)
    ('ok', 'vanishing', 'exploding')
    >>> gradient_verdict(float("nan"), 0.5)
    'exploding'
    """
    if not math.isfinite(norm):
        return "exploding"
    scale = abs(loss) if loss is not None and math.isfinite(loss) and loss != 0 else 1e-12
    if norm < VANISHING * scale:
        return "vanishing"
    if norm > EXPLODING * scale:
        return "exploding"
    return "ok"


def layer_name(layer, i):
    """The label of layer `i` on the gradient-norm bars: ``1: Dense 2→4``."""
    if isinstance(layer, Dense):
        out, n_in = layer.weight.shape
        return f"{i + 1}: Dense {n_in}→{out}"
    return f"{i + 1}: {type(layer).__name__}"


def layer_norms(model, grads):
    """``[(label, norm)]``: the norm of each layer's gradient (or each top-level part's).

    >>> import fluxlite as fl
    >>> m = fl.Chain(fl.Dense(2, 3), fl.Dense(3, 1))
    >>> g = fl.gradient(lambda m: fl.mse(m(fl.ones(2, 4)), fl.zeros(1, 4)), m)[0]
    >>> [name for name, norm in layer_norms(m, g)]
    ['1: Dense 2→3', '2: Dense 3→1']
    """
    if isinstance(model, Chain) and isinstance(grads, dict) and "layers" in grads:
        layers = grads["layers"]
        parts = list(zip(model, layers)) if not isinstance(layers, dict) else \
            [(model[k], v) for k, v in layers.items()]
    elif isinstance(grads, dict):
        parts = [(getattr(model, k, k), v) for k, v in grads.items()]
    else:
        parts = [(model, grads)]
    out = []
    for i, (layer, g) in enumerate(parts):
        arrays = leaves(g)
        if arrays:
            norm = math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))
            out.append((layer_name(layer, i), norm))
    return out


def norm_names(model):
    """The labels `layer_norms` will give, before any gradient exists (a Chain's trainable layers)."""
    if isinstance(model, Chain):
        return [layer_name(layer, i) for i, layer in enumerate(model)
                if leaves(layer, trainable=True)]
    return []
