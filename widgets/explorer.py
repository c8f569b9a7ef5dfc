"""Gradient explorer (lesson 1): a curve, a point on it, and the tangent line from ``fl.gradient``.

The slope of ``f`` at ``x`` is its derivative ``f′(x)``; the tangent line through
``(x, f(x))`` is ``t(u) = f(x) + f′(x) · (u − x)``. The widget asks fluxlite for the slope,
``fl.gradient(f, x)[0]``, exactly as lesson 1 does, draws the tangent, and prints the number
next to a finite-difference check ``(f(x + h) − f(x − h)) / 2h``.
"""
import math
import textwrap

import ipywidgets
import numpy as np

import fluxlite as fl
from ._lesson import COLORS, INK, MUTED, LessonInputError, LessonWidget, row, style_axes

__all__ = ["GradientExplorer"]


def _tutorial_f(x, y):
    return 3 * x**2 + 2 * x + y


# key -> (label shown in the menu, function of x, or of (x, y) for the tutorial's f)
_BUILTIN = {
    "cubic": ("x³ − 2x", lambda x: x**3 - 2 * x),
    "sin": ("sin(x)", np.sin),
    "tanh": ("tanh(x)", np.tanh),
    "tutorial": ("3x² + 2x + y  (the tutorial's f)", _tutorial_f),
}

# Names a typed expression may use besides x: NumPy as np, fluxlite as fl, and the usual functions.
_EXPRESSION_NAMES = {
    "np": np, "fl": fl, "pi": np.pi, "e": np.e, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "abs": np.abs,
}

_XLIM = (-3.0, 3.0)
_H = 1e-5  # step of the finite-difference check


class GradientExplorer(LessonWidget):
    """Pick a function, move ``x``, and see the tangent line whose slope ``fl.gradient`` gives.

    ``GradientExplorer(function="cubic", x=1.0, f=None, expression="x**2 * np.sin(x)")``.

    Controls (ipywidgets, public): ``function`` (a menu: ``"cubic"`` x³ − 2x, ``"sin"``,
    ``"tanh"``, ``"tutorial"`` 3x² + 2x + y with y fixed, ``"custom"``), ``x_slider`` on
    [−3, 3], ``y_slider`` (the fixed y of the tutorial's f, shown only for it) and
    ``expression``, a text box for your own function of ``x`` written in Python
    (``np.exp(-x**2)``); pressing Enter selects it. A Python function of your own is passed as
    ``f=`` or to `use`.

    Results: ``slope`` = ``fl.gradient(f, x)[0]``, ``value`` = ``f(x)``, ``gradient_result``
    (the whole tuple, ``(∂f/∂x, ∂f/∂y)`` for the tutorial's f), ``tangent(u)``. A function
    that fails shows a message in ``status`` and leaves ``slope`` as None.

    >>> import numpy as np
    >>> from fluxlite.widgets import GradientExplorer
    >>> ex = GradientExplorer("cubic")
    >>> ex.x = 1.5
    >>> ex.slope                        # 3x² − 2 at x = 1.5
    4.75
    >>> ex.function.value = "tutorial"  # f(x, y) = 3x² + 2x + y with y = 2
    >>> ex.x = 2.0
    >>> ex.gradient_result              # the tutorial's df(2, 2) = (14, 1)
    (14.0, 1.0)
    >>> ex.use(lambda x: np.exp(-x**2), "a bell")
    >>> ex.x = 1.0
    >>> round(ex.slope, 6), round(float(-2 * np.exp(-1.0)), 6)
    (-0.735759, -0.735759)
    """

    name = "gradient explorer"
    _classes = {"function": "fl-function", "expression": "fl-expression", "x_slider": "fl-x",
                "y_slider": "fl-y", "readout": "fl-readout"}

    def __init__(self, function="cubic", x=1.0, *, f=None, expression="x**2 * np.sin(x)"):
        super().__init__(width=6.6, height=4.3)
        self.value = self.slope = self.gradient_result = None
        self._custom = None           # (label, function of x) for "custom"
        self._curve = None            # function of x currently drawn
        self._quiet = False           # True while the widget itself sets its controls
        self._failure = None          # why the current function cannot be drawn, if it cannot

        options = [(label, key) for key, (label, _) in _BUILTIN.items()]
        options.append(("your function (type it on the right)", "custom"))
        label = {"description_width": "4.5em"}
        self.function = ipywidgets.Dropdown(
            options=options, value="cubic", description="f(x) =", style=label,
            layout=ipywidgets.Layout(width="27em"))
        self.expression = ipywidgets.Text(
            value=expression, description="your f:", continuous_update=False, style=label,
            placeholder="a Python expression in x, e.g. np.exp(-x**2)",
            layout=ipywidgets.Layout(width="24em"))
        self.x_slider = ipywidgets.FloatSlider(
            value=x, min=_XLIM[0], max=_XLIM[1], step=0.01, description="x", style=label,
            continuous_update=True, readout_format=".2f", layout=ipywidgets.Layout(width="27em"))
        self.y_slider = ipywidgets.FloatSlider(
            value=2.0, min=-3.0, max=3.0, step=0.1, description="y (fixed)", style=label,
            readout_format=".1f", layout=ipywidgets.Layout(width="24em", display="none"))
        self.readout = ipywidgets.HTML()

        self._draw_axes()
        self.function.observe(self._guard(self._on_function), names="value")
        self.expression.observe(self._guard(self._on_expression), names="value")
        self.y_slider.observe(self._guard(self._on_function), names="value")
        self.x_slider.observe(self._guard(self._on_x), names="value")

        if f is not None:
            self.use(f)
        elif function == "custom":
            self._guard(self._on_expression)()
        elif function != self.function.value:
            self.function.value = function
        else:
            self._guard(self._on_function)()

    # ---------------------------------------------------------------- programmatic API
    @property
    def x(self):
        """The point where the slope is taken (the slider's value); setting it moves the slider."""
        return self.x_slider.value

    @x.setter
    def x(self, value):
        self.x_slider.value = value

    @property
    def y(self):
        """The fixed ``y`` of the tutorial's ``f(x, y) = 3x² + 2x + y``."""
        return self.y_slider.value

    @y.setter
    def y(self, value):
        self.y_slider.value = value

    def use(self, f, label=None):
        """Explore your own Python function `f` of one number (written with NumPy, e.g. ``np.sin``).

        >>> ex = GradientExplorer()
        >>> ex.use(lambda x: x**2, "x squared")
        >>> ex.x = 3.0
        >>> ex.slope
        6.0
        """
        if not callable(f):
            self.say(f"use() needs a function of x, such as lambda x: x**2, but got {f!r}.",
                     "error")
            return
        if label is None:
            name = getattr(f, "__name__", "")
            label = name if name and name != "<lambda>" else "your function"
        self._custom = (label, f)
        self._quiet = True   # empty the text box, so that any expression typed next replaces f
        try:
            self.expression.value = ""
            self.expression.placeholder = f"using {label}; type an expression in x to replace it"
        finally:
            self._quiet = False
        if self.function.value == "custom":
            self._guard(self._on_function)()
        else:
            self.function.value = "custom"

    def tangent(self, u):
        """The tangent line at the current ``x``: ``f(x) + slope · (u − x)`` (None on error).

        >>> ex = GradientExplorer("cubic", x=1.0)
        >>> ex.tangent(2.0)        # f(1) = −1, slope 1: −1 + 1·(2 − 1)
        0.0
        """
        if self.slope is None:
            return None
        return self.value + self.slope * (u - self.x)

    # ---------------------------------------------------------------- callbacks
    def _on_expression(self, change=None):
        if self._quiet:
            return
        text = self.expression.value.strip()
        if not text:
            raise LessonInputError("Type a function of x in the box, e.g. np.exp(-x**2), "
                                   "then press Enter.")
        try:
            code = compile(f"lambda x: ({text})", "<your function>", "eval")
        except SyntaxError as e:
            self._custom = None
            self._fail(f"f(x) = {text}", f"Python cannot read {text!r} ({e.msg}). Write an "
                       f"expression in x such as x**2 * np.sin(x), using ** for powers.")
        f = eval(code, dict(_EXPRESSION_NAMES))  # the student's own expression, in their kernel
        self._custom = (text, f)
        if self.function.value == "custom":
            self._on_function()
        else:
            self.function.value = "custom"

    def _on_function(self, change=None):
        if self._quiet:
            return
        key = self.function.value
        self.y_slider.layout.display = "" if key == "tutorial" else "none"
        if key == "custom":
            if self._custom is None:
                self._on_expression()
                return
            label, f = self._custom
            self._two_args = None
            title = f"f(x) = {label}"
        else:
            label, f = _BUILTIN[key]
            if key == "tutorial":
                y = self.y
                self._two_args = f
                f = (lambda g, y: lambda x: g(x, y))(f, y)
                title = f"f(x, y) = 3x² + 2x + y,  y = {y:g}"
            else:
                self._two_args = None
                title = f"f(x) = {label}"
        self._curve = f
        self.plot.invalidate()   # a new curve: the cached background must be redrawn
        self._draw_curve(f, title)
        self._on_x()

    def _on_x(self, change=None):
        if self._curve is None:      # nothing drawable: moving x keeps the message up
            raise self._failure
        self.value = self.slope = self.gradient_result = None
        try:
            self._measure()
        except LessonInputError as e:
            self._clear(str(e))
            raise
        self._message.set_visible(False)
        self._show_tangent(self.slope)
        self.render(full=False)

    def _clear(self, message):
        """After an error: no slope, no tangent, no readout; the message on the plot too."""
        self.value = self.slope = self.gradient_result = None
        self._show_tangent(None)
        self.readout.value = ""
        self._message.set_text("\n".join(textwrap.wrap("⚠ " + message, 58)))
        self._message.set_visible(True)
        self.render(full=False)

    def _fail(self, title, message):
        """A function that cannot be drawn at all: empty the plot, select "custom", and say why."""
        self._curve = None
        self.curve_line.set_data([], [])
        self._title_left.set_text(title)
        self.plot.invalidate()
        self._quiet = True
        try:
            self.function.value = "custom"
            self.y_slider.layout.display = "none"
        finally:
            self._quiet = False
        self._clear(message)
        self._failure = LessonInputError(message)
        raise self._failure

    def _check_value(self, f, x):
        """f(x) as a float, or a LessonInputError saying plainly what is wrong with it."""
        try:
            with np.errstate(all="ignore"):
                value = f(x)
        except Exception as e:
            raise LessonInputError(f"Your function raised {type(e).__name__}: {e} (at x = {x:g}). "
                                   f"Fix it, or move the slider.") from None
        if np.ndim(value) != 0:
            raise LessonInputError(f"f must return one number, but f({x:g}) returned an array of "
                                   f"shape {np.shape(value)}. Sum it (np.sum) or pick one entry.")
        return float(value)

    # ---------------------------------------------------------------- the mathematics
    def _layout(self):
        """Menu and text box, then the x and y sliders, then the picture and the readout."""
        rows = [row(self.function, self.expression), row(self.x_slider, self.y_slider)]
        return ipywidgets.VBox([*rows, self.image, self.readout, self.status])

    def _measure(self):
        """Compute f(x), the gradient tuple and the slope at the slider's x."""
        f, x = self._curve, float(self.x)
        value = self._check_value(f, x)
        if not math.isfinite(value):
            raise LessonInputError(f"f({x:g}) = {value}: the function is not defined there. "
                                   f"Move the slider.")
        try:
            with np.errstate(all="ignore"):
                if self._two_args is not None:
                    result = fl.gradient(self._two_args, x, float(self.y))
                else:
                    result = fl.gradient(f, x)
        except Exception as e:
            raise LessonInputError(f"fl.gradient could not differentiate your function: {e}") from None
        slope = result[0]
        with np.errstate(all="ignore"):
            check = (float(f(x + _H)) - float(f(x - _H))) / (2 * _H)
        if slope is None:
            if math.isfinite(check) and abs(check) > 1e-6:
                raise LessonInputError(
                    "fl.gradient found no path from x to the result (it returned None), yet f "
                    "changes with x. The function probably uses math.sin, float() or int(), which "
                    "fluxlite cannot follow: use NumPy functions such as np.sin instead.")
            slope = 0.0  # f does not depend on x: a flat tangent
        slope = float(slope)
        if not math.isfinite(slope):
            raise LessonInputError(f"The slope at x = {x:g} is {slope}: the curve is vertical or "
                                   f"broken there. Move the slider.")
        self.value, self.slope, self.gradient_result = value, slope, tuple(result)
        call = (f"fl.gradient(f, {x:g}, {float(self.y):g})" if self._two_args is not None
                else f"fl.gradient(f, {x:g})")
        shown = "(" + ", ".join("None" if g is None else f"{float(g):.4g}" for g in result)
        shown += ",)" if len(result) == 1 else ")"
        self.readout.value = (
            f'<div style="font-size:0.95em; line-height:1.5">'
            f"<code>{call}</code> → <code>{shown}</code><br>"
            f"f({x:.2f}) = <b>{value:.4g}</b>, slope f′({x:.2f}) = "
            f'<b style="color:{COLORS["vermillion"]}">{slope:.4g}</b> '
            f'<span style="color:{MUTED}">(finite-difference check: {check:.4g})</span></div>')

    # ---------------------------------------------------------------- drawing
    def _draw_axes(self):
        fig = self.fig
        fig.subplots_adjust(left=0.11, right=0.97, top=0.9, bottom=0.2)
        ax = self.ax = fig.add_subplot()
        style_axes(ax, "x", "f(x)")
        ax.set_xlim(*_XLIM)
        ax.axhline(0, color=MUTED, linewidth=0.8, zorder=1)
        self.curve_line, = ax.plot([], [], color=COLORS["blue"], linewidth=2.4, label="f(x)",
                                   zorder=3)
        self.tangent_line, = ax.plot([], [], color=COLORS["vermillion"], linewidth=1.8,
                                     label="tangent line, slope from fl.gradient", zorder=4)
        self._rise_run, = ax.plot([], [], color=COLORS["orange"], linewidth=1.4,
                                  linestyle=(0, (3, 2)), label="slope = rise / run", zorder=4)
        backdrop = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
        self._run_text = ax.annotate("", (0, 0), xytext=(0, -4), textcoords="offset points",
                                     color=COLORS["orange"], fontsize=9, ha="center", va="top",
                                     bbox=backdrop, zorder=5)
        self._rise_text = ax.annotate("", (0, 0), xytext=(5, 0), textcoords="offset points",
                                      color=COLORS["orange"], fontsize=9, va="center",
                                      bbox=backdrop, zorder=5)
        self.point, = ax.plot([], [], "o", color=COLORS["vermillion"], markersize=8,
                              markeredgecolor="white", markeredgewidth=1.5, zorder=6)
        self._title_left = ax.set_title("", loc="left", color=INK, fontsize=11)
        self._title_right = ax.set_title("", loc="right", color=COLORS["vermillion"],
                                         fontsize=11)
        fig.legend(handles=[self.curve_line, self.tangent_line, self._rise_run],
                   loc="lower center", ncol=3, frameon=False, fontsize=9)
        self._message = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center",
                                va="center", fontsize=10, color="#b42318", wrap=False,
                                bbox={"boxstyle": "round,pad=0.6", "fc": "#fdecea",
                                      "ec": "#f1a7a0"}, zorder=7)
        self._message.set_visible(False)
        # What moves with x is drawn over a cached picture of the rest, so dragging is smooth.
        self.plot.animate(self.tangent_line, self._rise_run, self._run_text, self._rise_text,
                          self.point, self._title_right, self._message)

    def _draw_curve(self, f, title):
        grid = np.linspace(*_XLIM, 601)
        with np.errstate(all="ignore"):
            try:
                ys = np.asarray(f(grid), dtype=float)
                if ys.shape != grid.shape:
                    raise ValueError
            except Exception:  # not vectorised (uses `if`, math.*...): one point at a time
                ys = np.array([_safe_float(f, g) for g in grid])
        finite = ys[np.isfinite(ys)]
        if finite.size == 0:
            try:
                self._check_value(f, float(self.x))   # the precise complaint, when there is one
            except LessonInputError as e:
                self._fail(title, str(e))
            self._fail(title, f"{title} gives no finite number anywhere on "
                              f"[{_XLIM[0]:g}, {_XLIM[1]:g}]; check the expression.")
        lo, hi = finite.min(), finite.max()
        p_lo, p_hi = np.percentile(finite, [2, 98])
        if hi - lo > 20 * max(p_hi - p_lo, 1e-12):  # a pole such as 1/x: ignore the spikes
            lo, hi = p_lo, p_hi
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        pad = 0.12 * (hi - lo)
        self.ax.set_ylim(lo - pad, hi + pad)
        self.curve_line.set_data(grid, ys)
        self._title_left.set_text(title)

    def _show_tangent(self, slope):
        if slope is None:
            for line in (self.tangent_line, self.point, self._rise_run):
                line.set_data([], [])
            self._run_text.set_text("")
            self._rise_text.set_text("")
            self._title_right.set_text("")
            return
        x0, y0 = self.x, self.value
        us = np.array(_XLIM)
        self.tangent_line.set_data(us, y0 + slope * (us - x0))
        self.point.set_data([x0], [y0])
        run = 1.0 if x0 <= _XLIM[1] - 1.5 else -1.0   # leave room for the label
        x1 = x0 + run
        self._rise_run.set_data([x0, x1, x1], [y0, y0, y0 + slope * run])
        self._run_text.xy = (x0 + run / 2, y0)
        down = slope * run < 0          # the triangle hangs below the run: label it above
        self._run_text.set_position((0, 4 if down else -4))
        self._run_text.set_va("bottom" if down else "top")
        self._run_text.set_text(f"run {_num(run)}")
        self._rise_text.xy = (x1, y0 + slope * run / 2)
        self._rise_text.set_position((5 * run, 0))
        self._rise_text.set_ha("left" if run > 0 else "right")
        self._rise_text.set_text(f"rise {_num(slope * run)}")
        name = "∂f/∂x" if self._two_args is not None else "f′(x)"
        self._title_right.set_text(f"x = {_num(x0)}   slope {name} = {_num(slope)}")


def _num(v):
    """A number for a label, with a typographic minus sign."""
    return f"{v:.3g}".replace("-", "−")


def _safe_float(f, x):
    try:
        return float(f(x))
    except Exception:
        return float("nan")
