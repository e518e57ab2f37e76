"""ZJU Eyeblink annotations and blink-event scoring; ``python -m fastlive.evaluate.blinks_zju
DATA_DIR``.

The ZJU ``.tag`` files (blinkmatters v1.1) hold one row per annotated frame:
``frame:blinkID:NF:LE_FC:LE_NV:RE_FC:RE_NV:F_X:F_Y:F_W:F_H:...``; blinkID -1 means no blink,
each distinct blinkID >= 0 is one blink (its frames are the blink event).

Time alignment (measured, not assumed): the videos decode to a few more frames than are
annotated (e.g. 147 decoded vs 136 annotated) and the annotation spans the whole clip, so
annotation frame k sits at ``(k - first) * duration / n_annotated`` seconds of video time
(``duration = CAP_PROP_FRAME_COUNT / CAP_PROP_FPS``). Against the EAR minimum of each annotated
blink this mapping has a median offset of 0 s; "annotation k = decoded frame k - 1" drifts to
+0.17 s (5 frames) by the end of a clip. The Indeo AVI clips decode with dropped frames, so each
decoded frame is timestamped with its video position (``CAP_PROP_POS_MSEC``), never its index.

Scoring runs the real pipeline (``LivenessDetector`` with one ``Session`` per clip, passive
models off) and matches the session's blink events to the annotated ones.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TAG_FIELDS = ("frame", "blink_id", "nf", "le_fc", "le_nv", "re_fc", "re_nv")


def read_tag(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a ZJU ``.tag`` file: dicts with ``frame`` (int), ``blink_id`` (int, -1 = none),
    ``le_fc``/``re_fc`` ("C" closed, "X" not) and the raw ``fields``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: {p} is not a file")
    rows = []
    started = False
    with open(p, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if line.startswith("#start"):
                started = True
                continue
            if line.startswith("#end"):
                break
            if not started or not line or line.startswith("#"):
                continue
            f = line.split(":")
            if len(f) < 7:
                raise ValueError(f"path: {p} line {n}: expected >= 7 ':'-separated fields, "
                                 f"got {len(f)}")
            try:
                frame, bid = int(f[0]), int(f[1])
            except ValueError:
                raise ValueError(f"path: {p} line {n}: frame and blinkID must be integers, "
                                 f"got {f[0]!r}, {f[1]!r}") from None
            rows.append({"frame": frame, "blink_id": bid, "le_fc": f[3], "re_fc": f[5],
                         "fields": f})
    if not rows:
        raise ValueError(f"path: {p} holds no annotation rows (is it a ZJU .tag file?)")
    return rows


def truth_events(path_or_rows: Any) -> list[tuple[int, int]]:
    """Annotated blinks as (start_frame, end_frame) (inclusive, annotation frame numbers),
    sorted by start."""
    rows = read_tag(path_or_rows) if isinstance(path_or_rows, (str, os.PathLike)) \
        else list(path_or_rows)
    spans: dict[int, list[int]] = {}
    for r in rows:
        if r["blink_id"] >= 0:
            s = spans.setdefault(r["blink_id"], [r["frame"], r["frame"]])
            s[0] = min(s[0], r["frame"])
            s[1] = max(s[1], r["frame"])
    return sorted((a, b) for a, b in spans.values())


def match_events(pred: Any, truth: Any, tolerance_frames: float = 3.0) -> dict[str, Any]:
    """One-to-one matching of predicted and annotated events, each (start, end) in the same
    unit (annotation frames by default). A pair matches when the intervals, each widened by
    ``tolerance_frames`` on both sides, overlap; pairs are taken greedily by overlap.
    Returns tp, fp, fn, precision, recall, f1 and the unmatched events."""
    p = [(float(a), float(b)) for a, b in pred]
    t = [(float(a), float(b)) for a, b in truth]
    if not float(tolerance_frames) >= 0:
        raise ValueError(f"tolerance_frames: expected >= 0, got {tolerance_frames}")
    tol = float(tolerance_frames)
    cands = []
    for i, (pa, pb) in enumerate(p):
        for j, (ta, tb) in enumerate(t):
            ov = min(pb, tb) + tol - (max(pa, ta) - tol)
            if ov >= 0:
                cands.append((ov, i, j))
    cands.sort(reverse=True)
    used_p: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in cands:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    tp = len(used_p)
    fp, fn = len(p) - tp, len(t) - tp
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": prec, "recall": rec, "f1": f1,
            "unmatched_pred": [p[i] for i in range(len(p)) if i not in used_p],
            "unmatched_truth": [t[j] for j in range(len(t)) if j not in used_t]}


# -- clips -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    tag: Path


def find_clips(data_dir: str | os.PathLike[str]) -> list[Clip]:
    """The ZJU clips under ``data_dir`` (the data folder or its zju_eyeblink/ subfolder)."""
    d = Path(data_dir)
    if (d / "zju_eyeblink").is_dir():
        d = d / "zju_eyeblink"
    if not d.is_dir():
        raise FileNotFoundError(f"data_dir: {d} is not a folder")
    clips = []
    for tag in sorted(d.glob("*.tag")):
        for ext in (".avi", ".mp4"):
            v = tag.with_suffix(ext)
            if v.is_file():
                clips.append(Clip(tag.stem, v, tag))
                break
    if not clips:
        raise FileNotFoundError(f"data_dir: no ZJU clips (*.tag + .avi/.mp4) in {d}")
    return clips


def read_video(path: Path) -> tuple[list[Any], list[float], float]:
    """Decoded frames, their video positions (s) and the clip duration (s)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise OSError(f"cannot open {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    frames, ts = [], []
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        ts.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
        frames.append(fr)
    cap.release()
    duration = n / fps if n > 0 else (ts[-1] + 1.0 / fps if ts else 0.0)
    return frames, ts, duration


def frame_clock(rows: list[dict[str, Any]], duration: float) -> tuple[float, float]:
    """(first annotated frame, seconds per annotation frame) of a clip (see module doc)."""
    first = min(r["frame"] for r in rows)
    last = max(r["frame"] for r in rows)
    return float(first), duration / (last - first + 1)


def score_clip(events_s: list[tuple[float, float]], clip: Clip, duration: float,
               tolerance_frames: float = 3.0) -> dict[str, Any]:
    rows = read_tag(clip.tag)
    first, spf = frame_clock(rows, duration)
    pred = [(first + a / spf, first + b / spf) for a, b in events_s]
    return match_events(pred, truth_events(rows), tolerance_frames)


def clip_subject(clip: Clip) -> int:
    """The ZJU subject number of a clip (``000007M_FBN`` -> 7)."""
    digits = "".join(ch for ch in clip.name.split("_")[0] if ch.isdigit())
    if not digits:
        raise ValueError(f"clip: {clip.name!r} does not start with a ZJU subject number")
    return int(digits)


def evaluate(data_dir: str | os.PathLike[str], config: Any = None, *, verbose: bool = False,
             tolerance_frames: float = 3.0, landmarker: Any = None,
             subjects: Any = None) -> dict[str, Any]:
    """Blink precision/recall over the ZJU clips, through LivenessDetector sessions.

    ``config``: the pipeline's Config (default ``Config()``: its ``eye_model``); ``landmarker``:
    an eye model object to use instead (e.g. ``fastlive.landmarks.EyeNet(path,
    input_spec=...)`` for a model under evaluation); ``subjects``: only these ZJU subject
    numbers (default: every clip found)."""
    from fastlive.api import LivenessDetector
    from fastlive.config import Config

    cfg = config if config is not None else Config()
    det = (LivenessDetector(cfg, passive=None) if landmarker is None
           else LivenessDetector(cfg, passive=None, landmarker=landmarker))
    tp = fp = fn = 0
    per_clip = []
    t0 = time.perf_counter()
    clips = find_clips(data_dir)
    if subjects is not None:
        keep = {int(v) for v in subjects}
        clips = [c for c in clips if clip_subject(c) in keep]
    for clip in clips:
        frames, ts, duration = read_video(clip.video)
        s = det.new_session()
        main: dict[int, tuple[tuple[float, float], ...]] = {}
        for fr, t in zip(frames, ts):
            r = det.score_frame(fr, session=s, timestamp=t)
            tid = r.faces[0].track_id if r.faces else None
            if tid is not None:  # the largest face: the subject
                main[tid] = tuple((b.start_s, b.end_s) for b in r.faces[0].blinks)
        events = sorted(e for evs in main.values() for e in evs)
        m = score_clip(events, clip, duration, tolerance_frames)
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
        per_clip.append({"clip": clip.name, "frames": len(frames), **m})
        if verbose and (m["fp"] or m["fn"]):
            print(f"  {clip.name}: tp={m['tp']} fp={m['fp']} fn={m['fn']} "
                  f"missed={m['unmatched_truth']} spurious={m['unmatched_pred']}")
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    return {"clips": len(per_clip), "tp": tp, "fp": fp, "fn": fn, "precision": prec,
            "recall": rec, "seconds": time.perf_counter() - t0, "per_clip": per_clip}


def compare_landmarks(data_dir: str | os.PathLike[str], names: list[str] | None = None
                      ) -> dict[str, dict[str, float]]:
    """Median EAR on annotated closed frames vs frames outside any blink, for the face mesh,
    MediaPipe's eye-contour model and fastlive's eye network (YuNet on every frame, same eye
    indices), over ``names`` (default: the frontal no-glasses clips ``*_FNN``). Shows why
    blinks use an eye-contour model."""
    from fastlive.detect import FaceDetector
    from fastlive.landmarks import (
        EyeLandmarker,
        EyeModel,
        EyeNet,
        measure_eyes,
        rois_from_keypoints,
    )

    det, mesh = FaceDetector(), FaceMesh()
    models: dict[str, EyeModel] = {"eye_contour": EyeLandmarker(), "eye_network": EyeNet()}
    vals: dict[str, dict[str, list[float]]] = {
        m: {"open": [], "closed": []} for m in ("face_mesh", *models)}
    for clip in find_clips(data_dir):
        if (names is None and not clip.name.endswith("_FNN")) or (names and clip.name
                                                                  not in names):
            continue
        rows = read_tag(clip.tag)
        frames, ts, duration = read_video(clip.video)
        first, spf = frame_clock(rows, duration)
        state = {r["frame"]: ("closed" if "C" in (r["le_fc"], r["re_fc"]) else
                              "open" if r["blink_id"] < 0 else None) for r in rows}
        for fr, t in zip(frames, ts):
            st = state.get(int(round(first + t / spf)))
            faces = det.detect(fr)
            kp = faces[0].keypoints if faces else None
            if st is None or kp is None:
                continue
            pts, _ = mesh.run(fr, kp)
            vals["face_mesh"][st].append(float(np.mean(mesh.ears(pts))))
            for name, lm in models.items():
                e = measure_eyes(lm, fr, rois_from_keypoints(kp)).ear
                if e is not None:
                    vals[name][st].append(e)
    return {m: {k: float(np.median(v)) for k, v in d.items()} | {
        "n_closed": float(len(d["closed"]))} for m, d in vals.items()}


class FaceMesh:
    """MediaPipe face mesh (registry name "face_mesh"): 468 landmarks on a 192x192 face crop.

    Only for :func:`compare_landmarks` (why blinks use an eye-contour model, not the mesh).
    ``run`` returns (468, 3) points in frame coordinates (z in crop pixels) and the
    face-presence probability.
    """

    SIZE = 192
    RIGHT_EYE = (33, 160, 158, 133, 153, 144)
    LEFT_EYE = (362, 385, 387, 263, 373, 380)

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1,
                 scale: float = 1.0) -> None:
        from fastlive import registry
        from fastlive.landmarks import ort_session

        self.model_path = registry.resolve("face_mesh", model_path)
        self._sess = ort_session(self.model_path, threads)
        self._in = self._sess.get_inputs()[0].name
        self.scale = float(scale)

    def run(self, frame: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, float]:
        from fastlive import kernels
        from fastlive.align import invert, keypoint_transform

        m = keypoint_transform(keypoints, self.SIZE, self.scale)
        x = kernels.warp_to_tensor(frame, m, (self.SIZE, self.SIZE), mean=(0.0, 0.0, 0.0),
                                   std=(255.0, 255.0, 255.0), channel_order="rgb",
                                   border="replicate")
        lm, presence = self._sess.run(None, {self._in: x})
        pts = np.asarray(lm, np.float64).reshape(468, 3)
        inv = invert(m)
        xy = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
        prob = 1.0 / (1.0 + math.exp(-float(np.asarray(presence).ravel()[0])))
        return np.hstack([xy, pts[:, 2:]]), prob

    def ears(self, points: np.ndarray) -> tuple[float, float]:
        from fastlive.landmarks import points_ear

        return (points_ear(points[list(self.RIGHT_EYE), :2]),
                points_ear(points[list(self.LEFT_EYE), :2]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fastlive.evaluate.blinks_zju",
                                 description="Blink-event precision/recall on the ZJU clips")
    ap.add_argument("data_dir", help="the shared data folder (or its zju_eyeblink/)")
    ap.add_argument("--tolerance-frames", type=float, default=3.0)
    ap.add_argument("--compare-mesh", action="store_true",
                    help="median EAR open/closed: face mesh vs the eye models (FNN clips)")
    ap.add_argument("--eye-model", choices=("auto", "fastlive", "mediapipe"), default="auto",
                    help="the pipeline's eye model (Config.eye_model; default auto)")
    args = ap.parse_args(argv)
    if args.compare_mesh:
        for m, v in compare_landmarks(args.data_dir).items():
            print(f"{m}: median EAR open {v['open']:.3f} closed {v['closed']:.3f} "
                  f"(closed frames: {int(v['n_closed'])})")
        return 0
    from fastlive.config import Config

    r = evaluate(args.data_dir, Config(eye_model=args.eye_model), verbose=True,
                 tolerance_frames=args.tolerance_frames)
    print(f"ZJU eyeblink ({args.data_dir}), eye model {args.eye_model}: {r['clips']} clips, "
          f"tp={r['tp']} fp={r['fp']} "
          f"fn={r['fn']} precision={r['precision']:.4f} recall={r['recall']:.4f} "
          f"({r['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
