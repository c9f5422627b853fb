"""Every KPI for a scope and period, aggregated in SQL over the episode summaries.

The same figures as kpis.all_kpis over the folded episodes (tests/integration/
test_kpi_aggregates.py compares them on generated data); kpis.py keeps the definitions'
wording and a direct reading of each definition. "As at D" is read on the summary's dates: a
date after D is not yet known (a discharge after D is no discharge, a start after D no start,
an end after D no end).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
)

from services.reporting import kpis, queries
from services.reporting.kpis import LONG_WAIT_DAYS, RETAINED_DAYS, Period
from services.reporting.models import (
    ClientArea,
    EpisodeSummary,
    SummaryPlan,
    SummaryProfile,
    SummarySpan,
    SummaryTop,
)
from services.reporting.outcomes import TOP_COMPLIANCE_DAYS

S = EpisodeSummary
NEVER = date.max.toordinal()
ONE: ColumnElement[Any] = literal_column("1")


def flag(condition: ColumnElement[bool]) -> Any:
    """1 when the condition holds, else 0 (also when it is NULL)."""
    return case((condition, 1), else_=0)


def total(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass
class Frame:
    """What every figure over the summaries shares: the days (ordinals), the episodes alive in
    the period (`base`), as at and as known at, their span flags, and the scope's join."""

    scope: queries.Scope
    knowledge: queries.Knowledge
    start: int
    end: int
    as_at: int
    upto: int
    base: list[Any]
    spans: Any
    passed: list[Any] | None = None  # episode_pass's rows, once per frame

    def in_force(self, table: Any) -> Any:
        return queries.known(table.recorded_from, table.recorded_to, self.knowledge)

    @property
    def discharged(self) -> Any:
        return case((S.discharged_on <= self.as_at, S.discharged_on))

    @property
    def first(self) -> Any:
        return case((S.first_structured_on <= self.as_at, S.first_structured_on))

    @property
    def in_treatment(self) -> Any:
        """A structured intervention active on some day of the period. (The 1 is written into
        the SQL: compared with a bound parameter in a WHERE, SQLite 3.40 re-read the spans for
        every episode, 30 s instead of 60 ms at 10,000 clients.)"""
        return self.spans.c.in_treatment == ONE

    @property
    def active_at_end(self) -> Any:
        return self.spans.c.at_end == ONE

    def scoped(self, query: Any, with_spans: bool = False) -> Any:
        if with_spans:
            query = query.outerjoin(self.spans, self.spans.c.episode_id == S.episode_id)
        if self.scope.area is None:
            return query
        return query.outerjoin(ClientArea, ClientArea.client_id == S.client_id).where(
            func.coalesce(ClientArea.area, literal("unknown")) == self.scope.area
        )


def frame(scope: queries.Scope, period: Period, knowledge: queries.Knowledge) -> Frame:
    start, end = period.start.toordinal(), period.end.toordinal()
    as_at = knowledge.as_at.toordinal() if knowledge.as_at is not None else NEVER
    upto = min(end, as_at)
    T = SummarySpan

    def active_from(since: int) -> Any:
        """1 when a structured intervention was active on some day from `since` to the end
        (started by the end, not ended before `since`), as at."""
        ended = or_(T.ended_on.is_(None), T.ended_on > as_at, T.ended_on >= since)
        return func.max(case((ended, 1), else_=0))

    # Per episode, in one pass over the spans, rather than a lookup per episode and figure.
    per_span = select(
        T.episode_id,
        active_from(start).label("in_treatment"),
        active_from(end).label("at_end"),
    ).where(
        queries.known(T.recorded_from, T.recorded_to, knowledge),
        T.started_on <= upto,
        or_(T.ended_on.is_(None), T.ended_on > as_at, T.ended_on >= start),
    )
    if scope.organisation is not None:
        per_span = per_span.where(T.organisation == scope.organisation)
    base = [
        queries.known(S.recorded_from, S.recorded_to, knowledge),
        S.opened_on <= upto,
        or_(S.discharged_on.is_(None), S.discharged_on >= start, S.discharged_on > as_at),
    ]
    if scope.organisation is not None:
        base.append(S.organisation == scope.organisation)
    spans = per_span.group_by(T.episode_id).subquery()
    return Frame(scope, knowledge, start, end, as_at, upto, base, spans)


def episode_pass(connection: Connection, f: Frame) -> list[Any]:
    """Every per-episode count, in one pass over the episodes alive in the period joined to
    their spans, once per frame (it was three passes, for these counts, successful completion
    and TOP compliance: England-wide at 10,000 clients, the outcome KPIs measured 202 -> 60 ms):
    rows of (substance group, the twelve counts of `figures`, then for the outcome KPIs
    completed, in treatment, reviewed and due), grouped by the substance group of the episodes
    in treatment (NULL for the others; see outcome_aggregates.completion_and_compliance)."""
    if f.passed is not None:
        return f.passed
    start, end, as_at, upto, in_force = f.start, f.end, f.as_at, f.upto, f.in_force
    discharged, first = f.discharged, f.first
    triaged = case((S.triaged_on <= as_at, S.triaged_on))
    in_treatment, active_at_end = f.in_treatment, f.active_at_end
    P = SummaryPlan
    latest_review = (
        select(P.next_review_on)
        .where(P.episode_id == S.episode_id, in_force(P), P.agreed_on <= upto)
        .order_by(P.agreed_on.desc(), P.seq)
        .limit(1)
        .scalar_subquery()
    )
    # Looked up only for episodes active at the end (CASE evaluates lazily).
    review_overdue = case((active_at_end, latest_review < end), else_=False)
    discharged_in = discharged.between(start, end)
    triaged_discharged = and_(triaged.is_not(None), discharged_in)
    tier4 = and_(discharged_in, S.first_tier4_on <= discharged)
    # The outcome KPIs': the latest profile dated by the period end, as at (looked up only for
    # the episodes in treatment), and a review TOP dated in the 182 days to the period end
    # (only for the episodes due).
    G = SummaryProfile
    group = (
        select(G.substance_group)
        .where(G.episode_id == S.episode_id, in_force(G), G.profiled_on <= upto)
        .order_by(G.profiled_on.desc(), G.seq)
        .limit(1)
        .scalar_subquery()
    )
    since = end - TOP_COMPLIANCE_DAYS
    T = SummaryTop
    reviewed = (
        select(T.id)
        .where(
            T.episode_id == S.episode_id,
            in_force(T),
            T.stage == "review",
            T.interviewed_on.between(since, upto),
        )
        .exists()
    )
    due = and_(active_at_end, first <= since)
    grp = case((in_treatment, func.coalesce(group, literal("not_stated")))).label("grp")
    flags = [
        flag(in_treatment),
        flag(
            and_(
                or_(discharged.is_(None), discharged >= end),
                or_(first.is_(None), first > end),
                end - S.waiting_from >= LONG_WAIT_DAYS,
            )
        ),
        flag(and_(triaged_discharged, discharged - triaged >= RETAINED_DAYS)),
        flag(triaged_discharged),
        flag(
            and_(
                triaged.is_not(None),
                in_treatment,
                or_(
                    triaged + RETAINED_DAYS <= end,
                    and_(S.planned_exit == 1, discharged <= end),
                ),
            )
        ),
        flag(and_(discharged_in, S.planned_exit == 1)),
        flag(discharged_in),
        flag(and_(tier4, S.planned_exit == 1)),
        flag(tier4),
        flag(and_(active_at_end, S.first_care_plan_on <= upto)),
        flag(active_at_end),
        flag(review_overdue),
        flag(and_(in_treatment, S.planned_exit == 1, discharged_in)),
        flag(in_treatment),
        flag(case((due, reviewed), else_=False)),
        flag(due),
    ]
    # Per episode, then summed per group: grouped by the expression itself, SQLite looked each
    # profile up twice (in the select and in the GROUP BY).
    episodes = f.scoped(
        select(grp, *(c.label(f"c{n}") for n, c in enumerate(flags))).where(*f.base),
        with_spans=True,
    ).subquery()
    columns = list(episodes.c)
    query = select(columns[0], *(func.sum(c) for c in columns[1:])).group_by(columns[0])
    f.passed = list(connection.execute(query))
    return f.passed


def figures(
    connection: Connection,
    scope: queries.Scope,
    period: Period,
    knowledge: queries.Knowledge,
    f: Frame | None = None,
) -> dict[str, Any]:
    """`f`: the question's frame, when shared with the outcome KPIs (one episode_pass)."""
    f = f or frame(scope, period, knowledge)
    start, end, base, first, scoped = f.start, f.end, f.base, f.first, f.scoped
    counts = [sum(int(row[i]) for row in episode_pass(connection, f)) for i in range(1, 13)]
    waits, started_by_end = [], set()
    for wait, referral, started in connection.execute(
        scoped(select(first - S.waiting_from, S.referral_id, first).where(*base, first <= end))
    ):
        started_by_end.add(referral)
        if started >= start:
            waits.append(int(wait))
    p = period.start, period.end
    referrals = queries.referrals(connection, scope, knowledge, *p)
    cj = [r for r in referrals if r.source in ("cjit", "carat") and p[0] <= r.referral_date <= p[1]]
    (n, still, retained, left, reached, planned, out, planned4, out4, with_plan, active, late) = (
        counts
    )
    return {
        "numbers_in_treatment": kpis.numbers_in_treatment_figure(n),
        "waiting_times": kpis.waiting_times_figures(waits, still),
        "retention_12_weeks": kpis.retention_figures(retained, left, reached),
        "planned_exits": kpis.planned_exits_figures(planned, out, planned4, out4),
        "care_plan_coverage": kpis.care_plan_figures(with_plan, active, late),
        "referral_sources": kpis.referral_sources(referrals, period),
        "criminal_justice_engagement": kpis.criminal_justice_figures(
            sum(r.referral_id in started_by_end for r in cj), len(cj)
        ),
        "re_engagements": kpis.re_engagements(
            queries.re_engagements(connection, scope, knowledge, *p), period
        ),
        "handover_continuity": kpis.handover_continuity(
            queries.handovers(connection, scope, knowledge, *p), period
        ),
    }
