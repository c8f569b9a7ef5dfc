"""Benchmark: the CNN at MNIST's scale (28×28 images, batch 64), fluxlite against PyTorch.

The model, in Flux's notation (images are W × H × C × N, 28 × 28 × 1 × 64 per batch)::

    Chain(Conv((3, 3), 1 => 16, relu), MaxPool((2, 2)),     # 28×28×1 → 26×26×16 → 13×13×16
          Conv((3, 3), 16 => 32, relu), MaxPool((2, 2)),    # → 11×11×32 → 5×5×32
          flatten, Dense(800 => 10))

trained with logitcrossentropy and Adam(0.001), float32 throughout. It is bench/cnn.py's
network without padding on bigger images, and it runs through the same code: the same
three implementations (fluxlite in the explicit style a student writes, hand-written
NumPy, PyTorch CPU on one thread), the same initial weights in each, an agreement check
of 15 steps before any timing, interleaved timing, then the same race again in a fresh
process with FLUXLITE_REFERENCE=1.

The data is synthetic, because this benchmark must run without a network: the 1,797
8×8 digits that ship with fluxlite, each enlarged to 20×20 by bilinear interpolation and
centred on a blank 28×28 canvas, as MNIST centres its 20×20 digits. The arithmetic per
step is that of real MNIST; only the pictures are blurrier. With MNIST's IDX files on
disk, ``--mnist DIR`` uses the first 1,792 training images instead.

Target: fluxlite <= 1.5x the PyTorch step (goal: <= 1.0x). The NumPy figure is for
information.

    python bench/cnn_mnist.py [--steps 60] [--repeats 7] [--no-torch] [--no-reference] [--mnist DIR]
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy (and its BLAS) is loaded

import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn import C1, C2, Net, fl, run  # noqa: E402

MNIST = Net(size=28, pad=0)


def upsampled_digits(size=28, digit=20):
    """The shipped 8×8 digits enlarged to `digit`×`digit` (bilinear) and centred on a blank
    `size`×`size` canvas: ``(X, labels)`` with X of shape size × size × 1 × 1797, float32.

    >>> X, labels = upsampled_digits()
    >>> X.shape, X.dtype, labels.shape
    ((28, 28, 1, 1797), dtype('float32'), (1797,))
    >>> float(X[:4].max()), 0.0 < float(X.max()) <= 1.0     # the border stays blank
    (0.0, True)
    """
    X, labels = fl.datasets.digits(images=True)              # 8 × 8 × 1 × 1797, values in [0, 1]
    # Bilinear interpolation along one axis is a matrix: row i samples position i·7/(digit-1).
    at = np.linspace(0, 7, digit)
    A = np.stack([np.interp(at, np.arange(8), row) for row in np.eye(8)], axis=1)  # digit × 8
    big = np.einsum("iw,jh,whn->ijn", A, A, X[:, :, 0, :])
    out = np.zeros((size, size, 1, X.shape[-1]), np.float32)
    lo = (size - digit) // 2
    out[lo:lo + digit, lo:lo + digit, 0] = big
    return out, labels


def load(args):
    """The images, labels and a note on where they come from (see the module's docstring)."""
    if args.mnist:
        (X, labels), _ = fl.datasets.mnist(args.mnist)
        return X[..., :1792], labels[:1792], "MNIST's first 1,792 training images"
    return upsampled_digits() + ("synthetic MNIST-sized images (the 8×8 digits, upsampled)",)


def main(argv=None):
    run(argv, __file__, __doc__, MNIST, load, batch=64, steps=60, repeats=7, limit=1.5,
        title=f"MNIST-scale CNN conv3×3(1→{C1}) relu, maxpool, conv3×3({C1}→{C2}) relu, maxpool, "
              f"dense({MNIST.features}→10), 28×28×1×64, logitcrossentropy + Adam",
        options=lambda parser: parser.add_argument(
            "--mnist", metavar="DIR", help="use MNIST's IDX files in DIR instead of synthetic data"))


if __name__ == "__main__":
    main()
