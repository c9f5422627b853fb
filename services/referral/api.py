"""HTTP routes of the referral service.

Access: staff (provider, CJIT, CARAT) record; staff and administrators read what their
organisation is party to; commissioners see no personal data. Every read of personal data is
audited; every write honours Idempotency-Key and If-Match.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from services.common.access import Purpose, Reader, Staff, audited, record, refuse, written
from services.common.deps import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    IfMatch,
    Key,
    Log,
    own_key,
    recorded_by,
)
from services.common.ids import episode_id_for_referral
from services.common.problems import Problem
from services.common.schemas import Day, OrganisationCode
from services.common.versions import set_etag
from services.common.web import problems
from services.referral.application import ReferralApplication
from services.referral.domain import Client, Referral, ReferralStatus
from services.referral.schemas import (
    AcceptIn,
    ClientIn,
    ClientOut,
    ConsentIn,
    ConsentWithdrawIn,
    DeclineIn,
    ReferralIn,
    ReferralOut,
    WithdrawIn,
)


def get_application(request: Request) -> ReferralApplication:
    application: ReferralApplication = request.app.state.application
    return application


App = Annotated[ReferralApplication, Depends(get_application)]

router = APIRouter()


def client_out(client: Client) -> ClientOut:
    return ClientOut.model_validate({**vars(client), "id": client.id, "version": client.version})


def referral_out(app: ReferralApplication, referral: Referral, viewer: str) -> ReferralOut:
    return ReferralOut.model_validate(
        {
            **vars(referral),
            "id": referral.id,
            "version": referral.version,
            "recorded_at": referral.created_on,
            "consent": referral.consent,
            "consents": app.standing_consents(referral),
            "episode_id": episode_id_for(referral, viewer),
        }
    )


def episode_id_for(referral: Referral, viewer: str) -> UUID | None:
    """The episode the acceptance opens, named to its owner only (others look it up by
    referral on the journey service, where consent decides what they see)."""
    if referral.status is not ReferralStatus.ACCEPTED:
        return None
    if viewer != referral.receiving_organisation:
        return None
    return episode_id_for_referral(referral.id)


def answer_client(client: Client, response: Response) -> ClientOut:
    response.headers["Location"] = f"/clients/{client.id}"
    set_etag(response, client.version)
    return client_out(client)


def answer_referral(
    app: ReferralApplication, referral: Referral, response: Response, viewer: str
) -> ReferralOut:
    response.headers["Location"] = f"/referrals/{referral.id}"
    set_etag(response, referral.version)
    return referral_out(app, referral, viewer)


@router.post(
    "/clients",
    status_code=201,
    response_model=ClientOut,
    tags=["clients"],
    responses=problems(400, 401, 403, 413, 415, 422),
)
def register_client(
    body: ClientIn,
    app: App,
    log: Log,
    caller: Staff,
    purpose: Purpose,
    key: Key,
    response: Response,
) -> ClientOut:
    """Register a client (a person). Personal data is validated before anything is recorded."""
    client, _ = app.register_client(recorded_by(caller), own_key(key, caller), **body.model_dump())
    written(log, caller, purpose, "client", client.id, client.id)
    return answer_client(client, response)


@router.get(
    "/clients/{client_id}", response_model=ClientOut, tags=["clients"], responses=READ_PROBLEMS
)
def read_client(
    client_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose, response: Response
) -> ClientOut:
    """A client, for organisations party to them (registered them, or made or received a
    referral for them). Audited."""
    with audited(log, caller, purpose, "client", client_id) as read:
        read.client_id = client_id if app.get_client_or_none(client_id) else None
        client = app.visible_client(caller.organisation, client_id)
    set_etag(response, client.version)
    return client_out(client)


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralOut,
    tags=["referrals"],
    responses=problems(400, 401, 403, 413, 415, 422),
)
def make_referral(
    body: ReferralIn,
    app: App,
    log: Log,
    caller: Staff,
    purpose: Purpose,
    key: Key,
    response: Response,
) -> ReferralOut:
    """Make a referral, or a handover when `handover` carries the DIR summary. Your
    organisation is the referring one (leave `referring_organisation` out, or name your own;
    recorded by the receiving organisation itself, it has none), and must be party to the
    client. A `consent` here is held by your organisation: it opens your part of the record
    to the receiver and the organisations it names."""
    referral, _ = app.make_referral(
        recorded_by(caller),
        own_key(key, caller),
        body.client_id,
        on=body.referral_date,
        source=body.source,
        referring_organisation=body.referring_organisation,
        receiving_organisation=body.receiving_organisation,
        priority_flags=list(dict.fromkeys(body.priority_flags)),
        consent=body.consent.model_dump() if body.consent else None,
        handover=body.handover.as_event_data() if body.handover else None,
    )
    written(log, caller, purpose, "referral", referral.id, referral.client_id)
    return answer_referral(app, referral, response, caller.organisation)


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralOut,
    tags=["referrals"],
    responses=READ_PROBLEMS,
)
def read_referral(
    referral_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose, response: Response
) -> ReferralOut:
    """A referral, for the organisations party to it. Audited."""
    with audited(log, caller, purpose, "referral", referral_id) as read:
        referral = app.get_referral_or_none(referral_id)
        read.client_id = referral.client_id if referral else None
        referral = app.visible_referral(caller.organisation, referral_id)
    set_etag(response, referral.version)
    return referral_out(app, referral, caller.organisation)


@router.get(
    "/referrals", response_model=list[ReferralOut], tags=["referrals"], responses=READ_PROBLEMS
)
def list_referrals(
    request: Request,
    app: App,
    log: Log,
    caller: Reader,
    purpose: Purpose,
    receiving_organisation: OrganisationCode | None = None,
    status: ReferralStatus | None = None,
    referred_from: Annotated[Day | None, Query(description="Referral date on or after")] = None,
    referred_to: Annotated[Day | None, Query(description="Referral date on or before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ReferralOut]:
    """Referrals received by your organisation (the default and the only one you may ask
    for), oldest referral date first. Each referral listed is audited as read."""
    organisation = receiving_organisation or caller.organisation
    if organisation != caller.organisation:
        refuse(request, caller, purpose, "referrals", f"receiving_organisation={organisation}")
        raise Problem(403, "forbidden", "Forbidden", "You can list only your own referrals.")
    summaries = app.referrals_received(organisation, status, referred_from, referred_to)
    page = summaries[offset : offset + limit]
    if page:
        record(log, caller, purpose, "referral", [(s.id, s.client_id) for s in page])
    return [referral_out(app, app.get_referral(s.id), caller.organisation) for s in page]


def decision_route(path: str, decision: str, body_type: type[Any], summary: str) -> None:
    def decide(
        referral_id: UUID,
        body: Any,
        app: App,
        log: Log,
        caller: Staff,
        purpose: Purpose,
        if_match: IfMatch,
        key: Key,
        response: Response,
    ) -> ReferralOut:
        referral, _ = app.decide(
            referral_id,
            decision,
            recorded_by(caller),
            own_key(key, caller),
            if_match,
            **body.details(),
        )
        set_etag(response, referral.version)
        if decision == "accept":
            episode = episode_id_for_referral(referral.id)
            response.headers["Link"] = f'</episodes/{episode}>; rel="episode"'
        written(log, caller, purpose, "referral", referral.id, referral.client_id)
        return referral_out(app, referral, caller.organisation)

    decide.__annotations__["body"] = body_type
    decide.__name__ = decision
    router.post(
        f"/referrals/{{referral_id}}/{path}",
        response_model=ReferralOut,
        tags=["referrals"],
        responses={**WRITE_PROBLEMS, **(EPISODE_LINK if decision == "accept" else {})},
        summary=summary,
        name=decision if "consent" in decision else f"{decision}_referral",
    )(decide)


EPISODE_LINK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The referral, accepted; `episode_id` names the episode it opens",
        "headers": {
            "Link": {
                "description": '`</episodes/{episode_id}>; rel="episode"`: a path on the '
                "journey service, readable once it has followed the referral feed "
                "(normally within a second)",
                "schema": {"type": "string"},
            }
        },
    }
}


decision_route(
    "accept",
    "accept",
    AcceptIn,
    "Accept (taken onto caseload): the receiving organisation only; the journey "
    "service opens the episode named in `episode_id` from it",
)
decision_route("decline", "decline", DeclineIn, "Decline with a coded reason: the receiver only")
decision_route("withdraw", "withdraw", WithdrawIn, "Withdraw: the referring organisation only")
decision_route(
    "consent",
    "change_consent",
    ConsentIn,
    "Record your organisation's consent to share its part (you are the holder; it replaces "
    "only your own earlier consent; any party to the referral may hold one)",
)
decision_route(
    "consent/withdraw",
    "withdraw_consent",
    ConsentWithdrawIn,
    "The client withdraws consent (any party records it): every consent of the client, on "
    "every referral, ends now; each organisation keeps its own record",
)
