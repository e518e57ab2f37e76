"""Face tracks: ids across frames, per-face temporal state, bounded memory.

A session runs a full detection every ``Config.redetect_every`` frames (or when a track is
lost); in between, each track is followed by its eyes: the eye model's corners on frame t give
the eye crops for frame t+1 and move the face keypoints/box (a similarity fitted on the eye
centres). On a detection frame, detections are matched to tracks greedily by IoU (ties broken by
centre distance); unmatched detections start new tracks; unmatched tracks are marked lost (not
reported, not followed) and expire ``track_max_age_s`` after their last detection.

Memory per track is bounded: fixed-size deques for the pose history, the BlinkTracker keeps at
most ``max_events`` events, and a session keeps at most ``4 * max_faces`` tracks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fastlive.landmarks import EyeROI

POSE_HISTORY = 90  # samples kept for the motion cue (~3 s at 30 fps)


def iou(a: Any, b: Any) -> float:
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """Temporal state of one face in one session."""

    track_id: int
    box: tuple[float, float, float, float]
    keypoints: np.ndarray | None
    detector: str
    created_t: float
    last_detect_t: float
    blink: Any  # fastlive.kernels.BlinkTracker or None
    eye_rois: tuple[EyeROI, EyeROI] | None = None
    lost: bool = False
    ear: float | None = None  # EAR on the latest frame
    eyes_missing: bool = False  # the eye model found no eye where the keypoints put them
    blink_t: float | None = None  # timestamp of the latest BlinkTracker sample
    eye_schedule: Any = None  # fastlive.landmarks.EyeSchedule (Config.eyes="auto")
    frames: int = 0
    last_t: float | None = None
    # passive scores
    passive_count: int = 0
    frames_since_passive: int = 0
    last_passive: dict[str, Any] | None = None
    smoothed: float | None = None
    smoothed_t: float | None = None
    # motion
    poses: deque[tuple[float, float, float]] = field(
        default_factory=lambda: deque(maxlen=POSE_HISTORY))

    def shift(self, d: np.ndarray) -> None:
        """Move the box and keypoints by ``d`` (x, y) pixels (eye tracking between
        detections)."""
        dx, dy = float(d[0]), float(d[1])
        if dx == 0.0 and dy == 0.0:
            return
        x, y, w, h = self.box
        self.box = (x + dx, y + dy, w, h)
        if self.keypoints is not None:
            self.keypoints = (self.keypoints + np.float32([dx, dy])).astype(np.float32)

    def smooth(self, value: float, t: float, tau: float) -> float:
        """Exponential smoothing with time constant ``tau`` seconds (frame-rate independent)."""
        if self.smoothed is None or self.smoothed_t is None or tau <= 0:
            self.smoothed = value
        else:
            a = 1.0 - math.exp(-max(t - self.smoothed_t, 0.0) / tau)
            self.smoothed = self.smoothed + a * (value - self.smoothed)
        self.smoothed_t = t
        return self.smoothed


class Tracker:
    """Track bookkeeping of one session (not thread-safe on its own: the Session locks)."""

    def __init__(self, *, iou_threshold: float = 0.3, max_age_s: float = 1.0,
                 max_tracks: int = 16, blink_factory: Any = None) -> None:
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
        keep = []
        for tr in self.tracks:
            if t - tr.last_detect_t <= self.max_age_s:
                keep.append(tr)
            else:
                self._archive(tr)
        self.tracks = keep

    def _archive(self, tr: Track) -> None:
        if tr.blink is not None:
            self.archived_count += int(tr.blink.blink_count)
            self.archived_events.extend((e.start_s, e.end_s) for e in tr.blink.events)

    def _new(self, face: Any, t: float) -> Track:
        tr = Track(self.next_id, tuple(float(v) for v in face.box),  # type: ignore[arg-type]
                   None if face.keypoints is None else np.asarray(face.keypoints, np.float32),
                   face.detector, t, t,
                   self.blink_factory() if self.blink_factory is not None else None)
        self.next_id += 1
        return tr

    def update(self, faces: list[Any], t: float) -> list[Track]:
        """Match this frame's detections (largest first) to tracks; returns one track per face
        in the same order. Unmatched tracks become lost; old tracks expire."""
        self.expire(t)
        pairs = []
        for i, f in enumerate(faces):
            fx, fy, fw, fh = f.box
            for j, tr in enumerate(self.tracks):
                v = iou(f.box, tr.box)
                if v >= self.iou_threshold:
                    bx, by, bw, bh = tr.box
                    dist = math.hypot(fx + fw / 2 - bx - bw / 2, fy + fh / 2 - by - bh / 2)
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
        for i, f in enumerate(faces):
            tr = out[i]
            if tr is None:
                tr = self._new(f, t)
                self.tracks.append(tr)
                out[i] = tr
            else:
                tr.box = tuple(float(v) for v in f.box)  # type: ignore[assignment]
                tr.keypoints = (None if f.keypoints is None
                                else np.asarray(f.keypoints, np.float32))
                tr.detector = f.detector
                tr.last_detect_t = t
                tr.lost = False
            tr.eye_rois = None  # re-seed the eye crops from the detection
        if len(self.tracks) > self.max_tracks:  # drop the oldest lost ones first
            self.tracks.sort(key=lambda tr: (not tr.lost, tr.last_detect_t))
            for tr in self.tracks[:len(self.tracks) - self.max_tracks]:
                self._archive(tr)
            self.tracks = self.tracks[len(self.tracks) - self.max_tracks:]
        return [tr for tr in out if tr is not None]
