"""OpenTelemetry: job spans, their attributes and events, and the metrics, read back from the
SDK's in-memory exporters, against the emulator on a virtual clock."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from foundry_video import (
    ApiKeyAuth,
    ContentPolicyError,
    JobFailedError,
    JobQueued,
    JobTimeoutError,
    ManualClock,
    TelemetryOptions,
    VideoClient,
)
from foundry_video import otel as fv_otel
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

KEY = "otel-SECRET-key-0123456789"
PROMPT = "A lighthouse keeper's secret recipe, filmed at dawn"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Otel:
    """In-memory tracing and metrics, and ways to read them back."""

    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    options: TelemetryOptions

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith(prefix)]

    def job_span(self) -> ReadableSpan:
        (span,) = self.named("generate_content")
        return span

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        return [s for s in self.spans()
                if s.parent is not None and s.parent.span_id == parent.context.span_id]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def units(self) -> dict[str, str]:
        data = self.reader.get_metrics_data()
        return {metric.name: metric.unit for resource in (data.resource_metrics if data else ())
                for scope in resource.scope_metrics for metric in scope.metrics}

    def total(self, name: str, **attributes: str) -> float:
        """Sum of a counter (or count of a histogram) over points matching ``attributes``."""
        total = 0.0
        for point in self.points(name):
            if all(point.attributes.get(k.replace("__", ".")) == v for k, v in attributes.items()):
                total += point.count if isinstance(point, HistogramDataPoint) else point.value
        return total


def make_otel(**options: Any) -> Otel:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=options.pop("sampler", None))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    return Otel(exporter, reader, tracer_provider, TelemetryOptions(
        tracer_provider=tracer_provider, meter_provider=meter_provider, **options))


@pytest.fixture
def otel() -> Otel:
    return make_otel()


@pytest.fixture(autouse=True)
def telemetry_never_failed(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Our own failures are logged, not raised (a job must not break): none may happen."""
    yield
    assert not [r for r in caplog.records if "telemetry failed" in r.getMessage()]


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(), api_keys={KEY},
                        queue_seconds=5, job_seconds=60) as emulator:
        yield emulator


@pytest.fixture
async def sdk(emu: Emulator, clock: ManualClock, otel: Otel) -> AsyncIterator[VideoClient]:
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           telemetry=otel.options) as client:
        yield client


def attributes_everywhere(otel: Otel) -> Iterator[str]:
    """Every string recorded anywhere: span names, attributes, events, links, statuses and
    metric attributes."""
    for span in otel.spans():
        yield span.name
        yield span.status.description or ""
        sources: list[Any] = [span.attributes, *(e.attributes for e in span.events),
                              *(link.attributes for link in span.links)]
        for attributes in sources:
            for key, value in (attributes or {}).items():
                yield key
                yield json.dumps(value) if not isinstance(value, str) else value
    yield from attributes_everywhere_in_metrics(otel)


def attributes_everywhere_in_metrics(otel: Otel) -> Iterator[str]:
    data = otel.reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    yield json.dumps(dict(point.attributes))


# -- the span tree -----------------------------------------------------------------------


async def test_successful_job_is_one_span_from_create_to_saved_file(
        sdk: VideoClient, emu: Emulator, otel: Otel, clock: ManualClock, tmp_path: Path) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("render-ad") as app:
        job = await sdk.videos.create(prompt=PROMPT, size="1280x720", seconds=8)
        saved = await job.result(tmp_path / "ad.mp4")
    job_span = otel.job_span()
    assert job_span.name == "generate_content sora-2" and job_span.kind is SpanKind.CLIENT
    assert job_span.parent is not None and job_span.parent.span_id == app.get_span_context().span_id
    create, download = sorted(otel.children(job_span), key=lambda s: s.start_time or 0)
    assert create.name == "POST /videos" and download.name == "GET /videos/{id}/content"
    assert (job_span.start_time or 0) <= (create.start_time or 0)
    assert (download.end_time or 0) <= (job_span.end_time or 0)
    assert job_span.status.status_code is StatusCode.UNSET

    facts = dict(job_span.attributes or {})
    polls = [r for r in emu.requests if r.method == "GET" and r.path.endswith(job.id)]
    assert facts == {**facts,
                     "gen_ai.operation.name": "generate_content",
                     "gen_ai.provider.name": "azure.ai.openai",
                     "gen_ai.request.model": "sora-2", "gen_ai.response.model": "sora-2",
                     "gen_ai.response.id": job.id, "foundry_video.job.id": job.id,
                     "server.address": "127.0.0.1", "server.port": emu.port,
                     "foundry_video.video.size": "1280x720", "foundry_video.video.seconds": 8,
                     "foundry_video.job.status": "completed",
                     "foundry_video.job.outcome": "succeeded",
                     "foundry_video.job.polls": len(polls), "foundry_video.job.retries": 0,
                     "foundry_video.download.bytes": saved.stat().st_size}
    # Each status request is an event on the job span; each change of status too.
    events = [e.name for e in job_span.events]
    assert events.count("foundry_video.poll") == len(polls) >= 3
    statuses = [e.attributes["foundry_video.job.status"] for e in job_span.events
                if e.name == "foundry_video.job.status" and e.attributes]
    assert statuses[0] == "queued" and statuses[-1] == "completed" and "in_progress" in statuses

    assert dict(create.attributes or {}) == {**dict(create.attributes or {}),
                                            "http.request.method": "POST",
                                            "http.response.status_code": 200,
                                            "url.template": "/videos",
                                            "http.request.resend_count": 0}
    assert str(create.attributes["url.full"]).endswith("/openai/v1/videos")
    assert download.attributes is not None
    assert download.attributes["foundry_video.download.bytes"] == saved.stat().st_size
    assert download.attributes["foundry_video.download.resumes"] == 0
    assert str(download.attributes["url.full"]).endswith("/content?variant=video")

    labels = {"gen_ai__request__model": "sora-2", "gen_ai__provider__name": "azure.ai.openai"}
    assert otel.total("foundry_video.jobs.started", **labels) == 1
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="succeeded",
                      **labels) == 1
    assert otel.total("foundry_video.poll.requests", **labels) == len(polls)
    assert otel.total("foundry_video.retries") == 0
    (duration,) = otel.points("foundry_video.job.duration")
    (queued,) = otel.points("foundry_video.job.queue.duration")
    (running,) = otel.points("foundry_video.job.run.duration")
    # Virtual time: 5 s queued, 60 s running, seen at the polling resolution.
    assert 5 <= queued.sum <= 15 and 45 <= running.sum <= 70
    assert duration.sum == pytest.approx(clock.monotonic(), abs=1)
    (size,) = otel.points("foundry_video.download.size")
    assert size.sum == saved.stat().st_size
    assert size.attributes["foundry_video.download.variant"] == "video"
    assert otel.units() == {
        "foundry_video.jobs.started": "{job}", "foundry_video.jobs.finished": "{job}",
        "foundry_video.job.duration": "s", "foundry_video.job.queue.duration": "s",
        "foundry_video.job.run.duration": "s", "foundry_video.poll.requests": "{request}",
        "foundry_video.download.size": "By", "foundry_video.download.duration": "s"}
    # Never an id in a metric attribute.
    assert not [v for v in attributes_everywhere_in_metrics(otel) if job.id in v]


async def test_failed_job_records_the_service_code(sdk: VideoClient, emu: Emulator, otel: Otel,
                                                    tmp_path: Path) -> None:
    emu.inject(Fault("job_failed", code="internal_error", message="GPU on fire"))
    job = await sdk.videos.create(prompt=PROMPT)
    with pytest.raises(JobFailedError):
        await job.result(tmp_path / "never.mp4")
    job_span = otel.job_span()
    assert [s.name for s in otel.children(job_span)] == ["POST /videos"]  # no download
    assert job_span.status.status_code is StatusCode.ERROR
    assert "GPU on fire" in (job_span.status.description or "")
    assert job_span.attributes is not None
    assert job_span.attributes["foundry_video.job.outcome"] == "failed"
    assert job_span.attributes["error.type"] == "internal_error"
    assert job_span.attributes["foundry_video.job.status"] == "failed"
    (exception,) = [e for e in job_span.events if e.name == "exception"]
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "JobFailedError"
    assert "exception.stacktrace" not in exception.attributes
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="failed",
                      error__type="internal_error") == 1
    assert not otel.points("foundry_video.download.size")
    assert not (tmp_path / "never.mp4").exists()


async def test_retried_create_records_the_retry_on_the_create_span(
        sdk: VideoClient, emu: Emulator, otel: Otel, clock: ManualClock) -> None:
    emu.inject(Fault("rate_limit", operation="create", retry_after=2))
    await (await sdk.videos.create(prompt=PROMPT))
    job_span = otel.job_span()
    (create,) = otel.named("POST /videos")
    (retry,) = [e for e in create.events if e.name == "foundry_video.retry"]
    assert retry.attributes == {"foundry_video.retry.cause": "rate_limit",
                                "foundry_video.retry.attempt": 1,
                                "foundry_video.retry.delay": 2.0, "error.type": "429",
                                "http.response.status_code": 429}
    assert create.attributes is not None and job_span.attributes is not None
    assert create.attributes["http.request.resend_count"] == 1
    assert create.attributes["http.response.status_code"] == 200
    assert create.status.status_code is StatusCode.UNSET
    assert job_span.attributes["foundry_video.job.retries"] == 1
    assert otel.total("foundry_video.retries", foundry_video__retry__cause="rate_limit",
                      foundry_video__operation="POST /videos") == 1


async def test_rejected_create_is_a_finished_span_with_the_reason(
        sdk: VideoClient, emu: Emulator, otel: Otel) -> None:
    with pytest.raises(ContentPolicyError):
        await sdk.videos.create(prompt="gore " + PROMPT)
    with pytest.raises(ValueError):
        await sdk.videos.create(prompt=PROMPT, size="1x1")  # refused before sending
    rejected, invalid = sorted(otel.named("generate_content"), key=lambda s: s.start_time or 0)
    assert rejected.attributes is not None and invalid.attributes is not None
    assert rejected.attributes["foundry_video.job.outcome"] == "rejected"
    assert rejected.attributes["error.type"] == "content_filter"
    (create,) = otel.children(rejected)
    assert create.status.status_code is StatusCode.ERROR
    assert create.attributes is not None and create.attributes["http.response.status_code"] == 400
    assert invalid.attributes["error.type"] == "ValueError"
    assert [s.name for s in otel.children(invalid)] == ["create"]  # nothing was sent
    assert otel.total("foundry_video.jobs.started") == 0
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="rejected") == 2


async def test_resumed_download_records_the_resume(sdk: VideoClient, emu: Emulator, otel: Otel,
                                                   tmp_path: Path) -> None:
    emu.inject(Fault("truncate_body", operation="content", after_bytes=100))
    job = await sdk.videos.create(prompt=PROMPT)
    saved = await job.result(tmp_path / "v.mp4")
    (download,) = otel.named("GET /videos/{id}/content")
    (resume,) = [e for e in download.events if e.name == "foundry_video.download.resume"]
    assert resume.attributes == {"foundry_video.download.resumed_from": 100}
    assert download.attributes is not None
    assert download.attributes["foundry_video.download.resumes"] == 1
    assert download.attributes["foundry_video.download.bytes"] == saved.stat().st_size
    assert download.attributes["http.response.status_code"] == 206
    assert otel.total("foundry_video.retries", foundry_video__retry__cause="resume",
                      foundry_video__operation="GET /videos/{id}/content") == 1
    assert otel.job_span().attributes["foundry_video.job.retries"] == 1  # type: ignore[index]
    (size,) = otel.points("foundry_video.download.size")
    assert size.sum == saved.stat().st_size


@pytest.mark.parametrize("remote", [False, True])
async def test_cancelled_wait(sdk: VideoClient, emu: Emulator, otel: Otel, remote: bool) -> None:
    job = await sdk.videos.create(prompt=PROMPT)
    with anyio.CancelScope() as scope:
        # Cancelled while polling (inside the job's own step).
        await job.wait(on_progress=lambda event: scope.cancel(), cancel_remote=remote)
    job_span = otel.job_span()
    assert job_span.attributes is not None
    assert job_span.attributes["foundry_video.job.outcome"] == "cancelled"
    assert job_span.status.status_code is StatusCode.UNSET  # the caller's choice, no error
    deletes = [r for r in emu.requests if r.method == "DELETE"]
    assert len(deletes) == (1 if remote else 0)
    assert job_span.attributes["foundry_video.job.polls"] == len(
        [r for r in emu.requests if r.method == "GET"])
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="cancelled") == 1
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="succeeded") == 0


async def test_a_wait_that_times_out(sdk: VideoClient, otel: Otel) -> None:
    job = await sdk.videos.create(prompt=PROMPT)
    with pytest.raises(JobTimeoutError):
        await job.wait(timeout=10)  # the job needs 65 s of virtual time
    job_span = otel.job_span()
    assert job_span.attributes is not None
    assert job_span.attributes["foundry_video.job.outcome"] == "timeout"
    assert job_span.attributes["error.type"] == "JobTimeoutError"
    assert job_span.status.status_code is StatusCode.ERROR
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="timeout") == 1


async def test_breaking_out_of_events_ends_the_span(sdk: VideoClient, otel: Otel) -> None:
    job = await sdk.videos.create(prompt=PROMPT)
    async with contextlib.aclosing(job.events()) as events:
        async for event in events:
            assert isinstance(event, JobQueued)
            break
    job_span = otel.job_span()
    assert job_span.attributes is not None
    assert job_span.attributes["foundry_video.job.outcome"] == "cancelled"


# -- context -----------------------------------------------------------------------------


async def test_waited_on_from_another_task_the_job_stays_the_creators_child(
        sdk: VideoClient, otel: Otel, tmp_path: Path) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request-handler") as creator:
        job = await sdk.videos.create(prompt=PROMPT)

    async def worker() -> None:
        with tracer.start_as_current_span("worker") as waiter:
            await job.result(tmp_path / "w.mp4")
            worker_span.append(waiter)

    worker_span: list[Any] = []
    await asyncio.create_task(worker())
    job_span = otel.job_span()
    assert job_span.parent is not None
    assert job_span.parent.span_id == creator.get_span_context().span_id
    (link,) = job_span.links
    assert link.context.span_id == worker_span[0].get_span_context().span_id
    assert link.attributes == {"foundry_video.link": "waiter"}
    assert {s.name for s in otel.children(job_span)} == {"POST /videos",
                                                         "GET /videos/{id}/content"}


async def test_a_job_resumed_by_id_links_to_the_span_that_created_it(
        sdk: VideoClient, otel: Otel, tmp_path: Path) -> None:
    job = await sdk.videos.create(prompt=PROMPT)
    job_id = job.id
    del job
    gc.collect()  # the Job was dropped without waiting: its span ends ("detached")
    (created,) = otel.named("generate_content")
    assert created.attributes is not None
    assert created.attributes["foundry_video.job.outcome"] == "detached"
    assert otel.total("foundry_video.jobs.finished") == 0

    await sdk.videos.job(job_id).result(tmp_path / "r.mp4")
    (resumed,) = [s for s in otel.named("generate_content")
                  if s.context.span_id != created.context.span_id]
    assert resumed.attributes is not None
    assert resumed.attributes["foundry_video.job.resumed"] is True
    assert resumed.attributes["gen_ai.request.model"] == "sora-2"
    assert resumed.name == "generate_content sora-2"
    (link,) = resumed.links
    assert link.context.span_id == created.context.span_id
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="succeeded") == 1
    # Queue time is only measured for jobs this process created.
    assert not otel.points("foundry_video.job.queue.duration")


async def test_a_traceparent_stored_with_the_id_links_a_run_in_another_process(
        sdk: VideoClient, otel: Otel) -> None:
    job = await sdk.videos.create(prompt=PROMPT)
    stored = fv_otel.job_traceparent(job)
    await job
    context = otel.job_span().context
    assert stored is not None
    assert stored.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    # "Another process": a job id this process never saw, with the stored traceparent
    # (unique: the registry lives as long as the process, which may run the suite twice).
    other = f"video_from_elsewhere_{uuid.uuid4().hex}"
    assert fv_otel.job_traceparent(other) is None
    fv_otel.link_job(other, stored)
    assert fv_otel.job_traceparent(other) == stored
    with pytest.raises(ValueError):
        fv_otel.link_job(other, "00-garbage")


async def test_wait_then_result_counts_the_job_once(sdk: VideoClient, otel: Otel,
                                                    tmp_path: Path) -> None:
    job = await sdk.videos.create(prompt=PROMPT)
    await job
    await job.result(tmp_path / "later.mp4")
    first, later = sorted(otel.named("generate_content"), key=lambda s: s.start_time or 0)
    assert [s.name for s in otel.children(first)] == ["POST /videos"]
    assert [s.name for s in otel.children(later)] == ["GET /videos/{id}/content"]
    assert later.links[0].context.span_id == first.context.span_id
    assert later.attributes is not None and later.attributes["foundry_video.job.polls"] == 0
    assert otel.total("foundry_video.jobs.finished") == 1
    assert otel.total("foundry_video.download.size") == 1


async def test_traceparent_is_sent_only_when_propagation_is_enabled(
        emu: Emulator, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_PROPAGATORS", raising=False)
    for propagate, env, expected in ((None, None, False), (False, "tracecontext", False),
                                     (None, "tracecontext", True), (None, "none", False),
                                     (True, None, True)):
        if env is None:
            monkeypatch.delenv("OTEL_PROPAGATORS", raising=False)
        else:
            monkeypatch.setenv("OTEL_PROPAGATORS", env)
        otel = make_otel(propagate=propagate)
        emu.requests.clear()
        async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                               telemetry=otel.options) as client:
            await (await client.videos.create(prompt=PROMPT))
        sent = [r.headers.get("traceparent") for r in emu.requests]
        assert all(bool(value) == expected for value in sent), (propagate, env, sent)
        if expected:
            (create,) = otel.named("POST /videos")
            job_span = otel.job_span()
            trace_id = f"{job_span.context.trace_id:032x}"
            assert str(sent[0]).startswith(f"00-{trace_id}-{create.context.span_id:016x}-")
            # Polls carry the job span.
            assert str(sent[-1]).startswith(f"00-{trace_id}-{job_span.context.span_id:016x}-")


async def test_emulator_server_spans_join_the_client_trace(clock: ManualClock,
                                                           tmp_path: Path) -> None:
    otel = make_otel(propagate=True)
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(), api_keys={KEY},
                        telemetry=otel.options) as emu, \
            VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                        telemetry=otel.options) as client:
        emu.inject(Fault("server_error", operation="retrieve", status=503))
        job = await client.videos.create(prompt=PROMPT)
        await job.result(tmp_path / "e.mp4")
    servers = [s for s in otel.spans() if s.kind is SpanKind.SERVER]
    assert len(servers) == len(emu.requests)
    trace_ids = {s.context.trace_id for s in otel.spans()}
    assert len(trace_ids) == 1
    failed = [s for s in servers if (s.attributes or {}).get("http.response.status_code") == 503]
    assert len(failed) == 1 and failed[0].attributes is not None
    assert failed[0].attributes["foundry_video.emulator.faults"] == ("server_error",)
    assert failed[0].attributes["http.route"] == "/openai/v1/videos/{video_id}"
    assert failed[0].status.status_code is StatusCode.ERROR
    # The failed poll was retried: an event on the job span, under which the server span sits.
    job_span = otel.job_span()
    assert failed[0].parent is not None and failed[0].parent.span_id == job_span.context.span_id
    assert any(e.name == "foundry_video.retry" for e in job_span.events)
    assert otel.total("foundry_video.retries", foundry_video__retry__cause="server_error") == 1


# -- what is never recorded -------------------------------------------------------------


async def test_no_secret_and_no_prompt_in_any_attribute(emu: Emulator, clock: ManualClock,
                                                        tmp_path: Path) -> None:
    otel = make_otel(propagate=True)
    emu.inject(Fault("rate_limit", operation="create"))
    emu.inject(Fault("truncate_body", operation="content", after_bytes=10))
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           telemetry=otel.options, api_version="v1",
                           default_query={"sig": KEY}) as client:
        await (await client.videos.create(prompt=PROMPT)).result(tmp_path / "a.mp4")
        # The service echoes the prompt back in a failure message.
        emu.inject(Fault("job_failed", code="moderation_blocked",
                         message=f"rejected: {PROMPT} ({KEY})"))
        with pytest.raises(JobFailedError):
            await (await client.videos.create(prompt=PROMPT)).result(tmp_path / "b.mp4")
        with pytest.raises(ContentPolicyError):
            await client.videos.create(prompt="nsfw " + PROMPT)
    everything = list(attributes_everywhere(otel))
    assert everything and not [v for v in everything if KEY in v]
    assert not [v for v in everything if PROMPT in v]
    assert any("<prompt>" in v for v in everything)  # scrubbed, not lost
    fulls = [str((s.attributes or {}).get("url.full")) for s in otel.spans()]
    assert any("sig=REDACTED" in f and "api-version=v1" in f for f in fulls)


async def test_the_prompt_is_recorded_only_when_asked(emu: Emulator, clock: ManualClock) -> None:
    otel = make_otel(capture_prompt=True)
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           telemetry=otel.options) as client:
        await client.videos.create(prompt=PROMPT)
    messages = otel.job_span().attributes["gen_ai.input.messages"]  # type: ignore[index]
    assert json.loads(str(messages)) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]


async def test_a_remix_takes_its_model_from_the_service(sdk: VideoClient, otel: Otel) -> None:
    source = await sdk.videos.create(prompt=PROMPT, model="sora-2-pro")
    await source
    await (await sdk.videos.remix(source.id, prompt="now at dusk"))
    remix = next(s for s in otel.named("generate_content")
                 if (s.attributes or {}).get("foundry_video.job.operation") == "remix")
    assert remix.name == "generate_content sora-2-pro"
    assert remix.attributes is not None
    assert remix.attributes["gen_ai.request.model"] == "sora-2-pro"
    assert [s.name for s in otel.children(remix)] == ["POST /videos/{id}/remix"]
    assert otel.total("foundry_video.jobs.started", gen_ai__request__model="sora-2-pro") == 2


async def test_the_clients_own_hooks_still_run(emu: Emulator, clock: ManualClock) -> None:
    otel = make_otel()
    seen: list[str] = []
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           telemetry=otel.options, event_hooks={
                               "request": [lambda r: seen.append(r.method)],
                               "response": [lambda r: seen.append(str(r.status_code))]}) as client:
        await client.videos.create(prompt=PROMPT)
    assert seen == ["POST", "200"]
    assert otel.named("POST /videos")


async def test_metrics_are_recorded_when_spans_are_not_sampled(
        emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    otel = make_otel(sampler=ALWAYS_OFF)
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           telemetry=otel.options) as client:
        await (await client.videos.create(prompt=PROMPT)).result(tmp_path / "s.mp4")
    assert otel.spans() == []
    assert otel.total("foundry_video.jobs.finished", foundry_video__job__outcome="succeeded") == 1
    assert otel.total("foundry_video.poll.requests") >= 3


async def test_sora1_jobs_are_traced_too(emu: Emulator, clock: ManualClock,
                                         tmp_path: Path) -> None:
    otel = make_otel()
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           telemetry=otel.options) as client:
        job = await client.generation_jobs.create(prompt=PROMPT, model="sora", width=480,
                                                  height=480, n_variants=2)
        await job.result(tmp_path / "one.mp4")
    job_span = otel.job_span()
    assert job_span.name == "generate_content sora"
    assert job_span.attributes is not None
    assert job_span.attributes["foundry_video.video.size"] == "480x480"
    assert job_span.attributes["foundry_video.video.variants"] == 2
    assert job_span.attributes["foundry_video.job.outcome"] == "succeeded"
    assert {s.name for s in otel.children(job_span)} == {
        "POST /video/generations/jobs", "GET /video/generations/{id}/content/video"}


# -- switching it on and off -------------------------------------------------------------


def test_bad_telemetry_settings_fail_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="telemetry"):
        VideoClient("https://r.openai.azure.com", auth=ApiKeyAuth(KEY),
                    telemetry="yes")  # type: ignore[arg-type]
    import foundry_video._observe as observe

    monkeypatch.setattr(observe.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"foundry-video\[otel\]"):
        VideoClient("https://r.openai.azure.com", auth=ApiKeyAuth(KEY), telemetry=True)
    VideoClient("https://r.openai.azure.com", auth=ApiKeyAuth(KEY), telemetry=False)


def _python(code: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


_JOB = """
import asyncio, sys, tempfile, pathlib
from foundry_video import VideoClient, ApiKeyAuth, ManualClock
from foundry_video.emulator import Emulator, PlaceholderRenderer

async def job():
    clock = ManualClock()
    async with Emulator(clock=clock, renderer=PlaceholderRenderer()) as emu, \\
            VideoClient(emu.endpoint, auth=ApiKeyAuth("k"), clock=clock) as client:
        job = await client.videos.create(prompt="a cat")
        await job.result(pathlib.Path(tempfile.mkdtemp()) / "c.mp4")
        return client._pipeline.telemetry
"""


def test_without_telemetry_opentelemetry_is_never_imported() -> None:
    out = _python(_JOB + """
telemetry = asyncio.run(job())
print(telemetry, sorted(m for m in sys.modules if m.startswith("opentelemetry")))
""", OTEL_TRACES_EXPORTER="console")
    assert out.strip() == "None []"


def test_a_provider_set_by_the_application_turns_telemetry_on() -> None:
    out = _python("""
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
""" + _JOB + """
import opentelemetry.metrics  # imported but not configured: still off
print(asyncio.run(job()))
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
asyncio.run(job())
print(sorted({s.name for s in exporter.get_finished_spans()}))
""")
    first, second = out.strip().splitlines()
    assert first == "None"
    # The client's spans, and the emulator's (on too: same rule).
    assert second == str(sorted(["generate_content sora-2", "POST /videos",
                                 "GET /videos/{id}/content", "POST /openai/v1/videos",
                                 "GET /openai/v1/videos/{video_id}",
                                 "GET /openai/v1/videos/{video_id}/content"]))


def test_the_cli_exports_through_the_otel_environment_variables(tmp_path: Path) -> None:
    code = """
import sys
from foundry_video import cli
cli.EMULATOR_OPTIONS = {"job_seconds": 0.2, "queue_seconds": 0.05}
sys.exit(cli.main(["generate", "a neon city", "--emulator", "-q", "-o", sys.argv[1]]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "cli.mp4")], capture_output=True, text=True,
        timeout=120, check=False, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "OTEL_TRACES_EXPORTER": "console",
             "OTEL_METRICS_EXPORTER": "console", "OTEL_PROPAGATORS": "tracecontext",
             "OTEL_SERVICE_NAME": "cli-test"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli.mp4").stat().st_size > 0
    spans = _console_spans(done.stdout)
    names = {span["name"] for span in spans}
    assert {"generate_content sora-2", "POST /videos", "GET /videos/{id}/content",
            "POST /openai/v1/videos"} <= names  # the SDK's and the emulator's spans
    assert len({span["context"]["trace_id"] for span in spans}) == 1
    assert all(span["resource"]["attributes"]["service.name"] == "cli-test" for span in spans)
    assert '"foundry_video.jobs.finished"' in done.stdout


def _console_spans(text: str) -> Sequence[dict[str, Any]]:
    """The JSON objects the console span exporter printed (one per span)."""
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while (start := text.find("{", index)) != -1:
        try:
            value, index = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        if isinstance(value, dict) and "span_id" in value.get("context", {}):
            spans.append(value)
    return spans


async def test_a_failure_of_telemetry_never_breaks_a_job(
        sdk: VideoClient, otel: Otel, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    from foundry_video import _otel_run

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in telemetry")

    monkeypatch.setattr(_otel_run.Run, "observe", broken)
    monkeypatch.setattr(_otel_run.JobTrace, "learn", broken)
    job = await sdk.videos.create(prompt=PROMPT)
    assert (await job.result(tmp_path / "a.mp4")).stat().st_size > 0
    monkeypatch.setattr(fv_otel.JobTelemetry, "_begin", broken)
    assert (await job.result(tmp_path / "b.mp4")).stat().st_size > 0
    failures = [r for r in caplog.records if "telemetry failed" in r.getMessage()]
    assert len(failures) >= 3 and all(r.exc_info for r in failures)
    caplog.clear()
