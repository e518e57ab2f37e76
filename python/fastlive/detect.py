"""Face detection: YuNet (``cv2.FaceDetectorYN``) with a Haar-cascade fallback.

YuNet runs on a downscaled copy of the frame (longest side ``max_side``); boxes and the 5
keypoints (right eye, left eye, nose tip, right mouth corner, left mouth corner, in image
coordinates: "right eye" is the subject's right, on the image's left) are mapped back to the
full frame. Faces are returned largest first.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fastlive import registry

if TYPE_CHECKING:
    from fastlive.config import Config
    from fastlive.track import Track


@dataclass(frozen=True)
class Face:
    """One detected face in frame coordinates."""

    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    keypoints: np.ndarray | None  # (5, 2) float32, or None (Haar fallback)
    detector: str

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "keypoints": None if self.keypoints is None
            else np.round(self.keypoints.astype(float), 2).tolist(),
            "detector": self.detector,
        }


def _cv2() -> Any:
    import cv2

    return cv2


# Quarter turns (numpy.rot90's k: counter-clockwise) tried by FaceDetector.detect_in_crop when
# the upright search finds no face. Not 2: YuNet takes an upside-down face for an upright one
# (the orientation check below compares the turns instead).
ROTATIONS = (1, 3)
# Borders (fractions of the image's size, black) tried by FaceDetector.detect_in_crop when
# neither the upright nor the turned search finds a face: a crop cut through the face (chin,
# forehead or cheeks outside it) hides the face from the detector without some context. A face
# found with a border counts only when its box's shorter side is at least CROP_MIN_FACE x the
# crop's (the face fills a face crop) and, for the Haar cascade, when it scores at least
# CROP_HAAR_MIN_SCORE: the border also lets the cascade find false faces, small ones in
# textures (0.09-0.13 of the image in skimage's hubble_deep_field and immunohistochemistry,
# against 0.42 or more for the faces it finds in self-recorded crops) and a space shuttle
# (skimage's astronaut, scored 0.77; 145 of the 151 faces it finds in the crops below score
# 0.85 or more, the other 6 0.53-0.82).
# On 300 self-recorded crops (every 9th of the manifest's: python tests/test_face_presence.py
# ../shared/data 300 yunet haar) YuNet found 292 upright or turned; the border finds 2 of the
# other 8, both whole faces; the 6 left show hair, background or the lower half of a face
# (crops made by the projects' own detectors) and are no longer scored as faces. The Haar
# cascade found 105 upright or turned; the border finds 145 more.
CROP_PADS = (0.1, 0.25)
CROP_MIN_FACE = 0.3
CROP_HAAR_MIN_SCORE = 0.85
# Orientation check (FaceDetector(orientation_check=True)): YuNet also "finds" an upright face
# in a face turned a quarter turn (box and keypoints upright, the face lying on its side in
# them), and an upside-down face as an upside-down one, with lower scores: 0.61-0.82 on the
# sideways self-recorded crops, 0.70-0.88 on sideways NUAA frames and 0.67-0.89 (10th-90th
# percentile) on upside-down ones, against 0.905 or more for 99 % of upright NUAA frames.
# Faces scored below ORIENT_CHECK_BELOW are looked at again in a square region around them
# (ORIENT_CONTEXT x the box's longer side, resized to ORIENT_SIDE px), upright and turned by
# ORIENT_TURNS quarter turns; a turn whose face scores ORIENT_MARGIN more than the upright one,
# and at least ORIENT_MIN_SCORE (a turned false detection may otherwise grow into a larger
# "face"), replaces the face (box and keypoints in frame coordinates, so the alignment turns it
# upright). Four YuNet runs at 128x128, about 5 ms in all, only for such faces
# (benchmarks/test_bench_pipeline.py::test_bench_yunet_with_orientation_check).
ORIENT_CHECK_BELOW = 0.9
ORIENT_CONTEXT = 1.6
ORIENT_SIDE = 128
ORIENT_MARGIN = 0.05
ORIENT_TURNS = (1, 2, 3)
ORIENT_MIN_SCORE = 0.85


def _unrotate_points(p: np.ndarray, k: int, w: int, h: int) -> np.ndarray:
    """Map (N, 2) x, y points of ``np.rot90(image, k)`` back to ``image`` (w x h)."""
    x, y = p[:, 0], p[:, 1]
    if k == 1:
        out = (w - y, x)
    elif k == 2:
        out = (w - x, h - y)
    elif k == 3:
        out = (y, h - x)
    else:
        raise ValueError(f"k: expected 1, 2 or 3 quarter turns, got {k!r}")
    return np.stack(out, axis=1).astype(np.float32)


def _unrotate(face: Face, k: int, w: int, h: int) -> Face:
    """A face found in ``np.rot90(image, k)``, in the coordinates of ``image`` (w x h)."""
    x, y, bw, bh = face.box
    corners = _unrotate_points(np.array([[x, y], [x + bw, y + bh]], np.float32), k, w, h)
    x0, y0 = corners.min(0)
    x1, y1 = corners.max(0)
    kp = None if face.keypoints is None else _unrotate_points(face.keypoints, k, w, h)
    return Face((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), face.score, kp,
                face.detector)


def haar_available() -> bool:
    cv2 = _cv2()
    return hasattr(cv2, "CascadeClassifier") and hasattr(cv2, "data") and Path(
        cv2.data.haarcascades, "haarcascade_frontalface_default.xml"
    ).is_file()


class FaceDetector:
    """Thread-safe face detector. One OpenCV detector object is kept per thread.

    Parameters
    ----------
    backend: "auto" (YuNet, else Haar with one warning), "yunet" (error if unavailable), "haar".
    model_path: explicit YuNet file (sha256-checked); default: the model registry.
    max_side: YuNet input size: the frame is downscaled so its longest side is at most this.
    score_threshold, nms_threshold, top_k: YuNet parameters.
    min_face: faces smaller than this (pixels, shorter box side, full-frame scale) are dropped.
    orientation_check: look again at low-scoring YuNet faces turned a quarter turn each way and
        upside down, and keep the turn the detector is surest of (a face or print held sideways
        or upside down; see ORIENT_CHECK_BELOW). False: faces as YuNet returns them.
    strict: with backend "auto", raise :class:`fastlive.registry.ModelNotFoundError` instead of
        falling back to the Haar cascade when YuNet is unavailable; always so when
        ``FASTLIVE_STRICT`` is set (``fastlive.registry.strict``).
    """

    def __init__(self, backend: str = "auto", model_path: str | Path | None = None, *,
                 max_side: int = 320, score_threshold: float = 0.6, nms_threshold: float = 0.3,
                 top_k: int = 50, min_face: int = 0, orientation_check: bool = True,
                 strict: bool = False) -> None:
        if backend not in ("auto", "yunet", "haar"):
            raise ValueError(f"backend: expected 'auto', 'yunet' or 'haar', got {backend!r}")
        if not isinstance(max_side, int) or isinstance(max_side, bool) or max_side < 32:
            raise ValueError(f"max_side: expected an int >= 32, got {max_side!r}")
        if not 0.0 < float(score_threshold) < 1.0:
            raise ValueError(f"score_threshold: expected a value in (0, 1), got {score_threshold}")
        if not 0.0 < float(nms_threshold) < 1.0:
            raise ValueError(f"nms_threshold: expected a value in (0, 1), got {nms_threshold}")
        if not isinstance(orientation_check, bool):
            raise TypeError(f"orientation_check: expected True or False, got "
                            f"{orientation_check!r}")
        if not isinstance(strict, bool):
            raise TypeError(f"strict: expected True or False, got {strict!r}")
        self.orientation_check = orientation_check
        self.max_side = max_side
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.top_k = int(top_k)
        self.min_face = int(min_face)
        self._local = threading.local()
        self.model_path: Path | None = None
        self.fallback_reason: str | None = None
        if backend in ("auto", "yunet"):
            try:
                self.model_path = registry.resolve("yunet", model_path)
                self.backend = "yunet"
            except registry.ModelNotFoundError as exc:
                if backend == "yunet" or not haar_available():
                    raise
                if strict or registry.strict():
                    raise registry.strict_error("YuNet face detector", exc) from exc
                self.backend = "haar"
                self.fallback_reason = str(exc)
                warnings.warn(
                    f"YuNet face detector unavailable ({exc}); falling back to the Haar cascade "
                    "(no keypoints: coarser alignment, lower accuracy)",
                    RuntimeWarning, stacklevel=2,
                )
        else:
            if not haar_available():
                raise RuntimeError(
                    "backend: 'haar' needs opencv-python 4.x (cv2.CascadeClassifier and "
                    "cv2.data.haarcascades); this OpenCV has none. Use backend='yunet'."
                )
            self.backend = "haar"

    # -- per-thread OpenCV objects -------------------------------------------------------------
    def _yunet(self, w: int, h: int) -> Any:
        det = getattr(self._local, "yunet", None)
        if det is None:
            cv2 = _cv2()
            det = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (w, h), self.score_threshold, self.nms_threshold,
                self.top_k,
            )
            self._local.yunet = det
            self._local.size = (w, h)
        elif self._local.size != (w, h):
            det.setInputSize((w, h))
            self._local.size = (w, h)
        return det

    def _yunet_orient(self) -> Any:
        det = getattr(self._local, "yunet_orient", None)
        if det is None:
            det = _cv2().FaceDetectorYN.create(
                str(self.model_path), "", (ORIENT_SIDE, ORIENT_SIDE), 0.3, self.nms_threshold,
                self.top_k)
            self._local.yunet_orient = det
        return det

    def _haar(self) -> Any:
        c = getattr(self._local, "haar", None)
        if c is None:
            cv2 = _cv2()
            c = cv2.CascadeClassifier(
                str(Path(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))
            )
            self._local.haar = c
        return c

    # -- detection -----------------------------------------------------------------------------
    def detect(self, frame: np.ndarray, *, pad: float = 0.0, max_side: int | None = None,
               known: Sequence[Sequence[float]] = ()) -> list[Face]:
        """Detect faces in an HxWx3 uint8 BGR frame; largest first.

        ``pad`` > 0 surrounds the frame with a border of ``pad`` x its size before detection
        (helps when the face fills the whole image, e.g. a pre-cropped face); coordinates are
        still returned in the original frame.

        ``max_side``: YuNet's input for this call (the frame downscaled so its longest side is
        at most this; default: the detector's ``max_side``). A stream that already tracks
        faces searches a smaller input, sized to them (``LivenessDetector``,
        ``Config.detect_track_px``): YuNet finds 99.6-100 % of faces 32 px or more across in
        its input, 97.6 % at 20-32 px, 89.5 % at 16-20 px, 0-51 % below (300 NUAA, webcam and
        Roboflow images, faces found at 640 px: ``python benchmarks/test_bench_pipeline.py
        DATA_DIR --detect-sizes``). ``known``: (x, y, w, h) boxes of upright faces already
        tracked: a detection overlapping one (IoU > 0.3) skips the orientation check (a
        smaller input lowers YuNet's scores below ``ORIENT_CHECK_BELOW`` for upright faces;
        their orientation was checked when they were first found).
        """
        from fastlive.frames import as_bgr

        frame = as_bgr(frame, "frame")
        if not 0.0 <= float(pad) <= 2.0:
            raise ValueError(f"pad: expected a fraction in [0, 2], got {pad}")
        if max_side is not None and (not isinstance(max_side, int) or isinstance(max_side, bool)
                                     or max_side < 32):
            raise ValueError(f"max_side: expected None or an int >= 32, got {max_side!r}")
        cv2 = _cv2()
        ox = oy = 0
        if pad > 0:
            ph, pw = int(round(frame.shape[0] * pad)), int(round(frame.shape[1] * pad))
            frame = cv2.copyMakeBorder(frame, ph, ph, pw, pw, cv2.BORDER_CONSTANT, value=0)
            ox, oy = pw, ph
        h, w = frame.shape[:2]
        side = self.max_side if max_side is None else max_side
        faces = (self._detect_yunet(frame, side) if self.backend == "yunet"
                 else self._detect_haar(frame))
        if self.orientation_check and self.backend == "yunet":
            from fastlive.track import iou

            upright = [(x + ox, y + oy, bw, bh) for x, y, bw, bh in known]
            faces = [self._upright(frame, f) if f.score < ORIENT_CHECK_BELOW and not any(
                iou(f.box, b) > 0.3 for b in upright) else f for f in faces]
        out = []
        for f in faces:
            x, y, bw, bh = f.box
            if min(bw, bh) < self.min_face:
                continue
            kp = None if f.keypoints is None else f.keypoints - np.array([ox, oy], np.float32)
            out.append(Face((x - ox, y - oy, bw, bh), f.score, kp, f.detector))
        del h, w
        out.sort(key=lambda f: f.area, reverse=True)
        return out

    def detect_in_crop(self, face_bgr: np.ndarray, *, assume_face: bool = False) -> Face | None:
        """The face in an image that is already a face crop (the face fills most of it), or
        None when no face is found in it.

        Runs detection and returns the largest face. When none is found, the image is searched
        again turned a quarter turn each way (a phone held sideways: YuNet finds faces within
        about 45 degrees of upright) and the face found with the higher detector score is
        returned in this image's coordinates, keypoints included, so the alignment turns it
        upright. (YuNet also "finds" an upside-down face, with its keypoints upside down too, but
        with a lower score: 0.84-0.91 against 0.94-0.96 for the same sideways self-recorded
        crops.) Then, upright again, with a border around the image (``CROP_PADS``: a face cut
        by the crop's edges, which the detector misses without the context). ``None`` when
        none of these finds a face: a picture of no face is never scored as one.

        ``assume_face=True``: for callers that know they pass a face crop (e.g. from their own
        face detector or tracker): when neither the upright nor the turned search finds a face,
        the whole image is taken as the face box (``detector="whole"``, no keypoints, score 0)
        instead of trying the bordered search. Risk: anything passed is then scored as a face
        (a cat, a wall, a blank frame can come out LIVE). ``LivenessDetector.score_face`` (with
        ``Config.assume_face``) and the training pipeline use this, so training and serving
        see the same crops.
        """
        from fastlive.frames import as_bgr

        face_bgr = as_bgr(face_bgr, "face_bgr")
        if not isinstance(assume_face, bool):
            raise TypeError(f"assume_face: expected True or False, got {assume_face!r}")
        faces = self.detect(face_bgr)
        if faces:
            return faces[0]
        h, w = face_bgr.shape[:2]
        turned = [(faces[0].score, k, faces[0]) for k in ROTATIONS
                  if (faces := self.detect(np.ascontiguousarray(np.rot90(face_bgr, k))))]
        if turned:
            _, k, face = max(turned, key=lambda t: (t[0], -t[1]))
            return _unrotate(face, k, w, h)
        if assume_face:
            return Face((0.0, 0.0, float(w), float(h)), 0.0, None, "whole")
        min_score = CROP_HAAR_MIN_SCORE if self.backend == "haar" else 0.0
        for pad in CROP_PADS:
            faces = self.detect(face_bgr, pad=pad)
            if (faces and min(faces[0].box[2:]) >= CROP_MIN_FACE * min(h, w)
                    and faces[0].score >= min_score):
                return faces[0]
        return None

    def _upright(self, frame: np.ndarray, face: Face) -> Face:
        """``face`` as found in the turn (none, ORIENT_TURNS) of the region around it in which
        YuNet scores it highest; ``face`` itself unless a turn beats upright by ORIENT_MARGIN
        and scores ORIENT_MIN_SCORE (see ORIENT_CHECK_BELOW)."""
        cv2 = _cv2()
        x, y, bw, bh = face.box
        side = ORIENT_CONTEXT * max(bw, bh, 1.0)
        x0, y0 = x + bw / 2 - side / 2, y + bh / 2 - side / 2
        ix0, iy0, n = int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(side)) + 1
        h, w = frame.shape[:2]
        sub = frame[max(iy0, 0):max(min(iy0 + n, h), 0), max(ix0, 0):max(min(ix0 + n, w), 0)]
        if sub.size == 0:
            return face
        sub = cv2.copyMakeBorder(sub, max(-iy0, 0), max(iy0 + n - h, 0), max(-ix0, 0),
                                 max(ix0 + n - w, 0), cv2.BORDER_CONSTANT, value=0)
        s = ORIENT_SIDE / n
        region = cv2.resize(sub, (ORIENT_SIDE, ORIENT_SIDE),
                            interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        det = self._yunet_orient()
        best: dict[int, Face] = {}
        for k in (0, *ORIENT_TURNS):
            _, res = det.detect(np.ascontiguousarray(np.rot90(region, k)))
            if res is None:
                continue
            # the face nearest the region's centre (the one being checked)
            c = (res[:, 0] + res[:, 2] / 2 - ORIENT_SIDE / 2) ** 2 + (
                res[:, 1] + res[:, 3] / 2 - ORIENT_SIDE / 2) ** 2
            r = res[int(np.argmin(c))]
            if c.min() > (ORIENT_SIDE / 4) ** 2:
                continue
            best[k] = Face((float(r[0]), float(r[1]), float(r[2]), float(r[3])), float(r[14]),
                           r[4:14].reshape(5, 2).astype(np.float32), "yunet")
        turns = [k for k in ORIENT_TURNS if k in best]
        if not turns:
            return face
        k = max(turns, key=lambda t: best[t].score)
        upright = best[0].score if 0 in best else 0.0
        if best[k].score < max(upright + ORIENT_MARGIN, ORIENT_MIN_SCORE):
            return face
        f = _unrotate(best[k], k, ORIENT_SIDE, ORIENT_SIDE)
        off = np.array([ix0, iy0], np.float32)
        bx, by, bw2, bh2 = f.box
        assert f.keypoints is not None
        return Face((bx / s + ix0, by / s + iy0, bw2 / s, bh2 / s), f.score,
                    (f.keypoints / s + off).astype(np.float32), "yunet")

    def _detect_yunet(self, frame: np.ndarray, max_side: int) -> list[Face]:
        cv2 = _cv2()
        h, w = frame.shape[:2]
        s = min(1.0, max_side / max(h, w))
        if s < 1.0:
            small = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))),
                               interpolation=cv2.INTER_AREA)
        else:
            small = np.ascontiguousarray(frame)
        sh, sw = small.shape[:2]
        det = self._yunet(sw, sh)
        _, res = det.detect(small)
        if res is None:
            return []
        sx, sy = w / sw, h / sh
        faces = []
        for r in res:
            box = (float(r[0] * sx), float(r[1] * sy), float(r[2] * sx), float(r[3] * sy))
            kp = (r[4:14].reshape(5, 2) * np.array([sx, sy], np.float32)).astype(np.float32)
            faces.append(Face(box, float(r[14]), kp, "yunet"))
        return faces

    def _detect_haar(self, frame: np.ndarray) -> list[Face]:
        cv2 = _cv2()
        h, w = frame.shape[:2]
        s = min(1.0, self.max_side * 1.5 / max(h, w))
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if s < 1.0:
            gray = cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        rects, _, weights = self._haar().detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24), outputRejectLevels=True
        )
        faces = []
        for (x, y, bw, bh), wt in zip(rects, np.ravel(weights) if len(rects) else []):
            score = float(1.0 / (1.0 + np.exp(-float(wt))))
            faces.append(Face((x / s, y / s, bw / s, bh / s), score, None, "haar"))
        return faces


class DetectStage:
    """The detection stage: the faces of a frame (at most ``Config.max_faces``, largest
    first), or the one face of a face crop (``FaceDetector.detect_in_crop``)."""

    def __init__(self, detector: FaceDetector, config: Config) -> None:
        self.detector = detector
        self.config = config

    def run(self, frame: np.ndarray, *, crop: bool, assume_face: bool = False,
            tracked: Sequence[Track] = (), full: bool = True) -> list[Face]:
        """Detect on ``frame``. ``tracked``: a stream's faces being re-detected; unless
        ``full``, YuNet's input is sized to the smallest of them (``Config.detect_track_px``)
        and upright tracked faces skip the orientation check."""
        if crop:
            face = self.detector.detect_in_crop(frame, assume_face=assume_face)
            return [] if face is None else [face]
        cfg = self.config
        sized = [tr for tr in tracked if tr.box[2] > 0 and tr.box[3] > 0]
        if (full or not sized or cfg.detect_track_px is None
                or getattr(self.detector, "backend", None) != "yunet"):
            return self.detector.detect(frame)[: cfg.max_faces]
        face_px = min(math.sqrt(tr.box[2] * tr.box[3]) for tr in sized)
        side = int(round(max(frame.shape[:2]) * cfg.detect_track_px / face_px))
        side = max(32, min(side, cfg.detect_max_side))
        known = [tr.box for tr in sized if tr.keypoints is not None
                 and abs(math.atan2(float(tr.keypoints[1, 1] - tr.keypoints[0, 1]),
                                    float(tr.keypoints[1, 0] - tr.keypoints[0, 0]))) < math.pi / 4]
        return self.detector.detect(frame, max_side=side, known=known)[: cfg.max_faces]
