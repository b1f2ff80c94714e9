"""Batch generation: many prompts, a bounded number of jobs in flight, failures isolated.

    python examples/batch.py --emulator --concurrency 2
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _support import connect, parser

from foundry_video import FoundryVideoError, VideoClient

PROMPTS = [
    "A paper boat drifting down a rain-soaked street, macro lens",
    "Time-lapse of a city skyline from dusk to night",
    "A hummingbird hovering at a red flower, slow motion",
]


# --8<-- [start:batch]
async def generate_all(
    client: VideoClient, prompts: list[str], out_dir: Path, *, concurrency: int = 2
) -> dict[str, Path | FoundryVideoError]:
    """Generate every prompt; at most ``concurrency`` jobs run at once."""
    slots = asyncio.Semaphore(concurrency)  # the service also caps running jobs per resource

    async def one(index: int, prompt: str) -> Path:
        async with slots:  # held from create to download: a slot is a running job
            job = await client.videos.create(prompt=prompt, size="720x1280", seconds=4)
            print(f"[{index}] {job.id} started")
            return await job.result(out_dir / f"batch-{index:02d}.mp4", timeout=20 * 60)

    outcomes = await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)),
                                    return_exceptions=True)
    results: dict[str, Path | FoundryVideoError] = {}
    for prompt, outcome in zip(prompts, outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, FoundryVideoError):
            raise outcome  # a bug, not a service failure: don't hide it
        results[prompt] = outcome
    return results
# --8<-- [end:batch]


async def main(argv: list[str] | None = None) -> dict[str, Path | FoundryVideoError]:
    p = parser(__doc__)
    p.add_argument("--concurrency", type=int, default=2)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    async with connect(args.emulator) as client:
        results = await generate_all(client, PROMPTS, args.out, concurrency=args.concurrency)
    for prompt, outcome in results.items():
        print(f"{'FAILED' if isinstance(outcome, Exception) else 'ok':6} {prompt[:40]!r}: {outcome}")
    return results


if __name__ == "__main__":
    asyncio.run(main())
