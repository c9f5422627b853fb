"""The worklist (DESIGN "Worklist"): every item from events recorded over HTTP, worked by hand.
Dates are "days ago"; the date of asking is today unless `as_at` says otherwise.

ORG1 (keyworker kim on every episode):
  A  referred 60, triage 55, plan 50 (review due 3 days ago), Tier 3 from 45, no TOP:
     review_overdue (due 3 ago) and top_overdue (start TOP due with the intervention, 45 ago).
  B  referred 30, nothing since: waiting_21_days (due 30 - 21 = 9 ago) and not_triaged_5_days
     (due 25 ago).
  C  referred 50, triage 48, plan 47 (review due in 5 days), Tier 2 only: review_due (in 5) and
     waiting_42_days (due 8 ago).
  T  referred 190, triage 189, plan 188 (review in 60 days), Tier 3 from 185, start TOP 180:
     review TOP due 180 - 182 = in 2 days: top_due.
  A's referral carries ORG1's consent ending in 20 days: consent_ending_30_days (until renewed).
CJIT1: a CARAT handover released 31 days ago, referred 33, never accepted:
  handover_not_accepted_7_days, due 31 - 7 = 24 ago; one accepted 25 ago: no handover item.
"""

from datetime import UTC, datetime
from typing import Any

from tests.api.test_top import top
from tests.builders import days_ago, handover_referral_body
from tests.integration.test_kpi_story import CLIENT, plan
from tests.journey_driver import CARAT, CJIT, H
from tests.reporting_driver import ReportingDriver
from tests.support import assert_problem, auth


def worklist(r: ReportingDriver, headers: dict[str, str], **params: Any) -> list[tuple[str, ...]]:
    response = r.reporting.get("/worklist", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [
        (i["rule"], i["due_on"], i["episode_id"] or i["referral_id"])
        for i in response.json()["items"]
    ]


def test_worklist_items_and_what_answers_them(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    d = r.journeys
    consent = {
        "given_on": days_ago(60),
        "share_with": ["CJIT1"],
        "purposes": ["treatment"],
        "ends_on": days_ago(-20),
    }
    a = d.open_episode(referred=60, accepted=59, consent=consent)
    d.triage(a, on=55)
    plan(d, a, 50, 3)
    d.start(a, on=45)
    b = d.open_episode(referred=30, accepted=29)
    c = d.open_episode(referred=50, accepted=49)
    d.triage(c, on=48)
    plan(d, c, 47, -5)
    d.start(c, "harm_reduction", on=46)
    t = d.open_episode(referred=190, accepted=189)
    d.triage(t, on=189)
    plan(d, t, 188, -60)
    d.start(t, on=185)
    d.ok(t, "top", top(180))
    d.accepted_referral(handover=True, referred=40, accepted=25)
    client = d.referral.post("/clients", json={**CLIENT}, headers=CARAT).json()
    body = handover_referral_body(client["id"], referral_date=days_ago(33))
    referral = d.referral.post("/referrals", json=body, headers=CARAT).json()
    d.follow_referrals()
    r.follow()
    before_answers = datetime.now(UTC).isoformat()

    assert worklist(r, H) == [  # earliest due first
        ("top_overdue", days_ago(45), a),
        ("not_triaged_5_days", days_ago(25), b),
        ("waiting_21_days", days_ago(9), b),
        ("waiting_42_days", days_ago(8), c),
        ("review_overdue", days_ago(3), a),
        ("top_due", days_ago(-2), t),
        ("review_due", days_ago(-5), c),
        ("consent_ending_30_days", days_ago(-20), a),
    ]
    # (CJIT1's accepted handover is an episode waiting untriaged since 40 days ago.)
    handovers = [i for i in worklist(r, CJIT) if i[0] == "handover_not_accepted_7_days"]
    assert handovers == [("handover_not_accepted_7_days", days_ago(24), referral["id"])]
    assert worklist(r, H, keyworker="lee") == []
    assert len(worklist(r, H, keyworker="kim")) == 8
    assert [i[0] for i in worklist(r, H, due_before=days_ago(9))] == [
        "top_overdue",
        "not_triaged_5_days",
        "waiting_21_days",
    ]
    caseload = r.reporting.get("/caseloads", headers=H).json()["rows"]
    due = {row["episode_id"]: (row["top_due_on"], row["top_overdue"]) for row in caseload}
    assert due[a] == (days_ago(45), True)
    assert due[t] == (days_ago(-2), False)
    assert due[b] == (None, False)  # no structured intervention: no TOP due yet
    # As it stood 20 days ago: A's review (3 ago) is 17 days ahead, not yet on the list; B was
    # referred 10 days before (not triaged: due 25 ago); C had waited 30 days; T's TOP was due
    # 22 days ahead.
    assert worklist(r, H, as_at=days_ago(20)) == [
        ("top_overdue", days_ago(45), a),
        ("waiting_21_days", days_ago(29), c),
        ("not_triaged_5_days", days_ago(25), b),
    ]

    # The answers: A's start TOP and review, B's triage; each item goes.
    d.ok(a, "top", top(2))
    review = {"on": days_ago(1), "progress": [{"goal": 0, "progress": "improving"}]}
    d.ok(a, "care-plan-reviews", review | {"next_review_on": days_ago(-60)})
    d.triage(b, on=1)
    referral = d.episode(a)["referral_id"]
    renewed = {**consent, "given_on": days_ago(1), "ends_on": days_ago(-100)}
    response = d.referral.post(f"/referrals/{referral}/consent", json=renewed, headers=H)
    assert response.status_code in (200, 201), response.text
    r.follow()
    rules = {(i[0], i[2]) for i in worklist(r, H)}
    assert rules == {
        ("waiting_21_days", b),
        ("waiting_42_days", c),
        ("top_due", t),
        ("review_due", c),
    }
    # As known before the answers, the list is as it was.
    assert len(worklist(r, H, known_at=before_answers)) == 8


def test_worklist_is_for_its_own_organisation(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    r.journeys.open_episode(referred=30, accepted=29)
    r.follow()
    commissioner = auth("COMM1", _role("commissioner"))
    assert_problem(r.reporting.get("/worklist", headers=commissioner), 403)
    assert_problem(r.reporting.get("/worklist", params={"organisation": "CJIT1"}, headers=H), 403)
    admin = auth("ORG1", _role("administrator"))
    assert r.reporting.get("/worklist", headers=admin).status_code == 200
    log = r.reporting.get("/access-log", headers=admin).json()["entries"]
    assert any(e["what"] == "worklist-row" for e in log)


def _role(name: str) -> Any:
    from services.common.auth import Role

    return Role(name)


def test_the_exit_top_is_due_at_discharge(reporting_driver: ReportingDriver) -> None:
    """E: Tier 3 from 45, start TOP 44, discharged 3 days ago: the exit TOP fell due on the
    discharge date (top_overdue, due 3 ago) until it is recorded. F: discharged 3 days ago with
    only Tier 2 work and no TOP: outside the TOP cycle, nothing."""
    r = reporting_driver
    d = r.journeys
    e = d.open_episode(referred=60, accepted=59)
    d.triage(e, on=55)
    plan(d, e, 50, -60)
    d.start(e, on=45)
    d.ok(e, "top", top(44))
    d.discharge(e, on=3, reason="treatment_completed_drug_free")
    f = d.open_episode(referred=30, accepted=29)
    d.triage(f, on=28)
    d.start(f, "harm_reduction", on=27)
    d.discharge(f, on=3, reason="dropped_out")
    r.follow()
    assert worklist(r, H) == [("top_overdue", days_ago(3), e)]
    on_the_day = worklist(r, H, as_at=days_ago(3))  # both still open on their discharge day
    assert [i for i in on_the_day if i[0].startswith("top")] == [("top_due", days_ago(3), e)]
    d.ok(e, "top", top(2, "exit"))
    r.follow()
    assert worklist(r, H) == []
