"""Result objects returned by ``score_frame`` / ``score_face`` (plain data, JSON via to_dict)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LIVE, SPOOF, UNCERTAIN = "LIVE", "SPOOF", "UNCERTAIN"
DECISIONS = (LIVE, SPOOF, UNCERTAIN)

# Reasons (FaceResult.reason / FrameResult.reason); None when the decision needs no explanation.
NO_FACE = "no face"
TOO_SMALL = "face too small"
TOO_DARK = "too dark"
TOO_BRIGHT = "too bright"
TOO_BLURRY = "too blurry"
BAD_POSE = "head turned too far"
ROTATED = "face rotated (hold the camera upright)"
NO_EYES = "eyes not found"
OCCLUDED = "face not fully in view"
NOT_ENOUGH_FRAMES = "not enough frames yet"
NO_MODEL = "no passive model"
NO_BLINK = "no blink yet"
NO_RECENT_BLINK = "no recent blink"
FROZEN = "frozen stream (repeated frames)"
LOOPED = "looped video (repeated frames)"
LOW_SCORE = "score below threshold"
HIGH_SCORE = "score above threshold"


def _num(v: Any, nd: int = 4) -> Any:
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return round(f, nd) if math.isfinite(f) else None
    if isinstance(v, np.ndarray):
        return [_num(x, nd) for x in v.tolist()]
    if isinstance(v, dict):
        return {str(k): _num(x, nd) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_num(x, nd) for x in v]
    return v


@dataclass(frozen=True)
class BlinkInfo:
    start_s: float
    end_s: float
    min_ear: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class FaceResult:
    """One face on one frame.

    ``score``: calibrated liveness score in [0, 1] (higher = live); NaN when no passive model is
    available (failure to score, never an invented number). ``decision``: LIVE / SPOOF /
    UNCERTAIN, ``reason`` says why (see the module constants). ``cues``: per-cue scores
    (each passive network's P(live) by model name, "passive": the fused P(live) of this frame
    or the latest scored one, "smoothed": the stream's window score, "blink", "motion",
    "reflection", "temporal_lift"; None when unavailable). ``quality``: face size, blur,
    exposure, occlusion by the frame edge, pose.
    ``ear``: eye aspect ratio on this frame (None when unavailable); ``blink_count`` /
    ``blinks``: so far in the session (for a single image: 0 and empty).
    """

    box: tuple[float, float, float, float]
    score: float
    decision: str
    reason: str | None
    cues: dict[str, Any]
    quality: dict[str, Any]
    keypoints: np.ndarray | None = None
    track_id: int | None = None
    ear: float | None = None
    blink_count: int = 0
    blinks: tuple[BlinkInfo, ...] = ()
    detector: str = ""
    tracked: bool = False  # True: located by tracking (no detection on this frame)

    @property
    def is_live(self) -> bool:
        return self.decision == LIVE

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": _num(self.score),
            "decision": self.decision,
            "reason": self.reason,
            "track_id": self.track_id,
            "keypoints": None if self.keypoints is None else _num(self.keypoints, 2),
            "cues": _num(self.cues),
            "quality": _num(self.quality),
            "ear": _num(self.ear),
            "blink_count": int(self.blink_count),
            "blinks": [{"start_s": _num(b.start_s), "end_s": _num(b.end_s),
                        "min_ear": _num(b.min_ear)} for b in self.blinks],
            "detector": self.detector,
            "tracked": self.tracked,
        }


# FrameResult.degraded entries: a model fastlive runs without (offline, nothing cached), so
# the results differ from a complete install (LivenessDetector.degraded holds the messages).
DEGRADED_DETECTOR = "face_detector"  # Haar cascade instead of YuNet: no keypoints
DEGRADED_EYES = "eye_landmarks"  # no eye model: no EAR, no blink cue
DEGRADED_PASSIVE = "passive_models"  # no passive model: NaN scores, never LIVE


@dataclass(frozen=True)
class FrameResult:
    """All faces of one frame (largest first) and per-stage timings in milliseconds.

    ``degraded``: what this result was computed without (``DEGRADED_*`` names: a model that
    was missing when the detector was built); empty for a complete install. Strict mode
    (``Config(strict=True)`` or ``FASTLIVE_STRICT=1``) refuses to build a degraded detector.
    """

    faces: list[FaceResult]
    timings: dict[str, float] = field(default_factory=dict)
    timestamp: float | None = None
    frame_index: int = 0
    detected: bool = True  # a full detection ran on this frame (False: tracked frame)
    shape: tuple[int, int] = (0, 0)
    degraded: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        """The largest face's decision; UNCERTAIN when there is no face."""
        return self.faces[0].decision if self.faces else UNCERTAIN

    @property
    def reason(self) -> str | None:
        return self.faces[0].reason if self.faces else NO_FACE

    @property
    def score(self) -> float:
        """The largest face's score; NaN when there is no face."""
        return self.faces[0].score if self.faces else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "score": _num(self.score),
            "timestamp": _num(self.timestamp, 6),
            "frame_index": self.frame_index,
            "detected": self.detected,
            "shape": list(self.shape),
            "faces": [f.to_dict() for f in self.faces],
            "degraded": list(self.degraded),
            "timings": {k: round(float(v), 3) for k, v in self.timings.items()},
        }
