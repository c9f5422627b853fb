"""create_app(settings): the referral service."""

from collections.abc import Callable

from fastapi import FastAPI, Request

from services.common.access import AccessLog, access_log_env, access_log_routes
from services.common.auth import Caller
from services.common.codes import SharingPurpose
from services.common.deps import get_access_log
from services.common.feed import FeedItem
from services.common.log_index import WARM_WAIT_SECONDS
from services.common.settings import Settings
from services.common.web import common_router, create_service_app, store_health
from services.referral.api import get_application, router
from services.referral.application import ReferralApplication
from services.referral.errors import STATUS
from services.referral.persons_api import router as persons_router
from services.referral.profiles import router as profile_router

DESCRIPTION = """Clients, referrals and handovers (CARAT -> CJIT, CJIT -> Tier 3).

Every write is an immutable event published at `GET /feed`. Errors are RFC 9457
problem+json. Clients must be 18 to 110 years old (an adult service); NHS numbers are
checked with their modulus-11 check digit; postcode districts are outward codes only.

**Access.** Send `Authorization: Bearer <JWT>` from the identity provider: ES256, `kid` of a
key in its JWKS, `iss` the configured issuer, `aud` including this service's audience, `sub`
(user), `org` (organisation code), `role`, `iat` and `exp` (at most 12 h apart by default);
anything else is 401.
Providers, CJIT and CARAT teams record; they and their administrators read only the clients
and referrals their organisation is party to (made, referred or received). Anything else is
404, exactly as if it did not exist. Commissioners see no personal data (403). Every read of
personal data is audited with the `Purpose` you state (or "not stated"); administrators list it at
`GET /access-log?client_id=`.

**Consent** to share belongs to the client and is held by the organisation that obtained
it: a consent recorded with a referral (`consent`) or at `POST /referrals/{id}/consent` is
held by the caller's organisation, opens only that organisation's part of the record (to the
organisations it names, the referral's other parties, for the purposes it names, from
`given_on` to `ends_on`), and replaces only that holder's earlier consent. The client's
withdrawal (`POST /referrals/{id}/consent/withdraw`, by any party) ends every consent of the
client at once; sharing after it needs a new consent from each holder. The referring
organisation of a referral is the caller's (a referral recorded by its receiver has none).

**Persons.** A registration of a person already known (same NHS number, or without one the
national attributors: initials, date of birth, sex, postcode area) is linked to that person
internally; the answer is the same whether or not the person was known, and nothing of another
organisation's records is shown. Administrators merge two registrations of one person
(`POST /persons/merge`) or split a wrong match (`POST /persons/split`).

**Retries.** Every POST honours `Idempotency-Key` (same key and body: the first response,
nothing recorded again; same key, other body: 422). Writes to a referral honour `If-Match`
with the version returned in `ETag` (stale: 412).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_service_app("referral", "Referral service", DESCRIPTION, settings, STATUS)
    store = settings.store("referral")
    application = ReferralApplication(env=store)
    application.log_index.warm(WARM_WAIT_SECONDS)
    app.state.application = application
    app.state.access_log = AccessLog(env=access_log_env(store))

    def health(request: Request) -> dict[str, object]:
        store = store_health(application)
        return {
            "service": "referral",
            **store,
            "reasons": store["reasons"] + application.log_index.reasons(),
        }

    def feed_filter(
        request: Request, caller: Caller, purpose: SharingPurpose | None
    ) -> Callable[[FeedItem], bool]:
        return lambda item: application.is_party_to(caller.organisation, item.aggregate_id)

    def is_party_to_client(request: Request, organisation: str, client_id: object) -> bool:
        return application.is_party_to_client(organisation, client_id)  # type: ignore[arg-type]

    app.include_router(router)
    app.include_router(persons_router)
    app.include_router(profile_router)
    app.include_router(common_router(get_application, health, feed_filter, application.clients_of))
    app.include_router(access_log_routes(get_access_log, is_party_to_client))
    return app
