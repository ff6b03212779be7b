"""Running queries against the index and turning their answers into products."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import redis
from redisvl.query.filter import FilterExpression

from finder.config import Settings
from finder.index import IndexInfo, describe_index, is_missing_index
from finder.products import Product
from finder.queries import DISTANCE_FIELD, browse_query, count_query, knn_query
from finder.schema import INDEX_ALIAS, product_id_from_search_key
from finder.store import ProductStore

INDEX_INFO_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class Page:
    total: int
    products: list[Product]


@dataclass(frozen=True)
class Hit:
    product: Product
    distance: float  # raw distance under the index metric
    score: float  # similarity, higher is better (see similarity_score)


def similarity_score(metric: str, distance: float) -> float:
    """Cosine similarity in [-1, 1] from a distance, for unit vectors (all of ours are):
    COSINE distance = 1 - cos; IP distance = 1 - dot = 1 - cos; L2 distance is the squared
    euclidean distance = 2 - 2 cos."""
    return 1.0 - distance / 2.0 if metric == "L2" else 1.0 - distance


class Search:
    def __init__(self, client: redis.Redis, store: ProductStore, settings: Settings, index_name: str = INDEX_ALIAS):
        self.client = client
        self.store = store
        self.settings = settings
        self.index_name = index_name
        self._index_info: IndexInfo | None = None
        self._index_info_at = 0.0

    def count(self, filters: FilterExpression | None = None) -> int:
        return self._run(count_query(filters)).total

    def browse(self, offset: int, limit: int, filters: FilterExpression | None = None) -> Page:
        result = self._run(browse_query(offset, limit, filters))
        ids = [product_id_from_search_key(_text(doc.id)) for doc in result.docs]
        return Page(total=result.total, products=[p for p in self.store.get_many(ids) if p is not None])

    def nearest(
        self,
        vector_field: str,
        vector: np.ndarray,
        k: int,
        filters: FilterExpression | None = None,
        ef_runtime: int | None = None,
        exclude_id: str | None = None,
    ) -> list[Hit]:
        """The k products nearest to `vector`, best first; `exclude_id` is left out of them."""
        info = self.index_info()
        if info is None:
            return []
        wanted = k + 1 if exclude_id else k  # the excluded product is usually its own nearest neighbour
        if info.algorithm == "HNSW":
            ef_runtime = max(ef_runtime or self.settings.hnsw_ef_runtime, wanted)
        else:
            ef_runtime = None
        result = self._run(knn_query(vector_field, vector, wanted, filters, ef_runtime))
        distances = {}
        for doc in result.docs:
            product_id = product_id_from_search_key(_text(doc.id))
            if product_id != exclude_id:
                distances[product_id] = float(getattr(doc, DISTANCE_FIELD))
        ids = list(distances)[:k]
        return [
            Hit(product, distances[product.id], similarity_score(info.metric, distances[product.id]))
            for product in self.store.get_many(ids)
            if product is not None
        ]

    def index_info(self) -> IndexInfo | None:
        """The live index, cached briefly: queries must know its algorithm (FLAT rejects EF_RUNTIME)."""
        if self._index_info is None or time.monotonic() - self._index_info_at > INDEX_INFO_TTL_SECONDS:
            self._index_info = describe_index(self.client, self.index_name)
            self._index_info_at = time.monotonic()
        return self._index_info

    def _run(self, query):
        try:
            return self.client.ft(self.index_name).search(query, query_params=getattr(query, "params", None))
        except redis.ResponseError as error:
            if is_missing_index(error):  # nothing loaded yet: an empty catalog, not an error
                return _EMPTY
            raise


class _EmptyResult:
    total = 0
    docs: list = []


_EMPTY = _EmptyResult()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
