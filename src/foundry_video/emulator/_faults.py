"""Fault injection: what can go wrong, where, and how often.

Faults come from two places:

* ``emu.inject(Fault(...))``: registered on the emulator, matched against each request by
  operation name, method, path regex and/or video id, and consumed ``times`` times;
* the ``x-emulator-fault`` request header, applying to that one request only::

      x-emulator-fault: rate_limit;retry_after=2;retry_after_ms=1500
      x-emulator-fault: server_error;status=503, slow_body;chunk_size=1024;delay=0.01
      x-emulator-fault: job_failed;code=internal_error;message=GPU%20on%20fire

  Faults are separated by ``,``; parameters by ``;`` as ``key=value`` (values are
  percent-decoded); keys are the :class:`Fault` field names (``bytes`` is an alias of
  ``after_bytes``, ``date`` of ``retry_after_http_date``).

Kinds and where they act:

==================  =====================================================================
``rate_limit``      429 with ``Retry-After`` (seconds or HTTP-date) and/or ``retry-after-ms``
``server_error``    ``status`` 500 (default), 502, 503 or 504; 503 carries ``Retry-After``
``drop_connection`` close the socket without a response, or after ``after_bytes`` body bytes
``truncate_body``   correct ``Content-Length``, only ``after_bytes`` bytes, then close
``slow_body``       body in ``chunk_size`` pieces with ``delay`` real seconds between them
``job_failed``      the job (next created, or ``video_id``) ends ``failed`` with code/message
                    (Sora 1: ``failure_reason`` = code; ``code=cancelled`` ends ``cancelled``)
``content_policy``  ``stage="create"``: 400 content filter; ``"completion"``: failed job
``expire_content``  the completed job's content is expired (download -> 404)
``ignore_range``    the content endpoint ignores ``Range`` and sends the full body (200)
==================  =====================================================================

Faults that *lie* (the response looks well-formed, so only a client that checks what it
received notices; default scope: the content endpoints):

======================  =================================================================
``short_range``         206 whose body has only ``after_bytes`` bytes (default: half) of
                        the span its ``Content-Range`` announces; ``Content-Length`` agrees
                        with the short body
``wrong_offset``        206 starting ``after_bytes`` (default 1) bytes later than asked,
                        with a ``Content-Range`` and body that agree with each other
``extra_bytes``         the body carries ``after_bytes`` (default 16) bytes more than the
                        resource (200) or its ``Content-Range`` (206); ``Content-Length``
                        counts them
``no_content_length``   the body is sent chunked, without ``Content-Length``; with
                        ``after_bytes`` it ends cleanly after that many bytes
======================  =================================================================

``echo_key=True`` on ``rate_limit``, ``server_error`` or ``job_failed`` puts the key the
request carried into the error message, as a careless service might (to test redaction).

From the command line (``foundry-video emulator --fault ...``) a fault is written
``kind:key=value,key=value`` (:func:`parse_fault_spec`), e.g.
``server_error:status=503,operation=content,times=2``; ``times=forever`` never runs out.

``rate_limit``, ``server_error`` and ``drop_connection`` act at ``stage="request"``
(default: before the handler runs, nothing happens server-side) or ``stage="response"``
(the handler ran, e.g. the job was created, and then the response is lost or replaced).

The Sora 1 jobs API (``/video/generations/...``) uses the same operation names where they
mean the same thing (``create``, ``list``, ``retrieve``, ``delete``, ``content`` for both
``content/video`` and ``content/thumbnail``) plus ``retrieve_generation``; ``video_id``
matches the id in its path (a ``task_...`` job id or a ``gen_...`` generation id). Use
``path=r"/video/generations"`` to aim a fault at that surface only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import unquote

__all__ = [
    "CREATE_OPERATIONS",
    "LYING_KINDS",
    "Fault",
    "FaultKind",
    "FaultSet",
    "parse_fault_header",
    "parse_fault_spec",
]

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "drop_connection",
    "truncate_body",
    "slow_body",
    "job_failed",
    "content_policy",
    "expire_content",
    "ignore_range",
    "short_range",
    "wrong_offset",
    "extra_bytes",
    "no_content_length",
]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

CREATE_OPERATIONS = frozenset({"create", "remix", "edit", "extend"})
"""Operations that start a job (rate limited, and where job-outcome faults apply)."""

# Where a fault acts when the caller gives no operation/path/method matcher: job-outcome
# faults only make sense where a job is created, content faults where content is served.
_JOB_KINDS = frozenset({"job_failed", "content_policy"})
LYING_KINDS = ("short_range", "wrong_offset", "extra_bytes", "no_content_length")
"""Faults whose response is well-formed HTTP but not what the headers promise."""
_CONTENT_KINDS = frozenset({"expire_content", "ignore_range", *LYING_KINDS})


@dataclass(eq=False)
class Fault:
    """One injected failure. See the module docstring for the kinds.

    Matchers (all given ones must match; none given = every request, or the kind's natural
    operations for job and content faults): ``operation`` (a name such as ``"create"``,
    ``"retrieve"``, ``"list"``, ``"delete"``, ``"remix"``, ``"content"``, ``"edit"``,
    ``"extend"``, ``"create_character"``, ``"retrieve_character"``,
    ``"retrieve_generation"``, or several),
    ``method``, ``path`` (regex searched in the URL path) and ``video_id``.

    ``times`` is how many requests it affects (``None`` = forever); ``fired`` counts them.
    """

    kind: FaultKind
    operation: str | Collection[str] | None = None
    method: str | None = None
    path: str | None = None
    video_id: str | None = None
    times: int | None = 1
    stage: str | None = None
    status: int | None = None
    retry_after: float | None = None
    """Seconds for ``Retry-After``; ``None`` = 1 s on 429/503, none elsewhere; 0 = omit."""
    retry_after_ms: int | None = None
    retry_after_http_date: bool = False
    should_retry: bool | None = None
    """If set, sends ``x-should-retry: true|false`` (honoured by OpenAI-style clients)."""
    after_bytes: int | None = None
    chunk_size: int = 16384
    delay: float = 0.01
    code: str | None = None
    message: str | None = None
    category: str = "violence"
    echo_key: bool = False
    """Put the request's key into the error message (rate_limit, server_error, job_failed)."""
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")
        if self.after_bytes is not None and self.after_bytes < 0:
            raise ValueError("after_bytes must be >= 0")
        if self.chunk_size < 1 or not 0 <= self.delay <= 3600:
            raise ValueError("chunk_size must be >= 1 and delay between 0 and 3600 seconds")
        if self.kind == "server_error" and self.status not in (None, 500, 502, 503, 504):
            raise ValueError("server_error status must be 500, 502, 503 or 504")
        if self.kind == "truncate_body" and self.after_bytes is None:
            self.after_bytes = 0

    @property
    def remaining(self) -> int | None:
        """How many more requests this fault will affect (``None`` = unlimited)."""
        return None if self.times is None else max(0, self.times - self.fired)

    @property
    def effective_stage(self) -> str:
        """Where the fault acts: ``request``, ``response``, ``body``, ``create``, ``completion``."""
        if self.kind in ("truncate_body", "slow_body", *LYING_KINDS):
            return "body"
        if self.kind == "drop_connection" and self.after_bytes is not None:
            return "body"
        if self.kind == "content_policy":
            return self.stage or "create"
        if self.kind in ("rate_limit", "server_error", "drop_connection"):
            return self.stage or "request"
        return self.stage or "handler"

    def matches(
        self,
        *,
        operation: str | None,
        method: str,
        path: str,
        video_id: str | None,
        job_operations: Collection[str] = CREATE_OPERATIONS,
    ) -> bool:
        """True if this fault applies to a request with these attributes.

        ``job_operations`` are the operations that create jobs (the default scope of
        ``job_failed`` and ``content_policy``).
        """
        ops: Collection[str] | None
        ops = {self.operation} if isinstance(self.operation, str) else self.operation
        if ops is None and self.method is None and self.path is None:
            if self.kind in _JOB_KINDS:
                ops = job_operations
            elif self.kind in _CONTENT_KINDS:
                ops = {"content"}
        if ops is not None and operation not in ops:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is not None and re.search(self.path, path) is None:
            return False
        return self.video_id is None or self.video_id == video_id


class FaultSet:
    """The faults injected into one emulator, consumed in injection order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.job_operations: frozenset[str] = CREATE_OPERATIONS
        """Operations that create jobs; the emulator sets it from its rate-limited routes."""
        self.on_add: dict[str, Callable[[Fault], None]] = {}
        """Hooks called with every fault added, keyed by name: an API surface registers one
        to apply a fault naming one of *its* existing jobs at once (keyed, so registering
        again when the app is rebuilt replaces the hook instead of doubling it)."""

    def add(self, fault: Fault) -> Fault:
        """Register ``fault`` and return it (so tests can check ``fault.fired``)."""
        self._faults.append(fault)
        for hook in list(self.on_add.values()):
            hook(fault)
        return fault

    def clear(self) -> None:
        """Forget every injected fault."""
        self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults that can still fire."""
        return [f for f in self._faults if f.remaining != 0]

    def take(
        self,
        kinds: Iterable[str],
        *,
        operation: str | None,
        method: str,
        path: str,
        video_id: str | None = None,
        stages: Collection[str] | None = None,
        header_faults: Sequence[Fault] = (),
    ) -> Fault | None:
        """Return (and count as fired) the first matching fault of one of ``kinds``.

        Header faults come first and are not matched by operation: the client put them on
        this very request. Injected faults are matched and consumed.
        """
        wanted = set(kinds)
        for fault in header_faults:
            if fault.kind in wanted and (stages is None or fault.effective_stage in stages):
                fault.fired += 1
                return fault
        for fault in self._faults:
            if fault.kind not in wanted or fault.remaining == 0:
                continue
            if stages is not None and fault.effective_stage not in stages:
                continue
            if fault.matches(operation=operation, method=method, path=path, video_id=video_id,
                             job_operations=self.job_operations):
                fault.fired += 1
                return fault
        return None


_ALIASES = {"bytes": "after_bytes", "date": "retry_after_http_date", "op": "operation"}
_INT_FIELDS = {"status", "retry_after_ms", "after_bytes", "chunk_size", "times"}
_FLOAT_FIELDS = {"retry_after", "delay"}
_BOOL_FIELDS = {"retry_after_http_date", "should_retry", "echo_key"}
_STR_FIELDS = {"stage", "code", "message", "category", "video_id", "operation", "method", "path"}


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on", ""):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _fault(kind: str, params: Iterable[tuple[str, str]], spec: str) -> Fault:
    """A :class:`Fault` from its kind and ``(key, text)`` parameters (raises ``ValueError``)."""
    kwargs: dict[str, Any] = {}
    for raw_key, raw_value in params:
        key = _ALIASES.get(raw_key.strip(), raw_key.strip())
        text = unquote(raw_value.strip())
        if key == "retry_after_format":
            kwargs["retry_after_http_date"] = text.lower() in ("http-date", "date")
        elif key == "times" and text.lower() in ("forever", "none", "always"):
            kwargs["times"] = None
        elif key in _INT_FIELDS:
            kwargs[key] = int(text)
        elif key in _FLOAT_FIELDS:
            kwargs[key] = float(text)
        elif key in _BOOL_FIELDS:
            kwargs[key] = _parse_bool(text)
        elif key in _STR_FIELDS:
            kwargs[key] = text
        else:
            raise ValueError(f"unknown fault parameter {key!r} in {spec!r}")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(sorted(FAULT_KINDS))}")
    return Fault(kind, **kwargs)  # type: ignore[arg-type]  # kind checked above


def parse_fault_header(value: str) -> list[Fault]:
    """Parse an ``x-emulator-fault`` header into faults (raises ``ValueError`` if malformed)."""
    faults: list[Fault] = []
    for spec in value.split(","):
        spec = spec.strip()
        if not spec:
            continue
        kind, *params = (p.strip() for p in spec.split(";"))
        pairs = [(key, raw) for key, _, raw in (p.partition("=") for p in params if p)]
        faults.append(_fault(kind, pairs, spec))
    return faults


def parse_fault_spec(spec: str) -> Fault:
    """Parse the command-line form ``kind:key=value,key=value`` into one :class:`Fault`.

    ``rate_limit:times=2``, ``server_error:status=503,operation=content``,
    ``drop_connection:stage=response,operation=create``. Raises ``ValueError`` if malformed.
    """
    kind, _, rest = spec.strip().partition(":")
    pairs = []
    for param in rest.split(","):
        if not param.strip():
            continue
        key, sep, raw = param.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {param.strip()!r} in {spec!r}")
        pairs.append((key, raw))
    return _fault(kind.strip(), pairs, spec)
