"""Every endpoint (read from the OpenAPI documents, so none is missed), called as three
organisations in four roles, with every record's identifier swapped into paths, queries and
bodies: no response reveals a record the caller's organisation may not see, and every denial
is problem+json."""

import re
from collections.abc import Iterator
from itertools import product
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from tests.builders import client_body, days_ago, handover_body, referral_body
from tests.journey_driver import GOALS, RISKS, SERVICE, JourneyDriver
from tests.support import MakeSettings, auth

ORGS = {"A": "PROV_A", "B": "CJIT_B", "C": "CARAT_C"}
ROLES = [Role.PROVIDER, Role.CJIT, Role.ADMINISTRATOR, Role.COMMISSIONER]
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def store() -> str:
    return "sqlite"  # access rules do not depend on the store


@pytest.fixture
def world(make_settings: MakeSettings) -> Iterator[dict[str, Any]]:
    """A client of A's (episode at A); a CARAT C -> CJIT B handover (episode at B) whose
    consent covers only `treatment`, so with the default purpose nobody sees across."""
    from services.journey.main import create_app as journey_app
    from services.referral.main import create_app as referral_app

    settings = make_settings("referral", "journey")
    referral, journey = referral_app(settings), journey_app(settings)
    d = JourneyDriver(TestClient(referral), TestClient(journey))
    a, b, c = (
        auth(ORGS[k], role)
        for k, role in (("A", Role.PROVIDER), ("B", Role.CJIT), ("C", Role.CARAT))
    )
    rest = d.referral
    x = rest.post("/clients", json=client_body(given_name="Xena"), headers=a).json()["id"]
    rx = rest.post(
        "/referrals",
        headers=a,
        json=referral_body(
            x, receiving_organisation=ORGS["A"], consent=None, referral_date=days_ago(60)
        ),
    ).json()["id"]
    rest.post(f"/referrals/{rx}/accept", json={"accepted_on": days_ago(50)}, headers=a)
    y = rest.post("/clients", json=client_body(given_name="Yusuf"), headers=c).json()["id"]
    handover = referral_body(
        y,
        source="carat",
        referring_organisation=ORGS["C"],
        receiving_organisation=ORGS["B"],
        handover=handover_body(),
        referral_date=days_ago(60),
        consent={"given_on": days_ago(60), "share_with": [ORGS["B"]], "purposes": ["treatment"]},
    )
    ry = rest.post("/referrals", json=handover, headers=c).json()["id"]
    rest.post(f"/referrals/{ry}/accept", json={"accepted_on": days_ago(50)}, headers=b)
    d.follow_referrals()
    episodes = {}
    for key, client, headers in (("A", x, a), ("B", y, b)):
        journey_read = d.journey.get(f"/clients/{client}/journey", headers=headers).json()
        episode = journey_read["episodes"][0]["episode"]["id"]
        d.owners[episode] = headers
        d.triage(episode, on=45)
        d.care_plan(episode, on=44)
        episodes[key] = (episode, d.start(episode, on=43))
    yield {
        "driver": d,
        "entitled": {
            ORGS["A"]: {x, rx, episodes["A"][0], episodes["A"][1]},
            ORGS["B"]: {y, ry, episodes["B"][0], episodes["B"][1]},
            ORGS["C"]: {y, ry},
        },
        "ids": {
            "client_id": [x, y],
            "referral_id": [rx, ry],
            "episode_id": [episodes["A"][0], episodes["B"][0]],
            "intervention_id": [episodes["A"][1], episodes["B"][1]],
            "version": ["2"],
        },
        "names": {"Xena": ORGS["A"], "Yusuf": ORGS["B"]},
    }
    referral.state.application.close()
    journey.state.application.close()


def bodies(ids: dict[str, list[str]], org: str) -> dict[str, list[dict[str, Any]]]:
    """A body for every POST path; organisation and client fields swapped through."""
    triage = {
        "on": days_ago(2),
        "urgency": "routine",
        "tier_indicated": 3,
        "outcome": "structured_treatment_needed",
        "risks": RISKS,
    }
    # Referring one's own client elsewhere is legitimate sharing and would change who may
    # see what, so the sweep records self-referrals, and referrals between two others
    # (which must be refused).
    others = [o for o in ORGS.values() if o != org]
    referrals = [
        referral_body(client, referring_organisation=referrer, receiving_organisation=receiver)
        for client in ids["client_id"]
        for referrer, receiver in ((org, org), (others[0], others[1]))
    ]
    return {
        "/clients": [client_body()],
        "/referrals": referrals,
        "/referrals/{referral_id}/accept": [{"accepted_on": days_ago(1)}],
        "/referrals/{referral_id}/decline": [{"declined_on": days_ago(1), "reason": "no_capacity"}],
        "/referrals/{referral_id}/withdraw": [{"withdrawn_on": days_ago(1), "reason": "other"}],
        "/referrals/{referral_id}/consent": [
            {"given_on": days_ago(1), "share_with": [org], "purposes": ["care_coordination"]}
        ],
        "/referrals/{referral_id}/consent/withdraw": [{"withdrawn_on": days_ago(1)}],
        "/persons/merge": [
            {"into_client_id": into, "client_id": client}
            for into, client in product(ids["client_id"], repeat=2)
        ],
        "/persons/split": [{"client_id": client} for client in ids["client_id"]],
        "/episodes/{episode_id}/triage": [triage],
        "/episodes/{episode_id}/keyworker": [{"on": days_ago(2), "keyworker": "intruder"}],
        "/episodes/{episode_id}/initial-care-plan": [{"on": days_ago(2), "goals": GOALS}],
        "/episodes/{episode_id}/comprehensive-assessment": [
            {
                "on": days_ago(2),
                "needs": {
                    "drug_and_alcohol_misuse": "a",
                    "health": "b",
                    "offending": "c",
                    "social_functioning": "d",
                },
            }
        ],
        "/episodes/{episode_id}/care-plan": [
            {"on": days_ago(2), "goals": GOALS, "next_review_on": days_ago(-20)}
        ],
        "/episodes/{episode_id}/care-plan-reviews": [
            {
                "on": days_ago(2),
                "next_review_on": days_ago(-20),
                "progress": [{"goal": 0, "progress": "worse"}],
            }
        ],
        "/episodes/{episode_id}/aftercare-plan": [
            {"on": days_ago(2), "agencies": ["x"], "drug_related_support": ["y"]}
        ],
        "/episodes/{episode_id}/discharge": [{"on": days_ago(1), "exit_reason": "dropped_out"}],
        "/clients/{client_id}/profile": [{"on": days_ago(1), "consent_to_national_return": True}],
        "/episodes/{episode_id}/substance-profile": [
            {"on": days_ago(2), "substances": [{"substance": "alcohol"}]}
        ],
        "/episodes/{episode_id}/blood-borne-viruses": [{"on": days_ago(2)}],
        "/episodes/{episode_id}/naloxone": [{"on": days_ago(2), "kits": 1}],
        "/episodes/{episode_id}/top": [
            {"on": days_ago(2), "stage": "start", "substance_use": {"opiates": 3}}
        ],
        "/clients/{client_id}/top-care-coordinator": [{"on": days_ago(2)}],
        "/clients/{client_id}/top-care-coordinator/end": [{"on": days_ago(1)}],
        "/episodes/{episode_id}/interventions": [{"on": days_ago(2), "modality": "harm_reduction"}],
        "/episodes/{episode_id}/interventions/{intervention_id}/end": [
            {"on": days_ago(1), "reason": "completed"}
        ],
        "/episodes/{episode_id}/re-engagement": [{"on": days_ago(0)}],
        "/episodes/{episode_id}/events/{version}/recorded-in-error": [{"reason": "sweep"}],
        "/episodes/{episode_id}/events/{version}/correction": [
            {"reason": "sweep", "replacement": triage}
        ],
    }


def queries(path: str, ids: dict[str, list[str]]) -> list[dict[str, str]]:
    if path == "/referrals":
        return [{}] + [{"receiving_organisation": org} for org in ORGS.values()]
    if path == "/access-log":
        return [{"client_id": client} for client in ids["client_id"]]
    if path == "/episodes":
        return [{"referral_id": referral} for referral in ids["referral_id"]]
    return [{}]


def requests_for(
    client: TestClient, ids: dict[str, list[str]], org: str
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    post_bodies = bodies(ids, org)
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        for values in product(*(ids[name] for name in names)):
            url = path
            for name, value in zip(names, values, strict=True):
                url = url.replace(f"{{{name}}}", value)
            for method in operations:
                if method == "get":
                    for params in queries(path, ids):
                        yield "get", url, {"params": params}
                else:
                    assert path in post_bodies, f"no sweep body for POST {path}: add one"
                    for body in post_bodies[path]:
                        yield method, url, {"json": body}


def test_no_endpoint_leaks_another_organisations_records(world: dict[str, Any]) -> None:
    d: JourneyDriver = world["driver"]
    everything = set().union(*world["entitled"].values())
    calls = 0
    denied: list[tuple[TestClient, str, str, str]] = []
    for (org_key, org), role, service in product(ORGS.items(), ROLES, (d.referral, d.journey)):
        headers = auth(org, role, user=f"{role.value}-{org_key}")
        allowed = world["entitled"][org] if role is not Role.COMMISSIONER else set()
        for method, url, kwargs in requests_for(service, world["ids"], org):
            response = service.request(method, url, headers=headers, **kwargs)
            calls += 1
            sent = url + str(kwargs)
            if method == "get" and response.status_code in (403, 404) and url not in OPERATIONS:
                denied.append((service, org, headers_user(role, org_key), asked(url, kwargs)))
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json", (
                    method,
                    url,
                    response.status_code,
                )
            leaked = set(UUID_PATTERN.findall(response.text)) & everything - allowed
            leaked -= set(UUID_PATTERN.findall(sent))  # echoing what was sent is no leak
            assert not leaked, (role.value, org, method, url, response.status_code, leaked)
            for name, owner in world["names"].items():
                if owner != org and name in response.text:
                    # the CARAT made the handover for Yusuf: it may see him
                    assert (name, org) == ("Yusuf", ORGS["C"]) and role is not Role.COMMISSIONER, (
                        role.value,
                        org,
                        method,
                        url,
                        response.text[:300],
                    )
            open_urls = ("/health", "/health/live", "/health/ready", "/codes", "/openapi.json")
            if role is Role.COMMISSIONER and url not in open_urls:
                assert response.status_code in (401, 403, 404, 422), (method, url)
    assert calls > 500
    assert len(denied) > 100
    assert_denials_audited(denied)


HEALTH_DETAILS = "/health/details"  # service figures, not personal data
# Operational endpoints: no personal data, so their refusals are not audited reads.
OPERATIONS = (HEALTH_DETAILS, "/metrics")


def headers_user(role: Role, org_key: str) -> str:
    return f"{role.value}-{org_key}"


def asked(url: str, kwargs: dict[str, Any]) -> str:
    return url + "?" + urlencode(kwargs.get("params", {}))


def assert_denials_audited(denied: list[tuple[TestClient, str, str, str]]) -> None:
    """Each denied read is in the log its organisation's administrator reads: by the same
    user, not granted, naming what was asked for."""
    logs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for service, org, user, sent in denied:
        key = (id(service), org)
        if key not in logs:
            logs[key] = organisation_log(service, org)
        matches = [
            e
            for e in logs[key]
            if e["user"] == user and e["outcome"] != "granted" and e["record_id"] in sent
        ]
        assert matches, (user, sent)


def organisation_log(service: TestClient, org: str) -> list[dict[str, Any]]:
    headers = auth(org, Role.ADMINISTRATOR, user="auditor")
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = service.get(
            "/access-log", params={"after": after, "limit": 1000}, headers=headers
        ).json()
        found += page["entries"]
        if not page["has_more"]:
            return found
        after = page["next_after"]


def test_service_feed_sees_everything_partner_feeds_only_their_own(world: dict[str, Any]) -> None:
    d: JourneyDriver = world["driver"]
    everything = {i["aggregate_id"] for i in d.feed()}
    for org in ORGS.values():
        page = d.journey.get(
            "/feed", params={"limit": 1000}, headers=auth(org, Role.PROVIDER)
        ).json()
        seen = {i["aggregate_id"] for i in page["items"]}
        assert seen <= world["entitled"][org]
        assert (
            page["next_after"]
            == d.journey.get("/feed", params={"limit": 1000}, headers=SERVICE).json()["next_after"]
        )
    assert everything == {
        e for org in (ORGS["A"], ORGS["B"]) for e in world["entitled"][org] if e in everything
    }
    commissioner = auth(ORGS["A"], Role.COMMISSIONER)
    assert d.journey.get("/feed", headers=commissioner).status_code == 403
    assert d.referral.get("/feed", headers=commissioner).status_code == 403


def reads_leak(world: dict[str, Any], entitled: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every GET of both services, as every organisation's staff, stating each purpose: what
    each answer reveals beyond `entitled`."""
    d: JourneyDriver = world["driver"]
    everything = set().union(*world["entitled"].values(), *entitled.values())
    leaks = []
    for org, purpose, service in product(
        ORGS.values(), ("care_coordination", "treatment"), (d.referral, d.journey)
    ):
        headers = {**auth(org, Role.PROVIDER), "Purpose": purpose}
        for method, url, kwargs in requests_for(service, world["ids"], org):
            if method != "get":
                continue
            response = service.get(url, headers=headers, **kwargs)
            leaked = set(UUID_PATTERN.findall(response.text)) & everything - entitled[org]
            leaked -= set(UUID_PATTERN.findall(url + str(kwargs)))
            if leaked:
                leaks.append((org, purpose, url, str(sorted(leaked))))
    return leaks


def test_consent_attacks_open_nothing_a_holder_did_not_share(world: dict[str, Any]) -> None:
    """Self-granted and third-party consents, a re-grant after the client's withdrawal and a
    grant on a withdrawn referral, recorded by every organisation on every referral: each
    opens only what the consent's holder itself shares."""
    d: JourneyDriver = world["driver"]
    entitled = {org: set(ids) for org, ids in world["entitled"].items()}
    ids = world["ids"]
    grant_all = {
        "given_on": days_ago(1),
        "share_with": list(ORGS.values()),
        "purposes": ["care_coordination", "treatment"],
    }
    (rx, ry), (_, episode_b), (_, intervention_b) = (
        ids["referral_id"],
        ids["episode_id"],
        ids["intervention_id"],
    )
    for org, referral in product(ORGS.values(), ids["referral_id"]):
        d.referral.post(
            f"/referrals/{referral}/consent", json=grant_all, headers=auth(org, Role.PROVIDER)
        )
    # Only B's own grant opened anything: B's part, to C, which took part in B's referral.
    # A's grant on its own referral names B and C, who have no care relationship with x.
    entitled[ORGS["C"]] |= {episode_b, intervention_b}
    assert reads_leak(world, entitled) == []

    # The client withdraws (recorded by C): everything shared ends; C's re-grant opens nothing.
    c = auth(ORGS["C"], Role.CARAT)
    assert (
        d.referral.post(
            f"/referrals/{ry}/consent/withdraw", json={"withdrawn_on": days_ago(0)}, headers=c
        ).status_code
        == 200
    )
    d.referral.post(f"/referrals/{ry}/consent", json=grant_all, headers=c)
    entitled[ORGS["C"]] -= {episode_b, intervention_b}
    assert reads_leak(world, entitled) == []

    # B refers y on to A with its consent: A sees B's part while that referral is live, and
    # nothing of it once B withdraws the referral, even if B grants again on it.
    b = auth(ORGS["B"], Role.CJIT)
    onward = d.referral.post(
        "/referrals",
        headers=b,
        json=referral_body(
            ids["client_id"][1],
            source="cjit",
            receiving_organisation=ORGS["A"],
            consent={**grant_all, "share_with": [ORGS["A"]]},
        ),
    ).json()["id"]
    entitled[ORGS["A"]] |= {ids["client_id"][1], onward}
    entitled[ORGS["B"]] |= {onward}
    ids["referral_id"] = [rx, ry, onward]
    world["entitled"][ORGS["A"]] = world["entitled"][ORGS["A"]] | {onward}
    shared = {episode_b, intervention_b, ry}  # B's episode names the referral it came from
    assert reads_leak(world, {**entitled, ORGS["A"]: entitled[ORGS["A"]] | shared}) == []
    withdraw = {"withdrawn_on": days_ago(0), "reason": "other"}
    assert d.referral.post(f"/referrals/{onward}/withdraw", json=withdraw, headers=b).is_success
    d.referral.post(
        f"/referrals/{onward}/consent", json={**grant_all, "share_with": [ORGS["A"]]}, headers=b
    )
    assert reads_leak(world, entitled) == []
