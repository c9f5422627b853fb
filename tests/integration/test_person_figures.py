"""Figures "for the client" follow the person across providers: successful completion without
re-presentation within 182 days (DESIGN.md), through both feeds to `GET /kpis`.

Period P = [400, 300] days ago; asked today, so every 182-day window has closed.
  X  Robin Hood (no NHS number, LS6) at ORG1: Tier 3 from 390, planned discharge on 350.
     The same person self-refers to CJIT1 (no NHS number, LS11, given name "Rob"): matched on
     the attributors, episode opened on 300, day 50 after discharge: a re-presentation.
  Z  Marian Maid (no NHS number) at ORG1, likewise discharged on 350; "Marian Maid" born a day
     later opens at CJIT1 on 300: a near miss, not matched, so not a re-presentation, until
     an administrator merges the two: from then on it is, as known before it it is not.
"""

from datetime import UTC, datetime
from typing import Any

from services.common.auth import Role
from tests.builders import days_ago
from tests.journey_driver import GOALS, H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

P = {"period_start": days_ago(400), "period_end": days_ago(300)}
ADMIN = auth("ORG1", Role.ADMINISTRATOR, "ada")
ROBIN = {"given_name": "Robin", "family_name": "Hood", "nhs_number": None}
MARIAN = {"given_name": "Marian", "family_name": "Maid", "nhs_number": None}


def completed(d: Any, client: dict[str, Any]) -> str:
    episode = str(d.open_episode(referred=400, accepted=399, client=client))
    d.triage(episode, on=398)
    d.ok(
        episode, "care-plan", {"on": days_ago(395), "goals": GOALS, "next_review_on": days_ago(367)}
    )
    d.start(episode, on=390)
    d.discharge(episode, on=350, reason="treatment_completed_drug_free")
    return episode


def presents_at_cjit(d: Any, client: dict[str, Any]) -> str:
    referral = d.accepted_referral(
        referred=301,
        accepted=300,
        client=client,
        source="self",
        receiving_organisation="CJIT1",
        consent=None,
    )
    return str(referral["client_id"])


def without_re_presentation(r: ReportingDriver, **params: Any) -> tuple[int, int]:
    figure = r.kpis(H, organisation="ORG1", **P, **params)["figures"]["without_re_presentation"]
    return figure["numerator"]["count"], figure["denominator"]["count"]


def test_re_presentation_follows_the_person_and_a_merge_counts_from_its_recording(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    d = r.journeys
    completed(d, {**ROBIN, "postcode_district": "LS6"})
    presents_at_cjit(d, {**ROBIN, "given_name": "Rob", "postcode_district": "LS11"})
    completed(d, MARIAN)
    near_miss = presents_at_cjit(d, {**MARIAN, "date_of_birth": "1985-04-13"})
    marian = d.referral.get("/feed", params={"limit": 1000}, headers=H).json()["items"]
    marian_id = next(
        i["aggregate_id"]
        for i in marian
        if i["type"] == "ClientRegistered" and i["data"]["given_name"] == "Marian"
    )
    d.follow_referrals()
    r.follow()
    assert without_re_presentation(r) == (1, 2)  # Robin re-presented at CJIT1; Marian did not
    before_merge = datetime.now(UTC).isoformat()
    merged = d.referral.post(
        "/persons/merge", json={"into_client_id": marian_id, "client_id": near_miss}, headers=ADMIN
    )
    assert merged.status_code == 200, merged.text
    r.follow()
    assert without_re_presentation(r) == (0, 2)
    assert without_re_presentation(r, known_at=before_merge) == (1, 2)
