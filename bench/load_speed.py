"""Load speed of the real loader CLI: a cold load and a warm re-run of a catalog.

    .venv/bin/python -m bench.load_speed [--catalog PATH] [--limit N]

- cold: `python -m indexer load CATALOG` with DATA_DIR a new temporary directory, so Redis is
  empty and the models have not been exported yet; timed from the command's start to its
  exit (Python start, embedded Redis start, model load and ONNX export, embedding, writes).
- warm: the same command again; every product is unchanged and skipped without embedding.
- model load on its own, in a fresh process: imports plus both models, with an empty model
  cache (what the cold load pays, ONNX export included) and with the cache filled.
- embedding alone, in this process: photos and texts of the first products, in the loader's
  batch size, to show where a cold load's time goes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import (
    FASHION_SAMPLE,
    Report,
    bench_command,
    machine,
    markdown_table,
    measuring_quietly,
    publish,
    run_loader,
)
from finder.config import PROJECT_ROOT, Settings
from finder.embeddings import EfficientNetLite, Embedder
from indexer.catalog import read_catalog
from indexer.loader import BATCH_SIZE

MODEL_LOAD_SCRIPT = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from finder.config import Settings
from finder.embeddings import Embedder
Embedder.from_settings(Settings(data_dir=Path(sys.argv[1]))).warm_up()
print(time.perf_counter() - started)
"""
SUMMARY = re.compile(r"(?P<rows>\d+) rows: (?P<loaded>\d+) loaded, (?P<skipped>\d+) skipped .*?, "
                     r"(?P<failed>\d+) failed, (?P<seconds>[\d.]+) s")
EMBEDDING_SAMPLE = 512


@dataclass(frozen=True)
class LoaderRun:
    name: str
    wall_seconds: float  # the whole command
    loader_seconds: float  # the loader's own figure: read, plan, embed, write
    rows: int
    loaded: int
    skipped: int
    failed: int


def timed_load(name: str, catalog: Path, data_dir: Path, limit: int | None) -> LoaderRun:
    started = time.perf_counter()
    summary = run_loader(catalog, data_dir, extra=["--limit", str(limit)] if limit else [])
    wall = time.perf_counter() - started
    figures = SUMMARY.search(summary)
    if figures is None:
        raise RuntimeError(f"unexpected loader summary: {summary}")
    return LoaderRun(name, wall, float(figures["seconds"]),
                     *(int(figures[key]) for key in ("rows", "loaded", "skipped", "failed")))


def model_load_seconds(data_dir: Path) -> float:
    done = subprocess.run([sys.executable, "-c", MODEL_LOAD_SCRIPT, str(data_dir)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def embedding_rates(catalog: Path, data_dir: Path, count: int) -> dict[str, float]:
    """Items per second for photos (decode + model) and texts, in the loader's batches."""
    rows, _ = read_catalog(catalog, limit=count)
    embedder = Embedder.from_settings(Settings(data_dir=data_dir))
    embedder.warm_up()
    rates = {}
    for kind, items, embed in (
        ("photos", [row.image_path for row in rows], embedder.embed_images),
        ("texts", [row.product.embedding_text() for row in rows], embedder.embed_texts),
    ):
        started = time.perf_counter()
        for start in range(0, len(items), BATCH_SIZE):
            embed(items[start:start + BATCH_SIZE])
        rates[kind] = len(items) / (time.perf_counter() - started)
    return rates


def measure(catalog: Path, limit: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        data_dir = Path(folder)
        fresh_model_load = model_load_seconds(data_dir / "fresh-cache")
        cold = timed_load("cold", catalog, data_dir, limit)  # exports the models into data_dir/models again
        warm = timed_load("warm re-run", catalog, data_dir, limit)
        cached_model_load = model_load_seconds(data_dir)
        rates = embedding_rates(catalog, data_dir, min(EMBEDDING_SAMPLE, limit or EMBEDDING_SAMPLE))
    return {"runs": [cold, warm], "model_load": {"empty cache (ONNX export)": fresh_model_load,
                                                  "cache filled": cached_model_load}, "embedding": rates}


def report(figures: dict, command: str, context: dict[str, str]) -> Report:
    cold, warm = figures["runs"]
    result = Report("load_speed", "Load speed", command, context)
    result.add("python -m indexer load", markdown_table(
        ["run", "rows", "loaded", "skipped", "failed", "wall s", "products/s (wall)", "loader s"],
        [[run.name, run.rows, run.loaded, run.skipped, run.failed, run.wall_seconds,
          (run.loaded or run.rows) / run.wall_seconds, run.loader_seconds] for run in (cold, warm)],
        digits={5: 1, 6: 1, 7: 1},
    ))
    result.add("Where the time goes", markdown_table(
        ["part", "figure"],
        [*[[f"model load, new process, {name}", f"{seconds:.1f} s"] for name, seconds in figures["model_load"].items()],
         *[[f"embedding {kind} alone (batches of {BATCH_SIZE})", f"{rate:.0f} per s"]
           for kind, rate in figures["embedding"].items()]],
    ))
    cold_rate = cold.loaded / cold.wall_seconds
    result.add("Targets", markdown_table(
        ["target", "measured", "met"],
        [["cold load >= 100 products/s (model load included)", f"{cold_rate:.1f} products/s",
          "yes" if cold_rate >= 100 else "**no**"],
         ["warm re-run < 10 s", f"{warm.wall_seconds:.1f} s", "yes" if warm.wall_seconds < 10 else "**no**"]],
    ))
    result.data = {"runs": [asdict(run) for run in figures["runs"]], "model_load_seconds": figures["model_load"],
                   "embedding_per_second": figures["embedding"]}
    return result


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    parser.add_argument("--limit", type=int, help="load only the first N rows")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    context = {
        "machine": machine(),
        "catalog": f"{args.catalog.name}{f', first {args.limit} rows' if args.limit else ''}",
        "index": "the defaults: HNSW COSINE FLOAT32, M 16, EF_CONSTRUCTION 200; embedded Redis (append-only file on)",
        "models": f"text {settings.text_model}, image {settings.image_model} (computing in "
                  f"{EfficientNetLite.precision_of(settings.image_model)}), CPU",
    }
    with measuring_quietly(context):
        figures = measure(args.catalog, args.limit)
    return publish(report(figures, bench_command("bench.load_speed", argv), context))


if __name__ == "__main__":
    main()
