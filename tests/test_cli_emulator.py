"""``foundry-video emulator``: options, setup errors as one line."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

import foundry_video.emulator
from foundry_video import cli
from foundry_video.emulator import PlaceholderRenderer


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FOUNDRY_VIDEO_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("FOUNDRY_VIDEO_EMULATOR_KEY", raising=False)
    return tmp_path / "state"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``run_standalone`` would have been called with (nothing is served)."""
    calls: dict[str, Any] = {}

    def fake(port: int, host: str, **options: Any) -> None:
        calls.update(options, port=port, host=host)

    monkeypatch.setattr(foundry_video.emulator, "run_standalone", fake)
    return calls


def test_options_become_emulator_settings(served: dict[str, Any], state_dir: Path) -> None:
    assert cli.main(["emulator", "--port", "0", "--job-seconds", "1.5", "--require-key",
                     "--fault", "rate_limit:times=2",
                     "--fault", "server_error:status=503,operation=content",
                     "--deployment", "my-sora=sora-2", "--rate-limit", "5",
                     "--placeholder"]) == 0
    assert served["port"] == 0 and served["job_seconds"] == 1.5
    assert served["api_keys"] == {"emulator-key"}
    assert [(f.kind, f.times, f.status, f.operation) for f in served["faults"]] == [
        ("rate_limit", 2, None, None), ("server_error", 1, 503, "content")]
    assert served["deployments"] == {"my-sora": "sora-2"}
    assert served["create_rate_limit"] == 5
    assert isinstance(served["renderer"], PlaceholderRenderer)
    assert Path(served["state_dir"]) == state_dir


def test_api_key_and_no_state(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["emulator", "--api-key", "my-key", "--no-state"]) == 0
    assert served["api_keys"] == {"my-key"} and "state_dir" not in served
    monkeypatch.setenv("FOUNDRY_VIDEO_EMULATOR_KEY", "env-key")
    assert cli.main(["emulator"]) == 0
    assert served["api_keys"] == {"env-key"}


@pytest.mark.parametrize(("argv", "says"), [
    (["--job-seconds", "-5"], "--job-seconds: must be a number >= 0"),
    (["--job-seconds", "nan"], "--job-seconds: must be finite"),
    (["--port", "70000"], "--port: must be 0 to 65535"),
    (["--fault", "meteor_strike"], "unknown fault kind 'meteor_strike'"),
    (["--deployment", "nomodel"], "expected NAME=MODEL"),
])
def test_bad_options_are_usage_errors(argv: list[str], says: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["emulator", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_deployment_of_an_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["emulator", "--deployment", "x=sora-9", "--placeholder"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: deployment 'x': unknown model 'sora-9'")


def test_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["emulator", "--port", str(port), "--placeholder"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use (another emulator? pick another with "
        "--port, or --port 0 for any free port)"]
    assert "Traceback" not in out + err


def test_without_pyav_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    assert cli.main(["emulator", "--port", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        'error: the emulator renders real MP4s with PyAV, which is not installed: pip install '
        '"foundry-video[emulator]" (or run with --placeholder)']


def test_progress_curve_is_passed_to_the_emulator(
        served: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["emulator", "--progress-curve", "stuck"]) == 0
    assert served["progress_curve"] == "stuck"
    capsys.readouterr()
    assert cli.main(["emulator", "--progress-curve", "ease-in"]) == 2
    err = capsys.readouterr().err
    assert "'ease-in' is not a curve" in err and "stuck" in err and "Traceback" not in err
