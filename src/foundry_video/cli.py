"""The ``foundry-video`` command line.

``foundry-video generate "A neon city at night" --emulator -o demo.mp4`` runs the whole
create → poll → download flow on the built-in emulator; without ``--emulator`` it uses
``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` (or ``--entra``). Errors print one
line (with the request id) and exit non-zero; Ctrl-C while waiting prints how to resume.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ._observe import cli_telemetry
from ._version import __version__

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EMULATOR_OPTIONS: dict[str, Any] = {"job_seconds": 3.0, "queue_seconds": 0.5}
"""How ``--emulator`` configures its in-process emulator: a short real-time job."""


class _State:
    """What the interrupt handler needs to tell the user."""

    job_id: str | None = None
    output: str | None = None


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--endpoint", default=argparse.SUPPRESS,
                       help="resource endpoint (default: $AZURE_OPENAI_ENDPOINT)")
    group.add_argument("--api-key", default=argparse.SUPPRESS,
                       help="API key (default: $AZURE_OPENAI_API_KEY; prefer the variable)")
    group.add_argument("--entra", action="store_true", default=argparse.SUPPRESS,
                       help="use Microsoft Entra ID (DefaultAzureCredential)")
    group.add_argument("--emulator", action="store_true", default=argparse.SUPPRESS,
                       help="run against the built-in emulator (no Azure account needed)")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print machine-readable JSON on stdout")
    group.add_argument("--timeout", type=float, default=argparse.SUPPRESS,
                       help="give up waiting after this many seconds")
    group.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="foundry-video",
                                     description="Generate video with Sora on Azure OpenAI.")
    parser.add_argument("--version", action="version", version=f"foundry-video {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        return p

    gen = command("generate", "create a video job, wait for it and download the result")
    gen.add_argument("prompt")
    gen.add_argument("-o", "--output", default=None, help="output file (default: <job id>.mp4)")
    gen.add_argument("--model", default="sora-2", help="model or deployment name")
    gen.add_argument("--size", default=None, help="WIDTHxHEIGHT, e.g. 1280x720")
    gen.add_argument("--seconds", default=None, help="duration in seconds")
    gen.add_argument("--image", default=None, help="first-frame image (input_reference)")
    gen.add_argument("--variants", type=int, default=1,
                     help="number of variants (Sora 1; files are numbered out_1.mp4, ...)")
    gen.add_argument("--api", choices=["auto", "sora2", "sora1"], default="auto",
                     help="which API the model uses (auto: from the capability table)")
    gen.add_argument("--no-download", action="store_true", help="only create and wait")

    command("status", "show a job's status").add_argument("id")
    wait = command("wait", "wait for an existing job (resume) and download it")
    wait.add_argument("id")
    wait.add_argument("-o", "--output", default=None)
    wait.add_argument("--variant", default="video")
    down = command("download", "download a completed video")
    down.add_argument("id")
    down.add_argument("-o", "--output", default=None)
    down.add_argument("--variant", default="video", choices=["video", "thumbnail", "spritesheet"])
    command("list", "list recent videos").add_argument("--limit", type=int, default=20)
    command("delete", "delete a video").add_argument("id")
    remix = command("remix", "remix a completed video with a new prompt")
    remix.add_argument("id")
    remix.add_argument("prompt")
    remix.add_argument("-o", "--output", default=None)
    edit = command("edit", "edit a completed video with a prompt (newer alternative to remix)")
    edit.add_argument("id")
    edit.add_argument("prompt")
    edit.add_argument("-o", "--output", default=None)
    extend = command("extend", "extend a completed video by more seconds")
    extend.add_argument("id")
    extend.add_argument("prompt")
    extend.add_argument("--seconds", required=True, help="length of the added segment")
    extend.add_argument("-o", "--output", default=None)
    emu = sub.add_parser("emulator", help="run the emulator in the foreground")
    emu.add_argument("--port", type=int, default=8089)
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--job-seconds", type=float, default=10.0,
                     help="how long each job takes on the emulator")
    return parser


def _opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


@asynccontextmanager
async def _connect(args: argparse.Namespace) -> AsyncIterator[Any]:
    """A VideoClient for the arguments (starting an in-process emulator with --emulator)."""
    from ._auth import ApiKeyAuth, EntraIdAuth
    from ._client import VideoClient

    if _opt(args, "emulator"):
        from .emulator import Emulator

        async with Emulator(**EMULATOR_OPTIONS) as emu, \
                VideoClient(emu.endpoint, auth=ApiKeyAuth("emulator-key")) as client:
            yield client
        return
    endpoint = _opt(args, "endpoint") or os.environ.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        raise _UsageError("no endpoint: pass --endpoint, set AZURE_OPENAI_ENDPOINT, "
                          "or try --emulator")
    key = _opt(args, "api_key") or os.environ.get("AZURE_OPENAI_API_KEY")
    if _opt(args, "entra") or not key:
        try:
            from azure.identity.aio import DefaultAzureCredential
        except ImportError:
            raise _UsageError("no API key and azure-identity is missing: set "
                              "AZURE_OPENAI_API_KEY or pip install 'foundry-video[entra]'") from None
        async with DefaultAzureCredential() as credential, \
                VideoClient(endpoint, auth=EntraIdAuth(credential)) as client:
            yield client
        return
    async with VideoClient(endpoint, auth=ApiKeyAuth(key)) as client:
        yield client


class _UsageError(Exception):
    pass


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _video_json(video: Any) -> Any:
    return video.model_dump(mode="json")


async def _follow(job: Any, output: Path | None, args: argparse.Namespace,
                  variant: str = "video") -> None:
    """Wait for ``job`` (and download to ``output``) with a progress display."""
    from ._progress_ui import ProgressUI

    _State.job_id = job.id
    _State.output = str(output) if output else None
    quiet = bool(_opt(args, "quiet") or _opt(args, "json"))
    timeout = _opt(args, "timeout")
    with ProgressUI(enabled=not quiet) as ui:
        if output is None:
            await job.wait(timeout=timeout, on_progress=ui)
        else:
            await job.result(output, variant=variant, on_progress=ui, timeout=timeout)
    if _opt(args, "json"):
        _print_json({"id": job.id, "status": job.status, "path": str(output) if output else None})
    else:
        if output is not None:
            print(f"saved {output}")
        print(f"job id: {job.id}")


def _suffix(variant: str) -> str:
    from .models import VARIANT_SUFFIX

    return VARIANT_SUFFIX.get(variant, ".bin")


async def _run(args: argparse.Namespace) -> int:
    async with _connect(args) as client:
        command = args.command
        if command == "generate":
            if _is_sora1(client, args):
                await _generate_sora1(client, args)
                return 0
            if args.variants != 1:
                raise _UsageError("--variants is a Sora 1 option; Sora 2 makes one video per job")
            job = await client.videos.create(
                prompt=args.prompt, model=args.model, size=args.size, seconds=args.seconds,
                input_reference=Path(args.image) if args.image else None)
            if not _opt(args, "json"):
                print(f"created job {job.id}", file=sys.stderr)
            output = None if args.no_download else Path(args.output or f"{job.id}.mp4")
            await _follow(job, output, args)
        elif command == "status":
            if _is_sora1_id(args.id):
                job_model = await client.generation_jobs.retrieve(args.id)
                if _opt(args, "json"):
                    _print_json(job_model.model_dump(mode="json"))
                else:
                    reason = f" ({job_model.failure_reason})" if job_model.failure_reason else ""
                    print(f"{job_model.id}: {job_model.status}{reason}, "
                          f"{len(job_model.generations)} generation(s)")
                return 0
            video = await client.videos.retrieve(args.id)
            if _opt(args, "json"):
                _print_json(_video_json(video))
            else:
                percent = "" if video.progress is None else f" {video.progress}%"
                print(f"{video.id}: {video.status}{percent}")
                if video.error is not None:
                    print(f"  error: {video.error.code}: {video.error.message}")
        elif command == "wait":
            output = Path(args.output or f"{args.id}{_suffix(args.variant)}")
            job = (client.generation_jobs.job(args.id) if _is_sora1_id(args.id)
                   else client.videos.job(args.id))
            await _follow(job, output, args, args.variant)
        elif command == "download":
            output = Path(args.output or f"{args.id}{_suffix(args.variant)}")
            if args.id.startswith("gen_"):  # a Sora 1 generation
                path = await client.generation_jobs.download(
                    args.id, output, variant=args.variant, timeout=_opt(args, "timeout"))
            else:
                path = await client.videos.download(args.id, output, variant=args.variant,
                                                    timeout=_opt(args, "timeout"))
            _print_json({"id": args.id, "path": str(path)}) if _opt(args, "json") \
                else print(f"saved {path}")
        elif command == "list":
            videos = [v async for v in _take(client.videos.list(limit=min(args.limit, 100)),
                                             args.limit)]
            if _opt(args, "json"):
                _print_json([_video_json(v) for v in videos])
            for v in [] if _opt(args, "json") else videos:
                print(f"{v.id}  {v.status:<11} {v.progress or 0:>3}%  {v.size or '':<9} "
                      f"{v.seconds or '':>2}s  {(v.prompt or '')[:50]}")
        elif command == "delete" and _is_sora1_id(args.id):
            await client.generation_jobs.delete(args.id)
            _print_json({"id": args.id, "deleted": True}) if _opt(args, "json") \
                else print(f"deleted {args.id}")
        elif command == "delete":
            deleted = await client.videos.delete(args.id)
            _print_json(deleted.model_dump(mode="json")) if _opt(args, "json") \
                else print(f"deleted {deleted.id}")
        elif command in ("remix", "edit", "extend"):
            if command == "remix":
                job = await client.videos.remix(args.id, prompt=args.prompt)
            elif command == "edit":
                job = await client.videos.edit(args.id, prompt=args.prompt)
            else:
                job = await client.videos.extend(args.id, prompt=args.prompt, seconds=args.seconds)
            await _follow(job, Path(args.output or f"{job.id}.mp4"), args)
    return 0


def _is_sora1_id(job_id: str) -> bool:
    # Sora 1 job ids look like task_01jwcet0..., Sora 2 ones like video_68f10....
    return job_id.startswith("task_")


def _is_sora1(client: Any, args: argparse.Namespace) -> bool:
    if args.api != "auto":
        return bool(args.api == "sora1")
    caps = client.capabilities.resolve(args.model)
    return caps is not None and caps.api == "generation_jobs"


async def _generate_sora1(client: Any, args: argparse.Namespace) -> None:
    image = Path(args.image) if args.image else None
    kind = {"image": image} if image and image.suffix.lower() != ".mp4" else {"video": image}
    job = await client.generation_jobs.create(
        prompt=args.prompt, model=args.model, size=args.size,
        seconds=args.seconds if args.seconds is not None else 5, n_variants=args.variants,
        **(kind if image else {}))
    if not _opt(args, "json"):
        print(f"created job {job.id}", file=sys.stderr)
    _State.job_id = job.id
    output = Path(args.output or f"{job.id}.mp4")
    _State.output = str(output)
    if args.no_download:
        await _follow(job, None, args)
        return
    if args.variants == 1:
        await _follow(job, output, args)
        return
    from ._progress_ui import ProgressUI

    quiet = bool(_opt(args, "quiet") or _opt(args, "json"))
    with ProgressUI(enabled=not quiet) as ui:
        paths = await job.result_all(output.parent, prefix=output.stem, on_progress=ui,
                                     timeout=_opt(args, "timeout"))
    if _opt(args, "json"):
        _print_json({"id": job.id, "status": job.status, "paths": [str(p) for p in paths]})
    else:
        for path in paths:
            print(f"saved {path}")
        print(f"job id: {job.id}")


async def _take(items: Any, limit: int) -> AsyncIterator[Any]:
    count = 0
    async for item in items:
        if count >= limit:
            return
        count += 1
        yield item


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    cli_telemetry()  # OpenTelemetry from the OTEL_* variables, when set (_observe.py)
    if args.command == "emulator":
        from .emulator import run_standalone

        run_standalone(port=args.port, host=args.host, job_seconds=args.job_seconds)
        return 0
    from ._errors import FoundryVideoError, JobTimeoutError

    _State.job_id = _State.output = None
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("\ninterrupted.", file=sys.stderr)
        _print_resume_hint()
        return EXIT_INTERRUPTED
    except JobTimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_resume_hint()
        return EXIT_ERROR
    except FoundryVideoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.job_id and args.command in ("generate", "wait", "remix", "edit", "extend"):
            _State.job_id = exc.job_id
        return EXIT_ERROR
    except (_UsageError, ValueError, TypeError, FileNotFoundError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a CLI prints one line, never a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _print_resume_hint() -> None:
    if _State.job_id:
        output = f" -o {_State.output}" if _State.output else ""
        print(f"The job {_State.job_id} continues on the service. Resume with:\n"
              f"  foundry-video wait {_State.job_id}{output}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
