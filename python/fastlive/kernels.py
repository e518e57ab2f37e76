"""Low-level per-pixel kernels (C++17 core, SIMD with runtime dispatch).

Every function validates its inputs and raises TypeError/ValueError naming the argument; none
casts silently. Images are numpy uint8 arrays with contiguous pixels within a row; any row
stride is accepted (ROIs and crops are used without copies). The GIL is released during compute.

``FASTLIVE_SIMD=scalar`` (read once per process) forces the scalar reference path;
``simd_info()`` reports compiled / supported / active paths.
"""

from __future__ import annotations

from typing import Any

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
]


def simd_info() -> dict[str, Any]:
    """Which SIMD paths are compiled in, supported by this CPU, and active."""
    return dict(_core.simd_info())
