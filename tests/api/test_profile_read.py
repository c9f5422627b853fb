"""GET /clients/{id}/profile: an organisation party to the client reads its own profile back;
everyone else is refused exactly as for GET /clients/{id}, and every attempt is audited.

Story: ORG1 registers a client and records a profile, then reviews two items; ORG2 (a provider
with no part in the client) and a commissioner try to read it; ORG1 reads a client that does
not exist."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from tests.builders import client_body, days_ago
from tests.support import assert_problem, auth

H = auth("ORG1", Role.PROVIDER, user="pat")
ADMIN = auth("ORG1", Role.ADMINISTRATOR, user="ada")
STRANGER = auth("ORG2", Role.PROVIDER, user="eve")
COMMISSIONER = auth("ORG5", Role.COMMISSIONER, user="cy")


@pytest.fixture
def store() -> str:
    return "sqlite"  # access rules do not depend on the store


def registered_with_profile(api: TestClient) -> str:
    client_id = str(api.post("/clients", json=client_body(), headers=H).json()["id"])
    first = {
        "on": days_ago(10),
        "ethnicity": "white_british",
        "employment": "unemployed_seeking_work",
        "consent_to_national_return": True,
    }
    review = {"on": days_ago(2), "employment": "regular_employment", "previously_treated": False}
    for body in (first, review):
        response = api.post(f"/clients/{client_id}/profile", json=body, headers=H)
        assert response.status_code == 201, response.text
    return client_id


def audit(api: TestClient, client_id: str) -> list[tuple[str, str, str]]:
    log = api.get("/access-log", params={"client_id": client_id, "limit": 1000}, headers=ADMIN)
    assert log.status_code == 200, log.text
    return [
        (e["user"], e["what"], e["outcome"])
        for e in log.json()["entries"]
        if e["what"] == "client-profile"
    ]


def test_a_party_reads_its_profile_as_now_recorded(referral_api: TestClient) -> None:
    client_id = registered_with_profile(referral_api)
    read = referral_api.get(f"/clients/{client_id}/profile", headers=H)
    assert read.status_code == 200, read.text
    body = read.json()
    # The review replaced employment and added previously_treated; the rest stands.
    assert body["organisation"] == "ORG1" and body["client_id"] == client_id
    assert {k: v for k, v in body["profile"].items() if v is not None} == {
        "ethnicity": "white_british",
        "employment": "regular_employment",
        "previously_treated": False,
        "consent_to_national_return": True,
    }
    assert read.headers["etag"] == f'"{body["version"]}"'
    assert read.headers["cache-control"] == "no-store"
    # The organisation's administrator reads the same; both reads audited.
    assert referral_api.get(f"/clients/{client_id}/profile", headers=ADMIN).json() == body
    assert audit(referral_api, client_id) == [
        ("pat", "client-profile", "granted"),
        ("ada", "client-profile", "granted"),
    ]


def problem_without_instance(response: Any) -> dict[str, Any]:
    body = dict(response.json())
    body.pop("instance", None)
    body.pop("detail", None)  # names the id asked for
    return body


def test_another_organisation_gets_the_404_of_a_client_that_does_not_exist(
    referral_api: TestClient,
) -> None:
    client_id = registered_with_profile(referral_api)
    missing = str(uuid.uuid4())
    hidden = referral_api.get(f"/clients/{client_id}/profile", headers=STRANGER)
    unknown = referral_api.get(f"/clients/{missing}/profile", headers=STRANGER)
    assert_problem(hidden, 404)
    assert_problem(unknown, 404)
    assert hidden.json()["detail"].replace(client_id, "ID") == unknown.json()["detail"].replace(
        missing, "ID"
    )
    assert problem_without_instance(hidden) == problem_without_instance(unknown)
    assert "white_british" not in hidden.text
    # Audited: a denied read of the client, and an unknown client.
    assert ("eve", "client-profile", "denied_scope") in audit(referral_api, client_id)


def test_a_commissioner_is_refused_by_role(referral_api: TestClient) -> None:
    client_id = registered_with_profile(referral_api)
    refused = referral_api.get(f"/clients/{client_id}/profile", headers=COMMISSIONER)
    assert_problem(refused, 403)
    assert "white_british" not in refused.text
    missing = referral_api.get(f"/clients/{uuid.uuid4()}/profile", headers=COMMISSIONER)
    assert_problem(missing, 403)  # the role is refused before anything is looked up


def test_bad_input(referral_api: TestClient) -> None:
    assert_problem(referral_api.get("/clients/not-a-uuid/profile", headers=H), 422)
    assert_problem(referral_api.get(f"/clients/{uuid.uuid4()}/profile"), 401)
