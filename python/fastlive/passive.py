"""Passive (single-frame) liveness models: a small CNN and a colour-LBP texture classifier.

This module is the runtime side of ``training/``: the one function that maps a frame and a
detected face to model inputs (:func:`prepare`) lives here and training calls it, so the models
see exactly the crops they will see at run time (train/serve consistency).

Pipeline for one face::

    frame, Face -> affine (fastlive.align: 5-point eye alignment, or the box when there are no
                   keypoints)
                -> area prefilter: when the crop would minify the face by more than
                   ``PREFILTER_BELOW`` (a high-resolution face), the face region is first
                   downscaled with cv2.INTER_AREA so the bilinear warp works near scale 1
                   (no aliasing: texture models otherwise see the camera's resolution); with
                   ``InputSpec.prefilter_max_scale`` (the texture crop since models round
                   10) every other face too is area-downscaled to that fraction of its size
                   first, so no face reaches the texture model with its camera's raw grain
                -> kernels.warp_crop      -> uint8 crop (the texture model's own size) -> the
                                             spec's colour spaces (HSV) -> LBP histograms
                                             -> logistic regression -> P(live) "texture"
                -> kernels.warp_to_tensor -> float32 NCHW -> CNN (onnxruntime) -> P(live) "cnn"
                -> fusion (logistic regression on the two logits, fitted on out-of-source
                   predictions: training/README.md) -> calibrated P(live) "passive"

Score convention: higher = live, in [0, 1]. ``PassiveScorer.thresholds`` holds the named
operating points ("convenience", "balanced", "secure") on the "passive" probability.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastlive import align, kernels, registry

__all__ = [
    "InputSpec",
    "DEFAULT_SPEC",
    "DEFAULT_TEXTURE_SPEC",
    "face_transform",
    "prefilter",
    "prepare",
    "texture_features",
    "noise_sigma",
    "face_px",
    "resolution_weights",
    "PassiveScorer",
    "CNN_MODEL",
    "TEXTURE_MODEL",
    "FUSION_MODEL",
]

CNN_MODEL = "passive_cnn"
TEXTURE_MODEL = "passive_texture"
FUSION_MODEL = "passive_fusion"
OPERATING_POINTS = ("convenience", "balanced", "secure")

# The crop minifies the frame by more than this factor -> area-downscale the face region first.
PREFILTER_BELOW = 0.8


@dataclass(frozen=True)
class InputSpec:
    """How a face becomes model inputs (stored in models/manifest.json as ``input``)."""

    size: int = 64  # square crop side, pixels
    scale: float = 1.0  # fastlive.align scale (>1: more context)
    # after lighting standardization the input is already zero-mean, unit-scale
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # in channel_order
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channel_order: str = "rgb"
    border: str = "replicate"
    # kernels.warp_to_tensor lighting: "standardize" maps each crop to zero-mean / unit-std luma
    # (exposure and contrast of the camera removed; colour ratios kept). On the cross-source
    # protocol it raised the CNN's mean AUC from 0.54 to 0.66 (see models/README.md).
    lighting: str = "standardize"
    lbp_grid: tuple[int, int] = (1, 1)
    # one LBP radius, or several (histograms concatenated in this order)
    lbp_radius: int | tuple[int, ...] = 1
    lbp_colors: tuple[str, ...] = ("ycrcb", "hsv")
    # fold the 59 uniform bins into the 35 classes of codes that a horizontal mirror maps onto
    # each other (MIRROR_UNIFORM): the features of a crop and of its mirror image are equal
    lbp_mirror: bool = False
    # LBP on the crop (1) and on copies area-downscaled by these factors (2: half size)
    lbp_scales: tuple[int, ...] = (1,)
    # added to OpenCV's hue (0..179, modulo 180) before the LBP of an "hsv" conversion: hue
    # wraps around at red, inside skin tones, so unshifted skin pixels flip between ~0 and
    # ~179 and the H channel's LBP reads that wrap as texture; a shift moves the wrap away
    # from skin (60: to blue)
    lbp_hue_shift: int = 0
    # the cells of lbp_grid whose histograms are kept (row-major indices), or None for all:
    # (1, 2) of a 4x1 grid keeps the eye and nose/mouth bands of the face and drops the top
    # (forehead, hair, background) and bottom (chin, neck) bands, whose context differs more
    # between cameras and rooms than between live faces and attacks
    lbp_bands: tuple[int, ...] | None = None
    # the LBP slacks (fastlive.kernels.lbp_histogram_multi's ``slack``: a neighbour up to that
    # many grey levels below the centre still sets its bit), each giving the whole feature
    # vector above once, concatenated in this order; (0,): plain LBP only. A texture model
    # over several slacks is the sum of one logistic regression per slack (models round 13).
    lbp_slacks: tuple[int, ...] = (0,)
    # None: the area prefilter runs only when the crop minifies the face by more than
    # PREFILTER_BELOW, so a face near the crop's own resolution keeps the camera's pixel grain
    # (sensor noise, demosaicking, JPEG) that a larger face loses to the averaging, and the
    # texture model read that grain as live (models round 8: 37 % of held-out prints with a
    # face of 100-150 px accepted, 2-3 % of larger ones). A scale in (0, 1]: a face region that
    # the prefilter would leave alone is area-downscaled to this fraction of its size before
    # the warp (enlarged from there when the face is small); at PREFILTER_BELOW (models round
    # 10, where the prefilter already starts; models/README.md) every face is averaged by at
    # least 1 / PREFILTER_BELOW.
    prefilter_max_scale: float | None = None
    # None: as above. A fraction d in (0, 1]: the prefilter works as if the crop were d of its
    # size: a face the crop minifies is area-downscaled to d of the crop's scale (not to the
    # crop's scale) and the warp enlarges it by 1/d, and prefilter_max_scale caps that as
    # before. Every face over d / prefilter_max_scale of the crop's face size across (0.75 /
    # 0.8 of 128 px: 120 px) then reaches the crop with the same detail (d of the crop's face
    # size), whatever the camera's resolution; smaller faces with less (models round 11;
    # models/README.md).
    prefilter_detail: float | None = None

    @property
    def lbp_radii(self) -> tuple[int, ...]:
        r = self.lbp_radius
        return (int(r),) if isinstance(r, int) else tuple(int(v) for v in r)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": [self.size, self.size], "scale": self.scale, "mean": list(self.mean),
            "std": list(self.std), "channel_order": self.channel_order, "border": self.border,
            "lighting": self.lighting,
            "layout": "NCHW float32, (pixel - mean) / std, pixel units 0..255 (lighting "
                      "'standardize': pixel -> (pixel - mu) / max(sd, 1) first, mu/sd of the "
                      "crop's luma)",
            "prefilter": (f"INTER_AREA when crop scale < {PREFILTER_BELOW}"
                          + ("" if self.prefilter_detail is None else
                             f" (crop scale taken as {self.prefilter_detail:g} of its own, "
                             "the face region downscaled to that)")
                          + ("" if self.prefilter_max_scale is None else
                             f"; otherwise the face region is area-downscaled to "
                             f"{self.prefilter_max_scale:g} of its size first")),
            **({} if self.prefilter_max_scale is None
               else {"prefilter_max_scale": self.prefilter_max_scale}),
            **({} if self.prefilter_detail is None
               else {"prefilter_detail": self.prefilter_detail}),
            "lbp": {"grid": list(self.lbp_grid),
                    "radius": (self.lbp_radius if isinstance(self.lbp_radius, int)
                               else list(self.lbp_radius)),
                    "mapping": "uniform", "colors": list(self.lbp_colors),
                    "mirror_fold": self.lbp_mirror, "scales": list(self.lbp_scales),
                    "hue_shift": self.lbp_hue_shift,
                    "bands": None if self.lbp_bands is None else list(self.lbp_bands),
                    **({} if self.lbp_slacks == (0,) else {"slacks": list(self.lbp_slacks)}),
                    "transform": "sqrt(normalized histogram)"},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        size = d["size"]
        size = int(size[0]) if isinstance(size, (list, tuple)) else int(size)
        lbp = d.get("lbp", {})
        return cls(
            size=size, scale=float(d.get("scale", 1.0)),
            mean=tuple(float(v) for v in d["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in d["std"]),  # type: ignore[arg-type]
            channel_order=str(d.get("channel_order", "rgb")),
            border=str(d.get("border", "replicate")),
            lighting=str(d.get("lighting", "none")),
            lbp_grid=tuple(int(v) for v in lbp.get("grid", (1, 1))),  # type: ignore[arg-type]
            lbp_radius=_radius(lbp.get("radius", 1)),
            lbp_colors=tuple(str(c) for c in lbp.get("colors", ("ycrcb", "hsv"))),
            lbp_mirror=bool(lbp.get("mirror_fold", False)),
            lbp_scales=tuple(int(v) for v in lbp.get("scales", (1,))),
            lbp_hue_shift=int(lbp.get("hue_shift", 0)),
            lbp_bands=_bands(lbp.get("bands"), lbp.get("grid", (1, 1))),
            lbp_slacks=_slacks(lbp.get("slacks", (0,))),
            prefilter_max_scale=_unit_scale(d.get("prefilter_max_scale"),
                                            "prefilter_max_scale"),
            prefilter_detail=_unit_scale(d.get("prefilter_detail"), "prefilter_detail"),
        )


def _unit_scale(v: Any, name: str) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = math.nan
    if not 0.0 < x <= 1.0:
        raise ValueError(f"{name}: expected a number in (0, 1] or null, got {v!r}; fix the "
                         "model file's input spec")
    return x


def _bands(v: Any, grid: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    cells = int(grid[0]) * int(grid[1])
    out = tuple(int(b) for b in v)
    if not out or len(set(out)) != len(out) or not all(0 <= b < cells for b in out):
        raise ValueError(f"lbp bands: expected distinct cell indices in 0..{cells - 1} of the "
                         f"{grid[0]}x{grid[1]} grid, got {list(v)}; fix the model file's "
                         "input spec")
    return out


def _slacks(v: Any) -> tuple[int, ...]:
    out = tuple(v) if isinstance(v, (list, tuple)) else ()
    if (not out or len(set(out)) != len(out)
            or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 255
                       for x in out)):
        raise ValueError(f"lbp slacks: expected a list of distinct ints in 0..255, got {v!r}; "
                         "fix the model file's input spec")
    return tuple(int(x) for x in out)


def _radius(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        return int(v[0]) if len(v) == 1 else tuple(int(r) for r in v)
    return int(v)


DEFAULT_SPEC = InputSpec()
# The texture classifier's own crop: same alignment (prepare), 160 px with 1.25x the face's
# context (the same face pixels as a 128 px tight crop, plus a border of hair, background and
# print/screen edge), LBP radius 1 of the H, S and V channels (round 5: without YCrCb and
# without the half-size copy, which generalised no better and cost 3x the time; hue shifted
# by 60 so that its wrap-around is not in skin tones), in the middle two of 4 horizontal
# bands (eyes, nose/mouth; round 6 dropped the forehead band with hair and background and the
# chin band with neck and background, which told cameras and rooms apart more than live faces
# and attacks). Chosen on the cross-source protocol (``python -m training.sweep``, table in
# models/README.md). Every face area-averaged (round 10: prefilter_max_scale), and brought to
# the same detail, 0.75 of the crop's face size, whatever the camera's resolution (round 11:
# prefilter_detail; faces over ~120 px reach the crop alike). Round 13 adds a second block of
# the same histograms with LBP slack 1 (a neighbour one grey level below the centre still sets
# its bit), fitted apart and summed: out of source it separates the sources pooled better and
# holds up better under sensor noise (models/README.md, "Round 13"). The shipped texture model
# stores its spec in passive_texture.json.
TEXTURE_DETAIL = 0.75
DEFAULT_TEXTURE_SPEC = InputSpec(size=160, scale=1.25, lbp_mirror=True, lbp_colors=("hsv",),
                                 lbp_grid=(4, 1), lbp_hue_shift=60, lbp_bands=(1, 2),
                                 prefilter_max_scale=PREFILTER_BELOW,
                                 prefilter_detail=TEXTURE_DETAIL, lbp_slacks=(0, 1))

# Uniform LBP(8) bin i of an image is bin MIRROR_UNIFORM[i] of its horizontal mirror image
# (neighbour bits 0<->2, 3<->7, 4<->6 swap; fastlive.kernels.lbp_codes order; checked against
# the kernels in tests/test_passive.py). Same for radius 2 (square ring, same order).
MIRROR_UNIFORM = (0, 4, 2, 5, 1, 3, 6, 29, 30, 31, 32, 22, 36, 37, 38, 39, 16, 23, 42, 43, 44,
                  45, 11, 17, 24, 47, 48, 49, 50, 7, 8, 9, 10, 33, 40, 46, 12, 13, 14, 15, 34,
                  41, 18, 19, 20, 21, 35, 25, 26, 27, 28, 51, 54, 56, 52, 55, 53, 57, 58)
_MIRROR_CLASSES = sorted({tuple(sorted({i, MIRROR_UNIFORM[i]})) for i in range(59)})
# (59, 35) 0/1 matrix: histogram @ _MIRROR_FOLD sums each mirror class
_MIRROR_FOLD = np.zeros((59, len(_MIRROR_CLASSES)), np.float32)
for _j, _cls in enumerate(_MIRROR_CLASSES):
    _MIRROR_FOLD[list(_cls), _j] = 1.0


def _cv2() -> Any:
    import cv2

    return cv2


def _check_face(face: Any, name: str = "face") -> None:
    box = getattr(face, "box", None)
    if box is None or not hasattr(face, "keypoints"):
        raise TypeError(
            f"{name}: expected a fastlive.detect.Face (box, keypoints), got "
            f"{type(face).__name__}; get faces from FaceDetector().detect(frame)"
        )
    b = np.asarray(box, dtype=np.float64)
    if b.shape != (4,) or not np.isfinite(b).all() or b[2] <= 0 or b[3] <= 0:
        raise ValueError(f"{name}: box must be 4 finite numbers (x, y, w, h) with w, h > 0, "
                         f"got {box!r}")


def face_transform(face: Any, spec: InputSpec = DEFAULT_SPEC) -> np.ndarray:
    """The 2x3 affine (frame -> crop) for ``face``: 5-point alignment, else the box."""
    _check_face(face)
    if face.keypoints is not None:
        kp = np.asarray(face.keypoints, dtype=np.float64)
        if kp.shape == (5, 2) and np.isfinite(kp).all() and np.ptp(kp, axis=0).max() > 1e-3:
            return align.keypoint_transform(kp, spec.size, spec.scale)
    return align.box_transform(face.box, spec.size, spec.scale)


def prefilter(frame: np.ndarray, m: np.ndarray, size: int,
              max_scale: float | None = None,
              detail: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Anti-aliasing: when ``m`` minifies by more than ``PREFILTER_BELOW``, return the face
    region of ``frame`` downscaled with INTER_AREA and the affine adjusted to it (so the warp
    runs near scale 1); otherwise return ``(frame, m)`` unchanged, unless ``max_scale``
    (``InputSpec.prefilter_max_scale``) is set: then the face region is area-downscaled to
    ``max_scale`` of its size (to its own crop scale where that is smaller) and the warp
    enlarges it from there. With ``max_scale`` = ``PREFILTER_BELOW`` (the texture crop since
    models round 10) every face's pixels are averaged by at least 1 / ``PREFILTER_BELOW``.
    ``detail`` (``InputSpec.prefilter_detail``): the crop's scale is taken as ``detail`` times
    its own in all of this, so the warp enlarges every face that the prefilter downscales by
    at least 1 / ``detail``."""
    m = np.asarray(m, dtype=np.float64)
    s = math.sqrt(abs(float(np.linalg.det(m[:, :2]))))
    if not (s > 0 and math.isfinite(s)):
        return frame, m
    if detail is not None:
        s *= float(detail)
    if not s < PREFILTER_BELOW:
        if max_scale is None:
            return frame, m
        # the face region at most max_scale of its own size, then enlarged by the warp
        s = min(s, float(max_scale))
    h, w = frame.shape[:2]
    inv = align.invert(m)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    pts = corners @ inv.T
    margin = 2.0 / s  # two crop pixels of context for the filter and the bilinear taps
    x0 = int(max(0, math.floor(pts[:, 0].min() - margin)))
    y0 = int(max(0, math.floor(pts[:, 1].min() - margin)))
    x1 = int(min(w, math.ceil(pts[:, 0].max() + margin)))
    y1 = int(min(h, math.ceil(pts[:, 1].max() + margin)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return frame, m
    roi = frame[y0:y1, x0:x1]
    if not kernels._pixels_contiguous(roi):
        roi = np.ascontiguousarray(roi)  # the kernel wants pixels contiguous within a row
    nw, nh = max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))
    # cv2.resize INTER_AREA, pixel for pixel (fastlive.kernels.resize_area: twice as fast on
    # OpenCV's general path, which non-integer factors take)
    small = kernels.resize_area(roi, (nh, nw))
    dx, dy = nw / (x1 - x0), nh / (y1 - y0)
    # frame point p = small point q / (dx, dy) + (x0 - 0.5 + 0.5/dx, ...) (pixel-centre convention)
    ox = x0 - 0.5 + 0.5 / dx
    oy = y0 - 0.5 + 0.5 / dy
    m2 = np.empty((2, 3))
    m2[:, 0] = m[:, 0] / dx
    m2[:, 1] = m[:, 1] / dy
    m2[:, 2] = m[:, 2] + m[:, 0] * ox + m[:, 1] * oy
    return small, m2


def prepare(frame: np.ndarray, face: Any, spec: InputSpec = DEFAULT_SPEC, *,
            tensor: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Map (frame, face) to model inputs: ``(crop uint8 (S, S, 3) BGR, tensor float32
    (1, 3, S, S) or None)``. Training calls exactly this function."""
    from fastlive import _core
    from fastlive.frames import as_bgr

    frame = as_bgr(frame, "frame")
    m = face_transform(face, spec)
    src, m2 = prefilter(frame, m, spec.size, spec.prefilter_max_scale, spec.prefilter_detail)
    size = (spec.size, spec.size)
    crop = _core.warp_crop(src, m2, size, border=spec.border)
    if not tensor:
        return crop, None
    # same samples as the crop, unrounded: (pixel - mean) / std in channel_order, NCHW
    t = _core.warp_to_tensor(src, m2, size, mean=spec.mean, std=spec.std,
                             channel_order=spec.channel_order, lighting=spec.lighting,
                             border=spec.border)
    return crop, t


_COLOR_CODES = {"ycrcb": "COLOR_BGR2YCrCb", "hsv": "COLOR_BGR2HSV", "lab": "COLOR_BGR2Lab",
                "bgr": None}


@functools.lru_cache(maxsize=8)
def _hue_lut(shift: int) -> np.ndarray:
    """cv2.LUT table (256 entries) adding ``shift`` to an OpenCV hue (0..179) modulo 180."""
    lut = np.arange(256, dtype=np.uint8).reshape(256, 1)
    lut[:180, 0] = (np.arange(180) + shift) % 180
    lut.setflags(write=False)
    return lut


def texture_features(crop: np.ndarray, spec: InputSpec = DEFAULT_SPEC) -> np.ndarray:
    """Colour-LBP feature vector of an aligned uint8 BGR crop: uniform LBP histograms
    (fastlive.kernels.lbp_histogram_multi) of each channel of each colour conversion, on a grid,
    per radius, on the crop and its area-downscaled copies (``spec.lbp_scales``), optionally
    folded into mirror classes (``spec.lbp_mirror``), square-rooted (Hellinger); the hue of
    "hsv" conversions shifted by ``spec.lbp_hue_shift`` (modulo 180); only the grid cells in
    ``spec.lbp_bands`` when it is set; all of it once per slack of ``spec.lbp_slacks``, in
    that order. float32 1-D."""
    from fastlive import _core

    cv2 = _cv2()
    parts = []
    images = []  # every colour conversion of every scale, in the feature order
    for k in spec.lbp_scales:
        if k == 1:
            img0 = crop
        else:
            h, w = crop.shape[:2]
            img0 = cv2.resize(crop, (max(8, w // k), max(8, h // k)),
                              interpolation=cv2.INTER_AREA)
        for c in spec.lbp_colors:
            if c not in _COLOR_CODES:
                raise ValueError(f"lbp_colors: unknown colour space {c!r}; use "
                                 f"{list(_COLOR_CODES)}")
            code = _COLOR_CODES[c]
            img = img0 if code is None else cv2.cvtColor(img0, getattr(cv2, code))
            if c == "hsv" and spec.lbp_hue_shift % 180:
                # img is cvtColor's own output: shift its hue plane in place
                hue = cv2.LUT(cv2.extractChannel(img, 0), _hue_lut(spec.lbp_hue_shift % 180))
                img = cv2.insertChannel(hue, img, 0)
            images.append(img)
    for slack in spec.lbp_slacks:
        for img in images:
            for r in spec.lbp_radii:
                hist = _core.lbp_histogram_multi(img, spec.lbp_grid, "uniform", True, r,
                                                 slack=slack)
                if spec.lbp_bands is not None:  # (channels, cells, 59) -> the kept cells
                    cells = spec.lbp_grid[0] * spec.lbp_grid[1]
                    hist = hist.reshape(-1, cells, 59)[:, list(spec.lbp_bands)].ravel()
                if spec.lbp_mirror:
                    hist = (hist.reshape(-1, 59) @ _MIRROR_FOLD).ravel()
                parts.append(np.sqrt(hist))
    return np.concatenate(parts).astype(np.float32)


# J. Immerkaer, "Fast noise variance estimation", CVIU 64(2), 1996: this mask cancels locally
# linear (and most smooth) image content; for white Gaussian noise of standard deviation s the
# mean absolute response is 6 s sqrt(2 / pi).
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(crop: np.ndarray) -> float:
    """Sensor-noise level of an aligned uint8 BGR crop (the texture model's, from
    :func:`prepare`) in grey levels: Immerkaer's estimator on the gray crop's inner region (the
    middle half of the rows, eyes to mouth, and the middle 5/8 of the columns: skin, little
    background). The texture model reads pixel-level grain, so frames noisier than its training
    crops (all JPEG-compressed captures, at most 1.15 since models round 11; models/README.md)
    push printed and replayed faces towards live; ``Config.max_noise`` turns that into
    UNCERTAIN("too noisy")."""
    cv2 = _cv2()
    if not isinstance(crop, np.ndarray):
        raise TypeError(f"crop: expected a numpy.ndarray, got {type(crop).__name__}")
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"crop: expected a uint8 (H, W, 3) BGR crop, got {crop.dtype} "
                         f"{crop.shape}")
    h, w = crop.shape[:2]
    if h < 16 or w < 16:
        raise ValueError(f"crop: expected at least 16x16 pixels, got {w}x{h}")
    inner = np.ascontiguousarray(crop[h // 4:3 * h // 4, 3 * w // 16:13 * w // 16])
    gray = cv2.cvtColor(inner, cv2.COLOR_BGR2GRAY).astype(np.float32)
    r = cv2.filter2D(gray, -1, _NOISE_MASK)[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2.0) / 6.0 * np.abs(r).mean())


def face_px(face: Any) -> float:
    """A face's resolution: the longer side of its box, in pixels of the image it was detected
    in (what :func:`resolution_weights` routes on; ``training.data.face_side`` is this)."""
    _check_face(face)
    return float(max(face.box[2], face.box[3]))


def resolution_weights(face_side: float, anchors: tuple[float, ...] | list[float]
                       ) -> list[tuple[int, float]]:
    """How a texture model bank blends its models for a face ``face_side`` pixels across:
    ``[(index into anchors, weight), ...]`` (weights sum to 1). ``anchors``: the face sides the
    models were trained at, ascending (the last is the main model's). A face at or below the
    first anchor gets the first model, at or above the last the last one; in between, the two
    neighbouring models are blended linearly in log(side), so the score changes smoothly with
    the distance to the camera. Shared by training (``training.texture``) and
    :class:`PassiveScorer`."""
    if not anchors or any(b <= a for a, b in zip(anchors, anchors[1:])):
        raise ValueError(f"anchors: expected ascending face sides, got {list(anchors)}")
    f = float(face_side)
    if not math.isfinite(f):
        raise ValueError(f"face_side: expected a finite number of pixels, got {face_side!r}")
    if f <= anchors[0]:
        return [(0, 1.0)]
    if f >= anchors[-1]:
        return [(len(anchors) - 1, 1.0)]
    i = next(k for k in range(len(anchors) - 1) if f < anchors[k + 1])
    w = math.log(f / anchors[i]) / math.log(anchors[i + 1] / anchors[i])
    return [(i, 1.0 - w), (i + 1, w)] if w > 0.0 else [(i, 1.0)]


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z)))))


def _logit(p: float, eps: float = 1e-6) -> float:
    p = min(max(float(p), eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


class PassiveScorer:
    """Scores faces with fastlive's own passive models (CNN + colour-LBP texture + fusion).

    ``model_dir``: a folder with ``manifest.json`` and the files it lists (default: the models
    shipped with fastlive, resolved through :mod:`fastlive.registry`). Every file's sha256 is
    checked. Raises :class:`fastlive.registry.ModelNotFoundError` when the models are absent.
    Thread-safe (one onnxruntime session, read-only weights).
    """

    def __init__(self, model_dir: str | Path | None = None, *, threads: int = 1,
                 run_cnn: bool | None = None) -> None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads: expected an int >= 1, got {threads!r}")
        if run_cnn is not None and not isinstance(run_cnn, bool):
            raise TypeError(f"run_cnn: expected None, True or False, got {run_cnn!r}")
        manifest, paths = self._load_manifest(model_dir)
        self.manifest = manifest
        self.version: str = str(manifest.get("version", "unknown"))
        self.paths = paths
        cnn_meta = self._entry(manifest, CNN_MODEL)
        self.spec = InputSpec.from_dict(cnn_meta["input"])
        with open(paths[TEXTURE_MODEL], encoding="utf-8") as fh:
            tex = json.load(fh)
        with open(paths[FUSION_MODEL], encoding="utf-8") as fh:
            fus = json.load(fh)
        # The texture model's weights, (mean, scale, coef, intercept); with a resolution bank
        # (``python -m training.reproduce --resolution-bank``; not in the shipped models,
        # models/README.md "Round 9") the bank's models come first and the main model last,
        # ``_tex_anchors`` their face sides: faces smaller than the main model's anchor are
        # scored by a blend (resolution_weights). Without a bank: the main model only.
        def weights(m: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
            return (np.asarray(m["mean"], np.float64), np.asarray(m["scale"], np.float64),
                    np.asarray(m["coef"], np.float64), float(m["intercept"]))

        main = weights(tex)
        bank = tex.get("resolution_bank")
        self._tex_models = [main]
        self._tex_anchors: tuple[float, ...] = ()
        if bank is not None:
            n = main[2].shape[0]
            self._tex_models = [weights(m) for m in bank["models"]] + [main]
            for w in self._tex_models[:-1]:
                if any(v.shape != (n,) for v in w[:3]):
                    raise ValueError(f"model_dir: a resolution-bank texture model has "
                                     f"{[v.shape for v in w[:3]]} weights, the main model {n}; "
                                     "re-export the models")
            self._tex_anchors = tuple(float(m["face_px"]) for m in bank["models"]) + (
                float(bank["main_face_px"]),)
            resolution_weights(self._tex_anchors[0], self._tex_anchors)  # ascending check
        # the texture classifier may use its own crop (size, LBP radii) from the same alignment
        self.texture_spec = InputSpec.from_dict(tex["input"]) if "input" in tex else self.spec
        ts, cs = self.texture_spec, self.spec
        self._shared_crop = (ts.size, ts.scale, ts.border) == (cs.size, cs.scale, cs.border)
        self._fusion = {k: float(fus[k]) for k in ("w_cnn", "w_texture", "bias")}
        # The CNN runs when the fusion weighs it, or on request (then it is only reported as
        # the "cnn" cue): with weight 0 it would cost ~0.5 ms per face for nothing in the score.
        needs_cnn = self._fusion["w_cnn"] != 0.0
        if run_cnn is False and needs_cnn:
            raise ValueError(f"run_cnn=False: this fusion gives the CNN weight "
                             f"{self._fusion['w_cnn']}; leave run_cnn=None")
        self.run_cnn: bool = needs_cnn if run_cnn is None else run_cnn
        self.thresholds: dict[str, float] = {k: float(fus["thresholds"][k])
                                             for k in OPERATING_POINTS}
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        try:
            self._sess = ort.InferenceSession(str(paths[CNN_MODEL]), so,
                                              providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own (non-OSError) exception types
            raise registry.ModelIntegrityError(
                f"model {CNN_MODEL!r}: onnxruntime cannot load {paths[CNN_MODEL]} ({exc}); the "
                "file is not a valid ONNX model for this onnxruntime: reinstall fastlive"
            ) from exc
        self._in_name = self._sess.get_inputs()[0].name
        n_feat = main[2].shape[0]
        probe = texture_features(
            np.zeros((self.texture_spec.size, self.texture_spec.size, 3), np.uint8),
            self.texture_spec)
        if probe.shape[0] != n_feat or main[0].shape[0] != n_feat:
            raise ValueError(f"model_dir: texture weights expect {n_feat} features, the input "
                             f"spec gives {probe.shape[0]}")

    # -- loading -------------------------------------------------------------------------------
    @staticmethod
    def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
        for m in manifest.get("models", []):
            if m.get("name") == name:
                return m
        raise registry.ModelNotFoundError(
            f"model {name!r} is not listed in the manifest ({manifest.get('_dir', '?')}); "
            "reinstall fastlive or pass model_dir= a folder made by 'python -m training.reproduce'"
        )

    @classmethod
    def _load_manifest(cls, model_dir: str | Path | None
                       ) -> tuple[dict[str, Any], dict[str, Path]]:
        names = (CNN_MODEL, TEXTURE_MODEL, FUSION_MODEL)
        if model_dir is None:
            manifest = registry.shipped_manifest()
            for n in names:
                cls._entry(manifest, n)
            return manifest, {n: registry.resolve(n) for n in names}
        if not isinstance(model_dir, (str, Path)):
            raise TypeError(f"model_dir: expected a str or pathlib.Path, got "
                            f"{type(model_dir).__name__}")
        d = Path(model_dir)
        mf = d / "manifest.json"
        if not mf.is_file():
            raise registry.ModelNotFoundError(
                f"model_dir: {d} has no manifest.json; pass the folder made by "
                "'python -m training.reproduce' (or leave model_dir=None for the shipped models)"
            )
        with open(mf, encoding="utf-8") as fh:
            manifest = json.load(fh)
        manifest["_dir"] = str(d)
        paths = {}
        for n in names:
            e = cls._entry(manifest, n)
            s = registry.ModelSpec(n, e["file"], e["sha256"], None, meta=e)
            paths[n] = registry.verify(d / e["file"], s)
        return manifest, paths

    # -- scoring -------------------------------------------------------------------------------
    def texture_prob(self, crop: np.ndarray, face_side: float | None = None) -> float:
        """P(live) from the texture classifier on a crop made with ``self.texture_spec``.
        ``face_side``: the face's resolution (:func:`face_px`, pixels across in its source
        image); with a resolution bank in the model, faces under the main model's anchor
        are scored by the bank's blend (:func:`resolution_weights`). None: the main model."""
        f = texture_features(crop, self.texture_spec).astype(np.float64)
        last = len(self._tex_models) - 1
        parts = ([(last, 1.0)] if face_side is None or not last
                 else resolution_weights(face_side, self._tex_anchors))
        z = 0.0
        for i, w in parts:
            mean, scale, coef, bias = self._tex_models[i]
            z += w * (float(((f - mean) / scale) @ coef) + bias)
        return _sigmoid(z)

    def cnn_prob(self, tensor: np.ndarray) -> float:
        out = self._sess.run(None, {self._in_name: np.ascontiguousarray(tensor, np.float32)})
        return _sigmoid(float(np.asarray(out[0]).reshape(-1)[0]))

    def fuse(self, cnn: float | None, texture: float) -> float:
        """Calibrated P(live); ``cnn`` may be None when the fusion gives the CNN no weight."""
        f = self._fusion
        z = f["w_texture"] * _logit(texture) + f["bias"]
        if f["w_cnn"] != 0.0:
            if cnn is None:
                raise ValueError("cnn: this fusion needs the CNN probability")
            z += f["w_cnn"] * _logit(cnn)
        return _sigmoid(z)

    def score(self, frame_bgr: np.ndarray, faces: list[Any]) -> list[dict[str, Any]]:
        """Per face: {"cnn" (None when the CNN is not run: see ``run_cnn``), "texture",
        "passive" (calibrated fused P(live)), "noise" (:func:`noise_sigma` of the texture
        crop), "timings" (ms)}."""
        from fastlive.frames import as_bgr

        frame_bgr = as_bgr(frame_bgr, "frame_bgr")
        if not isinstance(faces, (list, tuple)):
            raise TypeError(f"faces: expected a list of fastlive.detect.Face, got "
                            f"{type(faces).__name__}")
        for i, f in enumerate(faces):
            _check_face(f, f"faces[{i}]")
        out = []
        for f in faces:
            t0 = time.perf_counter()
            tensor = None
            if self.run_cnn:
                crop, tensor = prepare(frame_bgr, f, self.spec)
            if not self.run_cnn or not self._shared_crop:
                crop, _ = prepare(frame_bgr, f, self.texture_spec, tensor=False)
            t1 = time.perf_counter()
            cnn = None if tensor is None else self.cnn_prob(tensor)
            t2 = time.perf_counter()
            tex = self.texture_prob(crop, face_px(f))
            t3 = time.perf_counter()
            passive = self.fuse(cnn, tex)
            t4 = time.perf_counter()
            tm = {"prepare": (t1 - t0) * 1e3, "texture": (t3 - t2) * 1e3,
                  "fusion": (t4 - t3) * 1e3}
            if tensor is not None:
                tm["cnn"] = (t2 - t1) * 1e3
            out.append({"cnn": cnn, "texture": tex, "passive": passive,
                        "noise": noise_sigma(crop), "timings": tm})
        return out
