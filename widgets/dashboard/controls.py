"""The dashboard's own controls: `HiddenLayers`, `LearningRate`, the hyperparameter boxes.

Each is an ipywidgets box with a ``value``; the dashboard observes it. A value a control will
not take is refused with a message, never half applied.
"""
import html
import math

import fluxlite as fl
import ipywidgets as W
import numpy as np
import traitlets

from .data import DEFAULT_FEATURES, FEATURES, feature_inputs
from .settings import REG_RATES, check_features, fmt

class HiddenLayers(W.VBox):
    """How many hidden layers (0–6) and how wide each is (1–32): one slider per layer.

    ``value`` is the tuple of widths, e.g. ``(8, 8)`` for two layers of 8; setting it moves the
    sliders, and moving a slider changes it (observe ``"value"`` to hear about it once).

    >>> h = HiddenLayers((4, 4))
    >>> h.value = (8, 2, 3)
    >>> h.count.value, [s.value for s in h.widths[:3]], h.value
    (3, [8, 2, 3], (8, 2, 3))
    """

    value = traitlets.Tuple()

    def __init__(self, widths=(4, 4), max_layers=6, max_width=32, **kwargs):
        self._syncing = False
        self.count = W.IntSlider(value=0, min=0, max=max_layers, description="",
                                 continuous_update=False, layout=W.Layout(width="250px"))
        self.count.add_class("fl-depth")
        self.widths = [W.IntSlider(value=4, min=1, max=max_width, description=f"layer {i + 1}",
                                   continuous_update=False,
                                   layout=W.Layout(width="250px", height="26px"),
                                   style={"description_width": "50px"})
                       for i in range(max_layers)]
        for s in self.widths:
            s.add_class("fl-width")
        self._rows = W.VBox(self.widths)
        super().__init__([labelled("hidden layers", self.count),
                          labelled("neurons per layer", self._rows)], **kwargs)
        for w in [self.count] + self.widths:
            w.observe(self._from_sliders, "value")
        self.value = tuple(widths)

    def _from_sliders(self, change=None):
        if self._syncing:
            return
        n = self.count.value
        for i, s in enumerate(self.widths):
            s.layout.display = "" if i < n else "none"
        self.value = tuple(s.value for s in self.widths[:n])

    @traitlets.validate("value")
    def _check(self, proposal):
        widths = tuple(int(w) for w in proposal["value"])
        if len(widths) > len(self.widths):
            raise traitlets.TraitError(f"at most {len(self.widths)} hidden layers, got {len(widths)}")
        top = self.widths[0].max
        if any(not 1 <= w <= top for w in widths):
            raise traitlets.TraitError(f"each hidden layer needs 1 to {top} neurons, got {widths}")
        return widths

    @traitlets.observe("value")
    def _to_sliders(self, change):
        self._syncing = True
        try:
            self.count.value = len(change["new"])
            for s, w in zip(self.widths, change["new"]):
                s.value = w
            for i, s in enumerate(self.widths):
                s.layout.display = "" if i < len(change["new"]) else "none"
        finally:
            self._syncing = False


# TensorFlow Playground's learning rates: one click of the slider is one of these.
LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


class _Unchecked(traitlets.TraitType):
    """A trait that takes any value (None too) to its owner's ``@validate``, which decides."""

    def validate(self, obj, value):
        return value


class LearningRate(W.HBox):
    """The learning rate: a slider over the usual values 0.00001 … 10 and the exact value.

    The slider moves in TensorFlow Playground's steps (`LEARNING_RATES`). ``value`` may also be
    set from code to any number from `min` to `max`; the slider then sits on the nearest step
    and the readout shows the exact value. A value that is not a finite number in range is
    refused: ``value`` keeps its old value, and ``refused(message)`` is called if set (the
    dashboard puts the message in its status line); otherwise a ``TraitError`` is raised.

    >>> lr = LearningRate(0.03)
    >>> lr.slider.value, lr.readout.value
    (0.03, '0.03')
    >>> lr.slider.value = 0.3          # a click on the slider
    >>> lr.value
    0.3
    >>> lr.value = 0.002               # from code: any rate in range
    >>> lr.slider.value, lr.readout.value
    (0.003, '0.002')
    >>> lr.refused = print
    >>> lr.value = float("nan")
    Refused learning rate nan: it must be a number from 1e-05 to 10. It stays 0.002.
    >>> lr.value
    0.002
    """

    value = _Unchecked(0.03)         # any value reaches _check, which refuses or keeps it
    disabled = traitlets.Bool(False)
    STEPS, WHAT, CSS = LEARNING_RATES, "learning rate", "fl-lr-readout"
    min, max = LEARNING_RATES[0], LEARNING_RATES[-1]

    def __init__(self, value=0.03, **kwargs):
        self.refused = None
        self._syncing = False
        self.slider = W.SelectionSlider(options=[(fmt(v), v) for v in self.STEPS],
                                        value=self.STEPS[0], readout=False,
                                        continuous_update=False, layout=W.Layout(width="190px"))
        self.readout = W.Label(layout=W.Layout(width="56px"))
        self.readout.add_class(self.CSS)
        super().__init__([self.slider, self.readout], **kwargs)
        self.slider.observe(self._from_slider, "value")
        self.value = value
        self._to_slider({"new": self.value})

    @traitlets.validate("value")
    def _check(self, proposal):
        v = proposal["value"]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) \
                or not math.isfinite(v) or not self.min <= v <= self.max:
            message = (f"Refused {self.WHAT} {v!r}: it must be a number from {fmt(self.min)} "
                       f"to {fmt(self.max)}. It stays {fmt(self.value)}.")
            if self.refused is None:
                raise traitlets.TraitError(message)
            self.refused(message)
            return self.value
        return float(v)

    @traitlets.observe("value")
    def _to_slider(self, change):
        v = change["new"]
        self.readout.value = fmt(v)
        self._syncing = True
        try:
            self.slider.value = self.nearest(v)
        finally:
            self._syncing = False

    def nearest(self, v):
        """The slider's step nearest to `v` (on a log scale)."""
        return min(self.STEPS, key=lambda s: abs(math.log(s / v)))

    @traitlets.observe("disabled")
    def _disable(self, change):
        self.slider.disabled = change["new"]

    def _from_slider(self, change):
        if not self._syncing:
            self.value = change["new"]


class RegularizationRate(LearningRate):
    """The regularization rate λ: a slider over Playground's values 0, 0.001 … 10, and the value.

    It behaves as `LearningRate` does: any number from 0 to 10 from code, the slider on the
    nearest step, anything else refused with a message.

    >>> rate = RegularizationRate(0.0)
    >>> [label for label, _ in rate.slider.options][:4]
    ['0', '0.001', '0.003', '0.01']
    >>> rate.value = 0.02
    >>> rate.slider.value, rate.readout.value
    (0.03, '0.02')
    >>> rate.refused = print
    >>> rate.value = -1
    Refused regularization rate -1: it must be a number from 0 to 10. It stays 0.02.
    """

    value = _Unchecked(0.0)
    STEPS, WHAT, CSS = REG_RATES, "regularization rate", "fl-reg-readout"
    min, max = REG_RATES[0], REG_RATES[-1]

    def nearest(self, v):
        """The slider's step nearest to `v`; 0 is a step of its own, below 0.001."""
        tiny = self.STEPS[1] / 3
        return min(self.STEPS, key=lambda s: abs(math.log((s + tiny) / (v + tiny))))


class FeatureToggles(W.VBox):
    """Which input features the network sees: one toggle button each, as in Playground.

    ``value`` is the tuple of chosen `FEATURES` keys, in that order; pressing a button
    changes it, setting it presses the buttons. A value that is not a non-empty collection
    of known keys is refused like `LearningRate`'s (``refused(message)``, or a TraitError).
    `limit` greys out what a data set cannot use and says why underneath.

    >>> f = FeatureToggles()
    >>> f.buttons["x1x2"].value = True             # a click on x₁x₂
    >>> f.value
    ('x1', 'x2', 'x1x2')
    >>> f.refused = print
    >>> f.value = ()
    Refused input features (): choose at least one input feature: the network needs an input.
    They stay x₁, x₂, x₁x₂.
    >>> f.limit("this data has 5 inputs, not x₁ and x₂")
    >>> f.buttons["x1"].disabled, "5 inputs" in f.note.value
    (True, True)
    """

    value = _Unchecked(DEFAULT_FEATURES)

    def __init__(self, value=DEFAULT_FEATURES, **kwargs):
        self.refused = None
        self._syncing = False
        self.buttons = {}
        for key, (label, expr) in FEATURES.items():
            b = W.ToggleButton(value=False, description=label, tooltip=f"feature {label} = {expr}",
                               layout=W.Layout(width="auto", height="26px", padding="0 6px"))
            b.add_class("fl-feature")
            b.observe(self._from_buttons, "value")
            self.buttons[key] = b
        self.note = W.HTML()
        self.note.add_class("fl-note")
        row = W.HBox(list(self.buttons.values()), layout=W.Layout(flex_flow="row wrap"))
        super().__init__([row, self.note], **kwargs)
        self.value = value
        self._to_buttons({"new": self.value})

    def _labels(self, keys):
        return ", ".join(FEATURES[k][0] for k in keys)

    @traitlets.validate("value")
    def _check(self, proposal):
        try:
            return check_features(proposal["value"])
        except ValueError as err:
            message = (f"Refused input features {proposal['value']!r}: {err} They stay "
                       f"{self._labels(self.value)}.")
            if self.refused is None:
                raise traitlets.TraitError(message) from None
            self.refused(message)
            return self.value

    @traitlets.observe("value")
    def _to_buttons(self, change):
        self._syncing = True
        try:
            for key, b in self.buttons.items():
                b.value = key in change["new"]
        finally:
            self._syncing = False

    def _from_buttons(self, change):
        if self._syncing:
            return
        self.value = tuple(k for k, b in self.buttons.items() if b.value)
        self._to_buttons({"new": self.value})      # a refused click springs back

    def limit(self, reason=None, inputs=2):
        """Grey out every button, saying `reason`; or only the features needing more than
        `inputs` raw inputs (x₂ when the data has x₁ alone)."""
        for key, b in self.buttons.items():
            b.disabled = reason is not None or feature_inputs(key) > inputs
        if reason is not None:
            self.note.value = f"Input features do not apply here: {html.escape(reason)}."
        elif inputs < 2:
            self.note.value = "This data set has one input, x₁: the features of x₂ are off."
        else:
            self.note.value = ""


def labelled(text, widget, cls=None):
    """A small upper-case caption above a control (TensorFlow Playground's look)."""
    box = W.VBox([W.HTML(f"<div class='fl-label'>{html.escape(text)}</div>"), widget])
    box.add_class("fl-field")
    if cls:
        box.add_class(cls)
    return box


def hyper_boxes(optimizer, modifier):
    """``{key: box}``: one small input per hyperparameter of the optimiser and the modifier.

    The learning rate ``eta`` has its own slider, so it gets no box. A modifier's keys are
    prefixed with its name (``ClipNorm.omega``).

    >>> sorted(hyper_boxes("Momentum", "ClipNorm"))
    ['ClipNorm.omega', 'ClipNorm.p', 'ClipNorm.throw', 'rho']
    """
    boxes = {}
    for target, name in (("optimizer", optimizer), ("modifier", modifier)):
        if name == "none":
            continue
        rule = getattr(fl, name)()
        for field in type(rule)._fields:
            if field == "eta":
                continue
            value = getattr(rule, field)
            key = field if target == "optimizer" else f"{name}.{field}"
            if isinstance(value, bool):
                w = W.Checkbox(value=value, description=key, indent=False,
                               layout=W.Layout(width="200px"))
            elif isinstance(value, tuple):
                w = W.Text(value=", ".join(repr(v) for v in value), description=key,
                           continuous_update=False,
                           layout=W.Layout(width="200px"), style={"description_width": "70px"})
            else:
                w = W.FloatText(value=value, description=key, layout=W.Layout(width="200px"),
                                style={"description_width": "70px"})
            w.add_class("fl-hyper")
            boxes[key] = w
    return boxes


def box_value(field, widget):
    """The value a hyperparameter box holds: a tuple for a text box of numbers."""
    if isinstance(widget, W.Text):
        try:
            return tuple(float(v) for v in
                         widget.value.replace("(", "").replace(")", "").split(","))
        except ValueError:
            raise ValueError(f"{field} needs numbers separated by a comma, e.g. 0.9, 0.999; "
                             f"got {widget.value!r}.") from None
    return widget.value


def show_in_box(widget, value):
    """Put a rule's hyperparameter `value` into its box (a tuple as ``0.9, 0.999``)."""
    widget.value = ", ".join(repr(v) for v in value) if isinstance(value, tuple) else value
