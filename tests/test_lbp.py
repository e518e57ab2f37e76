"""LBP kernels: scalar vs a numpy oracle written from the spec, every ISA vs scalar (bit-exact),
scikit-image cross-check, views, hypothesis, multi-channel, errors and threads."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fastlive import _core, kernels

# When a hypothesis test fails, its pytest plugin imports libcst, which emits a DeprecationWarning
# (mypy_extensions.TypedDict); with filterwarnings=error that becomes an INTERNALERROR hiding the
# failure. Import it here with the warning silenced (proper fix: a filterwarnings entry in
# pyproject.toml).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass

# Neighbour k as (dy, dx), clockwise from the top-left; bit k = 2**k when neighbour >= centre.
OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
SUPPORTED = list(_core.simd_info()["supported"])


# ----------------------------------------------------------------------------- oracle (spec)
def oracle_codes(img: np.ndarray, r: int, slack: int = 0) -> np.ndarray:
    img = np.asarray(img, dtype=np.int64)
    h, w = img.shape
    hc, wc = h - 2 * r, w - 2 * r
    centre = img[r : r + hc, r : r + wc] - slack  # a neighbour >= centre - slack sets its bit
    out = np.zeros((hc, wc), dtype=np.int64)
    for k, (dy, dx) in enumerate(OFFSETS):
        y0, x0 = r + dy * r, r + dx * r
        out |= (img[y0 : y0 + hc, x0 : x0 + wc] >= centre).astype(np.int64) << k
    return out.astype(np.uint8)


def _transitions(code: int) -> int:
    return sum(((code >> k) & 1) != ((code >> ((k + 1) % 8)) & 1) for k in range(8))


UNIFORM_CODES = [c for c in range(256) if _transitions(c) <= 2]
UNIFORM_MAP = np.full(256, len(UNIFORM_CODES), dtype=np.int64)
UNIFORM_MAP[UNIFORM_CODES] = np.arange(len(UNIFORM_CODES))


def oracle_hist(img, grid=(1, 1), mapping="uniform", normalize=True, r=1, slack=0) -> np.ndarray:
    codes = oracle_codes(img, r, slack)
    hc, wc = codes.shape
    gy, gx = grid
    bins = 59 if mapping == "uniform" else 256
    out = []
    for i in range(gy):
        for j in range(gx):
            cell = codes[i * hc // gy : (i + 1) * hc // gy, j * wc // gx : (j + 1) * wc // gx]
            vals = UNIFORM_MAP[cell] if mapping == "uniform" else cell.astype(np.int64)
            hist = np.bincount(vals.ravel(), minlength=bins).astype(np.float64)
            if normalize:
                hist = hist / hist.sum()
            out.append(hist.astype(np.float32))
    return np.concatenate(out)


@pytest.fixture(params=SUPPORTED)
def isa(request):
    prev = _core.simd_info()["active"]
    _core._set_isa(request.param)
    yield request.param
    _core._set_isa(prev)


def _rand(rng, shape, kind="uniform"):
    if kind == "uniform":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "few":  # many ties, values around the signed/unsigned boundary
        return rng.choice(np.array([0, 1, 127, 128, 129, 254, 255], np.uint8), size=shape)
    if kind == "const":
        return np.full(shape, rng.integers(0, 256), np.uint8)
    raise ValueError(kind)


def _scalar(fn, *args, **kw):
    prev = _core.simd_info()["active"]
    _core._set_isa("scalar")
    try:
        return fn(*args, **kw)
    finally:
        _core._set_isa(prev)


# ----------------------------------------------------------------------------- basics
def test_uniform_bins_attribute_and_table():
    assert kernels.LBP_UNIFORM_BINS == 59
    assert len(UNIFORM_CODES) == 58
    # The uniform bin of a code is its rank among uniform codes; others land in the last bin.
    img = np.zeros((3, 258), np.uint8)
    h = kernels.lbp_histogram(img, normalize=False)
    assert h.shape == (59,) and h.dtype == np.float32
    assert h[UNIFORM_CODES.index(255)] == 256  # all neighbours equal -> every bit set


def test_hand_computed_codes(isa):
    img = np.array([[10, 0, 10], [0, 5, 5], [0, 0, 10]], np.uint8)
    # neighbours clockwise from top-left: 10, 0, 10, 5(equal), 10, 0, 0, 0 -> bits 0, 2, 3, 4
    assert kernels.lbp_codes(img).tolist() == [[1 + 4 + 8 + 16]]
    big = np.full((5, 5), 200, np.uint8)
    big[::2, ::2] = img  # radius 2 samples the same ring at distance 2
    assert kernels.lbp_codes(big, radius=2).tolist() == [[29]]
    # exactly one neighbour above the centre, at each position k in turn
    for k, (dy, dx) in enumerate(OFFSETS):
        m = np.full((3, 3), 50, np.uint8)
        m[1, 1] = 51
        m[1 + dy, 1 + dx] = 52
        assert kernels.lbp_codes(m).tolist() == [[1 << k]]


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("kind", ["uniform", "few", "const"])
def test_codes_match_oracle(isa, radius, kind):
    rng = np.random.default_rng(radius * 10 + len(kind))
    for shape in [(2 * radius + 1, 2 * radius + 1), (37, 101), (64, 200), (9, 33 + 2 * radius)]:
        img = _rand(rng, shape, kind)
        got = kernels.lbp_codes(img, radius=radius)
        assert got.dtype == np.uint8 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, oracle_codes(img, radius))


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("mapping", ["uniform", "default"])
@pytest.mark.parametrize("normalize", [True, False])
def test_histogram_matches_oracle(isa, radius, mapping, normalize):
    rng = np.random.default_rng(7)
    for shape, grid in [
        ((40, 50), (1, 1)),
        ((112, 112), (4, 4)),
        ((30, 71), (3, 5)),
        ((2 * radius + 7, 2 * radius + 5), (7, 5)),
        ((65, 33), (2, 29)),
    ]:
        img = _rand(rng, shape, "few" if shape[0] == 30 else "uniform")
        got = kernels.lbp_histogram(img, grid, mapping, normalize, radius)
        want = oracle_hist(img, grid, mapping, normalize, radius)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        bins = 59 if mapping == "uniform" else 256
        sums = got.reshape(grid[0] * grid[1], bins).sum(axis=1, dtype=np.float64)
        if normalize:
            np.testing.assert_allclose(sums, 1.0, rtol=1e-5)
        else:
            assert sums.sum() == (shape[0] - 2 * radius) * (shape[1] - 2 * radius)


def test_keyword_arguments_and_defaults():
    img = _rand(np.random.default_rng(3), (20, 30))
    np.testing.assert_array_equal(kernels.lbp_histogram(img), oracle_hist(img))
    got = kernels.lbp_histogram(gray=img, grid=[2, 3], mapping="default", normalize=False, radius=2)
    np.testing.assert_array_equal(got, oracle_hist(img, (2, 3), "default", False, 2))
    got = kernels.lbp_histogram(img, (np.int64(2), np.int32(2)), normalize=np.bool_(False))
    np.testing.assert_array_equal(got, oracle_hist(img, (2, 2), normalize=False))


# ----------------------------------------------------------------------------- scikit-image
@pytest.mark.parametrize("radius", [1, 2])
def test_axis_bits_match_skimage(radius):
    """skimage samples a circle (diagonals are interpolated), so compare only the 4 axis
    neighbours: skimage LBP(P=4, R=r) samples exactly (0,+r), (-r,0), (0,-r), (+r,0)."""
    from skimage import feature  # scikit-image is in the [test] extra

    rng = np.random.default_rng(11)
    img = _rand(rng, (48, 57), "few")
    sk = feature.local_binary_pattern(img, P=4, R=radius, method="default").astype(np.int64)
    sk = sk[radius:-radius, radius:-radius]  # skimage pads the border with zeros
    ours = kernels.lbp_codes(img, radius=radius).astype(np.int64)
    # skimage bit p <-> our neighbour: p0 (0,+1)=bit 3, p1 (-1,0)=bit 1, p2 (0,-1)=bit 7,
    # p3 (+1,0)=bit 5.
    mapped = sum(((ours >> b) & 1) << p for p, b in enumerate([3, 1, 7, 5]))
    np.testing.assert_array_equal(mapped, sk)
    # and the histograms of those 4-bit codes agree
    np.testing.assert_array_equal(
        np.bincount(mapped.ravel(), minlength=16), np.bincount(sk.ravel(), minlength=16)
    )


@pytest.mark.parametrize("slack", [1, 2, 200, 255])
def test_slack_codes_and_histograms_match_oracle(isa, slack):
    """slack s: a neighbour up to s grey levels below the centre still sets its bit (centres
    under s count every neighbour), bit-exact on every ISA, vector blocks and tails alike."""
    rng = np.random.default_rng(slack)
    for radius in (1, 2):
        for shape, kind in [((37, 101), "few"), ((64, 200), "uniform"), ((9, 33 + 2 * radius),
                                                                         "few")]:
            img = _rand(rng, shape, kind)
            np.testing.assert_array_equal(kernels.lbp_codes(img, radius, slack=slack),
                                          oracle_codes(img, radius, slack))
            np.testing.assert_array_equal(
                kernels.lbp_histogram(img, (3, 4), radius=radius, slack=slack),
                oracle_hist(img, (3, 4), r=radius, slack=slack))
            rgb = _rand(rng, shape + (3,), kind)
            np.testing.assert_array_equal(
                kernels.lbp_histogram_multi(rgb, (2, 1), radius=radius, slack=slack),
                np.concatenate([oracle_hist(rgb[:, :, c], (2, 1), r=radius, slack=slack)
                                for c in range(3)]))
    # one level of slack: a neighbour exactly one below the centre now sets its bit
    m = np.full((3, 3), 10, np.uint8)
    m[1, 1] = 11
    assert kernels.lbp_codes(m).tolist() == [[0]]
    assert kernels.lbp_codes(m, slack=1).tolist() == [[255]]
    assert kernels.lbp_codes(m, slack=0).tolist() == [[0]]


def test_bad_slack():
    for v in (-1, 256, 1000):
        with pytest.raises(ValueError, match=rf"slack: must be an int from 0 to 255.*got {v}"):
            kernels.lbp_codes(GRAY, slack=v)
        with pytest.raises(ValueError, match="slack: must be an int from 0 to 255"):
            kernels.lbp_histogram_multi(GRAY[:, :, None], slack=v)
    for v in (1.0, True, "1", None):
        with pytest.raises(TypeError, match="slack: expected an int from 0 to 255"):
            kernels.lbp_histogram(GRAY, slack=v)
    with pytest.raises(TypeError):  # keyword only
        kernels.lbp_codes(GRAY, 1, 1)


# ----------------------------------------------------------------------------- ISA, tails
@pytest.mark.parametrize("radius", [1, 2])
def test_all_sizes_1_to_65_every_isa_vs_scalar(radius):
    rng = np.random.default_rng(radius)
    base = _rand(rng, (65, 65 + 64), "few")
    need = 2 * radius + 1
    prev = _core.simd_info()["active"]
    for h in range(1, 66):
        for w in range(1, 66 + (64 if h in (need, 17) else 0)):
            img = np.ascontiguousarray(base[:h, :w])
            if h < need or w < need:
                with pytest.raises(ValueError, match="gray.*too small"):
                    kernels.lbp_codes(img, radius=radius)
                with pytest.raises(ValueError, match="gray.*too small"):
                    kernels.lbp_histogram(img, radius=radius)
                continue
            ref = _scalar(kernels.lbp_codes, img, radius=radius)
            if h in (need, need + 1, 33) or w in (need, 31, 32, 33, 34, 63, 64, 65):
                np.testing.assert_array_equal(ref, oracle_codes(img, radius))
            grid = (min(3, h - 2 * radius), min(4, w - 2 * radius))
            ref_h = _scalar(kernels.lbp_histogram, img, grid, radius=radius)
            for name in SUPPORTED:
                _core._set_isa(name)
                try:
                    np.testing.assert_array_equal(kernels.lbp_codes(img, radius=radius), ref)
                    np.testing.assert_array_equal(
                        kernels.lbp_histogram(img, grid, radius=radius), ref_h
                    )
                finally:
                    _core._set_isa(prev)


def test_avx2_available_where_cpu_supports_it():
    info = _core.simd_info()
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        pytest.skip("no /proc/cpuinfo on this platform")
    if " avx2" in flags and " fma" in flags and "avx2" in info["compiled"]:
        assert "avx2" in info["supported"]


# ----------------------------------------------------------------------------- views
def test_roi_and_strided_views_match_copies(isa):
    rng = np.random.default_rng(5)
    img = _rand(rng, (120, 150))
    views = [
        img[10:50, 5:70],
        img[::2],
        img[::-1],
        img[3:, 2:][::3],
        img[::-2, 7:140],
        img[40 : 41 + 4, :],
    ]
    for v in views:
        c = np.ascontiguousarray(v)
        np.testing.assert_array_equal(kernels.lbp_codes(v), kernels.lbp_codes(c))
        np.testing.assert_array_equal(kernels.lbp_codes(v, radius=2), oracle_codes(c, 2))
        np.testing.assert_array_equal(
            kernels.lbp_histogram(v, (2, 3), "default"), oracle_hist(c, (2, 3), "default")
        )
    color = _rand(rng, (90, 100, 3))
    for v in [color[5:60, 10:90], color[::-3], color[::2, 1:]]:
        np.testing.assert_array_equal(
            kernels.lbp_histogram_multi(v, (2, 2)),
            kernels.lbp_histogram_multi(np.ascontiguousarray(v), (2, 2)),
        )


def test_readonly_and_broadcast_inputs():
    img = _rand(np.random.default_rng(9), (30, 40))
    ro = img.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(kernels.lbp_codes(ro), oracle_codes(img, 1))
    rows = np.broadcast_to(img[3], (10, 40))  # row stride 0
    np.testing.assert_array_equal(kernels.lbp_codes(rows), oracle_codes(np.array(rows), 1))


# ----------------------------------------------------------------------------- multi-channel
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_multi_equals_per_channel(isa, channels):
    rng = np.random.default_rng(channels)
    img = _rand(rng, (47, 83, channels))
    for grid, mapping, normalize, r in [
        ((1, 1), "uniform", True, 1),
        ((3, 4), "default", False, 2),
        ((4, 4), "uniform", True, 2),
    ]:
        got = kernels.lbp_histogram_multi(img, grid, mapping, normalize, r)
        parts = [
            kernels.lbp_histogram(np.ascontiguousarray(img[:, :, c]), grid, mapping, normalize, r)
            for c in range(channels)
        ]
        np.testing.assert_array_equal(got, np.concatenate(parts))
        np.testing.assert_array_equal(
            got[: parts[0].size], oracle_hist(img[:, :, 0], grid, mapping, normalize, r)
        )


def test_multi_widths_around_vector_tails(isa):
    """The channel split is vectorised 32 pixels at a time: widths 3..70 cover its tails."""
    rng = np.random.default_rng(13)
    for channels in (2, 3, 4):
        base = _rand(rng, (6, 70, channels), "few")
        for w in range(3, 71):
            img = base[:, :w]  # row-strided view
            got = kernels.lbp_histogram_multi(img, (2, 1), "default", False)
            want = np.concatenate(
                [oracle_hist(img[:, :, c], (2, 1), "default", False) for c in range(channels)]
            )
            np.testing.assert_array_equal(got, want)


def test_multi_accepts_expanded_gray():
    img = _rand(np.random.default_rng(2), (20, 30))
    np.testing.assert_array_equal(
        kernels.lbp_histogram_multi(img[:, :, None], (2, 2)), kernels.lbp_histogram(img, (2, 2))
    )


# ----------------------------------------------------------------------------- hypothesis
@st.composite
def lbp_cases(draw):
    radius = draw(st.sampled_from([1, 2]))
    h = draw(st.integers(2 * radius + 1, 70))
    w = draw(st.integers(2 * radius + 1, 140))
    img = draw(hnp.arrays(np.uint8, (h, w), elements=st.integers(0, 255)))
    gy = draw(st.integers(1, min(6, h - 2 * radius)))
    gx = draw(st.integers(1, min(6, w - 2 * radius)))
    mapping = draw(st.sampled_from(["uniform", "default"]))
    normalize = draw(st.booleans())
    return img, (gy, gx), mapping, normalize, radius


@given(lbp_cases())
def test_hypothesis_every_isa_matches_oracle(case):
    img, grid, mapping, normalize, radius = case
    want_codes = oracle_codes(img, radius)
    want_hist = oracle_hist(img, grid, mapping, normalize, radius)
    prev = _core.simd_info()["active"]
    try:
        for name in SUPPORTED:
            _core._set_isa(name)
            np.testing.assert_array_equal(kernels.lbp_codes(img, radius), want_codes)
            np.testing.assert_array_equal(
                kernels.lbp_histogram(img, grid, mapping, normalize, radius), want_hist
            )
    finally:
        _core._set_isa(prev)


# ----------------------------------------------------------------------------- errors
GRAY = np.zeros((10, 12), np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int8, np.uint16, bool])
@pytest.mark.parametrize("fn", ["lbp_codes", "lbp_histogram"])
def test_wrong_dtype_is_type_error(fn, dtype):
    with pytest.raises(TypeError, match=r"gray: expected dtype uint8.*(convert|astype)"):
        getattr(kernels, fn)(GRAY.astype(dtype))
    with pytest.raises(TypeError, match=r"image: expected dtype uint8"):
        kernels.lbp_histogram_multi(np.zeros((10, 12, 3), dtype))


def test_not_an_array_is_type_error():
    with pytest.raises(TypeError, match="gray: expected a numpy.ndarray, got list"):
        kernels.lbp_codes(GRAY.tolist())
    with pytest.raises(TypeError, match="gray: expected a numpy.ndarray, got None"):
        kernels.lbp_histogram(None)


def test_wrong_ndim_or_channels_is_value_error():
    for bad in [
        np.zeros(12, np.uint8),
        np.zeros((10, 12, 3), np.uint8),
        np.zeros((2, 10, 12, 1), np.uint8),
    ]:
        with pytest.raises(ValueError, match=r"gray: expected a 2-D \(H, W\) uint8 array"):
            kernels.lbp_codes(bad)
        with pytest.raises(ValueError, match=r"gray: expected a 2-D"):
            kernels.lbp_histogram(bad)
    for bad in [
        GRAY,
        np.zeros((10, 12, 5), np.uint8),
        np.zeros((10, 12, 0), np.uint8),
        np.zeros((1, 10, 12, 3), np.uint8),
    ]:
        with pytest.raises(ValueError, match=r"image: expected a 3-D \(H, W, C\).*1\.\.4"):
            kernels.lbp_histogram_multi(bad)


@pytest.mark.parametrize(
    "radius,shape", [(1, (2, 10)), (1, (10, 2)), (2, (4, 10)), (2, (10, 4)), (1, (0, 5))]
)
def test_too_small_is_value_error(radius, shape):
    img = np.zeros(shape, np.uint8)
    with pytest.raises(ValueError, match=rf"gray: .*too small; need at least {2 * radius + 1}x"):
        kernels.lbp_histogram(img, radius=radius)
    with pytest.raises(ValueError, match="image: .*too small"):
        kernels.lbp_histogram_multi(img[:, :, None], radius=radius)


@pytest.mark.parametrize(
    "grid,exc,msg",
    [
        ((0, 1), ValueError, "positive"),
        ((1, -2), ValueError, "positive"),
        ((1,), ValueError, "got 1 values"),
        ((1, 2, 3), ValueError, "got 3 values"),
        (3, TypeError, "got int"),
        ("ab", TypeError, "got str"),
        (None, TypeError, "NoneType"),
        ((1.0, 2), TypeError, "element 0 is float"),
        ((True, 1), TypeError, "element 0 is bool"),
        ((9, 1), ValueError, r"larger than the 8x10 code image"),
        ((1, 11), ValueError, r"larger than the 8x10 code image"),
    ],
)
def test_bad_grid(grid, exc, msg):
    with pytest.raises(exc, match=rf"grid: .*{msg}"):
        kernels.lbp_histogram(GRAY, grid)
    with pytest.raises(exc, match=rf"grid: .*{msg}"):
        kernels.lbp_histogram_multi(np.zeros((10, 12, 2), np.uint8), grid)


def test_grid_limit_depends_on_radius():
    assert kernels.lbp_histogram(GRAY, (8, 10)).shape == (80 * 59,)
    with pytest.raises(ValueError, match=r"grid: .*larger than the 6x8 code image"):
        kernels.lbp_histogram(GRAY, (8, 8), radius=2)


def test_bad_mapping_radius_normalize():
    with pytest.raises(ValueError, match="mapping: unknown mapping 'nri'.*'uniform'.*'default'"):
        kernels.lbp_histogram(GRAY, mapping="nri")
    with pytest.raises(TypeError, match="mapping: expected the str"):
        kernels.lbp_histogram(GRAY, mapping=59)
    for r in (0, 3, -1):
        with pytest.raises(ValueError, match=rf"radius: must be 1 or 2.*got {r}"):
            kernels.lbp_codes(GRAY, radius=r)
        with pytest.raises(ValueError, match="radius: must be 1 or 2"):
            kernels.lbp_histogram_multi(GRAY[:, :, None], radius=r)
    with pytest.raises(TypeError, match="radius: expected the int 1 or 2, got float"):
        kernels.lbp_histogram(GRAY, radius=1.0)
    with pytest.raises(TypeError, match="normalize: expected True or False, got str"):
        kernels.lbp_histogram(GRAY, normalize="yes")


def test_non_contiguous_pixels_is_value_error():
    img = np.zeros((20, 30), np.uint8)
    with pytest.raises(
        ValueError,
        match=r"gray: pixels within a row must be contiguous.*"
        r"ascontiguousarray",
    ):
        kernels.lbp_codes(img[:, ::2])
    with pytest.raises(ValueError, match="gray: pixels within a row must be contiguous"):
        kernels.lbp_histogram(img.T)
    color = np.zeros((20, 30, 4), np.uint8)
    for bad in [color[:, :, ::-1], color[:, :, :3], color[:, ::2]]:
        with pytest.raises(ValueError, match="image: pixels within a row must be contiguous"):
            kernels.lbp_histogram_multi(bad)


# ----------------------------------------------------------------------------- threads
def test_threads_match_serial():
    rng = np.random.default_rng(21)
    images = [
        _rand(rng, (int(rng.integers(20, 300)), int(rng.integers(20, 400)), 3)) for _ in range(24)
    ]

    def work(img):
        gray = np.ascontiguousarray(img[:, :, 1])
        return (
            kernels.lbp_codes(gray),
            kernels.lbp_histogram(gray, (4, 4)),
            kernels.lbp_histogram_multi(img, (2, 3), "default", False, 2),
        )

    serial = [work(img) for img in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            threaded = list(pool.map(work, images))
            for a, b in zip(serial, threaded):
                for x, y in zip(a, b):
                    np.testing.assert_array_equal(x, y)
