"""Corrections are new events: old ones are never edited, and every read honours them."""

from tests.builders import days_ago
from tests.journey_driver import RISKS, JourneyDriver
from tests.support import assert_problem


def events(d: JourneyDriver, episode: str) -> list[dict]:  # type: ignore[type-arg]
    return list(d.journey.get(f"/episodes/{episode}/events", headers=d.headers_for(episode)).json())


def h() -> dict[str, str]:
    from tests.journey_driver import H

    return H


def test_an_event_marked_in_error_drops_out_of_reads_but_stays_in_the_feed(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    assert d.episode(episode)["phase"] == "engagement"
    response = d.post(episode, "events/2/recorded-in-error", {"reason": "wrong client"})
    assert response.status_code == 201, response.text
    state = d.episode(episode)
    assert (state["phase"], state["triaged_on"], state["version"]) == ("waiting", None, 3)
    assert [e["type"] for e in events(d, episode)] == ["EpisodeOpened"]
    feed = [i["type"] for i in d.feed()]
    assert feed == ["EpisodeOpened", "TriageCompleted", "EventRecordedInError"]
    d.triage(episode, on=50)  # the rule now sees no triage, so a new one is accepted
    assert d.episode(episode)["triaged_on"] == days_ago(50)


def test_a_corrected_event_is_replaced_by_its_correction(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    replacement = {
        "on": days_ago(54),
        "urgency": "urgent",
        "tier_indicated": 4,
        "outcome": "structured_treatment_needed",
        "risks": {**RISKS, "harm_to_others": "high"},
    }
    response = d.post(
        episode,
        "events/2/correction",
        {"reason": "entered the wrong day", "replacement": replacement},
    )
    assert response.status_code == 201, response.text
    state = d.episode(episode)
    assert state["triaged_on"] == days_ago(54)
    assert state["triage"]["urgency"] == "urgent"
    assert state["risk_flags"][0] == "harm_to_others"
    corrected = events(d, episode)[1]
    assert (corrected["version"], corrected["type"]) == (2, "TriageCompleted")
    assert corrected["corrected_at"] is not None
    assert corrected["business_date"] == days_ago(54)
    feed = d.feed()
    assert feed[1]["data"]["urgency"] == "routine"  # the original is never edited
    assert feed[2]["type"] == "EventCorrected"
    assert feed[2]["data"]["target_version"] == 2
    assert feed[2]["data"]["replacement"]["urgency"] == "urgent"


def test_a_corrected_intervention_keeps_its_id(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    intervention = d.start(episode, "harm_reduction", on=50)
    d.care_plan(episode, on=49)
    body = {
        "reason": "was prescribing",
        "replacement": {"on": days_ago(48), "modality": "gp_prescribing"},
    }
    assert d.post(episode, "events/3/correction", body).status_code == 201
    [active] = d.episode(episode)["active_interventions"]
    assert (active["id"], active["tier"], active["started_on"]) == (intervention, 3, days_ago(48))


def test_marking_a_discharge_in_error_reopens_the_episode(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.discharge(episode, on=20)
    assert (
        d.post(episode, "events/2/recorded-in-error", {"reason": "wrong episode"}).status_code
        == 201
    )
    state = d.episode(episode)
    assert (state["discharged_on"], state["phase"]) == (None, "waiting")
    d.ok(episode, "keyworker", {"on": days_ago(5), "keyworker": "lee"})


def test_an_opening_recorded_in_error_voids_the_episode(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    episode = d.open_episode()
    assert (
        d.post(episode, "events/1/recorded-in-error", {"reason": "not our client"}).status_code
        == 201
    )
    assert d.episode(episode)["void"] is True
    before = d.feed_position()
    assert_problem(
        d.post(episode, "keyworker", {"on": days_ago(1), "keyworker": "x"}),
        409,
        "episode-recorded-in-error",
    )
    assert d.feed_position() == before


def test_corrections_that_cannot_apply_are_refused_and_record_nothing(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode()
    d.triage(episode, on=55)
    d.post(episode, "events/2/recorded-in-error", {"reason": "x"})
    before = d.feed_position()
    cases = [
        ("events/9/recorded-in-error", {"reason": "x"}, 404, "not-found"),
        ("events/9/correction", {"reason": "x", "replacement": {}}, 404, "not-found"),
        ("events/2/recorded-in-error", {"reason": "x"}, 409, "uncorrectable-event"),
        ("events/3/recorded-in-error", {"reason": "x"}, 409, "uncorrectable-event"),
        (
            "events/1/correction",
            {"reason": "x", "replacement": {"on": days_ago(1)}},
            409,
            "uncorrectable-event",
        ),
        ("events/2/recorded-in-error", {}, 422, "validation-error"),
    ]
    for path, body, status, rule in cases:
        assert_problem(d.post(episode, path, body), status, rule)
    assert d.feed_position() == before


def test_a_correction_is_validated_like_the_event_it_replaces(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    episode = d.open_episode(referred=60)
    d.triage(episode, on=55)
    before = d.feed_position()
    bad = {"reason": "x", "replacement": {"on": days_ago(50), "urgency": "whenever"}}
    problem = assert_problem(d.post(episode, "events/2/correction", bad), 422, "validation-error")
    assert any(e["field"].startswith("body.replacement") for e in problem["errors"])
    early = {
        "reason": "x",
        "replacement": {
            "on": days_ago(70),
            "urgency": "urgent",
            "tier_indicated": 3,
            "outcome": "no_treatment_need",
            "risks": RISKS,
        },
    }
    assert_problem(d.post(episode, "events/2/correction", early), 422, "date-before-referral")
    assert d.feed_position() == before
