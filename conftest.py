"""Shared pytest configuration for tests/ and benchmarks/.

Tests run against the *installed* fastlive (``pip install -e .`` or ``pip install .``).
Real data and third-party models come from ``../shared`` (never copied into the repo): set
FASTLIVE_SHARED to point elsewhere. The model registry is pointed at ``../shared/models``
unless FASTLIVE_MODEL_DIR is already set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "default", deadline=None, max_examples=60,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "fuzz", deadline=None, max_examples=5000,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # hypothesis is part of the [test] extra
    pass

ROOT = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("FASTLIVE_SHARED", ROOT.parent / "shared")).resolve()

if "FASTLIVE_MODEL_DIR" not in os.environ and (SHARED / "models").is_dir():
    os.environ["FASTLIVE_MODEL_DIR"] = str(SHARED / "models")
# Never reach for the network from tests.
os.environ.setdefault("FASTLIVE_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} not present (set FASTLIVE_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def data_dir(shared_dir: Path) -> Path:
    return shared_dir / "data"


@pytest.fixture(scope="session")
def models_dir(shared_dir: Path) -> Path:
    return shared_dir / "models"


# One real frame with one face (640x480 NUAA live frame), read-only, for tests that need "a
# frame with a face" (modules may define their own ``frame`` fixture instead).
LIVE_FRAME = "nuaa/live/0001/0001_00_00_01_0.jpg"


@pytest.fixture(scope="session")
def frame(data_dir: Path):
    import cv2

    img = cv2.imread(str(data_dir / LIVE_FRAME))
    assert img is not None, LIVE_FRAME
    img.flags.writeable = False
    return img
