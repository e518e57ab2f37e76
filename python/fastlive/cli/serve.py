"""``fastlive serve``: the liveness service for web apps (fastlive.serve; the serve extra)."""

from __future__ import annotations

import argparse
from typing import Any

from fastlive.serve import cli as serve_cli


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", parents=parents, help="the liveness service for web apps",
                       description=serve_cli.DESCRIPTION)
    serve_cli.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return serve_cli.run(args)
