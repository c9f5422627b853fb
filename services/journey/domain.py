"""The Episode aggregate: one organisation's involvement with a client (§3.9).

Each journey event is defined with its clinical step (steps/), its fields being the feed's
`data`. Commands check the step's rules against the current state, once; every event, on
recording and on replay, only folds into the state.
"""

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from services.common.codes import PriorityFlag, ReferralSource
from services.common.ids import episode_id_for_referral
from services.journey import steps
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
from services.journey.steps.base import JourneyEvent, check_date
from services.journey.steps.opening import OPENING

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic", "on", "by")


class Episode(Aggregate):
    # The journey events, each defined with its step (steps/). Named here, they are published
    # and stored as Episode's events (topic services.journey.domain:Episode.<Name>), as they
    # always have been.
    TriageCompleted = assessment.TriageCompleted
    KeyworkerAssigned = assessment.KeyworkerAssigned
    ComprehensiveAssessmentCompleted = assessment.ComprehensiveAssessmentCompleted
    InitialCarePlanAgreed = care_plan.InitialCarePlanAgreed
    CarePlanAgreed = care_plan.CarePlanAgreed
    CarePlanReviewed = care_plan.CarePlanReviewed
    InterventionStarted = interventions.InterventionStarted
    InterventionEnded = interventions.InterventionEnded
    SubstanceProfileRecorded = substances.SubstanceProfileRecorded
    BloodBorneVirusesRecorded = harm_reduction.BloodBorneVirusesRecorded
    NaloxoneIssued = harm_reduction.NaloxoneIssued
    TopRecorded = top.TopRecorded
    Discharged = discharge.Discharged
    AftercarePlanAgreed = aftercare.AftercarePlanAgreed
    ReEngaged = opening.ReEngaged
    EventRecordedInError = corrections.EventRecordedInError
    EventCorrected = corrections.EventCorrected

    @staticmethod
    def create_id(referral_id: UUID | None) -> UUID:
        """From a referral, deterministic: one accepted referral can never open two episodes."""
        if referral_id is None:
            return uuid4()
        return episode_id_for_referral(referral_id)

    @event("EpisodeOpened")
    def __init__(
        self,
        on: date,
        by: dict[str, str],
        client_id: UUID | None,
        organisation: str,
        referral_id: UUID | None,
        referral_date: date,
        source: ReferralSource | None,
        referring_organisation: str | None,
        priority_flags: list[PriorityFlag],
        handover: dict[str, Any] | None,
        keyworker: str | None,
        re_engaged_from: UUID | None,
    ) -> None:
        self.facts: list[Fact] = []
        self.state = EpisodeState()
        data = {k: v for k, v in locals().items() if k not in ("self", "on", "by", "data")}
        opened = Fact(1, OPENING, on, data, recorded_at=self.created_on, recorded_by=by)
        self.facts.append(opened)
        steps.evolve(self.state, opened)

    # Commands: rules run here, once.

    def record(
        self,
        event_class: type[JourneyEvent],
        on: date,
        by: dict[str, str],
        today: date,
        **given: Any,
    ) -> None:
        """Record a journey event: what the domain derives is added to what the caller gave,
        and the step's rules are checked against the current state."""
        step = steps.BY_TYPE[event_class.__name__]
        data = step.derive(given)
        candidate = Fact(self.version + 1, step.type, on, data, recorded_at=datetime.now(UTC))
        steps.check(self.state, step, candidate, today)
        self.trigger_event(getattr(Episode, step.type), on=on, by=by, **data)

    def mark_in_error(
        self, target_version: int, by: dict[str, str], reason: str, today: date
    ) -> None:
        target = corrections.check_correction(
            self.state, self.facts, target_version, replacing=False
        )
        self.trigger_event(
            self.EventRecordedInError,
            on=today,
            by=by,
            target_version=target_version,
            target_type=target.type,
            reason=reason,
        )

    def correct(
        self,
        target_version: int,
        replacement_on: date,
        replacement: dict[str, Any],
        by: dict[str, str],
        reason: str,
        today: date,
    ) -> None:
        target = corrections.check_correction(
            self.state, self.facts, target_version, replacing=True
        )
        check_date(self.state, replacement_on, today)
        replacement = steps.BY_TYPE[target.type].derive(replacement)
        kept = {k: target.data[k] for k in ("intervention_id",) if k in target.data}
        self.trigger_event(
            self.EventCorrected,
            on=today,
            by=by,
            target_version=target_version,
            target_type=target.type,
            replacement_on=replacement_on,
            replacement={**replacement, **kept},
            reason=reason,
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> "Episode":
        """The repository's cache hands out a deep copy on every read. Facts are immutable, so
        the copy shares them and copies only what `evolve` mutates: O(events), not a full
        recursive copy of every event's data."""
        copied = object.__new__(type(self))
        copied.__dict__.update(self.__dict__)
        copied._pending_events = list(self._pending_events)
        copied.facts = list(self.facts)
        copied.state = self.state.copy()
        return copied

    # State: every event, on recording and on replay, comes through here.

    def absorb(self, journey_event: Any) -> None:
        attributes = vars(journey_event)
        fact = Fact(
            version=journey_event.originator_version,
            type=type(journey_event).__name__,
            on=journey_event.on,
            data={k: v for k, v in attributes.items() if k not in ENVELOPE},
            recorded_at=journey_event.timestamp,
            recorded_by=journey_event.by,
        )
        self.facts.append(fact)
        if fact.type in corrections.CORRECTION_TYPES:
            self.state = steps.fold(self.facts)
        else:
            steps.evolve(self.state, fact)
