"""``main()``: parse, run the command, turn any failure into one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
from collections.abc import Sequence
from typing import Any

from .._observe import cli_telemetry
from ._checks import UsageError, capabilities_for
from ._parser import build_parser
from ._session import Session

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    cli_telemetry()  # OpenTelemetry from the OTEL_* variables, when set (_observe.py)
    session = Session(args)
    with session.diagnostics():
        try:
            code = _run(session)
            sys.stdout.flush()  # inside the try: a closed pipe is noticed here, not at exit
            return code
        except BaseException as exc:
            return report(session, exc)


def _run(session: Session) -> int:
    args = session.args
    if not args.needs_client:
        code: int = args.handler(session)
        return code
    return asyncio.run(_with_client(session))


async def _with_client(session: Session) -> int:
    async with session.client(**_client_settings(session.args)) as client:
        code: int = await session.args.handler(session, client)
        return code


def _client_settings(args: argparse.Namespace) -> dict[str, Any]:
    base = getattr(args, "base_model", None)
    return {"capabilities": capabilities_for(args.model, base)} if base else {}


def report(session: Session, exc: BaseException) -> int:
    """Print ``exc`` as one line (plus how to resume, when a job is running) and return the
    exit code."""
    from .._errors import (
        AuthenticationError,
        CredentialError,
        FoundryVideoError,
        JobTimeoutError,
    )

    if isinstance(exc, BrokenPipeError):
        _silence_stdout()  # `foundry-video list | head -1`: the reader is gone, that is fine
        return EXIT_OK
    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, KeyboardInterrupt):
        session.err("\ninterrupted.")
        _hint(session)
        return EXIT_INTERRUPTED
    if isinstance(exc, UsageError):
        session.err(f"error: {exc}")
        return EXIT_USAGE
    if isinstance(exc, CredentialError):
        session.err(f"error: {_first_line(exc)}")
        session.err("  (with --entra: sign in first, e.g. `az login`; or use a key: set "
                    "AZURE_OPENAI_API_KEY or pass --api-key)")
        return EXIT_ERROR
    if isinstance(exc, FoundryVideoError):
        session.err(f"error: {_first_line(exc)}")
        if isinstance(exc, AuthenticationError) and session.opt("emulator"):
            session.err("  (this emulator requires its key: pass --api-key KEY or set "
                        "FOUNDRY_VIDEO_EMULATOR_KEY)")
        if exc.job_id and session.job_id is None:
            session.track(exc.job_id, session.output)
        if isinstance(exc, JobTimeoutError) or _resumable(exc):
            _hint(session)
        return EXIT_ERROR
    if isinstance(exc, (ValueError, TypeError)):
        session.err(f"error: {_first_line(exc)}")
        return EXIT_USAGE
    if isinstance(exc, OSError):
        session.err(f"error: {_os_error(exc)}")
        if session.job_id:
            _hint(session)
            return EXIT_ERROR
        return EXIT_USAGE if exc.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR,
                                           errno.EACCES, errno.EPERM) else EXIT_ERROR
    if isinstance(exc, Exception):
        session.err(f"error: unexpected {type(exc).__name__}: {_first_line(exc)}")
        _hint(session)
        return EXIT_ERROR
    raise exc


def _resumable(exc: BaseException) -> bool:
    """A failure after which waiting again can still work (not a failed or gone job)."""
    from .._errors import (
        ContentExpiredError,
        ContentPolicyError,
        JobFailedError,
        NotFoundError,
        UnknownStatusError,
    )

    return not isinstance(exc, (JobFailedError, ContentPolicyError, ContentExpiredError,
                                NotFoundError, UnknownStatusError))


def _hint(session: Session) -> None:
    hint = session.hint()
    if hint:
        session.err(hint)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _os_error(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or _first_line(exc)}{where}"


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
