"""The client's consent to share, as the journey service learns it from the referral feed.

A consent travels with a referral: the organisations it names, plus the referring and the
receiving organisation, may share the client's journey for the purposes it names, until it
is withdrawn. An organisation always sees its own episodes.
"""

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.common.codes import SharingPurpose

NAMESPACE = UUID("0d3c6a0e-3f57-4f0b-8a4c-5c9d1d7e9b11")


class ClientConsents(Aggregate):
    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return uuid5(NAMESPACE, str(client_id))

    @event("ConsentsOpened")
    def __init__(self, client_id: UUID) -> None:
        self.consents: dict[str, dict[str, Any]] = {}

    @event("ConsentRecorded")
    def record(
        self, on: date, referral_id: UUID, organisations: list[str], purposes: list[SharingPurpose]
    ) -> None:
        self.consents[str(referral_id)] = {
            "organisations": set(organisations),
            "purposes": set(purposes),
        }

    @event("ConsentRevoked")
    def revoke(self, on: date, referral_id: UUID) -> None:
        self.consents.pop(str(referral_id), None)

    def permits(self, viewer: str, owner: str, purpose: SharingPurpose) -> bool:
        """Does a standing consent let `viewer` see `owner`'s part for this purpose?"""
        return any(
            {viewer, owner} <= c["organisations"] and purpose in c["purposes"]
            for c in self.consents.values()
        )


def organisations_of(data: dict[str, Any], consent: dict[str, Any]) -> list[str]:
    """Who a consent lets share: those it names, the referrer and the receiver."""
    named = set(consent["share_with"]) | {data["receiving_organisation"]}
    if data.get("referring_organisation"):
        named.add(data["referring_organisation"])
    return sorted(named)
