"""create_app(settings): the journey service, following the referral feed while it runs."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import UUID

from fastapi import FastAPI, Request

from services.common.access import AccessLog, access_log_env, access_log_routes
from services.common.auth import Caller
from services.common.codes import SharingPurpose
from services.common.deps import get_access_log
from services.common.feed import FeedItem
from services.common.follower import FeedFollower
from services.common.issuer import service_token
from services.common.log_index import WARM_WAIT_SECONDS
from services.common.settings import Settings
from services.common.web import (
    common_router,
    create_service_app,
    follower_reasons,
    store_health,
)
from services.journey.api import get_application, router
from services.journey.application import JourneyApplication
from services.journey.errors import STATUS
from services.journey.top_api import router as top_router

DESCRIPTION = """Episodes and every journey event, with the clinical rules of `docs/domain.md`.

An episode is one organisation's involvement with a client, opened for each accepted
referral (this service follows the referral service's feed) or by re-engagement, and closed
by discharge. Every write is an immutable event published at `GET /feed`, and answers with
the episode, the new event's `event_version` and the ids it created. An accepted referral's
episode id is in the referral service's accept response; `GET /episodes?referral_id=` finds it
here once the feed has been followed (normally within a second).

**Rules** (problem `type` ends with the rule): care-plan-before-triage,
structured-intervention-before-care-plan (an initial care plan is Tier 2, §4.3),
review-without-plan, episode-closed (after discharge only aftercare, re-engagement and
corrections), date-before-referral, date-in-future, already-discharged,
intervention-ends-before-start, intervention-already-ended, already-triaged,
discharge-before-earlier-event, not-discharged, already-re-engaged, version-mismatch (412,
If-Match), concurrent-change (409: another writer won; read again and retry).

**Corrections** are events too: an event marked recorded in error drops out of every view;
a corrected event is replaced by its correction. Corrections are not re-checked against
the sequencing rules: they state what really happened, and the KPIs measure the result.

**Access.** Staff (provider, CJIT, CARAT) record on their own organisation's episodes
only (re-engagement included: a client returning to another organisation is a new referral).
Staff and administrators read their own episodes, and another organisation's only under a
consent held by that organisation (recorded at the referral service) that names theirs and
covers the stated `Purpose` header, while theirs has a live care relationship with the client
(a referral not declined or withdrawn, or an episode); with no `Purpose`, only their own. The
rest of a journey is left out. Sharing decisions first catch up with the referral feed, so a
withdrawal counts at once; if the referral service cannot be reached, nothing is shared (503).
Commissioners see no personal data. Reads are audited (`GET /access-log?client_id=` for
administrators). Writes honour `Idempotency-Key` and `If-Match`.

**Phase**: waiting (not yet triaged), engagement (triaged, no structured intervention yet),
delivery (a Tier 3/4 intervention has started), completion (aftercare plan agreed or
discharged). A discharge ends any intervention still active on the discharge date.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        follower.start()
        yield
        follower.stop()

    app = create_service_app("journey", "Journey service", DESCRIPTION, settings, STATUS)
    app.router.lifespan_context = lifespan
    store = settings.store("journey")
    application = JourneyApplication(env=store)
    application.log_index.warm(WARM_WAIT_SECONDS)
    app.state.application = application
    token = service_token(
        settings, "journey-follower", "journey-service", [settings.referral_audience]
    )
    follower = FeedFollower(
        "referral",
        f"{settings.referral_url}/feed",
        token,
        application.apply_referral_page,
        application.referral_feed_position,
        page_size=settings.follow_page_size,
        idle_seconds=settings.follow_interval_seconds,
    )
    app.state.referral_follower = follower
    application.consent_refresher = lambda: follower.catch_up(settings.consent_timeout_seconds)
    app.state.access_log = AccessLog(env=access_log_env(store))

    def feed_filter(
        request: Request, caller: Caller, purpose: SharingPurpose | None
    ) -> Callable[[FeedItem], bool]:
        may_see = application.sharing(caller.organisation, purpose)

        def visible(item: FeedItem) -> bool:
            if item.aggregate_type == "TopCareCoordination":  # its own coordination only
                return bool(item.data.get("organisation") == caller.organisation)
            owner = application.episode_owner(item.aggregate_id)
            return owner is not None and may_see(*owner)

        return visible

    def is_party_to_client(request: Request, organisation: str, client_id: UUID) -> bool:
        return application.has_episode_with(organisation, client_id)

    def health(request: Request) -> dict[str, object]:
        store = store_health(application)
        following = follower.status()
        lag = follower_reasons("referral", following, settings.ready_max_lag_positions)
        return {
            "service": "journey",
            **store,
            "following": {"referral": following},
            "reasons": store["reasons"] + application.log_index.reasons() + lag,
        }

    app.include_router(router)
    app.include_router(top_router)

    app.include_router(common_router(get_application, health, feed_filter, application.clients_of))
    app.include_router(access_log_routes(get_access_log, is_party_to_client))
    return app
