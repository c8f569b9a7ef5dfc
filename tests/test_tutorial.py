"""The blog tutorial "Machine Learning in Julia with Flux", translated line for line by the
rules of docs/ROSETTA.md, runs and learns.

Julia → Python, as in the contract: ``gradient`` → ``fl.gradient``, ``rand`` → ``fl.rand``,
``W * x .+ b`` → ``W @ x + b``, ``(y .- ypred).^2`` → ``(y - ypred)**2``, the do-block →
the ``@fl.gradient(ps)`` decorator, ``update!`` → ``fl.update_``, ``Flux.train!`` →
``fl.train_``, ``push!(losses, sum(loss.(x,y)))`` → ``losses.append(sum(map(loss, x, y)))``.

The tutorial runs 1000 epochs; 200 are enough to see the loss settle (the test suite must stay
fast), and `fl.seed` makes the runs repeatable.
"""
import numpy as np
import pytest

import fluxlite as fl

EPOCHS = 200


def test_simple_gradient_of_f():
    f = lambda x, y: 3*x**2 + 2*x + y  # noqa: E731   f(x,y) = 3x^2 + 2x + y
    df = lambda x, y: fl.gradient(f, x, y)  # noqa: E731   df(x,y) = gradient(f,x,y)
    assert df(2, 2) == (14.0, 1.0)  # julia> df(2,2)  (14, 1)


def tutorial(optimizer, form="do-block", epochs=EPOCHS, seed=0):
    """The tutorial's linear regression, line for line. Returns what a student would look at."""
    fl.seed(seed)

    def generate_data(N_samps):
        W0, b0 = fl.rand(2, 5), fl.rand(2)
        x = [fl.rand(5) for _ in range(N_samps)]
        y = [W0 @ x[i] + b0 + fl.rand(2) for i in range(N_samps)]
        return x, y

    # Model / generate prediction
    def predict(x):
        return W @ x + b

    # Loss function on an example
    def loss(x, y):
        ypred = predict(x)
        return np.sum((y - ypred)**2)

    # Generate some data
    N_samps = 10
    x, y = generate_data(N_samps)

    # Initialize parameters
    W, b = fl.rand(2, 5), fl.rand(2)
    before = sum(map(loss, x, y))

    # Store epoch loss
    losses = []

    # Run the epochs of gradient descent
    for iter in range(1, epochs + 1):
        if form == "train_":
            fl.train_(loss, fl.params(W, b), zip(x, y), optimizer)
        else:
            for i in range(N_samps):
                # Compute gradient of loss evaluated at sample
                if form == "do-block":
                    @fl.gradient(fl.params(W, b))
                    def grads():
                        return loss(x[i], y[i])
                else:
                    grads = fl.gradient(lambda: loss(x[i], y[i]), fl.params(W, b))

                # Update parameters via gradient descent
                for p in (W, b):
                    fl.update_(optimizer, p, grads[p])
        # Save epoch loss
        losses.append(sum(map(loss, x, y)))

    # the best any affine map can do on this data: least squares
    X = np.array([np.append(xi, 1.0) for xi in x])
    Y = np.array(y)
    coef = np.linalg.lstsq(X, Y, rcond=None)[0]
    best = float(np.sum((X @ coef - Y) ** 2))
    return losses, before, best, (W, b)


def test_generate_data_gives_ten_samples_of_the_right_shapes():
    fl.seed(0)
    W0, b0 = fl.rand(2, 5), fl.rand(2)
    x = [fl.rand(5) for _ in range(10)]
    y = [W0 @ x[i] + b0 + fl.rand(2) for i in range(10)]
    assert len(x) == len(y) == 10
    assert all(xi.shape == (5,) for xi in x) and all(yi.shape == (2,) for yi in y)


def test_predict_and_loss_compute_the_tutorials_formula():
    W, b = fl.param([[1.0, 0.0, 2.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, -1.0]]), fl.param([0.5, -0.5])
    predict = lambda x: W @ x + b  # noqa: E731
    x, y = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([7.0, -4.0])
    np.testing.assert_array_equal(predict(x), [7.5, -3.5])
    ypred = predict(x)
    assert np.sum((y - ypred)**2) == 0.5
    grads = fl.gradient(lambda: np.sum((y - predict(x))**2), fl.params(W, b))
    np.testing.assert_allclose(grads[b], -2 * (y - ypred))
    np.testing.assert_allclose(grads[W], -2 * np.outer(y - ypred, x))


@pytest.mark.parametrize("optimizer", [lambda: fl.Descent(0.05), lambda: fl.ADAM(0.05)],
                         ids=["Descent(0.05)", "ADAM(0.05)"])
@pytest.mark.parametrize("form", ["do-block", "lambda"])
def test_linear_regression_loss_decreases_to_near_the_least_squares_fit(optimizer, form):
    losses, before, best, (W, b) = tutorial(optimizer(), form)
    assert len(losses) == EPOCHS
    assert losses[-1] < losses[0] < before
    assert losses[-1] < 0.5 * before
    assert losses[-1] <= 1.25 * best  # per-sample steps end close to the best affine fit
    assert type(W) is fl.Param and type(b) is fl.Param and W.shape == (2, 5) and b.shape == (2,)


def test_the_do_block_and_the_lambda_form_train_identically():
    do_block, *_ = tutorial(fl.Descent(0.05), "do-block", epochs=20)
    lam, *_ = tutorial(fl.Descent(0.05), "lambda", epochs=20)
    assert do_block == lam


def test_train_replaces_the_inner_loop():
    manual, *_ = tutorial(fl.Descent(0.05), "lambda", epochs=20)
    trained, *_ = tutorial(fl.Descent(0.05), "train_", epochs=20)
    np.testing.assert_allclose(trained, manual, rtol=1e-12)


def test_adam_is_also_spelled_adam():
    assert fl.ADAM is fl.Adam
