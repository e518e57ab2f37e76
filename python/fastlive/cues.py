"""Temporal and physical cues of one face track: blink, head motion, specular reflection.

* ``blink``: 1.0 when the track completed a clear blink (see :func:`blink_cue`) within
  ``Config.blink_recent_s`` seconds, 0.0 when it is being measured without one, None when eye
  landmarks are unavailable.
* ``motion``: natural head-pose variation over the last ``MOTION_WINDOW_S`` seconds: the
  standard deviation of yaw and pitch (degrees, from the keypoints) summed and divided by
  ``MOTION_FULL_DEG`` (clipped to [0, 1]); None until ``MOTION_MIN_SAMPLES`` poses.
* ``reflection``: specular-highlight statistics of the aligned face crop
  (``fastlive.kernels.specular_stats``): reported, not fused (no labelled data for it yet).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MOTION_WINDOW_S = 2.0
MOTION_FULL_DEG = 6.0
MOTION_MIN_SAMPLES = 5


def blink_cue(track: Any, t: float, recent_s: float, depth: float = 1.0) -> float | None:
    """1.0 when a blink ended within ``recent_s`` seconds whose lowest EAR went below
    ``depth`` x the open-eye baseline (a clear closure), else 0.0; None without eye landmarks.
    On the ZJU clips true blinks reach 0.45 x baseline (median; 95 % <= 0.67), while the EAR
    noise of a jittered photo can dip to ~0.77 x and register as a shallow "blink": shallow
    events are counted as blinks but are not liveness evidence."""
    if track.blink is None:
        return None
    base = track.blink.baseline
    if base is None:
        return 0.0
    for ev in reversed(track.blink.events):
        if t - ev.end_s > recent_s:
            break
        if ev.min_ear <= depth * base:
            return 1.0
    return 0.0


def motion_cue(track: Any, t: float) -> float | None:
    poses = [(pt, y, p) for pt, y, p in track.poses if t - pt <= MOTION_WINDOW_S]
    if len(poses) < MOTION_MIN_SAMPLES:
        return None
    a = np.asarray([(y, p) for _, y, p in poses], np.float64)
    s = float(a[:, 0].std() + a[:, 1].std())
    return float(min(max(s / MOTION_FULL_DEG, 0.0), 1.0)) if math.isfinite(s) else None


def reflection_cue(crop: np.ndarray) -> dict[str, float] | None:
    """Specular statistics of the face crop; None when the kernel is not built."""
    from fastlive import _core

    fn = getattr(_core, "specular_stats", None)
    if fn is None:
        return None
    st = fn(crop)
    return {"ratio": float(st["ratio"]), "n_blobs": float(st["n_blobs"]),
            "max_value": float(st["max_value"])}
