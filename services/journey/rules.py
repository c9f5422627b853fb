"""The journey rules (DESIGN.md, "Rules"): each error names the rule it enforces.

`check` runs once, when an event is recorded; never on replay.
"""

from datetime import date

from services.common.codes import STRUCTURED_TIERS
from services.common.errors import NotVisibleError
from services.journey.state import CORRECTION_TYPES, OPENING, EpisodeState, Fact

AFTER_DISCHARGE = frozenset({"AftercarePlanAgreed", "ReEngaged", *CORRECTION_TYPES})


class JourneyError(Exception):
    """A journey-service rule was broken."""


class EpisodeNotFoundError(JourneyError, NotVisibleError):
    """No such episode."""


class InterventionNotFoundError(JourneyError, NotVisibleError):
    """No such intervention in this episode."""


class EventNotFoundError(JourneyError, NotVisibleError):
    """No such event in this episode."""


class EpisodeVoidError(JourneyError):
    """The episode's opening was recorded in error; nothing more can be recorded on it."""


class EpisodeClosedError(JourneyError):
    """Only aftercare, re-engagement and corrections can be recorded after discharge."""


class AlreadyDischargedError(JourneyError):
    """An episode is discharged once."""


class AlreadyTriagedError(JourneyError):
    """The episode already has a triage assessment; correct it instead."""


class CarePlanBeforeTriageError(JourneyError):
    """No care plan before triage."""


class StructuredInterventionBeforeCarePlanError(JourneyError):
    """No structured (Tier 3/4) intervention before a care plan is agreed."""


class ReviewWithoutPlanError(JourneyError):
    """No care plan review without an agreed plan."""


class UnknownGoalError(JourneyError):
    """The review refers to a goal the current plan does not have."""


class InterventionEndsBeforeStartError(JourneyError):
    """An intervention cannot end before it starts."""


class InterventionAlreadyEndedError(JourneyError):
    """The intervention has already ended."""


class DischargeBeforeEarlierEventError(JourneyError):
    """A discharge cannot be dated before events already recorded on the episode."""


class NotDischargedError(JourneyError):
    """Only a discharged episode can be re-engaged."""


class AlreadyReEngagedError(JourneyError):
    """The client has already re-engaged from this episode; record on the new episode."""


class DateBeforeReferralError(JourneyError):
    """No business date before the referral date."""


class DateInFutureError(JourneyError):
    """No business date in the future."""


class DateBeforeDischargeError(JourneyError):
    """A re-engagement cannot be dated before the discharge."""


class UncorrectableEventError(JourneyError):
    """That event cannot be corrected this way."""


class VersionMismatchError(JourneyError):
    """The episode has changed since the version the caller expected."""


def check_date(state: EpisodeState, on: date, today: date) -> None:
    if on < state.referral_date:
        raise DateBeforeReferralError(f"{on} is before the referral date ({state.referral_date}).")
    if on > today:
        raise DateInFutureError(f"{on} is after today ({today}).")


def check(state: EpisodeState, fact: Fact, today: date) -> None:
    """Raise the first rule the fact would break on an episode in this state."""
    if state.void:
        raise EpisodeVoidError("The episode's opening was recorded in error.")
    if state.discharged_on is not None and fact.type not in AFTER_DISCHARGE:
        if fact.type == "Discharged":
            raise AlreadyDischargedError(f"The episode was discharged on {state.discharged_on}.")
        raise EpisodeClosedError(f"The episode was discharged on {state.discharged_on}.")
    check_date(state, fact.on, today)
    RULES.get(fact.type, lambda state, fact: None)(state, fact)


def _triage(state: EpisodeState, fact: Fact) -> None:
    if state.triaged_on is not None:
        raise AlreadyTriagedError(f"The episode was triaged on {state.triaged_on}.")


def _plan(state: EpisodeState, fact: Fact) -> None:
    if state.triaged_on is None:
        raise CarePlanBeforeTriageError("Record the triage assessment first.")
    if fact.on < state.triaged_on:
        raise CarePlanBeforeTriageError(f"{fact.on} is before the triage ({state.triaged_on}).")


def _review(state: EpisodeState, fact: Fact) -> None:
    plan_on = state.plan_on
    if plan_on is None:
        raise ReviewWithoutPlanError("Agree an initial care plan or a care plan first.")
    if fact.on < plan_on:
        raise ReviewWithoutPlanError(f"{fact.on} is before the plan was agreed ({plan_on}).")
    for progress in fact.data["progress"]:
        if not 0 <= progress["goal"] < len(state.goals):
            raise UnknownGoalError(
                f"Goal {progress['goal']} does not exist; the plan has goals "
                f"0 to {len(state.goals) - 1}."
            )


def _start(state: EpisodeState, fact: Fact) -> None:
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


def _end(state: EpisodeState, fact: Fact) -> None:
    intervention = state.interventions.get(fact.data["intervention_id"])
    if intervention is None:
        raise InterventionNotFoundError(f"No intervention {fact.data['intervention_id']}.")
    if intervention.ended_on is not None:
        raise InterventionAlreadyEndedError(f"It ended on {intervention.ended_on}.")
    if fact.on < intervention.started_on:
        raise InterventionEndsBeforeStartError(
            f"{fact.on} is before the intervention started ({intervention.started_on})."
        )


def _discharge(state: EpisodeState, fact: Fact) -> None:
    if fact.on < state.latest_on:
        raise DischargeBeforeEarlierEventError(
            f"{fact.on} is before the latest event on the episode ({state.latest_on})."
        )


def _re_engage(state: EpisodeState, fact: Fact) -> None:
    if state.discharged_on is None:
        raise NotDischargedError("The episode is still open.")
    if state.re_engaged_to is not None:
        raise AlreadyReEngagedError(f"The client re-engaged into episode {state.re_engaged_to}.")
    if fact.on < state.discharged_on:
        raise DateBeforeDischargeError(
            f"{fact.on} is before the discharge ({state.discharged_on})."
        )


RULES = {
    "TriageCompleted": _triage,
    "InitialCarePlanAgreed": _plan,
    "CarePlanAgreed": _plan,
    "CarePlanReviewed": _review,
    "InterventionStarted": _start,
    "InterventionEnded": _end,
    "Discharged": _discharge,
    "ReEngaged": _re_engage,
}


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
    marked = {f.data["target_version"] for f in facts if f.type == "EventRecordedInError"}
    if target_version in marked:
        raise UncorrectableEventError("That event is already marked recorded in error.")
    if replacing and target.type in (OPENING, "ReEngaged"):
        raise UncorrectableEventError(
            f"A {target.type} event can only be marked recorded in error, not replaced."
        )
    return target
