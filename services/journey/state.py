"""An episode's current state, folded from its effective events (corrections applied).

Pure data: no rules, no I/O. The fold itself (one evolution per event) is in `steps`.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.common.codes import (
    STRUCTURED_TIERS,
    ExitReason,
    PriorityFlag,
    RiskLevel,
    Tier,
    episode_tier,
)


@dataclass(frozen=True)
class Fact:
    """One recorded journey event, as the fold sees it."""

    version: int
    type: str
    on: date
    data: dict[str, Any]
    recorded_at: datetime
    recorded_by: dict[str, str] | None = None
    corrected_at: datetime | None = None  # set when this is a correction's replacement


@dataclass
class Intervention:
    id: str
    modality: Any
    tier: Tier
    started_on: date
    ended_on: date | None = None
    end_reason: Any = None
    referred_on: date | None = None
    first_appointment_offered_on: date | None = None
    setting: Any = None
    exit_status: Any = None

    @property
    def structured(self) -> bool:
        return self.tier in STRUCTURED_TIERS

    def active_on(self, day: date) -> bool:
        """Started on or before the day and not ended before it (DESIGN.md)."""
        return self.started_on <= day and (self.ended_on is None or self.ended_on >= day)


@dataclass
class EpisodeState:
    void: bool = False  # the opening was recorded in error
    client_id: UUID | None = None
    organisation: str = ""
    referral_id: UUID | None = None
    referral_date: date = date.min  # for a re-engaged episode, the re-engagement date
    opened_on: date = date.min
    source: Any = None
    priority_flags: list[PriorityFlag] = field(default_factory=list)
    handover: dict[str, Any] | None = None
    re_engaged_from: UUID | None = None
    triaged_on: date | None = None
    triage: dict[str, Any] | None = None
    keyworker: str | None = None
    initial_plan_on: date | None = None
    assessed_on: date | None = None
    needs: dict[str, str] | None = None
    care_plan_on: date | None = None
    goals: list[dict[str, Any]] = field(default_factory=list)
    last_review_on: date | None = None
    next_review_on: date | None = None
    interventions: dict[str, Intervention] = field(default_factory=dict)
    discharged_on: date | None = None
    exit_reason: ExitReason | None = None
    aftercare_on: date | None = None
    aftercare: dict[str, Any] | None = None
    re_engaged_on: date | None = None
    re_engaged_to: UUID | None = None
    substance_profile_on: date | None = None
    substance_profile: dict[str, Any] | None = None
    blood_borne_viruses: dict[str, Any] | None = None
    naloxone_issued_on: date | None = None
    tops: list[tuple[date, Any]] = field(default_factory=list)  # (interview date, TopStage)
    latest_on: date = date.min

    def copy(self) -> "EpisodeState":
        """A copy safe to evolve: the mutable parts are new, the immutable ones shared."""
        return replace(
            self,
            priority_flags=list(self.priority_flags),
            tops=list(self.tops),
            interventions={k: replace(v) for k, v in self.interventions.items()},
        )

    @property
    def plan_on(self) -> date | None:
        """The date of the latest agreed plan, initial or full."""
        dates = [d for d in (self.initial_plan_on, self.care_plan_on) if d is not None]
        return max(dates) if dates else None

    @property
    def active_interventions(self) -> list[Intervention]:
        return [i for i in self.interventions.values() if i.ended_on is None]

    @property
    def first_structured_start(self) -> date | None:
        starts = [i.started_on for i in self.interventions.values() if i.structured]
        return min(starts) if starts else None

    @property
    def phase(self) -> str:
        """waiting: not yet triaged; engagement: triaged, no structured intervention yet;
        delivery: a structured intervention has started; completion: an aftercare plan is
        agreed or the episode is discharged (§3.9.2, §5.3.5)."""
        if self.discharged_on is not None or self.aftercare_on is not None:
            return "completion"
        if self.first_structured_start is not None:
            return "delivery"
        if self.triaged_on is not None:
            return "engagement"
        return "waiting"

    @property
    def tier(self) -> Tier | None:
        """The tier of treatment being delivered (see `episode_tier`)."""
        return episode_tier(i.tier for i in self.active_interventions)

    @property
    def tier_indicated(self) -> Tier | None:
        """The tier triage indicated: an assessment, not the treatment delivered."""
        return self.triage["tier_indicated"] if self.triage else None

    @property
    def risk_flags(self) -> list[str]:
        """Risk areas assessed medium or high at triage, then the referral's priority flags."""
        risks = (self.triage or {}).get("risks", {})
        raised = [
            area for area, level in risks.items() if level in (RiskLevel.MEDIUM, RiskLevel.HIGH)
        ]
        return raised + [flag.value for flag in self.priority_flags]
