"""Small copies of product photos for the grid, made once on first request and kept on disk.

Catalog photos are often large (the Kaggle set's are 1800x2400 JPEGs of a few hundred KB); a grid
shows them 224 px wide. A thumbnail is the photo scaled to fit THUMBNAIL_SIZE, as WebP, kept under
DATA_DIR/thumbnails named after the photo's version (Product.image_version), so a new photo gets
a new file and a new URL, and browsers may keep every URL for good.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from finder.embeddings import load_image
from finder.products import Product

THUMBNAIL_SIZE = 320  # pixels, the longer side: sharp on a 224 px card at 1.4x pixel density
WEBP_QUALITY = 80


class Thumbnails:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path_for(self, product: Product) -> Path:
        """The product's thumbnail, made now if it does not exist yet. Raises ImageError (and
        OSError) when the photo cannot be read."""
        name = product.image_version or hashlib.sha1(product.image_path.encode()).hexdigest()[:12]
        path = self.folder / f"{product.id}-{name}.webp"
        if not path.exists():
            self._make(Path(product.image_path), path)
            for older in self.folder.glob(f"{product.id}-*.webp"):  # the product's earlier photos
                if older != path:
                    older.unlink(missing_ok=True)
        return path

    def _make(self, photo: Path, path: Path) -> None:
        image = load_image(photo, draft_size=THUMBNAIL_SIZE)
        image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".partial-", delete=False) as partial:
            partial.write(buffer.getvalue())
        os.replace(partial.name, path)  # atomic: two requests making it at once both end well
