"""Transports: the seam between the request pipeline and the network."""

from __future__ import annotations

from .base import AsyncByteStream, AsyncTransport, ByteStream, Request, Response

__all__ = ["AsyncByteStream", "AsyncTransport", "ByteStream", "Request", "Response"]
