"""Publications: figures frozen as known when published, read back exactly so beside the
figures as known now and the revisions between them; a commissioner's own only."""

from datetime import timedelta
from typing import Any

from services.common.auth import Role
from tests.builders import client_body, last_month, month_of, referral_body
from tests.journey_driver import H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

COMMISSIONER = auth("NHSE", Role.COMMISSIONER, user="pat")
MONTH = last_month()
PERIOD = month_of(MONTH)


def refer(r: ReportingDriver, n: int, source: str = "gp") -> None:
    for i in range(n):
        body = client_body(date_of_birth=f"1970-02-{i + 1:02d}")
        del body["nhs_number"]
        client = r.journeys.referral.post("/clients", json=body, headers=H).json()
        on = (MONTH + timedelta(days=i)).isoformat()
        body = referral_body(client["id"], source=source, referral_date=on)
        assert r.journeys.referral.post("/referrals", json=body, headers=H).status_code == 201
    r.follow()


def publish(r: ReportingDriver, headers: dict[str, str] = COMMISSIONER, **body: Any) -> Any:
    return r.reporting.post(
        "/publications",
        json={"name": "ORG1 last month", **PERIOD, "organisation": "ORG1", **body},
        headers=headers,
    )


def test_a_publication_reads_back_as_published_beside_its_revisions(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    refer(r, 7)
    made = publish(r)
    assert made.status_code == 201, made.text
    publication = made.json()
    assert made.headers["location"] == f"/publications/{publication['id']}"
    assert publication["published_by"] == "pat" and publication["organisation"] == "NHSE"
    published = publication["published"]
    assert published["referral_sources"]["total"]["count"] == 5  # 7, rounded
    assert publication["revisions"] == []
    # The same figures as GET /kpis gives for that known_at.
    asked = r.kpis(COMMISSIONER, **PERIOD, organisation="ORG1", known_at=publication["known_at"])
    assert asked["figures"] == published

    refer(r, 2, source="self")  # late entries for the month: 9 referrals, shown as 10
    read = r.reporting.get(f"/publications/{publication['id']}", headers=COMMISSIONER)
    assert read.status_code == 200, read.text
    again = read.json()
    assert again["published"] == published
    assert again["current"]["referral_sources"]["total"]["count"] == 10
    revised = {rev["figure"]: (rev["known_at"], rev["current"]) for rev in again["revisions"]}
    assert revised["referral_sources.total.count"] == (5, 10)
    assert revised["referral_sources.by_source.self.count"] == (0, "suppressed")

    listed = r.reporting.get("/publications", headers=COMMISSIONER).json()["publications"]
    assert [p["id"] for p in listed] == [publication["id"]]
    assert "published" not in listed[0]


def test_publications_are_the_commissioners_own(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    refer(r, 1)
    publication = publish(r).json()
    other = auth("ICB2", Role.COMMISSIONER)
    missing = r.reporting.get(f"/publications/{publication['id']}", headers=other)
    nothing = r.reporting.get(f"/publications/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=other)
    assert missing.status_code == nothing.status_code == 404
    assert missing.json()["title"] == nothing.json()["title"]
    assert r.reporting.get("/publications", headers=other).json() == {"publications": []}
    assert publish(r, headers=H).status_code == 403
    assert r.reporting.get("/publications", headers=H).status_code == 403
    assert r.reporting.get(f"/publications/{publication['id']}", headers=H).status_code == 403


def test_bad_publications_are_refused(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    one_day = publish(r, period_end=PERIOD["period_start"])
    assert one_day.status_code == 422 and one_day.json()["rule"] == "commissioner-period"
    assert publish(r, name="").status_code == 422
    assert publish(r, area="ls").status_code == 422
    assert publish(r, known_at="2020-01-01T00:00:00Z").status_code == 422  # known_at is now
    assert r.reporting.get("/publications", headers=COMMISSIONER).json()["publications"] == []


def test_a_retried_publication_is_recorded_once(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    key = {**COMMISSIONER, "Idempotency-Key": "quarterly-1"}
    first = r.reporting.post("/publications", json={"name": "x", **PERIOD}, headers=key)
    second = r.reporting.post("/publications", json={"name": "x", **PERIOD}, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["known_at"] == second.json()["known_at"]
    assert len(r.reporting.get("/publications", headers=COMMISSIONER).json()["publications"]) == 1
