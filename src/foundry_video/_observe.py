"""Telemetry switches that cost nothing when off.

This module never imports OpenTelemetry. It holds :class:`TelemetryOptions`, the check
that decides whether a client with ``telemetry=None`` (the default) is observed, the CLI's
start-up hook, and the two seams through which :mod:`foundry_video.otel` watches jobs:
:func:`traced_create` around the resource methods that start a job, and
``Pipeline.telemetry`` (``None`` when off), which :meth:`Job.events` consults once per run.
With telemetry off, no hook is installed: a request pays nothing, a create or a job run
one ``None`` check.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from ._events import JobEvent
    from ._pipeline import Pipeline

__all__ = ["JobObserver", "TelemetryOptions", "TelemetrySetting", "cli_telemetry",
           "otel_configured", "resolve_telemetry", "traced_create"]

INSTALL_HINT = "pip install 'foundry-video[otel]'"


@dataclass(frozen=True)
class TelemetryOptions:
    """``VideoClient(telemetry=TelemetryOptions(...))``: how jobs are traced and measured.

    ``telemetry=True`` is ``TelemetryOptions()``. See the *Observability* guide for the
    spans, attributes and metrics.

    Attributes:
        propagate: send the W3C ``traceparent`` (through OpenTelemetry's global
            propagator, so also ``baggage`` if the application propagates it) with every
            request. ``None`` (default): only when the ``OTEL_PROPAGATORS`` environment
            variable is set (and not ``none``), i.e. when the application chose what leaves
            the process; the default propagator would also send the application's baggage
            to the video service.
        capture_prompt: record the prompt text on the job span (as
            ``gen_ai.input.messages``). Off by default: prompts are user content.
        tracer_provider: an OpenTelemetry ``TracerProvider`` to use instead of the global one.
        meter_provider: an OpenTelemetry ``MeterProvider`` to use instead of the global one.
    """

    propagate: bool | None = None
    capture_prompt: bool = False
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None

    @property
    def propagates(self) -> bool:
        """Whether ``traceparent`` is sent (``propagate`` with ``None`` resolved)."""
        if self.propagate is not None:
            return self.propagate
        chosen = os.environ.get("OTEL_PROPAGATORS", "").strip().lower()
        return bool(chosen) and chosen != "none"


TelemetrySetting = bool | TelemetryOptions | None
"""``VideoClient(telemetry=...)``: ``None`` (auto), ``True``/``False``, or options."""


def check_telemetry(setting: object) -> None:
    """Reject a malformed ``telemetry=`` at construction; explicit telemetry needs the extra."""
    if setting is None or setting is False:
        return
    if setting is not True and not isinstance(setting, TelemetryOptions):
        raise TypeError("telemetry must be True, False, None (auto) or a TelemetryOptions")
    if importlib.util.find_spec("opentelemetry") is None or \
            importlib.util.find_spec("opentelemetry.trace") is None:
        raise ModuleNotFoundError(f"telemetry needs the OpenTelemetry API: {INSTALL_HINT}")


def resolve_telemetry(setting: TelemetrySetting) -> TelemetryOptions | None:
    """The options in force, or ``None`` when telemetry is off.

    ``None`` (auto) is on when the application has set an OpenTelemetry tracer or meter
    provider (see :func:`otel_configured`).
    """
    if setting is None:
        return TelemetryOptions() if otel_configured() else None
    if setting is False:
        return None
    return TelemetryOptions() if setting is True else setting


def otel_configured() -> bool:
    """Whether the application set an OpenTelemetry tracer or meter provider.

    Checked without importing OpenTelemetry: an application that configured it has imported
    the API already, so when ``opentelemetry.trace``/``.metrics`` are not in ``sys.modules``
    the answer is no, at the cost of two dictionary look-ups.
    """
    trace: Any = sys.modules.get("opentelemetry.trace")
    if trace is not None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
            return True
    metrics: Any = sys.modules.get("opentelemetry.metrics")
    if metrics is not None:
        provider = metrics.get_meter_provider()
        # The API's stand-in before a provider is set is the private _ProxyMeterProvider.
        if not isinstance(provider, metrics.NoOpMeterProvider) \
                and not type(provider).__name__.startswith("_Proxy"):
            return True
    return False


# -- the seams ------------------------------------------------------------------------------


class JobObserver(Protocol):
    """What the SDK calls when telemetry is on (implemented by :mod:`foundry_video.otel`)."""

    async def create(self, operation: str, start: Callable[[], Awaitable[Any]],
                     arguments: Mapping[str, Any]) -> Any:
        """Run ``start()`` (a resource method that starts a job) inside the job's spans."""
        ...

    def watch(self, job: Any, stream: AsyncGenerator[JobEvent, None],
              path: str | os.PathLike[str] | None,
              variant: str) -> AsyncGenerator[JobEvent, None]:
        """Wrap one run of :meth:`Job.events`."""
        ...


class _HasPipeline(Protocol):
    @property
    def _pipeline(self) -> Pipeline: ...


ResourceT = TypeVar("ResourceT", bound=_HasPipeline)
P = ParamSpec("P")
R = TypeVar("R")


def traced_create(method: Callable[Concatenate[ResourceT, P], Awaitable[R]]
                  ) -> Callable[Concatenate[ResourceT, P], Awaitable[R]]:
    """Mark a resource method that starts a job: with telemetry on, the job's span begins
    here (the create request is its first child); off, one ``None`` check."""

    @functools.wraps(method)
    async def start_job(resource: ResourceT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        observer = resource._pipeline.telemetry
        if observer is None:
            return await method(resource, *args, **kwargs)
        result: R = await observer.create(method.__name__,
                                          lambda: method(resource, *args, **kwargs),
                                          _arguments(method, resource, args, kwargs))
        return result

    return start_job


@functools.cache
def _signature(method: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(method)


def _arguments(method: Callable[..., Any], resource: object, args: tuple[Any, ...],
               kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The call's arguments by name, defaults included (``model="sora-2"``)."""
    try:
        bound = _signature(method).bind(resource, *args, **kwargs)
    except TypeError:
        return kwargs  # the method itself will say what is wrong
    bound.apply_defaults()
    return bound.arguments


# -- the CLI ----------------------------------------------------------------------------------

_CLI_TRIGGERS = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


def cli_telemetry() -> None:
    """Set up an OpenTelemetry SDK from the standard ``OTEL_*`` variables, for the CLI.

    The CLI is an application, so unlike the library it may configure exporters. Nothing
    happens (and nothing is imported) unless one of ``OTEL_TRACES_EXPORTER``,
    ``OTEL_METRICS_EXPORTER`` or ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set; without the
    ``opentelemetry-sdk`` package a one-line note goes to stderr. The providers flush
    when the process exits.
    """
    if not any(os.environ.get(name) for name in _CLI_TRIGGERS):
        return
    if importlib.util.find_spec("opentelemetry") is None \
            or importlib.util.find_spec("opentelemetry.sdk") is None:
        print(f"note: OTEL_* is set but opentelemetry-sdk is not installed; no telemetry "
              f"({INSTALL_HINT} opentelemetry-sdk)", file=sys.stderr)
        return
    from ._otel_sdk import configure_from_environment

    configure_from_environment()
