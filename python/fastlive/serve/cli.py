"""``fastlive serve``: run the liveness service with uvicorn.

:func:`add_arguments` declares the flags (the ``fastlive`` command's ``serve`` subcommand and
``python -m fastlive.serve`` share them), :func:`config_from_args` maps them onto
:class:`~fastlive.serve.config.ServeConfig`, :func:`run` starts uvicorn. With ``--workers N``
uvicorn starts N processes, each building its app from the same command line
(:func:`app_from_env`) and sharing one token secret.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastlive.cli.common import positive_float, positive_int
from fastlive.serve.challenges import KINDS
from fastlive.serve.config import SECRET_ENV, ServeConfig

ARGV_ENV = "FASTLIVE_SERVE_ARGV"  # the command line, for the worker processes
DEFAULT_CHALLENGE_COUNT: tuple[int, int] = ServeConfig.challenge_count


def _port(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {s!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {s!r}")
    return v


def _kinds(s: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in s.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(KINDS)}; got {s!r}")
    return kinds


def _unit(s: str) -> float:
    v = positive_float(s)
    if v > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {s!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``serve`` flags (defaults in ``ServeConfig``)."""
    d = ServeConfig.__dataclass_fields__
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="uvicorn worker processes (default 1); sessions stay in their worker")
    p.add_argument("--secret-file", metavar="PATH",
                   help=f"file holding the token secret (at least 32 bytes); default: the "
                   f"{SECRET_ENV} environment variable, else a random secret for this run")
    p.add_argument("--token-ttl", type=positive_float, metavar="S",
                   default=d["token_ttl_s"].default, help="token lifetime in seconds (300)")
    p.add_argument("--no-challenges", action="store_true",
                   help="no active challenges: the passive stream decision alone")
    p.add_argument("--challenges", type=_kinds, metavar="KINDS",
                   help=f"challenge kinds to draw from (default {','.join(KINDS)})")
    p.add_argument("--challenge-window", type=positive_float, metavar="S",
                   default=d["challenge_window_s"].default,
                   help="seconds to complete each challenge (6)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a browser origin (https://app.example.com) allowed besides the "
                   "server's own; repeat for more; '*' allows any")
    p.add_argument("--expose-scores", action="store_true",
                   help="send scores, cues and reasons to the client (off: decision only)")
    p.add_argument("--max-sessions", type=positive_int, default=d["max_sessions"].default,
                   help="open sessions per worker (32)")
    p.add_argument("--max-sessions-per-client", type=positive_int,
                   default=d["max_sessions_per_client"].default,
                   help="open sessions per client address, per worker (2)")
    p.add_argument("--max-session", type=positive_float, metavar="S",
                   default=d["max_session_s"].default, help="longest session in seconds (60)")
    p.add_argument("--max-fps", type=positive_float, default=d["max_fps"].default,
                   help="most frames per second a session may send (30)")
    p.add_argument("--max-frame-side", type=positive_int,
                   default=d["max_frame_side"].default, help="largest frame side, px (1280)")
    p.add_argument("--max-message-bytes", type=positive_int,
                   default=d["max_message_bytes"].default,
                   help="largest WebSocket message (524288)")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="proxies whose X-Forwarded-For is trusted (uvicorn; default "
                   "127.0.0.1), e.g. the load balancer's address or '*' inside a private "
                   "network")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    g = p.add_argument_group("pipeline (fastlive.Config fields)")
    g.add_argument("--operating-point", choices=("convenience", "balanced", "secure"),
                   help="decision threshold preset (default balanced)")
    g.add_argument("--threshold", type=_unit, help="explicit decision threshold on the score")
    g.add_argument("--no-require-blink", action="store_true",
                   help="LIVE without a recent blink (default: a blink is required)")
    g.add_argument("--strict", action="store_true",
                   help="refuse to start with a missing model instead of running degraded")


def _read_secret(path: str) -> bytes:
    try:
        data = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"--secret-file {path}: cannot read it ({exc.strerror or exc})") \
            from None
    if len(data) < 32:
        raise ValueError(f"--secret-file {path}: the secret has {len(data)} bytes, at least 32 "
                         "are needed (python -c \"import secrets; "
                         "print(secrets.token_urlsafe(32))\")")
    return data


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    from fastlive import Config

    det_kwargs: dict[str, Any] = {"require_blink": not args.no_require_blink}
    if args.operating_point:
        det_kwargs["operating_point"] = args.operating_point
    if args.threshold is not None:
        det_kwargs["threshold"] = args.threshold
    if args.strict:
        det_kwargs["strict"] = True
    kw: dict[str, Any] = dict(
        token_ttl_s=args.token_ttl, challenges=not args.no_challenges,
        challenge_window_s=args.challenge_window,
        allowed_origins=tuple(args.allow_origin), expose_scores=args.expose_scores,
        max_sessions=args.max_sessions, max_sessions_per_client=args.max_sessions_per_client,
        max_session_s=args.max_session, max_fps=args.max_fps,
        max_frame_side=args.max_frame_side, max_message_bytes=args.max_message_bytes,
        detector=Config(**det_kwargs))
    if args.challenges:
        kinds = tuple(dict.fromkeys(args.challenges))
        lo, hi = DEFAULT_CHALLENGE_COUNT
        kw["challenge_kinds"] = kinds
        kw["challenge_count"] = (min(lo, len(kinds)), min(hi, len(kinds)))
    if args.secret_file:
        kw["secret"] = _read_secret(args.secret_file)
    return ServeConfig(**kw)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fastlive serve", description=DESCRIPTION)
    add_arguments(p)
    return p


DESCRIPTION = ("Run the liveness service: the browser client at /, WS /v1/session, "
               "POST /v1/score, GET /healthz (docs/serve.md).")


def app_from_env() -> Any:
    """uvicorn's app factory in each worker process: the app from the parent's command line."""
    from fastlive.serve.app import create_app

    argv = json.loads(os.environ.get(ARGV_ENV, "[]"))
    args = build_parser().parse_args(argv)
    return create_app(config_from_args(args))


def run(args: argparse.Namespace) -> int:
    """Start uvicorn with the parsed flags (until interrupted)."""
    try:
        import uvicorn

        from fastlive.serve.app import create_app
    except ImportError as exc:
        raise ValueError(f"fastlive serve needs the serve extra: pip install "
                         f"'fastlive[serve]' ({exc})") from None
    config = config_from_args(args)  # validates every flag before anything starts
    common: dict[str, Any] = dict(
        host=args.host, port=args.port, log_level=args.log_level,
        ws_max_size=2 * config.max_message_bytes, ws_per_message_deflate=False,
        forwarded_allow_ips=args.forwarded_allow_ips)
    if args.workers == 1:
        uvicorn.run(create_app(config), **common)
        return 0
    if config.secret_from_env() is None:
        # one secret for every worker, so a token verifies whichever worker issued it
        os.environ[SECRET_ENV] = secrets.token_urlsafe(32)
        print(f"fastlive serve: no secret given ({SECRET_ENV} or --secret-file): tokens are "
              "signed with a random secret of this run", file=sys.stderr)
    os.environ[ARGV_ENV] = json.dumps(_argv_of(args))
    uvicorn.run("fastlive.serve.cli:app_from_env", factory=True, workers=args.workers,
                **common)
    return 0


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The serve flags that reproduce ``args`` (for the worker processes)."""
    out: list[str] = []
    p = build_parser()
    for action in p._actions:  # noqa: SLF001 - argparse exposes no public listing
        if not action.option_strings or action.dest == "help":
            continue
        v = getattr(args, action.dest, None)
        flag = action.option_strings[0]
        if isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001
            if v:
                out.append(flag)
        elif isinstance(action, argparse._AppendAction):  # noqa: SLF001
            for item in v or []:
                out += [flag, str(item)]
        elif v is not None:
            out += [flag, ",".join(v) if isinstance(v, tuple) else str(v)]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastlive.serve``: errors print one line and exit 1."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastlive: error: {exc}", file=sys.stderr)
        return 1
