"""Jupyter helpers: a live progress display and a one-line inline player.

```python
from foundry_video.notebook import ProgressDisplay, show

path = job.result("cat.mp4", on_progress=ProgressDisplay())   # or: await job.result(...)
show(path)                                                     # plays it in the notebook
```

Jobs and videos also display themselves as a small card when they are the last
expression of a cell. Everything here is optional: it needs IPython (present in every
Jupyter kernel) and uses ipywidgets when installed (``pip install "foundry-video[notebook]"``).
Outside a notebook :class:`ProgressDisplay` prints plain progress lines instead.
"""

from __future__ import annotations

import html
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ._display import progress_bar_html
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
from ._files import sniff_content_type

__all__ = ["MAX_EMBED_BYTES", "ProgressDisplay", "show"]

MAX_EMBED_BYTES = 50 * 1024 * 1024
"""Files up to this size are embedded in the notebook (base64); larger ones are linked,
so a long 1080p video does not make the ``.ipynb`` file hundreds of megabytes."""

_GREEN, _RED, _BLUE = "#2e7d32", "#c62828", "#1565c0"


def show(path: str | os.PathLike[str], *, width: int | None = 640,
         embed: bool | None = None) -> Any:
    """Show a saved video (MP4) or image (thumbnail, spritesheet) inline in a notebook.

    Put it last in a cell: ``show(job.result("cat.mp4"))``. Returns an
    ``IPython.display.Video`` or ``Image``. The file is embedded when ``embed`` is true, or
    by default when it is at most :data:`MAX_EMBED_BYTES`; otherwise the notebook links to
    it by a path relative to the working directory (the notebook's folder in Jupyter).
    What it is comes from the file's first bytes, not its name.
    """
    display = _ipython_display("show()")
    file = Path(path).expanduser()
    if file.is_dir():
        raise IsADirectoryError(f"{file} is a directory; give the path of a saved video")
    size = file.stat().st_size  # FileNotFoundError for a missing file
    with file.open("rb") as handle:
        kind = sniff_content_type(handle.read(16))
    inline = size <= MAX_EMBED_BYTES if embed is None else embed
    source = str(file) if inline else _relative(file)
    if kind == "video/mp4":
        if inline:
            return display.Video(source, embed=True, mimetype="video/mp4", width=width)
        return display.Video(url=source, width=width)
    if kind.startswith("image/"):
        if inline:
            return display.Image(filename=source, format=kind.split("/")[1], width=width)
        return display.Image(url=source, width=width)
    raise ValueError(f"{file} is neither an MP4 video nor an image ({kind})")


def _ipython_display(what: str) -> Any:
    """``IPython.display`` (untyped, hence ``Any``), or a clear ImportError."""
    try:
        return importlib.import_module("IPython.display")
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs IPython: run it in Jupyter, or "
                          "pip install 'foundry-video[notebook]'") from None


def _relative(file: Path) -> str:
    try:
        return os.path.relpath(file)
    except ValueError:  # another drive on Windows
        return str(file)


class ProgressDisplay:
    """Show a job's progress live: pass it as ``on_progress=`` to ``wait``/``result``.

    In Jupyter it is a progress bar updated in place: an ipywidgets bar when ipywidgets
    is installed (``widgets=None``, the default) or ``widgets=True``, otherwise HTML in
    one output updated through an ``IPython.display`` handle. Outside a notebook it
    prints plain lines to ``stream`` (default: stderr). Works with ``VideoClient`` (as a
    plain callback) and ``SyncVideoClient`` alike; use one instance per job.
    """

    def __init__(self, *, widgets: bool | None = None, stream: IO[str] | None = None) -> None:
        self._want_widgets = widgets
        self._stream = stream
        self._render: Callable[[JobEvent], None] | None = None
        self.job_id: str | None = None
        self.status = "starting"
        self.percent: float | None = None
        self.detail = ""
        self.phase = "running"
        self._last: tuple[Any, ...] | None = None

    def __call__(self, event: JobEvent) -> None:
        """Take one event and update the display."""
        self.job_id = event.job_id
        if isinstance(event, JobQueued):
            self.status, self.percent, self.detail = event.status, 0.0, ""
        elif isinstance(event, JobProgress):
            self.status, self.percent = event.status, float(event.progress or 0)
        elif isinstance(event, JobCompleted):
            self.status, self.percent = "completed", 100.0
        elif isinstance(event, JobFailed):
            self.status, self.phase = event.status, "failed"
            self.detail = ": ".join(part for part in (event.code, event.message) if part)
        elif isinstance(event, DownloadStarted):
            self.status, self.percent, self.detail = f"downloading {event.variant}", 0.0, ""
            if event.total and event.resumed_from:
                self.percent = 100.0 * event.resumed_from / event.total
        elif isinstance(event, DownloadProgress):
            fraction = event.fraction
            self.percent = None if fraction is None else 100.0 * fraction
            self.detail = _bytes(event.received, event.total)
        elif isinstance(event, DownloadSaved):
            self.status, self.percent, self.phase = "saved", 100.0, "done"
            self.detail = f"{event.path} ({event.size:,} bytes)"
        state = (self.status, None if self.percent is None else int(self.percent), self.detail,
                 self.phase)
        if state == self._last:
            return  # e.g. another chunk within the same percent: no redraw
        self._last = state
        if self._render is None:
            self._render = self._start()
        self._render(event)

    # -- rendering -------------------------------------------------------------------------

    def html(self) -> str:
        """The current state as HTML (what the non-widget display shows)."""
        color = {"failed": _RED, "done": _GREEN}.get(self.phase, _BLUE)
        head = (f"<b>{html.escape(self.job_id or '')}</b> "
                f"<span style='color:{color}'>{html.escape(self.status)}</span>")
        detail = f"<div style='color:#555'>{html.escape(self.detail)}</div>" if self.detail else ""
        return (f"<div class='foundry-video-progress' style='font-family:sans-serif;"
                f"font-size:13px'>{head}{progress_bar_html(self.percent, color)}{detail}</div>")

    def _start(self) -> Callable[[JobEvent], None]:
        shell = _kernel_shell()
        if shell is None:
            return self._plain()
        if self._want_widgets is not False:
            try:
                ipywidgets = importlib.import_module("ipywidgets")
            except ImportError:
                if self._want_widgets:
                    raise ImportError("ProgressDisplay(widgets=True) needs ipywidgets: "
                                      "pip install 'foundry-video[notebook]'") from None
            else:
                return self._widgets(ipywidgets)
        display = _ipython_display("ProgressDisplay")
        handle = display.display(display.HTML(self.html()), display_id=True)

        def update(event: JobEvent) -> None:
            handle.update(display.HTML(self.html()))

        return update

    def _widgets(self, ipywidgets: Any) -> Callable[[JobEvent], None]:
        bar = ipywidgets.FloatProgress(value=0.0, min=0.0, max=100.0)
        label = ipywidgets.HTML()
        box = ipywidgets.VBox([label, bar])
        _ipython_display("ProgressDisplay").display(box)

        def update(event: JobEvent) -> None:
            color = {"failed": "danger", "done": "success"}.get(self.phase, "info")
            bar.bar_style = color
            bar.value = self.percent or 0.0
            detail = f" — {html.escape(self.detail)}" if self.detail else ""
            label.value = (f"<b>{html.escape(self.job_id or '')}</b> "
                           f"{html.escape(self.status)}{detail}")

        return update

    def _plain(self) -> Callable[[JobEvent], None]:
        from ._progress_ui import ProgressUI

        return ProgressUI(self._stream or sys.stderr)  # not entered: plain lines, no live bar


def _kernel_shell() -> Any:
    """The IPython shell when running in a Jupyter kernel, else ``None``."""
    if "IPython" not in sys.modules:
        return None  # IPython was never imported: not a notebook (and no need to import it)
    shell = importlib.import_module("IPython").get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def _bytes(received: int, total: int | None) -> str:
    mb = 1024 * 1024
    return f"{received / mb:.1f} / {total / mb:.1f} MB" if total else f"{received / mb:.1f} MB"
