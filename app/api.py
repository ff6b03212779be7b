"""The JSON API under /api. Views parse the request, call finder, and serialise the answer."""

from __future__ import annotations

from flask import Blueprint, request

from app.errors import ApiError
from app.services import services
from finder.index import describe_index

blueprint = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_PER_PAGE = 24
MAX_PER_PAGE = 100


@blueprint.get("/index")
def index_info():
    finder = services()
    info = describe_index(finder.client)
    if info is None:
        raise ApiError(404, "index_not_found", "there is no search index yet: load a catalog with `python -m indexer load PATH`")
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
        "documents": info.documents,
        "indexing": info.indexing,
        "vector_fields": [
            {"name": field.name, "dims": field.dims, "datatype": field.datatype}
            for field in info.vector_fields.values()
        ],
    }


@blueprint.get("/products")
def list_products():
    page = _int_arg("page", default=1, low=1, high=1_000_000)
    per_page = _int_arg("per_page", default=DEFAULT_PER_PAGE, low=1, high=MAX_PER_PAGE)
    result = services().search.browse(offset=(page - 1) * per_page, limit=per_page)
    return {
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "products": [product.to_public() for product in result.products],
    }


@blueprint.get("/products/<product_id>")
def get_product(product_id: str):
    return _existing_product(product_id).to_public()


def _existing_product(product_id: str):
    product = services().store.get(product_id)
    if product is None:
        raise ApiError(404, "product_not_found", f"no product with id {product_id!r}")
    return product


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}, got {value}")
    return value
