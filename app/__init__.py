"""The web app: `create_app()` builds it from the environment (see finder/config.py)."""

from __future__ import annotations

import atexit

from flask import Flask

from app import api, api_writes, cli, errors, pages
from app.limits import max_upload_bytes
from app.services import Services
from finder.config import PROJECT_ROOT, Settings
from finder.redis_server import resolve_redis


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.json.sort_keys = False  # keep fields in their documented order
    app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes(settings)

    redis_url, embedded = resolve_redis(settings)
    if embedded:
        atexit.register(embedded.stop)

    app.extensions["finder"] = Services.create(settings, redis_url)
    errors.register(app)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(api_writes.blueprint)
    cli.register(app)
    return app
