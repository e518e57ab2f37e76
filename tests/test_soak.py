"""Soak and concurrency (issue 5, item 4; docs/security.md "Soak").

* Soak: ``FASTLIVE_SOAK_FRAMES`` frames (default 2,000 in CI; the full run is 20,000) of real
  video through ``fastlive.score_frame``: resident memory (the median of the samples in the
  last third of the run against the median of the first third after warm-up) grows by less
  than 5 MB (20 MB under AddressSanitizer, see RSS_LIMIT_MB), no thread and no file
  descriptor is leaked.
* Stress: one shared LivenessDetector, 4 threads x 4 sessions fed interleaved real video: every
  result is identical to scoring each stream alone, serially.
"""

from __future__ import annotations

import csv
import gc
import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from fastlive.evaluate.blinks_zju import read_video  # noqa: E402

SOAK_FRAMES = int(os.environ.get("FASTLIVE_SOAK_FRAMES", "2000"))
WARMUP_FRAMES = 300
# Under AddressSanitizer (scripts/sanitize.sh preloads libasan) freed memory sits in ASan's
# quarantine and resident memory swings by +-15 MB between samples with no trend; one sanitized
# CI run measured +6.97 MB with samples 1353-1374 MB in no order, while the plain build over
# 8,000 frames grew by 0.11 MB. The plain run is the leak check (5 MB); the sanitized run only
# catches a leak of over ~10 KB per frame.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
RSS_LIMIT_MB = 20.0 if UNDER_ASAN else 5.0
RSS_EVERY = 100  # frames between RSS samples after warm-up


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _native_threads() -> set[str]:
    return set(os.listdir("/proc/self/task"))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _zju_clips(data_dir: Path) -> list[Path]:
    with open(data_dir / "manifest.csv", newline="") as fh:
        return [data_dir / r["path"] for r in csv.DictReader(fh)
                if r["source"] == "zju_eyeblink" and r["media"] == "video"]


@pytest.fixture(scope="module")
def clips(data_dir) -> list[list[np.ndarray]]:
    paths = _zju_clips(data_dir)
    assert len(paths) >= 8
    out = [read_video(p)[0][:60] for p in paths[:: max(1, len(paths) // 8)][:8]]
    assert all(len(c) == 60 for c in out)
    return out


pytestmark = pytest.mark.skipif(not Path("/proc/self/statm").exists(),
                                reason="RSS/thread/fd accounting reads /proc (Linux only)")


def test_soak_score_frame_memory_threads_fds(clips):
    import fastlive
    from fastlive import api

    # A long stream: the clips back to back (forwards then backwards, so tracks move and are
    # lost at the cuts), a faceless frame every 97 frames, every 50th frame a different size.
    frames = []
    for c in clips:
        frames += c + c[::-1]
    blank = np.full((240, 320, 3), 30, np.uint8)
    big = [cv2.resize(f, (640, 480)) for f in clips[0][:10]]

    def frame_at(i: int) -> np.ndarray:
        if i % 97 == 96:
            return blank
        if i % 50 == 49:
            return big[i // 50 % len(big)]
        return frames[i % len(frames)]

    # fastlive.score_frame uses the default detector's default session, which earlier tests
    # (fuzz replays) may have advanced: start this stream on a fresh timeline.
    api.default_detector().default_session.reset()
    t = 0.0
    rss = []
    decisions: dict[str, int] = {}
    n_faces = 0
    start = time.perf_counter()
    for i in range(SOAK_FRAMES):
        t += 1 / 30
        res = fastlive.score_frame(frame_at(i), timestamp=t)
        decisions[res.decision] = decisions.get(res.decision, 0) + 1
        n_faces += len(res.faces)
        for f in res.faces:
            assert math.isnan(f.score) or 0.0 <= f.score <= 1.0
        if i + 1 == WARMUP_FRAMES:
            gc.collect()
            rss0, threads0, pythreads0, fds0 = (_rss_mb(), _native_threads(),
                                                set(threading.enumerate()), _fds())
        if i + 1 > WARMUP_FRAMES and (i + 1 - WARMUP_FRAMES) % RSS_EVERY == 0:
            rss.append(round(_rss_mb(), 2))
    elapsed = time.perf_counter() - start
    gc.collect()
    rss.append(round(_rss_mb(), 2))
    # Resident memory swings between samples (the allocator's free lists, and in the sanitized
    # run AddressSanitizer's quarantine: +-15 MB seen there with no trend). A leak raises the
    # whole level, so compare the median of the last third of the samples with the median of
    # the first third (was: their lowest samples, which one low sample in the first third could
    # turn into "growth": +6.3 MB from samples that went 1333, 1340, 1332, 1325, 1342, 1342 ...
    # 1340, 1335, 1345, 1343, 1331, 1331 MB in a sanitized CI run).
    third = max(1, len(rss) // 3)
    growth = float(np.median(rss[-third:]) - np.median([rss0, *rss[:third]]))
    print(f"\nsoak: {SOAK_FRAMES} frames in {elapsed:.1f} s "
          f"({1e3 * elapsed / SOAK_FRAMES:.2f} ms/frame), RSS after warm-up {rss0:.1f} MB, "
          f"growth of the median {growth:+.2f} MB, RSS samples (every "
          f"{RSS_EVERY * max(1, len(rss) // 10)} frames) {rss[::max(1, len(rss) // 10)]}, "
          f"decisions {decisions}, "
          f"faces {n_faces}, native threads {len(threads0)}->{len(_native_threads())}, "
          f"fds {fds0}->{_fds()}")
    assert n_faces > SOAK_FRAMES // 2, "faces were not found: the soak did not exercise scoring"
    assert growth < RSS_LIMIT_MB, f"RSS grew by {growth:.2f} MB over {SOAK_FRAMES} frames"
    # A leak is a thread started during the stream and still alive at its end. Threads that an
    # earlier test left winding down may end meanwhile (CI saw 18 -> 17): that is no leak.
    assert not _native_threads() - threads0, "native threads leaked"
    assert not set(threading.enumerate()) - pythreads0, "Python threads leaked"
    assert _fds() <= fds0, "file descriptors leaked"
    assert api.default_detector() is api.default_detector()


def _key(res) -> tuple:
    """Everything a result says, exactly (floats by repr, NaN included), without timings."""
    faces = []
    for f in res.faces:
        cues = {k: repr(v) for k, v in sorted(f.cues.items()) if not isinstance(v, dict)}
        faces.append((f.decision, f.reason, repr(f.score), tuple(map(repr, f.box)), f.track_id,
                      repr(f.ear), f.blink_count, tuple(sorted(cues.items())), f.tracked))
    return (res.decision, res.frame_index, repr(res.timestamp), res.detected, tuple(faces))


def test_four_threads_four_sessions_match_serial(clips):
    from fastlive.api import LivenessDetector

    det = LivenessDetector()
    streams = [c[:30] for c in clips] + [c[30:60] for c in clips]  # 16 streams
    assert len(streams) == 16 and all(len(s) == 30 for s in streams)

    serial = []
    for frames in streams:
        s = det.new_session()
        serial.append([_key(det.score_frame(f, session=s, timestamp=i / 30))
                       for i, f in enumerate(frames)])
    assert sum(len(r[4]) for st in serial for r in st) > 16 * 30 // 2, "few faces found"

    parallel: list[list] = [[] for _ in streams]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(ids: list[int]) -> None:
        try:
            sessions = {k: det.new_session() for k in ids}
            barrier.wait()
            for i in range(30):  # interleave this thread's 4 streams frame by frame
                for k in ids:
                    parallel[k].append(_key(det.score_frame(streams[k][i], session=sessions[k],
                                                            timestamp=i / 30)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=([t * 4 + j for j in range(4)],))
               for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    assert not any(th.is_alive() for th in threads), "stress threads hung"
    assert not errors, errors
    for k in range(16):
        for i in range(30):
            assert parallel[k][i] == serial[k][i], f"stream {k} frame {i} differs from serial"
