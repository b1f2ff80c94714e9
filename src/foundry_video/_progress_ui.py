"""Progress display for the CLI: a live rich bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from ._events import (
    DownloadProgress,
    DownloadSaved,
    DownloadStarted,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
)


class ProgressUI:
    """Consumes :class:`JobEvent` objects and shows them. Use as a context manager."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._start = time.monotonic()
        self._progress: Any = None
        self._job_task: Any = None
        self._download_task: Any = None
        self._last_line = ""

    def __enter__(self) -> ProgressUI:
        if self.enabled and self.stream.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    ProgressColumn,
                    TaskProgressColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TransferSpeedColumn,
                )
            except ImportError:
                return self
            from rich.text import Text

            class BytesOnly(ProgressColumn):
                """Byte counts and speed on the download row only (the job row is percent)."""

                def __init__(self, inner: ProgressColumn) -> None:
                    super().__init__()
                    self.inner = inner

                def render(self, task: Any) -> Any:
                    return self.inner.render(task) if task.fields.get("bytes") else Text("")

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[detail]}"), BytesOnly(DownloadColumn()),
                BytesOnly(TransferSpeedColumn()), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=False)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _plain(self, line: str) -> None:
        if self.enabled and line != self._last_line:
            self._last_line = line
            elapsed = time.monotonic() - self._start
            print(f"[{elapsed:6.1f}s] {line}", file=self.stream, flush=True)

    def __call__(self, event: JobEvent) -> None:
        """Show one event."""
        if self._progress is None:
            self._plain_event(event)
            return
        progress = self._progress
        if self._job_task is None and isinstance(event, (JobQueued, JobProgress, JobCompleted)):
            self._job_task = progress.add_task("generating", total=100, detail="queued",
                                               bytes=False)
        if isinstance(event, JobQueued):
            progress.update(self._job_task, detail=event.status)
        elif isinstance(event, JobProgress):
            progress.update(self._job_task, completed=event.progress or 0, detail=event.status)
        elif isinstance(event, JobCompleted):
            progress.update(self._job_task, completed=100, detail="completed")
        elif isinstance(event, JobFailed):
            if self._job_task is not None:
                progress.update(self._job_task, detail=f"[red]{event.status}[/red]")
        elif isinstance(event, DownloadStarted):
            if self._download_task is None:
                self._download_task = progress.add_task(f"downloading {event.variant}",
                                                        total=event.total, detail="", bytes=True)
            progress.update(self._download_task, completed=event.resumed_from, total=event.total)
        elif isinstance(event, DownloadProgress):
            progress.update(self._download_task, completed=event.received, total=event.total)
        elif isinstance(event, DownloadSaved):
            progress.update(self._download_task, completed=event.size, total=event.size,
                            detail="saved")

    def _plain_event(self, event: JobEvent) -> None:
        if isinstance(event, JobQueued):
            self._plain(f"{event.job_id}: {event.status}")
        elif isinstance(event, JobProgress):
            percent = "" if event.progress is None else f" {event.progress}%"
            self._plain(f"{event.job_id}: {event.status}{percent}")
        elif isinstance(event, JobCompleted):
            self._plain(f"{event.job_id}: completed")
        elif isinstance(event, JobFailed):
            self._plain(f"{event.job_id}: {event.status}: {event.code or ''} {event.message or ''}")
        elif isinstance(event, DownloadStarted):
            size = f" ({event.total:,} bytes)" if event.total else ""
            resumed = f", resuming at {event.resumed_from:,}" if event.resumed_from else ""
            self._plain(f"downloading {event.variant}{size}{resumed}")
        elif isinstance(event, DownloadProgress) and event.fraction is not None:
            # Plain output is for logs: a line per 25% is plenty.
            quarter = int(event.fraction * 4) * 25
            self._plain(f"downloaded {quarter}%")
        elif isinstance(event, DownloadSaved):
            self._plain(f"saved {event.path} ({event.size:,} bytes)")
