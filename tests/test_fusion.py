"""fastlive.fusion: decisions, reasons, and the rule that temporal cues never make LIVE alone."""

from __future__ import annotations

import math

import pytest

from fastlive import fusion
from fastlive import results as R
from fastlive.config import Config

CFG = Config()
BLINK = Config(require_blink=True)
THR = 0.6


def test_no_passive_model_is_uncertain_with_nan_score():
    for p in (None, float("nan")):
        d = fusion.decide(p, THR, cfg=CFG, stream=True, n_scores=10, blink=1.0, motion=1.0)
        assert d.decision == R.UNCERTAIN and d.reason == R.NO_MODEL and math.isnan(d.score)


def test_single_image_passive_decision():
    assert fusion.decide(0.8, THR, cfg=CFG, stream=False).decision == R.LIVE
    d = fusion.decide(0.3, THR, cfg=CFG, stream=False)
    assert d.decision == R.SPOOF and d.reason == R.LOW_SCORE and d.score == 0.3
    assert fusion.decide(THR, THR, cfg=CFG, stream=False).decision == R.LIVE


def test_quality_problem_overrides_the_score():
    d = fusion.decide(0.99, THR, cfg=CFG, stream=False, quality_problem=R.TOO_DARK)
    assert d.decision == R.UNCERTAIN and d.reason == R.TOO_DARK


def test_stream_waits_for_enough_frames():
    d = fusion.decide(0.99, THR, cfg=CFG, stream=True, n_scores=CFG.min_frames - 1, blink=1.0)
    assert d.decision == R.UNCERTAIN and d.reason == R.NOT_ENOUGH_FRAMES
    assert fusion.decide(0.99, THR, cfg=CFG, stream=True, n_scores=CFG.min_frames,
                         blink=1.0).decision == R.LIVE


def test_stream_needs_a_live_feed_and_with_require_blink_a_blink():
    # without require_blink: the passive decision over the window, on a live feed
    assert fusion.decide(0.99, THR, cfg=CFG.replace(require_blink=False), stream=True,
                         n_scores=10).decision == R.LIVE
    assert CFG.require_blink  # the default
    d = fusion.decide(0.99, THR, cfg=BLINK, stream=True, n_scores=10, blink=0.0, motion=1.0)
    assert d.decision == R.UNCERTAIN and d.reason == R.NO_BLINK
    d = fusion.decide(0.99, THR, cfg=BLINK, stream=True, n_scores=10, blink=0.0, blinks=2)
    assert d.decision == R.UNCERTAIN and d.reason == R.NO_RECENT_BLINK
    assert fusion.decide(0.99, THR, cfg=BLINK, stream=True, n_scores=10,
                         blink=None).reason == R.NO_BLINK  # no eye model: fail closed
    assert fusion.decide(0.99, THR, cfg=BLINK, stream=True, n_scores=10,
                         blink=1.0).decision == R.LIVE
    for replay in (R.FROZEN, R.LOOPED):
        d = fusion.decide(0.99, THR, cfg=CFG, stream=True, n_scores=10, blink=1.0,
                          replay=replay)
        assert d.decision == R.UNCERTAIN and d.reason == replay
    # a clear spoof is reported as such even without a blink
    assert fusion.decide(0.1, THR, cfg=CFG, stream=True, n_scores=10).decision == R.SPOOF


@pytest.mark.parametrize("passive", [0.0, 0.1, 0.3, THR - CFG.temporal_margin - 1e-6])
def test_blink_and_motion_never_lift_an_unsupported_score(passive):
    d = fusion.decide(passive, THR, cfg=CFG, stream=True, n_scores=100, blink=1.0, motion=1.0)
    assert d.score == passive and d.lift == 0.0 and d.decision == R.SPOOF


def test_static_photo_is_never_live_in_a_stream_that_requires_a_blink():
    for p in (0.2, THR - 0.05, 0.9):
        d = fusion.decide(p, THR, cfg=BLINK, stream=True, n_scores=100, blink=0.0, motion=0.0)
        assert d.score == p  # no lift without cues
        assert d.decision == (R.UNCERTAIN if p >= THR else R.SPOOF)
        single = fusion.decide(p, THR, cfg=CFG, stream=False)
        assert single.decision == (R.LIVE if p >= THR else R.SPOOF)  # single image: passive


def test_temporal_cues_raise_a_supported_score_by_less_than_the_margin():
    p = THR - 0.05
    d = fusion.decide(p, THR, cfg=CFG, stream=True, n_scores=100, blink=1.0, motion=1.0)
    assert d.lift > 0 and d.score > p and d.decision == R.LIVE
    assert d.lift < CFG.temporal_margin
    d2 = fusion.decide(p, THR, cfg=CFG, stream=True, n_scores=100, blink=0.0, motion=0.5)
    assert 0 < d2.lift < d.lift
    # no temporal lift for single images
    assert fusion.decide(p, THR, cfg=CFG, stream=False, blink=1.0).decision == R.SPOOF


def test_score_stays_in_unit_interval():
    d = fusion.decide(0.999, 0.99, cfg=CFG, stream=True, n_scores=10, blink=1.0, motion=1.0)
    assert 0.0 <= d.score <= 1.0


def test_config_validation():
    with pytest.raises(ValueError, match="operating_point"):
        Config(operating_point="strict")
    with pytest.raises(ValueError, match="threshold"):
        Config(threshold=1.5)
    with pytest.raises(ValueError, match="redetect_every"):
        Config(redetect_every=0)
    with pytest.raises(ValueError, match="eyes"):
        Config(eyes="three")
    assert Config().replace(threshold=0.4).threshold == 0.4
    assert Config().blink_params()["close_ratio"] == Config().blink_close_ratio
