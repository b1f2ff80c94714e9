"""``foundry-video emulator``: run the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ._app import Emulator

__all__ = ["run_standalone"]

EXAMPLE_KEY = "emulator-key"


async def _serve(emulator: Emulator, ready: asyncio.Event | None) -> None:
    async with emulator as emu:
        keys = sorted(emu._api_keys) if emu._api_keys else [EXAMPLE_KEY]
        print(f"foundry-video emulator listening on {emu.endpoint}", flush=True)
        print(f"  Azure-style:  AZURE_OPENAI_ENDPOINT={emu.endpoint}  "
              f"AZURE_OPENAI_API_KEY={keys[0]}", flush=True)
        print(f"  OpenAI-style: base_url={emu.endpoint}/v1  api_key={keys[0]}", flush=True)
        print("  Press Ctrl-C to stop.", flush=True)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()  # until cancelled (Ctrl-C)


def run_standalone(port: int = 8089, host: str = "127.0.0.1", **options: Any) -> None:
    """Serve an :class:`Emulator` on ``host:port`` until interrupted (blocking).

    ``options`` are passed to :class:`Emulator` (``job_seconds``, ``api_keys``, ...). With
    ``api_keys`` unset, any non-empty key works; the printed one is just an example.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = Emulator(host=host, port=port, **options)
    # asyncio.run cancels the main task on Ctrl-C, so the emulator shuts down cleanly
    # (``async with`` exits) before KeyboardInterrupt reaches us.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(emulator, None))
    print("foundry-video emulator stopped.", flush=True)
