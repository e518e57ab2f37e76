"""eye_aspect_ratio and BlinkTracker on synthetic EAR traces."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastlive.kernels import BlinkEvent, BlinkTracker, eye_aspect_ratio

# --------------------------------------------------------------------------- EAR


def ear_oracle(p):
    p = np.asarray(p, np.float64)
    d = lambda i, j: float(np.linalg.norm(p[i] - p[j]))  # noqa: E731
    return (d(1, 5) + d(2, 4)) / (2 * d(0, 3))


def test_ear_known_value():
    # corners 4 apart, lids 1 and 3 apart -> (1 + 3) / (2 * 4) = 0.5
    pts = np.array([[0, 0], [1, 0.5], [3, 1.5], [4, 0], [3, -1.5], [1, -0.5]])
    assert eye_aspect_ratio(pts) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8, np.int64])
def test_ear_dtypes(dtype):
    pts = np.array([[0, 5], [2, 8], [6, 9], [9, 5], [6, 2], [2, 3]]).astype(dtype)
    assert eye_aspect_ratio(pts) == pytest.approx(ear_oracle(pts), rel=1e-6)


def test_ear_accepts_lists_and_views():
    pts = [[0, 5], [2, 8], [6, 9], [9, 5], [6, 2], [2, 3]]
    assert eye_aspect_ratio(pts) == pytest.approx(ear_oracle(pts))
    big = np.arange(40, dtype=np.float64).reshape(10, 4) ** 1.5
    view = big[2:8, 1:3]  # strided, non-contiguous
    assert eye_aspect_ratio(view) == pytest.approx(ear_oracle(view))


@given(st.lists(st.floats(-1e4, 1e4), min_size=12, max_size=12),
       st.floats(0.1, 10), st.floats(-math.pi, math.pi))
def test_ear_invariant_to_similarity(vals, scale, angle):
    pts = np.array(vals).reshape(6, 2)
    if np.array_equal(pts[0], pts[3]):
        with pytest.raises(ValueError, match="degenerate"):
            eye_aspect_ratio(pts)
        return
    if np.linalg.norm(pts[0] - pts[3]) < 1e-3:
        return  # ill-conditioned ratio: nothing stable to compare
    e = eye_aspect_ratio(pts)
    assert e == pytest.approx(ear_oracle(pts), rel=1e-9)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moved = pts @ rot.T * scale + [3.0, -7.0]
    assert eye_aspect_ratio(moved) == pytest.approx(e, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    "pts,exc,match",
    [
        (np.zeros((5, 2)), ValueError, r"points: expected shape \(6, 2\), got \(5, 2\)"),
        (np.zeros((6, 3)), ValueError, r"points: expected shape \(6, 2\)"),
        (np.zeros(12), ValueError, r"points: expected shape \(6, 2\)"),
        (np.zeros((6, 2), bool), TypeError, "points: expected a real"),
        (np.zeros((6, 2), complex), TypeError, "points: expected a real"),
        (np.array([["a", "b"]] * 6), TypeError, "points: expected a real"),
        (np.array([[np.nan, 0]] + [[1.0, 1.0]] * 5), ValueError, "points: contains NaN"),
        (np.array([[np.inf, 0]] + [[1.0, 1.0]] * 5), ValueError, "points: contains NaN"),
        (np.array([[1, 1], [2, 2], [3, 2], [1, 1], [3, 0], [2, 0]]), ValueError, "degenerate"),
        (None, TypeError, "points: expected a numpy.ndarray, got None"),
    ],
)
def test_ear_errors(pts, exc, match):
    with pytest.raises(exc, match=match):
        eye_aspect_ratio(pts)


# --------------------------------------------------------------------------- traces

OPEN, CLOSED = 0.30, 0.10


def trace(fps, duration_s, blinks, open_ear=OPEN, closed_ear=CLOSED, drift=None):
    """Timestamps and EAR: smooth half-sine dips of (start_s, length_s) on an open baseline."""
    t = np.arange(0.0, duration_s, 1.0 / fps)
    base = np.full_like(t, open_ear) if drift is None else drift(t)
    e = base.copy()
    for start, length in blinks:
        m = (t >= start) & (t < start + length)
        e[m] = base[m] - (base[m] - closed_ear) * np.sin(np.pi * (t[m] - start) / length)
    return t, e


def true_crossings(start, length, open_ear=OPEN, closed_ear=CLOSED, close_ratio=0.75,
                   open_ratio=0.85):
    depth = open_ear - closed_ear
    a = math.asin((open_ear - close_ratio * open_ear) / depth) / math.pi * length
    b = math.asin((open_ear - open_ratio * open_ear) / depth) / math.pi * length
    return start + a, start + length - b


def run(tracker, t, e):
    fired = [tracker.update(float(a), float(b)) for a, b in zip(t, e)]
    return fired


BLINKS = [(2.0, 0.2), (4.5, 0.15), (7.0, 0.35), (9.1, 0.25)]


@pytest.mark.parametrize("fps", [15, 30, 60])
def test_same_blinks_at_any_fps(fps):
    t, e = trace(fps, 11.0, BLINKS)
    tr = BlinkTracker()
    fired = run(tr, t, e)
    assert tr.blink_count == len(BLINKS) == sum(fired)
    assert len(tr.events) == len(BLINKS)
    for ev, (start, length) in zip(tr.events, BLINKS):
        s, en = true_crossings(start, length)
        # linear interpolation of the crossings: well within one 15 fps frame (67 ms)
        assert ev.start_s == pytest.approx(s, abs=0.02)
        assert ev.end_s == pytest.approx(en, abs=0.02)
        assert ev.duration_s == pytest.approx(en - s, abs=0.03)
        assert ev.duration_s == pytest.approx(ev.end_s - ev.start_s)
        assert CLOSED - 1e-9 <= ev.min_ear < 0.75 * OPEN
    assert tr.baseline == pytest.approx(OPEN)
    assert not tr.is_closed


def test_event_fires_on_reopening_sample():
    t, e = trace(30, 4.0, [(2.0, 0.2)])
    tr = BlinkTracker()
    fired = run(tr, t, e)
    i = fired.index(True)
    assert e[i] > 0.85 * OPEN and e[i - 1] <= 0.85 * OPEN
    assert t[i] >= tr.events[0].end_s


@pytest.mark.parametrize("fps", [15, 30, 60])
def test_too_short_and_too_long_closures_rejected(fps):
    t, e = trace(fps, 8.0, [(2.0, 0.2)])
    # 1.5 s of closed eyes (looking down) starting at 4 s
    e[(t >= 4.0) & (t < 5.5)] = CLOSED
    tr = BlinkTracker()
    run(tr, t, e)
    assert tr.blink_count == 1 and tr.events[0].start_s < 2.1
    # a closure of ~30 ms (below min_duration_s=0.05) is noise
    t2 = np.arange(0.0, 4.0, 1.0 / 240)
    e2 = np.full_like(t2, OPEN)
    e2[(t2 >= 2.0) & (t2 < 2.03)] = CLOSED
    tr2 = BlinkTracker()
    run(tr2, t2, e2)
    assert tr2.blink_count == 0
    # the same closure becomes a blink when min_duration_s allows it
    tr3 = BlinkTracker(min_duration_s=0.01)
    run(tr3, t2, e2)
    assert tr3.blink_count == 1


def test_is_closed_during_closure():
    t, e = trace(30, 4.0, [(2.0, 0.3)])
    tr = BlinkTracker()
    states = []
    for a, b in zip(t, e):
        tr.update(float(a), float(b))
        states.append(tr.is_closed)
    states = np.array(states)
    assert states[(t > 2.1) & (t < 2.2)].all()
    assert not states[t < 1.9].any() and not states[t > 2.4].any()


def test_no_detection_before_warmup():
    t, e = trace(30, 3.0, [(0.1, 0.2), (2.0, 0.2)])
    tr = BlinkTracker(warmup_s=0.5)
    assert tr.baseline is None
    run(tr, t[:10], e[:10])
    assert tr.baseline is None  # 0.3 s of samples
    run(tr, t[10:], e[10:])
    assert tr.baseline == pytest.approx(OPEN)
    assert tr.blink_count == 1 and tr.events[0].start_s > 1.9


def test_gap_cancels_closure_in_progress():
    t, e = trace(30, 6.0, [(2.0, 0.3), (4.0, 0.2)])
    keep = ~((t > 2.1) & (t < 2.95))  # 0.85 s with no frames in the middle of the first closure
    tr = BlinkTracker()
    run(tr, t[keep], e[keep])
    assert tr.blink_count == 1 and tr.events[0].start_s > 3.9
    # a shorter gap (< max_duration_s) keeps the blink, interpolating across it
    keep2 = ~((t > 2.11) & (t < 2.29))
    tr2 = BlinkTracker()
    run(tr2, t[keep2], e[keep2])
    assert tr2.blink_count == 2


def test_closure_right_after_gap_not_counted():
    tr = BlinkTracker()
    t, e = trace(30, 2.0, [])
    run(tr, t, e)
    # the stream resumes 1 s later with closed eyes (start unknown), then opens
    tr.update(3.0, CLOSED)
    tr.update(3.05, CLOSED)
    assert tr.is_closed
    tr.update(3.1, OPEN)
    assert tr.blink_count == 0 and not tr.is_closed


def test_long_gap_restarts_warmup():
    tr = BlinkTracker(baseline_window_s=2.0)
    t, e = trace(30, 2.0, [])
    run(tr, t, e)
    assert tr.baseline is not None
    tr.update(10.0, 0.2)
    assert tr.baseline is None


def test_baseline_follows_drift_and_ignores_closures():
    # open EAR drifts from 0.34 down to 0.22 over 20 s (head pitch); blinks every 2 s
    drift = lambda t: 0.34 - 0.12 * t / 20.0  # noqa: E731
    blinks = [(s, 0.2) for s in np.arange(2.0, 19.0, 2.0)]
    t, e = trace(30, 20.0, blinks, closed_ear=0.08, drift=drift)
    tr = BlinkTracker()
    baselines = []
    for a, b in zip(t, e):
        tr.update(float(a), float(b))
        if tr.baseline is not None:
            baselines.append((a, tr.baseline))
    assert tr.blink_count == len(blinks)
    for a, b in baselines[::15]:
        assert b == pytest.approx(drift(a), abs=0.02)  # lags at most ~a window


def test_abrupt_drop_of_open_level_rewarms():
    # at 3 s the open EAR drops for good from 0.30 to 0.20 (below close_ratio * 0.30): a long
    # "closure" that is not a blink; after baseline_window_s the tracker re-learns the level
    level = lambda t: np.where(t < 3.0, 0.30, 0.20)  # noqa: E731
    t, e = trace(30, 16.0, [(12.0, 0.2), (14.0, 0.2)], closed_ear=0.05, drift=level)
    tr = BlinkTracker(baseline_window_s=3.0)
    run(tr, t, e)
    assert tr.baseline == pytest.approx(0.20)
    assert tr.blink_count == 2 and tr.events[0].start_s > 11.9


def test_frequent_blinks_do_not_drag_baseline():
    blinks = [(s, 0.25) for s in np.arange(1.0, 10.0, 0.6)]  # very frequent blinker
    t, e = trace(30, 10.0, blinks)
    tr = BlinkTracker()
    run(tr, t, e)
    assert tr.baseline == pytest.approx(OPEN, abs=0.01)
    assert tr.blink_count == len(blinks) - 1 or tr.blink_count == len(blinks)


def test_max_events_bounds_memory_not_count():
    blinks = [(s, 0.2) for s in np.arange(1.0, 60.0, 1.0)]
    t, e = trace(30, 60.5, blinks)
    tr = BlinkTracker(max_events=10)
    run(tr, t, e)
    assert tr.blink_count == len(blinks)
    assert len(tr.events) == 10
    assert tr.events[-1].start_s > 59.0 and tr.events[0].start_s > 49.0


def test_reset():
    t, e = trace(30, 4.0, [(2.0, 0.2)])
    tr = BlinkTracker()
    run(tr, t, e)
    assert tr.blink_count == 1
    tr.reset()
    assert tr.blink_count == 0 and tr.events == [] and tr.baseline is None
    assert tr.n_samples == 0 and not tr.is_closed
    run(tr, t, e)  # timestamps may start over after reset
    assert tr.blink_count == 1


def test_events_are_copies_with_repr():
    t, e = trace(30, 4.0, [(2.0, 0.2)])
    tr = BlinkTracker()
    run(tr, t, e)
    ev = tr.events[0]
    assert isinstance(ev, BlinkEvent)
    assert "BlinkEvent(start_s=" in repr(ev) and "blink_count=1" in repr(tr)
    with pytest.raises(AttributeError):
        ev.start_s = 0.0  # read-only
    made = BlinkEvent(1.0, 1.25, 0.1)
    assert made.duration_s == pytest.approx(0.25) and made.min_ear == 0.1
    with pytest.raises(ValueError, match="end_s: must be >= start_s"):
        BlinkEvent(2.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="start_s: must be finite"):
        BlinkEvent(float("nan"), 1.0, 0.1)


def test_custom_thresholds():
    # a shallow closure (EAR 0.2 of 0.3 = 0.67 x baseline) only counts with a looser close_ratio
    t, e = trace(30, 4.0, [(2.0, 0.2)], closed_ear=0.2)
    strict, loose = BlinkTracker(close_ratio=0.6, open_ratio=0.8), BlinkTracker(close_ratio=0.75)
    run(strict, t, e)
    run(loose, t, e)
    assert strict.blink_count == 0 and loose.blink_count == 1


def test_update_errors():
    tr = BlinkTracker()
    tr.update(1.0, 0.3)
    with pytest.raises(ValueError, match="timestamp_s: must be strictly increasing"):
        tr.update(1.0, 0.3)
    with pytest.raises(ValueError, match="timestamp_s: must be strictly increasing"):
        tr.update(0.5, 0.3)
    with pytest.raises(ValueError, match="timestamp_s: must be finite"):
        tr.update(float("nan"), 0.3)
    with pytest.raises(ValueError, match="ear: must be a finite value"):
        tr.update(2.0, float("inf"))
    with pytest.raises(ValueError, match="ear: must be a finite value"):
        tr.update(2.0, float("nan"))
    with pytest.raises(ValueError, match="ear: must be a finite value >= 0"):
        tr.update(2.0, -0.1)
    assert tr.n_samples == 1  # rejected samples leave no trace
    with pytest.raises(TypeError):
        tr.update("1", 0.3)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"close_ratio": 0.0}, "close_ratio: must be in"),
        ({"close_ratio": 1.0}, "close_ratio: must be in"),
        ({"close_ratio": 0.9, "open_ratio": 0.85}, "open_ratio: must be in"),
        ({"open_ratio": 1.2}, "open_ratio: must be in"),
        ({"min_duration_s": -0.1}, "min_duration_s: must be in"),
        ({"min_duration_s": float("nan")}, "min_duration_s: must be in"),
        ({"max_duration_s": 0.04}, "max_duration_s: must be in"),
        ({"baseline_window_s": 0.0}, "baseline_window_s: must be in"),
        ({"baseline_quantile": 0.3}, "baseline_quantile: must be in"),
        ({"warmup_s": 10.0}, "warmup_s: must be in"),
        ({"warmup_samples": 0}, "warmup_samples: must be in"),
        ({"max_events": 0}, "max_events: must be in"),
        ({"depth_ratio": 0.0}, "depth_ratio: must be in"),
        ({"depth_ratio": 1.5}, "depth_ratio: must be in"),
        ({"noise_factor": -1.0}, "noise_factor: must be in"),
        ({"noise_factor": float("inf")}, "noise_factor: must be in"),
        ({"level_change_s": 0.0}, "level_change_s: must be in"),
    ],
)
def test_constructor_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BlinkTracker(**kwargs)


def test_constructor_is_keyword_only_and_reports_params():
    with pytest.raises(TypeError):
        BlinkTracker(0.7)
    tr = BlinkTracker(close_ratio=0.7, max_events=5)
    assert tr.params["close_ratio"] == 0.7 and tr.params["max_events"] == 5


def test_independent_trackers_in_threads():
    traces = [trace(fps, 10.0, BLINKS[: k + 1]) for k, fps in enumerate([15, 30, 60, 25])]
    serial = []
    for t, e in traces:
        tr = BlinkTracker()
        run(tr, t, e)
        serial.append([(ev.start_s, ev.end_s, ev.min_ear) for ev in tr.events])
    results: list = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        tr = BlinkTracker()
        run(tr, *traces[i])
        results[i] = [(ev.start_s, ev.end_s, ev.min_ear) for ev in tr.events]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == serial
    assert [len(r) for r in results] == [1, 2, 3, 4]


# ------------------------------------------------- plausible blinks (issue 21: real webcams)
def test_shallow_dips_are_not_blinks():
    """A dip to 0.75 x baseline (a turning head, a jittered photo) closes below close_ratio
    but is no clear closure: not counted, so every blink counted is liveness evidence; a dip
    to 0.6 x is."""
    t, e = trace(30, 6.0, [(2.0, 0.25), (4.0, 0.25)], closed_ear=OPEN * 0.6)
    e[(t >= 2.0) & (t < 2.25)] = np.maximum(e[(t >= 2.0) & (t < 2.25)], OPEN * 0.75)
    tr = BlinkTracker(close_ratio=0.78, open_ratio=0.82)
    run(tr, t, e)
    assert tr.blink_count == 1 and tr.events[0].start_s > 3.9
    assert tr.events[0].min_ear <= 0.7 * tr.baseline
    loose = BlinkTracker(close_ratio=0.78, open_ratio=0.82, depth_ratio=0.8)
    run(loose, t, e)
    assert loose.blink_count == 2


@pytest.mark.parametrize("fps", [30, 60])
def test_a_one_frame_dip_is_not_a_blink(fps):
    """With the pipeline's parameters (fastlive.Config), one frame down to 0.1 at 30 fps
    (~33-45 ms) is shorter than any blink; two frames at 30 fps (a fast blink) count."""
    from fastlive.config import Config

    params = Config().blink_params()
    assert params["min_duration_s"] >= 0.06
    t = np.arange(0.0, 5.0, 1.0 / fps)
    e = np.full_like(t, OPEN)
    e[int(2.0 * fps)] = CLOSED
    tr = BlinkTracker(**params)
    run(tr, t, e)
    assert tr.blink_count == 0
    k = int(3.0 * fps)
    e[k:k + max(2, round(0.067 * fps))] = CLOSED
    tr = BlinkTracker(**params)
    run(tr, t, e)
    assert tr.blink_count == 1 and tr.events[0].duration_s >= 0.06


def test_noisy_ear_needs_a_deeper_dip():
    """Dips to 0.19 (0.6 x the open level) are blinks on a steady EAR; on an EAR jittering by
    +-0.02 from frame to frame (a blurred screen replay: noise 0.04) they are within 2.5 noise
    units of the baseline and not counted, while a full closure still is."""
    t, e = trace(30, 12.0, [(3.0, 0.25), (6.0, 0.25)], closed_ear=0.19)
    _, deep = trace(30, 12.0, [(9.0, 0.25)], closed_ear=0.03)
    e = np.minimum(e, deep)
    steady = BlinkTracker(close_ratio=0.78, open_ratio=0.82, noise_factor=2.5)
    run(steady, t, e)
    assert steady.blink_count == 3 and steady.noise == pytest.approx(0.0, abs=1e-3)
    jitter = e + np.where(np.arange(t.size) % 2, 0.02, -0.02)
    noisy = BlinkTracker(close_ratio=0.78, open_ratio=0.82, noise_factor=2.5)
    run(noisy, t, jitter)
    assert noisy.noise == pytest.approx(0.04, abs=1e-3)
    assert noisy.close_threshold < 0.78 * noisy.baseline
    assert noisy.blink_count == 1 and 8.9 < noisy.events[0].start_s < 9.2
    plain = BlinkTracker(close_ratio=0.78, open_ratio=0.82, noise_factor=0.0)
    run(plain, t, jitter)
    assert plain.blink_count == 3


def test_noise_around_the_reopening_does_not_split_a_blink():
    """EAR jittering across the end threshold on the way up (0.30 -> 0.08 -> 0.265 -> 0.2 ->
    0.30) is one blink, not two; two blinks with a clear reopening between them are two."""
    t = np.arange(0.0, 6.0, 1.0 / 30)
    e = np.full_like(t, OPEN) + np.where(np.arange(t.size) % 2, 0.01, -0.01)
    k = 90
    e[k:k + 10] = [0.2, 0.1, 0.08, 0.1, 0.265, 0.22, 0.2, 0.26, 0.27, 0.3]
    tr = BlinkTracker(close_ratio=0.78, open_ratio=0.82)
    run(tr, t, e)
    assert 0.265 > tr.close_threshold + 0.04 * tr.baseline  # it did reopen, briefly
    assert tr.blink_count == 1 and tr.events[0].end_s > t[k + 6]
    e[k:k + 10] = [0.2, 0.1, 0.08, 0.1, 0.3, 0.1, 0.08, 0.2, 0.28, 0.3]  # double blink
    tr = BlinkTracker(close_ratio=0.78, open_ratio=0.82)
    run(tr, t, e)
    assert tr.blink_count == 2


def test_new_open_level_is_learned_after_level_change_s():
    """The open EAR drops for good at 3 s (the head tilted): the tracker restarts on the new
    level after level_change_s (2 s), so a blink at 5.6 s counts; it used to wait a whole
    baseline window (4 s) and miss it."""
    level = lambda t: np.where(t < 3.0, 0.30, 0.20)  # noqa: E731
    t, e = trace(30, 8.0, [(5.6, 0.2)], closed_ear=0.05, drift=level)
    tr = BlinkTracker()
    run(tr, t, e)
    assert tr.blink_count == 1 and tr.events[0].start_s > 5.5
    assert tr.baseline == pytest.approx(0.20)
    slow = BlinkTracker(level_change_s=4.0)
    run(slow, t, e)
    assert slow.blink_count == 0


# ------------------------------------------- the eye network's training data (training/eye.py)
@pytest.fixture(scope="module")
def eyes_small(data_dir):
    from training import eye

    return eye.collect(data_dir, cache=False, verbose=False, limit=4)


def test_training_crops_are_the_runtime_crops(eyes_small, data_dir):
    """A stored eye region (the frame's own pixels around the eye) gives, through make_batch,
    the very input EyeNet makes from the frame for the same eye crop: training and run time
    share one preprocessing. The label is the teacher's answer mapped into that crop."""
    import cv2

    from fastlive.detect import FaceDetector
    from fastlive.landmarks import (
        EYE_NET_INPUT,
        EyeLandmarker,
        EyeROI,
        eye_net_tensor,
        eye_transform,
        rois_from_keypoints,
    )
    from training import eye

    e = eyes_small
    i = int(np.flatnonzero(e.positive & (e.eye_px < eye.PATCH_EYE_PX_MAX))[0])
    mirror = bool(e.mirror[i])
    frame = cv2.imread(str(data_dir / e.path[i]))
    x, y, p = eye.make_batch(e, np.array([i]), np.random.default_rng(0), train=False)
    assert p[0] == 1.0 and np.isfinite(y).all()
    # the eye crop as collect() made it: the detector's eye, re-centred on the teacher's eye
    face = FaceDetector().detect(frame)[0]
    roi = rois_from_keypoints(face.keypoints)[int(mirror)]
    r1 = EyeLandmarker().run(frame, roi, mirror=mirror)
    c = (r1.contour[0] + r1.contour[8]) / 2
    frame_roi = EyeROI(float(c[0]), float(c[1]), roi.width, roi.angle)
    origin = np.floor([frame_roi.cx - eye.PATCH_X * roi.width,
                       frame_roi.cy - eye.PATCH_Y * roi.width])
    np.testing.assert_allclose(e.roi[i, :2], c - origin, atol=1e-6)
    h, w = EYE_NET_INPUT["size"]
    m = eye_transform(frame_roi, mirror, (h, w), EYE_NET_INPUT["eye_px"])
    np.testing.assert_allclose(x[0], eye_net_tensor(frame, m)[0], atol=1e-4)
    # the label: the mean of the teacher's two answers, close to its first, in crop pixels
    pts = np.vstack([r1.contour, r1.iris[None]]) @ m[:, :2].T + m[:, 2]
    got = y[0] * EYE_NET_INPUT["eye_px"] + [(w - 1) / 2, (h - 1) / 2]
    assert np.abs(got - pts).max() < 3.0


def test_augmented_labels_follow_the_image():
    """Every augmentation (glasses, blur, a smaller face, exposure, noise, JPEG) and the crop
    jitter move the label with the image: a dark spot drawn at a labelled point is at that
    label's position in the network's crop."""
    import cv2

    from fastlive.landmarks import EYE_NET_INPUT, EyeROI, eye_net_tensor, eye_transform
    from training import eye

    h, w = EYE_NET_INPUT["size"]
    for seed in range(40):
        rng = np.random.default_rng(seed)
        reg = np.full((130, 160, 3), 200, np.uint8)
        roi = EyeROI(80.0 + rng.uniform(-3, 3), 64.0 + rng.uniform(-3, 3), 36.0,
                     rng.uniform(-0.2, 0.2))
        spot = np.array([roi.cx + rng.uniform(-10, 10), roi.cy + rng.uniform(-5, 5)])
        cv2.circle(reg, (int(round(spot[0] * 16)), int(round(spot[1] * 16))), 6 * 16, (0, 0, 0),
                   -1, cv2.LINE_AA, 4)
        pts = np.tile(spot.astype(np.float32), (17, 1))
        crop = eye.jitter(roi, rng)
        out, crop2, pts2 = eye.augment(reg, roi, crop, pts, rng)
        m = eye_transform(crop2, False, (h, w), EYE_NET_INPUT["eye_px"])
        x = eye_net_tensor(out, m)[0].mean(axis=0)
        want = pts2[0] @ m[:, :2].T + m[:, 2]
        yy, xx = np.unravel_index(np.argmin(cv2.GaussianBlur(x, (5, 5), 0)), x.shape)
        assert np.hypot(xx - want[0], yy - want[1]) < 2.0, seed


def test_folds_hold_out_disjoint_zju_halves_and_the_videos():
    from training import eye

    def row(source, subject="s", path="p"):
        return {"source": source, "subject_id": subject, "path": path}

    for k in range(1, 11):
        r = row("zju_eyeblink", f"zju-{k:02d}")
        assert eye.held_out(r, "A") != eye.held_out(r, "B")
    for fold in ("A", "B"):
        assert eye.held_out(row("wolfhuo"), fold) and eye.held_out(row("tranvanluyt"), fold)
    assert eye.held_out(row("spp77", path="webcam/spp77/live/1.jpg"), "A")
    assert not eye.held_out(row("spp77", path="webcam/spp77/live/1.jpg"), "B")
    assert eye.held_out(row("nuaa"), "B") and not eye.held_out(row("nuaa"), "A")


def test_train_and_export_smoke(eyes_small, tmp_path):
    """Two tiny epochs on a handful of faces: the exported file loads in EyeNet and gives one
    result per eye (a smoke test of the pipeline, not of accuracy)."""
    pytest.importorskip("torch")
    import cv2

    from fastlive.landmarks import EYE_NET_INPUT, EyeNet, EyeROI
    from training import eye

    net = eye.train(eyes_small, epochs=2, epoch_size=256, verbose=False)
    path = tmp_path / "eye.onnx"
    assert eye.export(net, path) < 1e-3
    entry = eye.manifest_entry(path, eyes_small, epochs=2, seed=0, diff=0.0)
    assert entry["name"] == "eye" and entry["input"]["size"] == EYE_NET_INPUT["size"]
    assert len(entry["sha256"]) == 64 and entry["file"] == "eye.onnx"
    lm = EyeNet(path, input_spec=entry["input"])
    frame = np.full((120, 160, 3), 127, np.uint8)
    cv2.ellipse(frame, (80, 60), (20, 8), 0, 0, 360, (30, 30, 30), -1)
    res = lm.run_eyes(frame, [EyeROI(80, 60, 40, 0), EyeROI(80, 60, 40, 0)], [False, True])
    assert len(res) == 2 and all(r.contour.shape == (16, 2) for r in res)
    p = eye.write_manifest_entry(tmp_path, entry)
    import json

    man = json.loads(p.read_text())
    assert [m["name"] for m in man["models"]] == ["eye"]
    eye.write_manifest_entry(tmp_path, {**entry, "sha256": "0" * 64})
    man = json.loads(p.read_text())
    assert len(man["models"]) == 1 and man["models"][0]["sha256"] == "0" * 64
