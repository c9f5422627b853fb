"""The dashboard in a real Chromium against the real services: the figures on the page and in
its CSV files are GET /kpis's, it works with the keyboard alone, axe-core finds no WCAG 2.2
A/AA violation, and its access rules hold when a browser tries to break them."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from services.common.auth import Role
from services.common.clock import today
from tests.browser.conftest import SCREENSHOTS
from tests.dashboard_support import api_rows, csv_rows, flatten
from tests.support import ServiceProcess, auth, token

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
THIS_MONTH = today().replace(day=1)
# ORG1's two discharged ten days ago were in treatment this month unless this month began since.
IN_TREATMENT_THIS_MONTH = 4 if today() - timedelta(days=10) >= THIS_MONTH else 2
PROVIDER = ("ORG1", Role.PROVIDER, "alice")
COMMISSIONER = ("NHSE", Role.COMMISSIONER, "cara")
FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return {tag: e.tagName, id: e.id, href: e.getAttribute('href') || '',
          text: e.textContent.trim().slice(0, 60), outline: s.outlineStyle,
          width: parseFloat(s.outlineWidth)};
}"""
ROWS = """rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))"""


@pytest.fixture(scope="module")
def base(system: dict[str, ServiceProcess]) -> str:
    return system["reporting"].url


@pytest.fixture(scope="module")
def api(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client


def signed_in(browser: Any, base: str, who: tuple[str, Role, str], **options: Any) -> Any:
    """A page signed in through the sign-in form."""
    context = browser.new_context(accept_downloads=True, **options)
    page = context.new_page()
    page.goto(f"{base}/dashboard")
    assert page.url == f"{base}/dashboard/sign-in"
    page.fill("#token", token(*who))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    return page


def shown(value: Any, path: str) -> str:
    """A /kpis figure as the page must show it."""
    if value == "suppressed":
        return "suppressed (1\N{EN DASH}5)"
    if value is None:
        return "none"
    if path.endswith(".ratio"):
        return f"{value * 100:.1f}%"
    if path.endswith(".percent"):
        return f"{value}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def monthly_answers(api: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    answers = []
    for start, end in months_of_page():
        params = {"period_start": start, "period_end": end}
        answer = api.get("/kpis", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json()["figures"])
    return answers


def months_of_page() -> list[tuple[str, str]]:
    from tests.dashboard_support import months

    return [(s.isoformat(), e.isoformat()) for s, e in months(THIS_MONTH)]


def assert_tables_equal_the_api(page: Any, answers: list[dict[str, Any]]) -> None:
    """Every KPI table on the page, cell by cell, equals the /kpis answers month by month."""
    for key in answers[-1]:
        rows = page.eval_on_selector_all(f"#{key}-table tbody tr", ROWS)
        assert len(rows) == 24, key
        for row, figures in zip(rows, answers, strict=True):
            expected = [shown(v, p) for p, v in flatten(figures[key], key)]
            assert row[1:] == expected, (key, row[0])


def download(page: Any, table: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(f"a[href^='/dashboard/csv/{table}.csv']")
    return csv_rows(Path(info.value.path()).read_text())


def test_without_a_session_the_browser_is_sent_to_sign_in_and_sees_no_figures(
    browser: Any, base: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    for path in ("/dashboard", "/dashboard/csv/numbers_in_treatment.csv"):
        page.goto(f"{base}{path}")
        assert page.url == f"{base}/dashboard/sign-in"
        assert page.locator("table").count() == 0
        assert "Numbers in treatment" not in page.content()
    page.screenshot(path=SCREENSHOTS / "sign-in.png", full_page=True)
    context.close()


def test_a_provider_sees_its_own_figures_exactly_as_the_api_gives_them(
    browser: Any, base: str, api: httpx.Client
) -> None:
    page = signed_in(browser, base, PROVIDER)
    headers = auth(*PROVIDER[:2])
    answers = monthly_answers(api, headers)
    assert_tables_equal_the_api(page, answers)
    assert answers[-1]["numbers_in_treatment"]["count"] == IN_TREATMENT_THIS_MONTH  # exact
    assert page.locator("#exact").is_visible()
    assert page.locator("#disclosure").count() == 0
    phases = page.eval_on_selector_all("#caseload_by_phase-table tbody tr", ROWS)
    assert dict(phases) == {"waiting": "0", "engagement": "3", "delivery": "2", "completion": "0"}
    for key in ("numbers_in_treatment", "planned_exits"):
        assert download(page, key) == api_rows(api, headers, key, THIS_MONTH)
    assert page.locator("svg.chart").count() == len(answers[-1]) + 2
    page.screenshot(path=SCREENSHOTS / "provider-dashboard.png", full_page=True)
    page.context.close()


def test_a_commissioner_sees_only_suppressed_and_rounded_figures(
    browser: Any, base: str, api: httpx.Client
) -> None:
    page = signed_in(browser, base, COMMISSIONER)
    headers = auth(*COMMISSIONER[:2], user=COMMISSIONER[2])
    answers = monthly_answers(api, headers)
    assert_tables_equal_the_api(page, answers)
    assert page.locator("#disclosure").is_visible()
    assert "rounded to the nearest 5" in page.inner_text("#disclosure")
    # England: 7 in treatment this month (4 at ORG1, 3 at ORG2), shown rounded to 5; in a
    # month's first ten days 5 (2 at ORG1), suppressed
    in_treatment = page.eval_on_selector_all("#numbers_in_treatment-table tbody tr", ROWS)
    england = IN_TREATMENT_THIS_MONTH + 3
    assert in_treatment[-1][1] == ("5" if england == 7 else "suppressed (1\N{EN DASH}5)")
    # No month's referral sources has exactly one suppressed source beside a shown total.
    headings = page.eval_on_selector_all(
        "#referral_sources-table thead th", "hs => hs.map(h => h.textContent.trim())"
    )
    sources = [i for i, h in enumerate(headings) if h.startswith("by source")]
    for row in page.eval_on_selector_all("#referral_sources-table tbody tr", ROWS):
        suppressed = [row[i] for i in sources].count("suppressed (1\N{EN DASH}5)")
        assert suppressed != 1 or row[headings.index("total")] == "suppressed (1\N{EN DASH}5)"
    for key in ("numbers_in_treatment", "referral_sources"):
        assert download(page, key) == api_rows(api, headers, key, THIS_MONTH)
    phases = dict(page.eval_on_selector_all("#caseload_by_phase-table tbody tr", ROWS))
    assert set(phases.values()) <= {"0", "suppressed (1\N{EN DASH}5)", "5", "10"}
    page.screenshot(path=SCREENSHOTS / "commissioner-dashboard.png", full_page=True)
    page.context.close()


def test_the_page_is_usable_with_the_keyboard_alone(browser: Any, base: str) -> None:
    page = signed_in(browser, base, PROVIDER)
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        seen.append(focused)
        assert focused["outline"] != "none" and focused["width"] >= 2, focused  # focus visible
        if "/dashboard/csv/" in focused["href"]:
            break
    assert seen[0]["text"] == "Skip to main content"
    ids = [f["id"] for f in seen]
    assert "end" in ids, seen
    assert "/dashboard/csv/" in seen[-1]["href"], seen
    with page.expect_download() as info:
        page.keyboard.press("Enter")  # on the CSV link
    assert csv_rows(Path(info.value.path()).read_text())
    # Choose the month before with the arrow key, then Show with Enter.
    page.focus("#end")
    page.keyboard.press("ArrowDown")
    chosen = page.eval_on_selector("#end", "e => e.value")
    assert chosen < THIS_MONTH.strftime("%Y-%m")
    while page.evaluate(FOCUSED)["text"] != "Show":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/dashboard?end={chosen}")
    last_month = page.eval_on_selector_all("#numbers_in_treatment-table tbody tr", ROWS)[-1][0]
    year, month = map(int, chosen.split("-"))
    assert last_month == today().replace(year=year, month=month, day=1).strftime("%b %Y")
    page.screenshot(path=SCREENSHOTS / "keyboard-previous-month.png", full_page=True)
    page.context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run({runOnly: {type: 'tag', values: tags}})", WCAG)
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def test_axe_core_finds_no_wcag_2_2_a_or_aa_violation(browser: Any, base: str) -> None:
    # Only axe's own script needs the policy bypassed; the pages themselves have none.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base}/dashboard/sign-in")
    assert axe_violations(page) == []
    page.fill("#token", "not a token")
    page.click("button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    assert axe_violations(page) == []
    context.close()
    for who in (PROVIDER, COMMISSIONER):
        page = signed_in(browser, base, who, bypass_csp=True)
        assert axe_violations(page) == [], who
        page.context.close()


def test_the_session_cookie_is_http_only_strict_and_ends_with_the_token(
    browser: Any, base: str
) -> None:
    page = signed_in(browser, base, PROVIDER)
    [session] = [c for c in page.context.cookies() if c["name"] == "tj_dashboard_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert session["path"] == "/dashboard"
    expiry = jwt.decode(session["value"], options={"verify_signature": False})["exp"]
    assert 0 < session["expires"] <= expiry
    assert page.evaluate("() => document.cookie") == ""  # no script can read it
    # The Content-Security-Policy is enforced: an injected inline script does not run.
    try:
        page.add_script_tag(content="document.body.dataset.injected = 'yes'")
    except Exception:
        pass
    assert page.evaluate("() => document.body.dataset.injected") is None
    page.click("text=Sign out")
    page.wait_for_url(f"{base}/dashboard/sign-in")
    assert not [c for c in page.context.cookies() if c["name"] == "tj_dashboard_session"]
    page.context.close()


def test_a_form_posted_from_another_site_does_not_sign_anyone_in(browser: Any, base: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/dashboard/sign-in")  # the victim has this site's CSRF cookie
    forged = (
        f'<html lang="en"><title>x</title><form method="post" action="{base}/dashboard/sign-in">'
        f'<input name="token" value="{token("ORG1")}"><input name="csrf" value="guess">'
        '<button type="submit">Win a prize</button></form></html>'
    )
    page.route(
        "http://elsewhere.test/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=forged),
    )
    page.goto("http://elsewhere.test/")
    page.click("button")
    page.wait_for_url(f"{base}/dashboard/sign-in")
    assert "may be sent only from this site" in page.content()
    assert not [c for c in context.cookies() if c["name"] == "tj_dashboard_session"]
    context.close()


def test_a_provider_cannot_open_another_organisations_dashboard(browser: Any, base: str) -> None:
    page = signed_in(browser, base, PROVIDER)
    for query in ("organisation=ORG2", "area=LS"):
        response = page.goto(f"{base}/dashboard?{query}")
        assert response.status == 403
        assert page.locator("table").count() == 0
        assert "own organisation" in page.inner_text("main")
    response = page.goto(f"{base}/dashboard/csv/numbers_in_treatment.csv?organisation=ORG2")
    assert response.status == 403
    page.screenshot(path=SCREENSHOTS / "refused.png", full_page=True)
    page.context.close()
