"""An optional job journal: a small append-only file of started jobs, so a batch that
crashed (or was killed, or lost its machine) resumes instead of paying for its videos twice.

::

    from foundry_video.journal import JobJournal

    async with JobJournal("jobs.jsonl") as journal:
        for prompt in prompts:
            job = await journal.track(client.videos.create(prompt=prompt),
                                      output=f"out/{slug(prompt)}.mp4", params={"prompt": prompt})
        for entry in journal.pending():
            await journal.finish(client.videos.job(entry.id))

    # After a crash, in a new process: pick up every job that was started but not finished.
    async with JobJournal("jobs.jsonl") as journal:
        async for entry, job in journal.resume(client):
            await journal.finish(job)

The file is JSON Lines, one event per line (``intent``, ``started``, ``done``, ``failed``,
``unconfirmed``), each appended with a single ``write`` and ``fsync``\\ed before the call
returns, so a job id is on disk before the caller can lose it. A line torn by a crash
is skipped when reading. The journal holds what the caller gives it (ids, output paths,
``params``) and nothing else: never put keys or tokens in ``params``.

``unconfirmed`` records a create whose outcome the SDK could not know (the connection
dropped after the request was sent): the SDK does not re-send it, because that could
start a second job. Reconcile with ``client.videos.list()`` before creating it again.

``intent`` (:meth:`JobJournal.record_intent`) is written *before* a create is sent: a
process killed between sending a create and journaling its id leaves an intent with no
``started`` event, which a resuming caller reconciles the same way (``foundry-video
batch --resume`` does).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ._errors import (
    APIConnectionError,
    ContentExpiredError,
    ContentPolicyError,
    JobFailedError,
    NotFoundError,
    UnknownStatusError,
)
from ._job import Job

JobT = TypeVar("JobT", bound=Job[Any])

if TYPE_CHECKING:
    from ._client import VideoClient

__all__ = ["JobJournal", "JournalEntry"]

EntryStatus = Literal["pending", "done", "failed"]
FORMAT_VERSION = 1
TERMINAL_ERRORS: tuple[type[BaseException], ...] = (
    JobFailedError, ContentPolicyError, ContentExpiredError, NotFoundError, UnknownStatusError)
"""Errors after which resuming cannot help: :meth:`JobJournal.finish` marks the job failed.
Anything else (connection trouble, timeouts, cancellation) leaves it pending."""


@dataclass
class JournalEntry:
    """What the journal knows about one job."""

    id: str
    kind: str = "video"
    created_at: float | None = None
    output: str | None = None
    """The local path the caller chose (absolute); never derived from the service's data."""
    variant: str = "video"
    params: dict[str, Any] = field(default_factory=dict)
    status: EntryStatus = "pending"
    error: str | None = None


@dataclass(frozen=True)
class UnconfirmedCreate:
    """A create that may or may not have started a job (see the module docstring)."""

    at: float
    params: dict[str, Any]
    error: str


class JobJournal:
    """An append-only JSON Lines file of started jobs and their outcome.

    Safe to share between tasks of one event loop; several processes may append to the
    same file (each event is one ``O_APPEND`` write). ``fsync=False`` trades durability
    for speed.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path).expanduser()
        self._fsync = fsync
        self._clock = clock

    async def __aenter__(self) -> JobJournal:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def __repr__(self) -> str:
        return f"JobJournal({str(self.path)!r})"

    # -- writing ---------------------------------------------------------------------------

    def _append(self, event: dict[str, Any]) -> None:
        line = json.dumps({"v": FORMAT_VERSION, **event}, default=str, ensure_ascii=False)
        data = (line + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a crash tore the last line: do not glue onto it
            os.write(fd, data)
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def record(self, job_id: str, *, output: str | os.PathLike[str] | None = None,
               variant: str = "video", params: dict[str, Any] | None = None,
               kind: str = "video") -> JournalEntry:
        """Write a ``started`` event for ``job_id`` (durable when this returns)."""
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("job_id must be a non-empty string")
        target = None if output is None else str(Path(output).expanduser().absolute())
        entry = JournalEntry(job_id, kind, self._clock(), target, variant, dict(params or {}))
        self._append({"event": "started", "id": job_id, "kind": kind,
                      "created_at": entry.created_at, "output": target, "variant": variant,
                      "params": entry.params})
        return entry

    def record_intent(self, params: dict[str, Any]) -> float:
        """Write an ``intent`` event: a create with ``params`` is about to be sent.

        Durable when this returns; returns the journal time it was recorded at.
        """
        at = self._clock()
        self._append({"event": "intent", "at": at, "params": dict(params)})
        return at

    def mark_done(self, job_id: str) -> None:
        """Write a ``done`` event: the job's result is saved (or no longer wanted)."""
        self._append({"event": "done", "id": job_id, "at": self._clock()})

    def mark_failed(self, job_id: str, error: BaseException | str) -> None:
        """Write a ``failed`` event: resuming this job cannot succeed."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._append({"event": "failed", "id": job_id, "at": self._clock(), "error": text})

    async def track(self, job: JobT | Awaitable[JobT], *,
                    output: str | os.PathLike[str] | None = None, variant: str = "video",
                    params: dict[str, Any] | None = None, kind: str = "video") -> JobT:
        """Record a job as started and return it.

        ``job`` is a :class:`Job` or the awaitable that makes one
        (``client.videos.create(...)``). If that create fails with an
        :class:`APIConnectionError` (its outcome unknown), an ``unconfirmed`` event with
        ``params`` is written before the error propagates.
        """
        if isinstance(job, Job):
            started = cast("JobT", job)
        else:
            try:
                started = await job
            except APIConnectionError as exc:
                self._append({"event": "unconfirmed", "at": self._clock(),
                              "params": dict(params or {}), "error": str(exc)})
                raise
        self.record(started.id, output=output, variant=variant, params=params, kind=kind)
        return started

    async def finish(self, job: Job[Any], *, output: str | os.PathLike[str] | None = None,
                     timeout: float | None = None) -> Path | None:
        """Wait for ``job`` (and download it to its journaled output); mark it done or failed.

        Returns the saved path, or ``None`` when there is no output to download. Errors
        propagate; only :data:`TERMINAL_ERRORS` mark the job failed.
        """
        entry = self.entries().get(job.id)
        target = output if output is not None else (entry.output if entry else None)
        variant = entry.variant if entry else "video"
        try:
            if target is None:
                await job.wait(timeout=timeout)
                path = None
            else:
                path = await job.result(target, variant=variant, timeout=timeout)
        except TERMINAL_ERRORS as exc:
            self.mark_failed(job.id, exc)
            raise
        self.mark_done(job.id)
        return path

    # -- reading ---------------------------------------------------------------------------

    def _events(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        events = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # torn by a crash mid-write, or not ours
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                events.append(event)
        return events

    def entries(self) -> dict[str, JournalEntry]:
        """Every journaled job by id, in the order they were started."""
        entries: dict[str, JournalEntry] = {}
        for event in self._events():
            job_id = event.get("id")
            if not isinstance(job_id, str) or not job_id:
                continue
            kind = event["event"]
            if kind == "started":
                params = event.get("params")
                entries[job_id] = JournalEntry(
                    job_id, str(event.get("kind") or "video"), _number(event.get("created_at")),
                    _text(event.get("output")), str(event.get("variant") or "video"),
                    params if isinstance(params, dict) else {})
            elif job_id in entries and kind in ("done", "failed"):
                entries[job_id].status = "done" if kind == "done" else "failed"
                entries[job_id].error = _text(event.get("error"))
        return entries

    def pending(self) -> list[JournalEntry]:
        """Jobs started but neither done nor failed: the ones to resume."""
        return [e for e in self.entries().values() if e.status == "pending"]

    def unconfirmed(self) -> list[UnconfirmedCreate]:
        """Creates whose outcome is unknown (reconcile them with ``client.videos.list()``)."""
        return [UnconfirmedCreate(_number(e.get("at")) or 0.0,
                                  e["params"] if isinstance(e.get("params"), dict) else {},
                                  str(e.get("error") or ""))
                for e in self._events() if e["event"] == "unconfirmed"]

    def intents(self) -> list[UnconfirmedCreate]:
        """Every ``intent`` event, oldest first (``error`` is empty): match them against
        ``started`` entries by their ``params`` to find creates that may have been lost."""
        return [UnconfirmedCreate(_number(e.get("at")) or 0.0,
                                  e["params"] if isinstance(e.get("params"), dict) else {}, "")
                for e in self._events() if e["event"] == "intent"]

    async def resume(self, client: VideoClient) -> AsyncIterator[tuple[JournalEntry, Job[Any]]]:
        """Yield ``(entry, job)`` for every pending job, re-attached (no request is sent)."""
        for entry in self.pending():
            if entry.kind != "video":
                raise ValueError(f"cannot resume a {entry.kind!r} job ({entry.id})")
            yield entry, client.videos.job(entry.id)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
