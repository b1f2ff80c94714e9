"""The private event-loop thread behind :class:`~foundry_video.SyncVideoClient`.

One anyio blocking portal (an event loop in a daemon thread) owns the async
:class:`~foundry_video.VideoClient`. Every blocking call runs a coroutine there as one
portal task and waits for its outcome in the calling thread:

* the wait wakes up regularly, so Ctrl-C reaches a main thread blocked in a call (lock
  waits are not interruptible on every platform);
* when the caller stops waiting (Ctrl-C, an exception in its own code, an iterator closed
  early), the task is cancelled and its cleanup (temporary files) finishes before the
  caller's exception propagates;
* items a task produces on the way (job events, pages) are handed over one at a time, on
  demand: the task waits until the caller asks for the next one, as an async generator
  would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

if TYPE_CHECKING:
    from .._client import VideoClient

logger = logging.getLogger("foundry_video")

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")
Emit = Callable[[T], Awaitable[None]]
"""Hands one item from the portal task to the waiting thread (and waits to be asked for more)."""

WAKE_INTERVAL = 0.25
"""Seconds between checks for Ctrl-C while a thread waits for the portal."""
CLEANUP_TIMEOUT = 15.0
"""How long an interrupted call, or closing, waits for cancelled work to clean up. Long
enough for a shielded ``cancel_remote`` delete (10 s); a second Ctrl-C stops waiting."""

_ITEM, _RETURN, _RAISE = "item", "return", "raise"


class ClientClosedError(RuntimeError):
    """The :class:`~foundry_video.SyncVideoClient` was closed (before or during the call)."""


class _Call(Generic[T, R]):
    """One portal task and the queue through which its outcomes reach the waiting thread."""

    def __init__(self, start: Callable[[Emit[T]], Awaitable[R]],
                 active: dict[anyio.CancelScope, anyio.Event]) -> None:
        self._start = start
        self._active = active
        self.outcomes: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._resume: anyio.Event | None = None
        self._lock = threading.Lock()
        self._scope: anyio.CancelScope | None = None
        self._abandoned = False
        self.finished = False

    async def run(self) -> None:
        """The portal task: run ``start``; report items, the result or the exception."""
        finished = anyio.Event()
        with anyio.CancelScope() as scope:
            with self._lock:
                if self._abandoned:  # the caller gave up before the task even started
                    return
                self._scope = scope
            self._active[scope] = finished
            try:
                result = await self._start(self._emit)
            except BaseException as exc:
                self.outcomes.put((_RAISE, exc))
                if not isinstance(exc, Exception):
                    raise  # cancellation must reach the cancel scope that asked for it
            else:
                self.outcomes.put((_RETURN, result))
            finally:
                del self._active[scope]
                finished.set()

    async def _emit(self, item: T) -> None:
        self._resume = anyio.Event()
        self.outcomes.put((_ITEM, item))
        await self._resume.wait()

    def resume(self) -> None:
        """Let the task go on to its next item (runs in the portal's thread)."""
        if self._resume is not None:
            self._resume.set()

    def abandon(self) -> anyio.CancelScope | None:
        """Stop the task from starting; return its cancel scope if it already has."""
        with self._lock:
            self._abandoned = True
            return self._scope


class Runtime:
    """A blocking portal that owns one async ``VideoClient`` (private to ``_sync``).

    ``Runtime(make_client)`` starts the thread and builds the client inside its loop;
    :meth:`close` (also run by a finalizer when the runtime is garbage-collected or the
    interpreter exits) cancels what is still running, closes the client and stops the thread.
    """

    def __init__(self, make_client: Callable[[], VideoClient]) -> None:
        self._pid = os.getpid()
        self._active: dict[anyio.CancelScope, anyio.Event] = {}
        portal_cm = start_blocking_portal()
        self._portal: BlockingPortal = portal_cm.__enter__()
        self._loop_thread = self._portal.call(_name_thread, "foundry-video-sync")
        try:
            self.client: VideoClient = self._portal.call(make_client)
        except BaseException:
            _stop_portal(portal_cm, self._portal)
            raise
        self._finalizer = weakref.finalize(
            self, _shutdown, portal_cm, self._portal, self.client, self._active,
            self._loop_thread, self._pid)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (or the finalizer did)."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Cancel running calls, close the async client and stop the thread. Idempotent."""
        self._finalizer()

    def call_soon(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a plain function in the loop thread (for anything touching the async client)."""
        self._check_usable()
        # Boxed: the portal would await an awaitable result (a Job, a pager) itself.
        return self._portal.call(lambda: (fn(*args, **kwargs),))[0]

    def call(self, fn: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``await fn(*args, **kwargs)`` in the portal; block (interruptibly) for the result."""

        async def start(emit: Emit[Any]) -> R:
            return await fn(*args, **kwargs)

        return self.drive(start, None)

    def drive(self, start: Callable[[Emit[T]], Awaitable[R]],
              handler: Callable[[T], object] | None) -> R:
        """Run ``start(emit)`` in the portal; call ``handler`` here with each emitted item."""
        items = self.stream(start)
        try:
            while True:
                try:
                    item = next(items)
                except StopIteration as stop:
                    result: R = stop.value
                    return result
                if handler is not None:
                    handler(item)
        finally:
            items.close()

    def stream(self, start: Callable[[Emit[T]], Awaitable[R]]) -> Generator[T, None, R]:
        """Yield what ``start(emit)`` emits, one item per request; return its result.

        Closing the generator early (or an exception while waiting, such as Ctrl-C)
        cancels the task and waits for its cleanup.
        """
        self._check_usable()
        call: _Call[T, R] = _Call(start, self._active)
        try:
            try:
                self._portal.start_task_soon(call.run, name="foundry-video call")
            except RuntimeError as exc:  # the portal stopped between the check and now
                raise ClientClosedError("this SyncVideoClient is closed") from exc
            while True:
                kind, value = self._next_outcome(call)
                if kind == _ITEM:
                    yield value
                    self._check_usable()
                    self._portal.call(call.resume)
                    continue
                call.finished = True
                if kind == _RETURN:
                    result: R = value
                    return result
                if isinstance(value, Exception):
                    raise value
                if isinstance(value, asyncio.CancelledError):  # the portal runs asyncio
                    raise ClientClosedError("the SyncVideoClient was closed during this call")
                raise value
        finally:
            if not call.finished:
                self._cancel(call)

    def _next_outcome(self, call: _Call[Any, Any]) -> tuple[str, Any]:
        while True:
            try:
                return call.outcomes.get(timeout=WAKE_INTERVAL)
            except queue.Empty:
                if self.closed:  # close() cancels the task; it may never get to report that
                    raise ClientClosedError("the SyncVideoClient was closed during this call") \
                        from None

    def _cancel(self, call: _Call[Any, Any]) -> None:
        """Cancel the task and wait (bounded; a second Ctrl-C ends the wait) for its cleanup."""
        call.finished = True
        scope = call.abandon()
        if scope is None:
            return  # it never started (and now never will)
        try:
            self._portal.call(scope.cancel)
        except RuntimeError:
            return  # the portal is closed: close() waited for the cleanup
        waited = 0.0
        while waited < CLEANUP_TIMEOUT:
            try:
                kind, _ = call.outcomes.get(timeout=WAKE_INTERVAL)
            except queue.Empty:
                waited += WAKE_INTERVAL
                if self.closed:
                    return  # close() waits for the cleanup instead
                continue
            if kind != _ITEM:
                return
        logger.warning("a cancelled call did not finish cleaning up within %gs", CLEANUP_TIMEOUT)

    def _check_usable(self) -> None:
        if os.getpid() != self._pid:
            raise RuntimeError("a SyncVideoClient cannot be used in a forked process: its event-loop "
                               "thread stayed in the parent; create a new client in this process")
        if self.closed:
            raise ClientClosedError("this SyncVideoClient is closed")
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("a SyncVideoClient cannot be called from its own event-loop thread")


def _name_thread(name: str) -> int:
    """Name the portal's thread (for debuggers and thread dumps); return its id."""
    threading.current_thread().name = name
    return threading.get_ident()


def _stop_portal(portal_cm: AbstractContextManager[BlockingPortal], portal: BlockingPortal) -> None:
    try:
        portal.call(portal.stop, True)  # cancel whatever is left instead of waiting for it
    except RuntimeError:
        pass  # already stopped
    portal_cm.__exit__(None, None, None)  # joins the thread


def _shutdown(portal_cm: AbstractContextManager[BlockingPortal], portal: BlockingPortal,
              client: VideoClient, active: dict[anyio.CancelScope, anyio.Event], loop_thread: int,
              pid: int) -> None:
    """Close everything (the finalizer: holds no reference to the runtime itself)."""
    if os.getpid() != pid:
        return  # a forked child: the thread and the sockets belong to the parent
    if threading.get_ident() == loop_thread:
        # Garbage collection ran the finalizer on the loop thread, which cannot wait for
        # itself: close from a helper thread instead.
        threading.Thread(target=_shutdown, name="foundry-video-close", daemon=True,
                         args=(portal_cm, portal, client, active, -1, pid)).start()
        return

    async def close_in_loop() -> None:
        running = list(active.items())
        for scope, _ in running:
            scope.cancel()
        with anyio.move_on_after(CLEANUP_TIMEOUT):
            for _, finished in running:
                await finished.wait()
        await client.close()

    try:
        portal.call(close_in_loop)
    except RuntimeError:
        pass  # the portal is already gone
    except Exception as exc:  # closing must not raise at interpreter exit
        logger.warning("error while closing the SyncVideoClient: %s", exc)
    finally:
        _stop_portal(portal_cm, portal)
