"""Blood-borne viruses (hepatitis B vaccination, hepatitis C testing) and naloxone issued."""

from datetime import date
from typing import Self

from pydantic import Field, model_validator

from services.common.codes import (
    HepatitisBStatus,
    HepatitisBVaccination,
    HepatitisCTest,
    TestResult,
)
from services.common.schemas import Day
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import DateBeforeReferralError, JourneyEvent, Step


class BloodBorneVirusesRecorded(JourneyEvent):
    hepatitis_b: HepatitisBStatus | None
    hepatitis_b_vaccination: HepatitisBVaccination | None
    hepatitis_c: HepatitisCTest | None
    hepatitis_c_tested_on: date | None
    hepatitis_c_result: TestResult | None


class NaloxoneIssued(JourneyEvent):
    kits: int


class BloodBorneVirusesIn(EventIn):
    hepatitis_b: HepatitisBStatus | None = Field(None, description="Vaccination offered, ...")
    hepatitis_b_vaccination: HepatitisBVaccination | None = Field(
        None, description="Vaccinations given so far (needs hepatitis_b offered_and_accepted)."
    )
    hepatitis_c: HepatitisCTest | None = Field(None, description="Test offered, accepted, ...")
    hepatitis_c_tested_on: Day | None = Field(None, description="Latest test; not after `on`.")
    hepatitis_c_result: TestResult | None = Field(None, description="Needs a test date.")

    @model_validator(mode="after")
    def consistent(self) -> Self:
        if all(v is None for v in self.event_data().values()):
            raise ValueError("give at least one item")
        accepted_b = self.hepatitis_b is HepatitisBStatus.OFFERED_AND_ACCEPTED
        if self.hepatitis_b_vaccination is not None and not accepted_b:
            raise ValueError("a vaccination needs hepatitis_b offered_and_accepted")
        if self.hepatitis_c_tested_on is not None:
            if self.hepatitis_c is not HepatitisCTest.OFFERED_AND_ACCEPTED:
                raise ValueError("a hepatitis C test needs hepatitis_c offered_and_accepted")
            if self.hepatitis_c_tested_on > self.on:
                raise ValueError("hepatitis_c_tested_on must not be after `on`")
        if self.hepatitis_c_result is not None and self.hepatitis_c_tested_on is None:
            raise ValueError("a hepatitis C result needs hepatitis_c_tested_on")
        return self


class NaloxoneIn(EventIn):
    kits: int = Field(1, ge=1, le=10, description="Naloxone kits issued.")


def check_bbv(state: EpisodeState, fact: Fact) -> None:
    tested_on = fact.data.get("hepatitis_c_tested_on")
    if tested_on is not None and tested_on < state.referral_date:
        raise DateBeforeReferralError(
            f"A test on {tested_on} is before the referral date ({state.referral_date})."
        )


def bbv_recorded(state: EpisodeState, fact: Fact) -> None:
    given = {k: v for k, v in fact.data.items() if v is not None}
    state.blood_borne_viruses = {**(state.blood_borne_viruses or {}), **given}


def naloxone_issued(state: EpisodeState, fact: Fact) -> None:
    state.naloxone_issued_on = state.naloxone_issued_on or fact.on


STEPS = [
    Step(
        BloodBorneVirusesRecorded,
        bbv_recorded,
        check_bbv,
        body=BloodBorneVirusesIn,
        path="blood-borne-viruses",
        summary="Hepatitis B vaccination and hepatitis C testing: offered, accepted, tested, "
        "result, vaccinations (the items given replace the earlier ones).",
    ),
    Step(
        NaloxoneIssued,
        naloxone_issued,
        body=NaloxoneIn,
        path="naloxone",
        summary="Naloxone issued.",
    ),
]
