"""The worker side of :mod:`foundry_video.dask`: one task per item, and its client.

Kept apart from the driver so what runs where is plain. Every function here runs on a Dask
worker's event loop; the module docstring of :mod:`foundry_video.dask` explains the intent
file, the journal and the reconciliation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from ._client import VideoClient
from ._errors import APIStatusError
from .journal import TERMINAL_ERRORS, JobJournal, JournalEntry

if TYPE_CHECKING:
    from distributed.worker import Worker

    from .models import Video
    from .resources.videos import VideoJob

RECONCILE_SKEW = 300.0
"""Seconds the service's clock may disagree with a worker's when reconciling an intent."""
_FINAL_STATUS = frozenset({400, 401, 403, 404, 422})
"""Answers after which retrying the task cannot help (408, 409, 429 and 5xx can)."""
_FINAL_ERRORS: tuple[type[BaseException], ...] = (ValueError, *TERMINAL_ERRORS)
"""Errors a task returns in its outcome instead of raising them for Dask to retry."""


@dataclass(frozen=True)
class Item:
    """Everything a worker needs for one item (pickled to it)."""

    key: str
    request: dict[str, Any]
    fingerprint: str
    output: str
    state_dir: str
    plugin: str
    timeout: float | None
    reconcile_grace: float

    @property
    def journal(self) -> JobJournal:
        return JobJournal(Path(self.state_dir) / f"{self.key}.jsonl")

    @property
    def intent(self) -> Path:
        return Path(self.state_dir) / f"{self.key}.creating"


@dataclass(frozen=True)
class ItemResult:
    job_id: str | None
    path: Path | None
    resumed: bool
    error: BaseException | None = None


class ClientPlugin(WorkerPlugin):
    """Gives each worker process one :class:`~foundry_video.VideoClient`, closed on teardown.

    Registered by :func:`generate_videos` for the length of a batch; ``factory`` is
    pickled to the workers and called there on first use.
    """

    def __init__(self, factory: Callable[[], VideoClient]) -> None:
        self.factory = factory
        self._client: VideoClient | None = None

    def client(self) -> VideoClient:
        """This worker's client (built on first use, on the worker's event loop)."""
        if self._client is None:
            self._client = self.factory()
        return self._client

    async def teardown(self, worker: Worker) -> None:
        """Close the client, if one was built."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"factory": self.factory, "_client": None}


async def run_item(item: Item) -> ItemResult:
    """Create (or resume, or adopt) the item's job, then wait and download it."""
    worker_plugin = get_worker().plugins[item.plugin]
    assert isinstance(worker_plugin, ClientPlugin)
    journal = item.journal
    output = Path(item.output)
    entry = started(journal)
    resumed = entry is not None
    job_id = entry.id if entry is not None else None
    try:
        client = worker_plugin.client()  # a factory's ValueError (no endpoint) is final too
        if entry is not None and entry.params.get("fingerprint") != item.fingerprint:
            raise ValueError(f"{journal.path} belongs to another request; "
                             "give this one another key or state_dir")
        job: VideoJob | None = None  # the created one knows its status: no extra request
        if entry is None:
            job_id = await _adopt(client, item)
            resumed = job_id is not None
            if job_id is None:
                job = await _create(client, item)
                job_id = job.id
            journal.record(job_id, output=output,
                           params={"key": item.key, "fingerprint": item.fingerprint})
        item.intent.unlink(missing_ok=True)  # spent (or left by a worker killed just here)
        if entry is not None and entry.status == "done" and output.is_file():
            return ItemResult(job_id, output, resumed)
        assert job_id is not None
        # A part file a killed worker left for this output is resumed by the download
        # (same content, same part file name); abandoned ones are swept after the save.
        path = await journal.finish(job or client.videos.job(job_id), output=output,
                                    timeout=item.timeout)
        return ItemResult(job_id, path, resumed)
    except _FINAL_ERRORS as exc:
        return ItemResult(job_id, None, resumed, exc)
    except APIStatusError as exc:
        if exc.status_code in _FINAL_STATUS:
            return ItemResult(job_id, None, resumed, exc)
        raise  # 408/409/429/5xx: let Dask retry the task, which resumes the job


RUN_ITEM = cast("Callable[[Item], ItemResult]", run_item)
"""What Dask sees: it runs a coroutine function on the worker's event loop and returns its
result (its ``submit`` is typed for plain functions only)."""


async def _create(client: VideoClient, item: Item) -> VideoJob:
    """Write the intent, then send the create request; return the new job."""
    _write_intent(item.intent, client.clock.time(), item.fingerprint)
    try:
        job = await client.videos.create(**item.request)
    except APIStatusError as exc:
        if exc.status_code in _FINAL_STATUS:  # answered: no job was created
            item.intent.unlink(missing_ok=True)
        raise
    except ValueError:  # refused locally: nothing was sent
        item.intent.unlink(missing_ok=True)
        raise
    return job


def _write_intent(path: Path, at: float, fingerprint: str) -> None:
    temp = path.with_suffix(".creating.tmp")
    with temp.open("w", encoding="utf-8") as handle:
        json.dump({"v": 1, "at": at, "fingerprint": fingerprint}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _read_intent(path: Path) -> float | None:
    """When the intent was written, or ``None`` without one (a torn file: its mtime)."""
    try:
        text = path.read_text(encoding="utf-8")
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        at = json.loads(text)["at"]
        return float(at)
    except (ValueError, KeyError, TypeError):
        return mtime


async def _adopt(client: VideoClient, item: Item) -> str | None:
    """The job an earlier attempt created but did not journal, if any (see the module doc)."""
    intent = _read_intent(item.intent)
    if intent is None:
        return None
    claimed = {entry.id for path in Path(item.state_dir).glob("*.jsonl")
               for entry in JobJournal(path).entries().values()}
    found = await _find_job(client, item.request, intent, claimed)
    wait = intent + item.reconcile_grace - client.clock.time()
    if found is None and wait > 0:  # the create may still be on its way to the service
        await client.clock.sleep(wait)
        found = await _find_job(client, item.request, intent, claimed)
    return found


async def _find_job(client: VideoClient, request: Mapping[str, Any], since: float,
                    claimed: set[str]) -> str | None:
    best: tuple[float, str] | None = None
    async for video in client.videos.list(order="desc", limit=100):
        created = video.created_at.timestamp() if video.created_at else None
        if created is not None and created < since - RECONCILE_SKEW:
            break
        if video.id not in claimed and _matches(video, request):
            distance = abs((created or since) - since)
            if best is None or distance < best[0]:
                best = (distance, video.id)
    return best[1] if best else None


def _matches(video: Video, request: Mapping[str, Any]) -> bool:
    """Whether ``video`` could be the job ``request`` created (the fields the service echoes)."""
    if video.prompt != request["prompt"] or video.remixed_from_video_id is not None:
        return False
    for name in ("model", "size", "seconds"):
        wanted = request.get(name)
        if wanted is not None and str(getattr(video, name)) != str(wanted):
            return False
    return True


def started(journal: JobJournal) -> JournalEntry | None:
    """The item's journaled job (the latest, should there be more than one)."""
    entries = list(journal.entries().values())
    return entries[-1] if entries else None

