"""Errors a user can see. Every message ends with the fix."""


class SearchError(Exception):
    """Base class: an error with a message fit to show a user, ending with the fix."""

    exit_code = 1


class IndexMissing(SearchError):
    exit_code = 2


class IndexDamaged(SearchError):
    exit_code = 2


class IndexIncompatible(SearchError):
    exit_code = 2


class IndexBusy(SearchError):
    """Another process holds the write lock."""

    exit_code = 3


class ReportsMissing(SearchError):
    exit_code = 2


class BadQuery(SearchError):
    """The query cannot be answered at all (too long, nothing searchable)."""

    exit_code = 2


class ImportFailed(SearchError):
    exit_code = 2


class ReportNotFound(SearchError):
    exit_code = 1
