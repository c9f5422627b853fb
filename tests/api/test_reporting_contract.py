"""The reporting service's answers validate against the published OpenAPI document: KPIs exact and
under disclosure control (suppressed counts, percentages, medians), with revisions, caseloads, the
waiting list, the worklist and the NDTMS validation report, read from a small story.

Story (days ago): ORG1 takes three clients: A referred 60, triaged 58, Tier 3 from 50, planned
discharge 20; B referred 40, triaged 38, Tier 3 from 30 (open); C referred 30, nothing since
(waiting). HMP1 (CARAT) hands one client over to CJIT1, accepted 25 days ago."""

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from services.common.auth import Role
from services.common.codes import ReferralSource
from services.common.export_openapi import OPENAPI_DIR
from services.reporting.schemas import BySourceOut
from tests.builders import days_ago
from tests.journey_driver import CARAT, CJIT, H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

COMMISSIONER = auth("COMM1", Role.COMMISSIONER)
DOCUMENT = (Path(OPENAPI_DIR) / "reporting.openapi.json").read_text()


@pytest.fixture
def store() -> str:
    return "sqlite"  # the contract does not depend on the store


def published(path: str, method: str = "get", status: str = "200") -> Any:
    """A validator for the answer the committed document publishes for an operation."""
    document = json.loads(DOCUMENT)
    operation = document["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    assert schema.get("$ref"), f"{method} {path} publishes no schema"
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def conforms(path: str, answer: Any) -> Any:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    errors = [str(e) for e in published(path).iter_errors(body)]
    assert errors == [], errors
    return body


def leaves(figures: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every (name, value) at the ends of the figures' tree."""
    found: list[tuple[str, Any]] = []
    for key, value in figures.items():
        found += leaves(value) if isinstance(value, dict) else [(key, value)]
    return found


def record_the_story(r: ReportingDriver) -> None:
    d = r.journeys
    a = d.open_episode(referred=60, accepted=59)
    d.triage(a, on=58)
    d.care_plan(a, on=55)
    d.start(a, on=50)
    d.discharge(a, on=20, reason="treatment_completed_drug_free")
    b = d.open_episode(referred=40, accepted=39)
    d.triage(b, on=38)
    d.care_plan(b, on=35)
    d.start(b, on=30)
    d.open_episode(referred=30, accepted=29)
    d.accepted_referral(handover=True, referred=35, accepted=25)
    d.follow_referrals()
    r.follow()


def test_kpis_exact_and_disclosed_answer_the_published_schema(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    record_the_story(r)
    period = {"period_start": days_ago(90), "period_end": days_ago(0)}
    exact = conforms("/kpis", r.reporting.get("/kpis", params=period, headers=H))
    assert exact["suppressed_small_numbers"] is False and exact["revisions"] is None
    kinds = {key for key, _ in leaves(exact["figures"])}
    assert "ratio" in kinds and "percent" not in kinds
    assert exact["figures"]["numbers_in_treatment"]["count"] == 2
    assert isinstance(exact["figures"]["waiting_times"]["median_days"]["value"], float)
    # The models keep the order the figures are computed in (consumers such as CSV exports
    # list them in answer order): sources in code order.
    by_source = list(exact["figures"]["referral_sources"]["by_source"])
    assert by_source == sorted(source.value for source in ReferralSource)
    # Known at a time before the story: every figure revised since, listed.
    before = {**period, "known_at": "2020-01-01T00:00:00Z"}
    revised = conforms("/kpis", r.reporting.get("/kpis", params=before, headers=H))
    assert revised["revisions"]

    # A commissioner: whole months, counts of 1 to 5 suppressed, percentages not ratios.
    month = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    for params in (month, {**month, "organisation": "ORG1"}):
        disclosed = conforms("/kpis", r.reporting.get("/kpis", params=params, headers=COMMISSIONER))
        assert disclosed["suppressed_small_numbers"] is True
        values = leaves(disclosed["figures"])
        assert ("count", "suppressed") in values and ("percent", "suppressed") in values
        assert {key for key, _ in values} >= {"percent", "count", "value"}
        assert "ratio" not in {key for key, _ in values}
        assert disclosed["disclosure_control"]["rounded_to_nearest"] == 5
    # Known at the first of the month: nothing yet; the revisions show suppressed values.
    earlier = {**month, "known_at": "2026-11-01T00:00:00Z"}
    disclosed = conforms("/kpis", r.reporting.get("/kpis", params=earlier, headers=COMMISSIONER))
    assert {"known_at": 0, "current": "suppressed"}.items() <= disclosed["revisions"][0].items()

    # The CARAT team's and the CJIT's own figures.
    for team in (CARAT, CJIT):
        conforms("/kpis", r.reporting.get("/kpis", params=period, headers=team))


def test_every_referral_source_has_its_published_cell() -> None:
    assert set(BySourceOut.model_fields) == {source.value for source in ReferralSource}


def test_caseloads_waiting_list_worklist_and_validation_answer_the_published_schema(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    record_the_story(r)
    caseload = conforms("/caseloads", r.reporting.get("/caseloads", headers=H))
    assert caseload["total"] == 2
    assert {row["phase"] for row in caseload["rows"]} == {"delivery", "waiting"}
    paged = {"limit": 1, "as_at": days_ago(45), "known_at": "2030-01-01T00:00:00Z"}
    conforms("/caseloads", r.reporting.get("/caseloads", params=paged, headers=H))
    waiting = conforms("/waiting-list", r.reporting.get("/waiting-list", headers=H))
    assert [row["days_waiting"] for row in waiting["rows"]] == [30]
    conforms("/worklist", r.reporting.get("/worklist", headers=H))
    conforms("/worklist", r.reporting.get("/worklist", headers=CJIT))
    scope = {"organisation": "ORG1", "period_end": "2026-10-31"}
    conforms("/ndtms/validation", r.reporting.get("/ndtms/validation", params=scope, headers=H))


def test_health_answers_the_published_schema(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    ready = conforms("/health/ready", r.reporting.get("/health/ready"))
    assert ready == {"status": "ok", "reasons": []}  # the open probe: no activity figures
    conforms("/health", r.reporting.get("/health"))
    conforms("/health/live", r.reporting.get("/health/live"))
    admin = auth("ORG1", Role.ADMINISTRATOR)
    details = conforms("/health/details", r.reporting.get("/health/details", headers=admin))
    assert "following" in details
