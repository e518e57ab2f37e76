"""``fastlive serve``: a self-hosted liveness check for web apps.

An ASGI app (:func:`create_app`; Starlette + uvicorn from the ``serve`` extra:
``pip install "fastlive[serve]"``) with a browser client, active challenges and signed
verdict tokens; the app's backend checks a token with :func:`verify_token`, which needs only
the standard library (no extra). Protocol and deployment: docs/serve.md.

    >>> from fastlive.serve import create_app, ServeConfig      # doctest: +SKIP
    >>> app = create_app(ServeConfig(secret=SECRET))             # doctest: +SKIP

    >>> from fastlive.serve import verify_token                 # doctest: +SKIP
    >>> v = verify_token(token, SECRET, expected_ctx=login_id)   # doctest: +SKIP
    >>> v.is_live                                                # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from fastlive.serve.tokens import TokenError, Verdict, issue_token, verify_token

_LAZY = {
    "create_app": "fastlive.serve.app",
    "ServeConfig": "fastlive.serve.config",
}

__all__ = ["ServeConfig", "TokenError", "Verdict", "create_app", "issue_token", "verify_token"]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'fastlive.serve' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
