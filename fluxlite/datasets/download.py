"""Downloading MNIST and Fashion-MNIST into a cache, each file checked against its published SHA-256.

`fluxlite.datasets.mnist(download=True)` and `fashion_mnist(download=True)` come here for the
files they lack. Everything they need to know about a data set is one entry of `DATASETS`:
where the files may be fetched from, and the size and SHA-256 every file must have. A file
is streamed into a hidden temporary file in the cache folder, its size and hash are checked,
and only then is it renamed to its real name: a cut-off, damaged or altered download never
lands in the cache, and the next mirror is tried instead.

The cache folder is ``$FLUXLITE_DATA/<data set>`` if the environment variable
``FLUXLITE_DATA`` is set, else ``~/.cache/fluxlite/<data set>``.
"""
import hashlib
import http.client
import os
import secrets
import sys
import urllib.error
import urllib.request

__all__ = []  # used through fluxlite.datasets.mnist and fashion_mnist

# Sizes and SHA-256 sums are the ones TensorFlow Datasets publishes for the same files, in
# tensorflow_datasets/url_checksums/mnist.txt and fashion_mnist.txt of its repository,
# github.com/tensorflow/datasets. The MNIST mirrors are the copies that PyTorch's torchvision
# (ossci-datasets) and TensorFlow Datasets (cvdf-datasets) download from; the Fashion-MNIST
# ones are Zalando Research's own (its S3 site, and the data folder of its GitHub repository).
DATASETS = {
    "mnist": {
        "title": "MNIST",
        "folder": "mnist",
        "mirror_variable": "FLUXLITE_MNIST_MIRROR",
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        "files": {
            "train-images-idx3-ubyte.gz":
                (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            "train-labels-idx1-ubyte.gz":
                (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            "t10k-images-idx3-ubyte.gz":
                (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            "t10k-labels-idx1-ubyte.gz":
                (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        },
    },
    "fashion_mnist": {
        "title": "Fashion-MNIST",
        "folder": "fashion_mnist",
        "mirror_variable": "FLUXLITE_FASHION_MNIST_MIRROR",
        "mirrors": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        "files": {
            "train-images-idx3-ubyte.gz":
                (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            "train-labels-idx1-ubyte.gz":
                (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            "t10k-images-idx3-ubyte.gz":
                (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            "t10k-labels-idx1-ubyte.gz":
                (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        },
    },
}

#: Seconds to wait for a mirror to connect or to send the next piece of a file.
TIMEOUT = 30

_CHUNK = 64 * 1024


class DownloadError(ConnectionError):
    """No mirror gave a file of the data set with the right size and SHA-256."""


def cache_dir(name):
    """The folder where data set `name` is cached: ``$FLUXLITE_DATA/<folder>`` or
    ``~/.cache/fluxlite/<folder>``.

    >>> import os
    >>> from fluxlite.datasets.download import cache_dir
    >>> os.environ["FLUXLITE_DATA"] = os.path.join("data", "here")
    >>> cache_dir("mnist") == os.path.join("data", "here", "mnist")
    True
    >>> del os.environ["FLUXLITE_DATA"]
    >>> cache_dir("fashion_mnist").endswith(os.path.join(".cache", "fluxlite", "fashion_mnist"))
    True
    """
    root = os.environ.get("FLUXLITE_DATA") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "fluxlite")
    return os.path.join(root, DATASETS[name]["folder"])


def mirrors(name):
    """The base URLs to try, in order: the one in the data set's environment variable
    (``FLUXLITE_MNIST_MIRROR`` for MNIST) if it is set, else the data set's list.

    >>> import os
    >>> from fluxlite.datasets.download import mirrors
    >>> mirrors("mnist")[0]
    'https://ossci-datasets.s3.amazonaws.com/mnist/'
    >>> os.environ["FLUXLITE_MNIST_MIRROR"] = "http://127.0.0.1:8000/mnist"
    >>> mirrors("mnist")
    ['http://127.0.0.1:8000/mnist/']
    >>> del os.environ["FLUXLITE_MNIST_MIRROR"]
    """
    spec = DATASETS[name]
    chosen = os.environ.get(spec["mirror_variable"], "").strip()
    bases = (chosen,) if chosen else spec["mirrors"]
    return [b if b.endswith("/") else b + "/" for b in bases]


def describe_files(name, missing):
    """One line per file: its name, size and SHA-256, for messages."""
    files = DATASETS[name]["files"]
    return "\n".join(f"  {f}  ({files[f][0]:,} bytes, SHA-256 {files[f][1]})" for f in missing)


class _Bar:
    """A progress bar: tqdm's when tqdm can be imported, else a line when each file is done."""

    def __init__(self, total, label):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self.label, self.total, self.done = label, total, 0
        self.bar = (tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
                         leave=True) if tqdm is not None else None)

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)

    def close(self, ok):
        if self.bar is not None:
            self.bar.close()
        elif ok:
            print(f"{self.label}: {self.done:,} bytes, checked", file=sys.stderr, flush=True)


def _get(url, tmp, size, sha256, label, timeout):
    """Stream `url` into the open file `tmp`; None if it is the expected file, else why not."""
    digest, got = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        bar = _Bar(size, label)  # only once a mirror answers: no bars for dead mirrors
        ok = False
        try:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                got += len(chunk)
                if got > size:
                    return f"sent more than the {size:,} bytes the file has; stopped reading"
                digest.update(chunk)
                tmp.write(chunk)
                bar.update(len(chunk))
            if got < size:
                return f"the transfer stopped after {got:,} of {size:,} bytes"
            if digest.hexdigest() != sha256:
                return (f"the file's SHA-256 is {digest.hexdigest()}, not the published "
                        f"{sha256} (damaged or altered)")
            ok = True
            return None
        finally:
            bar.close(ok)


def _reason(err, timeout):
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP error {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"could not connect ({err.reason})"
    if isinstance(err, http.client.IncompleteRead):
        return f"the transfer stopped early ({len(err.partial):,} bytes in the last piece)"
    if isinstance(err, (TimeoutError, OSError)) and "timed out" in str(err):
        return f"no answer within {timeout} seconds"
    return f"{type(err).__name__}: {err}"


def fetch(name, directory, wanted, timeout=None):
    """Download the files `wanted` of data set `name` into `directory`, trying each mirror.

    Each file is written to a hidden temporary file in `directory`, checked against its
    published size and SHA-256, and renamed to its real name only if both match. Raises
    `DownloadError` naming every file that no mirror delivered, what each mirror did, and
    how to place the files by hand.

    Here a folder stands in for a web server (``file://`` addresses work like ``https://``
    ones), and a made-up data set for MNIST:

    >>> import hashlib, os, pathlib, tempfile
    >>> from fluxlite.datasets import download
    >>> server, cache = pathlib.Path(tempfile.mkdtemp()), tempfile.mkdtemp()
    >>> _ = (server / "hello.txt").write_bytes(b"hello")
    >>> download.DATASETS["demo"] = {
    ...     "title": "demo", "folder": "demo", "mirror_variable": "FLUXLITE_DEMO_MIRROR",
    ...     "mirrors": (server.as_uri() + "/",),
    ...     "files": {"hello.txt": (5, hashlib.sha256(b"hello").hexdigest())}}
    >>> _ = download.fetch("demo", cache, ["hello.txt"])
    >>> os.listdir(cache)
    ['hello.txt']
    >>> download.DATASETS["demo"]["files"]["hello.txt"] = (5, "0" * 64)   # a wrong checksum
    >>> os.remove(os.path.join(cache, "hello.txt"))
    >>> try:
    ...     download.fetch("demo", cache, ["hello.txt"])
    ... except download.DownloadError as e:
    ...     print(str(e).splitlines()[2].split(": ", 2)[-1][:44])
    the file's SHA-256 is 2cf24dba5fb0a30e26e83b
    >>> os.listdir(cache)                                              # nothing kept
    []
    >>> del download.DATASETS["demo"]
    """
    spec = DATASETS[name]
    timeout = TIMEOUT if timeout is None else timeout
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise type(err)(f"{spec['title']}: cannot create the folder {directory} ({err.strerror}). "
                        f"Set FLUXLITE_DATA to a folder you can write to, or pass another "
                        f"folder.") from None
    failures = {}
    for filename in wanted:
        size, sha256 = spec["files"][filename]
        tried = []
        for base in mirrors(name):
            url = base + filename
            tmp_path = os.path.join(directory, f".{filename}.{secrets.token_hex(4)}.part")
            try:
                tmp = open(tmp_path, "xb")
            except OSError as err:
                raise type(err)(f"{spec['title']}: cannot write in the folder {directory} "
                                f"({err.strerror}). Set FLUXLITE_DATA to a folder you can write "
                                f"to, or pass another folder.") from None
            why = None
            try:
                with tmp:
                    why = _get(url, tmp, size, sha256, f"{spec['title']} {filename}", timeout)
                if why is None:
                    os.replace(tmp_path, os.path.join(directory, filename))
                    break
            except (OSError, http.client.HTTPException, ValueError) as err:
                why = _reason(err, timeout)
            finally:
                if os.path.lexists(tmp_path):
                    os.remove(tmp_path)
            tried.append(f"{url}: {why}")
        else:
            failures[filename] = tried
    if failures:
        lines = "\n".join(f"  {t}" for tried in failures.values() for t in tried)
        names = list(failures)
        raise DownloadError(
            f"{spec['title']}: could not download {', '.join(names)}; nothing damaged was kept.\n"
            f"What each mirror did:\n{lines}\n"
            f"If this computer is offline, or these mirrors are blocked, place the files by hand: "
            f"download them elsewhere from one of the addresses above, check each file's SHA-256 "
            f"(sha256sum FILE on Linux, shasum -a 256 FILE on macOS) against the list below, and "
            f"copy them into this folder: {directory}\n{describe_files(name, names)}\n"
            f"Another mirror can be given as a base URL in the environment variable "
            f"{spec['mirror_variable']}."
        )
    return directory
