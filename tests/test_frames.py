"""fastlive.frames.as_bgr: validation and explicit colour conversion."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive.frames import as_bgr


def _img(h=16, w=20, c=3, seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if c == 0 else (h, w, c)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def test_bgr_passthrough_is_a_view():
    img = _img()
    out = as_bgr(img)
    assert out is img


def test_row_strided_roi_is_used_without_copy():
    big = _img(40, 50)
    roi = big[5:30, 7:40]
    out = as_bgr(roi)
    assert np.shares_memory(out, big)
    np.testing.assert_array_equal(out, big[5:30, 7:40])


def test_negative_or_pixel_strides_are_made_contiguous_within_rows():
    img = _img()
    flipped = img[::-1]
    np.testing.assert_array_equal(as_bgr(flipped), img[::-1])
    every_other = _img(16, 40)[:, ::2]
    out = as_bgr(every_other)
    assert out.strides[1] == 3 and out.strides[2] == 1
    np.testing.assert_array_equal(out, every_other)


def test_rgb_is_reversed():
    img = _img()
    np.testing.assert_array_equal(as_bgr(img, color="rgb"), img[:, :, ::-1])


@pytest.mark.parametrize("shape", [(16, 20), (16, 20, 1)])
def test_gray_is_replicated(shape):
    g = _img(c=0).reshape(shape)
    out = as_bgr(g, color="gray")
    assert out.shape == (16, 20, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], g.reshape(16, 20))


def test_bgra_and_rgba_drop_alpha():
    img = _img(c=4)
    np.testing.assert_array_equal(as_bgr(img, color="bgra"), img[:, :, :3])
    np.testing.assert_array_equal(as_bgr(img, color="rgba"), img[:, :, 2::-1])


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        (None, TypeError, "got None"),
        ([[1, 2], [3, 4]], TypeError, "numpy array"),
        (np.zeros((16, 16, 3), np.float32), TypeError, "np.clip"),
        (np.zeros((16, 16, 3), np.int16), TypeError, "astype"),
        (np.zeros((0, 16, 3), np.uint8), ValueError, "empty"),
        (np.zeros((2, 16, 16, 3), np.uint8), ValueError, "one frame at a time"),
        (np.zeros((4, 4, 3), np.uint8), ValueError, "too small"),
        (np.zeros((16, 16, 4), np.uint8), ValueError, "color='bgra'"),
        (np.zeros((16, 16), np.uint8), ValueError, "color='gray'"),
    ],
)
def test_bad_frames_raise_naming_the_argument(bad, exc, words):
    with pytest.raises(exc) as ei:
        as_bgr(bad, "frame")
    assert "frame" in str(ei.value)
    assert words in str(ei.value)


def test_unknown_color_flag():
    with pytest.raises(ValueError, match="color"):
        as_bgr(_img(), color="yuv")
