"""Load benchmark of ``fastlive serve`` on loopback: N concurrent WebSocket sessions stream
640x480 JPEG frames of a real clip at a fixed rate to a server in another process; reports
per-frame latency (frame sent -> its guidance received) p50/p95/p99, frames/s answered, and
sessions/s (a session ends with its verdict; the client then opens the next one).

Bounded in count and time, loopback only:

    nice python benchmarks/serve_load.py ../shared/data --sessions 8 --fps 15 --seconds 20 \\
        --workers 1
    nice python benchmarks/serve_load.py ../shared/data --sessions 8 --fps 15 --seconds 20 \\
        --workers 2

The client behaves like the browser client: at most 2 frames in flight per session (a frame
due while 2 are unanswered is skipped and counted). Challenges are off (``--no-challenges``):
a clip cannot follow prompts; each session runs to the passive stream decision. The clip is
the self-recorded wolfhuo live video (portrait) scaled to 640 px wide and cut to 640x480 around
the face (a landscape camera's view, a face of about 250 px), encoded once (quality 85) before
the run, so the client's own CPU use stays small.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

CLIP = "selfrecorded/wolfhuo/live/video/eff17845a21796d55db31abd0579ac76.mp4"


def load_frames(data_dir: Path, size: tuple[int, int] = (640, 480)) -> list[bytes]:
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(str(data_dir / CLIP))
    out = []
    top = None
    while True:
        ok, f = cap.read()
        if not ok:
            break
        h, w = f.shape[:2]
        # the portrait frame at the full width, cut to 4:3 around the face (a landscape camera's
        # view)
        nh = int(round(h * size[0] / w))
        f = cv2.resize(f, (size[0], nh), interpolation=cv2.INTER_AREA)
        if top is None:
            from fastlive.detect import FaceDetector

            faces = FaceDetector().detect(f)
            cy = faces[0].box[1] + faces[0].box[3] / 2 if faces else nh / 2
            top = int(min(max(cy - size[1] / 2, 0), nh - size[1]))
        f = np.ascontiguousarray(f[top:top + size[1]])
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 85])
        out.append(buf.tobytes())
    if not out:
        raise SystemExit(f"no frames in {data_dir / CLIP}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int, secret_file: Path, extra: list[str]) -> Any:
    cmd = [sys.executable, "-m", "fastlive.serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--secret-file", str(secret_file), "--no-challenges",
           "--log-level", "warning", "--max-sessions-per-client", "64", *extra]
    log = secret_file.with_name("server.log")
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if json.loads(r.read())["status"] in ("ok", "degraded"):
                    break
        except OSError:
            time.sleep(0.2)
    else:
        stop_server(proc)
        raise RuntimeError(f"server did not start in 60 s: {log.read_text()[-2000:]}")
    if workers > 1:
        time.sleep(3.0)  # let every worker load its models
    return proc


def tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc)."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        procs: dict[int, tuple[int, float]] = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            procs[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    except (OSError, ValueError):
        return None
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in procs:
            total += procs[p][1]
        todo.extend(c for c, (ppid, _) in procs.items() if ppid == p)
    return total


def stop_server(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


async def one_session(url: str, frames: list[bytes], fps: float, t_end: float,
                      stats: dict[str, Any]) -> None:
    import websockets

    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        sent: dict[float, float] = {}
        done = asyncio.Event()
        cancelled = []

        async def reader() -> None:
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "guidance":
                    t_sent = sent.pop(m["t"], None)
                    if t_sent is not None:
                        stats["lat"].append(time.perf_counter() - t_sent)
                elif m["type"] == "verdict":
                    stats["tokens"].append(m["token"])
                    if not cancelled:
                        stats["verdicts"][m["decision"]] += 1
                        stats["sessions"] += 1
                    done.set()
                    return
                elif m["type"] == "error":
                    stats["errors"][m["reason"]] += 1
                    done.set()
                    return

        rt = asyncio.create_task(reader())
        t0 = time.monotonic()
        i = 0
        while not done.is_set() and time.monotonic() < t_end:
            wait = t0 + i / fps - time.monotonic()
            if wait > 0:
                try:
                    await asyncio.wait_for(done.wait(), wait)
                    break
                except asyncio.TimeoutError:
                    pass
            ts = 1000.0 * i / fps
            if len(sent) >= 2:
                stats["skipped"] += 1
            else:
                sent[ts] = time.perf_counter()
                stats["frames"] += 1
                # the clip's frame at this time (the clip is ~30 fps), looping
                try:
                    await ws.send(struct.pack("<d", ts) + frames[int(i * 30 / fps) % len(frames)])
                except websockets.ConnectionClosed:  # the verdict came first
                    break
            i += 1
        if not done.is_set():  # the run's end: cancel (the server answers with a verdict)
            cancelled.append(True)
            try:
                await ws.send(json.dumps({"type": "cancel"}))
                await asyncio.wait_for(rt, 5)
            except Exception:  # noqa: BLE001
                pass
            stats["sessions_cut"] += 1
        rt.cancel()


async def session_loop(url: str, frames: list[bytes], fps: float, t_end: float,
                       stats: dict[str, Any]) -> None:
    """One client: a session after the other until the run's end."""
    while time.monotonic() < t_end:
        await one_session(url, frames, fps, t_end, stats)


async def run_load(port: int, frames: list[bytes], sessions: int, fps: float,
                   seconds: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"lat": [], "frames": 0, "skipped": 0, "sessions": 0,
                             "sessions_cut": 0, "verdicts": Counter(), "errors": Counter(),
                             "tokens": []}
    url = f"ws://127.0.0.1:{port}/v1/session"
    t0 = time.monotonic()
    t_end = t0 + seconds
    await asyncio.gather(*(session_loop(url, frames, fps, t_end, stats)
                           for _ in range(sessions)))
    wall = time.monotonic() - t0
    lat = sorted(stats["lat"])

    def q(p: float) -> float:
        return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")

    return {
        "sessions_concurrent": sessions, "fps_per_session": fps, "wall_s": round(wall, 1),
        "frames_answered": len(lat), "frames_per_s": round(len(lat) / wall, 1),
        "frames_skipped": stats["skipped"],
        "latency_ms_p50": round(q(0.50), 1), "latency_ms_p95": round(q(0.95), 1),
        "latency_ms_p99": round(q(0.99), 1),
        "latency_ms_mean": round(1000 * statistics.fmean(lat), 1) if lat else None,
        "sessions_completed": stats["sessions"], "sessions_cut_at_end": stats["sessions_cut"],
        "sessions_per_s": round(stats["sessions"] / wall, 2),
        "verdicts": dict(stats["verdicts"]), "errors": dict(stats["errors"]),
        "tokens": stats["tokens"],
    }


def measure(data_dir: Path, *, sessions: int = 8, fps: float = 15.0, seconds: float = 20.0,
            workers: int = 1, secret_file: Path) -> dict[str, Any]:
    """One bounded run: start the server (``python -m fastlive.serve``), load it, stop it."""
    if not (1 <= sessions <= 64 and 0 < fps <= 30 and 0 < seconds <= 120 and workers <= 8):
        raise ValueError("bounded runs only: 1-64 sessions, fps <= 30, seconds <= 120, "
                         "workers <= 8")
    frames = load_frames(data_dir)
    port = free_port()
    proc = start_server(port, workers, secret_file, [])
    try:
        cpu0, client0 = tree_cpu_s(proc.pid), time.process_time()
        res = asyncio.run(run_load(port, frames, sessions, fps, seconds))
        cpu1, client1 = tree_cpu_s(proc.pid), time.process_time()
    finally:
        stop_server(proc)
    from fastlive.serve import verify_token

    secret = secret_file.read_text(encoding="utf-8").strip()
    # why the sessions ended (every token, cut sessions included)
    res["reasons"] = dict(Counter(verify_token(t, secret).reason for t in res["tokens"]))
    n = max(1, res["frames_answered"])
    # server CPU per answered frame (all its processes): what a quiet machine's cores must give
    res["server_cpu_ms_per_frame"] = (round(1000 * (cpu1 - cpu0) / n, 1)
                                      if cpu0 is not None and cpu1 is not None else None)
    res["client_cpu_ms_per_frame"] = round(1000 * (client1 - client0) / n, 1)
    res["workers"] = workers
    res["cpus"] = os.cpu_count()
    res["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path, help="../shared/data")
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        secret = Path(d) / "secret"
        secret.write_text(os.urandom(24).hex())
        res = measure(args.data_dir, sessions=args.sessions, fps=args.fps,
                      seconds=args.seconds, workers=args.workers, secret_file=secret)
    res.pop("tokens")
    print(json.dumps(res) if args.json else "\n".join(f"{k:<22}{v}" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
