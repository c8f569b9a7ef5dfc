"""The errors and warnings of fluxlite's autodiff, with the messages students read.

Each message says what went wrong, why it matters for the gradient, and what to write instead.
"""

__all__ = ["TracingError", "NoGradientRule", "InPlaceError", "NoGradientWarning"]


class TracingError(Exception):
    """Raised when fluxlite cannot trace the code inside `gradient`.

    >>> issubclass(TracingError, Exception)
    True
    """


class NoGradientRule(TracingError, TypeError):
    """A NumPy function was called on a traced array, but fluxlite has no gradient rule for it.

    >>> import numpy as np, fluxlite as fl
    >>> try:
    ...     fl.gradient(lambda x: np.sum(np.fft.fft(x).real), np.ones(4))
    ... except fl.NoGradientRule as e:
    ...     print(str(e).splitlines()[0])
    fluxlite has no gradient rule for numpy.fft.fft.
    """


class NoGradientWarning(UserWarning):
    """Warned when a gradient call or a training step silently had nothing to work with.

    Examples: the function's result no longer depends on the arrays being differentiated
    (``np.asarray(x)`` inside the loss drops the record of x), or `update_` / `train_` were
    given gradients that are all None, so the step changes nothing.

    >>> import warnings, numpy as np, fluxlite as fl
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fl.gradient(lambda x: np.sum(np.asarray(x)), np.ones(2))
    (None,)
    >>> caught[0].category.__name__
    'NoGradientWarning'
    """


class InPlaceError(TracingError, ValueError):
    """A traced array was changed in place inside `gradient`.

    >>> import numpy as np, fluxlite as fl
    >>> def f(x):
    ...     x[0] = 0.0
    ...     return np.sum(x)
    >>> try:
    ...     fl.gradient(f, np.ones(3))
    ... except fl.InPlaceError as e:
    ...     print(str(e).splitlines()[0])
    In-place change of a traced array inside gradient: x[...] = ...
    """


_INPLACE_MESSAGE = (
    "In-place change of a traced array inside gradient: {what}\n"
    "gradient records every operation to replay it backwards; changing an array in place would "
    "erase values the backward pass needs, so the gradient would be silently wrong. "
    "Build a new array instead, for example `x = x + 1` instead of `x += 1`, "
    "or `np.where(mask, new, x)` / `np.concatenate(...)` instead of assigning to `x[i]`.")

_OTHER_THREAD = (
    "This array is being differentiated by a gradient call in another thread (a dashboard "
    "training in the background, perhaps), so {what} here would change the numbers that "
    "gradient is using. Wait until that training stops (pause the dashboard), or work on a "
    "copy: copy.deepcopy(model).")

_LOST = ("An array derived from a traced array has lost its link to the tape: it was made by an "
         "ndarray method that fluxlite does not trace (such as x.view()). Use the NumPy function "
         "form instead (np.reshape, np.transpose, indexing), so the gradient can flow through it.")

_COMPLEX = ("fluxlite differentiates real-valued code only, but {what} is complex ({dtype}). "
            "Work with real arrays: keep the real and imaginary parts as two real arrays "
            "(z.real, z.imag) and write the arithmetic on them.")
