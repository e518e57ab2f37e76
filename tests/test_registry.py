"""fastlive.registry: resolution order, sha256 checks, offline behaviour, install_from."""

from __future__ import annotations

import shutil

import pytest

from fastlive import registry


@pytest.fixture()
def isolated(monkeypatch, tmp_path):
    """No model dir, an empty cache, offline."""
    monkeypatch.delenv("FASTLIVE_MODEL_DIR", raising=False)
    monkeypatch.setenv("FASTLIVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTLIVE_OFFLINE", "1")
    return tmp_path


def test_resolves_third_party_models_from_the_model_dir(models_dir, monkeypatch):
    monkeypatch.setenv("FASTLIVE_MODEL_DIR", str(models_dir))
    for name in ("yunet", "face_mesh", "iris"):
        p = registry.resolve(name)
        assert p.parent == models_dir
        assert registry.sha256_file(p) == registry.spec(name).sha256


def test_explicit_path_is_verified(models_dir, tmp_path):
    good = models_dir / registry.spec("yunet").filename
    assert registry.resolve("yunet", good) == good
    bad = tmp_path / "yunet.onnx"
    data = bytearray(good.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(registry.ModelIntegrityError, match="sha256"):
        registry.resolve("yunet", bad)
    with pytest.raises(TypeError, match="path"):
        registry.resolve("yunet", 123)  # type: ignore[arg-type]


def test_corrupted_file_in_model_dir_is_refused_not_skipped(models_dir, isolated, monkeypatch):
    d = isolated / "models"
    d.mkdir()
    (d / registry.spec("iris").filename).write_bytes(b"not an onnx file")
    monkeypatch.setenv("FASTLIVE_MODEL_DIR", str(d))
    with pytest.raises(registry.ModelIntegrityError, match="corrupted"):
        registry.resolve("iris")


def test_offline_without_files_says_how_to_install(isolated):
    with pytest.raises(registry.ModelNotFoundError) as ei:
        registry.resolve("face_mesh")
    msg = str(ei.value)
    assert "fastlive models install" in msg and "FASTLIVE_MODEL_DIR" in msg


def test_install_from_copies_verified_files_into_the_cache(models_dir, isolated):
    out = registry.install_from(models_dir, ["yunet"])
    assert out == [isolated / "cache" / registry.spec("yunet").filename]
    assert registry.resolve("yunet") == out[0]
    empty = isolated / "empty"
    empty.mkdir()
    with pytest.raises(registry.ModelNotFoundError, match="no known model files"):
        registry.install_from(empty)


def test_install_from_refuses_a_wrong_file(models_dir, isolated):
    src = isolated / "src"
    src.mkdir()
    shutil.copyfile(models_dir / registry.spec("yunet").filename,
                    src / registry.spec("iris").filename)  # right name, wrong bytes
    with pytest.raises(registry.ModelIntegrityError):
        registry.install_from(src, ["iris"])


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown model"):
        registry.resolve("nope")


def test_status_reports_every_model(models_dir, monkeypatch):
    monkeypatch.setenv("FASTLIVE_MODEL_DIR", str(models_dir))
    rows = {r["name"]: r for r in registry.status()}
    assert {"yunet", "face_mesh", "iris"} <= set(rows)
    assert all(rows[n]["ok"] for n in ("yunet", "face_mesh", "iris"))


@pytest.mark.parametrize("value, on", [("1", True), ("true", True), (" Yes ", True), ("on", True),
                                       ("0", False), ("", False), ("no", False)])
def test_strict_reads_the_environment(monkeypatch, value, on):
    monkeypatch.setenv("FASTLIVE_STRICT", value)
    assert registry.strict() is on


def test_strict_error_says_what_and_how(isolated):
    with pytest.raises(registry.ModelNotFoundError) as ei:
        registry.resolve("iris")
    err = registry.strict_error("eye landmark model", ei.value)
    assert isinstance(err, registry.ModelNotFoundError)
    msg = str(err)
    assert msg.startswith("eye landmark model unavailable and strict mode is on")
    assert "FASTLIVE_STRICT=1" in msg and "fastlive models install" in msg
