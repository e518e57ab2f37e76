"""warp_crop / warp_to_tensor against cv2.warpAffine and an independent numpy oracle."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from guard_pages import guarded
from hypothesis import given
from hypothesis import strategies as st

from fastlive import _core
from fastlive.kernels import warp_crop, warp_to_tensor

# --------------------------------------------------------------------------- oracle


def inverse_affine(m: np.ndarray) -> np.ndarray:
    """dst->src matrix, computed with the operations of cv2.invertAffineTransform."""
    m = np.asarray(m, np.float64)
    r = 1.0 / (m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])
    a00, a01, a10, a11 = m[1, 1] * r, -m[0, 1] * r, -m[1, 0] * r, m[0, 0] * r
    b0 = -a00 * m[0, 2] - a01 * m[1, 2]
    b1 = -a10 * m[0, 2] - a11 * m[1, 2]
    return np.array([[a00, a01, b0], [a10, a11, b1]])


def oracle_sums(img, m, size, border="constant", border_value=0):
    """Integer bilinear sums S (weights out of 1024) of every output pixel: (h, w, C) int64."""
    h, w = size
    src = img if img.ndim == 3 else img[..., None]
    hs, ws = src.shape[:2]
    inv = inverse_affine(m)
    xs = np.arange(w, dtype=np.float64)
    ys = np.arange(h, dtype=np.float64)
    ax = np.rint(inv[0, 0] * xs * 1024.0).astype(np.int64)
    ay = np.rint(inv[1, 0] * xs * 1024.0).astype(np.int64)
    x0 = np.rint((inv[0, 1] * ys + inv[0, 2]) * 1024.0).astype(np.int64) + 16
    y0 = np.rint((inv[1, 1] * ys + inv[1, 2]) * 1024.0).astype(np.int64) + 16
    big_x = (x0[:, None] + ax[None, :]) >> 5
    big_y = (y0[:, None] + ay[None, :]) >> 5
    xi, fx = big_x >> 5, big_x & 31
    yi, fy = big_y >> 5, big_y & 31

    def tap(xx, yy):
        inside = (xx >= 0) & (xx < ws) & (yy >= 0) & (yy < hs)
        v = src[np.clip(yy, 0, hs - 1), np.clip(xx, 0, ws - 1)].astype(np.int64)
        if border == "constant":
            v[~inside] = border_value
        return v

    w00 = ((32 - fx) * (32 - fy))[..., None]
    w01 = (fx * (32 - fy))[..., None]
    w10 = ((32 - fx) * fy)[..., None]
    w11 = (fx * fy)[..., None]
    return (tap(xi, yi) * w00 + tap(xi + 1, yi) * w01 + tap(xi, yi + 1) * w10
            + tap(xi + 1, yi + 1) * w11)


def oracle_crop(img, m, size, border="constant", border_value=0):
    s = oracle_sums(img, m, size, border, border_value)
    out = ((s + 512) >> 10).astype(np.uint8)
    return out if img.ndim == 3 else out[..., 0]


def oracle_tensor(img, m, size, mean=(0, 0, 0), std=(1, 1, 1), order="rgb", lighting="none",
                  border="constant", border_value=0):
    p = oracle_sums(img, m, size, border, border_value).astype(np.float64) / 1024.0  # BGR
    if lighting == "standardize":
        lum = 0.114 * p[..., 0] + 0.587 * p[..., 1] + 0.299 * p[..., 2]
        p = (p - lum.mean()) / max(lum.std(), 1.0)
    if order == "rgb":
        p = p[..., ::-1]
    p = (p - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)
    return p.transpose(2, 0, 1)[None]


def cv2_border(border):
    return cv2.BORDER_CONSTANT if border == "constant" else cv2.BORDER_REPLICATE


def face_affine(frame_hw, out_hw, angle=12.0, scale=None, centre=None):
    """A typical face-alignment similarity: centre of the frame -> centre of the crop."""
    h, w = frame_hw
    oh, ow = out_hw
    cy, cx = centre if centre is not None else (h / 2, w / 2)
    if scale is None:
        scale = 0.8 * min(oh, ow) / min(h, w)
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += [ow / 2 - cx, oh / 2 - cy]
    return m


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)


@pytest.fixture
def isas():
    info = _core.simd_info()
    prev = info["active"]
    yield list(info["supported"])
    _core._set_isa(prev)


def all_isas(isas):
    if "avx2" not in isas:
        pytest.skip("this CPU has no AVX2: only the scalar path exists")
    return isas


# --------------------------------------------------------------------------- crop


@pytest.mark.parametrize("border", ["constant", "replicate"])
@pytest.mark.parametrize("angle,scale", [(0, 1.0), (12, 0.55), (-35, 1.7), (90, 0.3)])
def test_crop_matches_cv2_and_oracle(frame, border, angle, scale):
    m = face_affine(frame.shape[:2], (64, 72), angle, scale)
    got = warp_crop(frame, m, (64, 72), border=border, border_value=37)
    ref = cv2.warpAffine(frame, m, (72, 64), flags=cv2.INTER_LINEAR, borderMode=cv2_border(border),
                         borderValue=(37, 37, 37))
    assert got.shape == (64, 72, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - ref).max() <= 1
    np.testing.assert_array_equal(got, oracle_crop(frame, m, (64, 72), border, 37))


def test_crop_gray(frame):
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    m = face_affine(gray.shape, (40, 50), 20, 0.7)
    got = warp_crop(gray, m, (40, 50), border="replicate")
    assert got.shape == (40, 50)
    ref = cv2.warpAffine(gray, m, (50, 40), borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(got.astype(int) - ref).max() <= 1
    np.testing.assert_array_equal(got, oracle_crop(gray, m, (40, 50), "replicate"))
    got1 = warp_crop(gray[..., None], m, (40, 50))
    assert got1.shape == (40, 50, 1)
    np.testing.assert_array_equal(got1[..., 0], oracle_crop(gray, m, (40, 50)))


def test_identity_and_translation_are_exact(frame):
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    np.testing.assert_array_equal(warp_crop(frame, ident, frame.shape[:2]), frame)
    shift = np.array([[1.0, 0, -10], [0, 1.0, -5]])  # dst = src - (10, 5)
    np.testing.assert_array_equal(warp_crop(frame, shift, (50, 60)), frame[5:55, 10:70])


def test_constant_border_outside_frame(frame):
    far = np.array([[1.0, 0, 1000], [0, 1.0, 1000]])  # the whole crop lies outside
    assert (warp_crop(frame, far, (8, 8), border_value=200) == 200).all()
    t = warp_to_tensor(frame, far, (8, 8), border_value=200)
    assert np.allclose(t, 200.0)
    # replicate: the nearest frame corner everywhere
    assert (warp_crop(frame, far, (8, 8), border="replicate") == frame[0, 0]).all()
    near_end = far * [1, 1, -1]  # samples beyond the bottom-right corner
    assert (warp_crop(frame, near_end, (8, 8), border="replicate") == frame[-1, -1]).all()


# --------------------------------------------------------------------------- tensor


@pytest.mark.parametrize("order", ["rgb", "bgr"])
@pytest.mark.parametrize("border", ["constant", "replicate"])
def test_tensor_matches_oracle(frame, order, border):
    m = face_affine(frame.shape[:2], (48, 40), 25, 0.45)
    mean, std = (123.7, 116.3, 103.5), (58.4, 57.1, 57.4)
    got = warp_to_tensor(frame, m, (48, 40), mean=mean, std=std, channel_order=order,
                         border=border, border_value=9)
    assert got.shape == (1, 3, 48, 40) and got.dtype == np.float32
    assert got.flags.c_contiguous
    ref = oracle_tensor(frame, m, (48, 40), mean, std, order, border=border, border_value=9)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-5)


def test_tensor_equals_normalised_crop(frame):
    m = face_affine(frame.shape[:2], (32, 32), 33, 0.9)
    mean, std = np.array([10.0, 20.0, 30.0]), np.array([2.0, 3.0, 4.0])
    t = warp_to_tensor(frame, m, (32, 32), mean=mean, std=std)
    crop = warp_crop(frame, m, (32, 32))
    norm = (crop[..., ::-1].astype(np.float64) - mean) / std
    diff = np.abs(t[0].transpose(1, 2, 0) - norm) * std  # in intensity units
    assert diff.max() <= 0.5 + 1e-4
    assert diff.max() > 0.01  # the tensor really keeps sub-level precision


def test_lighting_standardize(frame):
    m = face_affine(frame.shape[:2], (40, 40), 5, 0.5)
    t = warp_to_tensor(frame, m, (40, 40), lighting="standardize")
    ref = oracle_tensor(frame, m, (40, 40), lighting="standardize")
    np.testing.assert_allclose(t, ref, rtol=0, atol=1e-5)
    r, g, b = t[0].astype(np.float64)
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    assert abs(lum.mean()) < 1e-4 and abs(lum.std() - 1.0) < 1e-4
    # one scalar pair for all channels: a brighter, higher-contrast copy standardizes the same
    brighter = np.clip(frame.astype(np.int32) // 2 + 60, 0, 255).astype(np.uint8)
    t_half = warp_to_tensor(brighter, m, (40, 40), lighting="standardize")
    assert np.abs(t_half - t).max() < 0.05
    # mean/std are applied after the standardization
    t2 = warp_to_tensor(frame, m, (40, 40), lighting="standardize", mean=(1, 2, 3),
                        std=(2, 2, 2))
    np.testing.assert_allclose(t2[0], (t[0] - np.array([1, 2, 3])[:, None, None]) / 2,
                               atol=1e-5)


def test_lighting_flat_crop_is_zero_not_amplified():
    flat = np.full((30, 30, 3), 77, np.uint8)
    m = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    t = warp_to_tensor(flat, m, (20, 20), lighting="standardize")
    assert np.abs(t).max() < 1e-5
    # a 1-level texture is divided by at most 1 (sd clamp), never blown up
    flat[::2, ::2] += 1
    t = warp_to_tensor(flat, m, (20, 20), lighting="standardize")
    assert np.abs(t).max() <= 1.0


def test_out_parameter(frame):
    m = face_affine(frame.shape[:2], (16, 24))
    ref = warp_to_tensor(frame, m, (16, 24), mean=(1, 2, 3))
    batch = np.full((3, 3, 16, 24), -7, np.float32)
    res = warp_to_tensor(frame, m, (16, 24), mean=(1, 2, 3), out=batch[1])
    assert res is batch[1] or np.shares_memory(res, batch)
    np.testing.assert_array_equal(batch[1], ref[0])
    assert (batch[0] == -7).all() and (batch[2] == -7).all()
    out4 = np.zeros((1, 3, 16, 24), np.float32)
    assert warp_to_tensor(frame, m, (16, 24), mean=(1, 2, 3), out=out4) is out4
    np.testing.assert_array_equal(out4, ref)


def test_roi_and_strided_views_match_copies(frame):
    m = face_affine((60, 70), (30, 30), 17, 0.6)
    roi = frame[10:70, 20:90]
    assert not roi.flags.c_contiguous
    np.testing.assert_array_equal(warp_crop(roi, m, (30, 30)),
                                  warp_crop(np.ascontiguousarray(roi), m, (30, 30)))
    np.testing.assert_array_equal(warp_to_tensor(roi, m, (30, 30)),
                                  warp_to_tensor(np.ascontiguousarray(roi), m, (30, 30)))
    flipped = frame[::-1]  # negative row stride
    np.testing.assert_array_equal(warp_crop(flipped, m, (30, 30)),
                                  oracle_crop(np.ascontiguousarray(flipped), m, (30, 30)))
    gray = np.ascontiguousarray(frame[..., 1])[5:, 3:]
    np.testing.assert_array_equal(warp_crop(gray, m, (30, 30)), oracle_crop(gray, m, (30, 30)))


# --------------------------------------------------------------------------- ISAs


def test_avx2_matches_scalar_all_widths(isas):
    rng = np.random.default_rng(3)
    for w in range(1, 66):
        img = rng.integers(0, 256, (int(rng.integers(1, 40)), w, 3), dtype=np.uint8)
        m = face_affine(img.shape[:2], (9, w), float(rng.uniform(-40, 40)),
                        float(rng.uniform(0.5, 2.0)))
        for ch_img in (img, np.ascontiguousarray(img[..., 0])):
            res = {}
            for isa in all_isas(isas):
                _core._set_isa(isa)
                res[isa] = (warp_crop(ch_img, m, (9, w), border="replicate"),
                            warp_crop(ch_img, m, (9, w), border_value=200))
            for a, b in zip(res["scalar"], res["avx2"]):
                np.testing.assert_array_equal(a, b, err_msg=f"width {w}")
        res_t = {}
        for isa in all_isas(isas):
            _core._set_isa(isa)
            res_t[isa] = warp_to_tensor(img, m, (9, w), mean=(5, 6, 7), lighting="standardize")
        np.testing.assert_array_equal(res_t["scalar"], res_t["avx2"])


@given(
    h=st.integers(1, 40), w=st.integers(1, 40), gray=st.booleans(),
    a=st.floats(-3, 3), b=st.floats(-3, 3), c=st.floats(-3, 3), d=st.floats(-3, 3),
    tx=st.floats(-60, 60), ty=st.floats(-60, 60), oh=st.integers(1, 33), ow=st.integers(1, 33),
    border=st.sampled_from(["constant", "replicate"]), bv=st.integers(0, 255),
    seed=st.integers(0, 2**31),
)
def test_hypothesis_crop_oracle_and_isas(h, w, gray, a, b, c, d, tx, ty, oh, ow, border, bv,
                                        seed):
    if abs(a * d - b * c) < 1e-2:
        return  # near-singular: covered by the error tests
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w) if gray else (h, w, 3), dtype=np.uint8)
    m = np.array([[a, b, tx], [c, d, ty]])
    info = _core.simd_info()
    prev = info["active"]
    try:
        outs = []
        for isa in info["supported"]:
            _core._set_isa(isa)
            outs.append(warp_crop(img, m, (oh, ow), border=border, border_value=bv))
            if not gray:
                outs_t = warp_to_tensor(img, m, (oh, ow), border=border, border_value=bv)
                np.testing.assert_allclose(
                    outs_t, oracle_tensor(img, m, (oh, ow), border=border, border_value=bv),
                    atol=1e-4)
    finally:
        _core._set_isa(prev)
    ref = oracle_crop(img, m, (oh, ow), border, bv)
    for o in outs:
        np.testing.assert_array_equal(o, ref)
    cv = cv2.warpAffine(img, m, (ow, oh), borderMode=cv2_border(border), borderValue=(bv,) * 3)
    assert np.abs(outs[0].astype(int) - cv.reshape(outs[0].shape)).max() <= 1


# --------------------------------------------------------------------------- guard pages


@pytest.mark.parametrize("at_end", [True, False])
def test_no_out_of_bounds_reads(isas, at_end):
    rng = np.random.default_rng(2)
    keep = []
    for w in (1, 2, 3, 4, 5, 8, 9, 31, 33, 64):
        for shape in ((7, w, 3), (7, w)):
            img, buf = guarded(shape, at_end)
            keep.append(buf)
            img[...] = rng.integers(0, 256, shape, dtype=np.uint8)
            views = [img, img[::-1]]  # negative row stride reads "backwards"
            for view in views:
                for m in (np.array([[1.0, 0, 0], [0, 1.0, 0]]),
                          np.array([[40.0 / w, 0, 0], [0, 40.0 / 7, 0]]),  # whole frame
                          np.array([[1.0, 0, 2 - w], [0, 1.0, -5.0]])):  # bottom-right
                    ref = oracle_crop(np.ascontiguousarray(view), m, (41, 41), "replicate")
                    for isa in isas:
                        _core._set_isa(isa)
                        np.testing.assert_array_equal(
                            warp_crop(view, m, (41, 41), border="replicate"), ref)
                        if view.ndim == 3:
                            warp_to_tensor(view, m, (41, 41), border="replicate")


# --------------------------------------------------------------------------- threads


def test_threads_match_serial():
    rng = np.random.default_rng(11)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(4)]
    ms = [face_affine((240, 320), (64, 64), 10.0 * i, 0.3 + 0.1 * i) for i in range(4)]
    serial = [(warp_crop(f, m, (64, 64)), warp_to_tensor(f, m, (64, 64), lighting="standardize"))
              for f, m in zip(frames, ms)]
    results: list = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        out = None
        for _ in range(20):
            out = (warp_crop(frames[i], ms[i], (64, 64)),
                   warp_to_tensor(frames[i], ms[i], (64, 64), lighting="standardize"))
        results[i] = out

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (a, b), (c, d) in zip(serial, results):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


# --------------------------------------------------------------------------- errors

IDENT = np.array([[1.0, 0, 0], [0, 1.0, 0]])


@pytest.mark.parametrize("fn", [warp_crop, warp_to_tensor])
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"affine": np.eye(3)}, ValueError, r"affine: expected shape \(2, 3\)"),
        ({"affine": np.array([[1.0, 0, np.nan], [0, 1, 0]])}, ValueError, "affine: .*NaN"),
        ({"affine": np.array([[1.0, 2, 0], [2, 4, 0]])}, ValueError, "affine: .*singular"),
        ({"affine": np.array([[1e-9, 0, 0], [0, 1e-9, 0]])}, ValueError, "affine: .*beyond"),
        ({"affine": np.array([[1, 0, 0], [0, 1, 0]], dtype=bool)}, TypeError, "affine"),
        ({"size": (0, 10)}, ValueError, "size: height 0"),
        ({"size": (10, 4097)}, ValueError, "size: width 4097"),
        ({"size": (10,)}, ValueError, "size: expected 2 values"),
        ({"size": (10.0, 10)}, TypeError, "size: expected integers"),
        ({"size": "10x10"}, TypeError, "size"),
        ({"border": "reflect"}, ValueError, "border: .*'constant' or 'replicate'"),
        ({"border_value": 256}, ValueError, "border_value: must be in 0..255"),
        ({"bgr": np.zeros((20, 20, 3), np.float32)}, TypeError, "bgr: expected dtype uint8"),
        ({"bgr": np.zeros((20, 20, 4), np.uint8)}, ValueError, "bgr"),
        ({"bgr": [[1, 2], [3, 4]]}, TypeError, "bgr: expected a numpy.ndarray"),
    ],
)
def test_common_errors(fn, kwargs, exc, match):
    args = {"bgr": np.zeros((20, 20, 3), np.uint8), "affine": IDENT, "size": (8, 8)}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        fn(args.pop("bgr"), args.pop("affine"), args.pop("size"), **args)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"mean": (1, 2)}, ValueError, "mean: expected 3 values"),
        ({"std": (1, 0, 1)}, ValueError, "std: values must be > 0"),
        ({"std": (1, float("inf"), 1)}, ValueError, "std: values must be finite"),
        ({"mean": "abc"}, TypeError, "mean"),
        ({"channel_order": "RGB!"}, ValueError, "channel_order: .*'rgb' or 'bgr'"),
        ({"lighting": "clahe"}, ValueError, "lighting: .*'none' or 'standardize'"),
        ({"out": np.zeros((1, 3, 8, 8), np.float64)}, TypeError, "out: expected dtype float32"),
        ({"out": np.zeros((3, 8, 9), np.float32)}, ValueError, r"out: expected shape \(3, 8, 8\)"),
        ({"out": np.zeros((3, 8, 16), np.float32)[:, :, ::2]}, ValueError, "out: must be C-cont"),
        ({"out": [0.0]}, TypeError, "out: expected a numpy.ndarray"),
        ({"bgr": np.zeros((20, 20), np.uint8)}, ValueError, r"bgr: expected an \(H, W, 3\)"),
    ],
)
def test_tensor_errors(kwargs, exc, match):
    args = {"bgr": np.zeros((20, 20, 3), np.uint8)}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        warp_to_tensor(args.pop("bgr"), IDENT, (8, 8), **args)


def test_out_read_only():
    out = np.zeros((3, 8, 8), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out: array is read-only"):
        warp_to_tensor(np.zeros((20, 20, 3), np.uint8), IDENT, (8, 8), out=out)


def test_numpy_mean_and_integer_size_types(frame):
    m = face_affine(frame.shape[:2], (8, 8))
    a = warp_to_tensor(frame, m, (np.int64(8), np.int32(8)), mean=np.array([1.0, 2.0, 3.0]),
                       std=np.float32([1, 2, 3]))
    b = warp_to_tensor(frame, m, (8, 8), mean=(1, 2, 3), std=(1, 2, 3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(warp_crop(frame, m.tolist(), (8, 8)), warp_crop(frame, m, (8, 8)))
    np.testing.assert_array_equal(warp_crop(frame, m.astype(np.float32), (8, 8)),
                                  warp_crop(frame, m.astype(np.float32).astype(np.float64),
                                            (8, 8)))
