"""What the four lesson widgets share: a picture, a status line, and errors shown instead of raised.

A lesson widget (`GradientExplorer`, `LinearRegressionFit`, `OptimizerRace`, `LayerBuilder`)
draws one matplotlib ``Figure`` with Agg into an ``ipywidgets.Image`` through the dashboard's
`widgets.liveplot.LivePlot` (no pyplot, no ``clear_output``: a change swaps the picture's bytes,
so nothing flickers). Slider callbacks run synchronously, because each update takes a few tens
of milliseconds.

A callback must never crash silently: ipywidgets only *logs* an exception raised in a callback,
and a student sees nothing. So every callback runs through `LessonWidget._guard`, which shows
the problem in the widget's status line and keeps it in ``.error``:

* `LessonInputError`, raised for bad input (a user function that fails, zero layers), is shown
  as it is: a plain sentence saying what went wrong and what to do;
* any other exception is a bug in the widget; it is shown with its type, and kept too.

>>> import ipywidgets
>>> class Squares(LessonWidget):
...     def __init__(self):
...         super().__init__(width=2, height=1.5)
...         self.n = ipywidgets.IntSlider(value=2, min=-3, max=3)
...         self.n.observe(self._guard(self._update), names="value")
...         self._update()
...     def _update(self, change=None):
...         if self.n.value < 0:
...             raise LessonInputError("n must be 0 or more: move the slider right.")
...         self.say(f"{self.n.value}² = {self.n.value ** 2}")
...     def _layout(self):
...         return ipywidgets.VBox([self.n, self.status])
>>> w = Squares()
>>> w.n.value = -1
>>> w.error
LessonInputError('n must be 0 or more: move the slider right.')
>>> w.n.value = 3
>>> w.error is None, "9" in w.status.value
(True, True)
"""
import functools
import html

import ipywidgets

from widgets.liveplot import LivePlot

__all__ = ["LessonWidget", "LessonInputError", "COLORS", "INK", "MUTED", "GRID", "style_axes"]

# Okabe–Ito colours: distinguishable with every common kind of colour blindness.
COLORS = {
    "blue": "#0072B2", "vermillion": "#D55E00", "orange": "#E69F00", "green": "#009E73",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442",
}
INK = "#1f2933"      # text and main curves
MUTED = "#7b8794"    # secondary text, faded lines
GRID = "#e4e7eb"


def style_axes(ax, xlabel=None, ylabel=None, title=None):
    """Give `ax` the lesson widgets' look: light grid, no top/right frame, readable labels.

    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> style_axes(ax, "x", "f(x)", "a title")
    >>> ax.get_xlabel(), ax.spines["top"].get_visible()
    ('x', False)
    """
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=9)
    if xlabel is not None:
        ax.set_xlabel(xlabel, color=INK, fontsize=10)
    if ylabel is not None:
        ax.set_ylabel(ylabel, color=INK, fontsize=10)
    if title is not None:
        ax.set_title(title, color=INK, fontsize=11, loc="left")


class LessonInputError(ValueError):
    """Bad input to a lesson widget; its message is shown to the student as it is.

    >>> str(LessonInputError("Move the slider to 1 or more."))
    'Move the slider to 1 or more.'
    """


class LessonWidget:
    """Base class of the lesson widgets: a `LivePlot` picture, a status line and error handling.

    Subclasses build their controls, draw into ``self.fig``, call ``self.render()`` after a
    change, wrap every callback in ``self._guard(...)`` and define ``_layout()``, which returns
    the ipywidgets box shown by ``.widget``. Showing the object in a notebook shows that box.

    * ``image``: the ``ipywidgets.Image`` holding the picture (PNG bytes in ``image.value``);
    * ``status``: an ``ipywidgets.HTML`` line for messages; ``error``: the last exception
      caught by a callback, or None when the last update went well;
    * ``save_png(path)`` writes the current picture to a file.

    >>> w = LessonWidget(width=2, height=1.5)
    >>> w.say("hello")
    >>> "hello" in w.status.value, w.error is None
    (True, True)
    """

    def __init__(self, width=6.4, height=4.0, dpi=100):
        self.plot = LivePlot(width=width, height=height, dpi=dpi)
        self.fig = self.plot.fig
        self.image = self.plot.widget
        self.status = ipywidgets.HTML(layout=ipywidgets.Layout(min_height="1.6em"))
        self.error = None
        self._widget = None
        self._depth = 0

    # ---------------------------------------------------------------- drawing and messages
    def render(self, full=True):
        """Draw the figure into `image` (a swap of PNG bytes, so no flicker).

        ``full=True`` redraws everything (`LivePlot.invalidate`): titles, limits and labels may
        have changed. ``full=False`` only redraws the artists registered with
        ``self.plot.animate(...)`` over the cached background, which is several times faster.
        """
        if full:
            self.plot.invalidate()
        return self.plot.render()

    def say(self, text, kind="info"):
        """Show `text` in the status line; ``kind`` is ``"info"``, ``"warning"`` or ``"error"``."""
        colour = {"info": MUTED, "warning": "#9a6700", "error": "#b42318"}[kind]
        mark = {"info": "", "warning": "⚠ ", "error": "⚠ "}[kind]
        self.status.value = (f'<span style="color:{colour}; font-size:0.95em">'
                             f"{mark}{html.escape(str(text))}</span>")

    def _guard(self, callback):
        """`callback`, changed so that an exception is shown in the status line, not raised."""
        @functools.wraps(callback)
        def guarded(*args, **kwargs):
            outer = self._depth == 0   # a callback may set a control, firing another callback
            if outer:
                had_error, before = self.error is not None, self.status.value
                self.error = None
            self._depth += 1
            try:
                return callback(*args, **kwargs)
            except LessonInputError as e:
                self.error = e
                self.say(str(e), "error")
            except Exception as e:  # a bug: show it plainly rather than lose it in a log
                self.error = e
                self.say(f"Something went wrong inside the widget: {type(e).__name__}: {e}",
                         "error")
            finally:
                self._depth -= 1
                if outer and had_error and self.error is None and self.status.value == before:
                    self.status.value = ""   # the problem is gone, so is its message
        return guarded

    # ---------------------------------------------------------------- showing the widget
    def _layout(self):
        return ipywidgets.VBox([self.image, self.status])

    @property
    def widget(self):
        """The ipywidgets box with the controls, the picture and the status line."""
        if self._widget is None:
            self._widget = self._layout()
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def save_png(self, path):
        """Write the current picture to `path` (a PNG file) and return the path."""
        with open(path, "wb") as f:
            f.write(self.image.value)
        return path
