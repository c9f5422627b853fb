"""One function per KPI, each a direct reading of its definition in DESIGN.md.

Every figure names what it counts, and for shares its numerator and denominator, so a
consumer can check it. Days are calendar days between business dates; a period is a closed
range [start, end]; "intervention" means Tier 3/4 unless a KPI says otherwise.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.common.codes import ReferralSource
from services.reporting.views import EpisodeView, ReferralView

RETAINED_DAYS = 84
WITHIN_DAYS = 21
LONG_WAIT_DAYS = 42


@dataclass(frozen=True)
class Period:
    start: date
    end: date


def count(value: int, of: str) -> dict[str, Any]:
    return {"count": value, "of": of}


def share(numerator: int, num_of: str, denominator: int, den_of: str) -> dict[str, Any]:
    """A share as numerator, denominator and ratio; an empty denominator gives no ratio."""
    return {
        "numerator": count(numerator, num_of),
        "denominator": count(denominator, den_of),
        "ratio": numerator / denominator if denominator else None,
    }


def percentile(values: list[int], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def numbers_in_treatment(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    n = sum(
        any(
            i.structured and i.active_during(period.start, period.end)
            for i in e.interventions.values()
        )
        for e in episodes
    )
    return numbers_in_treatment_figure(n)


def numbers_in_treatment_figure(n: int) -> dict[str, Any]:
    return count(n, "episodes with a Tier 3 or Tier 4 intervention active on any day of the period")


def waiting_times(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    waits = []
    for e in episodes:
        first = e.first_structured_start
        if first is not None and period.start <= first <= period.end:
            waits.append((first - e.referral_date).days)
    still_waiting = sum(
        e.waiting_on(period.end) and (period.end - e.referral_date).days >= LONG_WAIT_DAYS
        for e in episodes
    )
    return waiting_times_figures(waits, still_waiting)


def waiting_times_figures(waits: list[int], still_waiting: int) -> dict[str, Any]:
    started = "episodes whose first structured intervention started in the period"
    return {
        "started": count(len(waits), started),
        "median_days": {"value": percentile(waits, 0.5), "over": count(len(waits), started)},
        "p90_days": {"value": percentile(waits, 0.9), "over": count(len(waits), started)},
        "within_21_days": share(
            sum(w <= WITHIN_DAYS for w in waits),
            "of those, waited 21 days or fewer",
            len(waits),
            started,
        ),
        "waited_42_days_or_more": count(
            sum(w >= LONG_WAIT_DAYS for w in waits), "of those, waited 42 days or more"
        ),
        "still_waiting_42_days_or_more_at_end": count(
            still_waiting,
            "open episodes waiting at the period end, referred 42 or more days before it",
        ),
    }


def retention_12_weeks(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    discharged = [
        e
        for e in episodes
        if e.triaged_on is not None
        and e.discharged_on is not None
        and period.start <= e.discharged_on <= period.end
    ]
    retained = sum((e.discharged_on - e.triaged_on).days >= RETAINED_DAYS for e in discharged)  # type: ignore[operator]
    in_treatment = [
        e
        for e in episodes
        if e.triaged_on is not None
        and any(
            i.structured and i.active_during(period.start, period.end)
            for i in e.interventions.values()
        )
    ]
    reached = sum(
        e.triaged_on + timedelta(days=RETAINED_DAYS) <= period.end  # type: ignore[operator]
        or (e.planned_exit and e.discharged_on is not None and e.discharged_on <= period.end)
        for e in in_treatment
    )
    return retention_figures(retained, len(discharged), reached)


def retention_figures(retained: int, discharged: int, reached: int) -> dict[str, Any]:
    return {
        "discharged_retained": share(
            retained,
            "discharged 84 days or more after triage",
            discharged,
            "episodes with a triage discharged in the period",
        ),
        "in_treatment_retained": count(
            reached,
            "episodes in treatment in the period (with a triage) that had reached 84 "
            "days after triage by the period end or left with a planned exit by it",
        ),
    }


def planned_exits(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    discharged = [
        e
        for e in episodes
        if e.discharged_on is not None and period.start <= e.discharged_on <= period.end
    ]
    tier4 = [e for e in discharged if e.had_tier4]
    return planned_exits_figures(
        sum(e.planned_exit for e in discharged),
        len(discharged),
        sum(e.planned_exit for e in tier4),
        len(tier4),
    )


def planned_exits_figures(
    planned: int, discharged: int, planned4: int, tier4: int
) -> dict[str, Any]:
    return {
        "all": share(
            planned,
            "discharges with a planned exit reason",
            discharged,
            "discharges in the period",
        ),
        "tier4": share(
            planned4,
            "discharges with a planned exit reason, of episodes with a Tier 4 intervention",
            tier4,
            "discharges in the period of episodes with a Tier 4 intervention",
        ),
    }


def care_plan_coverage(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    end = period.end
    active = [
        e
        for e in episodes
        if any(i.structured and i.active_on(end) for i in e.interventions.values())
    ]
    with_plan = sum(any(d <= end for d in e.care_plan_dates) for e in active)
    overdue = 0
    for e in active:
        latest = e.latest_plan(end)
        if latest is not None and latest[1] is not None and latest[1] < end:
            overdue += 1
    return care_plan_figures(with_plan, len(active), overdue)


def care_plan_figures(with_plan: int, active: int, overdue: int) -> dict[str, Any]:
    return {
        "with_care_plan": share(
            with_plan,
            "with a care plan agreed on or before the period end",
            active,
            "episodes with a structured intervention active at the period end",
        ),
        "review_overdue": count(
            overdue,
            "of those, the latest agreed or reviewed plan's next "
            "review date was before the period end",
        ),
    }


def referral_sources(referrals: list[ReferralView], period: Period) -> dict[str, Any]:
    received = [r for r in referrals if period.start <= r.referral_date <= period.end]
    return referral_sources_figures(Counter(r.source for r in received))


def referral_sources_figures(by_source: Counter[str]) -> dict[str, Any]:
    return {
        "total": count(sum(by_source.values()), "referrals received in the period"),
        "by_source": {  # every source code, 0 included: a partner never has to guess
            source.value: count(
                by_source[source.value], f"referrals from {source.value} received in the period"
            )
            for source in sorted(ReferralSource, key=lambda s: s.value)
        },
    }


def criminal_justice_engagement(
    referrals: list[ReferralView], episodes_by_referral: dict[str, EpisodeView], period: Period
) -> dict[str, Any]:
    cj = [
        r
        for r in referrals
        if r.source in ("cjit", "carat") and period.start <= r.referral_date <= period.end
    ]
    started = 0
    for r in cj:
        episode = episodes_by_referral.get(r.referral_id)
        first = episode.first_structured_start if episode else None
        started += first is not None and first <= period.end
    return criminal_justice_figures(started, len(cj))


def criminal_justice_figures(started: int, referred: int) -> dict[str, Any]:
    return share(
        started,
        "whose episode started a structured intervention on or before the period end",
        referred,
        "referrals from CJIT or CARAT received in the period",
    )


def re_engagements(events: list[tuple[date, str]], period: Period) -> dict[str, Any]:
    """Re-engaged events (date, re-engaging organisation) in the period, already scoped."""
    n = sum(period.start <= on <= period.end for on, _ in events)
    return count(
        n, "re-engaged events in the period (by the organisation the client re-engaged with)"
    )


def handover_continuity(referrals: list[ReferralView], period: Period) -> dict[str, Any]:
    """Over the handovers the scope is party to: a CJIT's are those it received, a CARAT
    team's those it made (queries.handovers)."""
    handovers = [
        r
        for r in referrals
        if r.handover_kind == "carat_to_cjit" and period.start <= r.referral_date <= period.end
    ]
    accepted = [r for r in handovers if r.accepted_on is not None and r.accepted_on <= period.end]
    days = [(r.accepted_on - r.release_date).days for r in accepted if r.release_date]  # type: ignore[operator]
    return {
        "handovers": count(len(handovers), "CARAT to CJIT handovers made in the period"),
        "accepted": share(
            len(accepted),
            "accepted on or before the period end",
            len(handovers),
            "CARAT to CJIT handovers made in the period",
        ),
        "median_days_release_to_acceptance": {
            "value": percentile(days, 0.5),
            "over": count(len(days), "accepted handovers with a release date"),
        },
    }


def all_kpis(
    episodes: list[EpisodeView],
    referrals: list[ReferralView],
    re_engaged: list[tuple[date, str]],
    period: Period,
    handovers: list[ReferralView],
) -> dict[str, Any]:
    """`referrals`: those received in scope; `handovers`: CARAT -> CJIT handovers the scope is
    party to (received or made)."""
    by_referral = {e.referral_id: e for e in episodes if e.referral_id}
    return {
        "numbers_in_treatment": numbers_in_treatment(episodes, period),
        "waiting_times": waiting_times(episodes, period),
        "retention_12_weeks": retention_12_weeks(episodes, period),
        "planned_exits": planned_exits(episodes, period),
        "care_plan_coverage": care_plan_coverage(episodes, period),
        "referral_sources": referral_sources(referrals, period),
        "criminal_justice_engagement": criminal_justice_engagement(referrals, by_referral, period),
        "re_engagements": re_engagements(re_engaged, period),
        "handover_continuity": handover_continuity(handovers, period),
    }


RE_PRESENTATION_DAYS = 182


def without_re_presentation(
    completions: list[tuple[str, date]],
    person_of: dict[str, str],
    openings: dict[str, list[date]],
) -> dict[str, Any]:
    """Of the successful completions in the period (planned discharges of episodes in
    treatment in it; (client, discharge date)) whose 182 days had passed by the date of asking,
    those whose person had no episode opened, at any organisation, from the day after
    discharge to day 182."""
    window = timedelta(days=RE_PRESENTATION_DAYS)
    kept = sum(
        not any(
            discharged < on <= discharged + window
            for on in openings.get(person_of.get(client, client), [])
        )
        for client, discharged in completions
    )
    return share(
        kept,
        "with no episode of the person (at any organisation) opened within 182 days after",
        len(completions),
        "successful completions in the period whose 182 days had passed by the date of asking",
    )
