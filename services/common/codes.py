"""Every coded list the services use, in one place, served by each service at GET /codes.

Values are stable identifiers: they are stored in events and published in feeds.
Sections refer to "Models of Care for Treatment of Adult Drug Misusers: Update 2006".
"""

from enum import Enum


class Sex(Enum):
    MALE = "male"
    FEMALE = "female"
    INDETERMINATE = "indeterminate"
    NOT_KNOWN = "not_known"


class ReferralSource(Enum):
    SELF = "self"
    GP = "gp"
    CJIT = "cjit"
    CARAT = "carat"
    PROBATION = "probation"
    HOSPITAL = "hospital"  # hospital or A&E
    OTHER_PROVIDER = "other_provider"
    SOCIAL_CARE = "social_care"
    FAMILY_OR_FRIEND = "family_or_friend"
    OTHER = "other"


class PriorityFlag(Enum):
    PREGNANT = "pregnant"
    OFFENDER = "offender"
    INJECTING = "injecting"
    PARENT = "parent"
    HOMELESS = "homeless"


class SharingPurpose(Enum):
    CARE_COORDINATION = "care_coordination"
    ASSESSMENT = "assessment"
    TREATMENT = "treatment"
    CRIMINAL_JUSTICE = "criminal_justice"
    MONITORING = "monitoring"


class DeclineReason(Enum):
    NOT_ELIGIBLE = "not_eligible"
    NO_CAPACITY = "no_capacity"
    INAPPROPRIATE_REFERRAL = "inappropriate_referral"
    OUT_OF_AREA = "out_of_area"
    CLIENT_DECLINED = "client_declined"
    REFERRED_ELSEWHERE = "referred_elsewhere"


class WithdrawalReason(Enum):
    CLIENT_WITHDREW = "client_withdrew"
    REFERRER_WITHDREW = "referrer_withdrew"
    CLIENT_IN_CUSTODY = "client_in_custody"
    CLIENT_DIED = "client_died"
    OTHER = "other"


class HandoverKind(Enum):
    """Handovers between criminal-justice and treatment teams (§3.4.2, §5.3.6)."""

    CARAT_TO_CJIT = "carat_to_cjit"  # prison to community on release
    CJIT_TO_TREATMENT = "cjit_to_treatment"  # CJIT to a Tier 3 provider


class AssessmentOutcome(Enum):
    """Outcome of a triage / DIR assessment."""

    STRUCTURED_TREATMENT_NEEDED = "structured_treatment_needed"
    OPEN_ACCESS_ONLY = "open_access_only"
    NO_TREATMENT_NEED = "no_treatment_need"
    ASSESSMENT_DECLINED = "assessment_declined"


class RiskArea(Enum):
    """The five areas of risk assessment (§4.5)."""

    SUICIDE_SELF_HARM = "suicide_self_harm"
    SUBSTANCE_USE = "substance_use"  # including overdose
    HARM_TO_OTHERS = "harm_to_others"
    HARM_FROM_OTHERS = "harm_from_others"
    SELF_NEGLECT = "self_neglect"


class RiskLevel(Enum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class NeedDomain(Enum):
    """The four domains of assessment and care planning (§4.4, §5.3.2)."""

    DRUG_AND_ALCOHOL_MISUSE = "drug_and_alcohol_misuse"
    HEALTH = "health"
    OFFENDING = "offending"
    SOCIAL_FUNCTIONING = "social_functioning"


CODED_LISTS: dict[str, type[Enum]] = {
    "sex": Sex,
    "referral_sources": ReferralSource,
    "priority_flags": PriorityFlag,
    "sharing_purposes": SharingPurpose,
    "decline_reasons": DeclineReason,
    "withdrawal_reasons": WithdrawalReason,
    "handover_kinds": HandoverKind,
    "assessment_outcomes": AssessmentOutcome,
    "risk_areas": RiskArea,
    "risk_levels": RiskLevel,
    "need_domains": NeedDomain,
}
