"""A local emulator of the Sora video service (Azure OpenAI / Microsoft Foundry).

::

    from foundry_video.emulator import Emulator, Fault

    async with Emulator(clock=ManualClock(), job_seconds=30) as emu:
        emu.inject(Fault("rate_limit", operation="create", retry_after=2))
        ...  # point any client at emu.endpoint (API under /openai/v1 and /v1)

It serves the Sora 2 Videos API (``/videos``) and the Sora 1 preview jobs API
(``/video/generations/...?api-version=preview``), checks auth and request bodies like the
service, moves jobs through their statuses on a clock (Sora 2: ``queued -> in_progress ->
completed|failed``; Sora 1: ``queued -> preprocessing -> running -> processing ->
succeeded|failed|cancelled``), renders real MP4s (PyAV, imported lazily), enforces the
shared capability table and injects faults on demand (including faults that lie: a 206
short of its ``Content-Range``, a body without ``Content-Length``...). Sora 1 jobs live in
``generation_jobs(emu.ctx.state)``. ``Emulator(state_dir=...)`` keeps jobs on disk, shared
with other processes (``foundry-video emulator`` and the ``--emulator`` commands).
"""

from ._app import API_PREFIXES, DEFAULT_BLOCKED_WORDS, SURFACES, Emulator
from ._content import INSTALL_HINT, PlaceholderRenderer, Renderer, pyav_missing
from ._context import Call, Routes, ServiceContext
from ._curves import DEFAULT_PROGRESS_CURVE, PROGRESS_CURVES, ProgressCurve
from ._faults import LYING_KINDS, Fault, FaultKind, FaultSet, parse_fault_header, parse_fault_spec
from ._persist import ServerInfo, StateDir, default_state_dir, read_server
from ._sora1 import register_generation_jobs_routes
from ._sora1_state import GenerationJob, generation_jobs
from ._standalone import EXAMPLE_KEY, run_standalone
from ._state import Character, JobFailure, JobStore, RecordedRequest, VideoJob

__all__ = [
    "API_PREFIXES",
    "DEFAULT_BLOCKED_WORDS",
    "DEFAULT_PROGRESS_CURVE",
    "EXAMPLE_KEY",
    "INSTALL_HINT",
    "LYING_KINDS",
    "PROGRESS_CURVES",
    "SURFACES",
    "Call",
    "Character",
    "Emulator",
    "Fault",
    "FaultKind",
    "FaultSet",
    "GenerationJob",
    "JobFailure",
    "JobStore",
    "PlaceholderRenderer",
    "ProgressCurve",
    "RecordedRequest",
    "Renderer",
    "Routes",
    "ServerInfo",
    "ServiceContext",
    "StateDir",
    "VideoJob",
    "default_state_dir",
    "generation_jobs",
    "parse_fault_header",
    "parse_fault_spec",
    "pyav_missing",
    "read_server",
    "register_generation_jobs_routes",
    "run_standalone",
]
