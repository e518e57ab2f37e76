"""Cues -> score in [0, 1] -> decision LIVE / SPOOF / UNCERTAIN with a reason.

The score is the passive models' calibrated P(live) (fastlive.passive: CNN + colour-LBP texture,
fused and calibrated on a dev split), exponentially smoothed over time in a stream. Temporal
cues (a recent blink, natural head motion) can only *raise* a score the passive models already
support: they apply only when the smoothed passive score is within ``temporal_margin`` of the
threshold, and lift it by at most ``temporal_margin * (blink_boost + motion_boost)`` (< the
margin with the defaults), so a face the passive models reject stays rejected however much it
blinks or moves, and a static photo (no blink, no motion) gets its passive decision.

Liveness evidence in a stream: a still image (a photo, or a genuine frame replayed) fed as a
stream has a passive score the models may like, so in a stream LIVE also needs evidence only a
live face gives: a blink within ``blink_recent_s`` (``Config.require_blink``), and a stream that
is neither frozen (the same frame repeated) nor looped (earlier frames coming back); see
``fastlive.session.ReplayGuard``.

Decision order: no passive model -> UNCERTAIN("no passive model") (score NaN, never invented);
a frozen or looped stream -> UNCERTAIN(that reason); a quality problem -> UNCERTAIN(reason); a
stream with fewer than ``min_frames`` passive scores of the face -> UNCERTAIN("not enough frames
yet"); score < threshold -> SPOOF; a stream without a recent blink -> UNCERTAIN("no blink yet");
else LIVE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastlive import results as R


@dataclass(frozen=True)
class Decision:
    score: float
    decision: str
    reason: str | None
    lift: float


def temporal_lift(passive: float, threshold: float, *, blink: float | None,
                  motion: float | None, cfg: Any) -> float:
    """How much the temporal cues raise ``passive`` (0 unless the passive score supports it)."""
    if not (math.isfinite(passive) and math.isfinite(threshold)):
        return 0.0
    if passive < threshold - cfg.temporal_margin:
        return 0.0
    # a missing or non-finite cue is no evidence (never NaN into the score)
    b = min(max(blink, 0.0), 1.0) if blink is not None and math.isfinite(blink) else 0.0
    m = min(max(motion, 0.0), 1.0) if motion is not None and math.isfinite(motion) else 0.0
    lift = cfg.temporal_margin * (cfg.blink_boost * b + cfg.motion_boost * m)
    return min(lift, 1.0 - passive)


def decide(passive: float | None, threshold: float, *, cfg: Any, stream: bool,
           n_scores: int = 1, quality_problem: str | None = None, blink: float | None = None,
           motion: float | None = None, replay: str | None = None) -> Decision:
    """Fuse one face's cues into a decision (see the module docstring). ``replay``: the
    session's frozen/looped-stream reason, or None."""
    if passive is None or not math.isfinite(passive):
        return Decision(float("nan"), R.UNCERTAIN, R.NO_MODEL, 0.0)
    lift = temporal_lift(passive, threshold, blink=blink, motion=motion, cfg=cfg) \
        if stream else 0.0
    score = min(max(passive + lift, 0.0), 1.0)
    if stream and replay is not None:
        return Decision(score, R.UNCERTAIN, replay, lift)
    if quality_problem is not None:
        return Decision(score, R.UNCERTAIN, quality_problem, lift)
    if stream and n_scores < cfg.min_frames:
        return Decision(score, R.UNCERTAIN, R.NOT_ENOUGH_FRAMES, lift)
    if not score >= threshold:
        return Decision(score, R.SPOOF, R.LOW_SCORE, lift)
    if stream and cfg.require_blink and not (blink is not None and blink >= 1.0):
        return Decision(score, R.UNCERTAIN, R.NO_BLINK, lift)
    return Decision(score, R.LIVE, None, lift)
