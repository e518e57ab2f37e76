"""fastlive.passive: preprocessing (train/serve shared), PassiveScorer on tiny models built here
(torch-free, onnx.helper) and the shipped models' manifest."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from fastlive import align, passive, registry
from fastlive.detect import Face

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

SPEC = passive.DEFAULT_SPEC
S = SPEC.size


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _ref_tensor(crop: np.ndarray, spec: passive.InputSpec = SPEC) -> np.ndarray:
    """Independent numpy model input from a uint8 BGR crop: (3, S, S) float64."""
    x = crop.astype(np.float64)
    if spec.lighting == "standardize":
        luma = 0.299 * x[..., 2] + 0.587 * x[..., 1] + 0.114 * x[..., 0]
        x = (x - luma.mean()) / max(luma.std(), 1.0)
    rgb = x[..., ::-1] if spec.channel_order == "rgb" else x
    return (rgb.transpose(2, 0, 1) - np.array(spec.mean)[:, None, None]) / np.array(
        spec.std)[:, None, None]


def _tolerance(crop: np.ndarray, spec: passive.InputSpec = SPEC) -> float:
    """Largest input difference from rounding the crop to uint8 (0.5 grey level)."""
    scale = 1.0
    if spec.lighting == "standardize":
        x = crop.astype(np.float64)
        scale = max((0.299 * x[..., 2] + 0.587 * x[..., 1] + 0.114 * x[..., 0]).std(), 1.0)
    return 0.5 / scale / min(spec.std) * 1.05 + 1e-3


def _face_frame(seed: int = 0, h: int = 240, w: int = 320) -> tuple[np.ndarray, Face]:
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    frame = cv2.GaussianBlur(frame, (5, 5), 1.5)
    # eyes ~20 px apart: the 64 px crop samples the frame at about unit scale (no prefilter)
    kp = np.array([[150, 100], [170, 100.5], [160, 111], [152, 122], [167, 122]], np.float32)
    return frame, Face((139.0, 84.0, 42.0, 50.0), 0.9, kp, "yunet")


def _tiny_models(d: Path, w=(0.5, -0.25, 0.125), b=0.1, seed=0, spec=SPEC,
                 w_cnn: float = 0.8, bank: tuple[float, ...] = (), main_face: float = 192.0,
                 bank_features: int | None = None) -> dict:
    """A tiny CNN (global mean per channel -> linear), random texture weights, a fusion;
    ``bank``: anchors of a resolution bank of random texture models (``bank_features``: their
    length, default the main model's)."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, spec.size, spec.size])
    y = helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["n", 1])
    wt = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], list(w))
    bt = helper.make_tensor("B", TensorProto.FLOAT, [1], [b])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3])
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
        helper.make_node("Reshape", ["gap", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], ["logit"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [x], [y], [wt, bt, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    d.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(d / "cnn.onnx"))
    n_feat = passive.texture_features(np.zeros((spec.size, spec.size, 3), np.uint8), spec).size
    rng = np.random.default_rng(seed)
    tex = {"mean": rng.uniform(0, 0.2, n_feat).tolist(),
           "scale": rng.uniform(0.5, 1.5, n_feat).tolist(),
           "coef": rng.normal(0, 0.05, n_feat).tolist(), "intercept": -0.2,
           "input": spec.to_dict()}
    if bank:
        k = n_feat if bank_features is None else bank_features
        tex["resolution_bank"] = {"main_face_px": main_face, "models": [
            {"face_px": a, "mean": rng.uniform(0, 0.2, k).tolist(),
             "scale": rng.uniform(0.5, 1.5, k).tolist(), "coef": rng.normal(0, 0.2, k).tolist(),
             "intercept": float(rng.normal())} for a in bank]}
    (d / "tex.json").write_text(json.dumps(tex))
    fus = {"w_cnn": w_cnn, "w_texture": 0.6, "bias": 0.3,
           "thresholds": {"convenience": 0.2, "balanced": 0.5, "secure": 0.8}}
    (d / "fus.json").write_text(json.dumps(fus))

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    manifest = {"format": 1, "version": "test-1", "models": [
        {"name": passive.CNN_MODEL, "file": "cnn.onnx", "sha256": sha(d / "cnn.onnx"),
         "input": spec.to_dict()},
        {"name": passive.TEXTURE_MODEL, "file": "tex.json", "sha256": sha(d / "tex.json")},
        {"name": passive.FUSION_MODEL, "file": "fus.json", "sha256": sha(d / "fus.json")},
    ]}
    (d / "manifest.json").write_text(json.dumps(manifest))
    return {"w": np.array(w), "b": b, "tex": tex, "fus": fus}


# -- preprocessing --------------------------------------------------------------------------------
def test_prepare_matches_an_independent_warp():
    frame, face = _face_frame()
    crop, tensor = passive.prepare(frame, face)
    m = align.keypoint_transform(face.keypoints, S, SPEC.scale)
    ref = cv2.warpAffine(frame, m, (S, S), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    assert crop.shape == (S, S, 3) and crop.dtype == np.uint8
    assert np.abs(crop.astype(int) - ref).max() <= 1
    assert tensor.shape == (1, 3, S, S) and tensor.dtype == np.float32
    assert np.abs(tensor[0] - _ref_tensor(ref)).max() <= _tolerance(ref)
    if SPEC.lighting == "standardize":  # zero-mean, unit-std luma whatever the exposure
        _, dark = passive.prepare((frame // 3).astype(np.uint8), face)
        assert np.abs(dark - tensor).mean() < 0.1


def test_prepare_minified_face_matches_area_resize_then_warp():
    frame, face = _face_frame(5)
    big = cv2.resize(frame, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    face_b = Face(tuple(v * 3 for v in face.box), 0.9, face.keypoints * 3 + 1.0, "yunet")
    m = align.keypoint_transform(face_b.keypoints, S, SPEC.scale)
    s = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    assert s < passive.PREFILTER_BELOW
    small = cv2.resize(big, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    dx, dy = small.shape[1] / big.shape[1], small.shape[0] / big.shape[0]
    m_small = align.keypoint_transform((face_b.keypoints + 0.5) * [dx, dy] - 0.5, S, SPEC.scale)
    ref = cv2.warpAffine(small, m_small, (S, S), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    crop, _ = passive.prepare(big, face_b, tensor=False)
    assert np.abs(crop.astype(int) - ref).mean() < 2.0


def test_prepare_without_keypoints_uses_the_box():
    frame, face = _face_frame()
    boxed = Face(face.box, 0.5, None, "haar")
    crop, _ = passive.prepare(frame, boxed, tensor=False)
    ref = cv2.warpAffine(frame, align.box_transform(face.box, S, SPEC.scale), (S, S),
                         flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(crop.astype(int) - ref).max() <= 1


def test_high_resolution_face_is_area_prefiltered():
    # 1-pixel checkerboard: a plain bilinear minification aliases it; the area prefilter must
    # give (nearly) the flat mean grey, like a camera with a proper low-pass would.
    h, w = 2000, 2000
    yy, xx = np.mgrid[0:h, 0:w]
    board = (((yy + xx) % 2) * 255).astype(np.uint8)
    frame = np.repeat(board[:, :, None], 3, axis=2)
    kp = np.array([[800, 900], [1200, 900], [1000, 1150], [850, 1380], [1150, 1380]], np.float32)
    face = Face((600.0, 600.0, 800.0, 1000.0), 0.9, kp, "yunet")
    crop, tensor = passive.prepare(frame, face)
    assert abs(float(crop.mean()) - 127.5) < 3 and crop.std() < 6
    m = align.keypoint_transform(kp, S, SPEC.scale)
    naive = cv2.warpAffine(frame, m, (S, S), flags=cv2.INTER_LINEAR)
    assert naive.std() > 20  # the failure the prefilter exists for
    # a smooth high-resolution image is preserved: same crop as from a 4x smaller frame
    small, face_s = _face_frame(3)
    big = cv2.resize(small, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    face_b = Face(tuple(v * 4 for v in face_s.box), 0.9, face_s.keypoints * 4 + 1.5, "yunet")
    c_small, _ = passive.prepare(small, face_s, tensor=False)
    c_big, _ = passive.prepare(big, face_b, tensor=False)
    assert np.abs(c_small.astype(int) - c_big).mean() < 4


def test_prefilter_keeps_near_unit_scale_untouched():
    frame, face = _face_frame()
    m = align.keypoint_transform(face.keypoints, S, 1.0)
    m_big = m.copy()
    m_big[:, :2] *= 2.0  # magnification: nothing to prefilter
    src, m2 = passive.prefilter(frame, m_big, S)
    assert src is frame and np.array_equal(m2, m_big)


def test_prefilter_max_scale_averages_every_face():
    """InputSpec.prefilter_max_scale (models round 10): a face near or under the crop's own
    resolution is area-downscaled to that fraction of its size before the warp enlarges it,
    so its pixel grain is averaged as a larger face's is; larger faces are unchanged."""
    rng = np.random.default_rng(3)
    smooth, face = _face_frame()
    noisy = np.clip(smooth + rng.normal(0, 8, smooth.shape), 0, 255).astype(np.uint8)
    spec = dataclasses.replace(SPEC, prefilter_max_scale=0.8)
    m = align.keypoint_transform(face.keypoints, S, SPEC.scale)
    # the area downscale, explicitly: same crop as the prefilter's source and affine
    src, m2 = passive.prefilter(noisy, m, S, 0.8)
    assert src is not noisy and src.shape[0] < noisy.shape[0]
    ref = cv2.warpAffine(src, m2, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    crop, _ = passive.prepare(noisy, face, spec, tensor=False)
    assert np.abs(crop.astype(int) - ref).mean() < 1.0
    # the grain is averaged: the crop is closer to the noise-free face's than without
    plain, _ = passive.prepare(noisy, face, tensor=False)
    clean, _ = passive.prepare(smooth, face, tensor=False)
    clean_avg, _ = passive.prepare(smooth, face, spec, tensor=False)
    assert passive.noise_sigma(crop) < 0.8 * passive.noise_sigma(plain)
    assert (np.abs(crop.astype(int) - clean_avg).mean()
            < 0.8 * np.abs(plain.astype(int) - clean).mean())
    # a face the crop minifies by more than PREFILTER_BELOW: the setting changes nothing
    big = cv2.resize(noisy, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    face_b = Face(tuple(v * 4 for v in face.box), 0.9, face.keypoints * 4 + 1.5, "yunet")
    np.testing.assert_array_equal(passive.prepare(big, face_b, spec, tensor=False)[0],
                                  passive.prepare(big, face_b, tensor=False)[0])
    # the spec says so in the model file and round-trips; older files (no key) keep None
    d = spec.to_dict()
    assert d["prefilter_max_scale"] == 0.8 and "0.8 of its size" in d["prefilter"]
    assert passive.InputSpec.from_dict(d) == spec
    assert "prefilter_max_scale" not in SPEC.to_dict()
    assert passive.InputSpec.from_dict(SPEC.to_dict()).prefilter_max_scale is None
    for bad in (0, 1.5, -0.2, "x", float("nan")):
        d["prefilter_max_scale"] = bad
        with pytest.raises(ValueError, match="prefilter_max_scale"):
            passive.InputSpec.from_dict(d)


def test_prefilter_detail_gives_every_camera_the_same_crop():
    """InputSpec.prefilter_detail (models round 11): the face region is area-downscaled to that
    fraction of the crop's scale and the warp enlarges it by the inverse, so a face filmed at
    two resolutions, one that the crop minifies and one it barely does, reaches the crop with
    about the same detail; without it the larger face keeps detail the smaller one lacks."""
    rng = np.random.default_rng(5)
    # fine texture the crop can resolve: 2.5-px blobs over the synthetic face
    small, face = _face_frame(2)
    tex = cv2.GaussianBlur(rng.normal(0, 40, small.shape[:2]).astype(np.float32), (0, 0), 0.6)
    small = np.clip(small + tex[:, :, None], 0, 255).astype(np.uint8)
    k = 3
    big = cv2.resize(small, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    face_b = Face(tuple(v * k for v in face.box), 0.9, face.keypoints * k + (k - 1) / 2, "yunet")
    m = align.keypoint_transform(face.keypoints, S, SPEC.scale)
    s = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    assert passive.PREFILTER_BELOW / 0.75 > s > passive.PREFILTER_BELOW  # small face: max scale
    base = dataclasses.replace(SPEC, prefilter_max_scale=passive.PREFILTER_BELOW)
    spec = dataclasses.replace(base, prefilter_detail=0.75)

    def crops(sp):
        return (passive.prepare(small, face, sp, tensor=False)[0],
                passive.prepare(big, face_b, sp, tensor=False)[0])

    def detail(c):  # high-frequency energy of the crop
        return cv2.Laplacian(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var()

    a0, b0 = crops(base)
    a1, b1 = crops(spec)
    assert detail(b0) > 1.6 * detail(a0)  # the larger face brings detail the smaller lacks
    assert detail(b1) < 1.25 * detail(a1)  # with prefilter_detail both bring about the same
    assert detail(b1) < 0.7 * detail(b0)
    assert np.abs(a1.astype(int) - b1).mean() < 0.9 * np.abs(a0.astype(int) - b0).mean()
    # the spec says so in the model file and round-trips; older files (no key) keep None
    d = spec.to_dict()
    assert d["prefilter_detail"] == 0.75 and "0.75 of its own" in d["prefilter"]
    assert passive.InputSpec.from_dict(d) == spec
    assert "prefilter_detail" not in base.to_dict()
    assert passive.InputSpec.from_dict(base.to_dict()).prefilter_detail is None
    for bad in (0, 1.5, "x"):
        d["prefilter_detail"] = bad
        with pytest.raises(ValueError, match="prefilter_detail"):
            passive.InputSpec.from_dict(d)


def test_texture_features_are_colour_lbp_histograms():
    from fastlive import kernels

    rng = np.random.default_rng(1)
    crop = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    f = passive.texture_features(crop)
    ycc = cv2.cvtColor(crop, cv2.COLOR_BGR2YCrCb)
    gy, gx = SPEC.lbp_grid
    ref = np.sqrt(kernels.lbp_histogram(np.ascontiguousarray(ycc[:, :, 0]), grid=(gy, gx),
                                        mapping="uniform", normalize=True, radius=1))
    assert f.dtype == np.float32
    assert f.size == 6 * gy * gx * kernels.LBP_UNIFORM_BINS
    np.testing.assert_allclose(f[: ref.size], ref, rtol=1e-6)


def test_mirror_table_matches_the_lbp_kernel():
    """MIRROR_UNIFORM: uniform bin i of an image is bin MIRROR_UNIFORM[i] of its mirror."""
    from fastlive import kernels

    rng = np.random.default_rng(4)
    assert sorted(passive.MIRROR_UNIFORM) == list(range(kernels.LBP_UNIFORM_BINS))
    for radius in (1, 2):
        for _ in range(5):
            img = cv2.GaussianBlur(rng.integers(0, 256, (40, 52), dtype=np.uint8), (3, 3), 0)
            h = kernels.lbp_histogram(img, mapping="uniform", normalize=False, radius=radius)
            hm = kernels.lbp_histogram(np.ascontiguousarray(img[:, ::-1]), mapping="uniform",
                                       normalize=False, radius=radius)
            np.testing.assert_array_equal(hm[list(passive.MIRROR_UNIFORM)], h)


def test_mirror_folded_multiscale_features():
    rng = np.random.default_rng(5)
    crop = cv2.GaussianBlur(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), (3, 3), 0)
    spec = passive.InputSpec(size=128, lbp_mirror=True, lbp_scales=(1, 2))
    f = passive.texture_features(crop, spec)
    assert f.size == 2 * 6 * 35  # 2 scales x 6 channels x 35 mirror classes
    # invariant to a horizontal mirror; the unfolded features are not
    np.testing.assert_array_equal(f, passive.texture_features(crop[:, ::-1].copy(), spec))
    plain = passive.InputSpec(size=128)
    assert not np.array_equal(passive.texture_features(crop, plain),
                              passive.texture_features(crop[:, ::-1].copy(), plain))
    # folded bins are sums of the plain bins; the second scale is the INTER_AREA half-size copy
    ycc = cv2.cvtColor(crop, cv2.COLOR_BGR2YCrCb)
    h = passive.texture_features(ycc, passive.InputSpec(size=128, lbp_colors=("bgr",)))[:59] ** 2
    classes = sorted({tuple(sorted({i, m})) for i, m in enumerate(passive.MIRROR_UNIFORM)})
    assert f[:35] ** 2 == pytest.approx([sum(h[i] for i in set(c)) for c in classes], abs=1e-6)
    half = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(
        f[6 * 35:], passive.texture_features(half, dataclasses.replace(spec, lbp_scales=(1,))),
        rtol=1e-6)
    assert passive.InputSpec.from_dict(spec.to_dict()) == spec


def test_hue_shift_moves_the_wrap_around_out_of_skin_tones():
    rng = np.random.default_rng(8)

    def patch(hue_centre: int) -> np.ndarray:
        hsv = np.empty((96, 96, 3), np.uint8)
        hsv[..., 0] = ((hue_centre + rng.integers(-4, 5, (96, 96))) % 180).astype(np.uint8)
        hsv[..., 1] = 120
        hsv[..., 2] = cv2.GaussianBlur(rng.integers(120, 220, (96, 96), dtype=np.uint8),
                                       (3, 3), 0)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)

    base = passive.InputSpec(size=96, lbp_colors=("hsv",))
    shifted = dataclasses.replace(base, lbp_hue_shift=60)
    red = patch(0)  # reddish skin: its hue straddles OpenCV's wrap (0 <-> 179)
    f0, f60 = passive.texture_features(red, base), passive.texture_features(red, shifted)
    # the H channel's LBP is that of the hue moved by 60 (mod 180); S and V are unchanged
    moved = cv2.cvtColor(red, cv2.COLOR_BGR2HSV)
    moved[..., 0] = ((moved[..., 0].astype(np.int32) + 60) % 180).astype(np.uint8)
    np.testing.assert_array_equal(
        f60, passive.texture_features(moved, passive.InputSpec(size=96, lbp_colors=("bgr",))))
    np.testing.assert_array_equal(f60[59:], f0[59:])
    # the shift matters only where the hue wraps: LBP ignores a shift that keeps the order
    assert not np.allclose(f60[:59], f0[:59], atol=1e-3)
    cyan = patch(90)
    np.testing.assert_array_equal(passive.texture_features(cyan, shifted),
                                  passive.texture_features(cyan, base))
    # a shift of 180 is no shift; the spec round-trips, older files (no "hue_shift") read as 0
    np.testing.assert_array_equal(
        passive.texture_features(red, dataclasses.replace(base, lbp_hue_shift=180)), f0)
    assert passive.InputSpec.from_dict(shifted.to_dict()) == shifted
    d = shifted.to_dict()
    del d["lbp"]["hue_shift"]
    assert passive.InputSpec.from_dict(d).lbp_hue_shift == 0


def test_banded_features_are_mirror_invariant_but_read_up_and_down():
    # the shipped texture spec: horizontal bands (forehead ... chin), mirror-folded bins
    spec = passive.DEFAULT_TEXTURE_SPEC
    gy, gx = spec.lbp_grid
    assert gy > 1 and gx == 1
    rng = np.random.default_rng(6)
    crop = cv2.GaussianBlur(rng.integers(0, 256, (spec.size, spec.size, 3), dtype=np.uint8),
                            (3, 3), 0)
    crop[: spec.size // 2] //= 2  # a darker top half: the bands differ
    f = passive.texture_features(crop, spec)
    kept = gy if spec.lbp_bands is None else len(spec.lbp_bands)
    assert f.size == (len(spec.lbp_slacks) * len(spec.lbp_scales) * 3 * len(spec.lbp_colors)
                      * kept * 35)
    # a band maps onto itself under a horizontal mirror (with every slack) ...
    np.testing.assert_array_equal(f, passive.texture_features(crop[:, ::-1].copy(), spec))
    # ... but not upside down: the model reads where the forehead and the chin are
    # (docs/security.md, "Known gaps")
    assert not np.allclose(f, passive.texture_features(crop[::-1, ::-1].copy(), spec))


# -- PassiveScorer --------------------------------------------------------------------------------
def test_scorer_outputs_match_an_independent_computation(tmp_path):
    ref = _tiny_models(tmp_path)
    sc = passive.PassiveScorer(tmp_path)
    assert sc.version == "test-1"
    assert sc.thresholds == {"convenience": 0.2, "balanced": 0.5, "secure": 0.8}
    frame, face = _face_frame()
    face2 = Face((20.0, 20.0, 60.0, 70.0), 0.7, None, "haar")
    out = sc.score(frame, [face, face2])
    assert len(out) == 2
    for f, r in zip([face, face2], out):
        m = (align.keypoint_transform(f.keypoints, S, 1.0) if f.keypoints is not None
             else align.box_transform(f.box, S, 1.0))
        crop = cv2.warpAffine(frame, m, (S, S), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        means = _ref_tensor(crop).reshape(3, -1).mean(1)
        cnn = _sigmoid(float(means @ ref["w"]) + ref["b"])
        feats = passive.texture_features(crop).astype(np.float64)
        t = ref["tex"]
        z = ((feats - np.array(t["mean"])) / np.array(t["scale"])) @ np.array(t["coef"])
        tex = _sigmoid(float(z) + t["intercept"])
        fu = ref["fus"]
        fused = _sigmoid(fu["w_cnn"] * _logit(cnn) + fu["w_texture"] * _logit(tex) + fu["bias"])
        assert r["cnn"] == pytest.approx(cnn, abs=2e-3)
        assert r["texture"] == pytest.approx(tex, abs=2e-2)
        assert r["passive"] == pytest.approx(sc.fuse(r["cnn"], r["texture"]), abs=1e-9)
        assert r["passive"] == pytest.approx(fused, abs=2e-2)
        assert set(r["timings"]) == {"prepare", "cnn", "texture", "fusion"}
        assert all(v >= 0 for v in r["timings"].values())
    assert sc.score(frame, []) == []


def test_resolution_weights_blend_neighbouring_anchors_in_log_size():
    anchors = (56.0, 80.0, 128.0, 192.0)
    assert passive.resolution_weights(30, anchors) == [(0, 1.0)]
    assert passive.resolution_weights(56, anchors) == [(0, 1.0)]
    assert passive.resolution_weights(80, anchors) == [(1, 1.0)]
    assert passive.resolution_weights(192, anchors) == [(3, 1.0)]
    assert passive.resolution_weights(4000, anchors) == [(3, 1.0)]
    # halfway in log size between 80 and 128: half each
    mid = math.sqrt(80 * 128)
    (i, a), (j, b) = passive.resolution_weights(mid, anchors)
    assert (i, j) == (1, 2) and a == pytest.approx(0.5) and b == pytest.approx(0.5)
    # weights sum to 1, move monotonically towards the larger anchor, and have no jumps
    prev = None
    for f in np.geomspace(40, 300, 400):
        parts = passive.resolution_weights(f, anchors)
        assert sum(w for _, w in parts) == pytest.approx(1.0)
        pos = sum(i * w for i, w in parts)  # the blend's position along the anchors
        if prev is not None:
            assert pos >= prev - 1e-12 and pos - prev < 0.05
        prev = pos
    with pytest.raises(ValueError, match="anchors"):
        passive.resolution_weights(100, (128.0, 80.0))
    with pytest.raises(ValueError, match="anchors"):
        passive.resolution_weights(100, ())
    with pytest.raises(ValueError, match="face_side"):
        passive.resolution_weights(float("nan"), anchors)


def test_resolution_bank_scores_small_faces_with_its_blend(tmp_path):
    ref = _tiny_models(tmp_path, w_cnn=0.0, bank=(56.0, 128.0), main_face=192.0)
    sc = passive.PassiveScorer(tmp_path)
    frame, face = _face_frame()
    crop, _ = passive.prepare(frame, face, sc.texture_spec, tensor=False)
    feats = passive.texture_features(crop, sc.texture_spec).astype(np.float64)

    def logit(m: dict) -> float:
        z = ((feats - np.array(m["mean"])) / np.array(m["scale"])) @ np.array(m["coef"])
        return float(z) + m["intercept"]

    small, mid = (logit(m) for m in ref["tex"]["resolution_bank"]["models"])
    main = logit(ref["tex"])
    assert len({round(v, 6) for v in (small, mid, main)}) == 3
    # no face size, or a face at or above the main model's anchor: the main model alone
    for side in (None, 192.0, 1000.0):
        assert sc.texture_prob(crop, side) == pytest.approx(_sigmoid(main), abs=1e-9)
    assert sc.texture_prob(crop, 40.0) == pytest.approx(_sigmoid(small), abs=1e-9)
    assert sc.texture_prob(crop, 128.0) == pytest.approx(_sigmoid(mid), abs=1e-9)
    w = math.log(100 / 56) / math.log(128 / 56)
    assert sc.texture_prob(crop, 100.0) == pytest.approx(
        _sigmoid((1 - w) * small + w * mid), abs=1e-9)
    w = math.log(150 / 128) / math.log(192 / 128)
    assert sc.texture_prob(crop, 150.0) == pytest.approx(
        _sigmoid((1 - w) * mid + w * main), abs=1e-9)
    # score() routes on the face's box in the frame (longer side: 50 px -> the small model)
    (r,) = sc.score(frame, [face])
    assert passive.face_px(face) == 50.0
    assert r["texture"] == pytest.approx(_sigmoid(small), abs=1e-9)
    # a bank whose weights do not fit the features is refused when loading
    _tiny_models(tmp_path / "bad", bank=(56.0,), bank_features=7)
    with pytest.raises(ValueError, match="resolution-bank"):
        passive.PassiveScorer(tmp_path / "bad")
    _tiny_models(tmp_path / "order", bank=(128.0, 56.0))
    with pytest.raises(ValueError, match="anchors"):
        passive.PassiveScorer(tmp_path / "order")


def test_cnn_runs_only_when_the_fusion_weighs_it(tmp_path):
    _tiny_models(tmp_path / "w0", w_cnn=0.0)
    frame, face = _face_frame()
    sc = passive.PassiveScorer(tmp_path / "w0")
    assert sc.run_cnn is False
    (r,) = sc.score(frame, [face])
    assert r["cnn"] is None and "cnn" not in r["timings"]
    assert r["passive"] == pytest.approx(_sigmoid(0.6 * _logit(r["texture"]) + 0.3), abs=1e-9)
    # on request the CNN runs and is reported, the fused score does not change
    (r2,) = passive.PassiveScorer(tmp_path / "w0", run_cnn=True).score(frame, [face])
    assert 0.0 < r2["cnn"] < 1.0 and "cnn" in r2["timings"]
    assert (r2["texture"], r2["passive"]) == (r["texture"], r["passive"])
    # a fusion that weighs the CNN cannot run without it
    _tiny_models(tmp_path / "w8")
    assert passive.PassiveScorer(tmp_path / "w8").run_cnn is True
    with pytest.raises(ValueError, match="run_cnn"):
        passive.PassiveScorer(tmp_path / "w8", run_cnn=False)
    with pytest.raises(TypeError, match="run_cnn"):
        passive.PassiveScorer(tmp_path / "w8", run_cnn="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cnn"):
        passive.PassiveScorer(tmp_path / "w8").fuse(None, 0.5)


def test_scorer_is_thread_safe(tmp_path):
    _tiny_models(tmp_path)
    sc = passive.PassiveScorer(tmp_path)
    frames = [_face_frame(i) for i in range(4)]
    expected = [sc.score(f, [face])[0]["passive"] for f, face in frames]
    results: dict[int, list[float]] = {}

    def work(k: int) -> None:
        results[k] = [sc.score(f, [face])[0]["passive"] for f, face in frames * 5]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        assert results[k] == expected * 5


def test_scorer_refuses_bad_inputs(tmp_path):
    _tiny_models(tmp_path)
    sc = passive.PassiveScorer(tmp_path)
    frame, face = _face_frame()
    with pytest.raises(TypeError, match="faces"):
        sc.score(frame, face)
    with pytest.raises(TypeError, match=r"faces\[0\]"):
        sc.score(frame, [(1, 2, 3, 4)])
    with pytest.raises(ValueError, match=r"faces\[0\]"):
        sc.score(frame, [Face((0.0, 0.0, 0.0, 10.0), 1.0, None, "haar")])
    with pytest.raises(TypeError, match="frame_bgr"):
        sc.score(frame.astype(np.float32), [face])
    with pytest.raises(ValueError, match="threads"):
        passive.PassiveScorer(tmp_path, threads=0)
    with pytest.raises(TypeError, match="model_dir"):
        passive.PassiveScorer(123)  # type: ignore[arg-type]


def test_scorer_refuses_missing_or_tampered_models(tmp_path):
    with pytest.raises(registry.ModelNotFoundError, match="manifest.json"):
        passive.PassiveScorer(tmp_path / "nowhere")
    _tiny_models(tmp_path)
    with open(tmp_path / "tex.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(registry.ModelIntegrityError, match="sha256"):
        passive.PassiveScorer(tmp_path)
    d = tmp_path / "partial"
    _tiny_models(d)
    mf = json.loads((d / "manifest.json").read_text())
    mf["models"] = [m for m in mf["models"] if m["name"] != passive.FUSION_MODEL]
    (d / "manifest.json").write_text(json.dumps(mf))
    with pytest.raises(registry.ModelNotFoundError, match=passive.FUSION_MODEL):
        passive.PassiveScorer(d)
    d2 = tmp_path / "missing_file"
    _tiny_models(d2)
    (d2 / "cnn.onnx").unlink()
    with pytest.raises(registry.ModelNotFoundError, match="does not exist"):
        passive.PassiveScorer(d2)


# -- shipped models -------------------------------------------------------------------------------
def _shipped() -> dict:
    mf = registry.shipped_manifest()
    names = {m["name"] for m in mf.get("models", [])}
    if not {passive.CNN_MODEL, passive.TEXTURE_MODEL, passive.FUSION_MODEL} <= names:
        pytest.fail("models/manifest.json does not list the passive models")
    return mf


def test_shipped_manifest_sha256_matches_files():
    mf = _shipped()
    d = Path(mf["_dir"])
    assert mf["format"] == 1 and mf["version"]
    for m in mf["models"]:
        data = (d / m["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"], m["file"]
        assert registry.resolve(m["name"]).read_bytes() == data
    cnn = next(m for m in mf["models"] if m["name"] == passive.CNN_MODEL)
    assert (d / cnn["file"]).stat().st_size < 2 * 1024 * 1024
    assert passive.InputSpec.from_dict(cnn["input"]) == passive.DEFAULT_SPEC


def test_shipped_scorer_separates_real_live_and_print(data_dir):
    """NUAA live and print frames through the runtime path (detector -> prepare -> scorer).
    The shipped models are trained on all of ../shared/data, so this checks the runtime path
    reproduces what was learnt (a training-data AUC), not cross-source accuracy (that is the
    leave-one-source-out table in models/README.md)."""
    import csv

    from fastlive.detect import FaceDetector

    _shipped()
    sc = passive.PassiveScorer()
    th = sc.thresholds
    assert 0.0 <= th["convenience"] <= th["balanced"] <= th["secure"] <= 1.0
    with open(data_dir / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source"] == "nuaa"]
    live = [r for r in rows if r["label"] == "live"][::90][:12]
    spoof = [r for r in rows if r["label"] == "spoof"][::130][:12]
    det = FaceDetector()
    scores: dict[int, list[float]] = {0: [], 1: []}
    for lab, group in ((1, live), (0, spoof)):
        for r in group:
            frame = cv2.imread(str(data_dir / r["path"]))
            faces = det.detect(frame)
            assert faces, r["path"]
            out = sc.score(frame, faces[:1])[0]
            assert 0.0 <= out["passive"] <= 1.0
            scores[lab].append(out["passive"])
    pairs = [a > b for a in scores[1] for b in scores[0]]
    assert np.mean(pairs) >= 0.8  # AUC on this small real sample


def test_band_selection_keeps_exactly_the_named_cells():
    # round 6 keeps bands 2 and 3 of 4 (eyes, nose/mouth): the same numbers as those bands of
    # the full feature vector, channel by channel
    spec = passive.DEFAULT_TEXTURE_SPEC
    assert spec.lbp_grid == (4, 1) and spec.lbp_bands == (1, 2)
    full_spec = dataclasses.replace(spec, lbp_bands=None)
    rng = np.random.default_rng(8)
    crop = cv2.GaussianBlur(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8), (3, 3), 0)
    k = 3 * len(spec.lbp_slacks)  # channels of every slack's block
    full = passive.texture_features(crop, full_spec).reshape(k, 4, 35)
    got = passive.texture_features(crop, spec).reshape(k, 2, 35)
    np.testing.assert_array_equal(got, full[:, [1, 2]])
    # the top and bottom bands do not matter any more (but for the LBP neighbours of the kept
    # bands' edge rows, hence the margin)
    changed = crop.copy()
    changed[:37] = 255 - changed[:37]
    changed[123:] = rng.integers(0, 256, changed[123:].shape, dtype=np.uint8)
    np.testing.assert_array_equal(passive.texture_features(changed, spec), got.ravel())
    assert not np.array_equal(passive.texture_features(changed, full_spec), full.ravel())
    # the spec round-trips; files without "bands" (rounds 1-5) keep every cell; bad indices
    # are refused when the file is read
    assert passive.InputSpec.from_dict(spec.to_dict()) == spec
    d = spec.to_dict()
    del d["lbp"]["bands"]
    assert passive.InputSpec.from_dict(d).lbp_bands is None
    for bad in ([4], [1, 1], []):
        d["lbp"]["bands"] = bad
        with pytest.raises(ValueError, match="lbp bands"):
            passive.InputSpec.from_dict(d)


def test_lbp_slacks_add_one_feature_block_per_slack():
    """InputSpec.lbp_slacks: the whole feature vector once per slack, in order, the slack-1
    block being the kernel's LBP with slack 1 (a neighbour one level below the centre counts);
    stored in the file's input spec, refused when malformed, and absent from a plain spec."""
    from fastlive import _core

    spec = dataclasses.replace(passive.DEFAULT_TEXTURE_SPEC, lbp_slacks=(0,))
    two = dataclasses.replace(spec, lbp_slacks=(0, 1))
    rng = np.random.default_rng(9)
    crop = cv2.GaussianBlur(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8), (3, 3), 0)
    plain = passive.texture_features(crop, spec)
    both = passive.texture_features(crop, two)
    assert both.shape == (2 * plain.size,)
    np.testing.assert_array_equal(both[:plain.size], plain)
    assert not np.array_equal(both[plain.size:], plain)
    # the second block by hand: H (shifted 60), S, V; bands 2-3 of 4; mirror-folded; sqrt
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hsv[:, :, 0] = (hsv[:, :, 0].astype(np.int32) + 60) % 180
    hist = _core.lbp_histogram_multi(hsv, (4, 1), "uniform", True, 1, slack=1)
    hist = hist.reshape(3, 4, 59)[:, [1, 2]].reshape(-1, 59) @ passive._MIRROR_FOLD
    np.testing.assert_allclose(both[plain.size:], np.sqrt(hist).ravel(), atol=1e-6)
    # the spec round-trips; a plain spec writes no "slacks" (older files read as plain)
    assert passive.InputSpec.from_dict(two.to_dict()) == two
    assert "slacks" not in spec.to_dict()["lbp"]
    assert passive.InputSpec.from_dict(spec.to_dict()).lbp_slacks == (0,)
    d = two.to_dict()
    for bad in ([], [1, 1], [256], [-1], [1.5], [True], "1"):
        d["lbp"]["slacks"] = bad
        with pytest.raises(ValueError, match="lbp slacks"):
            passive.InputSpec.from_dict(d)

