"""The emulator's state directory: jobs kept on disk, shared by every emulator using it.

``Emulator(state_dir=...)`` (``foundry-video emulator`` and the ``--emulator`` commands)
keeps its jobs in ``<state_dir>/state.json`` so they outlive the process: a job created by
one command can be listed, waited for or deleted by the next. Several processes may use
one directory at once: around every request an emulator *syncs* — under an exclusive
``flock`` on ``state.lock`` it re-reads the file, applies its own changes job by job
(added, changed, deleted), writes the result atomically and loads it. Two processes
creating jobs at the same time therefore both keep their jobs; the last write of the
*same* job wins. Job timing is wall-clock time, so a job keeps progressing while no
emulator runs.

A standalone emulator also writes ``server.json`` (its port and a random instance id) so
the ``--emulator`` commands can find it and send their requests there instead of starting
their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ._sora1_state import GenerationJob, generation_jobs
from ._state import Character, EmulatorState, JobFailure, JobStore, VideoJob

__all__ = ["ServerInfo", "StateDir", "default_state_dir", "read_server"]

log = logging.getLogger("foundry_video.emulator")

FORMAT = 1
STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
SERVER_FILE = "server.json"
INPUTS_DIR = "inputs"
MAX_JOBS_PER_STORE = 1000
"""The file keeps the newest jobs of each kind (older ones are dropped when it is written)."""
MAX_TOMBSTONES = 1000

T = TypeVar("T")
Serialized = dict[str, dict[str, str]]
"""``{store name: {job id: canonical JSON}}``: what a sync compares."""


def default_state_dir() -> Path:
    """``$FOUNDRY_VIDEO_STATE_DIR``, else ``foundry-video/emulator`` in the user's cache dir.

    The cache dir is ``$XDG_CACHE_HOME`` or ``~/.cache`` (Linux and others),
    ``~/Library/Caches`` (macOS) or ``%LOCALAPPDATA%`` (Windows).
    """
    override = os.environ.get("FOUNDRY_VIDEO_STATE_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "foundry-video" / "emulator"


# -- the job types on disk ----------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    store: Callable[[EmulatorState], JobStore[Any]]
    build: Callable[[dict[str, Any]], Any]


def _video(data: dict[str, Any]) -> VideoJob:
    failure = data.pop("failure", None)
    return VideoJob(**data, failure=JobFailure(**failure) if isinstance(failure, dict) else None)


_KINDS: dict[str, _Kind] = {
    "videos": _Kind(lambda state: state.videos, _video),
    "characters": _Kind(lambda state: state.characters, lambda data: Character(**data)),
    "generation_jobs": _Kind(generation_jobs, lambda data: GenerationJob(**data)),
}


def _fields(job: Any) -> dict[str, Any]:
    return {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}


class StateDir:
    """One emulator's view of a state directory (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.mkdir(parents=True, exist_ok=True)
        self._file = self.path / STATE_FILE
        self._snapshot: Serialized = {}
        self._seen: tuple[int, int, int] | None = None
        self._images: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"StateDir({str(self.path)!r})"

    # -- syncing -------------------------------------------------------------------------

    def sync(self, state: EmulatorState) -> None:
        """Merge this process's changes into the file and load everyone else's."""
        local = self._serialize(state)
        changed = {name: {job_id: text for job_id, text in jobs.items()
                          if self._snapshot.get(name, {}).get(job_id) != text}
                   for name, jobs in local.items()}
        deleted = {name: [job_id for job_id in jobs if job_id not in local.get(name, {})]
                   for name, jobs in self._snapshot.items()}
        dirty = any(changed.values()) or any(deleted.values())
        if not dirty and self._stat() == self._seen:
            return
        with self._locked():
            disk = self._read()
            if dirty:
                self._apply(disk, state, changed, deleted)
                self._write(disk)
            self._seen = self._stat()
        self._load(state, disk)

    def _apply(self, disk: dict[str, Any], state: EmulatorState,
               changed: dict[str, dict[str, str]], deleted: dict[str, list[str]]) -> None:
        stores = disk.setdefault("stores", {})
        for name in _KINDS:
            entry = stores.setdefault(name, {"jobs": {}, "tombstones": {}})
            jobs, tombstones = entry["jobs"], entry["tombstones"]
            for job_id, text in changed.get(name, {}).items():
                jobs[job_id] = json.loads(text)
            local_tombstones = _KINDS[name].store(state).tombstones()
            for job_id in deleted.get(name, []):
                gone = jobs.pop(job_id, None)
                key = local_tombstones.get(job_id)
                if key is None and isinstance(gone, dict):
                    key = (gone.get("created", 0.0), gone.get("seq", 0))
                if key is not None:
                    tombstones[job_id] = list(key)
            if len(jobs) > MAX_JOBS_PER_STORE:
                newest = sorted(jobs.items(), key=lambda item: item[1].get("created", 0.0))
                entry["jobs"] = dict(newest[-MAX_JOBS_PER_STORE:])
            if len(tombstones) > MAX_TOMBSTONES:
                entry["tombstones"] = dict(list(tombstones.items())[-MAX_TOMBSTONES:])

    # -- (de)serializing -------------------------------------------------------------------

    def _serialize(self, state: EmulatorState) -> Serialized:
        out: Serialized = {}
        for name, kind in _KINDS.items():
            jobs: dict[str, str] = {}
            for job in kind.store(state):
                data = _fields(job)
                image = data.pop("input_image", None)
                if image is not None:
                    data["input_image"] = self._save_image(image)
                if isinstance(data.get("failure"), JobFailure):
                    data["failure"] = dataclasses.asdict(data["failure"])
                if not isinstance(data.get("progress_curve", ""), str):
                    del data["progress_curve"]  # a function: not kept (the default on load)
                jobs[job.id] = json.dumps(data, sort_keys=True, default=str)
            out[name] = jobs
        return out

    def _load(self, state: EmulatorState, disk: dict[str, Any]) -> None:
        snapshot: Serialized = {}
        for name, kind in _KINDS.items():
            entry = disk.get("stores", {}).get(name, {})
            jobs = []
            texts: dict[str, str] = {}
            for job_id, data in dict(entry.get("jobs", {})).items():
                try:
                    job = self._build(kind, dict(data))
                except (TypeError, ValueError, KeyError) as exc:
                    log.warning("skipping unreadable %s entry %r in %s: %s", name, job_id,
                                self._file, exc)
                    continue
                jobs.append(job)
                texts[job_id] = json.dumps(data, sort_keys=True, default=str)
            tombstones = {job_id: (float(key[0]), int(key[1]))
                          for job_id, key in dict(entry.get("tombstones", {})).items()
                          if isinstance(key, list) and len(key) == 2}
            kind.store(state).replace(jobs, tombstones)
            snapshot[name] = texts
        self._snapshot = snapshot

    def _build(self, kind: _Kind, data: dict[str, Any]) -> Any:
        digest = data.pop("input_image", None)
        job = kind.build(data)
        if isinstance(digest, str) and isinstance(job, VideoJob):
            job.input_image = self._load_image(digest)
        return job

    def _save_image(self, image: bytes) -> str:
        digest = hashlib.sha256(image).hexdigest()
        if digest not in self._images:
            folder = self.path / INPUTS_DIR
            folder.mkdir(exist_ok=True)
            target = folder / digest
            if not target.exists():
                _atomic_write(target, image)
            self._images[digest] = image
        return digest

    def _load_image(self, digest: str) -> bytes | None:
        if digest not in self._images:
            if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
                return None
            try:
                self._images[digest] = (self.path / INPUTS_DIR / digest).read_bytes()
            except OSError:
                return None
        return self._images[digest]

    # -- the file --------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self._file.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read(self) -> dict[str, Any]:
        try:
            text = self._file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"format": FORMAT, "stores": {}}
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT \
                    or not isinstance(data.get("stores"), dict):
                raise ValueError("not an emulator state file of format 1")
        except ValueError as exc:
            aside = self._file.with_name(f"{STATE_FILE}.unreadable-{int(time.time())}")
            log.warning("emulator state %s is unreadable (%s); moved it to %s and started "
                        "empty", self._file, exc, aside.name)
            with contextlib.suppress(OSError):
                self._file.replace(aside)
            return {"format": FORMAT, "stores": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        data["format"] = FORMAT
        _atomic_write(self._file, json.dumps(data, separators=(",", ":")).encode())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            try:
                yield
            finally:
                _unlock(fd)
        finally:
            os.close(fd)

    # -- the standalone server's address ---------------------------------------------------

    def advertise(self, host: str, port: int, instance: str) -> ServerInfo:
        """Record a running standalone emulator (``server.json``) for the ``--emulator`` commands."""
        info = ServerInfo(host, port, instance, os.getpid())
        _atomic_write(self.path / SERVER_FILE, json.dumps(dataclasses.asdict(info)).encode())
        return info

    def withdraw(self, instance: str) -> None:
        """Remove ``server.json`` if it still names ``instance``."""
        current = read_server(self.path)
        if current is not None and current.instance == instance:
            with contextlib.suppress(OSError):
                (self.path / SERVER_FILE).unlink()


@dataclass(frozen=True)
class ServerInfo:
    """Where a standalone emulator serving a state directory listens."""

    host: str
    port: int
    instance: str
    """Random id the emulator sends in ``x-emulator-instance``: proves it is still that one."""
    pid: int

    @property
    def endpoint(self) -> str:
        """The resource endpoint, e.g. ``http://127.0.0.1:8089``."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"


def read_server(state_dir: str | os.PathLike[str]) -> ServerInfo | None:
    """The standalone emulator recorded in ``state_dir``, if any (it may have died since)."""
    try:
        data = json.loads((Path(state_dir).expanduser() / SERVER_FILE).read_text("utf-8"))
        info = ServerInfo(str(data["host"]), int(data["port"]), str(data["instance"]),
                          int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if 0 < info.port < 65536 else None


def _atomic_write(target: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
