"""Dataset loading, preprocessing (exactly the runtime code) with a cache, and disjoint splits.

Every image listed in ``../shared/data/manifest.csv`` becomes one aligned crop made by
:func:`fastlive.passive.prepare`:

* full frames (NUAA, ZJU video frames): ``FaceDetector().detect(frame)[0]`` (largest face);
  frames without a face are failures to acquire (kept in the table, ``ok=False``);
* tight crops (self-recorded groups): ``FaceDetector().detect_in_crop(img)`` (what
  ``LivenessDetector.score_face`` does at run time; the whole image when no face is found).

Crops are cached in ``training/cache/`` (keyed by the input spec and this file's version).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from fastlive.detect import Face
from fastlive.passive import DEFAULT_SPEC, InputSpec, face_px, face_transform, prepare

# 4: FaceDetector's orientation check (sideways faces found upright by YuNet are turned);
# 5: that check also for upside-down faces, below 0.9, a turned face needing 0.85;
# 6: augment.frame_resolution delivers the smaller frame (crops changed with it differ).
CACHE_VERSION = 6
ROOT = Path(__file__).resolve().parent
CACHE_DIR = ROOT / "cache"
# Frames taken from each ZJU Eyeblink clip (live, 10 subjects): every ZJU_STEP-th frame.
ZJU_STEP = 30


def default_data_dir() -> Path:
    env = os.environ.get("FASTLIVE_DATA_DIR")
    if env:
        return Path(env)
    shared = os.environ.get("FASTLIVE_SHARED")
    if shared:
        return Path(shared) / "data"
    return ROOT.parent.parent / "shared" / "data"


@dataclass
class Dataset:
    """Aligned crops and their metadata (row-aligned numpy arrays)."""

    crops: np.ndarray  # (N, S, S, 3) uint8 BGR
    label: np.ndarray  # (N,) int: 1 live, 0 attack
    source: np.ndarray  # (N,) str: nuaa | <group> | zju_eyeblink
    subject: np.ndarray  # (N,) str: subject id (a self-recorded group is one subject)
    attack_type: np.ndarray  # (N,) str
    path: np.ndarray  # (N,) str
    ok: np.ndarray  # (N,) bool: a face was acquired (FTA otherwise)
    detector: np.ndarray  # (N,) str: yunet | whole | haar | none
    face_side: np.ndarray  # (N,) float: face box side in source pixels (resolution)

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, mask: np.ndarray) -> Dataset:
        idx = np.flatnonzero(mask) if mask.dtype == bool else np.asarray(mask)
        return Dataset(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


def read_manifest(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _items(data_dir: Path, rows: list[dict[str, str]]):
    """Yield (meta, image, kind) with kind 'frame' or 'crop'."""
    import cv2

    for r in rows:
        p = data_dir / r["path"]
        meta = {"label": 1 if r["label"] == "live" else 0, "source": r["source"],
                "subject": r["subject_id"], "attack_type": r["attack_type"] or "",
                "path": r["path"]}
        if r["media"] == "video":
            cap = cv2.VideoCapture(str(p))
            k = 0
            while True:
                okf, fr = cap.read()
                if not okf:
                    break
                if k % ZJU_STEP == ZJU_STEP // 2:
                    yield {**meta, "path": f"{r['path']}#{k}"}, fr, "frame"
                k += 1
            cap.release()
            continue
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        kind = "crop" if r["path"].startswith("selfrecorded/") else "frame"
        yield meta, img, kind


def _cache_key(spec: InputSpec, rows: list[dict[str, str]], change_key: str = "") -> str:
    h = hashlib.sha256()
    if change_key:
        h.update(f"change={change_key}".encode())
    crop_keys = {k: v for k, v in spec.to_dict().items() if k in ("size", "scale", "border",
                                                                    "prefilter")}
    h.update(json.dumps(crop_keys, sort_keys=True).encode())
    h.update(f"v{CACHE_VERSION}-zju{ZJU_STEP}".encode())
    for r in rows:
        h.update(r["path"].encode())
    return h.hexdigest()[:16]


def face_side(face: Face) -> float:
    """The longer side of a face's box, source pixels (``Dataset.face_side``): the runtime's
    ``fastlive.passive.face_px``, which a resolution bank routes on."""
    return face_px(face)


def scale_face(face: Face, sx: float, sy: float) -> Face:
    """``face`` in an image resized by (``sx``, ``sy``) (as ``cv2.resize`` maps pixel centres:
    x -> (x + 0.5) sx - 0.5)."""
    x, y, w, h = face.box
    kp = face.keypoints
    if kp is not None:
        kp = ((kp + 0.5) * np.array([sx, sy], np.float32) - 0.5).astype(np.float32)
    return Face(((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, w * sx, h * sy), face.score, kp,
                face.detector)


def shift_face(face: Face, dx: float, dy: float, spec: InputSpec) -> Face:
    """``face`` moved by (``dx``, ``dy``) pixels of ``spec``'s crop (converted to image pixels
    by the alignment's scale): the crop window follows the face, so the face appears in the
    crop moved the other way, as by a small alignment error."""
    m = face_transform(face, spec)
    k = float(np.hypot(m[0, 0], m[0, 1]))  # crop pixels per image pixel
    ox, oy = dx / k, dy / k
    x, y, w, h = face.box
    kp = face.keypoints
    if kp is not None:
        kp = (kp + np.array([ox, oy], np.float32)).astype(np.float32)
    return Face((x + ox, y + oy, w, h), face.score, kp, face.detector)


def load(data_dir: Path | None = None, spec: InputSpec = DEFAULT_SPEC, *,
         sources: list[str] | None = None, limit_per_source: int | None = None,
         cache: bool = True, verbose: bool = True,
         change: Callable[[np.ndarray, np.random.Generator, Face], np.ndarray] | None = None,
         change_key: str = "", change_seed: int = 0,
         shift: tuple[float, float] = (0.0, 0.0)) -> Dataset:
    """Preprocess the shared data (or a subset) into aligned crops, using the cache.

    ``change(image, rng, face)``: applied to every source image (frame or tight crop) before
    ``prepare``, as a different camera would change it (e.g. ``augment.frame_noise``,
    ``augment.frame_resolution``); the face is still detected on the unchanged image
    (``face``, given to the change), so the rows and detections are those of the unchanged
    data set. A change may return a resized image (a lower-resolution camera): the face's
    box and keypoints are then scaled with it (:func:`scale_face`), and ``face_side`` is the
    face's side in the changed image. ``rng`` is seeded per image from (``change_seed``,
    row). ``change_key`` names the change (and its parameters) in the cache key and is
    required with ``change``. ``shift``: every face moved by that many crop pixels before the
    alignment (:func:`shift_face`; the texture model's alignment-jitter copies)."""
    from fastlive.detect import FaceDetector

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    rows = read_manifest(data_dir)
    if sources is not None:
        rows = [r for r in rows if r["source"] in sources]
    if limit_per_source is not None:
        by: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            by.setdefault(r["source"] + r["label"], []).append(r)
        rows = [r for v in by.values() for r in v[:: max(1, len(v) // limit_per_source)]
                [:limit_per_source]]
    if change is not None and not change_key:
        raise ValueError("change_key: name the change (and its parameters) for the cache")
    shifted = tuple(shift) != (0.0, 0.0)
    extra = f"{change_key}/seed{change_seed}" if change else ""
    if shifted:
        extra += f"/shift{shift[0]:g},{shift[1]:g}"
    key = _cache_key(spec, rows, extra)
    cpath = CACHE_DIR / f"crops_{key}.npz"
    if cache and cpath.is_file():
        z = np.load(cpath, allow_pickle=False)
        return Dataset(**{k: z[k] for k in Dataset.__dataclass_fields__})
    det = FaceDetector(backend="yunet")
    cols: dict[str, list] = {k: [] for k in Dataset.__dataclass_fields__}
    blank = np.zeros((spec.size, spec.size, 3), np.uint8)
    for i, (meta, img, kind) in enumerate(_items(data_dir, rows)):
        face = None
        if img is not None:
            if kind == "crop":
                face = det.detect_in_crop(img)
            else:
                faces = det.detect(img)
                face = faces[0] if faces else None
        if face is None:
            crop, dname, side = blank, "none", 0.0
        else:
            if change is not None:
                h0, w0 = img.shape[:2]
                img = change(img, np.random.default_rng([change_seed, i]), face)
                if img.shape[:2] != (h0, w0):
                    face = scale_face(face, img.shape[1] / w0, img.shape[0] / h0)
            if shifted:
                face = shift_face(face, shift[0], shift[1], spec)
            crop, _ = prepare(img, face, spec, tensor=False)
            dname, side = face.detector, face_side(face)
        cols["crops"].append(crop)
        cols["ok"].append(face is not None)
        cols["detector"].append(dname)
        cols["face_side"].append(side)
        for k in ("label", "source", "subject", "attack_type", "path"):
            cols[k].append(meta[k])
        if verbose and i % 500 == 0:
            print(f"  preprocessed {i} images", flush=True)
    ds = Dataset(
        crops=np.stack(cols["crops"]), label=np.asarray(cols["label"], np.int64),
        source=np.asarray(cols["source"]), subject=np.asarray(cols["subject"]),
        attack_type=np.asarray(cols["attack_type"]), path=np.asarray(cols["path"]),
        ok=np.asarray(cols["ok"], bool), detector=np.asarray(cols["detector"]),
        face_side=np.asarray(cols["face_side"], np.float32),
    )
    if cache:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cpath.with_suffix(".tmp.npz")
        np.savez(tmp, **{k: getattr(ds, k) for k in Dataset.__dataclass_fields__})
        os.replace(tmp, cpath)
    return ds


# -- splits ------------------------------------------------------------------------------------
NUAA = "nuaa"
ZJU = "zju_eyeblink"
# Group used as the replay part of a dev split (round 1 fitted calibration on it; now only the
# smoke test and experiments use dev_test_split); the second
# entry is used when the first is the held-out source of a cross-source fold.
DEV_GROUPS = ("shubhamlala", "saikan45")
DEV_NUAA_SUBJECTS = 3


def source_names(ds: Dataset) -> list[str]:
    return sorted(set(ds.source.tolist()))


def dev_test_split(ds: Dataset, held_out: str | None, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks (train, dev, test): ``test`` = the held-out source (None: empty); ``dev`` =
    a few NUAA subjects + one self-recorded group, disjoint by subject/group from train and test.
    """
    test = ds.source == held_out if held_out is not None else np.zeros(len(ds), bool)
    rest = ~test
    rng = np.random.default_rng(seed)
    dev = np.zeros(len(ds), bool)
    if held_out != NUAA:
        subs = sorted(set(ds.subject[ds.source == NUAA].tolist()))
        pick = rng.choice(len(subs), size=min(DEV_NUAA_SUBJECTS, len(subs)), replace=False)
        dev |= np.isin(ds.subject, [subs[i] for i in sorted(pick)]) & (ds.source == NUAA)
    group = next(g for g in DEV_GROUPS if g != held_out)
    dev |= ds.source == group
    dev &= rest
    train = rest & ~dev
    return train, dev, test
