"""The hand-written stub python/fastlive/_core.pyi matches the compiled module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")


def test_core_stub_matches_runtime() -> None:
    allow = Path(__file__).with_name("stubtest_allowlist.txt")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "fastlive._core", "--allowlist", str(allow)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_is_cheap() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import fastlive, fastlive.kernels; "
        "dt = time.perf_counter() - t; "
        "print(dt, 'cv2' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    _, has_cv2, has_ort = out.stdout.split()
    assert has_cv2 == "False" and has_ort == "False"
