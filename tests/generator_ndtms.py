"""The national return's items for generated journeys (issue 12 item 6): the client profile,
the substance profile, blood-borne viruses, naloxone, intervention referral and exit details and
the Treatment Outcomes Profile, with plausible distributions (roughly the national mix: half the
adults in treatment for opiates, a quarter for alcohol alone), so that the extract, its
validation and the outcome KPIs are exercised at scale. Used by tests/generator.py.
"""

import random
from datetime import date, timedelta
from typing import Any

from services.common.codes import (
    AccommodationNeed,
    Employment,
    Ethnicity,
    ExitReason,
    HepatitisBStatus,
    HepatitisBVaccination,
    HepatitisCTest,
    InjectingStatus,
    InterventionEndReason,
    InterventionSetting,
    Modality,
    ParentalStatus,
    Religion,
    Route,
    SexualOrientation,
    Substance,
    TestResult,
    TopStage,
    YesNoDeclined,
)

Weighted = list[tuple[Any, int]]


def pick(rng: random.Random, weighted: Weighted) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


ETHNICITIES: Weighted = [
    (Ethnicity.WHITE_BRITISH, 80),
    (Ethnicity.WHITE_IRISH, 2),
    (Ethnicity.OTHER_WHITE, 5),
    (Ethnicity.WHITE_AND_BLACK_CARIBBEAN, 2),
    (Ethnicity.OTHER_MIXED, 1),
    (Ethnicity.INDIAN, 1),
    (Ethnicity.PAKISTANI, 2),
    (Ethnicity.CARIBBEAN, 2),
]
RELIGIONS: Weighted = [
    (Religion.NONE, 50),
    (Religion.CHRISTIAN, 30),
    (Religion.MUSLIM, 4),
    (Religion.OTHER, 3),
    (Religion.DECLINED, 13),
]
ORIENTATIONS: Weighted = [
    (SexualOrientation.HETEROSEXUAL, 88),
    (SexualOrientation.GAY_OR_LESBIAN, 3),
    (SexualOrientation.BISEXUAL, 2),
    (SexualOrientation.DECLINED, 7),
]
ACCOMMODATION: Weighted = [
    (AccommodationNeed.NO_HOUSING_PROBLEM, 75),
    (AccommodationNeed.HOUSING_PROBLEM, 15),
    (AccommodationNeed.URGENT_HOUSING_PROBLEM, 10),
]
PARENTAL: Weighted = [
    (ParentalStatus.NOT_A_PARENT, 45),
    (ParentalStatus.NO_CHILDREN_LIVE_WITH_CLIENT, 30),
    (ParentalStatus.SOME_CHILDREN_LIVE_WITH_CLIENT, 8),
    (ParentalStatus.ALL_CHILDREN_LIVE_WITH_CLIENT, 12),
    (ParentalStatus.DECLINED, 5),
]
EMPLOYMENT: Weighted = [
    (Employment.UNEMPLOYED_SEEKING_WORK, 30),
    (Employment.LONG_TERM_SICK_OR_DISABLED, 25),
    (Employment.REGULAR_EMPLOYMENT, 20),
    (Employment.OTHER, 10),
    (Employment.RETIRED, 5),
    (Employment.NOT_STATED, 10),
]
# (problem substances, main first; injecting status weights) per substance group.
OPIATE_MIXES = [
    [Substance.HEROIN],
    [Substance.HEROIN, Substance.CRACK],
    [Substance.HEROIN, Substance.CRACK, Substance.ALCOHOL],
    [Substance.METHADONE_ILLICIT, Substance.BENZODIAZEPINES],
    [Substance.OTHER_OPIATES],
]
NON_OPIATE_MIXES = [
    [Substance.CANNABIS],
    [Substance.COCAINE],
    [Substance.CRACK],
    [Substance.AMPHETAMINES],
    [Substance.COCAINE, Substance.CANNABIS],
]
GROUPS: Weighted = [("opiate", 50), ("alcohol", 27), ("non_opiate", 13), ("both", 10)]
EXIT_END_REASON = {
    ExitReason.TREATMENT_COMPLETED_DRUG_FREE: InterventionEndReason.COMPLETED,
    ExitReason.TREATMENT_COMPLETED_OCCASIONAL_USER: InterventionEndReason.COMPLETED,
    ExitReason.TRANSFERRED: InterventionEndReason.TRANSFERRED,
    ExitReason.DROPPED_OUT: InterventionEndReason.CLIENT_STOPPED,
    ExitReason.TREATMENT_WITHDRAWN: InterventionEndReason.STOPPED_BY_PROVIDER,
}
SETTINGS = {
    Modality.INPATIENT: InterventionSetting.INPATIENT,
    Modality.RESIDENTIAL_REHABILITATION: InterventionSetting.RESIDENTIAL,
    Modality.GP_PRESCRIBING: InterventionSetting.GP,
}
TOP_REVIEW_DAYS = 182


def client_profile(rng: random.Random) -> dict[str, Any]:
    """A client profile, most items answered, a few left out."""
    items: dict[str, Any] = {
        "ethnicity": pick(rng, ETHNICITIES),
        "nationality": "GBR" if rng.random() < 0.92 else rng.choice(["IRL", "POL", "ROU"]),
        "religion": pick(rng, RELIGIONS),
        "sexual_orientation": pick(rng, ORIENTATIONS),
        "disability": pick(rng, [(YesNoDeclined.NO, 70), (YesNoDeclined.YES, 25)]),
        "veteran": pick(rng, [(YesNoDeclined.NO, 95), (YesNoDeclined.YES, 4)]),
        "gp_practice": f"B{rng.randrange(80000, 89999)}",
        "local_authority": f"E0800{rng.randrange(10, 99)}",
        "accommodation_need": pick(rng, ACCOMMODATION),
        "parental_status": pick(rng, PARENTAL),
        "employment": pick(rng, EMPLOYMENT),
        "previously_treated": rng.random() < 0.45,
        "consent_to_national_return": rng.random() < 0.97,
    }
    if items["parental_status"] in (
        ParentalStatus.SOME_CHILDREN_LIVE_WITH_CLIENT,
        ParentalStatus.ALL_CHILDREN_LIVE_WITH_CLIENT,
    ):
        items["children_living_with_client"] = rng.randrange(1, 4)
    for left_out in rng.sample(sorted(items), k=rng.choice([0, 0, 0, 1, 2])):
        del items[left_out]
    return items


def substance_profile(rng: random.Random, group: str) -> dict[str, Any]:
    if group == "opiate":
        named = list(rng.choice(OPIATE_MIXES))
    elif group == "alcohol":
        named = [Substance.ALCOHOL]
    else:
        named = list(rng.choice(NON_OPIATE_MIXES))
        if group == "both":
            named.append(Substance.ALCOHOL)
    injecting = InjectingStatus.NEVER
    if Substance.HEROIN in named or Substance.CRACK in named:
        injecting = pick(
            rng,
            [
                (InjectingStatus.CURRENTLY, 30),
                (InjectingStatus.PREVIOUSLY, 35),
                (InjectingStatus.NEVER, 30),
                (InjectingStatus.DECLINED, 5),
            ],
        )
    drinks = Substance.ALCOHOL in named
    days = rng.randrange(8, 29) if drinks else rng.randrange(0, 8)
    return {
        "substances": [
            {
                "substance": s.value,
                "age_first_used": rng.randrange(12, 30),
                "route": (
                    Route.INJECT
                    if injecting is InjectingStatus.CURRENTLY and i == 0
                    else Route.SMOKE
                ).value
                if s is not Substance.ALCOHOL
                else Route.ORAL.value,
            }
            for i, s in enumerate(named[:3])
        ],
        "injecting_status": injecting,
        "alcohol_days": days,
        "alcohol_units": days * rng.randrange(4, 25) if days else 0,
    }


def blood_borne_viruses(rng: random.Random, on: date, referred: date) -> dict[str, Any]:
    b = pick(
        rng,
        [
            (HepatitisBStatus.OFFERED_AND_ACCEPTED, 45),
            (HepatitisBStatus.OFFERED_AND_REFUSED, 15),
            (HepatitisBStatus.IMMUNISED_ALREADY, 20),
            (HepatitisBStatus.NOT_OFFERED, 20),
        ],
    )
    c = pick(
        rng,
        [
            (HepatitisCTest.OFFERED_AND_ACCEPTED, 60),
            (HepatitisCTest.OFFERED_AND_REFUSED, 20),
            (HepatitisCTest.NOT_OFFERED, 20),
        ],
    )
    data: dict[str, Any] = {
        "hepatitis_b": b,
        "hepatitis_b_vaccination": None,
        "hepatitis_c": c,
        "hepatitis_c_tested_on": None,
        "hepatitis_c_result": None,
    }
    if b is HepatitisBStatus.OFFERED_AND_ACCEPTED:
        data["hepatitis_b_vaccination"] = rng.choice(list(HepatitisBVaccination))
    if c is HepatitisCTest.OFFERED_AND_ACCEPTED and rng.random() < 0.8:
        data["hepatitis_c_tested_on"] = max(referred, on - timedelta(days=rng.randrange(0, 20)))
        data["hepatitis_c_result"] = pick(
            rng, [(TestResult.NEGATIVE, 70), (TestResult.POSITIVE, 20), (TestResult.NOT_KNOWN, 10)]
        )
    return data


def intervention_details(
    rng: random.Random, modality: Modality, referred: date, start: date
) -> dict[str, Any]:
    """When it was referred to, the first appointment offered, and where."""
    offered = referred + timedelta(days=rng.randrange(0, (start - referred).days + 1))
    return {
        "referred_on": referred,
        "first_appointment_offered_on": offered,
        "setting": SETTINGS.get(modality, InterventionSetting.COMMUNITY),
    }


def end_reason(exit_reason: ExitReason) -> InterventionEndReason:
    return EXIT_END_REASON.get(exit_reason, InterventionEndReason.OTHER)


def days_item(rng: random.Random, using: bool) -> Any:
    """A TOP days item: four weekly counts, or the 28-day total, or now and then NA."""
    if rng.random() < 0.03:
        return "NA"
    if not using:
        return 0 if rng.random() < 0.5 else [0, 0, 0, 0]
    weeks = [rng.randrange(1, 8) for _ in range(4)]
    return weeks if rng.random() < 0.6 else sum(weeks)


def top(rng: random.Random, stage: TopStage, group: str, improving: float) -> dict[str, Any]:
    """A TOP for the client's substance group; `improving` is the chance each substance used
    at the start is no longer used."""
    opiates = group == "opiate"
    stimulants = group in ("non_opiate", "both")
    crack = (opiates and rng.random() < 0.45) or (stimulants and rng.random() < 0.2)
    drinks = group in ("alcohol", "both") or rng.random() < 0.3
    use = {
        "opiates": days_item(rng, opiates and rng.random() > improving),
        "crack": days_item(rng, crack and rng.random() > improving),
        "alcohol": days_item(rng, drinks and rng.random() > improving),
    }
    if group in ("non_opiate", "both"):
        use["cannabis"] = days_item(rng, rng.random() > improving)
    injected = opiates and rng.random() < 0.3
    return {
        "stage": stage,
        "substance_use": use,
        "injecting": {
            "days": days_item(rng, injected),
            "needle_sharing": "Y" if injected and rng.random() < 0.1 else "N",
        },
        "crime": {"shoplifting": days_item(rng, opiates and rng.random() < 0.2)},
        "health_and_social": {
            "psychological_health": rng.randrange(4, 17),
            "physical_health": rng.randrange(4, 17),
            "quality_of_life": rng.randrange(4, 17),
        },
    }
