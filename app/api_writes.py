"""Real-time writes: create, replace and delete products. Every write needs the API key.

A product is sent either as multipart/form-data (field `product`: the product as JSON, file
`image`: its photo) or as JSON `{"product": {...}, "image": "<base64 photo>"}`. The server sets
where the photo is stored; clients never name files.
"""

from __future__ import annotations

import base64
import binascii
import json

from flask import Blueprint, request, url_for
from pydantic import ValidationError

from app.api import IMAGE_ERROR_STATUS
from app.auth import require_api_key
from app.errors import ApiError
from app.services import services
from finder.embeddings import ImageError
from finder.products import CLIENT_FIELDS, validation_message
from finder.writes import ProductExists, ProductNotFound, WriteConflict

blueprint = Blueprint("api_writes", __name__, url_prefix="/api")



@blueprint.post("/products")
@require_api_key
def create_product():
    fields, photo = _product_request(photo_required=True)
    product = _attempt(lambda: services().writer.create(fields, photo))
    return product.to_public(), 201, {"Location": url_for("api.get_product", product_id=product.id)}


@blueprint.put("/products/<product_id>")
@require_api_key
def replace_product(product_id: str):
    fields, photo = _product_request(photo_required=False)
    if fields.pop("id", product_id) != product_id:
        raise ApiError(400, "invalid_product", "the id in the body differs from the id in the URL")
    return _attempt(lambda: services().writer.replace(product_id, fields, photo)).to_public()


@blueprint.delete("/products/<product_id>")
@require_api_key
def delete_product(product_id: str):
    _attempt(lambda: services().writer.delete(product_id))
    return "", 204


def _attempt(write):
    """Run a write, turning every refusal into a clear 4xx (nothing is written in those cases)."""
    try:
        return write()
    except ValidationError as error:
        raise ApiError(400, "invalid_product", validation_message(error)) from None
    except ImageError as error:
        raise ApiError(IMAGE_ERROR_STATUS[error.kind], error.kind, str(error)) from None
    except ProductExists as error:
        raise ApiError(409, "product_exists",
                       f"a product with id {str(error)!r} already exists; PUT replaces it") from None
    except ProductNotFound as error:
        raise ApiError(404, "product_not_found", f"no product with id {str(error)!r}") from None
    except WriteConflict as error:
        raise ApiError(409, "write_conflict", f"product {str(error)!r} was changed by another request at the "
                       "same moment; nothing was written, try again") from None


def _product_request(photo_required: bool) -> tuple[dict, bytes | None]:
    """The product fields and photo bytes of a multipart or JSON request."""
    if request.mimetype == "multipart/form-data":
        names = {name or "" for name in [*request.form, *request.files]}  # a part may have no name at all
        unknown = sorted(names - {"product", "image"})
        if unknown:
            raise ApiError(400, "invalid_product", f"unknown form field {', '.join(map(repr, unknown))}; "
                           "send 'product' (JSON) and 'image' (file)")
        product = _json_object(request.form.get("product"), "the form field 'product'")
        upload = request.files.get("image")
        photo = upload.read() if upload is not None else None
    elif request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json",
                           "the body must be a JSON object: {\"product\": {...}, \"image\": \"<base64>\"}")
        unknown = sorted(set(body) - {"product", "image"})
        if unknown:
            raise ApiError(400, "invalid_product", f"unknown field {', '.join(map(repr, unknown))} in the body; "
                           "send 'product' and 'image'")
        product = body.get("product")
        if not isinstance(product, dict):
            raise ApiError(400, "invalid_product", "'product' must be a JSON object of product fields")
        photo = body.get("image")
    else:
        raise ApiError(415, "unsupported_media_type",
                       "send multipart/form-data (product + image) or application/json (product + base64 image)")
    unknown_fields = sorted(set(product) - set(CLIENT_FIELDS))
    if unknown_fields:
        raise ApiError(400, "invalid_product", f"unknown product field {', '.join(map(repr, unknown_fields))}; "
                       f"allowed: {', '.join(CLIENT_FIELDS)}")
    if request.mimetype == "application/json":
        photo = _base64_photo(photo)
    if photo is not None and not photo:
        raise ApiError(400, "missing_image", "the image is empty")
    if photo is None and photo_required:
        raise ApiError(400, "missing_image", "a new product needs a photo: the 'image' field")
    return product, photo


def _json_object(raw: str | None, where: str) -> dict:
    if raw is None:
        raise ApiError(400, "invalid_product", f"{where} is missing: it holds the product as a JSON object")
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(400, "invalid_json", f"{where} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_product", f"{where} must be a JSON object of product fields")
    return value


def _base64_photo(value) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_image", "'image' must be the photo as a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_image", "'image' is not valid base64") from None
