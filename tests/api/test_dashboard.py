"""The dashboard over plain HTTP: sign-in and its protections, access rules, and CSV equal to
GET /kpis (the browser tests in tests/browser/ drive the same pages in Chromium)."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.common.auth import Caller, Role
from services.common.clock import today
from services.common.issuer import Issuer
from services.common.settings import DEFAULT_ISSUER
from tests.dashboard_support import api_rows, csv_rows, post_sign_in
from tests.reporting_driver import ReportingDriver
from tests.support import AUDIENCES, TEST_ISSUER, auth, token

# One store is enough here: the figures are GET /kpis's, tested on both stores elsewhere.
pytestmark = pytest.mark.parametrize("store", ["sqlite"])

THIS_MONTH = today().replace(day=1)
# The two discharged ten days ago were in treatment this month unless this month began since.
IN_TREATMENT_THIS_MONTH = 4 if today() - timedelta(days=10) >= THIS_MONTH else 2


def seed(driver: ReportingDriver) -> None:
    """ORG1: seven episodes, four started treatment, two discharged."""
    journeys = driver.journeys
    for n in range(7):
        episode = journeys.open_episode(referred=70 - n, accepted=68 - n)
        journeys.triage(episode, on=60 - n)
        if n < 4:
            journeys.care_plan(episode, on=55 - n, review_in=90)
            journeys.start(episode, on=50 - n)
        if n < 2:
            journeys.discharge(episode, on=10, reason="treatment_completed_drug_free")
    driver.follow()


def test_without_a_session_nothing_is_shown_and_the_page_sends_you_to_sign_in(
    reporting_driver: ReportingDriver,
) -> None:
    seed(reporting_driver)
    http = reporting_driver.reporting
    for path in ("/dashboard", "/dashboard/csv/numbers_in_treatment.csv"):
        answer = http.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dashboard/sign-in"
        assert answer.text == ""
        assert answer.headers["cache-control"] == "no-store"
    page = http.get("/dashboard/sign-in")
    assert page.status_code == 200
    assert "Numbers in treatment" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    # a session cookie that is not a valid token is no session
    http.cookies.set("tj_dashboard_session", "not-a-token", path="/dashboard")
    assert http.get("/dashboard", follow_redirects=False).status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_no_longer_lived_than_the_token(
    reporting_driver: ReportingDriver,
) -> None:
    http = reporting_driver.reporting
    minted = token("ORG1", Role.PROVIDER, lifetime=timedelta(minutes=10))
    answer = post_sign_in(http, minted)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dashboard"
    [session] = [c for c in answer.headers.get_list("set-cookie") if "tj_dashboard_session" in c]
    attributes = [a.strip().lower() for a in session.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/dashboard" in attributes
    assert "secure" not in attributes  # plain http here; Secure over https
    [max_age] = [int(a.split("=")[1]) for a in attributes if a.startswith("max-age=")]
    assert 540 < max_age <= 600
    page = http.get("/dashboard")
    assert page.status_code == 200
    assert "own figures, exact" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'none'" in page.headers["content-security-policy"]
    signed_out = http.post(
        "/dashboard/sign-out",
        data={"csrf": http.cookies["tj_dashboard_csrf"]},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert signed_out.status_code == 303
    assert http.get("/dashboard", follow_redirects=False).status_code == 303


def test_forms_from_elsewhere_or_without_the_csrf_token_are_refused(
    reporting_driver: ReportingDriver,
) -> None:
    http = reporting_driver.reporting
    good = token("ORG1", Role.PROVIDER)
    for origin, csrf in (
        ("https://evil.example", "page"),
        (None, "page"),
        ("same", None),
        ("same", "forged-value"),
    ):
        http.cookies.clear()
        answer = post_sign_in(http, good, origin=origin, csrf=csrf)
        assert answer.status_code == 403, (origin, csrf)
        assert "tj_dashboard_session" not in answer.headers.get("set-cookie", "")
    http.cookies.clear()
    post_sign_in(http, good)
    refused = http.post(
        "/dashboard/sign-out", data={"csrf": "wrong"}, headers={"Origin": "http://testserver"}
    )
    assert refused.status_code == 403
    assert http.get("/dashboard", follow_redirects=False).status_code == 200


def test_forged_expired_misdirected_and_service_tokens_cannot_sign_in(
    reporting_driver: ReportingDriver,
) -> None:
    http = reporting_driver.reporting
    caller = Caller("mallory", "ORG1", Role.PROVIDER)
    forger = Issuer(ec.generate_private_key(ec.SECP256R1()), DEFAULT_ISSUER)
    journey_only = [a for a in AUDIENCES if not a.endswith("/reporting")]
    for bad, status in (
        (forger.mint(caller, AUDIENCES, timedelta(hours=1)), 401),
        (TEST_ISSUER.mint(caller, AUDIENCES, timedelta(seconds=-60)), 401),
        (TEST_ISSUER.mint(caller, journey_only, timedelta(hours=1)), 401),
        ("x" * 9000, 422),
        ("", 422),
        (token("svc", Role.SERVICE), 403),
    ):
        http.cookies.clear()
        answer = post_sign_in(http, bad)
        assert answer.status_code == status, answer.text
        assert "There is a problem" in answer.text
        assert "tj_dashboard_session" not in answer.headers.get("set-cookie", "")


def test_a_provider_sees_its_own_figures_exactly_and_no_one_elses(
    reporting_driver: ReportingDriver,
) -> None:
    seed(reporting_driver)
    http = reporting_driver.reporting
    post_sign_in(http, token("ORG1", Role.PROVIDER))
    for key in ("numbers_in_treatment", "waiting_times", "planned_exits"):
        answer = http.get(f"/dashboard/csv/{key}.csv")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = csv_rows(answer.text)
        assert rows == api_rows(http, auth("ORG1"), key, THIS_MONTH)
    counts = [r for r in csv_rows(http.get("/dashboard/csv/numbers_in_treatment.csv").text)]
    assert counts[-1]["value"] == str(IN_TREATMENT_THIS_MONTH)  # exact
    phases = csv_rows(http.get("/dashboard/csv/caseload_by_phase.csv").text)
    by_phase = {r["figure"]: r["value"] for r in phases}
    assert by_phase["caseload_by_phase.total.count"] == "5"
    assert by_phase["caseload_by_phase.by_phase.delivery.count"] == "2"
    assert by_phase["caseload_by_phase.by_phase.engagement.count"] == "3"
    waiting_csv = http.get("/dashboard/csv/waiting_list.csv").text
    waiting = {r["figure"]: r["value"] for r in csv_rows(waiting_csv)}
    assert waiting["waiting_list.total.count"] == "3"
    for params in ({"organisation": "ORG2"}, {"area": "LS"}):
        refused = http.get("/dashboard", params=params)
        assert refused.status_code == 403
        assert "own organisation" in refused.text
        assert http.get("/dashboard/csv/numbers_in_treatment.csv", params=params).status_code == 403


def test_a_commissioner_sees_the_api_figures_under_disclosure_control(
    reporting_driver: ReportingDriver,
) -> None:
    seed(reporting_driver)
    http = reporting_driver.reporting
    post_sign_in(http, token("NHSE", Role.COMMISSIONER, user="cara"))
    commissioner = auth("NHSE", Role.COMMISSIONER, user="cara")
    for key in ("numbers_in_treatment", "referral_sources", "waiting_times"):
        rows = csv_rows(http.get(f"/dashboard/csv/{key}.csv").text)
        assert rows == api_rows(http, commissioner, key, THIS_MONTH)
    latest = csv_rows(http.get("/dashboard/csv/numbers_in_treatment.csv").text)[-1]
    assert latest["value"] == "suppressed"
    page = http.get("/dashboard")
    assert "suppressed (1\N{EN DASH}5)" in page.text and "rounded to the nearest 5" in page.text
    phases = {
        r["figure"]: r["value"]
        for r in csv_rows(http.get("/dashboard/csv/caseload_by_phase.csv").text)
    }
    # 5 open episodes: suppressed, and so is every phase (each 1 to 5, or 0)
    assert phases["caseload_by_phase.total.count"] == "suppressed"
    assert set(phases.values()) <= {"suppressed", "0"}
    area = http.get("/dashboard", params={"area": "LS", "organisation": "ORG1"})
    assert area.status_code == 200 and "ORG1, postcode area LS" in area.text


def test_bad_input_gets_a_clear_page_never_a_500(reporting_driver: ReportingDriver) -> None:
    http = reporting_driver.reporting
    post_sign_in(http, token("NHSE", Role.COMMISSIONER))
    for params, status in (
        ({"end": "2026-13"}, 422),
        ({"end": "nonsense"}, 422),
        ({"end": f"{today().year + 1}-01"}, 422),
        ({"area": "L5"}, 422),
        ({"organisation": "no spaces"}, 422),
    ):
        answer = http.get("/dashboard", params=params)
        assert answer.status_code == status, params
        assert answer.headers["content-type"].startswith("text/html")
    assert http.get("/dashboard/csv/nothing.csv").status_code == 404
    assert http.get("/dashboard/csv/numbers_in_treatment").status_code == 404
    answer = http.post(
        "/dashboard/sign-in",
        content=b"\xff\xfe",
        headers={
            "Origin": "http://testserver",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert answer.status_code == 422
