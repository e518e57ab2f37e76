"""``fastlive models list | verify | install``: the model files and their checksums."""

from __future__ import annotations

import argparse

from fastlive import registry
from fastlive.cli.common import CLIError, Subparsers, json_line


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", parents=parents, help="list | verify | install model files")
    p.add_argument("action", choices=("list", "verify", "install"))
    p.add_argument("names", nargs="*", help="model names (default: all)")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="install: copy verified files from DIR instead of downloading")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(args.json)
    if args.action == "verify":
        return _verify()
    return _install(args.names, args.from_dir)


def _list(as_json: bool) -> int:
    rows = registry.status()
    if as_json:
        json_line({"models": rows})
        return 0
    specs = registry.specs()
    for row in rows:
        s = specs[row["name"]]
        state = "ok" if row["ok"] else ("missing" if row["path"] is None else "CORRUPT")
        origin = "third-party" if s.url else "fastlive"
        print(f"{row['name']:<18}{state:<9}{origin:<12}{row['path'] or s.filename}")
        if s.description:
            print(f"{'':<18}{s.description} ({s.license})")
    return 0


def _verify() -> int:
    rows = registry.status()
    bad = [r for r in rows if not r["ok"]]
    for r in rows:
        if r["ok"]:
            print(f"OK       {r['name']:<18}{r['path']}")
        elif r["path"] is None:
            print(f"MISSING  {r['name']:<18}{r['file']}")
        else:
            print(f"CORRUPT  {r['name']:<18}{r['error']}")
    if bad:
        raise CLIError(f"{len(bad)} of {len(rows)} model file(s) missing or corrupt; run "
                       "'fastlive models install' (or 'install --from DIR')")
    return 0


def _install(names: list[str], from_dir: str | None) -> int:
    if from_dir:
        try:
            paths = registry.install_from(from_dir, names or None)
        except registry.ModelNotFoundError as exc:
            raise CLIError(str(exc)) from exc
    else:
        paths = [registry.resolve(n, download=True) for n in names or list(registry.THIRD_PARTY)]
    for p in paths:
        print(f"installed {p}")
    return 0
