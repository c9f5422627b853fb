"""create_app(settings): the reporting service, following both feeds while it runs."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from fastapi import FastAPI, Request
from sqlalchemy.exc import SQLAlchemyError

from services.common.access import ACCESS_ERRORS, AccessLog, access_log_env, access_log_routes
from services.common.issuer import service_token
from services.common.settings import Settings
from services.common.store import store_env
from services.common.tracing import instrument_engine
from services.common.web import create_service_app, follower_reasons, service_router
from services.reporting import dashboard, db
from services.reporting.api import FigureCache, router
from services.reporting.follower import followers
from services.reporting.ndtms.routes import router as ndtms_router
from services.reporting.period_counts import Keeper
from services.reporting.publications import PublicationLog, publication_log_env
from services.reporting.publications import router as publications_router
from services.reporting.queries import has_episode_with
from services.reporting.worklist import router as worklist_router

DESCRIPTION = """Caseloads, waiting lists and the KPIs commissioners are judged by, derived
from the referral and journey feeds, as at any business date and as known at any time.

Definitions, and the reading chosen where one was open:
- *area* is the client's postcode area (letters of the postcode district, e.g. LS);
  "unknown" when none was recorded;
- a period is [period_start, period_end], both included; "in treatment in the period" means a
  Tier 3/4 intervention active on any day of it;
- 12-week retention's second figure counts planned exits on or before the period end;
- "re-engagements" for an organisation are re-engagements into it (the new episode's
  organisation);
- handovers "in the period" are CARAT -> CJIT handover referrals made in the period;
- a discharge ends interventions still active on the discharge date;
- care-plan coverage's "agreed care plan" is a care plan agreed after the comprehensive
  assessment (CarePlanAgreed); the initial care plan agreed at triage is not it, but its
  next review date counts, like any agreed or reviewed plan's, for overdue reviews;
- referral sources and criminal-justice engagement for an organisation are those of the
  referrals it received; handover continuity is over the handovers it is party to: those it
  received (a CJIT) and those it made (the CARAT team that handed over), alike;
- the median days from release to acceptance is over the accepted handovers that carry a
  release date (`over` says how many);
- caseloads and waiting lists list episodes open on the day (not discharged before it);
- *without re-presentation* follows the person, not the registration: of the scope's successful
  completions in the period (planned discharges of episodes in treatment in it) whose discharge
  + 182 is on or before the date of asking (`as_at`, else today), those whose person had no
  episode opened at any organisation from the day after discharge to day 182; which
  registrations are one person is taken as known at `known_at` (a merge or split counts from
  when it was recorded).

Commissioners see every figure under disclosure control (docs/commissioners.md): the period
is one calendar month, quarter or financial year and `as_at` a month end; counts from 1 to 5
are "suppressed", the rest rounded to the nearest 5 (0 stays 0); a share's `percent` is a
whole percentage of the unrounded counts, shown only when both counts are; medians and
percentiles need 10 or more values and are in whole days; a breakdown beside its total never
has exactly one suppressed cell (the next smallest is suppressed too). Providers, CJIT, CARAT
teams and administrators see their own organisation's figures exactly.

The read models are SQLAlchemy tables migrated by alembic (`upgrade head` at start-up, or by
`python -m services.reporting.migrate`); `python -m services.reporting.rebuild` rebuilds them
from the feeds beside the live ones and swaps them in.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything alive now lives for the process: keep it out of the garbage collector's
        # full passes, which otherwise added ~30 ms to the p95 of a KPI answer (measured).
        gc.freeze()
        # A KPI answer allocates ~100,000 short-lived objects (rows, dicts, views), few in
        # cycles: collecting every 700 allocations (the default) cost another ~40 ms at p95
        # for one organisation's quarter at 100,000 clients (bench/reporting.py).
        gc.set_threshold(50_000, 20, 100)
        for follower in app.state.followers.values():
            follower.start()
        app.state.keeper.start()
        yield
        app.state.keeper.stop()
        for follower in app.state.followers.values():
            follower.stop()

    app = create_service_app(
        "reporting",
        "Reporting service",
        DESCRIPTION,
        settings,
        ACCESS_ERRORS,
        private_paths=("/caseloads", "/waiting-list", "/access-log", "/ndtms"),
        form_paths=(dashboard.PATH,),
    )
    app.router.lifespan_context = lifespan
    url = settings.database_url("reporting")
    app.state.engine = engine = db.make_engine(url)
    instrument_engine(engine)
    if settings.migrate_at_startup:
        db.upgrade(engine)
    head = db.head_revision(engine)
    audiences = [settings.referral_audience, settings.journey_audience]
    token = service_token(settings, "reporting-follower", "reporting-service", audiences)
    urls = {"referral": settings.referral_url, "journey": settings.journey_url}
    app.state.followers = followers(
        engine, urls, token, settings.follow_page_size, settings.follow_interval_seconds
    )

    def caught_up() -> bool:
        return all(f.status()["caught_up"] for f in app.state.followers.values())

    app.state.keeper = Keeper(engine, caught_up, settings.follow_interval_seconds)
    app.state.access_log = AccessLog(env=access_log_env(store_env(url)))
    app.state.figure_cache = FigureCache()
    app.state.publications = PublicationLog(env=publication_log_env(store_env(url)))

    def health(request: Request) -> dict[str, object]:
        reasons = []
        revision = None
        try:
            revision = db.current_revision(engine)
            if revision != head:
                reasons.append(f"read models at revision {revision}, not at head {head}")
        except SQLAlchemyError as error:
            reasons.append(f"read models unreachable: {error}")
        following = {f: x.status() for f, x in app.state.followers.items()}
        for feed, status in following.items():
            reasons += follower_reasons(feed, status, settings.ready_max_lag_positions)
        return {
            "service": "reporting",
            "migration": revision,
            "following": following,
            "period_counts": app.state.keeper.status(),
            "reasons": reasons,
        }

    def is_party_to_client(request: Request, organisation: str, client_id: UUID) -> bool:
        with engine.connect() as connection:
            return has_episode_with(connection, organisation, client_id)

    app.include_router(router)
    app.include_router(ndtms_router)
    app.include_router(publications_router)
    app.include_router(worklist_router)
    app.include_router(dashboard.router)
    app.include_router(service_router(health))
    app.include_router(
        access_log_routes(lambda request: request.app.state.access_log, is_party_to_client)
    )
    return app
