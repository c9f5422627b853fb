"""Disclosure control for commissioners (DESIGN.md, "Disclosure control for commissioners").

Providers, CJIT, CARAT teams and administrators see their own organisation's figures exactly;
a commissioner sees every figure through `disclose`:

- the period is one calendar month, one quarter or one financial year, and `as_at` a month end
  (`period_problem`), so no two answers differ by a day;
- a count from 1 to 5 is "suppressed"; any other is rounded to the nearest 5 (0 stays 0);
- a share's ratio becomes a whole percentage of the unrounded counts, shown only when its
  numerator and denominator are both shown;
- a median or percentile is shown over 10 or more values only, in whole days;
- a breakdown shown beside its total never has exactly one suppressed cell: the next smallest
  is suppressed too, so the total minus the others never gives it.
"""

import calendar
from datetime import date
from typing import Any

from services.reporting.kpis import Period

SUPPRESSED = "suppressed"
SMALL = range(1, 6)
ROUNDING = 5
MIN_VALUES = 10

RULES = {
    "rounded_to_nearest": ROUNDING,
    "suppressed": "counts from 1 to 5, and ratios built on them",
    "percentages": "whole percentages of the unrounded counts, when both counts are shown",
    "medians_and_percentiles": "over 10 or more values only, in whole days",
    "breakdowns": "when one cell of a breakdown is suppressed, the next smallest is too",
}


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def period_problem(period: Period, as_at: date | None) -> str | None:
    """Why a commissioner may not ask this (None when allowed)."""
    start, end = period.start, period.end
    if start.day != 1 or end != month_end(end):
        return "A commissioner's period runs from the first of a month to a month end."
    months = months_between(start, end)
    quarter = months == 3 and start.month in (1, 4, 7, 10)
    financial_year = months == 12 and start.month == 4
    if months != 1 and not quarter and not financial_year:
        return (
            "A commissioner's period is one calendar month, one quarter (from January, April, "
            "July or October) or one financial year (April to March)."
        )
    if as_at is not None and as_at != month_end(as_at):
        return "A commissioner's as_at is a month end."
    return None


def shown_count(n: int) -> int | str:
    """Counts 1 to 5 suppressed, others rounded to the nearest 5 (0 stays 0)."""
    if n in SMALL:
        return SUPPRESSED
    return ROUNDING * ((n + ROUNDING // 2) // ROUNDING)


def whole_percent(numerator: int, denominator: int) -> int:
    """Half up, in integers: 1 of 8 is 13%."""
    return (200 * numerator + denominator) // (2 * denominator)


def whole_days(value: float) -> int:
    """Half up: a median of 10.5 days is 11."""
    return int(value + 0.5)


def disclose(figures: Any) -> Any:
    """The figures as a commissioner sees them (see the module's docstring)."""
    if not isinstance(figures, dict):
        return figures
    if "count" in figures:
        return {**figures, "count": shown_count(figures["count"])}
    if "ratio" in figures:
        return disclose_share(figures)
    if "value" in figures and "over" in figures:
        return disclose_statistic(figures)
    shown = {key: disclose(value) for key, value in figures.items()}
    if "total" in figures:
        for key, value in figures.items():
            if key.startswith("by_") and isinstance(value, dict):
                shown[key] = protect_breakdown(value, shown[key])
    return shown


def disclose_share(share: dict[str, Any]) -> dict[str, Any]:
    numerator, denominator = share["numerator"]["count"], share["denominator"]["count"]
    percent: int | str | None = None
    if denominator:
        both_shown = numerator not in SMALL and denominator not in SMALL
        percent = whole_percent(numerator, denominator) if both_shown else SUPPRESSED
    return {
        "numerator": disclose(share["numerator"]),
        "denominator": disclose(share["denominator"]),
        "percent": percent,
    }


def disclose_statistic(statistic: dict[str, Any]) -> dict[str, Any]:
    over, value = statistic["over"]["count"], statistic["value"]
    shown: int | str | None = None
    if value is not None:
        shown = whole_days(value) if over >= MIN_VALUES else SUPPRESSED
    return {"value": shown, "over": disclose(statistic["over"])}


def protect_breakdown(
    cells: dict[str, dict[str, Any]], shown: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Secondary suppression: with exactly one cell suppressed, the total less the others would
    give it, so the next smallest shown cell (0 cells aside, by name on a tie) is suppressed."""
    suppressed = [key for key, cell in shown.items() if cell["count"] == SUPPRESSED]
    if len(suppressed) != 1:
        return shown
    others = [key for key, cell in cells.items() if key not in suppressed and cell["count"] > 0]
    if not others:
        return shown
    smallest = min(others, key=lambda key: (cells[key]["count"], key))
    return {**shown, smallest: {**shown[smallest], "count": SUPPRESSED}}
