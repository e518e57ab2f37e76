"""Attack-path hardening (issue 5, item 5; docs/security.md "Attack paths").

Real captures from ../shared/data (never copied into the repo): NUAA print-attack and live
frames, ZJU Eyeblink live videos. Target: zero LIVE decisions on static-photo streams.

* A still (print attack, or even a genuine live frame: a photo of a real face is still a photo)
  fed as a stream, repeated exactly, jittered, zoomed or tilted like a hand-held photo, never
  yields LIVE; an exactly repeated (frozen) stream is reported as such.
* A looped video (frames repeating) is detected: no LIVE once the loop repeats.
* Blink or motion alone never yields LIVE: a real blinking video with a passive score outside the
  temporal margin stays non-LIVE (and fusion.decide is checked over all cue values).
* Many faces, tiny faces, extreme exposure, rotated and mirrored frames do not flip a print
  attack to LIVE.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

cv2 = pytest.importorskip("cv2")

from fastlive import fusion  # noqa: E402
from fastlive.config import Config  # noqa: E402
from fastlive.evaluate.blinks_zju import read_video  # noqa: E402
from fastlive.results import LIVE, SPOOF, UNCERTAIN  # noqa: E402

FPS = 15.0
N_FRAMES = 30  # 2 s of stream per still
STATIC_WORDS = ("frozen", "static", "loop", "repeat", "replay")


def _rows(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _one_per_subject(rows, *, label: str, source: str, n: int) -> list[str]:
    """The first image of every other subject (deterministic, spread over subjects)."""
    firsts: dict[str, str] = {}
    for r in rows:
        if r["label"] == label and r["source"] == source and r["media"] == "image":
            firsts.setdefault(r["subject_id"], r["path"])
    subjects = sorted(firsts)[::2][:n]
    return [firsts[s] for s in subjects]


@pytest.fixture(scope="module")
def rows(data_dir):
    return _rows(data_dir)


@pytest.fixture(scope="module")
def print_stills(rows, data_dir) -> list[np.ndarray]:
    return [cv2.imread(str(data_dir / p)) for p in
            _one_per_subject(rows, label="spoof", source="nuaa", n=6)]


@pytest.fixture(scope="module")
def live_stills(rows, data_dir) -> list[np.ndarray]:
    return [cv2.imread(str(data_dir / p)) for p in
            _one_per_subject(rows, label="live", source="nuaa", n=4)]


def _video(path: Path, n: int) -> list[np.ndarray]:
    frames = read_video(path)[0][:n]
    assert len(frames) == n, f"{path}: only {len(frames)} frames decoded"
    return frames


@pytest.fixture(scope="module")
def blink_clip(data_dir) -> list[np.ndarray]:
    """A genuine live ZJU clip (frontal, blinking, thin glasses): 140 frames (~4.7 s at 30 fps);
    the same person without glasses: test_live_low_resolution_face_without_glasses_can_be_live."""
    return _video(data_dir / "zju_eyeblink" / "000001M_FTN.mp4", 140)


@pytest.fixture(scope="module")
def detector():
    from fastlive.api import LivenessDetector

    return LivenessDetector()


def _stream(det, frames, fps: float = FPS):
    s = det.new_session()
    return [det.score_frame(f, session=s, timestamp=i / fps) for i, f in enumerate(frames)]


def _lives(results) -> list[int]:
    return [i for i, r in enumerate(results) if any(f.decision == LIVE for f in r.faces)]


# -- still-image streams ----------------------------------------------------------------------


def _warp(img, angle=0.0, scale=1.0, dx=0.0, dy=0.0):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _noise(img, rng, sigma):
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def still_stream(img: np.ndarray, kind: str, n: int = N_FRAMES, seed: int = 0):
    """A still image as a stream: what a camera pointed at a photo (or an injector) delivers."""
    rng = np.random.default_rng(seed)
    if kind == "exact":
        return [img] * n
    out = []
    for i in range(n):
        if kind == "jitter":  # hand tremor + sensor noise
            f = _noise(_warp(img, dx=rng.uniform(-3, 3), dy=rng.uniform(-3, 3)), rng, 2.0)
        elif kind == "zoom":  # photo moved towards the camera
            f = _noise(_warp(img, scale=1.0 + 0.15 * i / (n - 1)), rng, 1.0)
        elif kind == "tilt":  # photo waved / tilted
            f = _noise(_warp(img, angle=4 * math.sin(i / 3), dx=5 * math.sin(i / 5)), rng, 1.0)
        else:
            raise ValueError(kind)
        out.append(f)
    return out


KINDS = ["exact", "jitter", "zoom", "tilt"]


@pytest.mark.parametrize("kind", KINDS)
def test_print_photo_stream_never_live(detector, print_stills, kind):
    lives = {}
    for k, img in enumerate(print_stills):
        got = _lives(_stream(detector, still_stream(img, kind, seed=k)))
        if got:
            lives[k] = got
    assert not lives, f"print attack streams ({kind}) reached LIVE at frames {lives}"


@pytest.mark.parametrize("kind", KINDS)
def test_live_still_photo_stream_never_live(detector, live_stills, kind):
    # A genuine live frame, replayed as a still, is a photo attack: the passive models may
    # like its texture, so only the temporal checks (frozen / static scene, no blink) stop it.
    lives = {}
    for k, img in enumerate(live_stills):
        got = _lives(_stream(detector, still_stream(img, kind, seed=100 + k)))
        if got:
            lives[k] = got
    assert not lives, f"live-still streams ({kind}) reached LIVE at frames {lives}"


def test_frozen_stream_is_reported(detector, live_stills, print_stills):
    for img in (live_stills[0], print_stills[0]):
        res = _stream(detector, still_stream(img, "exact"))[-1]
        assert res.faces, "no face found in a NUAA frame"
        f = res.faces[0]
        assert f.decision != LIVE
        assert f.reason and any(w in f.reason.lower() for w in STATIC_WORDS), (
            f"a frozen stream (one frame repeated {N_FRAMES}x) is not reported as such: "
            f"decision {f.decision}, reason {f.reason!r}")


def test_looped_video_is_detected(detector, blink_clip):
    loop = blink_clip[:45]
    results = _stream(detector, loop * 3, fps=30.0)
    late = [i for i in _lives(results) if i >= len(loop) + 5]
    assert not late, f"looped video still LIVE after the loop repeated, at frames {late}"
    last = results[-1].faces[0]
    assert last.reason and any(w in last.reason.lower() for w in STATIC_WORDS), (
        f"looped frames not reported: decision {last.decision}, reason {last.reason!r}")


def test_genuine_live_video_can_be_live(detector, blink_clip):
    # Control for the tests above: the same pipeline is able to say LIVE on a real, moving,
    # blinking person, so "never LIVE" above is not a detector that never says LIVE.
    results = _stream(detector, blink_clip, fps=30.0)
    assert all(r.faces for r in results[5:]), "face lost in a frontal ZJU clip"
    assert _lives(results), (
        "a genuine live ZJU clip never reached LIVE: decisions "
        f"{sorted({(f.decision, f.reason) for r in results for f in r.faces})}")


# -- blink / motion alone ------------------------------------------------------------------------


class FixedPassive:
    """A passive scorer stub returning a fixed calibrated P(live)."""

    def __init__(self, p: float, threshold: float = 0.5) -> None:
        self.p = p
        self.thresholds = {"convenience": threshold, "balanced": threshold, "secure": threshold}

    def score(self, frame, faces):
        from fastlive.passive import PassiveScore

        return [PassiveScore.from_score(self.p) for _ in faces]


def test_blink_and_motion_alone_never_yield_live(blink_clip):
    from fastlive.api import LivenessDetector

    cfg = Config()
    # Passive score just outside the temporal margin: only blink/motion could lift it.
    det = LivenessDetector(cfg, passive=FixedPassive(0.5 - cfg.temporal_margin - 0.01))
    results = _stream(det, blink_clip, fps=30.0)
    assert max(f.blink_count for r in results for f in r.faces) >= 1, (
        "no blink detected in a blinking ZJU clip: the test would not exercise the blink cue")
    assert not _lives(results)
    assert all(f.decision in (SPOOF, UNCERTAIN) for r in results for f in r.faces)


_cues = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                  st.floats(min_value=0, max_value=1))


@given(passive=st.floats(0, 1), threshold=st.floats(0.01, 1), blink=_cues, motion=_cues,
       n=st.integers(0, 50))
@example(passive=0.5, threshold=0.5, blink=None, motion=float("nan"), n=10)  # found by hypothesis
@example(passive=0.45, threshold=0.5, blink=float("inf"), motion=float("inf"), n=10)
def test_fusion_cues_never_lift_a_rejected_score_to_live(passive, threshold, blink, motion, n):
    cfg = Config()
    d = fusion.decide(passive, threshold, cfg=cfg, stream=True, n_scores=n, blink=blink,
                      motion=motion)
    if passive < threshold - cfg.temporal_margin:
        assert d.decision != LIVE
    # a NaN / infinite cue must not poison the score (it counts as no evidence)
    assert 0.0 <= d.lift <= cfg.temporal_margin * (cfg.blink_boost + cfg.motion_boost) + 1e-12
    assert d.score >= passive - 1e-12  # cues only raise
    # without a passive score nothing is LIVE, whatever the cues
    for p in (None, float("nan")):
        assert fusion.decide(p, threshold, cfg=cfg, stream=True, n_scores=n, blink=blink,
                             motion=motion).decision == UNCERTAIN


# -- frame transformations -------------------------------------------------------------------------


def _tiny(img):
    h, w = img.shape[:2]
    small = cv2.resize(img, (w // 8, h // 8), interpolation=cv2.INTER_AREA)
    canvas = np.zeros_like(img)
    canvas[h // 2:h // 2 + small.shape[0], w // 3:w // 3 + small.shape[1]] = small
    return canvas


def _noisy(img, sd):
    rng = np.random.default_rng(int(img[::37, ::41].sum()))  # seeded by the image itself
    return np.clip(img + rng.normal(0.0, sd, img.shape) + 0.5, 0, 255).astype(np.uint8)


def _mosaic(imgs):
    h, w = imgs[0].shape[:2]
    tiles = [cv2.resize(i, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for i in imgs[:4]]
    return np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:4])])


TRANSFORMS = {
    "mirrored": lambda img: img[:, ::-1],
    "upside_down": lambda img: img[::-1, ::-1],
    "rot90": lambda img: np.ascontiguousarray(np.rot90(img)),
    "rot270": lambda img: np.ascontiguousarray(np.rot90(img, 3)),
    "rot+15": lambda img: _warp(img, angle=15),
    "rot-15": lambda img: _warp(img, angle=-15),
    "tiny": _tiny,
    "overexposed": lambda img: np.clip(img.astype(np.float32) * 3.5, 0, 255).astype(np.uint8),
    "underexposed": lambda img: (img.astype(np.float32) * 0.12).astype(np.uint8),
    "gamma0.4": lambda img: (255 * (img / 255.0) ** 0.4).astype(np.uint8),
    "contrast": lambda img: np.clip((img.astype(np.float32) - 128) * 2.5 + 128, 0,
                                    255).astype(np.uint8),
    "gray": lambda img: cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
    "blurred": lambda img: cv2.GaussianBlur(img, (0, 0), 4),
    # a noisier camera: sensor noise of 2 and 4 grey levels per pixel and channel (models
    # round 6 read the grain as live: 57 % / 91 % of held-out attacks accepted, model card)
    "sensor_noise2": lambda img: _noisy(img, 2.0),
    "sensor_noise4": lambda img: _noisy(img, 4.0),
}


@pytest.fixture(scope="module")
def rejected_prints(detector, print_stills):
    """Print attacks the detector rejects with margin as single frames (the baseline to
    protect): score below threshold - Config.temporal_margin, the zone no temporal cue may lift.

    Why a margin: a single frame's passive score moves with the alignment. A print scored near
    the threshold moves with a few pixels of shift or the detector's keypoints on a mirrored
    frame (NUAA 0003_01_01_03_24 with models round 8: 0.82 as is, 0.83 / 0.70 / 0.67 shifted
    by 1 / 2 / 3 px, 0.79 mirrored, threshold 0.55). Such prints are the fusion's and the
    stream's job (min_frames, smoothing, blinks), not these tests'."""
    margin = Config().temporal_margin
    out = [img for img in print_stills
           if (r := detector.score_frame(img)).faces
           and r.faces[0].score < detector.threshold - margin]
    assert len(out) >= 4, "fewer than 4 of 6 NUAA print frames are rejected with margin"
    return out


# A print frame turned a quarter turn (rot90, rot270): YuNet alone finds an "upright" face in
# the sideways one (box and keypoints upright, the face lying on its side in the crop), which
# the texture model never saw: NUAA print 0001_00_04_03_0 (0.01 upright) scored 0.61 against
# the 0.56 threshold that way with models round 7. FaceDetector's orientation check finds the
# face a quarter turn away (tests/test_detect.py), so the crop is upright (0.003) and the face
# is UNCERTAIN("face rotated").
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transformed_print_attack_is_not_flipped_to_live(detector, rejected_prints, name):
    flipped = []
    for k, img in enumerate(rejected_prints):
        frame = TRANSFORMS[name](img)
        for res in (detector.score_frame(frame), _stream(detector, [frame] * 12)[-1]):
            if any(f.decision == LIVE for f in res.faces):
                flipped.append((k, res.faces[0].score))
    assert not flipped, f"{name}: print attacks flipped to LIVE (index, score): {flipped}"


def test_many_print_faces_in_one_frame_are_not_live_in_a_stream(detector, rejected_prints):
    frame = _mosaic(rejected_prints)
    res = _stream(detector, [frame] * 12)[-1]
    assert res.faces and all(f.decision != LIVE for f in res.faces), [
        (f.box, f.decision, f.score) for f in res.faces]


def test_live_low_resolution_face_without_glasses_can_be_live(detector, data_dir):
    """A genuine live 320x240 clip of a face without glasses reaches LIVE in a stream (it
    blinks in the clip: the default Config needs a blink)."""
    results = _stream(detector, _video(data_dir / "zju_eyeblink" / "000001M_FNN.mp4", 140),
                      fps=30.0)
    assert all(r.faces for r in results[5:]), "face lost in a frontal ZJU clip"
    assert _lives(results)


def test_many_print_faces_in_one_frame_are_not_live_as_a_single_image(detector,
                                                                      rejected_prints):
    res = detector.score_frame(_mosaic(rejected_prints))
    assert res.faces and all(f.decision != LIVE for f in res.faces), [
        (f.box, f.decision, f.score) for f in res.faces]
