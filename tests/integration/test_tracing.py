"""Traces across the feed hop: a write's trace context travels on its event, and the follower
that applies it starts a span linked to the request that wrote it."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import tracing
from services.common.auth import Role
from services.common.settings import Settings
from tests.builders import client_body, days_ago, referral_body
from tests.support import AUTH_SETTINGS, auth

H, SERVICE = auth("ORG1"), auth("trace-test", Role.SERVICE)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "in-memory")  # tracing on, with this exporter
    yield exporter
    HTTPXClientInstrumentor().uninstrument()


def trace_id(traceparent: str) -> str:
    return traceparent.split("-")[1]


def test_a_follower_span_links_to_the_requests_that_wrote_its_events(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    from services.journey.main import create_app as journey_app
    from services.referral.main import create_app as referral_app

    settings = Settings(
        data_dir=tmp_path,
        **AUTH_SETTINGS,
        referral_database_url=f"sqlite:///{tmp_path / 'referral.db'}",
        journey_database_url=f"sqlite:///{tmp_path / 'journey.db'}",
    )
    referral_service, journey_service = referral_app(settings), journey_app(settings)
    referral, journey = TestClient(referral_service), TestClient(journey_service)
    try:
        client = referral.post("/clients", json=client_body(), headers=H).json()
        made = referral.post("/referrals", json=referral_body(client["id"]), headers=H).json()
        accepted = referral.post(
            f"/referrals/{made['id']}/accept", json={"accepted_on": days_ago(1)}, headers=H
        )
        assert accepted.status_code == 200
        writes = {
            s.context.trace_id: s.name
            for s in spans.get_finished_spans()
            if s.kind.name == "SERVER" and s.name.startswith("POST")
        }
        assert len(writes) == 3  # each write its own trace

        items = referral.get("/feed", headers=SERVICE).json()["items"]
        assert {int(trace_id(i["traceparent"]), 16) for i in items} == set(writes)
        assert all("traceparent" not in i["data"] for i in items)

        follower = journey_service.state.referral_follower
        follower.poll_once(referral)  # the journey service applies the page: opens an episode
        (applied,) = [s for s in spans.get_finished_spans() if s.name == "apply referral feed page"]
        assert {link.context.trace_id for link in applied.links} == set(writes)

        # What the follower wrote carries the follower's own trace onwards.
        opened = [i for i in journey.get("/feed", headers=SERVICE).json()["items"]]
        assert opened and all(
            int(trace_id(i["traceparent"]), 16) == applied.context.trace_id for i in opened
        )
    finally:
        for app in (referral_service, journey_service):
            app.state.application.close()
            app.state.access_log.close()


def test_tracing_is_off_by_default_and_events_carry_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.referral.main import create_app as referral_app

    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    settings = Settings(
        data_dir=tmp_path,
        **AUTH_SETTINGS,
        referral_database_url=f"sqlite:///{tmp_path / 'referral.db'}",
    )
    app = referral_app(settings)
    try:
        referral = TestClient(app)
        assert referral.post("/clients", json=client_body(), headers=H).status_code == 201
        items = referral.get("/feed", headers=SERVICE).json()["items"]
        assert items and all(item["traceparent"] is None for item in items)
    finally:
        app.state.application.close()
        app.state.access_log.close()
