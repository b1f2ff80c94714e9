"""The local side of a download: checking the target early, the part file, the commit.

* :func:`check_target` runs before anything is created or polled, so a read-only volume,
  a missing permission, a full disk or a directory in the way fails in a second instead of
  after a job of minutes (that was paid for).
* :class:`PartFile` is the hidden ``.NAME.<key>.part`` file bytes go to. Its name is
  derived from what is downloaded, and it is locked (``flock``) while written, so a
  download killed with ``SIGKILL`` is *resumed* from its part file by the next download
  of the same content, and part files nobody holds are cleaned up after a success.
* Every blocking step runs in a worker thread whose outcome is handled even when the
  awaiting task is cancelled (``task.cancel()``, ``asyncio.wait_for``, anyio scopes):
  a file created by a thread whose caller went away is closed and removed, never leaked.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from ._errors import OutputFileError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no reuse of part files, unique names
    fcntl = None  # type: ignore[assignment]

__all__ = ["PartFile", "check_target", "content_key", "in_thread"]

logger = logging.getLogger("foundry_video")

MIN_FREE_BYTES = 1 << 20
"""Less free space than this on the target's volume fails the early check."""
T = TypeVar("T")


def content_key(api_path: str, params: Mapping[str, object] | None) -> str:
    """A short stable name for what is downloaded (the same content gets the same part file)."""
    text = api_path + "?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_target(target: Path, *, job_id: str | None = None) -> Path:
    """Raise :class:`OutputFileError` unless a file can be saved at ``target``; return it.

    Checks that ``target`` is not a directory, that its nearest existing ancestor is a
    directory on a writable volume in which a file can be created (a probe file is made
    and removed), and that the volume has some free space. Blocking but quick: it runs
    before any request. A directory that passed is not checked again for a few seconds (a
    batch saves thousands of files there).
    """
    target = Path(target).expanduser()

    def fail(message: str, code: int) -> OutputFileError:
        return OutputFileError(message, path=target, job_id=job_id, errno=code)

    if target.is_dir():
        raise fail(f"{target} is a directory; give a file path such as {target / 'out.mp4'}",
                   errno.EISDIR)
    checked = _checked_directories.get(target.parent)
    if checked is not None and time.monotonic() - checked < DIRECTORY_CHECK_TTL:
        return target
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise fail(f"cannot create {target.parent}: {parent} is a file, not a directory",
                   errno.ENOTDIR)
    try:
        stats = os.statvfs(parent)
    except (AttributeError, OSError):  # no statvfs (Windows)
        stats = None
    if stats is not None and stats.f_flag & getattr(os, "ST_RDONLY", 1):
        raise fail(f"cannot write {target}: {parent} is on a read-only volume", errno.EROFS)
    try:
        # A real file, not os.access(): that says yes to root on a read-only bind mount,
        # and knows nothing of ACLs or quotas.
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".foundry-video-probe-")
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise fail(f"cannot write {target}: {reason} in {parent}",
                   exc.errno or errno.EACCES) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    if stats is not None and stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
        raise fail(f"cannot write {target}: the volume of {parent} is full", errno.ENOSPC)
    if parent == target.parent:
        if len(_checked_directories) > 256:
            _checked_directories.clear()
        _checked_directories[parent] = time.monotonic()
    return target


DIRECTORY_CHECK_TTL = 5.0
_checked_directories: dict[Path, float] = {}


@functools.cache
def _io_threads() -> ThreadPoolExecutor:
    """Worker threads for file steps that must finish whatever happens to their caller."""
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="foundry-video-io")


# A forked child inherits the pool but not its threads, and the pool counts them as idle:
# work queued there would wait forever (multiprocessing's "fork", gunicorn --preload and
# Dask's forked workers download after a fork). The child gets a pool of its own.
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_io_threads.cache_clear)


async def in_thread(function: Callable[[], T], *,
                    on_abandon: Callable[[T], None] | None = None) -> T:
    """Run blocking ``function`` in a worker thread and return its result.

    The function always runs to its end, even when the awaiting task is cancelled
    meanwhile (by anyio, or by asyncio's own ``task.cancel()``, which anyio's shield does
    not stop, and which can keep an anyio worker from ever starting a queued function):
    its result then goes to ``on_abandon`` (e.g. to close and remove a file it created)
    instead of being lost.
    """
    future = asyncio.get_running_loop().run_in_executor(_io_threads(), function)
    try:
        return await asyncio.shield(future)
    except BaseException:
        def settle(done: asyncio.Future[T]) -> None:
            if on_abandon is not None and not done.cancelled() and done.exception() is None:
                on_abandon(done.result())

        if future.done():
            settle(future)
        else:
            future.add_done_callback(settle)
        raise


@dataclass
class PartFile:
    """The hidden file a download writes to, beside its target."""

    handle: IO[bytes]
    path: Path
    target: Path
    resumed: int
    """Bytes already in the file from an earlier, interrupted download of the same content."""

    @classmethod
    def open(cls, target: Path, key: str) -> PartFile:
        """Open (blocking) the part file for ``target``: reuse ``.NAME.<key>.part`` when no
        other process holds it, else a fresh unique one."""
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, f"{target} is a directory; give a file path")
        target.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is not None:
            path = target.parent / f".{target.name}.{key}.part"
            fd = _open_keyed(path)
            if fd is not None:
                size = os.fstat(fd).st_size
                handle = os.fdopen(fd, "r+b")
                handle.seek(size)
                if size:
                    logger.info("resuming %s from %d bytes left by an interrupted download",
                                target, size)
                return cls(handle, path, target, size)
        while True:
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part")
            if fcntl is None:
                break
            _try_lock(fd)  # held, so that another download's sweep leaves it alone
            if _names(Path(name), fd):
                break
            os.close(fd)  # swept before we locked it: make another
        return cls(os.fdopen(fd, "r+b"), Path(name), target, 0)

    def discard(self) -> None:
        """Close and remove the part file (blocking; safe to call twice)."""
        with contextlib.suppress(OSError):
            self.handle.close()
        self.path.unlink(missing_ok=True)

    def commit(self) -> None:
        """Flush, fsync, rename over the target, fsync the directory (blocking).

        Then (once per directory and process) removes part files that no process holds any
        more, left by downloads that were killed and never resumed with the same content.
        """
        try:
            self.handle.flush()
            os.fchmod(self.handle.fileno(), _new_file_mode())
            os.fsync(self.handle.fileno())
            # Renamed while still locked: a download of the same content that opens the
            # part file's name from now on gets a new file, never this one.
            os.replace(self.path, self.target)
            self.handle.close()  # releases the lock
        except BaseException:
            self.discard()
            raise
        _fsync_directory(self.target.parent)
        self._sweep()

    def _sweep(self) -> None:
        sweep_directory(self.target.parent)


_swept: set[str] = set()
_swept_lock = threading.Lock()
ABANDONED_AFTER = 60.0
"""A part file untouched this long and locked by nobody was left by a dead download."""


def sweep_directory(directory: Path) -> None:
    """Remove part files in ``directory`` that no process holds and nobody touched for a
    minute (blocking). Done once per directory per process: listing a
    directory of thousands of videos after every download would cost O(n^2)."""
    key = str(directory.resolve())
    with _swept_lock:
        if key in _swept or fcntl is None:
            return
        _swept.add(key)
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".part")):
            continue
        try:
            if now - entry.stat().st_mtime < ABANDONED_AFTER:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            stale = Path(entry.path)
            if _try_lock(fd) and _names(stale, fd):  # else in use, or already gone
                stale.unlink(missing_ok=True)
                logger.debug("removed the abandoned part file %s", stale)
        finally:
            os.close(fd)


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` exclusively without waiting; False when another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the open file ``fd``: between opening a part file and
    locking it, another download may have swept it or renamed it over its target."""
    try:
        named, opened = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _open_keyed(path: Path) -> int | None:
    """The locked descriptor of the part file ``path`` (created if missing); ``None`` when
    another download holds it or the name is too long for the file system."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
            return None
        if not _try_lock(fd):
            os.close(fd)
            return None  # another download of the same content is running
        if _names(path, fd):
            return fd
        os.close(fd)  # swept or committed between our open and our lock: open it again


@functools.cache
def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file (a part file's 0600 is too strict for a video)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def as_output_error(exc: OSError, target: Path, job_id: str | None) -> OutputFileError:
    """A local file failure (disk full, read-only, permission) as a typed error with the job id."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return OutputFileError(f"could not save {target}: {reason}", path=target, job_id=job_id,
                           errno=exc.errno)


_FALLOC_FL_KEEP_SIZE = 1


@functools.cache
def _fallocate() -> Callable[[int, int, int, int], int] | None:
    """libc's ``fallocate(2)`` (Linux), which Python does not expose with its flags."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
    function.restype = ctypes.c_int
    return function


def reserve(handle: IO[bytes], offset: int, length: int) -> None:
    """Reserve disk blocks for ``[offset, offset + length)`` without changing the file size.

    One extent instead of many small allocations, and the part file's size keeps meaning
    "bytes received", which is what a resumed download starts from (``posix_fallocate``
    would grow the size to the full length at once). Best effort: skipped where
    unsupported.
    """
    fallocate = _fallocate()
    if fallocate is not None:  # a zero length fails with EINVAL, harmlessly
        fallocate(handle.fileno(), _FALLOC_FL_KEEP_SIZE, offset, length)
