"""The optional MNIST sections of lessons 7 and 8: their cells, run as they stand in the
notebooks, on small MNIST-shaped files generated here (real MNIST cannot be fetched in tests),
and without MNIST, where they print one line and do nothing else."""
import json
from pathlib import Path

import numpy as np
import pytest

import fluxlite as fl
from test_download import write_mnist_like

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
NOTEBOOKS = {"07": "07_mlp_digits.ipynb", "08": "08_cnn_digits.ipynb"}
NOT_FOUND = ("MNIST not found: run fl.datasets.mnist(download=True) once, then run this section "
             "again.\n")


def cells(lesson):
    nb = json.loads((LESSONS / NOTEBOOKS[lesson]).read_text(encoding="utf-8"))
    return nb["cells"]


def mnist_cells(lesson):
    found = [c for c in cells(lesson) if "mnist-optional" in c["metadata"].get("tags", [])]
    assert len(found) == 2, "the section has a loading cell and a training cell"
    return found


def run(lesson):
    """Run the section's code cells, as written, in a namespace that has what the lesson's
    first cell imports."""
    namespace = {"np": np, "fl": fl}
    for cell in mnist_cells(lesson):
        exec(compile("".join(cell["source"]), f"lesson {lesson}, MNIST cell", "exec"), namespace)
    return namespace


@pytest.fixture
def mnist_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUXLITE_DATA", str(tmp_path))
    return tmp_path / "mnist"


@pytest.mark.parametrize("lesson", ["07", "08"])
def test_without_mnist_the_section_prints_its_stored_line_and_nothing_else(lesson, mnist_cache, capsys):
    namespace = run(lesson)
    assert capsys.readouterr().out == NOT_FOUND
    assert namespace["Xm_train"] is None and "mnist_state" not in namespace
    load, train = mnist_cells(lesson)
    stored = "".join("".join(o.get("text", "")) for o in load["outputs"])
    assert stored == NOT_FOUND                 # what a student sees in the stored notebook
    assert train["outputs"] == []


@pytest.mark.parametrize("lesson, n_train, model_name, accuracy", [
    ("07", 600, "mnist_mlp", 0.9),
    ("08", 600, "mnist_cnn", 0.9),
])
def test_the_section_trains_on_mnist_shaped_files(lesson, n_train, model_name, accuracy,
                                                  mnist_cache, capsys):
    arrays = write_mnist_like(mnist_cache, n_train=n_train, n_test=200, seed=1)
    namespace = run(lesson)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"MNIST: train (28, 28, 1, {n_train})  test (28, 28, 1, 200)"
    epochs = 5 if lesson == "07" else 2
    assert [line.split(":")[0] for line in out[1:]] == [f"epoch {e}" for e in range(1, epochs + 1)]
    model = namespace[model_name]
    X_test = namespace["Xm_test"]
    if lesson == "07":
        X_test = fl.flatten(X_test)
        assert model.layers[0].weight.shape == (64, 784)
    else:
        assert model.layers[-1].weight.shape == (10, 7 * 7 * 32)
    predicted = fl.onecold(model(X_test), range(10))
    right = np.mean(predicted == arrays["t10k-labels-idx1-ubyte"])
    assert right >= accuracy, f"the bars on rows 3 + 2k are easy to tell apart, got {right:.1%}"
    assert out[-1] == f"epoch {epochs}: test accuracy {right:.1%}"   # what the cell reports


@pytest.mark.parametrize("lesson", ["07", "08"])
def test_the_section_is_marked_optional_and_skipped_by_nbval(lesson):
    all_cells = cells(lesson)
    section = [c for c in all_cells if "mnist-optional" in c["metadata"].get("tags", [])]
    assert all("nbval-skip" in c["metadata"]["tags"] for c in section)
    at = all_cells.index(section[0])
    intro = "".join(all_cells[at - 1]["source"])
    assert intro.startswith(f"## {'7' if lesson == '07' else '6'}. Optional: the same ")
    assert "> **Optional.**" in intro and "not ours" in intro and "FluxML/model-zoo" in intro
    figure = "**94 %**" if lesson == "07" else "**99 %**"
    assert figure in intro


def test_the_cnn_section_measures_accuracy_in_slices(mnist_cache, capsys):
    write_mnist_like(mnist_cache, n_train=64, n_test=2100, seed=2)
    namespace = run("08")
    capsys.readouterr()
    calls = []
    model = namespace["mnist_cnn"]

    def counting(x):
        calls.append(x.shape[-1])
        return model(x)

    namespace["mnist_accuracy"](counting, namespace["Xm_test"], namespace["ym_test"])
    assert calls == [1000, 1000, 100]
