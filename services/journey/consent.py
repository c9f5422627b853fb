"""Who may see another organisation's part of a client's journey, as the journey service
learns it from the referral feed (DESIGN "Access and safety").

A consent is held by the organisation that obtained and recorded it, and opens only that
organisation's part: B sees A's episodes only under a consent held by A that names B and the
stated purpose, on a day it covers, and only while B has a live care relationship with the
client (a referral that was not declined or withdrawn, or an episode). The client's
withdrawal, recorded by any party, ends every consent recorded before it.
"""

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.common.codes import SharingPurpose

NAMESPACE = UUID("0d3c6a0e-3f57-4f0b-8a4c-5c9d1d7e9b11")


class ClientConsents(Aggregate):
    """One client's consents and care relationships: an internal record, never published."""

    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return uuid5(NAMESPACE, str(client_id))

    @event("ConsentsOpened")
    def __init__(self, client_id: UUID) -> None:
        self.consents: dict[str, dict[str, Any]] = {}
        self.relationships: dict[str, dict[str, Any]] = {}

    @event("ConsentRecorded")
    def record(
        self,
        on: date,
        referral_id: UUID,
        organisations: list[str],
        purposes: list[SharingPurpose],
        holder: str | None = None,
        ends_on: date | None = None,
    ) -> None:
        # Records stored before consents had holders name none: they open nothing.
        if holder is None:
            return
        self.consents[f"{referral_id}/{holder}"] = {
            "holder": holder,
            "organisations": set(organisations),
            "purposes": set(purposes),
            "given_on": on,
            "ends_on": ends_on,
        }

    @event("ConsentRevoked")
    def revoke(self, on: date, referral_id: UUID) -> None:
        """The client withdrew consent: every consent recorded before now ends (deny overrides
        permit); sharing again needs a new consent recorded by its holder."""
        self.consents = {}

    @event("RelationshipChanged")
    def relate(self, referral_id: UUID, organisations: list[str], live: bool) -> None:
        self.relationships[str(referral_id)] = {"organisations": set(organisations), "live": live}

    def in_care_relationship(self, organisation: str) -> bool:
        """Is the organisation party to a referral for the client that was not declined or
        withdrawn? (Its episodes count too; the journey service checks those itself.)"""
        return any(
            r["live"] and organisation in r["organisations"] for r in self.relationships.values()
        )

    def permits(self, viewer: str, owner: str, purpose: SharingPurpose, on: date) -> bool:
        """Does a standing consent held by `owner` let `viewer` see its part for `purpose`?"""
        return any(
            c["holder"] == owner
            and viewer in c["organisations"]
            and purpose in c["purposes"]
            and c["given_on"] <= on
            and (c["ends_on"] is None or on <= c["ends_on"])
            for c in self.consents.values()
        )


def shared_with(data: dict[str, Any], holder: str) -> list[str]:
    """Who a consent recorded on a referral may share the holder's part with: those it names
    and the referral's other parties (the DIP consent covers the referral both ways)."""
    consent = data["consent"]
    named = set(consent["share_with"]) | {data["receiving_organisation"]}
    if data.get("referring_organisation"):
        named.add(data["referring_organisation"])
    return sorted(named - {holder})
