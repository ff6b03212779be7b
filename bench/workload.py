"""The queries the latency and load benchmarks send, drawn from the loaded catalog (seeded).

- similar: product ids of the catalog
- free text: a pool of SHOPPER_QUERY_POOL distinct shopper queries, the everyday words of
  bench/shopper_queries.csv ("sneakers for men") and phrases built from products' attributes in
  the shapes shoppers type ("navy blue tshirts for men", "women heels", "puma tshirts", "red kurtas")
- photo: the catalog photo of a product (its stored image vector is what the photo embeds to)
- browse: the gender and category of a product as filters, first page
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import redis

from bench.relevance import brand_of, shopper_queries
from finder.products import Product
from finder.schema import SEARCH_KEY_PREFIX, product_id_from_search_key
from finder.store import ProductStore

SEED = 7
SHOPPER_QUERY_POOL = 500


@dataclass(frozen=True)
class Workload:
    product_ids: list[str]
    texts: list[str]
    photos: list[str]  # image file paths, one per product id
    browse_filters: list[dict[str, str]]

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: Path) -> Workload:
        return cls(**json.loads(Path(path).read_text()))


def stored_product_ids(client: redis.Redis) -> list[str]:
    keys = client.scan_iter(match=f"{SEARCH_KEY_PREFIX}*", count=1000)
    return sorted(product_id_from_search_key(key.decode()) for key in keys)


def sample_workload(client: redis.Redis, count: int, seed: int = SEED) -> Workload:
    """`count` queries of each kind but free text, from distinct products drawn at random; the
    free-text pool holds SHOPPER_QUERY_POOL distinct queries, in random order."""
    ids = stored_product_ids(client)
    rng = np.random.default_rng(seed)
    shuffled = [ids[i] for i in rng.permutation(len(ids))]
    products = ProductStore(client).get_many(shuffled[:count])
    return Workload(
        product_ids=[product.id for product in products],
        texts=shopper_query_pool(ProductStore(client).get_many(shuffled), rng),
        photos=[p.image_path for p in products],
        browse_filters=[{"gender": p.gender, "category": p.category} for p in products],
    )


def shopper_query_pool(products: list[Product], rng: np.random.Generator, size: int = SHOPPER_QUERY_POOL) -> list[str]:
    queries = [text for text, _ in shopper_queries()]
    shapes = (
        lambda p: (p.color, p.article_type, "for", p.gender),
        lambda p: (p.gender, p.article_type),
        lambda p: (brand_of(p.name), p.article_type),
        lambda p: (p.color, p.article_type),
    )
    for index, product in enumerate(products):
        words = " ".join(filter(None, shapes[index % len(shapes)](product))).lower()
        if words not in queries:
            queries.append(words)
        if len(queries) >= size:
            break
    return [queries[i] for i in rng.permutation(len(queries))]
