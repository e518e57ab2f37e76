"""Training-time augmentation of aligned uint8 BGR crops (numpy + OpenCV, seeded).

* photometric: exposure, contrast, gamma, white balance, sensor noise, blur, JPEG;
* resolution: down- then up-sampling (so the camera's resolution is not a proxy for the label);
* geometric: flips, small rotations / shifts / zooms (border replicated, like the runtime warp);
* synthetic attacks rendered from live faces (label: attack):
  print  - colour-gamut compression, halftone dots, paper texture, bending, specular glare;
  replay - screen subpixel grid (moire after resampling), screen gamma and colour cast, glare,
           refresh banding, bezels at the crop edge.

Synthetic attacks are training help only: every reported number comes from real captures.
"""

from __future__ import annotations

import cv2
import numpy as np


def _f(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def resolution(img: np.ndarray, rng: np.random.Generator, lo: float = 0.3) -> np.ndarray:
    """Down-sample by a random factor, then back up (random filters)."""
    h, w = img.shape[:2]
    r = rng.uniform(lo, 1.0)
    sw, sh = max(8, round(w * r)), max(8, round(h * r))
    down = [cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_NEAREST][rng.integers(3)]
    up = [cv2.INTER_LINEAR, cv2.INTER_CUBIC][rng.integers(2)]
    small = cv2.resize(img, (sw, sh), interpolation=down)
    return cv2.resize(small, (w, h), interpolation=up)


def frame_noise(img: np.ndarray, rng: np.random.Generator, lo: float = 0.0,
                hi: float = 5.0) -> np.ndarray:
    """Sensor noise added to a whole source image (a frame or tight crop, before detection and
    alignment): white Gaussian noise, independent per pixel and channel, of a standard deviation
    drawn uniformly from [``lo``, ``hi``] grey levels. The alignment then resamples it the way
    it resamples a noisier camera's frame (area prefilter, bilinear warp)."""
    s = rng.uniform(lo, hi)
    return np.clip(img + rng.normal(0.0, s, img.shape) + 0.5, 0, 255).astype(np.uint8)


def frame_resolution(img: np.ndarray, rng: np.random.Generator, face_side: float, lo: float,
                     hi: float, *, jpeg_quality: int | None = None) -> np.ndarray:
    """A lower-resolution camera, on a whole source image (before detection and alignment): the
    image is downscaled (``cv2.INTER_AREA``, as a sensor with fewer pixels integrates the light)
    so that the face, ``face_side`` pixels across, becomes a side drawn uniformly from [``lo``,
    ``hi``] pixels, and returned at that smaller size, as such a camera would deliver it
    (``training.data.load`` scales the face's box and keypoints with it, and the alignment
    then enlarges the face as it enlarges a low-resolution camera's face). Unchanged where the
    face is already no larger than the side drawn. ``jpeg_quality``: the low-resolution image
    is also JPEG-compressed at that quality (a webcam's MJPEG stream).

    (Until round 9 the image was upscaled back to its own size so the face kept its
    coordinates; the alignment's area prefilter then smoothed that upscale, and the crop
    differed from a genuinely low-resolution frame's about as much as the resolution change
    itself: models/README.md, round 9.)"""
    t = rng.uniform(lo, hi)
    r = t / max(float(face_side), 1.0)
    if r >= 1.0:
        return img
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, round(w * r)), max(1, round(h * r))),
                       interpolation=cv2.INTER_AREA)
    if jpeg_quality is not None:
        small = jpeg(small, jpeg_quality)
    return small


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = _f(img)
    if rng.random() < 0.8:  # exposure / contrast / gamma
        x = x * rng.uniform(0.6, 1.4)
        m = x.mean()
        x = (x - m) * rng.uniform(0.7, 1.3) + m
        x = np.clip(x, 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.6:  # white balance
        x = x * rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    if rng.random() < 0.4:  # sensor noise
        x = x + rng.normal(0, rng.uniform(0.005, 0.04), size=x.shape).astype(np.float32)
    out = _u8(x)
    if rng.random() < 0.3:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), rng.uniform(0.3, 1.2))
    if rng.random() < 0.5:
        out = resolution(out, rng)
    if rng.random() < 0.5:
        out = jpeg(out, int(rng.integers(30, 96)))
    return out


def edge_streaks(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A face partly outside the frame: one (sometimes two) crop sides replaced by the
    replicated edge row/column over 5-35 % of the crop (what the replicate border of the
    alignment warp produces there)."""
    out = img.copy()
    h, w = out.shape[:2]
    for _ in range(1 + int(rng.random() < 0.3)):
        side = int(rng.integers(4))
        k = int(rng.uniform(0.05, 0.35) * (w if side < 2 else h))
        if k < 1:
            continue
        if side == 0:
            out[:, :k] = out[:, k:k + 1]
        elif side == 1:
            out[:, w - k:] = out[:, w - k - 1:w - k]
        elif side == 2:
            out[:k] = out[k:k + 1]
        else:
            out[h - k:] = out[h - k - 1:h - k]
    return out


def invariance(img: np.ndarray, rng: np.random.Generator, *,
               wb_jpeg: bool = True) -> np.ndarray:
    """Label-preserving changes the texture classifier must not read as liveness: a face cut
    by the frame edge (edge_streaks), exposure (x0.5-3, clipped), gamma 0.4-1.6, white balance
    (x0.85-1.15 per channel), grayscale, lower resolution, JPEG recompression (quality 30-95),
    horizontal mirror. Applied to live and attack crops alike (texture training; see
    training/README.md). White balance and JPEG came in round 4 (``wb_jpeg=False``: the
    round-3 version): compared with and without them in ``python -m training.sweep
    --robustness``."""
    if rng.random() < 0.5:
        img = edge_streaks(img, rng)
    x = _f(img)
    if rng.random() < 0.5:
        x = x * rng.uniform(0.5, 3.0)
    if rng.random() < 0.5:
        x = np.clip(x, 0, 1) ** rng.uniform(0.4, 1.6)
    if wb_jpeg and rng.random() < 0.5:
        x = x * rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    out = _u8(x)
    if rng.random() < 0.2:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.3:
        h, w = out.shape[:2]
        r = rng.uniform(0.4, 0.9)
        small = cv2.resize(out, (round(w * r), round(h * r)), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if wb_jpeg and rng.random() < 0.5:
        out = jpeg(out, int(rng.integers(30, 96)))
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def geometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if rng.random() < 0.7:
        ang = rng.uniform(-10, 10)
        sc = rng.uniform(0.9, 1.1)
        m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), ang, sc)
        m[:, 2] += rng.uniform(-0.05, 0.05, size=2) * np.array([w, h])
        img = cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(img)


# -- synthetic attacks ----------------------------------------------------------------------------
def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    n = rng.normal(0, 1, size=shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-6)


def _glare(x: np.ndarray, rng: np.random.Generator, strength: tuple[float, float]) -> np.ndarray:
    h, w = x.shape[:2]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    sy, sx = rng.uniform(0.1, 0.5) * h, rng.uniform(0.1, 0.5) * w
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    blob = np.exp(-(((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2) / 2)
    a = rng.uniform(*strength)
    return x + a * blob[..., None] * (1.0 - x * 0.5)


def _grid_resample(x: np.ndarray, rng: np.random.Generator, pattern: str) -> np.ndarray:
    """Multiply by a fine periodic pattern at higher resolution, rotate, area-downsample:
    the aliasing makes the moire a camera sees on a screen or a halftone print."""
    h, w = x.shape[:2]
    up = int(rng.integers(3, 6))
    big = cv2.resize(x, (w * up, h * up), interpolation=cv2.INTER_LINEAR)
    H, W = big.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    u = xx * np.cos(ang) + yy * np.sin(ang)
    v = -xx * np.sin(ang) + yy * np.cos(ang)
    period = rng.uniform(2.2, 4.5)
    if pattern == "subpixel":  # RGB stripes (BGR channel order)
        ph = (u / period) % 1.0
        mask = np.stack([(ph >= 2 / 3), ((ph >= 1 / 3) & (ph < 2 / 3)), (ph < 1 / 3)], -1)
        depth = rng.uniform(0.3, 0.8)
        mask = 1.0 - depth + depth * 3.0 * mask.astype(np.float32)
        rows = 1.0 - rng.uniform(0.0, 0.3) * (((v / period) % 1.0) < 0.2)
        big = big * mask * rows[..., None]
    else:  # halftone dots
        lum = big.mean(-1, keepdims=True)
        dots = 0.5 + 0.25 * (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period))
        depth = rng.uniform(0.2, 0.6)
        big = big * (1 - depth) + depth * big * (dots[..., None] < lum + 0.1)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)


def synth_print(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A printed-photo attack rendered from a live crop."""
    x = _f(img)
    gray = x.mean(-1, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.4, 0.9)  # gamut: desaturate
    lo, hi = rng.uniform(0.03, 0.18), rng.uniform(0.75, 0.95)
    x = lo + (hi - lo) * x  # ink black / paper white
    if rng.random() < 0.6:
        x = _grid_resample(x, rng, "halftone")
    if rng.random() < 0.6:  # paper texture
        x = x * (1 + rng.uniform(0.01, 0.05) * _smooth_noise(x.shape[:2], rng, 0.7)[..., None])
    if rng.random() < 0.4:  # bending: smooth horizontal displacement
        h, w = x.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        amp = rng.uniform(1, 4)
        mapx = xx + amp * np.sin(np.pi * yy / h * rng.uniform(0.5, 1.5)).astype(np.float32)
        x = cv2.remap(x, mapx, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.4:
        x = _glare(x, rng, (0.15, 0.5))
    out = _u8(x)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.0))
    return out


def synth_replay(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A screen-replay attack rendered from a live crop."""
    x = _f(img)
    x = np.clip(x, 0, 1) ** rng.uniform(0.6, 1.5)  # screen gamma
    cast = np.array([rng.uniform(1.0, 1.25), rng.uniform(0.9, 1.1), rng.uniform(0.8, 1.05)],
                    np.float32)  # BGR: usually bluish
    x = x * cast
    gray = x.mean(-1, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.9, 1.4)  # over-saturated panels
    if rng.random() < 0.7:
        x = _grid_resample(np.clip(x, 0, 1), rng, "subpixel")
    if rng.random() < 0.3:  # refresh banding
        h = x.shape[0]
        yy = np.arange(h, dtype=np.float32)[:, None, None]
        x = x * (1 + rng.uniform(0.02, 0.08) * np.sin(2 * np.pi * yy / rng.uniform(6, 30)
                                                       + rng.uniform(0, 6.3)))
    if rng.random() < 0.4:
        x = _glare(x, rng, (0.1, 0.4))
    out = _u8(x)
    if rng.random() < 0.3:  # bezel at one or two crop edges
        h, w = out.shape[:2]
        val = int(rng.integers(0, 45))
        for _ in range(int(rng.integers(1, 3))):
            bw = int(rng.integers(2, max(3, w // 6)))
            side = int(rng.integers(4))
            if side == 0:
                out[:, :bw] = val
            elif side == 1:
                out[:, -bw:] = val
            elif side == 2:
                out[:bw] = val
            else:
                out[-bw:] = val
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.0))
    return out


def synth_attack(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return synth_print(img, rng) if rng.random() < 0.5 else synth_replay(img, rng)
