"""Low-level per-pixel kernels (C++17 core, SIMD with runtime dispatch).

Every function validates its inputs and raises TypeError/ValueError naming the argument; none
casts silently. Images are numpy uint8 arrays with contiguous pixels within a row; any row
stride is accepted (ROIs and crops are used without copies). The GIL is released during compute.

``FASTLIVE_SIMD=scalar`` (read once per process) forces the scalar reference path;
``simd_info()`` reports compiled / supported / active paths.
"""

from __future__ import annotations

import operator
import sys
from typing import Any

import numpy as np

from fastlive import _core
from fastlive._core import (
    LBP_UNIFORM_BINS,
    BlinkEvent,
    BlinkTracker,
    eye_aspect_ratio,
    lbp_codes,
    lbp_histogram,
    lbp_histogram_multi,
    specular_stats,
    warp_crop,
    warp_to_tensor,
)

__all__ = [
    "simd_info",
    # LBP texture
    "lbp_codes",
    "lbp_histogram",
    "lbp_histogram_multi",
    "LBP_UNIFORM_BINS",
    # eyes
    "eye_aspect_ratio",
    "BlinkTracker",
    "BlinkEvent",
    # specular highlights
    "specular_stats",
    # aligned crops / CNN input
    "warp_crop",
    "warp_to_tensor",
    # anti-aliased downscaling
    "resize_area",
]


def simd_info() -> dict[str, Any]:
    """Which SIMD paths are compiled in, supported by this CPU, and active."""
    return dict(_core.simd_info())


def _opencv_integer_path(in_h: int, in_w: int, h: int, w: int) -> bool:
    # cv2.resize's test for its integer-factor INTER_AREA path (same double arithmetic)
    sx, sy = 1.0 / (w / in_w), 1.0 / (h / in_h)
    eps = sys.float_info.epsilon
    return abs(sx - round(sx)) < eps and abs(sy - round(sy)) < eps


def _pixels_contiguous(a: np.ndarray) -> bool:
    """The kernels' layout rule: channels and pixels contiguous within a row (any row stride)."""
    return a.strides[-1] == 1 and (a.ndim == 2 or a.strides[1] == a.shape[2])


def resize_area(image: Any, size: Any) -> np.ndarray:
    """Area (box-filter) downscale of an (H, W) or (H, W, C) uint8 image to ``size`` = (h, w):
    the same pixels as ``cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)`` for every
    downscale. Non-integer factors (OpenCV's slow general path) run in fastlive's C++ core
    (SIMD, the same float arithmetic in the same order); integer factors in both directions go
    to OpenCV's own fast path. Raises ValueError for a size larger than the image."""
    try:
        in_h, in_w = image.shape[:2]
        h, w = (operator.index(v) for v in size)
        integer = (isinstance(image, np.ndarray) and image.dtype == np.uint8
                   and image.ndim in (2, 3) and _pixels_contiguous(image)
                   and 1 <= h <= in_h and 1 <= w <= in_w
                   and _opencv_integer_path(in_h, in_w, h, w))
    except (AttributeError, TypeError, ValueError):
        integer = False  # not an image / size: the C++ binding names the problem
    if not integer:
        return _core.resize_area(image, size)
    import cv2

    out = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return out[:, :, None] if image.ndim == 3 and out.ndim == 2 else out
