"""Consent and idempotency across real referral and journey processes."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.builders import client_body, days_ago, handover_body, referral_body
from tests.journey_driver import RISKS
from tests.support import ServiceProcess, auth, send_together, wait_until

pytestmark = pytest.mark.e2e
CARAT, CJIT, TIER3 = auth("HMP1", Role.CARAT), auth("CJIT1", Role.CJIT), auth("T3", Role.PROVIDER)
SERVICE = auth("test", Role.SERVICE)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    env = {"TJ_DATA_DIR": str(tmp_path), "TJ_FOLLOW_INTERVAL_SECONDS": "5"}
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
    try:
        with httpx.Client(base_url=referral.url) as r, httpx.Client(base_url=journey.url) as j:
            yield r, j
    finally:
        journey.stop()
        referral.stop()


def episode_of(journey: httpx.Client, client_id: str, headers: dict[str, str], org: str) -> str:
    """The client's episode at `org`, once the journey service has opened it (it may show
    another organisation's shared episode first)."""

    def opened() -> list[dict[str, Any]]:
        episodes = journey.get(f"/clients/{client_id}/journey", headers=headers).json()
        return [e for e in episodes.get("episodes", []) if e["episode"]["organisation"] == org]

    return str(wait_until(opened)[-1]["episode"]["id"])


def test_cjit_sees_the_tier3_part_only_while_consent_stands(
    system: tuple[httpx.Client, httpx.Client],
) -> None:
    referral, journey = system
    client = referral.post("/clients", json=client_body(), headers=CARAT).json()["id"]
    handover = referral_body(
        client,
        source="carat",
        receiving_organisation="CJIT1",
        referral_date=days_ago(60),
        handover=handover_body(),
        consent={
            "given_on": days_ago(60),
            "share_with": ["CJIT1"],
            "purposes": ["care_coordination"],
        },
    )
    first = referral.post("/referrals", json=handover, headers=CARAT).json()["id"]
    referral.post(f"/referrals/{first}/accept", json={"accepted_on": days_ago(55)}, headers=CJIT)
    onward = referral_body(
        client,
        source="cjit",
        receiving_organisation="T3",
        referral_date=days_ago(40),
        consent={
            "given_on": days_ago(40),
            "share_with": ["CJIT1", "T3"],
            "purposes": ["care_coordination", "treatment"],
        },
    )
    second = referral.post("/referrals", json=onward, headers=CJIT)
    assert second.status_code == 201, second.text
    second_id = second.json()["id"]
    referral.post(
        f"/referrals/{second_id}/accept", json={"accepted_on": days_ago(38)}, headers=TIER3
    )
    # On acceptance T3 records its own consent: it opens T3's part to the referrer.
    own_consent = {
        "given_on": days_ago(38),
        "share_with": ["CJIT1"],
        "purposes": ["care_coordination"],
    }
    held = referral.post(f"/referrals/{second_id}/consent", json=own_consent, headers=TIER3)
    assert held.status_code == 200, held.text
    tier3_episode = episode_of(journey, client, TIER3, "T3")
    triage = {
        "on": days_ago(37),
        "urgency": "routine",
        "tier_indicated": 3,
        "outcome": "structured_treatment_needed",
        "risks": RISKS,
    }
    assert (
        journey.post(f"/episodes/{tier3_episode}/triage", json=triage, headers=TIER3).status_code
        == 201
    )

    def cjit_view() -> tuple[set[str], int, set[str]]:
        cjit = {**CJIT, "Purpose": "care_coordination"}
        episodes = journey.get(f"/clients/{client}/journey", headers=cjit).json()["episodes"]
        direct = journey.get(f"/episodes/{tier3_episode}", headers=cjit).status_code
        feed = journey.get("/feed", params={"limit": 1000}, headers=cjit).json()["items"]
        return (
            {e["episode"]["organisation"] for e in episodes},
            direct,
            {i["aggregate_id"] for i in feed},
        )

    organisations, direct, feed = cjit_view()
    assert organisations == {"CJIT1", "T3"} and direct == 200 and tier3_episode in feed
    assert (
        journey.get(f"/episodes/{tier3_episode}", headers=auth("HMP1", Role.CARAT)).status_code
        == 404
    )

    withdrawn = referral.post(
        f"/referrals/{second_id}/consent/withdraw",
        json={"withdrawn_on": days_ago(0)},
        headers=TIER3,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    # At once (the follower polls only every 5 s here): nothing of T3's part is shared.
    organisations, direct, feed = cjit_view()
    assert organisations == {"CJIT1"} and direct == 404 and tier3_episode not in feed
    own = journey.get(f"/episodes/{tier3_episode}", headers=TIER3)
    assert own.status_code == 200 and own.json()["triaged_on"] == days_ago(37)


def test_same_idempotency_key_and_body_records_once_and_answers_alike(
    system: tuple[httpx.Client, httpx.Client],
) -> None:
    referral, journey = system
    headers = {**CJIT, "Idempotency-Key": "client-0001"}
    body = client_body()

    def register() -> httpx.Response:
        return referral.post("/clients", json=body, headers=headers)

    responses = [register() for _ in range(5)] + send_together(register, 5)
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert len({r.headers["etag"] for r in responses}) == 1
    feed = referral.get("/feed", params={"limit": 1000}, headers=SERVICE).json()["items"]
    assert [i["type"] for i in feed] == ["ClientRegistered", "PersonLinked"]
    other = referral.post("/clients", json=client_body(given_name="Other"), headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")

    client_id = responses[0].json()["id"]
    made = referral.post(
        "/referrals",
        headers=CJIT,
        json=referral_body(client_id, referring_organisation=None, receiving_organisation="CJIT1"),
    )
    referral.post(
        f"/referrals/{made.json()['id']}/accept", json={"accepted_on": days_ago(1)}, headers=CJIT
    )
    episode = episode_of(journey, client_id, CJIT, "CJIT1")
    keyed = {**CJIT, "Idempotency-Key": "start-0001"}

    def start() -> httpx.Response:
        return journey.post(
            f"/episodes/{episode}/interventions",
            json={"on": days_ago(1), "modality": "harm_reduction"},
            headers=keyed,
        )

    starts = send_together(start, 5) + [start() for _ in range(5)]
    assert {r.status_code for r in starts} == {201}
    assert len({r.text for r in starts}) == 1
    assert len({r.headers["intervention-id"] for r in starts}) == 1
    items = journey.get("/feed", params={"limit": 1000}, headers=SERVICE).json()["items"]
    assert [i["type"] for i in items].count("InterventionStarted") == 1
