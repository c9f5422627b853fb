"""HTTP routes of the reporting service: KPIs, caseloads, the waiting list."""

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import Engine

from services.common.access import (
    READERS,
    Purpose,
    log_of,
    record,
    refuse,
    require_role,
    require_role_audited,
)
from services.common.auth import Caller, CurrentCaller, Role
from services.common.clock import today
from services.common.codes import SharingPurpose
from services.common.errors import ForbiddenError
from services.common.problems import Problem
from services.common.schemas import Day, Moment, OrganisationCode
from services.common.web import problems
from services.reporting import aggregates, outcome_aggregates, period_counts, persons, queries, top
from services.reporting.disclosure import RULES, disclose, period_problem
from services.reporting.follower import FEEDS, stored_positions
from services.reporting.kpis import Period
from services.reporting.schemas import CaseloadOut, KpisOut, WaitingListOut
from services.reporting.views import EpisodeView

router = APIRouter()
READ_PROBLEMS = problems(401, 403, 422)
AREA_PATTERN = r"^[A-Z]{1,2}$|^unknown$"
AsAt = Annotated[Day | None, Query(description="Business date: only events on or before it.")]
KnownAt = Annotated[
    Moment | None,
    Query(
        description="Recording time (ISO 8601, with offset): only what was recorded by then, "
        "corrections included. Reproduces a figure published at that time."
    ),
]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def applied_positions(request: Request) -> tuple[int, ...]:
    """How far each feed is applied (read once per request)."""
    return stored_positions(request.app.state.engine)


def feed_lag(request: Request, positions: tuple[int, ...] | None = None) -> dict[str, Any]:
    followers = request.app.state.followers
    applied = dict(zip(FEEDS, positions or applied_positions(request), strict=True))
    return {
        feed: {
            "applied_position": applied[feed],
            **{
                k: followers[feed].status()[k]
                for k in (
                    "upstream_last_position",
                    "positions_behind",
                    "last_contact",
                    "last_error",
                )
            },
        }
        for feed in FEEDS
    }


def not_modified(
    response: Response, if_none_match: str | None, positions: tuple[int, ...], *key: Any
) -> bool:
    """ETag from what the answer depends on: the question and how far the feeds are applied."""
    digest = hashlib.sha256(json.dumps([*key, positions], default=str).encode()).hexdigest()[:32]
    response.headers["ETag"] = f'"{digest}"'
    return if_none_match is not None and f'"{digest}"' in [
        t.strip() for t in if_none_match.split(",")
    ]


class FigureCache:
    """Figures for a question, kept until new events are applied: an answer depends only on
    the question and on the feed positions applied, and pollers mostly repeat a question."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    def get(self, key: Any) -> dict[str, Any] | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
            return self._entries.get(key)

    def put(self, key: Any, figures: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = figures
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


def kpi_figures(
    request: Request,
    scope: queries.Scope,
    period: Period,
    knowledges: list[queries.Knowledge],
    positions: tuple[int, ...],
) -> list[dict[str, Any]]:
    """The figures under each knowledge (as at, as known at), computed together."""
    keys = [(scope, period, knowledge, positions) for knowledge in knowledges]
    cache: FigureCache = request.app.state.figure_cache
    found = [cache.get(key) for key in keys]
    if any(figures is None for figures in found):
        computed = compute_figures(request, scope, period, knowledges)
        for key, figures in zip(keys, computed, strict=True):
            cache.put(key, figures)
        return computed
    return [figures for figures in found if figures is not None]


def monthly_kpi_figures(
    request: Request, scope: queries.Scope, months: list[Period], positions: tuple[int, ...]
) -> list[dict[str, Any]]:
    """kpi_figures for each month, as known now (the dashboard's trends)."""
    knowledge = queries.Knowledge()
    return [kpi_figures(request, scope, month, [knowledge], positions)[0] for month in months]


def compute_figures(
    request: Request, scope: queries.Scope, period: Period, knowledges: list[queries.Knowledge]
) -> list[dict[str, Any]]:
    """Every figure aggregated in SQL over the episode summaries: no episode is folded."""
    frames = aggregates.frames(scope, period, knowledges)
    with engine_of(request).connect() as connection:
        period_counts.preset(connection, frames, today())
        return [
            aggregates.figures(connection, scope, period, k, f)
            | {
                "without_re_presentation": persons.re_presentation(
                    connection, scope, period, k, k.as_at or today()
                )
            }
            | outcome_aggregates.figures(connection, scope, period, k, k.as_at or today(), f)
            # A frame per knowledge, sharing one episode pass (aggregates.frames).
            for k, f in zip(knowledges, frames, strict=True)
        ]


def differences(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            d
            for k in sorted(set(before) | set(after))
            for d in differences(before.get(k), after.get(k), f"{path}.{k}".lstrip("."))
        ]
    return [] if before == after else [{"figure": path, "known_at": before, "current": after}]


@router.get(
    "/kpis",
    tags=["kpis"],
    response_model=KpisOut,
    responses={**READ_PROBLEMS, 304: {"description": "Unchanged"}},
)
def read_kpis(
    request: Request,
    response: Response,
    caller: CurrentCaller,
    period_start: Day,
    period_end: Day,
    organisation: OrganisationCode | None = None,
    area: Annotated[
        str | None,
        Query(max_length=8, pattern=AREA_PATTERN, description="A postcode area, e.g. LS"),
    ] = None,
    as_at: AsAt = None,
    known_at: KnownAt = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Every KPI for a period (both ends included), for one organisation, one
    area (postcode area of the client), or overall. Each figure names what it counts and,
    for shares, its numerator and denominator. Providers, CJIT, CARAT and administrators see
    their own organisation's figures only, exactly.

    Commissioners may ask for any scope, under disclosure control (`disclosure_control` in
    the answer says so): the period is one calendar month, quarter or financial year and
    `as_at` a month end (422 `commissioner-period` otherwise); counts from 1 to 5 are
    "suppressed", others rounded to the nearest 5 (0 stays 0); a share's `percent` is a whole
    percentage of the unrounded counts, shown only when both are shown; medians and
    percentiles are shown over 10 or more values only, in whole days; a breakdown beside its
    total (referral sources) never has exactly one suppressed cell.

    With `known_at`, the figures are those known at that time, and `revisions` lists how
    each has changed since (late entries and corrections). `ETag`/`If-None-Match` give 304
    when nothing has changed; `feeds` says how far behind the feeds the figures are."""
    if period_end < period_start:
        raise Problem(
            422,
            "invalid-period",
            "Invalid period",
            "period_end is before period_start.",
            rule="invalid-period",
        )
    period = Period(period_start, period_end)
    organisation = figures_scope(caller, organisation, area, period, as_at)
    scope = queries.Scope(organisation=organisation, area=area)
    positions = applied_positions(request)
    if not_modified(
        response,
        if_none_match,
        positions,
        "kpis",
        caller.role.value,
        scope,
        period,
        as_at,
        known_at,
    ):
        return Response(status_code=304, headers={"ETag": response.headers["ETag"]})
    knowledges = [queries.Knowledge(as_at, known_at)]
    if known_at is not None:  # and as known now, for the revisions since
        knowledges.append(queries.Knowledge(as_at, None))
    figures, *current = kpi_figures(request, scope, period, knowledges, positions)
    commissioner = caller.role is Role.COMMISSIONER
    shown = disclose if commissioner else lambda figures: figures
    revisions = differences(shown(figures), shown(current[0])) if current else None
    return {
        "scope": {"organisation": organisation, "area": area}
        if organisation or area
        else "overall",
        "period": {"start": period_start, "end": period_end},
        "as_at": as_at,
        "known_at": known_at,
        "suppressed_small_numbers": commissioner,
        "disclosure_control": RULES if commissioner else None,
        "figures": shown(figures),
        "revisions": revisions,
        "feeds": feed_lag(request, positions),
    }


def figures_scope(
    caller: Caller,
    organisation: str | None,
    area: str | None,
    period: Period,
    as_at: date | None,
) -> str | None:
    """The organisation whose figures are asked for: commissioners any scope, under
    disclosure control (whole months); everyone else their own organisation's, exactly."""
    if caller.role is Role.COMMISSIONER:
        problem = period_problem(period, as_at)
        if problem is not None:
            raise Problem(
                422,
                "commissioner-period",
                "Not a commissioner's period",
                problem,
                rule="commissioner-period",
            )
        return organisation
    require_role(caller, READERS, "read KPIs")
    if area is not None or organisation not in (None, caller.organisation):
        raise ForbiddenError("You may read your own organisation's KPIs only.")
    return caller.organisation


def own_episodes(
    request: Request,
    caller: Caller,
    purpose: SharingPurpose | None,
    organisation: str | None,
    as_at: date | None,
    known_at: datetime | None,
    only: Any = None,
) -> tuple[list[EpisodeView], date]:
    """The organisation's episodes open on `as_at` (default today); with `only` (a select of
    episode ids), only those among them."""
    require_role_audited(request, caller, purpose, READERS, "read caseloads")
    if organisation not in (None, caller.organisation):
        refuse(request, caller, purpose, "caseload", f"organisation={organisation}")
        raise ForbiddenError("You may read your own organisation's caseload only.")
    day = as_at or today()
    with engine_of(request).connect() as connection:
        [episodes] = queries.episodes(
            connection,
            queries.Scope(organisation=caller.organisation),
            [queries.Knowledge(as_at, known_at)],
            day,
            day,
            only,
        )
    return [e for e in episodes if e.open_on(day)], day


def audit_rows(
    request: Request, caller: Caller, purpose: Any, what: str, rows: list[dict[str, Any]]
) -> None:
    if rows:
        records = [(row["episode_id"], UUID(str(row["client_id"]))) for row in rows]
        record(log_of(request), caller, purpose, what, records)


@router.get("/caseloads", tags=["caseloads"], response_model=CaseloadOut, responses=READ_PROBLEMS)
def read_caseload(
    request: Request,
    caller: CurrentCaller,
    purpose: Purpose,
    organisation: OrganisationCode | None = None,
    keyworker: Annotated[str | None, Query(max_length=128)] = None,
    as_at: AsAt = None,
    known_at: KnownAt = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Your organisation's open episodes (optionally one keyworker's) on `as_at` (default
    today): phase, tier, days since referral, days in treatment (since the first structured
    intervention), last and next review date, review overdue, risk flags. Each row read is
    audited."""
    episodes, day = own_episodes(request, caller, purpose, organisation, as_at, known_at)
    if keyworker is not None:
        episodes = [e for e in episodes if e.keyworker == keyworker]
    episodes.sort(key=lambda e: (e.keyworker or "", e.referral_date, e.episode_id))
    rows = [caseload_row(e, day) for e in episodes[offset : offset + limit]]
    audit_rows(request, caller, purpose, "caseload-row", rows)
    return {
        "organisation": caller.organisation,
        "as_at": day,
        "known_at": known_at,
        "total": len(episodes),
        "rows": rows,
        "feeds": feed_lag(request),
    }


def caseload_row(e: EpisodeView, day: date) -> dict[str, Any]:
    first = e.first_structured_start
    latest = e.latest_plan(day)
    next_review = latest[1] if latest else None
    reviews = [p[0] for p in e.plans if p[2] == "CarePlanReviewed" and p[0] <= day]
    raised = [area for area, level in e.risks.items() if level in ("medium", "high")]
    return {
        "episode_id": e.episode_id,
        "client_id": e.client_id,
        "keyworker": e.keyworker,
        "phase": e.phase(day),
        "tier": e.tier_on(day),
        "referral_date": e.referral_date,
        "days_since_referral": (day - e.referral_date).days,
        "days_in_treatment": (day - first).days if first and first <= day else None,
        "last_review_on": max(reviews) if reviews else None,
        "next_review_on": next_review,
        "review_overdue": next_review is not None and next_review < day,
        "risk_flags": raised + e.priority_flags,
        **top.caseload_columns(e, day),
    }


@router.get(
    "/waiting-list", tags=["caseloads"], response_model=WaitingListOut, responses=READ_PROBLEMS
)
def read_waiting_list(
    request: Request,
    caller: CurrentCaller,
    purpose: Purpose,
    organisation: OrganisationCode | None = None,
    as_at: AsAt = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """Your open episodes with no structured (Tier 3/4) intervention started by `as_at`,
    oldest referral first, counting from the referral (or re-engagement) date: the 3-week
    expectation (over_3_weeks: more than 21 days) and the 6-week review threshold
    (six_weeks_or_more: 42 days or more) of §2.7.1 are marked. Each row read is audited."""
    episodes, day = own_episodes(request, caller, purpose, organisation, as_at, known_at)
    waiting = sorted(
        (e for e in episodes if e.waiting_on(day)), key=lambda e: (e.referral_date, e.episode_id)
    )
    rows = []
    for e in waiting:
        days = (day - e.referral_date).days
        rows.append(
            {
                "episode_id": e.episode_id,
                "client_id": e.client_id,
                "referral_date": e.referral_date,
                "days_waiting": days,
                "over_3_weeks": days > 21,
                "six_weeks_or_more": days >= 42,
                "phase": e.phase(day),
                "keyworker": e.keyworker,
            }
        )
    audit_rows(request, caller, purpose, "waiting-list-row", rows)
    return {
        "organisation": caller.organisation,
        "as_at": day,
        "known_at": known_at,
        "rows": rows,
        "feeds": feed_lag(request),
    }
