"""Schemathesis against the three services as real processes, every check enabled.

Path parameters are pinned to real records (a client, a referral, and the episode its
acceptance opened) so that requests reach the rules, not only the 404 of an unknown id.

Two expectations are widened, each because no schema can say it:
- positive data may be answered 412: an If-Match that is well formed but names another version
  than the record's current one is a failed precondition (RFC 9110), not a rejected request;
- positive data may be answered 422 when the problem names a rule the schema cannot express
  (dates relative to today or to each other, the NHS number's check digit, an age range):
  `rules_beyond_the_schema` below then fails any 422 that a schema constraint explains.
"""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from services.common.auth import Role
from services.common.export_openapi import OPENAPI_DIR, render
from tests.builders import client_body, days_ago, referral_body
from tests.support import ServiceProcess, auth, token, wait_until

pytestmark = pytest.mark.e2e

EXAMPLES = 50
# A 422 whose every error is one of these is a schema constraint the request broke.
SCHEMA_ERROR_TYPES = ("missing", "extra_forbidden", "string_", "enum", "int_", "date_format")


@schemathesis.check
def rules_beyond_the_schema(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A schema-valid request is never rejected for a constraint the schema states."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    errors = body.get("errors") or []
    if "rule" in body or (errors and all(e.get("type") == "value_error" for e in errors)):
        return None
    raise AssertionError(f"schema-valid request rejected: {body}")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {"TJ_DATA_DIR": str(tmp_path_factory.mktemp("fuzz"))}
    processes = {name: ServiceProcess(name, env) for name in ("referral", "journey", "reporting")}
    for process in processes.values():
        process.env.update(
            {
                "TJ_REFERRAL_URL": processes["referral"].url,
                "TJ_JOURNEY_URL": processes["journey"].url,
            }
        )
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


@pytest.fixture(scope="module")
def seeded(system: dict[str, ServiceProcess]) -> dict[str, str]:
    """A client, a referral received by ORG1, and the episode its acceptance opened."""
    headers = auth("ORG1", Role.PROVIDER)
    with httpx.Client(base_url=system["referral"].url, headers=headers) as http:
        client_id = http.post("/clients", json=client_body()).json()["id"]
        referral = http.post("/referrals", json=referral_body(client_id)).json()
        http.post(f"/referrals/{referral['id']}/accept", json={"accepted_on": days_ago(29)})
        pending = http.post("/referrals", json=referral_body(client_id)).json()["id"]
    with httpx.Client(base_url=system["journey"].url, headers=headers) as http:
        episodes = wait_until(
            lambda: http.get(f"/clients/{client_id}/journey").json().get("episodes")
        )
    return {
        "client_id": client_id,
        "referral_id": pending,
        "episode_id": episodes[0]["episode"]["id"],
        "version": "1",
    }


POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]
CONFIG = {
    "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE}},
    # Through the document's own scheme, so Schemathesis knows when it sends a bad one.
    "auth": {"openapi": {"bearer": {"bearer": token("ORG1", Role.PROVIDER)}}},
}


def load(name: str) -> Any:
    """The committed document: loaded at import (Schemathesis's lazy `from_fixture` loader does
    not run under pytest 9), and checked equal to what the live service serves below."""
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_path(OPENAPI_DIR / f"{name}.openapi.json", config=config)


SCHEMAS = {name: load(name) for name in ("referral", "journey", "reporting")}
referral, journey, reporting = SCHEMAS.values()


@pytest.fixture(scope="module")
def live(system: dict[str, ServiceProcess], seeded: dict[str, str]) -> Iterator[dict[str, str]]:
    """Base URL of each service, once it serves the committed document; the seeded ids are
    given to every operation's path parameters."""
    for name, schema in SCHEMAS.items():
        served = httpx.get(f"{system[name].url}/openapi.json").json()
        assert render(served) == (OPENAPI_DIR / f"{name}.openapi.json").read_text()
        schema.config.parameters.update(seeded)
    yield {name: process.url for name, process in system.items()}
    print(f"\nschemathesis: {len(CALLS)} operations, {CALLS.total()} requests")


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


CALLS: Counter[str] = Counter()


def call(case: schemathesis.Case, base_url: str) -> None:
    CALLS[case.operation.label] += 1
    case.call_and_validate(
        base_url=base_url,
        additional_checks=[rules_beyond_the_schema],
        timeout=30,
    )


@referral.parametrize()
@FUZZ
def test_referral_service(case: schemathesis.Case, live: dict[str, str]) -> None:
    call(case, live["referral"])


@journey.parametrize()
@FUZZ
def test_journey_service(case: schemathesis.Case, live: dict[str, str]) -> None:
    call(case, live["journey"])


@reporting.parametrize()
@FUZZ
def test_reporting_service(case: schemathesis.Case, live: dict[str, str]) -> None:
    call(case, live["reporting"])
