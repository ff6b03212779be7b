"""Running queries against the index and turning their answers into products.

Round trips per request: browse 2 (ids, then one JSON.MGET), similar 3 (product and its vector
in one pipeline, the KNN query, one JSON.MGET), free-text and photo search 2, facets 1 (every
attribute's aggregate in one pipeline).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import redis

from finder.config import Settings
from finder.index import IndexInfo, describe_index, is_missing_index
from finder.products import CATEGORICAL_FIELDS, Product
from finder.queries import (
    DISTANCE_FIELD,
    NO_FILTERS,
    Filters,
    browse_query,
    count_query,
    facet_command,
    knn_query,
)
from finder.schema import INDEX_ALIAS, NUMERIC_FIELDS, product_id_from_search_key
from finder.store import ProductStore

INDEX_INFO_TTL_SECONDS = 10.0
FACET_FIELDS = (*CATEGORICAL_FIELDS, *NUMERIC_FIELDS)


@dataclass(frozen=True)
class Page:
    total: int
    products: list[Product]


@dataclass(frozen=True)
class Hit:
    product: Product
    distance: float  # raw distance under the index metric
    score: float  # similarity, higher is better (see similarity_score)


@dataclass(frozen=True)
class Similar:
    product: Product  # the product the search started from
    hits: list[Hit]


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

    def count(self, filters: Filters = NO_FILTERS) -> int:
        return self._search(count_query(filters)).total

    def browse(self, offset: int, limit: int, filters: Filters = NO_FILTERS) -> Page:
        result = self._search(browse_query(offset, limit, filters))
        ids = [product_id_from_search_key(_text(doc.id)) for doc in result.docs]
        return Page(total=result.total, products=[p for p in self.store.get_many(ids) if p is not None])

    def facets(self, filters: Filters = NO_FILTERS) -> tuple[int, dict[str, list[tuple[str | int, int]]]]:
        """The number of products passing the filters and, per filterable attribute, its values
        with product counts, most common first. One round trip."""
        pipe = self.client.pipeline(transaction=False)
        pipe.execute_command("FT.SEARCH", self.index_name, *count_query(filters).get_args())
        for attribute in FACET_FIELDS:
            pipe.execute_command(*facet_command(self.index_name, attribute, filters))
        count_reply, *replies = pipe.execute(raise_on_error=False)
        for reply in (count_reply, *replies):
            if isinstance(reply, redis.ResponseError):
                if is_missing_index(reply):
                    return 0, {name: [] for name in FACET_FIELDS}
                raise reply
        facets = {name: _facet_values(name, reply) for name, reply in zip(FACET_FIELDS, replies, strict=True)}
        return count_reply[0], facets

    def nearest(
        self,
        vector_field: str,
        vector: np.ndarray,
        k: int,
        filters: Filters = NO_FILTERS,
        ef_runtime: int | None = None,
        exclude_id: str | None = None,
    ) -> list[Hit]:
        """The k products nearest to `vector` that pass the filters, best first; `exclude_id`
        is left out of them."""
        wanted = k + 1 if exclude_id else k  # the excluded product is usually its own nearest neighbour
        found = self._knn(vector_field, vector, wanted, filters, ef_runtime)
        distances = {pid: distance for pid, distance in found if pid != exclude_id}
        ids = list(distances)[:k]
        metric = self.index_info().metric
        return [
            Hit(product, distances[product.id], similarity_score(metric, distances[product.id]))
            for product in self.store.get_many(ids)
            if product is not None
        ]

    def similar(
        self,
        product_id: str,
        vector_field: str,
        k: int,
        filters: Filters = NO_FILTERS,
        ef_runtime: int | None = None,
    ) -> Similar | None:
        """Products most similar to a stored product by one of its vectors; None if unknown."""
        product, vector = self.store.product_with_vector(product_id, vector_field)
        if product is None or vector is None:
            return None
        return Similar(product, self.nearest(vector_field, vector, k, filters, ef_runtime, exclude_id=product_id))

    def effective_ef_runtime(self, requested: int | None, k: int) -> int | None:
        """The EF_RUNTIME a query will use: None for FLAT; never below k for HNSW."""
        info = self.index_info()
        if info is None or info.algorithm != "HNSW":
            return None
        return max(requested or self.settings.hnsw_ef_runtime, k)

    def index_info(self, refresh: bool = False) -> IndexInfo | None:
        """The live index, cached briefly: queries must know its algorithm (FLAT rejects EF_RUNTIME).
        No index is never cached: the first write or load creates one, searchable at once."""
        if refresh or self._index_info is None or time.monotonic() - self._index_info_at > INDEX_INFO_TTL_SECONDS:
            self._index_info = describe_index(self.client, self.index_name)
            self._index_info_at = time.monotonic()
        return self._index_info

    def _knn(self, vector_field, vector, k, filters, ef_runtime) -> list[tuple[str, float]]:
        for attempt in range(2):
            if self.index_info(refresh=attempt > 0) is None:
                return []
            query = knn_query(
                vector_field, vector, k, filters,
                ef_runtime=self.effective_ef_runtime(ef_runtime, k),
                hybrid_policy=self.settings.hybrid_policy,
            )
            try:
                result = self.client.ft(self.index_name).search(query, query_params=query.params)
            except redis.ResponseError as error:
                if is_missing_index(error) or attempt == 0:
                    continue  # the alias may have moved to an index of another algorithm
                raise
            return [
                (product_id_from_search_key(_text(doc.id)), float(getattr(doc, DISTANCE_FIELD))) for doc in result.docs
            ]
        return []

    def _search(self, query):
        try:
            return self.client.ft(self.index_name).search(query)
        except redis.ResponseError as error:
            if is_missing_index(error):  # nothing loaded yet: an empty catalog, not an error
                return _EMPTY
            raise


def _facet_values(attribute: str, reply: list) -> list[tuple[str | int, int]]:
    values = []
    for row in reply[1:]:
        fields = dict(zip(row[::2], row[1::2], strict=True))
        value = fields.get(attribute.encode())
        if value is None:  # products without this attribute
            continue
        value = value.decode()
        values.append((int(float(value)) if attribute in NUMERIC_FIELDS else value, int(fields[b"count"])))
    return values


class _EmptyResult:
    total = 0
    docs: list = []


_EMPTY = _EmptyResult()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
