"""The public API end to end: score_frame / score_face / LivenessDetector on real frames."""

from __future__ import annotations

import json
import math
import threading

import cv2
import numpy as np
import pytest

import fastlive
from fastlive import api, registry
from fastlive.api import LivenessDetector
from fastlive.config import Config
from fastlive.detect import FaceDetector, haar_available
from fastlive.passive import PassiveScore
from fastlive.results import FrameResult

LIVE = "nuaa/live/0001/0001_00_00_01_0.jpg"


class FakeScorer:
    """A PassiveScorer stand-in (the documented ``passive=`` injection point): P(live) is a
    constant, or the mean brightness of the face box (so different frames score differently)."""

    version = "fake"
    thresholds = {"convenience": 0.3, "balanced": 0.5, "secure": 0.7}

    def __init__(self, p: float | None = None) -> None:
        self.p = p
        self.calls = 0
        self._lock = threading.Lock()

    def score(self, frame, faces):
        with self._lock:
            self.calls += 1
        out = []
        for f in faces:
            x, y, w, h = (int(round(v)) for v in f.box)
            region = frame[max(y, 0):y + h, max(x, 0):x + w]
            p = self.p if self.p is not None else float(region.mean() / 255.0)
            out.append(PassiveScore.from_score(p, {"fake": p}))
        return out


@pytest.fixture(scope="module")
def clip_frames(data_dir):
    from fastlive.evaluate import blinks_zju as blinks

    clip = next(c for c in blinks.find_clips(data_dir) if c.name == "000003M_FNN")
    frames, ts, _ = blinks.read_video(clip.video)
    return frames[:40], ts[:40]


def test_single_image_decision_and_result_fields(frame):
    det = LivenessDetector(passive=FakeScorer(0.9))
    r = det.score_frame(frame)
    assert isinstance(r, FrameResult) and r.detected and r.shape == (480, 640)
    (f,) = r.faces
    assert f.decision == "LIVE" and f.reason is None and f.score == pytest.approx(0.9)
    assert f.cues["fake"] == 0.9 and f.cues["passive"] == 0.9 and f.cues["blink"] is None
    assert f.track_id is None and f.blink_count == 0 and f.blinks == ()
    assert f.ear is None  # single images skip the eye model (Config.eyes_on_detection)
    assert f.keypoints.shape == (5, 2)
    q = f.quality
    assert q["size"] > 100 and q["blur"] > 100 and 40 < q["brightness"] < 220
    assert abs(q["yaw"]) < 20 and abs(q["roll"]) < 10
    assert {"detect", "landmarks", "passive", "total"} <= set(r.timings)
    assert r.timings["total"] >= r.timings["detect"]
    d = json.loads(json.dumps(r.to_dict()))
    assert d["faces"][0]["decision"] == "LIVE" and d["decision"] == "LIVE"
    assert det.threshold == 0.5
    # with the eye model on detection frames a single image reports its EAR, same decision
    det_eyes = LivenessDetector(Config(eyes_on_detection=True), passive=FakeScorer(0.9))
    (fe,) = det_eyes.score_frame(frame).faces
    assert 0.15 < fe.ear < 0.45 and fe.decision == "LIVE" and fe.box == f.box


def test_threshold_and_operating_points(frame):
    assert LivenessDetector(Config(operating_point="secure"),
                            passive=FakeScorer(0.6)).score_frame(frame).decision == "SPOOF"
    assert LivenessDetector(Config(operating_point="convenience"),
                            passive=FakeScorer(0.6)).score_frame(frame).decision == "LIVE"
    det = LivenessDetector(Config(threshold=0.65), passive=FakeScorer(0.6))
    assert det.threshold == 0.65
    r = det.score_frame(frame)
    assert r.decision == "SPOOF" and r.faces[0].reason == "score below threshold"


def test_no_face_is_normal(frame):
    det = LivenessDetector(passive=FakeScorer(0.9))
    r = det.score_frame(np.full((480, 640, 3), 100, np.uint8))
    assert r.faces == [] and r.decision == "UNCERTAIN" and r.reason == "no face"
    assert math.isnan(r.score)
    json.dumps(r.to_dict())


def test_without_passive_model_never_live(frame):
    det = LivenessDetector(passive=None)
    s = det.new_session()
    for i in range(5):
        r = det.score_frame(frame, session=s, timestamp=i / 10)
    f = r.faces[0]
    assert f.decision == "UNCERTAIN" and f.reason == "no passive model"
    assert math.isnan(f.score) and "fake" not in f.cues and f.cues["passive"] is None
    assert math.isnan(det.threshold)
    assert json.loads(json.dumps(r.to_dict()))["faces"][0]["score"] is None


def test_shipped_models_end_to_end(data_dir):
    """With fastlive's own passive models shipped: real scores on real frames; without them:
    one warning and UNCERTAIN('no passive model')."""
    img = cv2.imread(str(data_dir / LIVE))
    if registry.shipped_manifest().get("models"):
        det = LivenessDetector()
        f = det.score_frame(img).faces[0]
        assert 0.0 <= f.score <= 1.0
        # every shipped network's own P(live), and the fused one
        names = det.passive.cue_names
        assert names and all(0.0 <= f.cues[k] <= 1.0 for k in (*names, "passive"))
        assert f.decision in ("LIVE", "SPOOF", "UNCERTAIN")
    else:
        with pytest.warns(RuntimeWarning, match="passive liveness models unavailable"):
            det = LivenessDetector()
        f = det.score_frame(img).faces[0]
        assert f.decision == "UNCERTAIN" and f.reason == "no passive model"


@pytest.mark.parametrize(
    "bad, exc",
    [(None, TypeError), ("img.jpg", TypeError), (np.zeros((480, 640, 3), np.float32), TypeError),
     (np.zeros((0, 640, 3), np.uint8), ValueError), (np.zeros((480, 640), np.uint8), ValueError),
     (np.zeros((1, 480, 640, 3), np.uint8), ValueError)],
)
def test_bad_frames_raise_naming_the_argument(bad, exc):
    det = LivenessDetector(passive=FakeScorer(0.9))
    with pytest.raises(exc, match="frame"):
        det.score_frame(bad)
    with pytest.raises(exc, match="face_bgr"):
        det.score_face(bad)


def test_other_layouts_with_explicit_color(frame):
    det = LivenessDetector(passive=FakeScorer(0.9))
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert len(det.score_frame(gray, color="gray").faces) == 1
    bgra = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    ref = det.score_frame(frame)
    r = det.score_frame(bgra, color="bgra")
    assert r.faces[0].box == ref.faces[0].box
    rgb = np.ascontiguousarray(frame[:, :, ::-1])
    assert det.score_frame(rgb, color="rgb").faces[0].box == ref.faces[0].box


def test_row_strided_frame_gives_the_same_result(frame):
    det = LivenessDetector(passive=FakeScorer())
    big = np.zeros((600, 800, 3), np.uint8)
    big[50:530, 100:740] = frame
    view = big[50:530, 100:740]
    assert not view.flags.c_contiguous
    a, b = det.score_frame(view).faces[0], det.score_frame(frame).faces[0]
    assert a.box == b.box and a.score == b.score and a.ear == b.ear


def test_stream_accumulates_evidence(clip_frames):
    frames, ts = clip_frames
    scorer = FakeScorer(0.9)
    det = LivenessDetector(Config(passive_interval_s=0.1, min_frames=3), passive=scorer)
    s = det.new_session()
    rs = [det.score_frame(fr, session=s, timestamp=t) for fr, t in zip(frames, ts)]
    assert rs[0].faces[0].reason == "not enough frames yet"
    assert rs[-1].faces[0].decision == "LIVE"
    assert scorer.calls < len(frames) / 2  # passive models every 0.1 s, not every frame
    assert len({r.faces[0].track_id for r in rs}) == 1
    assert rs[-1].faces[0].cues["smoothed"] == pytest.approx(0.9)


def test_static_photo_stream_is_never_live(frame):
    """A static image repeated: no blink, no motion, no lift, and a frozen feed."""
    det = LivenessDetector(Config(threshold=0.5), passive=FakeScorer(0.47))
    s = det.new_session()
    for i in range(60):
        r = det.score_frame(frame, session=s, timestamp=i / 30)
        assert r.faces[0].decision != "LIVE"
    f = r.faces[0]
    assert f.cues["blink"] == 0.0 and f.cues["motion"] < 1e-6 and f.blink_count == 0
    assert f.score == pytest.approx(0.47) and f.cues["temporal_lift"] < 1e-9
    assert f.decision == "UNCERTAIN" and f.reason == "frozen stream (repeated frames)"


def test_jittered_photo_with_a_high_passive_score_waits_for_a_blink(frame):
    """Sensor noise defeats the frozen check; with require_blink the missing blink still
    blocks LIVE (by default the passive decision stands: docs/security.md)."""
    det = LivenessDetector(Config(require_blink=True), passive=FakeScorer(0.95))
    s = det.new_session()
    rng = np.random.default_rng(0)
    for i in range(45):
        noisy = np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)
        r = det.score_frame(noisy, session=s, timestamp=i / 15)
        assert r.faces[0].decision != "LIVE"
    assert r.faces[0].reason == "no blink yet"


def test_looped_video_is_flagged(clip_frames):
    frames, ts = clip_frames
    det = LivenessDetector(passive=FakeScorer(0.95))
    s = det.new_session()
    loop = frames[:20]
    rs = [det.score_frame(fr, session=s, timestamp=i / 30) for i, fr in enumerate(loop * 3)]
    assert all(r.faces[0].reason == "looped video (repeated frames)" for r in rs[20:])
    assert all(r.faces[0].reason != "looped video (repeated frames)" for r in rs[:20])


def test_threads_with_separate_sessions_match_serial(clip_frames):
    frames, ts = clip_frames
    det = LivenessDetector(Config(redetect_every=4), passive=FakeScorer())

    def run(out, idx):
        s = det.new_session()
        out[idx] = [det.score_frame(fr, session=s, timestamp=t).to_dict()
                    for fr, t in zip(frames, ts)]

    serial: dict[int, list] = {}
    run(serial, 0)
    par: dict[int, list] = {}
    threads = [threading.Thread(target=run, args=(par, i)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    def strip(rs):
        for r in rs:
            r.pop("timings")
            r.pop("timestamp")
        return rs

    ref = strip(serial[0])
    for i in range(3):
        assert strip(par[i]) == ref


def test_score_face_on_crops(frame):
    det = LivenessDetector(passive=FakeScorer(0.8))
    x, y, w, h = (int(v) for v in det.detector.detect(frame)[0].box)
    crop = frame[max(0, y - 30):y + h + 30, max(0, x - 30):x + w + 30]
    r = det.score_face(crop)
    assert len(r.faces) == 1 and r.faces[0].decision == "LIVE"
    assert r.faces[0].detector == "yunet"
    # no face in a blank image: nothing is scored (tests/test_face_presence.py)
    blank = det.score_face(np.full((120, 100, 3), 128, np.uint8))
    assert blank.faces == [] and blank.reason == "no face" and blank.decision == "UNCERTAIN"
    # unless the caller vouches for the crop (Config.assume_face / assume_face=)
    whole = det.score_face(np.full((120, 100, 3), 128, np.uint8), assume_face=True)
    assert whole.faces[0].detector == "whole" and whole.faces[0].box == (0.0, 0.0, 100.0, 120.0)
    assert whole.faces[0].ear is None
    s = det.new_session()
    ids = {det.score_face(crop, session=s, timestamp=i / 10).faces[0].track_id for i in range(4)}
    assert ids == {1}


def _same(a, b) -> bool:
    """Two results alike but for timings."""
    da, db = a.to_dict(), b.to_dict()
    da.pop("timings")
    db.pop("timings")
    return da == db


@pytest.fixture()
def default_det(monkeypatch):
    det = LivenessDetector(passive=FakeScorer())  # P(live): the face's mean brightness
    monkeypatch.setattr(api, "_default", det)
    return det


def test_module_level_single_images_never_mix(frame, data_dir, default_det):
    # fastlive.score_frame(image) is the single-image answer, whatever came before: photo B
    # after photo A is B's own result (not A's track, not "not enough frames yet"), and the
    # same photo five times is never a "frozen stream" (the package docstring's example).
    other = cv2.imread(str(data_dir / "nuaa/live/0002/0002_01_00_01_116.jpg"))
    assert other.shape == frame.shape
    ref_a, ref_b = default_det.score_frame(frame), default_det.score_frame(other)
    assert abs(ref_a.score - ref_b.score) > 0.01
    ra = fastlive.score_frame(frame)
    rb = fastlive.score_frame(other)
    assert _same(ra, ref_a) and _same(rb, ref_b)
    assert rb.faces[0].track_id is None and rb.faces[0].reason != "not enough frames yet"
    for _ in range(5):
        r = fastlive.score_frame(frame)
        assert _same(r, ref_a) and r.faces[0].reason != "frozen stream (repeated frames)"
    assert default_det.default_session.frame_index == 0  # no stream was touched
    r3 = fastlive.score_face(frame)
    assert r3.faces[0].track_id is None


def test_module_level_capture_loop_uses_a_default_stream(frame, default_det):
    r1 = fastlive.score_frame(frame, timestamp=0.0)
    r2 = fastlive.score_frame(frame, timestamp=0.1)
    assert r1.faces[0].track_id == r2.faces[0].track_id == 1
    assert r2.frame_index == 1 and not r2.detected
    assert r2.faces[0].reason == "not enough frames yet"


def test_module_level_second_video_starts_a_new_stream(clip_frames, frame, default_det):
    # The README's capture loop over two videos: the second one's timestamps start again at 0
    # (before: "timestamp: must increase strictly"); a frame of another size (another camera)
    # starts a new stream too.
    frames, ts = clip_frames
    for fr, t in zip(frames[:6], ts[:6]):
        r = fastlive.score_frame(fr, timestamp=t)
    assert r.frame_index == 5
    r = fastlive.score_frame(frames[10], timestamp=0.0)
    assert r.frame_index == 0 and r.detected and r.faces[0].reason == "not enough frames yet"
    r = fastlive.score_frame(frames[11], timestamp=0.04)
    assert r.frame_index == 1
    assert frames[0].shape != frame.shape
    r = fastlive.score_frame(frame, timestamp=0.08)  # another size, time going on
    assert r.frame_index == 0 and r.detected and r.timestamp == 0.08
    assert default_det.default_session.frame_shape == frame.shape[:2]


def test_module_level_repeated_timestamp_says_how_to_start_a_stream(frame, default_det):
    fastlive.score_frame(frame, timestamp=1.0)
    with pytest.raises(ValueError, match=r"timestamp.*fastlive\.reset\(\)"):
        fastlive.score_frame(frame, timestamp=1.0)
    with pytest.raises(TypeError, match="timestamp"):
        fastlive.score_frame(frame, timestamp="1.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timestamp"):
        fastlive.score_frame(frame, timestamp=float("inf"))
    assert fastlive.score_frame(frame, timestamp=1.1).frame_index == 1
    fastlive.reset()
    r = fastlive.score_frame(frame, timestamp=5.0)
    assert r.frame_index == 0 and r.faces[0].track_id == 1
    assert "reset" in fastlive.__all__ and fastlive.reset is api.reset


def test_haar_pipeline_without_keypoints(frame):
    if not haar_available():
        pytest.skip("this OpenCV ships no Haar cascades (5.x)")
    det = LivenessDetector(passive=FakeScorer(0.9), detector=FaceDetector("haar"))
    s = det.new_session()
    r = det.score_frame(frame, session=s, timestamp=0.0)
    f = r.faces[0]
    assert f.keypoints is None and f.quality["yaw"] is None
    # the eyes are looked for where they sit in a Haar box (landmarks.HAAR_EYES) and found
    assert f.ear is not None and 0.15 < f.ear < 0.5


def test_constructor_validation():
    with pytest.raises(TypeError, match="config"):
        LivenessDetector({"threshold": 0.5})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="passive"):
        LivenessDetector(passive=object())
    with pytest.raises(TypeError, match="detector"):
        LivenessDetector(passive=None, detector=object())  # type: ignore[arg-type]


def test_offline_without_models_falls_back_with_one_warning(frame, monkeypatch, tmp_path):
    monkeypatch.delenv("FASTLIVE_MODEL_DIR", raising=False)
    monkeypatch.setenv("FASTLIVE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FASTLIVE_OFFLINE", "1")
    if not haar_available():
        with pytest.raises(registry.ModelNotFoundError, match="install"):
            LivenessDetector(passive=FakeScorer(0.9))
        return
    with pytest.warns(RuntimeWarning) as rec:
        det = LivenessDetector(passive=FakeScorer(0.9))
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "Haar" in msg and "fastlive models install" in msg
    # fastlive's eye network ships in the package: eyes (and blinks) work offline
    assert "fastlive's eye network instead of MediaPipe's" in msg
    assert det.landmarker is not None and det.detector.backend == "haar"
    f = det.score_frame(frame).faces[0]
    assert f.ear is None and f.keypoints is None and f.decision == "LIVE"  # a single image
    r = det.score_frame(frame, session=det.new_session(), timestamp=0.0)
    assert r.faces[0].ear is not None and 0.15 < r.faces[0].ear < 0.5
