"""Input edges found by fuzzing: each a 4xx problem+json that records nothing, never a 500."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from services.common.settings import Settings
from tests.builders import client_body, referral_body
from tests.support import AUTH_SETTINGS, auth

H = auth("ORG1", Role.PROVIDER)
FULLWIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}
ARABIC_INDIC = {ord("0") + i: 0x0660 + i for i in range(10)}
PROBLEM = "application/problem+json"


@pytest.fixture
def referral(tmp_path: Any) -> Iterator[TestClient]:
    from services.referral.main import create_app

    app = create_app(Settings(data_dir=tmp_path, **AUTH_SETTINGS))
    yield TestClient(app)
    app.state.application.close()


@pytest.fixture
def reporting(tmp_path: Any) -> Iterator[TestClient]:
    from services.reporting.main import create_app

    app = create_app(Settings(data_dir=tmp_path, **AUTH_SETTINGS))
    yield TestClient(app)
    app.state.engine.dispose()


def last_position(api: TestClient) -> int:
    position: int = api.get("/feed", headers=H).json()["last_position"]
    return position


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def referral_id(api: TestClient) -> str:
    client = api.post("/clients", json=client_body(), headers=H).json()["id"]
    created: str = api.post("/referrals", json=referral_body(client), headers=H).json()["id"]
    return created


def test_a_header_with_a_non_utf8_byte_is_no_500(referral: TestClient) -> None:
    before = last_position(referral)
    for name in (b"x-anything", b"idempotency-key", b"authorization"):
        headers = [(k.encode(), v.encode()) for k, v in H.items() if k.lower() != name.decode()]
        response = referral.post(
            "/clients", json=client_body(), headers=[*headers, (name, b"caf\xe9")]
        )
        assert response.status_code in (201, 401, 422), response.text
        if response.status_code != 201:
            assert response.headers["content-type"] == PROBLEM
    # Only the request whose odd header was not ours was recorded (a client and its person link).
    assert last_position(referral) == before + 2


@pytest.mark.parametrize(
    "if_match", ['"' + "9" * 5000 + '"', '"\u00b2"', "\u00b2", '"1', "-1", "", 'W/"1" x']
)
def test_if_match_is_a_bounded_ascii_version(referral: TestClient, if_match: str) -> None:
    referral_ = referral_id(referral)
    before = last_position(referral)
    response = referral.post(
        f"/referrals/{referral_}/withdraw",
        json={"withdrawn_on": "2025-01-01", "reason": "client_declined"},
        headers=[(k.encode(), v.encode()) for k, v in H.items()]
        + [(b"if-match", if_match.encode("latin-1"))],
    )
    assert_problem(response, 422)
    assert last_position(referral) == before


@pytest.mark.parametrize("after", ["9223372036854775808", "-1", "1e3", "\u00b2"])
def test_feed_after_is_a_64_bit_position(referral: TestClient, after: str) -> None:
    assert_problem(referral.get("/feed", params={"after": after}, headers=H), 422)
    assert referral.get("/feed", params={"after": 2**63 - 1}, headers=H).status_code == 200


@pytest.mark.parametrize(
    "known_at",
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2025-01-01T00:00:00",  # no offset
        "1735689600",
    ],
)
def test_known_at_out_of_range_or_without_offset_is_422(
    reporting: TestClient, known_at: str
) -> None:
    for path, params in (
        ("/kpis", {"period_start": "2025-01-01", "period_end": "2025-01-31"}),
        ("/caseloads", {}),
        ("/waiting-list", {}),
    ):
        response = reporting.get(path, params={**params, "known_at": known_at}, headers=H)
        assert_problem(response, 422)


@pytest.mark.parametrize("as_at", ["0001-01-01", "9999-12-31", "0", "2025-01-01T00:00:00"])
def test_as_at_is_a_bounded_plain_date(reporting: TestClient, as_at: str) -> None:
    assert_problem(reporting.get("/caseloads", params={"as_at": as_at}, headers=H), 422)


@pytest.mark.parametrize(
    "date_of_birth",
    [0, 1.5, True, "1985-04-12T00:00:00", "19850412", "1985-04-12".translate(FULLWIDTH)],
)
def test_dates_are_strict_yyyy_mm_dd_strings(referral: TestClient, date_of_birth: Any) -> None:
    before = last_position(referral)
    response = referral.post("/clients", json=client_body(date_of_birth=date_of_birth), headers=H)
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["body.date_of_birth"]
    assert last_position(referral) == before


def test_query_dates_are_strict_too(referral: TestClient) -> None:
    response = referral.get("/referrals", params={"referred_from": "0"}, headers=H)
    assert_problem(response, 422)


@pytest.mark.parametrize(
    "nhs_number",
    [
        "9434765919".translate(FULLWIDTH),
        "9434765919".translate(ARABIC_INDIC),
        "0000000000",
        "1111111111",
        "94 34765919",
    ],
)
def test_nhs_numbers_are_ascii_digits_not_one_repeated(
    referral: TestClient, nhs_number: str
) -> None:
    before = last_position(referral)
    response = referral.post("/clients", json=client_body(nhs_number=nhs_number), headers=H)
    assert_problem(response, 422)
    assert last_position(referral) == before


@pytest.mark.parametrize(
    "name", ["Sam\u202eelpmaxE", "Sam\x00", "Sam\x1b[31m", "\u2066Sam", "Sam\nSmith", " Sam"]
)
def test_names_reject_control_and_bidi_characters(referral: TestClient, name: str) -> None:
    before = last_position(referral)
    response = referral.post("/clients", json=client_body(given_name=name), headers=H)
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "body.given_name"
    assert last_position(referral) == before


def test_free_text_rejects_bidi_overrides(referral: TestClient) -> None:
    referral_ = referral_id(referral)
    before = last_position(referral)
    response = referral.post(
        f"/referrals/{referral_}/accept",
        json={"accepted_on": "2025-01-01", "keyworker": "kim\u202e"},
        headers=H,
    )
    assert_problem(response, 422)
    assert last_position(referral) == before


def test_a_chunked_body_over_the_limit_is_413(referral: TestClient) -> None:
    before = last_position(referral)

    def chunks() -> Iterator[bytes]:
        yield b'{"given_name": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = referral.post(
        "/clients", content=chunks(), headers={**H, "content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert last_position(referral) == before


def test_a_non_utf8_body_is_a_documented_422(referral: TestClient) -> None:
    before = last_position(referral)
    response = referral.post(
        "/clients",
        content=b'{"given_name": "caf\xe9"}',
        headers={**H, "content-type": "application/json"},
    )
    assert_problem(response, 422)
    assert last_position(referral) == before
    responses = referral.get("/openapi.json").json()["paths"]["/clients"]["post"]["responses"]
    assert "UTF-8" in responses["422"]["description"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/referrals", "GET, OPTIONS, POST"),
        ("/referrals/00000000-0000-0000-0000-000000000000", "GET, OPTIONS"),
        ("/clients", "OPTIONS, POST"),
    ],
)
def test_options_and_405_list_every_method_of_the_path(
    referral: TestClient, path: str, methods: str
) -> None:
    options = referral.options(path)
    assert options.status_code == 204
    assert options.headers["allow"] == methods
    response = referral.delete(path, headers=H)
    assert_problem(response, 405)
    assert response.headers["allow"] == methods


def test_published_schemas_state_what_is_enforced(referral: TestClient) -> None:
    document = referral.get("/openapi.json").json()
    client = document["components"]["schemas"]["ClientIn"]["properties"]
    assert client["nhs_number"]["anyOf"][0]["pattern"] == "^[0-9]{3} ?[0-9]{3} ?[0-9]{4}$"
    assert "pattern" in client["postcode_district"]["anyOf"][0]
    assert client["date_of_birth"]["pattern"].startswith("^(19|2[0-9])")
    assert client["given_name"]["maxLength"] == 200
    parameters = {
        p["name"]: p["schema"]
        for p in document["paths"]["/referrals/{referral_id}/accept"]["post"]["parameters"]
    }
    assert "pattern" in parameters["if-match"]
    read = document["paths"]["/referrals/{referral_id}"]["get"]["parameters"]
    purpose = next(p for p in read if p["name"] == "Purpose")["schema"]
    assert purpose["$ref"].endswith("/SharingPurpose")
    feed = document["paths"]["/feed"]["get"]["parameters"]
    after = next(p for p in feed if p["name"] == "after")["schema"]
    assert after["maximum"] == 2**63 - 1
