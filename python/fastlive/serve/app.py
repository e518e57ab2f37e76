"""The ASGI app (Starlette): ``create_app(config)``.

Routes: ``GET /`` (the browser client), ``GET /client/*`` (the client as an ES module and its
stylesheet), ``GET /healthz``, ``POST /v1/score`` (one image), ``WS /v1/session`` (a stream of
frames -> guidance -> one verdict with a signed token). The protocol is in docs/serve.md.

State lives in the worker that holds the WebSocket (one fastlive ``Session`` per connection);
tokens verify without it, so the service scales out as several workers or containers behind a
load balancer that passes WebSockets. The limits on open sessions are per worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import platform
import secrets
import struct
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    import anyio
    import anyio.to_thread
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
except ImportError as exc:  # pragma: no cover - the serve extra
    raise ImportError(
        f"fastlive.serve needs the serve extra ({exc}): pip install 'fastlive[serve]'") from exc

import fastlive
from fastlive.serve import challenges as _challenges
from fastlive.serve import images, tokens
from fastlive.serve.config import SECRET_ENV, ServeConfig
from fastlive.serve.flow import LivenessFlow

log = logging.getLogger("fastlive.serve")

PROTOCOL = 1
STATIC = Path(__file__).resolve().parent / "static"
CLIENT_FILES = {
    "fastlive-liveness.js": "text/javascript; charset=utf-8",
    "fastlive-liveness.css": "text/css; charset=utf-8",
    "fastlive-page.js": "text/javascript; charset=utf-8",  # the page at "/"
    "fastlive-page.css": "text/css; charset=utf-8",
}
HEADER = struct.Struct("<d")  # a frame message: float64 little-endian capture time (ms) + image

# WebSocket close codes (RFC 6455)
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003  # not a frame or a known control message
CLOSE_POLICY = 1008  # a limit or a rule of the protocol
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_LATER = 1013  # too many sessions


class ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _State:
    config: ServeConfig
    detector: Any
    secret: bytes
    secret_source: str
    started: float = field(default_factory=time.time)
    active: int = 0
    per_client: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    limiter: Any = None

    def capacity_limiter(self) -> Any:
        if self.limiter is None:
            n = self.config.score_threads or max(1, os.cpu_count() or 1)
            self.limiter = anyio.CapacityLimiter(n)
        return self.limiter

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs),
                                              limiter=self.capacity_limiter())


class _Bucket:
    """Token bucket: ``rate`` per second, bursts of up to ``rate`` (one second's worth)."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self.cap = max(1.0, float(rate))
        self.tokens = self.cap
        self.t = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.cap, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _resolve_secret(config: ServeConfig) -> tuple[bytes, str]:
    s = config.secret_from_env()
    if s is not None:
        src = "config" if config.secret is not None else SECRET_ENV
        return tokens.secret_bytes(s, name="secret" if config.secret is not None
                                   else SECRET_ENV), src
    warnings.warn(
        f"fastlive serve: no secret given (ServeConfig.secret or {SECRET_ENV}): tokens are "
        "signed with a random secret of this process, which no other process can verify",
        RuntimeWarning, stacklevel=3)
    return secrets.token_bytes(32), "random"


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """A request without an Origin header (not a browser) is allowed; a browser's origin must
    be the server's own (same host and port) or in ``allowed`` (``"*"``: any)."""
    if origin is None:
        return True
    if "*" in allowed:
        return True
    o = origin.strip().rstrip("/").lower()
    if o in {a.rstrip("/").lower() for a in allowed}:
        return True
    if o == "null" or not host:
        return False
    parts = urlsplit(o)
    if parts.scheme not in ("http", "https"):
        return False
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        oport = parts.port or default
    except ValueError:
        return False
    h = urlsplit("//" + host.strip().lower())
    try:
        hport = h.port or default
    except ValueError:
        return False
    return parts.hostname == h.hostname and oport == hport


def _scrub(d: dict[str, Any]) -> dict[str, Any]:
    """A FrameResult dict without the scores and cues (``expose_scores`` off)."""
    d = dict(d)
    d.pop("score", None)
    faces = []
    for f in d.get("faces") or []:
        f = dict(f)
        f.pop("score", None)
        f.pop("cues", None)
        faces.append(f)
    if "faces" in d:
        d["faces"] = faces
    return d


def _versions() -> dict[str, Any]:
    v: dict[str, Any] = {"fastlive": fastlive.__version__, "python": platform.python_version()}
    for mod in ("starlette", "uvicorn", "cv2", "onnxruntime", "numpy"):
        try:
            m = __import__(mod)
            v["opencv" if mod == "cv2" else mod] = getattr(m, "__version__", "?")
        except ImportError:
            pass
    return v


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(config: ServeConfig | None = None, *, detector: Any = None) -> Starlette:
    """The liveness service as an ASGI app (run it with any ASGI server, e.g. uvicorn).

    ``detector``: a ready :class:`fastlive.LivenessDetector` to share (default: one built
    from ``config.detector``; the models load here, so a missing model fails now, at start).
    """
    cfg = config if config is not None else ServeConfig()
    if not isinstance(cfg, ServeConfig):
        raise TypeError(f"config must be a fastlive.serve.ServeConfig, got "
                        f"{type(cfg).__name__}")
    det = detector if detector is not None else fastlive.LivenessDetector(cfg.detector)
    secret, source = _resolve_secret(cfg)
    state = _State(cfg, det, secret, source)
    statics = {name: (STATIC / name).read_bytes() for name in (*CLIENT_FILES, "index.html")}

    def _security_headers(request: Request, *, page: bool = False) -> dict[str, str]:
        h = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
             "Cache-Control": "no-cache"}
        if page:
            host = request.headers.get("host", "")
            h["Content-Security-Policy"] = (
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                f"data: blob:; media-src 'self' blob: mediastream:; connect-src 'self' "
                f"ws://{host} wss://{host}; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'")
            h["Permissions-Policy"] = "camera=(self)"
        return h

    async def index(request: Request) -> Response:
        return Response(statics["index.html"], media_type="text/html; charset=utf-8",
                        headers=_security_headers(request, page=True))

    async def client_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in CLIENT_FILES:
            return _json_error(404, f"no client file {name!r}")
        headers = _security_headers(request)
        origin = request.headers.get("origin")
        if origin is not None and origin_allowed(origin, request.headers.get("host"),
                                                 cfg.allowed_origins):
            headers["Access-Control-Allow-Origin"] = origin  # an app embedding the module
            headers["Vary"] = "Origin"
        return Response(statics[name], media_type=CLIENT_FILES[name], headers=headers)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def healthz(request: Request) -> Response:
        degraded = dict(getattr(det, "degraded", {}) or {})
        return JSONResponse({
            "status": "degraded" if degraded else "ok",
            "versions": _versions(),
            "models": {"degraded": degraded,
                       "operating_point": getattr(cfg.detector, "operating_point", None)},
            "sessions": {"active": state.active, "max": cfg.max_sessions,
                         "max_per_client": cfg.max_sessions_per_client,
                         "started": state.counts["sessions"],
                         "verdicts": {k[8:]: v for k, v in state.counts.items()
                                      if k.startswith("verdict:")},
                         "closed": {k[7:]: v for k, v in state.counts.items()
                                    if k.startswith("closed:")},
                         "refused": {k[8:]: v for k, v in state.counts.items()
                                     if k.startswith("refused:")}},
            "challenges": cfg.challenges,
            "token_secret": state.secret_source,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - state.started, 1),
            "protocol": PROTOCOL,
        })

    async def score(request: Request) -> Response:
        if not origin_allowed(request.headers.get("origin"), request.headers.get("host"),
                              cfg.allowed_origins):
            return _json_error(403, "origin not allowed")
        clen = request.headers.get("content-length")
        if clen is not None:
            try:
                n = int(clen)
            except ValueError:
                return _json_error(400, "bad Content-Length")
            if n > cfg.max_upload_bytes:
                return _json_error(413, f"body of {n} bytes: larger than "
                                        f"{cfg.max_upload_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > cfg.max_upload_bytes:
                return _json_error(413, f"body larger than {cfg.max_upload_bytes} bytes")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            try:
                data = await _multipart_image(request, bytes(body))
            except ValueError as exc:
                return _json_error(400, str(exc))
        elif ctype in ("image/jpeg", "image/jpg", "image/png", "application/octet-stream", ""):
            data = bytes(body)
        else:
            return _json_error(415, f"unsupported Content-Type {ctype!r}: send image/jpeg, "
                                    "image/png or multipart/form-data with an 'image' file")
        if not data:
            return _json_error(400, "empty body: send a JPEG or PNG image")
        try:
            img = await state.run(images.decode, data, max_side=cfg.max_image_side)
            result = await state.run(det.score_frame, img)
        except (ValueError, TypeError) as exc:
            return _json_error(400, str(exc))
        d = result.to_dict()
        return JSONResponse(d if cfg.expose_scores else _scrub(d))

    async def _multipart_image(request: Request, body: bytes) -> bytes:
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        req = Request(request.scope, replay)
        try:
            form = await req.form(max_files=1, max_fields=8, max_part_size=cfg.max_upload_bytes)
        except Exception as exc:  # noqa: BLE001 - the multipart parser's errors vary by version
            raise ValueError(f"malformed multipart body ({exc})") from exc
        try:
            upload = form.get("image")
            if upload is None:
                upload = next((v for v in form.values() if hasattr(v, "read")), None)
            if upload is None or not hasattr(upload, "read"):
                raise ValueError("multipart body without a file: send the image as the "
                                 "'image' field")
            return bytes(await upload.read())
        finally:
            await form.close()

    async def session(ws: WebSocket) -> None:
        await _session(ws, state)

    app = Starlette(routes=[
        Route("/", index),
        Route("/client/{name}", client_file),
        Route("/favicon.ico", favicon),
        Route("/healthz", healthz),
        Route("/v1/score", score, methods=["POST"]),
        WebSocketRoute("/v1/session", session),
    ])
    app.state.fastlive = state
    return app


# -- the session protocol ------------------------------------------------------------------------
async def _send(ws: WebSocket, msg: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(msg, allow_nan=False, separators=(",", ":")))


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    """Say why (an ``error`` message), then close with that code and reason."""
    if ws.client_state != WebSocketState.CONNECTED:
        return
    try:
        await _send(ws, {"type": "error", "code": code, "reason": reason})
        await ws.close(code, reason.encode("utf-8")[:120].decode("utf-8", "ignore"))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


async def _session(ws: WebSocket, state: _State) -> None:
    cfg = state.config
    client = ws.client.host if ws.client else "unknown"
    await ws.accept()
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"),
                          cfg.allowed_origins):
        state.counts["refused:origin"] += 1
        await _close(ws, CLOSE_POLICY, "origin not allowed")
        return
    ctx = ws.query_params.get("ctx")
    if ctx is not None and (len(ctx) > cfg.max_ctx_chars or not ctx.isprintable()):
        await _close(ws, CLOSE_POLICY, f"ctx must be at most {cfg.max_ctx_chars} printable "
                                       "characters")
        return
    if state.active >= cfg.max_sessions:
        state.counts["refused:busy"] += 1
        await _close(ws, CLOSE_TRY_LATER, f"too many sessions on this server "
                                          f"({cfg.max_sessions}); try again later")
        return
    if state.per_client[client] >= cfg.max_sessions_per_client:
        state.counts["refused:client"] += 1
        await _close(ws, CLOSE_TRY_LATER, f"too many sessions from this client "
                                          f"({cfg.max_sessions_per_client})")
        return
    state.active += 1
    state.per_client[client] += 1
    state.counts["sessions"] += 1
    try:
        await _run_session(ws, state, ctx)
    except ProtocolError as exc:
        state.counts["closed:protocol"] += 1
        await _close(ws, exc.code, exc.reason)
    except (WebSocketDisconnect, OSError):  # OSError: uvicorn's ClientDisconnected on send
        state.counts["closed:vanished"] += 1
    except Exception:  # noqa: BLE001 - a bug must close one session, not the worker
        log.exception("fastlive serve: session failed")
        state.counts["closed:internal"] += 1
        await _close(ws, CLOSE_INTERNAL, "internal error")
    finally:
        state.active -= 1
        state.per_client[client] -= 1
        if state.per_client[client] <= 0:
            del state.per_client[client]


async def _run_session(ws: WebSocket, state: _State, ctx: str | None) -> None:
    cfg = state.config
    det = state.detector
    sid = secrets.token_urlsafe(12)
    kinds = _challenges.draw(cfg.challenge_kinds, cfg.challenge_count) if cfg.challenges else []
    flow = LivenessFlow(cfg, kinds)
    sess = det.new_session()
    await _send(ws, {
        "type": "hello", "protocol": PROTOCOL, "session_id": sid,
        "challenges": len(kinds),
        "limits": {"max_fps": cfg.max_fps, "max_message_bytes": cfg.max_message_bytes,
                   "max_frame_side": cfg.max_frame_side, "min_frame_side": cfg.min_frame_side,
                   "max_session_s": cfg.max_session_s, "idle_timeout_s": cfg.idle_timeout_s},
    })
    t_open = time.monotonic()
    deadline = t_open + cfg.max_session_s
    bucket = _Bucket(cfg.max_fps)
    first_ts: float | None = None
    last_ts: float | None = None
    t_first_server: float | None = None
    shape: tuple[int, int] | None = None
    seq = 0

    async def verdict_and_close() -> None:
        v = flow.verdict
        assert v is not None
        token = tokens.issue_token(state.secret, session_id=sid, decision=v.decision,
                                   reason=v.reason, ttl_s=cfg.token_ttl_s,
                                   challenges=[c["kind"] for c in v.challenges if c["passed"]],
                                   ctx=ctx)
        msg: dict[str, Any] = {
            "type": "verdict", "session_id": sid, "decision": v.decision, "message": v.message,
            "token": token, "expires_in_s": cfg.token_ttl_s, "challenges": v.challenges,
        }
        if cfg.expose_scores:
            msg["reason"] = v.reason
            msg["score"] = v.score if v.score is not None and math.isfinite(v.score) else None
        state.counts[f"verdict:{v.decision}"] += 1
        await _send(ws, msg)
        await ws.close(CLOSE_NORMAL, "verdict sent")

    while True:
        now = time.monotonic()
        left = deadline - now
        if left <= 0:
            flow.timeout(f"session longer than {cfg.max_session_s:g} s")
            await verdict_and_close()
            return
        try:
            msg = await asyncio.wait_for(ws.receive(), timeout=min(cfg.idle_timeout_s, left))
        except asyncio.TimeoutError:
            if left < cfg.idle_timeout_s:
                # The session deadline came first. The event loop may wake a timer up to its
                # clock resolution early, so this is decided by which limit was waited for,
                # not by reading the clock again; the next turn sends the verdict.
                continue
            flow.timeout(f"no frame for {cfg.idle_timeout_s:g} s")
            await verdict_and_close()
            return
        if msg["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(msg.get("code", 1000))
        text, data = msg.get("text"), msg.get("bytes")
        if text is not None:
            if len(text) > 1024:
                raise ProtocolError(CLOSE_TOO_BIG, "text message larger than 1024 bytes")
            try:
                ctl = json.loads(text)
            except json.JSONDecodeError:
                raise ProtocolError(CLOSE_UNSUPPORTED, "text message is not JSON: send frames "
                                    "as binary messages, control messages as JSON") from None
            if isinstance(ctl, dict) and ctl.get("type") == "cancel":
                flow.timeout("cancelled by the client")
                await verdict_and_close()
                return
            if isinstance(ctl, dict) and ctl.get("type") == "ping":
                await _send(ws, {"type": "pong"})
                continue
            raise ProtocolError(CLOSE_UNSUPPORTED, "unknown control message (known: cancel, "
                                                   "ping)")
        if data is None:
            raise ProtocolError(CLOSE_UNSUPPORTED, "empty message")
        if len(data) > cfg.max_message_bytes:
            raise ProtocolError(CLOSE_TOO_BIG, f"frame message of {len(data)} bytes: larger "
                                               f"than {cfg.max_message_bytes}")
        if len(data) <= HEADER.size:
            raise ProtocolError(CLOSE_UNSUPPORTED, "a frame message is an 8-byte capture time "
                                                   "(float64 ms, little-endian) then a JPEG")
        if not bucket.take():
            raise ProtocolError(CLOSE_POLICY, f"more than {cfg.max_fps:g} frames per second")
        (ts,) = HEADER.unpack_from(data)
        if not math.isfinite(ts):
            raise ProtocolError(CLOSE_POLICY, "frame capture time is not a finite number")
        if last_ts is not None and ts <= last_ts:
            raise ProtocolError(CLOSE_POLICY, "frame capture times must increase")
        now = time.monotonic()
        if first_ts is None:
            first_ts, t_first_server = ts, now
        assert t_first_server is not None
        if (ts - first_ts) / 1000.0 > (now - t_first_server) + 1.0:
            raise ProtocolError(CLOSE_POLICY, "frame capture times run ahead of the clock")
        last_ts = ts
        try:
            img = await state.run(images.decode, bytes(data[HEADER.size:]),
                                  max_side=cfg.max_frame_side, min_side=cfg.min_frame_side)
        except images.ImageError as exc:
            raise ProtocolError(CLOSE_UNSUPPORTED, f"bad frame: {exc}") from None
        if shape is None:
            shape = (int(img.shape[0]), int(img.shape[1]))
        elif (img.shape[0], img.shape[1]) != shape:
            raise ProtocolError(CLOSE_POLICY, "frame size changed during the session")
        t = (ts - first_ts) / 1000.0
        try:
            result = await state.run(det.score_frame, img, session=sess, timestamp=t)
        except (ValueError, TypeError) as exc:
            raise ProtocolError(CLOSE_POLICY, f"frame refused: {exc}") from None
        g = flow.step(result, t, shape)
        g["seq"] = seq
        g["t"] = ts
        if cfg.expose_scores and result.faces:
            f = result.faces[0]
            g["decision"] = f.decision
            g["reason"] = f.reason
            g["score"] = float(f.score) if math.isfinite(f.score) else None
        seq += 1
        await _send(ws, g)
        if flow.verdict is not None:
            await verdict_and_close()
            return
