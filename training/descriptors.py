"""Other face descriptors compared with the shipped colour LBP on the cross-source protocol.

    nice python -m training.sweep --descriptors     # about 3-4 min on the shared 2-core box

Each descriptor is computed on the shipped texture crop (``DEFAULT_TEXTURE_SPEC``: 160 px,
1.25x context) of every image and of its ``augment.invariance`` copy, then goes through the
same leave-one-source-out fit as the shipped texture model (``texture.train``: standardized,
nuisance projection, logistic regression). None of them is shipped; they are here so that the
negative results behind the shipped design can be rerun:

* texture descriptors from the colour-texture face anti-spoofing literature, on the same HSV
  channels (hue shifted by 60 as shipped): co-occurrence of adjacent LBPs (CoALBP, 4-neighbour
  codes, distance 2, four directions), local phase quantization (LPQ, 7x7 window);
* other channels for the shipped LBP: difference-of-Gaussians band-passes of the gray crop (the
  NUAA paper's preprocessing), log-opponent chromaticity (log R - log G, log R + log G - 2 log B:
  exactly invariant to per-channel gains), the hue compared on its circle instead of shifted;
* LBP variants on the shipped channels: neighbours counted from one level below the centre
  (n >= c - 1), local ternary patterns (two histograms, t = 2);
* features of networks trained on many real faces, average- and std-pooled over the crop:
  the MediaPipe face-mesh encoder (three stages) and the YuNet detector backbone (three stages),
  both from ``../shared/models`` (the runtime does not run them on the crop); and (round 12)
  the MediaPipe iris network's five stages on the crop's two eye patches, which the runtime
  runs on every face for the blink cue.

The LBP codes here are computed with numpy (``lbp_codes``, same neighbourhood, uniform mapping
and mirror folding as the C++ kernel: round 5's features (all four bands) come out exactly,
checked by tests/test_training_smoke.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

# 8 neighbours, clockwise from the top-left, as fastlive's kernel walks them: (dy, dx)
_NB = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
_MIRROR = (2, 1, 0, 7, 6, 5, 4, 3)  # the neighbour a horizontal mirror puts in each place


def _uniform_table() -> np.ndarray:
    out = np.full(256, 58, np.int64)
    k = 0
    for c in range(256):
        bits = [(c >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            out[c] = k
            k += 1
    return out


_UNIFORM = _uniform_table()


def _fold_table() -> np.ndarray:
    classes: dict[int, set[int]] = {}
    for c in range(256):
        m = sum(((c >> i) & 1) << _MIRROR[i] for i in range(8))
        a, b = int(_UNIFORM[c]), int(_UNIFORM[m])
        classes.setdefault(min(a, b), set()).update({a, b})
    fold = np.zeros(59, np.int64)
    for j, cls in enumerate(sorted(tuple(sorted(v)) for v in classes.values())):
        fold[list(cls)] = j
    return fold


_FOLD = _fold_table()
N_CLASSES = int(_FOLD.max()) + 1  # 35


def lbp_codes(ch: np.ndarray, *, margin: int = 0, circular: int = 0) -> np.ndarray:
    """8-bit LBP codes (radius 1) of the interior of a 2-D integer image: bit i set when
    neighbour i >= centre + ``margin``; ``circular`` > 0: values on a circle of that period,
    bit set when the neighbour lies less than half a turn ahead of the centre."""
    x = ch.astype(np.int32)
    c = x[1:-1, 1:-1]
    h, w = x.shape
    code = np.zeros(c.shape, np.int32)
    for i, (dy, dx) in enumerate(_NB):
        n = x[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx]
        bit = ((n - c) % circular < circular // 2) if circular else (n >= c + margin)
        code |= bit.astype(np.int32) << i
    return code


def band_histograms(code: np.ndarray, bands: int = 4) -> np.ndarray:
    """Mirror-folded uniform histograms of ``code`` in horizontal bands, square-rooted (the
    shipped features' layout for one channel)."""
    out = []
    n = code.shape[0]
    for b in range(bands):
        part = code[b * n // bands:(b + 1) * n // bands]
        hist = np.bincount(_FOLD[_UNIFORM[part.ravel()]], minlength=N_CLASSES).astype(np.float64)
        out.append(np.sqrt(hist / max(hist.sum(), 1.0)))
    return np.concatenate(out)


def _hsv(crop: np.ndarray, shift: int = 60) -> np.ndarray:
    import cv2

    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).astype(np.int32)
    hsv[:, :, 0] = (hsv[:, :, 0] + shift) % 180
    return hsv


def hsv_lbp(crop: np.ndarray, *, margin: int = 0, circular_hue: bool = False,
            ternary: int | None = None) -> np.ndarray:
    """Round 5's features (H shifted by 60, S, V; all 4 bands; mirror-folded) with numpy codes;
    ``margin``/``circular_hue``/``ternary`` change how neighbours are compared."""
    hsv = _hsv(crop, 0 if circular_hue else 60)
    parts = []
    for k in range(3):
        ch = hsv[:, :, k]
        if ternary is not None:
            parts += [band_histograms(lbp_codes(ch, margin=ternary)),
                      band_histograms(lbp_codes(-ch, margin=ternary))]
        elif k == 0 and circular_hue:
            parts.append(band_histograms(lbp_codes(ch, circular=180)))
        else:
            parts.append(band_histograms(lbp_codes(ch, margin=margin)))
    return np.concatenate(parts)


def _lbp_of_channels(chans: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([band_histograms(lbp_codes(np.clip(np.rint(c), 0, 255)))
                           for c in chans])


def dog_lbp(crop: np.ndarray) -> np.ndarray:
    """LBP of three difference-of-Gaussians band-passes of the gray crop (sigma 0-1, 0.5-2,
    1-4), each scaled by its standard deviation."""
    import cv2

    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    chans = []
    for s1, s2 in ((0.0, 1.0), (0.5, 2.0), (1.0, 4.0)):
        a = g if s1 == 0 else cv2.GaussianBlur(g, (0, 0), s1)
        d = a - cv2.GaussianBlur(g, (0, 0), s2)
        chans.append(d / (d.std() + 1e-3) * 32 + 128)
    return _lbp_of_channels(chans)


def log_opponent_lbp(crop: np.ndarray) -> np.ndarray:
    """LBP of log R - log G, log R + log G - 2 log B (x100, x50) and the intensity."""
    x = crop.astype(np.float32) + 1.0
    lb, lg, lr = np.log(x[..., 0]), np.log(x[..., 1]), np.log(x[..., 2])
    return _lbp_of_channels([(lr - lg) * 100 + 128, (lr + lg - 2 * lb) * 50 + 128,
                             x.mean(2) - 1])


def coalbp(crop: np.ndarray, d: int = 2) -> np.ndarray:
    """Co-occurrence of adjacent LBPs (4-neighbour codes, 16 values) at distance ``d`` in four
    directions, per HSV channel: 3 x 4 x 256 square-rooted frequencies."""
    hsv = _hsv(crop)
    out = []
    for k in range(3):
        x = hsv[:, :, k]
        c = x[1:-1, 1:-1]
        code = ((x[:-2, 1:-1] >= c).astype(np.int32) | ((x[1:-1, 2:] >= c) << 1)
                | ((x[2:, 1:-1] >= c) << 2) | ((x[1:-1, :-2] >= c) << 3))
        h, w = code.shape
        for dy, dx in ((0, d), (d, 0), (d, d), (-d, d)):
            if dy < 0:
                a, b = code[-dy:, :w - dx], code[:h + dy, dx:]
            else:
                a, b = code[:h - dy, :w - dx], code[dy:, dx:]
            hist = np.bincount((a * 16 + b).ravel(), minlength=256).astype(np.float64)
            out.append(np.sqrt(hist / hist.sum()))
    return np.concatenate(out)


def lpq(crop: np.ndarray, win: int = 7) -> np.ndarray:
    """Local phase quantization per HSV channel: signs of the real and imaginary parts of the
    short-term Fourier transform at 4 low frequencies (``win`` x ``win`` window) -> 256 codes."""
    import cv2

    r = (win - 1) // 2
    xs = np.arange(-r, r + 1, dtype=np.float64)
    w0, w1 = np.ones_like(xs), np.exp(-2j * np.pi * xs / win)
    hsv = _hsv(crop).astype(np.float32)

    def sep(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(x, cv2.CV_32F, a.astype(np.float32), b.astype(np.float32))

    out = []
    for k in range(3):
        x = hsv[:, :, k]
        code = np.zeros(x.shape, np.int32)
        bit = 0
        for kx, ky in ((w1, w0), (w0, w1), (w1, w1), (w1, np.conj(w1))):
            re = sep(x, kx.real, ky.real) - sep(x, kx.imag, ky.imag)
            im = sep(x, kx.real, ky.imag) + sep(x, kx.imag, ky.real)
            for part in (re, im):
                code |= (part > 0).astype(np.int32) << bit
                bit += 1
        hist = np.bincount(code[r:-r, r:-r].ravel(), minlength=256).astype(np.float64)
        out.append(np.sqrt(hist / hist.sum()))
    return np.concatenate(out)


def network_features(model: str, outputs: tuple[str, ...], *, input_name: str,
                     size: int, rgb01: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Average- and std-pooled activations of ``outputs`` of the registry model ``model``
    (cut after them with onnx.utils.extract_model), on the crop resized to ``size`` (RGB / 255
    when ``rgb01``, else BGR 0-255)."""
    import tempfile

    import cv2
    import onnx
    import onnxruntime as ort

    from fastlive import registry

    m = onnx.load(str(registry.resolve(model, download=False)))
    del m.graph.value_info[:]  # shapes inferred for the original input size
    for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, (1, 3, size, size)):
        d.dim_value = v
    with tempfile.TemporaryDirectory() as tmp:
        full, cut = f"{tmp}/full.onnx", f"{tmp}/cut.onnx"
        onnx.save(m, full)
        onnx.utils.extract_model(full, cut, [input_name], list(outputs))
        sess = ort.InferenceSession(cut, providers=["CPUExecutionProvider"])

    def feats(crop: np.ndarray) -> np.ndarray:
        img = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        x = img[:, :, ::-1].astype(np.float32) / 255.0 if rgb01 else img.astype(np.float32)
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        res = sess.run(list(outputs), {input_name: x})
        return np.concatenate([np.concatenate([a.mean((2, 3)), a.std((2, 3))], 1)[0] for a in res])

    return feats


def eye_patches(fn: Callable[[np.ndarray], np.ndarray], crop_scale: float,
                side: float = 1.1) -> Callable[[np.ndarray], np.ndarray]:
    """``fn`` on the two eye patches of an eye-aligned crop made at ``crop_scale``
    (fastlive.align's template eye positions; square, ``side`` times the distance between the
    eyes; the left eye mirrored, as MediaPipe's iris model takes it), averaged."""
    import cv2

    from fastlive.align import TEMPLATE_5, TEMPLATE_CENTER

    def feats(crop: np.ndarray) -> np.ndarray:
        eyes = (TEMPLATE_CENTER + (TEMPLATE_5[:2] - TEMPLATE_CENTER) / crop_scale) * crop.shape[1]
        n = int(round(side * float(np.linalg.norm(eyes[1] - eyes[0]))))
        right = cv2.getRectSubPix(crop, (n, n), tuple(map(float, eyes[0])))
        left = cv2.getRectSubPix(crop, (n, n), tuple(map(float, eyes[1])))[:, ::-1]
        return (fn(right) + fn(np.ascontiguousarray(left))) / 2

    return feats


def descriptors() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """name -> function(crop) -> 1-D features, in the table's order."""
    from fastlive.passive import DEFAULT_TEXTURE_SPEC

    return {
        "round 5: all four bands, numpy codes (check)": hsv_lbp,
        "CoALBP (HSV)": coalbp,
        "LPQ (HSV)": lpq,
        "LBP of gray difference-of-Gaussians": dog_lbp,
        "LBP of log-opponent chromaticity + intensity": log_opponent_lbp,
        "LBP, hue compared on its circle": lambda c: hsv_lbp(c, circular_hue=True),
        "LBP, neighbour >= centre - 1": lambda c: hsv_lbp(c, margin=-1),
        "local ternary patterns, t = 2": lambda c: hsv_lbp(c, ternary=2),
        "MediaPipe face-mesh encoder, pooled": network_features(
            "face_mesh", ("p_re_lu_5", "p_re_lu_8", "p_re_lu_11"),
            input_name="input_1", size=192, rgb01=True),
        "YuNet backbone, pooled": network_features(
            "yunet", ("201", "214", "232"),
            input_name="input", size=160, rgb01=False),
        # round 12: the network the runtime already runs on each eye (fastlive.landmarks)
        "MediaPipe iris network on the two eye patches, pooled": eye_patches(network_features(
            "iris", ("p_re_lu_8", "p_re_lu_18", "p_re_lu_24", "p_re_lu_30", "p_re_lu_36"),
            input_name="input_1", size=64, rgb01=True), DEFAULT_TEXTURE_SPEC.scale),
    }
