"""Decisions on streams: every clip of ``../shared/data`` through ``LivenessDetector`` sessions.

Clips:

* every video of the manifest (ZJU Eyeblink's live clips; the self-recorded groups' live and
  replay videos), frame by frame at the video's own timestamps (frame index / fps);
* one sequence per whole-frame webcam source and class: its frames in capture order, at the
  capture times their file names hold (``time.time()`` with the decimal point dropped: about a
  second apart), so a sequence is a slow stream of one person or one attack.

Each clip is scored by the models of the fold that held its source out (never by a model that
trained on it), with the shipped pipeline's defaults. Reported per clip: the decision of the main
face over time, when it first became LIVE (seconds from the first frame), whether an attack clip
was ever LIVE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import data
from training.features import read_video


@dataclass
class Clip:
    name: str
    source: str
    label: int  # 1 live, 0 attack
    attack_type: str
    paths: list[Path]  # one video, or the sequence's images
    times: list[float] | None  # capture times of a sequence (None: a video)


def _capture_time(name: str) -> float | None:
    """Capture time of a webcam frame named by ``time.time()`` without its decimal point."""
    m = re.fullmatch(r"(\d{10})(\d*)", Path(name).stem)
    return None if m is None else float(f"{m.group(1)}.{m.group(2) or 0}")


def clips(data_dir: Path | None = None) -> list[Clip]:
    """The manifest's videos and one capture-ordered sequence per webcam source and class."""
    data_dir = Path(data_dir) if data_dir is not None else data.default_data_dir()
    rows = data.read_manifest(data_dir)
    out = []
    seqs: dict[tuple[str, int, str], list[tuple[float, Path]]] = {}
    for r in rows:
        lab = 1 if r["label"] == "live" else 0
        if r["media"] == "video":
            out.append(Clip(r["path"], r["source"], lab, r["attack_type"],
                            [data_dir / r["path"]], None))
        elif r["path"].startswith("webcam/"):
            t = _capture_time(r["path"])
            if t is not None:
                seqs.setdefault((r["source"], lab, r["attack_type"]), []).append(
                    (t, data_dir / r["path"]))
    for (src, lab, at), items in sorted(seqs.items()):
        items.sort()
        out.append(Clip(f"webcam/{src}/{'live' if lab else 'attack'}", src, lab, at,
                        [p for _, p in items], [t - items[0][0] for t, _ in items]))
    return out


def frames(clip: Clip) -> list[tuple[float, np.ndarray]]:
    """(timestamp in seconds from the first frame, BGR frame) of every frame of ``clip``."""
    import cv2

    if clip.times is None:
        cap = cv2.VideoCapture(str(clip.paths[0]))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        cap.release()
        fps = fps if 1.0 <= fps <= 240.0 else 30.0
        return [(k / fps, fr) for k, fr in enumerate(read_video(clip.paths[0]))]
    out = []
    for t, p in zip(clip.times, clip.paths):
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            out.append((t, img))
    return out


def run(detector: Any, clip: Clip) -> dict[str, Any]:
    """One session over ``clip``: per frame the main face's decision (the largest face; none:
    "no face"); time of the first LIVE; share of frames LIVE / SPOOF / UNCERTAIN."""
    s = detector.new_session()
    decisions = []
    first_live = None
    fs = frames(clip)
    for t, fr in fs:
        res = detector.score_frame(fr, session=s, timestamp=t)
        d = res.faces[0].decision if res.faces else "no face"
        decisions.append(d)
        if d == "LIVE" and first_live is None:
            first_live = t
    n = max(len(decisions), 1)
    return {"clip": clip.name, "source": clip.source, "label": clip.label,
            "attack_type": clip.attack_type, "frames": len(decisions),
            "duration_s": fs[-1][0] if fs else 0.0,
            "first_live_s": first_live,
            "frames_to_live": None if first_live is None else decisions.index("LIVE") + 1,
            "live": decisions.count("LIVE") / n, "spoof": decisions.count("SPOOF") / n,
            "uncertain": decisions.count("UNCERTAIN") / n,
            "no_face": decisions.count("no face") / n, "final": decisions[-1] if decisions
            else "no face"}


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: one row per clip group (ZJU's 40 clips summarised in one row)."""
    def row(name: str, rs: list[dict[str, Any]]) -> str:
        lab = "live" if rs[0]["label"] else f"attack ({rs[0]['attack_type'] or 'unknown'})"
        firsts = [r["first_live_s"] for r in rs]
        if rs[0]["label"]:
            got = [f for f in firsts if f is not None]
            within = sum(f <= 2.0 for f in got)
            when = (f"{within} of {len(rs)} within 2 s; median {np.median(got):.2f} s, "
                    f"worst {max(got):.2f} s" if got else "never")
            if len(got) < len(rs):
                when += f"; {len(rs) - len(got)} never LIVE"
        else:
            ever = sum(f is not None for f in firsts)
            when = "never LIVE" if not ever else f"LIVE in {ever} of {len(rs)} clips"
        fr = sum(r["frames"] for r in rs)
        share = np.average([r["live"] for r in rs], weights=[r["frames"] for r in rs])
        return f"| {name} | {lab} | {len(rs)} | {fr} | {when} | {100 * share:.1f} |"

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        key = ("zju_eyeblink (40 clips)" if r["source"] == "zju_eyeblink" else r["clip"])
        groups.setdefault(key, []).append(r)
    lines = ["| clip | class | clips | frames | time to LIVE | frames LIVE % |",
             "|---|---|---|---|---|---|"]
    lines += [row(k, v) for k, v in groups.items()]
    return "\n".join(lines)
