"""The switch between the reference path and the fast paths.

fluxlite's core is written twice over in one place only: the *reference path* (`tracer`,
`gradient`, the optimisers' one-array-at-a-time updates) is the code the lessons open and
read, and a few *fast paths* (`fluxlite.autodiff.fast`, `fluxlite.optimise.grouped`) take
shortcuts for the calls a training loop makes thousands of times. Both give the same
numbers; the test suite runs in both modes to prove it.

Set the environment variable ``FLUXLITE_REFERENCE=1`` before ``import fluxlite`` and no fast
path is installed: every gradient goes through the reference path, which is slower but is
exactly the code you read. `REFERENCE` says which mode this process runs in.

>>> from fluxlite.autodiff.switch import REFERENCE, reference_requested
>>> REFERENCE in (True, False)
True
>>> reference_requested({"FLUXLITE_REFERENCE": "1"}), reference_requested({})
(True, False)
"""
import os

__all__ = ["REFERENCE", "reference_requested"]


def reference_requested(environ=os.environ):
    """True when `environ` asks for the reference path: FLUXLITE_REFERENCE set, and not to 0.

    >>> reference_requested({"FLUXLITE_REFERENCE": "0"}), reference_requested({"FLUXLITE_REFERENCE": "yes"})
    (False, True)
    """
    value = environ.get("FLUXLITE_REFERENCE", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


REFERENCE = reference_requested()
