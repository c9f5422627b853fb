"""The Client and Referral aggregates on their own: no HTTP, no store."""

from datetime import date, timedelta

import pytest

from services.common.codes import DeclineReason, PriorityFlag, ReferralSource, Sex
from services.referral.domain import (
    Client,
    DateBeforeReferralError,
    DateInFutureError,
    Referral,
    ReferralClosedError,
    ReferralStatus,
)

TODAY = date(2026, 11, 30)
CJIT = {"organisation": "CJIT1", "user": "ann"}
T3 = {"organisation": "T3", "user": "kim"}


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


def consent(*share_with: str) -> dict[str, object]:
    return {"given_on": day(30), "share_with": list(share_with), "purposes": ["treatment"]}


def referral_from_cjit(with_consent: bool = True) -> Referral:
    client = Client(
        on=day(31),
        by=CJIT,
        given_name="Ann",
        family_name="Example",
        date_of_birth=date(1980, 1, 1),
        sex=Sex.FEMALE,
        nhs_number=None,
        postcode_district="LS6",
    )
    return Referral.make(
        client,
        TODAY,
        on=day(30),
        by=CJIT,
        source=ReferralSource.CJIT,
        referring_organisation="CJIT1",
        receiving_organisation="T3",
        priority_flags=[PriorityFlag.INJECTING],
        consent=consent("T3") if with_consent else None,
        handover=None,
    )


def test_a_consent_given_with_a_referral_is_held_by_the_organisation_that_made_it() -> None:
    referral = referral_from_cjit()
    assert set(referral.consents) == {"CJIT1"}
    assert referral.consent == consent("T3")


def test_each_party_records_its_own_consent_and_replaces_only_its_own() -> None:
    referral = referral_from_cjit()
    referral.change_consent(day(20), T3, consent("CJIT1"), TODAY)
    referral.change_consent(day(10), T3, consent("CJIT1", "P9"), TODAY)
    assert referral.consents == {"CJIT1": consent("T3"), "T3": consent("CJIT1", "P9")}


def test_the_clients_withdrawal_ends_every_consent_on_the_referral() -> None:
    referral = referral_from_cjit()
    referral.change_consent(day(20), T3, consent("CJIT1"), TODAY)
    referral.withdraw_consent(day(1), T3, TODAY)
    assert (referral.consents, referral.consent_withdrawn_on) == ({}, day(1))


def test_a_decision_is_taken_once_not_before_the_referral_nor_in_the_future() -> None:
    referral = referral_from_cjit(with_consent=False)
    with pytest.raises(DateBeforeReferralError):
        referral.accept(day(31), T3, None, TODAY)
    with pytest.raises(DateInFutureError):
        referral.accept(day(-1), T3, None, TODAY)
    referral.decline(day(29), T3, DeclineReason.NO_CAPACITY, TODAY)
    assert referral.status is ReferralStatus.DECLINED
    with pytest.raises(ReferralClosedError):
        referral.accept(day(28), T3, None, TODAY)


def test_a_decline_names_the_client_for_followers() -> None:
    referral = referral_from_cjit()
    referral.decline(day(29), T3, DeclineReason.NO_CAPACITY, TODAY)
    declined = referral.collect_events()[-1]
    assert declined.client_id == referral.client_id  # type: ignore[attr-defined]
