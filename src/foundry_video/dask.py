"""Generate a batch of videos on a Dask cluster, inside one cluster-wide limit.

Needs the ``dask`` extra (``pip install "foundry-video[dask]"``, which installs
``distributed``) on the driver and on every worker. ::

    from distributed import Client
    from foundry_video.dask import generate_videos

    with Client("tcp://scheduler:8786") as dask_client:
        requests = [{"prompt": p, "size": "1280x720", "seconds": 8} for p in prompts]
        for outcome in generate_videos(dask_client, requests, out_dir="/shared/videos",
                                       max_in_flight=8):
            print(outcome.key, outcome.path if outcome.ok else outcome.error)

How it works:

* **One task per video**, an ``async def`` that runs on a worker's event loop with that
  worker's own :class:`~foundry_video.VideoClient` (built once per worker process by
  ``client_factory``, :meth:`VideoClient.from_env` by default: set
  ``AZURE_OPENAI_ENDPOINT`` on the workers and prefer Entra ID over shipping keys).
  Give workers enough task slots (``--nthreads``): a task holds one for the whole job.
* **One cluster-wide limit**: a :class:`distributed.Semaphore` named ``limit_name`` with
  ``max_in_flight`` leases. The driver acquires a lease *before* it submits an item and
  releases it only when the item's task has finished (the job ended and its file is saved),
  so every batch that uses the same name on the same scheduler shares the limit. The driver
  holds the leases, not the workers, so a worker that dies mid-job does not free its slot
  while its job still runs at the service: the slot stays taken until the rescheduled task
  has resumed that job and finished it.
* **Resumed by id, never created twice**: every item has a key (``keys=``, or a digest of
  its request) and a :class:`~foundry_video.journal.JobJournal` of its own,
  ``<state_dir>/<key>.jsonl``. Before the create request is sent, an *intent* file
  ``<state_dir>/<key>.creating`` is written (fsynced); once the service answers, the job id is
  journaled and the intent removed. A retried task (worker killed, Dask ``retries``, or a
  re-run of the whole batch) resumes the journaled job by id. If it finds an intent but no
  id (the worker died between sending the create and journaling its answer), it looks for
  that job with ``client.videos.list()`` — same prompt and parameters, created since the
  intent, not claimed by another item — and adopts it; only if none appears within
  ``reconcile_grace`` seconds of the intent is the job created again.
* **Results as they finish**: :func:`generate_videos` yields a :class:`VideoOutcome` per
  item in completion order. Typed errors (:class:`~foundry_video.JobFailedError`,
  :class:`~foundry_video.ContentPolicyError`, ``ValueError`` ...) come back in
  ``outcome.error``; transient ones (connection, 5xx, timeouts) make Dask retry the task
  (``retries=``), which resumes the job, and end in ``outcome.error`` only after that.

Remaining windows, documented rather than hidden: a create request that reaches the
service more than ``reconcile_grace`` seconds after its intent was written (a stalled
worker) can be created a second time; two items with identical requests are
interchangeable when an orphaned job is reconciled; and if the *driver* dies, its leases
lapse after ``distributed.scheduler.locks.lease-timeout`` (30 s by default) while the jobs it
started may still run (run the batch again to resume them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed import Future, Semaphore

from ._client import VideoClient
from ._dask_tasks import RUN_ITEM, ClientPlugin, Item, ItemResult, started

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["VideoOutcome", "generate_videos"]

_LEASE_POLL = 0.25
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class VideoOutcome:
    """What became of one item of :func:`generate_videos`.

    Attributes:
        index: the item's position in ``requests``.
        key: the item's key (its journal and intent files, and its file name).
        request: the ``client.videos.create`` keyword arguments given for it.
        job_id: the service's job id, once one was created (also on most errors: resume it).
        path: the saved video, or ``None`` on error.
        error: the exception the item ended with, or ``None``.
        resumed: the job was started by an earlier attempt (a killed or retried task, or a
            previous run) and picked up by id, not created again.
    """

    index: int
    key: str
    request: Mapping[str, Any]
    job_id: str | None = None
    path: Path | None = None
    error: BaseException | None = None
    resumed: bool = False

    @property
    def ok(self) -> bool:
        """True when the video was saved."""
        return self.error is None and self.path is not None


def generate_videos(
    dask_client: Client,
    requests: Iterable[Mapping[str, Any]],
    *,
    out_dir: str | os.PathLike[str],
    state_dir: str | os.PathLike[str] | None = None,
    max_in_flight: int = 8,
    limit_name: str = "foundry-video",
    client_factory: Callable[[], VideoClient] = VideoClient.from_env,
    keys: Iterable[str] | None = None,
    timeout: float | None = None,
    retries: int = 2,
    reconcile_grace: float = 30.0,
) -> Iterator[VideoOutcome]:
    """Create, wait for and download one video per request on the cluster's workers.

    Args:
        dask_client: a synchronous :class:`distributed.Client`.
        requests: keyword arguments for ``client.videos.create`` (``{"prompt": ...}``), one
            mapping per video. They travel to the workers: give ``input_reference`` as
            bytes, or as a path that exists on every worker.
        out_dir: where each video is saved, as ``<key>.mp4``; a directory every worker
            can write (a shared filesystem on a real cluster).
        state_dir: the journals and intents (default ``<out_dir>/.foundry-video``); shared
            like ``out_dir``. Keep it to resume the batch after a crash: run the same call
            again and finished items return at once, started ones resume by id.
        max_in_flight: the cluster-wide limit on jobs in flight, shared by every batch that
            uses the same ``limit_name`` on this scheduler (and must agree on this number).
        limit_name: the name of the :class:`distributed.Semaphore` that holds the limit;
            one per service resource (its quota is per resource).
        client_factory: builds each worker's client, called on the worker; it is pickled,
            so prefer a function or ``functools.partial`` over a closure holding a key.
        keys: one unique key per request (letters, digits, ``.``, ``_``, ``-``), e.g. your
            own record ids; default: a digest of each request (a repeated request gets
            ``-2``, ``-3`` ... in input order).
        timeout: seconds allowed for each job's polling plus download.
        retries: how often Dask re-runs a task that failed transiently (each run resumes
            the job by id). Tasks of a dead worker are rescheduled without counting.
        reconcile_grace: seconds after an orphaned intent before its item may be created
            again (see the module docstring).

    Returns:
        An iterator of :class:`VideoOutcome`, in completion order. Closing it early
        cancels the tasks still running (their jobs keep running at the service, journaled
        for a later run) and returns their leases.

    Raises:
        ValueError: before anything is submitted, for a request that is not a mapping with
            a string ``prompt``, a bad or repeated key, or a bad limit.
    """
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
        raise ValueError("max_in_flight must be a positive integer")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError("retries must be a non-negative integer")
    if reconcile_grace < 0:
        raise ValueError("reconcile_grace must be >= 0")
    prepared = _prepare(requests, keys)
    out = Path(out_dir).expanduser().absolute()
    state = Path(state_dir).expanduser().absolute() if state_dir is not None \
        else out / ".foundry-video"
    out.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    plugin = f"foundry-video-client-{uuid.uuid4().hex[:12]}"
    items = [Item(key, request, fingerprint, str(out / f"{key}.mp4"), str(state), plugin,
                  timeout, reconcile_grace)
             for key, request, fingerprint in prepared]
    return _drive(dask_client, items, ClientPlugin(client_factory), max_in_flight,
                  limit_name, retries)


def _drive(dask_client: Client, items: list[Item], plugin: ClientPlugin,
           max_in_flight: int, limit_name: str, retries: int) -> Iterator[VideoOutcome]:
    """The driver loop: a lease per submitted item, released when its task ends."""
    semaphore = Semaphore(max_leases=max_in_flight, name=limit_name,
                          scheduler_rpc=dask_client.scheduler, loop=dask_client.loop)
    name = items[0].plugin if items else ""
    if items:
        dask_client.register_plugin(plugin, name=name)
    todo = deque(enumerate(items))
    finished: queue.SimpleQueue[Future[ItemResult]] = queue.SimpleQueue()
    running: dict[Future[ItemResult], tuple[int, Item]] = {}
    held = 0
    try:
        while todo or running:
            if todo and held < max_in_flight and semaphore.acquire(timeout=_LEASE_POLL):
                held += 1
                index, item = todo.popleft()
                future: Future[ItemResult] = dask_client.submit(
                    RUN_ITEM, item, key=f"foundry-video-{item.key}-{name[-12:]}", pure=False,
                    retries=retries)
                running[future] = (index, item)
                future.add_done_callback(finished.put)
                continue
            try:
                # Block only when no lease could be taken anyway (all of ours are in use,
                # or nothing is left to submit); otherwise just look.
                done = finished.get(block=not todo or held >= max_in_flight)
            except queue.Empty:
                continue
            index, item = running.pop(done)
            held -= 1
            semaphore.release()
            yield _outcome(index, item, done)
    finally:
        if running:
            dask_client.cancel(list(running))
        for _ in range(held):
            semaphore.release()
        if items:
            with contextlib.suppress(Exception):  # the cluster may be gone already
                dask_client.unregister_worker_plugin(name)


def _outcome(index: int, item: Item, future: Future[ItemResult]) -> VideoOutcome:
    if future.status == "finished":
        result = future.result()
        return VideoOutcome(index, item.key, item.request, result.job_id, result.path,
                            result.error, result.resumed)
    try:
        error: BaseException = future.exception()
    except BaseException as exc:  # cancelled
        error = exc
    entry = started(item.journal)  # the id is not lost with the task
    return VideoOutcome(index, item.key, item.request, entry.id if entry else None,
                        error=error, resumed=False)


def _prepare(requests: Iterable[Mapping[str, Any]],
             keys: Iterable[str] | None) -> list[tuple[str, dict[str, Any], str]]:
    """Validate the input; return ``(key, request, fingerprint)`` per item."""
    prepared: list[tuple[str, dict[str, Any], str]] = []
    given = None if keys is None else list(keys)
    seen: dict[str, int] = {}
    for index, request in enumerate(requests):
        if not isinstance(request, Mapping):
            raise ValueError(f"request {index} is not a mapping of create() arguments")
        if not isinstance(request.get("prompt"), str) or not request["prompt"].strip():
            raise ValueError(f"request {index} has no prompt")
        fingerprint = _fingerprint(request)
        if given is None:
            count = seen[fingerprint] = seen.get(fingerprint, 0) + 1
            key = fingerprint[:20] + (f"-{count}" if count > 1 else "")
        else:
            if index >= len(given):
                raise ValueError(f"{len(given)} keys for more requests")
            key = given[index]
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise ValueError(f"key {key!r}: use 1 to 128 letters, digits, '.', '_' or '-' "
                                 "(not starting with '.', '_' or '-')")
            if key in seen:
                raise ValueError(f"key {key!r} is given twice")
            seen[key] = 1
        prepared.append((key, dict(request), fingerprint))
    if given is not None and len(given) != len(prepared):
        raise ValueError(f"{len(given)} keys for {len(prepared)} requests")
    return prepared


def _fingerprint(request: Mapping[str, Any]) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return "sha256:" + hashlib.sha256(value).hexdigest()
        return repr(value)

    text = json.dumps(dict(request), sort_keys=True, default=encode)
    return hashlib.sha256(text.encode()).hexdigest()


