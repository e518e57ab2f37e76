"""The fastlive command line, run as a subprocess on real files and on videos written here."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


def run(*args, env=None, timeout=120, cwd=None):
    e = dict(os.environ)
    e.pop("DISPLAY", None)
    e.pop("WAYLAND_DISPLAY", None)
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "fastlive.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=e, cwd=cwd)


def one_error_line(p):
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    return lines


# -- info / models ---------------------------------------------------------------------------
def test_info_json(models_dir):
    p = run("info", "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["opencv"] == cv2.__version__
    assert "CPUExecutionProvider" in info["onnxruntime_providers"]
    assert info["simd"]["active"] in info["simd"]["compiled"]
    names = {r["name"]: r for r in info["models"]}
    assert names["yunet"]["ok"]
    assert Path(names["yunet"]["path"]).parent.resolve() == models_dir.resolve()


def test_info_text():
    p = run("info")
    assert p.returncode == 0, p.stderr
    assert "SIMD" in p.stdout and "onnxruntime providers" in p.stdout and "yunet" in p.stdout


def test_models_list_and_verify(models_dir):
    p = run("models", "list", "--json")
    assert p.returncode == 0, p.stderr
    rows = {r["name"]: r for r in json.loads(p.stdout)["models"]}
    assert {"yunet", "face_mesh", "iris"} <= set(rows)
    p = run("models", "verify")
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("OK ") == len(rows)


def test_models_verify_flags_a_corrupt_file(tmp_path):
    (tmp_path / "face_detection_yunet_2023mar.onnx").write_bytes(b"not the model")
    p = run("models", "verify", env={"FASTLIVE_MODEL_DIR": str(tmp_path),
                                     "FASTLIVE_CACHE_DIR": str(tmp_path / "cache")})
    lines = one_error_line(p)
    assert "CORRUPT  yunet" in p.stdout
    assert len(lines) == 1 and "missing or corrupt" in lines[0]


def test_models_install_from_dir(tmp_path, models_dir):
    cache = tmp_path / "cache"
    env = {"FASTLIVE_CACHE_DIR": str(cache), "FASTLIVE_MODEL_DIR": str(tmp_path / "none")}
    p = run("models", "install", "yunet", "--from", models_dir, env=env)
    assert p.returncode == 0, p.stderr
    got = cache / "face_detection_yunet_2023mar.onnx"
    assert got.read_bytes() == (models_dir / got.name).read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / got.name).write_bytes(b"junk")
    p = run("models", "install", "--from", bad, env=env)
    lines = one_error_line(p)
    assert len(lines) == 1 and "sha256" in lines[0]


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["image", "/nonexistent/x.jpg"], 1, "no such file"),
        (["video", "/nonexistent/x.mp4"], 1, "no such file"),
        (["eval", "/nonexistent/manifest.csv"], 1, "does not exist"),
        (["video", "x.mp4", "--bogus"], 2, "unrecognized arguments"),
        (["eval", "x.csv", "--limit", "0"], 2, "positive integer"),
        (["webcam", "--threshold", "1.5"], 2, "[0, 1]"),
        (["models", "frobnicate"], 2, "invalid choice"),
    ],
)
def test_errors_are_one_clear_line(args, code, needle):
    p = run(*args)
    assert p.returncode == code
    lines = one_error_line(p)
    assert needle in lines[-1]
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("fastlive: error:")


def test_unreadable_image_and_debug_traceback(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    p = run("image", bad)
    lines = one_error_line(p)
    assert len(lines) == 1 and "cannot decode" in lines[0]
    p = run("--debug", "image", bad)
    assert p.returncode != 0 and "Traceback" in p.stderr
    p = run("image", bad, "--debug")
    assert p.returncode != 0 and "Traceback" in p.stderr


def test_undecodable_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(os.urandom(4096))
    p = run("video", bad)
    lines = one_error_line(p)
    assert len(lines) == 1 and "broken.mp4" in lines[0]


def test_missing_camera_fails_fast():
    p = run("webcam", "--source", "57", "--no-display", "--timeout", "2", timeout=20)
    lines = one_error_line(p)
    assert len(lines) == 1 and "camera 57" in lines[0]


def test_eval_bad_manifest(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("file,class\na.jpg,live\n")
    lines = one_error_line(run("eval", m))
    assert len(lines) == 1 and "missing column" in lines[0]
    m.write_text("path,label\na.jpg,maybe\n")
    lines = one_error_line(run("eval", m))
    assert "neither live nor spoof" in lines[0]


# -- scoring commands on real captures -------------------------------------------------------------
def nuaa_sequence(data_dir, kind, n):
    """n frames of one NUAA capture session in time order (every 5th camera frame)."""
    import re

    folder = data_dir / "nuaa" / kind / "0001"
    fs = sorted(folder.glob("0001_00_00_01_*.jpg"),
                key=lambda p: int(re.findall(r"_(\d+)\.jpg$", p.name)[0]))
    return fs[:n]


def write_clip(path, frames, fps=30.0, repeat=3):
    """A 640x480 clip: each real frame held `repeat` times with a small sub-pixel drift."""
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    assert vw.isOpened()
    n = 0
    for f in frames:
        img = cv2.imread(str(f))
        for k in range(repeat):
            m = np.float32([[1, 0, 1.5 * k], [0, 1, 0.5 * k]])
            vw.write(cv2.warpAffine(img, m, (640, 480), borderMode=cv2.BORDER_REPLICATE))
            n += 1
    vw.release()
    return n


@pytest.fixture(scope="module")
def clips(data_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    n_live = write_clip(d / "live.mp4", nuaa_sequence(data_dir, "live", 12))
    n_spoof = write_clip(d / "spoof.mp4", nuaa_sequence(data_dir, "spoof", 12))
    return {"live": (d / "live.mp4", n_live), "spoof": (d / "spoof.mp4", n_spoof)}


def json_lines(text):
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def test_image_json_and_annotated_output(data_dir, tmp_path):
    live = data_dir / "nuaa" / "live" / "0001" / "0001_00_00_01_0.jpg"
    spoof = data_dir / "nuaa" / "spoof" / "0001" / "0001_00_00_01_0.jpg"
    crop = data_dir / "selfrecorded" / "saikan45" / "live" / "0.jpg"  # YuNet finds no face
    assert spoof.is_file() and crop.is_file()
    p = run("image", live, spoof, crop, "--json", "--output", tmp_path / "ann")
    assert p.returncode == 0, p.stderr
    out = dict(zip(("live", "spoof", "crop"), json_lines(p.stdout)))
    assert len(out) == 3
    for d in out.values():
        assert d["decision"] in ("LIVE", "SPOOF", "UNCERTAIN")
        assert len(d["faces"]) >= 1 and 0.0 <= d["faces"][0]["score"] <= 1.0
        x, y, w, h = d["faces"][0]["box"]
        assert w > 20 and h > 20
    assert out["live"]["method"] == "detect" and out["spoof"]["method"] == "detect"
    assert out["crop"]["method"] == "crop"  # a tight crop: no detection, scored as a face
    assert out["live"]["score"] > out["spoof"]["score"]
    ann = cv2.imread(str(tmp_path / "ann" / "0001_00_00_01_0_fastlive.png"))
    assert ann is not None and ann.shape == (480, 640, 3)
    assert np.any(ann != cv2.imread(str(live)))
    p = run("image", live, tmp_path / "missing.jpg")  # one bad file among good ones
    assert p.returncode == 1 and "missing.jpg: no such file" in p.stderr
    assert "0001_00_00_01_0.jpg" in p.stdout


def test_video_json_summary_matches_the_frames(clips, tmp_path):
    path, n = clips["live"]
    out = tmp_path / "annotated.mp4"
    p = run("video", path, "--json", "--output", out)
    assert p.returncode == 0, p.stderr
    lines = json_lines(p.stdout)
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == n == summary["frames"]
    assert [f["timestamp"] for f in frames] == pytest.approx([k / 30.0 for k in range(n)],
                                                             abs=1e-3)
    assert summary["tracked_frames"] == sum(1 for f in frames if not f["detected"]) > 0
    main = max(summary["tracks"], key=lambda t: t["frames"])
    assert main["frames"] >= 0.9 * n
    scores = [fc["score"] for f in frames for fc in f["faces"]
              if fc["track_id"] == main["track_id"] and fc["score"] is not None]
    assert main["mean_score"] == pytest.approx(float(np.mean(scores)), abs=1e-3)
    decisions = [fc["decision"] for f in frames for fc in f["faces"]
                 if fc["track_id"] == main["track_id"]]
    assert main["verdict"] == max(set(decisions), key=decisions.count)
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n
    ok, first = cap.read()
    assert ok and first.shape == (480, 640, 3)


def test_video_text_verdicts_and_progress(clips):
    res = {}
    for kind in ("live", "spoof"):
        p = run("video", clips[kind][0])
        assert p.returncode == 0, p.stderr
        assert "100%" in p.stderr  # the progress bar ran to the end
        track_lines = [ln for ln in p.stdout.splitlines() if ln.startswith("track ")]
        assert track_lines and "mean score" in track_lines[0] and "blinks seen" in track_lines[0]
        res[kind] = float(track_lines[0].rsplit("mean score ", 1)[1].rstrip(")"))
    assert res["live"] > res["spoof"]


def test_webcam_on_a_file_without_display(clips, tmp_path):
    path, n = clips["live"]
    rec = tmp_path / "rec.mp4"
    p = run("webcam", "--source", path, "--record", rec, "--max-frames", 10,
            env={"DISPLAY": ":97"})  # a display that does not answer
    assert p.returncode == 0, p.stderr
    notice = [ln for ln in p.stderr.splitlines() if "no display" in ln]
    assert len(notice) == 1
    lines = json_lines(p.stdout)
    assert len(lines) == 10 and all("fps" in d and "faces" in d for d in lines)
    cap = cv2.VideoCapture(str(rec))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    p = run("webcam", "--source", path, "--no-display", "--max-frames", 3)
    assert p.returncode == 0 and "no display" not in p.stderr
    assert len(json_lines(p.stdout)) == 3


# -- eval --------------------------------------------------------------------------------------
def independent_metrics(rows, threshold):
    """Recompute the report's numbers from scores.csv rows with plain loops."""
    ok = [r for r in rows if r["score"] != ""]
    live = [float(r["score"]) for r in ok if r["label"] == "live"]
    att = [(float(r["score"]), r["attack_type"]) for r in ok if r["label"] != "live"]
    out = {"n_fta": len(rows) - len(ok)}
    out["bpcer"] = sum(s < threshold for s in live) / len(live) if live else None
    apcer = {}
    for t in sorted({t for _, t in att}):
        a = [s for s, tt in att if tt == t]
        apcer[t] = sum(s >= threshold for s in a) / len(a)
    out["apcer"] = apcer
    if live and att:
        pairs = [(lv, a) for lv in live for a, _ in att]
        out["auc"] = sum(1.0 if lv > a else 0.5 if lv == a else 0.0 for lv, a in pairs) / len(
            pairs)
        out["acer"] = (max(apcer.values()) + out["bpcer"]) / 2
    return out


def test_eval_manifest_report_matches_an_independent_recomputation(data_dir, tmp_path):
    out = tmp_path / "report"
    p = run("eval", data_dir / "manifest.csv", "--limit", 30, "--out", out, "--workers", 2,
            "--thumbnails", 3, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "| overall |" in p.stdout
    for f in ("scores.csv", "metrics.json", "report.md", "det.png", "roc.png", "index.html"):
        assert (out / f).is_file(), f
    with open(out / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30
    assert {r["media"] for r in rows} == {"image", "video"}  # the spread reaches the ZJU clips
    video = [r for r in rows if r["media"] == "video"]
    assert all(int(r["frames"]) > 50 and r["method"] == "video" for r in video)
    doc = json.loads((out / "metrics.json").read_text())
    m = doc["metrics"]
    thr = m["threshold"]
    assert "operating point" in m["threshold_source"]
    ind = independent_metrics(rows, thr)
    assert m["n_fta"] == ind["n_fta"]
    assert m["bpcer"] == pytest.approx(ind["bpcer"], abs=1e-12)
    assert m["auc"] == pytest.approx(ind["auc"], abs=1e-12)
    assert m["acer"] == pytest.approx(ind["acer"], abs=1e-12)
    assert m["apcer"] == pytest.approx(ind["apcer"], abs=1e-12)
    for src, sub in m["per_source"].items():
        ind_s = independent_metrics([r for r in rows if r["source"] == src], thr)
        assert sub["apcer"] == pytest.approx(ind_s["apcer"], abs=1e-12)
        if ind_s["bpcer"] is not None:
            assert sub["bpcer"] == pytest.approx(ind_s["bpcer"], abs=1e-12)
    page = (out / "index.html").read_text()
    assert "APCER worst" in page and "thumbs/" in page
    assert doc["meta"]["n_entries"] == 30 and doc["meta"]["model_version"]


def test_eval_folder_layout(data_dir, tmp_path):
    ds = tmp_path / "mydata"
    (ds / "live").mkdir(parents=True)
    (ds / "spoof" / "print").mkdir(parents=True)
    for f in sorted((data_dir / "nuaa" / "live" / "0002").glob("*.jpg"))[:4]:
        (ds / "live" / f.name).symlink_to(f)
    for f in sorted((data_dir / "nuaa" / "spoof" / "0002").glob("*.jpg"))[:4]:
        (ds / "spoof" / "print" / f.name).symlink_to(f)
    (ds / "spoof" / "print" / "broken.jpg").write_bytes(b"nope")
    out = tmp_path / "rep"
    p = run("eval", ds, "--out", out, "--workers", 1, "--threshold", 0.5, "--json", "--quiet")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    m = res["metrics"]
    assert m["threshold"] == 0.5 and m["threshold_source"].startswith("given")
    assert list(m["per_source"]) == ["mydata"] and list(m["apcer"]) == ["print"]
    assert m["n_live"] == 4 and m["n_attack"] == 5 and m["n_fta"] == 1
    with open(out / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    broken = [r for r in rows if r["path"].endswith("broken.jpg")][0]
    assert broken["score"] == "" and "cannot decode" in broken["error"]
    ind = independent_metrics(rows, 0.5)
    assert m["apcer"]["print"] == pytest.approx(ind["apcer"]["print"], abs=1e-12)
    assert m["bpcer"] == pytest.approx(ind["bpcer"], abs=1e-12)
    assert not math.isnan(m["eer"])


def test_eval_blink_against_zju_annotations(data_dir, tmp_path):
    from fastlive import blinks

    zju = tmp_path / "zju"
    zju.mkdir()
    names = ["000001M_FNN", "000002M_FTN"]  # one MP4 and one Indeo AVI with empty chunks
    for name in names:
        for f in (data_dir / "zju_eyeblink").glob(name + ".*"):
            if f.suffix in (".tag", ".mp4", ".avi"):
                (zju / f.name).symlink_to(f)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,source\n"
                        f"{data_dir / 'nuaa/live/0001/0001_00_00_01_0.jpg'},live,nuaa\n"
                        f"{data_dir / 'nuaa/spoof/0001/0001_00_00_01_0.jpg'},spoof,nuaa\n")
    out = tmp_path / "rep"
    p = run("eval", manifest, "--blink", "--blink-data", zju, "--out", out, "--workers", 1,
            "--quiet", timeout=300)
    assert p.returncode == 0, p.stderr
    doc = json.loads((out / "metrics.json").read_text())
    b = doc["blink"]
    assert b["clips"] == 2 and len(b["per_clip"]) == 2
    truth = sum(len(blinks.truth_events(zju / f"{n}.tag")) for n in names)
    assert b["tp"] + b["fn"] == truth > 0
    assert b["precision"] == pytest.approx(b["tp"] / (b["tp"] + b["fp"]))
    assert b["recall"] == pytest.approx(b["tp"] / truth)
    assert "Blink detection" in (out / "report.md").read_text()
    assert "precision" in p.stdout


def test_bench_reports_every_stage(data_dir):
    img = data_dir / "nuaa" / "live" / "0001" / "0001_00_00_01_0.jpg"
    p = run("bench", "--input", img, "--frames", 4, "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    st = res["stages_ms"]
    for k in ("detect (full frame)", "passive (all)", "pipeline: score_frame", "  stage: detect"):
        assert st[k]["n"] >= 1 and st[k]["median"] > 0, k
    assert st["pipeline: score_frame"]["median"] >= st["  stage: passive.texture"]["median"]
    p = run("bench", "--frames", 2)  # synthetic frame, text table
    assert p.returncode == 0, p.stderr
    assert "median ms" in p.stdout and "synthetic" in p.stdout
