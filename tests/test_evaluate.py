"""pad_metrics: hand-worked examples, a brute-force oracle, edge cases and input validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastlive.evaluate import error_curves, pad_metrics, to_jsonable


def crossing(curve):
    """Linear interpolation where APCER - BPCER changes sign along (apcer, bpcer, t) points."""
    for k in range(1, len(curve)):
        a0, b0, _ = curve[k - 1]
        a1, b1, _ = curve[k]
        if a1 - b1 <= 0 < a0 - b0:
            f = (a0 - b0) / ((a0 - b0) - (a1 - b1))
            return a0 + f * (a1 - a0)
    return curve[0][0]  # crossing at the first point


def brute(scores, labels, types):
    """Independent, loop-based recomputation of the documented definitions."""
    pts = [(s, y, t) for s, y, t in zip(scores, labels, types) if not math.isnan(s)]
    live = [s for s, y, _ in pts if y == 1]
    species = sorted({t for _, y, t in pts if y == 0})
    attacks = [s for s, y, _ in pts if y == 0]
    cands = sorted({s for s, _, _ in pts}) + [math.inf]

    def apcer_at(t, only=None):
        worst = 0.0
        for sp in species if only is None else [only]:
            a = [s for s, y, tt in pts if y == 0 and tt == sp]
            worst = max(worst, sum(1 for s in a if s >= t) / len(a))
        return worst

    def pooled_at(t):
        return sum(1 for s in attacks if s >= t) / len(attacks)

    def bpcer_at(t):
        return sum(1 for s in live if s < t) / len(live)

    curve = [(apcer_at(t), bpcer_at(t), t) for t in cands]
    eer = crossing([(pooled_at(t), bpcer_at(t), t) for t in cands])
    eer_by = {}
    for sp in species:  # the species' attacks alone against the live samples
        own = sorted({s for s, y, tt in pts if y == 1 or tt == sp}) + [math.inf]
        eer_by[sp] = crossing([(apcer_at(t, sp), bpcer_at(t), t) for t in own])
    wins = 0.0
    for lv in live:
        for at in attacks:
            wins += 1.0 if lv > at else (0.5 if lv == at else 0.0)
    auc = wins / (len(live) * len(attacks))
    at1 = min(b for a, b, _ in curve if a <= 0.01)
    at5 = min(b for a, b, _ in curve if a <= 0.05)
    return curve, eer, auc, at1, at5, eer_by


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
    curve, eer, auc, at1, at5, eer_by = brute(scores, labels, types)
    assert m["eer"] == pytest.approx(eer, abs=1e-12)
    assert m["eer_by_type"] == pytest.approx(eer_by, abs=1e-12)
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
    pooled = sum(s >= t for s, _ in att) / len(att)
    assert m["hter"] == pytest.approx((pooled + m["bpcer"]) / 2)
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
    # ../shared/data grows: compare with an independent read of the manifest, not with counts
    import csv

    from fastlive.evaluate import load_samples

    with open(data_dir / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    s = load_samples(data_dir / "manifest.csv")
    assert [x["path"] for x in s] == [r["path"] for r in rows]
    assert [x["label"] for x in s] == [r["label"] for r in rows]
    assert [x["source"] for x in s] == [r["source"] for r in rows]
    assert [x["attack_type"] for x in s if x["label"] == "spoof"] == [
        r["attack_type"] or "unknown_type" for r in rows if r["label"] == "spoof"]
    assert {x["label"] for x in s} == {"live", "spoof"}
    assert all(x["attack_type"] == "" for x in s if x["label"] == "live")
    assert {x["media"] for x in s} <= {"image", "video"}
    assert all(Path(x["abs_path"]).is_file() for x in s[:: max(1, len(s) // 200)])
    assert not Path(s[0]["path"]).is_absolute()
    sub = load_samples(data_dir / "manifest.csv", limit=50)
    assert len(sub) == 50 and len({x["source"] for x in sub}) >= 5  # spread over the list
    assert sub == load_samples(data_dir / "manifest.csv", limit=50)  # deterministic
    nuaa = load_samples(data_dir / "manifest.csv", sources=["nuaa"])
    assert len(nuaa) == sum(r["source"] == "nuaa" for r in rows) > 0
    assert {x["source"] for x in nuaa} == {"nuaa"}
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


# -- EER: the standard figure and the per-type ones ------------------------------------------
def test_eer_pools_the_attacks_and_per_type_figures_have_their_own_names():
    # 20 prints well below the live scores, 3 replays above every live score: the worst type
    # is fully accepted. The standard EER pools the attacks (3 of 23 accepted at most); the
    # replay's own EER is 100%, reported under its own name, never as "the" EER.
    live = [0.6 + 0.015 * k for k in range(20)]
    prints = [0.05 + 0.01 * k for k in range(20)]
    replays = [0.95, 0.96, 0.97]
    scores = live + prints + replays
    labels = [1] * 20 + [0] * 23
    types = [""] * 20 + ["print"] * 20 + ["replay"] * 3
    m = pad_metrics(scores, labels, attack_types=types)
    _, eer, auc, _, _, eer_by = brute(scores, labels, types)
    assert m["eer"] == pytest.approx(eer, abs=1e-12) and m["eer"] < 0.15
    assert m["auc"] == pytest.approx(auc) and 0.85 < m["auc"] < 0.9
    assert m["eer_by_type"] == pytest.approx({"print": 0.0, "replay": 1.0})
    assert m["auc_by_type"] == pytest.approx({"print": 1.0, "replay": 0.0})
    assert m["n_attack_by_type"] == {"print": 20, "replay": 3}
    # the EER threshold is one of the operating points next to the crossing, not 1.0
    assert m["eer_threshold"] < 0.95


def test_hter_and_acer():
    m = pad_metrics([0.9, 0.8, 0.3, 0.6, 0.1, 0.7, 0.2], [1, 1, 1, 0, 0, 0, 0],
                    attack_types=["", "", "", "print", "print", "replay", "replay"],
                    threshold=0.5)
    # accepted attacks: print 0.6 (1 of 2), replay 0.7 (1 of 2); live rejected: 0.3 (1 of 3)
    assert m["apcer_pooled"] == 0.5 and m["bpcer"] == pytest.approx(1 / 3)
    assert m["hter"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert m["acer"] == pytest.approx((0.5 + 1 / 3) / 2)


# -- threshold policy ------------------------------------------------------------------------
def test_threshold_at_each_criterion():
    from fastlive.evaluate import threshold_at

    scores = [0.9, 0.8, 0.4, 0.1, 0.5, 0.3]
    labels = [1, 1, 1, 0, 0, 0]
    # operating points (APCER, BPCER): 0.1 (1, 0), 0.3 (2/3, 0), 0.4 (1/3, 0), 0.5 (1/3, 1/3),
    # 0.8 (0, 1/3), 0.9 (0, 2/3), inf (0, 1)
    assert threshold_at(scores, labels, criterion="eer") == 0.5
    # HTER 1/6 at 0.4 and at 0.8: the lowest of tied thresholds
    assert threshold_at(scores, labels, criterion="min-hter") == 0.4
    assert threshold_at(scores, labels, criterion="apcer=0") == 0.8
    assert threshold_at(scores, labels, criterion="apcer=40%") == 0.4
    # every attack above every live: only rejecting everything meets APCER 0
    t = threshold_at([0.2, 0.9], [1, 0], criterion="apcer=0")
    assert t > 0.9 and math.isfinite(t)


@pytest.mark.parametrize(
    ("crit", "exc", "match"),
    [("median", ValueError, "criterion: expected eer"), ("apcer=2", ValueError, "apcer=X"),
     ("apcer=x", ValueError, "apcer=X"), (0.5, TypeError, "criterion")])
def test_bad_criterion(crit, exc, match):
    from fastlive.evaluate import threshold_at

    with pytest.raises(exc, match=match):
        threshold_at([0.1, 0.9], [0, 1], criterion=crit)


def _rows(scores, labels, types=None, sources=None, errors=None):
    n = len(scores)
    return [{"path": f"s{k}.jpg", "label": "live" if labels[k] else "spoof",
             "attack_type": "" if labels[k] else (types[k] if types else "print"),
             "source": sources[k] if sources else "a", "media": "image",
             "score": float(scores[k]), "error": errors[k] if errors else ""} for k in range(n)]


def test_dev_eval_protocol_measures_eval_at_the_dev_threshold():
    from fastlive.evaluate import dev_eval_metrics, threshold_at

    rng = np.random.default_rng(7)
    dev = _rows(np.r_[rng.normal(0.7, 0.1, 40), rng.normal(0.4, 0.1, 40)], [1] * 40 + [0] * 40)
    ev_s = np.r_[rng.normal(0.6, 0.15, 30), rng.normal(0.45, 0.15, 30)]
    ev = _rows(ev_s, [1] * 30 + [0] * 30)
    dev_m, ev_m = dev_eval_metrics(dev, ev, "eer")
    t = threshold_at([r["score"] for r in dev], [r["label"] == "live" for r in dev])
    assert dev_m["threshold"] == ev_m["threshold"] == t
    assert "development set" in ev_m["threshold_source"]
    # eval HTER recomputed by hand at the dev threshold
    apcer = np.mean(ev_s[30:] >= t)
    bpcer = np.mean(ev_s[:30] < t)
    assert ev_m["hter"] == pytest.approx((apcer + bpcer) / 2, abs=1e-12)
    # ... which is not the eval set's own EER threshold (the protocol's point)
    assert ev_m["eer_threshold"] != t
    _, ev_m5 = dev_eval_metrics(dev, ev, "apcer=5%")
    assert ev_m5["threshold"] == threshold_at([r["score"] for r in dev],
                                              [r["label"] == "live" for r in dev],
                                              criterion="apcer=0.05")
    with pytest.raises(ValueError, match="dev: fixing a threshold needs"):
        dev_eval_metrics(_rows([0.3, 0.5], [1, 1]), ev)


def test_metrics_from_rows_leaves_unreadable_samples_out():
    from fastlive.evaluate import metrics_from_rows

    rows = _rows([0.9, float("nan"), 0.2, float("nan")], [1, 1, 0, 0],
                 errors=["", "x.jpg: cannot decode", "", ""])
    m = metrics_from_rows(rows, 0.5, "given")
    assert m["n"] == 3 and m["n_unreadable"] == 1 and m["n_fta"] == 1
    assert m["n_live"] == 1 and m["bpcer"] == 0.0
    assert any("unreadable" in n for n in m["notes"])
    assert m["threshold_source"] == "given" == m["per_source"]["a"]["threshold_source"]
    with pytest.raises(ValueError, match="no readable sample"):
        metrics_from_rows(_rows([0.5], [1], errors=["broken"]))


# -- scores.csv round trip -------------------------------------------------------------------
def test_scores_csv_round_trip_and_recorded_threshold(tmp_path):
    import json

    from fastlive.evaluate import is_scores_csv, read_scores, recorded_threshold
    from fastlive.evaluate.report import write_scores_csv

    rows = _rows([0.91, float("nan"), 0.123456789012345, 0.3], [1, 1, 0, 0],
                 errors=["", "", "", "gone"])
    p = write_scores_csv(tmp_path / "scores.csv", rows)
    assert is_scores_csv(p)
    back = read_scores(p)
    assert [r["score"] for r in back][::2] == [0.91, 0.123456789012345]  # exact (repr)
    assert math.isnan(back[1]["score"]) and back[3]["error"] == "gone"
    assert recorded_threshold(p) is None
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"metrics": {"threshold": 0.42, "threshold_source": "given (--threshold)"}}))
    assert recorded_threshold(p) == (0.42, "given (--threshold)")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na.jpg,live\n")
    assert not is_scores_csv(manifest)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label,score\na.jpg,live,high\n")
    with pytest.raises(ValueError, match="line 2: score 'high' is not a number"):
        read_scores(bad)


def test_score_sample_reports_a_failing_sample_instead_of_raising(data_dir):
    from fastlive.evaluate import score_sample, score_samples

    class Exploding:
        def score_frame(self, frame, **kw):
            raise RuntimeError("model session failed")

    img = data_dir / "nuaa" / "live" / "0001" / "0001_00_00_01_0.jpg"
    sample = {"path": "a.jpg", "abs_path": str(img), "label": "live", "attack_type": "",
              "source": "s", "media": "image"}
    row = score_sample(Exploding(), sample)
    assert row["error"] == "RuntimeError: model session failed" and math.isnan(row["score"])
    gone = dict(sample, abs_path=str(data_dir / "no-such-file.jpg"))
    rows = list(score_samples([gone, sample], detector=Exploding()))
    assert "no such file" in rows[0]["error"] and rows[1]["error"].startswith("RuntimeError")
    with pytest.raises(ValueError, match="workers"):
        list(score_samples([sample], detector=Exploding(), workers=0))


# -- data set loading ------------------------------------------------------------------------
def test_manifest_unlabeled_rows_are_skipped_and_counted(tmp_path):
    from fastlive.evaluate import load_samples

    m = tmp_path / "m.csv"
    m.write_text("path,label,source\na.jpg,live,s\nb.jpg,unlabeled,s\nc.jpg,spoof,s\n"
                 "d.jpg,,s\ne.jpg,Unknown,s\n")
    s = load_samples(m)
    assert [x["path"] for x in s] == ["a.jpg", "c.jpg"] and s.unlabeled == 3
    assert load_samples(m, limit=1).unlabeled == 3
    m.write_text("path,label\na.jpg,unlabeled\n")
    with pytest.raises(ValueError, match="no labelled samples \\(1 unlabeled"):
        load_samples(m)
    m.write_text("path,label\na.jpg,live\nb.jpg,maybe\n")
    with pytest.raises(ValueError, match="line 3: label 'maybe' is neither live nor spoof"):
        load_samples(m)


# -- report writing ----------------------------------------------------------------------------
def _synthetic_rows(data_dir, n=60, seed=3):
    rng = np.random.default_rng(seed)
    imgs = sorted((data_dir / "nuaa" / "live" / "0001").glob("*.jpg"))[:4]
    rows = []
    for k in range(n):
        live = k % 2 == 0
        score = float("nan") if k == 7 else float(np.clip(rng.normal(0.7 if live else 0.3, 0.2),
                                                          0, 1))
        rows.append({"path": f"img{k}.jpg", "abs_path": str(imgs[k % 4]),
                     "label": "live" if live else "spoof",
                     "attack_type": "" if live else ("print" if k % 4 == 1 else "replay"),
                     "source": "a" if k < n // 2 else "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                     "media": "image", "score": score, "decision": "LIVE", "n_faces": 1,
                     "method": "detect", "error": ""})
    return rows


def test_write_report_roundtrip(tmp_path, data_dir):
    import json

    import cv2

    from fastlive.evaluate import metrics_from_rows
    from fastlive.evaluate.report import read_scores_csv, write_report

    rows = _synthetic_rows(data_dir)
    m = metrics_from_rows(rows, 0.5, "given")
    paths = write_report(tmp_path / "rep", rows, m, {"data": "synthetic", "command": "x"},
                         thumbnails=3)
    back = read_scores_csv(paths["scores"])
    assert len(back) == 60 and math.isnan(back[7]["score"])
    assert [r["score"] for r in back if not math.isnan(r["score"])] == [
        r["score"] for r in rows if not math.isnan(r["score"])]
    doc = json.loads(paths["metrics"].read_text())
    assert doc["metrics"]["acer"] == pytest.approx(m["acer"])
    assert set(doc["metrics"]["per_source"]) == {"a", "b" * 40}
    for k in ("det", "roc"):
        img = cv2.imread(str(paths[k]))
        assert img is not None and img.shape[0] > 300 and img.shape[1] > 400
    page = paths["html"].read_text()
    assert 'src="det.png"' in page and 'src="roc.png"' in page
    assert page.count('src="thumbs/') == 6
    md = paths["markdown"].read_text()
    assert "| overall |" in md and "| overall | print |" in md and "| overall | replay |" in md
    assert "HTER" in md and "EER vs live" in md


def test_det_and_roc_figures_name_every_curve_and_mark_the_operating_points(data_dir):
    from fastlive.evaluate import metrics_from_rows
    from fastlive.evaluate.report import (
        SystemResult,
        det_figure,
        plot_curves,
        probit,
        roc_figure,
    )

    rows = _synthetic_rows(data_dir)
    m = metrics_from_rows(rows, 0.5, "given")
    curves = plot_curves([SystemResult("sys", rows, m)])
    fig = det_figure(curves)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["a", "b" * 40, "overall"]  # complete names, the long one too
    thr_label = f"overall: threshold 0.500 (APCER {100 * m['apcer_pooled']:.1f}%, BPCER " \
                f"{100 * m['bpcer']:.1f}%)"
    assert thr_label in legend and f"overall: EER {100 * m['eer']:.1f}%" in legend
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    x, y = lines[thr_label].get_xdata()[0], lines[thr_label].get_ydata()[0]
    assert (x, y) == pytest.approx((probit([m["apcer_pooled"]])[0], probit([m["bpcer"]])[0]))
    eer_line = lines[f"overall: EER {100 * m['eer']:.1f}%"]
    assert eer_line.get_xdata()[0] == pytest.approx(probit([m["eer"]])[0])
    # the threshold point lies on the overall curve: one of its vertices
    ov = lines["overall"]
    assert np.any(np.isclose(ov.get_xdata(), x) & np.isclose(ov.get_ydata(), y))
    roc = roc_figure(curves).axes[0]
    rl = {ln.get_label(): ln for ln in roc.get_lines()}
    assert rl[thr_label].get_xdata()[0] == pytest.approx(m["apcer_pooled"])
    assert rl[thr_label].get_ydata()[0] == pytest.approx(1 - m["bpcer"])


def test_several_systems_share_one_det_plot(tmp_path, data_dir):
    import json

    import cv2

    from fastlive.evaluate import metrics_from_rows
    from fastlive.evaluate.report import SystemResult, det_figure, plot_curves, write_systems_report

    systems = []
    for k, name in enumerate(["fastlive 0.14 (texture + CNN fusion)", "baseline"]):
        rows = _synthetic_rows(data_dir, seed=10 + k)
        systems.append(SystemResult(name, rows, metrics_from_rows(rows, 0.5, "given")))
    legend = [t.get_text() for t in
              det_figure(plot_curves(systems)).axes[0].get_legend().get_texts()]
    assert [lb for lb in legend if ":" not in lb] == [s.name for s in systems]
    paths = write_systems_report(tmp_path / "cmp", systems, {"data": "x", "command": "y"})
    assert "scores" not in paths
    img = cv2.imread(str(paths["det"]))
    assert img is not None and img.ndim == 3
    doc = json.loads(paths["metrics"].read_text())
    assert [s["name"] for s in doc["systems"]] == [s.name for s in systems]
    md = paths["markdown"].read_text()
    assert all(f"| {s.name} |" in md for s in systems)


def test_report_without_matplotlib_says_how_to_get_the_plots(tmp_path, data_dir, monkeypatch):
    import sys

    from fastlive.evaluate import metrics_from_rows
    from fastlive.evaluate.report import plots_available, write_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert not plots_available()
    rows = _synthetic_rows(data_dir)
    paths = write_report(tmp_path / "rep", rows, metrics_from_rows(rows, 0.5), {"data": "x"},
                         thumbnails=0)
    assert "det" not in paths and "plots_missing" in paths
    assert paths["scores"].is_file() and paths["metrics"].is_file()
    assert not (tmp_path / "rep" / "det.png").exists()
    assert 'pip install "fastlive[plot]"' in paths["markdown"].read_text()
    assert "fastlive[plot]" in paths["html"].read_text()
