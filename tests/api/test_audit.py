"""Every read of personal data is an access event, denied attempts included."""

from typing import Any

from fastapi.testclient import TestClient

from services.common.auth import Role
from tests.api.test_referrals import assert_problem
from tests.journey_driver import H, JourneyDriver
from tests.support import auth

ADMIN = auth("ORG1", Role.ADMINISTRATOR, user="ada")
STRANGER = auth("ORG9", Role.PROVIDER, user="eve")


def access_log(service: TestClient, client_id: str) -> list[dict[str, Any]]:
    response = service.get("/access-log", params={"client_id": client_id}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return list(response.json()["reads"])


def test_reads_are_counted_exactly_with_denials(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    referral = d.accepted_referral()
    client, referral_id = referral["client_id"], referral["id"]
    d.follow_referrals()
    before_referral = len(access_log(d.referral, client))
    assert d.referral.get(f"/clients/{client}", headers=H).status_code == 200
    assert (
        d.referral.get(f"/clients/{client}", headers={**H, "Purpose": "treatment"}).status_code
        == 200
    )
    assert d.referral.get(f"/referrals/{referral_id}", headers=H).status_code == 200
    assert len(d.referral.get("/referrals", headers=H).json()) == 1
    assert_problem(d.referral.get(f"/clients/{client}", headers=STRANGER), 404)
    assert_problem(d.referral.get(f"/referrals/{referral_id}", headers=STRANGER), 404)
    reads = access_log(d.referral, client)[before_referral:]
    assert len(reads) == 6
    assert [r["outcome"] for r in reads].count("denied") == 2
    assert {(r["organisation"], r["user"]) for r in reads} == {("ORG1", "alice"), ("ORG9", "eve")}
    assert [r["purpose"] for r in reads[:2]] == ["not_stated", "treatment"]
    assert {r["what"] for r in reads} == {"client", "referral"}

    journey = d.journey.get(f"/clients/{client}/journey", headers=H).json()
    episode = journey["episodes"][0]["episode"]["id"]
    before_journey = len(access_log(d.journey, client))
    assert d.journey.get(f"/episodes/{episode}", headers=H).status_code == 200
    assert d.journey.get(f"/episodes/{episode}/events", headers=H).status_code == 200
    assert d.journey.get(f"/clients/{client}/journey", headers=H).status_code == 200
    assert_problem(d.journey.get(f"/episodes/{episode}", headers=STRANGER), 404)
    assert_problem(d.journey.get(f"/clients/{client}/journey", headers=STRANGER), 404)
    reads = access_log(d.journey, client)[before_journey:]
    assert [r["outcome"] for r in reads] == ["granted"] * 3 + ["denied"] * 2
    assert [r["what"] for r in reads] == [
        "episode",
        "episode-events",
        "journey",
        "episode",
        "journey",
    ]


def test_only_an_administrator_of_a_party_reads_the_access_log(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    client = d.accepted_referral()["client_id"]
    params = {"client_id": client}
    assert_problem(d.referral.get("/access-log", params=params, headers=H), 403)
    other_admin = auth("ORG9", Role.ADMINISTRATOR)
    assert_problem(d.referral.get("/access-log", params=params, headers=other_admin), 404)
    assert d.referral.get("/access-log", params=params, headers=ADMIN).status_code == 200


def test_list_pages_are_bounded(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    assert_problem(d.referral.get("/referrals", params={"limit": 501}, headers=H), 422)
    assert_problem(d.referral.get("/feed", params={"limit": 1001}, headers=H), 422)
    assert_problem(d.journey.get("/feed", params={"limit": 1001}, headers=H), 422)
    bad_purpose = {**H, "Purpose": "curiosity"}
    assert_problem(d.referral.get("/referrals", headers=bad_purpose), 422)
