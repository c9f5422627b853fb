"""The three services as real processes, talking HTTP: on the embedded default, and as
`make run STORE=postgres` starts them."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common.auth import Role
from tests.builders import client_body, days_ago, handover_referral_body
from tests.journey_driver import GOALS, RISKS
from tests.support import AUTH_ENV, ROOT, ServiceProcess, auth, free_port, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def system(tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    env = {"TJ_DATA_DIR": str(tmp_path)}
    processes = {name: ServiceProcess(name, env) for name in ("referral", "journey", "reporting")}
    referral_url = processes["referral"].url
    journey_url = processes["journey"].url
    for process in processes.values():
        process.env.update({"TJ_REFERRAL_URL": referral_url, "TJ_JOURNEY_URL": journey_url})
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def test_three_services_answer_and_a_referral_goes_through(
    system: dict[str, ServiceProcess],
) -> None:
    for name, process in system.items():
        health = httpx.get(f"{process.url}/health")
        assert health.status_code == 200 and health.json()["status"] == "ok", name

    headers = auth("CJIT1", Role.CJIT)
    carat = auth("HMP1", Role.CARAT)
    with httpx.Client(base_url=system["referral"].url, headers=headers) as http:
        client = http.post("/clients", json=client_body(), headers=carat)
        assert client.status_code == 201
        body = handover_referral_body(client.json()["id"])
        referral = http.post("/referrals", json=body, headers=carat)
        assert referral.status_code == 201
        referral_id = referral.json()["id"]
        accepted = http.post(
            f"/referrals/{referral_id}/accept",
            json={"accepted_on": days_ago(30), "keyworker": "kim"},
        )
        assert accepted.status_code == 200
        assert http.get(f"/referrals/{referral_id}").json()["status"] == "accepted"
        items = http.get("/feed").json()["items"]
        assert [i["type"] for i in items] == [
            "ClientRegistered",
            "ReferralMade",
            "ReferralAccepted",
        ]
        assert [i["position"] for i in items] == sorted(i["position"] for i in items)

    client_id = client.json()["id"]
    with httpx.Client(base_url=system["journey"].url, headers=headers) as http:
        journey = wait_until(
            lambda: http.get(f"/clients/{client_id}/journey").json().get("episodes")
        )
        episode = journey[0]["episode"]["id"]
        assert journey[0]["episode"]["handover"]["kind"] == "carat_to_cjit"
        triage = {
            "on": days_ago(29),
            "urgency": "urgent",
            "tier_indicated": 3,
            "outcome": "structured_treatment_needed",
            "risks": RISKS,
        }
        review = {
            "on": days_ago(10),
            "next_review_on": days_ago(-18),
            "progress": [{"goal": 1, "progress": "achieved"}],
        }
        steps = [
            ("triage", triage),
            ("care-plan", {"on": days_ago(28), "goals": GOALS, "next_review_on": days_ago(10)}),
            ("interventions", {"on": days_ago(27), "modality": "specialist_prescribing"}),
            ("care-plan-reviews", review),
            ("discharge", {"on": days_ago(5), "exit_reason": "treatment_completed_drug_free"}),
            ("aftercare-plan", {"on": days_ago(4), "drug_related_support": ["mutual aid"]}),
            ("re-engagement", {"on": days_ago(1)}),
        ]
        for path, body in steps:
            response = http.post(f"/episodes/{episode}/{path}", json=body)
            assert response.status_code == 201, (path, response.text)
        journey = http.get(f"/clients/{client_id}/journey").json()["episodes"]
        expected = [
            "EpisodeOpened",
            "TriageCompleted",
            "CarePlanAgreed",
            "InterventionStarted",
            "CarePlanReviewed",
            "Discharged",
            "AftercarePlanAgreed",
            "ReEngaged",
        ]
        assert [e["type"] for e in journey[0]["events"]] == expected
        assert journey[1]["episode"]["re_engaged_from"] == episode
        feed = http.get("/feed").json()["items"]
        assert [i["type"] for i in feed] == [*expected, "EpisodeOpened"]
        details = http.get("/health/details", headers=auth("svc", Role.SERVICE))
        health = details.json()["following"]["referral"]
        assert health["caught_up"] and health["last_error"] is None


def test_make_run_on_postgres_starts_its_own_server_and_stops_it(tmp_path: Path) -> None:
    """`make run STORE=postgres` with no database URL set: a pip-installed server in data/."""
    ports = {name: free_port() for name in ("referral", "journey", "reporting")}
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env |= {f"TJ_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env |= {
        **AUTH_ENV,
        "TJ_DATA_DIR": str(tmp_path),
        "TJ_REFERRAL_URL": f"http://127.0.0.1:{ports['referral']}",
        "TJ_JOURNEY_URL": f"http://127.0.0.1:{ports['journey']}",
    }
    command = [sys.executable, "-m", "services.run", "--store", "postgres"]
    run = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        for port in ports.values():
            url = f"http://127.0.0.1:{port}/health/ready"
            # initdb and three services starting: a minute was not always enough under load
            wait_until(lambda url=url: httpx.get(url, timeout=2).status_code == 200, timeout=180)
        assert (tmp_path / "postgres" / "postmaster.pid").exists()
        client = httpx.post(
            f"http://127.0.0.1:{ports['referral']}/clients",
            json=client_body(),
            headers=auth("HMP1", Role.CARAT),
        )
        assert client.status_code == 201
    finally:
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=180)
    assert "postgresql://postgres@127.0.0.1:" in output and "/referral" in output, output
    assert "PostgreSQL stopped." in output, output
    assert not (tmp_path / "postgres" / "postmaster.pid").exists(), output  # a clean shutdown
