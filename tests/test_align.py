"""fastlive.align: similarity estimation and crop transforms."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive import align


def _similarity(angle, scale, tx, ty):
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, tx], [s, c, ty]])


def test_estimate_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (5, 2))
    m = _similarity(0.3, 1.7, 12.0, -4.0)
    dst = src @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(align.estimate_similarity(src, dst), m, atol=1e-9)


def test_keypoint_transform_maps_keypoints_onto_the_template():
    tmpl = align.TEMPLATE_5 * 112
    m_true = _similarity(-0.2, 0.5, 30.0, 40.0)
    # keypoints = template placed in a frame by the inverse of m_true
    inv = align.invert(m_true)
    kp = tmpl @ inv[:, :2].T + inv[:, 2]
    m = align.keypoint_transform(kp, 112)
    np.testing.assert_allclose(kp @ m[:, :2].T + m[:, 2], tmpl, atol=1e-6)


def test_scale_zooms_out_around_the_centre():
    kp = align.TEMPLATE_5 * 100
    m1 = align.keypoint_transform(kp, 100, 1.0)
    m2 = align.keypoint_transform(kp, 100, 2.0)
    assert np.hypot(*m2[:, 0]) == pytest.approx(np.hypot(*m1[:, 0]) / 2, rel=1e-9)


def test_box_transform_places_the_box_like_keypoints_would():
    box = (100.0, 50.0, 80.0, 80.0)
    m = align.box_transform(box, 64)
    centre = np.array([140.0, 90.0, 1.0]) @ m.T
    np.testing.assert_allclose(centre / 64, [align.BOX_IN_CROP["cx"], align.BOX_IN_CROP["cy"]],
                               atol=1e-9)
    assert m[0, 0] * 80 / 64 == pytest.approx(align.BOX_IN_CROP["side"])


def test_invert_roundtrip():
    m = _similarity(0.7, 2.0, 3.0, 4.0)
    inv = align.invert(m)
    p = np.array([10.0, 20.0])
    q = m[:, :2] @ p + m[:, 2]
    np.testing.assert_allclose(inv[:, :2] @ q + inv[:, 2], p)


@pytest.mark.parametrize(
    "call",
    [
        lambda: align.keypoint_transform(np.zeros((4, 2)), 64),
        lambda: align.keypoint_transform(np.full((5, 2), np.nan), 64),
        lambda: align.keypoint_transform(align.TEMPLATE_5, 0),
        lambda: align.keypoint_transform(align.TEMPLATE_5, 64, scale=0),
        lambda: align.box_transform((0, 0, 0, 10), 64),
        lambda: align.estimate_similarity(np.ones((5, 2)), np.ones((5, 2))),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
