"""Printing models the way Flux prints them at the REPL.

A single layer prints on one line, followed by a comment with its parameter count::

    Dense(10 => 5, σ)   # 55 parameters

A container (``Chain``, ``Parallel``, ``SkipConnection``...) prints one child
per line, each comment starting in column 40, and a total after the closing
parenthesis when the model holds more than two trainable arrays::

    Chain(
      Dense(10 => 5, σ),                    # 55 parameters
      Dense(5 => 2),                        # 12 parameters
      softmax,
    )                   # Total: 4 arrays, 67 parameters, 268 bytes.

Arrays that are part of a layer but not trained (BatchNorm's running mean and
variance) are reported as ``plus N non-trainable``. The column rules and texts
follow Flux's ``src/layers/show.jl``. One deliberate difference: the byte count
is the size of the array data (float32 = 4 bytes each), where Julia's
``Base.summarysize`` also counts object headers.

API for layer authors (``from fluxlite.layers.show import ...``):

* class ``Layer``: a base class whose only job is ``__repr__`` (via `show`);
  subclasses define ``_show(self) -> str``, their one-line Flux form, such as
  ``"Conv((3, 3), 1 => 16, relu)"``.
* A container also defines ``_show_children(self)``, a list of
  ``(name or None, child)`` pairs; named children print as ``name = child``.
  It is printed over several lines when any child is itself a container or a
  layer (anything that is not a plain function, number or string).
* ``show(x) -> str``: the full REPL text of a layer, model, function or array.
* ``fname(f) -> str``: how Flux prints a function: ``σ``, ``relu``, ``tanh``,
  ``identity``, ``softmax``, ``+``.
* ``act_suffix(f) -> str``: ``", relu"``, or ``""`` for ``identity``; ready to
  put in a one-line form: ``f"Dense({i} => {o}{act_suffix(self.σ)})"``.
* ``count_params(x) -> (trainable arrays, trainable numbers, other arrays, other numbers, bytes)``.
"""
import operator

import numpy as np

from .. import functors

__all__ = ["Layer", "show", "fname", "act_suffix", "count_params", "layer_string", "underscorise",
           "format_bytes"]


class Layer:
    """Base class for fluxlite layers: gives them Flux's printing as ``__repr__``.

    Subclasses define ``_show(self)`` (their one-line form) and, for containers,
    ``_show_children(self)``.

    >>> class Scale(Layer):
    ...     _trainable = ("s",)
    ...     def __init__(self):
    ...         import fluxlite as fl
    ...         self.s = fl.ones(3)
    ...     def _show(self):
    ...         return "Scale(3)"
    >>> Scale()
    Scale(3)            # 3 parameters
    """

    def _show(self):
        return type(self).__name__ + "()"

    def __repr__(self):
        return show(self)


_NAMES = {
    operator.add: "+", np.add: "+", operator.mul: "*", np.multiply: "*", operator.sub: "-",
    np.subtract: "-", operator.truediv: "/", np.divide: "/", operator.matmul: "*",
    np.matmul: "*", np.maximum: "max", np.minimum: "min", max: "max", min: "min",
}


def fname(f):
    """The name Flux prints for function `f`: ``σ``, ``relu``, ``identity``, ``+``...

    >>> import numpy as np, fluxlite as fl
    >>> fname(fl.sigmoid), fname(fl.relu), fname(np.tanh), fname(np.add)
    ('σ', 'relu', 'tanh', '+')
    """
    try:
        name = _NAMES.get(f)
    except TypeError:  # unhashable callables
        name = None
    if name is not None:
        return name
    show_fn = getattr(f, "_show", None)
    if callable(show_fn) and not isinstance(f, type):
        return show_fn()
    if hasattr(f, "func") and hasattr(f, "args"):  # functools.partial
        extra = [repr(a) for a in f.args] + [f"{k}={v!r}" for k, v in f.keywords.items()]
        return f"{fname(f.func)}({', '.join(['_'] + extra)})"
    name = getattr(f, "__name__", None)
    if name == "<lambda>":
        return "λ"
    if name is not None:
        return name
    return repr(f)


def act_suffix(f):
    """``", name"`` for an activation in a one-line form, or ``""`` when it is identity.

    >>> import fluxlite as fl
    >>> act_suffix(fl.relu), act_suffix(None)
    (', relu', '')
    """
    if f is None or _is_identity(f):
        return ""
    return ", " + fname(f)


def _is_identity(f):
    from .basic import identity
    return f is identity


def underscorise(n):
    """An integer with ``_`` between groups of three digits, as Flux prints counts.

    >>> underscorise(1234567), underscorise(55)
    ('1_234_567', '55')
    """
    return f"{int(n):_d}"


def format_bytes(n):
    """Bytes as Julia's ``Base.format_bytes`` writes them: ``500 bytes``, ``1.953 KiB``.

    >>> format_bytes(500), format_bytes(2000), format_bytes(3 * 1024 ** 2)
    ('500 bytes', '1.953 KiB', '3.000 MiB')
    """
    units = ["byte", "KiB", "MiB", "GiB", "TiB", "PiB"]
    if n in (0, 1):
        unit = 1
    else:
        unit = min(len(units), int(np.ceil(np.log(n) / np.log(1024))))
    if unit == 1:
        return f"{int(n)} {units[0]}" + ("" if n == 1 else "s")
    return f"{n / 1024 ** (unit - 1):.3f} {units[unit - 1]}"


def _is_numeric_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind in "biufc"


def _trainables(x):
    return [a for a in functors.leaves(x, trainable=True) if _is_numeric_array(a)]


def _all_arrays(x):
    return [a for a in functors.leaves(x) if _is_numeric_array(a)]


def count_params(x):
    """Sizes in `x`: (trainable arrays, their numbers, other arrays, their numbers, bytes of all).

    >>> import fluxlite as fl
    >>> count_params([fl.zeros(2, 3, dtype="float32"), fl.zeros(3, dtype="float32")])
    (2, 9, 0, 0, 36)
    """
    ps = _trainables(x)
    ids = {id(a) for a in ps}
    rest = [a for a in _all_arrays(x) if id(a) not in ids]
    nbytes = sum(a.nbytes for a in ps) + sum(a.nbytes for a in rest)
    return len(ps), sum(a.size for a in ps), len(rest), sum(a.size for a in rest), nbytes


def layer_string(x):
    """The one-line form of `x`: a layer's ``_show()``, a function's name, an array's summary.

    >>> import fluxlite as fl, numpy as np
    >>> layer_string(fl.softmax), layer_string(np.zeros((2, 3), np.float32))
    ('softmax', '2×3 ndarray{float32}')
    """
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            dims = "0-dimensional"
        elif x.ndim == 1:
            dims = f"{x.shape[0]}-element"
        else:
            dims = "×".join(map(str, x.shape))
        return f"{dims} {type(x).__name__}{{{x.dtype}}}"
    show_fn = getattr(x, "_show", None)
    if callable(show_fn) and not isinstance(x, type):
        return show_fn()
    if callable(x):
        return fname(x)
    if isinstance(x, (list, tuple, dict)):
        return _inline(x)
    return repr(x)


def _inline(x):
    if isinstance(x, dict):
        return "(; " + ", ".join(f"{k} = {layer_string(v)}" for k, v in x.items()) + ")"
    inner = ", ".join(layer_string(v) for v in x)
    if isinstance(x, tuple):
        return "(" + inner + ("," if len(x) == 1 else "") + ")"
    return "[" + inner + "]"


def _show_children(x):
    """Children to print on their own lines, or None when `x` prints on one line."""
    if isinstance(x, np.ndarray):
        return None
    method = getattr(x, "_show_children", None)
    if callable(method) and not isinstance(x, type):
        return list(method())
    if isinstance(x, dict):
        return list(x.items())
    if isinstance(x, (list, tuple)):
        return [(None, c) for c in x]
    return None


def _leaflike(x):
    """True when `x` never needs lines of its own: numbers, strings, functions, arrays."""
    if isinstance(x, np.ndarray) or x is None or isinstance(x, (str, bytes, int, float, complex)):
        return True
    if isinstance(x, (list, tuple)) and all(isinstance(v, (int, float, np.ndarray)) for v in x):
        return True
    if _show_children(x) is not None or hasattr(x, "_show"):
        return False
    return functors.isleaf(x)


def _pre_post(x):
    if isinstance(x, list):
        return "[", "]"
    if isinstance(x, dict):
        return "(;", ")"
    if isinstance(x, tuple):
        return "(", ")"
    text = layer_string(x) if hasattr(x, "_show") else type(x).__name__ + "("
    head = text.split("(", 1)[0] if "(" in text else type(x).__name__
    return head + "(", ")"


def _layer_line(x, indent, name, out):
    text = ("" if name is None else f"{name} = ") + layer_string(x)
    line = " " * indent + text + ("" if indent == 0 else ",")
    ntrain, n, _, nother, _ = count_params(x)
    if ntrain:
        pad = max(2, (20 if indent == 0 else 39) - indent - len(text))
        line += " " * pad + f"# {underscorise(n)} parameters"
        if nother:
            line += f", plus {underscorise(nother)}" + (" non-trainable" if indent == 0 else "")
        line += _nan_note(x)
    out.append(line)


def _nan_note(x):
    ps = _trainables(x)
    floats = [a for a in ps if a.dtype.kind in "fc" and a.size]
    if ps and all(not np.any(a) for a in ps):
        return "  (all zero)"
    if any(np.isnan(a).any() for a in floats):
        return "  (some NaN)"
    if any(np.isinf(a).any() for a in floats):
        return "  (some Inf)"
    return ""


def _big_show(x, indent, name, out):
    kids = _show_children(x)
    if kids is None or all(_leaflike(c) for _, c in kids):
        _layer_line(x, indent, name, out)
        return
    pre, post = _pre_post(x)
    out.append(" " * indent + ("" if name is None else f"{name} = ") + pre)
    for k, c in kids:
        _big_show(c, indent + 2, k, out)
    if indent == 0:
        out.append(post + " " + _total(x))
    else:
        out.append(" " * indent + post + ",")


def _total(x):
    ntrain, n, nother_arrays, nother, nbytes = count_params(x)
    if ntrain <= 2:
        return ""
    if nother_arrays:
        return (" " * 8 + f"# Total: {ntrain} trainable arrays, {underscorise(n)} parameters,\n"
                + " " * 10 + f"# plus {nother_arrays} non-trainable, {underscorise(nother)} "
                f"parameters, summarysize {format_bytes(nbytes)}.")
    return " " * 18 + f"# Total: {ntrain} arrays, {underscorise(n)} parameters, {format_bytes(nbytes)}."


def show(x):
    """The text Flux's REPL would print for `x` (a layer, a model, a function, an array).

    >>> import fluxlite as fl
    >>> print(show(fl.relu))
    relu
    """
    out = []
    _big_show(x, 0, None, out)
    return "\n".join(line.rstrip() for line in out)
