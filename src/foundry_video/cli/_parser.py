"""The argument parser: one sub-parser per command, built from each command module's
``register(commands)``; shared options are added only where they mean something."""

from __future__ import annotations

import argparse
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__

if TYPE_CHECKING:
    from .._client import VideoClient
    from ._session import Session

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
    ClientHandler = Callable[[Session, VideoClient], Awaitable[int]]
    PlainHandler = Callable[[Session], int]

__all__ = ["build_parser", "command"]

EPILOG = """\
environment:
  AZURE_OPENAI_ENDPOINT   the resource endpoint, e.g. https://NAME.openai.azure.com
  AZURE_OPENAI_API_KEY    its key (or pass --api-key, or --entra for Microsoft Entra ID)
  FOUNDRY_VIDEO_STATE_DIR where --emulator and `foundry-video emulator` keep their jobs

Run `foundry-video COMMAND --help` for a command's options.
"""


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults, but not the meaningless ``None``/``False`` ones."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []) or isinstance(action, argparse._HelpAction):
            return action.help
        return super()._get_help_string(action)


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def command(commands: Commands, name: str, summary: str,
            handler: ClientHandler | PlainHandler, *, client: bool = True,
            description: str | None = None) -> argparse.ArgumentParser:
    """Add a command; ``client=True`` handlers get ``(session, client)``, others ``(session)``."""
    parser = commands.add_parser(name, help=summary, description=description or summary,
                                 formatter_class=Formatter)
    parser.set_defaults(handler=handler, needs_client=client)
    return parser


def connection_options(parser: argparse.ArgumentParser) -> None:
    """Where to send requests, and with which credentials."""
    group = parser.add_argument_group("connection")
    group.add_argument("--endpoint", metavar="URL",
                       help="resource endpoint, e.g. https://NAME.openai.azure.com "
                            "(default: $AZURE_OPENAI_ENDPOINT)")
    group.add_argument("--api-key", metavar="KEY",
                       help="API key (default: $AZURE_OPENAI_API_KEY; prefer the variable: "
                            "arguments show up in process lists)")
    group.add_argument("--entra", action="store_true",
                       help="sign in with Microsoft Entra ID (DefaultAzureCredential) instead "
                            "of a key")
    group.add_argument("--emulator", action="store_true",
                       help="use the local emulator (no Azure account): the one "
                            "`foundry-video emulator` runs, else one started in-process")
    group.add_argument("--state-dir", type=Path, metavar="DIR",
                       help="with --emulator: where its jobs are kept (default: "
                            "$FOUNDRY_VIDEO_STATE_DIR or the user cache dir)")


def json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``."""
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable JSON on stdout (no progress display)")


def waiting_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that wait for a job."""
    parser.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                        help="stop waiting after this many seconds (the job goes on; the CLI "
                             "prints how to resume)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from . import _batch, _commands, _emulator

    parser = argparse.ArgumentParser(
        prog="foundry-video", formatter_class=Formatter, epilog=EPILOG,
        description="Generate video with Sora on Azure OpenAI / Microsoft Foundry.")
    parser.add_argument("--version", action="version", version=f"foundry-video {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     title="commands")
    for register in (_commands.register, _batch.register, _emulator.register):
        register(commands)
    return parser

