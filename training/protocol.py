"""The evaluation protocol every choice in training/ is made on, and its tables.

Leave-one-source-out (LOSO): a source (one project, camera, room: the manifest's ``source``) is
one group, never split between training and test. Every source with both live faces and
attacks is held out once; the model of its fold is trained on every other source (live-only
sources included), and the held-out source is used for nothing but scoring.

Set-aside sources: fixed before the first experiment by a written rule, the 4th, 8th, 12th, ...
two-class source in alphabetical order of the 25-source data set (December 2026). No choice
(features, networks, fusion, thresholds) is ever made on them: development folds neither score
nor train on them, fusion and thresholds are fitted without them, and they are reported once
per shipped model, in their own column. Sources added to ``../shared/data`` later are
development sources unless this list is extended by the same rule.

Thresholds in the tables: each held-out source is decided at thresholds fitted on the
out-of-source scores of the *other* development sources (nested), so no source's own scores
set its threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SET_ASIDE = ("codewithprabhu", "haonguyen1", "neonipun", "rounakdeepsingh", "spp77")
OPERATING_POINTS = ("convenience", "balanced", "secure")


def two_class_sources(source: np.ndarray, label: np.ndarray) -> list[str]:
    """Sources with both live faces and attacks, alphabetically."""
    return sorted(s for s in set(source.tolist())
                  if {0, 1} <= set(label[source == s].tolist()))


def set_aside_rule(sources: Sequence[str]) -> list[str]:
    """The written rule: every 4th two-class source in alphabetical order (``SET_ASIDE`` is
    this rule applied to the 22 two-class sources of December 2026)."""
    return sorted(sources)[3::4]


def dev_sources(source: np.ndarray, label: np.ndarray) -> list[str]:
    return [s for s in two_class_sources(source, label) if s not in SET_ASIDE]


@dataclass
class Rows:
    """What the protocol needs to know of every row (image or sampled video frame)."""

    label: np.ndarray  # 1 live, 0 attack
    source: np.ndarray
    attack_type: np.ndarray
    ok: np.ndarray  # a face was found
    webcam: np.ndarray  # a whole-frame webcam source (webcam/ in the manifest)


def loso(rows: Rows, held_out: Sequence[str], fit: Callable[[np.ndarray], Any],
         predict: Callable[[Any, np.ndarray], np.ndarray], *, train_on: np.ndarray,
         verbose: bool = False) -> np.ndarray:
    """Out-of-source scores: for each source S of ``held_out``, ``model = fit(train_idx)`` on
    the rows of ``train_on`` outside S (faces found only) and ``predict(model, idx)`` on S's
    rows. Rows outside ``held_out`` (and FTA rows) stay NaN."""
    out = np.full(len(rows.label), np.nan)
    for s in held_out:
        tr = np.flatnonzero(train_on & rows.ok & (rows.source != s))
        te = np.flatnonzero((rows.source == s) & rows.ok)
        model = fit(tr)
        out[te] = predict(model, te)
        if verbose:
            from sklearn.metrics import roc_auc_score

            print(f"    {s}: AUC {roc_auc_score(rows.label[te], out[te]):.3f}", flush=True)
    return out


def source_metrics(score: np.ndarray, rows: Rows, source: str,
                   thresholds: dict[str, float]) -> dict[str, Any]:
    """AUC, EER, and APCER per attack type / BPCER at each operating point of one source."""
    from fastlive.evaluate import pad_metrics

    m = rows.source == source
    s = np.where(rows.ok[m], score[m], np.nan)
    out: dict[str, Any] = {"source": source, "n_live": int((rows.label[m] == 1).sum()),
                           "n_attack": int((rows.label[m] == 0).sum()),
                           "webcam": bool(rows.webcam[m].all())}
    for op in OPERATING_POINTS:
        pm = pad_metrics(s, rows.label[m], rows.attack_type[m], threshold=thresholds[op])
        out[op] = {"bpcer": pm["bpcer"], "apcer": pm["apcer"], "apcer_worst": pm["apcer_worst"],
                   "acer": pm["acer"]}
        if op == "balanced":
            out["auc"], out["eer"], out["fta"] = pm["auc"], pm["eer"], pm["fta_rate"]
    return out


def summary(per_source: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, median and worst over sources of AUC, EER, ACER and BPCER at ``balanced``."""
    def col(key: str, op: str | None = None) -> np.ndarray:
        return np.array([(r[op][key] if op else r[key]) for r in per_source], float)

    auc, eer = col("auc"), col("eer")
    acer, bpcer = col("acer", "balanced"), col("bpcer", "balanced")
    names = [r["source"] for r in per_source]
    return {
        "n_sources": len(per_source),
        "auc": {"mean": float(np.nanmean(auc)), "median": float(np.nanmedian(auc)),
                "worst": float(np.nanmin(auc)), "worst_source": names[int(np.nanargmin(auc))]},
        "eer": {"mean": float(np.nanmean(eer)), "worst": float(np.nanmax(eer))},
        "acer": {"mean": float(np.nanmean(acer)), "median": float(np.nanmedian(acer)),
                 "worst": float(np.nanmax(acer)), "worst_source": names[int(np.nanargmax(acer))]},
        "bpcer": {"mean": float(np.nanmean(bpcer)), "worst": float(np.nanmax(bpcer))},
    }


def pooled(score: np.ndarray, rows: Rows, sources: Sequence[str],
           thresholds: dict[str, float]) -> dict[str, Any]:
    """Every listed source's out-of-source scores together (one threshold per operating point):
    AUC, EER, and per operating point BPCER and APCER per attack type."""
    from fastlive.evaluate import pad_metrics

    m = np.isin(rows.source, list(sources))
    s = np.where(rows.ok[m], score[m], np.nan)
    out: dict[str, Any] = {}
    for op in OPERATING_POINTS:
        pm = pad_metrics(s, rows.label[m], rows.attack_type[m], threshold=thresholds[op])
        out[op] = {"bpcer": pm["bpcer"], "apcer": pm["apcer"], "acer": pm["acer"]}
        out["auc"], out["eer"] = pm["auc"], pm["eer"]
    return out


def nested_thresholds(score: np.ndarray, rows: Rows, held_out: str, fit_on: Sequence[str],
                      rule: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                      np.ndarray], dict[str, float]]) -> dict[str, float]:
    """The operating points used to decide ``held_out``: ``rule`` fitted on the scores of the
    ``fit_on`` sources other than ``held_out``."""
    m = np.isin(rows.source, [s for s in fit_on if s != held_out]) & rows.ok & ~np.isnan(score)
    return rule(score[m], rows.label[m], rows.source[m], rows.attack_type[m], rows.webcam[m])


def pct(v: float) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.1f}"


def markdown_table(per_source: list[dict[str, Any]]) -> str:
    """One row per source: AUC, EER, BPCER at each operating point, APCER per attack type at
    balanced."""
    types = sorted({t for r in per_source for t in r["balanced"]["apcer"]})
    head = ("| source | live | attacks | AUC | EER % | BPCER % conv / bal / sec | "
            + " | ".join(f"APCER % {t} (bal)" for t in types) + " | ACER % (bal) |")
    sep = "|" + "---|" * (7 + len(types))
    lines = [head, sep]
    for r in per_source:
        bp = " / ".join(pct(r[op]["bpcer"]) for op in OPERATING_POINTS)
        ap = " | ".join(pct(r["balanced"]["apcer"].get(t, float("nan"))) for t in types)
        name = r["source"] + (" (webcam)" if r["webcam"] else "")
        lines.append(f"| {name} | {r['n_live']} | {r['n_attack']} | {r['auc']:.3f} | "
                     f"{pct(r['eer'])} | {bp} | {ap} | {pct(r['balanced']['acer'])} |")
    return "\n".join(lines)
