"""LBP uniform histograms, 4x4 grid: fastlive (active ISA, scalar) vs scikit-image vs numpy.

Run: python -m pytest benchmarks/test_bench_lbp.py --benchmark-enable -q
Each benchmark also asserts its result. Input: the first NUAA live frame from the shared data
(gray, resized with cv2.INTER_LINEAR to each size) when present, else a seeded random image.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from fastlive import _core, kernels

GRID = (4, 4)
SIZES = {"112x112": (112, 112), "640x480": (480, 640), "1920x1080": (1080, 1920)}
OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FRAME = "nuaa/live/0001/0001_00_00_01_0.jpg"


def _uniform_lut() -> np.ndarray:
    def transitions(c: int) -> int:
        return sum(((c >> k) & 1) != ((c >> ((k + 1) % 8)) & 1) for k in range(8))

    uniform = [c for c in range(256) if transitions(c) <= 2]
    lut = np.full(256, len(uniform), np.uint8)
    lut[uniform] = np.arange(len(uniform))
    return lut


LUT = _uniform_lut()


def _image(size: str) -> tuple[np.ndarray, str]:
    h, w = SIZES[size]
    path = SHARED / FRAME
    if path.is_file():
        import cv2

        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is not None:
            return cv2.resize(gray, (w, h), interpolation=cv2.INTER_LINEAR), "nuaa"
    return np.random.default_rng(0).integers(0, 256, (h, w), dtype=np.uint8), "random"


def _cells(h: int, w: int) -> list[tuple[slice, slice]]:
    gy, gx = GRID
    return [
        (slice(i * h // gy, (i + 1) * h // gy), slice(j * w // gx, (j + 1) * w // gx))
        for i in range(gy)
        for j in range(gx)
    ]


def numpy_lbp_hist(img: np.ndarray) -> np.ndarray:
    """Vectorised numpy LBP(8,1) + uniform 4x4 histograms (the baseline to beat)."""
    h, w = img.shape
    centre = img[1:-1, 1:-1]
    code = np.zeros(centre.shape, np.uint8)
    for k, (dy, dx) in enumerate(OFFSETS):
        nb = img[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
        code |= (nb >= centre).view(np.uint8) << np.uint8(k)
    mapped = LUT[code]
    hc, wc = code.shape
    gy, gx = GRID
    cell_y = np.searchsorted(np.arange(1, gy) * hc // gy, np.arange(hc), side="right")
    cell_x = np.searchsorted(np.arange(1, gx) * wc // gx, np.arange(wc), side="right")
    cell = (cell_y[:, None] * gx + cell_x[None, :]) * 59 + mapped
    counts = np.bincount(cell.ravel(), minlength=gy * gx * 59).reshape(gy * gx, 59)
    return (counts / counts.sum(axis=1, keepdims=True)).astype(np.float32).ravel()


def skimage_lbp_hist(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(img, P=8, R=1, method="default")[1:-1, 1:-1]
    mapped = LUT[codes.astype(np.uint8)]
    hists = []
    for ys, xs in _cells(*mapped.shape):
        hist, _ = np.histogram(mapped[ys, xs], bins=59, range=(0, 59))
        hists.append(hist / hist.sum())
    return np.concatenate(hists).astype(np.float32), codes


@pytest.fixture(params=list(SIZES))
def case(request, benchmark):
    img, source = _image(request.param)
    benchmark.group = f"lbp uniform 4x4 {request.param} ({source})"
    benchmark.extra_info["pixels"] = img.size
    return img, numpy_lbp_hist(img)


def test_fastlive_active(benchmark, case):
    img, want = case
    got = benchmark(kernels.lbp_histogram, img, GRID)
    benchmark.extra_info["isa"] = _core.simd_info()["active"]
    np.testing.assert_array_equal(got, want)


def test_fastlive_scalar(benchmark, case):
    img, want = case
    prev = _core.simd_info()["active"]
    _core._set_isa("scalar")
    try:
        got = benchmark(kernels.lbp_histogram, img, GRID)
    finally:
        _core._set_isa(prev)
    np.testing.assert_array_equal(got, want)


def test_numpy_vectorised(benchmark, case):
    img, want = case
    got = benchmark(numpy_lbp_hist, img)
    np.testing.assert_array_equal(got, want)


def test_skimage(benchmark, case):
    img, want = case
    got, codes = benchmark(skimage_lbp_hist, img)
    # skimage interpolates the diagonal samples, so only its axis bits equal ours:
    # skimage bit 0 (0,+1) = our bit 3, bit 2 (-1,0) = 1, bit 4 (0,-1) = 7, bit 6 (+1,0) = 5.
    ours = kernels.lbp_codes(img).astype(np.int64)
    sk = codes.astype(np.int64)
    for p, b in [(0, 3), (2, 1), (4, 7), (6, 5)]:
        np.testing.assert_array_equal((sk >> p) & 1, (ours >> b) & 1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.reshape(16, 59).sum(1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_fastlive_threads(benchmark, threads):
    """Throughput on 8 full-HD frames with 1 or 2 threads (the GIL is released in the kernel)."""
    img, source = _image("1920x1080")
    benchmark.group = f"lbp uniform 4x4 1920x1080 x8 frames, threads ({source})"
    frames = [np.ascontiguousarray(np.roll(img, k, axis=1)) for k in range(8)]
    want = [numpy_lbp_hist(f) for f in frames[:2]]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        got = benchmark(lambda: list(pool.map(lambda f: kernels.lbp_histogram(f, GRID), frames)))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
