"""Publications: a commissioner freezes a named set of figures (period, scope, known_at = now)
and reads them back exactly as published, beside the figures as known now and the revisions
between them (DESIGN.md, "Commissioners' reporting").

A publication is an event in its own store (a sibling SQLite file, or the
publications_events table), not a read-model table: read models are derived from the feeds
and are dropped and rebuilt at will (`make rebuild-reporting`), while a publication is a fact
the commissioner recorded, which no feed holds and no rebuild may lose. The event carries the
figures as they were shown, so "as published" does not depend on the read models, nor on
events recorded before `known_at` but applied after it (those show as revisions).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field

from services.common.access import require_role
from services.common.auth import Caller, CurrentCaller, Role
from services.common.errors import NotVisibleError
from services.common.log_index import LogIndex
from services.common.schemas import Day, OrganisationCode, StrictIn
from services.common.web import problems
from services.reporting import queries
from services.reporting.api import (
    AREA_PATTERN,
    applied_positions,
    differences,
    figures_scope,
    kpi_figures,
)
from services.reporting.disclosure import RULES, disclose
from services.reporting.kpis import Period
from services.reporting.schemas import PeriodOut, ScopeOut

COMMISSIONERS = frozenset({Role.COMMISSIONER})


@dataclass(frozen=True)
class Published(DomainEvent):
    publication: dict[str, Any]


class PublicationLog(Application[Any]):
    """Every publication, one event each; read through an index kept from the store."""

    name = "Publications"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._by_id: dict[str, dict[str, Any]] = {}
        self._index = LogIndex(self, self._index_event)

    def publish(self, publication: dict[str, Any]) -> dict[str, Any]:
        """Record it; a publication with the same id (a retry) answers the one recorded."""
        event = Published(
            originator_id=UUID(publication["id"]),
            originator_version=1,
            timestamp=datetime.now(UTC),
            publication=publication,
        )
        try:
            self.recorder.insert_events([self.mapper.to_stored_event(event)])
        except IntegrityError:
            pass
        found = self.get(publication["id"])
        assert found is not None
        return found

    def get(self, publication_id: str) -> dict[str, Any] | None:
        self._index.catch_up()
        return self._by_id.get(publication_id)

    def of_organisation(self, organisation: str) -> list[dict[str, Any]]:
        self._index.catch_up()
        return [p for p in self._by_id.values() if p["organisation"] == organisation]

    def _index_event(self, event: Any) -> None:
        if isinstance(event, Published):
            self._by_id[event.publication["id"]] = event.publication


def publication_log_env(store: dict[str, str]) -> dict[str, str]:
    """Beside the read models: a sibling SQLite file, or its own PostgreSQL table."""
    env = dict(store)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        env["SQLITE_DBNAME"] = env["SQLITE_DBNAME"].removesuffix(".db") + ".publications.db"
    else:
        env.update(POSTGRES_POOL_SIZE="2", POSTGRES_MAX_OVERFLOW="2")
    return env


class PublicationIn(StrictIn):
    name: str = Field(min_length=1, max_length=200)
    period_start: Day
    period_end: Day
    organisation: OrganisationCode | None = Field(
        default=None, description="One organisation's figures; absent: an area or England-wide."
    )
    area: str | None = Field(
        default=None, pattern=AREA_PATTERN, description="A postcode area, e.g. LS"
    )


class PublicationSummary(BaseModel):
    id: UUID
    name: str
    organisation: str = Field(description="The commissioner's organisation that published it.")
    published_by: str
    period: PeriodOut
    scope: ScopeOut
    known_at: datetime = Field(description="The figures are those known at this time.")


class Revision(BaseModel):
    figure: str = Field(description="Dotted path of the figure, e.g. waiting_times.started.count")
    known_at: Any = Field(description="As published")
    current: Any = Field(description="As known now")


class PublicationOut(PublicationSummary):
    disclosure_control: dict[str, Any]
    published: dict[str, Any] = Field(description="The figures exactly as published.")
    current: dict[str, Any] = Field(description="The same figures as known now.")
    revisions: list[Revision] = Field(description="Every figure that changed since publication.")


class PublicationList(BaseModel):
    publications: list[PublicationSummary]


router = APIRouter(tags=["publications"])


def log_of(request: Request) -> PublicationLog:
    log: PublicationLog = request.app.state.publications
    return log


def figures_now(
    request: Request, publication: dict[str, Any], known_at: datetime | None
) -> dict[str, Any]:
    scope = queries.Scope(**publication["scope"])
    period = Period(
        date.fromisoformat(publication["period"]["start"]),
        date.fromisoformat(publication["period"]["end"]),
    )
    knowledge = queries.Knowledge(None, known_at)
    [figures] = kpi_figures(request, scope, period, [knowledge], applied_positions(request))
    shown: dict[str, Any] = disclose(figures)
    return shown


def visible(request: Request, caller: Caller, publication_id: UUID) -> dict[str, Any]:
    publication = log_of(request).get(str(publication_id))
    if publication is None or publication["organisation"] != caller.organisation:
        raise NotVisibleError(str(publication_id))
    return publication


@router.post(
    "/publications",
    status_code=201,
    response_model=PublicationOut,
    responses=problems(401, 403, 422),
)
def publish(
    request: Request,
    response: Response,
    caller: CurrentCaller,
    body: PublicationIn,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Commissioners only: freeze the KPIs for a period and scope as known now, under
    disclosure control (the period is a calendar month, quarter or financial year). The
    publication belongs to your organisation. With an `Idempotency-Key`, a retry answers the
    publication already made."""
    require_role(caller, COMMISSIONERS, "publish figures")
    period = Period(body.period_start, body.period_end)
    organisation = figures_scope(caller, body.organisation, body.area, period, None)
    known_at = datetime.now(UTC)
    key = f"{caller.organisation}/{idempotency_key}" if idempotency_key else None
    publication = {
        "id": str(uuid5(NAMESPACE_URL, f"publication/{key}") if key else uuid4()),
        "name": body.name,
        "organisation": caller.organisation,
        "published_by": caller.user,
        "period": {"start": body.period_start.isoformat(), "end": body.period_end.isoformat()},
        "scope": {"organisation": organisation, "area": body.area},
        "known_at": known_at.isoformat(),
    }
    publication["figures"] = figures_now(request, publication, known_at)
    recorded = log_of(request).publish(publication)
    response.headers["Location"] = f"/publications/{recorded['id']}"
    return as_read(recorded, recorded["figures"])


def as_read(publication: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    published = publication["figures"]
    return {
        **{k: v for k, v in publication.items() if k != "figures"},
        "disclosure_control": RULES,
        "published": published,
        "current": current,
        "revisions": differences(published, current),
    }


@router.get(
    "/publications/{publication_id}",
    response_model=PublicationOut,
    responses=problems(401, 403, 404, 422),
)
def read_publication(
    request: Request, caller: CurrentCaller, publication_id: UUID
) -> dict[str, Any]:
    """One of your organisation's publications: the figures exactly as published, the same
    figures as known now (late entries and corrections since), and the revisions between
    them. Another organisation's publication is 404, like one that does not exist."""
    require_role(caller, COMMISSIONERS, "read publications")
    publication = visible(request, caller, publication_id)
    return as_read(publication, figures_now(request, publication, None))


@router.get("/publications", response_model=PublicationList, responses=problems(401, 403))
def list_publications(request: Request, caller: CurrentCaller) -> dict[str, Any]:
    """Your organisation's publications, oldest first (without their figures)."""
    require_role(caller, COMMISSIONERS, "read publications")
    found = log_of(request).of_organisation(caller.organisation)
    return {"publications": sorted(found, key=lambda p: (p["known_at"], p["id"]))}
