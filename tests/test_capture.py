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


def _textured_clip(path: Path, fourcc: str, n: int = 120, fps: float = 30.0) -> Path:
    """A clip with a noisy band (so every frame is a sizeable packet) and a white disc at
    x = 20 + index on grey (see _index)."""
    rng = np.random.default_rng(0)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (160, 120))
    assert vw.isOpened()
    for i in range(n):
        f = np.full((120, 160, 3), 100, np.uint8)
        f[:40] = rng.integers(0, 255, (40, 160, 3), dtype=np.uint8)
        cv2.circle(f, (20 + i, 80), 15, (255, 255, 255), -1)
        vw.write(f)
    vw.release()
    return path


def _index(frame: np.ndarray) -> int:
    """The frame index drawn by _textured_clip (the disc's centre)."""
    ys, xs = np.nonzero(frame[40:, :, 1] > 200)
    return int(round(xs.mean())) - 20


def _damage(path: Path, a: float, b: float, cut: bool = False) -> Path:
    """Zero the bytes between fractions a and b of the file (or cut it at a)."""
    data = bytearray(path.read_bytes())
    i, j = int(len(data) * a), int(len(data) * b)
    out = path.with_name("bad_" + path.name)
    out.write_bytes(bytes(data[:i]) if cut else bytes(data[:i]) + bytes(j - i) + bytes(data[j:]))
    return out


def _decodable(path: Path) -> int:
    """Frames OpenCV can decode from ``path`` when every failed read is retried."""
    cap = cv2.VideoCapture(str(path))
    n = sum(1 for _ in range(1000) if cap.read()[0])
    cap.release()
    return n


def test_intact_video_reports_nothing_missing(tmp_path):
    clip = _textured_clip(tmp_path / "ok.mp4", "mp4v")
    with Capture(clip) as cap:
        assert sum(1 for _ in cap) == 120
    assert cap.ended and cap.missing == 0 and cap.gaps == [] and cap.problem() is None


@pytest.mark.parametrize("fourcc,ext", [("VP80", "webm"), ("mp4v", "mp4"), ("MJPG", "avi")])
def test_damaged_video_counts_missing_frames_and_loses_no_good_one(tmp_path, fourcc, ext):
    """A video with a damaged middle: every frame OpenCV can decode is delivered (decoding
    used to stop at the first run of failed reads: 86 of 171 decodable frames of an mp4), and
    the frames that are not are counted (container count vs decoded, timeline gaps)."""
    bad = _damage(_textured_clip(tmp_path / f"v.{ext}", fourcc), 0.4, 0.6)
    with Capture(bad) as cap:
        got = [(_index(f), t) for f, t in cap]
    ts = [t for _, t in got]
    assert cap.frame_count == 120 and len(ts) == cap.index
    assert len(ts) == _decodable(bad) and 0 < len(ts) < 120
    assert cap.missing == 120 - len(ts)
    assert abs(got[-1][0] - 119) <= 2  # frames after the damage came through
    msg = cap.problem()
    assert msg is not None and f"{cap.missing} of 120 frame(s) missing" in msg
    assert f"{len(ts)} decoded" in msg
    if cap.gaps:  # where the container's timestamps show the hole
        a, b, k = cap.gaps[0]
        assert b - a > 1.5 / 30 and k == round((b - a) * 30) - 1 and f"{b - a:.2f} s" in msg


def test_cut_video_counts_the_frames_it_never_got(tmp_path):
    cut = _damage(_textured_clip(tmp_path / "v.avi", "MJPG"), 0.5, 1.0, cut=True)
    with Capture(cut) as cap:
        n = sum(1 for _ in cap)
    assert 0 < n < 120 and cap.ended and cap.missing == 120 - n
    assert "missing" in cap.problem()


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
