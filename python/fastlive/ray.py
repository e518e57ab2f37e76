"""Scoring archives on a Ray cluster (the ``ray`` extra: ``pip install "fastlive[ray]"``).

:class:`LivenessScorer` is a callable class for :meth:`ray.data.Dataset.map_batches`: each
actor loads the models once and turns a batch of samples (image paths, ``s3://`` / ``gs://``
URIs, or image bytes) into rows with the fields of ``fastlive eval``'s ``scores.csv``::

    import ray
    from fastlive.ray import LivenessScorer

    ds = ray.data.read_binary_files("s3://bucket/selfies/", include_paths=True)
    rows = ds.map_batches(LivenessScorer, concurrency=8, batch_size=16, num_cpus=1)
    rows.write_parquet("s3://bucket/scores/")

A video is scored with one session over its frames, as ``fastlive eval`` does: give videos one
per batch (``batch_size=1``). :class:`ScoreRun` is what ``fastlive eval --engine ray`` runs:
labelled samples in, rows out, a bad file a row with an error, a batch lost with its actor
rescored one sample per task. See docs/ray.md for clusters, actors per node and memory.

This module imports Ray only when it is used (``import fastlive.ray`` works without it, and
:func:`require` says how to install it). Its name does not shadow Ray's: imports are absolute.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import urllib.parse
import warnings
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastlive.capture import VIDEO_EXTS
from fastlive.config import Config
from fastlive.evaluate.datasets import (
    EvalSet,
    Samples,
    is_scores_csv,
    listed_folder_samples,
    load_samples,
    select_samples,
)
from fastlive.evaluate.metrics import Row
from fastlive.evaluate.report import SCORE_FIELDS
from fastlive.evaluate.runner import (
    ROW_CUES,
    DetectorFactory,
    error_row,
    score_image_bytes,
    score_sample,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from fastlive.api import LivenessDetector

__all__ = ["INSTALL_HINT", "LivenessScorer", "ScoreRun", "available", "connected",
           "default_actors", "init", "is_uri", "load_set", "require", "score_samples",
           "scores_schema"]

INSTALL_HINT = 'pip install "fastlive[ray]"'
# the columns of a sample (what load_samples gives; index: its position in the list)
SAMPLE_FIELDS = ("path", "abs_path", "label", "attack_type", "source", "media")
# the error of a sample whose worker died while scoring it, in every try
CRASH_ERROR = ("the Ray worker scoring this sample died (killed, out of memory or crashed) "
               "in every try")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _positive(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name}: expected a positive int, got {v!r}")
    return v


# -- Ray, imported when used -----------------------------------------------------------------------
def available() -> bool:
    """True when Ray Data (and pyarrow) can be imported."""
    try:
        require()
    except ImportError:
        return False
    return True


def require() -> Any:
    """The ``ray`` module with Ray Data; ImportError saying how to install it otherwise."""
    try:
        import pyarrow  # noqa: F401 - Ray Data's block format
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"fastlive on Ray needs Ray Data: {INSTALL_HINT} ({exc})") from exc
    return ray


def _pa() -> Any:
    import pyarrow

    return pyarrow


def _pafs() -> Any:
    import pyarrow.fs

    return pyarrow.fs


def init(address: str | None = None, *, num_cpus: int | None = None,
         quiet: bool = True, **kwargs: Any) -> bool:
    """Connect to the Ray cluster at ``address`` (``auto``, ``ray://head:10001``, or
    ``RAY_ADDRESS``), or start a local one (``num_cpus``: its CPUs, default all; no
    dashboard). Nothing to do when Ray is already initialized in this process. Returns True
    when this call connected (the caller then calls ``ray.shutdown()``, see
    :func:`connected`). ``quiet``: Ray logs warnings only. ``kwargs`` go to ``ray.init``."""
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise TypeError(f"address: expected a Ray address such as 'auto' or "
                        f"'ray://head:10001', got {address!r}")
    if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int)
                                 or num_cpus < 1):
        raise ValueError(f"num_cpus: expected a positive int, got {num_cpus!r}")
    ray = require()
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = dict(kwargs)
    if quiet:
        kw.setdefault("logging_level", logging.WARNING)
    local = address is None and not os.environ.get("RAY_ADDRESS")
    if local:  # a new local cluster: these apply only to one this call starts
        kw.setdefault("include_dashboard", False)
        if num_cpus is not None:
            kw["num_cpus"] = num_cpus
    elif num_cpus is not None:
        raise ValueError("num_cpus: only for a local cluster started here (the cluster at "
                         "address has its own CPUs)")
    ray.init(address=address, **kw)
    return True


@contextmanager
def connected(address: str | None = None, **kwargs: Any) -> Iterator[None]:
    """:func:`init` for a ``with`` block; shuts Ray down at its end if it connected."""
    started = init(address, **kwargs)
    try:
        yield
    finally:
        if started:
            require().shutdown()


def _actor_cpus(config: Config | None) -> int:
    return max(1, int(getattr(config, "threads", 1) or 1))


def default_actors(config: Config | None = None) -> int:
    """One actor per ``config.threads`` CPUs of the connected cluster (at least one)."""
    ray = require()
    cpus = float(ray.cluster_resources().get("CPU", 1))
    return max(1, int(cpus // _actor_cpus(config)))


# -- inputs: local paths, or URIs of any filesystem pyarrow reads ----------------------------------
def is_uri(spec: object) -> bool:
    """True for ``scheme://...`` (s3://, gs://, file://, hdfs://, ...)."""
    return isinstance(spec, str) and bool(_URI.match(spec))


class _FileSystems:
    """pyarrow filesystems by scheme and host, resolved once (an S3 bucket's region is looked up
    when its filesystem is made)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[Any, bool]] = {}

    def resolve(self, uri: str) -> tuple[Any, str]:
        u = urllib.parse.urlsplit(uri)
        key = (u.scheme, u.netloc)
        hit = self._cache.get(key)
        if hit is None:
            fs, path = _pafs().FileSystem.from_uri(uri)
            # bucket-style filesystems (s3, gs) take "bucket/key", the others the path
            with_host = bool(u.netloc) and path.startswith(u.netloc)
            self._cache[key] = (fs, with_host)
            return fs, path
        fs, with_host = hit
        path = urllib.parse.unquote(u.path)
        return fs, (u.netloc + path if with_host else path)

    def read(self, uri: str) -> bytes:
        fs, path = self.resolve(uri)
        with fs.open_input_stream(path) as fh:
            return bytes(fh.read())


def _message(exc: BaseException, spec: str, tmp: str) -> str:
    return str(exc).replace(tmp, spec)


def load_set(uri: str, *, sources: Sequence[str] | None = None,
             limit: int | None = None) -> EvalSet:
    """The :class:`~fastlive.evaluate.EvalSet` of a manifest CSV or data folder at ``uri``
    (``s3://``, ``gs://``, ``file://``, any filesystem pyarrow reads): the same samples as
    :func:`fastlive.evaluate.load_set` gives for a local copy, with ``abs_path`` the URI of
    each file (a manifest's relative paths are relative to its folder). Files are not checked
    one by one (a missing file becomes a row with an error). Errors name ``DATA``."""
    if not is_uri(uri):
        raise ValueError(f"DATA: expected a URI such as s3://bucket/manifest.csv, got {uri!r}")
    require()
    pafs = _pafs()
    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"DATA: {uri}: cannot open ({exc})") from exc
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"DATA: {uri} does not exist; pass a manifest CSV or a folder "
                                "with live/ and spoof/<attack>/")
    root = uri.rstrip("/")
    if info.type == pafs.FileType.Directory:
        listing = fs.get_file_info(pafs.FileSelector(path, recursive=True))
        prefix = path.rstrip("/") + "/"
        names = [f.path[len(prefix):] for f in listing
                 if f.type == pafs.FileType.File and f.path.startswith(prefix)]
        found = listed_folder_samples(root, names, source=root.rsplit("/", 1)[-1])
        if not found:
            raise ValueError(f"DATA: folder {uri} holds no image or video files under live/ or "
                             "spoof/")
        samples = Samples(select_samples(found, limit=limit, sources=sources))
        return EvalSet(uri, samples=samples)
    base = root.rsplit("/", 1)[0]
    with fs.open_input_stream(path) as fh:
        data = bytes(fh.read())
    with tempfile.TemporaryDirectory(prefix="fastlive-") as d:
        tmp = os.path.join(d, Path(path).name or "manifest.csv")
        Path(tmp).write_bytes(data)
        if is_scores_csv(tmp):
            raise ValueError(f"DATA: {uri} is a scores.csv: copy it here and pass the local "
                             "file (scores are read, not rescored, which needs no Ray)")
        try:
            samples = load_samples(tmp, limit=limit, sources=sources)
        except (OSError, ValueError) as exc:
            raise type(exc)(_message(exc, uri, tmp)) from None
    for s in samples:
        rel = s["path"]
        s["abs_path"] = rel if is_uri(rel) or os.path.isabs(rel) else f"{base}/{rel}"
    return EvalSet(uri, samples=samples, unlabeled=samples.unlabeled)


# -- rows ------------------------------------------------------------------------------------------
_FLOAT_FIELDS = frozenset({"score", *ROW_CUES})
_INT_FIELDS = frozenset({"n_faces", "frames", "index"})


def _row_fields(with_index: bool) -> list[str]:
    head = ["path", "label", "attack_type", "source", "media", "abs_path"]
    fields = head + [f for f in SCORE_FIELDS if f not in head]
    return fields + (["index"] if with_index else [])


def scores_schema(with_index: bool = False) -> pa.Schema:
    """The pyarrow schema of :class:`LivenessScorer`'s rows: ``scores.csv``'s fields and
    ``abs_path`` (and ``index`` when the batch has one); scores float64 (NaN: no face or an
    error), a cue a network did not give null."""
    pa = _pa()
    types = {**{f: pa.float64() for f in _FLOAT_FIELDS}, **{f: pa.int64() for f in _INT_FIELDS}}
    return pa.schema([(f, types.get(f, pa.string())) for f in _row_fields(with_index)])


def _to_table(rows: Sequence[Row], with_index: bool) -> pa.Table:
    schema = scores_schema(with_index)
    strings = [f.name for f in schema if f.name not in _FLOAT_FIELDS | _INT_FIELDS]
    clean = []
    for r in rows:
        c = {f: r.get(f) for f in schema.names}
        for f in strings:
            if c[f] is not None and not isinstance(c[f], str):
                c[f] = str(c[f])
        clean.append(c)
    return _pa().Table.from_pylist(clean, schema=schema)


def _batch_records(batch: object) -> list[dict[str, Any]]:
    """The rows of a Ray Data batch: a pyarrow Table, a pandas DataFrame or a dict of numpy
    arrays (Ray's batch formats)."""
    pa = _pa()
    if isinstance(batch, pa.Table):
        return list(batch.to_pylist())
    if isinstance(batch, Mapping):
        cols = {str(k): (v.tolist() if hasattr(v, "tolist") else list(v))
                for k, v in batch.items()}
        n = len(next(iter(cols.values()))) if cols else 0
        return [{k: v[i] for k, v in cols.items()} for i in range(n)]
    to_dict = getattr(batch, "to_dict", None)
    if callable(to_dict):  # pandas
        return [dict(r) for r in to_dict("records")]
    raise TypeError(f"batch: expected a pyarrow Table, a pandas DataFrame or a dict of arrays, "
                    f"got {type(batch).__name__}")


def _media_of(name: str, given: object) -> str:
    if isinstance(given, str) and given.strip():
        return given.strip()
    ext = os.path.splitext(urllib.parse.urlsplit(name).path if is_uri(name) else name)[1].lower()
    return "video" if ext in VIDEO_EXTS else "image"


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return v.decode() if isinstance(v, bytes) else str(v)


# -- the map_batches callable ---------------------------------------------------------------------
class _CrashJournal:
    """What an actor is scoring, in a small file that outlives the actor's process: Ray
    restarts a killed actor (same actor id, same node) and retries its task, and the new
    process learns which sample was being scored when the last one died. A sample that was
    being scored at ``max_crashes`` deaths is then an error row instead of a third crash (a
    file that kills its worker, e.g. out of memory, must not stall the run forever). The file
    is removed after each batch unless a crash was recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.crashes: dict[str, int] = {}
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            self.crashes = {str(k): int(v) for k, v in doc.get("crashes", {}).items()}
            if doc.get("scoring") is not None:
                key = str(doc["scoring"])
                self.crashes[key] = self.crashes.get(key, 0) + 1
        except (OSError, ValueError, TypeError, AttributeError):
            pass  # no journal (a first start) or a torn one (the crash came while writing)

    @classmethod
    def of_this_actor(cls) -> _CrashJournal | None:
        """The journal of the Ray actor running this code (None outside an actor)."""
        try:
            import ray

            actor_id = ray.get_runtime_context().get_actor_id() if ray.is_initialized() \
                else None
        except (ImportError, AttributeError, RuntimeError):
            return None
        if not actor_id:
            return None
        return cls(Path(tempfile.gettempdir()) / f"fastlive-ray-{actor_id}.json")

    def _write(self, scoring: str | None) -> None:
        try:
            self.path.write_text(json.dumps({"scoring": scoring, "crashes": self.crashes}),
                                 encoding="utf-8")
        except OSError:
            pass  # a full or read-only temp folder: no crash bound, scoring goes on

    def begin(self, key: str) -> None:
        self._write(key)

    def end(self) -> None:
        if self.crashes:
            self._write(None)
        else:
            try:
                self.path.unlink()
            except OSError:
                pass


class LivenessScorer:
    """A callable class for :meth:`ray.data.Dataset.map_batches`: each actor builds one
    :class:`fastlive.LivenessDetector` (as ``fastlive eval`` does) and scores batches.

    A batch has a ``path`` column (local paths, which every node must see, or URIs such as
    ``s3://bucket/a.jpg``, read with pyarrow) or a ``bytes`` column of encoded images (as
    :func:`ray.data.read_binary_files` gives, with ``path`` as their name). Optional columns:
    ``label``, ``attack_type``, ``source``, ``media`` (image|video, else from the extension),
    ``abs_path`` (where to read, when ``path`` is a name), ``index`` (passed through).

    Returns a pyarrow Table with one row per input row (:func:`scores_schema`): the fields of
    ``scores.csv`` and ``abs_path``. A file that cannot be read or scored is a row whose
    ``error`` says why (score NaN), never a lost batch. A video is scored with one session
    over every ``video_stride``-th frame (its main track's mean score): give videos one per
    batch. ``expected_degraded``: the names in the driver's ``LivenessDetector.degraded``; an
    actor whose models differ (a node without a model) refuses to start.

    Ray restarts a killed actor and retries its task (Ray Data's defaults); a sample that
    was being scored when its actor died ``max_crashes`` times is a row with the error
    :data:`CRASH_ERROR` instead of another crash (samples are known by their ``index``, else
    their ``path``).
    """

    def __init__(self, config: Config | None = None,
                 model_dir: str | os.PathLike[str] | None = None, video_stride: int = 1,
                 expected_degraded: Sequence[str] | None = None, max_crashes: int = 2) -> None:
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"config: expected a fastlive.Config or None, got "
                            f"{type(config).__name__}")
        if model_dir is not None and not isinstance(model_dir, (str, os.PathLike)):
            raise TypeError(f"model_dir: expected a folder path or None, got "
                            f"{type(model_dir).__name__}")
        if isinstance(video_stride, bool) or not isinstance(video_stride, int) \
                or video_stride < 1:
            raise ValueError(f"video_stride: expected a positive int, got {video_stride!r}")
        if expected_degraded is not None and (isinstance(expected_degraded, str) or not all(
                isinstance(x, str) for x in expected_degraded)):
            raise TypeError("expected_degraded: expected a list of names (str) or None, got "
                            f"{expected_degraded!r}")
        self.max_crashes = _positive("max_crashes", max_crashes)
        self.video_stride = video_stride
        self.detector: LivenessDetector = DetectorFactory(
            config, os.fspath(model_dir) if model_dir is not None else None)()
        if expected_degraded is not None:
            have = set(getattr(self.detector, "degraded", {}) or {})
            if have != set(expected_degraded):
                raise RuntimeError(
                    f"fastlive on this Ray node runs without {sorted(have) or 'nothing'}, the "
                    f"driver without {sorted(expected_degraded) or 'nothing'}: install the same "
                    "models on every node (fastlive models install; --model-dir / "
                    "FASTLIVE_MODEL_DIR must name a folder on the nodes)")
        self._fs = _FileSystems()
        self._journal = _CrashJournal.of_this_actor()

    def __call__(self, batch: object) -> pa.Table:
        records = _batch_records(batch)
        cols = set(records[0]) if records else set()
        if records and not cols & {"path", "bytes"}:
            raise ValueError(f"batch: expected a 'path' or a 'bytes' column, got columns "
                             f"{sorted(cols)}")
        with_index = "index" in cols
        journal = self._journal
        rows = []
        for rec in records:
            key = str(rec["index"]) if with_index else _text(rec.get("path"))
            if journal is not None and journal.crashes.get(key, 0) >= self.max_crashes:
                row = error_row(self._sample(rec), CRASH_ERROR)
            else:
                if journal is not None:
                    journal.begin(key)
                row = self.score(rec)
            if with_index:
                row["index"] = int(rec["index"])
            rows.append(row)
        if journal is not None:
            journal.end()
        return _to_table(rows, with_index)

    @staticmethod
    def _sample(record: Mapping[str, Any]) -> Row:
        path = _text(record.get("path"))
        abs_path = _text(record.get("abs_path")) or path
        return {"path": path, "abs_path": abs_path, "label": _text(record.get("label")),
                "attack_type": _text(record.get("attack_type")),
                "source": _text(record.get("source")),
                "media": _media_of(abs_path or path, record.get("media"))}

    def score(self, record: Mapping[str, Any]) -> Row:
        """One row for one record of a batch (see the class); never raises for a bad file."""
        sample = self._sample(record)
        abs_path = sample["abs_path"]
        data = record.get("bytes")
        try:
            if data is None and is_uri(abs_path):
                data = self._fs.read(abs_path)
            if data is None:
                return score_sample(self.detector, sample, self.video_stride)
            if sample["media"] == "video":
                return self._score_video_bytes(sample, bytes(data))
            return score_image_bytes(self.detector, sample, bytes(data))
        except Exception as exc:  # noqa: BLE001 - one bad sample is a row, never a lost batch
            msg = str(exc) if isinstance(exc, (OSError, ValueError)) \
                else f"{type(exc).__name__}: {exc}"
            if abs_path and abs_path not in msg:
                msg = f"{abs_path}: {msg}"
            return error_row(sample, msg)

    def _score_video_bytes(self, sample: Row, data: bytes) -> Row:
        name = sample["abs_path"] or sample["path"]
        suffix = os.path.splitext(urllib.parse.urlsplit(name).path)[1] or ".mp4"
        fd, tmp = tempfile.mkstemp(prefix="fastlive-clip-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            row = score_sample(self.detector, {**sample, "abs_path": tmp}, self.video_stride)
        finally:
            os.unlink(tmp)
        row["abs_path"] = sample["abs_path"]
        if row["error"]:
            row["error"] = str(row["error"]).replace(tmp, name)
        return row


# -- fastlive eval --engine ray --------------------------------------------------------------------
class ScoreRun:
    """Score labelled samples (:func:`fastlive.evaluate.load_samples` items) on the connected
    Ray cluster (:func:`init`); iterate for ``(index, row)`` pairs as batches complete (any
    order; :func:`score_samples` gives the rows in order).

    ``actors`` actors (default :func:`default_actors`) of :class:`LivenessScorer`, each with
    ``config.threads`` CPUs; images go ``batch_size`` to a task (default: about 8 tasks per
    actor, 1 to 32 images each), videos one clip per task (first: the longest tasks start
    first). Ray restarts a killed actor and retries its task; a sample being scored at
    ``max_crashes`` deaths of its actor is an error row (:data:`CRASH_ERROR`). A batch lost
    anyway (its task failed for good) is scored again one sample per task, and a sample lost
    that way too is an error row; ``lost_batches`` and ``rescored`` count those.
    ``quiet``: no Ray Data progress bars or execution banners.
    """

    def __init__(self, samples: Sequence[Row], *, config: Config | None = None,
                 model_dir: str | os.PathLike[str] | None = None, actors: int | None = None,
                 video_stride: int = 1, batch_size: int | None = None,
                 max_crashes: int = 2, expected_degraded: Sequence[str] | None = None,
                 quiet: bool = True, scorer: type[LivenessScorer] = LivenessScorer) -> None:
        if isinstance(samples, (str, bytes)) or not isinstance(samples, Sequence):
            raise TypeError(f"samples: expected a list of samples (dicts), got "
                            f"{type(samples).__name__}")
        for s in samples:
            if not isinstance(s, Mapping) or "path" not in s:
                raise TypeError(f"samples: each sample is a dict with at least 'path', got "
                                f"{s!r}")
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"config: expected a fastlive.Config or None, got "
                            f"{type(config).__name__}")
        if actors is not None:
            _positive("actors", actors)
        _positive("video_stride", video_stride)
        if batch_size is not None:
            _positive("batch_size", batch_size)
        _positive("max_crashes", max_crashes)
        if not (isinstance(scorer, type) and issubclass(scorer, LivenessScorer)):
            raise TypeError(f"scorer: expected LivenessScorer or a subclass, got {scorer!r}")
        self.samples = samples
        self.config = config
        self.model_dir = os.fspath(model_dir) if model_dir is not None else None
        self.video_stride = video_stride
        self.max_crashes = max_crashes
        self.expected_degraded = (list(expected_degraded) if expected_degraded is not None
                                  else None)
        self.quiet = quiet
        self.scorer = scorer
        require()
        self.actors = actors if actors is not None else default_actors(config)
        n_images = sum(1 for s in samples if _media_of(str(s.get("abs_path") or s["path"]),
                                                       s.get("media")) != "video")
        self.batch_size = batch_size or min(32, max(1, math.ceil(n_images / (8 * self.actors))))
        self.lost_batches = 0
        self.rescored = 0

    def _blocks(self, idxs: Sequence[int], batch: int) -> list[pa.Table]:
        arrow = _pa()
        schema = arrow.schema([("index", arrow.int64()),
                               *((f, arrow.string()) for f in SAMPLE_FIELDS)])

        def table(ix: Sequence[int]) -> pa.Table:
            recs = []
            for i in ix:
                s = self.samples[i]
                rec: dict[str, Any] = {f: _text(s.get(f)) for f in SAMPLE_FIELDS}
                rec["abs_path"] = rec["abs_path"] or rec["path"]
                rec["media"] = _media_of(rec["abs_path"], rec["media"])
                rec["index"] = i
                recs.append(rec)
            return arrow.Table.from_pylist(recs, schema=schema)

        videos = [i for i in idxs if _media_of(str(self.samples[i].get("abs_path")
                                                   or self.samples[i]["path"]),
                                               self.samples[i].get("media")) == "video"]
        vids = set(videos)
        images = [i for i in idxs if i not in vids]
        return ([table([i]) for i in videos]
                + [table(images[k:k + batch]) for k in range(0, len(images), batch)])

    def _run(self, idxs: Sequence[int], batch: int) -> Iterator[tuple[int, Row]]:
        ray = require()
        blocks = self._blocks(idxs, batch)
        with warnings.catch_warnings():  # Ray 2.60's DataContext() warns about its own field
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ray.data.DataContext.get_current()
        # a block whose task fails after Ray's retries is dropped (and rescored below), not
        # the end of the run; quiet: no bars, banners and timings (errors are still logged)
        settings = {"max_errored_blocks": -1}
        if self.quiet:
            settings.update(enable_progress_bars=False, print_on_execution_start=False)
        saved = {k: getattr(ctx, k) for k in settings if hasattr(ctx, k)}  # differ by version
        for k in saved:
            setattr(ctx, k, settings[k])
        log = logging.getLogger("ray.data")
        level = log.level
        if self.quiet:
            log.setLevel(logging.ERROR)
        try:
            ds = ray.data.from_arrow(blocks).map_batches(
                self.scorer, fn_constructor_kwargs={
                    "config": self.config, "model_dir": self.model_dir,
                    "video_stride": self.video_stride,
                    "expected_degraded": self.expected_degraded,
                    "max_crashes": self.max_crashes},
                batch_size=None, batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=min(self.actors, len(blocks))),
                num_cpus=_actor_cpus(self.config))
            for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                for r in table.to_pylist():
                    i = int(r.pop("index"))
                    yield i, r
        finally:
            for k, v in saved.items():
                setattr(ctx, k, v)
            log.setLevel(level)

    def __iter__(self) -> Generator[tuple[int, Row], None, None]:
        pending = list(range(len(self.samples)))
        if not pending:
            return
        done: set[int] = set()
        for batch in (self.batch_size, 1):
            for i, row in self._run(pending, batch):
                if i not in done:
                    done.add(i)
                    yield i, row
            lost = [i for i in pending if i not in done]
            if lost and batch > 1:
                self.lost_batches += math.ceil(len(lost) / batch)
                self.rescored += len(lost)
            pending = lost
            if not pending:
                return
        for i in pending:  # lost one sample per task too: the sample kills its worker
            yield i, error_row(self.samples[i], CRASH_ERROR)


def score_samples(samples: Sequence[Row], **kwargs: Any) -> list[Row]:
    """:class:`ScoreRun`'s rows in the order of ``samples`` (the rows ``fastlive eval``'s local
    engine gives, :func:`fastlive.evaluate.score_samples`)."""
    rows: dict[int, Row] = dict(ScoreRun(samples, **kwargs))
    return [rows[i] for i in range(len(samples))]
