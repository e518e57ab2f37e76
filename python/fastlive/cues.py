"""Temporal and physical cues of one face track: blink, head motion, specular reflection.

* ``blink``: 1.0 when the track completed a blink within ``Config.blink_recent_s`` seconds,
  0.0 when it is being measured without one, None when eye landmarks are unavailable. Every
  blink the tracker counts is a clear closure (``Config.blink_depth_ratio``), so a counted
  blink is always evidence.
* ``motion``: natural head-pose variation over the last ``MOTION_WINDOW_S`` seconds: the
  standard deviation of yaw and pitch (degrees, from the keypoints) summed and divided by
  ``MOTION_FULL_DEG`` (clipped to [0, 1]); None until ``MOTION_MIN_SAMPLES`` poses.
* ``reflection``: specular-highlight statistics of the aligned face crop
  (``fastlive.kernels.specular_stats``): reported, not fused (no labelled data for it yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fastlive import kernels

if TYPE_CHECKING:
    from fastlive.config import Config
    from fastlive.quality import Quality
    from fastlive.track import Track

MOTION_WINDOW_S = 2.0
MOTION_FULL_DEG = 6.0
MOTION_MIN_SAMPLES = 5


def blink_cue(track: Track, t: float, recent_s: float) -> float | None:
    """1.0 when a blink of ``track`` ended within ``recent_s`` seconds before ``t``, else 0.0;
    None without eye landmarks. The blink tracker counts only clear closures (lowest EAR at
    most ``Config.blink_depth_ratio`` x the open-eye baseline, and deeper than the EAR's own
    noise): on the ZJU clips true blinks reach 0.45 x baseline (median; 95 % <= 0.64), while
    the EAR of a jittered photo, a turning head or a blurred screen replay dips to ~0.7-0.8 x,
    which is not counted."""
    if track.blink is None:
        return None
    evs = track.blink.events
    return 1.0 if evs and t - evs[-1].end_s <= recent_s else 0.0


def motion_cue(track: Track, t: float) -> float | None:
    poses = [(pt, y, p) for pt, y, p in track.poses if t - pt <= MOTION_WINDOW_S]
    if len(poses) < MOTION_MIN_SAMPLES:
        return None
    a = np.asarray([(y, p) for _, y, p in poses], np.float64)
    s = float(a[:, 0].std() + a[:, 1].std())
    return float(min(max(s / MOTION_FULL_DEG, 0.0), 1.0)) if math.isfinite(s) else None


def reflection_cue(crop: np.ndarray) -> dict[str, float] | None:
    """Specular statistics of the face crop (fastlive.kernels.specular_stats)."""
    st = kernels.specular_stats(crop)
    return {"ratio": float(st["ratio"]), "n_blobs": float(st["n_blobs"]),
            "max_value": float(st["max_value"])}


@dataclass(frozen=True)
class Cues:
    """One face's cues on one frame (``FaceResult.cues`` is :meth:`as_dict`): ``networks``:
    each passive network's P(live) by model name; ``passive``: the fused P(live) of this frame
    or the latest scored one; ``smoothed``: the stream's window score; ``blink``, ``motion``,
    ``reflection``: see the module docstring. None when unavailable."""

    networks: dict[str, float]
    passive: float | None
    smoothed: float | None
    blink: float | None
    motion: float | None
    reflection: dict[str, float] | None

    def as_dict(self, temporal_lift: float) -> dict[str, Any]:
        """The ``FaceResult.cues`` dict, with the fusion's ``temporal_lift``."""
        return {**self.networks, "passive": self.passive, "smoothed": self.smoothed,
                "blink": self.blink, "motion": self.motion, "reflection": self.reflection,
                "temporal_lift": temporal_lift}


class CueStage:
    """The cue stage: a track's passive scores, blink, head motion (the pose of ``quality``
    joins the track's history) and specular reflection on ``quality``'s crop."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def run(self, track: Track, t: float, quality: Quality, *, stream: bool) -> Cues:
        lp = track.last_passive
        if stream:
            track.add_pose(t, quality.yaw, quality.pitch)
        return Cues(
            networks={} if lp is None else lp.cues,
            passive=None if lp is None else lp.score,
            smoothed=None if lp is None else track.window_score,
            blink=blink_cue(track, t, self.config.blink_recent_s) if stream else None,
            motion=motion_cue(track, t) if stream else None,
            reflection=None if quality.crop is None else reflection_cue(quality.crop),
        )
