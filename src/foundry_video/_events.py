"""Typed lifecycle events of a job, as yielded by :meth:`Job.events`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DownloadProgress",
    "DownloadSaved",
    "DownloadStarted",
    "JobCompleted",
    "JobEvent",
    "JobFailed",
    "JobProgress",
    "JobQueued",
]


@dataclass(frozen=True)
class JobEvent:
    """Base class of every job event."""

    job_id: str


@dataclass(frozen=True)
class JobQueued(JobEvent):
    """The job is waiting for the service to start it."""

    status: str = "queued"


@dataclass(frozen=True)
class JobProgress(JobEvent):
    """The job is running; ``progress`` is the service's approximate percent (may be None)."""

    status: str
    progress: int | None


@dataclass(frozen=True)
class JobCompleted(JobEvent):
    """The job finished successfully; ``result`` is the final model (e.g. a ``Video``)."""

    result: Any


@dataclass(frozen=True)
class JobFailed(JobEvent):
    """The job ended failed or cancelled; the error is raised right after this event."""

    code: str | None
    message: str | None
    status: str = "failed"


@dataclass(frozen=True)
class DownloadStarted(JobEvent):
    """A download began (or resumed from ``resumed_from`` bytes)."""

    variant: str
    path: Path
    total: int | None
    resumed_from: int = 0


@dataclass(frozen=True)
class DownloadProgress(JobEvent):
    """Bytes received so far out of ``total`` (None when the server did not say)."""

    variant: str
    received: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        """Progress between 0 and 1, when the total is known."""
        return None if not self.total else min(1.0, self.received / self.total)


@dataclass(frozen=True)
class DownloadSaved(JobEvent):
    """The file is complete and atomically in place at ``path``."""

    variant: str
    path: Path
    size: int
