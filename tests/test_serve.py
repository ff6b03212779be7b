"""`flask --app app serve` (what `make run` runs), end to end: embedded Redis, first load,
gunicorn, a restart that finds the catalog again without reloading it, and shutdown by every
signal a user, a supervisor or a container runtime sends: nothing may stay running."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from finder.config import PROJECT_ROOT
from tests.support import SAMPLE_CATALOG

STOP_SECONDS = 10  # what "within a few seconds" means here, with margin for a busy CI machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def serve_command() -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", "serve"]


def start(data_dir, port, command=None):
    env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(port), "WEB_WORKERS": "1"}
    env.pop("REDIS_URL", None)
    env.pop("CATALOG", None)
    return subprocess.Popen(
        command or serve_command(), cwd=PROJECT_ROOT, env=env,
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


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def running_parts(process, data_dir) -> tuple[list[psutil.Process], list[int]]:
    """Every process serving (the serve process, gunicorn master and workers, Redis) and their ports."""
    server = json.loads((data_dir / "redis" / "server.json").read_text())
    root = psutil.Process(process.pid)
    parts = [root, *root.children(recursive=True)]
    assert server["pid"] in {part.pid for part in parts}  # Redis is this serve's own
    assert any("gunicorn" in " ".join(part.cmdline()) for part in parts)
    return parts, [server["port"]]


def assert_everything_stopped(parts: list[psutil.Process], ports: list[int], data_dir) -> None:
    gone, alive = psutil.wait_procs(parts, timeout=STOP_SECONDS)
    assert alive == [], f"still running: {[part.cmdline() for part in alive]}"
    assert not [port for port in ports if listening(port)]
    assert "ready to exit" in (data_dir / "redis" / "redis.log").read_text()  # Redis shut down in order
    assert not (data_dir / "redis" / "server.json").exists()


@pytest.fixture(scope="module")
def loaded_data_dir(tmp_path_factory):
    """A data directory whose embedded Redis holds the sample, loaded by a first `serve`, which
    Ctrl-C then stopped. Checks that first run on the way."""
    data_dir = tmp_path_factory.mktemp("serve")
    expected = sum(1 for _ in open(SAMPLE_CATALOG / "styles.csv", encoding="utf-8")) - 1
    port = free_port()
    first = start(data_dir, port)
    try:
        assert wait_until_serving(first, port) == {"status": "ok", "products": expected}
        body = get_json(f"http://127.0.0.1:{port}/api/search?q=black+watch&k=3")
        assert len(body["results"]) == 3
        parts, ports = running_parts(first, data_dir)
    finally:
        os.killpg(first.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, output
    assert "Loading catalog" in output and f"{expected} loaded" in output
    assert_everything_stopped(parts, [*ports, port], data_dir)
    return data_dir, expected


def test_a_restart_serves_the_stored_catalog_without_reloading(loaded_data_dir):
    data_dir, expected = loaded_data_dir
    port = free_port()
    again = start(data_dir, port)
    try:
        assert wait_until_serving(again, port) == {"status": "ok", "products": expected}
    finally:
        os.killpg(again.pid, signal.SIGINT)
        output, _ = again.communicate(timeout=60)
    assert again.returncode == 0, output
    assert "Loading catalog" not in output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_serving_process_alone_stops_gunicorn_and_redis(loaded_data_dir, signum):
    # What `kill`, `timeout`, systemd or a container runtime do: signal one process, not its group.
    data_dir, _ = loaded_data_dir
    port = free_port()
    serving = start(data_dir, port)
    try:
        wait_until_serving(serving, port)
        parts, ports = running_parts(serving, data_dir)
    finally:
        os.kill(serving.pid, signum)
    started = time.monotonic()
    output, _ = serving.communicate(timeout=60)
    assert time.monotonic() - started < STOP_SECONDS, output
    assert serving.returncode == 0, output
    assert_everything_stopped(parts, [*ports, port], data_dir)


def test_killing_the_parent_of_the_serving_process_stops_it_too(loaded_data_dir):
    # `kill` on `make run`'s own process: make dies without passing the signal on.
    data_dir, _ = loaded_data_dir
    port = free_port()
    parent = start(data_dir, port, ["bash", "-c", f"{' '.join(serve_command())}; echo serve returned"])
    try:
        wait_until_serving(parent, port)
        (serving,) = psutil.Process(parent.pid).children()
        parts, ports = running_parts(serving, data_dir)
    finally:
        os.kill(parent.pid, signal.SIGTERM)
    parent.communicate(timeout=60)
    assert_everything_stopped(parts, [*ports, port], data_dir)
