"""Reading the read models for a scope, "as at" a business date and "as known at" a time."""

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Connection, String, and_, bindparam, func, or_, select, type_coerce, union

from services.reporting.models import ClientArea, EpisodeSummary, FactRow, ReferralRow
from services.reporting.views import EpisodeView, ReferralView, fold_episode

CORRECTIONS = ("EventRecordedInError", "EventCorrected")


@dataclass(frozen=True)
class Scope:
    """Which records: one organisation, one area (postcode area), or everything."""

    organisation: str | None = None
    area: str | None = None


def as_date(value: Any) -> date:
    """A date column read as text (SQLite) or as a date (PostgreSQL)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def utc(moment: datetime) -> datetime:
    """Aware, in UTC: recording times are stored in UTC (SQLite returns them naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Knowledge:
    """As at a business date (events on or before it) and as known at a recording time
    (a time without an offset is taken as UTC)."""

    as_at: date | None = None
    known_at: datetime | None = None

    def __post_init__(self) -> None:
        # A bind parameter stands for known_at in a statement kept for every question of its
        # kind (aggregates.bound_frame).
        if isinstance(self.known_at, datetime):
            object.__setattr__(self, "known_at", utc(self.known_at))


def known(column_from: Any, column_to: Any, knowledge: Knowledge) -> Any:
    if knowledge.known_at is None:
        return column_to.is_(None)
    return and_(
        column_from <= knowledge.known_at, or_(column_to.is_(None), column_to > knowledge.known_at)
    )


def question_values(
    scope: Scope, knowledge: Knowledge, start: date = date.min, end: date = date.max
) -> dict[str, Any]:
    """The bind parameters of a statement kept per kind of question (`bound_question`)."""
    return {
        "organisation": scope.organisation,
        "area": scope.area,
        "as_at": knowledge.as_at,
        "known_at": knowledge.known_at,
        "start": start,
        "end": end,
    }


def kind_of(scope: Scope, knowledge: Knowledge) -> tuple[bool, bool, bool, bool]:
    """What a kept statement's shape depends on: organisation, area, as_at, known_at given."""
    return (
        scope.organisation is not None,
        scope.area is not None,
        knowledge.as_at is not None,
        knowledge.known_at is not None,
    )


def bound_question(
    organisation: bool, area: bool, as_at: bool, known_at: bool
) -> tuple[Scope, Knowledge, Any, Any]:
    """A scope, knowledge, start and end of bind parameters (question_values), to build a
    statement once per kind of question: building one for each question took longer than
    running it for one organisation. Each parameter takes the type of the column it is
    compared with."""
    scope = Scope(
        cast(str, bindparam("organisation")) if organisation else None,
        cast(str, bindparam("area")) if area else None,
    )
    knowledge = Knowledge(
        cast(date, bindparam("as_at")) if as_at else None,
        cast(datetime, bindparam("known_at")) if known_at else None,
    )
    return scope, knowledge, bindparam("start"), bindparam("end")


def has_row(query: Any) -> Any:
    """Whether a correlated query (of a non-null column) finds a row for the outer row, looked
    up for each row through its index. Written as EXISTS, PostgreSQL may instead read every row
    the subquery could find for any outer row and hash them (a hashed SubPlan): one
    organisation's question read every review TOP in England that way."""
    return query.limit(1).scalar_subquery().is_not(None)


def children(table: Any, summary: Any = EpisodeSummary) -> Any:
    """The child rows (spans, plans, profiles, TOPs) of an episode summary row (`summary`: its
    episode_id and recorded_from): written with the row's own span of recording time
    (summaries.refresh), so those of its episode with its `recorded_from`, whichever knowledge
    the row is in force in (ix_*_episode)."""
    return and_(
        table.episode_id == summary.episode_id, table.recorded_from == summary.recorded_from
    )


def summaries_in_force(knowledge: Knowledge, *also: Any) -> list[Any]:
    """The episode summary rows in force as known at, with `also` (conditions on the row) in
    each branch: current rows are read through the partial index of current rows
    (ix_summaries_now, which holds every column the KPIs read), rows superseded after
    `known_at` through ix_summaries_superseded. Written as one range filter, SQLite read every
    version (England-wide at 100,000 clients, the quarter's rows 430 -> 140 ms)."""
    S = EpisodeSummary
    if knowledge.known_at is None:
        return [S.recorded_to.is_(None), *also]
    return [
        S.recorded_from <= knowledge.known_at,
        or_(
            and_(S.recorded_to.is_(None), *also),
            and_(S.recorded_to > knowledge.known_at, *also),
        ),
    ]


def areas(connection: Connection, client_ids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    ids = sorted(client_ids)
    for start in range(0, len(ids), 500):
        query = select(ClientArea.client_id, ClientArea.area).where(
            ClientArea.client_id.in_(ids[start : start + 500])
        )
        found.update((str(c), a) for c, a in connection.execute(query))
    return found


def alive(scope: Scope, knowledge: Knowledge, start: date, end: date, only: Any = None) -> Any:
    """The ids of episodes that matter for [start, end]: opened on or before its end and
    not discharged before its start (as known, as at); with `only`, among those only."""

    def fact_ids(kind: str, *conditions: Any) -> Any:
        query = select(FactRow.episode_id).where(
            FactRow.type == kind, effective(knowledge), *conditions
        )
        if scope.organisation is not None:
            query = query.where(FactRow.organisation == scope.organisation)
        if only is not None:  # not every episode of the scope
            query = query.where(FactRow.episode_id.in_(only))
        return query

    if only is not None:
        return alive_among(knowledge, start, end, only)
    opened = fact_ids("EpisodeOpened", FactRow.business_date <= end)
    return opened.except_(fact_ids("Discharged", FactRow.business_date < start))


def alive_among(knowledge: Knowledge, start: date, end: date, only: Any) -> Any:
    """alive() of a few named episodes (one keyworker's), read on their summaries: opened on
    or before the end, as at, and not discharged before the start, as at. The summary's
    opening and discharge dates are the fold's (summaries.py), and as known at T it is the row
    in force then. At 100,000 clients, one keyworker's ~300 episodes: 5.7 -> ~1 ms against the
    facts. The scope's other alive() keeps reading the facts: the KPIs' folded oracle
    (tests/integration/test_kpi_aggregates.py) does not rest on the summaries it checks."""
    S = EpisodeSummary
    upto = min(end, knowledge.as_at) if knowledge.as_at is not None else end
    discharged_before = S.discharged_on < start.toordinal()
    if knowledge.as_at is not None:
        discharged_before = and_(discharged_before, S.discharged_on <= knowledge.as_at.toordinal())
    return select(S.episode_id).where(
        S.episode_id.in_(only),
        *summaries_in_force(knowledge),
        S.opened_on <= upto.toordinal(),
        or_(S.discharged_on.is_(None), ~discharged_before),
    )


def effective(knowledge: Knowledge) -> Any:
    """The fact rows in force as known at and as at."""
    condition = known(FactRow.recorded_from, FactRow.recorded_to, knowledge)
    if knowledge.as_at is not None:
        condition = and_(condition, FactRow.business_date <= knowledge.as_at)
    return condition


def episodes(
    connection: Connection,
    scope: Scope,
    knowledges: Sequence[Knowledge],
    start: date = date.min,
    end: date = date.max,
    only: Any = None,
) -> list[list[EpisodeView]]:
    """For each knowledge, the episodes alive during [start, end] in scope, folded from
    their effective facts; with `only` (a select of episode ids), only those among them.

    One query reads the facts for every knowledge at once, and an episode whose rows are
    the same under two knowledges is folded once: asking "as known at T" and "as known
    now" together costs little more than one of them.
    """
    # Only the alive episodes' facts are looked up, not every fact of every episode opened
    # before the end, filtered afterwards.
    compounds = [alive(scope, k, start, end, only) for k in knowledges]
    alive_ids = compounds[0]
    if len(compounds) > 1:
        alive_ids = union(*(select(c.subquery().c.episode_id) for c in compounds))
    conditions = [effective(k) for k in knowledges]
    # Asking under several knowledges, each row says which of them it is in force for.
    in_force = conditions if len(conditions) > 1 else []
    # The date comes back as text and is parsed below: per-row type processing is most of
    # the cost of reading thousands of facts.
    query = select(
        FactRow.episode_id,
        FactRow.version,
        FactRow.type,
        type_coerce(FactRow.business_date, String),
        FactRow.data,
        FactRow.organisation,
        *in_force,
    ).where(
        FactRow.type.not_in(CORRECTIONS),
        or_(*conditions),
        FactRow.episode_id.in_(alive_ids),
    )
    if scope.organisation is not None:
        query = query.where(FactRow.organisation == scope.organisation)
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in connection.execute(query).all():
        grouped[row[0]].append(row)
    found: list[list[EpisodeView]] = [[] for _ in knowledges]

    def keep(views: list[EpisodeView], view: EpisodeView | None) -> None:
        """Alive under this knowledge: the query read the episodes alive under any."""
        if view is None or view.opened_on > end:
            return
        if view.discharged_on is None or view.discharged_on >= start:
            views.append(view)

    for rows in grouped.values():
        rows.sort(key=itemgetter(1))
        if not in_force:
            keep(found[0], fold(rows))
            continue
        folded: dict[tuple[int, ...], EpisodeView | None] = {}
        for i, views in enumerate(found):
            chosen = tuple(j for j, row in enumerate(rows) if row[6 + i])
            if chosen not in folded:
                folded[chosen] = fold([rows[j] for j in chosen])
            keep(views, folded[chosen])
    if scope.area is not None:
        client_ids = {v.client_id for views in found for v in views}
        client_areas = areas(connection, client_ids)
        found = [
            [v for v in views if client_areas.get(v.client_id, "unknown") == scope.area]
            for views in found
        ]
    return found


def fold(facts: list[Any]) -> EpisodeView | None:
    """An episode from its fact rows (episode id, version, type, date, data, organisation)."""
    if not facts:
        return None
    rows = [(row[1], row[2], as_date(row[3]), orjson.loads(row[4])) for row in facts]
    return fold_episode(rows, facts[0][0], facts[0][5])


def referrals(
    connection: Connection,
    scope: Scope,
    knowledge: Knowledge,
    start: date = date.min,
    end: date = date.max,
) -> list[ReferralView]:
    """Referrals received in [start, end] in scope."""
    [statement] = referral_statements("received", *kind_of(scope, knowledge))
    values = question_values(scope, knowledge, start, end)
    return referral_views(connection, statement, values, scope, knowledge)


def referrals_by_source(
    connection: Connection, scope: Scope, knowledge: Knowledge, start: date, end: date
) -> list[tuple[str, str]]:
    """(referral id, source) of the referrals `referrals` reads, without building each."""
    statement = referrals_by_source_statement(*kind_of(scope, knowledge))
    values = question_values(scope, knowledge, start, end)
    return [(str(r), str(source)) for r, source in connection.execute(statement, values)]


@cache
def referrals_by_source_statement(*kind: bool) -> Any:
    scope, knowledge, start, end = bound_question(*kind)
    R = ReferralRow
    query = select(R.referral_id, R.source).where(R.referral_date.between(start, end))
    if scope.organisation is not None:
        query = query.where(R.receiving_organisation == scope.organisation)
    query = known_referrals(query, knowledge)
    if scope.area is not None:
        query = query.outerjoin(ClientArea, ClientArea.client_id == R.client_id).where(
            func.coalesce(ClientArea.area, "unknown") == scope.area
        )
    return query


def handovers(
    connection: Connection,
    scope: Scope,
    knowledge: Knowledge,
    start: date = date.min,
    end: date = date.max,
) -> list[ReferralView]:
    """CARAT -> CJIT handovers made in [start, end] in scope: for an organisation, those it
    received (a CJIT) and those it made (the CARAT team that handed over) alike."""
    values = question_values(scope, knowledge, start, end)
    return [
        view
        for statement in referral_statements("handovers", *kind_of(scope, knowledge))
        for view in referral_views(connection, statement, values, scope, knowledge)
    ]


@cache
def referral_statements(which: str, *kind: bool) -> list[Any]:
    """The statements reading the referrals (`which`: "received" in the period, or
    "handovers" made in it) of a kind of question (bound_question)."""
    scope, knowledge, start, end = bound_question(*kind)
    R = ReferralRow
    query = select(R).where(R.referral_date.between(start, end))
    if which == "received":
        if scope.organisation is not None:
            query = query.where(R.receiving_organisation == scope.organisation)
        return [known_referrals(query, knowledge)]
    query = query.where(R.handover_kind == "carat_to_cjit")
    if scope.organisation is None:
        return [known_referrals(query, knowledge)]
    # Those it received, then those it made, each through its own index by organisation and
    # date: asked as one OR, SQLite read every handover ever made (at 100,000 clients, 19 ms
    # against 0.2 ms).
    received = query.where(R.receiving_organisation == scope.organisation)
    made = query.where(
        R.referring_organisation == scope.organisation,
        R.receiving_organisation != scope.organisation,
    )
    return [known_referrals(received, knowledge), known_referrals(made, knowledge)]


def known_referrals(query: Any, knowledge: Knowledge) -> Any:
    """The referrals of a query recorded by known_at and dated by as_at."""
    if knowledge.known_at is not None:
        query = query.where(ReferralRow.recorded_at <= knowledge.known_at)
    if knowledge.as_at is not None:
        query = query.where(ReferralRow.referral_date <= knowledge.as_at)
    return query


def referral_views(
    connection: Connection,
    statement: Any,
    values: dict[str, Any],
    scope: Scope,
    knowledge: Knowledge,
) -> list[ReferralView]:
    """The referrals a statement of referral_statements selects, as known at and as at, in
    the scope's area."""
    views = []
    for row in connection.execute(statement, values):
        accepted = row.accepted_on
        if accepted is not None and (
            (knowledge.known_at is not None and utc(row.accepted_recorded_at) > knowledge.known_at)
            or (knowledge.as_at is not None and accepted > knowledge.as_at)
        ):
            accepted = None
        views.append(
            ReferralView(
                referral_id=str(row.referral_id),
                client_id=str(row.client_id),
                source=row.source,
                receiving_organisation=row.receiving_organisation,
                referral_date=row.referral_date,
                handover_kind=row.handover_kind,
                release_date=row.release_date,
                accepted_on=accepted,
            )
        )
    if scope.area is not None:
        client_areas = areas(connection, {v.client_id for v in views})
        views = [v for v in views if client_areas.get(v.client_id, "unknown") == scope.area]
    return views


def re_engagements(
    connection: Connection,
    scope: Scope,
    knowledge: Knowledge,
    start: date = date.min,
    end: date = date.max,
) -> list[tuple[date, str]]:
    """(date, re-engaging organisation) of the ReEngaged events in [start, end], in scope."""
    statement = re_engagements_statement(*kind_of(scope, knowledge))
    values = question_values(scope, knowledge, start, end)
    rows = [
        (on, json.loads(data), str(episode))
        for on, data, episode in connection.execute(statement, values)
    ]
    if scope.area is not None:
        clients = client_of_episodes(connection, {episode for _, _, episode in rows})
        client_areas = areas(connection, set(clients.values()))
        rows = [r for r in rows if client_areas.get(clients.get(r[2], ""), "unknown") == scope.area]
    return [
        (on, d["organisation"])
        for on, d, _ in rows
        if scope.organisation is None or d["organisation"] == scope.organisation
    ]


@cache
def re_engagements_statement(*kind: bool) -> Any:
    scope, knowledge, start, end = bound_question(*kind)
    query = select(FactRow.business_date, FactRow.data, FactRow.episode_id).where(
        FactRow.type == "ReEngaged",
        FactRow.business_date.between(start, end),
        known(FactRow.recorded_from, FactRow.recorded_to, knowledge),
    )
    if scope.organisation is not None:
        # Only the episode's own organisation re-engages it (journey api.re_engage), so the
        # fact's organisation is the re-engaging one: one organisation's are read through
        # ix_facts_org_type_date, not every one in England parsed and filtered below.
        query = query.where(FactRow.organisation == scope.organisation)
    if knowledge.as_at is not None:
        query = query.where(FactRow.business_date <= knowledge.as_at)
    return query


BATCH = 500  # values bound to one expanding parameter per statement


def batched(
    connection: Connection, statement: Any, name: str, ids: list[str], values: Any = None
) -> Iterator[Any]:
    """The rows of a statement whose expanding parameter `name` takes the ids, BATCH at a
    time (SQLite allows only so many parameters in one statement)."""
    for at in range(0, len(ids), BATCH):
        yield from connection.execute(statement, {**(values or {}), name: ids[at : at + BATCH]})


CLIENT_OF_EPISODES = select(FactRow.episode_id, FactRow.data).where(
    FactRow.version == 1, FactRow.episode_id.in_(bindparam("episodes", expanding=True))
)


def client_of_episodes(connection: Connection, episode_ids: set[str]) -> dict[str, str]:
    rows = batched(connection, CLIENT_OF_EPISODES, "episodes", sorted(episode_ids))
    return {str(e): json.loads(d)["client_id"] for e, d in rows}


def facts_of_type(
    connection: Connection, kind: str, knowledge: Knowledge, episodes: list[str]
) -> list[tuple[str, date, dict[str, Any]]]:
    """(episode id, business date, data) of these episodes' effective facts of one type.

    Looked up by episode (ix_facts_episode_version), the type compared as an expression no
    index serves: compared as the column, SQLite ranged over every fact of the type
    (ix_facts_type_date) for each batch of episodes."""
    statement = facts_of_type_statement(knowledge.as_at is not None, knowledge.known_at is not None)
    values = {"kind": kind, "as_at": knowledge.as_at, "known_at": knowledge.known_at}
    rows = batched(connection, statement, "episodes", episodes, values)
    return [(str(episode), as_date(on), orjson.loads(data)) for episode, on, data in rows]


@cache
def facts_of_type_statement(as_at: bool, known_at: bool) -> Any:
    _, knowledge, _, _ = bound_question(False, False, as_at, known_at)
    return select(
        FactRow.episode_id, type_coerce(FactRow.business_date, String), FactRow.data
    ).where(
        FactRow.episode_id.in_(bindparam("episodes", expanding=True)),
        FactRow.type.concat("") == bindparam("kind", type_=String),
        effective(knowledge),
    )


def has_episode_with(connection: Connection, organisation: str, client_id: object) -> bool:
    """Has the organisation an episode of this client (so its administrator may see reads)?"""
    query = (
        select(FactRow.id)
        .where(
            FactRow.version == 1,
            FactRow.organisation == organisation,
            FactRow.data.contains(str(client_id)),
        )
        .limit(1)
    )
    return connection.execute(query).first() is not None
