"""Person identity: which client registrations are one person, read forward from our log.

Matching rule (docs/person-identity.md): a new registration is the person of an earlier
registration with the same NHS number; without an NHS number match, of an earlier one with the
same attributors (initials, date of birth, sex, postcode area) whose NHS number does not differ.
The earliest such registration's person wins, so a match is reproducible from the log.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from services.referral.domain import Attributors, LinkBasis, attributors


@dataclass
class Persons:
    person_of: dict[UUID, UUID] = field(default_factory=dict)
    members: dict[UUID, set[UUID]] = field(default_factory=lambda: defaultdict(set))
    nhs_number_of: dict[UUID, str | None] = field(default_factory=dict)
    by_nhs_number: dict[str, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    by_attributors: dict[Attributors, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    # A link aggregate's client, for the audit of feed pages.
    link_client: dict[UUID, UUID] = field(default_factory=dict)

    def match(self, details: dict[str, Any]) -> tuple[UUID, LinkBasis] | None:
        """The known person a registration with these details is, and on what basis."""
        nhs_number = details.get("nhs_number")
        if nhs_number:
            for client_id in self.by_nhs_number.get(nhs_number, []):
                return self.person(client_id), LinkBasis.NHS_NUMBER
        key = attributors(**{k: details[k] for k in ATTRIBUTOR_FIELDS})
        for client_id in self.by_attributors.get(key, []) if key else []:
            known = self.nhs_number_of.get(client_id)
            if not (nhs_number and known and known != nhs_number):
                return self.person(client_id), LinkBasis.ATTRIBUTORS
        return None

    def person(self, client_id: UUID) -> UUID:
        """A registration stored before persons were linked is a person of its own."""
        return self.person_of.get(client_id, client_id)

    def registrations(self, person_id: UUID) -> set[UUID]:
        found = set(self.members.get(person_id, ()))
        if person_id in self.nhs_number_of and self.person(person_id) == person_id:
            found.add(person_id)  # registered before persons were linked
        return found

    def on_registered(self, client_id: UUID, event: Any) -> None:
        self.nhs_number_of[client_id] = event.nhs_number
        if event.nhs_number:
            self.by_nhs_number[event.nhs_number].append(client_id)
        key = attributors(**{k: getattr(event, k) for k in ATTRIBUTOR_FIELDS})
        if key:
            self.by_attributors[key].append(client_id)

    def on_linked(self, link_id: UUID, client_id: UUID, person_id: UUID) -> None:
        self.link_client[link_id] = client_id
        previous = self.person_of.get(client_id)
        if previous is not None:
            self.members[previous].discard(client_id)
        self.person_of[client_id] = person_id
        self.members[person_id].add(client_id)


ATTRIBUTOR_FIELDS = ("given_name", "family_name", "date_of_birth", "sex", "postcode_district")
