"""Who may see what: roles, the stated purpose of a read, and the audit of every read."""

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from fastapi import Depends, Header

from services.common.auth import Caller, CurrentCaller, Role
from services.common.clock import today
from services.common.codes import SharingPurpose
from services.common.errors import ForbiddenError, NotVisibleError
from services.common.log_index import LogIndex
from services.common.store import JsonApplication

STAFF = frozenset({Role.PROVIDER, Role.CJIT, Role.CARAT})
READERS = STAFF | {Role.ADMINISTRATOR}


ACCESS_ERRORS: dict[type[Exception], tuple[int, str]] = {
    NotVisibleError: (404, "not-found"),
    ForbiddenError: (403, "forbidden"),
}


def require_role(caller: Caller, roles: frozenset[Role], doing: str) -> None:
    if caller.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise ForbiddenError(f"A {caller.role.value} may not {doing} (allowed: {allowed}).")


def staff(caller: CurrentCaller) -> Caller:
    """Writers of personal data: treatment providers, CJIT and CARAT teams."""
    require_role(caller, STAFF, "record personal data")
    return caller


def reader(caller: CurrentCaller) -> Caller:
    """Readers of personal data: staff and their organisation's administrators."""
    require_role(caller, READERS, "read personal data")
    return caller


def stated_purpose(
    purpose: Annotated[
        SharingPurpose | None,
        Header(
            alias="Purpose",
            description="Why you read this (a sharing purpose from GET /codes); it is audited "
            "and must be covered by a consent held by another organisation to see its part. "
            "Absent: audited as not stated, and only your own organisation's part is shown.",
        ),
    ] = None,
) -> SharingPurpose | None:
    return purpose


Staff = Annotated[Caller, Depends(staff)]
Reader = Annotated[Caller, Depends(reader)]
Purpose = Annotated[SharingPurpose | None, Depends(stated_purpose)]


class AccessEvent(Aggregate):
    """One read (or attempted read) of personal data."""

    @event("ReadRecorded")
    def __init__(
        self,
        on: Any,
        by: dict[str, str],
        role: str,
        what: str,
        record_id: str,
        client_id: UUID | None,
        purpose: SharingPurpose | None,
        outcome: str,
    ) -> None:
        self.at = self.created_on
        self.by, self.role, self.what, self.record_id = by, role, what, record_id
        self.client_id, self.purpose, self.outcome = client_id, purpose, outcome


class AccessLog(JsonApplication):
    """The audit of reads: its own store (table or file), so reads never enter a feed."""

    enums = (SharingPurpose,)

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._by_client: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
        self._index = LogIndex(self, self._index_event)

    def record(
        self,
        caller: Caller,
        what: str,
        record_id: str,
        client_id: UUID | None,
        purpose: SharingPurpose | None,
        outcome: str,
    ) -> None:
        self.record_many(caller, what, [(record_id, client_id)], purpose, outcome)

    def record_many(
        self,
        caller: Caller,
        what: str,
        records: Sequence[tuple[str, UUID | None]],
        purpose: SharingPurpose | None,
        outcome: str,
    ) -> None:
        """One access event per record read, all in one transaction."""
        by = {"organisation": caller.organisation, "user": caller.user}
        self.save(
            *(
                AccessEvent(
                    on=today(),
                    by=by,
                    role=caller.role.value,
                    what=what,
                    record_id=record_id,
                    client_id=client_id,
                    purpose=purpose,
                    outcome=outcome,
                )
                for record_id, client_id in records
            )
        )

    def reads_of_client(self, client_id: UUID) -> list[dict[str, Any]]:
        self._index.catch_up()
        return list(self._by_client.get(client_id, []))

    def _index_event(self, read: Any) -> None:
        if read.client_id is not None:
            self._by_client[read.client_id].append(
                {
                    "at": read.timestamp,
                    "organisation": read.by["organisation"],
                    "user": read.by["user"],
                    "role": read.role,
                    "what": read.what,
                    "record_id": read.record_id,
                    "purpose": read.purpose.value if read.purpose else "not_stated",
                    "outcome": read.outcome,
                }
            )


def access_log_env(store: dict[str, str]) -> dict[str, str]:
    """Beside the service's store: a sibling SQLite file, or its own PostgreSQL table
    (accesslog_events, named after the application)."""
    env = dict(store)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        env["SQLITE_DBNAME"] = env["SQLITE_DBNAME"].removesuffix(".db") + ".access.db"
    return env


@dataclass
class Read:
    """What a route learns while reading, for the audit entry written when it ends."""

    client_id: UUID | None = None
    outcomes: dict[type[Exception], str] = field(default_factory=dict)


@contextmanager
def audited(
    log: AccessLog, caller: Caller, purpose: SharingPurpose | None, what: str, record_id: object
) -> Iterator[Read]:
    """Record the read when it ends: granted, denied (403) or not found/not visible (404)."""
    read = Read()
    try:
        yield read
    except ForbiddenError:
        log.record(caller, what, str(record_id), read.client_id, purpose, "denied")
        raise
    except NotVisibleError:
        outcome = "denied" if read.client_id is not None else "not_found"
        log.record(caller, what, str(record_id), read.client_id, purpose, outcome)
        raise
    log.record(caller, what, str(record_id), read.client_id, purpose, "granted")


def access_log_routes(
    get_log: Callable[[Any], AccessLog], is_party_to_client: Callable[[Any, str, UUID], bool]
) -> Any:
    """GET /access-log?client_id=: who read a client's record, for administrators of an
    organisation party to that client."""
    from fastapi import APIRouter, Request

    from services.common.web import problems

    router = APIRouter(tags=["audit"])

    @router.get("/access-log", responses=problems(401, 403, 404, 422))
    def read_access_log(request: Request, caller: CurrentCaller, client_id: UUID) -> dict[str, Any]:
        """Every read of this client's personal data held here: who, organisation, what,
        when, why (the stated purpose) and the outcome (granted, denied, not_found)."""
        require_role(caller, frozenset({Role.ADMINISTRATOR}), "read the access log")
        if not is_party_to_client(request, caller.organisation, client_id):
            raise NotVisibleError(f"No client {client_id}.")
        reads = get_log(request).reads_of_client(client_id)
        return {"client_id": str(client_id), "reads": reads, "generated_at": datetime.now(UTC)}

    return router
