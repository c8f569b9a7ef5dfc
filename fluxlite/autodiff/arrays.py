"""Trainable arrays: `Param`, the constructors that make them, and the random generator.

A `Param` is an ordinary NumPy array whose class marks it as trainable, the way
any array is trainable in Flux. Outside `gradient` it is NumPy through and
through: arithmetic on it returns plain ``np.ndarray`` results at NumPy's
speed. Inside `gradient`, the arrays being differentiated are switched to a
traced class for the length of the call and switched back afterwards.
"""
import numpy as np

__all__ = ["Param", "param", "rand", "randn", "zeros", "ones", "seed", "rng"]

_RNG = [None]  # made on first use: numpy.random need not load for a first gradient


class Param(np.ndarray):
    """A trainable NumPy array, as made by `param`, `rand`, `randn`, `zeros` and `ones`.

    ``isinstance(W, np.ndarray)`` is true, and every NumPy function accepts it.
    Results computed from a `Param` are plain arrays: only arrays you create as
    parameters are parameters.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> W = fl.param(np.array([[1.0, 2.0]]))
    >>> isinstance(W, np.ndarray), type(W * 2).__name__
    (True, 'ndarray')
    """

    # The tracing state, used while `gradient` has switched this array to its traced
    # subclass (which shares this layout, so the switch is a class assignment).
    __slots__ = ("_tape", "_i", "_val")

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        if return_scalar:
            return arr[()]
        if isinstance(arr, Param):  # an in-place update such as W -= 0.1 * g keeps W a Param
            return arr
        return arr.view(np.ndarray)

    def __reduce__(self):
        # Pickle and deepcopy as a Param, not as whatever class it is traced as.
        fn, args, state = np.ndarray.view(self, np.ndarray).__reduce__()
        return _rebuild_param, (fn, args, state)


def _rebuild_param(fn, args, state):
    a = fn(*args)
    a.__setstate__(state)
    return a.view(Param)


def param(a, dtype=None):
    """Make a trainable copy of `a` (an array, a list or a number).

    The copy is float64 unless `a` is already floating point or `dtype` says otherwise.
    Complex numbers are refused: fluxlite differentiates real-valued code only.

    >>> import fluxlite as fl
    >>> w = fl.param([1, 2, 3])
    >>> w, w.dtype
    (Param([1., 2., 3.]), dtype('float64'))
    """
    a = np.asarray(a)
    if a.dtype.kind == "c" or dtype is not None and np.dtype(dtype).kind == "c":
        raise TypeError("fl.param: fluxlite trains real numbers only, but this is complex. Keep "
                        "the real and imaginary parts as two real parameters: "
                        "fl.param(z.real), fl.param(z.imag).")
    if dtype is None:
        dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float64
    return np.array(a, dtype=dtype, copy=True).view(Param)


def seed(n):
    """Reseed fluxlite's random generator, like Julia's ``Random.seed!(n)``.

    Every fluxlite function that draws random numbers (`rand`, `randn`, layer
    initialisers, `DataLoader` shuffling, `Dropout`) uses this generator unless
    given its own.

    >>> import fluxlite as fl
    >>> fl.seed(0); a = fl.rand(3)
    >>> fl.seed(0); b = fl.rand(3)
    >>> bool((a == b).all())
    True
    """
    _RNG[0] = np.random.default_rng(n)


def rng():
    """fluxlite's current ``np.random.Generator`` (reseeded by `seed`).

    >>> import fluxlite as fl
    >>> fl.seed(1); x = fl.rng().random()
    >>> 0.0 <= x < 1.0
    True
    """
    if _RNG[0] is None:
        _RNG[0] = np.random.default_rng()
    return _RNG[0]


def rand(*dims, dtype=np.float64):
    """A trainable array of uniform random numbers in [0, 1), like Julia's ``rand(2, 5)``.

    >>> import fluxlite as fl
    >>> W = fl.rand(2, 5)
    >>> W.shape, bool(((0 <= W) & (W < 1)).all())
    ((2, 5), True)
    """
    return rng().random(dims).astype(dtype, copy=False).view(Param)


def randn(*dims, dtype=np.float64):
    """A trainable array of standard normal random numbers, like Julia's ``randn(3, 2)``.

    >>> import fluxlite as fl
    >>> fl.randn(3, 2).shape
    (3, 2)
    """
    return rng().standard_normal(dims).astype(dtype, copy=False).view(Param)


def zeros(*dims, dtype=np.float64):
    """A trainable array of zeros.

    >>> import fluxlite as fl
    >>> fl.zeros(2)
    Param([0., 0.])
    """
    return np.zeros(dims, dtype).view(Param)


def ones(*dims, dtype=np.float64):
    """A trainable array of ones.

    >>> import fluxlite as fl
    >>> fl.ones(2, 1)
    Param([[1.],
           [1.]])
    """
    return np.ones(dims, dtype).view(Param)
