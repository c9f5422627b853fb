"""The differencing attacks an outside tester made as a commissioner, replayed: each now
reveals nothing (DESIGN.md, "Disclosure control for commissioners").

Last month, ORG1 received 7 referrals: 6 from GPs for clients in LS and 1 self-referral
for a client in M (Manchester).
"""

from datetime import timedelta
from typing import Any

from services.common.auth import Role
from tests.builders import client_body, last_month, month_of, referral_body
from tests.journey_driver import H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

COMMISSIONER = auth("NHSE", Role.COMMISSIONER)
MONTH = last_month()
PERIOD = month_of(MONTH)


def refer(r: ReportingDriver, day: int, source: str, district: str) -> None:
    referral = r.journeys.referral
    body = client_body(postcode_district=district, date_of_birth=f"1980-01-{day + 1:02d}")
    del body["nhs_number"]
    client = referral.post("/clients", json=body, headers=H)
    assert client.status_code == 201, client.text
    on = (MONTH + timedelta(days=day)).isoformat()
    made = referral.post(
        "/referrals",
        json=referral_body(client.json()["id"], source=source, referral_date=on),
        headers=H,
    )
    assert made.status_code == 201, made.text


def seven_referrals(r: ReportingDriver) -> None:
    for day in range(6):
        refer(r, day, "gp", "LS6")
    refer(r, 6, "self", "M1")
    r.follow()


def sources(r: ReportingDriver, **params: Any) -> dict[str, Any]:
    figures = r.kpis(COMMISSIONER, **PERIOD, **params)["figures"]
    found = figures["referral_sources"]
    return {"total": found["total"]["count"]} | {
        source: cell["count"] for source, cell in found["by_source"].items() if cell["count"] != 0
    }


def test_one_answer_a_total_beside_its_breakdown(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    seven_referrals(r)
    assert r.kpis(H, **PERIOD)["figures"]["referral_sources"]["total"]["count"] == 7  # exact
    # Was: total 7, gp 6, so self = 1. Now the total is rounded and, with self suppressed,
    # gp is suppressed too.
    assert sources(r, organisation="ORG1") == {
        "total": 5,
        "gp": "suppressed",
        "self": "suppressed",
    }
    answer = r.kpis(COMMISSIONER, **PERIOD, organisation="ORG1")
    assert answer["disclosure_control"]["rounded_to_nearest"] == 5


def test_two_scopes_an_organisation_against_its_area(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    seven_referrals(r)
    # Was: ORG1 7, area LS 6, so one ORG1 referral came from outside LS. Now both read 5.
    assert sources(r, organisation="ORG1")["total"] == 5
    assert sources(r, area="LS")["total"] == 5
    assert sources(r, area="M")["total"] == "suppressed"


def test_two_periods_a_day_apart_are_not_answered(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    seven_referrals(r)
    # Was: 6 referrals in [1st, 6th], 7 in [1st, 7th], so one started on the 7th.
    for days in (5, 6):
        end = (MONTH + timedelta(days=days)).isoformat()
        answer = r.reporting.get(
            "/kpis",
            params={"period_start": MONTH.isoformat(), "period_end": end},
            headers=COMMISSIONER,
        )
        assert answer.status_code == 422
        assert answer.json()["rule"] == "commissioner-period"
    # Nor as at two days a day apart within a quarter.
    quarter_start = MONTH.replace(month=(MONTH.month - 1) // 3 * 3 + 1)
    quarter = {
        "period_start": quarter_start.isoformat(),
        "period_end": month_of(quarter_start.replace(month=quarter_start.month + 2))["period_end"],
    }
    as_at = (MONTH + timedelta(days=6)).isoformat()
    answer = r.reporting.get("/kpis", params={**quarter, "as_at": as_at}, headers=COMMISSIONER)
    assert answer.status_code == 422
    # Whole months are answered, rounded.
    assert sources(r)["total"] == 5


def test_a_percentile_over_a_period_one_day_longer(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    seven_referrals(r)
    # Was: the 90th percentile wait over a period, then over the period and one more day,
    # which moved by that day's one client. A period a day longer is not answered, and over
    # fewer than 10 waits no percentile is shown at all.
    longer = {**PERIOD, "period_end": month_of(MONTH + timedelta(days=31))["period_start"]}
    answer = r.reporting.get("/kpis", params=longer, headers=COMMISSIONER)
    assert answer.status_code == 422
    waits = r.kpis(COMMISSIONER, **PERIOD)["figures"]["waiting_times"]
    assert waits["p90_days"]["value"] is None  # no waits ended in the month
    assert waits["started"]["count"] == 0


def test_providers_still_see_their_own_figures_exactly(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    seven_referrals(r)
    own = r.kpis(H, period_start=MONTH.isoformat(), period_end=MONTH.isoformat())
    assert own["disclosure_control"] is None
    assert own["figures"]["referral_sources"]["by_source"]["gp"]["count"] == 1
    exact = r.kpis(H, **PERIOD)["figures"]["referral_sources"]["by_source"]
    assert {source: cell["count"] for source, cell in exact.items() if cell["count"]} == {
        "gp": 6,
        "self": 1,
    }
