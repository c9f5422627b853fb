"""Every KPI on a small scenario, the expected figures worked out by hand from DESIGN.md.

Period Q = 1 April to 30 June 2026 (both included).
E1 referred 10 Mar, triage 15 Mar, care plan 20 Mar, Tier 3 from 5 Apr (referred in one
   period, starts in the next), review 20 Apr, planned discharge 7 Jun: exactly 84 days after
   triage.
E2 referred 1 Apr, triage 3 Apr, care plan 4 Apr (review due 1 May, never reviewed), Tier 4
   inpatient from 11 Apr, still open.
E3 referred 10 Apr, triage 12 Apr, care plan 13 Apr (review due 13 Jul), Tier 3 starts on
   30 Jun: active on the last day of the period only.
E4 referred 1 Feb, triage 5 Feb, Tier 2 harm reduction only (no end to the wait), still open.
E5 referred 5 Jan, Tier 3 20 Jan to 1 Mar, discharged 31 Mar: all before Q.
E6 re-engaged 1 May (its wait counts from then), triage 2 May, care plan 3 May, Tier 3 from
   21 May, dropped out 15 Jun (44 days after triage).
E7 referred 20 Apr, triage 21 Apr, care plan 22 Apr, Tier 4 residential from 25 Apr,
   planned discharge 20 Jun (60 days after triage).
"""

from datetime import date
from typing import Any

import pytest

from services.reporting import kpis
from services.reporting.kpis import Period, percentile
from services.reporting.views import EpisodeView, ReferralView, fold_episode

Q = Period(date(2026, 4, 1), date(2026, 6, 30))


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def episode(
    name: str,
    referred: date,
    events: list[tuple[str, date, dict[str, Any]]],
    referral_id: str | None = None,
) -> EpisodeView:
    opening = {
        "client_id": f"client-{name}",
        "referral_id": referral_id,
        "referral_date": referred.isoformat(),
        "source": "gp",
        "keyworker": "kim",
        "priority_flags": [],
    }
    rows = [(1, "EpisodeOpened", referred, opening)]
    rows += [(n + 2, kind, on, data) for n, (kind, on, data) in enumerate(events)]
    view = fold_episode(rows, name, "ORG1")
    assert view is not None
    return view


def triage(on: date) -> tuple[str, date, dict[str, Any]]:
    return "TriageCompleted", on, {"risks": {"self_neglect": "high"}}


def plan(on: date, review: date) -> tuple[str, date, dict[str, Any]]:
    return "CarePlanAgreed", on, {"next_review_on": review.isoformat()}


def start(on: date, tier: int, iid: str = "i1") -> tuple[str, date, dict[str, Any]]:
    return "InterventionStarted", on, {"intervention_id": iid, "modality": "m", "tier": tier}


def discharge(on: date, planned: bool) -> tuple[str, date, dict[str, Any]]:
    reason = "treatment_completed_drug_free" if planned else "dropped_out"
    return "Discharged", on, {"exit_reason": reason, "planned": planned}


@pytest.fixture
def episodes() -> list[EpisodeView]:
    return [
        episode(
            "E1",
            d(3, 10),
            [
                triage(d(3, 15)),
                plan(d(3, 20), d(4, 20)),
                start(d(4, 5), 3),
                ("CarePlanReviewed", d(4, 20), {"next_review_on": "2026-05-20"}),
                discharge(d(6, 7), True),
            ],
        ),
        episode("E2", d(4, 1), [triage(d(4, 3)), plan(d(4, 4), d(5, 1)), start(d(4, 11), 4)]),
        episode(
            "E3",
            d(4, 10),
            [triage(d(4, 12)), plan(d(4, 13), d(7, 13)), start(d(6, 30), 3)],
            referral_id="R3",
        ),
        episode("E4", d(2, 1), [triage(d(2, 5)), start(d(2, 6), 2)]),
        episode(
            "E5",
            d(1, 5),
            [
                triage(d(1, 10)),
                plan(d(1, 12), d(2, 12)),
                start(d(1, 20), 3),
                ("InterventionEnded", d(3, 1), {"intervention_id": "i1", "reason": "x"}),
                discharge(d(3, 31), False),
            ],
        ),
        episode(
            "E6",
            d(5, 1),
            [
                triage(d(5, 2)),
                plan(d(5, 3), d(6, 3)),
                start(d(5, 21), 3),
                discharge(d(6, 15), False),
            ],
        ),
        episode(
            "E7",
            d(4, 20),
            [
                triage(d(4, 21)),
                plan(d(4, 22), d(5, 22)),
                start(d(4, 25), 4),
                discharge(d(6, 20), True),
            ],
            referral_id="R7",
        ),
    ]


def referral(
    rid: str,
    source: str,
    on: date,
    kind: str | None = None,
    release: date | None = None,
    accepted: date | None = None,
) -> ReferralView:
    return ReferralView(rid, f"client-{rid}", source, "ORG1", on, kind, release, accepted)


REFERRALS = [
    referral("R1", "gp", d(3, 10)),
    referral("R2", "self", d(4, 1)),
    referral("R3", "cjit", d(4, 10)),
    referral("R4", "gp", d(2, 1)),
    referral("R7", "carat", d(4, 20), "carat_to_cjit", d(4, 15), d(4, 22)),
    referral("R8", "carat", d(5, 5), "carat_to_cjit", d(5, 1)),
    referral("R9", "probation", d(6, 29)),
]


def test_numbers_in_treatment(episodes: list[EpisodeView]) -> None:
    # Tier 3/4 active on some day of Q: E1, E2, E3 (30 Jun only), E6, E7; not E4 (Tier 2),
    # not E5 (ended 1 Mar).
    assert kpis.numbers_in_treatment(episodes, Q)["count"] == 5


def test_waiting_times(episodes: list[EpisodeView]) -> None:
    # First structured start in Q: E1 5 Apr - 10 Mar = 26; E2 11 Apr - 1 Apr = 10;
    # E3 30 Jun - 10 Apr = 81; E6 21 May - 1 May = 20; E7 25 Apr - 20 Apr = 5.
    # Sorted 5, 10, 20, 26, 81: median 20; p90 rank 3.6: 26 + 0.6 * (81 - 26) = 59.
    w = kpis.waiting_times(episodes, Q)
    assert w["started"]["count"] == 5
    assert w["median_days"]["value"] == 20
    assert w["p90_days"]["value"] == pytest.approx(59.0)
    assert w["within_21_days"]["numerator"]["count"] == 3  # 5, 10, 20
    assert w["within_21_days"]["ratio"] == pytest.approx(0.6)
    assert w["waited_42_days_or_more"]["count"] == 1  # 81
    # Waiting at 30 Jun and referred 42+ days before: E4 (149 days). E3 started on 30 Jun.
    assert w["still_waiting_42_days_or_more_at_end"]["count"] == 1


def test_retention_12_weeks(episodes: list[EpisodeView]) -> None:
    # Discharged in Q with a triage: E1 (84 days: retained), E6 (44), E7 (60): 1 of 3.
    r = kpis.retention_12_weeks(episodes, Q)
    assert r["discharged_retained"]["numerator"]["count"] == 1
    assert r["discharged_retained"]["denominator"]["count"] == 3
    # In treatment in Q: E1 (15 Mar + 84 = 7 Jun), E2 (3 Apr + 84 = 26 Jun) reached 84 days;
    # E7 left with a planned exit on 20 Jun; E3 (5 Jul) and E6 (25 Jul, dropped out) did not.
    assert r["in_treatment_retained"]["count"] == 3


def test_planned_exits(episodes: list[EpisodeView]) -> None:
    # Discharged in Q: E1 planned, E6 not, E7 planned: 2 of 3. Tier 4 among them: E7, planned.
    p = kpis.planned_exits(episodes, Q)
    assert (p["all"]["numerator"]["count"], p["all"]["denominator"]["count"]) == (2, 3)
    assert p["all"]["ratio"] == pytest.approx(2 / 3)
    assert (p["tier4"]["numerator"]["count"], p["tier4"]["denominator"]["count"]) == (1, 1)


def test_care_plan_coverage(episodes: list[EpisodeView]) -> None:
    # Structured active on 30 Jun: E2 and E3 (E1, E6, E7 discharged ended theirs). Both have a
    # care plan by then. E2's plan was due review on 1 May with none since: overdue.
    c = kpis.care_plan_coverage(episodes, Q)
    assert (
        c["with_care_plan"]["numerator"]["count"],
        c["with_care_plan"]["denominator"]["count"],
    ) == (2, 2)
    assert c["review_overdue"]["count"] == 1


def test_referral_sources_engagement_and_handovers(episodes: list[EpisodeView]) -> None:
    sources = kpis.referral_sources(REFERRALS, Q)
    # Received in Q: R2 self, R3 cjit, R7 carat, R8 carat, R9 probation.
    assert sources["total"]["count"] == 5
    assert {s: v["count"] for s, v in sources["by_source"].items() if v["count"]} == {
        "carat": 2,
        "cjit": 1,
        "probation": 1,
        "self": 1,
    }
    # CJIT/CARAT referrals in Q: R3 (E3 started 30 Jun), R7 (E7 started 25 Apr), R8 (no
    # episode): 2 of 3.
    by_referral = {e.referral_id: e for e in episodes if e.referral_id}
    cj = kpis.criminal_justice_engagement(REFERRALS, by_referral, Q)
    assert (cj["numerator"]["count"], cj["denominator"]["count"]) == (2, 3)
    # CARAT -> CJIT handovers in Q: R7 (accepted 22 Apr, released 15 Apr: 7 days), R8 (not
    # accepted): 1 of 2, median 7.
    h = kpis.handover_continuity(REFERRALS, Q)
    assert h["handovers"]["count"] == 2
    assert (h["accepted"]["numerator"]["count"], h["accepted"]["ratio"]) == (1, 0.5)
    assert h["median_days_release_to_acceptance"]["value"] == 7


def test_re_engagements_counts_events_in_the_period() -> None:
    events = [(d(5, 1), "ORG1"), (d(3, 1), "ORG1"), (d(6, 30), "CJIT1")]
    assert kpis.re_engagements(events, Q)["count"] == 2


def test_percentiles_interpolate_like_percentile_cont() -> None:
    assert percentile([10, 20], 0.5) == 15
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)
    assert percentile([], 0.5) is None


def test_empty_denominator_gives_no_ratio() -> None:
    assert kpis.planned_exits([], Q)["all"]["ratio"] is None
