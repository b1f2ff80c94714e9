"""Quickstart without async: a plain script, as in a cron job or a Flask/Django view.

    python examples/sync_quickstart.py --emulator   # try it without an Azure account
    python examples/sync_quickstart.py              # uses AZURE_OPENAI_ENDPOINT / _API_KEY

Ctrl-C while it waits leaves the job running on the service and prints how to resume it.
"""

from __future__ import annotations

from pathlib import Path

from _support import connect_sync, parser

from foundry_video import JobEvent, JobProgress, JobQueued, SyncVideoClient


# --8<-- [start:generate]
def generate(client: SyncVideoClient, out_dir: Path) -> Path:
    job = client.videos.create(
        prompt="A lighthouse on a cliff in a storm, waves crashing, cinematic",
        model="sora-2",      # on Azure: your deployment name
        size="1280x720",
        seconds=4,
    )
    print(f"created {job.id}")  # keep the id: client.videos.job(id) re-attaches later

    def show(event: JobEvent) -> None:
        if isinstance(event, JobQueued):
            print("  queued")
        elif isinstance(event, JobProgress):
            print(f"  {event.status}: {event.progress or 0}%")

    video = job.result(out_dir / "sync_quickstart.mp4", on_progress=show)  # poll + download
    print(f"saved {video} ({video.stat().st_size:,} bytes)")
    for recent in client.videos.list(limit=5):  # pages are fetched as the loop needs them
        print(f"  {recent.id}  {recent.status}")
    return video
# --8<-- [end:generate]


def main(argv: list[str] | None = None) -> Path:
    args = parser(__doc__).parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with connect_sync(args.emulator) as client:
        return generate(client, args.out)


if __name__ == "__main__":
    main()
