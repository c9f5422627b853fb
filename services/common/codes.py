"""Every coded list the services use, in one place, served by each service at GET /codes.

Values are stable identifiers: they are stored in events and published in feeds.
Sections refer to "Models of Care for Treatment of Adult Drug Misusers: Update 2006".
"""

from collections.abc import Iterable
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


class Urgency(Enum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"


class Tier(Enum):
    """Tiers of intervention (§9); Tier 3 and Tier 4 are structured treatment."""

    TIER_1 = 1
    TIER_2 = 2
    TIER_3 = 3
    TIER_4 = 4


STRUCTURED_TIERS = frozenset({Tier.TIER_3, Tier.TIER_4})


def episode_tier(active: Iterable[Tier | int]) -> Tier | None:
    """An episode's tier on a day: the highest tier among its interventions active that day;
    none while none is (the tier triage indicated is an assessment, shown as such). The journey
    service and every caseload read it through here, so they cannot disagree."""
    tiers = [Tier(t) if isinstance(t, int) else t for t in active]
    return max(tiers, key=lambda t: t.value) if tiers else None


class Modality(Enum):
    """Intervention modalities (§9.2-§9.9); each has one tier, see MODALITY_TIER."""

    ADVICE_AND_INFORMATION = "advice_and_information"  # §9.2
    HARM_REDUCTION = "harm_reduction"  # §9.3
    BRIEF_PSYCHOSOCIAL = "brief_psychosocial"  # Tier 2 brief interventions
    SPECIALIST_PRESCRIBING = "specialist_prescribing"  # §9.4
    GP_PRESCRIBING = "gp_prescribing"  # §9.4
    STRUCTURED_PSYCHOSOCIAL = "structured_psychosocial"  # §9.6
    STRUCTURED_DAY_PROGRAMME = "structured_day_programme"  # §9.5
    OTHER_STRUCTURED = "other_structured"  # §9.7
    INPATIENT = "inpatient"  # §9.8
    RESIDENTIAL_REHABILITATION = "residential_rehabilitation"  # §9.9


MODALITY_TIER = {
    Modality.ADVICE_AND_INFORMATION: Tier.TIER_2,
    Modality.HARM_REDUCTION: Tier.TIER_2,
    Modality.BRIEF_PSYCHOSOCIAL: Tier.TIER_2,
    Modality.SPECIALIST_PRESCRIBING: Tier.TIER_3,
    Modality.GP_PRESCRIBING: Tier.TIER_3,
    Modality.STRUCTURED_PSYCHOSOCIAL: Tier.TIER_3,
    Modality.STRUCTURED_DAY_PROGRAMME: Tier.TIER_3,
    Modality.OTHER_STRUCTURED: Tier.TIER_3,
    Modality.INPATIENT: Tier.TIER_4,
    Modality.RESIDENTIAL_REHABILITATION: Tier.TIER_4,
}


class InterventionEndReason(Enum):
    COMPLETED = "completed"
    CLIENT_STOPPED = "client_stopped"
    STOPPED_BY_PROVIDER = "stopped_by_provider"
    TRANSFERRED = "transferred"
    OTHER = "other"


class ExitReason(Enum):
    """Discharge reasons; PLANNED_EXITS are the planned ones."""

    TREATMENT_COMPLETED_DRUG_FREE = "treatment_completed_drug_free"
    TREATMENT_COMPLETED_OCCASIONAL_USER = "treatment_completed_occasional_user"
    TRANSFERRED = "transferred"
    DROPPED_OUT = "dropped_out"
    TREATMENT_WITHDRAWN = "treatment_withdrawn"
    MOVED_AWAY = "moved_away"
    IN_CUSTODY = "in_custody"
    DIED = "died"
    DECLINED = "declined"
    OTHER = "other"


PLANNED_EXITS = frozenset(
    {ExitReason.TREATMENT_COMPLETED_DRUG_FREE, ExitReason.TREATMENT_COMPLETED_OCCASIONAL_USER}
)


class GoalProgress(Enum):
    ACHIEVED = "achieved"
    IMPROVING = "improving"
    NO_CHANGE = "no_change"
    WORSE = "worse"


# The national return's items (DESIGN.md "The national return"). The national code for each
# of our values is in services/reporting/ndtms/mapping.py, served beside it at GET /codes.


class Ethnicity(Enum):
    """The 16+1 NHS 2001-census categories."""

    WHITE_BRITISH = "white_british"
    WHITE_IRISH = "white_irish"
    OTHER_WHITE = "other_white"
    WHITE_AND_BLACK_CARIBBEAN = "white_and_black_caribbean"
    WHITE_AND_BLACK_AFRICAN = "white_and_black_african"
    WHITE_AND_ASIAN = "white_and_asian"
    OTHER_MIXED = "other_mixed"
    INDIAN = "indian"
    PAKISTANI = "pakistani"
    BANGLADESHI = "bangladeshi"
    OTHER_ASIAN = "other_asian"
    CARIBBEAN = "caribbean"
    AFRICAN = "african"
    OTHER_BLACK = "other_black"
    CHINESE = "chinese"
    OTHER = "other"
    NOT_STATED = "not_stated"


class Religion(Enum):
    NONE = "none"
    CHRISTIAN = "christian"
    BUDDHIST = "buddhist"
    HINDU = "hindu"
    JEWISH = "jewish"
    MUSLIM = "muslim"
    SIKH = "sikh"
    OTHER = "other"
    DECLINED = "declined"


class SexualOrientation(Enum):
    HETEROSEXUAL = "heterosexual"
    GAY_OR_LESBIAN = "gay_or_lesbian"
    BISEXUAL = "bisexual"
    OTHER = "other"
    DECLINED = "declined"


class YesNoDeclined(Enum):
    YES = "yes"
    NO = "no"
    DECLINED = "declined"


class AccommodationNeed(Enum):
    URGENT_HOUSING_PROBLEM = "urgent_housing_problem"  # no fixed abode
    HOUSING_PROBLEM = "housing_problem"
    NO_HOUSING_PROBLEM = "no_housing_problem"


class ParentalStatus(Enum):
    ALL_CHILDREN_LIVE_WITH_CLIENT = "all_children_live_with_client"
    SOME_CHILDREN_LIVE_WITH_CLIENT = "some_children_live_with_client"
    NO_CHILDREN_LIVE_WITH_CLIENT = "no_children_live_with_client"
    NOT_A_PARENT = "not_a_parent"
    DECLINED = "declined"


class Employment(Enum):
    REGULAR_EMPLOYMENT = "regular_employment"
    STUDENT = "student"
    LONG_TERM_SICK_OR_DISABLED = "long_term_sick_or_disabled"
    HOMEMAKER = "homemaker"
    UNEMPLOYED_SEEKING_WORK = "unemployed_seeking_work"
    UNPAID_VOLUNTARY_WORK = "unpaid_voluntary_work"
    RETIRED = "retired"
    OTHER = "other"
    NOT_STATED = "not_stated"


class Substance(Enum):
    HEROIN = "heroin"
    METHADONE_ILLICIT = "methadone_illicit"
    BUPRENORPHINE_ILLICIT = "buprenorphine_illicit"
    OTHER_OPIATES = "other_opiates"
    BENZODIAZEPINES = "benzodiazepines"
    AMPHETAMINES = "amphetamines"
    COCAINE = "cocaine"
    CRACK = "crack"
    ECSTASY = "ecstasy"
    HALLUCINOGENS = "hallucinogens"
    CANNABIS = "cannabis"
    SOLVENTS = "solvents"
    ALCOHOL = "alcohol"
    PRESCRIPTION_DRUGS = "prescription_drugs"
    OTHER_DRUGS = "other_drugs"


OPIATES = frozenset(
    {
        Substance.HEROIN,
        Substance.METHADONE_ILLICIT,
        Substance.BUPRENORPHINE_ILLICIT,
        Substance.OTHER_OPIATES,
    }
)


class Route(Enum):
    INJECT = "inject"
    SNIFF = "sniff"
    SMOKE = "smoke"
    ORAL = "oral"
    OTHER = "other"


class InjectingStatus(Enum):
    PREVIOUSLY = "previously"
    CURRENTLY = "currently"
    NEVER = "never"
    DECLINED = "declined"


class HepatitisBStatus(Enum):
    """Hepatitis B vaccination: offered and accepted, refused, or not needed."""

    OFFERED_AND_ACCEPTED = "offered_and_accepted"
    OFFERED_AND_REFUSED = "offered_and_refused"
    IMMUNISED_ALREADY = "immunised_already"
    NOT_OFFERED = "not_offered"
    ACQUIRED_IMMUNITY = "acquired_immunity"


class HepatitisBVaccination(Enum):
    ONE = "one"
    TWO = "two"
    THREE = "three"
    COURSE_COMPLETED = "course_completed"


class HepatitisCTest(Enum):
    """Hepatitis C testing: offered and accepted, refused, or not offered."""

    OFFERED_AND_ACCEPTED = "offered_and_accepted"
    OFFERED_AND_REFUSED = "offered_and_refused"
    NOT_OFFERED = "not_offered"


class TestResult(Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NOT_KNOWN = "not_known"


class TopStage(Enum):
    """Treatment Outcomes Profile stage (the form's four; the CSV letters are unverified)."""

    START = "start"
    REVIEW = "review"
    EXIT = "exit"
    POST_EXIT = "post_exit"


class InterventionSetting(Enum):
    COMMUNITY = "community"
    GP = "gp"
    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"
    PRISON = "prison"
    RECOVERY_HOUSE = "recovery_house"
    RESIDENTIAL = "residential"


class InterventionExitStatus(Enum):
    MUTUALLY_AGREED_PLANNED = "mutually_agreed_planned"
    CLIENT_UNILATERAL_UNPLANNED = "client_unilateral_unplanned"
    WITHDRAWN = "withdrawn"


# The exit status an intervention ends with when none is given: from its end reason.
EXIT_STATUS_OF_END_REASON = {
    InterventionEndReason.COMPLETED: InterventionExitStatus.MUTUALLY_AGREED_PLANNED,
    InterventionEndReason.TRANSFERRED: InterventionExitStatus.MUTUALLY_AGREED_PLANNED,
    InterventionEndReason.CLIENT_STOPPED: InterventionExitStatus.CLIENT_UNILATERAL_UNPLANNED,
    InterventionEndReason.STOPPED_BY_PROVIDER: InterventionExitStatus.WITHDRAWN,
}


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
    "urgencies": Urgency,
    "tiers": Tier,
    "modalities": Modality,
    "intervention_end_reasons": InterventionEndReason,
    "exit_reasons": ExitReason,
    "goal_progress": GoalProgress,
    "ethnicities": Ethnicity,
    "religions": Religion,
    "sexual_orientations": SexualOrientation,
    "yes_no_declined": YesNoDeclined,
    "accommodation_needs": AccommodationNeed,
    "parental_statuses": ParentalStatus,
    "employment_statuses": Employment,
    "substances": Substance,
    "routes": Route,
    "injecting_statuses": InjectingStatus,
    "hepatitis_b_statuses": HepatitisBStatus,
    "hepatitis_b_vaccinations": HepatitisBVaccination,
    "hepatitis_c_tests": HepatitisCTest,
    "test_results": TestResult,
    "intervention_settings": InterventionSetting,
    "intervention_exit_statuses": InterventionExitStatus,
    "top_stages": TopStage,
}


def coded_lists() -> dict[str, object]:
    """What GET /codes serves: every list, plus which modality is which tier and which
    exit reasons are planned."""
    lists: dict[str, object] = {name: [m.value for m in enum] for name, enum in CODED_LISTS.items()}
    lists["modality_tiers"] = {m.value: tier.value for m, tier in MODALITY_TIER.items()}
    lists["structured_tiers"] = sorted(t.value for t in STRUCTURED_TIERS)
    lists["planned_exit_reasons"] = [r.value for r in ExitReason if r in PLANNED_EXITS]
    from services.reporting.ndtms.mapping import national_codes  # the one module that has them

    lists["ndtms"] = national_codes()
    return lists
