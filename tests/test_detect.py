"""fastlive.detect: YuNet with keypoints on real frames, Haar fallback, crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive import registry
from fastlive.detect import FaceDetector, _unrotate_points, haar_available

LIVE = "nuaa/live/0001/0001_00_00_01_0.jpg"


@pytest.fixture(scope="module")
def det():
    return FaceDetector()


def test_yunet_finds_the_face_with_keypoints(det, frame):
    assert det.backend == "yunet"
    faces = det.detect(frame)
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = f.box
    assert 60 < w < 400 and 60 < h < 400
    assert f.keypoints.shape == (5, 2) and f.keypoints.dtype == np.float32
    inside = ((f.keypoints[:, 0] > x) & (f.keypoints[:, 0] < x + w)
              & (f.keypoints[:, 1] > y) & (f.keypoints[:, 1] < y + h))
    assert inside.all()
    assert f.keypoints[0, 0] < f.keypoints[1, 0]  # subject's right eye on the image's left
    assert f.keypoints[2, 1] > f.keypoints[0, 1]  # nose below the eyes


def test_all_faces_largest_first(det, frame):
    small = cv2.resize(frame, None, fx=0.5, fy=0.5)
    canvas = np.zeros((480, 1000, 3), np.uint8)
    canvas[:, :640] = frame
    canvas[100:340, 700:1020 - 20] = small[:, :300]
    faces = det.detect(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].box[0] < 640 <= faces[1].box[0] + faces[1].box[2]


def test_no_face_is_an_empty_list(det):
    assert det.detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_detect_in_crop(det, frame):
    x, y, w, h = (int(v) for v in det.detect(frame)[0].box)
    crop = frame[max(0, y - 10):y + h + 10, max(0, x - 10):x + w + 10]
    f = det.detect_in_crop(crop)
    assert f.detector == "yunet" and f.keypoints is not None
    assert det.detect_in_crop(np.full((100, 80, 3), 200, np.uint8)) is None  # no face in it
    blank = det.detect_in_crop(np.full((100, 80, 3), 200, np.uint8), assume_face=True)
    assert blank.detector == "whole" and blank.box == (0.0, 0.0, 80.0, 100.0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_unrotate_points_maps_a_turned_pixel_back(k):
    img = np.zeros((7, 11), np.uint8)
    img[2, 9] = 255  # x=9, y=2
    yr, xr = np.argwhere(np.rot90(img, k) == 255)[0]
    back = _unrotate_points(np.float32([[xr + 0.5, yr + 0.5]]), k, 11, 7)
    np.testing.assert_allclose(back, [[9.5, 2.5]])


@pytest.mark.parametrize("path", ["selfrecorded/saikan45/live/6.jpg",
                                  "selfrecorded/jtboing/live/343.jpg"])
def test_detect_in_crop_turns_a_sideways_face_upright(det, data_dir, path):
    # Self-recorded crops of a phone held sideways: the upright search finds no face, a quarter
    # turn does, and its keypoints (mapped back) make the aligned crop upright: YuNet scores it
    # higher as it is than turned by 90, 180 or 270 degrees.
    img = cv2.imread(str(data_dir / path))
    assert det.detect(img) == []
    f = det.detect_in_crop(img)
    assert f.detector == "yunet" and f.keypoints is not None
    crop = _aligned(img, f)
    plain = FaceDetector(orientation_check=False)  # raw YuNet scores of each turn
    scores = [(r[0].score if (r := plain.detect(np.ascontiguousarray(np.rot90(crop, k)),
                                                pad=0.25)) else 0.0) for k in range(4)]
    assert scores[0] > max(scores[1:]), scores


def _aligned(img, face) -> np.ndarray:
    """The face brought upright by its 5 keypoints (fastlive.align), 160 px with context."""
    from fastlive import align

    m = align.keypoint_transform(face.keypoints.astype(np.float64), 160, 1.25)
    return cv2.warpAffine(img, m, (160, 160), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _roll(face) -> float:
    """Angle of the eye line (right eye -> left eye keypoint), degrees: about 0 upright."""
    d = face.keypoints[1] - face.keypoints[0]
    return float(np.degrees(np.arctan2(d[1], d[0])))


@pytest.mark.parametrize("path", ["selfrecorded/saikan45/live/10.jpg",
                                  "selfrecorded/jtboing/live/195.jpg"])
def test_orientation_check_turns_a_false_upright_face(data_dir, path):
    # Sideways phone crops in which YuNet finds an "upright" face made of the sideways one (low
    # score, keypoints level): the orientation check finds it a quarter turn away, scored
    # higher, with keypoints along the real face (eye line vertical), so the aligned crop is
    # upright: YuNet scores it higher as it is than turned by 90, 180 or 270 degrees.
    img = cv2.imread(str(data_dir / path))
    plain = FaceDetector(orientation_check=False).detect(img)[0]
    assert plain.score < 0.85 and abs(_roll(plain)) < 30
    checker = FaceDetector()
    f = checker.detect(img)[0]
    assert f.score > plain.score + 0.05 and 60 < abs(_roll(f)) < 120
    assert checker.detect_in_crop(img).keypoints.tolist() == f.keypoints.tolist()
    crop = _aligned(img, f)
    plain_det = FaceDetector(orientation_check=False)  # raw YuNet scores of each turn
    scores = [(r[0].score if (r := plain_det.detect(np.ascontiguousarray(np.rot90(crop, k)),
                                                    pad=0.25)) else 0.0) for k in range(4)]
    assert scores[0] > max(scores[1:]), scores


def test_orientation_check_turns_a_sideways_print_in_a_frame(det, data_dir):
    # A NUAA print frame turned a quarter turn: YuNet alone finds a false upright face in it
    # (tests/test_attacks.py, rot90); with the check the keypoints lie along the sideways face.
    img = np.ascontiguousarray(np.rot90(cv2.imread(
        str(data_dir / "nuaa/spoof/0001/0001_00_04_03_0.jpg")), 1))
    plain = FaceDetector(orientation_check=False).detect(img)
    assert plain and abs(_roll(plain[0])) < 30
    f = det.detect(img)[0]
    assert 60 < abs(_roll(f)) < 120
    x, y, w, h = f.box
    assert ((f.keypoints >= [x, y]) & (f.keypoints <= [x + w, y + h])).all()


def test_orientation_check_turns_an_upside_down_face(det, frame):
    # YuNet finds an upside-down face as if it were upright (keypoints level and "upright", on
    # the wrong features), scored lower; the check finds it upside down (eye line reversed).
    img = np.ascontiguousarray(frame[::-1, ::-1])
    plain = FaceDetector(orientation_check=False).detect(img)[0]
    assert plain.score < 0.9 and abs(_roll(plain)) < 30
    f = det.detect(img)[0]
    assert f.score >= 0.85 and abs(_roll(f)) > 150
    # its eyes are now below its mouth in the image, where they are in the turned frame
    assert f.keypoints[:2, 1].mean() > f.keypoints[3:, 1].mean()


def test_orientation_check_does_not_promote_a_turned_false_face(det, data_dir):
    # A NUAA print frame with a second, false detection (score 0.61) next to the face (0.94):
    # turned upside down in its region it scores 0.76 as a larger "face", which must not
    # replace it (ORIENT_MIN_SCORE) and so become the largest face of the frame.
    img = cv2.imread(str(data_dir / "nuaa/spoof/0015/0015_01_03_03_107.jpg"))
    plain = FaceDetector(orientation_check=False).detect(img)
    faces = det.detect(img)
    assert [f.box for f in faces] == [f.box for f in plain]
    assert faces[0].score > 0.9


def test_orientation_check_leaves_upright_faces_alone(det, frame):
    # Faces YuNet is sure of (99 % of upright NUAA frames score 0.905 or more) are not
    # re-checked.
    a = det.detect(frame)[0]
    b = FaceDetector(orientation_check=False).detect(frame)[0]
    assert a.box == b.box and a.keypoints.tolist() == b.keypoints.tolist()
    assert abs(_roll(a)) < 15


@pytest.mark.skipif(not haar_available(), reason="this OpenCV ships no Haar cascades (5.x)")
def test_haar_backend_finds_the_face(frame, det):
    haar = FaceDetector("haar")
    faces = haar.detect(frame)
    assert len(faces) >= 1 and faces[0].keypoints is None
    from fastlive.track import iou

    assert iou(faces[0].box, det.detect(frame)[0].box) > 0.4


def test_missing_yunet_falls_back_with_one_warning(monkeypatch, tmp_path):
    monkeypatch.delenv("FASTLIVE_MODEL_DIR", raising=False)
    monkeypatch.setenv("FASTLIVE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FASTLIVE_OFFLINE", "1")
    if haar_available():
        with pytest.warns(RuntimeWarning, match="Haar") as rec:
            d = FaceDetector()
        assert len(rec) == 1 and d.backend == "haar"
    with pytest.raises(registry.ModelNotFoundError, match="install"):
        FaceDetector("yunet")


@pytest.mark.parametrize("kw", [dict(backend="x"), dict(max_side=8), dict(score_threshold=1.5)])
def test_bad_parameters(kw):
    with pytest.raises(ValueError):
        FaceDetector(**kw)


def test_orientation_check_must_be_a_bool():
    with pytest.raises(TypeError, match="orientation_check"):
        FaceDetector(orientation_check="yes")


def test_bad_frame_names_the_argument(det):
    with pytest.raises(TypeError, match="frame"):
        det.detect(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="pad"):
        det.detect(np.zeros((64, 64, 3), np.uint8), pad=5.0)
