"""``fastlive bench``: per-stage latency on this machine (a synthetic frame, or the images and
videos given with --input)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

from fastlive import kernels, passive
from fastlive.capture import Capture, is_image_path, read_image
from fastlive.cli.common import (
    Subparsers,
    add_pipeline_flags,
    detector_from_args,
    json_line,
    positive_int,
)
from fastlive.detect import Face, FaceDetector
from fastlive.evaluate import result_field

# every row the docs promise, in print order; a row that could not be measured says why (the
# per-network rows follow "passive (all)", named after the shipped networks)
PASSIVE_ROWS = ["passive (all)"]


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", parents=parents, help="per-stage latency on this machine",
                       description="Quick per-stage latency breakdown (synthetic frame, or the "
                       "images/videos given with --input).")
    p.add_argument("--input", dest="inputs", action="append", metavar="PATH",
                   help="image or video to use (repeatable)")
    p.add_argument("--frames", type=positive_int, default=50,
                   help="repetitions / video frames (50)")
    p.add_argument("--json", action="store_true")
    add_pipeline_flags(p)
    p.set_defaults(func=run)


def latency_stats(vals: Sequence[float]) -> dict[str, float]:
    """median, p90, mean (milliseconds) and n of a list of timings."""
    a = np.asarray(vals, np.float64)
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)),
            "mean": float(a.mean()), "n": int(a.size)}


def _frames(inputs: Sequence[str] | None, max_frames: int) -> list[np.ndarray]:
    frames = []
    for p in inputs or []:
        if is_image_path(p):
            frames.append(read_image(p))
        else:
            with Capture(p) as cap:
                for k, (f, _t) in enumerate(cap):
                    frames.append(f)
                    if k + 1 >= max_frames:
                        break
    return frames


class _Timer:
    """Timings (ms) by row name; ``rows`` keeps the print order, ``missing`` why a row has
    none."""

    def __init__(self, reps: int) -> None:
        self.reps = reps
        self.per: dict[str, list[float]] = {}
        self.rows = ["detect (full frame)", *PASSIVE_ROWS]
        self.missing: dict[str, str] = {}

    def time(self, name: str, fn: Callable[[], object]) -> None:
        fn()  # warm-up
        for _ in range(self.reps):
            t0 = time.perf_counter()
            fn()
            self.per.setdefault(name, []).append((time.perf_counter() - t0) * 1e3)


def _bench_passive(tm: _Timer, args: argparse.Namespace, f0: np.ndarray, face: Face) -> None:
    """The passive models on one face: all of it, then each network's crop and inference."""
    ps = passive.PassiveScorer(args.model_dir, threads=args.threads or 1)
    out: dict[str, list[float]] = {}

    def run_passive() -> None:
        r = ps.score(f0, [face])[0]
        for k, v in r.timings.items():
            out.setdefault(k, []).append(v)

    tm.time("passive (all)", run_passive)
    for k, v in out.items():
        tm.per[f"  passive: {k}"] = v[1:]  # without the warm-up call
        tm.rows.append(f"  passive: {k}")


def _bench_pipeline(tm: _Timer, args: argparse.Namespace, frames: list[np.ndarray],
                    synthetic: bool) -> None:
    """score_frame over the frames with one session (as for a video), and its stages."""
    ld = detector_from_args(args)
    session = ld.new_session()
    stage: dict[str, list[float]] = {}
    totals, tracked = [], []
    for i in range(max(tm.reps, len(frames))):
        fr = frames[i % len(frames)]
        t0 = time.perf_counter()
        res = ld.score_frame(fr, session=session, timestamp=i / 30.0)
        dt = (time.perf_counter() - t0) * 1e3
        totals.append(dt)
        if not result_field(res, "detected", True):
            tracked.append(dt)
        for sk, sv in (result_field(res, "timings") or {}).items():
            stage.setdefault(sk, []).append(float(sv))
    tm.per["pipeline: score_frame"] = totals
    if tracked:
        tm.per["pipeline: tracked frames"] = tracked
    else:
        tm.missing["pipeline: tracked frames"] = (
            "no face to track in a synthetic frame" if synthetic
            else "no frame was tracked (no face found, or a full detection on every frame)")
    for sk, sv in stage.items():
        tm.per[f"  stage: {sk}"] = sv
        tm.rows.append(f"  stage: {sk}")


def run(args: argparse.Namespace) -> int:
    frames = _frames(args.inputs, args.frames)
    synthetic = not frames
    if synthetic:
        rng = np.random.default_rng(0)
        frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)]
    tm = _Timer(args.frames)

    # stage micro-benchmarks that do not need a face
    det = FaceDetector(args.detector or "auto")
    f0 = frames[0]
    tm.time("detect (full frame)", lambda: det.detect(f0))
    faces = det.detect(f0)
    h, w = f0.shape[:2]
    face = faces[0] if faces else Face((w * 0.3, h * 0.2, w * 0.4, h * 0.6), 1.0, None,
                                        "synthetic")
    try:
        _bench_passive(tm, args, f0, face)
    except Exception as exc:  # noqa: BLE001 - report it, keep benchmarking
        print(f"fastlive: passive models unavailable ({exc})", file=sys.stderr)
        for r in tm.rows[1:]:
            tm.missing[r] = f"passive models unavailable ({exc})"
    gray = np.ascontiguousarray(f0[:, :, 1])
    lbp_row = f"kernel: lbp_histogram {gray.shape[1]}x{gray.shape[0]}"
    tm.rows.append(lbp_row)
    tm.time(lbp_row, lambda: kernels.lbp_histogram(gray, (4, 4)))
    tm.rows += ["pipeline: score_frame", "pipeline: tracked frames"]
    try:
        _bench_pipeline(tm, args, frames, synthetic)
    except Exception as exc:  # noqa: BLE001
        print(f"fastlive: full pipeline unavailable ({exc})", file=sys.stderr)
        for r in ("pipeline: score_frame", "pipeline: tracked frames"):
            tm.missing[r] = f"pipeline unavailable ({exc})"
    results: dict[str, dict[str, float]] = {}
    for k, v in tm.per.items():
        if v:
            results[k] = latency_stats(v)
        elif k not in tm.missing:
            tm.missing[k] = "no sample"
    src = "synthetic 640x480 noise frame" if synthetic else f"{len(frames)} frame(s)"
    if args.json:
        json_line({"frames": src, "stages_ms": results, "not_measured": tm.missing})
        return 0
    print(f"per-stage latency on {src}, {args.frames} repetitions, single thread "
          f"(onnxruntime threads={args.threads or 1}):")
    print(f"{'stage':<36}{'median ms':>10}{'p90 ms':>10}{'n':>6}")
    for k in tm.rows:
        st = results.get(k)
        if st is not None:
            print(f"{k:<36}{st['median']:>10.2f}{st['p90']:>10.2f}{st['n']:>6}")
        else:
            print(f"{k:<36}{'n/a':>10}{'n/a':>10}{0:>6}  ({tm.missing.get(k, 'not measured')})")
    if synthetic:
        print("(no face in a synthetic frame: the passive stage used a fixed box; pass a real "
              "image or video with --input for a representative pipeline timing)")
    return 0
