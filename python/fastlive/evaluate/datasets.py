"""Evaluation data: labelled samples (a manifest CSV or a live/ spoof/<attack>/ folder) and the
scores.csv of an earlier ``fastlive eval`` run, as one :class:`EvalSet` each."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fastlive.capture import IMAGE_EXTS, VIDEO_EXTS
from fastlive.evaluate.metrics import UNKNOWN_ATTACK, Row

# -- data sets ---------------------------------------------------------------------------------
MANIFEST_REQUIRED = ("path", "label")
LIVE_LABELS = frozenset({"live", "real", "bonafide", "bona_fide", "genuine", "1"})
ATTACK_LABELS = frozenset({"spoof", "attack", "fake", "0"})
# rows with one of these labels (or none) carry no ground truth: skipped and counted
UNLABELED_LABELS = frozenset({"", "unlabeled", "unlabelled", "unknown", "none", "n/a", "na", "?",
                              "-"})


class Samples(list[Row]):
    """The list of samples :func:`load_samples` returns; ``unlabeled`` counts the manifest rows
    skipped because they carry no label."""

    unlabeled: int = 0


def _media_of(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    return ""


def load_samples(data: str | os.PathLike[str], *, limit: int | None = None,
                 sources: Sequence[str] | None = None) -> Samples:
    """Samples of a data set: a manifest CSV or a folder with ``live/`` and ``spoof/<attack>/``.

    Manifest: columns ``path`` (relative to the CSV's folder, or absolute) and ``label``
    (live|spoof), optional ``attack_type``, ``source``, ``media`` (image|video). Folder: every
    image/video under ``live/`` is live, under ``spoof/<attack>/`` an attack of type
    ``<attack>`` (files directly in ``spoof/`` are ``unknown_type``); ``source`` is the folder
    name. ``limit`` keeps that many samples evenly spread over the list (deterministic);
    ``sources`` keeps only those sources. Each sample: path (as listed), abs_path, label
    ("live"/"spoof"), attack_type, source, media. Manifest rows labelled ``unlabeled`` (or
    ``unknown``, or left empty) have no ground truth: they are skipped and counted in the
    returned list's ``unlabeled`` attribute; any other unknown label is an error.
    """
    p = Path(data)
    if not p.exists():
        raise FileNotFoundError(f"DATA: {p} does not exist; pass a manifest CSV or a folder with "
                                "live/ and spoof/<attack>/")
    unlabeled = 0
    if p.is_dir():
        samples = _folder_samples(p)
    else:
        samples, unlabeled = _manifest_samples(p)
    out = Samples(select_samples(samples, limit=limit, sources=sources))
    out.unlabeled = unlabeled
    return out


def select_samples(samples: Sequence[Row], *, limit: int | None = None,
                   sources: Sequence[str] | None = None) -> list[Row]:
    """The samples of ``sources`` (all when None; a source absent from the data is an error),
    then ``limit`` of them spread evenly over the list (deterministic), as
    :func:`load_samples` selects them."""
    out = list(samples)
    if sources:
        wanted = set(sources)
        known = sorted({s["source"] for s in out})
        missing = wanted - set(known)
        if missing:
            raise ValueError(f"--source: {sorted(missing)} not in the data (sources: {known})")
        out = [s for s in out if s["source"] in wanted]
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit: expected a positive int, got {limit!r}")
        if limit < len(out):
            idx = np.unique(np.linspace(0, len(out) - 1, limit).round().astype(int))
            out = [out[i] for i in idx]
    return out


def listed_folder_samples(root: str, names: Sequence[str], source: str) -> list[Row]:
    """The samples of a data folder given as the relative paths (``/``-separated) of the files
    under it, e.g. listed from object storage: ``live/...`` files are live, ``spoof/<attack>/...``
    attacks of that type (files directly in ``spoof/`` are ``unknown_type``), other files and
    non-media files are ignored; ``abs_path`` is ``root/name``, ``source`` is ``source``. The
    same rules as a local folder given to :func:`load_samples`, in sorted order."""
    out = []
    base = root.rstrip("/")
    for name in sorted(names, key=lambda n: n.split("/")):  # as sorted local paths
        parts = name.split("/")
        media = _media_of(parts[-1])
        if not media or len(parts) < 2 or parts[0] not in ("live", "spoof"):
            continue
        label = parts[0]
        attack = "" if label == "live" else (parts[1] if len(parts) > 2 else UNKNOWN_ATTACK)
        out.append({"path": name, "abs_path": f"{base}/{name}", "label": label,
                    "attack_type": attack, "source": source, "media": media})
    return out


def _manifest_samples(p: Path) -> tuple[list[Row], int]:
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = [c for c in MANIFEST_REQUIRED if c not in fields]
            if missing:
                raise ValueError(f"DATA: {p} is not a manifest CSV: missing column(s) {missing} "
                                 f"(found {fields}); expected path,label[,attack_type,source,"
                                 "media]")
            rows = list(reader)
    except UnicodeDecodeError:
        raise ValueError(f"DATA: {p} is not a text CSV manifest") from None
    base = p.parent
    out = []
    unlabeled = 0
    for i, r in enumerate(rows, start=2):
        lab = (r.get("label") or "").strip().lower()
        if lab in LIVE_LABELS:
            label = "live"
        elif lab in ATTACK_LABELS:
            label = "spoof"
        elif lab in UNLABELED_LABELS:
            unlabeled += 1
            continue
        else:
            raise ValueError(f"DATA: {p} line {i}: label {r.get('label')!r} is neither live nor "
                             "spoof (live, spoof, or unlabeled for a row to skip)")
        rel = (r.get("path") or "").strip()
        if not rel:
            raise ValueError(f"DATA: {p} line {i}: empty path")
        ap = Path(rel) if os.path.isabs(rel) else base / rel
        media = (r.get("media") or "").strip() or _media_of(rel)
        out.append({
            "path": rel, "abs_path": str(ap), "label": label,
            "attack_type": "" if label == "live" else ((r.get("attack_type") or "").strip()
                                                       or UNKNOWN_ATTACK),
            "source": (r.get("source") or "").strip() or "default", "media": media,
        })
    if not out:
        what = f" ({unlabeled} unlabeled row(s) skipped)" if unlabeled else ""
        raise ValueError(f"DATA: {p} lists no labelled samples{what}")
    return out, unlabeled


def _folder_samples(p: Path) -> list[Row]:
    live_dir, spoof_dir = p / "live", p / "spoof"
    if not live_dir.is_dir() and not spoof_dir.is_dir():
        raise ValueError(f"DATA: folder {p} has neither live/ nor spoof/<attack>/ subfolders")
    out = []

    def add(f: Path, label: str, attack: str) -> None:
        media = _media_of(f.name)
        if media:
            out.append({"path": str(f.relative_to(p)), "abs_path": str(f), "label": label,
                        "attack_type": attack, "source": p.name, "media": media})

    if live_dir.is_dir():
        for f in sorted(live_dir.rglob("*")):
            if f.is_file():
                add(f, "live", "")
    if spoof_dir.is_dir():
        for f in sorted(spoof_dir.rglob("*")):
            if f.is_file():
                rel = f.relative_to(spoof_dir).parts
                add(f, "spoof", rel[0] if len(rel) > 1 else UNKNOWN_ATTACK)
    if not out:
        raise ValueError(f"DATA: folder {p} holds no image or video files under live/ or spoof/")
    return out


# -- rows (scores.csv) -> metrics ------------------------------------------------------------------
SCORES_REQUIRED = ("path", "label", "score")


def is_scores_csv(path: str | os.PathLike[str]) -> bool:
    """True for a CSV with path, label and score columns (a ``fastlive eval`` scores.csv)."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            fields = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return False
    return all(c in fields for c in SCORES_REQUIRED)


def read_scores(path: str | os.PathLike[str]) -> list[Row]:
    """Rows of a scores CSV written by ``fastlive eval``: ``score`` as a float (NaN when
    empty: no face), ``label`` "live"/"spoof", ``error`` ("" for a readable sample)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such scores file")
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in SCORES_REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{p}: not a scores CSV: missing column(s) {missing}")
        rows = list(reader)
    out = []
    for i, r in enumerate(rows, start=2):
        lab = (r.get("label") or "").strip().lower()
        if lab in LIVE_LABELS:
            r["label"] = "live"
        elif lab in ATTACK_LABELS:
            r["label"] = "spoof"
        else:
            raise ValueError(f"{p} line {i}: label {r.get('label')!r} is neither live nor spoof")
        v = (r.get("score") or "").strip()
        try:
            score = float(v) if v else float("nan")
        except ValueError:
            raise ValueError(f"{p} line {i}: score {v!r} is not a number") from None
        r["score"] = score
        if math.isinf(score):
            raise ValueError(f"{p} line {i}: score {v!r} is not finite")
        r["attack_type"] = "" if r["label"] == "live" else ((r.get("attack_type") or "").strip()
                                                            or UNKNOWN_ATTACK)
        r["source"] = (r.get("source") or "").strip() or "default"
        r["error"] = (r.get("error") or "").strip()
        out.append(r)
    if not out:
        raise ValueError(f"{p}: holds no scored samples")
    return out


def recorded_threshold(scores_path: str | os.PathLike[str]) -> tuple[float, str] | None:
    """(threshold, where it came from) from the metrics.json beside a scores.csv, if any."""
    mp = Path(scores_path).with_name("metrics.json")
    try:
        doc = json.loads(mp.read_text(encoding="utf-8"))
        m = doc["metrics"]
        t = m.get("threshold")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t):
        return float(t), str(m.get("threshold_source", "recorded"))
    return None




# -- one input of an evaluation ------------------------------------------------------------------
@dataclass
class EvalSet:
    """One evaluation input (``fastlive eval``'s DATA or DEV): labelled ``samples`` to score
    (a manifest or folder), or the ``rows`` of an earlier run's scores.csv (read, not
    rescored; ``recorded``: the threshold that run recorded beside them)."""

    spec: str
    samples: Samples | None = None
    rows: list[Row] | None = None  # the scores.csv rows, or the samples once scored
    recorded: tuple[float, str] | None = None
    unlabeled: int = 0  # manifest rows skipped for want of a label
    missing: list[str] = field(default_factory=list)  # listed files that do not exist

    @property
    def scored(self) -> bool:
        """True when the samples are scored here (a manifest or folder)."""
        return self.samples is not None


def load_set(spec: str | os.PathLike[str], *, sources: Sequence[str] | None = None,
             limit: int | None = None) -> EvalSet:
    """The :class:`EvalSet` of a scores.csv (see :func:`is_scores_csv`), a manifest CSV or a
    data folder, keeping only ``sources`` (and, for samples to score, ``limit`` of them, see
    :func:`load_samples`). Errors name the input as ``DATA`` (or ``--source``)."""
    spec = os.fspath(spec)
    if is_scores_csv(spec):
        try:
            rows = read_scores(spec)
        except (OSError, ValueError) as exc:
            raise ValueError(f"DATA: {exc}") from exc
        if sources:
            known = sorted({r["source"] for r in rows})
            absent = sorted(set(sources) - set(known))
            if absent:
                raise ValueError(f"--source: {absent} not in {spec} (sources: {known})")
            rows = [r for r in rows if r["source"] in sources]
        return EvalSet(spec, rows=rows, recorded=recorded_threshold(spec))
    samples = load_samples(spec, limit=limit, sources=sources)
    missing = [s["abs_path"] for s in samples if not os.path.exists(s["abs_path"])]
    return EvalSet(spec, samples=samples, unlabeled=samples.unlabeled, missing=missing)
