from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

__version__: str

def simd_info() -> dict[str, str | list[str]]:
    """Which SIMD paths are compiled in, supported by this CPU, and active."""

def _set_isa(name: str) -> None:
    """Testing hook: switch the active ISA for this process ('scalar' or 'avx2')."""

# --- lbp ---
LBP_UNIFORM_BINS: int

# fastlive.kernels is the documented API (keyword-only options, argument errors named): see its
# docstrings. Here every parameter is positional.
def lbp_codes(
    gray: npt.NDArray[np.uint8], radius: int = 1, slack: int = 0
) -> npt.NDArray[np.uint8]: ...
def lbp_histogram(
    gray: npt.NDArray[np.uint8],
    grid: Sequence[int] = (1, 1),
    mapping: str = "uniform",
    normalize: bool = True,
    radius: int = 1,
    slack: int = 0,
) -> npt.NDArray[np.float32]: ...
def lbp_histogram_multi(
    image: npt.NDArray[np.uint8],
    grid: Sequence[int] = (1, 1),
    mapping: str = "uniform",
    normalize: bool = True,
    radius: int = 1,
    slack: int = 0,
) -> npt.NDArray[np.float32]: ...

# --- end lbp ---

# --- eye/specular/warp ---

def eye_aspect_ratio(points: npt.NDArray[np.generic]) -> float: ...

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
    warmup_s); noise: the median frame-to-frame change of those samples (0.07 x baseline until
    5 samples span 0.3 s). A closure starts below close_threshold = min(close_ratio * baseline,
    baseline - noise_factor * noise) and ends (open_ratio - close_ratio) * baseline above it;
    it is a blink when min_duration_s <= duration <= max_duration_s and its lowest EAR is at
    most min(depth_ratio * baseline, baseline - 2 * noise_factor * noise). A blink following
    the previous one without a clear reopening (noise_factor * noise / 2 above the end
    threshold) continues it instead of counting again. A timestamp gap
    > max_duration_s cancels a closure in progress; a "closure" longer than level_change_s
    (clamped to [max_duration_s, baseline_window_s]: a new open level, e.g. pose) or a gap
    longer than baseline_window_s restarts the warm-up. At most max_events events are kept;
    blink_count counts all.
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
        depth_ratio: float = 0.7,
        noise_factor: float = 2.0,
        level_change_s: float = 2.0,
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
    def noise(self) -> float | None: ...
    @property
    def close_threshold(self) -> float | None: ...
    @property
    def n_samples(self) -> int: ...
    @property
    def params(self) -> dict[str, float | int]: ...

class _SpecularStats(TypedDict):
    ratio: float
    n_blobs: int
    blob_areas: list[int]
    max_value: int
    mean_value: float

def specular_stats(
    bgr: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8] | npt.NDArray[np.bool_] | None = None,
    *,
    v_min: int = 200,
    s_max: int = 64,
    local_delta: int = 16,
    min_blob: int = 1,
    block: int = 8,
) -> _SpecularStats:
    """Specular-highlight statistics of an (H, W, 3) uint8 BGR region (mask: nonzero = include).

    Specular pixel: considered, V = max(B, G, R) >= v_min, 255 * (max - min) <= s_max * max
    (OpenCV's HSV S <= s_max, integer arithmetic) and V >= local mean + local_delta, where the
    local mean is the mean V of the considered pixels in the 3x3 block neighbourhood (block x
    block tiles from the top-left corner, clipped at the border) of the pixel's tile.
    Returns {"ratio", "n_blobs" (8-connected, area >= min_blob), "blob_areas" (largest first,
    at most 64), "max_value", "mean_value"} over the considered pixels.
    """

MAX_SIZE: int  # largest output side of warp_crop / warp_to_tensor / resize_area

def warp_crop(
    bgr: npt.NDArray[np.uint8],
    affine: npt.NDArray[np.generic],
    size: Sequence[int],
    border: str = "constant",
    border_value: int = 0,
) -> npt.NDArray[np.uint8]: ...
def warp_to_tensor(
    bgr: npt.NDArray[np.uint8],
    affine: npt.NDArray[np.generic],
    size: Sequence[int],
    mean: Sequence[float] | npt.NDArray[np.generic] = (0.0, 0.0, 0.0),
    std: Sequence[float] | npt.NDArray[np.generic] = (1.0, 1.0, 1.0),
    channel_order: str = "rgb",
    lighting: str = "none",
    border: str = "constant",
    border_value: int = 0,
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]: ...
def resize_area(
    image: npt.NDArray[np.uint8],
    size: Sequence[int],
) -> npt.NDArray[np.uint8]: ...

# --- end eye/specular/warp ---
