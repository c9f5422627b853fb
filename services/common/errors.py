"""Errors every service's domain may raise about access (no framework imports)."""


class NotVisibleError(Exception):
    """Not found (or not visible to the caller: the answer is the same, so nothing leaks)."""


class ForbiddenError(Exception):
    """The caller's organisation or role may not do this."""


class StoreUnavailableError(Exception):
    """The store is unavailable.

    Nothing was recorded: retry shortly."""


class OutcomeUnknownError(Exception):
    """The outcome of the write is unknown.

    It may or may not have been recorded: retry with the same Idempotency-Key."""


class ConsentUnknownError(Exception):
    """Consent cannot be established now.

    Nothing is shared while it cannot: retry shortly."""


class IdempotencyKeyReusedError(Exception):
    """Idempotency-Key reused for a different request."""
