"""Tracing plain NumPy code: the tape, traced arrays and primitives.

How it works, in four steps:

1. `gradient` opens a `Tape` and hands the function *traced* arrays: NumPy
   arrays of class `Tracked` that remember which tape they belong to and their
   position on it.
2. NumPy sees that class and routes every ufunc (``+``, ``np.exp``, ``@``) to
   ``Tracked.__array_ufunc__`` and every other NumPy function (``np.sum``,
   ``np.reshape``) to ``Tracked.__array_function__``. Both look the operation
   up in the registry of `Primitive` objects and call `apply`.
3. `apply` computes the result with ordinary NumPy on the untraced values,
   appends one entry to the tape (the primitive, its inputs, its output) and
   returns the result as a new traced array.
4. When the function returns, `backward` walks the tape from the end to the
   start. Each entry's vector-Jacobian products (*pullbacks*, in Flux's words)
   turn the gradient of its output into gradients of its inputs.

Tapes nest. A traced array for an inner tape holds, as its untraced value, a
traced array of the outer tape, so the inner backward pass (written in NumPy)
is itself traced by the outer tape. That is all nested gradients need.
"""
import itertools
import operator
import sys

import numpy as np

from .arrays import Param

__all__ = ["Tracked", "Tape", "Primitive", "primitive", "apply", "untrace", "TracingError",
           "NoGradientRule", "InPlaceError", "NoGradientWarning"]


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


_LEVELS = itertools.count(1)


class Tape:
    """The record of one `gradient` call: a list of entries, freed when the call ends.

    Each entry is ``(primitive, output, inputs, kwargs, parents)``, where
    ``parents`` lists ``(argument position, entry index)`` for the inputs that are
    on this tape. Inputs of the function are entries with no primitive.

    >>> t = Tape(); t.leaf()
    0
    """

    __slots__ = ("entries", "active", "level")

    def __init__(self):
        self.level = next(_LEVELS)  # later (inner) tapes have higher levels
        self.entries = []
        self.active = True

    def leaf(self):
        self.entries.append(None)
        return len(self.entries) - 1


class Tracked(Param):
    """A NumPy array being traced inside `gradient`.

    Students never construct one: `gradient` hands them to the function being
    differentiated, and they behave like any other ``np.ndarray``. Its
    attributes are ``_tape`` (the `Tape`), ``_i`` (its entry on the tape) and
    ``_val`` (the same numbers, untraced for this tape).

    >>> import numpy as np, fluxlite as fl
    >>> fl.gradient(lambda x: (print(isinstance(x, np.ndarray)), np.sum(x))[1], np.ones(2))
    True
    (array([1., 1.]),)
    """

    # A subclass of Param, so NumPy asks Tracked first when both meet in one call (a sibling
    # class would let ndarray's default __array_function__ run the call untraced).
    # Views made by ndarray methods that fluxlite does not trace have their slots unset;
    # using one in a traced operation raises instead of silently dropping it.
    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            _refuse_out(ufunc, inputs, out)
        if method == "__call__":
            prim = UFUNCS.get(ufunc)
            if prim is not None:
                if not kwargs:
                    if len(inputs) == 1:
                        return unary(prim, inputs[0])
                    if len(inputs) == 2:
                        return prim.binary(*inputs)
                return apply(prim, *inputs, **kwargs)
            if ufunc in CONSTANT_UFUNCS:
                return ufunc(*map(untrace, inputs), **kwargs)
        elif method == "reduce" and ufunc in REDUCERS:
            return REDUCERS[ufunc](*inputs, **kwargs)
        raise NoGradientRule(_no_rule_message(f"numpy.{ufunc.__name__}" + (
            "" if method == "__call__" else f".{method}")))

    def __array_function__(self, func, types, args, kwargs):
        impl = FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        if func in CONSTANT_FUNCTIONS:
            return func(*_untrace_tree(args), **_untrace_tree(kwargs))
        if func in DECOMPOSED_FUNCTIONS:
            return func._implementation(*args, **kwargs)
        raise NoGradientRule(_no_rule_message(_qualname(func)))

    # The arithmetic operators (x + y, 2 * x, x ** 2, W @ x, -x) are set by `_install_operators`
    # once the primitives are registered: each goes straight to its primitive, skipping
    # NumPy's slower ufunc override path.

    def __pos__(self):
        return apply(UFUNCS[np.positive], self)

    def __abs__(self):
        return apply(UFUNCS[np.absolute], self)

    # ndarray methods that would otherwise make untraced views.
    def __getitem__(self, idx):
        return apply(FUNCTIONS["getitem"], self, idx=idx)

    def __setitem__(self, idx, value):
        if live(self):
            raise InPlaceError(_INPLACE_MESSAGE.format(what="x[...] = ..."))
        np.ndarray.__setitem__(self, idx, untrace(value))

    @property
    def T(self):
        return np.transpose(self)

    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def ravel(self, order="C"):
        return np.reshape(self, -1, order=order)

    def flatten(self, order="C"):
        return np.reshape(self, -1, order=order)

    def squeeze(self, axis=None):
        return np.squeeze(self, axis=axis)

    def swapaxes(self, a, b):
        return np.swapaxes(self, a, b)

    def copy(self, order="C"):
        return np.copy(self)

    def astype(self, dtype, *args, **kwargs):
        if np.issubdtype(np.dtype(dtype), np.floating):
            return apply(ASTYPE, self, dtype=np.dtype(dtype))
        return untrace(self).astype(dtype, *args, **kwargs)

    def dot(self, other):
        return np.dot(self, other)

    def take(self, indices, axis=None, out=None, mode="raise"):
        return np.take(self, indices, axis=axis)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return np.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False, **kw):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False, **kw):
        return np.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return np.prod(self, axis=axis, keepdims=keepdims)

    def clip(self, min=None, max=None, **kw):
        return np.clip(self, min, max)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        return np.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        return np.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def fill(self, value):
        raise InPlaceError(_INPLACE_MESSAGE.format(what="x.fill(...)"))

    def sort(self, *args, **kwargs):
        raise InPlaceError(_INPLACE_MESSAGE.format(what="x.sort() (sorts in place)"))

    def partition(self, *args, **kwargs):
        raise InPlaceError(_INPLACE_MESSAGE.format(what="x.partition(...) (reorders in place)"))

    def put(self, *args, **kwargs):
        raise InPlaceError(_INPLACE_MESSAGE.format(what="x.put(...)"))

    # Turning a traced array into a Python number cuts it off the tape: math.sin(x) calls
    # float(x), and the gradient would silently come back None. Refuse, and say why.
    def __float__(self):
        _refuse_number(self, "float")
        return float(untrace(self))

    def __int__(self):
        _refuse_number(self, "int")
        return int(untrace(self))

    def __complex__(self):
        _refuse_number(self, "complex")
        return complex(untrace(self))

    def __repr__(self):
        return "Tracked(" + repr(untrace(self))[6:]


def _no_rule_message(name):
    hint = HINTS.get(name, "Write the loss with the operations fluxlite supports "
                           "(see fluxlite.primitives.supported()), or register a rule with "
                           "fluxlite.autodiff.primitive(...).defvjp(...).")
    return f"fluxlite has no gradient rule for {name}.\n{hint}"


def _qualname(func):
    mod = getattr(func, "__module__", "") or ""
    mod = mod.replace("numpy._core.", "numpy.").replace("numpy.core.", "numpy.")
    if mod.startswith("numpy") and mod.count(".") > 1 and ".linalg" not in mod and ".fft" not in mod:
        mod = "numpy"
    mod = mod.replace("numpy.linalg._linalg", "numpy.linalg").replace("numpy.fft._pocketfft", "numpy.fft")
    return f"{mod}.{func.__name__}"


_INPLACE_MESSAGE = (
    "In-place change of a traced array inside gradient: {what}\n"
    "gradient records every operation to replay it backwards; changing an array in place would "
    "erase values the backward pass needs, so the gradient would be silently wrong. "
    "Build a new array instead, for example `x = x + 1` instead of `x += 1`, "
    "or `np.where(mask, new, x)` / `np.concatenate(...)` instead of assigning to `x[i]`.")


def _refuse_number(x, kind):
    if live(x):
        raise TracingError(
            f"{kind}(x) was called on a traced array inside gradient: a Python number carries no "
            f"gradient, so the result would silently not depend on x.\n"
            f"This happens with the math module (math.sin(x), math.exp(x)): use NumPy's functions "
            f"instead (np.sin(x), np.exp(x)), which fluxlite traces. It also happens when traced "
            f"numbers are copied into an array (buf[i] = x, or np.array([x, y])): build arrays "
            f"with np.stack / np.concatenate, and pass arrays, not lists of numbers, to gradient. "
            f"To look at the value only, for printing, use x.item().")


def _refuse_out(ufunc, inputs, out):
    for a in tuple(inputs) + tuple(out):
        if live(a):
            raise InPlaceError(_INPLACE_MESSAGE.format(
                what=f"numpy.{ufunc.__name__}(..., out=...) (as in `x += y` or `x *= y`)"))


def untrace(x):
    """The plain NumPy value under any number of tracing layers.

    >>> import numpy as np
    >>> untrace(np.ones(2))
    array([1., 1.])
    """
    while type(x) is Tracked:
        x = x._val if tape_of(x) is not None else np.ndarray.view(x, np.ndarray)
    return x


def tape_of(x):
    """The tape a traced array belongs to (None for anything else)."""
    return getattr(x, "_tape", None) if type(x) is Tracked else None


def live(x):
    """True when `x` is traced by a tape that is still recording."""
    t = tape_of(x)
    return t is not None and t.active


def _peel(x):
    """Strip the layers of `x` that belong to tapes no longer recording."""
    while tape_of(x) is not None and not x._tape.active:
        x = x._val
    return x


def _untrace_tree(x):
    if type(x) is Tracked:
        return untrace(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_untrace_tree(v) for v in x)
    if isinstance(x, dict):
        return {k: _untrace_tree(v) for k, v in x.items()}
    return x


_LOST = ("An array derived from a traced array has lost its link to the tape: it was made by an "
         "ndarray method that fluxlite does not trace (such as x.view()). Use the NumPy function "
         "form instead (np.reshape, np.transpose, indexing), so the gradient can flow through it.")


class Primitive:
    """One differentiable operation: a NumPy forward function and one pullback per input.

    A pullback (vector-Jacobian product) has the shape ``(g, ans, *args, **kwargs) -> grad``:
    given the gradient `g` of the output `ans`, it returns the gradient for
    its own argument, shaped like that argument. Pullbacks are written with
    NumPy operations, so a pullback can itself be differentiated.

    >>> import numpy as np, fluxlite as fl
    >>> cube = primitive(lambda x: x ** 3, name="cube")
    >>> _ = cube.defvjp(lambda g, ans, x: g * 3 * x ** 2)
    >>> fl.gradient(lambda x: cube(x), 2.0)
    (12.0,)
    """

    __slots__ = ("fwd", "vjps", "joint", "name", "checked", "binary")

    def __init__(self, fwd, name=None, checked=True):
        self.fwd = fwd
        self.vjps = ()
        self.joint = None  # one pullback for all arguments, set by `defpullback`
        self.name = name or getattr(fwd, "__name__", "primitive")
        self.checked = checked  # check each pullback's shape (fluxlite's own, tested ones skip it)
        self.binary = _binary_op(self)  # `apply` for two positional inputs (operators, most ufuncs)

    def defvjp(self, *vjps):
        """Set the pullbacks, one per positional argument (None: no gradient)."""
        self.vjps = vjps + (None,) * 8  # later arguments (if any) carry no gradient
        self.joint = None
        return self

    def defpullback(self, pullback):
        """Set one pullback for all the arguments, for when their gradients share work.

        ``pullback(g, ans, wanted, *args, **kwargs)`` gets the positions of the arguments
        that need a gradient as the tuple `wanted` (in increasing order) and returns their
        gradients, in that order. A fused layer uses it to compute ``g · σ'(z)`` once for
        the gradients of its weight, bias and input.

        >>> import numpy as np, fluxlite as fl
        >>> def scale_pullback(g, ans, wanted, a, x):
        ...     grads = {0: np.sum(g * x), 1: g * a}
        ...     return [grads[k] for k in wanted]
        >>> scale = primitive(lambda a, x: a * x, name="scale").defpullback(scale_pullback)
        >>> fl.gradient(lambda a, x: np.sum(scale(a, x)), 2.0, np.array([1.0, 3.0]))
        (4.0, array([2., 2.]))
        """
        self.vjps = (None,) * 8  # recorded on the tape like any primitive with gradients
        self.joint = pullback
        return self

    def __call__(self, *args, **kwargs):
        return apply(self, *args, **kwargs)

    def __repr__(self):
        return f"<primitive {self.name}>"


def primitive(fwd, name=None):
    """Make a `Primitive` from a NumPy function; add its pullbacks with ``.defvjp``.

    >>> import numpy as np, fluxlite as fl
    >>> square = primitive(np.square, name="square")
    >>> _ = square.defvjp(lambda g, ans, x: 2 * g * x)
    >>> fl.gradient(lambda x: np.sum(square(x)), np.array([1.0, 3.0]))
    (array([2., 6.]),)
    """
    caller = sys._getframe(1).f_globals.get("__name__", "")
    return Primitive(fwd, name, checked=not caller.startswith("fluxlite."))


def _checked_gradient(prim, k, gk, arg):
    """A user primitive's pullback result, refused with a clear message when its shape is wrong."""
    want = getattr(arg, "shape", ())
    got = getattr(gk, "shape", ())
    if got != want:
        raise ValueError(
            f"The pullback of primitive {prim.name!r} for argument {k} returned a gradient of shape "
            f"{got}, but that argument has shape {want}.\nA pullback must return a gradient shaped "
            f"like its argument; if the forward pass broadcast the argument, sum the gradient "
            f"back with fluxlite.autodiff.unbroadcast(g, arg).")
    return gk


def apply(prim, *args, **kwargs):
    """Run primitive `prim` on `args`, recording it on the innermost active tape.

    This is the single door through which every traced operation passes.

    >>> import numpy as np
    >>> from fluxlite.primitives import UFUNCS
    >>> apply(UFUNCS[np.add], np.ones(2), 1.0)
    array([2., 2.])
    """
    top = None
    vals = list(args)
    parents = []
    k = 0
    for a in args:  # one pass for the common case: every traced input on one recording tape
        if type(a) is Tracked:
            try:
                t = a._tape
            except AttributeError:
                raise TracingError(_LOST) from None
            if t is not top:
                if top is not None or not t.active:
                    return _apply_nested(prim, args, kwargs)
                top = t
            vals[k] = a._val
            parents.append((k, a._i))
        k += 1
    if top is None:
        return prim.fwd(*args, **kwargs)
    ans = prim.fwd(*vals, **kwargs)
    if not prim.vjps:
        return ans
    entries = top.entries
    entries.append((prim, ans, vals, kwargs, parents))
    return wrap(ans, top, len(entries) - 1)


_NO_KWARGS = {}


def unary(prim, a):
    """`apply` specialised for one input and no keywords (np.exp(x), -x, np.sum(x))."""
    if type(a) is not Tracked:
        return apply(prim, a)
    try:
        t = a._tape
    except AttributeError:
        return apply(prim, a)
    if not t.active:
        return apply(prim, a)
    val = a._val
    ans = prim.fwd(val)
    entries = t.entries
    i = len(entries)
    entries.append((prim, ans, (val,), _NO_KWARGS, ((0, a._i),)))
    if type(ans) is np.ndarray:  # wrap(ans, t, i), inlined for float64 and float32
        d = ans.dtype
        if d is _F64 or d is _F32:
            out = ans.view(Tracked)
            out._tape, out._i, out._val = t, i, ans
            return out
    return wrap(ans, t, i)


def _binary_op(prim, swap=False):
    """`apply` specialised for two positional inputs and no keywords: ``op(a, b)``.

    With ``swap`` it is a reflected operator method, ``op(self, other)`` computing
    ``other op self`` (``2 * x`` calls ``x.__rmul__(2)``).
    """
    def op(a, b):
        if swap:
            a, b = b, a
        try:
            if type(a) is Tracked:
                t = a._tape
                if type(b) is Tracked:
                    if b._tape is not t or not t.active:
                        return apply(prim, a, b)
                    va, vb = a._val, b._val
                    parents = ((0, a._i), (1, b._i))
                else:
                    if not t.active:
                        return apply(prim, a, b)
                    va, vb = a._val, b
                    parents = ((0, a._i),)
            else:
                t = b._tape
                if not t.active:
                    return apply(prim, a, b)
                va, vb = a, b._val
                parents = ((1, b._i),)
        except AttributeError:  # not traced at all, or a view that lost its tape: apply sorts it out
            return apply(prim, a, b)
        ans = prim.fwd(va, vb)
        entries = t.entries
        i = len(entries)
        entries.append((prim, ans, (va, vb), _NO_KWARGS, parents))
        if type(ans) is np.ndarray:  # wrap(ans, t, i), inlined: arithmetic on a traced
            out = ans.view(Tracked)  # (floating) array gives floating arrays
            out._tape, out._i, out._val = t, i, ans
            return out
        return wrap(ans, t, i)
    return op


# Python's operators on traced arrays, and the NumPy function each one is.
_OPERATORS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.divide,
              "pow": np.power, "matmul": np.matmul}


def _install_operators():
    """Give `Tracked` its arithmetic operators, once `fluxlite.primitives` has registered them."""
    for name, ufunc in _OPERATORS.items():
        prim = UFUNCS[ufunc]
        setattr(Tracked, f"__{name}__", prim.binary)
        setattr(Tracked, f"__r{name}__", _binary_op(prim, swap=True))
    negative = UFUNCS[np.negative]
    Tracked.__neg__ = lambda self: unary(negative, self)


def _apply_nested(prim, args, kwargs):
    """`apply` when inputs come from several tapes (nested gradients) or finished ones."""
    top = None
    for a in args:
        if type(a) is Tracked:
            t = a._tape
            if not t.active:  # a value kept from a finished (or replaying) tape
                return apply(prim, *[_peel(a) for a in args], **kwargs)
            if top is None or t.level > top.level:
                top = t
    vals = []
    parents = []
    for k, a in enumerate(args):
        if type(a) is Tracked and a._tape is top:
            vals.append(a._val)
            parents.append((k, a._i))
        else:
            vals.append(a)
    ans = prim.fwd(*vals, **kwargs)
    entries = top.entries
    entries.append((prim, ans, vals, kwargs, parents))
    return wrap(ans, top, len(entries) - 1)


_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)  # the usual dtypes, compared by identity


def wrap(ans, tape, i):
    """`ans` as a `Tracked` array at entry `i` of `tape`."""
    if type(ans) is np.ndarray and ans.dtype.kind == "f":  # the common case first
        out = ans.view(Tracked)
    elif type(ans) is Tracked:
        out = np.ndarray.view(ans, Tracked)
    elif isinstance(ans, np.ndarray):
        if ans.dtype.kind not in "fc":
            return ans
        out = ans.view(Tracked)
    else:
        ans = np.asarray(ans)
        if ans.dtype.kind not in "fc":
            return ans
        out = ans.view(Tracked)
    out._tape = tape
    out._i = i
    out._val = ans
    return out


_POSITION = operator.itemgetter(0)  # the argument position of a ``(position, entry)`` parent


def backward(tape, out_i, seed, inputs=0):
    """Propagate `seed`, the gradient of entry `out_i`, back through `tape`.

    Returns the list of gradients, one per entry (None where no gradient arrived). The
    first `inputs` entries are known to be inputs of the function, so the walk stops there.
    """
    entries = tape.entries
    grads = [None] * len(entries)
    grads[out_i] = seed
    for i in range(out_i, inputs - 1, -1):
        e = entries[i]
        if e is None:  # an input of the function: its gradient stays in grads
            continue
        g = grads[i]
        if g is None:  # the result does not depend on this entry
            continue
        grads[i] = None  # not needed any more: let it go
        prim, ans, vals, kwargs, parents = e
        if prim.joint is not None:
            gs = prim.joint(g, ans, tuple(map(_POSITION, parents)), *vals, **kwargs)
            for (k, j), gk in zip(parents, gs):
                if gk is None:
                    continue
                if prim.checked:
                    gk = _checked_gradient(prim, k, gk, vals[k])
                old = grads[j]
                grads[j] = gk if old is None else old + gk
            continue
        vjps = prim.vjps
        for k, j in parents:
            vjp = vjps[k]
            if vjp is None:
                continue
            gk = vjp(g, ans, *vals, **kwargs) if kwargs else vjp(g, ans, *vals)
            if prim.checked:
                gk = _checked_gradient(prim, k, gk, vals[k])
            old = grads[j]
            grads[j] = gk if old is None else old + gk
    return grads


# The registry, filled by fluxlite.primitives: NumPy callable -> how to trace it.
UFUNCS = {}                 # ufunc -> Primitive
REDUCERS = {}               # ufunc -> function handling ufunc.reduce (np.add.reduce -> sum)
FUNCTIONS = {}              # NumPy function -> function taking NumPy's own arguments
CONSTANT_UFUNCS = set()     # ufuncs whose result carries no gradient (comparisons, floor, ...)
CONSTANT_FUNCTIONS = set()  # functions whose result carries no gradient (argmax, shape, ...)
DECOMPOSED_FUNCTIONS = set()  # functions NumPy implements with operations we trace (np.var, ...)
HINTS = {}                  # "numpy.name" -> advice shown when a function has no rule
ASTYPE = Primitive(lambda x, dtype: x.astype(dtype), "astype").defvjp(lambda g, ans, x, dtype: g)

