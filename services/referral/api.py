"""HTTP routes of the referral service."""

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from services.common.auth import Caller, CurrentCaller
from services.common.schemas import OrganisationCode
from services.common.versions import expected_version, set_etag
from services.common.web import problems
from services.referral.application import ReferralApplication
from services.referral.domain import Client, Referral, ReferralStatus
from services.referral.schemas import (
    AcceptIn,
    ClientIn,
    ClientOut,
    DeclineIn,
    ReferralIn,
    ReferralOut,
    WithdrawIn,
)


def get_application(request: Request) -> ReferralApplication:
    application: ReferralApplication = request.app.state.application
    return application


App = Annotated[ReferralApplication, Depends(get_application)]
IfMatch = Annotated[int | None, Depends(expected_version)]
WRITE_PROBLEMS = problems(401, 404, 409, 412, 413, 415, 422)

router = APIRouter()


def recorded_by(caller: Caller) -> dict[str, str]:
    return {"organisation": caller.organisation, "user": caller.user}


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        id=client.id,
        version=client.version,
        registered_on=client.registered_on,
        given_name=client.given_name,
        family_name=client.family_name,
        date_of_birth=client.date_of_birth,
        sex=client.sex,
        nhs_number=client.nhs_number,
        postcode_district=client.postcode_district,
    )


def referral_out(referral: Referral) -> ReferralOut:
    return ReferralOut.model_validate(
        {
            **vars(referral),
            "id": referral.id,
            "version": referral.version,
            "recorded_at": referral.created_on,
        }
    )


@router.post(
    "/clients",
    status_code=201,
    response_model=ClientOut,
    tags=["clients"],
    responses=problems(401, 413, 415, 422),
)
def register_client(
    body: ClientIn, app: App, caller: CurrentCaller, response: Response
) -> ClientOut:
    """Register a client (a person). Personal data is validated before anything is recorded."""
    client = app.register_client(by=recorded_by(caller), **body.model_dump())
    response.headers["Location"] = f"/clients/{client.id}"
    set_etag(response, client.version)
    return client_out(client)


@router.get(
    "/clients/{client_id}",
    response_model=ClientOut,
    tags=["clients"],
    responses=problems(401, 404, 422),
)
def read_client(client_id: UUID, app: App, caller: CurrentCaller, response: Response) -> ClientOut:
    client = app.get_client(client_id)
    set_etag(response, client.version)
    return client_out(client)


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralOut,
    tags=["referrals"],
    responses=problems(401, 413, 415, 422),
)
def make_referral(
    body: ReferralIn, app: App, caller: CurrentCaller, response: Response
) -> ReferralOut:
    """Make a referral, or a handover when `handover` carries the DIR summary."""
    referral = app.make_referral(
        by=recorded_by(caller),
        client_id=body.client_id,
        on=body.referral_date,
        source=body.source,
        referring_organisation=body.referring_organisation,
        receiving_organisation=body.receiving_organisation,
        priority_flags=list(dict.fromkeys(body.priority_flags)),
        consent=body.consent.model_dump() if body.consent else None,
        handover=body.handover.as_event_data() if body.handover else None,
    )
    response.headers["Location"] = f"/referrals/{referral.id}"
    set_etag(response, referral.version)
    return referral_out(referral)


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralOut,
    tags=["referrals"],
    responses=problems(401, 404, 422),
)
def read_referral(
    referral_id: UUID, app: App, caller: CurrentCaller, response: Response
) -> ReferralOut:
    referral = app.get_referral(referral_id)
    set_etag(response, referral.version)
    return referral_out(referral)


@router.get(
    "/referrals", response_model=list[ReferralOut], tags=["referrals"], responses=problems(401, 422)
)
def list_referrals(
    app: App,
    caller: CurrentCaller,
    receiving_organisation: OrganisationCode,
    status: ReferralStatus | None = None,
    referred_from: Annotated[date | None, Query(description="Referral date on or after")] = None,
    referred_to: Annotated[date | None, Query(description="Referral date on or before")] = None,
) -> list[ReferralOut]:
    """Referrals received by an organisation, oldest referral date first."""
    referrals = app.referrals_received(receiving_organisation, status, referred_from, referred_to)
    return [referral_out(r) for r in referrals]


@router.post(
    "/referrals/{referral_id}/accept",
    response_model=ReferralOut,
    tags=["referrals"],
    responses=WRITE_PROBLEMS,
)
def accept_referral(
    referral_id: UUID,
    body: AcceptIn,
    app: App,
    caller: CurrentCaller,
    if_match: IfMatch,
    response: Response,
) -> ReferralOut:
    """Take the client onto caseload: the journey service opens an episode from this."""
    referral = app.decide(
        referral_id,
        "accept",
        if_match,
        on=body.accepted_on,
        by=recorded_by(caller),
        keyworker=body.keyworker,
    )
    set_etag(response, referral.version)
    return referral_out(referral)


@router.post(
    "/referrals/{referral_id}/decline",
    response_model=ReferralOut,
    tags=["referrals"],
    responses=WRITE_PROBLEMS,
)
def decline_referral(
    referral_id: UUID,
    body: DeclineIn,
    app: App,
    caller: CurrentCaller,
    if_match: IfMatch,
    response: Response,
) -> ReferralOut:
    referral = app.decide(
        referral_id,
        "decline",
        if_match,
        on=body.declined_on,
        by=recorded_by(caller),
        reason=body.reason,
    )
    set_etag(response, referral.version)
    return referral_out(referral)


@router.post(
    "/referrals/{referral_id}/withdraw",
    response_model=ReferralOut,
    tags=["referrals"],
    responses=WRITE_PROBLEMS,
)
def withdraw_referral(
    referral_id: UUID,
    body: WithdrawIn,
    app: App,
    caller: CurrentCaller,
    if_match: IfMatch,
    response: Response,
) -> ReferralOut:
    referral = app.decide(
        referral_id,
        "withdraw",
        if_match,
        on=body.withdrawn_on,
        by=recorded_by(caller),
        reason=body.reason,
    )
    set_etag(response, referral.version)
    return referral_out(referral)
