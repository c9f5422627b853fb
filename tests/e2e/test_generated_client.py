"""A partner's developer generates typed Python clients from our committed OpenAPI documents
(offline) and drives a referral through to a KPI with them, against real service processes."""

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from services.common.auth import Role
from services.common.export_openapi import OPENAPI_DIR
from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import GOALS, RISKS
from tests.support import ServiceProcess, token, wait_until

pytestmark = pytest.mark.e2e
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
GENERATED = ("referral_client", "journey_client", "reporting_client")
SERVICES = ("referral", "journey", "reporting")


def generate(name: str, into: Path) -> None:
    config = into / "generator.yml"
    config.write_text("post_hooks: []\n")  # no formatter needed on the partner's side
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(OPENAPI_DIR / f"{name}.openapi.json"),
            "--output-path",
            str(into / f"{name}_client"),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The generated packages, imported: referral_client, journey_client, reporting_client."""
    out = tmp_path / "generated"
    out.mkdir()
    for name in SERVICES:
        generate(name, out)
    sys.path.insert(0, str(out))
    try:
        yield {name: importlib.import_module(f"{name}_client") for name in SERVICES}
    finally:
        sys.path.remove(str(out))
        for module in [m for m in sys.modules if m.split(".")[0] in GENERATED]:
            del sys.modules[module]


@pytest.fixture
def system(tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    env = {"TJ_DATA_DIR": str(tmp_path), "TJ_FOLLOW_INTERVAL_SECONDS": "0.1"}
    processes = {name: ServiceProcess(name, env) for name in ("referral", "journey", "reporting")}
    upstream = {"TJ_REFERRAL_URL": processes["referral"].url}
    upstream["TJ_JOURNEY_URL"] = processes["journey"].url
    try:
        for process in processes.values():
            process.env.update(upstream)
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def api(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{module}")


def test_a_generated_client_drives_a_referral_to_a_kpi(
    clients: dict[str, ModuleType], system: dict[str, ServiceProcess]
) -> None:
    referral_client, journey_client = clients["referral"], clients["journey"]
    rm = importlib.import_module("referral_client.models")
    jm = importlib.import_module("journey_client.models")
    bearer = token("ORG1", Role.PROVIDER, "alice")
    referrals = referral_client.AuthenticatedClient(base_url=system["referral"].url, token=bearer)
    journeys = journey_client.AuthenticatedClient(base_url=system["journey"].url, token=bearer)

    register = api(referral_client, "clients.register_client")
    client = register.sync(client=referrals, body=rm.ClientIn.from_dict(client_body()))
    assert isinstance(client, rm.ClientOut), client
    make = api(referral_client, "referrals.make_referral")
    body = rm.ReferralIn.from_dict(referral_body(str(client.id), referral_date=days_ago(20)))
    referral = make.sync(client=referrals, body=body)
    assert isinstance(referral, rm.ReferralOut), referral
    accept = api(referral_client, "referrals.accept_referral")
    accepted = accept.sync_detailed(
        referral.id,
        client=referrals,
        body=rm.AcceptIn(accepted_on=date.fromisoformat(days_ago(19)), keyworker="kim"),
        idempotency_key="accept-1",
        if_match=f'"{referral.version}"',
    )
    assert isinstance(accepted.parsed, rm.ReferralOut), accepted.content
    episode_id = accepted.parsed.episode_id
    assert accepted.headers["link"] == f'</episodes/{episode_id}>; rel="episode"'

    # The journey service opens the episode once it has followed the referral feed.
    find = api(journey_client, "episodes.find_episode")

    def episode_opened() -> Any:
        found = find.sync(client=journeys, referral_id=referral.id)
        return found if isinstance(found, jm.EpisodeOut) else None  # a 404 Problem until then

    opened = wait_until(episode_opened)
    assert opened.id == episode_id and opened.version == 1

    triage = api(journey_client, "episodes.record_triage_completed")
    triaged = triage.sync(
        episode_id,
        client=journeys,
        body=jm.TriageIn.from_dict(
            {
                "on": days_ago(18),
                "urgency": "routine",
                "tier_indicated": 3,
                "outcome": "structured_treatment_needed",
                "risks": RISKS,
            }
        ),
        if_match=f'"{opened.version}"',
    )
    assert isinstance(triaged, jm.EpisodeWrittenOut), triaged
    assert triaged.event_version == 2
    care_plan = api(journey_client, "episodes.record_care_plan_agreed")
    planned = care_plan.sync(
        episode_id,
        client=journeys,
        body=jm.CarePlanIn.from_dict(
            {"on": days_ago(17), "goals": GOALS, "next_review_on": days_ago(-11)}
        ),
        if_match=f'"{triaged.event_version}"',
    )
    assert isinstance(planned, jm.EpisodeWrittenOut), planned
    assert planned.event_version == 3

    read = api(journey_client, "episodes.read_episode")
    episode = read.sync(episode_id, client=journeys)
    assert isinstance(episode, jm.EpisodeOut), episode
    assert episode.version == 3 and episode.triaged_on == date.fromisoformat(days_ago(18))
    assert episode.latest_plan.kind == "care_plan"

    # KPIs, typed: the figures are models, a count an int for the organisation's own figures.
    reporting_client = clients["reporting"]
    km = importlib.import_module("reporting_client.models")
    reporting = reporting_client.AuthenticatedClient(base_url=system["reporting"].url, token=bearer)
    read_kpis = api(reporting_client, "kpis.read_kpis")
    period = {
        "period_start": date.fromisoformat(days_ago(30)),
        "period_end": date.fromisoformat(days_ago(0)),
    }

    def referrals_counted() -> Any:
        kpis = read_kpis.sync(client=reporting, **period)
        assert isinstance(kpis, km.KpisOut), kpis
        return kpis if kpis.figures.referral_sources.total.count == 1 else None

    kpis = wait_until(referrals_counted)
    assert kpis.suppressed_small_numbers is False
    figures = kpis.figures
    assert figures.referral_sources.by_source.gp.count == 1
    assert figures.numbers_in_treatment.count == 0  # no structured intervention yet
    within = figures.waiting_times.within_21_days
    assert isinstance(within, km.ShareOut) and within.ratio is None  # none started
    assert isinstance(figures.waiting_times.median_days, km.StatisticOut)
