"""``foundry-video emulator``: serve the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._checks import UsageError
from ._parser import (
    command,
    int_between,
    non_negative_float,
)

if TYPE_CHECKING:
    from ..emulator import Fault
    from ._parser import Commands
    from ._session import Session

__all__ = ["register"]

FAULT_HELP = ("inject a fault, as KIND:KEY=VALUE,... e.g. rate_limit:times=2 or "
              "server_error:status=503,operation=content (repeatable; kinds and keys: see "
              "docs/cli.md)")


def _fault(text: str) -> Fault:
    from ..emulator import parse_fault_spec

    try:
        return parse_fault_spec(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _deployment(text: str) -> tuple[str, str]:
    name, sep, model = text.partition("=")
    if not sep or not name.strip() or not model.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=MODEL (e.g. my-sora=sora-2), got {text!r}")
    return name.strip(), model.strip()


def register(commands: Commands) -> None:
    """Add the ``emulator`` command."""
    emu = command(commands, "emulator", "run the emulator in the foreground (Ctrl-C stops it)",
                  run, client=False,
                  description="Run a local stand-in for the Sora service. Its jobs are kept in "
                              "the state directory, where the --emulator commands find them "
                              "(and this emulator).")
    emu.add_argument("--port", type=int_between(0, 65535), default=8089,
                     help="port to listen on (0: any free port)")
    emu.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emu.add_argument("--job-seconds", type=non_negative_float, default=10.0, metavar="S",
                     help="how long each job runs")
    emu.add_argument("--queue-seconds", type=non_negative_float, default=2.0, metavar="S",
                     help="how long each job is queued first")
    emu.add_argument("--state-dir", type=Path, metavar="DIR",
                     help="where jobs are kept (default: $FOUNDRY_VIDEO_STATE_DIR or the "
                          "user cache dir)")
    emu.add_argument("--no-state", action="store_true",
                     help="keep jobs in memory only (the --emulator commands will not see them)")
    emu.add_argument("--require-key", action="store_true",
                     help="accept only the key the banner shows, like the service would")
    emu.add_argument("--api-key", metavar="KEY",
                     help="the only key to accept (implies --require-key; default: "
                          "$FOUNDRY_VIDEO_EMULATOR_KEY)")
    emu.add_argument("--fault", action="append", type=_fault, default=[], metavar="SPEC",
                     help=FAULT_HELP)
    emu.add_argument("--deployment", action="append", type=_deployment, default=[],
                     metavar="NAME=MODEL",
                     help="declare a deployment (repeatable); other model names then get 404 "
                          "DeploymentNotFound, as on Azure")
    emu.add_argument("--rate-limit", type=int_between(1, 1_000_000), metavar="N",
                     help="allow N job-creating requests per minute (then 429)")
    emu.add_argument("--progress-curve", metavar="NAME",
                     help="how reported progress rises over a job: s-curve (the default), "
                          "linear, stuck, accelerating, decelerating or steps")
    emu.add_argument("--placeholder", action="store_true",
                     help="serve labelled placeholder files instead of real MP4s (no PyAV needed)")


def run(session: Session) -> int:
    """Serve until Ctrl-C."""
    from .. import emulator

    args = session.args
    options: dict[str, Any] = {"job_seconds": args.job_seconds,
                               "queue_seconds": args.queue_seconds}
    if args.progress_curve:
        if args.progress_curve not in emulator.PROGRESS_CURVES:
            raise UsageError(f"--progress-curve {args.progress_curve!r} is not a curve; use one "
                             f"of {', '.join(sorted(emulator.PROGRESS_CURVES))}")
        options["progress_curve"] = args.progress_curve
    key = args.api_key or os.environ.get("FOUNDRY_VIDEO_EMULATOR_KEY")
    if key or args.require_key:
        options["api_keys"] = {key or emulator.EXAMPLE_KEY}
    if not args.no_state:
        options["state_dir"] = args.state_dir or emulator.default_state_dir()
    if args.deployment:
        options["deployments"] = dict(args.deployment)
    if args.rate_limit:
        options["create_rate_limit"] = args.rate_limit
    if args.placeholder:
        options["renderer"] = emulator.PlaceholderRenderer()
    try:
        emulator.run_standalone(args.port, args.host, faults=args.fault, **options)
    except RuntimeError as exc:  # PyAV missing: said once, before anything starts
        raise UsageError(f"{exc} (or run with --placeholder)") from None
    except ValueError as exc:  # e.g. a deployment of an unknown model
        raise UsageError(str(exc)) from None
    except OSError as exc:
        if exc.filename is None and exc.errno in (errno.EADDRINUSE, errno.EACCES):
            what = "in use" if exc.errno == errno.EADDRINUSE else "not allowed"
            session.err(f"error: port {args.port} on {args.host} is {what} (another emulator? "
                        "pick another with --port, or --port 0 for any free port)")
            return 1
        raise
    return 0
