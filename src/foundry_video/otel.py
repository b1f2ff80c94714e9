"""OpenTelemetry traces and metrics for video jobs (the ``foundry-video[otel]`` extra).

Each job is one span, ``generate_content {model}``, from the create request to the saved
file, with the create and the download as child spans and each status request, status
change, retry and download resumption as an event; counters and histograms measure jobs,
polls, retries and downloads. Only the OpenTelemetry *API* is used: the application (or
``opentelemetry-instrument``) chooses the SDK and exporters; the library never does.

This module is imported only when telemetry is on for a client (``VideoClient(telemetry=...)``,
or a tracer or meter provider set by the application); ``import foundry_video`` never imports
OpenTelemetry. See the *Observability* guide for the span tree and the metrics.

What is never recorded: keys, tokens and other request headers; query strings (only
``api-version`` and ``variant`` values are kept in ``url.full``); the prompt, unless
:attr:`~foundry_video.TelemetryOptions.capture_prompt` is set (error messages are scrubbed of
it); stack traces (they quote source lines, which may hold a prompt).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from contextlib import aclosing, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

import yarl
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind

from ._errors import FoundryVideoError
from ._events import JobEvent
from ._observe import TelemetryOptions
from ._options import EventHooks, RetryEvent
from ._otel_run import JobTrace, Run, Signals, describe_error, job_facts, request_facts
from ._version import __version__

if TYPE_CHECKING:
    from ._auth import Flavor
    from ._job import Job
    from ._pipeline import Pipeline
    from ._transports.base import Request, Response

__all__ = ["job_traceparent", "link_job"]

logger = logging.getLogger("foundry_video")

_KEPT_QUERY = frozenset({"api-version", "variant"})
_KNOWN_JOBS_MAX = 10_000
_known_jobs: OrderedDict[str, SpanContext] = OrderedDict()
"""Job id -> the span context of its first job span in this process (for links)."""
_known_jobs_lock = threading.Lock()


def job_traceparent(job: Job[Any] | str) -> str | None:
    """The W3C ``traceparent`` of the span that started ``job`` (a job or a job id).

    Store it with the job id to link a later run of the job, in another process, back to it
    with :func:`link_job`. ``None`` when this process did not trace the job.
    """
    context = _known_jobs.get(job if isinstance(job, str) else job.id)
    if context is None:
        return None
    carrier: dict[str, str] = {}
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    TraceContextTextMapPropagator().inject(
        carrier, context=trace.set_span_in_context(trace.NonRecordingSpan(context)))
    return carrier.get("traceparent")


def link_job(job_id: str, traceparent: str) -> None:
    """Link the next run of ``job_id`` in this process (e.g. ``client.videos.job(job_id)``
    after a restart) to the span that started it, given its :func:`job_traceparent`.

    A malformed ``traceparent`` raises ``ValueError``.
    """
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if not isinstance(job_id, str) or not job_id:
        raise ValueError("job_id must be a non-empty string")
    extracted = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    context = trace.get_current_span(extracted).get_span_context()
    if not context.is_valid:
        raise ValueError(f"not a W3C traceparent: {traceparent[:80]!r}")
    _remember(job_id, context)


def _remember(job_id: str, context: SpanContext) -> None:
    with _known_jobs_lock:  # clients in several threads (event loops) share the registry
        _known_jobs[job_id] = context
        _known_jobs.move_to_end(job_id)
        while len(_known_jobs) > _KNOWN_JOBS_MAX:
            _known_jobs.popitem(last=False)


class _Phase:
    """What the requests being sent right now belong to (set around each step of a job)."""

    __slots__ = ("named", "role", "run", "span")

    def __init__(self, run: Run, role: Literal["create", "poll", "download"], span: Span) -> None:
        self.run = run
        self.role = role
        self.span = span
        self.named = False


_ACTIVE: ContextVar[_Phase | None] = ContextVar("foundry_video_otel_phase", default=None)


class JobTelemetry:
    """Traces and measures the jobs of one client (``Pipeline.telemetry`` when on)."""

    def __init__(self, options: TelemetryOptions, *, base_url: str, flavor: Flavor) -> None:
        self.options = options
        self._propagate = options.propagates
        self._tracer = trace.get_tracer("foundry_video", __version__,
                                        tracer_provider=options.tracer_provider)
        base = yarl.URL(base_url)
        self.base_facts: dict[str, str | int] = {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.output.type": "video",
            "gen_ai.provider.name": "azure.ai.openai" if flavor == "azure" else "openai",
            "server.address": base.host or "",
            "server.port": base.port or 443,
        }
        self.signals = Signals(options.meter_provider, str(self.base_facts["gen_ai.provider.name"]),
                               str(self.base_facts["server.address"]))
        self._jobs: weakref.WeakKeyDictionary[Job[Any], JobTrace] = weakref.WeakKeyDictionary()
        self._pipeline: Pipeline | None = None

    def attach(self, pipeline: Pipeline) -> None:
        """Become ``pipeline``'s observer (its clock times the jobs, its redactor scrubs)."""
        self._pipeline = pipeline
        pipeline.telemetry = self

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "attach() first"
        return self._pipeline

    def event_hooks(self, hooks: EventHooks | None) -> EventHooks:
        """The client's hooks with ours first."""
        hooks = hooks or EventHooks()
        return EventHooks(request=[self._on_request, *hooks.get("request", ())],
                          response=[self._on_response, *hooks.get("response", ())],
                          retry=[self._on_retry, *hooks.get("retry", ())])

    # -- job creation (resources' create/remix/edit/extend) ---------------------------------

    async def create(self, operation: str, start: Callable[[], Awaitable[Any]],
                     arguments: Mapping[str, Any]) -> Any:
        """Run ``start()`` inside a new job span (with the create call as its child)."""
        facts = {**self.base_facts, **request_facts(operation, arguments)}
        prompt = arguments.get("prompt") if isinstance(arguments.get("prompt"), str) else None
        if prompt and self.options.capture_prompt:
            facts["gen_ai.input.messages"] = json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": prompt}]}])
        parent = trace.get_current_span().get_span_context()
        job_span = self._tracer.start_span(_span_name(facts.get("gen_ai.request.model")),
                                           kind=SpanKind.CLIENT, attributes=facts)
        job_trace = self._trace(job_span, parent, created_here=True, prompt=prompt, facts=facts)
        run = Run(self, job_trace, job_span, job=None, path=None, variant="video",
                  started=job_trace.created_at, terminal_before=False)
        call_span = self.child_span(operation, job_span)
        try:
            with _active(_Phase(run, "create", call_span)):
                job = await start()
        except BaseException as exc:
            job_trace.open_span = None
            with _never_raises("create"):
                run.end_call(call_span, exc)
                run.finish(exc, creating=True)
            raise
        with _never_raises("create"):
            run.end_call(call_span, None)
            job_trace.create_retries = run.retries
            job_trace.learn(job_span, job)
            self._jobs[job] = job_trace
            weakref.finalize(job, job_trace.abandon)
            _remember(job.id, job_trace.context)
            self.signals.jobs_started.add(1, job_trace.metric_facts())
        return job

    def _trace(self, span: Span, parent: SpanContext, *, created_here: bool,
               prompt: str | None, facts: dict[str, Any]) -> JobTrace:
        return JobTrace(span, parent, self.pipeline.clock.monotonic(), created_here=created_here,
                        redact=self.pipeline.redact, prompt=prompt,
                        capture_prompt=self.options.capture_prompt, facts=facts)

    # -- job runs (Job.events) -----------------------------------------------------------

    def watch(self, job: Job[Any], stream: AsyncGenerator[JobEvent, None],
              path: str | os.PathLike[str] | None, variant: str) -> AsyncGenerator[JobEvent, None]:
        """Wrap one run of ``job.events()`` in the job span (from its first step on)."""
        return self._watch(job, stream, path, variant)

    def _begin(self, job: Job[Any], path: str | os.PathLike[str] | None, variant: str) -> Run:
        try:
            terminal_before = job.done
        except FoundryVideoError:  # an unknown status: the run itself will say so
            terminal_before = False
        job_trace = self._jobs.get(job)
        ambient = trace.get_current_span().get_span_context()
        if job_trace is not None and job_trace.open_span is not None:
            # The span the create began: this run continues it, whatever task it runs in;
            # a waiter in another trace is linked.
            span, job_trace.open_span = job_trace.open_span, None
            if ambient.is_valid and ambient != job_trace.parent:
                span.add_link(ambient, {"foundry_video.link": "waiter"})
            run = Run(self, job_trace, span, job=job, path=path, variant=variant,
                      started=job_trace.created_at, terminal_before=terminal_before)
            run.retries = job_trace.create_retries
            return run
        earlier = job_trace.context if job_trace is not None else _known_jobs.get(job.id)
        facts = {**self.base_facts, **job_facts(job), "foundry_video.job.resumed": True}
        if "gen_ai.response.model" in facts:
            facts["gen_ai.request.model"] = facts["gen_ai.response.model"]
        links = [Link(earlier, {"foundry_video.link": "job"})] if earlier is not None else []
        span = self._tracer.start_span(_span_name(facts.get("gen_ai.request.model")),
                                       kind=SpanKind.CLIENT, attributes=facts, links=links)
        if job_trace is None:
            job_trace = self._trace(span, ambient, created_here=False, prompt=None, facts=facts)
            self._jobs[job] = job_trace
            _remember(job.id, job_trace.context)
        return Run(self, job_trace, span, job=job, path=path, variant=variant,
                   started=self.pipeline.clock.monotonic(), terminal_before=terminal_before)

    async def _watch(self, job: Job[Any], stream: AsyncGenerator[JobEvent, None],
                     path: str | os.PathLike[str] | None, variant: str
                     ) -> AsyncGenerator[JobEvent, None]:
        # The job's spans are current only while the job's own code runs (one step of the
        # stream), never while the caller handles an event between two steps.
        failure: BaseException | None = None
        try:
            run = self._begin(job, path, variant)
        except Exception:
            logger.warning("foundry_video telemetry failed to start", exc_info=True)
            async with aclosing(stream):
                async for event in stream:
                    yield event
            return
        try:
            while True:
                role, span = run.phase()
                try:
                    with _active(_Phase(run, role, span)):
                        event = await stream.__anext__()
                except StopAsyncIteration:
                    break
                with _never_raises("observe"):
                    run.observe(event)
                yield event
        except BaseException as exc:
            failure = exc
            raise
        finally:
            await stream.aclose()
            with _never_raises("finish"):
                run.finish(failure)

    def child_span(self, name: str, parent: Span) -> Span:
        """A client span under ``parent`` (the create call or the download)."""
        return self._tracer.start_span(name, kind=SpanKind.CLIENT,
                                       context=trace.set_span_in_context(parent))

    # -- per-request hooks -------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        with _never_raises("request hook"):
            self._request(request)

    def _on_response(self, response: Response) -> None:
        with _never_raises("response hook"):
            self._response(response)

    def _on_retry(self, event: RetryEvent) -> None:
        with _never_raises("retry hook"):
            self._retry(event)

    def _request(self, request: Request) -> None:
        phase = _ACTIVE.get()
        if phase is not None:
            extensions = request.extensions
            if phase.role == "poll":
                if request.method == "GET" and not extensions.get("stream") \
                        and not extensions.get("redirect"):
                    phase.run.polls += 1
                    self.signals.poll_requests.add(1, phase.run.trace.metric_facts())
            else:
                operation = str(extensions.get("operation") or request.method)
                if phase.role == "download":
                    phase.run.download_operation = operation
                if not phase.named:
                    phase.named = True
                    phase.span.update_name(operation)
                if phase.span.is_recording():
                    phase.span.set_attributes(_http_facts(request))
        if self._propagate:
            propagate.inject(request.headers, context=None if phase is None
                             else trace.set_span_in_context(phase.span))

    def _response(self, response: Response) -> None:
        phase = _ACTIVE.get()
        if phase is None or not phase.span.is_recording():
            return
        facts: dict[str, str | int] = {"http.response.status_code": response.status_code}
        if response.request_id:
            facts["foundry_video.request_id"] = response.request_id[:128]
        if phase.role != "poll":
            phase.span.set_attributes(facts)
        elif response.request is not None and response.request.method == "GET":
            phase.span.add_event("foundry_video.poll", facts)

    def _retry(self, event: RetryEvent) -> None:
        if event.cause == "resume":
            return  # counted from the job's DownloadStarted events, with the resume offset
        operation = str(event.request.extensions.get("operation") or "")
        self.signals.retry(event.cause, operation)
        phase = _ACTIVE.get()
        if phase is None:
            return
        phase.run.retries += 1
        facts: dict[str, str | int | float] = {
            "foundry_video.retry.cause": event.cause, "foundry_video.retry.attempt": event.attempt,
            "foundry_video.retry.delay": event.delay,
            "error.type": describe_error(event.error)[1]}
        status = getattr(event.error, "status_code", None)
        if isinstance(status, int):
            facts["http.response.status_code"] = status
        phase.span.add_event("foundry_video.retry", facts)


@contextmanager
def _never_raises(where: str) -> Iterator[None]:
    """Telemetry must not break a job: a failure of ours is logged, never raised."""
    try:
        yield
    except Exception:
        logger.warning("foundry_video telemetry failed in %s", where, exc_info=True)


@contextmanager
def _active(phase: _Phase) -> Iterator[None]:
    """Make ``phase``'s span current (for other instrumentation and ``traceparent``) and
    tell the hooks what the requests belong to; undone in the same task and context."""
    token = otel_context.attach(trace.set_span_in_context(phase.span))
    marker = _ACTIVE.set(phase)
    try:
        yield
    finally:
        _ACTIVE.reset(marker)
        otel_context.detach(token)


def _span_name(model: object) -> str:
    return f"generate_content {model}" if model else "generate_content"


def _http_facts(request: Request) -> dict[str, str | int]:
    url = request.url
    query = [(k, v if k in _KEPT_QUERY else "REDACTED") for k, v in url.query.items()]
    clean = url.with_user(None).with_password(None).with_query(query).with_fragment(None)
    operation = str(request.extensions.get("operation") or "")
    facts: dict[str, str | int] = {
        "http.request.method": request.method,
        "url.full": str(clean),
        "server.address": url.host or "",
        "http.request.resend_count": max(0, int(str(request.extensions.get("attempt", 1))) - 1),
    }
    if url.port is not None:
        facts["server.port"] = url.port
    if " " in operation:
        facts["url.template"] = operation.split(" ", 1)[1]
    return facts
