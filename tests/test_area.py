"""fastlive.kernels.resize_area: pixel for pixel cv2.resize(..., INTER_AREA), on every ISA."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from guard_pages import guarded
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlive import _core, kernels
from fastlive.kernels import resize_area


def cv2_area(img: np.ndarray, h: int, w: int) -> np.ndarray:
    out = cv2.resize(np.ascontiguousarray(img), (w, h), interpolation=cv2.INTER_AREA)
    return out[:, :, None] if img.ndim == 3 and out.ndim == 2 else out


def each_isa(img, size, fn=resize_area):
    """{isa: fn(img, size)} for every ISA this CPU supports; restores the active one."""
    info = _core.simd_info()
    outs = {}
    try:
        for isa in info["supported"]:
            _core._set_isa(isa)
            outs[isa] = fn(img, size)
    finally:
        _core._set_isa(info["active"])
    return outs


@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_matches_cv2_on_random_sizes(channels):
    rng = np.random.default_rng(channels or 0)
    for _ in range(60):
        sh, sw = (int(v) for v in rng.integers(2, 260, 2))
        shape = (sh, sw) if channels is None else (sh, sw, channels)
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        if rng.random() < 0.3:  # flat plateaus: sums land exactly on .5 more often
            img = (img // 64 * 64 + 32).astype(np.uint8)
        h, w = int(rng.integers(1, sh + 1)), int(rng.integers(1, sw + 1))
        ref = cv2_area(img, h, w)
        for isa, out in each_isa(img, (h, w)).items():
            assert out.shape == ref.shape and out.dtype == np.uint8
            np.testing.assert_array_equal(out, ref, err_msg=f"{isa} {shape} -> {(h, w)}")


def test_prefilter_sizes_match_cv2():
    """The sizes the passive prefilter uses: a face region of 100-900 px to ~0.2-0.8 of it."""
    rng = np.random.default_rng(5)
    for side in (101, 257, 450, 700, 913):
        img = rng.integers(0, 256, (side, side + 13, 3), dtype=np.uint8)
        for s in (0.79, 0.5, 0.351, 0.2):
            h, w = max(1, round(side * s)), max(1, round((side + 13) * s))
            ref = cv2_area(img, h, w)
            for isa, out in each_isa(img, (h, w)).items():
                np.testing.assert_array_equal(out, ref, err_msg=f"{isa} {side} {s}")


def test_integer_factors_go_to_opencv():
    # OpenCV's integer-factor path rounds differently from its general one; resize_area
    # returns OpenCV's pixels there too
    rng = np.random.default_rng(1)
    for shape, size in (((64, 96, 3), (32, 48)), ((63, 90), (21, 30)), ((40, 40, 1), (10, 10)),
                        ((9, 12, 4), (9, 4))):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        out = resize_area(img, size)
        np.testing.assert_array_equal(out, cv2_area(img, *size))
        assert out.shape == size + shape[2:]


def test_roi_and_negative_stride_views():
    rng = np.random.default_rng(2)
    big = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for view in (big[17:251, 33:310], big[::-1], big[10:200:2, 5:390]):
        ref = cv2_area(view, 71, 93)
        for isa, out in each_isa(view, (71, 93)).items():
            np.testing.assert_array_equal(out, ref, err_msg=isa)


def test_isas_agree_for_every_output_width():
    if "avx2" not in _core.simd_info()["supported"]:
        pytest.skip("this CPU has no AVX2: only the scalar path exists")
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (37, 140, 3), dtype=np.uint8)
    for w in range(1, 66):
        for ch in (img, np.ascontiguousarray(img[:, :, :1]), np.ascontiguousarray(img[:, :, 0]),
                   np.dstack([img, img[:, :, :1]])):
            outs = each_isa(ch, (23, w), _core.resize_area)
            np.testing.assert_array_equal(outs["avx2"], outs["scalar"], err_msg=f"width {w}")


@settings(max_examples=150, deadline=None)
@given(sh=st.integers(1, 70), sw=st.integers(1, 70), ch=st.sampled_from([0, 1, 3, 4]),
       fh=st.floats(0.01, 1.0), fw=st.floats(0.01, 1.0), seed=st.integers(0, 2**31))
def test_hypothesis_matches_cv2_on_every_isa(sh, sw, ch, fh, fw, seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (sh, sw) if ch == 0 else (sh, sw, ch), dtype=np.uint8)
    h, w = max(1, min(sh, round(sh * fh))), max(1, min(sw, round(sw * fw)))
    ref = cv2_area(img, h, w)
    for isa, out in each_isa(img, (h, w)).items():
        np.testing.assert_array_equal(out, ref, err_msg=isa)


@pytest.mark.parametrize("at_end", [True, False])
def test_no_out_of_bounds_reads(at_end):
    rng = np.random.default_rng(4)
    keep = []
    for w in (1, 2, 3, 5, 8, 9, 11, 33):
        for shape in ((7, w, 3), (7, w), (7, w, 4)):
            img, buf = guarded(shape, at_end)
            keep.append(buf)
            img[...] = rng.integers(0, 256, shape, dtype=np.uint8)
            for view in (img, img[::-1]):
                for size in ((3, max(1, w // 3 + 1)), (7, w), (1, 1), (2, 1)):
                    outs = each_isa(view, size, _core.resize_area)
                    for out in outs.values():
                        np.testing.assert_array_equal(out, outs["scalar"])
                    if not kernels._opencv_integer_path(7, w, *size):
                        np.testing.assert_array_equal(outs["scalar"], cv2_area(view, *size))


def test_bad_arguments_name_the_argument_and_the_fix():
    img = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(ValueError, match="size: .*larger than the image.*cv2.resize"):
        resize_area(img, (21, 10))
    with pytest.raises(ValueError, match="size: .*out of range"):
        resize_area(img, (0, 10))
    with pytest.raises(TypeError, match="size: expected"):
        resize_area(img, 10)
    with pytest.raises(TypeError, match="size: expected integers"):
        resize_area(img, (10.5, 3))
    with pytest.raises(TypeError, match="image: expected dtype uint8.*astype"):
        resize_area(img.astype(np.float32), (10, 10))
    with pytest.raises(TypeError, match="image"):
        resize_area([[1, 2], [3, 4]], (1, 1))
    with pytest.raises(ValueError, match="image: pixels within a row must be contiguous"):
        resize_area(img[:, ::-1], (10, 10))  # integer factors (OpenCV's path) included
    with pytest.raises(ValueError, match="image: pixels within a row must be contiguous"):
        resize_area(img[:, ::-1], (7, 11))
