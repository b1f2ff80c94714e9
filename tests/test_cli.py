"""The CLI through its entry function: output, exit codes, files, Ctrl-C, first mistakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import foundry_video._client
from foundry_video import cli
from foundry_video._clock import ManualClock
from foundry_video.cli import _emulator_client
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

from .fakes import ThreadedEmulator

SECRET = "cli-SECRET-key-42"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own emulator state directory (never the user's cache)."""
    state = tmp_path / "state"
    monkeypatch.setenv("FOUNDRY_VIDEO_STATE_DIR", str(state))
    monkeypatch.delenv("FOUNDRY_VIDEO_EMULATOR_KEY", raising=False)
    return state


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The CLI's client and the emulators on one manual clock: waiting takes no time."""
    manual = ManualClock()
    monkeypatch.setattr(foundry_video._client, "SystemClock", lambda: manual)
    return manual


@pytest.fixture
def fast_emulator(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> None:
    monkeypatch.setattr(_emulator_client, "EMULATOR_OPTIONS",
                        {"job_seconds": 2, "queue_seconds": 1, "clock": clock})


@pytest.fixture
def placeholder_emulator(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> None:
    monkeypatch.setattr(_emulator_client, "EMULATOR_OPTIONS",
                        {"job_seconds": 2, "queue_seconds": 1, "clock": clock,
                         "renderer": PlaceholderRenderer()})


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Iterator[Emulator]:
    with ThreadedEmulator(api_keys={SECRET}, renderer=PlaceholderRenderer(), clock=clock,
                          job_seconds=2, queue_seconds=1) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
        yield emu


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert SECRET not in out + err
    return code, out, err


def creates(emu: Emulator) -> int:
    return sum(r.method == "POST" for r in emu.requests)


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


def test_invalid_parameters_exit_2_with_one_line(placeholder_emulator: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "generate", "a cat", "--emulator", "--size", "1792x1024")
    assert out == ""
    assert code == 2
    assert err.strip().startswith("error: size '1792x1024' is not supported")
    assert len(err.strip().splitlines()) == 1


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


# -- first mistakes: credentials and endpoints ------------------------------------------------


def test_no_key_says_how_to_authenticate_and_sends_nothing(
        remote: Emulator, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    code, out, err = run(capsys, "generate", "a cat")
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        "error: no credentials: set AZURE_OPENAI_API_KEY, or pass --api-key KEY, or --entra "
        "to sign in with Microsoft Entra ID"]
    assert remote.requests == []


def test_entra_failure_is_one_line(remote: Emulator, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    identity_aio = pytest.importorskip("azure.identity.aio")
    from azure.core.exceptions import ClientAuthenticationError

    class NoCredential:
        async def get_token(self, *scopes: str, **kwargs: object) -> object:
            raise ClientAuthenticationError(
                "DefaultAzureCredential failed to retrieve a token from the included "
                "credentials.\nAttempted credentials:\n\tEnvironmentCredential: incomplete\n"
                "\tManagedIdentityCredential: unavailable\n\tAzureCliCredential: not found")

        async def close(self) -> None:
            return None

    monkeypatch.setattr(identity_aio, "DefaultAzureCredential", NoCredential)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    code, _, err = run(capsys, "status", "video_1", "--entra")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "DefaultAzureCredential failed" in lines[0]
    assert "az login" in lines[1] and "AZURE_OPENAI_API_KEY" in lines[1]


@pytest.mark.parametrize("pasted", [
    "https://res.openai.azure.com/openai/v1/videos",
    "https://res.openai.azure.com/openai/deployments/sora-2/video/generations/jobs"
    "?api-version=preview",
    "https://res.openai.azure.com/openai/v1/videos/video_123/content",
])
def test_a_pasted_request_url_says_what_the_endpoint_should_be(
        pasted: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "video_1", "--endpoint", pasted, "--api-key", SECRET)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "use https://res.openai.azure.com " in err


def test_missing_endpoint_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    code, _, err = run(capsys, "status", "video_1")
    assert code == 2 and "--emulator" in err and "AZURE_OPENAI_ENDPOINT" in err


# -- first mistakes: the output file ---------------------------------------------------------


def test_an_unusable_output_is_refused_before_any_job(remote: Emulator, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for target, says in ((tmp_path, "is a directory"), (a_file / "x.mp4", "is a file")):
        code, _, err = run(capsys, "generate", "a cat", "-o", str(target))
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert creates(remote) == 0  # nothing paid for


def test_a_failure_after_the_job_ran_prints_how_to_resume(
        remote: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def no_space(cls: object, target: Path, key: str) -> object:
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr("foundry_video._output.PartFile.open", classmethod(no_space))
    target = tmp_path / "x.mp4"
    code, _, err = run(capsys, "generate", "a cat", "-o", str(target))
    job_id = next(video.id for video in remote.videos)
    assert code == 1
    assert err.splitlines()[-3:] == [
        f"error: could not save {target}: No space left on device",
        f"The job {job_id} continues on the service. Resume with:",
        f"  foundry-video wait {job_id} -o {target}"]


# -- first mistakes: model names -------------------------------------------------------------


def test_an_unknown_model_is_warned_about(placeholder_emulator: None,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "generate", "a cat", "--model", "sora-3", "--emulator",
                       "--no-download", "-q")
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "'sora-3'" in warnings[0] and "--base-model" in warnings[0]


def test_base_model_checks_a_deployment_locally(remote: Emulator,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "generate", "a cat", "--model", "my-sora", "--base-model",
                       "sora-2", "--size", "1920x1080", "--seconds", "7")
    assert code == 2 and "1920x1080" in err and "warning" not in err
    assert creates(remote) == 0


# -- the emulator state shared between commands ----------------------------------------------


def test_emulator_commands_share_their_jobs(placeholder_emulator: None, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", "kept", "--emulator", "--no-download", "--json")
    video_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "list", "--emulator")
    assert code == 0 and out.split()[0] == video_id
    code, out, _ = run(capsys, "status", video_id, "--emulator")
    assert out.strip() == f"{video_id}: completed 100%"
    code, _, _ = run(capsys, "wait", video_id, "--emulator", "-o", str(tmp_path / "w.mp4"))
    assert code == 0 and (tmp_path / "w.mp4").read_bytes().startswith(b"\x00\x00\x00\x18ftyp")
    code, out, _ = run(capsys, "delete", video_id, "--emulator")
    assert out.strip() == f"deleted {video_id}"
    code, out, _ = run(capsys, "list", "--emulator")
    assert out == ""


def test_without_pyav_the_emulator_says_what_to_install(
        fast_emulator: None, state_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # a core install
    code, out, err = run(capsys, "generate", "a cat", "--emulator")
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        'error: the emulator renders real MP4s with PyAV, which is not installed: '
        'pip install "foundry-video[emulator]"']
    assert not (state_dir / "state.json").exists()  # no job was run


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_ctrl_c_with_emulator_prints_a_resume_hint_that_works(
        tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(renderer=PlaceholderRenderer(), job_seconds=1, queue_seconds=0,
                          state_dir=state_dir) as emu:
        assert emu.state_dir is not None
        emu.state_dir.advertise(emu.host, emu.port, emu.instance)  # as `foundry-video emulator`
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "foundry_video.cli", "generate", "a long one", "--emulator",
             "-o", str(tmp_path / "x.mp4")], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("created job video_"), first
        job_id = first.split()[-1]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        hint = f"foundry-video wait {job_id} --emulator -o {tmp_path / 'x.mp4'}"
        assert hint in err and "Traceback" not in err
        assert list(tmp_path.glob("x.mp4*")) == []
        code, out, _ = run(capsys, *hint.split()[1:])  # the hint, as printed, finishes the job
        assert code == 0 and f"saved {tmp_path / 'x.mp4'}" in out


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE semantics")
def test_a_closed_pipe_ends_quietly(state_dir: Path) -> None:
    from foundry_video.emulator import VideoJob

    emu = Emulator(state_dir=state_dir)
    for i in range(3):
        emu.videos.add(VideoJob(id=f"video_{i:032x}", created=time.time() - 60, queue_seconds=0,
                                job_seconds=1, model="sora-2", prompt=f"p{i}", size="1280x720",
                                seconds=4))
    assert emu.state_dir is not None
    emu.state_dir.sync(emu.ctx.state)
    proc = subprocess.Popen([sys.executable, "-m", "foundry_video.cli", "list", "--emulator"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -1` exiting before the list is printed
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 0
    assert err == ""


# -- help ------------------------------------------------------------------------------------


def _subparsers() -> dict[str, object]:
    import argparse

    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_argument_has_help() -> None:
    for name, sub in _subparsers().items():
        for action in sub._actions:  # type: ignore[attr-defined]
            assert action.help, f"{name} {action.dest}: no help"
    help_text = " ".join(_subparsers()["generate"].format_help().split())  # type: ignore[attr-defined]
    assert "(default: sora-2)" in help_text and "(default: None)" not in help_text


def test_options_appear_only_where_they_mean_something() -> None:
    subs = _subparsers()

    def options(name: str) -> set[str]:
        return {o for a in subs[name]._actions for o in a.option_strings}  # type: ignore[attr-defined]

    for name in ("status", "list", "delete", "download", "emulator"):
        assert "-q" not in options(name), name
    for name in ("status", "list", "delete", "emulator"):
        assert "--timeout" not in options(name), name
    for name in ("generate", "wait", "remix", "edit", "extend", "batch"):
        assert {"-q", "--timeout"} <= options(name), name
    variant = {a.dest: a for a in subs["wait"]._actions}["variant"]  # type: ignore[attr-defined]
    assert list(variant.choices) == ["video", "thumbnail", "spritesheet"]


# -- Sora 1 ----------------------------------------------------------------------------------


def test_generate_sora1_variants_are_numbered(fast_emulator: None, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    av = pytest.importorskip("av")
    code, out, err = run(capsys, "generate", "A cat playing piano", "--emulator", "--model",
                         "sora", "--size", "480x480", "--seconds", "2", "--variants", "2",
                         "--json", "-o", str(tmp_path / "cat.mp4"))
    assert code == 0, err
    result = json.loads(out)
    assert result["id"].startswith("task_") and result["status"] == "completed"
    assert [Path(p).name for p in result["paths"]] == ["cat_1.mp4", "cat_2.mp4"]
    for path in result["paths"]:
        with av.open(path) as container:
            assert container.streams.video[0].codec_context.width == 480
            assert list(container.streams.audio) == []  # Sora 1 has no audio


def test_variants_are_rejected_for_sora2(placeholder_emulator: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "generate", "a cat", "--emulator", "--variants", "2")
    assert code == 2 and "Sora 1" in err


def test_sora1_wait_list_json_and_delete(remote: Emulator, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "generate", "a dog", "--model", "sora", "--variants", "2",
                         "--no-download", "--json")
    assert code == 0, err
    sora1 = json.loads(out)
    job_id = sora1["id"]
    code, out, _ = run(capsys, "generate", "a cat", "--no-download", "--json")
    sora2 = json.loads(out)
    assert sora1.keys() == sora2.keys()  # one shape for both APIs
    assert sora1["status"] == sora2["status"] == "completed"

    code, out, _ = run(capsys, "status", job_id)
    assert code == 0 and out.strip() == f"{job_id}: succeeded, 2 generation(s)"
    code, out, _ = run(capsys, "list")
    assert {line.split()[0] for line in out.splitlines()} == {job_id, sora2["id"]}
    code, out, _ = run(capsys, "wait", job_id, "-o", str(tmp_path / "w.mp4"))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w_1.mp4", "w_2.mp4"]  # every variant
    code, out, _ = run(capsys, "delete", job_id)
    assert code == 0 and out.strip() == f"deleted {job_id}"


# -- secrets the service echoes ---------------------------------------------------------------


def test_an_echoed_key_never_reaches_the_terminal(remote: Emulator, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    remote.inject(Fault("job_failed", echo_key=True, message="render farm said no"))
    code, out, _ = run(capsys, "generate", "a cat", "--no-download", "--json")
    assert code == 1
    video_id = next(video.id for video in remote.videos)
    code, out, _ = run(capsys, "status", video_id)  # the job's error message holds the key
    assert "render farm said no" in out and "<redacted>" in out
    code, _, err = run(capsys, "wait", video_id, "-o", str(tmp_path / "w.mp4"))
    assert code == 1 and "<redacted>" in err
    code, out, _ = run(capsys, "status", video_id, "--json")
    assert "<redacted>" in out

    monkeypatch.delenv("AZURE_OPENAI_API_KEY")  # the key on the command line this time
    remote.inject(Fault("server_error", operation="retrieve", echo_key=True, times=None))
    code, _, err = run(capsys, "status", video_id, "--api-key", SECRET)
    assert code == 1 and "Error 500" in err
