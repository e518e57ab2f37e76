"""Pretrained MiniFASNet liveness networks (Minivision's Silent-Face-Anti-Spoofing, Apache-2.0).

Each network takes a square-ish crop of the face box scaled about its centre (``scale``), with
the upstream project's conventions, which these functions reproduce exactly:

* the scale is capped so that the scaled box fits inside the frame, the box is shifted inside
  the frame where it would leave it, and its integer corners are cut out (both ends included);
* the cut-out is resized to the network's input (``cv2.resize``, bilinear) and fed as
  BGR float32 0..255, no normalisation, NCHW;
* fastlive's one addition: "the frame" is the picture inside it (:func:`picture_area`), without
  the uniform bars of a letterboxed or pillarboxed view, which the networks take for the edge
  of a screen (a pillarboxed live portrait video: P(live) 0.997 -> 0.01 with black bars);
* the output is three logits (0: 2-D attack, 1: live, 2: 3-D attack); P(live) = softmax[1].

:func:`live_logit` turns the three logits into one number, log(P(live) / P(attack)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["NetSpec", "crop_box", "crop", "live_logit", "picture_area"]


@dataclass(frozen=True)
class NetSpec:
    """One network's input convention."""

    name: str  # registry / manifest name
    scale: float  # crop side = box side x scale (capped to fit the frame)
    size: int  # square input side, pixels


def crop_box(frame_w: int, frame_h: int, box: Sequence[float], scale: float
             ) -> tuple[int, int, int, int]:
    """Integer corners (x0, y0, x1, y1), both included, of the upstream crop of ``box``
    (x, y, w, h) scaled by ``scale`` about its centre in a ``frame_w`` x ``frame_h`` frame."""
    x, y, bw, bh = (float(v) for v in box)
    bw, bh = max(bw, 1.0), max(bh, 1.0)
    s = min((frame_h - 1) / bh, (frame_w - 1) / bw, float(scale))
    nw, nh = bw * s, bh * s
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0, x1, y1 = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if x0 < 0:
        x1 -= x0
        x0 = 0
    if y0 < 0:
        y1 -= y0
        y0 = 0
    if x1 > frame_w - 1:
        x0 -= x1 - frame_w + 1
        x1 = frame_w - 1
    if y1 > frame_h - 1:
        y0 -= y1 - frame_h + 1
        y1 = frame_h - 1
    return int(x0), int(y0), int(x1), int(y1)


# picture_area: a bar line's channels vary by at most BAR_TOL (JPEG leaves a few levels of
# noise on flat bars) and match the edge line's colour within BAR_TOL; a bar is BAR_MIN_PX or
# wider, the two bars of an axis differ in width by at most max(BAR_SKEW_PX, BAR_SKEW_FRAC x
# the side) (a centred letterbox; JPEG ringing eats a few lines next to the picture), and the
# picture keeps at least BAR_MIN_PICTURE of the side.
BAR_TOL = 10
BAR_MIN_PX = 4
BAR_SKEW_PX, BAR_SKEW_FRAC = 8, 0.02
BAR_MIN_PICTURE = 0.25


def _bar_width(rng: np.ndarray, mean: np.ndarray) -> int:
    """How many lines from index 0 are uniform (``rng``: each line's largest channel range)
    and of line 0's colour (``mean``: each line's mean colour)."""
    ok = (rng <= BAR_TOL) & (np.abs(mean - mean[0]).max(axis=1) <= BAR_TOL)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else len(ok)


def _bars(f: np.ndarray, axis: int) -> tuple[int, int]:
    """Widths of the two bars of ``f`` (H x W x C) along ``axis`` (1: left/right columns,
    0: top/bottom rows), (0, 0) where the frame has no such pair of bars."""
    n = f.shape[axis]
    for edge in ((f[:, 0], f[:, -1]) if axis == 1 else (f[0], f[-1])):
        # the common case, a picture to the edge, ends here: every 8th pixel of a line first
        if (int(np.ptp(edge[::8], axis=0).max()) > BAR_TOL
                or int(np.ptp(edge, axis=0).max()) > BAR_TOL):
            return 0, 0
    across = 0 if axis == 1 else 1
    rng = (f.max(axis=across).astype(np.int16) - f.min(axis=across)).max(axis=-1)
    mean = f.mean(axis=across)
    half = n // 2
    a = _bar_width(rng[:half], mean[:half])
    b = _bar_width(rng[::-1][:half], mean[::-1][:half])
    if (min(a, b) < BAR_MIN_PX or abs(a - b) > max(BAR_SKEW_PX, BAR_SKEW_FRAC * n)
            or np.abs(mean[0] - mean[-1]).max() > BAR_TOL
            or n - a - b < BAR_MIN_PICTURE * n):
        return 0, 0
    return a, b


def picture_area(frame_bgr: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), ends excluded: the picture inside ``frame_bgr`` without the uniform
    bars of a letterbox or pillarbox (both bars of an axis, of one colour and about the same
    width: a view fitted into a frame of another shape). The whole frame where there are none:
    a camera's own picture never has rows or columns of one exact colour at both edges, and a
    screen or print held up to a camera sits inside the camera's picture, so its bezel is not
    cut. About 10 us on a 640x480 frame without bars."""
    h, w = frame_bgr.shape[:2]
    f = frame_bgr if frame_bgr.ndim == 3 else frame_bgr[..., None]
    left, right = _bars(f, 1)
    x0, x1 = left, w - right
    top, bottom = _bars(f[:, x0:x1], 0)
    return x0, top, x1, h - bottom


def crop(frame_bgr: np.ndarray, box: Sequence[float], spec: NetSpec,
         area: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The network's input crop (size x size x 3 uint8 BGR) of the face ``box`` in
    ``frame_bgr``, cut from the picture ``area`` (default :func:`picture_area`; pass it when
    cropping several faces or networks of one frame)."""
    import cv2

    ax0, ay0, ax1, ay1 = picture_area(frame_bgr) if area is None else area
    if (ax0, ay0, ax1, ay1) != (0, 0, frame_bgr.shape[1], frame_bgr.shape[0]):
        frame_bgr = frame_bgr[ay0:ay1, ax0:ax1]
        bx, by, bw, bh = (float(v) for v in box)
        box = (bx - ax0, by - ay0, bw, bh)
    h, w = frame_bgr.shape[:2]
    x0, y0, x1, y1 = crop_box(w, h, box, spec.scale)
    x0, y0 = max(x0, 0), max(y0, 0)
    roi = frame_bgr[y0:y1 + 1, x0:x1 + 1]
    if roi.size == 0:
        roi = frame_bgr
    out: np.ndarray = cv2.resize(roi, (spec.size, spec.size), interpolation=cv2.INTER_LINEAR)
    return out


def live_logit(logits: npt.ArrayLike) -> float:
    """log(P(live) / P(attack)) of one three-class output (softmax over the three logits)."""
    z = np.asarray(logits, np.float64).reshape(-1)
    if z.shape != (3,):
        raise ValueError(f"logits: expected 3 values, got shape {z.shape}")
    attack = max(z[0], z[2]) + math.log(math.exp(z[0] - max(z[0], z[2]))
                                        + math.exp(z[2] - max(z[0], z[2])))
    return float(z[1] - attack)
