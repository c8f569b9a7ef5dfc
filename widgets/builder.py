"""Layer builder (lesson 5a): stack ``Dense`` layers and see the ``Chain`` as Flux prints it.

A ``Dense(in, out, σ)`` layer computes ``σ(W x + b)`` with a weight ``W`` of ``out × in``
numbers and a bias ``b`` of ``out``, so it has ``in · out + out`` parameters. A ``Chain`` of
them has the sum. The widget builds the model with fluxlite's own ``Chain`` and ``Dense``, shows
``repr(model)`` (Flux's REPL printing, with the parameter count of every layer and the total),
a drawing of the network, and the code that builds it.
"""
import functools
import html

import ipywidgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import FancyBboxPatch

import fluxlite as fl
from fluxlite.layers import Chain, Dense, glorot_uniform, identity
from fluxlite.layers.show import fname
from ._lesson import COLORS, INK, MUTED, LessonInputError, LessonWidget, row

__all__ = ["LayerBuilder", "ACTIVATIONS"]

MAX_LAYERS = 6
MAX_WIDTH = 32

# The activations on offer, by the name Flux prints (and fluxlite exports).
ACTIVATIONS = {
    "identity": identity, "σ": fl.σ, "relu": fl.relu, "tanh": fl.tanh,
    "leakyrelu": fl.leakyrelu, "elu": fl.elu, "gelu": fl.gelu, "swish": fl.swish,
    "softplus": fl.softplus,
}
_NODE_COLORS = {
    "identity": "#ffffff", "σ": COLORS["green"], "relu": COLORS["orange"],
    "tanh": COLORS["purple"], "leakyrelu": COLORS["yellow"], "elu": COLORS["sky"],
    "gelu": COLORS["vermillion"], "swish": "#8c6bb1", "softplus": "#66c2a4",
}
_SHOWN = 8   # at most this many neurons are drawn per layer; the rest are summarised by "⋮"


class LayerBuilder(LessonWidget):
    """Choose the number of ``Dense`` layers, their widths and activations; see the ``Chain``.

    ``LayerBuilder(inputs=10, widths=(5, 2), activations=("σ", "identity"), softmax=True)``
    starts from the tutorial's ``Chain(Dense(10, 5, σ), Dense(5, 2), softmax)``.

    Controls (ipywidgets, public): ``inputs`` (input features), ``layers`` (how many
    ``Dense`` layers, 0 to 6), ``widths`` and ``activations`` (one slider and one menu per
    layer; the last width is the output size) and ``softmax`` (end with ``softmax``).
    `set` changes several at once with a single rebuild.

    Results: ``model`` (the fluxlite ``Chain``, or None with a message in ``status`` when there
    are no layers), ``text`` (``repr(model)``, Flux's printing), ``parameter_count`` and
    `code` (the Python that builds the model).

    >>> from fluxlite.widgets import LayerBuilder
    >>> b = LayerBuilder()
    >>> print(b.text)
    Chain(
      Dense(10 => 5, σ),                    # 55 parameters
      Dense(5 => 2),                        # 12 parameters
      softmax,
    )                   # Total: 4 arrays, 67 parameters, 268 bytes.
    >>> b.layers.value = 3
    >>> b.widths[2].value = 4
    >>> b.parameter_count           # 67 + (2·4 + 4)
    79
    """

    name = "layer builder"
    _classes = {"inputs": "fl-inputs", "layers": "fl-layers", "softmax": "fl-softmax",
                "widths": "fl-width", "activations": "fl-activation", "printed": "fl-chain"}

    def __init__(self, inputs=10, widths=(5, 2), activations=("σ", "identity"), softmax=True,
                 seed=0):
        super().__init__(width=8.4, height=3.5)
        self._init = functools.partial(glorot_uniform, rng=np.random.default_rng(seed))
        self.model, self.text, self.parameter_count = None, "", None
        style = {"description_width": "7em"}
        self.inputs = ipywidgets.IntSlider(value=inputs, min=1, max=MAX_WIDTH,
                                           description="inputs", continuous_update=False,
                                           style=style)
        self.layers = ipywidgets.IntSlider(value=len(widths), min=0, max=MAX_LAYERS,
                                           description="Dense layers", continuous_update=False,
                                           style=style)
        self.softmax = ipywidgets.Checkbox(value=softmax, description="end with softmax",
                                           indent=False)
        defaults = list(widths) + [4] * (MAX_LAYERS - len(widths))
        acts = list(activations) + ["relu"] * (MAX_LAYERS - len(activations))
        self.widths = [ipywidgets.IntSlider(value=w, min=1, max=MAX_WIDTH,
                                            description=f"layer {k + 1} width",
                                            continuous_update=False, style=style)
                       for k, w in enumerate(defaults)]
        self.activations = [ipywidgets.Dropdown(options=list(ACTIVATIONS), value=a,
                                                description="activation",
                                                layout=ipywidgets.Layout(width="14em"))
                            for a in acts]
        self._rows = [row(w, a) for w, a in zip(self.widths, self.activations)]
        self.printed = ipywidgets.HTML()
        self._quiet = False
        self.ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.02)

        for control in [self.inputs, self.layers, self.softmax, *self.widths, *self.activations]:
            control.observe(self._guard(self._on_change), names="value")
        self._guard(self.build)()

    # ---------------------------------------------------------------- programmatic API
    def set(self, inputs=None, widths=None, activations=None, softmax=None):
        """Change several controls, then rebuild once; returns the model (None on bad input).

        >>> b = LayerBuilder()
        >>> b.set(inputs=2, widths=[3, 1], activations=["tanh", "σ"], softmax=False)
        Chain(
          Dense(2 => 3, tanh),                  # 9 parameters
          Dense(3 => 1, σ),                     # 4 parameters
        )                   # Total: 4 arrays, 13 parameters, 52 bytes.
        """
        self._quiet = True
        try:
            if inputs is not None:
                self.inputs.value = inputs
            if widths is not None:
                if len(widths) > MAX_LAYERS:
                    raise ValueError(f"at most {MAX_LAYERS} layers here, got {len(widths)}")
                for slider, w in zip(self.widths, widths):
                    slider.value = w
                self.layers.value = len(widths)
            if activations is not None:
                for menu, a in zip(self.activations, activations):
                    menu.value = a
            if softmax is not None:
                self.softmax.value = softmax
        finally:
            self._quiet = False
        self._guard(self.build)()
        return self.model

    def build(self):
        """Build the ``Chain`` from the controls, redraw, and return it.

        >>> LayerBuilder(inputs=3, widths=[1], activations=["relu"], softmax=False).build()
        Chain(
          Dense(3 => 1, relu),                  # 4 parameters
        )
        """
        n = self.layers.value
        for k, row in enumerate(self._rows):
            row.layout.display = "" if k < n else "none"
        sizes = [self.inputs.value] + [w.value for w in self.widths[:n]]
        acts = [a.value for a in self.activations[:n]]
        if n == 0:
            self.model, self.text, self.parameter_count = None, "", None
            self.printed.value = ""
            self._draw(sizes, acts)
            raise LessonInputError("A network needs at least one Dense layer: move "
                                   "“Dense layers” to 1 or more.")
        layers = [Dense(sizes[k], sizes[k + 1], ACTIVATIONS[acts[k]], init=self._init)
                  for k in range(n)]
        if self.softmax.value:
            layers.append(fl.softmax)
        model = Chain(*layers)
        out = model(np.zeros((sizes[0], 1), np.float32))   # it runs: inputs × N → outputs × N
        self.model, self.text = model, repr(model)
        self.parameter_count = int(sum(p.size for p in fl.params(model)))
        terms = " + ".join(f"({i}×{o} + {o})" for i, o in zip(sizes, sizes[1:]))
        self.printed.value = (
            '<pre style="font-size:12.5px; line-height:1.35; background:#f6f8fa; '
            'border:1px solid #e4e7eb; border-radius:6px; padding:8px 10px; margin:4px 0">'
            f"{html.escape(self.text)}</pre>")
        self.say(f"{self.parameter_count} parameters = {terms}: each Dense(in => out) has an "
                 f"out × in weight and out biases. Input {sizes[0]} × N → output "
                 f"{out.shape[0]} × N.")
        self._draw(sizes, acts)
        return model

    def code(self):
        """Python that builds the same model (up to the random starting weights).

        >>> b = LayerBuilder()
        >>> scope = {}
        >>> exec(b.code(), scope)
        >>> repr(scope["model"]) == b.text
        True
        """
        if self.model is None:
            return "# no Dense layers yet: a Chain needs at least one"
        top = hasattr(fl, "Chain") and hasattr(fl, "Dense")
        chain, dense = ("fl.Chain", "fl.Dense") if top else ("Chain", "Dense")
        lines = ["import fluxlite as fl"]
        if not top:
            lines.append("from fluxlite.layers import Chain, Dense")
        lines += ["", f"model = {chain}("]
        sizes = [self.inputs.value] + [w.value for w in self.widths[:self.layers.value]]
        for (i, o), menu in zip(zip(sizes, sizes[1:]), self.activations):
            act = "" if menu.value == "identity" else f", fl.{menu.value}"
            lines.append(f"    {dense}({i}, {o}{act}),")
        if self.softmax.value:
            lines.append("    fl.softmax,")
        lines.append(")")
        return "\n".join(lines) + "\n"

    # ---------------------------------------------------------------- callbacks and drawing
    def _on_change(self, change=None):
        if not self._quiet:
            self.build()

    def _draw(self, sizes, acts):
        ax = self.ax
        ax.clear()
        ax.set_axis_off()
        columns = len(sizes)
        room = 0.75 if self.softmax.value else 0.0    # for the softmax note on the right
        ax.set_xlim(-0.6, max(columns, 3) - 0.4 + room)
        ax.set_ylim(-1.75, 1.25)
        positions = [self._column(k, s) for k, s in enumerate(sizes)]
        for left, right in zip(positions, positions[1:]):   # edges: every input to every output
            pairs = [(a, b) for a in left[0] for b in right[0]]
            alpha = max(0.08, min(0.5, 6.0 / len(pairs)))
            ax.add_collection(LineCollection(pairs, colors=MUTED, alpha=alpha, linewidths=0.7,
                                             zorder=1))
        for k, (nodes, more) in enumerate(positions):
            face = "#dbe9f6" if k == 0 else _NODE_COLORS[acts[k - 1]]
            xs, ys = zip(*nodes)
            ax.scatter(xs, ys, s=150, color=face, edgecolors=INK, linewidths=0.9, zorder=3)
            if more:
                ax.text(k, 0.0, f"⋮\n+{more}", ha="center", va="center", fontsize=8,
                        color=INK, zorder=4)
            if k == 0:
                head, lines = "input", [f"{sizes[0]} features"]
            else:
                i, o = sizes[k - 1], sizes[k]
                head = f"Dense {k}"
                lines = [f"{i} => {o}", acts[k - 1], f"{i * o + o} parameters"]
            ax.text(k, 1.13, head, ha="center", va="bottom", fontsize=9.5, color=INK,
                    fontweight="bold")
            ax.text(k, -1.22, "\n".join(lines), ha="center", va="top", fontsize=8.5,
                    color=INK, linespacing=1.4)
        if self.softmax.value and columns > 1:   # softmax acts on the whole output column
            k = columns - 1
            ax.add_patch(FancyBboxPatch((k - 0.17, -1.1), 0.34, 2.2,
                                        boxstyle="round,pad=0.02,rounding_size=0.12",
                                        fc="none", ec=COLORS["blue"], lw=1.3, ls=(0, (4, 2)),
                                        zorder=2))
            ax.text(k + 0.22, 0.0, "softmax:\ncolumns\nsum to 1", ha="left", va="center",
                    fontsize=8.5, color=COLORS["blue"], linespacing=1.3)
        if columns == 1:
            ax.text(1.5, 0.0, "No Dense layers yet.\nMove “Dense layers” to 1 or more.",
                    ha="center", va="center", fontsize=11, color="#b42318")
            title = "Chain(): nothing to build"
        else:
            total = sum(i * o + o for i, o in zip(sizes, sizes[1:]))
            word = "layer" if columns == 2 else "layers"
            title = f"Chain of {columns - 1} Dense {word}: {total:,} parameters"
        ax.set_title(title, loc="left", fontsize=11, color=INK)
        self.render()

    @staticmethod
    def _column(k, size):
        """Node positions for a layer of `size` neurons at x = k, and how many were left out."""
        if size <= _SHOWN:
            ys = np.linspace(-1, 1, size) if size > 1 else np.array([0.0])
            return [(k, y) for y in ys], 0
        half = _SHOWN // 2
        top = np.linspace(1, 0.3, half)
        return [(k, y) for y in np.concatenate([top, -top[::-1]])], size - 2 * half

    def _layout(self):
        head = row(self.inputs, self.layers, self.softmax)
        return ipywidgets.VBox([head, *self._rows, self.image, self.printed, self.status])
