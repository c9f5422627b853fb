"""The extract: one row per episode of the organisation open on any day of the reporting
window (1 April of the financial year to the month end), as known at `known_at`, in the layout
of mapping.py. Built from the read models only, so the same question always gets the same
bytes back (nothing here depends on today)."""

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from services.common.codes import STRUCTURED_TIERS, Tier
from services.reporting.models import FactRow
from services.reporting.ndtms import mapping as m
from services.reporting.ndtms.coordinators import coordinators, is_coordinator
from services.reporting.ndtms.models import ClientProfileRow, NdtmsClient


@dataclass(frozen=True)
class Scope:
    organisation: str
    period_end: date
    known_at: datetime

    @property
    def window_start(self) -> date:
        """1 April of the financial year the period ends in."""
        year = self.period_end.year if self.period_end.month >= 4 else self.period_end.year - 1
        return date(year, 4, 1)

    @property
    def file_name(self) -> str:
        start, end = self.window_start.strftime("%Y%m%d"), self.period_end.strftime("%Y%m%d")
        return f"{self.organisation}-{start}-{end}-TREAT-IN-{m.DATA_SET}.csv"


@dataclass(frozen=True)
class Attributors:
    initials: str
    date_of_birth: date
    sex: str


@dataclass
class EpisodeRecord:
    """What the return needs of one episode, folded from its facts."""

    episode_id: str
    client_id: str = ""
    referral_date: date | None = None
    source: str | None = None
    priority_flags: list[str] = field(default_factory=list)
    triaged_on: date | None = None
    care_plan_on: date | None = None
    substances: dict[str, Any] | None = None
    bbv: dict[str, Any] = field(default_factory=dict)
    naloxone: bool = False
    interventions: dict[str, dict[str, Any]] = field(default_factory=dict)
    discharged_on: date | None = None
    exit_reason: str | None = None
    client: "Attributors | None" = None
    profile: dict[str, Any] = field(default_factory=dict)
    top: dict[str, Any] = field(default_factory=dict)  # the latest TOP
    # This organisation the client's TOP care coordinator on the row's last day in the window
    # (the period end, or the discharge before it); None when none was ever named.
    top_care_coordinator: bool | None = None

    @property
    def intervention(self) -> dict[str, Any] | None:
        """The row's one modality: the first structured intervention, else the first."""
        started = sorted(self.interventions.values(), key=lambda i: (i["started_on"], i["id"]))
        structured = [i for i in started if Tier(i["tier"]) in STRUCTURED_TIERS]
        chosen = structured or started
        return chosen[0] if chosen else None

    def evolve(self, kind: str, on: date, data: dict[str, Any], version: int = 0) -> None:
        match kind:
            case "EpisodeOpened":
                self.client_id = data["client_id"]
                self.referral_date = date.fromisoformat(data["referral_date"])
                self.source = data.get("source")
                self.priority_flags = data.get("priority_flags") or []
            case "TriageCompleted":
                self.triaged_on = on
            case "InitialCarePlanAgreed" | "CarePlanAgreed":
                self.care_plan_on = min(self.care_plan_on or on, on)
            case "SubstanceProfileRecorded":
                self.substances = data  # facts come in business-date order: the latest wins
            case "BloodBorneVirusesRecorded":
                self.bbv.update({k: v for k, v in data.items() if v is not None})
            case "NaloxoneIssued":
                self.naloxone = True
            case "InterventionStarted":
                self.interventions[data["intervention_id"]] = {
                    **data,
                    "id": data["intervention_id"],
                    "started_on": on,
                }
            case "InterventionEnded":
                started = self.interventions.get(data["intervention_id"])
                if started is not None:
                    started.update(ended_on=on, exit_status=data.get("exit_status"))
            case "Discharged":
                self.discharged_on, self.exit_reason = on, data["exit_reason"]
            case "TopRecorded":  # facts come in business-date order: the latest wins
                self.top = {**data, "on": on, "id": f"{self.episode_id}/{version}"}


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def episodes(connection: Connection, scope: Scope) -> list[EpisodeRecord]:
    """The episodes in scope, with their clients' attributors and profiles as known then."""
    known_at = utc(scope.known_at)
    facts = connection.execute(
        select(
            FactRow.episode_id, FactRow.type, FactRow.business_date, FactRow.data, FactRow.version
        )
        .where(
            FactRow.organisation == scope.organisation,
            FactRow.business_date <= scope.period_end,
            FactRow.recorded_from <= known_at,
            or_(FactRow.recorded_to.is_(None), FactRow.recorded_to > known_at),
        )
        .order_by(FactRow.episode_id, FactRow.business_date, FactRow.version)
    )
    records: dict[str, EpisodeRecord] = {}
    for episode_id, kind, on, data, version in facts:
        record = records.get(episode_id)
        if record is None:
            record = records[episode_id] = EpisodeRecord(episode_id)
        record.evolve(kind, on, json.loads(data), version)
    in_window = [
        r
        for r in records.values()
        if r.client_id  # its opening is known (and on or before the period end)
        and (r.discharged_on is None or r.discharged_on >= scope.window_start)
    ]
    attach_clients(connection, scope, known_at, in_window)
    in_window.sort(key=lambda r: (r.client_id, r.referral_date or date.min, r.episode_id))
    return in_window


def attach_clients(
    connection: Connection, scope: Scope, known_at: datetime, records: list[EpisodeRecord]
) -> None:
    ids = sorted({r.client_id for r in records})
    clients: dict[str, Attributors] = {}
    profiles: dict[str, dict[str, Any]] = defaultdict(dict)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for client in connection.execute(
            select(
                NdtmsClient.client_id,
                NdtmsClient.initials,
                NdtmsClient.date_of_birth,
                NdtmsClient.sex,
            ).where(NdtmsClient.client_id.in_(chunk), NdtmsClient.recorded_at <= known_at)
        ):
            clients[client.client_id] = Attributors(*client[1:])
        # The organisation's own profile and reviews: each review's items replace earlier ones.
        for client_id, data in connection.execute(
            select(ClientProfileRow.client_id, ClientProfileRow.data)
            .where(
                ClientProfileRow.client_id.in_(chunk),
                ClientProfileRow.organisation == scope.organisation,
                ClientProfileRow.business_date <= scope.period_end,
                ClientProfileRow.recorded_at <= known_at,
            )
            .order_by(ClientProfileRow.business_date, ClientProfileRow.recorded_at)
        ):
            profiles[client_id].update(json.loads(data))
    named = {
        client_id: found
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500))
        for client_id, found in coordinators(connection, chunk, known_at).items()
    }
    for record in records:
        record.client = clients.get(record.client_id)
        record.profile = profiles.get(record.client_id, {})
        last_day = min(record.discharged_on or scope.period_end, scope.period_end)
        record.top_care_coordinator = is_coordinator(
            named.get(record.client_id, []), scope.organisation, last_day
        )


@dataclass
class Row:
    record: EpisodeRecord
    values: dict[str, str | None]  # None: not held (NA)
    unmapped: list[m.Unmapped]

    @property
    def consented(self) -> bool:
        return self.values["CONSENT"] == "Y"

    def cells(self) -> list[str]:
        """As written: NA where not held; without consent, only the identifying keys."""
        if not self.consented:
            return [
                (self.values[c] or m.NOT_HELD) if c in m.CONSENT_N_ITEMS else "" for c in m.COLUMNS
            ]
        return [self.values[c] or m.NOT_HELD for c in m.COLUMNS]


def iso(value: date | str | None) -> str | None:
    if value is None:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return day.strftime(m.DATE_FORMAT)


def yes_no(value: bool | None) -> str | None:
    return None if value is None else m.YES_NO[value]


def number(value: int | None) -> str | None:
    return None if value is None else str(value)


def row(record: EpisodeRecord, organisation: str) -> Row:
    unmapped: list[m.Unmapped] = []

    def code(item: str, value: str | None) -> str | None:
        try:
            return m.national(item, value)
        except m.Unmapped as error:
            unmapped.append(error)
            return None

    client, profile = record.client, record.profile
    substances = (record.substances or {}).get("substances") or []
    drug = [s["substance"] for s in substances] + [None, None, None]
    first = substances[0] if substances else {}
    bbv = record.bbv
    tested = bbv.get("hepatitis_c_tested_on")
    result = bbv.get("hepatitis_c_result")
    i = record.intervention or {}
    values: dict[str, str | None] = {
        "FINITIAL": client.initials[:1] if client else None,
        "SINITIAL": client.initials[1:2] if client else None,
        "DOB": iso(client.date_of_birth) if client else None,
        "SEX": code("SEX", client.sex) if client else None,
        "ETHNIC": code("ETHNIC", profile.get("ethnicity")),
        "NATION": profile.get("nationality"),
        "CLIENT": record.client_id,
        "CLIENTID": record.client_id,
        "CONSENT": yes_no(profile.get("consent_to_national_return")),
        "PC": None,
        "DAT": None,
        "PCT": None,
        "LA": profile.get("local_authority"),
        "UTLA": None,
        "GPPTCE": profile.get("gp_practice"),
        "SEXUAL": code("SEXUAL", profile.get("sexual_orientation")),
        "EMPSTAT": code("EMPSTAT", profile.get("employment")),
        "RELIGION": code("RELIGION", profile.get("religion")),
        "DISABLE": code("DISABLE", profile.get("disability")),
        "PRNTSTAT": code("PRNTSTAT", profile.get("parental_status")),
        "CHILDWTH": number(profile.get("children_living_with_client")),
        "PREGNANT": "Y" if "pregnant" in record.priority_flags else None,
        "ACCMNEED": code("ACCMNEED", profile.get("accommodation_need")),
        "VETERAN": code("VETERAN", profile.get("veteran")),
        "AGNCY": organisation,
        "EPISODID": record.episode_id,
        "REFLD": iso(record.referral_date),
        "PREVTR": yes_no(profile.get("previously_treated")),
        "RFLS": code("RFLS", record.source),
        "TRIAGED": iso(record.triaged_on),
        "CPLANDT": iso(record.care_plan_on),
        "DRUG1": code("DRUG", drug[0]),
        "DRUG2": code("DRUG", drug[1]),
        "DRUG3": code("DRUG", drug[2]),
        "DRUG1AGE": number(first.get("age_first_used")),
        "ROUTE": code("ROUTE", first.get("route")),
        "INJSTAT": code("INJSTAT", (record.substances or {}).get("injecting_status")),
        "ALCDDAYS": number((record.substances or {}).get("alcohol_days")),
        "ALCUNITS": number((record.substances or {}).get("alcohol_units")),
        "DUALDIAG": None,
        "HEPCTSTD": iso(tested),
        "HEPCSTAT": code("HEPCSTAT", bbv.get("hepatitis_c")),
        "HEPCTD": ("Y" if tested else "N") if "hepatitis_c" in bbv else None,
        "HEPBVAC": code("HEPBVAC", bbv.get("hepatitis_b_vaccination")),
        "HEPBSTAT": code("HEPBSTAT", bbv.get("hepatitis_b")),
        "INJECT": None,
        "SHARE": None,
        "PREVHEPB": None,
        "HEPCPOS": {"positive": "Y", "negative": "N"}.get(result or ""),
        "REFHEPGY": None,
        "HLCASSDT": None,
        "NALOXISS": "Y" if record.naloxone else None,
        "TOPCC": yes_no(record.top_care_coordinator),
        "DISD": iso(record.discharged_on),
        "DISRSN": code("DISRSN", record.exit_reason),
        "MODID": i.get("id"),
        "MODAL": code("MODAL", i.get("modality")),
        "REFMODDT": iso(i.get("referred_on")),
        "FAOMODDT": iso(i.get("first_appointment_offered_on")),
        "MODSET": code("MODSET", i.get("setting")),
        "MODST": iso(i.get("started_on")),
        "MODEND": iso(i.get("ended_on")),
        "MODEXIT": code("MODEXIT", i.get("exit_status")),
        **top_values(record.top, code),
    }
    return Row(record, values, unmapped)


def top_values(top: dict[str, Any], code: Any) -> dict[str, str | None]:
    """The latest TOP's columns: 28-day totals, ratings and Y/N as recorded (NA included)."""
    use, inj = top.get("substance_use") or {}, top.get("injecting") or {}
    crime, health = top.get("crime") or {}, top.get("health_and_social") or {}

    def days(value: Any) -> str | None:
        if isinstance(value, list):
            return str(sum(value))
        return None if value is None else str(value)

    return {
        "TOPID": top.get("id"),
        "TOPDATE": iso(top.get("on")),
        "TRSTAGE": code("TRSTAGE", top.get("stage")),
        "ALCUSE": days(use.get("alcohol")),
        "OPIUSE": days(use.get("opiates")),
        "CRAUSE": days(use.get("crack")),
        "COCAUSE": days(use.get("cocaine")),
        "AMPHUSE": days(use.get("amphetamines")),
        "CANNUSE": days(use.get("cannabis")),
        "OTDRGUSE": days(use.get("other")),
        "IVDRGUSE": days(inj.get("days")),
        "SHARING": inj.get("sharing"),
        "SHOTHEFT": days(crime.get("shoplifting")),
        "DRGSELL": days(crime.get("drug_selling")),
        "OTHTHEFT": crime.get("other_theft"),
        "ASSAULT": crime.get("assault"),
        "PSYHSTAT": days(health.get("psychological_health")),
        "PWORK": days(health.get("paid_work")),
        "EDUCAT": days(health.get("education")),
        "ACUTHPBM": health.get("acute_housing_problem"),
        "HRISK": health.get("eviction_risk"),
        "PHSTAT": days(health.get("physical_health")),
        "QUALLIFE": days(health.get("quality_of_life")),
    }


def rows(connection: Connection, scope: Scope) -> list[Row]:
    return [row(r, scope.organisation) for r in episodes(connection, scope)]


def quoted(cells: list[str]) -> str:
    return ",".join('"' + c.replace('"', '""') + '"' for c in cells) + "\n"


def lines(built: list[Row]) -> Iterator[str]:
    """The file: a header of item codes, then a row per episode; every value quoted, LF."""
    yield quoted(list(m.COLUMNS))
    for r in built:
        yield quoted(r.cells())


def text(built: list[Row]) -> str:
    return "".join(lines(built))
