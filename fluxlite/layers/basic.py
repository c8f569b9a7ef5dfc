"""Basic layers, as in Flux's ``src/layers/basic.jl``: Dense, Chain and friends.

Flux's conventions hold: features along axis 0 and the batch along the last
axis, so ``Dense(in, out)`` maps an ``in × N`` array to ``out × N`` (and a
vector of length ``in`` to a vector of length ``out``). Weights are float32
`Param` arrays, as Flux's are Float32; `f64` and `f32` convert a whole model.

Each layer is a small class: its trainable arrays are listed in ``_trainable``,
``__call__`` is the forward pass, and ``_show`` is its one-line Flux form (the
full printing comes from `fluxlite.layers.show`).

Dense's forward ``σ(W @ x + b)`` is one fused primitive (`affine`) with a
hand-written pullback: for identity, relu, tanh and σ a layer records one tape entry
instead of four (the product, the sum, the activation and a reshape of the bias); any
other activation adds its own entry.
"""
import numbers

import numpy as np

from .. import functors
from ..autodiff.arrays import Param
from ..autodiff.switch import REFERENCE
from ..autodiff.tracer import primitive
from .checks import check_ndim, check_size, match_dtype, shape_error
from .init import as_weight, create_bias, glorot_uniform, ones32, randn32
from .show import Layer, act_suffix, fname, layer_string

__all__ = ["identity", "Dense", "Chain", "SkipConnection", "Parallel", "Maxout", "Bilinear",
           "Embedding", "Scale", "vcat", "affine", "f32", "f64", "trainable"]


def identity(x):
    """The identity function, identity(x) = x: the default activation of every layer.

    Layers whose activation is `identity` print without one: ``Dense(2 => 3)``.

    >>> identity(3.0)
    3.0
    """
    return x


def vcat(*xs):
    """Concatenate arrays along axis 0 (Julia's ``vcat``), e.g. as a `Parallel` connection.

    >>> import numpy as np
    >>> vcat(np.ones(2), np.zeros(1))
    array([1., 1., 0.])
    """
    return np.concatenate(xs, axis=0)


# --------------------------------------------------------------------------- the fused Dense map

# Activations Dense fuses into its primitive. For each: the traceable function, a forward
# that may overwrite its fresh input, and the slope σ'(z) written from the output y = σ(z).
# Any other activation is applied after the primitive, as its own tape entry.
def _relu_(z):
    return np.maximum(z, 0, out=z)


def _tanh_(z):
    return np.tanh(z, out=z)


def _slope_relu(ans):
    return ans > 0


def _slope_tanh(ans):
    return 1 - ans * ans


def _slope_sigmoid(ans):
    return ans * (1 - ans)


def _dense_fwd(W, b, x, act=None):
    y = W @ x
    fresh = type(y) is np.ndarray  # else traced by an outer gradient: no in-place updates
    if b is not None:
        bb = b if y.ndim == 1 else b[:, None]
        y = np.add(y, bb, out=y) if fresh else y + bb
    if act is None:
        return y
    return _FUSED_BY_NAME[act][1 if fresh else 0](y)


_ONES = {}  # (n, dtype) -> a read-only vector of n ones


def _dense_pullback(g, ans, wanted, W, b, x, act=None):
    """The gradients of W, b and x (those in `wanted`) from the gradient g of y = act(z).

    All three need dz = g · act'(z), the gradient reaching z = W x + b, so it is computed
    once; act' is written in terms of the output y (see `_fusable`)."""
    dz = g if act is None else g * _FUSED_BY_NAME[act][2](ans)
    out = []
    for k in wanted:
        if k == 0:  # dW = dz xᵀ
            out.append(np.reshape(dz, (-1, 1)) * np.reshape(x, (1, -1)) if x.ndim == 1
                       else dz @ x.T)
        elif k == 1:  # db = dz summed over the batch
            out.append(_batch_sum(dz))
        else:  # dx = Wᵀ dz
            out.append(W.T @ dz)
    return out


def _batch_sum(dz):
    if dz.ndim == 1:
        return dz
    if type(dz) is np.ndarray:
        # Σ over the batch as a matrix-vector product: BLAS does it several times faster
        # than a reduction along the short contiguous rows.
        key = (dz.shape[1], dz.dtype)
        ones = _ONES.get(key)
        if ones is None:
            ones = _ONES[key] = np.ones(key[0], key[1])
            ones.flags.writeable = False
        return np.matmul(dz, ones)
    return np.sum(dz, axis=1)


_DENSE = primitive(_dense_fwd, "dense").defpullback(_dense_pullback)


def _fusable():
    from .. import activations as A
    table = {
        "relu": (A.relu, _relu_, _slope_relu),
        "tanh": (np.tanh, _tanh_, _slope_tanh),
        "σ": (A.σ, A.σ, _slope_sigmoid),
    }
    by_fn = {A.relu: "relu", np.tanh: "tanh", A.tanh: "tanh", A.σ: "σ"}
    return table, by_fn


_FUSED_BY_NAME, _FUSED_BY_FN = _fusable()


def affine(W, b, x, σ=identity):
    """σ(W @ x + b), with b added to every column: Dense's forward pass as one primitive.

    For z = W x + b (x of shape in × N) and y = σ(z), with dz = dy · σ'(z)::

        dW = dz @ x.T        db = dz summed over the batch axis        dx = W.T @ dz

    For identity, relu, σ and tanh the slope σ'(z) is computed from the output y
    (1, y > 0, y(1 - y), 1 - y²), so the whole layer is one primitive with one
    tape entry; any other σ is applied afterwards as its own primitive.
    ``b=None`` means no bias.

    >>> import numpy as np, fluxlite as fl
    >>> affine(np.eye(2), np.array([1.0, -2.0]), np.zeros((2, 3)), fl.relu)
    array([[1., 1., 1.],
           [0., 0., 0.]])
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if σ is identity:
        return _DENSE(W, b, x)
    try:
        name = _FUSED_BY_FN.get(σ)
    except TypeError:  # an unhashable callable
        name = None
    if name is None:
        return σ(_DENSE(W, b, x))
    return _DENSE(W, b, x, name)


def _pair(args, who, example):
    """Read Flux's ``in => out`` as ``(in, out)`` or as two numbers; return (in, out, rest)."""
    if args and isinstance(args[0], tuple) and len(args[0]) == 2:
        return args[0][0], args[0][1], args[1:]
    if len(args) >= 2 and all(isinstance(a, numbers.Integral) for a in args[:2]):
        return args[0], args[1], args[2:]
    raise TypeError(f"{who} needs its input and output sizes, e.g. {example}.")


# --------------------------------------------------------------------------- Dense

_QUICK = not REFERENCE  # Dense's shortcut for a batch of the right shape and dtype (see __call__)

class Dense(Layer):
    """A fully connected layer: y = σ(W x + b), mapping ``in × N`` to ``out × N``.

    ``Dense(in, out, σ=identity, bias=True, init=glorot_uniform)``; Flux's
    ``Dense(in => out, σ)`` may also be written ``Dense((in, out), σ)``.
    The weight ``W = init(out, in)`` is out × in (float32); the bias has length
    ``out`` and starts at zero (``bias=False`` leaves it out; an array sets it).
    ``Dense(W, bias=True, σ=identity)`` builds the layer around a given weight matrix.

    The input has its features on axis 0: a vector of length ``in``, an
    ``in × N`` batch, or any array with ``x.shape[0] == in`` (extra axes are
    batch axes). Float64 or integer input to a float32 layer is converted to
    float32, as Flux does.

    >>> import numpy as np, fluxlite as fl
    >>> d = fl.layers.Dense(5, 2)
    >>> d
    Dense(5 => 2)       # 12 parameters
    >>> d.weight.shape, d.bias.shape, d(np.ones((5, 64), np.float32)).shape
    ((2, 5), (2,), (2, 64))
    >>> d(np.ones(5)).shape
    (2,)
    >>> fl.layers.Dense(np.ones((2, 5)), False, np.tanh)
    Dense(5 => 2, tanh; bias=false)  # 10 parameters
    """

    _trainable = ("weight", "bias")

    def __init__(self, *args, bias=True, init=glorot_uniform):
        if args and isinstance(args[0], np.ndarray) and np.ndim(args[0]) == 2:
            weight = as_weight(args[0])
            rest = args[1:]
            if rest:
                bias, rest = rest[0], rest[1:]
        else:
            n_in, n_out, rest = _pair(args, "Dense", "Dense(10, 5) or Dense((10, 5), fl.relu)")
            weight = init(n_out, n_in)
            weight = weight if isinstance(weight, Param) else as_weight(weight)
            if weight.shape != (n_out, n_in):
                raise ValueError(f"Dense: init returned shape {weight.shape}, expected ({n_out}, {n_in})")
        if len(rest) > 1:
            raise TypeError("Dense takes at most one activation function after the sizes")
        σ = rest[0] if rest else identity
        if not callable(σ):
            raise TypeError(f"Dense's activation must be a function such as fl.relu, got {σ!r}")
        self.weight = weight
        self.bias = create_bias(weight, bias, weight.shape[0], "Dense")
        self.σ = σ

    def __call__(self, x):
        W = self.weight
        b = None if self.bias is False else self.bias
        shape = getattr(x, "shape", None)
        if _QUICK and shape is not None and len(shape) == 2 and shape[0] == W.shape[1] \
                and x.dtype == W.dtype:
            # A fast path: the common case, checked in one line, going straight to the primitive.
            σ = self.σ
            if σ is identity:
                return _DENSE(W, b, x)
            name = _FUSED_BY_FN.get(σ) if type(σ).__hash__ is not None else None
            if name is not None:
                return _DENSE(W, b, x, name)  # positional: no keyword dict to build
            return affine(W, b, x, σ)
        n_in = W.shape[1]
        check_size(self, x, n_in)
        x = match_dtype(W, x)
        if np.ndim(x) > 2:
            rest = np.shape(x)[1:]
            y = self(np.reshape(x, (n_in, -1)))
            return np.reshape(y, (W.shape[0],) + rest)
        return affine(W, b, x, self.σ)

    def _show(self):
        out, n_in = self.weight.shape
        return (f"Dense({n_in} => {out}{act_suffix(self.σ)}"
                + ("; bias=false" if self.bias is False else "") + ")")


# --------------------------------------------------------------------------- containers

def _check_layer(f, who):
    if not callable(f):
        raise TypeError(f"{who} holds layers and functions, but got {f!r} ({type(f).__name__}), "
                        f"which cannot be called. Pass layers such as fl.Dense(2, 3) or functions "
                        f"such as fl.relu.")
    return f


class Chain(Layer):
    """Layers and functions called in sequence: ``Chain(f, g, h)(x) == h(g(f(x)))``.

    Index it like a tuple: ``m[0]`` is the first layer, ``m[:-1]`` a Chain of
    all but the last, ``len(m)`` the number of layers. Layers may be named,
    ``Chain(enc=..., dec=...)``, and then read as ``m.enc`` or ``m["enc"]``
    (positions still work). Functions (``fl.softmax``, a lambda) are allowed
    anywhere in a chain.

    >>> import numpy as np, fluxlite as fl
    >>> m = fl.layers.Chain(fl.layers.Dense(10, 5, fl.σ), fl.layers.Dense(5, 2), fl.softmax)
    >>> m
    Chain(
      Dense(10 => 5, σ),                    # 55 parameters
      Dense(5 => 2),                        # 12 parameters
      softmax,
    )                   # Total: 4 arrays, 67 parameters, 268 bytes.
    >>> x = np.random.rand(10, 32).astype(np.float32)
    >>> bool(np.allclose(m(x), m[2](m[1](m[0](x)))))
    True
    >>> m[:-1]
    Chain(
      Dense(10 => 5, σ),                    # 55 parameters
      Dense(5 => 2),                        # 12 parameters
    )                   # Total: 4 arrays, 67 parameters, 268 bytes.
    >>> m2 = fl.layers.Chain(enc=fl.layers.Dense(10, 5, np.tanh), dec=fl.layers.Dense(5, 2))
    >>> bool(np.allclose(m2(x), m2.dec(m2["enc"](x))))
    True
    """

    def __init__(self, *layers, **named):
        if layers and named:
            raise TypeError("Chain takes either positional layers or named layers, not both: "
                            "Chain(f, g) or Chain(enc=f, dec=g).")
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)) and not callable(layers[0]):
            layers = tuple(layers[0])  # Chain([f, g]) as Flux's Chain(vector)
        if named:
            for k in named:
                if k.startswith("_") or hasattr(Chain, k) or k == "layers":
                    raise ValueError(f"a Chain cannot have a layer named {k!r}: that name is taken "
                                     f"by Chain itself; choose another name.")
            self.layers = {k: _check_layer(f, "Chain") for k, f in named.items()}
        else:
            self.layers = tuple(_check_layer(f, "Chain") for f in layers)

    def _values(self):
        return tuple(self.layers.values()) if isinstance(self.layers, dict) else self.layers

    def __call__(self, x):
        for f in self._values():
            x = f(x)
        return x

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self._values())

    def keys(self):
        """The layer names of a named Chain, or the positions ``range(len(m))``.

        >>> list(Chain(a=abs, b=abs).keys())
        ['a', 'b']
        """
        return list(self.layers) if isinstance(self.layers, dict) else range(len(self.layers))

    def __getitem__(self, i):
        layers = self.layers
        if isinstance(i, str):
            if not isinstance(layers, dict) or i not in layers:
                raise KeyError(f"this Chain has no layer named {i!r}; its names are "
                               f"{list(layers) if isinstance(layers, dict) else 'none (unnamed)'}")
            return layers[i]
        names = list(layers) if isinstance(layers, dict) else None
        vals = self._values()
        if isinstance(i, slice) or isinstance(i, (list, np.ndarray)) and np.ndim(i) == 1:
            idx = range(len(vals))[i] if isinstance(i, slice) else [int(j) for j in i]
            if names is None:
                return Chain(*[vals[j] for j in idx])
            return Chain(**{names[j]: vals[j] for j in idx})
        return vals[i]

    def __getattr__(self, name):
        layers = self.__dict__.get("layers")
        if isinstance(layers, dict) and name in layers:
            return layers[name]
        raise AttributeError(f"'Chain' object has no attribute {name!r}")

    def _show_children(self):
        if isinstance(self.layers, dict):
            return list(self.layers.items())
        return [(None, f) for f in self.layers]

    def _show(self):
        if isinstance(self.layers, dict):
            inner = ", ".join(f"{k} = {layer_string(f)}" for k, f in self.layers.items())
        else:
            inner = ", ".join(layer_string(f) for f in self.layers)
        return f"Chain({inner})"


class SkipConnection(Layer):
    """``connection(layers(x), x)``: a block whose input skips past it (ResNet's shortcut).

    ``SkipConnection(layer, np.add)`` (or ``operator.add``) is the residual
    block ``layer(x) + x``; any two-argument function works as the connection.

    >>> import numpy as np, fluxlite as fl
    >>> sc = fl.layers.SkipConnection(fl.layers.Dense(3, 3), np.add)
    >>> x = np.ones((3, 2), np.float32)
    >>> bool(np.allclose(sc(x), sc.layers(x) + x))
    True
    >>> fl.layers.SkipConnection(fl.relu, vcat)(np.array([-1.0, 2.0]))
    array([ 0.,  2., -1.,  2.])
    """

    def __init__(self, layers, connection):
        self.layers = _check_layer(layers, "SkipConnection")
        self.connection = _check_layer(connection, "SkipConnection")

    def __call__(self, x):
        return self.connection(self.layers(x), x)

    def _show_children(self):
        return [(None, self.layers), (None, self.connection)]

    def _show(self):
        return f"SkipConnection({layer_string(self.layers)}, {fname(self.connection)})"


class Parallel(Layer):
    """Send the input to each layer and combine the results: ``connection(l1(x), l2(x), ...)``.

    With several inputs (or one tuple), the k-th input goes to the k-th layer:
    ``Parallel(np.add, f, g)(x, y) == f(x) + g(y)``. Layers may be named, as in
    `Chain`: ``Parallel(vcat, a=..., b=...)``, read as ``m.a`` or ``m["a"]``.

    >>> import numpy as np, fluxlite as fl
    >>> m = fl.layers.Parallel(vcat, fl.layers.Dense(3, 4), fl.layers.Dense(3, 2))
    >>> m(np.ones((3, 5), np.float32)).shape
    (6, 5)
    >>> p = fl.layers.Parallel(np.add, α=fl.layers.Dense(10, 2, np.tanh), β=fl.layers.Dense(5, 2))
    >>> p
    Parallel(
      +,
      α = Dense(10 => 2, tanh),             # 22 parameters
      β = Dense(5 => 2),                    # 12 parameters
    )                   # Total: 4 arrays, 34 parameters, 136 bytes.
    >>> p(np.ones(10), np.ones(5)).shape
    (2,)
    """

    def __init__(self, connection, /, *layers, **named):
        if layers and named:
            raise TypeError("Parallel takes either positional layers or named layers, not both.")
        self.connection = _check_layer(connection, "Parallel")
        if named:
            for k in named:
                if k.startswith("_") or hasattr(Parallel, k) or k in ("layers", "connection"):
                    raise ValueError(f"a Parallel layer cannot have a sub-layer named {k!r}")
            self.layers = {k: _check_layer(f, "Parallel") for k, f in named.items()}
        else:
            self.layers = tuple(_check_layer(f, "Parallel") for f in layers)

    def _values(self):
        return tuple(self.layers.values()) if isinstance(self.layers, dict) else self.layers

    def __call__(self, *xs):
        fs = self._values()
        if len(xs) == 1 and isinstance(xs[0], tuple):
            xs = xs[0]
        if len(xs) == 1:
            return self.connection(*[f(xs[0]) for f in fs])
        if len(xs) != len(fs):
            raise TypeError(f"Parallel with {len(fs)} sub-layers can take one input or {len(fs)} "
                            f"inputs, but got {len(xs)} inputs.")
        return self.connection(*[f(x) for f, x in zip(fs, xs)])

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        if isinstance(i, str):
            return self.layers[i]
        return self._values()[i]

    def __getattr__(self, name):
        layers = self.__dict__.get("layers")
        if isinstance(layers, dict) and name in layers:
            return layers[name]
        raise AttributeError(f"'Parallel' object has no attribute {name!r}")

    def _show_children(self):
        kids = [(None, self.connection)]
        if isinstance(self.layers, dict):
            return kids + list(self.layers.items())
        return kids + [(None, f) for f in self.layers]

    def _show(self):
        if isinstance(self.layers, dict):
            inner = ", ".join(f"{k} = {layer_string(f)}" for k, f in self.layers.items())
        else:
            inner = ", ".join(layer_string(f) for f in self.layers)
        return f"Parallel({fname(self.connection)}, {inner})"


class Maxout(Layer):
    """The elementwise maximum of several layers applied to the same input (Goodfellow et al. 2013).

    ``Maxout(layer1, layer2, ...)``, or ``Maxout(make, n)`` which calls the
    zero-argument function ``make`` n times to build the layers.

    >>> import numpy as np, fluxlite as fl
    >>> m = fl.layers.Maxout(lambda x: x ** 2, lambda x: 3 * x)
    >>> m(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    array([4., 1., 0., 3., 6.])
    >>> fl.layers.Maxout(lambda: fl.layers.Dense(5, 7, np.tanh), 3)(np.ones(5)).shape
    (7,)
    """

    def __init__(self, *layers):
        if len(layers) == 2 and isinstance(layers[1], numbers.Integral) and callable(layers[0]):
            make, n = layers
            layers = tuple(make() for _ in range(n))
        if not layers:
            raise TypeError("Maxout needs at least one layer")
        self.layers = tuple(_check_layer(f, "Maxout") for f in layers)

    def __call__(self, x):
        out = self.layers[0](x)
        for f in self.layers[1:]:
            out = np.maximum(out, f(x))
        return out

    def _show_children(self):
        return [(None, f) for f in self.layers]

    def _show(self):
        return "Maxout(" + ", ".join(layer_string(f) for f in self.layers) + ")"


# --------------------------------------------------------------------------- other layers

class Bilinear(Layer):
    """z[o] = σ(xᵀ W[o] y + b[o]): every output mixes two inputs through its own matrix W[o].

    ``Bilinear((in1, in2), out, σ=identity, bias=True, init=glorot_uniform)``
    (Flux's ``Bilinear((in1, in2) => out)``), or ``Bilinear(in, out)`` for two
    inputs of the same size. The weight is out × in1 × in2. Call it as
    ``B(x, y)``, ``B((x, y))``, or ``B(x)`` meaning ``B(x, x)``; x is in1 × N and
    y is in2 × N (or vectors).

    >>> import numpy as np, fluxlite as fl
    >>> B = fl.layers.Bilinear((5, 4), 7)
    >>> B
    Bilinear((5, 4) => 7)  # 147 parameters
    >>> B(np.ones((5, 32)), np.ones((4, 32))).shape
    (7, 32)
    """

    _trainable = ("weight", "bias")

    def __init__(self, *args, bias=True, init=glorot_uniform):
        if args and isinstance(args[0], np.ndarray):
            weight = as_weight(args[0])
            if weight.ndim != 3:
                raise ValueError(f"Bilinear needs a 3-dimensional weight (out × in1 × in2), "
                                 f"got shape {weight.shape}")
            rest = args[1:]
            if rest:
                bias, rest = rest[0], rest[1:]
        else:
            if args and isinstance(args[0], tuple) and len(args[0]) == 2 and isinstance(args[0][0], tuple):
                (n1, n2), n_out, rest = args[0][0], args[0][1], args[1:]
            elif args and isinstance(args[0], tuple) and len(args) >= 2:
                (n1, n2), n_out, rest = args[0], args[1], args[2:]
            else:
                n1, n_out, rest = _pair(args, "Bilinear", "Bilinear((5, 4), 7) or Bilinear(5, 7)")
                n2 = n1
            weight = init(n_out, n1, n2)
            weight = weight if isinstance(weight, Param) else as_weight(weight)
        self.weight = weight
        self.bias = create_bias(weight, bias, weight.shape[0], "Bilinear")
        self.σ = rest[0] if rest else identity

    def __call__(self, x, y=None):
        if y is None:
            if isinstance(x, tuple):
                x, y = x
            else:
                y = x
        _, n1, n2 = self.weight.shape
        check_size(self, x, n1, hint="The first input of Bilinear((in1, in2) => out) has in1 features.")
        check_size(self, y, n2, hint="The second input of Bilinear((in1, in2) => out) has in2 features.")
        x, y = match_dtype(self.weight, x), match_dtype(self.weight, y)
        if np.ndim(x) != np.ndim(y) or np.ndim(x) == 2 and np.shape(x)[1] != np.shape(y)[1]:
            raise shape_error(self, f"needs its two inputs to have the same batch size, but got "
                                    f"shapes {np.shape(x)} and {np.shape(y)}.")
        check_ndim(self, x, (1, 2), "a vector or a features × N matrix")
        sub = "oij,i,j->o" if np.ndim(x) == 1 else "oij,is,js->os"
        W = self.weight
        if type(W) is Param:  # not being differentiated: a constant, passed as a plain array so
            W = W.view(np.ndarray)  # that NumPy dispatches einsum to the traced inputs
        z = np.einsum(sub, W, x, y)
        if self.bias is not False:
            z = z + (self.bias if np.ndim(z) == 1 else np.reshape(self.bias, (-1, 1)))
        return z if self.σ is identity else self.σ(z)

    def _show(self):
        out, n1, n2 = self.weight.shape
        ins = f"{n1}" if n1 == n2 else f"({n1}, {n2})"
        return (f"Bilinear({ins} => {out}{act_suffix(self.σ)}"
                + ("; bias=false" if self.bias is False else "") + ")")


class Embedding(Layer):
    """A lookup table: column ``i`` of an out × in weight is the vector for index ``i``.

    ``Embedding(in, out, init=randn32)`` (Flux's ``Embedding(in => out)``)
    stores ``out``-dimensional vectors for a vocabulary of ``in`` items. Indices
    are 0-based, from 0 to in - 1 (Julia's are 1-based). An integer gives a
    vector, an integer array of shape ``s`` gives ``out × s``, and a one-hot
    matrix (``in × N``, e.g. from `onehotbatch`) gives ``out × N``. The gradient
    of a row used several times is the sum over its uses.

    >>> import numpy as np, fluxlite as fl
    >>> emb = fl.layers.Embedding(26, 4)
    >>> emb
    Embedding(26 => 4)  # 104 parameters
    >>> emb(2).shape, emb(np.array([3, 0, 3])).shape, emb(np.eye(26)[:, :5]).shape
    ((4,), (4, 3), (4, 5))
    """

    _trainable = ("weight",)

    def __init__(self, *args, init=randn32):
        if args and isinstance(args[0], np.ndarray):
            self.weight = as_weight(args[0])
            return
        n_in, n_out, rest = _pair(args, "Embedding", "Embedding(1000, 4)")
        if rest:
            raise TypeError("Embedding takes only its two sizes (and init=...)")
        w = init(n_out, n_in)
        self.weight = w if isinstance(w, Param) else as_weight(w)

    def __call__(self, x):
        n_in = self.weight.shape[1]
        if isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool):
            idx = int(x)
            if not -n_in <= idx < n_in:
                raise shape_error(self, f"has a vocabulary of {n_in} items (indices 0 to {n_in - 1}), "
                                        f"but got index {idx}.",
                                  "Indices are 0-based in fluxlite (Julia's start at 1).")
            return self.weight[:, idx]
        dt = getattr(x, "dtype", None)
        if dt is None:
            x = np.asarray(x)
            dt = x.dtype
        if dt.kind in "iu":
            x = np.asarray(x)
            if x.size and (x.min() < 0 or x.max() >= n_in):
                raise shape_error(self, f"has a vocabulary of {n_in} items (indices 0 to {n_in - 1}), "
                                        f"but got indices from {x.min()} to {x.max()}.",
                                  "Indices are 0-based in fluxlite (Julia's start at 1).")
            return self.weight[:, x]
        # A one-hot array (labels along axis 0): the lookup is a matrix product.
        check_size(self, x, n_in, what="labels",
                   hint="Pass integer indices (0-based), or a one-hot array with the labels on axis 0.")
        x = match_dtype(self.weight, x if dt.kind != "b" else np.asarray(x, self.weight.dtype))
        if np.ndim(x) > 2:
            return np.reshape(self.weight @ np.reshape(x, (n_in, -1)),
                              (self.weight.shape[0],) + np.shape(x)[1:])
        return self.weight @ x

    def _show(self):
        out, n_in = self.weight.shape
        return f"Embedding({n_in} => {out})"


class Scale(Layer):
    """Elementwise y = σ(scale * x + bias), with trainable arrays of the given size.

    ``Scale(size..., σ=identity, bias=True, init=ones32)``: ``scale`` starts at
    ones and ``bias`` at zeros. Their axes line up with the first axes of x
    (Flux's broadcasting), so ``Scale(3)`` scales each of 3 features of a 3 × N
    batch. `LayerNorm` uses it.

    >>> import numpy as np, fluxlite as fl
    >>> s = fl.layers.Scale(2)
    >>> s
    Scale(2)            # 4 parameters
    >>> s(np.ones((2, 3), np.float32))
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """

    _trainable = ("scale", "bias")

    def __init__(self, *args, bias=True, init=ones32):
        args = list(args)
        σ = identity
        if args and callable(args[-1]) and not isinstance(args[-1], numbers.Integral):
            σ = args.pop()
        if args and isinstance(args[0], np.ndarray):
            scale = as_weight(args[0])
        else:
            if not args or not all(isinstance(a, numbers.Integral) for a in args):
                raise TypeError("Scale needs the size of its arrays, e.g. Scale(3) or Scale(3, 4)")
            s = init(*args)
            scale = s if isinstance(s, Param) else as_weight(s)
        self.scale = scale
        self.bias = (np.zeros(scale.shape, scale.dtype).view(Param) if bias is True
                     else False if bias is False else as_weight(bias))
        self.σ = σ

    def __call__(self, x):
        s = self.scale
        for ax, n in enumerate(s.shape):
            check_size(self, x, n, axis=ax, what="entries")
        x = match_dtype(s, x)
        extra = (1,) * (np.ndim(x) - s.ndim)
        y = np.reshape(s, s.shape + extra) * x if extra else s * x
        if self.bias is not False:
            y = y + (np.reshape(self.bias, s.shape + extra) if extra else self.bias)
        return y if self.σ is identity else self.σ(y)

    def _show(self):
        size = ", ".join(map(str, self.scale.shape))
        return (f"Scale({size}{act_suffix(self.σ)}" + ("; bias=false" if self.bias is False else "")
                + ")")


# --------------------------------------------------------------------------- model utilities

def _convert(model, dtype):
    cache = {}

    def conv(a):
        if a.dtype.kind != "f":
            return a
        key = id(a)
        if key not in cache:
            b = np.asarray(a).astype(dtype)
            cache[key] = (b.view(Param) if isinstance(a, Param) else b, a)  # keep `a` alive
        return cache[key][0]

    return functors.fmap(conv, model)


def f64(model):
    """A copy of `model` with every floating-point array in float64 (Flux's ``f64``).

    Trainable arrays stay trainable, and arrays shared between layers stay shared.
    Use it for gradient checks, where float32 rounding hides errors.

    >>> import fluxlite as fl
    >>> m = fl.layers.f64(fl.layers.Dense(2, 3))
    >>> m.weight.dtype, type(m.weight).__name__
    (dtype('float64'), 'Param')
    """
    return _convert(model, np.float64)


def f32(model):
    """A copy of `model` with every floating-point array in float32 (Flux's ``f32``).

    >>> import fluxlite as fl
    >>> fl.layers.f32(fl.layers.f64(fl.layers.Dense(2, 3))).bias.dtype
    dtype('float32')
    """
    return _convert(model, np.float32)


def trainable(m):
    """The children of `m` that training may change, as a dict (Flux's ``Flux.trainable``).

    For a layer these are the attributes listed in its ``_trainable``; for
    other objects, every attribute. Arrays not listed (BatchNorm's running
    statistics) are not trainable.

    >>> import fluxlite as fl
    >>> sorted(trainable(fl.layers.Dense(2, 3)))
    ['bias', 'weight']
    """
    kids = functors.trainable_children(m)
    return {} if kids is None else dict(kids)

