"""MNIST-format IDX files, read from a path the user gives. fluxlite never downloads anything.

An IDX file is a 4-byte magic number ``0x00 0x00 T D`` (``T`` the type of the
values, ``D`` the number of dimensions), then ``D`` sizes as big-endian
unsigned 32-bit ints, then the values themselves, big-endian, in row-major
(C) order. The MNIST files are usually gzip-compressed (``.gz``).
"""
import gzip
import math
import os
import struct
import zlib

import numpy as np

from fluxlite.data import _float_dtype

__all__ = ["load_idx", "mnist"]

#: IDX type codes and the (big-endian) dtypes they stand for.
IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_TYPE_LIST = ", ".join(f"0x{code:02X} {dt.name}" for code, dt in IDX_TYPES.items())


def load_idx(path):
    """Read an IDX file (gzip-compressed or not) into a NumPy array of the shape it declares.

    The array has the dimensions stored in the file, in the file's order (for
    MNIST images that is ``(N, rows, columns)``), and the type its header
    declares (uint8, int8, int16, int32, float32 or float64), in native byte
    order. Compression is recognised from the file's first bytes, not its name.

    The file is refused with a ``ValueError`` that says what is wrong if its
    magic number is not ``0x0000TTDD``, its type code is unknown, it is
    truncated (shorter than its header says), it has bytes after the data, or
    it is a damaged gzip file.

    >>> import gzip, os, struct, tempfile
    >>> import numpy as np
    >>> import fluxlite as fl
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx2-ubyte.gz")
    >>> with gzip.open(path, "wb") as f:                 # magic 0x00000802: uint8, 2 dimensions
    ...     _ = f.write(bytes([0, 0, 0x08, 2]) + struct.pack(">II", 2, 3) + bytes(range(6)))
    >>> fl.datasets.load_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(
                f"load_idx: {path} is gzip-compressed but cannot be decompressed ({e}); "
                f"it is probably truncated or corrupt. Download it again."
            ) from None
    if len(raw) < 4:
        raise ValueError(f"load_idx: {path} holds only {len(raw)} bytes, too few for an IDX header; "
                         f"it is truncated or empty.")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"load_idx: {path} is not an IDX file: it starts with 0x{raw[:4].hex().upper()}, but an IDX "
            f"file starts with the magic number 0x0000TTDD (two zero bytes, a type code, the number "
            f"of dimensions), e.g. 0x00000803 for MNIST images."
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise ValueError(f"load_idx: {path} declares the unknown IDX type code 0x{code:02X}; "
                         f"IDX defines {_TYPE_LIST}.")
    if ndim == 0:
        raise ValueError(f"load_idx: {path} declares 0 dimensions; an IDX file has at least one.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"load_idx: {path} is truncated: its header declares {ndim} dimensions "
                         f"({header} header bytes) but the file holds only {len(raw)} bytes.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_TYPES[code]
    count = math.prod(shape)
    expected, found = count * dtype.itemsize, len(raw) - header
    if found < expected:
        raise ValueError(
            f"load_idx: {path} is truncated: its header declares {dtype.name} values of shape {shape}, "
            f"which take {expected} bytes, but only {found} bytes follow the header. "
            f"The download was probably cut short; download it again."
        )
    if found > expected:
        raise ValueError(
            f"load_idx: {path} has {found - expected} bytes after the {expected} bytes of data that its "
            f"header (shape {shape}, {dtype.name}) declares; it is corrupt or not an IDX file."
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


#: The four files of MNIST (and of Fashion-MNIST, which uses the same names).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _where_to_get(directory):
    names = ", ".join(f"{name}.gz" for name in MNIST_FILES.values())
    return (
        f"fluxlite never downloads data. Download the four MNIST files ({names}) yourself, "
        f"for instance from the mirror https://ossci-datasets.s3.amazonaws.com/mnist/ (the original "
        f"http://yann.lecun.com/exdb/mnist/ is often unavailable), and put them, compressed or "
        f"uncompressed, in {directory}."
    )


def _find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _images_whcn(images, path, dtype):
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"mnist: {path} should hold uint8 images of shape (N, rows, columns), "
                         f"but holds {images.dtype} values of shape {images.shape}.")
    # (N, rows, columns) -> (columns, rows, N) -> (W, H, C=1, N), scaled to [0, 1]
    X = images.transpose(2, 1, 0).astype(dtype, order="C")
    X /= 255
    return X[:, :, np.newaxis, :]


def mnist(directory, dtype=np.float32):
    """Load MNIST from the four standard IDX files in `directory`: ``(X_train, y_train), (X_test, y_test)``.

    `directory` must hold ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each either plain
    or gzip-compressed (with ``.gz`` added to the name). If any is missing the
    error names it and says where to download them: fluxlite never downloads
    anything. Fashion-MNIST ships under the same names and loads the same way.

    Images come back in Flux's WHCN layout, shape ``(28, 28, 1, N)``, scaled
    to [0, 1] (pixel / 255), as `dtype` (float32 by default: the 60,000 training
    images take 188 MB as float32 and twice that as float64). ``X[w, h, 0, n]``
    is the pixel in column ``w`` and row ``h``, so ``plt.imshow(X[:, :, 0, n].T)``
    shows image ``n`` upright. Labels are int64 vectors of shape ``(N,)``.

    >>> import gzip, os, struct, tempfile
    >>> import numpy as np
    >>> import fluxlite as fl
    >>> folder = tempfile.mkdtemp()
    >>> def write(name, code, shape, values):   # a tiny stand-in for the real files
    ...     with gzip.open(os.path.join(folder, name + ".gz"), "wb") as f:
    ...         _ = f.write(bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + values)
    >>> for part, n in (("train", 3), ("t10k", 2)):
    ...     write(f"{part}-images-idx3-ubyte", 0x08, (n, 28, 28), bytes(n * 28 * 28))
    ...     write(f"{part}-labels-idx1-ubyte", 0x08, (n,), bytes(range(n)))
    >>> (X, y), (X_test, y_test) = fl.datasets.mnist(folder)
    >>> X.shape, X.dtype, y.tolist(), X_test.shape
    ((28, 28, 1, 3), dtype('float32'), [0, 1, 2], (28, 28, 1, 2))
    """
    dtype = _float_dtype(dtype, "mnist")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"mnist: {directory} is not a directory. {_where_to_get(directory)}")
    paths = {key: _find(directory, name) for key, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"mnist: {directory} lacks {', '.join(missing)} (looked for each name with and without "
            f".gz). {_where_to_get(directory)}"
        )
    splits = []
    for part in ("train", "test"):
        images_path, labels_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        X = _images_whcn(load_idx(images_path), images_path, dtype)
        labels = load_idx(labels_path)
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(f"mnist: {labels_path} should hold a uint8 vector of labels, "
                             f"but holds {labels.dtype} values of shape {labels.shape}.")
        if labels.shape[0] != X.shape[-1]:
            raise ValueError(f"mnist: {images_path} holds {X.shape[-1]} images but {labels_path} holds "
                             f"{labels.shape[0]} labels; the files do not belong together.")
        splits.append((X, labels.astype(np.int64)))
    return tuple(splits)
