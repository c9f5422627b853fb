"""Field types shared by the services' request and response models.

Each input type publishes in its JSON schema exactly what it enforces (patterns, lengths, date
bounds), so that a request valid against the published schema is never rejected as malformed.
Patterns are written for both engines that read them: the Rust `regex` crate (pydantic) and
ECMA-262 (the OpenAPI reader): no look-around, no `\\d` or `\\s` (their meaning differs).
"""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

OrganisationCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]

# Control characters, bidirectional marks, embeddings, overrides and isolates, the BOM, and
# line/paragraph separators: never in a name or a note (they can disguise what is shown).
_FORBIDDEN = (
    r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    r"\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
)
_BREAKS = r"\t\n\r"  # allowed inside long text only
_SPACE = r" \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"


def _text_pattern(max_length: int, multiline: bool) -> str:
    """No leading or trailing white space, no forbidden characters, 1 to max_length long."""
    inner = f"[^{_FORBIDDEN}]" if multiline else f"[^{_FORBIDDEN}{_BREAKS}]"
    edge = f"[^{_FORBIDDEN}{_BREAKS}{_SPACE}]"
    return f"^{edge}({inner}{{0,{max_length - 2}}}{edge})?$"


def _text(max_length: int, multiline: bool = False) -> Any:
    return StringConstraints(
        min_length=1, max_length=max_length, pattern=_text_pattern(max_length, multiline)
    )


UserName = Annotated[str, _text(128)]
ShortText = Annotated[str, _text(200)]
LongText = Annotated[str, _text(4000, multiline=True)]

# Dates and times: years 1900 to 2999, ASCII digits, the one RFC 3339 spelling; times need an
# offset. Within these bounds every date-time converts to UTC without overflow.
_YEAR = r"(19|2[0-9])[0-9]{2}"
_DAY = rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
DAY_PATTERN = rf"^{_DAY}$"
MOMENT_PATTERN = rf"^{_DAY}T{_TIME}(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
_NAIVE_MOMENT_PATTERN = rf"^{_DAY}T{_TIME}$"


def _day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # already parsed (a model built in code)
    if not isinstance(value, str) or not re.fullmatch(DAY_PATTERN, value):
        raise PydanticCustomError(
            "date_format", "a date is a string YYYY-MM-DD, years 1900 to 2999"
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_format", "not a calendar date") from None


def _moment(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, str) and re.fullmatch(_NAIVE_MOMENT_PATTERN, value):
        # Never taken as local time: whose local time would it be?
        raise PydanticCustomError(
            "datetime_offset",
            "a time needs an offset: add Z for UTC or the offset from UTC, such as +01:00 "
            "(e.g. {value}Z or {value}+01:00)",
            {"value": value},
        )
    if not isinstance(value, str) or not re.fullmatch(MOMENT_PATTERN, value):
        raise PydanticCustomError(
            "datetime_format",
            "a time is RFC 3339 with an offset (Z or such as +01:00), e.g. "
            "2025-01-31T12:00:00Z, years 1900 to 2999",
        )
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise PydanticCustomError("datetime_format", "not a calendar date and time") from None


Day = Annotated[
    date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": MOMENT_PATTERN}),
]


class StrictIn(BaseModel):
    """Request bodies reject unknown fields, so a misspelt field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")
