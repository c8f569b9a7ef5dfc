"""Small regression problems: a noisy curve, and the tutorial's linear model."""
import numpy as np

from fluxlite.data import _as_rng, _float_dtype
from fluxlite.datasets._checks import check_count, check_noise

__all__ = ["regression1d", "linear_regression"]


def regression1d(n=100, noise=0.1, rng=None, dtype=np.float32):
    """Noisy samples of a sine curve: ``y = sin(x) + noise · ε`` with ``x`` uniform on ``[-3, 3]``.

    Returns ``(X, Y)``, both of shape ``(1, n)`` and type `dtype` (float32 by
    default, like fluxlite's layers): one feature and one target per column,
    the layout a ``Dense(1, ...)`` model takes and returns.
    ``ε`` is standard normal; ``noise=0`` gives points exactly on the curve.
    ``rng`` is ``None`` (``fl.rng()``), an int seed or a ``np.random.Generator``.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, Y = fl.datasets.regression1d(50, noise=0.0, rng=0)
    >>> X.shape, Y.shape
    ((1, 50), (1, 50))
    >>> bool(np.allclose(Y, np.sin(X), atol=1e-6))
    True
    """
    dtype = _float_dtype(dtype, "regression1d")
    n = check_count(n, "regression1d", 1)
    noise = check_noise(noise, "regression1d")
    rng = _as_rng(rng, "regression1d")
    X = rng.uniform(-3.0, 3.0, (1, n))
    Y = np.sin(X)
    if noise > 0:
        Y = Y + noise * rng.standard_normal(Y.shape)
    return X.astype(dtype), Y.astype(dtype)


def linear_regression(n_samps=10, rng=None):
    """The tutorial's ``generate_data(N_samps)``: a random linear map plus uniform noise.

    Draws ``W0`` (2×5) and ``b0`` (length 2) uniformly from ``[0, 1)``, then
    for each sample ``x = rand(5)`` and ``y = W0 @ x + b0 + rand(2)``, exactly
    as the Julia code does, in float64 as Julia's ``rand`` gives. Note that the noise ``rand(2)`` is uniform on
    ``[0, 1)``, so its mean is 0.5, not 0: a fitted bias comes out near
    ``b0 + 0.5``.

    Like the tutorial, it returns **two Python lists**, ``x`` and ``y``, of
    `n_samps` vectors each (shapes ``(5,)`` and ``(2,)``), one entry per sample,
    so that ``loss(x[i], y[i])`` and ``zip(x, y)`` work as in the tutorial.
    They are not matrices: for Flux's ``features × N`` layout use
    ``np.stack(x, axis=-1)`` (shape ``(5, n_samps)``).

    ``rng`` is ``None`` (``fl.rng()``), an int seed or a ``np.random.Generator``.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> x, y = fl.datasets.linear_regression(10, rng=0)
    >>> type(x).__name__, len(x), x[0].shape, y[0].shape
    ('list', 10, (5,), (2,))
    >>> np.stack(x, axis=-1).shape
    (5, 10)
    """
    n_samps = check_count(n_samps, "linear_regression", 1, name="n_samps")
    rng = _as_rng(rng, "linear_regression")
    W0, b0 = rng.random((2, 5)), rng.random(2)
    x = [rng.random(5) for _ in range(n_samps)]
    y = [W0 @ xi + b0 + rng.random(2) for xi in x]
    return x, y
