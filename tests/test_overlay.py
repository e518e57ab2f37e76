"""Drawn-frame checks of the overlay renderer."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive.overlay import BAR_W, COLORS, bar_color, draw_overlay, quality_warnings


def face(decision="LIVE", score=0.9, box=(200, 150, 120, 140), **kw):
    d = {"box": box, "score": score, "decision": decision, "reason": None, "track_id": 3,
         "cues": {"cnn": 0.8, "texture": 0.6, "reflection": 0.2, "motion": None},
         "quality": {"warnings": []}, "ear": 0.28, "blink_count": 2}
    d.update(kw)
    return d


def color_mask(img, bgr, tol=12):
    return np.all(np.abs(img.astype(int) - np.array(bgr)) <= tol, axis=2)


@pytest.mark.parametrize("decision", ["LIVE", "SPOOF", "UNCERTAIN"])
def test_box_is_drawn_in_the_decision_colour(decision):
    frame = np.full((480, 640, 3), 30, np.uint8)
    out = draw_overlay(frame, {"faces": [face(decision)]})
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.all(frame == 30)  # input untouched
    m = color_mask(out, COLORS[decision])
    # all four edges of the box (x 200..320, y 150..290) carry the colour
    assert m[150, 220:300].mean() > 0.9 and m[290, 220:300].mean() > 0.9
    assert m[170:270, 200].mean() > 0.9 and m[170:270, 320].mean() > 0.9
    # the inside of the box stays the original frame
    assert np.all(out[200:260, 230:290] == 30)
    others = [c for k, c in COLORS.items() if k != decision]
    assert not any(color_mask(out, c)[150, 220:300].any() for c in others)


def _bar_fill(out, x0, y_row):
    """Length of the coloured (non-background) run of a cue bar on row y_row from x0."""
    row = out[y_row, x0:x0 + BAR_W].astype(int)
    bg = np.array([60, 60, 60])
    return int((np.abs(row - bg).sum(axis=1) > 30).sum())


def test_cue_bars_are_proportional_to_the_values():
    frame = np.zeros((480, 640, 3), np.uint8)
    lo = draw_overlay(frame, {"faces": [face(cues={"cnn": 0.25, "texture": 1.0})]})
    hi = draw_overlay(frame, {"faces": [face(cues={"cnn": 0.75, "texture": 0.0})]})
    diff = np.any(lo != hi, axis=2)
    ys, xs = np.nonzero(diff)
    assert xs.min() > 320  # only the panel right of the box differs
    # locate the CNN bar: the first row that differs, scan from the leftmost differing x
    y = int(np.median(ys[ys < ys.min() + 8]))
    x0 = int(xs.min())
    # find the bar start on this row: first background-grey or coloured pixel in hi
    f_lo, f_hi = _bar_fill(lo, x0 - BAR_W // 4, y), _bar_fill(hi, x0 - BAR_W // 4, y)
    assert f_hi > f_lo
    assert (f_hi - f_lo) == pytest.approx(BAR_W / 2, abs=3)


def test_warnings_reason_and_hud_text_change_the_image():
    frame = np.zeros((480, 640, 3), np.uint8)
    base = draw_overlay(frame, {"faces": [face("UNCERTAIN")]})
    warned = draw_overlay(frame, {"faces": [face("UNCERTAIN", reason="no blink yet",
                                                 quality={"warnings": ["too dark"]})]})
    below = np.any(base[292:360] != warned[292:360], axis=2)
    assert below.any()  # text appears under the box
    assert color_mask(warned[292:360], (0, 230, 255), tol=40).sum() > 20
    hud0 = draw_overlay(frame, {"faces": []})
    hud1 = draw_overlay(frame, {"faces": []}, fps=31.5, latency_ms=7.2)
    assert np.any(hud0[:30, :200] != hud1[:30, :200])
    assert np.all(hud1[100:, :] == 0)  # nothing else drawn without faces


def test_attribute_objects_and_edge_boxes():
    class F:
        box = (-30, -20, 100, 100)  # partly outside the frame
        score = float("nan")
        decision = "SPOOF"
        cues = None
        quality = None
        reason = None
        track_id = None
        ear = None
        blink_count = None

    class R:
        faces = [F(), F()]
        timings = {"total": 12.5}

    out = draw_overlay(np.zeros((120, 160, 3), np.uint8), R())
    assert color_mask(out, COLORS["SPOOF"]).any()


def test_quality_warnings_forms():
    assert quality_warnings({"quality": {"warnings": ["blurry"]}, "reason": "x"}) == ["blurry", "x"]
    assert quality_warnings({"quality": {"blur": "blurry", "size": "ok"}}) == ["blur: blurry"]
    assert quality_warnings({}) == []


def test_bar_colour_runs_red_to_green():
    r, g = bar_color(0.0), bar_color(1.0)
    assert r[2] > r[1] and g[1] > g[2]


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="frame"):
        draw_overlay(np.zeros((10, 10, 3), np.float32), {"faces": []})
    with pytest.raises(TypeError, match="result"):
        draw_overlay(np.zeros((10, 10, 3), np.uint8), 42)
