"""What every journey request body shares, and the response (...Out) models. Each event's own
body is defined with its step (steps/); a correction's replacement is validated by the same
body as the event it replaces.
"""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.common.codes import ExitReason, Modality, NeedDomain, ReferralSource, Tier
from services.common.feed import RecordedBy, plain
from services.common.schemas import Day, LongText, ShortText, StrictIn

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


class PlanIn(EventIn):
    goals: list[GoalIn] = Field(min_length=1, max_length=MAX_GOALS)

    def check_review_date(self, next_review_on: date | None) -> None:
        if next_review_on is not None and next_review_on <= self.on:
            raise ValueError("next_review_on must be after the date the plan is agreed")


class InterventionOut(BaseModel):
    id: str
    modality: Modality
    tier: Tier
    started_on: date
    ended_on: date | None
    end_reason: str | None
    referred_on: date | None = None
    first_appointment_offered_on: date | None = None
    setting: str | None = None
    exit_status: str | None = None


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
    tier: Tier | None = Field(
        description="The highest tier among the interventions active now; none while none is "
        "(the same reading as the caseload's)."
    )
    tier_indicated: Tier | None = Field(description="The tier triage indicated, if triaged.")
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
    tops: list["TopOut"] = Field(default_factory=list, description="TOPs, in recording order.")
    top_due_on: date | None = Field(
        None, description="The next TOP due: start, review (182 days) or exit (DESIGN)."
    )
    top_overdue: bool = Field(False, description="top_due_on is before today.")


class TopOut(BaseModel):
    on: date = Field(description="The interview date.")
    stage: str


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
