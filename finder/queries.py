"""Building RediSearch queries. The only place query syntax is written; views never do it.

Queries return product ids (and distances), never documents: product metadata comes from one
JSON.MGET for the whole page (see search.py).
"""

from __future__ import annotations

import numpy as np
from redis.commands.search.query import Query
from redisvl.query import VectorQuery
from redisvl.query.filter import FilterExpression

DIALECT = 2
DISTANCE_FIELD = VectorQuery.DISTANCE_ID


def browse_query(offset: int, limit: int, filters: FilterExpression | None = None) -> Query:
    """A page of products in catalog order; ids only."""
    return Query(_filter_string(filters)).no_content().paging(offset, limit).dialect(DIALECT)


def count_query(filters: FilterExpression | None = None) -> Query:
    return Query(_filter_string(filters)).no_content().paging(0, 0).dialect(DIALECT)


def knn_query(
    vector_field: str,
    vector: np.ndarray,
    k: int,
    filters: FilterExpression | None = None,
    ef_runtime: int | None = None,
) -> VectorQuery:
    """The k nearest products by one vector field among those passing the filters (a hybrid
    query: RediSearch applies the filters first, then ranks what passes by distance).
    ef_runtime applies to HNSW indexes only (FLAT rejects it)."""
    return VectorQuery(
        vector=np.asarray(vector, dtype=np.float32).tobytes(),
        vector_field_name=vector_field,
        return_fields=[],
        filter_expression=filters,
        num_results=k,
        ef_runtime=ef_runtime,
        dialect=DIALECT,
    )


def _filter_string(filters: FilterExpression | None) -> str:
    rendered = str(filters) if filters is not None else "*"
    return rendered or "*"
