"""Keep freed memory in the process, so the next step's tensors do not page-fault (glibc only).

A forward and backward over T steps allocates and frees tens of large
activation tensors per batch. glibc serves big blocks with mmap and returns
them to the kernel on free, so every step page-faults its activations in again
(measured: 64,000 minor faults and 170 ms of system time per training step of
the `fixed` CIFAR-10-shape genome at batch 64; docs/benchmarks.md, "Simulation
speed"). With mmap off and the heap never trimmed, freed blocks are reused:
the process keeps its peak footprint instead of handing it back between
batches, the usual trade of a caching allocator (PyTorch's CPU tuning guide
recommends jemalloc or tcmalloc for the same reason). Set MSENAS_KEEP_MEMORY=0
to leave the allocator alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import cache

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4     # glibc <malloc.h>
_TRIM_AT = 2**31 - 1                        # bytes free at the heap top before any is returned (int max)


@cache
def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse (once per process); False where not applied."""
    if not sys.platform.startswith("linux") or os.environ.get("MSENAS_KEEP_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        trim = libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_AT)
        return bool(trim and libc.mallopt(_M_MMAP_MAX, 0))
    except (OSError, AttributeError):          # not glibc (musl, ...): nothing to tune
        return False
