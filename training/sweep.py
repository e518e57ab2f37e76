"""Texture-classifier design comparison on the cross-source protocol (texture alone, no fusion).

    nice python -m training.sweep            # about 5 min on the shared 2-core box

For each design (crop size from the same ``fastlive.passive.prepare`` alignment, LBP radii,
mirror folding, extra scales, augmented copies, L2 strength C): leave one source out (train on
all other sources, score the held-out one) and report the AUC per held-out source, their mean
over sources with both classes and the AUC of all held-out scores pooled. This is the
comparison that chose ``fastlive.passive.DEFAULT_TEXTURE_SPEC``, ``texture.C_REG`` and
``texture.COPIES``; choosing on it makes the cross-source table mildly optimistic (selection
bias), see models/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from fastlive.evaluate import pad_metrics
from fastlive.passive import DEFAULT_SPEC
from training import augment, data, texture

# (crop size, LBP radii, mirror fold, scales, augmented copies, C[, synthetic attacks added[,
# LBP grid (rows, columns)]])
GRID: list[tuple] = [
    (64, 1, False, (1,), 0, 0.02),
    (128, (1, 2), False, (1,), 0, 0.002),
    (128, 1, False, (1,), 0, 0.001),
    (160, 1, False, (1,), 0, 0.001),
    (128, 1, True, (1,), 0, 0.001),
    (128, 1, True, (1,), 1, 0.001),
    (128, 1, True, (1,), 2, 0.001),
    (128, (1, 2), True, (1,), 1, 0.001),
    (128, 1, True, (1, 2), 1, 0.0003),
    (128, 1, True, (1, 2), 1, 0.001),
    (128, 1, True, (1, 2), 1, 0.003),
    (128, 1, True, (1, 2, 4), 1, 0.001),
    (128, 1, True, (1, 2), 1, 0.001, "print"),
    (128, 1, True, (1, 2), 1, 0.001, "replay"),
    (128, 1, True, (1, 2), 1, 0.001, "print+replay"),
    (128, 1, True, (1, 2), 1, 0.001, "", (2, 1)),
    (128, 1, True, (1, 2), 1, 0.001, "", (3, 1)),
    (128, 1, True, (1, 2), 1, 0.0003, "", (3, 1)),
    (128, 1, True, (1, 2), 1, 0.003, "", (3, 1)),
    (128, 1, True, (1,), 1, 0.001, "", (3, 1)),
    (128, 1, True, (1, 2), 1, 0.001, "", (4, 1)),
    (128, 1, True, (1, 2), 1, 0.0003, "", (4, 1)),
    (128, 1, True, (1, 2), 1, 0.001, "", (5, 1)),
]


def synthetic_features(ds: data.Dataset, spec, kinds: str, seed: int = 3) -> dict[str, np.ndarray]:
    """Texture features of synthetic attacks (training.augment.synth_print / synth_replay)
    rendered from every live crop, per kind ("print", "replay"), row-aligned with the live rows."""
    rng = np.random.default_rng(seed)
    live = np.flatnonzero(ds.ok & (ds.label == 1))
    fns = {"print": augment.synth_print, "replay": augment.synth_replay}
    return {k: texture.features(np.stack([fns[k](ds.crops[i], rng) for i in live]), spec)
            for k in kinds.split("+")}


def texture_loso(ds: data.Dataset, feats: np.ndarray, aug: list[np.ndarray], c_reg: float,
                 spec, synth: dict[str, np.ndarray] | None = None) -> tuple[dict, float]:
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    live = np.flatnonzero(ds.ok & (ds.label == 1))
    oof = np.full(len(ds), np.nan)
    for s in srcs:
        tr = ds.ok & (ds.source != s)
        te = ds.ok & (ds.source == s)
        x = [feats[tr], *(a[tr] for a in aug)]
        n = len(x)
        y = [np.tile(ds.label[tr], n)]
        g = [np.tile(ds.source[tr], n)]
        for k, f in (synth or {}).items():  # synthetic attacks from the fold's live crops
            sel = tr[live]
            x.append(f[sel])
            y.append(np.zeros(int(sel.sum()), ds.label.dtype))
            g.append(np.full(int(sel.sum()), f"synthetic-{k}"))
        m = texture.train(None, np.concatenate(y), np.concatenate(g), spec, c_reg=c_reg,
                          feats=np.concatenate(x), aug_feats=[])
        oof[te] = m.logits(feats[te])
    per = {s: pad_metrics(oof[ds.source == s], ds.label[ds.source == s])["auc"] for s in srcs
           if len(set(ds.label[ds.source == s].tolist())) == 2}
    ev = ds.source != data.ZJU
    return per, float(pad_metrics(oof[ev], ds.label[ev])["auc"])


def reflection_check(data_dir: str | None) -> None:
    """Per-source AUC of the specular statistics (fastlive.cues.reflection_cue on the CNN's
    64 px crop): is the reflection cue worth fusing? (An AUC below 0.5 means the statistic is
    higher for attacks on that source.)"""
    from fastlive import _core

    ds = data.load(data_dir, DEFAULT_SPEC, verbose=False)
    stats = [_core.specular_stats(c) for c in ds.crops]
    print("| statistic | " + " | ".join(s for s in data.source_names(ds)
                                        if len(set(ds.label[ds.source == s].tolist())) == 2)
          + " |")
    for k in ("ratio", "n_blobs", "max_value"):
        v = np.array([st[k] for st in stats], float)
        cells = [f"{pad_metrics(v[ds.source == s], ds.label[ds.source == s])['auc']:.2f}"
                 for s in data.source_names(ds)
                 if len(set(ds.label[ds.source == s].tolist())) == 2]
        print(f"| {k} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.sweep", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--reflection", action="store_true",
                    help="only the per-source AUC of the specular (reflection) statistics")
    args = ap.parse_args(argv)
    if args.reflection:
        reflection_check(args.data)
        return 0
    print("| crop px | LBP grid | LBP radii | mirror fold | scales | aug copies | C | synthetic "
          "attacks | AUC per held-out source | mean AUC | pooled AUC |\n"
          "|---:|---|---|---|---|---:|---:|---|---|---:|---:|", flush=True)
    for size in sorted({g[0] for g in GRID}):
        ds = data.load(args.data, dataclasses.replace(DEFAULT_SPEC, size=size), verbose=False)
        cache: dict = {}
        for sz, radius, mirror, scales, copies, c_reg, *rest in GRID:
            if sz != size:
                continue
            synth_kinds = rest[0] if rest else ""
            grid = rest[1] if len(rest) > 1 else (1, 1)
            spec = dataclasses.replace(DEFAULT_SPEC, size=size, lbp_radius=radius,
                                       lbp_mirror=mirror, lbp_scales=scales, lbp_grid=grid)
            key = (radius, mirror, scales, grid)
            if key not in cache:
                cache[key] = (texture.features(ds.crops, spec),
                              texture.augmented_features(ds.crops, spec, copies=2))
            feats, aug = cache[key]
            synth = synthetic_features(ds, spec, synth_kinds) if synth_kinds else None
            per, pooled = texture_loso(ds, feats, aug[:copies], c_reg, spec, synth)
            cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
            print(f"| {size} | {grid[0]}x{grid[1]} | {radius} | {'yes' if mirror else 'no'} | "
                  f"{', '.join(map(str, scales))} | {copies} | {c_reg} | "
                  f"{synth_kinds or 'none'} | {cells} | "
                  f"{np.mean(list(per.values())):.3f} | {pooled:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
