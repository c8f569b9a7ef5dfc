"""When training pauses by itself, and what it says: a run that diverged, or is not learning.

Headless, like `fluxlite.widgets.dashboard.trainer.Trainer`, which calls these after each step
(divergence) and each epoch (not learning), and shows the message in the status line.
"""
import math

import numpy as np

from fluxlite.layers import Dense

from .settings import fmt

# A run that is not learning: judged over the last STALL_WINDOW epochs (see `not_learning`).
STALL_WINDOW = 20
STALLED = ("Training paused at epoch {epoch}: the network is not learning. {why} The learning "
           "rate {lr} is probably too large — try a smaller one (say {smaller}); ▶ goes on "
           "with this run, Reset starts a fresh one.")
SHRUNK = ("Training paused at epoch {epoch}: the network is not learning. {why} The {kind} "
          "regularization pulled the weights towards zero (their sum of |w| fell from {before} "
          "to {now}): its rate {rate} is too strong for this network — try a smaller one (say "
          "{smaller}); ▶ goes on with this run, Reset starts a fresh one.")
DIVERGED = ("Training diverged at epoch {epoch} (step {step}): the loss {what}. The learning "
            "rate {lr} is probably too large for this network — try a smaller one (say {smaller}) "
            "and press ▶ for a fresh run.")


def not_learning(run, task, Ytrain):
    """Why `run` is not learning (a sentence), or None if it is, or it is too early to say.

    The rule looks at the last `STALL_WINDOW` (20) epochs since the run started or last
    paused for this reason, and finds the run not learning when either

    * the train loss was above its starting value (epoch 0) in at least 3/4 of them, or
    * (classification) the train accuracy stayed at chance level in all of them (at most
      2 points above always answering the most common class) while the loss went up in
      at least a quarter of them: it thrashes rather than slowly falls, as it does with a
      learning rate that is merely small.

    >>> from fluxlite.widgets.dashboard.settings import Run
    >>> run = Run(1, {}, {"train_loss": 0.7})
    >>> run.history = [{"epoch": k, "train_loss": 0.9} for k in range(1, 21)]
    >>> not_learning(run, "regression", None)
    'Over the last 20 epochs the train loss stayed above its starting value 0.7 (now 0.9).'
    """
    w = STALL_WINDOW
    window = run.history[-w:]
    if len(window) < w or window[0]["epoch"] <= run.stalled_at:
        return None
    start = run.initial["train_loss"]
    losses = [r["train_loss"] for r in window]
    if sum(v > start for v in losses) >= 0.75 * w:
        return (f"Over the last {w} epochs the train loss stayed above its starting value "
                f"{fmt(start)} (now {fmt(losses[-1])}).")
    if task == "classification" and "train_accuracy" in window[0]:
        chance = float(np.max(np.mean(Ytrain, axis=1)))
        rises = sum(b > a for a, b in zip([window[0]["train_loss"]] + losses, losses))
        if all(r["train_accuracy"] <= chance + 0.02 for r in window) and rises >= w / 4:
            return (f"Over the last {w} epochs the loss jumped up and down (now "
                    f"{fmt(losses[-1])}) and the train accuracy stayed at chance level "
                    f"({chance:.0%}, what always answering one class gets).")
    return None


def weight_size(model):
    """The sum of |w| over the weights a regularization acts on (a Dense, or a Chain's layers)."""
    layers = [model] if isinstance(model, Dense) else \
        [layer for layer in model if hasattr(layer, "weight")]
    return sum(float(np.sum(np.abs(layer.weight), dtype=np.float64)) for layer in layers)


def _rates(lr):
    return dict(lr=fmt(lr) if lr is not None else "",
                smaller=fmt(lr / 10) if lr is not None else "a smaller one")


def stall_message(epoch, why, lr, penalty=None, weights=None):
    """The status line when a run pauses as not learning. It blames the regularization when
    there is one and it shrank the weights (``weights = (sum of |w| at the start, now)``) to
    under a tenth; otherwise the learning rate `lr`."""
    if penalty is not None and penalty.rate > 0 and weights[1] < 0.1 * weights[0]:
        return SHRUNK.format(epoch=epoch, why=why, kind=penalty.kind, before=fmt(weights[0]),
                             now=fmt(weights[1]), rate=fmt(penalty.rate),
                             smaller=fmt(penalty.rate / 10))
    return STALLED.format(epoch=epoch, why=why, **_rates(lr))


def diverge_message(epoch, step, value, lr):
    """The status line when the loss of step `step` (in epoch `epoch`) is NaN, ∞ or huge.

    >>> diverge_message(3, 41, float("nan"), 10.0)[:74]
    'Training diverged at epoch 3 (step 41): the loss became NaN (not a number)'
    """
    if math.isnan(value):
        what = "became NaN (not a number)"
    elif math.isinf(value):
        what = "became infinite"
    else:
        what = f"exploded to {value:.3g}"
    return DIVERGED.format(epoch=epoch, step=step, what=what, **_rates(lr))
