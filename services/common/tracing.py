"""OpenTelemetry traces, off unless OTEL_TRACES_EXPORTER names an exporter (e.g. `otlp`).

The SDK reads the other standard variables itself (OTEL_SERVICE_NAME,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, ...). A write stores its trace context on each
event it records (`traceparent`, W3C format; never part of the event's data), the feed serves
it, and a follower applies each page in a span linked to the requests that wrote its items.
"""

import os
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
tracer = trace.get_tracer("treatment-journeys")

if TYPE_CHECKING:  # the store stamps events with traces: it need not load the web framework
    from fastapi import FastAPI


def enabled() -> bool:
    exporters = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return exporters not in ("", "none") and not disabled


def install(provider: TracerProvider) -> None:
    """Use this provider (tests: one with an in-memory exporter) instead of the exporters the
    environment names."""
    global _provider
    _provider = provider
    trace.set_tracer_provider(provider)


def _configure(service: str) -> TracerProvider:
    """The process's provider, with the exporters OTEL_TRACES_EXPORTER names (entry points
    of the `opentelemetry_traces_exporter` group, as the SDK's own auto-configuration)."""
    if _provider is not None:
        return _provider
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in os.environ["OTEL_TRACES_EXPORTER"].split(","):
        if name.strip() and name.strip() != "none":
            (point,) = entry_points(group="opentelemetry_traces_exporter", name=name.strip())
            provider.add_span_processor(BatchSpanProcessor(point.load()()))
    install(provider)
    return provider


def instrument_app(app: "FastAPI", service: str) -> None:
    """Server spans for the app's requests and client spans for every httpx request."""
    if not enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    provider = _configure(f"treatment-journeys-{service}")
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="health,metrics"
    )
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def instrument_engine(engine: Any) -> None:
    """Spans for a SQLAlchemy engine's statements."""
    if enabled():
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=_provider)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def stamp(events: Sequence[Any]) -> None:
    """Record the current trace context on events about to be stored (not when tracing is
    off, nor on events already stamped where they were written)."""
    traceparent = current_traceparent() if enabled() else None
    if traceparent is None:
        return
    for event in events:
        if TRACEPARENT not in vars(event):
            object.__setattr__(event, TRACEPARENT, traceparent)


def links(traceparents: Iterable[str | None], limit: int = 64) -> list[Link]:
    """Links to the spans that wrote a page's events (distinct, at most `limit`)."""
    found: dict[tuple[int, int], SpanContext] = {}
    for traceparent in traceparents:
        if traceparent is None or len(found) >= limit:
            continue
        context = trace.get_current_span(_propagator.extract({TRACEPARENT: traceparent}))
        span_context = context.get_span_context()
        if span_context.is_valid:
            found[span_context.trace_id, span_context.span_id] = span_context
    return [Link(context) for context in found.values()]
