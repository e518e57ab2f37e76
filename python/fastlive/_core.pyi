from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

def simd_info() -> dict[str, Any]:
    """Which SIMD paths are compiled in, supported by this CPU, and active."""

def _set_isa(name: str) -> None:
    """Testing hook: switch the active ISA for this process ('scalar' or 'avx2')."""

# --- lbp ---
LBP_UNIFORM_BINS: int

def lbp_codes(
    gray: npt.NDArray[np.uint8], radius: int = 1, *, slack: int = 0
) -> npt.NDArray[np.uint8]:
    """LBP(8, r) codes of a 2-D uint8 image -> uint8 array of shape (H - 2r, W - 2r).

    Bit k (value 2**k) is set when neighbour k >= the centre (>= centre - slack, the centre
    floored at 0, with slack 0..255); neighbours (dy, dx) in the order
    (-1,-1), (-1,0), (-1,+1), (0,+1), (+1,+1), (+1,0), (+1,-1), (0,-1), multiplied by radius
    (1 or 2). radius=2 is a square ring (no interpolation), not the circular LBP(8, 2).
    """

def lbp_histogram(
    gray: npt.NDArray[np.uint8],
    grid: tuple[int, int] = (1, 1),
    mapping: str = "uniform",
    normalize: bool = True,
    radius: int = 1,
    *,
    slack: int = 0,
) -> npt.NDArray[np.float32]:
    """Per-cell LBP histograms -> float32[gy * gx * bins] (59 bins 'uniform', 256 'default').

    Cell row i spans code rows floor(i * Hc / gy) .. floor((i + 1) * Hc / gy) (same for
    columns); cells in row-major order; normalize=True makes each cell sum to 1.
    """

def lbp_histogram_multi(
    image: npt.NDArray[np.uint8],
    grid: tuple[int, int] = (1, 1),
    mapping: str = "uniform",
    normalize: bool = True,
    radius: int = 1,
    *,
    slack: int = 0,
) -> npt.NDArray[np.float32]:
    """lbp_histogram of each channel of an (H, W, C) uint8 image (C in 1..4), channel-major."""

# --- end lbp ---

# --- eye/specular/warp ---
from collections.abc import Sequence  # noqa: E402

def eye_aspect_ratio(points: npt.ArrayLike) -> float:
    """EAR of a (6, 2) real array p1..p6: (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|).

    ValueError: NaN/inf, wrong shape, p1 == p4 (degenerate eye). TypeError: non-real dtype.
    """

class BlinkEvent:
    """One completed blink; times in seconds (threshold crossings, interpolated)."""

    def __init__(self, start_s: float, end_s: float, min_ear: float) -> None: ...
    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...
    @property
    def min_ear(self) -> float: ...
    @property
    def duration_s(self) -> float: ...

class BlinkTracker:
    """Blink detector for one face track, fed update(timestamp_s, ear) once per frame.

    Baseline: the baseline_quantile quantile of open-eye EAR samples of the last
    baseline_window_s seconds (None until the window holds warmup_samples samples spanning
    warmup_s). A closure starts below close_ratio * baseline and ends above
    open_ratio * baseline; it is a blink when min_duration_s <= duration <= max_duration_s.
    A timestamp gap > max_duration_s cancels a closure in progress; a gap or a "closure" longer
    than baseline_window_s (a new open level, e.g. pose) restarts the warm-up. At most
    max_events events are kept; blink_count counts all.
    """

    def __init__(
        self,
        *,
        close_ratio: float = 0.75,
        open_ratio: float = 0.85,
        min_duration_s: float = 0.05,
        max_duration_s: float = 0.7,
        baseline_window_s: float = 4.0,
        baseline_quantile: float = 0.8,
        warmup_s: float = 0.5,
        warmup_samples: int = 5,
        max_events: int = 256,
    ) -> None: ...
    def update(self, timestamp_s: float, ear: float) -> bool:
        """Feed one frame (strictly increasing timestamps); True when a blink completed."""
    def reset(self) -> None: ...
    @property
    def blink_count(self) -> int: ...
    @property
    def events(self) -> list[BlinkEvent]: ...
    @property
    def baseline(self) -> float | None: ...
    @property
    def is_closed(self) -> bool: ...
    @property
    def n_samples(self) -> int: ...
    @property
    def params(self) -> dict[str, float | int]: ...

def specular_stats(
    bgr: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8] | npt.NDArray[np.bool_] | None = None,
    *,
    v_min: int = 200,
    s_max: int = 64,
    local_delta: int = 16,
    min_blob: int = 1,
    block: int = 8,
) -> dict[str, object]:
    """Specular-highlight statistics of an (H, W, 3) uint8 BGR region (mask: nonzero = include).

    Specular pixel: considered, V = max(B, G, R) >= v_min, 255 * (max - min) <= s_max * max
    (OpenCV's HSV S <= s_max, integer arithmetic) and V >= local mean + local_delta, where the
    local mean is the mean V of the considered pixels in the 3x3 block neighbourhood (block x
    block tiles from the top-left corner, clipped at the border) of the pixel's tile.
    Returns {"ratio", "n_blobs" (8-connected, area >= min_blob), "blob_areas" (largest first,
    at most 64), "max_value", "mean_value"} over the considered pixels.
    """

def warp_crop(
    bgr: npt.NDArray[np.uint8],
    affine: npt.ArrayLike,
    size: tuple[int, int],
    *,
    border: str = "constant",
    border_value: int = 0,
) -> npt.NDArray[np.uint8]:
    """Bilinear affine crop (h, w, 3) (or (h, w) for 2-D input); affine: 2x3 src->dst (cv2 M).

    Same 1/32-pixel fixed-point sample positions and integer weights as warp_to_tensor,
    rounded to nearest (bit-identical to cv2.warpAffine INTER_LINEAR on tested inputs).
    border: 'constant' (border_value) or 'replicate'.
    """

def warp_to_tensor(
    bgr: npt.NDArray[np.uint8],
    affine: npt.ArrayLike,
    size: tuple[int, int],
    *,
    mean: Sequence[float] = (0, 0, 0),
    std: Sequence[float] = (1, 1, 1),
    channel_order: str = "rgb",
    lighting: str = "none",
    border: str = "constant",
    border_value: int = 0,
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """One pass: uint8 BGR frame -> float32 (1, 3, h, w) = (sample - mean[c]) / std[c].

    sample: the unrounded warp_crop value (0..255 units); mean/std in output channel order.
    lighting='standardize': sample -> (sample - mu) / max(sd, 1), mu/sd of the crop's
    luminance 0.299 R + 0.587 G + 0.114 B, before mean/std. out: C-contiguous float32
    (3, h, w) or (1, 3, h, w), written in place and returned.
    """

def resize_area(
    image: npt.NDArray[np.uint8],
    size: tuple[int, int],
) -> npt.NDArray[np.uint8]:
    """Area (box-filter) downscale of an (H, W) or (H, W, C) uint8 image to size=(h, w).

    Bit-exact with cv2.resize INTER_AREA on OpenCV's general path (a scale factor not an
    integer); fastlive.kernels.resize_area hands integer factors to OpenCV. h <= H, w <= W.
    """

# --- end eye/specular/warp ---
