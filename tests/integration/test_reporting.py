"""The reporting read models and views on SQLite and PostgreSQL, fed from the real feeds."""

from datetime import UTC, datetime
from typing import Any

from services.common.auth import Role
from services.reporting import db
from tests.builders import days_ago, last_month, month_of
from tests.generator import generate
from tests.journey_driver import H
from tests.reporting_driver import ReportingDriver, snapshot
from tests.support import auth

COMMISSIONER = auth("NHSE", Role.COMMISSIONER)


def test_rebuild_from_scratch_equals_incremental_following(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    referrals = r.journeys.referral.app.state.application  # type: ignore[attr-defined]
    journeys = r.journeys.application
    half = generate(referrals, journeys, clients=600, seed=1)
    r.follow(page_size=97)  # incremental, in odd-sized pages, while more arrives
    generate(referrals, journeys, clients=600, seed=2)
    r.follow(page_size=131)
    incremental = snapshot(r.engine)
    params = month_of(last_month())
    kpis_before = r.kpis(COMMISSIONER, **params)["figures"]
    db.drop(r.engine)
    db.upgrade(r.engine)
    r.projectors = type(r.projectors)(
        __import__("services.reporting.follower", fromlist=["x"]).projectors()
    )
    r.follow(page_size=1000)
    assert snapshot(r.engine) == incremental
    assert r.kpis(COMMISSIONER, **params)["figures"] == kpis_before
    assert half.clients == 600 and len(incremental["facts"]) > 3000
    assert any(row[2] == "EventRecordedInError" for row in incremental["facts"])
    assert any(row[2] == "EventCorrected" for row in incremental["facts"])
    assert any(row[2] == "ReEngaged" for row in incremental["facts"])


def test_a_figure_known_at_t_is_reproduced_after_a_correction(
    reporting_driver: ReportingDriver,
) -> None:
    r, d = reporting_driver, reporting_driver.journeys
    episode = d.open_episode(referred=60, accepted=58)
    d.triage(episode, on=55)
    discharged = d.discharge(episode, on=10, reason="treatment_completed_drug_free")
    r.follow()
    published_at = datetime.now(UTC)
    params = {"period_start": days_ago(30), "period_end": days_ago(0)}
    published = r.kpis(H, **params)["figures"]["planned_exits"]["all"]
    assert (published["numerator"]["count"], published["denominator"]["count"]) == (1, 1)
    response = d.post(
        episode, f"events/{discharged['version']}/recorded-in-error", {"reason": "wrong client"}
    )
    assert response.status_code == 201
    r.follow()
    current = r.kpis(H, **params)
    assert current["figures"]["planned_exits"]["all"]["denominator"]["count"] == 0
    reproduced = r.kpis(H, **params, known_at=published_at.isoformat())
    assert reproduced["figures"]["planned_exits"]["all"] == published
    revised = {rev["figure"] for rev in reproduced["revisions"]}
    assert "planned_exits.all.denominator.count" in revised


def test_known_at_counts_episodes_that_came_alive_or_into_view_only_later(
    reporting_driver: ReportingDriver,
) -> None:
    """Known at T and known now are answered together: an episode alive under one and not
    the other (a discharge before the period recorded in error, an episode opened after T)
    counts only where it belongs."""
    r, d = reporting_driver, reporting_driver.journeys
    dropped = d.open_episode(referred=200, accepted=199)
    d.triage(dropped, on=190)
    d.care_plan(dropped, on=185)
    d.start(dropped, on=180)
    discharged = d.discharge(dropped, on=100, reason="dropped_out")
    treated = d.open_episode(referred=60, accepted=59)
    d.triage(treated, on=55)
    d.care_plan(treated, on=50)
    d.start(treated, on=40)
    r.follow()
    published_at = datetime.now(UTC)
    params = {"period_start": days_ago(30), "period_end": days_ago(0)}
    published = r.kpis(H, **params)["figures"]
    assert published["numbers_in_treatment"]["count"] == 1  # only `treated`
    d.post(dropped, f"events/{discharged['version']}/recorded-in-error", {"reason": "not so"})
    late = d.open_episode(referred=30, accepted=29)
    d.triage(late, on=28)
    d.care_plan(late, on=25)
    d.start(late, on=20)
    r.follow()
    reproduced = r.kpis(H, **params, known_at=published_at.isoformat())
    assert reproduced["figures"] == published
    assert r.kpis(H, **params)["figures"]["numbers_in_treatment"]["count"] == 3
    revisions = {rev["figure"]: rev for rev in reproduced["revisions"]}
    assert revisions["numbers_in_treatment.count"] == {
        "figure": "numbers_in_treatment.count",
        "known_at": 1,
        "current": 3,
    }
    caseload = r.reporting.get(
        "/caseloads", params={"known_at": published_at.isoformat()}, headers=H
    ).json()
    assert [row["episode_id"] for row in caseload["rows"]] == [treated]


def test_as_at_leaves_out_what_happened_later(reporting_driver: ReportingDriver) -> None:
    r, d = reporting_driver, reporting_driver.journeys
    episode = d.open_episode(referred=60, accepted=58)
    d.triage(episode, on=55)
    d.care_plan(episode, on=50)
    d.start(episode, on=40)
    d.discharge(episode, on=5, reason="dropped_out")
    r.follow()
    params = {"period_start": days_ago(30), "period_end": days_ago(0)}
    assert r.kpis(H, **params)["figures"]["planned_exits"]["all"]["denominator"]["count"] == 1
    earlier = r.kpis(H, **params, as_at=days_ago(10))["figures"]
    assert earlier["planned_exits"]["all"]["denominator"]["count"] == 0
    assert earlier["numbers_in_treatment"]["count"] == 1
    caseload = r.reporting.get("/caseloads", params={"as_at": days_ago(10)}, headers=H).json()
    assert [row["episode_id"] for row in caseload["rows"]] == [episode]
    assert r.reporting.get("/caseloads", headers=H).json()["rows"] == []  # discharged since


def test_caseload_and_waiting_list_rows(reporting_driver: ReportingDriver) -> None:
    r, d = reporting_driver, reporting_driver.journeys
    waiting_long = d.open_episode(referred=50, accepted=49)
    waiting_short = d.open_episode(referred=10, accepted=9)
    treated = d.open_episode(referred=60, accepted=59)
    d.triage(
        treated,
        on=58,
        risks={
            "suicide_self_harm": "high",
            "substance_use": "low",
            "harm_to_others": "low",
            "harm_from_others": "low",
            "self_neglect": "medium",
        },
    )
    d.care_plan(treated, on=57, review_in=28)  # next review 29 days ago: overdue
    d.start(treated, on=50)
    r.follow()
    rows = {
        row["episode_id"]: row for row in r.reporting.get("/caseloads", headers=H).json()["rows"]
    }
    assert set(rows) == {waiting_long, waiting_short, treated}
    t = rows[treated]
    assert (t["phase"], t["tier"], t["days_since_referral"], t["days_in_treatment"]) == (
        "delivery",
        3,
        60,
        50,
    )
    assert (t["next_review_on"], t["review_overdue"]) == (days_ago(29), True)
    assert t["risk_flags"] == ["suicide_self_harm", "self_neglect", "injecting"]
    assert rows[waiting_long]["phase"] == "waiting"
    waiting = r.reporting.get("/waiting-list", headers=H).json()["rows"]
    assert [
        (w["episode_id"], w["days_waiting"], w["over_3_weeks"], w["six_weeks_or_more"])
        for w in waiting
    ] == [(waiting_long, 50, True, True), (waiting_short, 10, False, False)]
    mine = r.reporting.get("/caseloads", params={"keyworker": "kim"}, headers=H).json()
    assert mine["total"] == 3


def test_kpi_etags_and_access(reporting_driver: ReportingDriver) -> None:
    r, d = reporting_driver, reporting_driver.journeys
    d.open_episode(referred=0, accepted=0)
    r.follow()
    params = month_of(days_ago(0))
    first = r.reporting.get("/kpis", params=params, headers=COMMISSIONER)
    etag = first.headers["etag"]
    again = r.reporting.get("/kpis", params=params, headers={**COMMISSIONER, "If-None-Match": etag})
    assert again.status_code == 304
    d.open_episode(referred=0, accepted=0)
    r.follow()
    changed = r.reporting.get(
        "/kpis", params=params, headers={**COMMISSIONER, "If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["figures"]["referral_sources"]["total"]["count"] == "suppressed"
    assert "feeds" in changed.json() and set(changed.json()["feeds"]) == {"referral", "journey"}
    assert r.reporting.get("/caseloads", headers=COMMISSIONER).status_code == 403
    other = r.reporting.get("/kpis", params={**params, "organisation": "OTHER"}, headers=H)
    assert other.status_code == 403
    own = r.kpis(H, **params)
    assert own["figures"]["referral_sources"]["total"]["count"] == 2  # not suppressed: own data
    bad = r.reporting.get(
        "/kpis", params={"period_start": days_ago(0), "period_end": days_ago(9)}, headers=H
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_kpis_per_area_use_the_clients_postcode_area(reporting_driver: ReportingDriver) -> None:
    r, d = reporting_driver, reporting_driver.journeys
    for _ in range(6):  # every test client lives in LS6: postcode area LS
        d.open_episode(referred=0, accepted=0)
    r.follow()
    params = month_of(days_ago(0))
    overall = r.kpis(COMMISSIONER, **params)["figures"]
    assert overall["referral_sources"]["total"]["count"] == 5  # 6, rounded
    assert r.kpis(COMMISSIONER, **params, area="LS")["figures"] == overall
    elsewhere = r.kpis(COMMISSIONER, **params, area="M")["figures"]
    assert elsewhere["referral_sources"]["total"]["count"] == 0
    assert (
        r.reporting.get("/kpis", params={**params, "area": "ls6"}, headers=COMMISSIONER).status_code
        == 422
    )


def test_an_episode_opened_in_error_is_absent_from_every_view(
    reporting_driver: ReportingDriver,
) -> None:
    r, d = reporting_driver, reporting_driver.journeys
    kept, voided = (
        d.open_episode(referred=20, accepted=18),
        d.open_episode(referred=20, accepted=18),
    )
    for episode in (kept, voided):
        d.triage(episode, on=17)
    assert (
        d.post(voided, "events/1/recorded-in-error", {"reason": "not our client"}).status_code
        == 201
    )
    r.follow()
    rows = r.reporting.get("/caseloads", headers=H).json()["rows"]
    assert [row["episode_id"] for row in rows] == [kept]
    waiting = r.reporting.get("/waiting-list", headers=H).json()["rows"]
    assert [row["episode_id"] for row in waiting] == [kept]


def test_the_tier_of_an_episode_is_the_same_in_the_journey_and_the_caseload(
    reporting_driver: ReportingDriver,
) -> None:
    """Triaged as Tier 3 with nothing started, then a Tier 2 and a Tier 3 intervention, then
    the Tier 3 one ended: the journey service and the caseload show the same tier each time
    (the highest tier among the interventions active today; none while none is)."""
    r, d = reporting_driver, reporting_driver.journeys
    episode = d.open_episode(referred=60, accepted=59)
    d.triage(episode, on=58, tier_indicated=3)
    d.care_plan(episode, on=57)

    def tiers() -> tuple[Any, Any]:
        r.follow()
        caseload = r.reporting.get("/caseloads", headers=H).json()["rows"]
        return d.episode(episode)["tier"], next(c["tier"] for c in caseload)

    assert tiers() == (None, None)
    assert d.episode(episode)["tier_indicated"] == 3
    d.start(episode, modality="harm_reduction", on=50)
    assert tiers() == (2, 2)
    structured = d.start(episode, modality="structured_psychosocial", on=40)
    assert tiers() == (3, 3)
    d.ok(episode, f"interventions/{structured}/end", {"on": days_ago(10), "reason": "completed"})
    assert tiers() == (2, 2)
