"""The journey by clinical step. Each module holds one step's events, the rules checked when
they are recorded, how they change an episode's state, what the domain derives, and their
request bodies. This package dispatches on the event class and checks, at import, that every
journey event has its step.
"""

from datetime import date

from services.journey.state import EpisodeState, Fact
from services.journey.steps import (
    aftercare,
    assessment,
    care_plan,
    corrections,
    discharge,
    harm_reduction,
    interventions,
    opening,
    substances,
    top,
)
from services.journey.steps.base import JourneyEvent, Step, check_date, check_open

STEPS: list[Step] = [
    *assessment.STEPS,
    *care_plan.STEPS,
    *interventions.STEPS,
    *substances.STEPS,
    *harm_reduction.STEPS,
    *top.STEPS,
    *discharge.STEPS,
    *aftercare.STEPS,
    *opening.STEPS,
    *corrections.STEPS,
]
BY_EVENT: dict[type[JourneyEvent], Step] = {step.event: step for step in STEPS}
# Facts name their event by its class name (the feed's `type`); one name, one step.
BY_TYPE: dict[str, Step] = {step.type: step for step in STEPS}


def _every_event_has_its_step() -> None:
    events = set(JourneyEvent.__subclasses__())
    missing = sorted(e.__name__ for e in events - set(BY_EVENT))
    if missing or len(BY_TYPE) != len(STEPS):
        raise RuntimeError(f"journey events without a step (or named twice): {missing}")


_every_event_has_its_step()


def check(state: EpisodeState, step: Step, fact: Fact, today: date) -> None:
    """Raise the first rule the fact would break on an episode in this state."""
    check_open(state, step.after_discharge, discharging=step.event is discharge.Discharged)
    check_date(state, fact.on, today)
    step.check(state, fact)


def evolve(state: EpisodeState, fact: Fact) -> None:
    """Apply one effective fact to the state (no rules here: they ran when it was recorded)."""
    state.latest_on = max(state.latest_on, fact.on)
    if fact.type == opening.OPENING:
        opening.opened(state, fact)
    else:
        BY_TYPE[fact.type].evolve(state, fact)


def fold(facts: list[Fact]) -> EpisodeState:
    state = EpisodeState()
    live = corrections.effective(facts)
    if not live or live[0].type != opening.OPENING:
        # The opening was recorded in error: the episode is void, but it still belongs to
        # the organisation and client it was opened for (who may read the void record).
        state.void = True
        evolve(state, facts[0])
        return state
    for fact in live:
        evolve(state, fact)
    return state
