"""The referral application: commands and queries in plain types over the event store."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from services.common import codes
from services.common.clock import today
from services.common.errors import ForbiddenError, NotVisibleError
from services.common.feed import FeedItem
from services.common.log_index import LogIndex
from services.common.store import JsonApplication, Receipt
from services.referral.domain import (
    Client,
    ClientNotFoundError,
    LinkBasis,
    OnlyRegistrationError,
    PersonLink,
    Referral,
    ReferralNotFoundError,
    ReferralStatus,
    SamePersonError,
    UnknownClientError,
    VersionMismatchError,
)
from services.referral.persons import Persons

# Which organisations may make each decision on a referral.
DECIDERS = {
    "accept": lambda r: {r.receiving_organisation},
    "decline": lambda r: {r.receiving_organisation},
    "withdraw": lambda r: {r.made_by["organisation"], r.referring_organisation} - {None},
    # Each party records its own consent (it is the holder); the client's withdrawal may be
    # recorded by any party.
    "change_consent": lambda r: r.parties,
    "withdraw_consent": lambda r: r.parties,
}


@dataclass
class ReferralSummary:
    id: UUID
    client_id: UUID
    receiving_organisation: str
    parties: set[str]
    status: ReferralStatus
    referral_date: date


@dataclass
class Parties:
    """Who is party to what, read forward from our own log (see LogIndex)."""

    referrals: dict[UUID, ReferralSummary] = field(default_factory=dict)
    clients: dict[UUID, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Positions in our log: when each (referral, holder) consent was last recorded, and when
    # each client last withdrew consent (which ends every consent recorded before it).
    consent_recorded: dict[tuple[UUID, str], int] = field(default_factory=dict)
    consent_withdrawn: dict[UUID, int] = field(default_factory=dict)


class ReferralApplication(JsonApplication):
    name = "referral"
    enums = (*codes.CODED_LISTS.values(), ReferralStatus, LinkBasis)

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._parties = Parties()
        self._persons = Persons()
        self.log_index = LogIndex(self, self._index_event)

    # Commands. Each takes the request's Idempotency-Key (a Receipt, or None) and answers
    # (aggregate, ids created): a key seen before answers its first result, before any rule is
    # checked again.

    def register_client(
        self, by: dict[str, str], receipt: Receipt | None, **details: Any
    ) -> tuple[Client, dict[str, str]]:
        """Register a client, linked to the known person it matches or to a new one. The
        same two events are recorded either way, and the answer is the client alone."""
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        self.log_index.catch_up()
        client = Client(on=today(), by=by, **details)
        person_id, basis = self._persons.match(details) or (client.id, LinkBasis.NEW)
        link = PersonLink(on=today(), by=by, client_id=client.id, person_id=person_id, basis=basis)
        return self.save_keyed(receipt, client, link)

    def merge_persons(
        self, by: dict[str, str], receipt: Receipt | None, into_client_id: UUID, client_id: UUID
    ) -> tuple[PersonLink, dict[str, str]]:
        """Every registration of client_id's person becomes into_client_id's person. The
        administrator's organisation must be party to one of the two. Answers client_id's
        link."""
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        organisation = by["organisation"]
        for known in (into_client_id, client_id):
            self.get_client(known)
        if not any(self.is_party_to_client(organisation, c) for c in (into_client_id, client_id)):
            raise NotVisibleError(f"No client {client_id}.")
        into, person = self._persons.person(into_client_id), self._persons.person(client_id)
        if into == person:
            raise SamePersonError("The two registrations are already one person.")
        moved = sorted(self._persons.registrations(person), key=lambda c: c != client_id)
        links = [self._relink(by, c, into, LinkBasis.MERGE) for c in moved]
        return self.save_keyed(receipt, *links)

    def split_person(
        self, by: dict[str, str], receipt: Receipt | None, client_id: UUID
    ) -> tuple[PersonLink, dict[str, str]]:
        """The registration becomes a person of its own (a wrong match undone)."""
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        self.visible_client(by["organisation"], client_id)
        person = self._persons.person(client_id)
        if self._persons.registrations(person) == {client_id}:
            raise OnlyRegistrationError("The registration is the only one of its person.")
        link = self._relink(by, client_id, uuid4(), LinkBasis.SPLIT)
        return self.save_keyed(receipt, link)

    def _relink(
        self, by: dict[str, str], client_id: UUID, person_id: UUID, basis: LinkBasis
    ) -> PersonLink:
        try:
            link: Any = self.repository.get(PersonLink.create_id(client_id))
        except AggregateNotFoundError:  # registered before persons were linked
            return PersonLink(
                on=today(), by=by, client_id=client_id, person_id=person_id, basis=basis
            )
        link.relink(on=today(), by=by, person_id=person_id, basis=basis)
        assert isinstance(link, PersonLink)
        return link

    def make_referral(
        self, by: dict[str, str], receipt: Receipt | None, client_id: UUID, **details: Any
    ) -> tuple[Referral, dict[str, str]]:
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        organisation = by["organisation"]
        if not self.is_party_to_client(organisation, client_id):
            raise UnknownClientError(f"No client {client_id} is registered with you.")
        referrer = details.get("referring_organisation")
        if referrer not in (None, organisation):
            raise ForbiddenError(
                "The referring organisation is the caller's: leave referring_organisation "
                f"out or set it to {organisation}."
            )
        # A referral the receiver records itself came from outside the system (self, GP,
        # ...): it has no referring organisation. Any other is made by the caller's.
        receiving = details["receiving_organisation"]
        details["referring_organisation"] = None if receiving == organisation else organisation
        referral = Referral.make(self.get_client(client_id), today(), by=by, **details)
        return self.save_keyed(receipt, referral)

    def decide(
        self,
        referral_id: UUID,
        decision: str,
        by: dict[str, str],
        receipt: Receipt | None,
        expected_version: int | None = None,
        **details: Any,
    ) -> tuple[Referral, dict[str, str]]:
        """Accept, decline, withdraw, or change or withdraw consent (decision names it)."""
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        referral = self.visible_referral(by["organisation"], referral_id)
        if by["organisation"] not in DECIDERS[decision](referral):
            raise ForbiddenError(f"Your organisation may not {decision.replace('_', ' ')} it.")
        if expected_version is not None and expected_version != referral.version:
            raise VersionMismatchError(
                f"The referral is at version {referral.version}, not {expected_version}."
            )
        getattr(referral, decision)(by=by, today=today(), **details)
        return self.save_keyed(receipt, referral)

    def record_profile(
        self,
        client_id: UUID,
        by: dict[str, str],
        receipt: Receipt | None,
        on: date,
        items: dict[str, Any],
        expected_version: int | None = None,
    ) -> tuple[Client, dict[str, str]]:
        """Only an organisation party to the client records its profile."""
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        client = self.visible_client(by["organisation"], client_id)
        if expected_version is not None and expected_version != client.version:
            raise VersionMismatchError(
                f"The client is at version {client.version}, not {expected_version}."
            )
        client.record_profile(on, by, today(), items)
        return self.save_keyed(receipt, client)

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

    def get_client_or_none(self, client_id: UUID) -> Client | None:
        try:
            return self.get_client(client_id)
        except ClientNotFoundError:
            return None

    def get_referral_or_none(self, referral_id: UUID) -> Referral | None:
        try:
            return self.get_referral(referral_id)
        except ReferralNotFoundError:
            return None

    def visible_client(self, organisation: str, client_id: UUID) -> Client:
        client = self.get_client(client_id)
        if not self.is_party_to_client(organisation, client_id):
            raise NotVisibleError(f"No client {client_id}.")
        return client

    def visible_referral(self, organisation: str, referral_id: UUID) -> Referral:
        referral = self.get_referral(referral_id)
        if organisation not in referral.parties:
            raise NotVisibleError(f"No referral {referral_id}.")
        return referral

    def is_party_to_client(self, organisation: str, client_id: UUID) -> bool:
        self.log_index.catch_up()
        return organisation in self._parties.clients.get(client_id, set())

    def is_party_to(self, organisation: str, aggregate_id: UUID) -> bool:
        """For the feed: is this organisation party to the client or referral?"""
        self.log_index.catch_up()
        referral = self._parties.referrals.get(aggregate_id)
        if referral is not None:
            return organisation in referral.parties
        return organisation in self._parties.clients.get(aggregate_id, set())

    def standing_consents(self, referral: Referral) -> list[dict[str, Any]]:
        """The referral's consents that still stand today: each recorded after the client's
        last withdrawal (on any referral) and not past its end date."""
        self.log_index.catch_up()
        withdrawn = self._parties.consent_withdrawn.get(referral.client_id, 0)
        return [
            {**consent, "holder": holder}
            for holder, consent in sorted(referral.consents.items())
            if self._parties.consent_recorded.get((referral.id, holder), 0) > withdrawn
            and (consent.get("ends_on") is None or consent["ends_on"] >= today())
        ]

    def clients_of(self, items: list[FeedItem]) -> list[UUID | None]:
        """For the audit of feed pages: the client whose data each feed item carries."""
        self.log_index.catch_up()
        clients: list[UUID | None] = []
        for item in items:
            referral = self._parties.referrals.get(item.aggregate_id)
            if referral is not None:
                clients.append(referral.client_id)
            elif item.aggregate_id in self._persons.link_client:
                clients.append(self._persons.link_client[item.aggregate_id])
            else:
                known = item.aggregate_id in self._parties.clients
                clients.append(item.aggregate_id if known else None)
        return clients

    def referrals_received(
        self,
        organisation: str,
        status: ReferralStatus | None = None,
        made_from: date | None = None,
        made_to: date | None = None,
    ) -> list[ReferralSummary]:
        """Referrals to an organisation, oldest first, filtered by status and referral date."""
        self.log_index.catch_up()
        matches = [
            s
            for s in self._parties.referrals.values()
            if s.receiving_organisation == organisation
            and (status is None or s.status is status)
            and (made_from is None or s.referral_date >= made_from)
            and (made_to is None or s.referral_date <= made_to)
        ]
        matches.sort(key=lambda s: (s.referral_date, str(s.id)))
        return matches

    def _consent_recorded(self, event: Any) -> None:
        holder = event.by["organisation"]
        self._parties.consent_recorded[event.originator_id, holder] = self.log_index.position

    def _index_event(self, event: Any) -> None:
        name = type(event).__name__
        if name == "ClientRegistered":
            self._parties.clients[event.originator_id].add(event.by["organisation"])
            self._persons.on_registered(event.originator_id, event)
        elif name in ("PersonLinked", "PersonRelinked"):
            self._persons.on_linked(event.originator_id, event.client_id, event.person_id)
        elif name == "ReferralMade":
            parties = {event.by["organisation"], event.receiving_organisation}
            if event.referring_organisation:
                parties.add(event.referring_organisation)
            self._parties.referrals[event.originator_id] = ReferralSummary(
                id=event.originator_id,
                client_id=event.client_id,
                receiving_organisation=event.receiving_organisation,
                parties=parties,
                status=ReferralStatus.PENDING,
                referral_date=event.on,
            )
            self._parties.clients[event.client_id] |= parties
            if event.consent:
                holder = event.by["organisation"]
                self._parties.consent_recorded[event.originator_id, holder] = (
                    self.log_index.position
                )
        elif name == "ConsentChanged":
            holder = event.by["organisation"]
            self._parties.consent_recorded[event.originator_id, holder] = self.log_index.position
        elif name == "ConsentWithdrawn":
            self._parties.consent_withdrawn[event.client_id] = self.log_index.position
        elif name in STATUS_AFTER and event.originator_id in self._parties.referrals:
            self._parties.referrals[event.originator_id].status = STATUS_AFTER[name]


STATUS_AFTER = {
    "ReferralAccepted": ReferralStatus.ACCEPTED,
    "ReferralDeclined": ReferralStatus.DECLINED,
    "ReferralWithdrawn": ReferralStatus.WITHDRAWN,
}
