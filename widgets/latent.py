"""Latent-space explorer (lesson 10): move sliders over a decoder's latent space, see the digit.

A variational autoencoder's decoder turns a latent vector ``z`` into an image. With a 2-D latent
space, each point of the plane is a picture. `LatentExplorer` shows one slider per latent
coordinate; every move decodes ``z`` with the decoder you give it and redraws the image. When you
also give it encoded points (for example the means ``μ`` of the test digits, with their labels),
the left panel shows them as a scatter coloured by digit, with a cross at the sliders' ``z``, so
you can see which region of the latent space you are decoding.

The picture is a matplotlib ``Figure`` drawn with Agg into an ``ipywidgets.Image`` by
`fluxlite.widgets.liveplot.LivePlot` (through `fluxlite.widgets._lesson.LessonWidget`): a
slider move only redraws the image and the cross over a cached background, so it takes a few
milliseconds.

>>> import numpy as np
>>> from fluxlite.widgets import LatentExplorer
>>> W = np.zeros((64, 2), np.float32); W[:32, 0] = 5; W[32:, 1] = 5    # a toy "decoder"
>>> ex = LatentExplorer(lambda z: W @ z)
>>> ex.z.tolist(), ex.image_array.shape
([0.0, 0.0], (8, 8))
>>> ex.sliders[0].value = 2.0                 # top half lights up
>>> round(float(ex.image_array[0, 0]), 3), round(float(ex.image_array[7, 0]), 3)
(1.0, 0.5)
>>> ex.error is None
True
"""
import ipywidgets
import numpy as np

import fluxlite as fl
from ._lesson import COLORS, INK, MUTED, LessonInputError, LessonWidget, style_axes

__all__ = ["LatentExplorer"]

# Ten colours for the digits 0-9 (matplotlib's tab10, the lesson's scatter colours).
_DIGIT_CMAP = "tab10"


class LatentExplorer(LessonWidget):
    """Sliders for the latent coordinates of `decoder`; the decoded image is redrawn live.

    ``LatentExplorer(decoder, latent_dim=2, limit=3.0, points=None, labels=None,
    activation=fl.σ, shape=(8, 8))``

    * `decoder` maps a ``latent_dim × N`` array to an ``out × N`` array of logits (Flux's
      layout: features first, batch last), e.g. the decoder ``Chain`` of a VAE;
    * `activation` turns the decoder's output into pixel values in [0, 1] (``fl.σ`` for logits;
      pass ``None`` for a decoder that already ends in σ); the output is reshaped to `shape`,
      row by row, as the digits are stored;
    * one slider per latent coordinate, from ``-limit`` to ``limit`` (the prior ``N(0, I)``
      puts 99.7% of its mass within 3 standard deviations);
    * `points` (``latent_dim × M``) and `labels` (``M``), if given and the latent space is 2-D,
      are drawn as a scatter coloured by label, with a cross at the current ``z``.

    Results: ``z`` (the current latent vector), ``image_array`` (the decoded picture as a
    ``shape`` array), `set` (move several sliders with one redraw), `save_png` (the picture).

    >>> import numpy as np
    >>> from fluxlite.widgets import LatentExplorer
    >>> ex = LatentExplorer(lambda z: np.tile(z.sum(axis=0), (64, 1)), limit=2)
    >>> ex.set(1.0, -1.0)
    >>> ex.z.tolist(), float(ex.image_array.mean())
    ([1.0, -1.0], 0.5)
    """

    name = "latent-space explorer"
    _classes = {"sliders": "fl-z"}

    def __init__(self, decoder, latent_dim=2, limit=3.0, points=None, labels=None,
                 activation=fl.σ, shape=(8, 8)):
        if not callable(decoder):
            raise LessonInputError(f"LatentExplorer needs a decoder: a function from a "
                                   f"latent_dim × N array to pixels, got {decoder!r}.")
        if int(latent_dim) < 1:
            raise LessonInputError(f"latent_dim must be 1 or more, got {latent_dim!r}.")
        self.decoder = decoder
        self.latent_dim = int(latent_dim)
        self.activation = activation
        self.shape = tuple(shape)
        self.limit = float(limit)
        show_map = points is not None and self.latent_dim == 2
        super().__init__(width=6.4 if show_map else 3.2, height=3.2)

        self.sliders = [
            ipywidgets.FloatSlider(value=0.0, min=-self.limit, max=self.limit, step=0.05,
                                   description=f"z{_sub(i + 1)}", readout_format=".2f",
                                   continuous_update=True,
                                   layout=ipywidgets.Layout(width="30em"))
            for i in range(self.latent_dim)]
        self._setting = False

        self._draw_axes(points, labels, show_map)
        for s in self.sliders:
            s.observe(self._guard(self._on_slider), names="value")
        self._guard(self._update)()

    # ---------------------------------------------------------------- public
    @property
    def z(self):
        """The latent vector the sliders point at (a float32 vector of length latent_dim)."""
        return np.array([s.value for s in self.sliders], dtype=np.float32)

    def set(self, *values):
        """Move the sliders to `values` (one number per latent coordinate) and redraw once."""
        if len(values) != self.latent_dim:
            raise LessonInputError(f"set() needs {self.latent_dim} numbers, one per latent "
                                   f"coordinate, got {len(values)}.")
        self._setting = True
        try:
            for s, v in zip(self.sliders, values):
                s.value = float(v)
        finally:
            self._setting = False
        self._guard(self._update)()

    # ---------------------------------------------------------------- drawing
    def _draw_axes(self, points, labels, show_map):
        fig = self.fig
        if show_map:
            ax_map = fig.add_axes([0.09, 0.14, 0.40, 0.74])
            pts = np.asarray(points, dtype=float)
            if pts.ndim != 2 or pts.shape[0] != 2:
                raise LessonInputError(f"points must be a 2 × M array (latent features first), "
                                       f"got shape {pts.shape}.")
            c = None if labels is None else np.asarray(labels)
            sc = ax_map.scatter(pts[0], pts[1], c=c, cmap=_DIGIT_CMAP, vmin=-0.5, vmax=9.5,
                                s=6, alpha=0.6, linewidths=0)
            style_axes(ax_map, "z₁", "z₂", "latent space (μ of each digit)")
            ax_map.set_xlim(-self.limit, self.limit)
            ax_map.set_ylim(-self.limit, self.limit)
            ax_map.set_aspect("equal")
            if labels is not None:
                cbar = fig.colorbar(sc, ax=ax_map, ticks=range(10), fraction=0.05, pad=0.02)
                cbar.ax.tick_params(labelsize=7)
                cbar.set_label("digit", fontsize=8, color=MUTED)
            self.marker = self.plot.animate(*ax_map.plot(
                [0], [0], marker="+", markersize=16, markeredgewidth=2.5,
                color=COLORS["vermillion"]))
            ax_img = fig.add_axes([0.60, 0.14, 0.36, 0.72])
        else:
            self.marker = None
            ax_img = fig.add_axes([0.1, 0.1, 0.8, 0.72])
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        for side in ax_img.spines.values():      # the image is drawn over them anyway
            side.set_visible(False)
        ax_img.set_title("decoded image", color=INK, fontsize=11, loc="left")
        self.ax_img = ax_img
        self.image_artist = self.plot.animate(ax_img.imshow(
            np.zeros(self.shape), cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest"))

    def _decode(self, z):
        try:
            out = self.decoder(np.reshape(z, (-1, 1)))
        except Exception as e:
            raise LessonInputError(f"The decoder failed on z of shape ({self.latent_dim}, 1): "
                                   f"{type(e).__name__}: {e}") from e
        out = np.asarray(out if self.activation is None else self.activation(out), dtype=float)
        if out.size != int(np.prod(self.shape)):
            raise LessonInputError(f"The decoder gave {out.size} numbers, but the picture "
                                   f"needs {int(np.prod(self.shape))} for shape {self.shape}.")
        return np.reshape(out, self.shape)

    def _on_slider(self, change=None):
        if not self._setting:
            self._update()

    def _update(self, change=None):
        z = self.z
        self.image_array = self._decode(z)
        self.image_artist.set_data(self.image_array)
        if self.marker is not None:
            self.marker.set_data([z[0]], [z[1]])
        self.say("z = (" + ", ".join(f"{v:+.2f}" for v in z) + ")")
        self.render(full=False)

    def _layout(self):
        return ipywidgets.VBox([ipywidgets.VBox(self.sliders), self.image, self.status])


def _sub(n):
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
