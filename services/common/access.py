"""Who may see what: roles, the stated purpose of a read, and the audit of every attempt."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from services.common.audit import NOT_STATED, AccessLog, access_log_env
from services.common.auth import Caller, CurrentCaller, Role
from services.common.codes import SharingPurpose
from services.common.errors import ForbiddenError, NotVisibleError

__all__ = ["AccessLog", "access_log_env"]

STAFF = frozenset({Role.PROVIDER, Role.CJIT, Role.CARAT})
READERS = STAFF | {Role.ADMINISTRATOR}
ADMINISTRATORS = frozenset({Role.ADMINISTRATOR})
Outcome = Literal["granted", "denied_role", "denied_scope", "not_found", "refused"]
Kind = Literal["read", "write"]


ACCESS_ERRORS: dict[type[Exception], tuple[int, str]] = {
    NotVisibleError: (404, "not-found"),
    ForbiddenError: (403, "forbidden"),
}


def require_role(caller: Caller, roles: frozenset[Role], doing: str) -> None:
    if caller.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise ForbiddenError(f"A {caller.role.value} may not {doing} (allowed: {allowed}).")


def stated_purpose(
    purpose: Annotated[
        SharingPurpose | None,
        Header(
            alias="Purpose",
            description="Why you read this (a sharing purpose from GET /codes); it is audited "
            "(as not_stated when absent) and must be covered by a consent held by another "
            "organisation to see its part; absent, only your own organisation's part is shown.",
        ),
    ] = None,
) -> SharingPurpose | None:
    return purpose


Purpose = Annotated[SharingPurpose | None, Depends(stated_purpose)]


def log_of(request: Request) -> AccessLog:
    log: AccessLog = request.app.state.access_log
    return log


def entry(
    caller: Caller,
    purpose: SharingPurpose | None,
    what: str,
    record_id: object,
    client_id: UUID | None,
    outcome: Outcome,
    kind: Kind = "read",
    at: str | None = None,
) -> dict[str, Any]:
    """One audit entry, as plain JSON values (it is hashed in canonical JSON)."""
    return {
        "at": at or datetime.now(UTC).isoformat(),
        "user": caller.user,
        "organisation": caller.organisation,
        "role": caller.role.value,
        "kind": kind,
        "what": what,
        "record_id": str(record_id),
        "client_id": str(client_id) if client_id else None,
        "purpose": purpose.value if purpose else NOT_STATED,
        "outcome": outcome,
    }


def record(
    log: AccessLog,
    caller: Caller,
    purpose: SharingPurpose | None,
    what: str,
    records: Sequence[tuple[object, UUID | None]],
    outcome: Outcome = "granted",
    kind: Kind = "read",
) -> None:
    """One entry per record, all in one append, at the one moment of the read."""
    at = datetime.now(UTC).isoformat()
    log.append([entry(caller, purpose, what, r, c, outcome, kind, at) for r, c in records])


def written(
    log: AccessLog,
    caller: Caller,
    purpose: SharingPurpose | None,
    what: str,
    record_id: object,
    client_id: UUID | None,
) -> None:
    """A write whose response returns personal data."""
    record(log, caller, purpose, what, [(record_id, client_id)], kind="write")


def route_target(request: Request) -> tuple[str, str, UUID | None]:
    """What a request reaches, from its route: (route path, record id, client id if named)."""
    route = request.scope.get("route")
    what = getattr(route, "path", request.url.path)
    params = request.path_params
    record_id = next(iter(params.values()), "") if params else str(request.query_params)
    client = params.get("client_id")
    try:
        client_id = UUID(str(client)) if client else None
    except ValueError:
        client_id = None
    return what, str(record_id), client_id


def require_role_audited(
    request: Request,
    caller: Caller,
    purpose: SharingPurpose | None,
    roles: frozenset[Role],
    doing: str,
) -> None:
    """require_role, recording a refusal (denied_role) against the route's record."""
    try:
        require_role(caller, roles, doing)
    except ForbiddenError:
        what, record_id, client_id = route_target(request)
        record(log_of(request), caller, purpose, what, [(record_id, client_id)], "denied_role")
        raise


def refuse(
    request: Request, caller: Caller, purpose: SharingPurpose | None, what: str, asked: str
) -> None:
    """Record a refused list filter (e.g. another organisation's referrals)."""
    record(log_of(request), caller, purpose, what, [(asked, None)], "refused")


def staff(request: Request, caller: CurrentCaller, purpose: Purpose) -> Caller:
    """Writers of personal data: treatment providers, CJIT and CARAT teams."""
    require_role_audited(request, caller, purpose, STAFF, "record personal data")
    return caller


def reader(request: Request, caller: CurrentCaller, purpose: Purpose) -> Caller:
    """Readers of personal data: staff and their organisation's administrators."""
    require_role_audited(request, caller, purpose, READERS, "read personal data")
    return caller


Staff = Annotated[Caller, Depends(staff)]
Reader = Annotated[Caller, Depends(reader)]


@dataclass
class Read:
    """What a route learns while reading, for the audit entry written when it ends."""

    client_id: UUID | None = None
    outcomes: dict[type[Exception], str] = field(default_factory=dict)


@contextmanager
def audited(
    log: AccessLog, caller: Caller, purpose: SharingPurpose | None, what: str, record_id: object
) -> Iterator[Read]:
    """Record the read when it ends: granted, denied_role (403), denied_scope (404 for a
    record that exists: the route sets `client_id` once it knows it) or not_found."""
    read = Read()
    outcome: Outcome = "granted"
    try:
        yield read
    except ForbiddenError:
        outcome = "denied_role"
        raise
    except NotVisibleError:
        outcome = "denied_scope" if read.client_id is not None else "not_found"
        raise
    finally:
        record(log, caller, purpose, what, [(record_id, read.client_id)], outcome)


class AuditEntryOut(BaseModel):
    seq: int = Field(description="Place in the service's audit chain.")
    at: datetime
    user: str
    organisation: str
    role: str
    kind: Kind
    what: str = Field(description="What was asked for (a record kind, or a route)")
    record_id: str
    client_id: UUID | None
    purpose: str = Field(description="The Purpose stated, or not_stated")
    outcome: Outcome


class AccessLogPage(BaseModel):
    client_id: UUID | None
    organisation: str | None
    entries: list[AuditEntryOut]
    after: int
    next_after: int = Field(description="Pass as ?after= for the next page.")
    has_more: bool
    generated_at: datetime


def access_log_routes(
    get_log: Callable[[Any], AccessLog], is_party_to_client: Callable[[Any, str, UUID], bool]
) -> APIRouter:
    """GET /access-log: the audit, for administrators, by client or by organisation."""
    from services.common.web import problems

    router = APIRouter(tags=["audit"])

    @router.get("/access-log", response_model=AccessLogPage, responses=problems(401, 403, 404, 422))
    def read_access_log(
        request: Request,
        caller: CurrentCaller,
        purpose: Purpose,
        client_id: UUID | None = None,
        organisation: Annotated[
            str | None, Query(max_length=64, description="Default: your own")
        ] = None,
        after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> AccessLogPage:
        """Every attempt to see personal data held here (reads, feed pages, writes that
        returned it; granted, denied_role, denied_scope, not_found, refused): who,
        organisation, role, what, when, the purpose stated and the outcome.

        With `client_id`: attempts on that client, for administrators of an organisation
        party to the client (otherwise 404). Otherwise: the attempts of your own
        organisation's users (`organisation` may only name your own: 403). Administrators
        only. Each refusal is itself audited."""
        require_role_audited(request, caller, purpose, ADMINISTRATORS, "read the access log")
        log = get_log(request)
        if client_id is not None:
            if not is_party_to_client(request, caller.organisation, client_id):
                refuse(request, caller, purpose, "access-log", f"client_id={client_id}")
                raise NotVisibleError(f"No client {client_id}.")
            rows = log.of_client(client_id, after, limit)
        else:
            if organisation not in (None, caller.organisation):
                refuse(request, caller, purpose, "access-log", f"organisation={organisation}")
                raise ForbiddenError("You may read your own organisation's access log only.")
            rows = log.of_organisation(caller.organisation, after, limit)
        page = rows[:limit]
        asked = f"client_id={client_id}" if client_id else f"organisation={caller.organisation}"
        record(log, caller, purpose, "access-log", [(asked, None)])
        return AccessLogPage(
            client_id=client_id,
            organisation=None if client_id else caller.organisation,
            entries=[AuditEntryOut.model_validate(row) for row in page],
            after=after,
            next_after=page[-1]["seq"] if page else after,
            has_more=len(rows) > limit,
            generated_at=datetime.now(UTC),
        )

    return router
