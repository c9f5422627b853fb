"""ETag / If-Match helpers: an aggregate's version is its entity tag."""

from typing import Annotated

from fastapi import Header, Response

from services.common.problems import Problem


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def expected_version(
    if_match: Annotated[
        str | None,
        Header(description='The version you last read, as returned in ETag (e.g. "3").'),
    ] = None,
) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise Problem(
            422, "invalid-if-match", "Invalid If-Match", 'If-Match must be a version, e.g. "3".'
        )
    return int(value)
