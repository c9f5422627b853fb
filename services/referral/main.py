"""create_app(settings): the referral service."""

from fastapi import FastAPI, Request

from services.common.settings import Settings
from services.common.store import store_env
from services.common.web import common_router, create_service_app
from services.referral.api import get_application, router
from services.referral.application import ReferralApplication
from services.referral.errors import STATUS

DESCRIPTION = """Clients, referrals and handovers (CARAT -> CJIT, CJIT -> Tier 3).

Every write is an immutable event published at `GET /feed`. Errors are RFC 9457
problem+json. Clients must be 18 to 110 years old (an adult service); NHS numbers are
checked with their modulus-11 check digit; postcode districts are outward codes only.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_service_app("Referral service", DESCRIPTION, settings, STATUS)
    app.state.application = ReferralApplication(env=store_env(settings.database_url("referral")))

    def health(request: Request) -> dict[str, object]:
        return {
            "service": "referral",
            "last_position": get_application(request).recorder.max_notification_id() or 0,
        }

    app.include_router(router)
    app.include_router(common_router(get_application, health))
    return app
