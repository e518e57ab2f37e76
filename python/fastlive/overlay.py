"""Overlay renderer: frame + FrameResult -> annotated copy (a pure function, cv2 drawing).

    >>> annotated = draw_overlay(frame, result, fps=30.0, latency_ms=8.2,
    ...                          threshold=0.46)                           # doctest: +SKIP

Per face: a box coloured by decision (LIVE green, SPOOF red, UNCERTAIN amber), a label with the
decision, score and track id, a panel of bars with their values (SCR: the score, with the
decision threshold marked; PAS: the frame's passive P(live), WIN: the stream's window score,
reflection, motion, each in [0, 1]; "n/a" when a cue is missing), the blink count and eye
aspect ratio, and the quality warnings / uncertainty reason under the box. A heads-up line at
the top left shows FPS, latency and the number of faces.

Layout rules (:func:`layout_faces`): every label lies inside the canvas (above the box, else
below it, else inside its top edge; shrunk to fit a small canvas); panels never overlap each
other, a label or the heads-up line (beside the box, else below or above it, else in the first
free place; a face gets no panel when there is no room at all). ``fit=(w, h)`` scales the frame
down to fit (a window on a smaller screen) and draws at that size.

``result`` may be a ``fastlive.FrameResult``, any object with the same attribute names, or its
``to_dict()`` form; the input frame is never modified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
THRESHOLD_COLOR = (255, 255, 255)
# PAS: this frame's fused passive P(live) (or the latest); WIN: the stream's window score
CUE_ROWS = (("passive", "PAS"), ("smoothed", "WIN"), ("reflection", "REF"), ("motion", "MOT"))
BAR_W, BAR_H = 64, 8  # bar size at the scale of a 480-line frame
FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX
MIN_SCALE = 0.3

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


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


# -- layout ------------------------------------------------------------------------------------
def overlaps(a: Rect, b: Rect) -> bool:
    """True when rectangles ``a`` and ``b`` share at least one pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(r: Rect, w: int, h: int) -> bool:
    return 0 <= r[0] < r[2] <= w and 0 <= r[1] < r[3] <= h


def _text_size(s: str, scale: float) -> tuple[int, int, int]:
    (tw, th), base = _cv2().getTextSize(s, FONT, scale, 1)
    return int(tw), int(th), int(base)


@dataclass
class PanelSpec:
    """Sizes of one cue panel at a text scale."""

    scale: float
    row_h: int
    name_w: int
    bar_w: int
    bar_h: int
    value_w: int
    width: int
    height: int

    @classmethod
    def at(cls, scale: float, eye_text: str) -> PanelSpec:
        ts = scale * 0.8
        row_h = max(int(round(16 * scale / 0.5)), 11)
        name_w = _text_size("TEX", ts)[0] + 6
        bar_w = max(int(round(BAR_W * scale / 0.5)), 24)
        bar_h = max(int(round(BAR_H * scale / 0.5)), 4)
        value_w = _text_size("0.00", ts)[0] + 6
        width = max(name_w + bar_w + value_w + 4, _text_size(eye_text, ts)[0] + 6) + 6
        height = row_h * (len(CUE_ROWS) + 2) + 6
        return cls(scale, row_h, name_w, bar_w, bar_h, value_w, width, height)


@dataclass
class FaceLayout:
    """Where one face's overlay goes (canvas pixels)."""

    face: Any
    box: Rect | None  # the face box in canvas coordinates (may extend past the canvas)
    color: tuple[int, int, int]
    label_text: str
    label: Rect | None = None
    label_scale: float = 0.5
    panel: Rect | None = None
    panel_spec: PanelSpec | None = None
    eye_text: str = ""
    warnings: list[tuple[str, int, int]] = field(default_factory=list)  # text, x, baseline


def _face_box(face: Any, box_scale: float) -> Rect | None:
    box = _get(face, "box")
    if box is None or len(box) != 4:
        return None
    vals = [_num(v) for v in box]
    if any(v is None for v in vals):
        return None
    x, y, bw, bh = (float(v) * box_scale for v in vals)  # type: ignore[arg-type]
    return (int(round(x)), int(round(y)), int(round(x + bw)), int(round(y + bh)))


def _label_texts(face: Any) -> list[str]:
    """The label ("LIVE 0.93 #1"), then shorter forms for a small canvas."""
    decision = str(_get(face, "decision", "") or "").upper() or "?"
    score = _num(_get(face, "score"))
    sc = f"{score:.2f}" if score is not None else "n/a"
    tid = _get(face, "track_id")
    full = f"{decision} {sc}" + (f" #{tid}" if tid is not None else "")
    return list(dict.fromkeys([full, f"{decision} {sc}", f"{decision[:4]} {sc}", sc]))


def _eye_text(face: Any) -> str:
    blinks = _get(face, "blink_count")
    ear = _num(_get(face, "ear"))
    s = f"blinks {int(blinks)}" if blinks is not None else "blinks n/a"
    if ear is not None:
        s += f"  EAR {ear:.2f}"
    return s


def _closest(a: Rect, b: Rect) -> tuple[int, int]:
    """The point of rectangle ``a`` nearest to the centre of ``b``."""
    cx, cy = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2
    return min(max(cx, a[0]), a[2] - 1), min(max(cy, a[1]), a[3] - 1)


def _clamp(x: int, y: int, pw: int, ph: int, w: int, h: int) -> Rect:
    x = min(max(x, 0), max(w - pw, 0))
    y = min(max(y, 0), max(h - ph, 0))
    return (x, y, x + pw, y + ph)


def _free(r: Rect, obstacles: Sequence[Rect]) -> bool:
    return not any(overlaps(r, o) for o in obstacles)


def _label_fit(texts: Sequence[str], scale: float, w: int, h: int
               ) -> tuple[str, float, int, int] | None:
    """The first of ``texts`` (longest first) that fits the canvas at ``scale`` or smaller:
    (text, scale, width, height)."""
    for text in texts:
        s = scale
        while True:
            tw, th, base = _text_size(text, s)
            lw, lh = tw + 4, th + base + 2
            if lw <= w and lh <= h:
                return text, s, lw, lh
            if s <= MIN_SCALE:
                break
            s = max(MIN_SCALE, s * 0.85)
    return None


def _label_rect(box: Rect, texts: Sequence[str], scale: float, thick: int, w: int, h: int,
                hard: Sequence[Rect], soft: Sequence[Rect]
                ) -> tuple[Rect | None, str, float]:
    fitted = _label_fit(texts, scale, w, h)
    if fitted is None:
        return None, texts[0], scale  # a canvas too small for any text
    text, s, lw, lh = fitted
    x0, y0, x1, y1 = box
    cands = [(x0, y0 - thick - lh), (x0, y1 + thick), (x0 + thick, y0 + thick)]
    rects = [_clamp(x, y, lw, lh, w, h) for x, y in cands]
    for obstacles in (list(hard) + list(soft), hard):
        for r in rects:
            if _free(r, obstacles):
                return r, text, s
    return rects[0], text, s


def _gap(a: Rect, b: Rect) -> int:
    """Pixels between two rectangles (0 when they touch or overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2], 0)
    dy = max(a[1] - b[3], b[1] - a[3], 0)
    return max(dx, dy)


def _nearest_free(pw: int, ph: int, w: int, h: int, near: Rect,
                  obstacles: Sequence[Rect]) -> Rect | None:
    """The free place on a grid nearest to ``near``."""
    if pw > w or ph > h:
        return None
    sx, sy = max(pw // 4, 4), max(ph // 4, 4)
    xs = np.array(sorted(set(range(0, w - pw + 1, sx)) | {w - pw}))
    ys = np.array(sorted(set(range(0, h - ph + 1, sy)) | {h - ph}))
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    free = np.ones(gx.shape, bool)
    for o in obstacles:  # the same test as overlaps(), for every grid place at once
        free &= ~((gx < o[2]) & (o[0] < gx + pw) & (gy < o[3]) & (o[1] < gy + ph))
    if not free.any():
        return None
    dx = np.maximum(np.maximum(gx - near[2], near[0] - (gx + pw)), 0)
    dy = np.maximum(np.maximum(gy - near[3], near[1] - (gy + ph)), 0)
    d = np.where(free, np.maximum(dx, dy), np.iinfo(np.int64).max)
    i = int(np.argmin(d))
    return (int(gx[i]), int(gy[i]), int(gx[i]) + pw, int(gy[i]) + ph)


def layout_faces(faces: Sequence[Any], w: int, h: int, *, scale: float | None = None,
                 box_scale: float = 1.0, hud: Rect | None = None) -> list[FaceLayout]:
    """Place every face's label, panel and warnings on a ``w`` x ``h`` canvas (see the module
    docstring for the rules). ``box_scale`` maps result coordinates to canvas pixels."""
    if scale is None:
        scale = default_scale(w, h)
    thick = max(2, int(round(min(h, w) / 240)))
    out: list[FaceLayout] = []
    for f in faces:
        decision = str(_get(f, "decision", "") or "").upper()
        out.append(FaceLayout(f, _face_box(f, box_scale), COLORS.get(decision, DEFAULT_COLOR),
                              _label_texts(f)[0], eye_text=_eye_text(f)))
    boxes = [fl.box for fl in out if fl.box is not None]
    hud_rects = [hud] if hud is not None else []
    labels: list[Rect] = []
    for fl in out:
        if fl.box is None:
            continue
        others = [b for b in boxes if b is not fl.box]
        fl.label, fl.label_text, fl.label_scale = _label_rect(
            fl.box, _label_texts(fl.face), scale, thick, w, h, labels, hud_rects + others)
        if fl.label is not None:
            labels.append(fl.label)
    panels: list[Rect] = []
    for fl in out:
        if fl.box is None:
            continue
        spec = None
        s = scale
        while s >= MIN_SCALE:
            spec = PanelSpec.at(s, fl.eye_text)
            if spec.width <= w and spec.height <= h:
                break
            spec = None
            s *= 0.85
        if spec is None:
            continue
        pw, ph = spec.width, spec.height
        x0, y0, x1, y1 = fl.box
        below = y1 + 6
        if fl.label is not None and fl.label[1] >= y1:
            below = fl.label[3] + 2
        ys = (y0, y1 - ph, (y0 + y1 - ph) // 2, hud_rects[0][3] if hud_rects else 0)
        cands = ([(x1 + 6, y) for y in ys] + [(x0 - pw - 6, y) for y in ys]
                 + [(x0, below), (x1 - pw, below), (x0, y0 - ph - 6), (x1 - pw, y0 - ph - 6)])
        rects = [_clamp(x, y, pw, ph, w, h) for x, y in cands]
        hard = labels + panels + hud_rects
        r = None
        for obstacles in (hard + boxes, hard):  # keep off the faces if at all possible
            r = next((c for c in rects if _free(c, obstacles)), None)
            if r is None:
                r = _nearest_free(pw, ph, w, h, fl.box, obstacles)
            if r is not None:
                break
        if r is not None:
            fl.panel, fl.panel_spec = r, spec
            panels.append(r)
    taken = labels + panels + hud_rects
    for fl in out:
        if fl.box is None:
            continue
        ws = fl.label_scale * 0.8
        x0, _y0, _x1, y1 = fl.box
        y = y1 + thick + 2
        if fl.label is not None and fl.label[1] >= y1:
            y = fl.label[3] + 2
        for warn in quality_warnings(fl.face)[:4]:
            tw, th, base = _text_size(warn, ws)
            x = min(max(x0, 0), max(w - tw, 0))
            r = (x, y, x + tw, y + th + base)
            if inside(r, w, h) and _free(r, taken):
                fl.warnings.append((warn, x, y + th))
                taken.append(r)
            y += th + base + 4
    return out


def default_scale(w: int, h: int) -> float:
    """Text scale for a canvas: 0.5 at 480 lines, within [0.35, 1.2]."""
    return max(0.35, min(1.2, min(h, w) / 960))


# -- drawing -----------------------------------------------------------------------------------
def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float,
          color: tuple[int, int, int], thick: int = 1) -> None:
    cv2 = _cv2()
    cv2.putText(img, s, org, FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, s, org, FONT, scale, color, thick, cv2.LINE_AA)


def _darken(img: np.ndarray, r: Rect) -> None:
    roi = img[r[1]:r[3], r[0]:r[2]]
    roi[:] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)


def _draw_panel(img: np.ndarray, fl: FaceLayout, threshold: float | None) -> None:
    cv2 = _cv2()
    assert fl.panel is not None and fl.panel_spec is not None
    sp = fl.panel_spec
    ts = sp.scale * 0.8
    _darken(img, fl.panel)
    px, py = fl.panel[0] + 4, fl.panel[1] + 3
    cues = _get(fl.face, "cues") or {}
    rows = [("score", "SCR", _num(_get(fl.face, "score")), threshold)]
    rows += [(k, short, _num(_get(cues, k)), None) for k, short in CUE_ROWS]
    for _key, short, v, thr in rows:
        base_y = py + sp.row_h - 3
        _text(img, short, (px, base_y), ts, TEXT_COLOR)
        bx, by = px + sp.name_w, py + (sp.row_h - sp.bar_h) // 2
        cv2.rectangle(img, (bx, by), (bx + sp.bar_w - 1, by + sp.bar_h - 1), BAR_BG, -1)
        if v is not None:
            fill = int(round(sp.bar_w * min(max(v, 0.0), 1.0)))
            if fill > 0:
                cv2.rectangle(img, (bx, by), (bx + fill - 1, by + sp.bar_h - 1), bar_color(v),
                              -1)
        if thr is not None and math.isfinite(thr):
            tx = bx + int(round(min(max(thr, 0.0), 1.0) * (sp.bar_w - 1)))
            cv2.line(img, (tx, by - 2), (tx, by + sp.bar_h + 1), THRESHOLD_COLOR, 1)
        _text(img, f"{v:.2f}" if v is not None else "n/a", (bx + sp.bar_w + 4, base_y), ts,
              TEXT_COLOR)
        py += sp.row_h
    _text(img, fl.eye_text, (px, py + sp.row_h - 3), ts, TEXT_COLOR)


@dataclass
class OverlayPlan:
    """What :func:`draw_overlay` draws where: the canvas size, the scale from result
    coordinates to canvas pixels, the heads-up line and its rectangle, and each face's
    :class:`FaceLayout`."""

    size: tuple[int, int]  # canvas (w, h)
    box_scale: float
    hud_line: str
    hud: Rect
    faces: list[FaceLayout]


def _fit_size(w: int, h: int, fit: Any) -> tuple[int, int]:
    if fit is None:
        return w, h
    if (not isinstance(fit, (tuple, list)) or len(fit) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                   for v in fit)):
        raise ValueError(f"fit: expected (max_width, max_height) in pixels, got {fit!r}")
    s = min(fit[0] / w, fit[1] / h)
    if s >= 1.0:
        return w, h
    return max(1, int(round(w * s))), max(1, int(round(h * s)))


def plan_overlay(frame_size: tuple[int, int], result: Any, *, fps: float | None = None,
                 latency_ms: float | None = None,
                 fit: tuple[int, int] | None = None) -> OverlayPlan:
    """The layout :func:`draw_overlay` uses for a frame of ``frame_size`` = (w, h)."""
    faces = _get(result, "faces")
    if result is not None and faces is None:
        raise TypeError(f"result: expected a FrameResult (or its to_dict()) with .faces, got "
                        f"{type(result).__name__}")
    w0, h0 = frame_size
    w, h = _fit_size(w0, h0, fit)
    scale = default_scale(w, h)
    faces = list(faces or [])
    if latency_ms is None:
        timings = _get(result, "timings") or {}
        latency_ms = _num(_get(timings, "total")) or _num(_get(result, "latency_ms"))
    hud = [f"faces {len(faces)}"]
    if fps is not None and _num(fps) is not None:
        hud.insert(0, f"FPS {float(fps):.1f}")
    if latency_ms is not None:
        hud.append(f"{float(latency_ms):.1f} ms")
    line = "  ".join(hud)
    tw, th, base = _text_size(line, scale)
    hud_rect = (0, 0, min(tw + 12, w), min(th + base + 10, h))
    box_scale = w / w0
    lay = layout_faces(faces, w, h, scale=scale, box_scale=box_scale, hud=hud_rect)
    return OverlayPlan((w, h), box_scale, line, hud_rect, lay)


def draw_overlay(frame: np.ndarray, result: Any, *, fps: float | None = None,
                 latency_ms: float | None = None, color: str = "bgr",
                 threshold: float | None = None,
                 fit: tuple[int, int] | None = None) -> np.ndarray:
    """Return an annotated BGR copy of ``frame`` for ``result`` (a FrameResult or its dict).

    ``fps`` / ``latency_ms`` are shown in the heads-up line when given (latency defaults to the
    result's total timing when it has one). ``threshold``: the decision threshold, marked on
    each face's score bar. ``fit=(max_w, max_h)``: a frame larger than that is scaled down to
    fit (aspect ratio kept) and annotated at that size. :func:`plan_overlay` tells where
    everything goes.
    """
    img: np.ndarray = as_bgr(frame, "frame", color).copy()
    cv2 = _cv2()
    if threshold is not None and _num(threshold) is None:
        raise ValueError(f"threshold: expected a finite number or None, got {threshold!r}")
    h0, w0 = img.shape[:2]
    plan = plan_overlay((w0, h0), result, fps=fps, latency_ms=latency_ms, fit=fit)
    if plan.size != (w0, h0):
        img = cv2.resize(img, plan.size, interpolation=cv2.INTER_AREA)
    w, h = plan.size
    thick = max(2, int(round(min(h, w) / 240)))
    for fl in plan.faces:
        if fl.box is not None:
            x0, y0, x1, y1 = fl.box
            cv2.rectangle(img, (x0, y0), (x1, y1), fl.color, thick, cv2.LINE_AA)
    thr = _num(threshold)
    for fl in plan.faces:
        if fl.panel is not None:
            _draw_panel(img, fl, thr)
            if fl.box is not None and _gap(fl.panel, fl.box) > 8:  # a panel away from its face
                cv2.line(img, _closest(fl.panel, fl.box), _closest(fl.box, fl.panel), fl.color,
                         1, cv2.LINE_AA)
    scale = default_scale(w, h)
    _darken(img, plan.hud)
    th = _text_size(plan.hud_line, scale)[1]
    cv2.putText(img, plan.hud_line, (6, th + 5), FONT, scale, TEXT_COLOR, 1, cv2.LINE_AA)
    for fl in plan.faces:  # labels last: never hidden
        if fl.label is not None:
            lx0, ly0, lx1, ly1 = fl.label
            cv2.rectangle(img, (lx0, ly0), (lx1 - 1, ly1 - 1), fl.color, -1)
            lth = _text_size(fl.label_text, fl.label_scale)[1]
            cv2.putText(img, fl.label_text, (lx0 + 2, ly0 + 1 + lth), FONT, fl.label_scale,
                        (0, 0, 0), 1, cv2.LINE_AA)
        for warn, x, y in fl.warnings:
            _text(img, warn, (x, y), fl.label_scale * 0.8, WARN_COLOR)
    return img
