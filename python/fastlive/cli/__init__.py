"""The ``fastlive`` command line: webcam, image, video, eval, bench, info, models, serve.

One module per command (``add_parser`` declares its flags, ``run`` carries it out); the
commands parse, call the library and print. Run ``fastlive COMMAND --help`` for the flags of
each command. Errors print one line (``fastlive: error: ...``) and exit with status 1 (2 for
bad flags); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import os

# before anything imports OpenCV: its own log lines would break the one-line error convention
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import argparse  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402

import fastlive  # noqa: E402
from fastlive.cli import bench, eval, image, info, models, serve, video, webcam  # noqa: E402
from fastlive.cli.common import describe  # noqa: E402

COMMANDS = (webcam, image, video, eval, bench, info, models, serve)  # in --help order


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    ap = argparse.ArgumentParser(
        prog="fastlive", description="Fast face liveness detection (presentation-attack "
        "detection): live face vs printed photo / screen replay / mask.",
        epilog="Run 'fastlive COMMAND --help' for each command's options.")
    ap.add_argument("--version", action="version", version=f"fastlive {fastlive.__version__}")
    ap.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub, [common])
    return ap


def _format_warning(message: Warning | str, category: type[Warning], filename: str,
                    lineno: int, line: str | None = None) -> str:
    return f"fastlive: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if not debug:
        warnings.formatwarning = _format_warning
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("fastlive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fastlive video x.mp4 --json | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place errors become messages
        if debug:
            raise
        print(f"fastlive: error: {describe(exc)} (--debug shows the traceback)",
              file=sys.stderr)
        return 1
