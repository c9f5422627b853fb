"""The national outcome KPIs from events recorded over HTTP, each worked by hand from DESIGN.

Period P = [100, 10] days ago; the date of asking is today. "ago a" minus "ago b" is b - a days.

Successful completion, ORG1 (Tier 3 "from" = its start; profiles as at the period end):
  S1 heroin, Tier 3 from 140, planned discharge 50            opiate, completed in P
  S2 alcohol, Tier 3 from 120, dropped out 40                  alcohol
  S3 cocaine + alcohol, Tier 3 from 90, planned discharge 20   non-opiate and alcohol, completed
  S4 cannabis (a later profile, 5 ago, adds heroin: after P, not counted), Tier 3 from 60, open
                                                               non-opiate
  S5 no profile, Tier 3 from 80, planned discharge 5 (after P)  not stated, not completed in P
  X1 heroin, Tier 3 from 95, planned discharge 70; the client re-engages 60 into X2: alcohol
     only, Tier 3 from 55, open. Each episode counts in its own group: X1 opiate (completed),
     X2 alcohol.
  C1..C4 (TOP compliance, below; no profile)                   not stated
  In treatment in P: S1 S2 S3 S4 S5 X1 X2 C1 C2 C3 C4 = 11; completed: S1 S3 X1 = 3.
  opiate 2/2 (S1, X1); alcohol 0/2 (S2, X2); non-opiate and alcohol 1/1; non-opiate 0/1 (S4);
  not stated 0/5 (S5, C1-C4).
  Without re-presentation: none of the 3 completions is 182 days past (discharged 50, 20, 70
  days ago): 0/0, no ratio.

TOP compliance, ORG1: since = period end - 182 = 192 ago.
  C1 Tier 3 from 250, start TOP 250, review TOP 100: in, compliant.
  C2 Tier 3 from 240, start TOP 240, review TOP 200 (before 192): in, not compliant.
  C3 Tier 3 from 150: started less than 182 days before the end: out.
  C4 Tier 3 from 260, dropped out 30: nothing active at the end: out.      -> 1/2

TOP change, ORG1 (start and review TOP both in P):
  X2 start 54 (opiates 4 days, crack 3), review 20 (opiates 0, crack 2)
  S4 start 58 (opiates 0, crack 5), review 15 (crack 0)
  pairs 2; opiates: using at start X2 -> abstinent 1/1; crack: X2, S4 -> S4 abstinent, 1/2.

Prison to community continuity, CJIT1 (CARAT HMP1 -> CJIT1):
  H1 release 31, accepted 25, Tier 3 from 15: 16 days after release: continued.
  H2 release 31, accepted 25, Tier 3 from 5: 26 days: not continued.
  H3 release 31, never accepted: not continued.
  H4 release 5: its 21 days have not passed: out.                           -> 1/3
"""

from typing import Any

from services.reporting.disclosure import disclose
from tests.builders import days_ago, handover_referral_body
from tests.integration.test_kpi_story import CLIENT, treated
from tests.journey_driver import CARAT, CJIT, H, JourneyDriver
from tests.reporting_driver import ReportingDriver

P = {"period_start": days_ago(100), "period_end": days_ago(10)}


def profile(d: JourneyDriver, episode: str, on: int, *substances: str) -> None:
    body = {"on": days_ago(on), "substances": [{"substance": s} for s in substances]}
    d.ok(episode, "substance-profile", body)


def top(d: JourneyDriver, episode: str, on: int, stage: str, **use: Any) -> None:
    d.ok(episode, "top", {"on": days_ago(on), "stage": stage, "substance_use": use})


def long_treated(d: JourneyDriver, start: int) -> str:
    return treated(d, start + 10, start + 8, start + 5, start - 100, start)


def record(r: ReportingDriver) -> None:
    d = r.journeys
    s1 = treated(d, 150, 148, 145, 20, 140)
    profile(d, s1, 146, "heroin")
    d.discharge(s1, on=50, reason="treatment_completed_drug_free")
    s2 = treated(d, 130, 128, 125, 20, 120)
    profile(d, s2, 126, "alcohol")
    d.discharge(s2, on=40, reason="dropped_out")
    s3 = treated(d, 100, 98, 95, 20, 90)
    profile(d, s3, 96, "cocaine", "alcohol")
    d.discharge(s3, on=20, reason="treatment_completed_occasional_user")
    s4 = treated(d, 70, 68, 65, 20, 60)
    profile(d, s4, 66, "cannabis")
    profile(d, s4, 5, "cannabis", "heroin")
    top(d, s4, 58, "start", opiates=0, crack=5)
    top(d, s4, 15, "review", opiates=0, crack=0)
    s5 = treated(d, 90, 88, 85, 20, 80)
    d.discharge(s5, on=5, reason="treatment_completed_drug_free")
    x1 = treated(d, 100, 98, 97, 20, 95)
    profile(d, x1, 97, "heroin")
    d.discharge(x1, on=70, reason="treatment_completed_drug_free")
    response = d.post(x1, "re-engagement", {"on": days_ago(60)})
    assert response.status_code == 201, response.text
    x2 = str(response.json()["id"])
    d.triage(x2, on=59)
    d.care_plan(x2, on=58, review_in=100)
    profile(d, x2, 58, "alcohol")
    d.start(x2, on=55)
    top(d, x2, 54, "start", opiates=[1, 1, 1, 1], crack=3)
    top(d, x2, 20, "review", opiates=0, crack=[0, 0, 1, 1])

    c1 = long_treated(d, 250)
    top(d, c1, 250, "start", opiates=2)
    top(d, c1, 100, "review", opiates=0)
    c2 = long_treated(d, 240)
    top(d, c2, 240, "start", opiates=2)
    top(d, c2, 200, "review", opiates=1)
    long_treated(d, 150)
    c4 = long_treated(d, 260)
    d.discharge(c4, on=30, reason="dropped_out")

    for start in (15, 5):  # two people (the same registration details would be one person)
        person = {"given_name": f"H{start}", "date_of_birth": f"1990-01-{start:02}"}
        referral = d.accepted_referral(
            handover=True, referred=33, accepted=25, client=person | {"nhs_number": None}
        )
        d.follow_referrals()
        journey = d.journey.get(f"/clients/{referral['client_id']}/journey", headers=CJIT).json()
        h = str(journey["episodes"][-1]["episode"]["id"])
        d.owners[h] = CJIT
        d.triage(h, on=24)
        d.care_plan(h, on=23)
        d.start(h, on=start)
    for release in (31, 5):
        client = d.referral.post("/clients", json={**CLIENT}, headers=CARAT).json()
        body = handover_referral_body(client["id"], referral_date=days_ago(33))
        body["handover"]["release_date"] = days_ago(release)
        response = d.referral.post("/referrals", json=body, headers=CARAT)
        assert response.status_code == 201, response.text
    d.follow_referrals()
    r.follow()


def ratio(figure: dict[str, Any]) -> tuple[int, int]:
    return figure["numerator"]["count"], figure["denominator"]["count"]


def test_national_outcome_kpis(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    record(r)
    k = r.kpis(H, **P)["figures"]
    completion = k["successful_completion"]
    assert ratio(completion["all"]) == (3, 11)
    assert ratio(completion["opiate"]) == (2, 2)
    assert ratio(completion["alcohol"]) == (0, 2)
    assert ratio(completion["non_opiate_and_alcohol"]) == (1, 1)
    assert ratio(completion["non_opiate"]) == (0, 1)
    assert ratio(completion["not_stated"]) == (0, 5)
    assert ratio(k["without_re_presentation"]) == (0, 0)
    assert k["without_re_presentation"]["ratio"] is None
    assert ratio(k["top_compliance"]) == (1, 2)
    change = k["top_change"]
    assert change["pairs"]["count"] == 2
    assert ratio(change["opiates"]) == (1, 1)
    assert ratio(change["crack"]) == (1, 2)
    assert ratio(k["prison_to_community_continuity"]) == (0, 0)  # ORG1 had no handovers

    # A commissioner sees them under disclosure control: 0 stays 0, 11 is shown as 10, and
    # 1 to 5 (and a percentage built on one) suppressed.
    shown = disclose(k)
    assert shown["successful_completion"]["all"]["denominator"]["count"] == 10
    assert shown["successful_completion"]["all"]["percent"] == "suppressed"  # 3 completions
    assert shown["successful_completion"]["alcohol"]["numerator"]["count"] == 0
    assert shown["top_compliance"]["numerator"]["count"] == "suppressed"

    for reader in (CJIT, CARAT):  # the receiving CJIT and the CARAT team alike
        continuity = r.kpis(reader, **P)["figures"]["prison_to_community_continuity"]
        assert ratio(continuity) == (1, 3)
    # As at 12 days ago, H1's start (15 ago) had happened; H2's (5 ago) not; the 21 days of
    # the releases 31 days ago had not passed (31 - 21 = 10 ago): none counts yet.
    early = r.kpis(CJIT, **P, as_at=days_ago(12))["figures"]["prison_to_community_continuity"]
    assert ratio(early) == (0, 0)


def test_re_presentation_on_day_182_counts_and_on_day_183_does_not(
    reporting_driver: ReportingDriver,
) -> None:
    """Period [400, 300]: A and B (two people) complete on 350; A re-engages on 168 ago, day
    350 - 168 = 182 after discharge: a re-presentation; B on 167 ago, day 183: not one.
    Without re-presentation: 1 (B) of 2; successful completion 2 of 2 (not stated)."""
    r = reporting_driver
    d = r.journeys
    for name, back in (("Ann", 168), ("Bea", 167)):
        client = {"given_name": name, "nhs_number": None}
        episode = str(d.open_episode(referred=400, accepted=399, client=client))
        d.triage(episode, on=398)
        d.care_plan(episode, on=395)
        d.start(episode, on=390)
        d.discharge(episode, on=350, reason="treatment_completed_drug_free")
        response = d.post(episode, "re-engagement", {"on": days_ago(back)})
        assert response.status_code == 201, response.text
    r.follow()
    k = r.kpis(H, period_start=days_ago(400), period_end=days_ago(300))["figures"]
    assert ratio(k["without_re_presentation"]) == (1, 2)
    assert ratio(k["successful_completion"]["all"]) == (2, 2)
    assert ratio(k["successful_completion"]["not_stated"]) == (2, 2)
