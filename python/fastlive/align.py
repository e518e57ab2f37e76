"""Face alignment: eye-aligned similarity transforms from detector keypoints to model crops.

A crop is described by a 2x3 affine matrix ``M`` mapping frame pixel coordinates to crop pixel
coordinates (the convention of ``cv2.warpAffine``), consumed by the C++ kernels
``fastlive.kernels.warp_to_tensor`` (CNN input) and ``warp_crop`` (uint8 crop for LBP etc.).

The canonical 5-point template (right eye, left eye, nose tip, right and left mouth corners, as
YuNet orders them) is the widely used 112x112 face-recognition template expressed as fractions of
the crop. ``scale`` > 1 zooms out (more context around the face), < 1 zooms in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Fractions of the crop side (x, y); from the standard 112x112 template.
TEMPLATE_5 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
) / 112.0
TEMPLATE_CENTER = np.array([0.5, 0.5])

# Where a YuNet box lands in the canonical crop (scale=1), as fractions of the crop side:
# centre (x, y) and side. Measured with ``python -m fastlive.align`` on NUAA live frames
# (median over faces); used to place a crop when no keypoints are available (Haar fallback,
# or a whole image taken as the face), so both paths see the face at the same place and size.
BOX_IN_CROP = {"cx": 0.5006, "cy": 0.5752, "side": 0.9616}  # n=206 faces


def _check_size(size: Any) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
            or min(size) <= 0):
        raise ValueError(f"size: expected a positive int or an (h, w) pair of ints, got {size!r}")
    return int(size[0]), int(size[1])


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src -> dst
    (Umeyama 1991). Both (N, 2), N >= 2. Returns a 2x3 float64 matrix."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise ValueError(f"src, dst: expected two (N, 2) arrays with N >= 2, got {src.shape} "
                         f"and {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError("src, dst: points must be finite")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("src: points are degenerate (all equal)")
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1
    r = u @ np.diag(d) @ vt
    c = (sig * d).sum() / var_s
    t = mu_d - c * r @ mu_s
    return np.hstack([c * r, t[:, None]])


def keypoint_transform(keypoints: np.ndarray, size: Any, scale: float = 1.0) -> np.ndarray:
    """Affine (2x3) mapping the frame to an eye-aligned ``size`` crop from 5 keypoints."""
    h, w = _check_size(size)
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (5, 2):
        raise ValueError(f"keypoints: expected shape (5, 2), got {kp.shape}")
    if not np.isfinite(kp).all():
        raise ValueError("keypoints: contains NaN or infinity")
    if not float(scale) > 0:
        raise ValueError(f"scale: expected > 0, got {scale}")
    dst = (TEMPLATE_CENTER + (TEMPLATE_5 - TEMPLATE_CENTER) / float(scale)) * np.array([w, h])
    return estimate_similarity(kp, dst)


def box_transform(box: Any, size: Any, scale: float = 1.0) -> np.ndarray:
    """Affine (2x3) placing a face box where :func:`keypoint_transform` would put such a face
    (no rotation). Used when no keypoints are available."""
    h, w = _check_size(size)
    bx, by, bw, bh = (float(v) for v in box)
    if not (bw > 0 and bh > 0) or not np.isfinite([bx, by, bw, bh]).all():
        raise ValueError(f"box: expected finite (x, y, w, h) with w, h > 0, got {box!r}")
    side = max(bw, bh)
    k = BOX_IN_CROP["side"] * np.array([w, h]) / float(scale) / side  # crop px per frame px
    cx, cy = bx + bw / 2, by + bh / 2
    tx = (TEMPLATE_CENTER[0] + (BOX_IN_CROP["cx"] - TEMPLATE_CENTER[0]) / scale) * w - k[0] * cx
    ty = (TEMPLATE_CENTER[1] + (BOX_IN_CROP["cy"] - TEMPLATE_CENTER[1]) / scale) * h - k[1] * cy
    return np.array([[k[0], 0.0, tx], [0.0, k[1], ty]])


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine (crop -> frame)."""
    a = np.vstack([np.asarray(m, dtype=np.float64), [0, 0, 1]])
    return np.linalg.inv(a)[:2]


def _measure_box_in_crop() -> dict[str, float]:  # pragma: no cover - a maintenance tool
    import csv
    import os

    import cv2

    from fastlive.detect import FaceDetector

    data = os.environ.get("FASTLIVE_DATA_DIR", "../shared/data")
    det = FaceDetector()
    with open(os.path.join(data, "manifest.csv"), newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["source"] == "nuaa" and r["label"] == "live"][::5]
    cxs, cys, sides = [], [], []
    for r in rows:
        img = cv2.imread(os.path.join(data, r["path"]))
        faces = det.detect(img) if img is not None else []
        f = faces[0] if faces else None
        if f is None or f.keypoints is None:
            continue
        m = keypoint_transform(f.keypoints, 1000)
        x, y, bw, bh = f.box
        pts = np.array([[x, y, 1], [x + bw, y + bh, 1]]) @ m.T
        c = pts.mean(0) / 1000
        cxs.append(c[0])
        cys.append(c[1])
        sides.append(max(bw, bh) * np.hypot(m[0, 0], m[0, 1]) / 1000)
    return {"cx": float(np.median(cxs)), "cy": float(np.median(cys)),
            "side": float(np.median(sides)), "n": len(sides)}


if __name__ == "__main__":  # pragma: no cover
    print(_measure_box_in_crop())
