"""``fastlive video PATH``: score every frame of a video with one session; per-track verdicts."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fastlive.api import LivenessDetector
from fastlive.capture import Capture, CaptureError
from fastlive.cli.common import (
    CLIError,
    Progress,
    Subparsers,
    add_pipeline_flags,
    check_video_out,
    detector_from_args,
    detector_threshold,
    flag_message,
    json_line,
    open_capture,
    open_writer,
    positive_int,
    print_tracks,
    result_dict,
)
from fastlive.evaluate import Row, TrackStats, result_field
from fastlive.overlay import draw_overlay


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("video", parents=parents, help="score a video file",
                       description="Score every frame of a video with one session; ends with a "
                       "per-track verdict (LIVE/SPOOF/UNCERTAIN, blinks seen, mean score).")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--output", metavar="ANNOTATED.mp4", help="write the annotated video")
    p.add_argument("--json", action="store_true",
                   help="JSON lines: one per frame, then {\"summary\": ...}")
    p.add_argument("--max-frames", type=positive_int, help="stop after N frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_pipeline_flags(p)
    p.set_defaults(func=run)


def run_video(det: LivenessDetector, cap: Capture, *, output: str | None = None,
              json_lines: bool = False, max_frames: int | None = None,
              progress: Progress | None = None) -> Row:
    """Score every frame of an opened Capture with one session; return the summary dict
    (frames, skipped frames, frame rates, per-track verdicts)."""
    session = det.new_session()
    writer = None
    tracks: dict[object, TrackStats] = {}
    n = n_tracked = 0
    t_all = t_tracked = t_tracked_iter = 0.0
    t_start = prev_end = time.perf_counter()
    try:
        for frame, t in cap:
            t0 = time.perf_counter()
            res = det.score_frame(frame, session=session, timestamp=t)
            dt = time.perf_counter() - t0
            n += 1
            t_all += dt
            tracked = not result_field(res, "detected", True)
            if tracked:
                n_tracked += 1
                t_tracked += dt
            for face in result_field(res, "faces") or []:
                tracks.setdefault(result_field(face, "track_id"), TrackStats()).add(face, t)
            if output:
                ann = draw_overlay(frame, res, fps=n / t_all if t_all else None,
                                   latency_ms=dt * 1e3, threshold=detector_threshold(det))
                if writer is None:
                    writer = open_writer(output, cap.fps, (frame.shape[1], frame.shape[0]))
                writer.write(ann)
            if json_lines:
                json_line({"t": t, **result_dict(res)})
            if progress is not None:
                progress.update(1, f"{n / t_all:.0f} fps" if t_all else None)
            now = time.perf_counter()
            if tracked:  # decode + score + drawing + progress of a tracked frame
                t_tracked_iter += now - prev_end
            prev_end = now
            if max_frames and n >= max_frames:
                break
        if progress is not None:  # the end of the stream: the bar ends at 100%
            progress.finish()
    finally:
        if progress is not None:
            progress.close()
        cap.close()
        if writer is not None:
            writer.release()
    wall = time.perf_counter() - t_start
    problem = cap.problem() if hasattr(cap, "problem") else None
    return {
        "path": cap.name, "frames": n, "skipped_frames": cap.skipped,
        # frames of the video not delivered (undecodable, gaps in its timeline, or counted by
        # the container but never decoded), the container's count, and the one-line warning
        "missing_frames": getattr(cap, "missing", 0),
        "container_frames": getattr(cap, "frame_count", 0) or None,
        "timestamp_gaps": len(getattr(cap, "gaps", ())), "warning": problem,
        "seconds": wall, "fps_scoring": n / t_all if t_all else None,
        "fps_end_to_end": n / wall if wall else None,
        "tracked_frames": n_tracked,
        "fps_tracked": n_tracked / t_tracked_iter if t_tracked_iter else None,
        "fps_tracked_scoring": n_tracked / t_tracked if t_tracked else None,
        "tracks": [ts.to_dict(tid) for tid, ts in tracks.items()],
        "output": output,
    }


def run(args: argparse.Namespace) -> int:
    if args.output:
        check_video_out("--output", args.output)
    cap = open_capture("PATH", args.path)
    if cap.kind not in ("video", "stream"):
        cap.close()
        raise CLIError(f"PATH: {args.path} is not a video (use 'fastlive image' for images)")
    try:
        det = detector_from_args(args)
    except BaseException:
        cap.close()
        raise
    total = cap.frame_count or None
    if total and args.max_frames:
        total = min(total, args.max_frames)
    bar = Progress(total, Path(args.path).name[:24], enabled=not args.quiet, unit="frame")
    try:
        summary = run_video(det, cap, output=args.output, json_lines=args.json,
                            max_frames=args.max_frames, progress=bar)
    except CaptureError as exc:
        raise CLIError(flag_message(str(exc), {"source": "PATH"})) from exc
    n, wall = summary["frames"], summary["seconds"]
    if n == 0:
        raise CLIError(f"PATH: {args.path}: no decodable frame")
    if summary["warning"]:
        print(f"fastlive: warning: {summary['warning']}", file=sys.stderr)
    if args.json:
        json_line({"summary": summary})
        return 0
    fps_tr = (f", tracked frames {summary['fps_tracked']:.0f} fps incl. decoding"
              if summary["fps_tracked"] else "")
    print(f"{n} frames in {wall:.2f} s ({summary['fps_end_to_end']:.0f} fps end to end, "
          f"scoring {summary['fps_scoring']:.0f} fps{fps_tr})"
          + (f"; {summary['skipped_frames']} undecodable frame(s) skipped"
             if summary["skipped_frames"] else ""))
    print_tracks(summary["tracks"])
    if args.output:
        print(f"annotated video written to {args.output}")
    return 0
