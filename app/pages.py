"""Pages for people: the product finder, product photos, and the health check."""

from __future__ import annotations

import re
from pathlib import Path

import redis
from flask import Blueprint, Response, render_template, send_file

from app.errors import ApiError
from app.limits import page_config
from app.services import services
from finder.products import ID_PATTERN

blueprint = Blueprint("pages", __name__)

IMAGE_MAX_AGE_SECONDS = 300


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
    # The id is checked before it reaches Redis, and the file path comes from the stored
    # product, never from the URL: a request cannot name a file of its own choosing.
    if not re.fullmatch(ID_PATTERN, product_id):
        raise ApiError(404, "image_not_found", "no such image")
    product = services().store.get(product_id)
    path = Path(product.image_path) if product else None
    if path is None or not path.is_file():
        raise ApiError(404, "image_not_found", f"no image for product {product_id!r}")
    return send_file(path, max_age=IMAGE_MAX_AGE_SECONDS, conditional=True)
