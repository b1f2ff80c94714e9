"""State of the Sora 1 preview jobs API: :class:`GenerationJob` and its generations.

Like the Sora 2 :class:`~foundry_video.emulator.VideoJob`, a job's status is *derived from
the clock*, so advancing a :class:`~foundry_video._clock.ManualClock` moves every job:

====================  =========================================================
``queued``            the first ``queue_seconds`` after creation
``preprocessing``     the first 20 % of ``job_seconds``
``running``           the next 60 %
``processing``        the last 20 %
``succeeded``         from ``created + queue_seconds + job_seconds`` on, or
``failed``            ... when a fault decided so (``failure_reason`` set), or
``cancelled``         ... when a fault with ``code="cancelled"`` decided so
====================  =========================================================

The order is the one Microsoft's quickstart observed (api-spec.md §4.3, [AZ-QS]); the
split of ``job_seconds`` is the emulator's choice (the service documents no durations).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from ._state import EmulatorState, JobStore, TimedJob

__all__ = [
    "JOB_STATUSES",
    "STORE_NAME",
    "TERMINAL_STATUSES",
    "GenerationJob",
    "JobStatus",
    "generation_jobs",
    "new_ulid_id",
]

JobStatus = Literal[
    "preprocessing", "queued", "running", "processing", "cancelled", "succeeded", "failed"
]
JOB_STATUSES: tuple[str, ...] = (
    "preprocessing", "queued", "running", "processing", "cancelled", "succeeded", "failed",
)
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
STORE_NAME = "generation_jobs"
"""Name of the Sora 1 job store in ``ctx.state.stores``."""

CANCELLED = "cancelled"
"""``failure_reason`` value that makes a job end ``cancelled`` instead of ``failed``."""

# Fractions of job_seconds spent in preprocessing and running; processing gets the rest.
_PREPROCESSING = 0.2
_RUNNING = 0.6

# Crockford base32, lowercase: the ids in Microsoft's examples ("task_01jwcet0eje35tc5jy54yjax5q")
# are ULIDs, i.e. 10 characters of millisecond timestamp then 16 random ones.
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_ulid_id(prefix: str, now: float) -> str:
    """``prefix`` + a 26-character lowercase ULID whose time part is ``now`` (clock seconds)."""
    value = (max(0, int(now * 1000)) & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    chars = [_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return prefix + "".join(chars)


@dataclass(eq=False)
class GenerationJob(TimedJob):
    """One Sora 1 video generation job (``task_...``) and its generations (``gen_...``).

    ``generation_ids`` are allocated at creation so they stay stable, but they are only
    published (in ``generations`` and on ``GET /video/generations/{id}``) once the job has
    succeeded. Times are the emulator clock's Unix seconds (floats). ``id``, the timing
    fields, ``expired_at`` and ``seq`` come from :class:`TimedJob` (keyword-only).
    """

    model: str
    prompt: str
    width: int
    height: int
    n_seconds: int
    n_variants: int
    generation_ids: list[str] = field(default_factory=list)
    inpaint_items: list[dict[str, Any]] | None = None
    failure_reason: str | None = None
    """Decided at creation (or by an injected fault); shown once the job is terminal."""

    @property
    def purge_at(self) -> float:
        """When the service deletes the job record ("jobs are available for up to 24 h")."""
        return self.created + self.retention_seconds

    def status(self, now: float) -> JobStatus:
        """The status at clock time ``now``."""
        running_since = self.created + self.queue_seconds
        if now < running_since:
            return "queued"
        if now < self.finishes:
            frac = (now - running_since) / self.job_seconds
            if frac < _PREPROCESSING:
                return "preprocessing"
            return "running" if frac < _PREPROCESSING + _RUNNING else "processing"
        if self.failure_reason == CANCELLED:
            return "cancelled"
        return "failed" if self.failure_reason is not None else "succeeded"

    def _expiry_shown(self, now: float) -> bool:
        """Once terminal (null before, as in [AZ-QS]'s example).

        UNCERTAIN: the spec's example shows it only on a succeeded job; failed and cancelled
        jobs are deleted after the same 24 h, so they carry it too.
        """
        return self.status(now) in TERMINAL_STATUSES

    def generation_index(self, generation_id: str) -> int | None:
        """The variant index of ``generation_id`` (its render seed), if it is one of ours."""
        try:
            return self.generation_ids.index(generation_id)
        except ValueError:
            return None

    def generation_json(self, index: int) -> dict[str, Any]:
        """The VideoGeneration object (all eight fields are required in [AZ-SPEC])."""
        return {
            "object": "video.generation",
            "id": self.generation_ids[index],
            "job_id": self.id,
            "created_at": math.floor(self.finishes),
            "width": self.width,
            "height": self.height,
            "n_seconds": self.n_seconds,
            "prompt": self.prompt,
        }

    def to_json(self, now: float, *, initial: bool = False) -> dict[str, Any]:
        """The VideoGenerationJob object; nullable optional fields are sent as ``null``.

        ``initial``: as returned by create (always ``queued``, like [AZ-QS]'s example).
        """
        status: JobStatus = "queued" if initial else self.status(now)
        terminal = status in TERMINAL_STATUSES
        generations = (
            [self.generation_json(i) for i in range(len(self.generation_ids))]
            if status == "succeeded"
            else []
        )
        return {
            "object": "video.generation.job",
            "id": self.id,
            "status": status,
            "created_at": self.created_at,
            "finished_at": math.floor(self.finishes) if terminal else None,
            "expires_at": None if initial else self.expires_at(now),
            "generations": generations,
            "prompt": self.prompt,
            "model": self.model,
            "n_variants": self.n_variants,
            "n_seconds": self.n_seconds,
            "height": self.height,
            "width": self.width,
            "inpaint_items": self.inpaint_items,
            "failure_reason": self.failure_reason if status == "failed" else None,
        }


def generation_jobs(state: EmulatorState) -> JobStore[GenerationJob]:
    """The Sora 1 job store of an :class:`EmulatorState` (``emu.ctx.state``)."""
    store: JobStore[GenerationJob] = state.store(STORE_NAME)
    return store
