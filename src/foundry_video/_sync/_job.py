"""Blocking job handles: :class:`SyncJob` and :class:`SyncGenerationJob`.

Each wraps the async :class:`~foundry_video.Job` it was made from and runs that job's
methods on the client's event-loop thread, so polling, timeouts, downloads and errors are
the async ones. What is added is what only a blocking call needs: Ctrl-C while waiting
cancels the local work (temporary files go), leaves the remote job running, and raises a
``KeyboardInterrupt`` saying how to resume.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from .._display import RichDisplay
from .._events import JobEvent
from ..models import Video, VideoGeneration, VideoGenerationJob
from ._runtime import Emit, Runtime

if TYPE_CHECKING:
    from .._job import Job, ProgressHandler
    from ..resources.generation_jobs import GenerationJob

__all__ = ["SyncGenerationJob", "SyncJob", "SyncVideoJob", "interrupted"]

ModelT = TypeVar("ModelT")
R = TypeVar("R")
EventHandler = Callable[[JobEvent], object]
"""A plain function called with each :class:`~foundry_video.JobEvent` (in the caller's thread)."""


def interrupted(job_id: str, resume_with: str) -> KeyboardInterrupt:
    """The ``KeyboardInterrupt`` raised when Ctrl-C stops a blocking wait for a job.

    A plain ``KeyboardInterrupt`` (a subclass would not end the program with the usual
    Ctrl-C exit status) whose message says how to resume, with ``job_id`` and
    ``resume_with`` attributes for programs that want to act on it.
    """
    exc = KeyboardInterrupt(f"interrupted; the job {job_id} continues on the service. "
                            f"Resume with {resume_with}({job_id!r})")
    exc.job_id = job_id  # type: ignore[attr-defined]
    exc.resume_with = resume_with  # type: ignore[attr-defined]
    return exc


class SyncJob(RichDisplay, Generic[ModelT]):
    """A video job, blocking: ``job.wait()``, ``job.result(path)``, ``for e in job.events()``.

    The blocking twin of :class:`~foundry_video.Job`, returned by
    :class:`~foundry_video.SyncVideoClient` (``client.videos.create(...)``,
    ``client.videos.job(id)``). ``job.id`` is all it takes to resume after a restart.
    Ctrl-C while it waits stops polling (and removes the temporary file of a download)
    but not the remote job: the ``KeyboardInterrupt`` says how to resume, e.g.
    ``client.videos.job('video_...')``, and carries ``job_id`` and ``resume_with``.
    """

    def __init__(self, runtime: Runtime, job: Job[ModelT]) -> None:
        self._runtime = runtime
        self._job = job

    # -- state (read straight from the async job) ------------------------------------------

    @property
    def id(self) -> str:
        """The job id (``video_...`` for Sora 2, ``task_...`` for Sora 1)."""
        return self._job.id

    @property
    def resume_with(self) -> str:
        """How a user re-attaches to this kind of job (quoted in timeout and interrupt messages)."""
        return self._job.resume_with

    @property
    def latest(self) -> ModelT | None:
        """The most recent job object seen (from create, retrieve or polling)."""
        return self._job.latest

    @property
    def status(self) -> str | None:
        """The last known status (``None`` before the first poll of a re-attached job)."""
        return self._job.status

    @property
    def progress(self) -> int | None:
        """The last known progress percent."""
        return self._job.progress

    @property
    def done(self) -> bool:
        """True once the last known status is terminal."""
        return self._job.done

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status!r}, " \
               f"progress={self.progress!r})"

    # -- blocking calls ----------------------------------------------------------------------

    def refresh(self) -> ModelT:
        """Fetch the job once and return it (no waiting)."""
        return self._runtime.call(self._job.refresh)

    def wait(self, timeout: float | None = None, *, on_progress: EventHandler | None = None,
             cancel_remote: bool = False) -> ModelT:
        """Poll until the job ends; return the final job object.

        Raises :class:`~foundry_video.JobFailedError` if it failed,
        :class:`~foundry_video.JobTimeoutError` when ``timeout`` seconds pass first, and
        ``KeyboardInterrupt`` with a resume hint on Ctrl-C (the remote job is deleted
        only with ``cancel_remote=True``). ``on_progress`` is called in this thread with each
        :class:`~foundry_video.JobEvent`.
        """
        return self._follow(
            lambda handler: self._job.wait(timeout, on_progress=handler,
                                           cancel_remote=cancel_remote), on_progress)

    def result(
        self,
        path: str | os.PathLike[str],
        *,
        variant: str = "video",
        on_progress: EventHandler | None = None,
        timeout: float | None = None,
        cancel_remote: bool = False,
        index: int = 0,
    ) -> Path:
        """Wait for the job, then download ``variant`` to ``path``; return the saved path.

        ``timeout`` is one deadline for polling and downloading together. The file at
        ``path`` appears only when complete: on any failure, and on Ctrl-C, no partial
        file is left behind.
        """
        return self._follow(
            lambda handler: self._job.result(path, variant=variant, on_progress=handler,
                                             timeout=timeout, cancel_remote=cancel_remote,
                                             index=index), on_progress)

    def events(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        variant: str = "video",
        timeout: float | None = None,
        cancel_remote: bool = False,
        index: int = 0,
    ) -> Iterator[JobEvent]:
        """Drive the job and yield its lifecycle events, as :meth:`Job.events` does.

        The job advances only as far as the events taken so far. Leaving the loop early
        closes the iterator when it is garbage-collected; ``with
        contextlib.closing(job.events(path)) as events:`` closes it (and removes the
        temporary file) at once.
        """

        async def run(emit: Emit[JobEvent]) -> None:
            async with aclosing(self._job.events(path, variant=variant, timeout=timeout,
                                                 cancel_remote=cancel_remote,
                                                 index=index)) as stream:
                async for event in stream:
                    await emit(event)

        return self._iterate(run)

    def _iterate(self, run: Callable[[Emit[JobEvent]], Awaitable[None]]) -> Generator[JobEvent, None, None]:
        with self._resumable():
            yield from self._runtime.stream(run)

    def _follow(self, call: Callable[[ProgressHandler | None], Awaitable[R]],
                on_progress: EventHandler | None) -> R:
        """Run ``call(handler)`` in the portal; ``on_progress`` (if any) runs here, per event."""
        handler = None if on_progress is None else _plain(on_progress)  # checked before any work
        with self._resumable():
            if handler is None:
                return self._runtime.call(call, None)

            async def start(emit: Emit[JobEvent]) -> R:
                return await call(emit)

            return self._runtime.drive(start, handler)

    @contextmanager
    def _resumable(self) -> Iterator[None]:
        try:
            yield
        except KeyboardInterrupt as exc:
            if hasattr(exc, "job_id"):
                raise
            raise interrupted(self.id, self.resume_with) from None


class SyncVideoJob(SyncJob[Video]):
    """A Sora 2 job, blocking: the twin of :class:`~foundry_video.resources.videos.VideoJob`."""

    @property
    def video(self) -> Video | None:
        """The last :class:`~foundry_video.Video` seen (from create, retrieve or polling);
        ``None`` before the first response of a re-attached job."""
        return self._job.latest


class SyncGenerationJob(SyncJob[VideoGenerationJob]):
    """A Sora 1 job, blocking: the twin of :class:`~foundry_video.GenerationJob`.

    ``job.result(path)`` downloads generation 0 (``index=`` picks another);
    :meth:`result_all` downloads every generation. Resume with
    ``client.generation_jobs.job(job_id)``.
    """

    _job: GenerationJob

    def __init__(self, runtime: Runtime, job: GenerationJob) -> None:
        super().__init__(runtime, job)

    @property
    def generations(self) -> list[VideoGeneration]:
        """The generations of the last seen job object (empty until it succeeded)."""
        return self._job.generations

    def result_all(
        self,
        directory: str | os.PathLike[str],
        *,
        variant: str = "video",
        prefix: str | None = None,
        on_progress: EventHandler | None = None,
        timeout: float | None = None,
        cancel_remote: bool = False,
    ) -> list[Path]:
        """Wait for the job, then download every generation into ``directory``.

        Files are named ``<prefix>_1.mp4``, ``<prefix>_2.mp4``, ... (``.jpg`` for
        thumbnails); ``prefix`` defaults to the job id. Returns the saved paths.
        """
        return self._follow(
            lambda handler: self._job.result_all(directory, variant=variant, prefix=prefix,
                                                 on_progress=handler, timeout=timeout,
                                                 cancel_remote=cancel_remote), on_progress)


_ASYNC_HANDLER = ("on_progress of a SyncVideoClient job must be a plain function, not an async "
                  "one (it is called in your thread)")


def _plain(handler: EventHandler) -> EventHandler:
    """``handler``, refusing an ``async def`` one (its coroutine would never run)."""
    if not callable(handler):
        raise TypeError(f"on_progress must be a function, got {type(handler).__name__}")
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            type(handler).__call__):  # an object with an async __call__, too
        raise TypeError(_ASYNC_HANDLER)

    def call(event: JobEvent) -> None:
        outcome = handler(event)
        if inspect.isawaitable(outcome):
            if inspect.iscoroutine(outcome):
                outcome.close()
            raise TypeError(_ASYNC_HANDLER)

    return call
