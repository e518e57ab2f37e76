"""Public API: ``score_frame``, ``score_face`` and ``LivenessDetector``.

    >>> import fastlive
    >>> r = fastlive.score_frame(frame_bgr, timestamp=t)         # doctest: +SKIP
    >>> det = fastlive.LivenessDetector(fastlive.Config(operating_point="secure"))  # doctest: +SKIP
    >>> s = det.new_session()                                    # doctest: +SKIP
    >>> r = det.score_frame(frame_bgr, session=s, timestamp=t)   # doctest: +SKIP

One frame through the pipeline (see docs/api.md):

1. detection (YuNet, full frame, downscaled) on the first frame of a session, every
   ``Config.redetect_every`` frames and whenever a track is lost; otherwise each face is
   followed by its eyes (no detection);
2. eye landmarks (MediaPipe iris/eye-contour model) -> EAR -> the C++ BlinkTracker;
3. passive models (fastlive.passive.PassiveScorer: CNN + colour-LBP texture), in a session
   every ``Config.passive_every`` frames of a track (kept off re-detection frames), smoothed;
4. quality (size, blur, exposure, pose), cues (blink, motion, reflection), fusion -> decision.

Without a session (``LivenessDetector.score_frame(frame)``) a frame is a single image: full
detection, passive decision, no temporal state. The module-level ``score_frame`` uses a default
detector and a default session (a capture loop), both built on first use.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from typing import Any

import numpy as np

from fastlive import cues as C
from fastlive import fusion, quality
from fastlive import results as R
from fastlive.config import Config
from fastlive.detect import Face, FaceDetector
from fastlive.frames import as_bgr
from fastlive.results import BlinkInfo, FaceResult, FrameResult
from fastlive.session import Session
from fastlive.track import Track

__all__ = ["LivenessDetector", "score_frame", "score_face"]

_AUTO: Any = object()


class LivenessDetector:
    """Face liveness detector; thread-safe (share one across threads, one Session per stream).

    Parameters
    ----------
    config: a :class:`fastlive.Config` (default ``Config()``).
    passive: the passive scorer. Default: ``fastlive.passive.PassiveScorer`` with the models
        shipped with fastlive (one RuntimeWarning and no LIVE decisions when they are missing).
        ``None`` disables passive scoring (scores are NaN, decisions UNCERTAIN "no passive
        model"); any object with ``score(frame, faces) -> list[dict]`` and ``thresholds``
        (dict with "convenience", "balanced", "secure") can be injected.
    detector: a :class:`fastlive.detect.FaceDetector` (default: built from ``config``).
    landmarker: the eye model (default ``fastlive.landmarks.EyeLandmarker``; one
        RuntimeWarning and no blink cue when its file is missing); ``None`` disables it.
    """

    def __init__(self, config: Config | None = None, *, passive: Any = _AUTO,
                 detector: FaceDetector | None = None, landmarker: Any = _AUTO) -> None:
        if config is None:
            config = Config()
        if not isinstance(config, Config):
            raise TypeError(f"config: expected a fastlive.Config or None, got "
                            f"{type(config).__name__}; build one with fastlive.Config(...)")
        self.config = config
        if config.cv2_threads is not None:
            import cv2

            cv2.setNumThreads(config.cv2_threads)
        fallbacks: list[str] = []  # gathered into one warning (offline, nothing cached)
        if detector is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                detector = FaceDetector(config.detector_backend,
                                        max_side=config.detect_max_side,
                                        score_threshold=config.detect_score_threshold)
            if detector.fallback_reason is not None:
                fallbacks.append(f"face detector: Haar cascade instead of YuNet, no keypoints "
                                 f"({detector.fallback_reason})")
        elif not hasattr(detector, "detect") or not hasattr(detector, "detect_in_crop"):
            raise TypeError(f"detector: expected a fastlive.detect.FaceDetector, got "
                            f"{type(detector).__name__}")
        self.detector = detector
        self.passive_error: str | None = None
        if passive is _AUTO:
            from fastlive import registry
            from fastlive.passive import PassiveScorer

            try:
                passive = PassiveScorer(threads=config.threads,
                                        run_cnn=True if config.cnn_cue else None)
            except registry.ModelNotFoundError as exc:
                passive = None
                self.passive_error = str(exc)
                warnings.warn(
                    f"fastlive passive liveness models unavailable ({exc}); scores are NaN and "
                    "no face can be LIVE (decision UNCERTAIN, reason 'no passive model')",
                    RuntimeWarning, stacklevel=2)
        elif passive is not None and not (hasattr(passive, "score")
                                          and hasattr(passive, "thresholds")):
            raise TypeError(f"passive: expected a fastlive.passive.PassiveScorer-like object "
                            f"(score(), thresholds) or None, got {type(passive).__name__}")
        self.passive = passive
        self.landmarks_error: str | None = None
        if landmarker is _AUTO:
            landmarker = None
            if config.landmarks:
                from fastlive import registry
                from fastlive.landmarks import EyeLandmarker

                try:
                    landmarker = EyeLandmarker(threads=config.threads)
                except registry.ModelNotFoundError as exc:
                    self.landmarks_error = str(exc)
                    fallbacks.append(f"eye landmarks: unavailable, no blink cue, ear None "
                                     f"({exc})")
        self.landmarker = landmarker
        if fallbacks:
            warnings.warn("fastlive runs degraded: " + "; ".join(fallbacks), RuntimeWarning,
                          stacklevel=2)
        self._default_session: Session | None = None
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """The active threshold on ``FaceResult.score`` (explicit ``Config.threshold``, else
        the passive model's ``Config.operating_point``; NaN without either)."""
        if self.config.threshold is not None:
            return float(self.config.threshold)
        if self.passive is None:
            return float("nan")
        return float(self.passive.thresholds[self.config.operating_point])

    def new_session(self) -> Session:
        """A fresh per-stream state (one per camera / video)."""
        return Session(self.config)

    @property
    def default_session(self) -> Session:
        with self._lock:
            if self._default_session is None:
                self._default_session = self.new_session()
            return self._default_session

    def score_frame(self, frame: Any, *, session: Session | None = None,
                    timestamp: float | None = None, color: str = "bgr") -> FrameResult:
        """Score every face of ``frame`` (HxWx3 uint8 BGR; other layouts with ``color=``: see
        fastlive.frames). With a ``session``, evidence accumulates over the stream; without,
        the frame is a single image (passive decision)."""
        frame = as_bgr(frame, "frame", color)
        return self._score(frame, session, timestamp, crop=False)

    def score_face(self, face_bgr: Any, *, session: Session | None = None,
                   timestamp: float | None = None, color: str = "bgr") -> FrameResult:
        """Score an image that is already a face crop (the face fills most of it): detection
        only refines the face (``FaceDetector.detect_in_crop``: a crop turned sideways is
        searched a quarter turn each way too; the whole image is the face when none is
        found)."""
        face_bgr = as_bgr(face_bgr, "face_bgr", color)
        return self._score(face_bgr, session, timestamp, crop=True)

    # -- pipeline ---------------------------------------------------------------------------
    def _score(self, frame: np.ndarray, session: Session | None, timestamp: Any,
               crop: bool) -> FrameResult:
        stream = session is not None
        if session is None:
            if timestamp is not None:
                Session()._timestamp(timestamp)  # validate it all the same
            session = Session(self.config)
        elif not isinstance(session, Session):
            raise TypeError(f"session: expected a fastlive.Session (detector.new_session()) or "
                            f"None, got {type(session).__name__}")
        with session._lock:
            t = session._timestamp(timestamp)
            res = self._process(frame, session, t, stream, crop)
            session.frame_index += 1
            session.last_timestamp = t
            return res

    def _detect(self, frame: np.ndarray, crop: bool) -> list[Face]:
        if crop:
            return [self.detector.detect_in_crop(frame)]
        return self.detector.detect(frame)[: self.config.max_faces]

    def _process(self, frame: np.ndarray, s: Session, t: float, stream: bool,
                 crop: bool) -> FrameResult:
        cfg = self.config
        tm: dict[str, float] = {}
        t_start = time.perf_counter()
        active = s.tracker.active()
        # a face is followed by its eyes between detections; without eye landmarks (no
        # keypoints: Haar; or no eye model) every frame is a detection frame
        need = (not stream or crop or s.force_detect or s.frame_index % cfg.redetect_every == 0
                or not active or self.landmarker is None
                or any(tr.keypoints is None for tr in active))
        detected = False
        tracks: list[Track] = []
        if not need:
            tracks = active
            t0 = time.perf_counter()
            ok = self._follow(frame, tracks, t, stream)
            tm["landmarks"] = (time.perf_counter() - t0) * 1e3
            if not ok:  # a face was lost: detect on this very frame
                need = True
        if need:
            t0 = time.perf_counter()
            faces = self._detect(frame, crop)
            tm["detect"] = (time.perf_counter() - t0) * 1e3
            tracks = s.tracker.update(faces, t)
            s.force_detect = False
            detected = True
            t0 = time.perf_counter()
            # Single images and re-detections of followed faces skip the eye model
            # (Config.eyes_on_detection) so they cost about one detection; the blink tracker
            # takes the missing sample in its stride (timestamps, not indices). A new face of a
            # stream is measured at once, and a score_face stream re-detects on every frame.
            follow = [tr for tr in tracks
                      if cfg.eyes_on_detection or (stream and (crop or tr.frames == 0))]
            for tr in tracks:
                if tr not in follow:
                    tr.ear = None
            self._follow(frame, follow, t, stream)
            tm["landmarks"] = tm.get("landmarks", 0.0) + (time.perf_counter() - t0) * 1e3
        for tr in tracks:
            tr.frames += 1

        # passive models
        t0 = time.perf_counter()
        due = [tr for tr in tracks if self._passive_due(tr, stream, detected)]
        for tr in tracks:
            if tr not in due:
                tr.frames_since_passive += 1
        if due and self.passive is not None:
            faces = [Face(tr.box, 1.0, tr.keypoints, tr.detector) for tr in due]
            scored = self.passive.score(frame, faces)
            for tr, d in zip(due, scored):
                tr.last_passive = d
                tr.passive_count += 1
                tr.frames_since_passive = 0
                tr.smooth(float(d["passive"]), t, cfg.smoothing_s if stream else 0.0)
                for k, v in d.get("timings", {}).items():
                    tm[f"passive.{k}"] = tm.get(f"passive.{k}", 0.0) + float(v)
        tm["passive"] = (time.perf_counter() - t0) * 1e3

        # quality, cues, fusion
        t0 = time.perf_counter()
        replay = s.replay.check(frame, t) if stream else None
        out = []
        thr = self.threshold
        for tr in tracks:
            qm = quality.crop_transform(tr.box, tr.keypoints)
            qcrop = quality.face_crop(frame, tr.box, tr.keypoints, m=qm)
            q = quality.measure(frame, tr.box, tr.keypoints, qcrop, m=qm)
            lp = tr.last_passive
            q["noise"] = None if lp is None else lp.get("noise")
            if stream and q["yaw"] is not None and q["pitch"] is not None:
                tr.poses.append((t, float(q["yaw"]), float(q["pitch"])))
            blink = (C.blink_cue(tr, t, cfg.blink_recent_s, cfg.blink_evidence_depth)
                     if stream else None)
            motion = C.motion_cue(tr, t) if stream else None
            cue = {
                "cnn": None if lp is None else lp.get("cnn"),
                "texture": None if lp is None else lp.get("texture"),
                "passive": None if lp is None else lp.get("passive"),
                "smoothed": tr.smoothed if lp is not None else None,
                "blink": blink,
                "motion": motion,
                "reflection": C.reflection_cue(qcrop),
            }
            problem = quality.problem(q, cfg, crop=crop)
            if problem is None and tr.eyes_missing:
                problem = R.NO_EYES
            dec = fusion.decide(tr.smoothed if lp is not None else None, thr, cfg=cfg,
                                stream=stream, n_scores=tr.passive_count,
                                quality_problem=problem, blink=blink,
                                motion=motion, replay=replay)
            cue["temporal_lift"] = dec.lift
            events = tr.blink.events if (stream and tr.blink is not None) else []
            out.append(FaceResult(
                box=tuple(float(v) for v in tr.box),  # type: ignore[arg-type]
                score=dec.score, decision=dec.decision, reason=dec.reason, cues=cue,
                quality=q, keypoints=None if tr.keypoints is None else tr.keypoints.copy(),
                track_id=tr.track_id if stream else None, ear=tr.ear,
                blink_count=int(tr.blink.blink_count) if stream and tr.blink is not None
                else 0,
                blinks=tuple(BlinkInfo(e.start_s, e.end_s, e.min_ear) for e in events),
                detector=tr.detector, tracked=not detected,
            ))
        out.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        tm["quality+fusion"] = (time.perf_counter() - t0) * 1e3
        tm["total"] = (time.perf_counter() - t_start) * 1e3
        return FrameResult(out, tm, t if stream else None, s.frame_index, detected,
                           (int(frame.shape[0]), int(frame.shape[1])))

    def _passive_due(self, tr: Track, stream: bool, detected: bool) -> bool:
        k = self.config.passive_every
        if not stream or tr.passive_count == 0 or k <= 1:
            return True
        if tr.frames_since_passive + 1 < k:
            return False
        # keep the passive models off re-detection frames (spread the cost) unless overdue
        return not detected or tr.frames_since_passive + 1 >= 2 * k

    def _follow(self, frame: np.ndarray, tracks: list[Track], t: float, stream: bool) -> bool:
        """Eye landmarks for each track: EAR, blink update, and (between detections) the
        track's new position. Returns False when a followed face was lost."""
        from fastlive.landmarks import EyeSchedule, measure_eyes, rois_from_keypoints

        ok = True
        for tr in tracks:
            tr.ear = None
            if self.landmarker is None or tr.keypoints is None:
                continue
            first = tr.eye_rois is None
            rois = rois_from_keypoints(tr.keypoints) if first else tr.eye_rois
            assert rois is not None
            if self.config.eyes == "auto" and stream:
                if tr.eye_schedule is None:
                    tr.eye_schedule = EyeSchedule()
                er = tr.eye_schedule.measure(self.landmarker, frame, rois, tr.blink)
            else:
                er = measure_eyes(self.landmarker, frame, rois,
                                  "both" if self.config.eyes == "auto" else self.config.eyes)
            if er.lost:
                if not first:  # followed face vanished: re-detect
                    tr.lost = True
                    ok = False
                else:  # a detection whose eyes the eye model cannot find: not a usable face
                    tr.eyes_missing = True
                tr.eye_rois = None
                continue
            tr.eyes_missing = False
            if not first:
                tr.shift(er.shift())
            tr.eye_rois = er.next_rois(rois)
            tr.ear = er.ear
            if (stream and tr.blink is not None and er.ear is not None
                    and math.isfinite(er.ear) and (tr.blink_t is None or t > tr.blink_t)):
                tr.blink.update(t, er.ear)
                tr.blink_t = t
        return ok


# -- module-level convenience ---------------------------------------------------------------
_default: LivenessDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> LivenessDetector:
    """The detector behind the module-level functions (built on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LivenessDetector()
        return _default


def score_frame(frame: Any, *, session: Session | None = None, timestamp: float | None = None,
                color: str = "bgr") -> FrameResult:
    """Score a frame of a stream with the default detector. ``session=None`` uses the default
    session (one stream, e.g. a capture loop); pass ``LivenessDetector.new_session()`` objects
    for several streams."""
    det = default_detector()
    return det.score_frame(frame, session=session if session is not None
                           else det.default_session, timestamp=timestamp, color=color)


def score_face(face_bgr: Any, *, session: Session | None = None,
               timestamp: float | None = None, color: str = "bgr") -> FrameResult:
    """Score a face crop with the default detector (a single image unless ``session``)."""
    return default_detector().score_face(face_bgr, session=session, timestamp=timestamp,
                                         color=color)
