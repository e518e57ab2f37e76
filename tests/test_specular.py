"""specular_stats against a numpy/cv2 implementation of its documented definition."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from guard_pages import guarded
from hypothesis import given
from hypothesis import strategies as st

from fastlive import _core
from fastlive.kernels import specular_stats

DEFAULTS = {"v_min": 200, "s_max": 64, "local_delta": 16, "min_blob": 1, "block": 8}


def oracle(bgr, mask=None, **kw):
    p = {**DEFAULTS, **kw}
    bs = p["block"]
    px = bgr.astype(np.int64)
    hi, lo = px.max(axis=2), px.min(axis=2)
    cons = np.ones(hi.shape, bool) if mask is None else np.asarray(mask) != 0
    v = np.where(cons, hi, 0)
    h, w = hi.shape
    hb, wb = -(-h // bs), -(-w // bs)

    def tiles(a):
        pad = np.zeros((hb * bs, wb * bs), np.int64)
        pad[:h, :w] = a
        t = pad.reshape(hb, bs, wb, bs).sum(axis=(1, 3))
        t = np.pad(t, 1)
        nb = sum(t[1 + dy:1 + dy + hb, 1 + dx:1 + dx + wb] for dy in (-1, 0, 1)
                 for dx in (-1, 0, 1))
        return np.repeat(np.repeat(nb, bs, axis=0), bs, axis=1)[:h, :w]

    s_loc, n_loc = tiles(v), tiles(cons.astype(np.int64))
    cand = cons & (hi >= p["v_min"]) & (255 * (hi - lo) <= p["s_max"] * hi)
    spec = cand & (n_loc > 0) & (hi * n_loc >= s_loc + p["local_delta"] * n_loc)
    _, _, stats, _ = cv2.connectedComponentsWithStats(spec.astype(np.uint8), connectivity=8)
    areas = sorted((int(a) for a in stats[1:, cv2.CC_STAT_AREA] if a >= p["min_blob"]),
                   reverse=True)
    return {
        "ratio": spec.sum() / cons.sum(),
        "n_blobs": len(areas),
        "blob_areas": areas[:64],
        "max_value": int(v[cons].max()),
        "mean_value": float(v[cons].mean()),
    }


def check(got, ref):
    assert set(got) == set(ref)
    assert got["ratio"] == pytest.approx(ref["ratio"], abs=1e-12)
    assert got["n_blobs"] == ref["n_blobs"]
    assert got["blob_areas"] == ref["blob_areas"]
    assert got["max_value"] == ref["max_value"]
    assert got["mean_value"] == pytest.approx(ref["mean_value"], rel=1e-12)


def skin_with_highlights(h=120, w=160, seed=0, n=12):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 6)
    img = cv2.normalize(base, None, 70, 190, cv2.NORM_MINMAX)
    img[..., 2] = np.clip(img[..., 2].astype(int) + 30, 0, 255)  # skin-ish: more red
    for _ in range(n):
        y, x = rng.integers(3, h - 3), rng.integers(3, w - 3)
        cv2.circle(img, (int(x), int(y)), int(rng.integers(0, 3)), (245, 250, 255), -1)
    return img


@pytest.fixture
def isas():
    info = _core.simd_info()
    prev = info["active"]
    yield list(info["supported"])
    _core._set_isa(prev)


def test_known_blobs():
    img = np.full((60, 80, 3), 100, np.uint8)
    cv2.circle(img, (15, 15), 3, (255, 255, 255), -1)
    cv2.circle(img, (50, 40), 2, (240, 240, 250), -1)
    img[30, 70] = img[31, 71] = (230, 230, 230)  # diagonal neighbours: one 8-connected blob
    img[5, 60] = (0, 0, 255)  # bright but saturated red: not specular
    areas = sorted([int((img[:, :40] == 255).all(axis=2).sum()), 13, 2], reverse=True)
    r = specular_stats(img)
    assert r["n_blobs"] == 3
    assert r["blob_areas"] == areas
    assert r["ratio"] == pytest.approx(sum(areas) / (60 * 80))
    assert r["max_value"] == 255
    check(r, oracle(img))
    assert specular_stats(img, min_blob=3)["n_blobs"] == 2
    assert specular_stats(img, s_max=255)["n_blobs"] == 4  # the red pixel now qualifies


def test_large_flat_bright_area_is_not_local_highlight():
    img = np.full((64, 64, 3), 60, np.uint8)
    img[8:56, 8:56] = 230  # larger than the 3x3-tile neighbourhood
    r = specular_stats(img)
    # plateau = tiles 1..6; the 4x4 tiles 2..5 have only plateau around them, so they are not
    # "brighter than their surroundings"; the plateau's rim tiles are
    assert r["ratio"] * 64 * 64 == pytest.approx(48 * 48 - 32 * 32)
    assert r["n_blobs"] == 1
    check(r, oracle(img))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kw", [{}, {"block": 4, "local_delta": 5}, {"block": 16, "v_min": 180},
                                {"s_max": 255, "local_delta": 0, "v_min": 0}])
def test_matches_oracle(seed, kw):
    img = skin_with_highlights(seed=seed)
    check(specular_stats(img, **kw), oracle(img, **kw))
    noise = np.random.default_rng(seed).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    check(specular_stats(noise, **kw), oracle(noise, **kw))


def test_mask_uint8_and_bool():
    img = skin_with_highlights(seed=5)
    rng = np.random.default_rng(5)
    mask = ((rng.random(img.shape[:2]) < 0.7) * rng.integers(1, 256)).astype(np.uint8)
    check(specular_stats(img, mask), oracle(img, mask))
    bmask = mask != 0
    check(specular_stats(img, bmask), oracle(img, bmask))
    # an ellipse (eye-shaped) mask excludes everything outside it
    ell = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(ell, (80, 60), (30, 12), 0, 0, 360, 1, -1)
    r = specular_stats(img, ell)
    check(r, oracle(img, ell))
    assert r["mean_value"] == pytest.approx(img.max(axis=2)[ell != 0].mean())


def test_blob_areas_capped_at_64():
    img = np.full((64, 96, 3), 90, np.uint8)
    img[2::6, 2::6] = 250  # 11 x 16 = 176 isolated single-pixel highlights
    r = specular_stats(img)
    assert r["n_blobs"] == 176
    assert r["blob_areas"] == [1] * 64
    check(r, oracle(img))


def test_widths_1_to_65_isas_and_oracle(isas):
    rng = np.random.default_rng(9)
    for w in range(1, 66):
        img = skin_with_highlights(h=17, w=max(w, 8), seed=w)[:, :w]
        img = np.ascontiguousarray(img)
        noise = rng.integers(150, 256, (9, w, 3), dtype=np.uint8)
        mask = rng.integers(0, 3, (9, w), dtype=np.uint8)
        mask[0, 0] = 1
        for im, mk in ((img, None), (noise, None), (noise, mask)):
            ref = oracle(im, mk, block=3, local_delta=4)
            for isa in isas:
                _core._set_isa(isa)
                check(specular_stats(im, mk, block=3, local_delta=4), ref)


def test_roi_views_match_copies():
    img = skin_with_highlights(h=200, w=240, seed=3, n=40)
    roi = img[17:170, 33:201]
    mask = np.random.default_rng(1).integers(0, 2, (200, 240), dtype=np.uint8)
    mroi = mask[17:170, 33:201]
    assert not roi.flags.c_contiguous and not mroi.flags.c_contiguous
    check(specular_stats(roi, mroi), specular_stats(np.ascontiguousarray(roi),
                                                    np.ascontiguousarray(mroi)))
    check(specular_stats(roi, mroi), oracle(roi, mroi))


@given(h=st.integers(1, 40), w=st.integers(1, 70), seed=st.integers(0, 2**31),
       lo=st.integers(0, 255), v_min=st.integers(0, 255), s_max=st.integers(0, 255),
       delta=st.integers(0, 60), block=st.integers(1, 20), min_blob=st.integers(1, 4),
       use_mask=st.booleans())
def test_hypothesis_oracle_and_isas(h, w, seed, lo, v_min, s_max, delta, block, min_blob,
                                    use_mask):
    rng = np.random.default_rng(seed)
    img = rng.integers(lo, 256, (h, w, 3), dtype=np.uint8)
    mask = None
    if use_mask:
        mask = rng.integers(0, 2, (h, w), dtype=np.uint8)
        mask.flat[rng.integers(0, h * w)] = 1
    kw = {"v_min": v_min, "s_max": s_max, "local_delta": delta, "block": block,
          "min_blob": min_blob}
    ref = oracle(img, mask, **kw)
    info = _core.simd_info()
    prev = info["active"]
    try:
        for isa in info["supported"]:
            _core._set_isa(isa)
            check(specular_stats(img, mask, **kw), ref)
    finally:
        _core._set_isa(prev)


# --------------------------------------------------------------------------- guard pages


@pytest.mark.parametrize("at_end", [True, False])
def test_no_out_of_bounds_reads(isas, at_end):
    rng = np.random.default_rng(4)
    keep = []
    for w in (1, 31, 32, 33, 63, 64, 65, 97):
        img, b1 = guarded((5, w, 3), at_end)
        mask, b2 = guarded((5, w), at_end)
        keep += [b1, b2]
        img[...] = rng.integers(150, 256, img.shape, dtype=np.uint8)
        mask[...] = rng.integers(0, 2, mask.shape, dtype=np.uint8)
        mask[0, 0] = 1
        for im, mk in ((img, mask), (img[::-1], mask[::-1]), (img, None)):
            ref = oracle(np.ascontiguousarray(im), mk, local_delta=3)
            for isa in isas:
                _core._set_isa(isa)
                check(specular_stats(im, mk, local_delta=3), ref)


def test_threads_match_serial():
    imgs = [skin_with_highlights(h=240, w=320, seed=s, n=60) for s in range(4)]
    serial = [specular_stats(im) for im in imgs]
    results: list = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        for _ in range(20):
            results[i] = specular_stats(imgs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == serial


IMG = np.zeros((10, 12, 3), np.uint8)


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        ((IMG.astype(np.float32),), {}, TypeError, "bgr: expected dtype uint8"),
        ((IMG[..., 0],), {}, ValueError, r"bgr: expected an \(H, W, 3\)"),
        ((None,), {}, TypeError, "bgr: expected a numpy.ndarray, got None"),
        ((IMG, np.ones((10, 11), np.uint8)), {}, ValueError, r"mask: expected shape \(10, 12\)"),
        ((IMG, np.ones((10, 12), np.float32)), {}, TypeError, "mask: expected dtype uint8"),
        ((IMG, np.ones((10, 12, 1), np.uint8)), {}, ValueError, "mask: expected a 2-D"),
        ((IMG, np.zeros((10, 12), np.uint8)), {}, ValueError, "mask: selects no pixels"),
        ((IMG,), {"v_min": 256}, ValueError, r"v_min: must be in 0..255"),
        ((IMG,), {"s_max": -1}, ValueError, r"s_max: must be in 0..255"),
        ((IMG,), {"local_delta": 300}, ValueError, r"local_delta: must be in 0..255"),
        ((IMG,), {"min_blob": 0}, ValueError, "min_blob: must be >= 1"),
        ((IMG,), {"block": 0}, ValueError, r"block: must be in 1..64"),
        ((IMG,), {"block": 65}, ValueError, r"block: must be in 1..64"),
        ((IMG,), {"v_min": 200.5}, TypeError, "v_min"),
    ],
)
def test_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        specular_stats(*args, **kwargs)
