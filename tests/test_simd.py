"""SIMD dispatch: simd_info(), the FASTLIVE_SIMD override and a cheap `import fastlive`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import fastlive
from fastlive import _core, kernels

KNOWN = ["scalar", "avx2"]


def _run(code: str, **env: str) -> str:
    full = dict(os.environ)
    full.pop("FASTLIVE_SIMD", None)
    full.update(env)
    res = subprocess.run(
        [sys.executable, "-c", code],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def _info_in_subprocess(**env: str) -> dict:
    return json.loads(_run("import json, fastlive; print(json.dumps(fastlive.simd_info()))", **env))


def test_simd_info_structure():
    info = kernels.simd_info()
    assert set(info) == {"compiled", "supported", "active", "note"}
    assert isinstance(info["compiled"], list) and isinstance(info["supported"], list)
    assert isinstance(info["active"], str) and isinstance(info["note"], str)
    assert info["compiled"][0] == "scalar" and info["supported"][0] == "scalar"
    assert set(info["compiled"]) <= set(KNOWN)
    assert set(info["supported"]) <= set(info["compiled"])
    assert info["active"] in info["supported"]
    assert fastlive.simd_info() == info  # lazy top-level re-export


def test_default_is_best_supported_isa():
    info = _info_in_subprocess()
    assert info["active"] == info["supported"][-1]
    assert info["note"] == ""


def test_env_scalar_is_honoured():
    info = _info_in_subprocess(FASTLIVE_SIMD="scalar")
    assert info["active"] == "scalar"
    assert "honoured" in info["note"]


def test_env_is_case_insensitive():
    best = kernels.simd_info()["supported"][-1]
    info = _info_in_subprocess(FASTLIVE_SIMD=best.upper())
    assert info["active"] == best


def test_env_bogus_falls_back_to_scalar_with_note():
    info = _info_in_subprocess(FASTLIVE_SIMD="bogus")
    assert info["active"] == "scalar"
    assert "bogus" in info["note"] and "unknown" in info["note"] and "scalar" in info["note"]


def test_env_scalar_affects_kernels():
    # Kernels in a FASTLIVE_SIMD=scalar process give the same answer as the default process.
    code = (
        "import numpy as np, fastlive.kernels as k; "
        "g = np.random.default_rng(0).integers(0, 256, (50, 77), dtype=np.uint8); "
        "print(k.simd_info()['active'], k.lbp_histogram(g, (2, 2)).tobytes().hex())"
    )
    scalar = _run(code, FASTLIVE_SIMD="scalar").split()
    default = _run(code).split()
    assert scalar[0] == "scalar"
    assert scalar[1] == default[1]


def test_set_isa_round_trip_and_errors():
    prev = _core.simd_info()["active"]
    try:
        for name in _core.simd_info()["supported"]:
            _core._set_isa(name)
            assert _core.simd_info()["active"] == name
    finally:
        _core._set_isa(prev)
    with pytest.raises(ValueError, match="unknown name 'sse9'"):
        _core._set_isa("sse9")
    assert _core.simd_info()["active"] == prev
    if "avx2" not in _core.simd_info()["supported"]:
        with pytest.raises(ValueError, match="not supported"):
            _core._set_isa("avx2")


def test_import_is_cheap():
    out = _run(
        "import sys, fastlive, fastlive.kernels; fastlive.simd_info(); "
        "print(sorted(m for m in ('cv2', 'onnxruntime', 'torch', 'skimage') "
        "if m in sys.modules))"
    )
    assert out.strip() == "[]"
