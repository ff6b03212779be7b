"""The search index schema, as data: one definition used by the loader, the app and the tests.

Layout (measured in docs/design.md): product metadata lives in a RedisJSON document per product
(`finder:product:<id>`, see products.py). The vectors live in a HASH per product beside it
(`finder:search:<id>`) as bytes of the index's datatype (VECTOR_DATATYPE), together with copies
of the fields a search filters on, because a hybrid query can only pre-filter on fields of the
index that holds the vectors. Vectors inside the JSON document would cost ~3.5x the memory (JSON
stores each float as a separate value).

Each datatype's vectors have a field of their own (stored_field): a re-index that converts them
fills the new fields while the live index still reads the old ones (RediSearch drops a document
whose vector bytes do not fit the index's datatype from that index).

The app always queries the alias `finder:products`; the physical index behind it is named after
its settings, so a re-index can build a new one beside it and switch the alias atomically.
"""

from __future__ import annotations

import time

import numpy as np
from redisvl.schema import IndexSchema

from finder.config import Settings
from finder.products import CATEGORICAL_FIELDS

INDEX_ALIAS = "finder:products"
SEARCH_KEY_PREFIX = "finder:search:"
TEXT_VECTOR = "text_vector"
IMAGE_VECTOR = "image_vector"
VECTOR_FIELDS = (TEXT_VECTOR, IMAGE_VECTOR)
NUMPY_DATATYPES = {"FLOAT32": np.float32, "FLOAT16": np.float16}  # VECTOR_DATATYPES' numpy types
# What finder stored before VECTOR_DATATYPE existed: its fields keep their bare names.
ORIGINAL_DATATYPE = "FLOAT32"
DATATYPE_SEPARATOR = ":"  # in no field name or image generation
NUMERIC_FIELDS = ("year",)
# Full-text fields (BM25) and their weights: the product name, and the words of its attributes
# (Product.search_words), so "red dress" matches a red product of type Dresses whatever its name
# says. The name weighs more: it is what a shopper who knows the product types.
TEXT_FIELDS = {"name": 2.0, "words": 1.0}
TAG_SEPARATOR = "|"  # values such as "Navy Blue, Striped" must stay one tag (the default is ",")


def search_key(product_id: str) -> str:
    return SEARCH_KEY_PREFIX + product_id


def product_id_from_search_key(key: str) -> str:
    return key[len(SEARCH_KEY_PREFIX):]


def stored_field(field: str, datatype: str) -> str:
    """The search-hash field holding the vectors of `field` (text_vector, or an image generation's
    field) as `datatype` bytes: `text_vector`, `text_vector:float16`, `image_vector@<generation>:float16`."""
    return field if datatype == ORIGINAL_DATATYPE else f"{field}{DATATYPE_SEPARATOR}{datatype.lower()}"


def field_of(stored: str) -> str:
    """The field whose vectors a stored field holds, whatever their datatype (see stored_field)."""
    return stored.partition(DATATYPE_SEPARATOR)[0]


def vector_bytes(vector: np.ndarray, datatype: str) -> bytes:
    """A vector as an index of `datatype` reads it: stored, or sent with a KNN query."""
    return np.asarray(vector, dtype=NUMPY_DATATYPES[datatype]).tobytes()


def vector_array(raw: bytes, datatype: str) -> np.ndarray:
    """Vector bytes of `datatype` as float32, what the models make (FLOAT16 converts exactly)."""
    return np.frombuffer(raw, dtype=NUMPY_DATATYPES[datatype]).astype(np.float32, copy=False)


def physical_index_name(algorithm: str, metric: str, datatype: str) -> str:
    return f"{INDEX_ALIAS}:{algorithm.lower()}-{metric.lower()}-{datatype.lower()}-{time.time_ns() // 1_000_000}"


def build_schema(settings: Settings, text_dim: int, image_dim: int, name: str | None = None) -> IndexSchema:
    """The index definition for the configured algorithm, metric, datatype and model dimensions."""
    name = name or physical_index_name(settings.index_algorithm, settings.distance_metric, settings.vector_datatype)
    fields = [
        *({"name": field, "type": "text", "attrs": {"weight": weight}} for field, weight in TEXT_FIELDS.items()),
        # Sortable: facet counts (FT.AGGREGATE GROUPBY) read the sorting vector instead of every
        # document, ~10x faster. index.create_index adds UNF so facets keep the values' case.
        *(
            {"name": field, "type": "tag", "attrs": {"separator": TAG_SEPARATOR, "sortable": True}}
            for field in CATEGORICAL_FIELDS
        ),
        *({"name": field, "type": "numeric", "attrs": {"sortable": True}} for field in NUMERIC_FIELDS),
        _vector_field(settings, TEXT_VECTOR, text_dim),
        _vector_field(settings, IMAGE_VECTOR, image_dim),
    ]
    return IndexSchema.from_dict(
        {"index": {"name": name, "prefix": SEARCH_KEY_PREFIX, "storage_type": "hash"}, "fields": fields}
    )


def _vector_field(settings: Settings, name: str, dims: int) -> dict:
    attrs = {
        "dims": dims,
        "algorithm": settings.index_algorithm.lower(),
        "distance_metric": settings.distance_metric.lower(),
        "datatype": settings.vector_datatype,
    }
    if settings.index_algorithm == "HNSW":
        attrs |= {
            "m": settings.hnsw_m,
            "ef_construction": settings.hnsw_ef_construction,
            "ef_runtime": settings.hnsw_ef_runtime,
        }
    return {"name": name, "type": "vector", "attrs": attrs}


def schema_datatype(schema: IndexSchema) -> str:
    """The datatype an index definition stores its vectors as (one for all: see _vector_field)."""
    return schema.fields[TEXT_VECTOR].attrs.datatype.value
