"""Overlay renderer: frame + FrameResult -> annotated copy (a pure function, cv2 drawing).

    >>> annotated = draw_overlay(frame, result, fps=30.0, latency_ms=8.2)   # doctest: +SKIP

Per face: a box coloured by decision (LIVE green, SPOOF red, UNCERTAIN amber), a label with the
decision, score and track id, a panel of per-cue bars (CNN, texture, reflection, motion, each in
[0, 1]; "n/a" when a cue is missing), the blink count and eye aspect ratio, and the quality
warnings / uncertainty reason under the box. A heads-up line at the top left shows FPS, latency
and the number of faces.

``result`` may be a ``fastlive.FrameResult``, any object with the same attribute names, or its
``to_dict()`` form; the input frame is never modified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from fastlive.frames import as_bgr

# BGR colours
COLORS = {
    "LIVE": (60, 200, 40),
    "SPOOF": (40, 40, 230),
    "UNCERTAIN": (0, 190, 255),
}
DEFAULT_COLOR = (200, 200, 200)
WARN_COLOR = (0, 230, 255)
BAR_BG = (60, 60, 60)
TEXT_COLOR = (255, 255, 255)
CUE_ROWS = (("cnn", "CNN"), ("texture", "TEX"), ("reflection", "REF"), ("motion", "MOT"))
BAR_W, BAR_H = 64, 8


def _cv2() -> Any:
    import cv2

    return cv2


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Mapping):  # a cue given as {"score": ..} / {"value": ..}
        for k in ("score", "value", "p", "prob", "ratio"):
            if k in v:
                return _num(v[k])
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def bar_color(value: float) -> tuple[int, int, int]:
    """Red (0) -> amber (0.5) -> green (1), BGR."""
    v = min(max(value, 0.0), 1.0)
    if v < 0.5:
        return (0, int(80 + 220 * v), 230)
    return (int(80 * (v - 0.5) * 2), 190 + int(20 * (v - 0.5) * 2), int(230 * (1 - v) * 2))


def quality_warnings(face: Any) -> list[str]:
    """Human-readable warnings for one face: quality problems and the uncertainty reason."""
    out: list[str] = []
    q = _get(face, "quality")
    if q is not None:
        warns = _get(q, "warnings")
        if warns:
            out.extend(str(w) for w in warns)
        elif isinstance(q, Mapping):
            for k, v in q.items():
                if isinstance(v, str) and v.lower() not in ("ok", "good", ""):
                    out.append(f"{k}: {v}")
                elif v is False:
                    out.append(f"{k}: poor")
    reason = _get(face, "reason")
    if reason and str(reason) not in out:
        out.append(str(reason))
    return out


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float,
          color: tuple[int, int, int], thick: int = 1) -> None:
    cv2 = _cv2()
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def _draw_face(img: np.ndarray, face: Any, scale: float) -> None:
    cv2 = _cv2()
    h, w = img.shape[:2]
    box = _get(face, "box")
    if box is None or len(box) != 4:
        return
    vals = [_num(v) for v in box]
    if any(v is None for v in vals):
        return
    x, y, bw, bh = (int(round(v)) for v in vals)  # type: ignore[arg-type]
    decision = str(_get(face, "decision", "") or "").upper()
    color = COLORS.get(decision, DEFAULT_COLOR)
    thick = max(2, int(round(min(h, w) / 240)))
    cv2.rectangle(img, (x, y), (x + bw, y + bh), color, thick, cv2.LINE_AA)

    # label: "LIVE 0.93 #1"
    score = _num(_get(face, "score"))
    parts = [decision or "?", f"{score:.2f}" if score is not None else "n/a"]
    tid = _get(face, "track_id")
    if tid is not None:
        parts.append(f"#{tid}")
    label = " ".join(parts)
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    ly = y - thick - 2 if y - th - base - thick - 2 > 0 else y + bh + th + base + thick + 2
    lx = min(max(x, 0), max(w - tw - 4, 0))
    cv2.rectangle(img, (lx, ly - th - base), (lx + tw + 4, ly + base - 1), color, -1)
    cv2.putText(img, label, (lx + 2, ly - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                cv2.LINE_AA)

    # cue panel beside the box (right if it fits, else left)
    cues = _get(face, "cues") or {}
    row_h = max(int(16 * scale / 0.5), 14)
    name_w = int(34 * scale / 0.5)
    panel_w = name_w + BAR_W + 8
    px = x + bw + 6 if x + bw + 6 + panel_w <= w else max(x - panel_w - 6, 0)
    py = max(y, 0)
    for key, short in CUE_ROWS:
        v = _num(_get(cues, key))
        _text(img, short, (px, py + row_h - 4), scale * 0.8, TEXT_COLOR)
        bx, by = px + name_w, py + (row_h - BAR_H) // 2
        cv2.rectangle(img, (bx, by), (bx + BAR_W - 1, by + BAR_H - 1), BAR_BG, -1)
        if v is None:
            _text(img, "n/a", (bx + 4, py + row_h - 4), scale * 0.7, TEXT_COLOR)
        else:
            fill = int(round(BAR_W * min(max(v, 0.0), 1.0)))
            if fill > 0:
                cv2.rectangle(img, (bx, by), (bx + fill - 1, by + BAR_H - 1), bar_color(v), -1)
        py += row_h
    blinks = _get(face, "blink_count")
    ear = _num(_get(face, "ear"))
    eye_txt = f"blinks {int(blinks)}" if blinks is not None else "blinks n/a"
    if ear is not None:
        eye_txt += f"  EAR {ear:.2f}"
    _text(img, eye_txt, (px, py + row_h - 4), scale * 0.8, TEXT_COLOR)

    # warnings under the box
    wy = y + bh + thick + row_h
    if ly > y + bh:  # the label went below the box
        wy += th + base + 4
    for warn in quality_warnings(face)[:4]:
        _text(img, warn, (max(x, 0), wy), scale * 0.8, WARN_COLOR)
        wy += row_h


def draw_overlay(frame: np.ndarray, result: Any, *, fps: float | None = None,
                 latency_ms: float | None = None, color: str = "bgr") -> np.ndarray:
    """Return an annotated BGR copy of ``frame`` for ``result`` (a FrameResult or its dict).

    ``fps`` / ``latency_ms`` are shown in the heads-up line when given (latency defaults to the
    result's total timing when it has one).
    """
    img = as_bgr(frame, "frame", color).copy()
    cv2 = _cv2()
    h, w = img.shape[:2]
    scale = max(0.35, min(1.2, min(h, w) / 960))
    faces = _get(result, "faces")
    if result is not None and faces is None:
        raise TypeError(f"result: expected a FrameResult (or its to_dict()) with .faces, got "
                        f"{type(result).__name__}")
    faces = list(faces or [])
    for face in faces:
        _draw_face(img, face, scale)

    if latency_ms is None:
        timings = _get(result, "timings") or {}
        latency_ms = _num(_get(timings, "total")) or _num(_get(result, "latency_ms"))
    hud = [f"faces {len(faces)}"]
    if fps is not None and _num(fps) is not None:
        hud.insert(0, f"FPS {float(fps):.1f}")
    if latency_ms is not None:
        hud.append(f"{float(latency_ms):.1f} ms")
    line = "  ".join(hud)
    (tw, th), base = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x1, y1 = min(tw + 12, w), min(th + base + 10, h)
    roi = img[0:y1, 0:x1]
    roi[:] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken behind the text
    cv2.putText(img, line, (6, th + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_COLOR, 1,
                cv2.LINE_AA)
    return img
