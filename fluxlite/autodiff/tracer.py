"""Tracing plain NumPy code: the tape, traced arrays, primitives and the backward pass.

This is the reference path of fluxlite's autodiff, the code lesson 6 opens. How it works:

1. `gradient` (in ``gradient.py``) opens a `Tape` and hands the function *traced*
   arrays: NumPy arrays of class `Tracked` that know their tape and their entry on it.
2. NumPy sees that class and hands fluxlite every call made on it, through the two hooks
   NumPy offers to ``ndarray`` subclasses: ``Tracked.__array_ufunc__`` receives the
   elementwise functions (``+``, ``*``, ``@``, ``np.exp``: Python's operators on arrays are
   ufuncs too) and ``Tracked.__array_function__`` everything else (``np.sum``,
   ``np.reshape``). Each hook looks the NumPy function up in the registry at the end of
   this file and calls its `Primitive`.
3. Calling a primitive runs `apply`: it computes the result with ordinary NumPy on the
   untraced numbers, appends one entry to the tape (the primitive, its result, its
   inputs, and which earlier entries those inputs came from) and returns the result as a
   new traced array.
4. When the function returns, `backward` walks the tape from the end to the start. Each
   entry's *pullback* (Flux's word; a vector-Jacobian product) turns the gradient of its
   result into gradients for its inputs, and a value used several times adds up what it
   receives from each use.

Tapes nest. A traced array of an inner tape holds, as its untraced value, an array traced
by the outer tape; the inner backward pass is written in NumPy, so the outer tape records
it too. That is all gradients of gradients need.

Tapes belong to a thread. Only the thread that opened a tape records on it: in any other
thread (a dashboard training in the background, say) a traced array is an ordinary array.

`fluxlite.autodiff.fast` adds shortcuts for the calls a training loop makes thousands of
times (Python's operators straight to their primitive, a quicker `apply`); with
``FLUXLITE_REFERENCE=1`` set before import it is not installed and everything runs here.
"""
import itertools
import threading

import numpy as np

from .arrays import Param
from .errors import (_COMPLEX, _FLOAT_INDEX, _INPLACE_MESSAGE, _LOST, _OTHER_THREAD, InPlaceError,
                     NoGradientRule, NoGradientWarning, TracingError, _number_message)
from .switch import REFERENCE

__all__ = ["Tracked", "Tape", "Primitive", "primitive", "apply", "backward", "untrace", "peel",
           "TracingError", "NoGradientRule", "InPlaceError", "NoGradientWarning"]

_get_ident = threading.get_ident


# --------------------------------------------------------------------------- the tape

_LEVELS = itertools.count(1)


class Tape:
    """The record of one `gradient` call: a list of entries, freed when the call ends.

    Each entry is a tuple ``(primitive, result, inputs, kwargs, parents)``: ``inputs`` are
    the values the primitive computed with (untraced for this tape), and ``parents`` lists
    ``(argument position, entry index)`` for the inputs that came from this tape. The
    function's inputs are entries too, written as None. ``thread`` is the thread recording
    on the tape, and None once recording has stopped; ``owner`` is the thread whose gradient
    call it belongs to, until that call ends (its backward pass still needs the arrays
    after recording stops). ``level`` orders nested tapes (the inner one is higher).

    >>> t = Tape()
    >>> t.leaf(), t.leaf(), t.records_here()
    (0, 1, True)
    >>> t.stop(); t.records_here(), t.owner is not None
    (False, True)
    >>> t.close(); t.owner is None, t.entries
    (True, [])
    """

    __slots__ = ("entries", "level", "thread", "owner", "nested")

    def __init__(self):
        self.entries = []
        self.level = next(_LEVELS)
        self.thread = self.owner = _get_ident()
        self.nested = False  # a gradient call started inside this one (a gradient of a gradient)

    def leaf(self):
        """Add an input of the function; return its entry index."""
        self.entries.append(None)
        return len(self.entries) - 1

    def record(self, prim, ans, inputs, kwargs, parents):
        """Add one computation; return its entry index."""
        self.entries.append((prim, ans, inputs, kwargs, parents))
        return len(self.entries) - 1

    def records_here(self):
        """True while this tape is recording, in the thread asking."""
        return self.thread == _get_ident()

    def stop(self):
        """Stop recording: later operations on its arrays are ordinary NumPy."""
        self.thread = None

    def close(self):
        """End the gradient call: stop recording and free the entries."""
        self.thread = self.owner = None
        self.entries.clear()


def tape_of(x):
    """The tape tracing `x` (None for anything that is not traced).

    >>> import numpy as np
    >>> tape_of(np.ones(2)) is None
    True
    """
    if type(x) is not Tracked:
        return None
    try:
        return x._tape
    except AttributeError:  # a view made by NumPy (x.view(), np.int64(x)): no tracing slots
        if x.dtype.kind not in "fc":  # integers and booleans carry no gradient: nothing is lost
            return None
        raise TracingError(_LOST) from None


def live(x):
    """True when `x` is traced by a tape that is recording in this thread."""
    t = tape_of(x)
    return t is not None and t.records_here()


def _below(x):
    """The value traced array `x` stands for, one tracing layer down."""
    try:
        v = x._val
    except AttributeError:  # an integer view made by NumPy (np.int64(x)): never traced
        v = None
    # None only for a parameter that another thread is just switching back to a plain array;
    # a traced array shares its memory with the value below it, so a plain view is the same.
    return np.ndarray.view(x, np.ndarray) if v is None else v


def peel(x):
    """`x` without the tracing layers of tapes that are not recording in this thread.

    >>> import numpy as np
    >>> peel(np.ones(2))
    array([1., 1.])
    """
    while type(x) is Tracked and not live(x):
        x = _below(x)
    return x


def untrace(x):
    """The plain NumPy value under any number of tracing layers.

    A traced array shares its memory with its plain value, so this is a plain view of it.

    >>> import numpy as np
    >>> untrace(np.ones(2))
    array([1., 1.])
    """
    return np.ndarray.view(x, np.ndarray) if type(x) is Tracked else x


def _untrace_tree(x):
    if type(x) is Tracked:
        return untrace(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_untrace_tree(v) for v in x)
    if isinstance(x, dict):
        return {k: _untrace_tree(v) for k, v in x.items()}
    return x


def _any_live(x):
    """True when `x`, or an array inside a list, tuple or dict in `x`, is live in this thread."""
    if type(x) is Tracked:
        return live(x)
    if isinstance(x, (list, tuple)):
        return any(_any_live(v) for v in x)
    if isinstance(x, dict):
        return any(_any_live(v) for v in x.values())
    return False


def _holds_traced(seq):
    """True when list or tuple `seq` holds a traced array, at any depth."""
    for v in seq:
        t = type(v)
        if t is Tracked or ((t is list or t is tuple) and _holds_traced(v)):
            return True
    return False


def _stacked(seq):
    """A list or tuple holding traced arrays as one traced array, the one ``np.array(seq)``
    would make. NumPy itself copies the numbers out of the list without asking the arrays,
    so the record of where they came from would be lost; ``np.stack`` is traced."""
    return np.stack([_stacked(v) if type(v) is list or type(v) is tuple else v for v in seq])


def _may_hold_traced(values):
    """A quick test, false for most calls (np.reshape(x, (2, 3))): whether one of `values` is
    a list or tuple with a traced array or another list in it."""
    for a in values:
        t = type(a)
        if t is tuple or t is list:
            for v in a:
                t = type(v)
                if t is Tracked or t is list or t is tuple:
                    return True
    return False


def _lists_as_arrays(func, args, kwargs):
    """`args` and `kwargs` of NumPy function `func` with each list or tuple that holds traced
    arrays made into one traced array, where NumPy would have made it into an array. A
    parameter that is a sequence of arrays (np.concatenate's first) keeps its sequence, and
    each list inside it is made into an array instead (see `SEQUENCE_ARGUMENTS`)."""
    seq = SEQUENCE_ARGUMENTS.get(func, ())
    if seq is None:  # the rule takes its lists as they are (np.block's nested lists)
        return args, kwargs
    new = None
    for k, a in enumerate(args):
        b = _as_array(a, seq, k)
        if b is not a:
            new = list(args) if new is None else new
            new[k] = b
    args = args if new is None else new
    new = None
    for name, a in kwargs.items():
        b = _as_array(a, seq, name)
        if b is not a:
            new = dict(kwargs) if new is None else new
            new[name] = b
    return args, kwargs if new is None else new


def _as_array(a, seq, where):
    """Argument `a` (at position or name `where`) with its traced lists made arrays."""
    t = type(a)
    if t is not list and t is not tuple:
        return a
    for p, name in seq:
        if where == p or where == name:  # a sequence of arrays: look at each one
            for v in a:
                if (type(v) is list or type(v) is tuple) and _holds_traced(v):
                    return t(_stacked(v) if type(v) in (list, tuple) and _holds_traced(v)
                             else v for v in a)
            return a
    return _stacked(a) if _holds_traced(a) else a


# --------------------------------------------------------------------------- traced arrays

class Tracked(Param):
    """A NumPy array being traced inside `gradient`.

    Students never construct one: `gradient` hands them to the function being
    differentiated, and they behave like any other ``np.ndarray``. Its
    attributes are ``_tape`` (the `Tape`), ``_i`` (its entry on the tape) and
    ``_val`` (the same numbers, one tracing layer down).

    >>> import numpy as np, fluxlite as fl
    >>> fl.gradient(lambda x: (print(isinstance(x, np.ndarray)), np.sum(x))[1], np.ones(2))
    True
    (array([1., 1.]),)
    """

    # A subclass of Param, so NumPy asks Tracked first when both meet in one call (a sibling
    # class would let ndarray's default __array_function__ run the call untraced), and so a
    # parameter can be switched to it in place (the two share one memory layout).
    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy's hook for elementwise functions, ``+`` and ``@`` included."""
        if "out" in kwargs:
            return _into_out(ufunc, method, inputs, kwargs)
        for a in inputs:
            if (type(a) is list or type(a) is tuple) and _holds_traced(a):  # x + [y, z]
                inputs = [_stacked(v) if type(v) is list or type(v) is tuple else v
                          for v in inputs]
                break
        if ufunc in CONSTANT_UFUNCS:  # comparisons, rounding: no gradient to carry
            if method != "at":  # (ufunc.at changes its first argument in place)
                return getattr(ufunc, method)(*map(untrace, inputs), **kwargs)
        elif method == "__call__":
            prim = UFUNCS.get(ufunc)
            if prim is not None:
                return prim(*inputs, **kwargs)
            several = MULTI_UFUNCS.get(ufunc)  # np.modf, np.frexp: a tuple of results
            if several is not None:
                return several(*inputs, **kwargs)
        elif method == "reduce" and ufunc in REDUCERS:
            return REDUCERS[ufunc](*inputs, **kwargs)
        elif method == "accumulate" and ufunc in ACCUMULATORS:
            return ACCUMULATORS[ufunc](*inputs, **kwargs)
        if method == "at" and live(inputs[0]):
            _refuse_in_place(inputs[0], f"numpy.{ufunc.__name__}.at(x, ...)")
        if not _any_live(inputs):  # nothing recorded here: this is ordinary NumPy
            return getattr(ufunc, method)(*map(untrace, inputs), **kwargs)
        raise NoGradientRule(_no_rule_message(f"numpy.{ufunc.__name__}" + (
            "" if method == "__call__" else f".{method}")))

    def __array_function__(self, func, types, args, kwargs):
        """NumPy's hook for every other NumPy function (np.sum, np.reshape, ...)."""
        impl = FUNCTIONS.get(func)
        if impl is not None or func in DECOMPOSED_FUNCTIONS:
            # np.append(x, [y, z]): NumPy would copy the numbers out of [y, z] and lose the tape
            if _may_hold_traced(args) or kwargs and _may_hold_traced(kwargs.values()):
                args, kwargs = _lists_as_arrays(func, args, kwargs)
            if impl is not None:
                return impl(*args, **kwargs)
            return func._implementation(*args, **kwargs)  # NumPy writes it with traced functions
        if func in CONSTANT_FUNCTIONS:
            if type(kwargs.get("out")) is Tracked:  # np.round(x, out=x)
                _refuse_in_place(kwargs["out"], f"{_qualname(func)}(..., out=...)")
            return func(*_untrace_tree(args), **_untrace_tree(kwargs))
        if not _any_live(args) and not _any_live(kwargs):
            return func(*_untrace_tree(args), **_untrace_tree(kwargs))
        raise NoGradientRule(_no_rule_message(_qualname(func)))

    # ``x ** y`` as np.power: ndarray's own ``**`` quietly turns ``x ** 2`` into np.square
    # and ``x ** 0.5`` into np.sqrt, which would hide the rule a reader looks for.
    def __pow__(self, other):
        return np.power(self, other)

    def __rpow__(self, other):
        return np.power(other, self)

    # ndarray methods that would otherwise work on the untraced numbers.
    def __getitem__(self, idx):
        if type(idx) is Tracked or type(idx) is tuple and any(type(i) is Tracked for i in idx):
            idx = _plain_index(idx)
        return FUNCTIONS["getitem"](self, idx=idx)

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
            return ASTYPE(self, dtype=np.dtype(dtype))
        return untrace(self).astype(dtype, *args, **kwargs)

    def dot(self, other, out=None):
        return np.dot(self, other, out=out)

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

    def cumsum(self, axis=None, dtype=None, out=None):
        return np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def cumprod(self, axis=None, dtype=None, out=None):
        return np.cumprod(self, axis=axis, dtype=dtype, out=out)

    def repeat(self, repeats, axis=None):
        return np.repeat(self, repeats, axis=axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset=offset, axis1=axis1, axis2=axis2)

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        return np.trace(self, offset=offset, axis1=axis1, axis2=axis2, dtype=dtype, out=out)

    def conj(self):
        return np.conjugate(self)

    conjugate = conj

    # Indices, tests and rounding carry no gradient: plain arrays, as the NumPy functions give.
    def argmax(self, axis=None, out=None, **kw):
        return np.argmax(untrace(self), axis=axis, out=out, **kw)

    def argmin(self, axis=None, out=None, **kw):
        return np.argmin(untrace(self), axis=axis, out=out, **kw)

    def argsort(self, axis=-1, kind=None, order=None, **kw):
        return np.argsort(untrace(self), axis=axis, kind=kind, order=order, **kw)

    def argpartition(self, kth, axis=-1, kind="introselect", order=None):
        return np.argpartition(untrace(self), kth, axis=axis, kind=kind, order=order)

    def any(self, axis=None, out=None, keepdims=False, **kw):
        return np.any(untrace(self), axis=axis, out=out, keepdims=keepdims, **kw)

    def all(self, axis=None, out=None, keepdims=False, **kw):
        return np.all(untrace(self), axis=axis, out=out, keepdims=keepdims, **kw)

    def round(self, decimals=0, out=None):
        return np.round(untrace(self), decimals, out=out)

    @property
    def real(self):
        return np.real(self)

    @property
    def imag(self):
        return np.imag(self)

    # Changing a traced array in place would corrupt the record: refuse, and say why.
    def __setitem__(self, idx, value):
        _refuse_in_place(self, "x[...] = ...")
        np.ndarray.__setitem__(untrace(self), idx, untrace(value))

    def fill(self, value):
        _refuse_in_place(self, "x.fill(...)")
        untrace(self).fill(value)

    def sort(self, *args, **kwargs):
        _refuse_in_place(self, "x.sort() (sorts in place)")
        untrace(self).sort(*args, **kwargs)

    def partition(self, *args, **kwargs):
        _refuse_in_place(self, "x.partition(...) (reorders in place)")
        untrace(self).partition(*args, **kwargs)

    def put(self, *args, **kwargs):
        _refuse_in_place(self, "x.put(...)")
        untrace(self).put(*args, **kwargs)

    # Turning a traced array into Python numbers cuts it off the tape: math.sin(x) calls
    # float(x), and the gradient would silently come back None. Refuse, and say why.
    def __float__(self):
        _refuse_number(self, "float(x)")
        return float(untrace(self))

    def __int__(self):
        _refuse_number(self, "int(x)")
        return int(untrace(self))

    def __complex__(self):
        _refuse_number(self, "complex(x)")
        return complex(untrace(self))

    def item(self, *args):
        _refuse_number(self, "x.item()")
        return untrace(self).item(*args)

    def tolist(self):
        _refuse_number(self, "x.tolist()")
        return untrace(self).tolist()

    def __repr__(self):
        return "Tracked(" + repr(untrace(self))[6:]


def _refuse_number(x, call):
    if live(x):
        raise TracingError(_number_message(call))


def _plain_index(idx):
    """An index with its traced parts made plain: integer and boolean arrays carry no gradient.
    A floating-point array is no index: say how to make one."""
    items = idx if type(idx) is tuple else (idx,)
    for i in items:
        if type(i) is Tracked and i.dtype.kind == "f":
            raise IndexError(_FLOAT_INDEX)
    plain = tuple(untrace(i) for i in items)
    return plain if type(idx) is tuple else plain[0]


def _refuse_in_place(x, what):
    if live(x):
        raise InPlaceError(_INPLACE_MESSAGE.format(what=what))
    t = tape_of(x)
    if t is not None and t.owner is not None:  # in use by a gradient call of another thread
        raise InPlaceError(_OTHER_THREAD.format(what=what))


def _into_out(ufunc, method, inputs, kwargs):
    """A ufunc asked to write into ``out=`` (as ``x += y`` does): refused for traced arrays."""
    out = kwargs["out"]
    out = out if isinstance(out, tuple) else (out,)
    for a in tuple(inputs) + out:
        if type(a) is Tracked:
            _refuse_in_place(a, f"numpy.{ufunc.__name__}(..., out=...) (as in `x += y` or "
                                f"`x *= y`)")
    # Nothing here is being recorded: ordinary NumPy, writing into the plain arrays.
    kwargs = dict(kwargs, out=tuple(None if o is None else untrace(o) for o in out))
    getattr(ufunc, method)(*map(untrace, inputs), **kwargs)
    return out[0] if len(out) == 1 else out


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


# --------------------------------------------------------------------------- primitives

class Primitive:
    """One differentiable operation: a NumPy forward function and its pullback.

    The pullback turns the gradient `g` of the result `ans` into gradients for the
    arguments: ``pullback(g, ans, wanted, *args, **kwargs)`` returns one gradient for each
    argument position in `wanted` (None where there is none), each shaped like its
    argument. Most primitives give one small pullback per argument with `defvjp`; a fused
    one (a whole Dense layer) gives a single pullback for all arguments with `defpullback`,
    so that work they share is done once. Pullbacks are written with NumPy operations, so a
    pullback can itself be differentiated.

    >>> import numpy as np, fluxlite as fl
    >>> cube = primitive(lambda x: x ** 3, name="cube")
    >>> _ = cube.defvjp(lambda g, ans, x: g * 3 * x ** 2)
    >>> fl.gradient(lambda x: cube(x), 2.0)
    (12.0,)
    >>> cube.pullback(1.0, 8.0, (0,), 2.0)   # what backward calls: the gradient for argument 0
    [12.0]
    """

    __slots__ = ("fwd", "name", "vjps", "joint", "checked")

    def __init__(self, fwd, name=None):
        self.fwd = fwd
        self.name = name or getattr(fwd, "__name__", "primitive")
        self.vjps = ()        # one pullback per argument, from `defvjp`
        self.joint = None     # or one pullback for all of them, from `defpullback`
        self.checked = True   # check the shape of every gradient the pullback returns

    def defvjp(self, *vjps):
        """Set one pullback per positional argument, ``(g, ans, *args, **kwargs) -> grad``
        (None for an argument without a gradient)."""
        self.vjps, self.joint = vjps, None
        self.checked = _needs_check(vjps)
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
        self.vjps, self.joint = (), pullback
        self.checked = _needs_check((pullback,))
        return self

    def pullback(self, g, ans, wanted, *args, **kwargs):
        """The gradients for the argument positions in `wanted`, given the gradient `g` of
        the result `ans`: what `backward` calls for each entry of the tape."""
        if self.joint is not None:
            return self.joint(g, ans, wanted, *args, **kwargs)
        vjps = self.vjps
        return [vjps[k](g, ans, *args, **kwargs) if k < len(vjps) and vjps[k] is not None
                else None for k in wanted]

    @property
    def differentiable(self):
        """False for a primitive without pullbacks: its result is a constant, not recorded."""
        return bool(self.vjps) or self.joint is not None

    def __call__(self, *args, **kwargs):
        return apply(self, *args, **kwargs)

    def __repr__(self):
        return f"<primitive {self.name}>"


def _needs_check(fns):
    """Whether to check the shapes a pullback returns. Always in reference mode; otherwise
    only for pullbacks written outside fluxlite, since fluxlite's own are covered by its
    finite-difference tests and the check costs time on every backward pass."""
    if REFERENCE:
        return True
    return not all((getattr(f, "__module__", None) or "").startswith("fluxlite.")
                   for f in fns if f is not None)


def primitive(fwd, name=None):
    """Make a `Primitive` from a NumPy function; add its pullbacks with ``.defvjp``.

    >>> import numpy as np, fluxlite as fl
    >>> square = primitive(np.square, name="square")
    >>> _ = square.defvjp(lambda g, ans, x: 2 * g * x)
    >>> fl.gradient(lambda x: np.sum(square(x)), np.array([1.0, 3.0]))
    (array([2., 6.]),)
    """
    return Primitive(fwd, name)


def apply(prim, *args, **kwargs):
    """Run primitive `prim` on `args`, recording it on the innermost tape recording here.

    On the reference path this is the single door through which every traced operation
    passes (calling a primitive calls it). The fast paths (`fluxlite.autodiff.fast`) record
    the same entries through doors of their own.

    >>> import numpy as np
    >>> from fluxlite.primitives import UFUNCS
    >>> apply(UFUNCS[np.add], np.ones(2), 1.0)
    array([2., 2.])
    """
    args = [peel(a) for a in args]  # layers of finished tapes, or other threads', are dropped
    tape = None
    for a in args:  # the innermost tape among the arguments records this operation
        if live(a) and (tape is None or a._tape.level > tape.level):
            tape = a._tape
    if tape is None or not prim.differentiable:
        return prim.fwd(*[untrace(a) for a in args], **kwargs)  # plain NumPy
    inputs, parents = [], []
    for k, a in enumerate(args):
        if type(a) is Tracked and a._tape is tape:
            inputs.append(a._val)         # the numbers, untraced for this tape
            parents.append((k, a._i))     # and where on the tape they came from
        else:
            inputs.append(a)              # a constant here (or traced by an outer tape)
    ans = prim.fwd(*inputs, **kwargs)
    if not _traceable(ans, prim):
        return ans  # integers and booleans carry no gradient
    return wrap(ans, tape, tape.record(prim, ans, inputs, kwargs, parents))


def _traceable(ans, prim):
    """Only real floating-point results are traced; a complex one is refused."""
    kind = np.asarray(ans).dtype.kind
    if kind == "c":
        raise TracingError(_COMPLEX.format(what=f"the result of {prim.name}",
                                           dtype=np.asarray(ans).dtype))
    return kind == "f"


def wrap(ans, tape, i):
    """`ans` as a `Tracked` array at entry `i` of `tape`."""
    if not isinstance(ans, np.ndarray):
        ans = np.asarray(ans)  # NumPy returns numbers for 0-d results
    out = np.ndarray.view(ans, Tracked)  # the same memory: no copy
    out._tape, out._i, out._val = tape, i, ans
    return out


# --------------------------------------------------------------------------- the backward pass

def backward(tape, out, seed):
    """Propagate `seed`, the gradient of entry `out`, back through `tape`.

    Returns one gradient per tape entry: for the function's inputs, their gradients (None
    where no gradient arrived). Walking the tape backwards visits every entry after all the
    entries that used it, so each one has received all its gradient before passing it on.

    >>> import numpy as np, fluxlite as fl
    >>> tape = Tape()
    >>> x = wrap(np.array(3.0), tape, tape.leaf())
    >>> y = x * x                       # recorded as entry 1
    >>> tape.stop()
    >>> float(backward(tape, y._i, np.array(1.0))[0])
    6.0
    """
    entries = tape.entries
    grads = [None] * len(entries)
    grads[out] = seed
    for i in range(out, -1, -1):
        entry, g = entries[i], grads[i]
        if entry is None or g is None:
            continue  # an input of the function (its gradient stays), or nothing flowed here
        grads[i] = None  # passed on below: let it go
        prim, ans, inputs, kwargs, parents = entry
        wanted = tuple(k for k, _ in parents)
        for (k, j), gk in zip(parents, prim.pullback(g, ans, wanted, *inputs, **kwargs)):
            if gk is None:
                continue
            if prim.checked:
                gk = _checked_gradient(prim, k, gk, inputs[k])
            grads[j] = gk if grads[j] is None else grads[j] + gk  # add up every use
    return grads


def _checked_gradient(prim, k, gk, arg):
    """A pullback's result, refused with a clear message when its shape is wrong."""
    want = getattr(arg, "shape", ())
    got = getattr(gk, "shape", ())
    if got != want:
        raise ValueError(
            f"The pullback of primitive {prim.name!r} for argument {k} returned a gradient of shape "
            f"{got}, but that argument has shape {want}.\nA pullback must return a gradient shaped "
            f"like its argument; if the forward pass broadcast the argument, sum the gradient "
            f"back with fluxlite.autodiff.unbroadcast(g, arg).")
    return gk


# --------------------------------------------------------------------------- the registry
# Filled by fluxlite.primitives: NumPy callable -> how to trace it.
UFUNCS = {}                 # ufunc -> Primitive
REDUCERS = {}               # ufunc -> function handling ufunc.reduce (np.add.reduce -> sum)
ACCUMULATORS = {}           # ufunc -> function handling ufunc.accumulate (np.add.accumulate -> cumsum)
FUNCTIONS = {}              # NumPy function -> function taking NumPy's own arguments
CONSTANT_UFUNCS = set()     # ufuncs whose result carries no gradient (comparisons, floor, ...)
CONSTANT_FUNCTIONS = set()  # functions whose result carries no gradient (argmax, shape, ...)
DECOMPOSED_FUNCTIONS = set()  # functions NumPy implements with operations we trace (np.hstack, ...)
MULTI_UFUNCS = {}           # ufunc with several results -> function returning them (np.modf)
# function -> (position, name) of each parameter that is a sequence of arrays (np.stack's
# `arrays`): a list given there stays a list, and lists inside it are made into arrays.
SEQUENCE_ARGUMENTS = {np.stack: ((0, "arrays"),), np.concatenate: ((0, "arrays"),)}
HINTS = {}                  # "numpy.name" -> advice shown when a function has no rule
ASTYPE = Primitive(lambda x, dtype: x.astype(dtype), "astype").defvjp(lambda g, ans, x, dtype: g)
