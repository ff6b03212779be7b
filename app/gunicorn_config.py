"""gunicorn settings, from the same environment variables as everything else (finder/config.py).

Used by `flask --app app serve` and by the container: gunicorn -c python:app.gunicorn_config "app:create_app()"
"""

import threading

from finder.config import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_workers
threads = _settings.web_threads
timeout = 120
graceful_timeout = 10


def post_worker_init(worker):
    # Load the embedding models as soon as a worker starts, in the background, so the first
    # free-text or photo search does not wait seconds for them. worker.wsgi is the Flask app.
    embedder = worker.wsgi.extensions["finder"].embedder
    threading.Thread(target=embedder.warm_up, name="warm-up", daemon=True).start()
