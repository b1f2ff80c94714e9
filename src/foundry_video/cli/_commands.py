"""The job commands: generate, status, wait, download, list, delete, remix, edit, extend."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..models import GENERATION_VARIANT_SUFFIX, VARIANT_SUFFIX
from ._checks import UsageError, check_output, check_output_dir, warn_unknown
from ._parser import (
    command,
    connection_options,
    int_between,
    json_option,
    positive_float,
    waiting_options,
)

if TYPE_CHECKING:
    from .._client import VideoClient
    from .._job import Job
    from ..resources.generation_jobs import GenerationJob
    from ._parser import Commands
    from ._session import Session

__all__ = ["register"]

T = TypeVar("T")
VARIANTS = tuple(VARIANT_SUFFIX)


def register(commands: Commands) -> None:
    """Add the job commands to the parser."""
    gen = command(commands, "generate", "create a video job, wait for it and download the result",
                  generate)
    gen.add_argument("prompt", help="what the video shows")
    _output(gen, "the MP4 to write (Sora 1 with --variants N: NAME_1.mp4, NAME_2.mp4, ...)",
            "<job id>.mp4")
    gen.add_argument("--model", default="sora-2",
                     help="the model; on Azure the deployment name")
    gen.add_argument("--base-model", metavar="MODEL",
                     help="the model behind a deployment name given with --model (e.g. sora-2), "
                          "so its limits are checked before anything is sent")
    gen.add_argument("--size", metavar="WxH",
                     help="WIDTHxHEIGHT, e.g. 1280x720 (default: the model's)")
    gen.add_argument("--seconds", type=int_between(1, 600), metavar="N",
                     help="duration in seconds (default: the model's)")
    gen.add_argument("--image", type=Path, metavar="FILE",
                     help="the image the video starts from (Sora 1: an image or an MP4)")
    gen.add_argument("--variants", type=int_between(1, 4), default=1, metavar="N",
                     help="number of videos from one job (Sora 1 only)")
    gen.add_argument("--api", choices=["auto", "sora2", "sora1"], default="auto",
                     help="the API the model uses; auto: from the capability table "
                          "(sora = Sora 1)")
    gen.add_argument("--no-download", action="store_true",
                     help="only create the job and wait for it")
    waiting_options(gen)
    json_option(gen)
    connection_options(gen)

    status_cmd = command(commands, "status", "show a job's status", status)
    _job_id(status_cmd)
    json_option(status_cmd)
    connection_options(status_cmd)

    wait_cmd = command(commands, "wait",
                       "wait for an existing job (resume after Ctrl-C or --timeout) and "
                       "download it", wait)
    _job_id(wait_cmd)
    _output(wait_cmd, "the file to write (Sora 1 with several variants: NAME_1.mp4, ...)",
            "<job id>.mp4")
    _variant(wait_cmd)
    waiting_options(wait_cmd)
    json_option(wait_cmd)
    connection_options(wait_cmd)

    down = command(commands, "download", "download a completed video", download)
    down.add_argument("id", help="a Sora 2 video id (video_...) or a Sora 1 generation id "
                                 "(gen_...)")
    _output(down, "the file to write", "<id> + .mp4/.webp/.jpg")
    _variant(down)
    down.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                      help="give up the download after this many seconds")
    json_option(down)
    connection_options(down)

    listing = command(commands, "list", "list recent jobs, newest first", list_jobs)
    listing.add_argument("--limit", type=int_between(1, 100), default=20, help="at most this many")
    listing.add_argument("--api", choices=["all", "sora2", "sora1"], default="all",
                         help="which jobs: Sora 2 videos, Sora 1 generation jobs, or both")
    json_option(listing)
    connection_options(listing)

    delete_cmd = command(commands, "delete", "delete a job and its files on the service", delete)
    _job_id(delete_cmd)
    json_option(delete_cmd)
    connection_options(delete_cmd)

    for name, summary in (("remix", "remix a completed video with a new prompt"),
                          ("edit", "edit a completed video with a prompt (newer than remix)"),
                          ("extend", "extend a completed video by more seconds")):
        derived = command(commands, name, summary, derive)
        derived.add_argument("id", help="the completed source video (video_...)")
        derived.add_argument("prompt", help="what to change, or what happens next (extend)")
        if name == "extend":
            derived.add_argument("--seconds", required=True, type=int_between(1, 600),
                                 metavar="N", help="length of the added segment")
        _output(derived, "the MP4 to write", "<new job id>.mp4")
        derived.add_argument("--no-download", action="store_true",
                             help="only create the job and wait for it")
        waiting_options(derived)
        json_option(derived)
        connection_options(derived)


def _job_id(parser: Any) -> None:
    parser.add_argument("id", help="the job id: video_... (Sora 2) or task_... (Sora 1)")


def _output(parser: Any, text: str, default: str) -> None:
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help=f"{text} (default: {default})")


def _variant(parser: Any) -> None:
    parser.add_argument("--variant", choices=VARIANTS, default="video",
                        help="what to download (Sora 1 has video and thumbnail)")


def _is_sora1_id(job_id: str) -> bool:
    # Sora 1 job ids look like task_01jwcet0..., Sora 2 ones like video_68f10....
    return job_id.startswith("task_")


# -- waiting and reporting ------------------------------------------------------------------


class _Deadline:
    """What is left of ``--timeout`` across several waits."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

    def left(self) -> float | None:
        if self.seconds is None:
            return None
        return max(0.001, self.seconds - (time.monotonic() - self.start))


async def _follow(session: Session, job: Job[Any], output: Path | None,
                  variant: str = "video") -> list[Path]:
    """Wait for a Sora 2 job (and download it) with a progress display."""
    from .._progress_ui import ProgressUI

    session.track(job.id, output)
    timeout = session.opt("timeout")
    with ProgressUI(session.stderr, enabled=not session.quiet) as ui:
        if output is None:
            await job.wait(timeout=timeout, on_progress=ui)
            return []
        return [await job.result(output, variant=variant, on_progress=ui, timeout=timeout)]


async def _follow_sora1(session: Session, job: GenerationJob, output: Path | None,
                        variant: str = "video") -> list[Path]:
    """Wait for a Sora 1 job and download *every* generation (``NAME_1.mp4``, ... if several)."""
    from .._progress_ui import ProgressUI

    session.track(job.id, output)
    deadline = _Deadline(session.opt("timeout"))
    with ProgressUI(session.stderr, enabled=not session.quiet) as ui:
        await job.wait(timeout=deadline.left(), on_progress=ui)
        if output is None:
            return []
        if len(job.generations) > 1:
            return await job.result_all(output.parent, prefix=output.stem, variant=variant,
                                        on_progress=ui, timeout=deadline.left())
        return [await job.result(output, variant=variant, on_progress=ui,
                                 timeout=deadline.left())]


def _report(session: Session, job: Job[Any], paths: list[Path], api: str) -> int:
    """The outcome of a job command, the same shape for Sora 1 and Sora 2."""
    if session.json:
        session.emit_json({"id": job.id, "api": api, "status": "completed",
                           "service_status": job.status, "path": str(paths[0]) if paths else None,
                           "paths": [str(p) for p in paths]})
    else:
        for path in paths:
            session.out(f"saved {path}")
        session.out(f"job id: {job.id}")
    return 0


def _announce(session: Session, job_id: str, output: Path | None) -> None:
    session.track(job_id, output)
    if not session.json:
        session.err(f"created job {job_id}")


# -- commands ------------------------------------------------------------------------------


async def generate(session: Session, client: VideoClient) -> int:
    """``generate PROMPT``: every local check first, then create, wait, download."""
    args = session.args
    warning = warn_unknown(client.capabilities, args.model)
    if warning is not None:
        session.warn(warning)
    sora1 = args.api == "sora1" or (args.api == "auto" and _uses_generation_jobs(client, args.model))
    if args.variants != 1 and not sora1:
        raise UsageError("--variants is a Sora 1 option; Sora 2 makes one video per job")
    output = None
    if not args.no_download:
        if args.output is not None:
            output = check_output(args.output)
        else:
            check_output_dir(Path.cwd(), what="the current directory")
    if args.image is not None and not args.image.is_file():
        raise UsageError(f"--image {args.image}: no such file")
    if sora1:
        image = args.image
        media = {} if image is None else (
            {"video": image} if image.suffix.lower() == ".mp4" else {"image": image})
        job1 = await client.generation_jobs.create(
            prompt=args.prompt, model=args.model, size=args.size,
            seconds=args.seconds if args.seconds is not None else 5, n_variants=args.variants,
            **media)
        target = output or (None if args.no_download else Path(f"{job1.id}.mp4"))
        _announce(session, job1.id, target)
        return _report(session, job1, await _follow_sora1(session, job1, target), "sora1")
    job = await client.videos.create(prompt=args.prompt, model=args.model, size=args.size,
                                     seconds=args.seconds, input_reference=args.image)
    target = output or (None if args.no_download else Path(f"{job.id}.mp4"))
    _announce(session, job.id, target)
    return _report(session, job, await _follow(session, job, target), "sora2")


def _uses_generation_jobs(client: VideoClient, model: str) -> bool:
    caps = client.capabilities.resolve(model)
    return caps is not None and caps.api == "generation_jobs"


async def status(session: Session, client: VideoClient) -> int:
    """``status ID``."""
    job_id = session.args.id
    if _is_sora1_id(job_id):
        job = await client.generation_jobs.retrieve(job_id)
        if session.json:
            session.emit_json(job.model_dump(mode="json"))
        else:
            reason = f" ({job.failure_reason})" if job.failure_reason else ""
            session.out(f"{job.id}: {job.status}{reason}, {len(job.generations)} generation(s)")
        return 0
    video = await client.videos.retrieve(job_id)
    if session.json:
        session.emit_json(video.model_dump(mode="json"))
        return 0
    percent = "" if video.progress is None else f" {video.progress}%"
    session.out(f"{video.id}: {video.status}{percent}")
    if video.error is not None:
        session.out(f"  error: {video.error.code}: {video.error.message}")
    return 0


async def wait(session: Session, client: VideoClient) -> int:
    """``wait ID``: re-attach to a job, wait, download (every Sora 1 variant)."""
    args = session.args
    sora1 = _is_sora1_id(args.id)
    suffix = (GENERATION_VARIANT_SUFFIX if sora1 else VARIANT_SUFFIX).get(args.variant, ".bin")
    output = check_output(args.output or Path(f"{args.id}{suffix}"))
    if sora1:
        job1 = client.generation_jobs.job(args.id)
        return _report(session, job1, await _follow_sora1(session, job1, output, args.variant),
                       "sora1")
    job = client.videos.job(args.id)
    return _report(session, job, await _follow(session, job, output, args.variant), "sora2")


async def download(session: Session, client: VideoClient) -> int:
    """``download ID``."""
    args = session.args
    generation = args.id.startswith("gen_")
    suffix = (GENERATION_VARIANT_SUFFIX if generation else VARIANT_SUFFIX).get(args.variant, ".bin")
    output = check_output(args.output or Path(f"{args.id}{suffix}"))
    if generation:
        path = await client.generation_jobs.download(args.id, output, variant=args.variant,
                                                     timeout=args.timeout)
    else:
        path = await client.videos.download(args.id, output, variant=args.variant,
                                            timeout=args.timeout)
    if session.json:
        session.emit_json({"id": args.id, "path": str(path)})
    else:
        session.out(f"saved {path}")
    return 0


async def list_jobs(session: Session, client: VideoClient) -> int:
    """``list``: Sora 2 videos and Sora 1 jobs, newest first."""
    from .._errors import BadRequestError, NotFoundError

    args = session.args
    rows: list[tuple[float, str, Any]] = []
    if args.api in ("all", "sora2"):
        async for video in _take(client.videos.list(limit=args.limit), args.limit):
            rows.append((_when(video.created_at), _video_line(video), video))
    if args.api == "sora1" or (args.api == "all" and client.flavor == "azure"):
        try:
            async for job in _take(client.generation_jobs.list(limit=args.limit), args.limit):
                rows.append((_when(job.created_at), _job_line(job), job))
        except (NotFoundError, BadRequestError):
            if args.api == "sora1":
                raise
            # A resource without the Sora 1 preview API: list what there is.
    rows.sort(key=lambda row: row[0], reverse=True)
    rows = rows[:args.limit]
    if session.json:
        session.emit_json([item.model_dump(mode="json") for _, _, item in rows])
    else:
        for _, line, _ in rows:
            session.out(line)
    return 0


def _when(value: Any) -> float:
    stamp = getattr(value, "timestamp", None)
    return float(stamp()) if callable(stamp) else float(value or 0)


def _video_line(v: Any) -> str:
    return (f"{v.id}  {v.status:<11} {v.progress or 0:>3}%  {v.size or '':<9} "
            f"{v.seconds or '':>2}s  {(v.prompt or '')[:50]}")


def _job_line(j: Any) -> str:
    size = f"{j.width}x{j.height}"
    return (f"{j.id}  {j.status:<11}   -   {size:<9} {j.n_seconds:>2}s  "
            f"{(j.prompt or '')[:50]}")


async def delete(session: Session, client: VideoClient) -> int:
    """``delete ID``."""
    job_id = session.args.id
    if _is_sora1_id(job_id):
        await client.generation_jobs.delete(job_id)
        deleted: dict[str, Any] = {"id": job_id, "deleted": True}
    else:
        deleted = (await client.videos.delete(job_id)).model_dump(mode="json")
    if session.json:
        session.emit_json(deleted)
    else:
        session.out(f"deleted {job_id}")
    return 0


async def derive(session: Session, client: VideoClient) -> int:
    """``remix``/``edit``/``extend ID PROMPT``: a new job from a completed video."""
    args = session.args
    output = None if args.no_download or args.output is None else check_output(args.output)
    if not args.no_download and output is None:
        check_output_dir(Path.cwd(), what="the current directory")
    if args.command == "remix":
        job = await client.videos.remix(args.id, prompt=args.prompt)
    elif args.command == "edit":
        job = await client.videos.edit(args.id, prompt=args.prompt)
    else:
        job = await client.videos.extend(args.id, prompt=args.prompt, seconds=args.seconds)
    target = output or (None if args.no_download else Path(f"{job.id}.mp4"))
    _announce(session, job.id, target)
    return _report(session, job, await _follow(session, job, target), "sora2")


async def _take(items: AsyncIterable[T], limit: int) -> AsyncIterator[T]:
    count = 0
    async for item in items:
        if count >= limit:
            return
        count += 1
        yield item
