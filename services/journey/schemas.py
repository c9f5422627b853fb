"""Request (...In) and response (...Out) models of the journey service.

Each ...In body turns into its event's data with `event_data()`; a correction's replacement
is validated by the same model as the event it replaces.
"""

from datetime import date, datetime
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from services.common.codes import (
    MODALITY_TIER,
    PLANNED_EXITS,
    AssessmentOutcome,
    ExitReason,
    GoalProgress,
    InterventionEndReason,
    Modality,
    NeedDomain,
    ReferralSource,
    RiskArea,
    RiskLevel,
    Tier,
    Urgency,
)
from services.common.feed import RecordedBy, plain
from services.common.schemas import Day, LongText, ShortText, StrictIn, UserName

MAX_GOALS = 20


class EventIn(StrictIn):
    on: Day = Field(
        description="The business date: when it happened (not in the future, "
        "not before the referral date)."
    )

    def event_data(self) -> dict[str, Any]:
        return self.model_dump(exclude={"on"})


class GoalIn(StrictIn):
    domain: NeedDomain
    goal: LongText
    responsible: ShortText = Field(description="Who is responsible: client, keyworker, agency.")


class TriageIn(EventIn):
    urgency: Urgency
    tier_indicated: Tier
    outcome: AssessmentOutcome
    risks: dict[RiskArea, RiskLevel] = Field(description="A level for each area of §4.5.")

    @model_validator(mode="after")
    def all_risk_areas(self) -> Self:
        missing = [area.value for area in RiskArea if area not in self.risks]
        if missing:
            raise ValueError(f"risks must cover all five areas; missing {', '.join(missing)}")
        return self

    def event_data(self) -> dict[str, Any]:
        data = super().event_data()
        data["risks"] = {area.value: level for area, level in self.risks.items()}
        return data


class KeyworkerIn(EventIn):
    keyworker: UserName


class PlanIn(EventIn):
    goals: list[GoalIn] = Field(min_length=1, max_length=MAX_GOALS)

    def check_review_date(self, next_review_on: date | None) -> None:
        if next_review_on is not None and next_review_on <= self.on:
            raise ValueError("next_review_on must be after the date the plan is agreed")


class InitialCarePlanIn(PlanIn):
    """An initial care plan after triage: immediate needs, Tier 2 level (§4.3)."""

    next_review_on: Day | None = None

    @model_validator(mode="after")
    def review_after_agreement(self) -> Self:
        self.check_review_date(self.next_review_on)
        return self


class CarePlanIn(PlanIn):
    """Goals across the four domains, each with who is responsible (§5.3.2)."""

    next_review_on: Day

    @model_validator(mode="after")
    def review_after_agreement(self) -> Self:
        self.check_review_date(self.next_review_on)
        return self


class AssessmentIn(EventIn):
    needs: dict[NeedDomain, LongText] = Field(description="Needs in each of the four domains.")

    @model_validator(mode="after")
    def all_domains(self) -> Self:
        missing = [d.value for d in NeedDomain if d not in self.needs]
        if missing:
            raise ValueError(f"needs must cover all four domains; missing {', '.join(missing)}")
        return self

    def event_data(self) -> dict[str, Any]:
        return {"needs": {domain.value: text for domain, text in self.needs.items()}}


class GoalProgressIn(StrictIn):
    goal: int = Field(ge=0, lt=MAX_GOALS, description="Index of the goal in the current plan.")
    progress: GoalProgress
    note: LongText | None = None


class ReviewIn(EventIn):
    progress: list[GoalProgressIn] = Field(min_length=1, max_length=MAX_GOALS)
    revised_goals: list[GoalIn] | None = Field(None, max_length=MAX_GOALS)
    next_review_on: Day

    @model_validator(mode="after")
    def review_after_review(self) -> Self:
        if self.next_review_on <= self.on:
            raise ValueError("next_review_on must be after the review")
        return self


class InterventionIn(EventIn):
    modality: Modality
    tier: Tier | None = Field(None, description="Optional; must be the modality's own tier.")

    @model_validator(mode="after")
    def tier_matches(self) -> Self:
        expected = MODALITY_TIER[self.modality]
        if self.tier is not None and self.tier is not expected:
            raise ValueError(f"{self.modality.value} is Tier {expected.value}")
        return self

    def event_data(self) -> dict[str, Any]:
        return {"modality": self.modality, "tier": MODALITY_TIER[self.modality]}


class InterventionEndIn(EventIn):
    reason: InterventionEndReason


class DischargeIn(EventIn):
    exit_reason: ExitReason = Field(description="GET /codes lists planned_exit_reasons.")

    def event_data(self) -> dict[str, Any]:
        return {"exit_reason": self.exit_reason, "planned": self.exit_reason in PLANNED_EXITS}


class AftercareIn(EventIn):
    """Drug-related and non-drug-related support after structured treatment (§9.10)."""

    drug_related_support: list[ShortText] = Field(default_factory=list, max_length=20)
    non_drug_related_support: list[ShortText] = Field(default_factory=list, max_length=20)
    agencies: list[ShortText] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def some_support(self) -> Self:
        if not (self.drug_related_support or self.non_drug_related_support):
            raise ValueError("an aftercare plan names some drug-related or other support")
        return self


class ReEngageIn(EventIn):
    keyworker: UserName | None = None


class InErrorIn(StrictIn):
    reason: LongText


class CorrectionIn(StrictIn):
    reason: LongText
    replacement: dict[str, Any] = Field(
        description="The corrected event: the same body as the endpoint that recorded it."
    )


class InterventionOut(BaseModel):
    id: str
    modality: Modality
    tier: Tier
    started_on: date
    ended_on: date | None
    end_reason: str | None


class PlanOut(BaseModel):
    kind: str = Field(description="care_plan or initial_care_plan")
    agreed_on: date
    goals: list[dict[str, Any]]
    last_review_on: date | None
    next_review_on: date | None


class EpisodeOut(BaseModel):
    id: UUID
    version: int
    void: bool = Field(description="True when the opening was recorded in error.")
    client_id: UUID | None
    organisation: str
    referral_id: UUID | None
    referral_date: date = Field(description="For a re-engaged episode, the re-engagement date.")
    opened_on: date
    source: ReferralSource | None
    phase: str = Field(description="waiting | engagement | delivery | completion")
    tier: Tier | None
    keyworker: str | None
    triaged_on: date | None
    triage: dict[str, Any] | None
    comprehensive_assessment_on: date | None
    latest_plan: PlanOut | None
    next_review_on: date | None
    active_interventions: list[InterventionOut]
    interventions: list[InterventionOut]
    risk_flags: list[str]
    handover: dict[str, Any] | None
    discharged_on: date | None
    exit_reason: ExitReason | None
    planned_exit: bool | None
    aftercare: dict[str, Any] | None
    re_engaged_from: UUID | None
    re_engaged_on: date | None
    re_engaged_to: UUID | None


class EventOut(BaseModel):
    version: int
    event_id: UUID
    type: str
    business_date: date
    recorded_at: datetime
    recorded_by: RecordedBy | None
    corrected_at: datetime | None = Field(
        description="When a correction replaced this event's content."
    )
    data: dict[str, Any]


class JourneyEpisodeOut(BaseModel):
    episode: EpisodeOut
    events: list[EventOut] = Field(description="Effective events: corrections applied.")


class JourneyOut(BaseModel):
    client_id: UUID
    episodes: list[JourneyEpisodeOut]


def plain_data(data: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in data.items()}


class EpisodeWrittenOut(EpisodeOut):
    """A write's answer: the episode as the write left it, and what the write recorded."""

    event_version: int = Field(
        description="The version of the event this write recorded (for a re-engagement, the "
        "new episode's opening): name it in /events/{version}/correction or recorded-in-error. "
        "It equals `version` and the ETag, which If-Match takes."
    )


class InterventionStartedOut(EpisodeWrittenOut):
    intervention_id: str = Field(
        description="The intervention started: name it in /interventions/{intervention_id}/end "
        "(also in the Intervention-Id header)."
    )
