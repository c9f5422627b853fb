"""Discharge with a coded exit reason (planned or not, derived from the reason), once per
episode; it ends the interventions still active."""

from typing import Any

from pydantic import Field

from services.common.codes import PLANNED_EXITS, ExitReason
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import JourneyError, JourneyEvent, Step


class Discharged(JourneyEvent):
    exit_reason: ExitReason
    planned: bool


class DischargeBeforeEarlierEventError(JourneyError):
    """A discharge cannot be dated before events already recorded on the episode."""


class DischargeIn(EventIn):
    exit_reason: ExitReason = Field(description="GET /codes lists planned_exit_reasons.")


def with_planned(data: dict[str, Any]) -> dict[str, Any]:
    """Whether the exit is planned follows from its reason (the coded list's planned exits)."""
    return {**data, "planned": ExitReason(data["exit_reason"]) in PLANNED_EXITS}


def check_discharge(state: EpisodeState, fact: Fact) -> None:
    if fact.on < state.latest_on:
        raise DischargeBeforeEarlierEventError(
            f"{fact.on} is before the latest event on the episode ({state.latest_on})."
        )


def discharged(state: EpisodeState, fact: Fact) -> None:
    state.discharged_on, state.exit_reason = fact.on, fact.data["exit_reason"]
    for active in state.active_interventions:  # discharge ends what is still active
        active.ended_on, active.end_reason = fact.on, "discharged"


STEPS = [
    Step(
        Discharged,
        discharged,
        check_discharge,
        derive=with_planned,
        body=DischargeIn,
        path="discharge",
        summary="Discharge with a coded exit reason; ends interventions still active. Once per "
        "episode.",
    )
]
