"""The small liveness CNN (depthwise-separable), its training loop and ONNX export."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fastlive.passive import InputSpec
from training import augment, calibrate

# Share of live training crops that also yield a synthetic attack each epoch.
SYNTH_FRAC = 0.5


def _dw(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class LiveNet(nn.Module):
    """~30k parameters; input (N, 3, S, S) normalized, output (N, 1) logit of P(live)."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            _dw(w, 2 * w, 2),  # S/2
            _dw(2 * w, 2 * w, 1),
            _dw(2 * w, 4 * w, 2),  # S/4
            _dw(4 * w, 4 * w, 1),
            _dw(4 * w, 6 * w, 2),  # S/8
            _dw(6 * w, 8 * w, 2),  # S/16
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(8 * w, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


def to_tensor(crops: np.ndarray, spec: InputSpec) -> torch.Tensor:
    """uint8 (N, S, S, 3) BGR -> normalized float (N, 3, S, S), as fastlive.passive does."""
    x = crops[..., ::-1] if spec.channel_order == "rgb" else crops
    x = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float()
    if spec.lighting == "standardize":  # as kernels.warp_to_tensor(lighting="standardize")
        b, g, r = (crops[..., c].astype(np.float64) for c in range(3))
        luma = 0.299 * r + 0.587 * g + 0.114 * b
        mu = luma.mean(axis=(1, 2))
        sd = np.maximum(luma.std(axis=(1, 2)), 1.0)
        x = (x - torch.from_numpy(mu).float().view(-1, 1, 1, 1)) / torch.from_numpy(
            sd).float().view(-1, 1, 1, 1)
    elif spec.lighting != "none":
        raise ValueError(f"lighting: expected 'none' or 'standardize', got {spec.lighting!r}")
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (x - mean) / std


def make_epoch(crops: np.ndarray, labels: np.ndarray, groups: np.ndarray,
               rng: np.random.Generator, synth_frac: float | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One epoch of augmented crops: every real crop (photometric + geometric), plus synthetic
    attacks from a share of the live crops. Weights balance live/attack within every group
    (source), so the group itself (camera, person) predicts nothing."""
    if synth_frac is None:
        synth_frac = SYNTH_FRAC
    xs, ys, gs = [], [], []
    for img, y, g in zip(crops, labels, groups):
        xs.append(augment.geometric(augment.photometric(img, rng), rng))
        ys.append(y)
        gs.append(g)
        if y == 1 and rng.random() < synth_frac:
            xs.append(augment.geometric(augment.photometric(augment.synth_attack(img, rng), rng),
                                        rng))
            ys.append(0)
            gs.append(g)
    y = np.asarray(ys, np.float32)
    g = np.asarray(gs)
    w = calibrate.balanced_weights(y, g).astype(np.float32)
    return np.stack(xs), y, w, g


def train(crops: np.ndarray, labels: np.ndarray, groups: np.ndarray, spec: InputSpec, *,
          epochs: int = 12, batch: int = 64, lr: float = 3e-3, seed: int = 0,
          max_steps: int | None = None, verbose: bool = True) -> LiveNet:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LiveNet()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    n_est = int(len(labels) * 1.3)
    total = max(1, epochs * ((n_est + batch - 1) // batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total + 50,
                                                pct_start=0.15)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    step = 0
    for ep in range(epochs):
        t0 = time.time()
        x, y, w, _ = make_epoch(crops, labels, groups, rng)
        perm = rng.permutation(len(y))
        model.train()
        tot = 0.0
        for i in range(0, len(perm), batch):
            b = perm[i:i + batch]
            if len(b) < 2:
                continue
            xb = to_tensor(x[b], spec)
            logit = model(xb).squeeze(1)
            loss = (loss_fn(logit, torch.from_numpy(y[b])) * torch.from_numpy(w[b])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step < total + 49:
                sched.step()
            step += 1
            tot += float(loss.detach()) * len(b)
            if max_steps is not None and step >= max_steps:
                break
        if verbose:
            print(f"    epoch {ep + 1}/{epochs}: loss {tot / len(perm):.4f} "
                  f"({time.time() - t0:.1f} s)", flush=True)
        if max_steps is not None and step >= max_steps:
            break
    model.eval()
    return model


@torch.no_grad()
def predict_logits(model: LiveNet, crops: np.ndarray, spec: InputSpec,
                   batch: int = 256) -> np.ndarray:
    model.eval()
    out = [model(to_tensor(crops[i:i + batch], spec)).squeeze(1).numpy()
           for i in range(0, len(crops), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def export_onnx(model: LiveNet, path: Path, spec: InputSpec) -> None:
    """Export with a dynamic batch axis; input "input" (N,3,S,S), output "logit" (N,1)."""
    import onnx

    model.eval()
    dummy = torch.zeros(1, 3, spec.size, spec.size)
    path = Path(path)
    with warnings.catch_warnings():
        # The TorchScript exporter is deliberate: a static graph of standard ops, and no
        # onnxscript dependency (torch 2.13 warns that the dynamo exporter is the default).
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), str(path), input_names=["input"],
                          output_names=["logit"],
                          dynamic_axes={"input": {0: "n"}, "logit": {0: "n"}},
                          opset_version=17, dynamo=False)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    m.doc_string = "fastlive passive liveness CNN: logit of P(live)"
    onnx.save(m, str(path))
