"""The version has one source, fastlive.__version__: the package metadata and the compiled core
carry the same one."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import fastlive
from fastlive import _core

ROOT = Path(__file__).resolve().parents[1]


def test_metadata_and_core_carry_the_package_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", fastlive.__version__)
    assert importlib.metadata.version("fastlive") == fastlive.__version__
    assert _core.__version__ == fastlive.__version__


def test_pyproject_reads_the_version_from_the_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^dynamic = \["version"\]', text, re.M)
    assert not re.search(r"^version\s*=", text, re.M)
