"""Training smoke run (CI, < 2 min): a tiny subset of the real data through the real
preprocessing, a few CNN steps, texture classifier, calibration, ONNX export checked against
PyTorch, and the exported folder loaded by fastlive.passive.PassiveScorer."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the [train] extra; CI installs it
pytest.importorskip("sklearn")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tiny(data_dir):
    from training import data

    torch.set_num_threads(1)
    ds = data.load(data_dir, sources=["nuaa", "shubhamlala", "saikan45"], limit_per_source=12,
                   cache=False, verbose=False)
    return ds


def test_preprocessing_uses_the_runtime_path(tiny, data_dir):
    import cv2

    from fastlive import passive
    from fastlive.detect import FaceDetector

    assert set(tiny.source.tolist()) == {"nuaa", "shubhamlala", "saikan45"}
    assert set(tiny.label.tolist()) == {0, 1}
    assert tiny.ok.all()
    det = FaceDetector()
    for i in (0, len(tiny) - 1):
        img = cv2.imread(str(data_dir / tiny.path[i]))
        face = det.detect(img)[0] if tiny.source[i] == "nuaa" else det.detect_in_crop(img)
        crop, _ = passive.prepare(img, face, tensor=False)
        assert np.array_equal(crop, tiny.crops[i])


def test_splits_are_subject_and_group_disjoint(tiny):
    from training import data

    for held in (None, "nuaa", "shubhamlala"):
        tr, dv, te = data.dev_test_split(tiny, held)
        assert not (tr & dv).any() and not (tr & te).any() and not (dv & te).any()
        assert (tr | dv | te).all()
        s_tr, s_dv, s_te = (set(tiny.subject[m].tolist()) for m in (tr, dv, te))
        assert not (s_tr & s_dv) and not (s_tr & s_te) and not (s_dv & s_te)
        if held is not None:
            assert set(tiny.source[te].tolist()) == {held}
        assert (tiny.label[dv] == 0).any() and (tiny.label[dv] == 1).any()


def test_augmentations_keep_shape_and_change_pixels():
    from training import augment

    rng = np.random.default_rng(0)
    img = np.random.default_rng(1).integers(40, 220, (64, 64, 3), dtype=np.uint8)
    for fn in (augment.photometric, augment.geometric, augment.synth_print,
               augment.synth_replay, augment.resolution, augment.invariance,
               augment.edge_streaks):
        outs = [fn(img, rng) for _ in range(5)]
        assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)
        assert any(not np.array_equal(o, img) for o in outs), fn.__name__
    # a face cut by the frame edge: whole bands equal to their edge row / column
    for seed in range(8):
        e = augment.edge_streaks(img, np.random.default_rng(seed))
        cols = [k for k in range(1, 64) if np.array_equal(e[:, k], e[:, k - 1])]
        rows_ = [k for k in range(1, 64) if np.array_equal(e[k], e[k - 1])]
        assert len(cols) + len(rows_) >= 2, seed  # >= 5 % of 64 px replicated
        assert np.array_equal(e[23:41, 23:41], img[23:41, 23:41])  # bands <= 35 %: centre kept
    # a print rendering compresses the dynamic range (ink black / paper white)
    flat = np.full((64, 64, 3), 255, np.uint8)
    assert augment.synth_print(flat, np.random.default_rng(2)).mean() < 250


def test_texture_model_over_slacks_is_the_sum_of_one_fit_per_slack(tiny_tex):
    """texture.train with InputSpec.lbp_slacks (0, 1): each slack's block of features is
    fitted on its own and the shipped model is their sum, one logistic regression."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC
    from training import texture

    ok = tiny_tex.ok
    crops, lab, grp = tiny_tex.crops[ok], tiny_tex.label[ok], tiny_tex.source[ok]
    one = dataclasses.replace(DEFAULT_TEXTURE_SPEC, lbp_slacks=(0,))
    two = dataclasses.replace(DEFAULT_TEXTURE_SPEC, lbp_slacks=(0, 1))
    f2 = texture.features(crops, two)
    a2 = texture.augmented_features(crops, two, seed=0)
    n = f2.shape[1] // 2
    assert np.array_equal(f2[:, :n], texture.features(crops, one))
    m = texture.train(None, lab, grp, two, feats=f2, aug_feats=a2)
    parts = [texture.train(None, lab, grp, one, feats=f2[:, cols],
                           aug_feats=[x[:, cols] for x in a2])
             for cols in (slice(0, n), slice(n, 2 * n))]
    assert m.coef.shape == (2 * n,)
    np.testing.assert_allclose(m.logits(f2), parts[0].logits(f2[:, :n])
                               + parts[1].logits(f2[:, n:]), atol=1e-6)
    assert not np.allclose(parts[1].logits(f2[:, n:]), 0.0)
    # features of another width (the sweep's quality statistics) stay one fit
    q = f2[:, :5]
    np.testing.assert_array_equal(
        texture.train(None, lab, grp, two, feats=q, aug_feats=[x[:, :5] for x in a2]).coef,
        texture.train(None, lab, grp, one, feats=q, aug_feats=[x[:, :5] for x in a2]).coef)


@pytest.fixture(scope="module")
def tiny_tex(data_dir, tiny):
    """The same rows as ``tiny``, preprocessed for the texture classifier (its own crop)."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC
    from training import data

    ds = data.load(data_dir, DEFAULT_TEXTURE_SPEC, sources=["nuaa", "shubhamlala", "saikan45"],
                   limit_per_source=12, cache=False, verbose=False)
    assert np.array_equal(ds.path, tiny.path) and np.array_equal(ds.ok, tiny.ok)
    return ds


def test_frame_change_keeps_rows_and_faces_and_changes_pixels(data_dir, tiny_tex):
    """data.load's ``change`` (the frame-noise copies): applied to each source image before
    alignment, seeded per row; the rows and detections stay those of the unchanged data."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC
    from training import augment, data

    kw = dict(sources=["nuaa", "shubhamlala", "saikan45"], limit_per_source=12, cache=False,
              verbose=False, change_key="frame_noise:4:4")

    def noise(img, rng, face):
        return augment.frame_noise(img, rng, 4.0, 4.0)

    a = data.load(data_dir, DEFAULT_TEXTURE_SPEC, change=noise, change_seed=1, **kw)
    b = data.load(data_dir, DEFAULT_TEXTURE_SPEC, change=noise, change_seed=1, **kw)
    c = data.load(data_dir, DEFAULT_TEXTURE_SPEC, change=noise, change_seed=2, **kw)
    assert np.array_equal(a.path, tiny_tex.path) and np.array_equal(a.ok, tiny_tex.ok)
    assert np.array_equal(a.face_side, tiny_tex.face_side)
    assert np.array_equal(a.crops, b.crops)  # seeded
    assert not np.array_equal(a.crops, c.crops)
    d = a.crops.astype(float) - tiny_tex.crops.astype(float)
    assert 0.5 < d.std() < 4.0  # noise of 4 grey levels, resampled by the alignment
    assert abs(d.mean()) < 0.5
    with pytest.raises(ValueError, match="change_key"):
        data.load(data_dir, DEFAULT_TEXTURE_SPEC, sources=["nuaa"], limit_per_source=2,
                  cache=False, verbose=False, change=noise)


def test_frame_noise_draws_its_level_from_the_range():
    from training import augment

    flat = np.full((200, 200, 3), 128, np.uint8)
    sds = [float((augment.frame_noise(flat, np.random.default_rng(i), 1.0, 6.0).astype(float)
                  - 128).std()) for i in range(40)]
    assert 0.9 < min(sds) and max(sds) < 6.1 and max(sds) - min(sds) > 2.0
    fixed = augment.frame_noise(flat, np.random.default_rng(0), 3.0, 3.0).astype(float)
    assert abs((fixed - 128).std() - 3.0) < 0.1


def test_frame_resolution_brings_the_face_to_the_side_drawn():
    from training import augment

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    same = augment.frame_resolution(img, np.random.default_rng(1), 60.0, 80.0, 120.0)
    assert same is img  # the face (60 px) is already smaller than any side drawn
    out = augment.frame_resolution(img, np.random.default_rng(1), 200.0, 50.0, 50.0)
    # a quarter of the resolution, delivered at that size (as the camera would)
    assert out.shape == (75, 100, 3) and out.dtype == np.uint8
    # white noise is averaged over 4x4 pixels (area): a quarter of its deviation
    assert 0.2 < out.astype(float).std() / img.astype(float).std() < 0.3
    small = augment.frame_resolution(img, np.random.default_rng(1), 200.0, 50.0, 50.0,
                                     jpeg_quality=50)
    assert small.shape == out.shape and not np.array_equal(small, out)


def test_lower_resolution_change_scales_the_face(data_dir, tiny_tex):
    """A change that returns a smaller image (augment.frame_resolution): data.load scales the
    face with it, so the crop shows the same face at the lower resolution, and face_side is
    the face's side in the smaller image."""
    import cv2

    from fastlive.passive import DEFAULT_TEXTURE_SPEC
    from training import augment, data

    def low(img, rng, face):
        return augment.frame_resolution(img, rng, data.face_side(face), 64.0, 64.0)

    a = data.load(data_dir, DEFAULT_TEXTURE_SPEC, sources=["nuaa", "shubhamlala", "saikan45"],
                  limit_per_source=12, cache=False, verbose=False, change=low,
                  change_key="frame_resolution:64:64:small-frame")
    assert np.array_equal(a.path, tiny_tex.path) and np.array_equal(a.ok, tiny_tex.ok)
    ok = a.ok & (tiny_tex.face_side > 64)
    assert ok.sum() >= 20
    np.testing.assert_allclose(a.face_side[ok], 64.0, atol=1.0)
    for i in np.flatnonzero(ok)[:10]:
        x, y = tiny_tex.crops[i].astype(float), a.crops[i].astype(float)
        # the same face in the same place: close after blurring away the lost detail ...
        bx = cv2.GaussianBlur(x, (0, 0), 4.0)
        by = cv2.GaussianBlur(y, (0, 0), 4.0)
        assert np.abs(bx - by).mean() < 6.0
        # ... with less fine detail (the Laplacian's energy) than the original
        lx = cv2.Laplacian(cv2.cvtColor(tiny_tex.crops[i], cv2.COLOR_BGR2GRAY), cv2.CV_64F)
        ly = cv2.Laplacian(cv2.cvtColor(a.crops[i], cv2.COLOR_BGR2GRAY), cv2.CV_64F)
        assert ly.var() < lx.var()


def test_shift_moves_the_face_in_the_crop(data_dir, tiny_tex):
    """data.load's ``shift`` (the alignment-jitter copies): the face moved by (dx, dy) crop
    pixels, so the crop shows the same pixels moved by (-dx, -dy); rows and faces unchanged."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC
    from training import data

    a = data.load(data_dir, DEFAULT_TEXTURE_SPEC, sources=["nuaa", "shubhamlala", "saikan45"],
                  limit_per_source=12, cache=False, verbose=False, shift=(4.0, 0.0))
    assert np.array_equal(a.path, tiny_tex.path) and np.array_equal(a.ok, tiny_tex.ok)
    assert np.array_equal(a.face_side, tiny_tex.face_side)
    x = tiny_tex.crops[a.ok].astype(float)[:, 20:-20, 20:-20]
    y = a.crops[a.ok].astype(float)
    moved = y[:, 20:-20, 16:-24]  # column c of the shifted crop shows column c + 4
    same = y[:, 20:-20, 20:-20]
    assert np.abs(moved - x).mean() < 0.5 * np.abs(same - x).mean()


def test_scale_face_maps_pixel_centres():
    from fastlive.detect import Face
    from training import data

    kp = np.array([[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]], np.float32)
    f = data.scale_face(Face((9.5, 19.5, 40.0, 50.0), 0.9, kp, "yunet"), 0.5, 0.25)
    assert f.box == pytest.approx((4.5, 4.5, 20.0, 12.5))
    np.testing.assert_allclose(f.keypoints[0], [(10.5 * 0.5) - 0.5, (20.5 * 0.25) - 0.5])
    assert (f.score, f.detector) == (0.9, "yunet")
    assert data.scale_face(Face((0.0, 0.0, 8.0, 8.0), 0.0, None, "whole"), 2, 2).keypoints is None


def test_weighted_thresholds_balance_sources():
    from training import calibrate

    rng = np.random.default_rng(0)
    # source "a": 400 faces, "b": 40 faces whose scores sit lower (another camera)
    n = {"a": 200, "b": 20}
    lab = np.concatenate([np.r_[np.ones(k), np.zeros(k)] for k in n.values()]).astype(int)
    grp = np.concatenate([[g] * (2 * k) for g, k in n.items()])
    sc = np.where(lab == 1, rng.normal(0.65, 0.12, len(lab)), rng.normal(0.35, 0.12, len(lab)))
    sc[grp == "b"] -= 0.2
    thr = calibrate.thresholds(sc, lab, grp, balanced="pooled")
    assert thr["convenience"] <= thr["balanced"] <= thr["secure"]
    w = np.where(grp == "a", 1 / 200, 1 / 20)  # each source half of each class

    def rates(t):
        ap = w[(lab == 0) & (sc >= t)].sum() / w[lab == 0].sum()
        bp = w[(lab == 1) & (sc < t)].sum() / w[lab == 1].sum()
        return ap, bp

    ap, bp = rates(thr["balanced"])
    assert abs(ap - bp) <= 0.5 / 20 + 1e-9  # one face of the small source
    assert rates(thr["convenience"])[1] <= calibrate.CONVENIENCE_BPCER
    assert rates(thr["secure"])[0] <= calibrate.SECURE_APCER
    # unweighted, the large source dominates and the EER point moves up
    assert calibrate.thresholds(sc, lab)["balanced"] > thr["balanced"]


def test_worst_source_threshold_balances_the_worst_sources():
    from training import calibrate

    rng = np.random.default_rng(1)
    # "a": a large source; "b": a small one whose scores all sit lower (another camera);
    # "c": live faces only (a source without attacks still counts for BPCER)
    lab = np.r_[np.ones(300), np.zeros(300), np.ones(40), np.zeros(40), np.ones(60)].astype(int)
    grp = np.array(["a"] * 600 + ["b"] * 80 + ["c"] * 60)
    sc = np.where(lab == 1, rng.normal(0.7, 0.1, len(lab)), rng.normal(0.3, 0.1, len(lab)))
    sc[grp == "b"] -= 0.25
    sc[grp == "c"] += 0.05

    def worst(t):
        ap = max((sc[(grp == g) & (lab == 0)] >= t).mean() for g in "ab")
        bp = max((sc[(grp == g) & (lab == 1)] < t).mean() for g in "abc")
        return ap, bp

    thr = calibrate.thresholds(sc, lab, grp)
    assert thr["convenience"] <= thr["balanced"] <= thr["secure"]
    ap, bp = worst(thr["balanced"])
    assert abs(ap - bp) <= 1 / 40 + 1e-9  # one face of the smallest source
    # against every other score as a threshold, none brings the two closer
    gaps = [abs(np.subtract(*worst(t))) for t in np.unique(sc)]
    assert abs(ap - bp) <= min(gaps) + 1e-12
    # the pooled rule leaves the low source's live faces far more often rejected than
    # the high source's attacks accepted
    ap0, bp0 = worst(calibrate.thresholds(sc, lab, grp, balanced="pooled")["balanced"])
    assert bp0 - ap0 > 2 * abs(bp - ap) + 0.05
    # with one group both rules are the plain EER point
    one = calibrate.thresholds(sc[grp == "a"], lab[grp == "a"])
    assert one["balanced"] == calibrate.thresholds(sc[grp == "a"], lab[grp == "a"],
                                                   balanced="pooled")["balanced"]
    with pytest.raises(ValueError, match="balanced"):
        calibrate.thresholds(sc, lab, grp, balanced="median")


def test_fusion_weights_follow_the_informative_cue():
    from training import calibrate

    rng = np.random.default_rng(3)
    lab = np.r_[np.ones(300), np.zeros(300)].astype(int)
    grp = np.array(["a", "b"] * 300)
    cnn = rng.normal(0, 1, 600)  # uninformative
    tex = np.where(lab == 1, 1.5, -1.5) + rng.normal(0, 1, 600)
    f = calibrate.fit_fusion(cnn, tex, lab, grp)
    assert f["w_texture"] > 1.0 and abs(f["w_cnn"]) < 0.3
    f0 = calibrate.fit_fusion(cnn, tex, lab, grp, use_cnn=False)
    assert f0["w_cnn"] == 0.0 and f0["w_texture"] > 1.0
    p = calibrate.fuse(f0, cnn, tex)
    assert np.array_equal(p, calibrate.fuse(f0, -cnn, tex))  # the CNN has no say
    assert np.mean(p[lab == 1] > 0.5) > 0.8 and np.mean(p[lab == 0] < 0.5) > 0.8


def test_live_spread_fit_levels_the_sources_live_scores():
    from training import texture

    rng = np.random.default_rng(5)
    n, d = 600, 6
    grp = np.repeat(np.array(["a", "b", "c"]), n // 3)
    lab = np.tile(np.r_[np.ones(100), np.zeros(100)], 3)
    z = rng.normal(0, 1, (n, d))
    z[:, 0] += np.where(lab == 1, 1.0, -1.0)  # liveness
    z[:, 1] += np.where(lab == 1, 1.0, -1.0) + np.select(  # liveness, shifted per source
        [grp == "a", grp == "b"], [1.5, -1.5], 0.0)
    w = np.ones(n)
    c0, b0 = texture.fit_lr(z, lab, w, 0.05)  # sklearn
    c1, b1 = texture.fit_lr(z, lab, w, 0.05, groups=grp, live_spread=1e-12)  # L-BFGS
    np.testing.assert_allclose(c1, c0, atol=2e-3)
    assert b1 == pytest.approx(b0, abs=2e-3)

    def live_spread(coef):
        m = [(z[(grp == g) & (lab == 1)] @ coef).mean() for g in "abc"]
        return float(np.std(m))

    c2, _ = texture.fit_lr(z, lab, w, 0.05, groups=grp, live_spread=1.0)
    assert live_spread(c2) < 0.2 * live_spread(c0)
    assert c2[1] < 0.25 * c0[1]  # the source-shifted feature loses its weight
    assert c2[0] > 0.5 * c0[0]  # the unshifted liveness feature keeps carrying the score
    with pytest.raises(ValueError, match="groups"):
        texture.fit_lr(z, lab, w, 0.05, live_spread=0.5)
    with pytest.raises(ValueError, match="live_spread"):
        texture.fit_lr(z, lab, w, 0.05, groups=grp, live_spread=-1.0)
    # one source: nothing to level, the plain fit
    c3, _ = texture.fit_lr(z, lab, w, 0.05, groups=np.full(n, "a"), live_spread=1.0)
    np.testing.assert_array_equal(c3, c0)


def test_group_dro_fit_weighs_the_worst_explained_source_more():
    from training import texture

    rng = np.random.default_rng(7)
    n, d = 800, 4
    grp = np.repeat(np.array(["easy", "hard"]), [600, 200])
    lab = np.r_[np.ones(300), np.zeros(300), np.ones(100), np.zeros(100)]
    z = rng.normal(0, 1, (n, d))
    sign = np.where(lab == 1, 1.0, -1.0)
    easy, hard = grp == "easy", grp == "hard"
    z[easy, 0] += 1.5 * sign[easy]  # the big source: liveness in feature 0
    z[hard, 1] += 1.0 * sign[hard]  # the small source: liveness in feature 1
    z[easy, 1] += 0.3 * sign[easy]
    w = np.ones(n)

    def loss(coef, b, m):
        s = z[m] @ coef + b
        return float(np.mean(np.logaddexp(0.0, s) - lab[m] * s))

    c1, b1 = texture.fit_lr(z, lab, w, 0.05, groups=grp, dro_fits=1)
    c0, b0 = texture.fit_lr(z, lab, w, 0.05)  # dro_fits=1 is the plain fit
    np.testing.assert_array_equal(c1, c0)
    assert b1 == b0
    c8, b8 = texture.fit_lr(z, lab, w, 0.05, groups=grp, dro_eta=2.0, dro_fits=8)
    assert loss(c8, b8, hard) < loss(c0, b0, hard) - 0.02  # the worst source gains
    assert loss(c8, b8, easy) > loss(c0, b0, easy)  # paid for by the best explained one
    assert c8[1] / c8[0] > c0[1] / c0[0]  # the hard source's feature weighs more
    # eta 0: the weights never move, every fit is the plain one
    c_eta0, _ = texture.fit_lr(z, lab, w, 0.05, groups=grp, dro_eta=0.0, dro_fits=4)
    np.testing.assert_allclose(c_eta0, c0, rtol=1e-6, atol=1e-9)
    for bad in (0, -2, 1.5, True, "8"):
        with pytest.raises(ValueError, match="dro_fits"):
            texture.fit_lr(z, lab, w, 0.05, groups=grp, dro_fits=bad)
    for bad_eta in (-1.0, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="dro_eta"):
            texture.fit_lr(z, lab, w, 0.05, groups=grp, dro_eta=bad_eta, dro_fits=3)
    with pytest.raises(ValueError, match="groups"):
        texture.fit_lr(z, lab, w, 0.05, dro_fits=3)


def test_one_class_weight_weighs_the_live_only_sources_less():
    """texture.train's one_class_weight (round 14's control): a live-only source whose
    camera shows in a feature teaches the fit that this feature means live; weighed less,
    it teaches less."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC
    from training import texture

    rng = np.random.default_rng(11)
    lab = np.r_[np.ones(200), np.zeros(200), np.ones(200)].astype(np.int64)
    grp = np.repeat(np.array(["both", "live-only"]), [400, 200])
    x = rng.normal(0, 1, (600, 3))
    x[:400, 0] += np.where(lab[:400] == 1, 1.0, -1.0)  # liveness
    x[400:, 1] += 2.0  # the live-only source's camera
    x[400:, 0] += 1.0

    def fit(weight):
        return texture.train(None, lab, grp, DEFAULT_TEXTURE_SPEC, feats=x, aug_feats=[],
                             nap=0, dro_fits=1, one_class_weight=weight)

    plain, less = fit(1.0), fit(0.1)
    assert plain.coef[1] > 0.3 * plain.coef[0] > 0  # the camera feature reads as live
    assert less.coef[1] < 0.3 * plain.coef[1]
    assert less.coef[0] > 0.8 * plain.coef[0]  # liveness still carries the score
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="one_class_weight"):
            fit(bad)


def test_loso_fits_each_folds_fusion_without_its_source(tiny, tiny_tex):
    from fastlive.passive import DEFAULT_SPEC, DEFAULT_TEXTURE_SPEC
    from training import reproduce

    rows, oof = reproduce.loso(tiny, tiny_tex, DEFAULT_SPEC, DEFAULT_TEXTURE_SPEC, epochs=1,
                               seed=0)
    assert set(rows) == {"nuaa", "shubhamlala", "saikan45"}
    for src, r in rows.items():
        assert src not in r["fusion_fitted_on"] and r["fusion_fitted_on"]
        assert r["n_live"] + r["n_attack"] == int((tiny.source == src).sum())
        assert r["thresholds"]["convenience"] <= r["thresholds"]["balanced"]
        assert r["thresholds"]["balanced"] <= r["thresholds"]["secure"]
    assert np.isfinite(oof["cnn"]).all() and np.isfinite(oof["texture"]).all()
    # the operating points out of source: recomputed here from the fold rows
    table = reproduce.ops_table(rows).splitlines()
    assert len(table) == 5 and table[3].startswith("| `balanced` | worst source's APCER = ")
    r = rows["nuaa"]
    s = np.asarray(r["scores"]["passive"], float)
    y = np.asarray(r["labels"])
    apcer = 100 * np.mean(s[y == 0] >= r["thresholds"]["secure"])
    assert table[4].split("|")[3].strip() == f"{apcer:.1f} %"


def test_train_export_and_serve(tiny, tiny_tex, tmp_path):
    from fastlive import passive
    from fastlive.passive import DEFAULT_SPEC as spec
    from fastlive.passive import DEFAULT_TEXTURE_SPEC as tspec
    from training import calibrate, cnn, data, reproduce, texture

    tr, dv, _ = data.dev_test_split(tiny, None)
    net = cnn.train(tiny.crops[tr], tiny.label[tr], tiny.source[tr], spec, epochs=1,
                    max_steps=3, batch=16, verbose=False)
    tex = texture.train(tiny_tex.crops[tr], tiny.label[tr], tiny.source[tr], tspec)
    # a resolution bank of one model (trained on blurred copies, standing in for the
    # low-resolution ones of texture.bank_training_sets)
    import cv2

    f_all = texture.features(tiny_tex.crops, tspec)
    blurred = np.stack([cv2.GaussianBlur(c, (0, 0), 1.5) for c in tiny_tex.crops])
    texture.add_bank(tex, {96.0: (texture.features(blurred, tspec), [f_all])}, tr,
                     tiny.label[tr], tiny.source[tr], tspec)
    assert [a for a, _ in tex.bank] == [96.0]
    f_dv = f_all[dv]
    main_only = tex.logits(f_dv)
    small = np.full(dv.sum(), 60.0)
    assert tex.logits(f_dv, small) == pytest.approx(tex.bank[0][1].logits(f_dv))
    assert tex.logits(f_dv, np.full(dv.sum(), 500.0)) == pytest.approx(main_only)
    assert not np.allclose(tex.logits(f_dv, small), main_only)
    c = cnn.predict_logits(net, tiny.crops[dv], spec)
    x = tex.logits(f_dv, tiny_tex.face_side[dv])
    fusion, thr, p = reproduce.fit_fusion_oof(c, x, tiny.label[dv], tiny.source[dv])
    assert p == pytest.approx(calibrate.fuse(fusion, c, x))
    assert thr["convenience"] <= thr["balanced"] <= thr["secure"]
    from fastlive.evaluate import pad_metrics

    models = {"cnn": net, "texture": tex, "fusion": fusion, "thresholds": thr,
              "fit": {"sources": sorted(set(tiny.source[dv].tolist())),
                      "metrics": pad_metrics(p, tiny.label[dv], threshold=thr["balanced"])}}
    out = tmp_path / "models"
    reproduce.export(models, out, spec, tspec, tiny, dv)  # raises if ONNX != PyTorch
    mf = json.loads((out / "manifest.json").read_text())
    assert {m["name"] for m in mf["models"]} == {passive.CNN_MODEL, passive.TEXTURE_MODEL,
                                                 passive.FUSION_MODEL}
    assert (out / "passive_cnn.onnx").stat().st_size < 2 * 1024 * 1024
    # the manifest describes the features the texture file was trained on
    tex_entry = next(m for m in mf["models"] if m["name"] == passive.TEXTURE_MODEL)
    assert passive.InputSpec.from_dict(tex_entry["input"]) == tspec
    assert tex_entry["description"] == reproduce.texture_description(tspec)
    hsv = dataclasses.replace(tspec, lbp_colors=("hsv",), lbp_scales=(1,), lbp_grid=(4, 1),
                              lbp_hue_shift=0, lbp_bands=None, lbp_slacks=(0,))
    assert reproduce.texture_description(hsv).startswith(
        "colour (HSV) uniform LBP histograms (mirror-folded; 4 horizontal bands; crop)")
    assert "(YCrCb + HSV)" in reproduce.texture_description(
        dataclasses.replace(hsv, lbp_colors=("ycrcb", "hsv"), lbp_scales=(1, 2)))
    assert "crop and 1/2-size copy" in reproduce.texture_description(
        dataclasses.replace(hsv, lbp_scales=(1, 2)))
    assert "(HSV, hue shifted by 60)" in reproduce.texture_description(
        dataclasses.replace(hsv, lbp_hue_shift=60))
    assert "; horizontal bands 2, 3 of 4;" in reproduce.texture_description(
        dataclasses.replace(hsv, lbp_bands=(1, 2)))
    assert "crop; once per LBP slack 0, 1, one fit each, summed)" in (
        reproduce.texture_description(dataclasses.replace(hsv, lbp_slacks=(0, 1))))
    assert reproduce.texture_description(hsv, dro_fits=8).endswith(
        "+ logistic regression (group DRO over the training sources)")
    assert reproduce.texture_description(hsv, dro_fits=1).endswith("+ logistic regression")
    # onnxruntime vs torch on the exported file
    sess = ort.InferenceSession(str(out / "passive_cnn.onnx"), providers=["CPUExecutionProvider"])
    xb = cnn.to_tensor(tiny.crops[:5], spec)
    with torch.no_grad():
        ref = net(xb).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": xb.numpy()})[0], ref, atol=1e-4)
    # the runtime scorer reproduces the training-side probabilities on the same crops
    sc = passive.PassiveScorer(out)
    assert sc.thresholds == pytest.approx(thr)
    assert sc.spec == spec and sc.texture_spec == tspec
    i = int(np.flatnonzero(dv)[0])
    t = cnn.to_tensor(tiny.crops[i:i + 1], spec).numpy()
    assert sc.cnn_prob(t) == pytest.approx(float(torch.sigmoid(torch.from_numpy(
        cnn.predict_logits(net, tiny.crops[i:i + 1], spec))[0])), abs=1e-4)
    fi = texture.features(tiny_tex.crops[i:i + 1], tspec)
    assert sc.texture_prob(tiny_tex.crops[i]) == pytest.approx(
        float(1 / (1 + np.exp(-tex.logits(fi)[0]))), abs=1e-6)
    # ... and the resolution bank's blend, by the face's side
    for side in (50.0, 96.0, 130.0, 400.0):
        assert sc.texture_prob(tiny_tex.crops[i], side) == pytest.approx(
            float(1 / (1 + np.exp(-tex.logits(fi, np.array([side]))[0]))), abs=1e-6)


def test_eye_patches_take_both_eyes_the_left_one_mirrored():
    """training.descriptors.eye_patches cuts the two eyes where the alignment puts them and
    mirrors the left one (the iris network sees both as right eyes)."""
    from fastlive.align import TEMPLATE_5, TEMPLATE_CENTER
    from training import descriptors

    size, scale = 160, 1.25
    x = np.tile(np.arange(size, dtype=np.uint8)[None, :, None], (size, 1, 3))  # value = column
    eyes = (TEMPLATE_CENTER + (TEMPLATE_5[:2] - TEMPLATE_CENTER) / scale) * size
    n = int(round(1.1 * float(np.linalg.norm(eyes[1] - eyes[0]))))
    seen = []

    def first_column(patch: np.ndarray) -> np.ndarray:
        assert patch.shape == (n, n, 3)
        seen.append(float(patch[n // 2, 0, 0]))
        return np.array([seen[-1]])

    v = descriptors.eye_patches(first_column, scale)(x)
    # the right eye's patch starts left of it; the mirrored left eye's starts right of it
    assert abs(seen[0] - (eyes[0, 0] - n / 2)) <= 1.0
    assert abs(seen[1] - (eyes[1, 0] + n / 2)) <= 1.5
    assert v[0] == pytest.approx(np.mean(seen))


def test_descriptor_comparison_codes_match_the_kernel(tiny_tex):
    """training.descriptors recomputes LBP codes with numpy; on the shipped channels they must
    give the C++ kernel's features exactly, or its comparison table compares something else."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC, texture_features
    from training import descriptors

    # round 5's cells, plain LBP (before round 13's slack-1 block)
    all_bands = dataclasses.replace(DEFAULT_TEXTURE_SPEC, lbp_bands=None, lbp_slacks=(0,))

    rng = np.random.default_rng(0)
    crops = [tiny_tex.crops[0], tiny_tex.crops[-1],
             rng.integers(0, 256, (160, 160, 3), dtype=np.uint8),  # many ties between neighbours
             np.full((160, 160, 3), (200, 90, 30), np.uint8)]  # flat: every code 255
    for c in crops:
        want = texture_features(c, all_bands)
        got = descriptors.hsv_lbp(c)
        assert got.shape == want.shape == (420,)
        assert np.allclose(got, want, atol=1e-6)
    c = tiny_tex.crops[0]
    # the variants compare neighbours differently: same layout, other features
    for kw in ({"margin": -1}, {"circular_hue": True}):
        v = descriptors.hsv_lbp(c, **kw)
        assert v.shape == (420,) and not np.allclose(v, descriptors.hsv_lbp(c))
    assert descriptors.hsv_lbp(c, ternary=2).shape == (840,)
    # a neighbour one level below the centre sets its bit only with margin -1
    img = np.array([[10, 10, 10], [10, 11, 10], [10, 10, 10]])
    assert descriptors.lbp_codes(img)[0, 0] == 0
    assert descriptors.lbp_codes(img, margin=-1)[0, 0] == 255
    # hue 179 is 2 steps behind hue 1 on the circle: the circular bit is clear, the plain one set
    hue = np.array([[1, 1, 1], [1, 179, 1], [1, 1, 1]])
    assert descriptors.lbp_codes(hue)[0, 0] == 0
    assert descriptors.lbp_codes(hue, circular=180)[0, 0] == 255
    # square-rooted frequencies: each histogram's squares sum to 1
    for name, n, hists in (("coalbp", 3072, 12), ("lpq", 768, 3), ("dog_lbp", 420, 12),
                           ("log_opponent_lbp", 420, 12)):
        v = getattr(descriptors, name)(c)
        assert v.shape == (n,) and np.isfinite(v).all(), name
        assert np.isclose(np.sum(v ** 2), hists), name
