"""Fault injection: every fault gives a documented error, or (in a stream) is skipped, counted and
survived; nothing hangs (issue 5, item 3; docs/security.md "Faults").

Faults: camera lost mid-stream (a fake cv2.VideoCapture that stops delivering, blocks forever or
raises), truncated / corrupted / empty video files, undecodable images, model files missing,
truncated or tampered (sha256 mismatch), onnxruntime session errors at load and at run time, and
bad frames in the middle of a scoring stream.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from fastlive import capture, registry  # noqa: E402
from fastlive.capture import Capture, CaptureError  # noqa: E402
from fastlive.results import DECISIONS, LIVE  # noqa: E402

HANG_LIMIT_S = 20.0  # any single fault must resolve well within this


def bounded(fn, seconds: float = HANG_LIMIT_S):
    """Run fn() in a thread; fail the test if it has not finished within `seconds`."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc

    th = threading.Thread(target=run, daemon=True, name="fault-bounded")
    t0 = time.monotonic()
    th.start()
    th.join(seconds)
    assert not th.is_alive(), f"hung: still running after {seconds:g} s"
    box["elapsed"] = time.monotonic() - t0
    if "error" in box:
        raise box["error"]
    return box.get("value"), box["elapsed"]


@pytest.fixture(scope="module")
def nuaa_live(data_dir: Path) -> list[Path]:
    with open(data_dir / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source"] == "nuaa"
                and r["label"] == "live" and r["subject_id"] == "nuaa-0001"]
    paths = [data_dir / r["path"] for r in rows[:24]]
    assert len(paths) == 24
    return paths


@pytest.fixture(scope="module")
def clip(tmp_path_factory, nuaa_live) -> Path:
    """A 24-frame MJPG AVI made from real NUAA frames (no data copied into the repo)."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (640, 480))
    assert wr.isOpened()
    for p in nuaa_live:
        wr.write(cv2.resize(cv2.imread(str(p)), (640, 480)))
    wr.release()
    return path


def _drain(source, **kw) -> tuple[list[float], Capture]:
    cap = Capture(source, **kw)
    ts = []
    try:
        for frame, t in cap:
            assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
            ts.append(t)
    finally:
        cap.close()
    return ts, cap


# -- video files ----------------------------------------------------------------------------------


def test_intact_clip_reads_every_frame(clip):
    (ts, cap), _ = bounded(lambda: _drain(str(clip)))
    assert len(ts) == 24 and cap.skipped == 0
    assert all(b > a for a, b in zip(ts, ts[1:]))


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.15])
def test_truncated_video_yields_its_decodable_prefix(clip, tmp_path, keep):
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * keep)])
    try:
        (ts, _), _ = bounded(lambda: _drain(str(cut)))
    except CaptureError as exc:  # the documented error when nothing is decodable
        assert "cut.avi" in str(exc)
        return
    assert 0 < len(ts) < 24
    assert all(b > a for a, b in zip(ts, ts[1:]))


def test_corrupted_video_is_survived(clip, tmp_path):
    data = bytearray(clip.read_bytes())
    rng = np.random.default_rng(5)
    for start in (len(data) // 4, len(data) // 2, 3 * len(data) // 4):  # three damaged regions
        data[start:start + 4096] = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    try:
        (ts, cap), _ = bounded(lambda: _drain(str(bad)))
    except CaptureError as exc:
        assert "bad.avi" in str(exc)
        return
    assert 0 < len(ts) <= 24
    assert all(b > a for a, b in zip(ts, ts[1:]))


@pytest.mark.parametrize("content", [b"", b"\x00" * 10,
                                     b"RIFF\x10\x00\x00\x00AVI LIST" + bytes(300)])
def test_garbage_video_raises_capture_error(tmp_path, content):
    p = tmp_path / "junk.mp4"
    p.write_bytes(content)
    with pytest.raises(CaptureError, match="junk.mp4"):
        bounded(lambda: _drain(str(p)))


# -- images ---------------------------------------------------------------------------------------


def test_undecodable_images_raise_value_error_naming_the_file(tmp_path, nuaa_live):
    good = nuaa_live[0].read_bytes()
    cases = {"empty.jpg": b"", "text.png": b"not an image at all", "half.jpg": good[:300],
             # headers claiming more than OpenCV's 2^20 rows / columns: imdecode raises
             # cv2.error instead of returning None (found by fuzz/fuzz_api.py)
             "tall.ppm": b"P6\n10 2000000\n255\n" + bytes(30),
             "wide.pgm": b"P5\n3000000 1\n255\n" + bytes(30)}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=name):
            capture.read_image(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        capture.read_image(tmp_path / "missing.jpg")


def test_image_stream_skips_and_counts_bad_files(tmp_path, nuaa_live):
    paths = []
    for i, p in enumerate(nuaa_live[:6]):
        dst = tmp_path / f"{i:02d}.jpg"
        dst.write_bytes(p.read_bytes() if i % 3 else b"\xff\xd8garbage")
        paths.append(str(dst))
    (ts, cap), _ = bounded(lambda: _drain(paths))
    assert len(ts) == 4 and cap.skipped == 2 and len(cap.errors) == 2


# -- camera lost mid-stream (a fake device behind cv2.VideoCapture) --------------------------------


class FakeCamera:
    """Delivers `good` frames at ~100 fps, then fails as `mode` says."""

    release_all = threading.Event()

    def __init__(self, good: int, mode: str, bad_burst: int = 0) -> None:
        self.good, self.mode, self.bad_burst = good, mode, bad_burst
        self.reads = 0
        self.failed_reads = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - cv2 API
        return not self.released

    def set(self, prop, value) -> bool:
        return True

    def get(self, prop) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        self.reads += 1
        time.sleep(0.01)
        if self.mode == "flaky" and self.reads % 10 == 0:  # every 10th read fails
            self.failed_reads += 1
            return False, None
        if self.reads <= self.good or self.mode == "flaky":
            return True, np.full((48, 64, 3), self.reads % 256, np.uint8)
        if self.mode == "unplugged":
            self.failed_reads += 1
            return False, None
        if self.mode == "hang":
            FakeCamera.release_all.wait(60)
            return False, None
        raise cv2.error("fake driver failure: device disconnected")

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_camera(monkeypatch):
    made: list[FakeCamera] = []

    def install(good: int, mode: str):
        def factory(*args, **kwargs):
            cam = FakeCamera(good, mode)
            made.append(cam)
            return cam

        monkeypatch.setattr(cv2, "VideoCapture", factory)
        return made

    FakeCamera.release_all.clear()
    yield install
    FakeCamera.release_all.set()  # let any blocked reader thread finish


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


@pytest.mark.parametrize("mode", ["unplugged", "raises", "hang"])
def test_camera_lost_mid_stream_raises_capture_error(fake_camera, mode):
    # A camera never "ends": losing it mid-stream must surface as CaptureError (not a silent
    # end of iteration that a caller would mistake for a finished session), within the read
    # timeout, after the frames it did deliver.
    fake_camera(good=20, mode=mode)
    got = []

    def run():
        with Capture(0, open_timeout=2.0, read_timeout=1.0) as cap:
            for frame, _t in cap:
                got.append(frame)

    with pytest.raises(CaptureError, match="camera 0"):
        bounded(run, 10.0)
    assert len(got) >= 1


def test_flaky_camera_skips_counts_and_keeps_going(fake_camera):
    cams = fake_camera(good=0, mode="flaky")
    frames = 0
    with Capture(0, open_timeout=2.0, read_timeout=1.0) as cap:
        for _frame, _t in cap:
            frames += 1
            if frames >= 30:
                break
        skipped = cap.skipped
    assert frames == 30
    assert cams[0].failed_reads >= 2
    # every failed read is counted (skipped), the stream kept going
    assert skipped >= 1, "failed camera reads are not counted in Capture.skipped"


def test_closed_camera_leaves_no_thread(fake_camera):
    fake_camera(good=10_000, mode="unplugged")
    before = len(_threads_named("fastlive-capture"))
    with Capture(0, open_timeout=2.0, read_timeout=1.0) as cap:
        for i, _ in enumerate(cap):
            if i == 5:
                break
    deadline = time.monotonic() + 5
    while len(_threads_named("fastlive-capture")) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_threads_named("fastlive-capture")) == before


# -- model files ----------------------------------------------------------------------------------


@pytest.fixture
def model_env(tmp_path, monkeypatch, models_dir):
    """An empty model dir and cache, offline; returns a function to place a (damaged) yunet."""
    mdir, cache = tmp_path / "models", tmp_path / "cache"
    mdir.mkdir()
    cache.mkdir()
    monkeypatch.setenv("FASTLIVE_MODEL_DIR", str(mdir))
    monkeypatch.setenv("FASTLIVE_CACHE_DIR", str(cache))
    monkeypatch.setenv("FASTLIVE_OFFLINE", "1")
    src = models_dir / registry.THIRD_PARTY["yunet"].filename

    def place(how: str) -> Path:
        data = bytearray(src.read_bytes())
        if how == "truncated":
            data = data[: len(data) // 2]
        elif how == "tampered":
            data[len(data) // 2] ^= 0x01  # one bit
        dst = mdir / src.name
        dst.write_bytes(bytes(data))
        return dst

    return place


def test_missing_model_raises_model_not_found(model_env):
    with pytest.raises(registry.ModelNotFoundError, match="yunet"):
        registry.resolve("yunet")
    from fastlive.detect import FaceDetector

    with pytest.raises(registry.ModelNotFoundError):
        FaceDetector(backend="yunet")


@pytest.mark.parametrize("how", ["truncated", "tampered"])
def test_damaged_model_is_refused_not_skipped(model_env, how):
    model_env(how)
    with pytest.raises(registry.ModelIntegrityError, match="sha256"):
        registry.resolve("yunet")
    from fastlive.detect import FaceDetector

    # "auto" must not quietly downgrade to Haar when the model was tampered with.
    for backend in ("yunet", "auto"):
        with pytest.raises(registry.ModelIntegrityError):
            FaceDetector(backend=backend)
    rows = {r["name"]: r for r in registry.status()}
    assert rows["yunet"]["ok"] is False and "sha256" in rows["yunet"]["error"]


def _copy_shipped(tmp_path: Path) -> Path:
    src = Path(registry.shipped_manifest()["_dir"])
    dst = tmp_path / "passive"
    shutil.copytree(src, dst)
    return dst


def test_passive_model_that_onnxruntime_cannot_load_gives_a_clear_error(tmp_path):
    from fastlive.passive import PassiveScorer

    d = _copy_shipped(tmp_path)
    manifest = json.loads((d / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["file"].endswith(".onnx"))
    onnx = d / entry["file"]
    onnx.write_bytes(b"\x08\x07" + bytes(200))  # not a valid ONNX graph...
    entry["sha256"] = registry.sha256_file(onnx)  # ...but with a matching hash
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises((registry.ModelIntegrityError, ValueError)) as ei:
        PassiveScorer(model_dir=d)
    assert entry["file"] in str(ei.value)


def test_onnxruntime_failure_at_run_time_is_not_swallowed(tmp_path, nuaa_live):
    from fastlive.detect import FaceDetector
    from fastlive.passive import PassiveScorer

    scorer = PassiveScorer()
    frame = cv2.imread(str(nuaa_live[0]))
    faces = FaceDetector().detect(frame)
    assert faces

    class Broken:
        def __init__(self, real):
            self.real = real

        def run(self, *a, **k):
            raise RuntimeError("onnxruntime: simulated session failure (out of memory)")

        def __getattr__(self, name):
            return getattr(self.real, name)

    nets = list(scorer.nets)
    for j, net in enumerate(nets):  # each network's failure reaches the caller
        scorer.nets = [*nets[:j], dataclasses.replace(net, session=Broken(net.session)),
                       *nets[j + 1:]]
        with pytest.raises(RuntimeError, match="simulated session failure"):
            scorer.score(frame, faces)
    scorer.nets = nets
    assert scorer.score(frame, faces)[0].cues.keys() == set(scorer.cue_names)


# -- API level: bad frames in a stream, models missing, session errors -----------------------------


@pytest.fixture(scope="module")
def api():
    import fastlive.api

    return fastlive.api


@pytest.fixture(scope="module")
def detector(api):
    return api.LivenessDetector()


BAD_FRAMES = [
    None,
    "frame.jpg",
    np.zeros((480, 640, 3), np.float32),
    np.zeros((480, 640), np.int16),
    np.zeros((0, 640, 3), np.uint8),
    np.zeros((4, 4, 3), np.uint8),
    np.zeros((2, 480, 640, 3), np.uint8),
    np.zeros((480, 640, 5), np.uint8),
]


@pytest.mark.parametrize("bad", BAD_FRAMES, ids=lambda b: type(b).__name__ if not hasattr(
    b, "shape") else f"{b.dtype}{b.shape}")
def test_bad_frame_raises_documented_error_naming_the_argument(detector, bad):
    with pytest.raises((TypeError, ValueError), match="frame"):
        detector.score_frame(bad)


def test_stream_survives_bad_frames(detector, nuaa_live):
    frames = [cv2.imread(str(p)) for p in nuaa_live[:8]]
    session = detector.new_session()
    ok, errors = 0, 0
    for i, f in enumerate(frames):
        if i in (2, 5):
            with pytest.raises((TypeError, ValueError)):
                detector.score_frame(np.zeros((3, 3), np.float64), session=session)
            errors += 1
        res = detector.score_frame(f, session=session)
        assert res.decision in DECISIONS
        ok += 1
    assert ok == 8 and errors == 2
    # the session kept going: the next good frame after a bad one is scored normally
    assert res.faces and res.faces[0].decision in DECISIONS


def test_no_passive_model_never_yields_live(api, monkeypatch, nuaa_live):
    # Shipped models made unavailable: construction fails with ModelNotFoundError, or every
    # decision is not LIVE.
    from fastlive import passive

    def missing(*a, **k):
        raise registry.ModelNotFoundError("passive models removed for the test")

    monkeypatch.setattr(passive.PassiveScorer, "__init__", missing)
    try:
        with pytest.warns(RuntimeWarning, match="passive"):
            det = api.LivenessDetector()
    except registry.ModelNotFoundError:
        return
    session = det.new_session()
    for p in nuaa_live[:6]:
        res = det.score_frame(cv2.imread(str(p)), session=session)
        assert all(f.decision != LIVE for f in res.faces)


def test_session_error_mid_stream_is_clear_and_never_live(api, nuaa_live):
    det = api.LivenessDetector()
    scorer = det.passive
    assert scorer is not None and scorer.nets

    class Broken:
        def run(self, *a, **k):
            raise RuntimeError("onnxruntime: simulated session failure")

    real = scorer.nets
    session = det.new_session()
    frames = [cv2.imread(str(p)) for p in nuaa_live[:6]]
    for f in frames[:3]:
        det.score_frame(f, session=session)
    scorer.nets = [dataclasses.replace(n, session=Broken()) for n in real]
    try:
        for f in frames[3:]:
            try:
                res = det.score_frame(f, session=session)
            except RuntimeError as exc:
                assert "simulated session failure" in str(exc)
                continue
            assert all(x.decision != LIVE for x in res.faces)
    finally:
        scorer.nets = real
