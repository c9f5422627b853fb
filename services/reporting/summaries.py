"""Per-episode summaries, kept from the facts, so that KPIs aggregate rows in SQL instead of
folding every episode's facts for every question.

An episode's summary is its fold (views.fold_episode) reduced to what the KPIs read: dates
that only ever come earlier as more is known (opened, triaged, first structured start, first
Tier 4 start, first agreed care plan, discharged), its structured interventions (spans), its
plans, its substance profiles (date and substance group) and its TOPs (date, stage and the items
the outcome KPIs compare). Because each is a business date, "as at D" is a date comparison on
the summary (a first start after D is no start as at D; an end after D is no end), and "as known
at T" picks the rows in force at T: each summary row holds over a span of recording time, like
the facts.

`refresh` rewrites the summary history of the episodes a page touched, from all their fact
rows, so it is the same however the pages fell.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, String, delete, insert, inspect, select, type_coerce

from services.reporting import period_counts
from services.reporting.models import (
    EpisodeSummary,
    FactRow,
    SummaryPlan,
    SummaryProfile,
    SummarySpan,
    SummaryTop,
)
from services.reporting.outcomes import days_used, group_of
from services.reporting.queries import as_date, utc
from services.reporting.views import EpisodeView, fold_episode

CORRECTIONS = ("EventRecordedInError", "EventCorrected")
CHUNK = 500
TABLES = (EpisodeSummary, SummarySpan, SummaryPlan, SummaryProfile, SummaryTop)


def ordinal(day: date | None) -> int | None:
    return None if day is None else day.toordinal()


def latest(rows: tuple[tuple[Any, Any], ...]) -> tuple[Any, Any]:
    """The latest-dated row, the first recorded of those on that date; (None, None) if none."""
    if not rows:
        return None, None
    return max(rows, key=lambda row: row[0])  # max keeps the first of equals


def summary_of(view: EpisodeView) -> tuple[Any, ...]:
    """(summary columns, spans, plans, profiles, TOPs) of a folded episode, as plain values."""
    structured = [i for i in view.interventions.values() if i.structured]
    starts = [i.started_on for i in structured]
    tier4 = [i.started_on for i in structured if i.tier == 4]
    spans = tuple((i.started_on.toordinal(), ordinal(i.ended_on)) for i in structured)
    plans = tuple((on.toordinal(), ordinal(review)) for on, review, _ in view.plans)
    profiles = tuple((on.toordinal(), group_of(named)) for on, named in view.substance_profiles)
    profile, plan = latest(profiles), latest(plans)
    columns = (
        view.organisation,
        view.client_id,
        view.referral_id,
        view.opened_on.toordinal(),
        view.referral_date.toordinal(),
        ordinal(view.triaged_on),
        ordinal(min(starts)) if starts else None,
        ordinal(min(tier4)) if tier4 else None,
        ordinal(min(view.care_plan_dates)) if view.care_plan_dates else None,
        ordinal(view.discharged_on),
        int(view.planned_exit),
        *profile,
        *plan,
        len(spans),
        *(spans[0] if len(spans) == 1 else (None, None)),
    )
    tops = tuple(
        (
            on.toordinal(),
            stage,
            days_used(use.get("opiates")),
            days_used(use.get("crack")),
        )
        for on, stage, use in view.tops
    )
    return columns, spans, plans, profiles, tops


COLUMNS = (
    "organisation",
    "client_id",
    "referral_id",
    "opened_on",
    "waiting_from",
    "triaged_on",
    "first_structured_on",
    "first_tier4_on",
    "first_care_plan_on",
    "discharged_on",
    "planned_exit",
    "last_profiled_on",
    "last_substance_group",
    "last_agreed_on",
    "last_next_review_on",
    "structured_spans",
    "span_started_on",
    "span_ended_on",
)


def history(episode_id: str, facts: list[Any]) -> list[tuple[datetime, datetime | None, Any]]:
    """[(recorded from, to, summary)]: the episode's summary over each span of recording time
    in which its effective facts were the same; consecutive equal summaries merged."""
    parsed = sorted(
        (
            (
                f[1],
                f[2],
                as_date(f[3]),
                orjson.loads(f[4]),
                utc(f[5]),
                utc(f[6]) if f[6] is not None else None,
            )
            for f in facts
        ),
        key=lambda f: f[0],
    )
    moments = sorted({f[4] for f in parsed} | {f[5] for f in parsed if f[5] is not None})
    spans: list[tuple[datetime, datetime | None, Any]] = []
    for i, moment in enumerate(moments):
        rows = [f[:4] for f in parsed if f[4] <= moment and (f[5] is None or f[5] > moment)]
        view = fold_episode(rows, episode_id, facts[0][7])
        summary = summary_of(view) if view is not None else None
        end = moments[i + 1] if i + 1 < len(moments) else None
        if spans and spans[-1][2] == summary:
            spans[-1] = (spans[-1][0], end, summary)
        else:
            spans.append((moment, end, summary))
    return [span for span in spans if span[2] is not None]


def refresh(connection: Connection, episode_ids: Iterable[str], backfill: bool = False) -> None:
    """Rewrite the summary history of these episodes from their fact rows, and drop the counts
    kept per period that they could change. `backfill`: a migration's, which runs today's code
    against the schema of its own revision: only the columns the tables have then are
    written, and no counts are kept yet."""
    ids = sorted(set(episode_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        query = select(
            FactRow.episode_id,
            FactRow.version,
            FactRow.type,
            type_coerce(FactRow.business_date, String),
            FactRow.data,
            FactRow.recorded_from,
            FactRow.recorded_to,
            FactRow.organisation,
        ).where(FactRow.episode_id.in_(chunk), FactRow.type.not_in(CORRECTIONS))
        facts: dict[str, list[Any]] = defaultdict(list)
        for row in connection.execute(query):
            facts[row[0]].append(row)
        # The counts kept per period that these episodes' current rows, before and after,
        # could be in (period_counts.py).
        earliest: dict[str, int] = {}
        S = EpisodeSummary
        before = select(S.organisation, S.opened_on).where(
            S.episode_id.in_(chunk), S.recorded_to.is_(None)
        )
        for organisation, opened_on in connection.execute(before):
            earliest[organisation] = min(opened_on, earliest.get(organisation, opened_on))
        for table in TABLES:
            connection.execute(delete(table).where(table.episode_id.in_(chunk)))
        summaries, spans, plans, profiles, tops = [], [], [], [], []
        for episode_id, rows in facts.items():
            for recorded_from, recorded_to, summary in history(episode_id, rows):
                columns, intervals, agreed, profiled, interviews = summary
                when = {
                    "episode_id": episode_id,
                    "recorded_from": recorded_from,
                    "recorded_to": recorded_to,
                }
                summaries.append({**when, **dict(zip(COLUMNS, columns, strict=True))})
                spans += [
                    {**when, "organisation": columns[0], "started_on": s, "ended_on": e}
                    for s, e in intervals
                ]
                plans += [
                    {**when, "seq": n, "agreed_on": on, "next_review_on": review}
                    for n, (on, review) in enumerate(agreed)
                ]
                profiles += [
                    {**when, "seq": n, "profiled_on": on, "substance_group": group}
                    for n, (on, group) in enumerate(profiled)
                ]
                tops += [
                    {
                        **when,
                        "organisation": columns[0],
                        "seq": n,
                        "interviewed_on": on,
                        "stage": stage,
                        "opiates_days": opiates,
                        "crack_days": crack,
                    }
                    for n, (on, stage, opiates, crack) in enumerate(interviews)
                ]
        for written in summaries:
            if written["recorded_to"] is None:
                organisation, opened_on = written["organisation"], written["opened_on"]
                earliest[organisation] = min(opened_on, earliest.get(organisation, opened_on))
        for model, rows in zip(TABLES, (summaries, spans, plans, profiles, tops), strict=True):
            if rows and backfill:
                held = {c["name"] for c in inspect(connection).get_columns(model.__tablename__)}
                rows = [{k: v for k, v in row.items() if k in held} for row in rows]
            if rows:
                connection.execute(insert(model), rows)
        if not backfill:
            period_counts.invalidate(connection, earliest)


def refresh_all(connection: Connection) -> None:
    """Every episode's summary history (a migration's backfill)."""
    ids = [row[0] for row in connection.execute(select(FactRow.episode_id).distinct())]
    refresh(connection, ids, backfill=True)
