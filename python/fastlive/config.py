"""Pipeline configuration: one frozen dataclass; CLI flags map onto its fields one to one.

Every default lives here. Blink defaults were tuned on the ZJU dev clips (subjects 1-10,
``python -m fastlive.blinks ../shared/data``); see docs/api.md for the numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

OPERATING_POINTS = ("convenience", "balanced", "secure")


@dataclass(frozen=True)
class Config:
    # -- operating point ------------------------------------------------------------------------
    operating_point: str = "balanced"  # one of OPERATING_POINTS (from the passive model)
    threshold: float | None = None  # explicit threshold on FaceResult.score (overrides the above)

    # -- detection / tracking -------------------------------------------------------------------
    detector_backend: str = "auto"  # "auto" | "yunet" | "haar"
    detect_max_side: int = 320  # YuNet input: frame downscaled to this longest side
    detect_score_threshold: float = 0.6
    redetect_every: int = 10  # full detection every N frames of a session (1 = every frame)
    max_faces: int = 4  # faces scored per frame (largest first)
    track_iou: float = 0.3  # detection <-> track match
    track_max_age_s: float = 1.0  # a track not confirmed by a detection for this long expires

    # -- landmarks / blinks ---------------------------------------------------------------------
    landmarks: bool = True  # eye landmarks (iris model): EAR, blinks, eye tracking
    # eyes measured per frame: "auto" (one per frame in turn, both near a closure: see
    # landmarks.EyeSchedule), "both", "left" or "right" (image side)
    eyes: str = "auto"
    # also run the eye model on single images (no session) and on re-detection frames of faces
    # already followed. Off (default) those cost about one detection (issue 3's 1.5x target): a
    # single image reports ear None and skips the "eyes not found" check; a followed face's
    # blink tracker takes the missing sample in its stride. A stream always measures a new
    # face's eyes on its first frame (blinks from the start), and score_face streams (every
    # frame a detection) on every frame.
    eyes_on_detection: bool = False
    blink_close_ratio: float = 0.78
    blink_open_ratio: float = 0.82
    blink_min_duration_s: float = 0.03
    blink_max_duration_s: float = 0.7
    blink_baseline_window_s: float = 4.0
    blink_baseline_quantile: float = 0.75
    blink_warmup_s: float = 0.0
    blink_warmup_samples: int = 3

    # -- passive models -------------------------------------------------------------------------
    passive_every: int = 3  # in a session, the passive models run every k-th frame of a track
    smoothing_s: float = 0.5  # time constant of the exponential smoothing of the passive score
    # also run the passive CNN when the shipped fusion gives it no weight (it is then only
    # reported as cues["cnn"], ~0.5 ms more per passive frame); None in cues otherwise
    cnn_cue: bool = False

    # -- fusion ---------------------------------------------------------------------------------
    min_frames: int = 3  # a stream decides only after this many passive scores of the track
    temporal_margin: float = 0.15  # temporal cues can lift a score within this of the threshold
    blink_boost: float = 0.6  # share of the margin a recent blink may close
    motion_boost: float = 0.3  # share of the margin natural head motion may close
    blink_recent_s: float = 10.0  # a blink counts as evidence for this long
    require_blink: bool = True  # a stream says LIVE only after a blink within blink_recent_s
    blink_evidence_depth: float = 0.6  # ... whose lowest EAR is <= this x the baseline
    frozen_frames: int = 3  # this many frames identical to the previous one: a frozen stream
    replay_window: int = 900  # frame signatures kept for loop detection (~30 s at 30 fps)
    replay_hold_s: float = 10.0  # a frozen / looped stream blocks LIVE for this long after

    # -- quality --------------------------------------------------------------------------------
    min_face_px: int = 40  # shorter box side below this: UNCERTAIN("face too small")
    min_blur: float = 30.0  # variance of Laplacian on the 64x64 gray crop
    # sensor noise of the texture crop (passive.noise_sigma, grey levels) above which a face is
    # UNCERTAIN("too noisy"): the texture model was trained on crops at most 1.15 (models
    # round 11; round 10: 2.2) and reads more grain as live, attacks included
    # (models/README.md). None: not a gate.
    max_noise: float | None = 1.2
    min_brightness: float = 40.0  # mean luma of the face crop (0..255)
    max_brightness: float = 220.0
    max_yaw_deg: float = 35.0
    max_pitch_deg: float = 30.0
    max_roll_deg: float = 40.0  # in-plane rotation (upside-down / sideways faces)
    # share of the aligned face crop outside the frame above which a face is UNCERTAIN("face
    # not fully in view"). None (default): reported in quality["occlusion"], not a gate (a
    # tight crop scored with score_face always extends past its image). score_face never gates
    # on it.
    max_occlusion: float | None = None

    # -- runtime --------------------------------------------------------------------------------
    threads: int = 1  # onnxruntime intra-op threads per model
    cv2_threads: int | None = 1  # cv2.setNumThreads at detector construction (None: leave)
    max_events: int = 256  # blink events kept per track

    def __post_init__(self) -> None:
        if self.operating_point not in OPERATING_POINTS:
            raise ValueError(f"operating_point: expected one of {OPERATING_POINTS}, got "
                             f"{self.operating_point!r}")
        for name in ("threshold", "max_occlusion"):  # optional values in [0, 1]
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name}: expected None or a number in [0, 1], got {v!r}")
        if self.max_noise is not None and (not isinstance(self.max_noise, (int, float))
                                           or isinstance(self.max_noise, bool)
                                           or not self.max_noise > 0):
            raise ValueError(f"max_noise: expected None or a number > 0 (grey levels), got "
                             f"{self.max_noise!r}")
        if self.detector_backend not in ("auto", "yunet", "haar"):
            raise ValueError(f"detector_backend: expected 'auto', 'yunet' or 'haar', got "
                             f"{self.detector_backend!r}")
        if self.eyes not in ("auto", "both", "left", "right"):
            raise ValueError(f"eyes: expected 'auto', 'both', 'left' or 'right', got "
                             f"{self.eyes!r}")
        for name in ("detect_max_side", "redetect_every", "max_faces", "passive_every",
                     "min_frames", "threads", "blink_warmup_samples", "max_events",
                     "frozen_frames", "replay_window"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        if self.cv2_threads is not None and (not isinstance(self.cv2_threads, int)
                                             or self.cv2_threads < 0):
            raise ValueError(f"cv2_threads: expected None or an int >= 0, got "
                             f"{self.cv2_threads!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{f.name}: must be finite, got {v}")
        for name in ("track_iou", "temporal_margin", "blink_boost", "motion_boost",
                     "detect_score_threshold", "blink_evidence_depth"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1], got {v}")
        if self.smoothing_s < 0 or self.track_max_age_s <= 0:
            raise ValueError("smoothing_s must be >= 0 and track_max_age_s > 0")

    def blink_params(self) -> dict[str, Any]:
        """Keyword arguments for fastlive.kernels.BlinkTracker."""
        return {
            "close_ratio": self.blink_close_ratio, "open_ratio": self.blink_open_ratio,
            "min_duration_s": self.blink_min_duration_s,
            "max_duration_s": self.blink_max_duration_s,
            "baseline_window_s": self.blink_baseline_window_s,
            "baseline_quantile": self.blink_baseline_quantile,
            "warmup_s": self.blink_warmup_s, "warmup_samples": self.blink_warmup_samples,
            "max_events": self.max_events,
        }

    def replace(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
