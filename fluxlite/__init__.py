"""fluxlite: Flux's API on NumPy, for learning how deep learning works.

>>> import fluxlite as fl
>>> fl.gradient(lambda x, y: 3*x**2 + 2*x + y, 2, 2)
(14.0, 1.0)
"""
from . import primitives  # noqa: F401  (fills the registry of traceable NumPy operations)
from .autodiff import (Grads, InPlaceError, NoGradientRule, NoGradientWarning, Param, Params,
                       TracingError,
                       WithGradient, gradient, ones, param, params, rand, randn, rng, seed,
                       withgradient, within_gradient, zeros)
from .activations import (celu, elu, gelu, hardsigmoid, hardtanh, leakyrelu, logsigmoid,
                          logsoftmax, logσ, relu, relu6, selu, sigmoid, softmax, softplus,
                          softsign, swish, tanh, σ)

# Everything else loads on first use (PEP 562), so `import fluxlite` stays quick: the
# autodiff core above is all a first gradient needs.
_LAZY_MODULES = {
    ".optimise": ["Descent", "Momentum", "Nesterov", "RMSProp", "Adam", "ADAM", "AdaMax", "AdaGrad",
                  "AdaDelta", "AMSGrad", "NAdam", "AdamW", "OAdam", "AdaBelief", "WeightDecay",
                  "ClipValue", "ClipGrad", "ClipNorm", "OptimiserChain", "Leaf", "setup",
                  "update_", "adjust_", "freeze_", "thaw_"],
    ".layers": ["Dense", "Chain", "SkipConnection", "Parallel", "Maxout", "Bilinear", "Embedding",
                "Scale", "identity", "f32", "f64", "trainable", "Conv", "CrossCor",
                "ConvTranspose", "SamePad", "MaxPool", "MeanPool", "GlobalMaxPool",
                "GlobalMeanPool", "flatten", "BatchNorm", "Dropout", "AlphaDropout", "LayerNorm",
                "trainmode_", "testmode_", "LayerShapeError", "glorot_uniform", "glorot_normal",
                "kaiming_uniform", "kaiming_normal", "truncated_normal", "orthogonal",
                "sparse_init", "zeros32", "ones32", "rand32", "randn32", "RNN", "LSTM", "GRU",
                "RNNCell", "LSTMCell", "GRUCell", "Recur", "reset_"],
    ".losses": ["mse", "mae", "msle", "huber_loss", "crossentropy", "logitcrossentropy",
                "binarycrossentropy", "logitbinarycrossentropy", "kldivergence", "focal_loss",
                "binary_focal_loss"],
    ".optimise.train": ["train_", "stop", "skip", "throttle", "epochs"],
    ".serialization": ["state", "loadmodel_", "save", "load", "destructure"],
    ".data": ["DataLoader", "onehot", "onehotbatch", "onecold"],
}
_LAZY = {name: mod for mod, names in _LAZY_MODULES.items() for name in names}
_SUBMODULES = {"layers", "datasets", "losses", "optimise", "data", "serialization", "functors",
               "autodiff", "primitives", "activations", "nnlib"}


def __getattr__(name):
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'fluxlite' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__version__ = "0.1.0"

__all__ = [
    # autodiff
    "gradient", "withgradient", "within_gradient", "params", "Params", "Grads", "WithGradient",
    "Param", "param", "rand", "randn", "zeros", "ones", "seed", "rng",
    "TracingError", "NoGradientRule", "InPlaceError", "NoGradientWarning",
    # optimisers
    "Descent", "Momentum", "Nesterov", "RMSProp", "Adam", "ADAM", "AdaMax", "AdaGrad", "AdaDelta",
    "AMSGrad", "NAdam", "AdamW", "OAdam", "AdaBelief", "WeightDecay", "ClipValue", "ClipGrad",
    "ClipNorm", "OptimiserChain", "Leaf", "setup", "update_", "adjust_", "freeze_", "thaw_",
    # layers
    "layers", "datasets", "Dense", "Chain", "SkipConnection", "Parallel", "Maxout", "Bilinear", "Embedding",
    "Scale", "identity", "f32", "f64", "trainable", "Conv", "CrossCor", "ConvTranspose", "SamePad",
    "MaxPool", "MeanPool", "GlobalMaxPool", "GlobalMeanPool", "flatten", "BatchNorm", "Dropout",
    "AlphaDropout", "LayerNorm", "trainmode_", "testmode_", "LayerShapeError",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Recur", "reset_",
    "glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal", "truncated_normal",
    "orthogonal", "sparse_init", "zeros32", "ones32", "rand32", "randn32",
    # losses
    "mse", "mae", "msle", "huber_loss", "crossentropy", "logitcrossentropy", "binarycrossentropy",
    "logitbinarycrossentropy", "kldivergence", "focal_loss", "binary_focal_loss",
    # training and model state
    "train_", "stop", "skip", "throttle", "epochs",
    "state", "loadmodel_", "save", "load", "destructure",
    # data
    "DataLoader", "onehot", "onehotbatch", "onecold",
    # activations
    "σ", "sigmoid", "relu", "leakyrelu", "elu", "gelu", "swish", "softplus", "logσ", "logsigmoid",
    "tanh", "softmax", "logsoftmax", "celu", "selu", "relu6", "hardtanh", "hardsigmoid", "softsign",
]

# In Jupyter or IPython, an error raised inside fluxlite shows the student's frames and the
# message, not fluxlite's own frames (fluxlite/_ipython.py; `%xmode Verbose` shows them).
from . import _ipython  # noqa: E402
_ipython.install()
