"""The awaitable Job: poll until terminal, then stream the result to disk.

One loop, :meth:`Job.events`, does the work and yields typed events; ``await job``,
:meth:`Job.wait` and :meth:`Job.result` consume it. Both Sora 2 videos and Sora 1
generation jobs use this class through a small :class:`JobBackend` adapter, so polling,
timeouts, cancellation and downloads exist once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import anyio

from ._deadline import Deadline
from ._display import RichDisplay
from ._download import stream_to_path
from ._errors import (
    ContentExpiredError,
    FoundryVideoError,
    JobFailedError,
    JobTimeoutError,
)
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
from ._output import check_target
from ._poll import PollStrategy, job_age

if TYPE_CHECKING:
    from ._clock import Clock
    from ._pipeline import Pipeline

logger = logging.getLogger("foundry_video")

ModelT = TypeVar("ModelT")
Phase = Literal["queued", "running", "succeeded", "failed"]
ProgressHandler = Callable[[JobEvent], "Awaitable[None] | None"]
CLOCK_SKEW = 300.0
"""Seconds our clock may disagree with the service's: content is only declared expired
locally (without asking) once ``expires_at`` is this far in the past."""


def ensure_not_expired(job_id: str, expires_at: datetime | None, clock: Clock,
                       what: str) -> None:
    """Raise :class:`ContentExpiredError` when ``expires_at`` is past by more than any
    plausible clock skew: then do not even ask. Closer calls are left to the service, whose
    "expired" answer maps to the same error."""
    if expires_at is not None and expires_at.timestamp() + CLOCK_SKEW <= clock.time():
        raise ContentExpiredError(f"the {what} {job_id} expired at {expires_at.isoformat()}",
                                  job_id=job_id)


@dataclass(frozen=True)
class Content:
    """Where a finished job's asset lives on the API."""

    path: str
    params: Mapping[str, Any]


class JobBackend(Protocol[ModelT]):
    """What :class:`Job` needs to know about one API's job objects."""

    async def fetch(self, job_id: str, *, deadline: Deadline | None = None,
                    polling: bool = False,  # pragma: no mutate (a Protocol: never runs)
                    ) -> tuple[ModelT, Mapping[str, str]]:
        """GET the job; return the model and the response headers.

        ``polling`` gives the request the policy's polling budget instead of one call's.
        """
        ...

    def phase(self, model: ModelT) -> Phase:
        """Map the service status; raise ``UnknownStatusError`` for a status it does not know."""
        ...

    def status(self, model: ModelT) -> str:
        """The raw status string."""
        ...

    def progress(self, model: ModelT) -> int | None:
        """Approximate percent complete, when the API reports it."""
        ...

    def failure(self, model: ModelT) -> tuple[str | None, str | None]:
        """``(code, message)`` of a failed job."""
        ...

    def content(self, model: ModelT, variant: str, index: int) -> Content:
        """Where to download ``variant`` (raises ``ContentExpiredError``/``DownloadError``)."""
        ...

    async def delete(self, job_id: str) -> None:
        """Delete the remote job (only when the caller asked for it)."""
        ...


class Job(RichDisplay, Generic[ModelT]):
    """A video job on the service: await it, download its result, or watch its events.

    ``await job`` polls until the job ends and returns the final model (a
    :class:`~foundry_video.Video` for Sora 2), or raises :class:`JobFailedError`.
    ``await job.result("out.mp4")`` does that and then streams the file to disk. The job
    id (``job.id``) is all that is needed to resume after a restart:
    ``client.videos.job(job_id)``. ``hints`` are the headers of the response that gave
    ``latest``: a poll hint there paces the first status request.
    """

    resume_with = "client.videos.job"
    """How a user re-attaches to this kind of job (quoted in timeout messages)."""

    def __init__(self, pipeline: Pipeline, backend: JobBackend[ModelT], job_id: str,
                 latest: ModelT | None = None, *, poll_interval: float | None = None,
                 max_poll_interval: float = 30.0, hints: Mapping[str, str] | None = None
                 ) -> None:
        if not job_id:
            raise ValueError("job_id must be a non-empty string")
        self.id = job_id
        self._pipeline = pipeline
        self._backend = backend
        self._latest = latest
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self._hints: Mapping[str, str] = hints or {}

    # -- state ---------------------------------------------------------------------------

    @property
    def latest(self) -> ModelT | None:
        """The most recent job object seen (from create, retrieve or polling)."""
        return self._latest

    @property
    def status(self) -> str | None:
        """The last known status (``None`` before the first poll of a re-attached job)."""
        return None if self._latest is None else self._backend.status(self._latest)

    @property
    def progress(self) -> int | None:
        """The last known progress percent."""
        return None if self._latest is None else self._backend.progress(self._latest)

    @property
    def done(self) -> bool:
        """True once the last known status is terminal."""
        return self._latest is not None and self._backend.phase(self._latest) in (
            "succeeded", "failed")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status!r}, " \
               f"progress={self.progress!r})"

    async def refresh(self) -> ModelT:
        """Fetch the job once and return it (no waiting)."""
        model, _ = await self._backend.fetch(self.id)
        self._latest = model
        return model

    # -- waiting -------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, ModelT]:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None, *, on_progress: ProgressHandler | None = None,
                   cancel_remote: bool = False) -> ModelT:
        """Poll until the job ends; return the final job object.

        Raises :class:`JobFailedError` if it failed, :class:`JobTimeoutError` (carrying the
        job id) when ``timeout`` seconds pass first. ``on_progress`` receives each
        :class:`JobEvent`. Cancelling the awaiting task stops polling; the remote job is
        deleted only with ``cancel_remote=True``.
        """
        await self._drain(self.events(timeout=timeout, cancel_remote=cancel_remote), on_progress)
        assert self._latest is not None
        return self._latest

    async def result(
        self,
        path: str | os.PathLike[str],
        *,
        variant: str = "video",
        on_progress: ProgressHandler | None = None,
        timeout: float | None = None,
        cancel_remote: bool = False,
        index: int = 0,
    ) -> Path:
        """Wait for the job, then download ``variant`` to ``path``; return the saved path.

        ``timeout`` is one deadline for polling and downloading together. ``on_progress``
        receives every :class:`JobEvent` (sync or async callable). The file at ``path``
        appears only when complete; on any failure no partial file is left behind. A target
        that cannot be written (a directory, no permission, a read-only or full volume)
        raises :class:`OutputFileError` at once, before polling.
        """
        # Before polling: a job of minutes must not end in "permission denied".
        target = check_target(Path(path), job_id=self.id)
        await self._drain(self.events(target, variant=variant, timeout=timeout,
                                      cancel_remote=cancel_remote, index=index), on_progress)
        return target

    @staticmethod
    async def _drain(events: AsyncGenerator[JobEvent, None], handler: ProgressHandler | None) -> None:
        async with aclosing(events) as stream:
            async for event in stream:
                if handler is not None:
                    outcome = handler(event)
                    if outcome is not None:
                        await outcome

    # -- the loop ------------------------------------------------------------------------

    def events(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        variant: str = "video",
        timeout: float | None = None,
        cancel_remote: bool = False,
        index: int = 0,
    ) -> AsyncGenerator[JobEvent, None]:
        """Drive the job and yield its lifecycle events (an async generator).

        Yields :class:`JobQueued` / :class:`JobProgress` while polling, then
        :class:`JobCompleted` (or :class:`JobFailed`, followed by the raised
        :class:`JobFailedError`), and with ``path`` also :class:`DownloadStarted`,
        :class:`DownloadProgress` and :class:`DownloadSaved`. Use
        ``contextlib.aclosing`` when breaking out early so temporary files go at once.
        """
        stream = self._events(path, variant=variant, timeout=timeout,
                              cancel_remote=cancel_remote, index=index)
        telemetry = self._pipeline.telemetry
        return stream if telemetry is None else telemetry.watch(self, stream, path, variant)

    async def _events(self, path: str | os.PathLike[str] | None, *, variant: str,
                      timeout: float | None, cancel_remote: bool,
                      index: int) -> AsyncGenerator[JobEvent, None]:
        deadline = Deadline(self._pipeline.clock, timeout)
        try:
            async with aclosing(self._poll(deadline)) as polling:
                async for event in polling:
                    yield event
            if path is not None:
                async with aclosing(self._download(Path(path).expanduser(), variant, index,
                                                   deadline)) as downloading:
                    async for event in downloading:
                        yield event
        except TimeoutError:
            raise JobTimeoutError(self.id, timeout or 0.0, last_status=self.status,
                                  resume_with=self.resume_with) from None
        except anyio.get_cancelled_exc_class():
            if cancel_remote:
                with anyio.CancelScope(shield=True):
                    await self._cancel_remote()
            raise
        except FoundryVideoError as exc:
            if exc.job_id is None:
                exc.job_id = self.id
            # The one exit of every error about this job: whatever service data it quotes
            # (a failure message, an unknown status, a header) is redacted here.
            self._pipeline.redacted(exc)
            raise

    async def _cancel_remote(self) -> None:
        try:
            with anyio.fail_after(10):
                await self._backend.delete(self.id)
        except (FoundryVideoError, TimeoutError) as exc:
            logger.warning("could not delete job %s after cancellation: %s", self.id, exc)

    async def _poll(self, deadline: Deadline) -> AsyncGenerator[JobEvent, None]:
        clock = self._pipeline.clock
        strategy = PollStrategy(interval=self._poll_interval, max_interval=self._max_poll_interval)
        last_seen: tuple[str, int | None] | None = None
        headers, self._hints = self._hints, {}  # they describe `latest` only the first time
        model = self._latest
        while True:
            if model is None:
                # Transient failures are retried inside, on the policy's polling budget.
                model, headers = await self._backend.fetch(self.id, deadline=deadline,
                                                           polling=True)
                self._latest = model
            phase = self._backend.phase(model)
            state = (self._backend.status(model), self._backend.progress(model))
            if phase == "succeeded":
                yield JobCompleted(self.id, model)
                return
            if phase == "failed":
                code, message = self._backend.failure(model)
                yield JobFailed(self.id, code, message, state[0])
                raise JobFailedError(self.id, code=code, message=message, status=state[0],
                                     job=model)
            if state != last_seen:
                last_seen = state
                yield (JobQueued(self.id, state[0]) if phase == "queued"
                       else JobProgress(self.id, state[0], state[1]))
            strategy.observe(clock.monotonic(), state[1], running=phase == "running",
                             age=job_age(model, clock.time()))
            await deadline.sleep(strategy.next_delay(clock.monotonic(), headers,
                                                     wall_time=clock.time()))
            model = None

    async def _download(self, target: Path, variant: str, index: int,
                        deadline: Deadline) -> AsyncGenerator[JobEvent, None]:
        assert self._latest is not None
        content = self._backend.content(self._latest, variant, index)
        steps = stream_to_path(self._pipeline, content.path, target, params=content.params,
                               deadline=deadline, job_id=self.id)
        received = 0
        async with aclosing(steps) as progress:
            async for step in progress:
                received = step.received
                if step.attempt_started:
                    yield DownloadStarted(self.id, variant, target, step.total, step.resumed_from)
                else:
                    yield DownloadProgress(self.id, variant, step.received, step.total)
        yield DownloadSaved(self.id, variant, target, received)
