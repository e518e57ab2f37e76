"""Per-face capture quality: size, blur, exposure, occlusion by the frame edge, pose; reasons
for UNCERTAIN decisions.

All measures are taken on a 64x64 aligned gray crop (the same alignment as the passive models)
so they do not depend on the frame resolution:

* ``size``: shorter side of the face box in frame pixels (and the inter-ocular distance).
* ``blur``: variance of the Laplacian of the crop (higher = sharper).
* ``brightness``: mean luma of the crop, ``clipped``: share of pixels <= 8 or >= 247.
* ``occlusion``: share of the aligned face crop that lies outside the frame (a face cut by
  the frame edge: its crop is filled with replicated edge pixels). Occluders inside the frame
  (hands, masks, sunglasses) are not measured.
  Not a gate by default (``Config.max_occlusion``): a tight face crop scored with
  ``score_face`` always extends past its image.
* ``yaw`` / ``pitch`` / ``roll`` (degrees, approximate, from the 5 detector keypoints): roll is
  the eye-line angle; yaw from the nose tip's offset from the eye midpoint across the face
  (in units of half the inter-ocular distance); pitch from where the nose tip sits between the
  eye line and the mouth line relative to the frontal template. They are coarse (about +-10
  degrees), enough to flag a head turned too far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fastlive import align, kernels
from fastlive import results as R

if TYPE_CHECKING:
    from fastlive.config import Config
    from fastlive.track import Box, Track

CROP = 64
# nose tip position between the eye line (0) and the mouth line (1) on a frontal face
_NOSE_T_FRONTAL = float((align.TEMPLATE_5[2, 1] - align.TEMPLATE_5[:2, 1].mean())
                        / (align.TEMPLATE_5[3:, 1].mean() - align.TEMPLATE_5[:2, 1].mean()))


def pose_from_keypoints(kp: np.ndarray | None) -> dict[str, float | None]:
    """Approximate yaw, pitch, roll in degrees from 5 keypoints (None without keypoints)."""
    if kp is None:
        return {"yaw": None, "pitch": None, "roll": None}
    kp = np.asarray(kp, np.float64)
    eye_l, eye_r = kp[0], kp[1]
    d = eye_r - eye_l
    iod = math.hypot(d[0], d[1])
    if not iod > 1e-6:
        return {"yaw": None, "pitch": None, "roll": None}
    roll = math.degrees(math.atan2(d[1], d[0]))
    ux, uy = d / iod  # eye-line direction
    nx, ny = -uy, ux  # downwards normal
    mid_eye = (eye_l + eye_r) / 2
    mid_mouth = (kp[3] + kp[4]) / 2
    v = kp[2] - mid_eye
    across = (v[0] * ux + v[1] * uy) / (iod / 2)
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, across))))
    down_mouth = (mid_mouth - mid_eye) @ np.array([nx, ny])
    down_nose = v @ np.array([nx, ny])
    pitch = None
    if down_mouth > 1e-6:
        t = down_nose / down_mouth
        pitch = math.degrees(math.asin(max(-1.0, min(1.0, (t - _NOSE_T_FRONTAL) * 2.0))))
    return {"yaw": yaw, "pitch": pitch, "roll": roll}


_G1 = (np.arange(16, dtype=np.float64) + 0.5) * (CROP / 16) - 0.5
_GX, _GY = (g.ravel() for g in np.meshgrid(_G1, _G1))  # 16x16 sample points of the crop


def crop_transform(box: Box, kp: np.ndarray | None, size: int = CROP) -> np.ndarray:
    """The 2x3 affine frame -> aligned face crop (5-point alignment, else the box)."""
    return align.keypoint_transform(kp, size) if kp is not None else align.box_transform(box,
                                                                                       size)


def outside_share(m: np.ndarray, frame_shape: tuple[int, ...]) -> float:
    """Share of a CROP x CROP crop made with affine ``m`` whose source lies outside the frame
    (16x16 sample points)."""
    h, w = frame_shape[:2]
    inv = align.invert(m)
    x = inv[0, 0] * _GX + inv[0, 1] * _GY + inv[0, 2]
    y = inv[1, 0] * _GX + inv[1, 1] * _GY + inv[1, 2]
    out = (x < -0.5) | (x > w - 0.5) | (y < -0.5) | (y > h - 0.5)
    return float(np.count_nonzero(out) / out.size)


def face_crop(frame: np.ndarray, box: Box, kp: np.ndarray | None, size: int = CROP, *,
              m: np.ndarray | None = None) -> np.ndarray:
    """Aligned uint8 BGR crop of the face (5-point alignment, else the box; ``m``: that
    transform, when already computed)."""
    if m is None:
        m = crop_transform(box, kp, size)
    return kernels.warp_crop(frame, m, (size, size), border="replicate")


@dataclass
class Quality:
    """The quality measures of one face (see the module docstring; ``FaceResult.quality`` is
    :meth:`as_dict`). ``problem``: the first problem that makes a decision unreliable (a
    reason), or None; ``crop``: the aligned BGR crop measured (the reflection cue reads it)."""

    size: float
    iod: float | None
    blur: float
    brightness: float
    clipped: float
    occlusion: float
    yaw: float | None
    pitch: float | None
    roll: float | None
    problem: str | None = None
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, float | None]:
        return {"size": self.size, "iod": self.iod, "blur": self.blur,
                "brightness": self.brightness, "clipped": self.clipped,
                "occlusion": self.occlusion, "yaw": self.yaw, "pitch": self.pitch,
                "roll": self.roll}


def assess(frame: np.ndarray, box: Box, kp: np.ndarray | None,
           crop: np.ndarray | None = None, *, m: np.ndarray | None = None) -> Quality:
    """Quality measures of one face (see the module docstring). ``crop`` / ``m``: the
    aligned crop and its transform (crop_transform), when already computed."""
    import cv2

    if m is None:
        m = crop_transform(box, kp)
    if crop is None:
        crop = face_crop(frame, box, kp, m=m)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    iod = None
    if kp is not None:
        d = np.asarray(kp[1], np.float64) - np.asarray(kp[0], np.float64)
        iod = float(math.hypot(d[0], d[1]))
    pose = pose_from_keypoints(kp)
    return Quality(size=float(min(box[2], box[3])), iod=iod, blur=float(lap.var()),
                   brightness=float(gray.mean()),
                   clipped=float(np.count_nonzero((gray <= 8) | (gray >= 247))) / gray.size,
                   occlusion=outside_share(m, frame.shape), yaw=pose["yaw"],
                   pitch=pose["pitch"], roll=pose["roll"], crop=crop)


def measure(frame: np.ndarray, box: Box, kp: np.ndarray | None,
            crop: np.ndarray | None = None, *, m: np.ndarray | None = None
            ) -> dict[str, float | None]:
    """:func:`assess` as a dict (``FaceResult.quality``)."""
    return assess(frame, box, kp, crop, m=m).as_dict()


def problem(q: Quality, cfg: Config, *, crop: bool = False) -> str | None:
    """The first quality problem that makes a decision unreliable (a reason), or None.
    ``crop``: the image is a face crop (score_face): no occlusion gate."""
    if q.size < cfg.min_face_px:
        return R.TOO_SMALL
    # before exposure and pose: a cut face's keypoints and crop statistics are unreliable
    if not crop and cfg.max_occlusion is not None and q.occlusion > cfg.max_occlusion:
        return R.OCCLUDED
    if q.brightness < cfg.min_brightness:
        return R.TOO_DARK
    if q.brightness > cfg.max_brightness:
        return R.TOO_BRIGHT
    if q.blur < cfg.min_blur:
        return R.TOO_BLURRY
    if q.yaw is not None and abs(q.yaw) > cfg.max_yaw_deg:
        return R.BAD_POSE
    if q.pitch is not None and abs(q.pitch) > cfg.max_pitch_deg:
        return R.BAD_POSE
    if q.roll is not None and abs(q.roll) > cfg.max_roll_deg:
        return R.ROTATED
    return None


class QualityStage:
    """The quality stage: one face's aligned crop, its :class:`Quality` and problem (a face
    whose eyes the eye model could not find where the keypoints put them: ``NO_EYES``)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def run(self, frame: np.ndarray, track: Track, *, crop: bool) -> Quality:
        m = crop_transform(track.box, track.keypoints)
        q = assess(frame, track.box, track.keypoints, m=m)
        q.problem = problem(q, self.config, crop=crop)
        if q.problem is None and track.eyes_missing:
            q.problem = R.NO_EYES
        return q
