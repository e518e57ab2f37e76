"""YuNet's input sized to the tracked faces on a stream's re-detection frames (issue 25).

FaceDetector.detect(max_side=..., known=...) and LivenessDetector's choice of them:
re-detections of tracked faces search an input where the smallest tracked face is
Config.detect_track_px across; every Config.detect_full_every-th scheduled re-detection
searches the full Config.detect_max_side.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive.api import LivenessDetector
from fastlive.config import Config
from fastlive.detect import ORIENT_CHECK_BELOW, FaceDetector
from fastlive.track import iou


@pytest.fixture(scope="module")
def det():
    return FaceDetector()


def test_max_side_sets_yunets_input_for_one_call(det, frame):
    full = det.detect(frame)
    assert det._local.size == (320, 240)
    small = det.detect(frame, max_side=232)  # the face ~64 px across: Config.detect_track_px
    assert det._local.size == (232, 174)
    assert len(full) == len(small) == 1
    # the same face: boxes overlapping, eye keypoints within a tenth of the eye distance
    # (YuNet's keypoints move by a median 0.1 of it at this size: detect_size_report)
    assert iou(full[0].box, small[0].box) > 0.8
    iod = float(np.hypot(*(full[0].keypoints[1] - full[0].keypoints[0])))
    assert np.abs(full[0].keypoints[:2] - small[0].keypoints[:2]).max() < 0.1 * iod
    det.detect(frame)
    assert det._local.size == (320, 240)  # the detector's own max_side again


@pytest.mark.parametrize("bad", [0, 31, 64.0, True, "320"])
def test_max_side_must_be_an_int_of_32_or_more(det, frame, bad):
    with pytest.raises(ValueError, match="max_side: expected None or an int >= 32"):
        det.detect(frame, max_side=bad)


def test_a_smaller_input_loses_small_faces(det, frame):
    """What a sized search costs: a face about 20 px across in a 640x480 frame (10 px in the
    320 px input) is found at the full size and missed when the input is sized to a 200 px face
    at 64 px (a 205 px input: the small face is 6-7 px there)."""
    small = cv2.resize(frame, None, fx=0.13, fy=0.13, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[200:200 + small.shape[0], 300:300 + small.shape[1]] = small
    assert len(det.detect(canvas)) == 1
    assert det.detect(canvas, max_side=205) == []


def test_known_upright_faces_skip_the_orientation_check(data_dir):
    """A sideways phone crop in which YuNet finds a false upright face (score below
    ORIENT_CHECK_BELOW): the orientation check turns it; passed as a known upright face (a
    face already tracked upright), it is returned as YuNet found it."""
    img = cv2.imread(str(data_dir / "selfrecorded/saikan45/live/10.jpg"))
    plain = FaceDetector(orientation_check=False).detect(img)[0]
    assert plain.score < ORIENT_CHECK_BELOW
    checker = FaceDetector()
    turned = checker.detect(img)[0]
    assert turned.keypoints.tolist() != plain.keypoints.tolist()
    kept = checker.detect(img, known=[plain.box])[0]
    assert kept.keypoints.tolist() == plain.keypoints.tolist()
    # a known box elsewhere does not skip it
    far = (plain.box[0] + 3 * plain.box[2], plain.box[1], plain.box[2], plain.box[3])
    assert checker.detect(img, known=[far])[0].keypoints.tolist() == turned.keypoints.tolist()


class _Spy:
    """A FaceDetector that records the max_side of each detect call."""

    def __init__(self, inner):
        self.inner = inner
        self.backend = inner.backend
        self.calls = []

    def detect(self, frame, **kw):
        self.calls.append(kw.get("max_side"))
        return self.inner.detect(frame, **kw)

    def detect_in_crop(self, *a, **kw):
        return self.inner.detect_in_crop(*a, **kw)


def _stream(frame, cfg, n):
    spy = _Spy(FaceDetector())
    det = LivenessDetector(cfg, passive=None, detector=spy)
    s = det.new_session()
    res = [det.score_frame(frame, session=s, timestamp=i / 30) for i in range(n)]
    return spy.calls, res


def test_stream_redetections_are_sized_to_the_tracked_face(frame):
    """redetect_every=5, detect_full_every=3: frame 0 searches the full input (nothing tracked
    yet), frames 5 and 10 an input sized so the tracked face is 64 px, frame 15 the full input
    again. One track throughout."""
    calls, res = _stream(frame, Config(redetect_every=5, detect_full_every=3,
                                              detect_track_px=64), 16)
    assert [r.frame_index for r in res if r.detected] == [0, 5, 10, 15]
    face = res[0].faces[0]
    side = int(round(640 * 64 / np.sqrt(face.box[2] * face.box[3])))
    assert calls[0] is None and calls[3] is None
    assert 100 < calls[1] < 320 and abs(calls[1] - side) <= 4
    assert abs(calls[2] - calls[1]) <= 10  # sized to the box found on frame 5
    assert {f.track_id for r in res for f in r.faces} == {1}
    assert all(len(r.faces) == 1 for r in res)


@pytest.mark.parametrize("cfg", [Config(redetect_every=5, detect_track_px=None),
                                 Config(redetect_every=5, detect_full_every=1)])
def test_sizing_off(frame, cfg):
    calls, _ = _stream(frame, cfg, 11)
    assert calls == [None, None, None]


def test_single_images_always_search_the_full_input(frame):
    spy = _Spy(FaceDetector())
    det = LivenessDetector(Config(), passive=None, detector=spy)
    for _ in range(3):
        det.score_frame(frame)
    assert spy.calls == [None] * 3


@pytest.mark.parametrize("bad", [8, 15, 32.0, True])
def test_config_detect_track_px(bad):
    with pytest.raises(ValueError, match="detect_track_px"):
        Config(detect_track_px=bad)
    with pytest.raises(ValueError, match="detect_full_every"):
        Config(detect_full_every=0)
