"""The dashboard's data: `Dataset` (a train/test split, observations last) and the built-in sets.

`builtin_data` makes one of the `DATASETS` together with the fluxlite code that makes it again,
which `TrainingDashboard.code` prints.
"""
import dataclasses

import numpy as np

import fluxlite as fl

# key -> (menu label, task, default noise (None: the data has no noise setting), points)
DATASETS = {
    "circles": ("circles", "classification", 0.05, 200),
    "moons": ("moons", "classification", 0.1, 200),
    "xor": ("xor", "classification", 0.1, 200),
    "spiral": ("spiral", "classification", 0.05, 300),
    "gaussian": ("gaussian (3 classes)", "classification", 0.3, 200),
    "regression1d": ("1-D regression (sine)", "regression", 0.1, 100),
    "linear": ("linear regression (tutorial)", "regression", None, 100),
}

# Data sets that come with their lesson's model: the hidden-layer and activation controls are
# greyed out, and the model is one Dense layer from the inputs to the outputs (a linear model).
LINEAR_MODEL = {"linear": "the tutorial's linear model, Dense(5 => 2)"}


@dataclasses.dataclass
class Dataset:
    """A train/test split for `TrainingDashboard`, in Flux's layout (observations last).

    ``x_train`` is ``features × N`` (any shape whose last axis is the observations, e.g. images
    ``W × H × C × N``). For ``task="classification"``, ``y_train`` holds integer labels
    ``0 … classes-1`` (shape ``(N,)``), or is already one-hot (``classes × N``); for
    ``"regression"`` it is the ``outputs × N`` targets. `code` is optional Python that
    rebuilds ``Xtrain, Ytrain, Xtest, Ytest`` for `TrainingDashboard.code`.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(4, 30)).astype(np.float32)
    >>> data = Dataset(X[:, :20], np.arange(20) % 3, X[:, 20:], np.arange(10) % 3)
    >>> data.n_in, data.n_out, data.targets()[0].shape
    (4, 3, (3, 20))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    classes: int = None
    name: str = "data"
    code: str = None
    builtin: str = None        # the key in `DATASETS` of a built-in data set

    def __post_init__(self):
        if self.task not in ("classification", "regression"):
            raise ValueError(f"Dataset: task must be 'classification' or 'regression', "
                             f"got {self.task!r}.")
        for which in ("train", "test"):
            x, y = getattr(self, f"x_{which}"), getattr(self, f"y_{which}")
            if np.shape(x)[-1] != np.shape(y)[-1]:
                raise ValueError(
                    f"Dataset: x_{which} has {np.shape(x)[-1]} observations (last axis, shape "
                    f"{np.shape(x)}) but y_{which} has {np.shape(y)[-1]} (shape {np.shape(y)}). "
                    f"Observations go along the last axis, as in Flux.")
        if self.task == "classification" and self.classes is None:
            y = np.asarray(self.y_train)
            self.classes = int(y.shape[0]) if y.ndim == 2 else int(
                max(np.max(self.y_train), np.max(self.y_test))) + 1

    @property
    def n_in(self):
        """Features per observation (the first axis of a ``features × N`` input)."""
        return int(np.shape(self.x_train)[0])

    @property
    def n_out(self):
        """Outputs the model must produce: the number of classes, or of regression targets."""
        if self.task == "classification":
            return self.classes
        return int(np.shape(self.y_train)[0]) if np.ndim(self.y_train) > 1 else 1

    def targets(self):
        """``(Ytrain, Ytest)``: one-hot ``classes × N`` for classification, else the targets."""
        if self.task == "regression":
            return np.asarray(self.y_train), np.asarray(self.y_test)
        out = []
        for y in (self.y_train, self.y_test):
            y = np.asarray(y)
            out.append(y if y.ndim == 2 else fl.onehotbatch(y, range(self.classes)))
        return tuple(out)


def builtin_data(key, noise, split, seed, n=None):
    """One of the dashboard's data sets as a `Dataset`, with the code that makes it.

    The points come shuffled from the generators, so the first ``round(split · n)`` train and
    the rest test.

    >>> data = builtin_data("xor", 0.1, 0.5, 0)
    >>> data.x_train.shape, data.x_test.shape, data.classes
    ((2, 100), (2, 100), 2)
    >>> print(data.code.splitlines()[0])
    X, labels = fl.datasets.xor(200, noise=0.1, rng=0)
    """
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {key!r}; choose one of {', '.join(DATASETS)}.")
    label, task, default_noise, default_n = DATASETS[key]
    n = default_n if n is None else int(n)
    ntrain = min(max(int(round(split * n)), 1), n - 1)
    if key == "linear":
        x, y = fl.datasets.linear_regression(n, rng=seed)
        X, Y = np.stack(x, axis=-1).astype(np.float32), np.stack(y, axis=-1).astype(np.float32)
        code = (f"x, y = fl.datasets.linear_regression({n}, rng={seed})   # the tutorial's data\n"
                f"X = np.stack(x, axis=-1).astype(np.float32)   # 5 × {n}: features × samples\n"
                f"Y = np.stack(y, axis=-1).astype(np.float32)   # 2 × {n}\n")
    elif task == "regression":
        X, Y = getattr(fl.datasets, key)(n, noise=noise, rng=seed)
        code = f"X, Y = fl.datasets.{key}({n}, noise={noise!r}, rng={seed})\n"
    else:
        X, labels = getattr(fl.datasets, key)(n, noise=noise, rng=seed)
        code = f"X, labels = fl.datasets.{key}({n}, noise={noise!r}, rng={seed})\n"
    code += f"Xtrain, Xtest = X[:, :{ntrain}], X[:, {ntrain}:]\n"
    if task == "regression":
        code += f"Ytrain, Ytest = Y[:, :{ntrain}], Y[:, {ntrain}:]\n"
        return Dataset(X[:, :ntrain], Y[:, :ntrain], X[:, ntrain:], Y[:, ntrain:],
                       task=task, name=label, code=code, builtin=key)
    classes = int(labels.max()) + 1
    code += (f"Ytrain = fl.onehotbatch(labels[:{ntrain}], range({classes}))\n"
             f"Ytest = fl.onehotbatch(labels[{ntrain}:], range({classes}))\n")
    return Dataset(X[:, :ntrain], labels[:ntrain], X[:, ntrain:], labels[ntrain:],
                   task=task, classes=classes, name=label, code=code, builtin=key)


# TensorFlow Playground's input features: key -> (label, NumPy expression over the raw inputs
# X, whose rows are x₁ and x₂). The same text computes them in training and in the code.
FEATURES = {
    "x1": ("x₁", "X[0]"),
    "x2": ("x₂", "X[1]"),
    "x1sq": ("x₁²", "X[0] ** 2"),
    "x2sq": ("x₂²", "X[1] ** 2"),
    "x1x2": ("x₁x₂", "X[0] * X[1]"),
    "sinx1": ("sin x₁", "np.sin(X[0])"),
    "sinx2": ("sin x₂", "np.sin(X[1])"),
}
DEFAULT_FEATURES = ("x1", "x2")


def feature_inputs(key):
    """How many raw inputs feature `key` needs: 2 if it uses x₂, else 1.

    >>> feature_inputs("sinx1"), feature_inputs("x1x2")
    (1, 2)
    """
    return 2 if "X[1]" in FEATURES[key][1] else 1


def features_apply(data, fixed_model=False):
    """Why the input features do not apply to `data` (a sentence), or None when they do.

    They apply to the built-in data sets with one or two inputs (x₁, x₂), whose model the
    dashboard builds; not to the tutorial's linear regression (five inputs, its own model) nor
    to your own `Dataset`.

    >>> features_apply(builtin_data("linear", None, 0.5, 0), fixed_model=True)
    "the tutorial's linear regression keeps its 5 inputs as they are"
    >>> features_apply(builtin_data("xor", 0.1, 0.5, 0)) is None
    True
    """
    if fixed_model:
        return f"the tutorial's linear regression keeps its {data.n_in} inputs as they are"
    if getattr(data, "builtin", None) is None:
        return "your own data goes to the model as it is"
    if np.ndim(data.x_train) != 2 or data.n_in > 2:
        return f"this data has {data.n_in} inputs, not x₁ and x₂"
    return None


def chosen_features(keys, data):
    """The features of `keys` that `data` has inputs for, in `FEATURES` order.

    >>> chosen_features(("x2", "x1", "sinx2"), builtin_data("regression1d", 0.1, 0.5, 0))
    ('x1',)
    """
    return tuple(k for k in FEATURES if k in keys and feature_inputs(k) <= data.n_in)


def identity_features(keys, data):
    """True when `keys` are just the raw inputs (x₁, or x₁ and x₂), so nothing is computed."""
    return tuple(keys) == DEFAULT_FEATURES[:data.n_in]


def features_code(keys):
    """The body of ``features(X)``: the chosen features stacked as rows.

    >>> features_code(("x1", "x1sq", "sinx2"))
    'np.stack([X[0], X[0] ** 2, np.sin(X[1])])'
    """
    return "np.stack([" + ", ".join(FEATURES[k][1] for k in keys) + "])"


def feature_function(keys):
    """``features(X)``, computed from the very text `features_code` writes into the code.

    >>> X = np.array([[1.0, 2.0], [0.0, 3.0]], dtype=np.float32)
    >>> feature_function(("x1x2", "x2sq"))(X).tolist()
    [[0.0, 6.0], [0.0, 9.0]]
    """
    return eval("lambda X: " + features_code(keys), {"np": np})  # our own fixed text
