"""Rebuild fastlive's passive models and the cross-source table from ``../shared/data``.

    nice python -m training.reproduce            # LOSO protocol + final models -> models/
    python -m training.reproduce --no-loso       # final models only
    python -m training.reproduce --out DIR       # write somewhere else

Seeded; single-threaded torch (about 16-20 min on 2 busy CPU cores). Steps:

1. preprocess every image with fastlive.passive.prepare (cached in training/cache/);
2. cross-source protocol: for each source S (NUAA and each self-recorded group; the ZJU Eyeblink
   live frames are extra training data only), train the CNN and the texture classifier on the
   other sources' train split, fit fusion + calibration + thresholds on their dev split (3 NUAA
   subjects + one self-recorded group, disjoint from train), and score S (never seen) at those
   thresholds;
3. final models: the same on all sources (train/dev split), exported to ``--out`` with
   manifest.json (sha256 per file); the ONNX export is checked against PyTorch.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from fastlive import passive
from fastlive.evaluate import pad_metrics
from fastlive.passive import DEFAULT_SPEC, InputSpec
from training import calibrate, cnn, data, texture

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.2.0"
EPOCHS = 12


def _set_threads() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)


def fit_all(ds: data.Dataset, train_m: np.ndarray, dev_m: np.ndarray, spec: InputSpec, *,
            epochs: int, seed: int, verbose: bool = True) -> dict[str, Any]:
    """Train CNN + texture on ``train_m``, fusion/calibration/thresholds on ``dev_m``."""
    tr = train_m & ds.ok
    dv = dev_m & ds.ok
    t0 = time.time()
    net = cnn.train(ds.crops[tr], ds.label[tr], ds.source[tr], spec, epochs=epochs, seed=seed,
                    verbose=verbose)
    t1 = time.time()
    tex = texture.train(ds.crops[tr], ds.label[tr], ds.source[tr], spec, seed=seed)
    t2 = time.time()
    c_dev = cnn.predict_logits(net, ds.crops[dv], spec)
    x_dev = tex.logits(texture.features(ds.crops[dv], spec))
    fusion = calibrate.fit_fusion(c_dev, x_dev, ds.label[dv], ds.source[dv])
    p_dev = calibrate.fuse(fusion, c_dev, x_dev)
    thr = calibrate.thresholds(p_dev, ds.label[dv])
    dev_metrics = pad_metrics(p_dev, ds.label[dv], threshold=thr["balanced"])
    if verbose:
        print(f"  trained on {tr.sum()} crops (CNN {t1 - t0:.0f} s, texture {t2 - t1:.0f} s); "
              f"dev n={dv.sum()} AUC {dev_metrics['auc']:.3f} EER {dev_metrics['eer']:.3f}; "
              f"fusion {fusion}; thresholds {thr}", flush=True)
    return {"cnn": net, "texture": tex, "fusion": fusion, "thresholds": thr,
            "dev": dev_metrics}


def score(models: dict[str, Any], ds: data.Dataset, mask: np.ndarray, spec: InputSpec
          ) -> dict[str, np.ndarray]:
    """P(live) of each stage for the rows in ``mask`` (NaN where no face was acquired)."""
    idx = np.flatnonzero(mask)
    ok = ds.ok[idx]
    out = {k: np.full(len(idx), np.nan) for k in ("cnn", "texture", "passive")}
    sel = idx[ok]
    c = cnn.predict_logits(models["cnn"], ds.crops[sel], spec)
    x = models["texture"].logits(texture.features(ds.crops[sel], spec))
    out["cnn"][ok] = 1 / (1 + np.exp(-c))
    out["texture"][ok] = 1 / (1 + np.exp(-x))
    out["passive"][ok] = calibrate.fuse(models["fusion"], c, x)
    return out


def _r(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)


def loso(ds: data.Dataset, spec: InputSpec, *, epochs: int, seed: int) -> dict[str, Any]:
    rows = {}
    # ZJU Eyeblink frames are extra live training data, not one of the protocol's sources
    for src in [s for s in data.source_names(ds) if s != data.ZJU]:
        print(f"[loso] held-out source: {src}", flush=True)
        tr, dv, te = data.dev_test_split(ds, src, seed=seed)
        models = fit_all(ds, tr, dv, spec, epochs=epochs, seed=seed)
        s = score(models, ds, te, spec)
        lab = ds.label[te]
        thr = models["thresholds"]
        res: dict[str, Any] = {"n_live": int(lab.sum()), "n_attack": int((lab == 0).sum()),
                               "thresholds": thr, "dev_sources": sorted(set(
                                   ds.source[dv].tolist()))}
        for stage in ("cnn", "texture", "passive"):
            m = pad_metrics(s[stage], lab, ds.attack_type[te],
                            threshold=thr["balanced"] if stage == "passive" else 0.5)
            res[stage] = {k: _r(m[k]) for k in ("apcer_worst", "bpcer", "acer", "eer", "auc",
                                                "fta_rate")}
        for op in ("convenience", "secure"):
            m = pad_metrics(s["passive"], lab, ds.attack_type[te], threshold=thr[op])
            res[f"passive_{op}"] = {k: _r(m[k]) for k in ("apcer_worst", "bpcer", "acer")}
        res["scores"] = {k: [_r(v) for v in s[k]] for k in s}
        res["labels"] = lab.tolist()
        rows[src] = res
        p = res["passive"]
        print(f"[loso] {src}: APCER {p['apcer_worst']} BPCER {p['bpcer']} ACER {p['acer']} "
              f"EER {p['eer']} AUC {p['auc']} (cnn AUC {res['cnn']['auc']}, texture AUC "
              f"{res['texture']['auc']})", flush=True)
    return rows


def _fmt(v: Any, pct: bool = True) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.1f}" if pct else f"{v:.3f}"


def loso_table(rows: dict[str, Any]) -> str:
    lines = [
        "| held-out source | live | attack | APCER % | BPCER % | ACER % | EER % | AUC | "
        "AUC cnn | AUC texture |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    acc: dict[str, list[float]] = {"acer": [], "eer": [], "auc": [], "apcer": [], "bpcer": [],
                                   "auc_cnn": [], "auc_tex": []}
    for src, r in rows.items():
        p = r["passive"]
        lines.append(
            f"| {src} | {r['n_live']} | {r['n_attack']} | {_fmt(p['apcer_worst'])} | "
            f"{_fmt(p['bpcer'])} | {_fmt(p['acer'])} | {_fmt(p['eer'])} | "
            f"{_fmt(p['auc'], False)} | {_fmt(r['cnn']['auc'], False)} | "
            f"{_fmt(r['texture']['auc'], False)} |")
        if r["n_live"] and r["n_attack"]:
            for k, v in (("acer", p["acer"]), ("eer", p["eer"]), ("auc", p["auc"]),
                         ("apcer", p["apcer_worst"]), ("bpcer", p["bpcer"]),
                         ("auc_cnn", r["cnn"]["auc"]), ("auc_tex", r["texture"]["auc"])):
                if v is not None:
                    acc[k].append(v)
    mean = {k: (float(np.mean(v)) if v else None) for k, v in acc.items()}
    lines.append(
        f"| **mean** (sources with both classes) | | | {_fmt(mean['apcer'])} | "
        f"{_fmt(mean['bpcer'])} | {_fmt(mean['acer'])} | {_fmt(mean['eer'])} | "
        f"{_fmt(mean['auc'], False)} | {_fmt(mean['auc_cnn'], False)} | "
        f"{_fmt(mean['auc_tex'], False)} |")
    # pooled out-of-source scores (each scored by the fold model that never saw its source)
    sc = np.concatenate([np.asarray(r["scores"]["passive"], dtype=float) for r in rows.values()])
    lab = np.concatenate([np.asarray(r["labels"]) for r in rows.values()])
    m = pad_metrics(sc, lab)
    lines.append(f"\nPooled out-of-source scores (all folds): AUC {m['auc']:.3f}, "
                 f"EER {100 * m['eer']:.1f} %, FTA {100 * m['fta_rate']:.1f} %.")
    return "\n".join(lines)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(models: dict[str, Any], out: Path, spec: InputSpec, ds: data.Dataset,
           dev_m: np.ndarray) -> None:
    import onnxruntime as ort
    import torch

    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "passive_cnn.onnx"
    cnn.export_onnx(models["cnn"], onnx_path, spec)
    # the ONNX file must reproduce the PyTorch logits
    probe = ds.crops[np.flatnonzero(dev_m & ds.ok)[:64]]
    with torch.no_grad():
        ref = models["cnn"](cnn.to_tensor(probe, spec)).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": cnn.to_tensor(probe, spec).numpy()})[0]
    err = float(np.abs(got - ref).max())
    if err > 1e-3:
        raise RuntimeError(f"ONNX export differs from PyTorch by {err}")
    print(f"  ONNX vs PyTorch max |logit diff| = {err:.2e} on {len(probe)} dev crops")
    models["texture"].save(out / "passive_texture.json", spec)
    fus = {**models["fusion"], "thresholds": models["thresholds"],
           "formula": "P(live) = sigmoid(w_cnn * logit(p_cnn) + w_texture * logit(p_texture) "
                      "+ bias)",
           "operating_points": {
               "convenience": f"BPCER <= {calibrate.CONVENIENCE_BPCER:.0%} on dev",
               "balanced": "EER point on dev (the default)",
               "secure": f"APCER <= {calibrate.SECURE_APCER:.0%} on dev"},
           "dev_subjects": sorted(set(ds.subject[dev_m].tolist())),
           "dev": {k: _r(models["dev"][k]) for k in ("auc", "eer", "apcer_worst", "bpcer",
                                                     "acer", "n_live", "n_attack")}}
    (out / "passive_fusion.json").write_text(json.dumps(fus, indent=1) + "\n", encoding="utf-8")
    license_note = ("trained on research-only data (NUAA, self-recorded OpenCV liveness "
                    "projects, ZJU Eyeblink); see models/README.md")
    manifest = {
        "format": 1,
        "version": VERSION,
        "models": [
            {"name": passive.CNN_MODEL, "file": "passive_cnn.onnx",
             "sha256": sha256(onnx_path), "kind": "onnx",
             "description": "depthwise-separable CNN, output logit of P(live)",
             "input": spec.to_dict(), "input_name": "input", "output_name": "logit",
             "license": license_note},
            {"name": passive.TEXTURE_MODEL, "file": "passive_texture.json",
             "sha256": sha256(out / "passive_texture.json"), "kind": "json-logreg",
             "description": "colour (YCrCb + HSV) uniform LBP histograms + logistic regression",
             "input": spec.to_dict(), "license": license_note},
            {"name": passive.FUSION_MODEL, "file": "passive_fusion.json",
             "sha256": sha256(out / "passive_fusion.json"), "kind": "json-fusion",
             "description": "fusion + calibration (P(live)) and operating-point thresholds",
             "license": license_note},
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def update_readme(readme: Path, table: str, cmd: str) -> None:
    block = (f"<!-- loso:begin (written by training/reproduce.py) -->\nCommand: `{cmd}`\n\n"
             f"{table}\n<!-- loso:end -->")
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if "<!-- loso:begin" in text:
            text = re.sub(r"<!-- loso:begin.*?<!-- loso:end -->", lambda _m: block, text,
                          flags=re.S)
            readme.write_text(text, encoding="utf-8")
            return
    print("models/README.md has no loso block; table:\n" + block)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.reproduce", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="data folder (default ../shared/data)")
    ap.add_argument("--out", type=Path, default=ROOT / "models")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-loso", action="store_true", help="skip the cross-source protocol")
    ap.add_argument("--no-final", action="store_true", help="skip the final models")
    ap.add_argument("--lighting", choices=("none", "standardize"), default=None,
                    help="CNN input lighting normalization (default: the shipped spec's)")
    args = ap.parse_args(argv)
    _set_threads()
    t0 = time.time()
    spec = DEFAULT_SPEC
    if args.lighting is not None and args.lighting != spec.lighting:
        # standardized input is already zero-mean / unit-scale: no further mean/std
        spec = dataclasses.replace(spec, lighting=args.lighting,
                                   mean=(0.0, 0.0, 0.0) if args.lighting == "standardize"
                                   else (127.5, 127.5, 127.5),
                                   std=(1.0, 1.0, 1.0) if args.lighting == "standardize"
                                   else (64.0, 64.0, 64.0))
        print(f"input spec: {spec}")
    ds = data.load(args.data, spec)
    print(f"data: {len(ds)} crops, {int((~ds.ok).sum())} without a face "
          f"({time.time() - t0:.0f} s)", flush=True)
    runs = ROOT / "training" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    if not args.no_loso:
        rows = loso(ds, spec, epochs=args.epochs, seed=args.seed)
        (runs / "loso.json").write_text(json.dumps(rows) + "\n", encoding="utf-8")
        table = loso_table(rows)
        print(table)
        if args.out.resolve() == (ROOT / "models").resolve():
            update_readme(ROOT / "models" / "README.md", table,
                          "nice python -m training.reproduce")
        else:
            (args.out / "cross_source.md").parent.mkdir(parents=True, exist_ok=True)
            (args.out / "cross_source.md").write_text(table + "\n", encoding="utf-8")
    if not args.no_final:
        print("[final] training on all sources (train split), calibrating on dev", flush=True)
        tr, dv, _ = data.dev_test_split(ds, None, seed=args.seed)
        models = fit_all(ds, tr, dv, spec, epochs=args.epochs, seed=args.seed)
        export(models, args.out, spec, ds, dv)
        print(f"[final] wrote {args.out}")
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
