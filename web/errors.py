"""One error path for every status: an HTML page for pages, one JSON shape for the API
(`{"ok": false, "error": "...", "status": N}`), never a traceback or a filesystem path."""

from __future__ import annotations

import math
import re
import time

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search.errors import (BadQuery, IndexBusy, IndexDamaged, IndexIncompatible, IndexMissing,
                           ReportNotFound, SearchError)

TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed",
          429: "Too many requests", 500: "Server error", 503: "Search unavailable"}
MESSAGES = {
    400: "The request could not be understood. Check the address or start a new search.",
    404: "There is nothing at this address. Search for the report instead.",
    405: "This address only answers GET requests.",
    429: "Too many requests from your address. Wait a little and try again.",
    500: "Something went wrong on our side. Try again; if it keeps happening, tell the "
         "people who run this site.",
    503: "The search index cannot be read right now.",
}
REBUILD = ("The search index is damaged or was built by another version of the program. "
           "Run `reports index --rebuild` on the server, then reload this page.")
# Absolute paths (POSIX and Windows) inside a message.
_PATH = re.compile(r"(?<![\w:/])(?:/[^\s'\"`,;:()]+)+|\b[A-Za-z]:\\[^\s'\"`,;]+")


def strip_paths(message: str) -> str:
    return _PATH.sub("[path]", message)


def status_of(exc: SearchError) -> int:
    if isinstance(exc, BadQuery):
        return 400
    if isinstance(exc, ReportNotFound):
        return 404
    if isinstance(exc, (IndexMissing, IndexDamaged, IndexIncompatible, IndexBusy)):
        return 503
    return 500


def public_message(exc: SearchError) -> str:
    """The library's message fit for a web page: no paths, the fix for a server operator."""
    if isinstance(exc, IndexMissing):
        return ("No search index has been built yet. Run `reports index` on the server, "
                "then reload this page.")
    if isinstance(exc, (IndexDamaged, IndexIncompatible)):
        return REBUILD
    if isinstance(exc, IndexBusy):
        return "The search index is busy. Try again in a moment."
    if isinstance(exc, ReportNotFound):
        return "There is no report with this id. Search for it on the search page."
    return strip_paths(str(exc))


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_body(status: int, message: str) -> dict:
    return {"ok": False, "error": message, "status": status}


def respond(status: int, message: str, headers=None):
    if wants_json():
        response = jsonify(error_body(status, message))
    else:
        response = current_app.response_class(
            render_template("error.html", status=status, title=TITLES.get(status, "Error"),
                            message=message))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def retry_after() -> int:
    limiter = current_app.extensions["reports"].get("limiter")
    limit = limiter.current_limit if limiter is not None else None
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))


def handle_http(exc: HTTPException):
    status = exc.code or 500
    headers = {}
    if status == 405:
        allow = exc.get_response().headers.get("Allow")
        if allow:
            headers["Allow"] = allow
    if status == 429:
        headers["Retry-After"] = str(retry_after())
    message = MESSAGES.get(status) or (exc.description or TITLES.get(status, "Error"))
    if status >= 500:
        current_app.logger.error("HTTP %s on %s", status, request.path)
    return respond(status, message, headers)


def handle_search_error(exc: SearchError):
    status = status_of(exc)
    if status >= 500:
        current_app.logger.error("%s on %s: %s", type(exc).__name__, request.path, exc)
    headers = {"Retry-After": "5"} if isinstance(exc, IndexBusy) else None
    return respond(status, public_message(exc), headers)


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):       # pragma: no cover - routed above
        return handle_http(exc)
    current_app.logger.exception("unhandled error on %s", request.path)
    return respond(500, MESSAGES[500])


def register(app) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(SearchError, handle_search_error)
    app.register_error_handler(Exception, handle_unexpected)
