"""Every KPI for a scope and period, aggregated in SQL over the episode summaries.

The same figures as kpis.all_kpis over the folded episodes (tests/integration/
test_kpi_aggregates.py compares them on generated data); kpis.py keeps the definitions'
wording and a direct reading of each definition. "As at D" is read on the summary's dates: a
date after D is not yet known (a discharge after D is no discharge, a start after D no start,
an end after D no end).
"""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    and_,
    bindparam,
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
from services.reporting.outcomes import GROUPS, TOP_COMPLIANCE_DAYS

S = EpisodeSummary
NEVER = date.max.toordinal()
ONE: ColumnElement[Any] = literal_column("1")
KNOWN_AT = bindparam("known_at", type_=S.recorded_from.type)


def flag(condition: ColumnElement[bool]) -> Any:
    """1 when the condition holds, else 0 (also when it is NULL)."""
    return case((condition, 1), else_=0)


@dataclass
class Counts:
    """What the episode pass counts over a set of summary rows. Every count is a sum over
    rows, so the counts of two disjoint sets add up and those of a subset subtract."""

    counts: list[int]  # the twelve of `figures`, then TOP compliance's reviewed and due
    groups: dict[str, tuple[int, int]]  # substance group: (completed, in treatment)
    waits: Counter[int]  # days waited: episodes whose first structured start is in the period

    def __add__(self, other: "Counts") -> "Counts":
        return self.combined(other, 1)

    def __sub__(self, other: "Counts") -> "Counts":
        return self.combined(other, -1)

    def combined(self, other: "Counts", sign: int) -> "Counts":
        groups = {
            g: (done + sign * other.groups[g][0], n + sign * other.groups[g][1])
            for g, (done, n) in self.groups.items()
        }
        waits = Counter(self.waits)
        for wait, n in other.waits.items():
            waits[wait] += sign * n
        return Counts(
            [a + sign * b for a, b in zip(self.counts, other.counts, strict=True)],
            groups,
            +waits,  # without the waits none has any more
        )


@dataclass
class Pass:
    """The episode pass of the frames of one question, computed once. The rows in force as
    known now are the current ones; as known at T, those minus the current rows recorded
    after T plus those superseded after T. So as known at T and as known now together cost
    one pass over the current rows plus the few rows of what changed since T."""

    known_at: datetime | None
    current: Counts | None = None
    recorded_after: Counts | None = None  # current rows recorded after known_at
    superseded_after: Counts | None = None  # rows recorded by known_at, superseded after it

    def counts(self, connection: Connection, f: "Frame") -> Counts:
        """`current` may come set from the counts kept per period (period_counts.preset)."""
        if self.current is None:
            self.current = counted(connection, f, "current")
        if f.knowledge.known_at is None:
            return self.current
        if self.recorded_after is None or self.superseded_after is None:
            self.recorded_after = counted(connection, f, "recorded_after")
            self.superseded_after = counted(connection, f, "superseded_after")
        return self.current - self.recorded_after + self.superseded_after


@dataclass
class Frame:
    """What every figure over the summaries shares: the days (ordinals), the episodes alive in
    the period (`base`), as at and as known at, and the scope's join."""

    scope: queries.Scope
    knowledge: queries.Knowledge
    start: Any  # the days: ordinals, or bind parameters in a statement kept (statement_of)
    end: Any
    as_at: Any
    upto: Any
    base: list[Any]
    opened: Any
    alive: list[Any]  # base but for the recording time and `opened`
    shared: Pass = field(default_factory=lambda: Pass(None))

    def in_force(self, table: Any) -> Any:
        return queries.known(table.recorded_from, table.recorded_to, self.knowledge)

    @staticmethod
    def children(table: Any, row: Any = S) -> Any:
        return queries.children(table, row)

    @property
    def discharged(self) -> Any:
        return case((S.discharged_on <= self.as_at, S.discharged_on))

    @property
    def first(self) -> Any:
        return case((S.first_structured_on <= self.as_at, S.first_structured_on))

    def active_from(self, since: int) -> Any:
        """A structured intervention active on some day from `since` to the period end, as at
        (started by then, not ended before `since`): read on the summary when the episode has
        one, looked up in its spans only when it has several."""
        T, as_at = SummarySpan, self.as_at
        several = queries.has_row(
            select(T.id).where(
                self.children(T),
                T.started_on <= self.upto,
                or_(T.ended_on.is_(None), T.ended_on > as_at, T.ended_on >= since),
            )
        )
        one = and_(
            S.span_started_on <= self.upto,
            or_(S.span_ended_on.is_(None), S.span_ended_on > as_at, S.span_ended_on >= since),
        )
        return case(
            (S.structured_spans == ONE, one), (S.structured_spans > ONE, several), else_=False
        )

    @property
    def in_treatment(self) -> Any:
        """A structured intervention active on some day of the period."""
        return self.active_from(self.start)

    @property
    def active_at_end(self) -> Any:
        return self.active_from(self.end)

    def latest(self, dated: Any, value: Any, table: Any, on: Any, column: Any) -> Any:
        """`column` of the episode's latest `table` row dated by the period end (the first
        recorded of that day), as at: the summary's own latest (`dated`, `value`) when it is
        dated by then, a look-up only when a later one exists."""
        earlier = (
            select(column)
            .where(self.children(table), on <= self.upto)
            .order_by(on.desc(), table.seq)
            .limit(1)
            .scalar_subquery()
        )
        return case((dated <= self.upto, value), (dated.is_(None), None), else_=earlier)

    def scoped(self, query: Any) -> Any:
        if self.scope.area is None:
            return query
        return query.outerjoin(ClientArea, ClientArea.client_id == S.client_id).where(
            func.coalesce(ClientArea.area, literal("unknown")) == self.scope.area
        )


def frame(scope: queries.Scope, period: Period, knowledge: queries.Knowledge) -> Frame:
    start, end = period.start.toordinal(), period.end.toordinal()
    as_at = knowledge.as_at.toordinal() if knowledge.as_at is not None else NEVER
    f = days_frame(scope, knowledge, start, end, as_at, min(end, as_at))
    f.base = [*queries.summaries_in_force(knowledge, f.opened), *f.alive]
    f.shared = Pass(knowledge.known_at)
    return f


def days_frame(
    scope: queries.Scope, knowledge: queries.Knowledge, start: Any, end: Any, as_at: Any, upto: Any
) -> Frame:
    alive = [or_(S.discharged_on.is_(None), S.discharged_on >= start, S.discharged_on > as_at)]
    if scope.organisation is not None:
        alive.append(S.organisation == scope.organisation)
    opened = S.opened_on <= upto
    return Frame(scope, knowledge, start, end, as_at, upto, [], opened, alive)


@cache
def bound_frame(organisation: bool, area: bool, known: bool) -> Frame:
    """A frame whose days, scope and known_at are bind parameters (values_of), for a statement
    built once per kind of question: building one for each question took longer than running
    it for one organisation."""
    day = {n: bindparam(n, type_=Integer) for n in ("start", "end", "as_at", "upto")}
    named: list[Any] = [bindparam(n, type_=String) for n in ("organisation", "area")]
    scope = queries.Scope(named[0] if organisation else None, named[1] if area else None)
    knowledge = queries.Knowledge(known_at=cast(datetime, KNOWN_AT) if known else None)
    f = days_frame(scope, knowledge, **day)
    f.base = [*queries.summaries_in_force(knowledge, f.opened), *f.alive]
    return f


def frames(
    scope: queries.Scope, period: Period, knowledges: list[queries.Knowledge]
) -> list[Frame]:
    """A frame per knowledge; as known at T and as known now (the same as_at) share one
    episode pass (Pass; the revisions' question: with known_at, England-wide at 100,000
    clients, two passes -> one and a little)."""
    found = [frame(scope, period, k) for k in knowledges]
    for f in found:
        for other in found:
            if f.knowledge.known_at is not None and other.knowledge == queries.Knowledge(
                f.knowledge.as_at, None
            ):
                other.shared = f.shared
    return found


def episode_pass(connection: Connection, f: Frame) -> Counts:
    """The frame's counts, from the pass it shares (Pass)."""
    return f.shared.counts(connection, f)


def values_of(f: Frame) -> dict[str, Any]:
    """The bind parameters of a frame's statement (statement_of)."""
    return {
        "start": f.start,
        "end": f.end,
        "as_at": f.as_at,
        "upto": f.upto,
        "organisation": f.scope.organisation,
        "area": f.scope.area,
        "known_at": f.knowledge.known_at,
    }


def no_counts() -> Counts:
    return Counts([0] * 14, {g: (0, 0) for g in GROUPS}, Counter())


def add_row(found: Counts, group: str | None, wait: int | None, sums: Any) -> None:
    """Add one row of a statement_of statement (its sums after the group and the wait)."""
    counts = [int(c) for c in sums]
    found.counts = [a + b for a, b in zip(found.counts, counts[:12] + counts[14:16], strict=True)]
    if group is not None:
        done, n = found.groups[group]
        found.groups[group] = (done + counts[12], n + counts[13])
    if wait is not None:
        found.waits[int(wait)] += counts[16]


def counted(connection: Connection, f: Frame, rows: str) -> Counts:
    """Every per-episode count over the summary rows `rows` (ROWS) alive in the frame's
    period, from the statement kept for its kind of scope (statement_of)."""
    statement = statement_of(rows, f.scope.organisation is not None, f.scope.area is not None)
    found = no_counts()
    for group, wait, *sums in connection.execute(statement, values_of(f)):
        add_row(found, group, wait, sums)
    return found


def counted_by_organisation(
    connection: Connection, values: dict[str, Any], organisations: list[str]
) -> dict[str, tuple[dict[str, Counts], int]]:
    """The current rows' counts of these organisations, each per client area, with the
    number of its episodes discharged by the period end but triaged after it: the only ones
    whose counts differ between two `as_at` on or after the period end (period_counts.py)."""
    statement = statement_of("current", False, False, by_organisation=True)
    found: dict[str, tuple[dict[str, Counts], int]] = {o: ({}, 0) for o in organisations}
    for at in range(0, len(organisations), 500):
        chosen = {**values, "organisations": organisations[at : at + 500]}
        for organisation, area, group, wait, *sums in connection.execute(statement, chosen):
            areas, sensitive = found[organisation]
            add_row(areas.setdefault(area, no_counts()), group, wait, sums[:-1])
            found[organisation] = (areas, sensitive + int(sums[-1]))
    return found


ROWS = {
    "current": (S.recorded_to.is_(None),),
    "recorded_after": (S.recorded_to.is_(None), S.recorded_from > KNOWN_AT),
    "superseded_after": (S.recorded_from <= KNOWN_AT, S.recorded_to > KNOWN_AT),
}


@cache
def statement_of(rows: str, organisation: bool, area: bool, by_organisation: bool = False) -> Any:
    """The statement counting the summary rows `rows` (ROWS) alive in a period for a kind of
    scope, built once with the days, the scope and known_at as bind parameters: built for
    each question, building it took longer than running it for one organisation.

    Every per-episode count in one pass joined to the spans, plans, profiles and TOPs: the
    twelve counts of `figures`, TOP compliance's, successful completion's and the number
    started in the period (it was three passes: England-wide at 10,000 clients, the outcome
    KPIs measured 202 -> 60 ms), grouped by the substance group of the episodes in treatment
    (NULL for the others) and by the wait of those started in the period (NULL for the
    others). Summed without a GROUP BY instead, it was no faster on SQLite and slower on
    PostgreSQL.

    `by_organisation`: for the organisations of the bind parameter `organisations`, grouped
    by organisation and client area too, with the count of those discharged by the period end
    but triaged after it last (counted_by_organisation)."""
    bound = bound_frame(organisation, area, False)
    f = replace(bound, alive=[*bound.alive])  # not the kept frame's: by_organisation adds one
    if by_organisation:
        f.alive.append(S.organisation.in_(bindparam("organisations", expanding=True)))
    start, end, as_at, upto = f.start, f.end, f.as_at, f.upto
    in_treatment, active_at_end = f.in_treatment, f.active_at_end
    P = SummaryPlan
    latest_review = f.latest(
        S.last_agreed_on, S.last_next_review_on, P, P.agreed_on, P.next_review_on
    )
    # The outcome KPIs': the latest profile dated by the period end, as at (looked up only for
    # the episodes in treatment), and a review TOP dated in the 182 days to the period end
    # (only for the episodes due).
    G = SummaryProfile
    group = f.latest(
        S.last_profiled_on, S.last_substance_group, G, G.profiled_on, G.substance_group
    )
    since = end - TOP_COMPLIANCE_DAYS
    T = SummaryTop
    reviewed = queries.has_row(
        select(T.id).where(
            f.children(T),
            T.stage == "review",
            T.interviewed_on.between(since, upto),
        )
    )
    # Each episode's dates as at and its conditions, worked out once in `base`; the flags
    # below read its columns. Written into every flag instead, SQLite worked each out once per
    # flag using it (no common subexpressions): one organisation's pass took twice as long.
    # OFFSET 0 keeps base a query of its own (neither SQLite nor PostgreSQL flattens a
    # subquery with one into the query around it).
    first = f.first
    chosen = [
        flag(in_treatment).label("treated"),
        flag(active_at_end).label("active_at_end"),
        f.discharged.label("discharged"),
        first.label("first"),
        case((S.triaged_on <= as_at, S.triaged_on)).label("triaged"),
        S.waiting_from,
        S.planned_exit,
        S.first_tier4_on,
        S.first_care_plan_on,
        # Looked up only for episodes active at the end (CASE evaluates lazily).
        flag(case((active_at_end, latest_review < end), else_=False)).label("review_overdue"),
        case((in_treatment, func.coalesce(group, literal("not_stated")))).label("grp"),
        flag(case((and_(active_at_end, first <= since), reviewed), else_=False)).label("reviewed"),
    ]
    where = [*ROWS[rows], f.opened, *f.alive]
    if by_organisation:
        area_of = func.coalesce(ClientArea.area, literal("unknown")).label("client_area")
        selected = select(S.organisation.label("org"), area_of, S.triaged_on, *chosen)
        selected = selected.outerjoin(ClientArea, ClientArea.client_id == S.client_id)
    else:
        selected = f.scoped(select(*chosen))
    b = selected.where(*where).offset(0).subquery("base")
    treated, at_end = b.c.treated == ONE, b.c.active_at_end == ONE
    discharged, triaged = b.c.discharged, b.c.triaged
    discharged_in = discharged.between(start, end)
    triaged_discharged = and_(triaged.is_not(None), discharged_in)
    tier4 = and_(discharged_in, b.c.first_tier4_on <= discharged)
    planned = b.c.planned_exit == 1
    flags = [
        b.c.treated,
        flag(
            and_(
                or_(discharged.is_(None), discharged >= end),
                or_(b.c.first.is_(None), b.c.first > end),
                end - b.c.waiting_from >= LONG_WAIT_DAYS,
            )
        ),
        flag(and_(triaged_discharged, discharged - triaged >= RETAINED_DAYS)),
        flag(triaged_discharged),
        flag(
            and_(
                triaged.is_not(None),
                treated,
                or_(triaged + RETAINED_DAYS <= end, and_(planned, discharged <= end)),
            )
        ),
        flag(and_(discharged_in, planned)),
        flag(discharged_in),
        flag(and_(tier4, planned)),
        flag(tier4),
        flag(and_(at_end, b.c.first_care_plan_on <= upto)),
        b.c.active_at_end,
        b.c.review_overdue,
        flag(and_(treated, planned, discharged_in)),
        b.c.treated,
        b.c.reviewed,
        flag(and_(at_end, b.c.first <= since)),
    ]
    # The wait of an episode whose first structured intervention started in the period, so
    # that the waiting times come from this pass too (counted per wait by the last flag).
    started_in = b.c.first.between(start, end)
    wait = case((started_in, b.c.first - b.c.waiting_from)).label("wait")
    flags.append(flag(started_in))
    if by_organisation:
        flags.append(flag(and_(discharged <= end, b.c.triaged_on > end)))
    # Per episode, then summed per group and wait: grouped by the expressions themselves,
    # SQLite looked each profile up twice (in the select and in the GROUP BY).
    counted = [c.label(f"c{n}") for n, c in enumerate(flags)]
    if by_organisation:
        episodes = select(b.c.org, b.c.client_area, b.c.grp, wait, *counted).subquery()
        keys = list(episodes.c)[:4]
    else:
        episodes = select(b.c.grp, wait, *counted).subquery()
        keys = list(episodes.c)[:2]
    sums = (func.sum(c) for c in list(episodes.c)[len(keys) :])
    return select(*keys, *sums).group_by(*keys)


@cache
def started_statement(organisation: bool, area: bool, known: bool) -> Any:
    """Which of the bind parameter `referrals` started structured treatment by the period end,
    as at, among the episodes alive in the period."""
    f = bound_frame(organisation, area, known)
    # Looked up by referral (ix_summaries_referral). Without statistics SQLite would rather
    # range over every current summary (ix_summaries_now), so the recording-time condition
    # is written here in a form that index cannot serve.
    in_force = queries.known(S.recorded_from, func.coalesce(S.recorded_to, None), f.knowledge)
    chosen = S.referral_id.in_(bindparam("referrals", expanding=True))
    return f.scoped(
        select(S.referral_id).where(chosen, in_force, f.opened, *f.alive, f.first <= f.end)
    )


def figures(
    connection: Connection,
    scope: queries.Scope,
    period: Period,
    knowledge: queries.Knowledge,
    f: Frame | None = None,
) -> dict[str, Any]:
    """`f`: the question's frame, when shared with the outcome KPIs (one episode_pass)."""
    f = f or frame(scope, period, knowledge)
    passed = episode_pass(connection, f)
    counts = passed.counts[:12]
    waits = sorted(passed.waits.elements())
    p = period.start, period.end
    referrals = queries.referrals_by_source(connection, scope, knowledge, *p)
    cj = [referral for referral, source in referrals if source in ("cjit", "carat")]
    started_by_end: set[str] = set()
    statement = started_statement(
        scope.organisation is not None, scope.area is not None, knowledge.known_at is not None
    )
    for at in range(0, len(cj), 500):
        values = {**values_of(f), "referrals": cj[at : at + 500]}
        started_by_end.update(connection.execute(statement, values).scalars())
    (n, still, retained, left, reached, planned, out, planned4, out4, with_plan, active, late) = (
        counts
    )
    return {
        "numbers_in_treatment": kpis.numbers_in_treatment_figure(n),
        "waiting_times": kpis.waiting_times_figures(waits, still),
        "retention_12_weeks": kpis.retention_figures(retained, left, reached),
        "planned_exits": kpis.planned_exits_figures(planned, out, planned4, out4),
        "care_plan_coverage": kpis.care_plan_figures(with_plan, active, late),
        "referral_sources": kpis.referral_sources_figures(Counter(s for _, s in referrals)),
        "criminal_justice_engagement": kpis.criminal_justice_figures(len(started_by_end), len(cj)),
        "re_engagements": kpis.re_engagements(
            queries.re_engagements(connection, scope, knowledge, *p), period
        ),
        "handover_continuity": kpis.handover_continuity(
            queries.handovers(connection, scope, knowledge, *p), period
        ),
    }
