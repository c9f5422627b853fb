"""Errors every service's domain may raise about access (no framework imports)."""


class NotVisibleError(Exception):
    """Not found (or not visible to the caller: the answer is the same, so nothing leaks)."""


class ForbiddenError(Exception):
    """The caller's organisation or role may not do this."""
