"""Per-stream state: one Session per camera/video stream (face tracks, blinks, smoothing).

A Session is cheap; make one per stream with ``LivenessDetector.new_session()`` (or
``Session()``) and pass it to every ``score_frame`` call of that stream. A session is locked
while a frame is scored, so sharing one across threads is safe but serializes them (and mixes
their frames into one timeline: do not). Different sessions score in parallel.

Timestamps: pass ``timestamp=`` seconds (camera time, or the video position for files) so
blink durations are right at any frame rate; they must increase strictly within a session.
Without one, the session uses its own monotonic clock.

Frame size: a frame of another size than the previous one ends the session's face tracks
(their blinks stay in ``blink_count()`` / ``blink_events()``) and is detected afresh: boxes,
eye crops and blink baselines of one image size mean nothing on another. So does switching
between ``score_frame`` and ``score_face`` in one session. A ``score_face`` stream (every frame
a detection) keeps its tracks across crops of different sizes: they are matched by overlap in
crop coordinates, where the face stays put.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from fastlive.config import Config
from fastlive.track import Track, Tracker

if TYPE_CHECKING:
    from fastlive.kernels import BlinkTracker


def check_timestamp(timestamp: object) -> float:
    """``timestamp`` (seconds) as a float; TypeError / ValueError naming it when it is not a
    finite number."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float, np.integer,
                                                                 np.floating)):
        raise TypeError(f"timestamp: expected seconds as a float (or None), got "
                        f"{type(timestamp).__name__}")
    t = float(timestamp)
    if not math.isfinite(t):
        raise ValueError(f"timestamp: must be finite, got {timestamp!r}")
    return t


class ReplayGuard:
    """Frozen and looped streams: a signature (BLAKE2b of every 7th pixel of every 7th row) of
    each frame is compared with the previous one and with the last ``window`` ones. A camera's
    sensor noise makes exact repeats impossible (none among the 4,358 decoded ZJU frames), so
    ``frozen_frames`` frames identical to their predecessor mean a frozen feed (a still image
    injected as a stream), and a frame identical to an earlier, non-adjacent one means frames
    coming back (a looped or replayed video). The flag holds for ``hold_s`` seconds after the
    last repeat. Memory: ``window`` 16-byte digests."""

    def __init__(self, frozen_frames: int = 3, window: int = 900, hold_s: float = 10.0) -> None:
        self.frozen_frames = frozen_frames
        self.hold_s = hold_s
        self._order: deque[bytes] = deque(maxlen=window)
        self._counts: dict[bytes, int] = {}
        self._last: bytes | None = None
        self._run = 0
        self.flag: str | None = None
        self.flag_t: float | None = None

    def check(self, frame: np.ndarray, t: float) -> str | None:
        from fastlive import results as R

        sig = hashlib.blake2b(np.ascontiguousarray(frame[::7, ::7]).tobytes(),
                              digest_size=16).digest()
        if sig == self._last:
            self._run += 1
            if self._run >= self.frozen_frames:
                self.flag, self.flag_t = R.FROZEN, t
        else:
            self._run = 0
            if sig in self._counts:
                self.flag, self.flag_t = R.LOOPED, t
        if len(self._order) == self._order.maxlen:
            old = self._order[0]
            n = self._counts[old] - 1
            if n:
                self._counts[old] = n
            else:
                del self._counts[old]
        self._order.append(sig)
        self._counts[sig] = self._counts.get(sig, 0) + 1
        self._last = sig
        if self.flag is not None and self.flag_t is not None and t - self.flag_t <= self.hold_s:
            return self.flag
        return None


class Session:
    """Temporal state of one stream. ``config`` defaults to ``Config()``; a detector uses its
    own config for the session's tracker and blink parameters (see LivenessDetector)."""

    def __init__(self, config: Config | None = None) -> None:
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"config: expected a fastlive.Config or None, got "
                            f"{type(config).__name__}")
        self.config = config or Config()
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        self._clock0 = time.monotonic()
        self.frame_index = 0
        self.last_timestamp: float | None = None
        self.force_detect = False
        # (height, width) and whether the previous frame came through score_face
        self.frame_shape: tuple[int, int] | None = None
        self.last_crop: bool | None = None
        cfg = self.config
        self.tracker = Tracker(iou_threshold=cfg.track_iou, max_age_s=cfg.track_max_age_s,
                               max_tracks=4 * cfg.max_faces, blink_factory=self._new_blink)
        self.replay = ReplayGuard(cfg.frozen_frames, cfg.replay_window, cfg.replay_hold_s)

    def _new_blink(self) -> BlinkTracker | None:
        if not self.config.landmarks:
            return None
        from fastlive import kernels

        return kernels.BlinkTracker(**self.config.blink_params())

    # -- scoring (LivenessDetector) -------------------------------------------------------------
    def locked(self) -> threading.RLock:
        """The session's lock (re-entrant), held while a frame is scored: hold it to make a
        check and a ``score_frame`` call one step (``fastlive.score_frame``'s default stream)."""
        return self._lock

    @contextmanager
    def frame(self, timestamp: float | None, shape: tuple[int, ...], crop: bool
              ) -> Iterator[float]:
        """Score one frame of this stream: holds the lock, yields the frame's time (validated
        ``timestamp``, or the session clock), records the frame size (a new size ends the
        tracks) and, when the body completes, advances ``frame_index`` / ``last_timestamp``."""
        with self._lock:
            t = self._timestamp(timestamp)
            self._frame(shape, crop)
            yield t
            self.frame_index += 1
            self.last_timestamp = t

    # -- timeline -------------------------------------------------------------------------------
    def _timestamp(self, timestamp: float | None) -> float:
        if timestamp is None:
            t = time.monotonic() - self._clock0
            if self.last_timestamp is not None and t <= self.last_timestamp:
                t = math.nextafter(self.last_timestamp, math.inf)
            return t
        t = check_timestamp(timestamp)
        if self.last_timestamp is not None and not t > self.last_timestamp:
            raise ValueError(
                f"timestamp: must increase strictly within a session; got {t} after "
                f"{self.last_timestamp} (use one session per stream, or session.reset())"
            )
        return t

    def _frame(self, shape: tuple[int, ...], crop: bool) -> bool:
        """Record the size of the frame being scored; on a new size (or a switch between
        score_frame and score_face) end the tracks and force a detection. Returns True when the
        tracks were ended."""
        hw = (int(shape[0]), int(shape[1]))
        prev, prev_crop = self.frame_shape, self.last_crop
        self.frame_shape, self.last_crop = hw, crop
        if prev is None or (prev == hw and prev_crop == crop) or (crop and prev_crop):
            return False
        self.end_tracks()
        return True

    def end_tracks(self) -> None:
        """End every face track (their blinks stay in the session's totals); the next frame
        runs a full detection and starts new tracks."""
        with self._lock:
            self.tracker.end_all()
            self.force_detect = True

    # -- queries --------------------------------------------------------------------------------
    @property
    def tracks(self) -> list[Track]:
        with self._lock:
            return list(self.tracker.tracks)

    def blink_count(self) -> int:
        """Blinks seen in this session, all faces (expired tracks included)."""
        with self._lock:
            return sum(int(t.blink.blink_count) for t in self.tracker.tracks
                       if t.blink is not None) + self.tracker.archived_count

    def blink_events(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of the blinks of this session (bounded memory: the most recent
        ones), all faces, by start time."""
        with self._lock:
            ev = [(e.start_s, e.end_s) for t in self.tracker.tracks if t.blink is not None
                  for e in t.blink.events]
            ev.extend(self.tracker.archived_events)
        return sorted(ev)

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        with self._lock:
            self._clear()

    def __repr__(self) -> str:
        return (f"Session(frames={self.frame_index}, tracks={len(self.tracker.tracks)}, "
                f"last_timestamp={self.last_timestamp})")
