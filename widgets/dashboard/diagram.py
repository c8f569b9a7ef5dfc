"""The network as TensorFlow Playground draws it, live: `fluxlite.widgets.network.NetworkDiagram`
(each neuron a small heat map over the input plane, each weight a line) for the trainer's model.

The diagram covers the plane of the data's two inputs x₁, x₂, so it is drawn for the built-in
two-dimensional data sets; elsewhere a note says why there is none.
"""
import html

import ipywidgets as W
import numpy as np

from ..network import NetworkDiagram
from .data import DEFAULT_FEATURES, FEATURES


def why_no_diagram(data):
    """Why `data` gets no network diagram (a sentence), or None when it gets one.

    >>> from fluxlite.widgets.dashboard.data import builtin_data
    >>> why_no_diagram(builtin_data("regression1d", 0.1, 0.5, 0))
    'it draws the plane of two inputs x₁ and x₂, and this data has 1 input'
    """
    if np.ndim(data.x_train) != 2:
        return "it draws the plane of two inputs x₁ and x₂, and this data is not a table of points"
    if data.n_in != 2:
        return (f"it draws the plane of two inputs x₁ and x₂, and this data has {data.n_in} "
                f"input{'s' if data.n_in != 1 else ''}")
    return None


class DiagramView:
    """A `NetworkDiagram` of the trainer's model in `plot`, made again when the data or the
    input features change, and a note in `note` when there is no diagram to draw.

    ``draw(trainer)`` updates it from the trainer's model (call it under the trainer's lock).
    """

    def __init__(self, plot):
        self.plot, self.diagram, self._key = plot, None, None
        self.note = W.HTML()
        self.note.add_class("fl-note")

    def _make(self, trainer):
        data = trainer.data
        why = why_no_diagram(data)
        if why is None:
            try:
                self.diagram = NetworkDiagram(
                    trainer.model, names=tuple(FEATURES[k][0] for k in trainer.features or
                                               DEFAULT_FEATURES),
                    features=trainer.feature_function, grid=32, plot=self.plot,
                    data=np.concatenate([data.x_train, data.x_test], axis=1),
                    output="margin" if data.n_out == 2 else "units")
            except (TypeError, ValueError) as err:      # a model it cannot draw
                why = str(err).removeprefix("NetworkDiagram: ")
        self.plot.widget.layout.display = "none" if why else ""
        self.note.value = "" if why is None else html.escape(f"No network diagram: {why}.")

    def draw(self, trainer):
        """Draw the trainer's current model (its weights and every neuron's values)."""
        key = (id(trainer.data), trainer.features)
        if key != self._key:
            self.diagram, self._key = None, key
            self._make(trainer)
        if self.diagram is not None:
            self.diagram.render(trainer.model)
