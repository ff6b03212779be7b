"""Pages for people: the product finder, product photos, and the health check."""

from __future__ import annotations

import re
from pathlib import Path

import redis
from flask import Blueprint, Response, render_template, request, send_file

from app.errors import ApiError
from app.limits import page_config
from app.services import services
from finder.embeddings import ImageError
from finder.products import ID_PATTERN, Product

blueprint = Blueprint("pages", __name__)

IMAGE_MAX_AGE_SECONDS = 300
VERSIONED_MAX_AGE_SECONDS = 365 * 24 * 3600


@blueprint.get("/")
def home():
    return render_template("index.html", page_config=page_config(services().settings))


@blueprint.get("/health")
def health():
    finder = services()
    try:
        finder.client.ping()
        products = finder.search.count()
    except (redis.ConnectionError, redis.TimeoutError) as error:
        return {"status": "unavailable", "error": {"code": "redis_unavailable", "message": str(error)}}, 503
    return {"status": "ok", "products": products}


@blueprint.get("/uploads/<upload_id>")
def uploaded_photo(upload_id: str):
    preview = services().uploads.preview(upload_id)
    if preview is None:
        raise ApiError(404, "upload_not_found", "this photo is no longer stored (uploads are kept for a day)")
    return Response(preview, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@blueprint.get("/images/<product_id>")
def product_image(product_id: str):
    product = _product_with_photo(product_id)
    return _photo(Path(product.image_path), product)


@blueprint.get("/images/<product_id>/thumbnail")
def product_thumbnail(product_id: str):
    """The photo scaled down for the grid (WebP), made on its first request."""
    product = _product_with_photo(product_id)
    try:
        path = services().thumbnails.path_for(product)
    except (ImageError, OSError):
        raise ApiError(404, "image_not_found", f"the photo of product {product_id!r} cannot be read") from None
    return _photo(path, product)


def _product_with_photo(product_id: str) -> Product:
    # The id is checked before it reaches Redis, and the file path comes from the stored
    # product, never from the URL: a request cannot name a file of its own choosing.
    if not re.fullmatch(ID_PATTERN, product_id):
        raise ApiError(404, "image_not_found", "no such image")
    product = services().store.get(product_id)
    if product is None or not Path(product.image_path).is_file():
        raise ApiError(404, "image_not_found", f"no image for product {product_id!r}")
    return product


def _photo(path: Path, product: Product) -> Response:
    """A photo file; kept by browsers for good when asked for by its current version (the URL
    changes with the photo), revalidated after a few minutes otherwise."""
    response = send_file(path, conditional=True)
    current = product.image_version is not None and request.args.get("v") == product.image_version
    response.cache_control.public = True
    response.cache_control.max_age = VERSIONED_MAX_AGE_SECONDS if current else IMAGE_MAX_AGE_SECONDS
    response.cache_control.immutable = current
    return response
