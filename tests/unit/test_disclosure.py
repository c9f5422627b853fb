"""Each rule of DESIGN.md's "Disclosure control for commissioners", the expected figure worked
out by hand."""

from datetime import date
from typing import Any

import pytest

from services.reporting.disclosure import SUPPRESSED, disclose, period_problem
from services.reporting.kpis import Period, count, share


def statistic(value: float | None, over: int) -> dict[str, Any]:
    return {"value": value, "over": count(over, "values")}


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, 0), (1, SUPPRESSED), (5, SUPPRESSED), (6, 5), (7, 5), (8, 10), (12, 10), (13, 15)],
)
def test_counts_1_to_5_are_suppressed_and_the_rest_rounded_to_the_nearest_5(
    n: int, shown: int | str
) -> None:
    assert disclose(count(n, "x")) == {"count": shown, "of": "x"}


def test_a_ratio_is_a_whole_percentage_of_the_unrounded_counts() -> None:
    # 7 of 8 is 87.5%: 88 (half up), not 5 of 10 = 50% from the rounded counts.
    shown = disclose(share(7, "n", 8, "d"))
    assert shown["numerator"]["count"] == 5 and shown["denominator"]["count"] == 10
    assert shown["percent"] == 88
    assert disclose(share(6, "n", 19, "d"))["percent"] == 32  # 31.58%
    assert "ratio" not in shown


def test_a_ratio_is_shown_only_when_numerator_and_denominator_are() -> None:
    assert disclose(share(3, "n", 40, "d"))["percent"] == SUPPRESSED  # numerator 3
    assert disclose(share(4, "n", 4, "d"))["percent"] == SUPPRESSED
    assert disclose(share(0, "n", 40, "d"))["percent"] == 0  # 0 is shown
    assert disclose(share(0, "n", 0, "d"))["percent"] is None  # no denominator: no ratio


def test_medians_and_percentiles_need_10_values_and_are_in_whole_days() -> None:
    assert disclose(statistic(41.4, 9)) == {"value": SUPPRESSED, "over": count(10, "values")}
    assert disclose(statistic(41.4, 10))["value"] == 41
    assert disclose(statistic(10.5, 12))["value"] == 11  # half up
    assert disclose(statistic(None, 0))["value"] is None


def sources(total: int, **cells: int) -> dict[str, Any]:
    return {
        "total": count(total, "all"),
        "by_source": {name: count(n, name) for name, n in cells.items()},
    }


def test_a_breakdown_never_has_exactly_one_suppressed_cell() -> None:
    # The tester's answer: 7 in all, 6 from GPs, 1 self-referral. Total 5 (rounded), the
    # self-referral suppressed and so the GPs' too: 7 - 6 cannot be done.
    shown = disclose(sources(7, gp=6, self=1))
    assert shown["total"]["count"] == 5
    assert shown["by_source"]["self"]["count"] == SUPPRESSED
    assert shown["by_source"]["gp"]["count"] == SUPPRESSED


def test_the_next_smallest_cell_is_the_one_suppressed_too() -> None:
    shown = disclose(sources(60, gp=30, self=2, cjit=8, carat=8, hospital=12))
    cells = {name: cell["count"] for name, cell in shown["by_source"].items()}
    # self 2 suppressed; next smallest 8 (cjit and carat tie: by name, carat).
    assert cells == {"gp": 30, "self": SUPPRESSED, "cjit": 10, "carat": SUPPRESSED, "hospital": 10}


def test_two_suppressed_cells_need_no_more() -> None:
    shown = disclose(sources(40, gp=30, self=2, cjit=3, carat=5))
    cells = {name: cell["count"] for name, cell in shown["by_source"].items()}
    assert cells == {"gp": 30, "self": SUPPRESSED, "cjit": SUPPRESSED, "carat": SUPPRESSED}
    untouched = disclose(sources(40, gp=30, cjit=10))["by_source"]
    assert [c["count"] for c in untouched.values()] == [30, 10]


@pytest.mark.parametrize(
    ("start", "end", "as_at", "allowed"),
    [
        (date(2026, 2, 1), date(2026, 2, 28), None, True),  # a month
        (date(2026, 4, 1), date(2026, 6, 30), date(2026, 5, 31), True),  # a quarter
        (date(2025, 4, 1), date(2026, 3, 31), None, True),  # a financial year
        (date(2026, 4, 1), date(2026, 4, 1), None, False),  # one day
        (date(2026, 4, 1), date(2026, 5, 1), None, False),  # a month and a day
        (date(2026, 4, 2), date(2026, 4, 30), None, False),
        (date(2026, 5, 1), date(2026, 7, 31), None, False),  # three months, not a quarter
        (date(2026, 4, 1), date(2026, 5, 31), None, False),  # two months
        (date(2026, 1, 1), date(2026, 12, 31), None, False),  # a calendar year
        (date(2026, 4, 1), date(2026, 6, 30), date(2026, 5, 30), False),  # as_at not a month end
    ],
)
def test_a_commissioners_period_is_whole_months_and_as_at_a_month_end(
    start: date, end: date, as_at: date | None, allowed: bool
) -> None:
    assert (period_problem(Period(start, end), as_at) is None) is allowed
