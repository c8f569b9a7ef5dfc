"""np.linalg: norms (and the matrix functions students meet in losses).

Norms are written with traced operations where they can be (a p-norm is sums and powers,
a max-norm a max), so their gradients, and gradients of gradients, come from those rules.
The 2-norm has its own primitive: its pullback ``g x / ‖x‖`` is 0 at x = 0 (the subgradient),
where sqrt(sum(x²)) would give 0 · ∞ = NaN.
"""
import numpy as np

from ..autodiff.tracer import FUNCTIONS, NoGradientRule, primitive


def _norm_vjp(g, ans, x, axis=None, keepdims=False):
    from .reductions import _expand
    n = _expand(ans, x, axis, keepdims)
    return _expand(g, x, axis, keepdims) * x / np.where(n == 0, 1.0, n)


NORM = primitive(lambda x, axis=None, keepdims=False: np.linalg.norm(x, axis=axis, keepdims=keepdims),
                 "numpy.linalg.norm").defvjp(_norm_vjp)


def _norm(x, ord=None, axis=None, keepdims=False):
    nd = np.ndim(x)
    if axis is None and (ord is None or ord == "fro" and nd == 2 or ord == 2 and nd == 1):
        if nd > 1:  # the 2-norm of all the numbers
            flat = NORM(np.reshape(x, -1))
            return np.reshape(flat, (1,) * nd) if keepdims else flat
        return NORM(x, keepdims=keepdims)
    if axis is None:
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = tuple(int(a) % nd for a in np.atleast_1d(axis))
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2 and axes[0] != axes[1]:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"np.linalg.norm: axis={axis!r} must be one axis or two different axes")


def _vector_norm(x, ord, axis, keepdims):
    """Vector norms along one axis, written with traced operations:
    ‖x‖_p = (Σ|x_i|^p)^(1/p); ‖x‖_∞ = max|x_i|; ‖x‖_-∞ = min|x_i|; ‖x‖_0 counts non-zeros."""
    if ord is None or ord == 2:
        return NORM(x, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:  # a count: no gradient
        return np.sum(np.asarray(x) != 0, axis=axis, keepdims=keepdims).astype(np.result_type(x, 1.0))
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    """Matrix norms over two axes (rows r, columns c): 'fro' as the 2-norm of all entries,
    ord=1 the largest column sum of |x|, ord=inf the largest row sum (-1, -inf: smallest)."""
    r, c = axes
    if ord is None or ord == "fro":
        return NORM(x, axis=axes, keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        pick = np.max if ord > 0 else np.min
        summed, across = (r, c) if ord in (1, -1) else (c, r)
        out = pick(np.sum(np.abs(x), axis=summed, keepdims=True), axis=across, keepdims=True)
        return out if keepdims else np.squeeze(out, axis=axes)
    raise NoGradientRule(f"fluxlite has no gradient rule for numpy.linalg.norm with ord={ord!r} on "
                         f"matrices (it needs singular values).\nUse the Frobenius norm "
                         f"(ord=None or 'fro'), or ord=1 / ord=np.inf.")


FUNCTIONS[np.linalg.norm] = _norm
