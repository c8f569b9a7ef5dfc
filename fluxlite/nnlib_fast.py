"""Speed tricks for the convolution path, kept apart from the kernels in `fluxlite.nnlib`.

Nothing here changes a number that `fluxlite.nnlib` computes; it only changes how fast
it gets there. `install` runs when `fluxlite.nnlib` is first imported (every layer module
imports it), unless the environment variable ``FLUXLITE_REFERENCE=1`` was set before
(`fluxlite.autodiff.REFERENCE`): then fluxlite runs exactly the code you read, and this
module does nothing. `INSTALLED` lists the tricks in force in this process.

Keeping freed memory (``"keep freed memory"``)
----------------------------------------------
A training step of a small CNN on MNIST-sized batches (28×28 images, 64 at a time) makes
and frees a dozen arrays of 1 to 5 MB: the im2col matrices, the convolution outputs,
their gradients. glibc's ``malloc`` hands such memory back to the operating system as
soon as a few MB lie free at the top of its heap, and asks for it again on the next
step; the kernel then supplies every 4 KB page afresh, zeroed, through a page fault.
On a 2-CPU Linux machine that was about 2,500 page faults and 3.5 ms of system time in a
12 ms step. `keep_freed_memory` raises the two glibc thresholds involved, so that the
memory freed at the end of one step is reused, already mapped, by the next:

* ``M_MMAP_THRESHOLD`` (32 MB): blocks smaller than this come from the heap rather than
  from a private mapping that is unmapped when freed;
* ``M_TRIM_THRESHOLD`` (256 MB): the heap is shrunk only when this much lies free at its top.

The setting is process-wide: every library's allocations follow it (PyTorch's and
NumPy's too, in the same process), and the process keeps up to 256 MB of freed memory
for reuse instead of returning it. It is a no-op where the C library is not glibc.

>>> from fluxlite import nnlib_fast
>>> nnlib_fast.INSTALLED in ([], ["keep freed memory"])     # the second on Linux with glibc
True
"""
import ctypes
import platform

from .autodiff.switch import REFERENCE

__all__ = ["INSTALLED", "install", "keep_freed_memory"]

INSTALLED = []

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(mmap_threshold=32 << 20, trim_threshold=256 << 20):
    """Ask glibc's malloc to keep freed memory for reuse; True if it agreed, False elsewhere.

    Blocks under `mmap_threshold` bytes come from the heap, and the heap is trimmed
    only when `trim_threshold` bytes lie free at its top (see the module's docstring).
    Calling it again with the same values changes nothing.

    >>> keep_freed_memory() in (True, False)
    True
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
                and mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))


def install(reference=REFERENCE):
    """Put the tricks in force, unless `reference` (FLUXLITE_REFERENCE=1); return `INSTALLED`.

    >>> install(reference=True) is INSTALLED
    True
    """
    if not reference and "keep freed memory" not in INSTALLED and keep_freed_memory():
        INSTALLED.append("keep freed memory")
    return INSTALLED


install()
