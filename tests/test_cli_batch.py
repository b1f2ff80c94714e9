"""``foundry-video batch``: checks up front, a journal, and a resume that creates nothing twice."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import foundry_video._client
from foundry_video import cli
from foundry_video._clock import ManualClock
from foundry_video.cli._batch import JOURNAL_NAME
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

from .fakes import ThreadedEmulator

KEY = "batch-SECRET-key-0042"


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    clock = ManualClock()  # the CLI's client and the emulator on it: waits take no time
    monkeypatch.setattr(foundry_video._client, "SystemClock", lambda: clock)
    with ThreadedEmulator(renderer=PlaceholderRenderer(), job_seconds=2, queue_seconds=1,
                          clock=clock) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
        yield emu


def jsonl(path: Path, *lines: dict[str, Any] | str) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and KEY not in out + err
    return code, out, err


def test_batch_saves_every_video_and_prints_a_summary(
        remote: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = jsonl(tmp_path / "p.jsonl", {"prompt": "a cat", "seconds": 8},
                    {"prompt": "a dog", "size": "1280x720", "name": "dog"}, "",
                    {"prompt": "a cow"})
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "batch", str(prompts), "-o", str(out_dir), "--concurrency", "2")
    assert code == 0, err
    assert sorted(p.name for p in out_dir.glob("*.mp4")) == ["0001.mp4", "0004.mp4", "dog.mp4"]
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "JOB", "FILE", "/", "ERROR"]
    assert [line.split()[:2] for line in lines[1:4]] == [["0001", "done"], ["dog", "done"],
                                                         ["0004", "done"]]
    assert lines[-1] == "3 of 3 done"
    assert "created video_" in err and "saved" in err  # the live progress (plain lines)
    dog = next(v for v in remote.videos if v.prompt == "a dog")
    assert (dog.size, len(remote.videos)) == ("1280x720", 3)

    code, _, err = run(capsys, "batch", str(prompts), "-o", str(out_dir))
    assert code == 2 and "--resume" in err  # a second run never starts the batch again
    code, out, _ = run(capsys, "batch", str(prompts), "-o", str(out_dir), "--resume", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["done"] * 3
    assert len(remote.videos) == 3


@pytest.mark.parametrize(("line", "says"), [
    ("not json", "p.jsonl:2: not JSON"),
    ('{"prompt": "x", "colour": "red"}', "p.jsonl:2: unknown field 'colour'"),
    ('{"prompt": "x", "size": "1792x1024"}', "p.jsonl:2: size '1792x1024' is not supported"),
    ('{"prompt": "x", "seconds": 7}', "p.jsonl:2: seconds=7 is not supported"),
    ('{"prompt": "x", "model": "sora"}', "p.jsonl:2: 'sora' is a Sora 1 model"),
    ('{"prompt": "x", "name": "../escape"}', "p.jsonl:2: 'name' must be a plain file name"),
    ('{"prompt": "x", "name": "0001"}', "p.jsonl:2: name '0001' is already used on line 1"),
    ('{"prompt": "x", "image": "missing.png"}', "p.jsonl:2: 'image' must name an existing"),
])
def test_every_line_is_checked_before_anything_is_sent(
        remote: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str,
        says: str) -> None:
    prompts = jsonl(tmp_path / "p.jsonl", {"prompt": "fine"}, line)
    code, out, err = run(capsys, "batch", str(prompts), "-o", str(tmp_path / "out"))
    assert (code, out) == (2, "")
    assert says in err and len(err.strip().splitlines()) == 1
    assert remote.requests == []


def test_a_failed_item_fails_the_batch_not_the_others(
        remote: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    remote.inject(Fault("job_failed", times=1, message=f"no GPU for {KEY}"))
    prompts = jsonl(tmp_path / "p.jsonl", {"prompt": "one"}, {"prompt": "two"})
    code, out, _err = run(capsys, "batch", str(prompts), "-o", str(tmp_path / "out"),
                         "--concurrency", "1")
    assert code == 1
    assert "failed" in out and "1 of 2 done" in out and "<redacted>" in out
    journal = (tmp_path / "out" / JOURNAL_NAME).read_text()
    assert KEY not in journal and '"event": "failed"' in journal


# -- the crash ---------------------------------------------------------------------------------


def _videos(endpoint: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(f"{endpoint}/openai/v1/videos?limit=100",
                                     headers={"api-key": "emulator-key"})
    with urllib.request.urlopen(request, timeout=10) as response:
        data: list[dict[str, Any]] = json.load(response)["data"]
        return data


def _content(endpoint: str, video_id: str) -> bytes:
    request = urllib.request.Request(f"{endpoint}/openai/v1/videos/{video_id}/content",
                                     headers={"api-key": "emulator-key"})
    with urllib.request.urlopen(request, timeout=10) as response:
        data: bytes = response.read()
        return data


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_batch_killed_mid_create_resumes_without_creating_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, out_dir = tmp_path / "state", tmp_path / "out"
    env = {**os.environ, "FOUNDRY_VIDEO_STATE_DIR": str(state), "PYTHONUNBUFFERED": "1"}
    env.pop("FOUNDRY_VIDEO_EMULATOR_KEY", None)
    monkeypatch.setenv("FOUNDRY_VIDEO_STATE_DIR", str(state))
    # Every create's response is slow: the job exists on the service long before its id
    # reaches the client (and its journal) — the window a crash loses a job in.
    server = subprocess.Popen(
        [sys.executable, "-m", "foundry_video.cli", "emulator", "--port", "0", "--placeholder",
         "--job-seconds", "0.3", "--queue-seconds", "0",
         "--fault", "slow_body:operation=create,chunk_size=96,delay=0.12,times=forever"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    batch = None
    try:
        assert server.stdout is not None
        endpoint = server.stdout.readline().split()[-1]
        prompts = jsonl(tmp_path / "p.jsonl", *({"prompt": f"scene {i}"} for i in range(4)))
        batch = subprocess.Popen(
            [sys.executable, "-m", "foundry_video.cli", "batch", str(prompts), "-o",
             str(out_dir), "--emulator", "--concurrency", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not _videos(endpoint) and time.monotonic() < deadline:
            time.sleep(0.01)
        batch.send_signal(signal.SIGKILL)  # a job exists; its create response is in flight
        batch.wait(timeout=10)
        journal = (out_dir / JOURNAL_NAME).read_text()
        assert '"event": "intent"' in journal and '"event": "started"' not in journal
        (out_dir / ".0001.mp4.x1y2.part").write_bytes(b"partial")  # as a killed download leaves

        code, _out, err = run(capsys, "batch", str(prompts), "-o", str(out_dir), "--emulator",
                             "--resume", "--concurrency", "4")
        assert code == 0, err
        assert "found on the service" in err  # the orphaned job was adopted, not re-created

        videos = _videos(endpoint)
        assert sorted(v["prompt"] for v in videos) == [f"scene {i}" for i in range(4)]
        ids = {json.loads(line)["params"]["batch_key"]: json.loads(line)["id"]
               for line in (out_dir / JOURNAL_NAME).read_text().splitlines()
               if json.loads(line)["event"] == "started"}
        assert sorted(ids.values()) == sorted(v["id"] for v in videos)
        for name, video_id in ids.items():
            saved = (out_dir / f"{name}.mp4").read_bytes()
            assert hashlib.sha256(saved).digest() == \
                hashlib.sha256(_content(endpoint, video_id)).digest()
        assert sorted(p.name for p in out_dir.iterdir() if not p.name.startswith(".")) == \
            [f"{i + 1:04d}.mp4" for i in range(4)]
        assert list(out_dir.glob("*.part")) == list(out_dir.glob(".*.part")) == []
    finally:
        for proc in (batch, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
