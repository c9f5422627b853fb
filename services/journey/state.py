"""An episode's current state, folded from its effective events (corrections applied).

Pure: no rules, no I/O. The same fold serves the aggregate and every read.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.common.codes import STRUCTURED_TIERS, ExitReason, PriorityFlag, RiskLevel, Tier

CORRECTION_TYPES = frozenset({"EventRecordedInError", "EventCorrected"})
OPENING = "EpisodeOpened"


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
    latest_on: date = date.min

    def copy(self) -> "EpisodeState":
        """A copy safe to evolve: the mutable parts are new, the immutable ones shared."""
        return replace(
            self,
            priority_flags=list(self.priority_flags),
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
        """The highest tier among active interventions, else the tier indicated at triage."""
        active = [i.tier.value for i in self.active_interventions]
        if active:
            return Tier(max(active))
        return self.triage["tier_indicated"] if self.triage else None

    @property
    def risk_flags(self) -> list[str]:
        """Risk areas assessed medium or high at triage, then the referral's priority flags."""
        risks = (self.triage or {}).get("risks", {})
        raised = [
            area for area, level in risks.items() if level in (RiskLevel.MEDIUM, RiskLevel.HIGH)
        ]
        return raised + [flag.value for flag in self.priority_flags]


def effective(facts: list[Fact]) -> list[Fact]:
    """The facts with corrections applied: in-error ones dropped, corrected ones replaced."""
    in_error: set[int] = set()
    replacements: dict[int, Fact] = {}
    by_version = {fact.version: fact for fact in facts}
    for fact in facts:
        target = int(fact.data.get("target_version", 0))
        if fact.type == "EventRecordedInError":
            in_error.add(target)
        elif fact.type == "EventCorrected":
            original = by_version[target]
            replacements[target] = replace(
                original,
                on=fact.data["replacement_on"],
                data=fact.data["replacement"],
                corrected_at=fact.recorded_at,
            )
    return [
        replacements.get(fact.version, fact)
        for fact in facts
        if fact.type not in CORRECTION_TYPES and fact.version not in in_error
    ]


def fold(facts: list[Fact]) -> EpisodeState:
    state = EpisodeState()
    live = effective(facts)
    if not live or live[0].type != OPENING:
        # The opening was recorded in error: the episode is void, but it still belongs to
        # the organisation and client it was opened for (who may read the void record).
        state.void = True
        evolve(state, facts[0])
        return state
    for fact in live:
        evolve(state, fact)
    return state


def evolve(state: EpisodeState, fact: Fact) -> None:
    """Apply one effective fact to the state (no rules here: they ran when it was recorded)."""
    d = fact.data
    state.latest_on = max(state.latest_on, fact.on)
    match fact.type:
        case "EpisodeOpened":
            state.client_id, state.organisation = d["client_id"], d["organisation"]
            state.referral_id, state.referral_date = d["referral_id"], d["referral_date"]
            state.opened_on, state.source = fact.on, d["source"]
            state.priority_flags, state.handover = list(d["priority_flags"]), d["handover"]
            state.re_engaged_from, state.keyworker = d["re_engaged_from"], d["keyworker"]
        case "TriageCompleted":
            state.triaged_on, state.triage = fact.on, d
        case "KeyworkerAssigned":
            state.keyworker = d["keyworker"]
        case "InitialCarePlanAgreed":
            state.initial_plan_on = fact.on
            state.goals = list(d["goals"])
            state.next_review_on = d["next_review_on"]
        case "ComprehensiveAssessmentCompleted":
            state.assessed_on, state.needs = fact.on, d["needs"]
        case "CarePlanAgreed":
            state.care_plan_on = fact.on
            state.goals, state.next_review_on = list(d["goals"]), d["next_review_on"]
        case "CarePlanReviewed":
            state.last_review_on, state.next_review_on = fact.on, d["next_review_on"]
            if d["revised_goals"]:
                state.goals = list(d["revised_goals"])
        case "InterventionStarted":
            state.interventions[d["intervention_id"]] = Intervention(
                id=d["intervention_id"], modality=d["modality"], tier=d["tier"], started_on=fact.on
            )
        case "InterventionEnded":
            ended = state.interventions.get(d["intervention_id"])
            if ended is not None:  # its start may since have been recorded in error
                ended.ended_on, ended.end_reason = fact.on, d["reason"]
        case "Discharged":
            state.discharged_on, state.exit_reason = fact.on, d["exit_reason"]
            for active in state.active_interventions:  # discharge ends what is still active
                active.ended_on, active.end_reason = fact.on, "discharged"
        case "AftercarePlanAgreed":
            state.aftercare_on, state.aftercare = fact.on, d
        case "ReEngaged":
            state.re_engaged_on, state.re_engaged_to = fact.on, d["new_episode_id"]
