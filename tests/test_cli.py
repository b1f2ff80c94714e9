"""The CLI through its entry function: output, exit codes, files, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundry_video import cli
from foundry_video.emulator import Emulator, PlaceholderRenderer

from .fakes import ThreadedEmulator

SECRET = "cli-SECRET-key-42"


@pytest.fixture
def fast_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "EMULATOR_OPTIONS", {"job_seconds": 0.2, "queue_seconds": 0.05})


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with ThreadedEmulator(api_keys={SECRET}, renderer=PlaceholderRenderer(),
                          job_seconds=0.2, queue_seconds=0.05) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
        yield emu


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert SECRET not in out + err
    return code, out, err


def test_generate_on_the_emulator_makes_a_playable_mp4(
        fast_emulator: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    av = pytest.importorskip("av")
    out_file = tmp_path / "demo.mp4"
    code, out, err = run(capsys, "generate", "A neon city at night", "--emulator",
                         "--size", "1280x720", "--seconds", "4", "-o", str(out_file))
    assert code == 0, err
    assert f"saved {out_file}" in out and "job id: video_" in out
    assert "completed" in err  # the progress display (plain lines when not a terminal)
    with av.open(str(out_file)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert video.codec_context.name == "h264"
        fps = float(video.average_rate)
        duration = float(container.duration) / 1_000_000
        assert abs(duration - 4.0) <= 1.0 / fps
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]


def test_generate_json_output(fast_emulator: None, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", "a cat", "--emulator", "--json", "-o",
                       str(tmp_path / "c.mp4"))
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "completed" and result["id"].startswith("video_")
    assert Path(result["path"]).stat().st_size > 0


def test_invalid_parameters_exit_2_with_one_line(fast_emulator: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "generate", "a cat", "--emulator", "--size", "1792x1024")
    assert out == ""
    assert code == 2
    assert err.strip().startswith("error: size '1792x1024' is not supported")
    assert len(err.strip().splitlines()) == 1


def test_missing_endpoint_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    code, _, err = run(capsys, "status", "video_1")
    assert code == 2 and "--emulator" in err


def test_remote_commands_round_trip(remote: Emulator, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", "a dog", "--no-download", "--json")
    assert code == 0
    video_id = json.loads(out)["id"]

    code, out, _ = run(capsys, "status", video_id)
    assert code == 0 and out.strip() == f"{video_id}: completed 100%"
    code, out, _ = run(capsys, "status", video_id, "--json")
    assert json.loads(out)["status"] == "completed"

    code, out, _ = run(capsys, "list", "--limit", "5")
    assert code == 0 and video_id in out

    target = tmp_path / "thumb.webp"
    code, out, _ = run(capsys, "download", video_id, "-o", str(target), "--variant", "thumbnail")
    assert code == 0 and target.read_bytes().startswith(b"RIFF")

    code, out, _ = run(capsys, "wait", video_id, "-o", str(tmp_path / "w.mp4"))
    assert code == 0 and (tmp_path / "w.mp4").stat().st_size > 0

    code, out, _ = run(capsys, "remix", video_id, "make it night", "-o", str(tmp_path / "r.mp4"))
    assert code == 0 and (tmp_path / "r.mp4").exists()

    code, out, _ = run(capsys, "edit", video_id, "in sepia", "-o", str(tmp_path / "e.mp4"))
    assert code == 0 and (tmp_path / "e.mp4").stat().st_size > 0
    code, out, _ = run(capsys, "extend", video_id, "and more", "--seconds", "4", "--json",
                       "-o", str(tmp_path / "x.mp4"))
    assert code == 0 and json.loads(out)["status"] == "completed"
    code, _, err = run(capsys, "extend", video_id, "and more", "--seconds", "7")
    assert code == 2 and "extension seconds=7" in err

    code, out, _ = run(capsys, "delete", video_id)
    assert code == 0 and out.strip() == f"deleted {video_id}"


def test_api_errors_print_one_line_with_request_id(remote: Emulator,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "video_does_not_exist")
    assert code == 1
    line = err.strip()
    assert line.startswith("error: Error 404") and "request id:" in line
    assert len(line.splitlines()) == 1


def test_wrong_key_is_reported_without_the_key(remote: Emulator, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "wrong-" + SECRET)
    code, _, err = run(capsys, "list")
    assert code == 1 and "Error 401" in err


def test_ctrl_c_while_waiting_prints_how_to_resume(tmp_path: Path) -> None:
    with ThreadedEmulator(renderer=PlaceholderRenderer(), job_seconds=600) as emu:
        env = {**os.environ, "AZURE_OPENAI_ENDPOINT": emu.endpoint,
               "AZURE_OPENAI_API_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "foundry_video.cli", "generate", "a long one", "-o",
             str(tmp_path / "x.mp4")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert proc.stderr is not None
        first = proc.stderr.readline()  # "created job video_..."
        assert first.startswith("created job video_"), first
        job_id = first.split()[-1]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"foundry-video wait {job_id} -o {tmp_path / 'x.mp4'}" in err
    assert "Traceback" not in err and SECRET not in out + err
    assert not (tmp_path / "x.mp4").exists() and list(tmp_path.iterdir()) == []


def test_generate_sora1_variants_are_numbered(fast_emulator: None, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    av = pytest.importorskip("av")
    code, out, err = run(capsys, "generate", "A cat playing piano", "--emulator", "--model",
                         "sora", "--size", "480x480", "--seconds", "2", "--variants", "2",
                         "--json", "-o", str(tmp_path / "cat.mp4"))
    assert code == 0, err
    result = json.loads(out)
    assert result["id"].startswith("task_") and result["status"] == "succeeded"
    assert [Path(p).name for p in result["paths"]] == ["cat_1.mp4", "cat_2.mp4"]
    for path in result["paths"]:
        with av.open(path) as container:
            assert container.streams.video[0].codec_context.width == 480
            assert list(container.streams.audio) == []  # Sora 1 has no audio


def test_variants_are_rejected_for_sora2(fast_emulator: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "generate", "a cat", "--emulator", "--variants", "2")
    assert code == 2 and "Sora 1" in err


def test_sora1_status_wait_and_delete(remote: Emulator, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "generate", "a dog", "--model", "sora", "--no-download",
                         "--json")
    assert code == 0, err
    job_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "status", job_id)
    assert code == 0 and out.strip() == f"{job_id}: succeeded, 1 generation(s)"
    code, out, _ = run(capsys, "wait", job_id, "-o", str(tmp_path / "w.mp4"))
    assert code == 0 and (tmp_path / "w.mp4").stat().st_size > 0
    code, out, _ = run(capsys, "delete", job_id)
    assert code == 0 and out.strip() == f"deleted {job_id}"
