"""The 8×8 handwritten digits that ship with fluxlite (see PROVENANCE.md beside this file)."""
import hashlib
import os

import numpy as np

from fluxlite.data import _float_dtype

__all__ = ["digits"]

#: The shipped file and the SHA-256 it must have; `digits` refuses anything else.
DIGITS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
DIGITS_SHA256 = "b2dab7b501728c22e9119ad76740b2e17c77a231e42d1e592380d90886f1a05e"
N_DIGITS = 1797


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _load_checked(path):
    """The raw ``(images, labels)`` arrays of the digits file, after checking its SHA-256."""
    fix = ("Reinstall fluxlite, or restore fluxlite/datasets/digits.npz from the fluxlite "
           "repository (git checkout -- fluxlite/datasets/digits.npz).")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"digits: the data file {path} is missing. {fix}")
    actual = _sha256(path)
    if actual != DIGITS_SHA256:
        raise ValueError(
            f"digits: the data file {path} is corrupt or has been modified: its SHA-256 is "
            f"{actual}, but fluxlite expects {DIGITS_SHA256}. {fix}"
        )
    with np.load(path, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    return images, labels


def digits(scaled=True, images=False, dtype=np.float32):
    """The 1,797 handwritten digits, 8×8 pixels each, in Flux's layout: ``(X, y)``.

    ``X`` has shape ``(64, 1797)``: one column per image, features first and
    observations last, as in Flux. Column ``n`` holds image ``n`` read row by
    row from the top left (the order of scikit-learn's ``load_digits().data``).
    ``y`` has shape ``(1797,)`` and holds the digits 0 to 9 as int64.

    Each pixel counts how many of the 16 pixels of a 4×4 block of the original
    32×32 scan were ink, so it is an integer from 0 to 16. With ``scaled=True``
    (the default) ``X`` is that count divided by 16, a float in [0, 1]; with
    ``scaled=False`` it is the count itself. ``X`` has type `dtype`, float32 by
    default like fluxlite's layers (and Flux's data sets).

    With ``images=True``, ``X`` has the WHCN shape ``(8, 8, 1, 1797)`` that
    `Conv` layers take: ``X[w, h, 0, n]`` is the pixel in column ``w`` and
    row ``h`` of image ``n`` (so ``plt.imshow(X[:, :, 0, n].T)`` shows it upright).

    The data is the test part of E. Alpaydin and C. Kaynak's "Optical Recognition
    of Handwritten Digits" from the UCI Machine Learning Repository (CC BY 4.0),
    as copied in scikit-learn. The file is checked against its SHA-256 on every
    load, and a corrupt or altered file is refused; see
    ``fluxlite/datasets/PROVENANCE.md``.

    >>> import numpy as np
    >>> import fluxlite as fl
    >>> X, y = fl.datasets.digits()
    >>> X.shape, y.shape, X.dtype, float(X.min()), float(X.max())
    ((64, 1797), (1797,), dtype('float32'), 0.0, 1.0)
    >>> sorted(set(y.tolist()))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> images, _ = fl.datasets.digits(images=True)
    >>> images.shape
    (8, 8, 1, 1797)
    >>> bool(np.array_equal(images[:, :, 0, 5].T.ravel(), X[:, 5]))   # same pixels, two layouts
    True
    """
    dtype = _float_dtype(dtype, "digits")
    raw, labels = _load_checked(DIGITS_FILE)
    X = raw.astype(dtype)
    if scaled:
        X /= 16.0
    if images:
        # (N, rows, columns) -> (columns, rows, N) -> (W, H, C=1, N)
        X = np.ascontiguousarray(X.transpose(2, 1, 0))[:, :, np.newaxis, :]
    else:
        X = np.ascontiguousarray(X.reshape(N_DIGITS, 64).T)
    return X, labels.astype(np.int64)
