"""fastlive.cues: the blink cue agrees with the blink count (issue 21)."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive import cues
from fastlive.config import Config
from fastlive.kernels import BlinkTracker
from fastlive.track import Track


def _track():
    cfg = Config()
    return Track(1, (0, 0, 100, 100), None, "yunet", 0.0, 0.0,
                 BlinkTracker(**cfg.blink_params())), cfg


@pytest.mark.parametrize("depth", [0.4, 0.6, 0.68, 0.72, 0.76])
def test_every_blink_counted_is_evidence(depth):
    """A dip to ``depth`` x the open level: either it is counted and the cue is 1 while it is
    recent, or it is not counted and the cue stays 0. A shallow dip (0.72-0.76) used to be
    counted ("blinks 1" on the overlay) while the reason said "no blink yet"."""
    tr, cfg = _track()
    t = np.arange(0.0, 14.0, 1 / 30)
    e = np.full_like(t, 0.30)
    dip = (t >= 2.0) & (t < 2.2)
    e[dip] = 0.30 - 0.30 * (1 - depth) * np.sin(np.pi * (t[dip] - 2.0) / 0.2)
    for a, b in zip(t, e):
        tr.blink.update(float(a), float(b))
        cue = cues.blink_cue(tr, float(a), cfg.blink_recent_s)
        last = tr.blink.events[-1].end_s if tr.blink.events else None
        assert cue == (1.0 if last is not None and a - last <= cfg.blink_recent_s else 0.0)
    counted = tr.blink.blink_count
    assert counted == (1 if depth <= cfg.blink_depth_ratio else 0)
    assert cues.blink_cue(tr, 13.9, cfg.blink_recent_s) == 0.0  # 11.7 s after: not recent


def test_no_cue_without_eye_landmarks():
    tr = Track(1, (0, 0, 1, 1), None, "haar", 0.0, 0.0, None)
    assert cues.blink_cue(tr, 1.0, 10.0) is None
