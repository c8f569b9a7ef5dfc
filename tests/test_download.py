"""Downloading MNIST and Fashion-MNIST, against a web server of the test's own on 127.0.0.1.

The server hands out small MNIST-shaped IDX files that the tests generate. Their sizes and
SHA-256 sums go into `fluxlite.datasets.download.DATASETS`, the one table that holds the real
ones, so the code under test is the code that downloads real MNIST. Every test runs with a
guard that refuses any connection that is not to this machine.
"""
import gzip
import hashlib
import http.server
import os
import socket
import struct
import sys
import threading
import time

import numpy as np
import pytest

import fluxlite as fl
from fluxlite.datasets import download

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def mnist_like(n_train=40, n_test=20, seed=0):
    """Four MNIST-shaped arrays that a model can learn: digit k is a bright bar on row 3 + 2k."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
        for i, k in enumerate(labels):
            images[i, 3 + 2 * k, 4:24] = 255
        arrays[f"{part}-images-idx3-ubyte"] = images
        arrays[f"{part}-labels-idx1-ubyte"] = labels
    return arrays


def write_mnist_like(folder, **kwargs):
    """Write `mnist_like` as the four gzip files of MNIST into `folder`; return the arrays."""
    arrays = mnist_like(**kwargs)
    os.makedirs(folder, exist_ok=True)
    for name, array in arrays.items():
        with open(os.path.join(folder, name + ".gz"), "wb") as f:
            f.write(gzip.compress(idx_bytes(array), mtime=0))
    return arrays


# --------------------------------------------------------------------------- no network but ours

@pytest.fixture(autouse=True)
def only_this_machine(monkeypatch):
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"a test tried to reach {address!r}; tests stay on 127.0.0.1")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


# --------------------------------------------------------------------------- the server

class Server:
    """A web server on 127.0.0.1 with one behaviour per path, and a log of the paths asked."""

    def __init__(self):
        self.routes, self.log = {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.log.append(self.path)
                kind, data, arg = server.routes.get(self.path, ("missing", b"", None))
                if kind == "missing":
                    self.send_error(404, "Not Found")
                    return
                if kind == "hang":
                    time.sleep(arg)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                length = arg if kind == "short" else len(data)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if kind == "cut":     # promises every byte, sends `arg` of them, hangs up
                    self.wfile.write(data[:arg])
                    self.wfile.flush()
                    self.close_connection = True
                elif kind == "short":  # an honest but short file
                    self.wfile.write(data[:arg])
                else:
                    self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def base(self, folder):
        return f"http://127.0.0.1:{self.port}/{folder}/"

    def serve(self, folder, name, data, kind="ok", arg=None):
        self.routes[f"/{folder}/{name}"] = (kind, data, arg)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def dead_base():
    """The address of a port on this machine where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture
def files():
    """The generated data set: arrays, and the gzip bytes of each file as served."""
    arrays = mnist_like()
    served = {name + ".gz": gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    return arrays, served


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUXLITE_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("FLUXLITE_MNIST_MIRROR", raising=False)
    monkeypatch.delenv("FLUXLITE_FASHION_MNIST_MIRROR", raising=False)
    return tmp_path / "cache" / "mnist"


def use_table(monkeypatch, served, mirrors, name="mnist"):
    """Put the generated files' sizes and SHA-256 sums, and the test's mirrors, into the table
    that holds the real ones."""
    entry = dict(download.DATASETS[name])
    entry["mirrors"] = tuple(mirrors)
    entry["files"] = {f: (len(data), hashlib.sha256(data).hexdigest()) for f, data in served.items()}
    monkeypatch.setitem(download.DATASETS, name, entry)


def serve_all(server, served, folder="good"):
    for f, data in served.items():
        server.serve(folder, f, data)
    return server.base(folder)


def in_cache(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def check_loaded(result, arrays):
    (X, y), (Xt, yt) = result
    assert X.shape == (28, 28, 1, 40) and Xt.shape == (28, 28, 1, 20) and X.dtype == np.float32
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(yt, arrays["t10k-labels-idx1-ubyte"])
    np.testing.assert_allclose(X[:, :, 0, 5].T, arrays["train-images-idx3-ubyte"][5] / 255, rtol=1e-6)


# --------------------------------------------------------------------------- the tests

def test_download_fetches_checks_and_caches_the_four_files(server, files, cache, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, [serve_all(server, served)])
    check_loaded(fl.datasets.mnist(download=True), arrays)
    assert in_cache(cache) == sorted(served)                       # and no temporary file
    for f, data in served.items():
        assert (cache / f).read_bytes() == data
    assert sorted(server.log) == sorted(f"/good/{f}" for f in served)


def test_a_cache_hit_needs_no_network(server, files, cache, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, [serve_all(server, served)])
    fl.datasets.mnist(download=True)
    asked = len(server.log)
    server.close()

    def no_network(*args, **kwargs):
        raise AssertionError("the cache was there: nothing should be downloaded")

    monkeypatch.setattr(download.urllib.request, "urlopen", no_network)
    check_loaded(fl.datasets.mnist(download=True), arrays)
    check_loaded(fl.datasets.mnist(), arrays)
    assert len(server.log) == asked


def test_a_checksum_mismatch_keeps_the_file_out_of_the_cache(server, files, cache, monkeypatch):
    arrays, served = files
    bad = bytearray(served["train-labels-idx1-ubyte.gz"])
    bad[len(bad) // 2] ^= 0x01                                    # same size, one bit changed
    base = serve_all(server, served, "altered")
    server.serve("altered", "train-labels-idx1-ubyte.gz", bytes(bad))
    use_table(monkeypatch, served, [base])
    with pytest.raises(download.DownloadError) as err:
        fl.datasets.mnist(download=True)
    msg = str(err.value)
    good = hashlib.sha256(served["train-labels-idx1-ubyte.gz"]).hexdigest()
    assert msg.startswith("MNIST: could not download train-labels-idx1-ubyte.gz; nothing damaged "
                          "was kept.")
    assert (f"{base}train-labels-idx1-ubyte.gz: the file's SHA-256 is "
            f"{hashlib.sha256(bytes(bad)).hexdigest()}, not the published {good} (damaged or "
            f"altered)") in msg
    assert "train-labels-idx1-ubyte.gz" not in in_cache(cache)
    assert len(in_cache(cache)) == 3 and not any(f.startswith(".") for f in in_cache(cache))


def test_a_bad_copy_is_retried_on_the_next_mirror(server, files, cache, monkeypatch):
    arrays, served = files
    bad = bytearray(served["train-images-idx3-ubyte.gz"])
    bad[100] ^= 0xFF
    first = serve_all(server, served, "altered")
    server.serve("altered", "train-images-idx3-ubyte.gz", bytes(bad))
    second = serve_all(server, served, "good")
    use_table(monkeypatch, served, [first, second])
    check_loaded(fl.datasets.mnist(download=True), arrays)
    assert server.log.count("/altered/train-images-idx3-ubyte.gz") == 1
    assert server.log.count("/good/train-images-idx3-ubyte.gz") == 1
    assert "/good/train-labels-idx1-ubyte.gz" not in server.log       # the first mirror had it
    assert (cache / "train-images-idx3-ubyte.gz").read_bytes() == served["train-images-idx3-ubyte.gz"]


@pytest.mark.parametrize("kind", ["cut", "short"])
def test_a_truncated_transfer_never_lands_in_the_cache(server, files, cache, monkeypatch, kind):
    arrays, served = files
    name = "train-images-idx3-ubyte.gz"
    base = serve_all(server, served, "flaky")
    server.serve("flaky", name, served[name], kind, len(served[name]) // 3)
    use_table(monkeypatch, served, [base])
    with pytest.raises(download.DownloadError) as err:
        fl.datasets.mnist(download=True)
    assert f"{base}{name}: the transfer stopped" in str(err.value)
    assert name not in in_cache(cache) and not any(f.startswith(".") for f in in_cache(cache))
    # and with a second, good mirror the same call succeeds
    use_table(monkeypatch, served, [base, serve_all(server, served, "good")])
    check_loaded(fl.datasets.mnist(download=True), arrays)


def test_a_dead_mirror_is_followed_by_a_good_one(server, files, cache, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, [dead_base(), serve_all(server, served)])
    check_loaded(fl.datasets.mnist(download=True), arrays)
    assert in_cache(cache) == sorted(served)


def test_offline_the_error_names_files_mirrors_and_how_to_place_them(files, cache, monkeypatch):
    arrays, served = files
    mirrors = [dead_base(), dead_base()]
    use_table(monkeypatch, served, mirrors)
    with pytest.raises(ConnectionError) as err:
        fl.datasets.mnist(download=True)
    msg = str(err.value)
    assert isinstance(err.value, download.DownloadError)
    for f, data in served.items():
        assert f in msg and hashlib.sha256(data).hexdigest() in msg
        for m in mirrors:
            assert f"{m}{f}: could not connect (" in msg
    assert "place the files by hand" in msg and str(cache) in msg
    assert "sha256sum FILE" in msg and "FLUXLITE_MNIST_MIRROR" in msg
    assert in_cache(cache) == []


def test_without_download_nothing_is_fetched_and_the_message_says_how(files, cache, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, ["http://127.0.0.1:9/mnist/"])

    def no_network(*args, **kwargs):
        raise AssertionError("download=False must not touch the network")

    monkeypatch.setattr(download.urllib.request, "urlopen", no_network)
    with pytest.raises(FileNotFoundError) as err:
        fl.datasets.mnist()
    msg = str(err.value)
    assert msg.startswith(f"mnist: MNIST not found: the cache folder {cache} does not exist.")
    assert "call fl.datasets.mnist(download=True)" in msg and "http://127.0.0.1:9/mnist/" in msg
    assert "$FLUXLITE_DATA/mnist" in msg


def test_an_http_error_and_an_oversized_file_are_reported(server, files, cache, monkeypatch):
    arrays, served = files
    base = serve_all(server, served, "odd")
    del server.routes["/odd/t10k-labels-idx1-ubyte.gz"]                       # 404
    server.serve("odd", "t10k-images-idx3-ubyte.gz", served["t10k-images-idx3-ubyte.gz"] + b"x" * 100)
    use_table(monkeypatch, served, [base])
    with pytest.raises(download.DownloadError) as err:
        fl.datasets.mnist(download=True)
    msg = str(err.value)
    assert f"{base}t10k-labels-idx1-ubyte.gz: HTTP error 404 Not Found" in msg
    size = len(served["t10k-images-idx3-ubyte.gz"])
    assert f"{base}t10k-images-idx3-ubyte.gz: sent more than the {size:,} bytes the file has" in msg
    assert sorted(in_cache(cache)) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_a_mirror_that_does_not_answer_times_out(server, files, cache, monkeypatch):
    arrays, served = files
    slow = serve_all(server, served, "slow")
    server.serve("slow", "train-labels-idx1-ubyte.gz", b"", "hang", 3)
    monkeypatch.setattr(download, "TIMEOUT", 0.5)
    use_table(monkeypatch, served, [slow, serve_all(server, served, "good")])
    check_loaded(fl.datasets.mnist(download=True), arrays)
    assert "/good/train-labels-idx1-ubyte.gz" in server.log
    (cache / "train-labels-idx1-ubyte.gz").unlink()
    use_table(monkeypatch, served, [slow])
    with pytest.raises(download.DownloadError) as err:
        fl.datasets.mnist(download=True)
    assert f"{slow}train-labels-idx1-ubyte.gz: no answer within 0.5 seconds" in str(err.value)


def test_the_environment_variable_replaces_the_mirrors(server, files, cache, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, [dead_base()])
    monkeypatch.setenv("FLUXLITE_MNIST_MIRROR", serve_all(server, served, "mine").rstrip("/"))
    check_loaded(fl.datasets.mnist(download=True), arrays)
    assert all(p.startswith("/mine/") for p in server.log)


def test_an_explicit_folder_receives_the_files(server, files, tmp_path, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, [serve_all(server, served)])
    folder = tmp_path / "my data"
    check_loaded(fl.datasets.mnist(folder, download=True), arrays)
    assert in_cache(folder) == sorted(served)


def test_only_the_missing_files_are_downloaded(server, files, cache, monkeypatch):
    arrays, served = files
    os.makedirs(cache)
    for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        (cache / f).write_bytes(served[f])
    use_table(monkeypatch, served, [serve_all(server, served)])
    check_loaded(fl.datasets.mnist(download=True), arrays)
    assert sorted(server.log) == ["/good/t10k-labels-idx1-ubyte.gz", "/good/train-labels-idx1-ubyte.gz"]


def test_fashion_mnist_has_its_own_folder_table_entry_and_variable(server, files, cache, monkeypatch):
    arrays, served = files
    use_table(monkeypatch, served, [dead_base()], name="fashion_mnist")
    monkeypatch.setenv("FLUXLITE_FASHION_MNIST_MIRROR", serve_all(server, served, "fashion"))
    check_loaded(fl.datasets.fashion_mnist(download=True), arrays)
    assert in_cache(cache.parent / "fashion_mnist") == sorted(served)
    assert in_cache(cache) == []


def test_without_tqdm_a_plain_line_reports_each_file(server, files, cache, monkeypatch, capsys):
    arrays, served = files
    monkeypatch.setitem(sys.modules, "tqdm", None)            # import tqdm now fails
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    use_table(monkeypatch, served, [serve_all(server, served)])
    fl.datasets.mnist(download=True)
    err = capsys.readouterr().err
    for f, data in served.items():
        assert f"MNIST {f}: {len(data):,} bytes, checked" in err


def test_with_tqdm_a_progress_bar_counts_the_bytes(server, files, cache, monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    arrays, served = files
    totals, made = {}, []

    class Recording(tqdm_auto.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs.get("desc"))
            super().__init__(*args, **kwargs)

        def close(self):
            totals[self.desc] = (self.n, self.total)
            super().close()

    monkeypatch.setattr(tqdm_auto, "tqdm", Recording)
    use_table(monkeypatch, served, [dead_base(), serve_all(server, served)])
    fl.datasets.mnist(download=True)
    assert totals == {f"MNIST {f}": (len(d), len(d)) for f, d in served.items()}
    assert len(made) == 4              # one bar per file, none for the mirror that never answered


def test_the_real_table_holds_the_published_checksums():
    # TensorFlow Datasets' url_checksums/mnist.txt and fashion_mnist.txt, typed in again here.
    mnist = download.DATASETS["mnist"]["files"]
    assert mnist["train-images-idx3-ubyte.gz"] == (
        9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609")
    assert mnist["t10k-labels-idx1-ubyte.gz"] == (
        4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")
    fashion = download.DATASETS["fashion_mnist"]["files"]
    assert fashion["train-images-idx3-ubyte.gz"] == (
        26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84")
    for entry in download.DATASETS.values():
        assert sorted(entry["files"]) == sorted(n + ".gz" for n in NAMES)
        assert all(len(sha) == 64 and int(sha, 16) >= 0 for _, sha in entry["files"].values())
        assert all(m.startswith(("https://", "http://")) for m in entry["mirrors"])


def test_a_cache_folder_that_cannot_be_made_is_named(files, tmp_path, monkeypatch):
    arrays, served = files
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FLUXLITE_DATA", str(blocker))
    use_table(monkeypatch, served, [dead_base()])
    with pytest.raises(OSError) as err:
        fl.datasets.mnist(download=True)
    assert str(err.value).startswith(f"MNIST: cannot create the folder {blocker / 'mnist'} (")
    assert "Set FLUXLITE_DATA to a folder you can write to" in str(err.value)
    assert not isinstance(err.value, download.DownloadError)


def test_a_cache_folder_you_may_not_write_is_named(files, tmp_path, monkeypatch):
    arrays, served = files
    folder = tmp_path / "mine"
    folder.mkdir()

    def refuse(path, mode="r", *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    use_table(monkeypatch, served, [dead_base()])
    monkeypatch.setattr(download, "open", refuse, raising=False)
    with pytest.raises(PermissionError) as err:
        fl.datasets.mnist(folder, download=True)
    assert str(err.value) == (f"MNIST: cannot write in the folder {folder} (Permission denied). "
                              f"Set FLUXLITE_DATA to a folder you can write to, or pass another "
                              f"folder.")
    assert ".part" not in str(err.value)
