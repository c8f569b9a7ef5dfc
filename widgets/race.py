"""Optimizer race: five of fluxlite's rules descend one 2-D loss surface from the same point.

Each runner is a real fluxlite rule updating a real array: at every step the widget asks
``fl.gradient`` for the gradient of the surface at the current point ``p`` and calls
``fl.update_(rule, p, g)``, the tutorial's implicit-style update. Their paths are drawn over the
contour lines of the surface. The rules are (``g`` the gradient, ``η`` the learning rate,
``ρ`` the momentum):

* ``Descent(η)``: ``p −= η g``;
* ``Momentum(η, ρ)``: ``v ← ρ v + η g``, ``p −= v``;
* ``Nesterov(η, ρ)``: ``p −= (1 + ρ) η g − ρ² v``, then ``v ← ρ v − η g``;
* ``RMSProp(η)``: ``q ← 0.9 q + 0.1 g²``, ``p −= η g / (√q + ε)``;
* ``Adam(η)``: bias-corrected averages of ``g`` and ``g²``; its first step is ``η · sign(g)``.

All five share one learning rate, so the race also shows that the same ``η`` means very
different step sizes: Descent's step grows with the gradient, Adam's and RMSProp's do not.
"""
import math
from dataclasses import dataclass

import ipywidgets
import numpy as np

import fluxlite as fl
from ._lesson import COLORS, INK, MUTED, LessonWidget, row, style_axes

__all__ = ["OptimizerRace", "SURFACES"]

RULES = ("Descent", "Momentum", "Nesterov", "RMSProp", "Adam")
_RULE_COLORS = {"Descent": COLORS["vermillion"], "Momentum": COLORS["orange"],
                "Nesterov": COLORS["green"], "RMSProp": COLORS["purple"], "Adam": COLORS["blue"]}
_BOUND = 1e3   # a path that leaves |p| < _BOUND (or stops being finite) has diverged


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface ``f(x, y)``, written in NumPy, with a view and a starting point."""

    label: str
    formula: str
    f: object
    start: tuple
    xlim: tuple
    ylim: tuple
    minima: tuple


_C, _S = math.cos(0.5), math.sin(0.5)

SURFACES = {
    "rosenbrock": Surface(
        "Rosenbrock's banana valley", "(1 − x)² + 5 (y − x²)²",
        lambda x, y: (1 - x) ** 2 + 5 * (y - x ** 2) ** 2,
        (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), ((1.0, 1.0),)),
    "bowl": Surface(
        "Tilted narrow bowl", "½ (c x + s y)² + 5 (c y − s x)²,  c, s = cos ½, sin ½",
        lambda x, y: 0.5 * (_C * x + _S * y) ** 2 + 5 * (_C * y - _S * x) ** 2,
        (-2.5, 1.5), (-3.0, 3.0), (-2.0, 2.0), ((0.0, 0.0),)),
    "saddle": Surface(
        "Saddle between two valleys", "½ x² + ¼ y⁴ − ½ y²",
        lambda x, y: 0.5 * x ** 2 + 0.25 * y ** 4 - 0.5 * y ** 2,
        (-2.0, 0.05), (-2.5, 2.5), (-1.6, 1.6), ((0.0, 1.0), (0.0, -1.0))),
}


def make_rules(lr, momentum):
    """Fresh fluxlite rules for the race: one shared learning rate, ``momentum`` as ρ.

    >>> from fluxlite.widgets.race import make_rules
    >>> make_rules(0.01, 0.9)["Nesterov"]
    Nesterov(0.01, 0.9)
    """
    return {"Descent": fl.Descent(lr), "Momentum": fl.Momentum(lr, momentum),
            "Nesterov": fl.Nesterov(lr, momentum), "RMSProp": fl.RMSProp(lr),
            "Adam": fl.Adam(lr)}


def descend(f, start, rule, steps):
    """The path of `rule` on ``f(x, y)`` from `start`: an array of shape ``(n + 1, 2)``.

    Each step is ``g = fl.gradient(loss, p)[0]`` then ``fl.update_(rule, p, g)``. The path
    stops early, after the step that leaves ``|p| < 1000`` or makes ``p`` non-finite.

    >>> import fluxlite as fl
    >>> from fluxlite.widgets.race import descend
    >>> path = descend(lambda x, y: x**2 + y**2, (1.0, 2.0), fl.Descent(0.1), 2)
    >>> path            # each step multiplies p by 1 − 2·0.1
    array([[1.  , 2.  ],
           [0.8 , 1.6 ],
           [0.64, 1.28]])
    """
    def loss(p):
        return f(p[0], p[1])

    p = np.array(start, dtype=float)
    path = [p.copy()]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            g = fl.gradient(loss, p)[0]
            fl.update_(rule, p, g)
            path.append(p.copy())
            if not np.all(np.isfinite(p)) or np.abs(p).max() > _BOUND:
                break
    return np.array(path)


class OptimizerRace(LessonWidget):
    """Descent, Momentum, Nesterov, RMSProp and Adam race down a 2-D loss surface.

    ``OptimizerRace(surface="rosenbrock", lr=0.01, momentum=0.9, steps=200, start=None)``.

    Controls (ipywidgets, public): ``surface`` (``"rosenbrock"``, ``"bowl"``, ``"saddle"``),
    ``lr`` (one learning rate for all, log scale 1e-4 to 1), ``momentum`` (ρ of Momentum and
    Nesterov), ``steps``, and ``start_x``, ``start_y`` (the common starting point; a new
    surface moves it to that surface's usual start). Every change recomputes the race at once
    (when a slider is released: a race of 5 × 200 steps takes about a tenth of a second).

    Results: ``trajectories`` (rule name → array of points, shape ``(n + 1, 2)``),
    ``rules`` (the fluxlite rule objects that ran), ``final_loss`` and ``diverged`` (the names
    whose path blew up).

    >>> from fluxlite.widgets import OptimizerRace
    >>> from fluxlite.widgets.race import RULES
    >>> race = OptimizerRace("bowl", lr=0.05, steps=50)
    >>> sorted(race.trajectories) == sorted(RULES)
    True
    >>> race.trajectories["Adam"].shape
    (51, 2)
    >>> race.lr.value = 0.02                   # recomputed at once
    >>> race.rules["Descent"]
    Descent(0.02)
    """

    name = "optimizer race"
    _classes = {"surface": "fl-surface", "lr": "fl-lr", "momentum": "fl-momentum",
                "steps": "fl-steps", "start_x": "fl-start-x", "start_y": "fl-start-y"}

    def __init__(self, surface="rosenbrock", lr=0.01, momentum=0.9, steps=200, start=None):
        super().__init__(width=8.4, height=5.0)
        self.trajectories, self.rules, self.final_loss, self.diverged = {}, {}, {}, set()
        style = {"description_width": "9em"}
        wide = ipywidgets.Layout(width="27em")
        self.surface = ipywidgets.Dropdown(
            options=[(s.label, k) for k, s in SURFACES.items()], value=surface,
            description="loss surface", style=style, layout=wide)
        self.lr = ipywidgets.FloatLogSlider(
            value=lr, base=10, min=-4, max=0, step=0.01, description="learning rate η",
            readout_format=".3g", continuous_update=False, style=style, layout=wide)
        self.momentum = ipywidgets.FloatSlider(
            value=momentum, min=0.0, max=0.99, step=0.01, description="momentum ρ",
            readout_format=".2f", continuous_update=False, style=style, layout=wide)
        self.steps = ipywidgets.IntSlider(
            value=steps, min=1, max=500, description="steps", continuous_update=False, style=style,
            layout=wide)
        self.start_x = ipywidgets.FloatSlider(
            value=0.0, min=-3.0, max=3.0, step=0.05, description="start x", continuous_update=False,
            style=style, layout=wide)
        self.start_y = ipywidgets.FloatSlider(
            value=0.0, min=-3.0, max=3.0, step=0.05, description="start y", continuous_update=False,
            style=style, layout=wide)
        self._quiet = False
        self._contours = []
        self._draw_axes()
        self.surface.observe(self._guard(self._on_surface), names="value")
        for control in (self.lr, self.momentum, self.steps, self.start_x, self.start_y):
            control.observe(self._guard(self._on_change), names="value")
        self._guard(self._on_surface)(start=start)

    # ---------------------------------------------------------------- programmatic API
    @property
    def start(self):
        """The common starting point ``(x, y)``; setting it recomputes the race once."""
        return (self.start_x.value, self.start_y.value)

    @start.setter
    def start(self, point):
        x, y = point
        self._quiet = True
        try:
            self.start_x.value, self.start_y.value = float(x), float(y)
        finally:
            self._quiet = False
        self._guard(self.race)()

    def race(self):
        """Run all five rules from the start and redraw; returns `trajectories`.

        >>> race = OptimizerRace("saddle", steps=20)
        >>> {name: len(path) for name, path in race.race().items()}["Descent"]
        21
        """
        surface = SURFACES[self.surface.value]
        lr, rho, steps = float(self.lr.value), float(self.momentum.value), int(self.steps.value)
        self.rules = make_rules(lr, rho)
        self.trajectories = {name: descend(surface.f, self.start, rule, steps)
                             for name, rule in self.rules.items()}
        self.final_loss, self.diverged = {}, set()
        with np.errstate(all="ignore"):
            for name, path in self.trajectories.items():
                last = path[-1]
                self.final_loss[name] = float(surface.f(last[0], last[1]))
                if not np.all(np.isfinite(last)) or np.abs(last).max() > _BOUND:
                    self.diverged.add(name)
        self._draw_paths(surface, lr, rho, steps)
        if self.diverged:
            names = ", ".join(n for n in RULES if n in self.diverged)
            self.say(f"{names} diverged: with η = {lr:.3g} each step overshoots the valley and "
                     f"lands higher up. Lower the learning rate (or the momentum).", "warning")
        else:
            best = min(self.final_loss, key=self.final_loss.get)
            self.say(f"After {steps} steps the lowest point is {best}'s, "
                     f"f = {self.final_loss[best]:.3g}.")
        return self.trajectories

    # ---------------------------------------------------------------- callbacks
    def _on_surface(self, change=None, start=None):
        surface = SURFACES[self.surface.value]
        self._draw_surface(surface)
        self.start = surface.start if start is None else start

    def _on_change(self, change=None):
        if not self._quiet:
            self.race()

    # ---------------------------------------------------------------- drawing
    def _draw_axes(self):
        fig = self.fig
        fig.subplots_adjust(left=0.08, right=0.7, top=0.9, bottom=0.11)
        ax = self.ax = fig.add_subplot()
        style_axes(ax, "x", "y")
        ax.grid(False)
        self.lines, self._ends = {}, {}
        for name in RULES:
            colour = _RULE_COLORS[name]
            self.lines[name], = ax.plot([], [], color=colour, linewidth=2.0, zorder=4,
                                        solid_capstyle="round", label=name)
            self._ends[name], = ax.plot([], [], "o", color=colour, markersize=6,
                                        markeredgecolor="white", markeredgewidth=1.2, zorder=5)
        self._start_mark, = ax.plot([], [], marker="*", color=INK, markersize=15,
                                    markeredgecolor="white", linestyle="none", zorder=6,
                                    label="start")
        self._minimum_mark, = ax.plot([], [], marker="X", color="white", markersize=10,
                                      markeredgecolor=INK, linestyle="none", zorder=6,
                                      label="minimum")
        self._title = ax.set_title("", loc="left", fontsize=11, color=INK)
        self._subtitle = fig.text(0.725, 0.11, "", fontsize=9, color=MUTED, va="bottom",
                                  linespacing=1.6)
        self._legend = None

    def _draw_surface(self, surface):
        ax = self.ax
        for artist in self._contours:
            artist.remove()
        xs = np.linspace(*surface.xlim, 240)
        ys = np.linspace(*surface.ylim, 240)
        X, Y = np.meshgrid(xs, ys)
        Z = surface.f(X, Y)
        lift = Z - Z.min() + 1e-3            # > 0, so that levels can be spaced on a log scale
        levels = np.geomspace(lift.min() * 2, lift.max(), 16)
        filled = ax.contourf(X, Y, lift, levels=np.concatenate([[0], levels]),
                             cmap="Greys_r", alpha=0.2, zorder=1)
        lines = ax.contour(X, Y, lift, levels=levels, colors=MUTED, linewidths=0.6,
                           alpha=0.8, zorder=2)
        self._contours = [filled, lines]
        ax.set_xlim(*surface.xlim)
        ax.set_ylim(*surface.ylim)
        mx, my = zip(*surface.minima)
        self._minimum_mark.set_data(mx, my)
        self._title.set_text(f"{surface.label}:  f(x, y) = {surface.formula}")

    def _draw_paths(self, surface, lr, rho, steps):
        for name in RULES:
            path = self.trajectories[name]
            self.lines[name].set_data(path[:, 0], path[:, 1])
            if name in self.diverged:
                self._ends[name].set_data([], [])
                self.lines[name].set_label(f"{name}: diverged at step {len(path) - 1}")
            else:
                self._ends[name].set_data([path[-1, 0]], [path[-1, 1]])
                self.lines[name].set_label(f"{name}: f = {self.final_loss[name]:.3g}")
        self._start_mark.set_data([self.start[0]], [self.start[1]])
        handles = [self.lines[n] for n in RULES] + [self._start_mark, self._minimum_mark]
        if self._legend is not None:
            self._legend.remove()
        self._legend = self.ax.legend(handles=handles, loc="upper left",
                                      bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9,
                                      title=f"after {steps} steps", title_fontsize=9,
                                      alignment="left")
        self._subtitle.set_text(f"η = {lr:.3g}  (all five)\nρ = {rho:.2f}  (Momentum, Nesterov)\n"
                                f"start ({self.start[0]:.2f}, {self.start[1]:.2f})")
        self.render()

    def _layout(self):
        controls = row(ipywidgets.VBox([self.surface, self.lr, self.momentum]),
                       ipywidgets.VBox([self.steps, self.start_x, self.start_y]))
        return ipywidgets.VBox([controls, self.image, self.status])
