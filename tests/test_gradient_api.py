"""The gradient contract: what `fl.gradient` takes and returns.

* trackable arrays are NumPy arrays, reproducible with `fl.seed`;
* explicit gradients: one entry per argument, a Python float for a number, an array shaped
  like an array argument, None for an argument the result does not depend on;
* implicit gradients over `fl.params(...)`, as a `Grads` indexed by the arrays, in the
  lambda form and in the decorator form of Flux's do-block;
* structural gradients mirroring dicts, lists, tuples and objects;
* nested gradients: second derivatives and Hessian-vector products.
"""
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fluxlite as fl
from gradcheck import check_gradient, hvp, numerical_hvp
from strategies import arrays

# --------------------------------------------------------------------------- item 1


@pytest.mark.parametrize("make", [lambda: fl.rand(2, 5), lambda: fl.randn(2, 5),
                                  lambda: fl.zeros(2, 5), lambda: fl.ones(2, 5),
                                  lambda: fl.param(np.arange(10).reshape(2, 5))],
                         ids=["rand", "randn", "zeros", "ones", "param"])
def test_trackable_arrays_are_float64_numpy_arrays(make):
    W = make()
    assert isinstance(W, np.ndarray) and isinstance(W, fl.Param)
    assert W.shape == (2, 5) and W.dtype == np.float64


def test_tutorial_isinstance_check():
    assert isinstance(fl.rand(2, 5), np.ndarray)


def test_params_behave_like_numpy_outside_gradient():
    W = fl.param([[1.0, 2.0], [3.0, 4.0]])
    assert type(W * 2) is np.ndarray and type(W @ W) is np.ndarray  # results are plain arrays
    assert np.sum(W) == 10.0 and float(W.max()) == 4.0
    np.testing.assert_array_equal(np.exp(W), np.exp(np.asarray(W)))
    W -= 1.0  # in-place updates keep W a parameter
    assert type(W) is fl.Param
    np.testing.assert_array_equal(W, [[0.0, 1.0], [2.0, 3.0]])


def test_param_copies_its_input_and_keeps_floating_dtypes():
    a = np.array([1.0, 2.0], dtype=np.float32)
    p = fl.param(a)
    a[0] = 100.0
    assert p.dtype == np.float32 and p[0] == 1.0
    assert fl.param([1, 2]).dtype == np.float64
    assert fl.param([1, 2], dtype=np.float32).dtype == np.float32
    assert fl.zeros(3, dtype=np.float32).dtype == np.float32


def test_seed_makes_random_arrays_reproducible():
    fl.seed(0)
    a, b = fl.rand(3, 2), fl.randn(4)
    fl.seed(0)
    c, d = fl.rand(3, 2), fl.randn(4)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)
    fl.seed(1)
    assert not np.array_equal(fl.rand(3, 2), a)
    fl.seed(0)
    np.testing.assert_array_equal(fl.rng().random((3, 2)), a)  # rand draws from fl.rng()


# --------------------------------------------------------------------------- item 2


def test_tutorial_gradient_is_a_tuple_of_python_floats():
    f = lambda x, y: 3*x**2 + 2*x + y  # noqa: E731  (the tutorial's f, line for line)
    g = fl.gradient(f, 2, 2)
    assert g == (14.0, 1.0)
    assert type(g) is tuple and all(type(v) is float for v in g)


def test_gradient_has_one_entry_per_argument_shaped_like_it():
    x, y, s = np.ones((2, 3)), np.arange(3.0), 2.0
    gx, gy, gs = fl.gradient(lambda x, y, s: np.sum(x * y) * s, x, y, s)
    assert gx.shape == (2, 3) and gy.shape == (3,) and type(gs) is float
    np.testing.assert_array_equal(gx, np.tile(y * s, (2, 1)))
    np.testing.assert_array_equal(gy, np.full(3, 2 * s))
    assert gs == np.sum(x * y)


def test_zero_dimensional_array_argument_gets_a_zero_dimensional_array():
    g, = fl.gradient(lambda x: x ** 2, np.array(3.0))
    assert type(g) is np.ndarray and g.shape == () and g == 6.0


def test_an_argument_the_result_does_not_use_gets_none():
    assert fl.gradient(lambda x, y: 2 * x, 1.0, np.ones(3)) == (2.0, None)
    with pytest.warns(fl.NoGradientWarning):  # nothing at all to differentiate: said so
        assert fl.gradient(lambda x: 3.0, np.ones(2)) == (None,)
    assert fl.gradient(lambda x, s, flag: x * len(s), 1.0, "abc", True) == (3.0, None, None)


def test_plain_ndarray_arguments_work_and_are_left_untouched():
    x = np.array([1.0, -2.0, 3.0])
    before = x.copy()
    g, = fl.gradient(lambda x: np.sum(x ** 2), x)
    np.testing.assert_array_equal(g, 2 * before)
    np.testing.assert_array_equal(x, before)
    assert type(x) is np.ndarray and not np.shares_memory(g, x)


def test_an_integer_array_argument_gets_a_float_gradient():
    g, = fl.gradient(lambda x: np.sum(x * 0.5), np.array([1, 2]))
    np.testing.assert_array_equal(g, [0.5, 0.5])


def test_float32_arguments_get_float32_gradients():
    g, = fl.gradient(lambda x: np.sum(x * x), np.ones(3, dtype=np.float32))
    assert g.dtype == np.float32


@settings(max_examples=15, deadline=None)
@given(arrays(min_dims=1), st.data())
def test_non_contiguous_arguments_get_gradients_of_their_own_shape(x, data):
    check_gradient(lambda x: np.tanh(x) * x, x)


def test_gradients_are_separate_writable_arrays():
    x = np.ones(3)
    g1, g2 = fl.gradient(lambda a, b: np.sum(a + b), x, x.copy())
    assert g1.flags.writeable and g2.flags.writeable and not np.shares_memory(g1, g2)
    g1[0] = 100.0
    assert g2[0] == 1.0


def test_withgradient_returns_the_value_as_well():
    res = fl.withgradient(lambda x: np.sum(x ** 2), np.array([1.0, 2.0]))
    val, grad = res
    assert res.val == val == 5.0 and type(val) is float
    np.testing.assert_array_equal(grad[0], [2.0, 4.0])
    # a tuple result: the first element is differentiated, the whole tuple is the value
    val, grad = fl.withgradient(lambda x: (x * 3, "aux"), 2.0)
    assert val == (6.0, "aux") and grad == (3.0,)


# --------------------------------------------------------------------------- item 3


def test_implicit_params_give_grads_indexed_by_the_array():
    W, b, x = fl.rand(2, 5), fl.rand(2), np.random.default_rng(0).random(5)
    grads = fl.gradient(lambda: np.sum((W @ x + b) ** 2), fl.params(W, b))
    assert isinstance(grads, fl.Grads)
    r = W @ x + b
    assert grads[W].shape == W.shape and grads[b].shape == b.shape
    np.testing.assert_allclose(grads[W], 2 * np.outer(r, x))
    np.testing.assert_allclose(grads[b], 2 * r)
    assert type(grads[W]) is np.ndarray


def test_implicit_gradient_of_an_unused_parameter_is_none():
    W, b = fl.ones(2, 2), fl.zeros(2)
    grads = fl.gradient(lambda: np.sum(W), fl.params(W, b))
    assert grads[b] is None and grads[W] is not None


def test_decorator_form_binds_the_name_to_the_grads():
    W, b = fl.ones(2, 3), fl.zeros(2)
    x = np.array([1.0, 2.0, 3.0])

    @fl.gradient(fl.params(W, b))
    def grads():
        return np.sum(W @ x + b)

    assert isinstance(grads, fl.Grads)
    np.testing.assert_array_equal(grads[W], np.tile(x, (2, 1)))
    np.testing.assert_array_equal(grads[b], [1.0, 1.0])


def test_grads_refuses_an_array_that_was_not_a_parameter():
    W, other = fl.ones(2), fl.ones(2)
    grads = fl.gradient(lambda: np.sum(W * other), fl.params(W))
    with pytest.raises(KeyError, match="fl.params"):
        grads[other]


def test_params_refuses_a_plain_ndarray_and_says_how_to_make_it_trainable():
    with pytest.raises(TypeError) as err:
        fl.params(fl.rand(2), np.ones((2, 3)))
    msg = str(err.value)
    assert "(2, 3)" in msg and "fl.param(" in msg and "fl.rand" in msg


def test_params_refuses_numbers():
    with pytest.raises(TypeError, match="fl.param"):
        fl.params(3.0)


def test_params_is_an_ordered_set_keyed_by_identity():
    W, b, twin = fl.ones(2), fl.zeros(3), fl.ones(2)
    ps = fl.params(W, b, W, twin)
    assert len(ps) == 3 and list(ps)[0] is W and list(ps)[1] is b and list(ps)[2] is twin
    assert W in ps and fl.ones(2) not in ps


class Affine:
    _trainable = ("W", "b")

    def __init__(self, n_in, n_out):
        self.W, self.b = fl.randn(n_out, n_in), fl.zeros(n_out)
        self.scale = np.ones(n_out)  # a plain array: configuration, not trained
        self.act = np.tanh

    def __call__(self, x):
        return self.act(self.W @ x + self.b) * self.scale


def test_params_of_a_model_collects_its_trainable_arrays_in_order():
    fl.seed(0)
    first, second = Affine(3, 2), Affine(2, 1)
    model = [first, {"head": second, "tied": first.W}]
    ps = fl.params(model)
    assert [id(p) for p in ps] == [id(first.W), id(first.b), id(second.W), id(second.b)]


def test_implicit_gradient_over_a_models_params_matches_finite_differences():
    fl.seed(1)
    layer, x = Affine(3, 2), np.array([0.5, -1.0, 2.0])
    ps = fl.params(layer)
    grads = fl.gradient(lambda: np.sum(layer(x) ** 2), ps)
    W0, b0 = np.array(layer.W), np.array(layer.b)
    check_gradient(lambda W, b: np.tanh(W @ x + b) ** 2, W0, b0)  # the same function, explicitly
    gW, gb = fl.gradient(lambda W, b: np.sum(np.tanh(W @ x + b) ** 2), W0, b0)
    np.testing.assert_allclose(grads[layer.W], gW)
    np.testing.assert_allclose(grads[layer.b], gb)


def test_parameters_are_plain_params_again_after_gradient():
    W = fl.ones(2, 2)
    fl.gradient(lambda: np.sum(W * 2), fl.params(W))
    fl.gradient(lambda W: np.sum(W * 2), W)
    assert type(W) is fl.Param
    assert type(W * 2) is np.ndarray and type(np.exp(W)) is np.ndarray
    W[0, 0] = 5.0  # writable again outside gradient
    assert W[0, 0] == 5.0


def test_within_gradient_is_true_only_during_a_gradient_call():
    inside = []
    fl.gradient(lambda x: (inside.append(fl.within_gradient()), x * 2)[1], 1.0)
    assert inside == [True] and fl.within_gradient() is False


# --------------------------------------------------------------------------- item 4


def test_structural_gradient_of_a_dict_list_and_tuple():
    d = {"w": np.array([1.0, 2.0]), "b": 3.0, "name": "layer"}
    g, = fl.gradient(lambda d: np.sum(d["w"] * d["b"]), d)
    assert set(g) == {"w", "b", "name"} and g["name"] is None
    np.testing.assert_array_equal(g["w"], [3.0, 3.0])
    assert g["b"] == 3.0 and type(g["b"]) is float
    g, = fl.gradient(lambda xs: xs[0] * xs[1], [2.0, 5.0])
    assert g == [5.0, 2.0]
    g, = fl.gradient(lambda t: t[0] ** 2, (3.0, np.ones(2)))
    assert g == (6.0, None)


def test_structural_gradient_of_nested_containers():
    tree = {"layers": [{"W": np.ones((2, 2))}, {"W": np.full((2, 2), 2.0)}], "frozen": {"k": 1.0}}

    def loss(t):
        return np.sum(t["layers"][0]["W"] @ t["layers"][1]["W"])

    g, = fl.gradient(loss, tree)
    assert g["frozen"] is None  # a subtree with no gradient at all becomes None
    np.testing.assert_array_equal(g["layers"][0]["W"], np.full((2, 2), 4.0))
    np.testing.assert_array_equal(g["layers"][1]["W"], np.full((2, 2), 2.0))


def test_structural_gradient_keeps_namedtuples():
    Point = namedtuple("Point", "x y")
    g, = fl.gradient(lambda p: p.x * p.y ** 2, Point(2.0, 3.0))
    assert isinstance(g, Point) and g == Point(9.0, 12.0)


def test_structural_gradient_of_an_object_is_a_dict_of_its_attributes():
    fl.seed(2)
    layer, x = Affine(3, 2), np.array([1.0, 0.0, -1.0])
    g, = fl.gradient(lambda m: np.sum(m(x)), layer)
    assert set(g) == {"W", "b", "scale", "act"} and g["act"] is None
    r = np.tanh(layer.W @ x + layer.b)
    np.testing.assert_allclose(g["b"], (1 - r ** 2) * layer.scale)
    np.testing.assert_allclose(g["W"], np.outer((1 - r ** 2) * layer.scale, x))
    np.testing.assert_allclose(g["scale"], r)  # plain arrays inside an object get gradients too


def test_structural_gradient_of_a_model_inside_a_list():
    fl.seed(3)
    model = [Affine(2, 2), Affine(2, 1)]
    x = np.array([0.3, -0.4])
    g, = fl.gradient(lambda m: np.sum(m[1](m[0](x))), model)
    assert isinstance(g, list) and set(g[0]) == {"W", "b", "scale", "act"}
    assert g[0]["W"].shape == (2, 2) and g[1]["W"].shape == (1, 2)


def test_model_params_are_traced_in_place_keeping_their_identity():
    layer = Affine(2, 2)
    seen = []
    fl.gradient(lambda m: (seen.append(m.W), np.sum(m.W))[1], layer)
    assert seen[0] is layer.W and type(layer.W) is fl.Param
    layer.scale = fl.ones(2)  # every array a Param: the object itself is handed over
    seen = []
    fl.gradient(lambda m: (seen.append(m), np.sum(m.W))[1], layer)
    assert seen[0] is layer


def test_a_tied_array_gets_its_whole_gradient_once():
    W = fl.param([1.0, 2.0])
    g, = fl.gradient(lambda d: np.sum(d["a"] * d["b"]), {"a": W, "b": W})
    grads = [v for v in g.values() if v is not None]
    assert len(grads) == 1
    np.testing.assert_array_equal(grads[0], 2 * np.array([1.0, 2.0]))  # d/dW ΣW² = 2W


# --------------------------------------------------------------------------- item 7


def test_second_derivative_of_x_cubed_at_2_is_12():
    assert fl.gradient(lambda x: fl.gradient(lambda y: y ** 3, x)[0], 2) == (12.0,)


def test_third_derivative_of_x_cubed_is_6():
    d3 = fl.gradient(lambda x: fl.gradient(lambda y: fl.gradient(lambda z: z ** 3, y)[0], x)[0], 1.5)
    assert d3 == (pytest.approx(6.0),)


A = np.array([[0.5, -1.0, 0.3], [0.2, 0.8, -0.6]])
HVP_FUNCTIONS = {
    "tanh(A @ x), sum": lambda x: np.sum(np.tanh(A @ x) ** 2),
    "exp, broadcasting outer product": lambda x: np.sum(np.exp(0.3 * x[:, None] * x[None, :])),
    "fancy indexing, prod": lambda x: np.sum(x[[0, 2, 2]] ** 3) + np.prod(x[1:]),
    "matrix from reshape, x.T @ x, sin": lambda x: np.sum(np.sin(x.reshape(1, 3).T @ x.reshape(1, 3))),
    "logsoftmax, σ": lambda x: fl.logsoftmax(x)[0] + np.sum(fl.σ(x) * x),
    "mean, log1p, sqrt": lambda x: np.mean(np.log1p(x ** 2)) * np.sqrt(np.sum(x ** 2) + 1),
    "einsum, where": lambda x: np.einsum("i,j,ij->", x, x, np.outer(x, x)) + np.sum(
        np.where(x > 0, x ** 2, -x ** 3)),
}


@pytest.mark.parametrize("f", list(HVP_FUNCTIONS.values()), ids=list(HVP_FUNCTIONS))
def test_hessian_vector_product_matches_finite_differences_of_the_gradient(f):
    rng = np.random.default_rng(5)
    for _ in range(3):
        x, v = rng.uniform(-1.5, 1.5, 3), rng.standard_normal(3)
        got = hvp(f, x, v)
        want = numerical_hvp(f, x, v)
        assert got.shape == x.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_hessian_of_a_quadratic_form_is_exact():
    M = np.array([[2.0, 1.0], [1.0, 3.0]])
    v = np.array([1.0, -2.0])
    np.testing.assert_allclose(hvp(lambda x: 0.5 * x @ M @ x, np.array([0.3, 0.7]), v), M @ v)


def test_nested_gradient_with_respect_to_parameters():
    # a gradient penalty: the implicit gradient of ‖∇ₓ Σ tanh(W x)‖² with respect to W
    W = fl.param([[0.5, -0.3], [0.1, 0.9]])
    x0 = np.array([0.2, -0.4])

    def penalty(W):
        return np.sum(fl.gradient(lambda x: np.sum(np.tanh(W @ x)), x0)[0] ** 2)

    grads = fl.gradient(lambda: penalty(W), fl.params(W))
    check_gradient(penalty, np.array(W))
    explicit, = fl.gradient(penalty, np.array(W))
    np.testing.assert_allclose(grads[W], explicit)


def test_the_same_parameter_passed_as_two_arguments_gets_a_gradient_for_each():
    W = fl.param([1.0, 2.0])
    ga, gb = fl.gradient(lambda a, b: np.sum(a * b * np.array([1.0, 3.0])), W, W)
    np.testing.assert_array_equal(ga, [1.0, 6.0])
    np.testing.assert_array_equal(gb, [1.0, 6.0])
    assert type(W) is fl.Param


# --------------------------------------------------------------------------- the cached model walk
#
# gradient(f, model) walks a model object once and reuses the walk while the model keeps the same
# structure. These tests change the model between calls and check that every change is seen.


class _Affine:
    def __init__(self, W, b):
        self.W, self.b, self.name = W, b, "affine"

    def __call__(self, x):
        return self.W @ x + self.b


def _affine_loss(m, x):
    return np.sum(m(x) ** 2)


def _expected(m, x):
    r = 2 * (np.asarray(m.W) @ x + np.asarray(m.b))
    return np.outer(r, x), r


def test_the_cached_walk_sees_a_replaced_parameter():
    m, x = _Affine(fl.randn(2, 3), fl.randn(2)), np.array([1.0, -2.0, 0.5])
    for _ in range(2):  # the second call uses the cached walk
        g = fl.gradient(_affine_loss, m, x)[0]
    m.W = fl.randn(2, 3)  # a new array: the old walk no longer applies
    g = fl.gradient(_affine_loss, m, x)[0]
    gW, gb = _expected(m, x)
    np.testing.assert_allclose(g["W"], gW)
    np.testing.assert_allclose(g["b"], gb)
    assert set(g) == {"W", "b", "name"} and g["name"] is None


def test_the_cached_walk_sees_a_new_attribute_and_a_removed_one():
    m, x = _Affine(fl.randn(2, 3), fl.randn(2)), np.ones(3)
    fl.gradient(_affine_loss, m, x)
    fl.gradient(_affine_loss, m, x)
    m.extra = fl.randn(4)  # unused by the loss: its gradient is None, but it must be listed
    g = fl.gradient(_affine_loss, m, x)[0]
    assert set(g) == {"W", "b", "name", "extra"} and g["extra"] is None
    del m.extra, m.name
    g = fl.gradient(_affine_loss, m, x)[0]
    assert set(g) == {"W", "b"}


def test_the_cached_walk_sees_a_replaced_layer_inside_a_chain():
    m = fl.Chain(fl.Dense(3, 4, fl.tanh), fl.Dense(4, 2))
    x = np.ones((3, 5), np.float32)
    loss = lambda m: np.sum(m(x))  # noqa: E731
    fl.gradient(loss, m)
    fl.gradient(loss, m)
    m.layers = (m.layers[0], fl.Dense(4, 2, bias=False))
    g = fl.gradient(loss, m)[0]
    assert g["layers"][1]["bias"] is None
    assert g["layers"][1]["weight"].shape == (2, 4)
    check = fl.gradient(lambda W: np.sum(m.layers[1].σ(W @ m.layers[0](x))), m.layers[1].weight)[0]
    np.testing.assert_allclose(g["layers"][1]["weight"], check, rtol=1e-5)


def test_the_cached_walk_keeps_tied_weights_once_and_lists_gradients_like_the_full_walk():
    d = fl.Dense(3, 3, fl.tanh)
    m = fl.Chain(d, d)  # the same layer twice: one set of arrays
    x = np.ones((3, 2), np.float32)
    loss = lambda m: np.sum(m(x))  # noqa: E731
    first = fl.gradient(loss, m)[0]
    second = fl.gradient(loss, m)[0]
    assert second["layers"][1] is None  # the whole gradient went to the first place
    np.testing.assert_allclose(second["layers"][0]["weight"], first["layers"][0]["weight"])
    # the same numbers as a dict model, which is walked afresh every time
    as_dict = {"layers": [d, d]}
    again = fl.gradient(lambda m: np.sum(m["layers"][1](m["layers"][0](x))), as_dict)[0]
    np.testing.assert_allclose(second["layers"][0]["weight"], again["layers"][0]["weight"],
                               rtol=1e-6)


def test_a_model_with_a_float_setting_still_gets_that_settings_gradient():
    class Scaled:
        def __init__(self):
            self.W, self.scale = fl.randn(2, 2), 3.0

    m, x = Scaled(), np.array([1.0, 2.0])
    for _ in range(2):
        g = fl.gradient(lambda m: np.sum(m.scale * (m.W @ x)), m)[0]
    assert g["scale"] == pytest.approx(float(np.sum(np.asarray(m.W) @ x)))
    np.testing.assert_allclose(g["W"], 3.0 * np.outer(np.ones(2), x))


def test_a_cached_model_can_be_differentiated_inside_another_gradient():
    m = _Affine(fl.randn(2, 3), fl.randn(2))
    x = np.array([0.5, -1.0, 2.0])
    fl.gradient(_affine_loss, m, x)  # cache the walk

    def gradient_norm(m):
        g = fl.gradient(_affine_loss, m, x)[0]
        return np.sum(g["W"] ** 2)

    outer = fl.gradient(gradient_norm, m)[0]
    # d/dW of |2 r x^T|^2 with r = W x + b is 8 r (x.x) x^T
    r = np.asarray(m.W) @ x + np.asarray(m.b)
    np.testing.assert_allclose(outer["W"], 8 * (x @ x) * np.outer(r, x), rtol=1e-10)
    assert type(m.W) is fl.Param and type(m.b) is fl.Param


def test_the_cache_lets_a_model_be_freed():
    import gc
    import weakref
    m = _Affine(fl.randn(2, 3), fl.randn(2))
    fl.gradient(_affine_loss, m, np.ones(3))
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_a_gradient_that_is_the_seed_itself_is_a_writable_copy():
    # gradient starts the backward pass from a shared read-only 1.0; a result that passes it
    # through unchanged must still hand the user an array of their own
    s = fl.param(np.array(2.0))
    g = fl.gradient(lambda: s + 0.0, fl.params(s))[s]
    assert g.flags.writeable and g == 1.0
    g += 1.0
    again = fl.gradient(lambda: s + 0.0, fl.params(s))[s]
    assert again == 1.0 and again is not g
    (gx,) = fl.gradient(lambda x: x * 1.0 + 0.0, np.array(3.0))
    assert gx.flags.writeable and gx == 1.0


def test_the_cached_walk_handles_namedtuples_and_list_subclasses_inside_a_model():
    Pair = namedtuple("Pair", ["W", "b"])

    class Layers(list):
        pass

    class Model:
        def __init__(self):
            self.pair = Pair(fl.randn(2, 3), fl.randn(2))
            self.extra = Layers([fl.randn(2)])

    m, x = Model(), np.array([1.0, 0.0, -1.0])
    loss = lambda m: np.sum((m.pair.W @ x + m.pair.b) * m.extra[0])  # noqa: E731
    for _ in range(2):
        g = fl.gradient(loss, m)[0]
    assert type(g["pair"]) is Pair and type(g["extra"]) is Layers
    np.testing.assert_allclose(g["pair"].b, np.asarray(m.extra[0]))
    m.extra.append(fl.randn(2))  # the list changed: walked again
    g = fl.gradient(loss, m)[0]
    assert len(g["extra"]) == 2 and g["extra"][1] is None


# --------------------------------------------------------------------------- joint pullbacks

def _scaled_pullback(seen):
    def pullback(g, ans, wanted, a, x, shift):
        seen.append(wanted)
        grads = {0: np.sum(g * x), 1: g * a}
        return [grads[k] for k in wanted]
    return pullback


def test_a_joint_pullback_gets_only_the_positions_that_need_a_gradient():
    seen = []
    scaled = fl.autodiff.primitive(lambda a, x, shift: a * x + shift, "scaled")
    scaled.defpullback(_scaled_pullback(seen))
    x = np.array([1.0, -2.0, 3.0])
    ga, gx = fl.gradient(lambda a, x: np.sum(scaled(a, x, 1.0) ** 2), 0.5, x)
    y = 0.5 * x + 1.0
    assert ga == pytest.approx(float(np.sum(2 * y * x)))
    np.testing.assert_allclose(gx, 2 * y * 0.5)
    assert seen[-1] == (0, 1)
    g, = fl.gradient(lambda x: np.sum(scaled(0.5, x, 1.0)), x)  # a plain number: no gradient
    np.testing.assert_allclose(g, [0.5] * 3)
    assert seen[-1] == (1,)
    # second order through the joint pullback: d²/da² of sum((a x)²) = 2 Σ x²
    dd, = fl.gradient(lambda a: fl.gradient(lambda a: np.sum(scaled(a, x, 0.0) ** 2), a)[0], 0.5)
    assert dd == pytest.approx(2 * float(np.sum(x ** 2)))


def test_a_joint_pullback_of_the_wrong_shape_is_refused():
    bad = fl.autodiff.primitive(lambda x: 2 * x, "bad").defpullback(
        lambda g, ans, wanted, x: [np.sum(g)])
    with pytest.raises(ValueError, match="pullback of primitive 'bad' for argument 0"):
        fl.gradient(lambda x: np.sum(bad(x)), np.ones(3))
