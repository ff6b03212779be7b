"""Running queries against the index and turning their answers into products.

Round trips per request: browse, similar and photo search 1 (the query and the documents it
found read by one script, finder/search_and_fetch.py), free-text search 3 or 4 (spelling with
the query-vector lookup, the retrievers in one pipeline or two around embedding the query, the
documents: finder/text_search.py), facets 1 (every attribute's aggregate in one pipeline).

A KNN query runs against one description of the live index (its physical name, the hash fields
its vectors come from, its image space), cached briefly: the query vector is read or projected
for that index and the query sent to it by name. If a re-index has replaced it meanwhile (the
index is gone, or the product's vector of its image space was retired), the description is
refreshed and the query made again, so a vector never meets an index of another space.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import redis

from finder.config import Settings
from finder.index import IndexInfo, describe_index, is_missing_index
from finder.products import CATEGORICAL_FIELDS, Product
from finder.projection import ImageSpaces, MissingProjection
from finder.queries import (
    DISTANCE_FIELD,
    NO_FILTERS,
    VECTOR_PARAM,
    Filters,
    browse_query,
    count_query,
    facet_command,
    knn_query,
)
from finder.schema import IMAGE_VECTOR, INDEX_ALIAS, NUMERIC_FIELDS
from finder.search_and_fetch import Answer, SearchAndFetch
from finder.store import ProductStore

INDEX_INFO_TTL_SECONDS = 10.0
Result = TypeVar("Result")
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


class IndexOutdated(Exception):
    """The index description a query was made for is out of date (see the module's docstring);
    a query the server refused is its __cause__."""


class Search:
    def __init__(self, client: redis.Redis, store: ProductStore, settings: Settings, index_name: str = INDEX_ALIAS,
                 spaces: ImageSpaces | None = None):
        self.client = client
        self.store = store
        self.settings = settings
        self.index_name = index_name
        self.spaces = spaces  # projects photos for photo search (nearest_to_photo)
        self._search_and_fetch = SearchAndFetch(client)
        self._index_info: IndexInfo | None = None
        self._index_info_at = 0.0

    def count(self, filters: Filters = NO_FILTERS) -> int:
        try:
            return self.client.ft(self.index_name).search(count_query(filters)).total
        except redis.ResponseError as error:
            if is_missing_index(error):  # nothing loaded yet: an empty catalog, not an error
                return 0
            raise

    def browse(self, offset: int, limit: int, filters: Filters = NO_FILTERS) -> Page:
        try:
            answer = self._search_and_fetch(self.index_name, browse_query(offset, limit, filters))
        except redis.ResponseError as error:
            if is_missing_index(error):  # nothing loaded yet: an empty catalog, not an error
                return Page(total=0, products=[])
            raise
        return Page(total=answer.total, products=_products(answer))

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
        """The k products nearest to `vector` (in the live index's space) that pass the filters,
        best first; `exclude_id` is left out of them."""
        return self.in_live_index(lambda info: self._hits(info, vector_field, vector, k, filters, ef_runtime,
                                                           exclude_id)) or []

    def nearest_to_photo(self, features: np.ndarray, k: int, filters: Filters = NO_FILTERS,
                         ef_runtime: int | None = None) -> list[Hit]:
        """The k products whose photos look most like one, from its image features."""

        def search(info: IndexInfo) -> list[Hit]:
            try:
                embedder = self.spaces.embedder_for(info.image_generation)
            except MissingProjection:
                raise IndexOutdated() from None  # retired by a refit since `info` was read
            vector = embedder.image_vectors(features[np.newaxis])[0]
            return self._hits(info, IMAGE_VECTOR, vector, k, filters, ef_runtime)

        return self.in_live_index(search) or []

    def similar(
        self,
        product_id: str,
        vector_field: str,
        k: int,
        filters: Filters = NO_FILTERS,
        ef_runtime: int | None = None,
    ) -> Similar | None:
        """Products most similar to a stored product by one of its vectors; None if unknown."""

        def search(info: IndexInfo) -> Similar | None:
            wanted = k + 1  # the product itself is usually its own nearest neighbour
            query = self._knn_query(info, vector_field, None, wanted, filters, ef_runtime)
            try:
                document, answer = self._search_and_fetch.from_product(
                    product_id, info.sources[vector_field], info.name, query, query.params, VECTOR_PARAM)
            except redis.ResponseError as error:
                raise IndexOutdated() from error  # see _hits
            if document is None:
                return None
            if answer is None:
                raise IndexOutdated()  # its vector of that space was retired by a refit (or never made)
            return Similar(Product.from_stored(document), self._found_hits(info, answer, k, product_id))

        return self.in_live_index(search)

    def vectors(self, product_id: str) -> dict[str, np.ndarray] | None:
        """A product's vectors as the live index searches them, or None if it is unknown."""
        info = self.index_info()
        return self.store.vectors(product_id, info.sources, info.datatype) if info else None

    def effective_ef_runtime(self, requested: int | None, k: int, info: IndexInfo | None = None) -> int | None:
        """The EF_RUNTIME a query (of the index `info` describes, by default the live one) will
        use: None for FLAT; never below k for HNSW."""
        info = info or self.index_info()
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

    def in_live_index(self, search: Callable[[IndexInfo], Result]) -> Result | None:
        """Run a search for the live index's description; if it was outdated, once more for a
        fresh one. None when there is no index (or it stays outdated); a query the server
        refuses twice for another reason than a missing index raises."""
        for attempt in range(2):
            info = self.index_info(refresh=attempt > 0)
            if info is None:
                return None
            try:
                return search(info)
            except IndexOutdated as outdated:
                refused = outdated.__cause__
        if isinstance(refused, redis.ResponseError) and not is_missing_index(refused):
            raise refused
        return None

    def _hits(self, info: IndexInfo, vector_field: str, vector: np.ndarray, k: int, filters: Filters,
              ef_runtime: int | None, exclude_id: str | None = None) -> list[Hit]:
        """The KNN query against the index `info` describes, by its physical name."""
        wanted = k + 1 if exclude_id else k  # the excluded product is usually its own nearest neighbour
        query = self._knn_query(info, vector_field, vector, wanted, filters, ef_runtime)
        try:
            answer = self._search_and_fetch(info.name, query, query.params)
        except redis.ResponseError as error:
            # Dropped after a re-index, or of another algorithm than described (FLAT rejects EF_RUNTIME).
            raise IndexOutdated() from error
        return self._found_hits(info, answer, k, exclude_id)

    def _knn_query(self, info: IndexInfo, vector_field: str, vector: np.ndarray | None, k: int, filters: Filters,
                   ef_runtime: int | None):
        return knn_query(vector_field, vector, k, filters, ef_runtime=self.effective_ef_runtime(ef_runtime, k, info),
                         hybrid_policy=self.settings.hybrid_policy, datatype=info.datatype)

    @staticmethod
    def _found_hits(info: IndexInfo, answer: Answer, k: int, exclude_id: str | None) -> list[Hit]:
        hits = []
        for found in answer.found:
            if found.product_id == exclude_id or found.document is None:
                continue
            distance = float(found.fields[DISTANCE_FIELD.encode()])
            hits.append(Hit(Product.from_stored(found.document), distance, similarity_score(info.metric, distance)))
        return hits[:k]


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


def _products(answer: Answer) -> list[Product]:
    return [Product.from_stored(found.document) for found in answer.found if found.document is not None]
