"""`flask --app app serve`: load the catalog if needed, then serve the app with gunicorn."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

import click
from flask import Flask

from app.services import services

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def register(app: Flask) -> None:
    app.cli.add_command(serve)


@click.command("serve")
def serve() -> None:
    """Load the catalog when the index is empty (or CATALOG is set), then serve with gunicorn.

    Runs in the process that started the embedded Redis (if any), which stops it on exit: SIGTERM
    or SIGINT (Ctrl-C) stop gunicorn first, then this process exits and stops Redis (atexit).
    """
    _exit_with_parent()  # `kill` on `make run`'s own process must not leave this one serving
    children = ChildProcess()
    finder = services()
    settings = finder.settings
    env = {**os.environ, "REDIS_URL": finder.redis_url}
    if settings.catalog or finder.search.count() == 0:
        # In a child process, so the models it loads do not stay in this long-lived process.
        click.echo(f"Loading catalog {settings.catalog_path} ...")
        loaded = children.run([sys.executable, "-m", "indexer", "load", str(settings.catalog_path)], env)
        if children.stopped_by is not None:
            return
        if loaded != 0:
            raise click.ClickException(f"loading {settings.catalog_path} failed (exit code {loaded})")
    finder.store.ensure_suggestions()  # a catalog loaded before autocomplete existed gets its dictionary
    click.echo(
        f"\nProduct finder: http://{settings.host}:{settings.port}/  "
        f"({finder.search.count()} products, Redis at {finder.redis_url}). Ctrl-C stops.\n"
    )
    command = [sys.executable, "-m", "gunicorn", "--config", "python:app.gunicorn_config", "app:create_app()"]
    returncode = children.run(command, env)
    if children.stopped_by is None and returncode != 0:
        raise click.ClickException(f"gunicorn exited with code {returncode}")


class ChildProcess:
    """Runs one child process at a time and passes SIGTERM and SIGINT on to it.

    Children get a session of their own, so a signal reaches them once, from here, whether it came
    from the terminal (Ctrl-C reaches the whole foreground group) or from `kill` (this process only).
    Once a stop signal has arrived, no further child starts."""

    def __init__(self):
        self.stopped_by: int | None = None
        self._process: subprocess.Popen | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)

    def run(self, command: list[str], env: dict[str, str]) -> int | None:
        """The child's exit code; None if a stop signal came before it could start."""
        if self.stopped_by is not None:
            return None
        self._process = subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_exit_with_parent)
        if self.stopped_by is not None:  # the signal came while the child was starting
            self._process.send_signal(self.stopped_by)
        return self._process.wait()

    def _on_stop_signal(self, signum: int, frame) -> None:
        self.stopped_by = signum
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signum)  # gunicorn: SIGTERM stops gracefully, SIGINT at once


def _exit_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
