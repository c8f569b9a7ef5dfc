"""Two-dimensional toy classification problems for plots and the training dashboard.

Every generator returns ``(X, y)`` in Flux's layout: ``X`` is an array of
shape ``(2, n)`` (one column per point, the two coordinates first) and ``y`` is
an int64 array of shape ``(n,)`` with labels 0, 1, ... ``X`` is float32 unless
``dtype=`` says otherwise (float32 is the dtype of fluxlite's layers, as in Flux). The classes are as
balanced as `n` allows (their sizes differ by at most one) and the points come
in random order, so a `DataLoader` without shuffling still sees mixed batches.

``noise`` is the standard deviation of Gaussian jitter added to both
coordinates; ``noise=0`` gives the clean geometry. ``rng`` is ``None``
(fluxlite's generator ``fl.rng()``, reset by ``fl.seed``), an int seed, or a
``np.random.Generator``; the same seed always gives the same data.
"""
import numbers

import numpy as np

from fluxlite.data import _as_rng, _float_dtype
from fluxlite.datasets._checks import check_count, check_noise

__all__ = ["circles", "moons", "xor", "spiral", "gaussian"]


def _class_sizes(n, classes):
    """Split n points into `classes` sizes differing by at most one (earlier classes get the extra)."""
    return [n // classes + (k < n % classes) for k in range(classes)]


def _finish(parts, noise, rng, dtype):
    """Stack per-class point sets (each ``(2, m)``), add the noise, shuffle the columns, cast to `dtype`."""
    X = np.concatenate(parts, axis=1)
    y = np.concatenate([np.full(p.shape[1], k, dtype=np.int64) for k, p in enumerate(parts)])
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(X.shape[1])
    return np.ascontiguousarray(X[:, order], dtype=dtype), y[order]


def circles(n=200, noise=0.05, factor=0.5, rng=None, dtype=np.float32):
    """Two concentric circles: class 0 on the unit circle, class 1 on the circle of radius `factor`.

    Angles are uniform on ``[0, 2π)``; a point is ``r (cos θ, sin θ)`` plus noise.
    No straight line separates the classes, but the radius ``sqrt(x₁² + x₂²)`` does.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, y = fl.datasets.circles(100, noise=0.0, rng=0)
    >>> X.shape, y.shape, np.bincount(y).tolist()
    ((2, 100), (100,), [50, 50])
    >>> r = np.hypot(X[0], X[1])
    >>> bool(np.allclose(r[y == 0], 1.0)), bool(np.allclose(r[y == 1], 0.5))
    (True, True)
    """
    n = check_count(n, "circles", 2)
    noise = check_noise(noise, "circles")
    dtype = _float_dtype(dtype, "circles")
    if not isinstance(factor, numbers.Real) or not 0 < factor < 1:
        raise ValueError(f"circles: factor is the inner radius and must lie strictly between 0 and 1, got {factor!r}.")
    rng = _as_rng(rng, "circles")
    parts = []
    for radius, m in zip((1.0, float(factor)), _class_sizes(n, 2)):
        theta = rng.uniform(0.0, 2 * np.pi, m)
        parts.append(radius * np.stack([np.cos(theta), np.sin(theta)]))
    return _finish(parts, noise, rng, dtype)


def moons(n=200, noise=0.1, rng=None, dtype=np.float32):
    """Two interleaving half circles of radius 1.

    Class 0 is the upper arc ``(cos t, sin t)`` and class 1 the lower arc
    ``(1 - cos t, 1/2 - sin t)``, with ``t`` uniform on ``[0, π]``.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, y = fl.datasets.moons(101, noise=0.0, rng=1)
    >>> X.shape, np.bincount(y).tolist()
    ((2, 101), [51, 50])
    >>> bool(np.allclose(np.hypot(X[0, y == 0], X[1, y == 0]), 1.0))
    True
    """
    n = check_count(n, "moons", 2)
    noise = check_noise(noise, "moons")
    dtype = _float_dtype(dtype, "moons")
    rng = _as_rng(rng, "moons")
    m0, m1 = _class_sizes(n, 2)
    t0 = rng.uniform(0.0, np.pi, m0)
    t1 = rng.uniform(0.0, np.pi, m1)
    upper = np.stack([np.cos(t0), np.sin(t0)])
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    return _finish([upper, lower], noise, rng, dtype)


def xor(n=200, noise=0.1, rng=None, dtype=np.float32):
    """The XOR problem: points in the square ``[-1, 1]²``, labelled 1 where the two coordinates differ in sign.

    ``y = (x₁ > 0) xor (x₂ > 0)``: class 0 fills the first and third quadrants,
    class 1 the second and fourth. Each quadrant gets a quarter of the points
    (uniform inside it); the labels are fixed before the noise is added, so
    with noise some points near the axes sit on the other side.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, y = fl.datasets.xor(200, noise=0.0, rng=2)
    >>> np.bincount(y).tolist()
    [100, 100]
    >>> bool(np.all(y == ((X[0] > 0) ^ (X[1] > 0))))
    True
    """
    n = check_count(n, "xor", 2)
    noise = check_noise(noise, "xor")
    dtype = _float_dtype(dtype, "xor")
    rng = _as_rng(rng, "xor")
    # Quadrants (+,+) and (-,-) hold class 0, (+,-) and (-,+) class 1; each class
    # takes its two quadrants in turn.
    quadrants = np.array([[(1, 1), (-1, -1)], [(1, -1), (-1, 1)]], dtype=np.float64)
    parts = []
    for k, m in enumerate(_class_sizes(n, 2)):
        signs = quadrants[k][np.arange(m) % 2].T          # (2, m)
        parts.append(signs * rng.uniform(0.0, 1.0, (2, m)))
    return _finish(parts, noise, rng, dtype)


def spiral(n=200, noise=0.05, classes=2, turns=1.5, rng=None, dtype=np.float32):
    """Interleaved spiral arms, one per class: the classic hard problem for a small network.

    A point of class ``k`` out of ``K = classes`` sits at radius ``t`` and angle
    ``θ = 2πk/K + 2π·turns·t``, with ``t`` uniform on ``[0, 1]``: arm ``k`` winds
    `turns` times around the origin, rotated by ``2πk/K`` from arm 0.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, y = fl.datasets.spiral(300, noise=0.0, classes=3, rng=3)
    >>> X.shape, np.bincount(y).tolist()
    ((2, 300), [100, 100, 100])
    >>> bool(np.all(np.hypot(X[0], X[1]) <= 1.0))
    True
    """
    classes = check_count(classes, "spiral", 2, name="classes")
    n = check_count(n, "spiral", classes)
    noise = check_noise(noise, "spiral")
    dtype = _float_dtype(dtype, "spiral")
    if not isinstance(turns, numbers.Real) or not np.isfinite(turns) or turns <= 0:
        raise ValueError(f"spiral: turns must be a positive number, got {turns!r}.")
    rng = _as_rng(rng, "spiral")
    parts = []
    for k, m in enumerate(_class_sizes(n, classes)):
        t = rng.uniform(0.0, 1.0, m)
        theta = 2 * np.pi * k / classes + 2 * np.pi * turns * t
        parts.append(t * np.stack([np.cos(theta), np.sin(theta)]))
    return _finish(parts, noise, rng, dtype)


def gaussian(n=200, noise=0.3, centers=3, rng=None, dtype=np.float32):
    """Gaussian blobs: class ``k`` is drawn from a normal distribution around ``centers[k]``.

    `centers` is either a count ``K`` (the centres are then spread evenly on the
    unit circle, ``(cos 2πk/K, sin 2πk/K)``) or a sequence of ``(x₁, x₂)`` points.
    `noise` is the standard deviation of each blob, the same in both directions;
    ``noise=0`` puts every point exactly on its centre.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, y = fl.datasets.gaussian(90, noise=0.0, centers=[(0, 0), (2, 0), (0, 2)], rng=4)
    >>> np.bincount(y).tolist(), X[:, y == 1].mean(axis=1).tolist()
    ([30, 30, 30], [2.0, 0.0])
    """
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"gaussian: centers must be at least 1, got {centers}.")
        angle = 2 * np.pi * np.arange(centers) / centers
        points = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        points = np.asarray(centers, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < 1:
            raise ValueError(
                f"gaussian: centers must be a count or a sequence of (x1, x2) points, e.g. [(0, 0), (2, 2)]; "
                f"got an array of shape {points.shape}."
            )
    n = check_count(n, "gaussian", len(points))
    noise = check_noise(noise, "gaussian")
    dtype = _float_dtype(dtype, "gaussian")
    rng = _as_rng(rng, "gaussian")
    parts = [np.repeat(c[:, np.newaxis], m, axis=1) for c, m in zip(points, _class_sizes(n, len(points)))]
    return _finish(parts, noise, rng, dtype)
