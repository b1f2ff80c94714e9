"""The CLI's OpenTelemetry SDK, configured from the standard ``OTEL_*`` variables.

Only the CLI (an application) calls this; the library never configures exporters.
Exporters are found by name through the entry points the SDK and exporter packages
register (``console`` comes with the SDK, ``otlp`` with ``opentelemetry-exporter-otlp``),
as ``opentelemetry-instrument`` does. ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``
and each exporter's own variables apply as usual.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["configure_from_environment"]


def _exporters(variable: str, group: str) -> list[Any]:
    """Instances of the exporters named in ``variable`` (default ``otlp``, as the spec says)."""
    names = [n.strip() for n in os.environ.get(variable, "otlp").split(",") if n.strip()]
    found = []
    for name in names:
        if name == "none":
            continue
        matches = list(entry_points(group=group, name=name))
        if not matches:
            print(f"note: {variable}={name}: no such OpenTelemetry exporter is installed",
                  file=sys.stderr)
            continue
        found.append(matches[0].load()())
    return found


def configure_from_environment() -> None:
    """Set global tracer and meter providers with the exporters ``OTEL_*`` asks for.

    Both providers flush and shut down when the process exits.
    """
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "foundry-video"}
    resource = Resource.create(attributes)
    span_exporters = _exporters("OTEL_TRACES_EXPORTER", "opentelemetry_traces_exporter")
    if span_exporters:
        tracer_provider = TracerProvider(resource=resource)
        for exporter in span_exporters:
            tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(tracer_provider)
    readers: list[MetricReader] = [
        PeriodicExportingMetricReader(exporter)
        for exporter in _exporters("OTEL_METRICS_EXPORTER", "opentelemetry_metrics_exporter")]
    if readers:
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
