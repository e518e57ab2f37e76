"""fastlive.quality: occlusion by the frame edge (the other measures: test_api, test_fusion)."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive import quality
from fastlive import results as R
from fastlive.api import LivenessDetector
from fastlive.config import Config


def test_outside_share_counts_the_crop_beyond_the_frame():
    shape = (100, 200, 3)
    inside = np.array([[1.0, 0.0, -10.0], [0.0, 1.0, -10.0]])  # crop = frame[10:74, 10:74]
    assert quality.outside_share(inside, shape) == 0.0
    half = np.array([[1.0, 0.0, 32.0], [0.0, 1.0, -10.0]])  # crop x 0..63 <- frame x -32..31
    assert quality.outside_share(half, shape) == pytest.approx(0.5)
    corner = np.array([[1.0, 0.0, 32.0], [0.0, 1.0, 32.0]])  # a quarter inside
    assert quality.outside_share(corner, shape) == pytest.approx(0.75)
    far = np.array([[1.0, 0.0, -1000.0], [0.0, 1.0, 0.0]])
    assert quality.outside_share(far, shape) == 1.0
    # a 2x minified crop covers twice the frame: half of it beyond the right edge
    mini = np.array([[0.5, 0.0, -68.0], [0.0, 0.5, 0.0]])  # frame x 136..263 -> crop 0..63
    assert quality.outside_share(mini, (300, 200, 3)) == pytest.approx(0.5)


def _shifted(frame, dx):
    out = np.zeros_like(frame)
    out[:, dx:] = frame[:, : frame.shape[1] - dx]
    return out


def test_face_cut_by_the_frame_edge(frame):
    det = LivenessDetector()
    (f,) = det.score_frame(frame).faces
    assert f.quality["occlusion"] == 0.0
    cut = _shifted(frame, 300)  # the face (x 266..416) pushed past the right edge
    (g,) = det.score_frame(cut).faces
    assert 0.25 < g.quality["occlusion"] < 0.75
    assert g.reason != R.OCCLUDED  # reported, not a gate by default
    gated = LivenessDetector(Config(max_occlusion=0.2))
    (h,) = gated.score_frame(cut).faces
    assert h.decision == R.UNCERTAIN and h.reason == R.OCCLUDED
    assert h.score == pytest.approx(g.score)
    (k,) = gated.score_frame(frame).faces
    assert k.reason != R.OCCLUDED
    # a tight face crop always extends past its image: score_face never gates on it
    x, y, w, hh = (int(v) for v in f.box)
    tight = np.ascontiguousarray(frame[y:y + hh, x:x + w])
    (c,) = gated.score_face(tight).faces
    assert c.quality["occlusion"] > 0.2 and c.reason != R.OCCLUDED


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.3", float("nan")])
def test_max_occlusion_is_validated(bad):
    with pytest.raises(ValueError, match="max_occlusion"):
        Config(max_occlusion=bad)
