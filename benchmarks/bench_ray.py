"""Throughput of ``fastlive eval --engine ray`` against the local engine, on the same images.

    FASTLIVE_MODEL_DIR=../shared/models python benchmarks/bench_ray.py --n 600 --repeat 2

Scores the same ``--n`` images of ../shared/data's manifest (spread over it, images only) with

* ``local x1``: one detector in this process (:func:`fastlive.evaluate.score_sample`);
* ``local x2``: the local engine with 2 worker processes (``fastlive eval --workers 2``);
* ``ray x1`` and ``ray x2``: :class:`fastlive.ray.ScoreRun` with 1 and 2 actors on a local Ray
  cluster started here (``num_cpus=2``, no dashboard), as ``fastlive eval --engine ray``.

The engines take turns in each of ``--repeat`` rounds (a busy neighbour on a shared machine
slows them alike) and medians are reported:

* ``total``: images/s of the whole call, starting worker processes or actors and loading their
  models included (what one ``fastlive eval`` of n images sees);
* ``steady``: images/s from the first row back to the last, (n - first batch) / (t_last -
  t_first), the same for every engine: the rate once started (what an archive of millions
  sees);
* ``start``: seconds to the first row.

For the Ray engines the actors also log when each batch starts and ends: ``in actors`` is n
over the time from the first batch's start to the last batch's end (the steady rate without
the driver's view of it: Ray can hand blocks back in bursts, which flatters ``steady``; the
lower of the two is the one compared with the target), ``busy`` the share of the actors'
time from their first batch to their last spent inside a batch, and Ray's overhead per image
the actors' idle time between batches divided by n (the scheduling and data transfer that
Ray adds per image). Every engine's rows must equal the in-process rows
(exit status 1 otherwise). ``--check``: also exit 1 when ``ray x2``'s steady throughput is
more than 15 % below ``local x2``'s (the target of issue 24). ``--memory``: the resident memory
of a Ray worker before and after it built its detector and scored a few images (what each
actor costs). ``--json FILE`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FASTLIVE_SHARED", ROOT.parent / "shared")).resolve()
os.environ.setdefault("FASTLIVE_MODEL_DIR", str(SHARED / "models"))
os.environ.setdefault("FASTLIVE_OFFLINE", "1")

from fastlive.evaluate import (  # noqa: E402 - after the model folder is set
    DetectorFactory,
    Row,
    build_detector,
    load_samples,
    score_sample,
    score_samples,
)

TARGET = 0.15  # ray x2 within 15 % of local x2 (steady)


def timed(pairs: Iterable[tuple[int, Row]], n: int) -> tuple[list[Row], dict[str, float]]:
    """Consume ``(index, row)`` pairs: the rows in order, and total / steady / start."""
    t0 = time.perf_counter()
    got: dict[int, Row] = {}
    t_first, first = None, 0
    for i, row in pairs:
        got[i] = row
        if t_first is None:
            t_first, first = time.perf_counter(), 1
        elif time.perf_counter() - t_first < 1e-3:  # rows of the first batch
            first += 1
    t_end = time.perf_counter()
    assert len(got) == n, (len(got), n)
    assert t_first is not None
    total = t_end - t0
    steady = (n - first) / (t_end - t_first) if t_end > t_first else n / total
    return [got[i] for i in range(n)], {"total_s": total, "images_per_s_total": n / total,
                                        "images_per_s_steady": steady,
                                        "start_s": t_first - t0}


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def norm(r: dict[str, Any]) -> dict[str, Any]:
        return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v)
                for k, v in r.items()}
    return norm(a) == norm(b)


def traced_scorer(log_dir: str) -> type:
    """LivenessScorer that appends ``pid start end rows`` per batch to a file in ``log_dir``
    (defined in a function: Ray pickles it by value)."""
    from fastlive.ray import LivenessScorer

    class Traced(LivenessScorer):
        def __call__(self, batch: Any) -> Any:
            t0 = time.time()
            out = super().__call__(batch)
            with open(os.path.join(log_dir, f"{os.getpid()}.log"), "a") as fh:
                fh.write(f"{t0} {time.time()} {out.num_rows}\n")
            return out

    return Traced


def actor_stats(log_dir: str, n: int) -> dict[str, float]:
    """From the batch logs: the share of time inside a batch, idle time per image."""
    busy = span = idle = 0.0
    first, last = math.inf, -math.inf
    for f in Path(log_dir).glob("*.log"):
        calls = sorted(tuple(map(float, line.split()[:2])) for line in f.read_text().split("\n")
                       if line)
        busy += sum(e - s for s, e in calls)
        span += calls[-1][1] - calls[0][0]
        idle += sum(max(0.0, b[0] - a[1]) for a, b in zip(calls, calls[1:]))
        first, last = min(first, calls[0][0]), max(last, calls[-1][1])
    return {"busy": busy / span if span else float("nan"),
            "idle_ms_per_image": 1000 * idle / n,
            "images_per_s_actors": n / (last - first) if last > first else float("nan")}


def worker_memory(paths: Sequence[str]) -> dict[str, float]:
    """RSS (MiB) of a fresh Ray worker process: bare, then with a LivenessScorer that scored
    ``paths`` (its peak too)."""
    import ray

    def status() -> dict[str, float]:
        out = {}
        for line in Path("/proc/self/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024
        return out

    @ray.remote(num_cpus=1, max_calls=1)  # a fresh process for this one call
    def measure(paths: Sequence[str]) -> dict[str, float]:
        from fastlive.ray import LivenessScorer

        bare = status()
        scorer = LivenessScorer()
        scorer({"path": list(paths)})
        after = status()
        return {"bare_rss_mib": bare["VmRSS"], "rss_mib": after["VmRSS"],
                "peak_rss_mib": after["VmHWM"]}

    return dict(ray.get(measure.remote(list(paths))))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--n", type=int, default=600, help="images (600)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds (2); medians are reported")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="images per Ray task (default: ScoreRun's)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when ray x2 is more than 15%% below local x2 (steady)")
    ap.add_argument("--memory", action="store_true", help="also measure a worker's memory")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)

    import ray

    from fastlive import ray as flray

    images = [s for s in load_samples(SHARED / "data" / "manifest.csv")
              if s["media"] == "image"]
    samples = images[::max(1, len(images) // args.n)][:args.n]
    n = len(samples)
    print(f"{n} images of {SHARED / 'data' / 'manifest.csv'}; {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f}", flush=True)
    det = build_detector()
    ref = [score_sample(det, s) for s in samples]

    logs: dict[str, str] = {}

    def local1() -> Iterable[tuple[int, Row]]:
        return enumerate(score_sample(det, s) for s in samples)

    def local2() -> Iterable[tuple[int, Row]]:
        return enumerate(score_samples(samples, detector_factory=DetectorFactory(), workers=2))

    def on_ray(actors: int) -> Callable[[], Iterable[tuple[int, Row]]]:
        def go() -> Iterable[tuple[int, Row]]:
            log_dir = tempfile.mkdtemp(prefix="flbench-log")
            logs[f"ray x{actors}"] = log_dir
            return flray.ScoreRun(samples, actors=actors, batch_size=args.batch_size,
                                  scorer=traced_scorer(log_dir))
        return go

    engines = {"local x1": local1, "local x2": local2, "ray x1": on_ray(1), "ray x2": on_ray(2)}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in engines}
    ok = True
    tmp = tempfile.mkdtemp(prefix="flbench")
    t0 = time.perf_counter()
    flray.init(num_cpus=2, _temp_dir=tmp, object_store_memory=200 * 2**20)
    ray_init_s = time.perf_counter() - t0
    try:
        for k in range(args.repeat):
            for name, make in engines.items():
                rows, r = timed(make(), n)
                ok &= all(same(a, b) for a, b in zip(ref, rows))
                if name in logs:
                    r.update(actor_stats(logs[name], n))
                    shutil.rmtree(logs.pop(name), ignore_errors=True)
                runs[name].append(r)
                print(f"round {k + 1} {name}: {r['total_s']:.1f} s, steady "
                      f"{r['images_per_s_steady']:.1f} img/s, first row at {r['start_s']:.1f} s "
                      f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        memory = worker_memory([s["abs_path"] for s in samples[:8]]) if args.memory else None
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    res = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for name, rs in runs.items()}
    print(f"\nray.init (local cluster, 2 CPUs): {ray_init_s:.1f} s; medians of {args.repeat} "
          f"round(s), {n} images")
    print(f"{'engine':10} {'img/s total':>12} {'img/s steady':>13} {'start s':>8} "
          f"{'in actors':>10} {'busy':>6} {'idle ms/img':>12}")
    for name, r in res.items():
        extra = (f"{r['images_per_s_actors']:10.1f} {100 * r['busy']:5.0f}% "
                 f"{r['idle_ms_per_image']:12.2f}" if "busy" in r else "")
        print(f"{name:10} {r['images_per_s_total']:12.1f} {r['images_per_s_steady']:13.1f} "
              f"{r['start_s']:8.1f} {extra}")
    steady = {k: min(v["images_per_s_steady"], v.get("images_per_s_actors", math.inf))
              for k, v in res.items()}
    total = {k: v["images_per_s_total"] for k, v in res.items()}
    scaling = steady["ray x2"] / steady["ray x1"]
    vs_local = steady["ray x2"] / steady["local x2"]
    vs_local_total = total["ray x2"] / total["local x2"]
    overhead_ms = res["ray x2"]["idle_ms_per_image"]
    print(f"Ray's overhead per image (actors idle between batches, ray x2): {overhead_ms:.2f} ms"
          f"; per image vs in-process (1/steady, ray x1 - local x1): "
          f"{1000 * (1 / steady['ray x1'] - 1 / steady['local x1']):.1f} ms")
    print(f"scaling ray x2 / ray x1 (steady; for Ray the lower of steady and in actors): "
          f"{scaling:.2f}")
    print(f"ray x2 / local x2: steady {vs_local:.2f} (target >= {1 - TARGET:.2f}), total "
          f"{vs_local_total:.2f}")
    if memory:
        print("a Ray worker: {bare_rss_mib:.0f} MiB bare, {rss_mib:.0f} MiB with its detector "
              "after scoring (peak {peak_rss_mib:.0f} MiB)".format(**memory))
    print("rows equal to the in-process rows: " + ("yes" if ok else "NO"))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"n": n, "ray_init_s": ray_init_s, "medians": res, "rounds": runs,
             "ray_overhead_ms_per_image": overhead_ms, "scaling": scaling,
             "ray2_vs_local2_steady": vs_local, "ray2_vs_local2_total": vs_local_total,
             "memory": memory, "rows_equal": ok}, indent=2))
    if not ok:
        return 1
    if args.check and vs_local < 1 - TARGET:
        print(f"ray x2 is {100 * (1 - vs_local):.0f} % below local x2 (target: within "
              f"{100 * TARGET:.0f} %)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
