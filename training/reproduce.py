"""Rebuild fastlive's passive models and the cross-source table from ``../shared/data``.

    nice python -m training.reproduce            # LOSO protocol + final models -> models/
    python -m training.reproduce --no-loso       # final models only
    python -m training.reproduce --out DIR       # write somewhere else

Seeded; single-threaded torch (about 16-25 min on 2 busy CPU cores). Steps:

1. preprocess every image with fastlive.passive.prepare (cached in training/cache/): a 64 px
   crop for the CNN and a 160 px crop (same alignment, 1.25x the context) for the texture
   classifier, and the texture crops of every image once more with sensor noise added to the
   whole image (texture.FRAME_NOISE: the texture classifier's frame-noise copies); with
   ``--jitter`` (not shipped) twice more with the face moved by 2 crop pixels (texture.JITTER:
   alignment-jitter copies, which act as two more copies of the real crops: round 10); with
   ``--resolution-bank`` (not shipped) three times more per bank anchor (texture.BANK_FACES:
   the image brought to a face of that side, clean, JPEG-compressed and noisy);
2. cross-source protocol: for each source S (NUAA and each self-recorded group; the ZJU Eyeblink
   live frames are extra training data only), train the CNN and the texture classifier on all
   other sources and keep their out-of-source (OOF) logits for S. Then, nested: the fusion,
   calibration and thresholds used for S are fitted on the OOF logits of the other sources only
   (stacking), and S is scored with them (S is used for nothing but scoring in its fold);
3. final models: CNN + texture trained on all sources; fusion, calibration and thresholds fitted
   on the pooled OOF logits of step 2 (training/runs/oof.npz); exported to ``--out`` with
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
from fastlive.passive import DEFAULT_SPEC, DEFAULT_TEXTURE_SPEC, InputSpec
from training import calibrate, cnn, data, texture

ROOT = Path(__file__).resolve().parent.parent
# models/manifest.json "version": 0.<round>.0 since round 8 (rounds 5-7 all shipped as 0.5.0)
VERSION = "0.14.0"
EPOCHS = 12


def texture_description(spec: InputSpec, dro_fits: int = texture.DRO_FITS) -> str:
    """The manifest's one-line description of a texture model with input ``spec`` fitted
    with ``dro_fits`` (texture.train's)."""
    colours = " + ".join(texture.COLOUR_NAMES[c] for c in spec.lbp_colors)
    if "hsv" in spec.lbp_colors and spec.lbp_hue_shift % 180:
        colours += f", hue shifted by {spec.lbp_hue_shift % 180}"
    where = "crop" if spec.lbp_scales == (1,) else "crop and " + ", ".join(
        f"1/{k}-size copy" for k in spec.lbp_scales if k != 1)
    gy, gx = spec.lbp_grid
    bands = f"{gy} horizontal bands" if gx == 1 else f"{gy}x{gx} grid"
    if spec.lbp_bands is not None:
        kept = ", ".join(str(b + 1) for b in spec.lbp_bands)
        bands = (f"horizontal bands {kept} of {gy}" if gx == 1
                 else f"cells {kept} of a {gy}x{gx} grid")
    fold = "mirror-folded; " if spec.lbp_mirror else ""
    slacks = ("" if spec.lbp_slacks == (0,) else
              "; once per LBP slack " + ", ".join(map(str, spec.lbp_slacks)) + ", one fit each, "
              "summed")
    fit = " (group DRO over the training sources)" if dro_fits > 1 else ""
    return (f"colour ({colours}) uniform LBP histograms ({fold}{bands}; {where}{slacks}) "
            f"+ logistic regression{fit}")


def _set_threads() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)


def fit_base(ds: data.Dataset, dst: data.Dataset, train_m: np.ndarray, spec: InputSpec,
             tex_spec: InputSpec, *, epochs: int, seed: int, verbose: bool = True,
             feats: np.ndarray | None = None,
             aug_feats: list[np.ndarray] | None = None,
             bank_sets: dict[float, tuple[np.ndarray, list[np.ndarray]]] | None = None
             ) -> dict[str, Any]:
    """Train the CNN (``ds``: CNN crops) and the texture classifier (``dst``: texture crops,
    same rows; ``feats`` / ``aug_feats``: their texture features and those of their augmented
    copies, precomputed; ``bank_sets``: its resolution bank's training sets,
    texture.bank_training_sets; None: no bank) on ``train_m``."""
    tr = train_m & ds.ok
    t0 = time.time()
    net = cnn.train(ds.crops[tr], ds.label[tr], ds.source[tr], spec, epochs=epochs, seed=seed,
                    verbose=verbose)
    t1 = time.time()
    tex = texture.train(dst.crops[tr], dst.label[tr], dst.source[tr], tex_spec, seed=seed,
                        feats=None if feats is None else feats[tr],
                        aug_feats=None if aug_feats is None else [a[tr] for a in aug_feats])
    if bank_sets:
        texture.add_bank(tex, bank_sets, tr, dst.label[tr], dst.source[tr], tex_spec)
    if verbose:
        print(f"  trained on {tr.sum()} crops (CNN {t1 - t0:.0f} s, texture "
              f"{time.time() - t1:.0f} s)", flush=True)
    return {"cnn": net, "texture": tex}


def logits(models: dict[str, Any], ds: data.Dataset, dst: data.Dataset, mask: np.ndarray,
           spec: InputSpec, tex_spec: InputSpec, feats: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """CNN and texture logits of the rows in ``mask`` (NaN where no face was acquired)."""
    idx = np.flatnonzero(mask)
    ok = ds.ok[idx]
    c = np.full(len(idx), np.nan)
    x = np.full(len(idx), np.nan)
    sel = idx[ok]
    c[ok] = cnn.predict_logits(models["cnn"], ds.crops[sel], spec)
    f = texture.features(dst.crops[sel], tex_spec) if feats is None else feats[sel]
    x[ok] = models["texture"].logits(f, dst.face_side[sel])
    return c, x


def fit_fusion_oof(c: np.ndarray, x: np.ndarray, labels: np.ndarray, groups: np.ndarray, *,
                   use_cnn: bool = False
                   ) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
    """Fusion + thresholds from out-of-source logits (rows with NaN are skipped)."""
    ok = np.isfinite(c) & np.isfinite(x)
    fusion = calibrate.fit_fusion(c[ok], x[ok], labels[ok], groups[ok], use_cnn=use_cnn)
    p = calibrate.fuse(fusion, c[ok], x[ok])
    thr = calibrate.thresholds(p, labels[ok], groups[ok])
    return fusion, thr, p


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def _r(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)


def loso(ds: data.Dataset, dst: data.Dataset, spec: InputSpec, tex_spec: InputSpec, *,
         epochs: int, seed: int, use_cnn: bool = False, feats: np.ndarray | None = None,
         aug_feats: list[np.ndarray] | None = None,
         bank_sets: dict[float, tuple[np.ndarray, list[np.ndarray]]] | None = None
         ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Leave one source out. Step 1: for each source S train on all other sources and keep the
    out-of-source (OOF) logits of S. Step 2 (nested): the fusion, calibration and thresholds used
    for S are fitted on the OOF logits of the OTHER sources only, then S is scored with them.
    Returns the per-fold rows and the OOF logits (for the shipped fusion). ``feats`` /
    ``aug_feats``: the texture features of ``dst``'s crops and of their augmented copies
    (:func:`texture_training_set`; default: computed here, invariance copies only);
    ``bank_sets``: the texture classifier's resolution bank (None: none)."""
    # ZJU Eyeblink frames are extra live training data, not one of the protocol's sources
    srcs = [s for s in data.source_names(ds) if s != data.ZJU]
    if feats is None:
        feats = texture.features(dst.crops, tex_spec)
    if aug_feats is None:
        aug_feats = texture.augmented_features(dst.crops, tex_spec, seed=seed)
    c_oof = np.full(len(ds), np.nan)
    x_oof = np.full(len(ds), np.nan)
    for src in srcs:
        print(f"[loso] held-out source: {src}", flush=True)
        te = ds.source == src
        models = fit_base(ds, dst, ~te, spec, tex_spec, epochs=epochs, seed=seed, feats=feats,
                          aug_feats=aug_feats, bank_sets=bank_sets)
        c_oof[te], x_oof[te] = logits(models, ds, dst, te, spec, tex_spec, feats)
    rows = {}
    for src in srcs:
        te = ds.source == src
        fit_m = np.isin(ds.source, [s for s in srcs if s != src])
        fusion, thr, _ = fit_fusion_oof(c_oof[fit_m], x_oof[fit_m], ds.label[fit_m],
                                        ds.source[fit_m], use_cnn=use_cnn)
        c, x = c_oof[te], x_oof[te]
        s = {"cnn": _sig(c), "texture": _sig(x), "passive": np.full(len(c), np.nan)}
        ok = np.isfinite(c)
        s["passive"][ok] = calibrate.fuse(fusion, c[ok], x[ok])
        lab = ds.label[te]
        res: dict[str, Any] = {"n_live": int(lab.sum()), "n_attack": int((lab == 0).sum()),
                               "thresholds": thr, "fusion": fusion,
                               "fusion_fitted_on": sorted(set(ds.source[fit_m].tolist()))}
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
              f"{res['texture']['auc']}); fusion {fusion}; thresholds {thr}", flush=True)
    return rows, {"cnn": c_oof, "texture": x_oof}


def texture_training_set(data_dir: Path | None, dst: data.Dataset, tex_spec: InputSpec, *,
                         seed: int, jitter: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """The shipped texture training set's features: the real crops', and those of one
    invariance copy (texture.augmented_features) and one frame-noise copy
    (texture.noise_copy_features) of each, row-aligned with ``dst``; ``jitter`` (not
    shipped): the alignment-jitter copies too (texture.jitter_copy_features)."""
    feats = texture.features(dst.crops, tex_spec)
    jit = texture.jitter_copy_features(data_dir, tex_spec) if jitter else []
    return feats, texture.training_copies(data_dir, dst.crops, tex_spec, seed=seed) + jit


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
    # pooled out-of-source scores (each scored by the fold model that never saw its source, at
    # that fold's nested fusion and threshold): one shipped model on a mix of unseen sources
    sc = np.concatenate([np.asarray(r["scores"]["passive"], dtype=float) for r in rows.values()])
    lab = np.concatenate([np.asarray(r["labels"]) for r in rows.values()])
    acc_live = np.concatenate([np.asarray(r["scores"]["passive"], dtype=float)
                               >= r["thresholds"]["balanced"] for r in rows.values()])
    ok = np.isfinite(sc)
    m = pad_metrics(sc, lab)
    apcer = float(acc_live[ok & (lab == 0)].mean())
    bpcer = float((~acc_live[ok & (lab == 1)]).mean())
    lines.append(f"\nPooled out-of-source scores (all folds): AUC {m['auc']:.3f}, "
                 f"EER {100 * m['eer']:.1f} %, FTA {100 * m['fta_rate']:.1f} %; at each fold's "
                 f"balanced threshold APCER {100 * apcer:.1f} %, BPCER {100 * bpcer:.1f} %, "
                 f"ACER {50 * (apcer + bpcer):.1f} %.")
    w = [(r["fusion"]["w_cnn"], r["fusion"]["w_texture"]) for r in rows.values()]
    lines.append("Nested fusion weights (w_cnn, w_texture) per fold: "
                 + ", ".join(f"{s} {a:.2f}/{b:.2f}" for s, (a, b) in zip(rows, w)) + ".")
    return "\n".join(lines)


OP_RULES = {"convenience": "BPCER <= 1 %",
            "balanced": "worst source's APCER = worst source's BPCER",
            "secure": "APCER <= 1 %"}


def ops_table(rows: dict[str, Any]) -> str:
    """The operating points out of source: every held-out source scored at its fold's
    thresholds (fitted without it), pooled; APCER split by attack instrument (NUAA: print, the
    self-recorded groups: screen replay)."""
    lines = ["| operating point | rule | APCER print (NUAA held out) | APCER replay (replay "
             "groups held out) | BPCER (all held-out live) | BPCER per held-out source |",
             "|---|---|---:|---:|---:|---|"]
    for op, rule in OP_RULES.items():
        ap: dict[str, list[bool]] = {"print": [], "replay": []}
        bp: list[bool] = []
        per = []
        for src, r in rows.items():
            s = np.array([np.nan if v is None else v for v in r["scores"]["passive"]], float)
            y = np.asarray(r["labels"])
            ok = np.isfinite(s)
            acc = s >= r["thresholds"][op]
            ap["print" if src == "nuaa" else "replay"] += acc[ok & (y == 0)].tolist()
            bp += (~acc[ok & (y == 1)]).tolist()
            if (ok & (y == 1)).any():
                per.append(f"{src} {100 * np.mean(~acc[ok & (y == 1)]):.0f} %")
        lines.append(f"| `{op}` | {rule} | {100 * np.mean(ap['print']):.1f} % | "
                     f"{100 * np.mean(ap['replay']):.1f} % | {100 * np.mean(bp):.1f} % | "
                     f"{', '.join(per)} |")
    return "\n".join(lines)


def tables(rows: dict[str, Any]) -> str:
    """The model card's cross-source block: the per-source table and the operating points."""
    return loso_table(rows) + "\n\nOperating points out of source:\n\n" + ops_table(rows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(models: dict[str, Any], out: Path, spec: InputSpec, tex_spec: InputSpec,
           ds: data.Dataset, probe_m: np.ndarray) -> None:
    import onnxruntime as ort
    import torch

    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "passive_cnn.onnx"
    cnn.export_onnx(models["cnn"], onnx_path, spec)
    # the ONNX file must reproduce the PyTorch logits
    probe = ds.crops[np.flatnonzero(probe_m & ds.ok)[:64]]
    with torch.no_grad():
        ref = models["cnn"](cnn.to_tensor(probe, spec)).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": cnn.to_tensor(probe, spec).numpy()})[0]
    err = float(np.abs(got - ref).max())
    if err > 1e-3:
        raise RuntimeError(f"ONNX export differs from PyTorch by {err}")
    print(f"  ONNX vs PyTorch max |logit diff| = {err:.2e} on {len(probe)} crops")
    models["texture"].save(out / "passive_texture.json", tex_spec)
    fit = models["fit"]
    fus = {**models["fusion"], "thresholds": models["thresholds"],
           "formula": "P(live) = sigmoid(w_cnn * logit(p_cnn) + w_texture * logit(p_texture) "
                      "+ bias)",
           "fitted_on": "out-of-source predictions of the leave-one-source-out models "
                        "(stacking; every source weighs the same)",
           "operating_points": {
               "convenience": f"BPCER <= {calibrate.CONVENIENCE_BPCER:.0%} out of source",
               "balanced": "the worst source's APCER = the worst source's BPCER out of "
                           "source (the default)",
               "secure": f"APCER <= {calibrate.SECURE_APCER:.0%} out of source"},
           "cues": fit.get("cues", "cnn+texture"),
           "fit_sources": fit["sources"],
           "oof": {k: _r(fit["metrics"][k]) for k in ("auc", "eer", "apcer_worst", "bpcer",
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
             "description": texture_description(tex_spec),
             "input": tex_spec.to_dict(), "license": license_note},
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
    ap.add_argument("--tables-only", action="store_true",
                    help="only re-write the cross-source tables from training/runs/loso.json")
    ap.add_argument("--fusion", choices=("texture", "cnn+texture"), default="texture",
                    help="cues in the fusion (default texture: on the cross-source protocol "
                         "the CNN lowered the mean and the pooled AUC; it is still shipped and "
                         "reported as a cue, with weight 0)")
    ap.add_argument("--lighting", choices=("none", "standardize"), default=None,
                    help="CNN input lighting normalization (default: the shipped spec's)")
    ap.add_argument("--jitter", action="store_true",
                    help="also train the texture classifier on alignment-jitter copies "
                         "(texture.JITTER; not shipped: models/README.md rounds 9 and 10, "
                         "they act as duplicates of the real crops)")
    ap.add_argument("--resolution-bank", action="store_true",
                    help="also train the texture classifier's resolution bank "
                         "(texture.BANK_FACES; not shipped: python -m training.sweep "
                         "--resolution, models/README.md round 9)")
    args = ap.parse_args(argv)
    if args.tables_only:
        rows = json.loads((ROOT / "training" / "runs" / "loso.json").read_text("utf-8"))
        table = tables(rows)
        print(table)
        update_readme(ROOT / "models" / "README.md", table, "nice python -m training.reproduce")
        return 0
    _set_threads()
    use_cnn = args.fusion == "cnn+texture"
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
    tex_spec = DEFAULT_TEXTURE_SPEC
    ds = data.load(args.data, spec)
    dst = data.load(args.data, tex_spec)  # same rows, the texture classifier's larger crop
    if not (np.array_equal(ds.path, dst.path) and np.array_equal(ds.ok, dst.ok)):
        raise RuntimeError("CNN and texture crops disagree (rows or detections); clear "
                           "training/cache/")
    print(f"data: {len(ds)} crops, {int((~ds.ok).sum())} without a face "
          f"({time.time() - t0:.0f} s)", flush=True)
    runs = ROOT / "training" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    oof_path = runs / "oof.npz"
    t1 = time.time()
    feats, aug_feats = texture_training_set(args.data, dst, tex_spec, seed=args.seed,
                                            jitter=args.jitter)
    bank_sets = (texture.bank_training_sets(args.data, tex_spec, seed=args.seed)
                 if args.resolution_bank else None)
    bank = (f"; resolution bank at faces of {', '.join(f'{a:g}' for a in bank_sets)} px"
            if bank_sets else "")
    print(f"texture features: real crops and {len(aug_feats)} copies of each{bank} "
          f"({time.time() - t1:.0f} s)", flush=True)
    if not args.no_loso:
        rows, oof = loso(ds, dst, spec, tex_spec, epochs=args.epochs, seed=args.seed,
                         use_cnn=use_cnn, feats=feats, aug_feats=aug_feats,
                         bank_sets=bank_sets)
        (runs / "loso.json").write_text(json.dumps(rows) + "\n", encoding="utf-8")
        np.savez(oof_path, path=ds.path, **oof)
        table = tables(rows)
        print(table)
        if args.out.resolve() == (ROOT / "models").resolve():
            update_readme(ROOT / "models" / "README.md", table,
                          "nice python -m training.reproduce")
        else:
            (args.out / "cross_source.md").parent.mkdir(parents=True, exist_ok=True)
            (args.out / "cross_source.md").write_text(table + "\n", encoding="utf-8")
    if not args.no_final:
        if not oof_path.is_file():
            raise SystemExit(f"{oof_path} is missing: run without --no-loso first (the fusion "
                             "is fitted on the cross-source out-of-fold predictions)")
        z = np.load(oof_path, allow_pickle=False)
        if not np.array_equal(z["path"], ds.path):
            raise SystemExit(f"{oof_path} was made from other data: run without --no-loso")
        print("[final] training on all sources; fusion + thresholds from the pooled "
              "out-of-source predictions", flush=True)
        fit_m = np.isfinite(z["cnn"]) & np.isfinite(z["texture"])
        fusion, thr, p = fit_fusion_oof(z["cnn"][fit_m], z["texture"][fit_m], ds.label[fit_m],
                                        ds.source[fit_m], use_cnn=use_cnn)
        metrics = pad_metrics(p, ds.label[fit_m], threshold=thr["balanced"])
        print(f"  fusion {fusion}; thresholds {thr}; pooled OOF AUC {metrics['auc']:.3f}",
              flush=True)
        models = fit_base(ds, dst, np.ones(len(ds), bool), spec, tex_spec, epochs=args.epochs,
                          seed=args.seed, feats=feats, aug_feats=aug_feats,
                          bank_sets=bank_sets)
        models.update(fusion=fusion, thresholds=thr, fit={
            "sources": sorted(set(ds.source[fit_m].tolist())), "metrics": metrics,
            "cues": args.fusion})
        export(models, args.out, spec, tex_spec, ds, np.ones(len(ds), bool))
        print(f"[final] wrote {args.out}")
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
