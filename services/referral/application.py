"""The referral application: commands and queries in plain types over the event store."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.common import codes
from services.common.clock import today
from services.common.log_index import LogIndex
from services.common.store import JsonApplication
from services.referral.domain import (
    Client,
    ClientNotFoundError,
    ConcurrentChangeError,
    Referral,
    ReferralNotFoundError,
    ReferralStatus,
    UnknownClientError,
    VersionMismatchError,
)


@dataclass
class ReferralSummary:
    id: UUID
    receiving_organisation: str
    referring_organisation: str | None
    status: ReferralStatus
    referral_date: date


class ReferralApplication(JsonApplication):
    name = "referral"
    enums = (*codes.CODED_LISTS.values(), ReferralStatus)

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._index: dict[UUID, ReferralSummary] = {}
        self._log_index = LogIndex(self, self._index_event)

    # Commands

    def register_client(self, by: dict[str, str], **details: Any) -> Client:
        client = Client(on=today(), by=by, **details)
        self.save(client)
        return client

    def make_referral(self, by: dict[str, str], client_id: UUID, **details: Any) -> Referral:
        try:
            client = self.get_client(client_id)
        except ClientNotFoundError:
            raise UnknownClientError(f"No client {client_id} is registered.") from None
        referral = Referral.make(client, today(), by=by, **details)
        self.save(referral)
        return referral

    def decide(
        self,
        referral_id: UUID,
        decision: str,
        expected_version: int | None = None,
        **details: Any,
    ) -> Referral:
        """Accept, decline or withdraw a referral (decision names the command)."""
        referral = self.get_referral(referral_id)
        if expected_version is not None and expected_version != referral.version:
            raise VersionMismatchError(
                f"The referral is at version {referral.version}, not {expected_version}."
            )
        getattr(referral, decision)(today=today(), **details)
        try:
            self.save(referral)
        except IntegrityError:
            raise ConcurrentChangeError(f"Referral {referral_id} changed meanwhile.") from None
        return referral

    # Queries

    def get_client(self, client_id: UUID) -> Client:
        try:
            client: Any = self.repository.get(client_id)
        except AggregateNotFoundError:
            raise ClientNotFoundError(f"No client {client_id}.") from None
        if not isinstance(client, Client):
            raise ClientNotFoundError(f"No client {client_id}.")
        return client

    def get_referral(self, referral_id: UUID) -> Referral:
        try:
            referral: Any = self.repository.get(referral_id)
        except AggregateNotFoundError:
            raise ReferralNotFoundError(f"No referral {referral_id}.") from None
        if not isinstance(referral, Referral):
            raise ReferralNotFoundError(f"No referral {referral_id}.")
        return referral

    def referrals_received(
        self,
        organisation: str,
        status: ReferralStatus | None = None,
        made_from: date | None = None,
        made_to: date | None = None,
    ) -> list[Referral]:
        """Referrals to an organisation, oldest first, filtered by status and referral date."""
        self._log_index.catch_up()
        matches = [
            s
            for s in self._index.values()
            if s.receiving_organisation == organisation
            and (status is None or s.status is status)
            and (made_from is None or s.referral_date >= made_from)
            and (made_to is None or s.referral_date <= made_to)
        ]
        matches.sort(key=lambda s: (s.referral_date, str(s.id)))
        return [self.get_referral(s.id) for s in matches]

    def _index_event(self, event: Any) -> None:
        if isinstance(event, Referral.ReferralMade):  # type: ignore[attr-defined]
            self._index[event.originator_id] = ReferralSummary(
                id=event.originator_id,
                receiving_organisation=event.receiving_organisation,
                referring_organisation=event.referring_organisation,
                status=ReferralStatus.PENDING,
                referral_date=event.on,
            )
            return
        summary = self._index.get(event.originator_id)
        statuses = {
            "ReferralAccepted": ReferralStatus.ACCEPTED,
            "ReferralDeclined": ReferralStatus.DECLINED,
            "ReferralWithdrawn": ReferralStatus.WITHDRAWN,
        }
        if summary is not None and type(event).__name__ in statuses:
            summary.status = statuses[type(event).__name__]
