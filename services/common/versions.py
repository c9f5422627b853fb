"""ETag / If-Match helpers: an aggregate's version is its entity tag."""

from typing import Annotated

from fastapi import Header, Response


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


# An entity tag as we send it ("3"), weak or bare forms accepted; at most 18 ASCII digits, so
# a version always fits a 64-bit integer.
IF_MATCH_PATTERN = r'^(W/)?("[0-9]{1,18}"|[0-9]{1,18})$'


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            pattern=IF_MATCH_PATTERN,
            description='The version you last read, as returned in ETag (e.g. "3").',
        ),
    ] = None,
) -> int | None:
    if if_match is None:
        return None
    return int(if_match.removeprefix("W/").strip('"'))
