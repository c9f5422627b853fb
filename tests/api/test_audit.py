"""Every attempt to see personal data is an audit entry, denied attempts included; the log is
hash-chained, readable only by administrators, and private on disk."""

import stat
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import JSONTranscoder, Transcoder
from fastapi.testclient import TestClient

from services.common.access import access_log_env
from services.common.audit import AccessLog, main
from services.common.auth import Role
from services.common.store import store_env
from tests.builders import client_body
from tests.journey_driver import SERVICE, H, JourneyDriver
from tests.reporting_driver import ReportingDriver
from tests.support import MakeSettings, assert_problem, auth

ADMIN = auth("ORG1", Role.ADMINISTRATOR, user="ada")
STRANGER = auth("ORG9", Role.PROVIDER, user="eve")
COMMISSIONER = auth("ORG5", Role.COMMISSIONER, user="cy")


def entries(service: TestClient, headers: dict[str, str] = ADMIN, **params: Any) -> list[Any]:
    """Every entry of one listing, read page by page."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        response = service.get(
            "/access-log", params={**params, "after": after, "limit": 7}, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["entries"]
        if not page["has_more"]:
            return found
        assert page["next_after"] > after
        after = page["next_after"]


def reads(service: TestClient, client_id: str) -> list[dict[str, Any]]:
    return [e for e in entries(service, client_id=client_id) if e["what"] != "feed"]


def test_reads_are_counted_exactly_with_their_outcomes(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    referral = d.accepted_referral()
    client, referral_id = referral["client_id"], referral["id"]
    d.follow_referrals()
    before_referral = len(reads(d.referral, client))
    assert d.referral.get(f"/clients/{client}", headers=H).status_code == 200
    assert (
        d.referral.get(f"/clients/{client}", headers={**H, "Purpose": "treatment"}).status_code
        == 200
    )
    assert d.referral.get(f"/referrals/{referral_id}", headers=H).status_code == 200
    assert len(d.referral.get("/referrals", headers=H).json()) == 1
    assert_problem(d.referral.get(f"/clients/{client}", headers=STRANGER), 404)
    assert_problem(d.referral.get(f"/referrals/{referral_id}", headers=STRANGER), 404)
    log = reads(d.referral, client)[before_referral:]
    assert [r["outcome"] for r in log] == ["granted"] * 4 + ["denied_scope"] * 2
    assert {(r["organisation"], r["user"]) for r in log} == {("ORG1", "alice"), ("ORG9", "eve")}
    # No Purpose header is recorded as such, not as a purpose nobody stated.
    assert [r["purpose"] for r in log[:2]] == ["not_stated", "treatment"]
    assert {r["what"] for r in log} == {"client", "referral"}
    assert {r["kind"] for r in log} == {"read"}

    journey = d.journey.get(f"/clients/{client}/journey", headers=H).json()
    episode = journey["episodes"][0]["episode"]["id"]
    before_journey = len(reads(d.journey, client))
    assert d.journey.get(f"/episodes/{episode}", headers=H).status_code == 200
    assert d.journey.get(f"/episodes/{episode}/events", headers=H).status_code == 200
    assert d.journey.get(f"/clients/{client}/journey", headers=H).status_code == 200
    assert_problem(d.journey.get(f"/episodes/{episode}", headers=STRANGER), 404)
    assert_problem(d.journey.get(f"/clients/{client}/journey", headers=STRANGER), 404)
    log = reads(d.journey, client)[before_journey:]
    assert [r["outcome"] for r in log] == ["granted"] * 3 + ["denied_scope"] * 2
    assert [r["what"] for r in log] == [
        "episode",
        "episode-events",
        "journey",
        "episode",
        "journey",
    ]


def test_role_denied_attempts_are_recorded_with_their_record(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    referral = d.accepted_referral()
    client, referral_id = referral["client_id"], referral["id"]
    assert_problem(d.referral.get(f"/clients/{client}", headers=COMMISSIONER), 403)
    assert_problem(d.referral.get(f"/referrals/{referral_id}", headers=COMMISSIONER), 403)
    assert_problem(d.referral.get("/feed", headers=COMMISSIONER), 403)
    assert_problem(d.referral.post("/clients", json=client_body(), headers=COMMISSIONER), 403)
    [denied] = [e for e in reads(d.referral, client) if e["outcome"] == "denied_role"]
    assert (denied["user"], denied["role"], denied["what"]) == (
        "cy",
        "commissioner",
        "/clients/{client_id}",
    )
    commissioners_admin = auth("ORG5", Role.ADMINISTRATOR)
    theirs = entries(d.referral, commissioners_admin)
    assert [(e["what"], e["record_id"], e["outcome"]) for e in theirs if e["user"] == "cy"] == [
        ("/clients/{client_id}", client, "denied_role"),
        ("/referrals/{referral_id}", referral_id, "denied_role"),
        ("/feed", "", "denied_role"),
        ("/clients", "", "denied_role"),
    ]


def test_not_found_and_refused_attempts_are_listed_for_the_organisation(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    missing = str(uuid.uuid4())
    assert_problem(d.referral.get(f"/clients/{missing}", headers=H), 404)
    assert_problem(d.journey.get(f"/episodes/{missing}", headers=H), 404)
    asked = {"receiving_organisation": "ORG2"}
    assert_problem(d.referral.get("/referrals", params=asked, headers=H), 403)
    # An administrator reads only its own organisation's attempts; asking for another's is
    # refused, and the refusal is itself in the log.
    other = {"organisation": "ORG2"}
    assert_problem(d.referral.get("/access-log", params=other, headers=ADMIN), 403)
    assert_problem(d.referral.get("/access-log", headers=H), 403)
    mine = [
        (e["user"], e["what"], e["record_id"], e["outcome"])
        for e in entries(d.referral)
        if e["outcome"] != "granted"
    ]
    assert mine == [
        ("alice", "client", missing, "not_found"),
        ("alice", "referrals", "receiving_organisation=ORG2", "refused"),
        ("ada", "access-log", "organisation=ORG2", "refused"),
        ("alice", "/access-log", "", "denied_role"),
    ]
    assert ("alice", "episode", missing, "not_found") in [
        (e["user"], e["what"], e["record_id"], e["outcome"]) for e in entries(d.journey)
    ]
    assert {e["organisation"] for e in entries(d.referral)} == {"ORG1"}


def test_feed_pages_record_each_client_they_carry_for_partners_and_services(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    first, second = d.accepted_referral()["client_id"], d.accepted_referral()["client_id"]
    assert d.referral.get("/feed", headers=SERVICE).status_code == 200
    assert d.referral.get("/feed", headers=H).status_code == 200
    for client in (first, second):
        feed_reads = [e for e in entries(d.referral, client_id=client) if e["what"] == "feed"]
        assert [(e["role"], e["record_id"]) for e in feed_reads] == [
            ("service", "after=0"),
            ("provider", "after=0"),
        ]
    d.follow_referrals()
    assert d.journey.get("/feed", headers=SERVICE).status_code == 200
    for client in (first, second):
        feed_reads = [e for e in entries(d.journey, client_id=client) if e["what"] == "feed"]
        assert [e["role"] for e in feed_reads] == ["service"]


def test_writes_returning_personal_data_are_recorded(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    referral = d.accepted_referral()
    client = referral["client_id"]
    d.follow_referrals()
    episode = d.journey.get(f"/clients/{client}/journey", headers=H).json()["episodes"][0]
    d.owners[episode["episode"]["id"]] = H
    d.triage(episode["episode"]["id"], on=5)
    written = [(e["what"], e["outcome"]) for e in entries(d.referral, client_id=client)]
    assert [w for w in written if w[0] != "feed"][:3] == [
        ("client", "granted"),
        ("referral", "granted"),
        ("referral", "granted"),  # the acceptance returns the referral
    ]
    writes = [e for e in entries(d.journey, client_id=client) if e["kind"] == "write"]
    assert [(e["what"], e["record_id"]) for e in writes] == [("episode", episode["episode"]["id"])]


def test_the_access_log_is_paged_and_for_administrators_only(
    journey_driver: JourneyDriver,
) -> None:
    d = journey_driver
    client = d.accepted_referral()["client_id"]
    for _ in range(10):
        d.referral.get(f"/clients/{client}", headers=H)
    listed = entries(d.referral, client_id=client)  # pages of 7
    seqs = [e["seq"] for e in listed]
    assert seqs == sorted(set(seqs)) and len(listed) >= 13
    params = {"client_id": client}
    assert_problem(d.referral.get("/access-log", params=params, headers=H), 403)
    other_admin = auth("ORG9", Role.ADMINISTRATOR)
    assert_problem(d.referral.get("/access-log", params=params, headers=other_admin), 404)
    assert_problem(d.referral.get("/access-log", params={"limit": 1001}, headers=ADMIN), 422)


def test_list_pages_are_bounded(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    assert_problem(d.referral.get("/referrals", params={"limit": 501}, headers=H), 422)
    assert_problem(d.referral.get("/feed", params={"limit": 1001}, headers=H), 422)
    assert_problem(d.journey.get("/feed", params={"limit": 1001}, headers=H), 422)
    bad_purpose = {**H, "Purpose": "curiosity"}
    assert_problem(d.referral.get("/referrals", headers=bad_purpose), 422)


def entry(n: int) -> dict[str, Any]:
    return {"user": f"u{n}", "organisation": "ORG1", "outcome": "granted", "client_id": None}


def tamper(settings_url: str, audit_env: dict[str, str], version: int, delete: bool) -> None:
    """Change (or delete) one stored link behind the application's back."""
    if audit_env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        import sqlite3

        with sqlite3.connect(audit_env["SQLITE_DBNAME"]) as db:
            if delete:
                db.execute("DELETE FROM stored_events WHERE originator_version = ?", (version,))
            else:
                [state] = db.execute(
                    "SELECT state FROM stored_events WHERE originator_version = ?", (version,)
                ).fetchone()
                altered = bytes(state).replace(b'"u%d"' % version, b'"mallory"')
                db.execute(
                    "UPDATE stored_events SET state = ? WHERE originator_version = ?",
                    (altered, version),
                )
        return
    with psycopg.connect(settings_url) as db:
        if delete:
            db.execute("DELETE FROM auditlog_events WHERE originator_version = %s", (version,))
        else:
            db.execute(
                "UPDATE auditlog_events SET state = "
                "convert_to(replace(convert_from(state, 'UTF8'), %s, '\"mallory\"'), 'UTF8') "
                "WHERE originator_version = %s",
                (f'"u{version}"', version),
            )


@pytest.mark.parametrize("delete", [False, True], ids=["altered", "deleted"])
def test_verify_finds_the_first_broken_link(
    make_settings: MakeSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    delete: bool,
) -> None:
    settings = make_settings("referral")
    url = settings.database_url("referral")
    env = access_log_env(store_env(url))
    log = AccessLog(env=env)
    for n in range(1, 6):
        log.append([entry(n)])
    assert log.verify() == (5, None)
    monkeypatch.setenv("TJ_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TJ_REFERRAL_DATABASE_URL", settings.referral_database_url)
    with pytest.raises(SystemExit) as intact:
        main(["verify", "--service", "referral"])
    assert intact.value.code == 0 and "5 entries, chain intact" in capsys.readouterr().out

    tamper(url, env, 3, delete)
    _, broken = log.verify()
    assert broken == (
        "entry 3: missing (next stored is 4)"
        if delete
        else "entry 3: altered (its hash does not match)"
    )
    with pytest.raises(SystemExit) as failed:
        main(["verify", "--service", "referral"])
    assert failed.value.code == 1 and "BROKEN at entry 3" in capsys.readouterr().out
    log.close()


class LibraryEncodedLog(AccessLog):
    """The log as written before links were encoded with orjson: the library's transcoder."""

    name = AccessLog.name  # the same store (the library names a subclass's tables after it)

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


def test_links_written_by_the_library_encoder_still_verify_and_chain(
    make_settings: MakeSettings,
) -> None:
    env = access_log_env(store_env(make_settings("referral").database_url("referral")))
    before = LibraryEncodedLog(env=env)
    before.append([entry(1), {**entry(2), "user": 'zoë "quoted"\n'}])
    before.close()
    log = AccessLog(env=env)
    log.append([entry(3)])
    assert log.verify() == (3, None)
    [second] = [link for version, link in log.links() if version == 2]
    assert second.entry["user"] == 'zoë "quoted"\n'
    assert isinstance(second.timestamp, datetime)
    log.close()


def test_writers_racing_on_one_log_keep_one_linear_chain(make_settings: MakeSettings) -> None:
    """Two processes per store: two applications on one log, each with writer threads."""
    env = access_log_env(store_env(make_settings("referral").database_url("referral")))
    logs = [AccessLog(env=env), AccessLog(env=env)]

    def write(log: AccessLog, n: int) -> None:
        for i in range(15):
            log.append([entry(n * 100 + i), entry(n * 100 + 50 + i)])

    threads = [threading.Thread(target=write, args=(logs[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logs[0].verify() == (4 * 15 * 2, None)
    assert logs[1].read_tail()[0] == 120
    for log in logs:
        log.close()


@pytest.mark.parametrize("store", ["sqlite"])
def test_stores_and_logs_are_private_files(make_settings: MakeSettings) -> None:
    from services.referral.main import create_app

    settings = make_settings("referral")
    exposed = settings.data_dir / "old-export.db"
    exposed.write_text("x")
    exposed.chmod(0o644)
    app = create_app(settings)
    with TestClient(app) as api:
        assert api.post("/clients", json=client_body(), headers=H).status_code == 201
        files = [p for p in Path(settings.data_dir).iterdir() if p.is_file()]
        names = {p.name for p in files}
        assert {"referral.db", "referral.audit.db"} <= names
        assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
        for path in files:  # -wal and -shm included when SQLite keeps them
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    app.state.application.close()


def test_http_hygiene(referral_api: TestClient) -> None:
    read = referral_api.get("/referrals", headers=H)
    assert read.headers["cache-control"] == "no-store"
    assert read.headers["x-content-type-options"] == "nosniff"
    problem = referral_api.post("/clients", content=b"x" * 70_000, headers=H)
    assert problem.status_code == 413 and problem.headers["x-content-type-options"] == "nosniff"
    for path in ("/health", "/health/ready", "/health/live"):
        answer = referral_api.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert set(answer.json()) <= {"status", "reasons"}, answer.json()
    details = referral_api.get("/health/details", headers=ADMIN)
    assert details.status_code == 200 and "last_position" in details.json()
    assert details.headers["cache-control"] == "no-store"
    assert_problem(referral_api.get("/health/details", headers=H), 403)
    assert_problem(referral_api.get("/health/details"), 401)


@pytest.mark.parametrize("store", ["sqlite"])
def test_reporting_caseloads_are_private_and_their_denials_audited(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver.reporting
    caseload = r.get("/caseloads", headers=H)
    assert caseload.status_code == 200
    assert caseload.headers["cache-control"] == "no-store"
    assert "no-store" not in r.get("/kpis", headers=H).headers.get("cache-control", "")
    assert r.get("/health").headers["x-content-type-options"] == "nosniff"
    assert_problem(r.get("/caseloads", headers=COMMISSIONER), 403)
    assert_problem(r.get("/waiting-list", params={"organisation": "ORG2"}, headers=H), 403)
    theirs = entries(r, auth("ORG5", Role.ADMINISTRATOR))
    assert [(e["what"], e["outcome"]) for e in theirs if e["user"] == "cy"] == [
        ("/caseloads", "denied_role")
    ]
    mine = [(e["what"], e["record_id"], e["outcome"]) for e in entries(r)]
    assert ("caseload", "organisation=ORG2", "refused") in mine
