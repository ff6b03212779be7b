"""Scale: synthetic catalogs with the real vector sizes, from 10k to 1M products.

    .venv/bin/python -m bench.scale [--sizes 10000,100000,1000000] [--float16-sizes 100000]
        [--queries 1000] [--flat-queries 100] [--ef 10,20,50,100,200,500,1000] [--catalog PATH]
        [--vectors clustered|random] [--data-dir /tmp/bench-data] [--headroom-gb 6] [--max-load-minutes 60]

Each product is stored the way finder stores it (ProductStore's layout: a RedisJSON document
plus a search hash with the filter fields, fingerprints and the two vectors), written in
MULTI/EXEC batches of 500 into an embedded Redis in a temporary directory. Metadata is drawn
from the catalog's rows (default ../shared/data/fashion-sample), so tags have the real
distributions. Vectors are 384-d (text) and 1280-d (image), FLOAT32 or FLOAT16, and by default
"clustered": derived from the catalog's real stored vectors (SyntheticCatalog says how), so
recall is measured on data shaped like real embeddings. --vectors random uses random unit
vectors instead: no cluster structure, the worst case for HNSW, kept for comparison.

Per size and datatype: load time with the HNSW index live (indexing included), memory per
product (used_memory delta / N, with the vector index's own share from FT.INFO), KNN latency
(FT.SEARCH through redis-py, one client) and recall@10 against exact numpy search over the same
vectors (the query product excluded), for HNSW at each EF_RUNTIME; then the HNSW index is
dropped and a FLAT index built over the same hashes, with its latency and memory.

Before each size the memory and load time are projected from the largest size measured so far;
a size that would not fit (free memory minus --headroom-gb, or --max-load-minutes) is replaced
by the largest round size that does, and the report says so. Redis runs with maxmemory set to
the budget, so an error in the projection stops the run instead of the machine.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import psutil
import redis

from bench.common import (
    DEFAULT_DATA_DIR,
    FASHION_SAMPLE,
    RESULTS_DIR,
    Latency,
    Report,
    bench_command,
    cpu_seconds,
    machine,
    markdown_table,
    measuring_quietly,
    publish,
    pyplot,
    redis_versions,
    sample_redis,
    timed_answers,
    used_memory,
)
from bench.exact import ExactNeighbours
from bench.recall import read_stored
from finder.config import Settings
from finder.index import create_index, drop_index, wait_until_indexed
from finder.products import Product
from finder.queries import knn_query
from finder.redis_server import EmbeddedRedis, connect, json_commands
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, build_schema, product_id_from_search_key, search_key
from finder.store import IMAGE_FINGERPRINT, TEXT_FINGERPRINT, encoded_vectors, search_fields
from indexer.catalog import read_catalog

DIMS = {TEXT_VECTOR: 384, IMAGE_VECTOR: 1280}  # random vectors: the models' own sizes
CHUNK = 1000  # products generated at once; vectors are a pure function of (seed, chunk, field)
BATCH = 500  # products per MULTI/EXEC
SEED = 11
K = 10
GB = 2**30


@dataclass(frozen=True)
class KnnPoint:
    field: str
    algorithm: str
    ef_runtime: int | None
    recall: float
    latency: Latency


@dataclass
class SizeRun:
    products: int
    datatype: str
    load_seconds: float = 0.0
    load_redis_cores: float = 0.0  # CPU Redis used while loading (indexing runs on its main thread)
    bytes_per_product_hnsw: float = 0.0
    vector_index_bytes_per_product_hnsw: float = 0.0
    flat_build_seconds: float = 0.0
    bytes_per_product_flat: float = 0.0
    knn: list[KnnPoint] = field(default_factory=list)

    @property
    def products_per_second(self) -> float:
        return self.products / self.load_seconds


class SyntheticCatalog:
    """Products 0..n-1, each derived from a real catalog row (its metadata) and, with real
    vectors given ("clustered"), from that row's stored vectors: a point on the segment to one of
    its NEIGHBOURS nearest real products, uniformly placed, plus noise of NOISE x the median
    distance between real nearest neighbours, normalised. So a larger synthetic catalog is a
    denser sample of the real embeddings, clusters and all. Without real vectors ("random"),
    vectors are random unit vectors: no structure at all, the hardest case for HNSW."""

    NEIGHBOURS = 10
    NOISE = 0.25

    def __init__(self, templates: list[dict], real_vectors: dict[str, np.ndarray] | None = None, seed: int = SEED):
        self.templates = templates
        self.real_vectors = real_vectors
        self.seed = seed
        # Clustered vectors have the real catalog's sizes (192-d image vectors with the By Image projection).
        self.dims = {name: vectors.shape[1] for name, vectors in real_vectors.items()} if real_vectors else DIMS
        real_vectors = real_vectors or {}
        self.neighbours = {name: nearest_real(vectors, self.NEIGHBOURS) for name, vectors in real_vectors.items()}
        self.noise = {
            name: self.NOISE * float(np.median(np.linalg.norm(vectors - vectors[self.neighbours[name][:, 0]], axis=1)))
            for name, vectors in real_vectors.items()
        }

    @classmethod
    def random(cls, catalog: Path) -> SyntheticCatalog:
        rows, _ = read_catalog(catalog)
        return cls([row.product.to_document() for row in rows])

    @classmethod
    def clustered(cls, client: redis.Redis, catalog: Path) -> SyntheticCatalog:
        """From a catalog loaded into `client`'s Redis: its stored vectors and the matching rows."""
        stored = read_stored(client, set())
        rows = {row.product.id: row.product.to_document() for row in read_catalog(catalog)[0]}
        return cls([rows[product_id] for product_id in stored.ids], stored.vectors)

    @property
    def kind(self) -> str:
        return "clustered" if self.real_vectors else "random"

    def bases(self, chunk: int, count: int) -> np.ndarray:
        """Which real row each product of a chunk derives from."""
        return np.random.default_rng([self.seed, chunk, 0]).integers(len(self.templates), size=count)

    def vectors(self, chunk: int, count: int, field_name: str) -> np.ndarray:
        """The float32 unit vectors of one chunk, the same every time they are asked for."""
        dims = self.dims[field_name]
        rng = np.random.default_rng([self.seed, chunk, dims])
        if self.real_vectors is None:
            vectors = rng.standard_normal((count, dims), dtype=np.float32)
        else:
            real, bases = self.real_vectors[field_name], self.bases(chunk, count)
            partners = self.neighbours[field_name][bases, rng.integers(self.NEIGHBOURS, size=count)]
            along = rng.random((count, 1), dtype=np.float32)
            noise = rng.standard_normal((count, dims), dtype=np.float32) * (self.noise[field_name] / math.sqrt(dims))
            vectors = real[bases] + along * (real[partners] - real[bases]) + noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def documents(self, chunk: int, count: int) -> list[dict]:
        return [self.templates[base] | {"id": product_id(chunk * CHUNK + i)}
                for i, base in enumerate(self.bases(chunk, count))]

    def chunks(self, products: int):
        for chunk in range(math.ceil(products / CHUNK)):
            yield chunk, min(CHUNK, products - chunk * CHUNK)


def nearest_real(vectors: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of each unit vector's k nearest others."""
    nearest = []
    for start in range(0, len(vectors), 1000):
        similarities = vectors[start:start + 1000] @ vectors.T
        np.fill_diagonal(similarities[:, start:start + 1000], -np.inf)
        nearest.append(np.argsort(-similarities, axis=1)[:, :k])
    return np.concatenate(nearest)


def product_id(number: int) -> str:
    return f"s{number}"


def write_products(client: redis.Redis, catalog: SyntheticCatalog, products: int, datatype: str) -> None:
    """ProductStore.save's layout and transactions, without building a pydantic model per product."""
    fingerprint = "0" * 40
    for chunk, count in catalog.chunks(products):
        documents = catalog.documents(chunk, count)
        text, image = catalog.vectors(chunk, count, TEXT_VECTOR), catalog.vectors(chunk, count, IMAGE_VECTOR)
        for start in range(0, count, BATCH):
            pipe = client.pipeline(transaction=True)
            for i in range(start, min(start + BATCH, count)):
                document = documents[i]
                json_commands(pipe).set(Product.key_for(document["id"]), "$", document)
                fields = search_fields(Product.from_stored(document))
                fields |= {TEXT_FINGERPRINT: fingerprint, IMAGE_FINGERPRINT: fingerprint}
                fields |= encoded_vectors({TEXT_VECTOR: text[i], IMAGE_VECTOR: image[i]}, [datatype])
                pipe.hset(search_key(document["id"]), mapping=fields)
            pipe.execute()


def create_vector_index(client: redis.Redis, catalog: SyntheticCatalog, algorithm: str, datatype: str) -> str:
    schema = build_schema(Settings(index_algorithm=algorithm, vector_datatype=datatype), catalog.dims[TEXT_VECTOR],
                          catalog.dims[IMAGE_VECTOR], name=f"scale:{algorithm.lower()}-{datatype.lower()}")
    create_index(client, schema, alias=None)  # queried by its name
    return schema.index.name


def vector_index_bytes(client: redis.Redis, index_name: str) -> float:
    info = client.ft(index_name).info()
    return float(info["vector_index_sz_mb"]) * 2**20


def exact_neighbours(catalog: SyntheticCatalog, products: int, query_numbers: np.ndarray) -> dict:
    """Per field: the float32 query vectors and their exact neighbours among all products."""
    wanted = set(query_numbers.tolist())
    queries = {name: {} for name in DIMS}
    for chunk, count in catalog.chunks(products):
        in_chunk = [n for n in range(chunk * CHUNK, chunk * CHUNK + count) if n in wanted]
        if in_chunk:
            for name in DIMS:
                vectors = catalog.vectors(chunk, count, name)
                queries[name] |= {n: vectors[n - chunk * CHUNK] for n in in_chunk}
    exclude = [product_id(n) for n in query_numbers]
    truths = {}
    for name in DIMS:
        vectors = np.stack([queries[name][n] for n in query_numbers.tolist()])
        truth = ExactNeighbours(vectors, K, exclude_ids=exclude)
        for chunk, count in catalog.chunks(products):
            truth.add([product_id(n) for n in range(chunk * CHUNK, chunk * CHUNK + count)],
                      catalog.vectors(chunk, count, name))
        truths[name] = (vectors, truth)
    return truths


def knn_ids(client: redis.Redis, index_name: str, field_name: str, datatype: str, ef_runtime: int | None,
            query: tuple[np.ndarray, str]) -> list[str]:
    """finder's KNN query (queries.knn_query, the vector encoded in the index's datatype); one
    more neighbour is asked for and the query's own product dropped, as Search.similar does."""
    vector, exclude = query
    knn = knn_query(field_name, vector, K + 1, ef_runtime=ef_runtime, datatype=datatype)
    docs = client.ft(index_name).search(knn, query_params=knn.params).docs
    ids = [product_id_from_search_key(doc.id.decode() if isinstance(doc.id, bytes) else doc.id) for doc in docs]
    return [found for found in ids if found != exclude][:K]


def measure_knn(client: redis.Redis, index_name: str, algorithm: str, datatype: str, truths: dict,
                query_numbers: np.ndarray, ef_values: list[int | None], queries: int) -> list[KnnPoint]:
    points = []
    for name, (vectors, truth) in truths.items():
        inputs = [(vectors[i], product_id(query_numbers[i])) for i in range(queries)]
        for ef in ef_values:
            timings, answers = timed_answers(partial(knn_ids, client, index_name, name, datatype, ef), inputs)
            recall = float(np.mean([truth.recall(i, found) for i, found in enumerate(answers)]))
            points.append(KnnPoint(name, algorithm, ef, recall, Latency.of(timings)))
    return points


def measure_size(client: redis.Redis, redis_pid: int, catalog: SyntheticCatalog, products: int, datatype: str,
                 queries: int, flat_queries: int, ef_values: list[int]) -> SizeRun:
    run = SizeRun(products, datatype)
    client.flushall()
    before = used_memory(client)
    hnsw = create_vector_index(client, catalog, "HNSW", datatype)
    started, redis_cpu = time.perf_counter(), cpu_seconds(redis_pid)
    write_products(client, catalog, products, datatype)
    wait_until_indexed(client, hnsw)
    run.load_seconds = time.perf_counter() - started
    run.load_redis_cores = (cpu_seconds(redis_pid) - redis_cpu) / run.load_seconds
    run.bytes_per_product_hnsw = (used_memory(client) - before) / products
    run.vector_index_bytes_per_product_hnsw = vector_index_bytes(client, hnsw) / products
    print(f"  {products:,} {datatype}: loaded in {run.load_seconds:.0f} s, "
          f"{run.bytes_per_product_hnsw:,.0f} bytes/product", file=sys.stderr)

    query_numbers = np.random.default_rng(SEED).choice(products, size=min(queries, products), replace=False)
    truths = exact_neighbours(catalog, products, query_numbers)
    run.knn += measure_knn(client, hnsw, "HNSW", datatype, truths, query_numbers, ef_values, len(query_numbers))

    drop_index(client, hnsw)  # FLAT replaces it rather than sitting beside it: one index's memory at a time
    started = time.perf_counter()
    flat = create_vector_index(client, catalog, "FLAT", datatype)
    wait_until_indexed(client, flat)
    run.flat_build_seconds = time.perf_counter() - started
    run.bytes_per_product_flat = (used_memory(client) - before) / products
    run.knn += measure_knn(client, flat, "FLAT", datatype, truths, query_numbers, [None],
                           min(flat_queries, len(query_numbers)))
    client.flushall()
    return run


@dataclass(frozen=True)
class Plan:
    requested: int
    products: int
    reason: str = ""


def plan_size(requested: int, measured: list[SizeRun], memory_budget: float, max_load_seconds: float) -> Plan:
    """The size to run instead of `requested` if the FLOAT32 runs measured so far project it
    out of memory or out of time. Load time per product grows with the catalog (HNSW inserts
    search a larger graph, vectors fall out of the CPU caches): the growth is fitted as a power
    of N from the two largest runs (with one run, it is taken as constant: an optimistic guess)."""
    runs = sorted((run for run in measured if run.datatype == "FLOAT32"), key=lambda run: run.products)
    if not runs:
        return Plan(requested, requested)
    base = runs[-1]
    growth = 0.0
    if len(runs) >= 2:
        previous = runs[-2]
        per_product = (base.load_seconds / base.products) / (previous.load_seconds / previous.products)
        growth = max(0.0, math.log(per_product) / math.log(base.products / previous.products))
    seconds_per_product = base.load_seconds / base.products
    bytes_per_product = max(base.bytes_per_product_hnsw, base.bytes_per_product_flat)

    def load_seconds(products: int) -> float:
        return products * seconds_per_product * (products / base.products) ** growth

    fits_memory = int(memory_budget / bytes_per_product)
    fits_time = int((max_load_seconds / seconds_per_product * base.products ** growth) ** (1 / (1 + growth)))
    products = min(requested, fits_memory, fits_time)
    if products == requested:
        return Plan(requested, requested)
    products = max(base.products, products // 100_000 * 100_000 or products // 10_000 * 10_000)
    reason = (f"{requested:,} products project to {requested * bytes_per_product / GB:.1f} GB of Redis memory "
              f"({bytes_per_product:,.0f} bytes/product at {base.products:,}; budget {memory_budget / GB:.1f} GB) "
              f"and {load_seconds(requested) / 60:.0f} min of loading (time per product growing as "
              f"N^{growth:.2f}; budget {max_load_seconds / 60:.0f} min): ran {products:,} instead, projected "
              f"{products * bytes_per_product / GB:.1f} GB and {load_seconds(products) / 60:.0f} min")
    return Plan(requested, products, reason)


def plot(runs: list[SizeRun], path: Path, default_ef: int, vectors: str, dims: dict[str, int]) -> Path:
    """KNN latency (HNSW at the default EF_RUNTIME, or the largest measured, and FLAT) and
    HNSW recall per EF_RUNTIME against the number of products, FLOAT32 runs (FLOAT16 if none). Dashed lines are
    the text vectors, solid lines the image vectors."""
    plt = pyplot()
    datatype = "FLOAT32" if any(run.datatype == "FLOAT32" for run in runs) else "FLOAT16"
    plotted = sorted((run for run in runs if run.datatype == datatype), key=lambda run: run.products)
    sizes = [run.products for run in plotted]
    ef_values = sorted({p.ef_runtime for p in plotted[0].knn if p.algorithm == "HNSW"})
    default_ef = default_ef if default_ef in ef_values else ef_values[-1]
    colors = dict(zip(ef_values, plt.cm.viridis(np.linspace(0, 0.9, len(ef_values))), strict=True))

    def series(run_field: str, algorithm: str, ef: int | None, value) -> list[float]:
        return [next(value(p) for p in run.knn if (p.field, p.algorithm, p.ef_runtime) == (run_field, algorithm, ef))
                for run in plotted]

    figure, (latency_axis, recall_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, style in ((TEXT_VECTOR, "--"), (IMAGE_VECTOR, "-")):
        for algorithm, ef, color in (("HNSW", default_ef, "tab:blue"), ("FLAT", None, "tab:red")):
            latency_axis.plot(sizes, series(name, algorithm, ef, lambda p: p.latency.p50), style, marker="o",
                              color=color, label=f"{algorithm}{f' EF {ef}' if ef else ''}, {name}")
        for ef in ef_values:
            recall_axis.plot(sizes, series(name, "HNSW", ef, lambda p: p.recall), style, marker="o",
                             color=colors[ef], label=f"EF {ef}" if name == IMAGE_VECTOR else None)
    latency_axis.set(xscale="log", yscale="log", xlabel="products", ylabel="KNN p50, ms (FT.SEARCH, k=10)",
                     title=f"KNN latency, {vectors} {datatype} vectors")
    lowest = min(p.recall for run in plotted for p in run.knn)
    bottom = 0.0 if lowest < 0.5 else math.floor((lowest - 0.005) * 100) / 100  # zoom in when all are high
    recall_axis.set(xscale="log", xlabel="products", ylabel="recall@10 vs exact", ylim=(bottom, 1.002),
                    title=f"HNSW recall, {vectors} vectors (dashed: text {dims[TEXT_VECTOR]}-d, "
                          f"solid: image {dims[IMAGE_VECTOR]}-d)")
    for axis in (latency_axis, recall_axis):
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=7)
    recall_axis.title.set_fontsize(9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def report(runs: list[SizeRun], plans: list[Plan], command: str, context: dict[str, str],
           vectors: str = "clustered") -> Report:
    result = Report(f"scale-{vectors}", f"Scale: synthetic products, real vector sizes, {vectors} vectors", command,
                    context)
    result.add("Load and memory", markdown_table(
        ["products", "vectors", "load s (HNSW live)", "products/s", "Redis cores while loading",
         "bytes/product (HNSW)", "of which vector index", "bytes/product (FLAT)", "FLAT build s"],
        [[run.products, run.datatype, run.load_seconds, run.products_per_second, run.load_redis_cores,
          run.bytes_per_product_hnsw, run.vector_index_bytes_per_product_hnsw, run.bytes_per_product_flat,
          run.flat_build_seconds] for run in runs],
        digits={2: 1, 3: 0, 5: 0, 6: 0, 7: 0, 8: 1},
    ))
    result.add(f"KNN latency (ms, one client) and recall@{K}", markdown_table(
        ["products", "vectors", "field", "index", "EF_RUNTIME", "queries", f"recall@{K}", "p50", "p99"],
        [[run.products, run.datatype, p.field, p.algorithm, p.ef_runtime or "-", p.latency.count, p.recall,
          p.latency.p50, p.latency.p99] for run in runs for p in run.knn],
        digits={6: 4},
    ))
    skipped = [plan for plan in plans if plan.reason]
    if skipped:
        result.add("Sizes not run as requested", "\n".join(f"- {plan.reason}" for plan in skipped))
    result.data = {"runs": [asdict(run) for run in runs], "plans": [asdict(plan) for plan in plans]}
    return result


def int_list(text: str) -> list[int]:
    return [int(value) for value in text.split(",") if value]


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int_list, default="10000,100000,1000000")
    parser.add_argument("--float16-sizes", type=int_list, default="100000")
    parser.add_argument("--queries", type=int, default=1000, help="HNSW queries per field and EF_RUNTIME")
    parser.add_argument("--flat-queries", type=int, default=100,
                        help="FLAT queries per field (each scans every vector)")
    # Beyond the app's range too: random vectors need a large EF_RUNTIME for high recall.
    parser.add_argument("--ef", type=int_list, default="10,20,50,100,200,500,1000")
    parser.add_argument("--vectors", choices=("clustered", "random"), default="clustered",
                        help="derived from the catalog's real vectors (see SyntheticCatalog), or random")
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE,
                        help="where the metadata rows (and, clustered, the real vectors) come from")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="where the catalog is loaded once to read its real vectors (clustered)")
    parser.add_argument("--headroom-gb", type=float, default=6.0, help="memory left for the rest of the machine")
    parser.add_argument("--max-load-minutes", type=float, default=60.0)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.vectors == "clustered":
        with sample_redis(args.data_dir, args.catalog) as sample:
            catalog = SyntheticCatalog.clustered(connect(sample.url), args.catalog)
    else:
        catalog = SyntheticCatalog.random(args.catalog)
    memory_budget = psutil.virtual_memory().available - args.headroom_gb * GB
    runs: list[SizeRun] = []
    plans: list[Plan] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder, EmbeddedRedis(Path(folder)) as server:
        client = connect(server.url, timeout=600)
        # Persistence is not what is measured here, and an append-only-file rewrite forks the
        # server, which can double its memory on a machine that has to stay usable.
        client.config_set("appendonly", "no")
        client.config_set("maxmemory", int(memory_budget))
        context = {
            "machine": machine(),
            "server": redis_versions(client),
            "index": f"HNSW (M 16, EF_CONSTRUCTION 200) or FLAT, COSINE, text {catalog.dims[TEXT_VECTOR]}-d + image "
                     f"{catalog.dims[IMAGE_VECTOR]}-d; hybrid policy AUTO",
            "data": (f"metadata drawn from {args.catalog.name} rows; " + (
                f"vectors between a real product's stored vectors and one of its {catalog.NEIGHBOURS} nearest "
                f"real neighbours, plus noise of {catalog.NOISE} x the median nearest-neighbour distance "
                if catalog.kind == "clustered" else "random unit vectors ") + f"(seed {SEED})"),
            "latency": "FT.SEARCH KNN k=10 through redis-py, one client, the vector already known",
            "memory budget": f"{memory_budget / GB:.1f} GB (free memory at start minus "
                             f"{args.headroom_gb:.0f} GB headroom)",
        }
        with measuring_quietly(context):
            for requested in args.sizes:
                plan = plan_size(requested, runs, memory_budget, args.max_load_minutes * 60)
                plans.append(plan)
                if plan.reason:
                    print(f"  {plan.reason}", file=sys.stderr)
                runs.append(measure_size(client, server.pid, catalog, plan.products, "FLOAT32", args.queries,
                                         args.flat_queries, args.ef))
            for products in args.float16_sizes:
                runs.append(measure_size(client, server.pid, catalog, products, "FLOAT16", args.queries,
                                         args.flat_queries, args.ef))
    result = report(runs, plans, bench_command("bench.scale", argv), context, catalog.kind)
    figure = plot(runs, RESULTS_DIR / f"scale-{catalog.kind}.png", Settings().hnsw_ef_runtime, catalog.kind,
                  catalog.dims)
    result.add("Plot", f"![scale]({figure.name})")
    return publish(result)


if __name__ == "__main__":
    main()
