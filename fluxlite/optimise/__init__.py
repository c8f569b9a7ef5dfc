"""Optimisers: Flux's rules (`rules`) and the two ways of applying them (`update`).

* `rules`: Descent, Momentum, Nesterov, RMSProp, Adam (``ADAM``), AdaMax, AdaGrad,
  AdaDelta, AMSGrad, NAdam, AdamW, OAdam, AdaBelief, WeightDecay, ClipValue (``ClipGrad``),
  ClipNorm and OptimiserChain, one small class each, as in Optimisers.jl's ``src/rules.jl``;
* `update`: ``update_(opt, p, g)`` (implicit style), ``setup(rule, model)`` and
  ``update_(state, model, grads)`` (explicit style), ``adjust_``, ``freeze_`` and ``thaw_``.

>>> import numpy as np
>>> from fluxlite.optimise import Adam, update_
>>> opt = Adam(0.1)
>>> W = np.array([1.0, -1.0])
>>> for _ in range(3):
...     _ = update_(opt, W, 2 * W)      # the gradient of sum(W**2)
>>> np.round(W, 3)
array([ 0.7, -0.7])
"""
from .rules import (ADAM, AbstractRule, AdaBelief, AdaDelta, AdaGrad, AdaMax, Adam, AdamW,
                    AMSGrad, ClipGrad, ClipNorm, ClipValue, Descent, Momentum, NAdam, Nesterov,
                    OAdam, OptimiserChain, RMSProp, WeightDecay)
from .update import Leaf, adjust_, freeze_, setup, thaw_, update_

__all__ = ["Descent", "Momentum", "Nesterov", "RMSProp", "Adam", "ADAM", "AdaMax", "AdaGrad",
           "AdaDelta", "AMSGrad", "NAdam", "AdamW", "OAdam", "AdaBelief", "WeightDecay",
           "ClipValue", "ClipGrad", "ClipNorm", "OptimiserChain", "AbstractRule",
           "Leaf", "setup", "update_", "adjust_", "freeze_", "thaw_"]
