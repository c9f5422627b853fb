"""Treatment Outcomes Profile: recorded with its rules, shown in the journey read and the feed,
corrected like any event; and the client's one TOP care coordinator."""

from typing import Any

import pytest

from tests.api.test_journey_rules import refused
from tests.builders import days_ago
from tests.journey_driver import CJIT, H, JourneyDriver
from tests.support import assert_problem


def top(on: int, stage: str = "start", **sections: Any) -> dict[str, Any]:
    return {
        "on": days_ago(on),
        "stage": stage,
        "substance_use": {"opiates": [7, 7, 5, 6], "crack": 12, "alcohol": "NA"},
        "injecting": {"days": [2, 0, 0, 1], "needle_sharing": "N", "paraphernalia_sharing": "Y"},
        "crime": {"shoplifting": 3, "drug_selling": 0, "other_theft": "N", "assault": "NA"},
        "health_and_social": {
            "psychological_health": 8,
            "physical_health": 11,
            "quality_of_life": 7,
            "paid_work": 0,
            "education": [0, 0, 0, 0],
            "acute_housing_problem": "Y",
            "eviction_risk": "N",
        },
    } | sections


def in_treatment(d: JourneyDriver) -> str:
    episode = d.open_episode(referred=60, accepted=58)
    d.triage(episode, on=55)
    d.care_plan(episode, on=50)
    d.start(episode, on=45)
    return episode


def test_tops_due_recorded_and_read(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = in_treatment(d)
    state = d.episode(episode)
    # The start TOP fell due with the first structured intervention, 45 days ago.
    assert (state["top_due_on"], state["top_overdue"]) == (days_ago(45), True)
    refused(d, episode, "top", top(40, "review"), 409, "review-top-without-start")
    d.ok(episode, "top", top(44))
    state = d.episode(episode)
    assert state["tops"] == [{"on": days_ago(44), "stage": "start"}]
    assert (state["top_due_on"], state["top_overdue"]) == (days_ago(44 - 182), False)
    d.ok(episode, "top", top(10, "review"))
    assert d.episode(episode)["top_due_on"] == days_ago(10 - 182)
    [item] = [i for i in d.feed() if i["type"] == "TopRecorded"][:1]
    assert item["data"]["stage"] == "start"
    assert item["data"]["substance_use"] == {"opiates": [7, 7, 5, 6], "crack": 12, "alcohol": "NA"}
    assert item["data"]["injecting"]["sharing"] == "Y"  # needle N, paraphernalia Y


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"substance_use": {"opiates": [8, 0, 0, 0]}}, "a week has 7 days"),
        ({"substance_use": {"crack": 29}}, "28 days at most"),
        ({"substance_use": {"crack": [1, 2, 3]}}, "four weeks"),
        ({"substance_use": {"crack": [1, "NA", 2, 3]}}, "NA for the item, not a week"),
        ({"health_and_social": {"quality_of_life": 21}}, "ratings are 0-20"),
        ({"health_and_social": {"quality_of_life": -1}}, "ratings are 0-20"),
        ({"crime": {"assault": "yes"}}, "Y, N or NA"),
        ({"injecting": {"days": 0, "needle_sharing": "Y"}}, "no sharing without injecting"),
        ({"injecting": {"days": 0, "needle_sharing": "NA"}}, "0 days: sharing is N"),
        ({"stage": "NA"}, "the stage is always given"),
        ({"on": "NA"}, "the interview date is always given"),
        ({"substance_use": {}, "injecting": {}, "crime": {}, "health_and_social": {}}, "empty"),
    ],
)
def test_values_out_of_range_record_nothing(
    journey_driver: JourneyDriver, change: dict[str, Any], why: str
) -> None:
    d = journey_driver
    episode = in_treatment(d)
    refused(d, episode, "top", top(44) | change, 422, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("when", "rule"), [(61, "date-before-referral"), (-1, "date-in-future")])
def test_no_top_before_the_referral_or_in_the_future(
    journey_driver: JourneyDriver, when: int, rule: str
) -> None:
    d = journey_driver
    episode = in_treatment(d)
    refused(d, episode, "top", top(when), 422, rule)


def test_exit_and_post_exit_tops_around_the_discharge(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = in_treatment(d)
    d.ok(episode, "top", top(44))
    refused(d, episode, "top", top(20, "post_exit"), 409, "post-exit-top-before-discharge")
    d.discharge(episode, on=5, reason="treatment_completed_drug_free")
    assert (d.episode(episode)["top_due_on"], d.episode(episode)["top_overdue"]) == (
        days_ago(5),
        True,
    )
    refused(d, episode, "top", top(4, "review"), 409, "episode-closed")
    d.ok(episode, "top", top(5, "exit"))
    assert d.episode(episode)["top_due_on"] is None
    d.ok(episode, "top", top(1, "post_exit"))


def test_a_top_is_corrected_like_any_event(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = in_treatment(d)
    version = d.ok(episode, "top", top(44))["event_version"]
    replacement = top(43, substance_use={"opiates": 0})
    response = d.post(
        episode, f"events/{version}/correction", {"reason": "typo", "replacement": replacement}
    )
    assert response.status_code == 201, response.text
    assert d.episode(episode)["tops"] == [{"on": days_ago(43), "stage": "start"}]
    bad = top(43, substance_use={"opiates": 30})
    response = d.post(episode, f"events/{version}/correction", {"reason": "x", "replacement": bad})
    assert_problem(response, 422)
    response = d.post(episode, f"events/{version}/recorded-in-error", {"reason": "wrong client"})
    assert response.status_code == 201, response.text
    assert d.episode(episode)["tops"] == []


def test_one_top_care_coordinator_per_client(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = in_treatment(d)
    client = d.episode(episode)["client_id"]
    path = f"/clients/{client}/top-care-coordinator"
    named = d.journey.post(path, json={"on": days_ago(40)}, headers=H)
    assert named.status_code == 201, named.text
    assert named.json()["current"] == {
        "organisation": "ORG1",
        "from_on": days_ago(40),
        "ended_on": None,
    }
    again = d.journey.post(path, json={"on": days_ago(30), "organisation": "ORG1"}, headers=H)
    assert_problem(again, 409, "top-care-coordinator-open")
    # An organisation with no episode of the client does not see it.
    assert_problem(d.journey.post(path, json={"on": days_ago(30)}, headers=CJIT), 404)
    assert_problem(d.journey.post(path, json={"on": days_ago(-1)}, headers=H), 422)
    ended = d.journey.post(path + "/end", json={"on": days_ago(20)}, headers=H)
    assert ended.status_code == 201, ended.text
    assert d.journey.post(path, json={"on": days_ago(10)}, headers=H).status_code == 201
    read = d.journey.get(path, headers=H).json()
    assert [c["from_on"] for c in read["history"]] == [days_ago(40), days_ago(10)]
    assert read["current"]["organisation"] == "ORG1"
    # On the feed: the namings and endings (the record's creation is internal), each naming
    # the client and the coordinator; a partner's feed carries only its own coordination.
    published = [
        (i["type"], i["data"]) for i in d.feed() if i["aggregate_type"] == "TopCareCoordination"
    ]
    data = {"client_id": client, "organisation": "ORG1"}
    kinds = ["CoordinatorNamed", "CoordinatorEnded", "CoordinatorNamed"]
    assert published == [(kind, data) for kind in kinds]
    for partner, sees in ((H, 3), (CJIT, 0)):
        page = d.journey.get("/feed", params={"limit": 1000}, headers=partner).json()
        mine = [i for i in page["items"] if i["aggregate_type"] == "TopCareCoordination"]
        assert len(mine) == sees, page
