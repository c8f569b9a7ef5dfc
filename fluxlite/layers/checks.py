"""Shape checks shared by every layer, with messages written for students.

A wrong input shape should fail at the layer, with a message that names the
layer (in its Flux one-line form), says what it expected, what it got, and what
to do, instead of a NumPy broadcasting error three calls deeper.

API for layer authors (``from fluxlite.layers.checks import ...``):

* ``check_size(layer, x, expected, axis=0, what="features", hint=None)``: raise
  `LayerShapeError` unless ``x.shape[axis] == expected``; ``axis`` may be
  negative (channels of WHCN images are ``axis=-2``). Returns None.
* ``check_ndim(layer, x, allowed, what="input", hint=None)``: raise unless
  ``x.ndim`` is in ``allowed`` (an int or a tuple of ints).
* ``shape_error(layer, message, hint=None)``: the exception itself, for any
  other condition; ``raise shape_error(self, "...")``.
* ``layer_name(layer)``: the one-line form used in messages (the layer's
  ``_show()``, or a string passed as is).

`LayerShapeError` subclasses ``ValueError``. Messages look like::

    Dense(10 => 5) expects 10 features along axis 0 (Flux's feature axis), but got an
    input of shape (7,) (7 features).
    Hint: ...
"""
import numpy as np

__all__ = ["LayerShapeError", "check_size", "check_ndim", "shape_error", "layer_name"]


class LayerShapeError(ValueError):
    """A layer was given an input of the wrong shape; the message says which layer and why.

    >>> import numpy as np
    >>> try:
    ...     check_size("Dense(10 => 5)", np.ones(7), 10)
    ... except LayerShapeError as e:
    ...     print(str(e).splitlines()[0])
    Dense(10 => 5) expects 10 features along axis 0 (Flux's feature axis), but got an input of shape (7,) (7 features).
    """


def layer_name(layer):
    """The one-line Flux form of `layer` for messages: its ``_show()``, or a string as given.

    >>> layer_name("Dense(2 => 3)")
    'Dense(2 => 3)'
    """
    if isinstance(layer, str):
        return layer
    show = getattr(layer, "_show", None)
    if callable(show):
        try:
            return show()
        except Exception:  # a message must never fail because printing failed
            pass
    return type(layer).__name__


def _axis_words(axis, ndim):
    if axis == 0:
        return "axis 0 (Flux's feature axis)"
    if axis == -1:
        return "the last axis (the batch axis)"
    if axis == -2 and ndim >= 3:
        return "axis -2 (the channel axis of W×H×C×N data)"
    return f"axis {axis}"


def _default_hint(expected, axis, shape, what):
    if axis == 0 and len(shape) == 2 and shape[-1] == expected:
        return (f"Flux puts {what} first and the batch last: a batch of N samples is a "
                f"{expected} × N array. Your array looks like samples × {what} (the PyTorch "
                f"layout); pass x.T instead.")
    if axis == 0:
        return (f"Flux puts {what} first and the batch last: give one sample as a vector of "
                f"length {expected}, or a batch as a {expected} × N array.")
    return f"Reshape the input so that {_axis_words(axis, len(shape))} has length {expected}."


def shape_error(layer, message, hint=None):
    """A `LayerShapeError` reading "<layer> <message>" plus an optional "Hint:" line.

    >>> e = shape_error("BatchNorm(3)", "needs at least 2 dimensions.", "Add a batch axis.")
    >>> print(e)
    BatchNorm(3) needs at least 2 dimensions.
    Hint: Add a batch axis.
    """
    text = f"{layer_name(layer)} {message}"
    if hint:
        text += f"\nHint: {hint}"
    return LayerShapeError(text)


def check_size(layer, x, expected, axis=0, what="features", hint=None):
    """Raise `LayerShapeError` unless ``x.shape[axis] == expected``.

    >>> import numpy as np
    >>> check_size("Dense(10 => 5)", np.ones((10, 3)), 10)   # fine: returns None
    >>> try:
    ...     check_size("Dense(10 => 5)", np.ones((32, 10)), 10)
    ... except LayerShapeError as e:
    ...     print(e)
    Dense(10 => 5) expects 10 features along axis 0 (Flux's feature axis), but got an input of shape (32, 10) (32 features).
    Hint: Flux puts features first and the batch last: a batch of N samples is a 10 × N array. Your array looks like samples × features (the PyTorch layout); pass x.T instead.
    """
    shape = np.shape(x)
    ndim = len(shape)
    if ndim == 0 or not -ndim <= axis < ndim:
        raise shape_error(layer, f"expects {_count(expected, what)} along {_axis_words(axis, max(ndim, 1))}, "
                                 f"but got an input of shape {shape}, which has no such axis.",
                          hint or _default_hint(expected, axis, (expected,), what))
    got = shape[axis]
    if got != expected:
        raise shape_error(layer, f"expects {_count(expected, what)} along {_axis_words(axis, ndim)}, "
                                 f"but got an input of shape {shape} ({_count(got, what)}).",
                          hint or _default_hint(expected, axis, shape, what))


def _count(n, what):
    """``3 features``, but ``1 feature``."""
    return f"{n} {what[:-1] if n == 1 and what.endswith('s') else what}"


def check_ndim(layer, x, allowed, what="input", hint=None):
    """Raise `LayerShapeError` unless ``x.ndim`` is one of `allowed` (an int or a tuple).

    >>> import numpy as np
    >>> try:
    ...     check_ndim("Conv((3, 3), 1 => 2)", np.ones((8, 8)), (3, 4), "a W×H×C(×N) image")
    ... except LayerShapeError as e:
    ...     print(str(e).splitlines()[0])
    Conv((3, 3), 1 => 2) expects a W×H×C(×N) image with 3 or 4 dimensions, but got an input of shape (8, 8) (2 dimensions).
    """
    allowed = (allowed,) if isinstance(allowed, int) else tuple(allowed)
    shape = np.shape(x)
    if len(shape) not in allowed:
        want = " or ".join(str(n) for n in allowed)
        raise shape_error(layer, f"expects {what} with {want} dimensions, but got an input of "
                                 f"shape {shape} ({len(shape)} dimensions).",
                          hint or "Add or remove axes with np.reshape or x[..., None]; "
                                  "remember Flux puts the batch on the last axis.")


def match_dtype(w, x):
    """Flux's ``_match_eltype``: a float32 layer converts float64 or integer input to float32.

    >>> import numpy as np
    >>> match_dtype(np.ones(2, np.float32), np.ones(3)).dtype
    dtype('float32')
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    dt = x.dtype
    if dt != w.dtype and (dt.kind in "biu" or (w.dtype == np.float32 and dt == np.float64)):
        return x.astype(w.dtype)
    return x
