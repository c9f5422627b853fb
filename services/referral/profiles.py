"""The client profile for the national return (DESIGN.md "The national return"): recorded, and
reviewed, by an organisation party to the client; each organisation holds its own.

Access: staff of an organisation party to the client record it; staff and administrators of
such an organisation read it back (to anyone else the client does not exist: 404, as for a
client that does not exist; commissioners 403). Writes and reads are audited.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StringConstraints

from services.common.access import Purpose, Reader, Staff, audited, written
from services.common.codes import (
    AccommodationNeed,
    Employment,
    Ethnicity,
    ParentalStatus,
    Religion,
    SexualOrientation,
    YesNoDeclined,
)
from services.common.deps import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    IfMatch,
    Key,
    Log,
    own_key,
    recorded_by,
)
from services.common.schemas import Day, StrictIn
from services.common.versions import set_etag
from services.referral.api import App
from services.referral.domain import PROFILE_ITEMS

router = APIRouter(tags=["clients"])
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,10}$")]


class ProfileItems(BaseModel):
    ethnicity: Ethnicity | None = None
    nationality: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        None, description="ISO 3166 alpha-3, e.g. GBR."
    )
    religion: Religion | None = None
    sexual_orientation: SexualOrientation | None = None
    disability: YesNoDeclined | None = None
    veteran: YesNoDeclined | None = Field(None, description="UK armed forces veteran.")
    gp_practice: Code | None = Field(None, description="GP practice code, e.g. B86012.")
    local_authority: Code | None = Field(None, description="Local authority of residence.")
    accommodation_need: AccommodationNeed | None = None
    parental_status: ParentalStatus | None = None
    children_living_with_client: int | None = Field(None, ge=0, le=30)
    employment: Employment | None = None
    previously_treated: bool | None = None
    consent_to_national_return: bool | None = Field(
        None, description="The client's consent to the national return (NDTMS), Y/N."
    )


class ProfileIn(ProfileItems, StrictIn):
    on: Day = Field(description="When the profile was taken or reviewed (not in the future).")


class ProfileOut(BaseModel):
    client_id: UUID
    version: int
    organisation: str
    profile: ProfileItems = Field(description="Your organisation's items as now recorded.")


@router.post(
    "/clients/{client_id}/profile",
    status_code=201,
    response_model=ProfileOut,
    responses=WRITE_PROBLEMS,
)
def record_profile(
    client_id: UUID,
    body: ProfileIn,
    app: App,
    log: Log,
    caller: Staff,
    purpose: Purpose,
    if_match: IfMatch,
    key: Key,
    response: Response,
) -> ProfileOut:
    """Record the client profile, or a client information review: give the items that are
    new or changed (the others stand as recorded before). Your organisation must be party to
    the client."""
    items: dict[str, Any] = body.model_dump(include=set(PROFILE_ITEMS), exclude_none=True)
    client, _ = app.record_profile(
        client_id, recorded_by(caller), own_key(key, caller), body.on, items, if_match
    )
    written(log, caller, purpose, "client", client.id, client.id)
    set_etag(response, client.version)
    response.headers["Location"] = f"/clients/{client.id}"
    return ProfileOut(
        client_id=client.id,
        version=client.version,
        organisation=caller.organisation,
        profile=ProfileItems.model_validate(client.profiles.get(caller.organisation, {})),
    )


@router.get("/clients/{client_id}/profile", response_model=ProfileOut, responses=READ_PROBLEMS)
def read_profile(
    client_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose, response: Response
) -> ProfileOut:
    """Your organisation's client profile as now recorded (items not recorded are null), for
    organisations party to the client, like `GET /clients/{client_id}`; another organisation's
    profile is its own. The ETag is the client's version, for `If-Match` on the next review.
    Audited."""
    with audited(log, caller, purpose, "client-profile", client_id) as read:
        read.client_id = client_id if app.get_client_or_none(client_id) else None
        client = app.visible_client(caller.organisation, client_id)
    set_etag(response, client.version)
    return ProfileOut(
        client_id=client.id,
        version=client.version,
        organisation=caller.organisation,
        profile=ProfileItems.model_validate(client.profiles.get(caller.organisation, {})),
    )
