"""Bytes per product in Redis for the two ways of storing vectors (docs/design.md).

    .venv/bin/python -m bench.storage_layout [--products 5000]

Layouts, both with the same RediSearch index fields (tags, year, name, two vector fields):
- json+hash (what finder does): metadata in a RedisJSON document, FLOAT32 vector bytes plus the
  filter fields in a HASH beside it, index ON HASH.
- json-only: one RedisJSON document holding metadata and both vectors as arrays, index ON JSON.
Memory is Redis' used_memory after writing N products minus before, divided by N; it includes
the index (for FLAT and HNSW alike the index keeps its own copy of every vector).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from finder.config import DEFAULT_CATALOG, Settings
from finder.index import create_index, wait_until_indexed
from finder.products import Product
from finder.projection import NONE
from finder.redis_server import EmbeddedRedis, connect, json_commands
from finder.schema import IMAGE_VECTOR, build_schema
from finder.store import ProductStore, ProductWrite
from indexer.catalog import read_catalog

TEXT_DIM, IMAGE_DIM = 384, 1280


def used_memory(client) -> int:
    client.execute_command("MEMORY", "PURGE")
    time.sleep(0.2)
    return int(client.info("memory")["used_memory"])


def products(count: int) -> list[Product]:
    rows, _ = read_catalog(DEFAULT_CATALOG)
    return [rows[i % len(rows)].product.model_copy(update={"id": f"p{i}"}) for i in range(count)]


def unit_vectors(rng, count: int, dims: int) -> np.ndarray:
    vectors = rng.standard_normal((count, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write_json_and_hash(client, items, text, image, algorithm):
    create_index(client, build_schema(Settings(index_algorithm=algorithm), TEXT_DIM, IMAGE_DIM))
    store = ProductStore(client)
    for start in range(0, len(items), 500):
        store.save([
            ProductWrite(product, "t", "i", replaces=None, text_vector=text[i], image_vectors={IMAGE_VECTOR: image[i]})
            for i, product in enumerate(items[start:start + 500], start)
        ], (NONE,))  # the index reads the unprojected field: no projection in this layout comparison


def write_json_only(client, items, text, image, algorithm):
    vector_options = ["TYPE", "FLOAT32", "DIM"]
    client.execute_command(
        "FT.CREATE", "json-only", "ON", "JSON", "PREFIX", "1", "jsononly:", "SCHEMA",
        "$.name", "AS", "name", "TEXT",
        *[part for field in ("gender", "category", "sub_category", "article_type", "color", "season", "usage")
          for part in (f"$.{field}", "AS", field, "TAG", "SEPARATOR", "|")],
        "$.year", "AS", "year", "NUMERIC",
        "$.text_vector", "AS", "text_vector", "VECTOR", algorithm, "6", *vector_options, TEXT_DIM,
        "DISTANCE_METRIC", "COSINE",
        "$.image_vector", "AS", "image_vector", "VECTOR", algorithm, "6", *vector_options, IMAGE_DIM,
        "DISTANCE_METRIC", "COSINE",
    )
    for start in range(0, len(items), 500):
        pipe = client.pipeline(transaction=False)
        for i, product in enumerate(items[start:start + 500], start):
            document = product.to_document() | {"text_vector": text[i].tolist(), "image_vector": image[i].tolist()}
            json_commands(pipe).set(f"jsononly:{product.id}", "$", document)
        pipe.execute()


LAYOUTS = {"json+hash": write_json_and_hash, "json-only": write_json_only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=5000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    items = products(args.products)
    text, image = unit_vectors(rng, len(items), TEXT_DIM), unit_vectors(rng, len(items), IMAGE_DIM)
    print(f"{args.products} products, vectors {TEXT_DIM}-d + {IMAGE_DIM}-d FLOAT32\n")
    print("| layout | index | bytes per product |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(folder) as server:
        client = connect(server.url, timeout=60)
        for algorithm in ("FLAT", "HNSW"):
            for name, write in LAYOUTS.items():
                client.flushall()
                before = used_memory(client)
                write(client, items, text, image, algorithm)
                for index in client.execute_command("FT._LIST"):
                    wait_until_indexed(client, index.decode())
                per_product = (used_memory(client) - before) / len(items)
                print(f"| {name} | {algorithm} | {per_product:,.0f} |")


if __name__ == "__main__":
    main()
