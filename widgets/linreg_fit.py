"""Linear-regression fit (lesson 2): the tutorial's training loop, with its knobs on sliders.

The tutorial fits ``predict(x) = W x + b`` (``W`` is 2×5, ``b`` has length 2) to ten samples
from ``generate_data`` (``fl.datasets.linear_regression``), with the per-sample loss
``sum((y − predict(x))²)`` and one optimizer update per sample, using implicit parameters:

    grads = fl.gradient(lambda: loss(x[i], y[i]), fl.params(W, b))
    for p in (W, b):
        fl.update_(optimizer, p, grads[p])

After each epoch (one pass over the samples) it records ``sum(loss(xi, yi) for ...)``.
This widget runs exactly that loop and plots the fitted predictions against the targets
and the loss per epoch. `LinearRegressionFit.code` returns the loop as a program you can run.
"""
import math

import ipywidgets
import numpy as np

import fluxlite as fl
from ._lesson import COLORS, INK, MUTED, LessonWidget, row, style_axes

__all__ = ["LinearRegressionFit"]

# The two optimizers of the tutorial, under the names it uses.
_OPTIMIZERS = {"Descent": fl.Descent, "ADAM": fl.ADAM}


def _short(v):
    return f"{v:.3g}"


class LinearRegressionFit(LessonWidget):
    """Train the tutorial's linear model and watch the fit and the loss.

    ``LinearRegressionFit(lr=0.05, optimizer="Descent", epochs=100, seed=0, n_samps=10)``.

    Controls (ipywidgets, public): ``lr`` (learning rate, log scale 1e-4 to 1),
    ``optimizer`` (``"Descent"`` or ``"ADAM"``), ``epochs`` (1 to 500) and ``seed`` (which
    data and which starting ``W``, ``b``). Every change retrains from the same start, so the
    runs compare fairly; the previous run stays on the loss plot as a faded line.

    Results: `run` returns ``losses``, one per epoch; ``W``, ``b``, ``x``, ``y``,
    ``predictions`` (2 × n_samps), ``optimizer_rule`` (the rule used) and ``diverged``
    (True when the loss overflowed: the run stops there and ``status`` says why).

    >>> from fluxlite.widgets import LinearRegressionFit
    >>> fit = LinearRegressionFit(lr=0.05, optimizer="Descent", epochs=20)
    >>> losses = fit.run()
    >>> len(losses), losses[-1] < losses[0]
    (20, True)
    >>> fit.optimizer.value = "ADAM"       # retrains at once
    >>> fit.optimizer_rule
    Adam(0.05, (0.9, 0.999), 1.0e-8)
    >>> fit.losses[-1] != losses[-1]
    True
    """

    name = "linear-regression fit"
    _classes = {"optimizer": "fl-optimizer", "lr": "fl-lr", "epochs": "fl-epochs",
                "seed": "fl-seed"}

    def __init__(self, lr=0.05, optimizer="Descent", epochs=100, seed=0, n_samps=10):
        super().__init__(width=9.0, height=3.9)
        wide = ipywidgets.Layout(width="24em")
        self.lr = ipywidgets.FloatLogSlider(
            value=lr, base=10, min=-4, max=0, step=0.01, description="learning rate",
            readout_format=".3g", continuous_update=False, layout=wide,
            style={"description_width": "7em"})
        self.optimizer = ipywidgets.ToggleButtons(
            options=list(_OPTIMIZERS), value=optimizer, description="optimizer",
            style={"description_width": "7em", "button_width": "6em"})
        self.epochs = ipywidgets.IntSlider(
            value=epochs, min=1, max=500, description="epochs", continuous_update=False,
            layout=wide, style={"description_width": "7em"})
        self.seed = ipywidgets.IntSlider(
            value=seed, min=0, max=20, description="data seed", continuous_update=False,
            layout=wide, style={"description_width": "7em"})
        self.n_samps = n_samps
        self.losses, self.previous, self.diverged = [], None, False
        self.W = self.b = self.x = self.y = self.predictions = self.optimizer_rule = None
        self._settings = None

        self._draw_axes()
        for control in (self.lr, self.optimizer, self.epochs, self.seed):
            control.observe(self._guard(self._on_change), names="value")
        self._guard(self.run)()

    # ---------------------------------------------------------------- the tutorial's loop
    def run(self):
        """Train from the start with the current settings, redraw, and return the losses.

        One loss per epoch: the sum of ``loss(x[i], y[i])`` over the samples after that epoch.

        >>> fit = LinearRegressionFit(epochs=5)
        >>> [round(v, 3) for v in fit.run()] == [round(v, 3) for v in fit.losses]
        True
        """
        lr, name, epochs = float(self.lr.value), self.optimizer.value, int(self.epochs.value)
        settings = (name, lr, epochs, int(self.seed.value))
        if self.losses and settings != self._settings:
            self.previous = (self._label(*self._settings[:3]), list(self.losses))

        rng = np.random.default_rng(int(self.seed.value))
        x, y = fl.datasets.linear_regression(self.n_samps, rng=rng)
        W, b = fl.param(rng.random((2, 5))), fl.param(rng.random(2))

        def predict(x):
            return W @ x + b

        def loss(x, y):
            ypred = predict(x)
            return np.sum((y - ypred) ** 2)

        start = np.stack([predict(xi) for xi in x], axis=-1)
        optimizer = _OPTIMIZERS[name](lr)
        losses, diverged = [], False
        with np.errstate(all="ignore"):
            for epoch in range(epochs):
                for i in range(len(x)):
                    grads = fl.gradient(lambda: loss(x[i], y[i]), fl.params(W, b))
                    for p in (W, b):
                        fl.update_(optimizer, p, grads[p])
                losses.append(float(sum(loss(xi, yi) for xi, yi in zip(x, y))))
                if not math.isfinite(losses[-1]) or losses[-1] > 1e12:
                    diverged = True
                    break
            predictions = np.stack([predict(xi) for xi in x], axis=-1)

        self.x, self.y, self.W, self.b = x, y, W, b
        self.optimizer_rule, self.losses, self.diverged = optimizer, losses, diverged
        self.predictions, self._start, self._settings = predictions, start, settings
        self._draw()
        if diverged:
            self.say(f"{self._label(name, lr, epochs)} diverged: after epoch {len(losses)} the "
                     f"loss was {losses[-1]:.3g} and growing, because each step overshoots. "
                     f"Try a smaller learning rate.", "warning")
        else:
            self.say(f"{self._label(name, lr, epochs)}: the loss went from {losses[0]:.4g} after "
                     f"the first epoch to {losses[-1]:.4g} after {len(losses)} "
                     f"({len(losses) * len(x)} updates).")
        return losses

    def code(self):
        """The tutorial's program for the current settings; running it gives the same losses.

        >>> fit = LinearRegressionFit(lr=0.01, optimizer="ADAM", epochs=3)
        >>> scope = {}
        >>> exec(fit.code(), scope)
        >>> scope["losses"] == fit.losses
        True
        """
        lr, name, epochs = float(self.lr.value), self.optimizer.value, int(self.epochs.value)
        return (
            "import numpy as np\n"
            "import fluxlite as fl\n\n"
            f"rng = np.random.default_rng({int(self.seed.value)})\n"
            f"x, y = fl.datasets.linear_regression({self.n_samps}, rng=rng)\n"
            "W, b = fl.param(rng.random((2, 5))), fl.param(rng.random(2))\n\n"
            "def predict(x):\n"
            "    return W @ x + b\n\n"
            "def loss(x, y):\n"
            "    ypred = predict(x)\n"
            "    return np.sum((y - ypred) ** 2)\n\n"
            f"optimizer = fl.{name}({lr!r})\n"
            "losses = []\n"
            f"for epoch in range({epochs}):\n"
            "    for i in range(len(x)):\n"
            "        grads = fl.gradient(lambda: loss(x[i], y[i]), fl.params(W, b))\n"
            "        for p in (W, b):\n"
            "            fl.update_(optimizer, p, grads[p])\n"
            "    losses.append(float(sum(loss(xi, yi) for xi, yi in zip(x, y))))\n"
        )

    # ---------------------------------------------------------------- callbacks and drawing
    def _on_change(self, change=None):
        self.run()

    @staticmethod
    def _label(name, lr, epochs):
        return f"{name}({_short(lr)}), {epochs} epochs"

    def _draw_axes(self):
        fig = self.fig
        fig.subplots_adjust(left=0.075, right=0.985, top=0.86, bottom=0.14, wspace=0.28)
        self.ax_fit, self.ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
        ax = self.ax_fit
        style_axes(ax, "target y", "prediction W x + b",
                   "Fitted predictions against targets")
        self._diagonal, = ax.plot([], [], color=MUTED, linestyle=(0, (4, 3)), linewidth=1,
                                  label="perfect fit")
        self._before = ax.scatter([], [], s=28, facecolors="none", edgecolors="#b0b8c1",
                                  linewidths=1.1, label="before training")
        self._dots = [ax.scatter([], [], s=34, color=c, edgecolors="white", linewidths=0.6,
                                 label=f"output {k + 1}", zorder=3)
                      for k, c in enumerate((COLORS["blue"], COLORS["orange"]))]
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        self._fit_note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                                 fontsize=10, color="#9a6700",
                                 bbox={"boxstyle": "round,pad=0.5", "fc": "#fff8e6",
                                       "ec": "#e7c873"})
        self._fit_note.set_visible(False)

        ax = self.ax_loss
        style_axes(ax, "epoch", "loss (sum over the samples, log scale)",
                   "Loss per epoch")
        ax.set_yscale("log")
        self._previous_line, = ax.plot([], [], color="#b0b8c1", linewidth=1.8,
                                       linestyle=(0, (5, 2)))
        self._loss_line, = ax.plot([], [], color=COLORS["vermillion"], linewidth=2.2)
        self._loss_end, = ax.plot([], [], "o", color=COLORS["vermillion"], markersize=5)
        self._loss_text = ax.annotate("", (0, 0), xytext=(-4, 7), textcoords="offset points",
                                      ha="right", fontsize=9, color=COLORS["vermillion"],
                                      bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                            "ec": "none", "alpha": 0.85}, zorder=5)
        self._suptitle = fig.suptitle("", x=0.075, ha="left", fontsize=12, color=INK)

    def _draw(self):
        y = np.stack(self.y, axis=-1)
        lo, hi = float(y.min()), float(y.max())
        pad = 0.25 * (hi - lo)
        lim = (lo - pad, hi + pad)
        ax = self.ax_fit
        ax.set_xlim(*lim)
        ax.set_ylim(*lim)
        self._diagonal.set_data(lim, lim)
        self._before.set_offsets(np.column_stack([y.ravel(), self._start.ravel()]))
        for k, dots in enumerate(self._dots):
            dots.set_offsets(np.column_stack([y[k], self.predictions[k]]))
        self._fit_note.set_text("Training diverged:\nthe predictions are far off this chart."
                                if self.diverged else "")
        self._fit_note.set_visible(self.diverged)

        losses = np.asarray(self.losses, dtype=float)
        epochs = np.arange(1, len(losses) + 1)
        label = self._label(*self._settings[:3])
        self._loss_line.set_data(epochs, losses)
        self._loss_line.set_label(label)
        finite = losses[np.isfinite(losses) & (losses > 0)]
        values = [finite]
        if self.previous is not None:
            prev_label, prev = self.previous
            prev = np.asarray(prev, dtype=float)
            self._previous_line.set_data(np.arange(1, len(prev) + 1), prev)
            self._previous_line.set_label(f"previous: {prev_label}")
            values.append(prev[np.isfinite(prev) & (prev > 0)])
        else:
            self._previous_line.set_data([], [])
            self._previous_line.set_label("_nolegend_")
        last = losses[-1]
        if math.isfinite(last) and last > 0:
            self._loss_end.set_data([len(losses)], [last])
            self._loss_text.xy = (len(losses), last)
            self._loss_text.set_text(f"{last:.3g}")
        else:
            self._loss_end.set_data([], [])
            self._loss_text.set_text("")
        values = np.concatenate(values)
        span = max(self._settings[2], len(self.previous[1]) if self.previous else 1)
        self.ax_loss.set_xlim(0, max(span, 2) * 1.03)
        if values.size:
            self.ax_loss.set_ylim(values.min() / 2, values.max() * 8)
        self.ax_loss.legend(loc="best", fontsize=8, frameon=False)
        state = "diverged" if self.diverged else f"final loss {last:.3g}"
        self._suptitle.set_text(f"{label}  ·  {state}")
        self.render()

    def _layout(self):
        return ipywidgets.VBox([row(self.optimizer), row(self.lr, self.epochs),
                                row(self.seed), self.image, self.status])
