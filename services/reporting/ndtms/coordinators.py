"""TOP care coordinators for the national return's TOPCC item ("is this agency the client's TOP
care coordinator?", reference §5.4), projected from the journey feed.

A coordinator coordinates from the day it is named up to the day before its ending: ended on d
and the next named on d, the next one is the coordinator on d.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, insert, select, update

from services.catalogue import require
from services.common.feed import FeedItem
from services.reporting.ndtms.models import TopCoordinatorRow

AGGREGATE = "TopCareCoordination"
NAMED = require("journey", "CoordinatorNamed", "client_id", "organisation")
ENDED = require("journey", "CoordinatorEnded", "client_id", "organisation")


def project(connection: Connection, item: FeedItem) -> None:
    """A naming opens a row, an ending closes the open one. A naming recorded before the events
    carried the client cannot be placed and is left out (its ending then finds no row)."""
    coordination_id = str(item.aggregate_id)
    if item.type == NAMED and item.data.get("client_id"):
        connection.execute(
            insert(TopCoordinatorRow).values(
                coordination_id=coordination_id,
                client_id=str(item.data["client_id"]),
                organisation=item.data["organisation"],
                from_on=item.business_date,
                recorded_at=item.recorded_at,
            )
        )
    elif item.type == ENDED:
        connection.execute(
            update(TopCoordinatorRow)
            .where(
                TopCoordinatorRow.coordination_id == coordination_id,
                TopCoordinatorRow.ended_on.is_(None),
            )
            .values(ended_on=item.business_date, ended_recorded_at=item.recorded_at)
        )


@dataclass(frozen=True)
class Coordinator:
    organisation: str
    from_on: date
    ended_on: date | None

    def on(self, day: date) -> bool:
        return self.from_on <= day and (self.ended_on is None or day < self.ended_on)


def coordinators(
    connection: Connection, client_ids: list[str], known_at: datetime
) -> dict[str, list[Coordinator]]:
    """Each client's coordinators as known at `known_at` (an ending recorded later is no
    ending yet)."""
    found: dict[str, list[Coordinator]] = defaultdict(list)
    T = TopCoordinatorRow
    query = select(T.client_id, T.organisation, T.from_on, T.ended_on, T.ended_recorded_at).where(
        T.client_id.in_(client_ids), T.recorded_at <= known_at
    )
    for client_id, organisation, from_on, ended_on, ended_at in connection.execute(query):
        if ended_at is not None and utc(ended_at) > known_at:
            ended_on = None
        named_on = as_date(from_on) or date.min  # never null (the column is not nullable)
        found[client_id].append(Coordinator(organisation, named_on, as_date(ended_on)))
    return found


def is_coordinator(found: list[Coordinator], organisation: str, day: date) -> bool | None:
    """Y/N for TOPCC: whether the organisation coordinated on the day; not held (None) when no
    coordinator was ever named for the client (as known)."""
    if not found:
        return None
    return any(c.organisation == organisation and c.on(day) for c in found)


def as_date(value: object) -> date | None:
    """A date column read as text (SQLite) or as a date (PostgreSQL)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
