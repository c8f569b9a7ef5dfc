"""Gradcheck cases for reductions and accumulations (see `casefactory`): one `case(...)` line per
operation."""
import numpy as np  # noqa: F401
from hypothesis import strategies as st  # noqa: F401

from casefactory import call, case, one  # noqa: F401
from strategies import arrays, axes, one_axis, shapes  # noqa: F401
