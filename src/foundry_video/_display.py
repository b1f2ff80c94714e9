"""Rich display of jobs and videos in notebooks: an HTML card and a one-line text form.

:class:`RichDisplay` gives a class ``_repr_html_`` and ``_repr_pretty_`` (the hooks
Jupyter and IPython look for). Rendering is plain string building: nothing here imports
IPython. Every value shown may come from the network (prompts, error messages, ids), so
all of it is HTML-escaped and long text is cut.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from .models import Video, VideoGenerationJob

__all__ = ["RichDisplay", "Summary", "progress_bar_html", "summarize"]

MAX_TEXT = 240
"""Longest prompt or message shown (a card is a glance, not a dump)."""

_COLORS = {"succeeded": "#2e7d32", "failed": "#c62828", "running": "#1565c0",
           "queued": "#6d6d6d"}
_PHASES = {"completed": "succeeded", "succeeded": "succeeded", "failed": "failed",
           "cancelled": "failed", "in_progress": "running", "running": "running",
           "processing": "running", "queued": "queued", "preprocessing": "queued"}


class _Pretty(Protocol):
    """The part of IPython's pretty printer that :meth:`RichDisplay._repr_pretty_` uses."""

    def text(self, text: str) -> None: ...


class _JobLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str | None: ...

    @property
    def progress(self) -> int | None: ...

    @property
    def latest(self) -> Any: ...


@dataclass
class Summary:
    """What a card shows: a title, id, status, progress and a few labelled facts."""

    title: str
    id: str
    status: str | None
    progress: int | None
    facts: list[tuple[str, str]] = field(default_factory=list)
    prompt: str | None = None
    error: str | None = None

    def text(self) -> str:
        """One line: ``Video video_1 · completed 100% · sora-2 · 1280x720 · 8s``."""
        parts = [f"{self.title} {self.id}", _status_text(self.status, self.progress)]
        parts += [value for label, value in self.facts if label in ("model", "size", "seconds")]
        line = " · ".join(parts)
        return f"{line}\n  error: {_cut(self.error)}" if self.error else line

    def html(self) -> str:
        """A small self-contained HTML card (inline styles only, no scripts)."""
        e = html.escape
        phase = _PHASES.get(self.status or "", "queued")
        color = _COLORS[phase]
        rows = "".join(
            f"<tr><th style='text-align:left;padding:0 8px 0 0;font-weight:normal;"
            f"color:#777'>{e(label)}</th><td style='text-align:left'>{e(value)}</td></tr>"
            for label, value in self.facts)
        if self.prompt:
            rows += (f"<tr><th style='text-align:left;padding:0 8px 0 0;font-weight:normal;"
                     f"color:#777'>prompt</th><td style='text-align:left'>"
                     f"{e(_cut(self.prompt))}</td></tr>")
        error = (f"<div style='color:{_COLORS['failed']};margin-top:4px'>{e(_cut(self.error))}"
                 "</div>" if self.error else "")
        percent = 100 if phase == "succeeded" else self.progress
        return (
            "<div class='foundry-video' style='font-family:sans-serif;font-size:13px;"
            "border:1px solid #ddd;border-radius:6px;padding:8px 10px;max-width:560px'>"
            f"<div><b>{e(self.title)}</b> <code>{e(self.id)}</code> "
            f"<span style='color:#fff;background:{color};border-radius:4px;padding:1px 6px'>"
            f"{e(self.status or 'unknown')}</span></div>"
            f"{progress_bar_html(percent, color)}"
            f"<table style='margin-top:4px;border-collapse:collapse'>{rows}</table>{error}</div>")


class RichDisplay:
    """Mixin: Jupyter shows the object as an HTML card, IPython as one line of text."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" in cls.__dict__:
            # IPython takes a class's own __repr__ over an inherited _repr_pretty_.
            cls._repr_pretty_ = RichDisplay._repr_pretty_  # type: ignore[method-assign]

    def _repr_html_(self) -> str:
        return summarize(self).html()

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        p.text(summarize(self).text())


def progress_bar_html(percent: float | None, color: str = _COLORS["running"],
                      label: str | None = None) -> str:
    """A progress bar drawn with two ``div``s (renders wherever HTML output does)."""
    value = 0.0 if percent is None else max(0.0, min(100.0, float(percent)))
    text = label if label is not None else ("" if percent is None else f"{value:.0f}%")
    return ("<div style='display:flex;align-items:center;gap:6px;margin-top:4px'>"
            "<div style='flex:0 0 240px;height:8px;background:#eee;border-radius:4px;"
            "overflow:hidden'>"
            f"<div style='width:{value:.1f}%;height:100%;background:{color}'></div></div>"
            f"<span>{html.escape(text)}</span></div>")


def summarize(obj: object) -> Summary:
    """A :class:`Summary` of a ``Video``, a ``VideoGenerationJob`` or a job handle."""
    from .models import Video, VideoGenerationJob

    if isinstance(obj, Video):
        return _video(obj)
    if isinstance(obj, VideoGenerationJob):
        return _generation_job(obj)
    job = cast("_JobLike", obj)  # Job, GenerationJob, SyncJob, SyncGenerationJob
    latest = job.latest
    if isinstance(latest, Video):
        summary = _video(latest)
    elif isinstance(latest, VideoGenerationJob):
        summary = _generation_job(latest)
    else:
        summary = Summary("", job.id, None, None, [("state", "not fetched yet")])
    summary.title = type(obj).__name__
    summary.id = job.id
    summary.status = job.status
    summary.progress = job.progress
    return summary


def _video(video: Video) -> Summary:
    facts = [(label, str(value)) for label, value in (
        ("model", video.model), ("size", video.size),
        ("seconds", f"{video.seconds}s" if video.seconds else None),
        ("created", _when(video.created_at)), ("expires", _when(video.expires_at)),
        ("remix of", video.remixed_from_video_id)) if value]
    error = None
    if video.error is not None:
        error = ": ".join(str(part) for part in (video.error.code, video.error.message) if part)
    return Summary("Video", video.id, video.status, video.progress, facts, video.prompt,
                   error or None)


def _generation_job(job: VideoGenerationJob) -> Summary:
    facts = [(label, str(value)) for label, value in (
        ("model", job.model), ("size", job.size),
        ("seconds", f"{job.n_seconds}s" if job.n_seconds else None),
        ("variants", job.n_variants),
        ("generations", ", ".join(g.id for g in job.generations[:4])
         + (" ..." if len(job.generations) > 4 else "")),
        ("created", _when(job.created_at)), ("expires", _when(job.expires_at))) if value]
    return Summary("VideoGenerationJob", job.id, job.status, None, facts, job.prompt,
                   job.failure_reason)


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _status_text(status: str | None, progress: int | None) -> str:
    if status is None:
        return "not fetched yet"
    return status if progress is None else f"{status} {progress}%"


def _cut(text: str | None) -> str:
    text = " ".join((text or "").split())  # one line: no layout tricks through newlines
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
