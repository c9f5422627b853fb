"""The national outcome KPIs aggregated in SQL over the episode summaries (their substance
profiles and TOPs), like aggregates.py for the others: successful completion by substance
group, TOP compliance and TOP change. Prison-to-community continuity reads the referrals and
the structured starts as before (outcomes.py), folding nothing.

The same figures, digit for digit, as outcomes.outcome_kpis over the folded episodes (the
direct reading of each definition; tests/integration/test_kpi_aggregates.py compares them).
"""

from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, case, func, select

from services.reporting import persons, queries
from services.reporting.aggregates import Frame, S, bound_frame, episode_pass, frame, values_of
from services.reporting.kpis import Period, count, share
from services.reporting.models import SummaryTop
from services.reporting.outcomes import (
    CONTINUITY_DAYS,
    GROUPS,
    prison_to_community_continuity,
    releases,
    structured_starts_by_person,
)


def figures(
    connection: Connection,
    scope: queries.Scope,
    period: Period,
    knowledge: queries.Knowledge,
    asked: date,
    f: Frame | None = None,
) -> dict[str, Any]:
    """`f`: the question's frame, when shared with aggregates.figures (one episode_pass)."""
    f = f or frame(scope, period, knowledge)
    completion, compliance = completion_and_compliance(connection, f)
    return {
        "successful_completion": completion,
        "prison_to_community_continuity": continuity(connection, scope, period, knowledge, asked),
        "top_compliance": compliance,
        "top_change": top_change(connection, f),
    }


def completion_and_compliance(
    connection: Connection, f: Frame
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Successful completion, per substance group (from the latest profile dated by the period
    end, as at): episodes in treatment in the period, and their planned discharges in it. TOP
    compliance: of episodes with a structured intervention active at the period end that
    started 182 days or more before it, those with a review TOP dated from then to the period
    end. Both from the frame's aggregates.episode_pass (shared with the other KPIs)."""
    passed = episode_pass(connection, f)
    found, (reviews, dues) = passed.groups, passed.counts[12:14]

    def completions(done: int, n: int, of: str) -> dict[str, Any]:
        return share(
            done,
            "discharged in the period with a planned exit",
            n,
            f"episodes in treatment in the period{of}",
        )

    completion = {
        "all": completions(
            sum(done for done, _ in found.values()), sum(n for _, n in found.values()), ""
        ),
        **{g: completions(*found.get(g, (0, 0)), f", substance group {g}") for g in GROUPS},
    }
    compliance = share(
        reviews,
        "with a review TOP dated in the 182 days to the period end",
        dues,
        "episodes with a structured intervention active at the period end that started 182 "
        "days or more before it",
    )
    return completion, compliance


def continuity(
    connection: Connection,
    scope: queries.Scope,
    period: Period,
    knowledge: queries.Knowledge,
    asked: date,
) -> dict[str, Any]:
    handovers = releases(connection, scope, knowledge, period)
    if not any(h.release_date + timedelta(days=CONTINUITY_DAYS) <= asked for h in handovers):
        return prison_to_community_continuity([], {}, {}, asked)  # none whose 21 days passed
    person_of = persons.persons_of(connection, {h.client_id for h in handovers}, knowledge)
    last = min(period.end + timedelta(days=CONTINUITY_DAYS), asked)
    chosen = set(person_of.values())
    starts = structured_starts_by_person(connection, knowledge, period.start, last, chosen)
    return prison_to_community_continuity(handovers, person_of, starts, asked)


def top_change(connection: Connection, f: Frame) -> dict[str, Any]:
    """Of episodes with a start and a review TOP dated in the period, comparing the earliest
    start TOP with the latest review TOP (the first recorded, of those on the same day)."""
    statement = top_change_statement(
        f.scope.organisation is not None, f.scope.area is not None, f.knowledge.known_at is not None
    )
    rows = connection.execute(statement, values_of(f)).all()

    def abstinent(substance: str, at_start: int) -> dict[str, Any]:
        using = [r for r in rows if (r[at_start] or 0) > 0]
        answered = [r for r in using if r[at_start + 1] is not None]
        stopped = sum(r[at_start + 1] == 0 for r in answered)
        return share(
            stopped,
            f"using no {substance} (0 days) at review",
            len(answered),
            f"using {substance} at start (review answered), start and review TOP in the period",
        )

    return {
        "pairs": count(len(rows), "episodes with a start and a review TOP in the period"),
        "opiates": abstinent("opiates", 0),
        "crack": abstinent("crack", 2),
    }


@cache
def top_change_statement(organisation: bool, area: bool, known: bool) -> Any:
    """top_change's statement for a kind of question (aggregates.bound_frame)."""
    f = bound_frame(organisation, area, known)
    T = SummaryTop
    dated = T.interviewed_on.between(f.start, f.upto)

    def is_stage(stage: str) -> Any:
        return func.max(case((T.stage == stage, 1), else_=0)) == 1

    staged = T.stage.in_(("start", "review"))
    # The period's TOPs by date (ix_tops_date), or the organisation's (ix_tops_org_date),
    # index-only: one organisation's at 100,000 clients, 3.8 ms from its episodes' TOPs.
    paired = select(T.episode_id).where(f.in_force(T), dated, staged)
    if f.scope.organisation is not None:
        paired = paired.where(T.organisation == f.scope.organisation)
    pairs = paired.group_by(T.episode_id).having(is_stage("start"), is_stage("review")).subquery()

    def chosen(column: Any, stage: str) -> Any:
        order = T.interviewed_on if stage == "start" else T.interviewed_on.desc()
        return (
            select(column)
            .where(f.children(T), dated, T.stage == stage)
            .order_by(order, T.seq)
            .limit(1)
            .scalar_subquery()
        )

    return f.scoped(
        select(
            chosen(T.opiates_days, "start"),
            chosen(T.opiates_days, "review"),
            chosen(T.crack_days, "start"),
            chosen(T.crack_days, "review"),
        )
        .select_from(S)
        .join(pairs, pairs.c.episode_id == S.episode_id)
        .where(*f.base)
    )
