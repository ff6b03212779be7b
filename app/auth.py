"""Write endpoints need the API key: `Authorization: Bearer <API_KEY>`. Reads stay open."""

from __future__ import annotations

import hmac
from functools import wraps

from flask import request

from app.errors import ApiError
from app.services import services


def require_api_key(view):
    @wraps(view)
    def checked(*args, **kwargs):
        key = services().settings.api_key
        if not key:
            raise ApiError(403, "writes_disabled",
                           "write endpoints are disabled: set the API_KEY environment variable to enable them")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
            raise ApiError(401, "unauthorized", "missing or wrong API key: send 'Authorization: Bearer <API_KEY>'")
        return view(*args, **kwargs)

    return checked
