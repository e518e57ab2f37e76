"""Signed, expiring verdict tokens (HMAC-SHA256), and their verification by the app's backend.

A token is ``v1.<payload>.<signature>``: the payload is compact JSON, base64url-encoded
without padding; the signature is HMAC-SHA256 over ``v1.<payload>`` with the server secret,
base64url too. The payload holds the session id (``sid``), the ``decision`` (LIVE / SPOOF /
UNCERTAIN), its ``reason``, the time it was issued (``iat``) and expires (``exp``, Unix
seconds), a random ``nonce`` (record it to refuse a token used twice), the challenges the
session passed, and the ``ctx`` string the app passed when it opened the session (bind the
token to the app's own login attempt with it).

Standard library only: ``from fastlive.serve import verify_token`` works without the
``serve`` extra, so an app's backend can check tokens without the web stack.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

TOKEN_VERSION = "v1"
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 4096
DECISIONS = ("LIVE", "SPOOF", "UNCERTAIN")


class TokenError(ValueError):
    """A token that must not be trusted; ``str(err)`` says why (malformed, forged, expired,
    issued for another context)."""


@dataclass(frozen=True)
class Verdict:
    """A verified token's content."""

    session_id: str
    decision: str
    reason: str | None
    issued_at: float
    expires_at: float
    nonce: str
    challenges: tuple[str, ...] = ()
    ctx: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_live(self) -> bool:
        return self.decision == "LIVE"


def secret_bytes(secret: str | bytes, *, name: str = "secret") -> bytes:
    """The secret as bytes (a str is UTF-8 encoded); at least 32 bytes."""
    if isinstance(secret, str):
        key = secret.encode("utf-8")
    elif isinstance(secret, (bytes, bytearray)):
        key = bytes(secret)
    else:
        raise TypeError(f"{name} must be str or bytes, got {type(secret).__name__}")
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{name} must be at least {MIN_SECRET_BYTES} bytes, got {len(key)}; make one with "
            "python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise TokenError("malformed token (not base64url)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("malformed token (not base64url)") from exc


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _sign(key: bytes, signing_input: str) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def issue_token(secret: str | bytes, *, session_id: str, decision: str, reason: str | None,
                ttl_s: float = 300.0, challenges: tuple[str, ...] | list[str] = (),
                ctx: str | None = None, now: float | None = None,
                extra: dict[str, Any] | None = None) -> str:
    """A signed token for one session's verdict, valid for ``ttl_s`` seconds."""
    key = secret_bytes(secret)
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if not (isinstance(ttl_s, (int, float)) and math.isfinite(ttl_s) and ttl_s > 0):
        raise ValueError(f"ttl_s must be a positive number of seconds, got {ttl_s!r}")
    t = time.time() if now is None else float(now)
    payload: dict[str, Any] = {
        "sid": str(session_id), "decision": decision, "reason": reason,
        "iat": round(t, 3), "exp": round(t + float(ttl_s), 3),
        "nonce": secrets.token_urlsafe(16), "challenges": list(challenges), "ctx": ctx,
    }
    if extra:
        payload.update({k: v for k, v in extra.items() if k not in payload})
    body = _b64(json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8"))
    signing_input = f"{TOKEN_VERSION}.{body}"
    return f"{signing_input}.{_b64(_sign(key, signing_input))}"


def verify_token(token: str, secret: str | bytes, *, now: float | None = None,
                 leeway_s: float = 0.0, expected_ctx: str | None = None) -> Verdict:
    """Check a verdict token's signature and expiry; return its content.

    Raises :class:`TokenError` (a ``ValueError``) for a token that is malformed, signed with
    another secret or altered, expired (``leeway_s`` allows for clock skew between the
    servers), or issued for another ``ctx`` than ``expected_ctx`` (when given). A token proves
    what the liveness server decided; it is the app's job to accept each ``nonce`` only once.
    """
    key = secret_bytes(secret)
    if not isinstance(token, str):
        raise TokenError(f"token must be a str, got {type(token).__name__}")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError(f"malformed token (longer than {MAX_TOKEN_CHARS} characters)")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token (expected v1.<payload>.<signature>)")
    version, body, sig = parts
    if version != TOKEN_VERSION:
        raise TokenError(f"unsupported token version {version[:16]!r} (expected "
                         f"{TOKEN_VERSION!r})")
    expected = _sign(key, f"{version}.{body}")
    if not hmac.compare_digest(expected, _unb64(sig)):
        raise TokenError("bad signature (forged or altered token, or another server secret)")
    try:
        payload = json.loads(_unb64(body).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # signed, so only a bug
        raise TokenError("malformed token payload") from exc
    if not isinstance(payload, dict):
        raise TokenError("malformed token payload")
    try:
        exp = float(payload["exp"])
        iat = float(payload["iat"])
        decision = str(payload["decision"])
        sid = str(payload["sid"])
        nonce = str(payload["nonce"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError(f"malformed token payload (missing or bad field: {exc})") from exc
    if decision not in DECISIONS:
        raise TokenError(f"malformed token payload (decision {decision!r})")
    t = time.time() if now is None else float(now)
    if not t <= exp + float(leeway_s):
        raise TokenError(f"expired token (expired {t - exp:.0f} s ago)")
    if iat > t + float(leeway_s) + 5.0:
        raise TokenError("token issued in the future (clock skew between the servers?)")
    ctx = payload.get("ctx")
    if expected_ctx is not None and ctx != expected_ctx:
        raise TokenError("token issued for another context (ctx does not match)")
    known = {"sid", "decision", "reason", "iat", "exp", "nonce", "challenges", "ctx"}
    return Verdict(
        session_id=sid, decision=decision,
        reason=None if payload.get("reason") is None else str(payload["reason"]),
        issued_at=iat, expires_at=exp, nonce=nonce,
        challenges=tuple(str(c) for c in payload.get("challenges") or ()),
        ctx=None if ctx is None else str(ctx),
        extra={k: v for k, v in payload.items() if k not in known})
