"""Image bytes -> BGR frames, with the size checked from the header before anything is decoded
(a few bytes of header can announce a multi-gigapixel image)."""

from __future__ import annotations

import os
import struct
from typing import Any

# OpenCV's own cap, in case a format slips past the header check (set before cv2 is imported)
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(4096 * 4096))


class ImageError(ValueError):
    """Bytes that are not an acceptable image; the message says why."""


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) from a JPEG or PNG header; ImageError for anything else."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return "png", int(w), int(h)
    if len(data) >= 4 and data[:2] == b"\xff\xd8":
        i, n = 2, len(data)
        while i + 4 <= n:
            if data[i] != 0xFF:
                raise ImageError("not a valid JPEG (bad marker)")
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg = struct.unpack(">H", data[i + 2:i + 4])[0]
            if seg < 2:
                raise ImageError("not a valid JPEG (bad segment length)")
            if marker in _SOF:
                if i + 9 > n:
                    break
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return "jpeg", int(w), int(h)
            if marker in (0xD9, 0xDA):  # end of image / start of scan before a frame header
                break
            i += 2 + seg
        raise ImageError("not a valid JPEG (no frame header)")
    raise ImageError("not a JPEG or PNG image")


def decode(data: bytes, *, max_side: int, min_side: int = 1) -> Any:
    """Decode JPEG/PNG bytes to an HxWx3 uint8 BGR array, refusing sizes outside
    [min_side, max_side] (either side) from the header, before decoding."""
    fmt, w, h = image_size(data)
    if w < 1 or h < 1:
        raise ImageError(f"{fmt} image with an empty size ({w}x{h})")
    if max(w, h) > max_side:
        raise ImageError(f"image of {w}x{h} pixels: larger than {max_side} pixels a side")
    if min(w, h) < min_side:
        raise ImageError(f"image of {w}x{h} pixels: smaller than {min_side} pixels a side")
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.ndim != 3 or img.shape[2] != 3:
        raise ImageError(f"undecodable {fmt} image")
    if img.shape[:2] not in ((h, w), (w, h)):  # a header that lied (EXIF turns may swap)
        raise ImageError(f"{fmt} image decoded to {img.shape[1]}x{img.shape[0]}, its header "
                         f"said {w}x{h}")
    return img
