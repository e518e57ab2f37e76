"""End-to-end and per-stage latency of score_frame, one face, single thread.

Run: python -m pytest benchmarks/test_bench_pipeline.py --benchmark-enable -q
(CI runs them with --benchmark-disable: each benchmark still runs once and asserts its result.)

Frames: the first NUAA live frame of ../shared/data (640x480, one face); "1280x720" is the same
real frame upscaled 1.5x (INTER_LINEAR, 960x720) and centred on a 1280x720 canvas with
replicated borders (the shared data has no 720p captures). Models: YuNet at 320 px, the eye
model (where the Config runs it) and the passive models shipped with fastlive.
cv2.setNumThreads(1) and onnxruntime intra_op_num_threads=1 (Config defaults).

Targets (issue 3): tracked 640x480 frame p50 <= 5 ms; detection frame (a stream's
re-detection, a single image) <= 1.5x YuNet alone on the same frame; first call after
construction (models loaded) < 1 s.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from fastlive import quality
from fastlive.api import LivenessDetector
from fastlive.config import Config
from fastlive.landmarks import measure_eyes, rois_from_keypoints

FRAME = "nuaa/live/0001/0001_00_00_01_0.jpg"
SIZES = ("640x480", "1280x720")


@pytest.fixture(scope="module")
def frames(data_dir):
    img = cv2.imread(str(data_dir / FRAME))
    assert img is not None and img.shape == (480, 640, 3)
    up = cv2.resize(img, (960, 720), interpolation=cv2.INTER_LINEAR)
    big = cv2.copyMakeBorder(up, 0, 0, 160, 160, cv2.BORDER_REPLICATE)
    assert big.shape == (720, 1280, 3)
    return {"640x480": img, "1280x720": big}


@pytest.fixture(scope="module")
def detector():
    return LivenessDetector(Config())


def _check(r, detected):
    assert len(r.faces) == 1
    f = r.faces[0]
    assert r.detected is detected
    assert f.decision in ("LIVE", "SPOOF", "UNCERTAIN")
    assert 0.0 <= f.score <= 1.0
    return f


@pytest.mark.parametrize("size", SIZES)
def test_bench_yunet_alone(benchmark, frames, detector, size):
    faces = benchmark(detector.detector.detect, frames[size])
    assert len(faces) == 1 and faces[0].keypoints is not None


def test_bench_yunet_with_orientation_check(benchmark, data_dir, detector):
    """A frame in which YuNet finds a false upright face in a sideways one (a NUAA print frame
    turned a quarter turn, score below detect.ORIENT_CHECK_BELOW): detection plus the
    orientation check (four more YuNet runs on a 128 px region). Compare with
    test_bench_yunet_alone[640x480] (a 480x640 frame here)."""
    frame = np.ascontiguousarray(np.rot90(cv2.imread(
        str(data_dir / "nuaa/spoof/0001/0001_00_04_03_0.jpg"))))
    faces = benchmark(detector.detector.detect, frame)
    d = faces[0].keypoints[1] - faces[0].keypoints[0]
    assert abs(abs(np.degrees(np.arctan2(d[1], d[0]))) - 90) < 30  # turned by the check


def _warm_stream(frame, redetect_every):
    """A detector and a session that has seen ``frame`` 5 times (30 fps clock), ready to time."""
    det = LivenessDetector(Config(redetect_every=redetect_every))
    s = det.new_session()
    clock = iter(np.arange(0.0, 1e6, 1 / 30))
    for _ in range(5):
        det.score_frame(frame, session=s, timestamp=next(clock))
    return det, s, frame, clock


@pytest.mark.parametrize("size", SIZES)
def test_bench_tracked_frame(benchmark, frames, size):
    """Steady-state tracked frames: eyes followed, no detection; passive every 3rd frame."""
    det, s, frame, clock = _warm_stream(frames[size], redetect_every=1_000_000)
    r = benchmark(lambda: det.score_frame(frame, session=s, timestamp=next(clock)))
    f = _check(r, detected=False)
    assert f.tracked and f.ear is not None and f.track_id == 1


@pytest.mark.parametrize("size", SIZES)
def test_bench_detection_frame(benchmark, frames, size):
    """Steady-state re-detection frames of a stream (every frame a detection frame)."""
    det, s, frame, clock = _warm_stream(frames[size], redetect_every=1)
    r = benchmark(lambda: det.score_frame(frame, session=s, timestamp=next(clock)))
    f = _check(r, detected=True)
    assert f.track_id == 1 and "detect" in r.timings


@pytest.mark.parametrize("size", SIZES)
def test_bench_single_image(benchmark, frames, detector, size):
    """A frame without a session: detection, passive models, quality (no eye model: the
    default Config.eyes_on_detection=False). Target: <= 1.5x YuNet alone."""
    r = benchmark(detector.score_frame, frames[size])
    f = _check(r, detected=True)
    assert f.ear is None and f.cues["texture"] is not None and "passive" in r.timings


def test_bench_single_image_with_eyes(benchmark, frames):
    """The same with Config(eyes_on_detection=True): both eyes measured (ear reported)."""
    det = LivenessDetector(Config(eyes_on_detection=True))
    r = benchmark(det.score_frame, frames["640x480"])
    f = _check(r, detected=True)
    assert f.ear is not None and f.cues["texture"] is not None


def test_bench_new_face_in_stream(benchmark, frames):
    """The first frame of a face in a stream: detection, both eyes (blinks start at once),
    passive models. Once per face."""
    det = LivenessDetector(Config())
    frame = frames["640x480"]

    def first_frame():
        return det.score_frame(frame, session=det.new_session(), timestamp=0.0)

    r = benchmark(first_frame)
    f = _check(r, detected=True)
    assert f.ear is not None and f.track_id == 1


def test_bench_stage_eyes(benchmark, frames, detector):
    frame = frames["640x480"]
    kp = detector.detector.detect(frame)[0].keypoints
    r = benchmark(measure_eyes, detector.landmarker, frame, rois_from_keypoints(kp))
    assert r.ear is not None and 0.1 < r.ear < 0.5


def test_bench_stage_passive(benchmark, frames, detector):
    frame = frames["640x480"]
    faces = detector.detector.detect(frame)
    out = benchmark(detector.passive.score, frame, faces)
    assert 0.0 <= out[0]["passive"] <= 1.0


def test_bench_stage_quality(benchmark, frames, detector):
    frame = frames["640x480"]
    f = detector.detector.detect(frame)[0]
    q = benchmark(lambda: quality.measure(frame, f.box, f.keypoints))
    assert q["blur"] > 0 and q["yaw"] is not None


def test_bench_first_call_after_construction(benchmark, frames):
    """Models load in the constructor; the first call must not (re)load anything."""

    def first_call():
        det = LivenessDetector(Config())
        t0 = time.perf_counter()
        r = det.score_frame(frames["640x480"])
        return r, time.perf_counter() - t0

    r, first = benchmark.pedantic(first_call, rounds=1, iterations=1)
    _check(r, detected=True)
    assert first < 1.0, f"first score_frame took {first:.3f} s"


def stage_report(data_dir: str, n: int = 300) -> None:
    """p50/p90 of FrameResult.timings per stage: tracked frames, re-detection frames, and the
    default schedule; ``python benchmarks/test_bench_pipeline.py [DATA_DIR]``."""
    img = cv2.imread(f"{data_dir}/{FRAME}")
    up = cv2.resize(img, (960, 720), interpolation=cv2.INTER_LINEAR)
    sizes = {"640x480": img,
             "1280x720": cv2.copyMakeBorder(up, 0, 0, 160, 160, cv2.BORDER_REPLICATE)}
    modes = {"tracked": Config(redetect_every=1_000_000), "re-detection": Config(redetect_every=1),
             "default (N=10)": Config()}
    for name, frame in sizes.items():
        for mode, cfg in modes.items():
            det = LivenessDetector(cfg)
            s = det.new_session()
            st: dict[str, list[float]] = {}
            for i in range(n):
                r = det.score_frame(frame, session=s, timestamp=i / 30)
                if i >= 5:
                    for k, v in r.timings.items():
                        st.setdefault(k, []).append(v)
            tot = st.pop("total")
            stages = " ".join(f"{k}={np.median(v):.2f}" for k, v in st.items())
            print(f"{name} {mode}: total p50 {np.median(tot):.2f} ms p90 "
                  f"{np.percentile(tot, 90):.2f} ms | stage p50 (ms, frames where run): {stages}")
        t = []
        for _ in range(100):
            t0 = time.perf_counter()
            det.detector.detect(frame)
            t.append((time.perf_counter() - t0) * 1e3)
        print(f"{name} YuNet alone: p50 {np.median(t):.2f} ms")


if __name__ == "__main__":
    import os
    import sys

    stage_report(sys.argv[1] if len(sys.argv) > 1
                 else os.environ.get("FASTLIVE_SHARED", "../shared") + "/data")
