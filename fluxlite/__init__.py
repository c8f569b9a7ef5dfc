"""fluxlite: Flux's API on NumPy, for learning how deep learning works.

>>> import fluxlite as fl
>>> fl.gradient(lambda x, y: 3*x**2 + 2*x + y, 2, 2)
(14.0, 1.0)
"""
from . import primitives  # noqa: F401  (fills the registry of traceable NumPy operations)
from .autodiff import (Grads, InPlaceError, NoGradientRule, Param, Params, TracingError,
                       WithGradient, gradient, ones, param, params, rand, randn, rng, seed,
                       withgradient, within_gradient, zeros)
from .activations import (celu, elu, gelu, hardsigmoid, hardtanh, leakyrelu, logsigmoid,
                          logsoftmax, logσ, relu, relu6, selu, sigmoid, softmax, softplus,
                          softsign, swish, tanh, σ)

from . import datasets, layers
from .layers import (AlphaDropout, BatchNorm, Bilinear, Chain, Conv, ConvTranspose, CrossCor, Dense,
                     Dropout, Embedding, GlobalMaxPool, GlobalMeanPool, LayerNorm, LayerShapeError,
                     MaxPool, Maxout, MeanPool, Parallel, SamePad, Scale, SkipConnection, f32, f64,
                     flatten, glorot_normal, glorot_uniform, identity, kaiming_normal,
                     kaiming_uniform, ones32, orthogonal, rand32, randn32, sparse_init, testmode_,
                     trainable, trainmode_, truncated_normal, zeros32)
from .losses import (binary_focal_loss, binarycrossentropy, crossentropy, focal_loss, huber_loss,
                     kldivergence, logitbinarycrossentropy, logitcrossentropy, mae, mse, msle)
from .optimise.train import epochs, skip, stop, throttle, train_
from .serialization import destructure, loadmodel_, save, state
from .optimise import (ADAM, AMSGrad, AdaBelief, AdaDelta, AdaGrad, AdaMax, Adam, AdamW, ClipGrad,
                       ClipNorm, ClipValue, Descent, Leaf, Momentum, NAdam, Nesterov, OAdam,
                       OptimiserChain, RMSProp, WeightDecay, adjust_, freeze_, setup, thaw_, update_)
from .data import DataLoader, onecold, onehot, onehotbatch

__version__ = "0.1.0"

__all__ = [
    # autodiff
    "gradient", "withgradient", "within_gradient", "params", "Params", "Grads", "WithGradient",
    "Param", "param", "rand", "randn", "zeros", "ones", "seed", "rng",
    "TracingError", "NoGradientRule", "InPlaceError",
    # optimisers
    "Descent", "Momentum", "Nesterov", "RMSProp", "Adam", "ADAM", "AdaMax", "AdaGrad", "AdaDelta",
    "AMSGrad", "NAdam", "AdamW", "OAdam", "AdaBelief", "WeightDecay", "ClipValue", "ClipGrad",
    "ClipNorm", "OptimiserChain", "Leaf", "setup", "update_", "adjust_", "freeze_", "thaw_",
    # layers
    "layers", "Dense", "Chain", "SkipConnection", "Parallel", "Maxout", "Bilinear", "Embedding",
    "Scale", "identity", "f32", "f64", "trainable", "Conv", "CrossCor", "ConvTranspose", "SamePad",
    "MaxPool", "MeanPool", "GlobalMaxPool", "GlobalMeanPool", "flatten", "BatchNorm", "Dropout",
    "AlphaDropout", "LayerNorm", "trainmode_", "testmode_", "LayerShapeError",
    "glorot_uniform", "glorot_normal", "kaiming_uniform", "kaiming_normal", "truncated_normal",
    "orthogonal", "sparse_init", "zeros32", "ones32", "rand32", "randn32",
    # losses
    "mse", "mae", "msle", "huber_loss", "crossentropy", "logitcrossentropy", "binarycrossentropy",
    "logitbinarycrossentropy", "kldivergence", "focal_loss", "binary_focal_loss",
    # training and model state
    "train_", "stop", "skip", "throttle", "epochs", "state", "loadmodel_", "save", "destructure",
    # data
    "DataLoader", "onehot", "onehotbatch", "onecold", "datasets",
    # activations
    "σ", "sigmoid", "relu", "leakyrelu", "elu", "gelu", "swish", "softplus", "logσ", "logsigmoid",
    "tanh", "softmax", "logsoftmax", "celu", "selu", "relu6", "hardtanh", "hardsigmoid", "softsign",
]
