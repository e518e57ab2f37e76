"""Load benchmark of ``fastlive serve`` (benchmarks/serve_load.py), kept from rotting: a short,
bounded run per worker count against the real command (``python -m fastlive.serve``) on
loopback; every session ends with a verdict whose token verifies with the shared secret,
whichever worker issued it. The measurement itself (8 sessions at 15 fps):

    nice python benchmarks/serve_load.py ../shared/data --sessions 8 --fps 15 --workers 1
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the serve extra (pip install 'fastlive[serve]')")
pytest.importorskip("websockets", reason="the test extra")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_load  # noqa: E402

from fastlive.serve import verify_token  # noqa: E402

SECRET = "bench-secret-0123456789abcdefghijklmnopq"


@pytest.mark.parametrize("workers", [1, 2])
def test_bench_serve_load(benchmark, data_dir, tmp_path, workers):
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    res = benchmark.pedantic(serve_load.measure, args=(data_dir,),
                             kwargs=dict(sessions=2, fps=15.0, seconds=5.0, workers=workers,
                                         secret_file=secret), rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in res.items() if k != "tokens"})
    assert res["errors"] == {}
    assert res["frames_answered"] >= 20
    assert res["sessions_completed"] >= 1 and sum(res["verdicts"].values()) >= 1
    assert res["tokens"]
    for tok in res["tokens"]:  # issued by either worker, checked with the one secret
        assert verify_token(tok, SECRET).decision in ("LIVE", "SPOOF", "UNCERTAIN")
