"""fastlive.serve verdict tokens: signed, expiring, bound to a context; forged, altered,
expired and malformed tokens are refused with a TokenError saying why."""

from __future__ import annotations

import base64
import json

import pytest

from fastlive.serve import TokenError, issue_token, verify_token

SECRET = "s" * 32
OTHER = "t" * 32


def _token(**kw):
    args = dict(session_id="abc", decision="LIVE", reason="live", ttl_s=60.0,
                challenges=["blink"], ctx="login-1", now=1000.0)
    args.update(kw)
    return issue_token(SECRET, **args)


def test_round_trip():
    tok = _token()
    v = verify_token(tok, SECRET, now=1030.0, expected_ctx="login-1")
    assert (v.session_id, v.decision, v.reason, v.ctx) == ("abc", "LIVE", "live", "login-1")
    assert v.issued_at == 1000.0 and v.expires_at == 1060.0 and v.is_live
    assert v.challenges == ("blink",) and len(v.nonce) >= 16
    # bytes and str secrets with the same bytes agree
    assert verify_token(tok, SECRET.encode(), now=1030.0).nonce == v.nonce
    # every token has its own nonce
    assert verify_token(_token(), SECRET, now=1000.0).nonce != v.nonce


def test_expired_token_is_refused():
    tok = _token()
    assert verify_token(tok, SECRET, now=1060.0).decision == "LIVE"  # the last valid second
    with pytest.raises(TokenError, match="expired"):
        verify_token(tok, SECRET, now=1060.5)
    assert verify_token(tok, SECRET, now=1065.0, leeway_s=10).decision == "LIVE"
    with pytest.raises(TokenError, match="future"):
        verify_token(tok, SECRET, now=900.0)


def test_forged_and_altered_tokens_are_refused():
    tok = _token(decision="SPOOF", reason="score below threshold")
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(tok, OTHER, now=1000.0)
    # the payload rewritten to LIVE, the signature kept
    version, body, sig = tok.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["decision"] = "LIVE"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(f"{version}.{forged}.{sig}", SECRET, now=1000.0)
    # a token signed by an attacker who does not know the secret
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(issue_token(OTHER, session_id="x", decision="LIVE", reason=None,
                                 now=1000.0), SECRET, now=1000.0)
    # one character of the signature changed
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(f"{version}.{body}.{flipped}", SECRET, now=1000.0)


def test_context_binding():
    with pytest.raises(TokenError, match="another context"):
        verify_token(_token(), SECRET, now=1000.0, expected_ctx="login-2")
    with pytest.raises(TokenError, match="another context"):
        verify_token(_token(ctx=None), SECRET, now=1000.0, expected_ctx="login-1")


@pytest.mark.parametrize("tok,needle", [
    ("", "expected v1.<payload>.<signature>"),
    ("v1.abc", "expected v1.<payload>.<signature>"),
    ("a.b.c.d", "expected v1.<payload>.<signature>"),
    ("v2.abc.def", "unsupported token version"),
    ("v1.abc.!!!", "not base64url"),
    ("v1.abc.", "not base64url"),
    ("v1." + "a" * 5000 + ".x", "longer than 4096"),
])
def test_malformed_tokens_are_refused(tok, needle):
    with pytest.raises(TokenError, match=needle):
        verify_token(tok, SECRET)


def test_bad_arguments():
    with pytest.raises(TypeError, match="str or bytes"):
        verify_token(_token(), 123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 32 bytes"):
        verify_token(_token(), "short")
    with pytest.raises(TokenError, match="must be a str"):
        verify_token(b"v1.a.b", SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="decision must be one of"):
        _token(decision="MAYBE")
    with pytest.raises(ValueError, match="ttl_s"):
        _token(ttl_s=0)
    assert issubclass(TokenError, ValueError)


def test_verify_token_needs_no_web_stack():
    """The app's backend imports verify_token without the serve extra."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
            "from fastlive.serve import verify_token, issue_token\n"
            "t = issue_token('k' * 32, session_id='s', decision='LIVE', reason=None)\n"
            "print(verify_token(t, 'k' * 32).decision)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "LIVE"
