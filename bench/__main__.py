"""Run a set of benchmarks, print their markdown tables and save them under bench/results/.

    .venv/bin/python -m bench quick [--data-dir /tmp/bench-data] [--catalog PATH]   # make bench
    .venv/bin/python -m bench full  [--data-dir /tmp/bench-data] [--catalog PATH]   # make bench-full

quick (under 10 minutes once the sample is loaded): latency, throughput with the default
gunicorn configuration, recall. full: latency, throughput over several gunicorn configurations,
recall, load speed (cold and warm) and scale (10k, 100k, 1M or the largest that fits; FLOAT16
at 100k; about two hours). The catalog (default ../shared/data/fashion-sample) is loaded into
the embedded Redis under --data-dir on first use and reused afterwards. Each module also runs
on its own: python -m bench.latency --help, and so on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import latency, load_speed, recall, scale, throughput
from bench.common import DEFAULT_DATA_DIR, FASHION_SAMPLE, RESULTS_DIR


def sets(data_dir: Path, catalog: Path) -> dict[str, list]:
    sample = ["--data-dir", str(data_dir), "--catalog", str(catalog)]
    return {
        "quick": [
            (latency.main, sample),
            (throughput.main, [*sample, "--configs", "2x4"]),
            (recall.main, sample),
        ],
        "full": [
            (latency.main, sample),
            (throughput.main, sample),
            (recall.main, sample),
            (load_speed.main, ["--catalog", str(catalog)]),
            (scale.main, ["--catalog", str(catalog)]),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", choices=("quick", "full"))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    args = parser.parse_args()
    if not (args.catalog / "styles.csv").is_file():
        sys.exit(f"catalog not found: {args.catalog} (set --catalog or FASHION_SAMPLE)")
    started = time.monotonic()
    reports = []
    for run, argv in sets(args.data_dir, args.catalog)[args.set]:
        reports.append(run(argv))
    minutes = (time.monotonic() - started) / 60
    summary = RESULTS_DIR / f"{args.set}.md"
    summary.write_text("\n".join(report.markdown() for report in reports)
                       + f"\n`python -m bench {args.set}` took {minutes:.1f} minutes.\n")
    print(f"\n{args.set} set done in {minutes:.1f} minutes; tables in {RESULTS_DIR}/ ({summary.name}: all of them)")


if __name__ == "__main__":
    main()
