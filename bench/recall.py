"""Recall@10 of HNSW against exact search, and its latency, by EF_RUNTIME; FLAT beside it.

    .venv/bin/python -m bench.recall [--data-dir /tmp/bench-data] [--catalog PATH]
                                     [--queries 1000] [--ef 10,20,50,100,200] [--k 10]

Queries are stored product vectors (seeded sample) for both vector fields, unfiltered and with
a broad and a selective filter. Each query's own product is excluded from the index's answers
and from the truth alike. The truth is numpy over the vectors stored in Redis, with the same
filter (bench/exact.py). The index is queried the way the app does it, through
finder.search.Search.nearest; a FLAT index is created beside the HNSW one over the same hashes
for the exact-search latency, and dropped at the end. Writes bench/results/recall_vs_latency.png.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import redis

from bench.common import (
    DEFAULT_DATA_DIR,
    FASHION_SAMPLE,
    RESULTS_DIR,
    Latency,
    Report,
    bench_command,
    markdown_table,
    measuring_quietly,
    publish,
    pyplot,
    sample_context,
    sample_redis,
    timed_answers,
)
from bench.exact import ExactNeighbours
from bench.workload import SEED, stored_product_ids
from finder.config import Settings
from finder.index import create_index, describe_index, drop_index, wait_until_indexed
from finder.queries import Filters
from finder.redis_server import connect
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, VECTOR_FIELDS, build_schema, search_key, vector_array
from finder.search import Search
from finder.store import ProductStore

FLAT_INDEX = "bench:flat"
RECALL_TARGET = 0.99
WORST_QUERY_FLOOR = 0.9  # a default should not leave any shopper with a mostly wrong answer
FILTERS = {
    "none": Filters(),
    "gender=Men (broad)": Filters(tags={"gender": ("Men",)}),
    "gender=Women & category=Footwear (selective)": Filters(tags={"gender": ("Women",), "category": ("Footwear",)}),
}


@dataclass(frozen=True)
class Point:
    field: str
    filter: str
    passing: int  # products that pass the filter
    algorithm: str
    ef_runtime: int | None
    recall: float  # mean recall@k over the queries
    worst_recall: float
    latency: Latency


@dataclass(frozen=True)
class StoredCatalog:
    ids: list[str]
    vectors: dict[str, np.ndarray]  # field -> (products, dims)
    tags: dict[str, np.ndarray]  # filter attribute -> lower-cased value per product

    def passing(self, filters: Filters) -> np.ndarray:
        """Which products a filter lets through; tag matching ignores case, like RediSearch."""
        mask = np.ones(len(self.ids), dtype=bool)
        for name, values in filters.tags.items():
            mask &= np.isin(self.tags[name], [value.lower() for value in values])
        return mask


def read_stored(client: redis.Redis, attributes: set[str]) -> StoredCatalog:
    """Every product's vectors and filter fields, as the index reads them from the search hashes."""
    ids = stored_product_ids(client)
    live = describe_index(client)
    fields = [*(live.sources[field] for field in VECTOR_FIELDS), *sorted(attributes)]
    rows = []
    for start in range(0, len(ids), 1000):
        pipe = client.pipeline(transaction=False)
        for product_id in ids[start:start + 1000]:
            pipe.hmget(search_key(product_id), fields)
        rows += pipe.execute()
    return StoredCatalog(
        ids=ids,
        vectors={field: np.stack([vector_array(row[i], live.datatype) for row in rows])
                 for i, field in enumerate(VECTOR_FIELDS)},
        tags={name: np.array([(row[i] or b"").decode().lower() for row in rows])
              for i, name in enumerate(fields[2:], start=2)},
    )


def create_flat_index(client: redis.Redis) -> None:
    """A FLAT index over the vectors the live index searches (same sizes, image space and datatype)."""
    if describe_index(client, FLAT_INDEX) is not None:  # left over from an interrupted run
        drop_index(client, FLAT_INDEX)
    live = describe_index(client)
    dims = {name: field.dims for name, field in live.vector_fields.items()}
    # No alias: the app's alias keeps pointing at the HNSW index; this one is queried by its name.
    create_index(client, build_schema(Settings(index_algorithm="FLAT", vector_datatype=live.datatype),
                                      dims[TEXT_VECTOR], dims[IMAGE_VECTOR], name=FLAT_INDEX),
                 alias=None, image_generation=live.image_generation)
    wait_until_indexed(client, FLAT_INDEX)


def measure(redis_url: str, queries: int, ef_values: list[int], k: int) -> list[Point]:
    client = connect(redis_url, timeout=60)
    store = ProductStore(client)
    settings = Settings(redis_url=redis_url)
    catalog = read_stored(client, {name for filters in FILTERS.values() for name in filters.tags})
    chosen = np.random.default_rng(SEED).choice(len(catalog.ids), size=min(queries, len(catalog.ids)), replace=False)
    query_ids = [catalog.ids[i] for i in chosen]
    hnsw = Search(client, store, settings)
    flat = Search(client, store, settings, index_name=FLAT_INDEX)
    create_flat_index(client)
    indexes = [("HNSW", hnsw, value) for value in ef_values] + [("FLAT", flat, None)]
    points = []
    try:
        for field in (TEXT_VECTOR, IMAGE_VECTOR):
            query_vectors = catalog.vectors[field][chosen]
            for filter_name, filters in FILTERS.items():
                passing = catalog.passing(filters)
                truth = ExactNeighbours(query_vectors, k, exclude_ids=query_ids)
                truth.add(catalog.ids, catalog.vectors[field], passing)
                queries = list(zip(query_vectors, query_ids, strict=True))
                for algorithm, search, ef in indexes:
                    ask = partial(nearest_ids, search, field, filters, ef, k)
                    timings, answers = timed_answers(ask, queries)
                    recalls = [truth.recall(i, found) for i, found in enumerate(answers)]
                    points.append(Point(field, filter_name, int(passing.sum()), algorithm, ef,
                                        float(np.mean(recalls)), float(np.min(recalls)), Latency.of(timings)))
                print(f"  {field} / {filter_name}: done", file=sys.stderr)
    finally:
        drop_index(client, FLAT_INDEX)
    return points


def nearest_ids(search: Search, field: str, filters: Filters, ef_runtime: int | None, k: int,
                query: tuple[np.ndarray, str]) -> list[str]:
    """The app's search for the products nearest a stored product's vector, itself excluded."""
    vector, product_id = query
    hits = search.nearest(field, vector, k, filters, ef_runtime=ef_runtime, exclude_id=product_id)
    return [hit.product.id for hit in hits]


def smallest_ef(points: list[Point], meets) -> int | None:
    """The smallest EF_RUNTIME whose HNSW points all meet a condition (every field and filter)."""
    hnsw = [point for point in points if point.algorithm == "HNSW"]
    for ef in sorted({point.ef_runtime for point in hnsw}):
        if all(meets(point) for point in hnsw if point.ef_runtime == ef):
            return ef
    return None


def plot(points: list[Point], path: Path, title: str) -> Path:
    plt = pyplot()
    fields = list(dict.fromkeys(point.field for point in points))
    figure, axes = plt.subplots(1, len(fields), figsize=(6 * len(fields), 4.5), squeeze=False)
    for axis, field in zip(axes[0], fields, strict=True):
        for color, filter_name in zip(("tab:blue", "tab:orange", "tab:green"), FILTERS, strict=True):
            selected = [p for p in points if p.field == field and p.filter == filter_name]
            hnsw = [p for p in selected if p.algorithm == "HNSW"]
            axis.plot([p.latency.p50 for p in hnsw], [p.recall for p in hnsw], "o-", color=color,
                      label=f"HNSW, filter {filter_name}")
            if min(p.recall for p in hnsw) < 1.0:  # label EF where recall moves; elsewhere labels only overlap
                for p in hnsw:
                    axis.annotate(f"ef {p.ef_runtime}", (p.latency.p50, p.recall), fontsize=7,
                                  textcoords="offset points", xytext=(4, -9))
            for p in selected:
                if p.algorithm == "FLAT":
                    axis.plot(p.latency.p50, p.recall, "s", color=color, markersize=8, markerfacecolor="none",
                              label=f"FLAT, filter {filter_name}")
        axis.axhline(RECALL_TARGET, color="grey", linestyle=":", linewidth=1)
        axis.set_title(field)
        axis.set_xlabel("p50 latency per search, ms (finder.search.Search.nearest)")
        axis.set_ylabel("recall@10 vs exact")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def report(points: list[Point], k: int, command: str, context: dict[str, str]) -> Report:
    result = Report("recall", f"Recall@{k} vs speed", command, context)
    result.add(f"Recall@{k} against exact search and latency (ms) per search", markdown_table(
        ["field", "filter", "passing", "index", "EF_RUNTIME", f"recall@{k}", "worst query", "p50", "p99"],
        [[p.field, p.filter, p.passing, p.algorithm, p.ef_runtime or "-", p.recall, p.worst_recall,
          p.latency.p50, p.latency.p99] for p in points],
        digits={5: 4},
    ))
    mean_ef = smallest_ef(points, lambda point: point.recall >= RECALL_TARGET)
    worst_ef = smallest_ef(points, lambda point: point.worst_recall >= WORST_QUERY_FLOOR)
    result.add(f"Target: a default EF_RUNTIME with recall@{k} >= {RECALL_TARGET} filtered and unfiltered", "\n".join([
        f"- Smallest EF_RUNTIME measured whose mean recall@{k} meets it for both fields and every filter: "
        + (f"**{mean_ef}**." if mean_ef else "none: **not met**."),
        f"- Smallest EF_RUNTIME where no query finds fewer than {WORST_QUERY_FLOOR:.0%} of its true neighbours: "
        + (f"**{worst_ef}**." if worst_ef else "none."),
    ]))
    result.data = {"points": [asdict(point) for point in points], "smallest_ef_meeting_target": mean_ef,
                   "smallest_ef_worst_query_floor": worst_ef}
    return result


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", type=lambda text: [int(v) for v in text.split(",")], default="10,20,50,100,200")
    parser.add_argument("--k", type=int, default=10)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    with sample_redis(args.data_dir, args.catalog) as server:
        context = sample_context(connect(server.url), args.catalog)
        context["queries"] = (f"{args.queries} stored product vectors per field and filter, the product itself "
                              "excluded; latency is Search.nearest (KNN + JSON.MGET of the results), one client")
        with measuring_quietly(context):
            points = measure(server.url, args.queries, args.ef, args.k)
    result = report(points, args.k, bench_command("bench.recall", argv), context)
    figure = plot(points, RESULTS_DIR / "recall_vs_latency.png",
                  f"{context['catalog']}; {context['index']}")
    result.add("Plot", f"![recall vs latency]({figure.name})")
    return publish(result)


if __name__ == "__main__":
    main()
