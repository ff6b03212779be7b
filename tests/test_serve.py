"""`flask --app app serve` (what `make run` runs), end to end: embedded Redis, first load,
gunicorn, Ctrl-C, and a restart that finds the catalog again without reloading it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from finder.config import PROJECT_ROOT
from tests.support import SAMPLE_CATALOG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def start(data_dir, port):
    env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(port), "WEB_WORKERS": "1"}
    env.pop("REDIS_URL", None)
    env.pop("CATALOG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def wait_until_serving(process, port, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early:\n{process.stdout.read()}")
        try:
            return get_json(f"http://127.0.0.1:{port}/health")
        except OSError:
            time.sleep(0.5)
    pytest.fail("serve did not answer in time")


def interrupt(process) -> str:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    output, _ = process.communicate(timeout=60)
    return output


def test_serve_loads_serves_stops_and_restarts_without_reloading(tmp_path):
    expected = sum(1 for _ in open(SAMPLE_CATALOG / "styles.csv", encoding="utf-8")) - 1
    port = free_port()
    first = start(tmp_path, port)
    try:
        assert wait_until_serving(first, port) == {"status": "ok", "products": expected}
        body = get_json(f"http://127.0.0.1:{port}/api/search?q=black+watch&k=3")
        assert len(body["results"]) == 3
        server = json.loads((tmp_path / "redis" / "server.json").read_text())
    finally:
        output = interrupt(first)
    assert first.returncode == 0, output
    assert "Loading catalog" in output and f"{expected} loaded" in output
    with pytest.raises(OSError):  # the embedded Redis stopped with the app
        socket.create_connection(("127.0.0.1", server["port"]), timeout=1)

    second = start(tmp_path, port)
    try:
        assert wait_until_serving(second, port) == {"status": "ok", "products": expected}
    finally:
        output = interrupt(second)
    assert second.returncode == 0, output
    assert "Loading catalog" not in output
