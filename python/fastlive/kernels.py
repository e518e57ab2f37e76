"""Low-level per-pixel kernels (C++17 core, SIMD with runtime dispatch).

This module is the only door to the compiled ``fastlive._core``. Every function validates its
inputs and raises TypeError/ValueError naming the argument; none casts silently. Images are
numpy uint8 arrays with contiguous pixels within a row; any row stride is accepted (ROIs and
crops are used without copies). The GIL is released during compute.

The core takes typed arguments: pybind11 converts them (an int is never a bool), the core
range-checks them and validates every array with a message naming the argument. When pybind11
cannot convert an argument, its TypeError does not say which; the functions here then shape
the arguments themselves (lists of lists become arrays, 0-d arrays scalars), raising an error
that names the one that cannot be, and call the core again. Plain arguments cost nothing extra.

``FASTLIVE_SIMD=scalar`` (read once per process) forces the scalar reference path;
``simd_info()`` reports compiled / supported / active paths.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from operator import index
from typing import Union

import numpy as np
import numpy.typing as npt

from fastlive import _core
from fastlive._core import LBP_UNIFORM_BINS, BlinkEvent, BlinkTracker, specular_stats

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

Image = npt.NDArray[np.uint8]
# a real array the core copies to float64 (a 2x3 matrix, 6x2 points), or nested lists
Points = Union[npt.NDArray[np.generic], Sequence[Sequence[float]]]
Triple = Union[Sequence[float], npt.NDArray[np.floating]]


def simd_info() -> dict[str, str | list[str]]:
    """Which SIMD paths are compiled in, supported by this CPU, and active."""
    return dict(_core.simd_info())


# -- argument shaping: what the core takes, or an error naming the argument ----------------------
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # the core's integers (long long)


def _int(value: object, name: str, expected: str) -> int:
    """A Python or numpy integer, not a bool."""
    v = None
    if not isinstance(value, (bool, np.bool_)):
        try:
            v = index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
    if v is None:
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__} {value!r}")
    if not _INT_MIN <= v <= _INT_MAX:
        raise ValueError(f"{name}: expected {expected}, got {v}")
    return v


def _bool(value: object, name: str) -> bool:
    """True or False (also numpy's, and 0-d bool arrays)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.ndim == 0
                                                and value.dtype == np.bool_):
        return bool(value)
    raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")


def _grid(grid: object) -> tuple[int, int]:
    """grid = (rows, cols): a tuple or list of two integers (the core checks their range)."""
    expected = "a pair (rows, cols) of positive ints, e.g. (4, 4)"
    if not isinstance(grid, (tuple, list)):
        raise TypeError(f"grid: expected {expected}; got {type(grid).__name__} {grid!r}")
    if len(grid) != 2:
        raise ValueError(f"grid: expected {expected}; got {len(grid)} values {grid!r}")
    for k, v in enumerate(grid):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"grid: expected {expected}; element {k} is {type(v).__name__} "
                            f"{v!r}")
    return _int(grid[0], "grid", expected), _int(grid[1], "grid", expected)


def _size(size: object) -> tuple[int, int]:
    """size = (height, width): a sequence of two integers (the core checks their range)."""
    fix = f"; pass size=(height, width) with integers in 1..{_core.MAX_SIZE}"
    if isinstance(size, (str, bytes)) or not isinstance(size, (Sequence, np.ndarray)):
        raise TypeError(f"size: expected a (height, width) tuple, got {type(size).__name__}{fix}")
    if len(size) != 2:
        raise ValueError(f"size: expected 2 values (height, width), got {len(size)}{fix}")
    out = []
    for which, v in zip(("height", "width"), size):
        if isinstance(v, (bool, np.bool_)) or not hasattr(type(v), "__index__"):
            raise TypeError(f"size: expected integers, got {type(v).__name__}{fix}")
        n = index(v)
        if not _INT_MIN <= n <= _INT_MAX:
            raise ValueError(f"size: {which} {n} is out of range{fix}")
        out.append(n)
    return out[0], out[1]


def _triple(value: object, name: str) -> list[float]:
    """Three real numbers, one per output channel (the core checks they are finite, and > 0
    for std)."""
    fix = f"; pass {name}=(c0, c1, c2) in output channel order"
    if isinstance(value, np.ndarray):
        value = value.tolist()
        if not isinstance(value, list):
            raise ValueError(f"{name}: expected 3 values{fix}")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name}: expected a sequence of 3 numbers, got "
                        f"{type(value).__name__}{fix}")
    if len(value) != 3:
        raise ValueError(f"{name}: expected 3 values, got {len(value)}{fix}")
    out = []
    for v in value:
        if isinstance(v, (bool, np.bool_, str, bytes)) or not hasattr(type(v), "__float__"):
            raise TypeError(f"{name}: expected real numbers{fix}")
        out.append(float(v))
    return out


def _array(value: Points) -> npt.NDArray[np.generic]:
    """Nested lists/tuples become an array (the core refuses anything else that is not one)."""
    if type(value) is np.ndarray or not isinstance(value, (list, tuple)):
        return value  # type: ignore[return-value]
    return np.asarray(value)


# -- LBP texture ---------------------------------------------------------------------------------
_RADIUS = "the int 1 or 2"
_SLACK = ("an int from 0 to 255 (grey levels a neighbour may lie below the centre and still "
          "set its bit)")


def lbp_codes(gray: Image, radius: int = 1, *, slack: int = 0) -> npt.NDArray[np.uint8]:
    """LBP(8, r) codes of a 2-D uint8 image -> uint8 array of shape (H - 2r, W - 2r).

    Bit k (value 2**k) is set when neighbour k >= the centre (with slack s: >= centre - s, the
    centre floored at 0, so a neighbour up to s grey levels darker still sets its bit; 0..255,
    keyword only); neighbours (dy, dx) in the order (-1,-1), (-1,0), (-1,+1), (0,+1), (+1,+1),
    (+1,0), (+1,-1), (0,-1) (clockwise from the top-left), multiplied by radius. radius=2 uses
    a square ring (offsets times 2, no interpolation), not the circular LBP(8, 2). Any row
    stride is accepted (views are not copied); pixels within a row must be contiguous. Raises
    TypeError for a non-uint8 array, ValueError for a bad shape/radius.
    """
    try:
        return _core.lbp_codes(gray, radius, slack)
    except TypeError:
        pass  # pybind11 could not convert an argument: shape them, naming any at fault
    return _core.lbp_codes(gray, _int(radius, "radius", _RADIUS), _int(slack, "slack", _SLACK))


def _lbp_scalars(grid: object, normalize: object, radius: object,
                 slack: object) -> tuple[tuple[int, int], bool, int, int]:
    r, s = _int(radius, "radius", _RADIUS), _int(slack, "slack", _SLACK)
    return _grid(grid), _bool(normalize, "normalize"), r, s


def lbp_histogram(gray: Image, grid: Sequence[int] = (1, 1), mapping: str = "uniform",
                  normalize: bool = True, radius: int = 1, *,
                  slack: int = 0) -> npt.NDArray[np.float32]:
    """Per-cell LBP histograms of a 2-D uint8 image -> float32[gy * gx * bins].

    Codes as in ``lbp_codes(gray, radius, slack=slack)``, split into grid = (gy, gx) cells
    (cell row i spans code rows floor(i * Hc / gy) .. floor((i + 1) * Hc / gy), the same for
    columns), cells in row-major order. mapping "uniform": 59 bins (the 58 uniform codes in
    ascending order, then all others); "default": 256 bins. normalize=True makes each cell sum
    to 1, otherwise raw counts.
    """
    try:
        return _core.lbp_histogram(gray, grid, mapping, normalize, radius, slack)
    except TypeError:
        g, n, r, s = _lbp_scalars(grid, normalize, radius, slack)
        return _core.lbp_histogram(gray, g, mapping, n, r, s)


def lbp_histogram_multi(image: Image, grid: Sequence[int] = (1, 1), mapping: str = "uniform",
                        normalize: bool = True, radius: int = 1, *,
                        slack: int = 0) -> npt.NDArray[np.float32]:
    """LBP histograms of each channel of an (H, W, C) uint8 image, C in 1..4.

    Returns float32[C * gy * gx * bins]: channel-major, then cells row-major, then bins;
    channel c equals ``lbp_histogram(image[:, :, c], ...)``. Channels are de-interleaved inside
    the kernel (no per-channel copy of the image).
    """
    try:
        return _core.lbp_histogram_multi(image, grid, mapping, normalize, radius, slack)
    except TypeError:
        g, n, r, s = _lbp_scalars(grid, normalize, radius, slack)
        return _core.lbp_histogram_multi(image, g, mapping, n, r, s)


# -- eyes ----------------------------------------------------------------------------------------
def eye_aspect_ratio(points: Points) -> float:
    """Eye aspect ratio of a (6, 2) real array p1..p6 (p1/p4 the corners):
    (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|). Raises ValueError on NaN/inf, wrong shape or
    coinciding corners, TypeError on non-real dtypes."""
    return _core.eye_aspect_ratio(_array(points))


# -- aligned crops / CNN input -------------------------------------------------------------------
_BORDER_VALUE = "an int from 0 to 255"


def warp_crop(bgr: Image, affine: Points, size: Sequence[int], *, border: str = "constant",
              border_value: int = 0) -> npt.NDArray[np.uint8]:
    """Affine-warped uint8 crop of shape (h, w, 3) (or (h, w) for a 2-D gray input).

    affine: 2x3 source->destination matrix (cv2.warpAffine's M). Bilinear, 1/32-pixel
    fixed-point sample positions and integer weights, rounded to nearest: exactly the samples
    of warp_to_tensor. border: 'constant' (border_value) or 'replicate'.
    """
    affine = _array(affine)
    try:
        return _core.warp_crop(bgr, affine, size, border, border_value)
    except TypeError:
        pass  # pybind11 could not convert an argument: shape them, naming any at fault
    return _core.warp_crop(bgr, affine, _size(size), border,
                           _int(border_value, "border_value", _BORDER_VALUE))


def warp_to_tensor(bgr: Image, affine: Points, size: Sequence[int], *,
                   mean: Triple = (0.0, 0.0, 0.0), std: Triple = (1.0, 1.0, 1.0),
                   channel_order: str = "rgb", lighting: str = "none", border: str = "constant",
                   border_value: int = 0,
                   out: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]:
    """One pass from an (H, W, 3) uint8 BGR frame to a float32 (1, 3, h, w) CNN input.

    out = (pixel - mean[c]) / std[c], pixel the bilinear sample in 0..255 units (the unrounded
    value of warp_crop), mean/std in output channel order (channel_order 'rgb' or 'bgr').
    lighting='standardize' first maps pixel -> (pixel - mu) / max(sd, 1) with mu, sd the mean
    and standard deviation of the luminance 0.299 R + 0.587 G + 0.114 B over the crop.
    out: optional C-contiguous float32 (3, h, w) or (1, 3, h, w) array, written and returned.
    """
    affine = _array(affine)
    try:
        return _core.warp_to_tensor(bgr, affine, size, mean, std, channel_order, lighting,
                                    border, border_value, out)
    except TypeError:
        pass  # pybind11 could not convert an argument: shape them, naming any at fault
    return _core.warp_to_tensor(bgr, affine, _size(size), _triple(mean, "mean"),
                                _triple(std, "std"), channel_order, lighting, border,
                                _int(border_value, "border_value", _BORDER_VALUE), out)


# -- anti-aliased downscaling --------------------------------------------------------------------
def _opencv_integer_path(in_h: int, in_w: int, h: int, w: int) -> bool:
    # cv2.resize's test for its integer-factor INTER_AREA path (same double arithmetic)
    sx, sy = 1.0 / (w / in_w), 1.0 / (h / in_h)
    eps = sys.float_info.epsilon
    return abs(sx - round(sx)) < eps and abs(sy - round(sy)) < eps


def _pixels_contiguous(a: np.ndarray) -> bool:
    """The kernels' layout rule: channels and pixels contiguous within a row (any row stride)."""
    return a.strides[-1] == 1 and (a.ndim == 2 or a.strides[1] == a.shape[2])


def resize_area(image: Image, size: Sequence[int]) -> npt.NDArray[np.uint8]:
    """Area (box-filter) downscale of an (H, W) or (H, W, C) uint8 image to ``size`` = (h, w):
    the same pixels as ``cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)`` for every
    downscale. Non-integer factors (OpenCV's slow general path) run in fastlive's C++ core
    (SIMD, the same float arithmetic in the same order); integer factors in both directions go
    to OpenCV's own fast path. Raises ValueError for a size larger than the image."""
    plain = type(size) is tuple and len(size) == 2 and all(type(v) is int for v in size)
    h, w = size if plain else _size(size)
    integer = (isinstance(image, np.ndarray) and image.dtype == np.uint8
               and image.ndim in (2, 3) and _pixels_contiguous(image)
               and 1 <= h <= image.shape[0] and 1 <= w <= image.shape[1]
               and _opencv_integer_path(image.shape[0], image.shape[1], h, w))
    if not integer:
        try:
            return _core.resize_area(image, (h, w))
        except TypeError:
            pass  # pybind11 could not convert an argument: shape them, naming any at fault
        return _core.resize_area(image, _size(size))
    import cv2

    out: npt.NDArray[np.uint8] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return out[:, :, None] if image.ndim == 3 and out.ndim == 2 else out
