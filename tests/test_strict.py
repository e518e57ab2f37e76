"""Offline without the third-party models: degraded results are marked (FrameResult.degraded,
the JSON), and strict mode (Config.strict, FASTLIVE_STRICT, --strict) fails instead."""

from __future__ import annotations

import json

import pytest

from fastlive import cli, registry
from fastlive.api import LivenessDetector
from fastlive.config import Config
from fastlive.detect import FaceDetector, haar_available
from fastlive.results import DEGRADED_DETECTOR, DEGRADED_EYES, DEGRADED_PASSIVE

LIVE = "nuaa/live/0001/0001_00_00_01_0.jpg"


class FakeScorer:
    version = "fake"
    thresholds = {"convenience": 0.3, "balanced": 0.5, "secure": 0.7}

    def score(self, frame, faces):
        from fastlive.passive import PassiveScore

        return [PassiveScore.from_score(0.9) for _ in faces]


@pytest.fixture()
def no_models(monkeypatch, tmp_path):
    """An empty model folder and cache, offline: no YuNet, no MediaPipe (the passive models and
    fastlive's eye network ship inside the package)."""
    (tmp_path / "models").mkdir()
    monkeypatch.setenv("FASTLIVE_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("FASTLIVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTLIVE_OFFLINE", "1")
    monkeypatch.delenv("FASTLIVE_STRICT", raising=False)
    return tmp_path


@pytest.fixture()
def no_passive(monkeypatch):
    """fastlive's own passive models missing (a broken install)."""
    monkeypatch.setattr(registry, "shipped_dirs", lambda: [])


def test_complete_install_is_not_degraded(frame, monkeypatch):
    monkeypatch.delenv("FASTLIVE_STRICT", raising=False)
    det = LivenessDetector(Config(strict=True), passive=FakeScorer())
    assert det.degraded == {}
    r = det.score_frame(frame)
    assert r.degraded == () and r.to_dict()["degraded"] == []


@pytest.mark.skipif(not haar_available(), reason="this OpenCV ships no Haar cascades (5.x)")
def test_degraded_results_are_marked(frame, no_models):
    with pytest.warns(RuntimeWarning, match="runs degraded"):
        det = LivenessDetector(Config(eye_model="fastlive"), passive=FakeScorer())
    assert set(det.degraded) == {DEGRADED_DETECTOR}  # fastlive's eye network ships
    assert det.landmarker is not None
    with pytest.warns(RuntimeWarning, match="runs degraded"):
        det = LivenessDetector(Config(eye_model="mediapipe"), passive=FakeScorer())
    assert set(det.degraded) == {DEGRADED_DETECTOR, DEGRADED_EYES} and det.landmarker is None
    assert "no blink cue" in det.degraded[DEGRADED_EYES]
    # the default ("auto"): fastlive's network instead of MediaPipe's, marked
    with pytest.warns(RuntimeWarning, match="runs degraded"):
        det = LivenessDetector(passive=FakeScorer())
    assert set(det.degraded) == {DEGRADED_DETECTOR, DEGRADED_EYES}
    assert det.landmarker is not None
    assert "fastlive's eye network instead of MediaPipe's" in det.degraded[DEGRADED_EYES]
    assert "Haar" in det.degraded[DEGRADED_DETECTOR]
    assert "fastlive models install" in det.degraded[DEGRADED_EYES]
    r = det.score_frame(frame)
    assert r.degraded == (DEGRADED_DETECTOR, DEGRADED_EYES)
    assert r.faces[0].detector == "haar"  # the different result the mark warns of
    d = json.loads(json.dumps(r.to_dict()))
    assert d["degraded"] == ["face_detector", "eye_landmarks"]
    s = det.new_session()
    assert det.score_frame(frame, session=s, timestamp=0.0).degraded == r.degraded
    assert det.score_face(frame).degraded == r.degraded


def test_missing_passive_models_are_marked(frame, no_passive, monkeypatch):
    monkeypatch.delenv("FASTLIVE_STRICT", raising=False)
    with pytest.warns(RuntimeWarning, match="passive liveness models unavailable"):
        det = LivenessDetector(Config(eye_model="mediapipe"))
    assert set(det.degraded) == {DEGRADED_PASSIVE}
    r = det.score_frame(frame)
    assert r.degraded == (DEGRADED_PASSIVE,) and r.decision == "UNCERTAIN"
    with pytest.raises(registry.ModelNotFoundError, match="strict mode.*passive"):
        LivenessDetector(Config(strict=True, eye_model="mediapipe"))


def test_strict_config_fails_instead_of_degrading(no_models):
    with pytest.raises(registry.ModelNotFoundError,
                       match="YuNet.*strict mode.*fastlive models install"):
        LivenessDetector(Config(strict=True), passive=FakeScorer())
    # the eye model alone missing (the detector given): strict fails on it too
    with pytest.raises(registry.ModelNotFoundError, match="eye landmark model.*strict mode"):
        LivenessDetector(Config(strict=True, eye_model="mediapipe"), passive=FakeScorer(),
                         detector=FaceDetector("haar") if haar_available() else None)
    # without eye landmarks asked for, nothing is missing
    if haar_available():
        det = LivenessDetector(Config(strict=True, landmarks=False, detector_backend="haar"),
                               passive=FakeScorer())
        assert det.degraded == {}


def test_strict_environment_variable(no_models, monkeypatch):
    monkeypatch.setenv("FASTLIVE_STRICT", "1")
    assert registry.strict()
    with pytest.raises(registry.ModelNotFoundError, match="strict mode"):
        LivenessDetector(passive=FakeScorer())
    with pytest.raises(registry.ModelNotFoundError, match="strict mode"):
        LivenessDetector(Config(strict=False), passive=FakeScorer())  # the variable wins
    with pytest.raises(registry.ModelNotFoundError, match="strict mode"):
        FaceDetector()
    with pytest.raises(registry.ModelNotFoundError, match="strict mode"):
        FaceDetector(strict=False)
    monkeypatch.setenv("FASTLIVE_STRICT", "0")
    assert not registry.strict()
    if haar_available():
        with pytest.warns(RuntimeWarning, match="Haar"):
            assert FaceDetector().backend == "haar"
        with pytest.raises(registry.ModelNotFoundError, match="strict mode"):
            FaceDetector(strict=True)


def test_strict_must_be_a_bool():
    with pytest.raises(TypeError, match="strict"):
        Config(strict="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="strict"):
        FaceDetector(strict="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_cli_strict_is_one_error_line(data_dir, no_models, monkeypatch, capsys, how):
    argv = ["image", str(data_dir / LIVE)]
    if how == "flag":
        argv.append("--strict")
    else:
        monkeypatch.setenv("FASTLIVE_STRICT", "1")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastlive: error: ") and "strict mode" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not haar_available(), reason="this OpenCV ships no Haar cascades (5.x)")
def test_cli_json_marks_degraded_results(data_dir, no_models, capsys):
    with pytest.warns(RuntimeWarning, match="runs degraded"):
        assert cli.main(["image", str(data_dir / LIVE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["degraded"] == ["face_detector", "eye_landmarks"]
    with pytest.warns(RuntimeWarning, match="runs degraded"):
        assert cli.main(["image", str(data_dir / LIVE), "--json", "--eye-model",
                         "fastlive"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["degraded"] == ["face_detector"]
