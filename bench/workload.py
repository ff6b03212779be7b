"""The queries the latency and load benchmarks send, drawn from the loaded catalog (seeded).

- similar: product ids of the catalog
- free text: short shopper phrases built from a product's attributes, "navy blue tshirts for men"
- photo: the catalog photo of a product (its stored image vector is what the photo embeds to)
- browse: the gender and category of a product as filters, first page
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import redis

from finder.schema import SEARCH_KEY_PREFIX, product_id_from_search_key
from finder.store import ProductStore

SEED = 7


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
    """`count` queries of each kind, from distinct products drawn at random."""
    ids = stored_product_ids(client)
    chosen = [ids[i] for i in np.random.default_rng(seed).choice(len(ids), size=min(count, len(ids)), replace=False)]
    products = ProductStore(client).get_many(chosen)
    return Workload(
        product_ids=[product.id for product in products],
        texts=[" ".join(filter(None, (p.color, p.article_type, "for", p.gender))).lower() for p in products],
        photos=[p.image_path for p in products],
        browse_filters=[{"gender": p.gender, "category": p.category} for p in products],
    )
