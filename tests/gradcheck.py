"""Gradient checking: fluxlite's pullbacks against finite differences, in float64.

Two checks, both used by the test factory in ``test_primitives.py``:

* `check_gradient`, the textbook check. For each element x_i of each argument the central
  difference ``(L(x + h e_i) - L(x - h e_i)) / 2h`` approximates ∂L/∂x_i with an error of
  order h². It costs two evaluations per element, so it suits small arrays, and it also
  checks the value, the shape and the dtype of what `gradient` returns.
* `check_grads`, HIPS autograd's check. Draw a random direction u; the directional derivative
  ``⟨∇L(x), u⟩`` must equal ``(L(x + h u) - L(x - h u)) / 2h``. That costs two evaluations
  whatever the size of x, and applying the same check to ``x ↦ ⟨∇L(x), u⟩`` (a function
  that itself calls `gradient`) checks second derivatives, i.e. nested gradients.

A function with an array result ``f(x)`` is turned into a scalar by a fixed random projection
``L(x) = Σ f(x) ⊙ v``, so every element of the result takes part in the check.

Failures are written for a student: which argument, its shape, the expected and the
computed numbers, and where they differ most.

>>> import numpy as np
>>> check_gradient(np.tanh, np.array([0.5, -1.0]))
>>> check_grads(lambda x: np.sum(np.exp(x) * x), np.array([0.1, 0.2]), order=2)
"""
import numbers

import numpy as np

import fluxlite as fl

__all__ = ["numerical_gradient", "check_gradient", "check_grads", "projection", "hvp",
           "numerical_hvp", "as_float64"]

STEP = 1e-6  # relative finite-difference step: the O(h²) error and float64 rounding balance near here


def as_float64(a):
    """A fresh float64 copy of `a` (numbers stay Python floats).

    >>> as_float64(np.array([1, 2])).dtype, as_float64(3)
    (dtype('float64'), 3.0)
    """
    if isinstance(a, numbers.Number) and not isinstance(a, np.ndarray):
        return float(a)
    return np.array(a, dtype=np.float64, order="C", copy=True)  # C order: reshape(-1) is a view


def _is_number(a):
    return isinstance(a, numbers.Number) and not isinstance(a, (np.ndarray, bool))


def _describe(k, a):
    if _is_number(a):
        return f"argument {k} (the number {a!r})"
    return f"argument {k} (an array of shape {np.shape(a)})"


def projection(f, out_shape, seed=0, **kwargs):
    """The scalar function ``L(*args) = Σ f(*args, **kwargs) ⊙ v`` for a fixed random `v`.

    Returns ``(L, v)``. For a scalar result `v` is a random number, so ``L = v · f``.

    >>> L, v = projection(lambda x: 2 * x, (3,))
    >>> bool(np.isclose(L(np.ones(3)), 2 * v.sum()))
    True
    """
    v = np.random.default_rng(seed).standard_normal(out_shape)

    def L(*args):
        return np.sum(f(*args, **kwargs) * v)
    return L, v


def numerical_gradient(L, args, k, step=STEP):
    """∂L/∂args[k] by central differences, element by element, in float64.

    `L` must return a number. Every element is moved by ``h = step · max(1, |x_i|)`` both ways.

    >>> numerical_gradient(lambda x: np.sum(x ** 2), [np.array([1.0, 3.0])], 0).round(6)
    array([2., 6.])
    """
    args = [as_float64(a) for a in args]
    if _is_number(args[k]):
        x = args[k]
        h = step * max(1.0, abs(x))
        up = float(L(*args[:k], x + h, *args[k + 1:]))
        down = float(L(*args[:k], x - h, *args[k + 1:]))
        return (up - down) / (2 * h)
    x = args[k]
    flat = x.reshape(-1)  # a view: x is a fresh contiguous copy
    g = np.zeros(x.shape)
    gflat = g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        h = step * max(1.0, abs(old))
        flat[i] = old + h
        up = float(L(*args))
        flat[i] = old - h
        down = float(L(*args))
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return g


def numerical_gradient_in_place(L, a, step=STEP):
    """∂L/∂a by central differences, moving the elements of float64 array `a` in place.

    For losses written as closures over `a` (a layer's weight, say): `L` takes no arguments.

    >>> a = np.array([1.0, 3.0])
    >>> numerical_gradient_in_place(lambda: np.sum(a ** 2), a).round(6)
    array([2., 6.])
    """
    if not a.flags.c_contiguous:
        raise ValueError("numerical_gradient_in_place needs a contiguous array to move in place")
    g = np.zeros(a.shape)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        h = step * max(1.0, abs(old))
        flat[i] = old + h
        up = float(L())
        flat[i] = old - h
        down = float(L())
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return g


def _scale(*values):
    """A magnitude to make tolerances relative to (at least 1)."""
    return max([1.0] + [float(np.max(np.abs(v))) for v in values if v is not None and np.size(v)])


def check_gradient(f, *args, kwargs=None, ref=None, rtol=1e-5, atol=1e-6, seed=0):
    """Check value, shape, dtype and gradient of `f` at `args` against NumPy and finite differences.

    * The value `f` computes inside `gradient` must equal ``ref(*args, **kwargs)`` evaluated on
      plain float64 copies (``ref`` defaults to `f` itself, run outside `gradient`).
    * `fl.gradient` must return one entry per argument: for an array argument an array of its
      shape and dtype, for a number a Python float, and None only where the finite-difference
      gradient is zero.
    * Each gradient must match `numerical_gradient` of the projected function.

    Raises AssertionError saying which argument is wrong and where.

    >>> check_gradient(lambda x, y: x * y, np.array([1.0, 2.0]), 3.0)
    """
    kwargs = kwargs or {}
    plain = [as_float64(a) for a in args]
    want = (ref or f)(*plain, **kwargs)
    L, v = projection(f, np.shape(want), seed, **kwargs)

    def both(*a):
        y = f(*a, **kwargs)
        return np.sum(y * v), y

    (loss, got), grads = fl.withgradient(both, *args)
    assert np.shape(got) == np.shape(want), (
        f"inside gradient the result has shape {np.shape(got)}, but NumPy gives {np.shape(want)}")
    assert np.asarray(got).dtype == np.asarray(want).dtype, (
        f"inside gradient the result has dtype {np.asarray(got).dtype}, "
        f"but NumPy gives {np.asarray(want).dtype}")
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=1e-10, atol=1e-12, equal_nan=True,
                               err_msg="the value computed inside gradient differs from NumPy's")
    assert isinstance(grads, tuple) and len(grads) == len(args), (
        f"gradient should return a tuple with one entry per argument ({len(args)}), "
        f"got {grads!r}")
    scale = _scale(loss)
    for k, (a, g) in enumerate(zip(args, grads)):
        num = numerical_gradient(L, plain, k)
        where = _describe(k, a)
        if g is None:
            assert np.all(np.abs(num) <= atol * scale), (
                f"gradient returned None for {where}, but finite differences give {num}")
            continue
        if _is_number(a):
            assert type(g) is float, f"{where}: expected a Python float, got {type(g).__name__}"
        else:
            assert isinstance(g, np.ndarray) and type(g) is np.ndarray, (
                f"{where}: expected a plain np.ndarray gradient, got {type(g).__name__}")
            assert g.shape == np.shape(a), (
                f"{where}: the gradient has shape {g.shape}, it should have the argument's shape")
            assert g.dtype == np.asarray(a).dtype, (
                f"{where}: the gradient has dtype {g.dtype}, the argument {np.asarray(a).dtype}")
        err = np.abs(np.asarray(g, dtype=float) - num)
        tol = atol * scale + rtol * np.abs(num)
        if not np.all(err <= tol):
            i = np.unravel_index(np.argmax(err - tol), np.shape(err)) if np.ndim(err) else ()
            raise AssertionError(
                f"the gradient for {where} differs from central finite differences\n"
                f"  expected (finite differences): {num!r}\n"
                f"  got (fluxlite):                {g!r}\n"
                f"  worst element {i}: expected {np.asarray(num)[i]!r}, got {np.asarray(g)[i]!r}")


def _directions(args, rng):
    return [float(rng.standard_normal()) if _is_number(a) else rng.standard_normal(np.shape(a))
            for a in args]


def _dot(gs, us):
    """Σ_k ⟨g_k, u_k⟩ over the arguments that have a gradient (traced or not)."""
    total = 0.0
    for g, u in zip(gs, us):
        if g is not None:
            total = total + np.sum(g * u)
    return total


def _terms(gs, us):
    return sum(float(np.sum(np.abs(np.asarray(fl.autodiff.untrace(g), dtype=float) * u)))
               for g, u in zip(gs, us) if g is not None)


def check_grads(f, *args, kwargs=None, order=2, rtol=1e-5, atol=1e-7, seed=0, step=STEP):
    """Random-projection check of `f`'s gradient, to the given order (autograd's ``check_grads``).

    Order 1 compares ``⟨∇L(x), u⟩`` with the central difference of `L` along a random `u`.
    Order 2 then repeats the check on ``x ↦ ⟨∇L(x), u⟩``, which differentiates through the
    pullbacks themselves (a nested `gradient`), and so on.

    >>> check_grads(lambda x: x ** 3, 2.0, order=3)
    """
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed + 1)
    plain = [as_float64(a) for a in args]
    out_shape = np.shape(f(*plain, **kwargs))
    L, _ = projection(f, out_shape, seed, **kwargs)
    us = _directions(args, rng)
    grads = fl.gradient(L, *plain)
    # Each argument moves by a step relative to its own size: along w_k = (h_k / h) u_k,
    # with h the smallest of the h_k.
    hs = [step * max(1.0, float(np.max(np.abs(a)))) if np.size(a) else step for a in plain]
    h = min(hs)
    ws = [hk / h * u for hk, u in zip(hs, us)]
    up = [a + h * w for a, w in zip(plain, ws)]
    down = [a - h * w for a, w in zip(plain, ws)]
    numeric = (float(L(*up)) - float(L(*down))) / (2 * h)
    analytic = float(_dot(grads, ws))
    tol = atol * _scale(L(*plain)) + rtol * max(abs(numeric), _terms(grads, ws))
    if not abs(analytic - numeric) <= tol:
        raise AssertionError(
            f"order-{order} check: the directional derivative from gradient is {analytic!r}, "
            f"central finite differences give {numeric!r} (tolerance {tol:.3g})")
    if order > 1:
        def along(*a):
            return _dot(fl.gradient(L, *a), ws)
        check_grads(along, *plain, order=order - 1, rtol=rtol, atol=atol, seed=seed + 7,
                    step=step)


def hvp(f, x, v):
    """The Hessian-vector product ``H(x) v`` of scalar `f`, by differentiating a gradient.

    ``∇ₓ ⟨∇f(x), v⟩ = H(x) v``: one nested `gradient` call, no Hessian is ever formed.

    >>> hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    return fl.gradient(lambda y: np.sum(fl.gradient(f, y)[0] * v), x)[0]


def numerical_hvp(f, x, v, step=1e-5):
    """``H(x) v`` by central differences of the gradient: ``(∇f(x + hv) - ∇f(x - hv)) / 2h``.

    >>> numerical_hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0])).round(4)
    array([ 6., 12.])
    """
    x = as_float64(x)
    return (fl.gradient(f, x + step * v)[0] - fl.gradient(f, x - step * v)[0]) / (2 * step)
