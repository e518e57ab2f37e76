"""pad_metrics: hand-worked examples, a brute-force oracle, edge cases and input validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastlive.evaluate import error_curves, pad_metrics, to_jsonable


def brute(scores, labels, types):
    """Independent, loop-based recomputation of the documented definitions."""
    pts = [(s, y, t) for s, y, t in zip(scores, labels, types) if not math.isnan(s)]
    live = [s for s, y, _ in pts if y == 1]
    species = sorted({t for _, y, t in pts if y == 0})
    cands = sorted({s for s, _, _ in pts}) + [math.inf]

    def apcer_at(t):
        worst = 0.0
        for sp in species:
            a = [s for s, y, tt in pts if y == 0 and tt == sp]
            worst = max(worst, sum(1 for s in a if s >= t) / len(a))
        return worst

    def bpcer_at(t):
        return sum(1 for s in live if s < t) / len(live)

    curve = [(apcer_at(t), bpcer_at(t), t) for t in cands]
    eer = None
    for k in range(1, len(curve)):
        a0, b0, _ = curve[k - 1]
        a1, b1, _ = curve[k]
        if a1 - b1 <= 0 < a0 - b0:
            f = (a0 - b0) / ((a0 - b0) - (a1 - b1))
            eer = a0 + f * (a1 - a0)
            break
    if eer is None:  # crossing at the first point
        eer = curve[0][0]
    attacks = [s for s, y, _ in pts if y == 0]
    wins = 0.0
    for lv in live:
        for at in attacks:
            wins += 1.0 if lv > at else (0.5 if lv == at else 0.0)
    auc = wins / (len(live) * len(attacks))
    at1 = min(b for a, b, _ in curve if a <= 0.01)
    at5 = min(b for a, b, _ in curve if a <= 0.05)
    return curve, eer, auc, at1, at5


def test_hand_worked_example():
    scores = [0.9, 0.8, 0.4, 0.1, 0.5, 0.3]
    labels = [1, 1, 1, 0, 0, 0]
    m = pad_metrics(scores, labels)
    assert m["n"] == 6 and m["n_live"] == 3 and m["n_attack"] == 3 and m["n_fta"] == 0
    # thresholds 0.1 0.3 0.4 0.5: APCER 1, 2/3, 1/3, 1/3; BPCER 0, 0, 0, 1/3 -> cross at 0.5
    assert m["eer"] == pytest.approx(1 / 3)
    assert m["eer_threshold"] == 0.5
    assert m["threshold_source"] == "eer" and m["threshold"] == 0.5
    assert m["apcer"] == {"attack": pytest.approx(1 / 3)}
    assert m["bpcer"] == pytest.approx(1 / 3)
    assert m["acer"] == pytest.approx(1 / 3)
    assert m["auc"] == pytest.approx(8 / 9)
    # APCER <= 1% needs every attack rejected: smallest such threshold is 0.8 -> BPCER 1/3
    assert m["bpcer_at_apcer_1pct"] == pytest.approx(1 / 3)
    assert m["threshold_at_apcer_1pct"] == 0.8
    assert m["bpcer_at_apcer_5pct"] == pytest.approx(1 / 3)


def test_ties_are_accepted_and_half_counted_in_auc():
    m = pad_metrics([0.5, 0.5, 0.5, 0.2], [1, 1, 0, 0], threshold=0.5)
    assert m["apcer"]["attack"] == 0.5  # the tied attack is accepted (score >= threshold)
    assert m["bpcer"] == 0.0
    assert m["acer"] == 0.25
    assert m["auc"] == pytest.approx(0.75)  # (0.5 + 0.5 + 1 + 1) / 4
    # points (APCER, BPCER): t=0.2 (1, 0), t=0.5 (.5, 0), t=inf (0, 1): crossing at 1/3
    assert m["eer"] == pytest.approx(1 / 3)


def test_worst_attack_species_and_unknown_type():
    scores = [0.5, 0.6, 0.9, 0.1, 0.2, 0.7]
    labels = [1, 1, 0, 0, 0, 0]
    types = ["", "", "replay", "print", "print", None]
    m = pad_metrics(scores, labels, attack_types=types, threshold=0.5)
    assert m["apcer"] == {"print": 0.0, "replay": 1.0, "unknown_type": 1.0}
    assert m["apcer_worst"] == 1.0 and m["apcer_worst_type"] in {"replay", "unknown_type"}
    assert m["apcer_pooled"] == pytest.approx(0.5)
    assert m["bpcer"] == 0.0 and m["acer"] == 0.5


def test_perfect_separation():
    m = pad_metrics([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])
    assert m["eer"] == 0.0 and m["auc"] == 1.0
    assert m["bpcer_at_apcer_1pct"] == 0.0 and m["bpcer_at_apcer_5pct"] == 0.0
    assert m["acer"] == 0.0


def test_inverted_scores():
    m = pad_metrics([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])
    assert m["auc"] == 0.0 and m["eer"] == 1.0


def test_failure_to_acquire_is_counted_and_excluded():
    m = pad_metrics([float("nan"), 0.9, float("nan"), 0.1, 0.2], [1, 1, 0, 0, 1], threshold=0.5)
    assert m["n_fta"] == 2 and m["fta_live"] == 1 and m["fta_attack"] == 1
    assert m["fta_rate"] == pytest.approx(0.4)
    assert m["bpcer"] == 0.5  # of the 2 scored live samples, 0.2 is rejected
    assert m["apcer"]["attack"] == 0.0


def test_all_live_gives_nan_with_a_note():
    m = pad_metrics([0.9, 0.3, 0.7], [1, 1, 1], threshold=0.5)
    assert math.isnan(m["eer"]) and math.isnan(m["auc"]) and math.isnan(m["apcer_worst"])
    assert m["apcer"] == {}
    assert m["bpcer"] == pytest.approx(1 / 3)
    assert any("no attack samples" in n for n in m["notes"])
    m2 = pad_metrics([0.9, 0.3], [1, 1])  # no threshold: nothing can be decided
    assert math.isnan(m2["bpcer"]) and m2["threshold_source"] == "none"


def test_all_attack_gives_nan_with_a_note():
    m = pad_metrics([0.9, 0.3], [0, 0], threshold=0.5)
    assert math.isnan(m["bpcer"]) and math.isnan(m["eer"]) and math.isnan(m["acer"])
    assert m["apcer"]["attack"] == 0.5
    assert any("no live samples" in n for n in m["notes"])


def test_all_fta():
    m = pad_metrics([float("nan")] * 3, [1, 0, 1], threshold=0.5)
    assert m["n_fta"] == 3 and m["fta_rate"] == 1.0
    assert math.isnan(m["bpcer"]) and math.isnan(m["eer"])
    assert any("no scored" in n for n in m["notes"])


def test_per_source_uses_the_overall_threshold():
    scores = [0.9, 0.4, 0.6, 0.2, 0.8, 0.3]
    labels = [1, 1, 0, 0, 1, 0]
    sources = ["a", "a", "a", "a", "b", "b"]
    m = pad_metrics(scores, labels, sources=sources, threshold=0.5)
    pa, pb = m["per_source"]["a"], m["per_source"]["b"]
    assert pa["threshold"] == 0.5 and pb["threshold"] == 0.5
    assert pa["bpcer"] == 0.5 and pa["apcer"]["attack"] == 0.5
    assert pb["bpcer"] == 0.0 and pb["apcer"]["attack"] == 0.0
    assert pa["n"] + pb["n"] == m["n"]
    m2 = pad_metrics(scores, labels, sources=sources)
    assert m2["per_source"]["a"]["threshold"] == m2["threshold"]


@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
                      st.floats(0, 1), st.just(float("nan"))),
            st.integers(0, 1),
            st.sampled_from(["print", "replay", "mask"]),
        ),
        min_size=1, max_size=40,
    ),
    st.one_of(st.none(), st.floats(0, 1)),
)
def test_matches_brute_force(rows, threshold):
    scores = [r[0] for r in rows]
    labels = [r[1] for r in rows]
    types = [r[2] for r in rows]
    m = pad_metrics(scores, labels, attack_types=types, threshold=threshold)
    live = [s for s, y in zip(scores, labels) if y == 1 and not math.isnan(s)]
    att = [(s, t) for s, y, t in zip(scores, labels, types) if y == 0 and not math.isnan(s)]
    assert m["n_fta"] == sum(math.isnan(s) for s in scores)
    if not live or not att:
        assert math.isnan(m["eer"]) and math.isnan(m["auc"])
        return
    curve, eer, auc, at1, at5 = brute(scores, labels, types)
    assert m["eer"] == pytest.approx(eer, abs=1e-12)
    assert m["auc"] == pytest.approx(auc, abs=1e-12)
    assert m["bpcer_at_apcer_1pct"] == pytest.approx(at1, abs=1e-12)
    assert m["bpcer_at_apcer_5pct"] == pytest.approx(at5, abs=1e-12)
    t = m["threshold"]
    if threshold is not None:
        assert t == threshold
    for sp in {tt for _, tt in att}:
        a = [s for s, tt in att if tt == sp]
        assert m["apcer"][sp] == pytest.approx(sum(s >= t for s in a) / len(a))
    assert m["bpcer"] == pytest.approx(sum(s < t for s in live) / len(live))
    assert m["acer"] == pytest.approx((max(m["apcer"].values()) + m["bpcer"]) / 2)
    c = error_curves(scores, labels, types)
    assert np.allclose(c["apcer"], [p[0] for p in curve])
    assert np.allclose(c["bpcer"], [p[1] for p in curve])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"scores": [0.1, 0.2], "labels": [1]}, ValueError, "labels: length"),
        ({"scores": [0.1], "labels": [2]}, ValueError, "labels: values must be 0"),
        ({"scores": [0.1], "labels": ["live"]}, TypeError, "labels: expected 0/1"),
        ({"scores": [], "labels": []}, ValueError, "scores: empty"),
        ({"scores": [float("inf")], "labels": [1]}, ValueError, "scores: contains"),
        ({"scores": [[0.1]], "labels": [1]}, ValueError, "scores: expected a 1-D"),
        ({"scores": "0.1", "labels": [1]}, TypeError, "scores:"),
        ({"scores": [0.1], "labels": [1], "threshold": "0.5"}, TypeError, "threshold:"),
        ({"scores": [0.1], "labels": [1], "threshold": float("nan")}, ValueError, "threshold:"),
        ({"scores": [0.1], "labels": [1], "attack_types": ["a", "b"]}, ValueError,
         "attack_types: length"),
        ({"scores": [0.1], "labels": [1], "sources": "nuaa"}, TypeError, "sources:"),
    ],
)
def test_bad_input_names_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pad_metrics(**kwargs)


def test_to_jsonable_strict_json():
    import json

    m = pad_metrics([0.9, 0.3], [1, 1], threshold=0.5)
    text = json.dumps(to_jsonable(m), allow_nan=False)
    assert '"eer": null' in text


# -- data set loading ------------------------------------------------------------------------------
def test_load_manifest(data_dir):
    from fastlive.evaluate import load_samples

    s = load_samples(data_dir / "manifest.csv")
    assert len(s) == 4459
    assert {x["label"] for x in s} == {"live", "spoof"}
    assert all(x["attack_type"] == "" for x in s if x["label"] == "live")
    assert {x["attack_type"] for x in s if x["label"] == "spoof"} == {"print", "unknown_type"}
    assert {x["media"] for x in s} == {"image", "video"}
    first = s[0]
    assert Path(first["abs_path"]).is_file() and not Path(first["path"]).is_absolute()
    sub = load_samples(data_dir / "manifest.csv", limit=50)
    assert len(sub) == 50 and len({x["source"] for x in sub}) >= 5  # spread over the list
    assert sub == load_samples(data_dir / "manifest.csv", limit=50)  # deterministic
    nuaa = load_samples(data_dir / "manifest.csv", sources=["nuaa"])
    assert len(nuaa) == 2563 and {x["source"] for x in nuaa} == {"nuaa"}
    with pytest.raises(ValueError, match="--source: \\['nope'\\]"):
        load_samples(data_dir / "manifest.csv", sources=["nope"])


def test_load_folder(tmp_path):
    from fastlive.evaluate import load_samples

    for rel in ("live/a.jpg", "live/sub/b.png", "spoof/print/c.jpg", "spoof/replay/d.mp4",
                "spoof/e.jpg", "spoof/print/notes.txt"):
        f = tmp_path / "set" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")
    s = load_samples(tmp_path / "set")
    got = {x["path"]: (x["label"], x["attack_type"], x["media"]) for x in s}
    assert got == {
        "live/a.jpg": ("live", "", "image"), "live/sub/b.png": ("live", "", "image"),
        "spoof/print/c.jpg": ("spoof", "print", "image"),
        "spoof/replay/d.mp4": ("spoof", "replay", "video"),
        "spoof/e.jpg": ("spoof", "unknown_type", "image"),
    }
    assert {x["source"] for x in s} == {"set"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither live/ nor spoof"):
        load_samples(tmp_path / "empty")


# -- report writing ----------------------------------------------------------------------------
def test_write_report_roundtrip(tmp_path, data_dir):
    import json

    import cv2

    from fastlive.report import read_scores_csv, write_report

    rng = np.random.default_rng(3)
    imgs = sorted((data_dir / "nuaa" / "live" / "0001").glob("*.jpg"))[:4]
    rows = []
    for k in range(60):
        live = k % 2 == 0
        src = "a" if k < 30 else "b"
        score = float("nan") if k == 7 else float(np.clip(rng.normal(0.7 if live else 0.3, 0.2),
                                                          0, 1))
        rows.append({"path": f"img{k}.jpg", "abs_path": str(imgs[k % 4]),
                     "label": "live" if live else "spoof",
                     "attack_type": "" if live else ("print" if k % 4 == 1 else "replay"),
                     "source": src, "media": "image", "score": score, "decision": "LIVE",
                     "n_faces": 1, "method": "detect", "error": ""})
    m = pad_metrics([r["score"] for r in rows], [r["label"] == "live" for r in rows],
                    [r["attack_type"] for r in rows], [r["source"] for r in rows], 0.5)
    paths = write_report(tmp_path / "rep", rows, m, {"data": "synthetic", "command": "x"},
                         thumbnails=3)
    back = read_scores_csv(paths["scores"])
    assert len(back) == 60 and math.isnan(back[7]["score"])
    assert [round(r["score"], 6) for r in back if not math.isnan(r["score"])] == [
        round(r["score"], 6) for r in rows if not math.isnan(r["score"])]
    doc = json.loads(paths["metrics"].read_text())
    assert doc["metrics"]["acer"] == pytest.approx(m["acer"])
    assert set(doc["metrics"]["per_source"]) == {"a", "b"}
    for k in ("det", "roc"):
        img = cv2.imread(str(paths[k]))
        assert img is not None and img.shape == (480, 560, 3)
        assert (np.all(img < 40, axis=2)).sum() > 500  # axes + the black "overall" curve
    page = paths["html"].read_text()
    assert page.count("<tr>") >= 4 and 'src="det.png"' in page and 'src="roc.png"' in page
    assert page.count('src="thumbs/') == 6
    md = paths["markdown"].read_text()
    assert "| overall |" in md and "APCER print" in md and "APCER replay" in md
