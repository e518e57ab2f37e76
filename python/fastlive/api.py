"""Public API: ``score_frame``, ``score_face``, ``reset`` and ``LivenessDetector``.

    >>> import fastlive
    >>> r = fastlive.score_frame(image_bgr)                      # doctest: +SKIP
    >>> r = fastlive.score_frame(frame_bgr, timestamp=t)         # doctest: +SKIP
    >>> det = fastlive.LivenessDetector(fastlive.Config(operating_point="secure"))  # doctest: +SKIP
    >>> s = det.new_session()                                    # doctest: +SKIP
    >>> r = det.score_frame(frame_bgr, session=s, timestamp=t)   # doctest: +SKIP

One frame through the pipeline (see docs/api.md):

1. detection (YuNet, full frame, downscaled) on the first frame of a session, every
   ``Config.redetect_every`` frames and whenever a track is lost; otherwise each face is
   followed by its eyes (no detection);
2. eye landmarks (fastlive's eye network, or MediaPipe's iris/eye-contour model:
   ``Config.eye_model``) -> EAR -> the C++ BlinkTracker;
3. passive models (fastlive.passive.PassiveScorer: fine-tuned MiniFASNet networks, fused), in
   a session every ``Config.passive_interval_s`` of a track (kept off re-detection frames),
   their logits averaged over the last ``Config.window_s`` seconds;
4. quality (size, blur, exposure, pose), cues (blink, motion, reflection), fusion -> decision.

Without a session (``LivenessDetector.score_frame(frame)``) a frame is a single image: full
detection, passive decision, no temporal state. The module-level ``score_frame`` uses a default
detector, built on first use: without ``timestamp=`` a single image, with one the next frame of
a default stream (a capture loop), which a frame of another size or a timestamp going back
restarts, and ``reset()`` too.
"""
from __future__ import annotations

import dataclasses
import enum
import threading
import time
import warnings

import numpy as np

from fastlive import results as R
from fastlive.config import Config
from fastlive.cues import CueStage
from fastlive.detect import DetectStage, Face, FaceDetector
from fastlive.frames import as_bgr
from fastlive.fusion import FusionStage
from fastlive.landmarks import EyeModel, EyeStage
from fastlive.passive import PassiveModel, PassiveStage
from fastlive.quality import QualityStage
from fastlive.results import BlinkInfo, FaceResult, FrameResult
from fastlive.session import Session, check_timestamp
from fastlive.track import Track, box_distance, iou

__all__ = ["LivenessDetector", "score_frame", "score_face", "reset"]



class _Default(enum.Enum):
    AUTO = "auto"  # build the default model (None means: no model)


_AUTO = _Default.AUTO


@dataclasses.dataclass(frozen=True)
class _Call:
    """What one scoring call is: a frame of a stream (``session=``), a face crop
    (``score_face``), and whether a crop without a detected face is scored whole."""

    stream: bool
    crop: bool
    assume_face: bool = False


class LivenessDetector:
    """Face liveness detector; thread-safe (share one across threads, one Session per stream).

    Parameters
    ----------
    config: a :class:`fastlive.Config` (default ``Config()``).
    passive: the passive scorer. Default: ``fastlive.passive.PassiveScorer`` with the models
        shipped with fastlive (one RuntimeWarning and no LIVE decisions when they are missing).
        ``None`` disables passive scoring (scores are NaN, decisions UNCERTAIN "no passive
        model"); any object with ``score(frame, faces) -> list[PassiveScore]`` and
        ``thresholds`` (dict with "convenience", "balanced", "secure") can be injected
        (``fastlive.passive.PassiveModel``).
    detector: a :class:`fastlive.detect.FaceDetector` (default: built from ``config``).
    landmarker: the eye model (default: ``Config.eye_model``'s, see
        ``fastlive.landmarks.make_landmarker``: "auto" is MediaPipe's ``EyeLandmarker`` when
        its file can be had, else fastlive's own ``EyeNet``, shipped with the package, marked
        degraded; one RuntimeWarning and no blink cue when no eye model is there); ``None``
        disables it.

    A missing model (offline, nothing cached) makes the detector run degraded: one
    RuntimeWarning, the names in ``degraded`` (name -> message) and in every result's
    ``FrameResult.degraded``. Strict mode (``Config(strict=True)`` or ``FASTLIVE_STRICT=1``)
    raises :class:`fastlive.registry.ModelNotFoundError` instead.

    One frame goes through the stages in order (docs/architecture.md): detection
    (``DetectStage``) and tracking (the session's ``Tracker``), or following each face by its
    eyes (``EyeStage``); the passive models (``PassiveStage``); then per face quality
    (``QualityStage``), cues (``CueStage``) and the decision (``FusionStage``).
    """

    def __init__(self, config: Config | None = None, *,
                 passive: PassiveModel | None | _Default = _AUTO,
                 detector: FaceDetector | None = None,
                 landmarker: EyeModel | None | _Default = _AUTO) -> None:
        if config is None:
            config = Config()
        if not isinstance(config, Config):
            raise TypeError(f"config: expected a fastlive.Config or None, got "
                            f"{type(config).__name__}; build one with fastlive.Config(...)")
        self.config = config
        from fastlive import registry

        self.strict = bool(config.strict or registry.strict())
        # what this detector runs without (FrameResult.degraded names -> messages)
        self.degraded: dict[str, str] = {}
        if config.cv2_threads is not None:
            import cv2

            cv2.setNumThreads(config.cv2_threads)
        fallbacks: list[str] = []  # gathered into one warning (offline, nothing cached)
        self.detector: FaceDetector = self._build_detector(detector, fallbacks)
        self.passive_error: str | None = None
        self.passive: PassiveModel | None = self._build_passive(passive)
        self.landmarks_error: str | None = None
        self.landmarker: EyeModel | None = self._build_landmarker(landmarker, fallbacks)
        if fallbacks:
            warnings.warn("fastlive runs degraded: " + "; ".join(fallbacks), RuntimeWarning,
                          stacklevel=2)
        self._detect = DetectStage(self.detector, config)
        self._eyes = EyeStage(self.landmarker, config)
        self._passive = PassiveStage(self.passive, config)
        self._quality = QualityStage(config)
        self._cues = CueStage(config)
        self._fusion = FusionStage(config)
        self._default_session: Session | None = None
        self._lock = threading.Lock()

    # -- models -------------------------------------------------------------------------------
    def _build_detector(self, detector: FaceDetector | None, fallbacks: list[str]
                        ) -> FaceDetector:
        cfg = self.config
        if detector is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                detector = FaceDetector(cfg.detector_backend, max_side=cfg.detect_max_side,
                                        score_threshold=cfg.detect_score_threshold,
                                        strict=self.strict)
            if detector.fallback_reason is not None:
                msg = (f"face detector: Haar cascade instead of YuNet, no keypoints "
                       f"({detector.fallback_reason})")
                self.degraded[R.DEGRADED_DETECTOR] = msg
                fallbacks.append(msg)
        elif not hasattr(detector, "detect") or not hasattr(detector, "detect_in_crop"):
            raise TypeError(f"detector: expected a fastlive.detect.FaceDetector, got "
                            f"{type(detector).__name__}")
        return detector

    def _build_passive(self, passive: PassiveModel | None | _Default) -> PassiveModel | None:
        if passive is not _AUTO:
            if passive is not None and not (hasattr(passive, "score")
                                            and hasattr(passive, "thresholds")):
                raise TypeError(f"passive: expected a fastlive.passive.PassiveScorer-like "
                                f"object (score(), thresholds) or None, got "
                                f"{type(passive).__name__}")
            return passive
        from fastlive import registry
        from fastlive.passive import PassiveScorer

        try:
            return PassiveScorer(threads=self.config.threads)
        except registry.ModelNotFoundError as exc:
            if self.strict:
                raise registry.strict_error("passive liveness models", exc) from exc
            self.passive_error = str(exc)
            self.degraded[R.DEGRADED_PASSIVE] = (
                f"passive liveness models: unavailable, NaN scores, never LIVE ({exc})")
            warnings.warn(
                f"fastlive passive liveness models unavailable ({exc}); scores are NaN and "
                "no face can be LIVE (decision UNCERTAIN, reason 'no passive model')",
                RuntimeWarning, stacklevel=3)
            return None

    def _build_landmarker(self, landmarker: EyeModel | None | _Default, fallbacks: list[str]
                          ) -> EyeModel | None:
        cfg = self.config
        if landmarker is not _AUTO:
            return landmarker
        if not cfg.landmarks:
            return None
        from fastlive import registry
        from fastlive.landmarks import make_landmarker

        # "auto": MediaPipe's model (the better blink counts on real videos), else
        # fastlive's network (shipped: blinks offline), marked as degraded
        names = ("mediapipe", "fastlive") if cfg.eye_model == "auto" else (cfg.eye_model,)
        model: EyeModel | None = None
        missing: list[registry.ModelNotFoundError] = []
        for name in names:
            try:
                model = make_landmarker(name, threads=cfg.threads)
                break
            except registry.ModelNotFoundError as exc:
                if self.strict:
                    raise registry.strict_error(f"eye landmark model ({name})", exc) from exc
                missing.append(exc)
        if missing:
            if model is None:
                self.landmarks_error = str(missing[-1])
                msg = f"eye landmarks: unavailable, no blink cue, ear None ({missing[-1]})"
            else:
                msg = (f"eye landmarks: fastlive's eye network instead of MediaPipe's "
                       f"({missing[0]})")
            self.degraded[R.DEGRADED_EYES] = msg
            fallbacks.append(msg)
        return model

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
        """The session of the module-level ``fastlive.score_frame(frame, timestamp=t)``."""
        with self._lock:
            if self._default_session is None:
                self._default_session = self.new_session()
            return self._default_session

    def score_frame(self, frame: object, *, session: Session | None = None,
                    timestamp: float | None = None, color: str = "bgr") -> FrameResult:
        """Score every face of ``frame`` (HxWx3 uint8 BGR; other layouts with ``color=``: see
        fastlive.frames). With a ``session``, evidence accumulates over the stream; without,
        the frame is a single image (passive decision)."""
        frame = as_bgr(frame, "frame", color)
        return self._score(frame, session, timestamp, crop=False)

    def score_face(self, face_bgr: object, *, session: Session | None = None,
                   timestamp: float | None = None, color: str = "bgr",
                   assume_face: bool | None = None) -> FrameResult:
        """Score an image that is already a face crop (the face fills most of it): detection
        only refines the face (``FaceDetector.detect_in_crop``: a crop turned sideways is
        searched a quarter turn each way too, then with a border for a face cut by the
        crop's edges). An image in which no face is found gives no face (``faces == []``,
        reason "no face"), never a score.

        ``assume_face=True`` (default: ``Config.assume_face``, False) scores the whole image as
        the face when none is found: only for crops known to hold a face; anything passed,
        a cat or a wall included, is then scored as a face and can come out LIVE."""
        face_bgr = as_bgr(face_bgr, "face_bgr", color)
        if assume_face is not None and not isinstance(assume_face, bool):
            raise TypeError(f"assume_face: expected None, True or False, got {assume_face!r}")
        return self._score(face_bgr, session, timestamp, crop=True,
                           assume_face=self.config.assume_face if assume_face is None
                           else assume_face)

    # -- pipeline (the frame was validated by the public entry) -------------------------------
    def _score(self, frame: np.ndarray, session: Session | None, timestamp: float | None,
               crop: bool, assume_face: bool = False) -> FrameResult:
        call = _Call(stream=session is not None, crop=crop, assume_face=assume_face)
        if session is None:
            if timestamp is not None:
                check_timestamp(timestamp)  # validate it all the same
            session = Session(self.config)
        elif not isinstance(session, Session):
            raise TypeError(f"session: expected a fastlive.Session (detector.new_session()) or "
                            f"None, got {type(session).__name__}")
        with session.frame(timestamp, frame.shape, crop) as t:  # a new size ends the tracks
            res = self._process(frame, session, t, call)
        if self.degraded:
            res = dataclasses.replace(res, degraded=tuple(self.degraded))
        return res

    def _process(self, frame: np.ndarray, s: Session, t: float, call: _Call) -> FrameResult:
        tm: dict[str, float] = {}
        t_start = time.perf_counter()
        tracks, detected = self._locate(frame, s, t, call, tm)
        for tr in tracks:
            tr.frames += 1
        t0 = time.perf_counter()
        tm.update(self._passive.run(frame, tracks, t, stream=call.stream, detected=detected))
        tm["passive"] = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        replay = s.replay.check(frame, t) if call.stream else None
        threshold = self.threshold
        out = [self._judge(frame, tr, t, call, replay, threshold, detected) for tr in tracks]
        out.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        tm["quality+fusion"] = (time.perf_counter() - t0) * 1e3
        tm["total"] = (time.perf_counter() - t_start) * 1e3
        return FrameResult(out, tm, t if call.stream else None, s.frame_index, detected,
                           (int(frame.shape[0]), int(frame.shape[1])))

    def _locate(self, frame: np.ndarray, s: Session, t: float, call: _Call,
                tm: dict[str, float]) -> tuple[list[Track], bool]:
        """This frame's face tracks and whether a detection ran: between detections each
        face is followed by its eyes; a detection runs on a single image, a face crop, every
        ``Config.redetect_every`` frames of a stream, and when a followed face is lost
        (without eye landmarks, on every frame)."""
        cfg, stream = self.config, call.stream
        active = s.tracker.active()
        need = (not stream or call.crop or s.force_detect
                or s.frame_index % cfg.redetect_every == 0 or not active
                or self.landmarker is None
                or any(tr.keypoints is None or tr.refresh for tr in active))
        if not need:
            t0 = time.perf_counter()
            ok = self._eyes.run(frame, active, t, stream=stream)
            tm["landmarks"] = (time.perf_counter() - t0) * 1e3
            if ok:
                return active, False
            # a followed face was lost: detect on this very frame
        # faces re-detected because an eye was lost, or in the middle of a closure, are
        # measured on this frame too (else the bottom of a blink is lost, or a blink is cut
        # in two by the missing sample)
        refresh = [tr for tr in active
                   if tr.refresh or (tr.blink is not None and tr.blink.is_closed)]
        t0 = time.perf_counter()
        # a stream's re-detections search an input sized to its tracked faces, every
        # detect_full_every-th scheduled one the full detect_max_side
        full = not stream or (s.frame_index % cfg.redetect_every == 0 and s.frame_index
                              // cfg.redetect_every % cfg.detect_full_every == 0)
        faces = self._detect.run(frame, crop=call.crop, assume_face=call.assume_face,
                                 tracked=active if stream else (), full=full)
        tm["detect"] = (time.perf_counter() - t0) * 1e3
        tracks = s.tracker.update(faces, t)
        s.force_detect = False
        t0 = time.perf_counter()
        # Single images and re-detections of followed faces skip the eye model
        # (Config.eyes_on_detection) so they cost about one detection; the blink tracker
        # takes the missing sample in its stride (timestamps, not indices). A new face of a
        # stream is measured at once, and a score_face stream re-detects on every frame.
        follow = [tr for tr in tracks
                  if cfg.eyes_on_detection
                  or (stream and (call.crop or tr.frames == 0 or tr in refresh
                                  or tr.keypoints is None))]  # Haar: every frame detects
        for tr in tracks:
            if tr not in follow:
                tr.ear = None
        self._eyes.run(frame, follow, t, stream=stream)
        if stream and not call.crop:
            tracks += self._missed(frame, s, active, faces, t)
        tm["landmarks"] = tm.get("landmarks", 0.0) + (time.perf_counter() - t0) * 1e3
        return tracks, True

    def _missed(self, frame: np.ndarray, s: Session, followed: list[Track], faces: list[Face],
                t: float) -> list[Track]:
        """Faces followed by their eyes that this frame's detection missed (a detector miss
        in motion blur, a turned face): those whose eyes are still found, and that a detection
        confirmed within ``Config.track_max_age_s``, stay active (``Tracker.revive``)."""
        kept = []
        for tr in followed:
            if not tr.lost or tr.keypoints is None or self.landmarker is None:
                continue
            if any(iou(f.box, tr.box) > 0.0 or box_distance(f.box, tr.box)[0] < 1.0
                   for f in faces):
                continue  # a detection is there: it started its own track
            if tr.seen_t != t and tr.eye_rois is not None:
                self._eyes.run(frame, [tr], t, stream=True)
                tr.lost = tr.seen_t != t
            if s.tracker.revive(tr, t):
                kept.append(tr)
        return kept

    def _judge(self, frame: np.ndarray, tr: Track, t: float, call: _Call, replay: str | None,
               threshold: float, detected: bool) -> FaceResult:
        """One face's quality, cues and decision -> its FaceResult."""
        stream = call.stream
        q = self._quality.run(frame, tr, crop=call.crop)
        cues = self._cues.run(tr, t, q, stream=stream)
        blink = tr.blink if stream else None
        dec = self._fusion.run(cues, q, threshold, stream=stream, n_scores=tr.passive_count,
                               replay=replay,
                               blinks=0 if blink is None else int(blink.blink_count))
        return FaceResult(
            box=(float(tr.box[0]), float(tr.box[1]), float(tr.box[2]), float(tr.box[3])),
            score=dec.score, decision=dec.decision, reason=dec.reason,
            cues=cues.as_dict(dec.lift), quality=q.as_dict(),
            keypoints=None if tr.keypoints is None else tr.keypoints.copy(),
            track_id=tr.track_id if stream else None, ear=tr.ear,
            blink_count=0 if blink is None else int(blink.blink_count),
            blinks=() if blink is None else tuple(BlinkInfo(e.start_s, e.end_s, e.min_ear)
                                                   for e in blink.events),
            detector=tr.detector, tracked=not detected,
        )


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


def score_frame(frame: object, *, session: Session | None = None, timestamp: float | None = None,
                color: str = "bgr") -> FrameResult:
    """Score a frame with the default detector.

    * ``fastlive.score_frame(image)``: a single image (no temporal state; the passive
      decision), like ``LivenessDetector().score_frame(image)``: photos scored one after the
      other never mix.
    * ``fastlive.score_frame(frame, timestamp=t)``: the next frame of the default stream (a
      capture loop): blinks, motion and smoothing accumulate. A timestamp earlier than the
      previous frame's, or a frame of another size, starts a new default stream (a second
      video, another camera); a timestamp equal to the previous one is refused (ValueError).
      ``fastlive.reset()`` starts a new stream explicitly.
    * ``session=``: that stream (``LivenessDetector.new_session()``), for several streams.
    """
    det = default_detector()
    if session is not None or timestamp is None:
        return det.score_frame(frame, session=session, timestamp=timestamp, color=color)
    frame = as_bgr(frame, "frame", color)
    s = det.default_session
    with s.locked():
        t = check_timestamp(timestamp)
        last = s.last_timestamp
        if last is not None and t == last:
            raise ValueError(
                f"timestamp: {t} repeats the previous frame's; the default stream needs "
                "increasing times in seconds (camera time or video position). Omit "
                "timestamp= to score a single image, or call fastlive.reset() to start a new "
                "stream")
        if last is not None and (t < last or s.frame_shape != frame.shape[:2]):
            s.reset()  # a new video / camera: a new stream
        return det.score_frame(frame, session=s, timestamp=t)


def reset() -> None:
    """Start a new default stream: the next ``fastlive.score_frame(frame, timestamp=t)`` begins
    with no tracks, blinks or timeline (any ``t``)."""
    with _default_lock:
        det = _default
    if det is not None:
        det.default_session.reset()


def score_face(face_bgr: object, *, session: Session | None = None,
               timestamp: float | None = None, color: str = "bgr") -> FrameResult:
    """Score a face crop with the default detector (a single image unless ``session``)."""
    return default_detector().score_face(face_bgr, session=session, timestamp=timestamp,
                                         color=color)
