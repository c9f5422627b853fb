from datetime import date

import pytest

from services.referral.domain import (
    age_on,
    date_of_birth_problem,
    nhs_number_is_valid,
    postcode_district_problem,
)


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9990000026"])
def test_valid_nhs_numbers_pass_the_modulus_11_check(number: str) -> None:
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "94347A5919",  # not digits
        "1000000010",  # 1*10 = 10 -> 11 - 10 = 1, not 0
    ],
)
def test_invalid_nhs_numbers_fail(number: str) -> None:
    assert not nhs_number_is_valid(number)


def test_a_check_digit_of_10_means_no_valid_number() -> None:
    # 6*2 = 12; 12 % 11 = 1; 11 - 1 = 10: no single digit can follow these nine
    assert not any(nhs_number_is_valid(f"000000006{d}") for d in range(10))
    # 1*10 = 10; 10 % 11 = 10; 11 - 10 = 1: only check digit 1 follows
    assert [d for d in range(10) if nhs_number_is_valid(f"100000000{d}")] == [1]


def test_age_counts_whole_years_to_the_birthday() -> None:
    assert age_on(date(2000, 6, 15), date(2018, 6, 14)) == 17
    assert age_on(date(2000, 6, 15), date(2018, 6, 15)) == 18


def test_date_of_birth_must_be_past_adult_and_plausible() -> None:
    today = date(2026, 11, 25)
    assert date_of_birth_problem(date(2027, 1, 1), today) == "date of birth is in the future"
    assert "adult service" in (date_of_birth_problem(date(2010, 1, 1), today) or "")
    assert "not plausible" in (date_of_birth_problem(date(1900, 1, 1), today) or "")
    assert date_of_birth_problem(date(1990, 1, 1), today) is None


@pytest.mark.parametrize("district", ["LS6", "SW1A", "M1", "B33", "EC1V"])
def test_uk_postcode_districts_pass(district: str) -> None:
    assert postcode_district_problem(district) is None


@pytest.mark.parametrize("district", ["LS6 1AA", "123", "ABC1", "", "L"])
def test_full_postcodes_and_nonsense_fail(district: str) -> None:
    assert postcode_district_problem(district) is not None
