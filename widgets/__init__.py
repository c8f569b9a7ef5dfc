"""Interactive widgets for the fluxlite lessons: a training dashboard and small lesson widgets.

They install as ``fluxlite.widgets`` (from the repository's widgets/ folder) and need the
``widgets`` extra, ``pip install 'fluxlite[widgets]'``: ipywidgets, matplotlib, threadpoolctl.
``import fluxlite`` does not load them; ``from fluxlite.widgets import ...`` does.

Everything here is built on fluxlite's public API, ipywidgets and matplotlib's object-oriented
``Figure`` (never pyplot), so it runs in JupyterLab, Notebook 7, Voilà and on Binder.

* `TrainingDashboard`: train a small network on a toy problem and watch it learn, TensorFlow
  Playground style, with live loss curves, run history and "show the code";
* `Dataset`: a train/test split to hand to the dashboard (your own data, e.g. the digits);
* `NetworkDiagram`: the network as Playground draws it, each neuron a heat map over the input
  plane and each weight an edge (the dashboard's "Network" view); `layer_outputs` gives the
  values it draws;
* `LivePlot`: a matplotlib ``Figure`` drawn with Agg into an ``ipywidgets.Image``;
* `ThreadRunner`, `AsyncioRunner`: the two ways of training without blocking the kernel;
* lesson widgets: `GradientExplorer` (lessons 1-2), `LinearRegressionFit` (lesson 3),
  `OptimizerRace` (lesson 4b), `LayerBuilder` (lesson 5a), `LatentExplorer` (the autoencoder
  and VAE lessons) and `GradientThroughTime` (the recurrent lesson).

>>> from fluxlite.widgets import TrainingDashboard
>>> dash = TrainingDashboard(dataset="xor", hidden=(4,), seed=1)
>>> len(dash.train(2))
2
"""
# Each name is imported from its module on first use, so that the dashboard's headless core
# (`fluxlite.widgets.dashboard.trainer`) can be imported without ipywidgets or matplotlib.
_WHERE = {
    # training dashboard
    "TrainingDashboard": "dashboard", "Dataset": "dashboard", "NetworkDiagram": "network",
    "layer_outputs": "network", "LivePlot": "liveplot", "ThreadRunner": "runners",
    "AsyncioRunner": "runners", "make_runner": "runners",
    # lesson widgets
    "GradientExplorer": "explorer", "LinearRegressionFit": "linreg_fit",
    "OptimizerRace": "race", "LayerBuilder": "builder", "LatentExplorer": "latent",
    "GradientThroughTime": "through_time",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        import importlib
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
