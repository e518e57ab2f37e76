"""Passive (single-frame) liveness: fastlive's fine-tuned MiniFASNet networks and their fusion.

One face through it::

    frame, Face -> for each network (models/manifest.json, kind "onnx-minifasnet"):
                     fastlive.minifasnet.crop: the face box scaled about its centre (2.7x for
                     MiniFASNetV2, 4.0x for MiniFASNetV1SE; capped and shifted to stay in the
                     picture: the frame without letterbox bars), resized to 80x80, BGR 0..255
                   -> onnxruntime (all faces of the frame in one batch) -> three logits
                   -> liveness logit log(P(live) / P(attack))
                -> fusion (models/passive_fusion.json: logistic regression on the networks'
                   logits, fitted on out-of-source predictions; training/README.md)
                   -> calibrated P(live)

Score convention: higher = live, in [0, 1]. ``PassiveScorer.thresholds`` holds the named
operating points ("convenience", "balanced", "secure") on that probability
(models/README.md says how each was fitted).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fastlive import minifasnet, registry
from fastlive.config import OPERATING_POINTS
from fastlive.detect import Face

if TYPE_CHECKING:
    from fastlive.config import Config
    from fastlive.track import Track

__all__ = ["PassiveModel", "PassiveScore", "PassiveScorer", "PassiveStage", "FUSION_MODEL"]

FUSION_MODEL = "passive_fusion"


@dataclass(frozen=True)
class PassiveScore:
    """One face's passive result.

    ``score``: calibrated P(live) of the fused networks; ``logit``: its logit (what a stream
    averages); ``cues``: each network's own P(live) by model name; ``timings``: milliseconds
    per step (the batch's time shared among its faces)."""

    score: float
    logit: float
    cues: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_score(cls, score: float, cues: dict[str, float] | None = None) -> PassiveScore:
        """A result for a P(live) ``score`` (its logit computed, clipped at 1e-9 / 1 - 1e-9):
        what a custom scorer passed as ``LivenessDetector(passive=...)`` returns."""
        p = float(score)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"score: expected a probability in [0, 1], got {score!r}")
        q = min(max(p, 1e-9), 1.0 - 1e-9)
        return cls(p, math.log(q / (1.0 - q)), dict(cues or {}))


class PassiveModel(Protocol):
    """What the pipeline needs of a passive scorer (``LivenessDetector(passive=...)``):
    :class:`PassiveScorer`, or any object with these two members."""

    thresholds: dict[str, float]  # "convenience", "balanced", "secure" -> threshold on P(live)

    def score(self, frame_bgr: np.ndarray, faces: list[Face]) -> list[PassiveScore]: ...


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z)))))


def _check_face(face: Any, name: str) -> None:
    box = getattr(face, "box", None)
    if box is None:
        raise TypeError(f"{name}: expected a fastlive.detect.Face (box, keypoints), got "
                        f"{type(face).__name__}; get faces from FaceDetector().detect(frame)")
    b = np.asarray(box, dtype=np.float64)
    if b.shape != (4,) or not np.isfinite(b).all() or b[2] <= 0 or b[3] <= 0:
        raise ValueError(f"{name}: box must be 4 finite numbers (x, y, w, h) with w, h > 0, "
                         f"got {box!r}")


@dataclass(frozen=True)
class _Net:
    name: str
    spec: minifasnet.NetSpec
    session: Any
    input_name: str


class PassiveScorer:
    """Scores faces with fastlive's passive models (networks + fusion).

    ``model_dir``: a folder with ``manifest.json`` and the files it lists (default: the models
    shipped with fastlive, resolved through :mod:`fastlive.registry`). Every file's sha256 is
    checked. Raises :class:`fastlive.registry.ModelNotFoundError` when the models are absent and
    :class:`fastlive.registry.ModelIntegrityError` when a file is damaged. Thread-safe
    (onnxruntime sessions, read-only weights).
    """

    def __init__(self, model_dir: str | Path | None = None, *, threads: int = 1) -> None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads: expected an int >= 1, got {threads!r}")
        manifest, fusion_path = self._load_manifest(model_dir)
        self.manifest = manifest
        self.version: str = str(manifest.get("version", "unknown"))
        with open(fusion_path, encoding="utf-8") as fh:
            fus = json.load(fh)
        try:
            names = [str(n) for n in fus["inputs"]]
            self._weights = np.asarray([float(w) for w in fus["weights"]], np.float64)
            self._bias = float(fus["bias"])
            self.thresholds: dict[str, float] = {k: float(fus["thresholds"][k])
                                                 for k in OPERATING_POINTS}
        except (KeyError, TypeError, ValueError) as exc:
            raise registry.ModelIntegrityError(
                f"model {FUSION_MODEL!r}: {fusion_path} is not a fastlive fusion file ({exc}); "
                "reinstall fastlive or rebuild the models with 'python -m training.reproduce'"
            ) from exc
        if len(names) != len(self._weights) or not names:
            raise registry.ModelIntegrityError(
                f"model {FUSION_MODEL!r}: {len(names)} inputs but {len(self._weights)} weights")
        self.fusion = fus
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.nets: list[_Net] = []
        for n in names:
            entry = self._entry(manifest, n)
            path = self._path(manifest, model_dir, n)
            inp = entry.get("input", {})
            try:
                spec = minifasnet.NetSpec(n, float(inp["crop_scale"]), int(inp["size"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise registry.ModelIntegrityError(
                    f"model {n!r}: the manifest's input spec is incomplete ({exc})") from exc
            try:
                sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types
                raise registry.ModelIntegrityError(
                    f"model {n!r}: onnxruntime cannot load {path} ({exc}); the file is not a "
                    "valid ONNX model for this onnxruntime: reinstall fastlive") from exc
            self.nets.append(_Net(n, spec, sess, sess.get_inputs()[0].name))

    # -- loading -------------------------------------------------------------------------------
    @staticmethod
    def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
        for m in manifest.get("models", []):
            if m.get("name") == name:
                return dict(m)
        raise registry.ModelNotFoundError(
            f"model {name!r} is not listed in the manifest ({manifest.get('_dir', '?')}); "
            "reinstall fastlive or pass model_dir= a folder made by 'python -m training.reproduce'"
        )

    @classmethod
    def _load_manifest(cls, model_dir: str | Path | None) -> tuple[dict[str, Any], Path]:
        if model_dir is None:
            manifest = registry.shipped_manifest()
            cls._entry(manifest, FUSION_MODEL)
            return manifest, registry.resolve(FUSION_MODEL)
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
        return manifest, cls._path(manifest, d, FUSION_MODEL)

    @classmethod
    def _path(cls, manifest: dict[str, Any], model_dir: str | Path | None, name: str) -> Path:
        if model_dir is None:
            return registry.resolve(name)
        e = cls._entry(manifest, name)
        s = registry.ModelSpec(name, e["file"], e["sha256"], None, meta=e)
        return registry.verify(Path(model_dir) / e["file"], s)

    # -- scoring -------------------------------------------------------------------------------
    @property
    def cue_names(self) -> tuple[str, ...]:
        """The networks' names, the keys of ``PassiveScore.cues``."""
        return tuple(n.name for n in self.nets)

    def fuse(self, logits: np.ndarray) -> np.ndarray:
        """Fused logit of (N, networks) liveness logits."""
        return np.asarray(logits, np.float64) @ self._weights + self._bias

    def score(self, frame_bgr: np.ndarray, faces: list[Face]) -> list[PassiveScore]:
        """One :class:`PassiveScore` per face of ``frame_bgr`` (HxWx3 uint8 BGR; see
        fastlive.frames)."""
        from fastlive.frames import as_bgr

        frame_bgr = as_bgr(frame_bgr, "frame_bgr")
        if not isinstance(faces, (list, tuple)):
            raise TypeError(f"faces: expected a list of fastlive.detect.Face, got "
                            f"{type(faces).__name__}")
        for i, f in enumerate(faces):
            _check_face(f, f"faces[{i}]")
        if not faces:
            return []
        n = len(faces)
        logits = np.zeros((n, len(self.nets)))
        tm: dict[str, float] = {}
        area = minifasnet.picture_area(frame_bgr)
        for j, net in enumerate(self.nets):
            t0 = time.perf_counter()
            x = np.stack([minifasnet.crop(frame_bgr, f.box, net.spec, area) for f in faces])
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2), np.float32)
            t1 = time.perf_counter()
            out = np.asarray(net.session.run(None, {net.input_name: x})[0], np.float64)
            logits[:, j] = [minifasnet.live_logit(z) for z in out.reshape(n, -1)]
            t2 = time.perf_counter()
            tm[f"{net.name}.crop"] = (t1 - t0) * 1e3 / n
            tm[net.name] = (t2 - t1) * 1e3 / n
        fused = self.fuse(logits)
        return [PassiveScore(_sigmoid(float(z)), float(z),
                             {net.name: _sigmoid(float(logits[i, j]))
                              for j, net in enumerate(self.nets)}, dict(tm))
                for i, z in enumerate(fused)]


class PassiveStage:
    """The passive stage: the passive models on the tracks that are due (see ``due``); each
    scored track records its score (``Track.add_passive``: the stream's window average)."""

    def __init__(self, model: PassiveModel | None, config: Config) -> None:
        self.model = model
        self.config = config

    def run(self, frame: np.ndarray, tracks: Sequence[Track], t: float, *, stream: bool,
            detected: bool) -> dict[str, float]:
        """Score the due tracks of ``frame`` (time ``t``) in one batch; returns the models'
        timings (ms, ``passive.<step>``)."""
        tm: dict[str, float] = {}
        due = [tr for tr in tracks if self._due(tr, stream, detected, t)]
        if not due or self.model is None:
            return tm
        faces = [Face(tr.box, 1.0, tr.keypoints, tr.detector) for tr in due]
        window_s = self.config.window_s if stream else 0.0
        for tr, d in zip(due, self.model.score(frame, faces)):
            tr.add_passive(d, t, window_s)
            for k, v in d.timings.items():
                tm[f"passive.{k}"] = tm.get(f"passive.{k}", 0.0) + float(v)
        return tm

    def _due(self, tr: Track, stream: bool, detected: bool, t: float) -> bool:
        """The passive models run on a track's first frame and then once
        ``Config.passive_interval_s`` has passed since its last passive score (every 3rd frame
        at 30 fps, every frame of a slow stream), kept off re-detection frames (to spread the
        cost) unless twice overdue."""
        dt = self.config.passive_interval_s
        last = tr.last_passive_t
        if not stream or last is None or dt <= 0:
            return True
        # a little slack: frame times jitter around a multiple of the interval
        if t - last < 0.9 * dt:
            return False
        return not detected or t - last >= 1.9 * dt
