"""The Episode aggregate on its own: no HTTP, no store. Each story starts from an episode in a
known state, records what a keyworker would, and reads the state or the rule broken."""

from datetime import date, timedelta
from uuid import uuid4

import pytest

from services.common.codes import ExitReason, Modality, ReferralSource, Tier
from services.journey.domain import Episode
from services.journey.steps.assessment import AlreadyTriagedError
from services.journey.steps.base import (
    DateBeforeReferralError,
    DateInFutureError,
    EpisodeClosedError,
)
from services.journey.steps.care_plan import CarePlanBeforeTriageError, ReviewWithoutPlanError
from services.journey.steps.corrections import UncorrectableEventError
from services.journey.steps.interventions import StructuredInterventionBeforeCarePlanError
from services.journey.steps.opening import NotDischargedError

TODAY = date(2026, 11, 30)
BY = {"organisation": "T3", "user": "kim"}
RISKS = {
    area: "low"
    for area in (
        "suicide_self_harm",
        "substance_use",
        "harm_to_others",
        "harm_from_others",
        "self_neglect",
    )
}
GOALS = [{"domain": "health", "goal": "hepatitis C test", "responsible": "keyworker"}]


def day(n: int) -> date:
    """n days before TODAY."""
    return TODAY - timedelta(days=n)


def referred_episode(referred: int = 60) -> Episode:
    return Episode(
        on=day(referred - 1),
        by=BY,
        client_id=uuid4(),
        organisation="T3",
        referral_id=uuid4(),
        referral_date=day(referred),
        source=ReferralSource.GP,
        referring_organisation=None,
        priority_flags=[],
        handover=None,
        keyworker=None,
        re_engaged_from=None,
    )


def record(episode: Episode, event: type, on: int, **data: object) -> None:
    episode.record(event, day(on), BY, TODAY, **data)


def triaged_episode() -> Episode:
    episode = referred_episode()
    record(
        episode,
        Episode.TriageCompleted,
        55,
        urgency="routine",
        tier_indicated=Tier.TIER_3,
        outcome="structured_treatment_needed",
        risks=RISKS,
    )
    return episode


def planned_episode() -> Episode:
    episode = triaged_episode()
    record(episode, Episode.CarePlanAgreed, 50, goals=GOALS, next_review_on=day(20))
    return episode


def test_a_referred_episode_waits_and_shows_no_tier() -> None:
    episode = referred_episode()
    assert (episode.state.phase, episode.state.tier, episode.state.tier_indicated) == (
        "waiting",
        None,
        None,
    )


def test_triage_moves_it_to_engagement_and_indicates_a_tier_without_delivering_one() -> None:
    episode = triaged_episode()
    assert episode.state.phase == "engagement"
    assert (episode.state.tier, episode.state.tier_indicated) == (None, Tier.TIER_3)


def test_a_second_triage_is_refused_and_records_nothing() -> None:
    episode = triaged_episode()
    version = episode.version
    with pytest.raises(AlreadyTriagedError):
        record(
            episode,
            Episode.TriageCompleted,
            54,
            urgency="routine",
            tier_indicated=Tier.TIER_2,
            outcome="x",
            risks=RISKS,
        )
    assert episode.version == version and not episode.collect_events()[version:]


def test_no_care_plan_before_triage_and_no_review_without_a_plan() -> None:
    episode = referred_episode()
    with pytest.raises(CarePlanBeforeTriageError):
        record(episode, Episode.CarePlanAgreed, 50, goals=GOALS, next_review_on=day(20))
    with pytest.raises(ReviewWithoutPlanError):
        record(
            episode,
            Episode.CarePlanReviewed,
            50,
            progress=[],
            revised_goals=None,
            next_review_on=day(20),
        )


def test_the_tier_of_an_intervention_is_derived_from_its_modality() -> None:
    episode = planned_episode()
    record(
        episode,
        Episode.InterventionStarted,
        45,
        intervention_id="i1",
        modality=Modality.STRUCTURED_PSYCHOSOCIAL,
    )
    assert episode.state.interventions["i1"].tier is Tier.TIER_3
    assert (episode.state.phase, episode.state.tier) == ("delivery", Tier.TIER_3)


def test_a_structured_intervention_needs_a_care_plan_but_harm_reduction_does_not() -> None:
    episode = triaged_episode()
    record(
        episode,
        Episode.InterventionStarted,
        54,
        intervention_id="h",
        modality=Modality.HARM_REDUCTION,
    )
    assert episode.state.tier is Tier.TIER_2
    with pytest.raises(StructuredInterventionBeforeCarePlanError):
        record(
            episode,
            Episode.InterventionStarted,
            54,
            intervention_id="s",
            modality=Modality.SPECIALIST_PRESCRIBING,
        )


def test_discharge_derives_whether_it_was_planned_ends_what_is_active_and_closes_the_episode() -> (
    None
):
    episode = planned_episode()
    record(
        episode,
        Episode.InterventionStarted,
        45,
        intervention_id="i1",
        modality=Modality.STRUCTURED_PSYCHOSOCIAL,
    )
    record(episode, Episode.Discharged, 10, exit_reason=ExitReason.TREATMENT_COMPLETED_DRUG_FREE)
    assert episode.facts[-1].data["planned"] is True
    assert episode.state.interventions["i1"].ended_on == day(10)
    assert (episode.state.phase, episode.state.tier) == ("completion", None)
    with pytest.raises(EpisodeClosedError):
        record(episode, Episode.KeyworkerAssigned, 5, keyworker="sam")
    record(
        episode,
        Episode.AftercarePlanAgreed,
        5,
        drug_related_support=["group"],
        non_drug_related_support=[],
        agencies=[],
    )


def test_dates_are_not_before_the_referral_nor_in_the_future() -> None:
    episode = referred_episode(referred=60)
    with pytest.raises(DateBeforeReferralError):
        record(episode, Episode.KeyworkerAssigned, 61, keyworker="sam")
    with pytest.raises(DateInFutureError):
        record(episode, Episode.KeyworkerAssigned, -1, keyworker="sam")


def test_re_engagement_needs_a_discharge() -> None:
    episode = triaged_episode()
    with pytest.raises(NotDischargedError):
        record(episode, Episode.ReEngaged, 1, new_episode_id=uuid4(), organisation="T3")


def test_an_event_recorded_in_error_drops_out_and_a_correction_replaces_it() -> None:
    episode = triaged_episode()
    record(episode, Episode.KeyworkerAssigned, 50, keyworker="sam")
    episode.mark_in_error(3, BY, "wrong client", TODAY)
    assert episode.state.keyworker is None
    episode.correct(
        2,
        day(54),
        {"urgency": "urgent", "tier_indicated": Tier.TIER_2, "outcome": "x", "risks": RISKS},
        BY,
        "typo",
        TODAY,
    )
    assert (episode.state.triaged_on, episode.state.tier_indicated) == (day(54), Tier.TIER_2)
    with pytest.raises(UncorrectableEventError):
        episode.correct(1, day(54), {}, BY, "the opening cannot be replaced", TODAY)


def test_replaying_the_events_gives_the_same_state() -> None:
    episode = planned_episode()
    record(
        episode,
        Episode.InterventionStarted,
        45,
        intervention_id="i1",
        modality=Modality.HARM_REDUCTION,
    )
    events = episode.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.state == episode.state
