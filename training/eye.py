"""fastlive's eye network, distilled from MediaPipe's iris/eye-contour model.

    nice python -m training.eye               # the shipped model -> models/ (+ manifest entry)
    nice python -m training.eye --protocol    # held-out evaluation (two trainings)
    python -m training.eye --out /tmp/m       # elsewhere

``build(out_dir, data_dir)`` is the one function that makes the shipped file (``training.reproduce``
calls it); it returns the file's ``models/manifest.json`` entry. Steps:

1. **Eyes** (:func:`collect`, cached in ``training/cache/``): every face of every image and
   every video frame of ``../shared/data`` (live and attack, all sources), found by the runtime
   detector (``FaceDetector`` with the ``Config`` defaults: ``detect`` on frames and videos,
   ``detect_in_crop`` on the self-recorded tight crops, as ``score_face`` does), its eye crops
   from the runtime ``rois_from_keypoints``. The teacher, MediaPipe's iris model through the
   runtime ``EyeLandmarker``, runs on the detector's crop and again on the crop re-centred on
   the eye it found (the crop a tracked eye gets); the label is the mean of its two answers
   (16 contour points and the iris centre, frame pixels), kept only when both are plausible
   (the runtime's checks). A region of the frame around each eye (``PATCH_X`` x ``PATCH_Y`` eye
   widths, the frame's own pixels, area-downscaled only for eyes wider than
   ``PATCH_EYE_PX_MAX`` px) is stored with its labels, plus one region per face elsewhere (nose,
   mouth, forehead, cheek or background): an eye-presence negative.
2. **Training** (:func:`train`): every sample's crop is made by the runtime code
   (``fastlive.landmarks.eye_transform`` and ``eye_net_tensor``: the same warp, lighting
   standardisation and numbers as :class:`fastlive.landmarks.EyeNet`) from its region after
   augmentation of the region: the crop moved, scaled and turned as a detection or a tracked
   crop is (``JITTER``), glasses-like occlusion (a rim, a lens tint, a glare), optical and
   motion blur, a smaller face (the region area-downscaled so the eye is 7 px wide or more),
   exposure / gamma / white balance / grayscale, sensor noise and JPEG. Loss: smooth L1 on the
   17 points (eye widths; EAR points weighted more), on the EAR itself, and cross-entropy on
   eye presence. Single-threaded torch, seeded.
3. **Export**: ONNX (``input`` (N, 3, 32, 48) -> ``points`` (N, 17, 2) crop pixels and
   ``presence`` (N,) logit), checked against PyTorch.

Evaluation (:func:`protocol`): two trainings, each with ZJU Eyeblink subjects of one half, the
videos ``wolfhuo`` / ``tranvanluyt`` (both folds) and one more source family held out (fold A:
the webcam projects; fold B: NUAA). On what each fold held out: the correlation of its EAR
with MediaPipe's on the same crops (per source and pooled), blink precision / recall on the
held-out ZJU subjects through ``LivenessDetector``, and blink counts on the four videos.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastlive.landmarks import (
    CONTOUR,
    EAR_IDX,
    EYE_NET_INPUT,
    EYE_NET_POINTS,
    EyeROI,
    eye_net_tensor,
    eye_transform,
)
from training import data as tdata

ROOT = Path(__file__).resolve().parent.parent
ZJU = "zju_eyeblink"
CACHE_VERSION = 1
MODEL_FILE = "eye_net.onnx"
# Stored region around each eye, in eye widths (EyeROI.width) from its centre: enough for the
# network's crop (48x32 at 22 px per eye width: +-1.09 x +-0.73 eye widths) moved, scaled and
# turned by JITTER.
PATCH_X, PATCH_Y = 2.0, 1.6
PATCH_EYE_PX_MAX = 40.0  # wider eyes are stored area-downscaled to this width
# Crop jitter (eye widths, scale factor, radians): the detector's eye keypoints and the tracked
# crop (moved only beyond fastlive.landmarks.ROI_DEADBAND) sit up to ~0.3-0.4 eye widths off.
JITTER = {"shift_sd": 0.15, "shift_max": 0.45, "scale_sd": 0.1, "scale_max": 1.25,
          "angle_sd": 0.08, "angle_max": 0.25}
EPOCHS = 24
BATCH = 128
LR = 1e-2  # AdamW's peak learning rate (one-cycle); lower ones leave some seeds underfit
SEED = 0
# Held-out evaluation (protocol): ZJU subjects of each half, plus these sources in both folds.
HELD_OUT_ALWAYS = ("wolfhuo", "tranvanluyt")
FOLDS = {
    "A": {"zju": (6, 7, 8, 9, 10), "sources": "webcam"},
    "B": {"zju": (1, 2, 3, 4, 5), "sources": ("nuaa",)},
}


# --------------------------------------------------------------------------- eye regions
@dataclass
class Eyes:
    """Stored eye regions (row-aligned arrays; the regions in one flat uint8 buffer)."""

    flat: np.ndarray  # uint8, every region's BGR pixels one after the other
    offset: np.ndarray  # (N,) int64 start of each region in ``flat``
    shape: np.ndarray  # (N, 2) int32 region (h, w)
    roi: np.ndarray  # (N, 4) float64 cx, cy, width, angle in region pixels
    mirror: np.ndarray  # (N,) bool: image-right eye (mirrored for the network)
    points: np.ndarray  # (N, 2, 17, 2) float32 teacher answers (detector crop, re-centred
    # crop) in region pixels; NaN for negatives
    positive: np.ndarray  # (N,) bool: an eye (False: a region elsewhere, presence negative)
    source: np.ndarray  # (N,) str
    group: np.ndarray  # (N,) str: subject / group / clip (ZJU: zju-NN)
    path: np.ndarray  # (N,) str: image path, video path#frame
    live: np.ndarray  # (N,) bool
    eye_px: np.ndarray  # (N,) float32 eye width in the frame (native pixels)

    def __len__(self) -> int:
        return len(self.offset)

    def region(self, i: int) -> np.ndarray:
        h, w = (int(v) for v in self.shape[i])
        o = int(self.offset[i])
        return self.flat[o:o + h * w * 3].reshape(h, w, 3)

    def label(self, i: int) -> np.ndarray:
        """The training label of eye ``i``: the mean of the teacher's two answers (17, 2)."""
        return self.points[i].mean(axis=0)


_META = ("offset", "shape", "roi", "mirror", "points", "positive", "source", "group", "path",
         "live", "eye_px")


def _region(frame: np.ndarray, roi: EyeROI) -> tuple[np.ndarray, EyeROI, float, np.ndarray]:
    """The stored region around ``roi``: (pixels, roi in region pixels, scale, origin) where a
    frame point p maps to (p - origin + 0.5) * scale - 0.5 (scale 1: an integer offset, the
    frame's own pixels, replicated beyond its border as the runtime warp does)."""
    import cv2

    w = roi.width
    x0, x1 = int(math.floor(roi.cx - PATCH_X * w)), int(math.ceil(roi.cx + PATCH_X * w)) + 1
    y0, y1 = int(math.floor(roi.cy - PATCH_Y * w)), int(math.ceil(roi.cy + PATCH_Y * w)) + 1
    h, fw = frame.shape[:2]
    sub = frame[max(y0, 0):max(min(y1, h), 0), max(x0, 0):max(min(x1, fw), 0)]
    if sub.size == 0:
        sub = np.zeros((1, 1, 3), np.uint8)
        pad = (0, y1 - y0 - 1, 0, x1 - x0 - 1)
        reg = cv2.copyMakeBorder(sub, *pad, cv2.BORDER_CONSTANT, value=0)
    else:
        reg = cv2.copyMakeBorder(sub, max(-y0, 0), max(y1 - h, 0), max(-x0, 0),
                                 max(x1 - fw, 0), cv2.BORDER_REPLICATE)
    origin = np.array([x0, y0], np.float64)
    k = min(1.0, PATCH_EYE_PX_MAX / w)
    if k < 1.0:
        size = (max(1, round(reg.shape[1] * k)), max(1, round(reg.shape[0] * k)))
        reg = cv2.resize(reg, size, interpolation=cv2.INTER_AREA)
        k = reg.shape[1] / (x1 - x0)
    c = (np.array([roi.cx, roi.cy]) - origin + 0.5) * k - 0.5
    return np.ascontiguousarray(reg), EyeROI(float(c[0]), float(c[1]), w * k, roi.angle), k, \
        origin


def _to_region(p: np.ndarray, k: float, origin: np.ndarray) -> np.ndarray:
    return (p - origin + 0.5) * k - 0.5


def _frames(data_dir: Path, rows: list[dict[str, str]]):
    """Yield (row, path, image, kind): kind 'crop' (self-recorded tight crops: the runtime's
    ``score_face``) or 'frame' (whole frames and every decoded video frame)."""
    import cv2

    for r in rows:
        p = data_dir / r["path"]
        if r["media"] == "video":
            cap = cv2.VideoCapture(str(p))
            k = 0
            while True:
                ok, fr = cap.read()
                if not ok:
                    break
                yield r, f"{r['path']}#{k}", fr, "frame"
                k += 1
            cap.release()
            continue
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            yield r, r["path"], img, "crop" if r["path"].startswith("selfrecorded/") else "frame"


def _negative_point(kp: np.ndarray, frame_shape: tuple[int, ...], rng: np.random.Generator
                    ) -> np.ndarray | None:
    """A point of the face or the background away from both eyes (eye-presence negative)."""
    a, b = kp[0].astype(np.float64), kp[1].astype(np.float64)
    iod = float(np.hypot(*(b - a)))
    mid = (a + b) / 2
    u = (b - a) / max(iod, 1e-6)
    n = np.array([-u[1], u[0]])  # points down the face
    kind = rng.integers(5)
    if kind == 0:
        p = kp[2].astype(np.float64)  # nose tip
    elif kind == 1:
        p = (kp[3] + kp[4]).astype(np.float64) / 2  # mouth
    elif kind == 2:
        p = mid - n * iod * rng.uniform(0.7, 1.0)  # forehead
    elif kind == 3:
        p = kp[2] + u * iod * rng.choice([-0.6, 0.6]) + n * iod * 0.1  # cheek
    else:
        h, w = frame_shape[:2]
        p = np.array([rng.uniform(0, w), rng.uniform(0, h)])  # anywhere (often background)
    if min(np.hypot(*(p - a)), np.hypot(*(p - b))) < 0.55 * iod:  # ~1.2 eye widths
        return None
    return p


def collect(data_dir: Path | None = None, *, cache: bool = True, verbose: bool = True,
            limit: int | None = None) -> Eyes:
    """Every face's eye regions with the teacher's labels (see the module docstring), cached in
    ``training/cache/eyes_<key>.{npy,npz}``. ``limit``: the first rows of the manifest only
    (tests)."""
    from fastlive.config import Config
    from fastlive.detect import FaceDetector
    from fastlive.landmarks import EyeLandmarker, rois_from_keypoints

    data_dir = Path(data_dir) if data_dir is not None else tdata.default_data_dir()
    rows = tdata.read_manifest(data_dir)
    if limit is not None:
        rows = rows[:limit]
    h = hashlib.sha256(f"eyes-v{CACHE_VERSION}-{PATCH_X}-{PATCH_Y}-{PATCH_EYE_PX_MAX}-"
                       f"{json.dumps(EYE_NET_INPUT, sort_keys=True)}".encode())
    for r in rows:
        h.update(r["path"].encode())
    key = h.hexdigest()[:16]
    flat_p = tdata.CACHE_DIR / f"eyes_{key}.npy"
    meta_p = tdata.CACHE_DIR / f"eyes_{key}.npz"
    if cache and flat_p.is_file() and meta_p.is_file():
        z = np.load(meta_p, allow_pickle=False)
        return Eyes(flat=np.load(flat_p, mmap_mode="r"), **{k: z[k] for k in _META})
    cfg = Config()
    det = FaceDetector(backend="yunet", max_side=cfg.detect_max_side,
                       score_threshold=cfg.detect_score_threshold)
    teacher = EyeLandmarker()
    rng = np.random.default_rng(SEED)
    regions: list[np.ndarray] = []
    cols: dict[str, list[Any]] = {k: [] for k in _META if k not in ("offset", "shape")}
    n_faces = n_eyes = n_doubt = 0
    t0 = time.time()
    for i, (row, path, img, kind) in enumerate(_frames(data_dir, rows)):
        if kind == "crop":
            f = det.detect_in_crop(img)
            faces = [] if f is None else [f]
        else:
            faces = det.detect(img)[: cfg.max_faces]
        meta = {"source": row["source"], "group": row["subject_id"], "path": path,
                "live": row["label"] == "live"}
        for face in faces:
            if face.keypoints is None:
                continue
            n_faces += 1
            for side, roi in enumerate(rois_from_keypoints(face.keypoints)):
                if not roi.valid(img.shape):
                    continue
                mirror = side == 1
                r1 = teacher.run(img, roi, mirror=mirror)
                if not math.isfinite(r1.ear):
                    n_doubt += 1
                    continue
                c = (r1.contour[0] + r1.contour[8]) / 2
                roi2 = EyeROI(float(c[0]), float(c[1]), roi.width, roi.angle)
                r2 = teacher.run(img, roi2, mirror=mirror)
                if not math.isfinite(r2.ear):
                    n_doubt += 1
                    continue
                reg, rroi, k, origin = _region(img, roi2)
                pts = np.stack([np.vstack([r.contour, r.iris[None]]) for r in (r1, r2)])
                regions.append(reg)
                cols["roi"].append((rroi.cx, rroi.cy, rroi.width, rroi.angle))
                cols["mirror"].append(mirror)
                cols["points"].append(_to_region(pts, k, origin).astype(np.float32))
                cols["positive"].append(True)
                cols["eye_px"].append(roi.width)
                for m, v in meta.items():
                    cols[m].append(v)
                n_eyes += 1
            p = _negative_point(face.keypoints, img.shape, rng)
            if p is not None:
                w = float(np.hypot(*(face.keypoints[1] - face.keypoints[0]))) * 0.45
                ang = float(np.arctan2(*(face.keypoints[1] - face.keypoints[0])[::-1]))
                reg, rroi, k, origin = _region(img, EyeROI(float(p[0]), float(p[1]), w, ang))
                regions.append(reg)
                cols["roi"].append((rroi.cx, rroi.cy, rroi.width, rroi.angle))
                cols["mirror"].append(bool(rng.integers(2)))
                cols["points"].append(np.full((2, EYE_NET_POINTS, 2), np.nan, np.float32))
                cols["positive"].append(False)
                cols["eye_px"].append(w)
                for m, v in meta.items():
                    cols[m].append(v)
        if verbose and i % 1000 == 0:
            print(f"  {i} frames, {n_faces} faces, {n_eyes} eyes ({n_doubt} left out: the "
                  f"teacher found no eye), {time.time() - t0:.0f} s", flush=True)
    sizes = np.array([r.size for r in regions], np.int64)
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    flat = np.concatenate([r.reshape(-1) for r in regions]) if regions else np.zeros(0, np.uint8)
    eyes = Eyes(
        flat=flat, offset=offset,
        shape=np.array([r.shape[:2] for r in regions], np.int32).reshape(-1, 2),
        roi=np.array(cols["roi"], np.float64).reshape(-1, 4),
        mirror=np.array(cols["mirror"], bool),
        points=np.array(cols["points"], np.float32).reshape(-1, 2, EYE_NET_POINTS, 2),
        positive=np.array(cols["positive"], bool), source=np.array(cols["source"], str),
        group=np.array(cols["group"], str), path=np.array(cols["path"], str),
        live=np.array(cols["live"], bool), eye_px=np.array(cols["eye_px"], np.float32))
    if verbose:
        print(f"  done: {n_faces} faces, {n_eyes} eyes, {int((~eyes.positive).sum())} "
              f"negatives, {n_doubt} eyes left out, {flat.nbytes / 1e6:.0f} MB, "
              f"{time.time() - t0:.0f} s", flush=True)
    if cache:
        tdata.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(flat_p, flat)
        np.savez(meta_p, **{k: getattr(eyes, k) for k in _META})
    return eyes


# --------------------------------------------------------------------------- augmentation
def _glasses(reg: np.ndarray, roi: EyeROI, rng: np.random.Generator) -> np.ndarray:
    """A spectacle lens around the eye: its rim (dark, or a random colour), optionally a tint
    and a glare spot, drawn in the region's pixels."""
    import cv2

    w = roi.width
    out = reg.copy()
    c = (roi.cx + rng.normal(0, 0.08) * w, roi.cy + rng.normal(0.05, 0.08) * w)
    axes = (rng.uniform(0.85, 1.25) * w, rng.uniform(0.55, 0.85) * w)
    ang = math.degrees(roi.angle) + rng.normal(0, 4)
    s = 16  # cv2 drawing with 4 fractional bits
    cc = (int(c[0] * s), int(c[1] * s))
    ax = (int(axes[0] * s), int(axes[1] * s))
    if rng.random() < 0.5:  # tinted lens
        mask = np.zeros(out.shape[:2], np.uint8)
        cv2.ellipse(mask, cc, ax, ang, 0, 360, 255, -1, cv2.LINE_AA, 4)
        a = mask.astype(np.float32)[..., None] / 255 * rng.uniform(0.15, 0.5)
        tint = rng.uniform(0, 90, 3).astype(np.float32)
        out = (out * (1 - a) + tint * a).astype(np.uint8)
    if rng.random() < 0.5:  # glare
        g = np.zeros(out.shape[:2], np.uint8)
        gc = (int((c[0] + rng.uniform(-0.7, 0.7) * w) * s),
              int((c[1] + rng.uniform(-0.4, 0.4) * w) * s))
        ga = (int(rng.uniform(0.1, 0.45) * w * s), int(rng.uniform(0.05, 0.25) * w * s))
        cv2.ellipse(g, gc, ga, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, 4)
        g = cv2.GaussianBlur(g, (0, 0), max(0.3, 0.05 * w))
        a = g.astype(np.float32)[..., None] / 255 * rng.uniform(0.3, 0.85)
        out = (out * (1 - a) + 255 * a).astype(np.uint8)
    color = tuple(int(v) for v in (rng.uniform(0, 70, 3) if rng.random() < 0.7
                                    else rng.uniform(0, 255, 3)))
    thick = max(1, int(round(rng.uniform(0.03, 0.12) * w)))
    cv2.ellipse(out, cc, ax, ang, 0, 360, color, thick, cv2.LINE_AA, 4)
    return out


def _scale_roi(roi: EyeROI, fx: float, fy: float) -> EyeROI:
    return EyeROI((roi.cx + 0.5) * fx - 0.5, (roi.cy + 0.5) * fy - 0.5, roi.width * fx,
                  roi.angle)


def augment(reg: np.ndarray, roi: EyeROI, crop: EyeROI, pts: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, EyeROI, np.ndarray]:
    """One augmented copy of a region (uint8 BGR), with the crop to take from it (``crop``) and
    the label points (17, 2) (NaN for negatives) moved along, all in region pixels (``roi``:
    the eye's own crop, where glasses go): glasses, blur, a smaller face, exposure, noise,
    JPEG (in that order, as a scene reaches a camera's file). Returns (region, crop, points).
    """
    import cv2

    if rng.random() < 0.15:
        reg = _glasses(reg, roi, rng)
    if rng.random() < 0.2:
        sig = rng.uniform(0.3, 1.4) * roi.width / float(EYE_NET_INPUT["eye_px"])
        reg = cv2.GaussianBlur(reg, (0, 0), max(sig, 0.3))
    if rng.random() < 0.05:  # motion blur
        n = int(rng.integers(3, max(4, int(0.25 * roi.width)) + 1))
        k = np.zeros((n, n), np.float32)
        k[n // 2] = 1.0 / n
        rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), rng.uniform(0, 180), 1.0)
        k = cv2.warpAffine(k, rot, (n, n))
        reg = cv2.filter2D(reg, -1, k / max(k.sum(), 1e-6))
    if rng.random() < 0.25:  # a smaller face: fewer pixels per eye
        target = rng.uniform(7.0, max(7.5, min(roi.width, 24.0)))
        f = target / roi.width
        if f < 0.9:
            h, w = reg.shape[:2]
            size = (max(2, round(w * f)), max(2, round(h * f)))
            reg = cv2.resize(reg, size, interpolation=cv2.INTER_AREA)
            fx, fy = size[0] / w, size[1] / h
            crop = _scale_roi(crop, fx, fy)
            pts = (pts + 0.5) * np.array([fx, fy], np.float32) - 0.5
    if rng.random() < 0.5:  # exposure, gamma
        gain = math.exp(rng.uniform(math.log(0.4), math.log(1.8)))
        gamma = math.exp(rng.uniform(math.log(0.6), math.log(1.7)))
        bias = rng.uniform(-20, 20)
        lut = np.clip(255 * (np.arange(256) / 255) ** gamma * gain + bias, 0, 255)
        reg = lut.astype(np.uint8)[reg]
    if rng.random() < 0.3:  # white balance
        lut = np.clip(np.arange(256)[:, None] * rng.uniform(0.75, 1.3, 3), 0, 255)
        reg = cv2.LUT(reg, lut.astype(np.uint8).reshape(256, 1, 3))
    if rng.random() < 0.1:
        reg = cv2.cvtColor(cv2.cvtColor(reg, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.3:
        noise = rng.standard_normal(reg.shape, dtype=np.float32) * rng.uniform(1.0, 10.0)
        reg = cv2.add(reg, noise, dtype=cv2.CV_8U)
    if rng.random() < 0.15:
        ok, buf = cv2.imencode(".jpg", reg, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
        if ok:
            reg = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(reg), crop, pts


def jitter(roi: EyeROI, rng: np.random.Generator, scale: float = 1.0) -> EyeROI:
    """``roi`` moved, scaled and turned as a detection's or a tracked eye crop is (JITTER)."""
    j = JITTER
    d = np.clip(rng.normal(0, j["shift_sd"] * scale, 2), -j["shift_max"], j["shift_max"])
    s = float(np.clip(math.exp(rng.normal(0, j["scale_sd"])), 1 / j["scale_max"],
                      j["scale_max"]))
    a = float(np.clip(rng.normal(0, j["angle_sd"]), -j["angle_max"], j["angle_max"]))
    return EyeROI(roi.cx + d[0] * roi.width, roi.cy + d[1] * roi.width, roi.width * s,
                  roi.angle + a)


def _invert_affine(m: np.ndarray) -> np.ndarray:
    a = np.linalg.inv(m[:, :2])
    return np.hstack([a, -(a @ m[:, 2])[:, None]])


def _flat_negative(rng: np.random.Generator) -> tuple[np.ndarray, EyeROI]:
    """A featureless region (a flat wall, a blank frame, sensor noise): no eye."""
    h, w = 60, 80
    reg = np.full((h, w, 3), rng.uniform(0, 255, 3), np.float32)
    if rng.random() < 0.5:
        reg += rng.normal(0, rng.uniform(0.5, 8), reg.shape)
    if rng.random() < 0.3:  # a soft gradient
        reg += np.linspace(-30, 30, w)[None, :, None] * rng.uniform(-1, 1)
    return (np.clip(reg, 0, 255).astype(np.uint8),
            EyeROI((w - 1) / 2, (h - 1) / 2, rng.uniform(15, 30), rng.normal(0, 0.1)))


def make_batch(eyes: Eyes, idx: np.ndarray, rng: np.random.Generator, *, train: bool = True,
               n_flat: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs (N, 3, h, w) made by the runtime code, targets (N, 17, 2) in eye widths from the
    crop centre (NaN for negatives) and presence targets (N,). ``train``: augmented and
    jittered; else the stored crop as it is. ``n_flat``: featureless negatives appended."""
    h, w = (int(v) for v in EYE_NET_INPUT["size"])
    eye_px = float(EYE_NET_INPUT["eye_px"])
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    n = len(idx) + n_flat
    x = np.empty((n, 3, h, w), np.float32)
    y = np.full((n, EYE_NET_POINTS, 2), np.nan, np.float32)
    p = np.zeros(n, np.float32)
    for j, i in enumerate(idx):
        full = eyes.region(int(i))
        roi = EyeROI(*(float(v) for v in eyes.roi[i]))
        pts = eyes.label(int(i)) if eyes.positive[i] else np.full((EYE_NET_POINTS, 2), np.nan)
        pts = np.asarray(pts, np.float32)
        mirror = bool(eyes.mirror[i])
        crop = jitter(roi, rng, 1.0 if eyes.positive[i] else 3.0) if train else roi
        # only the part of the region the crop needs (plus a margin for the filters)
        inv = _invert_affine(eye_transform(crop, mirror, (h, w), eye_px))
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
        fp = corners @ inv[:, :2].T + inv[:, 2]
        mg = 3 + 0.15 * roi.width
        x0 = max(int(math.floor(fp[:, 0].min() - mg)), 0)
        y0 = max(int(math.floor(fp[:, 1].min() - mg)), 0)
        x1 = min(int(math.ceil(fp[:, 0].max() + mg)) + 1, full.shape[1])
        y1 = min(int(math.ceil(fp[:, 1].max() + mg)) + 1, full.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2:
            x0, y0, x1, y1 = 0, 0, full.shape[1], full.shape[0]
        reg = np.ascontiguousarray(full[y0:y1, x0:x1])
        off = np.array([x0, y0], np.float32)
        roi = EyeROI(roi.cx - x0, roi.cy - y0, roi.width, roi.angle)
        crop = EyeROI(crop.cx - x0, crop.cy - y0, crop.width, crop.angle)
        pts = pts - off
        if train:
            reg, crop, pts = augment(reg, roi, crop, pts, rng)
        m = eye_transform(crop, mirror, (h, w), eye_px)
        eye_net_tensor(reg, m, out=x[j])
        if eyes.positive[i]:
            y[j] = ((pts @ m[:, :2].T + m[:, 2]) - centre) / eye_px
            p[j] = 1.0
    for j in range(len(idx), n):
        reg, roi = _flat_negative(rng)
        eye_net_tensor(reg, eye_transform(roi, bool(rng.integers(2)), (h, w), eye_px),
                       out=x[j])
    return x, y, p


# --------------------------------------------------------------------------- network
def _model(eye_px: float, size: tuple[int, int]) -> Any:
    import torch
    from torch import nn

    def cbr(cin: int, cout: int, k: int = 1, s: int = 1, g: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)]

    def dw(cin: int, cout: int, s: int = 1) -> list[nn.Module]:
        return cbr(cin, cin, 3, s, cin) + cbr(cin, cout)

    h, w = size

    class EyeModel(nn.Module):
        """~30k parameters: (N, 3, 32, 48) -> 17 points (crop pixels), EAR, presence logit."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *cbr(3, 24, 3, 2),  # 16 x 24
                *dw(24, 32), *dw(32, 48, 2),  # 8 x 12
                *dw(48, 48), *dw(48, 64, 2),  # 4 x 6
                *dw(64, 64), *cbr(64, 16))
            self.head = nn.Linear(16 * (h // 8) * (w // 8), 2 * EYE_NET_POINTS + 2)
            self.register_buffer("centre", torch.tensor([(w - 1) / 2, (h - 1) / 2]))
            self.eye_px = float(eye_px)

        def raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """(points in eye widths from the crop centre (N, 17, 2), EAR (N,), presence logit
            (N,))."""
            z = self.head(torch.flatten(self.features(x), 1))
            return z[:, :-2].reshape(-1, EYE_NET_POINTS, 2), z[:, -2], z[:, -1]

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            pts, ear, logit = self.raw(x)
            return pts * self.eye_px + self.centre, ear, logit

    return EyeModel()


def _ear_t(p: Any) -> Any:
    """EAR of (N, 17, 2) torch points (EAR_IDX of the contour)."""
    import torch

    q = p[:, list(EAR_IDX)]
    d = lambda i, j: torch.linalg.norm(q[:, i] - q[:, j], dim=1)  # noqa: E731
    return (d(1, 5) + d(2, 4)) / (2 * d(0, 3).clamp_min(1e-3))


def sample_weights(eyes: Eyes, mask: np.ndarray) -> np.ndarray:
    """Draw weights of the positives in ``mask``: every source weighs ~sqrt(its size) (ZJU's
    thousands of video frames do not drown the image sources), and eyes the teacher sees
    closing (EAR below 0.7 x their source's median) three times more (blinks are rare)."""
    w = np.zeros(len(eyes))
    pos = mask & eyes.positive
    ear = np.array([_ear_np(eyes.label(i)) if pos[i] else np.nan for i in range(len(eyes))])
    for s in np.unique(eyes.source[pos]):
        m = pos & (eyes.source == s)
        med = float(np.nanmedian(ear[m]))
        w[m] = 1.0 / math.sqrt(m.sum())
        w[m & (ear < 0.7 * med)] *= 3.0
    return w / w.sum()


def _ear_np(p: np.ndarray) -> float:
    q = p[list(EAR_IDX)]
    d = lambda i, j: float(np.hypot(*(q[i] - q[j])))  # noqa: E731
    return (d(1, 5) + d(2, 4)) / (2 * max(d(0, 3), 1e-6))


def train(eyes: Eyes, mask: np.ndarray | None = None, *, epochs: int = EPOCHS,
          seed: int = SEED, epoch_size: int = 16384, verbose: bool = True) -> Any:
    """Train the eye network on the rows of ``eyes`` in ``mask`` (default: all); returns the
    torch module (eval mode)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mask = np.ones(len(eyes), bool) if mask is None else mask
    wpos = sample_weights(eyes, mask)
    neg = np.flatnonzero(mask & ~eyes.positive)
    size = (int(EYE_NET_INPUT["size"][0]), int(EYE_NET_INPUT["size"][1]))
    net = _model(float(EYE_NET_INPUT["eye_px"]), size)
    # start from the mean eye shape
    pos = np.flatnonzero(mask & eyes.positive)
    _, y0, _ = make_batch(eyes, rng.choice(pos, min(2000, len(pos)), replace=False), rng,
                          train=False)
    with torch.no_grad():
        net.head.bias[:-2] = torch.from_numpy(np.nanmean(y0, axis=0).reshape(-1))
        net.head.bias[-2] = float(np.nanmedian([_ear_np(v) for v in y0]))
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=1e-4)
    steps = epochs * (epoch_size // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps,
                                                pct_start=0.1)
    pw = torch.ones(EYE_NET_POINTS)
    pw[list(EAR_IDX)] = 3.0
    pw[CONTOUR] = 0.5
    n_neg = BATCH // 5
    n_flat = 2
    n_pos = BATCH - n_neg - n_flat
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        tot = {"pts": 0.0, "ear": 0.0, "pres": 0.0}
        for _ in range(epoch_size // BATCH):
            idx = np.concatenate([rng.choice(len(eyes), n_pos, p=wpos),
                                  rng.choice(neg, n_neg)])
            x, y, p = make_batch(eyes, idx, rng, n_flat=n_flat)
            xt, yt, pt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(p)
            pts, ear, logit = net.raw(xt)
            pm = pt > 0.5
            lp = torch.nn.functional.smooth_l1_loss(pts[pm], yt[pm], reduction="none",
                                                    beta=0.02)
            lp = (lp.sum(-1) * pw).sum(-1).mean() / pw.sum()
            target = _ear_t(yt[pm])
            le = (ear[pm] - target).abs().mean()
            lpe = (_ear_t(pts[pm]) - target).abs().mean()
            lb = torch.nn.functional.binary_cross_entropy_with_logits(logit, pt)
            loss = lp + le + 0.25 * lpe + 0.3 * lb
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot["pts"] += float(lp.detach())
            tot["ear"] += float(le.detach())
            tot["pres"] += float(lb.detach())
        if verbose:
            k = epoch_size // BATCH
            print(f"  epoch {ep + 1}/{epochs}: points {tot['pts'] / k:.4f} ear "
                  f"{tot['ear'] / k:.4f} presence {tot['pres'] / k:.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    return net


def _fuse_bn(net: Any) -> Any:
    """A copy of ``net`` with every BatchNorm folded into the convolution before it (a smaller
    file; onnxruntime would fold them at load anyway)."""
    import copy

    import torch
    from torch import nn

    net = copy.deepcopy(net).eval()
    mods = list(net.features)
    out: list[nn.Module] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1],
                                                                         nn.BatchNorm2d):
            bn = mods[i + 1]
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                             groups=m.groups, bias=True)
            k = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            with torch.no_grad():
                conv.weight.copy_(m.weight * k.view(-1, 1, 1, 1))
                conv.bias.copy_(bn.bias - bn.running_mean * k)
            out.append(conv)
            i += 2
        else:
            out.append(m)
            i += 1
    net.features = nn.Sequential(*out)
    return net


def export(net: Any, path: Path) -> float:
    """ONNX export (``input`` (N, 3, h, w) -> ``points`` (N, 17, 2) crop pixels, ``ear`` (N,),
    ``presence`` (N,) logit), BatchNorm folded; returns the largest difference to PyTorch on
    random inputs, checked to be < 1e-3."""
    import onnx
    import onnxruntime as ort
    import torch

    h, w = (int(v) for v in EYE_NET_INPUT["size"])
    fused = _fuse_bn(net)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # the TorchScript exporter on purpose (as training/cnn.py): a static graph of standard
        # ops and no onnxscript dependency
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(fused, (torch.zeros(2, 3, h, w),), str(path), input_names=["input"],
                          output_names=["points", "ear", "presence"],
                          dynamic_axes={"input": {0: "n"}, "points": {0: "n"}, "ear": {0: "n"},
                                        "presence": {0: "n"}},
                          opset_version=17, dynamo=False)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    m.doc_string = ("fastlive eye network: 16 eye-contour points + iris centre (crop pixels), "
                    "the eye aspect ratio and an eye-presence logit per eye crop")
    onnx.save(m, str(path))
    x = np.random.default_rng(0).normal(0, 1, (8, 3, h, w)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})
    diff = max(float(np.abs(a - b.numpy()).max()) for a, b in zip(got, ref))
    if not diff < 1e-3:
        raise RuntimeError(f"ONNX export differs from PyTorch by {diff}")
    return diff


def _sha256(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def manifest_entry(path: Path, eyes: Eyes, *, epochs: int, seed: int, diff: float
                   ) -> dict[str, Any]:
    """The ``models/manifest.json`` entry of the eye network file ``path``."""
    from fastlive import registry

    pos = eyes.positive
    return {
        "name": "eye",
        "file": Path(path).name,
        "sha256": _sha256(path),
        "kind": "onnx",
        "description": "fastlive eye network: 16 eye-contour points, the iris centre, the eye "
                       "aspect ratio and an eye-presence logit per eye crop (both eyes in one "
                       "batch), distilled from MediaPipe's iris/eye-contour model",
        "input": {**EYE_NET_INPUT,
                  "layout": "NCHW float32: fastlive.landmarks.eye_net_tensor of the crop "
                            "fastlive.landmarks.eye_transform(roi, mirror, size, eye_px) makes: "
                            "centred on the eye, the eye line horizontal, the eye width "
                            "(EyeROI.width) eye_px crop pixels, the image-right eye mirrored"},
        "input_name": "input",
        "output_name": ["points", "ear", "presence"],
        "outputs": {"points": "N x 17 x 2 crop pixels: the 16-point eye contour in MediaPipe's "
                              "order (fastlive.landmarks.EAR_IDX) and the iris centre",
                    "ear": "N eye aspect ratio (the teacher's, of its EAR_IDX points)",
                    "presence": "N logit of an eye being in the crop"},
        "training": {
            "teacher": f"MediaPipe iris landmark model (sha256 "
                       f"{registry.THIRD_PARTY['iris'].sha256[:16]}...), mean of its answers "
                       "on the detector's crop and on the re-centred crop",
            "eyes": int(pos.sum()), "negatives": int((~pos).sum()),
            "sources": sorted(set(eyes.source.tolist())),
            "epochs": epochs, "seed": seed, "onnx_vs_torch": float(f"{diff:.2g}"),
            "command": "nice python -m training.eye",
        },
        "license": "trained on research-only data (every source of ../shared/data: NUAA, "
                   "self-recorded OpenCV liveness projects, webcam projects, Roboflow rs-face "
                   "(CC BY 4.0), ZJU Eyeblink) with labels from MediaPipe's iris model "
                   "(Apache-2.0); see models/README.md",
    }


def build(out_dir: str | Path, data_dir: str | Path | None = None, *, epochs: int = EPOCHS,
          seed: int = SEED, verbose: bool = True) -> dict[str, Any]:
    """Collect the eyes (cached), train on all of them, export ``out_dir/eye_net.onnx``; returns
    its ``models/manifest.json`` entry (the caller writes the manifest)."""
    eyes = collect(None if data_dir is None else Path(data_dir), verbose=verbose)
    net = train(eyes, epochs=epochs, seed=seed, verbose=verbose)
    path = Path(out_dir) / MODEL_FILE
    diff = export(net, path)
    return manifest_entry(path, eyes, epochs=epochs, seed=seed, diff=diff)


def write_manifest_entry(out_dir: Path, entry: dict[str, Any]) -> Path:
    """Add (or replace) ``entry`` in ``out_dir/manifest.json``, keeping the other entries."""
    p = Path(out_dir) / "manifest.json"
    man = json.loads(p.read_text()) if p.is_file() else {"format": 1, "version": "0.0.0",
                                                          "models": []}
    man["models"] = [m for m in man.get("models", []) if m.get("name") != entry["name"]]
    man["models"].append(entry)
    p.write_text(json.dumps(man, indent=1) + "\n")
    return p


# --------------------------------------------------------------------------- evaluation
def held_out(row: dict[str, str], fold: str) -> bool:
    """Whether a manifest row is held out of ``fold``'s training (see FOLDS)."""
    spec = FOLDS[fold]
    if row["source"] in HELD_OUT_ALWAYS:
        return True
    if row["source"] == ZJU:
        return int(row["subject_id"].split("-")[-1]) in spec["zju"]
    if spec["sources"] == "webcam":
        return row["path"].startswith("webcam/")
    return row["source"] in spec["sources"]


def _held_mask(eyes: Eyes, rows: list[dict[str, str]], fold: str) -> np.ndarray:
    held_paths = {r["path"] for r in rows if held_out(r, fold)}
    base = np.array([p.split("#")[0] for p in eyes.path])
    return np.isin(base, sorted(held_paths))


def ear_agreement(data_dir: Path, rows: list[dict[str, str]], student: Any,
                  teacher: Any = None, *, verbose: bool = False) -> dict[str, Any]:
    """EAR of ``student`` against the teacher's (MediaPipe) on the same crops (the runtime's
    detector crops of every face) of every frame of ``rows``: Pearson r, mean absolute
    difference and count per source and pooled, per eye; and pooled per face (the mean of
    both eyes, where both were measured)."""
    from fastlive.config import Config
    from fastlive.detect import FaceDetector
    from fastlive.landmarks import EyeLandmarker, measure_eyes, rois_from_keypoints

    cfg = Config()
    det = FaceDetector(backend="yunet", max_side=cfg.detect_max_side,
                       score_threshold=cfg.detect_score_threshold)
    teacher = EyeLandmarker() if teacher is None else teacher
    pairs: dict[str, list[tuple[float, float]]] = {}
    faces_pairs: list[tuple[float, float]] = []
    for row, _, img, kind in _frames(data_dir, rows):
        if kind == "crop":
            f = det.detect_in_crop(img)
            faces = [] if f is None else [f]
        else:
            faces = det.detect(img)[: cfg.max_faces]
        for face in faces:
            if face.keypoints is None:
                continue
            rois = rois_from_keypoints(face.keypoints)
            a = measure_eyes(teacher, img, rois)
            b = measure_eyes(student, img, rois)
            both = [(ea.ear, eb.ear) for ea, eb in zip(a.eyes, b.eyes)
                    if ea is not None and eb is not None and math.isfinite(ea.ear)
                    and math.isfinite(eb.ear)]
            pairs.setdefault(row["source"], []).extend(both)
            if len(both) == 2:
                faces_pairs.append(tuple(np.mean(both, axis=0)))  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    allp = [p for v in pairs.values() for p in v]
    for name, v in [*sorted(pairs.items()), ("pooled", allp),
                    ("pooled, per face (mean of both eyes)", faces_pairs)]:
        arr = np.asarray(v, np.float64).reshape(-1, 2)
        r = float(np.corrcoef(arr[:, 0], arr[:, 1])[0, 1]) if len(arr) > 2 else float("nan")
        out[name] = {"n": len(arr), "r": r,
                     "mad": float(np.abs(arr[:, 0] - arr[:, 1]).mean()) if len(arr) else 0.0}
        if verbose:
            print(f"    EAR vs MediaPipe, {name}: r={r:.3f} mean |diff| "
                  f"{out[name]['mad']:.4f} ({len(arr)} eyes)", flush=True)
    return out


def video_blinks(landmarker: Any, path: Path) -> tuple[int, list[tuple[float, float]], int]:
    """(blink count, events, number of tracks of the main face) of one video through a
    ``LivenessDetector`` session with ``landmarker`` (passive models off)."""
    from fastlive.api import LivenessDetector
    from fastlive.capture import Capture
    from fastlive.config import Config

    det = LivenessDetector(Config(), passive=None, landmarker=landmarker)
    s = det.new_session()
    ids = set()
    with Capture(path) as cap:
        for frame, t in cap:
            r = det.score_frame(frame, session=s, timestamp=t)
            if r.faces:
                ids.add(r.faces[0].track_id)
    ev = s.blink_events()
    return s.blink_count(), ev, len(ids)


def protocol(data_dir: Path | None = None, *, epochs: int = EPOCHS, seed: int = SEED,
             out_dir: Path | None = None, folds: tuple[str, ...] = ("A", "B"),
             reuse: bool = False) -> dict[str, Any]:
    """The held-out evaluation (module docstring); results also in ``out_dir/protocol.json``
    (default ``training/runs/eye/``), each fold's model in ``out_dir/fold_<fold>.onnx``.
    ``reuse``: evaluate a fold's model file already there instead of training it again."""
    from fastlive.evaluate import blinks_zju as blinks
    from fastlive.landmarks import EyeNet

    data_dir = Path(data_dir) if data_dir is not None else tdata.default_data_dir()
    out_dir = Path(out_dir) if out_dir is not None else ROOT / "training" / "runs" / "eye"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = tdata.read_manifest(data_dir)
    eyes = collect(data_dir)
    res: dict[str, Any] = {}
    for fold in folds:
        held = _held_mask(eyes, rows, fold)
        print(f"fold {fold}: training on {int((~held & eyes.positive).sum())} eyes, "
              f"{int((held & eyes.positive).sum())} held out", flush=True)
        path = out_dir / f"fold_{fold}.onnx"
        if not (reuse and path.is_file()):
            export(train(eyes, ~held, epochs=epochs, seed=seed), path)
        student = EyeNet(path, input_spec=EYE_NET_INPUT)
        hrows = [r for r in rows if held_out(r, fold)]
        agree = ear_agreement(data_dir, hrows, student, verbose=True)
        # for scale: the teacher against itself on two crops of the same eye (the detector's
        # and the re-centred one), on the held-out eyes
        m = held & eyes.positive
        e1 = np.array([_ear_np(eyes.points[i, 0]) for i in np.flatnonzero(m)])
        e2 = np.array([_ear_np(eyes.points[i, 1]) for i in np.flatnonzero(m)])
        agree["teacher_two_crops"] = {"n": int(m.sum()), "r": float(np.corrcoef(e1, e2)[0, 1]),
                                      "mad": float(np.abs(e1 - e2).mean())}
        print(f"    MediaPipe against itself (detector crop vs re-centred crop): r="
              f"{agree['teacher_two_crops']['r']:.3f} mean |diff| "
              f"{agree['teacher_two_crops']['mad']:.4f}", flush=True)
        zju = blinks.evaluate(data_dir, landmarker=student, subjects=FOLDS[fold]["zju"])
        print(f"    ZJU subjects {FOLDS[fold]['zju']}: tp={zju['tp']} fp={zju['fp']} "
              f"fn={zju['fn']} precision {zju['precision']:.3f} recall {zju['recall']:.3f}",
              flush=True)
        vids = {}
        for r in hrows:
            if r["media"] == "video" and r["source"] != ZJU:
                n, ev, tracks = video_blinks(student, data_dir / r["path"])
                vids[r["path"]] = {"blinks": n, "events": ev, "tracks": tracks}
                print(f"    {r['path']}: {n} blinks, {tracks} track(s)", flush=True)
        res[fold] = {"agreement": agree, "zju": {k: zju[k] for k in ("clips", "tp", "fp", "fn",
                                                                     "precision", "recall")},
                     "videos": vids}
        # kept after every fold (a fold's results survive a later fold being rerun)
        pj = out_dir / "protocol.json"
        old = json.loads(pj.read_text()) if pj.is_file() else {}
        pj.write_text(json.dumps({**old, fold: res[fold]}, indent=1) + "\n")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.eye",
                                 description="Build (or evaluate) fastlive's eye network")
    ap.add_argument("--out", type=Path, default=ROOT / "models",
                    help="folder for eye_net.onnx and its manifest entry (default: models/)")
    ap.add_argument("--data", type=Path, default=None, help="the shared data folder")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--protocol", action="store_true",
                    help="held-out evaluation (two trainings) instead of the shipped model")
    ap.add_argument("--folds", default="A,B", help="--protocol: the folds to run (A, B)")
    ap.add_argument("--reuse", action="store_true",
                    help="--protocol: evaluate the fold models already in training/runs/eye")
    args = ap.parse_args(argv)
    folds = tuple(f.strip() for f in args.folds.split(",") if f.strip())
    if any(f not in FOLDS for f in folds):
        ap.error(f"--folds: expected a comma-separated list of {sorted(FOLDS)}, got "
                 f"{args.folds!r}")
    t0 = time.time()
    if args.protocol:
        protocol(args.data, epochs=args.epochs, seed=args.seed, folds=folds, reuse=args.reuse)
    else:
        entry = build(args.out, args.data, epochs=args.epochs, seed=args.seed)
        p = write_manifest_entry(args.out, entry)
        print(json.dumps(entry, indent=1))
        print(f"wrote {args.out / MODEL_FILE} and its entry in {p}")
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
