"""Every KPI from events recorded over HTTP, through both feeds, to `GET /kpis`, on SQLite and
PostgreSQL; each expected figure worked out by hand below from DESIGN.md's definitions.

Dates are "days ago" (business dates cannot be in the future). Period P = [100, 10] days
ago, both ends included; "ago a" minus "ago b" is b - a days.

ORG1 (a provider), read as ORG1 (no suppression of its own figures):
  A  referred 130, triage 125, plan 120, Tier 3 from 95 (referred before P, starts in it),
     planned discharge on 41: exactly 84 days after triage.
  B  self-referred 90, triage 88, plan 87 (review due 59), Tier 4 inpatient from 80, reviewed
     on 60 (next review due 5), still open.
  C  CJIT-referred 60, triage 58, plan 57 (review due 7), Tier 3 from 10: active on the last
     day of P only.
  D  referred 70, triage 68, Tier 2 harm reduction from 60 (does not end the wait), open.
  E1 referred 200, Tier 3 185, dropped out 150 (before P); re-engaged on 50 into E2 (its wait
     counts from 50), triage 48, plan 47, Tier 3 from 30, dropped out on 20.
  F  referred 40, triage 38, plan 37 (review due 23, never reviewed), Tier 3 from 35; a planned
     discharge on 15 recorded in error: still open.
  G  referred 80, triage 79, plan 78, Tier 4 residential from 75, planned exit (occasional
     user) on 20: 59 days after triage.
  H  referred 50, triage 48, plan 47 (review due in the future), Tier 3 recorded as starting
     on 40 and corrected to 44.
  I  referred 30, nothing since.       J  referred 5: after P.
  K  CJIT-referred 45, triage 43, no treatment.   L  probation referral 45, never accepted.
CJIT1: CARAT -> CJIT handovers (release 31 days ago) referred 40 accepted 25, referred 35
accepted 21, referred 33 not accepted.
"""

from typing import Any

from services.common.auth import Role
from services.common.codes import ReferralSource
from tests.builders import days_ago, handover_referral_body, referral_body
from tests.journey_driver import CARAT, CJIT, GOALS, H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

P = {"period_start": days_ago(100), "period_end": days_ago(10)}


def plan(d: Any, episode: str, on: int, review: int) -> None:
    """A care plan agreed `on` days ago with its next review due `review` days ago."""
    d.ok(
        episode,
        "care-plan",
        {"on": days_ago(on), "goals": GOALS, "next_review_on": days_ago(review)},
    )


def treated(
    d: Any,
    referred: int,
    triage: int,
    plan_on: int,
    review: int,
    start: int,
    modality: str = "specialist_prescribing",
    **referral: Any,
) -> str:
    episode = str(d.open_episode(referred=referred, accepted=referred - 1, **referral))
    d.triage(episode, on=triage)
    plan(d, episode, plan_on, review)
    d.start(episode, modality, on=start)
    return episode


def record_the_story(r: ReportingDriver) -> None:
    d = r.journeys
    a = treated(d, 130, 125, 120, 92, 95)
    d.discharge(a, on=41, reason="treatment_completed_drug_free")

    b = treated(d, 90, 88, 87, 59, 80, "inpatient", source="self")
    review = {"on": days_ago(60), "progress": [{"goal": 0, "progress": "improving"}]}
    d.ok(b, "care-plan-reviews", {**review, "next_review_on": days_ago(5)})

    treated(d, 60, 58, 57, 7, 10, source="cjit", referring_organisation="CJIT1")

    episode_d = d.open_episode(referred=70, accepted=69)
    d.triage(episode_d, on=68)
    d.start(episode_d, "harm_reduction", on=60)

    e1 = treated(d, 200, 195, 190, 160, 185)
    d.discharge(e1, on=150, reason="dropped_out")
    response = d.post(e1, "re-engagement", {"on": days_ago(50)})
    assert response.status_code == 201, response.text
    e2 = response.json()["id"]
    d.triage(e2, on=48)
    plan(d, e2, 47, 19)
    d.start(e2, "structured_psychosocial", on=30)
    d.discharge(e2, on=20, reason="dropped_out")

    f = treated(d, 40, 38, 37, 23, 35)
    wrong = d.discharge(f, on=15, reason="treatment_completed_drug_free")
    in_error = d.post(f, f"events/{wrong['version']}/recorded-in-error", {"reason": "wrong file"})
    assert in_error.status_code == 201, in_error.text

    g = treated(d, 80, 79, 78, 50, 75, "residential_rehabilitation")
    d.discharge(g, on=20, reason="treatment_completed_occasional_user")

    h = treated(d, 50, 48, 47, -20, 40)
    started = d.episode(h)["version"]
    correction = {
        "reason": "started later",
        "replacement": {"on": days_ago(44), "modality": "specialist_prescribing"},
    }
    corrected = d.post(h, f"events/{started}/correction", correction)
    assert corrected.status_code == 201, corrected.text

    d.open_episode(referred=30, accepted=29)
    d.open_episode(referred=5, accepted=4)
    k = d.open_episode(referred=45, accepted=44, source="cjit", referring_organisation="CJIT1")
    d.triage(k, on=43)
    client = d.referral.post("/clients", json={**CLIENT}, headers=H).json()
    body = referral_body(client["id"], source="probation", referral_date=days_ago(45))
    assert d.referral.post("/referrals", json=body, headers=H).status_code == 201

    d.accepted_referral(handover=True, referred=40, accepted=25)
    d.accepted_referral(handover=True, referred=35, accepted=21)
    client = d.referral.post("/clients", json={**CLIENT}, headers=CARAT).json()
    body = handover_referral_body(client["id"], referral_date=days_ago(33))
    assert d.referral.post("/referrals", json=body, headers=CARAT).status_code == 201
    d.follow_referrals()
    r.follow()


CLIENT = {
    "given_name": "Lee",
    "family_name": "Example",
    "date_of_birth": "1980-01-01",
    "sex": "male",
    "postcode_district": "LS9",
}


def counts(share: dict[str, Any]) -> tuple[int, int]:
    return share["numerator"]["count"], share["denominator"]["count"]


def test_every_kpi_matches_its_definition_worked_by_hand(reporting_driver: ReportingDriver) -> None:
    record_the_story(reporting_driver)
    k = reporting_driver.kpis(H, **P)["figures"]

    # Tier 3/4 active on some day of P: A, B, C (last day only), E2, F, G, H. Not D (Tier 2),
    # E1 (ended before P), I, J, K.
    assert k["numbers_in_treatment"]["count"] == 7

    # First structured start in P, minus the referral (re-engagement) date: A 130-95 = 35,
    # B 10, C 50, E2 50-30 = 20, F 5, G 5, H 50-44 = 6 (as corrected).
    # Sorted 5, 5, 6, 10, 20, 35, 50: median 10; p90 rank 5.4: 35 + 0.4 * 15 = 41.
    w = k["waiting_times"]
    assert w["started"]["count"] == 7
    assert w["median_days"]["value"] == 10
    assert abs(w["p90_days"]["value"] - 41) < 1e-9
    assert counts(w["within_21_days"]) == (5, 7)
    assert w["waited_42_days_or_more"]["count"] == 1  # C
    # Waiting at the end of P (10 days ago): D (60 days), I (20), K (35): only D is 42+.
    assert w["still_waiting_42_days_or_more_at_end"]["count"] == 1

    # Discharged in P with a triage: A (84 days: retained), E2 (28), G (59): 1 of 3.
    # F's discharge was recorded in error.
    r = k["retention_12_weeks"]
    assert counts(r["discharged_retained"]) == (1, 3)
    # In treatment in P: A reached 84 days (125 - 84 = 41 >= 10); G left with a planned exit;
    # B (88), C, E2, F, H had not reached 84 days by the end of P.
    assert r["in_treatment_retained"]["count"] == 2

    # Discharges in P: A planned, E2 not, G planned; Tier 4 among them: G, planned.
    p = k["planned_exits"]
    assert counts(p["all"]) == (2, 3)
    assert counts(p["tier4"]) == (1, 1)

    # Structured active at the end of P: B, C, F, H, each with a care plan. Review overdue:
    # F (due 23 days ago); B was reviewed (next due 5 days ago), C due 7 days ago, H later.
    c = k["care_plan_coverage"]
    assert counts(c["with_care_plan"]) == (4, 4)
    assert c["review_overdue"]["count"] == 1

    # ORG1 referrals received in P: B self; C, K cjit; D, F, G, H, I gp; L probation.
    s = k["referral_sources"]
    assert s["total"]["count"] == 9
    by_source = {source: v["count"] for source, v in s["by_source"].items()}
    found = {"cjit": 2, "gp": 5, "probation": 1, "self": 1}
    assert by_source == {source.value: found.get(source.value, 0) for source in ReferralSource}

    # CJIT referrals in P: C (structured start 10 days ago, the last day) and K (none).
    assert counts(k["criminal_justice_engagement"]) == (1, 2)
    assert k["re_engagements"]["count"] == 1  # E1 -> E2 on day 50
    assert k["handover_continuity"]["handovers"]["count"] == 0  # handovers go to CJIT1


def test_handover_continuity_for_the_receiving_cjit(reporting_driver: ReportingDriver) -> None:
    record_the_story(reporting_driver)
    k = reporting_driver.kpis(CJIT, **P)["figures"]
    h = k["handover_continuity"]
    # Three CARAT -> CJIT handovers in P; two accepted: 31 - 25 = 6 and 31 - 21 = 10 days
    # after release: median 8.
    assert h["handovers"]["count"] == 3
    assert counts(h["accepted"]) == (2, 3)
    assert h["median_days_release_to_acceptance"]["value"] == 8
    # Three CARAT referrals in P, none started structured treatment.
    assert counts(k["criminal_justice_engagement"]) == (0, 3)
    assert k["numbers_in_treatment"]["count"] == 0


def test_handover_continuity_for_the_carat_team_that_handed_over(
    reporting_driver: ReportingDriver,
) -> None:
    """HMP1 made the story's three handovers; a second prison, HMP2, hands one more over to
    CJIT1 (referred 20 days ago, release 31 days ago, not accepted). Each CARAT team sees the
    handovers it made; CJIT1 all four it received; ORG1, party to none, none."""
    record_the_story(reporting_driver)
    d = reporting_driver.journeys
    other_prison = auth("HMP2", Role.CARAT)
    client = d.referral.post("/clients", json={**CLIENT}, headers=other_prison).json()
    body = {
        **handover_referral_body(client["id"], referral_date=days_ago(20)),
        "referring_organisation": "HMP2",
    }
    made = d.referral.post("/referrals", json=body, headers=other_prison)
    assert made.status_code == 201, made.text
    reporting_driver.follow()

    # HMP1: referred 40 (accepted 25: 6 days after release), 35 (accepted 21: 10 days), 33
    # (not accepted): 2 of 3 accepted, median of 6 and 10 is 8.
    h = reporting_driver.kpis(CARAT, **P)["figures"]["handover_continuity"]
    assert h["handovers"]["count"] == 3
    assert counts(h["accepted"]) == (2, 3)
    assert h["median_days_release_to_acceptance"]["value"] == 8
    # HMP2: its one handover, not accepted, no median.
    h = reporting_driver.kpis(other_prison, **P)["figures"]["handover_continuity"]
    assert h["handovers"]["count"] == 1
    assert counts(h["accepted"]) == (0, 1)
    assert h["median_days_release_to_acceptance"]["value"] is None
    # CJIT1 received all four.
    h = reporting_driver.kpis(CJIT, **P)["figures"]["handover_continuity"]
    assert h["handovers"]["count"] == 4
    assert counts(h["accepted"]) == (2, 4)
    # A CARAT team's handovers are not referrals it received.
    sources = reporting_driver.kpis(CARAT, **P)["figures"]["referral_sources"]
    assert sources["total"]["count"] == 0
    org1 = reporting_driver.kpis(H, **P)["figures"]["handover_continuity"]
    assert org1["handovers"]["count"] == 0


def test_as_at_the_middle_of_the_period(reporting_driver: ReportingDriver) -> None:
    record_the_story(reporting_driver)
    k = reporting_driver.kpis(H, **P, as_at=days_ago(41))["figures"]
    # Only events on or before 41 days ago. Discharged in P by then: A only (planned).
    assert counts(k["planned_exits"]["all"]) == (1, 1)
    # Started by then: A 35, B 10, G 5, H 6 (its start as corrected, 44 days ago; as first
    # recorded, 40 days ago, it would not count): sorted 5, 6, 10, 35: median 8.
    assert k["waiting_times"]["started"]["count"] == 4
    assert k["waiting_times"]["median_days"]["value"] == 8
