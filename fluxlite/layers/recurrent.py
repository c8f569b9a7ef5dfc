"""Recurrent layers, as in Flux 0.14's ``src/layers/recurrent.jl``: stateful, one time step per call.

A recurrent *cell* is a function of the previous state ``h`` and the input ``x``
that returns the new state and the output: ``h, y = cell(h, x)``. `Recur` wraps a
cell and keeps the state between calls, so ``m(x)`` runs one time step:

* ``x`` is a vector of ``in`` features (one sample) or an ``in × N`` batch, as for
  ``Dense``; the output is a vector of ``out`` or an ``out × N`` batch;
* a whole sequence can be given at once as an ``in × N × T`` array (time last,
  Flux 0.14's rule): the steps run in order and the outputs come back as
  ``out × N × T``; a Python list of steps gives a list of outputs;
* ``fl.reset_(m)`` puts the state back to the cell's initial state ``state0``,
  in any model that contains recurrent layers.

``RNN(in, out)``, ``LSTM(in, out)`` and ``GRU(in, out)`` are ``Recur`` around
`RNNCell`, `LSTMCell` and `GRUCell`. Flux 0.15 replaced this design with
stateless layers that take the whole sequence; fluxlite follows 0.14, the Flux of
the tutorial.

Inside `fl.gradient`, the state carries the tape from step to step, so the
gradient of a loss over several steps flows back through time (BPTT) to the
weights and to the initial state, which is trainable in Flux 0.14. The state is
not saved with the model and is not a parameter; read it as ``m.state``.
"""
import numpy as np

from .. import functors
from ..autodiff.arrays import Param
from ..nnlib import _kernel_primitive
from ..autodiff.tracer import peel
from ..activations import tanh, σ as sigmoid
from .checks import check_size, match_dtype, shape_error
from .init import glorot_uniform, zeros32
from .show import Layer, act_suffix, layer_string

__all__ = ["Recur", "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "reset_"]


def _sizes(args, who):
    """Flux's ``in => out`` as ``(in, out)`` or as two ints; returns (in, out, rest)."""
    if args and isinstance(args[0], tuple) and len(args[0]) == 2:
        n_in, n_out, rest = args[0][0], args[0][1], args[1:]
    elif len(args) >= 2:
        n_in, n_out, rest = args[0], args[1], args[2:]
    else:
        raise TypeError(f"{who} needs its input and output sizes: {who}(2, 5) or {who}((2, 5)), "
                        f"as Flux's {who}(2 => 5)")
    for v in (n_in, n_out):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise TypeError(f"{who} needs positive integer sizes, as in {who}(2, 5); got "
                            f"{n_in!r}, {n_out!r}")
    return int(n_in), int(n_out), rest


def _param(a):
    return a if isinstance(a, Param) else np.asarray(a, dtype=np.float32).view(Param)


def _column(cell, x):
    """Check the features of `x` and return it as an ``in × N`` matrix (a vector becomes one column)."""
    n_in = cell.Wi.shape[1]
    check_size(cell, x, n_in)
    if np.ndim(x) not in (1, 2):
        raise shape_error(cell, f"takes one time step: a vector of {n_in} features or an "
                                f"{n_in} × N batch, but got an input of shape {np.shape(x)}.",
                          "Give a whole sequence to the Recur layer (RNN, LSTM, GRU) as an "
                          "in × N × T array or as a list of steps.")
    x = match_dtype(cell.Wi, x)
    if np.ndim(x) == 1:
        return np.reshape(x, (n_in, 1))
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        # A slice such as xs[:, :, t] has no unit stride, and NumPy's matrix product then skips
        # BLAS and runs ~100 times slower. Flattening copies it into order (traced as reshapes).
        x = np.reshape(np.reshape(x, (-1,)), np.shape(x))
    return x


def _state(cell, h):
    """Check a hidden state (h, or c of an LSTM) and return it as an ``out × N`` matrix.

    Flux's cells take a vector state as well as a matrix one; a vector becomes one column here,
    so that ``Wh @ h`` keeps its column shape and adds to ``Wi @ x`` without broadcasting into
    an out × out square."""
    n_out = cell.Wh.shape[1]
    if np.ndim(h) not in (1, 2) or np.shape(h)[0] != n_out:
        raise shape_error(cell, f"needs a state of {n_out} rows (a vector, or {n_out} × N for a "
                                f"batch), but got a state of shape {np.shape(h)}.",
                          "Start from the cell's own state0, or from np.zeros(out) / "
                          "np.zeros((out, N)).")
    return np.reshape(h, (n_out, 1)) if np.ndim(h) == 1 else h


def _new_state(h, old, x):
    """A cell's new state in the form of the one it was given: a vector state and a vector
    input give a vector state, as in Flux."""
    return np.reshape(h, (-1,)) if np.ndim(old) == 1 and np.ndim(x) == 1 else h


def _output(h, x):
    """Flux's ``reshape_cell_output``: a vector input gives a vector output."""
    return h if np.ndim(x) == 2 else np.reshape(h, (-1,))


def _bias(b):
    return np.reshape(b, (-1, 1))


# Flux's `multigate`: block k of n equal blocks of rows. Its own primitive (like Flux's rrule)
# so that the pullback builds the gradient in the array's own precision.
def _gate_fwd(g, k, n):
    o = g.shape[0] // n
    return g[k * o:(k + 1) * o]


def _ungate_fwd(gg, k, n):
    out = np.zeros((gg.shape[0] * n,) + gg.shape[1:], dtype=gg.dtype)
    out[k * gg.shape[0]:(k + 1) * gg.shape[0]] = gg
    return out


_GATE = _kernel_primitive(_gate_fwd, "gate")
_UNGATE = _kernel_primitive(_ungate_fwd, "ungate")
_GATE.defvjp(lambda gg, ans, g, k, n: _UNGATE(gg, k=k, n=n))
_UNGATE.defvjp(lambda g, ans, gg, k, n: _GATE(g, k=k, n=n))


def _gates(g, n):
    """The n blocks of rows of `g` (Flux's ``multigate``): gates stacked in one matrix."""
    return [_GATE(g, k=k, n=n) for k in range(n)]


# Flux's `eachlastdim`: time step t of an in × N × T sequence, as a contiguous in × N matrix
# (NumPy's matrix product is much faster on it), with a pullback in the sequence's precision.
def _step_fwd(x, t):
    return np.ascontiguousarray(x[..., t])


def _unstep_fwd(g, t, steps):
    out = np.zeros(np.shape(g) + (steps,), dtype=g.dtype)
    out[..., t] = g
    return out


_STEP = _kernel_primitive(_step_fwd, "time_step")
_UNSTEP = _kernel_primitive(_unstep_fwd, "time_unstep")
_STEP.defvjp(lambda g, ans, x, t: _UNSTEP(g, t=t, steps=np.shape(x)[-1]))
_UNSTEP.defvjp(lambda gg, ans, g, t, steps: _STEP(gg, t=t))


class RNNCell(Layer):
    """The cell of a vanilla RNN: ``h′ = σ(Wi x + Wh h + b)``, output ``h′``.

    ``RNNCell(in, out, σ=tanh; init=glorot_uniform, initb=zeros32, init_state=zeros32)``:
    ``Wi`` is out × in, ``Wh`` out × out, ``b`` has length out, and the initial
    state ``state0`` is out × 1 (trainable, as in Flux 0.14). Called as
    ``h, y = cell(h, x)``; use `RNN` for the stateful layer.

    >>> import numpy as np, fluxlite as fl
    >>> cell = RNNCell(3, 5)
    >>> cell
    RNNCell(3 => 5, tanh)  # 50 parameters
    >>> h, y = cell(cell.state0, np.ones((3, 4), np.float32))
    >>> h.shape, y.shape
    ((5, 4), (5, 4))
    """

    _trainable = ("Wi", "Wh", "b", "state0")

    def __init__(self, *args, init=glorot_uniform, initb=zeros32, init_state=zeros32):
        n_in, n_out, rest = _sizes(args, "RNNCell")
        if len(rest) > 1:
            raise TypeError("RNNCell takes at most one activation function after the sizes")
        σ = rest[0] if rest else tanh
        if not callable(σ):
            raise TypeError(f"RNNCell's activation must be a function such as np.tanh, got {σ!r}")
        self.σ = σ
        self.Wi = _param(init(n_out, n_in))
        self.Wh = _param(init(n_out, n_out))
        self.b = _param(initb(n_out))
        self.state0 = _param(init_state(n_out, 1))

    def __call__(self, h, x):
        xm, h0 = _column(self, x), h
        h = self.σ(self.Wi @ xm + self.Wh @ _state(self, h) + _bias(self.b))
        return _new_state(h, h0, x), _output(h, x)

    def _show(self):
        return f"RNNCell({self.Wi.shape[1]} => {self.Wi.shape[0]}{act_suffix(self.σ)})"


class LSTMCell(Layer):
    """The cell of a long short-term memory layer (Hochreiter & Schmidhuber, 1997).

    ``LSTMCell(in, out; init=glorot_uniform, initb=zeros32, init_state=zeros32)``.
    The state is a pair ``(h, c)``. With ``g = Wi x + Wh h + b`` cut into four
    blocks of `out` rows, in Flux's order input, forget, cell, output::

        c′ = σ(g_forget) ⊙ c + σ(g_input) ⊙ tanh(g_cell)
        h′ = σ(g_output) ⊙ tanh(c′)           (the output is h′)

    ``Wi`` is 4out × in, ``Wh`` 4out × out, ``b`` has length 4out, and the
    forget gate's bias starts at 1, as in Flux, so the cell remembers by default.

    >>> import numpy as np, fluxlite as fl
    >>> cell = LSTMCell(3, 5)
    >>> cell
    LSTMCell(3 => 5)    # 190 parameters
    >>> cell.b.reshape(4, 5)[:, 0]                     # input, forget, cell, output
    Param([0., 1., 0., 0.], dtype=float32)
    >>> (h, c), y = cell(cell.state0, np.ones(3, np.float32))
    >>> h.shape, c.shape, y.shape
    ((5, 1), (5, 1), (5,))
    """

    _trainable = ("Wi", "Wh", "b", "state0")

    def __init__(self, *args, init=glorot_uniform, initb=zeros32, init_state=zeros32):
        n_in, n_out, rest = _sizes(args, "LSTMCell")
        if rest:
            raise TypeError("LSTMCell takes only the sizes (its gates use σ and tanh)")
        self.Wi = _param(init(n_out * 4, n_in))
        self.Wh = _param(init(n_out * 4, n_out))
        b = _param(initb(n_out * 4))
        b[n_out:2 * n_out] = 1
        self.b = b
        self.state0 = (_param(init_state(n_out, 1)), _param(init_state(n_out, 1)))

    def __call__(self, state, x):
        h0, c0 = state
        xm, h, c = _column(self, x), _state(self, h0), _state(self, c0)
        g = self.Wi @ xm + self.Wh @ h + _bias(self.b)
        input_, forget, cell, output = _gates(g, 4)
        c = sigmoid(forget) * c + sigmoid(input_) * tanh(cell)
        output = sigmoid(output)
        h = output * tanh(c)
        return (_new_state(h, h0, x), _new_state(c, c0, x)), _output(h, x)

    def _show(self):
        return f"LSTMCell({self.Wi.shape[1]} => {self.Wi.shape[0] // 4})"


class GRUCell(Layer):
    """The cell of a gated recurrent unit, version 1 of Cho et al. (2014), as Flux's ``GRUCell``.

    ``GRUCell(in, out; init=glorot_uniform, initb=zeros32, init_state=zeros32)``.
    With the rows of ``Wi x``, ``Wh h`` and ``b`` cut into three blocks (reset,
    update, candidate), in Flux's order::

        r  = σ(Wi_r x + Wh_r h + b_r)              reset gate
        z  = σ(Wi_z x + Wh_z h + b_z)              update gate
        h̃  = tanh(Wi_h x + r ⊙ (Wh_h h) + b_h)     candidate
        h′ = (1 - z) ⊙ h̃ + z ⊙ h                  (the output is h′)

    >>> import numpy as np, fluxlite as fl
    >>> cell = GRUCell(3, 5)
    >>> cell
    GRUCell(3 => 5)     # 140 parameters
    >>> h, y = cell(cell.state0, np.ones((3, 2), np.float32))
    >>> y.shape
    (5, 2)
    """

    _trainable = ("Wi", "Wh", "b", "state0")

    def __init__(self, *args, init=glorot_uniform, initb=zeros32, init_state=zeros32):
        n_in, n_out, rest = _sizes(args, "GRUCell")
        if rest:
            raise TypeError("GRUCell takes only the sizes (its gates use σ and tanh)")
        self.Wi = _param(init(n_out * 3, n_in))
        self.Wh = _param(init(n_out * 3, n_out))
        self.b = _param(initb(n_out * 3))
        self.state0 = _param(init_state(n_out, 1))

    def __call__(self, h, x):
        xm, h0 = _column(self, x), h
        h = _state(self, h)
        gx, gh, b = _gates(self.Wi @ xm, 3), _gates(self.Wh @ h, 3), _gates(_bias(self.b), 3)
        r = sigmoid(gx[0] + gh[0] + b[0])
        z = sigmoid(gx[1] + gh[1] + b[1])
        candidate = tanh(gx[2] + r * gh[2] + b[2])
        h = (1 - z) * candidate + z * h
        return _new_state(h, h0, x), _output(h, x)

    def _show(self):
        return f"GRUCell({self.Wi.shape[1]} => {self.Wi.shape[0] // 3})"


class _Hidden:
    """Holds a Recur's current state out of sight of `gradient`, `fmap` and `state`.

    Those walk a model's attributes; an ordinary attribute holding the state
    would be traced as an input (breaking the chain through time) or saved
    with the weights. This holder has no ``__dict__``, so it is a leaf to them;
    a new holder is made at every step, so models copied by ``f64`` do not
    share their state.
    """

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "_Hidden(...)"


_INITIAL = _Hidden(None)


def _finished(v):
    """`v` without the layers of finished `gradient` calls (a state kept after the call)."""
    if isinstance(v, tuple):
        return tuple(_finished(a) for a in v)
    return peel(v)


def _batch(v):
    """The batch size (number of columns) of a state: an array or a tuple of arrays."""
    if isinstance(v, tuple):
        v = v[0]
    shape = np.shape(v)
    return shape[1] if len(shape) == 2 else None


class Recur(Layer):
    """A stateful recurrent layer: keeps a cell's state between calls, one time step per call.

    ``Recur(cell, state=cell.state0)``: the cell is any function
    ``h, y = cell(h, x)``. Each call ``m(x)`` runs ``m.state, y = cell(m.state, x)``
    and returns ``y``. ``fl.reset_(m)`` sets the state back to ``cell.state0``
    (or to the state given here, for a cell without ``state0``).

    A whole sequence runs step by step, with the state carried along: an
    ``in × N × T`` array (time on the last axis, as in Flux 0.14) gives an
    ``out × N × T`` array, and a list of steps (arrays) gives the list of
    outputs. A list of numbers is one input vector.

    >>> def accum(h, x):
    ...     return h + x, x
    >>> rnn = Recur(accum, 0)
    >>> rnn
    Recur(accum)
    >>> rnn(2), rnn(3), rnn.state
    (2, 3, 5)
    >>> import numpy as np
    >>> rnn = Recur(accum, np.zeros((1, 1)))
    >>> out = rnn(np.arange(1.0, 11.0).reshape(1, 1, 10))     # features × batch × time
    >>> out.shape, rnn.state
    ((1, 1, 10), array([[55.]]))
    """

    _trainable = ("cell",)

    def __init__(self, cell, state=None):
        if not callable(cell):
            raise TypeError(f"Recur needs a cell: a function h, y = cell(h, x), got {cell!r}")
        self.cell = cell
        if state is None and not hasattr(cell, "state0"):
            raise TypeError("Recur(cell) takes its first state from cell.state0; this cell has none, "
                            "so give one: Recur(cell, state)")
        self._init = _INITIAL if state is None else _Hidden(state)
        self._hidden = self._init

    @property
    def state(self):
        """The current state (``cell.state0`` right after construction or `reset_`)."""
        v = self._hidden.value
        if v is None:
            return self.cell.state0
        plain = _finished(v)
        if plain is not v:
            self._hidden = _Hidden(plain)
        return plain

    @state.setter
    def state(self, value):
        self._hidden = _Hidden(value)

    def _reset_(self):
        self._hidden = self._init

    def __call__(self, x):
        if isinstance(x, (list, tuple)):
            if x and all(np.ndim(step) >= 1 for step in x):
                return [self(step) for step in x]    # a sequence of steps
            x = np.asarray(x)                         # a list of numbers is one vector
        if np.ndim(x) == 3:
            return self._sequence(x)
        h = self.state
        hb, xb = _batch(h), (np.shape(x)[1] if np.ndim(x) == 2 else 1)
        if hb is not None and hb != 1 and hb != xb:
            raise shape_error(self, f"holds a state for a batch of {hb}, but got an input of shape "
                                    f"{np.shape(x)} (a batch of {xb}).",
                              "Call fl.reset_(model) before changing the batch size; Flux needs "
                              "Flux.reset! there too.")
        h, y = self.cell(h, x)
        self._hidden = _Hidden(h)
        return y

    def _sequence(self, x):
        n_in = getattr(getattr(self.cell, "Wi", None), "shape", (None, None))[1]
        if n_in is not None:
            check_size(self, x, n_in, what="features",
                       hint=f"A sequence is an {n_in} × N × T array: features, batch, then time.")
        steps = [self(_STEP(x, t=t)) for t in range(np.shape(x)[2])]
        return np.stack(steps, axis=-1)

    def _show(self):
        return f"Recur({layer_string(self.cell)})"

    def _show_children(self):
        return [(None, self.cell)]


def RNN(*args, **kwargs):
    """A vanilla recurrent layer, ``Recur(RNNCell(in, out, σ=tanh))``: stateful, one step per call.

    Flux's ``RNN(in => out, σ)`` is ``RNN(in, out, σ)`` (or ``RNN((in, out), σ)``);
    keywords ``init``, ``initb`` and ``init_state`` go to `RNNCell`. Each call
    takes a vector of `in` features or an ``in × N`` batch and returns the new
    state ``h′ = σ(Wi x + Wh h + b)``; an ``in × N × T`` array runs a whole
    sequence. Call ``fl.reset_(m)`` between sequences and before changing the
    batch size.

    >>> import numpy as np, fluxlite as fl
    >>> r = RNN(3, 5)
    >>> r
    Recur(
      RNNCell(3 => 5, tanh),                # 50 parameters
    )                   # Total: 4 arrays, 50 parameters, 200 bytes.
    >>> r(np.random.rand(3).astype(np.float32)).shape
    (5,)
    >>> reset_(r)
    >>> r(np.random.rand(3, 10).astype(np.float32)).shape       # a batch of 10
    (5, 10)
    >>> reset_(r)
    >>> r(np.random.rand(3, 10, 7).astype(np.float32)).shape    # 7 time steps of a batch of 10
    (5, 10, 7)
    """
    return Recur(RNNCell(*args, **kwargs))


def LSTM(*args, **kwargs):
    """A long short-term memory layer, ``Recur(LSTMCell(in, out))``: stateful, one step per call.

    Flux's ``LSTM(in => out)`` is ``LSTM(in, out)``. The state is a pair
    ``(h, c)``; the output is ``h``. The forget gate's bias starts at 1.
    See `LSTMCell` for the equations.

    >>> import numpy as np, fluxlite as fl
    >>> l = LSTM(3, 5)
    >>> l
    Recur(
      LSTMCell(3 => 5),                     # 190 parameters
    )                   # Total: 5 arrays, 190 parameters, 760 bytes.
    >>> l(np.random.rand(3).astype(np.float32)).shape
    (5,)
    >>> reset_(l)
    >>> l(np.random.rand(3, 10).astype(np.float32)).shape
    (5, 10)
    """
    return Recur(LSTMCell(*args, **kwargs))


def GRU(*args, **kwargs):
    """A gated recurrent unit layer, ``Recur(GRUCell(in, out))``: stateful, one step per call.

    Flux's ``GRU(in => out)`` is ``GRU(in, out)``. See `GRUCell` for the equations.

    >>> import numpy as np, fluxlite as fl
    >>> g = GRU(3, 5)
    >>> g
    Recur(
      GRUCell(3 => 5),                      # 140 parameters
    )                   # Total: 4 arrays, 140 parameters, 560 bytes.
    >>> [y.shape for y in g([np.ones(3, np.float32), np.zeros(3, np.float32)])]   # a list of steps
    [(5,), (5,)]
    """
    return Recur(GRUCell(*args, **kwargs))


def reset_(m):
    """Put every recurrent layer in model `m` back to its initial state (Flux's ``reset!``).

    Walks the whole model (chains, lists, dicts, any object), so it works on a
    ``Chain`` holding recurrent layers as well as on one layer. Returns None.

    >>> import numpy as np, fluxlite as fl
    >>> m = fl.layers.Chain(RNN(2, 3), fl.layers.Dense(3, 1))
    >>> _ = m(np.ones(2, np.float32))
    >>> bool(np.any(m[0].state != 0))
    True
    >>> reset_(m)
    >>> bool(np.all(m[0].state == 0)), m[0].state is m[0].cell.state0
    (True, True)
    """
    seen = set()

    def visit(x):
        if id(x) in seen:
            return
        seen.add(id(x))
        own = getattr(x, "_reset_", None)
        if callable(own) and not isinstance(x, type):
            own()
        kids = functors.children(x)
        for _, child in kids or ():
            visit(child)

    visit(m)
