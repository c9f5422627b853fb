"""The event catalogue is what the feeds publish: every event type a journey story produces is
in it, and every item's `data` validates against its schema."""

from typing import Any

import pytest

from services.catalogue import catalogue, check_data, require
from tests.builders import days_ago
from tests.journey_driver import BBV, SERVICE, SUBSTANCES, JourneyDriver


@pytest.fixture
def store() -> str:
    return "sqlite"  # the shape of events does not depend on the store


def feed(client: Any) -> list[dict[str, Any]]:
    return list(client.get("/feed", params={"limit": 1000}, headers=SERVICE).json()["items"])


def test_every_published_event_is_in_the_catalogue_with_the_data_it_describes(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode(handover=True)
    d.triage(episode)
    d.ok(episode, "keyworker", {"on": days_ago(54), "keyworker": "sam"})
    d.ok(episode, "initial-care-plan", {"on": days_ago(53), "goals": [goal()]})
    d.ok(episode, "comprehensive-assessment", {"on": days_ago(52), "needs": needs()})
    d.care_plan(episode)
    d.ok(
        episode,
        "care-plan-reviews",
        {
            "on": days_ago(30),
            "progress": [{"goal": 0, "progress": "improving"}],
            "next_review_on": days_ago(2),
        },
    )
    d.ok(episode, "substance-profile", SUBSTANCES)
    d.ok(episode, "blood-borne-viruses", BBV)
    d.ok(episode, "naloxone", {"on": days_ago(40), "kits": 1})
    intervention = d.start(episode)
    top = {"on": days_ago(44), "stage": "start", "injecting": {"days": 0, "needle_sharing": "N"}}
    d.ok(episode, "top", top | {"health_and_social": {"quality_of_life": 12}})
    d.ok(episode, f"interventions/{intervention}/end", {"on": days_ago(20), "reason": "completed"})
    d.ok(episode, "events/3/recorded-in-error", {"reason": "wrong keyworker"})
    d.discharge(episode, on=10, reason="treatment_completed_drug_free")
    d.ok(episode, "aftercare-plan", {"on": days_ago(9), "drug_related_support": ["group"]})
    d.post(episode, "re-engagement", {"on": days_ago(1)})
    client_id = d.episode(episode)["client_id"]
    profile = {"on": days_ago(50), "ethnicity": "white_british", "previously_treated": False}
    response = d.referral.post(
        f"/clients/{client_id}/profile", json=profile, headers=d.headers_for(episode)
    )
    assert response.status_code == 201, response.text
    coordinator = f"/clients/{client_id}/top-care-coordinator"
    owner = d.headers_for(episode)
    for path, on in ((coordinator, 45), (f"{coordinator}/end", 15)):
        named = d.journey.post(path, json={"on": days_ago(on)}, headers=owner)
        assert named.status_code == 201, named.text
    seen: dict[str, set[str]] = {"referral": set(), "journey": set()}
    for name, client in (("referral", d.referral), ("journey", d.journey)):
        for item in feed(client):
            assert catalogue()[name][item["type"]]["aggregate_type"] == item["aggregate_type"]
            check_data(name, item["type"], item["data"])
            seen[name].add(item["type"])
    assert seen["journey"] >= set(catalogue()["journey"]) - {"EventCorrected"}
    assert {"ClientRegistered", "ReferralMade", "ReferralAccepted"} <= seen["referral"]
    assert "ClientProfileRecorded" in seen["referral"]


def test_a_name_not_in_the_catalogue_fails_loudly() -> None:
    with pytest.raises(LookupError):
        require("journey", "EpisodeOpend")
    with pytest.raises(LookupError):
        require("journey", "Discharged", "exit_reasons")


def goal() -> dict[str, str]:
    return {"domain": "health", "goal": "hepatitis C test", "responsible": "keyworker"}


def needs() -> dict[str, str]:
    return {
        d: "x" for d in ("drug_and_alcohol_misuse", "health", "offending", "social_functioning")
    }
