"""Throughput under load: concurrent users (locust, headless) against the app under gunicorn.

    .venv/bin/python -m bench.throughput [--data-dir /tmp/bench-data] [--catalog PATH]
        [--configs 2x4,3x4,4x2,2x8] [--mixes mixed,similar] [--users 80] [--spawn-rate 20] [--duration 60]

For each gunicorn configuration (workers x threads) and each mix (bench/locustfile.py: `mixed`
is browse 30% / similar 50% / free-text 20%, `similar` is similar only) this runs
`locust --headless -u USERS -r SPAWN_RATE -t DURATION` and reports requests/s, latency
percentiles and errors, with the CPU each part used. Free text comes from a pool of 500 shopper
queries (bench/workload.py); the query-vector cache is emptied before each run and its hit rate
over the run reported. The load generator runs on the same 2
cores as the app and Redis; its share is measured and reported, not hidden.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import redis

from bench.common import (
    DEFAULT_DATA_DIR,
    FASHION_SAMPLE,
    RESULTS_DIR,
    AppServer,
    CpuMeter,
    Report,
    bench_command,
    cpu_seconds,
    gunicorn,
    markdown_table,
    publish,
    sample_context,
    sample_redis,
    wait_for_quiet_machine,
)
from bench.workload import sample_workload
from finder.config import PROJECT_ROOT, Settings
from finder.query_vectors import QueryVectorCache
from finder.redis_server import connect

LOCUSTFILE = PROJECT_ROOT / "bench" / "locustfile.py"
WORKLOAD_QUERIES = 2000
KINDS = ("browse", "similar", "free-text")


@dataclass(frozen=True)
class Stats:
    requests: int
    failures: int
    requests_per_second: float
    p50: float
    p99: float
    mean: float


@dataclass(frozen=True)
class LoadRun:
    workers: int
    threads: int
    mix: str
    total: Stats
    by_kind: dict[str, Stats]
    cores_app: float  # gunicorn master and workers
    cores_redis: float
    cores_load_generator: float
    cores_other: float  # processes outside this benchmark
    load_generator_warned: bool  # locust said its own CPU was saturated
    query_cache_lookups: int  # free-text queries that looked for a cached query vector
    query_cache_hits: int

    @property
    def query_cache_hit_rate(self) -> float:
        return self.query_cache_hits / self.query_cache_lookups if self.query_cache_lookups else math.nan

    @property
    def config(self) -> str:
        return f"{self.workers}x{self.threads}"


def run_locust(app: AppServer, redis_pid: int, client: redis.Redis, workload: Path, mix: str, users: int,
               spawn_rate: int, duration: int, out_dir: Path = RESULTS_DIR) -> LoadRun:
    """One locust run against a running app; its CSV files go to out_dir. The query-vector cache
    starts empty, so the run pays for embedding each query of the pool once."""
    prefix = out_dir / f"locust-{app.workers}x{app.threads}-{mix}"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
        "-r", str(spawn_rate), "-t", f"{duration}s", "--host", app.url, "--csv", str(prefix),
        "--only-summary", "--loglevel", "WARNING",
    ]
    env = {**os.environ, "BENCH_WORKLOAD": str(workload), "BENCH_MIX": mix, "PYTHONPATH": str(PROJECT_ROOT)}
    # The app's cache: gunicorn inherits this environment.
    query_vectors = QueryVectorCache.from_settings(client, Settings.from_env())
    query_vectors.clear()
    app_before, redis_before = cpu_seconds(app.pid), cpu_seconds(redis_pid)
    # locust is the only child that exits during the run, so the children's rusage delta is its CPU.
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with CpuMeter() as meter:
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: the run finished with failed requests (reported below)
        raise RuntimeError(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    locust_seconds = (children_after.ru_utime + children_after.ru_stime
                      - children_before.ru_utime - children_before.ru_stime)
    counted = query_vectors.stats()
    stats = read_locust_stats(Path(f"{prefix}_stats.csv"))
    if not stats["Aggregated"].requests:
        raise RuntimeError(f"no request completed within {duration} s; locust said:\n{done.stderr[-3000:]}")
    return LoadRun(
        workers=app.workers, threads=app.threads, mix=mix,
        total=stats.pop("Aggregated"), by_kind=stats,
        cores_app=(cpu_seconds(app.pid) - app_before) / meter.seconds,
        cores_redis=(cpu_seconds(redis_pid) - redis_before) / meter.seconds,
        cores_load_generator=locust_seconds / meter.seconds,
        cores_other=meter.others_cores,
        load_generator_warned="CPU usage above" in done.stderr,
        query_cache_lookups=counted["lookups"], query_cache_hits=counted["hits"],
    )


def read_locust_stats(path: Path) -> dict[str, Stats]:
    """Locust's summary CSV: one row per request name plus `Aggregated`. A row without requests has
    no percentiles ("N/A"); they read as NaN."""
    def milliseconds(cell: str) -> float:
        return math.nan if cell == "N/A" else float(cell)

    with open(path, newline="") as handle:
        return {
            row["Name"]: Stats(
                requests=int(row["Request Count"]), failures=int(row["Failure Count"]),
                requests_per_second=float(row["Requests/s"]), p50=milliseconds(row["50%"]),
                p99=milliseconds(row["99%"]), mean=float(row["Average Response Time"]),
            )
            for row in csv.DictReader(handle)
        }


def measure(redis_url: str, redis_pid: int, data_dir: Path, configs: list[tuple[int, int]], mixes: list[str],
            users: int, spawn_rate: int, duration: int) -> list[LoadRun]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    client = connect(redis_url)
    workload = sample_workload(client, WORKLOAD_QUERIES).save(RESULTS_DIR / "workload.json")
    runs = []
    for workers, threads in configs:
        with gunicorn(redis_url, data_dir, workers, threads) as app:
            for mix in mixes:
                wait_for_quiet_machine()
                run = run_locust(app, redis_pid, client, workload, mix, users, spawn_rate, duration)
                print(f"  {run.config} {mix}: {run.total.requests_per_second:.0f} req/s, p99 {run.total.p99:.0f} ms, "
                      f"{run.total.failures} errors, query cache hit rate {run.query_cache_hit_rate:.3f}",
                      file=sys.stderr)
                runs.append(run)
    return runs


def report(runs: list[LoadRun], users: int, command: str, context: dict[str, str],
           name: str = "throughput") -> Report:
    result = Report(name, f"Throughput, {users} concurrent users", command, context)
    result.add("Requests per second and latency (ms) by gunicorn workers x threads", markdown_table(
        ["workers x threads", "mix", "req/s", "p50", "p99", "mean", "requests", "errors",
         "query cache hit rate", "cores: app", "Redis", "locust", "others"],
        [[run.config, run.mix, run.total.requests_per_second, run.total.p50, run.total.p99, run.total.mean,
          run.total.requests, run.total.failures, run.query_cache_hit_rate, run.cores_app, run.cores_redis,
          run.cores_load_generator, run.cores_other] for run in runs],
    ))
    result.add("By request kind", markdown_table(
        ["workers x threads", "mix", "request", "req/s", "p50", "p99", "errors"],
        [[run.config, run.mix, kind, stats.requests_per_second, stats.p50, stats.p99, stats.failures]
         for run in runs for kind, stats in run.by_kind.items()],
    ))
    mixed = [run for run in runs if run.mix == "mixed"]
    if mixed:
        best = max(mixed, key=lambda run: run.total.requests_per_second)
        met = best.total.requests_per_second >= 500 and best.total.p99 <= 250 and best.total.failures == 0
        result.add("Target: mixed >= 500 req/s with p99 <= 250 ms and zero errors", (
            f"Best mixed run: {best.config}, {best.total.requests_per_second:.0f} req/s, p99 {best.total.p99:.0f} ms, "
            f"{best.total.failures} errors: {'met' if met else '**not met**'}."
        ))
    warned = [run for run in runs if run.load_generator_warned]
    if warned:
        result.add("Load generator", "locust warned that its own CPU was saturated in: "
                   + ", ".join(f"{run.config} {run.mix}" for run in warned))
    result.data = {"runs": [asdict(run) for run in runs]}
    return result


def parse_configs(text: str) -> list[tuple[int, int]]:
    return [tuple(int(part) for part in item.split("x")) for item in text.split(",")]


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    parser.add_argument("--configs", type=parse_configs, default="2x4,3x4,4x2,2x8",
                        help="gunicorn workers x threads to try, comma-separated")
    parser.add_argument("--mixes", type=lambda text: text.split(","), default="mixed,similar")
    parser.add_argument("--users", type=int, default=80)
    parser.add_argument("--spawn-rate", type=int, default=20)
    parser.add_argument("--duration", type=int, default=60, help="seconds per run")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    with sample_redis(args.data_dir, args.catalog) as server:
        context = {
            **sample_context(connect(server.url), args.catalog),
            "load": f"locust {args.users} users (FastHttpUser, no think time), spawn rate {args.spawn_rate}/s, "
                    f"{args.duration} s per run (ramp-up included), on the same machine",
            "cores": "CPU cores busy on average during the run: gunicorn (all workers), Redis, locust, "
                     "and other processes on the machine",
        }
        runs = measure(server.url, server.pid, args.data_dir, args.configs, args.mixes,
                       args.users, args.spawn_rate, args.duration)
    result = report(runs, args.users, bench_command("bench.throughput", argv), context)
    return publish(result)


if __name__ == "__main__":
    main()
