"""``fastlive webcam``: a camera, file or stream scored frame by frame, shown with the overlay
(or printed as JSON lines without a display)."""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import ModuleType

from fastlive.capture import CaptureError
from fastlive.cli.common import (
    CLIError,
    Subparsers,
    add_pipeline_flags,
    check_video_out,
    detector_from_args,
    detector_threshold,
    flag_message,
    json_line,
    open_capture,
    open_writer,
    positive_float,
    positive_int,
    print_tracks,
    result_dict,
)
from fastlive.evaluate import TrackStats, result_field
from fastlive.overlay import draw_overlay

WINDOW = "fastlive"


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("webcam", parents=parents, help="live camera (or file/stream) with overlay",
                       description="Score every frame of a camera, file or stream and show it "
                       "with the overlay. Keys: q quit, s snapshot, r reset the session.")
    p.add_argument("--source", default="0", help="camera index, video file or URL (default 0)")
    p.add_argument("--no-display", action="store_true",
                   help="print JSON lines instead of showing a window (automatic without a "
                   "display)")
    p.add_argument("--record", metavar="OUT.mp4", help="write the annotated video")
    p.add_argument("--width", type=positive_int, help="requested camera width")
    p.add_argument("--height", type=positive_int, help="requested camera height")
    p.add_argument("--timeout", type=positive_float, default=5.0,
                   help="seconds to wait for the camera to open / deliver a frame (5)")
    p.add_argument("--max-frames", type=positive_int, help="stop after N frames")
    p.add_argument("--fast", action="store_true",
                   help="with a video file: score frames as fast as possible instead of at the "
                   "file's own frame rate")
    add_pipeline_flags(p)
    p.set_defaults(func=run)


class Pacer:
    """Plays timestamps in real time: ``wait(t)`` sleeps until ``t`` seconds after the first
    call (never sleeps when processing runs behind)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self.t0: float | None = None
        self.slept = 0.0

    def wait(self, t: float) -> None:
        now = self.clock()
        if self.t0 is None:
            self.t0 = now - t
            return
        d = self.t0 + t - now
        if d > 0:
            self.sleep(d)
            self.slept += d


# -- the display ---------------------------------------------------------------------------------
def have_display() -> bool:
    """True when a window can be opened. On Linux/BSD the X server named by $DISPLAY must
    answer (OpenCV's Qt backend aborts the whole process when it cannot connect)."""
    if not (sys.platform.startswith("linux") or "bsd" in sys.platform):
        return True
    disp = os.environ.get("DISPLAY", "")
    if not disp:
        return False
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


def screen_size() -> tuple[int, int] | None:
    """The screen's size in pixels (X11 / macOS / Windows through Tk, else xrandr), or None."""
    try:
        import tkinter  # optional in some Python builds: imported only to measure the screen

        root = tkinter.Tk()
        try:
            root.withdraw()
            w, h = int(root.winfo_screenwidth()), int(root.winfo_screenheight())
        finally:
            root.destroy()
        if w > 0 and h > 0:
            return w, h
    except Exception:  # noqa: BLE001 - no Tk, or it cannot reach the display
        pass
    try:
        out = subprocess.run(["xrandr", "--current"], capture_output=True, text=True,
                             timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"current (\d+) x (\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def window_fit(screen: tuple[int, int] | None) -> tuple[int, int]:
    """The largest image (w, h) the window may show: 90% of the screen's width and 85% of its
    height (title bar, panels), or 1280x720 when the screen's size is unknown."""
    if screen is None:
        return 1280, 720
    return max(160, int(screen[0] * 0.9)), max(120, int(screen[1] * 0.85))


def _open_window() -> tuple[ModuleType, tuple[int, int]] | None:
    """(cv2, the image size the window fits) once a window is open, else None (a notice
    says JSON lines are printed instead)."""
    import cv2

    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
        return cv2, window_fit(screen_size())
    except cv2.error:
        print("fastlive: cannot open a window; printing JSON lines instead", file=sys.stderr)
        return None


# -- the loop ------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    display = not args.no_display
    if display and not have_display():
        display = False
        print("fastlive: no display available; printing JSON lines instead (pass --no-display "
              "to silence this notice)", file=sys.stderr)
    if args.record:
        check_video_out("--record", args.record)
    cap = open_capture("--source", args.source, open_timeout=args.timeout,
                       read_timeout=args.timeout, width=args.width, height=args.height)
    try:
        det = detector_from_args(args)
    except BaseException:
        cap.close()
        raise
    window = _open_window() if display else None
    display = window is not None
    # a file plays at its own frame rate (as a camera would deliver it) unless --fast
    pacer = Pacer() if cap.kind == "video" and not args.fast else None
    thr = detector_threshold(det)
    session = det.new_session()
    tracks: dict[object, TrackStats] = {}
    writer = None
    fps = None
    n = snaps = 0
    t_start = last = time.perf_counter()
    stopped = "end of the source"
    try:
        for frame, t in cap:
            if pacer is not None:
                pacer.wait(t)
            t0 = time.perf_counter()
            res = det.score_frame(frame, session=session, timestamp=t)
            lat = (time.perf_counter() - t0) * 1e3
            now = time.perf_counter()
            inst = 1.0 / max(now - last, 1e-6)
            last = now
            fps = inst if fps is None else 0.9 * fps + 0.1 * inst
            n += 1
            for face in result_field(res, "faces") or []:
                tracks.setdefault(result_field(face, "track_id"), TrackStats()).add(face, t)
            if args.record:
                if writer is None:
                    writer = open_writer(args.record, cap.fps or 30.0,
                                         (frame.shape[1], frame.shape[0]), "--record")
                writer.write(draw_overlay(frame, res, fps=fps, latency_ms=lat, threshold=thr))
            if window is not None:
                cv2, fit = window
                cv2.imshow(WINDOW, draw_overlay(frame, res, fps=fps, latency_ms=lat, fit=fit,
                                                threshold=thr))
                key = cv2.waitKey(1) & 0xFF
                if key in (ord("q"), 27):
                    stopped = "quit"
                    break
                if key == ord("s"):
                    snaps += 1
                    dest = f"fastlive-snapshot-{time.strftime('%Y%m%d-%H%M%S')}-{snaps}.png"
                    cv2.imwrite(dest, draw_overlay(frame, res, fps=fps, latency_ms=lat,
                                                   threshold=thr))
                    print(f"snapshot saved to {dest}", file=sys.stderr)
                elif key == ord("r"):
                    session = det.new_session()
                    tracks.clear()
                    print("session reset", file=sys.stderr)
                if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                    stopped = "window closed"
                    break
            else:
                json_line({"t": t, "fps": fps, "latency_ms": lat, **result_dict(res)})
            if args.max_frames and n >= args.max_frames:
                stopped = "--max-frames"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    except CaptureError as exc:
        raise CLIError(flag_message(str(exc), {"source": "--source"})) from exc
    finally:
        cap.close()
        if writer is not None:
            writer.release()
        if window is not None:
            window[0].destroyAllWindows()
    wall = time.perf_counter() - t_start
    summary = {"source": cap.name, "kind": cap.kind, "frames": n, "seconds": wall,
               "fps": n / wall if wall > 0 else None, "realtime": pacer is not None,
               "skipped_frames": cap.skipped, "stopped": stopped,
               "tracks": [ts.to_dict(tid) for tid, ts in tracks.items()],
               "record": args.record}
    if not display:
        json_line({"summary": summary})
    else:
        print(f"{n} frames in {wall:.1f} s ({summary['fps'] or 0:.1f} fps"
              + (", at the file's frame rate" if pacer is not None else "") + f"); {stopped}"
              + (f"; {cap.skipped} undecodable frame(s) skipped" if cap.skipped else ""))
        print_tracks(summary["tracks"], "stream")
        if args.record:
            print(f"annotated video written to {args.record}")
    if cap.skipped and not display:
        print(f"fastlive: {cap.skipped} undecodable frame(s) skipped", file=sys.stderr)
    return 0
