"""HTTP routes of person identity: an administrator merges two registrations of one person or
splits a wrong match. Both are events; both are audited, refusals included.

Access: administrators only (anyone else 403, audited); the administrator's organisation must
be party to one of the two registrations of a merge, and to the registration it splits off
(otherwise 404, as for a client that does not exist). Matching at registration is never shown
to the organisations (see docs/person-identity.md).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.common.access import (
    ADMINISTRATORS,
    Outcome,
    Purpose,
    record,
    require_role_audited,
)
from services.common.auth import Caller, CurrentCaller
from services.common.codes import SharingPurpose
from services.common.deps import Key, Log, own_key, recorded_by
from services.common.errors import NotVisibleError
from services.common.web import problems
from services.referral.api import App
from services.referral.application import ReferralApplication
from services.referral.domain import PersonLink
from services.referral.schemas import MergeIn, PersonLinkOut, SplitIn

router = APIRouter(tags=["persons"])


def administrator(request: Request, caller: CurrentCaller, purpose: Purpose) -> Caller:
    require_role_audited(request, caller, purpose, ADMINISTRATORS, "merge or split persons")
    return caller


Administrator = Annotated[Caller, Depends(administrator)]


@contextmanager
def audited_write(
    app: ReferralApplication,
    log: Log,
    caller: Caller,
    purpose: SharingPurpose | None,
    client_ids: list[UUID],
) -> Iterator[None]:
    """A refused merge or split is audited against the clients named: denied_scope when they
    exist, not_found otherwise."""
    try:
        yield
    except NotVisibleError:
        entries = [(c, c if app.get_client_or_none(c) else None) for c in client_ids]
        outcome: Outcome = "denied_scope" if any(c for _, c in entries) else "not_found"
        record(log, caller, purpose, "person", entries, outcome, kind="write")
        raise


def link_out(link: PersonLink) -> PersonLinkOut:
    return PersonLinkOut.model_validate(
        {**vars(link), "version": link.version, "recorded_at": link.modified_on}
    )


RESPONSES = problems(400, 401, 403, 404, 409, 413, 415, 422)


@router.post(
    "/persons/merge", response_model=PersonLinkOut, responses=RESPONSES, name="merge_persons"
)
def merge(
    body: MergeIn, app: App, log: Log, caller: Administrator, purpose: Purpose, key: Key
) -> PersonLinkOut:
    """Two registrations found to be one person: `client_id`'s person (every registration
    linked with it) joins `into_client_id`'s. Figures "for the client" follow the person
    from the time this is recorded; as known before it, they stay as they were. Answers the
    link of `client_id`. Administrators only."""
    named = [body.into_client_id, body.client_id]
    with audited_write(app, log, caller, purpose, named):
        link, _ = app.merge_persons(
            recorded_by(caller), own_key(key, caller), body.into_client_id, body.client_id
        )
    record(log, caller, purpose, "person", [(link.person_id, c) for c in named], kind="write")
    return link_out(link)


@router.post(
    "/persons/split", response_model=PersonLinkOut, responses=RESPONSES, name="split_persons"
)
def split(
    body: SplitIn, app: App, log: Log, caller: Administrator, purpose: Purpose, key: Key
) -> PersonLinkOut:
    """A wrong match undone: the registration becomes a person of its own (a new person id),
    from the time this is recorded. Administrators only."""
    with audited_write(app, log, caller, purpose, [body.client_id]):
        link, _ = app.split_person(recorded_by(caller), own_key(key, caller), body.client_id)
    record(log, caller, purpose, "person", [(link.person_id, body.client_id)], kind="write")
    return link_out(link)
