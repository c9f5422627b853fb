"""Request (...In) and response (...Out) models of the referral service."""

from datetime import date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from services.common.clock import today
from services.common.codes import (
    AssessmentOutcome,
    DeclineReason,
    HandoverKind,
    NeedDomain,
    PriorityFlag,
    ReferralSource,
    RiskArea,
    RiskLevel,
    Sex,
    SharingPurpose,
    WithdrawalReason,
)
from services.common.schemas import (
    Day,
    LongText,
    OrganisationCode,
    ShortText,
    StrictIn,
    UserName,
)
from services.referral.domain import (
    LinkBasis,
    ReferralStatus,
    date_of_birth_problem,
    nhs_number_is_valid,
    postcode_district_problem,
)


def _nhs_number(value: str) -> str:
    compact = value.replace(" ", "")
    if not nhs_number_is_valid(compact):
        raise ValueError("not a valid NHS number (10 digits with a modulus-11 check digit)")
    return compact


def _postcode_district(value: str) -> str:
    upper = value.upper()
    problem = postcode_district_problem(upper)
    if problem:
        raise ValueError(problem)
    return upper


def _date_of_birth(value: date) -> date:
    problem = date_of_birth_problem(value, today())
    if problem:
        raise ValueError(problem)
    return value


NhsNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{3} ?[0-9]{3} ?[0-9]{4}$"),
    AfterValidator(_nhs_number),
]
PostcodeDistrict = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?$"),
    AfterValidator(_postcode_district),
]
DateOfBirth = Annotated[Day, AfterValidator(_date_of_birth)]


class ClientIn(StrictIn):
    given_name: ShortText
    family_name: ShortText
    date_of_birth: DateOfBirth = Field(description="Not in the future; the client is 18 to 110.")
    sex: Sex
    nhs_number: NhsNumber | None = Field(None, description="10 digits, modulus-11 checked.")
    postcode_district: PostcodeDistrict | None = Field(
        None, description="Outward code only (e.g. LS6), never the full postcode."
    )


class ClientOut(BaseModel):
    id: UUID
    version: int
    registered_on: date
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    nhs_number: str | None
    postcode_district: str | None


class ConsentIn(StrictIn):
    """The client's consent to share the part of the record your organisation holds (you are
    its holder): with which organisations, for which purposes, from when and until when."""

    given_on: Day = Field(description="The day the client gave it; sharing starts then.")
    share_with: list[OrganisationCode] = Field(min_length=1, max_length=50)
    purposes: list[SharingPurpose] = Field(min_length=1, max_length=len(SharingPurpose))
    ends_on: Day | None = Field(
        None, description="The last day it covers; absent: until changed or withdrawn."
    )

    def details(self) -> dict[str, Any]:
        return {"on": self.given_on, "consent": self.model_dump()}

    @model_validator(mode="after")
    def dates_in_order(self) -> Self:
        if self.given_on > today():
            raise ValueError("consent cannot be given in the future")
        if self.ends_on is not None and self.ends_on < self.given_on:
            raise ValueError("ends_on is before given_on")
        return self


class HandoverIn(StrictIn):
    """The DIR summary a handover carries so the receiver need not re-assess (§5.3.6)."""

    kind: HandoverKind
    assessed_on: Day
    assessment_outcome: AssessmentOutcome
    needs: dict[NeedDomain, LongText] = Field(
        default_factory=dict, description="Needs found, by domain of §4.4."
    )
    risks: dict[RiskArea, RiskLevel] = Field(
        description="A level for each of the five risk areas of §4.5."
    )
    release_date: Day | None = Field(
        None, description="Required for carat_to_cjit: the client's release from prison."
    )

    @model_validator(mode="after")
    def complete(self) -> Self:
        missing = [area.value for area in RiskArea if area not in self.risks]
        if missing:
            raise ValueError(f"risks must cover all five areas; missing {', '.join(missing)}")
        if self.kind is HandoverKind.CARAT_TO_CJIT and self.release_date is None:
            raise ValueError("a carat_to_cjit handover needs the release_date")
        if self.assessed_on > today():
            raise ValueError("assessed_on is in the future")
        return self

    def as_event_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "assessed_on": self.assessed_on,
            "assessment_outcome": self.assessment_outcome,
            "needs": {domain.value: text for domain, text in self.needs.items()},
            "risks": {area.value: level for area, level in self.risks.items()},
            "release_date": self.release_date,
        }


class ReferralIn(StrictIn):
    client_id: UUID
    source: ReferralSource
    referring_organisation: OrganisationCode | None = None
    receiving_organisation: OrganisationCode
    referral_date: Day
    priority_flags: list[PriorityFlag] = Field(default_factory=list, max_length=len(PriorityFlag))
    consent: ConsentIn | None = None
    handover: HandoverIn | None = Field(
        None, description="Present when this referral is a handover carrying a DIR summary."
    )

    @model_validator(mode="after")
    def handover_has_consent(self) -> Self:
        if self.handover is None:
            return self
        if self.consent is None or self.receiving_organisation not in self.consent.share_with:
            raise ValueError(
                "a handover needs the client's consent to share with the receiving organisation"
            )
        return self


class ConsentOut(BaseModel):
    given_on: date
    share_with: list[str]
    purposes: list[SharingPurpose]
    ends_on: date | None = None


class HeldConsentOut(ConsentOut):
    holder: str = Field(
        description="The organisation that obtained and recorded it; it opens only that "
        "organisation's part of the record, and only the holder changes it."
    )


class HandoverOut(BaseModel):
    kind: HandoverKind
    assessed_on: date
    assessment_outcome: AssessmentOutcome
    needs: dict[str, str]
    risks: dict[str, RiskLevel]
    release_date: date | None


class ReferralOut(BaseModel):
    id: UUID
    version: int
    client_id: UUID
    status: ReferralStatus
    source: ReferralSource
    referring_organisation: str | None
    receiving_organisation: str
    referral_date: date
    priority_flags: list[PriorityFlag]
    consent: ConsentOut | None = Field(
        description="The consent given with the referral, held by the organisation that made it."
    )
    consents: list[HeldConsentOut] = Field(
        description="Every consent recorded on this referral and standing, one per holder; the "
        "client's withdrawal (recorded on any of their referrals) ends them all."
    )
    handover: HandoverOut | None
    decided_on: date | None
    keyworker: str | None
    decline_reason: DeclineReason | None
    withdrawal_reason: WithdrawalReason | None
    consent_withdrawn_on: date | None
    recorded_at: datetime
    episode_id: UUID | None = Field(
        description="Once accepted, to the receiving organisation: the episode the acceptance "
        "opens, on the journey service (GET /episodes/{episode_id} there; any party finds it "
        "with GET /episodes?referral_id= if it may see it). It is readable once the journey "
        "service has followed this service's feed, normally within a second."
    )


class AcceptIn(StrictIn):
    accepted_on: Day = Field(description="Taken onto caseload on; not before the referral date.")
    keyworker: UserName | None = None

    def details(self) -> dict[str, Any]:
        return {"on": self.accepted_on, "keyworker": self.keyworker}


class DeclineIn(StrictIn):
    declined_on: Day
    reason: DeclineReason

    def details(self) -> dict[str, Any]:
        return {"on": self.declined_on, "reason": self.reason}


class WithdrawIn(StrictIn):
    withdrawn_on: Day
    reason: WithdrawalReason

    def details(self) -> dict[str, Any]:
        return {"on": self.withdrawn_on, "reason": self.reason}


class ConsentWithdrawIn(StrictIn):
    withdrawn_on: Day

    def details(self) -> dict[str, Any]:
        return {"on": self.withdrawn_on}


class MergeIn(StrictIn):
    into_client_id: UUID = Field(description="A registration of the person that remains.")
    client_id: UUID = Field(
        description="A registration found to be the same person: it and every registration "
        "linked with it join the person of into_client_id."
    )


class SplitIn(StrictIn):
    client_id: UUID = Field(
        description="The wrongly matched registration: it becomes a person of its own."
    )


class PersonLinkOut(BaseModel):
    client_id: UUID
    person_id: UUID
    basis: LinkBasis
    version: int
    recorded_at: datetime
