"""`Screen`: every view of the dashboard, and `Screen.render`, which draws one frame of a trainer.

The views are the epoch counter, the losses in words, the status line, the model as Flux prints
it, the code box, and four plots: the loss curves (`LossView`), the model's output
(`OutputView`), the gradient-norm bars (`GradientView`) and the network (`DiagramView`).
"""
import html
import re
import time

import ipywidgets as W

from ..liveplot import LivePlot
from .diagram import DiagramView
from .output import OutputView
from .settings import fmt
from .views import TEST_COLOR, TRAIN_COLOR, GradientView, LossView

# The views a dashboard shows as its own attributes (``dash.loss_plot``, ``dash.status_label``...).
VIEWS = ("epoch_label", "loss_label", "status_label", "model_label", "code_view", "loss_plot",
         "output_plot", "grad_plot", "network_plot")


class Screen:
    """The dashboard's views. `toggle(number)` makes the callback of run `number`'s checkbox.

    >>> from fluxlite.widgets.dashboard.trainer import DEFAULTS, Trainer
    >>> screen = Screen(toggle=lambda number: print)
    >>> screen.render(Trainer(dict(DEFAULTS, dataset="xor")))
    >>> screen.frames, screen.output_plot.widget.value[:4] == b"\\xff\\xd8\\xff\\xe0"
    (1, True)
    """

    def __init__(self, toggle):
        self.epoch_label = W.HTML()
        self.epoch_label.add_class("fl-epoch")
        self.loss_label = W.HTML()
        self.loss_label.add_class("fl-losses")
        self.status_label = W.HTML()
        self.status_label.add_class("fl-status-text")
        self.model_label = W.HTML()
        self.model_label.add_class("fl-model")
        self.code_view = W.HTML(layout=W.Layout(display="none"))
        self.code_view.add_class("fl-code")
        self.loss_plot = LivePlot(4.6, 2.35)
        self.loss_plot.widget.add_class("fl-loss-plot")
        self.output_plot = LivePlot(3.6, 3.3, format="jpeg")
        self.output_plot.widget.add_class("fl-output-plot")
        self.grad_plot = LivePlot(3.1, 2.1)
        self.grad_plot.widget.add_class("fl-grad-plot")
        self.network_plot = LivePlot(3.2, 2.2, format="jpeg")
        self.network_plot.widget.add_class("fl-network-plot")
        for p in (self.loss_plot, self.output_plot, self.grad_plot):
            p.fig.set_facecolor("white")
        self.loss_view = LossView(self.loss_plot, toggle)
        self.output_view = OutputView(self.output_plot)
        self.grad_view = GradientView(self.grad_plot)
        self.network_view = DiagramView(self.network_plot)
        self.frames = 0                # frames drawn (each redraws the views that changed)
        self.frame_cost = 0.04         # seconds the last frame took
        self._loss_key = None

    def set_status(self, text, level="info"):
        """Show `text` in the status line; `level` is ``"info"``, ``"warn"`` or ``"error"``."""
        self.status_label.value = f"<span class='fl-{level}'>{html.escape(text)}</span>"

    def show_model(self, model):
        """Print `model` as Flux does, with its column padding squeezed to fit the column."""
        text = "\n".join(re.sub(r"(?<=\S) {2,}", "  ", line) for line in repr(model).splitlines())
        self.model_label.value = f"<pre>{html.escape(text)}</pre>"

    def draw_texts(self, trainer):
        """The epoch counter and the losses (and accuracies) in words."""
        r = trainer.history[-1] if trainer.history else trainer.initial
        self.epoch_label.value = f"<small>epoch</small>{trainer.epoch:,}".replace(",", "\u2009")
        lines = [f"<span style='color:{TRAIN_COLOR}'>■</span> train loss "
                 f"<b>{fmt(r['train_loss'], 4)}</b>",
                 f"<span style='color:{TEST_COLOR}'>■</span> test loss "
                 f"<b>{fmt(r['test_loss'], 4)}</b>"]
        if "train_accuracy" in r:
            lines[0] += f" · accuracy <b>{r['train_accuracy']:.0%}</b>"
            lines[1] += f" · accuracy <b>{r['test_accuracy']:.0%}</b>"
        lr = trainer.lr
        lines.append(f"<span class='fl-note'>step {trainer.steps:,} · learning rate "
                     f"{fmt(lr) if lr is not None else '—'}</span>")
        self.loss_label.value = "<br>".join(lines)

    def render(self, trainer, live=False):
        """Draw every view from the trainer's state: one frame.

        The loss plot is only redrawn when its curves changed (an epoch ended, a run was added
        or removed); the model's output changes at every step. While training runs (`live`),
        the gradient-norm bars and the network diagram take turns, one of them every frame,
        which keeps the frame rate at 10 per second or more; any other render draws everything.
        """
        with trainer.lock:
            start = time.perf_counter()
            self.draw_texts(trainer)
            key = (trainer.run.number, trainer.epoch, tuple(r.number for r in trainer.runs),
                   trainer.run.diverged)
            if key != self._loss_key:
                self.redraw_losses(trainer)
                self._loss_key = key
            self.output_view.draw(trainer)
            self.output_plot.render()
            if not live or self.frames % 2 == 0:
                self.grad_view.draw(trainer)
                self.grad_plot.render()
            if not live or self.frames % 2 == 1:
                self.network_view.draw(trainer)
            self.frames += 1
            self.frame_cost = time.perf_counter() - start

    def redraw_losses(self, trainer):
        """Draw the loss plot now (after a run was shown or hidden, say)."""
        self.loss_view.draw(trainer)
        self.loss_plot.render()

    def show_code(self, code):
        """Show `code` in the code box, or hide the box when `code` is None."""
        if code is None:
            self.code_view.layout.display = "none"
        else:
            self.code_view.value = f"<pre>{html.escape(code)}</pre>"
            self.code_view.layout.display = ""
