"""The national outcome KPIs (DESIGN "The national return, outcomes and the day's work"), each
a direct reading of its definition; docs/outcomes.md works through the readings chosen.

Successful completion by substance group, prison to community continuity, TOP compliance and
TOP change. (Without re-presentation is in kpis.py and is reused as it is.)
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, String, or_, select, type_coerce

from services.common.codes import OPIATES, Substance
from services.reporting import persons, queries
from services.reporting.kpis import Period, count, share
from services.reporting.models import FactRow, ReferralRow
from services.reporting.views import EpisodeView

GROUPS = ("opiate", "non_opiate", "alcohol", "non_opiate_and_alcohol", "not_stated")
CONTINUITY_DAYS = 21
TOP_COMPLIANCE_DAYS = 182
OPIATE_CODES = frozenset(s.value for s in OPIATES)
ALCOHOL = Substance.ALCOHOL.value


def substance_group(e: EpisodeView, end: date) -> str:
    """From the episode's latest substance profile dated on or before the period end."""
    profiles = [p for p in e.substance_profiles if p[0] <= end]
    if not profiles:
        return "not_stated"
    return group_of(max(profiles, key=lambda p: p[0])[1])


def group_of(named: list[str]) -> str:
    """The substance group of a profile's problem substances."""
    substances = set(named)
    drugs = substances - {ALCOHOL}
    if substances & OPIATE_CODES:
        return "opiate"
    if drugs and ALCOHOL in substances:
        return "non_opiate_and_alcohol"
    return "non_opiate" if drugs else "alcohol"


def in_treatment(e: EpisodeView, period: Period) -> bool:
    return any(
        i.structured and i.active_during(period.start, period.end) for i in e.interventions.values()
    )


def successful_completion(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    treated = [e for e in episodes if in_treatment(e, period)]
    by_group: dict[str, list[EpisodeView]] = {g: [] for g in GROUPS}
    for e in treated:
        by_group[substance_group(e, period.end)].append(e)

    def completions(group: list[EpisodeView], of: str) -> dict[str, Any]:
        done = sum(
            e.planned_exit
            and e.discharged_on is not None
            and period.start <= e.discharged_on <= period.end
            for e in group
        )
        return share(
            done,
            "discharged in the period with a planned exit",
            len(group),
            f"episodes in treatment in the period{of}",
        )

    return {
        "all": completions(treated, ""),
        **{g: completions(by_group[g], f", substance group {g}") for g in GROUPS},
    }


@dataclass(frozen=True)
class Release:
    client_id: str
    release_date: date


def releases(
    connection: Connection, scope: queries.Scope, knowledge: queries.Knowledge, period: Period
) -> list[Release]:
    """CARAT -> CJIT handovers with a release date in the period, for the receiving CJIT and
    the CARAT team that handed over alike."""
    statement = releases_statement(*queries.kind_of(scope, knowledge))
    values = queries.question_values(scope, knowledge, period.start, period.end)
    found = [Release(str(c), queries.as_date(d)) for c, d in connection.execute(statement, values)]
    if scope.area is not None:
        areas = queries.areas(connection, {r.client_id for r in found})
        found = [r for r in found if areas.get(r.client_id, "unknown") == scope.area]
    return found


@cache
def releases_statement(*kind: bool) -> Any:
    scope, knowledge, start, end = queries.bound_question(*kind)
    R = ReferralRow
    query = select(R.client_id, R.release_date).where(
        R.handover_kind == "carat_to_cjit", R.release_date.between(start, end)
    )
    query = queries.known_referrals(query, knowledge)
    if scope.organisation is not None:
        query = query.where(
            or_(
                R.receiving_organisation == scope.organisation,
                R.referring_organisation == scope.organisation,
            )
        )
    return query


def structured_starts_by_person(
    connection: Connection,
    knowledge: queries.Knowledge,
    start: date,
    end: date,
    of_persons: set[str] | None = None,
) -> dict[str, list[date]]:
    """Structured intervention starts from start to end, at any organisation, by person; with
    `of_persons`, only theirs are looked up (by the episodes of their registrations), not
    every start in England."""
    found_rows: list[tuple[str, date, dict[str, Any]]]
    if of_persons is None:
        query = select(
            FactRow.episode_id, type_coerce(FactRow.business_date, String), FactRow.data
        ).where(
            FactRow.type == "InterventionStarted",
            queries.effective(knowledge),
            FactRow.business_date.between(start, end),
        )
        found_rows = [
            (str(e), queries.as_date(on), orjson.loads(data))
            for e, on, data in connection.execute(query)
        ]
    else:  # by their episodes, the dates checked here (queries.facts_of_type)
        episodes = sorted(persons.episodes_of(connection, of_persons))
        found_rows = [
            (episode, on, data)
            for episode, on, data in queries.facts_of_type(
                connection, "InterventionStarted", knowledge, episodes
            )
            if start <= on <= end
        ]
    rows = [(episode, on) for episode, on, data in found_rows if int(data["tier"]) in (3, 4)]
    clients = queries.client_of_episodes(connection, {episode for episode, _ in rows})
    person_of = persons.persons_of(connection, set(clients.values()), knowledge)
    found: dict[str, list[date]] = defaultdict(list)
    for episode, on in rows:
        if episode in clients:
            found[person_of[clients[episode]]].append(on)
    return found


def prison_to_community_continuity(
    handovers: list[Release],
    person_of: dict[str, str],
    starts: dict[str, list[date]],
    asked: date,
) -> dict[str, Any]:
    window = timedelta(days=CONTINUITY_DAYS)
    closed = [h for h in handovers if h.release_date + window <= asked]
    continued = sum(
        any(
            h.release_date <= on <= h.release_date + window
            for on in starts.get(person_of.get(h.client_id, h.client_id), [])
        )
        for h in closed
    )
    return share(
        continued,
        "whose client started a structured intervention (any organisation) within 21 days of "
        "release",
        len(closed),
        "CARAT handovers with a release date in the period whose 21 days had passed by the date "
        "of asking",
    )


def top_compliance(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    since = period.end - timedelta(days=TOP_COMPLIANCE_DAYS)
    due = [
        e
        for e in episodes
        if any(i.structured and i.active_on(period.end) for i in e.interventions.values())
        and (first := e.first_structured_start) is not None
        and first <= since
    ]
    reviewed = sum(
        any(stage == "review" and since <= on <= period.end for on, stage, _ in e.tops) for e in due
    )
    return share(
        reviewed,
        "with a review TOP dated in the 182 days to the period end",
        len(due),
        "episodes with a structured intervention active at the period end that started 182 "
        "days or more before it",
    )


def days_used(value: Any) -> int | None:
    if isinstance(value, list):
        return sum(value)
    return value if isinstance(value, int) else None


def top_change(episodes: list[EpisodeView], period: Period) -> dict[str, Any]:
    """Of episodes with a start and a review TOP dated in the period, comparing the start TOP
    with the latest review TOP: abstinent (0 days) at review among those using at start."""
    pairs = []
    for e in episodes:
        in_period = [t for t in e.tops if period.start <= t[0] <= period.end]
        starts = [t for t in in_period if t[1] == "start"]
        reviews = [t for t in in_period if t[1] == "review"]
        if starts and reviews:
            start = min(starts, key=lambda t: t[0])
            pairs.append((start[2], max(reviews, key=lambda t: t[0])[2]))

    def abstinent(substance: str) -> dict[str, Any]:
        using = [(s, r) for s, r in pairs if (days_used(s.get(substance)) or 0) > 0]
        answered = [(s, r) for s, r in using if days_used(r.get(substance)) is not None]
        stopped = sum(days_used(r.get(substance)) == 0 for _, r in answered)
        return share(
            stopped,
            f"using no {substance} (0 days) at review",
            len(answered),
            f"using {substance} at start (review answered), start and review TOP in the period",
        )

    return {
        "pairs": count(len(pairs), "episodes with a start and a review TOP in the period"),
        "opiates": abstinent("opiates"),
        "crack": abstinent("crack"),
    }


def outcome_kpis(
    connection: Connection,
    scope: queries.Scope,
    knowledge: queries.Knowledge,
    episodes: list[EpisodeView],
    period: Period,
    asked: date,
) -> dict[str, Any]:
    handovers = releases(connection, scope, knowledge, period)
    person_of = persons.persons_of(connection, {h.client_id for h in handovers}, knowledge)
    last = min(period.end + timedelta(days=CONTINUITY_DAYS), asked)
    starts = structured_starts_by_person(connection, knowledge, period.start, last)
    return {
        "successful_completion": successful_completion(episodes, period),
        "prison_to_community_continuity": prison_to_community_continuity(
            handovers, person_of, starts, asked
        ),
        "top_compliance": top_compliance(episodes, period),
        "top_change": top_change(episodes, period),
    }
