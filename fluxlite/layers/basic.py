"""Basic layers, as in Flux's ``src/layers/basic.jl`` (work in progress: `identity` first)."""

__all__ = ["identity"]


def identity(x):
    """The identity function, identity(x) = x: the default activation of every layer.

    Layers whose activation is `identity` print without one: ``Dense(2 => 3)``.

    >>> identity(3.0)
    3.0
    """
    return x
