"""Photos shoppers search with, kept for a day so a photo search has a URL that reproduces it.

An upload is stored once per distinct photo (its id is a hash of the bytes): the photo's image
features and a small JPEG preview, in one hash with a time to live. Features, not a vector: a
refit during the day changes the image space, and a search by upload id projects them for the
index live at that moment.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import redis
from PIL import Image

from finder.embeddings import FEATURE_DTYPE

UPLOAD_KEY_PREFIX = "finder:upload:"
UPLOAD_TTL_SECONDS = 24 * 3600
PREVIEW_SIZE = 320
UPLOAD_ID_LENGTH = 20


def upload_id_for(image_bytes: bytes) -> str:
    return hashlib.sha1(image_bytes).hexdigest()[:UPLOAD_ID_LENGTH]


class UploadStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    def save(self, upload_id: str, image: Image.Image, features: np.ndarray) -> None:
        preview = image.copy()
        preview.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
        buffer = io.BytesIO()
        preview.convert("RGB").save(buffer, "JPEG", quality=85)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(_key(upload_id), mapping={"features": np.asarray(features, dtype=FEATURE_DTYPE).tobytes(),
                                             "preview": buffer.getvalue()})
        pipe.expire(_key(upload_id), UPLOAD_TTL_SECONDS)
        pipe.execute()

    def features(self, upload_id: str) -> np.ndarray | None:
        """The photo's image features; None once expired (or stored by an older version)."""
        raw = self.client.hget(_key(upload_id), "features")
        return np.frombuffer(raw, dtype=FEATURE_DTYPE).astype(np.float32) if raw else None

    def preview(self, upload_id: str) -> bytes | None:
        return self.client.hget(_key(upload_id), "preview")


def _key(upload_id: str) -> str:
    return UPLOAD_KEY_PREFIX + upload_id
