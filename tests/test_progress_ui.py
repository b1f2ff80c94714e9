"""The CLI's progress display: rich bars on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
from pathlib import Path

from foundry_video import (
    DownloadProgress,
    DownloadSaved,
    DownloadStarted,
    JobCompleted,
    JobProgress,
    JobQueued,
)
from foundry_video._progress_ui import ProgressUI

EVENTS = [
    JobQueued("video_1"),
    JobProgress("video_1", "in_progress", 40),
    JobCompleted("video_1", None),
    DownloadStarted("video_1", "video", Path("o.mp4"), 2_000_000),
    DownloadProgress("video_1", "video", 1_000_000, 2_000_000),
    DownloadProgress("video_1", "video", 2_000_000, 2_000_000),
    DownloadSaved("video_1", "video", Path("o.mp4"), 2_000_000),
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_bars_with_bytes_only_on_the_download_row() -> None:
    screen = Terminal()
    with ProgressUI(screen) as ui:
        for event in EVENTS:
            ui(event)
    lines = [line for line in screen.getvalue().splitlines() if line.strip()]
    job_row = next(line for line in reversed(lines) if "generating" in line)
    download_row = next(line for line in reversed(lines) if "downloading video" in line)
    assert "100%" in job_row and "completed" in job_row and "bytes" not in job_row
    assert "2.0/2.0 MB" in download_row and "saved" in download_row


def test_pipes_get_plain_lines() -> None:
    log = io.StringIO()
    with ProgressUI(log) as ui:
        for event in EVENTS:
            ui(event)
    text = log.getvalue()
    assert "video_1: queued" in text and "video_1: in_progress 40%" in text
    assert "downloading video (2,000,000 bytes)" in text and "downloaded 50%" in text
    assert text.rstrip().endswith("saved o.mp4 (2,000,000 bytes)")


def test_quiet_prints_nothing() -> None:
    log = Terminal()
    with ProgressUI(log, enabled=False) as ui:
        for event in EVENTS:
            ui(event)
    assert log.getvalue() == ""
