"""Emulator state: a generic job store, the Sora 2 video job, rate limiting, request log.

Job status is *derived from the clock* (no background tasks): a job is ``queued`` for
``queue_seconds`` after creation, then ``in_progress`` with progress rising 0 -> 99 along
its progress curve (see ``_curves.py``) over ``job_seconds``, then ``completed`` (or
``failed`` when a fault decided so). Advancing a
:class:`~foundry_video._clock.ManualClock` therefore moves every job at once.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from ._curves import DEFAULT_PROGRESS_CURVE, ProgressCurve, resolve_curve

__all__ = [
    "Character",
    "EmulatorState",
    "JobFailure",
    "JobStore",
    "RateLimiter",
    "RecordedRequest",
    "TimedJob",
    "VideoJob",
    "new_id",
]

_seq = itertools.count()

MODERATION_MESSAGE = "Your request was blocked by our moderation system."
FAILED_MESSAGE = "Video generation failed due to an internal error. Please try again."


def new_id(prefix: str) -> str:
    """``prefix`` + 32 lowercase hex digits, like ``video_68f10985d6c4819097007665bdcfba5f``."""
    return prefix + secrets.token_hex(16)


class StoredJob(Protocol):
    """What :class:`JobStore` needs from a stored object."""

    @property
    def id(self) -> str: ...

    @property
    def sort_key(self) -> tuple[float, int]: ...


J = TypeVar("J", bound=StoredJob)


class JobStore(Generic[J]):
    """Jobs by id, listable in creation order with cursor pagination.

    Deleted jobs leave their sort key behind, so a client paginating with ``after=<id>``
    of a job deleted meanwhile still gets the next page instead of an error.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, J] = {}
        self._tombstones: dict[str, tuple[float, int]] = {}

    def add(self, job: J) -> J:
        """Store ``job`` and return it."""
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> J | None:
        """The job with ``job_id``, or ``None``."""
        return self._jobs.get(job_id)

    def delete(self, job_id: str) -> J | None:
        """Remove and return the job (``None`` if unknown)."""
        job = self._jobs.pop(job_id, None)
        if job is not None:
            self._tombstones[job_id] = job.sort_key
        return job

    def cursor_key(self, job_id: str) -> tuple[float, int] | None:
        """The sort key of a live or deleted job, for pagination cursors."""
        job = self._jobs.get(job_id)
        return job.sort_key if job is not None else self._tombstones.get(job_id)

    def page(
        self,
        *,
        limit: int,
        order: Literal["asc", "desc"] = "desc",
        after: str | None = None,
        before: str | None = None,
    ) -> tuple[list[J], bool]:
        """One page of jobs and ``has_more``; raises ``KeyError`` for an unknown cursor."""
        desc = order == "desc"
        items = sorted(self._jobs.values(), key=lambda j: j.sort_key, reverse=desc)
        if after is not None:
            key = self.cursor_key(after)
            if key is None:
                raise KeyError(after)
            items = [j for j in items if (j.sort_key < key if desc else j.sort_key > key)]
        if before is not None:
            key = self.cursor_key(before)
            if key is None:
                raise KeyError(before)
            items = [j for j in items if (j.sort_key > key if desc else j.sort_key < key)]
        return items[:limit], len(items) > limit

    def tombstones(self) -> dict[str, tuple[float, int]]:
        """Sort keys of deleted jobs, by id (kept for pagination cursors)."""
        return dict(self._tombstones)

    def replace(self, jobs: Iterable[J], tombstones: Mapping[str, tuple[float, int]]) -> None:
        """Replace the whole content (the emulator's state directory loads it this way)."""
        self._jobs = {job.id: job for job in jobs}
        self._tombstones = dict(tombstones)

    def __iter__(self) -> Iterator[J]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __repr__(self) -> str:
        return f"JobStore({len(self._jobs)} jobs)"


@dataclass(frozen=True)
class JobFailure:
    """How a job ends when it fails (``error`` on the Video object)."""

    code: str
    message: str


VideoStatus = Literal["queued", "in_progress", "completed", "failed"]


@dataclass(eq=False, kw_only=True)
class TimedJob:
    """What every emulated job shares: creation order, timing, retention and expiry.

    The fields are keyword-only so subclasses can add required fields of their own.
    Subclasses define ``status(now)`` and :meth:`_expiry_shown`.
    """

    id: str
    created: float
    queue_seconds: float
    job_seconds: float
    retention_seconds: int = 86400
    expired_at: float | None = None
    """Set by the ``expire_content`` fault: content counts as expired from this time."""
    seq: int = field(default_factory=lambda: next(_seq))

    @property
    def sort_key(self) -> tuple[float, int]:
        """Creation order (clock time, then a tie-breaking sequence number)."""
        return (self.created, self.seq)

    @property
    def created_at(self) -> int:
        """Integer Unix seconds."""
        return math.floor(self.created)

    @property
    def finishes(self) -> float:
        """Clock time at which the job reaches its terminal state."""
        return self.created + self.queue_seconds + self.job_seconds

    def _expiry_shown(self, now: float) -> bool:
        """Whether ``expires_at`` is set at clock time ``now`` (it is null before)."""
        raise NotImplementedError

    def expires_at(self, now: float) -> int | None:
        """``created_at + retention`` (or the ``expire_content`` time, if earlier), once
        :meth:`_expiry_shown`; else null."""
        if not self._expiry_shown(now):
            return None
        expires = self.created_at + self.retention_seconds
        if self.expired_at is not None:
            expires = min(expires, math.floor(self.expired_at))
        return expires

    def content_expired(self, now: float) -> bool:
        """True once the downloadable assets are gone."""
        expires = self.expires_at(now)
        return expires is not None and now >= expires


@dataclass(eq=False)
class VideoJob(TimedJob):
    """One Sora 2 video job. Times are the emulator clock's Unix seconds (floats).

    ``id``, ``created``, ``queue_seconds``, ``job_seconds``, ``retention_seconds``,
    ``expired_at`` and ``seq`` come from :class:`TimedJob` (keyword-only). Tests may change
    a job's timing or ``progress_curve`` (a name from ``PROGRESS_CURVES`` or a function)
    after it was created.
    """

    model: str
    prompt: str
    size: str
    seconds: int
    remixed_from_video_id: str | None = None
    failure: JobFailure | None = None
    kind: str = "create"
    input_reference: dict[str, Any] | None = None
    progress_curve: str | ProgressCurve = DEFAULT_PROGRESS_CURVE
    input_image: bytes | None = field(default=None, repr=False)
    """The uploaded (or data-URL) input image: the first frames of the rendered video."""

    def status(self, now: float) -> VideoStatus:
        """The status at clock time ``now``."""
        elapsed = now - self.created
        if elapsed < self.queue_seconds:
            return "queued"
        if now < self.finishes:
            return "in_progress"
        return "failed" if self.failure is not None else "completed"

    def progress(self, now: float) -> int:
        """Integer percentage: 0 while queued, along the curve while in progress (at most
        99), 100 when terminal."""
        status = self.status(now)
        if status == "queued":
            return 0
        if status != "in_progress":
            # UNCERTAIN: the progress of a failed job is undocumented; 100 = "processing over".
            return 100
        elapsed = (now - self.created - self.queue_seconds) / self.job_seconds
        done = resolve_curve(self.progress_curve)(min(1.0, max(0.0, elapsed)))
        return max(0, min(99, int(done * 100)))

    def _expiry_shown(self, now: float) -> bool:
        """Once completed (brief + [AZ-CONCEPT] example)."""
        return self.status(now) == "completed"

    def seconds_until_change(self, now: float) -> float:
        """Seconds until the next status change (0 when terminal)."""
        elapsed = now - self.created
        if elapsed < self.queue_seconds:
            return self.queue_seconds - elapsed
        return max(0.0, self.finishes - now)

    def to_json(self, now: float, *, initial: bool = False) -> dict[str, Any]:
        """The Video object with all 13 schema fields (``initial``: as returned by create)."""
        status: VideoStatus = "queued" if initial else self.status(now)
        terminal = status in ("completed", "failed")
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": status,
            "progress": 0 if initial else self.progress(now),
            "created_at": self.created_at,
            "completed_at": math.floor(self.finishes) if terminal else None,
            "expires_at": None if initial else self.expires_at(now),
            "prompt": self.prompt,
            "size": self.size,
            "seconds": str(self.seconds),
            "remixed_from_video_id": self.remixed_from_video_id,
            "error": (
                {"code": self.failure.code, "message": self.failure.message}
                if status == "failed" and self.failure is not None
                else None
            ),
        }


@dataclass(eq=False)
class Character:
    """A character created from an uploaded video (``POST /videos/characters``)."""

    id: str
    name: str
    created: float
    seq: int = field(default_factory=lambda: next(_seq))

    @property
    def sort_key(self) -> tuple[float, int]:
        """Creation order."""
        return (self.created, self.seq)

    def to_json(self) -> dict[str, Any]:
        """The VideoCharacterResource shape."""
        return {"id": self.id, "name": self.name, "created_at": math.floor(self.created)}


class RateLimiter:
    """At most ``limit`` admitted requests per ``window`` seconds of clock time (sliding)."""

    def __init__(self, limit: int | None, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: deque[float] = deque()

    def reset(self) -> None:
        """Forget past requests."""
        self._hits.clear()

    def acquire(self, now: float) -> float | None:
        """Admit a request (``None``) or return the seconds to wait before retrying."""
        if self.limit is None:
            return None
        while self._hits and self._hits[0] <= now - self.window:
            self._hits.popleft()
        if len(self._hits) >= self.limit:
            return max(0.001, self._hits[0] + self.window - now) if self._hits else self.window
        self._hits.append(now)
        return None


@dataclass
class RecordedRequest:
    """One request as the emulator saw it (secrets redacted), for test assertions."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Request headers, names lowercased, secrets (api-key, Authorization...) REDACTED."""
    body_kind: Literal["none", "json", "multipart", "form", "other"]
    request_id: str
    time: float
    operation: str | None = None
    status: int | None = None
    """Response status, or ``None`` if the connection was dropped before a response."""
    faults: list[str] = field(default_factory=list)
    """Kinds of the faults that fired on this request."""


class EmulatorState:
    """Everything a restart without ``keep_state`` forgets: jobs and characters.

    Other API surfaces keep their stores in :attr:`stores` under their own name.
    """

    def __init__(self) -> None:
        self.videos: JobStore[VideoJob] = JobStore()
        self.characters: JobStore[Character] = JobStore()
        self.stores: dict[str, JobStore[Any]] = {}

    def store(self, name: str) -> JobStore[Any]:
        """The named extra store (created on first use)."""
        return self.stores.setdefault(name, JobStore())
