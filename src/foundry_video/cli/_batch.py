"""``foundry-video batch prompts.jsonl -o out/``: many videos, resumable after a crash.

Each line of the input is a JSON object of ``create`` arguments (``prompt``, ``model``,
``size``, ``seconds``, ``image``) and an optional ``name`` for the output file (default:
the line number, ``0001.mp4``). All lines are checked before anything is sent.

The batch runs on :func:`~foundry_video._batch.create_many` and keeps a
:class:`~foundry_video.journal.JobJournal` in the output directory: an ``intent`` before
each create, the job id once created, ``done``/``failed`` at the end. ``--resume`` reads
it back: finished items are skipped, started jobs are waited for again (not re-created),
and a create whose id never reached the journal (the process died while it was in
flight) is found again among the service's recent videos before anything is re-sent.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..capabilities import GENERIC, CapabilityTable
from ._batch_display import BatchProgress, summary
from ._checks import UsageError, check_output_dir, warn_unknown
from ._parser import (
    command,
    connection_options,
    int_between,
    json_option,
    waiting_options,
)

if TYPE_CHECKING:
    from .._batch import BatchResult
    from .._client import VideoClient
    from ..journal import JobJournal, JournalEntry
    from ..resources.videos import VideoJob, Videos
    from ._parser import Commands
    from ._session import Session

__all__ = ["JOURNAL_NAME", "register"]

JOURNAL_NAME = ".foundry-video-batch.jsonl"
LOCK_NAME = ".foundry-video-batch.lock"
FIELDS = frozenset({"prompt", "model", "size", "seconds", "image", "name"})
MAX_INPUT_BYTES = 64 << 20
RECONCILE_SKEW = 300.0
"""Seconds of clock difference allowed between this machine and the service."""


def register(commands: Commands) -> None:
    """Add the ``batch`` command."""
    batch = command(commands, "batch", "create many videos from a JSONL file, resumably", run,
                    description="Create one video per line of a JSON Lines file and save them "
                                "into a directory. A journal in that directory makes --resume "
                                "continue after a crash or Ctrl-C without creating any job "
                                "twice.")
    batch.add_argument("file", type=Path,
                       help='JSON Lines: {"prompt": ..., "size": ..., "seconds": ..., '
                            '"model": ..., "image": ..., "name": ...} per line')
    batch.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                       help="directory for the videos and the batch journal")
    batch.add_argument("--concurrency", type=int_between(1, 64), default=4, metavar="N",
                       help="jobs in flight at once")
    batch.add_argument("--resume", action="store_true",
                       help="continue the batch journaled in the output directory")
    waiting_options(batch)
    json_option(batch)
    connection_options(batch)


@dataclass
class Item:
    """One line of the input and what became of it."""

    line: int
    name: str
    request: dict[str, Any]
    """The ``create`` arguments as given (JSON-safe: the image is a path string)."""
    output: Path
    job_id: str | None = None
    status: str = "pending"
    """``pending``, ``done``, ``failed`` or ``unfinished`` (resume to finish it)."""
    error: str | None = None
    note: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """What the journal keeps about the item (never a key)."""
        return {"batch_key": self.name, "line": self.line, "request": self.request}


# -- reading the input ---------------------------------------------------------------------


def read_items(path: Path, out_dir: Path, table: CapabilityTable,
               warn: Callable[[str], None]) -> list[Item]:
    """Parse and check every line; raise :class:`UsageError` naming the first bad line."""
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise UsageError(f"{path} is larger than {MAX_INPUT_BYTES >> 20} MiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    items: list[Item] = []
    names: dict[str, int] = {}
    warned: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{where}: expected a JSON object")
        unknown = sorted(set(data) - FIELDS)
        if unknown:
            raise UsageError(f"{where}: unknown field {unknown[0]!r}; allowed: "
                             f"{', '.join(sorted(FIELDS))}")
        item = _item(where, number, data, path.parent, out_dir, table, warn, warned)
        if item.name in names:
            raise UsageError(f"{where}: name {item.name!r} is already used on line "
                             f"{names[item.name]}")
        names[item.name] = number
        items.append(item)
    if not items:
        raise UsageError(f"{path}: no requests (one JSON object per line)")
    return items


def _item(where: str, number: int, data: dict[str, Any], base: Path, out_dir: Path,
          table: CapabilityTable, warn: Callable[[str], None], warned: set[str]) -> Item:
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        raise UsageError(f"{where}: 'prompt' must be a string")
    model = data.get("model", "sora-2")
    size, seconds = data.get("size"), data.get("seconds")
    if not isinstance(model, str) or not model.strip():
        raise UsageError(f"{where}: 'model' must be a non-empty string")
    if size is not None and not isinstance(size, str):
        raise UsageError(f"{where}: 'size' must be a string such as \"1280x720\"")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, str)) \
                or not str(seconds).isdigit():
            raise UsageError(f"{where}: 'seconds' must be a whole number")
        seconds = int(seconds)
    caps = table.resolve(model)
    if caps is not None and caps.api != "videos":
        raise UsageError(f"{where}: {model!r} is a Sora 1 model; batch creates Sora 2 videos")
    if caps is None and model not in warned:
        warned.add(model)
        warn(f"{where}: {warn_unknown(table, model)}")
    try:
        checks = caps or GENERIC
        checks.check_prompt(prompt)
        if size is not None:
            checks.check_size(model, size)
        if seconds is not None:
            checks.check_seconds(model, seconds)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None
    kwargs: dict[str, Any] = {"prompt": prompt, "model": model, "size": size, "seconds": seconds}
    request = {k: v for k, v in kwargs.items() if v is not None}
    image = data.get("image")
    if image is not None:
        if not isinstance(image, str) or not (base / image).is_file():
            raise UsageError(f"{where}: 'image' must name an existing file (relative to the "
                             "JSONL file)")
        kwargs["input_reference"] = base / image
        request["image"] = image
    name = data.get("name", f"{number:04d}")
    if not isinstance(name, str) or not name or name.startswith(".") or len(name) > 120 \
            or any(c in name for c in '/\\:\0'):
        raise UsageError(f"{where}: 'name' must be a plain file name (no '/', not starting "
                         "with '.')")
    output = out_dir / (name if name.lower().endswith(".mp4") else f"{name}.mp4")
    return Item(number, name, request, output, kwargs={k: v for k, v in kwargs.items()
                                                       if v is not None})


# -- the journal -----------------------------------------------------------------------------


def _restore(items: list[Item], journal: JobJournal, resume: bool, out_dir: Path) -> list[Item]:
    """Apply what the journal knows; return the items whose create may have been lost."""
    entries = journal.entries()
    intents = journal.intents()
    if (entries or intents) and not resume:
        raise UsageError(f"{out_dir} already holds a batch ({JOURNAL_NAME}): add --resume to "
                         "continue it, or choose another -o")
    if not resume:
        existing = [item.output for item in items if item.output.exists()]
        if existing:
            raise UsageError(f"{existing[0]} already exists; choose another -o (or remove it)")
    started: dict[str, JournalEntry] = {}
    for entry in entries.values():
        key = entry.params.get("batch_key")
        if isinstance(key, str):
            started[key] = entry
    intended = {str(i.params.get("batch_key")) for i in intents}
    lost: list[Item] = []
    for item in items:
        _remove_temporaries(item.output)
        known = started.get(item.name)
        if known is None:
            if item.name in intended:
                lost.append(item)
            continue
        item.job_id = known.id
        if known.status == "done" and item.output.is_file():
            item.status, item.note = "done", "earlier run"
        elif known.status == "failed":
            item.status, item.error = "failed", known.error
    return lost


def _remove_temporaries(target: Path) -> None:
    """Partial downloads a killed run left behind (the SDK's ``.NAME.*.part`` files)."""
    for stale in target.parent.glob(f".{target.name}.*.part"):
        with contextlib.suppress(OSError):
            stale.unlink()


async def _reconcile(client: VideoClient, journal: JobJournal, lost: list[Item]) -> None:
    """Find the jobs of creates that were sent but never journaled, and adopt them."""
    if not lost:
        return
    claimed = set(journal.entries())
    intents = [i for i in journal.intents()
               if i.params.get("batch_key") in {item.name for item in lost}]
    cutoff = min(i.at for i in intents) - RECONCILE_SKEW
    candidates = []
    async for video in client.videos.list(limit=100, order="desc"):
        created = video.created_at.timestamp() if video.created_at else 0.0
        if created < cutoff:
            break
        if video.id not in claimed:
            candidates.append(video)
    candidates.reverse()  # oldest first: the order the creates were sent in
    for item in lost:
        request = item.request
        for video in candidates:
            if video.prompt == request["prompt"] \
                    and ("size" not in request or video.size == request["size"]) \
                    and ("seconds" not in request or str(video.seconds) == str(request["seconds"])):
                candidates.remove(video)
                journal.record(video.id, output=item.output, params=item.params)
                item.job_id, item.note = video.id, "found on the service"
                break


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """One batch process per output directory (a killed one releases it at once)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(out_dir / LOCK_NAME, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another batch is running in {out_dir}") from None
        yield


# -- running ---------------------------------------------------------------------------------


class _Creator:
    """What ``create_many`` calls as ``videos.create``: journals each create, and hands out
    the existing job for items that already have one."""

    def __init__(self, client: VideoClient, journal: JobJournal, progress: BatchProgress) -> None:
        self.client = client
        self.journal = journal
        self.progress = progress

    async def create(self, *, item: Item) -> VideoJob:
        if item.job_id is not None:
            self.progress.event(item, f"waiting for {item.job_id} ({item.note or 'resumed'})")
            return self.client.videos.job(item.job_id)
        self.journal.record_intent(item.params)
        job = await self.journal.track(self.client.videos.create(**item.kwargs),
                                       output=item.output, params=item.params)
        item.job_id = job.id
        self.progress.event(item, f"created {job.id}")
        return job


async def run(session: Session, client: VideoClient) -> int:
    """``batch FILE -o DIR``."""
    from .._batch import create_many
    from ..journal import TERMINAL_ERRORS, JobJournal

    args = session.args
    out_dir = check_output_dir(args.output)
    items = read_items(args.file, out_dir, client.capabilities, session.warn)
    words = ["foundry-video", "batch", str(args.file), "-o", str(out_dir), "--resume",
             *session.connection_flags()]
    with _exclusive(out_dir):
        journal = JobJournal(out_dir / JOURNAL_NAME)
        lost = _restore(items, journal, args.resume, out_dir)
        session.resume_hint = f"The batch can continue. Resume with:\n  {shlex.join(words)}"
        await _reconcile(client, journal, lost)
        todo = [item for item in items if item.status == "pending"]
        with BatchProgress(session, items) as progress:

            def on_result(result: BatchResult[Any]) -> None:
                item: Item = result.item["item"]
                if result.error is None:
                    item.status = "done"
                    journal.mark_done(item.job_id or "")
                else:
                    item.error = session.redact(_first_line(result.error))
                    terminal = result.job is None or isinstance(result.error, TERMINAL_ERRORS)
                    item.status = "failed" if terminal else "unfinished"
                    if result.job is not None and isinstance(result.error, TERMINAL_ERRORS):
                        journal.mark_failed(result.job.id, session.redact(
                            f"{type(result.error).__name__}: {result.error}"))
                progress.finished(item)

            creator = _Creator(client, journal, progress)
            await create_many(cast("Videos", creator), [{"item": item} for item in todo],
                              concurrency=args.concurrency, download_dir=out_dir,
                              filename=lambda index, _job_id: todo[index].output.name,
                              timeout=session.opt("timeout"), on_result=on_result)
    summary(session, items)
    if any(item.status == "unfinished" for item in items):
        session.err(session.resume_hint)
    session.resume_hint = None
    return 0 if all(item.status == "done" for item in items) else 1


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
