"""The NDTMS return from events recorded over HTTP, through both feeds, to /ndtms: the expected
row written out by hand from services/reporting/ndtms/mapping.py and compared cell by cell;
validation errors one by one; a submitted file unchanged by a later correction.

Dates are "days ago"; the period is the current month, so the window (1 April to its end)
holds every episode here unless today is in the first days of April.

  A  GP referral 40 days ago (injecting flag), accepted 39; profile with consent; triage 38;
     care plan 36; substance profile 35 (heroin, first used at 19, injected; crack);
     hepatitis B/C 34; naloxone 33; specialist prescribing referred 36, first appointment
     offered 33, started 30 in the community; ended 10, completed (exit status A).
  B  self-referral 20 days ago, accepted 19; consent N; triage 18; substance profile 18.
  C  referral 25 days ago, accepted 24; nothing else: no consent, no triage, no substance.
"""

import csv
import io
from calendar import monthrange
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.common.auth import Role
from services.reporting.ndtms.mapping import COLUMNS
from tests.builders import days_ago
from tests.journey_driver import GOALS, SERVICE, H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

TODAY = date.fromisoformat(days_ago(0))
PERIOD_END = TODAY.replace(day=monthrange(TODAY.year, TODAY.month)[1]).isoformat()
SCOPE = {"organisation": "ORG1", "period_end": PERIOD_END}
PROFILE = {
    "ethnicity": "white_british",
    "nationality": "GBR",
    "religion": "none",
    "sexual_orientation": "heterosexual",
    "disability": "no",
    "veteran": "no",
    "gp_practice": "B86012",
    "local_authority": "E08000035",
    "accommodation_need": "no_housing_problem",
    "parental_status": "not_a_parent",
    "children_living_with_client": 0,
    "employment": "unemployed_seeking_work",
    "previously_treated": False,
    "consent_to_national_return": True,
}


def profile(r: ReportingDriver, episode: str, on: int, **items: Any) -> None:
    client_id = r.journeys.episode(episode)["client_id"]
    body = {"on": days_ago(on), **items}
    response = r.journeys.referral.post(f"/clients/{client_id}/profile", json=body, headers=H)
    assert response.status_code == 201, response.text


def record_a(r: ReportingDriver) -> tuple[str, str]:
    d = r.journeys
    a = d.open_episode(referred=40, accepted=39)
    profile(r, a, 39, **PROFILE)
    d.triage(a, on=38)
    d.ok(a, "care-plan", {"on": days_ago(36), "goals": GOALS, "next_review_on": days_ago(6)})
    substances = [
        {"substance": "heroin", "age_first_used": 19, "route": "inject"},
        {"substance": "crack", "age_first_used": 22, "route": "smoke"},
    ]
    d.ok(
        a,
        "substance-profile",
        {
            "on": days_ago(35),
            "substances": substances,
            "injecting_status": "currently",
            "alcohol_days": 4,
            "alcohol_units": 30,
        },
    )
    bbv = {
        "on": days_ago(34),
        "hepatitis_b": "offered_and_accepted",
        "hepatitis_b_vaccination": "one",
        "hepatitis_c": "offered_and_accepted",
        "hepatitis_c_tested_on": days_ago(34),
        "hepatitis_c_result": "negative",
    }
    d.ok(a, "blood-borne-viruses", bbv)
    d.ok(a, "naloxone", {"on": days_ago(33), "kits": 1})
    start = {
        "on": days_ago(30),
        "modality": "specialist_prescribing",
        "referred_on": days_ago(36),
        "first_appointment_offered_on": days_ago(33),
        "setting": "community",
    }
    response = d.post(a, "interventions", start)
    assert response.status_code == 201, response.text
    intervention = response.headers["intervention-id"]
    d.ok(a, "top", {"on": days_ago(30), "stage": "start", "substance_use": {"opiates": 20}})
    review = {
        "on": days_ago(12),
        "stage": "review",
        "substance_use": {"opiates": [1, 0, 0, 0], "crack": "NA"},
        "injecting": {"days": 0},
        "crime": {"assault": "N"},
        "health_and_social": {"quality_of_life": 14, "paid_work": [5, 5, 5, 0]},
    }
    d.ok(a, "top", review)  # the latest TOP is the row's
    d.ok(a, f"interventions/{intervention}/end", {"on": days_ago(10), "reason": "completed"})
    return a, intervention


def expected_a(r: ReportingDriver, a: str, intervention: str) -> dict[str, str]:
    client_id = r.journeys.episode(a)["client_id"]
    return {  # by hand from mapping.py; every other item is NA
        "FINITIAL": "S",
        "SINITIAL": "E",
        "DOB": "1985-04-12",
        "SEX": "F",
        "ETHNIC": "A",
        "NATION": "GBR",
        "CLIENT": client_id,
        "CLIENTID": client_id,
        "CONSENT": "Y",
        "LA": "E08000035",
        "GPPTCE": "B86012",
        "SEXUAL": "H",
        "EMPSTAT": "12",
        "RELIGION": "1",
        "DISABLE": "N",
        "PRNTSTAT": "14",
        "CHILDWTH": "0",
        "ACCMNEED": "3",
        "VETERAN": "N",
        "AGNCY": "ORG1",
        "EPISODID": a,
        "REFLD": days_ago(40),
        "PREVTR": "N",
        "RFLS": "3",
        "TRIAGED": days_ago(38),
        "CPLANDT": days_ago(36),
        "DRUG1": "1011",
        "DRUG2": "3201",
        "DRUG1AGE": "19",
        "ROUTE": "1",
        "INJSTAT": "C",
        "ALCDDAYS": "4",
        "ALCUNITS": "30",
        "HEPCTSTD": days_ago(34),
        "HEPCSTAT": "A",
        "HEPCTD": "Y",
        "HEPBVAC": "1",
        "HEPBSTAT": "A",
        "HEPCPOS": "N",
        "NALOXISS": "Y",
        "MODID": intervention,
        "MODAL": "2",
        "REFMODDT": days_ago(36),
        "FAOMODDT": days_ago(33),
        "MODSET": "6",
        "MODST": days_ago(30),
        "MODEND": days_ago(10),
        "MODEXIT": "A",
        "TOPID": f"{a}/{r.journeys.episode(a)['version'] - 1}",
        "TOPDATE": days_ago(12),
        "TRSTAGE": "R",
        "OPIUSE": "1",
        "CRAUSE": "NA",
        "IVDRGUSE": "0",
        "SHARING": "N",  # did not inject: has not shared
        "ASSAULT": "N",
        "QUALLIFE": "14",
        "PWORK": "15",
    }


def record_b(r: ReportingDriver) -> str:
    d = r.journeys
    b = d.open_episode(referred=20, accepted=19, source="self")
    profile(r, b, 19, consent_to_national_return=False)
    d.triage(b, on=18)
    d.ok(b, "substance-profile", {"on": days_ago(18), "substances": [{"substance": "alcohol"}]})
    return b


def extract(r: ReportingDriver, **params: Any) -> tuple[list[list[str]], str]:
    response = r.reporting.get("/ndtms/extract", params={**SCOPE, **params}, headers=H)
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text))), response.text


def test_the_extract_cell_by_cell(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    a, intervention = record_a(r)
    b = record_b(r)
    r.follow()
    rows, text = extract(r)
    assert rows[0] == list(COLUMNS)
    assert text.splitlines()[0].startswith('"FINITIAL","SINITIAL","DOB","SEX",')
    assert "\r" not in text
    by_episode = {row[COLUMNS.index("EPISODID")]: row for row in rows[1:]}
    want = expected_a(r, a, intervention)
    for item, cell in zip(COLUMNS, by_episode[a], strict=True):
        assert cell == want.get(item, "NA"), item
    # B has no consent: only the identifying keys, the rest empty.
    [reduced] = [row for row in rows[1:] if row[COLUMNS.index("CONSENT")] == "N"]
    b_client = r.journeys.episode(b)["client_id"]
    kept = {"AGNCY": "ORG1", "CLIENTID": b_client, "CONSENT": "N"}
    for item, cell in zip(COLUMNS, reduced, strict=True):
        assert cell == kept.get(item, ""), item
    assert len(rows) == 3


def coordinate(r: ReportingDriver, episode: str, path: str, on: int) -> None:
    """Name (path "") or end (path "/end") ORG1 as the client's TOP care coordinator."""
    client_id = r.journeys.episode(episode)["client_id"]
    url = f"/clients/{client_id}/top-care-coordinator{path}"
    response = r.journeys.journey.post(url, json={"on": days_ago(on)}, headers=H)
    assert response.status_code == 201, response.text


def test_the_top_care_coordinator_cell(reporting_driver: ReportingDriver) -> None:
    """TOPCC: Y when ORG1 was the client's TOP care coordinator on the row's last day in the
    window (the period end, or the discharge before it), N when it was not, NA when nobody was
    ever named; as known at `known_at`.

      A  (above) ORG1 named 30 days ago, still coordinating: Y.
      E  referred 25, consent; ORG1 named 20 days ago, ended 5 days ago: N at the period end.
      F  referred 25, consent, discharged 15 days ago; ORG1 named 20, ended 3 days ago, after
         the discharge: Y (it coordinated on the discharge day).
      C  referred 25, consent, never named: NA.
    Known at a time after E's and F's namings and before their endings and A's naming: A NA,
    E Y (not yet ended), F Y.
    """
    r = reporting_driver
    a, _ = record_a(r)
    rows = {}
    for name in ("E", "F", "C"):
        rows[name] = r.journeys.open_episode(referred=25, accepted=24)
        profile(r, rows[name], 24, consent_to_national_return=True)
    e, f = rows["E"], rows["F"]
    r.journeys.discharge(f, on=15, reason="treatment_completed_drug_free")
    coordinate(r, e, "", on=20)
    coordinate(r, f, "", on=20)
    r.follow()
    known_then = datetime.now(UTC).isoformat()
    coordinate(r, e, "/end", on=5)
    coordinate(r, f, "/end", on=3)
    coordinate(r, a, "", on=30)
    r.follow()

    def topcc(**params: Any) -> dict[str, str]:
        found, _ = extract(r, **params)
        column = COLUMNS.index("TOPCC")
        episodes = {row[COLUMNS.index("EPISODID")]: row[column] for row in found[1:]}
        return {name: episodes[episode] for name, episode in (("A", a), *rows.items())}

    assert topcc() == {"A": "Y", "E": "N", "F": "Y", "C": "NA"}
    assert topcc(known_at=known_then) == {"A": "NA", "E": "Y", "F": "Y", "C": "NA"}
    # The journey feed publishes the namings and endings (not the record's creation).
    feed = r.journeys.journey.get("/feed", params={"limit": 1000}, headers=SERVICE).json()
    kinds = [i["type"] for i in feed["items"] if i["aggregate_type"] == "TopCareCoordination"]
    assert kinds == ["CoordinatorNamed"] * 2 + ["CoordinatorEnded"] * 2 + ["CoordinatorNamed"]
    named = next(i for i in feed["items"] if i["type"] == "CoordinatorNamed")
    assert named["data"] == {
        "client_id": r.journeys.episode(e)["client_id"],
        "organisation": "ORG1",
    }
    assert named["business_date"] == days_ago(20)


def test_validation_errors_one_by_one(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    a, _ = record_a(r)
    c = r.journeys.open_episode(referred=25, accepted=24)
    r.follow()
    response = r.reporting.get("/ndtms/validation", params=SCOPE, headers=H)
    assert response.status_code == 200, response.text
    report = {e["episode_id"]: e for e in response.json()["episodes"]}
    assert a not in report  # no error, no warning
    errors = [(e["item"], e["rule"]) for e in report[c]["errors"]]
    assert errors == [
        ("CONSENT", "consent-recorded"),
        ("TRIAGED", "triage-present"),
        ("DRUG1", "problem-substance-1"),
    ]
    assert report[c]["link"] == f"/episodes/{c}"
    assert ("MODAL", "intervention-recorded") in [
        (w["item"], w["rule"]) for w in report[c]["warnings"]
    ]
    blocked = r.reporting.post("/ndtms/submissions", json=SCOPE, headers=H)
    assert blocked.status_code == 409
    assert blocked.headers["content-type"] == "application/problem+json"


def test_a_submission_is_reproduced_after_a_correction(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    a, _ = record_a(r)
    record_b(r)
    r.follow()
    submitted = r.reporting.post("/ndtms/submissions", json=SCOPE, headers=H)
    assert submitted.status_code == 201, submitted.text
    s = submitted.json()
    _, text = extract(r)
    import hashlib

    assert s["sha256"] == hashlib.sha256(text.encode()).hexdigest() and s["rows"] == 2
    # Triage (version 3: opened 1, ... ) corrected from 38 to 37 days ago.
    events = r.journeys.journey.get(f"/episodes/{a}/events", headers=H)
    triage = next(e for e in events.json() if e["type"] == "TriageCompleted")
    body = {
        "reason": "wrong date",
        "replacement": {
            "on": days_ago(37),
            "urgency": "routine",
            "tier_indicated": 3,
            "outcome": "structured_treatment_needed",
            "risks": triage["data"]["risks"],
        },
    }
    r.journeys.ok(a, f"events/{triage['version']}/correction", body)
    r.follow()
    again = r.reporting.get(f"/ndtms/submissions/{s['id']}/file", headers=H)
    assert again.status_code == 200
    assert again.text == text
    assert hashlib.sha256(again.content).hexdigest() == s["sha256"]
    changes = r.reporting.get(f"/ndtms/submissions/{s['id']}/changes", headers=H).json()
    assert changes["changes"] == [{"episode_id": a, "change": "changed", "items": ["TRIAGED"]}]


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        (auth("ORG1", Role.COMMISSIONER), SCOPE, 403),
        (auth("CJIT1", Role.CJIT), {**SCOPE, "organisation": "CJIT1"}, 403),
        (auth("ORG2", Role.PROVIDER), SCOPE, 403),
        (H, {**SCOPE, "period_end": days_ago(0)[:8] + "01"}, 422),
        (H, {"organisation": "ORG1"}, 422),
    ],
)
def test_who_may_ask_and_bad_input(
    reporting_driver: ReportingDriver, headers: dict[str, str], params: Any, status: int
) -> None:
    response = reporting_driver.reporting.get("/ndtms/extract", params=params, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
