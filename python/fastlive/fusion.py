"""Cues -> score in [0, 1] -> decision LIVE / SPOOF / UNCERTAIN with a reason.

The score is the passive models' calibrated P(live) (fastlive.passive: fine-tuned MiniFASNet
networks fused by a logistic regression fitted on out-of-source predictions); in a stream, P(live)
of the mean fused logit over the last ``Config.window_s`` seconds of the face's track. Temporal
cues (a recent blink, natural head motion) can only *raise* a score the passive models already
support: they apply only when the smoothed passive score is within ``temporal_margin`` of the
threshold, and lift it by at most ``temporal_margin * (blink_boost + motion_boost)`` (< the
margin with the defaults), so a face the passive models reject stays rejected however much it
blinks or moves, and a static photo (no blink, no motion) gets its passive decision.

Liveness evidence in a stream: a stream that is neither frozen (the same frame repeated: a still
image injected as a camera) nor looped (earlier frames coming back); see
``fastlive.session.ReplayGuard``. With ``Config.require_blink`` LIVE also needs a blink within
``blink_recent_s`` (off by default: people blink every few seconds, so it delays a live user's
LIVE by seconds; it stops a printed photo held still, which the passive models already reject,
not a replayed video, which has blinks)

Decision order: no passive model -> UNCERTAIN("no passive model") (score NaN, never invented);
a frozen or looped stream -> UNCERTAIN(that reason); a quality problem -> UNCERTAIN(reason); a
stream with fewer than ``min_frames`` passive scores of the face -> UNCERTAIN("not enough frames
yet"); score < threshold -> SPOOF; with ``require_blink``, a stream without a recent blink ->
UNCERTAIN("no blink yet", or "no recent blink" when the face blinked longer ago); else LIVE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastlive import results as R

if TYPE_CHECKING:
    from fastlive.config import Config
    from fastlive.cues import Cues
    from fastlive.quality import Quality


@dataclass(frozen=True)
class Decision:
    score: float
    decision: str
    reason: str | None
    lift: float


def temporal_lift(passive: float, threshold: float, *, blink: float | None,
                  motion: float | None, cfg: Config) -> float:
    """How much the temporal cues raise ``passive`` (0 unless the passive score supports it)."""
    if not (math.isfinite(passive) and math.isfinite(threshold)):
        return 0.0
    if passive < threshold - cfg.temporal_margin:
        return 0.0
    # a missing or non-finite cue is no evidence (never NaN into the score)
    b = min(max(blink, 0.0), 1.0) if blink is not None and math.isfinite(blink) else 0.0
    m = min(max(motion, 0.0), 1.0) if motion is not None and math.isfinite(motion) else 0.0
    lift = cfg.temporal_margin * (cfg.blink_boost * b + cfg.motion_boost * m)
    return float(min(lift, 1.0 - passive))


def decide(passive: float | None, threshold: float, *, cfg: Config, stream: bool,
           n_scores: int = 1, quality_problem: str | None = None, blink: float | None = None,
           motion: float | None = None, replay: str | None = None,
           blinks: int = 0) -> Decision:
    """Fuse one face's cues into a decision (see the module docstring). ``replay``: the
    session's frozen/looped-stream reason, or None; ``blinks``: the face's blink count so
    far (for the reason)."""
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
        return Decision(score, R.UNCERTAIN, R.NO_RECENT_BLINK if blinks else R.NO_BLINK, lift)
    return Decision(score, R.LIVE, None, lift)


class FusionStage:
    """The fusion stage: one face's cues and quality -> :class:`Decision` (see
    :func:`decide`)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def run(self, cues: Cues, quality: Quality, threshold: float, *, stream: bool,
            n_scores: int, replay: str | None, blinks: int) -> Decision:
        return decide(cues.smoothed, threshold, cfg=self.config, stream=stream,
                      n_scores=n_scores, quality_problem=quality.problem, blink=cues.blink,
                      motion=cues.motion, replay=replay, blinks=blinks)
