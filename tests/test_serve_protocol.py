"""fastlive.serve without a browser: the HTTP routes and the WebSocket session protocol against
a real uvicorn server on loopback (urllib and the websockets client), with real frames."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra (pip install 'fastlive[serve]')")
pytest.importorskip("uvicorn", reason="the serve extra (pip install 'fastlive[serve]')")
websockets_sync = pytest.importorskip("websockets.sync.client")

from serve_helpers import (  # noqa: E402
    SECRET,
    WOLFHUO_LIVE,
    WOLFHUO_REPLAY,
    frame_message,
    http,
    http_json,
    jpeg,
    multipart,
    read_clip,
    serve,
    stream_session,
    ws_url,
)
from websockets.exceptions import ConnectionClosed  # noqa: E402

import fastlive  # noqa: E402
from fastlive.serve import ServeConfig, TokenError, create_app, verify_token  # noqa: E402

GUIDANCE_KEYS = {"type", "phase", "state", "message", "progress", "challenge", "face", "seq", "t"}


@pytest.fixture(scope="module")
def det():
    return fastlive.LivenessDetector(ServeConfig().detector)


@pytest.fixture(scope="module")
def live_clip(data_dir):
    return read_clip(data_dir / WOLFHUO_LIVE, scale=0.5)


@pytest.fixture(scope="module")
def replay_clip(data_dir):
    return read_clip(data_dir / WOLFHUO_REPLAY, scale=0.5)


@pytest.fixture(scope="module")
def server(det):
    """The default service (challenges on) with small limits the tests can reach."""
    cfg = ServeConfig(secret=SECRET, max_sessions=3, max_sessions_per_client=2,
                      max_message_bytes=256 * 1024, max_frame_side=1000, max_fps=20,
                      max_upload_bytes=2 * 1024 * 1024, max_image_side=2000,
                      idle_timeout_s=3.0)
    with serve(create_app(cfg, detector=det)) as base:
        yield base


@pytest.fixture(scope="module")
def passive_server(det):
    """Challenges off (the passive stream decision alone)."""
    with serve(create_app(ServeConfig(secret=SECRET, challenges=False), detector=det)) as base:
        yield base


def connect(base: str, **kw):
    headers = kw.pop("headers", None)
    return websockets_sync.connect(ws_url(base, **kw), additional_headers=headers,
                                   open_timeout=10, max_size=None)


def until_closed(ws) -> tuple[list[dict], int, str]:
    """Messages received until the server closes; (messages, close code, close reason)."""
    msgs = []
    try:
        while True:
            msgs.append(json.loads(ws.recv(timeout=30)))
    except ConnectionClosed as e:
        assert e.rcvd is not None, "closed without a close frame"
        return msgs, e.rcvd.code, e.rcvd.reason


def active_sessions(base: str) -> int:
    status, h = http_json("GET", base + "/healthz")
    assert status == 200
    return int(h["sessions"]["active"])


def wait_idle(base: str, timeout: float = 5.0) -> None:
    t0 = time.monotonic()
    while active_sessions(base) != 0:
        assert time.monotonic() - t0 < timeout, "sessions still open"
        time.sleep(0.05)


# -- HTTP ----------------------------------------------------------------------------------------
def test_healthz_reports_versions_models_and_sessions(server):
    status, h = http_json("GET", server + "/healthz")
    assert status == 200
    assert h["status"] == "ok"
    assert h["versions"]["fastlive"] == fastlive.__version__
    assert h["models"]["degraded"] == {}
    assert h["sessions"]["active"] == 0 and h["sessions"]["max"] == 3
    assert h["challenges"] is True and h["token_secret"] == "config"


def test_index_and_client_module_are_served(server):
    status, headers, body = http("GET", server + "/")
    assert status == 200 and b'src="/client/fastlive-page.js"' in body
    assert "camera=(self)" in headers["permissions-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    status, headers, body = http("GET", server + "/client/fastlive-liveness.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert b"export class LivenessCheck" in body and b"export function mountLivenessCheck" in body
    assert http("GET", server + "/client/../app.py")[0] == 404
    assert http("GET", server + "/client/app.py")[0] == 404


def test_score_raw_and_multipart_match_the_library(server, det, frame):
    img = np.ascontiguousarray(frame)
    data = jpeg(img, 95)
    import cv2

    direct = det.score_frame(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    status, raw = http_json("POST", server + "/v1/score", data,
                            {"Content-Type": "image/jpeg"})
    assert status == 200
    assert raw["decision"] == direct.decision and raw["reason"] == direct.reason
    assert raw["faces"][0]["box"] == direct.to_dict()["faces"][0]["box"]
    # the score is not sent unless configured
    assert "score" not in raw and "score" not in raw["faces"][0] and "cues" not in raw["faces"][0]
    body, ctype = multipart({"note": "x", "image": ("f.jpg", data, "image/jpeg")})
    status, form = http_json("POST", server + "/v1/score", body, {"Content-Type": ctype})
    assert status == 200 and form == {**raw, "timings": form["timings"]}


def test_score_exposes_scores_only_when_configured(det, frame):
    data = jpeg(np.ascontiguousarray(frame), 95)
    with serve(create_app(ServeConfig(secret=SECRET, expose_scores=True), detector=det)) as b:
        status, d = http_json("POST", b + "/v1/score", data, {"Content-Type": "image/jpeg"})
    assert status == 200
    assert 0.0 <= d["faces"][0]["score"] <= 1.0 and "passive" in d["faces"][0]["cues"]


def _png_header(w: int, h: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", w, h) \
        + b"\x08\x02\x00\x00\x00" + b"\x00" * 4


@pytest.mark.parametrize("body,ctype,status,needle", [
    (b"", "image/jpeg", 400, "empty body"),
    (b"hello", "text/plain", 415, "unsupported Content-Type"),
    (b"not an image at all", "image/jpeg", 400, "not a JPEG or PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", 400, "not a valid JPEG"),
    (_png_header(100_000, 100_000), "image/png", 400, "larger than 2000 pixels"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400, "multipart"),
])
def test_score_refuses_bad_bodies_with_a_clear_error(server, body, ctype, status, needle):
    st, d = http_json("POST", server + "/v1/score", body, {"Content-Type": ctype})
    assert st == status and needle in d["error"], d


def raw_post(base: str, headers: bytes, body: bytes) -> tuple[int, bytes]:
    """POST /v1/score over a plain socket (the server may answer before the body is sent)."""
    host, port = base.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + headers
                  + b"Connection: close\r\n\r\n")
        try:
            s.sendall(body)
        except OSError:  # the server answered and closed first
            pass
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def test_score_refuses_truncated_and_oversized_images(server, frame):
    data = jpeg(np.ascontiguousarray(frame))
    st, d = http_json("POST", server + "/v1/score", data[: len(data) // 3],
                      {"Content-Type": "image/jpeg"})
    # a cut JPEG: OpenCV decodes what it has or refuses it; never a server error
    assert st in (200, 400), d
    # refused from the Content-Length, before the body is read
    status, body = raw_post(server, b"Content-Type: image/jpeg\r\n"
                            b"Content-Length: 3000000\r\n", data)
    assert status == 413 and b"larger than 2097152 bytes" in body
    # no Content-Length (chunked): refused once the body read passes the limit
    chunk = b"\0" * 65536
    chunked = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(40))
    status, body = raw_post(server, b"Content-Type: image/jpeg\r\n"
                            b"Transfer-Encoding: chunked\r\n", chunked + b"0\r\n\r\n")
    assert status == 413 and b"larger than 2097152 bytes" in body
    body, ctype = multipart({"note": "no file here"})
    st, d = http_json("POST", server + "/v1/score", body, {"Content-Type": ctype})
    assert st == 400 and "without a file" in d["error"]


def test_score_refuses_other_origins(server, frame):
    data = jpeg(np.ascontiguousarray(frame))
    st, d = http_json("POST", server + "/v1/score", data,
                      {"Content-Type": "image/jpeg", "Origin": "https://evil.example"})
    assert st == 403 and d["error"] == "origin not allowed"
    st, _ = http_json("POST", server + "/v1/score", data,
                      {"Content-Type": "image/jpeg", "Origin": server})
    assert st == 200


# -- sessions: good ------------------------------------------------------------------------------
def test_live_clip_without_challenges_gets_a_signed_live_verdict(passive_server, live_clip):
    frames, fps = live_clip
    with connect(passive_server, ctx="login-42") as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["challenges"] == 0 and hello["protocol"] == 1
        guidance, verdict = stream_session(ws, frames, fps)
    assert verdict is not None, [g["state"] for g in guidance]
    for g in guidance:
        assert set(g) == GUIDANCE_KEYS, g
        assert "score" not in json.dumps(g)
    assert [g["seq"] for g in guidance] == list(range(len(guidance)))
    assert guidance[0]["phase"] == "align" and guidance[-1]["state"] == "done"
    progress = [g["progress"] for g in guidance]
    assert progress == sorted(progress) or max(progress) == 1.0
    assert verdict["decision"] == "LIVE" and verdict["message"] == "Verified"
    assert "score" not in verdict and "reason" not in verdict
    v = verify_token(verdict["token"], SECRET, expected_ctx="login-42")
    assert v.is_live and v.session_id == hello["session_id"] and v.ctx == "login-42"
    assert v.expires_at - v.issued_at == pytest.approx(300.0)
    with pytest.raises(TokenError, match="another context"):
        verify_token(verdict["token"], SECRET, expected_ctx="login-43")
    with pytest.raises(TokenError, match="signature"):
        verify_token(verdict["token"], SECRET[::-1])


def test_blink_challenge_is_passed_by_a_clip_that_blinks_after_the_prompt(det, live_clip):
    """The live clip blinks about 1.4 s in; the blink prompt comes 0.5 s in (after the face is
    placed), so this real clip passes it, then fastlive's own decision gives LIVE."""
    frames, fps = live_clip
    cfg = ServeConfig(secret=SECRET, challenge_kinds=("blink",), challenge_count=(1, 1))
    with serve(create_app(cfg, detector=det)) as base, connect(base) as ws:
        assert json.loads(ws.recv(timeout=10))["challenges"] == 1
        guidance, verdict = stream_session(ws, frames, fps)
    prompts = [g for g in guidance if g["state"] == "challenge"]
    assert prompts and prompts[0]["challenge"]["kind"] == "blink"
    assert prompts[0]["message"] == "Blink" and prompts[0]["challenge"]["total"] == 1
    assert verdict is not None and verdict["decision"] == "LIVE", [g["state"] for g in guidance]
    assert verdict["challenges"] == [{"kind": "blink", "passed": True}]
    assert verify_token(verdict["token"], SECRET).challenges == ("blink",)


def test_replayed_clip_cannot_follow_turn_challenges(det, replay_clip):
    """A screen replay (which the passive models accepted as live when this test was written)
    does not turn its head when asked: the session ends UNCERTAIN on the challenge."""
    frames, fps = replay_clip
    cfg = ServeConfig(secret=SECRET, challenge_kinds=("turn_left", "turn_right"),
                      challenge_count=(1, 2), challenge_window_s=2.0, expose_scores=True)
    with serve(create_app(cfg, detector=det)) as base, connect(base) as ws:
        json.loads(ws.recv(timeout=10))
        guidance, verdict = stream_session(ws, frames, fps)
    assert verdict is not None
    assert any(g["state"] == "challenge" and g["challenge"]["kind"] in ("turn_left", "turn_right")
               for g in guidance)
    assert verdict["decision"] == "UNCERTAIN"
    assert verdict["reason"].startswith("challenge turn_"), verdict["reason"]
    assert verdict["message"].startswith("The prompts were not followed")
    # with expose_scores each frame carries fastlive's own decision (and the verdict, why)
    assert all(g["decision"] in ("LIVE", "SPOOF", "UNCERTAIN") for g in guidance if g["face"])
    assert verify_token(verdict["token"], SECRET).decision == "UNCERTAIN"


def test_still_photo_streamed_ends_uncertain_as_a_frozen_stream(passive_server, live_clip):
    frames, fps = live_clip
    still = [frames[0]] * 60
    with connect(passive_server) as ws:
        json.loads(ws.recv(timeout=10))
        guidance, verdict = stream_session(ws, still, fps)
    assert verdict is not None and verdict["decision"] == "UNCERTAIN"
    assert verify_token(verdict["token"], SECRET).reason.startswith("frozen stream")


def _silent_session(base: str) -> tuple[int, float, str]:
    """A session that sends nothing after the hello: its close code, seconds from the hello to
    the close, and the verdict token's reason."""
    with connect(base) as ws:
        json.loads(ws.recv(timeout=10))
        t0 = time.monotonic()
        msgs, code, _ = until_closed(ws)
    return code, time.monotonic() - t0, verify_token(msgs[-1]["token"], SECRET).reason


def test_cancel_idle_and_session_length_end_with_an_uncertain_verdict(det, live_clip):
    frames, fps = live_clip
    cfg = ServeConfig(secret=SECRET, idle_timeout_s=0.6, max_session_s=1.5)
    with serve(create_app(cfg, detector=det)) as base:
        with connect(base) as ws:
            json.loads(ws.recv(timeout=10))
            ws.send(json.dumps({"type": "cancel"}))
            msgs, code, _ = until_closed(ws)
        assert code == 1000 and msgs[-1]["type"] == "verdict"
        assert verify_token(msgs[-1]["token"], SECRET).reason == "cancelled by the client"
        code, elapsed, reason = _silent_session(base)
        assert code == 1000 and 0.5 < elapsed < 5
        assert reason == "no frame for 0.6 s"
    cfg = ServeConfig(secret=SECRET, idle_timeout_s=5.0, max_session_s=1.5)
    with serve(create_app(cfg, detector=det)) as base:
        blank = np.full((240, 320, 3), 128, np.uint8)
        blank[::7] = 90  # not a frozen stream: each frame differs
        with connect(base) as ws:
            json.loads(ws.recv(timeout=10))
            t0 = time.monotonic()
            msgs = []
            try:
                for i in range(100):
                    img = np.roll(blank, i, axis=0)
                    ws.send(frame_message(1000 * (time.monotonic() - t0), jpeg(img)))
                    msgs.append(json.loads(ws.recv(timeout=10)))
                    if msgs[-1]["type"] == "verdict":
                        break
                    time.sleep(0.1)
            except ConnectionClosed:  # the verdict came while a frame was on its way
                pass
            msgs += until_closed(ws)[0]
        m = msgs[-1]
        assert m["type"] == "verdict"
        assert {g["state"] for g in msgs[:-1]} == {"no_face"}
        assert verify_token(m["token"], SECRET).reason == "session longer than 1.5 s"
        assert 1.4 < time.monotonic() - t0 < 4



def test_the_session_deadline_before_the_idle_limit_says_session_longer(det):
    """No frame at all, the session limit shorter than the idle one: the verdict names the
    session limit. (uvloop's timers may fire a little before time.monotonic() reaches the
    deadline; the reason must not depend on that.)"""
    cfg = ServeConfig(secret=SECRET, idle_timeout_s=0.45, max_session_s=0.3)
    with serve(create_app(cfg, detector=det)) as base:
        for _ in range(5):
            code, elapsed, reason = _silent_session(base)
            assert code == 1000 and 0.25 < elapsed < 3
            assert reason == "session longer than 0.3 s"


# -- sessions: bad messages, limits --------------------------------------------------------------
def _bad(base: str, send, *, hello: bool = True) -> tuple[list[dict], int, str]:
    with connect(base) as ws:
        if hello:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        send(ws)
        return until_closed(ws)


def test_malformed_messages_close_the_session_with_a_reason(server, live_clip):
    frames, _ = live_clip
    good = jpeg(frames[0])
    cases = [
        (lambda ws: ws.send("hello?"), 1003, "not JSON"),
        (lambda ws: ws.send(json.dumps({"type": "dance"})), 1003, "unknown control message"),
        (lambda ws: ws.send(json.dumps([1, 2])), 1003, "unknown control message"),
        (lambda ws: ws.send("x" * 5000), 1009, "larger than 1024"),
        (lambda ws: ws.send(b"\x01\x02"), 1003, "8-byte capture time"),
        (lambda ws: ws.send(frame_message(0.0, b"garbage bytes")), 1003,
         "bad frame: not a JPEG or PNG"),
        (lambda ws: ws.send(frame_message(0.0, good[:40])), 1003, "bad frame"),
        (lambda ws: ws.send(frame_message(float("nan"), good)), 1008, "not a finite number"),
        (lambda ws: ws.send(frame_message(0.0, good + b"\0" * 300_000)), 1009,
         "larger than 262144"),
        (lambda ws: ws.send(frame_message(0.0, _png_header(4000, 3000))), 1003,
         "larger than 1000 pixels"),
        (lambda ws: ws.send(frame_message(0.0, jpeg(np.zeros((40, 40, 3), np.uint8)))), 1003,
         "smaller than 64 pixels"),
        (lambda ws: [ws.send(frame_message(5000.0, good)), ws.recv(timeout=30),
                     ws.send(frame_message(5000.0, good))], 1008, "must increase"),
        (lambda ws: [ws.send(frame_message(0.0, good)), ws.recv(timeout=30),
                     ws.send(frame_message(60_000.0, good))], 1008, "ahead of the clock"),
        (lambda ws: [ws.send(frame_message(0.0, good)), ws.recv(timeout=30),
                     ws.send(frame_message(33.0, jpeg(frames[1][:200])))], 1008,
         "frame size changed"),
    ]
    for send, code, needle in cases:
        msgs, got_code, reason = _bad(server, send)
        assert got_code == code, (needle, got_code, reason)
        assert needle in reason, (needle, reason)
        assert msgs[-1]["type"] == "error" and needle in msgs[-1]["reason"]
        assert msgs[-1]["code"] == code
    wait_idle(server)
    assert http_json("GET", server + "/healthz")[0] == 200


def test_frame_flood_is_refused(server, live_clip):
    frames, _ = live_clip
    data = [jpeg(f) for f in frames[:60]]

    def flood(ws):
        for i in range(60):  # 60 frames at once against max_fps=20 (bursts of 20)
            try:
                ws.send(frame_message(float(i), data[i]))
            except ConnectionClosed:
                return

    t0 = time.monotonic()
    msgs, code, reason = _bad(server, flood)
    elapsed = time.monotonic() - t0
    assert code == 1008 and "more than 20 frames per second" in reason
    # a burst of 20, then 20 per second
    assert sum(m["type"] == "guidance" for m in msgs) <= 20 + 20 * elapsed
    wait_idle(server)


def test_too_many_sessions_per_client_and_in_total(server):
    wait_idle(server)
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(connect(server))
        b = stack.enter_context(connect(server))
        for ws in (a, b):
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        with connect(server) as ws:
            msgs, code, reason = until_closed(ws)
        assert code == 1013 and "too many sessions from this client (2)" in reason
        assert msgs == [{"type": "error", "code": 1013, "reason": reason}]
        assert active_sessions(server) == 2
        # another client address (behind a trusted proxy): the total (3) is reached
        c = stack.enter_context(connect(server, headers={"X-Forwarded-For": "10.1.2.3"}))
        assert json.loads(c.recv(timeout=10))["type"] == "hello"
        with connect(server, headers={"X-Forwarded-For": "10.1.2.4"}) as ws:
            msgs, code, reason = until_closed(ws)
        assert code == 1013 and "too many sessions on this server (3)" in reason
    wait_idle(server)
    with connect(server) as ws:  # the slots are free again
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"


def test_origin_allow_list(server, det):
    with connect(server, headers={"Origin": "https://evil.example"}) as ws:
        msgs, code, reason = until_closed(ws)
    assert code == 1008 and reason == "origin not allowed" and msgs[0]["type"] == "error"
    with connect(server, headers={"Origin": server}) as ws:  # the server's own page
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    cfg = ServeConfig(secret=SECRET, allowed_origins=("https://app.example",))
    with serve(create_app(cfg, detector=det)) as base:
        with connect(base, headers={"Origin": "https://app.example"}) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        with connect(base, headers={"Origin": "https://app.example.evil.example"}) as ws:
            assert until_closed(ws)[1] == 1008


def test_ctx_is_bounded(server):
    with connect(server, ctx="x" * 300) as ws:
        msgs, code, reason = until_closed(ws)
    assert code == 1008 and "ctx must be at most 256" in reason


def test_a_client_that_vanishes_frees_its_session(server, live_clip):
    frames, _ = live_clip
    wait_idle(server)
    with connect(server) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        ws.send(frame_message(0.0, jpeg(frames[0])))
        ws.recv(timeout=30)
        assert active_sessions(server) == 1
        # the TCP connection dies without a close frame (a tab killed, a network gone)
        ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()
        wait_idle(server, timeout=10)
    # gone while its frame is being scored: the answer has nowhere to go
    with connect(server) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        ws.send(frame_message(0.0, jpeg(frames[0])))
        ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()
        wait_idle(server, timeout=10)
    closed = http_json("GET", server + "/healthz")[1]["sessions"]["closed"]
    assert closed.get("vanished", 0) >= 2 and closed.get("internal", 0) == 0, closed
