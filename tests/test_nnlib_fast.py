"""fluxlite.nnlib_fast: the convolution path's speed tricks change no numbers, and each does its job.

The tricks are process-wide and put in force when fluxlite.nnlib is imported, so each mode
runs in a fresh interpreter: one as fluxlite normally starts, one with FLUXLITE_REFERENCE=1 (no tricks).
"""
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def run_python(code, reference):
    """Run `code` in a fresh interpreter (normal or reference mode); what it printed, as JSON."""
    env = {k: v for k, v in os.environ.items() if k != "FLUXLITE_REFERENCE"}
    if reference:
        env["FLUXLITE_REFERENCE"] = "1"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


INSTALLED = "import json; from fluxlite import nnlib_fast; print(json.dumps(nnlib_fast.INSTALLED))"


def test_reference_mode_puts_no_trick_in_force():
    assert run_python(INSTALLED, reference=True) == []


@pytest.mark.skipif(not GLIBC, reason="keeping freed memory is a glibc malloc setting")
def test_normal_mode_keeps_freed_memory_on_glibc():
    assert run_python(INSTALLED, reference=False) == ["keep freed memory"]


# Ten training steps of a small CNN shaped like the MNIST benchmark's (no padding, an odd
# size that max-pooling cuts, relu), in float32; prints the loss after each step and the weights.
TRAIN = """
import json, numpy as np, fluxlite as fl
fl.seed(3)
model = fl.Chain(fl.Conv((3, 3), (1, 4), fl.relu), fl.MaxPool((2, 2)),
                 fl.Conv((3, 3), (4, 6), fl.relu), fl.MaxPool((2, 2)), fl.flatten, fl.Dense(24, 10))
rng = np.random.default_rng(5)
x = np.maximum(rng.standard_normal((14, 14, 1, 16)), 0).astype(np.float32)   # ties at zero too
y = fl.onehotbatch(rng.integers(0, 10, 16), range(10))
state = fl.setup(fl.Adam(0.01), model)
losses = []
for _ in range(10):
    g = fl.gradient(lambda m: fl.logitcrossentropy(m(x), y), model)[0]
    fl.update_(state, model, g)
    losses.append(float(fl.logitcrossentropy(model(x), y)))
print(json.dumps({"losses": losses, "weights": [np.asarray(p).tolist() for p in fl.params(model)]}))
"""


def test_a_cnn_trains_to_the_same_numbers_with_and_without_the_tricks():
    fast, reference = run_python(TRAIN, reference=False), run_python(TRAIN, reference=True)
    assert reference["losses"][-1] < reference["losses"][0]     # it did train
    np.testing.assert_allclose(fast["losses"], reference["losses"], rtol=1e-5)
    assert len(fast["weights"]) == len(reference["weights"]) == 6
    for a, b in zip(fast["weights"], reference["weights"]):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-6)


# Page faults (fresh pages from the kernel) in the last of three rounds of making and freeing
# eight 2 MB arrays: the memory freed by one round should serve the next.
FAULTS = """
import json, resource, numpy as np, fluxlite.nnlib
def round_():
    arrays = [np.ones(1 << 19, np.float32) for _ in range(8)]
    del arrays
round_(); round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
round_()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
"""


@pytest.mark.skipif(not GLIBC, reason="keeping freed memory is a glibc malloc setting")
def test_keeping_freed_memory_spares_the_page_faults_of_reallocating_big_arrays():
    pages = 8 * (1 << 19) * 4 // 4096            # what the round touches: 4096 pages of 4 KB
    without = run_python(FAULTS, reference=True)
    kept = run_python(FAULTS, reference=False)
    assert without > pages // 2, f"without the trick expected about {pages} faults, got {without}"
    assert kept < pages // 20, f"with freed memory kept expected almost no faults, got {kept}"
