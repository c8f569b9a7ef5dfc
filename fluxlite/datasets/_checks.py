"""Argument checks shared by the data generators."""
import numbers

import numpy as np


def check_count(n, who, minimum, name="n"):
    """`n` as an int of at least `minimum`, or a ValueError naming the function and the argument."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < minimum:
        raise ValueError(f"{who}: {name} must be an int of at least {minimum}, got {n!r}.")
    return int(n)


def check_noise(noise, who):
    """`noise` (a standard deviation) as a float >= 0."""
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{who}: noise is a standard deviation and must be a finite number >= 0, got {noise!r}.")
    return float(noise)
