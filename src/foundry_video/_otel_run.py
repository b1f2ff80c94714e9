"""The state behind :mod:`foundry_video.otel`: one job's trace, one run of it, the metrics.

Imports OpenTelemetry: loaded only with telemetry on.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import metrics
from opentelemetry.trace import Span, SpanContext, Status, StatusCode

from ._errors import APIStatusError, JobFailedError, JobTimeoutError
from ._events import (
    DownloadSaved,
    DownloadStarted,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
)
from ._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from ._job import Job
    from .otel import JobTelemetry

Facts = dict[str, Any]
Outcome = Literal["succeeded", "failed", "rejected", "timeout", "cancelled", "error", "detached"]

_JOB_SECONDS = (1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800, 3600)
"""Histogram buckets for jobs (minutes long; the GenAI defaults stop at 82 s)."""
_DOWNLOAD_SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500)
_BYTES = tuple(float(1 << n) for n in range(16, 35, 2))  # 64 KiB .. 16 GiB
_SAFE_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_METRIC_KEYS = ("gen_ai.provider.name", "server.address", "gen_ai.request.model")


class Signals:
    """The metric instruments (one set per meter; the same names on every client)."""

    def __init__(self, meter_provider: MeterProvider | None, provider: str, server: str) -> None:
        meter = metrics.get_meter("foundry_video", __version__, meter_provider=meter_provider)
        self._base = {"gen_ai.provider.name": provider, "server.address": server}
        self.jobs_started = meter.create_counter(
            "foundry_video.jobs.started", "{job}", "Jobs the service accepted (creates that succeeded).")
        self.jobs_finished = meter.create_counter(
            "foundry_video.jobs.finished", "{job}",
            "Job runs that ended, by foundry_video.job.outcome (and error.type).")
        self.job_duration = meter.create_histogram(
            "foundry_video.job.duration", "s", "From the create (or the start of waiting, for a "
            "re-attached job) to the saved file or the job's end.",
            explicit_bucket_boundaries_advisory=_JOB_SECONDS)
        self.queue_duration = meter.create_histogram(
            "foundry_video.job.queue.duration", "s", "From the create until the job was first "
            "seen running (resolution: the polling interval).",
            explicit_bucket_boundaries_advisory=_JOB_SECONDS)
        self.run_duration = meter.create_histogram(
            "foundry_video.job.run.duration", "s", "From the job first seen running until it "
            "was seen finished (resolution: the polling interval).",
            explicit_bucket_boundaries_advisory=_JOB_SECONDS)
        self.poll_requests = meter.create_counter(
            "foundry_video.poll.requests", "{request}", "Status requests sent while waiting.")
        self.retries = meter.create_counter(
            "foundry_video.retries", "{retry}", "Retried requests and resumed downloads, by "
            "foundry_video.retry.cause.")
        self.download_size = meter.create_histogram(
            "foundry_video.download.size", "By", "Bytes of each saved file.",
            explicit_bucket_boundaries_advisory=_BYTES)
        self.download_duration = meter.create_histogram(
            "foundry_video.download.duration", "s", "Time to download and save each file.",
            explicit_bucket_boundaries_advisory=_DOWNLOAD_SECONDS)
        self.download_throughput = meter.create_histogram(
            "foundry_video.download.throughput", "By/s", "Bytes per second of each saved file.",
            explicit_bucket_boundaries_advisory=_BYTES)

    def retry(self, cause: str, operation: str) -> None:
        """Count one retry (or download resumption)."""
        self.retries.add(1, {**self._base, "foundry_video.retry.cause": cause,
                             "foundry_video.operation": operation})


def safe_code(code: object) -> str | None:
    """A service error code fit for ``error.type`` (a metric attribute: bounded), else None."""
    if isinstance(code, str) and code:
        return code if _SAFE_CODE.fullmatch(code) else "_OTHER"
    return None


def describe_error(exc: BaseException) -> tuple[str, str]:
    """``(message, error.type)``: the service's error code when there is one (for a status
    error without one, the status), else the exception's class name."""
    code = safe_code(getattr(exc, "code", None))
    if code is None and isinstance(exc, APIStatusError):
        code = str(exc.status_code)
    return str(exc) or type(exc).__name__, code or type(exc).__name__


def classify(exc: BaseException | None, *, creating: bool, done: bool) -> Outcome:
    """How a job run ended. ``done``: the job finished (and its file, if any, is saved)."""
    if exc is None:
        return "succeeded"
    if isinstance(exc, GeneratorExit):  # the caller stopped listening
        return "succeeded" if done else "cancelled"
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
        return "cancelled"
    if isinstance(exc, JobFailedError):
        return "failed"
    if isinstance(exc, JobTimeoutError):
        return "timeout"
    if creating and (isinstance(exc, (ValueError, TypeError)) or (
            isinstance(exc, APIStatusError) and 400 <= exc.status_code < 500)):
        return "rejected"
    return "error"


def _text(value: object, limit: int = 64) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _seconds(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 6 else None


def request_facts(operation: str, arguments: Mapping[str, Any]) -> Facts:
    """Span attributes from a create's arguments (never the prompt)."""
    facts: Facts = {"foundry_video.job.operation": operation}
    model = _text(arguments.get("model"))
    if model:
        facts["gen_ai.request.model"] = model
    width, height = arguments.get("width"), arguments.get("height")
    size = _text(arguments.get("size"), 32) or (
        f"{width}x{height}" if isinstance(width, int) and isinstance(height, int) else None)
    if size:
        facts["foundry_video.video.size"] = size
    seconds = _seconds(arguments.get("seconds"))
    if seconds is not None:
        facts["foundry_video.video.seconds"] = seconds
    variants = arguments.get("n_variants")
    if isinstance(variants, int) and not isinstance(variants, bool):
        facts["foundry_video.video.variants"] = variants
    return facts


def job_facts(job: Job[Any]) -> Facts:
    """Span attributes from what is known of a job (its id, and its last seen state)."""
    facts: Facts = {"foundry_video.job.id": job.id[:256], "gen_ai.response.id": job.id[:256]}
    latest = job.latest
    if latest is None:
        return facts
    model = _text(getattr(latest, "model", None))
    if model:
        facts["gen_ai.response.model"] = model
    width, height = getattr(latest, "width", None), getattr(latest, "height", None)
    size = _text(getattr(latest, "size", None), 32) or (
        f"{width}x{height}" if isinstance(width, int) and isinstance(height, int) else None)
    if size:
        facts["foundry_video.video.size"] = size
    seconds = _seconds(getattr(latest, "seconds", None) or getattr(latest, "n_seconds", None))
    if seconds is not None:
        facts["foundry_video.video.seconds"] = seconds
    status = _text(job.status)
    if status:
        facts["foundry_video.job.status"] = status
    return facts


class JobTrace:
    """What one ``Job`` object's runs share: the span the create began (until a run takes it
    over), where it came from, and when the job was created."""

    def __init__(self, span: Span, parent: SpanContext, created_at: float, *,
                 created_here: bool, redact: Callable[[str], str], prompt: str | None,
                 capture_prompt: bool, facts: Facts) -> None:
        self.open_span: Span | None = span if created_here else None
        self.context = span.get_span_context()
        self.parent = parent
        self.created_at = created_at
        self.created_here = created_here
        self.facts = facts
        self.create_retries = 0
        self.running_since: float | None = None
        self.queue_recorded = False
        self._redact = redact
        self._prompt = prompt
        self._capture_prompt = capture_prompt

    def scrub(self, text: str) -> str:
        """``text`` without secrets (nor the prompt, unless captured), at most 512 chars."""
        text = self._redact(text)
        if self._prompt and len(self._prompt) >= 8 and not self._capture_prompt:
            text = text.replace(self._prompt, "<prompt>")
        return text[:512]

    def metric_facts(self) -> dict[str, str]:
        """Low-cardinality metric attributes: provider, server and model (never an id)."""
        model = self.facts.get("gen_ai.request.model") or self.facts.get("gen_ai.response.model")
        facts = {key: str(self.facts[key]) for key in _METRIC_KEYS[:2] if key in self.facts}
        if model:
            facts["gen_ai.request.model"] = str(model)
        return facts

    def learn(self, span: Span, job: Job[Any]) -> None:
        """Record what the service said about the job (model, size, status) on ``span``."""
        known = self.facts.get("gen_ai.request.model")
        facts = job_facts(job)
        if not known and "gen_ai.response.model" in facts:  # a remix, or a re-attached job
            facts["gen_ai.request.model"] = facts["gen_ai.response.model"]
        facts = {key: value for key, value in facts.items() if self.facts.get(key) != value}
        self.facts.update(facts)
        if self._prompt is None:
            prompt = getattr(job.latest, "prompt", None)
            self._prompt = prompt if isinstance(prompt, str) else None
        if span.is_recording():
            span.set_attributes(facts)
            model = facts.get("gen_ai.response.model")
            if not known and model:
                span.update_name(f"generate_content {model}")

    def abandon(self) -> None:
        """The ``Job`` was dropped without being awaited (its id went elsewhere): end the span
        the create began; the job goes on at the service."""
        span, self.open_span = self.open_span, None
        if span is not None:
            span.set_attribute("foundry_video.job.outcome", "detached")
            span.end()


class Run:
    """One run of a job: the create, or one pass of ``Job.events()`` (wait/result)."""

    def __init__(self, telemetry: JobTelemetry, job_trace: JobTrace, span: Span, *,
                 job: Job[Any] | None, path: str | os.PathLike[str] | None, variant: str,
                 started: float, terminal_before: bool) -> None:
        self.telemetry = telemetry
        self.trace = job_trace
        self.span = span
        self.job = job
        self.path = path
        self.variant = variant
        self.started = started
        self.terminal_before = terminal_before
        self.clock = telemetry.pipeline.clock
        self.polls = 0
        self.retries = 0
        self.starts = 0
        self.completed = False
        self.saved = False
        self.downloaded = 0
        self.download_span: Span | None = None
        self.download_started = 0.0
        self.download_operation = "download"
        self.last_state: tuple[str, int | None] | None = None
        self.ended = False

    def phase(self) -> tuple[Literal["poll", "download"], Span]:
        """Where the next step's requests belong: the job span (polls) or the download."""
        if self.completed and self.path is not None and not self.saved:
            if self.download_span is None:
                self.download_span = self.telemetry.child_span(f"download {self.variant}",
                                                               self.span)
                self.download_span.set_attribute("foundry_video.download.variant", self.variant)
                self.download_started = self.clock.monotonic()
            return "download", self.download_span
        return "poll", self.span

    def observe(self, event: JobEvent) -> None:
        """Turn a lifecycle event into span events, attributes and metrics."""
        now = self.clock.monotonic()
        job_trace = self.trace
        signals = self.telemetry.signals
        if isinstance(event, (JobQueued, JobProgress)):
            progress = event.progress if isinstance(event, JobProgress) else None
            self._status(event.status, progress)
            if isinstance(event, JobProgress) and job_trace.running_since is None:
                job_trace.running_since = now
                self._queue_ended(now)
        elif isinstance(event, (JobCompleted, JobFailed)):
            self.completed = isinstance(event, JobCompleted)
            self._status(event.status if isinstance(event, JobFailed) else "completed", None)
            if self.terminal_before:
                return
            self._queue_ended(now)
            if job_trace.running_since is not None:
                signals.run_duration.record(now - job_trace.running_since,
                                            job_trace.metric_facts())
            code = safe_code(event.code) if isinstance(event, JobFailed) else None
            if code and self.span.is_recording():
                self.span.set_attribute("foundry_video.error.code", code)
        elif isinstance(event, DownloadStarted):
            self.starts += 1
            span = self.download_span
            if span is not None and event.total is not None:
                span.set_attribute("foundry_video.download.total", event.total)
            if self.starts > 1:  # a later start of the same download: a resumption
                signals.retry("resume", self.download_operation)
                if span is not None:
                    span.add_event("foundry_video.download.resume",
                                   {"foundry_video.download.resumed_from": event.resumed_from})
        elif isinstance(event, DownloadSaved):
            self._saved(event.size, now)

    def _status(self, status: str, progress: int | None) -> None:
        if (status, progress) == self.last_state:
            return
        self.last_state = (status, progress)
        if self.job is not None:
            self.trace.learn(self.span, self.job)
        if self.span.is_recording():
            facts: Facts = {"foundry_video.job.status": status[:64]}
            if progress is not None:
                facts["foundry_video.job.progress"] = progress
            self.span.add_event("foundry_video.job.status", facts)

    def _queue_ended(self, now: float) -> None:
        job_trace = self.trace
        if job_trace.created_here and not job_trace.queue_recorded:
            job_trace.queue_recorded = True
            self.telemetry.signals.queue_duration.record(now - job_trace.created_at,
                                                         job_trace.metric_facts())

    def _saved(self, size: int, now: float) -> None:
        self.saved = True
        self.downloaded = size
        facts = {**self.trace.metric_facts(), "foundry_video.download.variant": self.variant}
        elapsed = now - self.download_started
        signals = self.telemetry.signals
        signals.download_size.record(size, facts)
        signals.download_duration.record(elapsed, facts)
        if elapsed > 0:
            signals.download_throughput.record(size / elapsed, facts)
        if self.download_span is not None:
            self.download_span.set_attributes({"foundry_video.download.bytes": size,
                                               "foundry_video.download.resumes": self.starts - 1})
            self.download_span.end()

    def end_call(self, span: Span, exc: BaseException | None) -> None:
        """End a child span (the create call or the download), with the error if any."""
        if exc is not None and classify(exc, creating=True, done=False) != "cancelled":
            self._error(span, exc)
        span.end()

    def _error(self, span: Span, exc: BaseException) -> None:
        message, error_type = describe_error(exc)
        if not span.is_recording():
            return
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR, self.trace.scrub(message)))
        # Not record_exception(): its stack trace quotes source lines (a prompt literal).
        span.add_event("exception", {"exception.type": type(exc).__qualname__,
                                     "exception.message": self.trace.scrub(message)})

    def finish(self, exc: BaseException | None, *, creating: bool = False) -> None:
        """End the run: the job span's outcome, its error, and the job metrics."""
        if self.ended:
            return
        self.ended = True
        done = self.completed and (self.path is None or self.saved)
        outcome = classify(exc, creating=creating, done=done)
        failed = exc is not None and outcome not in ("succeeded", "cancelled")
        if self.download_span is not None and not self.saved:
            self.end_call(self.download_span, exc if failed else None)
        span = self.span
        if span.is_recording():
            facts: Facts = {"foundry_video.job.outcome": outcome,
                            "foundry_video.job.retries": self.retries + max(0, self.starts - 1)}
            if not creating:
                facts["foundry_video.job.polls"] = self.polls
            if self.saved:
                facts["foundry_video.download.bytes"] = self.downloaded
            span.set_attributes(facts)
            if exc is not None and failed:
                self._error(span, exc)
        span.end()
        if self.terminal_before:
            return  # a later download of a job already seen finished: not a job outcome
        facts = {**self.trace.metric_facts(), "foundry_video.job.outcome": outcome}
        if exc is not None and failed:
            facts["error.type"] = describe_error(exc)[1]
        signals = self.telemetry.signals
        signals.jobs_finished.add(1, facts)
        signals.job_duration.record(self.clock.monotonic() - self.started, facts)
