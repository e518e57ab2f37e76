"""Presentation-attack-detection metrics (ISO/IEC 30107-3 vocabulary), in plain numpy.

Conventions (the same everywhere in fastlive):

* ``scores``: higher = more likely live, finite floats (normally in [0, 1]). ``NaN`` marks a
  *failure to acquire* (FTA): no face could be scored for that sample.
* ``labels``: 1 = bona fide (live), 0 = attack (presentation attack instrument, PAI).
* Decision rule at threshold ``t``: a sample is *accepted as live* when ``score >= t``.
* APCER(species) = attacks of that species accepted as live / attacks of that species.
  ``apcer_worst`` is the maximum over species (ISO/IEC 30107-3 reports the worst species).
* ``apcer_pooled``: all attacks pooled, whatever their species.
* BPCER = live samples rejected / live samples. ACER = (apcer_worst + BPCER) / 2;
  HTER = (apcer_pooled + BPCER) / 2 (the half total error rate of the biometrics literature).
* FTA samples are excluded from APCER / BPCER / EER / AUC and reported separately
  (``n_fta``, ``fta_rate``, ``fta_live``, ``fta_attack``).
* EER: the standard equal error rate, where the APCER of all attacks pooled and the BPCER
  cross, interpolated linearly between the two neighbouring operating points (thresholds = the
  distinct observed scores). ``eer_by_type`` / ``auc_by_type``: the same figures for each
  species' attacks alone against the live samples.
* AUC: ROC area = P(live score > attack score) + 0.5 P(equal) (Mann-Whitney, ties halved),
  on the pooled attacks.
* BPCER at APCER x: the lowest BPCER over thresholds whose worst-species APCER <= x (every
  species at most x).

Undefined metrics (APCER with no attacks, BPCER with no live samples, EER/AUC without both
classes) are ``nan``, and ``notes`` says why. Bad input raises TypeError/ValueError naming the
argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

UNKNOWN_ATTACK = "unknown_type"

# The two documents evaluation passes around, JSON-like and keyed by name: a scores.csv row
# (path, label, attack_type, source, media, score, decision, cues, error, ...) and a
# pad_metrics result.
Row = dict[str, Any]
Metrics = dict[str, Any]


def _as_scores(scores: object) -> np.ndarray:
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


def _as_labels(labels: object, n: int) -> np.ndarray:
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


def _as_strings(values: Iterable[object] | None, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}: expected one value per sample (a sequence), got a single string")
    out = np.asarray(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                      for v in values], dtype=object)
    if out.shape[0] != n:
        raise ValueError(f"{name}: length {out.shape[0]} does not match scores length {n}")
    return out


def _check_threshold(threshold: object) -> float | None:
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


def error_curves(scores: object, labels: object, attack_types: Iterable[object] | None = None
                 ) -> dict[str, np.ndarray]:
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
    """Interpolated crossing of non-increasing ``apcer`` and non-decreasing ``bpcer``; the
    threshold returned is the nearer of the two neighbouring operating points."""
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


def _by_type(live: np.ndarray, att: np.ndarray, att_types: np.ndarray) -> Metrics:
    """Each attack species alone against the live samples: its EER, AUC and count."""
    eer_by: dict[str, float] = {}
    auc_by: dict[str, float] = {}
    n_by: dict[str, int] = {}
    for sp in sorted(set(att_types.tolist())):
        a = att[att_types == sp]
        n_by[sp] = int(a.size)
        if live.size:
            pair = np.concatenate([live, a])
            c = error_curves(pair, np.r_[np.ones(live.size, np.int8),
                                         np.zeros(a.size, np.int8)])
            eer_by[sp] = _eer(c["apcer_pooled"], c["bpcer"], c["thresholds"])[0]
            auc_by[sp] = _auc(live, a)
        else:
            eer_by[sp], auc_by[sp] = _nan(), _nan()
    return {"eer_by_type": eer_by, "auc_by_type": auc_by, "n_attack_by_type": n_by}


def _rates_at(t: float, live: np.ndarray, att: np.ndarray, att_types: np.ndarray) -> Metrics:
    """APCER per species (and the worst, and pooled), BPCER, ACER and HTER at threshold t."""
    out: Metrics = {}
    apcer: dict[str, float] = {}
    for sp in sorted(set(att_types.tolist())):
        a = att[att_types == sp]
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
    out["hter"] = (out["apcer_pooled"] + out["bpcer"]) / 2.0
    return out


def _bpcer_at_apcer(x: float, curves: dict[str, np.ndarray]) -> tuple[float, float]:
    """(BPCER, threshold) at the smallest threshold whose worst-species APCER is <= x (the
    lowest BPCER meeting the bound)."""
    j = int(np.argmax(curves["apcer"] <= x + 1e-12))
    return float(curves["bpcer"][j]), float(curves["thresholds"][j])


def pad_metrics(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray,
                attack_types: Sequence[object] | None = None,
                sources: Sequence[object] | None = None, threshold: float | None = None) -> Metrics:
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
    ``apcer_pooled``, ``bpcer``, ``acer``, ``hter``, ``eer`` (attacks pooled),
    ``eer_threshold``, ``auc``, ``eer_by_type``, ``auc_by_type`` and ``n_attack_by_type``
    (scored attacks) ({species: figure}),
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
    out: Metrics = {
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

    curves = error_curves(sv, lv.astype(np.int8), tv) if sv.size else {}
    both = live.size > 0 and att.size > 0
    if both:
        eer, eer_t = _eer(curves["apcer_pooled"], curves["bpcer"], curves["thresholds"])
        auc = _auc(live, att)
    else:
        eer, eer_t, auc = _nan(), _nan(), _nan()
    out["eer"], out["eer_threshold"], out["auc"] = eer, eer_t, auc
    out.update(_by_type(live, att, tv[~lv]))

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
    out.update(_rates_at(t, live, att, tv[~lv]))
    for pct in (1, 5):
        b, tb = _bpcer_at_apcer(pct / 100.0, curves) if both else (_nan(), _nan())
        out[f"bpcer_at_apcer_{pct}pct"], out[f"threshold_at_apcer_{pct}pct"] = b, tb
    out["notes"] = notes

    if srcs is not None:
        per: dict[str, Metrics] = {}
        t_fixed = None if math.isnan(t) else t
        for src in sorted(set(srcs.tolist())):
            m = srcs == src
            sub = pad_metrics(s[m], lab[m].astype(np.int8), types[m], None, t_fixed)
            if t_src == "eer":
                sub["threshold_source"] = "eer (overall)"
            per[src] = sub
        out["per_source"] = per
    return out


def to_jsonable(obj: object) -> object:
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


# -- threshold policy ----------------------------------------------------------------------------
CRITERIA = ("eer", "min-hter", "apcer=X")


def parse_criterion(criterion: str) -> tuple[str, float | None]:
    """``"eer"``, ``"min-hter"`` or ``"apcer=X"`` (X a rate, ``0.05`` or ``5%``) ->
    (name, X or None)."""
    if not isinstance(criterion, str):
        raise TypeError(f"criterion: expected a str (eer, min-hter or apcer=X), got "
                        f"{type(criterion).__name__}")
    c = criterion.strip().lower()
    if c in ("eer", "min-hter"):
        return c, None
    if c.startswith("apcer="):
        v = c[len("apcer="):].strip()
        try:
            x = float(v[:-1]) / 100.0 if v.endswith("%") else float(v)
        except ValueError:
            x = float("nan")
        if not 0.0 <= x < 1.0:
            raise ValueError(f"criterion: apcer=X needs a rate in [0, 1) such as 0.05 or 5%, "
                             f"got {criterion!r}")
        return "apcer", x
    raise ValueError(f"criterion: expected eer, min-hter or apcer=X (X a rate such as 0.05 or "
                     f"5%), got {criterion!r}")


def describe_criterion(criterion: str) -> str:
    name, x = parse_criterion(criterion)
    if name == "apcer":
        assert x is not None
        return f"worst-type APCER <= {100 * x:g}% with the lowest BPCER"
    return {"eer": "its EER", "min-hter": "its minimum HTER"}[name]


def threshold_at(scores: object, labels: object, attack_types: Iterable[object] | None = None,
                 criterion: str = "eer") -> float:
    """The decision threshold that ``criterion`` picks on these (development) samples.

    ``eer``: the EER threshold (attacks pooled, as in :func:`pad_metrics`); ``min-hter``: the
    threshold with the lowest (APCER pooled + BPCER) / 2 (the lowest such threshold on ties);
    ``apcer=X``: the lowest threshold whose worst-species APCER is at most X (so the lowest
    BPCER under that bound). Raises ValueError without both scored live and attack samples.
    """
    name, x = parse_criterion(criterion)
    s = _as_scores(scores)
    lab = _as_labels(labels, s.shape[0])
    ok = ~np.isnan(s)
    if not (lab[ok].any() and (~lab[ok]).any()):
        raise ValueError("scores: fixing a threshold needs scored live and attack samples")
    c = error_curves(s, lab.astype(np.int8), attack_types)
    thr = c["thresholds"]
    if name == "eer":
        return _eer(c["apcer_pooled"], c["bpcer"], thr)[1]
    if name == "min-hter":
        hter = (c["apcer_pooled"] + c["bpcer"]) / 2.0
        j = int(np.argmax(hter <= hter.min() + 1e-12))  # ties (up to rounding): the lowest
    else:
        assert x is not None
        j = int(np.argmax(c["apcer"] <= x + 1e-12))
    t = float(thr[j])
    if not math.isfinite(t):  # reject everything: just above the highest score
        t = float(np.nextafter(np.nanmax(s), np.inf))
    return t


def metrics_from_rows(rows: Sequence[Row], threshold: float | None = None,
                      threshold_source: str | None = None) -> Metrics:
    """:func:`pad_metrics` of scores.csv-like rows (overall and per source).

    Rows with an ``error`` (a file that could not be read) are no sample of the system: they
    are left out and counted in ``n_unreadable``. ``threshold_source`` replaces the
    ``threshold_source`` of the result (and of each source) when a threshold is given.
    """
    ok = [r for r in rows if not r.get("error")]
    if not ok:
        raise ValueError(f"no readable sample among {len(rows)}: nothing to evaluate")
    m = pad_metrics([float(r["score"]) for r in ok], [1 if r["label"] == "live" else 0
                                                      for r in ok],
                    attack_types=[r.get("attack_type") or "" for r in ok],
                    sources=[r.get("source") or "default" for r in ok], threshold=threshold)
    m["n_unreadable"] = len(rows) - len(ok)
    if m["n_unreadable"]:
        m["notes"].append(f"{m['n_unreadable']} unreadable sample(s) left out (error column "
                          "of scores.csv)")
    if threshold is not None and threshold_source:
        m["threshold_source"] = threshold_source
        for sub in m.get("per_source", {}).values():
            sub["threshold_source"] = threshold_source
    return m


def dev_eval_metrics(dev_rows: Sequence[Row], eval_rows: Sequence[Row],
                     criterion: str = "eer") -> tuple[Metrics, Metrics]:
    """The dev/eval protocol: fix the threshold on ``dev_rows`` by ``criterion`` (see
    :func:`threshold_at`), then measure both sets at that threshold (the evaluation set's HTER
    and ACER are the unbiased figures). Returns (dev metrics, eval metrics)."""
    dev_ok = [r for r in dev_rows if not r.get("error")]
    try:
        t = threshold_at([float(r["score"]) for r in dev_ok],
                         [1 if r["label"] == "live" else 0 for r in dev_ok],
                         [r.get("attack_type") or "" for r in dev_ok], criterion)
    except ValueError as exc:
        if str(exc).startswith("criterion"):
            raise
        raise ValueError("dev: fixing a threshold needs scored live and attack samples in the "
                         "development set") from None
    src = f"fixed on the development set at {describe_criterion(criterion)}"
    return (metrics_from_rows(dev_rows, t, src), metrics_from_rows(eval_rows, t, src))




def choose_threshold(*, given: float | None = None, given_source: str = "given",
                     detector: float | None = None, operating_point: str | None = None,
                     recorded: tuple[float, str] | None = None
                     ) -> tuple[float | None, str | None]:
    """(threshold, where it came from) for a set measured without a development set, in order
    of precedence: a ``given`` threshold; the ``detector``'s (pass it when the rows were scored
    now, at its ``operating_point``); the one ``recorded`` beside an earlier run's scores.csv
    (:func:`fastlive.evaluate.recorded_threshold`); else (None, None), and
    :func:`pad_metrics` uses the EER of the rows themselves (optimistic, said in its notes)."""
    if given is not None:
        return given, given_source
    if detector is not None:
        return detector, f"detector operating point {operating_point!r}"
    if recorded is not None:
        return recorded[0], f"recorded with the scores: {recorded[1]}"
    return None, None


def system_metrics(rows: Sequence[Row], dev_rows: Sequence[Row] | None = None, *,
                   criterion: str = "eer", threshold: float | None = None,
                   threshold_source: str | None = None) -> tuple[Metrics | None, Metrics]:
    """(development metrics or None, metrics) of one system's rows: with ``dev_rows`` the
    dev/eval protocol (:func:`dev_eval_metrics`, the threshold fixed by ``criterion``), else
    the rows measured at ``threshold`` (see :func:`choose_threshold`)."""
    if dev_rows is not None:
        return dev_eval_metrics(dev_rows, rows, criterion)
    return None, metrics_from_rows(rows, threshold, threshold_source)
