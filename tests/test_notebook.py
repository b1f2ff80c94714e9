"""Notebook display: cards for jobs and videos, show(), ProgressDisplay outside a kernel.

The same pieces inside a real Jupyter kernel are exercised by ``test_examples.py``.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from foundry_video import (
    ApiKeyAuth,
    DownloadProgress,
    DownloadSaved,
    DownloadStarted,
    JobCompleted,
    JobFailed,
    JobProgress,
    JobQueued,
    Video,
    VideoClient,
    VideoGenerationJob,
)
from foundry_video.notebook import ProgressDisplay, show

pretty = pytest.importorskip("IPython.lib.pretty").pretty

EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def video(**fields: object) -> Video:
    base: dict[str, object] = {"id": "video_1", "status": "in_progress", "progress": 42,
                               "model": "sora-2", "size": "1280x720", "seconds": "8",
                               "prompt": "A calico cat", "created_at": 1760627796}
    return Video.model_validate({**base, **fields})


def test_video_card_shows_status_progress_and_facts() -> None:
    card = video()._repr_html_()
    for text in ("video_1", "in_progress", "width:42.0%", "sora-2", "1280x720", "8s",
                 "A calico cat", "2025-10-16"):
        assert text in card, text
    assert pretty(video()) == "Video video_1 · in_progress 42% · sora-2 · 1280x720 · 8s"


def test_failed_video_shows_the_error() -> None:
    failed = video(status="failed", error={"code": "moderation_blocked", "message": "no"})
    assert "moderation_blocked: no" in failed._repr_html_()
    assert pretty(failed).endswith("\n  error: moderation_blocked: no")


def test_text_from_the_service_is_escaped_and_bounded() -> None:
    card = video(prompt=EVIL * 100, id="video_<b>",
                 error={"code": EVIL, "message": "m"})._repr_html_()
    assert "<script" not in card and "<img" not in card and "<b>video" not in card
    assert "&lt;script&gt;" in card
    assert len(card) < 5000  # a 5 KB prompt does not become a 5 KB card


def test_sora1_job_card() -> None:
    job = VideoGenerationJob.model_validate({
        "id": "task_1", "status": "succeeded", "model": "sora", "width": 480, "height": 480,
        "n_seconds": 5, "n_variants": 2, "generations": [{"id": "gen_1"}, {"id": "gen_2"}]})
    card = job._repr_html_()
    assert "task_1" in card and "480x480" in card and "gen_1, gen_2" in card and "5s" in card
    assert pretty(job).startswith("VideoGenerationJob task_1 · succeeded · sora · 480x480 · 5s")


async def test_job_card_before_and_after_a_fetch() -> None:
    client = VideoClient("https://res.openai.azure.com", auth=ApiKeyAuth("k"))
    job = client.videos.job("video_9")
    assert pretty(job) == "VideoJob video_9 · not fetched yet"
    assert "not fetched yet" in job._repr_html_()
    job = client.videos.job("video_9", video=video(id="video_9"))
    assert pretty(job) == "VideoJob video_9 · in_progress 42% · sora-2 · 1280x720 · 8s"
    await client.close()


def test_import_does_not_load_ipython() -> None:
    code = ("import sys, foundry_video, foundry_video.notebook; "
            "from foundry_video import Video, Job; "
            "print([m for m in ('IPython', 'ipywidgets') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- show() --------------------------------------------------------------------------------


def mp4(path: Path, size: int = 2048) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (size - 12))
    return path


def test_show_embeds_a_small_video(tmp_path: Path) -> None:
    player = show(mp4(tmp_path / "a.mp4"), width=320)
    html = player._repr_html_()
    assert "data:video/mp4;base64," in html and 'width="320"' in html and "controls" in html


def test_show_links_a_video_too_large_to_embed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    import foundry_video.notebook

    monkeypatch.setattr(foundry_video.notebook, "MAX_EMBED_BYTES", 1000)
    monkeypatch.chdir(tmp_path)
    html = show(mp4(tmp_path / "big.mp4"))._repr_html_()
    assert "base64" not in html and 'src="big.mp4"' in html


def test_show_detects_images_by_content(tmp_path: Path) -> None:
    thumb = tmp_path / "thumb.bin"
    thumb.write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 32)
    image = show(thumb)
    assert type(image).__name__ == "Image"


def test_show_rejects_what_it_cannot_play(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        show(tmp_path / "missing.mp4")
    with pytest.raises(IsADirectoryError):
        show(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither an MP4 video nor an image"):
        show(tmp_path / "notes.txt")


# -- ProgressDisplay outside a notebook ------------------------------------------------------


def test_progress_display_prints_plain_lines_outside_a_kernel(tmp_path: Path) -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream=stream)
    for event in (JobQueued("video_1"), JobProgress("video_1", "in_progress", 50),
                  JobCompleted("video_1", None),
                  DownloadStarted("video_1", "video", tmp_path / "a.mp4", 100),
                  DownloadProgress("video_1", "video", 100, 100),
                  DownloadSaved("video_1", "video", tmp_path / "a.mp4", 100)):
        display(event)
    lines = stream.getvalue()
    assert "video_1: queued" in lines and "in_progress 50%" in lines and "saved" in lines
    assert display.status == "saved" and display.percent == 100.0
    assert "a.mp4 (100 bytes)" in display.html()


def test_progress_display_shows_a_failure_escaped() -> None:
    display = ProgressDisplay(stream=io.StringIO())
    display(JobQueued("video_1"))
    display(JobFailed("video_1", "moderation_blocked", EVIL))
    html = display.html()
    assert display.phase == "failed" and "moderation_blocked" in html
    assert "<script" not in html and "&lt;script&gt;" in html
