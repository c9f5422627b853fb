"""Corrections (DESIGN: "recorded in error / corrected"): mistakes are amended by new events,
never by editing old ones. An event marked recorded in error drops out of every view; a
corrected event is replaced by its correction. Corrections are not re-checked against the
sequencing rules: they state what really happened."""

from dataclasses import replace
from datetime import date
from typing import Any

from pydantic import Field

from services.common.errors import NotVisibleError
from services.common.schemas import LongText, StrictIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import EpisodeVoidError, JourneyError, JourneyEvent, Step
from services.journey.steps.opening import OPENING


class EventRecordedInError(JourneyEvent):
    target_version: int
    target_type: str
    reason: str


class EventCorrected(JourneyEvent):
    target_version: int
    target_type: str
    replacement_on: date
    replacement: dict[str, Any]
    reason: str


CORRECTION_TYPES = frozenset({EventRecordedInError.__name__, EventCorrected.__name__})


class EventNotFoundError(JourneyError, NotVisibleError):
    """No such event in this episode."""


class UncorrectableEventError(JourneyError):
    """That event cannot be corrected this way."""


class InErrorIn(StrictIn):
    reason: LongText


class CorrectionIn(StrictIn):
    reason: LongText
    replacement: dict[str, Any] = Field(
        description="The corrected event: the same body as the endpoint that recorded it."
    )


def check_correction(
    state: EpisodeState, facts: list[Fact], target_version: int, replacing: bool
) -> Fact:
    """The event a correction targets, if it may be corrected; returns it."""
    if state.void:
        raise EpisodeVoidError("The episode's opening was recorded in error.")
    target = next((f for f in facts if f.version == target_version), None)
    if target is None:
        raise EventNotFoundError(f"The episode has no event at version {target_version}.")
    if target.type in CORRECTION_TYPES:
        raise UncorrectableEventError("A correction cannot itself be corrected.")
    marked = {f.data["target_version"] for f in facts if f.type == EventRecordedInError.__name__}
    if target_version in marked:
        raise UncorrectableEventError("That event is already marked recorded in error.")
    if replacing and target.type in (OPENING, "ReEngaged"):
        raise UncorrectableEventError(
            f"A {target.type} event can only be marked recorded in error, not replaced."
        )
    return target


def effective(facts: list[Fact]) -> list[Fact]:
    """The facts with corrections applied: in-error ones dropped, corrected ones replaced."""
    in_error: set[int] = set()
    replacements: dict[int, Fact] = {}
    by_version = {fact.version: fact for fact in facts}
    for fact in facts:
        target = int(fact.data.get("target_version", 0))
        if fact.type == EventRecordedInError.__name__:
            in_error.add(target)
        elif fact.type == EventCorrected.__name__:
            replacements[target] = replace(
                by_version[target],
                on=fact.data["replacement_on"],
                data=fact.data["replacement"],
                corrected_at=fact.recorded_at,
            )
    return [
        replacements.get(fact.version, fact)
        for fact in facts
        if fact.type not in CORRECTION_TYPES and fact.version not in in_error
    ]


def refolded(state: EpisodeState, fact: Fact) -> None:
    """A correction changes earlier facts: the episode folds all its facts again instead."""


STEPS = [
    Step(EventRecordedInError, refolded, after_discharge=True),
    Step(EventCorrected, refolded, after_discharge=True),
]
