#!/usr/bin/env python3
"""Fuzz harness over fastlive's Python API, and Python replays of the C++ harnesses' inputs.

Two roles:

* ``api_one_input(data)``: the atheris target. The bytes choose an entry point
  (``score_frame``, ``score_face``, ``LivenessDetector`` streams, ``as_bgr`` and every kernel)
  and build its arguments: wrong types, float/bool/int16 arrays, 0-size, 1-D/4-D, tiny frames,
  padded and negative strides, NaN/inf matrices and landmarks, odd sizes/grids/flags. The
  contract: a valid result, or ``TypeError``/``ValueError``; any other exception, a crash or a
  hang is a finding.
* ``replay(harness, data)``: decodes an input of the libFuzzer harness ``fuzz/fuzz_<harness>.cpp``
  byte for byte the same way (see fuzz/common.hpp) and runs it through the Python binding,
  checking the binding refuses exactly what the C++ harness skips and that results satisfy the
  harness's invariants (numpy oracles, ISA equality). tests/test_fuzz_regressions.py replays
  fuzz/corpus/ and fuzz/regressions/ with it.

Run: ``python fuzz/fuzz_api.py [libFuzzer flags] [corpus dirs]`` (atheris), or with
``--no-atheris`` a random-bytes loop honouring ``-max_total_time``. scripts/fuzz.sh runs it.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Callable

import numpy as np

ALLOWED = (TypeError, ValueError)


class Reader:
    """Mirror of fuzz::Reader (fuzz/common.hpp)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def u8(self) -> int:
        if self.pos < len(self.data):
            self.pos += 1
            return self.data[self.pos - 1]
        return 0

    def u16(self) -> int:
        lo = self.u8()
        return lo | (self.u8() << 8)

    def f64(self) -> float:
        raw = bytes(self.u8() for _ in range(8))
        return float(np.frombuffer(raw, dtype="<f8")[0])

    def real(self, scale: float) -> float:
        mode = self.u8()
        if mode < 224:
            v = self.u16()
            return (v - 65536 if v >= 32768 else v) / scale
        return self.f64()

    def fill(self, n: int) -> np.ndarray:
        rest = self.data[self.pos:]
        if not rest:
            return np.zeros(n, np.uint8)
        reps = -(-n // len(rest))
        return np.frombuffer(rest * reps, np.uint8)[:n].copy()


def make_image(rd: Reader, h: int, w: int, c: int, *, two_d: bool = False) -> np.ndarray:
    """Mirror of fuzz::make_image: exact-size buffer, padded, possibly negative row stride."""
    pad = rd.u8() % 64
    flip = rd.u8() & 1
    row = w * c
    stride = row + pad
    buf = rd.fill((h - 1) * stride + row)
    shape: tuple[int, ...] = (h, w) if two_d else (h, w, c)
    strides: tuple[int, ...] = (stride, c) if two_d else (stride, c, 1)
    if flip:
        return np.ndarray(shape, np.uint8, buf, offset=(h - 1) * stride,
                          strides=(-stride,) + strides[1:])
    return np.ndarray(shape, np.uint8, buf, offset=0, strides=strides)


def _core() -> Any:
    from fastlive import _core

    return _core


def _isas() -> list[str]:
    return list(_core().simd_info()["supported"])


def _on_each_isa(fn: Callable[[], Any]) -> list[Any]:
    """fn() once per supported ISA (scalar first); restores the active ISA."""
    core = _core()
    active = core.simd_info()["active"]
    out = []
    try:
        for isa in _isas():
            core._set_isa(isa)
            out.append(fn())
    finally:
        core._set_isa(active)
    return out


def _expect_refusal(fn: Callable[[], Any], what: str) -> str:
    try:
        fn()
    except ValueError:
        return "refused"
    raise AssertionError(f"{what}: the C++ harness skips this input, the binding accepted it")


# ---------------------------------------------------------------------------------------------
# Replays of the C++ harnesses
# ---------------------------------------------------------------------------------------------

_LBP_DY = (-1, -1, -1, 0, 1, 1, 1, 0)
_LBP_DX = (-1, 0, 1, 1, 1, 0, -1, -1)


def lbp_codes_oracle(plane: np.ndarray, r: int) -> np.ndarray:
    p = plane.astype(np.int16)
    h, w = p.shape
    c = p[r:h - r, r:w - r]
    code = np.zeros(c.shape, np.uint8)
    for k in range(8):
        nb = p[r + _LBP_DY[k] * r:h - r + _LBP_DY[k] * r, r + _LBP_DX[k] * r:w - r + _LBP_DX[k] * r]
        code |= ((nb >= c).astype(np.uint8) << k).astype(np.uint8)
    return code


def _uniform_table() -> np.ndarray:
    table = np.empty(256, np.int64)
    nxt = 0
    for code in range(256):
        t = sum(((code >> k) & 1) != ((code >> ((k + 1) & 7)) & 1) for k in range(8))
        if t <= 2:
            table[code] = nxt
            nxt += 1
        else:
            table[code] = 58
    return table


_UNIFORM = _uniform_table()


def lbp_hist_oracle(codes: np.ndarray, gy: int, gx: int, uniform: bool, normalize: bool
                    ) -> np.ndarray:
    hc, wc = codes.shape
    bins = 59 if uniform else 256
    out = []
    for i in range(gy):
        y0, y1 = i * hc // gy, (i + 1) * hc // gy
        for j in range(gx):
            x0, x1 = j * wc // gx, (j + 1) * wc // gx
            cell = codes[y0:y1, x0:x1].ravel()
            idx = _UNIFORM[cell] if uniform else cell.astype(np.int64)
            cnt = np.bincount(idx, minlength=bins).astype(np.float64)
            out.append((cnt / ((y1 - y0) * (x1 - x0))) if normalize else cnt)
    return np.concatenate(out).astype(np.float32)


def replay_lbp(data: bytes) -> str:
    from fastlive import kernels

    rd = Reader(data)
    channels = 1 + rd.u8() % 4
    r = 1 + rd.u8() % 2
    h = 1 + rd.u8() % 80
    w = 1 + rd.u16() % 300
    gy, gx = 1 + rd.u8() % 8, 1 + rd.u8() % 8
    mapping = "uniform" if rd.u8() & 1 else "default"
    normalize = bool(rd.u8() & 1)
    if h < 2 * r + 1 or w < 2 * r + 1 or gy > h - 2 * r or gx > w - 2 * r:
        img = np.zeros((h, w, channels), np.uint8)
        return _expect_refusal(
            lambda: kernels.lbp_histogram_multi(img, (gy, gx), mapping, normalize, r),
            "lbp_histogram_multi")
    img = make_image(rd, h, w, channels)
    want_codes = [lbp_codes_oracle(img[:, :, ch], r) for ch in range(channels)]
    want = np.concatenate([lbp_hist_oracle(c, gy, gx, mapping == "uniform", normalize)
                           for c in want_codes])
    for got in _on_each_isa(
            lambda: kernels.lbp_histogram_multi(img, (gy, gx), mapping, normalize, r)):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    if channels == 1:
        gray = img[:, :, 0]
        for got in _on_each_isa(lambda: kernels.lbp_codes(gray, r)):
            np.testing.assert_array_equal(got, want_codes[0])
        for got in _on_each_isa(
                lambda: kernels.lbp_histogram(gray, (gy, gx), mapping, normalize, r)):
            np.testing.assert_array_equal(got, want)
    return "ok"


def replay_warp(data: bytes) -> str:
    from fastlive import kernels

    rd = Reader(data)
    flags = rd.u8()
    channels = 3 if flags & 1 else 1
    identity = bool(flags & 2)
    border = "replicate" if flags & 4 else "constant"
    order = "rgb" if flags & 8 else "bgr"
    lighting = "standardize" if flags & 16 else "none"
    h, w = 1 + rd.u8() % 64, 1 + rd.u8() % 64
    big = rd.u8() == 255
    out_h = 1 + rd.u16() % 4096 if big else 1 + rd.u8() % 72
    out_w = 1 + rd.u8() % 72
    bv = rd.u8()
    if identity:
        tx, ty = rd.u8() % 8, rd.u8() % 8
        m = np.array([[1, 0, -tx], [0, 1, -ty]], np.float64)
    else:
        m = np.array([rd.real(256.0) for _ in range(6)], np.float64).reshape(2, 3)
    mean, sd = [], []
    for _ in range(3):
        mean.append(rd.real(64.0))
        sd.append(rd.real(64.0))
    size = (out_h, out_w)
    if not np.all(np.isfinite(m)):
        probe = np.zeros((4, 4, channels), np.uint8)
        return _expect_refusal(lambda: kernels.warp_crop(probe, m, size),
                               "warp_crop (non-finite)")
    img = make_image(rd, h, w, channels)
    try:
        crops = _on_each_isa(
            lambda: kernels.warp_crop(img, m, size, border=border, border_value=bv))
    except ValueError as e:
        # make_grid refused the matrix (singular, or beyond +-1e6 source pixels); the C++
        # harness skips exactly these.
        assert str(e).startswith("affine:"), e
        return "refused"
    crop = crops[0]
    assert crop.dtype == np.uint8 and crop.shape == (out_h, out_w, channels)
    for other in crops[1:]:
        np.testing.assert_array_equal(other, crop)
    if identity:
        tx, ty = int(-m[0, 2]), int(-m[1, 2])
        hh, ww = min(out_h, h - ty), min(out_w, w - tx)
        if hh > 0 and ww > 0:
            np.testing.assert_array_equal(crop[:hh, :ww], img[ty:ty + hh, tx:tx + ww])
    if channels != 3:
        return "ok"
    # Unit mean/std, no lighting: the tensor is the unrounded sample, so it rounds (half up)
    # to the crop exactly.
    for t in _on_each_isa(lambda: kernels.warp_to_tensor(
            img, m, size, mean=(0, 0, 0), std=(1, 1, 1), channel_order="bgr",
            border=border, border_value=bv)):
        assert t.shape == (1, 3, out_h, out_w) and t.dtype == np.float32
        np.testing.assert_array_equal(np.floor(t[0] + 0.5).astype(np.uint8),
                                      crop.transpose(2, 0, 1))
    params_ok = all(math.isfinite(v) for v in mean) and all(
        math.isfinite(v) and v > 0 for v in sd)
    if not params_ok:
        _expect_refusal(lambda: kernels.warp_to_tensor(img, m, size, mean=mean, std=sd),
                        "warp_to_tensor (mean/std)")
        return "ok"
    outs = _on_each_isa(lambda: kernels.warp_to_tensor(
        img, m, size, mean=mean, std=sd, channel_order=order, lighting=lighting,
        border=border, border_value=bv))
    sane = all(abs(v) < 1e6 for v in mean) and all(1e-6 < v < 1e30 for v in sd)
    for t in outs:
        np.testing.assert_array_equal(t, outs[0])
        if sane:
            assert np.all(np.isfinite(t)), "warp_to_tensor produced NaN/inf"
    return "ok"


def replay_eye(data: bytes) -> str:
    from fastlive import kernels

    rd = Reader(data)
    p = np.array([rd.real(64.0) for _ in range(12)], np.float64).reshape(6, 2)
    status = "ok"
    if not np.all(np.isfinite(p)):
        status = _expect_refusal(lambda: kernels.eye_aspect_ratio(p),
                                 "eye_aspect_ratio (non-finite)")
    else:
        try:
            e = kernels.eye_aspect_ratio(p)
        except ValueError:
            e = None  # degenerate eye (coinciding corners, or an overflowing distance)
            status = "refused"
        if e is not None:
            assert e >= 0.0, e
            q = p.tolist()
            # a degenerate eye must be refused, not returned as inf (corners 1e-300 apart)
            assert math.isfinite(e), f"eye_aspect_ratio returned {e} for finite points {q}"
            d = math.dist(q[1], q[5]) + math.dist(q[2], q[4])
            den = 2.0 * math.dist(q[0], q[3])
            want = d / den if den > 0 and math.isfinite(den) else math.nan
            if math.isfinite(want):
                assert math.isclose(e, want, rel_tol=1e-12, abs_tol=1e-300), (e, want)
    kw: dict[str, Any] = {}
    if rd.u8() & 1:
        kw = dict(close_ratio=rd.real(256.0), open_ratio=rd.real(256.0),
                  min_duration_s=rd.real(1024.0), max_duration_s=rd.real(1024.0),
                  baseline_window_s=rd.real(256.0), baseline_quantile=rd.real(256.0),
                  warmup_s=rd.real(1024.0))
        kw["warmup_samples"] = rd.u16() - 8
        kw["max_events"] = rd.u16() % 300 - 2
    try:
        tr = kernels.BlinkTracker(**kw)
    except ValueError:
        return "refused"  # validate() refused: the C++ harness skips it too
    prm = tr.params
    t = rd.real(16.0)
    if not math.isfinite(t):
        t = 0.0
    steps = 1 + rd.u16() % 2000
    for i in range(steps):
        kind = rd.u8()
        if kind < 200:
            dt = (1 + kind % 64) / 240.0
        elif kind < 250:
            dt = (kind - 199) * 0.5
        else:
            dt = math.ldexp(1.0, -(kind - 240))
        nt = t + dt
        if not (nt > t) or not math.isfinite(nt):
            break
        t = nt
        e8 = rd.u8()
        ear = e8 / 500.0 if e8 < 250 else math.ldexp(1.0, e8 - 200)
        ev = tr.update(t, ear)
        assert tr.n_samples == i + 1
        events = tr.events
        assert len(events) <= prm["max_events"]
        assert tr.blink_count >= len(events)
        if ev:
            b = events[-1]
            assert b.start_s <= b.end_s <= t + 1e-9
            assert prm["min_duration_s"] - 1e-9 <= b.duration_s <= prm["max_duration_s"] + 1e-9
    tr.reset()
    assert tr.blink_count == 0 and tr.events == [] and tr.baseline is None
    return status


def replay_specular(data: bytes) -> str:
    from fastlive import kernels

    rd = Reader(data)
    flags = rd.u8()
    h, w = 1 + rd.u8() % 72, 1 + rd.u8() % 120
    kw = {
        "v_min": rd.u8() if flags & 2 else 150 + rd.u8() % 106,
        "s_max": rd.u8() if flags & 4 else rd.u8() % 96,
        "local_delta": rd.u8() if flags & 8 else rd.u8() % 32,
        "min_blob": 1 + rd.u8() % 8,
        "block": 1 + rd.u8() % 64,
    }
    img = make_image(rd, h, w, 3)
    mask = make_image(rd, h, w, 1, two_d=True) if flags & 1 else None
    if mask is not None and not mask.any():
        return _expect_refusal(lambda: kernels.specular_stats(img, mask, **kw),
                               "specular_stats")
    res = _on_each_isa(lambda: kernels.specular_stats(img, mask, **kw))
    for r in res[1:]:
        assert r == res[0], (r, res[0])
    r = res[0]
    v = img.max(axis=2)
    sel = v if mask is None else v[mask != 0]
    assert r["max_value"] == int(sel.max())
    assert math.isclose(r["mean_value"], float(sel.astype(np.float64).mean()), rel_tol=1e-12)
    assert 0.0 <= r["ratio"] <= 1.0
    areas = r["blob_areas"]
    assert areas == sorted(areas, reverse=True) and len(areas) <= 64
    assert r["n_blobs"] >= len(areas) and all(a >= kw["min_blob"] for a in areas)
    n_spec = round(r["ratio"] * sel.size)
    assert sum(areas) <= n_spec
    if r["n_blobs"] <= 64:
        assert (kw["min_blob"] > 1) or sum(areas) == n_spec
    return "ok"


def replay_area(data: bytes) -> str:
    import cv2

    from fastlive import kernels

    rd = Reader(data)
    flags = rd.u8()
    channels = (1, 3, 4, 3)[flags & 3]
    flat = bool(flags & 4)
    h, w = 1 + rd.u8() % 96, 1 + rd.u8() % 96
    out_h, out_w = 1 + rd.u8() % h, 1 + rd.u8() % w
    img = make_image(rd, h, w, channels)
    if flat:
        img = np.full_like(img, rd.u8())
    outs = _on_each_isa(lambda: _core().resize_area(img, (out_h, out_w)))
    for o in outs:
        assert o.dtype == np.uint8 and o.shape == (out_h, out_w, channels)
        np.testing.assert_array_equal(o, outs[0])
    if flat:
        assert np.all(outs[0] == img.flat[0]), "a flat image did not stay flat"
    # OpenCV's own pixels: the core on OpenCV's general path, OpenCV's integer-factor path
    # through kernels.resize_area
    ref = cv2.resize(np.ascontiguousarray(img), (out_w, out_h), interpolation=cv2.INTER_AREA)
    ref = ref.reshape(out_h, out_w, channels)
    if not kernels._opencv_integer_path(h, w, out_h, out_w):
        np.testing.assert_array_equal(outs[0], ref)
    np.testing.assert_array_equal(kernels.resize_area(img, (out_h, out_w)), ref)
    return "ok"


REPLAYS: dict[str, Callable[[bytes], str]] = {
    "area": replay_area,
    "lbp": replay_lbp,
    "warp": replay_warp,
    "eye": replay_eye,
    "specular": replay_specular,
}


def replay(harness: str, data: bytes) -> str:
    """Replay one input of fuzz/fuzz_<harness>.cpp (or of the API harness) in Python.
    Returns "refused" when the binding refused the input (as the C++ harness skips it), else
    "ok"; raises on any violated invariant."""
    if harness == "api":
        return api_one_input(data)
    return REPLAYS[harness](data)


# ---------------------------------------------------------------------------------------------
# The Python API harness
# ---------------------------------------------------------------------------------------------

_STRINGS = ("bgr", "rgb", "gray", "bgra", "rgba", "", "BGR", "uniform", "default", "constant",
            "replicate", "standardize", "none", "\x00", "é")


def _junk(rd: Reader) -> Any:
    """A value of an arbitrary type: what careless callers pass."""
    k = rd.u8() % 12
    if k == 0:
        return None
    if k == 1:
        return rd.real(16.0)
    if k == 2:
        return int(rd.u16()) - 32768
    if k == 3:
        return bool(rd.u8() & 1)
    if k == 4:
        return _STRINGS[rd.u8() % len(_STRINGS)]
    if k == 5:
        return [rd.real(4.0) for _ in range(rd.u8() % 7)]
    if k == 6:
        return tuple(int(rd.u8()) - 8 for _ in range(rd.u8() % 4))
    if k == 7:
        return np.full(rd.u8() % 5, rd.real(8.0))
    if k == 8:
        return b"\x00\x01"
    if k == 9:
        return {"a": 1}
    if k == 10:
        return float("nan")
    return object()


_FACES: list[np.ndarray] | None = None


def _real_faces() -> list[np.ndarray]:
    """A few real NUAA frames (live and print) from ../shared/data, when present, so that
    fuzzed frames contain faces and reach tracking, landmarks, the passive models and quality."""
    global _FACES
    if _FACES is None:
        _FACES = []
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "nuaa")
        try:
            import cv2

            for sub in ("live/0001", "spoof/0002", "live/0005", "spoof/0009"):
                d = os.path.join(root, sub)
                if os.path.isdir(d):
                    img = cv2.imread(os.path.join(d, sorted(os.listdir(d))[0]))
                    if img is not None:
                        _FACES.append(img)
        except ImportError:
            pass
    return _FACES


def _face_frame(rd: Reader) -> Any:
    """A real face frame, cropped / scaled / flipped / re-exposed as the bytes say."""
    faces = _real_faces()
    if not faces:
        return make_image(rd, 64, 64, 3)
    import cv2

    img = faces[rd.u8() % len(faces)]
    op = rd.u8()
    out = img
    if op & 32:  # a crop: may cut the face, or keep only a part of it
        h, w = img.shape[:2]
        y0, x0 = rd.u8() * (h - 8) // 255, rd.u16() * (w - 8) // 65535
        ch = 8 + rd.u16() * (h - y0 - 8) // 65535
        cw = 8 + rd.u16() * (w - x0 - 8) // 65535
        out = img[y0:y0 + ch, x0:x0 + cw]
    if op & 1:
        s = 0.05 + (rd.u8() / 255.0) * 1.95
        out = cv2.resize(out, (max(1, int(out.shape[1] * s)), max(1, int(out.shape[0] * s))))
    if op & 2:
        out = out[:, ::-1]
    if op & 4:
        out = np.ascontiguousarray(np.rot90(out, 1 + rd.u8() % 3))
    if op & 8:
        gain = rd.u8() / 32.0
        out = np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if op & 16:
        out = np.pad(out, ((rd.u8(), rd.u8()), (rd.u8(), rd.u8()), (0, 0)))
    return out


def _array(rd: Reader, *, max_side: int = 96, faces: bool = False) -> Any:
    """Frame-like arrays: mostly uint8 images with odd layouts, sometimes the wrong thing.
    faces=True: half of them are real face frames (for the scoring entry points)."""
    k = rd.u8() % 16
    if k in (12, 13) or (faces and k < 8):
        return _face_frame(rd)
    h, w = 1 + rd.u8() % max_side, 1 + rd.u8() % max_side
    if k == 0:
        return _junk(rd)
    if k == 1:
        dt = (np.float32, np.float64, np.int16, np.bool_, np.int8, np.uint16, np.complex64)[
            rd.u8() % 7]
        return make_image(rd, h, w, 3).astype(dt)
    if k == 2:
        return np.zeros((0, w, 3), np.uint8) if rd.u8() & 1 else np.zeros((h, 0, 3), np.uint8)
    if k == 3:
        return make_image(rd, 1, w * h, 1, two_d=True).ravel()  # 1-D
    if k == 4:
        return make_image(rd, h, w, 3)[None]  # 4-D batch
    if k == 5:
        return make_image(rd, h, w, 1 + rd.u8() % 6)  # 1..6 channels
    if k == 6:
        return make_image(rd, h, w, 1, two_d=True)  # gray
    if k == 7:
        img = make_image(rd, h, w, 3)
        return img[:, ::-1]  # negative column stride
    if k == 8:
        img = make_image(rd, h, w, 3)
        return img[::2, ::2]  # strided view
    if k == 9:
        img = make_image(rd, h, w, 3)
        return np.asfortranarray(img)
    if k == 10:
        img = make_image(rd, h, w, 3).copy()
        img.setflags(write=False)
        return img
    if k == 11:
        return make_image(rd, h, w, 3)[:, :, ::-1]  # rgb view, channel stride -1
    return make_image(rd, h, w, 3)


def _points(rd: Reader, rows: int, cols: int) -> Any:
    k = rd.u8() % 6
    if k == 0:
        return _junk(rd)
    r = rows if rd.u8() % 8 else rd.u8() % 9
    c = cols if rd.u8() % 8 else rd.u8() % 5
    a = np.array([rd.real(4.0) for _ in range(r * c)], np.float64).reshape(r, c)
    if k == 1:
        with np.errstate(all="ignore"):
            return a.astype((np.float32, np.int32, np.uint8, np.bool_, np.complex128)[
                rd.u8() % 5])
    if k == 2:
        return a.tolist()
    if k == 3 and a.size:
        a.flat[rd.u8() % a.size] = (np.nan, np.inf, -np.inf, 1e308)[rd.u8() % 4]
    return a


_DETECTOR: Any = None
_TMP: list[str] = []
_IMAGE_KINDS = ((".jpg", b"\xff\xd8\xff\xe0"), (".png", b"\x89PNG\r\n\x1a\n"), (".bmp", b"BM"),
                (".webp", b"RIFF\x00\x00\x00\x00WEBPVP8 "), (".tif", b"II*\x00"),
                (".ppm", b"P6\n"), (".pgm", b"P5\n"), (".jp2", b"\x00\x00\x00\x0cjP  "))


def _tmpdir() -> str:
    if not _TMP:
        import atexit
        import shutil
        import tempfile

        _TMP.append(tempfile.mkdtemp(prefix="fastlive-fuzz-"))
        atexit.register(shutil.rmtree, _TMP[0], True)
    return _TMP[0]


def _detector() -> Any:
    global _DETECTOR
    if _DETECTOR is None:
        from fastlive.api import LivenessDetector

        _DETECTOR = LivenessDetector()
    return _DETECTOR


def _check_frame_result(res: Any) -> None:
    from fastlive.results import DECISIONS

    assert res.decision in DECISIONS
    for f in res.faces:
        assert f.decision in DECISIONS, f.decision
        assert math.isnan(f.score) or 0.0 <= f.score <= 1.0, f.score


def _api_call(rd: Reader) -> None:
    from fastlive import kernels

    b = rd.u8()
    target = 11 if b >= 242 else b % 11
    if target == 0:
        from fastlive.frames import as_bgr

        out = as_bgr(_array(rd), color=_STRINGS[rd.u8() % 6])
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    elif target == 1:
        import fastlive

        _check_frame_result(fastlive.score_frame(_array(rd, max_side=160, faces=True)))
    elif target == 2:
        import fastlive

        res = fastlive.score_face(_array(rd, max_side=128, faces=True))
        assert res.decision in ("LIVE", "SPOOF", "UNCERTAIN")
    elif target == 3:
        det = _detector()
        session = det.new_session()
        t = rd.real(8.0)
        for _ in range(1 + rd.u8() % 4):
            t = t + rd.real(64.0) if rd.u8() & 1 else rd.real(8.0)  # may go backwards / NaN
            try:
                _check_frame_result(det.score_frame(_array(rd, max_side=128, faces=True),
                                                    session=session,
                                                    timestamp=t))
            except ALLOWED:
                pass
    elif target == 4:
        kernels.lbp_histogram_multi(_array(rd), _junk(rd) if rd.u8() & 1 else (1, 1),
                                    _junk(rd) if rd.u8() & 1 else "uniform",
                                    _junk(rd) if rd.u8() & 1 else True,
                                    _junk(rd) if rd.u8() & 1 else 1)
    elif target == 5:
        kernels.lbp_codes(_array(rd), _junk(rd) if rd.u8() & 1 else 1)
    elif target == 6:
        size = _junk(rd) if rd.u8() & 1 else (1 + rd.u8() % 64, 1 + rd.u8() % 64)
        if rd.u8() & 1:  # the prefilter's area downscaling
            kernels.resize_area(_array(rd), size)
            return
        kernels.warp_crop(_array(rd), _points(rd, 2, 3), size,
                          border=_STRINGS[rd.u8() % len(_STRINGS)],
                          border_value=int(rd.u16()) - 300)
    elif target == 7:
        size = (1 + rd.u8() % 64, 1 + rd.u8() % 64)
        out = None
        if rd.u8() & 1:
            out = np.zeros((1, 3) + size, (np.float32, np.float64)[rd.u8() & 1])
            if rd.u8() & 1:
                out = out[:, :, ::-1]
        kernels.warp_to_tensor(_array(rd), _points(rd, 2, 3), size,
                               mean=_junk(rd) if rd.u8() & 1 else (0, 0, 0),
                               std=_junk(rd) if rd.u8() & 1 else (1, 1, 1),
                               channel_order=_STRINGS[rd.u8() % len(_STRINGS)],
                               lighting=("none", "standardize", "x")[rd.u8() % 3], out=out)
    elif target == 8:
        e = kernels.eye_aspect_ratio(_points(rd, 6, 2))
        assert e >= 0.0
    elif target == 9:
        tr = kernels.BlinkTracker(warmup_samples=1 + rd.u8() % 4)
        for _ in range(rd.u8() % 8):
            tr.update(rd.real(16.0), rd.real(64.0))
    elif target == 10:
        mask = None
        if rd.u8() & 1:
            mask = _array(rd)
        kernels.specular_stats(_array(rd), mask, v_min=int(rd.u16()) - 300,
                               min_blob=int(rd.u16()) - 2)
    else:  # untrusted image files through the decoders (capture.read_image)
        from fastlive.capture import read_image

        ext, magic = _IMAGE_KINDS[rd.u8() % len(_IMAGE_KINDS)]
        path = os.path.join(_tmpdir(), "input" + ext)
        with open(path, "wb") as fh:
            fh.write((magic if rd.u8() & 1 else b"") + rd.data[rd.pos:])
        try:
            img = read_image(path)
        finally:
            os.unlink(path)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def api_one_input(data: bytes) -> str:
    """atheris target: one API call built from data; TypeError/ValueError are the contract."""
    rd = Reader(data)
    try:
        _api_call(rd)
    except ALLOWED:
        return "refused"
    return "ok"


def _random_loop(seconds: float, seed_dirs: list[str]) -> int:
    """Fallback without atheris: seeds, then random and mutated inputs for `seconds`."""
    rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))
    seeds = []
    for d in seed_dirs:
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as fh:
                    seeds.append(fh.read())
    n = 0
    end = time.monotonic() + seconds
    for s in seeds:
        api_one_input(s)
        n += 1
    while time.monotonic() < end:
        if seeds and rng.random() < 0.5:
            b = bytearray(seeds[rng.integers(len(seeds))])
            for _ in range(1 + rng.integers(8)):
                if b:
                    b[rng.integers(len(b))] = rng.integers(256)
            data = bytes(b)
        else:
            data = rng.bytes(int(rng.integers(1, 512)))
        api_one_input(data)
        n += 1
    print(f"stat::number_of_executed_units: {n}")
    return 0


def main(argv: list[str]) -> int:
    use_atheris = "--no-atheris" not in argv
    argv = [a for a in argv if a != "--no-atheris"]
    if use_atheris:
        try:
            import atheris
        except ImportError:
            print("fuzz_api.py: atheris not installed (pip install atheris); using the random "
                  "loop", file=sys.stderr)
            use_atheris = False
    # Outside pytest nobody points the registry at the models: use ../shared/models when there.
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                          "models")
    if "FASTLIVE_MODEL_DIR" not in os.environ and os.path.isdir(shared):
        os.environ["FASTLIVE_MODEL_DIR"] = os.path.abspath(shared)
    os.environ.setdefault("FASTLIVE_OFFLINE", "1")
    # Decoders honour this cap (OpenCV's default is 2**30 pixels, 3 GB per BGR image); keep
    # fuzzed headers from turning into multi-GB allocations. Integrators should set it too.
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(1 << 26))
    if use_atheris:
        with atheris.instrument_imports(include=["fastlive"]):
            import fastlive.api
            import fastlive.frames
            import fastlive.kernels  # noqa: F401
            import fastlive.passive  # noqa: F401
        fastlive.api.default_detector()  # build the models once, outside the timed inputs
        _detector()
        g = globals()
        for name in ("_api_call", "_array", "_junk", "_points", "make_image", "_face_frame"):
            g[name] = atheris.instrument_func(g[name])
        atheris.Setup(argv, api_one_input)
        atheris.Fuzz()
        return 0
    import warnings

    warnings.simplefilter("ignore", RuntimeWarning)
    seconds = 60.0
    dirs = []
    for a in argv[1:]:
        if a.startswith("-max_total_time="):
            seconds = float(a.split("=", 1)[1])
        elif not a.startswith("-"):
            dirs.append(a)
    return _random_loop(seconds, dirs)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
