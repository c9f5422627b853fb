"""The client's TOP care coordinator: the one organisation at a time that owns the client's
Treatment Outcomes Profiles (reference §5.4, TOPCC).

It is a per-client record, not an episode event: the rule "one open coordinator per client"
spans the client's episodes at several organisations, and one small aggregate per client makes
it hold atomically (two organisations naming themselves at once conflict on its version).

Its namings and endings are published on the journey feed (CoordinatorNamed, CoordinatorEnded:
the client and the coordinating organisation), so the reporting service can fill the national
return's TOPCC item; the record's creation (CoordinationOpened) is internal. Events recorded
before `client_id` and `organisation` were added to them lack those fields.
"""

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.journey.steps.base import JourneyError

NAMESPACE = UUID("6f1d2c55-7a7e-4c57-9a43-2f0f3f1c0b7e")


class CoordinatorAlreadyOpenError(JourneyError):
    """The client already has an open TOP care coordinator: end it first."""


class NoOpenCoordinatorError(JourneyError):
    """The client has no open TOP care coordinator to end."""


class TopCareCoordination(Aggregate):
    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return uuid5(NAMESPACE, str(client_id))

    @event("CoordinationOpened")
    def __init__(self, client_id: UUID) -> None:
        self.client_id = client_id
        self.coordinators: list[dict[str, Any]] = []

    @property
    def current(self) -> dict[str, Any] | None:
        return next((c for c in self.coordinators if c["ended_on"] is None), None)

    def name(self, organisation: str, on: date, by: dict[str, str]) -> None:
        current = self.current
        if current is not None:
            raise CoordinatorAlreadyOpenError(
                f"{current['organisation']} is the TOP care coordinator since {current['from']}."
            )
        self._named(organisation=organisation, on=on, by=by, client_id=self.client_id)

    def end(self, on: date, by: dict[str, str]) -> None:
        current = self.current
        if current is None:
            raise NoOpenCoordinatorError("The client has no open TOP care coordinator.")
        if on < current["from"]:
            raise NoOpenCoordinatorError(f"The coordinator was named on {current['from']}.")
        self._ended(on=on, by=by, client_id=self.client_id, organisation=current["organisation"])

    @event("CoordinatorNamed")
    def _named(
        self, organisation: str, on: date, by: dict[str, str], client_id: UUID | None = None
    ) -> None:
        self.coordinators.append(
            {"organisation": organisation, "from": on, "ended_on": None, "named_by": by}
        )

    @event("CoordinatorEnded")
    def _ended(
        self,
        on: date,
        by: dict[str, str],
        client_id: UUID | None = None,
        organisation: str | None = None,
    ) -> None:
        current = self.current
        if current is not None:
            current["ended_on"] = on
