"""Building RediSearch queries: the only place query syntax is written; views never do it.

Queries return product ids (and distances or scores), never documents: product metadata comes
from one JSON.MGET for the whole page (see search.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from redis.commands.search.query import Query
from redisvl.query import VectorQuery

from finder.products import CATEGORICAL_FIELDS, CONTROL_CHARACTERS
from finder.schema import TEXT_FIELDS, vector_bytes
from finder.synonyms import SHOPPER_WORDS_DICT
from finder.words import escaped

DIALECT = 2
DISTANCE_FIELD = VectorQuery.DISTANCE_ID
VECTOR_PARAM = VectorQuery.VECTOR_PARAM  # the query parameter that holds the query vector
FACET_LIMIT = 1000  # values per facet; the largest real catalogs have ~150 article types
# BM25 as Lucene computes it. RediSearch's default (TF-IDF) and its older BM25 divide by the
# distance between matched terms and tie often on OR queries.
LEXICAL_SCORER = "BM25STD"
SPELLING_DISTANCE = 2  # edits; 1 misses swapped letters ("shrit")
PHRASE_SLOP = 2  # words the index skips (stopwords) may sit between the typed ones

# Every ASCII character that is not a letter or digit: query syntax (braces, |, @, quotes, ...)
# and the separators the tag parser would split on (space, tab, newline), even "_" (a lone "_" is
# a syntax error, found by tests/test_fuzz.py). Escaped, each is taken literally, so a filter
# value can never end its tag clause or add a clause of its own.
# Non-ASCII characters are never syntax and must stay unescaped to match.
_TAG_SPECIAL = re.compile(r"([\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f])")


def escape_tag_value(value: str) -> str:
    return _TAG_SPECIAL.sub(r"\\\1", value)


@dataclass(frozen=True)
class Filters:
    """Pre-filters shared by browsing, facets and every similarity search.

    Values of one attribute are alternatives (OR); attributes combine with AND. The year range
    is inclusive at both ends.
    """

    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    year_min: int | None = None
    year_max: int | None = None

    def __post_init__(self):
        unknown = set(self.tags) - set(CATEGORICAL_FIELDS)
        if unknown:
            raise ValueError(f"not filterable: {', '.join(sorted(unknown))}")
        values = [value for values in self.tags.values() for value in values]
        if any(not values for values in self.tags.values()) or not all(values):
            raise ValueError("filter values must not be empty")  # an empty tag clause would match everything
        if any(CONTROL_CHARACTERS.search(value) for value in values):
            # No stored value has them (products refuse them), and RediSearch cannot match them.
            raise ValueError("filter values must not contain control characters")

    def expression(self, without: str | None = None) -> str:
        """The RediSearch filter, `*` when nothing is filtered. `without` leaves one attribute
        out (facet counts for an attribute ignore that attribute's own selection)."""
        clauses = [
            f"@{name}:{{{'|'.join(escape_tag_value(value) for value in values)}}}"
            for name, values in self.tags.items()
            if values and name != without
        ]
        if (self.year_min is not None or self.year_max is not None) and without != "year":
            low = "-inf" if self.year_min is None else str(int(self.year_min))
            high = "+inf" if self.year_max is None else str(int(self.year_max))
            clauses.append(f"@year:[{low} {high}]")
        return " ".join(clauses) or "*"

    def narrowed(self, tags: Mapping[str, tuple[str, ...]]) -> Filters | None:
        """These filters and, for each attribute, one of `tags`' values too; None when some
        attribute is left with no value both allow (nothing can match)."""
        merged = dict(self.tags)
        for name, values in tags.items():
            merged[name] = tuple(value for value in values if value in merged[name]) if name in merged else values
            if not merged[name]:
                return None
        return Filters(tags=merged, year_min=self.year_min, year_max=self.year_max)

    def as_dict(self) -> dict:
        """The filters as the API echoes them back."""
        echoed: dict = {name: list(values) for name, values in self.tags.items() if values}
        if self.year_min is not None:
            echoed["year_min"] = self.year_min
        if self.year_max is not None:
            echoed["year_max"] = self.year_max
        return echoed


NO_FILTERS = Filters()


def browse_query(offset: int, limit: int, filters: Filters = NO_FILTERS) -> Query:
    """A page of products in catalog order; ids only."""
    return Query(filters.expression()).no_content().paging(offset, limit).dialect(DIALECT)


def count_query(filters: Filters = NO_FILTERS) -> Query:
    return Query(filters.expression()).no_content().paging(0, 0).dialect(DIALECT)


def knn_query(
    vector_field: str,
    vector: np.ndarray | None,
    k: int,
    filters: Filters = NO_FILTERS,
    ef_runtime: int | None = None,
    hybrid_policy: str = "AUTO",
    *,
    datatype: str,
) -> VectorQuery:
    """The k nearest products by one vector field among those passing the filters: one hybrid
    query, RediSearch applies the pre-filter and ranks what passes by distance. The vector is sent
    as bytes of the index's datatype (IndexInfo.datatype), which the index requires.

    ef_runtime applies to HNSW only (FLAT rejects it). hybrid_policy AUTO lets RediSearch choose
    per query between ADHOC_BF (brute force over the filtered products, for selective filters)
    and BATCHES (KNN batches checked against the filter, for broad ones). Without a vector, the
    VECTOR_PARAM parameter is left for the caller to fill (finder.search_and_fetch sends a
    stored vector that way)."""
    expression = filters.expression()
    return VectorQuery(
        vector=b"" if vector is None else vector_bytes(vector, datatype),
        vector_field_name=vector_field,
        return_fields=[],
        filter_expression=None if expression == "*" else expression,
        num_results=k,
        ef_runtime=ef_runtime,
        hybrid_policy=None if hybrid_policy == "AUTO" else hybrid_policy,
        dialect=DIALECT,
    )


def text_clause(
    query_words: Sequence[str], corrections: Mapping[str, str], more_terms: Sequence[str] = ()
) -> str | None:
    """Any of the words (OR; BM25 ranks products matching more and rarer words higher) in the
    product's name or attribute words, and a bonus for a name holding them as typed, in order
    (the product a shopper names). A misspelt word also matches its correction. None when no
    word is left to search."""
    terms = [
        f"({escaped(word)} | {escaped(corrections[word])})" if word in corrections else escaped(word)
        for word in [*query_words, *more_terms]
    ]
    if not terms:
        return None
    clause = f"@{'|'.join(TEXT_FIELDS)}:({' | '.join(terms)})"
    if len(query_words) < 2:
        return clause
    phrase = " ".join(escaped(word) for word in query_words)
    return f'(@name:"{phrase}" => {{$slop: {PHRASE_SLOP}; $inorder: true;}}) | {clause}'


def lexical_command(index_name: str, clause: str, limit: int, filters: Filters = NO_FILTERS) -> list:
    """FT.SEARCH arguments: ids and BM25 scores of the best `limit` products matching the text
    clause and passing the filters. The filters weigh nothing: a TAG clause would otherwise add
    to the score, more for rarer values."""
    expression = filters.expression()
    query = clause if expression == "*" else f"{clause} ({expression}) => {{$weight: 0.0}}"
    return ["FT.SEARCH", index_name, query, "WITHSCORES", "NOCONTENT", "SCORER", LEXICAL_SCORER,
            "LIMIT", 0, limit, "DIALECT", DIALECT]


def knn_command(index_name: str, query: VectorQuery) -> list:
    """FT.SEARCH arguments of a KNN query, for a pipeline."""
    params = [item for pair in query.params.items() for item in pair]
    return ["FT.SEARCH", index_name, *query.get_args(), "PARAMS", len(params), *params]


def spellcheck_command(index_name: str, query_words: Sequence[str]) -> list:
    """FT.SPELLCHECK arguments: suggestions for the words the index does not hold, shopper
    words excepted (a synonym no product mentions is not a typo)."""
    return ["FT.SPELLCHECK", index_name, " ".join(escaped(word) for word in query_words),
            "DISTANCE", SPELLING_DISTANCE, "TERMS", "EXCLUDE", SHOPPER_WORDS_DICT, "DIALECT", DIALECT]


def facet_command(index_name: str, attribute: str, filters: Filters = NO_FILTERS) -> list:
    """FT.AGGREGATE arguments counting products per value of one attribute, most common first.

    The attribute's own filter is left out, so a menu keeps offering the other values of a
    field whose values combine with OR."""
    return [
        "FT.AGGREGATE", index_name, filters.expression(without=attribute),
        "GROUPBY", "1", f"@{attribute}",
        "REDUCE", "COUNT", "0", "AS", "count",
        "SORTBY", "4", "@count", "DESC", f"@{attribute}", "ASC",
        "LIMIT", "0", str(FACET_LIMIT),
        "DIALECT", str(DIALECT),
    ]
