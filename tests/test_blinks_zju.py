"""Blink events on the ZJU Eyeblink clips (subjects 1-10, the dev set) through the real pipeline.

Target (issue 3): event precision and recall >= 0.97. Same numbers from the command line:
``python -m fastlive.blinks ../shared/data``.
"""

from __future__ import annotations

import pytest

from fastlive import blinks


def test_read_tag_and_truth_events(data_dir):
    rows = blinks.read_tag(data_dir / "zju_eyeblink/000001M_FBN.tag")
    assert rows[0]["frame"] == 1 and rows[0]["blink_id"] == -1
    assert len(rows) == 137
    ev = blinks.truth_events(rows)
    assert ev[:2] == [(33, 47), (78, 93)]
    assert blinks.truth_events(data_dir / "zju_eyeblink/000001M_FBN.tag") == ev
    closed = [r["frame"] for r in rows if r["le_fc"] == "C"]
    assert closed[:5] == [35, 36, 37, 38, 39]


def test_read_tag_rejects_other_files(tmp_path):
    p = tmp_path / "x.tag"
    p.write_text("#start\nhello\n#end\n")
    with pytest.raises(ValueError, match="fields"):
        blinks.read_tag(p)
    p.write_text("nothing here\n")
    with pytest.raises(ValueError, match="no annotation rows"):
        blinks.read_tag(p)
    with pytest.raises(FileNotFoundError, match="path"):
        blinks.read_tag(tmp_path / "missing.tag")


def test_match_events():
    truth = [(10, 15), (40, 45), (80, 86)]
    pred = [(11, 14), (47, 50), (100, 104)]
    m = blinks.match_events(pred, truth, tolerance_frames=3)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 1)
    assert m["unmatched_truth"] == [(80.0, 86.0)] and m["unmatched_pred"] == [(100.0, 104.0)]
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    strict = blinks.match_events(pred, truth, tolerance_frames=0)
    assert strict["tp"] == 1
    # one prediction cannot match two annotated blinks
    assert blinks.match_events([(0, 100)], truth)["tp"] == 1
    assert blinks.match_events([], [])["precision"] == 1.0
    with pytest.raises(ValueError, match="tolerance_frames"):
        blinks.match_events(pred, truth, tolerance_frames=-1)


def test_frame_clock_spans_the_clip():
    rows = [{"frame": k, "blink_id": -1} for k in range(1, 138)]
    first, spf = blinks.frame_clock(rows, 146 / 30.0)
    assert first == 1 and spf == pytest.approx(146 / 30.0 / 137)


@pytest.mark.slow
def test_zju_blink_precision_and_recall(data_dir):
    r = blinks.evaluate(data_dir)
    assert r["clips"] == 40
    failures = "\n".join(
        f"{c['clip']}: fp={c['fp']} fn={c['fn']} missed={c['unmatched_truth']} "
        f"spurious={c['unmatched_pred']}" for c in r["per_clip"] if c["fp"] or c["fn"])
    assert r["tp"] + r["fn"] == 149, failures  # every annotated blink is counted
    assert r["precision"] >= 0.97, failures
    assert r["recall"] >= 0.97, failures
