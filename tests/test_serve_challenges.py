"""fastlive.serve challenges and session flow: each verifier on synthetic FaceResult sequences
and on real clips where the action happens (a ZJU blink, head turns in a self-recorded clip, a
zoom of a real clip for "come closer"), and the flow's phases and verdicts."""

from __future__ import annotations

import random

import numpy as np
import pytest
from serve_helpers import TRANVANLUYT_LIVE, WOLFHUO_LIVE, read_clip

import fastlive
from fastlive.results import BlinkInfo, FaceResult, FrameResult
from fastlive.serve.challenges import FAILED, KINDS, PASSED, PENDING, Challenge, draw
from fastlive.serve.config import ServeConfig
from fastlive.serve.flow import LivenessFlow

SHAPE = (480, 640)


def face(x=245.0, y=140.0, w=150.0, h=200.0, *, yaw=2.0, pitch=10.0, decision="UNCERTAIN",
         reason="not enough frames yet", track_id=1, blinks=(), score=0.9) -> FaceResult:
    return FaceResult(box=(x, y, w, h), score=score, decision=decision, reason=reason, cues={},
                      quality={"size": min(w, h), "yaw": yaw, "pitch": pitch},
                      track_id=track_id, blinks=tuple(blinks))


def frame(*faces: FaceResult) -> FrameResult:
    return FrameResult(faces=list(faces), shape=SHAPE)


# -- verifiers on synthetic sequences ------------------------------------------------------------
def test_blink_needs_a_blink_that_starts_after_the_prompt():
    c = Challenge("blink", window_s=3.0)
    c.start(10.0)
    old = BlinkInfo(9.5, 9.7, 0.1)
    assert c.update(face(blinks=[old]), 10.2) == PENDING  # before the prompt: not an answer
    assert c.update(None, 10.5) == PENDING  # no face on this frame
    assert c.update(face(blinks=[old, BlinkInfo(11.0, 11.2, 0.1)]), 11.3) == PASSED
    assert c.update(face(), 20.0) == PASSED  # final
    c = Challenge("blink", window_s=3.0)
    c.start(10.0)
    assert c.update(face(blinks=[BlinkInfo(10.02, 10.2, 0.1)]), 10.3) == PENDING  # reflex 0.1 s
    assert c.update(face(), 13.1) == FAILED and c.why == "timed out (3 s)"


def test_turn_needs_two_frames_past_the_angle_and_fails_the_other_way():
    c = Challenge("turn_left", turn_deg=20.0)
    c.start(0.0, base_yaw=3.0)
    assert [c.update(face(yaw=y), 0.1 * i) for i, y in enumerate([5, 12, 24, 10, 24], 1)] \
        == [PENDING] * 5  # one frame past the angle is not enough (keypoint jitter)
    assert c.update(face(yaw=None), 0.6) == PENDING  # no pose: resets the run
    assert c.update(face(yaw=26), 0.7) == PENDING
    assert c.update(face(yaw=30), 0.8) == PASSED and c.why == "turned 27 degrees"
    c = Challenge("turn_left", turn_deg=20.0)
    c.start(0.0, base_yaw=3.0)
    assert c.update(face(yaw=-20), 0.1) == PENDING
    assert c.update(face(yaw=-25), 0.2) == FAILED and c.why == "turned the other way"
    c = Challenge("turn_right", turn_deg=20.0)
    c.start(0.0, base_yaw=0.0)
    assert c.update(face(yaw=-21), 0.1) == PENDING
    assert c.update(face(yaw=-22), 0.2) == PASSED
    c = Challenge("turn_right", turn_deg=20.0, window_s=1.0)
    c.start(0.0, base_yaw=0.0)
    assert all(c.update(face(yaw=y), 0.1 * i) == PENDING for i, y in enumerate([-5, -10, -15]))
    assert c.update(face(yaw=-15), 1.05) == FAILED and c.why.startswith("timed out")


def test_closer_needs_the_face_to_grow_by_the_ratio():
    c = Challenge("closer", closer_ratio=1.2, window_s=2.0)
    c.start(0.0, base_size=150.0)
    assert c.update(face(w=170, h=220), 0.1) == PENDING  # 1.13x
    assert c.update(face(w=185, h=240), 0.2) == PENDING  # 1.23x, once
    assert c.update(face(w=150, h=200), 0.3) == PENDING  # back: the run restarts
    assert c.update(face(w=181, h=240), 0.4) == PENDING
    assert c.update(face(w=190, h=250), 0.5) == PASSED and c.why == "face 1.27x larger"
    c = Challenge("closer", closer_ratio=1.2, window_s=2.0)
    c.start(0.0)  # no base size: the first frame's
    c.update(face(w=100, h=130), 0.1)
    assert c.update(face(w=110, h=140), 0.2) == PENDING
    assert c.update(face(w=110, h=140), 2.1) == FAILED


def test_challenge_arguments_are_checked():
    with pytest.raises(ValueError, match="kind must be one of"):
        Challenge("smile")
    with pytest.raises(ValueError, match="window_s"):
        Challenge("blink", window_s=0)
    with pytest.raises(ValueError, match="closer_ratio"):
        Challenge("closer", closer_ratio=1.0)
    with pytest.raises(RuntimeError, match="before start"):
        Challenge("blink").update(face(), 0.0)


def test_draw_is_random_distinct_and_bounded():
    seen = set()
    for seed in range(200):
        kinds = draw(rng=random.Random(seed))
        assert 2 <= len(kinds) <= 3 and len(set(kinds)) == len(kinds)
        assert set(kinds) <= set(KINDS)
        seen.add(tuple(kinds))
    assert len(seen) > 20  # orders and subsets vary
    assert draw(["blink", "closer"], (2, 2), rng=random.Random(1)) in (
        ["blink", "closer"], ["closer", "blink"])
    assert len({len(draw()) for _ in range(100)}) == 2  # the default source: 2 or 3
    with pytest.raises(ValueError, match="must be among"):
        draw(["blink", "wink"])
    with pytest.raises(ValueError, match="count"):
        draw(["blink"], (2, 3))


def test_serve_config_is_validated():
    with pytest.raises(ValueError, match="max_fps"):
        ServeConfig(max_fps=0)
    with pytest.raises(ValueError, match="challenge_count"):
        ServeConfig(challenge_count=(3, 2))
    with pytest.raises(ValueError, match="challenge_count"):
        ServeConfig(challenge_kinds=("blink",))
    with pytest.raises(ValueError, match="challenge_kinds"):
        ServeConfig(challenge_kinds=("blink", "smile"))
    with pytest.raises(TypeError, match="tuple of origins"):
        ServeConfig(allowed_origins="https://a.example")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an origin"):
        ServeConfig(allowed_origins=("a.example",))
    with pytest.raises(TypeError, match="fastlive.Config"):
        ServeConfig(detector={"require_blink": True})
    with pytest.raises(ValueError, match="max_sessions"):
        ServeConfig(max_sessions=0)
    assert ServeConfig().detector.require_blink is True


# -- the flow on synthetic sequences -------------------------------------------------------------
def run(flow: LivenessFlow, seq, t0=0.0, dt=0.1):
    out = []
    for i, fr in enumerate(seq):
        out.append(flow.step(fr, t0 + i * dt, SHAPE))
    return out


def test_flow_guides_the_face_into_place():
    flow = LivenessFlow(ServeConfig(), ["blink"])
    states = [g["state"] for g in run(flow, [
        frame(), frame(face(w=80, h=100)), frame(face(w=500, h=420)), frame(face(x=20)),
        frame(face(), face(x=10, y=10, w=120, h=160, track_id=2)),
        frame(face(reason="too dark")), frame(face(yaw=30)), frame(face(pitch=45)),
    ])]
    assert states == ["no_face", "too_far", "too_close", "off_center", "multiple_faces",
                      "too_dark", "look_straight", "look_straight"]
    assert flow.phase == "align"
    g = run(flow, [frame(face())] * 6, t0=1.0)  # held for align_hold_s = 0.5 s
    assert [x["state"] for x in g[:5]] == ["hold_still"] * 5
    assert g[-1]["phase"] == "challenge" and g[-1]["state"] == "challenge"
    assert g[-1]["message"] == "Blink" and g[-1]["challenge"]["kind"] == "blink"
    assert g[-1]["face"]["box"] == [round(245 / 640, 4), round(140 / 480, 4),
                                    round(150 / 640, 4), round(200 / 480, 4)]
    # a small face far behind does not count as a second face
    flow = LivenessFlow(ServeConfig(), [])
    g = run(flow, [frame(face(), face(x=10, y=10, w=40, h=50, track_id=2))] * 7)
    assert g[-1]["phase"] == "verify"


def test_flow_live_after_turns_with_recentring_between_them():
    flow = LivenessFlow(ServeConfig(), ["turn_left", "turn_right"])
    run(flow, [frame(face(yaw=2))] * 6)
    assert flow.phase == "challenge" and flow.base_yaw == 2
    g = run(flow, [frame(face(yaw=y)) for y in (10, 25, 27)], t0=1.0)
    assert flow.index == 1 and g[-1]["state"] == "look_straight"
    # still turned left: the next prompt waits (turning back is not "the other way")
    g = run(flow, [frame(face(yaw=25)), frame(face(yaw=5))], t0=1.5)
    assert [x["state"] for x in g] == ["look_straight", "challenge"]
    assert g[-1]["challenge"] == {"kind": "turn_right", "prompt": "Turn your head to your right",
                                  "state": "pending", "window_s": 6.0, "time_left_s": 6.0,
                                  "index": 2, "total": 2}
    run(flow, [frame(face(yaw=-20)), frame(face(yaw=-24))], t0=2.0)
    assert flow.phase == "verify"
    g = run(flow, [frame(face(decision="LIVE", reason=None, score=0.8 + 0.01 * i))
                   for i in range(5)], t0=3.0)
    assert g[-1]["state"] == "done"
    v = flow.verdict
    assert v.decision == "LIVE" and v.message == "Verified"
    assert v.challenges == [{"kind": "turn_left", "passed": True},
                            {"kind": "turn_right", "passed": True}]
    assert v.score == pytest.approx(0.82)
    assert [x["progress"] for x in g][-1] == 1.0


def test_flow_fails_closed():
    # the wrong way
    flow = LivenessFlow(ServeConfig(), ["turn_left"])
    run(flow, [frame(face())] * 6)
    run(flow, [frame(face(yaw=-25))] * 2, t0=1.0)
    assert flow.verdict.decision == "UNCERTAIN"
    assert flow.verdict.reason == "challenge turn_left failed: turned the other way"
    assert flow.verdict.kind == "challenge" and "not followed" in flow.verdict.message
    # the followed face leaves (another face, another track, takes its place)
    flow = LivenessFlow(ServeConfig(), ["blink"])
    run(flow, [frame(face())] * 6)
    run(flow, [frame(face(track_id=7))] * 12, t0=1.0)
    assert flow.verdict.reason == "the face left the view"
    # a short gap is fine
    flow = LivenessFlow(ServeConfig(), ["blink"])
    run(flow, [frame(face())] * 6)
    run(flow, [frame()] * 4 + [frame(face(blinks=[BlinkInfo(1.1, 1.3, 0.1)]))], t0=1.0)
    assert flow.phase == "verify"
    # a frozen or looped stream ends the session at once
    flow = LivenessFlow(ServeConfig(), ["blink"])
    run(flow, [frame(face())] * 3 + [frame(face(reason="looped video (repeated frames)"))])
    assert flow.verdict.reason == "looped video (repeated frames)"
    # SPOOF from fastlive's own decision
    flow = LivenessFlow(ServeConfig(), [])
    run(flow, [frame(face())] * 6)
    run(flow, [frame(face(decision="SPOOF", reason="score below threshold"))] * 10, t0=1.0)
    assert (flow.verdict.decision, flow.verdict.reason) == ("SPOOF", "score below threshold")
    # LIVE runs interrupted never add up
    flow = LivenessFlow(ServeConfig(verify_window_s=2.0), [])
    run(flow, [frame(face())] * 6)
    seq = [frame(face(decision="LIVE", reason=None))] * 4 + [frame(face(reason="no blink yet"))]
    g = run(flow, seq * 5, t0=1.0)
    assert "blink_please" in {x["state"] for x in g}
    assert (flow.verdict.decision, flow.verdict.reason) == ("UNCERTAIN", "no blink yet")
    # the session's own limits end it from outside
    flow = LivenessFlow(ServeConfig(), ["closer"])
    run(flow, [frame(face())] * 6)
    assert flow.timeout("session longer than 60 s").kind == "challenge"


# -- verifiers on real clips ---------------------------------------------------------------------
def _faces(det, frames, fps):
    s = det.new_session()
    out = []
    for i, f in enumerate(frames):
        r = det.score_frame(f, session=s, timestamp=i / fps)
        out.append((i / fps, r.faces[0] if r.faces else None))
    return out


def _verify(seq, kind, t_start, **kw):
    c = Challenge(kind, **kw)
    base = [f for t, f in seq if t <= t_start and f is not None]
    yaws = sorted(f.quality["yaw"] for f in base[-15:] if f.quality.get("yaw") is not None)
    c.start(t_start, base_yaw=yaws[len(yaws) // 2], base_size=min(base[-1].box[2:]))
    for t, f in seq:
        if t > t_start and c.update(f, t) != PENDING:
            break
    return c


@pytest.fixture(scope="module")
def det():
    return fastlive.LivenessDetector()


def test_real_head_turns(det, data_dir):
    """tranvanluyt's live clip: the head turns to the image's right (the person's left) from
    about 2 s, and to his right from about 7 s."""
    frames, fps = read_clip(data_dir / TRANVANLUYT_LIVE, limit=300)
    seq = _faces(det, frames, fps)
    c = _verify(seq, "turn_left", 1.0)
    assert c.state == PASSED and 1.5 < c.t_end < 3.5, (c.why, c.t_end)
    c = _verify(seq, "turn_right", 1.0)
    assert c.state == FAILED and c.why == "turned the other way"
    c = _verify(seq, "turn_right", 6.5, window_s=3.0)
    assert c.state == PASSED and 6.5 < c.t_end < 9.5, (c.why, c.t_end)
    c = _verify(seq, "turn_left", 6.5, window_s=3.0)
    assert c.state == FAILED


def test_real_blink(det, data_dir):
    """ZJU 000004M_FNN: one blink, annotated at frames 83-97 of the clip's 131 annotated
    frames (annotation frame k sits at k / n_annotated of the decoded clip's duration; see
    docs/api.md, "Blinks on ZJU Eyeblink")."""
    clip = data_dir / "zju_eyeblink" / "000004M_FNN"
    rows = [ln.split(":") for ln in clip.with_suffix(".tag").read_text().splitlines()
            if ln and not ln.startswith("#") and ln.count(":") > 5]
    blink_frames = [int(r[0]) for r in rows if int(r[1]) >= 0]
    frames, fps = read_clip(clip.with_suffix(".avi"))
    duration = len(frames) / fps
    start = (min(blink_frames) - 1) / len(rows) * duration
    end = max(blink_frames) / len(rows) * duration
    seq = _faces(det, frames, fps)
    c = _verify(seq, "blink", start - 0.8, window_s=3.0)
    assert c.state == PASSED and start - 0.2 < c.t_end < end + 0.5, (c.why, c.t_end, start)
    c = _verify(seq, "blink", start - 0.8, window_s=0.5)  # the blink comes after the window
    assert c.state == FAILED and c.why.startswith("timed out")
    c = _verify(seq, "blink", end + 0.2, window_s=0.4)  # after the clip's only blink
    assert c.state == FAILED and c.why.startswith("timed out")


def test_real_clip_zoomed_for_closer(det, data_dir):
    """The wolfhuo live clip, zoomed in by 1.4x from 1 s to 2 s (the face comes closer)."""
    import cv2

    frames, fps = read_clip(data_dir / WOLFHUO_LIVE, scale=0.5, limit=90)
    h, w = frames[0].shape[:2]
    zoomed = []
    for i, f in enumerate(frames):
        z = float(np.interp(i / fps, [1.0, 2.0], [1.0, 1.4]))
        cw, ch = int(round(w / z)), int(round(h / z))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        zoomed.append(cv2.resize(f[y0:y0 + ch, x0:x0 + cw], (w, h)))
    c = _verify(_faces(det, zoomed, fps), "closer", 0.9, window_s=2.0)
    assert c.state == PASSED and 1.2 < c.t_end < 2.2, (c.why, c.t_end)
    c = _verify(_faces(det, frames, fps), "closer", 0.9, window_s=1.5)
    assert c.state == FAILED and c.why.startswith("timed out")
