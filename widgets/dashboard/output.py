"""What the model does with the data: a decision boundary, a fitted curve, predictions against
targets, or (for data that cannot be drawn so) the accuracy per epoch.

`OutputView.mode` picks one from the data's shape and task.
"""
import math

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.ticker import MaxNLocator

from .._lesson import style_axes
from .settings import fmt
from .views import TEST_COLOR, TRAIN_COLOR, nice_ceiling

# Flux's orange and blue (as in TensorFlow Playground), then more classes.
CLASS_COLORS = ("#f59322", "#0877bd", "#3a9a4a", "#8e5bb5", "#c2484d", "#6b6b6b")


def output_mode(data):
    """``"boundary"``, ``"curve"``, ``"scatter"`` or ``"accuracy"``: how `data`'s output is drawn."""
    if data.task == "classification":
        return "boundary" if np.ndim(data.x_train) == 2 and data.n_in == 2 else "accuracy"
    return "curve" if data.n_in == 1 and data.n_out == 1 and np.ndim(data.x_train) == 2 \
        else "scatter"


class OutputView:
    """Draws the trainer's model over its data into `plot` (set up again when the data change)."""

    def __init__(self, plot):
        self.plot, self._structure, self.off_text, self.pred_sets = plot, None, None, []
        self.show_test, self.discrete = True, False
        self._test_artists = []         # what "Show test data" hides
        self._title = None

    def options(self, show_test=None, discrete=None):
        """Show or hide the test data; draw the boundary in its classes' colours only
        (`discrete`) or paler where the model is unsure. The view options change no training."""
        if show_test is not None:
            self.show_test = bool(show_test)
        if discrete is not None:
            self.discrete = bool(discrete)
        for artist in self._test_artists:
            artist.set_visible(self.show_test)
        if self._title is not None:         # the decision boundary's title names its points
            self._title.set_text("decision boundary    ● train" +
                                 ("   ◆ test" if self.show_test else ""))
        self.plot.invalidate()

    def draw(self, trainer):
        """Update the picture from the current model."""
        structure = (id(trainer.data), output_mode(trainer.data))
        if self._structure != structure:
            self._setup(trainer)
            self._structure = structure
        mode, model, inputs = structure[1], trainer.model, trainer.featurize
        if mode == "boundary":
            logits = np.asarray(model(self._inputs), dtype=np.float64)
            p = np.exp(logits - logits.max(0))
            p /= p.sum(0)
            k = p.shape[0]
            if self.discrete:       # the class the model picks, in that class's colour
                mix = self._class_rgb[np.nan_to_num(p).argmax(0) % len(self._class_rgb)]
                conf = np.full((p.shape[1], 1), 0.8)
            else:                   # a mix of the classes' colours, paler where unsure
                mix = p.T @ self._class_rgb[:k]
                conf = (p.max(0) - 1.0 / k) / (1.0 - 1.0 / k)
                conf = np.nan_to_num(conf)[:, None] * 0.8
            rgb = np.nan_to_num(1.0 - conf * (1.0 - mix), nan=1.0).clip(0, 1)
            n = self._grid_n
            self._image.set_data(rgb.reshape(n, n, 3))
        elif mode == "curve":
            yhat = np.asarray(model(inputs(self._xs[None, :])), float)[0]
            self._fit_line.set_ydata(self._pin([yhat])[0])
        elif mode == "scatter":
            preds = self._pin([np.asarray(model(inputs(X)), float) for _, X, _ in self.pred_sets])
            for (coll, X, Y), yhat in zip(self.pred_sets, preds):
                coll.set_offsets(np.column_stack([np.ravel(Y), np.ravel(yhat)]))
        else:
            history = trainer.history
            xs = [0] + [r["epoch"] for r in history]
            for line, which in self._acc_lines:
                line.set_data(xs, [trainer.initial[f"{which}_accuracy"]]
                              + [r[f"{which}_accuracy"] for r in history])
            xmax = nice_ceiling(trainer.epoch)
            if self._acc_ax.get_xlim()[1] != xmax:
                self._acc_ax.set_xlim(0, xmax)
                self.plot.invalidate()

    def _pin(self, predictions):
        """Predictions clipped to the plot's y range, so a fit is drawn even after it diverged.

        Points beyond the range sit on its edge, and a note gives the largest value (or says
        the predictions are NaN); the axes stay put, which keeps frames cheap.
        """
        lo, hi = self._ylim
        out, worst, nan = [], 0.0, False
        for p in predictions:
            p = np.asarray(p, float)
            nan = nan or bool(np.isnan(p).any())
            off = np.abs(p[np.isfinite(p) & ((p < lo) | (p > hi))])
            if off.size or np.isinf(p).any():
                worst = max(worst, float(off.max()) if off.size else math.inf)
            out.append(np.clip(np.nan_to_num(p, nan=lo, posinf=hi, neginf=lo), lo, hi))
        note = ("the predictions are NaN (drawn at the bottom edge)" if nan else
                f"predictions off the chart (up to {fmt(worst)}): drawn on its edge" if worst else "")
        self.off_text.set_text(note)
        return out

    def _setup(self, trainer):
        plot = self.plot
        fig = plot.fig
        fig.clf()
        plot.invalidate(forget=True)
        ax = fig.add_subplot()
        style_axes(ax, small=True)
        d, mode = trainer.data, output_mode(trainer.data)
        self._test_artists, self._title = [], None
        getattr(self, f"_setup_{mode}")(ax, d, trainer)
        if mode in ("curve", "scatter"):
            self.off_text = plot.animate(ax.text(0.5, 0.03, "", transform=ax.transAxes,
                                                 ha="center", fontsize=7.5, color="#b3261e"))
        fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.1)
        self.options()

    def _setup_boundary(self, ax, d, trainer):
        plot = self.plot
        X = np.concatenate([d.x_train, d.x_test], axis=1)
        lo, hi = X.min(1), X.max(1)
        pad = 0.12 * (hi - lo).max()
        center, half = (lo + hi) / 2, (hi - lo).max() / 2 + pad
        n = self._grid_n = 72
        g = np.linspace(-half, half, n)
        gx, gy = np.meshgrid(center[0] + g, center[1] + g)
        self._grid = np.stack([gx.ravel(), gy.ravel()]).astype(np.float32)
        self._inputs = trainer.featurize(self._grid)
        extent = (center[0] - half, center[0] + half, center[1] - half, center[1] + half)
        self._class_rgb = np.array([to_rgb(c) for c in CLASS_COLORS])
        self._image = plot.animate(ax.imshow(np.ones((n, n, 3)), origin="lower", extent=extent,
                                             interpolation="bilinear", aspect="auto"))
        cols = np.array(CLASS_COLORS)
        ytr, yte = np.argmax(trainer.Ytrain, 0), np.argmax(trainer.Ytest, 0)
        train = ax.scatter(d.x_train[0], d.x_train[1], c=cols[ytr % len(cols)], s=18,
                           edgecolors="white", linewidths=0.8)
        test = ax.scatter(d.x_test[0], d.x_test[1], c=cols[yte % len(cols)], s=14, marker="D",
                          edgecolors="#222", linewidths=0.6)
        plot.animate(train, test)
        self._test_artists = [test]
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        self._title = ax.set_title("", fontsize=8.5, color="#333")

    def _setup_curve(self, ax, d, trainer):
        X = np.concatenate([d.x_train, d.x_test], axis=1)[0]
        pad = 0.1 * (X.max() - X.min())
        self._xs = np.linspace(X.min() - pad, X.max() + pad, 200).astype(np.float32)
        ax.scatter(d.x_train[0], np.ravel(d.y_train), s=16, color=TRAIN_COLOR,
                   edgecolors="white", linewidths=0.5, label="train")
        self._test_artists = [ax.scatter(d.x_test[0], np.ravel(d.y_test), s=14, color=TEST_COLOR,
                                         marker="D", edgecolors="white", linewidths=0.5,
                                         label="test")]
        self._fit_line = self.plot.animate(*ax.plot(self._xs, np.zeros_like(self._xs),
                                                    color="#222", lw=2, label="model"))
        Y = np.concatenate([np.ravel(d.y_train), np.ravel(d.y_test)])
        span = Y.max() - Y.min()
        ax.set_xlim(self._xs[0], self._xs[-1])
        self._ylim = (Y.min() - 0.3 * span, Y.max() + 0.3 * span)
        ax.set_ylim(*self._ylim)
        ax.set_title("the model's curve and the data", fontsize=8.5, color="#333")
        ax.legend(fontsize=7, loc="lower right", frameon=False)

    def _setup_scatter(self, ax, d, trainer):
        Y = np.concatenate([np.ravel(d.y_train), np.ravel(d.y_test)])
        lo, hi = Y.min(), Y.max()
        pad = 0.25 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#aaa", lw=1, ls="--",
                label="perfect fit")
        self.pred_sets = []
        for X, Yt, color, marker, label in ((d.x_train, trainer.Ytrain, TRAIN_COLOR, "o", "train"),
                                            (d.x_test, trainer.Ytest, TEST_COLOR, "D", "test")):
            coll = self.plot.animate(ax.scatter(np.ravel(Yt), np.ravel(Yt), s=14, color=color,
                                                marker=marker, edgecolors="white",
                                                linewidths=0.5, label=label))
            self.pred_sets.append((coll, X, Yt))
        self._test_artists = [self.pred_sets[1][0]]
        ax.set_xlim(lo - pad, hi + pad)
        self._ylim = (lo - pad, hi + pad)
        ax.set_ylim(*self._ylim)
        ax.set_xlabel("target", fontsize=8)
        ax.set_ylabel("prediction", fontsize=8)
        ax.set_title("predictions against targets", fontsize=8.5, color="#333")
        ax.legend(fontsize=7, loc="upper left", frameon=False)

    def _setup_accuracy(self, ax, d, trainer):
        self._acc_ax = ax
        self._acc_lines = [
            (self.plot.animate(*ax.plot([], [], color=TRAIN_COLOR, lw=2, label="train")), "train"),
            (self.plot.animate(*ax.plot([], [], color=TEST_COLOR, lw=2, label="test")), "test")]
        self._test_artists = [self._acc_lines[1][0]]
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, 10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True, steps=[1, 2, 2.5, 5, 10]))
        ax.set_ylabel("accuracy", fontsize=8)
        ax.set_title(f"accuracy · {d.name}", fontsize=8.5, color="#333")
        ax.legend(fontsize=7, loc="lower right", frameon=False)
