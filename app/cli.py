"""`flask --app app serve`: load the catalog if needed, then serve the app with gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from flask import Flask

from app.services import services


def register(app: Flask) -> None:
    app.cli.add_command(serve)


@click.command("serve")
def serve() -> None:
    """Load the catalog when the index is empty (or CATALOG is set), then serve with gunicorn.

    Runs in the process that started the embedded Redis (if any), which stops it on exit.
    """
    finder = services()
    settings = finder.settings
    env = {**os.environ, "REDIS_URL": finder.redis_url}
    if settings.catalog or finder.search.count() == 0:
        # In a child process, so the models it loads do not stay in this long-lived process.
        click.echo(f"Loading catalog {settings.catalog_path} ...")
        loaded = subprocess.run([sys.executable, "-m", "indexer", "load", str(settings.catalog_path)], env=env)
        if loaded.returncode != 0:
            raise click.ClickException(f"loading {settings.catalog_path} failed (exit code {loaded.returncode})")
    click.echo(
        f"\nProduct finder: http://{settings.host}:{settings.port}/  "
        f"({finder.search.count()} products, Redis at {finder.redis_url}). Ctrl-C stops.\n"
    )
    command = [sys.executable, "-m", "gunicorn", "--config", "python:app.gunicorn_config", "app:create_app()"]
    gunicorn = subprocess.Popen(command, env=env)
    try:
        returncode = gunicorn.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to gunicorn too; let it finish shutting down
        returncode = gunicorn.wait()
    if returncode not in (0, -2):
        raise click.ClickException(f"gunicorn exited with code {returncode}")
