"""MNIST-format IDX files: a streaming reader, and MNIST and Fashion-MNIST from a folder or a cache.

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
from fluxlite.datasets import download

__all__ = ["load_idx", "mnist", "fashion_mnist"]

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


#: The largest array `load_idx` reads unless told otherwise: 256 MiB, five times MNIST's
#: largest file (47 MB). A header that declares more is refused before anything is allocated.
MAX_BYTES = 256 * 2**20

_CHUNK = 2**20  # bytes read (and decompressed) at a time


def _read_up_to(stream, n):
    """Up to `n` bytes from `stream` (fewer only at the end of the data)."""
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _fill(stream, view):
    """Read into the writable memoryview `view` in chunks; the number of bytes read."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:got + _CHUNK])
        if not n:
            break
        got += n
    return got


def load_idx(path, max_bytes=MAX_BYTES):
    """Read an IDX file (gzip-compressed or not) into a NumPy array of the shape it declares.

    The array has the dimensions stored in the file, in the file's order (for
    MNIST images that is ``(N, rows, columns)``), and the type its header
    declares (uint8, int8, int16, int32, float32 or float64), in native byte
    order. Compression is recognised from the file's first bytes, not its name.

    The file is read as a stream: first the header, then exactly the number of
    bytes it declares, straight into the array, decompressing a piece at a time.
    Memory never goes beyond the declared size, so a damaged or hostile file (a
    small gzip file that expands to gigabytes) cannot fill it. An array larger
    than `max_bytes` (256 MiB unless you pass more) is refused from the header
    alone, before anything is allocated.

    The file is refused with a ``ValueError`` that says what is wrong if its
    magic number is not ``0x0000TTDD``, its type code is unknown, it is
    truncated (shorter than its header says), it has bytes after the data,
    its header declares more than `max_bytes`, or it is a damaged gzip file.

    >>> import gzip, os, struct, tempfile
    >>> import numpy as np
    >>> import fluxlite as fl
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx2-ubyte.gz")
    >>> with gzip.open(path, "wb") as f:                 # magic 0x00000802: uint8, 2 dimensions
    ...     _ = f.write(bytes([0, 0, 0x08, 2]) + struct.pack(">II", 2, 3) + bytes(range(6)))
    >>> fl.datasets.load_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    >>> try:
    ...     fl.datasets.load_idx(path, max_bytes=4)      # 6 bytes declared: more than allowed
    ... except ValueError as e:
    ...     print(str(e).split(";")[0])
    load_idx: ...tiny-idx2-ubyte.gz declares uint8 values of shape (2, 3), which take 6 bytes
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            size = None if compressed else os.fstat(raw.fileno()).st_size
            return _read_idx(stream, path, max_bytes, size)
        except (OSError, EOFError, zlib.error) as e:
            if not compressed:
                raise
            raise ValueError(
                f"load_idx: {path} is gzip-compressed but cannot be decompressed ({e}); "
                f"it is probably truncated or corrupt. Download it again."
            ) from None
        finally:
            if compressed:
                stream.close()


def _read_idx(stream, path, max_bytes, size=None):
    """The body of `load_idx`; `size` is the file's length when it is not compressed."""
    magic = _read_up_to(stream, 4)
    if len(magic) < 4:
        raise ValueError(f"load_idx: {path} holds only {len(magic)} bytes, too few for an IDX "
                         f"header; it is truncated or empty.")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"load_idx: {path} is not an IDX file: it starts with 0x{magic.hex().upper()}, but an IDX "
            f"file starts with the magic number 0x0000TTDD (two zero bytes, a type code, the number "
            f"of dimensions), e.g. 0x00000803 for MNIST images."
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        raise ValueError(f"load_idx: {path} declares the unknown IDX type code 0x{code:02X}; "
                         f"IDX defines {_TYPE_LIST}.")
    if ndim == 0:
        raise ValueError(f"load_idx: {path} declares 0 dimensions; an IDX file has at least one.")
    header = 4 + 4 * ndim
    sizes = _read_up_to(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"load_idx: {path} is truncated: its header declares {ndim} dimensions "
                         f"({header} header bytes) but the file holds only {4 + len(sizes)} bytes.")
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = IDX_TYPES[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    if expected > max_bytes:
        raise ValueError(
            f"load_idx: {path} declares {dtype.name} values of shape {shape}, which take "
            f"{expected:,} bytes; that is more than max_bytes={max_bytes:,}, so nothing was read "
            f"or allocated. A damaged or hostile header can declare any size. If the file really "
            f"is that large, call load_idx(path, max_bytes=...) with a larger limit."
        )
    if size is not None and size - header < expected:
        found = size - header  # an uncompressed file shows it is short before anything is allocated
    else:
        data = np.empty(count, dtype=dtype)
        found = _fill(stream, memoryview(data).cast("B"))
    if found < expected:
        raise ValueError(
            f"load_idx: {path} is truncated: its header declares {dtype.name} values of shape {shape}, "
            f"which take {expected} bytes, but only {found} bytes follow the header. "
            f"The download was probably cut short; download it again."
        )
    extra = len(_read_up_to(stream, _CHUNK))  # look a little way past the end, never further
    if extra:
        amount = f"{extra} bytes" if extra < _CHUNK else f"at least {_CHUNK:,} bytes"
        raise ValueError(
            f"load_idx: {path} has {amount} after the {expected} bytes of data that its "
            f"header (shape {shape}, {dtype.name}) declares; it is corrupt or not an IDX file."
        )
    if not dtype.isnative:  # big-endian in the file: swap the bytes in place, no second copy
        data = data.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return data.reshape(shape)


#: The four files of MNIST (and of Fashion-MNIST, which uses the same names).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _how_to_get(name, directory, missing, cached):
    """What to do about missing files: download them, or place them by hand."""
    spec = download.DATASETS[name]
    call = f"fl.datasets.{name}({'' if cached else 'directory, '}download=True)"
    return (
        f"To download the files, each checked against its published SHA-256, call {call}. Or place "
        f"the files there by hand, compressed (.gz) or not, from one of these mirrors: "
        f"{', '.join(download.mirrors(name))}\n"
        f"{download.describe_files(name, [f + '.gz' for f in missing])}"
        + (f"\nCache folder: $FLUXLITE_DATA/{spec['folder']} if FLUXLITE_DATA is set, else "
           f"~/.cache/fluxlite/{spec['folder']}." if cached else "")
    )


def _find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _images_whcn(images, path, dtype, who):
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{who}: {path} should hold uint8 images of shape (N, rows, columns), "
                         f"but holds {images.dtype} values of shape {images.shape}.")
    # (N, rows, columns) -> (columns, rows, N) -> (W, H, C=1, N), scaled to [0, 1]
    X = images.transpose(2, 1, 0).astype(dtype, order="C")
    X /= 255
    return X[:, :, np.newaxis, :]


def _load(name, directory, fetch, dtype):
    who = name
    dtype = _float_dtype(dtype, who)
    title = download.DATASETS[name]["title"]
    cached = directory is None
    directory = download.cache_dir(name) if cached else os.fspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"{who}: {directory} is a file, not a folder. Give the folder that "
                                 f"holds the four {title} files.")
    if not fetch and not os.path.isdir(directory):
        missing = list(MNIST_FILES.values())
        where = "the cache folder " + directory if cached else directory
        raise FileNotFoundError(f"{who}: {title} not found: {where} does not exist. "
                                f"{_how_to_get(name, directory, missing, cached)}")
    paths = {key: _find(directory, f) for key, f in MNIST_FILES.items()} if os.path.isdir(directory) \
        else dict.fromkeys(MNIST_FILES)
    missing = [MNIST_FILES[key] for key, path in paths.items() if path is None]
    if missing and fetch:
        download.fetch(name, directory, [f + ".gz" for f in missing])
        paths = {key: _find(directory, f) for key, f in MNIST_FILES.items()}
        missing = [MNIST_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"{who}: {title} not found: {directory} lacks {', '.join(missing)} (looked for each "
            f"name with and without .gz). {_how_to_get(name, directory, missing, cached)}"
        )
    splits = []
    for part in ("train", "test"):
        images_path, labels_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        X = _images_whcn(load_idx(images_path), images_path, dtype, who)
        labels = load_idx(labels_path)
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(f"{who}: {labels_path} should hold a uint8 vector of labels, "
                             f"but holds {labels.dtype} values of shape {labels.shape}.")
        if labels.shape[0] != X.shape[-1]:
            raise ValueError(f"{who}: {images_path} holds {X.shape[-1]} images but {labels_path} holds "
                             f"{labels.shape[0]} labels; the files do not belong together.")
        splits.append((X, labels.astype(np.int64)))
    return tuple(splits)


def mnist(directory=None, *, download=False, dtype=np.float32):
    """MNIST's handwritten digits: ``(X_train, y_train), (X_test, y_test)``.

    This is MLDatasets.jl's ``MNIST`` (``MNIST(split=:train)[:]``) in Flux's layout: images
    come back as ``(28, 28, 1, N)`` arrays (W × H × C × N), scaled to [0, 1] (pixel / 255),
    as `dtype` (float32 by default: the 60,000 training images take 188 MB as float32 and
    twice that as float64). ``X[w, h, 0, n]`` is the pixel in column ``w`` and row ``h``, so
    ``plt.imshow(X[:, :, 0, n].T)`` shows image ``n`` upright. Labels are int64 vectors of
    shape ``(N,)``: 60,000 for training and 10,000 for testing.

    The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each plain or with ``.gz``) are
    read from `directory`, or when it is None from the cache folder
    ``$FLUXLITE_DATA/mnist`` (``~/.cache/fluxlite/mnist`` if ``FLUXLITE_DATA`` is not set).

    With ``download=True`` the files that are missing are downloaded first (11 MB in all):
    from the mirrors in ``fluxlite.datasets.download.DATASETS``, or from the one base URL in
    the environment variable ``FLUXLITE_MNIST_MIRROR``. Each file must match its published
    size and SHA-256 before it is put in the folder; a damaged, altered or cut-off download
    is thrown away and the next mirror tried. A progress bar is shown with tqdm when tqdm is
    installed (it comes with fluxlite's ``lessons`` and ``test`` extras; fluxlite itself
    needs only NumPy), else one line per file. Without ``download=True`` nothing is ever
    downloaded; if files are missing, the ``FileNotFoundError`` names them, says how to
    download them and where to place them by hand.

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
    >>> try:
    ...     fl.datasets.mnist(tempfile.mkdtemp())            # an empty folder
    ... except FileNotFoundError as e:
    ...     print(str(e).split(":")[1].strip())
    MNIST not found
    """
    return _load("mnist", directory, download, dtype)


def fashion_mnist(directory=None, *, download=False, dtype=np.float32):
    """Zalando's Fashion-MNIST: ``(X_train, y_train), (X_test, y_test)``, like `mnist`.

    MLDatasets.jl's ``FashionMNIST``: 28 × 28 grey images of clothes in ten classes, 0
    T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker,
    8 bag, 9 ankle boot; 60,000 for training and 10,000 for testing. The files have the
    same names and format as MNIST's, so everything `mnist` says holds here: the layout
    ``(28, 28, 1, N)`` scaled to [0, 1], the folder (``$FLUXLITE_DATA/fashion_mnist`` or
    ``~/.cache/fluxlite/fashion_mnist`` when `directory` is None), and ``download=True``
    (30 MB, checked against the published SHA-256 sums; the environment variable
    ``FLUXLITE_FASHION_MNIST_MIRROR`` overrides the mirrors).

    >>> import os, tempfile
    >>> import fluxlite as fl
    >>> os.environ["FLUXLITE_DATA"] = tempfile.mkdtemp()       # an empty cache, for the example
    >>> try:
    ...     fl.datasets.fashion_mnist()
    ... except FileNotFoundError as e:
    ...     print(str(e).split(". ")[0])
    fashion_mnist: Fashion-MNIST not found: the cache folder ...fashion_mnist does not exist
    >>> del os.environ["FLUXLITE_DATA"]
    """
    return _load("fashion_mnist", directory, download, dtype)
