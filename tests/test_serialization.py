"""state, loadmodel_, save (.npz files, refusals of bad files) and destructure."""
import os
import zipfile

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.layers import Chain, Dense
from fluxlite.serialization import Restructure, destructure, loadmodel_, save, state


def make(sizes=(3, 4, 2), seed=0):
    fl.seed(seed)
    return Chain(*[Dense(a, b, fl.relu if i < len(sizes) - 2 else fl.layers.identity)
                   for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))])


class Norm:
    """A layer with a trainable scale and a running mean that is state but not trained."""
    _trainable = ("scale",)

    def __init__(self, n):
        self.scale = fl.ones(n)
        self.mean = np.zeros(n)
        self.momentum = 0.1
        self.name = "norm"
        self.act = np.tanh
        self.active = None


def weights(model):
    return [np.array(a) for _, a in sorted((k, v) for k, v in _flat(state(model)))]


def _flat(s, path=""):
    if isinstance(s, np.ndarray):
        yield path, s
    elif isinstance(s, dict):
        for k, v in s.items():
            yield from _flat(v, f"{path}.{k}")
    elif isinstance(s, (list, tuple)):
        for i, v in enumerate(s):
            yield from _flat(v, f"{path}[{i}]")


# --------------------------------------------------------------------------- state

def test_state_mirrors_the_model_with_plain_containers():
    m = make()
    s = state(m)
    assert set(s) == {"layers"} and isinstance(s["layers"], tuple) and len(s["layers"]) == 2
    layer = s["layers"][0]
    assert set(layer) == {"weight", "bias", "σ"}
    assert layer["σ"] == ()  # a function is not state, as in Flux
    assert type(layer["weight"]) is np.ndarray and layer["weight"].dtype == np.float32
    np.testing.assert_array_equal(layer["weight"], m.layers[0].weight)


def test_state_keeps_settings_and_non_trainable_arrays():
    s = state(Norm(3))
    assert s == {"scale": s["scale"], "mean": s["mean"], "momentum": 0.1, "name": "norm",
                 "act": (), "active": None}
    np.testing.assert_array_equal(s["mean"], np.zeros(3))


def test_state_is_a_snapshot_not_a_view():
    m = make()
    s = state(m)
    m.layers[0].weight += 1.0
    assert not np.shares_memory(s["layers"][0]["weight"], m.layers[0].weight)
    np.testing.assert_array_equal(s["layers"][0]["weight"] + 1.0, m.layers[0].weight)


# --------------------------------------------------------------------------- loadmodel_

def test_loadmodel_restores_a_state_in_place():
    m = make()
    s = state(m)
    W = m.layers[1].weight
    W *= 0.0
    assert loadmodel_(m, s) is m
    assert m.layers[1].weight is W  # the same array object, refilled
    np.testing.assert_array_equal(W, s["layers"][1]["weight"])


def test_loadmodel_copies_from_another_model():
    a, b = make(seed=1), make(seed=2)
    loadmodel_(a, b)
    for wa, wb in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(wa, wb)
    a.layers[0].weight[0, 0] = 99.0
    assert b.layers[0].weight[0, 0] != 99.0  # copied, not shared


def test_loadmodel_names_the_place_and_both_shapes_and_copies_nothing():
    m = make((3, 4, 2))
    before = weights(m)
    other = state(make((3, 4, 5)))
    with pytest.raises(ValueError) as err:
        loadmodel_(m, other)
    msg = str(err.value)
    assert "layers[1].weight: the model has shape (2, 4), the source has shape (5, 4)" in msg
    assert "layers[1].bias: the model has shape (2,), the source has shape (5,)" in msg
    assert "Nothing was copied" in msg
    for w0, w1 in zip(before, weights(m)):  # layer 0 fitted, but was not copied either
        np.testing.assert_array_equal(w0, w1)


def test_loadmodel_reports_missing_and_extra_places():
    m = make((3, 4, 2))
    bigger = state(make((3, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"layers\[2\]: in the source but not in the model"):
        loadmodel_(m, bigger)
    s = state(m)
    del s["layers"][0]["bias"]
    with pytest.raises(ValueError, match=r"layers\[0\]\.bias: missing from the source"):
        loadmodel_(m, s)


def test_loadmodel_ignores_settings_that_differ():
    m = make()
    s = state(m)
    s["layers"][0]["σ"] = "something else"  # settings are not copied and need not match
    m.layers[0].weight *= 0
    loadmodel_(m, s)
    np.testing.assert_array_equal(m.layers[0].weight, s["layers"][0]["weight"])


def test_loadmodel_converts_float64_into_a_float32_model_but_refuses_floats_into_integers():
    m = {"W": np.zeros(2, np.float32), "idx": np.zeros(2, np.int64)}
    loadmodel_(m, {"W": np.array([0.5, 1.5]), "idx": np.array([1, 2])})
    assert m["W"].dtype == np.float32 and m["W"].tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="idx: the model holds int64 numbers, the source holds float64"):
        loadmodel_(m, {"W": np.zeros(2), "idx": np.array([1.5, 2.0])})


def test_loadmodel_follows_flux_for_absent_parameters():
    m = {"W": np.ones(2), "b": np.ones(2)}
    loadmodel_(m, {"W": np.full(2, 3.0), "b": False})  # `false` (no bias) loads as zeros
    assert m["b"].tolist() == [0.0, 0.0]
    nobias = {"W": np.ones(2), "b": False}
    loadmodel_(nobias, {"W": np.ones(2), "b": np.zeros(2)})  # zeros into no bias: fine
    with pytest.raises(ValueError, match="b: the source has an array of shape"):
        loadmodel_(nobias, {"W": np.ones(2), "b": np.ones(2)})


def test_loadmodel_refuses_an_array_where_the_model_has_none():
    with pytest.raises(ValueError, match="W: the model has an array of shape"):
        loadmodel_({"W": np.ones(2)}, {"W": ()})


# --------------------------------------------------------------------------- save and load files

def test_save_and_load_round_trip(tmp_path):
    a, b = make(seed=1), make(seed=2)
    path = tmp_path / "model.npz"
    save(path, a)
    assert loadmodel_(b, str(path)) is b
    for wa, wb in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(wa, wb)
        assert wb.dtype == np.float32


def test_saved_file_is_a_plain_npz_keyed_by_place(tmp_path):
    path = tmp_path / "m.npz"
    m = make()
    save(path, m)
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["layers[0].bias", "layers[0].weight", "layers[1].bias",
                                   "layers[1].weight"]
        np.testing.assert_array_equal(z["layers[1].weight"], m.layers[1].weight)
    with zipfile.ZipFile(path) as zf:
        assert all(n.endswith(".npy") for n in zf.namelist())


def test_a_state_saves_under_the_same_names_as_its_model(tmp_path):
    m = make()
    save(tmp_path / "a.npz", m)
    save(tmp_path / "b.npz", state(m))
    assert sorted(np.load(tmp_path / "a.npz").files) == sorted(np.load(tmp_path / "b.npz").files)
    fresh = make(seed=5)
    loadmodel_(fresh, tmp_path / "b.npz")
    np.testing.assert_array_equal(fresh.layers[0].weight, m.layers[0].weight)


def test_implicit_style_params_can_be_saved_and_loaded(tmp_path):
    W, b = fl.rand(2, 5), fl.rand(2)
    save(tmp_path / "wb.npz", fl.params(W, b))
    W2, b2 = fl.zeros(2, 5), fl.zeros(2)
    loadmodel_(fl.params(W2, b2), tmp_path / "wb.npz")
    np.testing.assert_array_equal(W2, W)
    np.testing.assert_array_equal(b2, b)


def test_loading_a_file_that_does_not_fit_names_each_mismatch(tmp_path):
    path = tmp_path / "m.npz"
    save(path, make((3, 4, 2)))
    m = make((3, 5, 2))
    before = weights(m)
    with pytest.raises(ValueError) as err:
        loadmodel_(m, path)
    msg = str(err.value)
    assert "does not fit this model" in msg and "m.npz" in msg
    assert "layers[0].weight: the model has shape (5, 3), the file has shape (4, 3)" in msg
    assert "layers[1].weight: the model has shape (2, 5), the file has shape (2, 4)" in msg
    for w0, w1 in zip(before, weights(m)):
        np.testing.assert_array_equal(w0, w1)
    with pytest.raises(ValueError) as err:
        loadmodel_(make((3, 4, 4, 2)), path)
    msg = str(err.value)
    assert "layers[2].weight: missing from the file" in msg
    with pytest.raises(ValueError, match=r"layers\[1\]\.bias: in the file \(shape \(2,\)\) but not in the model"):
        loadmodel_(Chain(Dense(3, 4), Dense(4, 2, bias=False)), path)


def corrupt_cases(tmp_path):
    good = tmp_path / "good.npz"
    save(good, make())
    raw = good.read_bytes()
    cases = {}
    cases["truncated"] = raw[: len(raw) // 2]
    flipped = bytearray(raw)
    magic = raw.index(b"\x93NUMPY", raw.index(b"layers[0].weight.npy"))
    header_len = int.from_bytes(raw[magic + 8:magic + 10], "little")
    flipped[magic + 10 + header_len + 5] ^= 0xFF  # a byte of the weights themselves
    cases["flipped byte"] = bytes(flipped)
    header = bytearray(raw)
    header[magic + 20] ^= 0xFF  # a byte of the array's header (its dtype/shape text)
    cases["flipped header byte"] = bytes(header)
    cases["random bytes"] = np.random.default_rng(0).bytes(500)
    cases["empty"] = b""
    paths = {}
    for name, data in cases.items():
        p = tmp_path / (name.replace(" ", "_") + ".npz")
        p.write_bytes(data)
        paths[name] = p
    npy = tmp_path / "plain.npz"
    with open(npy, "wb") as f:
        np.save(f, np.ones(3))
    paths["an .npy file"] = npy
    text = tmp_path / "text.npz"
    with zipfile.ZipFile(text, "w") as z:
        z.writestr("layers[0].weight.txt", "1 2 3")
    paths["a zip of text"] = text
    return paths


@pytest.mark.parametrize("case", ["truncated", "flipped byte", "flipped header byte", "random bytes", "empty", "an .npy file",
                                  "a zip of text"])
def test_corrupt_files_are_refused_and_the_model_is_untouched(tmp_path, case):
    path = corrupt_cases(tmp_path)[case]
    m = make()
    before = weights(m)
    with pytest.raises(ValueError, match="cannot read .* as a model file") as err:
        loadmodel_(m, path)
    assert "fl.save(path, model)" in str(err.value)
    for w0, w1 in zip(before, weights(m)):
        np.testing.assert_array_equal(w0, w1)


def test_files_with_pickled_objects_are_never_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, **{"layers[0].weight": np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(ValueError, match="pickled Python objects"):
        loadmodel_(make(), path)


def test_a_missing_file_is_a_file_not_found_error_with_a_hint(tmp_path):
    save(tmp_path / "model.npz", make())
    with pytest.raises(FileNotFoundError, match=r"did you mean that"):
        loadmodel_(make(), tmp_path / "model")


def test_save_refuses_object_arrays_and_leaves_an_existing_file_alone(tmp_path):
    path = tmp_path / "m.npz"
    save(path, make())
    raw = path.read_bytes()
    with pytest.raises(TypeError, match="only numeric arrays"):
        save(path, {"W": np.array([object()], dtype=object)})
    assert path.read_bytes() == raw
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]  # no temporary file left behind


# --------------------------------------------------------------------------- destructure

def test_destructure_flattens_trainable_arrays_in_order():
    m = make()
    v, re = destructure(m)
    expected = np.concatenate([m.layers[0].weight.ravel(), m.layers[0].bias, m.layers[1].weight.ravel(),
                               m.layers[1].bias])
    np.testing.assert_array_equal(v, expected)
    assert v.dtype == np.float32 and type(v) is np.ndarray
    assert len(re) == v.size == 3 * 4 + 4 + 4 * 2 + 2
    assert repr(re) == "Restructure(Chain, ..., 26)"


def test_restructure_round_trip_rebuilds_an_independent_copy():
    m = make()
    v, re = destructure(m)
    m2 = re(v)
    assert type(m2) is Chain and m2 is not m
    x = np.random.default_rng(0).standard_normal((3, 7)).astype(np.float32)
    np.testing.assert_array_equal(m2(x), m(x))
    assert m2.layers[0].σ is m.layers[0].σ
    assert isinstance(m2.layers[0].weight, fl.Param) and m2.layers[0].weight.dtype == np.float32
    m2.layers[0].weight[...] = 0
    assert np.any(m.layers[0].weight != 0) and np.any(v != 0)  # nothing shared with m or v
    np.testing.assert_array_equal(re(x, v), m(x))  # re(x, v) is re(v)(x)


def test_restructure_converts_back_to_each_arrays_dtype():
    m = make()
    _, re = destructure(m)
    m2 = re(np.arange(26, dtype=np.float64))
    assert m2.layers[1].bias.dtype == np.float32
    assert m2.layers[1].bias.tolist() == [24.0, 25.0]


def test_restructure_checks_the_vector_length():
    _, re = destructure(make())
    with pytest.raises(ValueError, match="vector of length 26"):
        re(np.zeros(25))


def test_destructure_counts_shared_arrays_once_and_keeps_them_shared():
    W = fl.param([[1.0, 2.0]])
    model = {"a": W, "b": W, "c": fl.param([3.0])}
    v, re = destructure(model)
    assert v.tolist() == [1.0, 2.0, 3.0]
    m2 = re(np.array([4.0, 5.0, 6.0]))
    assert m2["a"] is m2["b"] and m2["a"].tolist() == [[4.0, 5.0]]


def test_destructure_skips_non_trainable_arrays():
    layer = Norm(2)
    v, re = destructure(layer)
    assert v.tolist() == [1.0, 1.0]  # the scale only, not the running mean
    new = re(np.array([2.0, 3.0]))
    assert new.scale.tolist() == [2.0, 3.0] and new.mean is layer.mean and new.name == "norm"


def test_gradient_flows_through_restructure():
    m = make()
    v, re = destructure(m)
    v = v.astype(np.float64)
    x = np.random.default_rng(1).standard_normal((3, 4))
    f = lambda w: np.sum(re(x, w) ** 2)  # noqa: E731
    (g,) = fl.gradient(f, v)
    h = 1e-3
    num = np.array([(f(v + h * e) - f(v - h * e)) / (2 * h) for e in np.eye(v.size)])
    np.testing.assert_allclose(g, num, rtol=2e-3, atol=2e-3)  # the model computes in float32


def test_destructure_inside_gradient_of_the_model():
    m = {"W": fl.param([[1.0, 2.0], [3.0, 4.0]]), "b": fl.param([0.5, -0.5])}
    (g,) = fl.gradient(lambda model: np.sum(destructure(model)[0] ** 2), m)
    np.testing.assert_allclose(g["W"], 2 * m["W"])
    np.testing.assert_allclose(g["b"], 2 * m["b"])


def test_restructure_is_exported_for_isinstance_checks():
    assert isinstance(destructure({"a": fl.ones(1)})[1], Restructure)
    v, re = destructure({"f": np.tanh})
    assert v.shape == (0,) and len(re) == 0
