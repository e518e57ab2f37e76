"""Frame validation and colour conversion shared by every entry point.

fastlive works on HxWx3 uint8 BGR frames (the OpenCV convention) of any size and row stride.
Other layouts are accepted only when the caller says what they are (``color=``):

========  ===========================  =====================================
color     accepted shape               conversion
========  ===========================  =====================================
"bgr"     (H, W, 3)                    none (row-strided views are used as is)
"rgb"     (H, W, 3)                    channels reversed
"gray"    (H, W) or (H, W, 1)          replicated to 3 channels
"bgra"    (H, W, 4)                    alpha dropped
"rgba"    (H, W, 4)                    alpha dropped, channels reversed
========  ===========================  =====================================

Anything else (None, non-arrays, float/bool/int16 data, empty or 0-size frames, other ndims)
raises TypeError/ValueError naming the argument and the fix; nothing is cast silently.
"""

from __future__ import annotations

import numpy as np

COLORS = ("bgr", "rgb", "gray", "bgra", "rgba")
MIN_SIDE = 8


def as_bgr(frame: object, name: str = "frame", color: str = "bgr") -> np.ndarray:
    """Validate ``frame`` and return an HxWx3 uint8 BGR view or converted copy."""
    if color not in COLORS:
        raise ValueError(f"color: expected one of {COLORS}, got {color!r}")
    if frame is None:
        raise TypeError(f"{name}: expected an HxWx3 uint8 numpy array (BGR), got None")
    if not isinstance(frame, np.ndarray):
        raise TypeError(
            f"{name}: expected an HxWx3 uint8 numpy array (BGR), got {type(frame).__name__}; "
            "decode images with cv2.imread / convert with numpy.asarray"
        )
    if frame.dtype != np.uint8:
        hint = ("scale and convert explicitly, e.g. np.clip(x * 255, 0, 255).astype(np.uint8)"
                if frame.dtype.kind == "f" else "convert explicitly with .astype(np.uint8)")
        raise TypeError(f"{name}: expected dtype uint8, got {frame.dtype}; {hint}")
    if frame.size == 0:
        raise ValueError(f"{name}: empty frame of shape {frame.shape}; pass a decoded image")
    if frame.ndim not in (2, 3):
        raise ValueError(
            f"{name}: expected an (H, W, 3) BGR frame, got a {frame.ndim}-D array of shape "
            f"{frame.shape}" + ("; pass one frame at a time" if frame.ndim == 4 else "")
        )
    h, w = frame.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(
            f"{name}: frame of shape {frame.shape} is too small; need at least "
            f"{MIN_SIDE}x{MIN_SIDE} pixels"
        )
    c = 1 if frame.ndim == 2 else frame.shape[2]
    expected = {"bgr": 3, "rgb": 3, "gray": 1, "bgra": 4, "rgba": 4}[color]
    if c != expected:
        guess = {1: "color='gray'", 3: "color='bgr' (or 'rgb')", 4: "color='bgra' (or 'rgba')"}
        fix = f"; pass {guess[c]}" if c in guess else ""
        raise ValueError(
            f"{name}: color={color!r} expects {expected} channel(s), got shape {frame.shape}{fix}"
        )
    if frame.ndim == 3 and (frame.strides[2] != 1 or frame.strides[1] != c):
        frame = np.ascontiguousarray(frame)  # pixels must be contiguous within a row
    elif frame.strides[0] < 0 or (frame.ndim == 2 and frame.strides[1] != 1):
        frame = np.ascontiguousarray(frame)
    if color == "bgr":
        return frame
    if color == "rgb":
        return np.ascontiguousarray(frame[:, :, ::-1])
    if color == "gray":
        g = frame if frame.ndim == 2 else frame[:, :, 0]
        return np.repeat(g[:, :, None], 3, axis=2)
    bgr = np.ascontiguousarray(frame[:, :, :3])
    return bgr if color == "bgra" else np.ascontiguousarray(bgr[:, :, ::-1])
