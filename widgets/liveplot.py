"""A matplotlib figure that lives in an ``ipywidgets.Image`` and can be redrawn from any thread.

`LivePlot` owns a matplotlib ``Figure`` built with the object-oriented API and an Agg canvas
(no pyplot, so no global state and no GUI backend). You draw once, keep the artists, and on
each frame change their data (``line.set_data(x, y)``, ``image.set_data(z)``) and call
`render`, which draws the figure with Agg, encodes it as PNG and puts the bytes into
``widget.value``. The browser swaps the picture in place, with none of the flicker that
``clear_output`` causes.

Drawing axes, ticks and text is most of a frame's cost, and it rarely changes while a curve
grows. So artists registered with `animate` are left out of the full draw; `render` keeps the
rest as a background and, until `invalidate` is called (after you change limits, ticks or other
static artists), only restores that background and draws the animated artists over it
(blitting, as matplotlib's animations do).

A frame still costs milliseconds, far more than a training step of a small network, so a live
view should render about ten times a second and train many steps in between.
`render_seconds` (the last frame's cost) and `frames` help budget that.

>>> import numpy as np
>>> from fluxlite.widgets import LivePlot
>>> plot = LivePlot(width=3, height=2)
>>> ax = plot.fig.add_subplot()
>>> line = plot.animate(*ax.plot([0, 1], [0, 1]))
>>> before = plot.render()
>>> line.set_data([0, 1], [1, 0])
>>> after = plot.render()
>>> plot.frames, plot.full_draws, before[:8] == b"\\x89PNG\\r\\n\\x1a\\n", before != after
(2, 1, True, True)
"""
import io
import threading
import time

import ipywidgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

__all__ = ["LivePlot"]


class LivePlot:
    """A ``Figure`` of `width` × `height` inches at `dpi`, shown as ``ipywidgets.Image`` `widget`.

    ``LivePlot(width=5, height=3, dpi=100, layout=None)``. Build axes on `fig`
    (``plot.fig.add_subplot()``), update artists, then call `render` (from any thread: a lock
    keeps two renders from overlapping). `lock` can also guard your own changes to the artists
    against a render running in another thread. PNG compression is kept light (level 1): the
    bytes go over a local socket, and encoding is a large part of a frame. ``format="jpeg"``
    (at `quality`) encodes a picture-like figure, such as a heat map, several times faster.

    >>> from fluxlite.widgets import LivePlot
    >>> plot = LivePlot(width=2, height=1, dpi=50)
    >>> plot.widget.format, plot.fig.get_size_inches().tolist()
    ('png', [2.0, 1.0])
    """

    def __init__(self, width=5.0, height=3.0, dpi=100, layout=None, format="png",
                 compress_level=1, quality=90):
        if format not in ("png", "jpeg"):
            raise ValueError(f"LivePlot: format must be 'png' or 'jpeg', got {format!r}.")
        self.fig = Figure(figsize=(width, height), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        self.format = format
        self.quality = quality
        self.widget = ipywidgets.Image(format=format, layout=layout or ipywidgets.Layout())
        self.widget.add_class("fl-liveplot")
        self.lock = threading.RLock()
        self.compress_level = compress_level
        self.frames = 0
        self.render_seconds = 0.0     # cost of the last frame (draw + encode + send)
        self.total_seconds = 0.0      # of all frames so far
        self.full_draws = 0           # frames that redrew the background
        self._animated = []
        self._background = None

    def animate(self, *artists):
        """Mark `artists` as changing every frame: drawn over the cached background, in order.

        Returns the first artist, so ``line = plot.animate(*ax.plot(x, y))`` reads naturally.
        Artists removed from the figure (``fig.clf()``, ``ax.cla()``) are forgotten by
        `invalidate`.
        """
        with self.lock:
            for a in artists:
                a.set_animated(True)
                self._animated.append(a)
            self._background = None
        return artists[0] if artists else None

    def invalidate(self, forget=False):
        """Redraw the background at the next frame (limits, ticks or static artists changed).

        ``forget=True`` also drops the animated artists (after clearing the figure).
        """
        with self.lock:
            self._background = None
            if forget:
                self._animated = []

    def png(self):
        """Draw the figure with Agg and return it as PNG (or JPEG) bytes; the widget is left alone."""
        with self.lock:
            self._animated = [a for a in self._animated if a.figure is self.fig]
            if self._background is None:
                self.canvas.draw()                       # everything but the animated artists
                self._background = self.canvas.copy_from_bbox(self.fig.bbox)
                self.full_draws += 1
            else:
                self.canvas.restore_region(self._background)
            renderer = self.canvas.get_renderer()
            for a in self._animated:
                if a.get_visible():
                    a.draw(renderer)
            width, height = self.canvas.get_width_height()
            rgba = PILImage.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(),
                                       "raw", "RGBA", 0, 1)
            out = io.BytesIO()
            if self.format == "png":
                rgba.save(out, format="png", compress_level=self.compress_level)
            else:
                rgba.convert("RGB").save(out, format="jpeg", quality=self.quality)
            return out.getvalue()

    def render(self):
        """Draw, encode and show one frame; returns the PNG bytes."""
        start = time.perf_counter()
        data = self.png()
        self.widget.value = data
        spent = time.perf_counter() - start
        self.render_seconds = spent
        self.total_seconds += spent
        self.frames += 1
        return data

    def __repr__(self):
        w, h = self.canvas.get_width_height()
        return f"LivePlot({w}×{h} px, {self.frames} frames)"
