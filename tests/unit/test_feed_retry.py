"""A rebuild or a follower reading a feed that answers 503 (its service still indexing its log
after starting, or its store briefly unavailable) waits as told and asks again; other failures
end a rebuild and back a follower off."""

import httpx

from services.common.follower import retry_after, waits


def failure(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPError:
    request = httpx.Request("GET", "http://journey/feed")
    response = httpx.Response(status, headers=headers, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


def test_a_503_is_waited_for_as_its_retry_after_says() -> None:
    assert retry_after(failure(503, {"Retry-After": "7"})) == 7.0
    assert retry_after(failure(503, {"Retry-After": "0"})) == 1.0  # never a busy loop
    assert retry_after(failure(503)) == 1.0
    assert retry_after(failure(503, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})) == 1.0


def test_other_failures_end_the_rebuild() -> None:
    assert retry_after(failure(500)) is None
    assert retry_after(failure(401)) is None
    refused = httpx.ConnectError("refused", request=httpx.Request("GET", "http://journey/feed"))
    assert retry_after(refused) is None


def test_a_follower_asks_again_when_told_and_backs_off_otherwise() -> None:
    assert waits(failure(503, {"Retry-After": "2"}), backoff=16.0, most=30.0) == (2.0, 16.0)
    assert waits(failure(503, {"Retry-After": "120"}), backoff=0.5, most=30.0) == (30.0, 0.5)
    assert waits(failure(500), backoff=0.5, most=30.0) == (0.5, 1.0)
    assert waits(failure(500), backoff=16.0, most=30.0) == (16.0, 30.0)
