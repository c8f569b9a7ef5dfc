"""The loss curves with the list of earlier runs, and the gradient-norm bars.

Each view draws a `.trainer.Trainer` into its `LivePlot`; the dashboard calls
``draw(trainer)`` and then the plot's ``render()``, under the trainer's lock.
"""
import html
import math

import ipywidgets as W
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .._lesson import style_axes
from .settings import fmt

TRAIN_COLOR, TEST_COLOR = "#0877bd", "#f59322"
RUN_COLORS = ("#7f7f7f", "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
              "#d62728")


def nice_ceiling(n):
    """The smallest of 10, 15, 20, 30, 40, 60, 80, 100, 150, ... that is at least `n`.

    >>> [nice_ceiling(n) for n in (0, 10, 11, 90, 1234)]
    [10, 10, 15, 100, 1500]
    """
    scale = 1
    while True:
        for step in (10, 15, 20, 30, 40, 60, 80):
            if step * scale >= n:
                return step * scale
        scale *= 10


def curve(run, key):
    """``(epochs, values)`` of one of a run's records, epoch 0 (before training) first."""
    xs = [0] + [r["epoch"] for r in run.history]
    ys = [run.initial[key]] + [r[key] for r in run.history]
    return np.asarray(xs, float), np.clip(np.asarray(ys, float), 1e-12, None)


class LossView:
    """The train and test loss of the current run, the earlier runs on the same data faded,
    and under the plot the list of those runs, each with a checkbox that shows or hides it.

    `toggle(number)` makes the callback of run `number`'s checkbox (``callback(change)``).
    """

    def __init__(self, plot, toggle):
        self.plot, self.toggle = plot, toggle
        self.ax = plot.fig.add_subplot()
        self.ax.set_yscale("log")
        self.label = W.HTML()
        self.box = W.VBox([self.label])      # the note, then one row per earlier run
        self.box.add_class("fl-runs")
        self.toggles = {}                    # run number -> its visibility Checkbox
        self.forget()

    def forget(self):
        """Redraw everything at the next `draw` (the list of runs changed)."""
        self._drawn, self._list_key, self._limits = None, None, None

    @staticmethod
    def comparable(trainer):
        """The earlier runs drawn with the current one: same data set and same loss only, so
        one axis never mixes, say, a cross-entropy on circles with a mean squared error."""
        s = trainer.run.settings
        return [r for r in trainer.runs if r is not trainer.run
                and r.settings["dataset"] == s["dataset"] and r.settings["loss"] == s["loss"]]

    def _setup(self, trainer, past):
        plot, ax = self.plot, self.ax
        ax.cla()
        plot.invalidate(forget=True)
        ax.set_yscale("log")
        style_axes(ax, small=True)
        for r in (r for r in past if r.visible):
            color = RUN_COLORS[r.number % len(RUN_COLORS)]
            x, y = curve(r, "train_loss")
            ax.plot(x, y, color=color, alpha=0.5, lw=1.2, label=r.label)
            x, y = curve(r, "test_loss")
            ax.plot(x, y, color=color, alpha=0.4, lw=1.0, ls=(0, (3, 2)))
        self._train_line = plot.animate(*ax.plot([], [], color=TRAIN_COLOR, lw=2,
                                                 label="train (this run)"))
        self._test_line = plot.animate(*ax.plot([], [], color=TEST_COLOR, lw=2, label="test"))
        self._diverged_text = plot.animate(ax.text(
            0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
            color="#b3261e", fontsize=11, weight="bold"))
        ax.set_xlabel("epoch", fontsize=8, labelpad=1)
        ax.set_ylabel("loss", fontsize=8, labelpad=1)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True, steps=[1, 2, 2.5, 5, 10]))
        list_key = (tuple(r.number for r in past), len(trainer.runs))
        if list_key != self._list_key:     # not for a mere visibility toggle
            self._draw_list(trainer, past)
            self._list_key = list_key
        plot.fig.subplots_adjust(left=0.12, right=0.98, top=0.97, bottom=0.17)
        self._limits = None

    def draw(self, trainer):
        """Update the curves (and the axes, the list of runs when they changed)."""
        past = self.comparable(trainer)
        key = (tuple((r.number, r.visible) for r in past), trainer.run.number)
        if self._drawn != key:
            self._setup(trainer, past)
            self._drawn = key
        x, y = curve(trainer.run, "train_loss")
        self._train_line.set_data(x, y)
        xt, yt = curve(trainer.run, "test_loss")
        self._test_line.set_data(xt, yt)
        self._diverged_text.set_text("diverged ✕  try a smaller learning rate"
                                     if trainer.run.diverged else "")
        shown = [r for r in past if r.visible]
        ys = np.concatenate([y, yt] + [curve(r, k)[1] for r in shown
                                       for k in ("train_loss", "test_loss")])
        ys = ys[np.isfinite(ys)]
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (0.1, 1.0)
        # Sticky limits (quarter decades; epochs in steps 10, 15, 20, 30, 40, 60, 80, 100, ...)
        # so that the axes, the costly part of a frame, are redrawn only rarely.
        ylo = 10.0 ** (math.floor(4 * math.log10(lo)) / 4)
        yhi = 10.0 ** (math.ceil(4 * math.log10(hi) + 1e-9) / 4)
        if yhi / ylo < 10 ** 0.5:
            yhi = ylo * 10 ** 0.5
        xmax = nice_ceiling(max([trainer.epoch] + [len(r.history) for r in shown]))
        limits = (xmax, ylo, yhi)
        if limits != self._limits:
            ax = self.ax
            ax.set_xlim(0, xmax)
            ax.set_ylim(ylo, yhi)
            # plain numbers (0.1, 0.2, 0.5, 1 …) rather than 10⁻¹ and 2×10⁻¹ on the log axis
            decades = math.log10(yhi / ylo)
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if decades > 3 else
                                                  (1.0, 2.0, 5.0) if decades > 1.2 else
                                                  (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            self._limits = limits
            self.plot.invalidate()

    def _draw_list(self, trainer, past):
        """The earlier runs under the loss plot, newest first, each with a checkbox that shows
        or hides its curves (sharper than a legend inside the plot)."""
        others = len(trainer.runs) - 1 - len(past)
        hidden_note = (f" {others} run{'s' if others > 1 else ''} on other data "
                       f"{'are' if others > 1 else 'is'} kept but not drawn here."
                       if others else "")
        if not past:
            self.label.value = ("<span class='fl-note'>Earlier runs stay here as faded lines: "
                                "change a setting or press Reset to compare."
                                f"{hidden_note}</span>")
        else:
            self.label.value = ("<div class='fl-note'>earlier runs on this data (solid: train, "
                                f"dashed: test; untick to hide).{hidden_note}</div>")
        for box in self.toggles.values():
            box.close()
        self.toggles, rows = {}, []
        for r in reversed(past):
            color = RUN_COLORS[r.number % len(RUN_COLORS)]
            last = r.history[-1] if r.history else r.initial
            end = "diverged" if r.diverged else (f"train {fmt(last['train_loss'])} · test "
                                                 f"{fmt(last['test_loss'])}")
            box = W.Checkbox(value=r.visible, indent=False, description="",
                             layout=W.Layout(width="18px", margin="0 4px 0 0"))
            box.add_class("fl-run-toggle")
            box.observe(self.toggle(r.number), "value")
            self.toggles[r.number] = box
            text = W.HTML(f"<span style='color:{color}'>━</span> {html.escape(r.label)} "
                          f"<span class='fl-note'>— {len(r.history)} epochs, {end}</span>")
            rows.append(W.HBox([box, text], layout=W.Layout(align_items="center")))
        for row in self.box.children[1:]:
            row.children[1].close()
            row.close()
        self.box.children = [self.label] + rows


class GradientView:
    """One bar per layer: the gradient norm of the last step on a log axis, red and labelled
    ``vanishing`` or ``exploding`` when `.gradients.gradient_verdict` says so."""

    def __init__(self, plot):
        self.plot, self.names, self.texts = plot, None, []

    def _setup(self, names):
        plot, fig = self.plot, self.plot.fig
        fig.clf()
        plot.invalidate(forget=True)
        ax = fig.add_subplot()
        style_axes(ax, small=True)
        ax.grid(True, axis="x", which="major", color="#e6e6e6", lw=0.6)
        ys = np.arange(len(names))[::-1]
        ax.set_xscale("log")
        ax.set_xlim(1e-6, 1e2)
        self._bars = list(ax.barh(ys, np.full(len(names), 1e-6), left=1e-6,
                                  color=TRAIN_COLOR, height=0.62))
        plot.animate(*self._bars)
        ax.set_yticks(ys)
        ax.set_yticklabels(names, fontsize=7)
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", length=0)
        self.texts = [plot.animate(ax.text(0, y, "", va="center", fontsize=6.5, color="#333"))
                      for y in ys]
        self._limits = None
        self.names = names
        fig.subplots_adjust(left=0.3, right=0.97, top=0.96, bottom=0.13)

    def draw(self, trainer):
        """Update the bars from the trainer's last step."""
        names = trainer.norm_names()
        if self.names != names or not self.plot.fig.axes:
            self._setup(names)
        ax = self.plot.fig.axes[0]
        layers = trainer.layer_gradients()
        norms = [n for _, n, _ in layers]
        finite = [n for n in norms if math.isfinite(n) and n > 0]
        lo = 10.0 ** min([-6] + [math.floor(math.log10(n)) - 1 for n in finite])
        hi = 10.0 ** max([2] + [math.ceil(math.log10(n)) + 1 for n in finite])
        if (lo, hi) != self._limits:
            ax.set_xlim(lo, hi)
            self._limits = (lo, hi)
            self.plot.invalidate()
        for i, (bar, text) in enumerate(zip(self._bars, self.texts)):
            if i >= len(norms):
                bar.set_width(0)
                text.set_text("")
                continue
            n = norms[i]
            shown = n if math.isfinite(n) and n > lo else lo
            bar.set_x(lo)
            bar.set_width(shown - lo)
            verdict = layers[i][2]
            bar.set_color(TRAIN_COLOR if verdict == "ok" else "#c0392b")
            inside = math.log10(shown) > math.log10(hi) - 1.6    # no room right of the bar
            text.set_position((shown / 1.3 if inside else shown * 1.4, text.get_position()[1]))
            text.set_horizontalalignment("right" if inside else "left")
            text.set_color("white" if inside else "#333")
            text.set_text(f"{n:.1e}" + ("" if verdict == "ok" else f"  {verdict}"))
