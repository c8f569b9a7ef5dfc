"""The reference path and the fast paths: one switch, and the same numbers either way.

``FLUXLITE_REFERENCE=1`` set before ``import fluxlite`` leaves every fast path out. Each test
here starts fresh interpreters, since the mode is fixed at import. (`make test` also runs
the primitive, gradient, layer and optimiser suites a second time in reference mode.)
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _python(code_or_args, reference, **kw):
    env = dict(os.environ)
    env.pop("FLUXLITE_REFERENCE", None)
    if reference is not None:
        env["FLUXLITE_REFERENCE"] = reference
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300, **kw)
    assert done.returncode == 0, done.stderr
    return done.stdout


PROBE = """
import json, sys, numpy as np, fluxlite as fl
from fluxlite.autodiff import tracer
from fluxlite.autodiff.interrupts import atomic
import importlib
G = importlib.import_module("fluxlite.autodiff.gradient")
model = fl.Chain(fl.Dense(2, 3), fl.Dense(3, 1))
state = fl.setup(fl.Adam(), model)
leaf = state["layers"][0]["weight"]
print(json.dumps({
    "REFERENCE": fl.autodiff.REFERENCE,
    "fast module loaded": "fluxlite.autodiff.fast" in sys.modules,
    "gradient shortcut": G._FAST is not None,
    "backward": G._backward.__module__,
    "Ctrl-C held while arrays switch": G._guard is atomic,
    "operators on Tracked": "__add__" in vars(tracer.Tracked),
    "primitive call": tracer.Primitive.__call__.__module__,
    "grouped optimiser state": getattr(leaf, "group", None) is not None,
    "own pullbacks checked": tracer.UFUNCS[np.add].checked,
    "gradient works": float(fl.gradient(lambda x: x ** 2, 3.0)[0]),
}))
"""


@pytest.mark.parametrize("value, reference", [(None, False), ("1", True), ("0", False),
                                              ("yes", True), ("", False)])
def test_the_switch_is_read_from_the_environment_when_fluxlite_is_imported(value, reference):
    seen = json.loads(_python(PROBE, value))
    assert seen["REFERENCE"] is reference
    assert seen["gradient works"] == 6.0


def test_reference_mode_installs_no_fast_path_and_fast_mode_installs_them_all():
    ref, fast = json.loads(_python(PROBE, "1")), json.loads(_python(PROBE, None))
    assert ref == {"REFERENCE": True, "fast module loaded": False, "gradient shortcut": False,
                   "backward": "fluxlite.autodiff.tracer", "Ctrl-C held while arrays switch": True,
                   "operators on Tracked": False, "primitive call": "fluxlite.autodiff.tracer",
                   "grouped optimiser state": False, "own pullbacks checked": True,
                   "gradient works": 6.0}
    assert fast == {"REFERENCE": False, "fast module loaded": True, "gradient shortcut": True,
                    "backward": "fluxlite.autodiff.fast", "Ctrl-C held while arrays switch": False,
                    "operators on Tracked": True, "primitive call": "fluxlite.autodiff.fast",
                    "grouped optimiser state": True, "own pullbacks checked": False,
                    "gradient works": 6.0}


def test_both_modes_train_and_differentiate_to_the_same_numbers(tmp_path):
    paths = {}
    for mode, value in [("fast", None), ("reference", "1")]:
        paths[mode] = tmp_path / f"{mode}.npz"
        _python([os.path.join(HERE, "modes_workload.py"), str(paths[mode])], value)
    fast, ref = np.load(paths["fast"]), np.load(paths["reference"])
    assert bool(ref["mode.reference"]) and not bool(fast["mode.reference"])
    names = sorted(set(fast.files) - {"mode.reference"})
    assert names == sorted(set(ref.files) - {"mode.reference"})
    assert len(names) >= 25 and any(n.startswith("mlp.model") for n in names)
    for name in names:
        a, b = fast[name], ref[name]
        assert a.dtype == b.dtype and a.shape == b.shape, name
        tol = 1e-5 if a.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-2, err_msg=name)
