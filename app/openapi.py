"""The OpenAPI 3 document of the whole HTTP interface, served at /api/openapi.json.

Product schemas come from the Product model and every limit from app/limits.py, so the document
cannot drift from what the views enforce. A test checks that every route of the app is described
here, with its methods.
"""

from __future__ import annotations

from functools import cache

from app.limits import (
    DEFAULT_K,
    DEFAULT_PER_PAGE,
    DEFAULT_SUGGESTIONS,
    FILTER_YEAR_RANGE,
    MAX_BROWSE_DEPTH,
    MAX_FILTER_VALUE_LENGTH,
    MAX_K,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    MAX_SUGGEST_QUERY_LENGTH,
    MAX_SUGGESTIONS,
    MAX_VALUES_PER_FILTER,
)
from finder.config import EF_RUNTIME_RANGE
from finder.products import CATEGORICAL_FIELDS, ID_PATTERN, Product, client_fields_schema
from finder.suggestions import FUZZY_MIN_PREFIX


def _query(name: str, schema: dict, description: str, **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def _filter_parameters() -> list[dict]:
    tags = [
        _query(
            name,
            {"type": "array", "maxItems": MAX_VALUES_PER_FILTER,
             "items": {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_VALUE_LENGTH, "pattern": r"\S"}},
            f"Only products with this {name.replace('_', ' ')} ({Product.model_fields[name].description}). "
            "Repeat the parameter "
            "for alternatives (OR); different attributes combine with AND. Matching ignores case.",
            style="form", explode=True,
        )
        for name in CATEGORICAL_FIELDS
    ]
    years = [
        _query(name, {"type": "integer", "minimum": FILTER_YEAR_RANGE[0], "maximum": FILTER_YEAR_RANGE[1]},
               f"Only products from this year {'on' if name == 'year_min' else 'or earlier'} (inclusive).")
        for name in ("year_min", "year_max")
    ]
    return tags + years


PRODUCT_ID = {"name": "product_id", "in": "path", "required": True, "schema": {"type": "string"},
              "description": f"Product id ({ID_PATTERN})"}
PHOTO_VERSION = _query("v", {"type": "string"}, "The photo version its product's image_url carries.")
UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The upload_id a photo search returned (in query.upload_id)"}
K = _query("k", {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": DEFAULT_K}, "Number of results.")
EF_RUNTIME = _query("ef_runtime", {"type": "integer", "minimum": EF_RUNTIME_RANGE[0], "maximum": EF_RUNTIME_RANGE[1]},
                    "HNSW candidate list size for this query (recall vs speed); ignored by a FLAT index. "
                    "Default HNSW_EF_RUNTIME; never less than k.")


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


BAD_REQUEST = _error("Invalid parameter (the message names it)")
NOT_FOUND = _error("Unknown product")
UNAVAILABLE = _error("Redis is unreachable")


WRITE_ERRORS = {
    "400": _error("Invalid product fields, JSON or image data (the message names the problem)"),
    "401": _error("Missing or wrong API key"),
    "403": _error("Writes are disabled: the server has no API_KEY"),
    "409": _error("The id exists (create) or a concurrent write won (nothing was written)"),
    "413": _error("Payload over MAX_UPLOAD_MB or image with too many pixels"),
    "415": _error("Not an image, or a body that is neither multipart/form-data nor JSON"),
    "503": UNAVAILABLE,
}


def _product_body(image_required: bool) -> dict:
    fields = {"$ref": "#/components/schemas/ProductFields"}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["product", *(["image"] if image_required else [])],
                    "properties": {"product": fields, "image": {"type": "string", "format": "binary"}},
                },
                "encoding": {"product": {"contentType": "application/json"}},
            },
            "application/json": {"schema": {
                "type": "object",
                "required": ["product", *(["image"] if image_required else [])],
                "additionalProperties": False,
                "properties": {"product": fields, "image": {"type": "string", "contentEncoding": "base64"}},
            }},
        },
    }


def _search_operation(summary: str, extra_parameters: list[dict], extra_responses: dict | None = None) -> dict:
    return {
        "summary": summary,
        "parameters": [*extra_parameters, K, EF_RUNTIME, *_filter_parameters()],
        "responses": {"200": _ok("SearchResults"), "400": BAD_REQUEST, "503": UNAVAILABLE, **(extra_responses or {})},
    }


def _product_schema() -> dict:
    """A product as the API returns it: the client's fields plus the URL of its photo."""
    fields = client_fields_schema()
    return {
        "type": "object",
        "required": [*fields["required"], "image_url", "thumbnail_url"],
        "properties": {**fields["properties"], "image_url": {"type": "string"},
                       "thumbnail_url": {"type": "string", "description": "A copy at most 320 px wide (WebP)"}},
    }


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "Product": _product_schema(),
    "ProductFields": {
        **client_fields_schema(),
        "description": "A product as a client writes it (the server stores the photo and sets image_url). "
                       "On PUT the id comes from the URL and may be left out.",
    },
    "ProductPage": {
        "type": "object",
        "required": ["total", "page", "per_page", "filters", "products"],
        "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "filters": {"type": "object"},
            "products": {"type": "array", "items": {"$ref": "#/components/schemas/Product"}},
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["results", "k", "filters", "took_ms"],
        "properties": {
            "results": {
                "type": "array",
                "description": "Best first.",
                "items": {
                    "type": "object",
                    "required": ["product", "distance", "score"],
                    "properties": {
                        "product": {"$ref": "#/components/schemas/Product"},
                        "distance": {"type": "number", "description": "Raw vector distance under the index metric "
                                     "(COSINE: 1 - cos, IP: 1 - dot, L2: squared euclidean)."},
                        "score": {"type": "number", "description": "Cosine similarity in [-1, 1], higher is better, "
                                  "whatever the metric (all vectors are unit length)."},
                    },
                },
            },
            "k": {"type": "integer"},
            "filters": {"type": "object"},
            "took_ms": {"type": "number", "description": "Server time for the search, embedding included."},
            "query": {"type": "object", "description": "What was searched: {by, product} for similar, {q} for "
                      "text, {upload_id, image_url} for a photo (GET /api/search/image/{upload_id} repeats it)."},
            "ef_runtime": {"type": ["integer", "null"], "description": "EF_RUNTIME used (null for FLAT)."},
            "metric": {"type": ["string", "null"]},
        },
    },
    "TextSearchResults": {
        "type": "object",
        "required": ["results", "k", "filters", "took_ms", "understood", "did_you_mean", "close_match"],
        "properties": {
            "results": {
                "type": "array",
                "description": "Best first.",
                "items": {
                    "type": "object",
                    "required": ["product", "distance", "score"],
                    "properties": {
                        "product": {"$ref": "#/components/schemas/Product"},
                        "distance": {"type": ["number", "null"],
                                     "description": "Text vector distance, when KNN over the text vectors found it."},
                        "score": {"type": "number", "description": "Fused relevance in (0, 1], higher is better."},
                        "explain": {
                            "type": "object",
                            "description": "With explain=1.",
                            "properties": {
                                "fused_score": {"type": "number"},
                                "lexical_rank": {"type": ["integer", "null"], "description": "Rank under BM25."},
                                "vector_rank": {"type": ["integer", "null"], "description": "Rank under KNN."},
                                "ranks": {"type": "object", "description": "Rank per retriever that found it.",
                                          "additionalProperties": {"type": "integer"}},
                                "text_similarity": {"type": ["number", "null"]},
                                "matched_words": {"type": "array", "items": {"type": "string"}},
                                "matched_values": {"type": "object", "additionalProperties": {"type": "string"}},
                                "highlights": {"type": "array", "items": {"type": "string"},
                                               "description": "Words of the name that matched the query."},
                            },
                        },
                    },
                },
            },
            "k": {"type": "integer"},
            "filters": {"type": "object"},
            "took_ms": {"type": "number"},
            "query": {"type": "object"},
            "ef_runtime": {"type": ["integer", "null"]},
            "metric": {"type": ["string", "null"]},
            "understood": {
                "type": "object",
                "description": "Catalog values the query names (attribute -> values), and the words that named "
                               "them. They rank products, never filter them; pass them as filters to narrow.",
                "properties": {
                    "attributes": {"type": "object", "additionalProperties": {"type": "array",
                                                                                "items": {"type": "string"}}},
                    "recognised": {"type": "array", "items": {"type": "object"}},
                    "products": {"type": "integer",
                                 "description": "Products with every one of these values (under the filters)."},
                },
            },
            "did_you_mean": {"type": ["string", "null"],
                             "description": "The query with misspelt words corrected, when it finds other products."},
            "corrections": {"type": "object", "additionalProperties": {"type": "string"}},
            "close_match": {"type": "boolean",
                            "description": "False when nothing matches well: the results are the nearest products."},
        },
    },
    "Facets": {
        "type": "object",
        "required": ["total", "filters", "facets"],
        "properties": {
            "total": {"type": "integer", "description": "Products passing all the filters."},
            "filters": {"type": "object"},
            "facets": {
                "type": "object",
                "description": "Per attribute, its values with product counts, most common first. The counts of "
                               "an attribute ignore that attribute's own filter (its values are alternatives).",
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "object", "required": ["value", "count"],
                              "properties": {"value": {"type": ["string", "integer"]}, "count": {"type": "integer"}}},
                },
            },
        },
    },
    "Suggestions": {
        "type": "object",
        "required": ["q", "suggestions"],
        "properties": {
            "q": {"type": "string", "description": "The prefix, as sent."},
            "suggestions": {
                "type": "array",
                "description": "Best first: entries shared by more products rank higher, shorter ones before "
                               "longer ones. Empty when nothing matches or no catalog is loaded.",
                "items": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}, "products": {"type": "integer"},
                       "error": {"type": "object"}},
    },
    "IndexInfo": {
        "type": "object", "required": ["name", "algorithm", "metric", "documents", "vector_fields"],
        "properties": {"image_projection": {
            "type": ["object", "null"],
            "description": "The projection By Image vectors are made with (null: the image model's own vectors): "
                           "its generation and what it was fitted on (products, article types, type|colour "
                           "labels, fitted_at)."}},
    },
    "Vectors": {
        "type": "object",
        "properties": {"text": {"type": ["array", "null"], "items": {"type": "number"}},
                       "image": {"type": ["array", "null"], "items": {"type": "number"}}},
    },
}


@cache
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Product Finder API",
            "version": "1.0.0",
            "description": "Browse a product catalog and find similar products by text or image embeddings "
                           "(hybrid RediSearch queries: filters + KNN). Errors are "
                           '{"error": {"code": ..., "message": ...}}.',
        },
        "paths": {
            "/": {"get": {"summary": "The product finder page", "responses": {"200": {"description": "HTML page",
                                                                                      "content": {"text/html": {}}}}}},
            "/health": {"get": {"summary": "Liveness and product count",
                                "responses": {"200": _ok("Health"), "503": _ok("Health", "Redis is unreachable")}}},
            "/images/{product_id}": {"get": {
                "summary": "The product photo (with v, its current version, cached by browsers for good)",
                "parameters": [PRODUCT_ID, PHOTO_VERSION],
                "responses": {"200": {"description": "The photo", "content": {"image/*": {}}}, "404": NOT_FOUND,
                              "503": UNAVAILABLE},
            }},
            "/images/{product_id}/thumbnail": {"get": {
                "summary": "The product photo scaled down for grids (WebP, at most 320 px), made on first request",
                "parameters": [PRODUCT_ID, PHOTO_VERSION],
                "responses": {"200": {"description": "The thumbnail", "content": {"image/webp": {}}},
                              "404": NOT_FOUND, "503": UNAVAILABLE},
            }},
            "/uploads/{upload_id}": {"get": {
                "summary": "A preview of a photo searched with (kept for a day)",
                "parameters": [UPLOAD_ID],
                "responses": {"200": {"description": "JPEG preview", "content": {"image/jpeg": {}}},
                              "404": _error("Unknown or expired upload"), "503": UNAVAILABLE},
            }},
            "/api/openapi.json": {"get": {"summary": "This document",
                                          "responses": {"200": {"description": "OpenAPI 3 document",
                                                                "content": {"application/json": {}}}}}},
            "/api/index": {"get": {"summary": "The live search index: algorithm, metric, parameters, size",
                                   "responses": {"200": _ok("IndexInfo"), "404": _error("No index yet"),
                                                 "503": UNAVAILABLE}}},
            "/api/products": {
                "get": {
                    "summary": "Browse products, optionally filtered",
                    "parameters": [
                        _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_BROWSE_DEPTH, "default": 1},
                               "Page number."),
                        _query("per_page",
                               {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
                               "Products per page."),
                        *_filter_parameters(),
                    ],
                    "responses": {"200": _ok("ProductPage"), "400": BAD_REQUEST, "503": UNAVAILABLE},
                },
                "post": {
                    "summary": "Create a product; searchable as soon as the response is sent",
                    "security": [{"apiKey": []}],
                    "requestBody": _product_body(image_required=True),
                    "responses": {"201": _ok("Product", "Created (Location: the product's URL)"), **WRITE_ERRORS},
                },
            },
            "/api/facets": {"get": {
                "summary": "Filter values with product counts, for menus",
                "parameters": _filter_parameters(),
                "responses": {"200": _ok("Facets"), "400": BAD_REQUEST, "503": UNAVAILABLE},
            }},
            "/api/products/{product_id}": {
                "get": {
                    "summary": "One product",
                    "parameters": [PRODUCT_ID],
                    "responses": {"200": _ok("Product"), "404": NOT_FOUND, "503": UNAVAILABLE},
                },
                "put": {
                    "summary": "Replace a product (re-embeds only what changed; without an image the photo stays)",
                    "security": [{"apiKey": []}],
                    "parameters": [PRODUCT_ID],
                    "requestBody": _product_body(image_required=False),
                    "responses": {"200": _ok("Product"), **WRITE_ERRORS, "404": NOT_FOUND},
                },
                "delete": {
                    "summary": "Delete a product: its metadata, vectors and uploaded photo",
                    "security": [{"apiKey": []}],
                    "parameters": [PRODUCT_ID],
                    "responses": {"204": {"description": "Deleted"}, "401": WRITE_ERRORS["401"],
                                  "403": WRITE_ERRORS["403"], "404": NOT_FOUND, "409": WRITE_ERRORS["409"],
                                  "503": UNAVAILABLE},
                },
            },
            "/api/products/{product_id}/vectors": {"get": {
                "summary": "The product's stored text and image vectors",
                "parameters": [PRODUCT_ID],
                "responses": {"200": _ok("Vectors"), "404": NOT_FOUND, "503": UNAVAILABLE},
            }},
            "/api/products/{product_id}/similar": {"get": {
                **_search_operation(
                    "Products most similar to a product, by its text or image vector (the product itself excluded)",
                    [PRODUCT_ID, _query("by", {"type": "string", "enum": ["text", "image"], "default": "text"},
                                        "Which vector to compare.")],
                    {"404": NOT_FOUND},
                ),
            }},
            "/api/suggest": {"get": {
                "summary": "Autocomplete: product names and phrases such as 'Red Dresses' that start with q",
                "parameters": [
                    _query("q", {"type": "string", "minLength": 1, "maxLength": MAX_SUGGEST_QUERY_LENGTH},
                           "What has been typed. Matching ignores case; a trailing space ends a word. When "
                           f"nothing starts with a prefix of {FUZZY_MIN_PREFIX} characters or more, entries one typo "
                           "away are suggested.", required=True),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS,
                                     "default": DEFAULT_SUGGESTIONS}, "Most suggestions to return."),
                ],
                "responses": {"200": _ok("Suggestions"), "400": BAD_REQUEST, "503": UNAVAILABLE},
            }},
            "/api/search": {"get": {
                **_search_operation(
                    "Free-text search: BM25 over names and attribute words fused with KNN over the text vectors, "
                    "with catalog values named in the query ranked first",
                    [_query("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH},
                            "What to look for.", required=True),
                     _query("explain", {"type": "boolean", "default": False},
                            "Add per result how it was found (ranks, fused score, matched words and values).")],
                ),
                "responses": {"200": _ok("TextSearchResults"), "400": BAD_REQUEST, "503": UNAVAILABLE},
            }},
            "/api/search/image": {"post": {
                **_search_operation(
                    "Search by photo over the image vectors", [],
                    {"413": _error("Upload over MAX_UPLOAD_MB or too many pixels"),
                     "415": _error("Not an image")},
                ),
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": {
                        "type": "object", "required": ["image"],
                        "properties": {"image": {"type": "string", "format": "binary"}},
                    }}},
                },
            }},
            "/api/search/image/{upload_id}": {"get": _search_operation(
                "The same photo search again (uploads are kept for a day): a photo search as a link",
                [UPLOAD_ID], {"404": _error("Unknown or expired upload")},
            )},
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "The API_KEY the server was started with"}},
        },
    }
