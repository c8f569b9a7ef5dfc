"""Printing (fluxlite/layers/show.py): Flux's REPL layout, counts, totals and function names.

The expected texts follow Flux's src/layers/show.jl: a lone layer's comment starts at column 20,
a child's comment at column 40 (0-based: after max(2, 39 - indent - len(text)) spaces following
the comma), and the total comes after ") " plus 18 spaces. Bytes count array data only.
"""
import numpy as np
import pytest

import fluxlite as fl
from fluxlite.layers import (AlphaDropout, BatchNorm, Bilinear, Chain, Dense, Dropout, Embedding,
                             LayerNorm, Maxout, Parallel, Scale, SkipConnection, identity, zeros32)
from fluxlite.layers.show import count_params, fname, format_bytes, layer_string, show, underscorise


def test_dense_prints_its_flux_form_and_parameter_count():
    assert repr(Dense(10, 5, fl.σ)) == "Dense(10 => 5, σ)   # 55 parameters"
    assert repr(Dense(5, 2)) == "Dense(5 => 2)       # 12 parameters"
    assert repr(Dense(5, 2, np.tanh, bias=False)) == "Dense(5 => 2, tanh; bias=false)  # 10 parameters"


def test_chain_prints_one_layer_per_line_with_a_total():
    m = Chain(Dense(10, 5, fl.σ), Dense(5, 2), fl.softmax)
    assert repr(m) == (
        "Chain(\n"
        "  Dense(10 => 5, σ),                    # 55 parameters\n"
        "  Dense(5 => 2),                        # 12 parameters\n"
        "  softmax,\n"
        ")                   # Total: 4 arrays, 67 parameters, 268 bytes.")


def test_comment_column_is_the_same_for_every_child():
    lines = repr(Chain(Dense(1, 1), Dense(100, 100, fl.relu), Dense(3, 3))).splitlines()
    cols = {line.index("#") for line in lines[1:-1]}
    assert cols == {40}


def test_nested_containers_indent_by_two_and_keep_the_column():
    m = Chain(Dense(2, 3), Chain(Dense(3, 3, fl.relu), Dense(3, 1)))
    assert repr(m) == (
        "Chain(\n"
        "  Dense(2 => 3),                        # 9 parameters\n"
        "  Chain(\n"
        "    Dense(3 => 3, relu),                # 12 parameters\n"
        "    Dense(3 => 1),                      # 4 parameters\n"
        "  ),\n"
        ")                   # Total: 6 arrays, 25 parameters, 100 bytes.")


def test_named_layers_print_with_their_names():
    m = Chain(enc=Dense(4, 2, np.tanh), dec=Dense(2, 4))
    lines = repr(m).splitlines()
    assert lines[1].startswith("  enc = Dense(4 => 2, tanh),") and lines[1].index("#") == 40
    assert lines[2].startswith("  dec = Dense(2 => 4),")
    assert m._show() == "Chain(enc = Dense(4 => 2, tanh), dec = Dense(2 => 4))"


def test_no_total_line_for_two_arrays_or_fewer():
    assert repr(Chain(Dense(2, 3))) == (
        "Chain(\n"
        "  Dense(2 => 3),                        # 9 parameters\n"
        ")")
    assert repr(Chain(fl.relu, fl.softmax)) == "Chain(relu, softmax)"


def test_batchnorm_reports_non_trainable_arrays():
    assert repr(BatchNorm(64, fl.relu)) == "BatchNorm(64, relu)  # 128 parameters, plus 128 non-trainable"
    m = Chain(Dense(10, 5), BatchNorm(5))
    assert repr(m) == (
        "Chain(\n"
        "  Dense(10 => 5),                       # 55 parameters\n"
        "  BatchNorm(5),                         # 10 parameters, plus 10\n"
        ")         # Total: 4 trainable arrays, 65 parameters,\n"
        "          # plus 2 non-trainable, 10 parameters, summarysize 300 bytes.")


def test_large_counts_use_underscores_and_bytes_use_kib():
    assert repr(Dense(1000, 1000)) == "Dense(1000 => 1000)  # 1_001_000 parameters"
    assert underscorise(1234567) == "1_234_567"
    assert format_bytes(1) == "1 byte" and format_bytes(1024) == "1024 bytes"
    assert format_bytes(1025) == "1.001 KiB"
    m = Chain(Dense(100, 100), Dense(100, 10))
    assert repr(m).endswith("# Total: 4 arrays, 11_110 parameters, 43.398 KiB.")


def test_all_zero_and_nan_parameters_are_flagged():
    assert repr(Dense(2, 3, init=zeros32)).endswith("# 9 parameters  (all zero)")
    d = Dense(2, 3)
    d.weight[0, 0] = np.nan
    assert repr(d).endswith("(some NaN)")
    d.weight[0, 0] = np.inf
    assert repr(d).endswith("(some Inf)")


def test_function_names_print_as_in_flux():
    assert fname(fl.σ) == fname(fl.sigmoid) == "σ"
    assert [fname(f) for f in (fl.relu, np.tanh, fl.tanh, fl.softmax, identity)] == [
        "relu", "tanh", "tanh", "softmax", "identity"]
    assert fname(np.add) == "+" and fname(lambda x: x) == "λ"
    assert repr(Dense(2, 2, fl.leakyrelu)).startswith("Dense(2 => 2, leakyrelu)")
    assert repr(Dense(2, 2, identity)).startswith("Dense(2 => 2) ")


def test_other_layers_print_their_flux_forms():
    assert repr(Dropout(0.5)) == "Dropout(0.5)"
    assert repr(Dropout(0.3, dims=2, active=True)) == "Dropout(0.3, dims=2, active=True)"
    assert repr(AlphaDropout(0.1)) == "AlphaDropout(0.1)"
    assert repr(LayerNorm(5)) == "LayerNorm(5)        # 10 parameters"
    assert repr(LayerNorm(5, 3, fl.relu, affine=False)) == "LayerNorm(5, 3, relu, affine=false)"
    assert repr(BatchNorm(3, affine=False, active=False)).startswith(
        "BatchNorm(3, affine=false, active=False)")
    assert repr(Embedding(1000, 4)) == "Embedding(1000 => 4)  # 4_000 parameters"
    assert repr(Bilinear(5, 7)) == "Bilinear(5 => 7)    # 182 parameters"
    assert repr(Scale(2, 3, np.tanh, bias=False)) == "Scale(2, 3, tanh; bias=false)  # 6 parameters"


def test_containers_with_layers_expand_and_show_their_connection():
    assert repr(SkipConnection(Dense(2, 2), np.add)) == (
        "SkipConnection(\n"
        "  Dense(2 => 2),                        # 6 parameters\n"
        "  +,\n"
        ")")
    assert SkipConnection(Dense(2, 2), np.add)._show() == "SkipConnection(Dense(2 => 2), +)"
    p = Parallel(np.add, a=Dense(10, 2, np.tanh), b=Dense(5, 2))
    lines = repr(p).splitlines()
    assert lines[:2] == ["Parallel(", "  +,"]
    assert lines[2].startswith("  a = Dense(10 => 2, tanh),")
    assert lines[-1] == ")                   # Total: 4 arrays, 34 parameters, 136 bytes."
    assert repr(Maxout(lambda: Dense(5, 7, np.tanh), 3)).endswith(
        "# Total: 6 arrays, 126 parameters, 504 bytes.")


def test_count_params_separates_trainable_and_other_arrays():
    assert count_params(BatchNorm(4)) == (2, 8, 2, 8, 64)
    assert count_params(Chain(Dense(3, 2), fl.relu)) == (2, 8, 0, 0, 32)
    shared = Dense(3, 3)
    assert count_params(Chain(shared, shared))[:2] == (2, 12)   # shared arrays count once


def test_show_of_plain_values():
    assert layer_string(np.zeros((2, 3), np.float32)) == "2×3 ndarray{float32}"
    assert layer_string(np.zeros(4)) == "4-element ndarray{float64}"
    assert show(fl.relu) == "relu"
    assert show([Dense(2, 2), fl.relu]).startswith("[\n  Dense(2 => 2),")


@pytest.mark.parametrize("layer", [Dense(2, 2), Chain(Dense(2, 2), fl.relu), BatchNorm(2),
                                   Dropout(0.1), LayerNorm(3), Embedding(3, 2)])
def test_printing_never_ends_lines_with_spaces(layer):
    assert all(line == line.rstrip() for line in repr(layer).splitlines())
