"""load_idx reads as a stream: a gzip bomb, trailing data, short data and oversized headers are
refused without memory growing past the size the header declares.

Memory is measured in a fresh Python (a subprocess), with tracemalloc (NumPy reports its array
buffers to it, and zlib's output is Python bytes) and with the process's peak resident size.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

from fluxlite import datasets

GiB = 2**30
MiB = 2**20


def header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.fixture(scope="module")
def zeros_member():
    """One gzip member holding 1 GiB of zero bytes: about 1 MB on disk."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    member = b"".join([packer.compress(block) for _ in range(GiB // MiB)] + [packer.flush()])
    assert len(member) < 1.1 * MiB
    return member


def bomb(tmp_path, name, head, zeros_member):
    """A gzip file whose stream is `head` followed by 1 GiB of zeros (two gzip members, which
    every gzip reader joins into one stream)."""
    path = tmp_path / name
    path.write_bytes(gzip.compress(head) + zeros_member)
    assert path.stat().st_size < 1.2 * MiB
    return path


def measure(path, **kwargs):
    """Call load_idx(path) in a fresh Python: what it raised, its peak traced memory (bytes),
    its peak resident size above the baseline (bytes), and the seconds it took."""
    code = textwrap.dedent(f"""
        import json, resource, sys, time, tracemalloc
        import numpy as np
        from fluxlite.datasets import load_idx
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        t = time.perf_counter()
        try:
            out = load_idx({str(path)!r}, **{kwargs!r})
            error = None
            shape = list(out.shape)
        except ValueError as e:
            error, shape = str(e), None
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        scale = 1 if sys.platform == "darwin" else 1024   # ru_maxrss: bytes on macOS, KiB on Linux
        print(json.dumps({{"error": error, "shape": shape, "peak": peak, "rss": rss * scale,
                          "seconds": seconds}}))
        """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX only")


def test_a_header_declaring_a_gibibyte_is_refused_before_reading(tmp_path, zeros_member):
    # The header declares 32768 × 32768 bytes (1 GiB), and 1 GiB of zeros really follows.
    path = bomb(tmp_path, "huge-idx3-ubyte.gz", header(0x08, (1, 32768, 32768)), zeros_member)
    got = measure(path)
    assert got["error"].startswith(
        f"load_idx: {path} declares uint8 values of shape (1, 32768, 32768), which take "
        f"1,073,741,824 bytes; that is more than max_bytes=268,435,456, so nothing was read or "
        f"allocated.")
    assert "load_idx(path, max_bytes=...)" in got["error"]
    assert got["peak"] < 4 * MiB, got
    assert got["rss"] < 64 * MiB, got
    print(f"\n1 GiB header: refused in {got['seconds']:.3f} s, traced peak {got['peak'] / MiB:.2f} MiB,"
          f" resident growth {got['rss'] / MiB:.1f} MiB")


def test_a_small_array_followed_by_a_gibibyte_of_trailing_data_is_refused(tmp_path, zeros_member):
    # A valid header and 10 images of 28 × 28 (7,840 bytes), then 1 GiB more zeros.
    path = bomb(tmp_path, "trailing-idx3-ubyte.gz", header(0x08, (10, 28, 28)), zeros_member)
    got = measure(path)
    assert got["error"] == (
        f"load_idx: {path} has at least 1,048,576 bytes after the 7840 bytes of data that its "
        f"header (shape (10, 28, 28), uint8) declares; it is corrupt or not an IDX file.")
    assert got["peak"] < 8 * MiB, got         # one chunk of decompressed data at a time
    assert got["rss"] < 64 * MiB, got
    print(f"\n1 GiB of trailing data: refused in {got['seconds']:.3f} s, traced peak "
          f"{got['peak'] / MiB:.2f} MiB, resident growth {got['rss'] / MiB:.1f} MiB")


def test_the_limit_can_be_raised_and_then_the_declared_size_is_all_that_is_allocated(tmp_path):
    # 16 MiB of big-endian int32: reading it must not need a second, byte-swapped copy.
    values = np.arange(4 * MiB, dtype=">i4")
    path = tmp_path / "big-endian.idx.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header(0x0C, values.shape) + values.tobytes())
    refused = measure(path, max_bytes=8 * MiB)
    assert "which take 16,777,216 bytes; that is more than max_bytes=8,388,608" in refused["error"]
    got = measure(path, max_bytes=32 * MiB)
    assert got["error"] is None and got["shape"] == [4 * MiB]
    assert got["peak"] < 16 * MiB + 4 * MiB, got      # the array, plus one chunk
    out = datasets.load_idx(path, max_bytes=32 * MiB)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, np.arange(4 * MiB))


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_short_data_is_refused_with_both_sizes(tmp_path, compress):
    payload = header(0x08, (1000, 28, 28)) + bytes(5000)
    path = tmp_path / "short.idx"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(ValueError, match=r"is truncated: its header declares uint8 values of shape "
                                         r"\(1000, 28, 28\), which take 784000 bytes, but only 5000 "
                                         r"bytes follow the header"):
        datasets.load_idx(path)


def test_a_plain_file_with_little_data_is_refused_before_allocating(tmp_path):
    # 200 MiB declared (under the limit), 10 bytes present: the file's size gives it away.
    path = tmp_path / "liar.idx"
    path.write_bytes(header(0x08, (200, 1024, 1024)) + bytes(10))
    got = measure(path)
    assert "is truncated" in got["error"] and "but only 10 bytes follow the header" in got["error"]
    assert got["peak"] < 4 * MiB, got


def test_trailing_bytes_are_counted_when_there_are_few(tmp_path):
    payload = header(0x08, (2, 3)) + bytes(6) + b"\x01\x02\x03"
    for data in (payload, gzip.compress(payload)):
        path = tmp_path / "t.idx"
        path.write_bytes(data)
        with pytest.raises(ValueError, match="has 3 bytes after the 6 bytes of data"):
            datasets.load_idx(path)


def test_a_damaged_gzip_stream_inside_the_data_is_refused(tmp_path):
    packed = bytearray(gzip.compress(header(0x08, (4000,)) + np.random.default_rng(0).bytes(4000)))
    packed[len(packed) // 2] ^= 0xFF
    path = tmp_path / "flipped.idx.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(ValueError, match="is gzip-compressed but cannot be decompressed"):
        datasets.load_idx(path)
