"""The JSON API: the same objects the page renders, as `result.as_dict()`.

    GET /api/search          the page's parameters (see web/params.py); exactly the object
                             `reports search --json` prints for the same request
    GET /api/reports/<id>    ReportView.as_dict() (`?q=` marks nothing in JSON but is accepted)
    GET /healthz             {"ok": true, "reports": N}; 503 with the error shape if the index
                             cannot be read
Errors have one shape: {"ok": false, "error": "...", "status": N} (web/errors.py).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from search.errors import SearchError

from . import errors, searching
from .app import get_engine

bp = Blueprint("api", __name__)


@bp.get("/api/search")
def search():
    _, result = searching.run(request.args)
    return jsonify(result.as_dict())


@bp.get("/api/reports/<path:report_id>")
def report(report_id: str):
    return jsonify(get_engine().report(report_id).as_dict())


@bp.get("/healthz")
def healthz():
    try:
        with get_engine().searcher() as searcher:     # the same path a search takes
            count = searcher.doc_count()
    except SearchError as exc:
        return jsonify(errors.error_body(503, errors.public_message(exc))), 503
    return jsonify({"ok": True, "reports": count})
