"""Frame sources: camera index, video file, RTSP/HTTP stream, image files or an image folder.

    >>> from fastlive.capture import open_source
    >>> with open_source("clip.mp4") as cap:                  # doctest: +SKIP
    ...     for frame, t_s in cap:
    ...         ...

Every source yields ``(frame, timestamp_s)`` with ``frame`` an HxWx3 uint8 BGR array:

* video files: the timestamp is the frame's position in the video (``CAP_PROP_POS_MSEC``,
  falling back to ``index / fps``), so results do not depend on processing speed;
* cameras and streams: a monotonic clock, seconds since the first frame; frames are read
  by a background thread and always the newest one is handed out (no growing latency);
* images: ``index / image_fps`` (stills have no time of their own).

Nothing blocks forever: opening a camera or stream and waiting for a frame are bounded by
``open_timeout`` / ``read_timeout`` (a missing or busy camera raises :class:`CaptureError`
within a few seconds). Undecodable frames and images are skipped and counted in
``skipped``; a video with only undecodable frames raises :class:`CaptureError`.

Damaged or cut videos: a failed read is retried for as many frames as the container says are
left, so frames after a damaged stretch are still delivered. What could not be delivered is
counted in ``missing`` (at least: failed reads, frames absent from the timeline where the
video position jumps by more than 1.5 frame intervals, listed in ``gaps``, and, once the end
is reached, the container's frame count minus the frames delivered); :meth:`Capture.problem`
says it in one line (None for an intact video).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# FFmpeg prints every decoding hiccup to stderr; keep the CLI readable (read at first use).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm",
                        ".ppm", ".pbm", ".jp2"})
VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg",
                        ".wmv", ".flv", ".3gp", ".ts", ".gif"})
STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
# consecutive failed reads tolerated from a camera/stream before it counts as ended
MAX_CONSECUTIVE_BAD = 50
RETRY_READS = 3
# video files: failed reads retried (frames after a damaged stretch are still decoded) while the
# container says frames are left, at most this many in a row
MAX_VIDEO_RETRIES = 1000
GAP_FRAMES = 1.5  # a video position jump of more than this many frame intervals is a gap
MAX_GAPS = 100  # gaps listed (all are counted in ``missing``)


class CaptureError(RuntimeError):
    """A source could not be opened or stopped delivering frames."""


def _cv2() -> Any:
    import cv2

    return cv2


class _quiet_opencv:
    """Silence OpenCV's own log lines (we raise a clear error instead)."""

    def __enter__(self) -> None:
        cv2 = _cv2()
        self._lvl = None
        try:
            self._lvl = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        except AttributeError:  # pragma: no cover - very old OpenCV
            pass

    def __exit__(self, *exc: object) -> None:
        if self._lvl is not None:
            _cv2().utils.logging.setLogLevel(self._lvl)


def is_image_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode one image file to BGR uint8; raise FileNotFoundError/ValueError with the path."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{p}: is a folder, expected an image file")
    data = np.fromfile(str(p), dtype=np.uint8)  # works for any path encoding
    try:
        img: np.ndarray | None = (_cv2().imdecode(data, _cv2().IMREAD_COLOR) if data.size
                                  else None)
    except _cv2().error as e:  # e.g. a header claiming more than OpenCV's 2^20 rows/columns
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise ValueError(f"{p}: cannot decode as an image (OpenCV refused it: {msg})") from None
    if img is None:
        raise ValueError(f"{p}: cannot decode as an image (corrupt or unsupported format)")
    return img


def parse_source(source: Any) -> int | str | list[str]:
    """Normalize a source: an int camera index, a URL/path string, or a list of image paths."""
    if isinstance(source, bool):
        raise TypeError("source: expected a camera index, a path, a URL or a list of image paths, "
                        "got bool")
    if isinstance(source, (int, np.integer)):
        if source < 0:
            raise ValueError(f"source: camera index must be >= 0, got {source}")
        return int(source)
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, str):
        s = source.strip()
        if not s:
            raise ValueError("source: empty string; pass a camera index (0), a file or a URL")
        if s.isdigit():
            return int(s)
        return s
    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("source: empty list of image paths")
        return [os.fspath(p) for p in source]
    raise TypeError(f"source: expected a camera index, a path, a URL or a list of image paths, "
                    f"got {type(source).__name__}")


class Capture:
    """An opened frame source; iterate it for ``(frame, timestamp_s)``. Use as a context manager.

    Attributes: ``kind`` ("camera", "stream", "video", "images"), ``name``, ``fps`` (0 if
    unknown), ``frame_count`` (0 if unknown; for videos the container's count), ``size``
    ((w, h) or None), ``index`` (frames delivered), ``skipped`` (undecodable frames/images
    skipped), ``current_path`` (images). Videos also: ``missing`` (frames of the video not
    delivered: undecodable, absent from the timeline or, after the end was reached, counted by
    the container but never decoded), ``gaps`` ((from_s, to_s, frames) where the video position
    jumps; the first ``MAX_GAPS``), ``ended`` (the end of the file was reached).
    """

    def __init__(self, source: Any, *, open_timeout: float = 5.0, read_timeout: float = 5.0,
                 image_fps: float = 30.0, width: int | None = None,
                 height: int | None = None) -> None:
        for nm, v in (("open_timeout", open_timeout), ("read_timeout", read_timeout),
                      ("image_fps", image_fps)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ValueError(f"{nm}: expected a positive number of seconds, got {v!r}")
        self.source = parse_source(source)
        self.open_timeout = float(open_timeout)
        self.read_timeout = float(read_timeout)
        self.image_fps = float(image_fps)
        self.index = 0
        self.skipped = 0
        self.fps = 0.0
        self.frame_count = 0
        self.size: tuple[int, int] | None = None
        self.current_path: str | None = None
        self.frame_pos = -1  # videos: index of the last delivered frame in the file
        self.missing = 0
        self.gaps: list[tuple[float, float, int]] = []
        self.ended = False
        self.errors: list[str] = []
        self._cap: Any = None
        self._paths: list[str] = []
        self._reader: _Reader | None = None
        self._closed = False
        src = self.source
        if isinstance(src, int):
            self.kind, self.name = "camera", f"camera {src}"
            self._open_live(src, width, height)
        elif isinstance(src, list):
            self.kind, self.name = "images", f"{len(src)} image(s)"
            self._paths = src
            self.frame_count = len(src)
            self.fps = self.image_fps
        elif src.lower().startswith(STREAM_PREFIXES):
            self.kind, self.name = "stream", src
            self._open_live(src, None, None)
        else:
            p = Path(src)
            if not p.exists():
                raise FileNotFoundError(f"source: {src}: no such file, folder or camera")
            if p.is_dir():
                files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS)
                if not files:
                    raise ValueError(f"source: folder {src} holds no image files "
                                     f"({', '.join(sorted(IMAGE_EXTS))})")
                self.kind, self.name = "images", src
                self._paths = files
                self.frame_count = len(files)
                self.fps = self.image_fps
            elif is_image_path(p):
                self.kind, self.name = "images", src
                self._paths = [src]
                self.frame_count = 1
                self.fps = self.image_fps
            else:
                self.kind, self.name = "video", src
                self._open_video(src)

    # -- opening ------------------------------------------------------------------------------
    def _open_video(self, path: str) -> None:
        cv2 = _cv2()
        with _quiet_opencv():
            cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise CaptureError(f"source: cannot open {path} as a video (not a video file, "
                               "corrupt, or an unsupported codec)")
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 0.0
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(n) if n and np.isfinite(n) and n > 0 else 0
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size = (w, h) if w > 0 and h > 0 else None

    def _open_live(self, src: int | str, width: int | None, height: int | None) -> None:
        cv2 = _cv2()
        result: dict[str, Any] = {}
        ms = int(self.open_timeout * 1000)

        def opener() -> None:
            try:
                with _quiet_opencv():
                    if isinstance(src, int):
                        cap = cv2.VideoCapture(src)
                    else:
                        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000)]
                        cap = cv2.VideoCapture(src, cv2.CAP_FFMPEG, params)
                    if cap.isOpened() and width:
                        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                    if cap.isOpened() and height:
                        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                result["cap"] = cap
            except Exception as exc:  # noqa: BLE001 - reported below
                result["error"] = exc

        th = threading.Thread(target=opener, name="fastlive-open", daemon=True)
        th.start()
        th.join(self.open_timeout)
        what = f"camera {src}" if isinstance(src, int) else f"stream {src}"
        if th.is_alive():
            raise CaptureError(f"source: {what} did not open within {self.open_timeout:g} s "
                               "(busy, unreachable or not responding)")
        cap = result.get("cap")
        if cap is None or not cap.isOpened():
            hint = ("no such camera, or it is in use by another program; list cameras with "
                    "'ls /dev/video*' (Linux)" if isinstance(src, int)
                    else "check the URL, the network and the credentials")
            extra = f" ({result['error']})" if "error" in result else ""
            raise CaptureError(f"source: cannot open {what}{extra}: {hint}")
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 0.0
        self._reader = _Reader(cap, what)
        # the first frame proves the device works (a busy camera opens but never delivers)
        first = self._reader.get(self.open_timeout)
        if first is None:
            err = self._reader.error
            self.close()
            raise CaptureError(
                f"source: {what} opened but delivered no frame within {self.open_timeout:g} s"
                + (f" ({err})" if err else "") + "; it may be in use by another program")
        self._reader.push_back(first)
        h, w = first[0].shape[:2]
        self.size = (w, h)

    # -- iteration ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        if self.kind == "images":
            yield from self._iter_images()
        elif self.kind == "video":
            yield from self._iter_video()
        else:
            yield from self._iter_live()

    def _iter_images(self) -> Iterator[tuple[np.ndarray, float]]:
        for k, path in enumerate(self._paths):
            if self._closed:
                return
            self.current_path = path
            try:
                img = read_image(path)
            except (OSError, ValueError) as exc:
                self.skipped += 1
                self.errors.append(str(exc))
                continue
            self.size = (img.shape[1], img.shape[0])
            self.frame_pos = k
            self.index += 1
            yield img, k / self.image_fps

    def _iter_video(self) -> Iterator[tuple[np.ndarray, float]]:
        cv2 = _cv2()
        cap = self._cap
        last_t = -1.0
        decoded = 0
        gap_frames = 0
        while not self._closed:
            ok, frame = cap.read()
            if not ok or frame is None:
                # FFmpeg conceals damaged frames itself; a failed read is normally the end.
                # Retry while the container says frames are left (a damaged stretch can be
                # followed by good frames): failed reads followed by a good frame are counted
                # as skipped.
                left = self.frame_count - decoded - self.skipped if self.frame_count else 0
                fails = 1
                for _ in range(min(max(RETRY_READS, left), MAX_VIDEO_RETRIES)):
                    ok, frame = cap.read()
                    if ok and frame is not None:
                        break
                    fails += 1
                if not ok or frame is None:
                    self.ended = not self._closed
                    break  # nothing followed: that was the end
                self.skipped += fails
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not np.isfinite(t) or t <= last_t:
                t = (decoded / self.fps) if self.fps else last_t + 1 / 30.0
            elif self.fps and decoded and (t - last_t) * self.fps > GAP_FRAMES:
                n = int(round((t - last_t) * self.fps)) - 1
                if n > 0:
                    gap_frames += n
                    if len(self.gaps) < MAX_GAPS:
                        self.gaps.append((float(last_t), float(t), n))
            self.missing = max(gap_frames, self.skipped)
            last_t = t
            # position in the file's timeline; differs from `decoded` when the file holds
            # empty "repeat the previous frame" chunks (e.g. the ZJU Indeo AVIs)
            self.frame_pos = int(round(t * self.fps)) if self.fps else decoded
            decoded += 1
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            self.index += 1
            yield frame, float(t)
        if self.ended and self.frame_count:
            self.missing = max(self.missing, self.frame_count - decoded)
        if decoded == 0 and not self._closed:
            raise CaptureError(f"source: {self.name}: no decodable frame (corrupt video or "
                               "unsupported codec)")

    def problem(self) -> str | None:
        """One line on what a video lost (frames missing, gaps), or None when nothing is known
        to be missing."""
        if self.kind != "video" or not self.missing:
            return None
        total = max(self.frame_count, self.index + self.missing)
        msg = (f"{self.name}: {self.missing} of {total} frame(s) missing (undecodable or absent; "
               f"{self.index} decoded")
        if self.frame_count:
            msg += f", the container holds {self.frame_count}"
        msg += ")"
        if self.gaps:
            a, b, _ = max(self.gaps, key=lambda g: g[1] - g[0])
            more = len(self.gaps) >= MAX_GAPS
            msg += (f"; {len(self.gaps)}{'+' if more else ''} gap(s) in the video timeline, the "
                    f"longest {b - a:.2f} s (from {a:.2f} s to {b:.2f} s)")
        return msg

    def _iter_live(self) -> Iterator[tuple[np.ndarray, float]]:
        assert self._reader is not None
        t0: float | None = None
        counted = 0  # failed reads of the reader already added to `skipped`
        while not self._closed:
            item = self._reader.get(self.read_timeout)
            failed = self._reader.failed
            self.skipped += failed - counted
            counted = failed
            if item is None:
                if self._reader.error is not None:
                    raise CaptureError(f"source: {self._reader.what} failed mid-stream: "
                                       f"{self._reader.error}")
                if self._reader.finished:
                    return  # stream ended
                raise CaptureError(f"source: {self._reader.what} delivered no frame for "
                                   f"{self.read_timeout:g} s (disconnected?)")
            frame, t_abs = item
            if t0 is None:
                t0 = t_abs
            self.index += 1
            yield frame, t_abs - t0

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.stop()
        elif self._cap is not None:
            self._cap.release()
        self._cap = None

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


class _Reader:
    """Background reader for cameras/streams: keeps only the newest frame."""

    def __init__(self, cap: Any, what: str) -> None:
        self.cap = cap
        self.what = what
        self.q: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=1)
        self.pending: tuple[np.ndarray, float] | None = None
        self.error: str | None = None
        self.finished = False
        self.dropped = 0
        self.failed = 0  # failed reads (skipped frames), all told
        self._stop = threading.Event()
        self._bad = 0
        self.thread = threading.Thread(target=self._run, name="fastlive-capture", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        cv2 = _cv2()
        try:
            while not self._stop.is_set():
                ok, frame = self.cap.read()
                t = time.monotonic()
                if not ok or frame is None:
                    self._bad += 1
                    self.failed += 1
                    if self._bad > MAX_CONSECUTIVE_BAD:
                        break
                    time.sleep(0.01)
                    continue
                self._bad = 0
                if frame.ndim == 2:
                    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                try:
                    self.q.put_nowait((frame, t))
                except queue.Full:
                    try:
                        self.q.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
                    self.q.put_nowait((frame, t))
        except Exception as exc:  # noqa: BLE001 - surfaced via .error
            self.error = str(exc)
        finally:
            self.finished = True
            try:
                self.cap.release()
            except Exception:  # noqa: BLE001
                pass

    def push_back(self, item: tuple[np.ndarray, float]) -> None:
        self.pending = item

    def get(self, timeout: float) -> tuple[np.ndarray, float] | None:
        if self.pending is not None:
            item, self.pending = self.pending, None
            return item
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return self.q.get(timeout=min(left, 0.1))
            except queue.Empty:
                if self.finished and self.q.empty():
                    return None

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2.0)


def open_source(source: Any, **kwargs: Any) -> Capture:
    """Open ``source`` (camera index, path, URL, folder or list of image paths)."""
    return Capture(source, **kwargs)


def iter_frames(source: Any, **kwargs: Any) -> Iterator[tuple[np.ndarray, float]]:
    """Convenience generator: open, yield ``(frame, timestamp_s)``, close."""
    with Capture(source, **kwargs) as cap:
        yield from cap
