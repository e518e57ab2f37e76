"""fastlive.landmarks: eye crops, the iris/eye-contour model on real frames, EAR."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from fastlive import kernels
from fastlive.detect import FaceDetector
from fastlive.landmarks import (
    CROP,
    EyeLandmarker,
    EyeROI,
    EyeSchedule,
    FaceMesh,
    eye_transform,
    measure_eyes,
    rois_from_keypoints,
)

CLIP = "zju_eyeblink/000002M_FNN.mp4"
OPEN_FRAMES = (45, 50, 55)  # decoded frame indices (eyes open, tag: no blink)
CLOSED_FRAMES = (67, 68)  # the blink annotated at frames 61-71 (closed 62-65), see blinks.py


@pytest.fixture(scope="module")
def frames(data_dir):
    cap = cv2.VideoCapture(str(data_dir / CLIP))
    out = []
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        out.append(fr)
    assert len(out) > 100
    return out


@pytest.fixture(scope="module")
def lm():
    return EyeLandmarker()


@pytest.fixture(scope="module")
def det():
    return FaceDetector()


def test_eye_transform_centres_and_mirrors():
    roi = EyeROI(100.0, 50.0, 20.0, 0.0)
    for mirror in (False, True):
        m = eye_transform(roi, mirror)
        c = m @ np.array([100.0, 50.0, 1.0])
        np.testing.assert_allclose(c, [(CROP - 1) / 2] * 2, atol=1e-9)
        right = m @ np.array([110.0, 50.0, 1.0])
        assert (right[0] > c[0]) != mirror  # mirrored: image right goes to crop left
        # the eye width covers CROP / EYE_CROP_SCALE crop pixels
        assert abs(right[0] - c[0]) * 2 == pytest.approx(CROP / 2.3)


def test_rois_from_keypoints_follow_the_eye_line():
    kp = np.array([[100, 100], [160, 130], [130, 140], [110, 170], [150, 180]], np.float32)
    a, b = rois_from_keypoints(kp)
    assert (a.cx, a.cy, b.cx, b.cy) == (100, 100, 160, 130)
    assert a.angle == pytest.approx(math.atan2(30, 60))
    assert a.width == pytest.approx(math.hypot(60, 30) * 0.45)


def _ear(lm, det, frame):
    face = det.detect(frame)[0]
    r = measure_eyes(lm, frame, rois_from_keypoints(face.keypoints))
    return r


def test_ear_separates_open_and_closed_eyes_on_a_real_clip(frames, lm, det):
    open_ = [_ear(lm, det, frames[i]).ear for i in OPEN_FRAMES]
    closed = [_ear(lm, det, frames[i]).ear for i in CLOSED_FRAMES]
    assert min(open_) > 0.22, open_
    assert max(closed) < 0.7 * min(open_), (open_, closed)


def test_contours_land_on_the_eyes(frames, lm, det):
    fr = frames[OPEN_FRAMES[0]]
    face = det.detect(fr)[0]
    r = measure_eyes(lm, fr, rois_from_keypoints(face.keypoints))
    iod = float(np.hypot(*(face.keypoints[1] - face.keypoints[0])))
    for e, kp in zip(r.eyes, face.keypoints[:2]):
        assert e is not None and np.isfinite(e.ear)
        assert np.hypot(*(e.iris - kp)) < 0.2 * iod  # iris centre near the detector's eye
        lo, hi = e.contour[:, 0].min(), e.contour[:, 0].max()
        assert lo < kp[0] < hi
    assert not r.lost
    # the eyes stay put on the next frame: the crops do not move (dead band)
    nxt = r.next_rois(rois_from_keypoints(face.keypoints))
    assert max(abs(n.cx - o.roi.cx) for n, o in zip(nxt, r.eyes)) < 0.3 * nxt[0].width + 1e-9


def test_one_eye_mode_and_lost_face(frames, lm, det):
    fr = frames[OPEN_FRAMES[0]]
    rois = rois_from_keypoints(det.detect(fr)[0].keypoints)
    left = measure_eyes(lm, fr, rois, "left")
    assert left.eyes[1] is None and left.eyes[0] is not None and left.ear == left.eyes[0].ear
    blank = np.full_like(fr, 127)
    assert measure_eyes(lm, blank, rois).lost


def test_eye_schedule_one_eye_per_frame_both_near_a_closure(frames, lm, det):
    sched = EyeSchedule()
    bt = kernels.BlinkTracker()
    rois = rois_from_keypoints(det.detect(frames[40])[0].keypoints)
    measured = []
    for i, idx in enumerate(range(40, 56)):  # eyes open
        r = sched.measure(lm, frames[idx], rois, bt)
        bt.update(i / 30, r.ear)
        measured.append(tuple(e is not None for e in r.eyes))
    assert measured[:2] == [(True, True)] * 2  # until each eye has two samples
    single = [m for m in measured[2:] if sum(m) == 1]
    assert len(single) >= 11
    assert single[0] != single[1]  # the eyes take turns
    assert 0.2 < bt.baseline < 0.4
    r = sched.measure(lm, frames[CLOSED_FRAMES[1]], rois, bt)  # closing: both eyes
    assert all(e is not None for e in r.eyes)
    assert r.ear < 0.7 * bt.baseline


def test_face_mesh_runs_and_lands_on_the_face(frames, det):
    fm = FaceMesh()
    fr = frames[OPEN_FRAMES[0]]
    face = det.detect(fr)[0]
    pts, presence = fm.run(fr, face.keypoints)
    assert pts.shape == (468, 3) and presence > 0.9
    x, y, w, h = face.box
    inside = ((pts[:, 0] > x - 0.2 * w) & (pts[:, 0] < x + 1.2 * w)
              & (pts[:, 1] > y - 0.3 * h) & (pts[:, 1] < y + 1.2 * h))
    assert inside.mean() > 0.95
    r, l_ = fm.ears(pts)
    assert 0.1 < r < 0.6 and 0.1 < l_ < 0.6


def test_bad_input_range():
    with pytest.raises(ValueError, match="input_range"):
        EyeLandmarker(input_range="0-255")
