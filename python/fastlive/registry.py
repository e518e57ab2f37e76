"""Model registry: resolve model files by name, verify them, download them on first use.

Resolution order for a model ``name`` (first hit wins):

1. an explicit ``path`` argument (its sha256 must match the pinned one unless ``verify=False``);
2. ``$FASTLIVE_MODEL_DIR/<file>``;
3. the models shipped inside the package (fastlive's own trained models);
4. the user cache ``$FASTLIVE_CACHE_DIR`` or ``$XDG_CACHE_HOME/fastlive`` or ``~/.cache/fastlive``;
5. a download from the pinned upstream address (progress bar on stderr, sha256 checked before
   the file is moved into the cache). ``FASTLIVE_OFFLINE=1`` disables downloads.

A file whose sha256 does not match is refused with :class:`ModelIntegrityError`. A model that
cannot be found raises :class:`ModelNotFoundError` whose message says how to install it.

Strict mode (``FASTLIVE_STRICT=1``, ``Config(strict=True)``, ``--strict``): where fastlive
would otherwise run degraded without a model (Haar cascade instead of YuNet, no eye model, no
passive model: one RuntimeWarning and different scores), it raises instead
(:func:`strict_error`). :func:`strict` reads the environment variable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ModelNotFoundError(FileNotFoundError):
    """A model file is not available locally and could not be downloaded."""


class ModelIntegrityError(ValueError):
    """A model file exists but its sha256 does not match the pinned value."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    sha256: str
    url: str | None = None  # None: shipped inside the package only
    license: str = ""
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


THIRD_PARTY: dict[str, ModelSpec] = {
    "yunet": ModelSpec(
        "yunet",
        "face_detection_yunet_2023mar.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
        "face_detection_yunet_2023mar.onnx",
        "MIT (OpenCV Zoo)",
        "YuNet face detector (boxes + 5 keypoints)",
    ),
    "face_mesh": ModelSpec(
        "face_mesh",
        "face_landmark_mediapipe.onnx",
        "ed487104519b0a88cb2cb2ec3678e183f447fb9dd63560998e960ffbaa8fb335",
        "https://github.com/keijiro/FaceLandmarkBarracuda/raw/"
        "a58cb33127d5608571527a49cd61b1c3025e74e3/Packages/jp.keijiro.mediapipe.facelandmark/"
        "ONNX/face_landmark_barracuda.onnx",
        "Apache-2.0",
        "MediaPipe face mesh, 468 landmarks (eye contours for blinks, head pose)",
    ),
    "iris": ModelSpec(
        "iris",
        "iris_landmark_mediapipe.onnx",
        "3eb985960b80e6069812c2f20682b7a4194d80cf5a3a918ddb8d0b3ca72a6432",
        "https://github.com/keijiro/IrisBarracuda/raw/e1372d7285e060a10c233e0e88ca5a97ccaee99c/"
        "Packages/jp.keijiro.mediapipe.iris/ONNX/iris_landmark_barracuda.onnx",
        "Apache-2.0",
        "MediaPipe iris + eye contour landmarks",
    ),
}


def shipped_dirs() -> list[Path]:
    """Folders holding fastlive's own models: inside the installed package, and (for editable
    installs) the repository's top-level ``models/``."""
    here = Path(__file__).resolve().parent
    dirs = [here / "models", here.parent.parent / "models"]
    return [d for d in dirs if (d / "manifest.json").is_file()]


def shipped_manifest() -> dict[str, Any]:
    """The manifest of fastlive's own models (empty when none are shipped)."""
    for d in shipped_dirs():
        with open(d / "manifest.json", encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        data["_dir"] = str(d)
        return data
    return {"models": []}


def _shipped_specs() -> dict[str, ModelSpec]:
    out = {}
    for m in shipped_manifest().get("models", []):
        out[m["name"]] = ModelSpec(
            m["name"], m["file"], m["sha256"], None, m.get("license", ""),
            m.get("description", ""), meta=m,
        )
    return out


def specs() -> dict[str, ModelSpec]:
    """All known models by name (third-party and shipped)."""
    return {**THIRD_PARTY, **_shipped_specs()}


def spec(name: str) -> ModelSpec:
    all_specs = specs()
    if not isinstance(name, str) or name not in all_specs:
        raise ValueError(f"name: unknown model {name!r}; known models: {sorted(all_specs)}")
    return all_specs[name]


def cache_dir() -> Path:
    env = os.environ.get("FASTLIVE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "fastlive"


_TRUE = {"1", "true", "yes", "on"}


def offline() -> bool:
    return os.environ.get("FASTLIVE_OFFLINE", "").strip().lower() in _TRUE


def strict() -> bool:
    """True when ``FASTLIVE_STRICT`` is set (1, true, yes, on): fail instead of running
    degraded when a model is missing (see the module docstring)."""
    return os.environ.get("FASTLIVE_STRICT", "").strip().lower() in _TRUE


def strict_error(what: str, exc: BaseException) -> ModelNotFoundError:
    """The error strict mode raises where fastlive would run degraded without ``what``."""
    return ModelNotFoundError(
        f"{what} unavailable and strict mode is on (Config(strict=True), --strict or "
        f"FASTLIVE_STRICT=1: fail instead of running degraded): {exc}")


_verified: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def sha256_file(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _lock:
        hit = _verified.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _lock:
        _verified[key] = digest
    return digest


def verify(path: str | os.PathLike[str], model: ModelSpec | str) -> Path:
    """Check ``path`` against the pinned sha256 of ``model``; return the path or raise."""
    s = spec(model) if isinstance(model, str) else model
    p = Path(path)
    if not p.is_file():
        raise ModelNotFoundError(f"model {s.name!r}: file {p} does not exist")
    digest = sha256_file(p)
    if digest != s.sha256:
        raise ModelIntegrityError(
            f"model {s.name!r}: {p} has sha256 {digest}, expected {s.sha256}; the file is "
            "corrupted, truncated or not the pinned model. Delete it and run "
            "'fastlive models install' (or pass the correct file)."
        )
    return p


def _candidates(s: ModelSpec) -> list[Path]:
    out = []
    env = os.environ.get("FASTLIVE_MODEL_DIR")
    if env:
        out.append(Path(env).expanduser() / s.filename)
    if s.url is None:
        out.extend(d / s.filename for d in shipped_dirs())
    out.append(cache_dir() / s.filename)
    return out


def find(name: str) -> Path | None:
    """The first existing local file for ``name`` (not verified), or None."""
    for c in _candidates(spec(name)):
        if c.is_file():
            return c
    return None


def resolve(name: str, path: str | os.PathLike[str] | None = None, *, download: bool | None = None,
            verify_hash: bool = True) -> Path:
    """Return a verified local file for model ``name`` (see the module docstring for the order).

    ``download=None`` downloads unless FASTLIVE_OFFLINE is set. A local candidate that exists
    but fails the sha256 check is refused (never silently skipped).
    """
    s = spec(name)
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
        return verify(path, s) if verify_hash else Path(path)
    for c in _candidates(s):
        if c.is_file():
            return verify(c, s) if verify_hash else c
    if download is None:
        download = not offline()
    if download and s.url:
        return _download(s)
    where = ", ".join(str(c.parent) for c in _candidates(s))
    how = (
        f"run 'fastlive models install' (downloads from {s.url}), or copy {s.filename} into "
        "$FASTLIVE_MODEL_DIR, or 'fastlive models install --from DIR'"
        if s.url else "reinstall fastlive (this model ships inside the package)"
    )
    raise ModelNotFoundError(f"model {s.name!r} ({s.filename}) not found in {where}; {how}")


def _download(s: ModelSpec) -> Path:
    assert s.url is not None
    dest_dir = cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / s.filename
    fd, tmp = tempfile.mkstemp(prefix=s.filename + ".", suffix=".part", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(s.url, timeout=30) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                _progress(s.filename, done, total)
        sys.stderr.write("\n")
        digest = sha256_file(tmp)
        if digest != s.sha256:
            raise ModelIntegrityError(
                f"model {s.name!r}: download from {s.url} has sha256 {digest}, expected "
                f"{s.sha256}; refusing it"
            )
        os.replace(tmp, dest)
    except OSError as exc:
        raise ModelNotFoundError(
            f"model {s.name!r}: download from {s.url} failed ({exc}); copy {s.filename} into "
            "$FASTLIVE_MODEL_DIR or use 'fastlive models install --from DIR'"
        ) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _progress(label: str, done: int, total: int) -> None:
    if total:
        frac = done / total
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\rdownloading {label} [{bar:<30}] {frac:6.1%}")
    else:
        sys.stderr.write(f"\rdownloading {label} {done / 1e6:.1f} MB")
    sys.stderr.flush()


def install_from(directory: str | os.PathLike[str], names: list[str] | None = None) -> list[Path]:
    """Verify model files found in ``directory`` and copy them into the user cache."""
    src = Path(directory)
    if not src.is_dir():
        raise ModelNotFoundError(f"directory: {src} is not a folder")
    installed = []
    for n in names or list(THIRD_PARTY):
        s = spec(n)
        f = src / s.filename
        if not f.is_file():
            continue
        verify(f, s)
        dest = cache_dir() / s.filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        if f.resolve() != dest.resolve():
            shutil.copyfile(f, dest)
        installed.append(dest)
    if not installed:
        raise ModelNotFoundError(
            f"directory: no known model files in {src} (expected any of "
            f"{[THIRD_PARTY[n].filename for n in THIRD_PARTY]})"
        )
    return installed


def status() -> list[dict[str, Any]]:
    """One row per known model: name, file, where it resolves (or None) and whether it verifies."""
    rows = []
    for name, s in specs().items():
        p = find(name)
        row: dict[str, Any] = {"name": name, "file": s.filename, "path": str(p) if p else None,
                               "ok": False, "error": None}
        if p is not None:
            try:
                verify(p, s)
                row["ok"] = True
            except (ModelIntegrityError, ModelNotFoundError) as exc:
                row["error"] = str(exc)
        rows.append(row)
    return rows
