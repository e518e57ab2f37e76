"""Pipeline configuration: one frozen dataclass; CLI flags map onto its fields one to one.

Every default lives here. Blink defaults were tuned on the ZJU dev clips (subjects 1-10,
``python -m fastlive.evaluate.blinks_zju ../shared/data``); see docs/api.md for the numbers.
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
    # a stream's re-detections of faces it tracks search a smaller YuNet input: the frame scaled
    # so the smallest tracked face is detect_track_px across (never above detect_max_side;
    # YuNet finds >= 99.6 % of faces of 32 px or more, see FaceDetector.detect). None: always
    # detect_max_side. Every detect_full_every-th scheduled re-detection searches at
    # detect_max_side (faces newer and smaller than the tracked ones: found within
    # redetect_every * detect_full_every frames). Off by default: YuNet's box for the same face
    # moves by up to ~10 px between input sizes, which the motion cue reads as head motion (a
    # static photo then earns the motion boost).
    detect_track_px: int | None = None
    detect_full_every: int = 3
    max_faces: int = 4  # faces scored per frame (largest first)
    track_iou: float = 0.3  # detection <-> track match
    # a lost track not seen for this long expires; a track followed by its eyes stays active
    # through detector misses for this long after its last detection
    track_max_age_s: float = 1.0
    # score_face: when no face is found in the crop (upright, turned, or with a border), score
    # the whole image as the face (detector "whole") instead of reporting no face. Only for
    # callers that know they pass a face crop (their own detector or tracker made it): anything
    # passed, a cat or a wall included, is then scored as a face and can come out LIVE.
    assume_face: bool = False

    # -- landmarks / blinks ---------------------------------------------------------------------
    landmarks: bool = True  # eye landmarks: EAR, blinks, eye tracking
    # the eye model: "mediapipe" (MediaPipe's iris/eye-contour model, downloaded on first use,
    # ~2-4 ms per eye), "fastlive" (fastlive's own eye network, shipped with the package: both
    # eyes in one ~0.1 ms call; fewer blinks found on some real videos, models/README.md) or
    # "auto": MediaPipe's when it can be had, else fastlive's (a degraded run, so blinks still
    # work offline); see fastlive.landmarks
    eye_model: str = "auto"
    # eyes measured per frame: "auto" (both with the fastlive model; with MediaPipe one per frame
    # in turn, both near a closure: see landmarks.EyeSchedule), "both", "left" or "right" (image
    # side)
    eyes: str = "auto"
    # also run the eye model on single images (no session) and on re-detection frames of faces
    # already followed. Off (default) those cost about one detection (issue 3's 1.5x target): a
    # single image reports ear None and skips the "eyes not found" check; a followed face's
    # blink tracker takes the missing sample in its stride. A stream always measures a new
    # face's eyes on its first frame (blinks from the start), and score_face streams (every
    # frame a detection) on every frame.
    eyes_on_detection: bool = False
    # blink tracker (fastlive.kernels.BlinkTracker; see cpp/include/fastlive/eye.hpp). A blink
    # closes below close x baseline, reopens, lasts min..max duration (0.06 s: two frame
    # intervals at 30 fps, so a one-frame dip is noise at any frame rate) and dips to
    # depth x baseline or lower; a noisy EAR needs a dip noise_factor x its noise deep; a
    # "closure" longer than level_change_s is a new open level (head pose). Every blink counted
    # is evidence (cues["blink"]): count, reason and overlay agree.
    blink_close_ratio: float = 0.78
    blink_open_ratio: float = 0.82
    blink_min_duration_s: float = 0.06
    blink_max_duration_s: float = 0.7
    blink_baseline_window_s: float = 4.0
    blink_baseline_quantile: float = 0.75
    blink_warmup_s: float = 0.0
    blink_warmup_samples: int = 3
    blink_depth_ratio: float = 0.7
    blink_noise_factor: float = 2.5
    blink_level_change_s: float = 2.0

    # -- passive models -------------------------------------------------------------------------
    # in a session, the passive models run on a track once this many seconds have passed since
    # its last passive score (every 3rd frame at 30 fps; every frame of a slower stream)
    passive_interval_s: float = 0.1
    # in a session a face's score is P(live) of the mean fused passive logit over this many
    # seconds (its latest passive scores; fastlive.track.Track.add_passive)
    window_s: float = 1.0

    # -- fusion ---------------------------------------------------------------------------------
    min_frames: int = 3  # a stream decides only after this many passive scores of the track
    temporal_margin: float = 0.15  # temporal cues can lift a score within this of the threshold
    blink_boost: float = 0.6  # share of the margin a recent blink may close
    motion_boost: float = 0.3  # share of the margin natural head motion may close
    blink_recent_s: float = 10.0  # a blink counts as evidence for this long
    # a stream says LIVE only after a blink within blink_recent_s: without it a still photo fed
    # as a stream with sensor noise or movement (an injected still) can reach LIVE
    require_blink: bool = True
    frozen_frames: int = 3  # this many frames identical to the previous one: a frozen stream
    replay_window: int = 900  # frame signatures kept for loop detection (~30 s at 30 fps)
    replay_hold_s: float = 10.0  # a frozen / looped stream blocks LIVE for this long after

    # -- quality --------------------------------------------------------------------------------
    min_face_px: int = 40  # shorter box side below this: UNCERTAIN("face too small")
    min_blur: float = 30.0  # variance of Laplacian on the 64x64 gray crop
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
    # fail (fastlive.registry.ModelNotFoundError) instead of running degraded when a model is
    # missing (Haar instead of YuNet, no eye model, no passive model); FASTLIVE_STRICT=1 turns
    # it on for every detector whatever this field says
    strict: bool = False

    def __post_init__(self) -> None:
        if self.operating_point not in OPERATING_POINTS:
            raise ValueError(f"operating_point: expected one of {OPERATING_POINTS}, got "
                             f"{self.operating_point!r}")
        for name in ("threshold", "max_occlusion"):  # optional values in [0, 1]
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name}: expected None or a number in [0, 1], got {v!r}")
        if self.detector_backend not in ("auto", "yunet", "haar"):
            raise ValueError(f"detector_backend: expected 'auto', 'yunet' or 'haar', got "
                             f"{self.detector_backend!r}")
        for name in ("assume_face", "strict"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.eye_model not in ("auto", "fastlive", "mediapipe"):
            raise ValueError(f"eye_model: expected 'auto', 'fastlive' or 'mediapipe', got "
                             f"{self.eye_model!r}")
        if self.eyes not in ("auto", "both", "left", "right"):
            raise ValueError(f"eyes: expected 'auto', 'both', 'left' or 'right', got "
                             f"{self.eyes!r}")
        if self.detect_track_px is not None and (
                not isinstance(self.detect_track_px, int) or isinstance(self.detect_track_px, bool)
                or self.detect_track_px < 16):
            raise ValueError(f"detect_track_px: expected None or an int >= 16 (pixels), got "
                             f"{self.detect_track_px!r}")
        for name in ("detect_max_side", "redetect_every", "detect_full_every", "max_faces",
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
                     "detect_score_threshold"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1], got {v}")
        for name, lo, hi, lo_open in (("blink_depth_ratio", 0.0, 1.0, True),
                                      ("blink_noise_factor", 0.0, 100.0, False),
                                      ("blink_level_change_s", 0.0, 3600.0, True)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"{name}: expected a number, got {type(v).__name__}")
            if not (lo < v <= hi if lo_open else lo <= v <= hi):
                raise ValueError(f"{name}: expected a value in {'(' if lo_open else '['}{lo:g}, "
                                 f"{hi:g}], got {v}")
        for name in ("window_s", "passive_interval_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected seconds >= 0, got {getattr(self, name)}")
        if self.track_max_age_s <= 0:
            raise ValueError(f"track_max_age_s: expected seconds > 0, got "
                             f"{self.track_max_age_s}")

    def blink_params(self) -> dict[str, Any]:
        """Keyword arguments for fastlive.kernels.BlinkTracker."""
        return {
            "close_ratio": self.blink_close_ratio, "open_ratio": self.blink_open_ratio,
            "min_duration_s": self.blink_min_duration_s,
            "max_duration_s": self.blink_max_duration_s,
            "baseline_window_s": self.blink_baseline_window_s,
            "baseline_quantile": self.blink_baseline_quantile,
            "warmup_s": self.blink_warmup_s, "warmup_samples": self.blink_warmup_samples,
            "max_events": self.max_events, "depth_ratio": self.blink_depth_ratio,
            "noise_factor": self.blink_noise_factor,
            "level_change_s": self.blink_level_change_s,
        }

    def replace(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
