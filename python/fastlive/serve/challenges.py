"""Active challenges: prompts a replayed recording cannot follow, verified with fastlive's own
cues (the blink tracker, the head pose from the detector's keypoints, the face box).

Each challenge watches one face track from its prompt on and answers ``PENDING``, ``PASSED``
or ``FAILED`` per frame (:meth:`Challenge.update`):

* ``blink``: a blink counted by fastlive's blink tracker (``FaceResult.blinks``) that starts
  after the prompt;
* ``turn_left`` / ``turn_right``: the head turned by at least ``turn_deg`` from the pose held
  before the challenges (``quality["yaw"]``, degrees, positive when the nose moves towards
  the image's right, i.e. the person's left in an unmirrored camera image), on two frames in a
  row; turning as far the other way first fails the challenge;
* ``closer``: the face box grew by ``closer_ratio`` from its size at the prompt, on two
  frames in a row.

Every challenge fails when its time window (``window_s``, on the frames' own timeline) passes.
The module uses only the public result types, so it can be tested on synthetic ``FaceResult``
sequences.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from typing import Any

PENDING = "pending"
PASSED = "passed"
FAILED = "failed"

KINDS = ("blink", "turn_left", "turn_right", "closer")
PROMPTS = {
    "blink": "Blink",
    "turn_left": "Turn your head to your left",
    "turn_right": "Turn your head to your right",
    "closer": "Come closer to the camera",
}
CONFIRM_FRAMES = 2  # a pose or size change must hold on this many frames in a row


def face_yaw(face: Any) -> float | None:
    v = (getattr(face, "quality", None) or {}).get("yaw")
    return float(v) if v is not None and math.isfinite(float(v)) else None


def face_size(face: Any) -> float:
    """The face box's shorter side in pixels."""
    _, _, w, h = face.box
    return float(min(w, h))


class Challenge:
    """One prompt and its verifier (see the module doc).

    ``start(t, base_yaw, base_size)`` begins it at the frame time ``t`` (seconds, the
    session's timeline): ``base_yaw`` is the frontal pose the turns are measured from,
    ``base_size`` the face size a ``closer`` is measured from. ``update(face, t)`` takes the
    followed face on each later frame (None when it is not in the frame).
    """

    def __init__(self, kind: str, *, window_s: float = 6.0, turn_deg: float = 20.0,
                 closer_ratio: float = 1.2, reaction_s: float = 0.1) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        for name, v in (("window_s", window_s), ("turn_deg", turn_deg)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if not (isinstance(closer_ratio, (int, float)) and closer_ratio > 1.0):
            raise ValueError(f"closer_ratio must be above 1.0, got {closer_ratio!r}")
        self.kind = kind
        self.prompt = PROMPTS[kind]
        self.window_s = float(window_s)
        self.turn_deg = float(turn_deg)
        self.closer_ratio = float(closer_ratio)
        self.reaction_s = float(reaction_s)
        self.state = PENDING
        self.why: str | None = None  # why it failed (or passed)
        self.t0: float | None = None
        self.t_end: float | None = None
        self.base_yaw = 0.0
        self.base_size: float | None = None
        self._run = 0  # frames in a row past the threshold
        self._wrong = 0  # frames in a row turned the other way

    def start(self, t: float, *, base_yaw: float | None = None,
              base_size: float | None = None) -> None:
        self.t0 = float(t)
        self.base_yaw = float(base_yaw) if base_yaw is not None else 0.0
        self.base_size = base_size
        self.state = PENDING
        self.why = None
        self._run = self._wrong = 0

    def time_left(self, t: float) -> float:
        if self.t0 is None:
            return self.window_s
        return max(0.0, self.window_s - (t - self.t0))

    def _finish(self, state: str, why: str, t: float) -> str:
        self.state, self.why, self.t_end = state, why, t
        return state

    def update(self, face: Any | None, t: float) -> str:
        if self.state != PENDING:
            return self.state
        if self.t0 is None:
            raise RuntimeError("Challenge.update() before start()")
        if face is not None:
            verdict = self._check(face, t)
            if verdict != PENDING:
                return verdict
        if t - self.t0 > self.window_s:
            return self._finish(FAILED, f"timed out ({self.window_s:g} s)", t)
        return PENDING

    def _check(self, face: Any, t: float) -> str:
        assert self.t0 is not None
        if self.kind == "blink":
            for b in getattr(face, "blinks", ()) or ():
                if b.start_s >= self.t0 + self.reaction_s and b.end_s <= t + 1e-9:
                    return self._finish(PASSED, f"blink at {b.start_s - self.t0:.2f} s", t)
            return PENDING
        if self.kind in ("turn_left", "turn_right"):
            yaw = face_yaw(face)
            if yaw is None:
                self._run = self._wrong = 0
                return PENDING
            sign = 1.0 if self.kind == "turn_left" else -1.0
            d = sign * (yaw - self.base_yaw)
            self._run = self._run + 1 if d >= self.turn_deg else 0
            self._wrong = self._wrong + 1 if d <= -self.turn_deg else 0
            if self._run >= CONFIRM_FRAMES:
                return self._finish(PASSED, f"turned {d:.0f} degrees", t)
            if self._wrong >= CONFIRM_FRAMES:
                return self._finish(FAILED, "turned the other way", t)
            return PENDING
        # closer
        size = face_size(face)
        if self.base_size is None:
            self.base_size = size
        ratio = size / self.base_size if self.base_size > 0 else 0.0
        self._run = self._run + 1 if ratio >= self.closer_ratio else 0
        if self._run >= CONFIRM_FRAMES:
            return self._finish(PASSED, f"face {ratio:.2f}x larger", t)
        return PENDING

    def to_dict(self, t: float | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "prompt": self.prompt, "state": self.state,
                             "window_s": self.window_s}
        if t is not None and self.state == PENDING:
            d["time_left_s"] = round(self.time_left(t), 2)
        return d


def draw(kinds: Sequence[str] = KINDS, count: tuple[int, int] = (2, 3), *,
         rng: random.Random | None = None) -> list[str]:
    """A random sequence of ``count[0]``..``count[1]`` distinct challenge kinds (a secure
    random source unless ``rng`` is given)."""
    kinds = list(dict.fromkeys(kinds))
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"challenge kinds must be among {KINDS}, got {k!r}")
    lo, hi = count
    if not (1 <= lo <= hi <= len(kinds)):
        raise ValueError(f"challenge count {count!r} must satisfy 1 <= min <= max <= "
                         f"{len(kinds)} (the number of kinds)")
    r = rng if rng is not None else secrets.SystemRandom()
    n = r.randint(lo, hi)
    return r.sample(kinds, n)
