"""Fusion (calibrated P(live)) and the operating points, fitted on out-of-source scores.

``training.reproduce`` fits both on OUT-OF-SOURCE predictions (stacking): every score used here
comes from a model that never saw that image's source, so the fusion weights measure each
network's cross-source reliability and the thresholds are set where unseen sources land. Every
source weighs the same (live and attack balanced within it).

Operating points (a score >= threshold is live), each fitted on the development sources'
out-of-source fused scores:

* ``convenience``: the highest threshold at which no whole-frame webcam source rejects more than
  ``CONVENIENCE_BPCER`` of its live faces (the worst webcam source's BPCER);
* ``secure``: the lowest threshold at which no print attack is accepted and at most
  ``SECURE_REPLAY_APCER`` of the replay attacks (all replay-like attacks pooled: ``replay`` and
  ``unknown_type``, which in ``../shared/data`` are mostly screen replays);
* ``balanced``: the pooled equal-error point (every source weighing the same, live and attack
  balanced within it), kept between the two.
"""

from __future__ import annotations

import numpy as np

CONVENIENCE_BPCER = 0.05
SECURE_REPLAY_APCER = 0.02
PRINT_TYPES = ("print",)


def balanced_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Sample weights under which every group (source) weighs the same and live and attack
    weigh the same within it (mean weight 1). Used by every fit in training/."""
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    w = np.zeros(len(labels))
    for g in set(groups.tolist()):
        for lab in (0, 1):
            m = (groups == g) & (labels == lab)
            if m.any():
                w[m] = 1.0 / m.sum()
    return w * len(w) / w.sum()


def fit_fusion(logits: np.ndarray, labels: np.ndarray, groups: np.ndarray
               ) -> tuple[np.ndarray, float]:
    """Logistic regression on (N, networks) out-of-source logits -> (weights, bias) of the
    calibrated P(live) = sigmoid(logits @ weights + bias); every group weighs the same."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(logits, np.float64)
    if x.ndim != 2 or len(x) != len(labels):
        raise ValueError(f"logits: expected (N, networks) with N = {len(labels)}, got {x.shape}")
    lr = LogisticRegression(C=1.0, max_iter=1000)
    lr.fit(x, labels, sample_weight=balanced_weights(labels, groups))
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def weighted_eer_threshold(scores: np.ndarray, labels: np.ndarray, w: np.ndarray) -> float:
    """The score t where the weighted APCER (attacks >= t) ~= the weighted BPCER (live < t)."""
    o = np.argsort(scores, kind="stable")
    s, y, w = scores[o], labels[o], w[o]
    wa, wl = w * (y == 0), w * (y == 1)
    apcer = 1.0 - np.concatenate([[0.0], np.cumsum(wa)[:-1]]) / wa.sum()
    bpcer = np.concatenate([[0.0], np.cumsum(wl)[:-1]]) / wl.sum()
    return float(s[int(np.argmin(np.abs(apcer - bpcer)))])


def thresholds(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray,
               attack_types: np.ndarray, webcam: np.ndarray) -> dict[str, float]:
    """The three operating points (see the module docstring) on ``scores`` (P(live) or any
    monotone score), ordered convenience <= balanced <= secure."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels)
    g = np.asarray(groups)
    t = np.asarray(attack_types)
    wc = np.asarray(webcam, bool)
    if not ((y == 0).any() and (y == 1).any()):
        raise ValueError("labels: need live faces and attacks to fit operating points")
    bal = weighted_eer_threshold(s, y, balanced_weights(y, g))
    # convenience: the worst webcam source's CONVENIENCE_BPCER quantile of its live scores
    conv = bal
    live_wc = [np.sort(s[(g == src) & (y == 1) & wc]) for src in sorted(set(g[wc].tolist()))]
    live_wc = [v for v in live_wc if len(v)]
    if live_wc:
        conv = min(float(v[int(np.floor(CONVENIENCE_BPCER * len(v)))]) for v in live_wc)
    # secure: above every print, above all but SECURE_REPLAY_APCER of the replays
    att = y == 0
    cands = [bal]
    prints = s[att & np.isin(t, PRINT_TYPES)]
    if len(prints):
        cands.append(float(np.nextafter(prints.max(), np.inf)))
    replays = np.sort(s[att & ~np.isin(t, PRINT_TYPES + ("mask",))])
    if len(replays):
        k = int(np.floor(SECURE_REPLAY_APCER * len(replays)))  # attacks allowed through
        cands.append(float(np.nextafter(replays[len(replays) - 1 - k], np.inf)))
    sec = max(cands)
    conv = min(conv, bal)
    return {"convenience": conv, "balanced": bal, "secure": sec}
