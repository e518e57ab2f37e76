"""fastlive: fast face liveness detection (presentation-attack detection).

``import fastlive`` is cheap: OpenCV and onnxruntime are imported only when first needed.

One image (a photo, a still): every face's single-image decision.

    >>> import fastlive
    >>> result = fastlive.score_frame(image_bgr)          # doctest: +SKIP
    >>> [(f.decision, round(f.score, 2)) for f in result.faces]  # doctest: +SKIP

A capture loop: pass each frame's time, so blinks and motion accumulate over one default
stream (a timestamp going back or a frame of another size starts a new one; so does
``fastlive.reset()``). ``LivenessDetector.new_session()`` gives one session per stream.

    >>> r = fastlive.score_frame(frame_bgr, timestamp=t)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# name -> module that defines it (imported lazily on first attribute access)
_LAZY = {
    "score_frame": "fastlive.api",
    "score_face": "fastlive.api",
    "reset": "fastlive.api",
    "LivenessDetector": "fastlive.api",
    "Config": "fastlive.config",
    "FrameResult": "fastlive.results",
    "FaceResult": "fastlive.results",
    "Session": "fastlive.session",
    "simd_info": "fastlive.kernels",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'fastlive' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
