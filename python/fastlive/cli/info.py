"""``fastlive info``: versions, SIMD paths, onnxruntime providers, model files."""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any

import numpy as np

import fastlive
from fastlive import kernels, passive, registry
from fastlive.cli.common import Subparsers, json_line


def add_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("info", parents=parents, help="versions, SIMD paths, providers, models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def collect() -> dict[str, Any]:
    """What ``fastlive info`` reports; a part that cannot be read says why."""
    info: dict[str, Any] = {"fastlive": fastlive.__version__, "python": platform.python_version(),
                            "platform": platform.platform(), "numpy": np.__version__}
    try:
        import cv2

        info["opencv"] = cv2.__version__
    except ImportError as exc:  # pragma: no cover - a dependency
        info["opencv"] = f"unavailable ({exc})"
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError as exc:  # pragma: no cover - a dependency
        info["onnxruntime"] = f"unavailable ({exc})"
    try:
        info["simd"] = kernels.simd_info()
    except Exception as exc:  # noqa: BLE001 - report, don't fail
        info["simd"] = f"unavailable ({exc})"
    info["model_dir_env"] = os.environ.get("FASTLIVE_MODEL_DIR")
    info["cache_dir"] = str(registry.cache_dir())
    info["models"] = registry.status()
    try:
        ps = passive.PassiveScorer()
        info["passive_models"] = {"version": ps.version, "thresholds": ps.thresholds}
    except Exception as exc:  # noqa: BLE001
        info["passive_models"] = f"unavailable ({exc})"
    return info


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        json_line(info)
        return 0
    for k in ("fastlive", "python", "platform", "numpy", "opencv", "onnxruntime"):
        print(f"{k:<22}{info.get(k)}")
    print(f"{'onnxruntime providers':<22}{', '.join(info.get('onnxruntime_providers', []))}")
    simd = info["simd"]
    if isinstance(simd, dict):
        print(f"{'SIMD':<22}" + ", ".join(f"{k}={v}" for k, v in simd.items()))
    else:
        print(f"{'SIMD':<22}{simd}")
    pm = info["passive_models"]
    if isinstance(pm, dict):
        th = ", ".join(f"{k} {v:.3f}" for k, v in pm["thresholds"].items())
        print(f"{'passive models':<22}version {pm['version']} (thresholds: {th})")
    else:
        print(f"{'passive models':<22}{pm}")
    print(f"{'FASTLIVE_MODEL_DIR':<22}{info['model_dir_env'] or '(unset)'}")
    print(f"{'model cache':<22}{info['cache_dir']}")
    print("model files:")
    for row in info["models"]:
        state = "ok" if row["ok"] else ("MISSING" if row["path"] is None else "CORRUPT")
        print(f"  {row['name']:<18}{state:<9}{row['path'] or row['file']}")
    return 0
