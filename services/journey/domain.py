"""The Episode aggregate: one organisation's involvement with a client (§3.9).

Every journey event is one class below, with its fields as the feed's `data`. Commands check
the rules (rules.py) against the current state; the events only fold into state (state.py).
"""

from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from services.common.codes import (
    AssessmentOutcome,
    ExitReason,
    InterventionEndReason,
    Modality,
    PriorityFlag,
    ReferralSource,
    RiskLevel,
    Tier,
    Urgency,
)
from services.common.ids import episode_id_for_referral
from services.journey import rules
from services.journey.state import CORRECTION_TYPES, EpisodeState, Fact, evolve, fold

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic", "on", "by")


class Episode(Aggregate):
    class JourneyEvent(Aggregate.Event):
        on: date
        by: dict[str, str]

        def apply(self, aggregate: Aggregate) -> None:
            cast("Episode", aggregate).absorb(self)

    class TriageCompleted(JourneyEvent):
        urgency: Urgency
        tier_indicated: Tier
        outcome: AssessmentOutcome
        risks: dict[str, RiskLevel]

    class KeyworkerAssigned(JourneyEvent):
        keyworker: str

    class InitialCarePlanAgreed(JourneyEvent):
        goals: list[dict[str, Any]]
        next_review_on: date | None

    class ComprehensiveAssessmentCompleted(JourneyEvent):
        needs: dict[str, str]

    class CarePlanAgreed(JourneyEvent):
        goals: list[dict[str, Any]]
        next_review_on: date

    class CarePlanReviewed(JourneyEvent):
        progress: list[dict[str, Any]]
        revised_goals: list[dict[str, Any]] | None
        next_review_on: date

    class InterventionStarted(JourneyEvent):
        intervention_id: str
        modality: Modality
        tier: Tier

    class InterventionEnded(JourneyEvent):
        intervention_id: str
        reason: InterventionEndReason

    class Discharged(JourneyEvent):
        exit_reason: ExitReason
        planned: bool

    class AftercarePlanAgreed(JourneyEvent):
        drug_related_support: list[str]
        non_drug_related_support: list[str]
        agencies: list[str]

    class ReEngaged(JourneyEvent):
        new_episode_id: UUID
        organisation: str

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
        opened = Fact(1, "EpisodeOpened", on, data, recorded_at=self.created_on, recorded_by=by)
        self.facts.append(opened)
        evolve(self.state, opened)

    # Commands: rules run here, once.

    def record(
        self,
        event_class: type[JourneyEvent],
        on: date,
        by: dict[str, str],
        today: date,
        **data: Any,
    ) -> None:
        candidate = Fact(
            self.version + 1, event_class.__name__, on, data, recorded_at=datetime.now(UTC)
        )
        rules.check(self.state, candidate, today)
        self.trigger_event(event_class, on=on, by=by, **data)

    def mark_in_error(
        self, target_version: int, by: dict[str, str], reason: str, today: date
    ) -> None:
        target = rules.check_correction(self.state, self.facts, target_version, replacing=False)
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
        target = rules.check_correction(self.state, self.facts, target_version, replacing=True)
        rules.check_date(self.state, replacement_on, today)
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
        if fact.type in CORRECTION_TYPES:
            self.state = fold(self.facts)
        else:
            evolve(self.state, fact)
