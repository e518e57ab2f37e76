"""Per-image inputs of ``../shared/data`` made with the runtime's own code, cached.

For every image of the manifest (and every ``VIDEO_STEP``-th frame of its videos) the face is
found as the runtime finds it (``FaceDetector().detect(frame)[0]`` for whole frames,
``detect_in_crop`` for the self-recorded tight crops; no face found: the row is a failure to
acquire, ``ok`` False, as at run time). Then, for each pretrained MiniFASNet (``MINIFASNET``):
its input crop (``fastlive.minifasnet.crop``, :func:`net_crops`) and the pretrained network's
logits on it (the upstream baseline the tables compare with).

Cached in ``training/cache/`` (keyed by the manifest's paths, ``CACHE_VERSION`` and the boxes).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastlive import minifasnet
from fastlive.detect import Face
from training import data

CACHE_VERSION = 2
VIDEO_STEP = 30

# name -> (file in ../shared/models, crop, output kind)
MINIFASNET = {
    "v2": minifasnet.NetSpec("minifasnet_v2", 2.7, 80),
    "v1se": minifasnet.NetSpec("minifasnet_v1se", 4.0, 80),
}
NET_FILES = {
    "v2": "minifasnet_v2_2.7_80x80.onnx",
    "v1se": "minifasnet_v1se_4.0_80x80.onnx",
}


def model_dir() -> Path:
    """The folder holding the pretrained networks and YuNet (``FASTLIVE_MODEL_DIR``, else
    ``../shared/models``)."""
    env = os.environ.get("FASTLIVE_MODEL_DIR")
    if env:
        return Path(env)
    return data.default_data_dir().parent / "models"


class Nets:
    """The pretrained networks (onnxruntime, one thread)."""

    def __init__(self, folder: Path | None = None) -> None:
        import onnxruntime as ort

        folder = folder or model_dir()
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.sess = {k: ort.InferenceSession(str(folder / f), so,
                                             providers=["CPUExecutionProvider"])
                     for k, f in NET_FILES.items()}

    def run(self, frame: np.ndarray, box: Any) -> dict[str, np.ndarray]:
        """Each network's three logits for the face ``box`` of ``frame``."""
        out = {}
        area = minifasnet.picture_area(frame)
        for k, spec in MINIFASNET.items():
            c = minifasnet.crop(frame, box, spec, area)
            x = c.astype(np.float32).transpose(2, 0, 1)[None]
            out[k] = np.asarray(self.sess[k].run(None, {"input": x})[0]).reshape(-1)
        return out


@dataclass
class Features:
    """Row-aligned arrays, one row per image (or sampled video frame)."""

    label: np.ndarray  # 1 live, 0 attack
    source: np.ndarray
    subject: np.ndarray
    attack_type: np.ndarray
    path: np.ndarray  # manifest path; video frames as "<path>#<frame index>"
    media: np.ndarray  # image | video
    kind: np.ndarray  # frame | crop
    ok: np.ndarray  # a face was found
    detector: np.ndarray  # yunet | none
    box: np.ndarray  # (N, 4) x, y, w, h
    logits: dict[str, np.ndarray]  # pretrained network -> (N, 3)

    def __len__(self) -> int:
        return len(self.label)

    @property
    def webcam(self) -> np.ndarray:
        """Rows of the whole-frame webcam sources (``webcam/`` in the manifest)."""
        return np.array([str(p).startswith("webcam/") for p in self.path])

    def net_logit(self, net: str) -> np.ndarray:
        """The pretrained network's liveness logit per row: log(P(live) / P(attack))."""
        z = self.logits[net]
        m = np.maximum(z[:, 0], z[:, 2])
        return z[:, 1] - (m + np.log(np.exp(z[:, 0] - m) + np.exp(z[:, 2] - m)))


def _items(data_dir: Path, rows: list[dict[str, str]]) -> Iterator[
        tuple[dict[str, Any], np.ndarray | None, str]]:
    import cv2

    for r in rows:
        p = data_dir / r["path"]
        meta = {"label": 1 if r["label"] == "live" else 0, "source": r["source"],
                "subject": r["subject_id"], "attack_type": r["attack_type"] or "",
                "path": r["path"], "media": r["media"]}
        if r["media"] == "video":
            for k, fr in enumerate(read_video(p)):
                if k % VIDEO_STEP == VIDEO_STEP // 2:
                    yield {**meta, "path": f"{r['path']}#{k}"}, fr, "frame"
            continue
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        kind = "crop" if r["path"].startswith("selfrecorded/") else "frame"
        yield meta, img, kind


def read_video(path: Path) -> list[np.ndarray]:
    """Every decodable frame of a video file, in order."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        okf, fr = cap.read()
        if not okf:
            break
        frames.append(fr)
    cap.release()
    return frames


def load(data_dir: Path | None = None, *, sources: list[str] | None = None,
         limit_per_source: int | None = None, cache: bool = True,
         verbose: bool = True) -> Features:
    """Detections and pretrained logits of every manifest row (or of ``sources`` only, and at
    most ``limit_per_source`` images of each source and class, evenly spread), from the cache
    when it holds them."""
    from fastlive.detect import FaceDetector

    data_dir = Path(data_dir) if data_dir is not None else data.default_data_dir()
    rows = data.read_manifest(data_dir)
    if sources is not None:
        rows = [r for r in rows if r["source"] in sources]
    if limit_per_source is not None:
        by: dict[tuple[str, str], list[dict[str, str]]] = {}
        for r in rows:
            by.setdefault((r["source"], r["label"]), []).append(r)
        rows = [r for v in by.values()
                for r in v[::max(1, len(v) // limit_per_source)][:limit_per_source]]
    h = hashlib.sha256(f"rows-v{CACHE_VERSION}-step{VIDEO_STEP}".encode())
    for r in rows:
        h.update(r["path"].encode())
    cpath = data.CACHE_DIR / f"rows_{h.hexdigest()[:16]}.npz"
    if cache and cpath.is_file():
        return _from_npz(np.load(cpath, allow_pickle=False))
    det = FaceDetector(backend="yunet",
                       model_path=model_dir() / "face_detection_yunet_2023mar.onnx")
    nets = Nets()
    cols: dict[str, list[Any]] = {k: [] for k in Features.__dataclass_fields__ if k != "logits"}
    logits: dict[str, list[np.ndarray]] = {k: [] for k in NET_FILES}
    t0 = time.time()
    for i, (meta, img, kind) in enumerate(_items(data_dir, rows)):
        face: Face | None = None
        if img is not None:
            if kind == "crop":
                face = det.detect_in_crop(img)  # None when no face is found
            else:
                faces = det.detect(img)
                face = faces[0] if faces else None
        for k in ("label", "source", "subject", "attack_type", "path", "media"):
            cols[k].append(meta[k])
        cols["kind"].append(kind)
        cols["ok"].append(face is not None)
        cols["detector"].append("none" if face is None else face.detector)
        cols["box"].append(np.full(4, np.nan) if face is None
                           else np.asarray(face.box, np.float64))
        out = {} if face is None or img is None else nets.run(img, face.box)
        for k in NET_FILES:
            logits[k].append(out.get(k, np.full(3, np.nan)).astype(np.float32))
        if verbose and i % 1000 == 0:
            print(f"    detections of {i} images ({time.time() - t0:.0f} s)", flush=True)
    arrays: dict[str, np.ndarray] = {
        "label": np.asarray(cols["label"], np.int64), "ok": np.asarray(cols["ok"], bool),
        "box": np.stack(cols["box"])}
    for k in ("source", "subject", "attack_type", "path", "media", "kind", "detector"):
        arrays[k] = np.asarray(cols[k])
    for k in NET_FILES:
        arrays[f"logits_{k}"] = np.stack(logits[k])
    if cache:
        data.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cpath.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, cpath)
    return _from_npz(arrays)


def _from_npz(z: Any) -> Features:
    kw: dict[str, Any] = {k: z[k] for k in Features.__dataclass_fields__ if k != "logits"}
    kw["logits"] = {k: z[f"logits_{k}"] for k in NET_FILES}
    return Features(**kw)


def net_crops(f: Features, net: str, data_dir: Path | None = None, *, cache: bool = True,
              verbose: bool = True) -> np.ndarray:
    """(N, S, S, 3) uint8 BGR input crops of a MiniFASNet (``MINIFASNET[net]``) for every row of
    ``f`` (zeros where no face was found), from the boxes ``f`` holds."""
    import cv2

    spec = MINIFASNET[net]
    data_dir = Path(data_dir) if data_dir is not None else data.default_data_dir()
    h = hashlib.sha256(f"crops-v{CACHE_VERSION}-{spec}".encode())
    for p, b in zip(f.path, f.box):
        h.update(str(p).encode())
        h.update(np.asarray(b, np.float64).tobytes())
    cpath = data.CACHE_DIR / f"netcrops_{net}_{h.hexdigest()[:16]}.npy"
    if cache and cpath.is_file():
        return np.load(cpath)
    out = np.zeros((len(f), spec.size, spec.size, 3), np.uint8)
    videos: dict[str, list[np.ndarray]] = {}
    for i, p in enumerate(f.path):
        if not f.ok[i]:
            continue
        p = str(p)
        if "#" in p:
            vp, k = p.split("#")
            if vp not in videos:
                videos = {vp: read_video(data_dir / vp)}
            img = videos[vp][int(k)]
        else:
            img = cv2.imread(str(data_dir / p), cv2.IMREAD_COLOR)
        out[i] = minifasnet.crop(img, f.box[i], spec)
        if verbose and i % 1000 == 0:
            print(f"  {net} crops of {i} images", flush=True)
    if cache:
        data.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(cpath, out)
    return out
