"""The session flow: from a stream of scored frames to guidance and one verdict.

Phases: ``align`` (one face, close enough, centred, looking at the camera, for
``align_hold_s``; its track is then followed to the end), ``challenge`` (each prompt in turn,
after the head is back facing the camera: see :mod:`fastlive.serve.challenges`), ``verify``
(fastlive's own stream decision on the followed face: ``verify_live_frames`` LIVE frames in a
row, or ``verify_spoof_frames`` SPOOF frames in a row, within ``verify_window_s``), ``done``.

The verdict is LIVE only when every challenge passed and fastlive's stream decision is LIVE;
a failed or timed-out challenge, a face that left the frame, a frozen or looped stream, or a
phase that ran out of time give UNCERTAIN (fail closed: the app treats anything but LIVE as
not verified); SPOOF comes from fastlive's decision alone.

Uses only the public result types (``FrameResult``, ``FaceResult``).
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from fastlive.serve.challenges import FAILED, PASSED, Challenge, face_size, face_yaw
from fastlive.serve.config import ServeConfig

LIVE, SPOOF, UNCERTAIN = "LIVE", "SPOOF", "UNCERTAIN"

# guidance states and the message shown for each (the client may translate by state)
MESSAGES = {
    "no_face": "Put your face in the oval",
    "multiple_faces": "Only one face in view, please",
    "too_far": "Come a little closer",
    "too_close": "Move back a little",
    "off_center": "Centre your face in the oval",
    "look_straight": "Look straight at the camera",
    "too_dark": "More light on your face, please",
    "too_bright": "Too bright: avoid light behind or straight onto you",
    "too_blurry": "Hold still",
    "rotated": "Hold the camera upright",
    "hold_still": "Hold still",
    "challenge": "",  # the challenge's own prompt
    "blink_please": "Blink naturally",
    "checking": "Hold still, checking",
    "done": "Done",
}

# fastlive reasons (docs/api.md "Decisions") that are a placement or light problem
_QUALITY_STATES = (
    ("too dark", "too_dark"), ("too noisy", "too_dark"), ("too bright", "too_bright"),
    ("too blurry", "too_blurry"), ("face too small", "too_far"),
    ("face not fully in view", "off_center"), ("head turned too far", "look_straight"),
    ("face rotated", "rotated"),
)
_REPLAY_REASONS = ("frozen stream", "looped video")

# generic messages for the verdict (the reason itself goes to the app in the token)
VERDICT_MESSAGES = {
    LIVE: "Verified",
    "challenge": "The prompts were not followed in time. Please try again.",
    "placement": "We could not see your face well. Try again with your face in the oval "
                 "and good light.",
    "other": "We could not verify you. Please try again.",
}


def quality_state(reason: str | None) -> str | None:
    if not reason:
        return None
    for prefix, state in _QUALITY_STATES:
        if reason.startswith(prefix):
            return state
    return None


@dataclass
class FlowVerdict:
    decision: str
    reason: str
    kind: str  # "live", "challenge", "placement", "replay", "passive", "timeout"
    challenges: list[dict[str, Any]] = field(default_factory=list)
    score: float | None = None

    @property
    def message(self) -> str:
        if self.decision == LIVE:
            return VERDICT_MESSAGES[LIVE]
        if self.kind == "challenge":
            return VERDICT_MESSAGES["challenge"]
        if self.kind == "placement":
            return VERDICT_MESSAGES["placement"]
        return VERDICT_MESSAGES["other"]


@dataclass
class _Obs:
    t: float
    yaw: float | None
    size: float


class LivenessFlow:
    """Feed it each scored frame with :meth:`step`; it answers the guidance for that frame and,
    once, the verdict."""

    def __init__(self, config: ServeConfig, kinds: list[str]) -> None:
        self.cfg = config
        self.challenges = [
            Challenge(k, window_s=config.challenge_window_s, turn_deg=config.turn_deg,
                      closer_ratio=config.closer_ratio) for k in kinds]
        self.phase = "align"
        self.index = 0  # current challenge
        self.track_id: int | None = None
        self.base_yaw: float | None = None
        self.t_first: float | None = None
        self.t_phase: float | None = None
        self.t_aligned: float | None = None  # start of the current run of placed frames
        self.t_seen: float | None = None  # last frame the followed face was in
        self.recentred = False
        self._recent: deque[_Obs] = deque(maxlen=64)
        self._live_run: list[float] = []
        self._spoof_run = 0
        self._reasons: Counter[str] = Counter()
        self.verdict: FlowVerdict | None = None

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return 2 + len(self.challenges)

    def _progress(self, partial: float = 0.0) -> float:
        done = {"align": 0, "challenge": 1 + self.index, "verify": 1 + len(self.challenges),
                "done": self.steps}[self.phase]
        return round(min(1.0, (done + max(0.0, min(1.0, partial))) / self.steps), 3)

    def _challenge_list(self) -> list[dict[str, Any]]:
        return [{"kind": c.kind, "passed": c.state == PASSED} for c in self.challenges]

    def _finish(self, decision: str, reason: str, kind: str,
                score: float | None = None) -> FlowVerdict:
        self.phase = "done"
        self.verdict = FlowVerdict(decision, reason, kind, self._challenge_list(), score)
        return self.verdict

    def _placement(self, faces: list[Any], shape: tuple[int, int]) -> str | None:
        """The guidance state when the largest face is not placed for the flow, else None."""
        if not faces:
            return "no_face"
        f = faces[0]
        if len(faces) > 1 and face_size(faces[1]) >= 0.5 * face_size(f):
            return "multiple_faces"
        h, w = shape
        x, y, bw, bh = f.box
        if bh / h < self.cfg.min_face_frac:
            return "too_far"
        if bh / h > self.cfg.max_face_frac or bw / w > 0.95:
            return "too_close"
        cx, cy = (x + bw / 2) / w - 0.5, (y + bh / 2) / h - 0.5
        if abs(cx) > self.cfg.center_tol or abs(cy) > self.cfg.center_tol:
            return "off_center"
        q = quality_state(f.reason)
        if q is not None:
            return q
        yaw = face_yaw(f)
        pitch = (f.quality or {}).get("pitch")
        if (yaw is not None and abs(yaw) > self.cfg.straight_deg) or (
                pitch is not None and abs(float(pitch)) > self.cfg.straight_deg + 10):
            return "look_straight"
        return None

    def _guidance(self, state: str, t: float, *, face: Any | None, shape: tuple[int, int],
                  partial: float = 0.0, challenge: Challenge | None = None,
                  message: str | None = None) -> dict[str, Any]:
        g: dict[str, Any] = {
            "type": "guidance", "phase": self.phase, "state": state,
            "message": message if message is not None else MESSAGES.get(state, ""),
            "progress": self._progress(partial),
            "challenge": None, "face": None,
        }
        if challenge is not None:
            g["challenge"] = {**challenge.to_dict(t), "index": self.index + 1,
                              "total": len(self.challenges)}
        if face is not None:
            h, w = shape
            x, y, bw, bh = face.box
            g["face"] = {"box": [round(x / w, 4), round(y / h, 4), round(bw / w, 4),
                                 round(bh / h, 4)]}
        return g

    # -- the step --------------------------------------------------------------------------------
    def step(self, result: Any, t: float, shape: tuple[int, int]) -> dict[str, Any]:
        """Guidance for one scored frame (``t``: its time on the session's timeline, seconds;
        ``shape``: (height, width)). After the verdict, :attr:`verdict` is set and the
        guidance's state is ``done``."""
        if self.verdict is not None:
            return self._guidance("done", t, face=None, shape=shape)
        if self.t_first is None:
            self.t_first = t
            self.t_phase = t
        faces = list(result.faces)
        for f in faces:
            if f.reason and f.reason.startswith(_REPLAY_REASONS):
                self._finish(UNCERTAIN, f.reason, "replay")
                return self._guidance("done", t, face=None, shape=shape)
        if self.phase == "align":
            return self._step_align(faces, t, shape)
        face = next((f for f in faces if f.track_id == self.track_id), None)
        if face is None:
            assert self.t_seen is not None
            if t - self.t_seen > self.cfg.max_face_gap_s:
                self._finish(UNCERTAIN, "the face left the view", "placement")
                return self._guidance("done", t, face=None, shape=shape)
        else:
            self.t_seen = t
            self._recent.append(_Obs(t, face_yaw(face), face_size(face)))
        if self.phase == "challenge":
            return self._step_challenge(face, faces, t, shape)
        return self._step_verify(face, faces, t, shape)

    def _step_align(self, faces: list[Any], t: float, shape: tuple[int, int]) -> dict[str, Any]:
        state = self._placement(faces, shape)
        face = faces[0] if faces else None
        if state is not None or face is None or face.track_id is None or (
                self.track_id is not None and face.track_id != self.track_id):
            self.t_aligned = None
            self.track_id = face.track_id if face is not None else None
            self._recent.clear()
            return self._guidance(state or "hold_still", t, face=face, shape=shape)
        if self.t_aligned is None:
            self.t_aligned = t
            self.track_id = face.track_id
        self._recent.append(_Obs(t, face_yaw(face), face_size(face)))
        held = t - self.t_aligned
        if held < self.cfg.align_hold_s:
            partial = held / self.cfg.align_hold_s if self.cfg.align_hold_s > 0 else 1.0
            return self._guidance("hold_still", t, face=face, shape=shape, partial=partial)
        yaws = [o.yaw for o in self._recent if o.yaw is not None]
        self.base_yaw = statistics.median(yaws) if yaws else 0.0
        self.t_seen = t
        self.t_phase = t
        if self.challenges:
            self.phase = "challenge"
            self.recentred = True
            self.challenges[0].start(t, base_yaw=self.base_yaw,
                                     base_size=self._median_size(t))
            return self._guidance("challenge", t, face=face, shape=shape,
                                  challenge=self.challenges[0],
                                  message=self.challenges[0].prompt)
        self.phase = "verify"
        return self._guidance("checking", t, face=face, shape=shape)

    def _median_size(self, t: float, span_s: float = 0.5) -> float | None:
        sizes = [o.size for o in self._recent if o.t >= t - span_s]
        return statistics.median(sizes) if sizes else None

    def _step_challenge(self, face: Any | None, faces: list[Any], t: float,
                        shape: tuple[int, int]) -> dict[str, Any]:
        ch = self.challenges[self.index]
        assert self.base_yaw is not None
        if not self.recentred:
            # the head must face the camera again before the next prompt starts
            yaw = face_yaw(face) if face is not None else None
            if yaw is not None and abs(yaw - self.base_yaw) < self.cfg.turn_deg / 2:
                self.recentred = True
                ch.start(t, base_yaw=self.base_yaw, base_size=self._median_size(t))
                return self._guidance("challenge", t, face=face, shape=shape, challenge=ch,
                                      message=ch.prompt)
            assert self.t_phase is not None
            if t - self.t_phase > self.cfg.challenge_window_s:
                self._finish(UNCERTAIN, "did not face the camera again after a challenge",
                             "challenge")
                return self._guidance("done", t, face=None, shape=shape)
            return self._guidance("look_straight", t, face=face, shape=shape)
        state = ch.update(face, t)
        if state == FAILED:
            self._finish(UNCERTAIN, f"challenge {ch.kind} failed: {ch.why}", "challenge")
            return self._guidance("done", t, face=None, shape=shape)
        if state == PASSED:
            self.index += 1
            self.t_phase = t
            if self.index < len(self.challenges):
                self.recentred = False
                return self._guidance("look_straight", t, face=face, shape=shape)
            self.phase = "verify"
            return self._guidance("checking", t, face=face, shape=shape)
        partial = 1.0 - ch.time_left(t) / ch.window_s
        if face is None:
            return self._guidance("no_face", t, face=None, shape=shape, challenge=ch,
                                  partial=partial)
        return self._guidance("challenge", t, face=face, shape=shape, challenge=ch,
                              message=ch.prompt, partial=0.0)

    def _step_verify(self, face: Any | None, faces: list[Any], t: float,
                     shape: tuple[int, int]) -> dict[str, Any]:
        assert self.t_phase is not None
        if face is None:
            self._live_run.clear()
            self._spoof_run = 0
            state = "no_face"
        elif len(faces) > 1 and self._placement(faces, shape) == "multiple_faces":
            self._live_run.clear()
            self._spoof_run = 0
            state = "multiple_faces"
        else:
            if face.decision == LIVE:
                self._live_run.append(float(face.score))
                self._spoof_run = 0
            elif face.decision == SPOOF:
                self._spoof_run += 1
                self._live_run.clear()
                self._reasons[face.reason or "spoof"] += 1
            else:
                self._live_run.clear()
                self._spoof_run = 0
                self._reasons[face.reason or "uncertain"] += 1
            if len(self._live_run) >= self.cfg.verify_live_frames:
                self._finish(LIVE, "live", "live", statistics.median(self._live_run))
                return self._guidance("done", t, face=None, shape=shape)
            if self._spoof_run >= self.cfg.verify_spoof_frames:
                self._finish(SPOOF, face.reason or "score below threshold", "passive",
                             float(face.score))
                return self._guidance("done", t, face=None, shape=shape)
            q = quality_state(face.reason)
            if q is not None:
                state = q
            elif face.reason and face.reason.startswith("no blink"):
                state = "blink_please"
            else:
                state = "checking"
        if t - self.t_phase > self.cfg.verify_window_s:
            reason = self._reasons.most_common(1)[0][0] if self._reasons else "no face"
            kind = "placement" if quality_state(reason) or reason == "no face" else "passive"
            self._finish(UNCERTAIN, reason, kind)
            return self._guidance("done", t, face=None, shape=shape)
        partial = len(self._live_run) / self.cfg.verify_live_frames
        return self._guidance(state, t, face=face, shape=shape, partial=partial)

    def timeout(self, reason: str) -> FlowVerdict:
        """End the flow from outside (session too long, client idle): UNCERTAIN."""
        if self.verdict is None:
            kind = "challenge" if self.phase == "challenge" else "timeout"
            self._finish(UNCERTAIN, reason, kind)
        assert self.verdict is not None
        return self.verdict
