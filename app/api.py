"""The JSON API under /api. Views parse the request, call finder, and serialise the answer."""

from __future__ import annotations

import time

from flask import Blueprint, request, url_for

from app.errors import ApiError
from app.limits import (
    DEFAULT_K,
    DEFAULT_PER_PAGE,
    DEFAULT_SUGGESTIONS,
    MAX_BROWSE_DEPTH,
    MAX_K,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    MAX_SUGGEST_QUERY_LENGTH,
    MAX_SUGGESTIONS,
)
from app.openapi import openapi_document
from app.params import FILTER_PARAMS, bool_param, check_known, choice_param, filters_from, int_param, text_param
from app.services import services
from finder.config import EF_RUNTIME_RANGE
from finder.embeddings import ImageError, load_image
from finder.index import describe_index
from finder.queries import Filters
from finder.ranking import LEXICAL, VECTOR
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR
from finder.search import Hit
from finder.suggestions import suggest
from finder.text_search import TextHit
from finder.uploads import upload_id_for

blueprint = Blueprint("api", __name__, url_prefix="/api")

VECTOR_BY = {"text": TEXT_VECTOR, "image": IMAGE_VECTOR}
SEARCH_PARAMS = ("k", "ef_runtime", *FILTER_PARAMS)
IMAGE_ERROR_STATUS = {"not_an_image": 415, "corrupt": 400, "too_large": 413}


@blueprint.get("/openapi.json")
def openapi():
    return openapi_document()


@blueprint.get("/index")
def index_info():
    finder = services()
    info = describe_index(finder.client)
    if info is None:
        raise ApiError(404, "index_not_found",
                       "there is no search index yet: load a catalog with `python -m indexer load PATH`")
    projection = finder.search.spaces.projection(info.image_generation)
    hnsw = None
    if info.algorithm == "HNSW":
        first = next(iter(info.vector_fields.values()))
        hnsw = {"m": first.hnsw_m, "ef_construction": first.hnsw_ef_construction,
                "ef_runtime": finder.settings.hnsw_ef_runtime}
    return {
        "name": info.alias,
        "physical_name": info.name,
        "algorithm": info.algorithm,
        "metric": info.metric,
        "hnsw": hnsw,
        "hybrid_policy": finder.settings.hybrid_policy,
        "query_cache": finder.text_search.query_vectors.stats(),
        "documents": info.documents,
        "indexing": info.indexing,
        "vector_fields": [
            {"name": field.name, "dims": field.dims, "datatype": field.datatype}
            for field in info.vector_fields.values()
        ],
        "image_projection": {"generation": projection.generation, **projection.about} if projection else None,
    }


@blueprint.get("/products")
def list_products():
    check_known(request.args, ("page", "per_page", *FILTER_PARAMS))
    filters = filters_from(request.args)
    page = int_param(request.args, "page", 1, 1, MAX_BROWSE_DEPTH)
    per_page = int_param(request.args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    if page * per_page > MAX_BROWSE_DEPTH:
        raise ApiError(400, "invalid_parameter", f"page {page} of {per_page} goes beyond the first "
                       f"{MAX_BROWSE_DEPTH:,} products, the most browsing can reach: narrow it with filters")
    result = services().search.browse(offset=(page - 1) * per_page, limit=per_page, filters=filters)
    return {
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "filters": filters.as_dict(),
        "products": [product.to_public() for product in result.products],
    }


@blueprint.get("/facets")
def facets():
    check_known(request.args, FILTER_PARAMS)
    filters = filters_from(request.args)
    total, values = services().search.facets(filters)
    return {
        "total": total,
        "filters": filters.as_dict(),
        "facets": {
            name: [{"value": value, "count": count} for value, count in pairs] for name, pairs in values.items()
        },
    }


@blueprint.get("/products/<product_id>")
def get_product(product_id: str):
    product = services().store.get(product_id)
    if product is None:
        raise _unknown_product(product_id)
    return product.to_public()


@blueprint.get("/products/<product_id>/vectors")
def product_vectors(product_id: str):
    vectors = services().search.vectors(product_id)
    if vectors is None:
        raise _unknown_product(product_id)
    return {by: vectors[field].tolist() if field in vectors else None for by, field in VECTOR_BY.items()}


@blueprint.get("/products/<product_id>/similar")
def similar_products(product_id: str):
    check_known(request.args, ("by", *SEARCH_PARAMS))
    by = choice_param(request.args, "by", "text", tuple(VECTOR_BY))
    k, ef_runtime, filters = _search_options()
    started = time.perf_counter()
    found = services().search.similar(product_id, VECTOR_BY[by], k, filters, ef_runtime)
    if found is None:
        raise _unknown_product(product_id)
    return _results(found.hits, k, ef_runtime, filters, started, query={"by": by, "product": found.product.to_public()})


@blueprint.get("/suggest")
def suggestions():
    """Completions for what is typed in the search box: product names and facet phrases."""
    check_known(request.args, ("q", "limit"))
    prefix = text_param(request.args, "q", MAX_SUGGEST_QUERY_LENGTH)  # a trailing space ends a word: kept
    limit = int_param(request.args, "limit", DEFAULT_SUGGESTIONS, 1, MAX_SUGGESTIONS)
    return {"q": prefix, "suggestions": [{"text": text} for text in suggest(services().client, prefix, limit)]}


@blueprint.get("/search")
def search_by_text():
    check_known(request.args, ("q", "explain", *SEARCH_PARAMS))
    text = text_param(request.args, "q", MAX_QUERY_LENGTH).strip()
    explain = bool_param(request.args, "explain")
    k, ef_runtime, filters = _search_options()
    started = time.perf_counter()
    found = services().text_search(text, k, filters, ef_runtime)
    body = _results([], k, ef_runtime, filters, started, query={"q": text})
    body["results"] = [_text_result(hit, explain) for hit in found.hits]
    recognised = [{"words": item.words, "attribute": item.attribute, "value": item.value}
                  for item in found.understood.recognised]
    return {
        **body,
        "understood": {"attributes": found.understood.attributes, "recognised": recognised,
                       "products": found.understood_matches},
        "did_you_mean": found.did_you_mean,
        "corrections": found.corrections,
        "close_match": found.close_match,
    }


def _text_result(hit: TextHit, explain: bool) -> dict:
    result = {"product": hit.product.to_public(), "distance": hit.distance, "score": round(hit.score, 4)}
    if explain:
        result["explain"] = {
            "fused_score": round(hit.score, 4),
            "lexical_rank": hit.ranks.get(LEXICAL),
            "vector_rank": hit.ranks.get(VECTOR),
            "ranks": hit.ranks,
            "text_similarity": hit.similarity,
            "matched_words": list(hit.matched_words),
            "matched_values": hit.matched_values,
            "highlights": list(hit.highlights),
        }
    return result


@blueprint.post("/search/image")
def search_by_image():
    check_known(request.args, SEARCH_PARAMS)
    k, ef_runtime, filters = _search_options()
    upload = request.files.get("image")
    if upload is None:
        raise ApiError(400, "missing_image", "send the photo as the multipart/form-data field 'image'")
    data = upload.read()
    if not data:
        raise ApiError(400, "missing_image", "the uploaded file 'image' is empty")
    started = time.perf_counter()
    finder = services()
    try:
        image = load_image(data)
    except ImageError as error:
        raise ApiError(IMAGE_ERROR_STATUS[error.kind], error.kind, str(error)) from None
    features = finder.embedder.image_features([image])[0]
    upload_id = upload_id_for(data)
    finder.uploads.save(upload_id, image, features)
    hits = finder.search.nearest_to_photo(features, k, filters, ef_runtime)
    return _results(hits, k, ef_runtime, filters, started, query=_photo_query(upload_id))


@blueprint.get("/search/image/<upload_id>")
def search_by_uploaded_image(upload_id: str):
    """The same photo search again, for a day after the upload: what makes it a link."""
    check_known(request.args, SEARCH_PARAMS)
    k, ef_runtime, filters = _search_options()
    started = time.perf_counter()
    finder = services()
    features = finder.uploads.features(upload_id)
    if features is None:
        raise ApiError(404, "upload_not_found",
                       "this photo is no longer stored (uploads are kept for a day); upload it again")
    hits = finder.search.nearest_to_photo(features, k, filters, ef_runtime)
    return _results(hits, k, ef_runtime, filters, started, query=_photo_query(upload_id))


def _photo_query(upload_id: str) -> dict:
    return {"upload_id": upload_id, "image_url": url_for("pages.uploaded_photo", upload_id=upload_id)}


def _search_options() -> tuple[int, int | None, Filters]:
    k = int_param(request.args, "k", DEFAULT_K, 1, MAX_K)
    ef_runtime = int_param(request.args, "ef_runtime", None, *EF_RUNTIME_RANGE)
    return k, ef_runtime, filters_from(request.args)


def _results(hits: list[Hit], k: int, ef_runtime: int | None, filters: Filters, started: float, query: dict) -> dict:
    search = services().search
    info = search.index_info()
    return {
        "results": [
            {"product": hit.product.to_public(), "distance": hit.distance, "score": hit.score} for hit in hits
        ],
        "k": k,
        "filters": filters.as_dict(),
        "took_ms": round((time.perf_counter() - started) * 1000, 2),
        "query": query,
        "ef_runtime": search.effective_ef_runtime(ef_runtime, k),
        "metric": info.metric if info else None,
    }


def _unknown_product(product_id: str) -> ApiError:
    return ApiError(404, "product_not_found", f"no product with id {product_id!r}")
