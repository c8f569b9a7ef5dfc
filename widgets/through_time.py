"""Gradient through time (lesson 11): how much of the gradient reaches the early steps of an RNN.

A plain RNN updates its state with ``h_t = σ(Wi x_t + Wh h_(t-1) + b)``. The loss is read from the
last state only, ``L = u · h_T`` (``u`` a fixed unit vector), so the gradient that reaches an early
step ``t`` has passed back through ``T − t`` steps, each multiplying it by ``Wh`` (transposed) and by
the slope ``σ′``, which is at most 1 for ``tanh``. The widget draws ``‖∂L/∂h_t‖`` against ``t`` on a
log scale, next to ``scale^(T−t)``, which is what ``Wh`` alone would do.

``Wh`` is ``scale · Q``, with ``Q`` a random orthogonal matrix, so every singular value of ``Wh``
(and its spectral radius) equals ``scale``: below 1 the gradient shrinks geometrically (it
*vanishes*), above 1 it can grow (it *explodes*; ``tanh`` tames it by saturating, the identity
does not).

The gradient is computed by fluxlite itself: an ``RNNCell`` runs the ``T`` steps, a zero array
``d`` is added to the state after every step, and ``fl.gradient`` of ``L`` with respect to ``d``
is ``∂L/∂h_t``, one column per step.

>>> from fluxlite.widgets import GradientThroughTime
>>> w = GradientThroughTime(T=20, scale=0.5, activation="identity")
>>> w.grad_norms.shape
(20,)
>>> float(w.grad_norms[-1]), round(float(w.grad_norms[0]), 8)     # 1, then 0.5 ** 19
(1.0, 1.91e-06)
>>> w.scale.value = 1.0                   # orthogonal Wh, no squashing: nothing is lost
>>> bool(abs(w.grad_norms[0] - 1) < 1e-5), w.regime
(True, 'stable')
"""
import ipywidgets
import numpy as np

import fluxlite as fl
from ._lesson import COLORS, INK, MUTED, LessonInputError, LessonWidget, row, style_axes

__all__ = ["GradientThroughTime"]

_ACTIVATIONS = {"tanh": fl.tanh, "identity": fl.identity}
T_MAX = 100
_YLIM = (1e-12, 1e12)


class GradientThroughTime(LessonWidget):
    """Sliders for the sequence length ``T`` and the scale of ``Wh``; the gradient norm per step.

    ``GradientThroughTime(T=20, scale=1.0, activation="tanh", hidden=8, seed=0)``

    Controls (ipywidgets, public): ``T`` (the sequence length, 2 to 100), ``scale`` (the size of
    ``Wh``: all its singular values, 0.1 to 2), ``activation`` (``"tanh"`` or ``"identity"``).
    The cell has ``hidden`` units and reads one random bit per step (fixed by `seed`, as are
    ``Wi``, ``Q`` and ``u``).

    Results: ``grad_norms`` (``‖∂L/∂h_t‖`` for ``t = 1 … T``, a vector of length ``T``),
    ``Wh`` (the recurrent matrix in use), ``regime`` (``"vanishing"``, ``"stable"`` or
    ``"exploding"``: the gradient at step 1 is below 0.1, between 0.1 and 10, or above 10
    times the one at step ``T``), `set` (change several controls with one redraw) and
    `gradient_norms` (the same numbers for other settings, without touching the controls or
    the picture: for sweeps).

    >>> from fluxlite.widgets import GradientThroughTime
    >>> w = GradientThroughTime(T=50, scale=0.9)
    >>> w.regime
    'vanishing'
    >>> w.set(scale=1.5, activation="identity")
    >>> w.regime, len(w.grad_norms)
    ('exploding', 50)
    >>> float(w.gradient_norms(T=3, scale=0.5, activation="identity")[0])    # 0.5 ** 2
    0.25
    """

    name = "gradient-through-time explorer"
    _classes = {"T": "fl-T", "scale": "fl-scale", "activation": "fl-activation"}

    def __init__(self, T=20, scale=1.0, activation="tanh", hidden=8, seed=0):
        if not 2 <= int(T) <= T_MAX:
            raise LessonInputError(f"T is the sequence length: a whole number from 2 to {T_MAX}, "
                                   f"got {T!r}.")
        if not 0.1 <= float(scale) <= 2.0:
            raise LessonInputError(f"scale is the size of Wh: a number from 0.1 to 2, got {scale!r}.")
        if activation not in _ACTIVATIONS:
            raise LessonInputError(f"activation must be one of {', '.join(_ACTIVATIONS)}, "
                                   f"got {activation!r}.")
        if int(hidden) < 1:
            raise LessonInputError(f"hidden must be 1 or more, got {hidden!r}.")
        super().__init__(width=7.2, height=3.8)
        rng = np.random.default_rng(seed)
        self.hidden = int(hidden)
        self.Wi = rng.normal(0.0, 1.0, size=(self.hidden, 1)).astype(np.float32)
        self.Q = np.linalg.qr(rng.normal(size=(self.hidden, self.hidden)))[0].astype(np.float32)
        u = rng.normal(size=self.hidden)
        self.u = (u / np.linalg.norm(u)).astype(np.float32)
        self.bits = rng.integers(0, 2, size=(1, 1, T_MAX)).astype(np.float32)

        style = {"description_width": "10em"}
        wide = ipywidgets.Layout(width="30em")
        self.T = ipywidgets.IntSlider(value=int(T), min=2, max=T_MAX, description="T (steps)",
                                      continuous_update=False, style=style, layout=wide)
        self.scale = ipywidgets.FloatSlider(value=float(scale), min=0.1, max=2.0, step=0.05,
                                            description="scale of Wh", readout_format=".2f",
                                            continuous_update=False, style=style, layout=wide)
        self.activation = ipywidgets.ToggleButtons(options=list(_ACTIVATIONS), value=activation,
                                                   description="σ", style={"button_width": "6em"})
        self._setting = False
        self._draw_axes()
        for control in (self.T, self.scale, self.activation):
            control.observe(self._guard(self._on_change), names="value")
        self._guard(self._update)()

    # ---------------------------------------------------------------- public
    @property
    def Wh(self):
        """The recurrent matrix ``scale · Q`` (``hidden × hidden``)."""
        return (np.float32(self.scale.value) * self.Q).astype(np.float32)

    def set(self, T=None, scale=None, activation=None):
        """Change any of the three controls and redraw once."""
        self._setting = True
        try:
            if T is not None:
                self.T.value = int(T)
            if scale is not None:
                self.scale.value = float(scale)
            if activation is not None:
                if activation not in _ACTIVATIONS:
                    raise LessonInputError(f"activation must be one of {', '.join(_ACTIVATIONS)}, "
                                           f"got {activation!r}.")
                self.activation.value = activation
        finally:
            self._setting = False
        self._guard(self._update)()

    def gradient_norms(self, T=None, scale=None, activation=None):
        """``‖∂L/∂h_t‖`` for ``t = 1 … T`` with these settings (the controls' by default).

        Nothing is redrawn and no control moves, so a loop over many settings stays fast.
        """
        T = self.T.value if T is None else int(T)
        scale = self.scale.value if scale is None else float(scale)
        activation = self.activation.value if activation is None else activation
        if not 2 <= T <= T_MAX:
            raise LessonInputError(f"T is the sequence length: a whole number from 2 to {T_MAX}, "
                                   f"got {T!r}.")
        if activation not in _ACTIVATIONS:
            raise LessonInputError(f"activation must be one of {', '.join(_ACTIVATIONS)}, "
                                   f"got {activation!r}.")
        Wh = (np.float32(scale) * self.Q).astype(np.float32)
        return self._gradient_norms(T, _ACTIVATIONS[activation], Wh)

    # ---------------------------------------------------------------- the computation
    def _gradient_norms(self, T, act, Wh):
        cell = fl.RNNCell(1, self.hidden, act)
        cell.Wi = fl.param(self.Wi.copy())
        cell.Wh = fl.param(Wh)
        cell.b = fl.param(np.zeros(self.hidden, np.float32))
        x = self.bits[:, :, :T]
        u = self.u.reshape(-1, 1)

        def last_state_loss(d):
            h = np.zeros((self.hidden, 1), np.float32)
            for t in range(T):
                h, _ = cell(h, x[:, :, t])
                h = h + d[:, t:t + 1]          # d is zero: it only marks where ∂L/∂h_t is read
            return np.sum(u * h)

        d = np.zeros((self.hidden, T), np.float32)
        grad = fl.gradient(last_state_loss, d)[0]
        return np.linalg.norm(np.asarray(grad, dtype=float), axis=0)

    # ---------------------------------------------------------------- drawing
    def _draw_axes(self):
        ax = self.fig.add_axes([0.11, 0.15, 0.62, 0.72])
        style_axes(ax, "time step t", "‖∂L/∂h_t‖  (log scale)")
        ax.set_yscale("log")
        ax.set_ylim(*_YLIM)
        ax.axhline(1.0, color=MUTED, lw=0.8, ls=":")
        self.ax = ax
        self.bound_line, = ax.plot([], [], color=MUTED, lw=1.5, ls="--",
                                   label="scale^(T−t): Wh alone")
        self.norm_line, = ax.plot([], [], color=COLORS["vermillion"], lw=2.2, marker="o", ms=3,
                                  label="‖∂L/∂h_t‖ (fluxlite)")
        self.first_mark, = ax.plot([], [], "o", color=COLORS["blue"], ms=9, zorder=5,
                                   label="what reaches step 1")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8.5)
        self._title = ax.set_title("", loc="left", fontsize=10.5, color=INK)
        self._note = self.fig.text(0.745, 0.15, "", fontsize=9, color=INK, va="bottom",
                                   linespacing=1.5)

    def _on_change(self, change=None):
        if not self._setting:
            self._update()

    def _update(self, change=None):
        T, scale, name = self.T.value, self.scale.value, self.activation.value
        self.grad_norms = self._gradient_norms(T, _ACTIVATIONS[name], self.Wh)
        if not np.all(np.isfinite(self.grad_norms)):
            raise LessonInputError("The gradient overflowed: lower the scale of Wh or T.")
        ratio = float(self.grad_norms[0] / self.grad_norms[-1])
        self.regime = ("vanishing" if ratio < 0.1 else "exploding" if ratio > 10 else "stable")
        t = np.arange(1, T + 1)
        self.norm_line.set_data(t, np.clip(self.grad_norms, *_YLIM))
        self.bound_line.set_data(t, np.clip(scale ** (T - t).astype(float), *_YLIM))
        self.first_mark.set_data([1], [np.clip(self.grad_norms[0], *_YLIM)])
        self.ax.set_xlim(0, T + 1)
        self._title.set_text(f"h_t = {name}(Wi x_t + Wh h_(t−1)),  Wh = {scale:.2f} · Q,  "
                             f"T = {T}")
        share = f"{ratio:.2g}" if ratio > 0 else "0 (too small for float32)"
        clipped = bool(np.any(self.grad_norms < _YLIM[0]) or np.any(self.grad_norms > _YLIM[1]))
        self._note.set_text(f"step 1 gets\n{share if ratio > 0 else '0'} ×\nthe gradient\n"
                            f"at step T:\n{self.regime}"
                            + ("\n\n(values beyond\n10⁻¹² … 10¹² are\ndrawn on the edge)"
                               if clipped else ""))
        self.say(f"T = {T}, scale of Wh = {scale:.2f}, σ = {name}: the gradient reaching step 1 "
                 f"is {share} times the one at step {T} ({self.regime}).")
        self.render()

    def _layout(self):
        controls = row(ipywidgets.VBox([self.T, self.scale]), self.activation)
        return ipywidgets.VBox([controls, self.image, self.status])
