"""warp_to_tensor vs the equivalent OpenCV chain (single thread), 128x128 CNN input.

Run: python -m pytest benchmarks/test_bench_warp.py --benchmark-enable -q
Compare the 'fused' and 'opencv' rows of each group (frame size).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive.kernels import warp_crop, warp_to_tensor

MEAN = np.array([123.675, 116.28, 103.53])
STD = np.array([58.395, 57.12, 57.375])
OUT = (128, 128)
FRAMES = {"112x112": (112, 112), "640x480": (480, 640), "1920x1080": (1080, 1920)}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    prev = cv2.getNumThreads()
    cv2.setNumThreads(1)
    yield
    cv2.setNumThreads(prev)


def make_case(name):
    h, w = FRAMES[name]
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)
    # a face-alignment similarity: a face of ~60% of the frame height, rotated 8 degrees
    face = 0.6 * min(h, w)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 8.0, 0.9 * OUT[0] / face)
    m[:, 2] += [OUT[1] / 2 - w / 2, OUT[0] / 2 - h / 2]
    return frame, m


def opencv_chain(frame, m, mean32, std32):
    crop = cv2.warpAffine(frame, m, (OUT[1], OUT[0]), flags=cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)
    norm = (rgb - mean32) / std32
    return np.ascontiguousarray(norm.transpose(2, 0, 1))[None]


@pytest.mark.parametrize("name", list(FRAMES))
def test_fused(benchmark, name):
    frame, m = make_case(name)
    benchmark.group = f"warp_to_tensor 128x128 from {name}"
    out = np.empty((1, 3) + OUT, np.float32)
    res = benchmark(warp_to_tensor, frame, m, OUT, mean=MEAN, std=STD, out=out)
    assert res is out
    # equals the normalised uint8 crop within half an intensity level (the crop is rounded)
    crop = warp_crop(frame, m, OUT)
    ref = (crop[..., ::-1].astype(np.float64) - MEAN) / STD
    assert np.abs(res[0].transpose(1, 2, 0) - ref).max() <= 0.5 / STD.min() + 1e-5
    np.testing.assert_array_equal(crop, cv2.warpAffine(frame, m, (OUT[1], OUT[0])))


@pytest.mark.parametrize("name", list(FRAMES))
def test_opencv(benchmark, name):
    frame, m = make_case(name)
    benchmark.group = f"warp_to_tensor 128x128 from {name}"
    mean32, std32 = MEAN.astype(np.float32), STD.astype(np.float32)
    res = benchmark(opencv_chain, frame, m, mean32, std32)
    fused = warp_to_tensor(frame, m, OUT, mean=MEAN, std=STD)
    assert res.shape == fused.shape == (1, 3) + OUT
    assert np.abs(res - fused).max() <= 0.5 / STD.min() + 1e-5


# Area downscaling (fastlive.kernels.resize_area) of a face region to a crop's scale, against
# cv2.resize INTER_AREA. Same pixels from both (asserted); compare the
# 'fastlive' and 'opencv' rows of each group. Run:
#   python -m pytest benchmarks/test_bench_warp.py -k area --benchmark-enable -q
AREA_CASES = {"450 px region -> 160": (450, 160), "700 px region -> 160": (700, 160),
              "700 px region -> 64": (700, 64)}


@pytest.mark.parametrize("impl", ["fastlive", "opencv"])
@pytest.mark.parametrize("case", list(AREA_CASES))
def test_area_prefilter(benchmark, case, impl):
    from fastlive.kernels import resize_area

    side, out = AREA_CASES[case]
    rng = np.random.default_rng(1)
    region = cv2.GaussianBlur(rng.integers(0, 256, (side, side + 7, 3), dtype=np.uint8),
                              (0, 0), 1.5)
    size = (out, round(out * (side + 7) / side))
    benchmark.group = f"INTER_AREA {case}"
    if impl == "fastlive":
        res = benchmark(resize_area, region, size)
    else:
        res = benchmark(cv2.resize, region, size[::-1], interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(res, cv2.resize(region, size[::-1],
                                                  interpolation=cv2.INTER_AREA))
