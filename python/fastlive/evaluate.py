"""Presentation-attack-detection metrics (ISO/IEC 30107-3 vocabulary), in plain numpy.

Conventions (the same everywhere in fastlive):

* ``scores``: higher = more likely live, finite floats (normally in [0, 1]). ``NaN`` marks a
  *failure to acquire* (FTA): no face could be scored for that sample.
* ``labels``: 1 = bona fide (live), 0 = attack (presentation attack instrument, PAI).
* Decision rule at threshold ``t``: a sample is *accepted as live* when ``score >= t``.
* APCER(species) = attacks of that species accepted as live / attacks of that species.
  ``apcer_worst`` is the maximum over species (ISO/IEC 30107-3 reports the worst species).
* BPCER = live samples rejected / live samples. ACER = (apcer_worst + BPCER) / 2.
* FTA samples are excluded from APCER / BPCER / EER / AUC and reported separately
  (``n_fta``, ``fta_rate``, ``fta_live``, ``fta_attack``).
* EER: the point where the (worst-species) APCER and BPCER curves cross, interpolated linearly
  between the two neighbouring operating points (thresholds = the distinct observed scores).
* AUC: ROC area = P(live score > attack score) + 0.5 P(equal) (Mann-Whitney, ties halved),
  on the pooled attacks.
* BPCER at APCER x: the lowest BPCER over thresholds whose worst-species APCER <= x.

Undefined metrics (APCER with no attacks, BPCER with no live samples, EER/AUC without both
classes) are ``nan``, and ``notes`` says why. Bad input raises TypeError/ValueError naming the
argument.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

UNKNOWN_ATTACK = "unknown_type"


def _as_scores(scores: Any) -> np.ndarray:
    if scores is None or isinstance(scores, (str, bytes)):
        raise TypeError(f"scores: expected a 1-D sequence of floats, got {type(scores).__name__}")
    try:
        s = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scores: expected a 1-D sequence of floats (NaN = failure to acquire); "
                        f"could not convert ({exc})") from None
    if s.ndim != 1:
        raise ValueError(f"scores: expected a 1-D sequence, got shape {s.shape}")
    if s.size == 0:
        raise ValueError("scores: empty; pass at least one scored sample")
    if np.isinf(s).any():
        raise ValueError("scores: contains +/-inf; scores must be finite (use NaN for a "
                         "failure to acquire)")
    return s


def _as_labels(labels: Any, n: int) -> np.ndarray:
    if labels is None or isinstance(labels, (str, bytes)):
        raise TypeError(f"labels: expected a 1-D sequence of 0/1 (1 = live, 0 = attack), "
                        f"got {type(labels).__name__}")
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"labels: expected a 1-D sequence, got shape {lab.shape}")
    if lab.shape[0] != n:
        raise ValueError(f"labels: length {lab.shape[0]} does not match scores length {n}")
    if lab.dtype.kind not in "biuf":
        raise TypeError(f"labels: expected 0/1 integers or bools (1 = live, 0 = attack), got "
                        f"dtype {lab.dtype}; map strings first, e.g. labels == 'live'")
    labf = lab.astype(np.float64)
    bad = ~np.isin(labf, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"labels: values must be 0 (attack) or 1 (live); found "
                         f"{sorted(set(np.unique(labf[bad]).tolist()))[:5]}")
    return labf.astype(bool)


def _as_strings(values: Any, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}: expected one value per sample (a sequence), got a single string")
    out = np.asarray(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                      for v in values], dtype=object)
    if out.shape[0] != n:
        raise ValueError(f"{name}: length {out.shape[0]} does not match scores length {n}")
    return out


def _check_threshold(threshold: Any) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating,
                                                                 np.integer)):
        raise TypeError(f"threshold: expected a float or None, got {type(threshold).__name__}")
    t = float(threshold)
    if not math.isfinite(t):
        raise ValueError(f"threshold: must be finite, got {t}")
    return t


def _nan() -> float:
    return float("nan")


def error_curves(scores: Any, labels: Any, attack_types: Any = None) -> dict[str, np.ndarray]:
    """Operating points over every distinct threshold (FTA samples dropped).

    Returns ``thresholds`` (ascending: the distinct finite scores, then ``+inf`` = reject all),
    ``apcer`` (worst species, non-increasing), ``apcer_pooled`` (all attacks pooled) and
    ``bpcer`` (non-decreasing), each the same length. Rates are NaN for an absent class.
    """
    s = _as_scores(scores)
    lab = _as_labels(labels, s.shape[0])
    types = _as_strings(attack_types, s.shape[0], "attack_types")
    ok = ~np.isnan(s)
    s, lab = s[ok], lab[ok]
    if types is not None:
        types = types[ok]
    thr = np.concatenate([np.unique(s), [np.inf]])
    live = np.sort(s[lab])
    # BPCER(t) = #live with score < t / n_live
    bpcer = (np.searchsorted(live, thr, side="left") / live.size if live.size
             else np.full(thr.shape, np.nan))
    att_scores = s[~lab]
    if att_scores.size:
        att = np.sort(att_scores)
        pooled = 1.0 - np.searchsorted(att, thr, side="left") / att.size
        species = (np.full(att_scores.shape, "", dtype=object) if types is None
                   else types[~lab])
        worst = np.zeros(thr.shape)
        for sp in np.unique(species):
            a = np.sort(att_scores[species == sp])
            worst = np.maximum(worst, 1.0 - np.searchsorted(a, thr, side="left") / a.size)
    else:
        pooled = worst = np.full(thr.shape, np.nan)
    return {"thresholds": thr, "apcer": worst, "apcer_pooled": pooled, "bpcer": bpcer}


def _eer(apcer: np.ndarray, bpcer: np.ndarray, thr: np.ndarray) -> tuple[float, float]:
    """Interpolated crossing of non-increasing ``apcer`` and non-decreasing ``bpcer``."""
    d = apcer - bpcer  # non-increasing; d[0] = apcer(min) - 0 >= 0, d[-1] = 0 - 1 < 0
    i = int(np.argmax(d <= 0))  # first index where bpcer >= apcer
    if i == 0:
        return float(apcer[0]), float(thr[0])
    d0, d1 = d[i - 1], d[i]
    f = d0 / (d0 - d1)
    eer = apcer[i - 1] + f * (apcer[i] - apcer[i - 1])
    t = thr[i - 1] if f < 0.5 else thr[i]
    return float(eer), float(t)


def _auc(live: np.ndarray, attack: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted as one half (average ranks)."""
    allv = np.concatenate([live, attack])
    _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
    # average 1-based rank of each distinct value
    ends = np.cumsum(counts)
    avg_rank = ends - (counts - 1) / 2.0
    ranks = avg_rank[inv]
    r_live = ranks[: live.size].sum()
    n1, n0 = live.size, attack.size
    return float((r_live - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def pad_metrics(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray,
                attack_types: Sequence[Any] | None = None, sources: Sequence[Any] | None = None,
                threshold: float | None = None) -> dict[str, Any]:
    """ISO/IEC 30107-3 PAD metrics for one set of scored samples.

    Parameters
    ----------
    scores: higher = live; NaN = failure to acquire.
    labels: 1 = live (bona fide), 0 = attack.
    attack_types: per-sample PAI species (ignored for live samples); missing/empty for an
        attack = ``"unknown_type"``. None: all attacks are one species ``"attack"``.
    sources: per-sample source name; adds ``per_source`` (same threshold as overall).
    threshold: decision threshold (``score >= threshold`` = live). It should be fixed on a
        development split; None uses the EER threshold of *these* samples
        (``threshold_source = "eer"``, optimistic).

    Returns a JSON-friendly dict (floats may be NaN): ``n``, ``n_live``, ``n_attack``,
    ``n_fta``, ``fta_rate``, ``fta_live``, ``fta_attack``, ``threshold``,
    ``threshold_source``, ``apcer`` ({species: rate}), ``apcer_worst``, ``apcer_worst_type``,
    ``apcer_pooled``, ``bpcer``, ``acer``, ``eer``, ``eer_threshold``, ``auc``,
    ``bpcer_at_apcer_1pct``, ``threshold_at_apcer_1pct``, ``bpcer_at_apcer_5pct``,
    ``threshold_at_apcer_5pct``, ``notes`` and (with ``sources``) ``per_source``.
    """
    s = _as_scores(scores)
    n = s.shape[0]
    lab = _as_labels(labels, n)
    types = _as_strings(attack_types, n, "attack_types")
    srcs = _as_strings(sources, n, "sources")
    thr_in = _check_threshold(threshold)
    if types is None:
        types = np.full(n, "attack", dtype=object)
    else:
        types = np.where(types == "", UNKNOWN_ATTACK, types)

    fta = np.isnan(s)
    notes: list[str] = []
    n_live_all, n_att_all = int(lab.sum()), int((~lab).sum())
    out: dict[str, Any] = {
        "n": n,
        "n_live": n_live_all,
        "n_attack": n_att_all,
        "n_fta": int(fta.sum()),
        "fta_rate": float(fta.mean()),
        "fta_live": int((fta & lab).sum()),
        "fta_attack": int((fta & ~lab).sum()),
    }
    ok = ~fta
    sv, lv, tv = s[ok], lab[ok], types[ok]
    live, att = sv[lv], sv[~lv]
    if live.size == 0:
        notes.append("no scored live samples: BPCER, EER, AUC undefined" if n_live_all
                     else "no live samples: BPCER, EER, AUC undefined")
    if att.size == 0:
        notes.append("no scored attack samples: APCER, EER, AUC undefined" if n_att_all
                     else "no attack samples: APCER, EER, AUC undefined")

    if sv.size:
        curves = error_curves(sv, lv.astype(np.int8), tv)
        thr_all, ap, bp = curves["thresholds"], curves["apcer"], curves["bpcer"]
    both = live.size > 0 and att.size > 0
    if both:
        eer, eer_t = _eer(ap, bp, thr_all)
        auc = _auc(live, att)
    else:
        eer, eer_t, auc = _nan(), _nan(), _nan()
    out["eer"], out["eer_threshold"], out["auc"] = eer, eer_t, auc

    if thr_in is not None:
        t, t_src = thr_in, "given"
    elif both:
        t, t_src = eer_t, "eer"
        notes.append("threshold chosen at the EER of these samples (optimistic; fix it on a "
                     "development split and pass threshold=)")
    else:
        t, t_src = _nan(), "none"
        notes.append("no threshold given and no EER threshold available: APCER/BPCER/ACER "
                     "undefined")
    out["threshold"], out["threshold_source"] = t, t_src

    apcer: dict[str, float] = {}
    for sp in sorted(set(tv[~lv].tolist())):
        a = att[tv[~lv] == sp]
        apcer[sp] = float(np.mean(a >= t)) if not math.isnan(t) else _nan()
    out["apcer"] = apcer
    if apcer and not math.isnan(t):
        worst_type = max(apcer, key=lambda k: (apcer[k], k))
        out["apcer_worst"], out["apcer_worst_type"] = apcer[worst_type], worst_type
        out["apcer_pooled"] = float(np.mean(att >= t))
    else:
        out["apcer_worst"], out["apcer_worst_type"], out["apcer_pooled"] = _nan(), None, _nan()
    out["bpcer"] = float(np.mean(live < t)) if live.size and not math.isnan(t) else _nan()
    out["acer"] = (out["apcer_worst"] + out["bpcer"]) / 2.0

    for pct in (1, 5):
        key = f"bpcer_at_apcer_{pct}pct"
        if both:
            okk = ap <= pct / 100.0 + 1e-12
            j = int(np.argmax(okk))  # smallest threshold meeting the APCER bound (bpcer min)
            out[key], out[f"threshold_at_apcer_{pct}pct"] = float(bp[j]), float(thr_all[j])
        else:
            out[key], out[f"threshold_at_apcer_{pct}pct"] = _nan(), _nan()
    out["notes"] = notes

    if srcs is not None:
        per: dict[str, Any] = {}
        t_fixed = None if math.isnan(t) else t
        for src in sorted(set(srcs.tolist())):
            m = srcs == src
            sub = pad_metrics(s[m], lab[m].astype(np.int8), types[m], None, t_fixed)
            if t_src == "eer":
                sub["threshold_source"] = "eer (overall)"
            per[src] = sub
        out["per_source"] = per
    return out


def to_jsonable(obj: Any) -> Any:
    """Replace NaN/inf floats by None (strict JSON) and numpy scalars by Python ones."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# -- data sets ---------------------------------------------------------------------------------
MANIFEST_REQUIRED = ("path", "label")
LIVE_LABELS = frozenset({"live", "real", "bonafide", "bona_fide", "genuine", "1"})
ATTACK_LABELS = frozenset({"spoof", "attack", "fake", "0"})


def _media_of(path: str) -> str:
    from fastlive.capture import IMAGE_EXTS, VIDEO_EXTS

    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    return ""


def load_samples(data: str | os.PathLike[str], *, limit: int | None = None,
                 sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Samples of a data set: a manifest CSV or a folder with ``live/`` and ``spoof/<attack>/``.

    Manifest: columns ``path`` (relative to the CSV's folder, or absolute) and ``label``
    (live|spoof), optional ``attack_type``, ``source``, ``media`` (image|video). Folder: every
    image/video under ``live/`` is live, under ``spoof/<attack>/`` an attack of type
    ``<attack>`` (files directly in ``spoof/`` are ``unknown_type``); ``source`` is the folder
    name. ``limit`` keeps that many samples evenly spread over the list (deterministic);
    ``sources`` keeps only those sources. Each sample: path (as listed), abs_path, label
    ("live"/"spoof"), attack_type, source, media.
    """
    p = Path(data)
    if not p.exists():
        raise FileNotFoundError(f"DATA: {p} does not exist; pass a manifest CSV or a folder with "
                                "live/ and spoof/<attack>/")
    if p.is_dir():
        samples = _folder_samples(p)
    else:
        samples = _manifest_samples(p)
    if sources:
        wanted = set(sources)
        known = sorted({s["source"] for s in samples})
        missing = wanted - set(known)
        if missing:
            raise ValueError(f"--source: {sorted(missing)} not in the data (sources: {known})")
        samples = [s for s in samples if s["source"] in wanted]
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit: expected a positive int, got {limit!r}")
        if limit < len(samples):
            idx = np.unique(np.linspace(0, len(samples) - 1, limit).round().astype(int))
            samples = [samples[i] for i in idx]
    return samples


def _manifest_samples(p: Path) -> list[dict[str, Any]]:
    import csv

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
    for i, r in enumerate(rows, start=2):
        lab = (r.get("label") or "").strip().lower()
        if lab in LIVE_LABELS:
            label = "live"
        elif lab in ATTACK_LABELS:
            label = "spoof"
        else:
            raise ValueError(f"DATA: {p} line {i}: label {r.get('label')!r} is neither live nor "
                             "spoof")
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
        raise ValueError(f"DATA: {p} lists no samples")
    return out


def _folder_samples(p: Path) -> list[dict[str, Any]]:
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
