"""GET /worklist: what needs doing, per organisation and keyworker (DESIGN "Worklist"). Each
item names the rule that produced it, its due date and the episode (a handover not accepted
names its referral: there is no episode yet); it is recomputed on every read, so it is gone
as soon as the event that answers it has been followed.

Access and audit as the caseload: staff and administrators of their own organisation; each
row read is audited.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection, and_, or_, select

from services.common.access import Purpose, log_of, record
from services.common.auth import CurrentCaller
from services.common.codes import HandoverKind
from services.common.schemas import Day, Moment, OrganisationCode
from services.common.web import problems
from services.reporting import consents, queries
from services.reporting.aggregates import S
from services.reporting.api import engine_of, own_episodes
from services.reporting.models import EpisodeKeyworker, FactRow, ReferralRow, SummaryTop
from services.reporting.top import top_due_on
from services.reporting.views import EpisodeView

REVIEW_AHEAD = TOP_AHEAD = 7
WAITING_DAYS = (21, 42)
TRIAGE_DAYS = 5
HANDOVER_DAYS = 7
CONSENT_AHEAD = 30

Rule = Literal[
    "review_due",
    "review_overdue",
    "top_due",
    "top_overdue",
    "waiting_21_days",
    "waiting_42_days",
    "not_triaged_5_days",
    "handover_not_accepted_7_days",
    "consent_ending_30_days",
]


class WorkItem(BaseModel):
    rule: Rule = Field(description="The rule that produced the item (docs/outcomes.md).")
    due_on: date = Field(description="When it fell or falls due.")
    overdue: bool = Field(description="due_on is before the date of asking.")
    episode_id: str | None = Field(description="The episode (none for a handover not accepted).")
    referral_id: str | None
    client_id: str
    keyworker: str | None


class WorklistOut(BaseModel):
    organisation: str
    as_at: date
    known_at: datetime | None
    keyworker: str | None
    due_before: date | None
    items: list[WorkItem] = Field(description="Earliest due first.")


@dataclass(frozen=True)
class Handover:
    referral_id: str
    client_id: str
    release_date: date


def item(rule: Rule, due_on: date, day: date, e: EpisodeView) -> WorkItem:
    return WorkItem(
        rule=rule,
        due_on=due_on,
        overdue=due_on < day,
        episode_id=e.episode_id,
        referral_id=e.referral_id,
        client_id=e.client_id,
        keyworker=e.keyworker,
    )


def top_items(e: EpisodeView, day: date) -> list[WorkItem]:
    top = top_due_on(e, day)
    if top is None or top > day + timedelta(days=TOP_AHEAD):
        return []
    return [item("top_overdue" if top < day else "top_due", top, day, e)]


def exit_top_items(
    connection: Connection,
    organisation: str,
    knowledge: queries.Knowledge,
    day: date,
    only: Any = None,
) -> list[WorkItem]:
    """The exit TOP falls due at discharge, so it is the one item of an episode discharged
    before the day, until an exit TOP (or any TOP on or after the discharge) is recorded: the
    episodes exit_top_candidates finds, due on their discharge date (top_schedule.next_top_due's
    rule for a discharged episode, read on the summaries; an episode discharged long ago stays
    on the list, so none is folded: the keyworker is read from its openings and assignments)."""
    query = exit_top_candidates(organisation, knowledge, day)
    if only is not None:  # one keyworker's: looked up by episode, not the whole organisation's
        query = query.where(S.episode_id.in_(only))
    due = {str(e): (str(r) if r else None, str(c), d) for e, r, c, d in connection.execute(query)}
    keyworkers = keyworkers_of(connection, organisation, knowledge, sorted(due))
    return [
        WorkItem(
            rule="top_overdue",
            due_on=date.fromordinal(discharged_on),
            overdue=True,  # discharged before the day
            episode_id=episode_id,
            referral_id=referral_id,
            client_id=client_id,
            keyworker=keyworkers[episode_id],
        )
        for episode_id, (referral_id, client_id, discharged_on) in due.items()
        if episode_id in keyworkers
    ]


def keyworkers_of(
    connection: Connection, organisation: str, knowledge: queries.Knowledge, episodes: list[str]
) -> dict[str, str | None]:
    """Each episode's keyworker as the fold reads it (views.fold_episode): its opening's, then
    each assignment's in order; an episode whose opening is not in force is absent."""
    found: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for at in range(0, len(episodes), 500):
        query = select(FactRow.episode_id, FactRow.version, FactRow.type, FactRow.data).where(
            FactRow.episode_id.in_(episodes[at : at + 500]),
            FactRow.organisation == organisation,
            FactRow.type.in_(("EpisodeOpened", "KeyworkerAssigned")),
            queries.effective(knowledge),
        )
        for episode_id, version, kind, data in connection.execute(query):
            found.setdefault(str(episode_id), []).append((version, kind, json.loads(data)))
    keyworkers = {}
    for episode_id, rows in found.items():
        rows.sort(key=lambda row: row[0])
        if rows[0][1] == "EpisodeOpened":
            keyworkers[episode_id] = rows[-1][2].get("keyworker")
    return keyworkers


def exit_top_candidates(organisation: str, knowledge: queries.Knowledge, day: date) -> Any:
    """The ids of the organisation's episodes discharged before the day, in the TOP cycle (a
    structured intervention or a TOP by the day), with no exit TOP and no TOP on or after the
    discharge by the day: those whose exit TOP is due (top_schedule.next_top_due)."""
    T, ordinal = SummaryTop, day.toordinal()

    def tops(*conditions: Any) -> Any:
        return queries.has_row(
            select(T.id).where(queries.children(T), T.interviewed_on <= ordinal, *conditions)
        )

    return select(S.episode_id, S.referral_id, S.client_id, S.discharged_on).where(
        S.organisation == organisation,
        queries.known(S.recorded_from, S.recorded_to, knowledge),
        S.discharged_on < ordinal,
        or_(S.first_structured_on <= ordinal, tops()),
        ~tops(or_(T.stage == "exit", T.interviewed_on >= S.discharged_on)),
    )


def keyworker_episodes(organisation: str, keyworker: str) -> Any:
    """A select of the ids of the organisation's episodes any of whose openings or keyworker
    assignments ever named the keyworker (episode_keyworkers): every episode the keyworker
    holds as known at any time and as at any day is among them (the fold then decides whose
    each is). A select, not the ids: a keyworker has named ~600 episodes at 100,000 clients,
    and binding them as values cost more than the look-up."""
    K = EpisodeKeyworker
    return select(K.episode_id).where(K.organisation == organisation, K.keyworker == keyworker)


def episode_items(e: EpisodeView, day: date) -> list[WorkItem]:
    """The items of one episode open on the day, at most one per kind."""
    items = []
    latest = e.latest_plan(day)
    review = latest[1] if latest else None
    if review is not None and review <= day + timedelta(days=REVIEW_AHEAD):
        items.append(item("review_overdue" if review < day else "review_due", review, day, e))
    items += top_items(e, day)
    if e.waiting_on(day):
        reached = [n for n in WAITING_DAYS if (day - e.referral_date).days >= n]
        if reached:
            days = max(reached)
            rule: Rule = "waiting_42_days" if days == 42 else "waiting_21_days"
            items.append(item(rule, e.referral_date + timedelta(days=days), day, e))
    triaged = e.triaged_on is not None and e.triaged_on <= day
    triage_due = e.referral_date + timedelta(days=TRIAGE_DAYS)
    if not triaged and triage_due < day:
        items.append(item("not_triaged_5_days", triage_due, day, e))
    return items


def open_handovers(
    connection: Connection, organisation: str, knowledge: queries.Knowledge, day: date
) -> list[Handover]:
    """CARAT -> CJIT handovers to the organisation, received by the day, neither accepted nor
    declined (nor withdrawn) by it as known, whose release date + 7 is before the day."""
    known_at = knowledge.known_at

    def not_yet(on: Any, recorded_at: Any) -> Any:
        later = on > day
        if known_at is not None:
            later = or_(later, recorded_at > known_at)
        return or_(on.is_(None), later)

    query = select(ReferralRow.referral_id, ReferralRow.client_id, ReferralRow.release_date).where(
        ReferralRow.receiving_organisation == organisation,
        ReferralRow.handover_kind == HandoverKind.CARAT_TO_CJIT.value,
        ReferralRow.release_date < day - timedelta(days=HANDOVER_DAYS),
        ReferralRow.referral_date <= day,
        and_(
            not_yet(ReferralRow.accepted_on, ReferralRow.accepted_recorded_at),
            not_yet(ReferralRow.closed_on, ReferralRow.closed_recorded_at),
        ),
    )
    if known_at is not None:
        query = query.where(ReferralRow.recorded_at <= known_at)
    return [Handover(str(r), str(c), queries.as_date(d)) for r, c, d in connection.execute(query)]


def consent_items(
    connection: Connection,
    organisation: str,
    knowledge: queries.Knowledge,
    day: date,
    episodes: list[EpisodeView],
) -> list[WorkItem]:
    """Consents held by the organisation ending from the day to the day + 30, each named by
    the organisation's episode from that referral when it has one."""
    by_referral = {e.referral_id: e for e in episodes if e.referral_id}
    items = []
    for referral_id, client_id, ends_on in consents.ending(
        connection, organisation, knowledge, day, CONSENT_AHEAD
    ):
        e = by_referral.get(referral_id)
        items.append(
            WorkItem(
                rule="consent_ending_30_days",
                due_on=ends_on,
                overdue=False,
                episode_id=e.episode_id if e else None,
                referral_id=referral_id,
                client_id=client_id,
                keyworker=e.keyworker if e else None,
            )
        )
    return items


def handover_item(h: Handover, day: date) -> WorkItem:
    due = h.release_date + timedelta(days=HANDOVER_DAYS)
    return WorkItem(
        rule="handover_not_accepted_7_days",
        due_on=due,
        overdue=due < day,
        episode_id=None,
        referral_id=h.referral_id,
        client_id=h.client_id,
        keyworker=None,
    )


router = APIRouter(tags=["caseloads"])
AsAt = Annotated[Day | None, Query(description="Business date: only events on or before it.")]
KnownAt = Annotated[Moment | None, Query(description="Recording time: only what was known then.")]


@router.get("/worklist", response_model=WorklistOut, responses=problems(401, 403, 422))
def read_worklist(
    request: Request,
    caller: CurrentCaller,
    purpose: Purpose,
    organisation: OrganisationCode | None = None,
    keyworker: Annotated[str | None, Query(max_length=128)] = None,
    due_before: Annotated[
        Day | None, Query(description="Only items due on or before this date.")
    ] = None,
    as_at: AsAt = None,
    known_at: KnownAt = None,
) -> WorklistOut:
    """What needs doing on `as_at` (default today) for your organisation, or one keyworker:
    review due within 7 days or overdue; TOP due within 7 days or overdue (the exit TOP of a
    discharged episode too); waiting 21 and 42
    days; not triaged 5 days after referral; CARAT handover not accepted 7 days after release
    (organisation-wide: not yet anyone's); a consent your organisation holds ending within 30
    days. Earliest due first. Each row read is audited."""
    named = None
    if keyworker is not None:  # only the episodes that ever named them are folded
        named = keyworker_episodes(caller.organisation, keyworker)
    episodes, day = own_episodes(request, caller, purpose, organisation, as_at, known_at, named)
    items = [i for e in episodes for i in episode_items(e, day)]
    knowledge = queries.Knowledge(as_at, known_at)
    with engine_of(request).connect() as connection:
        items += consent_items(connection, caller.organisation, knowledge, day, episodes)
        items += exit_top_items(connection, caller.organisation, knowledge, day, named)
        if keyworker is None:
            handovers = open_handovers(connection, caller.organisation, knowledge, day)
            items += [handover_item(h, day) for h in handovers]
    if keyworker is not None:
        items = [i for i in items if i.keyworker == keyworker]
    if due_before is not None:
        items = [i for i in items if i.due_on <= due_before]
    items.sort(key=lambda i: (i.due_on, i.rule, i.episode_id or i.referral_id or ""))
    if items:
        rows = [(i.episode_id or i.referral_id, UUID(i.client_id)) for i in items]
        record(log_of(request), caller, purpose, "worklist-row", rows)
    return WorklistOut(
        organisation=caller.organisation,
        as_at=day,
        known_at=known_at,
        keyworker=keyworker,
        due_before=due_before,
        items=items,
    )
