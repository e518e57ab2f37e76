"""specular_stats throughput on a 640x480 region (single call = one core).

Run: python -m pytest benchmarks/test_bench_specular.py --benchmark-enable -q
Gpixel/s = 640 * 480 / mean time (also stored as extra_info["gpix_per_s"] in --benchmark-json).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastlive.kernels import specular_stats

H, W = 480, 640


def skin_region():
    """Smooth skin-like region with 40 well-separated highlights of known areas."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 8)
    img = cv2.normalize(base, None, 60, 170, cv2.NORM_MINMAX)
    areas = []
    for i in range(40):
        y, x = 30 + 100 * (i // 8), 30 + 80 * (i % 8)
        stamp = np.zeros((H, W), np.uint8)
        cv2.circle(stamp, (x, y), i % 4, 1, -1)
        img[stamp != 0] = (248, 250, 255)
        areas.append(int(stamp.sum()))
    return img, sorted(areas, reverse=True)


@pytest.mark.parametrize("kind", ["skin", "noise"])
def test_specular_640x480(benchmark, kind):
    benchmark.group = "specular_stats 640x480"
    if kind == "skin":
        img, areas = skin_region()
    else:  # worst case: many candidates and blobs on every row
        img = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
        areas = None
    res = benchmark(specular_stats, img)
    if areas is not None:
        assert res["n_blobs"] == 40 and res["blob_areas"] == areas
        assert res["ratio"] == pytest.approx(sum(areas) / (H * W))
    else:
        spec_pixels = res["ratio"] * H * W
        assert res["n_blobs"] > 1000 and sum(res["blob_areas"]) <= spec_pixels
    assert res["max_value"] == int(img.max(axis=2).max())
    assert res["mean_value"] == pytest.approx(img.max(axis=2).mean())
    if benchmark.stats is not None:
        benchmark.extra_info["gpix_per_s"] = H * W / benchmark.stats.stats.mean / 1e9
