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
