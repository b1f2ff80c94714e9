"""Every program in ``examples/`` runs: with ``--emulator``, against an emulator given by the
environment (as on Azure), and the notebook through a real Jupyter kernel."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import foundry_video._client
from foundry_video import FoundryVideoError, ManualClock
from foundry_video.emulator import Emulator, PlaceholderRenderer

from .fakes import ThreadedEmulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = ("quickstart", "batch", "image_to_video", "remix", "resume", "sync_quickstart")


@pytest.fixture(autouse=True)
def fast_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs use the placeholder renderer; real MP4s are checked once, in the
    subprocess test and the notebook."""
    import foundry_video.emulator

    real = foundry_video.emulator.Emulator

    def emulator(**options: Any) -> Emulator:
        options.setdefault("renderer", PlaceholderRenderer())
        return real(**options)

    monkeypatch.setattr(foundry_video.emulator, "Emulator", emulator)


def load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``examples/<name>.py`` as a fresh module (``_support`` importable, as when run)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    return asyncio.run(load(name, monkeypatch).main(argv))


def is_mp4(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[4:8] == b"ftyp"


def test_every_example_is_tested() -> None:
    found = {p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert found == set(SCRIPTS)
    assert (EXAMPLES / "quickstart.ipynb").is_file()


def test_quickstart_runs_as_a_newcomer_would(tmp_path: Path) -> None:
    """``python examples/quickstart.py --emulator``, in a fresh process, makes a real MP4."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_OPENAI_")}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "--emulator", "--out", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "created video_" in result.stdout and "saved" in result.stdout
    video = tmp_path / "quickstart.mp4"
    assert is_mp4(video)
    assert (tmp_path / "quickstart.webp").read_bytes()[8:12] == b"WEBP"
    av = pytest.importorskip("av")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert container.streams.audio, "Sora 2 videos carry an audio track"


def test_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = run("batch", ["--emulator", "--out", str(tmp_path), "--concurrency", "2"], monkeypatch)
    assert len(results) == 3
    assert all(isinstance(path, Path) and is_mp4(path) for path in results.values())


def test_batch_isolates_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One prompt blocked by the content filter does not sink the others."""
    batch = load("batch", monkeypatch)
    support = sys.modules["_support"]
    prompts = ["A calm lake", "blocked-content please", "A windmill"]

    async def main() -> dict[str, Any]:
        async with support.connect(True) as client:
            return dict(await batch.generate_all(client, prompts, tmp_path, concurrency=2))

    results = asyncio.run(main())
    assert isinstance(results["blocked-content please"], FoundryVideoError)
    assert is_mp4(results["A calm lake"]) and is_mp4(results["A windmill"])


def test_image_to_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run("image_to_video", ["--emulator", "--out", str(tmp_path)], monkeypatch)
    assert is_mp4(path)
    assert (tmp_path / "first-frame.png").read_bytes().startswith(b"\x89PNG")


def test_remix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run("remix", ["--emulator", "--out", str(tmp_path)], monkeypatch)
    assert path.name == "remix.mp4" and is_mp4(path)


def test_sync_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    path = load("sync_quickstart", monkeypatch).main(["--emulator", "--out", str(tmp_path)])
    assert path == tmp_path / "sync_quickstart.mp4" and is_mp4(path)
    out = capsys.readouterr().out
    assert "created video_" in out and "completed" in out


def test_resume_with_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run("resume", ["--emulator", "--out", str(tmp_path)], monkeypatch)
    assert is_mp4(path) and not (tmp_path / "job.json").exists()


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator found through the environment, as a real resource would be."""
    clock = ManualClock()
    with ThreadedEmulator(clock=clock, renderer=PlaceholderRenderer()) as emulator:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emulator.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "example-key")
        monkeypatch.setattr(foundry_video._client, "SystemClock", lambda: clock)
        yield emulator


def test_resume_across_two_runs(service: Emulator, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``resume.py start`` then ``resume.py resume``: two separate runs, one job."""
    job_id = run("resume", ["start", "--out", str(tmp_path)], monkeypatch)
    assert json.loads((tmp_path / "job.json").read_text()) == {"job_id": job_id}
    path = run("resume", ["resume", "--out", str(tmp_path)], monkeypatch)
    assert path == tmp_path / f"{job_id}.mp4" and path.is_file()
    assert len(service.videos) == 1


@pytest.mark.parametrize("name", ["quickstart", "remix", "sync_quickstart"])
def test_examples_use_the_environment_without_emulator(name: str, service: Emulator, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    module = load(name, monkeypatch)
    result = module.main(["--out", str(tmp_path)])
    path = asyncio.run(result) if asyncio.iscoroutine(result) else result
    assert path.is_file()
    assert all(r.headers.get("api-key") == "REDACTED" for r in service.requests)


# -- the notebook ----------------------------------------------------------------------


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for *this* interpreter in a temp dir (works in any fresh virtualenv)."""
    name = "foundry-video-tests"
    spec_dir = tmp_path / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "foundry-video tests", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # silences jupyter_core's migration warning
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return name


def test_notebook_runs_with_rich_display_and_both_clients(kernel_name: str, tmp_path: Path) -> None:
    """The example notebook through a real kernel: top-level ``await``, the cards, the live
    progress display, ``show()``, and ``SyncVideoClient`` inside the kernel's running loop."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"  # what users' Jupyter will pick
    workdir = tmp_path / "run"
    workdir.mkdir()
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name=kernel_name,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()  # raises CellExecutionError on any failing cell

    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [output for cell in cells for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]

    def html_of(source_start: str) -> list[str]:
        cell = next(c for c in cells if c.source.startswith(source_start))
        return [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]

    job_card, = html_of("job = await client.videos.create(")
    assert "class='foundry-video'" in job_card and "video_" in job_card and "queued" in job_card
    wait_cell = next(c for c in cells if c.source.startswith("from foundry_video.notebook"))
    kinds = {kind for o in wait_cell.outputs for kind in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds  # the live bar (ipywidgets)
    video_card = html_of("from foundry_video.notebook")[-1]
    for text in ("completed", "1280x720", "4s", "sora-2", "calico cat"):
        assert text in video_card, text
    player, = html_of("show(path")
    assert "<video" in player and "data:video/mp4;base64," in player
    # The HTML progress display was updated in place (update_display_data) to its last state.
    progress, sync_card = html_of("from foundry_video import SyncVideoClient")
    assert "foundry-video-progress" in progress and "saved" in progress
    assert "notebook-sync.mp4" in progress and "width:100.0%" in progress
    assert "SyncVideoJob" in sync_card and "completed" in sync_card
    assert is_mp4(workdir / "notebook-demo.mp4") and is_mp4(workdir / "notebook-sync.mp4")
    assert (workdir / "notebook-demo.webp").is_file()
