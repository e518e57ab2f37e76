"""Where the training data is, and its manifest.

``../shared/data`` (``FASTLIVE_SHARED``/data, or ``FASTLIVE_DATA_DIR``) holds real live and
attack images and videos with ``manifest.csv`` (path, label live|spoof, attack_type,
subject_id, source, original_dataset, media): read its README.md. Research-only licences: it is
read in place and never copied into this repository or the wheel.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CACHE_DIR = ROOT / "cache"


def default_data_dir() -> Path:
    env = os.environ.get("FASTLIVE_DATA_DIR")
    if env:
        return Path(env)
    shared = os.environ.get("FASTLIVE_SHARED")
    if shared:
        return Path(shared) / "data"
    return ROOT.parent.parent / "shared" / "data"


def read_manifest(data_dir: Path) -> list[dict[str, str]]:
    with open(Path(data_dir) / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
