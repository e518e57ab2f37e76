"""Texture-classifier design comparison on the cross-source protocol (texture alone, no fusion).

    nice python -m training.sweep            # about 10 min on the shared 2-core box

For each design (crop size and context from the same ``fastlive.passive.prepare`` alignment,
LBP grid, radii, colour spaces and hue shift, mirror folding, extra scales, augmented copies,
nuisance projection, L2 strength C, synthetic attacks): leave one source out (train on
all other sources, score the held-out one) and report the AUC per held-out source, their mean
over sources with both classes, the AUC of all held-out scores pooled, and the mean ACER at
thresholds fitted on the other sources (nested_acer). This is the
comparison that chose ``fastlive.passive.DEFAULT_TEXTURE_SPEC``, ``texture.C_REG`` and
``texture.COPIES``; choosing on it makes the cross-source table mildly optimistic (selection
bias), see models/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from fastlive.evaluate import pad_metrics
from fastlive.passive import DEFAULT_SPEC, DEFAULT_TEXTURE_SPEC
from training import augment, calibrate, data, texture

# Rounds 11's and 12's texture features (plain LBP, before round 13's slack-1 block): round
# 11's and round 12's checks (round11_check, face_size_check, threshold_check,
# descriptor_check) keep them, so their tables rerun as printed.
ROUND12_SPEC = dataclasses.replace(DEFAULT_TEXTURE_SPEC, lbp_slacks=(0,))
# texture.train's dro_fits for texture_loso and fit_per_source when not given: the shipped
# fit (round 14's group DRO), or rounds 1-13's plain weighted fit inside plain_fit().
_dro_fits = texture.DRO_FITS


@contextlib.contextmanager
def plain_fit():
    """Rounds 1-13's fit of the texture model (no group DRO, dro_fits 1) for the checks of
    those rounds (the ones main marks plain, and the design table: --round6, --round7,
    --descriptors, --round10, --face-size, --round11, --spread, --shifts, --texture-cnn,
    --thresholds, --round13), so their tables rerun as printed."""
    global _dro_fits
    old, _dro_fits = _dro_fits, 1
    try:
        yield
    finally:
        _dro_fits = old


# Round 10's texture crop (every face area-averaged; no prefilter_detail): round 11's checks of
# other changes (spread_check, shift_average_check, texture_cnn_check) were made on it.
ROUND10_SPEC = dataclasses.replace(ROUND12_SPEC, prefilter_detail=None)
_ROUND10_NAME = "round 10 (every face area-averaged, max scale 0.8)"
_ROUND11_NAME = "round 11 (+ every face at detail 0.75)"

# One row per design; unlisted fields are the shipped design's (SHIPPED). "colors": the colour
# conversions whose three channels get LBP histograms; "scales": the crop (1) and its
# area-downscaled copies; "copies":
# augment.invariance copies per training crop; "synth": synthetic attacks added ("print",
# "replay", "print+replay"); "wb_jpeg": False = round 3's invariance copies (no white balance,
# no JPEG); "nap": nuisance directions projected out (texture.train); "hue": added to
# OpenCV's hue before the LBP (InputSpec.lbp_hue_shift); "bands": the grid cells kept
# (InputSpec.lbp_bands; None: all); "noise": the range of the frame-noise copies' standard
# deviation (texture.FRAME_NOISE; None: no such copies); "area": InputSpec.prefilter_max_scale
# (None: rounds 1-9, the area prefilter only for faces the crop minifies by more than 0.8).
SHIPPED = dict(size=160, scale=1.25, grid=(4, 1), radius=1, mirror=True, scales=(1,),
               colors=("hsv",), hue=60, copies=1, C=0.001, synth="", wb_jpeg=True, nap=1,
               bands=(1, 2), noise=texture.FRAME_NOISE,
               area=DEFAULT_TEXTURE_SPEC.prefilter_max_scale)
# rounds 1-4 compared LBP of both YCrCb and HSV, on the crop and its half-size copy
_YCC_HSV = dict(colors=("ycrcb", "hsv"), scales=(1, 2), hue=0)
_BEFORE_NAP: list[dict] = [
    # rounds 1-3 (tight 1.0 crops, whole-crop histograms)
    dict(size=64, scale=1.0, grid=(1, 1), mirror=False, scales=(1,), copies=0, C=0.02,
         wb_jpeg=False),
    dict(size=128, scale=1.0, grid=(1, 1), mirror=False, scales=(1,), copies=0, wb_jpeg=False),
    dict(size=128, scale=1.0, grid=(1, 1), scales=(1,), copies=0, wb_jpeg=False),
    dict(size=128, scale=1.0, grid=(1, 1), scales=(1,), wb_jpeg=False),
    dict(size=128, scale=1.0, grid=(1, 1), wb_jpeg=False),  # round 3, shipped
    dict(size=128, scale=1.0, grid=(1, 1), wb_jpeg=False, synth="print"),
    dict(size=128, scale=1.0, grid=(1, 1), wb_jpeg=False, synth="replay"),
    # horizontal bands
    dict(size=128, scale=1.0, grid=(3, 1), wb_jpeg=False),
    dict(size=128, scale=1.0, grid=(4, 1), wb_jpeg=False),
    # more context around the face (the face keeps ~128 px: size = 128 x scale)
    dict(size=160, grid=(1, 1), wb_jpeg=False),
    dict(size=160, grid=(3, 1), wb_jpeg=False),
    dict(wb_jpeg=False),
    dict(size=144, scale=1.12, wb_jpeg=False),
    dict(size=176, scale=1.4, wb_jpeg=False),
    # round 4: white balance + JPEG in the invariance copies
    dict(),
    dict(C=0.0003),
    dict(C=0.003),
    dict(grid=(3, 1)),
    dict(grid=(5, 1)),
    dict(grid=(4, 2)),
    dict(radius=(1, 2)),
    dict(scales=(1, 2, 4)),
    dict(copies=2),
]
_ROUND4: list[dict] = [
    # round 4: nuisance-attribute projection
    dict(),  # round 4, shipped
    dict(nap=2),
    dict(nap=3),
    dict(C=0.0003),
    dict(C=0.003),
    dict(wb_jpeg=False),
    dict(size=128, scale=1.0, grid=(1, 1), wb_jpeg=False),  # round 3's design + NAP
]
_ROUND5: list[dict] = [
    # round 5: which colour spaces and scales (channel ablations of round 4's features)
    dict(colors=("ycrcb", "hsv")),
    dict(scales=(1, 2)),
    dict(colors=("hsv", "lab")),
    dict(),  # HSV of the crop (shipped without the hue shift)
    dict(radius=(1, 2)),
    dict(grid=(3, 1)),
    dict(nap=0),
    dict(nap=2),
    dict(C=0.0003),
    dict(C=0.003),
]
_HUE: list[dict] = [
    # round 5: the hue's wrap-around moved out of skin tones
    dict(hue=30),
    dict(),  # round 5, shipped
    dict(hue=90),
    dict(nap=0),
    dict(colors=("ycrcb", "hsv"), scales=(1, 2)),  # round 4's features, hue shifted
]
# round 6: which bands of the crop (cells of the 4x1 grid, top to bottom: forehead with hair
# and background, eyes, nose and mouth, chin with neck and background)
ROUND6: list[dict] = [
    dict(bands=None),  # round 5
    dict(),  # round 6: the eye and nose/mouth bands (shipped in round 7 as well)
    dict(bands=(1, 2, 3)),
    dict(bands=(0, 1, 2)),
    dict(bands=(1,)),
    dict(bands=(2,)),
    dict(nap=0),
    dict(C=0.0003),
    dict(C=0.003),
    dict(grid=(8, 1), bands=(2, 3, 4, 5)),  # the same rows in four thinner bands
]
# round 7: frame-noise copies (sensor noise added to the whole image before alignment)
ROUND7: list[dict] = [
    dict(noise=None),  # round 6
    dict(),  # round 7, shipped: noise 0-5 grey levels
    dict(noise=(0.0, 3.0)),
    dict(noise=(0.0, 8.0)),
    dict(noise=(2.0, 5.0)),
]
# rounds 1-9: the area prefilter only for faces the crop minifies by more than 0.8
_OLD = {"area": None}
GRID: list[dict] = ([{**_OLD, **_YCC_HSV, "nap": 0, "bands": None, "noise": None, **r}
                     for r in _BEFORE_NAP]
                    + [{**_OLD, **_YCC_HSV, "bands": None, "noise": None, **r} for r in _ROUND4]
                    + [{**_OLD, "hue": 0, "bands": None, "noise": None, **r} for r in _ROUND5]
                    + [{**_OLD, "bands": None, "noise": None, **r} for r in _HUE]
                    + [{**_OLD, "noise": None, **r} for r in ROUND6]
                    + [{**_OLD, **r} for r in ROUND7])


def row_spec(row: dict):
    r = {**SHIPPED, **row}
    spec = dataclasses.replace(DEFAULT_SPEC, size=r["size"], scale=r["scale"],
                               lbp_radius=r["radius"], lbp_mirror=r["mirror"],
                               lbp_scales=r["scales"], lbp_grid=r["grid"],
                               lbp_colors=r["colors"], lbp_hue_shift=r["hue"],
                               lbp_bands=r["bands"], prefilter_max_scale=r["area"])
    return r, spec


def synthetic_features(ds: data.Dataset, spec, kinds: str, seed: int = 3) -> dict[str, np.ndarray]:
    """Texture features of synthetic attacks (training.augment.synth_print / synth_replay)
    rendered from every live crop, per kind ("print", "replay"), row-aligned with the live rows."""
    rng = np.random.default_rng(seed)
    live = np.flatnonzero(ds.ok & (ds.label == 1))
    fns = {"print": augment.synth_print, "replay": augment.synth_replay}
    return {k: texture.features(np.stack([fns[k](ds.crops[i], rng) for i in live]), spec)
            for k in kinds.split("+")}


def texture_loso(ds: data.Dataset, feats: np.ndarray, aug: list[np.ndarray], c_reg: float,
                 spec, synth: dict[str, np.ndarray] | None = None,
                 nap: int = texture.NAP_DIMS, live_spread: float = texture.LIVE_SPREAD,
                 dro_eta: float = texture.DRO_ETA, dro_fits: int | None = None,
                 one_class_weight: float = 1.0) -> tuple[dict, float, np.ndarray]:
    """Leave one source out with the texture model alone: AUC per held-out source, AUC of all
    held-out scores pooled, and the out-of-source logits. ``live_spread``, ``dro_eta``,
    ``dro_fits``: texture.train's (None: the shipped fit, or plain_fit's);
    ``one_class_weight``: texture.train's."""
    dro_fits = _dro_fits if dro_fits is None else dro_fits
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    live = np.flatnonzero(ds.ok & (ds.label == 1))
    oof = np.full(len(ds), np.nan)
    for s in srcs:
        tr = ds.ok & (ds.source != s)
        te = ds.ok & (ds.source == s)
        x = [feats[tr], *(a[tr] for a in aug)]
        n = len(x)
        y = [np.tile(ds.label[tr], n)]
        g = [np.tile(ds.source[tr], n)]
        for k, f in (synth or {}).items():  # synthetic attacks from the fold's live crops
            sel = tr[live]
            x.append(f[sel])
            y.append(np.zeros(int(sel.sum()), ds.label.dtype))
            g.append(np.full(int(sel.sum()), f"synthetic-{k}"))
        m = texture.train(None, np.concatenate(y), np.concatenate(g), spec, c_reg=c_reg,
                          feats=np.concatenate(x), aug_feats=[], nap=nap,
                          live_spread=live_spread, dro_eta=dro_eta, dro_fits=dro_fits,
                          one_class_weight=one_class_weight)
        oof[te] = m.logits(feats[te])
    return (*loso_aucs(ds, oof), oof)


def loso_aucs(ds: data.Dataset, oof: np.ndarray) -> tuple[dict, float]:
    """AUC of the out-of-source logits ``oof`` per held-out source with both classes, and of
    all held-out scores pooled (ZJU, training data only, left out)."""
    per = {s: pad_metrics(oof[ds.source == s], ds.label[ds.source == s])["auc"]
           for s in data.source_names(ds)
           if s != data.ZJU and len(set(ds.label[ds.source == s].tolist())) == 2}
    ev = ds.source != data.ZJU
    return per, float(pad_metrics(oof[ev], ds.label[ev])["auc"])


def nested_thresholds(ds: data.Dataset, oof: np.ndarray, sources: list[str]) -> dict[str, float]:
    """Per source in ``sources``: the ``balanced`` threshold fitted on the OTHER sources'
    out-of-source logits (the rule training.reproduce uses, on raw logits: the calibration is
    monotone, so the decisions are the same)."""
    ev = ds.ok & (ds.source != data.ZJU) & np.isfinite(oof)
    out = {}
    for s in sources:
        o = ev & (ds.source != s)
        out[s] = calibrate.thresholds(oof[o], ds.label[o], ds.source[o])["balanced"]
    return out


def accepted(ds: data.Dataset, oof: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """Per row: ``oof`` at or above its source's threshold (sources not in ``thresholds``:
    False)."""
    acc = np.zeros(len(ds), bool)
    for s, t in thresholds.items():
        acc[ds.source == s] = oof[ds.source == s] >= t
    return acc


def nested_acer(ds: data.Dataset, oof: np.ndarray, sources: list[str],
                thresholds: dict[str, float] | None = None) -> float:
    """Mean over ``sources`` of the ACER of ``oof`` at each source's nested_thresholds (of
    ``oof`` itself unless ``thresholds`` are given)."""
    thr = nested_thresholds(ds, oof, sources) if thresholds is None else thresholds
    acers = []
    for s in sources:
        te = ds.source == s
        acers.append(pad_metrics(oof[te], ds.label[te], threshold=thr[s])["acer"])
    return float(np.mean(acers))


def fit_per_source(ds: data.Dataset, feats: np.ndarray, augs: list[np.ndarray], spec,
                   c_reg: float = texture.C_REG, bank_sets: dict | None = None,
                   dro_fits: int | None = None) -> dict[str, texture.TextureModel]:
    """Per held-out source (ZJU is training data only): a texture model trained on the other
    sources' rows of ``feats`` and of each augmented copy in ``augs`` (row-aligned), with a
    resolution bank trained on the same rows of ``bank_sets`` (texture.bank_training_sets;
    None: no bank). ``dro_fits``: the main model's, texture.train's (None: the shipped fit,
    or plain_fit's)."""
    dro_fits = _dro_fits if dro_fits is None else dro_fits
    out = {}
    for s in [s for s in data.source_names(ds) if s != data.ZJU]:
        tr = ds.ok & (ds.source != s)
        n = 1 + len(augs)
        x = np.concatenate([feats[tr], *(a[tr] for a in augs)])
        out[s] = texture.train(None, np.tile(ds.label[tr], n), np.tile(ds.source[tr], n), spec,
                               c_reg=c_reg, feats=x, aug_feats=[], dro_fits=dro_fits)
        if bank_sets:
            texture.add_bank(out[s], bank_sets, tr, ds.label[tr], ds.source[tr], spec,
                             c_reg=c_reg)
    return out


def _wb(img: np.ndarray, r: float, b: float) -> np.ndarray:
    x = img.astype(np.float32)
    x[:, :, 2] *= r
    x[:, :, 0] *= b
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def _half_res(img: np.ndarray) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    small = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _sharpen(img: np.ndarray) -> np.ndarray:
    """Unsharp mask (amount 1, Gaussian sigma 1 px), as camera pipelines sharpen."""
    import cv2

    return cv2.addWeighted(img, 2.0, cv2.GaussianBlur(img, (0, 0), 1.0), -1.0, 0)


# What an unseen camera (or an attacker turning a print upside down, which YuNet takes for an
# upright face) changes, applied to the held-out crops (never to training crops).
CAMERA_CHANGES = {
    "as captured": lambda c: c,
    "warm WB": lambda c: _wb(c, 1.15, 0.85),
    "cool WB": lambda c: _wb(c, 0.87, 1.15),
    "half resolution": _half_res,
    "JPEG q50": lambda c: augment.jpeg(c, 50),
    "gamma 0.7": lambda c: (255 * (c / 255.0) ** 0.7 + 0.5).astype(np.uint8),
    "upside down": lambda c: np.ascontiguousarray(c[::-1, ::-1]),
    "sharpened": lambda c: _sharpen(c),
}


def quality_features(crops: np.ndarray, chroma: bool = False) -> np.ndarray:
    """Image-quality statistics of the inner 3/4 of each crop: sharpness (log of the Laplacian's
    variance over the gray variance, at full, half and quarter size) and, with ``chroma``, the
    HSV chromatic moments (mean, standard deviation, skewness of each channel) of the
    image-distortion-analysis literature."""
    import cv2

    out = []
    for c in crops:
        n = c.shape[0]
        c = c[n // 8:n - n // 8, n // 8:n - n // 8]
        g = cv2.cvtColor(c, cv2.COLOR_BGR2GRAY).astype(np.float32)
        f = []
        for k in (1, 2, 4):
            gk = g if k == 1 else cv2.resize(g, (g.shape[1] // k, g.shape[0] // k),
                                              interpolation=cv2.INTER_AREA)
            f.append(np.log(cv2.Laplacian(gk, cv2.CV_32F).var() + 1e-3)
                     - np.log(gk.var() + 1e-3))
        if chroma:
            hsv = cv2.cvtColor(c, cv2.COLOR_BGR2HSV).astype(np.float32)
            for ch, top in zip(range(3), (180.0, 255.0, 255.0)):
                v = hsv[:, :, ch]
                f += [v.mean() / top, v.std() / top,
                      ((v - v.mean()) ** 3).mean() / (v.std() ** 3 + 1e-3)]
        out.append(f)
    return np.asarray(out, np.float64)


def camera_change_check(data_dir: str | None, quality: bool) -> None:
    """Held-out sources' crops changed as an unseen camera would change them (CAMERA_CHANGES):
    mean AUC over held-out sources and mean logit of live / attack crops, per model. Without
    ``quality``: round 4's texture design (YCrCb + HSV, crop + half size), round 5's (all four
    bands), and the shipped one trained with round 3's invariance copies and
    with the shipped ones (white balance + JPEG added). With ``quality``: the image-quality
    statistics (quality_features) alone and summed with the texture logit."""
    spec = DEFAULT_TEXTURE_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    both = [s for s in srcs if len(set(ds.label[ds.source == s].tolist())) == 2]
    feats = texture.features(ds.crops, spec)
    held = {s: np.flatnonzero(ds.ok & (ds.source == s)) for s in srcs}
    changed = {k: {s: np.stack([fn(ds.crops[i]) for i in held[s]]) for s in srcs}
               for k, fn in CAMERA_CHANGES.items()}

    def score(models: dict, fx) -> dict[str, np.ndarray]:
        res = {}
        for k in CAMERA_CHANGES:
            o = np.full(len(ds), np.nan)
            for s in srcs:
                o[held[s]] = models[s].logits(fx(changed[k][s]))
            res[k] = o
        return res

    models: dict[str, dict[str, np.ndarray]] = {}
    if not quality:
        for name, other in (("texture, round 4 (YCrCb + HSV, 2 scales)",
                             row_spec({**_YCC_HSV, "bands": None})[1]),
                            ("texture, round 5 (all four bands)",
                             row_spec(dict(bands=None))[1])):
            aug = texture.augmented_features(ds.crops, other)[0]
            models[name] = score(fit_per_source(ds, texture.features(ds.crops, other), [aug],
                                                other),
                                 lambda c, o=other: texture.features(c, o))
        for wb_jpeg in (False, True):
            aug = texture.augmented_features(ds.crops, spec, wb_jpeg=wb_jpeg)[0]
            name = ("texture, round 6 (copies with WB + JPEG)" if wb_jpeg
                    else "texture, round 6 bands with round-3 copies")
            models[name] = score(fit_per_source(ds, feats, [aug], spec),
                                 lambda c: texture.features(c, spec))
            if wb_jpeg:
                models["texture, round 7, shipped (+ frame-noise copies)"] = score(
                    fit_per_source(ds, feats, [aug, *texture.noise_copy_features(data_dir, spec)],
                                   spec), lambda c: texture.features(c, spec))
    else:
        # the invariance copies' crops themselves: the quality statistics need the pixels
        rng = np.random.default_rng(1000)
        aug_crops = np.stack([augment.invariance(c, rng) for c in ds.crops])
        tex = score(fit_per_source(ds, feats, [texture.features(aug_crops, spec)], spec),
                    lambda c: texture.features(c, spec))
        models["texture"] = tex
        for chroma in (False, True):
            name = "sharpness + HSV moments" if chroma else "sharpness"
            q = score(fit_per_source(ds, quality_features(ds.crops, chroma),
                                     [quality_features(aug_crops, chroma)], spec, 0.1),
                      lambda c, ch=chroma: quality_features(c, ch))
            models[name] = q
            models[f"texture + {name}"] = {k: tex[k] + q[k] for k in CAMERA_CHANGES}
    print("| model | " + " | ".join(CAMERA_CHANGES) + " |\n|---|" + "---:|" * len(CAMERA_CHANGES))
    for name, res in models.items():
        cells = []
        for o in res.values():
            auc = np.mean([pad_metrics(o[ds.source == s], ds.label[ds.source == s])["auc"]
                           for s in both])
            cells.append(f"{auc:.3f} ({np.nanmean(o[ds.label == 1]):+.1f} / "
                         f"{np.nanmean(o[ds.label == 0]):+.1f})")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def _correlated_noise(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Noise as a demosaicking camera leaves it: drawn at half resolution per channel and
    upsampled (spatially correlated), plus a part shared by the three channels."""
    import cv2

    h, w = img.shape[:2]
    n = rng.normal(0.0, 1.6 * s, ((h + 1) // 2, (w + 1) // 2, 3)).astype(np.float32)
    n = cv2.resize(n, (w, h), interpolation=cv2.INTER_LINEAR)
    n += rng.normal(0.0, 0.6 * s, (h, w, 1)).astype(np.float32)
    return np.clip(img + n + 0.5, 0, 255).astype(np.uint8)


# A noisier camera than any in the data, applied to the held-out source images before
# detection and alignment (data.load's ``change``); standard deviations in grey levels.
FRAME_CHANGES = {
    "noise 2": lambda img, rng, face: augment.frame_noise(img, rng, 2.0, 2.0),
    "noise 4": lambda img, rng, face: augment.frame_noise(img, rng, 4.0, 4.0),
    "noise 4 + JPEG q90": lambda img, rng, face: augment.jpeg(
        augment.frame_noise(img, rng, 4.0, 4.0), 90),
    "correlated noise 3": lambda img, rng, face: _correlated_noise(img, rng, 3.0),
}


def noise_check(data_dir: str | None) -> None:
    """Held-out source images with sensor noise added before alignment (FRAME_CHANGES), scored
    by round 6's texture design, by the shipped one (frame-noise copies of 0-5 grey levels in
    training), by one with copies of 0-3 grey levels and by the shipped one with the
    alignment-jitter copies too (``reproduce --jitter``, not shipped), all on the shipped
    spec's crops (round 10: every face area-averaged): mean and
    pooled AUC, and APCER / BPCER (all held-out attacks / live pooled) and mean ACER at the
    balanced threshold fitted on the other sources' unchanged out-of-source logits."""
    spec = DEFAULT_TEXTURE_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    aug = texture.augmented_features(ds.crops, spec)
    noisy = texture.noise_copy_features(data_dir, spec)
    designs = {"no frame-noise copies (round 6's design)": aug,
               "frame-noise copies 0-5 (rounds 7, 8, 10 and 11, shipped)": aug + noisy,
               "frame-noise copies 0-3 (not shipped)":
                   aug + texture.noise_copy_features(data_dir, spec, (0.0, 3.0)),
               "frame-noise copies 0-5 + alignment-jitter copies (`reproduce --jitter`)":
                   aug + noisy + texture.jitter_copy_features(data_dir, spec)}
    frame_change_table(data_dir, ds, designs, FRAME_CHANGES)


# A lower-resolution camera than those in the data (the face at most this many pixels across),
# and the same with its stream's JPEG compression; applied to the held-out source images before
# detection and alignment (delivered at the smaller size, the face scaled with them).
RESOLUTION_CHANGES = {
    "face 128 px": lambda img, rng, face: augment.frame_resolution(
        img, rng, data.face_side(face), 128.0, 128.0),
    "face 80 px": lambda img, rng, face: augment.frame_resolution(
        img, rng, data.face_side(face), 80.0, 80.0),
    "face 80 px + JPEG q80": lambda img, rng, face: augment.frame_resolution(
        img, rng, data.face_side(face), 80.0, 80.0, jpeg_quality=80),
    "face 56 px": lambda img, rng, face: augment.frame_resolution(
        img, rng, data.face_side(face), 56.0, 56.0),
    "face 80 px + noise 4": lambda img, rng, face: augment.frame_noise(
        augment.frame_resolution(img, rng, data.face_side(face), 80.0, 80.0), rng, 4.0, 4.0),
    "noise 4": FRAME_CHANGES["noise 4"],
}


def resolution_check(data_dir: str | None, bank: bool = True) -> None:
    """Held-out source images at a lower resolution (RESOLUTION_CHANGES), scored by the shipped
    texture design (invariance and frame-noise copies, one model) and by the same with
    a resolution bank (texture.bank_training_sets, blended by the face's side in the changed
    image; without noisy copies, with copies of 0-2.5 grey levels, and as
    ``reproduce --resolution-bank`` makes it), as noise_check's table. ``bank=False``
    (``--resolution --no-bank``): single models only, round 8's crop, round 10's (every face
    area-averaged), the shipped one (round 11: every face at one detail too) and round 11's
    other details."""
    if not bank:
        designs = {**dict(list(_round10_designs().items())[:1]), **_round11_designs()}
        for i, (name, spec) in enumerate(designs.items()):
            ds = data.load(data_dir, spec, verbose=False)
            base = texture.training_copies(data_dir, ds.crops, spec)
            frame_change_table(data_dir, ds, {name: base}, RESOLUTION_CHANGES, spec=spec,
                               header=i == 0)
        return
    spec = DEFAULT_TEXTURE_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    base = texture.training_copies(data_dir, ds.crops, spec)
    designs = {"one model (the shipped design)": base,
               "+ resolution bank, no noisy copies":
                   (base, texture.bank_training_sets(data_dir, spec, noise=None)),
               "+ resolution bank, noisy copies 0-2.5":
                   (base, texture.bank_training_sets(data_dir, spec, noise=(0.0, 2.5))),
               "+ resolution bank (`reproduce --resolution-bank`)":
                   (base, texture.bank_training_sets(data_dir, spec))}
    frame_change_table(data_dir, ds, designs, RESOLUTION_CHANGES)


def frame_change_table(data_dir: str | None, ds: data.Dataset, designs: dict[str, Any],
                       changes: dict, spec=DEFAULT_TEXTURE_SPEC, header: bool = True,
                       dro_fits: int | None = None) -> None:
    """Per design (augmented-copy features row-aligned with ``ds``, or (those, the resolution
    bank's training sets)) and per change of the
    held-out images (``data.load``'s ``change``, and the images as captured): mean and pooled
    AUC, APCER / BPCER (all held-out attacks / live pooled) and mean ACER at the balanced
    threshold fitted on the other sources' unchanged out-of-source logits. A resolution bank
    is blended by the face's side in the changed image, as at run time. ``spec``: the texture
    crop and features (``ds`` loaded with it); ``header``: print the table's header;
    ``dro_fits``: texture.train's, for every design (None: fit_per_source's)."""
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    both = [s for s in srcs if len(set(ds.label[ds.source == s].tolist())) == 2]
    feats = texture.features(ds.crops, spec)
    changed = {"as captured": (feats, ds.face_side)}
    for k, fn in changes.items():
        dk = data.load(data_dir, spec, verbose=False, change=fn, change_key=f"sweep:{k}",
                       change_seed=100)
        changed[k] = (texture.features(dk.crops, spec), dk.face_side)
    ev = ds.ok & (ds.source != data.ZJU)
    if header:
        print("| model | held-out images | mean AUC | pooled AUC | APCER % | BPCER % | "
              "mean ACER % |\n|---|---|---:|---:|---:|---:|---:|")
    for name, design in designs.items():
        a, bank = design if isinstance(design, tuple) else (design, None)
        oof = {k: np.full(len(ds), np.nan) for k in changed}
        for s, m in fit_per_source(ds, feats, a, spec, bank_sets=bank,
                                   dro_fits=dro_fits).items():
            te = ds.ok & (ds.source == s)
            for k, (f, side) in changed.items():
                oof[k][te] = m.logits(f[te], side[te])
        thr = nested_thresholds(ds, oof["as captured"], srcs)
        for k, o in oof.items():
            per = [pad_metrics(o[ds.source == s], ds.label[ds.source == s])["auc"]
                   for s in both]
            acc = accepted(ds, o, thr)
            apcer = float(acc[ev & (ds.label == 0)].mean())
            bpcer = float((~acc[ev & (ds.label == 1)]).mean())
            print(f"| {name} | {k} | {np.mean(per):.3f} | "
                  f"{pad_metrics(o[ev], ds.label[ev])['auc']:.3f} | {100 * apcer:.1f} | "
                  f"{100 * bpcer:.1f} | {100 * nested_acer(ds, o, both, thr):.1f} |",
                  flush=True)


def seed_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Round 4's texture design, round 5's (all four bands), round 6's (the middle two bands)
    and the shipped one (round 7: round 6 + frame-noise copies), each with and without the
    nuisance-attribute projection, over other random draws of their augmented copies: how far
    the metrics move by chance alone. ACER: at the balanced threshold fitted on the other
    sources (nested_acer)."""
    ds = data.load(data_dir, DEFAULT_TEXTURE_SPEC, verbose=False)
    designs = {"round 4: YCrCb + HSV, crop + half size": row_spec({**_YCC_HSV,
                                                                    "bands": None})[1],
               "round 5: HSV with hue shift 60, all four bands": row_spec(dict(bands=None))[1],
               "round 6: bands 2 and 3 of 4": DEFAULT_TEXTURE_SPEC,
               "round 7, shipped: round 6 + frame-noise copies": DEFAULT_TEXTURE_SPEC}
    print("| design | NAP dims | augmentation seed | AUC per held-out source | mean AUC | "
          "pooled AUC | mean ACER % |\n|---|---:|---:|---|---:|---:|---:|")
    for name, spec in designs.items():
        feats = texture.features(ds.crops, spec)
        augs = {seed: texture.augmented_features(ds.crops, spec, seed=seed) for seed in seeds}
        if name.startswith("round 7"):  # the noise copies drawn with the same seed
            augs = {seed: a + texture.noise_copy_features(data_dir, spec, seed=seed)
                    for seed, a in augs.items()}
        for nap in (0, texture.NAP_DIMS):
            for seed in seeds:
                per, pooled, oof = texture_loso(ds, feats, augs[seed], texture.C_REG, spec,
                                                nap=nap)
                acer = nested_acer(ds, oof, list(per))
                cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
                print(f"| {name} | {nap} | {seed} | {cells} | {np.mean(list(per.values())):.3f}"
                      f" | {pooled:.3f} | {100 * acer:.1f} |", flush=True)


def jitter_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """The shipped texture training set (invariance and frame-noise copies, drawn with each
    seed; round 8's when this check was written, the shipped crop since) against the same
    plus alignment-jitter copies (texture.JITTER, ``reproduce --jitter``; the other shift
    pair and all four too), over three draws: per held-out source AUC, mean and pooled AUC,
    mean ACER at the balanced threshold fitted on the other sources (nested_acer). Controls
    (round 10): the same number of extra rows as unshifted duplicates of the real crops'
    features (the jitter copies' gain is that weighting, not the shift), and the real crops
    counted 2, 4 and 6 times."""
    spec = DEFAULT_TEXTURE_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    feats = texture.features(ds.crops, spec)
    shifts = {"+ jitter (2, 0), (0, -2) (`reproduce --jitter`)": texture.JITTER,
              "+ jitter (-2, 0), (0, 2)": ((-2.0, 0.0), (0.0, 2.0)),
              "+ jitter, all four": ((2.0, 0.0), (-2.0, 0.0), (0.0, 2.0), (0.0, -2.0))}
    every = tuple(sorted({sh for v in shifts.values() for sh in v}))
    jit = dict(zip(every, texture.jitter_copy_features(data_dir, spec, every)))
    print("| design | augmentation seed | AUC per held-out source | mean AUC | pooled AUC | "
          "mean ACER % |\n|---|---:|---|---:|---:|---:|")
    for seed in seeds:
        base = texture.training_copies(data_dir, ds.crops, spec, seed=seed)
        designs = {"shipped (no jitter copies)": base}
        designs.update({k: base + [jit[s] for s in v] for k, v in shifts.items()})
        # controls: the real crops' own features repeated instead of shifted copies
        designs.update({f"control: real crops x{k} (unshifted duplicates)"
                        + (", as many rows as `--jitter`" if k == 3 else ""):
                        base + [feats] * (k - 1) for k in (2, 3, 4, 6)})
        for name, augs in designs.items():
            per, pooled, oof = texture_loso(ds, feats, augs, texture.C_REG, spec)
            acer = nested_acer(ds, oof, list(per))
            cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
            print(f"| {name} | {seed} | {cells} | {np.mean(list(per.values())):.3f} | "
                  f"{pooled:.3f} | {100 * acer:.1f} |", flush=True)


# Face-side bins (the longer side of the detector's box in the source image, pixels) of
# face_size_check.
FACE_SIDE_BINS = (100.0, 150.0, 200.0, 300.0, 450.0)


def _round10_designs() -> dict[str, Any]:
    """Round 10's comparison: the texture spec before it (the area prefilter only for faces the
    crop minifies by more than 0.8), round 10's and a stronger averaging."""
    old = dataclasses.replace(ROUND10_SPEC, prefilter_max_scale=None)
    return {"rounds 7-8 (area prefilter under scale 0.8 only)": old,
            _ROUND10_NAME: ROUND10_SPEC,
            "every face area-averaged, max scale 0.6 (not shipped)":
                dataclasses.replace(ROUND10_SPEC, prefilter_max_scale=0.6)}


def _round11_designs() -> dict[str, Any]:
    """Round 11's comparison: round 10's texture crop and the same with every face brought to
    one detail (InputSpec.prefilter_detail: 0.75 shipped, 0.875 and 0.6 not)."""
    return {_ROUND10_NAME: ROUND10_SPEC,
            _ROUND11_NAME: ROUND12_SPEC,
            "+ every face at detail 0.875 (not shipped)":
                dataclasses.replace(ROUND10_SPEC, prefilter_detail=0.875),
            "+ every face at detail 0.6 (not shipped)":
                dataclasses.replace(ROUND10_SPEC, prefilter_detail=0.6)}


def round11_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Round 11's change of the texture crop (InputSpec.prefilter_detail) over three draws of
    the augmented copies: _decision_cells, and the held-out attacks with a face under 150 px
    accepted at each source's nested threshold."""
    print(f"| design | augmentation seed | {_DECISION_HEADER} | held-out attacks, face under "
          "150 px: accepted % |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, ds, seed, _, (_, _, oof, acc, _) in _design_draws(data_dir, _round11_designs(),
                                                                 seeds):
        small = _small_attacks(ds)
        print(f"| {name} | {seed} | {_decision_cells(ds, oof)} | "
              f"{100 * acc[small].mean():.1f} |", flush=True)


def _small_attacks(ds: data.Dataset) -> np.ndarray:
    """The held-out attacks with a face under FACE_SIDE_BINS[1] (150 px)."""
    return (ds.ok & (ds.source != data.ZJU) & (ds.label == 0)
            & (ds.face_side < FACE_SIDE_BINS[1]))


def _decisions(ds: data.Dataset, feats: np.ndarray, augs: list[np.ndarray], spec):
    """The texture design ``spec`` (``ds`` loaded with it, ``feats`` its features, ``augs`` its
    training copies' features) left one source out: (per-source AUC, pooled AUC, out-of-source
    logits, accepted at each source's balanced threshold fitted on the other sources
    (nested_thresholds), those thresholds)."""
    per, pooled, oof = texture_loso(ds, feats, augs, texture.C_REG, spec)
    thr = nested_thresholds(ds, oof, [s for s in data.source_names(ds) if s != data.ZJU])
    return per, pooled, oof, accepted(ds, oof, thr), thr


def _held_out_decisions(data_dir: str | None, ds: data.Dataset, feats: np.ndarray, spec,
                        seed: int):
    """_decisions with the shipped training copies (invariance and frame-noise copies) drawn
    with ``seed``."""
    return _decisions(ds, feats, texture.training_copies(data_dir, ds.crops, spec, seed=seed),
                      spec)


def _design_draws(data_dir: str | None, designs: dict[str, Any], seeds: tuple[int, ...]):
    """Per design (name -> texture spec) and per draw of the training copies: (name, the data
    set loaded with the spec, seed, the copies' features, _decisions). Crops and features
    are loaded once per design."""
    for name, spec in designs.items():
        ds = data.load(data_dir, spec, verbose=False)
        feats = texture.features(ds.crops, spec)
        for seed in seeds:
            augs = texture.training_copies(data_dir, ds.crops, spec, seed=seed)
            yield name, ds, seed, augs, _decisions(ds, feats, augs, spec)


def round10_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Round 10's change of the texture crop (InputSpec.prefilter_max_scale) over three draws of
    the augmented copies: per held-out source AUC, mean and pooled AUC, mean ACER at the
    balanced threshold fitted on the other sources, the held-out live faces rejected and the
    held-out attacks with a face under 150 px accepted at that threshold."""
    print("| design | augmentation seed | AUC per held-out source | mean AUC | pooled AUC | "
          "mean ACER % | held-out live rejected % | held-out attacks, face under 150 px: "
          "accepted % |\n|---|---:|---|---:|---:|---:|---:|---:|")
    for name, ds, seed, _, (per, pooled, oof, acc, thr) in _design_draws(
            data_dir, _round10_designs(), seeds):
        small = _small_attacks(ds)
        live = ds.ok & (ds.source != data.ZJU) & (ds.label == 1)
        cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
        print(f"| {name} | {seed} | {cells} | {np.mean(list(per.values())):.3f} | "
              f"{pooled:.3f} | {100 * nested_acer(ds, oof, list(per), thr):.1f} | "
              f"{100 * (1 - acc[live].mean()):.1f} | {100 * acc[small].mean():.1f} "
              f"(of {int(small.sum())}) |", flush=True)


def face_size_check(data_dir: str | None, seed: int = 0) -> None:
    """Out-of-source decisions (texture alone, each source at the balanced threshold fitted on
    the other sources) by the face's side in the source image, for the texture spec before
    round 10, round 10's and the shipped one (round 11): where single frames fail."""
    designs = {**dict(list(_round10_designs().items())[:2]), _ROUND11_NAME: ROUND12_SPEC}
    edges = (0.0, *FACE_SIDE_BINS, np.inf)
    print("| design | face side (px) | held-out attacks | accepted % | per source (accepted % "
          "of n) | held-out live | accepted % | per source (accepted % of n) |\n"
          "|---|---|---:|---:|---|---:|---:|---|")
    for design, spec in designs.items():
        ds = data.load(data_dir, spec, verbose=False)
        _, _, _, acc, _ = _held_out_decisions(data_dir, ds, texture.features(ds.crops, spec),
                                              spec, seed)
        srcs = [s for s in data.source_names(ds) if s != data.ZJU]
        ev = ds.ok & (ds.source != data.ZJU)
        for lo, hi in zip(edges[:-1], edges[1:]):
            cells = []
            for lab in (0, 1):
                m = ev & (ds.label == lab) & (ds.face_side >= lo) & (ds.face_side < hi)
                by = ", ".join(f"{s} {100 * acc[m & (ds.source == s)].mean():.0f} % of "
                               f"{int((m & (ds.source == s)).sum())}"
                               for s in srcs if (m & (ds.source == s)).any())
                cells += [str(int(m.sum())), f"{100 * acc[m].mean():.1f}" if m.any() else "n/a",
                          by or "-"]
            name = f"{lo:g}-{hi:g}" if np.isfinite(hi) else f"{lo:g} and more"
            print(f"| {design} | {name} | {' | '.join(cells)} |", flush=True)


def _mosaic(imgs: list[np.ndarray]) -> np.ndarray:
    """Four frames area-downscaled to half size and tiled 2x2 (tests/test_attacks.py's)."""
    import cv2

    h, w = imgs[0].shape[:2]
    t = [cv2.resize(i, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for i in imgs[:4]]
    return np.vstack([np.hstack(t[:2]), np.hstack(t[2:4])])


def zju_check(data_dir: str | None, step: int = 5) -> None:
    """The ZJU Eyeblink clips (live, training data) with the shipped models: every ``step``-th
    frame of each clip through one ``LivenessDetector()`` per clip (``score_frame``); the
    share of those frames whose passive score reaches the detector's threshold, the clips
    under it for more than half of their frames, and each clip's median passive score where
    it is under the threshold."""
    from fastlive.api import LivenessDetector
    from fastlive.blinks import read_video

    root = Path(data_dir) if data_dir else data.default_data_dir()
    clips = sorted({r["path"] for r in data.read_manifest(root) if r["source"] == data.ZJU})
    scores: dict[str, np.ndarray] = {}
    threshold = float("nan")
    for clip in clips:
        det = LivenessDetector()
        threshold = det.threshold
        got = []
        for frame in read_video(root / clip)[0][::step]:
            res = det.score_frame(frame)
            p = res.faces[0].cues.get("passive") if res.faces else None
            if p is not None and np.isfinite(p):
                got.append(float(p))
        scores[clip] = np.asarray(got)
    every = np.concatenate(list(scores.values()))
    under = {c: float(np.median(v)) for c, v in scores.items()
             if len(v) and (v >= threshold).mean() < 0.5}
    print(f"{len(clips)} clips, {len(every)} frames (every {step}th) with a passive score: "
          f"{100 * (every >= threshold).mean():.1f} % reach the threshold {threshold:.4f}; "
          f"{len(under)} clips under it for more than half of their frames (median passive "
          "score: " + ", ".join(f"{Path(c).stem} {m:.2f}" for c, m in under.items()) + ")")


def mosaic_check(data_dir: str | None, model_dirs: list[str], n: int = 300,
                 seed: int = 1) -> None:
    """NUAA frames scored as single images by ``LivenessDetector().score_frame`` with each
    model folder ("" = the shipped models): every frame alone, and ``n`` seeded mosaics of
    four frames (``_mosaic``, as ``tests/test_attacks.py``'s tiled-print tests build them):
    the share of faces decided LIVE, of mosaics with a LIVE face, and of the print tiles
    that the same model rejects with margin alone (score below threshold -
    ``Config.temporal_margin``, the prints the tests keep) that become LIVE in a mosaic.
    The shipped models were trained on every NUAA frame, so these are training images."""
    import cv2

    from fastlive.api import LivenessDetector
    from fastlive.config import Config
    from fastlive.passive import PassiveScorer
    from fastlive.results import LIVE

    root = Path(data_dir) if data_dir is not None else data.default_data_dir()
    rows = [r for r in data.read_manifest(root) if r["source"] == data.NUAA]
    rng = np.random.default_rng(seed)
    sets = {}
    for lab in ("spoof", "live"):
        pool = [r["path"] for r in rows if r["label"] == lab]
        sets[lab] = [[pool[i] for i in rng.choice(len(pool), 4, replace=False)]
                     for _ in range(n)]
    margin = Config().temporal_margin
    print(f"| models | NUAA frames | frames alone: LIVE % | {n} mosaics: faces | faces LIVE % "
          "| mosaics with a LIVE face % | tiles rejected with margin alone: faces | of those "
          "LIVE in the mosaic % |\n|---|---|---:|---:|---:|---:|---:|---:|")
    for d in model_dirs:
        det = LivenessDetector(passive=PassiveScorer(d)) if d else LivenessDetector()
        for lab, mosaics in sets.items():
            alone: dict[str, tuple[bool, bool]] = {}
            faces = live = with_live = kept = kept_live = 0
            for paths in mosaics:
                imgs = [cv2.imread(str(root / p)) for p in paths]
                for p, img in zip(paths, imgs):
                    if p not in alone:
                        r = det.score_frame(img)
                        alone[p] = (any(f.decision == LIVE for f in r.faces),
                                    bool(r.faces) and r.faces[0].score < det.threshold - margin)
                res = det.score_frame(_mosaic(imgs))
                dec = [f.decision == LIVE for f in res.faces]
                faces += len(dec)
                live += sum(dec)
                with_live += any(dec)
                for f, is_live in zip(res.faces, dec):
                    x, y, w, h = f.box
                    tile = 2 * int(y + h / 2 >= imgs[0].shape[0] / 2) + int(
                        x + w / 2 >= imgs[0].shape[1] / 2)
                    if alone[paths[tile]][1]:
                        kept += 1
                        kept_live += is_live
            single = 100 * np.mean([v[0] for v in alone.values()])
            print(f"| {d or 'shipped (models/)'} | {lab} | {single:.1f} | {faces} | "
                  f"{100 * live / max(faces, 1):.1f} | {100 * with_live / n:.1f} | {kept} | "
                  f"{100 * kept_live / max(kept, 1):.1f} |", flush=True)


def _decision_cells(ds: data.Dataset, oof: np.ndarray) -> str:
    """Table cells of out-of-source logits: AUC per held-out source, mean AUC, pooled AUC, mean
    ACER at the balanced threshold fitted on the other sources, and at those thresholds the
    held-out live faces rejected, prints and replays accepted (%)."""
    per, pooled = loso_aucs(ds, oof)
    thr = nested_thresholds(ds, oof, [s for s in data.source_names(ds) if s != data.ZJU])
    acc = accepted(ds, oof, thr)
    ev = ds.ok & (ds.source != data.ZJU)
    att = ev & (ds.label == 0)
    prints = att & (ds.attack_type == "print")
    cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
    return (f"{cells} | {np.mean(list(per.values())):.3f} | {pooled:.3f} | "
            f"{100 * nested_acer(ds, oof, list(per), thr):.1f} | "
            f"{100 * (1 - acc[ev & (ds.label == 1)].mean()):.1f} | {100 * acc[prints].mean():.1f}"
            f" | {100 * acc[att & ~prints].mean():.1f}")


_DECISION_HEADER = ("AUC per held-out source | mean AUC | pooled AUC | mean ACER % | held-out "
                    "live rejected % | prints accepted % | replays accepted %")


# Other rules for the balanced threshold (threshold_check), each on the out-of-source logits of
# the sources other than the held-out one: name -> function(logits, labels, sources) -> t.
def _per_source_errors(t: float, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(sources, 2): APCER and BPCER of each source in ``g`` at threshold ``t`` (NaN for a
    class the source lacks)."""
    out = []
    for s in sorted(set(g.tolist())):
        xs, ys = x[g == s], y[g == s]
        out.append([(xs[ys == 0] >= t).mean() if (ys == 0).any() else np.nan,
                    (xs[ys == 1] < t).mean() if (ys == 1).any() else np.nan])
    return np.asarray(out)


def _grid_rule(cost) -> Any:
    """A rule picking, among 393 quantiles of the scores, the threshold of least ``cost`` of
    the per-source (APCER, BPCER) array."""
    def rule(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
        grid = np.quantile(x, np.linspace(0.01, 0.99, 393))
        return float(min(grid, key=lambda t: cost(_per_source_errors(t, x, y, g))))
    return rule


def _median_eer(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    return float(np.median([calibrate.thresholds(x[g == s], y[g == s])["balanced"]
                            for s in sorted(set(g.tolist()))
                            if len(set(y[g == s].tolist())) == 2]))


def _acers(e: np.ndarray) -> np.ndarray:
    return e[np.isfinite(e).all(1)].mean(1)


THRESHOLD_RULES = {
    "pooled EER, every source weighing the same (rounds 1-11)":
        lambda x, y, g: calibrate.thresholds(x, y, g, balanced="pooled")["balanced"],
    "median of the sources' own EER thresholds": _median_eer,
    "least mean ACER over the sources": _grid_rule(lambda e: _acers(e).mean()),
    "least worst-source ACER": _grid_rule(lambda e: _acers(e).max()),
    "worst-source APCER = worst-source BPCER (round 12, shipped)":
        lambda x, y, g: calibrate.thresholds(x, y, g, balanced="worst-source")["balanced"],
}


def threshold_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Round 12: the per-source score shift of the shipped texture design. Where each
    held-out source's out-of-source logits sit (quartiles, with its faces' median side in
    source pixels; seed 0), and the decisions under other rules for the balanced threshold
    (THRESHOLD_RULES; the last is calibrate.thresholds' since round 12, the first rounds 1-11's),
    each fitted on the other sources' out-of-source logits as nested_thresholds does, over
    three draws of the augmented copies."""
    spec = ROUND12_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    feats = texture.features(ds.crops, spec)
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    ev = ds.ok & (ds.source != data.ZJU)
    oofs = {seed: _held_out_decisions(data_dir, ds, feats, spec, seed)[2] for seed in seeds}
    print("| held-out source | class | images | median face side px | median logit | "
          "logit quartiles |\n|---|---|---:|---:|---:|---|")
    for s in srcs:
        for lab, name in ((1, "live"), (0, "attack")):
            m = ev & (ds.source == s) & (ds.label == lab)
            if m.any():
                q = np.percentile(oofs[seeds[0]][m], [25, 50, 75])
                print(f"| {s} | {name} | {int(m.sum())} | {np.median(ds.face_side[m]):.0f} | "
                      f"{q[1]:.2f} | {q[0]:.2f} to {q[2]:.2f} |")
    print("\n| balanced threshold rule | augmentation seed | ACER % per held-out source | mean "
          "ACER % | held-out live rejected % | prints accepted % | replays accepted % | pooled "
          "ACER % |\n|---|---:|---|---:|---:|---:|---:|---:|", flush=True)
    prints = ev & (ds.label == 0) & (ds.attack_type == "print")
    replays = ev & (ds.label == 0) & ~prints
    both = [s for s in srcs if len(set(ds.label[ev & (ds.source == s)].tolist())) == 2]
    for name, rule in THRESHOLD_RULES.items():
        for seed in seeds:
            oof = oofs[seed]
            acc = np.zeros(len(ds), bool)
            acers = {}
            for s in srcs:
                o = ev & (ds.source != s)
                t = rule(oof[o], ds.label[o], ds.source[o])
                te = ev & (ds.source == s)
                acc[te] = oof[te] >= t
                if s in both:
                    acers[s] = pad_metrics(oof[te], ds.label[te], threshold=t)["acer"]
            cells = ", ".join(f"{s} {100 * v:.1f}" for s, v in acers.items())
            # as training.reproduce pools them: all held-out attacks, all held-out live faces
            pooled = (acc[ev & (ds.label == 0)].mean() + 1 - acc[ev & (ds.label == 1)].mean()) / 2
            print(f"| {name} | {seed} | {cells} | {100 * np.mean(list(acers.values())):.1f} | "
                  f"{100 * (1 - acc[ev & (ds.label == 1)].mean()):.1f} | "
                  f"{100 * acc[prints].mean():.1f} | {100 * acc[replays].mean():.1f} | "
                  f"{100 * pooled:.1f} |", flush=True)


def round13_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Round 13's texture features (InputSpec.lbp_slacks): round 12's design against the same
    plus a second block of the LBP with slack 1 (a neighbour one grey level below the centre
    still sets its bit), the two blocks fitted apart and summed (texture.train), over three
    draws of the augmented copies: _decision_cells; then both under the held-out images'
    camera changes of --noise and --resolution (frame_change_table, the first draw)."""
    print(f"| design | augmentation seed | {_DECISION_HEADER} |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|---:|")
    designs = {"round 12 (plain LBP)": ROUND12_SPEC,
               "round 13, shipped (+ LBP with slack 1, summed)": DEFAULT_TEXTURE_SPEC}
    first: dict[str, list[np.ndarray]] = {}  # each design's first draw of the copies
    for name, ds, seed, augs, (_, _, oof, _, _) in _design_draws(data_dir, designs, seeds):
        first.setdefault(name, augs)
        print(f"| {name} | {seed} | {_decision_cells(ds, oof)} |", flush=True)
    print()
    for i, (name, spec) in enumerate(designs.items()):
        frame_change_table(data_dir, data.load(data_dir, spec, verbose=False),
                           {name: first[name]}, {**FRAME_CHANGES, **RESOLUTION_CHANGES},
                           spec=spec, header=i == 0)


# Round 14's fits (round14_check): name -> (texture.train's dro_eta, dro_fits,
# one_class_weight).
ROUND14_FITS = {"round 13 (plain weighted fit)": (texture.DRO_ETA, 1, 1.0),
                "round 14, shipped (group DRO, eta 1, 8 fits)": (1.0, 8, 1.0),
                "group DRO, eta 2, 8 fits": (2.0, 8, 1.0),
                "group DRO, eta 5, 8 fits": (5.0, 8, 1.0),
                "group DRO, eta 5, 40 fits": (5.0, 40, 1.0),
                "control: plain fit, live-only sources at 1/4 of their weight": (
                    texture.DRO_ETA, 1, 0.25)}


def round14_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Round 14's fit of the texture model (texture.DRO_FITS, DRO_ETA: group DRO over the
    training sources) against round 13's plain weighted fit, stronger group DRO and a control
    (the plain fit with the live-only sources weighing a quarter: group DRO weighs them less),
    on the shipped features, over three draws of the augmented copies: _decision_cells; then round
    13's and the shipped fit under the held-out images' camera changes of --noise and
    --resolution (frame_change_table, the first draw)."""
    spec = DEFAULT_TEXTURE_SPEC
    assert ROUND14_FITS["round 14, shipped (group DRO, eta 1, 8 fits)"] == (
        texture.DRO_ETA, texture.DRO_FITS, 1.0)
    ds = data.load(data_dir, spec, verbose=False)
    feats = texture.features(ds.crops, spec)
    print(f"| fit | augmentation seed | {_DECISION_HEADER} |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|---:|")
    first = None
    for seed in seeds:
        augs = texture.training_copies(data_dir, ds.crops, spec, seed=seed)
        first = augs if first is None else first
        for name, (eta, fits, one) in ROUND14_FITS.items():
            _, _, oof = texture_loso(ds, feats, augs, texture.C_REG, spec, dro_eta=eta,
                                     dro_fits=fits, one_class_weight=one)
            print(f"| {name} | {seed} | {_decision_cells(ds, oof)} |", flush=True)
    print()
    for i, (name, fits) in enumerate((("round 13 (plain weighted fit)", 1),
                                      ("round 14, shipped (group DRO)", texture.DRO_FITS))):
        frame_change_table(data_dir, ds, {name: first}, {**FRAME_CHANGES, **RESOLUTION_CHANGES},
                           spec=spec, header=i == 0, dro_fits=fits)


def spread_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2),
                 spreads: tuple[float, ...] = (0.003, 0.01, 0.03)) -> None:
    """Round 11 (not shipped), on round 10's crop (ROUND10_SPEC): its texture training set
    (invariance and frame-noise copies drawn with each seed) fitted with the live-spread
    penalty (texture.LIVE_SPREAD) at several strengths, over three draws; and round 10's
    fit's logits averaged over the draws (one linear model again: is the draw's luck worth
    averaging away?)."""
    spec = ROUND10_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    feats = texture.features(ds.crops, spec)
    print(f"| design | augmentation seed | {_DECISION_HEADER} |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|---:|")
    round10 = []
    for seed in seeds:
        augs = texture.training_copies(data_dir, ds.crops, spec, seed=seed)
        for lam in (0.0, *spreads):
            _, _, oof = texture_loso(ds, feats, augs, texture.C_REG, spec, live_spread=lam)
            if lam == 0:
                round10.append(oof)
            name = "round 10's fit" if lam == 0 else f"live-spread penalty {lam:g}"
            print(f"| {name} | {seed} | {_decision_cells(ds, oof)} |", flush=True)
    print(f"| round 10's fit, logits averaged over the draws | "
          f"{', '.join(map(str, seeds))} | {_decision_cells(ds, np.mean(round10, 0))} |",
          flush=True)


def shift_average_check(data_dir: str | None, seeds: tuple[int, ...] = (0, 1, 2),
                        px: float = 2.0) -> None:
    """Round 11 (not shipped): test-time averaging, on round 10's crop (ROUND10_SPEC). Each
    held-out image is scored by round 10's fold model (invariance and frame-noise copies
    drawn with each seed) on its crop and on crops with the face moved by ``px`` crop pixels
    left, right, up and down before the alignment (data.load's shift, as by a small keypoint
    error), the logits averaged: does averaging out the alignment's noise separate the
    classes better?"""
    spec = ROUND10_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    feats = texture.features(ds.crops, spec)
    moved = [texture.features(data.load(data_dir, spec, verbose=False, shift=sh).crops, spec)
             for sh in ((px, 0.0), (-px, 0.0), (0.0, px), (0.0, -px))]
    print(f"| scored on | augmentation seed | {_DECISION_HEADER} |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for seed in seeds:
        augs = texture.training_copies(data_dir, ds.crops, spec, seed=seed)
        models = fit_per_source(ds, feats, augs, spec)
        for name, fs in (("the crop alone (round 10)", [feats]),
                         (f"mean logit of the crop and 4 moved by {px:g} px", [feats, *moved])):
            oof = np.full(len(ds), np.nan)
            for s, m in models.items():
                te = ds.ok & (ds.source == s)
                oof[te] = np.mean([m.logits(f[te]) for f in fs], 0)
            print(f"| {name} | {seed} | {_decision_cells(ds, oof)} |", flush=True)


# The band CNN of texture_cnn_check: the texture crop's rows of its middle two bands (eyes,
# nose/mouth: rows 40-119 of 160), as the shipped texture features use.
BAND_ROWS = (40, 120)


def texture_cnn_check(data_dir: str | None, epochs: int = 8, width: int = 16,
                      seed: int = 0) -> None:
    """Round 11 (not shipped): a small CNN on the texture crop's eye and nose/mouth bands
    (BAND_ROWS of round 10's 160 px crop, every face area-averaged; lighting-standardized
    luma, RGB) in place of the LBP histograms: four 3x3 convolutions (two of stride 2), the
    mean and standard deviation of each channel over the band, dropout, one logit; trained on
    the real crops, with invariance changes (augment.invariance, 70 %) and the frame-noise
    copy instead of the crop (30 %) drawn anew every epoch, live and attack balanced per
    source; a held-out crop is scored as the mean logit of it and its mirror image. Left one
    source out: the CNN's AUC per held-out source, and round 10's texture logits (draw
    ``seed``) fused with it by the nested stacking of training.reproduce (fusion and threshold
    fitted on the other sources' out-of-source logits) against the texture logits alone.
    About 12 minutes on 2 cores."""
    import torch
    from torch import nn

    from training import reproduce

    torch.set_num_threads(2)
    spec = ROUND10_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    noisy = texture.noise_copy_crops(data_dir, spec, seed=seed)
    r0, r1 = BAND_ROWS

    def tensor(crops: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(crops[:, r0:r1, :, ::-1])).float()
        x = x.permute(0, 3, 1, 2)
        luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
        mu = luma.mean((1, 2)).view(-1, 1, 1, 1)
        return (x - mu) / luma.std((1, 2)).clamp(min=1.0).view(-1, 1, 1, 1)

    class BandNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            for cin, cout, stride in ((3, width, 1), (width, width, 2),
                                      (width, 2 * width, 2), (2 * width, 2 * width, 1)):
                layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                           nn.BatchNorm2d(cout), nn.ReLU()]
            self.features = nn.Sequential(*layers)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(4 * width, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.features(x)
            return self.fc(self.drop(torch.cat([h.mean((2, 3)), h.std((2, 3))], 1)))[:, 0]

    def train(rows: np.ndarray) -> BandNet:
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        net = BandNet()
        opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-2)
        y = ds.label[rows].astype(np.float32)
        w = calibrate.balanced_weights(y, ds.source[rows]).astype(np.float32)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, 2e-3, total_steps=epochs * ((len(rows) + 63) // 64))
        for _ in range(epochs):
            net.train()
            order = rng.permutation(len(rows))
            for b in range(0, len(rows), 64):
                j = order[b:b + 64]
                imgs = []
                for k in rows[j]:
                    img = noisy[k] if rng.random() < 0.3 else ds.crops[k]
                    imgs.append(augment.invariance(img, rng) if rng.random() < 0.7 else img)
                loss = (nn.functional.binary_cross_entropy_with_logits(
                    net(tensor(np.stack(imgs))), torch.from_numpy(y[j]), reduction="none")
                    * torch.from_numpy(w[j])).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        return net

    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    band = np.full(len(ds), np.nan)
    for s in srcs:
        net = train(np.flatnonzero(ds.ok & (ds.source != s))).eval()
        te = np.flatnonzero(ds.ok & (ds.source == s))
        with torch.no_grad():
            for b in range(0, len(te), 256):
                x = tensor(ds.crops[te[b:b + 256]])
                band[te[b:b + 256]] = ((net(x) + net(x.flip(3))) / 2).numpy()
        print(f"[texture-cnn] {s} done", flush=True)
    _, _, tex = texture_loso(ds, texture.features(ds.crops, spec),
                             texture.training_copies(data_dir, ds.crops, spec, seed=seed),
                             texture.C_REG, spec)
    per, pooled = loso_aucs(ds, band)
    print("| model | AUC per held-out source | mean AUC | pooled AUC | mean ACER % |\n"
          "|---|---|---:|---:|---:|")
    print(f"| band CNN alone ({epochs} epochs, width {width}) | "
          f"{', '.join(f'{s} {v:.3f}' for s, v in per.items())} | "
          f"{np.mean(list(per.values())):.3f} | {pooled:.3f} | n/a |", flush=True)
    ev = ds.ok & (ds.source != data.ZJU)
    for use_cnn in (False, True):
        fused = np.full(len(ds), np.nan)
        acers = {}
        for s in srcs:
            fit = ev & (ds.source != s)
            fusion, thr, _ = reproduce.fit_fusion_oof(band[fit], tex[fit], ds.label[fit],
                                                      ds.source[fit], use_cnn=use_cnn)
            te = ev & (ds.source == s)
            fused[te] = calibrate.fuse(fusion, band[te], tex[te])
            if len(set(ds.label[te].tolist())) == 2:
                acers[s] = pad_metrics(fused[te], ds.label[te],
                                       threshold=thr["balanced"])["acer"]
        per, pooled = loso_aucs(ds, fused)
        name = "texture + band CNN, nested fusion" if use_cnn else "texture alone (round 10)"
        print(f"| {name} | {', '.join(f'{s} {v:.3f}' for s, v in per.items())} | "
              f"{np.mean(list(per.values())):.3f} | {pooled:.3f} | "
              f"{100 * np.mean(list(acers.values())):.1f} |", flush=True)


def descriptor_check(data_dir: str | None) -> None:
    """The shipped texture model against other descriptors on the same crops and the same
    fit (training.descriptors; texture_loso with the shipped C and nuisance projection), and
    the shipped logit summed with CoALBP's."""
    from training import descriptors

    spec = ROUND12_SPEC
    ds = data.load(data_dir, spec, verbose=False)
    rng = np.random.default_rng(1000)  # the draw of texture.augmented_features(seed=0)
    aug_crops = np.stack([augment.invariance(c, rng) for c in ds.crops])
    print("| descriptor | features | AUC per held-out source | mean AUC | pooled AUC | "
          "mean ACER % |\n|---|---:|---|---:|---:|---:|", flush=True)

    def row(name: str, oof: np.ndarray, n_feat: int | str) -> None:
        per, pooled = loso_aucs(ds, oof)
        cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
        print(f"| {name} | {n_feat} | {cells} | {np.mean(list(per.values())):.3f} | "
              f"{pooled:.3f} | {100 * nested_acer(ds, oof, list(per)):.1f} |", flush=True)

    feats = texture.features(ds.crops, spec)
    _, _, shipped = texture_loso(ds, feats, [texture.features(aug_crops, spec)], texture.C_REG,
                                 spec)
    row("round 6 (the shipped features): kernel LBP of H (shifted 60), S, V, bands 2-3 of 4",
        shipped, feats.shape[1])
    oofs, dims = {}, {}
    for name, fn in descriptors.descriptors().items():
        x = np.stack([fn(c) for c in ds.crops])
        ax = np.stack([fn(c) for c in aug_crops])
        _, _, oofs[name] = texture_loso(ds, x, [ax], texture.C_REG, spec)
        dims[name] = x.shape[1]
        row(name, oofs[name], x.shape[1])
    row("shipped + CoALBP (logits summed)", shipped + oofs["CoALBP (HSV)"],
        f"{feats.shape[1]} + {dims['CoALBP (HSV)']}")


def reflection_check(data_dir: str | None) -> None:
    """Per-source AUC of the specular statistics (fastlive.cues.reflection_cue on the CNN's
    64 px crop): is the reflection cue worth fusing? (An AUC below 0.5 means the statistic is
    higher for attacks on that source.)"""
    from fastlive import _core

    ds = data.load(data_dir, DEFAULT_SPEC, verbose=False)
    stats = [_core.specular_stats(c) for c in ds.crops]
    print("| statistic | " + " | ".join(s for s in data.source_names(ds)
                                        if len(set(ds.label[ds.source == s].tolist())) == 2)
          + " |")
    for k in ("ratio", "n_blobs", "max_value"):
        v = np.array([st[k] for st in stats], float)
        cells = [f"{pad_metrics(v[ds.source == s], ds.label[ds.source == s])['auc']:.2f}"
                 for s in data.source_names(ds)
                 if len(set(ds.label[ds.source == s].tolist())) == 2]
        print(f"| {k} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.sweep", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--reflection", action="store_true",
                    help="only the per-source AUC of the specular (reflection) statistics")
    ap.add_argument("--robustness", action="store_true",
                    help="only: held-out crops changed as by an unseen camera (white balance, "
                         "resolution, JPEG, gamma, upside down): round 4's and round 5's "
                         "texture designs, and the shipped one trained with and without WB + "
                         "JPEG invariance copies")
    ap.add_argument("--quality", action="store_true",
                    help="only: the image-quality statistics (sharpness, HSV moments) as a cue, "
                         "under the same camera changes")
    ap.add_argument("--seeds", action="store_true",
                    help="only: round 4's, round 5's and the shipped design, with and without "
                         "NAP, other draws of their augmented copies")
    ap.add_argument("--descriptors", action="store_true",
                    help="only: other descriptors (CoALBP, LPQ, DoG, log-opponent colour, LBP "
                         "variants, pooled face-network features) against the shipped one")
    ap.add_argument("--round6", action="store_true",
                    help="only round 6's rows of the design table (which bands of the crop)")
    ap.add_argument("--round7", action="store_true",
                    help="only round 7's rows of the design table (frame-noise copies)")
    ap.add_argument("--noise", action="store_true",
                    help="only: held-out images with sensor noise added before alignment "
                         "(round 6 against the shipped frame-noise copies)")
    ap.add_argument("--resolution", action="store_true",
                    help="only: held-out images at a lower resolution (the shipped texture "
                         "model against the same with a resolution bank)")
    ap.add_argument("--no-bank", action="store_true",
                    help="with --resolution: single models only (round 8's, round 10's and "
                         "round 11's crops, and round 11's other details), no bank")
    ap.add_argument("--jitter", action="store_true",
                    help="only: alignment-jitter copies (round 9, not shipped) over three "
                         "draws of the other copies, against unshifted duplicates of the "
                         "real crops (round 10's control)")
    ap.add_argument("--face-size", action="store_true",
                    help="only: out-of-source decisions by face size (before round 10, "
                         "round 10 and round 11, shipped)")
    ap.add_argument("--round10", action="store_true",
                    help="only: round 10's texture crop (every face area-averaged) against "
                         "round 8's, three draws")
    ap.add_argument("--mosaics", nargs="*", metavar="MODEL_DIR", default=None,
                    help="only: NUAA frames alone and tiled 2x2, scored as single images "
                         "with each model folder (none given: the shipped models)")
    ap.add_argument("--round11", action="store_true",
                    help="only: round 11's texture crop (every face at one detail) against "
                         "round 10's, three draws")
    ap.add_argument("--spread", action="store_true",
                    help="only: round 11's live-spread penalty (not shipped) and round 10's "
                         "fit averaged over three draws, on round 10's crop")
    ap.add_argument("--texture-cnn", action="store_true",
                    help="only: round 11's CNN on the texture crop's bands (not shipped), "
                         "alone and fused with the texture logits (~12 min)")
    ap.add_argument("--zju", action="store_true",
                    help="only: the ZJU clips (training data) through LivenessDetector() with the "
                         "shipped models, every 5th frame: the share reaching the threshold")
    ap.add_argument("--round14", action="store_true",
                    help="only: round 14's group-DRO fit of the texture model against round "
                         "13's plain fit and stronger group DRO, three draws, and under "
                         "camera changes (~10 min with caches)")
    ap.add_argument("--round13", action="store_true",
                    help="only: round 13's second LBP block with slack 1 against round 12's "
                         "features, three draws")
    ap.add_argument("--thresholds", action="store_true",
                    help="only: round 12's look at the per-source score shift (where each "
                         "held-out source's logits sit) and other balanced-threshold rules")
    ap.add_argument("--shifts", action="store_true",
                    help="only: round 11's test-time averaging over crops with the face moved "
                         "by 2 px (not shipped)")
    args = ap.parse_args(argv)
    only = [(args.zju, lambda: zju_check(args.data), False),
            (args.round13, lambda: round13_check(args.data), True),
            (args.round14, lambda: round14_check(args.data), False),
            (args.thresholds, lambda: threshold_check(args.data), True),
            (args.round11, lambda: round11_check(args.data), True),
            (args.spread, lambda: spread_check(args.data), True),
            (args.shifts, lambda: shift_average_check(args.data), True),
            (args.texture_cnn, lambda: texture_cnn_check(args.data), True),
            (args.mosaics is not None,
             lambda: mosaic_check(args.data, args.mosaics or [""]), False),
            (args.face_size, lambda: face_size_check(args.data), True),
            (args.round10, lambda: round10_check(args.data), True),
            (args.jitter, lambda: jitter_check(args.data), False),
            (args.descriptors, lambda: descriptor_check(args.data), True),
            (args.seeds, lambda: seed_check(args.data), False),
            (args.reflection, lambda: reflection_check(args.data), False),
            (args.noise, lambda: noise_check(args.data), False),
            (args.resolution, lambda: resolution_check(args.data, bank=not args.no_bank), False),
            (args.robustness or args.quality,
             lambda: camera_change_check(args.data, quality=args.quality), False)]
    for chosen, check, plain in only:  # plain: a check of rounds 1-13, on their fit
        if chosen:
            with plain_fit() if plain else contextlib.nullcontext():
                check()
            return 0
    if args.round6:
        rows = [{"noise": None, **r} for r in ROUND6]
    elif args.round7:
        rows = [{**_OLD, **r} for r in ROUND7]
    else:
        rows = GRID
    with plain_fit():
        design_table(args.data, rows)
    return 0


def design_table(data_dir: str | None, rows: list[dict]) -> None:
    """The texture design table (``rows`` of GRID, ROUND6 or ROUND7's form): per row, the
    design left one source out (texture_loso) with its per-source AUC, mean and pooled AUC and
    mean ACER at the balanced threshold fitted on the other sources."""
    print("| crop px | context | LBP grid | cells kept | LBP radii | colours | hue shift | "
          "mirror fold | scales | aug copies | WB + JPEG in copies | frame-noise copies (grey "
          "levels) | C | NAP dims | synthetic attacks | AUC per held-out source | mean AUC | "
          "pooled AUC | mean ACER % |\n"
          "|---:|---:|---|---|---|---|---:|---|---|---:|---|---|---:|---:|---|---|---:|---:|---:|",
          flush=True)
    crops = sorted({(r["size"], r["scale"], r["area"] or 0.0) for r in map(
        lambda g: row_spec(g)[0], rows)})
    for size, scale, area in crops:
        ds = data.load(data_dir, dataclasses.replace(DEFAULT_SPEC, size=size, scale=scale,
                                                      prefilter_max_scale=area or None),
                       verbose=False)
        cache: dict = {}
        for row in rows:
            r, spec = row_spec(row)
            if (r["size"], r["scale"], r["area"] or 0.0) != (size, scale, area):
                continue
            key = (r["radius"], r["mirror"], r["scales"], r["grid"], r["colors"], r["hue"],
                   r["bands"])
            if key not in cache:
                cache[key] = {"feats": texture.features(ds.crops, spec)}
            if r["wb_jpeg"] not in cache[key]:
                cache[key][r["wb_jpeg"]] = texture.augmented_features(
                    ds.crops, spec, copies=2, wb_jpeg=r["wb_jpeg"])
            feats, aug = cache[key]["feats"], cache[key][r["wb_jpeg"]]
            aug = aug[:r["copies"]]
            if r["noise"] is not None:
                nkey = ("noise", r["noise"])
                if nkey not in cache[key]:
                    cache[key][nkey] = texture.noise_copy_features(data_dir, spec, r["noise"])
                aug = aug + cache[key][nkey]
            synth = synthetic_features(ds, spec, r["synth"]) if r["synth"] else None
            per, pooled, oof = texture_loso(ds, feats, aug, r["C"], spec, synth, nap=r["nap"])
            acer = nested_acer(ds, oof, list(per))
            cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
            rad = r["radius"]
            radii = rad if isinstance(rad, int) else ", ".join(map(str, rad))
            colours = " + ".join(texture.COLOUR_NAMES[c] for c in r["colors"])
            kept = "all" if r["bands"] is None else ", ".join(str(b + 1) for b in r["bands"])
            noise = "none" if r["noise"] is None else f"{r['noise'][0]:g}-{r['noise'][1]:g}"
            print(f"| {size} | {scale} | {r['grid'][0]}x{r['grid'][1]} | {kept} | {radii} | "
                  f"{colours} | "
                  f"{r['hue']} | {'yes' if r['mirror'] else 'no'} | "
                  f"{', '.join(map(str, r['scales']))} | "
                  f"{r['copies']} | {'yes' if r['wb_jpeg'] else 'no'} | {noise} | {r['C']} | "
                  f"{r['nap']} | "
                  f"{r['synth'] or 'none'} | {cells} | {np.mean(list(per.values())):.3f} | "
                  f"{pooled:.3f} | {100 * acer:.1f} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
