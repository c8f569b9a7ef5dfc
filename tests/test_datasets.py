"""fluxlite.datasets: the shipped digits, the toy generators, the regression data and the IDX reader."""

import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fluxlite as fl
from fluxlite import datasets
from fluxlite.datasets import shipped

# --------------------------------------------------------------------------- digits

# Images per digit 0-9 in the UCI test set, as the UCI dataset page lists them.
UCI_TEST_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_shapes_range_and_labels():
    X, y = datasets.digits()
    assert X.shape == (64, 1797) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == UCI_TEST_COUNTS


def test_digits_dtype_option():
    assert datasets.digits(dtype=np.float64)[0].dtype == np.float64
    assert datasets.digits(images=True, dtype=np.float64)[0].dtype == np.float64
    with pytest.raises(ValueError, match="digits: dtype"):
        datasets.digits(dtype=np.uint8)


def test_digits_unscaled_are_the_block_counts_0_to_16():
    X, _ = datasets.digits()
    raw, _ = datasets.digits(scaled=False)
    assert raw.min() == 0 and raw.max() == 16
    np.testing.assert_array_equal(raw, np.round(raw))
    np.testing.assert_array_equal(raw / 16, X)


def test_digits_images_are_whcn_and_hold_the_same_pixels():
    X, y = datasets.digits()
    images, y2 = datasets.digits(images=True)
    assert images.shape == (8, 8, 1, 1797)
    np.testing.assert_array_equal(y, y2)
    # X[:, n] reads image n row by row; images[w, h, 0, n] is column w, row h.
    rows_first = images[:, :, 0, :].transpose(1, 0, 2).reshape(64, 1797)
    np.testing.assert_array_equal(rows_first, X)


def test_digits_zero_looks_like_a_ring():
    images, y = datasets.digits(images=True)
    zero = images[:, :, 0, np.flatnonzero(y == 0)].mean(axis=-1)
    centre, ring = zero[3:5, 3:5].mean(), zero[[1, 1, 6, 6], [3, 4, 3, 4]].mean()
    assert ring > 2 * centre


def test_digits_file_matches_the_recorded_sha256():
    digest = hashlib.sha256(open(shipped.DIGITS_FILE, "rb").read()).hexdigest()
    assert digest == shipped.DIGITS_SHA256
    provenance = open(shipped.DIGITS_FILE.replace("digits.npz", "PROVENANCE.md"), encoding="utf-8").read()
    assert digest in provenance


def _damaged_copies(tmp_path):
    original = open(shipped.DIGITS_FILE, "rb").read()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0xFF
    with np.load(shipped.DIGITS_FILE) as f:
        images, labels = f["images"].copy(), f["labels"].copy()
    labels[0] = (labels[0] + 1) % 10                     # a valid file with one label changed
    tampered = tmp_path / "tampered.npz"
    np.savez_compressed(tampered, images=images, labels=labels)
    return {
        "flipped byte": bytes(flipped),
        "truncated": original[: len(original) // 2],
        "tampered label": tampered.read_bytes(),
    }


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "tampered label"])
def test_digits_refuses_a_corrupt_or_tampered_file(tmp_path, monkeypatch, damage):
    bad = tmp_path / "digits.npz"
    bad.write_bytes(_damaged_copies(tmp_path)[damage])
    monkeypatch.setattr(shipped, "DIGITS_FILE", str(bad))
    with pytest.raises(ValueError, match="corrupt or has been modified") as err:
        datasets.digits()
    assert shipped.DIGITS_SHA256 in str(err.value)


def test_digits_accepts_an_intact_copy_and_reports_a_missing_file(tmp_path, monkeypatch):
    copy = tmp_path / "digits.npz"
    shutil.copyfile(shipped.DIGITS_FILE, copy)
    monkeypatch.setattr(shipped, "DIGITS_FILE", str(copy))
    assert datasets.digits()[0].shape == (64, 1797)
    monkeypatch.setattr(shipped, "DIGITS_FILE", str(tmp_path / "gone.npz"))
    with pytest.raises(FileNotFoundError, match="missing"):
        datasets.digits()


# --------------------------------------------------------------------------- toy generators

GENERATORS = {
    "circles": datasets.circles,
    "moons": datasets.moons,
    "xor": datasets.xor,
    "spiral": datasets.spiral,
    "gaussian": datasets.gaussian,
}
CLASSES = {"circles": 2, "moons": 2, "xor": 2, "spiral": 2, "gaussian": 3}


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shapes_and_types(name):
    X, y = GENERATORS[name](n=123, rng=0)
    assert X.shape == (2, 123) and X.dtype == np.float32
    assert y.shape == (123,) and y.dtype == np.int64
    assert set(y.tolist()) == set(range(CLASSES[name]))
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_dtype_option_keeps_the_same_points(name):
    X32, y32 = GENERATORS[name](n=60, rng=2)
    X64, y64 = GENERATORS[name](n=60, rng=2, dtype=np.float64)
    assert X64.dtype == np.float64
    np.testing.assert_array_equal(y32, y64)
    np.testing.assert_array_equal(X32, X64.astype(np.float32))
    with pytest.raises(ValueError, match="floating-point"):
        GENERATORS[name](n=60, rng=2, dtype=int)


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_is_deterministic_for_a_seed(name):
    gen = GENERATORS[name]
    X1, y1 = gen(n=50, rng=7)
    X2, y2 = gen(n=50, rng=np.random.default_rng(7))
    X3, _ = gen(n=50, rng=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_uses_fluxlites_generator_by_default(name):
    gen = GENERATORS[name]
    fl.seed(3)
    X1, _ = gen(n=40)
    fl.seed(3)
    X2, _ = gen(n=40)
    X3, _ = gen(n=40)
    np.testing.assert_array_equal(X1, X2)
    assert not np.array_equal(X2, X3)


@pytest.mark.parametrize("name", GENERATORS)
@given(n=st.integers(6, 300))
def test_generator_classes_are_balanced(name, n):
    _, y = GENERATORS[name](n=n, rng=n)
    counts = np.bincount(y, minlength=CLASSES[name])
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shuffles_the_classes(name):
    _, y = GENERATORS[name](n=200, rng=1)
    assert not np.all(np.diff(y) >= 0), "points should not come sorted by class"


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"noise": -0.1}, {"noise": float("nan")}])
def test_generator_rejects_bad_arguments(name, kwargs):
    with pytest.raises(ValueError, match=name):
        GENERATORS[name](**kwargs, rng=0)


def test_circles_without_noise_lie_on_two_circles():
    X, y = datasets.circles(200, noise=0.0, factor=0.3, rng=0, dtype=np.float64)
    r = np.hypot(X[0], X[1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_circles_noise_is_the_standard_deviation_of_the_jitter():
    X, y = datasets.circles(20000, noise=0.05, rng=0, dtype=np.float64)
    r = np.hypot(X[0], X[1])
    assert abs(np.std(r[y == 0] - 1.0) - 0.05) < 0.005


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = datasets.moons(200, noise=0.0, rng=0, dtype=np.float64)
    upper, lower = X[:, y == 0], X[:, y == 1]
    np.testing.assert_allclose(np.hypot(upper[0], upper[1]), 1.0)
    assert np.all(upper[1] >= 0)
    np.testing.assert_allclose(np.hypot(lower[0] - 1.0, lower[1] - 0.5), 1.0)
    assert np.all(lower[1] <= 0.5)


def test_xor_without_noise_labels_by_the_signs():
    X, y = datasets.xor(400, noise=0.0, rng=0, dtype=np.float64)
    assert np.all(np.abs(X) <= 1.0)
    np.testing.assert_array_equal(y, (X[0] * X[1] < 0).astype(np.int64))
    quadrant_counts = np.bincount(2 * (X[0] > 0) + (X[1] > 0), minlength=4)
    assert quadrant_counts.tolist() == [100, 100, 100, 100]


def test_spiral_without_noise_lies_on_its_arms():
    classes, turns = 3, 1.5
    X, y = datasets.spiral(300, noise=0.0, classes=classes, turns=turns, rng=0, dtype=np.float64)
    r = np.hypot(X[0], X[1])
    assert np.all(r <= 1.0)
    # the angle of a point at radius r on arm k is 2πk/K + 2π·turns·r (mod 2π)
    expected = 2 * np.pi * y / classes + 2 * np.pi * turns * r
    residual = np.angle(np.exp(1j * (np.arctan2(X[1], X[0]) - expected)))
    np.testing.assert_allclose(residual, 0.0, atol=1e-9)


def test_gaussian_without_noise_sits_on_the_centres():
    centres = [(0.0, 0.0), (3.0, 1.0)]
    X, y = datasets.gaussian(10, noise=0.0, centers=centres, rng=0, dtype=np.float64)
    np.testing.assert_array_equal(X.T, np.array(centres)[y])


def test_gaussian_with_a_count_spreads_centres_on_the_unit_circle():
    X, y = datasets.gaussian(4000, noise=0.1, centers=4, rng=0, dtype=np.float64)
    means = np.stack([X[:, y == k].mean(axis=1) for k in range(4)])
    np.testing.assert_allclose(means, [[1, 0], [0, 1], [-1, 0], [0, -1]], atol=0.02)


def test_generators_reject_bad_shape_parameters():
    with pytest.raises(ValueError, match="factor"):
        datasets.circles(factor=1.5)
    with pytest.raises(ValueError, match="classes"):
        datasets.spiral(classes=1)
    with pytest.raises(ValueError, match="centers"):
        datasets.gaussian(centers=[1, 2, 3])


# --------------------------------------------------------------------------- regression data


def test_regression1d_is_a_sine_in_flux_layout():
    X, Y = datasets.regression1d(500, noise=0.0, rng=0)
    assert X.shape == Y.shape == (1, 500)
    assert X.dtype == Y.dtype == np.float32
    assert np.all(np.abs(X) <= 3.0)
    X, Y = datasets.regression1d(500, noise=0.0, rng=0, dtype=np.float64)
    np.testing.assert_allclose(Y, np.sin(X))
    Xn, Yn = datasets.regression1d(20000, noise=0.2, rng=1, dtype=np.float64)
    assert abs(np.std(Yn - np.sin(Xn)) - 0.2) < 0.01


def test_regression1d_is_deterministic_for_a_seed():
    a, b = datasets.regression1d(30, rng=4), datasets.regression1d(30, rng=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_linear_regression_returns_the_tutorials_lists():
    x, y = datasets.linear_regression(10, rng=0)
    assert isinstance(x, list) and isinstance(y, list)
    assert x[0].dtype == y[0].dtype == np.float64                # Julia's rand is Float64
    assert len(x) == len(y) == 10
    assert all(xi.shape == (5,) for xi in x) and all(yi.shape == (2,) for yi in y)
    x2, y2 = datasets.linear_regression(10, rng=0)
    assert all(np.array_equal(a, b) for a, b in zip(y, y2))


def test_linear_regression_is_affine_plus_uniform_noise():
    # y = W0 x + b0 + u with W0, b0, x, u all uniform on [0, 1): a least-squares fit recovers
    # slopes in [0, 1], an intercept near b0 + 0.5, and residuals spread over less than 1.
    x, y = datasets.linear_regression(4000, rng=1)
    A = np.column_stack([np.stack(x), np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(A, np.stack(y), rcond=None)
    slopes, intercept = coef[:5], coef[5]
    assert np.all(slopes > -0.05) and np.all(slopes < 1.05)
    assert np.all(intercept > 0.45) and np.all(intercept < 1.55)
    residual = np.stack(y) - A @ coef
    assert np.all(residual.max(axis=0) - residual.min(axis=0) < 1.05)


def test_linear_regression_rejects_a_bad_count():
    with pytest.raises(ValueError, match="n_samps"):
        datasets.linear_regression(0)


# --------------------------------------------------------------------------- IDX files

# Type codes from the IDX format description, written here independently of the loader.
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    array = np.asarray(array)
    code = CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload, compress):
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_idx_reads_uint8_images(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "images-idx3-ubyte", idx_bytes(images), compress)
    out = datasets.load_idx(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_idx_reads_big_endian_float32(tmp_path, compress):
    values = np.array([[1.5, -2.25, 3e-7], [np.pi, 0.0, -1e30]], dtype=np.float32)
    path = write(tmp_path / "values.idx", idx_bytes(values), compress)
    out = datasets.load_idx(str(path))
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


@given(array=hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    elements={"allow_nan": False},
), compress=st.booleans())
def test_load_idx_round_trips_every_type(tmp_path_factory, array, compress):
    path = write(tmp_path_factory.mktemp("idx") / "a.idx", idx_bytes(array), compress)
    out = datasets.load_idx(path)
    assert out.shape == array.shape and out.dtype == array.dtype
    np.testing.assert_array_equal(out, array)


def test_load_idx_recognises_gzip_by_content_not_name(tmp_path):
    labels = np.array([7, 2, 1], dtype=np.uint8)
    path = write(tmp_path / "labels-no-extension", idx_bytes(labels), compress=True)
    np.testing.assert_array_equal(datasets.load_idx(path), labels)


def _good(n=4):
    return idx_bytes(np.arange(n * 6, dtype=np.uint8).reshape(n, 2, 3))


@pytest.mark.parametrize("payload, message", [
    (_good()[:-5], "truncated"),
    (_good()[:9], "truncated"),                    # cut inside the dimension sizes
    (b"\x00\x00", "too few"),
    (b"", "too few"),
    (b"\x12\x34" + _good()[2:], "not an IDX file"),
    (b"PK\x03\x04" + _good()[4:], "not an IDX file"),
    (_good()[:2] + b"\x0a" + _good()[3:], "unknown IDX type code 0x0A"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (_good() + b"\x00\x00", "2 bytes after"),
])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_idx_refuses_damaged_files(tmp_path, payload, message, compress):
    path = write(tmp_path / "bad.idx", payload, compress)
    with pytest.raises(ValueError, match=message) as err:
        datasets.load_idx(path)
    assert str(path) in str(err.value)


def test_load_idx_refuses_a_truncated_gzip_stream(tmp_path):
    packed = gzip.compress(_good(50))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) - 12])
    with pytest.raises(ValueError, match="gzip-compressed but cannot be decompressed"):
        datasets.load_idx(path)


def test_load_idx_truncation_message_gives_the_sizes(tmp_path):
    path = write(tmp_path / "short.idx", _good(4)[:-5], compress=False)
    with pytest.raises(ValueError, match=r"shape \(4, 2, 3\), which take 24 bytes, but only 19 bytes"):
        datasets.load_idx(path)


# --------------------------------------------------------------------------- mnist


def make_mnist(folder, n_train=3, n_test=2, compress=(True, False, True, False), side=28):
    rng = np.random.default_rng(0)
    parts = {}
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    arrays = [rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
              rng.integers(0, 10, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
              rng.integers(0, 10, n_test, dtype=np.uint8)]
    for name, array, gz in zip(names, arrays, compress):
        write(folder / (name + (".gz" if gz else "")), idx_bytes(array), gz)
        parts[name] = array
    return parts


def test_mnist_loads_whcn_images_scaled_to_one(tmp_path):
    raw = make_mnist(tmp_path)
    (X, y), (Xt, yt) = datasets.mnist(tmp_path)
    assert X.shape == (28, 28, 1, 3) and Xt.shape == (28, 28, 1, 2)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, raw["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(yt, raw["t10k-labels-idx1-ubyte"])
    images = raw["train-images-idx3-ubyte"]                      # (N, rows, columns)
    n, row, col = 1, 5, 20
    assert X[col, row, 0, n] == pytest.approx(images[n, row, col] / 255)
    np.testing.assert_allclose(X[:, :, 0, 2].T, images[2] / 255, rtol=1e-6)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_mnist_dtype_option(tmp_path):
    make_mnist(tmp_path)
    (X, _), _ = datasets.mnist(str(tmp_path), dtype=np.float64)
    assert X.dtype == np.float64


def test_mnist_names_the_missing_files_and_where_to_get_them(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as err:
        datasets.mnist(tmp_path)
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte" in message and "train-images-idx3-ubyte" in message
    assert "lacks train-images-idx3-ubyte, t10k-labels-idx1-ubyte" in message
    assert "fl.datasets.mnist(directory, download=True)" in message and "https://" in message
    assert "train-images-idx3-ubyte.gz  (9,912,422 bytes, SHA-256 440fcabf" in message


def test_mnist_refuses_a_directory_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist.*download=True"):
        datasets.mnist(tmp_path / "nowhere")


def test_mnist_refuses_images_and_labels_that_do_not_match(tmp_path):
    make_mnist(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(5, dtype=np.uint8)), compress=False)
    with pytest.raises(ValueError, match="holds 2 images but .* holds 5 labels"):
        datasets.mnist(tmp_path)


def test_mnist_refuses_files_of_the_wrong_kind(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((3, 28, 28), np.float32)), compress=False)
    with pytest.raises(ValueError, match="uint8 images"):
        datasets.mnist(tmp_path)
