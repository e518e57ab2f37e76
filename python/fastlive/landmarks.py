"""Eye landmarks for blinks and tracking: MediaPipe iris/eye-contour model on aligned eye crops.

Why the iris model and not the 468-point face mesh for the eyelids: on the ZJU clips in
``../shared/data`` (frontal, no glasses; ``python -m fastlive.blinks ../shared/data
--compare-mesh``) the face mesh's eyelid points barely move when the eye closes (median EAR 0.297
open vs 0.287 on annotated closed frames) while the eye-contour model separates them clearly
(0.293 vs 0.094). The face mesh (:class:`FaceMesh`) stays available for head pose and
comparison.

An eye crop is a 64x64 square centred on the eye, rotated so the eye corners are horizontal, its
side ``EYE_CROP_SCALE`` times the eye width (corner to corner), like MediaPipe's iris pipeline.
The subject's left eye (image right) is mirrored so the model always sees a right eye.

On a detection frame the crop comes from the detector's eye keypoints (eye width estimated as
``EYE_WIDTH_PER_IOD`` x the inter-ocular distance); on a tracked frame it comes from the eye
corners found on the previous frame, so no detection is needed between re-detections.

The 6 EAR points per eye (p1/p4 corners, p2/p3 upper lid, p6/p5 lower lid) are taken from the
model's 16-point eye contour (indices ``EAR_IDX``: the contour points that correspond to the
face-mesh points 33, 160, 158, 133, 153, 144 of the right eye).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastlive import registry

CROP = 64  # iris model input side
EYE_CROP_SCALE = 2.3  # crop side / eye width (MediaPipe's iris ROI)
EYE_WIDTH_PER_IOD = 0.45  # eye width (corner to corner) / inter-ocular distance (pupils)
# Eye contour of the iris model: 0 and 8 are the corners (0 outer for the right eye as the model
# sees it, 8 inner), 1..7 the lower lid, 9..15 the upper lid (MediaPipe's ordering, matching face
# mesh 33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173).
EAR_IDX = (0, 11, 13, 8, 5, 3)
CORNERS = (0, 8)
CONTOUR = 16
ROI_DEADBAND = 0.3  # eye widths (see EyeLandmarker.run)
MIN_CONTRAST = 4.0  # gray-level std of an eye crop below this: no eye there


def _cv2() -> Any:
    import cv2

    return cv2


def _ort_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class EyeROI:
    """Where to crop one eye: centre (x, y) in frame pixels, eye width in pixels, and the angle
    (radians) of the line from the eye's image-left corner to its image-right corner."""

    cx: float
    cy: float
    width: float
    angle: float

    def valid(self, frame_shape: tuple[int, ...]) -> bool:
        h, w = frame_shape[:2]
        return (math.isfinite(self.cx) and math.isfinite(self.cy) and self.width >= 4.0
                and -0.5 * self.width <= self.cx <= w + 0.5 * self.width
                and -0.5 * self.width <= self.cy <= h + 0.5 * self.width)


@dataclass(frozen=True)
class EyeResult:
    """One eye on one frame (frame coordinates)."""

    ear: float  # eye aspect ratio (NaN when degenerate)
    points: np.ndarray  # (6, 2) EAR points p1..p6
    contour: np.ndarray  # (16, 2) eye contour
    iris: np.ndarray  # (2,) iris centre
    roi: EyeROI  # the crop this result came from
    next_roi: EyeROI  # the crop to use on the next frame (from the corners found here)


def rois_from_keypoints(kp: np.ndarray) -> tuple[EyeROI, EyeROI]:
    """Eye crops (image-left eye, image-right eye) from 5 detector keypoints (right eye, left
    eye, ...: YuNet order, the subject's right eye is on the image's left)."""
    kp = np.asarray(kp, dtype=np.float64)
    a, b = kp[0], kp[1]
    d = b - a
    iod = float(math.hypot(d[0], d[1]))
    ang = float(math.atan2(d[1], d[0]))
    w = max(iod * EYE_WIDTH_PER_IOD, 1e-3)
    return EyeROI(a[0], a[1], w, ang), EyeROI(b[0], b[1], w, ang)


def eye_transform(roi: EyeROI, mirror: bool) -> np.ndarray:
    """2x3 affine frame -> 64x64 eye crop (mirrored horizontally when ``mirror``)."""
    s = CROP / (EYE_CROP_SCALE * roi.width)
    c, sn = math.cos(roi.angle) * s, math.sin(roi.angle) * s
    # rotate by -angle, scale, centre at (32, 32) (pixel-centre convention: centre = (S-1)/2)
    m = np.array([[c, sn, 0.0], [-sn, c, 0.0]])
    m[:, 2] = np.array([(CROP - 1) / 2, (CROP - 1) / 2]) - m[:, :2] @ np.array([roi.cx, roi.cy])
    if mirror:
        m[0] = -m[0]
        m[0, 2] += CROP - 1
    return m


class EyeLandmarker:
    """MediaPipe iris/eye-contour model (registry name "iris") on 64x64 eye crops.

    Thread-safe: one onnxruntime session (``run`` is thread-safe) and per-call buffers.
    ``input_range``: the model's input scaling, "01" (pixel / 255, checked on ZJU: both ranges
    give the same contours to within noise, "01" slightly sharper closures) or "pm1".
    """

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1,
                 input_range: str = "01") -> None:
        if input_range not in ("01", "pm1"):
            raise ValueError(f"input_range: expected '01' or 'pm1', got {input_range!r}")
        self.model_path = registry.resolve("iris", model_path)
        self._sess = _ort_session(self.model_path, threads)
        self._in = self._sess.get_inputs()[0].name
        self.input_range = input_range
        if input_range == "01":
            self._mean, self._std = (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)
        else:
            self._mean, self._std = (127.5, 127.5, 127.5), (127.5, 127.5, 127.5)
        self._local = threading.local()

    def _buf(self) -> np.ndarray:
        b = getattr(self._local, "buf", None)
        if b is None:
            b = np.empty((1, 3, CROP, CROP), np.float32)
            self._local.buf = b
        return b

    def run(self, frame: np.ndarray, roi: EyeROI, *, mirror: bool) -> EyeResult:
        """Eye contour, EAR points and iris centre of one eye (frame must be HxWx3 uint8 BGR;
        callers validate it once with fastlive.frames.as_bgr)."""
        from fastlive import _core

        m = eye_transform(roi, mirror)
        x = _core.warp_to_tensor(frame, m, (CROP, CROP), mean=self._mean, std=self._std,
                                 channel_order="rgb", border="replicate", out=self._buf())
        contour_out, iris_out = self._sess.run(None, {self._in: x})
        pts = np.asarray(contour_out, np.float64).reshape(-1, 3)[:CONTOUR, :2]
        iris = np.asarray(iris_out, np.float64).reshape(-1, 3)[0, :2]
        # crop -> frame
        inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
        both = np.vstack([pts, iris[None]]) @ inv[:, :2].T + inv[:, 2]
        contour, iris_f = both[:CONTOUR], both[CONTOUR]
        ear_pts = contour[list(EAR_IDX)]
        ear = _ear(ear_pts)
        a, b = contour[CORNERS[0]], contour[CORNERS[1]]
        c = (a + b) / 2
        width = float(math.hypot(*(b - a)))
        contrast = float(x.std()) * self._std[0]
        iris_off = float(math.hypot(*(iris_f - c))) / width if width > 0 else math.inf
        if not (math.isfinite(width) and 0.55 * roi.width < width < 2.0 * roi.width
                and iris_off < 0.5 and contrast > MIN_CONTRAST):
            # The model always outputs an eye-like shape (a flat gray crop gives a plausible
            # open eye): implausible corners, an iris outside the eye or a featureless crop
            # mean there is no eye here (tracking lost): keep the crop, no EAR.
            return EyeResult(float("nan"), ear_pts, contour, iris_f, roi, roi)
        # Follow the eye with a dead band: the crop moves only when the eye centre moved by more
        # than ROI_DEADBAND eye widths; width and angle stay those of the detection. Re-centring
        # on every frame's corners makes the crop jitter and the EAR noisy (ZJU: 35 missed
        # blinks of 149 vs 2 with the dead band).
        nxt = roi
        if math.hypot(c[0] - roi.cx, c[1] - roi.cy) > ROI_DEADBAND * roi.width:
            nxt = EyeROI(float(c[0]), float(c[1]), roi.width, roi.angle)
        return EyeResult(ear, ear_pts, contour, iris_f, roi, nxt)


def _ear(p: np.ndarray) -> float:
    h = math.hypot(*(p[0] - p[3]))
    if not h > 1e-9:
        return float("nan")
    v = math.hypot(*(p[1] - p[5])) + math.hypot(*(p[2] - p[4]))
    return float(v / (2.0 * h))


@dataclass(frozen=True)
class EyesResult:
    """Both eyes of one face on one frame."""

    ear: float | None  # mean EAR of the eyes that were measured (None when none)
    eyes: tuple[EyeResult | None, EyeResult | None]  # (image-left, image-right)
    ms: float

    @property
    def lost(self) -> bool:
        """No eye measured, or every measured eye implausible (the face is no longer there)."""
        got = [e for e in self.eyes if e is not None]
        return not got or all(not math.isfinite(e.ear) for e in got)

    def shift(self) -> np.ndarray:
        """Mean displacement of the measured eyes' crops (this frame -> next frame)."""
        d = [(e.next_roi.cx - e.roi.cx, e.next_roi.cy - e.roi.cy) for e in self.eyes
             if e is not None and math.isfinite(e.ear)]
        return np.mean(np.asarray(d, np.float64), axis=0) if d else np.zeros(2)

    def next_rois(self, rois: tuple[EyeROI, EyeROI]) -> tuple[EyeROI, EyeROI]:
        """The eye crops for the next frame: measured eyes follow their corners; an eye that
        was not measured moves with the other one."""
        d = self.shift()
        out = []
        for e, r in zip(self.eyes, rois):
            if e is not None and math.isfinite(e.ear):
                out.append(e.next_roi)
            else:
                out.append(EyeROI(r.cx + float(d[0]), r.cy + float(d[1]), r.width, r.angle))
        return out[0], out[1]


def measure_eyes(lm: EyeLandmarker, frame: np.ndarray, rois: tuple[EyeROI, EyeROI],
                 which: str = "both") -> EyesResult:
    """Run the eye model on the eyes selected by ``which`` ("both", "left" = image-left eye,
    "right" = image-right eye); EAR is the mean over the measured eyes."""
    t0 = time.perf_counter()
    out: list[EyeResult | None] = [None, None]
    for i, roi in enumerate(rois):
        if which == "left" and i == 1 or which == "right" and i == 0:
            continue
        if not roi.valid(frame.shape):
            continue
        out[i] = lm.run(frame, roi, mirror=(i == 1))
    ears = [e.ear for e in out if e is not None and math.isfinite(e.ear)]
    ear = float(np.mean(ears)) if ears else None
    return EyesResult(ear, (out[0], out[1]), (time.perf_counter() - t0) * 1e3)


class EyeSchedule:
    """Per-track eye sampling for ``Config.eyes="auto"``: one eye per frame, both when it counts.

    The eye model costs ~2.8 ms per eye here, so measuring both eyes on every frame would take
    a tracked frame over its 5 ms budget. Instead the eyes take turns (image-left on one frame,
    image-right on the next) and each sample is normalised by its eye's open level (the
    ``quantile`` of that eye's last ``window`` samples) so the two eyes feed the blink tracker
    one consistent series. When the normalised sample drops below ``confirm`` x the blink
    tracker's baseline, or a closure is in progress, the other eye is measured too and the two
    are averaged (blinks close both eyes; single-eye noise does not). Until each eye has two
    samples, both are measured. On the ZJU dev clips this gives the same blink events as
    measuring both eyes on every frame (147/149, no false blink) with one eye on ~70 % of
    tracked frames.
    """

    def __init__(self, window: int = 30, quantile: float = 0.8, confirm: float = 0.9) -> None:
        from collections import deque

        self.hist: tuple[Any, Any] = (deque(maxlen=window), deque(maxlen=window))
        self.quantile = quantile
        self.confirm = confirm
        self.turn = 0

    def _base(self, j: int) -> float | None:
        h = self.hist[j]
        if len(h) < 2:
            return None
        b = float(np.quantile(np.fromiter(h, np.float64, len(h)), self.quantile))
        return b if b > 0 else None

    def _add(self, r: EyesResult) -> None:
        for j, e in enumerate(r.eyes):
            if e is not None and math.isfinite(e.ear):
                self.hist[j].append(e.ear)

    def measure(self, lm: EyeLandmarker, frame: np.ndarray, rois: tuple[EyeROI, EyeROI],
                blink: Any) -> EyesResult:
        t0 = time.perf_counter()
        k = self.turn % 2
        self.turn += 1
        bases = (self._base(0), self._base(1))
        if bases[0] is None or bases[1] is None:
            r = measure_eyes(lm, frame, rois, "both")
            self._add(r)
            return r
        sides = ("left", "right")
        first = measure_eyes(lm, frame, rois, sides[k])
        e = first.eyes[k]
        common = (bases[0] + bases[1]) / 2
        baseline = None if blink is None else blink.baseline
        closed = blink is not None and blink.is_closed
        v = None if e is None or not math.isfinite(e.ear) else e.ear / bases[k] * common
        if v is not None and not closed and (baseline is None or v >= self.confirm * baseline):
            self.hist[k].append(e.ear)  # type: ignore[union-attr]
            return EyesResult(v, first.eyes, (time.perf_counter() - t0) * 1e3)
        other = measure_eyes(lm, frame, rois, sides[1 - k])
        eyes = (first.eyes[0] or other.eyes[0], first.eyes[1] or other.eyes[1])
        both = EyesResult(None, eyes, 0.0)
        self._add(both)
        vals = [x.ear / bases[j] * common for j, x in enumerate(eyes)
                if x is not None and math.isfinite(x.ear)]
        ear = float(np.mean(vals)) if vals else None
        return EyesResult(ear, eyes, (time.perf_counter() - t0) * 1e3)


class FaceMesh:
    """MediaPipe face mesh (registry name "face_mesh"): 468 landmarks on a 192x192 face crop.

    Used for comparison and head pose; the blink path uses :class:`EyeLandmarker` (see the
    module docstring for the measurement). ``run`` returns (468, 3) points in frame
    coordinates (z in crop pixels) and the face-presence probability.
    """

    SIZE = 192
    RIGHT_EYE = (33, 160, 158, 133, 153, 144)
    LEFT_EYE = (362, 385, 387, 263, 373, 380)

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1,
                 scale: float = 1.0) -> None:
        self.model_path = registry.resolve("face_mesh", model_path)
        self._sess = _ort_session(self.model_path, threads)
        self._in = self._sess.get_inputs()[0].name
        self.scale = float(scale)

    def run(self, frame: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, float]:
        from fastlive import _core
        from fastlive.align import invert, keypoint_transform

        m = keypoint_transform(keypoints, self.SIZE, self.scale)
        x = _core.warp_to_tensor(frame, m, (self.SIZE, self.SIZE), mean=(0.0, 0.0, 0.0),
                                 std=(255.0, 255.0, 255.0), channel_order="rgb",
                                 border="replicate")
        lm, presence = self._sess.run(None, {self._in: x})
        pts = np.asarray(lm, np.float64).reshape(468, 3)
        inv = invert(m)
        xy = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
        prob = 1.0 / (1.0 + math.exp(-float(np.asarray(presence).ravel()[0])))
        return np.hstack([xy, pts[:, 2:]]), prob

    def ears(self, points: np.ndarray) -> tuple[float, float]:
        return _ear(points[list(self.RIGHT_EYE), :2]), _ear(points[list(self.LEFT_EYE), :2])
