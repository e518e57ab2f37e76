"""fastlive.session: timestamps, per-stream state, blinks through the pipeline, bounded memory."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive.api import LivenessDetector
from fastlive.config import Config
from fastlive.evaluate import blinks_zju as blinks
from fastlive.session import ReplayGuard, Session


@pytest.fixture(scope="module")
def det():
    return LivenessDetector(passive=None)


@pytest.fixture(scope="module")
def face_frame(data_dir):
    return cv2.imread(str(data_dir / "nuaa/live/0001/0001_00_00_01_0.jpg"))


def test_timestamps_must_increase(det, face_frame):
    s = det.new_session()
    det.score_frame(face_frame, session=s, timestamp=1.0)
    with pytest.raises(ValueError, match="timestamp.*increase"):
        det.score_frame(face_frame, session=s, timestamp=1.0)
    with pytest.raises(ValueError, match="timestamp"):
        det.score_frame(face_frame, session=s, timestamp=float("nan"))
    with pytest.raises(TypeError, match="timestamp"):
        det.score_frame(face_frame, session=s, timestamp="2.0")  # type: ignore[arg-type]
    r = det.score_frame(face_frame, session=s, timestamp=2.0)
    assert r.timestamp == 2.0 and r.frame_index == 1
    s.reset()
    assert s.frame_index == 0 and s.last_timestamp is None and s.tracks == []
    det.score_frame(face_frame, session=s, timestamp=0.5)  # a new stream may start anywhere


def test_session_clock_when_no_timestamp(det, face_frame):
    s = det.new_session()
    ts = [det.score_frame(face_frame, session=s).timestamp for _ in range(3)]
    assert ts[0] < ts[1] < ts[2]


def test_session_rejects_wrong_types(det, face_frame):
    with pytest.raises(TypeError, match="session"):
        det.score_frame(face_frame, session=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config"):
        Session(config={"redetect_every": 3})  # type: ignore[arg-type]


def test_tracked_frames_between_detections(face_frame):
    det = LivenessDetector(Config(redetect_every=5), passive=None)
    s = det.new_session()
    rs = [det.score_frame(face_frame, session=s, timestamp=i / 30) for i in range(11)]
    assert [r.detected for r in rs] == [i % 5 == 0 for i in range(11)]
    assert {r.faces[0].track_id for r in rs} == {1}
    assert all(r.faces[0].tracked != r.detected for r in rs)
    assert all("detect" not in r.timings for r in rs if not r.detected)
    box0 = np.array(rs[0].faces[0].box)
    for r in rs[1:]:
        assert np.abs(np.array(r.faces[0].box) - box0).max() < 5  # a still face stays put


def test_face_leaving_triggers_redetection(face_frame):
    det = LivenessDetector(Config(redetect_every=100), passive=None)
    s = det.new_session()
    det.score_frame(face_frame, session=s, timestamp=0.0)
    det.score_frame(face_frame, session=s, timestamp=0.1)
    empty = np.full_like(face_frame, 90)
    r = det.score_frame(empty, session=s, timestamp=0.2)
    assert r.detected and r.faces == [] and r.decision == "UNCERTAIN" and r.reason == "no face"
    r = det.score_frame(face_frame, session=s, timestamp=0.3)
    assert r.detected and len(r.faces) == 1


def test_blinks_counted_in_a_real_clip(det, data_dir):
    clip = next(c for c in blinks.find_clips(data_dir) if c.name == "000003M_UNN")
    frames, ts, _ = blinks.read_video(clip.video)
    s = det.new_session()
    counts = []
    for i, (fr, t) in enumerate(zip(frames, ts)):
        measure = bool(s.tracks) and (s.tracks[0].refresh or s.tracks[0].blink.is_closed)
        r = det.score_frame(fr, session=s, timestamp=t)
        counts.append(r.faces[0].blink_count)
        # re-detection frames skip the eye model (Config.eyes_on_detection=False), except in
        # the middle of a closure or when an eye was lost on the previous frame
        assert (r.faces[0].ear is None) == (r.detected and i > 0 and not measure)
    n_truth = len(blinks.truth_events(clip.tag))
    assert counts[-1] == s.blink_count() == n_truth == 5
    assert counts == sorted(counts)  # counts only go up
    last = r.faces[0]
    assert len(last.blinks) == 5
    assert all(0.03 <= b.duration_s <= 0.7 for b in last.blinks)


def test_memory_is_bounded_over_a_long_stream(face_frame):
    det = LivenessDetector(Config(max_events=4, redetect_every=3), passive=None)
    s = det.new_session()
    shifted = np.roll(face_frame, 200, axis=1)
    for i in range(120):
        # alternate positions so tracks are created, lost and expired over and over
        fr = face_frame if (i // 9) % 2 == 0 else shifted
        det.score_frame(fr, session=s, timestamp=i * 0.2)
    assert len(s.tracker.tracks) <= 4 * det.config.max_faces
    assert s.tracker.next_id > 5  # many tracks came and went
    for tr in s.tracker.tracks:
        assert len(tr.poses) <= tr.poses.maxlen
        assert len(tr.blink.events) <= 4
    assert len(s.tracker.archived_events) <= s.tracker.archived_events.maxlen


def test_blink_timing_does_not_depend_on_the_frame_rate(det, data_dir):
    """Every 2nd frame (15 fps): the same blinks at the same times (timestamps, not indices)."""
    # (000006M_FTN: six blinks, none closer to the next than two frames at 15 fps)
    clip = next(c for c in blinks.find_clips(data_dir) if c.name == "000006M_FTN")
    frames, ts, _ = blinks.read_video(clip.video)
    events = []
    for step in (1, 2):
        s = det.new_session()
        for fr, t in list(zip(frames, ts))[::step]:
            det.score_frame(fr, session=s, timestamp=t)
        events.append(s.blink_events())
    full, half = events
    assert len(full) == len(half) == len(blinks.truth_events(clip.tag)) == 6
    for (a0, a1), (b0, b1) in zip(full, half):
        assert abs(a0 - b0) < 0.1 and abs(a1 - b1) < 0.1
        assert 0.1 < a1 - a0 < 0.5


def test_replay_guard_frozen_and_looped_frames():
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(6)]
    g = ReplayGuard(frozen_frames=3, window=8, hold_s=1.0)
    assert [g.check(f, i * 0.1) for i, f in enumerate(frames)] == [None] * 6
    # a repeat right after itself (a doubled frame) is tolerated up to frozen_frames - 1 times
    assert g.check(frames[5], 0.6) is None and g.check(frames[5], 0.7) is None
    assert g.check(frames[5], 0.8) == "frozen stream (repeated frames)"
    # frames[4] is still in the 8-frame window: it came back, a loop
    assert g.check(frames[4], 0.9) == "looped video (repeated frames)"
    assert g.check(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), 1.5) == \
        "looped video (repeated frames)"  # held for hold_s
    new = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    assert g.check(new, 2.0) is None  # hold expired
    assert g.check(frames[0], 2.1) is None  # frames[0] left the window long ago
    assert len(g._counts) <= 8 and len(g._order) <= 8


def test_a_new_frame_size_redetects_and_ends_the_tracks(face_frame):
    # The same face at the same place in a frame of another size (a camera switching
    # resolution, a crop of the frame): before, the session "tracked" the old box onto it with
    # the eye model. Now it detects afresh and starts a new track; the blinks of the ended
    # tracks stay in the session's totals.
    det = LivenessDetector(Config(redetect_every=10), passive=None)
    s = det.new_session()
    r0 = det.score_frame(face_frame, session=s, timestamp=0.0)
    r1 = det.score_frame(face_frame, session=s, timestamp=0.1)
    assert not r1.detected and r1.faces[0].track_id == r0.faces[0].track_id == 1
    smaller = face_frame[:400, :560]  # the face where it was, the frame smaller
    r2 = det.score_frame(smaller, session=s, timestamp=0.2)
    assert r2.detected and r2.shape == (400, 560)
    assert r2.faces[0].track_id == 2 and [t.track_id for t in s.tracks] == [2]
    ref = det.detector.detect(smaller)[0]
    assert np.allclose(r2.faces[0].box, ref.box)
    r3 = det.score_frame(smaller, session=s, timestamp=0.3)
    assert not r3.detected and r3.faces[0].track_id == 2  # followed again at the new size
    r4 = det.score_frame(face_frame, session=s, timestamp=0.4)  # and back
    assert r4.detected and r4.faces[0].track_id == 3
    assert s.frame_index == 5 and s.last_timestamp == 0.4  # one timeline all along


def test_a_crop_box_is_not_tracked_onto_a_frame(face_frame):
    # score_face then score_frame in one session: the crop's box means nothing in the frame
    det = LivenessDetector(Config(redetect_every=10), passive=None)
    face = det.detector.detect(face_frame)[0]
    x, y, w, h = (int(v) for v in face.box)
    crop = face_frame[max(0, y - 20):y + h + 20, max(0, x - 20):x + w + 20]
    s = det.new_session()
    rc = det.score_face(crop, session=s, timestamp=0.0)
    assert rc.faces[0].track_id == 1
    rf = det.score_frame(face_frame, session=s, timestamp=0.1)
    assert rf.detected and rf.faces[0].track_id == 2
    assert np.allclose(rf.faces[0].box, face.box)


def test_a_score_face_stream_keeps_its_track_across_crop_sizes(face_frame):
    # crops of a tracked face vary in size from frame to frame: one track, matched by overlap
    det = LivenessDetector(passive=None)
    x, y, w, h = (int(v) for v in det.detector.detect(face_frame)[0].box)
    s = det.new_session()
    ids = []
    for i, m in enumerate((20, 24, 18, 22)):
        crop = face_frame[max(0, y - m):y + h + m, max(0, x - m):x + w + m]
        ids.append(det.score_face(crop, session=s, timestamp=i / 10).faces[0].track_id)
    assert ids == [1, 1, 1, 1]


def test_end_tracks_keeps_the_blink_totals(det, data_dir):
    clip = next(c for c in blinks.find_clips(data_dir) if c.name == "000003M_UNN")
    frames, ts, _ = blinks.read_video(clip.video)
    s = det.new_session()
    for fr, t in zip(frames, ts):
        det.score_frame(fr, session=s, timestamp=t)
    n = s.blink_count()
    ev = s.blink_events()
    assert n == 5
    s.end_tracks()
    assert s.tracks == [] and s.blink_count() == n and s.blink_events() == ev
    r = det.score_frame(frames[0], session=s, timestamp=ts[-1] + 1)
    assert r.detected and r.faces[0].track_id == 2 and r.faces[0].blink_count == 0
