"""What the benchmarks share: latency summaries, markdown tables, reports saved under
bench/results/, the machine they ran on, CPU accounting, and the servers they measure (the
fashion sample in an embedded Redis, the app under gunicorn).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import redis

from finder.config import PROJECT_ROOT, Settings
from finder.index import describe_index, wait_until_indexed
from finder.redis_server import EmbeddedRedis, connect

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DEFAULT_DATA_DIR = Path("/tmp/bench-data")
FASHION_SAMPLE = Path(os.environ.get("FASHION_SAMPLE", PROJECT_ROOT.parent / "shared" / "data" / "fashion-sample"))
WARMUP_CALLS = 20
SERVER_START_TIMEOUT_SECONDS = 180.0  # gunicorn workers import torch and the app before answering


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """Percentiles of a list of durations, in milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    mean: float

    @classmethod
    def of(cls, milliseconds: Sequence[float]) -> Latency:
        values = np.asarray(milliseconds, dtype=float)
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return cls(len(values), float(p50), float(p95), float(p99), float(values.mean()))


def timed_answers(call: Callable, inputs: Sequence, warmup: int = WARMUP_CALLS,
                  warmup_inputs: Sequence | None = None) -> tuple[list[float], list]:
    """Milliseconds of `call(item)` for each input, one at a time, and what each call returned.
    Untimed calls come first, on `warmup_inputs` or else the first `warmup` inputs: connections,
    caches and lazily loaded models are ready before the clock starts."""
    for item in list(inputs)[:warmup] if warmup_inputs is None else warmup_inputs:
        call(item)
    timings, answers = [], []
    for item in inputs:
        started = time.perf_counter()
        answers.append(call(item))
        timings.append((time.perf_counter() - started) * 1000)
    return timings, answers


def time_each(call: Callable, inputs: Sequence, warmup: int = WARMUP_CALLS,
              warmup_inputs: Sequence | None = None) -> list[float]:
    """Milliseconds of `call(item)` for each input (see timed_answers)."""
    return timed_answers(call, inputs, warmup, warmup_inputs)[0]


def fmt(value, digits: int = 2) -> str:
    """A table cell: thousands separators for integers, fixed decimals for floats."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence], digits: dict[int, int] | None = None) -> str:
    """A GitHub markdown table; columns whose cells are all numbers are right-aligned. Floats get
    two decimals unless `digits` says otherwise for their column."""
    rows = [list(row) for row in rows]
    digits = digits or {}
    numeric = [
        bool(rows) and all(isinstance(row[column], (int, float, np.number)) for row in rows)
        for column in range(len(header))
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if right else "---" for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(fmt(cell, digits.get(column, 2)) for column, cell in enumerate(row)) + " |"
              for row in rows]
    return "\n".join(lines)


@dataclass
class Report:
    """One benchmark's results: markdown sections for people, raw figures for the JSON file."""

    name: str  # file stem under bench/results/
    title: str
    command: str
    context: dict[str, str] = field(default_factory=dict)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, markdown)
    data: dict = field(default_factory=dict)

    def add(self, heading: str, markdown: str) -> None:
        self.sections.append((heading, markdown))

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", f"`{self.command}`", ""]
        lines += [f"- {key}: {value}" for key, value in self.context.items()]
        for heading, body in self.sections:
            lines += ["", f"### {heading}", "", body]
        return "\n".join(lines) + "\n"

    def save(self, results_dir: Path = RESULTS_DIR) -> Path:
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{self.name}.md"
        path.write_text(self.markdown())
        payload = {"title": self.title, "command": self.command, "context": self.context, "data": self.data}
        (results_dir / f"{self.name}.json").write_text(json.dumps(payload, indent=2, default=str))
        return path


def bench_command(module: str, argv: Sequence[str]) -> str:
    """The command line that reproduces a benchmark run."""
    return " ".join([".venv/bin/python -m", module, *argv])


def machine() -> str:
    memory_gb = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or _cpu_model()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average at start {load}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def redis_versions(client: redis.Redis) -> str:
    listed = client.execute_command("MODULE", "LIST")
    modules = {
        entry[b"name"].decode(): int(entry[b"ver"])
        for entry in (dict(zip(item[::2], item[1::2], strict=True)) for item in listed)
    }
    search, json_module = modules.get("search", 0), modules.get("ReJSON", 0)
    return (f"Redis {client.info('server')['redis_version']}, RediSearch {_version(search)}, "
            f"RedisJSON {_version(json_module)} (embedded, same machine)")


def _version(number: int) -> str:
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def pyplot():
    """matplotlib's pyplot, drawing to files only (no display on a server)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def used_memory(client: redis.Redis) -> int:
    """Redis' used_memory after returning freed pages, so deltas measure what data holds."""
    client.execute_command("MEMORY", "PURGE")
    time.sleep(0.2)
    return int(client.info("memory")["used_memory"])


# --- CPU accounting -----------------------------------------------------------------------------
# The machine is shared: every figure is reported with the CPU that other processes used
# while it was measured, and the benchmarks wait for a quiet machine before they start.


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, its live descendants and its reaped children."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def _busy_cpu_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class CpuMeter:
    """Cores busy while a block runs: this process with its children, and everything else."""

    def __enter__(self) -> CpuMeter:
        self._start = (time.monotonic(), _busy_cpu_seconds(), cpu_seconds(os.getpid()))
        return self

    def __exit__(self, *exc_info) -> None:
        wall, busy, mine = time.monotonic(), _busy_cpu_seconds(), cpu_seconds(os.getpid())
        self.seconds = wall - self._start[0]
        self.mine_cores = (mine - self._start[2]) / self.seconds
        self.others_cores = max(0.0, (busy - self._start[1]) / self.seconds - self.mine_cores)


def wait_for_quiet_machine(max_other_cores: float = 0.15, window: float = 5.0, timeout: float = 60.0) -> None:
    """Wait (up to `timeout` s) until other processes use under `max_other_cores` for `window`
    seconds, so a benchmark does not measure someone else's test run."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with CpuMeter() as meter:
            time.sleep(window)
        if meter.others_cores < max_other_cores:
            return
        print(f"  waiting for a quiet machine: other processes use {meter.others_cores:.2f} cores", file=sys.stderr)
    print(f"  machine still busy after {timeout:.0f} s; measuring anyway (see 'other load')", file=sys.stderr)


@contextmanager
def measuring_quietly(context: dict[str, str]) -> Iterator[None]:
    """Wait for a quiet machine, run the measurement, and state in the report's context how much
    CPU other processes took meanwhile."""
    wait_for_quiet_machine()
    with CpuMeter() as cpu:
        yield
    context["other load"] = f"{cpu.others_cores:.2f} cores used by other processes during the run (average)"


def publish(result: Report) -> Report:
    """Print a benchmark's tables and save them (markdown and JSON) under bench/results/."""
    print(result.markdown())
    result.save()
    return result


def wait_until_idle(pid: int, max_cores: float = 0.05, timeout: float = 120.0) -> None:
    """Wait until a process tree stops using CPU (gunicorn workers load their models in the
    background after they start answering)."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - before < max_cores:
            return
        before = now


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def catalog_rows(catalog: Path) -> int:
    with open(catalog / "styles.csv", encoding="utf-8-sig") as handle:
        return sum(1 for line in handle if line.strip()) - 1


@contextmanager
def sample_redis(data_dir: Path, catalog: Path) -> Iterator[EmbeddedRedis]:
    """The embedded Redis under data_dir holding `catalog`, loaded with the real CLI the first
    time (reused afterwards: a cold load of the 8,000-product sample takes ~2 minutes)."""
    with EmbeddedRedis(data_dir / "redis") as server:
        client = connect(server.url)
        info = describe_index(client)
        if info is not None:  # a restarted server indexes its products again (~7 s for the sample),
            info = wait_until_indexed(client, info.name)  # slowing every query meanwhile
        if info is None or info.documents < catalog_rows(catalog):
            print(f"loading {catalog} into {data_dir} (once; later runs reuse it) ...", file=sys.stderr)
            run_loader(catalog, data_dir, redis_url=server.url)
        yield server


def sample_context(client: redis.Redis, catalog: Path) -> dict[str, str]:
    """Machine, server, catalog and index settings, as every table on the sample states them."""
    info = describe_index(client)
    settings = Settings()
    field = next(iter(info.vector_fields.values()))
    hnsw = (f", M {field.hnsw_m}, EF_CONSTRUCTION {field.hnsw_ef_construction}, EF_RUNTIME "
            f"{settings.hnsw_ef_runtime}" if info.algorithm == "HNSW" else "")
    return {
        "machine": machine(),
        "server": redis_versions(client),
        "catalog": f"{catalog.name}, {info.documents:,} products",
        "index": f"{info.algorithm} {info.metric} {field.datatype}{hnsw}, hybrid policy {settings.hybrid_policy}",
    }


def run_loader(catalog: Path, data_dir: Path, redis_url: str | None = None, extra: Sequence[str] = ()) -> str:
    """Run `python -m indexer load` as a user would; returns its summary line.

    Without redis_url the loader starts (and stops) the embedded Redis under data_dir itself."""
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    done = subprocess.run(
        [sys.executable, "-m", "indexer", "load", str(catalog), "--quiet", *extra],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"indexer load failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class AppServer:
    url: str
    pid: int  # gunicorn's master; its workers are its children
    workers: int
    threads: int


@contextmanager
def gunicorn(redis_url: str, data_dir: Path, workers: int, threads: int,
             extra_env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """The real app under gunicorn (app/gunicorn_config.py), configured through the environment
    like production; data_dir holds the exported models."""
    port = free_port()
    env = {
        **os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(data_dir), "HOST": "127.0.0.1",
        "PORT": str(port), "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads), **(extra_env or {}),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(RESULTS_DIR / "gunicorn.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_config", "app:create_app()"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log,
        )
    server = AppServer(f"http://127.0.0.1:{port}", process.pid, workers, threads)
    try:
        _wait_for_health(server.url, process)
        wait_until_idle(process.pid)
        yield server
    finally:
        process.terminate()  # SIGTERM: gunicorn stops its workers gracefully
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_health(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}; see {RESULTS_DIR / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /health within {SERVER_START_TIMEOUT_SECONDS:.0f} s")
