"""fastlive.capture: video files, image files/folders, HTTP streams, and the failure modes."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from fastlive.capture import Capture, CaptureError, iter_frames, parse_source


def write_clip(path: Path, n: int = 20, fps: float = 25.0, size=(160, 120)) -> Path:
    w, h = size
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened()
    for i in range(n):
        vw.write(np.full((h, w, 3), 12 * i, np.uint8))  # brightness encodes the index
    vw.release()
    return path


def test_video_file_timestamps_come_from_the_video(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", n=20, fps=25.0)
    with Capture(clip) as cap:
        assert cap.kind == "video" and cap.fps == pytest.approx(25.0)
        assert cap.frame_count == 20 and cap.size == (160, 120)
        got = [(f.copy(), t, cap.frame_pos) for f, t in cap]
    assert len(got) == 20
    for i, (f, t, pos) in enumerate(got):
        assert f.shape == (120, 160, 3) and f.dtype == np.uint8
        assert t == pytest.approx(i / 25.0, abs=1e-6)
        assert pos == i
        assert abs(f.mean() - 12 * i) < 6  # frames come in order
    assert cap.skipped == 0


def test_zju_avi_with_empty_chunks_keeps_its_timeline(data_dir):
    # The ZJU Indeo AVIs hold "repeat previous frame" chunks: fewer frames decode than the
    # header counts, and the timestamps/frame positions must still follow the file's timeline.
    path = data_dir / "zju_eyeblink" / "000002M_FTN.avi"
    cap = Capture(path)
    ts, pos = [], []
    for _frame, t in cap:
        ts.append(t)
        pos.append(cap.frame_pos)
    assert 50 < len(ts) < cap.frame_count
    assert np.all(np.diff(ts) > 0) and np.all(np.diff(pos) > 0)
    assert ts[-1] == pytest.approx((cap.frame_count - 1) / cap.fps, abs=0.05)
    assert pos[-1] == cap.frame_count - 1


def test_image_folder_skips_and_counts_undecodable(tmp_path, data_dir):
    src = sorted((data_dir / "nuaa" / "live" / "0001").glob("*.jpg"))[:3]
    for k, p in enumerate(src):
        (tmp_path / f"{k}.jpg").write_bytes(p.read_bytes())
    (tmp_path / "1b.jpg").write_bytes(b"not an image at all")
    (tmp_path / "notes.txt").write_text("ignored")
    cap = Capture(tmp_path)
    frames = [(f, t) for f, t in cap]
    assert len(frames) == 3 and cap.skipped == 1
    assert "1b.jpg" in cap.errors[0] and "cannot decode" in cap.errors[0]
    assert frames[0][0].shape == (480, 640, 3)
    assert np.array_equal(frames[0][0], cv2.imread(str(src[0])))


def test_list_of_images_and_single_image(data_dir):
    paths = [str(p) for p in sorted((data_dir / "nuaa" / "live" / "0001").glob("*.jpg"))[:2]]
    assert len(list(iter_frames(paths))) == 2
    assert len(list(iter_frames(paths[0]))) == 1


def test_missing_file_and_non_video(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        Capture(tmp_path / "nope.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(CaptureError, match="cannot open .*bad.mp4"):
        Capture(bad)
    with pytest.raises(ValueError, match="holds no image files"):
        Capture(tmp_path / "empty") if (tmp_path / "empty").mkdir() is None else None


def test_missing_camera_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(CaptureError, match="camera 57"):
        Capture(57, open_timeout=3.0)
    assert time.monotonic() - t0 < 4.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_stream_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(CaptureError, match="stream"):
        Capture(f"http://127.0.0.1:{_free_port()}/live.mp4", open_timeout=2.0)
    assert time.monotonic() - t0 < 3.5


def test_silent_stream_never_hangs():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)  # accepts connections (kernel backlog) but never answers
    try:
        t0 = time.monotonic()
        with pytest.raises(CaptureError, match="within 1.5 s|cannot open"):
            Capture(f"http://127.0.0.1:{srv.getsockname()[1]}/x.mp4", open_timeout=1.5)
        assert time.monotonic() - t0 < 3.0
    finally:
        srv.close()


def test_http_stream_uses_a_monotonic_clock(tmp_path):
    write_clip(tmp_path / "clip.mp4", n=15)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))

    class Quiet(handler.func):  # type: ignore[name-defined,misc]
        def log_message(self, *args):  # keep pytest output clean
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/clip.mp4"
        with Capture(url, open_timeout=5.0, read_timeout=2.0) as cap:
            assert cap.kind == "stream" and cap.size == (160, 120)
            ts = [t for _f, t in cap]
        # newest-frame-only reader: some frames may be dropped, never reordered
        assert 1 <= len(ts) <= 15 and ts[0] == 0.0
        assert all(b >= a for a, b in zip(ts, ts[1:]))
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("source", "kwargs", "exc", "match"),
    [
        (True, {}, TypeError, "source: .*bool"),
        (-1, {}, ValueError, "source: camera index"),
        ("  ", {}, ValueError, "source: empty"),
        ([], {}, ValueError, "source: empty list"),
        (3.5, {}, TypeError, "source: "),
        ("x.mp4", {"open_timeout": 0}, ValueError, "open_timeout"),
        ("x.mp4", {"read_timeout": "5"}, ValueError, "read_timeout"),
    ],
)
def test_bad_arguments(source, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Capture(source, **kwargs)


def test_parse_source():
    assert parse_source("0") == 0 and parse_source(2) == 2
    assert parse_source("rtsp://cam/1") == "rtsp://cam/1"
    assert parse_source(Path("a.mp4")) == "a.mp4"
