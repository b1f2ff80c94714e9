"""``foundry-video emulator``: run the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable
from typing import Any

from ._app import Emulator
from ._content import PlaceholderRenderer, pyav_missing
from ._faults import Fault

__all__ = ["EXAMPLE_KEY", "run_standalone"]

EXAMPLE_KEY = "emulator-key"
"""The key the banner shows (and the only one accepted with ``api_keys={EXAMPLE_KEY}``)."""


def _banner(emu: Emulator, faults: Iterable[Fault]) -> list[str]:
    keys = emu._api_keys
    shown = EXAMPLE_KEY if keys is None or EXAMPLE_KEY in keys else "<the key you configured>"
    lines = [
        f"foundry-video emulator listening on {emu.endpoint}",
        f"  Azure-style:  AZURE_OPENAI_ENDPOINT={emu.endpoint}  AZURE_OPENAI_API_KEY={shown}",
        f"  OpenAI-style: base_url={emu.endpoint}/v1  api_key={shown}",
        "  keys:         " + ("any non-empty key is accepted" if keys is None
                              else "only the configured key is accepted"),
    ]
    renderer = emu.ctx.content.configured
    if isinstance(renderer, PlaceholderRenderer):
        lines.append("  renderer:     PLACEHOLDER: downloads are labelled stand-ins, not playable")
    if emu.state_dir is not None:
        lines.append(f"  state:        {emu.state_dir.path} (jobs persist; the --emulator "
                     "commands use this emulator)")
    if emu.ctx.deployments is not None:
        names = ", ".join(sorted(emu.ctx.deployments))
        lines.append(f"  deployments:  {names} (other model names get 404 DeploymentNotFound)")
    for fault in faults:
        times = "forever" if fault.times is None else f"{fault.times}x"
        where = fault.operation or fault.path or "default scope"
        lines.append(f"  fault:        {fault.kind} ({where}, {times})")
    lines.append("  Press Ctrl-C to stop.")
    return lines


async def _serve(emulator: Emulator, faults: list[Fault], ready: asyncio.Event | None) -> None:
    task = asyncio.current_task()
    if task is not None:
        # SIGTERM (a service manager, `kill`) stops it as cleanly as Ctrl-C does.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with emulator as emu:
        for fault in faults:
            emu.inject(fault)
        advertised = None
        if emu.state_dir is not None:
            advertised = emu.state_dir.advertise(emu.host, emu.port, emu.instance)
        try:
            for line in _banner(emu, faults):
                print(line, flush=True)
            if ready is not None:
                ready.set()
            await asyncio.Event().wait()  # until cancelled (Ctrl-C)
        finally:
            if advertised is not None and emu.state_dir is not None:
                emu.state_dir.withdraw(advertised.instance)


def run_standalone(port: int = 8089, host: str = "127.0.0.1", *, faults: Iterable[Fault] = (),
                   **options: Any) -> None:
    """Serve an :class:`Emulator` on ``host:port`` until interrupted (blocking).

    ``options`` are passed to :class:`Emulator` (``job_seconds``, ``api_keys``,
    ``state_dir``, ``deployments``, ...); ``faults`` are injected at start. With
    ``api_keys`` unset, any non-empty key works; the printed one is just an example.
    Without a ``renderer`` PyAV must be installed: ``RuntimeError`` says what to install
    before anything starts. A busy port raises ``OSError``.
    """
    if options.get("renderer") is None:
        missing = pyav_missing()
        if missing is not None:
            raise RuntimeError(missing)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = Emulator(host=host, port=port, **options)
    # asyncio.run cancels the main task on Ctrl-C, so the emulator shuts down cleanly
    # (``async with`` exits) before KeyboardInterrupt reaches us.
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(_serve(emulator, list(faults), None))
    print("foundry-video emulator stopped.", flush=True)
