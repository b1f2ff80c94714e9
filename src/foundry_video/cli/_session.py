"""What every command shares: output (always redacted), resume hints, and the client.

Everything the CLI prints goes through :class:`Session`, whose redactor knows every key
the CLI was given (``--api-key``, the environment) and every secret the client's auth
holds, so a service that echoes a key back never gets it onto the terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from .._redact import Redactor, redact_value
from ._checks import UsageError, check_endpoint

if TYPE_CHECKING:
    from .._auth import Auth
    from .._client import VideoClient

KEY_VARIABLES = ("AZURE_OPENAI_API_KEY", "OPENAI_API_KEY", "FOUNDRY_VIDEO_EMULATOR_KEY")
NO_CREDENTIALS = ("no credentials: set AZURE_OPENAI_API_KEY, or pass --api-key KEY, or --entra "
                  "to sign in with Microsoft Entra ID")
NO_ENDPOINT = ("no endpoint: set AZURE_OPENAI_ENDPOINT or pass --endpoint "
               "https://NAME.openai.azure.com (or try --emulator)")


class Session:
    """One CLI invocation: its arguments, its output and what a resume hint needs."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._secrets: list[str] = [value for value in (
            getattr(args, "api_key", None), *(os.environ.get(name) for name in KEY_VARIABLES))
            if value]
        self._auth: Auth | None = None
        self.redact = Redactor(self._known_secrets)
        self.job_id: str | None = None
        """The job being worked on: named in the hint after Ctrl-C, a timeout or a failure."""
        self.output: Path | None = None
        self.resume_hint: str | None = None
        """A complete resume command line, when the command has its own (``batch``)."""

    # -- options -------------------------------------------------------------------------

    def opt(self, name: str, default: Any = None) -> Any:
        """An option of the current command (``default`` where the command has none)."""
        return getattr(self.args, name, default)

    @property
    def json(self) -> bool:
        """Machine-readable output on stdout (and no progress display)."""
        return bool(self.opt("json"))

    @property
    def quiet(self) -> bool:
        """No progress display."""
        return bool(self.opt("quiet")) or self.json

    # -- output --------------------------------------------------------------------------

    def use_auth(self, auth: Auth) -> None:
        """Redact whatever ``auth`` holds from now on (keys, and tokens as they change)."""
        self._auth = auth

    def _known_secrets(self) -> list[str]:
        held = list(self._auth.secrets) if self._auth is not None else []
        return [*self._secrets, *held]

    def out(self, text: str) -> None:
        """A line of results on stdout."""
        print(self.redact(text), flush=True)

    def err(self, text: str) -> None:
        """A line of diagnostics on stderr."""
        print(self.redact(text), file=sys.stderr, flush=True)

    @property
    def stderr(self) -> IO[str]:
        """``sys.stderr`` behind the redactor, for displays that write on their own."""
        return cast("IO[str]", RedactingStream(sys.stderr, self.redact))

    def warn(self, text: str) -> None:
        """``warning: text`` on stderr (one line)."""
        self.err(f"warning: {text}")

    def emit_json(self, value: Any) -> None:
        """``value`` as JSON on stdout, every string in it redacted."""
        print(json.dumps(redact_value(value, self.redact), indent=2, default=str), flush=True)

    def track(self, job_id: str, output: Path | None) -> None:
        """Remember the job (and its output file) for the resume hint."""
        self.job_id, self.output = job_id, output

    def hint(self) -> str | None:
        """How to pick the work up again, if there is anything to pick up."""
        if self.resume_hint:
            return self.resume_hint
        if not self.job_id:
            return None
        words = ["foundry-video", "wait", self.job_id, *self.connection_flags()]
        if self.output is not None:
            words += ["-o", str(self.output)]
        return (f"The job {self.job_id} continues on the service. Resume with:\n"
                f"  {shlex.join(words)}")

    def connection_flags(self) -> list[str]:
        """The connection options to repeat in a follow-up command (never the key)."""
        flags: list[str] = []
        if self.opt("emulator"):
            flags.append("--emulator")
            if self.opt("state_dir"):
                flags += ["--state-dir", str(self.opt("state_dir"))]
        elif self.opt("endpoint"):
            flags += ["--endpoint", str(self.opt("endpoint"))]
        if self.opt("entra"):
            flags.append("--entra")
        return flags

    @contextmanager
    def diagnostics(self) -> Iterator[None]:
        """While a command runs: SDK warnings as one redacted line each on stderr, and
        azure-identity's own multi-line reports silenced (its failures arrive as one
        ``CredentialError``)."""
        handler = logging.StreamHandler(self.stderr)
        handler.setFormatter(_OneLine(self.redact))
        handler.setLevel(logging.WARNING)
        quiet = logging.NullHandler()
        sdk, azure = logging.getLogger("foundry_video"), logging.getLogger("azure")
        sdk.addHandler(handler)
        azure.addHandler(quiet)
        try:
            yield
        finally:
            sdk.removeHandler(handler)
            azure.removeHandler(quiet)

    # -- the client ----------------------------------------------------------------------

    @asynccontextmanager
    async def client(self, **settings: Any) -> AsyncIterator[VideoClient]:
        """The client the connection options ask for (an emulator with ``--emulator``)."""
        if self.opt("emulator"):
            from ._emulator_client import emulator_client

            async with emulator_client(self, **settings) as client:
                yield client
            return
        async with self._service_client(**settings) as client:
            yield client

    @asynccontextmanager
    async def _service_client(self, **settings: Any) -> AsyncIterator[VideoClient]:
        from .._auth import ApiKeyAuth, EntraIdAuth
        from .._client import VideoClient, resolve_endpoint

        endpoint = self.opt("endpoint") or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise UsageError(NO_ENDPOINT)
        check_endpoint(endpoint)
        _, flavor = resolve_endpoint(endpoint)
        variables = ("AZURE_OPENAI_API_KEY",) if flavor == "azure" else ("OPENAI_API_KEY",
                                                                         "AZURE_OPENAI_API_KEY")
        key = self.opt("api_key") or next(
            (os.environ[name] for name in variables if os.environ.get(name)), None)
        credential: Any = None
        auth: Auth
        if self.opt("entra"):
            if self.opt("api_key"):
                raise UsageError("--entra and --api-key exclude each other: choose one")
            try:
                from azure.identity.aio import DefaultAzureCredential
            except ImportError:
                raise UsageError("--entra needs azure-identity: pip install "
                                 '"foundry-video[entra]"') from None
            credential = DefaultAzureCredential()
            auth = EntraIdAuth(credential)
        elif key:
            auth = ApiKeyAuth(key)
        else:
            raise UsageError(NO_CREDENTIALS)
        self.use_auth(auth)
        try:
            async with VideoClient.from_env(endpoint=endpoint, auth=auth, **settings) as client:
                yield client
        finally:
            if credential is not None:
                await credential.close()


class RedactingStream:
    """A text stream that redacts every write (line-buffered: secrets never split)."""

    def __init__(self, inner: IO[str], redact: Redactor) -> None:
        self._inner = inner
        self._redact = redact
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            done, _, self._pending = self._pending.rpartition("\n")
            self._inner.write(self._redact(done + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._inner.write(self._redact(self._pending))
            self._pending = ""
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._inner, "encoding", None) or "utf-8"


class _OneLine(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        lines = record.getMessage().strip().splitlines() or [""]
        return self._redact(f"{record.levelname.lower()}: {lines[0]}")
