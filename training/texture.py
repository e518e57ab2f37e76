"""Colour-LBP texture classifier: fastlive.passive.texture_features + logistic regression.

Uses its own crop (``fastlive.passive.DEFAULT_TEXTURE_SPEC``: 128 px from the same alignment,
LBP radius 1 on the crop and its half-size copy, bins folded into mirror classes), made by the
same ``fastlive.passive.prepare``.

Shipped as plain JSON weights (standardization mean/scale, coefficients, intercept) that
``fastlive.passive.PassiveScorer`` applies with numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fastlive.passive import InputSpec, texture_features
from training import augment

# Strong L2 (few sources, many features). Compared on the cross-source protocol (0.0003-0.2):
# see models/README.md.
C_REG = 0.001
# augmented copies of each training crop (1 and 2 compared on the same protocol)
COPIES = 1


def features(crops: np.ndarray, spec: InputSpec) -> np.ndarray:
    return np.stack([texture_features(c, spec) for c in crops]).astype(np.float64)


class TextureModel:
    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                 intercept: float) -> None:
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, float(intercept)

    def logits(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean) / self.scale) @ self.coef + self.intercept

    def save(self, path: Path, spec: InputSpec) -> None:
        d = {"kind": "colour-lbp logistic regression", "input": spec.to_dict(),
             "n_features": int(self.coef.shape[0]),
             "formula": "P(live) = sigmoid(((f - mean) / scale) . coef + intercept)",
             "mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale],
             "coef": [float(v) for v in self.coef], "intercept": self.intercept}
        Path(path).write_text(json.dumps(d, separators=(",", ":")) + "\n", encoding="utf-8")


def augmented_features(crops: np.ndarray, spec: InputSpec, *, copies: int = COPIES,
                       seed: int = 0) -> list[np.ndarray]:
    """Features of ``copies`` augmented versions of every crop (training.augment.invariance),
    row-aligned with ``crops`` (so a LOSO fold can slice them like the real features)."""
    rng = np.random.default_rng(seed + 1000)
    return [features(np.stack([augment.invariance(c, rng) for c in crops]), spec)
            for _ in range(copies)]


def train(crops: np.ndarray | None, labels: np.ndarray, groups: np.ndarray, spec: InputSpec, *,
          seed: int = 0, copies: int = COPIES, c_reg: float = C_REG,
          feats: np.ndarray | None = None,
          aug_feats: list[np.ndarray] | None = None) -> TextureModel:
    """Fit on the real crops plus ``copies`` label-preserving augmented copies of each
    (exposure, gamma, grayscale, resolution, mirror: training.augment.invariance), balanced per
    group and label. ``feats`` / ``aug_feats``: precomputed features of ``crops`` and of their
    augmented copies (as from :func:`augmented_features`)."""
    from sklearn.linear_model import LogisticRegression

    if crops is None and (feats is None or aug_feats is None):
        raise ValueError("crops: needed unless feats and aug_feats are both given")
    if feats is None:
        assert crops is not None
        feats = features(crops, spec)
    if aug_feats is None:
        assert crops is not None
        aug_feats = augmented_features(crops, spec, copies=copies, seed=seed)
    n = 1 + len(aug_feats)
    x_all = np.concatenate([feats, *aug_feats])
    y_all = np.tile(labels.astype(np.float32), n)
    g_all = np.tile(groups, n)
    w = np.zeros(len(y_all))
    for g in set(g_all.tolist()):
        for lab in (0, 1):
            m = (g_all == g) & (y_all == lab)
            if m.any():
                w[m] = 1.0 / m.sum()
    w *= len(w) / w.sum()
    mean = x_all.mean(0)
    scale = x_all.std(0) + 1e-3
    z = (x_all - mean) / scale
    lr = LogisticRegression(C=c_reg, max_iter=3000)
    lr.fit(z, y_all, sample_weight=w)
    return TextureModel(mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))
