"""Treatment Outcomes Profiles as the reporting views see them: when the next one is due
(DESIGN "TOP due"; the rule is shared with the journey read in services.common.top_schedule)."""

from datetime import date
from typing import Any

from services.common.top_schedule import next_top_due, overdue, review_days
from services.reporting.views import EpisodeView


def top_due_on(e: EpisodeView, day: date) -> date | None:
    """The next TOP due for the episode as it stood on the day."""
    tops = [(on, stage) for on, stage, _ in e.tops if on <= day]
    first = e.first_structured_start
    discharged = e.discharged_on
    return next_top_due(
        [on for on, _ in tops],
        any(stage == "exit" for _, stage in tops),
        first if first is not None and first <= day else None,
        discharged if discharged is not None and discharged <= day else None,
        review_days(e.organisation),
    )


def caseload_columns(e: EpisodeView, day: date) -> dict[str, Any]:
    due = top_due_on(e, day)
    return {"top_due_on": due, "top_overdue": overdue(due, day)}
