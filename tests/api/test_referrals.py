"""The referral service over HTTP, on SQLite and PostgreSQL: every rule, and nothing recorded."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from tests.builders import (
    RISK_AREAS,
    client_body,
    days_ago,
    handover_body,
    handover_referral_body,
    referral_body,
)
from tests.support import assert_problem, auth

H = auth("ORG1", Role.PROVIDER)
CARAT = auth("HMP1", Role.CARAT)


def feed_position(api: TestClient) -> int:
    return int(api.get("/feed", headers=H).json()["last_position"])


def new_client(api: TestClient, headers: dict[str, str] = H, **override: Any) -> str:
    response = api.post("/clients", json=client_body(**override), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def new_referral(api: TestClient, headers: dict[str, str] = H, **override: Any) -> dict[str, Any]:
    client_id = new_client(api, headers)
    body = referral_body(client_id, **override)
    response = api.post("/referrals", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_client_is_registered_and_read_back(referral_api: TestClient) -> None:
    created = referral_api.post(
        "/clients", json=client_body(nhs_number="943 476 5919", postcode_district="ls6"), headers=H
    )
    assert created.status_code == 201
    assert created.headers["location"] == f"/clients/{created.json()['id']}"
    read = referral_api.get(f"/clients/{created.json()['id']}", headers=H)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json()["nhs_number"] == "9434765919"
    assert read.json()["postcode_district"] == "LS6"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nhs_number", "9434765918"),
        ("nhs_number", "12345"),
        ("date_of_birth", days_ago(-1)),
        ("date_of_birth", days_ago(365 * 10)),
        ("date_of_birth", "1890-01-01"),
        ("date_of_birth", "1985-02-30"),
        ("postcode_district", "LS6 1AA"),
        ("postcode_district", "12"),
        ("sex", "m"),
        ("given_name", ""),
        ("given_name", "x" * 201),
    ],
)
def test_invalid_personal_data_names_the_field_and_records_nothing(
    referral_api: TestClient, field: str, value: str
) -> None:
    before = feed_position(referral_api)
    response = referral_api.post("/clients", json=client_body(**{field: value}), headers=H)
    body = assert_problem(response, 422, "validation-error")
    assert any(error["field"] == f"body.{field}" for error in body["errors"]), body
    assert feed_position(referral_api) == before


def test_unknown_fields_and_missing_fields_are_rejected(referral_api: TestClient) -> None:
    before = feed_position(referral_api)
    assert_problem(referral_api.post("/clients", json=client_body(nickname="x"), headers=H), 422)
    body = client_body()
    del body["sex"]
    assert_problem(referral_api.post("/clients", json=body, headers=H), 422)
    assert feed_position(referral_api) == before


def test_malformed_bodies_get_problems_never_500(referral_api: TestClient) -> None:
    before = feed_position(referral_api)
    json_headers = {**H, "content-type": "application/json"}
    for content in (b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"given_name": 5}'):
        response = referral_api.post("/clients", content=content, headers=json_headers)
        assert_problem(response, 422)
    form = {**H, "content-type": "application/x-www-form-urlencoded"}
    assert_problem(referral_api.post("/clients", content=b"a=1", headers=form), 415)
    huge = b'{"given_name": "' + b"x" * 100_000 + b'"}'
    assert_problem(referral_api.post("/clients", content=huge, headers=json_headers), 413)
    assert feed_position(referral_api) == before


def test_unknown_ids_and_routes_are_404_problems(referral_api: TestClient) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(referral_api.get(f"/clients/{unknown}", headers=H), 404, "not-found")
    assert_problem(referral_api.get(f"/referrals/{unknown}", headers=H), 404, "not-found")
    assert_problem(referral_api.get("/referrals/not-a-uuid", headers=H), 422)
    assert_problem(referral_api.get("/nowhere", headers=H), 404)
    before = feed_position(referral_api)
    accept = {"accepted_on": days_ago(1)}
    response = referral_api.post(f"/referrals/{unknown}/accept", json=accept, headers=H)
    assert_problem(response, 404)
    assert feed_position(referral_api) == before


def test_a_client_id_from_another_aggregate_is_not_a_client(referral_api: TestClient) -> None:
    referral = new_referral(referral_api)
    assert_problem(referral_api.get(f"/clients/{referral['id']}", headers=H), 404)


def test_requests_without_a_valid_token_are_401(referral_api: TestClient) -> None:
    assert_problem(referral_api.get("/feed"), 401)
    assert_problem(referral_api.get("/feed", headers={"Authorization": "Bearer forged"}), 401)
    assert referral_api.get("/feed").headers["www-authenticate"] == "Bearer"
    assert referral_api.get("/health").status_code == 200


def test_expired_and_wrongly_signed_tokens_are_401(referral_api: TestClient) -> None:
    from datetime import timedelta

    from cryptography.hazmat.primitives.asymmetric import ec

    from services.common.auth import Caller
    from services.common.issuer import Issuer
    from tests.support import AUDIENCES, TEST_ISSUER, token

    caller = Caller("alice", "ORG1", Role.PROVIDER)
    expired = token(lifetime=timedelta(seconds=-1))
    body = assert_problem(
        referral_api.get("/feed", headers={"Authorization": f"Bearer {expired}"}), 401
    )
    assert "expired" in body["detail"]
    another = Issuer(ec.generate_private_key(ec.SECP256R1()), TEST_ISSUER.issuer)
    another.kid = TEST_ISSUER.kid
    forged = another.mint(caller, AUDIENCES, timedelta(hours=1))
    assert_problem(referral_api.get("/feed", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_referral_made_accepted_and_read_back(referral_api: TestClient) -> None:
    referral = new_referral(referral_api, priority_flags=["pregnant", "injecting", "pregnant"])
    assert referral["status"] == "pending"
    assert referral["priority_flags"] == ["pregnant", "injecting"]
    response = referral_api.post(
        f"/referrals/{referral['id']}/accept",
        json={"accepted_on": days_ago(2), "keyworker": "kim"},
        headers=H,
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    read = referral_api.get(f"/referrals/{referral['id']}", headers=H).json()
    assert (read["status"], read["decided_on"], read["keyworker"]) == (
        "accepted",
        days_ago(2),
        "kim",
    )


def test_handover_carries_the_dir_summary(referral_api: TestClient) -> None:
    client_id = new_client(referral_api, CARAT)
    body = handover_referral_body(client_id)
    response = referral_api.post("/referrals", json=body, headers=CARAT)
    assert response.status_code == 201, response.text
    handover = response.json()["handover"]
    assert handover["kind"] == "carat_to_cjit"
    assert handover["release_date"] == days_ago(31)
    assert set(handover["risks"]) == set(RISK_AREAS)
    assert handover["needs"]["health"] == "hepatitis C test"


@pytest.mark.parametrize(
    ("override", "rule"),
    [
        ({"handover": handover_body(release_date=None)}, "validation-error"),
        ({"handover": handover_body(risks={"suicide_self_harm": "low"})}, "validation-error"),
        ({"handover": handover_body(), "consent": None}, "validation-error"),
        ({"handover": handover_body(), "source": "gp"}, "handover-source-mismatch"),
        ({"handover": handover_body(kind="cjit_to_treatment")}, "handover-source-mismatch"),
        ({"referral_date": days_ago(-1)}, "date-in-future"),
        ({"referral_date": "1970-01-01"}, "date-before-birth"),
        ({"source": "martians"}, "validation-error"),
        ({"priority_flags": ["vip"]}, "validation-error"),
        ({"receiving_organisation": "has spaces"}, "validation-error"),
        (
            {"consent": {"given_on": days_ago(-3), "share_with": ["X"], "purposes": ["treatment"]}},
            "validation-error",
        ),
    ],
)
def test_bad_referrals_are_rejected_and_record_nothing(
    referral_api: TestClient, override: dict[str, Any], rule: str
) -> None:
    client_id = new_client(referral_api, CARAT)
    before = feed_position(referral_api)
    body = handover_referral_body(client_id)
    body.update(override)
    assert_problem(referral_api.post("/referrals", json=body, headers=CARAT), 422, rule)
    assert feed_position(referral_api) == before


def test_referral_for_an_unknown_client_is_422(referral_api: TestClient) -> None:
    before = feed_position(referral_api)
    body = referral_body("00000000-0000-4000-8000-000000000000")
    assert_problem(referral_api.post("/referrals", json=body, headers=H), 422, "unknown-client")
    assert feed_position(referral_api) == before


DECISIONS = {
    "accept": {"accepted_on": days_ago(1)},
    "decline": {"declined_on": days_ago(1), "reason": "no_capacity"},
    "withdraw": {"withdrawn_on": days_ago(1), "reason": "client_withdrew"},
}


@pytest.mark.parametrize("first", list(DECISIONS))
@pytest.mark.parametrize("second", list(DECISIONS))
def test_a_decided_referral_cannot_be_decided_again(
    referral_api: TestClient, first: str, second: str
) -> None:
    referral = new_referral(referral_api)
    url = f"/referrals/{referral['id']}"
    assert referral_api.post(f"{url}/{first}", json=DECISIONS[first], headers=H).status_code == 200
    before = feed_position(referral_api)
    response = referral_api.post(f"{url}/{second}", json=DECISIONS[second], headers=H)
    assert_problem(response, 409, "referral-already-decided")
    assert feed_position(referral_api) == before


@pytest.mark.parametrize("decision", list(DECISIONS))
@pytest.mark.parametrize(("when", "rule"), [(31, "date-before-referral"), (-1, "date-in-future")])
def test_decision_dates_must_fall_between_referral_and_today(
    referral_api: TestClient, decision: str, when: int, rule: str
) -> None:
    referral = new_referral(referral_api, referral_date=days_ago(30))
    before = feed_position(referral_api)
    body = {
        key: (days_ago(when) if key.endswith("_on") else value)
        for key, value in DECISIONS[decision].items()
    }
    response = referral_api.post(f"/referrals/{referral['id']}/{decision}", json=body, headers=H)
    assert_problem(response, 422, rule)
    assert feed_position(referral_api) == before


def test_decline_needs_a_coded_reason(referral_api: TestClient) -> None:
    referral = new_referral(referral_api)
    before = feed_position(referral_api)
    url = f"/referrals/{referral['id']}/decline"
    bad = {"declined_on": days_ago(1), "reason": "dont like them"}
    assert_problem(referral_api.post(url, json=bad, headers=H), 422)
    assert_problem(referral_api.post(url, json={"declined_on": days_ago(1)}, headers=H), 422)
    assert feed_position(referral_api) == before


def test_stale_if_match_is_412_and_records_nothing(referral_api: TestClient) -> None:
    referral = new_referral(referral_api)
    url = f"/referrals/{referral['id']}/accept"
    before = feed_position(referral_api)
    stale = {**H, "If-Match": '"7"'}
    response = referral_api.post(url, json={"accepted_on": days_ago(1)}, headers=stale)
    assert_problem(response, 412, "version-mismatch")
    assert feed_position(referral_api) == before
    current = {**H, "If-Match": '"1"'}
    assert (
        referral_api.post(url, json={"accepted_on": days_ago(1)}, headers=current).status_code
        == 200
    )


def test_referrals_received_filtered_by_status_and_date(referral_api: TestClient) -> None:
    rcv = auth("RCV9")
    old = new_referral(referral_api, rcv, receiving_organisation="RCV9", referral_date=days_ago(50))
    mid = new_referral(referral_api, rcv, receiving_organisation="RCV9", referral_date=days_ago(20))
    new_referral(referral_api, receiving_organisation="ORG1", referral_date=days_ago(20))
    referral_api.post(
        f"/referrals/{mid['id']}/accept", json={"accepted_on": days_ago(1)}, headers=rcv
    )

    def ids(**params: str) -> list[str]:
        response = referral_api.get(
            "/referrals", params={"receiving_organisation": "RCV9", **params}, headers=rcv
        )
        assert response.status_code == 200
        return [r["id"] for r in response.json()]

    assert ids() == [old["id"], mid["id"]]
    assert ids(status="accepted") == [mid["id"]]
    assert ids(status="pending") == [old["id"]]
    assert ids(referred_from=days_ago(30)) == [mid["id"]]
    assert ids(referred_to=days_ago(30)) == [old["id"]]
    assert_problem(
        referral_api.get(
            "/referrals", params={"receiving_organisation": "RCV9", "status": "lost"}, headers=H
        ),
        422,
    )


def test_feed_lists_events_in_order_with_the_documented_fields(referral_api: TestClient) -> None:
    referral = new_referral(referral_api)
    referral_api.post(
        f"/referrals/{referral['id']}/accept", json={"accepted_on": days_ago(1)}, headers=H
    )
    page = referral_api.get("/feed", headers=H).json()
    assert [item["type"] for item in page["items"]] == [
        "ClientRegistered",
        "ReferralMade",
        "ReferralAccepted",
    ]
    positions = [item["position"] for item in page["items"]]
    assert positions == sorted(positions) and len(set(positions)) == 3
    accepted = page["items"][2]
    assert accepted["aggregate_id"] == referral["id"]
    assert accepted["aggregate_type"] == "Referral"
    assert accepted["version"] == 2
    assert accepted["business_date"] == days_ago(1)
    assert accepted["recorded_by"] == {"organisation": "ORG1", "user": "alice"}
    assert accepted["data"]["referral_date"] == referral["referral_date"]
    assert accepted["data"]["client_id"] == referral["client_id"]
    again = referral_api.get("/feed", headers=H).json()
    assert [i["event_id"] for i in again["items"]] == [i["event_id"] for i in page["items"]]


def test_feed_pages_follow_on_from_next_after(referral_api: TestClient) -> None:
    for _ in range(5):
        new_client(referral_api)
    seen: list[int] = []
    after = 0
    while True:
        page = referral_api.get("/feed", params={"after": after, "limit": 2}, headers=H).json()
        seen += [item["position"] for item in page["items"]]
        after = page["next_after"]
        if not page["has_more"]:
            break
    assert seen == sorted(seen) and len(seen) == 5
    assert referral_api.get("/feed", params={"after": after}, headers=H).json()["items"] == []
    assert_problem(referral_api.get("/feed", params={"limit": 5000}, headers=H), 422)
    assert_problem(referral_api.get("/feed", params={"after": -1}, headers=H), 422)
