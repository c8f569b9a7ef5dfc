"""Broadcasting, and how its gradient flows back: `unbroadcast`.

NumPy broadcasting stretches an array to the shape of its partner without
copying it. ``W @ x + b`` with ``W @ x`` of shape ``(2, 10)`` and ``b`` of
shape ``(2, 1)`` uses the same column ``b`` for all ten samples. The rules,
read from the right-hand end of the shapes:

* shapes are lined up at their *last* axis; a missing leading axis counts as 1;
* two lengths match when they are equal or when one of them is 1;
* a length-1 axis is repeated to match the other.

So ``(2, 1)`` and ``(2, 10)`` give ``(2, 10)``, ``(5,)`` and ``(3, 5)`` give
``(3, 5)``, and ``(2,)`` and ``(2, 10)`` fail (the last axes are 2 and 10).
That last case matters for Flux users: Julia lines shapes up at the *first*
axis, so a Julia bias vector of length 2 adds to a ``2 × 10`` matrix, while in
NumPy it must have shape ``(2, 1)``.

Backwards, a value used many times collects the gradient of every use. If
``b`` was repeated across ten columns, its gradient is the *sum* of those ten
columns of the output's gradient. `unbroadcast` does exactly that: it sums
the gradient over every axis that broadcasting added or stretched, leaving an
array of the input's own shape.
"""
import numpy as np

__all__ = ["unbroadcast"]


def unbroadcast(g, x):
    """Sum gradient `g` down to the shape of `x`, undoing NumPy broadcasting.

    Axes that broadcasting added in front are summed away; axes where `x` had
    length 1 are summed with ``keepdims``. Written with NumPy operations so it
    can be differentiated again.

    >>> import numpy as np
    >>> g = np.ones((3, 2, 4))
    >>> unbroadcast(g, np.zeros((2, 1))).tolist()   # summed over 3 and 4: 12 each
    [[12.0], [12.0]]
    >>> float(unbroadcast(g, 5.0))
    24.0
    """
    try:
        gshape, shape = g.shape, x.shape
    except AttributeError:  # a Python number on either side
        gshape, shape = np.shape(g), np.shape(x)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        g = np.sum(g, axis=axes)
    if getattr(g, "shape", ()) != shape:
        g = np.reshape(g, shape)
    return g
