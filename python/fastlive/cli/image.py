"""``fastlive image PATH...``: score image files (a folder: every image under it)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fastlive.capture import IMAGE_EXTS, read_image
from fastlive.cli.common import (
    CLIError,
    Subparsers,
    add_pipeline_flags,
    detector_from_args,
    detector_threshold,
    face_summary,
    json_line,
    output_dir,
    result_dict,
)
from fastlive.evaluate import result_field, score_still
from fastlive.overlay import draw_overlay


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("image", parents=parents, help="score image files",
                       description="Score image files; a folder gives every image under it, "
                       "subfolders included. Tight face crops where no face is detected are "
                       "scored as a whole face.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--output", metavar="DIR",
                   help="write annotated images to DIR (a folder's subfolders are mirrored)")
    add_pipeline_flags(p)
    p.set_defaults(func=run)


def expand_images(paths: Sequence[str]) -> list[tuple[str, Path]]:
    """(image path, where its annotated copy goes relative to --output) for each PATH: a folder
    gives every image file under it, subfolders included (sorted); a file stays as given."""
    out: list[tuple[str, Path]] = []
    for p in paths:
        pp = Path(p)
        if pp.is_dir():
            found = sorted(f for f in pp.rglob("*") if f.is_file()
                           and f.suffix.lower() in IMAGE_EXTS)
            if not found:
                raise CLIError(f"PATH: folder {p} holds no image files, subfolders included "
                               f"({', '.join(sorted(IMAGE_EXTS))})")
            out.extend((str(f), f.relative_to(pp).parent) for f in found)
        else:
            out.append((os.fspath(p), Path()))
    return out


def run(args: argparse.Namespace) -> int:
    items = expand_images(args.paths)
    if not items:
        raise CLIError("PATH: no image files given")
    det = None  # built at the first readable image (a missing file fails fast)
    out_dir = output_dir("--output", args.output) if args.output else None
    used: set[Path] = set()
    failures = 0
    for path, sub in items:
        try:
            img = read_image(path)
        except (OSError, ValueError) as exc:
            if len(items) == 1:
                raise CLIError(str(exc)) from exc
            failures += 1
            print(f"fastlive: error: {exc}", file=sys.stderr)
            continue
        if det is None:
            det = detector_from_args(args)
        t0 = time.perf_counter()
        res, method = score_still(det, img)
        ms = (time.perf_counter() - t0) * 1e3
        faces = list(result_field(res, "faces") or [])
        if args.json:
            json_line({"path": path, "method": method, **result_dict(res)})
        elif faces:
            extra = f" (+{len(faces) - 1} more)" if len(faces) > 1 else ""
            crop = " [whole image scored as a face crop]" if method == "crop" else ""
            print(f"{path}: {face_summary(faces[0])}{extra}{crop} {ms:.1f} ms")
        else:
            print(f"{path}: no face found")
        if out_dir is not None:
            annotated = draw_overlay(img, res, latency_ms=ms, threshold=detector_threshold(det))
            _write_annotated(out_dir / sub, Path(path).stem + "_fastlive", annotated, used)
    if failures:
        raise CLIError(f"{failures} of {len(items)} image(s) could not be read")
    return 0


def _write_annotated(folder: Path, stem: str, image: np.ndarray, used: set[Path]) -> None:
    """folder/stem.png; a second input of the same name gets stem_2.png (both are kept)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    dest, k = folder / f"{stem}.png", 1
    while dest in used:
        k += 1
        dest = folder / f"{stem}_{k}.png"
    used.add(dest)
    if not cv2.imwrite(str(dest), image):
        raise CLIError(f"--output: could not write {dest}")
