"""``--emulator``: the emulator serving the state directory, or one started in-process on it.

A standalone ``foundry-video emulator`` records its address in ``<state dir>/server.json``.
If that emulator answers (with the instance id it recorded), the command talks to it;
otherwise the command starts its own emulator for its lifetime, on the same state
directory, so jobs created by one command are there for the next either way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from ._checks import UsageError

if TYPE_CHECKING:
    from .._client import VideoClient
    from ..emulator import ServerInfo
    from ._session import Session

EMULATOR_OPTIONS: dict[str, Any] = {"job_seconds": 3.0, "queue_seconds": 0.5}
"""How ``--emulator`` configures an in-process emulator: a short real-time job."""
PROBE_SECONDS = 1.5


async def _answers(server: ServerInfo) -> bool:
    """True if the emulator recorded in ``server.json`` is still the one listening there."""
    timeout = aiohttp.ClientTimeout(total=PROBE_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, \
                http.get(f"{server.endpoint}/openai/v1/videos", params={"limit": "1"}) as response:
            return response.headers.get("x-emulator-instance") == server.instance
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


@asynccontextmanager
async def emulator_client(session: Session, **settings: Any) -> AsyncIterator[VideoClient]:
    """A client for the emulator of the session's state directory."""
    from .._auth import ApiKeyAuth
    from .._client import VideoClient
    from ..emulator import EXAMPLE_KEY, Emulator, default_state_dir, pyav_missing, read_server

    for other in ("endpoint", "entra"):
        if session.opt(other):
            raise UsageError(f"--emulator and --{other} exclude each other: choose one")
    state_dir = Path(session.opt("state_dir") or default_state_dir()).expanduser()
    key = session.opt("api_key") or os.environ.get("FOUNDRY_VIDEO_EMULATOR_KEY") or EXAMPLE_KEY
    auth = ApiKeyAuth(key)
    session.use_auth(auth)
    server = read_server(state_dir)
    if server is not None and await _answers(server):
        async with VideoClient(server.endpoint, auth=auth, **settings) as client:
            yield client
        return
    options = dict(EMULATOR_OPTIONS)
    if options.get("renderer") is None:
        missing = pyav_missing()
        if missing is not None:
            raise UsageError(missing)
    # The CLI reports unknown model names itself; the emulator's own log would repeat them.
    logging.getLogger("foundry_video.emulator").setLevel(logging.ERROR)
    try:
        emulator = Emulator(state_dir=state_dir, **options)
    except OSError as exc:
        raise UsageError(f"cannot use the emulator state directory {state_dir} "
                         f"({exc.strerror or exc}); pass --state-dir DIR") from None
    async with emulator as emu, VideoClient(emu.endpoint, auth=auth, **settings) as client:
        yield client
