"""A local emulator of the Sora video service (Azure OpenAI / Microsoft Foundry).

::

    from foundry_video.emulator import Emulator, Fault

    async with Emulator(clock=ManualClock(), job_seconds=30) as emu:
        emu.inject(Fault("rate_limit", operation="create", retry_after=2))
        ...  # point any client at emu.endpoint (API under /openai/v1 and /v1)

It checks auth and request bodies like the service, moves jobs through
``queued -> in_progress -> completed|failed`` on a clock, renders real MP4s (PyAV,
imported lazily), enforces the shared capability table and injects faults on demand.
"""

from ._app import API_PREFIXES, DEFAULT_BLOCKED_WORDS, SURFACES, Emulator
from ._content import PlaceholderRenderer, Renderer
from ._context import Call, Routes, ServiceContext
from ._faults import Fault, FaultKind, FaultSet, parse_fault_header
from ._standalone import run_standalone
from ._state import Character, JobFailure, JobStore, RecordedRequest, VideoJob

__all__ = [
    "API_PREFIXES",
    "DEFAULT_BLOCKED_WORDS",
    "SURFACES",
    "Call",
    "Character",
    "Emulator",
    "Fault",
    "FaultKind",
    "FaultSet",
    "JobFailure",
    "JobStore",
    "PlaceholderRenderer",
    "RecordedRequest",
    "Renderer",
    "Routes",
    "ServiceContext",
    "VideoJob",
    "parse_fault_header",
    "run_standalone",
]
