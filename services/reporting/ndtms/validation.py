"""The validation report: per episode of the extract, the errors that block a submission and
the warnings, each naming the item. Rules of the reference (§4.1 the implementation's, §4.6 the
inferred date order) and "every local code has a national one"."""

from dataclasses import dataclass, field
from datetime import date

from services.reporting.ndtms.extract import Row

ADULT_AGE = 18
EARLIEST_BIRTH_YEAR = 1903  # the implementation: year of birth after 1902 [impl]
# Profile items a provider should record; missing ones warn, they do not block.
RECOMMENDED = ("ETHNIC", "NATION", "SEXUAL", "EMPSTAT", "ACCMNEED", "PRNTSTAT", "GPPTCE", "LA")


@dataclass(frozen=True)
class Finding:
    item: str
    rule: str
    message: str


@dataclass
class Report:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def error(self, item: str, rule: str, message: str) -> None:
        self.errors.append(Finding(item, rule, message))

    def warn(self, item: str, rule: str, message: str) -> None:
        self.warnings.append(Finding(item, rule, message))


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def validate(row: Row) -> Report:
    report = Report()
    v, record = row.values, row.record
    client, referred = record.client, record.referral_date
    if client is None:
        report.error("DOB", "client-known", "The client's registration is not known.")
    elif referred is not None:
        born = client.date_of_birth
        if born.year < EARLIEST_BIRTH_YEAR:
            report.error("DOB", "birth-year", f"Year of birth {born.year} is before 1903.")
        if born > referred:
            report.error("DOB", "dates-in-order", "Date of birth is after the referral date.")
        elif age_on(born, referred) < ADULT_AGE:
            report.error("DOB", "adult-only", "Under 18 at referral: not the adult data set.")
    if v["CONSENT"] is None:
        report.error("CONSENT", "consent-recorded", "Consent to the national return not recorded.")
    if v["TRIAGED"] is None:
        report.error("TRIAGED", "triage-present", "No triage recorded.")
    elif v["REFLD"] is not None and v["TRIAGED"] < v["REFLD"]:
        report.error("TRIAGED", "dates-in-order", "Triage is before the referral date.")
    if not (record.substances or {}).get("substances"):
        report.error("DRUG1", "problem-substance-1", "No substance profile recorded.")
    for unmapped in row.unmapped:
        report.error(unmapped.item, "code-mapped", str(unmapped))
    check_intervention(v, report)
    if (v["DISD"] is None) != (v["DISRSN"] is None):
        report.error("DISRSN", "discharge-pair", "Discharge date and reason go together.")
    for item in RECOMMENDED:
        if v[item] is None:
            report.warn(item, "recommended", f"{item} not recorded.")
    return report


def check_intervention(v: dict[str, str | None], report: Report) -> None:
    if v["MODID"] is None:
        report.warn("MODAL", "intervention-recorded", "No intervention started.")
        return
    if v["REFMODDT"] is None:
        report.error("REFMODDT", "intervention-dates", "Date referred to the intervention.")
    if v["FAOMODDT"] is None:
        report.warn("FAOMODDT", "intervention-dates", "First appointment offered not recorded.")
    if v["MODSET"] is None:
        report.warn("MODSET", "intervention-setting", "Intervention setting not recorded.")
    # ISO dates compare as text.
    order = [("REFLD", "REFMODDT"), ("REFMODDT", "FAOMODDT"), ("FAOMODDT", "MODST")]
    order += [("TRIAGED", "MODST"), ("MODST", "MODEND"), ("MODEND", "DISD")]
    for earlier, later in order:
        a, b = v[earlier], v[later]
        if a is not None and b is not None and b < a:
            report.error(later, "dates-in-order", f"{later} ({b}) is before {earlier} ({a}).")
    if v["MODEND"] is not None and v["MODEXIT"] is None:
        report.warn("MODEXIT", "intervention-exit", "Intervention ended without an exit status.")
