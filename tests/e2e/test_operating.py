"""What operations see of real service processes: JSON log lines with a request id and no
personal data, and Prometheus metrics for administrators and services only."""

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.process_story import journey_story
from tests.support import ServiceProcess, auth, wait_until

pytestmark = pytest.mark.e2e
H = auth("ORG1")
SERVICE = auth("ops-test", Role.SERVICE)
# Personal data of the story's client: none of it may reach a log line.
PERSON = {
    "given_name": "Zebedee",
    "family_name": "Quillfeather",
    "date_of_birth": "1979-03-14",
    "nhs_number": "9434765919",
    "postcode_district": "LS6",
}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("operating")
    logs = tmp_path / "services.log"
    env = {"TJ_DATA_DIR": str(tmp_path), "TJ_FOLLOW_INTERVAL_SECONDS": "0.05"}
    referral = ServiceProcess("referral", env, stderr=logs).start()
    env["TJ_REFERRAL_URL"] = referral.url
    journey = ServiceProcess("journey", env, stderr=logs).start()
    env["TJ_JOURNEY_URL"] = journey.url
    reporting = ServiceProcess("reporting", env, stderr=logs).start()
    processes = {"referral": referral, "journey": journey, "reporting": reporting}
    try:
        yield {"logs": logs, **{name: p.url for name, p in processes.items()}}
    finally:
        for process in processes.values():
            process.stop()


def test_log_lines_are_json_with_request_ids_and_no_personal_data(system: dict[str, Any]) -> None:
    journey_story(system["referral"], system["journey"], system["reporting"], PERSON)
    answer = httpx.get(f"{system['referral']}/codes", headers={**H, "X-Request-Id": "trace-me-1"})
    assert answer.headers["x-request-id"] == "trace-me-1"
    generated = httpx.get(f"{system['referral']}/codes", headers=H).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)

    def logged() -> list[dict[str, Any]]:
        lines = system["logs"].read_text().splitlines()
        records = [json.loads(line) for line in lines]  # every line is JSON
        return records if any(r.get("request_id") == generated for r in records) else []

    records = wait_until(logged)
    text = system["logs"].read_text()
    for value in PERSON.values():
        assert value not in text, value
    requests = [r for r in records if r["event"] == "request"]
    routes = {(r["service"], r["method"], r["route"], r["status"]) for r in requests}
    assert ("journey", "POST", "/episodes/{episode_id}/care-plan", 409) in routes
    assert ("referral", "GET", "/clients/{client_id}", 200) in routes
    mine = next(r for r in requests if r["request_id"] == "trace-me-1")
    assert mine["organisation"] == "ORG1" and mine["role"] == "provider"
    assert mine["route"] == "/codes" and mine["duration_ms"] >= 0


def test_metrics_for_administrators_and_services_only(system: dict[str, Any]) -> None:
    journey_story(system["referral"], system["journey"], system["reporting"], PERSON)
    url = system["journey"]
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/metrics", headers=H).status_code == 403
    admin = httpx.get(f"{url}/metrics", headers=auth("ORG1", Role.ADMINISTRATOR))
    assert admin.status_code == 200
    text = httpx.get(f"{url}/metrics", headers=SERVICE).text
    assert 'route="/episodes/{episode_id}/triage"' in text  # the template, never an id
    assert re.search(
        r'tj_http_requests_total\{method="POST",route="/episodes/\{episode_id\}/'
        r'care-plan",status="409"\} [1-9]',
        text,
    )
    assert re.search(r'tj_problems_total\{status="409",type="care-plan-before-triage"\}', text)
    assert "tj_group_commit_batch_writes_bucket" in text
    assert re.search(r'tj_follower_lag_positions\{feed="referral"\} 0', text)
    assert re.search(r"tj_feed_last_position [1-9]", text)
    reporting = httpx.get(f"{system['reporting']}/metrics", headers=SERVICE).text
    assert re.search(r'tj_follower_position\{feed="journey"\} [1-9]', reporting)
