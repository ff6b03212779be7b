"""What fetching result metadata costs: one server-side script for the product, its vector, the
KNN and the documents (what finder does, finder/search_and_fetch.py) against the same in three
round trips (what finder did before), against returning the fields from the search hash, and
against one JSON.GET per result (the original demo).

    REDIS_URL=redis://... .venv/bin/python -m bench.round_trips [--queries 500] [--k 12]

Needs a loaded catalog at REDIS_URL (or the embedded Redis under DATA_DIR). Each variant runs
the same "similar by image" queries: fetch the product's vector, KNN, then the metadata.
"""

from __future__ import annotations

import argparse
import statistics
import time

from finder.config import Settings
from finder.products import Product
from finder.queries import knn_query
from finder.redis_server import connect, json_commands, resolve_redis
from finder.schema import IMAGE_VECTOR, INDEX_ALIAS, product_id_from_search_key, search_key, vector_array
from finder.search import Search
from finder.store import SEARCH_FIELDS, ProductStore


def finder_way(search: Search, product_id: str, k: int):
    return search.similar(product_id, IMAGE_VECTOR, k)


def three_trips_way(search: Search, product_id: str, k: int):
    pipe = search.client.pipeline(transaction=False)
    json_commands(pipe).get(Product.key_for(product_id))
    info = search.index_info()
    pipe.hget(search_key(product_id), info.sources[IMAGE_VECTOR])
    _, raw = pipe.execute()
    query = knn_query(IMAGE_VECTOR, vector_array(raw, info.datatype), k + 1,
                      ef_runtime=search.settings.hnsw_ef_runtime, datatype=info.datatype)
    docs = search.client.ft(INDEX_ALIAS).search(query, query_params=query.params).docs
    return search.store.get_many([product_id_from_search_key(_text(doc.id)) for doc in docs])


def hash_fields_way(search: Search, product_id: str, k: int):
    vector = search.vectors(product_id)[IMAGE_VECTOR]
    query = knn_query(IMAGE_VECTOR, vector, k + 1, ef_runtime=search.settings.hnsw_ef_runtime,
                      datatype=search.index_info().datatype)
    query.return_fields(*SEARCH_FIELDS)
    return search.client.ft(INDEX_ALIAS).search(query, query_params=query.params).docs


def per_product_way(search: Search, product_id: str, k: int):
    vector = search.vectors(product_id)[IMAGE_VECTOR]
    query = knn_query(IMAGE_VECTOR, vector, k + 1, ef_runtime=search.settings.hnsw_ef_runtime,
                      datatype=search.index_info().datatype)
    docs = search.client.ft(INDEX_ALIAS).search(query, query_params=query.params).docs
    ids = [product_id_from_search_key(_text(doc.id)) for doc in docs]
    return [json_commands(search.client).get(Product.key_for(product_id)) for product_id in ids]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


VARIANTS = {
    "one script: product, vector, KNN, JSON.MGET (finder)": finder_way,
    "product and vector, KNN, one JSON.MGET (finder before)": three_trips_way,
    "fields returned from the search hash": hash_fields_way,
    "one JSON.GET per result (original demo)": per_product_way,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--k", type=int, default=12)
    args = parser.parse_args()
    settings = Settings.from_env()
    url, embedded = resolve_redis(settings)
    client = connect(url)
    search = Search(client, ProductStore(client), settings)
    ids = [product.id for product in search.browse(0, args.queries).products]
    print(f"{len(ids)} similar-by-image queries, k={args.k}, {search.count()} products, "
          f"{search.index_info().algorithm} EF_RUNTIME {settings.hnsw_ef_runtime}\n")
    print("| variant | round trips | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    trips = {"one script: product, vector, KNN, JSON.MGET (finder)": "1",
             "product and vector, KNN, one JSON.MGET (finder before)": "3", "fields returned from the search hash": "2",
             "one JSON.GET per result (original demo)": f"{args.k + 3}"}
    for name, run in VARIANTS.items():
        for product_id in ids[:20]:
            run(search, product_id, args.k)  # warm up
        timings = []
        for product_id in ids:
            started = time.perf_counter()
            run(search, product_id, args.k)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"| {name} | {trips[name]} | {statistics.median(timings):.2f} | {p95:.2f} |")
    if embedded:
        embedded.stop()


if __name__ == "__main__":
    main()
