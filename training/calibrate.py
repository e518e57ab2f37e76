"""Fusion + calibration (P(live)) and operating-point thresholds.

``training.reproduce`` fits them on OUT-OF-SOURCE predictions (stacking): every score used here
comes from a model that never saw that image's source, so the fusion weights measure each model's
cross-source reliability and the thresholds are set where unseen sources land. Every source
weighs the same (live and attack balanced within it)."""

from __future__ import annotations

import numpy as np

# Target error rates (on the scores the thresholds are fitted on) for the named operating points.
CONVENIENCE_BPCER = 0.01
SECURE_APCER = 0.01


def balanced_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Sample weights under which every group (source) weighs the same and live and attack
    weigh the same within it (mean weight 1). Used by every fit in training/."""
    w = np.zeros(len(labels))
    for g in set(groups.tolist()):
        for lab in (0, 1):
            m = (groups == g) & (labels == lab)
            if m.any():
                w[m] = 1.0 / m.sum()
    return w * len(w) / w.sum()


def fit_fusion(cnn_logit: np.ndarray, tex_logit: np.ndarray, labels: np.ndarray,
               groups: np.ndarray, *, use_cnn: bool = True) -> dict[str, float]:
    """Logistic regression on the two logits -> calibrated P(live) (balanced per group).
    ``use_cnn=False``: the CNN gets weight 0 (calibrated texture score alone)."""
    from sklearn.linear_model import LogisticRegression

    x = np.stack([cnn_logit, tex_logit], 1) if use_cnn else tex_logit[:, None]
    lr = LogisticRegression(C=1.0, max_iter=1000)
    lr.fit(x, labels, sample_weight=balanced_weights(labels, groups))
    return {"w_cnn": float(lr.coef_[0, 0]) if use_cnn else 0.0,
            "w_texture": float(lr.coef_[0, -1]), "bias": float(lr.intercept_[0])}


def fuse(params: dict[str, float], cnn_logit: np.ndarray, tex_logit: np.ndarray) -> np.ndarray:
    z = params["w_cnn"] * cnn_logit + params["w_texture"] * tex_logit + params["bias"]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def _weighted_eer_threshold(scores: np.ndarray, labels: np.ndarray, w: np.ndarray) -> float:
    """The score t where weighted APCER (attacks >= t) ~= weighted BPCER (live < t)."""
    o = np.argsort(scores, kind="stable")
    s, y, w = scores[o], labels[o], w[o]
    wa, wl = w * (y == 0), w * (y == 1)
    # at t = s[i]: items before i are rejected
    apcer = 1.0 - np.concatenate([[0.0], np.cumsum(wa)[:-1]]) / wa.sum()
    bpcer = np.concatenate([[0.0], np.cumsum(wl)[:-1]]) / wl.sum()
    return float(s[int(np.argmin(np.abs(apcer - bpcer)))])


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    o = np.argsort(x, kind="stable")
    c = np.cumsum(w[o]) / w.sum()
    return float(x[o][min(int(np.searchsorted(c, q)), len(x) - 1)])


def _worst_source_eer_threshold(scores: np.ndarray, labels: np.ndarray,
                                groups: np.ndarray) -> float:
    """The score t where the worst group's APCER (attacks >= t) ~= the worst group's BPCER
    (live < t), each group's rates over its own faces (a group without attacks, or without
    live faces, counts on the other side only)."""
    cand = np.unique(scores)
    ap_max = np.zeros(len(cand))
    bp_max = np.zeros(len(cand))
    for g in set(groups.tolist()):
        att = np.sort(scores[(groups == g) & (labels == 0)])
        live = np.sort(scores[(groups == g) & (labels == 1)])
        if len(att):
            ap_max = np.maximum(ap_max, 1.0 - np.searchsorted(att, cand, "left") / len(att))
        if len(live):
            bp_max = np.maximum(bp_max, np.searchsorted(live, cand, "left") / len(live))
    return float(cand[int(np.argmin(np.abs(ap_max - bp_max)))])


# How ``thresholds`` sets ``balanced`` when given groups: "worst-source" (models round 12): where
# the worst source's APCER equals the worst source's BPCER; "pooled" (rounds 1-11): the EER point
# of all groups pooled, every group weighing the same. Out of source, with each held-out
# source's threshold fitted on the other sources, worst-source lowered the mean ACER in three
# draws of three (`python -m training.sweep --thresholds`, models/README.md "Round 12").
BALANCED_RULES = ("worst-source", "pooled")


def thresholds(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None, *,
               balanced: str = "worst-source") -> dict[str, float]:
    """convenience: BPCER <= 1%; balanced: an EER point (``balanced``: one of BALANCED_RULES);
    secure: APCER <= 1% (on the given scores). With ``groups`` every group (source) weighs the
    same within each class. A score >= threshold is live. Ordered convenience <= balanced <=
    secure."""
    if balanced not in BALANCED_RULES:
        raise ValueError(f"balanced: expected one of {BALANCED_RULES}, got {balanced!r}")
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels)
    if groups is None:
        groups = np.zeros(len(labels), np.int64)
    groups = np.asarray(groups)
    w = balanced_weights(labels, groups)
    live, att = labels == 1, labels == 0
    if balanced == "pooled":
        bal = _weighted_eer_threshold(scores, labels, w)
    else:
        bal = _worst_source_eer_threshold(scores, labels, groups)
    conv = _weighted_quantile(scores[live], w[live], CONVENIENCE_BPCER)
    sec = float(np.nextafter(_weighted_quantile(scores[att], w[att], 1 - SECURE_APCER), 2.0))
    conv = min(conv, bal)
    sec = max(sec, bal)
    return {"convenience": conv, "balanced": bal, "secure": min(sec, 1.0)}
