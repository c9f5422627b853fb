"""Interventions (§9): started with a modality, whose tier the domain derives; ended once.
For the national return a start also carries when the client was referred to it, the first
appointment offered and its setting; an end, its exit status. Events stored before these
existed read with none."""

from datetime import date
from typing import Any, Self

from pydantic import Field, model_validator

from services.common.codes import (
    EXIT_STATUS_OF_END_REASON,
    MODALITY_TIER,
    STRUCTURED_TIERS,
    InterventionEndReason,
    InterventionExitStatus,
    InterventionSetting,
    Modality,
    Tier,
)
from services.common.errors import NotVisibleError
from services.common.schemas import Day
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact, Intervention
from services.journey.steps.base import DateBeforeReferralError, JourneyError, JourneyEvent, Step


class InterventionStarted(JourneyEvent):
    intervention_id: str
    modality: Modality
    tier: Tier
    referred_on: date | None = None
    first_appointment_offered_on: date | None = None
    setting: InterventionSetting | None = None


class InterventionEnded(JourneyEvent):
    intervention_id: str
    reason: InterventionEndReason
    exit_status: InterventionExitStatus | None = None


class InterventionNotFoundError(JourneyError, NotVisibleError):
    """No such intervention in this episode."""


class StructuredInterventionBeforeCarePlanError(JourneyError):
    """No structured (Tier 3/4) intervention before a care plan is agreed."""


class InterventionEndsBeforeStartError(JourneyError):
    """An intervention cannot end before it starts."""


class InterventionAlreadyEndedError(JourneyError):
    """The intervention has already ended."""


class InterventionIn(EventIn):
    modality: Modality
    tier: Tier | None = Field(None, description="Optional; must be the modality's own tier.")
    referred_on: Day | None = Field(
        None, description="When the client was referred to it (the wait starts); not after `on`."
    )
    first_appointment_offered_on: Day | None = Field(
        None, description="First appointment offered: not before referred_on, not after `on`."
    )
    setting: InterventionSetting | None = None

    @model_validator(mode="after")
    def tier_matches(self) -> Self:
        expected = MODALITY_TIER[self.modality]
        if self.tier is not None and self.tier is not expected:
            raise ValueError(f"{self.modality.value} is Tier {expected.value}")
        return self

    @model_validator(mode="after")
    def dates_in_order(self) -> Self:
        referred, offered = self.referred_on, self.first_appointment_offered_on
        if referred is not None and referred > self.on:
            raise ValueError("referred_on must not be after the start (`on`)")
        if offered is not None and offered > self.on:
            raise ValueError("first_appointment_offered_on must not be after the start (`on`)")
        if referred is not None and offered is not None and offered < referred:
            raise ValueError("first_appointment_offered_on must not be before referred_on")
        return self

    def event_data(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "referred_on": self.referred_on,
            "first_appointment_offered_on": self.first_appointment_offered_on,
            "setting": self.setting,
        }


class InterventionEndIn(EventIn):
    reason: InterventionEndReason
    exit_status: InterventionExitStatus | None = Field(
        None, description="Default: from the reason (completed or transferred: planned, ...)."
    )


def with_tier(data: dict[str, Any]) -> dict[str, Any]:
    """An intervention's tier is its modality's (§9)."""
    return {**data, "tier": MODALITY_TIER[Modality(data["modality"])]}


def with_exit_status(data: dict[str, Any]) -> dict[str, Any]:
    """Without one given, the exit status follows from the end reason."""
    if data.get("exit_status") is not None:
        return data
    status = EXIT_STATUS_OF_END_REASON.get(InterventionEndReason(data["reason"]))
    return {**data, "exit_status": status}


def check_start(state: EpisodeState, fact: Fact) -> None:
    referred_on = fact.data.get("referred_on")
    if referred_on is not None and referred_on < state.referral_date:
        raise DateBeforeReferralError(
            f"Referred to it on {referred_on}: before the referral date ({state.referral_date})."
        )
    if fact.data["tier"] not in STRUCTURED_TIERS:
        return
    if state.care_plan_on is None:
        raise StructuredInterventionBeforeCarePlanError(
            "A Tier 3/4 intervention needs an agreed care plan (an initial care plan is Tier 2)."
        )
    if fact.on < state.care_plan_on:
        raise StructuredInterventionBeforeCarePlanError(
            f"{fact.on} is before the care plan was agreed ({state.care_plan_on})."
        )


def check_end(state: EpisodeState, fact: Fact) -> None:
    intervention = state.interventions.get(fact.data["intervention_id"])
    if intervention is None:
        raise InterventionNotFoundError(f"No intervention {fact.data['intervention_id']}.")
    if intervention.ended_on is not None:
        raise InterventionAlreadyEndedError(f"It ended on {intervention.ended_on}.")
    if fact.on < intervention.started_on:
        raise InterventionEndsBeforeStartError(
            f"{fact.on} is before the intervention started ({intervention.started_on})."
        )


def started(state: EpisodeState, fact: Fact) -> None:
    d = fact.data
    state.interventions[d["intervention_id"]] = Intervention(
        id=d["intervention_id"],
        modality=d["modality"],
        tier=d["tier"],
        started_on=fact.on,
        referred_on=d.get("referred_on"),
        first_appointment_offered_on=d.get("first_appointment_offered_on"),
        setting=d.get("setting"),
    )


def ended(state: EpisodeState, fact: Fact) -> None:
    intervention = state.interventions.get(fact.data["intervention_id"])
    if intervention is not None:  # its start may since have been recorded in error
        intervention.ended_on, intervention.end_reason = fact.on, fact.data["reason"]
        intervention.exit_status = fact.data.get("exit_status")


STEPS = [
    Step(InterventionStarted, started, check_start, derive=with_tier, body=InterventionIn),
    Step(InterventionEnded, ended, check_end, derive=with_exit_status, body=InterventionEndIn),
]
