"""Clients and referrals: rules in public commands, state changes in @event methods."""

import re
from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.common.codes import (
    AccommodationNeed,
    DeclineReason,
    Employment,
    Ethnicity,
    HandoverKind,
    ParentalStatus,
    PriorityFlag,
    ReferralSource,
    Religion,
    Sex,
    SexualOrientation,
    WithdrawalReason,
    YesNoDeclined,
)
from services.common.errors import NotVisibleError

ADULT_AGE = 18
OLDEST_PLAUSIBLE_AGE = 110
POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


class ReferralError(Exception):
    """A referral-service rule was broken."""


class ClientNotFoundError(ReferralError, NotVisibleError):
    """No such client."""


class ReferralNotFoundError(ReferralError, NotVisibleError):
    """No such referral."""


class UnknownClientError(ReferralError):
    """The referral names a client that is not registered."""


class ReferralClosedError(ReferralError):
    """The referral has already been accepted, declined or withdrawn."""


class DateBeforeReferralError(ReferralError):
    """The date is before the referral date."""


class DateInFutureError(ReferralError):
    """The date is in the future."""


class DateBeforeBirthError(ReferralError):
    """The date is before the client's date of birth."""


class HandoverSourceMismatchError(ReferralError):
    """The handover kind does not match the referral source."""


class ProfileBeforeBirthError(ReferralError):
    """A client profile dated before the client's date of birth."""


class VersionMismatchError(ReferralError):
    """The record has changed since the version the caller expected."""


class SamePersonError(ReferralError):
    """The registrations to merge are already one person."""


class OnlyRegistrationError(ReferralError):
    """The registration to split off is the only one of its person."""


class ReferralStatus(Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


def nhs_number_is_valid(nhs_number: str) -> bool:
    """Ten ASCII digits, not all the same, whose last is the modulus-11 check digit of the
    first nine (a number of one repeated digit passes the check but is never issued)."""
    if not re.fullmatch(r"[0-9]{10}", nhs_number) or len(set(nhs_number)) == 1:
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(nhs_number[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(nhs_number[9])


def age_on(date_of_birth: date, on: date) -> int:
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - before_birthday


def date_of_birth_problem(date_of_birth: date, today: date) -> str | None:
    if date_of_birth > today:
        return "date of birth is in the future"
    age = age_on(date_of_birth, today)
    if age < ADULT_AGE:
        return f"the client is {age}: this is an adult service ({ADULT_AGE} and over)"
    if age > OLDEST_PLAUSIBLE_AGE:
        return f"an age of {age} is not plausible"
    return None


def postcode_district_problem(district: str) -> str | None:
    if POSTCODE_DISTRICT.fullmatch(district):
        return None
    return "expected a UK postcode district (the outward code only), e.g. LS6 or SW1A"


def check_not_future(on: date, today: date) -> None:
    if on > today:
        raise DateInFutureError(f"{on} is after today ({today}).")


class Client(Aggregate):
    @event("ClientRegistered")
    def __init__(
        self,
        on: date,
        by: dict[str, str],
        given_name: str,
        family_name: str,
        date_of_birth: date,
        sex: Sex,
        nhs_number: str | None,
        postcode_district: str | None,
    ) -> None:
        self.registered_on = on
        self.given_name, self.family_name = given_name, family_name
        self.date_of_birth, self.sex = date_of_birth, sex
        self.nhs_number, self.postcode_district = nhs_number, postcode_district
        self.registered_by = by
        self.profiles: dict[str, dict[str, Any]] = {}

    def record_profile(
        self, on: date, by: dict[str, str], today: date, items: dict[str, Any]
    ) -> None:
        """The client profile for the national return, or a client information review: the
        items given (None: not given in this review) replace the recording organisation's."""
        check_not_future(on, today)
        if on < self.date_of_birth:
            raise ProfileBeforeBirthError(f"{on} is before the client's date of birth.")
        self._profile_recorded(on=on, by=by, **{k: items.get(k) for k in PROFILE_ITEMS})

    @event("ClientProfileRecorded")
    def _profile_recorded(
        self,
        on: date,
        by: dict[str, str],
        ethnicity: Ethnicity | None,
        nationality: str | None,
        religion: Religion | None,
        sexual_orientation: SexualOrientation | None,
        disability: YesNoDeclined | None,
        veteran: YesNoDeclined | None,
        gp_practice: str | None,
        local_authority: str | None,
        accommodation_need: AccommodationNeed | None,
        parental_status: ParentalStatus | None,
        children_living_with_client: int | None,
        employment: Employment | None,
        previously_treated: bool | None,
        consent_to_national_return: bool | None,
    ) -> None:
        given = {k: v for k, v in locals().items() if k in PROFILE_ITEMS and v is not None}
        held = getattr(self, "profiles", {})  # clients stored before profiles existed
        self.profiles = {**held, by["organisation"]: {**held.get(by["organisation"], {}), **given}}


PROFILE_ITEMS = (
    "ethnicity",
    "nationality",
    "religion",
    "sexual_orientation",
    "disability",
    "veteran",
    "gp_practice",
    "local_authority",
    "accommodation_need",
    "parental_status",
    "children_living_with_client",
    "employment",
    "previously_treated",
    "consent_to_national_return",
)


class Referral(Aggregate):
    @classmethod
    def make(cls, client: Client, today: date, **details: Any) -> "Referral":
        on: date = details["on"]
        check_not_future(on, today)
        if on < client.date_of_birth:
            raise DateBeforeBirthError(f"{on} is before the client's date of birth.")
        handover = details.get("handover")
        if handover is not None:
            expected = {
                HandoverKind.CARAT_TO_CJIT: ReferralSource.CARAT,
                HandoverKind.CJIT_TO_TREATMENT: ReferralSource.CJIT,
            }[handover["kind"]]
            if details["source"] is not expected:
                raise HandoverSourceMismatchError(
                    f"A {handover['kind'].value} handover comes from source "
                    f"'{expected.value}', not '{details['source'].value}'."
                )
        return cls(client_id=client.id, **details)

    @event("ReferralMade")
    def __init__(
        self,
        on: date,
        by: dict[str, str],
        client_id: UUID,
        source: ReferralSource,
        referring_organisation: str | None,
        receiving_organisation: str,
        priority_flags: list[PriorityFlag],
        consent: dict[str, Any] | None,
        handover: dict[str, Any] | None,
    ) -> None:
        self.referral_date = on
        self.made_by = by
        self.client_id = client_id
        self.source = source
        self.referring_organisation = referring_organisation
        self.receiving_organisation = receiving_organisation
        self.priority_flags = priority_flags
        # Consents to share, by holder: the organisation that obtained and recorded each.
        self.consents = {by["organisation"]: consent} if consent else {}
        self.handover = handover
        self.status = ReferralStatus.PENDING
        self.decided_on: date | None = None
        self.keyworker: str | None = None
        self.decline_reason: DeclineReason | None = None
        self.withdrawal_reason: WithdrawalReason | None = None
        self.consent_withdrawn_on: date | None = None

    @property
    def parties(self) -> set[str]:
        """The organisations party to this referral: the maker, the referrer, the receiver."""
        orgs = {self.made_by["organisation"], self.receiving_organisation}
        return orgs | ({self.referring_organisation} if self.referring_organisation else set())

    @property
    def consent(self) -> dict[str, Any] | None:
        """The consent given with the referral: held by the organisation that made it."""
        return self.consents.get(self.made_by["organisation"])

    def change_consent(
        self, on: date, by: dict[str, str], consent: dict[str, Any], today: date
    ) -> None:
        """Record the caller's organisation's own consent on this referral (it is the holder;
        it replaces only its own earlier one)."""
        check_not_future(on, today)
        self._consent_changed(on=on, by=by, consent=consent, **self._consent_context())

    @event("ConsentChanged")
    def _consent_changed(
        self,
        on: date,
        by: dict[str, str],
        consent: dict[str, Any],
        client_id: UUID,
        referring_organisation: str | None,
        receiving_organisation: str,
    ) -> None:
        # Stored events recorded before consents were held read the same way: the consent
        # belongs to the organisation that recorded it.
        self.consents[by["organisation"]] = consent

    def withdraw_consent(self, on: date, by: dict[str, str], today: date) -> None:
        """The client withdraws consent: any party records it; it ends every consent of the
        client (on every referral) from the moment it is recorded."""
        check_not_future(on, today)
        self._consent_withdrawn(on=on, by=by, **self._consent_context())

    @event("ConsentWithdrawn")
    def _consent_withdrawn(
        self,
        on: date,
        by: dict[str, str],
        client_id: UUID,
        referring_organisation: str | None,
        receiving_organisation: str,
    ) -> None:
        self.consents, self.consent_withdrawn_on = {}, on

    def _consent_context(self) -> dict[str, Any]:
        # Consent events carry whose consent it is and between whom, for followers.
        return {
            "client_id": self.client_id,
            "referring_organisation": self.referring_organisation,
            "receiving_organisation": self.receiving_organisation,
        }

    def _check_decision(self, on: date, today: date) -> None:
        if self.status is not ReferralStatus.PENDING:
            raise ReferralClosedError(f"The referral is already {self.status.value}.")
        if on < self.referral_date:
            raise DateBeforeReferralError(
                f"{on} is before the referral date ({self.referral_date})."
            )
        check_not_future(on, today)

    def accept(self, on: date, by: dict[str, str], keyworker: str | None, today: date) -> None:
        self._check_decision(on, today)
        # The accepted event carries the referral's facts, so a follower can open an episode
        # from this one event without keeping referral state of its own.
        self._accepted(
            on=on,
            by=by,
            keyworker=keyworker,
            client_id=self.client_id,
            referral_date=self.referral_date,
            source=self.source,
            referring_organisation=self.referring_organisation,
            receiving_organisation=self.receiving_organisation,
            priority_flags=self.priority_flags,
            handover=self.handover,
        )

    @event("ReferralAccepted")
    def _accepted(
        self,
        on: date,
        by: dict[str, str],
        keyworker: str | None,
        client_id: UUID,
        referral_date: date,
        source: ReferralSource,
        referring_organisation: str | None,
        receiving_organisation: str,
        priority_flags: list[PriorityFlag],
        handover: dict[str, Any] | None,
    ) -> None:
        self.status, self.decided_on, self.keyworker = ReferralStatus.ACCEPTED, on, keyworker

    def decline(self, on: date, by: dict[str, str], reason: DeclineReason, today: date) -> None:
        self._check_decision(on, today)
        self._declined(on=on, by=by, reason=reason, client_id=self.client_id)

    # client_id is carried so a follower can end the parties' care relationship with the
    # client; events stored before it was carried have none.
    @event("ReferralDeclined")
    def _declined(
        self, on: date, by: dict[str, str], reason: DeclineReason, client_id: UUID | None = None
    ) -> None:
        self.status, self.decided_on, self.decline_reason = ReferralStatus.DECLINED, on, reason

    def withdraw(self, on: date, by: dict[str, str], reason: WithdrawalReason, today: date) -> None:
        self._check_decision(on, today)
        self._withdrawn(on=on, by=by, reason=reason, client_id=self.client_id)

    @event("ReferralWithdrawn")
    def _withdrawn(
        self,
        on: date,
        by: dict[str, str],
        reason: WithdrawalReason,
        client_id: UUID | None = None,
    ) -> None:
        self.status, self.decided_on = ReferralStatus.WITHDRAWN, on
        self.withdrawal_reason = reason


class LinkBasis(Enum):
    """Why a client registration is linked to its person."""

    NEW = "new"  # no known person matched: the registration is a person of its own
    NHS_NUMBER = "nhs_number"
    ATTRIBUTORS = "attributors"
    MERGE = "merge"  # an administrator found two registrations to be one person
    SPLIT = "split"  # an administrator undid a wrong match


Attributors = tuple[str, date, Sex, str]


def attributors(
    given_name: str,
    family_name: str,
    date_of_birth: date,
    sex: Sex,
    postcode_district: str | None,
) -> Attributors | None:
    """The national monitoring system's person-matching attributors: initials (first letter
    of given and family name), date of birth, sex and postcode area (the letters of the
    district, LS6 -> LS). None when sex or area is not known: too weak to match on."""
    area = re.match(r"[A-Z]+", postcode_district or "")
    if area is None or sex not in (Sex.MALE, Sex.FEMALE):
        return None
    initials = (given_name.strip()[:1] + family_name.strip()[:1]).upper()
    return initials, date_of_birth, sex, area.group()


class PersonLink(Aggregate):
    """Which person a client registration is. One per registration, recorded with it
    whether or not a known person matched; published to our own services only, never to the
    organisations (no existence oracle). A new person's id is its first registration's."""

    @staticmethod
    def create_id(client_id: UUID) -> UUID:
        return uuid5(client_id, "person")

    @event("PersonLinked")
    def __init__(
        self, on: date, by: dict[str, str], client_id: UUID, person_id: UUID, basis: LinkBasis
    ) -> None:
        self.client_id, self.person_id, self.basis = client_id, person_id, basis

    def relink(self, on: date, by: dict[str, str], person_id: UUID, basis: LinkBasis) -> None:
        self._relinked(on=on, by=by, client_id=self.client_id, person_id=person_id, basis=basis)

    @event("PersonRelinked")
    def _relinked(
        self, on: date, by: dict[str, str], client_id: UUID, person_id: UUID, basis: LinkBasis
    ) -> None:
        self.person_id, self.basis = person_id, basis
