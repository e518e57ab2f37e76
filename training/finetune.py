"""Fine-tuning a pretrained MiniFASNet on ``../shared/data``: the layers after ``CUT`` only.

The network's first layers (to the end of its 10x10 stage, ``CUT``) stay as pretrained; their
output for every row's input crop, and for its mirror image, is computed once and cached
(``activations``). Training runs the rest of the network (the 5x5 stage and the head) on those
cached activations: every training source weighs the same and live and attack weigh the same
within it (rows drawn with ``calibrate.balanced_weights``), each draw mirrored or not at random,
binary cross-entropy on the network's liveness logit log(P(live) / P(attack)) (its three-way
softmax: 2-D attack, live, 3-D attack), Adam. A held-out row is scored as the mean of its two
copies' logits; at run time (one crop) the unmirrored logit is used.

The result is the whole network (frozen first layers + trained rest), exported to ONNX with the
input and output conventions of the pretrained file (``fastlive.minifasnet``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from training import calibrate, data, onnx_torch

CUT = "/conv_4/model/model.5/Add_output_0"
EPOCHS = 3
LR = 1e-4
BATCH = 64


def _torch() -> Any:
    import torch

    torch.set_num_threads(1)
    return torch


def load(path: Path) -> Any:
    """The pretrained network at ``path`` as a trainable module (training.onnx_torch)."""
    return onnx_torch.load(path)


def activations(net_path: Path, crops: np.ndarray, *, cache: bool = True,
                verbose: bool = True) -> np.ndarray:
    """(2, N, C, H, W) float16: the output at ``CUT`` of every crop (index 0) and of its mirror
    image (index 1). ``crops``: (N, S, S, 3) uint8 BGR network input crops. With ``cache``, a
    read-only memory map of the cached file (``.filename``)."""
    torch = _torch()
    h = hashlib.sha256(f"{CUT}|{Path(net_path).name}".encode())
    h.update(hashlib.sha256(np.ascontiguousarray(crops).tobytes()).digest())
    cpath = data.CACHE_DIR / f"activations_{h.hexdigest()[:16]}.npy"
    if cache and cpath.is_file():
        return np.load(cpath, mmap_mode="r")
    m = load(net_path).eval()
    out = []
    with torch.no_grad():
        for flip in (False, True):
            parts = []
            for b in range(0, len(crops), 256):
                x = torch.from_numpy(np.ascontiguousarray(crops[b:b + 256])).permute(
                    0, 3, 1, 2).float()
                if flip:
                    x = x.flip(3)
                parts.append(m(x, outputs=(CUT,))[0].numpy().astype(np.float16))
            out.append(np.concatenate(parts))
            if verbose:
                print(f"    activations of {len(crops)} crops{' (mirrored)' if flip else ''}",
                      flush=True)
    a = np.stack(out)
    if not cache:
        return a
    data.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cpath.with_suffix(".tmp.npy")
    np.save(tmp, a)
    os.replace(tmp, cpath)
    return np.load(cpath, mmap_mode="r")


def live_logit(z: Any) -> Any:
    """log(P(live) / P(attack)) of (N, 3) logits (torch)."""
    torch = _torch()
    return z[:, 1] - torch.logsumexp(z[:, [0, 2]], 1)


def train(net_path: Path, acts: np.ndarray, idx: np.ndarray, labels: np.ndarray,
          groups: np.ndarray, *, epochs: int = EPOCHS, lr: float = LR, seed: int = 0) -> Any:
    """The network at ``net_path`` with its layers after ``CUT`` trained on the rows ``idx``
    (``acts``: :func:`activations`; ``labels`` 1 live / 0 attack and ``groups`` (sources) of
    those rows)."""
    torch = _torch()
    if len(idx) != len(labels) or len(idx) != len(groups):
        raise ValueError("idx, labels, groups: expected one entry per training row")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    m = load(net_path)
    m.train()
    y = torch.from_numpy(np.asarray(labels, np.float32))
    w = torch.from_numpy(calibrate.balanced_weights(np.asarray(labels), np.asarray(groups)))
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    n = len(idx)
    for _ in range(epochs):
        order = torch.multinomial(w.float(), n, replacement=True, generator=g).numpy()
        flips = torch.randint(0, 2, (n,), generator=g).numpy()
        for b in range(0, n, BATCH):
            ib = order[b:b + BATCH]
            xb = torch.from_numpy(np.asarray(acts[flips[b:b + BATCH], idx[ib]], np.float32))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                live_logit(m(xb, start=CUT)), y[ib])
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    return m


def predict(m: Any, acts: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Liveness logits of the rows ``idx``: the mean over each row's two copies."""
    torch = _torch()
    out = np.zeros(len(idx))
    with torch.no_grad():
        for k in (0, 1):
            for b in range(0, len(idx), 512):
                x = torch.from_numpy(np.asarray(acts[k, idx[b:b + 512]], np.float32))
                out[b:b + 512] += live_logit(m(x, start=CUT)).numpy() / 2
    return out


def export(m: Any, path: Path, size: int) -> None:
    """The whole fine-tuned network to ONNX (input ``input`` (N, 3, size, size) BGR 0..255,
    output ``logits`` (N, 3)), checked against the module on random input."""
    import onnxruntime as ort

    torch = _torch()
    onnx_torch.export(m, path, size)
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    err = float(np.abs(got - ref).max())
    if err > 1e-3:
        raise RuntimeError(f"{path}: ONNX export differs from PyTorch by {err}")
