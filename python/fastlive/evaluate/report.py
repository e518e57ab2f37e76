"""Evaluation report writing: scores CSV, metrics JSON, ISO/IEC 30107-3 tables (Markdown/HTML),
DET and ROC plots (matplotlib, the ``plot`` extra) and an HTML page.

Layout of a report folder::

    scores.csv       one row per sample (see SCORE_FIELDS); empty score = no face (FTA),
                     a non-empty error = the file could not be read
    dev-scores.csv   the development set's rows (dev/eval protocol only)
    metrics.json     fastlive.evaluate.pad_metrics overall + per source, and run metadata
    report.md        the ISO/IEC 30107-3 tables
    det.png          DET curves (APCER of all attacks vs BPCER, normal-deviate axes)
    roc.png          ROC curves (APCER of all attacks vs 1 - BPCER)
    index.html       tables, plots and the worst-scored samples as thumbnails (thumbs/)

Both plots mark the operating point at the decision threshold (a filled circle) and the EER
point (a cross) on each system's overall curve. Without matplotlib the report has no plots and
says how to get them (``pip install "fastlive[plot]"``).
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import numpy.typing as npt

from fastlive.capture import is_image_path, read_image
from fastlive.evaluate.datasets import read_scores
from fastlive.evaluate.metrics import Metrics, Row, error_curves, to_jsonable

if TYPE_CHECKING:  # matplotlib is the optional plot extra, imported when a plot is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SCORE_FIELDS = ("path", "label", "attack_type", "source", "media", "score", "decision",
                "minifasnet_v2", "minifasnet_v1se", "passive", "n_faces", "method", "frames",
                "error")
PLOT_HINT = 'plots need matplotlib: pip install "fastlive[plot]"'

# DET axes: normal deviates of rates clipped to [DET_LO, DET_HI]
DET_LO, DET_HI = 0.0005, 0.95
DET_TICKS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95)


def _cv2() -> Any:
    import cv2

    return cv2


@dataclass
class SystemResult:
    """One evaluated system: its rows (scores.csv) and metrics, and optionally the
    development set's rows and metrics that fixed its threshold."""

    name: str
    rows: Sequence[Row]
    metrics: Metrics
    dev_rows: Sequence[Row] | None = None
    dev_metrics: Metrics | None = None
    data: str = ""
    extra: dict[str, object] = field(default_factory=dict)


# -- CSV -------------------------------------------------------------------------------------
def write_scores_csv(path: str | os.PathLike[str], rows: Sequence[Row]) -> Path:
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


PARQUET_HINT = 'Parquet needs pyarrow: pip install "fastlive[ray]" (or pyarrow)'


def write_scores_parquet(path: str | os.PathLike[str], rows: Sequence[Row]) -> Path:
    """The rows of :func:`write_scores_csv` as a Parquet file (the same columns): a column
    whose values are all numbers is float64 (int64 when all are ints; NaN and missing are
    null), the others strings. ImportError without pyarrow (:data:`PARQUET_HINT`)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(f"{PARQUET_HINT} ({exc})") from exc
    cols: dict[str, Any] = {}
    for k in SCORE_FIELDS:
        vals = [r.get(k) for r in rows]
        present = [v for v in vals if v is not None and v != ""]
        if present and all(isinstance(v, (int, float, np.integer, np.floating))
                           and not isinstance(v, bool) for v in present):
            ints = all(isinstance(v, (int, np.integer)) for v in present)
            cols[k] = pa.array(
                [None if v is None or v == "" or (isinstance(v, float) and not math.isfinite(v))
                 else (int(v) if ints else float(v)) for v in vals],
                type=pa.int64() if ints else pa.float64())
        else:
            cols[k] = pa.array([None if v is None else str(v) for v in vals], type=pa.string())
    p = Path(path)
    pq.write_table(pa.table(cols), p)
    return p


def read_scores_csv(path: str | os.PathLike[str]) -> list[Row]:
    """Rows of a scores CSV with ``score`` as float (NaN when empty); see
    :func:`fastlive.evaluate.read_scores`."""
    return read_scores(path)


# -- tables ------------------------------------------------------------------------------------
def _pct(v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{100.0 * float(v):.2f}%"


def _f(v: float | None, nd: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{float(v):.{nd}f}"


TABLE_HEADER = ["live", "attacks", "APCER worst type", "APCER all attacks", "BPCER", "ACER",
                "HTER", "EER", "AUC", "BPCER@APCER1%", "BPCER@APCER5%", "FTA"]
TYPE_HEADER = ["attack type", "attacks", "APCER", "EER vs live", "AUC vs live"]

TABLE_LEGEND = (
    "APCER worst type: the highest APCER over attack types (ISO/IEC 30107-3); ACER = (APCER "
    "worst type + BPCER) / 2; HTER = (APCER all attacks + BPCER) / 2; EER and AUC: all attacks "
    "pooled against the live samples (per attack type in the second table); BPCER@APCERx%: the "
    "lowest BPCER with every attack type's APCER at most x%; FTA: samples where no face could "
    "be scored (left out of the rates).")


def _block_row(name: str, m: Metrics) -> list[str]:
    worst = _pct(m.get("apcer_worst"))
    if m.get("apcer_worst_type") and worst != "n/a":
        worst += f" ({m['apcer_worst_type']})"
    fta = f"{_pct(m.get('fta_rate'))} ({m.get('n_fta', 0)})"
    return [name, str(m.get("n_live", 0)), str(m.get("n_attack", 0)), worst,
            _pct(m.get("apcer_pooled")), _pct(m.get("bpcer")), _pct(m.get("acer")),
            _pct(m.get("hter")), _pct(m.get("eer")), _f(m.get("auc")),
            _pct(m.get("bpcer_at_apcer_1pct")), _pct(m.get("bpcer_at_apcer_5pct")), fta]


def _named_blocks(metrics: Metrics) -> list[tuple[str, Metrics]]:
    out = [(k, v) for k, v in sorted((metrics.get("per_source") or {}).items())]
    out.append(("overall", metrics))
    return out


def table_rows(metrics: Metrics, first: str = "source"
               ) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the ISO/IEC 30107-3 table: one row per source, then "overall"."""
    return [first] + TABLE_HEADER, [_block_row(n, m) for n, m in _named_blocks(metrics)]


def type_table_rows(metrics: Metrics, first: str = "source"
                    ) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-attack-type table: for each source and overall, each attack
    type's count, APCER at the threshold, and its own EER and AUC against the live samples."""
    rows = []
    for name, m in _named_blocks(metrics):
        for sp in sorted(m.get("apcer", {})):
            rows.append([name, sp, str((m.get("n_attack_by_type") or {}).get(sp, "")),
                         _pct(m["apcer"][sp]), _pct((m.get("eer_by_type") or {}).get(sp)),
                         _f((m.get("auc_by_type") or {}).get(sp))])
    return [first] + TYPE_HEADER, rows


def systems_table(systems: Sequence[SystemResult]) -> tuple[list[str], list[list[str]]]:
    """Header and rows comparing systems: each system's overall figures."""
    return ["system"] + TABLE_HEADER, [_block_row(s.name, s.metrics) for s in systems]


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _html(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    h = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def markdown_table(metrics: Metrics) -> str:
    return markdown(*table_rows(metrics))


def html_table(metrics: Metrics) -> str:
    return _html(*table_rows(metrics))


def threshold_line(metrics: Metrics) -> str:
    src = metrics.get("threshold_source")
    t = metrics.get("threshold")
    what = {"given": "given", "eer": "EER of this data (optimistic: not fixed on a dev split)",
            "none": "none"}.get(str(src), str(src))
    return f"Decision threshold {_f(t)} ({what}); a sample is accepted as live when score >= it."


# -- plots -------------------------------------------------------------------------------------
def plots_available() -> bool:
    """True when matplotlib (the ``plot`` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def probit(p: npt.ArrayLike) -> np.ndarray:
    """Normal deviate of rates clipped to the DET axis range (the DET plot's coordinates)."""
    nd = NormalDist()
    a = np.clip(np.asarray(p, np.float64), DET_LO, DET_HI)
    out: np.ndarray = np.vectorize(nd.inv_cdf, otypes=[np.float64])(a)
    return out


def curves_of(rows: Sequence[Row], *, per_source: bool = True
              ) -> dict[str, dict[str, np.ndarray]]:
    """Error curves (:func:`fastlive.evaluate.error_curves`) of readable rows per source (when
    ``per_source`` and there is more than one) and "overall"; sets without both classes are
    left out."""
    ok = [r for r in rows if not r.get("error")]
    scores = np.array([float(r["score"]) for r in ok], dtype=np.float64)
    labels = np.array([1 if r["label"] in ("live", 1, "1") else 0 for r in ok])
    types = [r.get("attack_type") or "" for r in ok]
    srcs = np.array([str(r.get("source") or "") for r in ok], dtype=object)
    out: dict[str, dict[str, np.ndarray]] = {}

    def add(name: str, m: np.ndarray) -> None:
        s, lab = scores[m], labels[m]
        good = ~np.isnan(s)
        if (lab[good] == 1).any() and (lab[good] == 0).any():
            out[name] = error_curves(s, lab, [t for t, k in zip(types, m) if k])

    names = sorted(set(srcs.tolist()))
    if per_source and len(names) > 1:
        for src in names:
            add(src, srcs == src)
    if ok:
        add("overall", np.ones(len(ok), bool))
    return out


@dataclass
class Curve:
    """One curve of a DET/ROC plot: its label, error curves, style, and the operating points
    to mark on it: ``points`` = [(legend label, APCER all attacks, BPCER, marker)]."""

    label: str
    curves: Mapping[str, np.ndarray]
    color: str | tuple[float, ...] | None = None
    width: float = 1.2
    style: str = "-"
    points: list[tuple[str, float, float, str]] = field(default_factory=list)


def operating_points(name: str, m: Metrics) -> list[tuple[str, float, float, str]]:
    """The points to mark for metrics ``m``: the decision threshold and the EER point."""
    def finite(k: str) -> float | None:
        v = m.get(k)
        return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None

    pts = []
    t, a, b, e = finite("threshold"), finite("apcer_pooled"), finite("bpcer"), finite("eer")
    if t is not None and a is not None and b is not None:
        pts.append((f"{name}: threshold {t:.3f} (APCER {100 * a:.1f}%, BPCER {100 * b:.1f}%)",
                    a, b, "o"))
    if e is not None:
        pts.append((f"{name}: EER {100 * e:.1f}%", e, e, "X"))
    return pts


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def _draw(ax: Axes, curves: Sequence[Curve], fx: Callable[[npt.ArrayLike], np.ndarray],
          fy: Callable[[npt.ArrayLike], np.ndarray], x_key: str) -> None:
    import matplotlib as mpl

    n_auto = sum(1 for c in curves if c.color is None)
    tab20 = mpl.colormaps["tab20"]
    cycle = ([c["color"] for c in mpl.rcParams["axes.prop_cycle"]] if n_auto <= 10
             else [tab20(i) for i in range(tab20.N)])
    k = 0
    for c in curves:
        color, style = c.color, c.style
        if color is None:  # distinct colours, then line styles, so no two curves look alike
            color = cycle[k % len(cycle)]
            style = ("-", "--", "-.", ":")[(k // len(cycle)) % 4]
            k += 1
        ax.plot(fx(c.curves[x_key]), fy(c.curves["bpcer"]), style, color=color,
                linewidth=c.width, label=c.label)
        for lab, a, b, marker in c.points:
            ax.plot(fx([a]), fy([b]), linestyle="none", marker=marker, markersize=8,
                    markeredgecolor="black", color=color, label=lab, zorder=5)
    ax.grid(True, color="0.85")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8,
              frameon=False)


def det_figure(curves: Sequence[Curve], title: str = "DET") -> Figure:
    """A matplotlib Figure of DET curves: x = APCER (all attacks), y = BPCER, both on
    normal-deviate axes (:func:`probit`), with each curve's operating points."""
    fig, ax = _figure()
    _draw(ax, curves, probit, probit, "apcer_pooled")
    lim = probit([DET_LO, DET_HI])
    ax.plot(lim, lim, ":", color="0.6", linewidth=0.8)
    ticks = probit(DET_TICKS)
    labels = [f"{100 * t:g}" for t in DET_TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.set_xlabel("APCER, all attacks (%)")
    ax.set_ylabel("BPCER (%)")
    ax.set_title(title)
    return fig


def roc_figure(curves: Sequence[Curve], title: str = "ROC") -> Figure:
    """A matplotlib Figure of ROC curves: x = APCER (all attacks), y = 1 - BPCER."""
    fig, ax = _figure()

    def ident(v: npt.ArrayLike) -> np.ndarray:
        return np.asarray(v, np.float64)

    def one_minus(v: npt.ArrayLike) -> np.ndarray:
        return 1.0 - np.asarray(v, np.float64)

    _draw(ax, curves, ident, one_minus, "apcer_pooled")
    ax.plot([0, 1], [0, 1], ":", color="0.6", linewidth=0.8)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("APCER, all attacks (attacks accepted)")
    ax.set_ylabel("1 - BPCER (live accepted)")
    ax.set_title(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    fig.savefig(str(p), dpi=100, bbox_inches="tight")
    return p


def plot_det(curves: Sequence[Curve], path: str | os.PathLike[str]) -> Path:
    return save_figure(det_figure(curves), path)


def plot_roc(curves: Sequence[Curve], path: str | os.PathLike[str]) -> Path:
    return save_figure(roc_figure(curves), path)


def plot_curves(systems: Sequence[SystemResult]) -> list[Curve]:
    """The curves of a report: for one system its sources and "overall" (black), plus the
    development set's overall curve (dashed) under the dev/eval protocol; for several, each
    system's overall curve. Operating points go on the overall curves."""
    out: list[Curve] = []
    if len(systems) == 1:
        s = systems[0]
        cs = curves_of(s.rows)
        for name, c in cs.items():
            if name != "overall":
                out.append(Curve(name, c))
        if "overall" in cs:
            label = "overall (eval)" if s.dev_rows is not None else "overall"
            out.append(Curve(label, cs["overall"], color="black", width=2.0,
                             points=operating_points(label, s.metrics)))
        if s.dev_rows is not None and s.dev_metrics is not None:
            dc = curves_of(s.dev_rows, per_source=False)
            if "overall" in dc:
                out.append(Curve("overall (dev)", dc["overall"], color="0.45", width=1.5,
                                 style="--",
                                 points=operating_points("overall (dev)", s.dev_metrics)[:1]))
        return out
    for s in systems:
        cs = curves_of(s.rows, per_source=False)
        if "overall" in cs:
            out.append(Curve(s.name, cs["overall"], width=1.8,
                             points=operating_points(s.name, s.metrics)))
    return out


# -- thumbnails ------------------------------------------------------------------------------
def worst_examples(rows: Sequence[Row], k: int = 12
                   ) -> dict[str, list[Metrics]]:
    """The attacks scored most live and the live samples scored least live (FTA excluded)."""
    scored = [r for r in rows if math.isfinite(float(r["score"]))]
    att = sorted((r for r in scored if r["label"] != "live"), key=lambda r: -float(r["score"]))
    live = sorted((r for r in scored if r["label"] == "live"), key=lambda r: float(r["score"]))
    return {"attacks scored most live": att[:k], "live scored least live": live[:k]}


def _thumbnail(src: str, dest: Path, side: int = 112) -> bool:
    cv2 = _cv2()
    try:
        if is_image_path(src):
            img = read_image(src)
        else:
            if not os.path.isfile(src):
                return False
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
text-align:center;word-break:break-all}.plots img{margin-right:1em;max-width:48%}
code{background:#f4f4f4}.legend{font-size:12px;color:#555}"""


def _write_json(path: Path, doc: Metrics) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_jsonable(doc), fh, indent=2, allow_nan=False)
    return path


def _sections(systems: Sequence[SystemResult]) -> list[tuple[str, str, list[str],
                                                             list[list[str]], str]]:
    """(title, threshold line, header, rows, kind) of each table of the report."""
    out = []
    if len(systems) == 1:
        s = systems[0]
        if s.dev_metrics is not None:
            out.append(("Development set (the threshold is fixed here)",
                        threshold_line(s.dev_metrics), *table_rows(s.dev_metrics), "main"))
            title = "Evaluation set (at the development threshold)"
        else:
            title = "ISO/IEC 30107-3 metrics"
        out.append((title, threshold_line(s.metrics), *table_rows(s.metrics), "main"))
        out.append(("Per attack type", "", *type_table_rows(s.metrics), "types"))
        return out
    trows, lines = [], []
    _, rows = systems_table(systems)
    for s in systems:
        _, tr = type_table_rows({k: v for k, v in s.metrics.items() if k != "per_source"},
                                first="system")
        trows += [[s.name] + r[1:] for r in tr]
        lines.append(f"{s.name}: {threshold_line(s.metrics)}")
    out.append(("Systems (overall)", " ".join(lines), ["system"] + TABLE_HEADER, rows, "main"))
    out.append(("Per attack type", "", ["system"] + TYPE_HEADER, trows, "types"))
    return out


def write_systems_report(out_dir: str | os.PathLike[str], systems: Sequence[SystemResult],
                         meta: Metrics, *, thumbnails: int = 12,
                         blink: Metrics | None = None,
                         write_scores: bool = True) -> dict[str, Path]:
    """Write the report of one or several systems into ``out_dir``; return {kind: path}.

    One system: scores.csv (and dev-scores.csv), metrics.json with ``metrics`` (and ``dev``),
    per-source tables and curves, thumbnails. Several: metrics.json with ``systems`` and one
    overall curve per system in det.png / roc.png (their scores are not rewritten).
    ``paths["plots_missing"]`` is set (to the report folder) when matplotlib is not installed.
    """
    if not systems:
        raise ValueError("systems: expected at least one system")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    one = systems[0] if len(systems) == 1 else None
    if one is not None and write_scores:
        paths["scores"] = write_scores_csv(out / "scores.csv", one.rows)
        if one.dev_rows is not None:
            paths["dev_scores"] = write_scores_csv(out / "dev-scores.csv", one.dev_rows)
    doc: dict[str, Any] = {"meta": dict(meta)}
    if one is not None:
        doc["metrics"] = one.metrics
        if one.dev_metrics is not None:
            doc["dev"] = one.dev_metrics
    else:
        doc["systems"] = [{"name": s.name, "data": s.data, "metrics": s.metrics,
                           **({"dev": s.dev_metrics} if s.dev_metrics is not None else {})}
                          for s in systems]
    if blink is not None:
        doc["blink"] = blink
    paths["metrics"] = _write_json(out / "metrics.json", doc)

    curves = plot_curves(systems)
    if curves and plots_available():
        paths["det"] = plot_det(curves, out / "det.png")
        paths["roc"] = plot_roc(curves, out / "roc.png")
    elif curves:
        paths["plots_missing"] = out

    sections = _sections(systems)
    notes = [n for s in systems for n in s.metrics.get("notes", [])]
    data = meta.get("data", "")
    md = [f"# fastlive evaluation: {data}", "", f"Command: `{meta.get('command', '')}`", "",
          f"fastlive {meta.get('fastlive_version', '?')}, passive models "
          f"{meta.get('model_version', '?')}; "
          + (f"{meta.get('n_entries', len(one.rows))} samples scored in "
             f"{_f(meta.get('seconds'), 1)} s." if one is not None
             else f"{len(systems)} systems compared."), ""]
    for title, line, header, rows, _kind in sections:
        md += [f"## {title}", ""] + ([line, ""] if line else []) + [markdown(header, rows), ""]
    md += [TABLE_LEGEND, ""]
    if notes:
        md += ["Notes: " + "; ".join(str(n) for n in dict.fromkeys(notes)), ""]
    if "plots_missing" in paths:
        md += [f"No DET/ROC plots: {PLOT_HINT}.", ""]
    if blink is not None:
        md += ["## Blink detection (ZJU Eyeblink annotations)", "",
               "| clips | TP | FP | FN | precision | recall | F1 |",
               "|---|---:|---:|---:|---:|---:|---:|",
               f"| {blink.get('clips')} | {blink.get('tp')} | {blink.get('fp')} | "
               f"{blink.get('fn')} | {_f(blink.get('precision'))} | {_f(blink.get('recall'))} | "
               f"{_f(blink.get('f1'))} |", ""]
    paths["markdown"] = out / "report.md"
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")

    thumbs_html = []
    if one is not None and thumbnails > 0:
        tdir = out / "thumbs"
        tdir.mkdir(exist_ok=True)
        n = 0
        for title, items in worst_examples([r for r in one.rows if not r.get("error")],
                                           thumbnails).items():
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
    if "plots_missing" in paths:
        plots = f"<p>No plots: {html.escape(PLOT_HINT)}.</p>"
    else:
        plots = "".join(f'<img src="{k}.png" alt="{k.upper()} curves">' for k in ("det", "roc")
                        if k in paths)
    tables = "".join(
        f"<h2>{html.escape(title)}</h2>" + (f"<p>{html.escape(line)}</p>" if line else "")
        + _html(header, rows) for title, line, header, rows, _kind in sections)
    summary = (f"{len(one.rows)} samples, {_f(meta.get('seconds'), 1)} s." if one is not None
               else f"{len(systems)} systems compared.")
    page = (
        "<!doctype html><html><head><meta charset=utf-8><title>fastlive evaluation</title>"
        f"<style>{CSS}</style></head><body><h1>fastlive evaluation</h1>"
        f"<p>Data: <code>{html.escape(str(data))}</code>; command: "
        f"<code>{html.escape(str(meta.get('command', '')))}</code></p>"
        f"<p>fastlive {html.escape(str(meta.get('fastlive_version', '?')))}, passive models "
        f"{html.escape(str(meta.get('model_version', '?')))}; {summary}</p>"
        f"{tables}<p class=legend>{html.escape(TABLE_LEGEND)}</p>"
        + (f"<p>Notes: {html.escape('; '.join(map(str, dict.fromkeys(notes))))}</p>"
           if notes else "")
        + f"<h2>DET and ROC</h2><div class=plots>{plots}</div>{blink_html}"
        + ("<h2>Worst-scored samples</h2>" + "".join(thumbs_html) if thumbs_html else "")
        + "</body></html>"
    )
    paths["html"] = out / "index.html"
    paths["html"].write_text(page, encoding="utf-8")
    return paths


def write_report(out_dir: str | os.PathLike[str], rows: Sequence[Row],
                 metrics: Metrics, meta: Metrics, *,
                 thumbnails: int = 12, blink: Metrics | None = None,
                 dev_rows: Sequence[Row] | None = None,
                 dev_metrics: Metrics | None = None) -> dict[str, Path]:
    """Write every report file of one system into ``out_dir``; return {kind: path}."""
    return write_systems_report(
        out_dir, [SystemResult(str(meta.get("name", "fastlive")), rows, metrics, dev_rows,
                               dev_metrics, str(meta.get("data", "")))],
        meta, thumbnails=thumbnails, blink=blink)
