"""``fastlive eval DATA...``: score a labelled data set (or reread an earlier run's scores.csv)
and write a report folder: scores, ISO/IEC 30107-3 metrics, tables, DET/ROC plots."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import fastlive
from fastlive import passive
from fastlive import ray as flray  # Ray itself is imported only with --engine ray
from fastlive.api import LivenessDetector
from fastlive.cli.common import (
    CLIError,
    Progress,
    Subparsers,
    add_pipeline_flags,
    config_from_args,
    describe,
    detector_from_args,
    detector_threshold,
    flag_message,
    json_line,
    output_dir,
    positive_int,
)
from fastlive.config import Config
from fastlive.evaluate import (
    DetectorFactory,
    EvalSet,
    Metrics,
    Row,
    blink_metrics,
    choose_threshold,
    describe_criterion,
    load_set,
    parse_criterion,
    score_samples,
    system_metrics,
)
from fastlive.evaluate.report import (
    PARQUET_HINT,
    PLOT_HINT,
    SystemResult,
    markdown,
    markdown_table,
    systems_table,
    threshold_line,
    type_table_rows,
    write_scores_csv,
    write_scores_parquet,
    write_systems_report,
)

# flags that only matter when samples are scored (refused when every input is a scores.csv)
SCORING_FLAGS = (("operating_point", "--operating-point"), ("detector", "--detector"),
                 ("threads", "--threads"), ("redetect_every", "--redetect-every"),
                 ("max_faces", "--max-faces"), ("passive_interval", "--passive-interval"),
                 ("window", "--window"), ("eye_model", "--eye-model"),
                 ("no_landmarks", "--no-landmarks"), ("model_dir", "--model-dir"),
                 ("limit", "--limit"), ("blink", "--blink"), ("engine", "--engine"),
                 ("address", "--address"))
RAY_HINT = 'pip install "fastlive[ray]"'


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "eval", parents=parents, help="evaluate on a labelled data set",
        description="Score a manifest CSV (path,label,attack_type,source,media) or a folder "
        "with live/ and spoof/<attack>/, or reuse the scores.csv of an earlier run, and write a "
        "report folder (scores.csv, metrics.json, report.md, det.png, roc.png, index.html). "
        "Several scores.csv files are compared as systems in one report.")
    p.add_argument("data", metavar="DATA", nargs="+",
                   help="manifest CSV, data folder, or scores.csv of an earlier run (not "
                   "rescored); several scores.csv: one system each")
    p.add_argument("--dev", action="append", metavar="DEV",
                   help="development set (manifest, folder or scores.csv) that fixes the "
                   "threshold, by --criterion; the metrics of DATA are measured at it (one "
                   "--dev per DATA)")
    p.add_argument("--criterion", default="eer", metavar="eer|min-hter|apcer=X",
                   help="how --dev fixes the threshold: its EER (default), its minimum HTER, "
                   "or the lowest BPCER with every attack type's APCER <= X (e.g. apcer=5%%)")
    p.add_argument("--name", action="append", metavar="NAME",
                   help="system name in tables and plot legends (one per DATA)")
    p.add_argument("--keep-going", action="store_true",
                   help="score the other samples when listed files are missing or unreadable, "
                   "and exit 0 (they are left out of the metrics)")
    p.add_argument("--out", default="fastlive-report", help="report folder (fastlive-report)")
    p.add_argument("--limit", type=positive_int,
                   help="score only N samples spread evenly over the list")
    p.add_argument("--source", help="comma-separated sources to keep")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes (default: min(2, CPUs)); with --engine ray, Ray "
                   "actors (default: one per CPU of the cluster)")
    p.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="score here in worker processes (local, the default) or on a Ray "
                   "cluster (ray: DATA may then be an s3:// gs:// ... URI; the ray extra, "
                   "docs/ray.md)")
    p.add_argument("--address", metavar="ADDR",
                   help="with --engine ray: the Ray cluster to use (auto, ray://head:10001; "
                   "default RAY_ADDRESS, else a local cluster started for the run)")
    p.add_argument("--output-format", choices=("csv", "parquet"), default="csv",
                   help="scores.csv only (csv, the default), or also scores.parquet (parquet, "
                   "needs pyarrow)")
    p.add_argument("--video-stride", type=positive_int, default=1,
                   help="score every k-th frame of videos (1)")
    p.add_argument("--thumbnails", type=int, default=12,
                   help="worst-scored samples shown per class in index.html (12; 0 = none)")
    p.add_argument("--blink", action="store_true",
                   help="also evaluate blink detection against the ZJU .tag annotations")
    p.add_argument("--blink-data", metavar="DIR",
                   help="folder with the ZJU clips (default: DATA's folder)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_pipeline_flags(p)
    p.set_defaults(func=run)


# -- inputs --------------------------------------------------------------------------------------
@dataclass
class _Input:
    """One DATA or DEV input with the flag that named it (for messages)."""

    flag: str
    set: EvalSet


def _check_out_writable(path: str) -> Path:
    """Create the report folder and prove a file can be written there (before any scoring)."""
    d = output_dir("--out", path)
    try:
        fd, probe = tempfile.mkstemp(prefix=".fastlive-write-test-", dir=d)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CLIError(f"--out: cannot write in {d} ({exc.strerror or exc})") from exc
    return d


def _load(spec: str, flag: str, args: argparse.Namespace) -> _Input:
    """One DATA or DEV input: a scores.csv (read, not scored) or a manifest / folder (a URI:
    on Ray)."""
    sources = [x for x in (args.source or "").split(",") if x] or None
    try:
        if flray.is_uri(spec):
            if args.engine != "ray":
                raise CLIError(f"{flag}: {spec}: a URI is read on Ray: pass --engine ray "
                               f"({RAY_HINT}), or copy the data here")
            data = flray.load_set(spec, sources=sources, limit=args.limit)
        else:
            data = load_set(spec, sources=sources, limit=args.limit)
    except (OSError, ValueError) as exc:
        raise CLIError(flag_message(str(exc), {"DATA": flag})) from exc
    if data.samples is not None and data.missing and not args.keep_going:
        raise CLIError(f"{flag}: {len(data.missing)} of {len(data.samples)} listed file(s) do "
                       f"not exist, e.g. {data.missing[0]}; fix the list, or pass --keep-going "
                       "to score the others")
    return _Input(flag, data)


def _check_engine(args: argparse.Namespace) -> None:
    """--engine, --address and --output-format: Ray and pyarrow are there (before scoring)."""
    if args.address is not None and args.engine != "ray":
        raise CLIError("--address: applies to --engine ray (the Ray cluster to score on)")
    if args.engine == "ray":
        try:
            flray.require()
        except ImportError as exc:
            raise CLIError(f"--engine ray: Ray Data is not installed here: {RAY_HINT}") from exc
    if args.output_format == "parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError as exc:
            raise CLIError(f"--output-format parquet: {PARQUET_HINT}") from exc


def _check_args(args: argparse.Namespace) -> None:
    _check_engine(args)
    data, devs = args.data, args.dev or []
    if devs and len(devs) != len(data):
        raise CLIError(f"--dev: give one per DATA, in the same order ({len(data)} DATA, "
                       f"{len(devs)} --dev)")
    if args.name and len(args.name) != len(data):
        raise CLIError(f"--name: give one per DATA, in the same order ({len(data)} DATA, "
                       f"{len(args.name)} --name)")
    if args.threshold is not None and devs:
        raise CLIError("--threshold: not with --dev (the threshold is then fixed on DEV by "
                       "--criterion)")
    try:
        parse_criterion(args.criterion)
    except (TypeError, ValueError) as exc:
        raise CLIError(flag_message(str(exc), {"criterion": "--criterion"})) from exc


def _check_inputs(args: argparse.Namespace, inputs: Sequence[_Input], scoring: bool) -> None:
    if len(args.data) > 1:
        for x in inputs:
            if x.set.scored:
                raise CLIError(f"{x.flag}: {x.set.spec} is not a scores.csv; several DATA are "
                               "compared as systems, each the scores.csv of an earlier "
                               "'fastlive eval' run (score each data set on its own first)")
    if not scoring:
        for attr, flag in SCORING_FLAGS:
            if getattr(args, attr, None) not in (None, False):
                raise CLIError(f"{flag}: applies when scoring a manifest or folder; every input "
                               "is a scores.csv (pass --threshold T or --dev DEV to set the "
                               "threshold)")
    if args.blink and not inputs[0].set.scored:
        raise CLIError("--blink: needs a manifest or folder to score")


def _system_name(spec: str) -> str:
    p = Path(spec)
    return p.parent.name or p.stem if p.name == "scores.csv" else (p.stem or str(p))


# -- scoring -------------------------------------------------------------------------------------
def _score(args: argparse.Namespace, det: LivenessDetector | None, config: Config, x: _Input,
           label: str, partial: Path) -> list[Row]:
    """Score an input's samples with a progress bar. If scoring stops (a crash, Ctrl-C), the
    rows scored so far are written to ``partial`` before the error is reported."""
    samples: Sequence[Row] = x.set.samples or []
    bar = Progress(len(samples), label, enabled=not args.quiet, unit="sample")
    scored: dict[int, Row] = {}
    gen: Generator[tuple[int, Row], None, None]
    if args.engine == "ray":  # rows come as batches complete, in any order
        gen = iter(flray.ScoreRun(
            samples, config=config, model_dir=args.model_dir, actors=args.workers,
            video_stride=args.video_stride,
            expected_degraded=sorted(getattr(det, "degraded", None) or {}), quiet=True))
    else:
        gen = _numbered(score_samples(samples, detector=det,
                                      detector_factory=DetectorFactory(config, args.model_dir),
                                      workers=args.workers, video_stride=args.video_stride))
    try:
        for i, row in gen:
            scored[i] = row
            bar.update(1)
    except BaseException as exc:
        gen.close()
        bar.close()
        rows = [scored[i] for i in sorted(scored)]
        write_scores_csv(partial, rows)
        msg = (f"scoring stopped after {len(rows)} of {len(samples)} samples; the rows scored "
               f"so far are in {partial}")
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            print(f"fastlive: {msg}", file=sys.stderr)
            raise
        raise CLIError(f"{msg} ({describe(exc)})") from exc
    bar.close()
    return [scored[i] for i in range(len(samples))]


def _numbered(rows: Generator[Row, None, None]) -> Generator[tuple[int, Row], None, None]:
    try:
        yield from enumerate(rows)
    finally:
        rows.close()


def _metrics(args: argparse.Namespace, det: LivenessDetector | None, config: Config | None,
             out: Path, data: _Input, dev: _Input | None) -> tuple[Metrics | None, Metrics]:
    """(dev metrics or None, metrics) of one system under the threshold policy
    (fastlive.evaluate.choose_threshold); on an error the scored rows are written first."""
    ds = data.set
    t, src = choose_threshold(
        given=args.threshold, given_source="given (--threshold)",
        detector=detector_threshold(det) if ds.scored else None,
        operating_point=getattr(config, "operating_point", "?"),
        recorded=None if ds.scored else ds.recorded)
    try:
        return system_metrics(ds.rows or [], dev.set.rows if dev is not None else None,
                              criterion=args.criterion, threshold=t, threshold_source=src)
    except ValueError as exc:
        for x, fname in ((data, "scores.csv"), (dev, "dev-scores.csv")):
            if x is not None and x.set.scored:
                write_scores_csv(out / fname, x.set.rows or [])
        flag = "--dev" if str(exc).startswith("dev") else "DATA"
        raise CLIError(f"{flag}: {exc} (the scored rows are in {out}/)") from exc


def _connect_ray(args: argparse.Namespace, config: Config | None,
                 stack: contextlib.ExitStack) -> None:
    """Connect to --address (or RAY_ADDRESS, or start a local cluster) for the scoring, and
    resolve --workers to the number of actors."""
    try:
        stack.enter_context(flray.connected(args.address, quiet=True))
    except (ConnectionError, RuntimeError, ValueError, TypeError, OSError) as exc:
        where = f"the Ray cluster at {args.address}" if args.address else "Ray"
        flag = "--address" if args.address else "--engine ray"
        raise CLIError(f"{flag}: cannot connect to {where} ({describe(exc)})") from exc
    if args.workers is None:
        args.workers = flray.default_actors(config)


def _blink(args: argparse.Namespace, config: Config | None) -> Metrics:
    data = args.blink_data or args.data[0]
    try:
        return blink_metrics(data, config)
    except FileNotFoundError as exc:
        raise CLIError(f"--blink: {exc} (pass --blink-data DIR with the ZJU clips)") from exc


def _model_version(model_dir: str | None) -> str:
    try:
        return str(passive.PassiveScorer(model_dir).version)
    except Exception:  # noqa: BLE001 - the report says "unavailable"
        return "unavailable"


# -- the command ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    _check_args(args)
    data: list[str] = list(args.data)
    devs: list[str] = list(args.dev or [])
    several = len(data) > 1
    names = list(args.name) if args.name else [_system_name(d) for d in data]
    if len(set(names)) < len(names):
        names = list(data)
    created = not Path(args.out).exists()
    out = _check_out_writable(args.out)
    dev_specs: list[str | None] = list(devs) if devs else [None] * len(data)
    try:
        pairs = [(_load(d, "DATA", args), _load(v, "--dev", args) if v else None)
                 for d, v in zip(data, dev_specs)]
    except CLIError:
        if created and not any(out.iterdir()):  # a bad input leaves no empty report folder
            out.rmdir()
        raise
    inputs = [x for pair in pairs for x in pair if x is not None]
    scoring = any(x.set.scored for x in inputs)
    _check_inputs(args, inputs, scoring)
    for x in inputs:
        if x.set.unlabeled:
            print(f"fastlive: {x.flag} {x.set.spec}: {x.set.unlabeled} unlabeled row(s) "
                  "skipped", file=sys.stderr)

    config = config_from_args(args) if scoring else None
    det = detector_from_args(args, config) if scoring else None  # checks the models first
    with contextlib.ExitStack() as stack:
        if scoring and args.engine == "ray":
            _connect_ray(args, config, stack)
        elif args.workers is None:
            args.workers = min(2, os.cpu_count() or 1)
        t0 = time.perf_counter()
        for ds, dv in pairs:
            for inp, label, fname in ((dv, "dev", "dev-scores.csv"),
                                      (ds, "eval", "scores.csv")):
                if inp is not None and inp.set.scored:
                    assert config is not None
                    inp.set.rows = _score(args, det, config, inp, label, out / fname)
        seconds = time.perf_counter() - t0

    systems = []
    for (ds, dv), name in zip(pairs, names):
        dev_m, ev_m = _metrics(args, det, config, out, ds, dv)
        systems.append(SystemResult(name, ds.set.rows or [], ev_m,
                                    dv.set.rows if dv else None, dev_m, data=ds.set.spec))
    blink = _blink(args, config) if args.blink else None
    errors = sum(1 for x in inputs if x.set.scored for r in x.set.rows or [] if r["error"])
    meta = {"data": ", ".join(data), "dev": ", ".join(devs) or None,
            "criterion": args.criterion if devs else None,
            "command": "fastlive " + shlex.join(sys.argv[1:]),
            "fastlive_version": fastlive.__version__,
            "model_version": (_model_version(args.model_dir) if scoring
                              else "n/a (scores read from files)"),
            "n_entries": len(systems[0].rows) if not several else None, "seconds": seconds,
            "workers": args.workers if scoring else None, "errors": errors,
            "engine": (args.engine or "local") if scoring else None,
            "unlabeled_skipped": sum(x.set.unlabeled for x in inputs),
            "config": config.to_dict() if config is not None else None}
    if not several:
        meta["name"] = names[0]
    paths = write_systems_report(out, systems, meta, thumbnails=args.thumbnails, blink=blink,
                                 write_scores=not several)
    if args.output_format == "parquet" and not several:
        outputs: list[tuple[_Input | None, str, str]] = [
            (pairs[0][0], "scores_parquet", "scores.parquet"),
            (pairs[0][1], "dev_scores_parquet", "dev-scores.parquet")]
        for inp, key, fname in outputs:
            if inp is not None:
                paths[key] = write_scores_parquet(out / fname, inp.set.rows or [])
    if "plots_missing" in paths:
        print(f"fastlive: no DET/ROC plots: {PLOT_HINT}", file=sys.stderr)
    if args.json:
        _print_json(systems, paths, blink, several)
    else:
        _print_text(args, inputs, systems, paths, blink, seconds, out)
    if errors and not args.keep_going:
        raise CLIError(f"{errors} listed sample(s) could not be read (the error column of "
                       f"{out}/scores.csv says why); the metrics leave them out: fix them, or "
                       "pass --keep-going to accept that")
    return 0


def _print_json(systems: Sequence[SystemResult], paths: dict[str, Path],
                blink: Metrics | None, several: bool) -> None:
    doc: dict[str, object] = {"report": {k: str(v) for k, v in paths.items()}}
    if several:
        doc["systems"] = [{"name": s.name, "data": s.data, "metrics": s.metrics,
                           "dev": s.dev_metrics} for s in systems]
    else:
        doc.update(metrics=systems[0].metrics, dev=systems[0].dev_metrics, blink=blink)
    json_line(doc)


def _print_text(args: argparse.Namespace, inputs: Sequence[_Input],
                systems: Sequence[SystemResult], paths: dict[str, Path],
                blink: Metrics | None, seconds: float, out: Path) -> None:
    for x in inputs:
        what = "development" if x.flag == "--dev" else "evaluation"
        rows = x.set.rows or []
        if x.set.scored:
            n_err = sum(1 for r in rows if r["error"])
            n_fta = sum(1 for r in rows if not r["error"] and not math.isfinite(r["score"]))
            how = (f"Ray, {args.workers} actor(s)" if args.engine == "ray"
                   else f"{args.workers} worker(s)")
            print(f"{what} set {x.set.spec}: {len(rows)} samples scored in {seconds:.1f} s "
                  f"({how}); {n_err} unreadable, {n_fta} without a face (FTA)")
        else:
            print(f"{what} set {x.set.spec}: {len(rows)} scores read (not rescored)")
    if len(systems) > 1:
        for s in systems:
            print(f"{s.name}: {threshold_line(s.metrics)}")
        print(markdown(*systems_table(systems)))
    else:
        sy = systems[0]
        if sy.dev_metrics is not None:
            print(f"development set (threshold fixed at {describe_criterion(args.criterion)}):")
            print(markdown_table(sy.dev_metrics))
            print("evaluation set:")
        print(threshold_line(sy.metrics))
        print(markdown_table(sy.metrics))
        header, trows = type_table_rows(sy.metrics)
        if trows:
            print(markdown(header, trows))
    if blink is not None:
        print(f"blinks: {blink['clips']} clips, precision {blink['precision']:.3f} recall "
              f"{blink['recall']:.3f} F1 {blink['f1']:.3f}")
    files = ", ".join(p.name for k, p in paths.items() if k not in ("plots_missing",))
    print(f"report written to {out}/ ({files})")
