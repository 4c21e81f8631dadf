"""The app factory (the flaskr way): settings and the Engine are built once here and passed
down; each request asks `get_engine()` for them, and the Engine opens one Whoosh searcher per
call and closes it, so reports indexed while the server runs are seen by the next request.
The web app only reads: it never opens an index writer.

Configuration (app.config; `FLASK_`-prefixed environment variables override the defaults,
`test_config` overrides both):

    RATELIMIT_ENABLED   True; False turns rate limiting off (tests, load benchmarks)
    RATELIMIT_APPLICATION  "120 per minute": requests per client address, all pages and API
                        routes together except /static and /healthz (memory storage: counts
                        live in the one waitress process)
    DEBUG               always False here, whatever FLASK_DEBUG says (`reports serve --debug`
                        turns it on through Flask's development server)
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from search.settings import Settings

from . import errors, present

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
UNLIMITED_ENDPOINTS = {"static", "api.healthz"}


def create_app(settings: Settings | None = None, engine=None, test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        RATELIMIT_ENABLED=True,
        RATELIMIT_APPLICATION="120 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=False,
    )
    app.config.from_prefixed_env()
    # Debug mode only from `reports serve --debug` or `flask run --debug` (both set it on the
    # app themselves): a FLASK_DEBUG left in the environment must not reach waitress.
    app.config["DEBUG"] = False
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    settings = settings or Settings.from_env()
    if engine is None:
        from search.engine import Engine

        engine = Engine.from_settings(settings)
    app.extensions["reports"] = {"settings": settings, "engine": engine}

    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    limiter.request_filter(lambda: request.endpoint in UNLIMITED_ENDPOINTS)
    app.extensions["reports"]["limiter"] = limiter

    from . import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    errors.register(app)
    app.teardown_appcontext(release)
    app.after_request(security_headers)
    app.jinja_env.filters["human_date"] = present.human_date
    app.jinja_env.globals.update(report_url=present.report_url, entity_url=present.entity_url)
    return app


def get_settings() -> Settings:
    return current_app.extensions["reports"]["settings"]


def get_engine():
    """The request's Engine (shared and thread-safe: every call opens and closes its own
    searcher). Kept on `g` like flaskr's database connection."""
    if "engine" not in g:
        g.engine = current_app.extensions["reports"]["engine"]
    return g.engine


def release(exc=None) -> None:
    g.pop("engine", None)


def security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
