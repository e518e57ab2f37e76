"""PassiveScorer.score per face, one thread (targets: CNN < 2 ms; whole passive stage ~1 ms).

Runs on a real NUAA frame with the shipped models; asserts correctness as well."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive import passive, registry


@pytest.fixture(scope="module")
def scene(data_dir):
    import csv

    from fastlive.detect import FaceDetector

    if not registry.shipped_manifest().get("models"):
        pytest.fail("no shipped models/manifest.json")
    with open(data_dir / "manifest.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["source"] == "nuaa" and r["label"] == "live")
    frame = cv2.imread(str(data_dir / row["path"]))
    faces = FaceDetector().detect(frame)[:1]
    assert faces
    return frame, faces


@pytest.mark.parametrize("run_cnn", [None, True], ids=["default", "with-cnn-cue"])
def test_bench_passive_score_per_face(benchmark, scene, run_cnn):
    """Default: the CNN runs only when the shipped fusion weighs it; with-cnn-cue: always."""
    frame, faces = scene
    sc = passive.PassiveScorer(threads=1, run_cnn=run_cnn)
    out = benchmark(sc.score, frame, faces)
    assert len(out) == 1
    r = out[0]
    assert 0.0 <= r["texture"] <= 1.0
    assert (r["cnn"] is not None) == sc.run_cnn
    if r["cnn"] is not None:
        assert 0.0 <= r["cnn"] <= 1.0
    assert r["passive"] == pytest.approx(sc.fuse(r["cnn"], r["texture"]))
    again = sc.score(frame, faces)[0]
    assert (again["cnn"], again["texture"], again["passive"]) == (r["cnn"], r["texture"],
                                                                  r["passive"])


def test_bench_passive_cnn_only(benchmark, scene):
    frame, faces = scene
    sc = passive.PassiveScorer(threads=1, run_cnn=True)
    _, tensor = passive.prepare(frame, faces[0], sc.spec)
    p = benchmark(sc.cnn_prob, tensor)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(sc.score(frame, faces)[0]["cnn"], abs=1e-5)
    assert np.isfinite(tensor).all()


def test_bench_passive_texture_only(benchmark, scene):
    """The texture classifier on its own crop (prepare at the texture spec + colour LBP)."""
    frame, faces = scene
    sc = passive.PassiveScorer(threads=1)

    def run() -> float:
        crop, _ = passive.prepare(frame, faces[0], sc.texture_spec, tensor=False)
        return sc.texture_prob(crop)

    p = benchmark(run)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(sc.score(frame, faces)[0]["texture"], abs=1e-12)


# Round 4's texture features (YCrCb + HSV, crop + half-size copy, all four bands, plain LBP)
# and round 12's (the shipped ones before round 13's second block with LBP slack 1) against the
# shipped ones (round 13: HSV of the crop, bands 2 and 3 of 4, slacks 0 and 1), on the same
# aligned 160 px crop (models/README.md).
ROUND4_TEXTURE = {"lbp_colors": ("ycrcb", "hsv"), "lbp_scales": (1, 2), "lbp_bands": None,
                  "lbp_slacks": (0,)}
ROUND12_TEXTURE = {"lbp_slacks": (0,)}


@pytest.mark.parametrize("design", ["shipped", "round12", "round4"])
def test_bench_texture_features(benchmark, scene, design):
    import dataclasses

    frame, faces = scene
    spec = passive.DEFAULT_TEXTURE_SPEC
    if design != "shipped":
        spec = dataclasses.replace(spec, **(ROUND4_TEXTURE if design == "round4"
                                            else ROUND12_TEXTURE))
    crop, _ = passive.prepare(frame, faces[0], spec, tensor=False)
    f = benchmark(passive.texture_features, crop, spec)
    n_colour = 3 * len(spec.lbp_colors)
    cells = (spec.lbp_grid[0] * spec.lbp_grid[1] if spec.lbp_bands is None
             else len(spec.lbp_bands))
    assert f.shape == (len(spec.lbp_slacks) * len(spec.lbp_scales) * n_colour * cells * 35,)
    assert np.isfinite(f).all() and (f >= 0).all()
