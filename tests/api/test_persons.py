"""Person identity on the referral service: a registration of a known person is linked to it,
and the registering organisation cannot tell; administrators merge and split, audited."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from tests.builders import client_body
from tests.support import auth

ORG1, ORG2 = auth("ORG1", Role.PROVIDER), auth("ORG2", Role.PROVIDER)
ADMIN1 = auth("ORG1", Role.ADMINISTRATOR, "ada")
SERVICE = auth("reporting", Role.SERVICE, "reporting-follower")
NO_NHS = {"nhs_number": None, "given_name": "Robin", "family_name": "Hood"}


@pytest.fixture
def store() -> str:
    return "sqlite"  # matching reads the service's own log, the same on both stores


def register(api: TestClient, headers: dict[str, str], **override: Any) -> Any:
    return api.post("/clients", json=client_body(**override), headers=headers)


def person_of(api: TestClient, client_id: str) -> str:
    items = api.get("/feed", params={"limit": 1000}, headers=SERVICE).json()["items"]
    links = [i for i in items if i["type"] in ("PersonLinked", "PersonRelinked")]
    return str([i for i in links if i["data"]["client_id"] == client_id][-1]["data"]["person_id"])


def test_a_registration_matches_on_nhs_number_or_on_the_attributors(
    referral_api: TestClient,
) -> None:
    api = referral_api
    first = register(api, ORG1, **NO_NHS, postcode_district="LS6").json()["id"]
    # Another provider, no NHS number, other spelling and district of the same postcode area.
    same = register(api, ORG2, **{**NO_NHS, "given_name": "rob"}, postcode_district="LS11").json()[
        "id"
    ]
    near_miss = register(api, ORG2, **NO_NHS, date_of_birth="1985-04-13").json()["id"]
    other_area = register(api, ORG2, **NO_NHS, postcode_district="BD1").json()["id"]
    nhs_a = register(api, ORG1, nhs_number="9434765919").json()["id"]
    nhs_b = register(api, ORG2, nhs_number="9434765919", given_name="Alex").json()["id"]
    assert person_of(api, first) == first  # a new person's id is its first registration's
    assert person_of(api, same) == first
    assert person_of(api, near_miss) == near_miss
    assert person_of(api, other_area) == other_area
    assert person_of(api, nhs_b) == person_of(api, nhs_a) == nhs_a


def test_registering_a_known_person_answers_exactly_as_an_unknown_one(
    referral_api: TestClient,
) -> None:
    api = referral_api
    register(api, ORG1, **NO_NHS)
    before = api.get("/feed", headers=ORG2).json()["last_position"]
    known = register(api, ORG2, **NO_NHS)
    middle = api.get("/feed", headers=ORG2).json()["last_position"]
    unknown = register(api, ORG2, **{**NO_NHS, "family_name": "Nobody"})
    after = api.get("/feed", headers=ORG2).json()["last_position"]
    assert known.status_code == unknown.status_code == 201
    assert known.headers["etag"] == unknown.headers["etag"] == '"1"'
    assert set(known.headers) == set(unknown.headers)
    a, b = known.json(), unknown.json()
    assert a.keys() == b.keys()
    assert {k for k in a if a[k] != b[k]} == {"id", "family_name"}
    assert middle - before == after - middle  # the same number of events recorded
    # Its feed carries its own registration only: no link, no person id, nothing of ORG1.
    items = api.get("/feed", params={"limit": 1000}, headers=ORG2).json()["items"]
    assert {i["type"] for i in items} == {"ClientRegistered"}
    assert {i["aggregate_id"] for i in items} == {a["id"], b["id"]}
    assert "person" not in str(items)


def test_the_other_organisations_record_stays_out_of_scope(referral_api: TestClient) -> None:
    api = referral_api
    first = register(api, ORG1, **NO_NHS).json()["id"]
    register(api, ORG2, **NO_NHS)
    assert api.get(f"/clients/{first}", headers=ORG2).status_code == 404


def test_an_administrator_merges_and_splits_and_both_are_events(referral_api: TestClient) -> None:
    api = referral_api
    a = register(api, ORG1, **NO_NHS).json()["id"]
    b = register(api, ORG2, **NO_NHS, date_of_birth="1985-04-21").json()["id"]  # a typo
    c = register(api, ORG2, **NO_NHS, date_of_birth="1985-04-21").json()["id"]
    assert person_of(api, c) == b
    merged = api.post("/persons/merge", json={"into_client_id": a, "client_id": b}, headers=ADMIN1)
    assert merged.status_code == 200, merged.text
    assert merged.json()["person_id"] == a and merged.json()["basis"] == "merge"
    assert person_of(api, b) == person_of(api, c) == a  # b's whole person joined a's
    again = api.post("/persons/merge", json={"into_client_id": a, "client_id": c}, headers=ADMIN1)
    assert again.status_code == 409
    split = api.post("/persons/split", json={"client_id": a}, headers=ADMIN1)
    assert split.status_code == 200, split.text
    assert person_of(api, a) not in (a, person_of(api, b))
    assert person_of(api, b) == person_of(api, c) == a


def test_merge_and_split_are_for_administrators_only_and_audited(
    referral_api: TestClient,
) -> None:
    api = referral_api
    a = register(api, ORG1, **NO_NHS).json()["id"]
    b = register(api, ORG2, **NO_NHS, postcode_district="BD1").json()["id"]
    body = {"into_client_id": a, "client_id": b}
    assert api.post("/persons/merge", json=body, headers=ORG1).status_code == 403
    assert api.post("/persons/split", json={"client_id": a}, headers=ORG1).status_code == 403
    # Party to neither registration: as if they did not exist.
    admin3 = auth("ORG3", Role.ADMINISTRATOR, "eve")
    assert api.post("/persons/merge", json=body, headers=admin3).status_code == 404
    assert api.post("/persons/split", json={"client_id": b}, headers=ADMIN1).status_code == 404
    assert api.post("/persons/merge", json=body, headers=ADMIN1).status_code == 200
    log = api.get("/access-log", params={"limit": 1000}, headers=ADMIN1).json()["entries"]
    seen = {(e["user"], e["what"], e["kind"], e["outcome"]) for e in log}
    assert ("alice", "/persons/merge", "read", "denied_role") in seen
    assert ("alice", "/persons/split", "read", "denied_role") in seen
    assert ("ada", "person", "write", "denied_scope") in seen
    assert ("ada", "person", "write", "granted") in seen
    refused = api.get("/access-log", params={"limit": 1000}, headers=admin3).json()["entries"]
    assert ("eve", "person", "write", "denied_scope") in {
        (e["user"], e["what"], e["kind"], e["outcome"]) for e in refused
    }


def test_merge_and_split_refuse_bad_input(referral_api: TestClient) -> None:
    api = referral_api
    a = register(api, ORG1, **NO_NHS).json()["id"]
    assert api.post("/persons/merge", json={"client_id": a}, headers=ADMIN1).status_code == 422
    assert api.post("/persons/split", json={"client_id": "x"}, headers=ADMIN1).status_code == 422
    assert api.post("/persons/split", json={"client_id": a}, headers=ADMIN1).status_code == 409
