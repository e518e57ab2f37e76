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


def test_smoothing_is_frame_rate_independent():
    def run(fps):
        t = Track(1, (0, 0, 1, 1), None, "x", 0.0, 0.0, None)
        t.smooth(0.0, 0.0, 0.5)
        n = int(fps * 1.0)
        for i in range(1, n + 1):
            v = t.smooth(1.0, i / fps, 0.5)
        return v

    expected = 1 - np.exp(-1.0 / 0.5)
    assert run(10) == pytest.approx(expected, rel=1e-9)
    assert run(60) == pytest.approx(expected, rel=1e-9)
