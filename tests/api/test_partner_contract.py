"""What a partner needs without guessing: every write names the event it recorded and the ids it
created, and an accepted referral names the episode it opens."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from services.common.schemas import MOMENT_PATTERN
from services.common.settings import Settings
from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import RISKS, H, JourneyDriver
from tests.support import AUTH_SETTINGS, auth

OTHER = auth("ORG2", Role.PROVIDER)
ADMIN = auth("ORG1", Role.ADMINISTRATOR, user="auditor")


@pytest.fixture
def store() -> str:
    return "sqlite"  # the contract does not depend on the store


def accept(d: JourneyDriver) -> tuple[dict[str, Any], Any]:
    client = d.referral.post("/clients", json=client_body(), headers=H).json()["id"]
    referral = d.referral.post(
        "/referrals", json=referral_body(client, referral_date=days_ago(30)), headers=H
    ).json()
    assert referral["episode_id"] is None  # not accepted yet
    accepted = d.referral.post(
        f"/referrals/{referral['id']}/accept", json={"accepted_on": days_ago(29)}, headers=H
    )
    assert accepted.status_code == 200, accepted.text
    return referral, accepted


def test_an_accepted_referral_names_its_episode_which_is_found_by_referral(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    referral, accepted = accept(d)
    episode_id = accepted.json()["episode_id"]
    assert accepted.headers["link"] == f'</episodes/{episode_id}>; rel="episode"'
    by_referral = {"referral_id": referral["id"]}
    # Not opened until the journey service has followed the referral feed.
    d.application.consent_refresher = lambda: True  # a follower that has not run yet
    missing = d.journey.get("/episodes", params=by_referral, headers=H)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"

    d.follow_referrals()
    found = d.journey.get("/episodes", params=by_referral, headers=H)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == episode_id
    assert found.json()["referral_id"] == referral["id"]
    assert found.headers["etag"] == '"1"'
    assert d.journey.get(f"/episodes/{episode_id}", headers=H).json() == found.json()
    read = d.referral.get(f"/referrals/{referral['id']}", headers=H).json()
    assert read["episode_id"] == episode_id


def test_finding_an_episode_by_referral_is_scoped_audited_and_validated(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    referral, _ = accept(d)
    d.follow_referrals()
    by_referral = {"referral_id": referral["id"]}
    hidden = d.journey.get("/episodes", params=by_referral, headers=OTHER)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert d.journey.get("/episodes", headers=H).status_code == 422
    assert d.journey.get("/episodes", params={"referral_id": "x"}, headers=H).status_code == 422

    d.journey.get("/episodes", params=by_referral, headers=H)
    log = d.journey.get(
        "/access-log", params={"client_id": referral["client_id"]}, headers=ADMIN
    ).json()
    outcomes = [
        (e["organisation"], e["outcome"])
        for e in log["entries"]
        if e["what"] == "episode-by-referral" and e["record_id"] == referral["id"]
    ]
    assert outcomes == [("ORG2", "denied_scope"), ("ORG1", "granted")]


def test_every_journey_write_answers_with_the_version_of_the_event_it_recorded(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode()
    triaged = d.post(episode, "triage", triage_body(on=20))
    assert triaged.status_code == 201
    assert triaged.json()["event_version"] == 2 == triaged.json()["version"]
    assert triaged.headers["etag"] == '"2"'
    # The version is what a correction names.
    corrected = d.post(
        episode,
        f"events/{triaged.json()['event_version']}/correction",
        {"reason": "urgency misread", "replacement": triage_body(on=20, urgency="urgent")},
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["event_version"] == 3
    assert corrected.json()["triage"]["urgency"] == "urgent"


def test_starting_an_intervention_names_it_in_the_body_also_on_a_replay(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=20)
    d.care_plan(episode, on=19)
    body = {"on": days_ago(18), "modality": "specialist_prescribing"}
    first = d.post(episode, "interventions", body, **{"Idempotency-Key": "start-1"})
    again = d.post(episode, "interventions", body, **{"Idempotency-Key": "start-1"})
    for response in (first, again):
        assert response.status_code == 201, response.text
        assert response.json()["intervention_id"] == first.headers["intervention-id"]
        assert response.headers["intervention-id"] == first.headers["intervention-id"]
        assert response.json()["event_version"] == 4
    assert [i["id"] for i in first.json()["interventions"]] == [first.json()["intervention_id"]]
    ended = d.post(
        episode,
        f"interventions/{first.json()['intervention_id']}/end",
        {"on": days_ago(10), "reason": "completed"},
    )
    assert ended.status_code == 201, ended.text
    assert ended.json()["event_version"] == 5


def test_re_engagement_answers_with_the_new_episode_and_its_opening_version(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    old = d.open_episode()
    d.discharge(old, on=10)
    new = d.post(old, "re-engagement", {"on": days_ago(1)})
    assert new.status_code == 201, new.text
    assert new.json()["id"] != old
    assert new.json()["re_engaged_from"] == old
    assert new.json()["event_version"] == 1
    assert new.headers["location"] == f"/episodes/{new.json()['id']}"


def triage_body(on: int, **override: Any) -> dict[str, Any]:
    return {
        "on": days_ago(on),
        "urgency": "routine",
        "tier_indicated": 3,
        "outcome": "structured_treatment_needed",
        "risks": RISKS,
        **override,
    }


def test_a_time_without_an_offset_is_refused_saying_how_to_add_one(tmp_path: Path) -> None:
    from services.reporting.main import create_app

    app = create_app(Settings(data_dir=tmp_path, **AUTH_SETTINGS))
    try:
        response = TestClient(app).get(
            "/kpis",
            params={
                "period_start": "2025-01-01",
                "period_end": "2025-01-31",
                "known_at": "2025-02-01T09:30:00",
            },
            headers=H,
        )
    finally:
        app.state.engine.dispose()
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "query.known_at"
    assert "add Z" in error["message"] and "+01:00" in error["message"]


def test_every_time_a_partner_sends_must_carry_an_offset(tmp_path: Path) -> None:
    """Every date-time in a request (query, header, path or body) of the referral and journey
    services is a Moment: published with the pattern that demands an offset."""
    from services.journey.main import create_app as journey_app
    from services.referral.main import create_app as referral_app

    settings = Settings(data_dir=tmp_path, **AUTH_SETTINGS)
    for create_app in (referral_app, journey_app):
        app = create_app(settings)
        document = app.openapi()
        app.state.application.close()
        app.state.access_log.close()
        inputs: list[Any] = []
        for operations in document["paths"].values():
            for operation in operations.values():
                inputs += [p["schema"] for p in operation.get("parameters", [])]
                body = operation.get("requestBody", {}).get("content", {})
                inputs += [c["schema"] for c in body.values()]
        schemas = reachable(inputs, document["components"]["schemas"])
        assert any(s.get("format") == "date" for s in schemas)  # the walk reaches the bodies
        for schema in schemas:
            if schema.get("format") == "date-time":
                assert schema.get("pattern") == MOMENT_PATTERN, (document["info"], schema)


def reachable(schemas: list[Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (sub)schema reachable from `schemas`, following $refs once each."""
    found, seen, todo = [], set(), list(schemas)
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo += node
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref not in seen:
                    seen.add(ref)
                    todo.append(components[ref.rsplit("/", 1)[-1]])
                continue
            found.append(node)
            todo += node.values()
    return found
