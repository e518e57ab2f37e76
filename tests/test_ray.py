"""fastlive on Ray (the ray extra): ``fastlive eval --engine ray`` against the local engine on
real samples of ../shared/data, a corrupt file as an error row, image bytes, file:// URIs, a
killed actor, and the argument errors. One local Ray cluster (2 CPUs, no dashboard) for the
module; the tests that need no cluster come first."""

from __future__ import annotations

import csv
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from fastlive.cli import main
from fastlive.evaluate import build_detector, load_samples, read_scores, score_sample
from fastlive.evaluate.datasets import listed_folder_samples
from fastlive.evaluate.report import write_scores_csv, write_scores_parquet
from fastlive.evaluate.runner import decode_image, error_row, score_image_bytes

N_IMAGES = 180  # real images from the manifest (plus a video and a corrupt file)
VIDEO = "zju_eyeblink/000001M_FBN.mp4"
CORRUPT = b"\xff\xd8\xff\xe0" + b"not a jpeg" * 20


def same(a: dict, b: dict) -> bool:
    """Row equality with NaN == NaN (an empty score)."""
    def norm(r: dict) -> dict:
        return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
    return norm(a) == norm(b)


@pytest.fixture(scope="module")
def manifest(data_dir, tmp_path_factory) -> Path:
    """A manifest of N_IMAGES images spread over ../shared/data, one short ZJU clip and a
    corrupt JPEG (absolute paths)."""
    d = tmp_path_factory.mktemp("raydata")
    with open(data_dir / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    images = [r for r in rows if r["media"] == "image"]
    idx = np.unique(np.linspace(0, len(images) - 1, N_IMAGES).round().astype(int))
    chosen = [images[i] for i in idx] + [r for r in rows if r["path"] == VIDEO]
    (d / "corrupt.jpg").write_bytes(CORRUPT)
    out = d / "manifest.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "attack_type", "source", "media"])
        for r in chosen:
            w.writerow([str(data_dir / r["path"]), r["label"], r["attack_type"], r["source"],
                        r["media"]])
        w.writerow(["corrupt.jpg", "spoof", "print", "broken", "image"])
    return out


@pytest.fixture(scope="module")
def detector():
    return build_detector()


# -- no cluster needed ----------------------------------------------------------------------------
def test_engine_ray_without_ray_says_how_to_install(manifest, tmp_path, monkeypatch, capsys):
    for mod in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert main(["eval", str(manifest), "--engine", "ray", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "--engine ray: Ray Data is not installed here" in err
    assert 'pip install "fastlive[ray]"' in err


def test_flags_that_need_the_ray_engine(manifest, tmp_path, capsys):
    assert main(["eval", str(manifest), "--address", "auto", "--out", str(tmp_path)]) == 1
    assert "--address: applies to --engine ray" in capsys.readouterr().err
    uri = manifest.as_uri()
    assert main(["eval", uri, "--out", str(tmp_path)]) == 1
    assert f"DATA: {uri}: a URI is read on Ray: pass --engine ray" in capsys.readouterr().err


def test_scores_csv_input_refuses_engine_flags(manifest, tmp_path, capsys):
    scores = tmp_path / "scores.csv"
    write_scores_csv(scores, [{**error_row({"path": "a.jpg", "label": "live"}, ""),
                               "score": 0.9}])
    assert main(["eval", str(scores), "--engine", "local", "--out", str(tmp_path / "o")]) == 1
    assert "--engine: applies when scoring" in capsys.readouterr().err


def test_image_bytes_give_the_row_of_the_file(data_dir, detector):
    samples = load_samples(data_dir / "manifest.csv", limit=3, sources=["nuaa"])
    for s in samples:
        data = Path(s["abs_path"]).read_bytes()
        assert same(score_image_bytes(detector, s, data), score_sample(detector, s))
    bad = {**samples[0], "path": "x.jpg", "abs_path": "x.jpg"}
    row = score_image_bytes(detector, bad, CORRUPT)
    assert row["error"] == "x.jpg: cannot decode as an image (corrupt or unsupported format)"
    assert math.isnan(row["score"]) and row["method"] == "none"
    with pytest.raises(TypeError, match="data: expected bytes, got str"):
        decode_image("not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="y.png: cannot decode"):
        decode_image(b"", "y.png")


def test_listed_folder_is_the_local_folder(tmp_path):
    names = ["live/a.jpg", "live/sub/b.png", "spoof/print/c.jpg", "spoof/d.jpg", "notes.txt",
             "spoof/replay/e.mp4", "other/f.jpg", "live/g.txt", "live-x/h.jpg"]
    for n in names:
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_bytes(b"")
    local = load_samples(tmp_path)
    listed = listed_folder_samples("s3://b/data", list(reversed(names)), tmp_path.name)
    assert [{**s, "abs_path": ""} for s in listed] == [{**s, "abs_path": ""} for s in local]
    assert listed[0]["abs_path"] == "s3://b/data/live/a.jpg"


def test_parquet_has_the_rows_of_scores_csv(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{**error_row({"path": "a.jpg", "label": "live", "media": "image"}, ""),
             "score": 0.25, "minifasnet_v2": 0.5, "n_faces": 1, "method": "detect"},
            {**error_row({"path": "b.mp4", "label": "spoof", "media": "video"}, "boom"),
             "frames": 12}]
    t = pq.read_table(write_scores_parquet(tmp_path / "s.parquet", rows))
    got = t.to_pylist()
    assert got[0]["score"] == 0.25 and got[0]["n_faces"] == 1 and got[0]["frames"] is None
    assert got[1]["score"] is None and got[1]["error"] == "boom" and got[1]["frames"] == 12
    assert str(t.schema.field("score").type) == "double"
    assert str(t.schema.field("minifasnet_v1se").type) == "string"  # no value at all


# -- on a local Ray cluster ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray.data")  # CI installs the ray extra (.ci/run)
    import ray

    from fastlive import ray as flray

    # a short folder: Ray's socket paths must stay under 107 characters
    tmp = tempfile.mkdtemp(prefix="flray")
    assert flray.init(num_cpus=2, _temp_dir=tmp, object_store_memory=100 * 2**20)
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def test_engine_ray_gives_the_scores_of_the_local_engine(ray_cluster, manifest, tmp_path,
                                                          capsys):
    common = ["eval", str(manifest), "--keep-going", "--video-stride", "10", "--quiet"]
    assert main([*common, "--workers", "1", "--out", str(tmp_path / "local")]) == 0
    capsys.readouterr()
    assert main([*common, "--engine", "ray", "--out", str(tmp_path / "ray"),
                 "--output-format", "parquet"]) == 0
    out = capsys.readouterr().out
    n = N_IMAGES + 2
    assert f"{n} samples scored in" in out and "(Ray, 2 actor(s)); 1 unreadable" in out
    local = (tmp_path / "local" / "scores.csv").read_bytes()
    assert (tmp_path / "ray" / "scores.csv").read_bytes() == local  # byte for byte
    rows = read_scores(tmp_path / "ray" / "scores.csv")
    assert len(rows) == n and sum(1 for r in rows if math.isfinite(r["score"])) > N_IMAGES // 2
    video = [r for r in rows if r["media"] == "video"]
    assert video[0]["method"] == "video" and int(video[0]["frames"]) == 15
    bad = [r for r in rows if r["error"]]
    assert [r["path"] for r in bad] == ["corrupt.jpg"]
    assert "cannot decode as an image (corrupt or unsupported format)" in bad[0]["error"]
    import json

    metrics = [json.loads((tmp_path / e / "metrics.json").read_text())["metrics"]
               for e in ("local", "ray")]
    for k in ("apcer_worst", "bpcer", "acer", "eer", "auc", "threshold", "n_unreadable"):
        assert metrics[0][k] == metrics[1][k], k
    table = pytest.importorskip("pyarrow.parquet").read_table(tmp_path / "ray" / "scores.parquet")
    assert table.num_rows == n
    assert table.column("path").to_pylist() == [r["path"] for r in rows]
    assert table.column("score").to_pylist() == [
        r["score"] if math.isfinite(r["score"]) else None for r in rows]


def test_scorer_on_image_bytes_and_uris(ray_cluster, data_dir, detector, tmp_path):
    from fastlive.ray import LivenessScorer

    samples = load_samples(data_dir / "manifest.csv", limit=4, sources=["nuaa"])
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k, s in enumerate(samples):
        shutil.copy(s["abs_path"], folder / f"{k}.jpg")
    (folder / "9.jpg").write_bytes(CORRUPT)
    ds = ray_cluster.data.read_binary_files(str(folder), include_paths=True)
    out = ds.map_batches(LivenessScorer, batch_size=3, concurrency=1, num_cpus=1)
    rows = sorted(out.take_all(), key=lambda r: r["path"])
    assert [Path(r["path"]).name for r in rows] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg", "9.jpg"]
    for k, s in enumerate(samples):
        want = score_sample(detector, {**s, "abs_path": str(folder / f"{k}.jpg")})
        for f in ("score", "minifasnet_v2", "minifasnet_v1se", "passive", "decision", "method"):
            assert rows[k][f] == want[f] or (math.isnan(rows[k][f]) and math.isnan(want[f])), f
    assert math.isnan(rows[4]["score"]) and "cannot decode as an image" in rows[4]["error"]

    # a batch of URIs (file:// here, s3:// gs:// on a cluster), one missing
    scorer = LivenessScorer()
    uris = [(folder / "0.jpg").as_uri(), (folder / "missing.jpg").as_uri()]
    got = scorer({"path": np.array(uris, dtype=object), "label": np.array(["live", "spoof"])})
    assert got.column("score").to_pylist()[0] == rows[0]["score"]
    assert got.column("label").to_pylist() == ["live", "spoof"]
    err = got.column("error").to_pylist()
    assert err[0] == "" and "missing.jpg" in err[1]
    with pytest.raises(ValueError, match="batch: expected a 'path' or a 'bytes' column"):
        scorer({"file": np.array(["a.jpg"])})


def test_engine_ray_reads_a_manifest_uri(ray_cluster, data_dir, tmp_path, capsys):
    folder = tmp_path / "data"
    (folder / "img").mkdir(parents=True)
    samples = load_samples(data_dir / "manifest.csv", limit=5)
    samples = [s for s in samples if s["media"] == "image"][:4]
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "attack_type", "source"])
        for k, s in enumerate(samples):
            shutil.copy(s["abs_path"], folder / "img" / f"{k}.jpg")
            w.writerow([f"img/{k}.jpg", s["label"], s["attack_type"], s["source"]])
        w.writerow(["img/gone.jpg", "live", "", "x"])
    uri = (folder / "manifest.csv").as_uri()
    argv = ["eval", "--keep-going", "--quiet", "--workers", "1"]
    assert main([*argv, uri, "--engine", "ray", "--out", str(tmp_path / "r")]) == 0
    assert main([*argv, str(folder / "manifest.csv"), "--out", str(tmp_path / "l")]) == 0
    capsys.readouterr()
    ray_rows = read_scores(tmp_path / "r" / "scores.csv")
    local_rows = read_scores(tmp_path / "l" / "scores.csv")
    for r, lo in zip(ray_rows, local_rows):
        assert r["path"] == lo["path"]
        assert r["score"] == lo["score"] or (math.isnan(r["score"]) and math.isnan(lo["score"]))
    assert "gone.jpg" in ray_rows[-1]["error"] and math.isnan(ray_rows[-1]["score"])


def test_load_set_of_uris(ray_cluster, data_dir, tmp_path):
    from fastlive import ray as flray

    for name in ("live/0.jpg", "spoof/print/1.jpg", "spoof/replay/2.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    local = load_samples(tmp_path, sources=[tmp_path.name])
    remote = flray.load_set(tmp_path.as_uri(), sources=[tmp_path.name])
    assert remote.samples is not None and len(remote.samples) == 3
    for a, b in zip(remote.samples, local):
        assert a["abs_path"] == Path(b["abs_path"]).as_uri()
        assert {**a, "abs_path": ""} == {**b, "abs_path": ""}
    assert len(flray.load_set(tmp_path.as_uri(), limit=2).samples or []) == 2
    manifest = flray.load_set((data_dir / "manifest.csv").as_uri(), limit=3)
    want = load_samples(data_dir / "manifest.csv", limit=3)
    assert [s["abs_path"] for s in manifest.samples or []] == [
        (data_dir / s["path"]).as_uri() for s in want]
    with pytest.raises(FileNotFoundError, match="DATA: file:///nonexistent-fl does not exist"):
        flray.load_set("file:///nonexistent-fl")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=f"DATA: {(tmp_path / 'bad.csv').as_uri()} is not a "
                       "manifest CSV"):
        flray.load_set((tmp_path / "bad.csv").as_uri())


def crashing_scorer(crash: dict[str, int], marks: Path) -> type:
    """A LivenessScorer whose process dies (os._exit) while scoring a path named in ``crash``,
    as many times as it says (counted in files under ``marks``, which outlive the process)."""
    from fastlive.ray import LivenessScorer

    class Crashing(LivenessScorer):  # defined in a function: Ray pickles it by value
        def score(self, record):
            name = Path(str(record.get("path"))).name
            if name in crash:
                mark = marks / name
                n = int(mark.read_text()) if mark.exists() else 0
                if n < crash[name]:
                    mark.write_text(str(n + 1))
                    os._exit(1)
            return super().score(record)

    return Crashing


def test_a_killed_actor_is_retried_and_a_killer_file_is_an_error_row(ray_cluster, data_dir,
                                                                      detector, tmp_path):
    from fastlive import ray as flray

    journals = set(Path(tempfile.gettempdir()).glob("fastlive-ray-*.json"))
    samples = [s for s in load_samples(data_dir / "manifest.csv", limit=40, sources=["nuaa"])
               if s["media"] == "image"][:6]
    once, always = Path(samples[1]["path"]).name, Path(samples[4]["path"]).name
    scorer = crashing_scorer({once: 1, always: 99}, tmp_path)
    run = flray.ScoreRun(samples, actors=1, batch_size=3, max_crashes=2, scorer=scorer)
    rows = [r for _, r in sorted(run, key=lambda pair: pair[0])]
    assert (tmp_path / once).read_text() == "1"  # killed once, then scored on the retry
    assert (tmp_path / always).read_text() == "2"  # killed twice, then given up
    assert run.lost_batches == 0  # Ray retried the tasks on the restarted actor
    # the actor's crash journal (kept because it saw deaths) is the test's to remove
    new = set(Path(tempfile.gettempdir()).glob("fastlive-ray-*.json")) - journals
    assert len(new) == 1 and '"crashes"' in next(iter(new)).read_text()
    for f in new:
        f.unlink()
    for s, r in zip(samples, rows):
        if Path(s["path"]).name == always:
            assert r["error"] == flray.CRASH_ERROR and math.isnan(r["score"])
        else:
            assert same(r, score_sample(detector, s))


def failing_batches_scorer(name: str) -> type:
    """A LivenessScorer whose batches fail as a whole (an exception, which Ray does not retry)
    when they hold ``name`` and another sample."""
    from fastlive.ray import LivenessScorer

    class FailingBatches(LivenessScorer):
        def __call__(self, batch):
            paths = [Path(str(p)).name for p in batch.column("path").to_pylist()]
            if name in paths and len(paths) > 1:
                raise RuntimeError("this batch is lost")
            return super().__call__(batch)

    return FailingBatches


def test_a_lost_batch_is_rescored_one_sample_per_task(ray_cluster, data_dir, detector):
    from fastlive import ray as flray

    samples = [s for s in load_samples(data_dir / "manifest.csv", limit=40, sources=["nuaa"])
               if s["media"] == "image"][:5]
    scorer = failing_batches_scorer(Path(samples[3]["path"]).name)
    run = flray.ScoreRun(samples, actors=1, batch_size=2, scorer=scorer)
    rows = dict(run)
    assert run.lost_batches == 1 and run.rescored == 2  # samples 2 and 3, one task each
    for i, s in enumerate(samples):
        assert same(rows[i], score_sample(detector, s))


def test_arguments_are_checked(ray_cluster):
    from fastlive import ray as flray

    with pytest.raises(TypeError, match="config: expected a fastlive.Config or None, got dict"):
        flray.LivenessScorer(config={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="video_stride: expected a positive int, got 0"):
        flray.LivenessScorer(video_stride=0)
    with pytest.raises(TypeError, match="model_dir: expected a folder path or None, got int"):
        flray.LivenessScorer(model_dir=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="samples: expected a list of samples"):
        flray.ScoreRun("a.jpg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="actors: expected a positive int, got 0"):
        flray.ScoreRun([], actors=0)
    with pytest.raises(ValueError, match="max_crashes: expected a positive int, got 0"):
        flray.ScoreRun([], max_crashes=0)
    with pytest.raises(TypeError, match="scorer: expected LivenessScorer or a subclass"):
        flray.ScoreRun([], scorer=dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="address: expected a Ray address"):
        flray.init(address="")
    with pytest.raises(RuntimeError, match="on this Ray node runs without nothing, the driver "
                       r"without \['eyes'\]: install the same models on every node"):
        flray.LivenessScorer(expected_degraded=["eyes"])
    assert flray.ScoreRun([]).actors == 2 and list(flray.ScoreRun([])) == []
    assert not flray.init()  # already connected: nothing to do
