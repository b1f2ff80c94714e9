"""The standalone runner (what ``foundry-video emulator`` calls) and import weight."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from foundry_video.emulator import read_server


def test_import_is_light() -> None:
    code = ("import sys, foundry_video.emulator; "
            "print(sorted(m for m in ('av', 'foundry_video.emulator._render', 'openai') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_run_standalone_serves_until_ctrl_c() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("from foundry_video.emulator import run_standalone, PlaceholderRenderer; "
            f"run_standalone({port}, job_seconds=1, renderer=PlaceholderRenderer())")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        key_line = proc.stdout.readline()
        assert "AZURE_OPENAI_API_KEY=emulator-key" in key_line
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/openai/v1/videos",
            data=json.dumps({"prompt": "a cat"}).encode(),
            headers={"api-key": "emulator-key", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert json.load(resp)["status"] == "queued"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_standalone_advertises_its_state_dir_and_stops_on_sigterm(tmp_path: Path) -> None:
    code = ("from foundry_video.emulator import run_standalone, PlaceholderRenderer; "
            f"run_standalone(0, state_dir={str(tmp_path)!r}, renderer=PlaceholderRenderer())")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().split()[-1]
        info = read_server(tmp_path)
        assert info is not None and info.endpoint == endpoint
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped" in out and "Traceback" not in err
        assert read_server(tmp_path) is None  # withdrawn: --emulator commands won't try it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
