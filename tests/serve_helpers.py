"""Helpers of the fastlive.serve tests: a real uvicorn server on loopback in a thread, frame
messages, clips from ../shared/data, y4m files for Chromium's fake camera."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

WOLFHUO_LIVE = "selfrecorded/wolfhuo/live/video/eff17845a21796d55db31abd0579ac76.mp4"
WOLFHUO_REPLAY = "selfrecorded/wolfhuo/spoof/video/089ebaf677f4790cae56915cb67a1fa3.mp4"
TRANVANLUYT_LIVE = "selfrecorded/tranvanluyt/live/video/real.mp4"
SECRET = "test-secret-0123456789-abcdefghijklmnop"


@contextlib.contextmanager
def serve(app: Any, **uvicorn_kwargs: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    kw: dict[str, Any] = {"log_level": "warning", "ws_per_message_deflate": False,
                          "lifespan": "off"}
    kw.update(uvicorn_kwargs)
    server = uvicorn.Server(uvicorn.Config(app, **kw))
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    t0 = time.monotonic()
    while not server.started:
        if time.monotonic() - t0 > 20 or not th.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        th.join(timeout=10)
        sock.close()


def http(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def http_json(method: str, url: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, data = http(method, url, body, headers)
    return status, json.loads(data)


def multipart(fields: dict[str, tuple[str, bytes, str] | str]) -> tuple[bytes, str]:
    """A multipart/form-data body: ``{name: (filename, data, content_type) or text}``."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, v in fields.items():
        out += f"--{boundary}\r\n".encode()
        if isinstance(v, tuple):
            fn, data, ctype = v
            out += (f'Content-Disposition: form-data; name="{name}"; filename="{fn}"\r\n'
                    f"Content-Type: {ctype}\r\n\r\n").encode()
            out += data
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{v}'.encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def ws_url(base: str, path: str = "/v1/session", **query: str) -> str:
    url = base.replace("http://", "ws://") + path
    if query:
        url += "?" + "&".join(f"{k}={urllib.request.quote(v)}" for k, v in query.items())
    return url


def frame_message(ts_ms: float, jpeg: bytes) -> bytes:
    return struct.pack("<d", ts_ms) + jpeg


def jpeg(img: np.ndarray, quality: int = 85) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def read_clip(path: Path, scale: float = 1.0, limit: int | None = None) -> tuple[list, float]:
    """The frames of a video (BGR, scaled) and its frame rate."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while limit is None or len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        if scale != 1.0:
            f = cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frames.append(f)
    cap.release()
    assert frames, path
    return frames, float(fps)


def write_y4m(path: Path, frames: list, fps: int = 30) -> Path:
    """A YUV4MPEG2 (4:2:0) file of BGR frames (even width and height), for Chromium's
    ``--use-file-for-fake-video-capture``."""
    import cv2

    h, w = frames[0].shape[:2]
    assert h % 2 == 0 and w % 2 == 0, (w, h)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for fr in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(fr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def stream_session(ws: Any, frames: list, fps: float, *, step: int = 1,
                   max_frames: int | None = None) -> tuple[list[dict], dict | None]:
    """Send ``frames`` (every ``step``-th, paced in real time at the clip's rate) one at a
    time, reading each frame's answer; returns (guidance messages, verdict or None)."""
    guidance: list[dict] = []
    t0 = time.monotonic()
    sent = 0
    for i in range(0, len(frames), step):
        if max_frames is not None and sent >= max_frames:
            break
        t = i / fps
        wait = t0 + t - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        ws.send(frame_message(t * 1000.0, jpeg(frames[i])))
        sent += 1
        m = json.loads(ws.recv(timeout=30))
        assert m["type"] == "guidance", m
        guidance.append(m)
        if m["state"] == "done":
            v = json.loads(ws.recv(timeout=30))
            assert v["type"] == "verdict", v
            return guidance, v
    return guidance, None
