"""fastlive serve in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright) with a fake camera fed from clips made from ../shared/data, against the real
server on loopback. The page opens, streams, shows prompts and ends with a verdict whose
token the test (standing for the app's backend) verifies.

Set FASTLIVE_SCREENSHOTS=DIR to keep the screenshots."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the serve extra (pip install 'fastlive[serve]')")
pytest.importorskip("uvicorn", reason="the serve extra (pip install 'fastlive[serve]')")
sync_api = pytest.importorskip("playwright.sync_api")

from serve_helpers import (  # noqa: E402
    SECRET,
    WOLFHUO_LIVE,
    WOLFHUO_REPLAY,
    read_clip,
    serve,
    write_y4m,
)

import fastlive  # noqa: E402
from fastlive.serve import ServeConfig, create_app, verify_token  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("the browser tests need Debian's chromium (.ci/run installs it)")
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

VERDICT_TIMEOUT_MS = 25_000


@pytest.fixture(scope="module")
def det():
    return fastlive.LivenessDetector(ServeConfig().detector)


@pytest.fixture(scope="module")
def clips(data_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("y4m")
    live, _ = read_clip(data_dir / WOLFHUO_LIVE, scale=0.5)  # 272x480, 4.4 s
    replay, _ = read_clip(data_dir / WOLFHUO_REPLAY, scale=0.5)  # a screen replay, 5.6 s
    return {
        "live": write_y4m(d / "live.y4m", live),
        "replay": write_y4m(d / "replay.y4m", replay),
        "still": write_y4m(d / "still.y4m", [live[0]] * 30),  # a photo held still
    }


@pytest.fixture(scope="module")
def passive_server(det):
    with serve(create_app(ServeConfig(secret=SECRET, challenges=False), detector=det)) as base:
        yield base


@pytest.fixture(scope="module")
def challenge_server(det):
    cfg = ServeConfig(secret=SECRET, challenge_window_s=3.0)
    with serve(create_app(cfg, detector=det)) as base:
        yield base


@pytest.fixture()
def shots(tmp_path):
    d = Path(os.environ.get("FASTLIVE_SCREENSHOTS") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def run_page(base: str, clip: Path, shots: Path, name: str, ctx: str, again: int = 0) -> dict:
    """Open the page with the clip as the camera, press Start, wait for the verdict."""
    # scripts/sanitize.sh preloads the ASan runtime for Python: not for Playwright's driver
    # (node) and the browser
    sanitizer = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")
    env = {k: v for k, v in os.environ.items() if k not in sanitizer}
    saved = {k: os.environ.pop(k) for k in sanitizer if k in os.environ}
    try:
        return _run_page(base, clip, shots, name, ctx, env, again)
    finally:
        os.environ.update(saved)


def _run_page(base: str, clip: Path, shots: Path, name: str, ctx: str,
              env: dict[str, str], again: int) -> dict:
    received: list[dict] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, env=env,
            args=["--no-sandbox", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={clip}"])
        try:
            page = browser.new_page(viewport={"width": 760, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            def on_ws(ws):
                ws.on("framereceived", lambda payload: received.append(json.loads(payload))
                      if isinstance(payload, str) else None)

            page.on("websocket", on_ws)
            page.goto(f"{base}/?ctx={ctx}")
            page.screenshot(path=str(shots / f"{name}-0-open.png"))
            page.click("#start")
            page.wait_for_selector("[data-fastlive=prompt]:not(:empty)", timeout=10_000)
            page.wait_for_selector(".fl-root[data-guidance]", timeout=10_000)
            page.screenshot(path=str(shots / f"{name}-1-streaming.png"))
            if any(m.get("type") == "hello" and m.get("challenges") for m in received):
                page.wait_for_selector(
                    ".fl-root[data-phase=challenge], .fl-root[data-state=done]",
                    timeout=VERDICT_TIMEOUT_MS)
                page.screenshot(path=str(shots / f"{name}-2-challenge.png"))
            page.wait_for_selector("[data-fastlive=verdict]:not([hidden])",
                                   timeout=VERDICT_TIMEOUT_MS)
            page.wait_for_selector("#token-box:not([hidden])", timeout=5_000)
            page.screenshot(path=str(shots / f"{name}-3-verdict.png"))
            tokens = [(page.text_content("[data-fastlive=token]") or "").strip()]
            for _ in range(again):  # "Try again": a new session on the same page
                page.click("#start")
                page.wait_for_selector("[data-fastlive=verdict][hidden]", state="attached",
                                       timeout=5_000)
                page.wait_for_selector("#token-box:not([hidden])", timeout=VERDICT_TIMEOUT_MS)
                tokens.append((page.text_content("[data-fastlive=token]") or "").strip())
            return {
                "tokens": tokens,
                "decision": page.get_attribute("[data-fastlive=verdict]", "data-decision"),
                "text": page.inner_text("[data-fastlive=verdict]"),
                "token": (page.text_content("[data-fastlive=token]") or "").strip(),
                "messages": received, "errors": errors,
            }
        finally:
            browser.close()


def test_live_clip_streams_and_gets_a_live_token(passive_server, clips, shots):
    r = run_page(passive_server, clips["live"], shots, "live", "signup-1")
    assert r["errors"] == []
    guidance = [m for m in r["messages"] if m["type"] == "guidance"]
    assert len(guidance) >= 10  # frames streamed and answered
    assert {"align", "verify"} <= {g["phase"] for g in guidance}
    assert all("score" not in m for m in r["messages"])  # never sent to the browser
    assert r["decision"] == "LIVE" and r["text"] == "Verified"
    v = verify_token(r["token"], SECRET, expected_ctx="signup-1")  # the app's backend
    assert v.is_live and v.challenges == ()


def test_replayed_clip_fails_the_challenges(challenge_server, clips, shots):
    r = run_page(challenge_server, clips["replay"], shots, "replay", "signup-2")
    assert r["errors"] == []
    hello = next(m for m in r["messages"] if m["type"] == "hello")
    assert 2 <= hello["challenges"] <= 3
    prompts = [m for m in r["messages"] if m["type"] == "guidance" and m["state"] == "challenge"]
    assert prompts, "no challenge was shown"
    assert r["decision"] != "LIVE"
    v = verify_token(r["token"], SECRET, expected_ctx="signup-2")
    assert not v.is_live
    # the replay cannot follow the prompts (it may also be caught looping first)
    assert v.reason.startswith(("challenge ", "looped video", "the face left")), v.reason


def test_still_photo_never_passes(passive_server, clips, shots):
    r = run_page(passive_server, clips["still"], shots, "still", "signup-3", again=1)
    assert r["errors"] == []
    assert r["decision"] != "LIVE"
    assert len(r["tokens"]) == 2 and r["tokens"][-1] == r["token"]
    sessions = set()
    for tok in r["tokens"]:  # the first try and "Try again"
        v = verify_token(tok, SECRET, expected_ctx="signup-3")
        assert v.decision == "UNCERTAIN", v
        assert v.reason.startswith(("frozen stream", "looped video")), v.reason
        sessions.add(v.session_id)
    assert len(sessions) == 2
