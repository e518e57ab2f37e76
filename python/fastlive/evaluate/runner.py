"""Scoring labelled samples with a detector: one scores.csv row per sample (an image as
``fastlive image`` scores it, a video by its main track), in this process or a pool of worker
processes, and the per-track summary of a stream."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import warnings
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastlive import api
from fastlive.api import LivenessDetector
from fastlive.capture import Capture, read_image
from fastlive.config import Config
from fastlive.evaluate.metrics import Metrics, Row
from fastlive.passive import PassiveScorer
from fastlive.results import FrameResult


# -- reading results -----------------------------------------------------------------------------
def result_field(obj: object, name: str, default: object = None) -> Any:
    """A field of a result (a FrameResult/FaceResult attribute or a dict key), else default."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_float(v: object) -> float:
    """v as a float, NaN when it is not a number (None, a missing cue)."""
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


# -- per-track summary of a stream ---------------------------------------------------------------


class TrackStats:
    """Per-track summary of a stream: frames, scores, decisions, blinks, first/last time."""

    def __init__(self) -> None:
        self.frames = 0
        self.scores: list[float] = []
        self.decisions: Counter[str] = Counter()
        self.blinks = 0
        self.first_t: float | None = None
        self.last_t = 0.0

    def add(self, face: object, t: float) -> None:
        self.frames += 1
        s = as_float(result_field(face, "score"))
        if math.isfinite(s):
            self.scores.append(s)
        self.decisions[str(result_field(face, "decision"))] += 1
        self.blinks = max(self.blinks, int(result_field(face, "blink_count", 0) or 0))
        if self.first_t is None:
            self.first_t = t
        self.last_t = t

    def verdict(self) -> str:
        """The most frequent decision over the track (ties: UNCERTAIN)."""
        top = self.decisions.most_common(2)
        if not top or (len(top) == 2 and top[0][1] == top[1][1]):
            return "UNCERTAIN"
        return top[0][0]

    @property
    def mean_score(self) -> float:
        """The mean of the track's finite scores (NaN without one)."""
        return sum(self.scores) / len(self.scores) if self.scores else float("nan")

    def to_dict(self, tid: object) -> Row:
        return {"track_id": tid, "verdict": self.verdict(), "frames": self.frames,
                "first_s": self.first_t, "last_s": self.last_t, "blinks": self.blinks,
                "mean_score": self.mean_score, "decisions": dict(self.decisions)}


# -- scoring samples -----------------------------------------------------------------------------
def build_detector(config: Config | None = None,
                   model_dir: str | os.PathLike[str] | None = None) -> LivenessDetector:
    """A LivenessDetector for ``config``; ``model_dir``: a folder with fastlive's own passive
    models to use instead of the installed ones."""
    cfg = config if config is not None else Config()
    if model_dir:
        return LivenessDetector(cfg, passive=PassiveScorer(Path(model_dir), threads=cfg.threads))
    return LivenessDetector(cfg)


@dataclass(frozen=True)
class DetectorFactory:
    """A picklable recipe for :func:`build_detector`, called once in each worker process of
    :func:`score_samples`. Its warnings are silenced: the main process builds a detector first
    and shows them once."""

    config: Config | None = None
    model_dir: str | None = None

    def __call__(self) -> LivenessDetector:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return build_detector(self.config, self.model_dir)


def score_still(det: LivenessDetector, frame: np.ndarray) -> tuple[FrameResult, str]:
    """Score one still image; a tight face crop with no detected face falls back to score_face.
    Returns (FrameResult, method) with method "detect", "crop" or "none"."""
    res = det.score_frame(frame)
    if result_field(res, "faces"):
        return res, "detect"
    score_face = getattr(det, "score_face", None)
    if score_face is None:
        return api.score_face(frame), "crop"
    res2 = score_face(frame)
    return res2, ("crop" if result_field(res2, "faces") else "none")


# the cues a scores.csv row keeps: the shipped networks' own P(live) and the fused passive score
ROW_CUES = ("minifasnet_v2", "minifasnet_v1se", "passive")


def _score_image(det: LivenessDetector, path: str, row: Row) -> None:
    _score_image_frame(det, read_image(path), row)


def _score_image_frame(det: LivenessDetector, frame: np.ndarray, row: Row) -> None:
    res, method = score_still(det, frame)
    faces = result_field(res, "faces") or []
    row["method"] = method
    row["n_faces"] = len(faces) if method == "detect" else 0
    if faces:
        f0 = faces[0]
        row["score"] = as_float(result_field(f0, "score"))
        row["decision"] = str(result_field(f0, "decision"))
        cues = result_field(f0, "cues") or {}
        for c in ROW_CUES:
            v = as_float(result_field(cues, c))
            row[c] = v if math.isfinite(v) else None


def _score_video(det: LivenessDetector, path: str, row: Row, video_stride: int) -> None:
    """One session over every ``video_stride``-th frame. The video's score and decision are
    those of its main track (the track seen on most frames): its mean score and most frequent
    decision; its cues are their means over the frames with a face."""
    session = det.new_session()
    stats: dict[object, TrackStats] = {}
    cues: dict[str, list[float]] = {c: [] for c in ROW_CUES}
    n = 0
    with Capture(path) as cap:
        for k, (frame, t) in enumerate(cap):
            if k % video_stride:
                continue
            res = det.score_frame(frame, session=session, timestamp=t)
            n += 1
            faces = result_field(res, "faces") or []
            if faces:
                f0 = faces[0]
                stats.setdefault(result_field(f0, "track_id"), TrackStats()).add(f0, t)
                for c in ROW_CUES:
                    v = as_float(result_field(result_field(f0, "cues") or {}, c))
                    if math.isfinite(v):
                        cues[c].append(v)
    row["frames"] = n
    if stats:
        main = max(stats.values(), key=lambda s: s.frames)
        if main.scores:
            row["score"] = main.mean_score
        row["decision"] = main.verdict()
        row["n_faces"] = len(stats)
        row["method"] = "video"
        for c, vals in cues.items():
            row[c] = sum(vals) / len(vals) if vals else None


def score_sample(det: LivenessDetector, sample: Row, video_stride: int = 1) -> Row:
    """One scores.csv row for ``sample`` (a :func:`load_samples` item). Never raises for a
    sample that cannot be read or scored: the row's ``error`` says why (score NaN).

    Images are scored like ``fastlive image`` (:func:`score_still`); a video with one session,
    every ``video_stride``-th frame, and its score is the mean score of its main track (the
    track seen on most frames).
    """
    row = error_row(sample, "")
    path = sample["abs_path"]
    if sample["media"] == "video":
        return _guarded(row, lambda: _score_video(det, path, row, video_stride))
    return _guarded(row, lambda: _score_image(det, path, row))


def _guarded(row: Row, score: Callable[[], None],
             plain: tuple[type[Exception], ...] = (OSError, ValueError)) -> Row:
    """Run ``score`` (which fills ``row``); an exception becomes the row's ``error`` (its
    message; the type named too unless it is one of ``plain``), with score NaN and method
    "none": one bad sample never ends an evaluation."""
    try:
        score()
    except plain as exc:
        row["error"] = str(exc).replace("\n", " ")
    except Exception as exc:  # noqa: BLE001 - one bad sample must not end the evaluation
        row["error"] = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    if row["error"]:
        row["score"] = float("nan")
        row["method"] = "none"
    return row


def error_row(sample: Row, error: str) -> Row:
    """The scores.csv row of a ``sample`` that could not be scored: score NaN, method "none",
    ``error`` says why (what :func:`score_sample` returns for an unreadable file)."""
    row = {k: sample.get(k, "") for k in ("path", "label", "attack_type", "source", "media")}
    row["abs_path"] = sample.get("abs_path", row["path"])
    row.update(score=float("nan"), decision="", **dict.fromkeys(ROW_CUES),
               n_faces=0, method="none", frames=None, error=error.replace("\n", " "))
    return row


def decode_image(data: bytes | bytearray | memoryview, name: str = "<bytes>") -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, ... as read from a file or object storage) to BGR
    uint8, as :func:`fastlive.capture.read_image` decodes a file; errors name ``name``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    buf = np.frombuffer(data, dtype=np.uint8)
    import cv2

    try:
        img: np.ndarray | None = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    except cv2.error as e:  # e.g. a header claiming more than OpenCV's 2^20 rows/columns
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise ValueError(f"{name}: cannot decode as an image (OpenCV refused it: {msg})"
                         ) from None
    if img is None:
        raise ValueError(f"{name}: cannot decode as an image (corrupt or unsupported format)")
    return img


def score_image_bytes(det: LivenessDetector, sample: Row, data: bytes) -> Row:
    """One scores.csv row for an image ``sample`` given as its encoded bytes (read from object
    storage, a message queue, ...): the same row :func:`score_sample` gives for a file holding
    these bytes. Never raises for bytes that cannot be decoded or scored: the row's ``error``
    says why (score NaN). ``sample`` needs ``path`` (a name for messages); its other
    :func:`load_samples` fields default to ""."""
    name = str(sample.get("abs_path") or sample.get("path") or "<bytes>")
    row = error_row(sample, "")
    return _guarded(row, lambda: _score_image_frame(det, decode_image(data, name), row),
                    (OSError, ValueError, TypeError))


class _Worker:
    """A worker process's detector and video stride (set once per process by _worker_init)."""

    det: LivenessDetector | None = None
    stride = 1


def _worker_init(factory: Callable[[], LivenessDetector], video_stride: int) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _Worker.det = factory()
    _Worker.stride = video_stride


def _worker_score(sample: Row) -> Row:
    assert _Worker.det is not None, "_worker_init runs first in each worker"
    return score_sample(_Worker.det, sample, _Worker.stride)


def score_samples(samples: Sequence[Row], *, detector: LivenessDetector | None = None,
                  detector_factory: Callable[[], LivenessDetector] | None = None,
                  workers: int = 1, video_stride: int = 1) -> Generator[Row, None, None]:
    """Yield one :func:`score_sample` row per sample, in order.

    ``workers > 1`` scores in that many processes (spawned, each building its detector with
    ``detector_factory``, a picklable callable such as :class:`DetectorFactory`); else
    ``detector`` (or one built by the factory) scores in this process. Stop iterating to stop
    scoring; the rows already yielded stay valid.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive int, got {workers!r}")
    if isinstance(video_stride, bool) or not isinstance(video_stride, int) or video_stride < 1:
        raise ValueError(f"video_stride: expected a positive int, got {video_stride!r}")
    workers = min(workers, len(samples)) or 1
    if workers > 1:
        if detector_factory is None:
            raise ValueError("detector_factory: needed to score with workers > 1")
        # spawn, not fork: the parent already holds onnxruntime/OpenCV state and threads
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(detector_factory, video_stride)) as ex:
            try:
                yield from ex.map(_worker_score, samples, chunksize=4)
            except GeneratorExit:
                ex.shutdown(wait=False, cancel_futures=True)
                raise
        return
    if detector is None:
        if detector_factory is None:
            raise ValueError("detector: pass a detector or a detector_factory")
        detector = detector_factory()
    for s in samples:
        yield score_sample(detector, s, video_stride)


# -- blinks --------------------------------------------------------------------------------------
def blink_metrics(data: str | os.PathLike[str], config: Config | None = None) -> Metrics:
    """Blink detection against the ZJU ``.tag`` annotations of the clips under ``data`` (a
    folder, or a file in it): clips, tp/fp/fn, precision, recall, F1 and per-clip counts.
    Raises FileNotFoundError when no clip is found."""
    folder = Path(data)
    if folder.is_file():
        folder = folder.parent
    from fastlive.evaluate import blinks_zju

    r = blinks_zju.evaluate(folder, config)
    tp, fp, fn = r["tp"], r["fp"], r["fn"]
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    return {"data": str(folder), "clips": r["clips"], "tp": tp, "fp": fp, "fn": fn,
            "precision": r["precision"], "recall": r["recall"], "f1": f1,
            "per_clip": [{k: v for k, v in c.items() if not k.startswith("unmatched")}
                         for c in r.get("per_clip", [])]}
