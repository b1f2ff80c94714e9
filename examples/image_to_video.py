"""Image to video: animate a still image (it becomes the first frame).

    python examples/image_to_video.py --emulator                  # uses a generated gradient
    python examples/image_to_video.py --image sunset.png          # your own 1280x720 image
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _support import connect, gradient_png, parser

from foundry_video import VideoClient


# --8<-- [start:animate]
async def animate(client: VideoClient, image: Path, out_dir: Path) -> Path:
    job = await client.videos.create(
        prompt="The sun sets slowly over a calm sea; gentle waves, warm light",
        size="1280x720",          # the image must have exactly this size
        seconds=4,
        input_reference=image,    # a path, bytes or a binary file: sent as multipart
    )
    return await job.result(out_dir / "image-to-video.mp4")
# --8<-- [end:animate]


async def main(argv: list[str] | None = None) -> Path:
    p = parser(__doc__)
    p.add_argument("--image", type=Path, default=None, help="a 1280x720 PNG, JPEG or WebP")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    image = args.image
    if image is None:
        image = args.out / "first-frame.png"
        image.write_bytes(gradient_png(1280, 720))
    async with connect(args.emulator) as client:
        path = await animate(client, image, args.out)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    asyncio.run(main())
