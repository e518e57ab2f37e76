"""Fusion + calibration (P(live)) and operating-point thresholds, fitted on a dev split."""

from __future__ import annotations

import numpy as np

# Target error rates on the dev split for the named operating points.
CONVENIENCE_BPCER = 0.01
SECURE_APCER = 0.01


def _balanced_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    w = np.zeros(len(labels))
    for g in set(groups.tolist()):
        for lab in (0, 1):
            m = (groups == g) & (labels == lab)
            if m.any():
                w[m] = 1.0 / m.sum()
    return w * len(w) / w.sum()


def fit_fusion(cnn_logit: np.ndarray, tex_logit: np.ndarray, labels: np.ndarray,
               groups: np.ndarray) -> dict[str, float]:
    """Logistic regression on the two logits -> calibrated P(live) (balanced per dev group)."""
    from sklearn.linear_model import LogisticRegression

    x = np.stack([cnn_logit, tex_logit], 1)
    lr = LogisticRegression(C=1.0, max_iter=1000)
    lr.fit(x, labels, sample_weight=_balanced_weights(labels, groups))
    return {"w_cnn": float(lr.coef_[0, 0]), "w_texture": float(lr.coef_[0, 1]),
            "bias": float(lr.intercept_[0])}


def fuse(params: dict[str, float], cnn_logit: np.ndarray, tex_logit: np.ndarray) -> np.ndarray:
    z = params["w_cnn"] * cnn_logit + params["w_texture"] * tex_logit + params["bias"]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def thresholds(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """convenience: BPCER <= 1% on dev; balanced: the dev EER point; secure: APCER <= 1% on dev.
    A score >= threshold is live. Ordered convenience <= balanced <= secure."""
    from fastlive.evaluate import pad_metrics

    live, att = scores[labels == 1], scores[labels == 0]
    m = pad_metrics(scores, labels)
    bal = float(m["eer_threshold"])
    conv = float(np.quantile(live, CONVENIENCE_BPCER, method="lower"))
    sec = float(np.nextafter(np.quantile(att, 1 - SECURE_APCER, method="higher"), 2.0))
    conv = min(conv, bal)
    sec = max(sec, bal)
    return {"convenience": conv, "balanced": bal, "secure": min(sec, 1.0)}
