"""PassiveScorer.score per face, one thread, on a real NUAA frame with the shipped models: the
whole passive stage, and each network alone (crop + onnxruntime), so the cost of each network
is visible. Asserts correctness as well.

    python -m pytest benchmarks/test_bench_passive.py --benchmark-enable -q
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive import minifasnet, passive


@pytest.fixture(scope="module")
def scene(data_dir):
    import csv

    from fastlive.detect import FaceDetector

    with open(data_dir / "manifest.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["source"] == "nuaa" and r["label"] == "live")
    frame = cv2.imread(str(data_dir / row["path"]))
    faces = FaceDetector().detect(frame)[:1]
    assert faces
    return frame, faces


@pytest.fixture(scope="module")
def scorer():
    return passive.PassiveScorer()


def test_bench_passive_stage(benchmark, scene, scorer):
    frame, faces = scene
    r = benchmark(scorer.score, frame, faces)[0]
    assert 0.0 <= r.score <= 1.0 and set(r.cues) == set(scorer.cue_names)
    assert r.score == pytest.approx(1 / (1 + np.exp(-r.logit)))
    again = scorer.score(frame, faces)[0]
    assert (again.score, again.cues) == (r.score, r.cues)


@pytest.mark.parametrize("index", [0, 1], ids=["first-network", "second-network"])
def test_bench_one_network(benchmark, scene, scorer, index):
    """One network: its crop and one onnxruntime run (what it adds to a passive frame)."""
    frame, faces = scene
    if index >= len(scorer.nets):
        pytest.fail(f"the shipped fusion has {len(scorer.nets)} network(s)")
    net = scorer.nets[index]

    def run() -> float:
        x = minifasnet.crop(frame, faces[0].box, net.spec)
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)
        return minifasnet.live_logit(net.session.run(None, {net.input_name: x})[0][0])

    z = benchmark(run)
    benchmark.extra_info["network"] = net.name
    p = scorer.score(frame, faces)[0].cues[net.name]
    assert p == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-6)
