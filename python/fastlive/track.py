"""Face tracks: ids across frames, per-face temporal state, bounded memory.

A session runs a full detection every ``Config.redetect_every`` frames (or when a track is
lost); in between, each track is followed by its eyes: the eye model's corners on frame t give
the eye crops for frame t+1 and move the face keypoints/box (a similarity fitted on the eye
centres). A track is *seen* on every frame where a detection matches it or its eyes are found.

On a detection frame, detections are matched to tracks one to one, greedily by IoU (ties broken
by centre distance). A pair with too little overlap still matches when the face moved or changed
scale but stayed close: centre distance within ``gate`` face sizes (``sqrt(w * h)``, the larger
of the two) and sizes within a factor ``MAX_SCALE``. The gate is ``GATE`` for a track seen on the
previous frame and widens by ``GATE_PER_S`` per second the track went unseen (up to
``MAX_GATE``), so a face that reappears after a short miss, a fast move or a gap in the video
keeps its track (and its blinks and smoothing). Unmatched detections start new tracks; unmatched
tracks are marked lost (not reported, not followed) and expire ``max_age_s`` after they were
last seen (checked after the matching, so a face seen again on the first frame after a gap in
the stream keeps its track). A track whose detection missed it on a re-detection frame stays
active while its eyes are found (``Tracker.revive``), for ``max_age_s`` after its last
detection; a track that lost one eye while followed is re-detected on the next frame
(``Track.refresh``).

Memory per track is bounded: fixed-size deques for the pose history, the BlinkTracker keeps at
most ``max_events`` events, and a session keeps at most ``4 * max_faces`` tracks.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fastlive.landmarks import EyeROI, EyeSchedule, EyesResult

if TYPE_CHECKING:
    from fastlive.detect import Face
    from fastlive.kernels import BlinkTracker
    from fastlive.passive import PassiveScore

PASSIVE_HISTORY = 256  # passive scores kept per track (a window's worth at any rate)
POSE_HISTORY = 90  # samples kept for the motion cue (~3 s at 30 fps)
GATE = 0.6  # centre distance (face sizes) a detection may be from a track seen on the last frame
GATE_PER_S = 1.5  # ... plus this much per second the track went unseen
MAX_GATE = 1.5
MAX_SCALE = 2.0  # face sizes of a detection and its track within this factor

Box = Sequence[float]  # (x, y, w, h)


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def box_distance(a: Box, b: Box) -> tuple[float, float]:
    """(centre distance in face sizes, size ratio >= 1) of two (x, y, w, h) boxes; the face size
    is ``sqrt(w * h)``, the larger of the two."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    sa, sb = math.sqrt(max(aw * ah, 0.0)), math.sqrt(max(bw * bh, 0.0))
    big, small = max(sa, sb), min(sa, sb)
    if not small > 0:
        return math.inf, math.inf
    d = math.hypot(ax + aw / 2 - bx - bw / 2, ay + ah / 2 - by - bh / 2)
    return d / big, big / small


@dataclass
class Track:
    """Temporal state of one face in one session."""

    track_id: int
    box: tuple[float, float, float, float]
    keypoints: np.ndarray | None
    detector: str
    created_t: float
    last_detect_t: float
    blink: BlinkTracker | None
    eye_rois: tuple[EyeROI, EyeROI] | None = None
    lost: bool = False
    ear: float | None = None  # EAR on the latest frame
    eyes_missing: bool = False  # the eye model found no eye where the keypoints put them
    refresh: bool = False  # an eye was lost while following: detect on the next frame
    blink_t: float | None = None  # timestamp of the latest BlinkTracker sample
    eye_schedule: EyeSchedule | None = None  # Config.eyes="auto" with a one-eye model
    frames: int = 0
    last_t: float | None = None
    last_seen_t: float | None = None  # latest detection match or eye-followed frame
    # passive scores: the latest (fastlive.passive.PassiveScore) and (t, fused logit) of the
    # last ones, averaged over a window (add_passive)
    passive_count: int = 0
    last_passive_t: float | None = None
    last_passive: PassiveScore | None = None
    window_score: float | None = None
    passive_logits: deque[tuple[float, float]] = field(
        default_factory=lambda: deque(maxlen=PASSIVE_HISTORY))
    # motion
    poses: deque[tuple[float, float, float]] = field(
        default_factory=lambda: deque(maxlen=POSE_HISTORY))

    def __post_init__(self) -> None:
        if self.last_seen_t is None:
            self.last_seen_t = self.last_detect_t

    @property
    def seen_t(self) -> float:
        """When the face was last found (detection or eyes)."""
        return self.last_detect_t if self.last_seen_t is None else self.last_seen_t

    def seen(self, t: float) -> None:
        """The face was found on the frame at ``t`` (detection or eyes)."""
        if self.last_seen_t is None or t > self.last_seen_t:
            self.last_seen_t = t

    def shift(self, d: np.ndarray) -> None:
        """Move the box and keypoints by ``d`` (x, y) pixels (eye tracking between
        detections)."""
        dx, dy = float(d[0]), float(d[1])
        if dx == 0.0 and dy == 0.0:
            return
        x, y, w, h = self.box
        self.box = (x + dx, y + dy, w, h)
        if self.keypoints is not None:
            self.keypoints = (self.keypoints + np.array([dx, dy], np.float32)).astype(np.float32)

    def eyes_lost(self) -> bool:
        """The eye model found no eye in this track's crops: a face followed by its eyes is
        lost (returns False: detect on this frame); a fresh detection's eyes are missing (not
        a usable face, ``eyes_missing``). Either way the crops are re-seeded."""
        followed = self.eye_rois is not None
        if followed:
            self.lost = True
        else:
            self.eyes_missing = True
        self.eye_rois = None
        return not followed

    def eyes_found(self, eyes: EyesResult, rois: tuple[EyeROI, EyeROI], t: float) -> None:
        """The eyes were measured in ``rois`` on the frame at ``t``: the face is seen there, a
        followed face moves with its eyes, and the crops follow the eyes for the next frame."""
        self.eyes_missing = False
        self.seen(t)
        if self.eye_rois is not None:
            self.shift(eyes.shift())
            # one eye lost where the other was found (a fast turn left its crop behind):
            # fresh keypoints on the next frame, before the crop drifts off the eye
            self.refresh = any(e is not None and not math.isfinite(e.ear) for e in eyes.eyes)
        self.eye_rois = eyes.next_rois(rois)
        self.ear = eyes.ear

    def add_ear(self, t: float, ear: float | None) -> None:
        """Feed the blink tracker one EAR sample (finite values at increasing times only)."""
        if (self.blink is not None and ear is not None and math.isfinite(ear)
                and (self.blink_t is None or t > self.blink_t)):
            self.blink.update(t, ear)
            self.blink_t = t

    def add_pose(self, t: float, yaw: float | None, pitch: float | None) -> None:
        """Record the head pose at ``t`` (the motion cue's samples), when it is known."""
        if yaw is not None and pitch is not None:
            self.poses.append((t, float(yaw), float(pitch)))

    def add_passive(self, score: PassiveScore, t: float, window_s: float) -> float:
        """Record a passive score (``fastlive.passive.PassiveScore``) at ``t``; the track's
        ``window_score`` becomes P(live) of the mean fused logit of the scores within the last
        ``window_s`` seconds (this one included; 0: this one alone). A mean of logits rather
        than of probabilities: one confident frame cannot outvote several moderate ones."""
        self.last_passive = score
        self.passive_count += 1
        self.last_passive_t = t
        self.passive_logits.append((t, float(score.logit)))
        z = [v for pt, v in self.passive_logits if t - pt < window_s] or [float(score.logit)]
        m = sum(z) / len(z)
        self.window_score = float(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, m)))))
        return self.window_score


class Tracker:
    """Track bookkeeping of one session (not thread-safe on its own: the Session locks)."""

    def __init__(self, *, iou_threshold: float = 0.3, max_age_s: float = 1.0,
                 max_tracks: int = 16,
                 blink_factory: Callable[[], BlinkTracker | None] | None = None) -> None:
        self.iou_threshold = iou_threshold
        self.max_age_s = max_age_s
        self.max_tracks = max_tracks
        self.blink_factory = blink_factory
        self.tracks: list[Track] = []
        self.next_id = 1
        # blinks of tracks that expired (bounded), so session totals survive a lost face
        self.archived_events: deque[tuple[float, float]] = deque(maxlen=256)
        self.archived_count = 0

    def active(self) -> list[Track]:
        return [t for t in self.tracks if not t.lost]

    def expire(self, t: float) -> None:
        """Archive lost tracks not seen for more than ``max_age_s`` (a track still followed by
        its eyes never expires here)."""
        keep = []
        for tr in self.tracks:
            if not tr.lost or t - tr.seen_t <= self.max_age_s:
                keep.append(tr)
            else:
                self._archive(tr)
        self.tracks = keep

    def gate(self, tr: Track, t: float) -> float:
        """How far (in face sizes) a detection at ``t`` may be from ``tr`` and still match."""
        return min(GATE + GATE_PER_S * max(t - tr.seen_t, 0.0), MAX_GATE)

    def revive(self, tr: Track, t: float) -> bool:
        """Keep ``tr`` active on a detection frame that missed it, when it was found by its
        eyes on this frame (``Track.seen``) and a detection confirmed it within ``max_age_s``.
        Returns whether it is active."""
        if tr.last_seen_t == t and t - tr.last_detect_t <= self.max_age_s:
            tr.lost = False
        return not tr.lost

    def end_all(self) -> None:
        """End every track (their blinks go to the archive)."""
        for tr in self.tracks:
            self._archive(tr)
        self.tracks = []

    def _archive(self, tr: Track) -> None:
        if tr.blink is not None:
            self.archived_count += int(tr.blink.blink_count)
            self.archived_events.extend((e.start_s, e.end_s) for e in tr.blink.events)

    def _new(self, face: Face, t: float) -> Track:
        tr = Track(self.next_id, tuple(float(v) for v in face.box),  # type: ignore[arg-type]
                   None if face.keypoints is None else np.asarray(face.keypoints, np.float32),
                   face.detector, t, t,
                   self.blink_factory() if self.blink_factory is not None else None)
        self.next_id += 1
        return tr

    def update(self, faces: Sequence[Face], t: float) -> list[Track]:
        """Match this frame's detections (largest first) to tracks; returns one track per face
        in the same order. Unmatched tracks become lost; lost tracks not seen for
        ``max_age_s`` expire (after the matching: a face coming back after a gap in the stream
        keeps its track)."""
        pairs = []
        for j, tr in enumerate(self.tracks):
            gate = self.gate(tr, t)
            for i, f in enumerate(faces):
                v = iou(f.box, tr.box)
                dist, scale = box_distance(f.box, tr.box)
                if v >= self.iou_threshold or (dist <= gate and scale <= MAX_SCALE):
                    pairs.append((-v, dist, i, j))
        pairs.sort()
        out: list[Track | None] = [None] * len(faces)
        used: set[int] = set()
        for _, _, i, j in pairs:
            if out[i] is None and j not in used:
                out[i] = self.tracks[j]
                used.add(j)
        for j, tr in enumerate(self.tracks):
            if j not in used:
                tr.lost = True
        self.expire(t)
        for i, f in enumerate(faces):
            m = out[i]
            if m is None:
                m = self._new(f, t)
                self.tracks.append(m)
                out[i] = m
            else:
                m.box = tuple(float(v) for v in f.box)  # type: ignore[assignment]
                m.keypoints = (None if f.keypoints is None
                               else np.asarray(f.keypoints, np.float32))
                m.detector = f.detector
                m.last_detect_t = t
                m.lost = False
            m.seen(t)
            m.refresh = False
            m.eye_rois = None  # re-seed the eye crops from the detection
        if len(self.tracks) > self.max_tracks:  # drop the oldest lost ones first
            self.tracks.sort(key=lambda tr: (not tr.lost, tr.last_detect_t))
            for tr in self.tracks[:len(self.tracks) - self.max_tracks]:
                self._archive(tr)
            self.tracks = self.tracks[len(self.tracks) - self.max_tracks:]
        return [tr for tr in out if tr is not None]
