"""Texture-classifier design comparison on the cross-source protocol (texture alone, no fusion).

    nice python -m training.sweep            # about 5 min on the shared 2-core box

For each crop size (from the same ``fastlive.passive.prepare`` alignment), LBP radii and L2
strength C: leave one source out (train on all other sources, score the held-out one) and report
the mean AUC over sources with both classes and the AUC of all held-out scores pooled. This is the
comparison that chose ``fastlive.passive.DEFAULT_TEXTURE_SPEC`` and ``texture.C_REG``; choosing on
it makes the cross-source table mildly optimistic (selection bias), see models/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from fastlive.evaluate import pad_metrics
from fastlive.passive import DEFAULT_SPEC
from training import data, texture

GRID = [  # (crop size, LBP radii, C)
    (64, 1, 0.02), (64, 1, 0.002), (64, (1, 2), 0.02), (96, (1, 2), 0.002),
    (112, 1, 0.001), (112, (1, 2), 0.002), (128, (1, 2), 0.002), (128, 1, 0.002),
    (128, 1, 0.001), (160, 1, 0.001),
]


def texture_loso(ds: data.Dataset, feats: np.ndarray, c_reg: float, spec) -> tuple[dict, float]:
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    oof = np.full(len(ds), np.nan)
    for s in srcs:
        tr = ds.ok & (ds.source != s)
        te = ds.ok & (ds.source == s)
        m = texture.train(ds.crops[tr], ds.label[tr], ds.source[tr], spec, c_reg=c_reg,
                          feats=feats[tr])
        oof[te] = m.logits(feats[te])
    per = {s: pad_metrics(oof[ds.source == s], ds.label[ds.source == s])["auc"] for s in srcs
           if len(set(ds.label[ds.source == s].tolist())) == 2}
    ev = ds.source != data.ZJU
    return per, float(pad_metrics(oof[ev], ds.label[ev])["auc"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.sweep", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    args = ap.parse_args(argv)
    print("| crop px | LBP radii | C | " + " | ".join(["AUC per source"]) + " | mean AUC | "
          "pooled AUC |\n|---:|---|---:|---|---:|---:|", flush=True)
    for size in sorted({g[0] for g in GRID}):
        ds = data.load(args.data, dataclasses.replace(DEFAULT_SPEC, size=size), verbose=False)
        cache: dict = {}
        for sz, radius, c_reg in GRID:
            if sz != size:
                continue
            spec = dataclasses.replace(DEFAULT_SPEC, size=size, lbp_radius=radius)
            if radius not in cache:
                cache[radius] = texture.features(ds.crops, spec)
            per, pooled = texture_loso(ds, cache[radius], c_reg, spec)
            cells = ", ".join(f"{s} {v:.3f}" for s, v in per.items())
            print(f"| {size} | {radius} | {c_reg} | {cells} | {np.mean(list(per.values())):.3f} "
                  f"| {pooled:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
