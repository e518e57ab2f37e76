"""fastlive.passive and fastlive.minifasnet: PassiveScorer on tiny models built here (torch-free,
onnx.helper) against an independent computation, and the shipped models."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from fastlive import minifasnet, passive, registry
from fastlive.detect import Face

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

SPECS = {"net_a": (2.7, 80), "net_b": (4.0, 64)}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _tiny_net(path: Path, size: int, w: np.ndarray) -> None:
    """(N, 3, size, size) -> mean of each channel -> (N, 3) @ w (3x3): three logits."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, size, size])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 3])
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
             helper.make_node("Reshape", ["gap", "shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "W"], ["logits"])]
    inits = [helper.make_tensor("W", TensorProto.FLOAT, [3, 3], w.ravel().tolist()),
             helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3])]
    model = helper.make_model(helper.make_graph(nodes, "tiny", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _tiny_models(d: Path, weights=(0.7, 0.4), bias=-0.2, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    ws, entries = {}, []
    for name, (scale, size) in SPECS.items():
        w = rng.normal(0, 0.02, (3, 3)).astype(np.float32)
        _tiny_net(d / f"{name}.onnx", size, w)
        ws[name] = w
        entries.append({"name": name, "file": f"{name}.onnx", "sha256": _sha(d / f"{name}.onnx"),
                        "kind": "onnx-minifasnet",
                        "input": {"crop_scale": scale, "size": size}})
    fus = {"inputs": list(SPECS), "weights": list(weights), "bias": bias,
           "thresholds": {"convenience": 0.2, "balanced": 0.5, "secure": 0.8}}
    (d / "fus.json").write_text(json.dumps(fus))
    entries.append({"name": passive.FUSION_MODEL, "file": "fus.json",
                    "sha256": _sha(d / "fus.json")})
    (d / "manifest.json").write_text(json.dumps({"format": 2, "version": "test-1",
                                                 "models": entries}))
    return {"w": ws, "weights": np.array(weights), "bias": bias}


def _face_frame(seed: int = 0, h: int = 240, w: int = 320) -> tuple[np.ndarray, Face]:
    rng = np.random.default_rng(seed)
    frame = cv2.GaussianBlur(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), (5, 5), 1.5)
    return frame, Face((139.0, 84.0, 42.0, 50.0), 0.9, None, "yunet")


def _ref_crop(frame: np.ndarray, box, scale: float, size: int) -> np.ndarray:
    """The upstream project's CropImage, written out independently."""
    h, w = frame.shape[:2]
    x, y, bw, bh = box
    scale = min((h - 1) / bh, min((w - 1) / bw, scale))
    nw, nh = bw * scale, bh * scale
    cx, cy = bw / 2 + x, bh / 2 + y
    ltx, lty, rbx, rby = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if ltx < 0:
        rbx -= ltx
        ltx = 0
    if lty < 0:
        rby -= lty
        lty = 0
    if rbx > w - 1:
        ltx -= rbx - w + 1
        rbx = w - 1
    if rby > h - 1:
        lty -= rby - h + 1
        rby = h - 1
    img = frame[int(lty):int(rby) + 1, int(ltx):int(rbx) + 1]
    return cv2.resize(img, (size, size))


def _ref_score(frame, face, m) -> tuple[float, dict[str, float]]:
    zs, cues = [], {}
    for name, (scale, size) in SPECS.items():
        c = _ref_crop(frame, face.box, scale, size).astype(np.float64)
        logits = c.reshape(-1, 3).mean(0) @ m["w"][name].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        z = math.log(p[1] / (p[0] + p[2]))
        zs.append(z)
        cues[name] = 1 / (1 + math.exp(-z))
    return float(np.dot(m["weights"], zs) + m["bias"]), cues


def test_crop_matches_the_upstream_rule_on_edges_and_large_faces():
    frame = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for box in ((139.0, 84.0, 42.0, 50.0), (0.0, 0.0, 60.0, 60.0), (280.5, 200.2, 39.0, 39.0),
                (10.0, 5.0, 300.0, 230.0), (-20.0, -10.0, 80.0, 90.0)):
        for scale, size in SPECS.values():
            spec = minifasnet.NetSpec("x", scale, size)
            np.testing.assert_array_equal(minifasnet.crop(frame, box, spec),
                                          _ref_crop(frame, box, scale, size))


def test_live_logit_is_the_three_way_softmax():
    z = np.array([0.3, 2.0, -1.0])
    p = np.exp(z) / np.exp(z).sum()
    assert minifasnet.live_logit(z) == pytest.approx(math.log(p[1] / (p[0] + p[2])))
    assert minifasnet.live_logit([0, 800, 0]) == pytest.approx(800 - math.log(2))
    with pytest.raises(ValueError, match="logits"):
        minifasnet.live_logit([1.0, 2.0])


def test_scorer_outputs_match_an_independent_computation(tmp_path):
    m = _tiny_models(tmp_path)
    sc = passive.PassiveScorer(tmp_path)
    assert sc.cue_names == tuple(SPECS) and sc.thresholds["balanced"] == 0.5
    for seed in range(3):
        frame, face = _face_frame(seed)
        out = sc.score(frame, [face])[0]
        z, cues = _ref_score(frame, face, m)
        assert out.logit == pytest.approx(z, abs=1e-4)
        assert out.score == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-5)
        assert out.cues == pytest.approx(cues, abs=1e-5)
        assert set(out.timings) >= set(SPECS)


def test_several_faces_in_one_batch_score_as_one_by_one(tmp_path):
    _tiny_models(tmp_path)
    sc = passive.PassiveScorer(tmp_path)
    frame, face = _face_frame(1)
    faces = [face, Face((20.0, 30.0, 60.0, 70.0), 0.9, None, "yunet"),
             Face((250.0, 150.0, 30.0, 40.0), 0.9, None, "yunet")]
    together = sc.score(frame, faces)
    alone = [sc.score(frame, [f])[0] for f in faces]
    assert [a.logit for a in together] == pytest.approx([b.logit for b in alone], abs=1e-5)
    assert sc.score(frame, []) == []


def test_scorer_is_thread_safe(tmp_path):
    _tiny_models(tmp_path)
    sc = passive.PassiveScorer(tmp_path)
    frames = [_face_frame(i) for i in range(4)]
    expected = [sc.score(f, [face])[0].score for f, face in frames]
    results: dict[int, list[float]] = {}

    def work(k: int) -> None:
        results[k] = [sc.score(f, [face])[0].score for f, face in frames * 5]

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
    with open(tmp_path / "fus.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(registry.ModelIntegrityError, match="sha256"):
        passive.PassiveScorer(tmp_path)
    d = tmp_path / "partial"
    _tiny_models(d)
    mf = json.loads((d / "manifest.json").read_text())
    mf["models"] = [e for e in mf["models"] if e["name"] != "net_b"]
    (d / "manifest.json").write_text(json.dumps(mf))
    with pytest.raises(registry.ModelNotFoundError, match="net_b"):
        passive.PassiveScorer(d)
    d2 = tmp_path / "missing_file"
    _tiny_models(d2)
    (d2 / "net_a.onnx").unlink()
    with pytest.raises(registry.ModelNotFoundError, match="does not exist"):
        passive.PassiveScorer(d2)
    d3 = tmp_path / "bad_fusion"
    _tiny_models(d3)
    (d3 / "fus.json").write_text(json.dumps({"inputs": ["net_a"], "weights": []}))
    mf = json.loads((d3 / "manifest.json").read_text())
    for e in mf["models"]:
        if e["name"] == passive.FUSION_MODEL:
            e["sha256"] = _sha(d3 / "fus.json")
    (d3 / "manifest.json").write_text(json.dumps(mf))
    with pytest.raises(registry.ModelIntegrityError, match="fusion"):
        passive.PassiveScorer(d3)


# -- shipped models -------------------------------------------------------------------------------
def test_shipped_manifest_sha256_matches_files():
    mf = registry.shipped_manifest()
    d = Path(mf["_dir"])
    assert mf["version"]
    names = {m["name"] for m in mf["models"]}
    assert passive.FUSION_MODEL in names
    fus = json.loads((d / next(m["file"] for m in mf["models"]
                               if m["name"] == passive.FUSION_MODEL)).read_text())
    assert set(fus["inputs"]) <= names
    for m in mf["models"]:
        data = (d / m["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"], m["file"]
        assert registry.resolve(m["name"]).read_bytes() == data
        if m["name"] in fus["inputs"]:
            assert m["input"]["crop_scale"] > 0 and m["input"]["size"] > 0
            assert len(data) < 2 * 1024 * 1024
    # the third-party weights' licence and NOTICE ship beside them
    assert (d / "NOTICE").is_file() and (d / "LICENSE-MiniFASNet.txt").is_file()


def test_shipped_scorer_separates_real_live_and_print(data_dir):
    """NUAA live and print frames through the runtime path (detector -> scorer). The shipped
    models are trained on all of ../shared/data, so this checks the runtime path reproduces
    what was learnt (a training-data AUC), not cross-source accuracy (that is the
    leave-one-source-out table in models/README.md)."""
    import csv

    from fastlive.detect import FaceDetector

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
            assert 0.0 <= out.score <= 1.0
            scores[lab].append(out.score)
    pairs = [a > b for a in scores[1] for b in scores[0]]
    assert np.mean(pairs) >= 0.9  # AUC on this small real sample


def _boxed(picture: np.ndarray, out_hw: tuple[int, int], colour: int
           ) -> tuple[np.ndarray, int, int]:
    """``picture`` centred in an ``out_hw`` frame of one colour (a letterbox / pillarbox)."""
    h, w = picture.shape[:2]
    frame = np.full((*out_hw, 3), colour, np.uint8)
    y0, x0 = (out_hw[0] - h) // 2, (out_hw[1] - w) // 2
    frame[y0:y0 + h, x0:x0 + w] = picture
    return frame, x0, y0


def test_picture_area_finds_letterbox_and_pillarbox_bars():
    rng = np.random.default_rng(5)
    pic = rng.integers(0, 256, (240, 136, 3), dtype=np.uint8)
    assert minifasnet.picture_area(pic) == (0, 0, 136, 240)  # a picture to the edge
    for colour in (0, 128, 255):
        frame, x0, y0 = _boxed(pic, (240, 320), colour)  # pillarbox
        assert minifasnet.picture_area(frame) == (x0, 0, x0 + 136, 240)
        frame, x0, y0 = _boxed(pic, (300, 320), colour)  # both
        assert minifasnet.picture_area(frame) == (x0, y0, x0 + 136, y0 + 240)
        wide = rng.integers(0, 256, (120, 320, 3), dtype=np.uint8)
        frame, x0, y0 = _boxed(wide, (240, 320), colour)  # letterbox
        assert minifasnet.picture_area(frame) == (0, y0, 320, y0 + 120)
        # after JPEG: within a JPEG macroblock (16 px with chroma subsampling) of the picture:
        # ringing next to it
        jpg = cv2.imdecode(cv2.imencode(".jpg", _boxed(pic, (240, 320), colour)[0])[1], 1)
        a = minifasnet.picture_area(jpg)
        assert 76 <= a[0] <= 92 and 228 <= a[2] <= 244 and (a[1], a[3]) == (0, 240)
    gray = cv2.cvtColor(_boxed(pic, (240, 320), 0)[0], cv2.COLOR_BGR2GRAY)
    assert minifasnet.picture_area(gray)[0] == 92


def test_picture_area_leaves_frames_that_are_not_letterboxed():
    rng = np.random.default_rng(6)
    pic = rng.integers(0, 256, (240, 136, 3), dtype=np.uint8)
    frame = _boxed(pic, (240, 320), 0)[0]
    one_side = frame.copy()
    one_side[:, 228:] = pic[:, :92]  # a dark band on the left only (a bezel, a shadow)
    two_colours = frame.copy()
    two_colours[:, 228:] = 255
    skewed = np.zeros_like(frame)
    skewed[:, 40:176] = pic  # bars of 40 and 144 columns: not a centred letterbox
    noisy = frame.copy()
    noisy[:, :92] = rng.integers(0, 30, (240, 92, 3), dtype=np.uint8)  # a dark room, not a bar
    noisy[:, 228:] = rng.integers(0, 30, (240, 92, 3), dtype=np.uint8)
    tiny = np.zeros((240, 320, 3), np.uint8)
    tiny[:, 150:170] = rng.integers(0, 256, (240, 20, 3), dtype=np.uint8)  # under 1/4 left
    flat = np.full((240, 320, 3), 90, np.uint8)
    for f in (one_side, two_colours, skewed, noisy, tiny, flat):
        assert minifasnet.picture_area(f) == (0, 0, 320, 240)


def test_a_letterboxed_face_is_cropped_as_the_picture_alone():
    rng = np.random.default_rng(7)
    pic = rng.integers(0, 256, (240, 136, 3), dtype=np.uint8)
    box = (30.0, 70.0, 60.0, 70.0)
    for out_hw, colour in (((240, 320), 0), ((300, 320), 128)):
        frame, x0, y0 = _boxed(pic, out_hw, colour)
        moved = (box[0] + x0, box[1] + y0, box[2], box[3])
        for scale, size in SPECS.values():
            spec = minifasnet.NetSpec("x", scale, size)
            np.testing.assert_array_equal(minifasnet.crop(frame, moved, spec),
                                          minifasnet.crop(pic, box, spec))
            # without the picture area the crop would take in the bars
            full = (0, 0, out_hw[1], out_hw[0])
            assert not np.array_equal(minifasnet.crop(frame, moved, spec, full),
                                      minifasnet.crop(pic, box, spec))


def test_shipped_scorer_keeps_a_pillarboxed_live_face_live(data_dir):
    """Live frames of ../shared/data shown pillarboxed (the frame in a 16:9 view, black or grey
    bars): the networks took the bars for a screen's edge (P(live) 0.997 -> 0.008 on a
    live portrait video); the picture area keeps the score of the frame alone."""
    import csv

    from fastlive.detect import FaceDetector

    with open(data_dir / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] == "live" and r["media"] == "image"]
    sc, det = passive.PassiveScorer(), FaceDetector()
    checked = 0
    for r in rows[::max(1, len(rows) // 12)][:12]:
        frame = cv2.imread(str(data_dir / r["path"]))
        faces = det.detect(frame)
        if not faces:
            continue
        alone = sc.score(frame, faces[:1])[0].score
        h, w = frame.shape[:2]
        for colour in (0, 128):
            boxed, x0, y0 = _boxed(frame, (h, w * 16 // 12), colour)
            f = faces[0]
            moved = Face((f.box[0] + x0, f.box[1], f.box[2], f.box[3]), f.score, None, "test")
            assert sc.score(boxed, [moved])[0].score == pytest.approx(alone, abs=1e-5), r["path"]
        checked += 1
    assert checked >= 6
