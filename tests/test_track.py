"""fastlive.track: ids across frames, lost/expired tracks, bounded state."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive.detect import Face
from fastlive.track import Track, Tracker, iou


def _face(x, y, s=100.0):
    kp = np.array([[x + 30, y + 40], [x + 70, y + 40], [x + 50, y + 60], [x + 35, y + 80],
                   [x + 65, y + 80]], np.float32)
    return Face((x, y, s, s), 0.9, kp, "yunet")


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)


def test_ids_persist_while_faces_move_and_new_faces_get_new_ids():
    tr = Tracker()
    a, b = tr.update([_face(0, 0), _face(300, 0)], 0.0)
    assert (a.track_id, b.track_id) == (1, 2)
    a2, b2 = tr.update([_face(310, 5), _face(8, 4)], 0.1)  # order swapped, moved a little
    assert (a2.track_id, b2.track_id) == (2, 1)
    (c,) = tr.update([_face(600, 300)], 0.2)
    assert c.track_id == 3
    assert sorted(t.track_id for t in tr.active()) == [3]  # 1 and 2 are lost
    assert {t.track_id for t in tr.tracks} == {1, 2, 3}


def test_lost_track_comes_back_within_max_age_and_expires_after():
    tr = Tracker(max_age_s=1.0)
    (a,) = tr.update([_face(0, 0)], 0.0)
    tr.update([], 0.5)
    assert a.lost
    (a2,) = tr.update([_face(2, 2)], 0.9)
    assert a2 is a and not a.lost
    tr.update([], 1.5)
    tr.update([], 2.0)
    assert tr.tracks == []
    (b,) = tr.update([_face(0, 0)], 2.1)
    assert b.track_id == 2


def test_number_of_tracks_is_bounded():
    tr = Tracker(max_tracks=4, max_age_s=1e9)
    for i in range(50):
        tr.update([_face(1000.0 * i, 0)], float(i))
        assert len(tr.tracks) <= 4
    assert tr.tracks[-1].track_id == 50


def test_shift_moves_box_and_keypoints():
    f = _face(10, 20)
    t = Track(1, f.box, f.keypoints.copy(), "yunet", 0.0, 0.0, None)
    t.shift(np.array([3.0, -2.0]))
    assert t.box == (13.0, 18.0, 100.0, 100.0)
    np.testing.assert_allclose(t.keypoints, f.keypoints + np.float32([3, -2]))


def test_window_score_is_frame_rate_independent():
    """The window score is P(live) of the mean passive logit over the last window_s seconds,
    whatever the frame rate: one confident frame cannot outvote several moderate ones."""
    from fastlive.passive import PassiveScore

    def run(fps, logits):
        t = Track(1, (0, 0, 1, 1), None, "x", 0.0, 0.0, None)
        v = None
        for i in range(int(fps * 3)):
            z = logits[i % len(logits)]
            v = t.add_passive(PassiveScore(1 / (1 + np.exp(-z)), z, {}), i / fps, 1.0)
        return v, t

    for fps in (10, 30, 60):
        v, t = run(fps, [2.0, -1.0])  # alternating: the mean logit ~0.5 over any whole window
        assert v == pytest.approx(1 / (1 + np.exp(-0.5)), abs=0.04)
        assert t.window_score == v and t.passive_count == int(fps * 3)
    # only the last window counts: a long run of attacks, then a second of live frames
    t = Track(1, (0, 0, 1, 1), None, "x", 0.0, 0.0, None)
    for i in range(60):
        t.add_passive(PassiveScore.from_score(0.01), i / 30, 1.0)
    for i in range(60, 91):
        v = t.add_passive(PassiveScore.from_score(0.99), i / 30, 1.0)
    assert v == pytest.approx(0.99, abs=1e-6)
    # window 0: this score alone
    assert t.add_passive(PassiveScore.from_score(0.2), 4.0, 0.0) == pytest.approx(0.2)


def test_fast_motion_and_scale_changes_keep_the_track():
    """A face that moved half its size (IoU under track_iou) or doubled in size between
    detections is the same face; one two sizes away is not."""
    tr = Tracker()
    (a,) = tr.update([_face(100, 100)], 0.0)
    (b,) = tr.update([_face(150, 120)], 0.1)  # moved 0.54 face sizes: IoU 0.26
    assert iou(_face(100, 100).box, _face(150, 120).box) < tr.iou_threshold
    assert b is a
    (c,) = tr.update([_face(100, 90, 190.0)], 0.2)  # 1.9x the size: IoU 0.28
    assert c is a
    (d,) = tr.update([_face(600, 100, 190.0)], 0.3)  # 2.6 face sizes away: another face
    assert d is not a and a.lost


def test_gate_widens_while_a_track_is_unseen():
    tr = Tracker(max_age_s=2.0)
    (a,) = tr.update([_face(100, 100)], 0.0)
    tr.update([], 0.1)  # a detector miss: lost
    assert a.lost and tr.gate(a, 0.1) < tr.gate(a, 0.5) <= 1.5
    (b,) = tr.update([_face(200, 100)], 0.5)  # 1 face size away after 0.4 s unseen
    assert b is a and not a.lost


def test_a_followed_track_does_not_expire_between_detections():
    """At a low frame rate, redetect_every frames can span more than max_age_s: a track seen
    by its eyes in between is still the same track at the next detection (it used to expire
    and restart, so a 10 fps video split one face into a new track every second)."""
    tr = Tracker(max_age_s=1.0)
    (a,) = tr.update([_face(0, 0)], 0.0)
    for k in range(1, 10):  # followed by its eyes at 10 fps
        a.seen(k * 0.1)
    (b,) = tr.update([_face(3, 2)], 1.05)
    assert b is a and a.track_id == 1


def test_a_face_back_after_a_gap_in_the_stream_keeps_its_track():
    """No frame for 1.6 s (a cut or damaged video): the first detection after the gap matches
    the track before it expires."""
    tr = Tracker(max_age_s=1.0)
    (a,) = tr.update([_face(0, 0)], 0.0)
    (b,) = tr.update([_face(20, 10)], 1.6)
    assert b is a
    tr.update([], 1.7)
    tr.update([], 2.8)  # lost and unseen for 1.1 s: expired
    assert tr.tracks == []


def test_revive_keeps_a_track_its_eyes_still_find():
    tr = Tracker(max_age_s=1.0)
    (a,) = tr.update([_face(0, 0)], 0.0)
    tr.update([], 0.5)  # the detector missed it ...
    assert a.lost
    a.seen(0.5)  # ... but its eyes were found on this frame
    assert tr.revive(a, 0.5) and not a.lost
    tr.update([], 1.2)
    a.seen(1.2)
    assert not tr.revive(a, 1.2)  # no detection for 1.2 s: eyes alone do not keep it
