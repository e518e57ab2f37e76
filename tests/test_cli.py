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
        # errors name the flag the user typed, with a hint that holds
        (["webcam", "--timeout", "0"], 2, "--timeout: expected a positive number"),
        (["webcam", "--source", "/nonexistent/x.mp4", "--no-display"], 1,
         "--source: /nonexistent/x.mp4: no such file"),
        (["webcam", "--source", "57", "--no-display", "--record", "/nonexistent/dir/out.mp4"],
         1, "--record: the folder /nonexistent/dir does not exist"),
        (["webcam", "--source", "57", "--no-display", "--record", "out.txt"], 1,
         "--record: out.txt: unknown video extension '.txt'"),
        (["video", "/nonexistent/x.mp4"], 1, "PATH: /nonexistent/x.mp4: no such file"),
        (["video", "x.mp4", "--output", "/nonexistent/dir/a.mp4"], 1,
         "--output: the folder /nonexistent/dir does not exist"),
        (["eval", "x.csv", "--criterion", "median"], 1, "--criterion: expected eer"),
    ],
)
def test_errors_are_one_clear_line(args, code, needle, tmp_path):
    p = run(*args, cwd=tmp_path)
    assert p.returncode == code
    lines = one_error_line(p)
    assert needle in lines[-1]
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("fastlive: error:")
    assert list(tmp_path.iterdir()) == []  # nothing left behind (eval's report folder)


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
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == 10 and all("fps" in d and "faces" in d for d in frames)
    assert summary["frames"] == 10 and summary["stopped"] == "--max-frames"
    cap = cv2.VideoCapture(str(rec))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    p = run("webcam", "--source", path, "--no-display", "--max-frames", 3)
    assert p.returncode == 0 and "no display" not in p.stderr
    assert len(json_lines(p.stdout)) == 3 + 1


def test_webcam_plays_a_file_at_its_own_rate_and_ends_with_a_summary(clips):
    path, n = clips["live"]  # n frames at 30 fps
    p = run("webcam", "--source", path, "--no-display")
    assert p.returncode == 0, p.stderr
    lines = json_lines(p.stdout)
    summary = lines[-1]["summary"]
    assert len(lines) == n + 1 and summary["frames"] == n
    assert summary["realtime"] is True and summary["stopped"] == "end of the source"
    # the last frame is shown at (n - 1) / 30 s: a paced run cannot be faster than that
    assert summary["seconds"] >= (n - 1) / 30.0 - 0.02
    assert {t["track_id"] for t in summary["tracks"]} and summary["tracks"][0]["verdict"]
    p = run("webcam", "--source", path, "--no-display", "--fast")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout)[-1]["summary"]["realtime"] is False


def test_pacer_sleeps_until_each_timestamp():
    from fastlive.cli.webcam import Pacer

    now = [100.0]
    slept = []

    def sleep(d):
        slept.append(round(d, 6))
        now[0] += d

    pacer = Pacer(clock=lambda: now[0], sleep=sleep)
    pacer.wait(0.0)
    now[0] += 0.01  # 10 ms of work per frame: sleep the rest of each 1/30 s
    pacer.wait(1 / 30)
    now[0] += 0.2  # a slow frame: behind schedule, no sleep
    pacer.wait(2 / 30)
    assert slept == [round(1 / 30 - 0.01, 6)]


def test_progress_reaches_100_percent_when_the_container_miscounts(tmp_path):
    import struct

    vw = cv2.VideoWriter(str(tmp_path / "c.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30,
                         (64, 48))
    for k in range(20):
        vw.write(np.full((48, 64, 3), 10 * k, np.uint8))
    vw.release()
    b = bytearray((tmp_path / "c.avi").read_bytes())
    i, j = b.find(b"avih"), b.find(b"strh")
    struct.pack_into("<I", b, i + 8 + 16, 50)  # avih dwTotalFrames
    struct.pack_into("<I", b, j + 8 + 32, 50)  # strh dwLength
    bad = tmp_path / "miscounted.avi"
    bad.write_bytes(bytes(b))
    cap = cv2.VideoCapture(str(bad))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 50  # the container claims 50 frames
    p = run("video", bad)
    assert p.returncode == 0, p.stderr
    bars = [ln for ln in p.stderr.replace("\r", "\n").splitlines() if "%|" in ln]
    assert "100%" in bars[-1] and "20/20" in bars[-1]  # the bar's final state
    assert p.stdout.startswith("20 frames")


def test_progress_finish_and_close():
    import io

    from fastlive.cli.common import Progress

    bar = Progress(50, "clip", stream=io.StringIO(), interval=0.0)
    for _ in range(20):
        bar.update(1, "30 fps")
    assert "40%" in bar.render() and "20/50" in bar.render()
    bar.finish()
    assert "100%" in bar.render() and "20/20" in bar.render()
    bar.close()
    bar = Progress(None, "stream", stream=io.StringIO(), interval=0.0)
    bar.update(7)
    bar.finish()
    assert "100%" in bar.render() and "7/7" in bar.render()


def test_image_folder_includes_subfolders(data_dir, tmp_path):
    src = sorted((data_dir / "nuaa" / "live" / "0001").glob("*.jpg"))[:3]
    d = tmp_path / "photos"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "top.jpg").symlink_to(src[0])
    (d / "sub" / "a.jpg").symlink_to(src[1])
    (d / "sub" / "deeper" / "a.jpg").symlink_to(src[2])  # same name, other folder
    (d / "notes.txt").write_text("not an image")
    p = run("image", d, "--json", "--output", tmp_path / "ann")
    assert p.returncode == 0, p.stderr
    got = sorted(Path(x["path"]).relative_to(d).as_posix() for x in json_lines(p.stdout))
    assert got == ["sub/a.jpg", "sub/deeper/a.jpg", "top.jpg"]
    for rel in ("top_fastlive.png", "sub/a_fastlive.png", "sub/deeper/a_fastlive.png"):
        assert cv2.imread(str(tmp_path / "ann" / rel)) is not None, rel
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "x.txt").write_text("")
    lines = one_error_line(run("image", empty))
    assert len(lines) == 1 and "holds no image files, subfolders included" in lines[0]


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
    p = run("eval", ds, "--out", out, "--workers", 1, "--threshold", 0.5, "--json", "--quiet",
            "--keep-going")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    m = res["metrics"]
    assert m["threshold"] == 0.5 and m["threshold_source"].startswith("given")
    assert list(m["per_source"]) == ["mydata"] and list(m["apcer"]) == ["print"]
    # the unreadable file is no sample of the system: left out and counted
    assert m["n_live"] == 4 and m["n_attack"] == 4 and m["n_unreadable"] == 1
    with open(out / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    broken = [r for r in rows if r["path"].endswith("broken.jpg")][0]
    assert broken["score"] == "" and "cannot decode" in broken["error"]
    ind = independent_metrics(rows, 0.5)
    assert m["apcer"]["print"] == pytest.approx(ind["apcer"]["print"], abs=1e-12)
    assert m["bpcer"] == pytest.approx(ind["bpcer"], abs=1e-12)
    assert not math.isnan(m["eer"])


def test_eval_blink_against_zju_annotations(data_dir, tmp_path):
    from fastlive.evaluate import blinks_zju as blinks

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
    # every row docs/cli.md promises: detection, the passive models (all, and each network's
    # crop and inference), an LBP kernel, the pipeline and its tracked frames
    from fastlive.passive import PassiveScorer

    nets = PassiveScorer().cue_names
    assert nets == ("minifasnet_v2", "minifasnet_v1se")
    promised = ["detect (full frame)", "passive (all)", "kernel: lbp_histogram",
                "pipeline: score_frame", "pipeline: tracked frames"]
    promised += [f"  passive: {n}{part}" for n in nets for part in ("", ".crop")]
    names = list(st) + list(res["not_measured"])
    for row in promised:
        assert any(n.startswith(row) for n in names), row
    for n in nets:
        assert 0 < st[f"  passive: {n}"]["median"] < st["passive (all)"]["median"], n
    assert st["pipeline: tracked frames"]["n"] >= 1
    p = run("bench", "--frames", 2)  # synthetic frame, text table
    assert p.returncode == 0, p.stderr
    assert "median ms" in p.stdout and "synthetic" in p.stdout
    table = [ln for ln in p.stdout.splitlines()]
    for row in promised:
        assert any(ln.startswith(row) for ln in table), row
    tracked = [ln for ln in table if ln.startswith("pipeline: tracked frames")][0]
    assert "n/a" in tracked and "no face to track" in tracked


# -- eval: bad rows, the report folder, recompute, dev/eval, several systems ----------------------
def test_eval_skips_unlabeled_rows_and_fails_on_unreadable_files_but_keeps_the_report(
        data_dir, tmp_path):
    live = data_dir / "nuaa" / "live" / "0001" / "0001_00_00_01_0.jpg"
    spoof = data_dir / "nuaa" / "spoof" / "0001" / "0001_00_00_01_0.jpg"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    m = tmp_path / "m.csv"
    rows = ["path,label,attack_type,source", f"{live},live,,s", f"{live},unlabeled,,s",
            f"{spoof},spoof,print,s", f"{broken},spoof,print,s"]
    m.write_text("\n".join(rows) + "\n")
    out = tmp_path / "rep"
    p = run("eval", m, "--out", out, "--workers", 1, "--quiet")
    lines = one_error_line(p)
    assert p.returncode == 1
    assert any("1 unlabeled row(s) skipped" in ln for ln in lines)
    assert "1 listed sample(s) could not be read" in lines[-1] and "--keep-going" in lines[-1]
    # ... and nothing is lost: the whole report is there, the bad file in the error column
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["metrics"]["n"] == 2 and doc["metrics"]["n_unreadable"] == 1
    assert doc["meta"]["unlabeled_skipped"] == 1
    with open(out / "scores.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == 3 and "cannot decode" in got[2]["error"] and got[0]["score"] != ""
    assert "| overall |" in p.stdout
    # a listed file that does not exist: refused before scoring, unless --keep-going
    m.write_text("\n".join(rows + [f"{tmp_path / 'gone.jpg'},live,,s"]) + "\n")
    lines = one_error_line(run("eval", m, "--out", tmp_path / "rep2", "--workers", 1))
    assert len(lines) == 1 and "1 of 4 listed file(s) do not exist" in lines[0]
    assert "--keep-going" in lines[0] and not (tmp_path / "rep2" / "scores.csv").exists()
    p = run("eval", m, "--out", tmp_path / "rep3", "--workers", 1, "--keep-going", "--json",
            "--quiet")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["metrics"]["n_unreadable"] == 2


def test_eval_checks_the_report_folder_before_scoring(data_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = run("eval", data_dir / "manifest.csv", "--out", blocker / "report", "--limit", 50)
    lines = one_error_line(p)
    assert len(lines) == 1 and lines[0].startswith("fastlive: error: --out:")
    assert "sample" not in p.stderr  # no progress bar: nothing was scored
    p = run("eval", data_dir / "manifest.csv", "--out", blocker, "--limit", 50)
    assert "--out:" in one_error_line(p)[0] and "not a folder" in p.stderr


def score_file(path, seed, n=60, shift=0.0, threshold=None):
    """A scores.csv as 'fastlive eval' writes it (two sources, two attack types)."""
    from fastlive.evaluate.report import write_scores_csv

    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        live = k % 3 != 0
        s = float(np.clip(rng.normal((0.65 if live else 0.35) + shift, 0.15), 0, 1))
        rows.append({"path": f"x/{k}.jpg", "label": "live" if live else "spoof",
                     "attack_type": "" if live else ("print" if k % 2 else "replay"),
                     "source": "a" if k < n // 2 else "b", "media": "image", "score": s,
                     "error": ""})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_scores_csv(path, rows)
    if threshold is not None:
        (path.parent / "metrics.json").write_text(json.dumps(
            {"metrics": {"threshold": threshold, "threshold_source": "given (--threshold)"}}))
    return rows


def test_eval_recomputes_from_an_earlier_scores_csv(tmp_path):
    rows = score_file(tmp_path / "run1" / "scores.csv", 1, threshold=0.41)
    p = run("eval", tmp_path / "run1" / "scores.csv", "--out", tmp_path / "again", "--json")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)["metrics"]
    assert m["threshold"] == 0.41 and "recorded with the scores" in m["threshold_source"]
    ind = independent_metrics([dict(r, score=repr(r["score"])) for r in rows], 0.41)
    assert m["bpcer"] == pytest.approx(ind["bpcer"], abs=1e-12)
    assert m["apcer"] == pytest.approx(ind["apcer"], abs=1e-12)
    assert m["auc"] == pytest.approx(ind["auc"], abs=1e-12)
    for f in ("scores.csv", "metrics.json", "report.md", "index.html", "det.png", "roc.png"):
        assert (tmp_path / "again" / f).is_file(), f
    p = run("eval", tmp_path / "run1" / "scores.csv", "--out", tmp_path / "t", "--threshold",
            0.6, "--source", "b")
    assert p.returncode == 0, p.stderr
    assert "scores read (not rescored)" in p.stdout
    doc = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert doc["metrics"]["threshold"] == 0.6 and list(doc["metrics"]["per_source"]) == ["b"]
    lines = one_error_line(run("eval", tmp_path / "run1" / "scores.csv", "--out", tmp_path / "u",
                               "--operating-point", "secure"))
    assert "--operating-point: applies when scoring" in lines[-1]


def test_eval_dev_eval_protocol(tmp_path):
    from fastlive.evaluate import threshold_at

    dev = score_file(tmp_path / "dev" / "scores.csv", 2)
    ev = score_file(tmp_path / "eval" / "scores.csv", 3, shift=-0.08)
    for crit in ("eer", "apcer=5%"):
        p = run("eval", tmp_path / "eval" / "scores.csv", "--dev", tmp_path / "dev" / "scores.csv",
                "--criterion", crit, "--out", tmp_path / f"rep-{crit}", "--json")
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        t = threshold_at([r["score"] for r in dev], [r["label"] == "live" for r in dev],
                         [r["attack_type"] for r in dev], crit)
        assert doc["dev"]["threshold"] == doc["metrics"]["threshold"] == t
        s = np.array([r["score"] for r in ev])
        lab = np.array([r["label"] == "live" for r in ev])
        hter = (np.mean(s[~lab] >= t) + np.mean(s[lab] < t)) / 2
        assert doc["metrics"]["hter"] == pytest.approx(hter, abs=1e-12)
        assert "development set" in doc["metrics"]["threshold_source"]
    assert (tmp_path / "rep-eer" / "dev-scores.csv").is_file()
    md = (tmp_path / "rep-eer" / "report.md").read_text()
    assert "## Development set" in md and "## Evaluation set" in md
    lines = one_error_line(run("eval", tmp_path / "eval" / "scores.csv", "--dev",
                               tmp_path / "dev" / "scores.csv", "--threshold", 0.5))
    assert "--threshold: not with --dev" in lines[-1]


def test_eval_compares_several_systems_in_one_report(tmp_path, data_dir):
    a = tmp_path / "fastlive-0.14" / "scores.csv"
    b = tmp_path / "baseline" / "scores.csv"
    score_file(a, 4, threshold=0.5)
    score_file(b, 5, shift=-0.1, threshold=0.45)
    out = tmp_path / "cmp"
    p = run("eval", a, b, "--name", "fastlive 0.14 (texture + CNN)", "--name", "baseline",
            "--out", out)
    assert p.returncode == 0, p.stderr
    doc = json.loads((out / "metrics.json").read_text())
    assert [s["name"] for s in doc["systems"]] == ["fastlive 0.14 (texture + CNN)", "baseline"]
    assert [s["metrics"]["threshold"] for s in doc["systems"]] == [0.5, 0.45]
    for f in ("det.png", "roc.png"):
        img = cv2.imread(str(out / f))
        assert img is not None and img.shape[1] > 400
    assert "| fastlive 0.14 (texture + CNN) |" in p.stdout and "| baseline |" in p.stdout
    p = run("eval", a, b, "--out", tmp_path / "cmp2")  # names from the folders
    assert p.returncode == 0, p.stderr
    names = [s["name"] for s in json.loads((tmp_path / "cmp2" / "metrics.json").read_text())[
        "systems"]]
    assert names == ["fastlive-0.14", "baseline"]
    lines = one_error_line(run("eval", a, data_dir / "manifest.csv", "--out", tmp_path / "x"))
    assert "is not a scores.csv; several DATA are compared as systems" in lines[-1]


def test_eval_without_matplotlib_still_writes_scores_and_metrics(tmp_path):
    score_file(tmp_path / "run" / "scores.csv", 6, threshold=0.5)
    code = ("import sys; sys.modules['matplotlib'] = None; from fastlive.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    e = dict(os.environ)
    e.pop("DISPLAY", None)
    p = subprocess.run([sys.executable, "-c", code, "eval", str(tmp_path / "run" / "scores.csv"),
                        "--out", str(tmp_path / "rep")], capture_output=True, text=True,
                       timeout=120, env=e)
    assert p.returncode == 0, p.stderr
    assert 'pip install "fastlive[plot]"' in p.stderr
    assert (tmp_path / "rep" / "metrics.json").is_file()
    assert (tmp_path / "rep" / "scores.csv").is_file()
    assert not (tmp_path / "rep" / "det.png").exists()


def test_window_fits_the_screen():
    from fastlive.cli.webcam import window_fit

    assert window_fit((1920, 1080)) == (1728, 918)
    assert window_fit(None) == (1280, 720)
