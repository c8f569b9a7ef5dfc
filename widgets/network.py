"""`NetworkDiagram`: TensorFlow Playground's picture of a network, for a fluxlite MLP.

Columns of nodes, left to right: the input features, each hidden layer's neurons, the output.
Every node is a small heat map of its value over the input plane (a grid over x₁, x₂): a feature
shows itself, a neuron its activation, the output the model's output. Orange is negative, blue
positive, near-white zero, as in Playground and in the dashboard's class colours. The lines
between columns are the weights: their colour is the weight's sign, their width its size.

One forward pass over the grid, with NumPy in float32, gives every node's values at once
(`layer_outputs`). A frame changes the data of artists made once (one ``AxesImage`` holding all
nodes, one ``LineCollection`` of edges) and draws them with `fluxlite.widgets.liveplot.LivePlot`'s
blitting, so the diagram can be redrawn live while a network trains: a live view makes one
diagram per data set and calls ``diagram.render(model)`` each frame, holding the model still
during the call (a model of another shape, after the layers changed, rebuilds the picture).

>>> import fluxlite as fl
>>> from fluxlite.widgets import NetworkDiagram
>>> fl.seed(0)
>>> model = fl.Chain(fl.Dense(2, 3, fl.tanh), fl.Dense(3, 1))
>>> diagram = NetworkDiagram(model, extent=(-1, 1, -1, 1), grid=20)
>>> picture = diagram.render()          # JPEG bytes, also put into diagram.widget
>>> picture == diagram.widget.value, [v.shape for v in diagram.values]
(True, [(2, 400), (3, 400), (1, 400)])
"""
import math

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage

from fluxlite.layers import Chain, Dense, identity

from ._lesson import INK, MUTED
from .liveplot import LivePlot

__all__ = ["NetworkDiagram", "layer_outputs"]

# Playground's scale: orange (negative), a near-white grey (zero), blue (positive); then NaN.
NEGATIVE, ZERO, POSITIVE, NOT_FINITE = "#f59322", "#e8eaeb", "#0877bd", "#5f6368"
FRAME = "#b0b5ba"
_STEPS = 256                      # codes 0 … 256 run over the scale (128 is zero); 257 is NaN


_NEG, _MID, _POS = (np.array(to_rgba(c)) for c in (NEGATIVE, ZERO, POSITIVE))
_T = np.linspace(-1.0, 1.0, _STEPS + 1)[:, None]
_RGBA = np.vstack([np.where(_T < 0, _MID - (_NEG - _MID) * _T, _MID + (_POS - _MID) * _T),
                   to_rgba(NOT_FINITE)])               # floats, for the edges
_RGBA8 = np.round(_RGBA * 255).astype(np.uint8)      # bytes, for the heat maps


def _codes(values, vmax):
    """Indices into the colour table: -vmax … vmax onto 0 … 256 (clamped), NaN onto 257."""
    with np.errstate(invalid="ignore", over="ignore"):
        c = np.multiply(values, (_STEPS / 2) / vmax, dtype=np.float32)
        c += _STEPS / 2 + 0.5
        np.clip(c, 0, _STEPS, out=c)
    c[np.isnan(c)] = _STEPS + 1
    return c.astype(np.intp)


def _weights(count):
    return f"{count} weight is" if count == 1 else f"{count} weights are"


def _dense_layers(model):
    """The model's Dense layers in order (a Dense, or a Chain of them, nested Chains flattened)."""
    if isinstance(model, Dense):
        return [model]
    if not isinstance(model, Chain):
        raise TypeError(f"NetworkDiagram draws a Dense layer or a Chain of Dense layers, got "
                        f"{type(model).__name__}.")
    layers = []
    for f in model:
        if isinstance(f, Chain):
            layers += _dense_layers(f)
        elif isinstance(f, Dense):
            layers.append(f)
        else:
            what = (f"the function {f.__name__}" if hasattr(f, "__name__")
                    else f"a {type(f).__name__} layer")
            raise TypeError(
                f"NetworkDiagram draws Dense layers only, but layer {len(layers) + 1} of the "
                f"model is {what}. Draw a Chain of Dense layers (a final softmax belongs in the "
                f"loss: logitcrossentropy).")
    for i, (a, b) in enumerate(zip(layers, layers[1:])):
        if b.weight.shape[1] != a.weight.shape[0]:
            raise ValueError(f"NetworkDiagram: layer {i + 2} takes {b.weight.shape[1]} inputs "
                             f"but layer {i + 1} gives {a.weight.shape[0]}.")
    return layers


def _forward(layers, x):
    h = np.asarray(x, dtype=np.float32)
    outs = [h]
    with np.errstate(all="ignore"):
        for layer in layers:
            h = np.asarray(layer.weight, dtype=np.float32) @ h
            if layer.bias is not False:
                h += np.asarray(layer.bias, dtype=np.float32)[:, None]
            if layer.σ is not identity:
                h = np.asarray(layer.σ(h), dtype=np.float32)
            outs.append(h)
    return outs


def layer_outputs(model, x):
    """Every column's values for input `x` (``features × N``): ``[x, layer 1, …, output]``.

    One forward pass with NumPy in float32 that keeps each Dense layer's output ``σ(W h + b)``;
    the last entry equals ``model(x)``. `model` is a Dense layer or a Chain of them. Overflow and
    NaN (after a diverged run) pass through silently.

    >>> import numpy as np, fluxlite as fl
    >>> model = fl.Chain(fl.Dense(2, 3, fl.relu), fl.Dense(3, 1))
    >>> x = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
    >>> outs = layer_outputs(model, x)
    >>> [o.shape for o in outs], bool(np.allclose(outs[-1], model(x), atol=1e-6))
    ([(2, 5), (3, 5), (1, 5)], True)
    """
    return _forward(_dense_layers(model), x)


class _FigurePixels(AxesImage):
    """RGBA bytes over the whole figure. At the figure's own size they go to the canvas as they
    are (matplotlib's resampling and masking would cost more than the rest of a frame); at any
    other size (``savefig`` at another dpi) this is an ordinary ``AxesImage``."""

    def make_image(self, renderer, magnification=1.0, unsampled=False):
        A = self._A
        if magnification == 1.0 and not unsampled and A.shape[:2] == (renderer.height,
                                                                       renderer.width):
            return np.ascontiguousarray(np.asarray(A)[::-1]), 0.0, 0.0, None
        return super().make_image(renderer, magnification, unsampled)


class NetworkDiagram:
    """Playground's network view of `model`: heat-map nodes in columns, weights as lines.

    ``NetworkDiagram(model, names=("x₁", "x₂"), features=None, extent=None, data=None,
    grid=40, vmax=1.0, wmax=2.0, max_nodes=8, output="units", plot=None, width=5.2,
    height=3.0, dpi=100)``

    * `model`: a ``Dense`` or a ``Chain`` of ``Dense`` layers (weights out × in, batch last);
    * `names`, `features`: the input columns. ``features(X)`` maps the grid's points
      ``X`` (``2 × P``: x₁, x₂) to the model's inputs (``len(names) × P``), so features such
      as x₁² or sin x₁ work; the default passes x₁, x₂ through;
    * `extent` ``(x₁ min, x₁ max, x₂ min, x₂ max)`` is the plane each heat map covers; or give
      the training points `data` (``2 × N``) and the square around them is used, with the
      margin of the dashboard's decision boundary; the default is −1 … 1;
    * `grid` points per side; `vmax`: values from −vmax to vmax span the colours (beyond,
      they saturate, as in Playground); `wmax`: a weight of that size or more gets the widest,
      most saturated line, so one huge weight does not cover the picture;
    * a layer wider than `max_nodes` shows its first `max_nodes` neurons and a "+N more" label;
    * ``output="margin"`` (a two-output classifier) draws one output node, logit 2 − logit 1,
      blue where the second class wins, with the last layer's weights ``W[1] − W[0]``;
    * the picture is drawn by `plot` (a `LivePlot`; if not given, one of `width` × `height`
      inches at `dpi` that sends JPEG, several times quicker to encode than PNG) into
      ``widget``; the figure is the diagram's alone (a new shape clears it). NaN or ∞ weights and NaN values are drawn dark grey, with a note.

    After `update` (or `render`, which also draws): ``values`` holds each column's values on the
    grid (``units × grid²``), ``edges`` is the ``LineCollection`` and ``edge_index`` maps
    ``(layer, out, in)`` (0-based; layer 0 joins the inputs to the first layer) to the edge's
    position in it. ``nodes`` maps ``(column, unit)`` to the heat map's ``(left, top, side)``
    in pixels from the picture's top left corner (column 0 holds the features). ``warning``
    is the note drawn when weights are NaN or ∞ (the empty string otherwise).

    >>> import fluxlite as fl
    >>> model = fl.Chain(fl.Dense(3, 12, fl.tanh), fl.Dense(12, 1, fl.σ))
    >>> square = lambda X: np.vstack([X, X[:1] ** 2])
    >>> d = NetworkDiagram(model, names=("x₁", "x₂", "x₁²"), features=square, grid=10)
    >>> d.update().values[1].shape, len(d.edge_index), d.more_labels
    ((12, 100), 32, ['+4 more'])
    """

    def __init__(self, model, names=("x₁", "x₂"), features=None, extent=None, data=None,
                 grid=40, vmax=1.0, wmax=2.0, max_nodes=8, output="units", plot=None,
                 width=5.2, height=3.0, dpi=100):
        if not (isinstance(grid, (int, np.integer)) and 2 <= grid <= 400):
            raise ValueError(f"NetworkDiagram: grid is the number of points per side, a whole "
                             f"number from 2 to 400, got {grid!r}.")
        for name, v in (("vmax", vmax), ("wmax", wmax)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"NetworkDiagram: {name} must be a positive number, got {v!r}.")
        if output not in ("units", "margin"):
            raise ValueError(f"NetworkDiagram: output must be 'units' or 'margin', got {output!r}.")
        self.names = tuple(str(n) for n in names)
        if not self.names:
            raise ValueError("NetworkDiagram: names must name at least one input feature.")
        if not (isinstance(max_nodes, (int, np.integer)) and max_nodes >= 1):
            raise ValueError(f"NetworkDiagram: max_nodes must be a whole number, 1 or more, got "
                             f"{max_nodes!r}.")
        self.grid, self.max_nodes = int(grid), int(max_nodes)
        self.vmax, self.wmax, self.output = vmax, wmax, output
        self.extent = self._extent(extent, data)
        g1 = np.linspace(self.extent[0], self.extent[1], self.grid)
        g2 = np.linspace(self.extent[2], self.extent[3], self.grid)
        gx, gy = np.meshgrid(g1, g2)                   # row r of the grid: x₂ = g2[r]
        self.points = np.stack([gx.ravel(), gy.ravel()]).astype(np.float32)
        inputs = np.asarray(self.points if features is None else features(self.points),
                            dtype=np.float32)
        if inputs.ndim != 2 or inputs.shape != (len(self.names), self.points.shape[1]):
            raise ValueError(
                f"NetworkDiagram: features(X) must return one row per name ({len(self.names)}: "
                f"{', '.join(self.names)}) and one column per grid point ({self.points.shape[1]}), "
                f"an array of shape ({len(self.names)}, {self.points.shape[1]}); got shape "
                f"{inputs.shape}.")
        self.inputs = inputs
        self.plot = plot if plot is not None else LivePlot(width, height, dpi, format="jpeg")
        self.fig, self.widget = self.plot.fig, self.plot.widget
        self._check(model)
        self.model, self._structure, self.warning = model, None, ""
        self.values, self.edge_index, self.more_labels, self.nodes = [], {}, [], {}

    # ------------------------------------------------------------------ the model's numbers
    def _extent(self, extent, data):
        if extent is None and data is not None:
            X = np.asarray(data, dtype=float)
            if X.ndim != 2 or X.shape[0] != 2 or X.shape[1] == 0 or not np.isfinite(X).all():
                raise ValueError(f"NetworkDiagram: data must be finite points x₁, x₂ of shape "
                                 f"(2, N), got shape {X.shape}.")
            lo, hi = X.min(1), X.max(1)
            centre, half = (lo + hi) / 2, (hi - lo).max() / 2 + 0.12 * max((hi - lo).max(), 1e-6)
            extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
        extent = (-1.0, 1.0, -1.0, 1.0) if extent is None else tuple(map(float, extent))
        if len(extent) != 4 or not all(map(math.isfinite, extent)) \
                or extent[0] >= extent[1] or extent[2] >= extent[3]:
            raise ValueError(f"NetworkDiagram: extent is (x₁ min, x₁ max, x₂ min, x₂ max) with "
                             f"each min below its max, got {extent!r}.")
        return extent

    def _check(self, model):
        """The model's Dense layers, checked against the features and the output setting."""
        layers = _dense_layers(model)
        first = layers[0].weight.shape
        if first[1] != len(self.names):
            raise ValueError(
                f"NetworkDiagram: the model's first layer, Dense({first[1]} => {first[0]}), takes "
                f"{first[1]} inputs, but there are {len(self.names)} features "
                f"({', '.join(self.names)}). Give names and a features function for {first[1]} "
                f"inputs, or start the model with Dense({len(self.names)} => {first[0]}).")
        if self.output == "margin" and layers[-1].weight.shape[0] != 2:
            raise ValueError(f"NetworkDiagram: output='margin' needs a model with 2 outputs "
                             f"(two classes), this one has {layers[-1].weight.shape[0]}.")
        return layers

    def _columns(self, layers):
        """Each column's values on the grid and the weights of the edges coming into it."""
        outs = _forward(layers, self.inputs)
        weights = [np.asarray(layer.weight, dtype=np.float32) for layer in layers]
        if self.output == "margin":
            outs[-1] = outs[-1][1:] - outs[-1][:1]
            weights[-1] = weights[-1][1:] - weights[-1][:1]
        return outs, weights

    # ------------------------------------------------------------------ drawing
    def update(self, model=None):
        """Recompute every node and edge from `model` (or the last one given); return self.

        A model of another shape (a new run with other layers) rebuilds the picture; otherwise
        only the artists' data change. Nothing is drawn: see `render`.

        >>> import fluxlite as fl
        >>> model = fl.Dense(2, 1)
        >>> d = NetworkDiagram(model, grid=4)
        >>> model.weight[0, 1] = -3.0                 # a strong negative weight from x₂
        >>> d.update().describe()
        'Strongest weights: x₂ → output −3; x₁ → output ...'
        """
        with self.plot.lock:
            layers = self._check(self.model if model is None else model)
            self.model = self.model if model is None else model
            values, weights = self._columns(layers)
            structure = tuple(w.shape for w in weights)
            if structure != self._structure:
                self._layout([v.shape[0] for v in values])
                self._structure = structure
            self.values, self._weights = values, weights
            n = self.max_nodes
            shown = np.concatenate([v[:n] for v in values[1:]])
            codes = _codes(shown, self.vmax).ravel()
            self._pixels.reshape(-1, 4)[self._dst] = _RGBA8[codes[self._src]]
            self._image.set_data(self._pixels)
            w = np.concatenate([wl[:n, :n].ravel() for wl in weights])
            bad = ~np.isfinite(w)
            size = np.minimum(np.abs(np.nan_to_num(w)) / self.wmax, 1.0)
            self.edges.set_linewidths(np.where(bad, 2.0, 0.35 + 3.4 * size))
            codes = _codes(w / self.wmax, 1.0)
            codes[bad] = _STEPS + 1                   # ±∞ too: grey, not the sign's colour
            self.edges.set_color(_RGBA[codes])
            self._bad = sum(int((~np.isfinite(layer.weight)).sum()) for layer in layers)
            self.warning = (f"{_weights(self._bad)} NaN or ∞ (grey): training diverged"
                            if self._bad else "")
            self._note.set_text(self.warning)
        return self

    def render(self, model=None):
        """`update` from `model` (or the last one), draw into ``widget``, return the image bytes.

        Call it once per frame: a frame draws the nodes, edges and note over a cached
        background (PNG or JPEG bytes, as `plot` encodes them).

        >>> import fluxlite as fl
        >>> d = NetworkDiagram(fl.Dense(2, 1), grid=4, width=2, height=1)
        >>> d.render() == d.widget.value, d.plot.frames
        (True, 1)
        """
        with self.plot.lock:
            self.update(model)
            return self.plot.render()

    def describe(self, top=3):
        """A sentence naming the `top` strongest weights (by size), and any NaN or ∞ ones.

        A PNG cannot show a weight on hover; this says in words what the thickest lines are.

        >>> import fluxlite as fl
        >>> m = fl.Chain(fl.Dense(2, 2, fl.tanh), fl.Dense(2, 1))
        >>> m[0].weight[:] = [[0.5, -2.0], [0.1, 0.0]]
        >>> m[1].weight[:] = [[1.5, float("nan")]]
        >>> print(NetworkDiagram(m, grid=4).describe(top=2))
        Strongest weights: x₂ → layer 1 neuron 1 −2; layer 1 neuron 1 → output 1.5. 1 weight
        is NaN or ∞.
        """
        if not self.values:
            self.update()
        found = sorted(((k, j, i, float(v)) for k, w in enumerate(self._weights)
                        for (j, i), v in np.ndenumerate(w) if math.isfinite(v)),
                       key=lambda t: -abs(t[3]))
        parts = [f"{self._node_name(k, i)} → {self._node_name(k + 1, j)} "
                 f"{float(f'{v:.3g}'):g}".replace("-", "−") for k, j, i, v in found[:top]]
        text = "Strongest weights: " + ("; ".join(parts) if parts else "none are finite") + "."
        if self._bad:
            text += f" {_weights(self._bad)} NaN or ∞."
        return text

    def _node_name(self, column, unit):
        if column == 0:
            return self.names[unit]
        if column == len(self.values) - 1:
            return "output" if self.values[-1].shape[0] == 1 else f"output {unit + 1}"
        return f"layer {column} neuron {unit + 1}"

    def _layout(self, sizes):
        """Place columns of `sizes` units and make the artists (again only for a new shape)."""
        plot, fig, n, cap = self.plot, self.fig, self.grid, self.max_nodes
        fig.clf()
        plot.invalidate(forget=True)
        fig.set_facecolor("white")
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        W, H = plot.canvas.get_width_height()
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)                       # data coordinates: pixels from the top left
        top, bottom = 18, 14
        left = 10 + 6 * max(len(s) for s in self.names)
        shown = [min(s, cap) for s in sizes]
        rows = [min(s, cap) + (0.7 if s > cap else 0) for s in sizes]
        pitch_y = (H - top - bottom) / max(rows)
        pitch_x = (W - left - 6) / len(sizes)
        side = int(max(2, min(0.8 * pitch_y, 0.5 * pitch_x, 56)))
        self._pixels = np.zeros((H, W, 4), np.uint8)
        frame = np.array([int(FRAME[i:i + 2], 16) for i in (1, 3, 5)] + [255], np.uint8)
        labels = ["input"] + [f"layer {k}" for k in range(1, len(sizes) - 1)] + ["output"]
        self.more_labels, self.nodes, centres, dst, src = [], {}, [], [], []
        r = np.arange(side)
        cell = (n - 1 - (r * n) // side)[:, None] * n + ((r * n) // side)[None, :]
        offset = 0
        for c, (size, count, rows_c) in enumerate(zip(sizes, shown, rows)):
            x = left + pitch_x * (c + 0.5)
            y0 = top + (H - top - bottom - rows_c * pitch_y) / 2
            ys = [y0 + pitch_y * (k + 0.5) for k in range(count)]
            centres.append((x, ys))
            ax.text(x, top - 5, labels[c], ha="center", va="bottom", fontsize=7.5, color=INK)
            if size > cap:
                label = f"+{size - cap} more"
                self.more_labels.append(label)
                ax.text(x, y0 + pitch_y * (count + 0.1), label, ha="center", va="top",
                        fontsize=6.5, color=MUTED)
            for k, y in enumerate(ys):
                px, py = int(round(x - side / 2)), int(round(y - side / 2))
                self.nodes[(c, k)] = (px, py, side)
                self._pixels[py - 1:py + side + 1, px - 1:px + side + 1] = frame
                spot = ((py + r)[:, None] * W + (px + r)[None, :]).ravel()
                if c == 0:
                    codes = _codes(self.inputs[k], self.vmax)[cell.ravel()]
                    self._pixels.reshape(-1, 4)[spot] = _RGBA8[codes]
                    ax.text(px - 4, y, self.names[k], ha="right", va="center", fontsize=7.5,
                            color=INK)
                else:
                    dst.append(spot)
                    src.append(offset + k * n * n + cell.ravel())
            if c > 0:
                offset += count * n * n
        self._dst, self._src = np.concatenate(dst), np.concatenate(src)
        segments, self.edge_index = [], {}
        for c in range(1, len(sizes)):
            (xa, ya), (xb, yb) = centres[c - 1], centres[c]
            for j, y_out in enumerate(yb):
                for i, y_in in enumerate(ya):
                    self.edge_index[(c - 1, j, i)] = len(segments)
                    segments.append([(xa + side / 2, y_in), (xb - side / 2, y_out)])
        self.edges = plot.animate(ax.add_collection(LineCollection(segments, capstyle="butt")))
        self._image = _FigurePixels(ax, extent=(0, W, H, 0), interpolation="nearest", zorder=2)
        self._image.set_data(self._pixels)
        plot.animate(ax.add_image(self._image))
        ax.text(6, H - 3, "orange < 0 < blue · thicker line: larger weight", fontsize=6.5,
                color=MUTED, va="bottom")
        self._note = plot.animate(ax.text(W - 6, H - 3, "", fontsize=6.5, color="#b42318",
                                          ha="right", va="bottom"))
