"""The ``fastlive`` command line: webcam, image, video, eval, bench, info, models.

Run ``fastlive COMMAND --help`` for the flags of each command. Errors print one line
(``fastlive: error: ...``) and exit with status 1 (2 for bad flags); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class CLIError(Exception):
    """An error with a message meant for the user (printed as one line)."""


# -- progress bar --------------------------------------------------------------------------------
class Progress:
    """A small stderr progress bar (no dependency). Redraws at most every ``interval`` s."""

    def __init__(self, total: int | None, label: str = "", *, stream: TextIO | None = None,
                 enabled: bool = True, interval: float = 0.1, width: int = 28) -> None:
        self.total = total if total and total > 0 else None
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.width = width
        self.n = 0
        self.extra = ""
        self.t0 = time.perf_counter()
        self._last = 0.0
        self._drawn_n = -1

    def update(self, n: int = 1, extra: str | None = None) -> None:
        self.n += n
        if extra is not None:
            self.extra = extra
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.interval
                             or (self.total is not None and self.n >= self.total)):
            self._last = now
            self._draw(now)

    def render(self, now: float | None = None) -> str:
        el = (now or time.perf_counter()) - self.t0
        rate = self.n / el if el > 0 else 0.0
        if self.total:
            frac = min(self.n / self.total, 1.0)
            fill = int(round(self.width * frac))
            eta = (self.total - self.n) / rate if rate > 0 else 0.0
            s = (f"{self.label} [{'#' * fill}{'.' * (self.width - fill)}] {self.n}/{self.total} "
                 f"{frac:4.0%} {rate:6.1f}/s ETA {eta:4.0f}s")
        else:
            s = f"{self.label} {self.n} {rate:6.1f}/s {el:5.1f}s"
        return s + (f" {self.extra}" if self.extra else "")

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.render(now) + "\x1b[K")
        self.stream.flush()
        self._drawn_n = self.n

    def close(self) -> None:
        if self.enabled:
            if self._drawn_n != self.n:
                self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()


# -- helpers -------------------------------------------------------------------------------------
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _result_dict(res: Any) -> dict[str, Any]:
    if hasattr(res, "to_dict"):
        return dict(res.to_dict())
    return dict(res)


def _json_line(obj: Any, out: TextIO | None = None) -> None:
    from fastlive.evaluate import to_jsonable

    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(to_jsonable(obj), allow_nan=False) + "\n")
    stream.flush()


def _have_display() -> bool:
    """True when a window can be opened. On Linux/BSD the X server named by $DISPLAY must
    answer (OpenCV's Qt backend aborts the whole process when it cannot connect)."""
    if not (sys.platform.startswith("linux") or "bsd" in sys.platform):
        return True
    disp = os.environ.get("DISPLAY", "")
    if not disp:
        return False
    import re
    import socket

    m = re.match(r"^(?P<host>[^:]*):(?P<num>\d+)(\.\d+)?$", disp)
    if not m:
        return False
    host, num = m.group("host"), int(m.group("num"))
    try:
        if host in ("", "unix"):
            for addr in (f"\0/tmp/.X11-unix/X{num}", f"/tmp/.X11-unix/X{num}"):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sk:
                    sk.settimeout(0.5)
                    try:
                        sk.connect(addr)
                        return True
                    except OSError:
                        continue
            return False
        with socket.create_connection((host, 6000 + num), timeout=0.5):
            return True
    except OSError:
        return False


def _config(args: argparse.Namespace) -> Any:
    """fastlive.config.Config from the shared pipeline flags (one flag per field used)."""
    from fastlive.config import Config

    kw: dict[str, Any] = {}
    for flag, field in (("operating_point", "operating_point"), ("threshold", "threshold"),
                        ("detector", "detector_backend"), ("threads", "threads"),
                        ("redetect_every", "redetect_every"), ("max_faces", "max_faces"),
                        ("passive_every", "passive_every")):
        v = getattr(args, flag, None)
        if v is not None:
            kw[field] = v
    if getattr(args, "no_landmarks", False):
        kw["landmarks"] = False
    try:
        return Config(**kw)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"bad option: {exc}") from exc


def _detector(args: argparse.Namespace, config: Any = None) -> Any:
    from fastlive.api import LivenessDetector

    cfg = config if config is not None else _config(args)
    kwargs: dict[str, Any] = {}
    if getattr(args, "model_dir", None):
        from fastlive.passive import PassiveScorer

        kwargs["passive"] = PassiveScorer(args.model_dir, threads=cfg.threads)
    return LivenessDetector(cfg, **kwargs)


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _unit_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {s!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {v}")
    return v


def _score_still(det: Any, frame: Any) -> tuple[Any, str]:
    """Score one still image; a tight face crop with no detected face falls back to score_face.
    Returns (FrameResult, method) with method "detect", "crop" or "none"."""
    res = det.score_frame(frame)
    if _get(res, "faces"):
        return res, "detect"
    score_face = getattr(det, "score_face", None)
    if score_face is None:
        from fastlive import api

        return api.score_face(frame), "crop"
    res2 = score_face(frame)
    return res2, ("crop" if _get(res2, "faces") else "none")


def _face_summary(face: Any) -> str:
    cues = _get(face, "cues") or {}
    parts = []
    for k in ("cnn", "texture"):
        v = _get(cues, k)
        if v is not None and math.isfinite(_num(v)):
            parts.append(f"{k} {_num(v):.2f}")
    reason = _get(face, "reason")
    s = f"{_get(face, 'decision')} {_num(_get(face, 'score')):.3f}"
    if parts:
        s += f" ({', '.join(parts)})"
    if reason:
        s += f" [{reason}]"
    return s


# -- info / models ---------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    import platform

    import numpy as np

    import fastlive
    from fastlive import registry

    info: dict[str, Any] = {"fastlive": fastlive.__version__, "python": platform.python_version(),
                            "platform": platform.platform(), "numpy": np.__version__}
    try:
        import cv2

        info["opencv"] = cv2.__version__
    except ImportError as exc:  # pragma: no cover - a dependency
        info["opencv"] = f"unavailable ({exc})"
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError as exc:  # pragma: no cover - a dependency
        info["onnxruntime"] = f"unavailable ({exc})"
    try:
        from fastlive import kernels

        info["simd"] = kernels.simd_info()
    except Exception as exc:  # noqa: BLE001 - report, don't fail
        info["simd"] = f"unavailable ({exc})"
    info["model_dir_env"] = os.environ.get("FASTLIVE_MODEL_DIR")
    info["cache_dir"] = str(registry.cache_dir())
    info["models"] = registry.status()
    try:
        from fastlive.passive import PassiveScorer

        ps = PassiveScorer()
        info["passive_models"] = {"version": ps.version, "thresholds": ps.thresholds}
    except Exception as exc:  # noqa: BLE001
        info["passive_models"] = f"unavailable ({exc})"
    if args.json:
        _json_line(info)
        return 0
    for k in ("fastlive", "python", "platform", "numpy", "opencv", "onnxruntime"):
        print(f"{k:<22}{info.get(k)}")
    print(f"{'onnxruntime providers':<22}{', '.join(info.get('onnxruntime_providers', []))}")
    simd = info["simd"]
    if isinstance(simd, dict):
        print(f"{'SIMD':<22}" + ", ".join(f"{k}={v}" for k, v in simd.items()))
    else:
        print(f"{'SIMD':<22}{simd}")
    pm = info["passive_models"]
    if isinstance(pm, dict):
        th = ", ".join(f"{k} {v:.3f}" for k, v in pm["thresholds"].items())
        print(f"{'passive models':<22}version {pm['version']} (thresholds: {th})")
    else:
        print(f"{'passive models':<22}{pm}")
    print(f"{'FASTLIVE_MODEL_DIR':<22}{info['model_dir_env'] or '(unset)'}")
    print(f"{'model cache':<22}{info['cache_dir']}")
    print("model files:")
    for row in info["models"]:
        state = "ok" if row["ok"] else ("MISSING" if row["path"] is None else "CORRUPT")
        print(f"  {row['name']:<18}{state:<9}{row['path'] or row['file']}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from fastlive import registry

    if args.action == "list":
        rows = registry.status()
        if args.json:
            _json_line({"models": rows})
            return 0
        specs = registry.specs()
        for row in rows:
            s = specs[row["name"]]
            state = "ok" if row["ok"] else ("missing" if row["path"] is None else "CORRUPT")
            origin = "third-party" if s.url else "fastlive"
            print(f"{row['name']:<18}{state:<9}{origin:<12}{row['path'] or s.filename}")
            if s.description:
                print(f"{'':<18}{s.description} ({s.license})")
        return 0
    if args.action == "verify":
        rows = registry.status()
        bad = [r for r in rows if not r["ok"]]
        for r in rows:
            if r["ok"]:
                print(f"OK       {r['name']:<18}{r['path']}")
            elif r["path"] is None:
                print(f"MISSING  {r['name']:<18}{r['file']}")
            else:
                print(f"CORRUPT  {r['name']:<18}{r['error']}")
        if bad:
            raise CLIError(f"{len(bad)} of {len(rows)} model file(s) missing or corrupt; run "
                           "'fastlive models install' (or 'install --from DIR')")
        return 0
    # install
    if args.from_dir:
        try:
            paths = registry.install_from(args.from_dir, args.names or None)
        except registry.ModelNotFoundError as exc:
            raise CLIError(str(exc)) from exc
    else:
        names = args.names or list(registry.THIRD_PARTY)
        paths = [registry.resolve(n, download=True) for n in names]
    for p in paths:
        print(f"installed {p}")
    return 0


# -- image -------------------------------------------------------------------------------------
def cmd_image(args: argparse.Namespace) -> int:
    from fastlive.capture import expand_paths, read_image

    paths = expand_paths(args.paths)
    if not paths:
        raise CLIError("PATH: no image files given")
    det = None  # built at the first readable image (a missing file fails fast)
    out_dir = Path(args.output) if args.output else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in paths:
        try:
            img = read_image(path)
        except (OSError, ValueError) as exc:
            if len(paths) == 1:
                raise CLIError(str(exc)) from exc
            failures += 1
            print(f"fastlive: error: {exc}", file=sys.stderr)
            continue
        if det is None:
            det = _detector(args)
        t0 = time.perf_counter()
        res, method = _score_still(det, img)
        ms = (time.perf_counter() - t0) * 1e3
        faces = list(_get(res, "faces") or [])
        if args.json:
            _json_line({"path": path, "method": method, **_result_dict(res)})
        elif faces:
            extra = f" (+{len(faces) - 1} more)" if len(faces) > 1 else ""
            crop = " [whole image scored as a face crop]" if method == "crop" else ""
            print(f"{path}: {_face_summary(faces[0])}{extra}{crop} {ms:.1f} ms")
        else:
            print(f"{path}: no face found")
        if out_dir is not None:
            import cv2

            from fastlive.overlay import draw_overlay

            dest = out_dir / (Path(path).stem + "_fastlive.png")
            cv2.imwrite(str(dest), draw_overlay(img, res, latency_ms=ms))
    if failures:
        raise CLIError(f"{failures} of {len(paths)} image(s) could not be read")
    return 0


# -- video -------------------------------------------------------------------------------------
class TrackStats:
    def __init__(self) -> None:
        self.frames = 0
        self.scores: list[float] = []
        self.decisions: Counter[str] = Counter()
        self.blinks = 0
        self.first_t: float | None = None
        self.last_t = 0.0

    def add(self, face: Any, t: float) -> None:
        self.frames += 1
        s = _num(_get(face, "score"))
        if math.isfinite(s):
            self.scores.append(s)
        self.decisions[str(_get(face, "decision"))] += 1
        self.blinks = max(self.blinks, int(_get(face, "blink_count", 0) or 0))
        if self.first_t is None:
            self.first_t = t
        self.last_t = t

    def verdict(self) -> str:
        """The most frequent decision over the track (ties: UNCERTAIN)."""
        top = self.decisions.most_common(2)
        if not top or (len(top) == 2 and top[0][1] == top[1][1]):
            return "UNCERTAIN"
        return top[0][0]

    def to_dict(self, tid: Any) -> dict[str, Any]:
        mean = sum(self.scores) / len(self.scores) if self.scores else float("nan")
        return {"track_id": tid, "verdict": self.verdict(), "frames": self.frames,
                "first_s": self.first_t, "last_s": self.last_t, "blinks": self.blinks,
                "mean_score": mean, "decisions": dict(self.decisions)}


def _open_writer(path: str, fps: float, size: tuple[int, int]) -> Any:
    import cv2

    ext = Path(path).suffix.lower()
    fourcc = {".avi": "MJPG", ".mkv": "MJPG"}.get(ext, "mp4v")
    w = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*fourcc), fps if fps > 0 else 30.0, size)
    if not w.isOpened():
        raise CLIError(f"--output: cannot write a video to {path} (use .mp4 or .avi)")
    return w


def run_video(det: Any, cap: Any, *, output: str | None = None, json_lines: bool = False,
              max_frames: int | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Score every frame of an opened Capture with one session; return the summary dict
    (frames, skipped frames, frame rates, per-track verdicts)."""
    from fastlive.overlay import draw_overlay

    session = det.new_session()
    writer = None
    tracks: dict[Any, TrackStats] = {}
    n = n_tracked = 0
    t_all = t_tracked = t_tracked_iter = 0.0
    t_start = prev_end = time.perf_counter()
    tracked = False
    try:
        for frame, t in cap:
            t0 = time.perf_counter()
            res = det.score_frame(frame, session=session, timestamp=t)
            dt = time.perf_counter() - t0
            n += 1
            t_all += dt
            tracked = not _get(res, "detected", True)
            if tracked:
                n_tracked += 1
                t_tracked += dt
            for face in _get(res, "faces") or []:
                tid = _get(face, "track_id")
                tracks.setdefault(tid, TrackStats()).add(face, t)
            if output:
                ann = draw_overlay(frame, res, fps=n / t_all if t_all else None,
                                   latency_ms=dt * 1e3)
                if writer is None:
                    writer = _open_writer(output, cap.fps, (frame.shape[1], frame.shape[0]))
                writer.write(ann)
            if json_lines:
                _json_line({"t": t, **_result_dict(res)})
            if progress is not None:
                progress.update(1, f"{n / t_all:.0f} fps" if t_all else None)
            now = time.perf_counter()
            if tracked:  # decode + score + drawing + progress of a tracked frame
                t_tracked_iter += now - prev_end
            prev_end = now
            if max_frames and n >= max_frames:
                break
    finally:
        if progress is not None:
            progress.close()
        cap.close()
        if writer is not None:
            writer.release()
    wall = time.perf_counter() - t_start
    return {
        "path": cap.name, "frames": n, "skipped_frames": cap.skipped,
        "seconds": wall, "fps_scoring": n / t_all if t_all else None,
        "fps_end_to_end": n / wall if wall else None,
        "tracked_frames": n_tracked,
        "fps_tracked": n_tracked / t_tracked_iter if t_tracked_iter else None,
        "fps_tracked_scoring": n_tracked / t_tracked if t_tracked else None,
        "tracks": [ts.to_dict(tid) for tid, ts in tracks.items()],
        "output": output,
    }


def cmd_video(args: argparse.Namespace) -> int:
    from fastlive.capture import Capture

    cap = Capture(args.path)
    if cap.kind not in ("video", "stream"):
        cap.close()
        raise CLIError(f"PATH: {args.path} is not a video (use 'fastlive image' for images)")
    try:
        det = _detector(args)
    except BaseException:
        cap.close()
        raise
    bar = Progress(cap.frame_count or None, Path(args.path).name[:24], enabled=not args.quiet)
    summary = run_video(det, cap, output=args.output, json_lines=args.json,
                        max_frames=args.max_frames, progress=bar)
    n, wall = summary["frames"], summary["seconds"]
    if n == 0:
        raise CLIError(f"PATH: {args.path}: no decodable frame")
    tracks = summary["tracks"]
    if args.json:
        _json_line({"summary": summary})
        return 0
    fps_tr = (f", tracked frames {summary['fps_tracked']:.0f} fps incl. decoding"
              if summary["fps_tracked"] else "")
    print(f"{n} frames in {wall:.2f} s ({summary['fps_end_to_end']:.0f} fps end to end, "
          f"scoring {summary['fps_scoring']:.0f} fps{fps_tr})"
          + (f"; {summary['skipped_frames']} undecodable frame(s) skipped"
             if summary["skipped_frames"] else ""))
    if not tracks:
        print("no face found in the video")
    for d in summary["tracks"]:
        ms = d["mean_score"]
        print(f"track {d['track_id']}: {d['verdict']} (frames {d['frames']}, "
              f"{d['first_s']:.1f}-{d['last_s']:.1f} s, blinks seen {d['blinks']}, mean score "
              + (f"{ms:.3f})" if math.isfinite(ms) else "n/a)"))
    if args.output:
        print(f"annotated video written to {args.output}")
    return 0


# -- webcam ------------------------------------------------------------------------------------
def cmd_webcam(args: argparse.Namespace) -> int:
    from fastlive.capture import Capture
    from fastlive.overlay import draw_overlay

    display = not args.no_display
    if display and not _have_display():
        display = False
        print("fastlive: no display available; printing JSON lines instead (pass --no-display "
              "to silence this notice)", file=sys.stderr)
    cap = Capture(args.source, open_timeout=args.timeout, read_timeout=args.timeout,
                  width=args.width, height=args.height)
    try:
        det = _detector(args)
    except BaseException:
        cap.close()
        raise
    cv2: Any = None
    win = "fastlive"
    if display:
        import importlib

        cv2 = importlib.import_module("cv2")
        try:
            cv2.namedWindow(win, cv2.WINDOW_AUTOSIZE)
        except cv2.error:
            display = False
            print("fastlive: cannot open a window; printing JSON lines instead",
                  file=sys.stderr)
    session = det.new_session()
    writer = None
    fps = None
    n = snaps = 0
    last = time.perf_counter()
    try:
        for frame, t in cap:
            t0 = time.perf_counter()
            res = det.score_frame(frame, session=session, timestamp=t)
            lat = (time.perf_counter() - t0) * 1e3
            now = time.perf_counter()
            inst = 1.0 / max(now - last, 1e-6)
            last = now
            fps = inst if fps is None else 0.9 * fps + 0.1 * inst
            n += 1
            ann = None
            if display or args.record:
                ann = draw_overlay(frame, res, fps=fps, latency_ms=lat)
            if args.record:
                if writer is None:
                    writer = _open_writer(args.record, cap.fps or 30.0,
                                          (frame.shape[1], frame.shape[0]))
                writer.write(ann)
            if display:
                assert cv2 is not None
                cv2.imshow(win, ann)
                key = cv2.waitKey(1) & 0xFF
                if key in (ord("q"), 27):
                    break
                if key == ord("s"):
                    snaps += 1
                    dest = f"fastlive-snapshot-{time.strftime('%Y%m%d-%H%M%S')}-{snaps}.png"
                    cv2.imwrite(dest, ann)
                    print(f"snapshot saved to {dest}", file=sys.stderr)
                elif key == ord("r"):
                    session = det.new_session()
                    print("session reset", file=sys.stderr)
                if cv2.getWindowProperty(win, cv2.WND_PROP_VISIBLE) < 1:
                    break  # window closed
            else:
                _json_line({"t": t, "fps": fps, "latency_ms": lat, **_result_dict(res)})
            if args.max_frames and n >= args.max_frames:
                break
    except KeyboardInterrupt:
        pass
    finally:
        cap.close()
        if writer is not None:
            writer.release()
        if display and cv2 is not None:
            cv2.destroyAllWindows()
    if cap.skipped:
        print(f"fastlive: {cap.skipped} undecodable frame(s) skipped", file=sys.stderr)
    return 0


# -- eval --------------------------------------------------------------------------------------
def _score_sample(det: Any, sample: dict[str, Any], video_stride: int) -> dict[str, Any]:
    """One scores.csv row for ``sample`` (never raises for unreadable media: error column)."""
    from fastlive.capture import Capture, CaptureError, read_image

    row = {k: sample[k] for k in ("path", "label", "attack_type", "source", "media")}
    row["abs_path"] = sample["abs_path"]
    row.update(score=float("nan"), decision="", cnn=None, texture=None, passive=None,
               n_faces=0, method="none", frames=None, error="")
    try:
        if sample["media"] == "video":
            session = det.new_session()
            stats: dict[Any, TrackStats] = {}
            n = 0
            cues_acc: dict[str, list[float]] = {"cnn": [], "texture": [], "passive": []}
            with Capture(sample["abs_path"]) as cap:
                for k, (frame, t) in enumerate(cap):
                    if k % video_stride:
                        continue
                    res = det.score_frame(frame, session=session, timestamp=t)
                    n += 1
                    faces = _get(res, "faces") or []
                    if faces:
                        f0 = faces[0]
                        stats.setdefault(_get(f0, "track_id"), TrackStats()).add(f0, t)
                        for c in cues_acc:
                            v = _num(_get(_get(f0, "cues") or {}, c))
                            if math.isfinite(v):
                                cues_acc[c].append(v)
            row["frames"] = n
            if stats:
                best = max(stats.values(), key=lambda s: s.frames)
                if best.scores:
                    row["score"] = sum(best.scores) / len(best.scores)
                row["decision"] = best.verdict()
                row["n_faces"] = len(stats)
                row["method"] = "video"
                for c, vals in cues_acc.items():
                    row[c] = sum(vals) / len(vals) if vals else None
        else:
            img = read_image(sample["abs_path"])
            res, method = _score_still(det, img)
            faces = _get(res, "faces") or []
            row["method"] = method
            row["n_faces"] = len(faces) if method == "detect" else 0
            if faces:
                f0 = faces[0]
                row["score"] = _num(_get(f0, "score"))
                row["decision"] = str(_get(f0, "decision"))
                cues = _get(f0, "cues") or {}
                for c in ("cnn", "texture", "passive"):
                    v = _num(_get(cues, c))
                    row[c] = v if math.isfinite(v) else None
    except (OSError, ValueError, CaptureError) as exc:
        row["error"] = str(exc).replace("\n", " ")
    return row


_WORKER: dict[str, Any] = {}


def _worker_init(args_dict: dict[str, Any]) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER["args"] = argparse.Namespace(**args_dict)
    _WORKER["det"] = _detector(_WORKER["args"])


def _worker_score(sample: dict[str, Any]) -> dict[str, Any]:
    return _score_sample(_WORKER["det"], sample, _WORKER["args"].video_stride)


def cmd_eval(args: argparse.Namespace) -> int:
    import fastlive
    from fastlive.evaluate import load_samples, pad_metrics
    from fastlive.report import write_report

    sources = [s for s in (args.source or "").split(",") if s] or None
    samples = load_samples(args.data, limit=args.limit, sources=sources)
    missing = [s for s in samples if not os.path.exists(s["abs_path"])]
    if missing:
        raise CLIError(f"DATA: {len(missing)} listed file(s) do not exist, e.g. "
                       f"{missing[0]['abs_path']}")
    config = _config(args)
    det = _detector(args, config)  # also checks the models before any worker starts
    t0 = time.perf_counter()
    bar = Progress(len(samples), "eval", enabled=not args.quiet)
    rows: list[dict[str, Any]] = []
    workers = min(args.workers, len(samples))
    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent already holds onnxruntime/OpenCV state and threads
        ctx = mp.get_context("spawn")
        wargs = {k: v for k, v in vars(args).items() if k != "func"}
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(wargs,)) as ex:
            for row in ex.map(_worker_score, samples, chunksize=4):
                rows.append(row)
                bar.update(1)
    else:
        for s in samples:
            rows.append(_score_sample(det, s, args.video_stride))
            bar.update(1)
    bar.close()
    seconds = time.perf_counter() - t0

    if args.threshold is not None:
        threshold, thr_src = args.threshold, "given (--threshold)"
    elif math.isfinite(_num(getattr(det, "threshold", None))):
        threshold = float(det.threshold)
        thr_src = f"detector operating point {config.operating_point!r}"
    else:
        threshold, thr_src = None, "eer"
    m = pad_metrics([r["score"] for r in rows], [1 if r["label"] == "live" else 0 for r in rows],
                    attack_types=[r["attack_type"] for r in rows],
                    sources=[r["source"] for r in rows], threshold=threshold)
    if threshold is not None:
        m["threshold_source"] = thr_src
        for sub in m.get("per_source", {}).values():
            sub["threshold_source"] = thr_src
    blink = None
    if args.blink:
        blink = _blink_eval(args, config)
    try:
        from fastlive.passive import PassiveScorer

        model_version = PassiveScorer().version
    except Exception:  # noqa: BLE001 - the report says "unavailable"
        model_version = "unavailable"
    meta = {"data": str(args.data), "command": "fastlive " + shlex.join(sys.argv[1:]),
            "fastlive_version": fastlive.__version__, "model_version": model_version,
            "n_entries": len(rows), "seconds": seconds, "workers": workers,
            "errors": sum(1 for r in rows if r["error"]), "config": config.to_dict()}
    paths = write_report(args.out, rows, m, meta, thumbnails=args.thumbnails, blink=blink)
    if args.json:
        from fastlive.evaluate import to_jsonable

        _json_line(to_jsonable({"metrics": m, "blink": blink, "report": {k: str(v) for k, v
                                                                           in paths.items()}}))
        return 0
    from fastlive.report import markdown_table, threshold_line

    print(f"{len(rows)} samples scored in {seconds:.1f} s ({workers} worker(s)); "
          f"{meta['errors']} unreadable, {m['n_fta']} without a face (FTA)")
    print(threshold_line(m))
    print(markdown_table(m))
    if blink is not None:
        print(f"blinks: {blink['clips']} clips, precision {blink['precision']:.3f} recall "
              f"{blink['recall']:.3f} F1 {blink['f1']:.3f}")
    print(f"report written to {paths['html'].parent}/ (index.html, scores.csv, metrics.json, "
          "report.md, det.png, roc.png)")
    return 0


def _blink_eval(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    from fastlive import blinks

    data = Path(args.blink_data) if args.blink_data else Path(args.data)
    if data.is_file():
        data = data.parent
    try:
        r = blinks.evaluate(data, config)
    except FileNotFoundError as exc:
        raise CLIError(f"--blink: {exc} (pass --blink-data DIR with the ZJU clips)") from exc
    tp, fp, fn = r["tp"], r["fp"], r["fn"]
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    return {"data": str(data), "clips": r["clips"], "tp": tp, "fp": fp, "fn": fn,
            "precision": r["precision"], "recall": r["recall"], "f1": f1,
            "per_clip": [{k: v for k, v in c.items() if not k.startswith("unmatched")}
                         for c in r.get("per_clip", [])]}


# -- bench -------------------------------------------------------------------------------------
def _stats(vals: Sequence[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(vals, np.float64)
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)),
            "mean": float(a.mean()), "n": int(a.size)}


def _bench_frames(args: argparse.Namespace) -> Iterable[Any]:
    from fastlive.capture import Capture, is_image_path, read_image

    if not args.inputs:
        return []
    frames = []
    for p in args.inputs:
        if is_image_path(p):
            frames.append(read_image(p))
        else:
            with Capture(p) as cap:
                for k, (f, _t) in enumerate(cap):
                    frames.append(f)
                    if k + 1 >= args.frames:
                        break
    return frames


def cmd_bench(args: argparse.Namespace) -> int:
    import numpy as np

    frames = list(_bench_frames(args))
    synthetic = not frames
    if synthetic:
        rng = np.random.default_rng(0)
        frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)]
    results: dict[str, dict[str, float]] = {}

    # stage micro-benchmarks that do not need a face
    from fastlive import kernels
    from fastlive.detect import Face, FaceDetector

    det = FaceDetector(args.detector or "auto")
    per: dict[str, list[float]] = {}

    def timeit(name: str, fn: Any, reps: int) -> None:
        fn()  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            per.setdefault(name, []).append((time.perf_counter() - t0) * 1e3)

    f0 = frames[0]
    reps = args.frames
    timeit("detect (full frame)", lambda: det.detect(f0), reps)
    faces = det.detect(f0)
    h, w = f0.shape[:2]
    face = faces[0] if faces else Face((w * 0.3, h * 0.2, w * 0.4, h * 0.6), 1.0, None,
                                        "synthetic")
    try:
        from fastlive.passive import PassiveScorer

        ps = PassiveScorer(threads=args.threads or 1)
        out: dict[str, list[float]] = {}

        def run_passive() -> None:
            r = ps.score(f0, [face])[0]
            for k, v in r["timings"].items():
                out.setdefault(k, []).append(v)

        timeit("passive (all)", run_passive, reps)
        for k, v in out.items():
            per[f"  passive: {k}"] = v[1:]
    except Exception as exc:  # noqa: BLE001 - report it, keep benchmarking
        print(f"fastlive: passive models unavailable ({exc})", file=sys.stderr)
    gray = np.ascontiguousarray(f0[:, :, 1])
    timeit("kernel: lbp_histogram 640x480", lambda: kernels.lbp_histogram(gray, (4, 4)), reps)

    # full pipeline over the frames (a session, as for a video)
    try:
        ld = _detector(args)
        session = ld.new_session()
        stage: dict[str, list[float]] = {}
        totals, tracked = [], []
        n_iter = max(reps, len(frames))
        for i in range(n_iter):
            fr = frames[i % len(frames)]
            t0 = time.perf_counter()
            res = ld.score_frame(fr, session=session, timestamp=i / 30.0)
            dt = (time.perf_counter() - t0) * 1e3
            totals.append(dt)
            if not _get(res, "detected", True):
                tracked.append(dt)
            for sk, sv in (_get(res, "timings") or {}).items():
                stage.setdefault(sk, []).append(float(sv))
        per["pipeline: score_frame"] = totals
        if tracked:
            per["pipeline: tracked frames"] = tracked
        for sk, sv in stage.items():
            per[f"  stage: {sk}"] = sv
    except Exception as exc:  # noqa: BLE001
        print(f"fastlive: full pipeline unavailable ({exc})", file=sys.stderr)
    for k, v in per.items():
        if v:
            results[k] = _stats(v)
    src = "synthetic 640x480 noise frame" if synthetic else f"{len(frames)} frame(s)"
    if args.json:
        _json_line({"frames": src, "stages_ms": results})
        return 0
    print(f"per-stage latency on {src}, {reps} repetitions, single thread "
          f"(onnxruntime threads={args.threads or 1}):")
    print(f"{'stage':<36}{'median ms':>10}{'p90 ms':>10}{'n':>6}")
    for k, s in results.items():
        print(f"{k:<36}{s['median']:>10.2f}{s['p90']:>10.2f}{s['n']:>6}")
    if synthetic:
        print("(no face in a synthetic frame: the passive stage used a fixed box; pass a real "
              "image or video with --input for a representative pipeline timing)")
    return 0


# -- parser --------------------------------------------------------------------------------------
def _add_pipeline_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pipeline (fastlive.Config fields)")
    g.add_argument("--operating-point", choices=("convenience", "balanced", "secure"),
                   help="named decision threshold of the passive model (default balanced)")
    g.add_argument("--threshold", type=_unit_float, help="explicit decision threshold on the score")
    g.add_argument("--detector", choices=("auto", "yunet", "haar"), help="face detector backend")
    g.add_argument("--threads", type=_positive_int, help="onnxruntime threads per model (1)")
    g.add_argument("--redetect-every", type=_positive_int,
                   help="full face detection every N frames of a stream (default 10)")
    g.add_argument("--max-faces", type=_positive_int, help="faces scored per frame (default 4)")
    g.add_argument("--passive-every", type=_positive_int,
                   help="run the passive models every k-th frame of a track (default 3)")
    g.add_argument("--no-landmarks", action="store_true",
                   help="skip eye landmarks (no EAR / blinks)")
    g.add_argument("--model-dir", help="folder with fastlive's own models (manifest.json)")


def build_parser() -> argparse.ArgumentParser:
    import fastlive

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    ap = argparse.ArgumentParser(
        prog="fastlive", description="Fast face liveness detection (presentation-attack "
        "detection): live face vs printed photo / screen replay / mask.",
        epilog="Run 'fastlive COMMAND --help' for each command's options.")
    ap.add_argument("--version", action="version", version=f"fastlive {fastlive.__version__}")
    ap.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("webcam", parents=[common], help="live camera (or file/stream) with overlay",
                       description="Score every frame of a camera, file or stream and show it "
                       "with the overlay. Keys: q quit, s snapshot, r reset the session.")
    p.add_argument("--source", default="0", help="camera index, video file or URL (default 0)")
    p.add_argument("--no-display", action="store_true",
                   help="print JSON lines instead of showing a window (automatic without a "
                   "display)")
    p.add_argument("--record", metavar="OUT.mp4", help="write the annotated video")
    p.add_argument("--width", type=_positive_int, help="requested camera width")
    p.add_argument("--height", type=_positive_int, help="requested camera height")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="seconds to wait for the camera to open / deliver a frame (5)")
    p.add_argument("--max-frames", type=_positive_int, help="stop after N frames")
    _add_pipeline_flags(p)
    p.set_defaults(func=cmd_webcam)

    p = sub.add_parser("image", parents=[common], help="score image files",
                       description="Score image files (folders are expanded). Tight face crops "
                       "where no face is detected are scored as a whole face.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--output", metavar="DIR", help="write annotated images to DIR")
    _add_pipeline_flags(p)
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("video", parents=[common], help="score a video file",
                       description="Score every frame of a video with one session; ends with a "
                       "per-track verdict (LIVE/SPOOF/UNCERTAIN, blinks seen, mean score).")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--output", metavar="ANNOTATED.mp4", help="write the annotated video")
    p.add_argument("--json", action="store_true",
                   help="JSON lines: one per frame, then {\"summary\": ...}")
    p.add_argument("--max-frames", type=_positive_int, help="stop after N frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_pipeline_flags(p)
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("eval", parents=[common], help="evaluate on a labelled data set",
                       description="Score a manifest CSV (path,label,attack_type,source,media) "
                       "or a folder with live/ and spoof/<attack>/ and write a report folder "
                       "(scores.csv, metrics.json, report.md, det.png, roc.png, index.html).")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--out", default="fastlive-report", help="report folder (fastlive-report)")
    p.add_argument("--limit", type=_positive_int,
                   help="score only N samples spread evenly over the list")
    p.add_argument("--source", help="comma-separated sources to keep")
    p.add_argument("--workers", type=_positive_int, default=min(2, os.cpu_count() or 1),
                   help="worker processes (default: min(2, CPUs))")
    p.add_argument("--video-stride", type=_positive_int, default=1,
                   help="score every k-th frame of videos (1)")
    p.add_argument("--thumbnails", type=int, default=12,
                   help="worst-scored samples shown per class in index.html (12; 0 = none)")
    p.add_argument("--blink", action="store_true",
                   help="also evaluate blink detection against the ZJU .tag annotations")
    p.add_argument("--blink-data", metavar="DIR",
                   help="folder with the ZJU clips (default: DATA's folder)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_pipeline_flags(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", parents=[common], help="per-stage latency on this machine",
                       description="Quick per-stage latency breakdown (synthetic frame, or the "
                       "images/videos given with --input).")
    p.add_argument("--input", dest="inputs", action="append", metavar="PATH",
                   help="image or video to use (repeatable)")
    p.add_argument("--frames", type=_positive_int, default=50,
                   help="repetitions / video frames (50)")
    p.add_argument("--json", action="store_true")
    _add_pipeline_flags(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("info", parents=[common], help="versions, SIMD paths, providers, models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("models", parents=[common], help="list | verify | install model files")
    p.add_argument("action", choices=("list", "verify", "install"))
    p.add_argument("names", nargs="*", help="model names (default: all)")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="install: copy verified files from DIR instead of downloading")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)
    return ap


def _describe(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (CLIError, FileNotFoundError, ValueError, TypeError, OSError)):
        return msg
    return f"{type(exc).__name__}: {msg}"


def _format_warning(message: Any, category: Any, filename: str, lineno: int,
                    line: str | None = None) -> str:
    return f"fastlive: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if not debug:
        import warnings

        warnings.formatwarning = _format_warning
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("fastlive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fastlive video x.mp4 --json | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place errors become messages
        if debug:
            raise
        print(f"fastlive: error: {_describe(exc)} (--debug shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
