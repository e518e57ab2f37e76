"""Rebuild fastlive's passive models and their protocol tables from ``../shared`` alone.

    nice python -m training.reproduce               # -> models/ (times: training/README.md)
    python -m training.reproduce --out /tmp/m       # elsewhere
    python -m training.reproduce --no-clips         # skip the stream evaluation

Steps (seeded; torch single-threaded, two worker processes):

1. every image of ``../shared/data`` (and every 30th frame of its videos): the face found by the
   runtime detector, each pretrained MiniFASNet's input crop and logits (training.features,
   cached in training/cache/);
2. each network's activations after its 10x10 stage, for every crop and its mirror image
   (training.finetune, cached);
3. leave-one-source-out (training.protocol): for every source S, both networks fine-tuned on all
   other sources; S's out-of-source logits kept, and for sources with clips the fold's networks
   exported (training/runs/folds/S);
4. fusion (logistic regression on the two networks' logits) and operating points
   (training.calibrate), fitted on the development sources' out-of-source logits; in the tables
   every source is decided by a fusion and thresholds fitted without it;
5. the shipped models: both networks fine-tuned on every source, exported to ONNX (checked
   against PyTorch), the fusion and thresholds of step 4, ``manifest.json`` with sha256; the
   eye network (training.eye.build; ``--no-eye`` keeps the one in ``--out``);
6. the tables (frames: per source, development / set-aside / webcam summaries, pooled, the
   pretrained MiniFASNet pair as baseline; clips: training.clips with each fold's models),
   printed and written to training/runs/protocol.md and protocol.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from training import calibrate, clips, data, eye, features, finetune, protocol

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path(__file__).resolve().parent / "runs"
VERSION = "0.20.2"
NETS = ("v2", "v1se")
MODEL_NAMES = {"v2": "minifasnet_v2", "v1se": "minifasnet_v1se"}
LICENSE = ("Apache-2.0 (Minivision Silent-Face-Anti-Spoofing weights, fine-tuned by fastlive); "
           "fine-tuned on research-only data (../shared/data: NUAA, ZJU Eyeblink, public "
           "self-recorded and webcam projects, Roboflow rs-face CC BY 4.0): see models/README.md")


def _sig(z: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- fine-tuning in worker processes ----------------------------------------------------------
_W: dict[str, Any] = {}


def _worker_init(acts: dict[str, str], labels: np.ndarray, groups: np.ndarray,
                 ok: np.ndarray) -> None:
    _W.update(acts={k: np.load(p, mmap_mode="r") for k, p in acts.items()}, labels=labels,
              groups=groups, ok=ok)


def _fit(task: tuple[str, str | None, str | None]) -> tuple[str, str | None, np.ndarray]:
    """Fine-tune ``net`` on every row outside ``source`` (None: every row); return the
    held-out rows' logits, and export the network to ``export`` when given."""
    net, source, export = task
    labels, groups, ok = _W["labels"], _W["groups"], _W["ok"]
    tr = np.flatnonzero(ok & (groups != source)) if source else np.flatnonzero(ok)
    path = features.model_dir() / features.NET_FILES[net]
    m = finetune.train(path, _W["acts"][net], tr, labels[tr], groups[tr])
    te = np.flatnonzero(ok & (groups == source)) if source else np.zeros(0, np.int64)
    out = finetune.predict(m, _W["acts"][net], te) if len(te) else np.zeros(0)
    if export:
        Path(export).parent.mkdir(parents=True, exist_ok=True)
        finetune.export(m, Path(export), features.MINIFASNET[net].size)
    return net, source, out


# -- models on disk ---------------------------------------------------------------------------
def write_models(out: Path, nets: dict[str, Path], weights: np.ndarray, bias: float,
                 thresholds: dict[str, float], *, fitted_on: list[str],
                 oof: dict[str, Any] | None = None) -> None:
    """``out``: the networks (copied from ``nets``), passive_fusion.json and manifest.json."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for k in NETS:
        name = MODEL_NAMES[k]
        dst = out / f"{name}.onnx"
        if Path(nets[k]).resolve() != dst.resolve():
            shutil.copyfile(nets[k], dst)
        spec = features.MINIFASNET[k]
        entries.append({
            "name": name, "file": dst.name, "sha256": sha256(dst), "kind": "onnx-minifasnet",
            "description": f"MiniFASNet{'V2' if k == 'v2' else 'V1SE'} (Minivision), layers "
                           f"after its 10x10 stage fine-tuned by fastlive",
            "input": {"crop_scale": spec.scale, "size": spec.size,
                      "crop": "face box scaled about its centre (capped to fit the frame, "
                              "shifted inside it), cv2.resize bilinear (fastlive.minifasnet)",
                      "layout": "NCHW float32, BGR, 0..255, no normalisation"},
            "output": "logits (N, 3): 2-D attack, live, 3-D attack; liveness logit "
                      "log(P(live) / P(attack))",
            "license": LICENSE})
    fusion = {
        "inputs": [MODEL_NAMES[k] for k in NETS],
        "weights": [float(w) for w in weights], "bias": float(bias),
        "thresholds": {k: float(v) for k, v in thresholds.items()},
        "formula": "P(live) = sigmoid(sum_i weights[i] * liveness_logit_i + bias)",
        "fitted_on": "out-of-source logits of the development sources (leave-one-source-out; "
                     "every source weighs the same): " + ", ".join(fitted_on),
        "operating_points": {
            "convenience": f"the worst whole-frame webcam source rejects at most "
                           f"{100 * calibrate.CONVENIENCE_BPCER:g} % of its live faces",
            "balanced": "pooled equal-error point (every source weighing the same)",
            "secure": f"no print accepted, at most {100 * calibrate.SECURE_REPLAY_APCER:g} % "
                      f"of replays (replay and unknown_type attacks)"},
        **({"oof": oof} if oof else {}),
    }
    fp = out / "passive_fusion.json"
    fp.write_text(json.dumps(fusion, indent=1) + "\n", encoding="utf-8")
    entries.append({"name": "passive_fusion", "file": fp.name, "sha256": sha256(fp),
                    "kind": "json-fusion", "description": "logistic regression on the "
                    "networks' logits: calibrated P(live), operating points",
                    "license": LICENSE})
    mp = out / "manifest.json"
    # the other models' entries (the eye network, training.eye) stay as they are
    names = {e["name"] for e in entries}
    kept = ([m for m in json.loads(mp.read_text(encoding="utf-8")).get("models", [])
             if m.get("name") not in names] if mp.is_file() else [])
    manifest = {"format": 2, "version": VERSION, "models": entries + kept}
    mp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


# -- tables -----------------------------------------------------------------------------------
def fmt_summary(name: str, sm: dict[str, Any], pooled: dict[str, Any] | None = None) -> str:
    p = protocol.pct
    s = (f"| {name} | {sm['n_sources']} | {sm['auc']['mean']:.3f} | {sm['auc']['median']:.3f} "
         f"| {sm['auc']['worst']:.3f} ({sm['auc']['worst_source']}) | {p(sm['eer']['mean'])} "
         f"| {p(sm['acer']['mean'])} | {p(sm['acer']['median'])} | {p(sm['acer']['worst'])} "
         f"({sm['acer']['worst_source']}) | {p(sm['bpcer']['worst'])} |")
    if pooled is not None:
        s += f" {pooled['auc']:.3f} |"
    else:
        s += " |"
    return s


SUMMARY_HEAD = ("| sources | n | mean AUC | median AUC | worst AUC | mean EER % | mean ACER % "
                "(bal) | median ACER % | worst ACER % | worst BPCER % (bal) | pooled AUC |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|")


def evaluate(score: np.ndarray, rows: protocol.Rows, sources: list[str], dev: list[str]
             ) -> list[dict[str, Any]]:
    """Per-source metrics, each source at operating points fitted on the other development
    sources' scores."""
    def rule(s: np.ndarray, y: np.ndarray, g: np.ndarray, t: np.ndarray, w: np.ndarray
             ) -> dict[str, float]:
        return calibrate.thresholds(s, y, g, t, w)

    return [protocol.source_metrics(score, rows, s,
                                    protocol.nested_thresholds(score, rows, s, dev, rule))
            for s in sources]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.reproduce", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "models", help="model folder to write")
    ap.add_argument("--no-clips", action="store_true", help="skip the stream evaluation")
    ap.add_argument("--workers", type=int, default=2, help="fine-tuning processes (2)")
    ap.add_argument("--no-eye", action="store_true",
                    help="keep the eye network in --out as it is (training.eye builds it alone)")
    args = ap.parse_args(argv)
    t_start = time.time()
    data_dir = data.default_data_dir()
    # the runtime (clips) finds YuNet and MediaPipe's eye model in the same folder as the
    # pretrained networks, so the tables never depend on what this machine has cached
    os.environ["FASTLIVE_MODEL_DIR"] = str(features.model_dir())
    print(f"data: {data_dir}; models: {features.model_dir()}", flush=True)

    print("1. detections and crops", flush=True)
    f = features.load(data_dir)
    rows = protocol.Rows(f.label, f.source, f.attack_type, f.ok, f.webcam)
    two = protocol.two_class_sources(f.source, f.label)
    dev = protocol.dev_sources(f.source, f.label)
    aside = [s for s in two if s in protocol.SET_ASIDE]
    every = sorted(set(f.source.tolist()))
    print(f"   {len(f)} rows, {int(f.ok.sum())} with a face; {len(two)} two-class sources "
          f"({len(dev)} development, set aside: {', '.join(aside)})", flush=True)

    print("2. activations", flush=True)
    act_paths = {}
    for k in NETS:
        crops = features.net_crops(f, k, data_dir)
        acts = finetune.activations(features.model_dir() / features.NET_FILES[k], crops)
        act_paths[k] = str(acts.filename)  # type: ignore[attr-defined]

    print(f"3. leave-one-source-out over {len(every)} sources, and 5. the shipped networks "
          f"({args.workers} processes)", flush=True)
    clip_list = [] if args.no_clips else clips.clips(data_dir)
    clip_sources = sorted({c.source for c in clip_list})
    folds_dir = RUNS / "folds"
    tasks: list[tuple[str, str | None, str | None]] = []
    tmp_out = RUNS / "final"
    for k in NETS:
        tasks.append((k, None, str(tmp_out / f"{MODEL_NAMES[k]}.onnx")))
        for s in every:
            exp = (str(folds_dir / s / f"{MODEL_NAMES[k]}.onnx") if s in clip_sources else None)
            tasks.append((k, s, exp))
    # the fine-tunings' results are cached (keyed by the activations, the tasks and the
    # fine-tuning code), so a rerun of the later steps costs minutes
    key = hashlib.sha256(json.dumps([act_paths, tasks]).encode())
    key.update(Path(finetune.__file__).read_bytes())
    cpath = data.CACHE_DIR / f"oof_{key.hexdigest()[:16]}.npz"
    exported = [Path(e) for _, _, e in tasks if e]
    if cpath.is_file() and all(p.is_file() for p in exported):
        z = np.load(cpath)
        oof = {k: z[k] for k in NETS}
        print(f"   from the cache ({cpath.name})", flush=True)
    else:
        oof = {k: np.full(len(f), np.nan) for k in NETS}
        t0 = time.time()
        with ProcessPoolExecutor(args.workers, initializer=_worker_init,
                                 initargs=(act_paths, f.label, f.source, f.ok)) as pool:
            for i, (k, s, out) in enumerate(pool.map(_fit, tasks), 1):
                if s is not None:
                    oof[k][f.ok & (f.source == s)] = out
                if i % 5 == 0 or i == len(tasks):
                    print(f"   {i}/{len(tasks)} fine-tunings ({time.time() - t0:.0f} s)",
                          flush=True)
        np.savez(cpath, **oof)

    print("4. fusion and operating points", flush=True)
    x = np.stack([oof[k] for k in NETS], 1)
    on_dev = np.isin(f.source, dev) & f.ok

    def fused_for(held: str | None) -> tuple[np.ndarray, float]:
        m = on_dev & (f.source != held) if held else on_dev
        return calibrate.fit_fusion(x[m], f.label[m], f.source[m])

    score = np.full(len(f), np.nan)  # each source fused by a fusion fitted without it
    fusions: dict[str, tuple[np.ndarray, float]] = {}
    for s in every:
        w, b = fused_for(s)
        fusions[s] = (w, b)
        m = f.ok & (f.source == s)
        score[m] = _sig(x[m] @ w + b)
    w_all, b_all = fused_for(None)
    fused_all = _sig(x @ w_all + b_all)
    thr_all = calibrate.thresholds(fused_all[on_dev], f.label[on_dev], f.source[on_dev],
                                   f.attack_type[on_dev], f.webcam[on_dev])
    print(f"   weights {np.round(w_all, 4).tolist()}, bias {b_all:.4f}; thresholds "
          + ", ".join(f"{k} {v:.4f}" for k, v in thr_all.items()), flush=True)

    print("5. the shipped models", flush=True)
    write_models(args.out, {k: tmp_out / f"{MODEL_NAMES[k]}.onnx" for k in NETS}, w_all, b_all,
                 thr_all, fitted_on=dev)
    if args.no_eye:
        print("   the eye network: skipped (--no-eye)", flush=True)
    else:
        print("   the eye network (training.eye)", flush=True)
        t_eye = time.time()
        eye.write_manifest_entry(args.out, eye.build(args.out, data_dir, verbose=False))
        print(f"   the eye network: {time.time() - t_eye:.0f} s", flush=True)

    print("6. tables", flush=True)
    per = evaluate(score, rows, two, dev)
    # the pretrained pair as upstream uses it: the mean of the two networks' P(live)
    pre = np.mean([np.exp(f.logits[k][:, 1] - np.log(np.exp(f.logits[k]).sum(1)))
                   for k in NETS], axis=0)
    per_pre = evaluate(pre, rows, two, dev)
    by = {r["source"]: r for r in per}
    pre_auc = {r["source"]: r["auc"] for r in per_pre}
    webcam_two = [s for s in two if by[s]["webcam"]]
    groups = [("development", dev), ("set aside", aside), ("all two-class", two),
              ("whole-frame webcam", webcam_two)]
    summ = ["| model | " + SUMMARY_HEAD.split("\n")[0][2:], "|---" + SUMMARY_HEAD.split("\n")[1]]
    result: dict[str, Any] = {"version": VERSION, "sources": per, "summary": {},
                              "thresholds": thr_all, "fusion": {"weights": w_all.tolist(),
                                                                 "bias": b_all}}
    for label, pr, sc in (("fastlive", per, score), ("pretrained MiniFASNet pair", per_pre, pre)):
        pb = {r["source"]: r for r in pr}
        for name, srcs in groups:
            if not srcs:
                continue
            sm = protocol.summary([pb[s] for s in srcs])
            pool = protocol.pooled(sc, rows, srcs, thr_all)
            summ.append(f"| {label} " + fmt_summary(name, sm, pool))
            if label == "fastlive":
                result["summary"][name] = {**sm, "pooled": pool}
    pooled_dev = protocol.pooled(score, rows, dev, thr_all)
    lines = [f"fastlive models {VERSION}: leave-one-source-out, each source decided by networks, "
             f"fusion and thresholds that never saw it.", "", "\n".join(summ), "",
             protocol.markdown_table(per), "",
             "Pretrained MiniFASNet pair (upstream: mean of the two networks' P(live)), AUC per "
             "source: " + ", ".join(f"{s} {pre_auc[s]:.3f}" for s in two), "",
             "Pooled over the development sources at each operating point (the scores the "
             "operating points were fitted on): "
             + "; ".join(f"{op}: BPCER {protocol.pct(pooled_dev[op]['bpcer'])} %, APCER "
                         + ", ".join(f"{t} {protocol.pct(v)} %"
                                     for t, v in sorted(pooled_dev[op]["apcer"].items()))
                         for op in protocol.OPERATING_POINTS)]
    live_only = [s for s in every if s not in two]
    if live_only:
        bp = []
        for s in live_only:
            m = (f.source == s) & f.ok
            bp.append(f"{s} {protocol.pct(float(np.mean(score[m] < thr_all['balanced'])))} %")
        lines += ["", "Live-only sources, live faces rejected at balanced: " + ", ".join(bp)]

    if clip_list:
        print(f"   {len(clip_list)} clips", flush=True)
        from fastlive import Config, LivenessDetector
        from fastlive.passive import PassiveScorer

        res_clips: list[dict[str, Any]] = []
        res_fast: list[dict[str, Any]] = []
        for s in clip_sources:
            fold = folds_dir / s
            w, b = fusions[s]
            m = on_dev & (f.source != s)
            thr = calibrate.thresholds(_sig(x[m] @ w + b), f.label[m], f.source[m],
                                       f.attack_type[m], f.webcam[m])
            write_models(fold, {k: fold / f"{MODEL_NAMES[k]}.onnx" for k in NETS}, w, b, thr,
                         fitted_on=[d for d in dev if d != s])
            for cfg, out in ((Config(), res_clips), (Config(require_blink=False), res_fast)):
                det = LivenessDetector(cfg, passive=PassiveScorer(fold))
                out += [clips.run(det, c) for c in clip_list if c.source == s]
        result["clips"] = res_clips
        result["clips_without_require_blink"] = res_fast
        lines += ["", "Clips (each scored by the fold that held its source out; default "
                  "Config: LIVE needs a blink in the last 10 s):", "", clips.table(res_clips),
                  "", "The same clips with Config(require_blink=False) (the passive window "
                  "alone):", "", clips.table(res_fast)]
    text = "\n".join(lines)
    card = args.out / "README.md"
    if card.is_file():
        update_card(card, text)
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / "protocol.md").write_text(text + "\n", encoding="utf-8")
    (RUNS / "protocol.json").write_text(json.dumps(_jsonable(result), indent=1) + "\n",
                                        encoding="utf-8")
    print("\n" + text)
    print(f"\nwrote {args.out} and {RUNS / 'protocol.md'} in {(time.time() - t_start) / 60:.0f} "
          "min", flush=True)
    return 0


CARD_BEGIN = "<!-- reproduce: protocol tables begin -->"
CARD_END = "<!-- reproduce: protocol tables end -->"


def update_card(card: Path, text: str) -> None:
    """Replace the model card's protocol tables (between CARD_BEGIN and CARD_END) with
    ``text``, so the card always shows the last run's numbers."""
    s = card.read_text(encoding="utf-8")
    if CARD_BEGIN not in s or CARD_END not in s:
        return
    head, rest = s.split(CARD_BEGIN, 1)
    _, tail = rest.split(CARD_END, 1)
    card.write_text(f"{head}{CARD_BEGIN}\n{text}\n{CARD_END}{tail}", encoding="utf-8")


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    return v


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
