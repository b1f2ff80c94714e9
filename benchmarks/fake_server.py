"""A minimal, fast fake of the Videos API for benchmarks (run it in its own process).

It is a bare ``asyncio.Protocol`` HTTP/1.1 server, not an aiohttp application: the
responses are prebuilt bytes with only the video id spliced in, and the one large asset
is sent from a file with ``loop.sendfile`` (``os.sendfile`` underneath, zero copies in
user space). The point is that the *server* must never be what a benchmark measures;
``run.py`` samples this process's CPU time during every run to prove it.

Routes (under any prefix, e.g. ``/openai/v1``):

* ``POST .../videos`` → a ``queued`` Video with a fresh id.
* ``GET .../videos/{id}`` → ``completed`` once the job has been polled
  ``--polls-to-complete`` times (default 1: the first status request completes it),
  ``in_progress`` before that.
* ``GET .../videos/{id}/content`` → ``--tiny-bytes`` bytes from memory, or the file given
  with ``--big-file`` (sendfile, ``Range: bytes=N-`` honoured) when the id starts with
  ``video_big``.
* anything else → 404 with the OpenAI error envelope.

Usage: ``python fake_server.py [--port 0] [--big-file PATH]``; it prints
``PORT <n>`` on stdout once listening and serves until stdin closes or it is signalled.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import sys
from typing import IO

_VIDEO_TEMPLATE = {
    "id": "__ID__", "object": "video", "model": "sora-2", "status": "__STATUS__",
    "progress": 0, "created_at": 1760627796, "completed_at": None, "expires_at": None,
    "prompt": "benchmark", "size": "1280x720", "seconds": "4",
    "remixed_from_video_id": None, "error": None,
}
_RANGE = re.compile(rb"bytes=(\d+)-")


def _video_json(status: str, progress: int) -> tuple[bytes, bytes]:
    """The Video body split around its id, so a response is ``head + id + tail``."""
    body = dict(_VIDEO_TEMPLATE, status=status, progress=progress)
    if status == "completed":
        body.update(completed_at=1760627863, expires_at=4102444800)
    head, tail = json.dumps(body, separators=(",", ":")).encode().split(b"__ID__")
    return head, tail


class State:
    """Everything the protocol instances share: prebuilt bodies, job counters, the big file."""

    def __init__(self, *, tiny_bytes: int, big_file: str | None, polls_to_complete: int,
                 poll_after_ms: int | None) -> None:
        self.queued = _video_json("queued", 0)
        self.running = _video_json("in_progress", 50)
        self.completed = _video_json("completed", 100)
        self.tiny = os.urandom(tiny_bytes) if tiny_bytes else b""
        self.big_file = big_file
        self.big_size = os.path.getsize(big_file) if big_file else 0
        self.polls_to_complete = polls_to_complete
        self.polls: dict[bytes, int] = {}
        self.ids = itertools.count(1)
        extra = b""
        if poll_after_ms is not None:
            extra = b"openai-poll-after-ms: %d\r\n" % poll_after_ms
        self.json_extra = extra
        self.requests = 0


def _head(status: bytes, content_type: bytes, length: int, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type
            + b"\r\nContent-Length: " + str(length).encode() + b"\r\n" + extra + b"\r\n")


class FakeVideosProtocol(asyncio.Protocol):
    """One connection: parse pipelined HTTP/1.1 requests from a buffer, answer from memory."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a sendfile is in flight; queue further requests until it ends

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        while not self.busy:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            lines = head.split(b"\r\n")
            try:
                method, target, _ = lines[0].split(b" ", 2)
            except ValueError:
                self._close()
                return
            headers: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            body_start = end + 4
            if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                consumed = _chunked_length(self.buffer, body_start)
                if consumed is None:
                    return
                del self.buffer[:consumed]
            else:
                length = int(headers.get(b"content-length", b"0"))
                if len(self.buffer) < body_start + length:
                    return
                del self.buffer[:body_start + length]
            self.state.requests += 1
            self._respond(method, target, headers)

    def _respond(self, method: bytes, target: bytes, headers: dict[bytes, bytes]) -> None:
        assert self.transport is not None
        state = self.state
        path = target.split(b"?", 1)[0]
        parts = path.rstrip(b"/").split(b"/")
        if method == b"POST" and parts[-1] == b"videos":
            video_id = b"video_%d" % next(state.ids)
            self._send_json(state.queued, video_id)
            return
        if method == b"GET" and len(parts) >= 2 and parts[-2] == b"videos":
            video_id = parts[-1]
            seen = state.polls.get(video_id, 0) + 1
            if seen >= state.polls_to_complete:
                state.polls.pop(video_id, None)
                self._send_json(state.completed, video_id)
            else:
                state.polls[video_id] = seen
                self._send_json(state.running, video_id)
            return
        if method == b"GET" and len(parts) >= 3 and parts[-1] == b"content":
            if parts[-2].startswith(b"video_big") and state.big_file:
                start = 0
                match = _RANGE.match(headers.get(b"range", b""))
                if match:
                    start = min(int(match.group(1)), state.big_size)
                self._send_file(start)
                return
            self.transport.write(_head(b"200 OK", b"video/mp4", len(state.tiny)) + state.tiny)
            return
        body = b'{"error":{"message":"no such route","type":"invalid_request_error","code":"not_found"}}'
        self.transport.write(_head(b"404 Not Found", b"application/json", len(body)) + body)

    def _send_json(self, parts: tuple[bytes, bytes], video_id: bytes) -> None:
        assert self.transport is not None
        body = parts[0] + video_id + parts[1]
        self.transport.write(_head(b"200 OK", b"application/json", len(body),
                                   self.state.json_extra) + body)

    def _send_file(self, start: int) -> None:
        assert self.transport is not None and self.state.big_file is not None
        size = self.state.big_size
        if start:
            head = _head(b"206 Partial Content", b"video/mp4", size - start,
                         b"Content-Range: bytes %d-%d/%d\r\n" % (start, size - 1, size))
        else:
            head = _head(b"200 OK", b"video/mp4", size, b"Accept-Ranges: bytes\r\n")
        self.transport.write(head)
        self.busy = True
        asyncio.get_running_loop().create_task(self._sendfile(start, size - start))

    async def _sendfile(self, start: int, count: int) -> None:
        assert self.transport is not None and self.state.big_file is not None
        try:
            with open(self.state.big_file, "rb") as handle:  # noqa: ASYNC230 (a local open)
                await asyncio.get_running_loop().sendfile(self.transport, handle, start, count)
        except (ConnectionError, RuntimeError):
            self._close()
            return
        self.busy = False
        if self.buffer:
            self._process()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _chunked_length(buffer: bytearray, start: int) -> int | None:
    """Bytes used by a complete chunked body starting at ``start`` (None if incomplete)."""
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2 + size + 2
        if len(buffer) < pos:
            return None
        if size == 0:
            return pos


def make_big_file(path: str, size: int) -> None:
    """Write ``size`` bytes of incompressible data to ``path`` (reused when already right)."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            n = min(remaining, len(block))
            handle.write(block[:n])
            remaining -= n


async def serve(args: argparse.Namespace, out: IO[str]) -> None:
    """Listen on 127.0.0.1, announce the port, run until stdin closes or SIGTERM."""
    state = State(tiny_bytes=args.tiny_bytes, big_file=args.big_file,
                  polls_to_complete=args.polls_to_complete, poll_after_ms=args.poll_after_ms)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FakeVideosProtocol(state), "127.0.0.1", args.port,
                                      backlog=1024)
    port = server.sockets[0].getsockname()[1]
    out.write(f"PORT {port}\n")
    out.flush()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Also stop when the parent goes away (its end of our stdin closes).
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(0, 4096) else None)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tiny-bytes", type=int, default=16 * 1024)
    parser.add_argument("--big-file", default=None)
    parser.add_argument("--polls-to-complete", type=int, default=1)
    parser.add_argument("--poll-after-ms", type=int, default=None)
    args = parser.parse_args(argv)
    asyncio.run(serve(args, sys.stdout))


if __name__ == "__main__":
    main()
