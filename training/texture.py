"""Colour-LBP texture classifier: fastlive.passive.texture_features + logistic regression.

Uses its own crop (``fastlive.passive.DEFAULT_TEXTURE_SPEC``: 128 px from the same alignment,
LBP radius 1), made by the same ``fastlive.passive.prepare``.

Shipped as plain JSON weights (standardization mean/scale, coefficients, intercept) that
``fastlive.passive.PassiveScorer`` applies with numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fastlive.passive import InputSpec, texture_features
from training import cnn

# Strong L2 (few sources, many features). Compared on the cross-source protocol (0.001-0.2):
# see training/README.md.
C_REG = 0.001


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


def train(crops: np.ndarray, labels: np.ndarray, groups: np.ndarray, spec: InputSpec, *,
          seed: int = 0, copies: int = 0, c_reg: float = C_REG,
          feats: np.ndarray | None = None) -> TextureModel:
    """Fit on the real crops plus ``copies`` augmented epochs (photometric, resolution, JPEG,
    geometric, synthetic attacks), balanced per group and label. ``copies=0`` (the default):
    real crops only; on the cross-source protocol the augmented copies did not help LBP."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed + 1000)
    xs, ys, gs = [crops], [labels.astype(np.float32)], [groups]
    for _ in range(copies):
        x, y, _w, g = cnn.make_epoch(crops, labels, groups, rng)
        xs.append(x)
        ys.append(y)
        gs.append(g)
    y_all = np.concatenate(ys)
    g_all = np.concatenate(gs)
    if feats is None or copies:  # ``feats``: precomputed features of ``crops`` (no copies)
        feats = features(np.concatenate(xs), spec)
    w = np.zeros(len(y_all))
    for g in set(g_all.tolist()):
        for lab in (0, 1):
            m = (g_all == g) & (y_all == lab)
            if m.any():
                w[m] = 1.0 / m.sum()
    w *= len(w) / w.sum()
    mean = feats.mean(0)
    scale = feats.std(0) + 1e-3
    z = (feats - mean) / scale
    lr = LogisticRegression(C=c_reg, max_iter=3000)
    lr.fit(z, y_all, sample_weight=w)
    return TextureModel(mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))
