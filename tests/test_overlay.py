"""Drawn-frame checks of the overlay renderer."""

from __future__ import annotations

import numpy as np
import pytest

from fastlive.overlay import BAR_W, COLORS, bar_color, draw_overlay, quality_warnings


def face(decision="LIVE", score=0.9, box=(200, 150, 120, 140), **kw):
    d = {"box": box, "score": score, "decision": decision, "reason": None, "track_id": 3,
         "cues": {"passive": 0.8, "smoothed": 0.6, "reflection": 0.2, "motion": None},
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
    lo = draw_overlay(frame, {"faces": [face(cues={"passive": 0.25, "smoothed": 1.0})]})
    hi = draw_overlay(frame, {"faces": [face(cues={"passive": 0.75, "smoothed": 0.0})]})
    diff = np.any(lo != hi, axis=2)
    ys, xs = np.nonzero(diff)
    assert xs.min() > 320  # only the panel right of the box differs
    # locate the PAS bar: the first row that differs, scan from the leftmost differing x
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


# -- layout: labels inside the canvas, panels apart, fit to a screen --------------------------
SIZES = [(64, 48), (160, 120), (320, 240), (640, 480), (1280, 720), (3840, 2160)]


def edge_boxes(w, h):
    """Boxes at every edge and corner, partly outside, and larger than the canvas."""
    bw, bh = max(w // 4, 8), max(h // 3, 8)
    return [(0, 0, bw, bh), (w - bw, h - bh, bw, bh), (-bw // 2, h // 3, bw, bh),
            (w - bw // 2, -bh // 2, bw, bh), (w // 3, h - bh // 3, bw, bh),
            (-10, -10, w + 20, h + 20), (w // 2, h // 2, 2, 2), (0, h - 4, w, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_the_label_is_always_inside_the_canvas_and_drawn_there(size):
    from fastlive.overlay import inside, plan_overlay

    w, h = size
    for box in edge_boxes(w, h):
        f = face("UNCERTAIN", 0.42, box, track_id=12345)
        (lay,) = plan_overlay((w, h), {"faces": [f]}, fps=29.97, latency_ms=8.1).faces
        assert lay.label is not None and inside(lay.label, w, h), (size, box, lay.label)
        out = draw_overlay(np.zeros((h, w, 3), np.uint8), {"faces": [f]}, fps=29.97,
                           latency_ms=8.1)
        x0, y0, x1, y1 = lay.label
        # the label's background is drawn there in the decision colour (text in black on it)
        m = color_mask(out[y0:y1, x0:x1], COLORS["UNCERTAIN"])
        assert m.mean() > 0.5 and m[:, 0].all()


@pytest.mark.parametrize("size", SIZES[2:])
@pytest.mark.parametrize("n", [2, 3, 6])
def test_panels_of_several_faces_never_overlap(size, n):
    from fastlive.overlay import inside, layout_faces, overlaps

    w, h = size
    bw, bh = w // 8, h // 4
    faces = [face("LIVE" if k % 2 else "SPOOF", 0.1 * k, (w // 5 + k * bw * 1.1,
                                                           h // 3 + (k % 2) * 10, bw, bh),
                  track_id=k) for k in range(n)]
    lay = layout_faces(faces, w, h, hud=(0, 0, 120, 20))
    panels = [fl.panel for fl in lay if fl.panel is not None]
    labels = [fl.label for fl in lay]
    if n <= 3 or w >= 1280:
        assert len(panels) == n  # room for every panel
    for i, a in enumerate(panels):
        assert inside(a, w, h)
        assert not overlaps(a, (0, 0, 120, 20))
        assert not any(overlaps(a, lb) for lb in labels)
        assert not any(overlaps(a, b) for b in panels[i + 1:])


def test_a_crowded_small_frame_drops_panels_instead_of_stacking_them():
    from fastlive.overlay import layout_faces, overlaps

    faces = [face(box=(10 + 30 * k, 40, 25, 30), track_id=k) for k in range(5)]
    lay = layout_faces(faces, 160, 120)
    panels = [fl.panel for fl in lay if fl.panel is not None]
    assert len(panels) < 5
    assert not any(overlaps(a, b) for i, a in enumerate(panels) for b in panels[i + 1:])


def test_fit_scales_a_large_frame_to_the_screen():
    frame = np.full((2160, 3840, 3), 30, np.uint8)
    f = face("LIVE", 0.9, (1200, 600, 600, 800))
    out = draw_overlay(frame, {"faces": [f]}, fit=(1280, 720))
    assert out.shape == (720, 1280, 3)
    m = color_mask(out, COLORS["LIVE"])
    # the box scaled by 1/3: x 400..600, y 200..467
    assert m[300:400, 400].mean() > 0.9 and m[300:400, 600].mean() > 0.9
    small = np.full((480, 640, 3), 30, np.uint8)
    assert draw_overlay(small, {"faces": []}, fit=(1280, 720)).shape == (480, 640, 3)
    with pytest.raises(ValueError, match="fit"):
        draw_overlay(small, {"faces": []}, fit=(0, 720))


def test_score_bar_marks_the_threshold_and_bars_show_their_values():
    from fastlive.overlay import THRESHOLD_COLOR, plan_overlay

    frame = np.zeros((480, 640, 3), np.uint8)
    f = face("LIVE", 0.9)
    (lay,) = plan_overlay((640, 480), {"faces": [f]}).faces
    sp = lay.panel_spec
    bx = lay.panel[0] + 4 + sp.name_w
    by = lay.panel[1] + 3 + (sp.row_h - sp.bar_h) // 2  # the first row: SCR
    for thr in (0.3, 0.7):
        out = draw_overlay(frame, {"faces": [f]}, threshold=thr)
        tx = bx + int(round(thr * (sp.bar_w - 1)))
        # the tick sticks out above the bar, on the darkened panel
        assert np.all(out[by - 2, tx] == THRESHOLD_COLOR), thr
        assert not np.all(out[by - 2, tx + 3] == THRESHOLD_COLOR)
    # the value printed after each bar: only that text changes with the value
    a = draw_overlay(frame, {"faces": [face(cues={"passive": 0.25})]})
    b = draw_overlay(frame, {"faces": [face(cues={"passive": 0.2449})]})
    ys, xs = np.nonzero(np.any(a != b, axis=2))
    # "0.25" and "0.24" (both fill 16 px of the bar, in a slightly different colour): the text
    # right of the bar differs, on the PAS row only (below the SCR row)
    assert (xs >= bx + sp.bar_w + 2).sum() > 10
    row0 = lay.panel[1] + 3 + sp.row_h
    assert ys.min() >= row0 - 2 and ys.max() < row0 + sp.row_h
    with pytest.raises(ValueError, match="threshold"):
        draw_overlay(frame, {"faces": []}, threshold=float("nan"))
