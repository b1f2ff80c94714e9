"""Shared plumbing for the examples: connect to Azure, or to an in-process emulator.

Every example takes ``--emulator`` (no Azure account needed: a local emulator runs in the
same process, on virtual time, so jobs finish at once) and ``--out DIR``. Without
``--emulator`` it uses ``AZURE_OPENAI_ENDPOINT`` and ``AZURE_OPENAI_API_KEY`` (or
Microsoft Entra ID via ``DefaultAzureCredential`` when no key is set).
"""

from __future__ import annotations

import argparse
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from foundry_video import ApiKeyAuth, ManualClock, SyncVideoClient, VideoClient


def parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every example shares."""
    first_line = (description or "").strip().splitlines()[0:1]
    p = argparse.ArgumentParser(description=first_line[0] if first_line else None)
    p.add_argument("--emulator", action="store_true",
                   help="run against an in-process emulator instead of Azure")
    p.add_argument("--out", type=Path, default=Path("."), help="output directory (default: .)")
    return p


@asynccontextmanager
async def connect(use_emulator: bool) -> AsyncIterator[VideoClient]:
    """A client for Azure (from the environment) or for a fresh in-process emulator."""
    if not use_emulator:
        async with VideoClient.from_env() as client:
            yield client
        return
    from foundry_video.emulator import Emulator

    clock = ManualClock()  # virtual time shared by both sides: a 12 s job finishes at once
    async with Emulator(clock=clock) as emulator, VideoClient(
        emulator.endpoint, auth=ApiKeyAuth("emulator-key"), clock=clock
    ) as client:
        yield client


@contextmanager
def connect_sync(use_emulator: bool) -> Iterator[SyncVideoClient]:
    """The blocking twin of ``connect``: a ``SyncVideoClient`` for Azure or an emulator."""
    if not use_emulator:
        with SyncVideoClient.from_env() as client:
            yield client
        return
    from foundry_video.emulator import Emulator

    clock = ManualClock()
    # `with` (not `async with`): the emulator serves from a thread of its own, so the
    # blocking client's calls can reach it.
    with Emulator(clock=clock) as emulator, SyncVideoClient(
        emulator.endpoint, auth=ApiKeyAuth("emulator-key"), clock=clock
    ) as client:
        yield client


def gradient_png(width: int, height: int) -> bytes:
    """A ``width`` x ``height`` RGB PNG (a sunset gradient), made with the standard library."""
    rows = bytearray()
    for y in range(height):
        t = y / max(1, height - 1)
        pixel = bytes((255, int(140 + 80 * t), int(60 + 120 * t)))
        rows += b"\x00" + pixel * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))
