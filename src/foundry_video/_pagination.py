"""Cursor pagination: ``await`` for one page, ``async for`` over every item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound="CursorPage[Any]")


class CursorPage(Protocol[ItemT]):
    """What a page must offer: items, whether more exist, and the last item's id."""

    @property
    def data(self) -> list[ItemT]: ...

    @property
    def has_more(self) -> bool: ...

    @property
    def last_id(self) -> str | None: ...


class AsyncPager(Generic[ItemT, PageT]):
    """Returned by ``list()`` methods.

    ``page = await client.videos.list(limit=20)`` fetches one page;
    ``async for video in client.videos.list()`` walks every page, following ``after``
    cursors until ``has_more`` is false. ``async for page in pager.pages()`` yields pages.
    """

    def __init__(self, fetch: Callable[[str | None], Awaitable[PageT]],
                 after: str | None = None) -> None:
        self._fetch = fetch
        self._after = after

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._fetch(self._after).__await__()

    async def pages(self) -> AsyncIterator[PageT]:
        """Yield each page in turn."""
        cursor = self._after
        while True:
            page = await self._fetch(cursor)
            yield page
            items: list[Any] = page.data
            next_cursor = page.last_id or (getattr(items[-1], "id", None) if items else None)
            if not page.has_more or not items or not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor

    async def __aiter__(self) -> AsyncIterator[ItemT]:
        async for page in self.pages():
            for item in page.data:
                yield item
