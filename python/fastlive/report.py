"""Evaluation report writing: scores CSV, metrics JSON, ISO/IEC 30107-3 tables (Markdown/HTML),
DET and ROC plots (PNG drawn with OpenCV, no plotting dependency) and an HTML page.

Layout of a report folder::

    scores.csv     one row per sample (see SCORE_FIELDS); empty score = failure to acquire
    metrics.json   fastlive.evaluate.pad_metrics overall + per source, and run metadata
    report.md      the ISO/IEC 30107-3 tables
    det.png        DET curves (APCER vs BPCER, normal-deviate axes) per source and overall
    roc.png        ROC curves (APCER vs 1 - BPCER) per source and overall
    index.html     tables, plots and the worst-scored samples as thumbnails (thumbs/)
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from fastlive.evaluate import error_curves, to_jsonable

SCORE_FIELDS = ("path", "label", "attack_type", "source", "media", "score", "decision", "cnn",
                "texture", "passive", "n_faces", "method", "frames", "error")

# BGR colours for up to 10 curves; "overall" is always black
PALETTE = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148),
           (75, 86, 140), (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]


def _cv2() -> Any:
    import cv2

    return cv2


# -- CSV -------------------------------------------------------------------------------------
def write_scores_csv(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    p = Path(path)
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(SCORE_FIELDS), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            out = {}
            for k in SCORE_FIELDS:
                v = r.get(k)
                if isinstance(v, float):  # repr: exact round trip (metrics recompute exactly)
                    v = "" if not math.isfinite(v) else repr(float(v))
                out[k] = "" if v is None else v
            w.writerow(out)
    return p


def read_scores_csv(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a scores CSV with ``score`` as float (NaN when empty)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["score"] = float(r["score"]) if r.get("score") not in (None, "") else float("nan")
    return rows


# -- tables ------------------------------------------------------------------------------------
def _pct(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{100.0 * float(v):.2f}%"


def _f(v: Any, nd: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{float(v):.{nd}f}"


def table_rows(metrics: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the ISO/IEC 30107-3 table: one row per source, then "overall"."""
    species = sorted({sp for m in _all_blocks(metrics) for sp in m.get("apcer", {})})
    header = (["source", "live", "attacks"] + [f"APCER {sp}" for sp in species]
              + ["APCER worst", "BPCER", "ACER", "EER", "AUC", "BPCER@APCER1%",
                 "BPCER@APCER5%", "FTA"])
    rows = []
    for name, m in _named_blocks(metrics):
        fta = f"{_pct(m.get('fta_rate'))} ({m.get('n_fta', 0)})"
        rows.append([name, str(m.get("n_live", 0)), str(m.get("n_attack", 0))]
                    + [_pct(m.get("apcer", {}).get(sp)) for sp in species]
                    + [_pct(m.get("apcer_worst")), _pct(m.get("bpcer")), _pct(m.get("acer")),
                       _pct(m.get("eer")), _f(m.get("auc")), _pct(m.get("bpcer_at_apcer_1pct")),
                       _pct(m.get("bpcer_at_apcer_5pct")), fta])
    return header, rows


def _named_blocks(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out = [(k, v) for k, v in sorted((metrics.get("per_source") or {}).items())]
    out.append(("overall", metrics))
    return out


def _all_blocks(metrics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [m for _, m in _named_blocks(metrics)]


def markdown_table(metrics: Mapping[str, Any]) -> str:
    header, rows = table_rows(metrics)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def html_table(metrics: Mapping[str, Any]) -> str:
    header, rows = table_rows(metrics)
    h = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def threshold_line(metrics: Mapping[str, Any]) -> str:
    src = metrics.get("threshold_source")
    t = metrics.get("threshold")
    what = {"given": "given", "eer": "EER of this data (optimistic: not fixed on a dev split)",
            "none": "none"}.get(str(src), str(src))
    return f"Decision threshold {_f(t)} ({what}); a sample is accepted as live when score >= it."


# -- plots -------------------------------------------------------------------------------------
def _curves_by_group(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    scores = np.array([float(r["score"]) for r in rows], dtype=np.float64)
    labels = np.array([1 if r["label"] in ("live", 1, "1") else 0 for r in rows])
    types = [r.get("attack_type") or "" for r in rows]
    srcs = np.array([str(r.get("source") or "") for r in rows], dtype=object)
    out: dict[str, dict[str, np.ndarray]] = {}

    def add(name: str, m: np.ndarray) -> None:
        s, lab = scores[m], labels[m]
        ok = ~np.isnan(s)
        if (lab[ok] == 1).any() and (lab[ok] == 0).any():
            out[name] = error_curves(s, lab, [t for t, k in zip(types, m) if k])

    for src in sorted(set(srcs.tolist())):
        add(src, srcs == src)
    add("overall", np.ones(len(rows), bool))
    return out


def _canvas(w: int, h: int) -> np.ndarray:
    return np.full((h, w, 3), 255, np.uint8)


def _legend(img: np.ndarray, names: list[str], colors: list[tuple[int, int, int]], x: int,
            y: int) -> None:
    cv2 = _cv2()
    for k, (n, c) in enumerate(zip(names, colors)):
        yy = y + 16 * k
        cv2.line(img, (x, yy - 4), (x + 18, yy - 4), c, 2, cv2.LINE_AA)
        cv2.putText(img, n, (x + 24, yy), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)


def _colors(names: list[str]) -> list[tuple[int, int, int]]:
    out, k = [], 0
    for n in names:
        if n == "overall":
            out.append((0, 0, 0))
        else:
            out.append(PALETTE[k % len(PALETTE)])
            k += 1
    return out


_GRID = (225, 225, 225)
_INK = (0, 0, 0)


def _plot(path: str | os.PathLike[str], size: tuple[int, int],
          curves: Mapping[str, Mapping[str, np.ndarray]], *, ticks: Sequence[tuple[float, str]],
          px: Any, py: Any, diagonal: tuple[float, float], x_key: str, y_of: Any,
          tick_dx: int, xlabel: str, xlabel_dx: int, ylabel: str, title: str) -> Path:
    """Shared drawing of DET and ROC plots: grid, frame, diagonal, one polyline per curve,
    axis labels, title, legend; writes the PNG."""
    cv2 = _cv2()
    w, h = size
    img = _canvas(w, h)
    left, right, top, bottom = 60, w - 150, 30, h - 50
    for t, lab in ticks:
        cv2.line(img, (px(t), top), (px(t), bottom), _GRID, 1)
        cv2.line(img, (left, py(t)), (right, py(t)), _GRID, 1)
        cv2.putText(img, lab, (px(t) - 10, bottom + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.35, _INK,
                    1, cv2.LINE_AA)
        cv2.putText(img, lab, (left - tick_dx, py(t) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, _INK,
                    1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (right, bottom), _INK, 1)
    d0, d1 = diagonal
    cv2.line(img, (px(d0), py(d0)), (px(d1), py(d1)), (200, 200, 200), 1)
    names = list(curves)
    cols = _colors(names)
    for n, c in zip(names, cols):
        a, b = curves[n][x_key], curves[n]["bpcer"]
        pts = np.array([[px(float(x)), py(y_of(float(y)))] for x, y in zip(a, b)], np.int32)
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, c, 2 if n == "overall" else 1,
                      cv2.LINE_AA)
    cv2.putText(img, xlabel, ((left + right) // 2 - xlabel_dx, h - 12), cv2.FONT_HERSHEY_SIMPLEX,
                0.45, _INK, 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (4, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _INK, 1, cv2.LINE_AA)
    cv2.putText(img, title, (right - 40, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _INK, 1,
                cv2.LINE_AA)
    _legend(img, names, cols, right + 10, top + 12)
    p = Path(path)
    if not cv2.imwrite(str(p), img):
        raise OSError(f"could not write {p}")
    return p


def plot_det(curves: Mapping[str, Mapping[str, np.ndarray]], path: str | os.PathLike[str], *,
             size: tuple[int, int] = (560, 480)) -> Path:
    """DET plot: x = APCER (worst species), y = BPCER, both on normal-deviate axes."""
    w, h = size
    left, right, top, bottom = 60, w - 150, 30, h - 50
    nd = NormalDist()
    lo, hi = nd.inv_cdf(0.001), nd.inv_cdf(0.6)

    def px(p: float) -> int:
        z = nd.inv_cdf(min(max(p, 0.001), 0.6))
        return int(round(left + (z - lo) / (hi - lo) * (right - left)))

    def py(p: float) -> int:
        z = nd.inv_cdf(min(max(p, 0.001), 0.6))
        return int(round(bottom - (z - lo) / (hi - lo) * (bottom - top)))

    ticks = [(t, f"{100 * t:g}") for t in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)]
    return _plot(path, size, curves, ticks=ticks, px=px, py=py, diagonal=(0.001, 0.6),
                 x_key="apcer", y_of=lambda y: y, tick_dx=34, xlabel="APCER (%)", xlabel_dx=30,
                 ylabel="BPCER (%)", title="DET")


def plot_roc(curves: Mapping[str, Mapping[str, np.ndarray]], path: str | os.PathLike[str], *,
             size: tuple[int, int] = (560, 480)) -> Path:
    """ROC plot: x = APCER (attacks pooled), y = 1 - BPCER, linear axes."""
    w, h = size
    left, right, top, bottom = 60, w - 150, 30, h - 50

    def px(v: float) -> int:
        return int(round(left + v * (right - left)))

    def py(v: float) -> int:
        return int(round(bottom - v * (bottom - top)))

    ticks = [(k / 10, f"{k / 10:.1f}") for k in range(11)]
    return _plot(path, size, curves, ticks=ticks, px=px, py=py, diagonal=(0.0, 1.0),
                 x_key="apcer_pooled", y_of=lambda y: 1.0 - y, tick_dx=30,
                 xlabel="APCER (attacks accepted)", xlabel_dx=90,
                 ylabel="1 - BPCER (live accepted)", title="ROC")


# -- thumbnails ------------------------------------------------------------------------------
def worst_examples(rows: Sequence[Mapping[str, Any]], k: int = 12
                   ) -> dict[str, list[Mapping[str, Any]]]:
    """The attacks scored most live and the live samples scored least live (FTA excluded)."""
    scored = [r for r in rows if math.isfinite(float(r["score"]))]
    att = sorted((r for r in scored if r["label"] != "live"), key=lambda r: -float(r["score"]))
    live = sorted((r for r in scored if r["label"] == "live"), key=lambda r: float(r["score"]))
    return {"attacks scored most live": att[:k], "live scored least live": live[:k]}


def _thumbnail(src: str, dest: Path, side: int = 112) -> bool:
    cv2 = _cv2()
    from fastlive.capture import is_image_path, read_image

    try:
        if is_image_path(src):
            img = read_image(src)
        else:
            cap = cv2.VideoCapture(src)
            ok, img = cap.read()
            cap.release()
            if not ok:
                return False
    except (OSError, ValueError):
        return False
    h, w = img.shape[:2]
    s = side / max(h, w)
    small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA)
    return bool(cv2.imwrite(str(dest), small, [cv2.IMWRITE_JPEG_QUALITY, 85]))


# -- the whole report --------------------------------------------------------------------------
CSS = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f0f0f0}
.thumbs{display:flex;flex-wrap:wrap;gap:8px}.thumbs figure{margin:0;width:120px;font-size:11px;
text-align:center;word-break:break-all}.plots img{margin-right:1em}code{background:#f4f4f4}"""


def write_report(out_dir: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]],
                 metrics: Mapping[str, Any], meta: Mapping[str, Any], *,
                 thumbnails: int = 12, blink: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write every report file into ``out_dir``; return {kind: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["scores"] = write_scores_csv(out / "scores.csv", rows)
    doc = {"meta": dict(meta), "metrics": metrics}
    if blink is not None:
        doc["blink"] = blink
    paths["metrics"] = out / "metrics.json"
    with open(paths["metrics"], "w", encoding="utf-8") as fh:
        json.dump(to_jsonable(doc), fh, indent=2, allow_nan=False)
    curves = _curves_by_group(rows) if rows else {}
    if curves:
        paths["det"] = plot_det(curves, out / "det.png")
        paths["roc"] = plot_roc(curves, out / "roc.png")

    md = [f"# fastlive evaluation: {meta.get('data', '')}", "",
          f"Command: `{meta.get('command', '')}`", "",
          f"fastlive {meta.get('fastlive_version', '?')}, passive models "
          f"{meta.get('model_version', '?')}; {meta.get('n_entries', len(rows))} samples "
          f"scored in {_f(meta.get('seconds'), 1)} s.", "",
          threshold_line(metrics), "", "## ISO/IEC 30107-3 metrics", "",
          markdown_table(metrics), ""]
    if metrics.get("notes"):
        md += ["Notes: " + "; ".join(str(n) for n in metrics["notes"]), ""]
    if blink is not None:
        md += ["## Blink detection (ZJU Eyeblink annotations)", "",
               "| clips | TP | FP | FN | precision | recall | F1 |",
               "|---|---:|---:|---:|---:|---:|---:|",
               f"| {blink.get('clips')} | {blink.get('tp')} | {blink.get('fp')} | "
               f"{blink.get('fn')} | {_f(blink.get('precision'))} | {_f(blink.get('recall'))} | "
               f"{_f(blink.get('f1'))} |", ""]
    paths["markdown"] = out / "report.md"
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")

    # thumbnails + HTML
    thumbs_html = []
    if thumbnails > 0:
        tdir = out / "thumbs"
        tdir.mkdir(exist_ok=True)
        n = 0
        for title, items in worst_examples(rows, thumbnails).items():
            figs = []
            for r in items:
                dest = tdir / f"{n:03d}.jpg"
                n += 1
                if not _thumbnail(str(r.get("abs_path") or r["path"]), dest):
                    continue
                cap = (f"{html.escape(str(r['path']))}<br>{html.escape(str(r.get('source')))} "
                       f"score {float(r['score']):.3f}")
                figs.append(f'<figure><img src="thumbs/{dest.name}" alt=""><figcaption>{cap}'
                            "</figcaption></figure>")
            thumbs_html.append(f"<h3>{html.escape(title)}</h3><div class=thumbs>"
                               + "".join(figs) + "</div>")
    blink_html = ""
    if blink is not None:
        blink_html = (
            "<h2>Blink detection (ZJU Eyeblink annotations)</h2><table><tr><th>clips</th>"
            "<th>TP</th><th>FP</th><th>FN</th><th>precision</th><th>recall</th><th>F1</th></tr>"
            f"<tr><td>{blink.get('clips')}</td><td>{blink.get('tp')}</td><td>{blink.get('fp')}"
            f"</td><td>{blink.get('fn')}</td><td>{_f(blink.get('precision'))}</td>"
            f"<td>{_f(blink.get('recall'))}</td><td>{_f(blink.get('f1'))}</td></tr></table>")
    plots = "".join(f'<img src="{k}.png" alt="{k.upper()} curves">' for k in ("det", "roc")
                    if k in paths)
    page = (
        "<!doctype html><html><head><meta charset=utf-8><title>fastlive evaluation</title>"
        f"<style>{CSS}</style></head><body><h1>fastlive evaluation</h1>"
        f"<p>Data: <code>{html.escape(str(meta.get('data', '')))}</code>; command: "
        f"<code>{html.escape(str(meta.get('command', '')))}</code></p>"
        f"<p>fastlive {html.escape(str(meta.get('fastlive_version', '?')))}, passive models "
        f"{html.escape(str(meta.get('model_version', '?')))}; {len(rows)} samples, "
        f"{_f(meta.get('seconds'), 1)} s.</p><p>{html.escape(threshold_line(metrics))}</p>"
        f"<h2>ISO/IEC 30107-3 metrics</h2>{html_table(metrics)}"
        + (f"<p>Notes: {html.escape('; '.join(map(str, metrics.get('notes', []))))}</p>"
           if metrics.get("notes") else "")
        + f"<h2>DET and ROC</h2><div class=plots>{plots}</div>{blink_html}"
        "<h2>Worst-scored samples</h2>" + "".join(thumbs_html) + "</body></html>"
    )
    paths["html"] = out / "index.html"
    paths["html"].write_text(page, encoding="utf-8")
    return paths
