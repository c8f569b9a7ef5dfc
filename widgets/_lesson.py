"""What the lesson widgets share: a picture, a status line, and errors shown instead of raised.

A lesson widget (`GradientExplorer`, `LinearRegressionFit`, `OptimizerRace`, `LayerBuilder`,
`LatentExplorer`) draws one matplotlib ``Figure`` with Agg into an ``ipywidgets.Image`` through
the dashboard's `fluxlite.widgets.liveplot.LivePlot` (no pyplot, no ``clear_output``: a change
swaps the picture's bytes, so nothing flickers). Slider callbacks run synchronously, because
each update takes a few tens of milliseconds.

A callback must never crash silently: ipywidgets only *logs* an exception raised in a callback,
and a student sees nothing. So every callback runs through `LessonWidget._guard`, which shows
the problem in the widget's status line and keeps it in ``.error``:

* `LessonInputError`, raised for bad input (a user function that fails, zero layers), is shown
  as it is: a plain sentence saying what went wrong and what to do;
* any other exception is a bug in the widget; it is shown with its type, and kept too.

The pieces any widget of this package can share live here as plain functions: `guard` (a
callback whose exception goes to a report function instead of a log), `style_axes` (the axes'
look; ``small=True`` for the dashboard's compact plots), `row` (controls side by side, wrapping
when the notebook is narrow) and `placeholder_bundle` (the display data whose plain text says
"Run this cell to start the ...", shown wherever no live widget can be drawn).

>>> import ipywidgets
>>> from fluxlite.widgets._lesson import LessonWidget
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

from .liveplot import LivePlot

__all__ = ["LessonWidget", "LessonInputError", "COLORS", "INK", "MUTED", "GRID", "style_axes",
           "guard", "placeholder_bundle", "row"]

# Okabe–Ito colours: distinguishable with every common kind of colour blindness.
COLORS = {
    "blue": "#0072B2", "vermillion": "#D55E00", "orange": "#E69F00", "green": "#009E73",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442",
}
INK = "#1f2933"      # text and main curves
MUTED = "#7b8794"    # secondary text, faded lines
GRID = "#e4e7eb"


def style_axes(ax, xlabel=None, ylabel=None, title=None, *, small=False):
    """Give `ax` the widgets' look: light grid, no top/right frame, readable labels.

    ``small=True`` is the compact look of the dashboard's many little plots: 7-point tick
    labels, short ticks, paler lines.

    >>> from matplotlib.figure import Figure
    >>> from fluxlite.widgets._lesson import style_axes
    >>> ax = Figure().add_subplot()
    >>> style_axes(ax, "x", "f(x)", "a title")
    >>> ax.get_xlabel(), ax.spines["top"].get_visible()
    ('x', False)
    >>> style_axes(ax, small=True)
    >>> ax.yaxis.get_ticklabels()[0].get_fontsize()
    7.0
    """
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if small:
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#bbb")
        ax.tick_params(which="both", labelsize=7, colors="#555", length=2)
        ax.grid(True, color="#eee", lw=0.6)
    else:
        for side in ("left", "bottom"):
            ax.spines[side].set_color(MUTED)
        ax.tick_params(colors=INK, labelsize=9)
        ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    size = 8 if small else 10
    if xlabel is not None:
        ax.set_xlabel(xlabel, color=INK, fontsize=size)
    if ylabel is not None:
        ax.set_ylabel(ylabel, color=INK, fontsize=size)
    if title is not None:
        ax.set_title(title, color=INK, fontsize=size + 1, loc="left")


def row(*controls):
    """An ``HBox`` of `controls` that wraps onto more lines when the notebook is too narrow.

    >>> import ipywidgets
    >>> from fluxlite.widgets._lesson import row
    >>> box = row(ipywidgets.IntSlider(), ipywidgets.Dropdown(options=["a"]))
    >>> len(box.children), box.layout.flex_flow
    (2, 'row wrap')
    """
    return ipywidgets.HBox(list(controls), layout=ipywidgets.Layout(
        flex_flow="row wrap", grid_gap="2px 1.5em", max_width="100%"))


def guard(callback, report):
    """`callback`, changed so that an exception goes to ``report(exception)`` instead of up.

    ipywidgets only logs an exception raised in a callback, so a student would see nothing;
    `report` shows it (in a status line, say). The wrapper returns None after an error.

    >>> from fluxlite.widgets._lesson import guard
    >>> seen = []
    >>> safe = guard(lambda change: 1 / change, seen.append)
    >>> safe(4), safe(0), seen
    (0.25, None, [ZeroDivisionError('division by zero')])
    """
    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except Exception as e:  # shown by `report`, not lost in a log
            report(e)
            return None
    return guarded


def placeholder_bundle(widget, name):
    """The display data of ipywidgets `widget`, with "Run this cell to start the <name>." as text.

    A notebook shows the ``text/plain`` entry when it has no live widget to draw (a cell not
    run yet, a notebook saved without widget state, a viewer such as GitHub's); ipywidgets'
    own is a raw ``VBox(children=...`` repr. The widget-view entry is kept, so a live notebook
    still shows the widget itself.

    >>> import ipywidgets
    >>> from fluxlite.widgets._lesson import placeholder_bundle
    >>> box = ipywidgets.VBox()
    >>> bundle = placeholder_bundle(box, "layer builder")
    >>> bundle["text/plain"]
    'Run this cell to start the layer builder.'
    >>> bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    True
    """
    bundle = widget._repr_mimebundle_()
    if isinstance(bundle, tuple):     # (data, metadata)
        bundle = bundle[0]
    bundle = dict(bundle or {})
    bundle["text/plain"] = f"Run this cell to start the {name}."
    return bundle


class LessonInputError(ValueError):
    """Bad input to a lesson widget; its message is shown to the student as it is.

    >>> from fluxlite.widgets._lesson import LessonInputError
    >>> str(LessonInputError("Move the slider to 1 or more."))
    'Move the slider to 1 or more.'
    """


class LessonWidget:
    """Base class of the lesson widgets: a `LivePlot` picture, a status line and error handling.

    Subclasses build their controls, draw into ``self.fig``, call ``self.render()`` after a
    change, wrap every callback in ``self._guard(...)`` and define ``_layout()``, which returns
    the ipywidgets box shown by ``.widget``. Showing the object in a notebook shows that box;
    where no live widget can be drawn, the notebook shows "Run this cell to start the <name>."
    instead (``name``, a class attribute, is the widget's name in words).

    * ``image``: the ``ipywidgets.Image`` holding the picture (PNG bytes in ``image.value``);
    * ``status``: an ``ipywidgets.HTML`` line for messages; ``error``: the last exception
      caught by a callback, or None when the last update went well;
    * ``save_png(path)`` writes the current picture to a file.

    >>> from fluxlite.widgets._lesson import LessonWidget
    >>> w = LessonWidget(width=2, height=1.5)
    >>> w.say("hello")
    >>> "hello" in w.status.value, w.error is None
    (True, True)
    >>> w._repr_mimebundle_()["text/plain"]
    'Run this cell to start the lesson widget.'
    """

    #: what the widget is called in words, for "Run this cell to start the <name>."
    name = "lesson widget"

    def __init__(self, width=6.4, height=4.0, dpi=100):
        self.plot = LivePlot(width=width, height=height, dpi=dpi)
        self.fig = self.plot.fig
        self.image = self.plot.widget
        # Pixel for pixel where there is room (a stretched picture is blurred and pushes the
        # controls off screen), scaled down to the notebook's width where there is not.
        self.image.layout.width = f"{round(width * dpi)}px"
        self.image.layout.max_width = "100%"
        self.image.layout.height = "auto"
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
        safe = guard(callback, self._report)

        @functools.wraps(callback)
        def guarded(*args, **kwargs):
            outer = self._depth == 0   # a callback may set a control, firing another callback
            if outer:
                had_error, before = self.error is not None, self.status.value
                self.error = None
            self._depth += 1
            try:
                return safe(*args, **kwargs)
            finally:
                self._depth -= 1
                if outer and had_error and self.error is None and self.status.value == before:
                    self.status.value = ""   # the problem is gone, so is its message
        return guarded

    def _report(self, e):
        """Keep `e` in ``error`` and show it: as it is for bad input, with its type for a bug."""
        self.error = e
        if isinstance(e, LessonInputError):
            self.say(str(e), "error")
        else:
            self.say(f"Something went wrong inside the widget: {type(e).__name__}: {e}", "error")

    # ---------------------------------------------------------------- showing the widget
    def _layout(self):
        return ipywidgets.VBox([self.image, self.status])

    #: control attribute -> CSS class, so that a page (or a browser test) can find each control
    _classes = {}

    @property
    def widget(self):
        """The ipywidgets box with the controls, the picture and the status line.

        The box has the CSS class ``fl-<name in words, dashed>`` (``fl-lesson-widget`` here),
        the picture ``fl-picture`` and the status line ``fl-status``.

        >>> LessonWidget(width=2, height=1.5).widget._dom_classes
        ('fl-lesson', 'fl-lesson-widget')
        """
        if self._widget is None:
            box = self._layout()
            box.add_class("fl-lesson")
            box.add_class("fl-" + self.name.replace(" ", "-"))
            self.image.add_class("fl-picture")
            self.status.add_class("fl-status")
            for attribute, css in self._classes.items():
                controls = getattr(self, attribute)
                for control in controls if isinstance(controls, list) else [controls]:
                    control.add_class(css)
            self._widget = box
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        """The box's widget view; as plain text, "Run this cell to start the <name>."."""
        return placeholder_bundle(self.widget, self.name)

    def save_png(self, path):
        """Write the current picture to `path` (a PNG file) and return the path."""
        with open(path, "wb") as f:
            f.write(self.image.value)
        return path
