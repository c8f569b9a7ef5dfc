"""DataLoader, onehot, onehotbatch and onecold (fluxlite/data.py), checked against Flux's semantics."""

import collections
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fluxlite as fl
from fluxlite.data import DataLoader, onecold, onehot, onehotbatch


def tagged(n, features=3):
    """A features × n matrix whose column k holds k everywhere, and the labels 0..n-1."""
    X = np.tile(np.arange(n, dtype=np.float64), (features, 1))
    return X, np.arange(n)


def epoch_labels(loader):
    return [int(v) for _, yb in loader for v in yb]


# --------------------------------------------------------------------------- DataLoader: batching


def test_dataloader_batches_along_the_last_axis():
    X, y = tagged(10)
    batches = list(DataLoader((X, y), batchsize=4))
    assert [xb.shape for xb, _ in batches] == [(3, 4), (3, 4), (3, 2)]
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[1][0], X[:, 4:8])


def test_dataloader_over_a_single_array_yields_arrays():
    images = np.arange(2 * 2 * 1 * 6.0).reshape(2, 2, 1, 6)     # WHCN, 6 images
    batches = list(DataLoader(images, batchsize=4))
    assert [b.shape for b in batches] == [(2, 2, 1, 4), (2, 2, 1, 2)]
    np.testing.assert_array_equal(np.concatenate(batches, axis=-1), images)


def test_dataloader_default_batchsize_is_one_and_keeps_the_observation_axis():
    X, y = tagged(3)
    batches = list(DataLoader((X, y)))
    assert len(batches) == 3
    assert batches[0][0].shape == (3, 1) and batches[0][1].shape == (1,)


def test_dataloader_negative_batchsize_yields_single_observations():
    X, y = tagged(5)
    items = list(DataLoader((X, y), batchsize=-1))
    assert len(items) == 5
    assert items[2][0].shape == (3,)
    assert items[2][1] == 2 and np.ndim(items[2][1]) == 0


@given(n=st.integers(1, 60), batchsize=st.integers(1, 70), partial=st.booleans(), shuffle=st.booleans())
def test_dataloader_length_and_coverage(n, batchsize, partial, shuffle):
    X, y = tagged(n, features=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # batchsize > n warns; covered below
        loader = DataLoader((X, y), batchsize=batchsize, partial=partial, shuffle=shuffle,
                            rng=np.random.default_rng(n))
    size = min(batchsize, n)
    expected = math.ceil(n / size) if partial else n // size
    batches = list(loader)
    assert len(loader) == len(batches) == expected
    seen = [int(v) for _, yb in batches for v in yb]
    if partial:
        assert sorted(seen) == list(range(n))
    else:
        assert all(len(yb) == size for _, yb in batches)
        assert len(seen) == expected * size and len(set(seen)) == len(seen)
    if not shuffle:
        assert seen == list(range(len(seen)))
    for xb, yb in batches:                         # features stay with their labels
        np.testing.assert_array_equal(xb, np.tile(yb, (2, 1)))


def test_dataloader_partial_false_drops_the_short_last_batch():
    X, y = tagged(10)
    loader = DataLoader((X, y), batchsize=4, partial=False)
    assert len(loader) == 2
    assert epoch_labels(loader) == list(range(8))


def test_dataloader_batchsize_larger_than_the_data_warns_and_uses_one_batch():
    X, y = tagged(5)
    with pytest.warns(UserWarning, match="only 5 observations"):
        loader = DataLoader((X, y), batchsize=8, partial=False)
    assert len(loader) == 1
    assert epoch_labels(loader) == [0, 1, 2, 3, 4]


def test_dataloader_batches_are_copies():
    X, y = tagged(6)
    for xb, yb in DataLoader((X, y), batchsize=3):
        xb[:] = -1
        yb[:] = -1
    for xb, yb in DataLoader((X, y), batchsize=3, shuffle=True, rng=0):
        xb[:] = -1
    X0, y0 = tagged(6)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


# --------------------------------------------------------------------------- DataLoader: structures


def test_dataloader_dict_data_yields_dicts():
    X, y = tagged(5)
    batches = list(DataLoader({"x": X, "label": y}, batchsize=2))
    assert all(set(b) == {"x", "label"} for b in batches)
    assert batches[-1]["label"].tolist() == [4]
    assert batches[0]["x"].shape == (3, 2)


def test_dataloader_named_tuple_keeps_its_type():
    Batch = collections.namedtuple("Batch", "data label")
    X, y = tagged(4)
    first = next(iter(DataLoader(Batch(X, y), batchsize=2)))
    assert isinstance(first, Batch)
    assert first.label.tolist() == [0, 1]


def test_dataloader_treats_a_list_as_observations_like_a_julia_vector():
    x = [np.full(5, i, dtype=float) for i in range(7)]      # the tutorial's list of vectors
    y = [np.full(2, i, dtype=float) for i in range(7)]
    batches = list(DataLoader((x, y), batchsize=3))
    assert [len(xb) for xb, _ in batches] == [3, 3, 1]
    assert isinstance(batches[0][0], list)
    assert batches[1][0][0][0] == 3.0 and batches[1][1][0][0] == 3.0


def test_dataloader_keeps_the_original_data():
    X, y = tagged(4)
    data = (X, y)
    assert DataLoader(data, batchsize=2).data is data


# --------------------------------------------------------------------------- DataLoader: shuffling


def test_dataloader_shuffles_anew_at_every_epoch():
    X, y = tagged(40)
    loader = DataLoader((X, y), batchsize=8, shuffle=True, rng=np.random.default_rng(1))
    first, second = epoch_labels(loader), epoch_labels(loader)
    assert sorted(first) == sorted(second) == list(range(40))
    assert first != second
    assert first != list(range(40))


def test_dataloader_shuffle_is_reproducible_with_a_seed():
    X, y = tagged(30)
    a = DataLoader((X, y), batchsize=7, shuffle=True, rng=5)
    b = DataLoader((X, y), batchsize=7, shuffle=True, rng=5)
    assert [epoch_labels(a) for _ in range(3)] == [epoch_labels(b) for _ in range(3)]


def test_dataloader_shuffle_uses_fluxlites_generator_by_default():
    X, y = tagged(30)
    loader = DataLoader((X, y), batchsize=10, shuffle=True)
    fl.seed(11)
    a = epoch_labels(loader)
    fl.seed(11)
    b = epoch_labels(loader)
    fl.seed(12)
    c = epoch_labels(loader)
    assert a == b
    assert a != c


def test_dataloader_without_shuffle_keeps_the_order():
    X, y = tagged(9)
    loader = DataLoader((X, y), batchsize=4)
    assert epoch_labels(loader) == epoch_labels(loader) == list(range(9))


# --------------------------------------------------------------------------- DataLoader: errors, repr


def test_dataloader_rejects_arrays_with_different_numbers_of_observations():
    X, y = tagged(10)
    with pytest.raises(ValueError, match="LAST axis") as err:
        DataLoader((X, y[:9]), batchsize=2)
    message = str(err.value)
    assert "data[0] (shape (3, 10)) has 10" in message
    assert "data[1] (shape (9,)) has 9" in message


def test_dataloader_mismatch_error_suggests_transposing_batch_first_data():
    X, y = tagged(10)
    with pytest.raises(ValueError, match=r"data\[0\] looks like N × features.*X\.T"):
        DataLoader((X.T, y))


def test_dataloader_mismatch_in_a_dict_names_the_key():
    X, y = tagged(6)
    with pytest.raises(ValueError, match=r"data\['label'\]"):
        DataLoader({"x": X, "label": y[:4]})


@pytest.mark.parametrize("batchsize", [0, 2.5, True, "4"])
def test_dataloader_rejects_a_bad_batchsize(batchsize):
    with pytest.raises(ValueError, match="batchsize"):
        DataLoader(np.zeros((2, 4)), batchsize=batchsize)


def test_dataloader_rejects_scalars_and_empty_tuples():
    with pytest.raises(ValueError, match="no observation axis"):
        DataLoader((np.zeros(3), 1.5))
    with pytest.raises(ValueError, match="empty"):
        DataLoader(())


def test_dataloader_rejects_a_bad_rng():
    with pytest.raises(TypeError, match="np.random.Generator"):
        DataLoader(np.zeros(4), shuffle=True, rng=np.random.RandomState(0))


def test_dataloader_repr_shows_the_data_and_the_non_default_options():
    X, y = np.zeros((64, 1797)), np.zeros(1797, dtype=np.int64)
    assert repr(DataLoader((X, y), batchsize=64, shuffle=True)) == \
        "DataLoader(tuple of 2 arrays ((64, 1797), (1797,)), batchsize=64, shuffle=True)"
    assert repr(DataLoader(X)) == "DataLoader(array (64, 1797))"
    assert repr(DataLoader({"x": X}, batchsize=5, partial=False, rng=1)) == \
        "DataLoader(dict of 1 arrays {'x': (64, 1797)}, batchsize=5, partial=False, rng=Generator(PCG64))"


# --------------------------------------------------------------------------- onehot / onehotbatch


def test_onehot_marks_the_position_of_the_label():
    v = onehot("c", ["a", "b", "c"])
    assert v.dtype == np.float32
    assert v.tolist() == [0.0, 0.0, 1.0]


def test_onehot_arrays_are_float32_unless_asked_otherwise():
    assert onehotbatch([0, 1], range(2)).dtype == np.float32
    assert onehotbatch([0, 1], range(2), dtype=np.float64).dtype == np.float64
    assert onehot(1, range(2), dtype="float16").dtype == np.float16
    with pytest.raises(ValueError, match="floating-point"):
        onehotbatch([0, 1], range(2), dtype=np.int64)


def test_onehot_uses_the_first_matching_label_like_flux():
    assert onehot(1, [1, 1, 2]).tolist() == [1.0, 0.0, 0.0]


def test_onehot_rejects_an_unknown_label_naming_it_and_the_labels():
    with pytest.raises(ValueError, match=r"'z' is not one of the labels \['a', 'b'\]"):
        onehot("z", "ab")


def test_onehot_default_encodes_unknown_values():
    assert onehot(99, range(3), default=2).tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="default 5"):
        onehot(99, range(3), default=5)


def test_onehot_suggests_range_when_given_a_count():
    with pytest.raises(TypeError, match=r"range\(10\)"):
        onehotbatch([1, 2], 10)


def test_onehotbatch_is_labels_by_observations():
    Y = onehotbatch([0, 2, 1, 2, 0], range(3))
    assert Y.shape == (3, 5)
    expected = np.array([[1, 0, 0, 0, 1],
                         [0, 0, 1, 0, 0],
                         [0, 1, 0, 1, 0]], dtype=float)
    np.testing.assert_array_equal(Y, expected)


def test_onehotbatch_names_the_unknown_value_and_its_position():
    with pytest.raises(ValueError, match=r"12 \(at position 2 of xs\) is not one of the labels"):
        onehotbatch([1, 2, 12], range(10))


def test_onehotbatch_accepts_numpy_labels_and_integer_arrays():
    y = np.array([3, 0, 9], dtype=np.uint8)
    Y = onehotbatch(y, np.arange(10))
    assert Y.shape == (10, 3)
    assert Y[3, 0] == Y[0, 1] == Y[9, 2] == 1.0 and Y.sum() == 3


def test_onehotbatch_of_a_matrix_adds_a_leading_labels_axis():
    xs = np.array([[0, 1, 2], [2, 2, 0]])
    Y = onehotbatch(xs, range(3))
    assert Y.shape == (3, 2, 3)
    for idx in np.ndindex(xs.shape):
        assert Y[(xs[idx],) + idx] == 1.0 and Y[(slice(None),) + idx].sum() == 1.0


def test_onehotbatch_and_onecold_on_a_string_match_fluxs_docstring_example():
    # Flux: onecold(onehotbatch("abracadabra", 'a':'e', 'e'), 'a':'e') |> String == "abeacadabea"
    Y = onehotbatch("abracadabra", "abcde", default="e")
    assert Y.shape == (5, 11)
    assert "".join(onecold(Y, "abcde")) == "abeacadabea"


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=40))
def test_onecold_inverts_onehotbatch(xs):
    labels = list(range(-5, 6))
    Y = onehotbatch(xs, labels)
    np.testing.assert_array_equal(Y.sum(axis=0), np.ones(len(xs)))
    assert onecold(Y, labels).tolist() == xs


@given(st.lists(st.sampled_from(["cat", "dog", "emu"]), min_size=1, max_size=20))
def test_onehot_columns_round_trip_for_string_labels(xs):
    labels = ("cat", "dog", "emu")
    Y = onehotbatch(xs, labels)
    assert [onecold(Y[:, k], labels) for k in range(len(xs))] == xs
    assert all(np.array_equal(onehot(x, labels), Y[:, k]) for k, x in enumerate(xs))


# --------------------------------------------------------------------------- onecold


def test_onecold_of_a_vector_is_one_zero_based_index_by_default():
    assert onecold(np.array([0.1, 0.7, 0.2])) == 1
    assert isinstance(onecold(np.array([0.1, 0.7, 0.2])), int)


def test_onecold_of_a_matrix_gives_one_label_per_column():
    scores = np.array([[0.9, 0.1, 0.3],
                       [0.05, 0.8, 0.3],
                       [0.05, 0.1, 0.4]])
    assert onecold(scores).tolist() == [0, 1, 2]
    assert onecold(scores, ["a", "b", "c"]).tolist() == ["a", "b", "c"]
    assert onecold(scores, range(1, 4)).tolist() == [1, 2, 3]      # Flux's default labels


def test_onecold_breaks_ties_towards_the_first_label():
    assert onecold(np.array([0.5, 0.5, 0.0]), "xyz") == "x"


def test_onecold_of_higher_rank_arrays_reduces_the_first_axis():
    y = np.zeros((4, 2, 3))
    y[2, 1, 0] = 1.0
    out = onecold(y)
    assert out.shape == (2, 3) and out[1, 0] == 2 and out[0, 0] == 0


def test_onecold_keeps_mixed_label_types():
    assert onecold(np.eye(3)[:, [2, 0]], ["a", 1, None]).tolist() == [None, "a"]


def test_onecold_rejects_a_wrong_number_of_labels():
    with pytest.raises(ValueError, match="3 scores .* but 4 labels"):
        onecold(np.eye(3), range(4))


def test_onecold_rejects_a_scalar():
    with pytest.raises(ValueError, match="single number"):
        onecold(3.0)
