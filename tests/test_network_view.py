"""fluxlite.widgets.network.NetworkDiagram: Playground's network view of a Chain of Dense layers.

The heat maps must show what the model computes (checked against the model's own forward pass
and, pixel by pixel, against the colour scale), the edges must follow the weights, a frame must
change exactly when the model does, and bad input must be refused with a message that says
what to do. A trained circles model's diagram is saved to test-artifacts/ to be looked at.

``python tests/test_network_view.py`` prints the cost of a frame (nothing here is timed).
"""
import doctest
import io
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (matplotlib needs Pillow)

import fluxlite as fl  # noqa: E402
import fluxlite.widgets.network  # noqa: E402
from fluxlite.widgets.liveplot import LivePlot  # noqa: E402
from fluxlite.widgets.network import NetworkDiagram, layer_outputs  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ORANGE, BLUE, GREY = (0xF5, 0x93, 0x22), (0x08, 0x77, 0xBD), (0x5F, 0x63, 0x68)


def pixels(diagram):
    """The picture last drawn, as an H × W × 3 array of bytes."""
    return np.asarray(diagram.plot.canvas.buffer_rgba())[..., :3].copy()


def node_pixel(diagram, column, unit, fx, fy):
    """The colour at fraction (fx, fy) across a node's heat map (0, 0 is its top left)."""
    left, top, side = diagram.nodes[(column, unit)]
    return tuple(int(v) for v in pixels(diagram)[top + int(fy * (side - 1)),
                                                 left + int(fx * (side - 1))])


def near(colour, target, tol=12):
    return max(abs(a - b) for a, b in zip(colour, target)) <= tol


def mlp(*sizes, act=fl.tanh, seed=0):
    fl.seed(seed)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return fl.Chain(*[fl.Dense(a, b, act) for a, b in pairs[:-1]], fl.Dense(*pairs[-1]))


def png_plot(width=5.2, height=3.0):
    return LivePlot(width, height, format="png")


# --------------------------------------------------------------------------- the numbers

def test_node_values_are_the_models_own_layer_outputs_on_the_grid():
    model = fl.Chain(fl.Dense(3, 5, fl.relu), fl.Dense(5, 4, fl.σ), fl.Dense(4, 2, fl.gelu))
    square = lambda X: np.vstack([X, X[1:] ** 2])  # noqa: E731
    d = NetworkDiagram(model, names=("x₁", "x₂", "x₂²"), features=square,
                       extent=(-2, 1, -1, 3), grid=12).update()
    X = d.points
    assert X.shape == (2, 144) and X[0].min() == -2 and X[1].max() == 3
    np.testing.assert_array_equal(d.values[0], square(X).astype(np.float32))
    for k in range(1, 4):
        expected = model[:k](square(X).astype(np.float32))
        assert d.values[k].dtype == np.float32
        np.testing.assert_allclose(d.values[k], expected, rtol=1e-5, atol=1e-6)


def test_layer_outputs_keeps_every_layer_and_ends_with_the_models_output():
    model = mlp(2, 4, 4, 1)
    x = np.random.default_rng(1).normal(size=(2, 50)).astype(np.float32)
    outs = layer_outputs(model, x)
    assert [o.shape for o in outs] == [(2, 50), (4, 50), (4, 50), (1, 50)]
    np.testing.assert_allclose(outs[1], model[0](x), rtol=1e-6)
    np.testing.assert_allclose(outs[-1], model(x), rtol=1e-5, atol=1e-6)


def test_margin_output_is_logit_two_minus_logit_one_with_its_weights():
    model = mlp(2, 3, 2)
    d = NetworkDiagram(model, output="margin", grid=6).update()
    logits = model(d.points)
    np.testing.assert_allclose(d.values[-1], logits[1:] - logits[:1], rtol=1e-5, atol=1e-6)
    W = np.asarray(model[1].weight)
    assert len([key for key in d.edge_index if key[0] == 1]) == 3
    widths = d.edges.get_linewidths()
    strongest = int(np.argmax(np.abs(W[1] - W[0])))
    others = [i for i in range(3) if i != strongest]
    assert all(widths[d.edge_index[(1, 0, strongest)]] >= widths[d.edge_index[(1, 0, i)]]
               for i in others)


# --------------------------------------------------------------------------- the picture

def test_heat_maps_put_x1_left_to_right_and_x2_bottom_to_top_in_playground_colours():
    # output = x₁ / 2: orange on the left, blue on the right; the input x₂ node: orange at the bottom
    d = NetworkDiagram(fl.Dense(np.array([[0.5, 0.0]], np.float32)), extent=(-3, 3, -3, 3),
                       plot=png_plot())
    d.render()
    assert near(node_pixel(d, 1, 0, 0.05, 0.5), ORANGE)
    assert near(node_pixel(d, 1, 0, 0.95, 0.5), BLUE)
    assert near(node_pixel(d, 0, 1, 0.5, 0.97), ORANGE)     # x₂ = -3 at the bottom
    assert near(node_pixel(d, 0, 1, 0.5, 0.03), BLUE)
    middle = node_pixel(d, 1, 0, 0.5, 0.5)                   # x₁ ≈ 0: near white
    assert min(middle) > 200


@pytest.mark.parametrize("bias, colour", [
    (0.0, (0xE8, 0xEA, 0xEB)),                     # zero: Playground's near-white
    (2.0, BLUE), (-2.0, ORANGE),                   # ±vmax
    (9.0, BLUE), (-np.inf, ORANGE),                # beyond: saturated
    (1.0, tuple(round((a + b) / 2) for a, b in zip((0xE8, 0xEA, 0xEB), BLUE))),
    (np.nan, GREY),
])
def test_a_constant_node_has_the_scales_colour_for_its_value(bias, colour):
    layer = fl.Dense(np.zeros((1, 2), np.float32), np.array([bias], np.float32))
    d = NetworkDiagram(layer, vmax=2.0, plot=png_plot())
    d.render()
    for fx, fy in ((0, 0), (0.5, 0.5), (1, 1)):
        assert near(node_pixel(d, 1, 0, fx, fy), colour, tol=1)


def test_edge_width_and_colour_follow_one_changed_weight_and_no_other():
    model = mlp(2, 3, 3, 1)
    d = NetworkDiagram(model, grid=8).update()
    key = (1, 2, 0)                          # layer 2's neuron 3, fed by layer 1's neuron 1
    at = d.edge_index[key]

    def edges_with(weight):
        model[1].weight[2, 0] = weight
        d.update()
        return np.array(d.edges.get_linewidths()), np.array(d.edges.get_colors())

    w_small, c_small = edges_with(0.3)
    w_big, c_big = edges_with(1.5)
    w_neg, c_neg = edges_with(-1.5)
    w_huge, _ = edges_with(50.0)
    w_huger, _ = edges_with(5000.0)
    others = np.arange(len(w_small)) != at
    for widths, colours in ((w_big, c_big), (w_neg, c_neg)):
        np.testing.assert_array_equal(widths[others], w_small[others])
        np.testing.assert_array_equal(colours[others], c_small[others])
    assert w_small[at] < w_big[at] == w_neg[at] < w_huge[at] == w_huger[at]   # clipped
    assert c_big[at][2] > c_big[at][0]       # blue for a positive weight
    assert c_neg[at][0] > c_neg[at][2]       # orange for a negative one
    assert len(d.edge_index) == 2 * 3 + 3 * 3 + 3


def test_the_picture_changes_with_the_model_and_not_without():
    model = mlp(2, 4, 4, 1)
    d = NetworkDiagram(model, plot=png_plot())
    first = d.render()
    first_pixels = pixels(d)
    artists = list(d.fig.axes[0].get_children())
    assert d.render() == first and np.array_equal(pixels(d), first_pixels)
    model[0].bias[1] += 0.8                  # one neuron's heat map moves
    changed = d.render()
    assert changed != first and not np.array_equal(pixels(d), first_pixels)
    model[0].bias[1] -= 0.8
    assert d.render() == first
    assert d.plot.full_draws == 1            # frames only redraw the nodes and edges
    assert list(d.fig.axes[0].get_children()) == artists   # the same artists, new data


def test_wide_layers_show_the_first_max_nodes_and_say_how_many_more():
    model = mlp(2, 32, 8, 1, act=fl.relu)
    d = NetworkDiagram(model, plot=png_plot())
    d.render()
    texts = [t.get_text() for t in d.fig.axes[0].texts]
    assert d.more_labels == ["+24 more"] and "+24 more" in texts
    assert [v.shape[0] for v in d.values] == [2, 32, 8, 1]
    assert (1, 7) in d.nodes and (1, 8) not in d.nodes
    assert len(d.edge_index) == 2 * 8 + 8 * 8 + 8
    boxes = sorted(d.nodes.values())
    for (l1, t1, s1), (l2, t2, s2) in zip(boxes, boxes[1:]):
        assert l1 + s1 < l2 or t1 + s1 < t2  # no two nodes overlap


def test_a_model_of_another_shape_rebuilds_the_picture():
    d = NetworkDiagram(mlp(2, 4, 1), grid=6).update()
    assert len(d.edge_index) == 2 * 4 + 4
    d.update(mlp(2, 3, 3, 1))
    assert len(d.edge_index) == 2 * 3 + 3 * 3 + 3 and len(d.values) == 4
    assert {c for c, _ in d.nodes} == {0, 1, 2, 3}


def test_saving_at_another_resolution_scales_the_nodes_too():
    d = NetworkDiagram(fl.Dense(np.array([[0.5, 0.0]], np.float32)), extent=(-3, 3, -3, 3),
                       plot=png_plot())
    frame = d.render()
    expected = [node_pixel(d, 1, 0, fx, 0.5) for fx in (0.05, 0.95)]
    assert near(expected[0], ORANGE) and near(expected[1], BLUE)
    out = io.BytesIO()
    d.fig.savefig(out, format="png", dpi=200)            # twice the pixels in each direction
    big = np.asarray(Image.open(io.BytesIO(out.getvalue())).convert("RGB"))
    assert big.shape == (600, 1040, 3)
    left, top, side = d.nodes[(1, 0)]
    for fx, colour in zip((0.05, 0.95), expected):
        x, y = 2 * (left + int(fx * (side - 1))), 2 * (top + side // 2)
        assert near(tuple(int(v) for v in big[y, x]), colour, tol=8)
    assert d.render() == frame                           # live frames are unchanged


def test_a_single_dense_layer_is_drawn_as_inputs_and_output():
    d = NetworkDiagram(fl.Dense(2, 1), plot=png_plot())
    assert d.render()[:4] == b"\x89PNG"
    assert [t.get_text() for t in d.fig.axes[0].texts][:2] == ["input", "x₁"]
    assert len(d.edge_index) == 2 and set(d.nodes) == {(0, 0), (0, 1), (1, 0)}


def test_nan_and_infinite_weights_are_drawn_grey_with_a_note():
    model = mlp(2, 3, 1)
    model[0].weight[1, 0] = np.nan
    model[1].weight[0, 2] = np.inf
    d = NetworkDiagram(model, plot=png_plot())
    d.render()
    assert d.warning == "2 weights are NaN or ∞ (grey): training diverged"
    grey = d.edges.get_colors()
    for key in ((0, 1, 0), (1, 0, 2)):
        assert near(tuple(255 * grey[d.edge_index[key]][:3]), GREY, tol=1)
    assert near(node_pixel(d, 1, 1, 0.5, 0.5), GREY)   # the neuron fed by the NaN
    assert near(node_pixel(d, 2, 0, 0.5, 0.5), GREY)   # and everything after it
    assert not near(node_pixel(d, 1, 0, 0.5, 0.5), GREY)
    assert d.describe().endswith(" 2 weights are NaN or ∞.")
    model[0].weight[1, 0] = 0.5
    model[1].weight[0, 2] = 0.5
    model[1].weight[0, 1] = -np.inf
    d.render()
    assert d.warning == "1 weight is NaN or ∞ (grey): training diverged"
    model[1].weight[0, 1] = 0.5
    d.render()
    assert d.warning == "" and not near(node_pixel(d, 2, 0, 0.5, 0.5), GREY)


def test_nan_weights_are_counted_in_the_model_also_with_the_margin_output():
    model = mlp(2, 3, 2)
    model[1].weight[:, 1] = np.nan              # both logits' weights from one neuron
    d = NetworkDiagram(model, output="margin", grid=4).update()
    assert d.warning == "2 weights are NaN or ∞ (grey): training diverged"
    assert d.describe().endswith(" 2 weights are NaN or ∞.")


def test_describe_names_the_strongest_weights_in_order():
    m = fl.Chain(fl.Dense(2, 2, fl.tanh), fl.Dense(2, 1))
    m[0].weight[:] = [[0.5, -2.0], [0.1, 0.0]]
    m[1].weight[:] = [[1.5, 0.25]]
    text = NetworkDiagram(m, names=("a", "b"), grid=4).describe(top=3)
    assert text == ("Strongest weights: b → layer 1 neuron 1 −2; layer 1 neuron 1 → output 1.5; "
                    "a → layer 1 neuron 1 0.5.")


# --------------------------------------------------------------------------- refusals

def test_a_model_whose_first_layer_does_not_take_the_features_is_refused():
    with pytest.raises(ValueError) as e:
        NetworkDiagram(mlp(3, 4, 1))
    assert str(e.value) == (
        "NetworkDiagram: the model's first layer, Dense(3 => 4), takes 3 inputs, but there are "
        "2 features (x₁, x₂). Give names and a features function for 3 inputs, or start the "
        "model with Dense(2 => 4).")
    good = mlp(2, 4, 1)
    d = NetworkDiagram(good, grid=4)
    with pytest.raises(ValueError, match=r"takes 3 inputs, but there are 2 features"):
        d.update(mlp(3, 4, 1))
    assert d.model is good and d.update().values[-1].shape == (1, 16)   # still the last good one


def test_layers_other_than_dense_are_refused():
    with pytest.raises(TypeError) as e:
        NetworkDiagram(fl.Chain(fl.Dense(2, 3), fl.Dense(3, 2), fl.softmax))
    assert str(e.value) == (
        "NetworkDiagram draws Dense layers only, but layer 3 of the model is the function "
        "softmax. Draw a Chain of Dense layers (a final softmax belongs in the loss: "
        "logitcrossentropy).")
    with pytest.raises(TypeError, match=r"layer 2 of the model is a BatchNorm layer"):
        NetworkDiagram(fl.Chain(fl.Dense(2, 3), fl.BatchNorm(3)))
    with pytest.raises(TypeError) as e:
        NetworkDiagram(lambda x: x)
    assert str(e.value) == ("NetworkDiagram draws a Dense layer or a Chain of Dense layers, "
                            "got function.")


def test_layers_that_do_not_fit_together_are_refused():
    bad = fl.Chain(fl.Dense(2, 3), fl.Dense(4, 1))
    with pytest.raises(ValueError) as e:
        NetworkDiagram(bad)
    assert str(e.value) == "NetworkDiagram: layer 2 takes 4 inputs but layer 1 gives 3."


def test_features_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError) as e:
        NetworkDiagram(mlp(3, 2, 1), names=("x₁", "x₂", "x₁x₂"), features=lambda X: X, grid=5)
    assert str(e.value) == (
        "NetworkDiagram: features(X) must return one row per name (3: x₁, x₂, x₁x₂) and one "
        "column per grid point (25), an array of shape (3, 25); got shape (2, 25).")


@pytest.mark.parametrize("kwargs, message", [
    (dict(grid=1), "NetworkDiagram: grid is the number of points per side, a whole number "
                   "from 2 to 400, got 1."),
    (dict(vmax=float("nan")), "NetworkDiagram: vmax must be a positive number, got nan."),
    (dict(wmax=0), "NetworkDiagram: wmax must be a positive number, got 0."),
    (dict(max_nodes=0), "NetworkDiagram: max_nodes must be a whole number, 1 or more, got 0."),
    (dict(output="probability"), "NetworkDiagram: output must be 'units' or 'margin', got "
                                 "'probability'."),
    (dict(output="margin"), "NetworkDiagram: output='margin' needs a model with 2 outputs "
                            "(two classes), this one has 1."),
    (dict(extent=(1, -1, 0, 1)), "NetworkDiagram: extent is (x₁ min, x₁ max, x₂ min, x₂ max) "
                                 "with each min below its max, got (1.0, -1.0, 0.0, 1.0)."),
    (dict(data=np.full((2, 3), np.nan)), "NetworkDiagram: data must be finite points x₁, x₂ "
                                         "of shape (2, N), got shape (2, 3)."),
    (dict(names=()), "NetworkDiagram: names must name at least one input feature."),
])
def test_bad_settings_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ValueError) as e:
        NetworkDiagram(mlp(2, 3, 1), **kwargs)
    assert str(e.value) == message


def test_the_extent_from_data_is_the_decision_boundarys_square():
    X = np.array([[0.0, 2.0, 1.0], [0.0, 1.0, 0.5]])
    d = NetworkDiagram(mlp(2, 3, 1), data=X, grid=5)
    assert d.extent == pytest.approx((-0.24, 2.24, -0.74, 1.74))


# --------------------------------------------------------------------------- examples, picture

def test_the_public_examples_run():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE     # as pyproject.toml sets them
    result = doctest.testmod(fluxlite.widgets.network, optionflags=flags)
    assert result.attempted >= 10 and result.failed == 0


def trained_circles_model(steps=300):
    X, labels = fl.datasets.circles(200, noise=0.05, rng=0)
    Y = (2.0 * labels - 1.0)[None, :].astype(np.float32)   # inner circle (class 1): +1, blue
    model = mlp(2, 4, 4, 1, seed=0)
    state = fl.setup(fl.Adam(0.03), model)
    for _ in range(steps):
        _, grads = fl.withgradient(lambda m: fl.mse(m(X), Y), model)
        fl.update_(state, model, grads[0])
    return model, X, labels


def test_a_trained_circles_model_is_saved_for_a_look():
    model, X, labels = trained_circles_model()
    accuracy = np.mean((model(X)[0] > 0) == (labels == 1))
    assert accuracy > 0.95
    d = NetworkDiagram(model, data=X, plot=png_plot(5.2, 3.0))
    png = d.render()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "network-diagram.png").write_bytes(png)
    assert d.plot.canvas.get_width_height() == (520, 300)
    assert near(node_pixel(d, 3, 0, 0.5, 0.5), BLUE, tol=40)     # the inner circle
    assert near(node_pixel(d, 3, 0, 0.02, 0.02), ORANGE, tol=40)  # outside the outer one
    wide = mlp(4, 32, 8, 8, 8, 8, 8, 2, act=fl.relu, seed=2)
    wide[3].weight[0, 0] = np.nan
    square = lambda X: np.vstack([X, X ** 2])  # noqa: E731
    d = NetworkDiagram(wide, names=("x₁", "x₂", "x₁²", "x₂²"), features=square, data=X,
                       output="margin", plot=png_plot(4.8, 3.0))
    (ARTIFACTS / "network-diagram-wide.png").write_bytes(d.render())


# --------------------------------------------------------------------------- cost of a frame

def frame_costs(repeats=200):
    """Median milliseconds of one `render` (update + draw + encode) at a 40 × 40 grid."""
    out = {}
    for name, hidden in (("2 hidden layers of 4", (4, 4)), ("6 hidden layers of 8", (8,) * 6)):
        model = mlp(2, *hidden, 1)
        for fmt in ("jpeg", "png"):
            d = NetworkDiagram(model, grid=40, plot=LivePlot(5.2, 3.0, format=fmt))
            d.render()
            spent = []
            for _ in range(repeats):
                model[0].weight[0, 0] += 1e-3
                start = time.perf_counter()
                d.render()
                spent.append(time.perf_counter() - start)
            out[(name, fmt)] = 1e3 * statistics.median(spent)
    return out


if __name__ == "__main__":
    for (name, fmt), ms in frame_costs().items():
        print(f"{name:22s} {fmt:5s} {ms:6.2f} ms per frame")
