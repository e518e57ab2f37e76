"""Colour-LBP texture classifier: fastlive.passive.texture_features + logistic regression.

Uses its own crop (``fastlive.passive.DEFAULT_TEXTURE_SPEC``: 160 px from the same alignment
with 1.25x the context, LBP radius 1 of the H (shifted by 60), S and V channels in the middle
two of 4 horizontal bands (eyes, nose/mouth), bins folded into mirror classes), made by the
same ``fastlive.passive.prepare``; trained on the real crops, one invariance copy of each and
one frame-noise copy of each (FRAME_NOISE). Optionally (``--jitter``, not shipped) two
alignment-jitter copies of each (JITTER); optionally (``--resolution-bank``, not shipped) a
resolution bank: one more model per lower face resolution (BANK_FACES), blended by the face's
side at run time.

Shipped as plain JSON weights (standardization mean/scale, coefficients, intercept) that
``fastlive.passive.PassiveScorer`` applies with numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fastlive.passive import InputSpec, resolution_weights, texture_features
from training import augment, calibrate

# Strong L2 (few sources, many features). Compared on the cross-source protocol (0.0003-0.2):
# see models/README.md.
C_REG = 0.001
# augmented copies of each training crop (1 and 2 compared on the same protocol)
COPIES = 1
# Nuisance-attribute projection: directions in which the sources' live faces differ (camera,
# person, setting) removed before the fit (see train); 0 turns it off. Compared on the
# cross-source protocol (python -m training.sweep): 1 raised the pooled AUC and lowered the
# ACER at thresholds fitted on other sources.
NAP_DIMS = 1
# Frame-noise copies (round 7): every training image once more with sensor noise added to the
# whole source image before detection and alignment (augment.frame_noise, standard deviation
# uniform in this range, grey levels), for live and attack alike. The LBP reads pixel grain,
# and every training image is a JPEG-compressed capture with little of it: without these copies
# a noisier camera's prints and replays read as live (models/README.md, `python -m
# training.sweep --noise`). None: no such copies.
FRAME_NOISE: tuple[float, float] | None = (0.0, 5.0)
# Alignment-jitter copies (round 9; NOT shipped: `python -m training.reproduce --jitter`): every
# training image once more with the face moved by each of these (dx, dy) crop pixels before the
# alignment (data.load's shift; the 160 px crop, so 2 px is ~1.6 % of the face), as by a small
# keypoint error. On the cross-source protocol they raise the mean AUC and lower the mean ACER
# in every draw, but round 10 found that the shift plays no part: the same number of unshifted
# duplicates of the real crops' features gives the same table to 0.001 (python -m
# training.sweep --jitter, its control rows). The gain is a heavier weight on the real crops
# against their invariance and frame-noise copies, paid for by NUAA and under sensor noise
# (models/README.md, rounds 9 and 10).
JITTER: tuple[tuple[float, float], ...] = ((2.0, 0.0), (0.0, -2.0))
# Resolution bank (round 9; NOT shipped: `python -m training.reproduce --resolution-bank`).
# The main model's training faces are 130-660 px across, area-downscaled to ~128 px in the
# crop; a face that is itself under ~128 px is enlarged instead, and the main model rejects
# many such live faces (models/README.md, round 9). The bank adds one model per anchor side,
# trained on every training image brought to a face of that side (+-BANK_JITTER;
# augment.frame_resolution, the smaller frame, then the same alignment), with one invariance
# copy, one JPEG-compressed copy (BANK_JPEG) and one noisy copy (BANK_NOISE) of each at the
# low resolution. A face under BANK_MAIN_FACE px is scored by a blend of the two neighbouring
# models (fastlive.passive.resolution_weights). Compared on the cross-source protocol with
# held-out images at lower resolutions (python -m training.sweep --resolution): it rejects
# fewer low-resolution live faces but accepts more low-resolution attacks, and without its
# noisy copies nearly every attack from a noisy low-resolution camera; not a clear gain.
BANK_FACES: tuple[float, ...] = (56.0, 80.0)
BANK_MAIN_FACE = 128.0
BANK_JITTER = 0.15
# JPEG quality range of the bank's compressed copies (drawn per image)
BANK_JPEG = (60, 95)
# Sensor noise (grey levels) of the bank's noisy copies, added at the low resolution; None: no
# such copies (without them the bank accepts 97 % of held-out attacks from a camera with a
# face of 80 px and noise of 4 grey levels: python -m training.sweep --resolution)
BANK_NOISE: tuple[float, float] | None = (0.0, 5.0)
# Live-spread penalty (round 11; NOT shipped: 0 = none). The fit's objective gains
# live_spread * N * sum over the training sources with live rows of (that source's mean live
# logit - the mean of those)^2: a soft form of the nuisance projection that asks the score, not
# the features, to put every source's live faces at the same level (the held-out sources'
# scores shift as a whole: models/README.md). Over three draws of the augmented copies (python
# -m training.sweep --spread) 0.01 raised the mean AUC by 0.005-0.008, all of it from the
# smallest source (kevindepedri, 42 images) while NUAA lost 0.006-0.009, and left the pooled
# AUC where it was: not a gain for unseen cameras.
LIVE_SPREAD = 0.0
# Group DRO (round 14): the fit is repeated DRO_FITS times; before each fit after the first,
# every training source's weight is multiplied by exp(DRO_ETA * its mean loss under the
# previous fit) (live and attack weighing the same within it; the multipliers accumulate and
# are normalized to mean 1), so the sources the fit explains worst weigh more (a few steps of
# exponentiated-gradient ascent on the worst-source objective of group DRO, Sagawa et al.,
# ICLR 2020). DRO_FITS = 1: the plain weighted fit. Over three draws of the augmented copies
# (python -m training.sweep --round14) it raised the mean AUC by 0.009-0.013 and the pooled
# AUC by 0.009-0.010 and lowered the mean ACER by 2.1-3.5 points; eta 1-5 and 8-40 fits all
# gain (models/README.md, "Round 14").
DRO_ETA = 1.0
DRO_FITS = 8
# How the colour conversions of InputSpec.lbp_colors are named in tables and the manifest.
COLOUR_NAMES = {"ycrcb": "YCrCb", "hsv": "HSV", "lab": "Lab", "bgr": "BGR"}


def features(crops: np.ndarray, spec: InputSpec) -> np.ndarray:
    return np.stack([texture_features(c, spec) for c in crops]).astype(np.float64)


def feature_count(spec: InputSpec) -> int:
    """Length of :func:`features`' rows for ``spec``."""
    return int(features(np.zeros((1, spec.size, spec.size, 3), np.uint8), spec).shape[1])


def noise_copy_features(data_dir, spec: InputSpec, noise: tuple[float, float] | None = FRAME_NOISE,
                        *, seed: int = 0) -> list[np.ndarray]:
    """Texture features of the frame-noise copies of every image of the data set (``[]`` when
    ``noise`` is None), row-aligned with ``data.load(data_dir, spec)`` (same rows and faces)."""
    if noise is None:
        return []
    return [features(noise_copy_crops(data_dir, spec, noise, seed=seed), spec)]


def training_copies(data_dir, crops: np.ndarray, spec: InputSpec, *,
                    seed: int = 0) -> list[np.ndarray]:
    """The shipped texture training set's copies of every image, row-aligned with ``crops``
    (``data.load(data_dir, spec).crops``): the features of one invariance copy
    (:func:`augmented_features`) and of one frame-noise copy (:func:`noise_copy_features`),
    both drawn with ``seed``."""
    return (augmented_features(crops, spec, seed=seed)
            + noise_copy_features(data_dir, spec, seed=seed))


def noise_copy_crops(data_dir, spec: InputSpec, noise: tuple[float, float] = FRAME_NOISE,
                     *, seed: int = 0) -> np.ndarray:
    """The aligned crops of the frame-noise copies of every image of the data set (white
    sensor noise, standard deviation uniform in ``noise``, added to the whole source image
    before alignment: ``augment.frame_noise``; ``data.load``'s change, cached under its key and
    seed), row-aligned with ``data.load(data_dir, spec)``."""
    from training import data

    lo, hi = noise
    return data.load(data_dir, spec, verbose=False,
                     change=lambda img, rng, face: augment.frame_noise(img, rng, lo, hi),
                     change_key=f"frame_noise:{lo}:{hi}", change_seed=seed).crops


def jitter_copy_features(data_dir, spec: InputSpec,
                         shifts: tuple[tuple[float, float], ...] = JITTER) -> list[np.ndarray]:
    """Texture features of every image of the data set aligned with the face moved by each
    of ``shifts`` (crop pixels; data.load's ``shift``), row-aligned with ``data.load(data_dir,
    spec)``: the alignment-jitter copies."""
    from training import data

    return [features(data.load(data_dir, spec, verbose=False, shift=sh).crops, spec)
            for sh in shifts]


def bank_training_sets(data_dir, spec: InputSpec, faces: tuple[float, ...] = BANK_FACES, *,
                       noise: tuple[float, float] | None = BANK_NOISE,
                       seed: int = 0) -> dict[float, tuple[np.ndarray, list[np.ndarray]]]:
    """Per anchor side: the texture features of every image of the data set brought to a face
    of that side (+-BANK_JITTER, augment.frame_resolution before alignment; faces already
    smaller stay as they are), of one invariance copy of each, of one more such image
    JPEG-compressed at the low resolution (quality BANK_JPEG, as a webcam's stream), and
    (``noise``) of one more with sensor noise of that range added at the low resolution (as
    the frame-noise copies of the main model), all row-aligned with ``data.load(data_dir,
    spec)``: the training set of that anchor's model."""
    from training import data

    out = {}
    for a in faces:
        lo, hi = (1.0 - BANK_JITTER) * a, (1.0 + BANK_JITTER) * a

        def low(img, rng, face, lo=lo, hi=hi):
            return augment.frame_resolution(img, rng, data.face_side(face), lo, hi)

        def low_jpeg(img, rng, face, lo=lo, hi=hi):
            q = int(rng.integers(BANK_JPEG[0], BANK_JPEG[1] + 1))
            return augment.frame_resolution(img, rng, data.face_side(face), lo, hi,
                                            jpeg_quality=q)

        clean = data.load(data_dir, spec, verbose=False, change=low, change_seed=seed + 2,
                          change_key=f"bank:{lo:g}:{hi:g}").crops
        jpg = data.load(data_dir, spec, verbose=False, change=low_jpeg, change_seed=seed + 3,
                        change_key=f"bank:{lo:g}:{hi:g}:jpeg{BANK_JPEG[0]}-{BANK_JPEG[1]}").crops
        copies = augmented_features(clean, spec, seed=seed) + [features(jpg, spec)]
        if noise is not None:
            def low_noise(img, rng, face, low=low, n=noise):
                return augment.frame_noise(low(img, rng, face), rng, n[0], n[1])

            copies.append(features(data.load(
                data_dir, spec, verbose=False, change=low_noise, change_seed=seed + 4,
                change_key=f"bank:{lo:g}:{hi:g}:noise{noise[0]:g}-{noise[1]:g}").crops, spec))
        out[float(a)] = (features(clean, spec), copies)
    return out


class TextureModel:
    """Logistic regression on the texture features; ``bank``: [(anchor face side, model)] of
    the resolution bank (BANK_FACES, ascending), blended with this main model (anchor
    ``main_face``) by the face's side (fastlive.passive.resolution_weights)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                 intercept: float, *, bank: list[tuple[float, TextureModel]] | None = None,
                 main_face: float = BANK_MAIN_FACE) -> None:
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, float(intercept)
        self.bank = list(bank or [])
        self.main_face = float(main_face)

    def logits(self, feats: np.ndarray, face_side: np.ndarray | None = None) -> np.ndarray:
        """Per row; ``face_side`` (per row, source pixels; ``Dataset.face_side``): blended with
        the resolution bank as at run time. None, or no bank: the main model alone."""
        own = ((feats - self.mean) / self.scale) @ self.coef + self.intercept
        if face_side is None or not self.bank:
            return own
        anchors = [a for a, _ in self.bank] + [self.main_face]
        each = [m.logits(feats) for _, m in self.bank] + [own]
        out = np.zeros(len(feats))
        for j, side in enumerate(np.asarray(face_side, np.float64)):
            for i, w in resolution_weights(side, anchors):
                out[j] += w * each[i][j]
        return out

    def _weights(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale],
                "coef": [float(v) for v in self.coef], "intercept": self.intercept}

    def save(self, path: Path, spec: InputSpec) -> None:
        d = {"kind": "colour-lbp logistic regression", "input": spec.to_dict(),
             "n_features": int(self.coef.shape[0]),
             "formula": "P(live) = sigmoid(((f - mean) / scale) . coef + intercept)",
             **self._weights()}
        if self.bank:
            d["resolution_bank"] = {
                "main_face_px": self.main_face,
                "rule": "faces under main_face_px (the longer box side, source pixels): "
                        "logits of the two neighbouring models blended linearly in "
                        "log(side); at or below the first anchor its model alone",
                "models": [{"face_px": a, **m._weights()} for a, m in self.bank]}
        Path(path).write_text(json.dumps(d, separators=(",", ":")) + "\n", encoding="utf-8")


def augmented_features(crops: np.ndarray, spec: InputSpec, *, copies: int = COPIES,
                       seed: int = 0, wb_jpeg: bool = True) -> list[np.ndarray]:
    """Features of ``copies`` augmented versions of every crop (training.augment.invariance),
    row-aligned with ``crops`` (so a LOSO fold can slice them like the real features)."""
    rng = np.random.default_rng(seed + 1000)
    return [features(np.stack([augment.invariance(c, rng, wb_jpeg=wb_jpeg) for c in crops]),
                     spec) for _ in range(copies)]


def train(crops: np.ndarray | None, labels: np.ndarray, groups: np.ndarray, spec: InputSpec, *,
          seed: int = 0, copies: int = COPIES, c_reg: float = C_REG,
          feats: np.ndarray | None = None,
          aug_feats: list[np.ndarray] | None = None, nap: int = NAP_DIMS,
          live_spread: float = LIVE_SPREAD, dro_eta: float = DRO_ETA,
          dro_fits: int = DRO_FITS, one_class_weight: float = 1.0) -> TextureModel:
    """Fit on the real crops plus ``copies`` label-preserving augmented copies of each
    (exposure, gamma, white balance, grayscale, resolution, JPEG, mirror:
    training.augment.invariance), balanced per group and label. ``feats`` / ``aug_feats``:
    precomputed features of ``crops`` and of their augmented copies (as from
    :func:`augmented_features`).

    ``nap`` > 0: nuisance-attribute projection (as in speaker verification's channel
    compensation). The standardized features' per-group means of the live crops, minus their
    overall live mean, span the directions in which one source's live faces differ from
    another's (camera, person, setting: nothing to do with liveness); the ``nap`` strongest of
    them are projected out before the fit. The coefficients are then orthogonal to those
    directions, so the shipped model stays a plain logistic regression on the features.

    ``live_spread`` > 0: the same fit with the live-spread penalty (LIVE_SPREAD, fit_lr).
    ``dro_fits`` > 1: group DRO over the sources (``groups``; DRO_FITS, DRO_ETA, fit_lr).
    ``one_class_weight``: multiplies the weight of every group with one class only (the
    live-only sources; round 14's control in ``python -m training.sweep --round14``: group
    DRO's gain comes mostly from weighing them less).

    With several LBP slacks (``spec.lbp_slacks``; the features then hold one equal block per
    slack) each block is standardized, projected and fitted on its own, and the model is
    their sum (one logistic regression over all features, intercepts added). Features of
    another width than ``spec``'s (:func:`feature_count`) are fitted as one block."""
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
    w = calibrate.balanced_weights(y_all, g_all)
    if one_class_weight != 1.0:
        if not np.isfinite(one_class_weight) or one_class_weight <= 0:
            raise ValueError(f"one_class_weight: expected a finite float > 0, got "
                             f"{one_class_weight!r}")
        for g in set(g_all.tolist()):
            m = g_all == g
            if len(set(y_all[m].tolist())) == 1:
                w[m] *= one_class_weight
        w *= len(w) / w.sum()
    # one fit per slack's block of features (InputSpec.lbp_slacks), their logits summed: a
    # logistic regression over all the features with the blocks' weights side by side; other
    # features fitted with this spec (the sweep's quality statistics) are one block
    k = len(spec.lbp_slacks) if x_all.shape[1] == feature_count(spec) else 1
    blocks = np.array_split(np.arange(x_all.shape[1]), k)
    parts = []
    for cols in blocks:
        x = x_all[:, cols]
        mean = x.mean(0)
        scale = x.std(0) + 1e-3
        z = (x - mean) / scale
        v = nuisance_directions(z, y_all, g_all, nap)
        if len(v):
            z = z - (z @ v.T) @ v
        coef, intercept = fit_lr(z, y_all, w, c_reg, groups=g_all, live_spread=live_spread,
                                 dro_eta=dro_eta, dro_fits=dro_fits)
        if len(v):
            coef = coef - (coef @ v.T) @ v  # already orthogonal up to rounding
        parts.append((mean, scale, coef, intercept))
    return TextureModel(*(np.concatenate([q[i] for q in parts]) for i in range(3)),
                        sum(q[3] for q in parts))


def fit_lr(z: np.ndarray, y: np.ndarray, w: np.ndarray, c_reg: float, *,
           groups: np.ndarray | None = None, live_spread: float = 0.0,
           dro_eta: float = DRO_ETA, dro_fits: int = 1) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression (sklearn's objective: sum_i w_i logloss_i + |coef|^2 /
    (2 c_reg), intercept not penalized) -> (coef, intercept). ``live_spread`` > 0 (needs
    ``groups``): plus live_spread * N * sum_g (m_g - mean_g m_g)^2, m_g the mean live logit of
    group g (groups with more than 5 live rows), solved with L-BFGS; 0 (or fewer than two such
    groups: nothing to level): sklearn's solver.

    ``dro_fits`` > 1 (needs ``groups``): group DRO. The fit is repeated ``dro_fits`` times;
    before each one after the first, the weights of every group's rows are multiplied by
    exp(``dro_eta`` * the group's ``w``-weighted mean log loss under the previous fit)
    (multipliers accumulated, normalized to mean 1; the weights renormalized to mean 1), so
    the groups the fit explains worst weigh more. The last fit is returned."""
    if live_spread < 0:
        raise ValueError(f"live_spread: expected >= 0, got {live_spread}")
    if live_spread > 0 and groups is None:
        raise ValueError("groups: needed with live_spread > 0 (the source of every row)")
    if isinstance(dro_fits, bool) or not isinstance(dro_fits, (int, np.integer)) or dro_fits < 1:
        raise ValueError(f"dro_fits: expected an int >= 1 (1: no group DRO), got {dro_fits!r}")
    if (isinstance(dro_eta, bool) or not isinstance(dro_eta, (int, float, np.number))
            or not np.isfinite(dro_eta) or dro_eta < 0):
        raise ValueError(f"dro_eta: expected a finite float >= 0, got {dro_eta!r}")
    if dro_fits > 1:
        if groups is None:
            raise ValueError("groups: needed with dro_fits > 1 (the source of every row)")
        names = sorted(set(groups.tolist()))
        rows = [groups == g for g in names]
        mult = np.ones(len(names))
        for k in range(dro_fits):
            ww = w.copy()
            for m, f in zip(rows, mult):
                ww[m] *= f
            coef, b = fit_lr(z, y, ww * len(ww) / ww.sum(), c_reg, groups=groups,
                             live_spread=live_spread)
            if k + 1 < dro_fits:
                s = z @ coef + b
                loss = np.logaddexp(0.0, s) - y * s
                mult = mult * np.exp(dro_eta * np.array(
                    [np.average(loss[m], weights=w[m]) for m in rows]))
                mult /= mult.mean()
        return coef, b
    live = y == 1
    masks = [] if live_spread == 0 else [
        m for m in (live & (groups == g) for g in sorted(set(groups[live].tolist())))
        if m.sum() > 5]
    if len(masks) < 2:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=c_reg, max_iter=3000)
        lr.fit(z, y, sample_weight=w)
        return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])
    from scipy.optimize import minimize

    mz = np.stack([z[m].mean(0) for m in masks])  # mean live features per group
    dz = mz - mz.mean(0)
    n = len(y)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = theta[:-1], theta[-1]
        s = z @ coef + b
        r = w * (1.0 / (1.0 + np.exp(-s)) - y)
        d = dz @ coef  # each group's mean live logit minus their mean (the intercept cancels)
        f = float(np.sum(w * (np.logaddexp(0.0, s) - y * s)) + coef @ coef / (2 * c_reg)
                  + live_spread * n * d @ d)
        g = z.T @ r + coef / c_reg + 2 * live_spread * n * dz.T @ d
        return f, np.concatenate([g, [r.sum()]])

    res = minimize(objective, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 3000})
    return res.x[:-1].astype(np.float64), float(res.x[-1])


def add_bank(main: TextureModel, bank_sets: dict[float, tuple[np.ndarray, list[np.ndarray]]],
             rows: np.ndarray, labels: np.ndarray, groups: np.ndarray, spec: InputSpec, *,
             c_reg: float = C_REG) -> TextureModel:
    """``main`` with its resolution bank: one model per anchor of ``bank_sets``
    (:func:`bank_training_sets`), trained as ``main`` (same fit, C and projection) on
    ``rows`` of that anchor's features and copies; ``labels`` / ``groups``: of those rows."""
    main.bank = [(a, train(None, labels, groups, spec, c_reg=c_reg, feats=f[rows],
                           aug_feats=[x[rows] for x in aug]))
                 for a, (f, aug) in sorted(bank_sets.items())]
    return main


def nuisance_directions(z: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                        k: int) -> np.ndarray:
    """(k, D) orthonormal rows: the top-k principal directions of the per-group mean live
    feature vectors (groups with more than 5 live rows) around their overall live mean."""
    if k <= 0:
        return np.zeros((0, z.shape[1]))
    live = labels == 1
    mu = z[live].mean(0)
    devs = [z[live & (groups == g)].mean(0) - mu for g in sorted(set(groups[live].tolist()))
            if (live & (groups == g)).sum() > 5]
    if len(devs) < 2:
        return np.zeros((0, z.shape[1]))
    _, _, vt = np.linalg.svd(np.stack(devs), full_matrices=False)
    return vt[:min(k, len(devs) - 1)]
