"""Every journey rule broken over HTTP: the documented problem, and the feed unmoved."""

from typing import Any

import pytest

from tests.builders import days_ago
from tests.journey_driver import GOALS, RISKS, JourneyDriver
from tests.support import assert_problem

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def refused(
    d: JourneyDriver,
    episode_id: str,
    path: str,
    body: dict[str, Any],
    status: int,
    rule: str,
    **headers: str,
) -> dict[str, Any]:
    before = d.feed_position()
    version = d.episode(episode_id)["version"]
    problem = assert_problem(d.post(episode_id, path, body, **headers), status, rule)
    assert d.feed_position() == before
    assert d.episode(episode_id)["version"] == version
    return problem


def plan(on: int, path: str = "care-plan") -> dict[str, Any]:
    body: dict[str, Any] = {"on": days_ago(on), "goals": GOALS}
    if path == "care-plan":
        body["next_review_on"] = days_ago(on - 28)
    return body


@pytest.mark.parametrize("path", ["care-plan", "initial-care-plan"])
def test_no_care_plan_before_triage(journey_driver: JourneyDriver, path: str) -> None:
    d = journey_driver
    episode = d.open_episode()
    problem = refused(d, episode, path, plan(50, path), 409, "care-plan-before-triage")
    assert problem["rule"] == "care-plan-before-triage"
    d.triage(episode, on=40)
    refused(d, episode, path, plan(45, path), 409, "care-plan-before-triage")  # dated before it
    d.ok(episode, path, plan(40, path))  # same day as triage is fine


def test_no_structured_intervention_before_a_care_plan(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    body = {"on": days_ago(50), "modality": "residential_rehabilitation"}
    rule = "structured-intervention-before-care-plan"
    refused(d, episode, "interventions", body, 409, rule)
    d.ok(episode, "initial-care-plan", plan(54, "initial-care-plan"))
    refused(d, episode, "interventions", body, 409, rule)  # an initial plan is Tier 2 (§4.3)
    d.start(episode, "advice_and_information", on=53)  # Tier 2 needs no care plan
    d.care_plan(episode, on=45)
    refused(d, episode, "interventions", body, 409, rule)  # dated before the care plan
    d.start(episode, "residential_rehabilitation", on=45)


def test_no_review_without_an_agreed_plan(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    review = {
        "on": days_ago(20),
        "progress": [{"goal": 0, "progress": "improving"}],
        "next_review_on": days_ago(1),
    }
    refused(d, episode, "care-plan-reviews", review, 409, "review-without-plan")
    d.care_plan(episode, on=30)
    early = {**review, "on": days_ago(31)}
    refused(d, episode, "care-plan-reviews", early, 409, "review-without-plan")
    unknown_goal = {**review, "progress": [{"goal": 5, "progress": "achieved"}]}
    refused(d, episode, "care-plan-reviews", unknown_goal, 422, "unknown-goal")
    d.ok(episode, "care-plan-reviews", review)


def test_only_aftercare_and_re_engagement_after_discharge(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    d.care_plan(episode, on=50)
    intervention = d.start(episode, on=45)
    d.discharge(episode, on=10)
    closed = "episode-closed"
    refused(d, episode, "keyworker", {"on": days_ago(5), "keyworker": "x"}, 409, closed)
    refused(d, episode, "care-plan", plan(5), 409, closed)
    refused(
        d, episode, "interventions", {"on": days_ago(5), "modality": "harm_reduction"}, 409, closed
    )
    refused(
        d,
        episode,
        f"interventions/{intervention}/end",
        {"on": days_ago(5), "reason": "completed"},
        409,
        closed,
    )
    refused(
        d,
        episode,
        "triage",
        {
            "on": days_ago(5),
            "urgency": "routine",
            "tier_indicated": 3,
            "outcome": "no_treatment_need",
            "risks": RISKS,
        },
        409,
        closed,
    )
    refused(
        d,
        episode,
        "discharge",
        {"on": days_ago(5), "exit_reason": "moved_away"},
        409,
        "already-discharged",
    )
    d.ok(episode, "aftercare-plan", {"on": days_ago(5), "non_drug_related_support": ["housing"]})
    assert d.post(episode, "re-engagement", {"on": days_ago(2)}).status_code == 201
    refused(d, episode, "re-engagement", {"on": days_ago(1)}, 409, "already-re-engaged")


def test_re_engagement_needs_a_discharge_and_a_date_after_it(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    refused(d, episode, "re-engagement", {"on": days_ago(5)}, 409, "not-discharged")
    d.discharge(episode, on=20)
    refused(d, episode, "re-engagement", {"on": days_ago(25)}, 422, "date-before-discharge")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "triage",
            {
                "urgency": "urgent",
                "tier_indicated": 3,
                "outcome": "structured_treatment_needed",
                "risks": RISKS,
            },
        ),
        ("keyworker", {"keyworker": "lee"}),
        ("discharge", {"exit_reason": "dropped_out"}),
        ("aftercare-plan", {"drug_related_support": ["peer support"]}),
        ("interventions", {"modality": "harm_reduction"}),
    ],
)
@pytest.mark.parametrize(("when", "rule"), [(61, "date-before-referral"), (-1, "date-in-future")])
def test_no_business_date_before_the_referral_or_in_the_future(
    journey_driver: JourneyDriver, path: str, body: dict[str, Any], when: int, rule: str
) -> None:
    d = journey_driver
    episode = d.open_episode(referred=60, accepted=58)
    refused(d, episode, path, {"on": days_ago(when), **body}, 422, rule)


def test_a_referral_date_before_acceptance_is_allowed_for_events(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode(referred=60, accepted=58)
    d.triage(episode, on=60)  # triage on the referral date, before acceptance: allowed


def test_interventions_end_once_and_not_before_they_start(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    intervention = d.start(episode, "harm_reduction", on=40)
    end = f"interventions/{intervention}/end"
    early = {"on": days_ago(41), "reason": "completed"}
    refused(d, episode, end, early, 422, "intervention-ends-before-start")
    d.ok(episode, end, {"on": days_ago(40), "reason": "completed"})  # same day is fine
    refused(
        d,
        episode,
        end,
        {"on": days_ago(30), "reason": "completed"},
        409,
        "intervention-already-ended",
    )
    refused(
        d,
        episode,
        "interventions/no-such-one/end",
        {"on": days_ago(30), "reason": "other"},
        404,
        "not-found",
    )


def test_one_triage_and_discharge_not_before_what_is_recorded(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=50)
    again = {
        "on": days_ago(40),
        "urgency": "urgent",
        "tier_indicated": 2,
        "outcome": "open_access_only",
        "risks": RISKS,
    }
    refused(d, episode, "triage", again, 409, "already-triaged")
    refused(
        d,
        episode,
        "discharge",
        {"on": days_ago(52), "exit_reason": "dropped_out"},
        422,
        "discharge-before-earlier-event",
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "triage",
            {
                "urgency": "routine",
                "tier_indicated": 3,
                "outcome": "no_treatment_need",
                "risks": {"self_neglect": "low"},
            },
        ),
        (
            "triage",
            {
                "urgency": "soon",
                "tier_indicated": 3,
                "outcome": "no_treatment_need",
                "risks": RISKS,
            },
        ),
        (
            "triage",
            {
                "urgency": "routine",
                "tier_indicated": 7,
                "outcome": "no_treatment_need",
                "risks": RISKS,
            },
        ),
        ("interventions", {"modality": "inpatient", "tier": 3}),
        ("interventions", {"modality": "hugs"}),
        ("care-plan", {"goals": GOALS, "next_review_on": days_ago(40)}),
        ("care-plan", {"goals": [], "next_review_on": days_ago(1)}),
        (
            "care-plan",
            {
                "goals": [{"domain": "mood", "goal": "x", "responsible": "y"}],
                "next_review_on": days_ago(1),
            },
        ),
        ("comprehensive-assessment", {"needs": {"health": "x"}}),
        ("discharge", {"exit_reason": "bored"}),
        ("aftercare-plan", {"agencies": ["x"]}),
        ("keyworker", {"keyworker": ""}),
        ("keyworker", {"keyworker": "x", "extra": 1}),
    ],
)
def test_invalid_bodies_are_422_and_record_nothing(
    journey_driver: JourneyDriver, path: str, body: dict[str, Any]
) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55) if path != "triage" else None
    refused(d, episode, path, {"on": days_ago(40), **body}, 422, "validation-error")


def test_unknown_episode_is_404_and_bad_id_422(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    before = d.feed_position()
    assert_problem(
        d.post(UNKNOWN, "keyworker", {"on": days_ago(1), "keyworker": "x"}),
        404,
        "not-found",
    )
    assert_problem(d.post("nope", "keyworker", {"on": days_ago(1), "keyworker": "x"}), 422)
    assert_problem(d.journey.get(f"/clients/{UNKNOWN}/journey", headers=d_headers()), 404)
    assert d.feed_position() == before


def test_stale_if_match_is_412_and_the_current_version_wins(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    body = {"on": days_ago(30), "keyworker": "lee"}
    refused(d, episode, "keyworker", body, 412, "version-mismatch", **{"If-Match": '"5"'})
    response = d.post(episode, "keyworker", body, **{"If-Match": '"1"'})
    assert response.status_code == 201 and response.headers["etag"] == '"2"'
    refused(d, episode, "keyworker", body, 412, "version-mismatch", **{"If-Match": '"1"'})


def d_headers() -> dict[str, str]:
    from tests.journey_driver import H

    return H
