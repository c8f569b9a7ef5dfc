"""The errors and warnings of fluxlite's autodiff, with the messages students read.

Each message says what went wrong, why it matters for the gradient, and what to write instead.
When a traced array is turned into a Python number, `_number_message` reads the student's own
line to tell the cases apart: ``math.sin(x)``, ``np.mean([x, y])`` (NumPy turning a list of
traced numbers into an array) and ``buf[i] = x`` each get their own fix.
"""
import ast
import builtins
import dis
import linecache
import os
import sys

import numpy as np

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

# The NoGradientWarning of a result cut off from everything being differentiated. A traced
# array inside a list (np.array([x, y]) with x, y arrays) is copied by NumPy in C without a word
# to fluxlite, so this warning is all a student can be told about it.
_DISCONNECTED = (
    "gradient: the result does not depend on anything being differentiated, so every gradient "
    "is None (an optimiser step with them changes nothing). Likely causes:\n"
    "  * np.asarray(x) or np.array(x) on a traced array: they return a plain copy that "
    "gradient cannot follow. Keep using x itself (x.astype(np.float32) to change its dtype);\n"
    "  * traced arrays inside a list given to NumPy (np.array([x, y]), np.mean([x, y])): NumPy "
    "copies their numbers without a trace. Join them with np.stack([x, y]) (np.concatenate for "
    "pieces of different lengths);\n"
    "  * traced values copied into a plain array (out[:] = ..., out[i] = ...): build the array "
    "with np.stack, np.concatenate or np.where instead;\n"
    "  * in the implicit style, the function reads other arrays than the ones given to "
    "fl.params(...), for instance arrays made again after params() was called.\n"
    "If the function really does not depend on its inputs, the None gradients are right.")

_LOST = ("An array derived from a traced array has lost its link to the tape: it was made by an "
         "ndarray method or a conversion that fluxlite does not trace (such as x.view() or "
         "np.float32(x)). Use the NumPy function form instead (np.reshape, np.transpose, "
         "indexing, x.astype(np.float32)), so the gradient can flow through it.")

_FLOAT_INDEX = ("A traced array of floating-point numbers was used as an index, and NumPy indexes "
                "with integers or booleans only. Make the index an integer array first: "
                "x[idx.astype(int)] (or x[np.round(idx).astype(int)] to round it). Indices carry "
                "no gradient; the gradient still reaches the indexed array.")

_COMPLEX = ("fluxlite differentiates real-valued code only, but {what} is complex ({dtype}). "
            "Work with real arrays: keep the real and imaginary parts as two real arrays "
            "(z.real, z.imag) and write the arithmetic on them.")


# --------------------------------------------------------------------------- traced values made numbers
#
# NumPy turns a traced array into a Python number by calling float(x) in three common places, and
# gives no other hook: math.sin(x) and float(x) themselves; np.array([x, y]) or np.mean([x, y])
# making an array out of a list of traced numbers; and buf[i] = x storing one into a plain array.
# The student's frame is the first one outside NumPy and fluxlite; the instruction it is running
# (Python 3.11 and later record its place in the source) says which of the three it is.

_NUMBER = (
    "{expr} turns a traced array into Python numbers{where}: Python numbers carry no gradient, "
    "so the result would silently stop depending on x.\n{advice}To see a value while debugging, "
    "print(x) shows its numbers; to keep the loss, use val, grads = fl.withgradient(...) "
    "instead of converting it inside.")

_KEEP = ("Keep x as an array: NumPy's functions and operators work on it directly "
         "(np.sin(x), not math.sin(x)). ")

_MATH = ("The math module works on Python numbers: use NumPy's functions instead, which fluxlite "
         "traces (np.sin(x), np.exp(x)){fix}. ")

_LIST = (
    "{expr} makes a NumPy array out of a list that holds traced values{where}. NumPy copies the "
    "numbers out of the list without telling fluxlite, so the result would silently stop "
    "depending on them and their gradient would be lost.\n"
    "Join traced values with np.stack (np.concatenate for pieces of different lengths), which "
    "fluxlite traces:\n    {fix}")

_STORE = (
    "{expr} stores a traced value into a plain NumPy array{where}: the array keeps the numbers "
    "but not where they came from, so the result would silently stop depending on them.\n"
    "Build the array from the traced values instead: np.stack([a, b, c]) for separate values, "
    "np.concatenate for pieces, np.where(mask, new, old) to replace some entries.")

_UNKNOWN = (
    "{call} was called on a traced array inside gradient{where}: Python numbers carry no "
    "gradient, so the result would silently stop depending on x. Where it comes from, and the fix:\n"
    "  * a list of traced values made into an array (np.array([x, y]), np.mean([x, y])): "
    "join them with np.stack: np.mean(np.stack([x, y]));\n"
    "  * the math module (math.sin(x), math.exp(x)): use NumPy's functions, np.sin(x), "
    "np.exp(x), which fluxlite traces;\n"
    "  * a traced number stored into a plain array (buf[i] = x): build the array with "
    "np.stack / np.concatenate, or np.where(mask, new, old).\n"
    "To see a value while debugging, print(x) shows its numbers; to keep the loss, use "
    "val, grads = fl.withgradient(...) instead of converting it inside.")


def _number_message(call):
    """The message for `call` (``"float(x)"``, ``"int(x)"``, ...) made on a traced array, as
    precise as the student's line allows."""
    try:
        return _classify(call)
    except Exception:  # reading the source is a courtesy: never let it hide the real error
        return _UNKNOWN.format(call=call, where="")


def _student_frame():
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if not (name == "numpy" or name.startswith(("numpy.", "fluxlite."))):
            return frame
        frame = frame.f_back
    return None


def _place(filename):
    """How to name the file a line is in: a notebook cell (which IPython keeps in a temporary
    file with a made-up name) is "this cell", any other file goes by its name."""
    if "ipykernel_" in filename or filename.startswith("<ipython-input-"):
        return "this cell"
    return os.path.basename(filename)


def _classify(call):
    frame = _student_frame()
    if frame is None:
        return _UNKNOWN.format(call=call, where="")
    code = frame.f_code
    where = f" (line {frame.f_lineno} of {_place(code.co_filename)})"
    op, text = _instruction(frame)
    if call in ("x.item()", "x.tolist()"):  # asked for by name: nothing to guess
        return _NUMBER.format(expr=text or call, where=where, advice=_KEEP)
    if op == "STORE_SUBSCR":
        line = linecache.getline(code.co_filename, frame.f_lineno).strip()
        return _STORE.format(expr=line or "x[i] = ...", where=where)
    if text is None:
        return _UNKNOWN.format(call=call, where=where)
    node = ast.parse(text, mode="eval").body
    fn = _resolve(node.func, frame) if isinstance(node, ast.Call) else None
    if fn is float or fn is int or fn is complex:
        return _NUMBER.format(expr=text, where=where, advice=_KEEP)
    if getattr(fn, "__module__", None) in ("math", "cmath"):
        name = getattr(fn, "__name__", "")
        better = ""
        if isinstance(getattr(np, name, None), np.ufunc):  # math.sin(x[0]) -> np.sin(x[0])
            better = f": here {_replaced(text, [(node.func, 'np.' + name)])}"
        return _NUMBER.format(expr=text, where=where, advice=_MATH.format(fix=better))
    fix = _list_fix(node, fn, text, frame)
    if fix is not None:
        return _LIST.format(expr=text, where=where, fix=fix)
    if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)):
        return _NUMBER.format(expr=text, where=where, advice="To format a traced value, use an "
                              "f-string, which works on arrays: f\"{x:.3f}\". ")
    return _UNKNOWN.format(call=call, where=where)


def _instruction(frame):
    """The name of the instruction `frame` is running and the source text it came from
    (None, None before Python 3.11, which does not record where an instruction came from)."""
    code = frame.f_code
    if not hasattr(code, "co_positions") or frame.f_lasti < 0:
        return None, None
    op = dis.opname[code.co_code[frame.f_lasti]]
    line, end, col, end_col = list(code.co_positions())[frame.f_lasti // 2]
    return op, _source(code.co_filename, line, end, col, end_col)


def _source(filename, line, end, col, end_col):
    """The source text between two positions (columns count UTF-8 bytes, as Python's do)."""
    if None in (line, end, col, end_col):
        return None
    lines = [linecache.getline(filename, n).encode() for n in range(line, end + 1)]
    if not all(lines):
        return None
    if line == end:
        return lines[0][col:end_col].decode()
    lines[0], lines[-1] = lines[0][col:], lines[-1][:end_col]
    return b"".join(lines).decode()


def _resolve(node, frame):
    """The object a name or a dotted name refers to in `frame`, without running any code
    (attributes are read from modules only)."""
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals, vars(builtins)):
            if node.id in scope:
                return scope[node.id]
        return None
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, frame)
        if type(owner).__name__ == "module":
            return getattr(owner, node.attr, None)
    return None


_ARRAY_MAKERS = ("array", "asarray", "asanyarray", "ascontiguousarray")


def _list_fix(node, fn, text, frame):
    """When `node` (a call or an operation) hands NumPy a list holding traced values, the same
    code with each such list joined by np.stack; otherwise None."""
    if isinstance(node, ast.Call):
        candidates = list(node.args) + [k.value for k in node.keywords]
    elif isinstance(node, ast.BinOp):
        candidates = [node.left, node.right]
    else:
        return None
    lists = [a for a in candidates if _is_traced_list(a, frame)]
    if not lists:
        return None
    if (isinstance(node, ast.Call) and len(node.args) == 1 and node.args[0] is lists[0]
            and any(fn is getattr(np, name) for name in _ARRAY_MAKERS)):
        dtype = [k.value for k in node.keywords if k.arg == "dtype"]
        cast = f".astype({_segment(text, dtype[0])})" if dtype else ""
        return _stack_text(lists[0], text) + cast  # np.array([x, y]) is np.stack([x, y])
    return _replaced(text, [(a, _stack_text(a, text)) for a in lists])


def _replaced(text, changes):
    """`text` with the source of each node in `changes` replaced by the new text given."""
    out, last = [], 0
    for node, new in sorted(changes, key=lambda c: _offset(text, c[0].lineno, c[0].col_offset)):
        out += [text[last:_offset(text, node.lineno, node.col_offset)], new]
        last = _offset(text, node.end_lineno, node.end_col_offset)
    return "".join(out) + text[last:]


def _is_traced_list(node, frame):
    """Whether `node` is a list (or tuple) that may hold traced values: one written out that
    names a traced array, or a variable holding such a list."""
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return any(isinstance(n, ast.Name) and _traced(_resolve(n, frame))
                   for n in ast.walk(node))
    if isinstance(node, ast.Name):
        return _traced(_resolve(node, frame), lists_only=True)
    return False


def _traced(value, lists_only=False):
    """A traced array, or a list or tuple holding one (at any depth)."""
    if isinstance(value, (list, tuple)):
        return any(_traced(v) for v in value)
    return not lists_only and type(value).__name__ == "Tracked"


def _stack_text(node, text):
    """``np.stack(...)`` around the list `node`, nested lists stacked too."""
    if isinstance(node, (ast.List, ast.Tuple)) and any(
            isinstance(e, (ast.List, ast.Tuple)) for e in node.elts):
        return "np.stack([" + ", ".join(_stack_text(e, text) for e in node.elts) + "])"
    return f"np.stack({_segment(text, node)})"


def _segment(text, node):
    return text[_offset(text, node.lineno, node.col_offset):
                _offset(text, node.end_lineno, node.end_col_offset)]


def _offset(text, lineno, col):
    """The character offset in `text` of (line, UTF-8 byte column) as the ast reports them."""
    lines = text.splitlines(keepends=True)
    before = sum(len(s) for s in lines[:lineno - 1])
    return before + len(lines[lineno - 1].encode()[:col].decode())
