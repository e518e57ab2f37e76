"""``fastlive serve``: flags, errors (one line, no traceback), and the command line the worker
processes of ``--workers N`` rebuild their configuration from."""

from __future__ import annotations

import pytest

from fastlive.serve import cli as serve_cli
from fastlive.serve.config import ServeConfig


def run_cli(capsys, *argv):
    from fastlive.cli import main

    try:
        rc = main(list(argv))
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_serve_is_a_fastlive_command(capsys):
    rc, out, _ = run_cli(capsys, "serve", "--help")
    assert rc == 0
    for flag in ("--host", "--port", "--workers", "--secret-file", "--no-challenges",
                 "--allow-origin", "--expose-scores", "--max-sessions-per-client"):
        assert flag in out
    rc, out, _ = run_cli(capsys, "--help")
    assert "serve" in out


@pytest.mark.parametrize("argv,needle", [
    (["--port", "70000"], "port number 0-65535"),
    (["--workers", "0"], "positive integer"),
    (["--challenges", "blink,smile"], "comma-separated list"),
    (["--max-fps", "-1"], "positive number"),
])
def test_bad_flags_exit_2(capsys, argv, needle):
    rc, _, err = run_cli(capsys, "serve", *argv)
    assert rc == 2 and needle in err


def test_errors_are_one_line(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "serve", "--secret-file", str(tmp_path / "missing"))
    assert rc == 1
    assert err.startswith("fastlive: error: --secret-file") and "cannot read it" in err
    assert "Traceback" not in err
    short = tmp_path / "short"
    short.write_text("too short")
    rc, _, err = run_cli(capsys, "serve", "--secret-file", str(short))
    assert rc == 1 and "at least 32 are needed" in err
    rc, _, err = run_cli(capsys, "serve", "--allow-origin", "app.example")
    assert rc == 1 and "not an origin" in err


def test_flags_map_onto_serve_config(tmp_path):
    secret = tmp_path / "s"
    secret.write_text("k" * 40 + "\n")
    p = serve_cli.build_parser()
    args = p.parse_args(["--no-challenges", "--allow-origin", "https://a.example",
                         "--allow-origin", "https://b.example", "--expose-scores",
                         "--max-sessions", "5", "--max-fps", "12", "--secret-file", str(secret),
                         "--operating-point", "secure", "--challenge-window", "4"])
    cfg = serve_cli.config_from_args(args)
    assert cfg.challenges is False and cfg.expose_scores is True
    assert cfg.allowed_origins == ("https://a.example", "https://b.example")
    assert (cfg.max_sessions, cfg.max_fps, cfg.challenge_window_s) == (5, 12.0, 4.0)
    assert cfg.secret == b"k" * 40
    assert cfg.detector.operating_point == "secure" and cfg.detector.require_blink is True
    cfg = serve_cli.config_from_args(p.parse_args(["--challenges", "blink,turn_left",
                                                   "--no-require-blink"]))
    assert cfg.challenge_kinds == ("blink", "turn_left") and cfg.challenge_count == (2, 2)
    assert cfg.detector.require_blink is False
    assert serve_cli.config_from_args(p.parse_args([])) == ServeConfig().replace(
        detector=ServeConfig().detector)


def test_workers_rebuild_the_same_config(tmp_path):
    secret = tmp_path / "s"
    secret.write_text("k" * 40)
    p = serve_cli.build_parser()
    argv = ["--port", "9001", "--challenges", "closer,blink", "--allow-origin",
            "https://a.example", "--max-session", "30", "--threshold", "0.7",
            "--secret-file", str(secret), "--expose-scores", "--workers", "3"]
    args = p.parse_args(argv)
    again = p.parse_args(serve_cli._argv_of(args))
    assert vars(again) == vars(args)
    assert serve_cli.config_from_args(again) == serve_cli.config_from_args(args)
