"""Test helper: arrays placed against inaccessible pages (out-of-bounds reads crash)."""

from __future__ import annotations

import numpy as np
import pytest


def guarded(shape, at_end):
    """A uint8 array that starts right after (at_end=False) or ends right before (at_end=True)
    an inaccessible page, so any out-of-bounds read crashes the test. Linux only."""
    import ctypes
    import mmap
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("guard pages need Linux mprotect")
    page = mmap.PAGESIZE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    n = int(np.prod(shape))
    pages = -(-n // page) + 2
    buf = mmap.mmap(-1, pages * page)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    assert libc.mprotect(base, page, 0) == 0
    assert libc.mprotect(base + (pages - 1) * page, page, 0) == 0
    off = (pages - 1) * page - n if at_end else page
    arr = np.frombuffer(buf, np.uint8, count=n, offset=off).reshape(shape)
    return arr, buf
