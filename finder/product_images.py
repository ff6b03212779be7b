"""Photos of products created or replaced through the API, kept under DATA_DIR/images.

Every write of a photo makes a new file (`<id>-<random>.<ext>`); the old one is removed only once
the product points to the new one. So a failed or losing concurrent write removes only its own
file, and a product never points at a missing or half-written photo.
"""

from __future__ import annotations

import io
import os
import secrets
import tempfile
from pathlib import Path

from PIL import Image

# What browsers display, by Pillow format name; anything else is stored converted to PNG.
EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}


class ProductImages:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def save(self, product_id: str, data: bytes, image: Image.Image) -> Path:
        """Store a photo (already decoded once as `image`, to check it) and return its path."""
        image_format = Image.open(io.BytesIO(data)).format
        if image_format not in EXTENSIONS:
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            data, image_format = buffer.getvalue(), "PNG"
        path = self.folder / f"{product_id}-{secrets.token_hex(8)}{EXTENSIONS[image_format]}"
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".partial-", delete=False) as partial:
            partial.write(data)
        os.replace(partial.name, path)  # atomic: a reader never sees half a file
        return path

    def discard(self, path: str | Path | None) -> None:
        """Remove a photo this store wrote; catalog photos elsewhere are never touched."""
        if path and self.owns(path):
            Path(path).unlink(missing_ok=True)

    def owns(self, path: str | Path) -> bool:
        return Path(path).resolve().parent == self.folder.resolve()
