"""Typed errors for refused postings: callers can tell a bad amount from a reused key."""


class PostingError(Exception):
    """A posting was refused; nothing was written."""


class InvalidAmount(PostingError):
    pass


class UnsupportedCurrency(PostingError):
    pass


class IdempotencyKeyReused(PostingError):
    """The key was already used for a different posting (another amount or kind)."""


class InsufficientBalance(PostingError):
    pass
