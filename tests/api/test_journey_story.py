"""A whole journey over HTTP, on SQLite and PostgreSQL: every event, in order, in reads and feed."""

from tests.builders import days_ago
from tests.journey_driver import CJIT, GOALS, JourneyDriver


def test_a_carat_to_cjit_handover_journey_end_to_end(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    referral = d.accepted_referral(handover=True, referred=100, accepted=98)
    d.follow_referrals()
    d.follow_referrals()  # a second pass over the same feed opens nothing more
    journey = d.journey.get(f"/clients/{referral['client_id']}/journey", headers=CJIT).json()
    assert len(journey["episodes"]) == 1
    episode_id = journey["episodes"][0]["episode"]["id"]
    d.owners[episode_id] = CJIT
    opened = d.episode(episode_id)
    assert opened["organisation"] == "CJIT1"
    assert opened["referral_date"] == days_ago(100)
    assert opened["opened_on"] == days_ago(98)
    assert opened["source"] == "carat"
    assert opened["handover"]["kind"] == "carat_to_cjit"
    assert (opened["phase"], opened["keyworker"], opened["version"]) == ("waiting", "kim", 1)

    d.triage(episode_id, on=97, risks={**d_risks(), "self_neglect": "high"})
    d.ok(episode_id, "keyworker", {"on": days_ago(96), "keyworker": "lee"})
    d.ok(episode_id, "initial-care-plan", {"on": days_ago(96), "goals": GOALS[:1]})
    tier2 = d.start(episode_id, "harm_reduction", on=95)  # Tier 2: no care plan needed
    needs = {
        "drug_and_alcohol_misuse": "opiates",
        "health": "hep C",
        "offending": "theft",
        "social_functioning": "housing",
    }
    d.ok(episode_id, "comprehensive-assessment", {"on": days_ago(90), "needs": needs})
    d.care_plan(episode_id, on=88, review_in=30)
    structured = d.start(episode_id, "specialist_prescribing", on=85)
    after_start = d.episode(episode_id)
    assert after_start["phase"] == "delivery"
    assert after_start["tier"] == 3
    assert after_start["risk_flags"] == ["self_neglect", "injecting"]
    assert {i["id"] for i in after_start["active_interventions"]} == {tier2, structured}
    assert after_start["next_review_on"] == days_ago(58)
    review = {
        "on": days_ago(58),
        "progress": [{"goal": 0, "progress": "improving"}],
        "next_review_on": days_ago(30),
    }
    d.ok(episode_id, "care-plan-reviews", review)
    d.ok(episode_id, f"interventions/{tier2}/end", {"on": days_ago(50), "reason": "completed"})
    d.ok(
        episode_id,
        "aftercare-plan",
        {"on": days_ago(12), "drug_related_support": ["SMART"], "agencies": ["Mutual aid"]},
    )
    d.discharge(episode_id, on=10, reason="treatment_completed_drug_free")
    closed = d.episode(episode_id)
    assert closed["phase"] == "completion"
    assert closed["planned_exit"] is True
    assert closed["active_interventions"] == []
    ended = {i["id"]: i for i in closed["interventions"]}
    assert ended[structured]["ended_on"] == days_ago(10)  # ended by the discharge
    assert closed["latest_plan"]["last_review_on"] == days_ago(58)

    response = d.post(episode_id, "re-engagement", {"on": days_ago(3)})
    assert response.status_code == 201, response.text
    new = response.json()
    d.owners[new["id"]] = CJIT
    assert new["re_engaged_from"] == episode_id
    assert (new["referral_date"], new["phase"], new["organisation"]) == (
        days_ago(3),
        "waiting",
        "CJIT1",
    )
    assert d.episode(episode_id)["re_engaged_to"] == new["id"]

    journey = d.journey.get(f"/clients/{referral['client_id']}/journey", headers=CJIT).json()
    assert [e["episode"]["id"] for e in journey["episodes"]] == [episode_id, new["id"]]
    types = [e["type"] for e in journey["episodes"][0]["events"]]
    assert types == [
        "EpisodeOpened",
        "TriageCompleted",
        "KeyworkerAssigned",
        "InitialCarePlanAgreed",
        "InterventionStarted",
        "ComprehensiveAssessmentCompleted",
        "CarePlanAgreed",
        "InterventionStarted",
        "CarePlanReviewed",
        "InterventionEnded",
        "AftercarePlanAgreed",
        "Discharged",
        "ReEngaged",
    ]
    feed = d.feed()
    assert [i["type"] for i in feed] == [*types[:-1], "ReEngaged", "EpisodeOpened"]
    assert [i["position"] for i in feed] == sorted(i["position"] for i in feed)
    assert all(i["recorded_by"]["organisation"] == "CJIT1" for i in feed[1:])
    assert feed[-1]["data"]["re_engaged_from"] == episode_id


def d_risks() -> dict[str, str]:
    from tests.journey_driver import RISKS

    return dict(RISKS)
