"""POST/GET /clients/{id}/top-care-coordinator: the organisation that owns the client's TOPs.

Access: staff of an organisation with an episode of the client (to anyone else the client does
not exist: 404); the named organisation must have an episode of the client too; only the
coordinator ends its coordination. Writes and reads are audited.
"""

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.common.access import Purpose, Reader, Staff, audited, written
from services.common.clock import today
from services.common.deps import READ_PROBLEMS, WRITE_PROBLEMS, Log, recorded_by
from services.common.schemas import Day, OrganisationCode, StrictIn
from services.journey.application import JourneyApplication
from services.journey.steps.base import DateInFutureError
from services.journey.top_coordinator import TopCareCoordination


def get_application(request: Request) -> JourneyApplication:
    application: JourneyApplication = request.app.state.application
    return application


App = Annotated[JourneyApplication, Depends(get_application)]
router = APIRouter(tags=["top"])


class TopCoordinatorIn(StrictIn):
    on: Day = Field(description="From when it coordinates (not in the future).")
    organisation: OrganisationCode | None = Field(
        None, description="The coordinating organisation; by default, yours."
    )


class TopCoordinatorEndIn(StrictIn):
    on: Day = Field(description="When it stops coordinating.")


class CoordinatorOut(BaseModel):
    organisation: str
    from_on: date
    ended_on: date | None


class TopCoordinationOut(BaseModel):
    client_id: UUID
    current: CoordinatorOut | None = Field(description="The open coordinator, if any.")
    history: list[CoordinatorOut]


def coordination_out(client_id: UUID, record: TopCareCoordination) -> TopCoordinationOut:
    history = [
        CoordinatorOut(organisation=c["organisation"], from_on=c["from"], ended_on=c["ended_on"])
        for c in record.coordinators
    ]
    current = next((c for c in history if c.ended_on is None), None)
    return TopCoordinationOut(client_id=client_id, current=current, history=history)


def not_future(on: date) -> None:
    if on > today():
        raise DateInFutureError(f"{on} is after today ({today()}).")


@router.post(
    "/clients/{client_id}/top-care-coordinator",
    status_code=201,
    response_model=TopCoordinationOut,
    responses=WRITE_PROBLEMS,
)
def name_top_care_coordinator(
    client_id: UUID, body: TopCoordinatorIn, app: App, log: Log, caller: Staff, purpose: Purpose
) -> TopCoordinationOut:
    """Name the client's TOP care coordinator (reference §5.4): one open per client; while one
    is open, naming another is 409 `top-care-coordinator-open` (end it first)."""
    not_future(body.on)
    organisation = body.organisation or caller.organisation
    record = app.name_top_coordinator(client_id, organisation, body.on, recorded_by(caller))
    written(log, caller, purpose, "top-care-coordinator", client_id, client_id)
    return coordination_out(client_id, record)


@router.post(
    "/clients/{client_id}/top-care-coordinator/end",
    status_code=201,
    response_model=TopCoordinationOut,
    responses=WRITE_PROBLEMS,
)
def end_top_care_coordinator(
    client_id: UUID, body: TopCoordinatorEndIn, app: App, log: Log, caller: Staff, purpose: Purpose
) -> TopCoordinationOut:
    """The coordinator stops coordinating (a transfer: then the next one names itself)."""
    not_future(body.on)
    record = app.end_top_coordinator(client_id, body.on, recorded_by(caller))
    written(log, caller, purpose, "top-care-coordinator", client_id, client_id)
    return coordination_out(client_id, record)


@router.get(
    "/clients/{client_id}/top-care-coordinator",
    response_model=TopCoordinationOut,
    responses=READ_PROBLEMS,
)
def read_top_care_coordinator(
    client_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose
) -> TopCoordinationOut:
    """Who coordinates the client's TOPs, now and before. Audited."""
    with audited(log, caller, purpose, "top-care-coordinator", client_id) as read:
        read.client_id = client_id
        record = app.top_coordination(client_id, caller.organisation)
    return coordination_out(client_id, record)
