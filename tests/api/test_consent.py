"""Consent belongs to the client and is held by the organisation that obtained it: each rule of
DESIGN "Access and safety", and each attack an outside tester used against the old model."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from tests.builders import client_body, days_ago, handover_body, referral_body
from tests.journey_driver import JourneyDriver
from tests.support import MakeSettings, auth

CARAT, CJIT, TIER3 = auth("HMP1", Role.CARAT), auth("CJIT1", Role.CJIT), auth("T3", Role.PROVIDER)
OTHER = auth("P9", Role.PROVIDER)
CARE = {"Purpose": "care_coordination"}


@pytest.fixture
def store() -> str:
    return "sqlite"  # who may see what does not depend on the store


@pytest.fixture
def driver(make_settings: MakeSettings) -> Iterator[JourneyDriver]:
    from services.journey.main import create_app as journey_app
    from services.referral.main import create_app as referral_app

    settings = make_settings("referral", "journey")
    referral, journey = referral_app(settings), journey_app(settings)
    yield JourneyDriver(TestClient(referral), TestClient(journey))
    referral.state.application.close()
    journey.state.application.close()


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def consent(*share_with: str, purposes: tuple[str, ...] = ("care_coordination",), **more: Any):  # type: ignore[no-untyped-def]
    return {
        "given_on": days_ago(1),
        "share_with": list(share_with),
        "purposes": list(purposes),
    } | more


class Story:
    """A CARAT (HMP1) hands a client over to a CJIT (CJIT1) with consent to share with it; the
    CJIT refers on to a Tier 3 provider (T3) with no consent; both accept and open episodes.
    So T3's part is shared with nobody until T3 itself records a consent."""

    def __init__(self, d: JourneyDriver) -> None:
        self.d = d
        r = d.referral
        self.client = ok(r.post("/clients", json=client_body(), headers=CARAT), 201)["id"]
        handover = referral_body(
            self.client,
            source="carat",
            receiving_organisation="CJIT1",
            referral_date=days_ago(60),
            handover=handover_body(),
            consent=consent("CJIT1"),
        )
        self.handover = ok(r.post("/referrals", json=handover, headers=CARAT), 201)["id"]
        ok(
            r.post(
                f"/referrals/{self.handover}/accept",
                json={"accepted_on": days_ago(55)},
                headers=CJIT,
            )
        )
        onward = referral_body(
            self.client,
            source="cjit",
            receiving_organisation="T3",
            referral_date=days_ago(40),
            consent=None,
        )
        self.onward = ok(r.post("/referrals", json=onward, headers=CJIT), 201)["id"]
        ok(
            r.post(
                f"/referrals/{self.onward}/accept",
                json={"accepted_on": days_ago(38)},
                headers=TIER3,
            )
        )
        d.follow_referrals()
        self.t3_episode = self.episode_at("T3", TIER3)
        self.cjit_episode = self.episode_at("CJIT1", CJIT)
        d.owners[self.t3_episode] = TIER3
        d.triage(self.t3_episode, on=37)

    def episode_at(self, org: str, headers: dict[str, str]) -> str:
        journey = ok(self.d.journey.get(f"/clients/{self.client}/journey", headers=headers))
        return next(
            e["episode"]["id"] for e in journey["episodes"] if e["episode"]["organisation"] == org
        )

    def sees(
        self, headers: dict[str, str], episode: str, purpose: str | None = "care_coordination"
    ) -> bool:
        """Does the caller see the episode, directly, in the client's journey and on the feed?"""
        h = {**headers, **({"Purpose": purpose} if purpose else {})}
        direct = self.d.journey.get(f"/episodes/{episode}", headers=h).status_code
        journey = self.d.journey.get(f"/clients/{self.client}/journey", headers=h)
        in_journey = journey.status_code == 200 and episode in {
            e["episode"]["id"] for e in journey.json()["episodes"]
        }
        feed = self.d.journey.get("/feed", params={"limit": 1000}, headers=h).json()["items"]
        on_feed = episode in {i["aggregate_id"] for i in feed}
        assert direct in (200, 404)
        assert (direct == 200) == in_journey == on_feed, (direct, in_journey, on_feed)
        return direct == 200

    def record_consent(self, referral: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        return self.d.referral.post(f"/referrals/{referral}/consent", json=body, headers=headers)

    def withdraw(self, referral: str, headers: dict[str, str]) -> Any:
        return self.d.referral.post(
            f"/referrals/{referral}/consent/withdraw",
            json={"withdrawn_on": days_ago(0)},
            headers=headers,
        )


def test_a_consent_held_by_the_owner_opens_its_part_for_the_stated_purpose_only(
    driver: JourneyDriver,
) -> None:
    s = Story(driver)
    assert s.sees(CJIT, s.cjit_episode) and s.sees(TIER3, s.t3_episode)
    assert not s.sees(CJIT, s.t3_episode)
    ok(s.record_consent(s.onward, TIER3, consent("CJIT1")))  # T3, the holder of its part
    assert s.sees(CJIT, s.t3_episode)
    assert not s.sees(CJIT, s.t3_episode, purpose="treatment")  # not a purpose it covers
    assert not s.sees(CJIT, s.t3_episode, purpose=None)  # no purpose stated: none covered
    assert not s.sees(CARAT, s.t3_episode)  # not named
    # The CARAT's consent (held by it, with the handover) opens only the CARAT's part, which
    # holds no episode: the CJIT's own episode is not the CARAT's to share.
    assert not s.sees(TIER3, s.cjit_episode)


def test_a_self_granted_or_third_party_consent_opens_nothing(driver: JourneyDriver) -> None:
    s = Story(driver)
    # The CJIT records "consent" on the referral it made, naming itself and the CARAT.
    ok(s.record_consent(s.onward, CJIT, consent("CJIT1", "HMP1")))
    # ... and a new referral of its own, naming itself: still its own part only.
    again = referral_body(
        s.client, source="cjit", receiving_organisation="T3", consent=consent("CJIT1", "HMP1")
    )
    ok(driver.referral.post("/referrals", json=again, headers=CJIT), 201)
    assert not s.sees(CJIT, s.t3_episode)
    assert not s.sees(CARAT, s.t3_episode)
    # The CARAT, party to the handover only, cannot record a consent on the onward referral.
    assert s.record_consent(s.onward, CARAT, consent("HMP1")).status_code == 404
    assert not s.sees(CARAT, s.t3_episode)


def test_only_the_holder_changes_its_consent_and_each_holder_is_shown(
    driver: JourneyDriver,
) -> None:
    s = Story(driver)
    ok(s.record_consent(s.onward, TIER3, consent("CJIT1")))
    # The CJIT's consent on the same referral is its own: T3's stands beside it, unchanged.
    ok(s.record_consent(s.onward, CJIT, consent("T3", purposes=("treatment",))))
    referral = ok(driver.referral.get(f"/referrals/{s.onward}", headers=TIER3))
    held = {c["holder"]: c for c in referral["consents"]}
    assert set(held) == {"T3", "CJIT1"}
    assert held["T3"]["purposes"] == ["care_coordination"]
    assert s.sees(CJIT, s.t3_episode)
    # T3 ends its consent (an end date before today): sharing stops.
    ok(
        s.record_consent(
            s.onward, TIER3, consent("CJIT1", given_on=days_ago(9), ends_on=days_ago(1))
        )
    )
    assert not s.sees(CJIT, s.t3_episode)
    referral = ok(driver.referral.get(f"/referrals/{s.onward}", headers=TIER3))
    assert {c["holder"] for c in referral["consents"]} == {"CJIT1"}


def test_the_clients_withdrawal_by_any_party_ends_every_consent_and_a_non_holder_cannot_reopen(
    driver: JourneyDriver,
) -> None:
    s = Story(driver)
    ok(s.record_consent(s.onward, TIER3, consent("CJIT1")))
    assert s.sees(CJIT, s.t3_episode) and s.sees(TIER3, s.cjit_episode) is False
    # Recorded by the CARAT, on another referral of the client's: it ends T3's consent too.
    ok(s.withdraw(s.handover, CARAT))
    assert not s.sees(CJIT, s.t3_episode)
    for referral in (s.onward, s.handover):
        assert ok(driver.referral.get(f"/referrals/{referral}", headers=CJIT))["consents"] == []
    # The receiver re-grants itself: that opens only its own part.
    ok(s.record_consent(s.onward, CJIT, consent("CJIT1", "T3")))
    assert not s.sees(CJIT, s.t3_episode)
    assert s.sees(TIER3, s.cjit_episode)  # the CJIT's new consent opens the CJIT's part to T3
    # Only a new consent by the holder opens its part again.
    ok(s.record_consent(s.onward, TIER3, consent("CJIT1")))
    assert s.sees(CJIT, s.t3_episode)


def test_consent_opens_nothing_without_a_live_care_relationship(driver: JourneyDriver) -> None:
    """A consent naming an organisation whose referral was declined or withdrawn (and which
    has no episode) shows it nothing."""
    s = Story(driver)
    r = driver.referral
    for decision, headers, body in (
        ("decline", OTHER, {"declined_on": days_ago(0), "reason": "no_capacity"}),
        ("withdraw", TIER3, {"withdrawn_on": days_ago(0), "reason": "other"}),
    ):
        made = referral_body(
            s.client, source="other_provider", receiving_organisation="P9", consent=consent("P9")
        )
        onward = ok(r.post("/referrals", json=made, headers=TIER3), 201)["id"]
        assert s.sees(OTHER, s.t3_episode)  # a pending referral is a live relationship
        ok(r.post(f"/referrals/{onward}/{decision}", json=body, headers=headers))
        assert not s.sees(OTHER, s.t3_episode), decision
        ok(s.record_consent(onward, TIER3, consent("P9")))  # the holder grants again: still not
        assert not s.sees(OTHER, s.t3_episode), decision


def test_only_the_episodes_organisation_re_engages_its_client(driver: JourneyDriver) -> None:
    s = Story(driver)
    ok(s.record_consent(s.onward, TIER3, consent("CJIT1")))
    driver.discharge(s.t3_episode, on=10)
    by_cjit = driver.journey.post(
        f"/episodes/{s.t3_episode}/re-engagement", json={"on": days_ago(1)}, headers=CJIT
    )
    assert by_cjit.status_code == 403, by_cjit.text  # it may see the episode, not write on it
    by_carat = driver.journey.post(
        f"/episodes/{s.t3_episode}/re-engagement", json={"on": days_ago(1)}, headers=CARAT
    )
    assert by_carat.status_code == 404, by_carat.text  # it may not even see it
    own = driver.journey.post(
        f"/episodes/{s.t3_episode}/re-engagement", json={"on": days_ago(1)}, headers=TIER3
    )
    assert own.status_code == 201, own.text
    assert own.json()["organisation"] == "T3"


def test_the_referring_organisation_is_the_callers(driver: JourneyDriver) -> None:
    r = driver.referral
    client = ok(r.post("/clients", json=client_body(), headers=CJIT), 201)["id"]
    before = r.get("/feed", headers=auth("svc", Role.SERVICE)).json()["last_position"]
    spoofed = referral_body(client, referring_organisation="HMP1", receiving_organisation="T3")
    answer = r.post("/referrals", json=spoofed, headers=CJIT)
    assert (
        answer.status_code == 403 and answer.headers["content-type"] == "application/problem+json"
    )
    assert r.get("/feed", headers=auth("svc", Role.SERVICE)).json()["last_position"] == before
    made = ok(
        r.post("/referrals", json=referral_body(client, receiving_organisation="T3"), headers=CJIT),
        201,
    )
    assert made["referring_organisation"] == "CJIT1"
    own = ok(
        r.post(
            "/referrals", json=referral_body(client, receiving_organisation="CJIT1"), headers=CJIT
        ),
        201,
    )
    assert own["referring_organisation"] is None  # recorded by its receiver: from outside


def test_consents_stored_before_holders_open_nothing() -> None:
    """A consent the journey service stored before consents were held names no holder."""
    from uuid import uuid4

    from services.common.codes import SharingPurpose
    from services.journey.consent import ClientConsents

    consents = ClientConsents(client_id=uuid4())
    referral = uuid4()
    consents.relate(referral, ["A", "B"], live=True)
    consents.record(days_ago_date(5), referral, ["A", "B"], [SharingPurpose.CARE_COORDINATION])
    assert not consents.permits("B", "A", SharingPurpose.CARE_COORDINATION, days_ago_date(0))
    consents.record(
        days_ago_date(5), referral, ["B"], [SharingPurpose.CARE_COORDINATION], holder="A"
    )
    assert consents.permits("B", "A", SharingPurpose.CARE_COORDINATION, days_ago_date(0))
    assert not consents.permits("A", "B", SharingPurpose.CARE_COORDINATION, days_ago_date(0))


def days_ago_date(n: int):  # type: ignore[no-untyped-def]
    from datetime import date

    return date.fromisoformat(days_ago(n))
