"""What the commands share: the user-facing error, the progress bar, JSON and text output,
the pipeline flags (one per ``fastlive.Config`` field) and the detector they build."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tqdm import tqdm

from fastlive.api import LivenessDetector
from fastlive.capture import Capture, CaptureError
from fastlive.config import Config
from fastlive.evaluate import Row, as_float, build_detector, result_field, to_jsonable
from fastlive.results import FrameResult

# what each command's add_parser gets: the parser's subcommands
if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


class CLIError(Exception):
    """An error with a message meant for the user (printed as one line)."""


# -- progress bar --------------------------------------------------------------------------------
class Progress:
    """A stderr progress bar (tqdm) whose count can be off: ``finish()`` at the natural end of
    a stream makes the total the count reached, so a container that announced the wrong
    number of frames still ends at 100%; ``close()`` alone leaves an interrupted run's bar
    where it stopped."""

    def __init__(self, total: int | None, label: str = "", *, stream: TextIO | None = None,
                 enabled: bool = True, interval: float = 0.1, unit: str = "it") -> None:
        self.total = total if total and total > 0 else None
        self.enabled = enabled
        self._bar = tqdm(total=self.total, desc=label or None,
                         file=stream if stream is not None else sys.stderr,
                         disable=not enabled, mininterval=interval, unit=unit,
                         dynamic_ncols=True, leave=True)

    @property
    def n(self) -> int:
        return int(self._bar.n)

    def update(self, n: int = 1, extra: str | None = None) -> None:
        if extra is not None:
            self._bar.set_postfix_str(extra, refresh=False)
        self._bar.update(n)

    def render(self) -> str:
        """The bar's current line (what it shows)."""
        return str(self._bar)

    def finish(self) -> None:
        """The stream ended: the count reached is the total (the bar shows 100%)."""
        self.total = self._bar.n
        self._bar.total = self._bar.n
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


# -- output --------------------------------------------------------------------------------------
def json_line(obj: object, out: TextIO | None = None) -> None:
    """One line of strict JSON (NaN/inf become null) on stdout, flushed."""
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(to_jsonable(obj), allow_nan=False) + "\n")
    stream.flush()


def result_dict(res: FrameResult | Mapping[str, object]) -> dict[str, object]:
    """A FrameResult (or a dict) as a JSON-ready dict."""
    return dict(res) if isinstance(res, Mapping) else dict(res.to_dict())


def face_summary(face: object) -> str:
    """``LIVE 0.912 (minifasnet_v2 0.95, minifasnet_v1se 0.88) [reason]``."""
    cues = result_field(face, "cues") or {}
    parts = []
    for k in ("minifasnet_v2", "minifasnet_v1se"):
        v = result_field(cues, k)
        if v is not None and math.isfinite(as_float(v)):
            parts.append(f"{k} {as_float(v):.2f}")
    reason = result_field(face, "reason")
    s = f"{result_field(face, 'decision')} {as_float(result_field(face, 'score')):.3f}"
    if parts:
        s += f" ({', '.join(parts)})"
    if reason:
        s += f" [{reason}]"
    return s


def print_tracks(tracks: Sequence[Row], what: str = "video") -> None:
    """One line per track summary (fastlive.evaluate.TrackStats.to_dict)."""
    if not tracks:
        print(f"no face found in the {what}")
    for d in tracks:
        ms = d["mean_score"]
        print(f"track {d['track_id']}: {d['verdict']} (frames {d['frames']}, "
              f"{d['first_s']:.1f}-{d['last_s']:.1f} s, blinks seen {d['blinks']}, mean score "
              + (f"{ms:.3f})" if math.isfinite(ms) else "n/a)"))


# -- errors --------------------------------------------------------------------------------------
# Config fields and library argument names -> the CLI flag a user typed
FLAG_OF = {"operating_point": "--operating-point", "threshold": "--threshold",
           "detector_backend": "--detector", "threads": "--threads",
           "redetect_every": "--redetect-every", "max_faces": "--max-faces",
           "passive_interval_s": "--passive-interval", "window_s": "--window",
           "landmarks": "--no-landmarks", "eye_model": "--eye-model",
           "model_dir": "--model-dir", "open_timeout": "--timeout", "read_timeout": "--timeout"}


def flag_message(msg: str, extra: dict[str, str] | None = None) -> str:
    """A library message that starts with an argument name ("threads: ...") restated with the
    CLI flag ("--threads: ...")."""
    names = {**FLAG_OF, **(extra or {})}
    head, sep, rest = msg.partition(":")
    if sep and head.strip() in names:
        return f"{names[head.strip()]}:{rest}"
    return msg


def describe(exc: BaseException) -> str:
    """An exception as the one line ``fastlive: error: ...`` shows."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (CLIError, FileNotFoundError, ValueError, TypeError, OSError)):
        return msg
    return f"{type(exc).__name__}: {msg}"


# -- flag types ----------------------------------------------------------------------------------
def positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s}")
    return v


def positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def unit_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {s!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {v}")
    return v


# -- the pipeline flags and the detector they build ----------------------------------------------
def add_pipeline_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pipeline (fastlive.Config fields)")
    g.add_argument("--operating-point", choices=("convenience", "balanced", "secure"),
                   help="named decision threshold of the passive model (default balanced)")
    g.add_argument("--threshold", type=unit_float, help="explicit decision threshold on the score")
    g.add_argument("--detector", choices=("auto", "yunet", "haar"), help="face detector backend")
    g.add_argument("--threads", type=positive_int, help="onnxruntime threads per model (1)")
    g.add_argument("--redetect-every", type=positive_int,
                   help="full face detection every N frames of a stream (default 10)")
    g.add_argument("--max-faces", type=positive_int, help="faces scored per frame (default 4)")
    g.add_argument("--passive-interval", type=positive_float, metavar="S",
                   help="in a stream, run the passive models on a face every S seconds "
                   "(default 0.1)")
    g.add_argument("--window", type=positive_float, metavar="S",
                   help="a stream decides on the mean passive score of the last S seconds "
                   "(default 1)")
    g.add_argument("--no-landmarks", action="store_true",
                   help="skip eye landmarks (no EAR / blinks)")
    g.add_argument("--eye-model", choices=("auto", "fastlive", "mediapipe"),
                   help="eye landmark model (default auto: MediaPipe's, downloaded on first "
                   "use, else fastlive's shipped network)")
    g.add_argument("--model-dir", help="folder with fastlive's own models (manifest.json)")
    g.add_argument("--strict", action="store_true",
                   help="fail when a model is missing instead of running degraded (Haar "
                   "instead of YuNet, no eye model, no passive model); also FASTLIVE_STRICT=1")
    g.add_argument("--assume-face", action="store_true",
                   help="score a face crop in which no face is found as a whole face (only for "
                   "crops known to hold a face: anything, a cat or a wall, is then scored)")


def config_from_args(args: argparse.Namespace) -> Config:
    """fastlive.Config from the pipeline flags (one flag per field used)."""
    kw: dict[str, Any] = {}
    for flag, name in (("operating_point", "operating_point"), ("threshold", "threshold"),
                       ("detector", "detector_backend"), ("threads", "threads"),
                       ("redetect_every", "redetect_every"), ("max_faces", "max_faces"),
                       ("passive_interval", "passive_interval_s"), ("window", "window_s"),
                       ("eye_model", "eye_model")):
        v = getattr(args, flag, None)
        if v is not None:
            kw[name] = v
    if getattr(args, "no_landmarks", False):
        kw["landmarks"] = False
    if getattr(args, "strict", False):
        kw["strict"] = True
    if getattr(args, "assume_face", False):
        kw["assume_face"] = True
    try:
        return Config(**kw)
    except (TypeError, ValueError) as exc:
        raise CLIError(flag_message(str(exc))) from exc


def detector_from_args(args: argparse.Namespace, config: Config | None = None
                       ) -> LivenessDetector:
    """The LivenessDetector of the pipeline flags (``--model-dir``: its passive models)."""
    cfg = config if config is not None else config_from_args(args)
    model_dir = getattr(args, "model_dir", None)
    try:
        return build_detector(cfg, model_dir)
    except (OSError, ValueError, TypeError) as exc:
        if not model_dir:
            raise
        raise CLIError(flag_message(str(exc))) from exc


def detector_threshold(det: object) -> float | None:
    """The detector's decision threshold (marked on the overlay's score bars), or None."""
    t = as_float(getattr(det, "threshold", None))
    return t if math.isfinite(t) else None


# -- inputs and outputs --------------------------------------------------------------------------
def open_capture(flag: str, source: str | int, *, open_timeout: float = 5.0,
                 read_timeout: float = 5.0, width: int | None = None,
                 height: int | None = None) -> Capture:
    """fastlive.capture.Capture with its errors naming the CLI flag (PATH, --source)."""
    try:
        return Capture(source, open_timeout=open_timeout, read_timeout=read_timeout, width=width,
                       height=height)
    except (OSError, ValueError, TypeError, CaptureError) as exc:
        raise CLIError(flag_message(str(exc), {"source": flag})) from exc


def output_dir(flag: str, path: str) -> Path:
    """The folder ``path`` (created), or a CLIError naming ``flag``."""
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise CLIError(f"{flag}: {d} exists and is not a folder")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{flag}: cannot create the folder {d} ({exc.strerror or exc})") from exc
    return d


VIDEO_OUT_EXTS = (".mp4", ".m4v", ".mov", ".avi", ".mkv")


def check_video_out(flag: str, path: str) -> None:
    """Refuse an annotated-video path that cannot work, before any frame is scored."""
    p = Path(path)
    if p.is_dir():
        raise CLIError(f"{flag}: {p} is a folder; give a file name such as {p / 'out.mp4'}")
    if p.suffix.lower() not in VIDEO_OUT_EXTS:
        raise CLIError(f"{flag}: {p}: unknown video extension {p.suffix or '(none)'!r}; use "
                       + ", ".join(VIDEO_OUT_EXTS))
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{flag}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"{flag}: the folder {parent} is not writable")


def open_writer(path: str, fps: float, size: tuple[int, int], flag: str = "--output") -> Any:
    """An opened cv2.VideoWriter for the annotated video (Motion JPEG for .avi/.mkv)."""
    import cv2

    check_video_out(flag, path)
    ext = Path(path).suffix.lower()
    fourcc = {".avi": "MJPG", ".mkv": "MJPG"}.get(ext, "mp4v")
    w = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*fourcc), fps if fps > 0 else 30.0, size)
    if not w.isOpened():
        raise CLIError(f"{flag}: OpenCV could not open a {ext} video writer for {path}; try "
                       f"{Path(path).with_suffix('.avi').name} (Motion JPEG)")
    return w
