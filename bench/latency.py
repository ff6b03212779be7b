"""Single-client query latency of the real app over HTTP, against its floor.

    .venv/bin/python -m bench.latency [--data-dir /tmp/bench-data] [--catalog PATH]
                                      [--queries 500] [--photo-queries 200] [--k 12]

The catalog (default ../shared/data/fashion-sample) is loaded once into the embedded Redis
under --data-dir and reused. The app runs under gunicorn with its default workers and threads.
Each kind of request is measured at three levels, one request at a time, same queries:

- floor: the one RediSearch query alone through redis-py (FT.SEARCH with the vector already
  known: KNN for searches, the filtered id query for browsing; JSON.GET for one product by id,
  the request that shows what HTTP and Flask cost the simplest answer)
- finder: the whole search in this process (finder.search.Search, finder.text_search.TextSearch;
  embedding the query included)
- app: the HTTP request to gunicorn (Flask, JSON, the same finder code)

Free text is measured twice over the workload's pool of distinct shopper queries: first unseen
(the query-vector cache emptied, so every query is embedded; the finder level bypasses the
cache), then again with every query vector cached.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import (
    DEFAULT_DATA_DIR,
    FASHION_SAMPLE,
    WARMUP_CALLS,
    AppServer,
    Latency,
    Report,
    bench_command,
    gunicorn,
    markdown_table,
    measuring_quietly,
    publish,
    sample_context,
    sample_redis,
    time_each,
)
from bench.workload import sample_workload
from finder.config import Settings
from finder.embeddings import Embedder
from finder.products import Product
from finder.projection import ImageSpaces
from finder.queries import Filters, browse_query, knn_query
from finder.query_vectors import QueryVectorCache
from finder.redis_server import connect
from finder.schema import IMAGE_VECTOR, INDEX_ALIAS, TEXT_VECTOR
from finder.search import Search
from finder.store import ProductStore
from finder.text_search import TextSearch

SIMILAR_KINDS = ("similar by text", "similar by image")
UNSEEN_TEXT = "free-text search, unseen queries"
CACHED_TEXT = "free-text search, query vectors cached"
PRODUCT_BY_ID = "one product by id"
BROWSE_PAGE_SIZE = 24  # the API's default per_page


class HttpClient:
    """One keep-alive connection, like a browser tab; a non-200 answer stops the benchmark."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> bytes:
        for attempt in range(2):
            try:
                self._connection.request(method, path, body=body, headers=headers or {})
                response = self._connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._connection.close()  # the server closed an idle keep-alive connection
                if attempt:
                    raise
        if response.status != 200:
            raise RuntimeError(f"{method} {path} answered {response.status}: {data[:300]!r}")
        return data


def multipart_image(photo: bytes) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"photo.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def query_string(params: dict) -> str:
    return urllib.parse.urlencode(params)


def measure(app: AppServer, redis_url: str, data_dir: Path, queries: int, photo_queries: int,
            k: int) -> dict[str, dict[str, Latency]]:
    """Latency per kind of request and level (floor, finder, app) against a running app."""
    settings = Settings(redis_url=redis_url, data_dir=data_dir)
    client = connect(redis_url, timeout=30)
    store = ProductStore(client)
    embedder = Embedder.from_settings(settings)
    search = Search(client, store, settings, spaces=ImageSpaces(client, embedder))
    embedder.warm_up()
    query_vectors = QueryVectorCache.from_settings(client, settings)
    text_search = TextSearch(search, embedder, query_vectors)
    text_search_uncached = TextSearch(search, embedder,
                                      QueryVectorCache.from_settings(client, replace(settings, query_cache_entries=0)))
    workload = sample_workload(client, queries)
    index = client.ft(INDEX_ALIAS)
    http = HttpClient(app.url)

    def knn_floor(field: str, vector: np.ndarray, wanted: int):
        ef_runtime = search.effective_ef_runtime(None, wanted)
        query = knn_query(field, vector, wanted, ef_runtime=ef_runtime, hybrid_policy=settings.hybrid_policy,
                          datatype=search.index_info().datatype)
        return index.search(query, query_params=query.params)

    # Everything a floor query needs is computed before the clock starts.
    vectors = {pid: search.vectors(pid) for pid in workload.product_ids}
    # Unseen queries warm up on other texts, so every timed one is embedded.
    unseen_warmup = [f"warm up {number}" for number in range(WARMUP_CALLS)]
    pool = workload.texts[:queries]
    texts = [*pool, *unseen_warmup]
    text_vectors = dict(zip(texts, embedder.embed_texts(texts), strict=True))
    photo_ids = dict(zip(workload.photos, workload.product_ids, strict=True))
    photos = {path: Path(path).read_bytes() for path in workload.photos[:photo_queries]}
    uploads = {path: multipart_image(data) for path, data in photos.items()}
    browse_queries = [query_string(params) for params in workload.browse_filters]
    browse = {
        query_string(params): Filters(tags={name: (value,) for name, value in params.items()})
        for params in workload.browse_filters
    }

    def free_text(finder_search: TextSearch) -> tuple[list, dict[str, Callable]]:
        return pool, {
            "floor": lambda text: knn_floor(TEXT_VECTOR, text_vectors[text], k),
            "finder": lambda text: finder_search(text, k),
            "app": lambda text: http.request("GET", f"/api/search?{query_string({'q': text, 'k': k})}"),
        }

    def similar(field: str, by: str) -> tuple[list, dict[str, Callable]]:
        return workload.product_ids, {
            "floor": lambda pid: knn_floor(field, vectors[pid][field], k + 1),
            "finder": lambda pid: search.similar(pid, field, k),
            "app": lambda pid: http.request("GET", f"/api/products/{pid}/similar?by={by}&k={k}"),
        }

    requests = {
        "similar by text": similar(TEXT_VECTOR, "text"),
        "similar by image": similar(IMAGE_VECTOR, "image"),
        UNSEEN_TEXT: free_text(text_search_uncached),
        CACHED_TEXT: free_text(text_search),
        "photo search": (list(photos), {
            "floor": lambda path: knn_floor(IMAGE_VECTOR, vectors[photo_ids[path]][IMAGE_VECTOR], k),
            "finder": lambda path: search.nearest_to_photo(embedder.image_features([photos[path]])[0], k),
            "app": lambda path: http.request("POST", f"/api/search/image?k={k}", *uploads[path]),
        }),
        "browse with filters": (browse_queries, {
            "floor": lambda params: index.search(browse_query(0, BROWSE_PAGE_SIZE, browse[params])),
            "finder": lambda params: search.browse(0, BROWSE_PAGE_SIZE, browse[params]),
            "app": lambda params: http.request("GET", f"/api/products?{params}"),
        }),
        # No search at all: what HTTP, Flask and one round trip cost the simplest request.
        PRODUCT_BY_ID: (workload.product_ids, {
            "floor": lambda pid: client.execute_command("JSON.GET", Product.key_for(pid), "$"),
            "finder": lambda pid: store.get(pid),
            "app": lambda pid: http.request("GET", f"/api/products/{pid}"),
        }),
    }
    query_vectors.clear()
    warmup_inputs = {UNSEEN_TEXT: unseen_warmup}
    results = {}
    for kind, (inputs, levels) in requests.items():
        results[kind] = {
            level: Latency.of(time_each(call, inputs, warmup_inputs=warmup_inputs.get(kind)))
            for level, call in levels.items()
        }
        print(f"  {kind}: app p50 {results[kind]['app'].p50:.2f} ms", file=sys.stderr)
    return results


def report(results: dict[str, dict[str, Latency]], command: str, context: dict[str, str]) -> Report:
    rows = []
    for kind, levels in results.items():
        floor, finder_level, app = levels["floor"], levels["finder"], levels["app"]
        rows.append([
            kind, app.count, floor.p50, floor.p99, finder_level.p50, finder_level.p99,
            app.p50, app.p95, app.p99, app.p50 / floor.p50, app.p99 / floor.p99,
        ])
    table = markdown_table(
        ["request", "queries", "floor p50", "floor p99", "finder p50", "finder p99",
         "app p50", "app p95", "app p99", "app/floor p50", "app/floor p99"],
        rows,
    )
    by_image = results["similar by image"]["app"].p50 / results["similar by image"]["floor"].p50
    unseen = results[UNSEEN_TEXT]["app"].p50
    p50 = [results[kind]["app"].p50 for kind in SIMILAR_KINDS]
    p99 = [results[kind]["app"].p99 for kind in SIMILAR_KINDS]
    ratios = [results[kind]["app"].p50 / results[kind]["floor"].p50 for kind in SIMILAR_KINDS]
    targets = markdown_table(
        ["target", "measured", "met"],
        [
            ["similar p50 <= 5 ms", " / ".join(f"{value:.2f} ms" for value in p50), _yes(max(p50) <= 5)],
            ["similar p99 <= 20 ms", " / ".join(f"{value:.2f} ms" for value in p99), _yes(max(p99) <= 20)],
            ["similar app/floor p50 <= 2", " / ".join(f"{value:.2f}" for value in ratios), _yes(max(ratios) <= 2)],
            ["similar by image app/floor p50 <= 2.5", f"{by_image:.2f}", _yes(by_image <= 2.5)],
            ["free-text search on unseen queries, app p50 <= 8 ms", f"{unseen:.2f} ms", _yes(unseen <= 8)],
        ],
    )
    result = Report("latency", "Query latency, one client", command, context)
    result.add("Milliseconds per request (floor: FT.SEARCH alone; finder: in process; app: HTTP)", table)
    result.add("Targets", targets)
    result.data = {kind: {level: vars(value) for level, value in levels.items()} for kind, levels in results.items()}
    return result


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    parser.add_argument("--queries", type=int, default=500, help="queries per kind of request")
    parser.add_argument("--photo-queries", type=int, default=200, help="photo searches (each embeds a photo)")
    parser.add_argument("--k", type=int, default=12)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    with sample_redis(args.data_dir, args.catalog) as server:
        settings = Settings()
        context = {
            **sample_context(connect(server.url), args.catalog),
            "app": f"gunicorn {settings.web_workers} workers x {settings.web_threads} threads (the defaults), "
                   f"one client with a keep-alive connection, k={args.k}",
        }
        with gunicorn(server.url, args.data_dir, settings.web_workers, settings.web_threads) as app:
            with measuring_quietly(context):
                results = measure(app, server.url, args.data_dir, args.queries, args.photo_queries, args.k)
    return publish(report(results, bench_command("bench.latency", argv), context))


if __name__ == "__main__":
    main()
